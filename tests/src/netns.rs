//! Network namespaces for the VRRP suites and benchmarks.
//!
//! A [`Lan`] is a Linux bridge in the root namespace (so that the test process reaches the daemons over
//! HTTP) with an address of its own; each [`Node`] is a network namespace plugged into it through a veth pair
//! whose inside end is `eth0`, with an IPv4 address in 198.18.N.0/24 (the benchmarking range, RFC 2544) and an
//! IPv6 address in fd00:d1:N::/64. Directors run inside a node with [`Node::daemon_options`]; keepalived with
//! [`Keepalived::start`]. Everything is removed on drop (processes killed, namespaces and bridge deleted).
//!
//! Needs root: [`Lan::create`] fails with a clear message otherwise. The LANs of one test process are used one
//! at a time (a test holds its LAN for its whole run), so that timing-sensitive failover tests do not compete
//! for the CPU with each other.

use crate::daemon::{DaemonOptions, InNamespace};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The interface of every node.
pub const IFACE: &str = "eth0";

static SERIAL: Mutex<()> = Mutex::new(());

/// Fails the test unless it runs as root.
pub fn require_root() {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
        })
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "the network-namespace suites need root (they create namespaces, a bridge and raw sockets): \
         run them as root, e.g. `sudo -E cargo test -p director-tests --test vrrp`"
    );
    for tool in ["ip", "kill"] {
        let ok = Command::new(tool)
            .arg(if tool == "ip" { "-V" } else { "-l" })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "`{tool}` is missing: run tests/setup.sh");
    }
}

/// Runs a command and returns its output; panics with the stderr if it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = output(program, args);
    assert!(
        out.status.success(),
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn output(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// A bridge and the namespaces plugged into it.
pub struct Lan {
    pub index: u16,
    pub bridge: String,
    pub host_v4: Ipv4Addr,
    nodes: Vec<String>,
    _serial: MutexGuard<'static, ()>,
}

impl Lan {
    /// Creates a bridge with a free index (an index is claimed by creating its bridge).
    pub fn create() -> Lan {
        require_root();
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let start = (std::process::id() % 400) as u16;
        for i in 0..512u16 {
            let index = (start + i) % 512;
            let bridge = format!("dvbr{index}");
            let out = output("ip", &["link", "add", &bridge, "type", "bridge"]);
            if !out.status.success() {
                continue;
            }
            let lan = Lan {
                index,
                bridge: bridge.clone(),
                host_v4: Ipv4Addr::new(198, 18 + (index / 256) as u8, (index % 256) as u8, 254),
                nodes: Vec::new(),
                _serial: serial,
            };
            run(
                "ip",
                &[
                    "link",
                    "set",
                    &bridge,
                    "type",
                    "bridge",
                    "mcast_snooping",
                    "0",
                    "forward_delay",
                    "0",
                ],
            );
            run(
                "ip",
                &[
                    "addr",
                    "add",
                    &format!("{}/24", lan.host_v4),
                    "dev",
                    &bridge,
                ],
            );
            run("ip", &["link", "set", &bridge, "up"]);
            return lan;
        }
        panic!("no free bridge name dvbr0..dvbr511");
    }

    fn v4(&self, host: u8) -> Ipv4Addr {
        let o = self.host_v4.octets();
        Ipv4Addr::new(o[0], o[1], o[2], host)
    }

    fn v6(&self, host: u8) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 0xd1, self.index, 0, 0, 0, 0, u16::from(host))
    }

    /// An IPv4 address of the LAN that no node has (hosts 1..99 are nodes by convention): for VIPs.
    pub fn vip(&self, host: u8) -> IpAddr {
        IpAddr::V4(self.v4(host))
    }

    /// An IPv6 address of the LAN, for VIPs.
    pub fn vip6(&self, host: u8) -> IpAddr {
        IpAddr::V6(self.v6(host))
    }

    /// Adds a namespace with address `.host` on its `eth0`.
    pub fn add_node(&mut self, host: u8) -> Node {
        let ns = format!("dv{}-{host}", self.index);
        let outside = format!("dv{}h{host}", self.index);
        let _ = output("ip", &["netns", "del", &ns]);
        let _ = output("ip", &["link", "del", &outside]);
        run("ip", &["netns", "add", &ns]);
        self.nodes.push(ns.clone());
        // No duplicate address detection: addresses (link-local included) are usable at once.
        run(
            "ip",
            &[
                "netns",
                "exec",
                &ns,
                "sysctl",
                "-q",
                "-w",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ],
        );
        run(
            "ip",
            &[
                "link", "add", &outside, "type", "veth", "peer", "name", IFACE, "netns", &ns,
            ],
        );
        run(
            "ip",
            &["link", "set", &outside, "master", &self.bridge, "up"],
        );
        let node = Node {
            ns,
            link: outside,
            host,
            ipv4: self.v4(host),
            ipv6: self.v6(host),
        };
        node.ip(&["link", "set", "lo", "up"]);
        node.ip(&["addr", "add", &format!("{}/24", node.ipv4), "dev", IFACE]);
        node.ip(&[
            "addr",
            "add",
            &format!("{}/64", node.ipv6),
            "dev",
            IFACE,
            "nodad",
        ]);
        node.ip(&["link", "set", IFACE, "up"]);
        node
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in &self.nodes {
            kill_namespace(ns);
            let _ = output("ip", &["netns", "del", ns]);
        }
        let _ = output("ip", &["link", "del", &self.bridge]);
    }
}

