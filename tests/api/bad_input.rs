//! Bad input is answered with a 4xx that names the field, and changes nothing: the revision, the audit log
//! and the stored objects are the same afterwards.

use director_tests::Daemon;
use reqwest::Method;
use serde_json::{json, Value};

fn vs(name: &str, extra: Value) -> Value {
    let mut v = json!({"name": name, "protocol": "tcp", "address": "10.0.0.1", "port": 80,
        "real_servers": [{"address": "10.0.1.1", "port": 80}]});
    if let (Value::Object(base), Value::Object(extra)) = (&mut v, extra) {
        base.extend(extra);
    }
    v
}

struct Case {
    what: &'static str,
    method: Method,
    path: &'static str,
    content_type: &'static str,
    body: String,
    status: u16,
    field: Option<&'static str>,
}

fn case(
    what: &'static str,
    method: Method,
    path: &'static str,
    body: Value,
    status: u16,
    field: &'static str,
) -> Case {
    let content_type = if method == Method::PATCH {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    Case {
        what,
        method,
        path,
        content_type,
        body: body.to_string(),
        status,
        field: Some(field),
    }
}

#[tokio::test]
async fn rejected_requests_name_the_field_and_change_nothing() {
    let d = Daemon::start().await;
    assert_eq!(
        d.call(
            Method::POST,
            "/api/v1/virtual-servers",
            Some(vs("web", json!({})))
        )
        .await
        .0,
        201
    );
    let group =
        json!({"name": "vi-1", "vrid": 51, "virtual_addresses": ["10.0.0.1"], "interface": "eth0"});
    assert_eq!(
        d.call(Method::POST, "/api/v1/vrrp-groups", Some(group))
            .await
            .0,
        201
    );
    let before = d.fingerprint().await;

    let post = Method::POST;
    let rs = "/api/v1/virtual-servers/web/real-servers/10.0.1.1:80";
    let cases = vec![
        case(
            "bad IP",
            post.clone(),
            "/api/v1/virtual-servers",
            vs("x", json!({"address": "10.0.0.300"})),
            422,
            "address",
        ),
        case(
            "port 70000",
            post.clone(),
            "/api/v1/virtual-servers",
            vs("x", json!({"port": 70000})),
            422,
            "port",
        ),
        case(
            "unknown scheduler",
            post.clone(),
            "/api/v1/virtual-servers",
            vs("x", json!({"scheduler": "fastest"})),
            422,
            "scheduler",
        ),
        case(
            "weight -1",
            post.clone(),
            "/api/v1/virtual-servers",
            vs(
                "x",
                json!({"address": "10.0.0.2", "real_servers": [{"address": "10.0.1.1", "port": 80, "weight": -1}]}),
            ),
            422,
            "real_servers[0].weight",
        ),
        case(
            "weight 70000",
            post.clone(),
            "/api/v1/virtual-servers",
            vs(
                "x",
                json!({"address": "10.0.0.2", "real_servers": [{"address": "10.0.1.1", "port": 80, "weight": 70000}]}),
            ),
            422,
            "real_servers[0].weight",
        ),
        case(
            "weight 70000 by PATCH",
            Method::PATCH,
            rs,
            json!({"weight": 70000}),
            422,
            "weight",
        ),
        case(
            "weight -1 by PATCH",
            Method::PATCH,
            rs,
            json!({"weight": -1}),
            422,
            "weight",
        ),
        case(
            "duplicate name",
            post.clone(),
            "/api/v1/virtual-servers",
            vs("web", json!({"address": "10.0.0.2"})),
            409,
            "name",
        ),
        case(
            "duplicate address/port",
            post.clone(),
            "/api/v1/virtual-servers",
            vs("web2", json!({})),
            409,
            "address",
        ),
        case(
            "real server of the wrong family",
            post.clone(),
            "/api/v1/virtual-servers",
            vs(
                "x",
                json!({"address": "10.0.0.2", "real_servers": [{"address": "2001:db8::1", "port": 80}]}),
            ),
            422,
            "real_servers[0].address",
        ),
        case(
            "wrong family via the real-server route",
            post.clone(),
            "/api/v1/virtual-servers/web/real-servers",
            json!({"address": "2001:db8::1", "port": 80}),
            422,
            "address",
        ),
        case(
            "dangling vrrp_group",
            post.clone(),
            "/api/v1/virtual-servers",
            vs("x", json!({"address": "10.0.0.2", "vrrp_group": "nope"})),
            422,
            "vrrp_group",
        ),
        case(
            "unknown field",
            post.clone(),
            "/api/v1/virtual-servers",
            vs("x", json!({"address": "10.0.0.2", "colour": "red"})),
            422,
            "colour",
        ),
        case(
            "unknown nested field",
            post.clone(),
            "/api/v1/virtual-servers",
            vs(
                "x",
                json!({"address": "10.0.0.2", "real_servers": [{"address": "10.0.1.1", "port": 80, "wieght": 2}]}),
            ),
            422,
            "real_servers[0].wieght",
        ),
        case(
            "unknown field by PATCH",
            Method::PATCH,
            rs,
            json!({"wieght": 2}),
            422,
            "wieght",
        ),
        case(
            "bad name",
            post.clone(),
            "/api/v1/virtual-servers",
            vs("Web Server", json!({"address": "10.0.0.2"})),
            422,
            "name",
        ),
        case(
            "fwmark with an address",
            post.clone(),
            "/api/v1/virtual-servers",
            json!({"name": "m", "fwmark": 3, "address": "10.0.0.9"}),
            422,
            "address",
        ),
        case(
            "sh flag on wrr",
            post.clone(),
            "/api/v1/virtual-servers",
            vs(
                "x",
                json!({"address": "10.0.0.2", "scheduler": "wrr", "scheduler_flags": ["sh-port"]}),
            ),
            422,
            "scheduler_flags",
        ),
        case(
            "dr with another port",
            post.clone(),
            "/api/v1/virtual-servers",
            vs(
                "x",
                json!({"address": "10.0.0.2", "real_servers": [{"address": "10.0.1.1", "port": 8080}]}),
            ),
            422,
            "real_servers[0].port",
        ),
        case(
            "bad persistence netmask",
            post.clone(),
            "/api/v1/virtual-servers",
            vs(
                "x",
                json!({"address": "10.0.0.2", "persistence": {"timeout_s": 60, "netmask": "255.0.255.0"}}),
            ),
            422,
            "persistence.netmask",
        ),
        case(
            "health check timeout above interval",
            post.clone(),
            "/api/v1/virtual-servers",
            vs(
                "x",
                json!({"address": "10.0.0.2", "health_check": {"type": "tcp", "interval_ms": 1000, "timeout_ms": 5000}}),
            ),
            422,
            "health_check.timeout_ms",
        ),
        case(
            "rename by PUT",
            Method::PUT,
            "/api/v1/virtual-servers/web",
            vs("other", json!({})),
            422,
            "name",
        ),
        case(
            "change address of a real server by PATCH",
            Method::PATCH,
            rs,
            json!({"address": "10.0.1.2"}),
            422,
            "address",
        ),
        case(
            "vrid 300",
            post.clone(),
            "/api/v1/vrrp-groups",
            json!({"name": "g", "vrid": 300, "virtual_addresses": ["10.0.0.5"], "interface": "eth0"}),
            422,
            "vrid",
        ),
        case(
            "duplicate VRID",
            post.clone(),
            "/api/v1/vrrp-groups",
            json!({"name": "g", "vrid": 51, "virtual_addresses": ["10.0.0.5"], "interface": "eth0"}),
            409,
            "vrid",
        ),
        case(
            "long VRRP password",
            post.clone(),
            "/api/v1/vrrp-groups",
            json!({"name": "g", "vrid": 52, "virtual_addresses": ["10.0.0.5"], "interface": "eth0", "auth": {"type": "pass", "password": "123456789"}}),
            422,
            "auth.password",
        ),
        case(
            "sync id 256",
            post.clone(),
            "/api/v1/vrrp-groups",
            json!({"name": "g", "vrid": 52, "virtual_addresses": ["10.0.0.5"], "interface": "eth0",
                   "connection_sync": {"interface": "eth1", "sync_id": 256}}),
            422,
            "connection_sync.sync_id",
        ),
        case(
            "empty sync interface",
            post.clone(),
            "/api/v1/vrrp-groups",
            json!({"name": "g", "vrid": 52, "virtual_addresses": ["10.0.0.5"], "interface": "eth0",
                   "connection_sync": {"interface": ""}}),
            422,
            "connection_sync.interface",
        ),
        case(
            "sync interface without connection_sync",
            Method::PATCH,
            "/api/v1/vrrp-groups/vi-1",
            json!({"members": [{"node": "n1", "sync_interface": "eth1"}]}),
            422,
            "members[0].sync_interface",
        ),
        case(
            "sync id -1 in a patch",
            Method::PATCH,
            "/api/v1/vrrp-groups/vi-1",
            json!({"connection_sync": {"interface": "eth1", "sync_id": -1}}),
            422,
            "connection_sync.sync_id",
        ),
        case(
            "short user password",
            post.clone(),
            "/api/v1/users",
            json!({"name": "bob", "password": "short", "role": "viewer"}),
            422,
            "password",
        ),
        case(
            "unknown role",
            post.clone(),
            "/api/v1/users",
            json!({"name": "bob", "password": "long-enough", "role": "root"}),
            422,
            "role",
        ),
    ];
    let mut raw = vec![
        Case {
            what: "malformed JSON",
            method: post.clone(),
            path: "/api/v1/virtual-servers",
            content_type: "application/json",
            body: "{\"name\": \"x\",".into(),
            status: 400,
            field: None,
        },
        Case {
            what: "wrong content type",
            method: post.clone(),
            path: "/api/v1/virtual-servers",
            content_type: "text/plain",
            body: vs("x", json!({"address": "10.0.0.2"})).to_string(),
            status: 415,
            field: Some("Content-Type"),
        },
        Case {
            what: "no content type",
            method: post.clone(),
            path: "/api/v1/virtual-servers",
            content_type: "",
            body: vs("x", json!({"address": "10.0.0.2"})).to_string(),
            status: 415,
            field: Some("Content-Type"),
        },
        Case {
            what: "body over the limit",
            method: post.clone(),
            path: "/api/v1/virtual-servers",
            content_type: "application/json",
            body: format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024)),
            status: 413,
            field: None,
        },
        Case {
            what: "JSON that is not an object",
            method: post.clone(),
            path: "/api/v1/virtual-servers",
            content_type: "application/json",
            body: "[1, 2]".into(),
            status: 422,
            field: None,
        },
        Case {
            what: "bad endpoint",
            method: Method::PATCH,
            path: "/api/v1/virtual-servers/web/real-servers/10.0.1.1",
            content_type: "application/merge-patch+json",
            body: "{}".into(),
            status: 400,
            field: Some("endpoint"),
        },
    ];
    raw.extend(cases);
    // A refused oversized body closes the connection; send each case on a connection of its own.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for c in raw {
        let mut b = client
            .request(c.method.clone(), d.url(c.path))
            .bearer_auth(&d.admin_token)
            .body(c.body.clone());
        if !c.content_type.is_empty() {
            b = b.header("content-type", c.content_type);
        }
        let r = b.send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, c.status, "{}: {body}", c.what);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}: no message in {body}",
            c.what
        );
        if let Some(field) = c.field {
            assert_eq!(body["error"]["field"], field, "{}: {body}", c.what);
        }
        assert_eq!(
            d.fingerprint().await,
            before,
            "{} changed something",
            c.what
        );
    }
}

