//! The layout at 1,280 and 1,920 px: two directors in network namespaces run VRRP for real (this node masters
//! one group and backs up another), and the dashboard, the virtual-server list, a virtual server's page and
//! the VRRP group pages are opened at both widths. Each page is checked for what a user would see (no table
//! wider than its box, nor the page wider than the window; the weight split's legend with a look of its own
//! for each server and no neighbours alike; a role badge per virtual server) and saved as a PNG under the
//! target directory (`browser-screenshots/`) for a person to look at.

use crate::browser::Browser;
use director_tests::daemon::ADMIN_PASSWORD;
use director_tests::netns::{director, Lan};
use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// What overflows sideways on the page: the page itself, or a table wider than the box it is in.
const OVERFLOW: &str = r#"
const out = [];
const doc = document.documentElement;
if (doc.scrollWidth > doc.clientWidth) out.push(`the page: ${doc.scrollWidth} > ${doc.clientWidth}`);
const main = document.querySelector('main').getBoundingClientRect();
for (const t of document.querySelectorAll('main table')) {
  const name = t.getAttribute('aria-labelledby') || t.className || 'table';
  const box = t.closest('.scroll') || t.parentElement;
  if (box.scrollWidth > box.clientWidth) out.push(`${name}: ${box.scrollWidth} > ${box.clientWidth} px`);
  const r = t.getBoundingClientRect();
  if (r.right > main.right + 0.5) out.push(`${name} ends at ${r.right}, the page at ${main.right}`);
}
return {overflow: out, width: window.innerWidth};
"#;

/// The weight split's legend: each entry's colour (the computed fill of its swatch) and pattern.
const LEGEND: &str = r#"
return [...document.querySelectorAll('ul.legend li')].map(li => {
  const colour = getComputedStyle(li.querySelector('svg.swatch rect')).fill;
  const over = li.querySelector('svg.swatch rect.over');
  return {label: li.querySelector('.label').textContent, colour, pattern: over ? over.getAttribute('fill') : ''};
});
"#;

async fn daemon_in(node: &director_tests::netns::Node, name: &str) -> Daemon {
    Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..node.daemon_options(name)
    })
    .await
}

async fn post(d: &Daemon, path: &str, body: Value) {
    let (status, answer) = d.call(Method::POST, path, Some(body)).await;
    assert_eq!(status, 201, "POST {path}: {answer}");
}

/// Resizes the window until the page is `width` CSS pixels wide (the window may have borders).
async fn set_width(b: &Browser, width: u32, height: u32) {
    let mut outer = i64::from(width);
    for _ in 0..3 {
        let w = u32::try_from(outer).expect("a window width");
        b.client
            .set_window_size(w, height)
            .await
            .expect("resize the window");
        let inner = b.js("return window.innerWidth;", vec![]).await;
        let inner = inner.as_i64().expect("innerWidth");
        if inner == i64::from(width) {
            return;
        }
        outer += i64::from(width) - inner;
    }
    panic!("the window could not be made {width} px wide");
}

