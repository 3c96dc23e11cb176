//! The exit codes a script relies on, as `directorctl --help` documents them.

use crate::support::*;
use crate::{ctl, ctl_at};
use director_proto as pb;
use director_tests::{Daemon, DaemonOptions};

#[tokio::test]
async fn help_documents_the_exit_codes() {
    let run = ctl_at("127.0.0.1:1", "", &["--help"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Exit codes:"), "{run:?}");
    for line in [
        "0  success",
        "2  not found",
        "5  a wait timed out",
        "6  the server is unavailable",
    ] {
        assert!(run.stdout.contains(line), "{line:?} in --help");
    }
    // A usage error is 1 (not clap's 2, which means "not found" here).
    let run = ctl_at("127.0.0.1:1", "", &["set-weight", "web"], None).await;
    assert_eq!(run.code, 1, "{run:?}");
    let run = ctl_at(
        "127.0.0.1:1",
        "",
        &["wait-applied", "3", "--timeout", "soon"],
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
}

#[tokio::test]
async fn failures_have_their_codes() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    c.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(web("web", "192.168.10.180")),
    })
    .await
    .expect("create");
    let admin_token = d.admin_token.clone();
    let viewer = d.token_for("viewer").await;
    let operator = d.token_for("operator").await;

    let cases: Vec<(&str, &str, Vec<&str>, i32, &str)> = vec![
        ("ok", &admin_token, vec!["get", "vs", "web"], 0, ""),
        (
            "input refused",
            &operator,
            vec!["set-weight", "web", "10.0.1.1:80", "70000"],
            1,
            "weight",
        ),
        (
            "bad endpoint",
            &operator,
            vec!["set-weight", "web", "10.0.1.1", "3"],
            1,
            "real_server",
        ),
        (
            "not found",
            &admin_token,
            vec!["get", "vs", "nothing"],
            2,
            "not found",
        ),
        (
            "real server not found",
            &operator,
            vec!["drain", "web", "10.0.9.9:80"],
            2,
            "not found",
        ),
        (
            "host not found",
            &operator,
            vec!["drain-host", "10.0.9.9"],
            2,
            "10.0.9.9",
        ),
        (
            "not an address",
            &operator,
            vec!["drain-host", "web"],
            1,
            "address",
        ),
        (
            "viewer drains a host",
            &viewer,
            vec!["drain-host", "10.0.1.1"],
            3,
            "PERMISSION_DENIED",
        ),
        ("no token", "", vec!["list", "vs"], 3, "UNAUTHENTICATED"),
        ("bad token", "not-a-token", vec!["status"], 3, "not valid"),
        (
            "viewer writes",
            &viewer,
            vec!["set-weight", "web", "10.0.1.1:80", "3"],
            3,
            "PERMISSION_DENIED",
        ),
        (
            "operator disables a virtual server",
            &operator,
            vec!["disable", "web"],
            3,
            "PERMISSION_DENIED",
        ),
        (
            "stale revision",
            &operator,
            vec![
                "set-weight",
                "web",
                "10.0.1.1:80",
                "3",
                "--expect-revision",
                "99",
            ],
            4,
            "revision",
        ),
        (
            "no dataplane to wait for",
            &viewer,
            vec!["wait-applied", "1"],
            7,
            "no dataplane",
        ),
        (
            "drain and wait without dataplane",
            &operator,
            vec!["drain", "web", "10.0.1.1:80", "--wait"],
            7,
            "no dataplane",
        ),
        (
            "drain a host and wait without dataplane",
            &operator,
            vec!["drain-host", "10.0.1.1", "--wait"],
            7,
            "no dataplane",
        ),
    ];
    for (what, token, args, code, says) in cases {
        let run = ctl(&d, token, &args).await;
        assert_eq!(run.code, code, "{what}: {run:?}");
        assert!(run.stderr.contains(says), "{what}: {says:?} in {run:?}");
    }
    // Nothing listens: unavailable.
    let closed = director_tests::free_port();
    let run = ctl_at(
        &format!("127.0.0.1:{closed}"),
        &admin_token,
        &["status"],
        None,
    )
    .await;
    assert_eq!(run.code, 6, "{run:?}");
    assert!(run.stderr.contains("cannot reach"), "{run:?}");
}

#[tokio::test]
async fn waits_succeed_or_time_out_with_a_dataplane() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    let mut c = admin(&d).await;
    let vs = c
        .create_virtual_server(pb::CreateVirtualServerRequest {
            virtual_server: Some(web("web", "192.168.10.180")),
        })
        .await
        .expect("create")
        .into_inner();
    let t = d.admin_token.clone();
    let revision = vs.revision.to_string();
    let run = ctl(&d, &t, &["wait-applied", &revision, "--timeout", "30s"])
        .await
        .ok();
    assert!(run.stdout.starts_with("applied revision "), "{run:?}");
    let run = ctl(&d, &t, &["wait-applied", "1000", "--timeout", "300ms"]).await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stderr.contains("DEADLINE_EXCEEDED"), "{run:?}");
    let run = ctl(
        &d,
        &t,
        &[
            "drain",
            "web",
            "10.0.1.1:80",
            "--wait",
            "--timeout",
            "30s",
            "-o",
            "json",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(run["real_server"]["weight"], 0);
    assert_eq!(run["active_connections"], 0);
    assert!(run["applied_revision"].as_u64() >= Some(2), "{run}");

    // A host: drained everywhere and waited for (the memory dataplane has no connections), then undrained.
    let op = d.token_for("operator").await;
    let run = ctl(
        &d,
        &op,
        &[
            "drain-host",
            "10.0.1.2",
            "--wait",
            "--timeout",
            "30s",
            "-o",
            "json",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(run["change"]["changed"], true, "{run}");
    assert_eq!(run["change"]["real_servers"][0]["weight"], 0, "{run}");
    assert_eq!(run["active_connections"], 0);
    let run = ctl(&d, &op, &["drain-host", "10.0.1.2"]).await.ok();
    assert!(run.stdout.contains("drained already"), "{run:?}");
    let run = ctl(&d, &op, &["undrain-host", "10.0.1.2"]).await.ok();
    assert!(run.stdout.starts_with("undrained 10.0.1.2"), "{run:?}");
    assert!(run.stdout.contains("10.0.1.2:80"), "{run:?}");
}

#[tokio::test]
async fn connections_name_a_bad_filter_and_say_when_there_is_no_table() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    let token = d.token_for("viewer").await;
    let run = ctl(&d, &token, &["connections", "--client", "somebody"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("client"), "names the filter: {run:?}");
    let run = ctl(&d, &token, &["connections", "--virtual-server", "nope"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    // A table in memory carries no traffic: an empty page, with its header.
    let run = ctl(&d, &token, &["connections"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("CLIENT"), "{run:?}");
    assert!(run.stderr.contains("0 matching of 0"), "{run:?}");
    let json = ctl(&d, &token, &["connections", "-o", "json"]).await;
    assert_eq!(json.code, 0, "{json:?}");

    let none = Daemon::start().await;
    let token = none.token_for("viewer").await;
    let run = ctl(&none, &token, &["connections"]).await;
    assert_eq!(run.code, 7, "no IPVS table: {run:?}");
}
