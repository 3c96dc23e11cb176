//! Health checks drive the kernel table (the in-memory dataplane here; tests/kernel checks the real one).
//! Real servers are real listeners on loopback that the test opens and closes.

use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The destinations of the virtual server's service as the dataplane holds them: (endpoint, weight).
async fn table(d: &Daemon) -> Vec<(String, u64)> {
    let dp = d.get("/api/v1/dataplane").await;
    let mut out: Vec<(String, u64)> = dp["table"]["services"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["destinations"].as_array().cloned().unwrap_or_default())
        .map(|d| {
            let d = &d["destination"];
            (
                format!(
                    "{}:{}",
                    d["address"].as_str().unwrap_or_default(),
                    d["port"]
                ),
                d["weight"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    out.sort();
    out
}

async fn wait_for<F: Fn(&[(String, u64)]) -> bool>(
    d: &Daemon,
    what: &str,
    ok: F,
) -> Vec<(String, u64)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = table(d).await;
        if ok(&t) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the table is {t:?}\nstatus: {:#}",
            d.get("/api/v1/status").await["health"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn has(t: &[(String, u64)], endpoint: &str, weight: u64) -> bool {
    t.iter().any(|(e, w)| e == endpoint && *w == weight)
}

fn absent(t: &[(String, u64)], endpoint: &str) -> bool {
    !t.iter().any(|(e, _)| e == endpoint)
}

async fn rs_health(d: &Daemon, endpoint: &str) -> Value {
    d.get(&format!(
        "/api/v1/virtual-servers/web/real-servers/{endpoint}"
    ))
    .await["health"]
        .clone()
}

#[tokio::test]
async fn health_drives_the_table() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up_port = up.local_addr().unwrap().port();
    let dead_port = director_tests::free_port();
    let a = format!("127.0.0.1:{up_port}");
    let b = format!("127.0.0.1:{dead_port}");
    let web = json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "forwarding": "nat",
        "health_check": {"type": "tcp", "interval_ms": 200, "timeout_ms": 150, "rise": 1, "fall": 2},
        "quorum": 1, "sorry_server": {"address": "10.9.9.9", "port": 80},
        "real_servers": [{"address": "127.0.0.1", "port": up_port, "weight": 3},
                         {"address": "127.0.0.1", "port": dead_port, "weight": 2}]});
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web))
            .await
            .0,
        201
    );

    // The live server is in after its first check; the dead one never gets in.
    wait_for(&d, "A up, B out", |t| {
        has(t, &a, 3) && absent(t, &b) && absent(t, "10.9.9.9:80")
    })
    .await;
    let h = rs_health(&d, &b).await;
    assert_eq!(h["status"], "down");
    assert!(
        h["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("refused"),
        "{h}"
    );
    let status = d.get("/api/v1/status").await;
    assert_eq!(
        (
            status["health"]["up"].as_u64(),
            status["health"]["down"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert!(status["health"]["down_servers"].to_string().contains(&b));

    // inhibit_on_failure keeps the dead one with weight 0.
    let path_b = format!("/api/v1/virtual-servers/web/real-servers/{b}");
    assert_eq!(
        d.call(
            Method::PATCH,
            &path_b,
            Some(json!({"inhibit_on_failure": true}))
        )
        .await
        .0,
        200
    );
    wait_for(&d, "B inhibited", |t| has(t, &b, 0)).await;

    // An unrelated edit keeps what the checker knows.
    let since = rs_health(&d, &a).await["since"].clone();
    assert_eq!(
        d.call(
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"scheduler": "wrr"}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        rs_health(&d, &a).await["since"],
        since,
        "no amnesia after an edit"
    );
    assert_eq!(rs_health(&d, &a).await["status"], "up");

    // A goes down: below quorum (0 up < 1), the sorry server comes in.
    drop(up);
    wait_for(&d, "A out, sorry in", |t| {
        absent(t, &a) && has(t, "10.9.9.9:80", 1)
    })
    .await;
    let s = d.get("/api/v1/status").await;
    assert_eq!(s["health"]["down"].as_u64(), Some(2));

    // A comes back: the sorry server goes.
    let again = tokio::net::TcpListener::bind(("127.0.0.1", up_port))
        .await
        .unwrap();
    wait_for(&d, "A back, sorry out", |t| {
        has(t, &a, 3) && absent(t, "10.9.9.9:80")
    })
    .await;

    // Every transition is in the audit log, by the node, via health. The audit entry of a transition is
    // written beside the reconciler's pass, not before it: wait for the third.
    let deadline = Instant::now() + Duration::from_secs(10);
    let audit = loop {
        let audit = d
            .get(&format!("/api/v1/audit?via=health&object=web/{a}"))
            .await;
        if audit["items"].as_array().map_or(0, Vec::len) >= 3 || Instant::now() > deadline {
            break audit;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let summaries: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert_eq!(summaries.len(), 3, "{summaries:?}");
    assert!(
        summaries[2].starts_with("health unknown -> up"),
        "{summaries:?}"
    );
    assert!(
        summaries[1].starts_with("health up -> down"),
        "{summaries:?}"
    );
    assert!(
        summaries[0].starts_with("health down -> up"),
        "{summaries:?}"
    );
    assert_eq!(audit["items"][0]["actor"], "test-node");
    assert_eq!(audit["items"][0]["source"], "health");
    // A stream of its own: the default view holds the changes only.
    let changes = d.get("/api/v1/audit?limit=1000").await;
    assert!(
        changes["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["via"] != "health"),
        "{changes:#}"
    );
    drop(again);
}

#[tokio::test]
async fn script_checks_set_dynamic_weights() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("check.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nexit \"$(cat \"$(dirname \"$0\")/code\")\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("code"), "7").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let web = json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
        "real_servers": [{"address": "10.0.1.1", "port": 80, "weight": 1,
            "health_check": {"type": "script", "command": [script.to_str().unwrap()], "dynamic_weight": true,
                             "interval_ms": 200, "timeout_ms": 150}}]});
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web))
            .await
            .0,
        201
    );
    wait_for(&d, "exit 7 sets weight 5", |t| has(t, "10.0.1.1:80", 5)).await;
    std::fs::write(dir.path().join("code"), "1").unwrap();
    wait_for(&d, "exit 1 takes it out", |t| absent(t, "10.0.1.1:80")).await;
    std::fs::write(dir.path().join("code"), "0").unwrap();
    wait_for(&d, "exit 0 brings it back", |t| !absent(t, "10.0.1.1:80")).await;
}

#[tokio::test]
async fn new_servers_get_no_traffic_before_their_first_success_unless_alpha_is_off() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    // A check that cannot finish quickly (a script that sleeps): the server stays unknown for a while.
    let port = 8080;
    let vs = |alpha: bool, name: &str, vip: &str| {
        json!({"name": name, "protocol": "tcp", "address": vip, "port": 80,
        "forwarding": "nat", "alpha": alpha,
        "health_check": {"type": "script", "command": ["/bin/sleep", "40"],
                         "interval_ms": 60000, "timeout_ms": 50000, "warmup_ms": 0},
        "real_servers": [{"address": "127.0.0.1", "port": port}]})
    };
    assert_eq!(
        d.call(
            Method::POST,
            "/api/v1/virtual-servers",
            Some(vs(true, "alpha-on", "10.0.0.1"))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        d.call(
            Method::POST,
            "/api/v1/virtual-servers",
            Some(vs(false, "alpha-off", "10.0.0.2"))
        )
        .await
        .0,
        201
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let dp = d.get("/api/v1/dataplane").await;
        let services = dp["table"]["services"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let dests = |vip: &str| {
            services
                .iter()
                .find(|s| s["service"]["key"]["address"] == vip)
                .map(|s| s["destinations"].as_array().map_or(0, Vec::len))
        };
        if dests("10.0.0.1") == Some(0) && dests("10.0.0.2") == Some(1) {
            break;
        }
        if Instant::now() >= deadline {
            let health = d
                .get(&format!(
                    "/api/v1/virtual-servers/alpha-off/real-servers/127.0.0.1:{port}"
                ))
                .await["health"]
                .clone();
            panic!("alpha on: no destination; alpha off: one. {dp:#}\nalpha-off health: {health}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let h = d
        .get(&format!(
            "/api/v1/virtual-servers/alpha-on/real-servers/127.0.0.1:{port}"
        ))
        .await["health"]
        .clone();
    assert_eq!(h["status"], "unknown");
}
