//! Benchmark (not a test): `director import keepalived` of a generated keepalived.conf with 2,000 virtual
//! servers x 20 real servers (TCP checks), into an empty data directory. Prints the wall time of the whole
//! command (parse, map, check, one transaction with an audit entry per object) and the peak memory (VmHWM)
//! of the import process. Target: <= 2 s.
//!
//! cargo build --release -p director -p director-tests && target/release/bench-import [--vs 2000] [--rs 20]

use clap::Parser;
use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Virtual servers.
    #[arg(long, default_value_t = 2000)]
    vs: usize,
    /// Real servers per virtual server.
    #[arg(long, default_value_t = 20)]
    rs: usize,
}

fn generate(vs: usize, rs: usize) -> String {
    let mut out = String::from("global_defs {\n    router_id bench-01\n}\n\n");
    out.push_str(
        "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    virtual_ipaddress {\n        10.0.0.1/16\n    }\n}\n\n",
    );
    for v in 0..vs {
        let vip = format!("10.0.{}.{}", v / 250, v % 250 + 1);
        let _ = write!(
            out,
            "virtual_server {vip} 80 {{\n    delay_loop 6\n    lb_algo wlc\n    lb_kind DR\n    protocol TCP\n"
        );
        for r in 0..rs {
            let n = v * rs + r;
            let rip = format!(
                "172.{}.{}.{}",
                16 + n / 65_000,
                (n / 250) % 260 % 256,
                n % 250 + 1
            );
            let _ = write!(
                out,
                "    real_server {rip} 80 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 3\n            retry 2\n        }}\n    }}\n"
            );
        }
        out.push_str("}\n\n");
    }
    out
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let conf = dir.path().join("keepalived.conf");
    let text = generate(args.vs, args.rs);
    std::fs::write(&conf, &text)?;
    let data = dir.path().join("data");
    // The daemon binary next to this one (target/release/director), unless DIRECTOR_BIN names another.
    let bin = director_tests::director_bin();
    println!(
        "bench-import: {} virtual servers x {} real servers, {:.1} MiB of keepalived.conf, {}",
        args.vs,
        args.rs,
        text.len() as f64 / 1_048_576.0,
        bin.display()
    );
    // The generated file and whatever ran before (a build) leave dirty pages: written back now, they do not
    // compete with the import's own commit.
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let started = Instant::now();
    let mut child = Command::new(&bin)
        .arg("--data-dir")
        .arg(&data)
        .args(["import", "keepalived"])
        .arg(&conf)
        .env("DIRECTOR_NODE_NAME", "bench-01")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    anyhow::ensure!(status.success(), "the import failed: {status}");
    // getrusage of the reaped children: their peak resident set, exact even if the sampling above missed
    // the last moments.
    // SAFETY: rusage is plain integers; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given; on failure it is left zeroed.
    // The CPU time printed is that of the import alone: this process had no other child.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } == 0 {
        peak = peak.max(u64::try_from(usage.ru_maxrss).unwrap_or(0));
    }
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    println!(
        "import: {:.3} s, peak RSS {:.1} MiB, CPU {:.2} s user + {:.2} s system ({} objects, target <= 2 s)",
        elapsed.as_secs_f64(),
        peak as f64 / 1024.0,
        cpu(usage.ru_utime),
        cpu(usage.ru_stime),
        1 + args.vs * (1 + args.rs)
    );
    Ok(())
}
