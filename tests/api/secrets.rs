//! Secrets stay secret: the VRRP PASS password, the arguments of commands (health checks, track and notify
//! scripts) and a webhook's path are write-only below admin, in every object, list, write response and audit
//! entry of the REST API and on the UI's pages; written back as they were read, the stored secrets are kept.

use director_tests::Daemon;
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "s3cr3tpw";
const NEW_PASSWORD: &str = "n3wpw";
const TRACK_ARG: &str = "track-t0ken";
const HOOK_KEY: &str = "hook-k3y";
const CHECK_ARG: &str = "check-pa55";
const SECRETS: [&str; 5] = [PASSWORD, NEW_PASSWORD, TRACK_ARG, HOOK_KEY, CHECK_ARG];

fn group(name: &str, vrid: u32, password: &str) -> Value {
    json!({"name": name, "vrid": vrid, "auth": {"type": "pass", "password": password},
        "virtual_addresses": [format!("192.168.10.{}", 100 + vrid)], "interface": "eth0",
        "track": [{"interface": "eth1", "weight": -30},
                  {"script": ["/usr/local/bin/check", "--token", TRACK_ARG], "weight": -20}],
        "notify": {"webhook": format!("https://hooks.example.com/services/{HOOK_KEY}")}})
}

fn database() -> Value {
    json!({"name": "db", "protocol": "tcp", "address": "192.168.10.200", "port": 3306,
        "health_check": {"type": "script", "command": ["/bin/true", "--password", CHECK_ARG]},
        "real_servers": [
            {"address": "10.0.1.1", "port": 3306},
            {"address": "10.0.1.2", "port": 3306,
             "health_check": {"type": "script", "command": ["/bin/true", "-p", CHECK_ARG]}}]})
}

/// The secrets found in a body (JSON or HTML).
fn leaks(body: &str) -> Vec<&'static str> {
    SECRETS.into_iter().filter(|s| body.contains(s)).collect()
}

fn assert_no_secret(body: &str, what: &str) {
    assert_eq!(leaks(body), Vec::<&str>::new(), "{what}: {body}");
}

async fn get_as(d: &Daemon, token: &str, path: &str) -> Value {
    let (s, body) = d.call_as(token, Method::GET, path, None).await;
    assert_eq!(s, 200, "GET {path}: {body}");
    body
}

#[tokio::test]
async fn vrrp_secrets_are_withheld_from_viewers_and_operators() {
    let d = Daemon::start().await;
    let (s, created) = d
        .call(
            Method::POST,
            "/api/v1/vrrp-groups",
            Some(group("vi-1", 51, PASSWORD)),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["auth"]["password"], PASSWORD, "admins see it");
    let (s, patched) = d
        .call(
            Method::PATCH,
            "/api/v1/vrrp-groups/vi-1",
            Some(json!({"auth": {"type": "pass", "password": NEW_PASSWORD}})),
        )
        .await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(patched["auth"]["password"], NEW_PASSWORD);

    for role in ["viewer", "operator"] {
        let token = d.token_for(role).await;
        let g = get_as(&d, &token, "/api/v1/vrrp-groups/vi-1").await;
        assert_eq!(
            g["auth"],
            json!({"type": "pass", "password": "***"}),
            "{role}"
        );
        assert_eq!(
            g["track"][1]["script"],
            json!(["/usr/local/bin/check", "***", "***"]),
            "{role}: the program stays visible"
        );
        assert_eq!(g["track"][0]["interface"], "eth1");
        assert_eq!(
            g["notify"]["webhook"], "https://hooks.example.com/***",
            "{role}"
        );
        assert_no_secret(&g.to_string(), role);
        let list = get_as(&d, &token, "/api/v1/vrrp-groups").await;
        assert_eq!(list["items"][0]["auth"]["password"], "***", "{role}");
        assert_no_secret(&list.to_string(), role);

        // The audit log: the create (whole object) and the update (before and after) are withheld too.
        let audit = get_as(&d, &token, "/api/v1/audit?kind=vrrp_group").await;
        let items = audit["items"].as_array().expect("items");
        assert_eq!(items.len(), 2, "{audit:#}");
        assert_eq!(items[0]["action"], "update");
        assert_eq!(items[0]["before"]["auth"]["password"], "***", "{role}");
        assert_eq!(items[0]["after"]["auth"]["password"], "***", "{role}");
        assert_eq!(items[1]["after"]["auth"]["password"], "***", "{role}");
        assert_no_secret(&audit.to_string(), role);
        let all = get_as(&d, &token, "/api/v1/audit?limit=1000").await;
        assert_no_secret(&all.to_string(), role);
    }

    // Admins read everything, and the stored audit entries are whole.
    let g = d.get("/api/v1/vrrp-groups/vi-1").await;
    assert_eq!(g["auth"]["password"], NEW_PASSWORD);
    assert_eq!(g["track"][1]["script"][2], TRACK_ARG);
    let audit = d.get("/api/v1/audit?kind=vrrp_group").await.to_string();
    for secret in [PASSWORD, NEW_PASSWORD, TRACK_ARG, HOOK_KEY] {
        assert!(audit.contains(secret), "admins read {secret}: {audit}");
    }
}

