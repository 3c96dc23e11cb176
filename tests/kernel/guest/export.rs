//! `director export ipvsadm` against the real kernel: the export of a running node, loaded with
//! `ipvsadm-restore` into an empty table, is the table director had programmed; and director started again
//! on the same data directory adopts the restored table without a single operation.

use crate::util::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;

/// A table with a bit of everything `ipvsadm-save -n` can express: TCP, UDP, SCTP, IPv6, fwmark (IPv4 and
/// IPv6), persistence with a netmask (dotted and prefix length), one-packet scheduling, sh and mh with
/// flags, every forwarding method (also per real server, and a mixed-family tunnel), weights including 0,
/// thresholds, a disabled real server, a disabled virtual server, and a sorry server next to its real server.
fn virtual_servers() -> Vec<Value> {
    vec![
        json!({"name": "web", "protocol": "tcp", "address": "10.10.0.1", "port": 80, "scheduler": "wlc",
            "forwarding": "dr", "persistence": {"timeout_s": 300, "netmask": "255.255.255.0"},
            "real_servers": [
                {"address": "10.20.0.1", "port": 80, "weight": 5, "upper_threshold": 100, "lower_threshold": 10},
                {"address": "10.20.0.2", "port": 80, "weight": 0},
                {"address": "10.20.0.3", "port": 80, "weight": 2, "enabled": false},
                {"address": "10.20.0.4", "port": 80, "weight": 1, "forwarding": "tunnel"}]}),
        json!({"name": "dns", "protocol": "udp", "address": "10.10.0.2", "port": 53, "scheduler": "sh",
            "scheduler_flags": ["sh-fallback", "sh-port"], "one_packet": true, "forwarding": "nat",
            "real_servers": [{"address": "10.20.1.1", "port": 5353, "weight": 1},
                             {"address": "10.20.1.2", "port": 53, "weight": 3}]}),
        json!({"name": "maglev", "protocol": "tcp", "address": "10.10.0.3", "port": 8080, "scheduler": "mh",
            "scheduler_flags": ["mh-port"], "forwarding": "tunnel",
            "real_servers": [{"address": "10.20.2.1", "port": 8080, "weight": 4},
                             {"address": "10.20.2.2", "port": 8080, "weight": 4, "lower_threshold": 0,
                              "upper_threshold": 2000}]}),
        json!({"name": "mark", "fwmark": 7, "family": "inet", "scheduler": "rr", "forwarding": "tunnel",
            "real_servers": [{"address": "10.20.3.1", "port": 0, "weight": 2},
                             {"address": "2001:db8:3::1", "port": 0, "weight": 1}]}),
        json!({"name": "mark6", "fwmark": 8, "family": "inet6", "scheduler": "sed", "forwarding": "dr",
            "persistence": {"timeout_s": 120},
            "real_servers": [{"address": "2001:db8:4::1", "port": 0, "weight": 1}]}),
        json!({"name": "v6", "protocol": "tcp", "address": "2001:db8::80", "port": 443, "scheduler": "wrr",
            "forwarding": "nat", "persistence": {"timeout_s": 600, "netmask": "64"},
            "real_servers": [{"address": "2001:db8:1::1", "port": 8443, "weight": 3},
                             {"address": "2001:db8:1::2", "port": 8443, "weight": 1, "upper_threshold": 50}]}),
        json!({"name": "diameter", "protocol": "sctp", "address": "10.10.0.4", "port": 3868, "scheduler": "lc",
            "forwarding": "nat", "real_servers": [{"address": "10.20.4.1", "port": 3868}]}),
        json!({"name": "shop", "protocol": "tcp", "address": "10.10.0.5", "port": 443, "scheduler": "nq",
            "forwarding": "dr", "quorum": 2, "sorry_server": {"address": "10.20.9.9", "port": 443},
            "real_servers": [{"address": "10.20.5.1", "port": 443}]}),
        json!({"name": "off", "protocol": "tcp", "address": "10.10.0.6", "port": 80, "enabled": false,
            "real_servers": [{"address": "10.20.6.1", "port": 80}]}),
    ]
}

