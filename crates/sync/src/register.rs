//! Last-writer-wins registers that tell a later write from a concurrent one.

use crate::clock::Stamp;
use crate::version::{Causality, VersionVector};
use serde::{Deserialize, Serialize};

/// One replicated object: its value as JSON text, or `None` once deleted (a tombstone, kept so that the
/// delete wins over older copies of the object still travelling).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    pub stamp: Stamp,
    pub version: VersionVector,
    pub value: Option<String>,
}

impl Register {
    /// The register after a local write by the node of `stamp`, on top of `previous` (if any).
    pub fn written(previous: Option<&Register>, stamp: Stamp, value: Option<String>) -> Register {
        let version = previous
            .map(|p| p.version.clone())
            .unwrap_or_default()
            .bumped(&stamp.node);
        Register {
            stamp,
            version,
            value,
        }
    }
}

/// Two writes neither of which had seen the other, with different values: the loser, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub winner: Stamp,
    pub loser: Stamp,
    /// The value that lost (`None`: a delete lost).
    pub lost_value: Option<String>,
    /// The value that won (`None`: a delete won).
    pub won_value: Option<String>,
    /// Whether the write that arrived won over the one this node held.
    pub incoming_won: bool,
}

/// What to do with a register that arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// Already seen, or older than what this node holds: nothing changes.
    Keep,
    /// A later write than what this node holds: it replaces it.
    Take(Register),
    /// A concurrent write: the registers are joined (the value with the greater stamp, both versions seen).
    /// `conflict` is `None` when both sides wrote the same value.
    Join {
        merged: Register,
        conflict: Option<Conflict>,
    },
}

/// Merges `incoming` into what this node holds.
pub fn merge(local: Option<&Register>, incoming: &Register) -> Merge {
    let Some(local) = local else {
        return Merge::Take(incoming.clone());
    };
    match incoming.version.compare(&local.version) {
        Causality::Equal | Causality::Precedes => Merge::Keep,
        Causality::Descends => Merge::Take(incoming.clone()),
        Causality::Concurrent => {
            let incoming_won = incoming.stamp > local.stamp;
            let (winner, loser) = if incoming_won {
                (incoming, local)
            } else {
                (local, incoming)
            };
            let merged = Register {
                stamp: winner.stamp.clone(),
                version: local.version.join(&incoming.version),
                value: winner.value.clone(),
            };
            let conflict = (winner.value != loser.value).then(|| Conflict {
                winner: winner.stamp.clone(),
                loser: loser.stamp.clone(),
                lost_value: loser.value.clone(),
                won_value: winner.value.clone(),
                incoming_won,
            });
            Merge::Join { merged, conflict }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(wall_ms: u64, node: &str) -> Stamp {
        Stamp {
            wall_ms,
            logical: 0,
            node: node.into(),
        }
    }

    fn held(merge_result: Merge, local: &Register) -> Register {
        match merge_result {
            Merge::Keep => local.clone(),
            Merge::Take(r) => r,
            Merge::Join { merged, .. } => merged,
        }
    }

    #[test]
    fn a_later_write_replaces_silently() {
        let w1 = Register::written(None, stamp(1, "a"), Some("1".into()));
        let w2 = Register::written(Some(&w1), stamp(2, "b"), Some("2".into()));
        assert_eq!(merge(Some(&w1), &w2), Merge::Take(w2.clone()));
        // The older one arriving late changes nothing, and is no conflict.
        assert_eq!(merge(Some(&w2), &w1), Merge::Keep);
        assert_eq!(merge(Some(&w2), &w2), Merge::Keep);
    }

    #[test]
    fn concurrent_writes_resolve_the_same_way_on_both_sides() {
        let base = Register::written(None, stamp(1, "a"), Some("base".into()));
        let on_a = Register::written(Some(&base), stamp(10, "a"), Some("5".into()));
        let on_b = Register::written(Some(&base), stamp(12, "b"), Some("7".into()));
        let at_a = merge(Some(&on_a), &on_b);
        let at_b = merge(Some(&on_b), &on_a);
        let (held_a, held_b) = (held(at_a.clone(), &on_a), held(at_b.clone(), &on_b));
        assert_eq!(held_a, held_b);
        assert_eq!(held_a.value.as_deref(), Some("7"), "the greater stamp wins");
        let Merge::Join {
            conflict: Some(c), ..
        } = at_a
        else {
            panic!("a conflict at a")
        };
        assert!(c.incoming_won);
        assert_eq!(c.lost_value.as_deref(), Some("5"));
        let Merge::Join {
            conflict: Some(c), ..
        } = at_b
        else {
            panic!("a conflict at b")
        };
        assert!(!c.incoming_won);
        assert_eq!(c.loser, on_a.stamp);
        // The joined register descends from both: either arriving again is nothing new.
        assert_eq!(merge(Some(&held_a), &on_a), Merge::Keep);
        assert_eq!(merge(Some(&held_a), &on_b), Merge::Keep);
    }

    #[test]
    fn three_way_concurrency_converges_in_any_order() {
        let writes: Vec<Register> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                Register::written(None, stamp(5 + (i as u64 % 2), n), Some(n.to_string()))
            })
            .collect();
        let orders = [[0, 1, 2], [2, 1, 0], [1, 2, 0], [1, 0, 2]];
        let mut results = Vec::new();
        for order in orders {
            let mut reg: Option<Register> = None;
            for i in order {
                let next = match merge(reg.as_ref(), &writes[i]) {
                    Merge::Keep => reg.clone(),
                    Merge::Take(r) => Some(r),
                    Merge::Join { merged, .. } => Some(merged),
                };
                reg = next;
            }
            results.push(reg);
        }
        assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
        assert_eq!(
            results[0].as_ref().and_then(|r| r.value.as_deref()),
            Some("b")
        );
    }

    #[test]
    fn a_delete_is_a_register_too() {
        let w = Register::written(None, stamp(1, "a"), Some("x".into()));
        let gone = Register::written(Some(&w), stamp(2, "a"), None);
        assert_eq!(merge(Some(&gone), &w), Merge::Keep, "the delete stays");
        let same = Register::written(None, stamp(3, "b"), Some("x".into()));
        let Merge::Join { conflict, merged } = merge(Some(&w), &same) else {
            panic!("concurrent")
        };
        assert_eq!(
            conflict, None,
            "the same value written twice is no conflict"
        );
        assert_eq!(merged.value.as_deref(), Some("x"));
    }
}
