//! Writing a desired-state change: object rows, audit entries and the new revision in one transaction.

use super::audit::{insert_rows, NewAuditEntry};
use super::{multi_row, Result, Store};

/// A real server row to insert or replace.
#[derive(Debug, Clone)]
pub struct RealServerRow {
    pub virtual_server: String,
    pub endpoint: String,
    pub position: i64,
    pub spec: String,
}

/// Everything one service operation changes. Applied atomically by [`Store::apply`].
#[derive(Debug, Default)]
pub struct StateChange {
    /// The new global revision; every row written carries it.
    pub revision: u64,
    pub at: String,
    /// (name, spec JSON without real servers, service key)
    pub virtual_server_upserts: Vec<(String, String, String)>,
    pub virtual_server_deletes: Vec<String>,
    /// Virtual servers whose real servers changed but whose own row did not: only their revision moves.
    pub virtual_server_touches: Vec<String>,
    pub real_server_upserts: Vec<RealServerRow>,
    /// (virtual server, endpoint)
    pub real_server_deletes: Vec<(String, String)>,
    /// (name, spec JSON)
    pub vrrp_group_upserts: Vec<(String, String)>,
    pub vrrp_group_deletes: Vec<String>,
    pub audit: Vec<NewAuditEntry>,
    /// The desired state does not change (a peer's change that lost or was already here): only the audit
    /// entries, registers and cursor are written, without a revision.
    pub unchanged: bool,
    /// Sync registers to write: (key, JSON of `director_sync::Register`).
    pub registers: Vec<(String, String)>,
    /// A change made on this node goes to the sync log for peers, under this origin (the node's name), with
    /// its registers. Its audit entries are not copied there: the entry names their rows, and a peer's pull
    /// reads them (see `Store::sync_log_after`).
    pub log_origin: Option<String>,
    /// Peers' logs applied here: how far each now is.
    pub cursors: Vec<super::Cursor>,
    /// Token revocations synced from peers: each token's row (`revoked_at` and `revoked_by` set), recorded
    /// if this node never saw the token, and revoked unless it is already.
    pub token_revocations: Vec<super::TokenRow>,
    /// Sync registers to delete (revocations of tokens that have expired).
    pub register_deletes: Vec<String>,
}

impl StateChange {
    /// Whether the change removes rows: such a change starts a new run (see [`Store::apply_all`]).
    fn deletes(&self) -> bool {
        !self.virtual_server_deletes.is_empty()
            || !self.real_server_deletes.is_empty()
            || !self.vrrp_group_deletes.is_empty()
            || !self.register_deletes.is_empty()
    }
}

impl Store {
    /// Writes the change in one transaction. Returns the sync log sequence number of a change made here.
    pub async fn apply(&self, change: &StateChange) -> Result<Option<u64>> {
        Ok(self.apply_all([change]).await?.pop().flatten())
    }

    /// Writes several changes, in order, in one transaction (one fsync): all or none. Returns each one's sync
    /// log sequence number.
    ///
    /// Every such write goes through one connection, kept for it: its page cache stays warm, where a pool
    /// connection's is emptied whenever another connection has written.
    pub async fn apply_all<'a>(
        &self,
        changes: impl IntoIterator<Item = &'a StateChange>,
    ) -> Result<Vec<Option<u64>>> {
        let mut writer = self.writer.lock().await;
        let mut conn = match writer.take() {
            Some(c) => c,
            None => self.pool().acquire().await?,
        };
        let written = apply_on(&mut conn, changes).await;
        // A connection that failed a write is not trusted with the next one.
        if written.is_ok() {
            *writer = Some(conn);
        }
        written
    }
}

/// Writes `changes` in one transaction on `conn`.
///
/// Changes are written in runs: a run is one change and the changes after it that delete nothing. A run takes
/// one statement per table (a batch of 32 weight changes is about ten statements, not two hundred, each a
/// round trip to SQLite's thread), and every table still sees the changes in their order: deletes come only
/// from a run's first change, multi-row upserts apply their rows in order (the last one wins), and a
/// revision written to a virtual server never goes back.
async fn apply_on<'a>(
    conn: &mut sqlx::SqliteConnection,
    changes: impl IntoIterator<Item = &'a StateChange>,
) -> Result<Vec<Option<u64>>> {
    use sqlx::Connection;
    let changes: Vec<&StateChange> = changes.into_iter().collect();
    let mut tx = conn.begin().await?;
    let mut seqs = Vec::with_capacity(changes.len());
    let mut rest = changes.as_slice();
    while !rest.is_empty() {
        let len = 1 + rest[1..].iter().take_while(|c| !c.deletes()).count();
        let (run, after) = rest.split_at(len);
        seqs.extend(apply_run(&mut tx, run).await?);
        rest = after;
    }
    tx.commit().await?;
    Ok(seqs)
}

