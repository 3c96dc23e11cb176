//! Property tests: the parser never panics on any input, whatever it parses writes back
//! and reads back the same, and generated typed configurations survive write -> parse.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use director_keepalived::config::*;
use director_keepalived::{parse_str, write};
use proptest::prelude::*;
use proptest::sample::select;

const CORPUS_TEXTS: &[&str] = &[
    include_str!("corpus/lvs-dr-master.conf"),
    include_str!("corpus/lvs-dr-backup.conf"),
    include_str!("corpus/nat-http-digest.conf"),
    include_str!("corpus/ssl-get.conf"),
    include_str!("corpus/misc-check.conf"),
    include_str!("corpus/sync-groups.conf"),
    include_str!("corpus/fwmark.conf"),
    include_str!("corpus/ipv6.conf"),
];

/// Pieces of keepalived.conf, to build inputs that get past the lexer.
const TOKENS: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "virtual_server",
    "real_server",
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "MISC_CHECK",
    "url",
    "path",
    "digest",
    "status_code",
    "200-299",
    "9b3a0c85a887a256d6939da88aabd8cd",
    "{",
    "}",
    "{",
    "}",
    "\n",
    "\n",
    " ",
    " ",
    "\t",
    "\"",
    "\"a b\"",
    "#",
    "!",
    "\\#",
    "include",
    "include x.conf",
    "state",
    "MASTER",
    "BACKUP",
    "priority",
    "100",
    "0",
    "256",
    "-20",
    "1.5",
    "0.000001",
    "10.0.0.1",
    "10.0.0.1/24",
    "::1",
    "2001:db8::1/64",
    "80",
    "70000",
    "weight",
    "reverse",
    "noreverse",
    "lvs_method",
    "lb_kind",
    "NAT",
    "DR",
    "TUN",
    "type",
    "gue",
    "gre",
    "port",
    "csum",
    "virtual_ipaddress",
    "dev",
    "eth0",
    "label",
    "scope",
    "global",
    "brd",
    "+",
    "no_track",
    "home",
    "fwmark",
    "group",
    "authentication",
    "auth_type",
    "PASS",
    "auth_pass",
    "notify_master",
    "sorry_server",
    "sorry_server_inhibit",
    "track_script",
    "track_interface",
    "unicast_peer",
    "min_ttl",
    "persistence_timeout",
    "persistence_granularity",
    "255.255.255.0",
    "lvs_sched",
    "sh",
    "sh-port",
    "ops",
    "delay_loop",
    "retry",
    "nb_get_retry",
    "connect_timeout",
    "misc_path",
    "misc_dynamic",
    "user",
    "enable_sni",
    "@main",
    "$X=1",
    "~SEQ(i,1,2)",
    "SSL",
    "virtual_server_group",
    "quorum",
    "hysteresis",
    "advert_int",
    "version",
    "3",
    "smtp_alert",
    "false",
    "router_id",
    "é",
    "\u{2003}",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            8 => select(TOKENS).prop_map(str::to_owned),
            1 => "\\PC{0,6}",
        ],
        0..160,
    )
    .prop_map(|parts| {
        let mut out = String::new();
        for (i, p) in parts.iter().enumerate() {
            out.push_str(p);
            if i % 3 == 0 {
                out.push(' ');
            }
        }
        out
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, &'static str),
    DuplicateLine(usize),
    Replace(usize, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), select(TOKENS)).prop_map(|(at, t)| Mutation::Insert(at, t)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (
            any::<usize>(),
            select(vec![
                '{', '}', '"', '#', ' ', '\n', '0', '9', '.', ':', '/', 'x'
            ])
        )
            .prop_map(|(at, c)| Mutation::Replace(at, c)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        let len = chars.len().max(1);
        match *m {
            Mutation::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Mutation::Insert(at, t) => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, t.chars());
            }
            Mutation::DuplicateLine(n) => {
                let s: String = chars.iter().collect();
                let lines: Vec<&str> = s.split('\n').collect();
                let i = n % lines.len();
                let mut out: Vec<&str> = lines.clone();
                out.insert(i, lines[i]);
                chars = out.join("\n").chars().collect();
            }
            Mutation::Replace(at, c) => {
                if !chars.is_empty() {
                    let at = at % chars.len();
                    chars[at] = c;
                }
            }
        }
    }
    chars.into_iter().collect()
}

