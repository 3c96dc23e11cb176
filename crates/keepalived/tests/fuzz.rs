//! A bounded fuzz run on stable Rust: the fuzz target's property ([`director_keepalived::fuzz::round_trip`])
//! on inputs mutated from the corpus, in every test run.
//!
//! Deterministic (a fixed seed: a failure reproduces); the run stops after `DIRECTOR_FUZZ_ITERATIONS` inputs
//! (default 200000) or `DIRECTOR_FUZZ_SECONDS` seconds (default 20), whichever comes first. A failing input
//! is written to `target/fuzz-failure.conf` and printed. libFuzzer (`cargo +nightly fuzz run parse` in
//! `crates/keepalived`) explores further with coverage feedback.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Words that make mutations likely to stay keepalived-shaped.
const DICTIONARY: &[&str] = &[
    "{",
    "}",
    "\"",
    "!",
    "#",
    "\n",
    " ",
    "include",
    "global_defs",
    "router_id",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "group",
    "virtual_server",
    "real_server",
    "fwmark",
    "state",
    "MASTER",
    "BACKUP",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "nopreempt",
    "preempt_delay",
    "authentication",
    "auth_type",
    "PASS",
    "AH",
    "auth_pass",
    "virtual_ipaddress",
    "unicast_peer",
    "track_script",
    "track_interface",
    "weight",
    "reverse",
    "notify",
    "lvs_sched",
    "lb_algo",
    "lvs_method",
    "lb_kind",
    "NAT",
    "DR",
    "TUN",
    "type",
    "gue",
    "port",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "TCP",
    "UDP",
    "SCTP",
    "sorry_server",
    "quorum",
    "hysteresis",
    "delay_loop",
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "MISC_CHECK",
    "url",
    "path",
    "digest",
    "status_code",
    "misc_path",
    "misc_dynamic",
    "connect_timeout",
    "retry",
    "nb_get_retry",
    "0",
    "1",
    "255",
    "256",
    "-1",
    "65536",
    "0.5",
    "1e3",
    "10.0.0.1",
    "10.0.0.1/24",
    "2001:db8::1",
    "::",
    "/",
    "brd",
    "dev",
    "scope",
    "label",
    "sh-port",
    "flag-1",
    "ops",
    "alpha",
    "inhibit_on_failure",
    "on",
    "off",
    "200-299",
    "@",
    "$X=1",
    "~SEQ",
    "'",
];

/// xorshift64*: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn corpus() -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"),
        &mut files,
    );
    files.sort();
    let inputs: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
    assert!(
        inputs.len() >= 5,
        "the corpus in tests/corpus is missing ({} files found)",
        inputs.len()
    );
    inputs
}

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] = (rng.next() & 0xff) as u8;
            }
            1 if !data.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at.min(end)..end);
            }
            2 => {
                let word = DICTIONARY[rng.below(DICTIONARY.len())].as_bytes();
                data.splice(at..at, word.iter().copied());
            }
            3 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + 1 + rng.below(64)).min(data.len());
                let chunk = data[start..end].to_vec();
                data.splice(at..at, chunk);
            }
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                let start = rng.below(other.len());
                let end = (start + rng.below(256)).min(other.len());
                data.splice(at..at, other[start..end].iter().copied());
            }
            5 => {
                // Replace a number with an extreme one.
                let word = ["0", "4294967296", "99999999999999999999", "-0", "1.0000001"]
                    [rng.below(5)]
                .as_bytes();
                data.splice(at..at, word.iter().copied());
            }
            _ => data.truncate(at),
        }
    }
    data
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mutated_corpus_round_trips() {
    let corpus = corpus();
    let iterations = setting("DIRECTOR_FUZZ_ITERATIONS", 200_000);
    let budget = Duration::from_secs(setting("DIRECTOR_FUZZ_SECONDS", 20));
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let started = Instant::now();
    let mut ran = 0u64;
    let mut parsed = 0u64;
    let mut pool = corpus.clone();
    while ran < iterations && started.elapsed() < budget {
        let base = pool[rng.below(pool.len())].clone();
        let input = mutate(&mut rng, &base, &corpus);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            director_keepalived::fuzz::round_trip(&input)
        }));
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(violation)) => Some(violation),
            Err(_) => Some("the parser or writer panicked".to_string()),
        };
        if let Some(failure) = failure {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failure.conf");
            let _ = std::fs::write(&path, &input);
            panic!(
                "input #{ran} (saved to {}): {failure}\n--- input ---\n{}",
                path.display(),
                String::from_utf8_lossy(&input)
            );
        }
        if director_keepalived::parse_str("x.conf", &String::from_utf8_lossy(&input)).is_ok() {
            parsed += 1;
            // Inputs that still parse are good seeds for further mutations.
            if pool.len() < 512 {
                pool.push(input);
            }
        }
        ran += 1;
    }
    eprintln!(
        "fuzz: {ran} inputs in {:.1} s, {parsed} of them accepted by the parser, no violation",
        started.elapsed().as_secs_f64()
    );
    assert!(ran > 0);
}
