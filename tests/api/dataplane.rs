//! Dataplane selection, and the reconciler as the API reports it (against the in-memory dataplane; the real
//! kernel is covered by tests/kernel).

use director_tests::{director_bin, Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn ipvs_mode_refuses_to_start_without_ipvs_and_auto_says_so() {
    let has_ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(director_bin())
        .args([
            "serve",
            "--dataplane",
            "ipvs",
            "--http-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("DIRECTOR_INITIAL_ADMIN_PASSWORD", "admin-password-1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    if has_ipvs {
        panic!("this host has IPVS: run this suite where /proc/net/ip_vs is absent (the kernel VM suites cover IPVS)");
    }
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("modprobe ip_vs"),
        "the message says what to do: {stderr}"
    );

    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("auto".into()),
        ..Default::default()
    })
    .await;
    let status = d.get("/api/v1/status").await;
    assert_eq!(status["dataplane"]["requested"], "auto");
    assert_eq!(status["dataplane"]["active"], "none");
    assert!(status["dataplane"]["detail"]
        .as_str()
        .unwrap()
        .contains("modprobe ip_vs"));
    assert!(
        d.log_text().contains("NO DATAPLANE"),
        "said loudly in the log"
    );
    let (s, e) = d.call(Method::GET, "/api/v1/plan", None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("no_dataplane"))
    );
    // Alive, but not ready: systemd, Docker or Kubernetes must not count this node as serving.
    let r = d.http.get(d.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = d.http.get(d.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let why: serde_json::Value = r.json().await.unwrap();
    assert_eq!(why["ready"], false);
    assert_eq!(why["reasons"][0]["check"], "dataplane", "{why}");
    assert!(
        why["reasons"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("modprobe ip_vs")),
        "says what to do: {why}"
    );
    assert_eq!(why["reasons"].as_array().map(Vec::len), Some(1), "{why}");
    // The metrics of the dataplane and the reconciler are there, at 0 (but the passes: without IPVS the
    // reconciler still runs, for VRRP's addresses).
    let metrics = d
        .http
        .get(d.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "director_dataplane_up 0",
        "director_applied_revision 0",
        "director_reconcile_errors_total 0",
        "director_reconcile_failing 0",
        "director_reconcile_operations_total{op=\"set_dest\"} 0",
        "director_ipvs_connections_total 0",
        "director_ipvs_sync_daemon{state=\"master\"} 0",
        "director_ipvs_sync_daemon{state=\"backup\"} 0",
        "director_reconcile_operations_total{op=\"start_sync_daemon\"} 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing from:\n{metrics}"
        );
    }
    for family in [
        "director_reconcile_passes_total ",
        "director_reconcile_pass_duration_seconds_count ",
    ] {
        assert!(
            metrics.lines().any(|l| l.starts_with(family)),
            "{family}missing from:\n{metrics}"
        );
    }
    let status = d.get("/api/v1/status").await;
    assert_eq!(status["reconciler"]["dataplane"], "none", "{status}");
    assert_eq!(status["applied_revision"], serde_json::Value::Null);
}

#[tokio::test]
async fn the_reconciler_reports_what_it_did() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    let web = json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "scheduler": "wrr",
        "real_servers": [{"address": "10.0.1.1", "port": 80}, {"address": "10.0.1.2", "port": 80}]});
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web))
            .await
            .0,
        201
    );
    let wait = |rev: u64| {
        let d = &d;
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let s = d.get("/api/v1/status").await;
                if s["applied_revision"] == json!(rev) {
                    return s;
                }
                assert!(
                    Instant::now() < deadline,
                    "revision {rev} not applied: {s:#}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let s = wait(1).await;
    assert_eq!(
        s["reconciler"]["operations"],
        json!({"new_service": 1, "new_dest": 2})
    );
    assert_eq!(s["reconciler"]["errors"], 0);
    assert!(s["reconciler"]["last_pass"]["duration_us"]
        .as_u64()
        .is_some());

    assert_eq!(
        d.call(
            Method::PATCH,
            "/api/v1/virtual-servers/web/real-servers/10.0.1.1:80",
            Some(json!({"weight": 4}))
        )
        .await
        .0,
        200
    );
    let s = wait(2).await;
    assert_eq!(
        s["reconciler"]["last_change"]["ops"],
        json!({"set_dest": 1}),
        "a weight change is one SET_DEST"
    );

    let dp = d.get("/api/v1/dataplane").await;
    assert_eq!(dp["dataplane"], "memory");
    let dests = &dp["table"]["services"][0]["destinations"];
    assert_eq!(dests[0]["destination"]["weight"], 4);

    // The plan is empty once applied; the CLI prints the same.
    assert_eq!(d.get("/api/v1/plan").await["ops"], json!([]));
    let out = std::process::Command::new(director_bin())
        .args([
            "plan",
            "--http-listen",
            &format!("127.0.0.1:{}", d.port),
            "--data-dir",
        ])
        .arg(d.data_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().next(),
        Some("plan at revision 2: 0 operation(s)")
    );
    // Asked on a port where no daemon listens, it says which address it asked and what to pass.
    let closed = format!("127.0.0.1:{}", director_tests::free_port());
    let out = std::process::Command::new(director_bin())
        .args(["plan", "--http-listen", &closed, "--data-dir"])
        .arg(d.data_path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "no director daemon answers at http://{closed}/api/v1/plan"
        )) && stderr.contains("pass the address the daemon listens on")
            && stderr.contains("--http-listen"),
        "{stderr}"
    );

    // Disabling the virtual server removes its service: one DEL_SERVICE.
    assert_eq!(
        d.call(
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"enabled": false}))
        )
        .await
        .0,
        200
    );
    let s = wait(3).await;
    assert_eq!(
        s["reconciler"]["last_change"]["ops"],
        json!({"del_service": 1})
    );
}
