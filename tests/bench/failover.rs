//! Failover benchmark: director vs keepalived on the same network-namespace topology (needs root).
//!
//! ```text
//! cargo run --release -p director-tests --bin bench-failover                  # 20 runs, 1 s and 100 ms
//! cargo run --release -p director-tests --bin bench-failover -- --runs 5
//! cargo run --release -p director-tests --bin bench-failover -- --soak 600    # transitions while healthy
//! cargo build --release -p director -p director-tests && target/release/bench-failover --connections 100
//! ```
//!
//! Failover: two nodes on a bridge, a master (priority 150) and a backup (100), VRRPv3. At a random phase of
//! the advertisement cycle the master's namespace is SIGKILLed (every process in it); the time is measured
//! until the backup holds the VIP (`ip -n <ns> addr`, polled every 10 ms). Both run fresh for every run.
//! Like with like: the runs alternate between director and keepalived (which goes first alternates too),
//! and each pair of runs uses the same phase, so both sides see the same sequence of kill times; the same
//! clock (kill to VIP seen) measures both.
//! Theory: Master_Down_Interval of the backup = 3 x interval + skew, minus the time since the last
//! advertisement: between MDI - interval and MDI.
//!
//! Soak: two healthy directors for N seconds at 100 ms adverts; counts transitions and split brains after
//! the initial election (expect zero).
//!
//! Connections (`--connections N [--runs R] [--intervals MS,...]`, default 100, 3 runs, 1000 ms adverts): in
//! the kernel VM (tests/vm; IPVS is needed), two load balancers with a DR and a NAT virtual server, N
//! long-lived TCP connections through each VIP, each sending a request a second; the master gives up
//! mastership (planned), then the new master is crashed (SIGKILL of its namespace, links cut). For director
//! (`connection_sync`) and keepalived (`lvs_sync_daemon`), runs interleaved: the share of the connections
//! that go on with the same real server, and the longest time each one's request waited for its answer
//! (p50, p99), with the takeover time; medians over the runs (`vm-guest bench-connproof`, in
//! tests/kernel/guest/connproof.rs). It runs target/release/director and target/release/vm-guest.
//!
//! This binary also is the daemon: `bench-failover serve ...` runs `director serve ...`, so the daemon
//! measured is the release build of this tree.

use clap::Parser;
use director_tests::netns::{
    director::{create_group, group, status, wait_role},
    master_down_interval, time_until_held, wait_for_holder, Keepalived, KeepalivedInstance, Lan,
    Node,
};
use director_tests::Daemon;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const SETTLE: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Implementation {
    Director = 0,
    Keepalived = 1,
}

impl Implementation {
    fn name(self) -> &'static str {
        match self {
            Implementation::Director => "director",
            Implementation::Keepalived => "keepalived",
        }
    }
}

