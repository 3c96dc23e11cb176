//! Every page reachable from the dashboard: answers 200, labels each form field, and links only to pages
//! and assets that exist.

use crate::browser::{http_with_session, Browser};
use crate::{create_virtual_server, daemon};
use director_tests::daemon::ADMIN_PASSWORD;
use serde_json::{json, Value};
use std::collections::{BTreeSet, VecDeque};

/// What a page's DOM says about itself.
const INSPECT: &str = r#"
const label = el => {
  if (el.labels && el.labels.length > 0 && [...el.labels].some(l => l.textContent.trim() !== '')) return true;
  if ((el.getAttribute('aria-label') || '').trim() !== '') return true;
  const by = el.getAttribute('aria-labelledby');
  return !!by && by.split(' ').some(id => { const t = document.getElementById(id); return t && t.textContent.trim() !== ''; });
};
const fields = [...document.querySelectorAll('input, select, textarea')]
  .filter(el => !['hidden', 'submit', 'button', 'reset'].includes(el.type));
const unlabelled = fields.filter(el => !label(el)).map(el => el.outerHTML.slice(0, 160));
const nameless = [...document.querySelectorAll('button')]
  .filter(b => b.textContent.trim() === '' && !(b.getAttribute('aria-label') || '').trim())
  .map(b => b.outerHTML.slice(0, 160));
const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
const duplicate_ids = ids.filter((id, i) => ids.indexOf(id) !== i);
const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
const assets = [...document.querySelectorAll('link[href], script[src]')].map(e => e.href || e.src);
return {
  fields: fields.length, unlabelled, nameless, duplicate_ids, links, assets,
  h1: document.querySelectorAll('h1').length, lang: document.documentElement.lang,
  title: document.title,
};
"#;

#[tokio::test]
async fn every_page_labels_its_fields_and_links_only_to_pages_that_exist() {
    let d = daemon().await;
    let (status, body) = d
        .call(
            reqwest::Method::POST,
            "/api/v1/vrrp-groups",
            Some(json!({"name": "vi-1", "vrid": 51, "virtual_addresses": ["192.168.10.180/32"],
                        "interface": "eth0",
                        "members": [{"node": "lvs-01", "priority": 100}, {"node": "lvs-02", "priority": 90}],
                        "track": [{"interface": "eth1", "weight": -30}]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    create_virtual_server(&d, "web", "192.168.10.180", &["10.0.0.1", "10.0.0.2"]).await;
    create_virtual_server(&d, "api", "192.168.10.181", &["10.0.1.1"]).await;
    let (status, body) = d
        .call(
            reqwest::Method::PATCH,
            "/api/v1/virtual-servers/web",
            Some(json!({"vrrp_group": "vi-1"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    d.token_for("operator").await;

    let b = Browser::start(&d).await;
    b.login("admin", ADMIN_PASSWORD).await;
    b.goto("/vrrp-groups/vi-1").await;
    b.screenshot("vrrp-group").await;
    let token = b.session_cookie().await.expect("session cookie");
    let http = http_with_session(&token);
    let origin = d.base.clone();

    let mut queue: VecDeque<String> = VecDeque::from([format!("{origin}/")]);
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut assets: BTreeSet<String> = BTreeSet::new();
    let mut pages = 0;
    let mut problems = Vec::new();
    while let Some(url) = queue.pop_front() {
        pages += 1;
        assert!(pages <= 200, "more than 200 pages: a link loop?");
        let r = http.get(&url).send().await.expect("GET");
        if r.status() != 200 {
            problems.push(format!("{url}: {}", r.status()));
            continue;
        }
        let html = r.text().await.unwrap_or_default();
        assert!(
            html.starts_with("<!doctype html>"),
            "{url} is not an HTML page"
        );
        b.client.goto(&url).await.expect("open in the browser");
        let facts: Value = b.js(INSPECT, vec![]).await;
        for (key, what) in [
            ("unlabelled", "a field without a label"),
            ("nameless", "a button without a name"),
            ("duplicate_ids", "a duplicate id"),
        ] {
            for item in facts[key].as_array().into_iter().flatten() {
                problems.push(format!("{url}: {what}: {item}"));
            }
        }
        if facts["h1"] != 1 {
            problems.push(format!("{url}: {} h1 headings", facts["h1"]));
        }
        if facts["lang"] != "en" {
            problems.push(format!("{url}: no lang"));
        }
        for a in facts["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            assets.insert(a.to_string());
        }
        for link in facts["links"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let link = link.split('#').next().unwrap_or(link).to_string();
            if link.starts_with(&origin) && seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
    for a in &assets {
        let r = http.get(a).send().await.expect("GET asset");
        if r.status() != 200 {
            problems.push(format!("{a}: {}", r.status()));
        }
    }
    let visited: Vec<&String> = seen.iter().collect();
    assert!(
        problems.is_empty(),
        "problems:\n{}\npages: {visited:#?}",
        problems.join("\n")
    );
    // The crawl reached every kind of page.
    for path in [
        "/virtual-servers",
        "/virtual-servers/web",
        "/virtual-servers/web/edit",
        "/virtual-servers/_new",
        "/vrrp-groups",
        "/vrrp-groups/vi-1",
        "/vrrp-groups/vi-1/edit",
        "/vrrp-groups/_new",
        "/hosts",
        "/audit",
        "/users",
    ] {
        assert!(
            seen.contains(&format!("{origin}{path}")),
            "the crawl did not reach {path}: {visited:#?}"
        );
    }
    assert!(assets.iter().any(|a| a.contains("/static/app.css")));
    assert!(assets.iter().any(|a| a.contains("/static/app.js")));
    b.close().await;
}
