//! The operator's main path: log in, create a virtual server with two real servers, change a weight and
//! find it in the table and the audit log, drain and undrain, log out.

use crate::browser::{http_with_session, Browser};
use crate::{daemon, weight};
use director_tests::daemon::ADMIN_PASSWORD;
use std::time::Duration;

#[tokio::test]
async fn an_admin_creates_a_virtual_server_changes_a_weight_drains_and_logs_out() {
    let d = daemon().await;
    let b = Browser::start(&d).await;

    // Not logged in: the dashboard sends to the login page.
    b.goto("/").await;
    b.wait_path("/login").await;
    b.fill("#f-username", "admin").await;
    b.screenshot("login").await;
    b.fill("#f-password", ADMIN_PASSWORD).await;
    b.click("form.login button[type=submit]").await;
    b.wait_path("/").await;
    assert_eq!(b.text("h1").await, "Dashboard");
    b.wait_text(".banner", "In-memory dataplane").await;
    b.wait_text("header .user", "admin").await;

    // Create "web" with two real servers through the form.
    b.click("nav a[href='/virtual-servers']").await;
    b.wait_path("/virtual-servers").await;
    b.click("a[href='/virtual-servers/_new']").await;
    b.wait_path("/virtual-servers/_new").await;
    b.fill("#f-name", "web").await;
    b.fill("#f-address", "192.168.10.180").await;
    b.fill("#f-port", "80").await;
    b.select("#f-scheduler", "wrr").await;
    b.fill("#f-real_servers-0--address", "10.0.0.1").await;
    b.fill("#f-real_servers-1--address", "10.0.0.2").await;
    b.screenshot("virtual-server-form").await;
    b.click("form.vs-form button.primary").await;
    b.wait_path("/virtual-servers/web").await;
    b.wait_text(".flash", "Created virtual server web with 2 real servers.")
        .await;
    assert_eq!(b.count("table.rs tbody tr").await, 2);
    assert_eq!(weight(&d, "web", "10.0.0.2:80").await, 1);

    // Change the weight of 10.0.0.2:80 to 5 in place.
    let w2 = "input[aria-label='Weight of 10.0.0.2:80']";
    b.fill(w2, "5").await;
    let form = b.row_form("10.0.0.2:80").await;
    b.click(&format!("#{form} button[value=weight]")).await;
    b.wait_text(".flash", "Weight of 10.0.0.2:80 set to 5 (was 1).")
        .await;
    assert_eq!(b.prop(w2, "value").await.as_deref(), Some("5"));
    let row = b.text("table.rs tbody tr:nth-child(2)").await;
    assert!(row.contains("83%"), "the share follows the weight: {row}");
    assert_eq!(
        weight(&d, "web", "10.0.0.2:80").await,
        5,
        "the API sees the new weight"
    );

    // The audit log shows who changed what.
    b.click("nav a[href='/audit']").await;
    b.wait_path("/audit").await;
    let log = b.text("table.audit").await;
    assert!(log.contains("weight 1 -> 5"), "{log}");
    assert!(log.contains("web/10.0.0.2:80"), "{log}");
    assert!(log.contains("admin"), "{log}");
    assert!(log.contains("via ui"), "{log}");
    // Filtered to the real server's kind, it is still there, and the newest entry comes first.
    b.fill("#f-name", "web").await;
    b.select("#f-kind", "real_server").await;
    b.click("form.filters button.primary").await;
    b.wait_text("table.audit tbody tr:first-child", "weight 1 -> 5")
        .await;
    b.screenshot("audit").await;

    // Drain 10.0.0.1:80: a confirmation dialog first.
    b.goto("/virtual-servers/web").await;
    let form1 = b.row_form("10.0.0.1:80").await;
    b.click(&format!("button[form='{form1}'][value=drain]"))
        .await;
    let question = b
        .wait_text("dialog.confirm[open] p", "Drain 10.0.0.1:80?")
        .await;
    assert!(question.contains("no new connections"), "{question}");
    b.screenshot("drain-dialog").await;
    b.click("dialog.confirm[open] button[value=ok]").await;
    b.wait_text(".flash", "Drained 10.0.0.1:80 (weight 1 -> 0).")
        .await;
    b.wait_text("table.rs tbody tr:first-child", "drained")
        .await;
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 0);

    // Cancelling the dialog changes nothing.
    b.click(&format!("button[form='{form}'][value=drain]"))
        .await;
    b.wait_text("dialog.confirm[open] p", "Drain 10.0.0.2:80?")
        .await;
    b.click("dialog.confirm[open] button[value=cancel]").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(weight(&d, "web", "10.0.0.2:80").await, 5);

    // Without JavaScript the server asks on a page instead, and nothing changes until confirmed.
    let token = b.session_cookie().await.expect("session cookie");
    let csrf = b.csrf().await;
    let http = http_with_session(&token);
    let page = http
        .post(d.url("/virtual-servers/web/real-servers/10.0.0.2:80/drain"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("POST drain");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("confirmation page");
    assert!(html.contains("Drain 10.0.0.2:80?"), "{html}");
    assert!(html.contains("name=\"confirm\" value=\"yes\""), "{html}");
    assert_eq!(weight(&d, "web", "10.0.0.2:80").await, 5);

    // Undrain restores the weight it had before the drain.
    b.click(&format!("button[form='{form1}'][value=undrain]"))
        .await;
    b.wait_text(".flash", "Undrained 10.0.0.1:80: weight 1.")
        .await;
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 1);

    // The kernel (in memory) follows, and after a few seconds the sampler has read it: charts appear.
    tokio::time::sleep(Duration::from_secs(6)).await;
    b.goto("/virtual-servers/web").await;
    assert_eq!(
        b.count("table.rs svg.spark").await,
        2,
        "a chart per real server"
    );
    assert_eq!(
        b.count("svg.split rect").await,
        2,
        "the weight split has both servers"
    );
    b.screenshot("virtual-server").await;
    b.goto("/").await;
    b.wait_text("#status", "2 up").await;
    b.screenshot("dashboard").await;
    b.goto("/virtual-servers").await;
    b.screenshot("virtual-servers").await;

    // Log out: back to the login page, and the old session no longer opens pages.
    b.click("form.who button").await;
    b.wait_path("/login").await;
    b.wait_text(".flash", "You are logged out.").await;
    b.goto("/virtual-servers").await;
    b.wait_path("/login?next=%2Fvirtual-servers").await;
    let r = http
        .get(d.url("/"))
        .send()
        .await
        .expect("GET / with the old session");
    assert_eq!(r.status(), 303, "a logged-out session is refused");
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/login")
    );
    b.close().await;
}
