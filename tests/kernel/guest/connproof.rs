//! Connections that survive a failover, in the real kernel (issue 17): two load balancers in network
//! namespaces (each has its own IPVS), a client and four real servers in others, a DR and a NAT virtual server.
//! Long-lived TCP connections are opened through the VIPs and keep exchanging requests; then the master moves:
//! planned (it gives up mastership) and, separately, crashed (every process of its namespace SIGKILLed and
//! its links cut, as a host that dies). A connection survives when it goes on answering from the real server
//! it started on; one reset, answered by another real server, or silent for 30 s after the takeover, is lost.
//! The same scenario runs with director (`connection_sync`) and with keepalived (`lvs_sync_daemon`).
//!
//! ```text
//!   client .3                                front LAN 198.18.N.0/24: VIPs .100 (DR) and .101 (NAT)
//!   ──┴──────────┬──────────┬──────────┬──────────┬──
//!             lvs-a .1   lvs-b .2    dr1 .11    dr2 .12  (DR real servers: VIP .100 on lo, no ARP for it)
//!                │ eth1     │ eth1
//!   ─────────────┴──────────┴──────────┬──────────┬──   back LAN 10.61.0.0/24: gateway .254 (VRRP),
//!                                   nat1 .11   nat2 .12    connection sync multicast on eth1
//! ```
//!
//! VRRP: group `front` (the VIPs, on eth0) and group `gateway` (the NAT real servers' default route, on
//! eth1) in one sync group; `front` carries the connection sync. Before each move the scenario waits until
//! the other node's connection table holds every connection (the kernel syncs a connection after its third
//! incoming packet and sends its buffer at most 2 s later). The client measures, for each connection, the
//! longest time a request waited for its answer across the move (its stall).

use crate::util::{must, sh};
use director_tests::netns::director::{create_group, wait_role};
use director_tests::netns::{Keepalived, Lan, Node};
use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The port of the real servers and of the virtual servers.
const PORT: u16 = 7000;
/// The back LAN's bridge.
const BACK: &str = "cpback";
/// The NAT real servers' default gateway: the address of the `gateway` group.
const GATEWAY: &str = "10.61.0.254";
/// Bound of every wait for an event (a role, a daemon, a synchronised table).
const SETTLE: Duration = Duration::from_secs(60);
/// A connection silent for this long after the takeover is lost.
const SILENT: Duration = Duration::from_secs(30);
/// Answers each connection must get after the takeover to count as kept.
const AFTER: u64 = 3;
/// lvs-a starts as the master (priority 150 against 100).
const PRIORITY_A: u8 = 150;
const PRIORITY_B: u8 = 100;
/// The priority of a node that gives up mastership.
const LOWERED: u8 = 50;
/// The VRRP groups (one sync group): `front` holds the VIPs, `gateway` the NAT real servers' route.
const GROUPS: [&str; 2] = ["front", "gateway"];

/// Each request waits for its answer before the next is sent, this long after it.
pub const DEFAULT_INTERVAL_MS: u64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Forwarding {
    Dr,
    Nat,
}

impl Forwarding {
    const ALL: [Forwarding; 2] = [Forwarding::Dr, Forwarding::Nat];

    fn name(self) -> &'static str {
        match self {
            Forwarding::Dr => "dr",
            Forwarding::Nat => "nat",
        }
    }

    fn parse(s: &str) -> Option<Forwarding> {
        Forwarding::ALL.into_iter().find(|f| f.name() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    Director,
    Keepalived,
}

impl Implementation {
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Director => "director",
            Implementation::Keepalived => "keepalived",
        }
    }
}

/// How the master moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// The master gives up mastership (its priority lowered below the backup's).
    Planned,
    /// Every process of the master's namespace SIGKILLed and its links cut.
    Kill,
}

impl Move {
    pub fn name(self) -> &'static str {
        match self {
            Move::Planned => "planned failover",
            Move::Kill => "SIGKILL of the master",
        }
    }
}

/// The two load balancers, the client and the real servers.
pub struct Topology {
    // Dropped after the back LAN (Drop of Topology runs first).
    lan: Lan,
    lb: [Node; 2],
    client: Node,
    dr: [Node; 2],
}

/// The namespaces of the NAT real servers.
const NAT_NS: [&str; 2] = ["cpnat1", "cpnat2"];

fn back_link(lb: usize) -> String {
    format!("cpb{}", lb + 1)
}

fn back_address(lb: usize) -> String {
    format!("10.61.0.{}", lb + 1)
}

