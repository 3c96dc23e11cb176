//! Create, read, update and delete of every resource.

use director_tests::Daemon;
use reqwest::Method;
use serde_json::{json, Value};

fn web() -> Value {
    json!({
        "name": "web", "protocol": "tcp", "address": "192.168.10.180", "port": 80,
        "scheduler": "wrr", "forwarding": "dr",
        "persistence": {"timeout_s": 50, "netmask": "255.255.255.255"},
        // The check goes to a closed port on loopback: tests never send traffic off this machine.
        "health_check": {"type": "tcp", "interval_ms": 6000, "timeout_ms": 3000, "rise": 1, "fall": 3,
                         "connect_address": "127.0.0.1", "connect_port": 9},
        "real_servers": [
            {"address": "192.168.10.120", "port": 80, "weight": 1},
            {"address": "192.168.10.121", "port": 80, "weight": 2}
        ]
    })
}

#[tokio::test]
async fn virtual_server_lifecycle() {
    let d = Daemon::start().await;
    let r = d
        .req(Method::POST, "/api/v1/virtual-servers", &d.admin_token)
        .json(&web())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], "/api/v1/virtual-servers/web");
    assert_eq!(r.headers()["etag"], "\"1\"");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["family"], "inet");
    assert_eq!(body["revision"], 1);
    assert_eq!(body["real_servers"][1]["weight"], 2);
    let health = body["real_servers"][1]["health"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        health == "unknown" || health == "down",
        "checked servers start unknown: {health}"
    );

    // What a GET returns is what the POST returned, but for the health the checker keeps updating.
    let without_health = |mut v: Value| {
        for rs in v["real_servers"].as_array_mut().into_iter().flatten() {
            rs.as_object_mut().map(|m| m.remove("health"));
        }
        v
    };
    let got = d.get("/api/v1/virtual-servers/web").await;
    assert_eq!(without_health(got), without_health(body.clone()));

    // PUT replaces wholesale: one real server goes, the scheduler changes.
    let mut next = web();
    next["scheduler"] = json!("rr");
    next["real_servers"] = json!([{"address": "192.168.10.121", "port": 80, "weight": 2}]);
    let (s, put) = d
        .call(Method::PUT, "/api/v1/virtual-servers/web", Some(next))
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["scheduler"], "rr");
    assert_eq!(put["real_servers"].as_array().unwrap().len(), 1);
    assert_eq!(put["revision"], 2);
    // The untouched real server keeps its revision.
    assert_eq!(put["real_servers"][0]["revision"], 1);

    // A GET body can be sent back as is (read-only fields are ignored).
    let (s, again) = d
        .call(
            Method::PUT,
            "/api/v1/virtual-servers/web",
            Some(put.clone()),
        )
        .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["revision"], 2, "an identical PUT changes nothing");

    let (s, patched) = d
        .call(
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"persistence": null, "one_packet": true})),
        )
        .await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(patched["persistence"], Value::Null);
    assert_eq!(patched["one_packet"], true);
    assert_eq!(patched["scheduler"], "rr");

    let (s, _) = d
        .call(Method::DELETE, "/api/v1/virtual-servers/web", None)
        .await;
    assert_eq!(s, 204);
    let (s, e) = d
        .call(Method::GET, "/api/v1/virtual-servers/web", None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(e["error"]["code"], "not_found");
}