/// A running pair; dropping it kills both.
enum Pair {
    Director(Box<(Daemon, Daemon)>),
    Keepalived {
        _master: Keepalived,
        _backup: Keepalived,
    },
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

async fn start_pair(
    which: Implementation,
    master: &Node,
    backup: &Node,
    vip: IpAddr,
    advert_ms: u64,
) -> Pair {
    match which {
        Implementation::Director => {
            let m = Daemon::start_with(master.daemon_options("bench-m")).await;
            let b = Daemon::start_with(backup.daemon_options("bench-b")).await;
            let g = group(
                "bench",
                51,
                3,
                advert_ms,
                &[vip],
                &[("bench-m", 150), ("bench-b", 100)],
            );
            create_group(&m, &g).await;
            create_group(&b, &g).await;
            wait_role(&m, "bench", "master", SETTLE).await;
            let deadline = Instant::now() + SETTLE;
            loop {
                let s = status(&b, "bench").await;
                if s["role"] == "backup" && s["master_address"] == master.ipv4.to_string() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the backup never heard the master: {s}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Pair::Director(Box::new((m, b)))
        }
        Implementation::Keepalived => {
            let inst = |priority| KeepalivedInstance {
                name: "bench".into(),
                vrid: 51,
                version: 3,
                priority,
                advert_int: advert_ms as f64 / 1000.0,
                password: None,
                preempt: true,
                vips: vec![vip],
            };
            let m = Keepalived::start(master, &inst(150));
            let b = Keepalived::start(backup, &inst(100));
            wait_for_holder(&[master], vip, SETTLE).expect("keepalived master");
            let deadline = Instant::now() + SETTLE;
            while !b.log_text().contains("Entering BACKUP STATE") {
                assert!(
                    Instant::now() < deadline,
                    "keepalived backup:\n{}",
                    b.log_text()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            // Let the backup hear a few advertisements.
            std::thread::sleep(Duration::from_millis(3 * advert_ms));
            Pair::Keepalived {
                _master: m,
                _backup: b,
            }
        }
    }
}

fn clean(nodes: &[&Node], vip: IpAddr) {
    for n in nodes {
        n.kill_all();
        if n.holds(vip) {
            n.ip(&["addr", "del", &format!("{vip}/32"), "dev", "eth0"]);
        }
    }
}

/// One failover: a fresh pair, the master killed `phase` after the pair settled, the time until the backup
/// holds the VIP (`None`: not within the Master_Down_Interval plus 5 s).
async fn failover_once(
    which: Implementation,
    (m, b): (&Node, &Node),
    vip: IpAddr,
    advert_ms: u64,
    phase: Duration,
) -> Option<Duration> {
    let pair = start_pair(which, m, b, vip, advert_ms).await;
    std::thread::sleep(phase);
    let t0 = Instant::now();
    m.kill_all();
    let limit = master_down_interval(3, advert_ms, 100) + Duration::from_secs(5);
    let took = time_until_held(b, vip, t0, limit);
    drop(pair);
    clean(&[m, b], vip);
    took
}

/// `runs` failovers of each implementation, interleaved, with the same phases for both.
async fn failover_runs(advert_ms: u64, runs: usize, seed: &mut u64) -> [Vec<Duration>; 2] {
    let mut lan = Lan::create();
    let (m, b) = (lan.add_node(1), lan.add_node(2));
    let vip = lan.vip(100);
    let mut out = [Vec::new(), Vec::new()];
    for run in 0..runs {
        let phase = Duration::from_micros(xorshift(seed) % (advert_ms * 1000));
        let mut order = [Implementation::Director, Implementation::Keepalived];
        if run % 2 == 1 {
            order.reverse();
        }
        for which in order {
            match failover_once(which, (&m, &b), vip, advert_ms, phase).await {
                Some(t) => {
                    println!(
                        "  {:<10} {:>5} ms adverts  run {:>2} (phase {:>4} ms): {:>5} ms",
                        which.name(),
                        advert_ms,
                        run + 1,
                        phase.as_millis(),
                        t.as_millis()
                    );
                    out[which as usize].push(t);
                }
                None => println!(
                    "  {:<10} {:>5} ms adverts  run {:>2}: no takeover within the limit",
                    which.name(),
                    advert_ms,
                    run + 1,
                ),
            }
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(v: &[Duration]) -> Option<Duration> {
    let mut v = v.to_vec();
    v.sort();
    (!v.is_empty()).then(|| percentile(&v, 50.0))
}

fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    if v.is_empty() {
        return "no successful run".into();
    }
    format!(
        "median {:>5} ms  p95 {:>5} ms  min {:>5} ms  max {:>5} ms  (n={})",
        percentile(&v, 50.0).as_millis(),
        percentile(&v, 95.0).as_millis(),
        v[0].as_millis(),
        v[v.len() - 1].as_millis(),
        v.len()
    )
}

async fn soak(seconds: u64) {
    let mut lan = Lan::create();
    let (m, b) = (lan.add_node(1), lan.add_node(2));
    let vip = lan.vip(100);
    let advert_ms = 100;
    let pair = start_pair(Implementation::Director, &m, &b, vip, advert_ms).await;
    let Pair::Director(daemons) = &pair else {
        unreachable!("a director pair")
    };
    let (dm, db) = (&daemons.0, &daemons.1);
    let before = (status(dm, "bench").await, status(db, "bench").await);
    println!("soak: two healthy directors, v3 {advert_ms} ms adverts, {seconds} s...");
    let start = Instant::now();
    let mut dual = 0u64;
    let mut none = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        match (m.holds(vip), b.holds(vip)) {
            (true, false) => {}
            (true, true) => dual += 1,
            (false, false) => none += 1,
            (false, true) => none += 1,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let after = (status(dm, "bench").await, status(db, "bench").await);
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
    let transitions = n(&after.0, "transitions") - n(&before.0, "transitions")
        + n(&after.1, "transitions")
        - n(&before.1, "transitions");
    println!(
        "soak {seconds} s: {transitions} transitions (expected 0); samples with two holders: {dual}, \
         with the master not holding: {none}; split brain now: {}/{}; adverts sent by the master: {}, \
         received by the backup: {}; malformed: {}/{}",
        after.0["split_brain"],
        after.1["split_brain"],
        n(&after.0, "adverts_sent") - n(&before.0, "adverts_sent"),
        n(&after.1, "adverts_received") - n(&before.1, "adverts_received"),
        n(&after.0, "malformed_packets"),
        n(&after.1, "malformed_packets"),
    );
    drop(pair);
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-failover [--runs N] [--intervals MS,MS] [--soak SECONDS]\n       \
         bench-failover --connections N [--runs R] [--intervals MS,MS]"
    );
    std::process::exit(2)
}

/// The connection benchmark, in the kernel VM: prints the guest's `BENCH` lines.
fn connections_in_vm(count: usize, runs: usize, intervals: &[u64]) -> std::process::ExitCode {
    let exe = std::env::current_exe().expect("exe");
    let dir = exe.parent().expect("target dir");
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let keepalived = "/usr/sbin/keepalived";
    let adverts: Vec<String> = intervals.iter().map(u64::to_string).collect();
    let script = std::env::temp_dir().join(format!(
        "director-bench-connproof-{}.sh",
        std::process::id()
    ));
    std::fs::write(
        &script,
        format!(
            "#!/bin/bash\nset -e\nexport DIRECTOR_BIN=/usr/local/bin/director\n\
             exec /usr/local/bin/vm-guest bench-connproof {count} {runs} {}\n",
            adverts.join(",")
        ),
    )
    .expect("script");
    // Under two minutes per run and interval in a 2-core TCG guest (both implementations), with a wide
    // margin for a loaded host.
    let timeout = 600 + 600 * runs * intervals.len().max(1);
    let out = std::process::Command::new(root.join("tests/vm/run.sh"))
        .arg("--bin")
        .arg(dir.join("director"))
        .arg("--bin")
        .arg(dir.join("vm-guest"))
        .args(["--bin", &format!("{keepalived}:{keepalived}")])
        .arg("--script")
        .arg(&script)
        .args([
            "--timeout",
            &timeout.to_string(),
            "--mem",
            "2048",
            "--smp",
            "2",
        ])
        .output()
        .expect("tests/vm/run.sh");
    let _ = std::fs::remove_file(&script);
    let console = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    for line in console.lines().filter(|l| l.starts_with("BENCH")) {
        println!("{}", line.trim_start_matches("BENCH "));
    }
    if !out.status.success() {
        eprintln!("{console}\n{}", String::from_utf8_lossy(&out.stderr));
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

fn main() -> std::process::ExitCode {
    // This binary doubles as the daemon (see the module documentation).
    if std::env::args().nth(1).as_deref() == Some("serve") {
        let cli = director::cli::Cli::parse();
        director::telemetry::init(cli.global.log_format);
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        return match rt.block_on(director::cli::run(cli)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("director: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if std::env::var_os("DIRECTOR_BIN").is_none() {
        let exe = std::env::current_exe().expect("exe");
        std::env::set_var("DIRECTOR_BIN", exe);
    }
    let mut runs = None;
    let mut intervals = None;
    let mut soak_s = None;
    let mut connections = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => {
                runs = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            "--intervals" => {
                intervals = Some(
                    args.next()
                        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
                        .unwrap_or_else(|| usage()),
                )
            }
            "--connections" => {
                connections = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            "--soak" => {
                soak_s = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            _ => usage(),
        }
    }
    if let Some(count) = connections {
        return connections_in_vm(
            count,
            runs.unwrap_or(3),
            &intervals.unwrap_or_else(|| vec![1000]),
        );
    }
    let runs = runs.unwrap_or(20);
    let intervals = intervals.unwrap_or_else(|| vec![1000, 100]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if let Some(s) = soak_s {
            soak(s).await;
            return;
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut table = Vec::new();
        for &ms in &intervals {
            println!(
                "director and keepalived with {ms} ms adverts (VRRPv3), {runs} runs each, interleaved:"
            );
            let [director, keepalived] = failover_runs(ms, runs, &mut seed).await;
            let ratio = match (median(&director), median(&keepalived)) {
                (Some(d), Some(k)) if !k.is_zero() => {
                    format!("{:.2}", d.as_secs_f64() / k.as_secs_f64())
                }
                _ => "-".into(),
            };
            table.push((ms, summary(director), summary(keepalived), ratio));
        }
        println!("\nfailover after SIGKILL of the master, until the backup holds the VIP:");
        for (ms, director, keepalived, ratio) in table {
            let mdi = master_down_interval(3, ms, 100);
            println!(
                "  {ms:>5} ms adverts (MDI {:>4} ms)\n    director   {director}\n    keepalived {keepalived}\n    \
                 ratio of medians director/keepalived: {ratio}",
                mdi.as_millis(),
            );
        }
    });
    std::process::ExitCode::SUCCESS
}