/// The kernel table in three views, counters left out: `ipvsadm -Sn`, and `ipvsadm -Ln` with and without
/// `--thresholds` (every real server line prefixed with its service, the connection counters dropped).
fn kernel_table() -> Vec<String> {
    let mut out: Vec<String> = ipvsadm_rules()
        .into_iter()
        .map(|l| format!("save: {l}"))
        .collect();
    for (view, cmd) in [
        ("list", "ipvsadm -Ln"),
        ("thresholds", "ipvsadm -Ln --thresholds"),
    ] {
        let mut service = String::new();
        let mut lines = Vec::new();
        for line in sh(cmd).lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            match cols.first() {
                None => {}
                Some(&"->") if cols.len() >= 4 => lines.push(format!(
                    "{view}: {service} {}",
                    cols[..cols.len() - 2].join(" ")
                )),
                Some(&"->") => lines.push(format!("{view}: {}", cols.join(" "))),
                Some(_) => {
                    service = cols.join(" ");
                    lines.push(format!("{view}: {service}"));
                }
            }
        }
        out.extend(lines);
    }
    out.sort();
    out
}

/// Lines of `a` missing in `b`, for a readable failure message.
fn missing(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|l| !b.contains(l)).cloned().collect()
}

fn export(data_dir: &Path, out: &str) -> String {
    let bin = director_tests::director_bin();
    sh(&format!(
        "{} --data-dir {} export ipvsadm --node test-node > {out}",
        bin.display(),
        data_dir.display()
    ));
    sh(&format!("cat {out}"))
}

pub async fn run() {
    sh("ip link add dir0 type dummy && ip link set dir0 up");
    assert!(
        sh("ipvsadm -Sn").trim().is_empty(),
        "the VM starts with an empty table"
    );
    let args = ["--resync-interval", "1s", "--vip-interface", "dir0"];
    let mut d = start("ipvs", None, &args).await;
    let keep = d.keep_data();
    for vs in virtual_servers() {
        must(&d, Method::POST, "/api/v1/virtual-servers", Some(vs)).await;
    }
    wait_applied(&d).await;
    let programmed = kernel_table();
    println!("programmed by director:\n{}", sh("ipvsadm -Ln"));
    let services = programmed
        .iter()
        .filter(|l| l.starts_with("save: -A "))
        .count();
    assert_eq!(
        services, 8,
        "every enabled virtual server is programmed: {programmed:#?}"
    );
    assert!(
        !programmed.iter().any(|l| l.contains("10.20.0.3:80")),
        "a disabled real server is not programmed: {programmed:#?}"
    );

    // The export reads the data directory while the daemon runs.
    let text = export(d.data_path(), "/tmp/export.ipvsadm");
    println!("export:\n{text}");
    let rules = text.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(
        rules,
        programmed
            .iter()
            .filter(|l| l.starts_with("save: "))
            .count(),
        "one export line per kernel rule:\n{text}"
    );

    // Stop (the table stays), empty the kernel, restore the export.
    assert!(d.stop().is_some_and(|s| s.success()), "clean stop");
    assert_eq!(kernel_table(), programmed, "stopping changed the table");
    sh("ipvsadm -C");
    assert!(sh("ipvsadm -Sn").trim().is_empty(), "ipvsadm -C emptied it");
    sh("ipvsadm-restore < /tmp/export.ipvsadm");
    let restored = kernel_table();
    assert!(
        restored == programmed,
        "ipvsadm-restore of the export differs from what director programmed\n\
         only programmed: {:#?}\nonly restored: {:#?}",
        missing(&programmed, &restored),
        missing(&restored, &programmed)
    );
    println!(
        "restore: ipvsadm-restore of the export reproduces {} rules",
        rules
    );

    // The other way round: director on the same data directory adopts the restored table as its own.
    let dir = d.data_path().to_path_buf();
    drop(d);
    let d = start("ipvs", Some(dir), &args).await;
    let s = wait_applied(&d).await;
    let s2 = wait_passes(&d, 2).await;
    assert!(
        ops(&s).is_empty() && ops(&s2).is_empty(),
        "director changed the restored table: {:?}",
        ops(&s2)
    );
    let plan = d.get("/api/v1/plan").await;
    assert_eq!(plan["ops"].as_array().map(Vec::len), Some(0), "{plan:#}");
    assert_eq!(kernel_table(), programmed);
    println!("adopt: director adopted the restored table with 0 operations");
    drop(d);
    drop(keep);
    done("export");
}