/// Whatever parses must write, and read back the same.
fn check_input(text: &str) -> Result<(), TestCaseError> {
    if let Ok(parsed) = parse_str("input.conf", text) {
        let written = write(&parsed.config);
        prop_assert!(written.is_ok(), "{:?}\ninput:\n{text}", written.err());
        let written = written.unwrap_or_default();
        let again = parse_str("written.conf", &written);
        prop_assert!(again.is_ok(), "{:?}\n{written}", again.err());
        let again = again.unwrap_or_default();
        prop_assert_eq!(again.config, parsed.config);
    }
    Ok(())
}

proptest! {
    // 512 cases by default; PROPTEST_CASES=N for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        check_input(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        check_input(&text)?;
    }

    #[test]
    fn mutated_corpus_never_panics(
        index in 0..CORPUS_TEXTS.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        check_input(&mutate(CORPUS_TEXTS[index], &mutations))?;
    }

    #[test]
    fn generated_configs_round_trip(config in config()) {
        let text = write(&config);
        prop_assert!(text.is_ok(), "{:?}", text.err());
        let text = text.unwrap_or_default();
        let parsed = parse_str("generated.conf", &text);
        prop_assert!(parsed.is_ok(), "{:?}\n{text}", parsed.err());
        let parsed = parsed.unwrap_or_default();
        prop_assert_eq!(&parsed.config, &config, "\n{}", text);
        prop_assert!(parsed.unmapped.is_empty());
    }
}

// ---------------------------------------------------------------------------
// Generators of valid typed configurations.

/// Any string keepalived.conf can hold: no double quote, no line break, no NUL.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_.:/-]{1,12}",
        1 => "[^\"\n\r\x00]{0,12}",
        1 => select(vec!["", "a b", "x#y", "include", "@main", "$HOME", "~x", "{", "}", "it's"])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn micros(min: u64, max: u64) -> impl Strategy<Value = Duration> {
    prop_oneof![
        (min..=max).prop_map(Duration::from_micros),
        (min.div_ceil(1_000_000)..=max / 1_000_000).prop_map(Duration::from_secs),
    ]
}

fn whole_secs(min: u64, max: u64) -> impl Strategy<Value = Duration> {
    (min..=max).prop_map(Duration::from_secs)
}

fn ip() -> impl Strategy<Value = IpAddr> {
    any::<IpAddr>()
}

fn script_user() -> BoxedStrategy<ScriptUser> {
    (text(), opt(text()))
        .prop_map(|(user, group)| ScriptUser { user, group })
        .boxed()
}

fn notify() -> BoxedStrategy<NotifyScript> {
    (text(), opt(script_user()))
        .prop_map(|(command, user)| NotifyScript { command, user })
        .boxed()
}

fn version() -> impl Strategy<Value = VrrpVersion> {
    prop_oneof![Just(VrrpVersion::V2), Just(VrrpVersion::V3)]
}

fn global_defs() -> BoxedStrategy<GlobalDefs> {
    (
        (
            opt(text()),
            prop::collection::vec(text(), 0..3),
            opt(text()),
            opt((text(), opt(1u16..))),
            opt(text()),
            opt(whole_secs(1, 100_000)),
            opt(any::<bool>()),
            any::<bool>(),
            opt(script_user()),
            opt(text()),
        ),
        (
            any::<bool>(),
            opt(version()),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            opt(any::<std::net::Ipv4Addr>()),
            opt(any::<std::net::Ipv6Addr>()),
            opt(micros(1, 4_294_967_295)),
            opt(micros(1, 4_294_967_295)),
            opt(whole_secs(0, 100_000)),
            opt(any::<u32>()),
            opt(whole_secs(0, 100_000)),
        ),
        opt(lvs_sync_daemon()),
    )
        .prop_map(|(a, b, c)| GlobalDefs {
            router_id: a.0,
            notification_email: a.1,
            notification_email_from: a.2,
            smtp_server: a.3.map(|(host, port)| SmtpServer { host, port }),
            smtp_helo_name: a.4,
            smtp_connect_timeout: a.5,
            smtp_alert: a.6,
            enable_script_security: a.7,
            script_user: a.8,
            default_interface: a.9,
            lvs_flush: b.0,
            vrrp_version: b.1,
            vrrp_strict: b.2,
            vrrp_skip_check_adv_addr: b.3,
            vrrp_check_unicast_src: b.4,
            vrrp_mcast_group4: b.5,
            vrrp_mcast_group6: b.6,
            vrrp_garp_interval: b.7,
            vrrp_gna_interval: b.8,
            vrrp_garp_master_delay: b.9,
            vrrp_garp_master_repeat: b.10,
            vrrp_garp_master_refresh: b.11,
            lvs_sync_daemon: c,
        })
        .boxed()
}

