//! Every route x (no token, expired token, bad signature, tampered token, viewer, operator, admin). The routes
//! and the role each needs come from the served OpenAPI document (`x-required-role`, which the server writes
//! from the router's own table), so a new route is checked without touching this file. The UI's routes the
//! same way, from the UI router's own table (`director_http::web::ROUTES`), with sessions and CSRF tokens.

use director_core::model::Role;
use director_service::auth::{Claims, TokenKind, Tokens};
use director_tests::daemon::ADMIN_PASSWORD;
use director_tests::Daemon;
use reqwest::Method;
use serde_json::{json, Value};

/// One operation of the served document.
struct Operation {
    method: Method,
    /// As the document writes it, with `{parameters}`.
    template: String,
    /// `None`: public (no `security`).
    needs: Option<Role>,
    body: bool,
}

/// Every operation of the document `/api/v1/openapi.json` serves. A secured operation without a valid
/// `x-required-role` fails here rather than going unchecked.
async fn operations(d: &Daemon) -> Vec<Operation> {
    let doc: Value = d
        .http
        .get(d.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("openapi.json")
        .json()
        .await
        .expect("openapi.json is JSON");
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut ops = Vec::new();
    for (template, item) in paths {
        for (method, op) in item.as_object().expect("operations") {
            let what = format!("{} {template}", method.to_uppercase());
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let needs = op.get("x-required-role").map(|r| {
                r.as_str()
                    .and_then(|r| r.parse::<Role>().ok())
                    .unwrap_or_else(|| panic!("{what}: x-required-role {r} is not a role"))
            });
            assert_eq!(
                secured,
                needs.is_some(),
                "{what}: a secured route states its x-required-role, a public one none"
            );
            ops.push(Operation {
                method: method.to_uppercase().parse().expect("an HTTP method"),
                template: template.clone(),
                needs,
                body: op.get("requestBody").is_some(),
            });
        }
    }
    // Deletes last (they take the objects the others use), the innermost object first.
    ops.sort_by_key(|o| {
        let delete = o.method == Method::DELETE;
        (delete, delete.then(|| usize::MAX - o.template.len()))
    });
    ops
}

/// The callers of the test; objects of theirs are never picked to fill a path (deleting them would end
/// the test's own sessions).
const CALLERS: [&str; 3] = ["admin", "viewer-user", "operator-user"];

/// Path parameters that name no object: a file of the UI, and an action no route knows (the role is
/// judged before the action is read).
const FIXED: [(&str, &str); 2] = [("file", "app.css"), ("action", "none")];

/// `template` with each `{parameter}` filled with an existing object: an item of the REST collection the
/// path names up to there (`api` before it: the UI's paths follow the API's) as an admin lists it, that is
/// not one of the test's callers.
async fn concrete(d: &Daemon, api: &str, template: &str) -> String {
    let mut path = String::new();
    for segment in template.split('/').skip(1) {
        let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            path.push('/');
            path.push_str(segment);
            continue;
        };
        if let Some((_, value)) = FIXED.iter().find(|(p, _)| *p == param) {
            path.push('/');
            path.push_str(value);
            continue;
        }
        let list = d.get(&format!("{api}{path}")).await;
        let item = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| {
                !CALLERS
                    .iter()
                    .any(|c| i["name"] == *c || i["subject"] == *c)
            })
            .unwrap_or_else(|| panic!("{template}: no object in {path} to fill {{{param}}} with"));
        let value = match param {
            "endpoint" => {
                let address = item["address"].as_str().expect("address");
                let port = &item["port"];
                if address.contains(':') {
                    format!("[{address}]:{port}")
                } else {
                    format!("{address}:{port}")
                }
            }
            _ => item[param]
                .as_str()
                .unwrap_or_else(|| panic!("{template}: the items of {path} have no {param}"))
                .to_string(),
        };
        path.push('/');
        path.push_str(&value);
    }
    path
}

/// The body of a call to `op` at `path`: for a `PUT`, the object as it is (a change of nothing, which
/// every role allowed to call it may make); for a `PATCH`, an empty merge patch; for a `POST`, an empty
/// object (refused as incomplete once the caller's role is let through).
async fn body(d: &Daemon, op: &Operation, path: &str) -> Option<Value> {
    if !op.body {
        return None;
    }
    Some(if op.method == Method::PUT {
        d.get(path).await
    } else {
        json!({})
    })
}

struct Caller {
    role: Role,
    user: String,
    password: String,
    token: String,
}

impl Caller {
    /// A session again if the last call ended this one (logout, a revocation).
    async fn refresh(&mut self, d: &Daemon) {
        let (s, _) = d
            .call_as(&self.token, Method::GET, "/api/v1/status", None)
            .await;
        if s == 401 {
            self.token = d.login(&self.user, &self.password).await;
        }
    }
}

/// Objects for the parameters of the paths: a virtual server with a real server, a VRRP group, a user
/// with a session.
async fn fixtures(d: &Daemon) {
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
    let carol = json!({"name": "carol", "password": "carol-password", "role": "viewer"});
    assert_eq!(
        d.call(Method::POST, "/api/v1/users", Some(carol)).await.0,
        201
    );
    d.login("carol", "carol-password").await;
}

/// A viewer, an operator and an admin, each with a session of its own (the daemon's admin token, which
/// fills the paths, is never logged out).
async fn callers(d: &Daemon) -> Vec<Caller> {
    let mut callers = Vec::new();
    for role in [Role::Viewer, Role::Operator] {
        let token = d.token_for(role.as_str()).await;
        callers.push(Caller {
            role,
            user: format!("{role}-user"),
            password: format!("{role}-password"),
            token,
        });
    }
    callers.push(Caller {
        role: Role::Admin,
        user: "admin".into(),
        password: ADMIN_PASSWORD.into(),
        token: d.login("admin", ADMIN_PASSWORD).await,
    });
    callers
}

