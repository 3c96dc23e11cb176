//! IPVS connection synchronisation driven by VRRP roles, in the real kernel: two directors in two network
//! namespaces (each has its own IPVS) on a bridge, two VRRP groups with `connection_sync`, each node master of
//! one. Every role change starts and stops the right daemons, as the kernel reports them to `ipvsadm --list
//! --daemon` and to director's own GET_DAEMON (`/api/v1/dataplane`); a sync interface that does not exist
//! fails the pass with its name.

use crate::util::*;
use director_tests::netns::director::{create_group, group, wait_role};
use director_tests::netns::{Lan, Node};
use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

const SETTLE: Duration = Duration::from_secs(30);

async fn start(node: &Node, name: &str, data: Option<std::path::PathBuf>) -> Daemon {
    Daemon::start_with(DaemonOptions {
        dataplane: Some("ipvs".into()),
        data_dir: data,
        extra_args: vec!["--resync-interval".into(), "1s".into()],
        ..node.daemon_options(name)
    })
    .await
}

/// The daemons the kernel of `node` runs, as `ipvsadm --list --daemon` prints them (`master eth0 51`).
fn ipvsadm_daemons(node: &Node) -> Vec<String> {
    let out = sh(&format!(
        "ip netns exec {} ipvsadm --list --daemon",
        node.ns
    ));
    let mut daemons: Vec<String> = out
        .lines()
        .filter_map(|l| {
            // master sync daemon (mcast=eth0, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)
            let (state, rest) = l.trim().split_once(" sync daemon (mcast=")?;
            let (interface, rest) = rest.split_once(", syncid=")?;
            let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
            Some(format!("{state} {interface} {id}"))
        })
        .collect();
    daemons.sort();
    daemons
}

/// The daemons director reads from the kernel (GET_DAEMON), in the same form.
async fn director_daemons(d: &Daemon) -> Vec<String> {
    let dp = d.get("/api/v1/dataplane").await;
    let mut daemons: Vec<String> = dp["table"]["sync_daemons"]
        .as_array()
        .unwrap_or_else(|| panic!("no sync_daemons in {dp}"))
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s["state"].as_str().unwrap_or("?"),
                s["interface"].as_str().unwrap_or("?"),
                s["sync_id"]
            )
        })
        .collect();
    daemons.sort();
    daemons
}

