//! Benchmark of the health engine: thousands of targets checked every second against local listeners.
//!
//! ```text
//! cargo run --release -p director-health --example bench_checks -- --targets 5000 --kind tcp --seconds 60
//! cargo run --release -p director-health --example bench_checks -- --targets 5000 --kind http --seconds 60
//! ```
//!
//! The listeners (`--ports`, default 50, on 127.0.0.1) run in a child process (this program with `--serve`),
//! so the CPU figure is the checker's alone. Targets are spread over the ports; each is checked every
//! `--interval-ms` (default 1000) with a warmup of one interval (`--warmup-ms`) spreading the first checks.
//! http checks GET / and verify the MD5 digest of the body. Printed: checks done, CPU use of this process as
//! % of one core (utime+stime from /proc/self/stat over the run), peak RSS (VmHWM), and the scheduling
//! lateness (actual start - scheduled start) p50/p99/max.

use director_core::model::{CheckKind, HealthCheck};
use director_health::checker::http::md5_hex;
use director_health::{Engine, Options, Status, Target};
use std::error::Error;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const BODY: &[u8] = b"<html><body>healthy</body></html>\n";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

type Res<T> = Result<T, Box<dyn Error>>;

struct Args {
    targets: usize,
    kind: CheckKind,
    seconds: u64,
    ports: usize,
    interval_ms: u64,
    warmup_ms: Option<u64>,
    serve: bool,
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        targets: 5000,
        kind: CheckKind::Tcp,
        seconds: 60,
        ports: 50,
        interval_ms: 1000,
        warmup_ms: None,
        serve: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--serve" {
            a.serve = true;
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--targets" => a.targets = value.parse()?,
            "--seconds" => a.seconds = value.parse()?,
            "--ports" => a.ports = value.parse()?,
            "--interval-ms" => a.interval_ms = value.parse()?,
            "--warmup-ms" => a.warmup_ms = Some(value.parse()?),
            "--kind" => {
                a.kind = match value.as_str() {
                    "tcp" => CheckKind::Tcp,
                    "http" => CheckKind::Http,
                    other => return Err(format!("--kind {other}: tcp or http").into()),
                }
            }
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if a.ports == 0 || a.targets == 0 || a.interval_ms == 0 {
        return Err("--ports, --targets and --interval-ms must be positive".into());
    }
    Ok(a)
}

fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to an rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn main() -> Res<()> {
    let args = parse_args()?;
    raise_fd_limit();
    if args.serve {
        return serve(&args);
    }
    bench(&args)
}

/// Child mode: listen on `--ports` ports, print them, serve until stdin closes.
fn serve(args: &Args) -> Res<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut ports = Vec::new();
        for _ in 0..args.ports {
            let listener = TcpListener::bind((LOCALHOST, 0)).await?;
            ports.push(listener.local_addr()?.port().to_string());
            let http = args.kind == CheckKind::Http;
            tokio::spawn(async move {
                while let Ok((mut conn, _)) = listener.accept().await {
                    if !http {
                        drop(conn);
                        continue;
                    }
                    tokio::spawn(async move {
                        let mut head = Vec::with_capacity(256);
                        let mut buf = [0u8; 512];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match conn.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        let mut out = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            BODY.len()
                        )
                        .into_bytes();
                        out.extend_from_slice(BODY);
                        let _ = conn.write_all(&out).await;
                        let _ = conn.shutdown().await;
                    });
                }
            });
        }
        println!("PORTS {}", ports.join(","));
        // Serve until the parent closes our stdin (or dies).
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await?;
        Ok(())
    })
}

/// (user, system) CPU seconds of this process.
fn cpu_seconds() -> Res<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let rest = stat.rsplit_once(')').ok_or("malformed /proc/self/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command come field 3 (state) onwards: utime is field 14, stime 15.
    let utime: u64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("no stime")?.parse()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok((utime as f64 / ticks, stime as f64 / ticks))
}

fn peak_rss() -> Res<String> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| "?".into()))
}

fn bench(args: &Args) -> Res<()> {
    let kind_name = args.kind.as_str();
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--serve",
            "--kind",
            kind_name,
            "--ports",
            &args.ports.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no child stdout")?).read_line(&mut line)?;
    let ports: Vec<u16> = line
        .trim()
        .strip_prefix("PORTS ")
        .ok_or_else(|| format!("unexpected line from the listeners: {line:?}"))?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;

    let mut check = HealthCheck::new(args.kind);
    check.interval_ms = args.interval_ms;
    check.timeout_ms = args.interval_ms;
    check.rise = 1;
    check.fall = 3;
    check.warmup_ms = Some(args.warmup_ms.unwrap_or(args.interval_ms));
    if args.kind == CheckKind::Http {
        check.digest = Some(md5_hex(BODY));
    }
    let targets: Vec<Target> = (0..args.targets)
        .map(|i| {
            let port = ports[i % ports.len()];
            Target::new(
                format!("vs-{}", i / ports.len()),
                LOCALHOST,
                port,
                check.clone(),
            )
        })
        .collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let engine = Engine::start(Options::default());
        let cpu0 = cpu_seconds()?;
        let t0 = Instant::now();
        engine.set_targets(targets);
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        let wall = t0.elapsed().as_secs_f64();
        let cpu1 = cpu_seconds()?;
        let cpu = (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1);
        let stats = engine.stats();
        let snapshot = engine.snapshot();
        engine.shutdown().await;
        Ok::<_, Box<dyn Error>>((wall, cpu, stats, snapshot))
    });
    drop(child.stdin.take());
    let _ = child.wait();
    let (wall, cpu, stats, snapshot) = result?;

    let count = |st: Status| snapshot.values().filter(|s| s.status == st).count();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "kind {kind_name}, {} targets on {} ports, interval {} ms, {:.1} s",
        args.targets, args.ports, args.interval_ms, wall
    );
    println!(
        "checks done: {} ({:.0}/s), {} failed; up {}, down {}, unknown {}",
        stats.checks,
        stats.checks as f64 / wall,
        stats.failures,
        count(Status::Up),
        count(Status::Down),
        count(Status::Unknown)
    );
    if let Some((id, s)) = snapshot.iter().find(|(_, s)| s.last_error.is_some()) {
        println!("a failing target: {id}: {:?}", s.last_error);
    }
    let (user, system) = cpu;
    println!(
        "cpu: {:.1}% of one core ({:.2} s: user {user:.2} s, system {system:.2} s)",
        (user + system) / wall * 100.0,
        user + system
    );
    println!("peak rss: {}", peak_rss()?);
    println!(
        "lateness over {} checks: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        stats.lateness.count,
        ms(stats.lateness.p50),
        ms(stats.lateness.p99),
        ms(stats.lateness.max)
    );
    Ok(())
}
