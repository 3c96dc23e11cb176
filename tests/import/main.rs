//! `director import keepalived` and `director export keepalived|ipvsadm`, end to end: the real `director`
//! binary imports the corpus (tests/import/corpus, written for these tests) into a temporary data directory,
//! then a real daemon on that directory serves the objects, checked one by one over the REST API, with the
//! audit log (`via: import`). Bad files are refused with their line and change nothing. The keepalived.conf
//! export is accepted by the real `keepalived -t` and imports back to the same objects.

use director_tests::{director_bin, Daemon, DaemonOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("import/corpus")
        .join(name)
}

fn director(data: &Path, args: &[&str]) -> Output {
    Command::new(director_bin())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("DIRECTOR_NODE_NAME", "test-node")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run director")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Imports `file` and returns (stdout, stderr); fails the test if the import fails.
fn import(data: &Path, file: &Path) -> (String, String) {
    let out = director(
        data,
        &["import", "keepalived", file.to_str().expect("utf-8 path")],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "import of {} failed:\n{stdout}\n{stderr}",
        file.display()
    );
    (stdout, stderr)
}

fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("director-import-")
        .tempdir()
        .expect("temp dir")
}

async fn daemon_on(data: &Path) -> Daemon {
    Daemon::start_with(DaemonOptions {
        data_dir: Some(data.to_path_buf()),
        ..Default::default()
    })
    .await
}

const CORPUS: &[&str] = &[
    "lvs-dr-master.conf",
    "lvs-dr-backup.conf",
    "http-digest.conf",
    "misc-check.conf",
    "sync-groups.conf",
    "fwmark.conf",
    "ipv6.conf",
    "includes/keepalived.conf",
];

