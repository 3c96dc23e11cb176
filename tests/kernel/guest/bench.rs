//! The kernel benchmark: 1,000 services x 10 destinations programmed into an empty table by director versus
//! `ipvsadm-restore` of the same rules, side by side; then a no-op pass at that size, and the operations of a
//! single weight change. Not a test: it prints figures.

use crate::util::*;
use reqwest::Method;
use serde_json::json;
use std::time::Instant;

const SERVICES: usize = 1000;
const DESTS: usize = 10;

fn vip(i: usize) -> String {
    format!("10.100.{}.{}", i / 250, i % 250 + 1)
}

fn rs(i: usize, j: usize) -> String {
    format!("10.{}.{}.{}", 128 + i / 250, i % 250, j + 1)
}

pub async fn run() {
    // ipvsadm-restore of the same rules.
    let mut rules = String::new();
    for i in 0..SERVICES {
        rules.push_str(&format!("-A -t {}:80 -s wrr\n", vip(i)));
        for j in 0..DESTS {
            rules.push_str(&format!("-a -t {}:80 -r {}:80 -g -w 1\n", vip(i), rs(i, j)));
        }
    }
    std::fs::write("/tmp/rules", &rules).expect("rules");
    let mut restore = Vec::new();
    for _ in 0..3 {
        sh("ipvsadm -C");
        let t = Instant::now();
        sh("ipvsadm-restore < /tmp/rules");
        restore.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    assert_eq!(ipvsadm_rules().len(), SERVICES * (DESTS + 1));
    sh("ipvsadm -C");

    // Load the same desired state (without a dataplane), then let director program it.
    let mut d = start("none", None, &[]).await;
    let keep = d.keep_data();
    for i in 0..SERVICES {
        let real: Vec<_> = (0..DESTS)
            .map(|j| json!({"address": rs(i, j), "port": 80}))
            .collect();
        must(&d, Method::POST, "/api/v1/virtual-servers", Some(json!({"name": format!("svc-{i}"), "protocol": "tcp",
            "address": vip(i), "port": 80, "scheduler": "wrr", "forwarding": "dr", "real_servers": real}))).await;
    }
    d.stop();
    let dir = d.data_path().to_path_buf();
    drop(d);
    let mut director = Vec::new();
    let mut noop = Vec::new();
    let mut weight_ops = String::new();
    for round in 0..3 {
        sh("ipvsadm -C");
        let _ = std::fs::remove_file(dir.join("ipvs-owned.json"));
        let mut d = start("ipvs", Some(dir.clone()), &["--resync-interval", "2s"]).await;
        let s = wait_applied(&d).await;
        director.push(
            s["reconciler"]["last_change"]["duration_us"]
                .as_f64()
                .unwrap_or(0.0)
                / 1000.0,
        );
        assert_eq!(ipvsadm_rules().len(), SERVICES * (DESTS + 1));
        let s = wait_passes(&d, 2).await;
        assert!(s["reconciler"]["last_pass"]["ops"]
            .as_object()
            .is_none_or(|o| o.is_empty()));
        noop.push(
            s["reconciler"]["last_pass"]["duration_us"]
                .as_f64()
                .unwrap_or(0.0)
                / 1000.0,
        );
        if round == 0 {
            let before = status(&d).await;
            must(
                &d,
                Method::PATCH,
                "/api/v1/virtual-servers/svc-500/real-servers/10.130.0.1:80",
                Some(json!({"weight": 5})),
            )
            .await;
            let after = wait_applied(&d).await;
            weight_ops = format!("{:?}", ops_delta(&before, &after));
        }
        d.stop();
    }
    drop(keep);
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (r, dt, n) = (med(&mut restore), med(&mut director), med(&mut noop));
    println!(
        "BENCH services={SERVICES} destinations_per_service={DESTS} rules={}",
        SERVICES * (DESTS + 1)
    );
    println!("BENCH ipvsadm-restore full apply: median {r:.1} ms (runs {restore:.1?})");
    println!("BENCH director full apply (first pass: dump + plan + apply): median {dt:.1} ms (runs {director:.1?})");
    println!("BENCH ratio director/ipvsadm-restore: {:.2}", dt / r);
    println!(
        "BENCH director no-op pass (dump + diff): median {n:.1} ms = {:.1}% of the full apply",
        100.0 * n / dt
    );
    println!("BENCH single weight change: {weight_ops}");
    done("bench");
}
