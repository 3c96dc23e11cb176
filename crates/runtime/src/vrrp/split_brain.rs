//! Split-brain detection: two masters on the link at once.
//!
//! Evidence, from the machine's point of view:
//! - as master, an advertisement from another master that does not win (the machine reports
//!   `OtherMasterSeen` and reasserts);
//! - as backup, the advertisements' source switching from one address to another: with one master they all
//!   come from it; with two, they alternate.
//!
//! One piece of evidence is normal: a preempting node becomes master and hears the old master's last
//! advertisement before it steps down, a backup sees the source switch once at a failover. A split brain is
//! declared at [`THRESHOLD`] pieces within a window of four advertisement intervals, and holds until a window
//! passes without evidence. Pure: time is passed in.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Pieces of evidence within one window that make a split brain.
pub const THRESHOLD: usize = 3;

#[derive(Debug, Clone)]
pub struct SplitBrain {
    window: Duration,
    evidence: VecDeque<Instant>,
    active_until: Option<Instant>,
    last_source: Option<(IpAddr, Instant)>,
    other: Option<IpAddr>,
    /// Times a split brain started.
    pub events: u64,
}

/// What changed with a piece of evidence or the passing of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    Started,
    Ended,
}

impl SplitBrain {
    /// `interval`: the advertisement interval.
    pub fn new(interval: Duration) -> Self {
        SplitBrain {
            window: interval * 4,
            evidence: VecDeque::new(),
            active_until: None,
            last_source: None,
            other: None,
            events: 0,
        }
    }

    pub fn set_interval(&mut self, interval: Duration) {
        self.window = interval * 4;
    }

    /// As master: another, losing master advertised.
    pub fn other_master(&mut self, source: IpAddr, now: Instant) -> Change {
        self.other = Some(source);
        self.add_evidence(now)
    }

    /// As backup: an advertisement (priority > 0) from `source`.
    pub fn advert(&mut self, source: IpAddr, now: Instant) -> Change {
        let switched = match self.last_source {
            Some((last, at)) => last != source && now.saturating_duration_since(at) <= self.window,
            None => false,
        };
        if let Some((last, _)) = self.last_source {
            if switched {
                self.other = Some(last);
            }
        }
        self.last_source = Some((source, now));
        if switched {
            self.add_evidence(now)
        } else {
            self.expire(now)
        }
    }

    /// Whether a split brain holds at `now`.
    pub fn active(&self, now: Instant) -> bool {
        self.active_until.is_some_and(|t| now < t)
    }

    /// The other master of the last split brain.
    pub fn other(&self) -> Option<IpAddr> {
        self.other
    }

    /// When [`SplitBrain::expire`] should be called next.
    pub fn next_check(&self) -> Option<Instant> {
        self.active_until
    }