#[tokio::test]
async fn corpus_imports_object_by_object() {
    let dir = temp();
    let data = dir.path().join("data");
    let (out, err) = import(&data, &corpus("lvs-dr-master.conf"));
    assert!(out.contains("vrrp group vi_1: created"), "{out}");
    assert!(
        out.contains("virtual server tcp-192.0.2.180-80: created"),
        "{out}"
    );
    // Every keyword that is not imported is reported with its file and line.
    for line in [
        "lvs-dr-master.conf:4: 'notification_email' in global_defs is not imported",
        "lvs-dr-master.conf:7: 'smtp_server' in global_defs is not imported",
        "lvs-dr-master.conf:13: 'interval' in vrrp_script chk_lb is not imported",
        "lvs-dr-master.conf:43: 'notify_master' in vrrp_instance VI_1 is not imported",
    ] {
        assert!(err.contains(line), "missing warning {line:?} in:\n{err}");
    }
    let (out, _) = import(&data, &corpus("lvs-dr-backup.conf"));
    assert!(out.contains("vrrp group vi_1: updated"), "{out}");
    assert!(
        out.contains("virtual server tcp-192.0.2.180-80: unchanged"),
        "{out}"
    );
    for name in &CORPUS[2..] {
        let (_, err) = import(&data, &corpus(name));
        if *name == "sync-groups.conf" {
            assert!(
                err.contains("sync-groups.conf:12: 'notify_master' in vrrp_sync_group VG_1"),
                "{err}"
            );
        }
        if name.starts_with("includes") {
            assert!(
                err.contains("conf.d/b-mail.conf:7: 'bogus_option'"),
                "{err}"
            );
        }
    }

    let d = daemon_on(&data).await;
    // The LVS-DR pair: one group, two members.
    let g = d.get("/api/v1/vrrp-groups/vi_1").await;
    assert_eq!(g["vrid"], 51);
    assert_eq!(g["version"], 2);
    assert_eq!(g["advert_interval_ms"], 1000);
    assert_eq!(g["preempt"], true);
    assert_eq!(g["preempt_delay_s"], 5);
    assert_eq!(g["auth"], json!({"type": "pass", "password": "s3cret"}));
    assert_eq!(
        g["virtual_addresses"],
        json!(["192.0.2.180/24", "192.0.2.181/32"])
    );
    assert_eq!(g["interface"], "lo");
    assert_eq!(
        g["members"],
        json!([
            {"node": "lvs-01", "priority": 150, "unicast_peers": ["192.0.2.12"], "unicast_source": "192.0.2.11"},
            {"node": "lvs-02", "priority": 100, "unicast_peers": ["192.0.2.11"], "unicast_source": "192.0.2.12",
             "sync_interface": "eth1"}
        ])
    );
    // lvs_sync_daemon: the group's connection_sync, the BACKUP's other interface its member's.
    assert_eq!(
        g["connection_sync"],
        json!({"interface": "lo", "sync_id": 7, "mcast_port": 8850})
    );
    assert_eq!(
        g["track"],
        json!([
            {"interface": "lo", "weight": -30},
            {"script": ["/bin/true", "--check"], "weight": -20}
        ])
    );
    assert_eq!(g["notify"], json!({"script": ["/bin/true", "notify"]}));

    let vs = d.get("/api/v1/virtual-servers/tcp-192.0.2.180-80").await;
    assert_eq!(vs["protocol"], "tcp");
    assert_eq!(vs["address"], "192.0.2.180");
    assert_eq!(vs["port"], 80);
    assert_eq!(vs["scheduler"], "wrr");
    assert_eq!(vs["forwarding"], "dr");
    assert_eq!(
        vs["persistence"],
        json!({"timeout_s": 50, "netmask": "255.255.255.0"})
    );
    assert_eq!(
        vs["sorry_server"],
        json!({"address": "192.0.2.200", "port": 80})
    );
    assert_eq!(vs["quorum"], 2);
    assert_eq!(vs["hysteresis"], 1);
    assert_eq!(vs["alpha"], true);
    assert_eq!(vs["vrrp_group"], "vi_1");
    let hc = &vs["health_check"];
    assert_eq!(hc["type"], "tcp");
    assert_eq!(hc["interval_ms"], 6000);
    assert_eq!(hc["timeout_ms"], 3000);
    assert_eq!(
        hc["fall"], 2,
        "nb_get_retry 2 in TCP_CHECK is ignored, as keepalived 2.2 does: its default retry 1 = fall 2"
    );
    assert_eq!(hc["retry_delay_ms"], 2000);
    assert_eq!(hc["connect_address"], "127.0.0.1");
    assert_eq!(hc["connect_port"], 8080);
    assert_eq!(hc["bind_address"], "127.0.0.1");
    let rs = &vs["real_servers"];
    assert_eq!(rs[0]["address"], "192.0.2.120");
    assert_eq!(rs[0]["weight"], 3);
    assert_eq!(rs[0]["upper_threshold"], 1000);
    assert_eq!(rs[0]["lower_threshold"], 100);
    assert_eq!(rs[0]["inhibit_on_failure"], true);
    assert_eq!(rs[1]["address"], "192.0.2.121");
    assert_eq!(rs[1]["weight"], 1);
    assert_eq!(rs[1]["health_check"], Value::Null);

    // HTTP_GET with a digest, SSL_GET.
    let vs = d.get("/api/v1/virtual-servers/tcp-198.51.100.10-80").await;
    assert_eq!(vs["forwarding"], "nat");
    assert_eq!(vs["scheduler"], "rr");
    assert_eq!(vs["alpha"], false);
    assert_eq!(vs["vrrp_group"], Value::Null);
    let hc = &vs["health_check"];
    assert_eq!(hc["type"], "http");
    assert_eq!(hc["path"], "/health");
    assert_eq!(hc["digest"], "9b3a0c85a887a256d6939da88aabd8cd");
    assert_eq!(hc["status_codes"], json!(["200", "204-206"]));
    assert_eq!(hc["virtual_host"], "www.example.com");
    assert_eq!(hc["http_version"], "1.1");
    assert_eq!(hc["interval_ms"], 10000);
    assert_eq!(hc["timeout_ms"], 2000);
    assert_eq!(hc["fall"], 4);
    assert_eq!(hc["retry_delay_ms"], 1000);
    assert_eq!(vs["real_servers"][0]["port"], 8080);
    assert_eq!(vs["real_servers"][0]["inhibit_on_failure"], true);
    assert_eq!(vs["real_servers"][1]["inhibit_on_failure"], false);
    let vs = d.get("/api/v1/virtual-servers/tcp-198.51.100.10-443").await;
    assert_eq!(vs["scheduler"], "lc");
    assert_eq!(vs["health_check"]["type"], "https");
    assert_eq!(vs["health_check"]["path"], "/status");
    assert_eq!(vs["health_check"]["status_codes"], json!(["200"]));

    // MISC_CHECK: a script check per real server.
    let vs = d.get("/api/v1/virtual-servers/udp-203.0.113.53-53").await;
    assert_eq!(vs["protocol"], "udp");
    assert_eq!(vs["one_packet"], true);
    let hc = &vs["real_servers"][0]["health_check"];
    assert_eq!(hc["type"], "script");
    assert_eq!(
        hc["command"],
        json!(["/usr/bin/test", "-n", "@203.0.113.61 example.com"])
    );
    assert_eq!(hc["dynamic_weight"], true);
    assert_eq!(hc["timeout_ms"], 3000);
    assert_eq!(hc["interval_ms"], 5000);
    assert_eq!(hc["fall"], 3);
    assert_eq!(
        vs["real_servers"][1]["health_check"]["command"][2],
        "@203.0.113.62 example.com"
    );

    // Sync groups, VRRPv3 with a fractional advert, gratuitous ARP settings.
    let ext = d.get("/api/v1/vrrp-groups/vi_ext").await;
    assert_eq!(ext["sync_group"], "vg_1");
    assert_eq!(ext["preempt"], false);
    assert_eq!(ext["advert_interval_ms"], 2000);
    assert_eq!(
        ext["garp"],
        json!({"repeat": 3, "delay_s": 2, "refresh_s": 0})
    );
    assert_eq!(ext["members"][0]["node"], "lvs-sync");
    let int = d.get("/api/v1/vrrp-groups/vi_int").await;
    assert_eq!(int["sync_group"], "vg_1");
    assert_eq!(int["version"], 3);
    assert_eq!(int["advert_interval_ms"], 500);
    let vs = d.get("/api/v1/virtual-servers/tcp-198.51.100.1-25").await;
    assert_eq!(vs["vrrp_group"], "vi_ext");
    assert_eq!(vs["health_check"], Value::Null);

    // fwmark services.
    let vs = d.get("/api/v1/virtual-servers/fwmark-7").await;
    assert_eq!(vs["fwmark"], 7);
    assert_eq!(vs["family"], "inet");
    assert_eq!(vs["scheduler"], "sh");
    assert_eq!(vs["scheduler_flags"], json!(["sh-fallback", "sh-port"]));
    assert_eq!(vs["persistence"]["timeout_s"], 600);
    assert_eq!(vs["real_servers"][0]["port"], 0);
    assert_eq!(vs["health_check"]["connect_port"], 443);
    let vs = d.get("/api/v1/virtual-servers/fwmark-8-inet6").await;
    assert_eq!(vs["family"], "inet6");
    assert_eq!(vs["forwarding"], "tunnel");
    assert_eq!(vs["scheduler_flags"], json!(["mh-port"]));

    // IPv6.
    let g = d.get("/api/v1/vrrp-groups/vi_6").await;
    assert_eq!(g["version"], 3, "IPv6 addresses need VRRPv3");
    assert_eq!(g["virtual_addresses"], json!(["2001:db8:1::80/64"]));
    let vs = d
        .get("/api/v1/virtual-servers/tcp-2001-db8-1--80-443")
        .await;
    assert_eq!(vs["address"], "2001:db8:1::80");
    assert_eq!(vs["family"], "inet6");
    assert_eq!(vs["vrrp_group"], "vi_6");
    assert_eq!(
        vs["persistence"],
        json!({"timeout_s": 300, "netmask": "64"})
    );
    assert_eq!(vs["real_servers"][1]["address"], "2001:db8:1::11");

    // include with a glob.
    d.get("/api/v1/virtual-servers/tcp-192.0.2.90-80").await;
    d.get("/api/v1/virtual-servers/tcp-192.0.2.90-25").await;

    // Every change is audited as an import.
    let audit = d.get("/api/v1/audit?limit=1000").await;
    let entries = audit["items"].as_array().expect("audit items");
    let imported: Vec<&Value> = entries.iter().filter(|e| e["via"] == "import").collect();
    assert!(imported.len() >= 20, "{} import entries", imported.len());
    for e in &imported {
        assert_eq!(e["node"], "test-node");
    }
    let has = |kind: &str, action: &str, object: &str| {
        imported
            .iter()
            .any(|e| e["kind"] == kind && e["action"] == action && e["object"] == object)
    };
    assert!(has("vrrp_group", "create", "vi_1"));
    assert!(has("vrrp_group", "update", "vi_1"), "the second member");
    assert!(has("virtual_server", "create", "tcp-192.0.2.180-80"));
    assert!(has(
        "real_server",
        "create",
        "tcp-192.0.2.180-80/192.0.2.120:80"
    ));
    assert!(has("virtual_server", "create", "fwmark-7"));
    // The health checks' first results are a stream of their own, not in this view.
    let unaudited: Vec<&Value> = entries
        .iter()
        .filter(|e| e["via"] != "import" && e["kind"] != "user" && e["kind"] != "login")
        .collect();
    assert!(unaudited.is_empty(), "{unaudited:?}");
}