fn lvs_sync_daemon() -> impl Strategy<Value = LvsSyncDaemon> {
    (
        "[a-z][a-z0-9]{0,14}",
        "[A-Za-z][A-Za-z0-9_]{0,12}",
        opt(any::<u8>()),
        opt(1u16..=65_507),
        opt(1u16..),
        opt(1u8..),
        opt(prop_oneof![
            any::<[u8; 3]>().prop_map(|b| IpAddr::from([239, b[0], b[1], b[2]])),
            Just("ff02::81".parse::<IpAddr>().expect("address")),
        ]),
    )
        .prop_map(
            |(interface, instance, id, maxlen, port, ttl, group)| LvsSyncDaemon {
                interface,
                instance,
                id,
                maxlen,
                port,
                ttl,
                group,
            },
        )
}

fn vrrp_script(i: usize) -> BoxedStrategy<VrrpScript> {
    (
        text(),
        opt(text()),
        opt(micros(1, 100_000_000)),
        opt(micros(1, 100_000_000)),
        opt(-254i32..=254),
        any::<bool>(),
        opt(1u32..),
        opt(1u32..),
        opt(script_user()),
        any::<bool>(),
    )
        .prop_map(
            move |(name, script, interval, timeout, weight, rev, rise, fall, user, init_fail)| {
                VrrpScript {
                    name: format!("{name}{i}"),
                    script,
                    interval,
                    timeout,
                    weight_reverse: rev && weight.is_some(),
                    weight,
                    rise,
                    fall,
                    user,
                    init_fail,
                }
            },
        )
        .boxed()
}

fn track_interface() -> BoxedStrategy<TrackInterface> {
    (text(), opt(-254i32..=254), any::<bool>())
        .prop_map(|(name, weight, reverse)| TrackInterface {
            name,
            weight,
            reverse,
        })
        .boxed()
}

fn track_script() -> BoxedStrategy<TrackScript> {
    (text(), opt(-254i32..=254), opt(any::<bool>()))
        .prop_map(|(name, weight, reverse)| TrackScript {
            name,
            weight,
            reverse,
        })
        .boxed()
}

fn sync_group(i: usize) -> BoxedStrategy<VrrpSyncGroup> {
    (
        text(),
        prop::collection::vec(text(), 0..4),
        prop::collection::vec(track_interface(), 0..3),
        prop::collection::vec(track_script(), 0..3),
        [
            opt(notify()),
            opt(notify()),
            opt(notify()),
            opt(notify()),
            opt(notify()),
        ],
        opt(any::<bool>()),
    )
        .prop_map(
            move |(name, group, ti, ts, [m, b, f, s, n], smtp_alert)| VrrpSyncGroup {
                name: format!("{name}{i}"),
                group,
                track_interface: ti,
                track_script: ts,
                notify_master: m,
                notify_backup: b,
                notify_fault: f,
                notify_stop: s,
                notify: n,
                smtp_alert,
            },
        )
        .boxed()
}

