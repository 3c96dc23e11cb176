//! Smoke test of the IPVS client against a real kernel (needs root and `ip_vs`):
//! creates a service and destinations, dumps, changes the weight, deletes, and
//! prints the table at each step. Exits non-zero at the first mismatch.
//!
//! Leaves the table as it found it. It refuses to run when the table already
//! holds the service it uses (`tcp 10.250.0.1:80`).
//!
//! `cargo run -p director-ipvs --example ipvs_smoke` (then compare with `ipvsadm -Ln`).
//! With `--keep`, stops before the deletions so `ipvsadm -Ln` can be compared.
//! With `--dump`, only prints the current table (e.g. one made with `ipvsadm`);
//! `--dump --flush` then flushes the whole table and checks it is empty.
//! With `IPVS_SMOKE_IPVSADM=1`, also prints `ipvsadm -Ln` (plain and
//! `--thresholds`) after each step, lines prefixed with `ipvsadm| `.

use std::net::IpAddr;
use std::process::ExitCode;

use director_ipvs::{
    Destination, Error, Family, Forwarding, IpvsClient, Protocol, Service, ServiceKey, Stats,
    Table, Tunnel, TunnelType,
};

fn print(step: &str, table: &Table) {
    println!("== {step}");
    for s in &table.services {
        let svc = &s.service;
        println!(
            "{}  {} flags={:?} timeout={} netmask={:#x} pe={:?} {}",
            svc.key,
            svc.scheduler,
            svc.flags,
            svc.timeout,
            svc.netmask,
            svc.pe_name,
            counters(&s.stats)
        );
        for d in &s.destinations {
            let dest = &d.destination;
            println!(
                "  -> {}  {:?} weight={} u={} l={} tunnel={:?} active={} inactive={} {}",
                dest.socket_addr(),
                dest.forwarding,
                dest.weight,
                dest.upper_threshold,
                dest.lower_threshold,
                dest.tunnel,
                d.status.active_conns,
                d.status.inactive_conns,
                counters(&d.status.stats)
            );
        }
    }
    ipvsadm_view();
}

/// The counters `ipvsadm -Ln --stats --exact` shows.
fn counters(s: &Stats) -> String {
    format!(
        "conns={} inpkts={} outpkts={} inbytes={} outbytes={}",
        s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes
    )
}

/// The kernel table as `ipvsadm` sees it, for comparison.
fn ipvsadm_view() {
    if std::env::var_os("IPVS_SMOKE_IPVSADM").is_none() {
        return;
    }
    for args in [&["-Ln"][..], &["-Ln", "--thresholds"][..]] {
        match std::process::Command::new("ipvsadm").args(args).output() {
            Ok(out) => {
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    println!("ipvsadm| {line}");
                }
            }
            Err(err) => println!("ipvsadm| cannot run ipvsadm: {err}"),
        }
    }
}

fn check(what: &str, ok: bool) -> Result<(), String> {
    if ok {
        println!("ok: {what}");
        Ok(())
    } else {
        Err(format!("FAILED: {what}"))
    }
}

fn run(keep: bool) -> Result<(), String> {
    let e = |e: Error| e.to_string();
    let client = IpvsClient::connect().map_err(e)?;
    let info = client.info().map_err(e)?;
    println!(
        "IPVS {} (connection table size {})",
        info.version_string(),
        info.conn_tab_size
    );

    let key = ServiceKey::Address {
        protocol: Protocol::Tcp,
        address: "10.250.0.1".parse::<IpAddr>().unwrap(),
        port: 80,
    };
    if client.dump().map_err(e)?.get(&key).is_some() {
        return Err(format!("{key} already exists; not touching it"));
    }

    let mut svc = Service::new(key.clone(), "wrr");
    svc.flags.persistent = true;
    svc.timeout = 300;
    svc.netmask = 0xffff_ff00;
    client.new_service(&svc).map_err(e)?;

    let mut d1 = Destination::new("10.250.0.11".parse().unwrap(), 8080, Forwarding::Masq, 1);
    d1.upper_threshold = 100;
    d1.lower_threshold = 10;
    let d2 = Destination::new("10.250.0.12".parse().unwrap(), 8080, Forwarding::Route, 2);
    client.new_dest(&key, &d1).map_err(e)?;
    client.new_dest(&key, &d2).map_err(e)?;

    let t = client.dump().map_err(e)?;
    print("after NEW_SERVICE + 2 x NEW_DEST", &t);
    let entry = t.get(&key).ok_or("service missing after NEW_SERVICE")?;
    check("service reads back as written", entry.service == svc)?;
    let dests: Vec<_> = entry.destinations.iter().map(|d| &d.destination).collect();
    check("destinations read back as written", dests == vec![&d1, &d2])?;

    // Errors carry the operation and errno.
    match client.new_dest(&key, &d1) {
        Err(err) if err.raw_os_error() == Some(17) => println!("ok: duplicate NEW_DEST -> {err}"),
        other => return Err(format!("FAILED: duplicate NEW_DEST gave {other:?}")),
    }

    let d1_heavy = Destination {
        weight: 5,
        ..d1.clone()
    };
    client.set_dest(&key, &d1_heavy).map_err(e)?;
    let mut svc2 = svc.clone();
    svc2.scheduler = "rr".into();
    svc2.flags.persistent = false;
    svc2.timeout = 0;
    client.set_service(&svc2).map_err(e)?;
    let t = client.dump().map_err(e)?;
    print("after SET_DEST weight 5 + SET_SERVICE rr", &t);
    let entry = t.get(&key).ok_or("service missing after SET")?;
    check(
        "SET_SERVICE changed scheduler and flags",
        entry.service == svc2,
    )?;
    check(
        "SET_DEST changed the weight",
        entry.destinations[0].destination == d1_heavy,
    )?;

    client.zero(Some(&key)).map_err(e)?;
    client.zero(None).map_err(e)?;
    println!("ok: ZERO service and ZERO all");

    if keep {
        println!("--keep: leaving {key} in place");
        return Ok(());
    }

    client.del_dest(&key, d2.address, d2.port).map_err(e)?;
    let t = client.dump().map_err(e)?;
    print("after DEL_DEST", &t);
    check(
        "DEL_DEST removed one destination",
        t.get(&key).map(|s| s.destinations.len()) == Some(1),
    )?;
    client.del_service(&key).map_err(e)?;
    let t = client.dump().map_err(e)?;
    print("after DEL_SERVICE", &t);
    check("DEL_SERVICE removed the service", t.get(&key).is_none())?;
    match client.del_service(&key) {
        Err(err) if err.raw_os_error() == Some(3) => println!("ok: second DEL_SERVICE -> {err}"),
        other => return Err(format!("FAILED: second DEL_SERVICE gave {other:?}")),
    }
    ipv6_fwmark_tunnel(&client)
}

