//! Roles in the UI: a viewer sees no edit controls and a forged POST is refused with 403; an operator sets
//! weights and drains but gets no admin controls.

use crate::browser::Browser;
use crate::{audit_len, create_virtual_server, daemon, weight};

#[tokio::test]
async fn a_viewer_sees_no_edit_controls_and_a_forged_post_is_refused() {
    let d = daemon().await;
    create_virtual_server(&d, "web", "192.168.10.180", &["10.0.0.1", "10.0.0.2"]).await;
    d.token_for("viewer").await;
    let b = Browser::start(&d).await;
    b.login("viewer-user", "viewer-password").await;
    b.wait_text("header .role", "viewer").await;

    b.goto("/virtual-servers").await;
    assert_eq!(
        b.count("a[href='/virtual-servers/_new']").await,
        0,
        "no creation link"
    );
    assert_eq!(
        b.count("nav a[href='/users']").await,
        0,
        "no users page in the menu"
    );

    b.goto("/virtual-servers/web").await;
    b.wait_text("table.rs", "10.0.0.2:80").await;
    assert_eq!(b.count("input[name=weight]").await, 0, "no weight inputs");
    assert_eq!(
        b.count("button[name=do]").await,
        0,
        "no drain, enable or delete buttons"
    );
    assert_eq!(
        b.count("a[href='/virtual-servers/web/edit']").await,
        0,
        "no edit link"
    );
    assert_eq!(
        b.count("form[action='/virtual-servers/web/real-servers']")
            .await,
        0,
        "no add form"
    );
    assert_eq!(
        b.count("form[action='/virtual-servers/web/delete']").await,
        0,
        "no delete form"
    );
    // The only form is the logout button.
    assert_eq!(b.count("main form").await, 0);
    b.screenshot("viewer").await;

    // The viewer's own session and CSRF token are valid, but the service refuses the change.
    let before = audit_len(&d).await;
    let csrf = b.csrf().await;
    let forged = [
        (
            "/virtual-servers/web/real-servers/10.0.0.1:80/weight",
            vec![("weight", "9")],
        ),
        (
            "/virtual-servers/web/real-servers/10.0.0.1:80",
            vec![("do", "drain"), ("confirm", "yes")],
        ),
        (
            "/virtual-servers/web/real-servers/10.0.0.1:80/disable",
            vec![("confirm", "yes")],
        ),
        (
            "/virtual-servers/web/real-servers",
            vec![("address", "10.0.0.9"), ("port", "80"), ("enabled", "on")],
        ),
        ("/virtual-servers/web/delete", vec![("confirm", "yes")]),
        (
            "/virtual-servers",
            vec![
                ("name", "evil"),
                ("protocol", "tcp"),
                ("address", "10.9.9.9"),
                ("port", "80"),
            ],
        ),
        (
            "/users",
            vec![
                ("name", "mallory"),
                ("password", "mallory-password"),
                ("role", "admin"),
            ],
        ),
    ];
    for (path, fields) in forged {
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend(fields);
        assert_eq!(b.post(path, &all).await, 403, "POST {path} as a viewer");
    }
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 1);
    assert_eq!(audit_len(&d).await, before, "nothing was written");
    b.goto("/users").await;
    b.wait_text("h1", "Not allowed").await;

    // An operator changes weights and drains, but has no admin controls.
    b.click("a[href='/']").await;
    b.click("form.who button").await;
    b.wait_path("/login").await;
    d.token_for("operator").await;
    b.login("operator-user", "operator-password").await;
    b.goto("/virtual-servers/web").await;
    let input = "input[aria-label='Weight of 10.0.0.1:80']";
    b.fill(input, "4").await;
    let form = b.row_form("10.0.0.1:80").await;
    b.click(&format!("#{form} button[value=weight]")).await;
    b.wait_text(".flash", "Weight of 10.0.0.1:80 set to 4 (was 1).")
        .await;
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 4);
    assert_eq!(
        b.count("button[value=delete]").await,
        0,
        "operators do not delete"
    );
    assert_eq!(
        b.count("a[href='/virtual-servers/web/edit']").await,
        0,
        "operators do not edit"
    );
    let csrf = b.csrf().await;
    assert_eq!(
        b.post(
            "/virtual-servers/web/delete",
            &[("_csrf", &csrf), ("confirm", "yes")]
        )
        .await,
        403,
        "a forged delete from an operator"
    );
    b.close().await;
}
