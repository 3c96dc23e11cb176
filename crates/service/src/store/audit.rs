//! The append-only audit log.

use super::{Result, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{QueryBuilder, Sqlite, Transaction};
use std::collections::BTreeSet;
use utoipa::{IntoParams, ToSchema};

/// The stream an entry belongs to. The default view of the log is `change`; the transitions the daemon
/// observes on its own are streams of their own, read on request.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// What people, pipelines, the CLI, imports and peers did (and logins).
    #[default]
    Change,
    /// A real server's health transition (`via: health`).
    Health,
    /// A VRRP role transition of this node (`via: vrrp`).
    Vrrp,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Change, Source::Health, Source::Vrrp];
    /// The word that selects every source in a `source` filter.
    pub const EVERY: &'static str = "all";

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Change => "change",
            Source::Health => "health",
            Source::Vrrp => "vrrp",
        }
    }

    /// The stream of an entry that came in by `via` (as the migration classified the older entries).
    pub fn of_via(via: &str) -> Source {
        match via {
            "health" => Source::Health,
            "vrrp" => Source::Vrrp,
            _ => Source::Change,
        }
    }

    /// A `source` filter: one or several of `change`, `health`, `vrrp` separated by commas, or `all`.
    pub fn parse_selection(text: &str) -> Result<BTreeSet<Source>, String> {
        let mut out = BTreeSet::new();
        for word in text.split(',').map(str::trim) {
            if word == Self::EVERY {
                out.extend(Self::ALL);
                continue;
            }
            match Self::ALL.into_iter().find(|s| s.as_str() == word) {
                Some(s) => {
                    out.insert(s);
                }
                None => {
                    return Err(format!(
                        "{word:?} is not a source: one or several of change, health, vrrp (separated by \
                         commas), or all"
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// An entry about to be written (or, from a peer, written there and travelling with its change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    pub at: String,
    pub actor: String,
    pub via: String,
    pub node: String,
    pub action: String,
    pub kind: String,
    pub object: String,
    pub fields: Vec<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub summary: String,
    /// Entries travelling from a peer of an earlier version have none: changes, all of them.
    #[serde(default)]
    pub source: Source,
}

/// One entry of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    /// The user, token or node that made the change.
    pub actor: String,
    /// rest, grpc, ui, sync, import, cli, health or vrrp.
    pub via: String,
    /// The stream: `change` (the default view), `health` or `vrrp` (transitions the node observed).
    pub source: Source,
    /// The node the change was made on.
    pub node: String,
    /// create, update, delete, conflict, transition, revoke, login, login_failed, logout...
    pub action: String,
    /// virtual_server, real_server, vrrp_group, user, token, login.
    pub kind: String,
    /// `web`, `web/192.168.10.120:80`, `vi-1`...
    pub object: String,
    /// The changed fields before the change (the whole object for a delete).
    pub before: Option<Value>,
    /// The changed fields after the change (the whole object for a create).
    pub after: Option<Value>,
    /// One line, e.g. `weight 1 -> 5`.
    pub summary: String,
    /// The global revision the change produced, if it changed the desired state.
    pub revision: Option<i64>,
}

/// Filters of `GET /api/v1/audit`. Entries come newest first.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// virtual_server, real_server, vrrp_group, user, token, login.
    pub kind: Option<String>,
    /// An object name: matches the object and, for a virtual server, its real servers (`web/...`).
    pub name: Option<String>,
    /// An exact object, e.g. `web/192.168.10.120:80`.
    pub object: Option<String>,
    pub actor: Option<String>,
    /// create, update, delete...
    pub action: Option<String>,
    /// rest, grpc, ui, sync, import, cli, health or vrrp.
    pub via: Option<String>,
    /// Which streams: one or several of `change`, `health`, `vrrp` separated by commas, or `all`. Default
    /// `change` (what people, pipelines, the CLI, imports and peers did), or `all` when `via` is given.
    pub source: Option<String>,
    /// Only updates that changed this field, e.g. `weight`.
    pub field: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    pub since: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    pub until: Option<String>,
    /// 1..1000, default 100.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub(super) async fn insert(
    tx: &mut Transaction<'_, Sqlite>,
    e: &NewAuditEntry,
    revision: Option<u64>,
) -> Result<()> {
    insert_many(tx, std::slice::from_ref(e), revision).await
}

/// Inserts entries in order, many rows per statement (an import writes tens of thousands).
pub(super) async fn insert_many(
    tx: &mut Transaction<'_, Sqlite>,
    entries: &[NewAuditEntry],
    revision: Option<u64>,
) -> Result<()> {
    let rows: Vec<_> = entries.iter().map(|e| (e, revision)).collect();
    insert_rows(tx, &rows).await.map(|_| ())
}

/// Inserts entries, each at its own revision, a few hundred rows to a statement. Returns the id of the last
/// one: the ids of the rows are consecutive (one writer; ids are handed out in row order).
pub(super) async fn insert_rows(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[(&NewAuditEntry, Option<u64>)],
) -> Result<Option<i64>> {
    super::multi_row(
        tx,
        "INSERT INTO audit (at, actor, via, node, action, kind, object, fields, before, after, summary, revision, source) ",
        rows,
        "",
        |mut row, (e, revision)| {
            let fields = if e.fields.is_empty() {
                String::new()
            } else {
                format!(",{},", e.fields.join(","))
            };
            // Borrowed: an import writes tens of thousands of rows.
            row.push_bind(e.at.as_str())
                .push_bind(e.actor.as_str())
                .push_bind(e.via.as_str())
                .push_bind(e.node.as_str())
                .push_bind(e.action.as_str())
                .push_bind(e.kind.as_str())
                .push_bind(e.object.as_str())
                .push_bind(fields)
                .push_bind(e.before.as_ref().map(Value::to_string))
                .push_bind(e.after.as_ref().map(Value::to_string))
                .push_bind(e.summary.as_str())
                .push_bind(revision.map(|r| r as i64))
                .push_bind(e.source.as_str());
        },
    )
    .await
}

/// An entry as written, with its changed fields (a sync log entry's audit rows).
#[derive(sqlx::FromRow)]
struct Written {
    id: i64,
    at: String,
    actor: String,
    via: String,
    node: String,
    action: String,
    kind: String,
    object: String,
    fields: String,
    before: Option<String>,
    after: Option<String>,
    summary: String,
    source: String,
}

impl Store {
    /// The `count` entries from id `first` on, as they were written (a change's entries, for its sync log
    /// entry). Fewer are returned only if the log was tampered with.
    pub(super) async fn audit_written(
        &self,
        first: i64,
        count: usize,
    ) -> Result<Vec<NewAuditEntry>> {
        let rows: Vec<Written> = sqlx::query_as(
            "SELECT id, at, actor, via, node, action, kind, object, fields, before, after, summary, source
             FROM audit WHERE id >= ? AND id < ? ORDER BY id",
        )
        .bind(first)
        .bind(first.saturating_add(count as i64))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|w| {
                let id = w.id;
                let json = |v: Option<String>| -> Result<Option<Value>> {
                    v.map(|t| {
                        serde_json::from_str(&t).map_err(|e| super::StoreError::Corrupt {
                            what: format!("audit entry {id}"),
                            message: e.to_string(),
                        })
                    })
                    .transpose()
                };
                Ok(NewAuditEntry {
                    fields: w
                        .fields
                        .split(',')
                        .filter(|f| !f.is_empty())
                        .map(str::to_string)
                        .collect(),
                    before: json(w.before)?,
                    after: json(w.after)?,
                    source: source(&w.source),
                    at: w.at,
                    actor: w.actor,
                    via: w.via,
                    node: w.node,
                    action: w.action,
                    kind: w.kind,
                    object: w.object,
                    summary: w.summary,
                })
            })
            .collect()
    }
}

type Row = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    String,
);

impl Store {
    /// Entries of `sources` matching `filter` (whose `source` text is not read here), newest first, at most
    /// `limit`, strictly older than `cursor` (an entry id).
    pub async fn audit(
        &self,
        filter: &AuditFilter,
        sources: &BTreeSet<Source>,
        limit: u32,
        cursor: Option<i64>,
    ) -> Result<Vec<AuditEntry>> {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT id, at, actor, via, node, action, kind, object, before, after, summary, revision, source FROM audit WHERE 1 = 1",
        );
        let eq = |q: &mut QueryBuilder<Sqlite>, col: &str, v: &Option<String>| {
            if let Some(v) = v {
                q.push(format!(" AND {col} = ")).push_bind(v.clone());
            }
        };
        eq(&mut q, "kind", &filter.kind);
        eq(&mut q, "object", &filter.object);
        eq(&mut q, "actor", &filter.actor);
        eq(&mut q, "action", &filter.action);
        eq(&mut q, "via", &filter.via);
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        if Source::ALL.iter().any(|s| !sources.contains(s)) {
            q.push(" AND source IN (");
            let mut words = q.separated(", ");
            for s in sources {
                words.push_bind(s.as_str());
            }
            q.push(")");
        }
        if let Some(name) = &filter.name {
            q.push(" AND (object = ").push_bind(name.clone());
            q.push(" OR object LIKE ")
                .push_bind(format!("{}/%", escape_like(name)))
                .push(" ESCAPE '\\')");
        }
        if let Some(field) = &filter.field {
            q.push(" AND fields LIKE ")
                .push_bind(format!("%,{},%", escape_like(field)))
                .push(" ESCAPE '\\'");
        }
        if let Some(since) = &filter.since {
            q.push(" AND at >= ").push_bind(since.clone());
        }
        if let Some(until) = &filter.until {
            q.push(" AND at < ").push_bind(until.clone());
        }
        if let Some(cursor) = cursor {
            q.push(" AND id < ").push_bind(cursor);
        }
        q.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<Row> = q.build_query_as().fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(entry).collect())
    }

    /// The entries of the desired-state revisions in `after + 1 ..= upto`, in the order they were written.
    /// Entries are appended in commit order, so the scan starts after the last entry of a revision at or
    /// below `after`: following the latest revisions reads only the tail of the log.
    pub async fn audit_revisions(&self, after: u64, upto: u64) -> Result<Vec<AuditEntry>> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let upto = i64::try_from(upto).unwrap_or(i64::MAX);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, at, actor, via, node, action, kind, object, before, after, summary, revision, source
             FROM audit
             WHERE id > COALESCE((SELECT id FROM audit WHERE revision IS NOT NULL AND revision <= ?1
                                  ORDER BY id DESC LIMIT 1), 0)
               AND revision > ?1 AND revision <= ?2
             ORDER BY id",
        )
        .bind(after)
        .bind(upto)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(entry).collect())
    }

    pub async fn audit_count(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit")
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }
}

