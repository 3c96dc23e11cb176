//! Traffic through the VIP: a client namespace reaches busybox httpd real servers in NAT and in DR mode, and
//! wrr weights 3:1 split 400 requests about 3:1.

use crate::util::*;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeMap;

/// The topology: the director is the root namespace; real servers rs1/rs2 sit on bridge br0 (10.30.0.0/24);
/// the client sits behind veth cl0 (10.40.0.0/24). VIPs live in 10.50.0.0/24 on dir0.
///
/// The root namespace is both the director and the clients' router, so DR replies (source: the VIP, which is
/// also local on dir0) come back through it: `accept_local` keeps them from being dropped as martians.
pub(crate) fn topology() {
    sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv4.conf.all.accept_local=1 net.ipv4.conf.default.accept_local=1 net.ipv4.vs.conntrack=1");
    sh("ip link add dir0 type dummy && ip link set dir0 up");
    sh("ip link add br0 type bridge && ip addr add 10.30.0.1/24 dev br0 && ip link set br0 up");
    for (i, name) in ["rs1", "rs2"].iter().enumerate() {
        let ip = format!("10.30.0.{}", 11 + i);
        sh(&format!(
            "ip netns add {name} && ip link add {name}-br type veth peer name eth0 netns {name} && \
             ip link set {name}-br master br0 up && ip -n {name} addr add {ip}/24 dev eth0 && \
             ip -n {name} link set eth0 up && ip -n {name} link set lo up && \
             ip -n {name} route add default via 10.30.0.1 && \
             mkdir -p /srv/{name} && echo {name} > /srv/{name}/index.html"
        ));
        start_httpd(name);
        // DR: the real server holds the VIP on lo and neither answers nor announces ARP for it.
        sh(&format!(
            "ip -n {name} addr add 10.50.0.2/32 dev lo && \
             ip netns exec {name} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
             net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.lo.rp_filter=0"
        ));
    }
    sh("ip netns add cl && ip link add cl0 type veth peer name eth0 netns cl && ip addr add 10.40.0.1/24 dev cl0 && \
        ip link set cl0 up && ip -n cl addr add 10.40.0.2/24 dev eth0 && ip -n cl link set eth0 up && \
        ip -n cl link set lo up && ip -n cl route add default via 10.40.0.1");
}

/// busybox httpd in the foreground, in the background of the scenario, its PID kept to stop it later.
fn start_httpd(name: &str) {
    sh(&format!(
        "ip netns exec {name} busybox httpd -f -p 80 -h /srv/{name} >/dev/null 2>&1 & echo $! > /tmp/{name}-httpd.pid"
    ));
}

fn stop_httpd(name: &str) {
    sh(&format!("kill $(cat /tmp/{name}-httpd.pid)"));
}

fn split(url: &str) -> BTreeMap<String, usize> {
    let out = sh(&format!(
        "ip netns exec cl /usr/local/bin/vm-guest fetch {url} 400"
    ));
    let mut counts = BTreeMap::new();
    for line in out.lines() {
        if let Some((k, v)) = line.split_once('=') {
            counts.insert(k.to_string(), v.parse().unwrap_or(0));
        }
    }
    counts
}

fn assert_three_to_one(mode: &str, counts: &BTreeMap<String, usize>) {
    let (a, b) = (
        counts.get("rs1").copied().unwrap_or(0),
        counts.get("rs2").copied().unwrap_or(0),
    );
    println!(
        "{mode}: rs1={a} rs2={b} failed={}",
        counts.get("failed").copied().unwrap_or(0)
    );
    assert_eq!(a + b, 400, "{mode}: every request answered: {counts:?}");
    let ratio = a as f64 / b.max(1) as f64;
    assert!((2.5..=3.5).contains(&ratio), "{mode}: wrr 3:1 gave {a}:{b}");
}