/// Sends `body` as it is (no re-encoding, so a repeated key survives) with the given headers.
async fn send_raw(
    d: &Daemon,
    token: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let content_type = if method == Method::PATCH {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    let mut b = d
        .req(method, path, token)
        .header("content-type", content_type)
        .body(body.to_string());
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    director_tests::daemon::decode(b.send().await.unwrap()).await
}

/// What is tried, by whom (token), how (method, path, headers, body), and the status and field expected.
type Attempt<'a> = (
    &'a str,
    &'a str,
    Method,
    &'a str,
    Vec<(&'a str, &'a str)>,
    String,
    u16,
    &'a str,
);

#[tokio::test]
async fn bodies_json_reads_loosely_are_refused_and_roles_are_judged_first() {
    let d = Daemon::start().await;
    let operator = d.token_for("operator").await;
    let rs = "/api/v1/virtual-servers/web/real-servers/10.0.1.1:80";
    assert_eq!(
        d.call(
            Method::POST,
            "/api/v1/virtual-servers",
            Some(vs("web", json!({})))
        )
        .await
        .0,
        201
    );
    // The server is drained: the `null` below must not bring it back.
    assert_eq!(
        d.call(Method::PATCH, rs, Some(json!({"weight": 0})))
            .await
            .0,
        200
    );
    let before = d.fingerprint().await;
    let admin = d.admin_token.clone();

    let cases: Vec<Attempt> = vec![
        (
            "a key written twice",
            admin.as_str(),
            Method::PATCH,
            rs,
            vec![],
            r#"{"weight": 5, "weight": 0}"#.into(),
            400,
            "",
        ),
        (
            "a key written twice, nested",
            admin.as_str(),
            Method::POST,
            "/api/v1/virtual-servers",
            vec![],
            r#"{"name": "x", "protocol": "tcp", "address": "10.0.0.2", "port": 80,
                "persistence": {"timeout_s": 60, "timeout_s": 90}}"#
                .into(),
            400,
            "",
        ),
        (
            "null on weight (a default) in a merge patch",
            admin.as_str(),
            Method::PATCH,
            rs,
            vec![],
            r#"{"weight": null}"#.into(),
            422,
            "weight",
        ),
        (
            "null on enabled in a merge patch of the virtual server",
            admin.as_str(),
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            vec![],
            r#"{"enabled": null}"#.into(),
            422,
            "enabled",
        ),
        (
            "an array for the whole merge patch",
            admin.as_str(),
            Method::PATCH,
            rs,
            vec![],
            r#"[{"weight": 5}]"#.into(),
            422,
            "",
        ),
        (
            "an array where the model has an object",
            admin.as_str(),
            Method::POST,
            "/api/v1/virtual-servers",
            vec![],
            r#"{"name": "x", "protocol": "tcp", "address": "10.0.0.2", "port": 80,
                "persistence": [60, "255.255.255.255"]}"#
                .into(),
            422,
            "persistence",
        ),
        (
            "an array for a real server",
            admin.as_str(),
            Method::POST,
            "/api/v1/virtual-servers/web/real-servers",
            vec![],
            r#"["10.0.1.2", 80]"#.into(),
            422,
            "",
        ),
        (
            "an empty If-Match",
            admin.as_str(),
            Method::PATCH,
            rs,
            vec![("if-match", "")],
            r#"{"weight": 5}"#.into(),
            400,
            "If-Match",
        ),
        (
            "an If-Match that is no ETag",
            admin.as_str(),
            Method::PATCH,
            rs,
            vec![("if-match", "\"03\"")],
            r#"{"weight": 5}"#.into(),
            400,
            "If-Match",
        ),
        (
            "an operator's invalid health check (not theirs to set at all)",
            operator.as_str(),
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            vec![],
            r#"{"health_check": {"type": "tcp", "interval_ms": 1000, "timeout_ms": 5000}}"#.into(),
            403,
            "",
        ),
        (
            "an operator's virtual server with a bad address, by PUT",
            operator.as_str(),
            Method::PUT,
            "/api/v1/virtual-servers/web",
            vec![],
            vs("web", json!({"address": "10.0.0.300"})).to_string(),
            403,
            "",
        ),
        (
            "an operator's new virtual server with bad JSON in it",
            operator.as_str(),
            Method::POST,
            "/api/v1/virtual-servers",
            vec![],
            r#"{"name": "Not A Name"}"#.into(),
            403,
            "",
        ),
        (
            "an operator's weight out of range (theirs to set: validated)",
            operator.as_str(),
            Method::PATCH,
            rs,
            vec![],
            r#"{"weight": 70000}"#.into(),
            422,
            "weight",
        ),
    ];
    for (what, token, method, path, headers, body, status, field) in cases {
        let (got, answer) = send_raw(&d, token, method, path, &headers, &body).await;
        assert_eq!(got, status, "{what}: {answer}");
        if !field.is_empty() {
            assert_eq!(answer["error"]["field"], field, "{what}: {answer}");
        }
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: no message in {answer}"
        );
        assert_eq!(d.fingerprint().await, before, "{what} changed something");
    }
    let (_, server) = d.call(Method::GET, rs, None).await;
    assert_eq!(server["weight"], 0, "the drained server stayed drained");

    // What these refusals leave room for still works: a number written with a zero fraction, and the
    // conditional write a hand-typed curl sends.
    let (_, current) = d.call(Method::GET, rs, None).await;
    let etag = current["revision"].to_string();
    let (status, answer) = send_raw(
        &d,
        &admin,
        Method::PATCH,
        rs,
        &[("if-match", etag.as_str())],
        r#"{"weight": 5.0}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["weight"], 5);
}
