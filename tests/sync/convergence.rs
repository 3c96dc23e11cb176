//! Writes on every node reach every node; restarts resume; deletes stay deleted.

use crate::{audit, ok, vs};
use director_tests::cluster::Cluster;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_each_node_reach_every_node_with_their_audit() {
    let c = Cluster::start(&["a", "b", "c"]).await;
    ok(
        c.node(0),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("web", "10.0.0.1", 2)),
    )
    .await;
    c.converged(WITHIN).await;
    // B adds a real server, C changes a weight: both on the object A created.
    ok(
        c.node(1),
        Method::POST,
        "/api/v1/virtual-servers/web/real-servers",
        Some(json!({"address": "10.9.0.7", "port": 80, "weight": 3})),
    )
    .await;
    ok(
        c.node(2),
        Method::PATCH,
        "/api/v1/virtual-servers/web/real-servers/10.9.0.1:80",
        Some(json!({"weight": 9})),
    )
    .await;
    ok(
        c.node(2),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("api", "10.0.0.2", 1)),
    )
    .await;
    let digest = c.converged(WITHIN).await;
    let expected = c.objects(0).await;
    for i in 0..3 {
        assert_eq!(c.objects(i).await, expected, "node {} differs", c.names[i]);
        let s = c.node(i).get("/api/v1/status").await;
        assert_eq!(s["sync"]["digest"], digest.as_str());
        assert_eq!(s["sync"]["enabled"], true);
    }
    let web = c.node(0).get("/api/v1/virtual-servers/web").await;
    let weights: Vec<_> = web["real_servers"]
        .as_array()
        .expect("real servers")
        .iter()
        .map(|r| {
            (
                r["address"].as_str().unwrap_or_default().to_string(),
                r["weight"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        weights,
        [
            ("10.9.0.1".to_string(), Some(9)),
            ("10.9.0.2".to_string(), Some(1)),
            ("10.9.0.7".to_string(), Some(3))
        ]
    );
    // Every node's audit log has the weight change, made on c, with its origin node and actor.
    for i in 0..3 {
        let e = audit(c.node(i), "field=weight").await;
        assert_eq!(e.len(), 1, "node {}: {e:#?}", c.names[i]);
        assert_eq!(e[0]["node"], "c");
        assert_eq!(e[0]["actor"], "admin");
        assert_eq!(e[0]["object"], "web/10.9.0.1:80");
        assert_eq!(e[0]["summary"], "weight 1 -> 9");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_catches_up_from_where_it_left_off() {
    let mut c = Cluster::start(&["a", "b", "c"]).await;
    ok(
        c.node(0),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("web", "10.0.0.1", 2)),
    )
    .await;
    c.converged(WITHIN).await;
    c.stop_node(2);
    for w in 2..=6 {
        ok(
            c.node(w % 2),
            Method::PATCH,
            "/api/v1/virtual-servers/web/real-servers/10.9.0.2:80",
            Some(json!({"weight": w})),
        )
        .await;
    }
    ok(
        c.node(1),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("api", "10.0.0.2", 1)),
    )
    .await;
    c.start_node(2).await;
    c.converged(WITHIN).await;
    assert_eq!(c.objects(2).await, c.objects(0).await);
    let s = c.node(2).get("/api/v1/status").await;
    for p in s["sync"]["peers"].as_array().expect("peers") {
        assert_eq!(
            p["full_copy"], false,
            "a restart resumes, no full copy: {p}"
        );
    }
    // Each change arrived once: one audit entry per change, not one per attempt.
    assert_eq!(audit(c.node(2), "field=weight").await.len(), 5);
    assert_eq!(
        audit(c.node(2), "action=create&kind=virtual_server")
            .await
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_objects_stay_deleted() {
    let mut c = Cluster::start(&["a", "b", "c"]).await;
    ok(
        c.node(0),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("web", "10.0.0.1", 2)),
    )
    .await;
    c.converged(WITHIN).await;
    // A changes a weight while cut off from B; B deletes the virtual server afterwards.
    c.partition(0, 1);
    c.partition(0, 2);
    ok(
        c.node(0),
        Method::PATCH,
        "/api/v1/virtual-servers/web/real-servers/10.9.0.1:80",
        Some(json!({"weight": 4})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    ok(
        c.node(1),
        Method::DELETE,
        "/api/v1/virtual-servers/web",
        None,
    )
    .await;
    c.heal(0, 1);
    c.heal(0, 2);
    c.converged(WITHIN).await;
    for i in 0..3 {
        let (status, _) = c
            .node(i)
            .call(Method::GET, "/api/v1/virtual-servers/web", None)
            .await;
        assert_eq!(status, 404, "web is back on {}", c.names[i]);
    }
    // Restarts bring nothing back either.
    for i in 0..3 {
        c.stop_node(i);
        c.start_node(i).await;
    }
    c.converged(WITHIN).await;
    for i in 0..3 {
        let (status, _) = c
            .node(i)
            .call(Method::GET, "/api/v1/virtual-servers/web", None)
            .await;
        assert_eq!(status, 404, "web is back on {} after a restart", c.names[i]);
    }
}
