//! The corpus under `tests/corpus/`, read from disk through `FsSource`, checked field by field.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use director_keepalived::config::*;
use director_keepalived::{parse_file, ErrorKind, FsSource, Parsed};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

fn load(name: &str) -> Parsed {
    parse_file(&FsSource, corpus(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn unmapped(parsed: &Parsed) -> Vec<(u32, &str, &str)> {
    parsed
        .unmapped
        .iter()
        .map(|u| (u.line, u.keyword.as_str(), u.context.as_str()))
        .collect()
}

fn notify(command: &str) -> Option<NotifyScript> {
    Some(NotifyScript {
        command: command.to_owned(),
        user: None,
    })
}

#[test]
fn lvs_dr_master() {
    let p = load("lvs-dr-master.conf");
    let c = &p.config;

    let g = &c.global_defs;
    assert_eq!(g.router_id.as_deref(), Some("LVS_01"));
    assert_eq!(
        g.notification_email,
        ["ops@example.com", "NOC <noc@example.com>"]
    );
    assert_eq!(
        g.notification_email_from.as_deref(),
        Some("lvs-01@example.com")
    );
    assert_eq!(
        g.smtp_server,
        Some(SmtpServer {
            host: "192.168.10.25".into(),
            port: Some(25)
        })
    );
    assert_eq!(g.smtp_connect_timeout, Some(Duration::from_secs(30)));
    assert!(g.vrrp_skip_check_adv_addr);
    assert_eq!(g.vrrp_garp_interval, Some(Duration::from_millis(1)));
    assert_eq!(g.vrrp_gna_interval, Some(Duration::from_micros(1)));
    assert!(g.enable_script_security);
    assert_eq!(
        g.script_user,
        Some(ScriptUser {
            user: "keepalived_script".into(),
            group: None
        })
    );

    let s = &c.vrrp_scripts[0];
    assert_eq!(s.name, "chk_ipvs");
    assert_eq!(
        s.script.as_deref(),
        Some("/usr/local/bin/check_ipvs.sh --quiet")
    );
    assert_eq!(s.interval, Some(Duration::from_secs(2)));
    assert_eq!(s.timeout, Some(Duration::from_secs(3)));
    assert_eq!((s.weight, s.weight_reverse), (Some(-20), false));
    assert_eq!((s.rise, s.fall), (Some(2), Some(3)));
    assert_eq!(s.user.as_ref().map(|u| u.user.as_str()), Some("root"));

    let vi = &c.vrrp_instances[0];
    assert_eq!(vi.name, "VI_1");
    assert_eq!(vi.state, Some(VrrpState::Master));
    assert_eq!(vi.interface.as_deref(), Some("ens33"));
    assert_eq!(vi.virtual_router_id, Some(51));
    assert_eq!(vi.priority, Some(100));
    assert_eq!(vi.advert_int, Some(Duration::from_secs(1)));
    assert!(!vi.nopreempt);
    assert_eq!(
        vi.authentication,
        Some(Authentication {
            auth_type: Some(AuthType::Pass),
            auth_pass: Some("1111".into())
        })
    );
    assert_eq!(
        vi.virtual_ipaddress,
        [
            VirtualIp {
                prefix_len: Some(24),
                dev: Some("ens33".into()),
                label: Some("ens33:1".into()),
                ..VirtualIp::new(ip("192.168.10.180"))
            },
            VirtualIp {
                prefix_len: Some(32),
                dev: Some("ens33".into()),
                scope: Some(Scope::Global),
                ..VirtualIp::new(ip("192.168.10.181"))
            },
        ]
    );
    assert_eq!(
        vi.track_interface,
        [
            TrackInterface {
                name: "ens33".into(),
                weight: None,
                reverse: false
            },
            TrackInterface {
                name: "ens34".into(),
                weight: Some(-30),
                reverse: false
            },
        ]
    );
    assert_eq!(
        vi.track_script,
        [TrackScript {
            name: "chk_ipvs".into(),
            weight: None,
            reverse: None
        }]
    );
    assert_eq!(vi.garp_master_delay, Some(Duration::from_secs(1)));
    assert_eq!(vi.smtp_alert, Some(true));
    assert_eq!(
        vi.notify_master,
        notify("/etc/keepalived/notify.sh master VI_1")
    );
    assert_eq!(
        vi.notify_backup,
        notify("/etc/keepalived/notify.sh backup VI_1")
    );
    assert_eq!(
        vi.notify_fault,
        Some(NotifyScript {
            command: "/etc/keepalived/notify.sh fault VI_1".into(),
            user: Some(ScriptUser {
                user: "root".into(),
                group: None
            })
        })
    );

    assert_eq!(c.virtual_servers.len(), 2);
    let vs = &c.virtual_servers[0];
    assert_eq!(
        vs.key,
        VirtualServerKey::Address {
            address: ip("192.168.10.180"),
            port: Some(80)
        }
    );
    assert_eq!(vs.delay_loop, Some(Duration::from_secs(6)));
    assert_eq!(vs.lvs_sched, Some(Scheduler::Wrr));
    assert_eq!(vs.lvs_method, Some(LvsMethod::Dr));
    assert_eq!(vs.persistence_timeout, Some(50));
    assert_eq!(vs.protocol, Some(Protocol::Tcp));
    assert_eq!(vs.real_servers.len(), 2);
    let rs = &vs.real_servers[0];
    assert_eq!(
        (rs.address, rs.port, rs.weight),
        (ip("192.168.10.120"), Some(80), Some(3))
    );
    assert_eq!(rs.inhibit_on_failure, Some(true));
    assert_eq!(
        rs.checks,
        [HealthCheck::Tcp(TcpCheck {
            connection: Connection {
                connect_port: Some(80),
                ..Connection::default()
            },
            options: CheckOptions {
                connect_timeout: Some(Duration::from_secs(3)),
                retry: Some(3),
                delay_before_retry: Some(Duration::from_secs(3)),
                ..CheckOptions::default()
            },
        })]
    );
    assert_eq!(vs.real_servers[1].inhibit_on_failure, None);

    // Old spellings and the default persistence timeout.
    let vs = &c.virtual_servers[1];
    assert_eq!(vs.lvs_sched, Some(Scheduler::Wlc));
    assert_eq!(vs.lvs_method, Some(LvsMethod::Dr));
    assert_eq!(vs.persistence_timeout, Some(360));

    assert_eq!(
        unmapped(&p),
        [
            (18, "vrrp_garp_lower_prio_repeat", "global_defs"),
            (57, "use_vmac", "vrrp_instance VI_1"),
        ]
    );
    let u = &p.unmapped[0];
    assert_eq!(u.file, corpus("lvs-dr-master.conf"));
}

#[test]
fn lvs_dr_backup() {
    let p = load("lvs-dr-backup.conf");
    let c = &p.config;
    assert_eq!(c.global_defs.router_id.as_deref(), Some("LVS_02"));
    let s = &c.vrrp_scripts[0];
    assert_eq!(s.script.as_deref(), Some("/usr/local/bin/check_ipvs.sh"));
    assert_eq!((s.weight, s.weight_reverse), (Some(-20), true));

    let vi = &c.vrrp_instances[0];
    assert_eq!(vi.state, Some(VrrpState::Backup));
    assert_eq!(vi.priority, Some(90));
    assert!(vi.nopreempt);
    assert_eq!(vi.preempt_delay, None);
    assert_eq!(vi.unicast_src_ip, Some(ip("192.168.10.12")));
    assert_eq!(vi.unicast_peer, [ip("192.168.10.11")]);
    assert_eq!(
        vi.track_script,
        [TrackScript {
            name: "chk_ipvs".into(),
            weight: Some(-30),
            reverse: Some(false)
        }]
    );
    assert_eq!(vi.notify, notify("/etc/keepalived/notify-all.sh"));
    assert_eq!(vi.notify_master, None);

    // Same virtual server as the MASTER.
    let master = load("lvs-dr-master.conf");
    let mut expected = master.config.virtual_servers[0].clone();
    expected.real_servers[0].inhibit_on_failure = None;
    if let HealthCheck::Tcp(t) = &mut expected.real_servers[0].checks[0] {
        t.connection.connect_port = None;
        t.options.retry = None;
        t.options.delay_before_retry = None;
    }
    assert_eq!(c.virtual_servers, [expected]);
    assert!(p.unmapped.is_empty(), "{:?}", p.unmapped);
}

#[test]
fn nat_http_get_with_digest() {
    let p = load("nat-http-digest.conf");
    let c = &p.config;
    assert!(c.global_defs.lvs_flush);

    let vi = &c.vrrp_instances[0];
    assert_eq!(
        vi.virtual_ipaddress,
        [VirtualIp {
            prefix_len: Some(24),
            brd: Some(Broadcast::Address(ip("10.10.0.255"))),
            dev: Some("eth0".into()),
            ..VirtualIp::new(ip("10.10.0.1"))
        }]
    );
    assert_eq!(
        vi.virtual_ipaddress_excluded,
        [VirtualIp {
            prefix_len: Some(24),
            dev: Some("eth1".into()),
            no_track: true,
            ..VirtualIp::new(ip("10.20.0.1"))
        }]
    );

    let vs = &c.virtual_servers[0];
    assert_eq!(vs.lvs_sched, Some(Scheduler::Rr));
    assert_eq!(vs.lvs_method, Some(LvsMethod::Nat));
    assert_eq!((vs.quorum, vs.hysteresis), (Some(2), Some(1)));
    assert_eq!(vs.quorum_up, notify("/usr/local/bin/quorum.sh up"));
    assert_eq!(vs.quorum_down, notify("/usr/local/bin/quorum.sh down"));
    assert_eq!(
        vs.sorry_server,
        Some(SorryServer {
            address: ip("10.20.0.250"),
            port: Some(8080),
            inhibit: true,
            lvs_method: None
        })
    );
    assert!(vs.alpha && vs.omega);
    assert_eq!(vs.virtualhost.as_deref(), Some("www.example.com"));

    let rs = &vs.real_servers[0];
    assert_eq!(
        (rs.weight, rs.uthreshold, rs.lthreshold),
        (Some(10), Some(1000), Some(100))
    );
    assert_eq!(rs.notify_up, notify("/usr/local/bin/rs.sh up 10.20.0.11"));
    assert_eq!(
        rs.notify_down,
        notify("/usr/local/bin/rs.sh down 10.20.0.11")
    );
    let HealthCheck::HttpGet(http) = &rs.checks[0] else {
        panic!("expected HTTP_GET, got {:?}", rs.checks)
    };
    assert_eq!(
        http.urls,
        [
            HttpUrl {
                path: Some("/healthz".into()),
                digest: Some("9b3a0c85a887a256d6939da88aabd8cd".into()),
                status_code: vec![StatusCodeRange {
                    first: 200,
                    last: 200
                }],
                virtualhost: None,
            },
            HttpUrl {
                path: Some("/index.html".into()),
                digest: None,
                status_code: vec![
                    StatusCodeRange {
                        first: 200,
                        last: 299
                    },
                    StatusCodeRange {
                        first: 301,
                        last: 301
                    },
                    StatusCodeRange {
                        first: 302,
                        last: 302
                    },
                ],
                virtualhost: Some("static.example.com".into()),
            },
            HttpUrl {
                path: Some("/metrics".into()),
                ..HttpUrl::default()
            },
        ]
    );
    assert_eq!(http.options.connect_timeout, Some(Duration::from_secs(5)));
    assert_eq!(http.options.retry, Some(3), "nb_get_retry is retry");
    assert_eq!(
        http.options.delay_before_retry,
        Some(Duration::from_millis(2500))
    );
    assert_eq!(http.http_protocol, Some(HttpProtocol::Http11));

    let HealthCheck::HttpGet(http) = &vs.real_servers[1].checks[0] else {
        panic!("expected HTTP_GET")
    };
    assert_eq!(
        http.connection,
        Connection {
            connect_ip: Some(ip("10.20.0.12")),
            connect_port: Some(8081),
            bindto: Some(ip("10.20.0.2")),
            ..Connection::default()
        }
    );
    assert_eq!(
        http.urls[0].digest.as_deref(),
        Some("9B3A0C85A887A256D6939DA88AABD8CD")
    );

    assert_eq!(
        unmapped(&p),
        [
            (35, "snmp_name", "virtual_server 10.10.0.100 8080"),
            (
                56,
                "regex",
                "virtual_server 10.10.0.100 8080 > real_server 10.20.0.11 8080 > HTTP_GET > url"
            ),
        ]
    );
}

#[test]
fn ssl_get() {
    let p = load("ssl-get.conf");
    let vs = &p.config.virtual_servers[0];
    assert_eq!(vs.lvs_sched, Some(Scheduler::Lc));
    assert_eq!(vs.persistence_timeout, Some(600));
    assert_eq!(
        vs.persistence_granularity,
        Some(PersistenceGranularity::Netmask(Ipv4Addr::new(
            255, 255, 255, 0
        )))
    );
    let HealthCheck::SslGet(ssl) = &vs.real_servers[0].checks[0] else {
        panic!("expected SSL_GET")
    };
    assert!(ssl.enable_sni && ssl.tls_compliant);
    assert_eq!(ssl.sni_name.as_deref(), Some("api.example.com"));
    assert_eq!(ssl.virtualhost.as_deref(), Some("api.example.com"));
    assert_eq!(
        ssl.options,
        CheckOptions {
            connect_timeout: Some(Duration::from_secs(4)),
            retry: Some(2),
            delay_before_retry: Some(Duration::from_secs(1)),
            warmup: Some(Duration::from_secs(5)),
            ..CheckOptions::default()
        }
    );
    assert_eq!(ssl.urls[0].path.as_deref(), Some("/status"));
    let rs = &vs.real_servers[1];
    assert_eq!(rs.checks.len(), 1, "SMTP_CHECK is reported, not mapped");
    let HealthCheck::SslGet(ssl) = &rs.checks[0] else {
        panic!("expected SSL_GET")
    };
    assert_eq!(ssl.urls[0].status_code.len(), 2);
    assert_eq!(
        unmapped(&p),
        [
            (1, "SSL", "top level"),
            (
                41,
                "SMTP_CHECK",
                "virtual_server 203.0.113.10 443 > real_server 192.168.50.22 443"
            ),
        ]
    );
}

#[test]
fn misc_check_with_misc_dynamic() {
    let p = load("misc-check.conf");
    let vs = &p.config.virtual_servers[0];
    assert!(vs.inhibit_on_failure && vs.ha_suspend);
    let HealthCheck::Misc(m) = &vs.real_servers[0].checks[0] else {
        panic!("expected MISC_CHECK")
    };
    assert_eq!(
        m,
        &MiscCheck {
            options: CheckOptions {
                warmup: Some(Duration::from_secs(3)),
                ..CheckOptions::default()
            },
            misc_path: Some("/etc/keepalived/pg_check.sh 10.0.5.21 5432".into()),
            misc_timeout: Some(Duration::from_secs(10)),
            misc_dynamic: true,
            user: Some(ScriptUser {
                user: "postgres".into(),
                group: None
            }),
        }
    );
    let HealthCheck::Misc(m) = &vs.real_servers[1].checks[0] else {
        panic!("expected MISC_CHECK")
    };
    assert!(!m.misc_dynamic);
    assert_eq!(m.misc_timeout, Some(Duration::from_secs(8)));
    assert_eq!(m.options.retry, Some(2));
    assert_eq!(
        m.user,
        Some(ScriptUser {
            user: "postgres".into(),
            group: Some("postgres".into())
        })
    );
    assert!(p.unmapped.is_empty());
}

#[test]
fn sync_groups() {
    let p = load("sync-groups.conf");
    let c = &p.config;
    let g = &c.vrrp_sync_groups[0];
    assert_eq!(g.name, "VG_1");
    assert_eq!(g.group, ["VI_OUTSIDE", "VI_INSIDE"]);
    assert_eq!(g.notify_master, notify("/etc/keepalived/sync.sh MASTER"));
    assert_eq!(g.notify_backup, notify("/etc/keepalived/sync.sh BACKUP"));
    assert_eq!(g.notify_fault, notify("/etc/keepalived/sync.sh FAULT"));
    assert_eq!(g.notify_stop, notify("/etc/keepalived/stop.sh"));
    assert_eq!(g.smtp_alert, Some(false));

    let names: Vec<&str> = c.vrrp_instances.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["VI_OUTSIDE", "VI_INSIDE"]);
    assert_eq!(c.vrrp_instances[0].advert_int, Some(Duration::from_secs(2)));
    assert_eq!(
        c.vrrp_instances[0].preempt_delay,
        Some(Duration::from_millis(2500))
    );
    let inside = &c.vrrp_instances[1];
    assert_eq!(
        inside.virtual_ipaddress,
        [VirtualIp {
            prefix_len: Some(24),
            dev: Some("eth1".into()),
            ..VirtualIp::new(ip("10.1.0.1"))
        }]
    );
    assert_eq!(
        inside.authentication,
        Some(Authentication {
            auth_type: Some(AuthType::Ah),
            auth_pass: Some("secret12".into())
        })
    );
    assert_eq!(
        unmapped(&p),
        [(12, "global_tracking", "vrrp_sync_group VG_1")]
    );
}

#[test]
fn fwmark_services() {
    let p = load("fwmark.conf");
    let c = &p.config;
    let vs = &c.virtual_servers[0];
    assert_eq!(vs.key, VirtualServerKey::Fwmark(1));
    assert_eq!(vs.lvs_sched, Some(Scheduler::Sh));
    assert_eq!(
        vs.sched_flags,
        BTreeSet::from([SchedulerFlag::ShPort, SchedulerFlag::ShFallback])
    );
    assert!(!vs.ops);
    assert_eq!(vs.persistence_timeout, Some(300));
    let rs = &vs.real_servers[0];
    assert_eq!((rs.address, rs.port), (ip("10.0.0.21"), None));

    let vs = &c.virtual_servers[1];
    assert_eq!(vs.key, VirtualServerKey::Fwmark(2));
    assert_eq!(
        vs.sched_flags,
        BTreeSet::from([SchedulerFlag::MhPort, SchedulerFlag::Flag1])
    );
    assert!(vs.ops);
    assert_eq!(
        vs.lvs_method,
        Some(LvsMethod::Tun(TunnelOptions {
            tunnel_type: TunnelType::Gue { port: 6080 },
            checksum: Some(TunnelChecksum::Csum)
        }))
    );
    assert_eq!(vs.protocol, None);
    assert_eq!(vs.ip_family, Some(IpFamily::Inet));
    let rs = &vs.real_servers[0];
    assert_eq!((rs.address, rs.port), (ip("10.0.1.31"), None));
    assert_eq!(
        rs.lvs_method,
        Some(LvsMethod::Tun(TunnelOptions::default()))
    );
    assert_eq!(rs.weight, None);
    assert!(p.unmapped.is_empty());
}

#[test]
fn ipv6_virtual_servers_and_vips() {
    let p = load("ipv6.conf");
    let c = &p.config;
    assert_eq!(c.global_defs.vrrp_version, Some(VrrpVersion::V3));
    assert_eq!(
        c.global_defs.vrrp_mcast_group6,
        Some("ff02::12".parse::<Ipv6Addr>().unwrap())
    );
    let vi = &c.vrrp_instances[0];
    assert_eq!(vi.advert_int, Some(Duration::from_millis(500)));
    assert_eq!(vi.version, Some(VrrpVersion::V3));
    assert_eq!(vi.virtual_ipaddress[0].address, ip("fe80::1"));
    assert_eq!(vi.virtual_ipaddress[1].address, ip("2001:db8:10::100"));
    assert_eq!(vi.virtual_ipaddress[1].prefix_len, Some(64));
    assert_eq!(vi.unicast_src_ip, Some(ip("2001:db8:10::2")));
    assert_eq!(vi.unicast_peer, [ip("2001:db8:10::3")]);

    let vs = &c.virtual_servers[0];
    assert_eq!(
        vs.key,
        VirtualServerKey::Address {
            address: ip("2001:db8:10::100"),
            port: Some(80)
        }
    );
    assert_eq!(
        vs.persistence_granularity,
        Some(PersistenceGranularity::PrefixLen(64))
    );
    assert_eq!(
        vs.sorry_server.as_ref().map(|s| (s.address, s.port)),
        Some((ip("2001:db8:20::99"), Some(80)))
    );
    assert_eq!(vs.real_servers[0].address, ip("2001:db8:20::11"));
    let HealthCheck::Tcp(tcp) = &vs.real_servers[1].checks[0] else {
        panic!("expected TCP_CHECK")
    };
    assert_eq!(tcp.connection.bindto, Some(ip("2001:db8:10::2")));
    assert_eq!(tcp.connection.bind_port, Some(40000));
}

#[test]
fn includes_with_globs() {
    let p = load("includes/keepalived.conf");
    let c = &p.config;
    assert_eq!(c.global_defs.router_id.as_deref(), Some("LVS_INC"));
    assert!(c.global_defs.enable_script_security);
    assert_eq!(c.vrrp_scripts[0].name, "chk_nginx");
    assert_eq!(
        c.vrrp_scripts[0].script.as_deref(),
        Some("/usr/bin/pgrep nginx")
    );
    assert_eq!(c.vrrp_instances[0].name, "VI_INC");
    assert_eq!(c.vrrp_instances[0].track_script[0].name, "chk_nginx");
    let vs = &c.virtual_servers[0];
    let rs: Vec<(IpAddr, Option<u32>)> = vs
        .real_servers
        .iter()
        .map(|r| (r.address, r.weight))
        .collect();
    assert_eq!(
        rs,
        [(ip("172.16.1.11"), Some(1)), (ip("172.16.1.12"), Some(2))]
    );
    assert!(p.unmapped.is_empty());
}

#[test]
fn include_locations_point_into_the_included_files() {
    // An error in an included file names that file and its line.
    let dir = corpus("includes");
    let src = director_keepalived::MemorySource::new()
        .with(dir.join("main.conf"), "include conf.d/*.conf\n")
        .with(
            dir.join("conf.d/a.conf"),
            "vrrp_instance A {\n\n  priority 0\n}\n",
        );
    let e = parse_file(&src, dir.join("main.conf")).unwrap_err();
    assert_eq!(e.file, dir.join("conf.d/a.conf"));
    assert_eq!(e.line, 3);
    assert_eq!(e.keyword(), Some("priority"));
}

fn bad(name: &str) -> director_keepalived::Error {
    match parse_file(&FsSource, corpus(&format!("bad/{name}"))) {
        Ok(p) => panic!("{name} parsed: {p:?}"),
        Err(e) => {
            assert_eq!(e.file, corpus(&format!("bad/{name}")));
            e
        }
    }
}

#[test]
fn bad_files_are_rejected_with_the_right_line() {
    let e = bad("unclosed-brace.conf");
    assert_eq!((e.line, &e.kind), (5, &ErrorKind::UnclosedBrace));

    let e = bad("unknown-block.conf");
    assert_eq!(e.line, 9);
    assert_eq!(
        e.kind,
        ErrorKind::UnknownTopLevel {
            keyword: "vrrp_instanse".into()
        }
    );

    let e = bad("bad-address.conf");
    assert_eq!(e.line, 7);
    assert_eq!(e.keyword(), Some("real_server"));
    assert!(matches!(&e.kind, ErrorKind::InvalidValue { value, .. } if value == "10.0.0.300"));

    let e = bad("out-of-range.conf");
    assert_eq!(e.line, 5);
    assert_eq!(e.keyword(), Some("priority"));
    assert!(matches!(&e.kind, ErrorKind::InvalidValue { value, .. } if value == "256"));

    let e = bad("unterminated-quote.conf");
    assert_eq!((e.line, &e.kind), (3, &ErrorKind::UnterminatedQuote));

    let e = bad("stray-brace.conf");
    assert_eq!((e.line, &e.kind), (4, &ErrorKind::StrayCloseBrace));

    let e = bad("bad-port.conf");
    assert_eq!(e.line, 2);
    assert!(matches!(&e.kind, ErrorKind::InvalidValue { value, .. } if value == "70000"));

    let e = bad("bad-duration.conf");
    assert_eq!(e.line, 2);
    assert_eq!(e.keyword(), Some("advert_int"));

    // The message names file, line and keyword.
    let message = bad("out-of-range.conf").to_string();
    assert!(message.contains("out-of-range.conf:5:"), "{message}");
    assert!(message.contains("priority"), "{message}");
}
