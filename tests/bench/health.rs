//! Health-check benchmark (not a test): 5,000 real servers checked every second by a release daemon, against
//! listeners this process holds on loopback, for 60 s: the daemon's CPU (% of one core), its RSS, and how
//! late checks start against their schedule (the daemon's own histogram, in /api/v1/status).
//!
//! cargo build --release -p director -p director-tests && target/release/bench-health [tcp|http] [seconds]

use director_tests::{Daemon, DaemonOptions};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REAL_SERVERS: usize = 5000;
const PER_VS: usize = 10;
const PORTS: usize = 50;

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Listeners on loopback: accept, answer an HTTP request with 200 (or just accept for tcp), close.
async fn listeners() -> Vec<u16> {
    let mut ports = Vec::new();
    for _ in 0..PORTS {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listen");
        ports.push(l.local_addr().expect("addr").port());
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    if let Ok(n) = s.read(&mut buf).await {
                        if n > 0 {
                            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
                        }
                    }
                });
            }
        });
    }
    ports
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).cloned().unwrap_or_else(|| "tcp".into());
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
    let ports = listeners().await;
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    let client = reqwest::Client::new();
    let check = match kind.as_str() {
        "http" => {
            json!({"type": "http", "path": "/", "interval_ms": 1000, "timeout_ms": 900, "warmup_ms": 1000})
        }
        _ => json!({"type": "tcp", "interval_ms": 1000, "timeout_ms": 900, "warmup_ms": 1000}),
    };
    for v in 0..REAL_SERVERS / PER_VS {
        let rs: Vec<_> = (0..PER_VS)
            .map(|j| json!({"address": "127.0.0.1", "port": ports[(v * PER_VS + j) % PORTS], "weight": 1}))
            .collect();
        // Ten distinct ports per virtual server keep each (address, port) unique within it.
        let r = client
            .post(d.url("/api/v1/virtual-servers"))
            .bearer_auth(&d.admin_token)
            .json(&json!({"name": format!("svc-{v}"), "protocol": "tcp", "address": format!("10.100.{}.{}", v / 250, v % 250 + 1),
                "port": 80, "forwarding": "nat", "health_check": check.clone(), "real_servers": rs}))
            .send()
            .await
            .expect("create");
        assert!(
            r.status().is_success(),
            "create svc-{v}: {}",
            r.text().await.unwrap_or_default()
        );
    }
    println!("{REAL_SERVERS} real servers with {kind} checks every 1 s; warming up...");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = d.pid();
    let hz = 100.0;
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    let s0 = d.get("/api/v1/status").await;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (elapsed, c1) = (t0.elapsed().as_secs_f64(), cpu_ticks(pid));
    let s1 = d.get("/api/v1/status").await;
    let h = &s1["health"];
    let checks = h["checks"].as_u64().unwrap_or(0) - s0["health"]["checks"].as_u64().unwrap_or(0);
    println!(
        "BENCH health {kind}: {REAL_SERVERS} real servers, 1 s interval, {seconds} s: {checks} checks ({:.0}/s), up {} down {} unknown {}",
        checks as f64 / elapsed,
        h["up"],
        h["down"],
        h["unknown"]
    );
    println!(
        "BENCH health {kind}: daemon CPU {:.1}% of one core",
        100.0 * (c1 - c0) as f64 / hz / elapsed
    );
    println!(
        "BENCH health {kind}: daemon RSS {} MB (peak {} MB)",
        status_kb(pid, "VmRSS") / 1024,
        status_kb(pid, "VmHWM") / 1024
    );
    println!(
        "BENCH health {kind}: check lateness p99 {:.1} ms (since start)",
        h["lateness_p99_ms"].as_f64().unwrap_or(0.0)
    );
}
