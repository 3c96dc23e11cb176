//! Edge cases of the typed layer: errors name file, line and keyword; unmapped keywords are
//! reported, never dropped.

use std::path::PathBuf;

use director_keepalived::config::*;
use director_keepalived::{parse_str, Error, ErrorKind, Parsed};

fn ok(text: &str) -> Parsed {
    parse_str("/etc/keepalived/keepalived.conf", text).unwrap_or_else(|e| panic!("{e}"))
}

fn fail(text: &str) -> Error {
    match parse_str("/etc/keepalived/keepalived.conf", text) {
        Ok(p) => panic!("parsed: {p:?}"),
        Err(e) => {
            assert_eq!(e.file, PathBuf::from("/etc/keepalived/keepalived.conf"));
            e
        }
    }
}

fn unmapped(p: &Parsed) -> Vec<(u32, String, String)> {
    p.unmapped
        .iter()
        .map(|u| (u.line, u.keyword.clone(), u.context.clone()))
        .collect()
}

#[test]
fn one_line_blocks_are_one_statement_per_line() {
    let p = ok("vrrp_instance VI_1 {\n  authentication { auth_type PASS\n auth_pass 1111 }\n  virtual_ipaddress { 10.0.0.1/24 dev eth0 label eth0:1 }\n}\n");
    let vi = &p.config.vrrp_instances[0];
    assert_eq!(
        vi.authentication,
        Some(Authentication {
            auth_type: Some(AuthType::Pass),
            auth_pass: Some("1111".into())
        })
    );
    assert_eq!(vi.virtual_ipaddress[0].label.as_deref(), Some("eth0:1"));

    // keepalived reads `auth_type PASS auth_pass 1111` as one statement and would ignore
    // (lose) the password; this parser refuses it.
    let e = fail("vrrp_instance VI_1 {\n  authentication { auth_type PASS auth_pass 1111 }\n}\n");
    assert_eq!(e.line, 2);
    assert_eq!(
        e.kind,
        ErrorKind::UnexpectedValue {
            keyword: "auth_type".into(),
            value: "auth_pass".into()
        }
    );
}

#[test]
fn duplicates_are_errors() {
    let e = fail("vrrp_instance VI_1 {\n  priority 100\n\n  priority 90\n}\n");
    assert_eq!(e.line, 4);
    assert_eq!(
        e.kind,
        ErrorKind::Duplicate {
            keyword: "priority".into(),
            first: "/etc/keepalived/keepalived.conf:2".into()
        }
    );

    // Old and new spellings are the same keyword.
    let e = fail("virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lvs_sched wrr\n}\n");
    assert_eq!((e.line, e.keyword()), (3, Some("lvs_sched")));

    // global_defs blocks are merged, so a keyword is still given once.
    let p = ok("global_defs {\n router_id A\n}\nglobal_defs {\n lvs_flush\n}\n");
    assert_eq!(p.config.global_defs.router_id.as_deref(), Some("A"));
    assert!(p.config.global_defs.lvs_flush);
    let e = fail("global_defs {\n router_id A\n}\nglobal_defs {\n router_id B\n}\n");
    assert_eq!(e.line, 5);

    let e = fail("vrrp_instance VI_1 {\n}\nvrrp_instance VI_1 {\n}\n");
    assert_eq!(e.line, 3);
    assert_eq!(
        e.kind,
        ErrorKind::DuplicateName {
            kind: "vrrp_instance".into(),
            name: "VI_1".into()
        }
    );

    // Lists and flags may repeat.
    let p = ok("vrrp_instance VI_1 {\n nopreempt\n nopreempt\n virtual_ipaddress {\n 10.0.0.1\n }\n virtual_ipaddress {\n 10.0.0.2\n }\n}\n");
    assert_eq!(p.config.vrrp_instances[0].virtual_ipaddress.len(), 2);
}

