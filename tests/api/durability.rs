//! Acknowledged writes survive `kill -9`; a restart keeps the revision and the audit log.

use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let mut d = Daemon::start().await;
    let keep = d.keep_data();
    let web = json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
        "real_servers": [{"address": "10.0.1.1", "port": 80}]});
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web))
            .await
            .0,
        201
    );
    // Concurrent writers; everything acknowledged with 2xx before the kill must be there after it.
    let mut tasks = Vec::new();
    for i in 0..40u32 {
        let vs = json!({"name": format!("svc-{i}"), "protocol": "tcp", "address": "10.0.0.2", "port": 1000 + i});
        let create = d
            .req(Method::POST, "/api/v1/virtual-servers", &d.admin_token)
            .json(&vs);
        let weight = d
            .req(
                Method::PATCH,
                "/api/v1/virtual-servers/web/real-servers/10.0.1.1:80",
                &d.admin_token,
            )
            .header("content-type", "application/merge-patch+json")
            .body(json!({"weight": i + 2}).to_string());
        tasks.push(tokio::spawn(async move {
            let a = create.send().await.unwrap().status().as_u16();
            let b = weight.send().await.unwrap().status().as_u16();
            (a, b)
        }));
    }
    let mut acknowledged = 0;
    for t in tasks {
        let (a, b) = t.await.unwrap();
        assert_eq!((a, b), (201, 200));
        acknowledged += 2;
    }
    let before = d.fingerprint().await;
    let last_weight = d
        .get("/api/v1/virtual-servers/web/real-servers/10.0.1.1:80")
        .await["weight"]
        .clone();
    d.kill9();

    let dir = d.data_path().to_path_buf();
    drop(d);
    let d = Daemon::start_with(DaemonOptions {
        data_dir: Some(dir),
        ..Default::default()
    })
    .await;
    let after = d.fingerprint().await;
    assert_eq!(after, before, "state and audit log after kill -9");
    assert_eq!(
        after.revision,
        1 + acknowledged,
        "revision counts every acknowledged write"
    );
    assert_eq!(
        d.get("/api/v1/virtual-servers/web/real-servers/10.0.1.1:80")
            .await["weight"],
        last_weight
    );
    assert_eq!(
        d.get("/api/v1/virtual-servers?limit=1000").await["items"]
            .as_array()
            .unwrap()
            .len(),
        41
    );
    drop(keep);
}

#[tokio::test]
async fn a_clean_restart_keeps_tokens_valid() {
    let mut d = Daemon::start().await;
    let keep = d.keep_data();
    let token = d.admin_token.clone();
    assert!(
        d.stop().is_some_and(|s| s.success()),
        "SIGTERM exits cleanly"
    );
    let dir = d.data_path().to_path_buf();
    drop(d);
    let d = Daemon::start_with(DaemonOptions {
        data_dir: Some(dir),
        ..Default::default()
    })
    .await;
    let (s, _) = d.call_as(&token, Method::GET, "/api/v1/status", None).await;
    assert_eq!(s, 200, "the signing secret persists in the data directory");
    drop(keep);
}