fn virtual_ip() -> BoxedStrategy<VirtualIp> {
    (
        ip(),
        opt(0u8..=128),
        opt(prop_oneof![
            ip().prop_map(Broadcast::Address),
            Just(Broadcast::SetHostBits),
            Just(Broadcast::ClearHostBits),
        ]),
        opt(text()),
        opt(select(vec![
            Scope::Global,
            Scope::Site,
            Scope::Link,
            Scope::Host,
            Scope::Nowhere,
        ])),
        opt(text()),
        any::<bool>(),
    )
        .prop_map(
            |(address, prefix, brd, dev, scope, label, no_track)| VirtualIp {
                prefix_len: prefix.map(|p| if address.is_ipv4() { p % 33 } else { p }),
                address,
                brd,
                dev,
                scope,
                label,
                no_track,
            },
        )
        .boxed()
}

fn vrrp_instance(i: usize) -> BoxedStrategy<VrrpInstance> {
    (
        (
            text(),
            opt(prop_oneof![
                Just(VrrpState::Master),
                Just(VrrpState::Backup)
            ]),
            opt(text()),
            opt(1u8..),
            opt(1u8..),
            opt(micros(1, 255_000_000)),
            opt(version()),
            any::<bool>(),
            opt(micros(0, 1_000_000_000)),
            any::<bool>(),
            opt(ip()),
            opt(ip()),
        ),
        (
            prop::collection::vec(ip(), 0..3),
            opt((
                opt(prop_oneof![Just(AuthType::Pass), Just(AuthType::Ah)]),
                opt(text()),
            )),
            prop::collection::vec(virtual_ip(), 0..3),
            prop::collection::vec(virtual_ip(), 0..2),
            prop::collection::vec(track_interface(), 0..2),
            prop::collection::vec(track_script(), 0..2),
            opt(whole_secs(0, 10_000)),
            opt(any::<u32>()),
            opt(whole_secs(0, 10_000)),
            opt(any::<bool>()),
            [
                opt(notify()),
                opt(notify()),
                opt(notify()),
                opt(notify()),
                opt(notify()),
            ],
        ),
    )
        .prop_map(move |(a, b)| VrrpInstance {
            name: format!("{}{i}", a.0),
            state: a.1,
            interface: a.2,
            virtual_router_id: a.3,
            priority: a.4,
            advert_int: a.5,
            version: a.6,
            nopreempt: a.7,
            preempt_delay: a.8,
            dont_track_primary: a.9,
            mcast_src_ip: a.10,
            unicast_src_ip: a.11,
            unicast_peer: b.0,
            authentication: b.1.map(|(auth_type, auth_pass)| Authentication {
                auth_type,
                auth_pass,
            }),
            virtual_ipaddress: b.2,
            virtual_ipaddress_excluded: b.3,
            track_interface: b.4,
            track_script: b.5,
            garp_master_delay: b.6,
            garp_master_repeat: b.7,
            garp_master_refresh: b.8,
            smtp_alert: b.9,
            notify_master: b.10[0].clone(),
            notify_backup: b.10[1].clone(),
            notify_fault: b.10[2].clone(),
            notify_stop: b.10[3].clone(),
            notify: b.10[4].clone(),
        })
        .boxed()
}

fn lvs_method() -> BoxedStrategy<LvsMethod> {
    let checksum = opt(select(vec![
        TunnelChecksum::NoCsum,
        TunnelChecksum::Csum,
        TunnelChecksum::RemCsum,
    ]));
    prop_oneof![
        Just(LvsMethod::Nat),
        Just(LvsMethod::Dr),
        (
            prop_oneof![
                Just(TunnelType::Ipip),
                Just(TunnelType::Gre),
                (1u16..).prop_map(|port| TunnelType::Gue { port }),
            ],
            checksum,
        )
            .prop_map(|(tunnel_type, checksum)| {
                let checksum = match (tunnel_type, checksum) {
                    (TunnelType::Ipip, Some(_)) => Some(TunnelChecksum::NoCsum),
                    (TunnelType::Gre, Some(TunnelChecksum::RemCsum)) => Some(TunnelChecksum::Csum),
                    (_, c) => c,
                };
                LvsMethod::Tun(TunnelOptions {
                    tunnel_type,
                    checksum,
                })
            }),
    ]
    .boxed()
}

