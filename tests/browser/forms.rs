//! Validation errors: shown next to the field they are about, with what was typed kept.

use crate::browser::Browser;
use crate::{create_virtual_server, daemon, weight};
use director_tests::daemon::ADMIN_PASSWORD;

#[tokio::test]
async fn a_validation_error_is_shown_next_to_its_field_and_the_typed_values_are_kept() {
    let d = daemon().await;
    let b = Browser::start(&d).await;
    b.login("admin", ADMIN_PASSWORD).await;

    b.goto("/virtual-servers/_new").await;
    b.fill("#f-name", "api").await;
    b.fill("#f-address", "192.168.10.181").await;
    b.fill("#f-port", "70000").await;
    b.select("#f-scheduler", "rr").await;
    b.fill("#f-persistence-timeout_s", "300").await;
    b.fill("#f-real_servers-0--address", "10.0.1.1").await;
    b.fill("#f-real_servers-0--weight", "7").await;
    b.click("form.vs-form button.primary").await;

    // The error sits right under the port, which is marked invalid and described by it.
    let error = b.wait_text("#f-port-err", "65535").await;
    assert!(error.contains("between 0 and 65535"), "{error}");
    assert_eq!(
        b.attr("#f-port", "aria-invalid").await.as_deref(),
        Some("true")
    );
    let described = b
        .attr("#f-port", "aria-describedby")
        .await
        .unwrap_or_default();
    assert!(
        described.split(' ').any(|id| id == "f-port-err"),
        "{described}"
    );
    let next_to = b
        .js("return document.getElementById('f-port-err').closest('.field').querySelector('input').id;", vec![])
        .await;
    assert_eq!(next_to, "f-port");
    // The summary at the top links to the field.
    assert_eq!(b.count(".error-summary a[href='#f-port']").await, 1);
    // Everything typed is still there.
    assert_eq!(b.prop("#f-name", "value").await.as_deref(), Some("api"));
    assert_eq!(b.prop("#f-port", "value").await.as_deref(), Some("70000"));
    assert_eq!(
        b.prop("#f-address", "value").await.as_deref(),
        Some("192.168.10.181")
    );
    assert_eq!(b.prop("#f-scheduler", "value").await.as_deref(), Some("rr"));
    assert_eq!(
        b.prop("#f-persistence-timeout_s", "value").await.as_deref(),
        Some("300")
    );
    assert_eq!(
        b.prop("#f-real_servers-0--address", "value")
            .await
            .as_deref(),
        Some("10.0.1.1")
    );
    assert_eq!(
        b.prop("#f-real_servers-0--weight", "value")
            .await
            .as_deref(),
        Some("7")
    );
    b.screenshot("validation-error").await;
    let (_, list) = d
        .call(reqwest::Method::GET, "/api/v1/virtual-servers", None)
        .await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(0),
        "nothing was created"
    );

    // An error about a real server lands on its row, even when rows above it were left blank.
    b.fill("#f-port", "80").await;
    b.fill("#f-real_servers-0--address", "").await;
    b.fill("#f-real_servers-0--weight", "").await;
    b.fill("#f-real_servers-2--address", "10.0.1.3").await;
    b.fill("#f-real_servers-2--weight", "70000").await;
    b.click("form.vs-form button.primary").await;
    let error = b.wait_text("#f-real_servers-2--weight-err", "65535").await;
    assert!(error.contains("between 0 and 65535"), "{error}");
    assert_eq!(
        b.prop("#f-real_servers-2--weight", "value")
            .await
            .as_deref(),
        Some("70000")
    );
    assert_eq!(b.count("p.error").await, 1, "one error, on its field");

    // Fixed, it is created.
    b.fill("#f-real_servers-2--weight", "2").await;
    b.click("form.vs-form button.primary").await;
    b.wait_path("/virtual-servers/api").await;
    assert_eq!(weight(&d, "api", "10.0.1.3:80").await, 2);

    // A weight the model refuses is reported on its row, with the typed value kept.
    let input = "input[aria-label='Weight of 10.0.1.3:80']";
    b.fill(input, "70000").await;
    let form = b.row_form("10.0.1.3:80").await;
    b.click(&format!("#{form} button[value=weight]")).await;
    b.wait_text(&format!("#{form}-err"), "65535").await;
    assert_eq!(b.prop(input, "value").await.as_deref(), Some("70000"));
    assert_eq!(b.attr(input, "aria-invalid").await.as_deref(), Some("true"));
    assert_eq!(weight(&d, "api", "10.0.1.3:80").await, 2);

    // A clash with another object names the field too (the address:port of another virtual server).
    create_virtual_server(&d, "web", "192.168.10.180", &["10.0.0.1"]).await;
    b.goto("/virtual-servers/_new").await;
    b.fill("#f-name", "web2").await;
    b.fill("#f-address", "192.168.10.180").await;
    b.fill("#f-port", "80").await;
    b.click("form.vs-form button.primary").await;
    let error = b.wait_text("#f-address-err", "already used").await;
    assert!(error.contains("web"), "{error}");
    b.close().await;
}