impl Topology {
    pub fn create() -> Topology {
        let mut lan = Lan::create();
        let lb = [lan.add_node(1), lan.add_node(2)];
        let client = lan.add_node(3);
        let dr = [lan.add_node(11), lan.add_node(12)];
        let topo = Topology {
            lan,
            lb,
            client,
            dr,
        };
        sh(&format!(
            "ip link add {BACK} type bridge && \
             ip link set {BACK} type bridge mcast_snooping 0 forward_delay 0 && ip link set {BACK} up"
        ));
        for (i, node) in topo.lb.iter().enumerate() {
            let (link, ns) = (back_link(i), &node.ns);
            sh(&format!(
                "ip link add {link} type veth peer name eth1 netns {ns} && ip link set {link} master {BACK} up && \
                 ip -n {ns} addr add {}/24 dev eth1 && ip -n {ns} link set eth1 up && \
                 ip netns exec {ns} sysctl -qw net.ipv4.ip_forward=1",
                back_address(i)
            ));
        }
        let vip_dr = topo.vip(Forwarding::Dr);
        for (i, node) in topo.dr.iter().enumerate() {
            // DR: the real server holds the VIP on lo and neither answers nor announces ARP for it.
            sh(&format!(
                "ip -n {ns} addr add {vip_dr}/32 dev lo && \
                 ip netns exec {ns} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2",
                ns = node.ns
            ));
            start_echo_server(&node.ns, &format!("dr{}", i + 1));
        }
        for (i, ns) in NAT_NS.iter().enumerate() {
            sh(&format!(
                "ip netns add {ns} && ip link add {ns}-b type veth peer name eth0 netns {ns} && \
                 ip link set {ns}-b master {BACK} up && ip -n {ns} addr add 10.61.0.{}/24 dev eth0 && \
                 ip -n {ns} link set eth0 up && ip -n {ns} link set lo up && \
                 ip -n {ns} route add default via {GATEWAY}",
                11 + i
            ));
            start_echo_server(ns, &format!("nat{}", i + 1));
        }
        topo
    }

    pub fn vip(&self, f: Forwarding) -> IpAddr {
        self.lan.vip(match f {
            Forwarding::Dr => 100,
            Forwarding::Nat => 101,
        })
    }

    /// The real servers of a virtual server: address and the identity its echo server answers with.
    fn real_servers(&self, f: Forwarding) -> [(IpAddr, String); 2] {
        [0, 1].map(|i| {
            let address: IpAddr = match f {
                Forwarding::Dr => IpAddr::V4(self.dr[i].ipv4),
                Forwarding::Nat => format!("10.61.0.{}", 11 + i).parse().expect("address"),
            };
            (address, format!("{}{}", f.name(), i + 1))
        })
    }

    /// Whether load balancer `lb` holds every VRRP address (both VIPs on eth0, the gateway on eth1).
    fn holds_all(&self, lb: usize) -> bool {
        let held = |dev: &str, address: String| {
            sh(&format!("ip -n {} -o addr show dev {dev}", self.lb[lb].ns))
                .contains(&format!("inet {address}/"))
        };
        Forwarding::ALL
            .iter()
            .all(|f| held("eth0", self.vip(*f).to_string()))
            && held("eth1", GATEWAY.to_string())
    }

    /// Whether it holds none of them.
    fn holds_none(&self, lb: usize) -> bool {
        let out = sh(&format!("ip -n {} -o addr show", self.lb[lb].ns));
        Forwarding::ALL
            .iter()
            .all(|f| !out.contains(&format!("inet {}/", self.vip(*f))))
            && !out.contains(&format!("inet {GATEWAY}/"))
    }

    /// A crash of `lb`: every process of its namespace frozen (SIGSTOP: none can react, as a VRRP
    /// process would to its links going down by advertising priority 0), its links cut (its kernel, which
    /// keeps the addresses and the IPVS table of a killed daemon, is out of reach), then SIGKILL.
    fn crash(&self, lb: usize) {
        let pids: Vec<String> = self.lb[lb].pids().iter().map(u32::to_string).collect();
        sh(&format!("kill -STOP {}", pids.join(" ")));
        self.lb[lb].set_link(false);
        sh(&format!("ip link set {} down", back_link(lb)));
        self.lb[lb].kill_all();
    }

    /// The sync daemons the kernel of `lb` runs (`master`, `backup`), from `ipvsadm --list --daemon`.
    fn sync_daemons(&self, lb: usize) -> Vec<String> {
        let mut out: Vec<String> = sh(&format!(
            "ip netns exec {} ipvsadm --list --daemon",
            self.lb[lb].ns
        ))
        .lines()
        .filter_map(|l| {
            l.trim()
                .split_once(" sync daemon")
                .map(|(s, _)| s.to_string())
        })
        .collect();
        out.sort();
        out
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in NAT_NS {
            let _ = Command::new("bash")
                .arg("-c")
                .arg(format!(
                    "kill -9 $(ip netns pids {ns}) 2>/dev/null; ip netns del {ns}"
                ))
                .status();
        }
        for lb in 0..2 {
            let _ = Command::new("ip")
                .args(["link", "del", &back_link(lb)])
                .status();
        }
        let _ = Command::new("ip").args(["link", "del", BACK]).status();
    }
}

