//! Every route x (no token, expired token, bad signature, viewer, operator, admin).

use director::auth::{Claims, TokenKind, Tokens};
use director_core::model::Role;
use director_tests::Daemon;
use reqwest::Method;
use serde_json::{json, Value};

struct Route {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    /// The weakest role allowed.
    needs: Role,
}

fn routes() -> Vec<Route> {
    use Method as M;
    let r = |method: M, path: &'static str, body: Option<Value>, needs: Role| Route {
        method,
        path,
        body,
        needs,
    };
    let rs = "/api/v1/virtual-servers/web/real-servers/10.0.1.1:80";
    vec![
        r(M::GET, "/api/v1/status", None, Role::Viewer),
        r(M::GET, "/api/v1/virtual-servers", None, Role::Viewer),
        r(
            M::POST,
            "/api/v1/virtual-servers",
            Some(json!({"name": "new", "protocol": "tcp", "address": "10.9.0.1", "port": 80})),
            Role::Admin,
        ),
        r(M::GET, "/api/v1/virtual-servers/web", None, Role::Viewer),
        r(
            M::PUT,
            "/api/v1/virtual-servers/web",
            Some(
                json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "scheduler": "rr", "real_servers": [{"address": "10.0.1.1", "port": 80}]}),
            ),
            Role::Admin,
        ),
        r(
            M::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"scheduler": "lc"})),
            Role::Admin,
        ),
        r(
            M::DELETE,
            "/api/v1/virtual-servers/absent",
            None,
            Role::Admin,
        ),
        r(
            M::GET,
            "/api/v1/virtual-servers/web/real-servers",
            None,
            Role::Viewer,
        ),
        r(
            M::POST,
            "/api/v1/virtual-servers/web/real-servers",
            Some(json!({"address": "10.0.1.9", "port": 80})),
            Role::Admin,
        ),
        r(M::GET, rs, None, Role::Viewer),
        r(
            M::PUT,
            rs,
            Some(json!({"address": "10.0.1.1", "port": 80, "weight": 2})),
            Role::Operator,
        ),
        r(M::PATCH, rs, Some(json!({"weight": 3})), Role::Operator),
        r(
            M::PATCH,
            rs,
            Some(json!({"upper_threshold": 5})),
            Role::Admin,
        ),
        r(
            M::DELETE,
            "/api/v1/virtual-servers/web/real-servers/10.0.1.200:80",
            None,
            Role::Admin,
        ),
        r(M::GET, "/api/v1/vrrp-groups", None, Role::Viewer),
        r(
            M::POST,
            "/api/v1/vrrp-groups",
            Some(
                json!({"name": "g9", "vrid": 9, "virtual_addresses": ["10.0.0.9"], "interface": "eth0"}),
            ),
            Role::Admin,
        ),
        r(M::GET, "/api/v1/vrrp-groups/vi-1", None, Role::Viewer),
        r(
            M::PUT,
            "/api/v1/vrrp-groups/vi-1",
            Some(
                json!({"name": "vi-1", "vrid": 51, "virtual_addresses": ["10.0.0.1"], "interface": "eth1"}),
            ),
            Role::Admin,
        ),
        r(
            M::PATCH,
            "/api/v1/vrrp-groups/vi-1",
            Some(json!({"priority": 150})),
            Role::Admin,
        ),
        r(M::DELETE, "/api/v1/vrrp-groups/absent", None, Role::Admin),
        r(M::GET, "/api/v1/audit", None, Role::Viewer),
        r(M::GET, "/api/v1/dataplane", None, Role::Viewer),
        r(M::GET, "/api/v1/plan", None, Role::Viewer),
        r(M::GET, "/api/v1/users", None, Role::Admin),
        r(
            M::POST,
            "/api/v1/users",
            Some(json!({"name": "carol", "password": "carol-password", "role": "viewer"})),
            Role::Admin,
        ),
        r(M::GET, "/api/v1/users/admin", None, Role::Admin),
        r(
            M::PATCH,
            "/api/v1/users/absent",
            Some(json!({"role": "viewer"})),
            Role::Admin,
        ),
        r(M::DELETE, "/api/v1/users/absent", None, Role::Admin),
        r(M::GET, "/api/v1/tokens", None, Role::Admin),
        r(M::GET, "/api/v1/tokens/absent", None, Role::Admin),
        r(M::DELETE, "/api/v1/tokens/absent", None, Role::Admin),
        // Last: it revokes the token of each role that calls it.
        r(M::POST, "/api/v1/auth/logout", None, Role::Viewer),
    ]
}

/// Whether the concrete `path` is an instance of the OpenAPI `template` (`{name}` matches one segment).
fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}')) || t == p)
}

