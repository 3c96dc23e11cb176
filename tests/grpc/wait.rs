//! WaitApplied and Drain with wait: they follow the reconciler's applied revision and the observed kernel
//! table. Without a dataplane there is nothing to wait for, and the calls say so.

use crate::support::*;
use director_proto as pb;
use director_tests::{Daemon, DaemonOptions};
use tonic::Code;

fn seconds(s: i64, nanos: i32) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds: s, nanos })
}

#[tokio::test]
async fn without_a_dataplane_waits_are_refused() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    let vs = c
        .create_virtual_server(pb::CreateVirtualServerRequest {
            virtual_server: Some(web("web", "192.168.10.180")),
        })
        .await
        .expect("create")
        .into_inner();
    let s = expect_code(
        c.wait_applied(pb::WaitAppliedRequest {
            revision: vs.revision,
            timeout: seconds(1, 0),
        })
        .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason(&s), "NO_DATAPLANE");
    assert!(s.message().contains("--dataplane none"), "{}", s.message());
    let status = c
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(status.applied_revision, None);
}

#[tokio::test]
async fn with_a_dataplane_waits_follow_the_reconciler() {
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
    let applied = c
        .wait_applied(pb::WaitAppliedRequest {
            revision: vs.revision,
            timeout: seconds(30, 0),
        })
        .await
        .expect("the reconciler applies the revision")
        .into_inner();
    assert!(applied.applied_revision >= vs.revision, "{applied:?}");
    let status = c
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert!(status.applied_revision >= Some(vs.revision), "{status:?}");

    // A revision nobody made is never applied: the wait ends with DEADLINE_EXCEEDED.
    let s = expect_code(
        c.wait_applied(pb::WaitAppliedRequest {
            revision: vs.revision + 1000,
            timeout: seconds(0, 300_000_000),
        })
        .await,
        Code::DeadlineExceeded,
    );
    assert_eq!(reason(&s), "TIMEOUT");
    assert!(
        s.message()
            .contains(&format!("revision {}", vs.revision + 1000)),
        "{}",
        s.message()
    );

    // Drain and wait: weight 0 reaches the kernel table, and the real server has no connections there.
    let drained = c
        .drain(pb::DrainRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.2:80".into(),
            wait: true,
            timeout: seconds(30, 0),
        })
        .await
        .expect("drain and wait")
        .into_inner();
    let rs = drained.real_server.clone().expect("real server");
    assert_eq!(rs.weight, Some(0));
    assert_eq!(drained.active_connections, 0);
    assert!(
        drained.applied_revision >= Some(rs.revision),
        "the wait saw the kernel reach the drain: {drained:?}"
    );
    let kernel = d.get("/api/v1/dataplane").await;
    let text = kernel.to_string();
    assert!(
        text.contains("10.0.1.2"),
        "the observed table has the real server: {text}"
    );
}

#[tokio::test]
async fn drain_host_waits_for_the_kernel_and_undrain_restores() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    let mut c = admin(&d).await;
    for (name, address) in [("web", "192.168.10.180"), ("api", "192.168.10.181")] {
        c.create_virtual_server(pb::CreateVirtualServerRequest {
            virtual_server: Some(web(name, address)),
        })
        .await
        .expect("create");
    }
    let viewer = d.token_for("viewer").await;
    let s = expect_code(
        client_with(&d, &viewer)
            .await
            .drain_host(pb::DrainHostRequest {
                address: "10.0.1.2".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
    );
    assert!(s.message().contains("operator"), "{}", s.message());
    let s = expect_code(
        c.drain_host(pb::DrainHostRequest {
            address: "10.0.1.99".into(),
            ..Default::default()
        })
        .await,
        Code::NotFound,
    );
    assert!(s.message().contains("10.0.1.99"), "{}", s.message());
    let s = expect_code(
        c.drain_host(pb::DrainHostRequest {
            address: "10.0.1".into(),
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_field(&s), "address");

    // With the memory dataplane no connection is open: the wait ends once the kernel has the change.
    let drained = c
        .drain_host(pb::DrainHostRequest {
            address: "10.0.1.2".into(),
            wait: true,
            timeout: seconds(30, 0),
        })
        .await
        .expect("drain the host and wait")
        .into_inner();
    let change = drained.change.clone().expect("change");
    assert!(change.changed);
    assert_eq!(change.real_servers.len(), 2, "{change:?}");
    assert!(change
        .real_servers
        .iter()
        .all(|r| r.weight == 0 && r.weight_before == 2));
    assert_eq!(drained.active_connections, 0);
    assert!(
        drained.applied_revision >= Some(change.revision),
        "{drained:?}"
    );
    let table = d.get("/api/v1/dataplane").await.to_string();
    assert!(table.contains("10.0.1.2"), "{table}");

    let undrained = c
        .undrain_host(pb::UndrainHostRequest {
            address: "10.0.1.2".into(),
        })
        .await
        .expect("undrain")
        .into_inner()
        .change
        .expect("change");
    assert_eq!(undrained.revision, change.revision + 1);
    assert!(
        undrained.real_servers.iter().all(|r| r.weight == 2),
        "{undrained:?}"
    );
}