#[tokio::test]
async fn an_admin_adds_changes_and_removes_users() {
    let d = daemon().await;
    let b = Browser::start(&d).await;
    b.login("admin", ADMIN_PASSWORD).await;
    b.goto("/users").await;

    // Too short a password: the error is next to the password field and the name is kept.
    b.fill("#f-name", "alice").await;
    b.fill("#f-password", "short").await;
    b.select("#f-role", "operator").await;
    b.click("form[action='/users'] button.primary").await;
    b.wait_text("#f-password-err", "at least 8 characters")
        .await;
    assert_eq!(b.prop("#f-name", "value").await.as_deref(), Some("alice"));
    assert_eq!(
        b.prop("#f-role", "value").await.as_deref(),
        Some("operator")
    );

    b.fill("#f-password", "alice-password").await;
    b.click("form[action='/users'] button.primary").await;
    b.wait_text(".flash", "Added user alice (operator).").await;
    b.screenshot("users").await;

    // Change her role.
    b.select("select[aria-label='Role of alice']", "viewer")
        .await;
    b.click("form[action='/users/alice/role'] button").await;
    b.wait_text(".flash", "alice is now viewer.").await;
    let (_, user) = d
        .call(reqwest::Method::GET, "/api/v1/users/alice", None)
        .await;
    assert_eq!(user["role"], "viewer");

    // She can log in with her password (checked through the API).
    assert!(!d.login("alice", "alice-password").await.is_empty());

    // Remove her, after confirming.
    b.click("form[action='/users/alice/delete'] button").await;
    b.wait_text("dialog.confirm[open] p", "Remove user alice?")
        .await;
    b.click("dialog.confirm[open] button[value=ok]").await;
    b.wait_text(".flash", "Removed user alice.").await;
    let (status, _) = d
        .call(reqwest::Method::GET, "/api/v1/users/alice", None)
        .await;
    assert_eq!(status, 404);

    // The last admin cannot lose the role: the refusal is shown on its row.
    b.select("select[aria-label='Role of admin']", "viewer")
        .await;
    b.click("form[action='/users/admin/role'] button").await;
    b.wait_text("tr.row-error", "last admin").await;
    b.close().await;
}

#[tokio::test]
async fn the_connection_filters_name_a_bad_value_and_keep_what_was_typed() {
    let d = daemon().await;
    create_virtual_server(&d, "web", "192.168.10.180", &["10.0.0.1"]).await;
    let b = Browser::start(&d).await;
    b.login("admin", ADMIN_PASSWORD).await;
    b.goto("/connections").await;
    // The in-memory table carries no traffic: an empty table, counted.
    b.wait_text("#connection-count", "0 matching of 0").await;

    b.fill("#f-virtual_server", "web").await;
    b.fill("#f-client", "somebody").await;
    b.click("form.filters button.primary").await;
    let error = b.wait_text("#f-client-err", "not an address").await;
    assert!(error.contains("somebody"), "{error}");
    assert_eq!(
        b.attr("#f-client", "aria-invalid").await.as_deref(),
        Some("true")
    );
    assert_eq!(
        b.prop("#f-virtual_server", "value").await.as_deref(),
        Some("web")
    );

    // A good filter: the query string carries the API's names.
    b.fill("#f-client", "10.40.0.2").await;
    b.click("form.filters button.primary").await;
    b.wait_text("#connection-count", "0 matching of 0").await;
    let url = b.js("return location.search;", vec![]).await;
    assert!(
        url.as_str()
            .is_some_and(|q| q.contains("virtual_server=web") && q.contains("client=10.40.0.2")),
        "{url}"
    );
    b.close().await;
}
