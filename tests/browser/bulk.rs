//! Bulk actions on a virtual server's page: an operator selects real servers and drains, disables, enables or
//! undrains them at once; each real server is its own change (one revision and one audit entry each, as one
//! REST call per real server would make), and the page says which succeeded and which failed, and why.

use crate::browser::{http_with_session, Browser};
use crate::{audit_len, create_virtual_server, daemon, weight};
use reqwest::Method;

/// Whether the real server is enabled, as the API reports it.
async fn enabled(d: &director_tests::Daemon, vs: &str, endpoint: &str) -> bool {
    d.get(&format!(
        "/api/v1/virtual-servers/{vs}/real-servers/{endpoint}"
    ))
    .await["enabled"]
        .as_bool()
        .expect("enabled")
}

#[tokio::test]
async fn an_operator_drains_disables_enables_and_undrains_a_selection_of_real_servers() {
    let d = daemon().await;
    create_virtual_server(
        &d,
        "web",
        "192.168.10.180",
        &["10.0.0.1", "10.0.0.2", "10.0.0.3"],
    )
    .await;
    d.token_for("operator").await;
    let b = Browser::start(&d).await;
    b.login("operator-user", "operator-password").await;
    b.goto("/virtual-servers/web").await;
    let before = audit_len(&d).await;

    // Drain two of three, confirming in the dialog.
    b.click("input[name=rs][value='10.0.0.1:80']").await;
    b.click("input[name=rs][value='10.0.0.3:80']").await;
    b.click("form#bulk button[value=drain]").await;
    b.wait_text("dialog.confirm[open] p", "Drain the selected real servers?")
        .await;
    b.click("dialog.confirm[open] button[value=ok]").await;
    let result = b.wait_text(".bulk-result h3", "Drain: 2 of 2 done").await;
    assert!(!result.contains("failed"), "{result}");
    let items = b.text(".bulk-result ul").await;
    assert!(
        items.contains("Drained 10.0.0.1:80 (weight 1 -> 0)."),
        "{items}"
    );
    assert!(
        items.contains("Drained 10.0.0.3:80 (weight 1 -> 0)."),
        "{items}"
    );
    b.screenshot("bulk-drain").await;
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 0);
    assert_eq!(weight(&d, "web", "10.0.0.2:80").await, 1, "not selected");
    assert_eq!(weight(&d, "web", "10.0.0.3:80").await, 0);

    // One audit entry per real server, each its own change, as REST's PATCH records it.
    assert_eq!(audit_len(&d).await, before + 2);
    let audit = d.get("/api/v1/audit?kind=real_server&field=weight").await;
    let entries: Vec<(String, String, String, u64)> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["object"].as_str().unwrap_or_default().to_string(),
                e["summary"].as_str().unwrap_or_default().to_string(),
                e["via"].as_str().unwrap_or_default().to_string(),
                e["revision"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(entries.len(), 2, "{audit}");
    let mut objects: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    objects.sort();
    assert_eq!(objects, ["web/10.0.0.1:80", "web/10.0.0.3:80"]);
    for (_, summary, via, _) in &entries {
        assert_eq!((summary.as_str(), via.as_str()), ("weight 1 -> 0", "ui"));
    }
    assert_ne!(entries[0].3, entries[1].3, "a revision each");
    let actors: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert_eq!(actors, ["operator-user", "operator-user"]);

    // Disable two, one of which is deleted meanwhile: one done, one failed, and why.
    b.goto("/virtual-servers/web").await;
    b.click("input[name=rs][value='10.0.0.1:80']").await;
    b.click("input[name=rs][value='10.0.0.2:80']").await;
    let (status, _) = d
        .call(
            Method::DELETE,
            "/api/v1/virtual-servers/web/real-servers/10.0.0.2:80",
            None,
        )
        .await;
    assert_eq!(status, 204);
    b.click("form#bulk button[value=disable]").await;
    b.wait_text(
        "dialog.confirm[open] p",
        "Disable the selected real servers?",
    )
    .await;
    b.click("dialog.confirm[open] button[value=ok]").await;
    let result = b
        .wait_text(".bulk-result h3", "Disable: 1 of 2 done, 1 failed")
        .await;
    assert!(result.contains("1 failed"), "{result}");
    let failed = b.text(".bulk-result li.failed").await;
    assert!(
        failed.contains("10.0.0.2:80") && failed.contains("not found"),
        "{failed}"
    );
    let done = b.text(".bulk-result li.ok").await;
    assert!(done.contains("Disabled 10.0.0.1:80."), "{done}");
    b.screenshot("bulk-partial-failure").await;
    assert!(!enabled(&d, "web", "10.0.0.1:80").await);

    // Enable and undrain: no question asked; a server that was not drained says so.
    b.goto("/virtual-servers/web").await;
    b.click("input[name=rs][value='10.0.0.1:80']").await;
    b.click("form#bulk button[value=enable]").await;
    b.wait_text(".bulk-result h3", "Enable: 1 of 1 done").await;
    assert!(enabled(&d, "web", "10.0.0.1:80").await);
    b.goto("/virtual-servers/web").await;
    b.click("input[name=rs][value='10.0.0.1:80']").await;
    b.click("input[name=rs][value='10.0.0.3:80']").await;
    b.click("form#bulk button[value=undrain]").await;
    let items = b
        .wait_text(".bulk-result ul", "Undrained 10.0.0.3:80: weight 1.")
        .await;
    assert!(
        items.contains("Undrained 10.0.0.1:80: weight 1."),
        "{items}"
    );
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 1);
    assert_eq!(weight(&d, "web", "10.0.0.3:80").await, 1);

    // Nothing selected: nothing happens, and the page says what to do.
    b.goto("/virtual-servers/web").await;
    let before = audit_len(&d).await;
    b.click("form#bulk button[value=enable]").await;
    b.wait_text(".flash.error", "Select the real servers to enable first.")
        .await;
    assert_eq!(audit_len(&d).await, before);

    // Without JavaScript a drain asks on a page that carries the selection, and changes nothing until then.
    let token = b.session_cookie().await.expect("session cookie");
    let csrf = b.csrf().await;
    let page = http_with_session(&token)
        .post(d.url("/virtual-servers/web/bulk"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("do", "drain"),
            ("rs", "10.0.0.1:80"),
            ("rs", "10.0.0.3:80"),
        ])
        .send()
        .await
        .expect("POST bulk");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("confirmation page");
    assert!(html.contains("Drain 2 real servers of web?"), "{html}");
    assert!(html.contains("name=\"rs\" value=\"10.0.0.3:80\""), "{html}");
    assert!(html.contains("name=\"confirm\" value=\"yes\""), "{html}");
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 1);
    assert_eq!(audit_len(&d).await, before);
    b.close().await;
}

#[tokio::test]
async fn a_viewer_gets_no_selection_and_a_forged_bulk_action_is_refused() {
    let d = daemon().await;
    create_virtual_server(&d, "web", "192.168.10.180", &["10.0.0.1", "10.0.0.2"]).await;
    d.token_for("viewer").await;
    let b = Browser::start(&d).await;
    b.login("viewer-user", "viewer-password").await;
    b.goto("/virtual-servers/web").await;
    b.wait_text("table.rs", "10.0.0.2:80").await;
    assert_eq!(b.count("input[name=rs]").await, 0, "no selection boxes");
    assert_eq!(b.count("form#bulk").await, 0, "no bulk buttons");
    let before = audit_len(&d).await;
    let csrf = b.csrf().await;
    let status = b
        .post(
            "/virtual-servers/web/bulk",
            &[
                ("_csrf", &csrf),
                ("do", "drain"),
                ("rs", "10.0.0.1:80"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(weight(&d, "web", "10.0.0.1:80").await, 1);
    assert_eq!(audit_len(&d).await, before);
    b.close().await;
}