/// IPv6 (prefix-length netmask), scheduler flags, a fwmark service and a
/// mixed-family GUE tunnel destination: written, read back, compared, deleted.
fn ipv6_fwmark_tunnel(client: &IpvsClient) -> Result<(), String> {
    let e = |e: Error| e.to_string();
    let v6 = ServiceKey::Address {
        protocol: Protocol::Udp,
        address: "2001:db8::1".parse().unwrap(),
        port: 53,
    };
    let fw = ServiceKey::Fwmark {
        mark: 7,
        family: Family::Inet6,
    };
    let dump = client.dump().map_err(e)?;
    if dump.get(&v6).is_some() || dump.get(&fw).is_some() {
        return Err(format!("{v6} or {fw} already exists; not touching them"));
    }
    let mut s6 = Service::new(v6.clone(), "mh");
    s6.flags.persistent = true;
    s6.flags.sched_flag_2 = true;
    s6.timeout = 60;
    s6.netmask = 64;
    let d6 = Destination::new("2001:db8::11".parse().unwrap(), 53, Forwarding::Route, 1);
    let mut sfw = Service::new(fw.clone(), "sh");
    sfw.flags.sched_flag_1 = true;
    let mut dfw = Destination::new("10.250.0.21".parse().unwrap(), 0, Forwarding::Tunnel, 3);
    dfw.tunnel = Some(Tunnel {
        kind: TunnelType::Gue,
        port: 6080,
        csum: true,
        remcsum: false,
    });
    client.new_service(&s6).map_err(e)?;
    client.new_dest(&v6, &d6).map_err(e)?;
    client.new_service(&sfw).map_err(e)?;
    client.new_dest(&fw, &dfw).map_err(e)?;
    let t = client.dump().map_err(e)?;
    print("after IPv6 + fwmark services", &t);
    let got6 = t.get(&v6).ok_or("IPv6 service missing")?;
    check("IPv6 service reads back as written", got6.service == s6)?;
    check(
        "IPv6 destination reads back as written",
        got6.destinations.iter().map(|d| &d.destination).eq([&d6]),
    )?;
    let gotfw = t.get(&fw).ok_or("fwmark service missing")?;
    check("fwmark service reads back as written", gotfw.service == sfw)?;
    check(
        "mixed-family GUE destination reads back as written",
        gotfw.destinations.iter().map(|d| &d.destination).eq([&dfw]),
    )?;
    client.del_service(&v6).map_err(e)?;
    client.del_service(&fw).map_err(e)?;
    check(
        "both deleted",
        client.dump().map_err(e)?.get(&v6).is_none()
            && client.dump().map_err(e)?.get(&fw).is_none(),
    )
}

/// `--flush`: FLUSH empties the whole table. Only for throw-away machines.
fn flush(client: &IpvsClient) -> Result<(), String> {
    let e = |e: Error| e.to_string();
    client.flush().map_err(e)?;
    let t = client.dump().map_err(e)?;
    print("after FLUSH", &t);
    check("FLUSH emptied the table", t.services.is_empty())
}

fn dump_only(and_flush: bool) -> Result<(), String> {
    let client = IpvsClient::connect().map_err(|e| e.to_string())?;
    print("dump", &client.dump().map_err(|e| e.to_string())?);
    if and_flush {
        flush(&client)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let keep = std::env::args().any(|a| a == "--keep");
    let has = |flag: &str| std::env::args().any(|a| a == flag);
    let result = if has("--dump") {
        dump_only(has("--flush"))
    } else {
        run(keep)
    };
    match result {
        Ok(()) => {
            println!("ipvs_smoke: all checks passed");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("ipvs_smoke: {msg}");
            ExitCode::FAILURE
        }
    }
}
