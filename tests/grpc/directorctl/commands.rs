//! Each command against a running daemon: what it prints, and what it changes.

use crate::support::*;
use crate::{ctl, directorctl_bin};
use director_proto as pb;
use director_tests::Daemon;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

async fn daemon_with_web() -> Daemon {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    c.create_vrrp_group(pb::CreateVrrpGroupRequest {
        vrrp_group: Some(group("vi-1", 51)),
    })
    .await
    .expect("create group");
    let mut vs = web("web", "192.168.10.51");
    vs.vrrp_group = Some("vi-1".into());
    c.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(vs),
    })
    .await
    .expect("create");
    d
}

#[tokio::test]
async fn reading_commands() {
    let d = daemon_with_web().await;
    let t = d.token_for("viewer").await;

    let status = ctl(&d, &t, &["status"]).await.ok();
    assert!(
        status.stdout.contains("node:") && status.stdout.contains("test-node"),
        "{status:?}"
    );
    assert!(
        status.stdout.contains("applied revision: none"),
        "{status:?}"
    );
    let status = ctl(&d, &t, &["status", "-o", "json"]).await.ok().json();
    assert_eq!(status["revision"], 2);
    assert_eq!(status["dataplane"]["active"], "none");

    let list = ctl(&d, &t, &["list", "virtual-servers"]).await.ok();
    let lines: Vec<_> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{list:?}");
    assert!(lines[0].starts_with("NAME"), "{list:?}");
    for cell in ["web", "tcp 192.168.10.51:80", "wrr", "dr", "vi-1"] {
        assert!(lines[1].contains(cell), "{cell} in {:?}", lines[1]);
    }
    // The JSON is the REST API's.
    let json = ctl(&d, &t, &["list", "vs", "-o", "json"]).await.ok().json();
    let rest = d.get("/api/v1/virtual-servers").await;
    assert_eq!(json["items"][0]["scheduler"], rest["items"][0]["scheduler"]);
    assert_eq!(json["items"][0]["real_servers"][1]["weight"], 2);
    assert_eq!(json["revision"], rest["revision"]);

    let rs = ctl(&d, &t, &["list", "rs", "web"]).await.ok();
    assert!(
        rs.stdout.contains("10.0.1.1:80") && rs.stdout.contains("10.0.1.2:80"),
        "{rs:?}"
    );
    let groups = ctl(&d, &t, &["list", "groups"]).await.ok();
    assert!(
        groups.stdout.contains("vi-1") && groups.stdout.contains("192.168.10.51/32"),
        "{groups:?}"
    );

    let vs = ctl(&d, &t, &["get", "vs", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(vs["name"], "web");
    assert_eq!(vs["vrrp_group"], "vi-1");
    let vs = ctl(&d, &t, &["get", "virtual-server", "web"]).await.ok();
    assert!(
        vs.stdout.contains("scheduler:") && vs.stdout.contains("10.0.1.2:80"),
        "{vs:?}"
    );
    let rs = ctl(&d, &t, &["get", "rs", "web", "10.0.1.2:80", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(rs["weight"], 2);
    assert_eq!(rs["health"]["status"], "up");
    let g = ctl(&d, &t, &["get", "group", "vi-1"]).await.ok();
    assert!(
        g.stdout.contains("vrid:") && g.stdout.contains("51"),
        "{g:?}"
    );

    let audit = ctl(&d, &t, &["audit", "--kind", "virtual_server"])
        .await
        .ok();
    assert!(
        audit
            .stdout
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("AT")),
        "{audit:?}"
    );
    assert!(
        audit.stdout.contains("created virtual server web"),
        "{audit:?}"
    );
    let audit = ctl(&d, &t, &["audit", "--limit", "1", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1));
    assert!(audit["next_cursor"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(audit["items"][0]["source"], "change");
    // Transitions are streams of their own.
    let transitions = ctl(&d, &t, &["audit", "--source", "health,vrrp", "-o", "json"])
        .await
        .ok()
        .json();
    assert!(
        transitions["items"]
            .as_array()
            .is_some_and(|i| i.iter().all(|e| e["source"] != "change")),
        "{transitions}"
    );
    let every = ctl(
        &d,
        &t,
        &[
            "audit", "--source", "all", "--source", "change", "-o", "json",
        ],
    )
    .await
    .ok()
    .json();
    assert!(every["items"].as_array().is_some_and(|i| !i.is_empty()));
    let bad = ctl(&d, &t, &["audit", "--source", "everything"]).await;
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("source"), "{bad:?}");
}

#[tokio::test]
async fn changing_commands() {
    let d = daemon_with_web().await;
    let op = d.token_for("operator").await;
    let admin = d.admin_token.clone();

    let run = ctl(&d, &op, &["set-weight", "web", "10.0.1.1:80", "5"])
        .await
        .ok();
    assert_eq!(run.stdout.trim(), "web/10.0.1.1:80: weight 5 (revision 3)");
    let rest = d
        .get("/api/v1/virtual-servers/web/real-servers/10.0.1.1:80")
        .await;
    assert_eq!(rest["weight"], 5);
    let run = ctl(
        &d,
        &op,
        &[
            "set-weight",
            "web",
            "10.0.1.1:80",
            "6",
            "--expect-revision",
            "3",
            "-o",
            "json",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(run["weight"], 6);
    assert_eq!(run["revision"], 4);

    let run = ctl(&d, &op, &["drain", "web", "10.0.1.2:80"]).await.ok();
    assert!(run.stdout.contains("drained, weight 0"), "{run:?}");
    assert_eq!(
        d.get("/api/v1/virtual-servers/web/real-servers/10.0.1.2:80")
            .await["weight"],
        0
    );

    let run = ctl(&d, &op, &["disable", "web", "10.0.1.1:80"]).await.ok();
    assert!(run.stdout.contains("web/10.0.1.1:80: disabled"), "{run:?}");
    assert_eq!(
        d.get("/api/v1/virtual-servers/web/real-servers/10.0.1.1:80")
            .await["enabled"],
        false
    );
    ctl(&d, &op, &["enable", "web", "10.0.1.1:80"]).await.ok();
    assert_eq!(
        d.get("/api/v1/virtual-servers/web/real-servers/10.0.1.1:80")
            .await["enabled"],
        true
    );
    let run = ctl(&d, &admin, &["disable", "web", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(run["enabled"], false);
    let run = ctl(&d, &admin, &["enable", "web"]).await.ok();
    assert!(run.stdout.starts_with("web: enabled"), "{run:?}");
    assert_eq!(d.get("/api/v1/virtual-servers/web").await["enabled"], true);

    // Every change was made over gRPC, by whom the token says.
    let audit = ctl(
        &d,
        &admin,
        &["audit", "--via", "grpc", "--field", "weight", "-o", "json"],
    )
    .await
    .ok()
    .json();
    let actors: Vec<_> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["actor"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actors, ["operator-user", "operator-user", "operator-user"]);
}

async fn next_json(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) -> serde_json::Value {
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("a line within 10 s")
        .expect("readable")
        .expect("a line");
    serde_json::from_str(&line).expect("one JSON document per line")
}

#[tokio::test]
async fn watch_prints_changes_as_they_happen() {
    let d = daemon_with_web().await;
    let mut child = tokio::process::Command::new(directorctl_bin())
        .args(["watch", "--after", "1", "-o", "json"])
        .env("DIRECTOR_SERVER", d.grpc_url())
        .env("DIRECTOR_TOKEN", &d.admin_token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn directorctl watch");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = next_json(&mut lines).await;
    assert_eq!(first["revision"], 2, "replayed: {first}");
    assert_eq!(first["changes"][0]["object"], "web");
    let run = ctl(
        &d,
        &d.admin_token,
        &["set-weight", "web", "10.0.1.2:80", "8"],
    )
    .await
    .ok();
    assert!(run.stdout.contains("revision 3"), "{run:?}");
    let live = next_json(&mut lines).await;
    assert_eq!(live["revision"], 3);
    assert_eq!(live["changes"][0]["summary"], "weight 2 -> 8");
    child.kill().await.expect("stop the watch");
}

/// Against a daemon serving TLS: `--ca` (or `DIRECTOR_CA`) trusts the lab CA; without it the system's CAs
/// do not know the daemon's certificate and the connection fails with exit code 6 (unavailable).
#[tokio::test]
async fn tls_with_the_cluster_ca() {
    let pki = director_tests::pki::Pki::new();
    let d = Daemon::start_with(director_tests::DaemonOptions {
        tls: Some(pki.tls("test-node", &["127.0.0.1"])),
        ..Default::default()
    })
    .await;
    let t = d.token_for("viewer").await;
    let ca = pki.ca().to_string_lossy().to_string();
    let plain_address = d.grpc_url().replacen("https://", "", 1);

    // HOST:PORT with --ca: https, trusting the CA.
    let status = crate::ctl_at(
        &plain_address,
        &t,
        &["--ca", &ca, "status", "-o", "json"],
        None,
    )
    .await
    .ok()
    .json();
    assert_eq!(status["node"], "test-node");
    // https:// with --tls and no CA: the system's roots do not know the lab CA.
    let refused = crate::ctl_at(&d.grpc_url(), &t, &["--tls", "status"], None).await;
    assert_eq!(refused.code, 6, "{refused:?}");
    assert!(
        refused.stderr.to_lowercase().contains("certificate"),
        "{refused:?}"
    );
    // http:// with --ca is a contradiction, said as such.
    let wrong = crate::ctl_at(
        &format!("http://{plain_address}"),
        &t,
        &["--ca", &ca, "status"],
        None,
    )
    .await;
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains("https://"), "{wrong:?}");
}
