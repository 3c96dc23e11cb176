//! The audit log: who, through what, when, on which node, before and after; filters and pages.

use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test]
async fn every_change_is_recorded_and_weight_changes_are_one_query_away() {
    let d = Daemon::start().await;
    let operator = d.token_for("operator").await;
    let web = json!({"name": "web", "protocol": "tcp", "address": "192.168.10.180", "port": 80,
        "real_servers": [{"address": "192.168.10.120", "port": 80, "weight": 1}, {"address": "192.168.10.121", "port": 80}]});
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web))
            .await
            .0,
        201
    );
    let rs = "/api/v1/virtual-servers/web/real-servers/192.168.10.120:80";
    assert_eq!(
        d.call_as(&operator, Method::PATCH, rs, Some(json!({"weight": 5})))
            .await
            .0,
        200
    );
    assert_eq!(
        d.call(
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"scheduler": "rr"}))
        )
        .await
        .0,
        200
    );

    let weights = d.get("/api/v1/audit?kind=real_server&action=update").await;
    let items = weights["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{weights:#}");
    let e = &items[0];
    assert_eq!(e["actor"], "operator-user");
    assert_eq!(e["via"], "rest");
    assert_eq!(e["node"], "test-node");
    assert_eq!(e["object"], "web/192.168.10.120:80");
    assert_eq!(e["before"], json!({"weight": 1}));
    assert_eq!(e["after"], json!({"weight": 5}));
    assert_eq!(e["summary"], "weight 1 -> 5");
    assert!(e["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        d.get("/api/v1/audit?field=weight").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let vs_updates = d
        .get("/api/v1/audit?kind=virtual_server&action=update")
        .await;
    assert_eq!(vs_updates["items"][0]["summary"], "scheduler wlc -> rr");

    // A PUT that changes weights is recorded per real server, so the weight query still finds it.
    let put = json!({"name": "web", "protocol": "tcp", "address": "192.168.10.180", "port": 80, "scheduler": "rr",
        "real_servers": [{"address": "192.168.10.120", "port": 80, "weight": 5}, {"address": "192.168.10.121", "port": 80, "weight": 9}]});
    assert_eq!(
        d.call(Method::PUT, "/api/v1/virtual-servers/web", Some(put))
            .await
            .0,
        200
    );
    let weights = d.get("/api/v1/audit?field=weight").await;
    assert_eq!(weights["items"][0]["object"], "web/192.168.10.121:80");
    assert_eq!(weights["items"][0]["summary"], "weight 1 -> 9");

    // By object name (the virtual server and its real servers), by actor, newest first.
    let by_name = d.get("/api/v1/audit?name=web").await;
    let ids: Vec<i64> = by_name["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 6, "create vs + 2 rs, weight, scheduler, weight");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let by_actor = d.get("/api/v1/audit?actor=operator-user").await;
    let kinds: Vec<&str> = by_actor["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["real_server", "login"], "the change, and the login");

    // Pagination with a cursor visits every entry once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit?limit=2&cursor={c}"),
            None => "/api/v1/audit?limit=2".to_string(),
        };
        let page = d.get(&path).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let all = d.get("/api/v1/audit?limit=1000").await;
    assert_eq!(seen.len(), all["items"].as_array().unwrap().len());

    // Time range.
    let first_at = all["items"].as_array().unwrap().last().unwrap()["at"]
        .as_str()
        .unwrap()
        .to_string();
    let since = d
        .get(&format!("/api/v1/audit?since={first_at}&limit=1000"))
        .await;
    assert_eq!(since["items"].as_array().unwrap().len(), seen.len());
    let until = d.get(&format!("/api/v1/audit?until={first_at}")).await;
    assert_eq!(until["items"].as_array().unwrap().len(), 0);
    let (s, e) = d
        .call(Method::GET, "/api/v1/audit?since=yesterday", None)
        .await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("since")));

    // Reordering the real servers is a change too: a revision, and an entry that says so.
    let reordered = json!({"name": "web", "protocol": "tcp", "address": "192.168.10.180", "port": 80, "scheduler": "rr",
        "real_servers": [{"address": "192.168.10.121", "port": 80, "weight": 9}, {"address": "192.168.10.120", "port": 80, "weight": 5}]});
    let before = d.get("/api/v1/status").await["revision"].as_u64().unwrap();
    assert_eq!(
        d.call(Method::PUT, "/api/v1/virtual-servers/web", Some(reordered))
            .await
            .0,
        200
    );
    let newest = d.get("/api/v1/audit?limit=1").await;
    assert_eq!(newest["items"][0]["summary"], "real servers reordered");
    assert_eq!(newest["items"][0]["revision"].as_u64(), Some(before + 1));

    // There is no way to change or remove entries.
    for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let (s, _) = d.call(m.clone(), "/api/v1/audit", Some(json!({}))).await;
        assert_eq!(s, 405, "{m} /api/v1/audit");
    }
}

