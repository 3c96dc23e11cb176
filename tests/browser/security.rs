//! CSRF: a form without the session's token is refused, whoever sends it; the login form has one too.

use crate::browser::{http_with_session, Browser};
use crate::{audit_len, create_virtual_server, daemon, weight};
use director_tests::daemon::ADMIN_PASSWORD;

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let d = daemon().await;
    create_virtual_server(&d, "web", "192.168.10.180", &["10.0.0.1"]).await;
    let b = Browser::start(&d).await;
    b.login("admin", ADMIN_PASSWORD).await;
    b.goto("/virtual-servers/web").await;
    let csrf = b.csrf().await;
    let path = "/virtual-servers/web/real-servers/10.0.0.1:80/weight";
    let before = audit_len(&d).await;

    // Missing, wrong, or another session's token: 403 and no change.
    assert_eq!(b.post(path, &[("weight", "3")]).await, 403, "no token");
    assert_eq!(
        b.post(path, &[("_csrf", "forged"), ("weight", "3")]).await,
        403,
        "a made-up token"
    );
    let other = ui_login(&d).await;
    let other_csrf = http_csrf(&d, &other).await;
    assert_ne!(other_csrf, csrf);
    assert_eq!(
        b.post(path, &[("_csrf", &other_csrf), ("weight", "3")])
            .await,
        403,
        "another session's token"
    );
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 1);
    assert_eq!(audit_len(&d).await, before);
    let refused = b
        .js(
            "return fetch('/virtual-servers/web/delete', {method: 'POST', body: 'confirm=yes',
               headers: {'content-type': 'application/x-www-form-urlencoded'}}).then(r => r.text());",
            vec![],
        )
        .await;
    assert!(
        refused
            .as_str()
            .unwrap_or_default()
            .contains("security token"),
        "the refusal says why: {refused}"
    );

    // With the token, the same request goes through.
    assert_eq!(
        b.post(path, &[("_csrf", &csrf), ("weight", "3")]).await,
        303
    );
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 3);

    // The login form is protected as well: no token, no session.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http
        .post(d.url("/login"))
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none(), "no session cookie");
    b.close().await;
}

/// A second UI session of admin, logged in over plain HTTP: its session token.
async fn ui_login(d: &director_tests::Daemon) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = http.get(d.url("/login")).send().await.expect("GET /login");
    let nonce = cookie(&page, "director_login").expect("login nonce cookie");
    let html = page.text().await.expect("login page");
    let csrf = hidden(&html, "_csrf");
    let r = http
        .post(d.url("/login"))
        .header("cookie", format!("director_login={nonce}"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(r.status(), 303);
    cookie(&r, "director_session").expect("session cookie")
}

/// The CSRF token the pages of a session carry.
async fn http_csrf(d: &director_tests::Daemon, token: &str) -> String {
    let html = http_with_session(token)
        .get(d.url("/"))
        .send()
        .await
        .expect("GET /")
        .text()
        .await
        .expect("dashboard");
    hidden(&html, "_csrf")
}

fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
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

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .map(|i| i + marker.len())
        .expect("hidden field");
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}
