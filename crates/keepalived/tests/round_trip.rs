//! parse -> write -> parse gives the same configuration, for every corpus file.

use std::path::PathBuf;

use director_keepalived::{parse_file, parse_str, write, FsSource};

/// The good corpus files (the `includes` set is read from its main file).
pub const CORPUS: &[&str] = &[
    "lvs-dr-master.conf",
    "lvs-dr-backup.conf",
    "nat-http-digest.conf",
    "ssl-get.conf",
    "misc-check.conf",
    "sync-groups.conf",
    "fwmark.conf",
    "ipv6.conf",
    "includes/keepalived.conf",
];

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

#[test]
fn corpus_round_trips() {
    for name in CORPUS {
        let first = parse_file(&FsSource, corpus(name)).unwrap_or_else(|e| panic!("{e}"));
        let text = write(&first.config).unwrap_or_else(|e| panic!("{name}: {e}"));
        let second =
            parse_str("written.conf", &text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert_eq!(second.config, first.config, "{name}:\n{text}");
        assert!(second.unmapped.is_empty(), "{name}: {:?}", second.unmapped);
        // The output is stable: writing what was read back gives the same text.
        assert_eq!(write(&second.config).unwrap(), text, "{name}");
    }
}

#[test]
fn output_is_indented_with_two_spaces() {
    for name in CORPUS {
        let parsed = parse_file(&FsSource, corpus(name)).unwrap();
        let text = write(&parsed.config).unwrap();
        let mut depth: usize = 0;
        for line in text.lines() {
            assert!(!line.contains('\t'), "{name}: {line:?}");
            if line.is_empty() {
                assert_eq!(
                    depth, 0,
                    "{name}: blank lines only between top-level blocks"
                );
                continue;
            }
            let trimmed = line.trim_start();
            if trimmed == "}" {
                depth -= 1;
            }
            assert_eq!(line.len() - trimmed.len(), 2 * depth, "{name}: {line:?}");
            if trimmed.ends_with(" {") {
                depth += 1;
            }
        }
        assert_eq!(depth, 0, "{name}");
    }
}

#[test]
fn written_text_of_the_backup_node() {
    let parsed = parse_file(&FsSource, corpus("lvs-dr-backup.conf")).unwrap();
    let expected = r#"global_defs {
  router_id LVS_02
}

vrrp_script chk_ipvs {
  script /usr/local/bin/check_ipvs.sh
  interval 2
  weight -20 reverse
}

vrrp_instance VI_1 {
  state BACKUP
  interface ens33
  virtual_router_id 51
  priority 90
  advert_int 1
  nopreempt
  unicast_src_ip 192.168.10.12
  unicast_peer {
    192.168.10.11
  }
  authentication {
    auth_type PASS
    auth_pass 1111
  }
  virtual_ipaddress {
    192.168.10.180/24 dev ens33 label ens33:1
    192.168.10.181/32 dev ens33 scope global
  }
  track_script {
    chk_ipvs weight -30 noreverse
  }
  notify /etc/keepalived/notify-all.sh
}

virtual_server 192.168.10.180 80 {
  delay_loop 6
  lvs_sched wrr
  lvs_method DR
  persistence_timeout 50
  protocol TCP
  real_server 192.168.10.120 80 {
    weight 3
    TCP_CHECK {
      connect_timeout 3
    }
  }
  real_server 192.168.10.121 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 3
    }
  }
}
"#;
    assert_eq!(write(&parsed.config).unwrap(), expected);
}
