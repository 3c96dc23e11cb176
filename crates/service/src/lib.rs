//! The one write path of director.
//!
//! REST, gRPC, the UI, peer sync, import and the CLI all call this layer; nothing else writes the store. Each
//! mutation: authorize the actor, validate against the current snapshot (pure model code), write the rows and
//! their audit entries in one transaction, publish the new snapshot and notify subscribers of the revision.
//!
//! Owns: [`Service`] (the published snapshot, the writer, the committer), the SQLite [`store`] (rows, audit
//! log, sync log, users, tokens) and [`auth`] (tokens, the login limiter, the hash gate: pure).
//!
//! Architecture invariants: nothing outside this crate writes the store (`Store` is handed out only to the
//! binary's commands that open a data directory). This crate imports the pure crates and nothing of the
//! daemon above it: no runtime (reconciler, VRRP, health feed, sync shell), no edge (axum, tonic), no netlink.
//! What the runtime reports back (the applied revision, the observed table) comes in through setters.

pub mod auth;
pub mod store;

mod actions;
mod actor;
mod batch;
mod changes;
mod commit;
mod error;
mod events;
mod health_events;
pub mod parse;
mod replica;
pub mod start_burst;
mod sync;
mod tokens;
mod users;
mod virtual_servers;
mod vrrp_groups;

pub use actions::{
    parse_host_address, Host, HostChange, HostMember, HostRealServer, UNDRAIN_DEFAULT_WEIGHT,
};
pub use actor::{bearer_token, Actor, Via};
pub use batch::{Batch, BatchReport, Outcome};
pub use error::{Result, ServiceError};
pub use events::{VrrpRelease, VrrpTransition};
pub use health_events::HealthRelease;
pub use replica::{now_ms, Change};
pub use sync::{Applied, SyncSnapshot};
pub use tokens::TokenView;
pub use users::{LoginResult, UserView};

use crate::auth::{HashGate, LimiterConfig, LoginLimiter, Tokens};
use crate::store::{AuditEntry, AuditFilter, NewAuditEntry, Source, Store};
use chrono::{SecondsFormat, Utc};
use director_core::model::Role;
use director_core::DesiredState;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// Default and largest page of a list.
pub const DEFAULT_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 1000;

pub struct Service {
    store: Store,
    node: String,
    tokens: Tokens,
    session_ttl_s: i64,
    state: RwLock<Arc<DesiredState>>,
    /// Held while a change is validated and staged (see `commit.rs`).
    writer: commit::WriterLock,
    /// The published state and the changes staged since: what the next writer builds on.
    staged: std::sync::Mutex<Arc<DesiredState>>,
    committer: commit::Committer,
    revision: watch::Sender<u64>,
    /// Role and session epoch of each user, to check sessions without a query per request.
    users: RwLock<HashMap<String, users::UserAuth>>,
    /// The revoked tokens that have not expired yet, consulted on every authentication.
    revoked: RwLock<tokens::Revoked>,
    /// Woken by a revocation made in this process: the daemon's watcher sends it to the peers at once.
    revocations_made: tokio::sync::Notify,
    /// Failed logins per address and user name.
    limiter: std::sync::Mutex<LoginLimiter>,
    /// At most a few password hashes at once.
    hashing: HashGate,
    /// The desired-state revision the kernel has reached (set by the reconciler; None without dataplane).
    applied: watch::Sender<Option<u64>>,
    /// The kernel table as last observed, with counters (set by the reconciler).
    observed: RwLock<Option<Arc<director_kernel_table::Table>>>,
    /// The synced registers, the clock and the logs (see `replica.rs`); changed under the writer lock.
    replica: std::sync::Mutex<replica::Replica>,
    /// The last sequence number of this node's sync log, for the peers that follow it.
    log_head: watch::Sender<u64>,
    /// How far ahead of this node's clock a peer's stamps may be (see `sync.rs`).
    max_clock_skew: director_sync::SkewBound,
    /// The digest of each object, kept while the object is unchanged (see `Service::digest`).
    digest: std::sync::Mutex<sync::DigestCache>,
}