/// Waits until the kernel of `node` runs exactly `want` (ipvsadm's view), then checks director's view and
/// its status agree.
async fn wait_daemons(node: &Node, d: &Daemon, want: &[&str]) {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    let start = Instant::now();
    loop {
        let got = ipvsadm_daemons(node);
        if got == want {
            break;
        }
        assert!(
            start.elapsed() < SETTLE,
            "{}: ipvsadm --list --daemon shows {got:?}, expected {want:?}\nstatus: {}\nlog:\n{}",
            node.ns,
            d.get("/api/v1/status").await["reconciler"],
            d.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        director_daemons(d).await,
        want,
        "GET_DAEMON through director"
    );
    // The status reports what the last pass left running (the next pass, at the latest).
    let start = Instant::now();
    loop {
        let s = d.get("/api/v1/status").await;
        let mut got: Vec<String> = s["reconciler"]["sync_daemons"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|s| {
                format!(
                    "{} {} {}",
                    s["state"].as_str().unwrap_or("?"),
                    s["interface"].as_str().unwrap_or("?"),
                    s["sync_id"]
                )
            })
            .collect();
        got.sort();
        if got == want {
            break;
        }
        assert!(
            start.elapsed() < SETTLE,
            "status shows {got:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn metric(text: &str, line_start: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .map(|l| l[line_start.len()..].trim().to_string())
}

pub async fn run() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let a = start(&na, "lvs-a", None).await;
    let mut b = start(&nb, "lvs-b", None).await;
    // Kept for lvs-b's restart with the same data.
    let _keep_b = b.keep_data();
    let b_data = b.data_dir.clone();
    let sync = json!({"interface": "eth0", "sync_id": 51});
    let mut vi1 = group(
        "vi-1",
        51,
        2,
        1000,
        &[lan.vip(100)],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    vi1["connection_sync"] = sync.clone();
    let mut vi2 = group(
        "vi-2",
        52,
        2,
        1000,
        &[lan.vip(101)],
        &[("lvs-a", 100), ("lvs-b", 150)],
    );

    // Two groups sharing a node must start its daemons alike: vi-2's own VRID as its sync id is refused,
    // naming the field, and nothing is written.
    create_group(&a, &vi1).await;
    vi2["connection_sync"] = json!({"interface": "eth0"});
    let before = a.get("/api/v1/status").await["revision"].clone();
    let (code, body) = a
        .call(Method::POST, "/api/v1/vrrp-groups", Some(vi2.clone()))
        .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"]["field"], "connection_sync", "{body}");
    assert_eq!(a.get("/api/v1/status").await["revision"], before);
    println!("conflict: {}", body["error"]["message"]);
    vi2["connection_sync"] = sync.clone();
    create_group(&a, &vi2).await;
    create_group(&b, &vi1).await;
    create_group(&b, &vi2).await;

    // lvs-a masters vi-1 and backs up vi-2, lvs-b the other way round: both run both daemons.
    wait_role(&a, "vi-1", "master", SETTLE).await;
    wait_role(&b, "vi-2", "master", SETTLE).await;
    wait_role(&a, "vi-2", "backup", SETTLE).await;
    wait_role(&b, "vi-1", "backup", SETTLE).await;
    wait_daemons(&na, &a, &["backup eth0 51", "master eth0 51"]).await;
    wait_daemons(&nb, &b, &["backup eth0 51", "master eth0 51"]).await;
    println!("roles split: both nodes run a master and a backup sync daemon");
    let metrics = a
        .http
        .get(a.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(&metrics, "director_ipvs_sync_daemon{state=\"master\"}").as_deref(),
        Some("1")
    );
    assert_eq!(
        metric(&metrics, "director_ipvs_sync_daemon{state=\"backup\"}").as_deref(),
        Some("1")
    );

    // lvs-b dies: lvs-a masters both groups, its backup daemon stops.
    b.kill9();
    wait_role(&a, "vi-2", "master", SETTLE).await;
    wait_daemons(&na, &a, &["master eth0 51"]).await;
    println!("lvs-b killed: lvs-a runs the master sync daemon alone");
    // lvs-b's kernel keeps what it ran (its table stays when director dies).
    assert_eq!(ipvsadm_daemons(&nb), ["backup eth0 51", "master eth0 51"]);

    // lvs-b returns (same data): it adopts its daemons' state as backup of both (its master daemon stops),
    // then takes vi-2 back by priority; lvs-a backs up vi-2 again.
    b = start(&nb, "lvs-b", Some(b_data)).await;
    wait_role(&b, "vi-2", "master", SETTLE).await;
    wait_role(&a, "vi-2", "backup", SETTLE).await;
    wait_daemons(&na, &a, &["backup eth0 51", "master eth0 51"]).await;
    wait_daemons(&nb, &b, &["backup eth0 51", "master eth0 51"]).await;
    let ops = ops(&b.get("/api/v1/status").await);
    assert!(
        ops.get("stop_sync_daemon").copied().unwrap_or(0) >= 1,
        "{ops:?}"
    );
    println!("lvs-b back: master of vi-2 again, both nodes run both daemons");

    // A sync interface that does not exist on the node: the pass fails naming it, /readyz says so; fixed,
    // the daemons run again.
    let (code, body) = a
        .call(
            Method::PATCH,
            "/api/v1/vrrp-groups/vi-2",
            Some(json!({"connection_sync": null})),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = a
        .call(
            Method::PATCH,
            "/api/v1/vrrp-groups/vi-1",
            Some(json!({"connection_sync": {"interface": "nosuch0", "sync_id": 51}})),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let start = Instant::now();
    let failure = loop {
        let s = a.get("/api/v1/status").await;
        let errors = s["reconciler"]["last_failure"]["errors"].clone();
        if s["reconciler"]["failing"] == true
            && errors.as_array().is_some_and(|e| {
                e.iter()
                    .any(|e| e.as_str().is_some_and(|e| e.contains("nosuch0")))
            })
        {
            break errors;
        }
        assert!(
            start.elapsed() < SETTLE,
            "no failed pass naming nosuch0: {}",
            s["reconciler"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("missing interface: {failure}");
    assert_ne!(
        a.get("/api/v1/status").await["applied_revision"],
        a.get("/api/v1/status").await["revision"],
        "a failure is never marked applied"
    );
    let ready = a.http.get(a.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(
        ipvsadm_daemons(&na).is_empty(),
        "{:?}",
        ipvsadm_daemons(&na)
    );
    let (code, body) = a
        .call(
            Method::PATCH,
            "/api/v1/vrrp-groups/vi-1",
            Some(json!({"connection_sync": {"interface": "eth0"}})),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    wait_daemons(&na, &a, &["master eth0 51"]).await;
    wait_applied(&a).await;
    println!("interface fixed: the master sync daemon runs, the revision is applied");
    drop(a);
    drop(b);
    drop(lan);
    done("syncd");
}
