//! The first results after the daemon starts, gathered into one audit entry. Pure: time is passed in.
//!
//! When the daemon starts, every real server's first health result (`unknown -> up`) and every VRRP group's
//! first role (`init -> backup`) arrive within seconds; one entry each would bury the log (151 rows for one
//! restart). A [`StartBurst`] holds the first results of the members known at start until every member has
//! one, or the deadline passes, and then releases them as one [`Release::Burst`]. Everything else passes
//! straight through as [`Release::One`]: later results (`up -> down`), and first results of members added
//! after the start. A later result of a member whose first result is held releases what is held first, so
//! that the log keeps the order things happened in; the burst then goes on waiting for the others.

use std::collections::BTreeSet;
use std::time::Instant;

/// What to write to the audit log, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release<K, T> {
    /// One result, one entry.
    One(T),
    /// First results at start (two or more), and the members still waiting for theirs.
    Burst { results: Vec<T>, waiting: Vec<K> },
}

/// The first results of the members known at start, held until all have one.
#[derive(Debug)]
pub struct StartBurst<K, T> {
    waiting: BTreeSet<K>,
    held: Vec<(K, T)>,
    /// `None` once the burst is over: everything passes through.
    deadline: Option<Instant>,
}

impl<K: Ord + Clone, T> StartBurst<K, T> {
    /// Waits for the first results of `members` until `deadline`. With fewer than two members there is
    /// nothing to gather.
    pub fn new(members: impl IntoIterator<Item = K>, deadline: Instant) -> Self {
        let waiting: BTreeSet<K> = members.into_iter().collect();
        let deadline = (waiting.len() >= 2).then_some(deadline);
        StartBurst {
            waiting,
            held: Vec::new(),
            deadline,
        }
    }

    /// When [`StartBurst::due`] has something to release, while the burst lasts.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// A result of `key` at `now`: its first (from `unknown`, from `init`) or a later one.
    pub fn observe(&mut self, key: K, first: bool, result: T, now: Instant) -> Vec<Release<K, T>> {
        let mut out = self.due(now);
        if self.deadline.is_none() {
            out.push(Release::One(result));
            return out;
        }
        if first && self.waiting.remove(&key) {
            self.held.push((key, result));
            if self.waiting.is_empty() {
                out.extend(self.finish());
            }
            return out;
        }
        if self.held.iter().any(|(k, _)| *k == key) {
            out.extend(self.release_held());
        }
        out.push(Release::One(result));
        out
    }

    /// `key` is gone (no longer checked, no longer run): its first result is not waited for.
    pub fn forget(&mut self, key: &K) -> Vec<Release<K, T>> {
        if self.deadline.is_some() && self.waiting.remove(key) && self.waiting.is_empty() {
            return self.finish();
        }
        Vec::new()
    }

    /// What the deadline releases at `now`: everything held; the burst is over.
    pub fn due(&mut self, now: Instant) -> Vec<Release<K, T>> {
        match self.deadline {
            Some(d) if now >= d => self.finish(),
            _ => Vec::new(),
        }
    }

    /// Ends the burst (the deadline, the daemon stopping): everything held is released.
    pub fn finish(&mut self) -> Vec<Release<K, T>> {
        let out = self.release_held();
        self.deadline = None;
        self.waiting.clear();
        out
    }

    fn release_held(&mut self) -> Vec<Release<K, T>> {
        let mut held: Vec<T> = std::mem::take(&mut self.held)
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        match held.len() {
            0 => Vec::new(),
            1 => held.pop().map(Release::One).into_iter().collect(),
            _ => vec![Release::Burst {
                results: held,
                waiting: self.waiting.iter().cloned().collect(),
            }],
        }
    }
}