#[tokio::test]
async fn real_server_lifecycle() {
    let d = Daemon::start().await;
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web()))
            .await
            .0,
        201
    );
    let r = d
        .req(Method::POST, "/api/v1/virtual-servers/web/real-servers", &d.admin_token)
        .json(&json!({"address": "192.168.10.122", "port": 80, "weight": 3, "inhibit_on_failure": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["location"],
        "/api/v1/virtual-servers/web/real-servers/192.168.10.122:80"
    );
    let list = d.get("/api/v1/virtual-servers/web/real-servers").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);

    let (s, rs) = d
        .call(
            Method::PATCH,
            "/api/v1/virtual-servers/web/real-servers/192.168.10.122:80",
            Some(json!({"weight": 7})),
        )
        .await;
    assert_eq!(s, 200, "{rs}");
    assert_eq!(rs["weight"], 7);
    assert_eq!(rs["inhibit_on_failure"], true);

    let (s, rs) = d
        .call(
            Method::PUT,
            "/api/v1/virtual-servers/web/real-servers/192.168.10.122:80",
            Some(json!({"address": "192.168.10.122", "port": 80})),
        )
        .await;
    assert_eq!(s, 200, "{rs}");
    assert_eq!(rs["weight"], 1, "PUT resets what it does not name");

    // Duplicate real server.
    let (s, e) = d
        .call(
            Method::POST,
            "/api/v1/virtual-servers/web/real-servers",
            Some(json!({"address": "192.168.10.122", "port": 80})),
        )
        .await;
    assert_eq!(s, 409, "{e}");

    let (s, _) = d
        .call(
            Method::DELETE,
            "/api/v1/virtual-servers/web/real-servers/192.168.10.122:80",
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = d
        .call(
            Method::GET,
            "/api/v1/virtual-servers/web/real-servers/192.168.10.122:80",
            None,
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        d.get("/api/v1/virtual-servers/web").await["real_servers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn ipv6_and_fwmark_virtual_servers() {
    let d = Daemon::start().await;
    let v6 = json!({"name": "web6", "protocol": "tcp", "address": "2001:db8::80", "port": 443, "forwarding": "nat",
        "persistence": {"timeout_s": 300, "netmask": "64"},
        "real_servers": [{"address": "2001:db8::10", "port": 8443}]});
    let (s, body) = d
        .call(Method::POST, "/api/v1/virtual-servers", Some(v6))
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["family"], "inet6");
    let (s, rs) = d
        .call(
            Method::POST,
            "/api/v1/virtual-servers/web6/real-servers",
            Some(json!({"address": "2001:db8::11", "port": 8443, "weight": 4})),
        )
        .await;
    assert_eq!(s, 201, "{rs}");
    let (s, rs) = d
        .call(
            Method::PATCH,
            "/api/v1/virtual-servers/web6/real-servers/[2001:db8::11]:8443",
            Some(json!({"weight": 9})),
        )
        .await;
    assert_eq!(s, 200, "{rs}");
    assert_eq!(rs["weight"], 9);
    let (s, _) = d
        .call(
            Method::GET,
            "/api/v1/virtual-servers/web6/real-servers/%5B2001:db8::11%5D:8443",
            None,
        )
        .await;
    assert_eq!(s, 200, "a percent-encoded IPv6 endpoint works too");

    let fw = json!({"name": "mark7", "fwmark": 7, "family": "inet", "scheduler": "sh", "scheduler_flags": ["sh-port", "sh-fallback"],
        "real_servers": [{"address": "10.0.0.5", "port": 0}, {"address": "10.0.0.6", "port": 0}]});
    let (s, body) = d
        .call(Method::POST, "/api/v1/virtual-servers", Some(fw))
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["fwmark"], 7);
    assert_eq!(body["scheduler_flags"], json!(["sh-fallback", "sh-port"]));
    let fw6 = json!({"name": "mark7-v6", "fwmark": 7, "family": "inet6"});
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(fw6))
            .await
            .0,
        201,
        "the same mark in another family"
    );

    // Tunnel forwarding may mix families.
    let (s, body) = d
        .call(
            Method::POST,
            "/api/v1/virtual-servers/web6/real-servers",
            Some(json!({"address": "10.0.0.9", "port": 443, "forwarding": "tunnel"})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
}

#[tokio::test]
async fn list_filters_and_pages() {
    let d = Daemon::start().await;
    for i in 0..25 {
        let vs = json!({"name": format!("svc-{i:02}"), "protocol": if i % 2 == 0 {"tcp"} else {"udp"},
            "address": "10.1.0.1", "port": 1000 + i, "enabled": i % 5 != 0,
            "real_servers": [{"address": format!("10.2.0.{i}"), "port": 1000 + i}]});
        assert_eq!(
            d.call(Method::POST, "/api/v1/virtual-servers", Some(vs))
                .await
                .0,
            201
        );
    }
    let page = d.get("/api/v1/virtual-servers?limit=10").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    assert_eq!(page["next_cursor"], "svc-09");
    let page2 = d
        .get("/api/v1/virtual-servers?limit=10&cursor=svc-09")
        .await;
    assert_eq!(page2["items"][0]["name"], "svc-10");
    let last = d
        .get("/api/v1/virtual-servers?limit=10&cursor=svc-19")
        .await;
    assert_eq!(last["items"].as_array().unwrap().len(), 5);
    assert!(last.get("next_cursor").is_none());

    let udp = d
        .get("/api/v1/virtual-servers?protocol=udp&limit=1000")
        .await;
    assert_eq!(udp["items"].as_array().unwrap().len(), 12);
    let disabled = d.get("/api/v1/virtual-servers?enabled=false").await;
    assert_eq!(disabled["items"].as_array().unwrap().len(), 5);
    let by_port = d.get("/api/v1/virtual-servers?port=1003").await;
    assert_eq!(by_port["items"][0]["name"], "svc-03");
    let by_rs = d.get("/api/v1/virtual-servers?real_server=10.2.0.7").await;
    assert_eq!(by_rs["items"][0]["name"], "svc-07");
    let q = d.get("/api/v1/virtual-servers?q=svc-2").await;
    assert_eq!(q["items"].as_array().unwrap().len(), 5);
    let (s, e) = d
        .call(Method::GET, "/api/v1/virtual-servers?colour=red", None)
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"]["field"], "colour");
}

#[tokio::test]
async fn vrrp_groups_and_references() {
    let d = Daemon::start().await;
    let group = json!({"name": "vi-1", "vrid": 51, "version": 2, "advert_interval_ms": 1000,
        "auth": {"type": "pass", "password": "1111"}, "virtual_addresses": ["192.168.10.180"], "interface": "eth0",
        "members": [{"node": "lvs-01", "interface": "ens33", "priority": 100}, {"node": "lvs-02", "interface": "ens33", "priority": 90}]});
    let (s, g) = d
        .call(Method::POST, "/api/v1/vrrp-groups", Some(group))
        .await;
    assert_eq!(s, 201, "{g}");
    assert_eq!(g["virtual_addresses"], json!(["192.168.10.180/32"]));
    let mut vs = web();
    vs["vrrp_group"] = json!("vi-1");
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(vs))
            .await
            .0,
        201
    );

    // A group in use cannot go.
    let (s, e) = d
        .call(Method::DELETE, "/api/v1/vrrp-groups/vi-1", None)
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("web"));

    // The same VRID on the same interface of the same node is refused.
    let clash = json!({"name": "vi-2", "vrid": 51, "virtual_addresses": ["192.168.10.181"], "members": [{"node": "lvs-02", "interface": "ens33"}]});
    let (s, e) = d
        .call(Method::POST, "/api/v1/vrrp-groups", Some(clash))
        .await;
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["error"]["field"], "vrid");

    let (s, g) = d
        .call(
            Method::PATCH,
            "/api/v1/vrrp-groups/vi-1",
            Some(json!({"priority": 120, "preempt": false})),
        )
        .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["preempt"], false);
    let list = d.get("/api/v1/vrrp-groups").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    assert_eq!(
        d.call(
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"vrrp_group": null}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        d.call(Method::DELETE, "/api/v1/vrrp-groups/vi-1", None)
            .await
            .0,
        204
    );
}

