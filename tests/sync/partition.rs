//! A partition with writes on both sides converges after healing; concurrent writes of one object are
//! resolved the same way everywhere and audited as conflicts.

use crate::{audit, ok, vs};
use director_tests::cluster::Cluster;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_writes_converge_and_conflicts_are_audited_everywhere() {
    let c = Cluster::start(&["a", "b", "c"]).await;
    ok(
        c.node(0),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("web", "10.0.0.1", 3)),
    )
    .await;
    c.converged(Duration::from_secs(20)).await;

    // A alone on one side, B and C on the other.
    c.partition(0, 1);
    c.partition(0, 2);
    let rs = "/api/v1/virtual-servers/web/real-servers";
    // The same real server changed on both sides: a conflict.
    ok(
        c.node(0),
        Method::PATCH,
        &format!("{rs}/10.9.0.1:80"),
        Some(json!({"weight": 5})),
    )
    .await;
    ok(
        c.node(1),
        Method::PATCH,
        &format!("{rs}/10.9.0.1:80"),
        Some(json!({"weight": 7})),
    )
    .await;
    // Different real servers of the same virtual server: no conflict, both kept.
    ok(
        c.node(0),
        Method::PATCH,
        &format!("{rs}/10.9.0.2:80"),
        Some(json!({"weight": 20})),
    )
    .await;
    ok(
        c.node(2),
        Method::PATCH,
        &format!("{rs}/10.9.0.3:80"),
        Some(json!({"weight": 30})),
    )
    .await;
    // New objects on each side.
    ok(
        c.node(0),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("left", "10.0.0.2", 1)),
    )
    .await;
    ok(
        c.node(2),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("right", "10.0.0.3", 1)),
    )
    .await;
    // While cut off, A's status says so.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = c.node(0).get("/api/v1/status").await;
    let peers = s["sync"]["peers"].as_array().expect("peers");
    assert!(peers.iter().all(|p| p["in_sync"] == false), "{peers:#?}");

    c.heal(0, 1);
    c.heal(0, 2);
    c.converged(Duration::from_secs(20)).await;
    let expected = c.objects(0).await;
    for i in 1..3 {
        assert_eq!(c.objects(i).await, expected, "node {} differs", c.names[i]);
    }
    let web = c.node(1).get("/api/v1/virtual-servers/web").await;
    let weight = |addr: &str| {
        web["real_servers"]
            .as_array()
            .and_then(|l| l.iter().find(|r| r["address"] == addr))
            .and_then(|r| r["weight"].as_u64())
    };
    // B wrote last (its clock read later): its weight wins.
    assert_eq!(weight("10.9.0.1"), Some(7));
    assert_eq!(weight("10.9.0.2"), Some(20));
    assert_eq!(weight("10.9.0.3"), Some(30));
    for i in 0..3 {
        let conflicts = audit(c.node(i), "action=conflict").await;
        assert_eq!(conflicts.len(), 1, "node {}: {conflicts:#?}", c.names[i]);
        let e = &conflicts[0];
        assert_eq!(e["object"], "web/10.9.0.1:80");
        assert_eq!(e["via"], "sync");
        assert_eq!(e["actor"], "a", "the loser's node");
        assert_eq!(e["before"]["weight"], 5, "the lost value");
        assert_eq!(e["after"]["weight"], 7, "the value that won");
        let summary = e["summary"].as_str().unwrap_or_default();
        assert!(
            summary.contains("made on b") && summary.contains("won"),
            "{summary}"
        );
    }
}
