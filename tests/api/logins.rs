//! Logins and tokens: logout and revocation (REST, the CLI, across a restart), sessions ended by a password
//! change or a deletion, failed logins limited (429) and password checks bounded (503), login audit entries.

use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn login_status(d: &Daemon, user: &str, password: &str) -> (u16, Option<String>, Value) {
    let r = d
        .http
        .post(d.url("/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .expect("login request");
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let status = r.status().as_u16();
    (status, retry, r.json().await.unwrap_or(Value::Null))
}

async fn create_user(d: &Daemon, name: &str, password: &str, role: &str) {
    let (s, e) = d
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"name": name, "password": password, "role": role})),
        )
        .await;
    assert_eq!(s, 201, "{e}");
}

async fn status_with(d: &Daemon, token: &str) -> u16 {
    d.call_as(token, Method::GET, "/api/v1/status", None)
        .await
        .0
}

/// The id (`jti`) of a token: its claims, read without checking the signature.
fn token_id(token: &str) -> String {
    use base64_free::decode_segment;
    let claims = token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(&decode_segment(claims)).expect("claims");
    claims["jti"].as_str().expect("jti").to_string()
}

/// base64url without padding, enough to read a JWT's claims here (no extra dependency for the suite).
mod base64_free {
    pub fn decode_segment(s: &str) -> Vec<u8> {
        let value = |c: u8| -> u32 {
            match c {
                b'A'..=b'Z' => u32::from(c - b'A'),
                b'a'..=b'z' => u32::from(c - b'a') + 26,
                b'0'..=b'9' => u32::from(c - b'0') + 52,
                b'-' => 62,
                _ => 63,
            }
        };
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes() {
            acc = (acc << 6) | value(c);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        out
    }
}

#[tokio::test]
async fn logout_revokes_the_token_and_the_revocation_survives_a_restart() {
    let mut d = Daemon::start().await;
    let keep = d.keep_data();
    create_user(&d, "alice", "alice-password", "operator").await;
    let alice = d.login("alice", "alice-password").await;
    let other = d.login("alice", "alice-password").await;
    assert_eq!(status_with(&d, &alice).await, 200);
    let (s, e) = d
        .call_as(&alice, Method::POST, "/api/v1/auth/logout", None)
        .await;
    assert_eq!(s, 204, "{e}");
    let (s, e) = d.call_as(&alice, Method::GET, "/api/v1/status", None).await;
    assert_eq!(s, 401, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("revoked"),
        "{e}"
    );
    assert_eq!(
        d.call_as(&alice, Method::POST, "/api/v1/auth/logout", None)
            .await
            .0,
        401,
        "a revoked token cannot log out again"
    );
    assert_eq!(
        status_with(&d, &other).await,
        200,
        "only that session ended"
    );

    // The logout is in the audit log, as the login was, with the client's address.
    let audit = d.get("/api/v1/audit?kind=login&actor=alice").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["logout", "login", "login"], "{audit}");
    let logout = &audit["items"][0];
    assert_eq!(logout["via"], "rest");
    assert!(
        logout["summary"]
            .as_str()
            .unwrap_or("")
            .contains("from 127.0.0.1"),
        "{logout}"
    );

    assert!(d.stop().is_some_and(|s| s.success()));
    let dir = d.data_path().to_path_buf();
    drop(d);
    let d = Daemon::start_with(DaemonOptions {
        data_dir: Some(dir),
        ..Default::default()
    })
    .await;
    drop(keep);
    assert_eq!(status_with(&d, &alice).await, 401, "still revoked");
    assert_eq!(status_with(&d, &other).await, 200);
}

#[tokio::test]
async fn admins_list_and_revoke_tokens() {
    let d = Daemon::start().await;
    create_user(&d, "bob", "bob-password", "viewer").await;
    let bob = d.login("bob", "bob-password").await;
    let id = token_id(&bob);

    let (s, list) = d.call(Method::GET, "/api/v1/tokens", None).await;
    assert_eq!(s, 200, "{list}");
    let text = list.to_string();
    assert!(!text.contains(&bob), "never the token itself");
    let entry = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap_or_else(|| panic!("bob's session is listed: {list}"))
        .clone();
    assert_eq!(entry["subject"], "bob");
    assert_eq!(entry["kind"], "user");
    assert_eq!(entry["role"], "viewer");
    assert!(entry["revoked_at"].is_null());
    assert_eq!(d.get(&format!("/api/v1/tokens/{id}")).await, entry);

    // Viewers neither list nor revoke.
    assert_eq!(
        d.call_as(&bob, Method::GET, "/api/v1/tokens", None).await.0,
        403
    );
    assert_eq!(
        d.call_as(&bob, Method::DELETE, &format!("/api/v1/tokens/{id}"), None)
            .await
            .0,
        403
    );

    let (s, e) = d
        .call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None)
        .await;
    assert_eq!(s, 204, "{e}");
    assert_eq!(status_with(&d, &bob).await, 401, "refused at once");
    let revoked = d.get(&format!("/api/v1/tokens/{id}")).await;
    assert_eq!(revoked["revoked_by"], "admin");
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(
        d.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None)
            .await
            .0,
        204,
        "revoking again changes nothing"
    );
    let audit = d.get("/api/v1/audit?kind=token&action=revoke").await;
    assert_eq!(
        audit["items"].as_array().map(Vec::len),
        Some(1),
        "one entry: {audit}"
    );
    assert_eq!(audit["items"][0]["object"], id.as_str());
    assert_eq!(
        d.call(Method::GET, "/api/v1/tokens/absent", None).await.0,
        404
    );
}