fn entry(
    (id, at, actor, via, node, action, kind, object, before, after, summary, revision, source_word): Row,
) -> AuditEntry {
    AuditEntry {
        id,
        at,
        actor,
        source: source(&source_word),
        via,
        node,
        action,
        kind,
        object,
        before: before.and_then(|s| serde_json::from_str(&s).ok()),
        after: after.and_then(|s| serde_json::from_str(&s).ok()),
        summary,
        revision,
    }
}

/// A stored source; a word this version does not know (written by a later one) reads as a change.
fn source(word: &str) -> Source {
    Source::ALL
        .into_iter()
        .find(|s| s.as_str() == word)
        .unwrap_or_default()
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use std::borrow::Cow;
    use std::str::FromStr;

    #[test]
    fn a_source_filter_is_one_or_several_sources_or_all() {
        let set = |s: &[Source]| s.iter().copied().collect::<BTreeSet<_>>();
        assert_eq!(
            Source::parse_selection("health"),
            Ok(set(&[Source::Health]))
        );
        assert_eq!(
            Source::parse_selection("vrrp, health,vrrp"),
            Ok(set(&[Source::Health, Source::Vrrp]))
        );
        assert_eq!(Source::parse_selection("all"), Ok(set(&Source::ALL)));
        assert_eq!(Source::parse_selection("change,all"), Ok(set(&Source::ALL)));
        for bad in ["", "health,", "Health", "changes", "health;vrrp"] {
            assert!(Source::parse_selection(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Source::of_via("rest"), Source::Change);
        assert_eq!(Source::of_via("health"), Source::Health);
        assert_eq!(Source::of_via("vrrp"), Source::Vrrp);
    }

    /// A database of the version before sources: its entries are classified by `via` on upgrade, and the
    /// log stays append-only.
    #[tokio::test]
    async fn the_upgrade_classifies_existing_entries_by_via() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        {
            let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
                .unwrap()
                .create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            let mut before = sqlx::migrate!("../../migrations");
            let upto = before
                .migrations
                .iter()
                .position(|m| m.description.contains("audit source"))
                .expect("the migration of sources");
            before.migrations = Cow::Owned(before.migrations[..upto].to_vec());
            before.run(&pool).await.unwrap();
            for via in ["rest", "health", "vrrp", "sync"] {
                sqlx::query(
                    "INSERT INTO audit (at, actor, via, node, action, kind, object, summary)
                     VALUES ('2026-01-01T00:00:00.000Z', 'n', ?, 'n', 'x', 'k', ?, '')",
                )
                .bind(via)
                .bind(via)
                .execute(&pool)
                .await
                .unwrap();
            }
            pool.close().await;
        }
        let store = Store::open(&path).await.unwrap();
        let all: BTreeSet<Source> = Source::ALL.into_iter().collect();
        let got: Vec<(String, Source)> = store
            .audit(&AuditFilter::default(), &all, 10, None)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.via, e.source))
            .collect();
        assert_eq!(
            got,
            [
                ("sync".to_string(), Source::Change),
                ("vrrp".to_string(), Source::Vrrp),
                ("health".to_string(), Source::Health),
                ("rest".to_string(), Source::Change),
            ]
        );
        let changes = BTreeSet::from([Source::Change]);
        assert_eq!(
            store
                .audit(&AuditFilter::default(), &changes, 10, None)
                .await
                .unwrap()
                .len(),
            2
        );
        let refused = sqlx::query("UPDATE audit SET source = 'change'")
            .execute(store.pool())
            .await;
        assert!(refused.is_err(), "append-only again");
        store.close().await;
    }
}