    /// Lets time pass: ends the split brain after a quiet window.
    pub fn expire(&mut self, now: Instant) -> Change {
        while self
            .evidence
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > self.window)
        {
            self.evidence.pop_front();
        }
        match self.active_until {
            Some(t) if now >= t => {
                self.active_until = None;
                Change::Ended
            }
            _ => Change::None,
        }
    }

    fn add_evidence(&mut self, now: Instant) -> Change {
        let was_active = self.active(now);
        let ended = self.expire(now) == Change::Ended;
        self.evidence.push_back(now);
        if self.evidence.len() >= THRESHOLD {
            self.active_until = Some(now + self.window);
            if !was_active {
                self.events += 1;
                return Change::Started;
            }
        } else if self.active_until.is_some() {
            self.active_until = Some(now + self.window);
        }
        if ended {
            Change::Ended
        } else {
            Change::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn one_preemption_is_not_a_split_brain() {
        let t0 = Instant::now();
        let mut s = SplitBrain::new(SEC);
        assert_eq!(s.other_master(ip("10.0.0.2"), t0), Change::None);
        assert!(!s.active(t0));
        // A backup: A, A, A, then B for good (a failover).
        let mut b = SplitBrain::new(SEC);
        for i in 0..3 {
            assert_eq!(b.advert(ip("10.0.0.1"), t0 + SEC * i), Change::None);
        }
        for i in 3..10 {
            assert_eq!(b.advert(ip("10.0.0.2"), t0 + SEC * i), Change::None);
        }
        assert!(!b.active(t0 + SEC * 10));
    }

    #[test]
    fn a_master_hearing_another_master_repeatedly() {
        let t0 = Instant::now();
        let mut s = SplitBrain::new(SEC);
        assert_eq!(s.other_master(ip("10.0.0.2"), t0), Change::None);
        assert_eq!(s.other_master(ip("10.0.0.2"), t0 + SEC), Change::None);
        assert_eq!(
            s.other_master(ip("10.0.0.2"), t0 + SEC * 2),
            Change::Started
        );
        assert!(s.active(t0 + SEC * 2));
        assert_eq!(s.other(), Some(ip("10.0.0.2")));
        assert_eq!(
            s.other_master(ip("10.0.0.2"), t0 + SEC * 3),
            Change::None,
            "still the same split brain"
        );
        assert_eq!(s.events, 1);
        // Quiet for a window: over.
        assert_eq!(s.expire(t0 + SEC * 6), Change::None);
        assert_eq!(s.expire(t0 + SEC * 7), Change::Ended);
        assert!(!s.active(t0 + SEC * 7));
    }

    #[test]
    fn a_backup_hearing_two_masters_alternate() {
        let t0 = Instant::now();
        let mut s = SplitBrain::new(SEC);
        let a = ip("10.0.0.1");
        let b = ip("10.0.0.2");
        let mut started = None;
        for i in 0..8u32 {
            let src = if i % 2 == 0 { a } else { b };
            if s.advert(src, t0 + SEC / 2 * i) == Change::Started {
                started = Some(i);
            }
        }
        assert_eq!(started, Some(3));
        assert!(s.active(t0 + SEC * 4));
        assert_eq!(s.events, 1);
    }

    #[test]
    fn slow_alternation_beyond_the_window_is_not_evidence() {
        let t0 = Instant::now();
        let mut s = SplitBrain::new(SEC);
        for i in 0..6u32 {
            let src = if i % 2 == 0 { "10.0.0.1" } else { "10.0.0.2" };
            assert_eq!(s.advert(ip(src), t0 + SEC * 5 * i), Change::None);
        }
    }

    #[test]
    fn evidence_spread_wider_than_the_window_does_not_add_up() {
        let t0 = Instant::now();
        let mut s = SplitBrain::new(SEC);
        for i in 0..6u32 {
            assert_eq!(
                s.other_master(ip("10.0.0.2"), t0 + SEC * 3 * i),
                Change::None,
                "{i}"
            );
        }
        assert_eq!(s.events, 0);
        assert_eq!(s.next_check(), None, "nothing to end");
    }

    #[test]
    fn a_split_brain_holds_a_window_past_its_last_evidence() {
        let t0 = Instant::now();
        let mut s = SplitBrain::new(SEC);
        for i in 0..3u32 {
            s.other_master(ip("10.0.0.2"), t0 + SEC * i);
        }
        assert_eq!(
            s.next_check(),
            Some(t0 + SEC * 6),
            "four intervals after the evidence"
        );
        assert_eq!(s.other_master(ip("10.0.0.2"), t0 + SEC * 3), Change::None);
        assert_eq!(
            s.next_check(),
            Some(t0 + SEC * 7),
            "more evidence extends it"
        );
        assert_eq!(s.expire(t0 + SEC * 6), Change::None);
        assert!(s.active(t0 + SEC * 6));
        assert_eq!(s.expire(t0 + SEC * 7), Change::Ended);
        assert_eq!(s.next_check(), None);
        assert_eq!(s.expire(t0 + SEC * 8), Change::None, "ended once");
    }

    #[test]
    fn a_second_split_brain_is_a_second_event() {
        let t0 = Instant::now();
        let mut s = SplitBrain::new(SEC);
        for i in 0..3u32 {
            s.other_master(ip("10.0.0.2"), t0 + SEC * i);
        }
        assert_eq!(s.expire(t0 + SEC * 6), Change::Ended);
        let mut changes = Vec::new();
        for i in 10..13u32 {
            changes.push(s.other_master(ip("10.0.0.3"), t0 + SEC * i));
        }
        assert_eq!(changes, [Change::None, Change::None, Change::Started]);
        assert_eq!(s.events, 2);
        assert_eq!(
            s.other(),
            Some(ip("10.0.0.3")),
            "the other master of the last one"
        );
    }

    #[test]
    fn a_backup_names_the_master_heard_before_the_switch() {
        let t0 = Instant::now();
        let mut s = SplitBrain::new(SEC);
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        assert_eq!(s.other(), None);
        s.advert(a, t0);
        s.advert(b, t0 + SEC / 2);
        assert_eq!(s.other(), Some(a));
        s.advert(a, t0 + SEC);
        assert_eq!(s.other(), Some(b));
        assert_eq!(s.advert(b, t0 + SEC * 3 / 2), Change::Started);
        // Adverts of one master only: the split brain ends a quiet window (4 s) after the last switch.
        for i in 4..11u32 {
            assert_eq!(s.advert(b, t0 + SEC / 2 * i), Change::None, "{i}");
        }
        assert_eq!(s.advert(b, t0 + SEC * 11 / 2), Change::Ended);
        assert!(!s.active(t0 + SEC * 6));
    }

    #[test]
    fn the_window_follows_the_advert_interval() {
        let t0 = Instant::now();
        let at = |i: u32| t0 + SEC * 3 * i;
        let mut s = SplitBrain::new(SEC);
        for i in 0..3 {
            assert_eq!(s.other_master(ip("10.0.0.2"), at(i)), Change::None);
        }
        let mut s = SplitBrain::new(SEC);
        s.set_interval(SEC * 2);
        let changes: Vec<Change> = (0..3)
            .map(|i| s.other_master(ip("10.0.0.2"), at(i)))
            .collect();
        assert_eq!(changes, [Change::None, Change::None, Change::Started]);
        assert_eq!(s.next_check(), Some(at(2) + SEC * 8));
    }
}
