//! A peer whose clock runs ahead (libfaketime, a real skew of its wall clock): its changes are refused whole
//! (nothing applied, this node's clock not dragged along), its status says why, one audit entry for the
//! whole episode; once its stamps are within `--max-clock-skew`, sync resumes by itself and converges.

use crate::{audit, ok, vs};
use director_tests::cluster::Cluster;
use director_tests::{faketime, Daemon};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How far b's clock runs ahead, and the bound a allows. A change b makes while skewed is stamped `SKEW`
/// ahead; a takes it once its own clock is within `BOUND` of that stamp (`SKEW - BOUND` later).
const SKEW: &str = "+15s";
const BOUND: &str = "5s";

/// Waits (up to `within`) until `check` holds of `d`'s status of its peer `peer`; returns that status.
async fn wait_peer(
    d: &Daemon,
    peer: &str,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let s = d.get("/api/v1/status").await;
        let p = s["sync"]["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["node"] == peer)
            .cloned()
            .unwrap_or(Value::Null);
        if check(&p) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "the status of {peer} never got there: {p}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn weight(d: &Daemon) -> Value {
    d.get("/api/v1/virtual-servers/web/real-servers/10.9.0.1:80")
        .await["weight"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_clock_runs_ahead_is_refused_until_its_stamps_are_within_the_bound() {
    let mut c = Cluster::new(&["a", "b"]).await;
    c.extra_args[0] = vec!["--max-clock-skew".into(), BOUND.into()];
    c.extra_env[1] = faketime(SKEW);
    c.start_node(0).await;
    c.start_node(1).await;
    let (a, b) = (0, 1);

    // a's changes reach b: stamps behind b's clock are fine.
    ok(
        c.node(a),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("web", "10.0.0.1", 1)),
    )
    .await;
    c.converged(Duration::from_secs(20)).await;

    // b's changes carry b's clock, 15 s ahead: a refuses them, all of them.
    ok(
        c.node(b),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("late", "10.0.0.2", 1)),
    )
    .await;
    ok(
        c.node(b),
        Method::PATCH,
        "/api/v1/virtual-servers/web/real-servers/10.9.0.1:80",
        Some(json!({"weight": 7})),
    )
    .await;
    let p = wait_peer(c.node(a), "b", Duration::from_secs(10), |p| {
        p["state"] == "skewed"
    })
    .await;
    let error = p["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("clock skew") && error.contains("ahead of this node's clock"),
        "a's status of b says why: {p}"
    );
    let metrics = c
        .node(a)
        .http
        .get(c.node(a).url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("director_sync_peer_up{peer=\"b\"} 0"),
        "b is down in a's metrics:\n{metrics}"
    );
    // a retries (b serves its log again and again) and refuses each time.
    let deadline = Instant::now() + Duration::from_secs(15);
    while c
        .node(b)
        .log_text()
        .matches("peer follows this node's changes")
        .count()
        < 4
    {
        assert!(Instant::now() < deadline, "a did not retry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = c
        .node(a)
        .call(Method::GET, "/api/v1/virtual-servers/late", None)
        .await;
    assert_eq!(status, 404, "nothing of b's is applied on a");
    assert_eq!(weight(c.node(a)).await, 1, "nothing of b's is applied on a");
    let p = wait_peer(c.node(a), "b", Duration::from_secs(1), |_| true).await;
    assert_eq!(p["state"], "skewed", "{p}");
    let refusals = audit(c.node(a), "kind=peer").await;
    assert_eq!(
        refusals.len(),
        1,
        "audited once, not at every retry: {refusals:#?}"
    );
    assert_eq!(refusals[0]["action"], "clock_skew");
    assert_eq!(refusals[0]["object"], "b");
    assert_eq!(refusals[0]["via"], "sync");

    // a's clock was not dragged along: a weight a sets now is stamped by a's own clock, behind b's (a
    // concurrent write, which the later stamp wins everywhere once b's is taken).
    ok(
        c.node(a),
        Method::PATCH,
        "/api/v1/virtual-servers/web/real-servers/10.9.0.1:80",
        Some(json!({"weight": 3})),
    )
    .await;

    // b restarts with its clock right. What it wrote while ahead keeps its stamps; a takes it once its own
    // clock is within the bound of them, by itself.
    c.stop_node(b);
    c.extra_env[b] = Vec::new();
    c.start_node(b).await;
    c.converged(Duration::from_secs(30)).await;
    let p = wait_peer(c.node(a), "b", Duration::from_secs(1), |_| true).await;
    assert_eq!(
        (&p["state"], &p["error"]),
        (&json!("connected"), &Value::Null)
    );
    c.node(a).get("/api/v1/virtual-servers/late").await;
    assert_eq!(
        (weight(c.node(a)).await, weight(c.node(b)).await),
        (json!(7), json!(7)),
        "b's weight, stamped 15 s ahead, outranks the one a set after it: a's clock did not follow b's"
    );
    assert_eq!(c.objects(a).await, c.objects(b).await);
    assert_eq!(
        audit(c.node(a), "kind=peer").await.len(),
        1,
        "still one entry for the whole episode"
    );
}