fn check_options() -> BoxedStrategy<CheckOptions> {
    (
        opt(any::<bool>()),
        opt(micros(1, 100_000_000)),
        opt(any::<u32>()),
        opt(micros(0, 100_000_000)),
        opt(micros(0, 100_000_000)),
        opt(micros(1, 100_000_000)),
        opt(any::<bool>()),
    )
        .prop_map(|(alpha, ct, retry, dbr, warmup, dl, laf)| CheckOptions {
            alpha,
            connect_timeout: ct,
            retry,
            delay_before_retry: dbr,
            warmup,
            delay_loop: dl,
            log_all_failures: laf,
        })
        .boxed()
}

fn connection() -> BoxedStrategy<Connection> {
    (
        opt(ip()),
        opt(any::<u16>()),
        opt(ip()),
        opt(text()),
        opt(any::<u16>()),
        opt(1u32..),
    )
        .prop_map(
            |(connect_ip, connect_port, bindto, bind_if, bind_port, fwmark)| Connection {
                connect_ip,
                connect_port,
                bindto,
                bind_if,
                bind_port,
                fwmark,
            },
        )
        .boxed()
}

fn http_url() -> BoxedStrategy<HttpUrl> {
    (
        opt(text()),
        opt("[0-9a-fA-F]{32}"),
        prop::collection::vec((100u16..600, 0u16..50), 0..3),
        opt(text()),
    )
        .prop_map(|(path, digest, codes, virtualhost)| HttpUrl {
            path,
            digest,
            status_code: codes
                .into_iter()
                .map(|(first, span)| StatusCodeRange {
                    first,
                    last: (first + span).min(599),
                })
                .collect(),
            virtualhost,
        })
        .boxed()
}

fn http_check(ssl: bool) -> BoxedStrategy<HttpCheck> {
    (
        connection(),
        check_options(),
        prop::collection::vec(http_url(), 0..3),
        opt(text()),
        opt(select(vec![
            HttpProtocol::Http10,
            HttpProtocol::Http10Close,
            HttpProtocol::Http11,
        ])),
        opt(any::<bool>()),
        any::<bool>(),
        opt(text()),
        any::<bool>(),
    )
        .prop_map(
            move |(connection, options, urls, vh, proto, fr, sni, sni_name, tls)| HttpCheck {
                connection,
                options,
                urls,
                virtualhost: vh,
                http_protocol: proto,
                fast_recovery: fr,
                enable_sni: ssl && sni,
                sni_name: sni_name.filter(|_| ssl),
                tls_compliant: ssl && tls,
            },
        )
        .boxed()
}

fn health_check() -> BoxedStrategy<HealthCheck> {
    prop_oneof![
        (connection(), check_options()).prop_map(|(connection, options)| HealthCheck::Tcp(
            TcpCheck {
                connection,
                options
            }
        )),
        http_check(false).prop_map(HealthCheck::HttpGet),
        http_check(true).prop_map(HealthCheck::SslGet),
        (
            check_options(),
            opt(text()),
            opt(whole_secs(1, 10_000)),
            any::<bool>(),
            opt(script_user())
        )
            .prop_map(|(options, misc_path, misc_timeout, misc_dynamic, user)| {
                HealthCheck::Misc(MiscCheck {
                    options,
                    misc_path,
                    misc_timeout,
                    misc_dynamic,
                    user,
                })
            }),
    ]
    .boxed()
}

fn real_server() -> BoxedStrategy<RealServer> {
    (
        (
            ip(),
            opt(any::<u16>()),
            opt(0u32..=0x7fff_ffff),
            opt(lvs_method()),
            opt(any::<u32>()),
            opt(any::<u32>()),
            opt(any::<bool>()),
            opt(notify()),
            opt(notify()),
        ),
        (
            opt(any::<bool>()),
            opt(text()),
            opt(any::<bool>()),
            opt(micros(1, 100_000_000)),
            opt(1u32..),
            opt(micros(0, 100_000_000)),
            opt(micros(0, 100_000_000)),
            opt(micros(1, 100_000_000)),
            prop::collection::vec(health_check(), 0..3),
        ),
    )
        .prop_map(|(a, b)| RealServer {
            address: a.0,
            port: a.1,
            weight: a.2,
            lvs_method: a.3,
            uthreshold: a.4,
            lthreshold: a.5,
            inhibit_on_failure: a.6,
            notify_up: a.7,
            notify_down: a.8,
            smtp_alert: b.0,
            virtualhost: b.1,
            alpha: b.2,
            connect_timeout: b.3,
            retry: b.4,
            delay_before_retry: b.5,
            warmup: b.6,
            delay_loop: b.7,
            checks: b.8,
        })
        .boxed()
}