#[test]
fn top_level() {
    let e = fail("\nrouter_id X\n");
    assert_eq!(
        (e.line, e.kind),
        (
            2,
            ErrorKind::UnknownTopLevel {
                keyword: "router_id".into()
            }
        )
    );

    let p = ok("static_ipaddress {\n 10.0.0.1/24 dev eth0\n}\nvirtual_server_group VSG {\n 10.0.0.1 80\n}\nvirtual_server group VSG {\n  lvs_sched rr\n}\nnet_namespace blue\n");
    assert!(p.config.virtual_servers.is_empty());
    assert_eq!(
        unmapped(&p),
        [
            (1, "static_ipaddress".into(), "top level".into()),
            (4, "virtual_server_group".into(), "top level".into()),
            (7, "virtual_server group".into(), "top level".into()),
            (10, "net_namespace".into(), "top level".into()),
        ]
    );
}

#[test]
fn unmapped_keywords_and_options_are_reported() {
    let p = ok(r#"vrrp_instance VI_1 {
  interface eth0
  use_vmac vrrp51
  virtual_ipaddress {
    10.0.0.1/24 dev eth0 home peer 10.0.0.2 no_track
  }
  unicast_peer {
    10.0.0.3 min_ttl 250
  }
  authentication {
    auth_type PASS
    auth_pass secret
    extra 1
  }
}
virtual_server 10.0.0.1 80 {
  hashed
  real_server 10.0.0.2 80 {
    snmp_name rs1
    DNS_CHECK {
      type A
    }
    HTTP_GET {
      enable_sni
      url {
        regex_no_match
      }
    }
  }
}
"#);
    assert_eq!(
        unmapped(&p),
        [
            (3, "use_vmac".into(), "vrrp_instance VI_1".into()),
            (
                5,
                "home".into(),
                "vrrp_instance VI_1 > virtual_ipaddress".into()
            ),
            (
                5,
                "peer".into(),
                "vrrp_instance VI_1 > virtual_ipaddress".into()
            ),
            (
                8,
                "min_ttl".into(),
                "vrrp_instance VI_1 > unicast_peer".into()
            ),
            (
                13,
                "extra".into(),
                "vrrp_instance VI_1 > authentication".into()
            ),
            (17, "hashed".into(), "virtual_server 10.0.0.1 80".into()),
            (
                19,
                "snmp_name".into(),
                "virtual_server 10.0.0.1 80 > real_server 10.0.0.2 80".into()
            ),
            (
                20,
                "DNS_CHECK".into(),
                "virtual_server 10.0.0.1 80 > real_server 10.0.0.2 80".into()
            ),
            (
                24,
                "enable_sni".into(),
                "virtual_server 10.0.0.1 80 > real_server 10.0.0.2 80 > HTTP_GET".into()
            ),
            (
                26,
                "regex_no_match".into(),
                "virtual_server 10.0.0.1 80 > real_server 10.0.0.2 80 > HTTP_GET > url".into()
            ),
        ]
    );
    let vip = &p.config.vrrp_instances[0].virtual_ipaddress[0];
    assert!(vip.no_track);
    assert_eq!(
        p.unmapped[0].to_string(),
        "/etc/keepalived/keepalived.conf:3: 'use_vmac' in vrrp_instance VI_1 is not imported"
    );
}