impl Service {
    /// Loads the desired state and the users from the store.
    pub async fn open(
        store: Store,
        node: String,
        tokens: Tokens,
        session_ttl_s: i64,
    ) -> Result<Self> {
        let state = store.load_state().await?;
        let users = store
            .users()
            .await?
            .into_iter()
            .filter_map(|u| users::UserAuth::of(&u).map(|a| (u.name, a)))
            .collect();
        let revoked = tokens::Revoked::load(&store).await?;
        let (revision, _) = watch::channel(state.revision);
        let replica = replica::Replica::load(&store, &node).await?;
        let state = Arc::new(state);
        let committer = commit::Committer::start(store.clone());
        let head = replica.head;
        let service = Service {
            store,
            node,
            tokens,
            session_ttl_s,
            state: RwLock::new(state.clone()),
            writer: commit::WriterLock::new(),
            staged: std::sync::Mutex::new(state),
            committer,
            revision,
            users: RwLock::new(users),
            revoked: RwLock::new(revoked),
            revocations_made: tokio::sync::Notify::new(),
            limiter: std::sync::Mutex::new(LoginLimiter::new(LimiterConfig::default())),
            hashing: users::hash_gate(),
            applied: watch::channel(None).0,
            observed: RwLock::new(None),
            replica: std::sync::Mutex::new(replica),
            log_head: watch::channel(head).0,
            max_clock_skew: director_sync::SkewBound::DEFAULT,
            digest: std::sync::Mutex::new(sync::DigestCache::default()),
        };
        service.bootstrap_registers(&service.snapshot()).await?;
        Ok(service)
    }

    /// Limits failed logins with `config` instead of the defaults.
    pub fn with_login_limits(self, config: LimiterConfig) -> Self {
        Service {
            limiter: std::sync::Mutex::new(LoginLimiter::new(config)),
            ..self
        }
    }

    /// Refuses peers' changes stamped more than `bound` ahead of this node's clock (default: one minute).
    pub fn with_max_clock_skew(self, bound: director_sync::SkewBound) -> Self {
        Service {
            max_clock_skew: bound,
            ..self
        }
    }

    fn replica(&self) -> std::sync::MutexGuard<'_, replica::Replica> {
        self.replica
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current desired state. Cheap: an `Arc` clone.
    pub fn snapshot(&self) -> Arc<DesiredState> {
        self.state
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Follows the global revision; changes whenever the desired state does.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.revision.subscribe()
    }

    /// Follows the revision the kernel has reached; `None` while no dataplane applies the state.
    pub fn applied(&self) -> watch::Receiver<Option<u64>> {
        self.applied.subscribe()
    }

    pub fn applied_revision(&self) -> Option<u64> {
        *self.applied.borrow()
    }

    /// Called by the reconciler after a pass that brought the kernel to `revision`.
    pub fn set_applied(&self, revision: u64) {
        self.applied.send_if_modified(|r| {
            let changed = *r != Some(revision);
            *r = Some(revision);
            changed
        });
    }

    /// The kernel table as last observed (with counters), if a dataplane runs.
    pub fn observed(&self) -> Option<Arc<director_kernel_table::Table>> {
        self.observed.read().ok().and_then(|o| o.clone())
    }

    pub fn set_observed(&self, table: Arc<director_kernel_table::Table>) {
        if let Ok(mut o) = self.observed.write() {
            *o = Some(table);
        }
    }

    /// Publishes `state` unless a later one is published already (writers are answered in any order).
    fn publish_arc(&self, state: Arc<DesiredState>) {
        let revision = state.revision;
        {
            let mut s = self.state.write().unwrap_or_else(|p| p.into_inner());
            if s.revision > revision {
                return;
            }
            *s = state;
        }
        self.revision.send_if_modified(|r| {
            let newer = revision > *r;
            if newer {
                *r = revision;
            }
            newer
        });
    }

    fn audit_entry(
        &self,
        actor: &Actor,
        action: &str,
        kind: &str,
        object: String,
    ) -> NewAuditEntry {
        NewAuditEntry {
            at: now(),
            actor: actor.name.clone(),
            via: actor.via.as_str().to_string(),
            node: self.node.clone(),
            action: action.to_string(),
            kind: kind.to_string(),
            object,
            fields: Vec::new(),
            before: None,
            after: None,
            summary: String::new(),
            source: Source::of_via(actor.via.as_str()),
        }
    }

    /// Audit entries matching `filter`, newest first, and the cursor of the next page.
    pub async fn audit(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> Result<(Vec<AuditEntry>, Option<String>)> {
        require(actor, Role::Viewer)?;
        let limit = filter.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ServiceError::bad_request(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let cursor =
            match &filter.cursor {
                Some(c) => Some(c.parse::<i64>().map_err(|_| {
                    ServiceError::bad_request("cursor", "not a cursor from this API")
                })?),
                None => None,
            };
        let sources = audit_sources(filter)?;
        for (field, value) in [("since", &filter.since), ("until", &filter.until)] {
            if let Some(v) = value {
                chrono::DateTime::parse_from_rfc3339(v).map_err(|_| {
                    ServiceError::bad_request(field, format!("{v:?} is not an RFC 3339 time"))
                })?;
            }
        }
        let mut filter = filter.clone();
        for bound in [&mut filter.since, &mut filter.until] {
            if let Some(v) = bound.as_mut() {
                if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
                    *v = t
                        .with_timezone(&Utc)
                        .to_rfc3339_opts(SecondsFormat::Millis, true);
                }
            }
        }
        let entries = self
            .store
            .audit(&filter, &sources, limit + 1, cursor)
            .await?;
        let mut entries = entries;
        let next = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.id.to_string())
        } else {
            None
        };
        Ok((visible_entries(actor, entries), next))
    }
}

