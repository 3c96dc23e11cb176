//! director-health: health checking of real servers.
//!
//! The daemon hands the [`Engine`] the set of [`Target`]s to check (one per real server, with its effective
//! [`HealthCheck`](director_core::model::HealthCheck)); the engine runs one Tokio task per target, each
//! checking on a drift-free schedule, and keeps a [`HealthState`] per target that the reconciler reads
//! through [`Engine::snapshot`]. It signals every status or dynamic-weight change on [`Engine::changes`]
//! and publishes each status [`Transition`] on [`Engine::transitions`] for the audit log.
//!
//! ```no_run
//! use director_health::{Engine, Options, Target};
//!
//! # async fn wire(targets: Vec<Target>) {
//! let engine = Engine::start(Options::default());
//! let mut transitions = engine.transitions();
//! let mut changes = engine.changes();
//! engine.set_targets(targets); // again on every desired-state revision: unchanged targets keep their state
//! tokio::spawn(async move {
//!     while let Ok(t) = transitions.recv().await {
//!         println!("{}: {} -> {} ({:?})", t.id, t.from, t.to, t.error); // the audit log
//!     }
//! });
//! while changes.changed().await.is_ok() {
//!     let health = engine.snapshot(); // Arc<BTreeMap<TargetId, HealthState>>
//!     // ... recompute the kernel table with `health` ...
//! #   drop(health);
//! }
//! # }
//! ```
//!
//! Architecture invariant: imports only `director-core` of director; it knows nothing of the store, the audit
//! log or the kernel: the runtime feeds it targets and reads its verdicts.
//!
//! Layout:
//! - [`state`]: the pure rise/fall logic (keepalived semantics; no IO, time passed in).
//! - [`schedule`]: the pure scheduling arithmetic (next start, warmup).
//! - [`checker`]: the [`Checker`](checker::Checker) trait and one module per kind (`tcp`, `http` for http
//!   and https over [`checker::http1`], `script`). A new kind is one new module and one line in
//!   [`checker::build`].
//! - [`engine`]: the IO shell: tasks, the shared state table, notifications.
//! - [`lateness`]: a lock-free histogram of scheduling lateness (actual start - scheduled start).

pub mod checker;
pub mod engine;
pub mod lateness;
pub mod schedule;
pub mod state;
pub mod target;
mod time_format;

pub use checker::CheckError;
pub use engine::{Engine, Options, Stats};
pub use lateness::LatenessSummary;
pub use state::{HealthState, Outcome, Status, Transition};
pub use target::{target_changes, targets, targets_of, Target, TargetChanges, TargetId};

/// The state of every checked target at one moment, as [`Engine::snapshot`] hands it out (shared, cheap to
/// clone).
pub type Snapshot = std::sync::Arc<std::collections::BTreeMap<TargetId, HealthState>>;
