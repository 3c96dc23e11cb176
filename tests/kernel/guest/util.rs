//! Small helpers of the guest scenarios.

use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Runs a shell command, panicking with its output when it fails.
pub fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The kernel table as `ipvsadm -Sn` prints it, one rule per line, sorted.
pub fn ipvsadm_rules() -> Vec<String> {
    let mut lines: Vec<String> = sh("ipvsadm -Sn")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    lines
}

pub async fn start(
    dataplane: &str,
    data_dir: Option<std::path::PathBuf>,
    extra: &[&str],
) -> Daemon {
    Daemon::start_with(DaemonOptions {
        data_dir,
        dataplane: Some(dataplane.into()),
        extra_args: extra.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .await
}

pub async fn status(d: &Daemon) -> Value {
    d.get("/api/v1/status").await
}

/// Waits until the kernel has reached the desired revision (and a pass has run since `min_passes`).
pub async fn wait_applied(d: &Daemon) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = status(d).await;
        if s["applied_revision"] == s["revision"]
            && s["reconciler"]["passes"].as_u64().unwrap_or(0) > 0
        {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "the kernel did not reach revision {}: {s:#}",
            s["revision"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for `n` more passes to complete.
pub async fn wait_passes(d: &Daemon, n: u64) -> Value {
    let start = status(d).await["reconciler"]["passes"]
        .as_u64()
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = status(d).await;
        if s["reconciler"]["passes"].as_u64().unwrap_or(0) >= start + n {
            return s;
        }
        assert!(Instant::now() < deadline, "no reconcile pass ran: {s:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Operation totals of the reconciler.
pub fn ops(status: &Value) -> std::collections::BTreeMap<String, u64> {
    status["reconciler"]["operations"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// The operations between two status readings.
pub fn ops_delta(before: &Value, after: &Value) -> std::collections::BTreeMap<String, u64> {
    let (b, a) = (ops(before), ops(after));
    a.into_iter()
        .filter_map(|(k, v)| {
            let d = v - b.get(&k).copied().unwrap_or(0);
            (d > 0).then_some((k, d))
        })
        .collect()
}

pub async fn must(d: &Daemon, method: Method, path: &str, body: Option<Value>) -> Value {
    let (s, v) = d.call(method.clone(), path, body).await;
    assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
    v
}

pub fn done(name: &str) {
    println!("SCENARIO {name} ok");
}
