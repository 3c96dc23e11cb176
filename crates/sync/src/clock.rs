//! A hybrid logical clock (Kulkarni et al.): stamps that follow wall time, never go backwards, and order
//! every write after every write its node has seen, whatever the skew between clocks.

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
