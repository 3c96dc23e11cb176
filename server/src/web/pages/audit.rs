//! `/audit`: the audit log, newest first, with filters (object, actor, kind, action, time range, all in
//! UTC) and pages that follow the service's cursor.

use super::AuditRow;
use crate::store::AuditFilter;
use crate::web::error::UiResult;
use crate::web::form::{field_error, Fields, FormState};
use crate::web::ui::{Chrome, Ui};
use askama::Template;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

/// Entries per page.
const PAGE: u32 = 50;

pub const KINDS: [&str; 6] = [
    "virtual_server",
    "real_server",
    "vrrp_group",
    "user",
    "token",
    "login",
];
pub const ACTIONS: [&str; 8] = [
    "create",
    "update",
    "delete",
    "transition",
    "revoke",
    "login",
    "login_failed",
    "logout",
];
const FILTERS: [&str; 6] = ["name", "actor", "kind", "action", "since", "until"];

#[derive(Template)]
#[template(path = "audit.html", config = "../web/templates/askama.toml")]
struct AuditPage {
    chrome: Chrome,
    form: FormState,
    rows: Vec<AuditRow>,
    kinds: Vec<&'static str>,
    actions: Vec<&'static str>,
    filtered: bool,
    paged: bool,
    newest: String,
    older: Option<String>,
}

/// A `datetime-local` value (`2026-11-21T22:00`, read as UTC) as RFC 3339; other text as typed.
fn rfc3339(value: &str) -> String {
    if chrono::DateTime::parse_from_rfc3339(value).is_ok() {
        return value.to_string();
    }
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(value, format) {
            return t
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return t
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        }
    }
    value.to_string()
}

fn link(f: &Fields, cursor: Option<&str>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for name in FILTERS {
        let v = f.text(name);
        if !v.is_empty() {
            s.append_pair(name, v);
        }
    }
    if let Some(c) = cursor {
        s.append_pair("cursor", c);
    }
    let qs = s.finish();
    if qs.is_empty() {
        "/audit".to_string()
    } else {
        format!("/audit?{qs}")
    }
}

/// `GET /audit?name=&actor=&kind=&action=&since=&until=&cursor=`.
pub async fn page(ui: Ui, uri: Uri) -> UiResult<Response> {
    let f = Fields::parse(uri.query().unwrap_or("").as_bytes());
    let opt = |name: &str| Some(f.text(name).to_string()).filter(|v| !v.is_empty());
    let filter = AuditFilter {
        name: opt("name"),
        actor: opt("actor"),
        kind: opt("kind"),
        action: opt("action"),
        since: opt("since").map(|v| rfc3339(&v)),
        until: opt("until").map(|v| rfc3339(&v)),
        cursor: opt("cursor"),
        limit: Some(PAGE),
        ..Default::default()
    };
    let mut form = FormState::new(Fields::from_pairs(
        FILTERS
            .iter()
            .map(|n| (n.to_string(), f.text(n).to_string())),
    ));
    let now = chrono::Utc::now();
    let snapshot = ui.app.service.snapshot();
    let (rows, next, status) = match ui.app.service.audit(ui.actor(), &filter).await {
        Ok((entries, next)) => {
            let rows = entries
                .into_iter()
                .map(|e| {
                    AuditRow::new(e, now, |kind, obj| match kind {
                        "virtual_server" => snapshot.virtual_servers.contains_key(obj),
                        _ => snapshot.vrrp_groups.contains_key(obj),
                    })
                })
                .collect();
            (rows, next, StatusCode::OK)
        }
        Err(e) => match field_error(&e) {
            Some(fe) => {
                let inputs: Vec<String> = FILTERS.iter().map(|s| s.to_string()).collect();
                form.add(fe, &inputs);
                (Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY)
            }
            None => return Err(e.into()),
        },
    };
    let page = AuditPage {
        chrome: ui.chrome("Audit log", "audit"),
        filtered: FILTERS.iter().any(|n| !f.text(n).is_empty()),
        paged: filter.cursor.is_some(),
        newest: link(&f, None),
        older: next.as_deref().map(|c| link(&f, Some(c))),
        form,
        rows,
        kinds: KINDS.to_vec(),
        actions: ACTIONS.to_vec(),
    };
    ui.page_with(status, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_as_utc() {
        assert_eq!(rfc3339("2026-11-21T22:00"), "2026-11-21T22:00:00Z");
        assert_eq!(rfc3339("2026-11-21"), "2026-11-21T00:00:00Z");
        assert_eq!(
            rfc3339("2026-11-21T22:00:00+01:00"),
            "2026-11-21T22:00:00+01:00"
        );
        assert_eq!(rfc3339("yesterday"), "yesterday");
    }

    #[test]
    fn page_links_keep_the_filters() {
        let f = Fields::parse(b"actor=alice&kind=&cursor=9");
        assert_eq!(link(&f, Some("42")), "/audit?actor=alice&cursor=42");
        assert_eq!(link(&Fields::default(), None), "/audit");
    }
}
