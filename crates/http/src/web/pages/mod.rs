//! One module per page, and what several pages show the same way (health, audit entries, links).

pub mod audit;
pub mod connections;
pub mod dashboard;
pub mod hosts;
pub mod login;
pub mod real_servers;
pub mod users;
pub mod virtual_servers;
pub mod vrrp_groups;

use super::ui::{ago, when};
use director_core::model::{RealServer, RealServerKey, VirtualServer};
use director_core::state::VirtualServerRecord;
use director_runtime::views::RealServerView;
use director_service::store::AuditEntry;
use serde_json::Value;

/// A real server's health as the page shows it: whatever the API's view carries.
#[derive(Debug, Clone, Default)]
pub struct HealthCell {
    /// up, down, unknown...
    pub status: String,
    pub since: String,
    pub since_ago: String,
    /// The last error of the check, if the view has one.
    pub error: Option<String>,
    /// Anything else the view reports, as `name: value`.
    pub extra: Vec<String>,
}

impl HealthCell {
    pub fn is(&self, status: &str) -> bool {
        self.status == status
    }
}

/// Reads real servers' health as the API's `RealServerView` reports it (the checker's state where a check
/// runs).
pub struct Healths {
    started_at: String,
    snapshot: director_runtime::health::HealthSnapshot,
    now: chrono::DateTime<chrono::Utc>,
}

impl Healths {
    pub fn new(app: &crate::state::AppState, now: chrono::DateTime<chrono::Utc>) -> Self {
        Healths {
            started_at: app.runtime.started_at.clone(),
            snapshot: app.health.snapshot(),
            now,
        }
    }

    pub fn of(
        &self,
        record: &VirtualServerRecord,
        vs: &VirtualServer,
        rs: &RealServer,
    ) -> HealthCell {
        // Only the health is read; the spec is withheld all the same.
        let view = RealServerView::new(
            record,
            vs,
            rs.clone(),
            &self.started_at,
            director_core::secrets::Visibility::Redacted,
        )
        .with_health(&vs.name, &self.snapshot);
        cell(
            serde_json::to_value(&view.health).unwrap_or(Value::Null),
            self.now,
        )
    }
}

/// A health view (as JSON, so that whatever it carries is shown) as a cell.
fn cell(value: Value, now: chrono::DateTime<chrono::Utc>) -> HealthCell {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut c = HealthCell::default();
    let Value::Object(map) = value else {
        return c;
    };
    for (k, v) in map {
        match (k.as_str(), &v) {
            (_, Value::Null) => {}
            ("status", _) => c.status = text(&v),
            ("since", _) => c.since = text(&v),
            ("last_error" | "error", _) => c.error = Some(text(&v)).filter(|e| !e.is_empty()),
            ("last_check", _) => c.extra.push(format!("checked {}", ago(&text(&v), now))),
            ("last_latency_ms", Value::Number(n)) => {
                c.extra.push(format!("{:.1} ms", n.as_f64().unwrap_or(0.0)))
            }
            ("consecutive_failures", Value::Number(n)) if n.as_u64().unwrap_or(0) > 0 => {
                c.extra.push(format!("{n} failed in a row"))
            }
            ("dynamic_weight", _) => c.extra.push(format!("dynamic weight {}", text(&v))),
            ("consecutive_failures" | "consecutive_successes" | "checks", _) => {}
            _ => c
                .extra
                .push(format!("{}: {}", k.replace('_', " "), text(&v))),
        }
    }
    c.since_ago = ago(&c.since, now);
    c
}

/// The path of a real server's actions: `/virtual-servers/web/real-servers/10.0.0.1:80` (IPv6 brackets
/// percent-encoded).
pub fn real_server_path(vs: &str, key: &RealServerKey) -> String {
    let endpoint = key.to_string().replace('[', "%5B").replace(']', "%5D");
    format!("/virtual-servers/{vs}/real-servers/{endpoint}")
}