fn start_echo_server(ns: &str, identity: &str) {
    sh(&format!(
        "ip netns exec {ns} /usr/local/bin/vm-guest echo-server {PORT} {identity} >/dev/null 2>&1 &"
    ));
    let deadline = Instant::now() + SETTLE;
    while sh(&format!("ip netns exec {ns} ss -Hltn sport = :{PORT}"))
        .trim()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "{identity} does not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `echo-server PORT IDENTITY`: answers every line `N` of every connection with `IDENTITY N`.
pub fn echo_server(args: &[String]) {
    let port: u16 = args.first().and_then(|p| p.parse().ok()).expect("PORT");
    let identity = args.get(1).expect("IDENTITY").clone();
    let listener = std::net::TcpListener::bind(("0.0.0.0", port)).expect("bind");
    for stream in listener.incoming().flatten() {
        let identity = identity.clone();
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let Ok(read) = stream.try_clone() else {
                return;
            };
            let mut write = stream;
            for line in BufReader::new(read).lines() {
                let Ok(line) = line else { break };
                if write
                    .write_all(format!("{identity} {line}\n").as_bytes())
                    .is_err()
                {
                    break;
                }
            }
        });
    }
}

/// What became of one connection of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    /// Answering, from the real server it started on.
    Alive,
    /// Answered by another real server (the connection was scheduled afresh).
    Moved(String),
    /// Reset or closed.
    Broken(String),
}

struct ConnState {
    fate: Fate,
    replies: u64,
    longest_wait: Duration,
    waiting_since: Option<Instant>,
}

struct Conn {
    forwarding: Forwarding,
    port: u16,
    identity: String,
    state: Mutex<ConnState>,
}