#[tokio::test]
async fn bad_files_name_the_line_and_import_nothing() {
    let dir = temp();
    let data = dir.path().join("data");
    import(&data, &corpus("lvs-dr-master.conf"));
    for (file, line, what) in [
        ("bad/unclosed-brace.conf", 5, "unclosed '{'"),
        (
            "bad/unknown-block.conf",
            9,
            "unknown top-level keyword 'vrrp_bogus'",
        ),
        ("bad/bad-address.conf", 7, "not an IPv4 or IPv6 address"),
        ("bad/out-of-range.conf", 9, "weight 70000 is out of range"),
    ] {
        let path = corpus(file);
        let out = director(&data, &["import", "keepalived", path.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{file} was accepted");
        assert!(
            err.contains(&format!("{file}:{line}: ")),
            "{file}: the error does not name line {line}:\n{err}"
        );
        assert!(err.contains(what), "{file}:\n{err}");
        assert!(err.contains("nothing imported"), "{file}:\n{err}");
    }
    let d = daemon_on(&data).await;
    let status = d.get("/api/v1/status").await;
    assert_eq!(status["revision"], 1, "only the first import wrote");
    let vss = d.get("/api/v1/virtual-servers").await;
    assert_eq!(vss["items"].as_array().map(Vec::len), Some(1), "{vss}");
}

#[tokio::test]
async fn dry_run_writes_nothing_and_a_running_daemon_is_not_written_behind_its_back() {
    let dir = temp();
    let data = dir.path().join("data");
    // A dry run into an empty directory creates nothing.
    let path = corpus("lvs-dr-master.conf");
    let out = director(
        &data,
        &["import", "keepalived", path.to_str().unwrap(), "--dry-run"],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("vrrp group vi_1: would be created"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing written"), "{stdout}");
    assert!(!data.join("director.db").exists());

    import(&data, &path);
    let d = daemon_on(&data).await;
    let before = d.fingerprint().await;
    let backup = corpus("lvs-dr-backup.conf");
    let out = director(
        &data,
        &[
            "import",
            "keepalived",
            backup.to_str().unwrap(),
            "--dry-run",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("vrrp group vi_1: would be updated (members changed)"),
        "{stdout}"
    );
    let out = director(&data, &["import", "keepalived", backup.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "imported behind the daemon's back");
    assert!(err.contains(&format!("pid {}", d.pid())), "{err}");
    assert!(err.contains("nothing imported"), "{err}");
    assert_eq!(d.fingerprint().await, before);
}

/// The objects as the API shows them, without what the store or the run time adds.
fn declared(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in ["revision", "status", "health"] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

async fn objects(d: &Daemon) -> Value {
    declared(json!({
        "virtual_servers": d.get("/api/v1/virtual-servers?limit=1000").await["items"],
        "vrrp_groups": d.get("/api/v1/vrrp-groups").await["items"],
    }))
}

/// Messages of keepalived's config check about the text itself (not about this host).
const SYNTAX_MESSAGES: &[&str] = &[
    "Unknown keyword",
    "invalid",
    "Invalid",
    "outside range",
    "missing",
    "Missing",
    "nexpected",
    "nmatched",
    "Unterminated",
    "deprecated",
    "will not work",
    "cannot be",
];

fn keepalived_bin() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin"] {
        let p = Path::new(dir).join("keepalived");
        if p.exists() {
            return p;
        }
    }
    panic!("keepalived is not installed: run tests/setup.sh (apt-get install keepalived)");
}

#[tokio::test]
async fn export_keepalived_is_accepted_and_imports_back_to_the_same_objects() {
    let dir = temp();
    let first = dir.path().join("first");
    for name in CORPUS {
        import(&first, &corpus(name));
    }
    let mut exported = Vec::new();
    for node in ["lvs-01", "lvs-02", "lvs-sync", "lvs-v6"] {
        let out = director(&first, &["export", "keepalived", "--node", node]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let conf = dir.path().join(format!("{node}.conf"));
        std::fs::write(&conf, &out.stdout).expect("write export");
        let check = Command::new(keepalived_bin())
            .arg("-t")
            .arg("-f")
            .arg(&conf)
            .output()
            .expect("run keepalived -t");
        let report = format!("{}{}", text(&check.stdout), text(&check.stderr));
        let syntax: Vec<&str> = report
            .lines()
            .filter(|l| SYNTAX_MESSAGES.iter().any(|m| l.contains(m)))
            .collect();
        assert!(
            syntax.is_empty(),
            "keepalived -t refuses the export of {node}:\n{report}\n--- export ---\n{}",
            text(&out.stdout)
        );
        exported.push(conf);
    }
    let text_01 = std::fs::read_to_string(&exported[0]).expect("export");
    assert!(text_01.contains("router_id lvs-01"), "{text_01}");
    assert!(text_01.contains("state MASTER"), "{text_01}");
    let text_02 = std::fs::read_to_string(&exported[1]).expect("export");
    assert!(text_02.contains("state BACKUP"), "{text_02}");
    // connection_sync as lvs_sync_daemon, each node with its own interface.
    assert!(
        text_01.contains("lvs_sync_daemon lo vi_1 id 7 port 8850"),
        "{text_01}"
    );
    assert!(
        text_02.contains("lvs_sync_daemon eth1 vi_1 id 7 port 8850"),
        "{text_02}"
    );

    let second = dir.path().join("second");
    for conf in &exported {
        import(&second, conf);
    }
    let a = daemon_on(&first).await;
    let b = daemon_on(&second).await;
    let (a, b) = (objects(&a).await, objects(&b).await);
    for kind in ["virtual_servers", "vrrp_groups"] {
        let (xs, ys) = (a[kind].as_array().unwrap(), b[kind].as_array().unwrap());
        assert_eq!(xs.len(), ys.len(), "{kind}: {a}\n{b}");
        for (x, y) in xs.iter().zip(ys) {
            assert_eq!(x, y, "{kind} {} differs after the round trip", x["name"]);
        }
    }
}

#[tokio::test]
async fn export_ipvsadm_prints_the_table_director_programs() {
    let dir = temp();
    let data = dir.path().join("data");
    for name in [
        "lvs-dr-master.conf",
        "fwmark.conf",
        "ipv6.conf",
        "misc-check.conf",
    ] {
        import(&data, &corpus(name));
    }
    let out = director(&data, &["export", "ipvsadm", "--node", "lvs-01"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    for expected in [
        "-A -t 192.0.2.180:80 -s wrr -p 50 -M 255.255.255.0",
        "-a -t 192.0.2.180:80 -r 192.0.2.120:80 -g -w 3 -x 1000 -y 100",
        "-a -t 192.0.2.180:80 -r 192.0.2.121:80 -g -w 1",
        "-A -f 7 -s sh -b sh-fallback,sh-port -p 600",
        "-a -f 7 -r 192.0.2.50:0 -g -w 5",
        "-A -f 8 -6 -s mh -b mh-port",
        "-a -f 8 -6 -r [2001:db8::50]:0 -i -w 1",
        "-A -u 203.0.113.53:53 -s wlc -o",
    ] {
        assert!(lines.contains(&expected), "{expected:?} missing:\n{table}");
    }
    // lvs-01 is no member of vi_6: its IPv6 service is programmed on lvs-v6 only.
    assert!(!table.contains("2001:db8:1::80"), "{table}");
    let v6 = director(&data, &["export", "ipvsadm", "--node", "lvs-v6"]);
    assert!(text(&v6.stdout).contains("-A -t [2001:db8:1::80]:443 -s wlc -p 300 -M 64"));
}

/// The warning lines of an import's standard error, and the count its last line prints.
fn warning_count(stdout: &str, stderr: &str) -> (usize, usize) {
    let printed = stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .count();
    let said = stdout
        .lines()
        .last()
        .and_then(|l| l.rsplit_once(" ("))
        .and_then(|(_, n)| n.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    (printed, said)
}

#[tokio::test]
async fn keepalived_defaults_are_imported_loudly_and_export_back_as_keepalived_accepts() {
    let dir = temp();
    let first = dir.path().join("first");
    let (stdout, stderr) = import(&first, &corpus("keepalived-default.conf"));
    let (printed, said) = warning_count(&stdout, &stderr);
    assert_eq!(printed, said, "{stdout}\n{stderr}");
    for expected in [
        "keepalived-default.conf:14: vrrp_instance VI_1 is imported as VRRP group vi_1",
        "192.168.200.16/32 is listed twice in virtual_ipaddress; imported once",
        "track_interface eth0 has no weight (keepalived: FAULT); imported with weight -253",
        "the weight -254 of track_script chk_web is imported as -253",
        "track_script chk_web is imported as a track of its command; the name is not kept (an export calls it vi_1_track_2)",
        "keepalived-default.conf:43: 'nb_get_retry' in virtual_server 192.168.200.16 443 > real_server 192.168.201.100 443 > TCP_CHECK is not imported",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(!stderr.contains("garp_interval"), "{stderr}");
    let out = director(&first, &["export", "keepalived", "--node", "lvs-default"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported = text(&out.stdout);
    assert!(
        exported.contains("state BACKUP") && exported.contains("nopreempt"),
        "{exported}"
    );
    let conf = dir.path().join("export.conf");
    std::fs::write(&conf, &out.stdout).expect("write export");
    let check = Command::new(keepalived_bin())
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .output()
        .expect("run keepalived -t");
    let report = format!("{}{}", text(&check.stdout), text(&check.stderr));
    let syntax: Vec<&str> = report
        .lines()
        .filter(|l| SYNTAX_MESSAGES.iter().any(|m| l.contains(m)))
        .collect();
    assert!(
        syntax.is_empty(),
        "keepalived -t:\n{report}\n--- export ---\n{exported}"
    );
    let second = dir.path().join("second");
    import(&second, &conf);
    let a = daemon_on(&first).await;
    let b = daemon_on(&second).await;
    assert_eq!(objects(&a).await, objects(&b).await, "the round trip");
}

#[tokio::test]
async fn two_clusters_called_vi_1_stay_two_groups_and_a_true_conflict_names_both_lines() {
    let dir = temp();
    let data = dir.path().join("data");
    let a = corpus("clusters/a.conf");
    let b = corpus("clusters/b.conf");
    import(&data, &a);
    // b.conf's conditional lines are read for this node (DIRECTOR_NODE_NAME test-node): router_id lvs-b1,
    // priority 150.
    let (stdout, stderr) = import(&data, &b);
    let (printed, said) = warning_count(&stdout, &stderr);
    assert_eq!(printed, said, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("b.conf:5: VRRP group vi_1 (VRID 72, 10.72.0.1/32) is another cluster than VRRP group vi_1 (VRID 71, 10.71.0.1/32) in the data directory: imported as VRRP group vi_1-2"),
        "{stderr}"
    );
    let out = director(
        &data,
        &[
            "import",
            "keepalived",
            corpus("clusters/conflict.conf").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("nothing imported"),
        "{}",
        text(&out.stderr)
    );
    let d = daemon_on(&data).await;
    let objects = objects(&d).await;
    let groups: Vec<(String, u64, String, u64)> = objects["vrrp_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap_or_default().to_string(),
                g["vrid"].as_u64().unwrap_or_default(),
                g["members"][0]["node"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                g["members"][0]["priority"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("vi_1".to_string(), 71, "lvs-a1".to_string(), 150),
            ("vi_1-2".to_string(), 72, "lvs-b1".to_string(), 150),
        ]
    );
    let tied: Vec<(String, String)> = objects["virtual_servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap_or_default().to_string(),
                v["vrrp_group"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        tied,
        [
            ("tcp-10.71.0.1-80".to_string(), "vi_1".to_string()),
            ("tcp-10.72.0.1-80".to_string(), "vi_1-2".to_string()),
        ]
    );

    // Both files in one import: the conflict names both lines.
    let fresh = dir.path().join("fresh");
    let out = director(
        &fresh,
        &[
            "import",
            "keepalived",
            a.to_str().unwrap(),
            corpus("clusters/conflict.conf").to_str().unwrap(),
        ],
    );
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("conflict.conf:4: VRRP group vi_1 (VRID 71, 10.73.0.1/32) conflicts with VRRP group vi_1 (VRID 71, 10.71.0.1/32) declared at ")
            && err.contains("a.conf:4"),
        "{err}"
    );
    assert!(err.contains("nothing imported"), "{err}");
}