#[tokio::test]
async fn every_route_checks_the_token_and_the_role() {
    let d = Daemon::start().await;
    fixtures(&d).await;
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
    let mut callers = callers(&d).await;

    let ops = operations(&d).await;
    for role in [Role::Viewer, Role::Operator, Role::Admin] {
        assert!(
            ops.iter().any(|o| o.needs == Some(role)),
            "some route needs {role}: {} operations",
            ops.len()
        );
    }
    for op in &ops {
        let path = concrete(&d, "", &op.template).await;
        let what = format!("{} {path} ({})", op.method, op.template);
        let Some(needs) = op.needs else {
            // Public: answered without a token (an empty body is refused for what it is).
            let b = body(&d, op, &path).await;
            let (s, e) = d.call_as("", op.method.clone(), &path, b).await;
            assert!(
                s != 401 && s != 403 && s < 500,
                "{what} is public, got {s}: {e}"
            );
            continue;
        };
        for (name, token) in [
            ("no token", ""),
            ("expired", expired.as_str()),
            ("bad signature", forged.as_str()),
            ("tampered", tampered.as_str()),
        ] {
            let b = body(&d, op, &path).await;
            let (s, e) = d.call_as(token, op.method.clone(), &path, b).await;
            assert_eq!(s, 401, "{what} with {name}: {e}");
            assert_eq!(e["error"]["code"], "unauthenticated", "{what} with {name}");
        }
        for caller in &mut callers {
            let b = body(&d, op, &path).await;
            let (s, e) = d.call_as(&caller.token, op.method.clone(), &path, b).await;
            let role = caller.role;
            if role < needs {
                assert_eq!(s, 403, "{what} as {role} must be forbidden: {e}");
                assert_eq!(e["error"]["code"], "forbidden", "{what} as {role}");
            } else {
                assert!(
                    s != 401 && s != 403,
                    "{what} as {role} must be allowed (x-required-role {needs}), got {s}: {e}"
                );
                assert!(s < 500, "{what} as {role}: {s} {e}");
            }
            caller.refresh(&d).await;
        }
    }
    // The OpenAPI document and its page are open.
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

/// A request of the UI as a browser sends it: the session cookie (if any) and, for a form, the session's
/// CSRF token (`csrf: false`: left out). Redirects are not followed.
async fn ui_call(
    http: &reqwest::Client,
    d: &Daemon,
    method: &str,
    path: &str,
    session: Option<&str>,
    csrf: bool,
) -> (u16, String, String) {
    let post = method == "post";
    let mut r = http.request(if post { Method::POST } else { Method::GET }, d.url(path));
    if let Some(token) = session {
        r = r.header(
            "cookie",
            format!("{}={token}", director_http::web::session::SESSION_COOKIE),
        );
    }
    if post {
        let form = match (session, csrf) {
            (Some(token), true) => format!(
                "{}={}",
                director_http::web::csrf::FIELD,
                director_http::web::csrf::token(token)
            ),
            _ => String::new(),
        };
        r = r
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form);
    }
    let r = r.send().await.expect("UI request");
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, location, r.text().await.unwrap_or_default())
}

/// Where the UI sends a request to `path` that has no valid session: the login page, back to `path` after.
fn login_redirect(path: &str) -> String {
    if path == "/" {
        return "/login".into();
    }
    let url = reqwest::Url::parse_with_params("http://ui/login", [("next", path)]).expect("URL");
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

#[tokio::test]
async fn every_ui_route_checks_the_session_and_the_role() {
    let d = Daemon::start().await;
    fixtures(&d).await;
    let mut callers = callers(&d).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client");
    let routes = director_http::web::ROUTES;
    for role in [Role::Viewer, Role::Operator, Role::Admin] {
        assert!(
            routes.iter().any(|r| r.access.role() == Some(role)),
            "some UI route needs {role}"
        );
    }
    for route in routes {
        let path = concrete(&d, "/api/v1", route.path).await;
        let what = format!("{} {path} ({})", route.method.to_uppercase(), route.path);
        let Some(needs) = route.access.role() else {
            let (s, location, body) = ui_call(&http, &d, route.method, &path, None, false).await;
            assert!(
                s < 500 && location != login_redirect(&path),
                "{what} is public, got {s} {location}: {body}"
            );
            if route.method == "get" {
                assert_eq!(s, 200, "{what}: {body}");
            }
            continue;
        };
        // No session: to the login page.
        let login = login_redirect(&path);
        let (s, location, _) = ui_call(&http, &d, route.method, &path, None, false).await;
        assert!(
            (300..400).contains(&s) && location == login,
            "{what} without a session must lead to {login}, got {s} {location:?}"
        );
        if route.method == "post" {
            // A form without the session's CSRF token, even an admin's: refused.
            let admin = callers[2].token.clone();
            let (s, _, body) = ui_call(&http, &d, "post", &path, Some(&admin), false).await;
            assert_eq!(s, 403, "{what} without its CSRF token: {body}");
            assert!(body.contains("security token"), "{what}: {body}");
        }
        for caller in &mut callers {
            let (s, location, body) =
                ui_call(&http, &d, route.method, &path, Some(&caller.token), true).await;
            let role = caller.role;
            if role < needs {
                assert_eq!(s, 403, "{what} as {role} must be forbidden: {body}");
            } else {
                assert!(
                    s != 401 && s != 403 && s < 500 && location != login,
                    "{what} as {role} must be allowed (needs {needs}), got {s} {location:?}: {body}"
                );
            }
            caller.refresh(&d).await;
        }
    }
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
