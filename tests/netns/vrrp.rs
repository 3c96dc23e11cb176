//! VRRP between directors in network namespaces on a Linux bridge (needs root).
//!
//! Each director runs in its own namespace with its own data directory; the VRRP group is declared on each
//! (the last test declares it once and lets peer sync carry it). The VIP is a real address: who holds it is read with `ip -n <ns> addr`. Failover
//! times are printed; the bounds asserted are generous (this runs on loaded machines) and only check that
//! the takeover is driven by the right timer.

use director_tests::netns::{
    director::{create_group, group, status, transitions, wait_role},
    holders, master_down_interval, skew_time, time_until_held, wait_for_holder, AddressMonitor,
    AddressWrite, Lan, Node,
};
use director_tests::{Daemon, DaemonOptions};
use director_vrrp::packet::MULTICAST_V4;
use director_vrrp::{Advertisement, Auth, Version};
use reqwest::Method;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// Added to every timing bound: scheduling on a loaded 2-core machine, `ip` polling, VIP binding.
const SLACK: Duration = Duration::from_millis(1500);
const SETTLE: Duration = Duration::from_secs(20);

async fn start(node: &Node, name: &str) -> Daemon {
    Daemon::start_with(node.daemon_options(name)).await
}

async fn restart(node: &Node, name: &str, old: &mut Daemon) -> Daemon {
    let dir = old.data_dir.clone();
    Daemon::start_with(DaemonOptions {
        data_dir: Some(dir),
        ..node.daemon_options(name)
    })
    .await
}

/// Sends SIGTERM (a graceful stop) without waiting.
fn sigterm(d: &Daemon) {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &d.pid().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -TERM {}", d.pid());
}

