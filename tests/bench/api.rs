//! API benchmark (not a test): loads 1,000 virtual servers x 10 real servers into a release daemon, then with
//! 32 concurrent clients on loopback measures PATCH of a real-server weight and GET of the virtual-server
//! list, and the daemon's memory.
//!
//! cargo build --release -p director -p director-tests && target/release/bench-api

use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const VIRTUAL_SERVERS: usize = 1000;
const REAL_SERVERS: usize = 10;
const CLIENTS: usize = 32;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Runs `total` requests built by `make(i)` over `CLIENTS` concurrent workers; returns sorted latencies and
/// the wall time.
async fn run<F>(d: &Daemon, total: usize, make: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (make, next) = (make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                let r = make(i).send().await.expect("request");
                let status = r.status();
                let _ = r.bytes().await;
                assert!(status.is_success(), "request {i}: {status}");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    let wall = started.elapsed();
    all.sort();
    let _ = d;
    (all, wall)
}

#[tokio::main]
async fn main() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("none".into()),
        ..Default::default()
    })
    .await;
    let token = d.admin_token.clone();
    let base = d.base.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("client");
    println!("loading {VIRTUAL_SERVERS} virtual servers x {REAL_SERVERS} real servers...");
    let (c, t, b) = (client.clone(), token.clone(), base.clone());
    let (_, load) = run(&d, VIRTUAL_SERVERS, move |i| {
        let rs: Vec<_> = (0..REAL_SERVERS)
            .map(|j| json!({"address": format!("10.{}.{}.{}", 128 + i / 250, i % 250, j + 1), "port": 80}))
            .collect();
        c.post(format!("{b}/api/v1/virtual-servers")).bearer_auth(&t).json(&json!({
            "name": format!("svc-{i:04}"), "protocol": "tcp", "address": format!("10.100.{}.{}", i / 250, i % 250 + 1),
            "port": 80, "scheduler": "wrr", "real_servers": rs}))
    })
    .await;
    let pid = d.pid();
    println!(
        "loaded in {:.1} s ({:.0} creates/s), RSS {} MB",
        load.as_secs_f64(),
        VIRTUAL_SERVERS as f64 / load.as_secs_f64(),
        rss_kb(pid, "VmRSS") / 1024
    );

    let (c, t, b) = (client.clone(), token.clone(), base.clone());
    let patches = 5000;
    let (lat, wall) = run(&d, patches, move |i| {
        let vs = (i * 7919) % VIRTUAL_SERVERS;
        let j = i % REAL_SERVERS;
        let rs = format!("10.{}.{}.{}:80", 128 + vs / 250, vs % 250, j + 1);
        c.request(
            Method::PATCH,
            format!("{b}/api/v1/virtual-servers/svc-{vs:04}/real-servers/{rs}"),
        )
        .bearer_auth(&t)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"weight": 1 + i % 100}).to_string())
    })
    .await;
    println!(
        "BENCH PATCH real-server weight: {patches} requests, {CLIENTS} clients: p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        patches as f64 / wall.as_secs_f64()
    );
    println!(
        "after the PATCH run: RSS {} MB",
        rss_kb(pid, "VmRSS") / 1024
    );

    for (label, query) in [
        ("default page (100)", ""),
        ("all 1,000 in one page", "?limit=1000"),
    ] {
        let (c, t, b) = (client.clone(), token.clone(), base.clone());
        let gets = if query.is_empty() { 2000 } else { 400 };
        let q = query.to_string();
        let (lat, wall) = run(&d, gets, move |_| {
            c.get(format!("{b}/api/v1/virtual-servers{q}"))
                .bearer_auth(&t)
        })
        .await;
        println!(
            "BENCH GET virtual-server list, {label}: {gets} requests, {CLIENTS} clients: p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            gets as f64 / wall.as_secs_f64()
        );
    }
    println!(
        "BENCH daemon memory: RSS {} MB now, peak {} MB",
        rss_kb(pid, "VmRSS") / 1024,
        rss_kb(pid, "VmHWM") / 1024
    );
}
