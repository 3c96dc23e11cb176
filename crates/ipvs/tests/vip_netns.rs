//! The VIP binder against the real kernel, inside a network namespace of its own.
//!
//! Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN for `ip netns` / `setns`) and
//! iproute2. Not skipped when those are missing: it fails and says why.

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};

use director_ipvs::{Error, VipBinder};

/// A named network namespace, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn create(tag: &str) -> Netns {
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "the VIP binder test needs root: it creates a network namespace \
             (run `cargo test -p director-ipvs` as root, e.g. in the dev container)"
        );
        let name = format!("dir-ipvs-{tag}-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        run(&["ip", "netns", "add", &name]);
        Netns { name }
    }

    /// Runs `ip -n <ns> <args>` and returns its stdout.
    fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["ip", "-n", &self.name];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Runs `f` on a thread that has entered the namespace (netns is per thread).
    fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let ns = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("namespace thread panicked")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?} (is iproute2 installed?): {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn vip_lifecycle_in_a_network_namespace() {
    let ns = Netns::create("vip");
    ns.ip(&[
        "link", "add", "dvip0", "type", "veth", "peer", "name", "dvip1",
    ]);
    ns.ip(&["link", "set", "dvip0", "up"]);
    // An address the operator added by hand: director must leave it alone.
    ns.ip(&["addr", "add", "192.0.2.99/32", "dev", "dvip0"]);

    ns.enter(|| {
        let b = VipBinder::connect().unwrap();
        let (v4, v6) = (ip("192.0.2.10"), ip("2001:db8::10"));

        assert!(b.add("dvip0", v4).unwrap(), "first add adds");
        assert!(
            !b.add("dvip0", v4).unwrap(),
            "second add is a no-op (EEXIST)"
        );
        assert!(b.add("dvip0", v6).unwrap());
        assert!(!b.add("dvip0", v6).unwrap());
        assert_eq!(b.owned("dvip0").unwrap(), vec![v4, v6]);

        // Adding an address the operator owns is "already there", and it stays foreign.
        assert!(!b.add("dvip0", ip("192.0.2.99")).unwrap());
        assert_eq!(b.owned("dvip0").unwrap(), vec![v4, v6]);
        match b.remove("dvip0", ip("192.0.2.99")) {
            Err(Error::NotOwned { interface, address }) => {
                assert_eq!((interface.as_str(), address), ("dvip0", ip("192.0.2.99")));
            }
            other => panic!("expected NotOwned, got {other:?}"),
        }

        match b.add("nosuch0", v4) {
            Err(Error::NoSuchInterface(name)) => assert_eq!(name, "nosuch0"),
            other => panic!("expected NoSuchInterface, got {other:?}"),
        }
        assert!(matches!(b.owned("nosuch0"), Err(Error::NoSuchInterface(_))));
    });

    // What iproute2 sees: the label, the /32 and /128, no DAD (not tentative).
    let v4 = ns.ip(&["-4", "addr", "show", "dev", "dvip0"]);
    assert!(
        v4.contains("inet 192.0.2.10/32 scope global dvip0:dir"),
        "{v4}"
    );
    assert!(
        v4.contains("inet 192.0.2.99/32 scope global dvip0\n"),
        "{v4}"
    );
    let v6 = ns.ip(&["-6", "addr", "show", "dev", "dvip0"]);
    assert!(
        v6.contains("inet6 2001:db8::10/128 scope global nodad"),
        "{v6}"
    );
    assert!(!v6.contains("tentative"), "{v6}");

    ns.enter(|| {
        let b = VipBinder::connect().unwrap();
        let (v4, v6) = (ip("192.0.2.10"), ip("2001:db8::10"));
        assert!(b.remove("dvip0", v4).unwrap(), "first remove removes");
        assert!(!b.remove("dvip0", v4).unwrap(), "second remove is a no-op");
        assert!(b.remove("dvip0", v6).unwrap());
        assert!(!b.remove("dvip0", v6).unwrap());
        assert_eq!(b.owned("dvip0").unwrap(), Vec::<IpAddr>::new());
    });

    let all = ns.ip(&["addr", "show", "dev", "dvip0"]);
    assert!(!all.contains("192.0.2.10"), "{all}");
    assert!(!all.contains("2001:db8::10"), "{all}");
    assert!(
        all.contains("192.0.2.99/32"),
        "the operator's address survives: {all}"
    );
}

/// On an interface whose name leaves no room for the `:dir` label, ownership
/// rests on IFA_PROTO alone.
#[test]
fn long_interface_name_relies_on_the_protocol_mark() {
    let ns = Netns::create("long");
    let name = "dvipverylong0"; // 13 bytes: "dvipverylong0:dir" would be 17
    ns.ip(&[
        "link", "add", name, "type", "veth", "peer", "name", "dvipl1",
    ]);
    ns.ip(&["link", "set", name, "up"]);
    ns.enter(move || {
        let b = VipBinder::connect().unwrap();
        assert!(b.add(name, ip("198.51.100.7")).unwrap());
        assert_eq!(b.owned(name).unwrap(), vec![ip("198.51.100.7")]);
        assert!(b.remove(name, ip("198.51.100.7")).unwrap());
        assert!(b.owned(name).unwrap().is_empty());
    });
}
