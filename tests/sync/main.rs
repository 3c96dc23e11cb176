//! Peer sync: three daemons on loopback, each a peer of the others through links the test can cut.

mod clock;
mod convergence;
mod partition;
mod peers;
mod tokens;

use director_tests::Daemon;
use reqwest::Method;
use serde_json::{json, Value};

/// A virtual server with `n` real servers.
pub fn vs(name: &str, address: &str, n: u8) -> Value {
    json!({
        "name": name, "protocol": "tcp", "address": address, "port": 80, "scheduler": "wrr",
        "real_servers": (1..=n).map(|i| json!({"address": format!("10.9.0.{i}"), "port": 80, "weight": 1}))
            .collect::<Vec<_>>()
    })
}

/// Makes a call that must succeed (2xx) and returns the body.
pub async fn ok(d: &Daemon, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, v) = d.call(method.clone(), path, body).await;
    assert!(
        (200..300).contains(&status),
        "{method} {path} on {}: {status} {v}",
        d.base
    );
    v
}

/// The audit entries of node `d` matching `query` (e.g. `action=conflict`).
pub async fn audit(d: &Daemon, query: &str) -> Vec<Value> {
    d.get(&format!("/api/v1/audit?limit=1000&{query}")).await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
