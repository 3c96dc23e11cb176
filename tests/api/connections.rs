//! `GET /api/v1/connections`: the query is checked (each refusal names its field) before the kernel is read;
//! without an IPVS table the answer says so. The real table, with real connections, is covered in the kernel
//! VM (tests/kernel, `connections` scenario).

use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_query_is_checked_field_by_field_and_a_table_in_memory_has_no_connections() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    for vs in [
        json!({"name": "web", "protocol": "tcp", "address": "10.50.0.1", "port": 80}),
        json!({"name": "marked", "fwmark": 7}),
    ] {
        let (s, e) = d
            .call(Method::POST, "/api/v1/virtual-servers", Some(vs))
            .await;
        assert_eq!(s, 201, "{e}");
    }
    let page = d
        .get("/api/v1/connections?virtual_server=web&limit=10")
        .await;
    assert_eq!(page["connections"], json!([]), "{page}");
    assert_eq!(page["matched"], 0);
    assert_eq!(page["scanned"], 0);
    assert!(page.get("next_cursor").is_none(), "{page}");

    for (query, status, field) in [
        ("limit=0", 400, "limit"),
        ("limit=1001", 400, "limit"),
        ("limit=many", 400, "limit"),
        ("real_server=10.0.0.300", 400, "real_server"),
        ("client=somebody", 400, "client"),
        ("cursor=page-2", 400, "cursor"),
        ("virtual_server=marked", 400, "virtual_server"),
        ("virtual_server=nope", 404, "virtual_server"),
        ("vs=web", 400, "vs"),
    ] {
        let (s, e) = d
            .call(Method::GET, &format!("/api/v1/connections?{query}"), None)
            .await;
        assert_eq!(s, status, "{query}: {e}");
        assert_eq!(e["error"]["field"], field, "{query}: {e}");
    }
}

#[tokio::test]
async fn without_an_ipvs_table_there_is_no_connection_table() {
    let d = Daemon::start().await;
    let (s, e) = d.call(Method::GET, "/api/v1/connections", None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("no_dataplane")),
        "{e}"
    );
    // A bad query is still named first: nothing is read for it.
    let (s, e) = d
        .call(Method::GET, "/api/v1/connections?limit=0", None)
        .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (400, Some("limit")),
        "{e}"
    );
}