#[tokio::test]
async fn a_group_written_back_as_read_keeps_its_secrets() {
    let d = Daemon::start().await;
    assert_eq!(
        d.call(
            Method::POST,
            "/api/v1/vrrp-groups",
            Some(group("vi-1", 51, PASSWORD))
        )
        .await
        .0,
        201
    );
    let operator = d.token_for("operator").await;
    let viewer = d.token_for("viewer").await;
    let mut shown = get_as(&d, &viewer, "/api/v1/vrrp-groups/vi-1").await;
    assert_eq!(shown["auth"]["password"], "***");
    shown["priority"] = json!(120);

    // Operators may not change VRRP groups at all: the PUT of what they read is refused, nothing changes.
    for token in [&operator, &viewer] {
        let (s, e) = d
            .call_as(
                token,
                Method::PUT,
                "/api/v1/vrrp-groups/vi-1",
                Some(shown.clone()),
            )
            .await;
        assert_eq!(s, 403, "{e}");
        let (s, e) = d
            .call_as(
                token,
                Method::PATCH,
                "/api/v1/vrrp-groups/vi-1",
                Some(json!({"auth": {"type": "pass", "password": "***"}})),
            )
            .await;
        assert_eq!(s, 403, "{e}");
    }
    let stored = d.get("/api/v1/vrrp-groups/vi-1").await;
    assert_eq!(stored["auth"]["password"], PASSWORD);
    assert_eq!(stored["priority"], 100);

    // An admin's PUT of the withheld copy (as a pipeline that read it with a viewer token would send it):
    // the change is made, "***" keeps the stored password, script and webhook.
    let (s, put) = d
        .call(Method::PUT, "/api/v1/vrrp-groups/vi-1", Some(shown))
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["priority"], 120);
    assert_eq!(put["auth"]["password"], PASSWORD);
    assert_eq!(put["track"][1]["script"][2], TRACK_ARG);
    assert_eq!(
        put["notify"]["webhook"],
        format!("https://hooks.example.com/services/{HOOK_KEY}")
    );
    let audit = d.get("/api/v1/audit?kind=vrrp_group&action=update").await;
    assert_eq!(
        audit["items"][0]["after"],
        json!({"priority": 120}),
        "only the priority changed: {audit:#}"
    );

    // The same through a merge patch; a real new password replaces it.
    let (s, p) = d
        .call(
            Method::PATCH,
            "/api/v1/vrrp-groups/vi-1",
            Some(json!({"auth": {"type": "pass", "password": "***"}, "preempt": false})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["auth"]["password"], PASSWORD);
    let (s, p) = d
        .call(
            Method::PATCH,
            "/api/v1/vrrp-groups/vi-1",
            Some(json!({"auth": {"type": "pass", "password": NEW_PASSWORD}})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["auth"]["password"], NEW_PASSWORD);

    // "***" where nothing is stored is refused, naming the field, and changes nothing.
    let before = d.fingerprint().await;
    let (s, e) = d
        .call(
            Method::POST,
            "/api/v1/vrrp-groups",
            Some(group("vi-2", 52, "***")),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["field"], "auth.password");
    let mut new_script = d.get("/api/v1/vrrp-groups/vi-1").await;
    new_script["track"][1]["script"] = json!(["/usr/local/bin/other", "***"]);
    let (s, e) = d
        .call(Method::PUT, "/api/v1/vrrp-groups/vi-1", Some(new_script))
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["field"], "track[1].script");
    assert_eq!(d.fingerprint().await, before);
}

