//! Health transitions in the audit log, a stream of their own (`source: health`): `via: health`, the node as
//! the actor, the real server as the object. The first results after the daemon starts are one entry
//! ([`super::start_burst`]).

use super::start_burst::{self, Release};
use super::{Actor, Result, Service, Via};
use crate::store::NewAuditEntry;
use director_core::model::Role;
use director_health::{Status, TargetId, Transition};
use serde_json::{json, Map, Value};

/// What the health feed writes: one transition, or the first results at start.
pub type HealthRelease = Release<TargetId, Transition>;

impl Service {
    /// Records transitions (`up -> down` with the error, and the like) and bursts of first results, in one
    /// transaction (thousands arrive at once when a daemon starts). Changes no desired state and no revision.
    pub async fn record_health(&self, releases: &[HealthRelease]) -> Result<()> {
        let entries: Vec<_> = releases
            .iter()
            .map(|r| match r {
                Release::One(t) => self.health_entry(t),
                Release::Burst { results, waiting } => self.health_burst_entry(results, waiting),
            })
            .collect();
        self.store().record_many(&entries).await?;
        Ok(())
    }

    fn health_actor(&self) -> Actor {
        Actor::new(self.node().to_string(), Role::Admin, Via::Health)
    }

    fn health_entry(&self, t: &Transition) -> NewAuditEntry {
        let mut e = self.audit_entry(
            &self.health_actor(),
            "transition",
            "real_server",
            t.id.to_string(),
        );
        e.fields = vec!["health".into()];
        e.before = Some(json!({"health": t.from.as_str()}));
        e.after = Some(json!({"health": t.to.as_str()}));
        e.summary = match &t.error {
            Some(err) => format!("health {} -> {}: {err}", t.from.as_str(), t.to.as_str()),
            None => format!("health {} -> {}", t.from.as_str(), t.to.as_str()),
        };
        e.at = rfc3339(t.at);
        e
    }

    /// One entry for the first results at start: the object is their virtual server (`*` when they belong
    /// to several), `after.real_servers` holds each one's health (and error), the summary counts them.
    fn health_burst_entry(&self, results: &[Transition], waiting: &[TargetId]) -> NewAuditEntry {
        let mut e = self.audit_entry(
            &self.health_actor(),
            "transition",
            "real_server",
            burst_object(results.iter().map(|t| &t.id).chain(waiting)),
        );
        let mut servers = Map::new();
        for t in results {
            let mut v = json!({"health": t.to.as_str()});
            if let Some(err) = &t.error {
                v["error"] = Value::String(err.clone());
            }
            servers.insert(t.id.to_string(), v);
        }
        for id in waiting {
            servers.insert(id.to_string(), json!({"health": Status::Unknown.as_str()}));
        }
        e.fields = vec!["health".into()];
        e.before = Some(json!({"health": Status::Unknown.as_str()}));
        e.after = Some(json!({ "real_servers": servers }));
        e.summary = burst_summary(results.iter().map(|t| t.to), waiting.len());
        if let Some(last) = results.iter().map(|t| t.at).max() {
            e.at = rfc3339(last);
        }
        e
    }
}

fn rfc3339(at: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The virtual server all `ids` belong to, or `*`.
fn burst_object<'a>(mut ids: impl Iterator<Item = &'a TargetId>) -> String {
    let Some(first) = ids.next() else {
        return "*".into();
    };
    if ids.all(|id| id.virtual_server == first.virtual_server) {
        first.virtual_server.clone()
    } else {
        "*".into()
    }
}

