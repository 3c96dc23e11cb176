//! Optimistic concurrency: of many writers holding the same revision, exactly one wins.

use director_tests::Daemon;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn twenty_clients_patch_the_same_real_server() {
    let d = Daemon::start().await;
    let web = json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
        "real_servers": [{"address": "10.0.1.1", "port": 80}, {"address": "10.0.1.2", "port": 80}]});
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web))
            .await
            .0,
        201
    );
    let path = "/api/v1/virtual-servers/web/real-servers/10.0.1.1:80";
    let mut winners_total = 0;
    for round in 0..3u64 {
        let r = d
            .req(Method::GET, path, &d.admin_token)
            .send()
            .await
            .unwrap();
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let mut tasks = Vec::new();
        for i in 0..20u64 {
            let req = d
                .req(Method::PATCH, path, &d.admin_token)
                .header("content-type", "application/merge-patch+json")
                .header("if-match", etag.clone())
                .body(json!({"weight": 100 * (round + 1) + i}).to_string());
            tasks.push(tokio::spawn(async move {
                req.send().await.unwrap().status().as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        let winners = statuses.iter().filter(|s| **s == 200).count();
        let stale = statuses.iter().filter(|s| **s == 412).count();
        assert_eq!((winners, stale), (1, 19), "round {round}: {statuses:?}");
        winners_total += winners;
    }
    let audit = d
        .get("/api/v1/audit?object=web/10.0.1.1:80&action=update")
        .await;
    assert_eq!(
        audit["items"].as_array().unwrap().len(),
        winners_total,
        "one audit entry per winning write"
    );
    // Writers without If-Match all succeed, one after the other, each audited.
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let req = d
            .req(
                Method::PATCH,
                "/api/v1/virtual-servers/web/real-servers/10.0.1.2:80",
                &d.admin_token,
            )
            .header("content-type", "application/merge-patch+json")
            .body(json!({"weight": 1000 + i}).to_string());
        tasks.push(tokio::spawn(async move {
            req.send().await.unwrap().status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let audit = d
        .get("/api/v1/audit?object=web/10.0.1.2:80&action=update")
        .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 20);
}
