//! Tracking: what lowers (or raises) an instance's priority, or puts it in fault.
//!
//! Effective priority = priority + the weights of the failed tracks, kept within 1..254 (the address owner
//! keeps 255). A failed track of weight 0 puts the instance in fault, as does its own interface being down
//! or missing. Tracks:
//! - `interface`: failed while the link is not running (administratively down or operstate down);
//! - `script`: failed while the command exits non-zero, cannot start, or outlives the track interval;
//! - `virtual_server`: failed while the virtual server is below its quorum, as published on a watch of the
//!   names of such virtual servers (the reconciler's, with health; until it is wired, [`desired_below_quorum`]
//!   computes it from the desired state alone).

use crate::vrrp::interface;
use director_core::model::vrrp_group::Track;
use director_core::DesiredState;
use director_service::Service;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often interfaces are looked at (cheap: one rtnetlink dump).
const INTERFACE_POLL: Duration = Duration::from_millis(200);

/// What is tracked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Interface(String),
    Script(Vec<String>),
    VirtualServer(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSpec {
    pub probe: Probe,
    pub weight: i32,
}

impl TrackSpec {
    /// `None` for a track naming nothing (validation refuses those).
    pub fn from_model(t: &Track) -> Option<Self> {
        let probe = if let Some(i) = &t.interface {
            Probe::Interface(i.clone())
        } else if let Some(vs) = &t.virtual_server {
            Probe::VirtualServer(vs.clone())
        } else {
            Probe::Script(t.script.clone()?)
        };
        Some(TrackSpec {
            probe,
            weight: t.weight,
        })
    }

    fn describe(&self) -> String {
        let what = match &self.probe {
            Probe::Interface(i) => format!("interface {i}"),
            // Status, faults and transition summaries are read by every role: no arguments (secrets).
            Probe::Script(cmd) => format!(
                "script {}",
                director_core::secrets::withheld_command(cmd).join(" ")
            ),
            Probe::VirtualServer(vs) => format!("virtual_server {vs}"),
        };
        format!("{what} ({:+})", self.weight)
    }
}

/// The verdict of the tracks at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Sum of the weights of the failed tracks.
    pub adjustment: i32,
    /// Why the instance must be in fault, if it must.
    pub fault: Option<String>,
    /// The failed tracks, described.
    pub failed: Vec<String>,
}

/// The verdict given which tracks failed (`failed[i]` for `tracks[i]`) and the state of the instance's own
/// interface (`None`: it does not exist).
pub fn evaluate(
    tracks: &[TrackSpec],
    failed: &[bool],
    interface: &str,
    own_running: Option<bool>,
) -> Outcome {
    let mut out = Outcome::default();
    for (t, f) in tracks.iter().zip(failed) {
        if !f {
            continue;
        }
        out.failed.push(t.describe());
        if t.weight == 0 {
            out.fault
                .get_or_insert_with(|| format!("{} failed", t.describe()));
        } else {
            out.adjustment += t.weight;
        }
    }
    match own_running {
        None => out.fault = Some(format!("interface {interface} does not exist")),
        Some(false) => out.fault = Some(format!("interface {interface} is down")),
        Some(true) => {}
    }
    out
}

/// The priority to advertise: `base` adjusted, within 1..254; 255 (the address owner) stays 255.
pub fn effective_priority(base: u8, adjustment: i32) -> u8 {
    if base == 255 {
        return 255;
    }
    (i32::from(base) + adjustment).clamp(1, 254) as u8
}