async fn apply_run(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    run: &[&StateChange],
) -> Result<Vec<Option<u64>>> {
    let rev = |c: &StateChange| c.revision as i64;
    // Deletes: only the first change of a run has any.
    let first = run[0];
    for name in &first.virtual_server_deletes {
        sqlx::query("DELETE FROM virtual_servers WHERE name = ?")
            .bind(name)
            .execute(&mut **tx)
            .await?;
    }
    for (vs, endpoint) in &first.real_server_deletes {
        sqlx::query("DELETE FROM real_servers WHERE virtual_server = ? AND endpoint = ?")
            .bind(vs)
            .bind(endpoint)
            .execute(&mut **tx)
            .await?;
    }
    for name in &first.vrrp_group_deletes {
        sqlx::query("DELETE FROM vrrp_groups WHERE name = ?")
            .bind(name)
            .execute(&mut **tx)
            .await?;
    }
    for key in &first.register_deletes {
        sqlx::query("DELETE FROM sync_registers WHERE key = ?")
            .bind(key)
            .execute(&mut **tx)
            .await?;
    }

    let upserts: Vec<_> = run
        .iter()
        .flat_map(|c| c.virtual_server_upserts.iter().map(move |u| (*c, u)))
        .collect();
    multi_row(
        tx,
        "INSERT INTO virtual_servers (name, spec, service_key, revision, created_at, updated_at) ",
        &upserts,
        " ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, service_key = excluded.service_key,
           revision = excluded.revision, updated_at = excluded.updated_at",
        |mut r, (c, (name, spec, key))| {
            r.push_bind(name.as_str())
                .push_bind(spec.as_str())
                .push_bind(key.as_str())
                .push_bind(rev(c))
                .push_bind(c.at.as_str())
                .push_bind(c.at.as_str());
        },
    )
    .await?;

    // Touches: the latest of each virtual server, never below a revision an upsert above wrote.
    let mut touches: Vec<(&str, i64, &str)> = Vec::new();
    for c in run {
        for name in &c.virtual_server_touches {
            match touches.iter_mut().find(|(n, _, _)| *n == name.as_str()) {
                Some(t) => *t = (name.as_str(), rev(c), c.at.as_str()),
                None => touches.push((name.as_str(), rev(c), c.at.as_str())),
            }
        }
    }
    multi_row(
        tx,
        "UPDATE virtual_servers SET revision = t.column2, updated_at = t.column3 FROM (",
        &touches,
        ") AS t WHERE virtual_servers.name = t.column1 AND virtual_servers.revision < t.column2",
        |mut r, (name, revision, at)| {
            r.push_bind(*name).push_bind(*revision).push_bind(*at);
        },
    )
    .await?;

    let real_servers: Vec<_> = run
        .iter()
        .flat_map(|c| c.real_server_upserts.iter().map(move |r| (rev(c), r)))
        .collect();
    multi_row(
        tx,
        "INSERT INTO real_servers (virtual_server, endpoint, position, spec, revision) ",
        &real_servers,
        " ON CONFLICT (virtual_server, endpoint) DO UPDATE SET position = excluded.position,
           spec = excluded.spec, revision = excluded.revision",
        // Borrowed, as everywhere here: an import writes tens of thousands of rows.
        |mut r, (revision, row)| {
            r.push_bind(row.virtual_server.as_str())
                .push_bind(row.endpoint.as_str())
                .push_bind(row.position)
                .push_bind(row.spec.as_str())
                .push_bind(*revision);
        },
    )
    .await?;

    let groups: Vec<_> = run
        .iter()
        .flat_map(|c| c.vrrp_group_upserts.iter().map(move |g| (*c, g)))
        .collect();
    multi_row(
        tx,
        "INSERT INTO vrrp_groups (name, spec, revision, created_at, updated_at) ",
        &groups,
        " ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, revision = excluded.revision,
           updated_at = excluded.updated_at",
        |mut r, (c, (name, spec))| {
            r.push_bind(name.as_str())
                .push_bind(spec.as_str())
                .push_bind(rev(c))
                .push_bind(c.at.as_str())
                .push_bind(c.at.as_str());
        },
    )
    .await?;

    let audit: Vec<_> = run
        .iter()
        .flat_map(|c| {
            let revision = (!c.unchanged).then_some(c.revision);
            c.audit.iter().map(move |e| (e, revision))
        })
        .collect();
    let last_audit = insert_rows(tx, &audit).await?;
    if let Some(latest) = run.iter().filter(|c| !c.unchanged).map(|c| rev(c)).max() {
        sqlx::query("UPDATE state_revision SET value = ? WHERE id = 1")
            .bind(latest)
            .execute(&mut **tx)
            .await?;
    }

    // Revocations from peers: few, one at a time (each takes the next revocation number).
    for token in run.iter().flat_map(|c| c.token_revocations.iter()) {
        let (Some(at), Some(by)) = (&token.revoked_at, &token.revoked_by) else {
            continue;
        };
        super::tokens::revoke_in(tx, token, at, by).await?;
    }

    let registers: Vec<_> = run.iter().flat_map(|c| c.registers.iter()).collect();
    multi_row(
        tx,
        "INSERT INTO sync_registers (key, register) ",
        &registers,
        " ON CONFLICT (key) DO UPDATE SET register = excluded.register",
        |mut r, (key, register)| {
            r.push_bind(key.as_str()).push_bind(register.as_str());
        },
    )
    .await?;

    // The log: one row per change made here, with its registers; its audit entries are the rows just
    // written (consecutive ids, in change order). Sequence numbers are handed out in row order too, so the
    // last one gives all of them.
    let mut next_audit = last_audit.map_or(0, |last| last + 1 - audit.len() as i64);
    let mut logged = Vec::new();
    for c in run {
        let first = next_audit;
        next_audit += c.audit.len() as i64;
        if let Some(origin) = &c.log_origin {
            logged.push((
                super::sync::without_audit(origin, &c.registers),
                first,
                c.audit.len() as i64,
            ));
        }
    }
    let last_seq = multi_row(
        tx,
        "INSERT INTO sync_log (change, audit_first, audit_count) ",
        &logged,
        "",
        |mut r, (change, first, count)| {
            r.push_bind(change.as_str())
                .push_bind(*first)
                .push_bind(*count);
        },
    )
    .await?;
    let mut next_seq = last_seq.map_or(0, |last| last as u64 + 1 - logged.len() as u64);
    let seqs = run
        .iter()
        .map(|c| {
            c.log_origin.as_ref().map(|_| {
                next_seq += 1;
                next_seq - 1
            })
        })
        .collect();

    let cursors: Vec<_> = run.iter().flat_map(|c| c.cursors.iter()).collect();
    multi_row(
        tx,
        "INSERT INTO sync_cursors (origin, log_id, seq) ",
        &cursors,
        " ON CONFLICT (origin) DO UPDATE SET log_id = excluded.log_id, seq = excluded.seq",
        |mut r, cursor| {
            r.push_bind(cursor.origin.as_str())
                .push_bind(cursor.log_id.as_str())
                .push_bind(cursor.seq as i64);
        },
    )
    .await?;
    Ok(seqs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Cursor, NewAuditEntry};
    use director_core::model::RealServerKey;

    fn change(revision: u64) -> StateChange {
        StateChange {
            revision,
            at: format!("2026-11-22T00:00:{revision:02}.000Z"),
            log_origin: Some("n1".into()),
            ..Default::default()
        }
    }

    fn rs(endpoint: &str, weight: u32) -> RealServerRow {
        RealServerRow {
            virtual_server: "web".into(),
            endpoint: endpoint.into(),
            position: 0,
            spec: format!(
                r#"{{"address":"{}","port":80,"weight":{weight}}}"#,
                &endpoint[..8]
            ),
        }
    }

    fn audit(object: &str) -> NewAuditEntry {
        NewAuditEntry {
            at: "2026-11-22T00:00:00.000Z".into(),
            actor: "admin".into(),
            via: "api".into(),
            node: "n1".into(),
            action: "update".into(),
            kind: "real_server".into(),
            object: object.into(),
            fields: vec!["weight".into()],
            before: None,
            after: None,
            summary: String::new(),
            source: crate::store::Source::Change,
        }
    }

    /// A batch mixing creates, touches, deletes and re-creates leaves the rows a change-by-change write
    /// would: deletes start a new run, the last write of a row wins, revisions never go back, and each change
    /// gets its own log sequence number.
    #[tokio::test]
    async fn a_batch_is_written_as_its_changes_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        let mut create = change(1);
        create.virtual_server_upserts.push((
            "web".into(),
            r#"{"name":"web","protocol":"tcp","address":"10.0.0.1","port":80}"#.into(),
            "tcp 10.0.0.1:80".into(),
        ));
        create.real_server_upserts.push(rs("10.0.1.1:80", 1));
        create.audit.push(audit("web"));
        let mut weight = change(2);
        weight.virtual_server_touches.push("web".into());
        weight.real_server_upserts.push(rs("10.0.1.1:80", 5));
        weight
            .registers
            .push(("rs/web/10.0.1.1:80".into(), r#"{"v":2}"#.into()));
        weight.audit.push(audit("web/10.0.1.1:80"));
        let mut delete = change(3);
        delete
            .real_server_deletes
            .push(("web".into(), "10.0.1.1:80".into()));
        delete.virtual_server_touches.push("web".into());
        delete
            .registers
            .push(("rs/web/10.0.1.1:80".into(), r#"{"v":3}"#.into()));
        let mut again = change(4);
        again.virtual_server_touches.push("web".into());
        again.real_server_upserts.push(rs("10.0.1.1:80", 7));
        again
            .registers
            .push(("rs/web/10.0.1.1:80".into(), r#"{"v":4}"#.into()));
        let mut peer = change(5);
        peer.unchanged = true;
        peer.log_origin = None;
        peer.cursors.push(Cursor {
            origin: "n2".into(),
            log_id: "l".into(),
            seq: 9,
        });
        peer.audit.push(audit("web/10.0.1.2:80"));

        let seqs = store
            .apply_all([&create, &weight, &delete, &again, &peer])
            .await
            .unwrap();
        assert_eq!(seqs, vec![Some(1), Some(2), Some(3), Some(4), None]);

        let state = store.load_state().await.unwrap();
        assert_eq!(
            state.revision, 4,
            "the latest revision of a change that changed the state"
        );
        let web = &state.virtual_servers["web"];
        assert_eq!(web.revision, 4);
        let key: RealServerKey = RealServerKey {
            address: "10.0.1.1".parse().unwrap(),
            port: 80,
        };
        assert_eq!(web.spec.real_server(&key).map(|r| r.weight), Some(7));
        assert_eq!(web.real_server_revision(&key), 4);
        assert_eq!(
            store.sync_registers().await.unwrap(),
            vec![("rs/web/10.0.1.1:80".to_string(), r#"{"v":4}"#.to_string())]
        );

        // Each change's log entry has its registers as it wrote them, and its audit rows.
        let log = store.sync_log_after(0, 10).await.unwrap();
        let log: Vec<serde_json::Value> = log
            .iter()
            .map(|(_, text)| serde_json::from_str(text).unwrap())
            .collect();
        assert_eq!(log.len(), 4);
        assert_eq!(log[0]["origin"], "n1");
        assert_eq!(log[0]["registers"], serde_json::json!([]));
        assert_eq!(log[0]["audit"][0]["object"], "web");
        assert_eq!(
            log[1]["registers"],
            serde_json::json!([["rs/web/10.0.1.1:80", {"v": 2}]])
        );
        assert_eq!(log[1]["audit"][0]["object"], "web/10.0.1.1:80");
        assert_eq!(log[1]["audit"][0]["fields"], serde_json::json!(["weight"]));
        assert_eq!(log[2]["audit"], serde_json::json!([]));

        assert_eq!(store.sync_log_head().await.unwrap(), 4);
        assert_eq!(store.sync_cursors().await.unwrap().len(), 1);
        let (audited,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM audit WHERE revision IS NULL")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(audited, 1, "the peer's entry has no revision");

        // A touch never takes a virtual server back to an older revision.
        let mut older = change(3);
        older.log_origin = None;
        older.virtual_server_touches.push("web".into());
        store.apply_all([&older]).await.unwrap();
        assert_eq!(
            store.load_state().await.unwrap().virtual_servers["web"].revision,
            4
        );
        store.close().await;
    }
}
