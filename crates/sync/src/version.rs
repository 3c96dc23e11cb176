//! Version vectors: how many writes of each node a register's value has seen.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// How two versions relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Causality {
    Equal,
    /// The first has seen everything the second has, and more.
    Descends,
    /// The second has seen everything the first has, and more.
    Precedes,
    /// Each has seen writes the other has not.
    Concurrent,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VersionVector(pub BTreeMap<String, u64>);

impl VersionVector {
    /// The version after one more write by `node`.
    pub fn bumped(&self, node: &str) -> VersionVector {
        let mut v = self.clone();
        *v.0.entry(node.to_string()).or_insert(0) += 1;
        v
    }

    /// The least version that has seen both.
    pub fn join(&self, other: &VersionVector) -> VersionVector {
        let mut v = self.clone();
        for (node, n) in &other.0 {
            let e = v.0.entry(node.clone()).or_insert(0);
            *e = (*e).max(*n);
        }
        v
    }

    pub fn compare(&self, other: &VersionVector) -> Causality {
        let mut ahead = false;
        let mut behind = false;
        let nodes = self.0.keys().chain(other.0.keys());
        for node in nodes {
            let a = self.0.get(node).copied().unwrap_or(0);
            let b = other.0.get(node).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Greater => ahead = true,
                Ordering::Less => behind = true,
                Ordering::Equal => {}
            }
        }
        match (ahead, behind) {
            (false, false) => Causality::Equal,
            (true, false) => Causality::Descends,
            (false, true) => Causality::Precedes,
            (true, true) => Causality::Concurrent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vv(pairs: &[(&str, u64)]) -> VersionVector {
        VersionVector(pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect())
    }

    #[test]
    fn compares_every_case() {
        let a1 = vv(&[("a", 1)]);
        let a2 = a1.bumped("a");
        let a1b1 = a1.bumped("b");
        let b1 = vv(&[("b", 1)]);
        assert_eq!(a1.compare(&a1.clone()), Causality::Equal);
        assert_eq!(a2.compare(&a1), Causality::Descends);
        assert_eq!(a1.compare(&a1b1), Causality::Precedes);
        assert_eq!(a2.compare(&a1b1), Causality::Concurrent);
        assert_eq!(b1.compare(&a1), Causality::Concurrent);
        assert_eq!(VersionVector::default().compare(&a1), Causality::Precedes);
    }

    #[test]
    fn join_is_the_pointwise_max() {
        let j = vv(&[("a", 2), ("b", 1)]).join(&vv(&[("a", 1), ("c", 4)]));
        assert_eq!(j, vv(&[("a", 2), ("b", 1), ("c", 4)]));
    }
}
