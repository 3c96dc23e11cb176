//! The web UI in a real headless Chromium (through chromedriver), against `director serve` processes on
//! loopback with the in-memory dataplane (so the kernel counters and the reconciler run), and in network
//! namespaces where VRRP runs (`layout`). Screenshots of the main pages land in the target directory's
//! `browser-screenshots/`.

mod browser;
mod bulk;
mod crawl;
mod flows;
mod forms;
mod hosts;
mod layout;
mod roles;
mod security;
mod vrrp;

use director_tests::{Daemon, DaemonOptions};
use serde_json::{json, Value};

/// A daemon with the in-memory dataplane.
pub async fn daemon() -> Daemon {
    Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await
}

/// Creates the virtual server `name` with real servers at `addresses` (port 80, weight 1) through the API.
pub async fn create_virtual_server(d: &Daemon, name: &str, vip: &str, addresses: &[&str]) -> Value {
    let rs: Vec<Value> = addresses
        .iter()
        .map(|a| json!({"address": a, "port": 80, "weight": 1}))
        .collect();
    let (status, body) = d
        .call(
            reqwest::Method::POST,
            "/api/v1/virtual-servers",
            Some(json!({"name": name, "protocol": "tcp", "address": vip, "port": 80, "scheduler": "wrr",
                        "real_servers": rs})),
        )
        .await;
    assert_eq!(status, 201, "creating {name}: {body}");
    body
}

/// The weight of a real server as the API reports it.
pub async fn weight(d: &Daemon, vs: &str, endpoint: &str) -> u64 {
    d.get(&format!(
        "/api/v1/virtual-servers/{vs}/real-servers/{endpoint}"
    ))
    .await["weight"]
        .as_u64()
        .expect("weight")
}

/// The number of audit entries, but logins and logouts (which change nothing).
pub async fn audit_len(d: &Daemon) -> usize {
    d.get("/api/v1/audit?limit=1000").await["items"]
        .as_array()
        .map_or(0, |items| {
            items.iter().filter(|e| e["kind"] != "login").count()
        })
}