#[tokio::test]
async fn a_password_change_or_a_deletion_ends_the_users_sessions() {
    let d = Daemon::start().await;
    create_user(&d, "carol", "carol-password", "operator").await;
    let first = d.login("carol", "carol-password").await;
    let second = d.login("carol", "carol-password").await;
    // A role change keeps the sessions (they follow the new role).
    let (s, _) = d
        .call(
            Method::PATCH,
            "/api/v1/users/carol",
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(status_with(&d, &first).await, 200);
    let (s, _) = d
        .call(
            Method::PATCH,
            "/api/v1/users/carol",
            Some(json!({"password": "carol-new-password"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(status_with(&d, &first).await, 401);
    assert_eq!(status_with(&d, &second).await, 401);
    let third = d.login("carol", "carol-new-password").await;
    assert_eq!(status_with(&d, &third).await, 200);

    // Deleted, then created again with the same name: the old sessions stay ended.
    assert_eq!(
        d.call(Method::DELETE, "/api/v1/users/carol", None).await.0,
        204
    );
    assert_eq!(status_with(&d, &third).await, 401);
    create_user(&d, "carol", "carol-new-password", "admin").await;
    assert_eq!(status_with(&d, &third).await, 401);
    let fourth = d.login("carol", "carol-new-password").await;
    assert_eq!(status_with(&d, &fourth).await, 200);
}

#[tokio::test]
async fn a_revocation_by_the_cli_reaches_the_running_daemon() {
    let d = Daemon::start().await;
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(director_tests::director_bin())
            .args(args)
            .arg("--data-dir")
            .arg(d.data_path())
            .output()
            .expect("director");
        assert!(
            out.status.success(),
            "director {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let token = cli(&["token", "create", "--role", "viewer", "--name", "ci"])
        .trim()
        .to_string();
    let id = token_id(&token);
    assert_eq!(status_with(&d, &token).await, 200);
    let listed: Value = serde_json::from_str(&cli(&["token", "list", "--json"])).expect("json");
    let entry = listed
        .as_array()
        .expect("a list")
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap_or_else(|| panic!("the service token is listed: {listed}"))
        .clone();
    assert_eq!(entry["subject"], "token:ci");
    assert_eq!(entry["kind"], "service");
    assert!(cli(&["token", "list"]).contains(&id));

    let out = cli(&["token", "revoke", &id]);
    assert!(out.contains(&id), "{out}");
    // The daemon polls the store (every 500 ms): the token is refused soon, without a restart.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = status_with(&d, &token).await;
        if s == 401 {
            break;
        }
        assert_eq!(s, 200);
        assert!(
            Instant::now() < deadline,
            "the daemon still accepts a token revoked by the CLI"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let audit = d.get("/api/v1/audit?kind=token&action=revoke").await;
    assert_eq!(audit["items"][0]["via"], "cli");
    assert_eq!(audit["items"][0]["object"], id.as_str());
}

#[tokio::test]
async fn repeated_failures_are_answered_429_and_the_password_works_after_the_lockout() {
    let d = Daemon::start_with(DaemonOptions {
        extra_args: vec!["--login-lockout-base".into(), "1s".into()],
        ..Default::default()
    })
    .await;
    create_user(&d, "dave", "dave-password", "viewer").await;
    let mut failed = 0;
    let retry_after = loop {
        let (s, retry, body) = login_status(&d, "dave", "wrong-password").await;
        match s {
            401 => failed += 1,
            429 => {
                assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
                break retry.expect("Retry-After on a 429");
            }
            other => panic!("wrong password: {other} {body}"),
        }
        assert!(failed <= 10, "no lockout after {failed} failures");
    };
    assert!(
        failed >= 5,
        "five failures are free, got locked after {failed}"
    );
    let seconds: u64 = retry_after.parse().expect("Retry-After in seconds");
    assert!((1..=300).contains(&seconds), "{seconds}");
    // During the lockout even the right password is refused, and nothing is checked or audited.
    let (s, _, _) = login_status(&d, "dave", "dave-password").await;
    let failures = d.get("/api/v1/audit?kind=login&action=login_failed").await;
    assert_eq!(
        failures["items"].as_array().map(Vec::len),
        Some(failed),
        "one entry per checked failure, none for the refused attempts"
    );
    assert!(
        failures["items"][0]["summary"]
            .as_str()
            .unwrap_or("")
            .contains("from 127.0.0.1"),
        "{failures}"
    );
    if s == 429 {
        // After the lockout the right password works again.
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let (s, _, body) = login_status(&d, "dave", "dave-password").await;
        assert_eq!(s, 200, "{body}");
    } else {
        // The lockout (1 s) had ended already on a slow machine: then it worked.
        assert_eq!(s, 200);
    }
    // Another user is not locked by dave's failures.
    create_user(&d, "erin", "erin-password", "viewer").await;
    assert_eq!(login_status(&d, "erin", "erin-password").await.0, 200);
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// 256 wrong logins at once: at most two password checks run at a time, the others wait a little or are
/// refused (503, or 429 once the address is locked out), and the daemon's memory stays bounded.
#[tokio::test]
async fn parallel_logins_keep_the_daemon_small() {
    let d = Daemon::start().await;
    let before = vm_hwm_kib(d.pid());
    let mut calls = Vec::new();
    for i in 0..256 {
        let (http, url) = (d.http.clone(), d.url("/api/v1/auth/login"));
        calls.push(tokio::spawn(async move {
            let started = Instant::now();
            let r = http
                .post(url)
                .json(&json!({"username": format!("user{}", i % 8), "password": "wrong-password"}))
                .send()
                .await
                .expect("login request");
            let retry = r.headers().contains_key("retry-after");
            (r.status().as_u16(), retry, started.elapsed())
        }));
    }
    let mut counts = std::collections::BTreeMap::new();
    let mut times = Vec::new();
    for c in calls {
        let (status, retry, took) = c.await.expect("task");
        *counts.entry(status).or_insert(0) += 1;
        if status == 429 || status == 503 {
            assert!(retry, "{status} without Retry-After");
        }
        times.push(took);
    }
    times.sort();
    let peak = vm_hwm_kib(d.pid());
    println!(
        "256 parallel logins: {counts:?}; VmHWM {} MiB (before {} MiB); p50 {:?}, p99 {:?}",
        peak / 1024,
        before / 1024,
        times[times.len() / 2],
        times[times.len() * 99 / 100]
    );
    assert!(
        counts.keys().all(|s| [401, 429, 503].contains(s)),
        "{counts:?}"
    );
    assert!(
        counts.get(&429).copied().unwrap_or(0) + counts.get(&503).copied().unwrap_or(0) > 0,
        "some attempts are refused: {counts:?}"
    );
    assert!(
        peak < 100 * 1024,
        "the daemon grew to {} MiB under 256 parallel logins",
        peak / 1024
    );
    // The refused attempts are not in the audit log: only the checked ones.
    let audit = d
        .get("/api/v1/audit?kind=login&action=login_failed&limit=1000")
        .await;
    assert_eq!(
        audit["items"].as_array().map(Vec::len),
        counts.get(&401).copied(),
        "{counts:?}"
    );
}

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        })
        .filter(|v| !v.is_empty())
}

fn hidden_csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let at = html.find(marker).expect("a CSRF field") + marker.len();
    html[at..].split('"').next().unwrap_or("").to_string()
}

/// The UI's log-out button revokes the session's token through the same service call as REST: the cookie's
/// token is refused by the UI and by the API, and both steps are audited with via = ui.
#[tokio::test]
async fn the_ui_logout_revokes_the_session_token() {
    let d = Daemon::start().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client");
    let page = http.get(d.url("/login")).send().await.expect("GET /login");
    let nonce = set_cookie(&page, "director_login").expect("login nonce cookie");
    let csrf = hidden_csrf(&page.text().await.expect("login page"));
    let r = http
        .post(d.url("/login"))
        .header("cookie", format!("director_login={nonce}"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "admin"),
            ("password", director_tests::daemon::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(r.status(), 303);
    let session = set_cookie(&r, "director_session").expect("session cookie");
    assert_eq!(
        status_with(&d, &session).await,
        200,
        "the same token as REST's"
    );
    let dashboard = http
        .get(d.url("/"))
        .header("cookie", format!("director_session={session}"))
        .send()
        .await
        .expect("GET /");
    assert_eq!(dashboard.status(), 200);
    let csrf = hidden_csrf(&dashboard.text().await.expect("dashboard"));
    let r = http
        .post(d.url("/logout"))
        .header("cookie", format!("director_session={session}"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("POST /logout");
    assert_eq!(r.status(), 303);
    assert_eq!(status_with(&d, &session).await, 401, "revoked for REST too");
    let again = http
        .get(d.url("/"))
        .header("cookie", format!("director_session={session}"))
        .send()
        .await
        .expect("GET /");
    assert_eq!(again.status(), 303, "back to the login page");
    let audit = d.get("/api/v1/audit?kind=login&via=ui").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["logout", "login"], "{audit}");
}