/// `health: 151 real servers unknown -> up, 2 unknown -> down, 1 still unknown`.
fn burst_summary(to: impl Iterator<Item = Status>, waiting: usize) -> String {
    let (mut up, mut down) = (0, 0);
    for status in to {
        match status {
            Status::Up => up += 1,
            Status::Down => down += 1,
            Status::Unknown => {}
        }
    }
    start_burst::summary(
        "health",
        ("real server", "real servers"),
        Status::Unknown.as_str(),
        &[(Status::Up.as_str(), up), (Status::Down.as_str(), down)],
        (waiting, "still unknown"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Tokens;
    use crate::store::{AuditFilter, Source, Store};
    use director_core::model::RealServerKey;
    use std::time::{Duration, SystemTime};

    fn id(vs: &str, last_octet: u8) -> TargetId {
        TargetId::new(
            vs,
            RealServerKey {
                address: std::net::IpAddr::from([10, 0, 0, last_octet]),
                port: 80,
            },
        )
    }

    fn transition(id: TargetId, to: Status, error: Option<&str>) -> Transition {
        Transition {
            id,
            from: Status::Unknown,
            to,
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn a_burst_summary_counts_by_outcome_up_first() {
        let s = burst_summary(
            [
                Status::Down,
                Status::Up,
                Status::Up,
                Status::Down,
                Status::Up,
            ]
            .into_iter(),
            0,
        );
        assert_eq!(s, "health: 3 real servers unknown -> up, 2 unknown -> down");
    }

    #[test]
    fn a_burst_is_about_its_virtual_server_or_all() {
        let (a, b, c) = (id("web", 1), id("web", 2), id("db", 1));
        assert_eq!(burst_object([&a, &b].into_iter()), "web");
        assert_eq!(burst_object([&a, &c].into_iter()), "*");
    }

    #[tokio::test]
    async fn a_burst_is_one_entry_of_the_health_stream_with_each_server_in_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("d.db")).await.unwrap();
        let service = Service::open(store, "lvs-01".into(), Tokens::new(&[7u8; 32]), 3600)
            .await
            .unwrap();
        let burst = Release::Burst {
            results: vec![
                transition(id("web", 1), Status::Up, None),
                transition(id("db", 1), Status::Down, Some("connect refused")),
            ],
            waiting: vec![id("db", 2)],
        };
        let later = Release::One(Transition {
            from: Status::Up,
            ..transition(id("web", 1), Status::Down, Some("timeout"))
        });
        service.record_health(&[burst, later]).await.unwrap();

        let viewer = Actor::new("v", Role::Viewer, Via::Rest);
        let (changes, _) = service
            .audit(&viewer, &AuditFilter::default())
            .await
            .unwrap();
        assert!(changes.is_empty(), "off the default view: {changes:?}");
        let health = AuditFilter {
            source: Some("health".into()),
            ..AuditFilter::default()
        };
        let (entries, _) = service.audit(&viewer, &health).await.unwrap();
        assert_eq!(entries.len(), 2);
        let (later, burst) = (&entries[0], &entries[1]);
        assert_eq!(later.summary, "health up -> down: timeout");
        assert_eq!(later.object, "web/10.0.0.1:80");
        assert_eq!(burst.source, Source::Health);
        assert_eq!(burst.via, "health");
        assert_eq!(burst.actor, "lvs-01");
        assert_eq!(burst.action, "transition");
        assert_eq!(burst.kind, "real_server");
        assert_eq!(burst.object, "*");
        assert_eq!(
            burst.summary,
            "health: 1 real server unknown -> up, 1 unknown -> down, 1 still unknown"
        );
        assert_eq!(burst.before, Some(json!({"health": "unknown"})));
        assert_eq!(
            burst.after,
            Some(json!({"real_servers": {
                "web/10.0.0.1:80": {"health": "up"},
                "db/10.0.0.1:80": {"health": "down", "error": "connect refused"},
                "db/10.0.0.2:80": {"health": "unknown"},
            }}))
        );
        assert_eq!(burst.at, "2027-01-15T08:00:00.000Z");
        let by_field = AuditFilter {
            field: Some("health".into()),
            ..health
        };
        assert_eq!(service.audit(&viewer, &by_field).await.unwrap().0.len(), 2);
    }
}
