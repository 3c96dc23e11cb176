//! `/audit`: the audit log, newest first, with filters (object, actor, field, kind, action, via, source,
//! time range in UTC) and pages that follow the service's cursor. Without a source it shows what the API
//! shows: the changes, or every stream when a via is chosen; the health and VRRP transitions are a choice
//! of the source filter.

use super::AuditRow;
use crate::web::error::UiResult;
use crate::web::form::{field_error, filter_link, Fields, FormState};
use crate::web::ui::{Chrome, Ui};
use askama::Template;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use director_service::store::{AuditFilter, Source};
use director_service::Via;

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
const FILTERS: [&str; 10] = [
    "name", "object", "actor", "field", "kind", "action", "via", "source", "since", "until",
];

#[derive(Template)]
#[template(path = "audit.html", config = "../../web/templates/askama.toml")]
struct AuditPage {
    chrome: Chrome,
    form: FormState,
    rows: Vec<AuditRow>,
    kinds: Vec<&'static str>,
    actions: Vec<&'static str>,
    vias: Vec<String>,
    sources: Vec<String>,
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
    filter_link("/audit", &FILTERS, f, cursor)
}

/// The options of a select: `known`, and the value of the query string if it is none of them (a link may
/// carry `source=health,vrrp`), so that the form shows the filter that is applied.
fn options(known: impl IntoIterator<Item = &'static str>, current: &str) -> Vec<String> {
    let mut out: Vec<String> = known.into_iter().map(str::to_string).collect();
    if !current.is_empty() && !out.iter().any(|o| o == current) {
        out.push(current.to_string());
    }
    out
}

/// `GET /audit?name=&object=&actor=&field=&kind=&action=&via=&source=&since=&until=&cursor=`.
pub async fn page(ui: Ui, uri: Uri) -> UiResult<Response> {
    let f = Fields::parse(uri.query().unwrap_or("").as_bytes());
    let opt = |name: &str| Some(f.text(name).to_string()).filter(|v| !v.is_empty());
    let filter = AuditFilter {
        name: opt("name"),
        object: opt("object"),
        actor: opt("actor"),
        field: opt("field"),
        kind: opt("kind"),
        action: opt("action"),
        via: opt("via"),
        source: opt("source"),
        since: opt("since").map(|v| rfc3339(&v)),
        until: opt("until").map(|v| rfc3339(&v)),
        cursor: opt("cursor"),
        limit: Some(PAGE),
    };
    let form = Fields::from_pairs(
        FILTERS
            .iter()
            .map(|n| (n.to_string(), f.text(n).to_string())),
    );
    let vias = options(Via::ALL.iter().map(|v| v.as_str()), f.text("via"));
    let sources = options(
        Source::ALL
            .iter()
            .map(|s| s.as_str())
            .chain([Source::EVERY]),
        f.text("source"),
    );
    let mut form = FormState::new(form);
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
        vias,
        sources,
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
        let f = Fields::parse(b"field=weight&object=web%2F10.0.0.1%3A80&via=ui&source=all");
        assert_eq!(
            link(&f, None),
            "/audit?object=web%2F10.0.0.1%3A80&field=weight&via=ui&source=all"
        );
    }

    #[test]
    fn a_select_offers_the_value_of_the_query_too() {
        assert_eq!(options(["a", "b"], ""), ["a", "b"]);
        assert_eq!(options(["a", "b"], "b"), ["a", "b"]);
        assert_eq!(options(["a", "b"], "a,b"), ["a", "b", "a,b"]);
    }
}