impl Conn {
    fn lock(&self) -> std::sync::MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `conn-client INTERVAL_MS FORWARDING=ADDR:PORT COUNT...`: opens COUNT connections to each address (one
/// first request each, to learn which real server answers), prints `conn FORWARDING PORT IDENTITY` for each
/// and `open`, then keeps every connection exchanging requests (one at a time, INTERVAL_MS apart) and obeys
/// commands on stdin: `mark` (forget the longest waits so far), `settle N SECS` (wait until every connection
/// got N more answers, is lost, or SECS passed; then print `fate FORWARDING PORT FATE WAIT_MS` for each and
/// `settled`), `quit`.
pub async fn conn_client(args: &[String]) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let interval = Duration::from_millis(
        args.first()
            .and_then(|a| a.parse().ok())
            .expect("INTERVAL_MS"),
    );
    let mut targets = Vec::new();
    for pair in args[1..].chunks(2) {
        let (f, addr) = pair[0].split_once('=').expect("FORWARDING=ADDR:PORT");
        let f = Forwarding::parse(f).expect("dr or nat");
        let addr: SocketAddr = addr.parse().expect("ADDR:PORT");
        let count: usize = pair.get(1).and_then(|c| c.parse().ok()).expect("COUNT");
        targets.push((f, addr, count));
    }
    let mut conns = Vec::new();
    let mut streams = Vec::new();
    for (f, addr, count) in targets {
        for i in 0..count {
            let stream = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::net::TcpStream::connect(addr),
            )
            .await
            .unwrap_or_else(|_| panic!("{} connection {i}: connect timed out", f.name()))
            .unwrap_or_else(|e| panic!("{} connection {i}: {e}", f.name()));
            stream.set_nodelay(true).expect("nodelay");
            let port = stream.local_addr().expect("local address").port();
            let (read, mut write) = stream.into_split();
            let mut lines = tokio::io::BufReader::new(read).lines();
            write.write_all(b"0\n").await.expect("first request");
            let answer = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("{} connection {i}: no first answer", f.name()))
                .expect("first answer")
                .expect("first answer");
            let identity = answer
                .strip_suffix(" 0")
                .unwrap_or_else(|| panic!("first answer {answer:?}"))
                .to_string();
            println!("conn {} {port} {identity}", f.name());
            conns.push(Arc::new(Conn {
                forwarding: f,
                port,
                identity,
                state: Mutex::new(ConnState {
                    fate: Fate::Alive,
                    replies: 0,
                    longest_wait: Duration::ZERO,
                    waiting_since: None,
                }),
            }));
            streams.push((lines, write));
        }
    }
    let n = conns.len() as u32;
    for (i, (conn, (mut lines, mut write))) in conns.iter().cloned().zip(streams).enumerate() {
        // Spread over the interval, so that requests do not come in bursts.
        let offset = interval * i as u32 / n.max(1);
        tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let mut seq = 0u64;
            loop {
                seq += 1;
                let sent = Instant::now();
                conn.lock().waiting_since = Some(sent);
                let answer = match write.write_all(format!("{seq}\n").as_bytes()).await {
                    Ok(()) => lines.next_line().await,
                    Err(e) => Err(e),
                };
                let waited = sent.elapsed();
                let fate = {
                    let mut st = conn.lock();
                    st.waiting_since = None;
                    let expected = format!("{} {seq}", conn.identity);
                    match answer {
                        Ok(Some(line)) if line == expected => {
                            st.replies += 1;
                            st.longest_wait = st.longest_wait.max(waited);
                            None
                        }
                        Ok(Some(line)) => Some(Fate::Moved(line)),
                        Ok(None) => Some(Fate::Broken("closed".into())),
                        Err(e) => Some(Fate::Broken(e.kind().to_string().replace(' ', "-"))),
                    }
                    .inspect(|fate| st.fate = fate.clone())
                };
                if fate.is_some() {
                    return;
                }
                tokio::time::sleep(interval).await;
            }
        });
    }
    println!("open");
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(command)) = stdin.next_line().await {
        let words: Vec<&str> = command.split_whitespace().collect();
        match words.as_slice() {
            ["mark"] => {
                for c in &conns {
                    c.lock().longest_wait = Duration::ZERO;
                }
                println!("marked");
            }
            ["settle", replies, secs] => {
                let more: u64 = replies.parse().expect("N");
                let deadline = Instant::now() + Duration::from_secs(secs.parse().expect("SECS"));
                let base: Vec<u64> = conns.iter().map(|c| c.lock().replies).collect();
                loop {
                    let pending = conns.iter().zip(&base).any(|(c, b)| {
                        let st = c.lock();
                        st.fate == Fate::Alive && st.replies < b + more
                    });
                    if !pending || Instant::now() >= deadline {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                for (c, b) in conns.iter().zip(&base) {
                    let st = c.lock();
                    let waiting = st.waiting_since.map_or(Duration::ZERO, |t| t.elapsed());
                    let fate = match &st.fate {
                        Fate::Alive if st.replies < b + more => "silent".to_string(),
                        Fate::Alive => "alive".to_string(),
                        Fate::Moved(line) => format!("moved:{}", line.replace(' ', "/")),
                        Fate::Broken(why) => format!("broken:{why}"),
                    };
                    println!(
                        "fate {} {} {fate} {}",
                        c.forwarding.name(),
                        c.port,
                        st.longest_wait.max(waiting).as_millis()
                    );
                }
                println!("settled");
            }
            ["quit"] => std::process::exit(0),
            _ => println!("unknown command {command:?}"),
        }
    }
}

/// One connection as the client opened it.
struct Opened {
    forwarding: Forwarding,
    port: u16,
    identity: String,
}

/// The client process (`conn-client` in the client's namespace), driven through its stdin and stdout.
struct Client {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    opened: Vec<Opened>,
}

impl Client {
    fn open(topo: &Topology, count: usize, interval_ms: u64) -> Client {
        let mut cmd = topo.client.command("/usr/local/bin/vm-guest");
        cmd.arg("conn-client").arg(interval_ms.to_string());
        for f in Forwarding::ALL {
            cmd.arg(format!("{}={}:{PORT}", f.name(), topo.vip(f)))
                .arg(count.to_string());
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("conn-client");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            lines,
            opened: Vec::new(),
        };
        loop {
            let line = client.line(SETTLE);
            if line == "open" {
                break;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let ["conn", f, port, identity] = words.as_slice() else {
                panic!("conn-client said {line:?}")
            };
            client.opened.push(Opened {
                forwarding: Forwarding::parse(f).expect("forwarding"),
                port: port.parse().expect("port"),
                identity: identity.to_string(),
            });
        }
        assert_eq!(client.opened.len(), 2 * count, "connections opened");
        client
    }

    fn line(&mut self, timeout: Duration) -> String {
        self.lines.recv_timeout(timeout).unwrap_or_else(|e| {
            panic!(
                "conn-client: no line within {timeout:?} ({e}); exit: {:?}",
                self.child.try_wait()
            )
        })
    }

    fn send(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").expect("conn-client stdin");
    }

    fn mark(&mut self) {
        self.send("mark");
        assert_eq!(self.line(SETTLE), "marked");
    }

    /// Every connection's fate and longest wait, once each got AFTER more answers, was lost, or SILENT passed.
    fn settle(&mut self) -> Vec<(Forwarding, u16, String, Duration)> {
        self.send(&format!("settle {AFTER} {}", SILENT.as_secs()));
        let mut out = Vec::new();
        loop {
            let line = self.line(SILENT + SETTLE);
            if line == "settled" {
                return out;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let ["fate", f, port, fate, ms] = words.as_slice() else {
                panic!("conn-client said {line:?}")
            };
            out.push((
                Forwarding::parse(f).expect("forwarding"),
                port.parse().expect("port"),
                fate.to_string(),
                Duration::from_millis(ms.parse().expect("ms")),
            ));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many of the client's connections `lb`'s connection table holds, established, to the real server the
/// client hears from (`ipvsadm -Lnc`).
fn synced(topo: &Topology, lb: usize, client: &Client) -> usize {
    let table = sh(&format!("ip netns exec {} ipvsadm -Lnc", topo.lb[lb].ns));
    let entries: std::collections::BTreeSet<(String, String, String)> = table
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 6 && w[0] == "TCP" && w[2] == "ESTABLISHED")
                .then(|| (w[3].to_string(), w[4].to_string(), w[5].to_string()))
        })
        .collect();
    client
        .opened
        .iter()
        .filter(|c| {
            let rs = topo
                .real_servers(c.forwarding)
                .into_iter()
                .find(|(_, id)| *id == c.identity)
                .map(|(a, _)| a)
                .expect("a known identity");
            entries.contains(&(
                format!("{}:{}", topo.client.ipv4, c.port),
                format!("{}:{PORT}", topo.vip(c.forwarding)),
                format!("{rs}:{PORT}"),
            ))
        })
        .count()
}

/// The pair of load balancers under test.
pub enum Pair {
    Director(Box<[Daemon; 2]>),
    Keepalived([Keepalived; 2]),
}

const NODES: [&str; 2] = ["lvs-a", "lvs-b"];

fn director_groups(topo: &Topology, advert_ms: u64) -> [Value; 2] {
    let members = |interface: &str| {
        json!([{"node": NODES[0], "interface": interface, "priority": PRIORITY_A},
               {"node": NODES[1], "interface": interface, "priority": PRIORITY_B}])
    };
    [
        json!({"name": GROUPS[0], "vrid": 51, "version": 3, "advert_interval_ms": advert_ms,
            "virtual_addresses": Forwarding::ALL.map(|f| format!("{}/32", topo.vip(f))),
            "members": members("eth0"), "sync_group": "lb",
            "connection_sync": {"interface": "eth1", "sync_id": 51}}),
        json!({"name": GROUPS[1], "vrid": 52, "version": 3, "advert_interval_ms": advert_ms,
            "virtual_addresses": [format!("{GATEWAY}/24")],
            "members": members("eth1"), "sync_group": "lb"}),
    ]
}

fn director_virtual_servers(topo: &Topology) -> Vec<Value> {
    Forwarding::ALL
        .iter()
        .map(|f| {
            let real: Vec<Value> = topo
                .real_servers(*f)
                .iter()
                .map(|(a, _)| json!({"address": a.to_string(), "port": PORT}))
                .collect();
            json!({"name": f.name(), "protocol": "tcp", "address": topo.vip(*f).to_string(), "port": PORT,
                "scheduler": "rr", "forwarding": f.name(), "vrrp_group": GROUPS[0],
                "health_check": {"type": "none"}, "real_servers": real})
        })
        .collect()
}

/// keepalived.conf of node `lb` with `priority`: the same groups, virtual servers and sync daemon.
fn keepalived_conf(topo: &Topology, lb: usize, priority: u8, advert_ms: u64) -> String {
    let advert = advert_ms as f64 / 1000.0;
    let instance = |name: &str, vrid: u8, dev: &str, addresses: Vec<String>| {
        let addresses: String = addresses
            .iter()
            .map(|a| format!("        {a} dev {dev}\n"))
            .collect();
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface {dev}\n    virtual_router_id {vrid}\n    \
             priority {priority}\n    advert_int {advert}\n    virtual_ipaddress {{\n{addresses}    }}\n}}\n"
        )
    };
    let mut conf = format!(
        "global_defs {{\n    router_id {}\n    vrrp_version 3\n    lvs_sync_daemon eth1 {} id 51\n}}\n\
         vrrp_sync_group lb {{\n    group {{\n        {}\n        {}\n    }}\n}}\n",
        NODES[lb], GROUPS[0], GROUPS[0], GROUPS[1]
    );
    conf += &instance(
        GROUPS[0],
        51,
        "eth0",
        Forwarding::ALL
            .map(|f| format!("{}/32", topo.vip(f)))
            .to_vec(),
    );
    conf += &instance(GROUPS[1], 52, "eth1", vec![format!("{GATEWAY}/24")]);
    for f in Forwarding::ALL {
        conf += &format!(
            "virtual_server {} {PORT} {{\n    lb_algo rr\n    lb_kind {}\n    protocol TCP\n",
            topo.vip(f),
            f.name().to_uppercase()
        );
        for (a, _) in topo.real_servers(f) {
            conf += &format!("    real_server {a} {PORT} {{\n        weight 1\n    }}\n");
        }
        conf += "}\n";
    }
    conf
}