/// A burst's summary line: `health: 151 real servers unknown -> up, 2 unknown -> down, 1 still unknown`.
/// `outcomes` are (what the members became, how many), in the order to tell; those with none are left out.
/// `waiting` says how many have no result yet, in words (`still unknown`).
pub fn summary(
    stream: &str,
    (one, many): (&str, &str),
    from: &str,
    outcomes: &[(&str, usize)],
    (waiting, waiting_words): (usize, &str),
) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (to, n) in outcomes.iter().filter(|(_, n)| *n > 0) {
        let noun = match (parts.is_empty(), *n) {
            (true, 1) => format!(" {one}"),
            (true, _) => format!(" {many}"),
            (false, _) => String::new(),
        };
        parts.push(format!("{n}{noun} {from} -> {to}"));
    }
    if waiting > 0 {
        parts.push(format!("{waiting} {waiting_words}"));
    }
    format!("{stream}: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn burst(members: &[&'static str], t0: Instant) -> StartBurst<&'static str, &'static str> {
        StartBurst::new(members.iter().copied(), t0 + Duration::from_secs(10))
    }

    fn one(t: &'static str) -> Release<&'static str, &'static str> {
        Release::One(t)
    }

    fn many(
        results: &[&'static str],
        waiting: &[&'static str],
    ) -> Release<&'static str, &'static str> {
        Release::Burst {
            results: results.to_vec(),
            waiting: waiting.to_vec(),
        }
    }

    #[test]
    fn a_summary_counts_by_outcome_and_names_the_waiting() {
        let words = ("real server", "real servers");
        assert_eq!(
            summary(
                "health",
                words,
                "unknown",
                &[("up", 151), ("down", 2)],
                (0, "still unknown")
            ),
            "health: 151 real servers unknown -> up, 2 unknown -> down"
        );
        assert_eq!(
            summary(
                "health",
                words,
                "unknown",
                &[("up", 0), ("down", 1)],
                (2, "still unknown")
            ),
            "health: 1 real server unknown -> down, 2 still unknown"
        );
    }

    #[test]
    fn the_first_results_of_the_members_are_one_release_once_all_are_in() {
        let t0 = Instant::now();
        let mut b = burst(&["a", "b", "c"], t0);
        assert_eq!(b.observe("b", true, "b up", t0), []);
        assert_eq!(b.observe("a", true, "a down", t0), []);
        assert_eq!(b.deadline(), Some(t0 + Duration::from_secs(10)));
        assert_eq!(
            b.observe("c", true, "c up", t0),
            [many(&["b up", "a down", "c up"], &[])]
        );
        assert_eq!(b.deadline(), None, "over");
        assert_eq!(b.observe("a", false, "a up", t0), [one("a up")]);
    }

    #[test]
    fn later_results_and_newcomers_pass_through() {
        let t0 = Instant::now();
        let mut b = burst(&["a", "b"], t0);
        assert_eq!(
            b.observe("x", true, "x up", t0),
            [one("x up")],
            "not a member"
        );
        assert_eq!(
            b.observe("b", false, "b down", t0),
            [one("b down")],
            "no first held"
        );
        assert_eq!(b.observe("a", true, "a up", t0), []);
    }

    #[test]
    fn a_later_result_of_a_held_member_releases_what_is_held_first() {
        let t0 = Instant::now();
        let mut b = burst(&["a", "b", "c", "d"], t0);
        b.observe("a", true, "a up", t0);
        b.observe("b", true, "b up", t0);
        assert_eq!(
            b.observe("a", false, "a down", t0),
            [many(&["a up", "b up"], &["c", "d"]), one("a down")]
        );
        // The burst goes on for the others; one result alone is an entry of its own.
        b.observe("c", true, "c up", t0);
        assert_eq!(
            b.observe("c", false, "c down", t0),
            [one("c up"), one("c down")]
        );
        assert_eq!(
            b.observe("d", true, "d up", t0),
            [one("d up")],
            "last one, alone"
        );
        assert_eq!(b.deadline(), None);
    }

    #[test]
    fn the_deadline_releases_what_arrived_and_names_the_rest() {
        let t0 = Instant::now();
        let mut b = burst(&["a", "b", "c"], t0);
        b.observe("a", true, "a up", t0);
        b.observe("b", true, "b up", t0);
        assert_eq!(b.due(t0 + Duration::from_secs(9)), []);
        assert_eq!(
            b.due(t0 + Duration::from_secs(10)),
            [many(&["a up", "b up"], &["c"])]
        );
        assert_eq!(
            b.observe("c", true, "c up", t0 + Duration::from_secs(11)),
            [one("c up")],
            "late: an entry of its own"
        );
        // A result that arrives after the deadline, before anyone looked, comes after the burst.
        let mut b = burst(&["a", "b"], t0);
        b.observe("a", true, "a up", t0);
        assert_eq!(
            b.observe("b", true, "b up", t0 + Duration::from_secs(10)),
            [one("a up"), one("b up")]
        );
    }

    #[test]
    fn forgotten_members_are_not_waited_for() {
        let t0 = Instant::now();
        let mut b = burst(&["a", "b", "c"], t0);
        b.observe("a", true, "a up", t0);
        b.observe("b", true, "b up", t0);
        assert_eq!(b.forget(&"x"), []);
        assert_eq!(b.forget(&"c"), [many(&["a up", "b up"], &[])]);
        let mut b = burst(&["a", "b"], t0);
        assert_eq!(b.forget(&"a"), []);
        assert_eq!(b.observe("b", true, "b up", t0), [one("b up")]);
    }

    #[test]
    fn one_member_or_none_is_no_burst_and_finishing_releases_everything() {
        let t0 = Instant::now();
        let mut b = burst(&["a"], t0);
        assert_eq!(b.deadline(), None);
        assert_eq!(b.observe("a", true, "a up", t0), [one("a up")]);
        let mut b = burst(&[], t0);
        assert_eq!(b.observe("a", true, "a up", t0), [one("a up")]);
        let mut b = burst(&["a", "b", "c"], t0);
        b.observe("a", true, "a up", t0);
        b.observe("b", true, "b up", t0);
        assert_eq!(b.finish(), [many(&["a up", "b up"], &["c"])]);
        assert_eq!(b.finish(), []);
    }
}