#[tokio::test]
async fn the_main_pages_fit_at_1280_and_1920_px_and_show_roles_and_the_legend() {
    let mut lan = Lan::create();
    let n1 = lan.add_node(1);
    let n2 = lan.add_node(2);
    let d1 = daemon_in(&n1, "lvs-01").await;
    let d2 = daemon_in(&n2, "lvs-02").await;

    // vi-1: this node (lvs-01) is master; vi-2: lvs-02 is. vi-3 carries many addresses (a wide row).
    let vips3: Vec<_> = (120..126).map(|h| lan.vip(h)).collect();
    let groups = [
        director::group(
            "vi-1",
            51,
            3,
            100,
            &[lan.vip(100)],
            &[("lvs-01", 150), ("lvs-02", 100)],
        ),
        director::group(
            "vi-2",
            52,
            3,
            100,
            &[lan.vip(110)],
            &[("lvs-01", 100), ("lvs-02", 200)],
        ),
        director::group(
            "vi-3",
            53,
            3,
            100,
            &vips3,
            &[("lvs-01", 100), ("lvs-02", 90)],
        ),
    ];
    for g in &groups {
        director::create_group(&d1, g).await;
        director::create_group(&d2, g).await;
    }
    let rs: Vec<Value> = (1..=12)
        .map(|i| json!({"address": format!("10.0.0.{i}"), "port": 80, "weight": 1 + i % 4}))
        .collect();
    for (name, address, group, real_servers) in [
        ("web", lan.vip(100), Some("vi-1"), rs.clone()),
        ("api", lan.vip(110), Some("vi-2"), rs[..2].to_vec()),
        ("mail", lan.vip(120), None, rs[..1].to_vec()),
        (
            "static",
            "192.0.2.10".parse().expect("address"),
            None,
            rs[..3].to_vec(),
        ),
    ] {
        post(
            &d1,
            "/api/v1/virtual-servers",
            json!({"name": name, "protocol": "tcp", "address": address, "port": 80, "scheduler": "wrr",
                   "vrrp_group": group, "real_servers": real_servers}),
        )
        .await;
    }
    let within = Duration::from_secs(20);
    director::wait_role(&d1, "vi-1", "master", within).await;
    director::wait_role(&d2, "vi-2", "master", within).await;
    director::wait_role(&d1, "vi-2", "backup", within).await;
    director::wait_role(&d1, "vi-3", "master", within).await;

    let b = Browser::start(&d1).await;
    b.login("admin", ADMIN_PASSWORD).await;

    // Roles: one badge per virtual server carried by a group, none for the others.
    b.goto("/virtual-servers").await;
    for (name, badge) in [
        ("web", Some("served here")),
        ("api", Some("backup here")),
        ("mail", Some("served here")),
        ("static", None),
    ] {
        let row = format!("//tbody/tr[th/a[text()='{name}']]");
        let found = b
            .client
            .find_all(fantoccini::Locator::XPath(&format!(
                "{row}//span[contains(@class,'here')]"
            )))
            .await
            .expect("find badges");
        let texts = futures_text(found).await;
        assert_eq!(
            texts,
            badge.map(|t| vec![t.to_string()]).unwrap_or_default(),
            "{name}"
        );
    }

    // The legend: twelve servers, each its own look, neighbours never of one colour.
    b.goto("/virtual-servers/web").await;
    let legend = b.js(LEGEND, vec![]).await;
    let legend = legend.as_array().expect("legend entries");
    assert_eq!(legend.len(), 12, "{legend:?}");
    let looks: std::collections::BTreeSet<(String, String)> = legend
        .iter()
        .map(|l| (l["colour"].to_string(), l["pattern"].to_string()))
        .collect();
    assert_eq!(looks.len(), 12, "each server looks different: {legend:?}");
    for pair in legend.windows(2) {
        assert_ne!(pair[0]["colour"], pair[1]["colour"], "neighbours: {pair:?}");
    }
    let colours: std::collections::BTreeSet<String> =
        legend.iter().map(|l| l["colour"].to_string()).collect();
    assert_eq!(
        colours.len(),
        10,
        "the whole palette is used before patterns"
    );

    // Every page at both widths: nothing overflows sideways; a screenshot of each.
    for width in [1280, 1920] {
        set_width(&b, width, 1200).await;
        for (path, name) in [
            ("/", "dashboard"),
            ("/virtual-servers", "virtual-servers"),
            ("/virtual-servers/web", "virtual-server"),
            ("/vrrp-groups", "vrrp-groups"),
            ("/vrrp-groups/vi-3", "vrrp-group"),
            ("/vrrp-groups/vi-1/edit", "vrrp-group-edit"),
        ] {
            b.goto(path).await;
            b.find("main h1").await;
            if path == "/" {
                // The VRRP table is whole: every group, its role and its last address.
                let table = b.wait_text("#status table.vrrp", "vi-3").await;
                assert!(table.contains(&lan.vip(125).to_string()), "{table}");
                assert!(table.contains("backup"), "{table}");
            }
            let facts = b.js(OVERFLOW, vec![]).await;
            assert_eq!(facts["width"], width, "{path}");
            assert_eq!(
                facts["overflow"],
                json!([]),
                "{path} at {width} px overflows sideways"
            );
            b.screenshot(&format!("{name}-{width}")).await;
        }
    }
    b.close().await;
    drop(d2);
    drop(d1);
}

async fn futures_text(elements: Vec<fantoccini::elements::Element>) -> Vec<String> {
    let mut out = Vec::new();
    for e in elements {
        out.push(e.text().await.expect("text"));
    }
    out
}
