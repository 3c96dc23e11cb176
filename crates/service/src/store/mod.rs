//! SQLite persistence of the desired state, users and the audit log.
//!
//! Only the service layer calls the write side. Every write is one transaction that carries the object rows,
//! their audit entries and the new global revision together, so a crash never leaves a change unaudited.

mod audit;
mod load;
mod sync;
mod tokens;
mod write;

pub use audit::{AuditEntry, AuditFilter, NewAuditEntry, Source};
pub use sync::Cursor;
pub use tokens::{Revocation, TokenRow};
pub use write::{RealServerRow, StateChange};

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored {what} is corrupt: {message}")]
    Corrupt { what: String, message: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A user as stored (the password only as an argon2 hash).
#[derive(Debug, Clone)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
    /// Carried in the user's session tokens; a new value ends the sessions issued before.
    pub session_epoch: String,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// The connection desired-state changes are written on (see `Store::apply_all`).
    writer: Arc<tokio::sync::Mutex<Option<PoolConnection<Sqlite>>>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, in WAL mode with full synchronous commits, foreign
    /// keys on and a busy timeout, and runs the migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            // Checkpoints run in the background (`checkpointer`), not in whichever commit crosses the
            // threshold: a write's latency then never includes copying the WAL into the database.
            .pragma("wal_autocheckpoint", "0")
            // Statement journals (each multi-row upsert has one) stay in memory instead of spilling to a
            // temporary file a page at a time.
            .pragma("temp_store", "memory")
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // One writer at a time (the service's lock); a few readers for the audit log and users.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        sqlx::migrate!("../../migrations").run(&pool).await?;
        tokio::spawn(checkpointer(pool.clone()));
        Ok(Store {
            pool,
            writer: Arc::default(),
        })
    }

    pub async fn close(&self) {
        // The pool waits for every connection to come back, the writer's too.
        drop(self.writer.lock().await.take());
        self.pool.close().await;
    }

    pub async fn users(&self) -> Result<Vec<UserRow>> {
        let rows: Vec<UserTuple> = sqlx::query_as(
            "SELECT name, role, password_hash, revision, created_at, updated_at, session_epoch FROM users ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(user_row).collect())
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRow>> {
        let row: Option<UserTuple> = sqlx::query_as(
            "SELECT name, role, password_hash, revision, created_at, updated_at, session_epoch FROM users WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(user_row))
    }

    /// Creates, replaces (`Some`) or deletes (`None`) a user with its audit entry, in one transaction.
    pub async fn write_user(
        &self,
        name: &str,
        user: Option<&UserRow>,
        audit: &NewAuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        match user {
            Some(u) => {
                sqlx::query(
                    "INSERT INTO users (name, role, password_hash, revision, created_at, updated_at, session_epoch)
                     VALUES (?, ?, ?, ?, ?, ?, ?)
                     ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,
                       revision = excluded.revision, updated_at = excluded.updated_at,
                       session_epoch = excluded.session_epoch",
                )
                .bind(&u.name)
                .bind(&u.role)
                .bind(&u.password_hash)
                .bind(u.revision)
                .bind(&u.created_at)
                .bind(&u.updated_at)
                .bind(&u.session_epoch)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM users WHERE name = ?")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        audit::insert(&mut tx, audit, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an event that changes no stored object (a token issued, a health or VRRP transition).
    pub async fn record(&self, entry: &NewAuditEntry) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        audit::insert(&mut tx, entry, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records many events in one transaction.
    pub async fn record_many(&self, entries: &[NewAuditEntry]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        audit::insert_many(&mut tx, entries, None).await?;
        tx.commit().await?;
        Ok(())
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Whether a write could start now: takes the database's write lock (`BEGIN IMMEDIATE`) within `within`
    /// and lets it go without writing. Fails on a read-only database, or when another writer holds the lock
    /// that long.
    pub async fn writable(&self, within: Duration) -> Result<(), String> {
        let probe = async {
            use sqlx::Connection;
            let mut conn = self.pool.acquire().await?;
            // A transaction object: dropped (the deadline passed), it is rolled back, never left open.
            let tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            tx.rollback().await?;
            Ok::<(), sqlx::Error>(())
        };
        match tokio::time::timeout(within, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("the database cannot be written: {e}")),
            Err(_) => Err(format!(
                "the database's write lock was not free within {} ms",
                within.as_millis()
            )),
        }
    }
}

/// How often the WAL is copied into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies the WAL into the database now and then (PASSIVE: never waits for, nor blocks, writers and readers),
/// until the pool closes. When the last connection closes, SQLite checkpoints what is left.
async fn checkpointer(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            break;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                break;
            }
            tracing::warn!("WAL checkpoint: {e}");
        }
    }
}

/// Rows per multi-row statement (at most 12 parameters each: 12,000, well under SQLite's 32,766).
const ROWS_PER_STATEMENT: usize = 1000;

/// Runs `head VALUES (..), (..) tail` over `rows`, a few hundred to a statement, with `bind` binding each
/// row's values. Returns `last_insert_rowid` after the last statement, if any ran (for a plain INSERT, the rowid
/// of the last row).
async fn multi_row<'a, T>(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    head: &str,
    rows: &'a [T],
    tail: &str,
    bind: impl Fn(sqlx::query_builder::Separated<'_, 'a, Sqlite, &'static str>, &'a T) + Send + Sync,
) -> Result<Option<i64>>
where
    T: Sync,
{
    let mut last = None;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(head);
        q.push_values(chunk, &bind);
        q.push(tail);
        let done = q.build().persistent(false).execute(&mut **tx).await?;
        last = Some(done.last_insert_rowid());
    }
    Ok(last)
}

/// The columns of a user as read.
type UserTuple = (String, String, String, i64, String, String, String);

fn user_row(
    (name, role, password_hash, revision, created_at, updated_at, session_epoch): UserTuple,
) -> UserRow {
    UserRow {
        name,
        role,
        password_hash,
        revision,
        created_at,
        updated_at,
        session_epoch,
    }
}

#[cfg(test)]
mod probe_tests {
    use super::*;
    use sqlx::Connection;

    #[tokio::test]
    async fn writable_until_another_writer_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path).await.unwrap();
        assert_eq!(store.writable(Duration::from_secs(2)).await, Ok(()));
        let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let held = other.begin_with("BEGIN IMMEDIATE").await.unwrap();
        let busy = store.writable(Duration::from_millis(200)).await;
        assert!(
            busy.as_ref().is_err_and(|e| e.contains("write lock")),
            "{busy:?}"
        );
        held.rollback().await.unwrap();
        assert_eq!(store.writable(Duration::from_secs(2)).await, Ok(()));
    }
}