#[test]
fn bad_values_name_line_and_keyword() {
    let cases: &[(&str, u32, &str)] = &[
        ("vrrp_instance V {\n state master\n}\n", 2, "state"),
        ("vrrp_instance V {\n virtual_router_id 0\n}\n", 2, "virtual_router_id"),
        ("vrrp_instance V {\n advert_int 0\n}\n", 2, "advert_int"),
        ("vrrp_instance V {\n advert_int 256\n}\n", 2, "advert_int"),
        ("vrrp_instance V {\n preempt_delay 1001\n}\n", 2, "preempt_delay"),
        ("vrrp_instance V {\n nopreempt yes\n}\n", 2, "nopreempt"),
        ("vrrp_instance V {\n smtp_alert maybe\n}\n", 2, "smtp_alert"),
        ("vrrp_instance V {\n garp_master_delay 1.5\n}\n", 2, "garp_master_delay"),
        ("vrrp_instance V {\n virtual_ipaddress {\n  10.0.0.1/33\n }\n}\n", 3, "virtual_ipaddress"),
        ("vrrp_instance V {\n virtual_ipaddress {\n  10.0.0.1 dev\n }\n}\n", 3, "virtual_ipaddress dev"),
        ("vrrp_instance V {\n virtual_ipaddress {\n  10.0.0.1 bogus 1\n }\n}\n", 3, "virtual_ipaddress"),
        ("vrrp_instance V {\n virtual_ipaddress {\n  10.0.0.1 dev a dev b\n }\n}\n", 3, "virtual_ipaddress"),
        ("vrrp_instance V {\n virtual_ipaddress {\n  10.0.0.1 scope galaxy\n }\n}\n", 3, "scope"),
        ("vrrp_instance V {\n track_script {\n  chk weight 300\n }\n}\n", 3, "weight"),
        ("vrrp_instance V {\n track_interface {\n  eth0 noreverse\n }\n}\n", 3, "track_interface"),
        ("vrrp_instance V {\n authentication {\n  auth_type MD5\n }\n}\n", 3, "auth_type"),
        ("vrrp_instance V {\n virtual_ipaddress 10.0.0.1\n}\n", 2, "virtual_ipaddress"),
        ("vrrp_instance V {\n priority {\n }\n}\n", 2, "priority"),
        ("vrrp_instance V W {\n}\n", 1, "vrrp_instance"),
        ("vrrp_script S {\n rise 0\n}\n", 2, "rise"),
        ("vrrp_script S {\n weight -10 backwards\n}\n", 2, "weight"),
        ("virtual_server 10.0.0.1 {\n lvs_sched fastest\n}\n", 2, "lvs_sched"),
        ("virtual_server 10.0.0.1 {\n lvs_method BRIDGE\n}\n", 2, "lvs_method"),
        ("virtual_server 10.0.0.1 {\n lvs_method TUN type gue\n}\n", 2, "lvs_method"),
        ("virtual_server 10.0.0.1 {\n lvs_method TUN port 80\n}\n", 2, "lvs_method"),
        ("virtual_server 10.0.0.1 {\n lvs_method TUN csum\n}\n", 2, "lvs_method"),
        ("virtual_server 10.0.0.1 {\n lvs_method DR extra\n}\n", 2, "lvs_method"),
        ("virtual_server 10.0.0.1 {\n protocol ICMP\n}\n", 2, "protocol"),
        ("virtual_server 10.0.0.1 {\n persistence_timeout 0\n}\n", 2, "persistence_timeout"),
        ("virtual_server 10.0.0.1 {\n persistence_granularity 129\n}\n", 2, "persistence_granularity"),
        ("virtual_server 10.0.0.1 {\n persistence_granularity 255.255.0\n}\n", 2, "persistence_granularity"),
        ("virtual_server 10.0.0.1 {\n quorum 0\n}\n", 2, "quorum"),
        ("virtual_server 10.0.0.1 {\n hysteresis -1\n}\n", 2, "hysteresis"),
        ("virtual_server 10.0.0.1 {\n sorry_server_inhibit\n}\n", 2, "sorry_server_inhibit"),
        ("virtual_server 10.0.0.1 {\n sorry_server 10.0.0.9 80 9\n}\n", 2, "sorry_server"),
        ("virtual_server fwmark 0 {\n}\n", 1, "virtual_server fwmark"),
        ("virtual_server 10.0.0.1 80 TCP {\n}\n", 1, "virtual_server"),
        ("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80\n}\n", 2, "real_server"),
        ("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  weight 4294967295\n }\n}\n", 3, "weight"),
        ("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n   connect_port -1\n  }\n }\n}\n", 4, "connect_port"),
        ("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    digest xyz\n   }\n  }\n }\n}\n", 5, "digest"),
        ("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    status_code 299-200\n   }\n  }\n }\n}\n", 5, "status_code"),
        ("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    status_code 700\n   }\n  }\n }\n}\n", 5, "status_code"),
        ("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  MISC_CHECK {\n   misc_timeout 0\n  }\n }\n}\n", 4, "misc_timeout"),
        ("global_defs {\n vrrp_version 4\n}\n", 2, "vrrp_version"),
        ("global_defs {\n vrrp_mcast_group4 ff02::12\n}\n", 2, "vrrp_mcast_group4"),
        ("global_defs {\n smtp_server 10.0.0.1 0\n}\n", 2, "smtp_server"),
        ("global_defs {\n script_user a b c\n}\n", 2, "script_user"),
        ("global_defs {\n notification_email a@b\n}\n", 2, "notification_email"),
    ];
    for (text, line, keyword) in cases {
        let e = fail(text);
        assert_eq!(
            (e.line, e.keyword()),
            (*line, Some(*keyword)),
            "{text}\n{e}"
        );
        let message = e.to_string();
        assert!(
            message.starts_with(&format!("/etc/keepalived/keepalived.conf:{line}: ")),
            "{message}"
        );
        assert!(message.contains(keyword), "{message}");
    }
}

