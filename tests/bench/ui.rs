//! Web UI benchmark (not a test): runs a director in this process (release build, in-memory dataplane,
//! 1,000 virtual servers in the store, one of them with 100 real servers, the first 50 in VRRP groups of
//! their own), logs in to the UI like a browser, then times 200 sequential loads of the dashboard, the
//! virtual-server list, virtual-server pages (with their weight-split legend and bulk selection), the audit
//! log, the hosts and the VRRP group pages and forms, and reports p50/p99 and the page weight (with and
//! without the charts' SVG).
//!
//! cargo run --release -p director-tests --bin bench-ui      (BENCH_UI_SAVE=DIR also saves the pages there)

use clap::Parser;
use director_tests::free_port;
use reqwest::redirect::Policy;
use serde_json::json;
use std::time::{Duration, Instant};

const VIRTUAL_SERVERS: usize = 1000;
const BIG: usize = 100;
const LOADS: usize = 200;
const GROUPS: usize = 50;
const PASSWORD: &str = "bench-admin-password";

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// The page without the sparklines' SVG (the charts' data).
fn without_charts(html: &str) -> usize {
    let mut rest = html;
    let mut size = 0;
    while let Some(start) = rest.find("<svg class=\"spark\"") {
        size += start;
        match rest[start..].find("</svg>") {
            Some(end) => rest = &rest[start + end + "</svg>".len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    size + rest.len()
}

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|v| v.split(';').next().unwrap_or("").to_string())
        })
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .map(|i| i + marker.len())
        .expect("hidden field");
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::Builder::new()
        .prefix("director-bench-ui-")
        .tempdir()
        .expect("temp dir");
    let (http_port, grpc_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{http_port}");
    std::env::set_var("DIRECTOR_INITIAL_ADMIN_PASSWORD", PASSWORD);
    let cli = director::cli::Cli::parse_from([
        "director",
        "--data-dir",
        &dir.path().join("data").display().to_string(),
        "serve",
        "--http-listen",
        &format!("127.0.0.1:{http_port}"),
        "--grpc-listen",
        &format!("127.0.0.1:{grpc_port}"),
        "--dataplane",
        "memory",
        "--vrrp",
        "off",
        "--node-name",
        "bench",
    ]);
    tokio::spawn(async move {
        if let Err(e) = director::cli::run(cli).await {
            eprintln!("director: {e:#}");
            std::process::exit(1);
        }
    });
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "the daemon did not get ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The store: 999 virtual servers with 2 real servers and one with 100.
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["token"].as_str().expect("token").to_string();
    // VRRP groups: each with two members, a track and connection sync; the big virtual server tracked.
    for g in 0..GROUPS {
        let r = http
            .post(format!("{base}/api/v1/vrrp-groups"))
            .bearer_auth(&token)
            .json(&json!({"name": format!("vi-{g:02}"), "vrid": g + 1, "interface": "eth0",
                          "virtual_addresses": [format!("172.16.{}.{}", g / 250, g % 250 + 1)],
                          "members": [{"node": "bench", "priority": 150}, {"node": "peer", "priority": 100}],
                          "track": [{"interface": "eth1", "weight": -30}],
                          "connection_sync": {"interface": "eth1"}}))
            .send()
            .await
            .expect("create group");
        assert_eq!(r.status(), 201, "creating group {g}");
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for i in (worker..VIRTUAL_SERVERS).step_by(8) {
                let count = if i == 0 { BIG } else { 2 };
                let rs: Vec<_> = (0..count)
                    .map(|j| json!({"address": format!("10.{}.{}.{}", i / 250, i % 250, j + 1), "port": 80,
                                    "weight": 1 + j % 5}))
                    .collect();
                let name = if i == 0 { "big".to_string() } else { format!("vs-{i:04}") };
                let r = http
                    .post(format!("{base}/api/v1/virtual-servers"))
                    .bearer_auth(&token)
                    .json(&json!({"name": name, "protocol": "tcp",
                                  "address": format!("172.16.{}.{}", i / 250, i % 250 + 1), "port": 80,
                                  "scheduler": "wrr", "real_servers": rs,
                                  "vrrp_group": (i < GROUPS).then(|| format!("vi-{i:02}"))}))
                    .send()
                    .await
                    .expect("create");
                assert_eq!(r.status(), 201, "creating {name}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("loader");
    }
    println!(
        "loaded {VIRTUAL_SERVERS} virtual servers ({} real servers) in {:.1} s",
        (VIRTUAL_SERVERS - 1) * 2 + BIG,
        started.elapsed().as_secs_f64()
    );
    // Let the reconciler program the (in-memory) kernel and the sampler read it a few times.
    tokio::time::sleep(Duration::from_secs(12)).await;

    // Log in to the UI as a browser does.
    let page = http
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("GET /login");
    let nonce = set_cookie(&page, "director_login").expect("nonce");
    let csrf = hidden(&page.text().await.expect("login page"), "_csrf");
    let r = http
        .post(format!("{base}/login"))
        .header("cookie", format!("director_login={nonce}"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "admin"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("POST /login");
    let session = set_cookie(&r, "director_session").expect("session cookie");
    let cookie = format!("director_session={session}");

    println!(
        "\n{:<34} {:>8} {:>8} {:>10} {:>16}",
        "page", "p50 ms", "p99 ms", "bytes", "without charts"
    );
    for (label, path) in [
        ("dashboard", "/"),
        ("virtual-server list (50 per page)", "/virtual-servers"),
        ("virtual server, 100 real servers", "/virtual-servers/big"),
        ("virtual server, 2 real servers", "/virtual-servers/vs-0500"),
        ("audit log (50 entries)", "/audit"),
        ("hosts (2,098)", "/hosts"),
        ("VRRP groups (50)", "/vrrp-groups"),
        ("VRRP group", "/vrrp-groups/vi-00"),
        ("VRRP group edit form", "/vrrp-groups/vi-00/edit"),
        ("new VRRP group form", "/vrrp-groups/_new"),
    ] {
        let mut times = Vec::with_capacity(LOADS);
        let mut body = String::new();
        for _ in 0..LOADS {
            let t = Instant::now();
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
                .await
                .expect("GET");
            assert_eq!(r.status(), 200, "GET {path}");
            body = r.text().await.expect("body");
            times.push(t.elapsed());
        }
        times.sort();
        if let Some(dir) = std::env::var_os("BENCH_UI_SAVE") {
            let file = std::path::Path::new(&dir)
                .join(format!("{}.html", label.replace([' ', ',', '(', ')'], "_")));
            std::fs::write(&file, &body).expect("saving the page");
        }
        println!(
            "{label:<34} {:>8.2} {:>8.2} {:>10} {:>16}",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            body.len(),
            without_charts(&body)
        );
        if path == "/virtual-servers/big" {
            let charts = body.matches("<svg class=\"spark\"").count();
            println!("{:<34} {charts} charts on the page", "");
        }
    }
}
