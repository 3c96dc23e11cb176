//! The health state of one target and the rise/fall logic that moves it. Pure: no IO, time is passed in.
//!
//! keepalived's semantics, with its `alpha` behaviour always on:
//! - a new target starts [`Status::Unknown`] and gets no traffic until it proves itself;
//! - Unknown -> Up after `rise` consecutive successes; Unknown -> Down on the first failure;
//! - Up -> Down after `fall` consecutive failures;
//! - Down -> Up after `rise` consecutive successes.

use crate::target::TargetId;
use crate::time_format;
use serde::Serialize;
use std::time::{Duration, SystemTime};

/// Whether a real server should get traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not proven yet: no traffic until the first successes.
    Unknown,
    Up,
    Down,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Up => "up",
            Status::Down => "down",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server passed; a script check with `dynamic_weight` may also set its weight.
    Success { dynamic_weight: Option<u32> },
    /// The server failed, and why (`connect refused`, `timeout after 3000 ms`, `status 503`, `exit 1`...).
    Failure { error: String },
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success { .. })
    }
}

/// What the engine knows about one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthState {
    pub status: Status,
    /// When `status` took its current value (or when the target appeared).
    #[serde(serialize_with = "time_format::serialize_time")]
    pub since: SystemTime,
    /// When the last check finished.
    #[serde(serialize_with = "time_format::serialize_opt_time")]
    pub last_check: Option<SystemTime>,
    /// Why the last check failed; `None` after a success.
    pub last_error: Option<String>,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    /// How long the last check took.
    #[serde(
        rename = "last_latency_ms",
        serialize_with = "time_format::serialize_opt_millis"
    )]
    pub last_latency: Option<Duration>,
    /// The weight set by a script check with `dynamic_weight` (exit code - 2); `None` when never set.
    pub dynamic_weight: Option<u32>,
    /// Checks run since the target appeared.
    pub checks: u64,
}

/// What one observation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Change {
    /// `(from, to)` when the status changed.
    pub status: Option<(Status, Status)>,
    /// The dynamic weight changed.
    pub weight: bool,
}

impl Change {
    pub fn any(&self) -> bool {
        self.status.is_some() || self.weight
    }
}

impl HealthState {
    /// A target just added: unknown until checked.
    pub fn new(now: SystemTime) -> Self {
        Self::with_status(Status::Unknown, now)
    }

    /// A target that is not checked (check type `none`): always up.
    pub fn unchecked(now: SystemTime) -> Self {
        Self::with_status(Status::Up, now)
    }

    fn with_status(status: Status, now: SystemTime) -> Self {
        HealthState {
            status,
            since: now,
            last_check: None,
            last_error: None,
            consecutive_successes: 0,
            consecutive_failures: 0,
            last_latency: None,
            dynamic_weight: None,
            checks: 0,
        }
    }

    /// Records the outcome of a check that finished at `at` after `latency`, with the target's `rise` and
    /// `fall` thresholds (0 counts as 1).
    pub fn observe(
        &mut self,
        at: SystemTime,
        latency: Duration,
        outcome: Outcome,
        rise: u32,
        fall: u32,
    ) -> Change {
        let rise = rise.max(1);
        let fall = fall.max(1);
        let before = self.status;
        let weight_before = self.dynamic_weight;
        self.checks = self.checks.saturating_add(1);
        self.last_check = Some(at);
        self.last_latency = Some(latency);
        match outcome {
            Outcome::Success { dynamic_weight } => {
                self.consecutive_successes = self.consecutive_successes.saturating_add(1);
                self.consecutive_failures = 0;
                self.last_error = None;
                if dynamic_weight.is_some() {
                    self.dynamic_weight = dynamic_weight;
                }
                if self.status != Status::Up && self.consecutive_successes >= rise {
                    self.status = Status::Up;
                }
            }
            Outcome::Failure { error } => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.consecutive_successes = 0;
                self.last_error = Some(error);
                match self.status {
                    Status::Unknown => self.status = Status::Down,
                    Status::Up if self.consecutive_failures >= fall => self.status = Status::Down,
                    _ => {}
                }
            }
        }
        self.set_status_time(before, at);
        Change {
            status: (self.status != before).then_some((before, self.status)),
            weight: self.dynamic_weight != weight_before,
        }
    }

    /// Forces a status (the check was removed: `none` means up). Returns the change, if any.
    pub fn force(&mut self, status: Status, at: SystemTime) -> Change {
        let before = self.status;
        self.status = status;
        self.set_status_time(before, at);
        if before != status {
            self.last_error = None;
        }
        Change {
            status: (status != before).then_some((before, status)),
            weight: false,
        }
    }

    /// Drops the dynamic weight (the check no longer sets one). Returns whether it was set.
    pub fn clear_dynamic_weight(&mut self) -> bool {
        self.dynamic_weight.take().is_some()
    }

    fn set_status_time(&mut self, before: Status, at: SystemTime) {
        if self.status != before {
            self.since = at;
        }
    }
}

