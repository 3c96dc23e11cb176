//! A hybrid logical clock (Kulkarni et al.): stamps that follow wall time, never go backwards, and order
//! every write after every write its node has seen, whatever the skew between clocks, within a bound: a
//! stamp from elsewhere more than [`SkewBound`] ahead of this node's physical time is refused, not observed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// When and where a register was written. Ordered by wall time, then the logical counter, then the node name:
/// a total order, the same on every node, which breaks ties between concurrent writes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// Milliseconds since the Unix epoch.
    pub wall_ms: u64,
    pub logical: u32,
    pub node: String,
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}@{}", self.wall_ms, self.logical, self.node)
    }
}

/// The clock of one node.
#[derive(Debug, Clone)]
pub struct Clock {
    node: String,
    wall_ms: u64,
    logical: u32,
}

impl Clock {
    pub fn new(node: impl Into<String>) -> Self {
        Clock {
            node: node.into(),
            wall_ms: 0,
            logical: 0,
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// A stamp for a local write at physical time `now_ms`, greater than every stamp issued or observed.
    pub fn tick(&mut self, now_ms: u64) -> Stamp {
        if now_ms > self.wall_ms {
            self.wall_ms = now_ms;
            self.logical = 0;
        } else {
            self.logical = self.logical.saturating_add(1);
        }
        Stamp {
            wall_ms: self.wall_ms,
            logical: self.logical,
            node: self.node.clone(),
        }
    }

    /// Takes a stamp seen from elsewhere into account, so that the next local stamp orders after it.
    pub fn observe(&mut self, seen: &Stamp) {
        if (seen.wall_ms, seen.logical) > (self.wall_ms, self.logical) {
            self.wall_ms = seen.wall_ms;
            self.logical = seen.logical;
        }
    }

    /// Observes every stamp of a batch from elsewhere, or none: when one is more than `bound` ahead of the
    /// physical time `now_ms`, the batch is refused (naming the stamp furthest ahead) and the clock is left
    /// as it was.
    pub fn observe_all<'a, I>(
        &mut self,
        stamps: I,
        now_ms: u64,
        bound: SkewBound,
    ) -> Result<(), Skew>
    where
        I: IntoIterator<Item = &'a Stamp>,
        I::IntoIter: Clone,
    {
        let stamps = stamps.into_iter();
        let worst = stamps
            .clone()
            .filter_map(|s| bound.check(s, now_ms).err())
            .max_by_key(|skew| skew.ahead_ms);
        if let Some(skew) = worst {
            return Err(skew);
        }
        stamps.for_each(|s| self.observe(s));
        Ok(())
    }
}

/// How far ahead of this node's physical clock a stamp from elsewhere may be. Without a bound, one node whose
/// clock runs hours ahead drags every node's clock along (a hybrid logical clock never goes back) and its
/// writes win every concurrent write until real time catches up; behind is always fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkewBound {
    max_ahead_ms: u64,
}

impl SkewBound {
    /// One minute: far more than NTP-kept clocks differ by, far less than a wrong time zone or a dead
    /// battery.
    pub const DEFAULT: SkewBound = SkewBound {
        max_ahead_ms: 60_000,
    };

    pub fn from_millis(max_ahead_ms: u64) -> Self {
        SkewBound { max_ahead_ms }
    }

    pub fn millis(self) -> u64 {
        self.max_ahead_ms
    }

    /// Whether `seen` may be taken at the physical time `now_ms`: at most the bound ahead of it.
    pub fn check(self, seen: &Stamp, now_ms: u64) -> Result<(), Skew> {
        let ahead_ms = seen.wall_ms.saturating_sub(now_ms);
        if ahead_ms > self.max_ahead_ms {
            return Err(Skew {
                stamp: seen.clone(),
                ahead_ms,
                bound_ms: self.max_ahead_ms,
            });
        }
        Ok(())
    }
}

