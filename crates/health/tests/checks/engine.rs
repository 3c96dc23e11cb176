//! The engine's target set: what `set_targets` and `update_targets` keep, reschedule and stop, and what it
//! signals.

use crate::support::*;
use director_core::model::CheckKind;
use director_health::{Status, Target};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::TryRecvError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_targets_keeps_what_did_not_change_and_the_status_of_what_did() {
    let server = TcpServer::start().await;
    let closed = closed_port().await;
    let up = target(server.port, check(CheckKind::Tcp));
    let mut hc = check(CheckKind::Tcp);
    hc.fall = 2;
    let down = Target::new("web", LOCALHOST, closed, hc);
    let engine = engine();
    let mut transitions = engine.transitions();
    engine.set_targets(vec![up.clone(), down.clone()]);
    let up_state = wait_status(&engine, &up.id, Status::Up).await;
    let down_state = wait_status(&engine, &down.id, Status::Down).await;
    let mut first = Vec::new();
    for _ in 0..2 {
        let t = next_transition(&mut transitions).await;
        first.push((t.id, t.from, t.to));
    }
    first.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (up.id.clone(), Status::Unknown, Status::Up),
        (down.id.clone(), Status::Unknown, Status::Down),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(first, expected);

    // An unrelated change (a new target): the others keep their state and keep counting.
    let other = Target::new("api", LOCALHOST, server.port, check(CheckKind::Tcp));
    engine.set_targets(vec![up.clone(), down.clone(), other.clone()]);
    let snap = engine.snapshot();
    assert_eq!(snap[&up.id].since, up_state.since);
    assert!(snap[&up.id].checks >= up_state.checks);
    assert_eq!(snap[&down.id].since, down_state.since);
    // The new target starts unknown: its first transition is from unknown (the checker thread may have
    // checked it already, so the snapshot above may show it up or unknown).
    wait_status(&engine, &other.id, Status::Up).await;
    let tr = next_transition(&mut transitions).await;
    assert_eq!(
        (tr.id, tr.from, tr.to),
        (other.id.clone(), Status::Unknown, Status::Up)
    );

    // Changed specs: rescheduled, but the status is kept (not back to unknown).
    let mut up2 = up.clone();
    up2.check.interval_ms = 150;
    up2.check.rise = 3;
    let mut down2 = down.clone();
    down2.check.timeout_ms = 1500;
    down2.check.rise = 2;
    engine.set_targets(vec![up2.clone(), down2.clone(), other.clone()]);
    let snap = engine.snapshot();
    assert_eq!(
        (snap[&up.id].status, snap[&up.id].since),
        (Status::Up, up_state.since)
    );
    assert!(snap[&up.id].checks >= up_state.checks);
    assert_eq!(
        (snap[&down.id].status, snap[&down.id].since),
        (Status::Down, down_state.since)
    );
    let checks = snap[&up.id].checks;
    let s = wait_for(&engine, &up.id, "checked again", |s| s.checks >= checks + 3).await;
    assert_eq!(s.status, Status::Up);
    assert_eq!(s.since, up_state.since);
    // None of this was a status change.
    assert!(matches!(transitions.try_recv(), Err(TryRecvError::Empty)));

    // The new spec is the one that runs: pointing the check elsewhere takes the server down.
    let mut up3 = up2.clone();
    up3.check.connect_port = Some(u32::from(closed));
    up3.check.fall = 1;
    engine.set_targets(vec![up3, down2, other]);
    let s = wait_status(&engine, &up.id, Status::Down).await;
    assert_eq!(s.last_error.as_deref(), Some("connect refused"));
    let tr = next_transition(&mut transitions).await;
    assert_eq!(
        (tr.id, tr.from, tr.to),
        (up.id.clone(), Status::Up, Status::Down)
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_targets_stop_and_vanish() {
    let server = TcpServer::start().await;
    let t = target(server.port, check(CheckKind::Tcp));
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    wait_status(&engine, &t.id, Status::Up).await;
    let mut changes = engine.changes();
    changes.borrow_and_update();
    engine.set_targets(vec![]);
    assert!(
        changes.has_changed().expect("engine alive"),
        "removing a target is signalled"
    );
    assert!(engine.snapshot().is_empty());
    assert_eq!(engine.stats().targets, 0);
    // At most a check already in flight lands after the removal; then nothing.
    let after = server.connections();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        server.connections() <= after + 1,
        "checks continued after removal"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_none_is_up_at_once_without_checks() {
    let closed = closed_port().await;
    let unchecked = target(closed, check(CheckKind::None));
    let engine = engine();
    let mut changes = engine.changes();
    engine.set_targets(vec![unchecked.clone()]);
    assert!(changes.has_changed().expect("engine alive"));
    changes.borrow_and_update();
    let s = engine.state(&unchecked.id).expect("known");
    assert_eq!((s.status, s.checks), (Status::Up, 0));
    // Nothing writes: the snapshot is shared until something changes.
    assert!(Arc::ptr_eq(&engine.snapshot(), &engine.snapshot()));

    // Adding a check to it keeps it up until the check fails; removing the check brings it back up.
    let mut transitions = engine.transitions();
    let checked = target(closed, check(CheckKind::Tcp));
    engine.set_targets(vec![checked.clone()]);
    assert_eq!(
        engine.state(&checked.id).map(|s| s.status),
        Some(Status::Up)
    );
    wait_status(&engine, &checked.id, Status::Down).await;
    let tr = next_transition(&mut transitions).await;
    assert_eq!((tr.from, tr.to), (Status::Up, Status::Down));
    changes.borrow_and_update();
    engine.set_targets(vec![unchecked.clone()]);
    assert_eq!(
        engine.state(&unchecked.id).map(|s| s.status),
        Some(Status::Up)
    );
    assert!(
        changes.has_changed().expect("engine alive"),
        "the status change is signalled"
    );
    let tr = next_transition(&mut transitions).await;
    assert_eq!((tr.from, tr.to, tr.error), (Status::Down, Status::Up, None));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_the_notification_channels() {
    let server = TcpServer::start().await;
    let t = target(server.port, check(CheckKind::Tcp));
    let engine = engine();
    let mut changes = engine.changes();
    let mut transitions = engine.transitions();
    engine.set_targets(vec![t.clone()]);
    wait_status(&engine, &t.id, Status::Up).await;
    engine.shutdown().await;
    // Drain what was sent, then the channels report closed.
    loop {
        match transitions.recv().await {
            Ok(_) => continue,
            Err(e) => {
                assert_eq!(e, tokio::sync::broadcast::error::RecvError::Closed);
                break;
            }
        }
    }
    while changes.changed().await.is_ok() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_cannot_run_keeps_the_target_down_and_says_why() {
    // A real server of a fwmark service (port 0) with no connect_port: nothing to connect to.
    let t = target(0, check(CheckKind::Tcp));
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    let s = wait_status(&engine, &t.id, Status::Down).await;
    assert_eq!(
        s.last_error.as_deref(),
        Some("invalid check: the real server has port 0: set connect_port")
    );
    let checks = s.checks;
    let s = wait_for(&engine, &t.id, "checked again", |s| s.checks > checks).await;
    assert_eq!(s.status, Status::Down);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updating_part_of_the_targets_leaves_the_others_alone() {
    let server = TcpServer::start().await;
    let kept = Target::new("web", LOCALHOST, server.port, check(CheckKind::Tcp));
    let dropped = Target::new("api", LOCALHOST, server.port, check(CheckKind::Tcp));
    let engine = engine();
    engine.set_targets(vec![kept.clone(), dropped.clone()]);
    let kept_state = wait_status(&engine, &kept.id, Status::Up).await;
    wait_status(&engine, &dropped.id, Status::Up).await;

    // One removed, one added; the target named in neither keeps its state (same `since`).
    let added = Target::new("new", LOCALHOST, server.port, check(CheckKind::Tcp));
    engine.update_targets(vec![dropped.id.clone()], vec![added.clone()]);
    let snap = engine.snapshot();
    assert!(
        !snap.contains_key(&dropped.id),
        "the removed target is gone"
    );
    assert_eq!(snap[&kept.id].since, kept_state.since);
    wait_status(&engine, &added.id, Status::Up).await;
    assert_eq!(engine.stats().targets, 2);

    // An id both removed and given is kept, as given; an id not checked is ignored.
    engine.update_targets(
        vec![kept.id.clone(), dropped.id.clone()],
        vec![kept.clone()],
    );
    let snap = engine.snapshot();
    assert_eq!(snap[&kept.id].since, kept_state.since);
    assert_eq!(engine.stats().targets, 2);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_of_one_virtual_server_holds_its_targets_only() {
    let server = TcpServer::start().await;
    let web = Target::new("web", LOCALHOST, server.port, check(CheckKind::Tcp));
    let web6 = Target::new(
        "web",
        "::1".parse().expect("address"),
        server.port,
        check(CheckKind::Tcp),
    );
    let prefix = Target::new("we", LOCALHOST, server.port, check(CheckKind::Tcp));
    let longer = Target::new("web-2", LOCALHOST, server.port, check(CheckKind::Tcp));
    let engine = engine();
    engine.set_targets(vec![
        web.clone(),
        web6.clone(),
        prefix.clone(),
        longer.clone(),
    ]);
    let up = wait_status(&engine, &web.id, Status::Up).await;
    let of_web = engine.snapshot_of("web");
    assert_eq!(
        of_web.keys().cloned().collect::<Vec<_>>(),
        vec![web.id.clone(), web6.id.clone()]
    );
    assert_eq!(of_web[&web.id].since, up.since);
    assert!(engine.snapshot_of("nothing").is_empty());
    engine.shutdown().await;
}