/// A status change of one target, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub id: TargetId,
    pub from: Status,
    pub to: Status,
    #[serde(serialize_with = "time_format::serialize_time")]
    pub at: SystemTime,
    /// The failure that caused a change to down.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const S: bool = true;
    const F: bool = false;

    fn outcome(ok: bool) -> Outcome {
        if ok {
            Outcome::Success {
                dynamic_weight: None,
            }
        } else {
            Outcome::Failure {
                error: "connect refused".into(),
            }
        }
    }

    fn at(i: usize) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000 + i as u64)
    }

    /// Runs `seq` through a fresh state; returns the statuses after each step and the changes.
    fn run(seq: &[bool], rise: u32, fall: u32) -> (HealthState, Vec<Status>, Vec<Change>) {
        let mut st = HealthState::new(at(0));
        let mut statuses = vec![];
        let mut changes = vec![];
        for (i, ok) in seq.iter().enumerate() {
            changes.push(st.observe(
                at(i + 1),
                Duration::from_millis(1),
                outcome(*ok),
                rise,
                fall,
            ));
            statuses.push(st.status);
        }
        (st, statuses, changes)
    }

    /// The rules written a second, independent way: by looking at windows of the last observations
    /// instead of keeping counters.
    fn oracle(seq: &[bool], rise: usize, fall: usize) -> Vec<Status> {
        let mut status = Status::Unknown;
        let mut out = vec![];
        for i in 0..seq.len() {
            let window_all =
                |n: usize, v: bool| i + 1 >= n && seq[i + 1 - n..=i].iter().all(|x| *x == v);
            status = match status {
                Status::Unknown if !seq[i] => Status::Down,
                Status::Unknown | Status::Down if window_all(rise, S) => Status::Up,
                Status::Up if window_all(fall, F) => Status::Down,
                s => s,
            };
            out.push(status);
        }
        out
    }

    #[test]
    fn every_sequence_up_to_12_checks_follows_the_rules() {
        for rise in 1..=4u32 {
            for fall in 1..=4u32 {
                for len in 0..=12usize {
                    for bits in 0u32..(1 << len) {
                        let seq: Vec<bool> = (0..len).map(|i| bits & (1 << i) != 0).collect();
                        let (st, statuses, changes) = run(&seq, rise, fall);
                        let expected = oracle(&seq, rise as usize, fall as usize);
                        assert_eq!(statuses, expected, "rise {rise} fall {fall} seq {seq:?}");
                        // One change reported per status change, with the right from/to.
                        let mut prev = Status::Unknown;
                        for (i, c) in changes.iter().enumerate() {
                            let now = statuses[i];
                            if now == prev {
                                assert_eq!(c.status, None);
                            } else {
                                assert_eq!(c.status, Some((prev, now)));
                            }
                            prev = now;
                        }
                        // Counters are the length of the trailing run.
                        let tail =
                            |v: bool| seq.iter().rev().take_while(|x| **x == v).count() as u32;
                        assert_eq!(st.consecutive_successes, tail(S));
                        assert_eq!(st.consecutive_failures, tail(F));
                        assert_eq!(st.checks, len as u64);
                        // `since` is the time of the last status change.
                        let last_change = (0..len).rev().find(|i| changes[*i].status.is_some());
                        assert_eq!(st.since, last_change.map_or(at(0), |i| at(i + 1)));
                        assert_eq!(st.last_error.is_some(), seq.last() == Some(&F));
                    }
                }
            }
        }
    }

    #[test]
    fn named_cases() {
        // A new server needs `rise` successes, and is down at once on a first failure.
        assert_eq!(run(&[S, S], 3, 3).1, vec![Status::Unknown, Status::Unknown]);
        assert_eq!(run(&[S, S, S], 3, 3).1[2], Status::Up);
        assert_eq!(run(&[F], 3, 3).1, vec![Status::Down]);
        assert_eq!(run(&[S, F], 3, 3).1, vec![Status::Unknown, Status::Down]);
        // Up survives fall-1 failures, and a success resets the count.
        let (_, st, _) = run(&[S, F, F, S, F, F, F], 1, 3);
        assert_eq!(
            st,
            vec![
                Status::Up,
                Status::Up,
                Status::Up,
                Status::Up,
                Status::Up,
                Status::Up,
                Status::Down
            ]
        );
        // Down needs `rise` successes in a row again.
        let (_, st, _) = run(&[F, S, F, S, S], 2, 1);
        assert_eq!(
            st,
            vec![
                Status::Down,
                Status::Down,
                Status::Down,
                Status::Down,
                Status::Up
            ]
        );
    }

    #[test]
    fn zero_thresholds_count_as_one() {
        assert_eq!(run(&[S], 0, 0).1, vec![Status::Up]);
        assert_eq!(run(&[S, F], 0, 0).1, vec![Status::Up, Status::Down]);
    }

    #[test]
    fn failure_records_the_error_and_success_clears_it() {
        let mut st = HealthState::new(at(0));
        let c = st.observe(
            at(1),
            Duration::from_millis(3000),
            Outcome::Failure {
                error: "timeout after 3000 ms".into(),
            },
            1,
            1,
        );
        assert_eq!(c.status, Some((Status::Unknown, Status::Down)));
        assert_eq!(st.last_error.as_deref(), Some("timeout after 3000 ms"));
        assert_eq!(st.last_latency, Some(Duration::from_millis(3000)));
        assert_eq!(st.last_check, Some(at(1)));
        st.observe(at(2), Duration::from_millis(2), outcome(S), 1, 1);
        assert_eq!(st.last_error, None);
        assert_eq!(st.since, at(2));
    }

    #[test]
    fn dynamic_weight_is_kept_until_a_new_one_is_reported() {
        let mut st = HealthState::new(at(0));
        let w = |w| Outcome::Success { dynamic_weight: w };
        let c = st.observe(at(1), Duration::ZERO, w(Some(5)), 1, 1);
        assert!(c.weight);
        assert_eq!(c.status, Some((Status::Unknown, Status::Up)));
        assert_eq!(st.dynamic_weight, Some(5));
        // Exit 0 (no weight) leaves the last weight, as keepalived's misc_dynamic does.
        let c = st.observe(at(2), Duration::ZERO, w(None), 1, 1);
        assert!(!c.any());
        assert_eq!(st.dynamic_weight, Some(5));
        // The same weight again is no change; a new one is.
        assert!(!st.observe(at(3), Duration::ZERO, w(Some(5)), 1, 1).any());
        assert!(st.observe(at(4), Duration::ZERO, w(Some(0)), 1, 1).weight);
        // A failure keeps the weight (the server is down anyway).
        let c = st.observe(at(5), Duration::ZERO, outcome(F), 1, 1);
        assert!(!c.weight);
        assert_eq!(st.dynamic_weight, Some(0));
        assert!(st.clear_dynamic_weight());
        assert!(!st.clear_dynamic_weight());
    }

    #[test]
    fn force_reports_a_change_only_when_the_status_differs() {
        let mut st = HealthState::new(at(0));
        st.observe(at(1), Duration::ZERO, outcome(F), 1, 1);
        let c = st.force(Status::Up, at(2));
        assert_eq!(c.status, Some((Status::Down, Status::Up)));
        assert_eq!(st.since, at(2));
        assert_eq!(st.last_error, None);
        assert!(!st.force(Status::Up, at(3)).any());
        assert_eq!(st.since, at(2));
    }

    #[test]
    fn serializes_for_the_api() {
        let mut st = HealthState::new(UNIX_EPOCH + Duration::from_secs(86_400));
        st.observe(
            UNIX_EPOCH + Duration::from_millis(86_401_500),
            Duration::from_micros(1_250),
            outcome(S),
            1,
            3,
        );
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json["status"], "up");
        assert_eq!(json["since"], "1970-01-02T00:00:01.500Z");
        assert_eq!(json["last_check"], "1970-01-02T00:00:01.500Z");
        assert_eq!(json["last_latency_ms"], 1.25);
        assert_eq!(json["last_error"], serde_json::Value::Null);
        assert_eq!(json["checks"], 1);
        let t = Transition {
            id: TargetId::new("web", "10.0.0.1:80".parse().unwrap()),
            from: Status::Unknown,
            to: Status::Up,
            at: UNIX_EPOCH,
            error: None,
        };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["id"], "web/10.0.0.1:80");
        assert_eq!(json["from"], "unknown");
        assert_eq!(json["to"], "up");
    }
}
