//! `/hosts`: an operator drains a backend host in every virtual server at once (after confirming) and
//! undrains it, each real server getting its weight back; a viewer sees the hosts without the buttons.

use crate::browser::Browser;
use crate::{audit_len, create_virtual_server, daemon, weight};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_operator_drains_a_host_everywhere_and_undrains_it() {
    let d = daemon().await;
    create_virtual_server(&d, "web", "192.168.10.180", &["10.0.0.1", "10.0.0.2"]).await;
    create_virtual_server(&d, "api", "192.168.10.181", &["10.0.0.1"]).await;
    let (status, body) = d
        .call(
            Method::PATCH,
            "/api/v1/virtual-servers/api/real-servers/10.0.0.1:80",
            Some(json!({"weight": 4})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    d.token_for("operator").await;
    let b = Browser::start(&d).await;
    b.login("operator-user", "operator-password").await;
    b.click("nav a[href='/hosts']").await;
    b.wait_path("/hosts").await;
    let row = b
        .wait_text("table.list tbody tr:first-child", "10.0.0.1")
        .await;
    assert!(row.contains("web") && row.contains("api"), "{row}");
    assert!(row.contains("serving"), "{row}");
    let before = audit_len(&d).await;

    b.click("form[action='/hosts/10.0.0.1/drain'] button").await;
    b.wait_text("dialog.confirm[open] p", "Drain 10.0.0.1 everywhere?")
        .await;
    b.screenshot("hosts-drain-dialog").await;
    b.click("dialog.confirm[open] button[value=ok]").await;
    b.wait_text(
        ".flash",
        "drained 10.0.0.1: 2 of 2 real servers in 2 virtual servers set to weight 0",
    )
    .await;
    b.wait_text("table.list tbody tr:first-child", "drained")
        .await;
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 0);
    assert_eq!(weight(&d, "api", "10.0.0.1:80").await, 0);
    assert_eq!(weight(&d, "web", "10.0.0.2:80").await, 1, "another host");
    assert_eq!(audit_len(&d).await, before + 2, "one entry per real server");
    b.screenshot("hosts").await;

    b.click("form[action='/hosts/10.0.0.1/undrain'] button")
        .await;
    b.wait_text(".flash", "10.0.0.1").await;
    b.wait_text("table.list tbody tr:first-child", "serving")
        .await;
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 1);
    assert_eq!(
        weight(&d, "api", "10.0.0.1:80").await,
        4,
        "its own weight back"
    );
    b.close().await;
}

#[tokio::test]
async fn a_viewer_sees_the_hosts_without_their_buttons() {
    let d = daemon().await;
    create_virtual_server(&d, "web", "192.168.10.180", &["10.0.0.1"]).await;
    d.token_for("viewer").await;
    let b = Browser::start(&d).await;
    b.login("viewer-user", "viewer-password").await;
    b.goto("/hosts").await;
    b.wait_text("table.list", "10.0.0.1").await;
    assert_eq!(b.count("main form").await, 0, "no drain or undrain");
    let csrf = b.csrf().await;
    assert_eq!(
        b.post(
            "/hosts/10.0.0.1/drain",
            &[("_csrf", &csrf), ("confirm", "yes")]
        )
        .await,
        403
    );
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 1);
    b.close().await;
}