/// One network namespace on a [`Lan`].
#[derive(Debug, Clone)]
pub struct Node {
    pub ns: String,
    /// The outer end of the node's veth pair, on the bridge.
    pub link: String,
    pub host: u8,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
}

impl Node {
    /// `ip -n <ns> args...`, output; panics on failure.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.ns.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// A command run inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]).arg(program);
        c
    }

    /// Whether `eth0` holds `addr` (`ip -n <ns> addr show dev eth0`).
    pub fn holds(&self, addr: IpAddr) -> bool {
        let out = output("ip", &["-n", &self.ns, "-o", "addr", "show", "dev", IFACE]);
        let text = String::from_utf8_lossy(&out.stdout);
        let needle = match addr {
            IpAddr::V4(a) => format!("inet {a}/"),
            IpAddr::V6(a) => format!("inet6 {a}/"),
        };
        text.contains(&needle)
    }

    /// The processes of the namespace.
    pub fn pids(&self) -> Vec<u32> {
        pids_of(&self.ns)
    }

    /// Every process of the namespace killed at once (a crashed host): SIGSTOP, then SIGKILL.
    pub fn kill_all(&self) {
        kill_namespace(&self.ns);
    }

    /// The node's link to the bridge cut (`ip link set <link> down`) or restored.
    pub fn set_link(&self, up: bool) {
        run(
            "ip",
            &["link", "set", &self.link, if up { "up" } else { "down" }],
        );
    }

    /// Options that run a director in this namespace, serving HTTP on the node's address.
    pub fn daemon_options(&self, node_name: &str) -> DaemonOptions {
        DaemonOptions {
            node_name: Some(node_name.to_string()),
            netns: Some(InNamespace {
                name: self.ns.clone(),
                address: IpAddr::V4(self.ipv4),
            }),
            ..DaemonOptions::default()
        }
    }
}