/// The items of an audit query, asserting it answers 200.
async fn items(d: &Daemon, query: &str) -> Vec<Value> {
    d.get(&format!("/api/v1/audit?limit=1000&{query}")).await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn summaries(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|e| e["summary"].as_str().unwrap_or_default())
        .collect()
}

/// Waits (bounded) until `query` lists at least `n` entries, and returns them.
async fn wait_items(d: &Daemon, query: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = items(d, query).await;
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{query}: {n} entries expected, {:?}",
            summaries(&got)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A virtual server checked every 200 ms over TCP, with real servers on these loopback ports.
fn checked(ports: &[u16]) -> Value {
    let real_servers: Vec<Value> = ports
        .iter()
        .map(|p| json!({"address": "127.0.0.1", "port": p}))
        .collect();
    json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "forwarding": "nat",
        "health_check": {"type": "tcp", "interval_ms": 200, "timeout_ms": 150, "rise": 1, "fall": 1},
        "real_servers": real_servers})
}

#[tokio::test]
async fn health_transitions_are_a_stream_of_their_own_off_the_default_view() {
    let d = Daemon::start().await;
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = up.local_addr().unwrap().port();
    let rs = format!("web/127.0.0.1:{port}");
    assert_eq!(
        d.call(
            Method::POST,
            "/api/v1/virtual-servers",
            Some(checked(&[port]))
        )
        .await
        .0,
        201
    );
    let operator = d.token_for("operator").await;
    let path = format!("/api/v1/virtual-servers/web/real-servers/127.0.0.1:{port}");
    assert_eq!(
        d.call_as(&operator, Method::PATCH, &path, Some(json!({"weight": 5})))
            .await
            .0,
        200
    );
    // One real server added after the start: its first result is an entry of its own.
    let health = wait_items(&d, "source=health", 1).await;
    assert_eq!(health.len(), 1, "{:?}", summaries(&health));
    let t = &health[0];
    assert_eq!(t["source"], "health");
    assert_eq!(t["via"], "health");
    assert_eq!(t["actor"], "test-node");
    assert_eq!(t["action"], "transition");
    assert_eq!(t["object"], rs.as_str());
    assert_eq!(t["summary"], "health unknown -> up");
    assert!(t.get("revision").is_none_or(Value::is_null), "{t}");

    // The default view holds the changes only: the create, its real server, the weight, the logins.
    let changes = items(&d, "").await;
    assert!(
        changes.iter().all(|e| e["source"] == "change"),
        "{:?}",
        summaries(&changes)
    );
    assert_eq!(items(&d, "source=change").await, changes);
    let all = items(&d, "source=all").await;
    assert_eq!(all.len(), changes.len() + 1);
    assert!(all.contains(t));
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(items(&d, "source=change,health").await, all);
    assert_eq!(items(&d, "source=health,all").await, all);
    assert!(items(&d, "source=vrrp").await.is_empty());

    // A via names its stream; an explicit source still applies.
    assert_eq!(items(&d, "via=health").await, health);
    assert!(items(&d, "via=health&source=change").await.is_empty());

    // Filters combine with the source.
    let q = format!("source=health&object={rs}&field=health&actor=test-node&kind=real_server&action=transition&name=web");
    assert_eq!(items(&d, &q).await, health);
    assert!(items(&d, "source=health&actor=admin").await.is_empty());
    assert!(items(&d, "source=health&field=weight").await.is_empty());
    let weights = items(&d, &format!("source=all&object={rs}&field=weight")).await;
    assert_eq!(summaries(&weights), ["weight 1 -> 5"]);
    assert_eq!(weights[0]["actor"], "operator-user");
    let since = t["at"].as_str().unwrap();
    assert_eq!(
        items(
            &d,
            &format!("source=health&since={since}&until=2999-01-01T00:00:00Z")
        )
        .await,
        health
    );
    let page = d.get("/api/v1/audit?source=all&limit=1").await;
    assert_eq!(page["items"][0], all[0]);
    let older = d
        .get(&format!(
            "/api/v1/audit?source=all&limit=1000&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(older["items"].as_array().unwrap()[..], all[1..]);

    // Bad values name the parameter and change nothing.
    for bad in ["bogus", "", "health,", "Health", "change,nope"] {
        let (s, e) = d
            .call(Method::GET, &format!("/api/v1/audit?source={bad}"), None)
            .await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (400, Some("source")),
            "{bad}: {e}"
        );
    }
    // Several sources are one comma-separated value, not a repeated parameter.
    let (s, e) = d
        .call(Method::GET, "/api/v1/audit?source=health&source=vrrp", None)
        .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (400, Some("source")),
        "{e}"
    );
    drop(up);
}