impl Pair {
    /// Starts both load balancers and waits until lvs-a masters both groups, holds every address and runs
    /// the master sync daemon, and lvs-b runs the backup daemon.
    pub async fn start(which: Implementation, topo: &Topology, advert_ms: u64) -> Pair {
        let pair = match which {
            Implementation::Director => {
                let mut daemons = Vec::new();
                for (lb, name) in NODES.iter().enumerate() {
                    daemons.push(
                        Daemon::start_with(DaemonOptions {
                            dataplane: Some("ipvs".into()),
                            ..topo.lb[lb].daemon_options(name)
                        })
                        .await,
                    );
                }
                for d in &daemons {
                    for g in director_groups(topo, advert_ms) {
                        create_group(d, &g).await;
                    }
                    for v in director_virtual_servers(topo) {
                        must(d, Method::POST, "/api/v1/virtual-servers", Some(v)).await;
                    }
                }
                for g in GROUPS {
                    wait_role(&daemons[0], g, "master", SETTLE).await;
                    wait_role(&daemons[1], g, "backup", SETTLE).await;
                }
                let [a, b]: [Daemon; 2] = daemons.try_into().unwrap_or_else(|_| unreachable!());
                Pair::Director(Box::new([a, b]))
            }
            Implementation::Keepalived => Pair::Keepalived([0, 1].map(|lb| {
                let priority = [PRIORITY_A, PRIORITY_B][lb];
                Keepalived::start_full(
                    &topo.lb[lb],
                    &keepalived_conf(topo, lb, priority, advert_ms),
                )
            })),
        };
        pair.wait_roles(topo, 0).await;
        pair
    }