/// The virtual servers whose count of up real servers is below their quorum, from the desired state alone:
/// every enabled real server counts as up (no health results here).
pub fn below_quorum(state: &DesiredState) -> BTreeSet<String> {
    state
        .virtual_servers
        .iter()
        .filter(|(_, vs)| {
            let up = vs.spec.real_servers.iter().filter(|r| r.enabled).count();
            (up as u64) < u64::from(vs.spec.quorum)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// A watch of [`below_quorum`] following the desired state: what VRRP tracks on a node without an IPVS table
/// (the reconciler's watch, which also knows health, judges quorum only where it programs the services).
pub fn desired_below_quorum(service: Arc<Service>) -> watch::Receiver<Arc<BTreeSet<String>>> {
    let (tx, rx) = watch::channel(Arc::new(below_quorum(&service.snapshot())));
    let mut revision = service.subscribe();
    tokio::spawn(async move {
        while revision.changed().await.is_ok() {
            let set = below_quorum(&service.snapshot());
            tx.send_if_modified(|cur| {
                if **cur == set {
                    false
                } else {
                    *cur = Arc::new(set);
                    true
                }
            });
            if tx.is_closed() {
                break;
            }
        }
    });
    rx
}

/// A running tracker; dropping it stops it.
#[derive(Debug)]
pub struct Tracker {
    task: JoinHandle<()>,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Tracker {
    /// Starts tracking; the first outcome is on the watch when this returns, once every script ran once.
    pub async fn start(
        interface: String,
        tracks: Vec<TrackSpec>,
        script_interval: Duration,
        below_quorum: watch::Receiver<Arc<BTreeSet<String>>>,
    ) -> (Tracker, watch::Receiver<Outcome>) {
        let mut state = TrackerState {
            interface,
            tracks,
            script_interval: script_interval.max(Duration::from_millis(100)),
            below_quorum,
            script_failed: Vec::new(),
        };
        state.run_scripts().await;
        let (tx, rx) = watch::channel(state.outcome());
        let task = tokio::spawn(state.run(tx));
        (Tracker { task }, rx)
    }
}

struct TrackerState {
    interface: String,
    tracks: Vec<TrackSpec>,
    script_interval: Duration,
    below_quorum: watch::Receiver<Arc<BTreeSet<String>>>,
    /// Last result of each track that is a script (index into `tracks`, failed).
    script_failed: Vec<(usize, bool)>,
}

impl TrackerState {
    async fn run(mut self, tx: watch::Sender<Outcome>) {
        let mut links = tokio::time::interval(INTERFACE_POLL);
        links.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let has_scripts = self
            .tracks
            .iter()
            .any(|t| matches!(t.probe, Probe::Script(_)));
        let mut scripts = tokio::time::interval(self.script_interval);
        scripts.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        scripts.tick().await; // the first run happened in start
        let mut quorum_open = true;
        loop {
            tokio::select! {
                _ = links.tick() => {}
                _ = scripts.tick(), if has_scripts => self.run_scripts().await,
                r = self.below_quorum.changed(), if quorum_open => {
                    if r.is_err() {
                        quorum_open = false;
                    }
                }
            }
            let outcome = self.outcome();
            tx.send_if_modified(|cur| {
                if *cur == outcome {
                    false
                } else {
                    *cur = outcome;
                    true
                }
            });
            if tx.is_closed() {
                return;
            }
        }
    }

    async fn run_scripts(&mut self) {
        let timeout = self.script_interval;
        let runs = self
            .tracks
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.probe {
                Probe::Script(cmd) => Some((i, cmd.clone())),
                _ => None,
            })
            .map(|(i, cmd)| async move { (i, !run_script(&cmd, timeout).await) });
        let mut results = Vec::new();
        for run in runs.collect::<Vec<_>>() {
            results.push(tokio::spawn(run));
        }
        let mut failed = Vec::new();
        for r in results {
            if let Ok(r) = r.await {
                failed.push(r);
            }
        }
        self.script_failed = failed;
    }

    fn outcome(&self) -> Outcome {
        let links = interface::links().ok();
        let running = |name: &str| links.as_ref().and_then(|l| l.get(name)).map(|l| l.running);
        let below = self.below_quorum.borrow().clone();
        let failed: Vec<bool> = self
            .tracks
            .iter()
            .enumerate()
            .map(|(i, t)| match &t.probe {
                Probe::Interface(name) => running(name) != Some(true),
                Probe::VirtualServer(vs) => below.contains(vs),
                Probe::Script(_) => self
                    .script_failed
                    .iter()
                    .find(|(j, _)| *j == i)
                    .is_some_and(|(_, f)| *f),
            })
            .collect();
        let own = match &links {
            Some(_) => running(&self.interface),
            // Cannot read the interfaces at all: do not invent a fault.
            None => Some(true),
        };
        evaluate(&self.tracks, &failed, &self.interface, own)
    }
}

/// Runs a track script: success is exit status 0 within `timeout`.
async fn run_script(cmd: &[String], timeout: Duration) -> bool {
    let Some((program, args)) = cmd.split_first() else {
        return false;
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(script = %program, error = %e, "track script cannot start");
            return false;
        }
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status.success(),
        Ok(Err(e)) => {
            tracing::warn!(script = %program, error = %e, "track script");
            false
        }
        Err(_) => {
            tracing::warn!(script = %program, timeout_ms = timeout.as_millis() as u64, "track script timed out");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(probe: Probe, weight: i32) -> TrackSpec {
        TrackSpec { probe, weight }
    }

    #[test]
    fn failed_weights_add_up_and_zero_means_fault() {
        let tracks = vec![
            t(Probe::VirtualServer("web".into()), -20),
            t(Probe::Interface("eth1".into()), -30),
            t(
                Probe::Script(vec!["/bin/check".into(), "--token".into(), "t0ken".into()]),
                10,
            ),
            t(Probe::Interface("eth2".into()), 0),
        ];
        let o = evaluate(&tracks, &[false; 4], "eth0", Some(true));
        assert_eq!(o, Outcome::default());

        let o = evaluate(&tracks, &[true, true, true, false], "eth0", Some(true));
        assert_eq!(o.adjustment, -40);
        assert_eq!(o.fault, None);
        assert_eq!(
            o.failed,
            [
                "virtual_server web (-20)",
                "interface eth1 (-30)",
                "script /bin/check *** *** (+10)"
            ]
        );

        let o = evaluate(&tracks, &[false, false, false, true], "eth0", Some(true));
        assert_eq!(o.fault.as_deref(), Some("interface eth2 (+0) failed"));

        let o = evaluate(&tracks, &[false; 4], "eth0", Some(false));
        assert_eq!(o.fault.as_deref(), Some("interface eth0 is down"));
        let o = evaluate(&[], &[], "eth9", None);
        assert_eq!(o.fault.as_deref(), Some("interface eth9 does not exist"));
    }

    #[test]
    fn effective_priority_is_clamped_and_owner_stays() {
        assert_eq!(effective_priority(100, -20), 80);
        assert_eq!(effective_priority(100, -200), 1);
        assert_eq!(effective_priority(200, 100), 254);
        assert_eq!(effective_priority(255, -100), 255);
    }

    #[test]
    fn below_quorum_counts_enabled_real_servers() {
        let vs = |name: &str, quorum: u32, enabled: &[bool]| {
            let rs: Vec<_> = enabled
                .iter()
                .enumerate()
                .map(|(i, e)| serde_json::json!({"address": format!("10.0.0.{}", i + 1), "port": 80, "enabled": e}))
                .collect();
            serde_json::from_value::<director_core::model::VirtualServer>(serde_json::json!({
                "name": name, "protocol": "tcp", "address": "192.168.10.180", "port": 80,
                "quorum": quorum, "real_servers": rs
            }))
            .unwrap()
        };
        let mut state = DesiredState::default();
        for v in [
            vs("ok", 1, &[true, false]),
            vs("all-disabled", 1, &[false, false]),
            vs("short", 3, &[true, true, false]),
            vs("empty", 1, &[]),
        ] {
            state.virtual_servers.insert(
                v.name.clone(),
                Arc::new(director_core::state::VirtualServerRecord {
                    spec: v,
                    revision: 1,
                    real_server_revisions: Default::default(),
                }),
            );
        }
        let below: Vec<_> = below_quorum(&state).into_iter().collect();
        assert_eq!(below, ["all-disabled", "empty", "short"]);
    }

    #[tokio::test]
    async fn scripts_succeed_fail_and_time_out() {
        let sh = |s: &str| vec!["/bin/sh".to_string(), "-c".to_string(), s.to_string()];
        assert!(run_script(&sh("exit 0"), Duration::from_secs(5)).await);
        assert!(!run_script(&sh("exit 3"), Duration::from_secs(5)).await);
        assert!(!run_script(&sh("sleep 5"), Duration::from_millis(100)).await);
        assert!(!run_script(&["/nonexistent/check".to_string()], Duration::from_secs(1)).await);
    }
}
