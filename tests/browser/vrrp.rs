//! VRRP groups in the UI: an admin creates a group through the form (a bad value is shown next to its input
//! with everything typed kept, and nothing is created), edits its members, tracks and connection sync, and
//! deletes it after confirming; the API sees each change, audited as via ui. Only admins are offered the
//! forms, and a forged post from an operator is refused, as REST refuses it.

use crate::browser::Browser;
use crate::{audit_len, create_virtual_server, daemon};
use director_tests::daemon::ADMIN_PASSWORD;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_admin_creates_edits_and_deletes_a_vrrp_group_and_errors_land_next_to_their_inputs() {
    let d = daemon().await;
    create_virtual_server(&d, "web", "192.168.10.180", &["10.0.0.1"]).await;
    let b = Browser::start(&d).await;
    b.login("admin", ADMIN_PASSWORD).await;

    b.goto("/vrrp-groups").await;
    b.click("a[href='/vrrp-groups/_new']").await;
    b.wait_path("/vrrp-groups/_new").await;
    b.fill("#f-name", "vi-1").await;
    b.fill("#f-vrid", "51").await;
    b.fill("#f-virtual_addresses", "192.168.10.180, 192.168.10.190/24")
        .await;
    b.fill("#f-interface", "eth0").await;
    b.select("#f-auth-type", "pass").await;
    b.fill("#f-auth-password", "s3cret").await;
    b.fill("#f-members-0--node", "lvs-01").await;
    b.fill("#f-members-0--priority", "150").await;
    // The second member's priority is out of range: the service refuses it, as REST would.
    b.fill("#f-members-1--node", "lvs-02").await;
    b.fill("#f-members-1--priority", "300").await;
    b.fill("#f-members-1--interface", "ens33").await;
    b.select("#f-track-0--kind", "virtual_server").await;
    b.fill("#f-track-0--target", "web").await;
    b.fill("#f-track-0--weight", "-20").await;
    b.fill("#f-connection_sync-interface", "eth1").await;
    b.screenshot("vrrp-group-form").await;
    b.click("form.vrrp-form button.primary").await;

    let error = b
        .wait_text("#f-members-1--priority-err", "between 1 and 255")
        .await;
    assert!(error.contains("300"), "{error}");
    assert_eq!(
        b.attr("#f-members-1--priority", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        b.count(".error-summary a[href='#f-members-1--priority']")
            .await,
        1
    );
    assert_eq!(b.count("p.error").await, 1, "one error, on its input");
    // Everything typed is kept (the password too: it was typed, not stored).
    for (input, value) in [
        ("#f-name", "vi-1"),
        ("#f-vrid", "51"),
        ("#f-virtual_addresses", "192.168.10.180, 192.168.10.190/24"),
        ("#f-members-1--node", "lvs-02"),
        ("#f-members-1--priority", "300"),
        ("#f-members-1--interface", "ens33"),
        ("#f-track-0--target", "web"),
        ("#f-track-0--weight", "-20"),
        ("#f-connection_sync-interface", "eth1"),
        ("#f-auth-type", "pass"),
    ] {
        assert_eq!(
            b.prop(input, "value").await.as_deref(),
            Some(value),
            "{input}"
        );
    }
    b.screenshot("vrrp-group-form-error").await;
    let (_, list) = d.call(Method::GET, "/api/v1/vrrp-groups", None).await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(0),
        "nothing was created"
    );

    // An unreadable number is named as REST names it.
    b.fill("#f-members-1--priority", "90").await;
    b.fill("#f-connection_sync-sync_id", "256").await;
    b.click("form.vrrp-form button.primary").await;
    b.wait_text("#f-connection_sync-sync_id-err", "255").await;

    // Fixed, it is created.
    b.fill("#f-connection_sync-sync_id", "").await;
    b.click("form.vrrp-form button.primary").await;
    b.wait_path("/vrrp-groups/vi-1").await;
    b.wait_text(".flash", "Created VRRP group vi-1 (VRID 51).")
        .await;
    let g = d.get("/api/v1/vrrp-groups/vi-1").await;
    assert_eq!(
        g["virtual_addresses"],
        json!(["192.168.10.180/32", "192.168.10.190/24"])
    );
    assert_eq!(g["members"][1]["priority"], 90);
    assert_eq!(g["members"][1]["interface"], "ens33");
    assert_eq!(
        g["track"],
        json!([{"virtual_server": "web", "weight": -20}])
    );
    assert_eq!(g["connection_sync"], json!({"interface": "eth1"}));
    assert_eq!(g["auth"], json!({"type": "pass", "password": "s3cret"}));
    b.wait_text("table[aria-labelledby=h-members]", "lvs-02")
        .await;
    b.screenshot("vrrp-group").await;

    // Edit: a member's sync interface, a third member, another track; the password left empty is kept.
    b.click("a[href='/vrrp-groups/vi-1/edit']").await;
    b.wait_path("/vrrp-groups/vi-1/edit").await;
    assert_eq!(
        b.prop("#f-auth-password", "value").await.as_deref(),
        Some(""),
        "never shown"
    );
    assert_eq!(
        b.prop("#f-members-0--node", "value").await.as_deref(),
        Some("lvs-01")
    );
    b.fill("#f-members-1--sync_interface", "bond1").await;
    b.fill("#f-members-2--node", "lvs-03").await;
    b.fill("#f-members-2--interface", "eth0").await;
    b.select("#f-track-1--kind", "script").await;
    b.fill("#f-track-1--target", "/usr/local/bin/check-haproxy -q")
        .await;
    b.fill("#f-track-1--weight", "-50").await;
    b.fill("#f-connection_sync-mcast_port", "8849").await;
    b.click("form.vrrp-form button.primary").await;
    b.wait_path("/vrrp-groups/vi-1").await;
    b.wait_text(".flash", "Saved VRRP group vi-1.").await;
    let g = d.get("/api/v1/vrrp-groups/vi-1").await;
    assert_eq!(g["members"].as_array().map(Vec::len), Some(3));
    assert_eq!(g["members"][1]["sync_interface"], "bond1");
    assert_eq!(
        g["track"][1],
        json!({"script": ["/usr/local/bin/check-haproxy", "-q"], "weight": -50})
    );
    assert_eq!(
        g["connection_sync"],
        json!({"interface": "eth1", "mcast_port": 8849})
    );
    assert_eq!(
        g["auth"]["password"], "s3cret",
        "an empty password keeps the stored one"
    );
    b.wait_text("table[aria-labelledby=h-members]", "bond1")
        .await;

    // A bad edit is refused next to its input and changes nothing.
    b.click("a[href='/vrrp-groups/vi-1/edit']").await;
    b.fill("#f-track-0--target", "nosuch").await;
    b.click("form.vrrp-form button.primary").await;
    let error = b.wait_text("#f-track-0--target-err", "nosuch").await;
    assert!(error.contains("no virtual server"), "{error}");
    assert_eq!(
        d.get("/api/v1/vrrp-groups/vi-1").await["track"][0]["virtual_server"],
        "web"
    );

    // The audit log names the UI.
    let audit = d.get("/api/v1/audit?kind=vrrp_group&name=vi-1").await;
    let vias: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["via"].as_str())
        .collect();
    assert_eq!(vias, ["ui", "ui"], "a create and an update: {audit}");

    // Delete, after confirming in the dialog; a group a virtual server uses is refused, saying why.
    let (status, body) = d
        .call(
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"vrrp_group": "vi-1"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    b.goto("/vrrp-groups/vi-1").await;
    b.click("form[action='/vrrp-groups/vi-1/delete'] button")
        .await;
    b.wait_text("dialog.confirm[open] p", "Delete VRRP group vi-1?")
        .await;
    b.click("dialog.confirm[open] button[value=ok]").await;
    b.wait_text(".flash.error", "used by virtual server \"web\"")
        .await;
    assert_eq!(b.path().await, "/vrrp-groups/vi-1");
    let (status, _) = d
        .call(
            Method::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"vrrp_group": null})),
        )
        .await;
    assert_eq!(status, 200);
    b.goto("/vrrp-groups/vi-1").await;
    b.click("form[action='/vrrp-groups/vi-1/delete'] button")
        .await;
    b.wait_text("dialog.confirm[open] p", "Delete VRRP group vi-1?")
        .await;
    b.click("dialog.confirm[open] button[value=ok]").await;
    b.wait_path("/vrrp-groups").await;
    b.wait_text(".flash", "Deleted VRRP group vi-1.").await;
    let (status, _) = d.call(Method::GET, "/api/v1/vrrp-groups/vi-1", None).await;
    assert_eq!(status, 404);
    b.close().await;
}