fn pids_of(ns: &str) -> Vec<u32> {
    let out = output("ip", &["netns", "pids", ns]);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Kills `pids` like a crash: SIGSTOP to all first, so that none can react to another's death (keepalived's
/// VRRP process is told by the kernel when its parent dies, and would then stop gracefully), then SIGKILL.
fn crash(pids: &[String]) {
    for signal in ["-STOP", "-KILL"] {
        let mut args = vec![signal];
        args.extend(pids.iter().map(String::as_str));
        let _ = output("kill", &args);
    }
}

fn kill_namespace(ns: &str) {
    for _ in 0..50 {
        let pids: Vec<String> = pids_of(ns).iter().map(u32::to_string).collect();
        if pids.is_empty() {
            return;
        }
        crash(&pids);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The kernel's own notifications of address changes in a node (`ip -o monitor address`), gathered while it
/// runs: every address write, whoever made it.
pub struct AddressMonitor {
    child: Child,
    lines: std::sync::Arc<Mutex<Vec<String>>>,
}

/// One address write seen by an [`AddressMonitor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressWrite {
    Added(IpAddr),
    Deleted(IpAddr),
}

impl AddressMonitor {
    /// Starts monitoring `node`; returns once the monitor listens (it reports the address of a probe).
    pub fn start(node: &Node) -> AddressMonitor {
        use std::io::BufRead;
        let mut child = Command::new("ip")
            .args(["-n", &node.ns, "-o", "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ip monitor");
        let stdout = child.stdout.take().expect("piped");
        let lines = std::sync::Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        let monitor = AddressMonitor { child, lines };
        // A probe on the loopback, added and removed until the monitor reports it, tells when it listens.
        let probe = format!("{PROBE}/32");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !monitor.lines().iter().any(|l| l.contains(PROBE)) {
            assert!(
                Instant::now() < deadline,
                "ip monitor never reported the probe"
            );
            for verb in ["add", "del"] {
                let _ = output("ip", &["-n", &node.ns, "addr", verb, &probe, "dev", "lo"]);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        monitor
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The writes of `addresses` seen so far, in order.
    pub fn writes(&self, addresses: &[IpAddr]) -> Vec<AddressWrite> {
        self.lines()
            .iter()
            .filter_map(|line| {
                let address = addresses.iter().find(|a| {
                    let needle = match a {
                        IpAddr::V4(a) => format!(" inet {a}/"),
                        IpAddr::V6(a) => format!(" inet6 {a}/"),
                    };
                    line.contains(&needle)
                })?;
                Some(if line.starts_with("Deleted") {
                    AddressWrite::Deleted(*address)
                } else {
                    AddressWrite::Added(*address)
                })
            })
            .collect()
    }
}

/// The monitor's probe address (TEST-NET-1).
const PROBE: &str = "192.0.2.254";

impl Drop for AddressMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls every 10 ms until one of `nodes` holds `addr`; returns which and how long it took.
pub fn wait_for_holder(
    nodes: &[&Node],
    addr: IpAddr,
    timeout: Duration,
) -> Option<(usize, Duration)> {
    let start = Instant::now();
    loop {
        for (i, n) in nodes.iter().enumerate() {
            if n.holds(addr) {
                return Some((i, start.elapsed()));
            }
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Like [`wait_for_holder`], measuring from `since`.
pub fn time_until_held(
    node: &Node,
    addr: IpAddr,
    since: Instant,
    timeout: Duration,
) -> Option<Duration> {
    loop {
        if node.holds(addr) {
            return Some(since.elapsed());
        }
        if since.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The nodes holding `addr` now.
pub fn holders(nodes: &[&Node], addr: IpAddr) -> Vec<usize> {
    nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.holds(addr))
        .map(|(i, _)| i)
        .collect()
}

/// One keepalived VRRP instance, as the interop tests and the benchmark configure it.
#[derive(Debug, Clone)]
pub struct KeepalivedInstance {
    pub name: String,
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    pub priority: u8,
    /// Seconds, e.g. 1 or 0.1 (v3 only below 1).
    pub advert_int: f64,
    /// v2 PASS authentication.
    pub password: Option<String>,
    pub preempt: bool,
    pub vips: Vec<IpAddr>,
}

impl KeepalivedInstance {
    /// The keepalived.conf text.
    pub fn config(&self) -> String {
        let auth = match &self.password {
            Some(p) => format!(
                "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}\n"
            ),
            None => String::new(),
        };
        let vips: String = self
            .vips
            .iter()
            .map(|v| {
                let prefix = if v.is_ipv4() { 32 } else { 128 };
                format!("        {v}/{prefix} dev {IFACE}\n")
            })
            .collect();
        format!(
            "global_defs {{\n    router_id {name}\n    vrrp_version {version}\n}}\n\n\
             vrrp_instance {name} {{\n    state BACKUP\n    interface {IFACE}\n    virtual_router_id {vrid}\n    \
             priority {priority}\n    advert_int {advert}\n{nopreempt}{auth}    virtual_ipaddress {{\n{vips}    }}\n}}\n",
            name = self.name,
            version = self.version,
            vrid = self.vrid,
            priority = self.priority,
            advert = self.advert_int,
            nopreempt = if self.preempt { "" } else { "    nopreempt\n" },
        )
    }
}

/// A keepalived process (VRRP only) in a namespace.
pub struct Keepalived {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub ns: String,
}

impl Keepalived {
    /// `keepalived -n -l -D -P -f <conf> -p <pid> -r <vrrp pid>` in the node's namespace.
    pub fn start(node: &Node, instance: &KeepalivedInstance) -> Keepalived {
        Keepalived::spawn(node, &instance.config(), &["-P"])
    }

    /// A whole keepalived.conf (virtual servers, sync groups, `lvs_sync_daemon`...): the VRRP and the
    /// checker process, which programs IPVS. It logs to its log file only (`-G`: without a syslog daemon,
    /// as in the kernel VM, syslog would write to the console).
    pub fn start_full(node: &Node, config: &str) -> Keepalived {
        Keepalived::spawn(node, config, &["-G"])
    }

    fn spawn(node: &Node, config: &str, only: &[&str]) -> Keepalived {
        let ok = Command::new("keepalived")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "keepalived is missing: install the Debian package (tests/setup.sh does)"
        );
        let dir = tempfile::Builder::new()
            .prefix("director-keepalived-")
            .tempdir()
            .expect("temp dir");
        let conf = dir.path().join("keepalived.conf");
        std::fs::write(&conf, config).expect("write keepalived.conf");
        let log = std::fs::File::create(dir.path().join("keepalived.log")).expect("log");
        let child = node
            .command("keepalived")
            .args(["-n", "-l", "-D"])
            .args(only)
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("keepalived.pid"))
            .arg("-r")
            .arg(dir.path().join("vrrp.pid"))
            .arg("-c")
            .arg(dir.path().join("checkers.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn keepalived");
        Keepalived {
            child: Some(child),
            dir,
            ns: node.ns.clone(),
        }
    }

    /// Writes `config` over the running one and reloads it (SIGHUP), as `systemctl reload keepalived`.
    pub fn reload(&self, config: &str) {
        let Some(child) = &self.child else {
            panic!("keepalived in {} is not running", self.ns)
        };
        std::fs::write(self.dir.path().join("keepalived.conf"), config)
            .expect("write keepalived.conf");
        run("kill", &["-HUP", &child.id().to_string()]);
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("keepalived.log")).unwrap_or_default()
    }

    fn vrrp_pid(&self) -> Option<u32> {
        self.pid_file("vrrp.pid")
    }

    fn pid_file(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join(name))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// keepalived and its VRRP and checker processes killed at once (a crash: no priority 0): SIGSTOP,
    /// then SIGKILL.
    pub fn kill9(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let mut pids = vec![child.id().to_string()];
        for name in ["vrrp.pid", "checkers.pid"] {
            if let Some(p) = self.pid_file(name) {
                pids.push(p.to_string());
            }
        }
        crash(&pids);
        let _ = child.wait();
        self.wait_vrrp_gone();
    }

    /// SIGTERM and wait: keepalived sends priority 0 and releases its VIPs.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = output("kill", &["-TERM", &child.id().to_string()]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                self.wait_vrrp_gone();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    fn wait_vrrp_gone(&self) {
        let Some(pid) = self.vrrp_pid() else {
            return;
        };
        let stat = PathBuf::from(format!("/proc/{pid}/stat"));
        // Gone, or a zombie waiting for init to reap it.
        let alive = || {
            std::fs::read_to_string(&stat)
                .map(|s| {
                    !s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
                .unwrap_or(false)
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive() && Instant::now() < deadline {
            let _ = output("kill", &["-KILL", &pid.to_string()]);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Master_Down_Interval of a backup of `priority` (RFC 5798; v2: the skew is in seconds).
pub fn master_down_interval(version: u8, advert_ms: u64, priority: u8) -> Duration {
    3 * Duration::from_millis(advert_ms) + skew_time(version, advert_ms, priority)
}

/// Skew_Time of a backup of `priority`: how long it waits after a priority 0 advertisement.
pub fn skew_time(version: u8, advert_ms: u64, priority: u8) -> Duration {
    let weight = 256 - u64::from(priority);
    match version {
        2 => Duration::from_micros(weight * 1_000_000 / 256),
        _ => Duration::from_micros(weight * advert_ms * 1000 / 256),
    }
}

/// Helpers to drive the VRRP groups of directors through their REST API.
pub mod director {
    use crate::daemon::Daemon;
    use reqwest::Method;
    use serde_json::{json, Value};
    use std::net::IpAddr;
    use std::time::{Duration, Instant};

    /// A VRRP group for nodes `(name, priority)` on `eth0`.
    pub fn group(
        name: &str,
        vrid: u8,
        version: u8,
        advert_ms: u64,
        vips: &[IpAddr],
        members: &[(&str, u8)],
    ) -> Value {
        let members: Vec<Value> = members
            .iter()
            .map(|(node, priority)| json!({"node": node, "interface": super::IFACE, "priority": priority}))
            .collect();
        json!({
            "name": name, "vrid": vrid, "version": version, "advert_interval_ms": advert_ms,
            "virtual_addresses": vips.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            "members": members,
        })
    }

    /// POSTs a group; panics unless 201.
    pub async fn create_group(d: &Daemon, group: &Value) {
        let (status, body) = d
            .call(Method::POST, "/api/v1/vrrp-groups", Some(group.clone()))
            .await;
        assert_eq!(status, 201, "creating the VRRP group: {body}");
    }

    /// This node's status of the group (`status` of `GET /api/v1/vrrp-groups/{name}`), Null when absent.
    pub async fn status(d: &Daemon, name: &str) -> Value {
        let (code, body) = d
            .call(Method::GET, &format!("/api/v1/vrrp-groups/{name}"), None)
            .await;
        assert_eq!(code, 200, "GET the VRRP group {name}: {body}");
        body["status"].clone()
    }

    /// Waits until the node's role in the group is `role`; returns the status.
    pub async fn wait_role(d: &Daemon, name: &str, role: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let s = status(d, name).await;
            if s["role"] == role {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "{name} did not become {role} within {timeout:?}; status: {s}\nlog:\n{}",
                d.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The VRRP transitions of the node's audit log, oldest first (their summaries).
    pub async fn transitions(d: &Daemon, group: &str) -> Vec<String> {
        let body = d
            .get(&format!(
                "/api/v1/audit?kind=vrrp_group&via=vrrp&action=transition&object={group}&limit=1000"
            ))
            .await;
        let mut out: Vec<String> = body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["summary"].as_str().unwrap_or_default().to_string())
            .collect();
        out.reverse();
        out
    }
}