#[test]
fn syntax_errors_without_keyword() {
    for (text, line, kind) in [
        ("a {\n", 1, ErrorKind::UnclosedBrace),
        ("a {\n}\n}\n", 3, ErrorKind::StrayCloseBrace),
        ("{\n}\n", 1, ErrorKind::BlockWithoutKeyword),
        ("a \"b\n", 1, ErrorKind::UnterminatedQuote),
        (
            "\n\ninclude x.conf\n",
            3,
            ErrorKind::Include {
                pattern: "x.conf".into(),
                message: "no such file /etc/keepalived/x.conf".into(),
            },
        ),
    ] {
        let e = fail(text);
        assert_eq!((e.line, e.kind), (line, kind), "{text}");
    }
    let e = fail("global_defs {\n@main router_id A\n}\n");
    assert_eq!(e.line, 2);
    assert!(matches!(e.kind, ErrorKind::Preprocessor { .. }));
}

#[test]
fn scripts_and_flags() {
    let p = ok(r#"vrrp_script chk {
  script killall -0 haproxy
}
vrrp_instance VI_1 {
  nopreempt
  preempt
  notify_master /bin/master.sh
  notify_backup "/bin/backup.sh 'a b'" keepalived_script :wheel
  smtp_alert off
}
virtual_server 10.0.0.1 80 {
  real_server 10.0.0.2 80 {
    alpha no
    inhibit_on_failure true
  }
}
"#);
    assert_eq!(
        p.config.vrrp_scripts[0].script.as_deref(),
        Some("killall -0 haproxy")
    );
    let vi = &p.config.vrrp_instances[0];
    assert!(!vi.nopreempt, "the last of nopreempt/preempt wins");
    assert_eq!(
        vi.notify_master,
        Some(NotifyScript {
            command: "/bin/master.sh".into(),
            user: None
        })
    );
    assert_eq!(
        vi.notify_backup,
        Some(NotifyScript {
            command: "/bin/backup.sh 'a b'".into(),
            user: Some(ScriptUser {
                user: "keepalived_script".into(),
                group: Some(":wheel".into())
            })
        })
    );
    assert_eq!(vi.smtp_alert, Some(false));
    let rs = &p.config.virtual_servers[0].real_servers[0];
    assert_eq!((rs.alpha, rs.inhibit_on_failure), (Some(false), Some(true)));
}

#[test]
fn virtual_server_forms() {
    let p = ok("virtual_server 2001:db8::1 443 {\n}\nvirtual_server 10.0.0.1 {\n persistence_timeout 600\n}\nvirtual_server fwmark 4294967295 {\n}\n");
    let keys: Vec<VirtualServerKey> = p.config.virtual_servers.iter().map(|v| v.key).collect();
    assert_eq!(
        keys,
        [
            VirtualServerKey::Address {
                address: "2001:db8::1".parse().unwrap(),
                port: Some(443)
            },
            VirtualServerKey::Address {
                address: "10.0.0.1".parse().unwrap(),
                port: None
            },
            VirtualServerKey::Fwmark(u32::MAX),
        ]
    );
    assert_eq!(keys[0].to_string(), "2001:db8::1 443");
    assert_eq!(keys[2].to_string(), "fwmark 4294967295");
}