#[tokio::test]
async fn only_admins_are_offered_the_vrrp_forms_and_a_forged_post_is_refused() {
    let d = daemon().await;
    let (status, body) = d
        .call(
            Method::POST,
            "/api/v1/vrrp-groups",
            Some(
                json!({"name": "vi-1", "vrid": 51, "virtual_addresses": ["192.168.10.180"],
                        "interface": "eth0"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    d.token_for("operator").await;
    let b = Browser::start(&d).await;
    b.login("operator-user", "operator-password").await;
    b.goto("/vrrp-groups").await;
    assert_eq!(
        b.count("a[href='/vrrp-groups/_new']").await,
        0,
        "no creation link"
    );
    b.goto("/vrrp-groups/vi-1").await;
    b.wait_text("h1", "VRRP group vi-1").await;
    assert_eq!(
        b.count("a[href='/vrrp-groups/vi-1/edit']").await,
        0,
        "no edit link"
    );
    assert_eq!(
        b.count("form[action='/vrrp-groups/vi-1/delete']").await,
        0,
        "no delete"
    );
    b.goto("/vrrp-groups/_new").await;
    b.wait_text("h1", "Not allowed").await;

    let before = audit_len(&d).await;
    b.goto("/vrrp-groups/vi-1").await;
    let csrf = b.csrf().await;
    for (path, fields) in [
        (
            "/vrrp-groups",
            vec![
                ("name", "evil"),
                ("vrid", "9"),
                ("virtual_addresses", "10.9.9.9"),
                ("interface", "eth0"),
            ],
        ),
        (
            "/vrrp-groups/vi-1",
            vec![("vrid", "52"), ("virtual_addresses", "10.9.9.9")],
        ),
        ("/vrrp-groups/vi-1/delete", vec![("confirm", "yes")]),
    ] {
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend(fields);
        assert_eq!(b.post(path, &all).await, 403, "POST {path} as an operator");
    }
    // Without the session's CSRF token even an admin's post is refused.
    assert_eq!(audit_len(&d).await, before, "nothing was written");
    assert_eq!(d.get("/api/v1/vrrp-groups/vi-1").await["vrid"], 51);
    b.close().await;
}

#[tokio::test]
async fn a_vrrp_form_without_its_csrf_token_is_refused() {
    let d = daemon().await;
    let b = Browser::start(&d).await;
    b.login("admin", ADMIN_PASSWORD).await;
    b.goto("/vrrp-groups/_new").await;
    let status = b
        .post(
            "/vrrp-groups",
            &[
                ("name", "vi-9"),
                ("vrid", "9"),
                ("virtual_addresses", "10.9.9.9"),
                ("interface", "eth0"),
            ],
        )
        .await;
    assert_eq!(status, 403);
    let (_, list) = d.call(Method::GET, "/api/v1/vrrp-groups", None).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
    b.close().await;
}
