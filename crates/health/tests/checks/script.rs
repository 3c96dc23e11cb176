//! script checks with small shell scripts written to a temporary directory.

use crate::support::*;
use director_core::model::{CheckKind, HealthCheck};
use director_health::Status;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

/// A script that exits with the code written in `code` next to it.
struct ExitScript {
    dir: tempfile::TempDir,
}

impl ExitScript {
    fn new(code: u8) -> ExitScript {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(
            dir.path().join("check.sh"),
            "#!/bin/sh\nexit \"$(cat \"$(dirname \"$0\")/code\")\"\n",
        )
        .expect("write the script");
        let s = ExitScript { dir };
        s.set(code);
        s
    }

    /// Atomically changes the exit code.
    fn set(&self, code: u8) {
        let tmp = self.dir.path().join("code.tmp");
        std::fs::write(&tmp, code.to_string()).expect("write the exit code");
        std::fs::rename(&tmp, self.dir.path().join("code")).expect("rename the exit code");
    }

    fn check(&self, dynamic: bool) -> HealthCheck {
        script_check(&self.dir.path().join("check.sh"), dynamic)
    }
}

/// Runs the script through /bin/sh: exec'ing a file just written can fail with ETXTBSY while another
/// test's fork still holds the write descriptor.
fn script_check(path: &Path, dynamic: bool) -> HealthCheck {
    let mut hc = check(CheckKind::Script);
    hc.command = Some(vec!["/bin/sh".into(), path.display().to_string()]);
    if dynamic {
        hc.dynamic_weight = Some(true);
    }
    hc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_0_is_up_and_any_other_exit_is_down() {
    let script = ExitScript::new(0);
    let t = target(80, script.check(false));
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    wait_status(&engine, &t.id, Status::Up).await;
    script.set(1);
    let s = wait_status(&engine, &t.id, Status::Down).await;
    assert_eq!(s.last_error.as_deref(), Some("exit 1"));
    script.set(0);
    wait_status(&engine, &t.id, Status::Up).await;
    // Without dynamic_weight, 2..255 are failures too.
    script.set(5);
    let s = wait_status(&engine, &t.id, Status::Down).await;
    assert_eq!(s.last_error.as_deref(), Some("exit 5"));
    assert_eq!(s.dynamic_weight, None);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_weight_is_exit_minus_2_and_signals_a_change() {
    let script = ExitScript::new(12);
    let t = target(80, script.check(true));
    let engine = engine();
    let mut changes = engine.changes();
    engine.set_targets(vec![t.clone()]);
    let s = wait_status(&engine, &t.id, Status::Up).await;
    let s = if s.dynamic_weight.is_some() {
        s
    } else {
        wait_for(&engine, &t.id, "weighted", |s| s.dynamic_weight.is_some()).await
    };
    assert_eq!(s.dynamic_weight, Some(10));

    // A weight change alone (still up) bumps the change counter.
    changes.borrow_and_update();
    script.set(2);
    let s = wait_for(&engine, &t.id, "weight 0", |s| s.dynamic_weight == Some(0)).await;
    assert_eq!(s.status, Status::Up);
    tokio::time::timeout(DEADLINE, changes.changed())
        .await
        .expect("a weight change is signalled")
        .expect("engine alive");

    // Exit 1 is down; the weight stays what it was.
    script.set(1);
    let s = wait_status(&engine, &t.id, Status::Down).await;
    assert_eq!(s.last_error.as_deref(), Some("exit 1"));
    assert_eq!(s.dynamic_weight, Some(0));
    engine.shutdown().await;
}

/// A script that records its pid and its background child's pid, then hangs.
fn hanging_script(dir: &Path) -> PathBuf {
    let path = dir.join("hang.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\nd=\"$(dirname \"$0\")\"\nsleep 1000 &\necho $! > \"$d/child.tmp\" && mv \"$d/child.tmp\" \"$d/child.pid\"\necho $$ > \"$d/script.tmp\" && mv \"$d/script.tmp\" \"$d/script.pid\"\nwait\n",
    )
    .expect("write the script");
    path
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Gone or a zombie waiting to be reaped.
fn is_dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

async fn pids_of(dir: &Path) -> (i32, i32) {
    let start = Instant::now();
    loop {
        if let (Some(script), Some(child)) = (
            read_pid(&dir.join("script.pid")),
            read_pid(&dir.join("child.pid")),
        ) {
            return (script, child);
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the hanging script never wrote its pids"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn assert_killed(pids: (i32, i32)) {
    let start = Instant::now();
    while !(is_dead(pids.0) && is_dead(pids.1)) {
        assert!(
            start.elapsed() < DEADLINE,
            "script {} or its child {} still runs",
            pids.0,
            pids.1
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_script_and_its_children_are_killed_at_the_timeout() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut hc = script_check(&hanging_script(dir.path()), false);
    hc.timeout_ms = 1000;
    hc.interval_ms = 60_000;
    let t = target(80, hc);
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    let pids = pids_of(dir.path()).await;
    let s = wait_status(&engine, &t.id, Status::Down).await;
    assert_eq!(s.last_error.as_deref(), Some("timeout after 1000 ms"));
    assert_killed(pids).await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_kills_a_running_script() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut hc = script_check(&hanging_script(dir.path()), false);
    hc.timeout_ms = 600_000;
    hc.interval_ms = 600_000;
    let t = target(80, hc);
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    let pids = pids_of(dir.path()).await;
    engine.shutdown().await;
    assert_killed(pids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_program_is_down_with_the_reason() {
    let mut hc = check(CheckKind::Script);
    hc.command = Some(vec!["/nonexistent/check-web".into(), "--quick".into()]);
    let t = target(80, hc);
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    let s = wait_status(&engine, &t.id, Status::Down).await;
    let e = s.last_error.unwrap_or_default();
    assert!(e.starts_with("cannot run /nonexistent/check-web: "), "{e}");
    engine.shutdown().await;
}
