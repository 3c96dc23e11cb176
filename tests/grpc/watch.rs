//! Watch: the changes after a revision, replayed from the audit log then followed live, one event per
//! revision, in order, none missed, none twice.

use crate::support::*;
use director_proto as pb;
use director_tests::Daemon;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use tonic::Code;

type Events = tonic::Streaming<pb::WatchEvent>;

async fn next(events: &mut Events) -> pb::WatchEvent {
    tokio::time::timeout(Duration::from_secs(10), events.message())
        .await
        .expect("an event within 10 s")
        .expect("a healthy stream")
        .expect("the stream goes on")
}

fn objects(e: &pb::WatchEvent) -> Vec<(String, String, String)> {
    e.changes
        .iter()
        .map(|c| (c.action.clone(), c.kind.clone(), c.object.clone()))
        .collect()
}

fn triple(action: &str, kind: &str, object: &str) -> (String, String, String) {
    (action.into(), kind.into(), object.into())
}

#[tokio::test]
async fn replays_from_a_past_revision_then_follows() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    // Revisions 1..=3 before anyone watches.
    c.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(web("web", "192.168.10.180")),
    })
    .await
    .expect("create");
    c.create_vrrp_group(pb::CreateVrrpGroupRequest {
        vrrp_group: Some(group("vi-1", 51)),
    })
    .await
    .expect("create group");
    c.set_weight(pb::SetWeightRequest {
        virtual_server: "web".into(),
        real_server: "10.0.1.1:80".into(),
        weight: 7,
        expected_revision: None,
    })
    .await
    .expect("set weight");

    let mut events = c
        .watch(pb::WatchRequest {
            after_revision: Some(1),
        })
        .await
        .expect("watch")
        .into_inner();
    let e = next(&mut events).await;
    assert_eq!(e.revision, 2);
    assert_eq!(objects(&e), [triple("create", "vrrp_group", "vi-1")]);
    let e = next(&mut events).await;
    assert_eq!(e.revision, 3);
    assert_eq!(
        objects(&e),
        [triple("update", "real_server", "web/10.0.1.1:80")]
    );
    assert_eq!(e.changes[0].summary, "weight 1 -> 7");
    assert_eq!(e.changes[0].revision, Some(3));

    // Live: changes from gRPC and from REST alike; a new user in between is audited but is no change of the
    // desired state, so it is not an event.
    let _ = d.token_for("viewer").await;
    c.delete_virtual_server(pb::DeleteVirtualServerRequest {
        name: "web".into(),
        expected_revision: None,
    })
    .await
    .expect("delete");
    let (s, body) = d
        .call(
            Method::POST,
            "/api/v1/virtual-servers",
            Some(json!({"name": "api", "protocol": "tcp", "address": "192.168.10.181", "port": 443,
                "real_servers": [{"address": "10.0.2.1", "port": 443}, {"address": "10.0.2.2", "port": 443}]})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let e = next(&mut events).await;
    assert_eq!(e.revision, 4);
    assert_eq!(
        objects(&e),
        [
            triple("delete", "virtual_server", "web"),
            triple("delete", "real_server", "web/10.0.1.1:80"),
            triple("delete", "real_server", "web/10.0.1.2:80"),
        ],
        "a deleted virtual server takes its real servers along, in one revision"
    );
    let e = next(&mut events).await;
    assert_eq!(e.revision, 5);
    assert_eq!(
        objects(&e),
        [
            triple("create", "virtual_server", "api"),
            triple("create", "real_server", "api/10.0.2.1:443"),
            triple("create", "real_server", "api/10.0.2.2:443"),
        ],
        "one event carries every entry of its revision, in the order written"
    );
    assert!(e.changes.iter().all(|c| c.via == "rest"));

    // A burst: every revision arrives, in order, once.
    for weight in 10..40 {
        c.set_weight(pb::SetWeightRequest {
            virtual_server: "api".into(),
            real_server: "10.0.2.1:443".into(),
            weight,
            expected_revision: None,
        })
        .await
        .expect("set weight");
    }
    for (i, weight) in (10..40).enumerate() {
        let e = next(&mut events).await;
        assert_eq!(e.revision, 6 + i as u64);
        assert_eq!(e.changes.len(), 1);
        let previous = if weight == 10 { 1 } else { weight - 1 };
        assert_eq!(
            e.changes[0].summary,
            format!("weight {previous} -> {weight}")
        );
    }
    let quiet = tokio::time::timeout(Duration::from_millis(300), events.message()).await;
    assert!(
        quiet.is_err(),
        "nothing more than the changes made: {quiet:?}"
    );
}

#[tokio::test]
async fn without_a_revision_only_new_changes_arrive() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    c.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(web("web", "192.168.10.180")),
    })
    .await
    .expect("create");
    let mut viewer = client_with(&d, &d.token_for("viewer").await).await;
    let mut events = viewer
        .watch(pb::WatchRequest {
            after_revision: None,
        })
        .await
        .expect("watch")
        .into_inner();
    c.set_weight(pb::SetWeightRequest {
        virtual_server: "web".into(),
        real_server: "10.0.1.2:80".into(),
        weight: 9,
        expected_revision: None,
    })
    .await
    .expect("set weight");
    let e = next(&mut events).await;
    assert_eq!(e.revision, 2, "revision 1 was made before the watch");
    assert_eq!(
        objects(&e),
        [triple("update", "real_server", "web/10.0.1.2:80")]
    );

    // A revision from the future is refused.
    let s = expect_code(
        viewer
            .watch(pb::WatchRequest {
                after_revision: Some(99),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_field(&s), "after_revision");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopping_daemon_ends_the_stream_and_still_stops() {
    let mut d = Daemon::start().await;
    let mut c = admin(&d).await;
    let mut events = c
        .watch(pb::WatchRequest {
            after_revision: Some(0),
        })
        .await
        .expect("watch")
        .into_inner();
    // The client goes on answering (HTTP/2 pings of the graceful shutdown) while the test waits for the exit.
    let status = tokio::task::block_in_place(|| d.stop()).expect("the daemon ran");
    assert!(status.success(), "clean exit with a watch open: {status:?}");
    let end = tokio::time::timeout(Duration::from_secs(5), events.message())
        .await
        .expect("the stream ends");
    // The watch was ended by the daemon, with a status, not cut off with its connection.
    let s = expect_code(end, Code::Unavailable);
    assert_eq!(reason(&s), "SHUTTING_DOWN", "{s:?}");
    assert!(
        !d.log_text().contains("stopping anyway"),
        "the gRPC server drained on its own:\n{}",
        d.log_text()
    );
}