    /// Waits until `master` holds every address and runs the master sync daemon, and the other node holds
    /// none and runs the backup daemon (so that it receives the master's connections).
    async fn wait_roles(&self, topo: &Topology, master: usize) {
        let backup = 1 - master;
        let start = Instant::now();
        loop {
            let (m, b) = (topo.sync_daemons(master), topo.sync_daemons(backup));
            if topo.holds_all(master)
                && topo.holds_none(backup)
                && m.iter().any(|d| d == "master")
                && b.iter().any(|d| d == "backup")
            {
                return;
            }
            assert!(
                start.elapsed() < SETTLE,
                "{}: {} should master with the master sync daemon (has {m:?}), {} back up with the backup \
                 daemon (has {b:?})\n{}",
                self.name(),
                NODES[master],
                NODES[backup],
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Pair::Director(_) => Implementation::Director.name(),
            Pair::Keepalived(_) => Implementation::Keepalived.name(),
        }
    }

    fn logs(&self) -> String {
        match self {
            Pair::Director(d) => {
                format!("lvs-a:\n{}\nlvs-b:\n{}", d[0].log_text(), d[1].log_text())
            }
            Pair::Keepalived([a, b]) => {
                format!("lvs-a:\n{}\nlvs-b:\n{}", a.log_text(), b.log_text())
            }
        }
    }

    /// A planned failover: node `lb` gives up mastership of the groups. director: its member priority
    /// lowered through the REST API (each node's own member entry decides its priority); keepalived: the
    /// same priority in its keepalived.conf, reloaded.
    async fn give_up(&self, topo: &Topology, lb: usize, advert_ms: u64) {
        match self {
            Pair::Director(daemons) => {
                let d = &daemons[lb];
                for group in GROUPS {
                    lower_priority(d, group, NODES[lb]).await;
                }
            }
            Pair::Keepalived(k) => k[lb].reload(&keepalived_conf(topo, lb, LOWERED, advert_ms)),
        }
    }
}

/// The planned move of director: `node` lowers its priority in `group` below the other member's, so that the
/// other takes over (a merge patch of the group's `members`).
async fn lower_priority(d: &Daemon, group: &str, node: &str) {
    let path = format!("/api/v1/vrrp-groups/{group}");
    let current = d.get(&path).await;
    let members: Vec<Value> = current["members"]
        .as_array()
        .unwrap_or_else(|| panic!("no members in {current}"))
        .iter()
        .map(|m| {
            let mut m = m.clone();
            if m["node"] == node {
                m["priority"] = json!(LOWERED);
            }
            m
        })
        .collect();
    must(d, Method::PATCH, &path, Some(json!({ "members": members }))).await;
}

/// What one move did to the connections.
pub struct Trial {
    pub implementation: Implementation,
    pub kind: Move,
    /// From the move until the new master held every address.
    pub takeover: Duration,
    /// Per forwarding method: connections kept, connections opened.
    pub kept: BTreeMap<Forwarding, (usize, usize)>,
    /// The longest wait of each kept connection.
    pub stalls: Vec<Duration>,
    /// The lost ones, in words.
    pub lost: Vec<String>,
}

impl Trial {
    pub fn kept_all(&self) -> bool {
        self.kept.values().all(|(k, n)| k == n)
    }