#[tokio::test]
async fn etags_and_if_match() {
    let d = Daemon::start().await;
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web()))
            .await
            .0,
        201
    );
    let path = "/api/v1/virtual-servers/web/real-servers/192.168.10.120:80";
    let r = d
        .req(Method::GET, path, &d.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["etag"], "\"1\"");
    let patch = |rev: &str| {
        d.req(Method::PATCH, path, &d.admin_token)
            .header("content-type", "application/merge-patch+json")
            .header("if-match", rev.to_string())
            .body(r#"{"weight": 4}"#)
    };
    let r = patch("\"1\"").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let r = patch("\"1\"").send().await.unwrap();
    assert_eq!(r.status(), 412);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "stale_revision");
    let r = patch("*").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = patch("soon").send().await.unwrap();
    assert_eq!(r.status(), 400);
    // The other real server was not touched: its revision (and ETag) is still 1.
    let r = d
        .req(
            Method::GET,
            "/api/v1/virtual-servers/web/real-servers/192.168.10.121:80",
            &d.admin_token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["etag"], "\"1\"");
    // Deleting the virtual server with a stale If-Match is refused.
    let r = d
        .req(
            Method::DELETE,
            "/api/v1/virtual-servers/web",
            &d.admin_token,
        )
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
}

#[tokio::test]
async fn users_and_roles() {
    let d = Daemon::start().await;
    let (s, u) = d
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"name": "alice", "password": "alice-password", "role": "operator"})),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    assert!(u.get("password_hash").is_none());
    let alice = d.login("alice", "alice-password").await;
    // Operators change weights...
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web()))
            .await
            .0,
        201
    );
    let (s, _) = d
        .call_as(
            &alice,
            Method::PATCH,
            "/api/v1/virtual-servers/web/real-servers/192.168.10.120:80",
            Some(json!({"weight": 0})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = d
        .call_as(
            &alice,
            Method::PATCH,
            "/api/v1/virtual-servers/web/real-servers/192.168.10.120:80",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 200);
    // ...but nothing else.
    let (s, e) = d
        .call_as(
            &alice,
            Method::PATCH,
            "/api/v1/virtual-servers/web/real-servers/192.168.10.120:80",
            Some(json!({"upper_threshold": 10})),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    let (s, _) = d
        .call_as(
            &alice,
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"scheduler": "rr"})),
        )
        .await;
    assert_eq!(s, 403);

    // A role change applies to sessions at once.
    let (s, _) = d
        .call(
            Method::PATCH,
            "/api/v1/users/alice",
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = d
        .call_as(
            &alice,
            Method::PATCH,
            "/api/v1/virtual-servers/web/real-servers/192.168.10.120:80",
            Some(json!({"weight": 3})),
        )
        .await;
    assert_eq!(s, 403);
    // A password change works; the old one no longer does.
    assert_eq!(
        d.call(
            Method::PATCH,
            "/api/v1/users/alice",
            Some(json!({"password": "new-password"}))
        )
        .await
        .0,
        200
    );
    let r = d
        .http
        .post(d.url("/api/v1/auth/login"))
        .json(&json!({"username": "alice", "password": "alice-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    d.login("alice", "new-password").await;

    // The last admin cannot be removed or demoted.
    let (s, e) = d.call(Method::DELETE, "/api/v1/users/admin", None).await;
    assert_eq!(s, 409, "{e}");
    let (s, _) = d
        .call(
            Method::PATCH,
            "/api/v1/users/admin",
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(s, 409);
    // A deleted user's session ends.
    assert_eq!(
        d.call(Method::DELETE, "/api/v1/users/alice", None).await.0,
        204
    );
    let (s, _) = d.call_as(&alice, Method::GET, "/api/v1/status", None).await;
    assert_eq!(s, 401);
    let users = d.get("/api/v1/users").await;
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn status_docs_and_probes() {
    let d = Daemon::start().await;
    let status = d.get("/api/v1/status").await;
    assert_eq!(status["node"], "test-node");
    assert_eq!(status["dataplane"]["active"], "none");
    assert_eq!(status["applied_revision"], Value::Null);
    let r = d
        .http
        .get(d.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the OpenAPI document needs no token");
    let doc: Value = r.json().await.unwrap();
    assert!(
        doc["paths"]["/api/v1/virtual-servers/{name}/real-servers/{endpoint}"]["patch"].is_object()
    );
    let r = d.http.get(d.url("/api/v1/docs/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("swagger"));
    // Without the trailing slash, the docs answer too: a redirect to the page above.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(d.url("/api/v1/docs"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()["location"], "/api/v1/docs/");
    let r = d.http.get(d.url("/api/v1/docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("swagger"));
    assert_eq!(
        d.http.get(d.url("/healthz")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        d.http.get(d.url("/readyz")).send().await.unwrap().status(),
        200
    );
    let (s, e) = d.call(Method::GET, "/api/v1/nothing-here", None).await;
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("not_found")));
}
