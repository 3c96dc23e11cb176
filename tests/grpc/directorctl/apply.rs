//! `apply -f`: create or update from a YAML or JSON file; a bad file is refused with its line and column and
//! changes nothing.

use crate::{ctl, ctl_at};
use director_tests::Daemon;
use serde_json::json;

const FILE: &str = "\
# The web tier.
vrrp_groups:
  - name: vi-1
    vrid: 51
    virtual_addresses: [192.168.10.180/32]
    interface: eth0
    track:
      - virtual_server: web
        weight: -20
virtual_servers:
  - name: web
    protocol: tcp
    address: 192.168.10.180
    port: 80
    scheduler: wrr
    vrrp_group: vi-1
    real_servers:
      - {address: 10.0.1.1, port: 80, weight: 1}
      - {address: 10.0.1.2, port: 80, weight: 2}
  - name: api
    protocol: tcp
    address: 192.168.10.180
    port: 443
    real_servers:
      - address: 10.0.2.1
        port: 443
";

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write file");
    path.display().to_string()
}

#[tokio::test]
async fn creates_then_updates() {
    let d = Daemon::start().await;
    let t = d.admin_token.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(&dir, "web.yaml", FILE);

    let run = ctl(&d, &t, &["apply", "-f", &file]).await.ok();
    let lines: Vec<_> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "created virtual_server web (revision 2)",
            "created virtual_server api (revision 3)",
            "created vrrp_group vi-1 (revision 4)",
            "revision 4",
        ],
        "the group goes first without its track of the new web, which comes back at the end"
    );
    let group = d.get("/api/v1/vrrp-groups/vi-1").await;
    assert_eq!(
        group["track"],
        json!([{"virtual_server": "web", "weight": -20}])
    );
    let web = d.get("/api/v1/virtual-servers/web").await;
    assert_eq!(web["vrrp_group"], "vi-1");
    assert_eq!(web["real_servers"][1]["weight"], 2);

    // The same file again changes nothing.
    let run = ctl(&d, &t, &["apply", "-f", &file, "-o", "json"])
        .await
        .ok()
        .json();
    let results: Vec<_> = run["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["result"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(results, ["unchanged", "unchanged", "unchanged"]);
    assert_eq!(run["revision"], 4);

    // A weight change is an update an operator may apply.
    let operator = d.token_for("operator").await;
    let changed = write(
        &dir,
        "web2.yaml",
        &FILE.replace("port: 80, weight: 2", "port: 80, weight: 7"),
    );
    let run = ctl(&d, &operator, &["apply", "-f", &changed]).await.ok();
    assert!(
        run.stdout
            .contains("updated virtual_server web (revision 5)"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("unchanged virtual_server api"),
        "{run:?}"
    );
    assert_eq!(
        d.get("/api/v1/virtual-servers/web").await["real_servers"][1]["weight"],
        7
    );
    let audit = d
        .get("/api/v1/audit?object=web/10.0.1.2:80&field=weight")
        .await;
    assert_eq!(audit["items"][0]["actor"], "operator-user");
    assert_eq!(audit["items"][0]["via"], "grpc");

    // What `get -o json` prints applies as it is (read-only fields are ignored), as JSON on stdin.
    let got = ctl(&d, &t, &["get", "vs", "api", "-o", "json"])
        .await
        .ok()
        .json();
    let mut doc = json!({"virtual_servers": [got]});
    doc["virtual_servers"][0]["real_servers"][0]["weight"] = json!(3);
    let run = ctl_at(
        &d.grpc_url(),
        &t,
        &["apply", "-f", "-"],
        Some(&doc.to_string()),
    )
    .await
    .ok();
    assert!(
        run.stdout
            .contains("updated virtual_server api (revision 6)"),
        "{run:?}"
    );
    assert_eq!(
        d.get("/api/v1/virtual-servers/api").await["real_servers"][0]["weight"],
        3
    );
}

#[tokio::test]
async fn a_dry_run_shows_the_diff_and_only_prune_removes_real_servers() {
    let d = Daemon::start().await;
    let t = d.admin_token.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(&dir, "web.yaml", FILE);
    ctl(&d, &t, &["apply", "-f", &file]).await.ok();
    // Someone adds a real server the file does not list.
    let (status, _) = d
        .call(
            reqwest::Method::POST,
            "/api/v1/virtual-servers/web/real-servers",
            Some(json!({"address": "10.0.1.3", "port": 80, "weight": 1})),
        )
        .await;
    assert_eq!(status, 201);
    let changed = write(
        &dir,
        "web2.yaml",
        &FILE
            .replace("scheduler: wrr", "scheduler: wlc")
            .replace("port: 80, weight: 1}", "port: 80, weight: 4}"),
    );

    // The dry run prints each change, before and after, and changes nothing.
    let before = d.fingerprint().await;
    let run = ctl(&d, &t, &["apply", "-f", &changed, "--dry-run"])
        .await
        .ok();
    let lines: Vec<_> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "dry run: nothing is changed",
            "unchanged vrrp_group vi-1 (now at revision 4)",
            "would update virtual_server web (now at revision 5)",
            "  scheduler: wrr -> wlc",
            "  real server 10.0.1.1:80: weight: 1 -> 4",
            "  real server 10.0.1.3:80: kept (not in the file; --prune removes it)",
            "unchanged virtual_server api (now at revision 3)",
        ],
        "{run:?}"
    );
    assert_eq!(d.fingerprint().await, before, "a dry run changes nothing");

    // Applied: the real server the file does not list is kept, and the output says so.
    let run = ctl(&d, &t, &["apply", "-f", &changed, "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(run["dry_run"], false);
    let web = &run["objects"][1];
    assert_eq!(web["result"], "updated");
    assert_eq!(
        web["changes"],
        json!([{"field": "scheduler", "before": "wrr", "after": "wlc"}])
    );
    assert_eq!(
        web["real_servers"],
        json!([
            {"endpoint": "10.0.1.1:80", "result": "updated",
             "changes": [{"field": "weight", "before": 1, "after": 4}]},
            {"endpoint": "10.0.1.2:80", "result": "unchanged", "changes": []},
            {"endpoint": "10.0.1.3:80", "result": "kept", "changes": []},
        ])
    );
    let now = d.get("/api/v1/virtual-servers/web").await;
    let endpoints: Vec<_> = now["real_servers"]
        .as_array()
        .expect("real servers")
        .iter()
        .map(|r| {
            format!(
                "{}:{}={}",
                r["address"].as_str().unwrap_or(""),
                r["port"],
                r["weight"]
            )
        })
        .collect();
    assert_eq!(
        endpoints,
        ["10.0.1.1:80=4", "10.0.1.2:80=2", "10.0.1.3:80=1"]
    );
    assert_eq!(now["scheduler"], "wlc");

    // --prune removes it (a dry run says so first).
    let run = ctl(&d, &t, &["apply", "-f", &changed, "--prune", "--dry-run"])
        .await
        .ok();
    assert!(
        run.stdout.contains("would update virtual_server web")
            && run.stdout.contains("  real server 10.0.1.3:80: removed"),
        "{run:?}"
    );
    let run = ctl(&d, &t, &["apply", "-f", &changed, "--prune"])
        .await
        .ok();
    assert!(
        run.stdout.contains("  real server 10.0.1.3:80: removed"),
        "{run:?}"
    );
    let now = d.get("/api/v1/virtual-servers/web").await;
    assert_eq!(now["real_servers"].as_array().map(Vec::len), Some(2));
    let audit = d.get("/api/v1/audit?object=web/10.0.1.3:80").await;
    assert_eq!(audit["items"][0]["action"], "delete", "{audit}");
}

#[tokio::test]
async fn bad_files_are_refused_with_their_place() {
    let d = Daemon::start().await;
    let t = d.admin_token.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let before = d.fingerprint().await;

    let cases = [
        (
            "syntax",
            FILE.replace("    protocol: tcp\n    address: 192.168.10.180\n    port: 80\n",
                         "    protocol: tcp\n   address: 192.168.10.180\n    port: 80\n"),
            "bad.yaml:13:",
        ),
        (
            "weight out of range",
            FILE.replace("port: 80, weight: 2", "port: 80, weight: 70000"),
            "bad.yaml:19:",
        ),
        (
            "unknown field",
            FILE.replace("    scheduler: wrr\n", "    scheduler: wrr\n    colour: blue\n"),
            "bad.yaml:16:5: virtual_servers[0].colour: unknown field",
        ),
        (
            "bad enum value",
            FILE.replace("scheduler: wrr", "scheduler: fastest"),
            "bad.yaml:15:5: virtual_servers[0].scheduler",
        ),
        (
            "a bad last object",
            FILE.replace("      - address: 10.0.2.1\n", "      - address: 10.0.2.999\n"),
            "bad.yaml:25:",
        ),
        (
            "JSON with a bad value",
            "{\"virtual_servers\": [\n  {\"name\": \"web\", \"protocol\": \"tcp\", \"address\": \"192.168.10.180\",\n   \"port\": \"eighty\"}\n]}\n".to_string(),
            "bad.yaml:3:",
        ),
    ];
    for (what, text, place) in cases {
        let file = write(&dir, "bad.yaml", &text);
        let run = ctl(&d, &t, &["apply", "-f", &file]).await;
        assert_eq!(run.code, 1, "{what}: {run:?}");
        let message = run.stderr.replace(&format!("{}", dir.path().display()), "");
        assert!(
            message.contains(&format!("/{place}")),
            "{what}: {place:?} in {message:?}"
        );
    }
    // A file that cannot be read at all.
    let run = ctl(&d, &t, &["apply", "-f", "/nonexistent/file.yaml"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        d.fingerprint().await,
        before,
        "a refused file changes nothing"
    );

    // What only the daemon can know is placed in the file too: a VRRP group that does not exist.
    let orphan = "virtual_servers:\n  - name: web\n    protocol: tcp\n    address: 192.168.10.180\n    port: 80\n    vrrp_group: nowhere\n";
    let file = write(&dir, "orphan.yaml", orphan);
    let run = ctl(&d, &t, &["apply", "-f", &file]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("orphan.yaml:6:5: virtual_servers[0]: vrrp_group: there is no VRRP group"),
        "{run:?}"
    );
    // And a clash with an object of the daemon is a conflict (4), placed as well.
    let taken = "virtual_servers:\n  - name: other\n    protocol: tcp\n    address: 192.168.10.180\n    port: 80\n";
    let first = write(&dir, "first.yaml", &taken.replace("other", "first"));
    ctl(&d, &t, &["apply", "-f", &first]).await.ok();
    let file = write(&dir, "taken.yaml", taken);
    let run = ctl(&d, &t, &["apply", "-f", &file]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("taken.yaml:4:5:"), "{run:?}");
}