fn virtual_server() -> BoxedStrategy<VirtualServer> {
    (
        (
            prop_oneof![
                (ip(), opt(any::<u16>()))
                    .prop_map(|(address, port)| VirtualServerKey::Address { address, port }),
                (1u32..).prop_map(VirtualServerKey::Fwmark),
            ],
            opt(prop_oneof![Just(IpFamily::Inet), Just(IpFamily::Inet6)]),
            opt(select(vec![Protocol::Tcp, Protocol::Udp, Protocol::Sctp])),
            opt(select(Scheduler::ALL.to_vec())),
            prop::collection::btree_set(select(SchedulerFlag::ALL.to_vec()), 0..3),
            any::<bool>(),
            opt(lvs_method()),
            opt(1u32..=2_678_400),
            opt(prop_oneof![
                any::<std::net::Ipv4Addr>().prop_map(PersistenceGranularity::Netmask),
                (1u8..=128).prop_map(PersistenceGranularity::PrefixLen),
            ]),
            opt(text()),
            opt(micros(1, 100_000_000)),
        ),
        (
            opt(micros(1, 100_000_000)),
            opt(1u32..),
            opt(micros(0, 100_000_000)),
            opt(micros(0, 100_000_000)),
            [any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()],
            opt(text()),
            opt(1u32..),
            opt(any::<u32>()),
            [opt(notify()), opt(notify())],
            opt((ip(), opt(any::<u16>()), any::<bool>(), opt(lvs_method()))),
            opt(any::<bool>()),
            prop::collection::vec(real_server(), 0..3),
        ),
    )
        .prop_map(|(a, b)| {
            let sched_flags: BTreeSet<SchedulerFlag> = a.4;
            VirtualServer {
                key: a.0,
                ip_family: a.1,
                protocol: a.2,
                lvs_sched: a.3,
                sched_flags,
                ops: a.5,
                lvs_method: a.6,
                persistence_timeout: a.7,
                persistence_granularity: a.8,
                persistence_engine: a.9,
                delay_loop: a.10,
                connect_timeout: b.0,
                retry: b.1,
                delay_before_retry: b.2,
                warmup: b.3,
                ha_suspend: b.4[0],
                alpha: b.4[1],
                omega: b.4[2],
                inhibit_on_failure: b.4[3],
                virtualhost: b.5,
                quorum: b.6,
                hysteresis: b.7,
                quorum_up: b.8[0].clone(),
                quorum_down: b.8[1].clone(),
                sorry_server: b.9.map(|(address, port, inhibit, lvs_method)| SorryServer {
                    address,
                    port,
                    inhibit,
                    lvs_method,
                }),
                smtp_alert: b.10,
                real_servers: b.11,
            }
        })
        .boxed()
}

fn config() -> impl Strategy<Value = Config> {
    (
        global_defs(),
        (0usize..3).prop_flat_map(|n| (0..n).map(vrrp_script).collect::<Vec<_>>()),
        (0usize..2).prop_flat_map(|n| (0..n).map(sync_group).collect::<Vec<_>>()),
        (0usize..3).prop_flat_map(|n| (0..n).map(vrrp_instance).collect::<Vec<_>>()),
        prop::collection::vec(virtual_server(), 0..3),
    )
        .prop_map(
            |(global_defs, vrrp_scripts, vrrp_sync_groups, vrrp_instances, virtual_servers)| {
                Config {
                    global_defs,
                    vrrp_scripts,
                    vrrp_sync_groups,
                    vrrp_instances,
                    virtual_servers,
                }
            },
        )
}