pub async fn run() {
    topology();
    let d = start(
        "ipvs",
        None,
        &["--resync-interval", "1s", "--vip-interface", "dir0"],
    )
    .await;
    let rs = |w1: u32, w2: u32| json!([{"address": "10.30.0.11", "port": 80, "weight": w1}, {"address": "10.30.0.12", "port": 80, "weight": w2}]);
    must(
        &d,
        Method::POST,
        "/api/v1/virtual-servers",
        Some(
            json!({"name": "web-nat", "protocol": "tcp", "address": "10.50.0.1",
        "port": 80, "scheduler": "wrr", "forwarding": "nat", "real_servers": rs(3, 1)}),
        ),
    )
    .await;
    must(
        &d,
        Method::POST,
        "/api/v1/virtual-servers",
        Some(
            json!({"name": "web-dr", "protocol": "tcp", "address": "10.50.0.2",
        "port": 80, "scheduler": "wrr", "forwarding": "dr", "real_servers": rs(3, 1)}),
        ),
    )
    .await;
    wait_applied(&d).await;
    assert_three_to_one("nat", &split("http://10.50.0.1/"));
    assert_three_to_one("dr", &split("http://10.50.0.2/"));
    // Draining rs1 (weight 0) sends every new connection to rs2.
    must(
        &d,
        Method::PATCH,
        "/api/v1/virtual-servers/web-nat/real-servers/10.30.0.11:80",
        Some(json!({"weight": 0})),
    )
    .await;
    wait_applied(&d).await;
    let counts = split("http://10.50.0.1/");
    assert_eq!(counts.get("rs2").copied(), Some(400), "drained: {counts:?}");
    println!("drain: rs2=400");
    kernel_counters_in_metrics(&d).await;

    // Health checks drive the kernel: rs1's httpd stops, rs1 leaves the table; it starts again, rs1 returns.
    must(&d, Method::POST, "/api/v1/virtual-servers", Some(json!({"name": "web-hc", "protocol": "tcp", "address": "10.50.0.3",
        "port": 80, "scheduler": "rr", "forwarding": "nat",
        "health_check": {"type": "http", "path": "/", "interval_ms": 300, "timeout_ms": 250, "rise": 1, "fall": 1},
        "real_servers": rs(1, 1)}))).await;
    let in_table = |who: &str| sh("ipvsadm -Ln -t 10.50.0.3:80").contains(who);
    let wait = |what: &str, want: bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while in_table("10.30.0.11:80") != want {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: {}",
                sh("ipvsadm -Ln -t 10.50.0.3:80")
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait("rs1 checked up", true);
    stop_httpd("rs1");
    wait("rs1 leaves when its httpd stops", false);
    assert!(in_table("10.30.0.12:80"), "rs2 stays");
    start_httpd("rs1");
    wait("rs1 returns when its httpd is back", true);
    println!("health: rs1 left ipvsadm -Ln when its httpd stopped and returned with it");
    done("datapath");
}

/// The value of the sample of `name` whose labels include every `k="v"` of `labels` (one at most).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?}: {found:?}");
    found.first().copied()
}

/// `/metrics` reports the kernel's counters of web-nat (node_exporter's labels): 400 connections before the
/// drain and 400 after, every one a new connection; rs1 drained to weight 0. IPVS folds its per-CPU counters
/// every two seconds, so the figures are awaited.
async fn kernel_counters_in_metrics(d: &director_tests::Daemon) {
    let backend = |ip: &'static str| {
        [
            ("local_address", "10.50.0.1"),
            ("local_port", "80"),
            ("remote_address", ip),
            ("remote_port", "80"),
            ("proto", "TCP"),
            ("virtual_server", "web-nat"),
        ]
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let text = d
            .http
            .get(d.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics body");
        let conns = |ip| {
            sample(
                &text,
                "director_ipvs_backend_connections_total",
                &backend(ip),
            )
        };
        let service = sample(
            &text,
            "director_ipvs_service_connections_total",
            &[
                ("local_address", "10.50.0.1"),
                ("virtual_server", "web-nat"),
            ],
        );
        let (rs1, rs2) = (
            conns("10.30.0.11").unwrap_or(0.0),
            conns("10.30.0.12").unwrap_or(0.0),
        );
        if rs1 + rs2 == 800.0 && service == Some(800.0) {
            assert!(
                (250.0..=350.0).contains(&rs1),
                "rs1 got {rs1} of the first 400"
            );
            assert_eq!(
                sample(
                    &text,
                    "director_ipvs_backend_weight",
                    &backend("10.30.0.11")
                ),
                Some(0.0)
            );
            assert_eq!(
                sample(
                    &text,
                    "director_ipvs_backend_weight",
                    &backend("10.30.0.12")
                ),
                Some(1.0)
            );
            for family in [
                "director_ipvs_backend_incoming_packets_total",
                "director_ipvs_backend_outgoing_packets_total",
                "director_ipvs_backend_incoming_bytes_total",
                "director_ipvs_backend_outgoing_bytes_total",
            ] {
                let v = sample(&text, family, &backend("10.30.0.12")).unwrap_or(0.0);
                assert!(
                    v > 0.0,
                    "{family} of rs2 (NAT: both directions pass the director): {v}"
                );
            }
            assert!(sample(&text, "director_ipvs_connections_total", &[]).unwrap_or(0.0) >= 1200.0);
            assert_eq!(sample(&text, "director_dataplane_up", &[]), Some(1.0));
            println!("metrics: web-nat rs1={rs1} rs2={rs2} connections in /metrics");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "web-nat connections in /metrics: rs1={rs1} rs2={rs2} service={service:?}\n{}\n{text}",
            sh("ipvsadm -Ln --stats --exact")
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// `fetch URL COUNT`: COUNT sequential requests, each on a new connection; prints `body=count` lines.
pub async fn fetch(args: &[String]) {
    let url = args.first().expect("URL").clone();
    let count: usize = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(1);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("client");
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures_in_a_row = 0;
    for _ in 0..count {
        let key = match client.get(&url).send().await {
            Ok(r) => r
                .text()
                .await
                .map(|t| t.trim().to_string())
                .unwrap_or_else(|_| "failed".into()),
            Err(e) => {
                eprintln!("{url}: {e}");
                "failed".into()
            }
        };
        failures_in_a_row = if key == "failed" {
            failures_in_a_row + 1
        } else {
            0
        };
        *counts.entry(key).or_default() += 1;
        if failures_in_a_row == 5 {
            eprintln!("{url}: 5 failures in a row, giving up");
            break;
        }
    }
    for (k, v) in counts {
        println!("{k}={v}");
    }
}