/// The list above covers every route of the API, as the router's own OpenAPI document lists them.
#[tokio::test]
async fn the_route_list_covers_every_route_of_the_api() {
    let d = Daemon::start().await;
    let doc: Value = d
        .http
        .get(d.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tested = routes();
    let mut missing = Vec::new();
    for (template, methods) in doc["paths"].as_object().expect("paths") {
        if template == "/api/v1/auth/login" {
            continue; // open: checked at the end of the test above
        }
        for method in methods.as_object().expect("methods").keys() {
            let covered = tested.iter().any(|r| {
                r.method.as_str().eq_ignore_ascii_case(method) && matches_template(template, r.path)
            });
            if !covered {
                missing.push(format!("{} {template}", method.to_uppercase()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes not checked by every_route_checks_the_token_and_the_role: {missing:?}"
    );
}

#[tokio::test]
async fn every_route_checks_the_token_and_the_role() {
    let d = Daemon::start().await;
    let web = json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "real_servers": [{"address": "10.0.1.1", "port": 80}]});
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web))
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

    let secret = std::fs::read_to_string(d.data_path().join("token-secret")).unwrap();
    let tokens = Tokens::new(secret.trim().as_bytes());
    let now = chrono_now();
    let claims = |exp: i64| Claims {
        sub: "admin".into(),
        role: Role::Admin,
        kind: TokenKind::User,
        iat: now - 7200,
        exp,
        jti: "t".into(),
        epoch: String::new(),
    };
    let expired = tokens.sign(&claims(now - 3600));
    let forged = Tokens::new(b"not-the-secret-not-the-secret-not!").sign(&claims(now + 3600));
    // One character of the signature changed. Not the last one: its low bits are padding, and a
    // replacement equal to the original (1 time in 16) would leave the token valid.
    let signed = tokens.sign(&claims(now + 3600));
    let at = signed.rfind('.').expect("a JWT has a signature part") + 1;
    let changed = if signed[at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{changed}{}", &signed[..at], &signed[at + 1..]);
    let viewer = d.token_for("viewer").await;
    let operator = d.token_for("operator").await;
    let admin = d.admin_token.clone();

    for route in routes() {
        let what = format!("{} {}", route.method, route.path);
        for (name, token) in [
            ("no token", ""),
            ("expired", expired.as_str()),
            ("bad signature", forged.as_str()),
            ("tampered", tampered.as_str()),
        ] {
            let (s, e) = d
                .call_as(token, route.method.clone(), route.path, route.body.clone())
                .await;
            assert_eq!(s, 401, "{what} with {name}: {e}");
            assert_eq!(e["error"]["code"], "unauthenticated", "{what} with {name}");
        }
        for (role, token) in [
            (Role::Viewer, &viewer),
            (Role::Operator, &operator),
            (Role::Admin, &admin),
        ] {
            let (s, e) = d
                .call_as(token, route.method.clone(), route.path, route.body.clone())
                .await;
            if role < route.needs {
                assert_eq!(s, 403, "{what} as {role} must be forbidden: {e}");
            } else {
                assert!(
                    s != 401 && s != 403,
                    "{what} as {role} must be allowed, got {s}: {e}"
                );
                assert!(s < 500, "{what} as {role}: {s} {e}");
            }
        }
    }
    // Login, the OpenAPI document and its page are open.
    assert_eq!(
        d.http
            .get(d.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        d.http
            .get(d.url("/api/v1/docs/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = d
        .http
        .post(d.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = d
        .http
        .post(d.url("/api/v1/auth/login"))
        .json(&json!({"username": "nobody", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn service_tokens_from_the_cli() {
    let d = Daemon::start().await;
    let out = std::process::Command::new(director_tests::director_bin())
        .args([
            "token",
            "create",
            "--role",
            "operator",
            "--ttl",
            "1h",
            "--name",
            "deploy-pipeline",
            "--data-dir",
        ])
        .arg(d.data_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let web = json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "real_servers": [{"address": "10.0.1.1", "port": 80}]});
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(web.clone()))
            .await
            .0,
        201
    );
    let (s, _) = d
        .call_as(
            &token,
            Method::PATCH,
            "/api/v1/virtual-servers/web/real-servers/10.0.1.1:80",
            Some(json!({"weight": 0})),
        )
        .await;
    assert_eq!(s, 200, "an operator token drains");
    let (s, _) = d
        .call_as(&token, Method::DELETE, "/api/v1/virtual-servers/web", None)
        .await;
    assert_eq!(s, 403, "but does not delete");
    let audit = d.get("/api/v1/audit?field=weight").await;
    assert_eq!(audit["items"][0]["actor"], "token:deploy-pipeline");
    let issued = d.get("/api/v1/audit?kind=token").await;
    assert_eq!(issued["items"][0]["via"], "cli");

    // `user add` while the daemon runs: the new user can log in at once.
    let mut child = std::process::Command::new(director_tests::director_bin())
        .args([
            "user",
            "add",
            "dave",
            "--role",
            "viewer",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(d.data_path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"dave-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dave = d.login("dave", "dave-password").await;
    assert_eq!(
        d.call_as(&dave, Method::GET, "/api/v1/virtual-servers", None)
            .await
            .0,
        200
    );
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