/// Holds for `period`: exactly `expected` of `nodes` holds `vip` at every look.
fn assert_only_holder(nodes: &[&Node], vip: IpAddr, expected: usize, period: Duration) {
    let start = Instant::now();
    while start.elapsed() < period {
        let h = holders(nodes, vip);
        assert_eq!(
            h,
            vec![expected],
            "{vip} must be held by {} alone",
            nodes[expected].ns
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn two_directors_failover_on_kill_and_preempt_on_return() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let vip = lan.vip(100);
    let mut a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let mut g = group(
        "vi-1",
        51,
        2,
        1000,
        &[vip],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    g["auth"] = json!({"type": "pass", "password": "s3cret"});
    create_group(&a, &g).await;
    create_group(&b, &g).await;

    // The highest priority is master; only it holds the VIP.
    let (who, _) = wait_for_holder(&[&na, &nb], vip, SETTLE).expect("a master takes the VIP");
    assert_eq!(who, 0, "lvs-a (150) must win");
    let sb = wait_role(&b, "vi-1", "backup", SETTLE).await;
    assert_eq!(sb["master_address"], na.ipv4.to_string());
    assert_only_holder(&[&na, &nb], vip, 0, Duration::from_secs(3));
    let sa = status(&a, "vi-1").await;
    assert_eq!(sa["role"], "master");
    assert_eq!(sa["effective_priority"], 150);
    assert_eq!(sa["split_brain"], false);
    assert_eq!(sa["malformed_packets"], 0);

    // SIGKILL of the master: the backup takes over after its Master_Down_Interval.
    let mdi = master_down_interval(2, 1000, 100);
    let t0 = Instant::now();
    a.kill9();
    let took = time_until_held(&nb, vip, t0, mdi + SLACK + Duration::from_secs(5))
        .expect("the backup takes the VIP");
    println!(
        "v2 1s: SIGKILL -> backup holds the VIP in {} ms (Master_Down_Interval {} ms)",
        took.as_millis(),
        mdi.as_millis()
    );
    assert!(
        took <= mdi + Duration::from_millis(100) + SLACK,
        "takeover after {took:?}, Master_Down_Interval {mdi:?}"
    );
    wait_role(&b, "vi-1", "master", SETTLE).await;

    // The master comes back (same data): it starts as backup without the stale VIP, then preempts.
    let a2 = restart(&na, "lvs-a", &mut a).await;
    let t1 = Instant::now();
    let took = time_until_held(&na, vip, t1, mdi + SLACK + Duration::from_secs(5))
        .expect("lvs-a preempts");
    println!(
        "preempt on return: lvs-a holds the VIP again {} ms after it answered HTTP",
        took.as_millis()
    );
    wait_role(&b, "vi-1", "backup", SETTLE).await;
    assert_only_holder(&[&na, &nb], vip, 0, Duration::from_secs(2));

    // The transitions are in the audit log (via vrrp, actor the node) and in the REST status.
    let tb = transitions(&b, "vi-1").await;
    assert_eq!(
        tb,
        [
            "init -> backup (priority 100, startup)",
            "backup -> master (priority 100, master down)",
            "master -> backup (priority 100, higher priority)",
        ]
    );
    let entry = &b
        .get("/api/v1/audit?kind=vrrp_group&via=vrrp&limit=1")
        .await["items"][0];
    assert_eq!(entry["actor"], "lvs-b");
    assert_eq!(entry["node"], "lvs-b");
    assert_eq!(entry["action"], "transition");
    assert_eq!(entry["before"], json!({"role": "master"}));
    assert_eq!(entry["after"], json!({"role": "backup"}));
    let st = b.get("/api/v1/status").await;
    assert_eq!(st["vrrp"]["enabled"], true);
    let gs = &st["vrrp"]["groups"][0];
    assert_eq!(gs["group"], "vi-1");
    assert_eq!(gs["role"], "backup");
    assert_eq!(gs["transitions"], 3);
    assert_eq!(gs["last_transition"]["to"], "backup");
    assert_eq!(gs["master_address"], na.ipv4.to_string());
    let ta = transitions(&a2, "vi-1").await;
    assert_eq!(
        ta.last().map(String::as_str),
        Some("backup -> master (priority 150, master down)")
    );
}

#[tokio::test]
async fn three_directors_the_next_priority_takes_over() {
    let mut lan = Lan::create();
    let (na, nb, nc) = (lan.add_node(1), lan.add_node(2), lan.add_node(3));
    let vip = lan.vip(100);
    let mut a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let c = start(&nc, "lvs-c").await;
    let g = group(
        "vi-3",
        33,
        3,
        200,
        &[vip],
        &[("lvs-a", 200), ("lvs-b", 150), ("lvs-c", 100)],
    );
    for d in [&a, &b, &c] {
        create_group(d, &g).await;
    }
    // The groups start one after the other: a lower priority may hold the VIP for a moment before lvs-a's
    // first advertisement (RFC 5798: its timer ran out first); lvs-a then preempts and keeps it.
    wait_for_holder(&[&na, &nb, &nc], vip, SETTLE).expect("a master");
    wait_role(&a, "vi-3", "master", SETTLE).await;
    wait_role(&b, "vi-3", "backup", SETTLE).await;
    wait_role(&c, "vi-3", "backup", SETTLE).await;
    assert_only_holder(&[&na, &nb, &nc], vip, 0, Duration::from_secs(2));

    let mdi = master_down_interval(3, 200, 150);
    let t0 = Instant::now();
    a.kill9();
    let took = time_until_held(&nb, vip, t0, mdi + SLACK + Duration::from_secs(5))
        .expect("lvs-b takes over");
    println!(
        "v3 200ms, 3 nodes: SIGKILL -> lvs-b holds the VIP in {} ms (Master_Down_Interval {} ms)",
        took.as_millis(),
        mdi.as_millis()
    );
    assert!(took <= mdi + Duration::from_millis(100) + SLACK);
    wait_role(&c, "vi-3", "backup", SETTLE).await;
    assert_only_holder(&[&nb, &nc], vip, 0, Duration::from_secs(2));
    let sc = status(&c, "vi-3").await;
    assert_eq!(sc["master_address"], nb.ipv4.to_string());
    assert_eq!(sc["transitions"], 1, "lvs-c never left backup: {sc}");
}

#[tokio::test]
async fn graceful_stop_hands_over_after_the_skew_time() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let vip = lan.vip(100);
    let mut a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let g = group(
        "vi-1",
        51,
        2,
        1000,
        &[vip],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    create_group(&a, &g).await;
    create_group(&b, &g).await;
    wait_role(&a, "vi-1", "master", SETTLE).await;
    wait_role(&b, "vi-1", "backup", SETTLE).await;

    let skew = skew_time(2, 1000, 100);
    let t0 = Instant::now();
    sigterm(&a);
    let took = time_until_held(&nb, vip, t0, Duration::from_secs(10)).expect("lvs-b takes over");
    println!(
        "v2 1s: SIGTERM -> backup holds the VIP in {} ms (Skew_Time {} ms, Master_Down_Interval {} ms)",
        took.as_millis(),
        skew.as_millis(),
        master_down_interval(2, 1000, 100).as_millis()
    );
    assert!(
        took <= skew + Duration::from_millis(100) + SLACK,
        "took {took:?}: the priority 0 advertisement was not heeded"
    );
    let exit = a.stop().expect("lvs-a exits");
    assert!(exit.success(), "lvs-a exit status {exit}");
    assert!(!na.holds(vip), "a stopped master releases its VIP");
    // The stop is audited before the daemon exits.
    let log = a.log_text();
    assert!(log.contains("master -> init"), "log of lvs-a:\n{log}");
    let a2 = restart(&na, "lvs-a", &mut a).await;
    let ta = transitions(&a2, "vi-1").await;
    assert!(
        ta.iter()
            .any(|t| t == "master -> init (priority 150, shutdown)"),
        "{ta:?}"
    );
}

#[tokio::test]
async fn nopreempt_stays_and_preempt_delay_is_honoured() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let (vip1, vip2) = (lan.vip(100), lan.vip(101));
    let mut a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let mut calm = group(
        "calm",
        61,
        3,
        200,
        &[vip1],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    calm["preempt"] = json!(false);
    let mut patient = group(
        "patient",
        62,
        3,
        200,
        &[vip2],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    patient["preempt_delay_s"] = json!(4);
    for d in [&a, &b] {
        create_group(d, &calm).await;
        create_group(d, &patient).await;
    }
    for gname in ["calm", "patient"] {
        wait_role(&a, gname, "master", SETTLE).await;
        wait_role(&b, gname, "backup", SETTLE).await;
    }

    a.kill9();
    wait_role(&b, "calm", "master", SETTLE).await;
    wait_role(&b, "patient", "master", SETTLE).await;
    // preempt_delay_s 4 counts from the instance's start, which comes after the process is spawned
    // and before the daemon answers HTTP and a login (seconds apart on a loaded machine, with a debug
    // build's argon2): so no takeover within 4 s of the spawn, then one within a
    // Master_Down_Interval of the delay's end.
    let back = Instant::now();
    let a = restart(&na, "lvs-a", &mut a).await;
    let mdi = master_down_interval(3, 200, 150);
    while back.elapsed() < Duration::from_millis(3800) {
        assert!(
            !na.holds(vip2),
            "preempted after {:?}, before the 4 s delay",
            back.elapsed()
        );
        assert!(!na.holds(vip1), "nopreempt: lvs-a must not take calm back");
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = time_until_held(
        &na,
        vip2,
        back,
        Duration::from_secs(4) + mdi + SLACK + Duration::from_secs(6),
    )
    .expect("lvs-a preempts after its delay");
    println!(
        "preempt_delay_s 4: lvs-a took patient back {} ms after it was spawned",
        took.as_millis()
    );
    assert!(took >= Duration::from_millis(3800));
    // nopreempt: the lower-priority master keeps calm.
    assert_only_holder(&[&na, &nb], vip1, 1, 3 * mdi + Duration::from_secs(1));
    assert_eq!(status(&a, "calm").await["role"], "backup");
    assert_eq!(status(&b, "calm").await["role"], "master");
}

/// A raw IPv4 socket in the root namespace that sends VRRP payloads onto the bridge.
struct Injector {
    socket: socket2::Socket,
    src: Ipv4Addr,
}

impl Injector {
    fn new(lan: &Lan) -> Injector {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket =
            Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).expect("raw socket");
        socket
            .bind_device(Some(lan.bridge.as_bytes()))
            .expect("bind to the bridge");
        socket
            .set_multicast_if_v4(&lan.host_v4)
            .expect("multicast interface");
        socket.set_multicast_loop_v4(false).expect("no loop");
        socket.set_multicast_ttl_v4(255).expect("ttl");
        Injector {
            socket,
            src: lan.host_v4,
        }
    }

    fn send(&self, payload: &[u8], ttl: u32) {
        self.socket.set_multicast_ttl_v4(ttl).expect("ttl");
        let dst = SocketAddr::new(IpAddr::V4(MULTICAST_V4), 0);
        self.socket.send_to(payload, &dst.into()).expect("send");
    }

    fn advert(&self, vrid: u8, priority: u8, auth: Auth, vip: IpAddr) -> Vec<u8> {
        Advertisement {
            version: Version::V2,
            vrid,
            priority,
            max_advert_interval: 100,
            addresses: vec![vip],
            auth,
        }
        .encode(IpAddr::V4(self.src), IpAddr::V4(MULTICAST_V4))
        .expect("encode")
    }
}

/// xorshift64*: deterministic noise without a dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn count(status: &Value, drop: &str) -> u64 {
    status["drops"][drop].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn wrong_password_wrong_vrid_and_garbage_are_dropped_and_counted() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let vip = lan.vip(100);
    let a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let mut g = group(
        "vi-1",
        51,
        2,
        1000,
        &[vip],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    g["auth"] = json!({"type": "pass", "password": "s3cret"});
    create_group(&a, &g).await;
    create_group(&b, &g).await;
    wait_role(&a, "vi-1", "master", SETTLE).await;
    wait_role(&b, "vi-1", "backup", SETTLE).await;
    let before_a = status(&a, "vi-1").await;
    let before_b = status(&b, "vi-1").await;

    let inj = Injector::new(&lan);
    let wrong_password = inj.advert(51, 254, Auth::simple("guess").unwrap(), vip);
    let no_password = inj.advert(51, 254, Auth::None, vip);
    let other_vrid = inj.advert(52, 254, Auth::simple("s3cret").unwrap(), vip);
    let routed = inj.advert(51, 254, Auth::simple("s3cret").unwrap(), vip);
    let mut noise = Noise(0x5eed_1234_abcd_9876);
    let mut garbage = 0u64;
    for _ in 0..40u64 {
        inj.send(&wrong_password, 255);
        inj.send(&no_password, 255);
        inj.send(&other_vrid, 255);
        inj.send(&routed, 64); // TTL 64: it crossed a router
        for _ in 0..10 {
            // Random bytes, and valid adverts with one byte flipped (checksum, count, version...).
            let len = (noise.next() % 64) as usize;
            inj.send(&noise.bytes(len), 255);
            let mut flipped = routed.clone();
            let at = (noise.next() as usize) % flipped.len();
            flipped[at] ^= 1 + (noise.next() % 255) as u8;
            inj.send(&flipped, 255);
            garbage += 2;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("injected 160 well-formed but wrong adverts and {garbage} malformed packets");
    std::thread::sleep(Duration::from_secs(3));

    // No flap: same roles, no new transition, the daemons answer.
    for (d, before, role) in [(&a, &before_a, "master"), (&b, &before_b, "backup")] {
        let s = status(d, "vi-1").await;
        assert_eq!(s["role"], role, "{s}");
        assert_eq!(s["transitions"], before["transitions"], "a flap: {s}");
        assert_eq!(s["split_brain"], false);
        assert!(
            count(&s, "auth_mismatch") >= 35,
            "wrong password counted: {s}"
        );
        assert!(
            count(&s, "auth_type_mismatch") >= 35,
            "missing password counted: {s}"
        );
        assert!(count(&s, "vrid_mismatch") >= 35, "other VRID counted: {s}");
        assert!(count(&s, "bad_ttl") >= 35, "TTL 64 counted: {s}");
        let malformed = s["malformed_packets"].as_u64().unwrap_or(0);
        assert!(
            malformed >= garbage * 9 / 10,
            "{malformed} of {garbage} malformed packets counted: {s}"
        );
        assert!(s["rejected_packets"].as_u64().unwrap_or(0) >= 105, "{s}");
        let (code, _) = d.call(Method::GET, "/api/v1/status", None).await;
        assert_eq!(code, 200);
    }
    assert_only_holder(&[&na, &nb], vip, 0, Duration::from_secs(1));
}

#[tokio::test]
async fn a_virtual_server_below_quorum_moves_the_vip() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let vip = lan.vip(100);
    let a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let vs = json!({
        "name": "web", "protocol": "tcp", "address": vip.to_string(), "port": 80, "quorum": 1,
        "real_servers": [{"address": "198.51.100.10", "port": 80}, {"address": "198.51.100.11", "port": 80}]
    });
    let mut g = group(
        "vi-1",
        51,
        3,
        200,
        &[vip],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    g["track"] = json!([{"virtual_server": "web", "weight": -60}]);
    for d in [&a, &b] {
        let (code, body) = d
            .call(Method::POST, "/api/v1/virtual-servers", Some(vs.clone()))
            .await;
        assert_eq!(code, 201, "{body}");
        create_group(d, &g).await;
    }
    wait_role(&a, "vi-1", "master", SETTLE).await;
    wait_role(&b, "vi-1", "backup", SETTLE).await;

    // An operator disables every real server of web on lvs-a: web is below quorum there.
    let operator = a.token_for("operator").await;
    for rs in ["198.51.100.10:80", "198.51.100.11:80"] {
        let (code, body) = a
            .call_as(
                &operator,
                Method::PATCH,
                &format!("/api/v1/virtual-servers/web/real-servers/{rs}"),
                Some(json!({"enabled": false})),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }
    let t0 = Instant::now();
    let mdi = master_down_interval(3, 200, 100);
    let took = time_until_held(&nb, vip, t0, mdi + SLACK + Duration::from_secs(5))
        .expect("lvs-b takes the VIP");
    println!(
        "track: web below quorum on lvs-a -> lvs-b holds the VIP {} ms later",
        took.as_millis()
    );
    let sa = wait_role(&a, "vi-1", "backup", SETTLE).await;
    assert_eq!(sa["effective_priority"], 90);
    assert_eq!(sa["failed_tracks"], json!(["virtual_server web (-60)"]));
    assert_only_holder(&[&na, &nb], vip, 1, Duration::from_secs(1));

    // Back above quorum: lvs-a (150) preempts again.
    let (code, body) = a
        .call_as(
            &operator,
            Method::PATCH,
            "/api/v1/virtual-servers/web/real-servers/198.51.100.10:80",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let sa = wait_role(&a, "vi-1", "master", SETTLE).await;
    assert_eq!(sa["effective_priority"], 150);
    assert_eq!(sa["failed_tracks"], json!([]));
    wait_for_holder(&[&na], vip, SETTLE).expect("lvs-a holds the VIP again");
    wait_role(&b, "vi-1", "backup", SETTLE).await;
}

#[tokio::test]
async fn a_sync_group_fails_over_together_when_a_tracked_interface_goes_down() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    for n in [&na, &nb] {
        // A second link of each node (a veth pair inside the namespace: the kernel may lack `dummy`).
        n.ip(&[
            "link",
            "add",
            "uplink",
            "type",
            "veth",
            "peer",
            "name",
            "uplink-peer",
        ]);
        n.ip(&["link", "set", "uplink-peer", "up"]);
        n.ip(&["link", "set", "uplink", "up"]);
    }
    let (vip1, vip2) = (lan.vip(100), lan.vip(101));
    let a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let mut ext = group(
        "ext",
        71,
        3,
        200,
        &[vip1],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    ext["sync_group"] = json!("nat");
    ext["track"] = json!([{"interface": "uplink", "weight": 0}]);
    let mut int = group(
        "int",
        72,
        3,
        200,
        &[vip2],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    int["sync_group"] = json!("nat");
    for d in [&a, &b] {
        create_group(d, &ext).await;
        create_group(d, &int).await;
    }
    for gname in ["ext", "int"] {
        wait_role(&a, gname, "master", SETTLE).await;
        wait_role(&b, gname, "backup", SETTLE).await;
    }

    // lvs-a loses its uplink: ext goes to fault, and int follows it, though nothing is wrong with int.
    na.ip(&["link", "set", "uplink", "down"]);
    let se = wait_role(&a, "ext", "fault", SETTLE).await;
    assert!(
        se["fault_reason"].as_str().unwrap_or("").contains("uplink"),
        "{se}"
    );
    let si = wait_role(&a, "int", "fault", SETTLE).await;
    assert!(
        si["fault_reason"]
            .as_str()
            .unwrap_or("")
            .contains("sync group"),
        "{si}"
    );
    wait_for_holder(&[&nb], vip1, SETTLE).expect("lvs-b takes ext");
    wait_for_holder(&[&nb], vip2, SETTLE).expect("lvs-b takes int");
    assert!(!na.holds(vip1) && !na.holds(vip2));

    // The uplink is back: the group leaves fault together, and lvs-a preempts both.
    na.ip(&["link", "set", "uplink", "up"]);
    wait_role(&a, "ext", "master", SETTLE).await;
    wait_role(&a, "int", "master", SETTLE).await;
    wait_role(&b, "ext", "backup", SETTLE).await;
    wait_role(&b, "int", "backup", SETTLE).await;
    let ta = transitions(&a, "int").await;
    assert!(
        ta.iter()
            .any(|t| t.starts_with("master -> fault") && t.ends_with("sync group fault)")),
        "{ta:?}"
    );
}

#[tokio::test]
async fn ipv6_v3_failover() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let vip = lan.vip6(100);
    let mut a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let g = group("v6", 42, 3, 100, &[vip], &[("lvs-a", 150), ("lvs-b", 100)]);
    create_group(&a, &g).await;
    create_group(&b, &g).await;
    let (who, _) = wait_for_holder(&[&na, &nb], vip, SETTLE).expect("a master");
    assert_eq!(who, 0);
    let sb = wait_role(&b, "v6", "backup", SETTLE).await;
    let master = sb["master_address"].as_str().unwrap_or("").to_string();
    assert!(
        master.starts_with("fe80::"),
        "v3 IPv6 adverts come from the link-local address: {sb}"
    );
    assert_only_holder(&[&na, &nb], vip, 0, Duration::from_secs(1));

    let mdi = master_down_interval(3, 100, 100);
    let t0 = Instant::now();
    a.kill9();
    let took = time_until_held(&nb, vip, t0, mdi + SLACK + Duration::from_secs(5))
        .expect("lvs-b takes the IPv6 VIP");
    println!(
        "v3 100ms IPv6: SIGKILL -> backup holds the VIP in {} ms (Master_Down_Interval {} ms)",
        took.as_millis(),
        mdi.as_millis()
    );
    assert!(took <= mdi + Duration::from_millis(100) + SLACK);
}

/// Accepts HTTP POSTs and hands their bodies over.
async fn webhook_receiver(
    listener: tokio::net::TcpListener,
    tx: tokio::sync::mpsc::UnboundedSender<Value>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let Ok(n) = conn.read(&mut chunk).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        let body = &buf[end + 4..end + 4 + length];
                        if let Ok(v) = serde_json::from_slice(body) {
                            let _ = tx.send(v);
                        }
                        let _ = conn
                            .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                }
            }
        });
    }
}

#[tokio::test]
async fn transitions_are_notified_to_a_script_and_a_webhook() {
    let mut lan = Lan::create();
    let na = lan.add_node(1);
    let vip = lan.vip(100);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(lan.host_v4), 0))
        .await
        .expect("webhook listener");
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(webhook_receiver(listener, tx));
    let out = tempfile::NamedTempFile::new().unwrap();
    let a = start(&na, "lvs-a").await;
    let mut g = group("vi-1", 51, 3, 100, &[vip], &[("lvs-a", 120)]);
    g["notify"] = json!({
        "webhook": hook,
        "script": ["/bin/sh", "-c", format!("echo \"$@\" >> {}", out.path().display()), "notify"]
    });
    create_group(&a, &g).await;
    wait_role(&a, "vi-1", "master", SETTLE).await;

    let mut seen = Vec::new();
    while seen.len() < 2 {
        let v = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("webhook called")
            .expect("receiver alive");
        seen.push(v);
    }
    assert_eq!(seen[0]["to"], "backup");
    assert_eq!(seen[1]["from"], "backup");
    assert_eq!(seen[1]["to"], "master");
    assert_eq!(seen[1]["state"], "MASTER");
    assert_eq!(seen[1]["group"], "vi-1");
    assert_eq!(seen[1]["node"], "lvs-a");
    assert_eq!(seen[1]["priority"], 120);
    assert_eq!(seen[1]["reason"], "master down");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let calls = std::fs::read_to_string(out.path()).unwrap_or_default();
        if calls.lines().count() >= 2 {
            assert_eq!(calls, "GROUP vi-1 BACKUP 120\nGROUP vi-1 MASTER 120\n");
            break;
        }
        assert!(Instant::now() < deadline, "notify script calls: {calls:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn split_brain_is_reported_while_another_master_advertises() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let vip = lan.vip(100);
    let a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let g = group(
        "vi-1",
        51,
        2,
        1000,
        &[vip],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    create_group(&a, &g).await;
    create_group(&b, &g).await;
    wait_role(&a, "vi-1", "master", SETTLE).await;
    wait_role(&b, "vi-1", "backup", SETTLE).await;

    // A rogue master of lower priority that does not hear us keeps advertising.
    let inj = Injector::new(&lan);
    let rogue = inj.advert(51, 120, Auth::None, vip);
    let mut a_saw = false;
    let mut b_saw = false;
    for _ in 0..20 {
        inj.send(&rogue, 255);
        std::thread::sleep(Duration::from_millis(250));
        a_saw |= status(&a, "vi-1").await["split_brain"] == true;
        b_saw |= status(&b, "vi-1").await["split_brain"] == true;
    }
    assert!(
        a_saw,
        "the master reports the other master: {}",
        status(&a, "vi-1").await
    );
    assert!(
        b_saw,
        "the backup hears two masters: {}",
        status(&b, "vi-1").await
    );
    let sa = status(&a, "vi-1").await;
    assert_eq!(sa["other_master"], lan.host_v4.to_string());
    assert_eq!(sa["role"], "master", "the master reasserts itself: {sa}");
    assert!(a.log_text().contains("SPLIT BRAIN"));

    // The rogue goes quiet: the split brain is over after a few intervals.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (sa, sb) = (status(&a, "vi-1").await, status(&b, "vi-1").await);
        if sa["split_brain"] == false && sb["split_brain"] == false {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "split brain never cleared: {sa} {sb}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_only_holder(&[&na, &nb], vip, 0, Duration::from_secs(1));
}

/// The MAC address of the node's eth0.
fn mac_of(node: &Node) -> String {
    let out = node.ip(&["-o", "link", "show", "eth0"]);
    out.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// The link-layer address `client` has for `addr` in its neighbour table.
fn neighbour(client: &Node, addr: IpAddr) -> String {
    let out = client.ip(&["neigh", "show", &addr.to_string(), "dev", "eth0"]);
    out.split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn clients_follow_the_vip_thanks_to_gratuitous_arp_and_neighbour_advertisements() {
    let mut lan = Lan::create();
    let (na, nb, client) = (lan.add_node(1), lan.add_node(2), lan.add_node(50));
    let (vip4, vip6) = (lan.vip(100), lan.vip6(100));
    let mut a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let g4 = group("v4", 51, 3, 100, &[vip4], &[("lvs-a", 150), ("lvs-b", 100)]);
    let g6 = group("v6", 52, 3, 100, &[vip6], &[("lvs-a", 150), ("lvs-b", 100)]);
    for d in [&a, &b] {
        create_group(d, &g4).await;
        create_group(d, &g6).await;
    }
    wait_role(&a, "v4", "master", SETTLE).await;
    wait_role(&a, "v6", "master", SETTLE).await;
    wait_role(&b, "v6", "backup", SETTLE).await;
    // The client talks to the VIPs (a UDP datagram each): its neighbour table points them at lvs-a.
    client.ip(&["neigh", "flush", "dev", "eth0"]);
    for vip in [vip4, vip6] {
        let deadline = Instant::now() + Duration::from_secs(5);
        while neighbour(&client, vip).is_empty() {
            let _ = client
                .command("bash")
                .args(["-c", &format!("echo hello > /dev/udp/{vip}/9")])
                .stderr(std::process::Stdio::null())
                .status();
            assert!(Instant::now() < deadline, "the client never resolved {vip}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let (mac_a, mac_b) = (mac_of(&na), mac_of(&nb));
    assert_eq!(neighbour(&client, vip4), mac_a);
    assert_eq!(neighbour(&client, vip6), mac_a);

    // lvs-a dies; lvs-b announces the VIPs, and the client's entries move without it asking.
    a.kill9();
    for vip in [vip4, vip6] {
        wait_for_holder(&[&nb], vip, SETTLE).expect("lvs-b takes over");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while neighbour(&client, vip4) != mac_b || neighbour(&client, vip6) != mac_b {
        assert!(
            Instant::now() < deadline,
            "the client still sends to {} / {} (lvs-b is {mac_b})",
            neighbour(&client, vip4),
            neighbour(&client, vip6)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_changed_group_is_applied_in_place_and_a_deleted_one_hands_over() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let (vip1, vip2) = (lan.vip(100), lan.vip(101));
    let a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let g = group(
        "vi-1",
        51,
        3,
        200,
        &[vip1],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    create_group(&a, &g).await;
    create_group(&b, &g).await;
    wait_role(&a, "vi-1", "master", SETTLE).await;
    wait_role(&b, "vi-1", "backup", SETTLE).await;

    // A second VIP on the master: bound at once, without a transition.
    let both = json!({"virtual_addresses": [vip1.to_string(), vip2.to_string()]});
    for d in [&a, &b] {
        let (code, body) = d
            .call(
                Method::PATCH,
                "/api/v1/vrrp-groups/vi-1",
                Some(both.clone()),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }
    wait_for_holder(&[&na], vip2, SETTLE).expect("the master binds the new VIP");
    let sa = status(&a, "vi-1").await;
    assert_eq!(sa["transitions"], 2, "init -> backup -> master only: {sa}");

    // Its priority drops below lvs-b's on lvs-a: lvs-b preempts with both VIPs.
    let lower = json!({"members": [
        {"node": "lvs-a", "interface": "eth0", "priority": 50},
        {"node": "lvs-b", "interface": "eth0", "priority": 100}]});
    let (code, body) = a
        .call(Method::PATCH, "/api/v1/vrrp-groups/vi-1", Some(lower))
        .await;
    assert_eq!(code, 200, "{body}");
    wait_role(&b, "vi-1", "master", SETTLE).await;
    let sa = wait_role(&a, "vi-1", "backup", SETTLE).await;
    assert_eq!(sa["priority"], 50);
    for vip in [vip1, vip2] {
        wait_for_holder(&[&nb], vip, SETTLE).expect("lvs-b holds both");
        assert!(!na.holds(vip));
    }

    // Deleting the group on the master: it says goodbye (priority 0) and lvs-a takes over at once.
    let (code, body) = b
        .call(Method::DELETE, "/api/v1/vrrp-groups/vi-1", None)
        .await;
    assert_eq!(code, 204, "{body}");
    let t0 = Instant::now();
    let took = time_until_held(&na, vip1, t0, Duration::from_secs(10)).expect("lvs-a takes over");
    println!(
        "group deleted on the master: lvs-a holds the VIP {} ms later",
        took.as_millis()
    );
    assert!(took <= skew_time(3, 200, 50) + Duration::from_millis(100) + SLACK);
    assert!(!nb.holds(vip1) && !nb.holds(vip2));
    let st = b.get("/api/v1/status").await;
    assert_eq!(st["vrrp"]["groups"], json!([]));
}

#[tokio::test]
async fn unicast_peers_instead_of_multicast() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let vip = lan.vip(100);
    let mut a = start(&na, "lvs-a").await;
    let b = start(&nb, "lvs-b").await;
    let g = json!({
        "name": "uni", "vrid": 9, "version": 3, "advert_interval_ms": 200,
        "virtual_addresses": [vip.to_string()],
        "members": [
            {"node": "lvs-a", "interface": "eth0", "priority": 150, "unicast_peers": [nb.ipv4.to_string()]},
            {"node": "lvs-b", "interface": "eth0", "priority": 100, "unicast_peers": [na.ipv4.to_string()]}
        ]
    });
    create_group(&a, &g).await;
    create_group(&b, &g).await;
    wait_role(&a, "uni", "master", SETTLE).await;
    let sb = wait_role(&b, "uni", "backup", SETTLE).await;
    assert_eq!(sb["master_address"], na.ipv4.to_string());
    assert_only_holder(&[&na, &nb], vip, 0, Duration::from_secs(2));
    let t0 = Instant::now();
    a.kill9();
    let took = time_until_held(&nb, vip, t0, Duration::from_secs(10)).expect("lvs-b takes over");
    println!(
        "unicast v3 200ms: SIGKILL -> backup holds the VIP in {} ms",
        took.as_millis()
    );
}

/// Peer sync across the LAN: the group is declared once, on lvs-a; lvs-b receives it and runs only its own
/// member (its priority), lvs-a only its own.
#[tokio::test]
async fn a_group_declared_on_one_node_reaches_the_other_which_runs_its_own_member() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let vip = lan.vip(100);
    let peers = format!("lvs-a={}:50052,lvs-b={}:50052", na.ipv4, nb.ipv4);
    let pki = director_tests::pki::Pki::new();
    let synced = |node: &Node, name: &str| DaemonOptions {
        peer_port: Some(50052),
        extra_args: [vec!["--peers".into(), peers.clone()], pki.peer_args(name)].concat(),
        ..node.daemon_options(name)
    };
    let a = Daemon::start_with(synced(&na, "lvs-a")).await;
    let b = Daemon::start_with(synced(&nb, "lvs-b")).await;
    let g = group(
        "vi-s",
        61,
        3,
        200,
        &[vip],
        &[("lvs-a", 150), ("lvs-b", 100)],
    );
    create_group(&a, &g).await;
    let deadline = Instant::now() + SETTLE;
    while b
        .call(Method::GET, "/api/v1/vrrp-groups/vi-s", None)
        .await
        .0
        != 200
    {
        assert!(Instant::now() < deadline, "the group never reached lvs-b");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sa = wait_role(&a, "vi-s", "master", SETTLE).await;
    let sb = wait_role(&b, "vi-s", "backup", SETTLE).await;
    assert_eq!(sa["effective_priority"], 150, "lvs-a runs its own member");
    assert_eq!(sb["effective_priority"], 100, "lvs-b runs its own member");
    assert_eq!(sb["master_address"], na.ipv4.to_string());
    assert_only_holder(&[&na, &nb], vip, 0, Duration::from_secs(2));
    // The audit entry of the creation on lvs-b keeps the node it was made on.
    let e = &b
        .get("/api/v1/audit?kind=vrrp_group&action=create&limit=1")
        .await["items"][0];
    assert_eq!(e["node"], "lvs-a");
}

/// The VRRP entries of `d`'s audit log (`source=vrrp`), newest first, once `ready` holds of them (bounded).
async fn vrrp_entries(d: &Daemon, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let body = d.get("/api/v1/audit?source=vrrp&limit=1000").await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        if ready(&items) {
            return items;
        }
        assert!(start.elapsed() < SETTLE, "VRRP audit entries: {items:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_first_roles_after_a_start_are_one_audit_entry() {
    let mut lan = Lan::create();
    let na = lan.add_node(1);
    let mut a = start(&na, "lvs-a").await;
    for (name, vrid, host) in [("vi-1", 51, 100), ("vi-2", 52, 101)] {
        let g = group(name, vrid, 3, 100, &[lan.vip(host)], &[("lvs-a", 100)]);
        create_group(&a, &g).await;
    }
    wait_role(&a, "vi-1", "master", SETTLE).await;
    wait_role(&a, "vi-2", "master", SETTLE).await;
    a.stop();

    // Both groups start with the daemon: their first roles are one entry, their masterships one each.
    let a2 = restart(&na, "lvs-a", &mut a).await;
    let entries = vrrp_entries(&a2, |items| {
        items
            .iter()
            .position(|e| e["object"] == "*")
            .is_some_and(|burst| {
                items[..burst]
                    .iter()
                    .filter(|e| {
                        e["summary"]
                            .as_str()
                            .is_some_and(|s| s.starts_with("backup -> master"))
                    })
                    .count()
                    == 2
            })
    })
    .await;
    let burst_at = entries.iter().position(|e| e["object"] == "*").unwrap_or(0);
    let burst = &entries[burst_at];
    assert_eq!(burst["summary"], "vrrp: 2 groups init -> backup", "{burst}");
    assert_eq!(burst["kind"], "vrrp_group");
    assert_eq!(burst["via"], "vrrp");
    assert_eq!(burst["source"], "vrrp");
    assert_eq!(burst["actor"], "lvs-a");
    assert_eq!(burst["before"], json!({"role": "init"}));
    for g in ["vi-1", "vi-2"] {
        assert_eq!(
            burst["after"]["vrrp_groups"][g],
            json!({"role": "backup", "priority": 100, "reason": "startup"})
        );
    }
    let since: Vec<&str> = entries[..burst_at]
        .iter()
        .filter_map(|e| e["summary"].as_str())
        .collect();
    assert_eq!(since.len(), 2, "nothing but the two masterships: {since:?}");
    // Off the default view.
    let changes = a2.get("/api/v1/audit?limit=1000").await;
    assert!(
        changes["items"]
            .as_array()
            .is_some_and(|i| i.iter().all(|e| e["via"] != "vrrp")),
        "{changes:#}"
    );
}

/// The number of reconcile passes `d` has run.
async fn passes(d: &Daemon) -> u64 {
    d.get("/api/v1/status").await["reconciler"]["passes"]
        .as_u64()
        .unwrap_or(0)
}

/// Waits until `d` has run `n` more reconcile passes (bounded): whatever they would write is written.
async fn more_passes(d: &Daemon, n: u64) {
    let start = passes(d).await;
    let deadline = Instant::now() + SETTLE;
    while passes(d).await < start + n {
        assert!(
            Instant::now() < deadline,
            "the reconciler of {} stalled",
            d.url("")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One writer, one write: the kernel's own notifications of lvs-b's address changes show each VIP added once
/// when it takes over and deleted once when it steps down, with passes running in between (no add, delete,
/// add again).
#[tokio::test]
async fn a_takeover_adds_each_vip_once_and_a_step_down_deletes_each_once() {
    let mut lan = Lan::create();
    let (na, nb) = (lan.add_node(1), lan.add_node(2));
    let vips = [lan.vip(100), lan.vip(101)];
    let mut a = start(&na, "lvs-a").await;
    let b = Daemon::start_with(DaemonOptions {
        extra_args: vec!["--resync-interval".into(), "200ms".into()],
        ..nb.daemon_options("lvs-b")
    })
    .await;
    let g = group("vi-1", 51, 3, 100, &vips, &[("lvs-a", 150), ("lvs-b", 100)]);
    create_group(&a, &g).await;
    create_group(&b, &g).await;
    wait_role(&a, "vi-1", "master", SETTLE).await;
    wait_role(&b, "vi-1", "backup", SETTLE).await;
    for vip in vips {
        wait_for_holder(&[&na], vip, SETTLE).expect("lvs-a holds the VIPs");
        assert!(!nb.holds(vip), "the backup holds no VIP");
    }
    let monitor = AddressMonitor::start(&nb);

    // Takeover.
    a.kill9();
    wait_role(&b, "vi-1", "master", SETTLE).await;
    for vip in vips {
        wait_for_holder(&[&nb], vip, SETTLE).expect("lvs-b takes the VIPs");
    }
    more_passes(&b, 3).await;
    let added = monitor.writes(&vips);
    assert_eq!(
        added.len(),
        2,
        "one add per VIP on takeover, nothing else: {added:?}"
    );
    for vip in vips {
        assert!(added.contains(&AddressWrite::Added(vip)), "{added:?}");
    }

    // Step-down: lvs-a returns with its higher priority and preempts.
    let _a2 = restart(&na, "lvs-a", &mut a).await;
    wait_role(&b, "vi-1", "backup", SETTLE).await;
    let deadline = Instant::now() + SETTLE;
    while vips.iter().any(|v| nb.holds(*v)) {
        assert!(Instant::now() < deadline, "lvs-b keeps a VIP as backup");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    more_passes(&b, 3).await;
    let writes = monitor.writes(&vips);
    assert_eq!(
        writes.len(),
        4,
        "one add per VIP, then one delete per VIP: {writes:?}"
    );
    assert_eq!(&writes[..2], &added[..]);
    for vip in vips {
        assert!(
            writes[2..].contains(&AddressWrite::Deleted(vip)),
            "{writes:?}"
        );
    }
    wait_for_holder(&[&na], vips[0], SETTLE).expect("lvs-a holds the VIPs again");
}