#[tokio::test]
async fn the_first_health_results_after_a_start_are_one_entry() {
    let mut d = Daemon::start().await;
    let _keep = d.keep_data();
    let mut live = Vec::new();
    for _ in 0..3 {
        live.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    let mut ports: Vec<u16> = live
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let dead: Vec<u16> = (0..2).map(|_| director_tests::free_port()).collect();
    ports.extend(&dead);
    assert_eq!(
        d.call(
            Method::POST,
            "/api/v1/virtual-servers",
            Some(checked(&ports))
        )
        .await
        .0,
        201
    );
    // Added while the daemon runs: one entry per real server.
    let before = wait_items(&d, "source=health", 5).await;
    assert_eq!(before.len(), 5, "{:?}", summaries(&before));

    d.stop();
    let dir = d.data_path().to_path_buf();
    drop(d);
    let d = Daemon::start_with(DaemonOptions {
        data_dir: Some(dir),
        ..Default::default()
    })
    .await;
    // After the start, the five first results are one entry, written once all five are in.
    let health = wait_items(&d, "source=health", 6).await;
    assert_eq!(health.len(), 6, "{:?}", summaries(&health));
    assert_eq!(health[1..], before[..]);
    let burst = &health[0];
    assert_eq!(
        burst["summary"],
        "health: 3 real servers unknown -> up, 2 unknown -> down"
    );
    assert_eq!(burst["object"], "web", "their virtual server");
    assert_eq!(burst["kind"], "real_server");
    assert_eq!(burst["action"], "transition");
    assert_eq!(burst["via"], "health");
    assert_eq!(burst["actor"], "test-node");
    assert_eq!(burst["before"], json!({"health": "unknown"}));
    let servers = burst["after"]["real_servers"].as_object().unwrap();
    assert_eq!(servers.len(), 5, "{servers:?}");
    for p in &ports {
        let s = &servers[&format!("web/127.0.0.1:{p}")];
        if dead.contains(p) {
            assert_eq!(s["health"], "down", "{s}");
            assert!(s["error"].as_str().unwrap_or("").contains("refused"), "{s}");
        } else {
            assert_eq!(*s, json!({"health": "up"}));
        }
    }
    // Found by the virtual server's name, off the default view.
    assert_eq!(items(&d, "source=health&name=web").await[0], *burst);
    assert!(items(&d, "").await.iter().all(|e| e["via"] != "health"));

    // Later transitions are one entry each.
    drop(live.remove(0));
    let after = wait_items(&d, "source=health", 7).await;
    assert_eq!(after[0]["object"], format!("web/127.0.0.1:{}", ports[0]));
    assert!(
        after[0]["summary"]
            .as_str()
            .unwrap_or("")
            .starts_with("health up -> down"),
        "{:?}",
        summaries(&after)
    );
    assert_eq!(after[1..], health[..]);
}

/// A UI page as the admin: status and HTML.
async fn ui_page(d: &Daemon, path: &str) -> (u16, String) {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(d.url(path))
        .header("cookie", format!("director_session={}", d.admin_token))
        .send()
        .await
        .expect("GET a page");
    (r.status().as_u16(), r.text().await.expect("page"))
}

/// The summaries of the rows of the audit page.
fn rows(html: &str) -> Vec<String> {
    html.split("<tr id=\"entry-")
        .skip(1)
        .filter_map(|row| {
            let cells: Vec<&str> = row.split("<td>").collect();
            let change = cells.get(5)?;
            Some(
                change
                    .split(['<'])
                    .next()
                    .unwrap_or_default()
                    .replace("&#62;", ">")
                    .replace("&gt;", ">")
                    .trim()
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_audit_page_filters_by_field_actor_object_via_and_source() {
    let d = Daemon::start().await;
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = up.local_addr().unwrap().port();
    let rs = format!("web/127.0.0.1:{port}");
    assert_eq!(
        d.call(
            Method::POST,
            "/api/v1/virtual-servers",
            Some(checked(&[port]))
        )
        .await
        .0,
        201
    );
    let operator = d.token_for("operator").await;
    let path = format!("/api/v1/virtual-servers/web/real-servers/127.0.0.1:{port}");
    assert_eq!(
        d.call_as(&operator, Method::PATCH, &path, Some(json!({"weight": 5})))
            .await
            .0,
        200
    );
    wait_items(&d, "source=health", 1).await;

    let (s, html) = ui_page(&d, "/audit").await;
    assert_eq!(s, 200);
    let default = rows(&html);
    assert!(
        default.contains(&"weight 1 -> 5".to_string()),
        "{default:?}"
    );
    assert!(
        !default.iter().any(|r| r.starts_with("health")),
        "{default:?}"
    );
    assert!(
        html.contains(r#"<option value="" selected>default</option>"#),
        "the default source"
    );

    let (_, html) = ui_page(&d, "/audit?field=weight").await;
    assert_eq!(rows(&html), ["weight 1 -> 5"]);
    assert!(
        html.contains(r#"name="field" type="text" value="weight""#),
        "the filter shown"
    );
    let (_, html) = ui_page(&d, "/audit?actor=operator-user&kind=real_server").await;
    assert_eq!(rows(&html), ["weight 1 -> 5"]);
    let (_, html) = ui_page(&d, &format!("/audit?object={rs}")).await;
    assert_eq!(
        rows(&html),
        [
            "weight 1 -> 5".to_string(),
            format!("created real server 127.0.0.1:{port} (weight 1)")
        ]
    );
    let (_, html) = ui_page(&d, "/audit?via=ui").await;
    assert!(rows(&html).is_empty(), "nothing was done in the UI");
    let (_, html) = ui_page(&d, "/audit?via=health").await;
    assert_eq!(rows(&html), ["health unknown -> up"]);
    assert!(html.contains(r#"<option value="" selected>default</option>"#));
    let (_, html) = ui_page(&d, "/audit?via=health&source=change").await;
    assert!(rows(&html).is_empty(), "a source chosen applies with a via");
    assert!(html.contains(r#"<option value="change" selected>"#));
    let (_, html) = ui_page(&d, "/audit?source=health").await;
    assert_eq!(rows(&html), ["health unknown -> up"]);
    let (_, html) = ui_page(&d, &format!("/audit?source=all&object={rs}&field=health")).await;
    assert_eq!(rows(&html), ["health unknown -> up"]);
    let (_, html) = ui_page(&d, "/audit?source=all&field=weight&actor=admin").await;
    assert!(rows(&html).is_empty());
    let (_, html) = ui_page(&d, "/audit?source=health,vrrp").await;
    assert_eq!(rows(&html), ["health unknown -> up"]);
    assert!(
        html.contains(r#"<option value="health,vrrp" selected>"#),
        "{html}"
    );

    let (s, html) = ui_page(&d, "/audit?source=bogus").await;
    assert_eq!(s, 422);
    assert!(
        html.contains("href=\"#f-source\""),
        "the error points at the source: {html}"
    );
    drop(up);
}