/// The actions a selection of real servers takes, each with the question it asks first (empty: none).
pub const BULK_ACTIONS: [(&str, &str); 4] = [
    (
        "drain",
        "Drain the selected real servers? They get no new connections; the open ones finish.",
    ),
    ("undrain", ""),
    ("enable", ""),
    (
        "disable",
        "Disable the selected real servers? They leave the kernel table and their connections are cut.",
    ),
];

/// What a bulk action did to one real server.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub endpoint: String,
    pub ok: bool,
    /// What changed, or why it failed.
    pub message: String,
}

/// The result of a bulk action, shown above the real servers.
#[derive(Debug, Clone)]
pub struct BulkResult {
    pub action: String,
    pub outcomes: Vec<Outcome>,
}

impl BulkResult {
    pub fn succeeded(&self) -> usize {
        self.outcomes.iter().filter(|o| o.ok).count()
    }

    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.succeeded()
    }
}

/// An audit entry as a row.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub when: String,
    pub ago: String,
    pub actor: String,
    pub via: String,
    pub node: String,
    pub action: String,
    pub kind: String,
    pub object: String,
    /// The page of the object, if it has one.
    pub link: Option<String>,
    pub summary: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl AuditRow {
    pub fn new(
        e: AuditEntry,
        now: chrono::DateTime<chrono::Utc>,
        exists: impl Fn(&str, &str) -> bool,
    ) -> Self {
        let link = match e.kind.as_str() {
            "virtual_server" if exists("virtual_server", &e.object) => {
                Some(format!("/virtual-servers/{}", e.object))
            }
            "real_server" => e
                .object
                .split_once('/')
                .filter(|(vs, _)| exists("virtual_server", vs))
                .map(|(vs, _)| format!("/virtual-servers/{vs}")),
            "vrrp_group" if exists("vrrp_group", &e.object) => {
                Some(format!("/vrrp-groups/{}", e.object))
            }
            _ => None,
        };
        let pretty = |v: Option<Value>| {
            v.filter(|v| !v.is_null())
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
        };
        AuditRow {
            id: e.id,
            when: when(&e.at),
            ago: ago(&e.at, now),
            at: e.at,
            actor: e.actor,
            via: e.via,
            node: e.node,
            action: e.action,
            kind: e.kind.replace('_', " "),
            object: e.object,
            link,
            summary: e.summary,
            before: pretty(e.before),
            after: pretty(e.after),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_health_cell_shows_what_the_view_carries() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T22:10:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let c = cell(
            serde_json::json!({"status": "down", "since": "2026-11-21T22:09:00Z",
                "last_error": "connect refused", "last_check": "2026-11-21T22:09:58Z",
                "consecutive_failures": 3, "consecutive_successes": 0, "checks": 9,
                "last_latency_ms": 1.25, "probe": "tcp"}),
            now,
        );
        assert_eq!(c.status, "down");
        assert_eq!(c.since_ago, "60 s ago");
        assert_eq!(c.error.as_deref(), Some("connect refused"));
        let mut extra = c.extra.clone();
        extra.sort();
        assert_eq!(
            extra,
            [
                "1.2 ms",
                "3 failed in a row",
                "checked 2 s ago",
                "probe: tcp"
            ]
        );
    }

    #[test]
    fn real_server_paths_escape_brackets() {
        let k: RealServerKey = "[2001:db8::1]:80".parse().unwrap();
        assert_eq!(
            real_server_path("web", &k),
            "/virtual-servers/web/real-servers/%5B2001:db8::1%5D:80"
        );
    }
}

/// A page asking to confirm an action that takes traffic away or deletes something (the no-JavaScript
/// fallback of the confirmation dialog): the same form again, with `confirm=yes`.
#[derive(askama::Template)]
#[template(path = "confirm.html", config = "../../web/templates/askama.toml")]
pub struct ConfirmPage {
    pub chrome: super::ui::Chrome,
    pub heading: String,
    pub message: String,
    pub action: String,
    /// Hidden fields to send again (besides the CSRF token and `confirm`).
    pub fields: Vec<(String, String)>,
    pub button: String,
    pub cancel: String,
}