    pub fn summary(&self) -> String {
        let kept: Vec<String> = self
            .kept
            .iter()
            .map(|(f, (k, n))| format!("{} {k}/{n}", f.name()))
            .collect();
        let mut stalls = self.stalls.clone();
        stalls.sort();
        format!(
            "{} {}: {} kept their real server; takeover {} ms; stall p50 {} ms p99 {} ms{}",
            self.implementation.name(),
            self.kind.name(),
            kept.join(" "),
            self.takeover.as_millis(),
            percentile(&stalls, 50.0).as_millis(),
            percentile(&stalls, 99.0).as_millis(),
            if self.lost.is_empty() {
                String::new()
            } else {
                format!(
                    "; lost: {}",
                    self.lost
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One move of the master (`from`) with `count` fresh connections per forwarding method.
pub async fn trial(
    topo: &Topology,
    pair: &Pair,
    kind: Move,
    from: usize,
    count: usize,
    interval_ms: u64,
    advert_ms: u64,
) -> Trial {
    let to = 1 - from;
    let implementation = match pair {
        Pair::Director(_) => Implementation::Director,
        Pair::Keepalived(_) => Implementation::Keepalived,
    };
    let mut client = Client::open(topo, count, interval_ms);
    // The other node must hold every connection before the move.
    let start = Instant::now();
    loop {
        let n = synced(topo, to, &client);
        if n == client.opened.len() {
            break;
        }
        assert!(
            start.elapsed() < SETTLE,
            "{}: {} of {} connections reached {}'s connection table:\n{}",
            implementation.name(),
            n,
            client.opened.len(),
            NODES[to],
            sh(&format!("ip netns exec {} ipvsadm -Lnc", topo.lb[to].ns))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.mark();
    let t0 = Instant::now();
    match kind {
        Move::Planned => pair.give_up(topo, from, advert_ms).await,
        Move::Kill => topo.crash(from),
    }
    while !topo.holds_all(to) {
        assert!(
            t0.elapsed() < SETTLE,
            "{}: {} never took over\n{}",
            implementation.name(),
            NODES[to],
            pair.logs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let takeover = t0.elapsed();
    let fates = client.settle();
    drop(client);
    let mut kept: BTreeMap<Forwarding, (usize, usize)> = BTreeMap::new();
    let mut stalls = Vec::new();
    let mut lost = Vec::new();
    for (f, port, fate, wait) in fates {
        let entry = kept.entry(f).or_default();
        entry.1 += 1;
        if fate == "alive" {
            entry.0 += 1;
            stalls.push(wait);
        } else {
            lost.push(format!("{} :{port} {fate}", f.name()));
        }
    }
    if kind == Move::Planned {
        // The old master now backs up, with the backup daemon, for the next move.
        pair.wait_roles(topo, to).await;
    }
    Trial {
        implementation,
        kind,
        takeover,
        kept,
        stalls,
        lost,
    }
}

/// Both moves with one implementation on a fresh topology: lvs-a gives up mastership to lvs-b (planned),
/// then lvs-b crashes and lvs-a takes over again.
pub async fn both_moves(
    which: Implementation,
    count: usize,
    interval_ms: u64,
    advert_ms: u64,
) -> [Trial; 2] {
    let topo = Topology::create();
    let pair = Pair::start(which, &topo, advert_ms).await;
    let planned = trial(
        &topo,
        &pair,
        Move::Planned,
        0,
        count,
        interval_ms,
        advert_ms,
    )
    .await;
    println!("{}", planned.summary());
    let kill = trial(&topo, &pair, Move::Kill, 1, count, interval_ms, advert_ms).await;
    println!("{}", kill.summary());
    drop(pair);
    drop(topo);
    [planned, kill]
}

/// The test: 100 connections per forwarding method, director and keepalived.
pub async fn run() {
    const COUNT: usize = 100;
    let [d_planned, d_kill] =
        both_moves(Implementation::Director, COUNT, DEFAULT_INTERVAL_MS, 1000).await;
    let [k_planned, k_kill] =
        both_moves(Implementation::Keepalived, COUNT, DEFAULT_INTERVAL_MS, 1000).await;
    assert!(d_planned.kept_all(), "{}", d_planned.summary());
    for f in Forwarding::ALL {
        let (d, k) = (d_kill.kept[&f].0, k_kill.kept[&f].0);
        assert!(
            d >= k,
            "{}: director kept {d} after a SIGKILL, keepalived {k}\n{}\n{}",
            f.name(),
            d_kill.summary(),
            k_kill.summary()
        );
    }
    println!(
        "planned: director kept every connection ({}), keepalived {}",
        d_planned.kept_all(),
        k_planned.kept_all()
    );
    crate::util::done("connproof");
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[(v.len() - 1) / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `bench-connproof COUNT RUNS ADVERTS_MS [INTERVAL_MS]`: both moves with director and with keepalived, RUNS
/// times per advertisement interval (ADVERTS_MS: comma-separated), the implementations alternating which goes
/// first, each run on a fresh topology; prints every trial, the medians over the runs and their ratio.
pub async fn bench(args: &[String]) {
    let count: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3).max(1);
    let adverts: Vec<u64> = args
        .get(2)
        .map(|a| a.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![1000]);
    let interval_ms: u64 = args
        .get(3)
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_INTERVAL_MS);
    println!(
        "BENCH connections={count} per forwarding method (DR and NAT: {} in all), runs={runs}, VRRPv3 adverts \
         {adverts:?} ms, one request per connection every {interval_ms} ms after the previous answer",
        2 * count
    );
    for &advert_ms in &adverts {
        let mut trials: Vec<Trial> = Vec::new();
        for run in 0..runs {
            let mut order = [Implementation::Director, Implementation::Keepalived];
            if run % 2 == 1 {
                order.reverse();
            }
            for which in order {
                for t in both_moves(which, count, interval_ms, advert_ms).await {
                    println!(
                        "BENCH   run {} ({advert_ms} ms adverts) {}",
                        run + 1,
                        t.summary()
                    );
                    trials.push(t);
                }
            }
        }
        println!("BENCH {advert_ms} ms adverts, medians over {runs} runs:");
        for kind in [Move::Planned, Move::Kill] {
            // Per implementation: kept share per forwarding method, stall p50, stall p99.
            let mut figures = Vec::new();
            for which in [Implementation::Director, Implementation::Keepalived] {
                let mine: Vec<&Trial> = trials
                    .iter()
                    .filter(|t| t.implementation == which && t.kind == kind)
                    .collect();
                let shares = |f: Forwarding| -> Vec<f64> {
                    mine.iter()
                        .map(|t| {
                            let (k, n) = t.kept[&f];
                            100.0 * k as f64 / n.max(1) as f64
                        })
                        .collect()
                };
                let stall = |p: f64| {
                    median(
                        mine.iter()
                            .map(|t| {
                                let mut s = t.stalls.clone();
                                s.sort();
                                ms(percentile(&s, p))
                            })
                            .collect(),
                    )
                };
                let kept = Forwarding::ALL.map(|f| {
                    let s = shares(f);
                    let min = s.iter().copied().fold(f64::INFINITY, f64::min);
                    (median(s), min)
                });
                let (p50, p99) = (stall(50.0), stall(99.0));
                println!(
                    "BENCH   {:<22} {:<10} kept dr {:.0}% (min {:.0}%) nat {:.0}% (min {:.0}%); stall p50 {p50:.0} ms \
                     p99 {p99:.0} ms; takeover {:.0} ms",
                    kind.name(),
                    which.name(),
                    kept[0].0,
                    kept[0].1,
                    kept[1].0,
                    kept[1].1,
                    median(mine.iter().map(|t| ms(t.takeover)).collect()),
                );
                figures.push((kept, p50, p99));
            }
            let (d, k) = (&figures[0], &figures[1]);
            println!(
                "BENCH   {:<22} ratio director/keepalived: kept dr {:.2} nat {:.2}; stall p50 {:.2} p99 {:.2}",
                kind.name(),
                d.0[0].0 / k.0[0].0,
                d.0[1].0 / k.0[1].0,
                d.1 / k.1,
                d.2 / k.2
            );
        }
    }
    crate::util::done("bench-connproof");
}
