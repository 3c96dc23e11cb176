//! Who may sync: the cluster secret, the peer list; and a new empty node starting from a full copy.

use crate::{ok, vs};
use director_tests::cluster::Cluster;
use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use std::time::{Duration, Instant};

/// Waits (up to 10 s) until `d` reports its first peer refused it, and checks the reason names `why`.
async fn wait_refused(d: &Daemon, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = &d.get("/api/v1/status").await["sync"]["peers"][0];
        if p["state"] == "refused" {
            let error = p["error"].as_str().unwrap_or_default();
            assert!(error.contains(why), "refused, but not for {why:?}: {p}");
            return;
        }
        assert!(Instant::now() < deadline, "never refused: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_with_the_wrong_secret_is_refused() {
    let c = Cluster::start_with_secrets(
        &["a", "b"],
        &["right-secret-0123456789", "wrong-secret-01234567890"],
    )
    .await;
    ok(
        c.node(0),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("web", "10.0.0.1", 1)),
    )
    .await;
    wait_refused(c.node(1), "cluster secret").await;
    let (status, _) = c
        .node(1)
        .call(Method::GET, "/api/v1/virtual-servers/web", None)
        .await;
    assert_eq!(status, 404, "nothing crossed");
    assert!(
        c.node(0).log_text().contains("refused"),
        "a logs the refusal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_peer_is_refused_even_with_the_secret() {
    let c = Cluster::start(&["a", "b"]).await;
    ok(
        c.node(0),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("web", "10.0.0.1", 1)),
    )
    .await;
    // "x" knows the secret, but "a" does not list it as a peer.
    let x = Daemon::start_with(DaemonOptions {
        node_name: Some("x".into()),
        extra_args: vec![
            "--peers".into(),
            format!("a=127.0.0.1:{}", c.node(0).grpc_port),
        ],
        env: vec![(
            "DIRECTOR_CLUSTER_SECRET".into(),
            director_tests::cluster::SECRET.into(),
        )],
        ..Default::default()
    })
    .await;
    wait_refused(&x, "not a peer").await;
    let (status, _) = x
        .call(Method::GET, "/api/v1/virtual-servers/web", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_empty_node_receives_everything_then_follows() {
    // c is the new node: it starts empty once a and b have built up their configuration.
    let mut c = Cluster::new(&["a", "b", "c"], &[director_tests::cluster::SECRET; 3]).await;
    c.start_node(0).await;
    c.start_node(1).await;
    for i in 0..20u8 {
        let node = c.node(usize::from(i % 2));
        ok(
            node,
            Method::POST,
            "/api/v1/virtual-servers",
            Some(vs(&format!("vs-{i}"), &format!("10.0.1.{i}"), 3)),
        )
        .await;
    }
    ok(
        c.node(1),
        Method::DELETE,
        "/api/v1/virtual-servers/vs-3",
        None,
    )
    .await;
    c.start_node(2).await;
    c.converged(Duration::from_secs(20)).await;
    assert_eq!(c.objects(2).await, c.objects(0).await);
    let s = c.node(2).get("/api/v1/status").await;
    let full: Vec<_> = s["sync"]["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .filter(|p| p["full_copy"] == true)
        .collect();
    assert_eq!(full.len(), 1, "one full copy, from one peer: {s:#}");
    // And then it follows: a change made on the new node reaches the others.
    ok(
        c.node(2),
        Method::DELETE,
        "/api/v1/virtual-servers/vs-4",
        None,
    )
    .await;
    c.converged(Duration::from_secs(20)).await;
    let (status, _) = c
        .node(0)
        .call(Method::GET, "/api/v1/virtual-servers/vs-4", None)
        .await;
    assert_eq!(status, 404);
}