/// The streams an audit query reads: those its `source` names; without one, the changes, or every stream
/// when `via` is given (a `via` names its stream already: `via=health` lists health transitions).
pub fn audit_sources(filter: &AuditFilter) -> Result<BTreeSet<Source>> {
    match &filter.source {
        Some(text) => Source::parse_selection(text)
            .map_err(|message| ServiceError::bad_request("source", message)),
        None if filter.via.is_some() => Ok(Source::ALL.into_iter().collect()),
        None => Ok(BTreeSet::from([Source::Change])),
    }
}

/// The time as the audit log writes it: RFC 3339, UTC, milliseconds.
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Refuses a `"***"` left where a secret goes once what the caller was shown has been restored
/// (`director_core::secrets`): the placeholder is never stored.
fn refuse_withheld(field: Option<String>) -> Result<()> {
    match field {
        None => Ok(()),
        Some(field) => Err(ServiceError::invalid(
            field,
            format!(
                "{:?} stands for a secret withheld from readers, and there is no stored value here for it \
                 to keep: send the value itself",
                director_core::secrets::WITHHELD
            ),
        )),
    }
}

/// Audit entries as `actor` may read them: secrets in `before` and `after` withheld below admin. The stored
/// entries stay whole (admins, and peers, read them as written).
fn visible_entries(actor: &Actor, mut entries: Vec<AuditEntry>) -> Vec<AuditEntry> {
    if actor.visibility() == director_core::secrets::Visibility::Redacted {
        for e in &mut entries {
            for v in [&mut e.before, &mut e.after].into_iter().flatten() {
                director_core::secrets::withhold_audit(&e.kind, v);
            }
        }
    }
    entries
}

/// Refuses actors below `role`.
pub fn require(actor: &Actor, role: Role) -> Result<()> {
    if actor.role < role {
        return Err(ServiceError::Forbidden(format!(
            "this needs the {role} role; {} is {}",
            actor.name, actor.role
        )));
    }
    Ok(())
}

/// What a write changes, for judging the caller before the body: operators may change the weight and the
/// enabled state of real servers (of a virtual server, or one real server) and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A virtual server's whole object (its real servers at `real_servers[N]`).
    VirtualServer,
    /// One real server's object.
    RealServer,
    /// Anything else: admins only.
    AdminOnly,
}

impl Scope {
    /// The role a caller needs to send this kind of write at all.
    pub fn role(self) -> Role {
        match self {
            Scope::VirtualServer | Scope::RealServer => Role::Operator,
            Scope::AdminOnly => Role::Admin,
        }
    }

    /// Whether a non-admin may set `field` (a JSON path as errors name it).
    fn operator_may_set(self, field: &str) -> bool {
        let own = match self {
            Scope::RealServer => field,
            Scope::VirtualServer => match field
                .strip_prefix("real_servers[")
                .and_then(|rest| rest.split_once("]."))
            {
                Some((index, rest)) if index.parse::<usize>().is_ok() => rest,
                _ => return false,
            },
            Scope::AdminOnly => return false,
        };
        own == "weight" || own == "enabled"
    }
}

/// The role is judged before the body: a caller below the scope's role is refused whatever it sent, and a
/// non-admin's invalid body is a 403 unless the invalid field is one the caller may change (an operator
/// sending an invalid health check is told it may not change health checks, not how to fix one).
pub fn screen(actor: &Actor, scope: Scope, error: ServiceError) -> ServiceError {
    if let Err(e) = require(actor, scope.role()) {
        return e;
    }
    if actor.role >= Role::Admin {
        return error;
    }
    match &error {
        ServiceError::Invalid { field, .. } | ServiceError::BadRequest { field, .. }
            if !scope.operator_may_set(field) =>
        {
            ServiceError::Forbidden(format!(
                "{} is an operator: operators may change only the weight and enabled state of real servers",
                actor.name
            ))
        }
        _ => error,
    }
}

/// Checks an `If-Match` revision against the object's.
fn check_revision(expected: Option<u64>, current: u64) -> Result<()> {
    match expected {
        Some(e) if e != current => Err(ServiceError::Stale {
            expected: e,
            current,
        }),
        _ => Ok(()),
    }
}