impl Default for SkewBound {
    fn default() -> Self {
        SkewBound::DEFAULT
    }
}

/// A stamp from elsewhere too far ahead of this node's physical clock: the writer's clock runs ahead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "its stamp {stamp} is {ahead_ms} ms ahead of this node's clock, more than the {bound_ms} ms allowed \
     (--max-clock-skew)"
)]
pub struct Skew {
    pub stamp: Stamp,
    pub ahead_ms: u64,
    pub bound_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_wall_time_and_never_goes_back() {
        let mut c = Clock::new("a");
        let s1 = c.tick(1000);
        assert_eq!((s1.wall_ms, s1.logical), (1000, 0));
        let s2 = c.tick(1000);
        assert_eq!((s2.wall_ms, s2.logical), (1000, 1));
        // The wall clock stepped back: the stamps still grow.
        let s3 = c.tick(900);
        assert!(s3 > s2);
        let s4 = c.tick(2000);
        assert_eq!((s4.wall_ms, s4.logical), (2000, 0));
    }

    #[test]
    fn orders_after_what_it_observed_despite_a_slow_clock() {
        let mut slow = Clock::new("slow");
        let fast = Stamp {
            wall_ms: 5000,
            logical: 3,
            node: "fast".into(),
        };
        slow.observe(&fast);
        let s = slow.tick(1000);
        assert!(s > fast, "{s} must order after {fast}");
        assert_eq!((s.wall_ms, s.logical), (5000, 4));
    }

    fn at(wall_ms: u64) -> Stamp {
        Stamp {
            wall_ms,
            logical: 7,
            node: "peer".into(),
        }
    }

    #[test]
    fn a_stamp_up_to_the_bound_ahead_is_taken_one_further_is_refused() {
        let bound = SkewBound::from_millis(60_000);
        let now = 10_000_000;
        assert_eq!(bound.check(&at(now + 60_000 - 1), now), Ok(()));
        assert_eq!(
            bound.check(&at(now + 60_000), now),
            Ok(()),
            "the bound itself"
        );
        assert_eq!(
            bound.check(&at(now + 60_000 + 1), now),
            Err(Skew {
                stamp: at(now + 60_001),
                ahead_ms: 60_001,
                bound_ms: 60_000
            })
        );
        // Behind, by any amount, is fine (a slow clock, or an old write).
        assert_eq!(bound.check(&at(now - 3_600_000), now), Ok(()));
        assert_eq!(bound.check(&at(0), now), Ok(()));
        assert_eq!(SkewBound::default().millis(), 60_000);
    }

    #[test]
    fn a_batch_is_observed_whole_or_not_at_all() {
        let bound = SkewBound::from_millis(1_000);
        let now = 1_000_000;
        let mut c = Clock::new("here");
        c.tick(now);
        let before = c.clone().tick(now);

        // One stamp of the batch too far ahead: refused, naming the furthest, and the clock did not move.
        let batch = [
            at(now + 999),
            at(now + 5_000),
            at(now + 2_000),
            at(now - 10),
        ];
        let skew = c.observe_all(&batch, now, bound).expect_err("refused");
        assert_eq!((skew.stamp.wall_ms, skew.ahead_ms), (now + 5_000, 5_000));
        assert_eq!(c.clone().tick(now), before, "the clock is unchanged");

        // Within the bound: every stamp is observed, the next local stamp orders after all of them.
        let batch = [at(now + 999), at(now - 10)];
        c.observe_all(&batch, now, bound).expect("taken");
        let next = c.tick(now);
        assert!(next > at(now + 999), "{next}");
        assert_eq!((next.wall_ms, next.logical), (now + 999, 8));
    }

    #[test]
    fn ties_are_broken_by_node_name() {
        let a = Stamp {
            wall_ms: 1,
            logical: 0,
            node: "a".into(),
        };
        let b = Stamp {
            node: "b".into(),
            ..a.clone()
        };
        assert!(b > a);
    }
}
