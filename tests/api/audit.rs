//! The audit log: who, through what, when, on which node, before and after; filters and pages.

use director_tests::Daemon;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_change_is_recorded_and_weight_changes_are_one_query_away() {
    let d = Daemon::start().await;
    let operator = d.token_for("operator").await;
    let web = json!({"name": "web", "protocol": "tcp", "address": "192.168.10.180", "port": 80,
        "real_servers": [{"address": "192.168.10.120", "port": 80, "weight": 1}, {"address": "192.168.10.121", "port": 80}]});
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web))
            .await
            .0,
        201
    );
    let rs = "/api/v1/virtual-servers/web/real-servers/192.168.10.120:80";
    assert_eq!(
        d.call_as(&operator, Method::PATCH, rs, Some(json!({"weight": 5})))
            .await
            .0,
        200
    );
    assert_eq!(
        d.call(
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"scheduler": "rr"}))
        )
        .await
        .0,
        200
    );

    let weights = d.get("/api/v1/audit?kind=real_server&action=update").await;
    let items = weights["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{weights:#}");
    let e = &items[0];
    assert_eq!(e["actor"], "operator-user");
    assert_eq!(e["via"], "rest");
    assert_eq!(e["node"], "test-node");
    assert_eq!(e["object"], "web/192.168.10.120:80");
    assert_eq!(e["before"], json!({"weight": 1}));
    assert_eq!(e["after"], json!({"weight": 5}));
    assert_eq!(e["summary"], "weight 1 -> 5");
    assert!(e["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        d.get("/api/v1/audit?field=weight").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let vs_updates = d
        .get("/api/v1/audit?kind=virtual_server&action=update")
        .await;
    assert_eq!(vs_updates["items"][0]["summary"], "scheduler wlc -> rr");

    // A PUT that changes weights is recorded per real server, so the weight query still finds it.
    let put = json!({"name": "web", "protocol": "tcp", "address": "192.168.10.180", "port": 80, "scheduler": "rr",
        "real_servers": [{"address": "192.168.10.120", "port": 80, "weight": 5}, {"address": "192.168.10.121", "port": 80, "weight": 9}]});
    assert_eq!(
        d.call(Method::PUT, "/api/v1/virtual-servers/web", Some(put))
            .await
            .0,
        200
    );
    let weights = d.get("/api/v1/audit?field=weight").await;
    assert_eq!(weights["items"][0]["object"], "web/192.168.10.121:80");
    assert_eq!(weights["items"][0]["summary"], "weight 1 -> 9");

    // By object name (the virtual server and its real servers), by actor, newest first.
    let by_name = d.get("/api/v1/audit?name=web").await;
    let ids: Vec<i64> = by_name["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 6, "create vs + 2 rs, weight, scheduler, weight");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let by_actor = d.get("/api/v1/audit?actor=operator-user").await;
    let kinds: Vec<&str> = by_actor["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["real_server", "login"], "the change, and the login");

    // Pagination with a cursor visits every entry once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit?limit=2&cursor={c}"),
            None => "/api/v1/audit?limit=2".to_string(),
        };
        let page = d.get(&path).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let all = d.get("/api/v1/audit?limit=1000").await;
    assert_eq!(seen.len(), all["items"].as_array().unwrap().len());

    // Time range.
    let first_at = all["items"].as_array().unwrap().last().unwrap()["at"]
        .as_str()
        .unwrap()
        .to_string();
    let since = d
        .get(&format!("/api/v1/audit?since={first_at}&limit=1000"))
        .await;
    assert_eq!(since["items"].as_array().unwrap().len(), seen.len());
    let until = d.get(&format!("/api/v1/audit?until={first_at}")).await;
    assert_eq!(until["items"].as_array().unwrap().len(), 0);
    let (s, e) = d
        .call(Method::GET, "/api/v1/audit?since=yesterday", None)
        .await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("since")));

    // Reordering the real servers is a change too: a revision, and an entry that says so.
    let reordered = json!({"name": "web", "protocol": "tcp", "address": "192.168.10.180", "port": 80, "scheduler": "rr",
        "real_servers": [{"address": "192.168.10.121", "port": 80, "weight": 9}, {"address": "192.168.10.120", "port": 80, "weight": 5}]});
    let before = d.get("/api/v1/status").await["revision"].as_u64().unwrap();
    assert_eq!(
        d.call(Method::PUT, "/api/v1/virtual-servers/web", Some(reordered))
            .await
            .0,
        200
    );
    let newest = d.get("/api/v1/audit?limit=1").await;
    assert_eq!(newest["items"][0]["summary"], "real servers reordered");
    assert_eq!(newest["items"][0]["revision"].as_u64(), Some(before + 1));

    // There is no way to change or remove entries.
    for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let (s, _) = d.call(m.clone(), "/api/v1/audit", Some(json!({}))).await;
        assert_eq!(s, 405, "{m} /api/v1/audit");
    }
}
