//! The reconciler against a real kernel: boots Debian's cloud kernel under qemu (tests/vm) with the
//! `director` binary and the `vm-guest` scenario driver, and fails on any mismatch the guest reports.
//! Needs root and the packages tests/setup.sh installs; without them the test fails, it does not skip.

use std::path::PathBuf;
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `vm-guest <scenario>` in a fresh VM and returns its console output.
pub fn run_in_vm(
    scenario: &str,
    director: &std::path::Path,
    guest: &std::path::Path,
    timeout_s: u32,
) -> String {
    run_in_vm_with(scenario, director, guest, timeout_s, &[])
}

/// [`run_in_vm`] with more of run.sh's arguments: host files (`--file SRC:/DST`), executables with their
/// libraries (`--bin PATH:/DST`).
pub fn run_in_vm_with(
    scenario: &str,
    director: &std::path::Path,
    guest: &std::path::Path,
    timeout_s: u32,
    extra: &[&str],
) -> String {
    let root = workspace();
    let script =
        std::env::temp_dir().join(format!("director-vm-{scenario}-{}.sh", std::process::id()));
    std::fs::write(&script, format!("#!/bin/bash\nset -e\nexport DIRECTOR_BIN=/usr/local/bin/director\nexec /usr/local/bin/vm-guest {scenario}\n"))
        .expect("scenario script");
    let log = root.join(format!("target/vm/{scenario}.log"));
    let _ = std::fs::create_dir_all(root.join("target/vm"));
    let out = Command::new(root.join("tests/vm/run.sh"))
        .arg("--bin")
        .arg(director)
        .arg("--bin")
        .arg(guest)
        .arg("--script")
        .arg(&script)
        .args([
            "--timeout",
            &timeout_s.to_string(),
            "--mem",
            "2048",
            "--smp",
            "2",
        ])
        .arg("--log")
        .arg(&log)
        .args(extra)
        .output()
        .expect("tests/vm/run.sh (run tests/setup.sh as root first)");
    let _ = std::fs::remove_file(&script);
    let console = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "VM scenario {scenario} failed (log {}):\n{console}\n{}",
        log.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        console.contains(&format!("SCENARIO {scenario} ok")),
        "scenario {scenario} did not finish:\n{console}"
    );
    console
}

fn binaries() -> (PathBuf, PathBuf) {
    (
        director_tests::director_bin(),
        PathBuf::from(env!("CARGO_BIN_EXE_vm-guest")),
    )
}

#[test]
fn reconciler_programs_the_real_kernel() {
    let (director, guest) = binaries();
    let out = run_in_vm("reconcile", &director, &guest, 600);
    assert!(out.contains("minimal operations: set_dest 1, set_service 1, del_dest 1"));
    assert!(out.contains("clear on stop: only the unmanaged service is left"));
}

#[test]
fn traffic_flows_through_the_vip_in_nat_and_dr() {
    let (director, guest) = binaries();
    let out = run_in_vm("datapath", &director, &guest, 600);
    assert!(out.contains("drain: rs2=400"));
    assert!(
        out.contains("metrics: web-nat rs1="),
        "kernel counters in /metrics"
    );
    assert!(
        out.contains("health: rs1 left ipvsadm -Ln when its httpd stopped and returned with it")
    );
}

#[test]
fn the_connection_table_lists_real_connections_as_ipvsadm_does() {
    let (director, guest) = binaries();
    let directorctl = director.with_file_name("directorctl").display().to_string();
    let out = run_in_vm_with(
        "connections",
        &director,
        &guest,
        600,
        &["--bin", &directorctl],
    );
    assert!(out.contains("listed as ipvsadm -Lnc lists them; pages 20/20/10"));
    assert!(out.contains("drain-host: the wait timed out"));
    assert!(out.contains("UDP entries of"));
}

#[test]
fn ipvsadm_restore_of_the_export_reproduces_the_programmed_table() {
    let (director, guest) = binaries();
    // ipvsadm-restore is a script of the ipvsadm package (run.sh ships only the ipvsadm binary).
    let restore = "/usr/sbin/ipvsadm-restore";
    assert!(
        std::path::Path::new(restore).exists(),
        "{restore} is missing: install the ipvsadm package (tests/setup.sh)"
    );
    let out = run_in_vm_with(
        "export",
        &director,
        &guest,
        600,
        &["--file", &format!("{restore}:{restore}")],
    );
    assert!(out.contains("restore: ipvsadm-restore of the export reproduces"));
    assert!(out.contains("adopt: director adopted the restored table with 0 operations"));
}

#[test]
fn vrrp_roles_start_and_stop_the_sync_daemons_in_the_real_kernel() {
    let (director, guest) = binaries();
    let out = run_in_vm("syncd", &director, &guest, 600);
    assert!(out.contains("roles split: both nodes run a master and a backup sync daemon"));
    assert!(out.contains("lvs-b killed: lvs-a runs the master sync daemon alone"));
    assert!(out.contains("lvs-b back: master of vi-2 again, both nodes run both daemons"));
    assert!(out.contains("interface fixed: the master sync daemon runs"));
}

#[test]
fn connection_sync_keeps_connections_through_a_failover_as_keepalived_does() {
    let (director, guest) = binaries();
    let keepalived = "/usr/sbin/keepalived";
    assert!(
        std::path::Path::new(keepalived).exists(),
        "{keepalived} is missing: install the keepalived package (tests/setup.sh)"
    );
    let out = run_in_vm_with(
        "connproof",
        &director,
        &guest,
        900,
        &["--bin", &format!("{keepalived}:{keepalived}")],
    );
    assert!(
        out.contains("director planned failover: dr 100/100 nat 100/100 kept their real server"),
        "every connection survives a planned failover:\n{out}"
    );
    assert!(out.contains("director SIGKILL of the master: dr "));
    assert!(out.contains("keepalived SIGKILL of the master: dr "));
}
