//! tcp checks, and the rise/fall counting and transitions seen end to end.

use crate::support::*;
use director_core::model::CheckKind;
use director_health::{HealthState, Status, Target, TargetId};
use std::net::IpAddr;
use tokio::sync::broadcast::error::TryRecvError;

/// Polls until `id` has `status`, checking `invariant` on every state seen on the way.
async fn wait_checking(
    engine: &director_health::Engine,
    id: &TargetId,
    status: Status,
    invariant: impl Fn(&HealthState),
) -> HealthState {
    wait_for(engine, id, status.as_str(), |s| {
        invariant(s);
        s.status == status
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rise_and_fall_follow_the_listener_with_one_transition_per_change() {
    let mut server = TcpServer::start().await;
    let mut hc = check(CheckKind::Tcp);
    hc.interval_ms = 150;
    hc.rise = 3;
    hc.fall = 2;
    let t = target(server.port, hc);
    let engine = engine();
    let mut transitions = engine.transitions();
    engine.set_targets(vec![t.clone()]);

    // Unknown (no traffic) until 3 successes in a row.
    let up = wait_checking(&engine, &t.id, Status::Up, |s| {
        assert_ne!(s.status, Status::Down, "{s:?}");
        if s.status == Status::Unknown {
            assert!(
                s.consecutive_successes < 3,
                "still unknown after 3 successes: {s:?}"
            );
        }
    })
    .await;
    assert!(up.consecutive_successes >= 3, "{up:?}");
    assert_eq!(up.last_error, None);
    assert!(up.last_latency.is_some() && up.last_check.is_some());
    let tr = next_transition(&mut transitions).await;
    assert_eq!(
        (tr.id.clone(), tr.from, tr.to, tr.error),
        (t.id.clone(), Status::Unknown, Status::Up, None)
    );

    // One failure is tolerated with fall 2; the second makes it down.
    server.close().await;
    let down = wait_checking(&engine, &t.id, Status::Down, |s| {
        if s.status == Status::Up {
            assert!(
                s.consecutive_failures < 2,
                "still up after 2 failures: {s:?}"
            );
        }
    })
    .await;
    assert!(down.consecutive_failures >= 2, "down too early: {down:?}");
    assert_eq!(down.last_error.as_deref(), Some("connect refused"));
    let tr = next_transition(&mut transitions).await;
    assert_eq!((tr.from, tr.to), (Status::Up, Status::Down));
    assert_eq!(tr.error.as_deref(), Some("connect refused"));

    // Back up after 3 successes.
    server.reopen().await;
    let up = wait_checking(&engine, &t.id, Status::Up, |s| {
        if s.status == Status::Down {
            assert!(
                s.consecutive_successes < 3,
                "still down after 3 successes: {s:?}"
            );
        }
    })
    .await;
    let tr = next_transition(&mut transitions).await;
    assert_eq!((tr.from, tr.to, tr.error), (Status::Down, Status::Up, None));
    assert_eq!(up.since, tr.at);

    // Further successes change nothing: no more transitions.
    let checks = up.checks;
    wait_for(&engine, &t.id, "checked 5 more times", |s| {
        s.checks >= checks + 5
    })
    .await;
    assert!(matches!(transitions.try_recv(), Err(TryRecvError::Empty)));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_port_and_connect_address_override_the_real_server() {
    let server = TcpServer::start().await;
    let unused = closed_port().await;
    let other: IpAddr = "127.0.0.2".parse().unwrap();

    let mut hc = check(CheckKind::Tcp);
    hc.connect_port = Some(u32::from(server.port));
    let by_port = Target::new("web", LOCALHOST, unused, hc);
    let mut hc = check(CheckKind::Tcp);
    hc.connect_address = Some(LOCALHOST);
    let by_address = Target::new("web", other, server.port, hc);
    // The same real servers without the overrides are down.
    let plain_port = Target::new("api", LOCALHOST, unused, check(CheckKind::Tcp));
    let plain_address = Target::new("api", other, server.port, check(CheckKind::Tcp));

    let engine = engine();
    engine.set_targets(vec![
        by_port.clone(),
        by_address.clone(),
        plain_port.clone(),
        plain_address.clone(),
    ]);
    wait_status(&engine, &by_port.id, Status::Up).await;
    wait_status(&engine, &by_address.id, Status::Up).await;
    for t in [&plain_port, &plain_address] {
        let s = wait_status(&engine, &t.id, Status::Down).await;
        assert_eq!(s.last_error.as_deref(), Some("connect refused"), "{}", t.id);
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_address_is_the_source_of_the_checks() {
    let server = TcpServer::start().await;
    let source: IpAddr = "127.0.0.3".parse().unwrap();
    let mut hc = check(CheckKind::Tcp);
    hc.bind_address = Some(source);
    let bound = target(server.port, hc);
    let mut hc = check(CheckKind::Tcp);
    hc.bind_address = Some("192.0.2.1".parse().unwrap());
    let unbindable = Target::new("api", LOCALHOST, server.port, hc);

    let engine = engine();
    engine.set_targets(vec![bound.clone(), unbindable.clone()]);
    wait_status(&engine, &bound.id, Status::Up).await;
    let peers = server.accepted.lock().unwrap().clone();
    assert!(
        !peers.is_empty() && peers.iter().all(|p| p.ip() == source),
        "{peers:?}"
    );
    let s = wait_status(&engine, &unbindable.id, Status::Down).await;
    let e = s.last_error.unwrap_or_default();
    assert!(e.starts_with("cannot bind 192.0.2.1"), "{e}");
    engine.shutdown().await;
}
