//! API benchmark (not a test): loads 1,000 virtual servers x 10 real servers into a release daemon, then with
//! 32 concurrent clients on loopback measures PATCH of a real-server weight and GET of the virtual-server
//! list, the daemon's CPU time per PATCH (from /proc), its memory, and 256 concurrent logins (wrong passwords: the bound on password hashing).
//! Each run does this once over plain HTTP and once over HTTPS (a lab CA from `director cert`), in
//! alternating order; the medians of the runs are printed side by side.
//!
//! cargo build --release -p director -p director-tests && target/release/bench-api [--runs 3]
//!     [--virtual-servers 1000] [--logins 256] [--check-interval-ms 0]

use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REAL_SERVERS: usize = 10;
const CLIENTS: usize = 32;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// CPU time (user + system) the process has used, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after its closing parenthesis;
    // utime and stime are the 14th and 15th fields of the line.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / per_second
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

/// What one run of one mode measured.
#[derive(Debug, Default, Clone)]
struct Figures {
    patch_cpu_ms: f64,
    patch_p50: f64,
    patch_p99: f64,
    patch_rps: f64,
    list_p50: f64,
    list_p99: f64,
    login_p99: f64,
    login_rss_peak_mb: u64,
    login_statuses: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn flag(args: &[String], name: &str, default: usize) -> usize {
    args.windows(2)
        .find(|w| w[0] == name)
        .map(|w| {
            w[1].parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

async fn one_run(
    tls: Option<&director_tests::daemon::Tls>,
    virtual_servers: usize,
    logins: usize,
    check_interval_ms: usize,
) -> Figures {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("none".into()),
        tls: tls.cloned(),
        ..Default::default()
    })
    .await;
    let token = d.admin_token.clone();
    let base = d.base.clone();
    let mut client = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS);
    if let Some(tls) = tls {
        let pem = std::fs::read(&tls.ca).expect("CA");
        client = client.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA"));
    }
    let client = client.build().expect("client");
    let mode = if tls.is_some() { "https" } else { "http " };
    // The checks connect to a listener of this process (`connect_address`, `connect_port`): every real
    // server is up, as in a healthy cluster, and no check waits for a timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("check listener");
    let check_port = listener.local_addr().expect("listener address").port();
    let acceptor = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    let (c, t, b) = (client.clone(), token.clone(), base.clone());
    let (_, load) = run(&d, virtual_servers, move |i| {
        let rs: Vec<_> = (0..REAL_SERVERS)
            .map(|j| json!({"address": format!("10.{}.{}.{}", 128 + i / 250, i % 250, j + 1), "port": 80}))
            .collect();
        let mut vs = json!({
            "name": format!("svc-{i:05}"), "protocol": "tcp", "address": format!("10.{}.{}.{}", 64 + i / 62500, (i / 250) % 250, i % 250 + 1),
            "port": 80, "scheduler": "wrr", "real_servers": rs});
        if check_interval_ms > 0 {
            vs["health_check"] = json!({"type": "tcp", "interval_ms": check_interval_ms, "timeout_ms": 1000,
                "connect_address": "127.0.0.1", "connect_port": check_port});
        }
        c.post(format!("{b}/api/v1/virtual-servers")).bearer_auth(&t).json(&vs)
    })
    .await;
    let pid = d.pid();
    println!(
        "{mode}: loaded {virtual_servers} x {REAL_SERVERS} in {:.1} s ({:.0} creates/s), RSS {} MB",
        load.as_secs_f64(),
        virtual_servers as f64 / load.as_secs_f64(),
        rss_kb(pid, "VmRSS") / 1024
    );
    let mut f = Figures::default();

    let (c, t, b) = (client.clone(), token.clone(), base.clone());
    let patches = 5000;
    let cpu_before = cpu_seconds(pid);
    let (lat, wall) = run(&d, patches, move |i| {
        let vs = (i * 7919) % virtual_servers;
        let j = i % REAL_SERVERS;
        let rs = format!("10.{}.{}.{}:80", 128 + vs / 250, vs % 250, j + 1);
        c.request(
            Method::PATCH,
            format!("{b}/api/v1/virtual-servers/svc-{vs:05}/real-servers/{rs}"),
        )
        .bearer_auth(&t)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"weight": 1 + i % 100}).to_string())
    })
    .await;
    f.patch_cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000.0 / patches as f64;
    (f.patch_p50, f.patch_p99, f.patch_rps) = (
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        patches as f64 / wall.as_secs_f64(),
    );
    println!(
        "{mode}: PATCH real-server weight: {patches} requests, {CLIENTS} clients: p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s, daemon CPU {:.3} ms per PATCH; RSS {} MB",
        f.patch_p50, f.patch_p99, f.patch_rps, f.patch_cpu_ms, rss_kb(pid, "VmRSS") / 1024
    );

    let (c, t, b) = (client.clone(), token.clone(), base.clone());
    let gets = 2000;
    let (lat, _) = run(&d, gets, move |_| {
        c.get(format!("{b}/api/v1/virtual-servers")).bearer_auth(&t)
    })
    .await;
    (f.list_p50, f.list_p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    println!(
        "{mode}: GET virtual-server list (default page of 100): {gets} requests: p50 {:.2} ms, p99 {:.2} ms",
        f.list_p50, f.list_p99
    );

    // `logins` wrong passwords at once, each on its own connection, from one address: the hash gate and the
    // login limits answer most of them at once; what counts is the daemon's memory and the slowest answer.
    let mut tasks = Vec::new();
    for i in 0..logins {
        let (c, b) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = c
                .post(format!("{b}/api/v1/auth/login"))
                .json(
                    &json!({"username": format!("user-{}", i % 16), "password": "wrong-password"}),
                )
                .send()
                .await
                .expect("login");
            (t.elapsed(), r.status().as_u16())
        }));
    }
    let mut lat = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for t in tasks {
        let (l, s) = t.await.expect("login task");
        lat.push(l);
        *statuses.entry(s).or_default() += 1;
    }
    lat.sort();
    f.login_p99 = percentile(&lat, 0.99);
    f.login_rss_peak_mb = rss_kb(pid, "VmHWM") / 1024;
    f.login_statuses = statuses
        .iter()
        .map(|(s, n)| format!("{n} x {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "{mode}: {logins} concurrent logins: p99 {:.0} ms ({}), daemon RSS peak {} MB",
        f.login_p99, f.login_statuses, f.login_rss_peak_mb
    );
    acceptor.abort();
    f
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = flag(&args, "--runs", 3).max(1);
    let virtual_servers = flag(&args, "--virtual-servers", 1000).max(1);
    let logins = flag(&args, "--logins", 256).max(1);
    // With a check interval, every real server has a TCP check of that interval (to a listener of the
    // benchmark, so all are up); 0: no checks.
    let check_interval_ms = flag(&args, "--check-interval-ms", 0);
    let pki = director_tests::pki::Pki::new();
    let tls = pki.tls("test-node", &["127.0.0.1"]);
    let (mut plain, mut secure) = (Vec::new(), Vec::new());
    for r in 0..runs {
        println!("run {} of {runs}", r + 1);
        // Alternate which goes first, so that neither always meets a warmer (or busier) machine.
        if r % 2 == 0 {
            plain.push(one_run(None, virtual_servers, logins, check_interval_ms).await);
            secure.push(one_run(Some(&tls), virtual_servers, logins, check_interval_ms).await);
        } else {
            secure.push(one_run(Some(&tls), virtual_servers, logins, check_interval_ms).await);
            plain.push(one_run(None, virtual_servers, logins, check_interval_ms).await);
        }
    }
    let m = |v: &[Figures], f: fn(&Figures) -> f64| median(v.iter().map(f).collect());
    println!("medians of {runs} runs, {virtual_servers} x {REAL_SERVERS}, {CLIENTS} clients, checks every {check_interval_ms} ms (0: none):       http     https   https/http");
    for (label, f) in [
        (
            "BENCH PATCH p50 (ms)",
            (|x: &Figures| x.patch_p50) as fn(&Figures) -> f64,
        ),
        ("BENCH PATCH p99 (ms)", |x| x.patch_p99),
        ("BENCH PATCH requests/s", |x| x.patch_rps),
        ("BENCH PATCH daemon CPU per request (ms)", |x| {
            x.patch_cpu_ms
        }),
        ("BENCH GET list p50 (ms)", |x| x.list_p50),
        ("BENCH GET list p99 (ms)", |x| x.list_p99),
        ("BENCH login p99 under load (ms)", |x| x.login_p99),
        ("BENCH RSS peak after the logins (MB)", |x| {
            x.login_rss_peak_mb as f64
        }),
    ] {
        let (a, b) = (m(&plain, f), m(&secure, f));
        println!("{label:<42} {a:>9.2} {b:>9.2} {:>9.2}", b / a);
    }
}