#[tokio::test]
async fn health_check_arguments_are_withheld_and_an_operators_put_keeps_them() {
    let d = Daemon::start().await;
    let (s, created) = d
        .call(Method::POST, "/api/v1/virtual-servers", Some(database()))
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["health_check"]["command"][2], CHECK_ARG);
    let operator = d.token_for("operator").await;
    let viewer = d.token_for("viewer").await;

    // The list is served from cached bytes: an admin's read first must not leak into a viewer's.
    assert!(d
        .get("/api/v1/virtual-servers")
        .await
        .to_string()
        .contains(CHECK_ARG));
    for token in [&viewer, &operator] {
        let vs = get_as(&d, token, "/api/v1/virtual-servers/db").await;
        assert_eq!(
            vs["health_check"]["command"],
            json!(["/bin/true", "***", "***"])
        );
        assert_eq!(
            vs["real_servers"][1]["health_check"]["command"],
            json!(["/bin/true", "***", "***"])
        );
        assert_no_secret(&vs.to_string(), "virtual server");
        for path in [
            "/api/v1/virtual-servers",
            "/api/v1/virtual-servers/db/real-servers",
            "/api/v1/virtual-servers/db/real-servers/10.0.1.2:3306",
        ] {
            assert_no_secret(&get_as(&d, token, path).await.to_string(), path);
        }
    }
    assert!(d
        .get("/api/v1/virtual-servers")
        .await
        .to_string()
        .contains(CHECK_ARG));

    // An operator drains a server by sending back what it read: allowed (only a weight changed), and the
    // stored commands stay.
    let mut shown = get_as(&d, &operator, "/api/v1/virtual-servers/db").await;
    shown["real_servers"][1]["weight"] = json!(0);
    let (s, put) = d
        .call_as(
            &operator,
            Method::PUT,
            "/api/v1/virtual-servers/db",
            Some(shown),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_no_secret(&put.to_string(), "the PUT's answer to an operator");
    let rs = "/api/v1/virtual-servers/db/real-servers/10.0.1.2:3306";
    let mut shown_rs = get_as(&d, &operator, rs).await;
    shown_rs["weight"] = json!(3);
    let (s, put) = d.call_as(&operator, Method::PUT, rs, Some(shown_rs)).await;
    assert_eq!(s, 200, "{put}");
    assert_no_secret(&put.to_string(), "the real server PUT's answer");
    let stored = d.get("/api/v1/virtual-servers/db").await;
    assert_eq!(stored, {
        let mut expected = stored.clone();
        expected["health_check"]["command"] = json!(["/bin/true", "--password", CHECK_ARG]);
        expected["real_servers"][1]["health_check"]["command"] =
            json!(["/bin/true", "-p", CHECK_ARG]);
        expected["real_servers"][1]["weight"] = json!(3);
        expected
    });
    let weights = d.get("/api/v1/audit?kind=real_server&action=update").await;
    let changes: Vec<&Value> = weights["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| &e["after"])
        .collect();
    assert_eq!(
        changes,
        [&json!({"weight": 3}), &json!({"weight": 0})],
        "only weights changed: {weights:#}"
    );

    // An operator who changes a command is refused: the arguments it cannot see are not its to change.
    let mut changed = get_as(&d, &operator, "/api/v1/virtual-servers/db").await;
    changed["health_check"]["command"] = json!(["/bin/false", "***", "***"]);
    let (s, e) = d
        .call_as(
            &operator,
            Method::PUT,
            "/api/v1/virtual-servers/db",
            Some(changed),
        )
        .await;
    assert_eq!(s, 403, "{e}");

    // The audit entries (create, weight changes) read without the arguments below admin.
    for token in [&viewer, &operator] {
        let audit = get_as(&d, token, "/api/v1/audit?limit=1000").await;
        assert_no_secret(&audit.to_string(), "audit");
    }
    assert!(d
        .get("/api/v1/audit?kind=virtual_server")
        .await
        .to_string()
        .contains(CHECK_ARG));
}

/// A page of the UI as the holder of `token` (a session cookie holds the same token as REST's) sees it.
async fn page(d: &Daemon, token: &str, path: &str) -> String {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(d.url(path))
        .header("cookie", format!("director_session={token}"))
        .send()
        .await
        .expect("GET a page");
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().await.expect("page")
}

#[tokio::test]
async fn ui_pages_show_no_secret_below_admin() {
    let d = Daemon::start().await;
    assert_eq!(
        d.call(
            Method::POST,
            "/api/v1/vrrp-groups",
            Some(group("vi-1", 51, PASSWORD))
        )
        .await
        .0,
        201
    );
    let mut vs = database();
    vs["vrrp_group"] = json!("vi-1");
    assert_eq!(
        d.call(Method::POST, "/api/v1/virtual-servers", Some(vs))
            .await
            .0,
        201
    );
    let admin = d.admin_token.clone();
    let pages = ["/vrrp-groups/vi-1", "/virtual-servers/db", "/audit"];
    // The pages do show the arguments to an admin: their absence below is the withholding.
    for path in pages {
        let html = page(&d, &admin, path).await;
        assert!(!leaks(&html).is_empty(), "{path} shows admins the secrets");
    }
    for role in ["viewer", "operator"] {
        let token = d.token_for(role).await;
        for path in pages
            .into_iter()
            .chain(["/vrrp-groups", "/virtual-servers", "/"])
        {
            let html = page(&d, &token, path).await;
            assert_no_secret(&html, &format!("{role} on {path}"));
        }
        let html = page(&d, &token, "/virtual-servers/db").await;
        assert!(html.contains("command /bin/true *** ***"), "{html}");
        let html = page(&d, &token, "/vrrp-groups/vi-1").await;
        assert!(
            html.contains("script /usr/local/bin/check *** ***"),
            "{html}"
        );
    }
}

#[tokio::test]
async fn user_password_hashes_are_never_returned() {
    let d = Daemon::start().await;
    let (s, u) = d
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"name": "carol", "password": "carol-password", "role": "viewer"})),
        )
        .await;
    assert_eq!(s, 201, "{u}");
    let (s, p) = d
        .call(
            Method::PATCH,
            "/api/v1/users/carol",
            Some(json!({"password": "carol-password-2"})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let bodies = [
        u,
        p,
        d.get("/api/v1/users").await,
        d.get("/api/v1/audit?kind=user").await,
        d.get("/api/v1/tokens").await,
    ];
    for body in bodies {
        let text = body.to_string();
        for secret in ["$argon2", "password_hash", "carol-password"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}
