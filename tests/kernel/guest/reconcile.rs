//! The reconciler against the real kernel: every scheduler, every forwarding method, persistence, fwmark,
//! IPv6; minimal operations; drift repaired; unmanaged services left alone; a restart that re-creates nothing.

use crate::util::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const SCHEDULERS: [&str; 13] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
];

pub async fn run() {
    sh("ip link add dir0 type dummy && ip link set dir0 up");
    let mut d = start(
        "ipvs",
        None,
        &["--resync-interval", "1s", "--vip-interface", "dir0"],
    )
    .await;
    let keep = d.keep_data();

    // Every scheduler the kernel has, with the forwarding methods in turn.
    let mut expected = Vec::new();
    for (i, sched) in SCHEDULERS.iter().enumerate() {
        let (fwd, flag) = [("nat", "-m"), ("dr", "-g"), ("tunnel", "-i")][i % 3];
        let tun = if fwd == "tunnel" {
            " --tun-type ipip"
        } else {
            ""
        };
        let vip = format!("10.10.0.{}", i + 1);
        let vs = json!({"name": format!("s-{sched}"), "protocol": "tcp", "address": vip, "port": 80,
            "scheduler": sched, "forwarding": fwd,
            "real_servers": [{"address": format!("10.20.{i}.1"), "port": 80, "weight": 2},
                             {"address": format!("10.20.{i}.2"), "port": 80, "weight": 1}]});
        must(&d, Method::POST, "/api/v1/virtual-servers", Some(vs)).await;
        expected.push(format!("-A -t {vip}:80 -s {sched}"));
        expected.push(format!("-a -t {vip}:80 -r 10.20.{i}.1:80 {flag} -w 2{tun}"));
        expected.push(format!("-a -t {vip}:80 -r 10.20.{i}.2:80 {flag} -w 1{tun}"));
    }
    // Persistence with a netmask, UDP, one-packet, scheduler flags, fwmark, IPv6.
    must(&d, Method::POST, "/api/v1/virtual-servers", Some(json!({"name": "persist", "protocol": "tcp", "address": "10.10.1.1",
        "port": 443, "scheduler": "wlc", "forwarding": "dr", "persistence": {"timeout_s": 300, "netmask": "255.255.255.0"},
        "real_servers": [{"address": "10.20.100.1", "port": 443, "weight": 5, "upper_threshold": 100, "lower_threshold": 10}]}))).await;
    expected.push("-A -t 10.10.1.1:443 -s wlc -p 300 -M 255.255.255.0".into());
    // ipvsadm -Sn does not print thresholds; they are checked with --thresholds below.
    expected.push("-a -t 10.10.1.1:443 -r 10.20.100.1:443 -g -w 5".into());
    must(&d, Method::POST, "/api/v1/virtual-servers", Some(json!({"name": "dns", "protocol": "udp", "address": "10.10.1.2",
        "port": 53, "scheduler": "sh", "scheduler_flags": ["sh-port", "sh-fallback"], "one_packet": true, "forwarding": "nat",
        "real_servers": [{"address": "10.20.101.1", "port": 5353}]}))).await;
    expected.push("-A -u 10.10.1.2:53 -s sh -o -b sh-fallback,sh-port".into());
    expected.push("-a -u 10.10.1.2:53 -r 10.20.101.1:5353 -m -w 1".into());
    must(
        &d,
        Method::POST,
        "/api/v1/virtual-servers",
        Some(json!({"name": "mark", "fwmark": 7, "family": "inet",
        "scheduler": "rr", "real_servers": [{"address": "10.20.102.1", "port": 0}]})),
    )
    .await;
    expected.push("-A -f 7 -s rr".into());
    expected.push("-a -f 7 -r 10.20.102.1:0 -g -w 1".into());
    must(
        &d,
        Method::POST,
        "/api/v1/virtual-servers",
        Some(
            json!({"name": "v6", "protocol": "tcp", "address": "2001:db8::80",
        "port": 80, "scheduler": "wrr", "forwarding": "nat",
        "real_servers": [{"address": "2001:db8:1::1", "port": 8080, "weight": 3}]}),
        ),
    )
    .await;
    expected.push("-A -t [2001:db8::80]:80 -s wrr".into());
    expected.push("-a -t [2001:db8::80]:80 -r [2001:db8:1::1]:8080 -m -w 3".into());
    wait_applied(&d).await;
    let mut want = expected.clone();
    want.sort();
    assert_eq!(
        ipvsadm_rules(),
        want,
        "ipvsadm -Sn differs from what was declared"
    );
    println!("ipvsadm -Sn matches {} rules", want.len());
    let thresholds = sh("ipvsadm -Ln --thresholds -t 10.10.1.1:443");
    let row = thresholds
        .lines()
        .find(|l| l.contains("10.20.100.1:443"))
        .unwrap_or_default()
        .to_string();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert!(
        cols.contains(&"100") && cols.contains(&"10"),
        "upper/lower thresholds 100/10 in: {thresholds}"
    );

    // Director's own dump, written as ipvsadm rules, is the same table.
    let dp = d.get("/api/v1/dataplane").await;
    assert_eq!(
        dump_as_rules(&dp["table"]),
        want,
        "director's dump differs from ipvsadm's"
    );
    // VIPs of virtual servers without a VRRP group are on the VIP interface, labelled as director's.
    let addrs = sh("ip -4 addr show dev dir0");
    assert!(
        addrs.contains("10.10.0.1/32") && addrs.contains("dir0:dir"),
        "{addrs}"
    );
    let ls = sh("ipvsadm -Ln");
    println!("{ls}");

    // A twos service needs Linux 6.2: the failure is reported, the rest keeps working.
    must(
        &d,
        Method::POST,
        "/api/v1/virtual-servers",
        Some(
            json!({"name": "twos", "protocol": "tcp", "address": "10.10.2.1",
        "port": 80, "scheduler": "twos"}),
        ),
    )
    .await;
    let s = wait_passes(&d, 1).await;
    let errors = s["reconciler"]["last_pass"]["errors"].to_string();
    assert!(
        errors.contains("10.10.2.1"),
        "the failing operation is named: {errors}"
    );
    assert_ne!(
        s["applied_revision"], s["revision"],
        "a failed pass does not claim the revision"
    );
    assert_eq!(s["reconciler"]["failing"], true, "{s:#}");
    assert_eq!(
        s["reconciler"]["last_failure"]["revision"], s["revision"],
        "{s:#}"
    );
    // The node says it is not ready, and why; the metrics agree.
    let r = d.http.get(d.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let why: Value = r.json().await.unwrap();
    assert_eq!(why["reasons"][0]["check"], "reconcile", "{why}");
    assert!(
        why["reasons"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("10.10.2.1")),
        "{why}"
    );
    let metrics = d
        .http
        .get(d.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(value("director_reconcile_failing"), 1.0);
    assert!(value("director_reconcile_errors_total") >= 1.0);
    assert_eq!(
        Some(value("director_applied_revision") as u64),
        s["applied_revision"].as_u64(),
        "the applied revision stays where it was"
    );
    must(&d, Method::DELETE, "/api/v1/virtual-servers/twos", None).await;
    let s = wait_applied(&d).await;
    assert_eq!(s["reconciler"]["failing"], false);
    assert_eq!(
        d.http.get(d.url("/readyz")).send().await.unwrap().status(),
        200
    );

    // Minimal operations: one SET_DEST, one SET_SERVICE, one DEL_DEST.
    let rs = "/api/v1/virtual-servers/s-wrr/real-servers/10.20.1.1:80";
    let before = status(&d).await;
    must(&d, Method::PATCH, rs, Some(json!({"weight": 7}))).await;
    let after = wait_applied(&d).await;
    assert_eq!(
        ops_delta(&before, &after),
        BTreeMap::from([("set_dest".to_string(), 1)])
    );
    assert!(ipvsadm_rules().contains(&"-a -t 10.10.0.2:80 -r 10.20.1.1:80 -g -w 7".to_string()));
    must(
        &d,
        Method::PATCH,
        "/api/v1/virtual-servers/s-wrr",
        Some(json!({"scheduler": "lc"})),
    )
    .await;
    let after2 = wait_applied(&d).await;
    assert_eq!(
        ops_delta(&after, &after2),
        BTreeMap::from([("set_service".to_string(), 1)])
    );
    assert!(ipvsadm_rules().contains(&"-A -t 10.10.0.2:80 -s lc".to_string()));
    must(&d, Method::DELETE, rs, None).await;
    let after3 = wait_applied(&d).await;
    assert_eq!(
        ops_delta(&after2, &after3),
        BTreeMap::from([("del_dest".to_string(), 1)])
    );
    assert!(!ipvsadm_rules().iter().any(|l| l.contains("10.20.1.1:80")));
    println!("minimal operations: set_dest 1, set_service 1, del_dest 1");

    // Drift made by hand is repaired on the next pass.
    sh("ipvsadm -D -t 10.10.0.1:80");
    sh("ipvsadm -e -t 10.10.0.3:80 -r 10.20.2.1:80 -i -w 9");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let rules = ipvsadm_rules();
        if rules.contains(&"-A -t 10.10.0.1:80 -s rr".to_string())
            && rules
                .contains(&"-a -t 10.10.0.3:80 -r 10.20.2.1:80 -i -w 2 --tun-type ipip".to_string())
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "drift not repaired: {rules:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    println!("drift repaired");

    // An unmanaged service survives every pass and is reported.
    sh("ipvsadm -A -t 10.99.0.1:8080 -s rr && ipvsadm -a -t 10.99.0.1:8080 -r 10.99.1.1:8080 -m");
    let s = wait_passes(&d, 3).await;
    assert!(ipvsadm_rules().contains(&"-A -t 10.99.0.1:8080 -s rr".to_string()));
    assert!(
        s["reconciler"]["last_pass"]["unmanaged"]
            .to_string()
            .contains("10.99.0.1:8080"),
        "{s:#}"
    );
    let plan = d.get("/api/v1/plan").await;
    assert_eq!(plan["ops"].as_array().map(Vec::len), Some(0), "{plan:#}");
    assert!(plan["unmanaged"].to_string().contains("tcp 10.99.0.1:8080"));

    // Restart: stop leaves the table in place; start adopts it without re-creating anything.
    let table = ipvsadm_rules();
    let counters_before = sh("ipvsadm -Ln --stats | wc -l");
    assert!(d.stop().is_some_and(|s| s.success()), "clean stop");
    assert_eq!(
        ipvsadm_rules(),
        table,
        "stopping flushed or changed the table"
    );
    let dir = d.data_path().to_path_buf();
    drop(d);
    let d = start(
        "ipvs",
        Some(dir),
        &["--resync-interval", "1s", "--vip-interface", "dir0"],
    )
    .await;
    let s = wait_applied(&d).await;
    let s2 = wait_passes(&d, 2).await;
    assert!(
        ops(&s).is_empty() && ops(&s2).is_empty(),
        "a restart re-created or changed something: {:?}",
        ops(&s2)
    );
    assert_eq!(ipvsadm_rules(), table);
    assert_eq!(sh("ipvsadm -Ln --stats | wc -l"), counters_before);
    println!("restart: no operation, table untouched");

    // Deleting a virtual server removes its service and its VIP, nothing else.
    must(&d, Method::DELETE, "/api/v1/virtual-servers/s-rr", None).await;
    wait_applied(&d).await;
    let rules = ipvsadm_rules();
    assert!(!rules.iter().any(|l| l.contains("10.10.0.1:80")));
    assert!(rules.contains(&"-A -t 10.99.0.1:8080 -s rr".to_string()));
    assert!(!sh("ip -4 addr show dev dir0").contains("10.10.0.1/32"));

    // --clear-on-stop removes what director owns, and only that.
    let mut d = d;
    d.stop();
    let dir = d.data_path().to_path_buf();
    drop(d);
    let mut d = start(
        "ipvs",
        Some(dir),
        &[
            "--resync-interval",
            "1s",
            "--vip-interface",
            "dir0",
            "--clear-on-stop",
        ],
    )
    .await;
    wait_applied(&d).await;
    assert!(d.stop().is_some_and(|s| s.success()));
    assert_eq!(
        ipvsadm_rules(),
        [
            "-A -t 10.99.0.1:8080 -s rr",
            "-a -t 10.99.0.1:8080 -r 10.99.1.1:8080 -m -w 1"
        ],
        "only the unmanaged service is left"
    );
    assert!(
        !sh("ip -4 addr show dev dir0").contains("dir0:dir"),
        "director's VIPs are gone"
    );
    println!("clear on stop: only the unmanaged service is left");
    drop(keep);
    done("reconcile");
}

/// The table of `/api/v1/dataplane` written as `ipvsadm -Sn` would print it, sorted.
fn dump_as_rules(table: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for e in table["services"].as_array().into_iter().flatten() {
        let s = &e["service"];
        let k = &s["key"];
        let endpoint = |addr: &serde_json::Value, port: &serde_json::Value| {
            let a = addr.as_str().unwrap_or_default();
            if a.contains(':') {
                format!("[{a}]:{port}")
            } else {
                format!("{a}:{port}")
            }
        };
        let svc = match k["type"].as_str() {
            Some("fwmark") => format!("-f {}", k["mark"]),
            _ => {
                let p = match k["protocol"].as_str() {
                    Some("udp") => "-u",
                    Some("sctp") => "--sctp-service",
                    _ => "-t",
                };
                format!("{p} {}", endpoint(&k["address"], &k["port"]))
            }
        };
        let mut line = format!(
            "-A {svc} -s {}",
            s["scheduler"].as_str().unwrap_or_default()
        );
        let f = &s["flags"];
        if f["persistent"] == true {
            line += &format!(" -p {}", s["timeout"]);
            if let Some(m) = s["netmask"]
                .as_u64()
                .filter(|m| *m != u64::from(u32::MAX) && *m != 128)
            {
                line += &format!(" -M {}", std::net::Ipv4Addr::from(m as u32));
            }
        }
        if f["one_packet"] == true {
            line += " -o";
        }
        let flags: Vec<&str> = [("sched_flag_1", "sh-fallback"), ("sched_flag_2", "sh-port")]
            .iter()
            .filter(|(k, _)| f[*k] == true)
            .map(|(_, n)| *n)
            .collect();
        if !flags.is_empty() {
            line += &format!(" -b {}", flags.join(","));
        }
        out.push(line);
        for d in e["destinations"].as_array().into_iter().flatten() {
            let d = &d["destination"];
            let (fwd, tun) = match d["forwarding"].as_str() {
                Some("masq") => ("-m", ""),
                Some("tunnel") => ("-i", " --tun-type ipip"),
                _ => ("-g", ""),
            };
            out.push(format!(
                "-a {svc} -r {} {fwd} -w {}{tun}",
                endpoint(&d["address"], &d["port"]),
                d["weight"]
            ));
        }
    }
    out.sort();
    out
}
