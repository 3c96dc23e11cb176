//! Sync groups: instances that fail over together (keepalived's
//! `vrrp_sync_group`), e.g. the external and internal VIP of a NAT director.
//!
//! keepalived semantics, as a pure decision: when a member changes state,
//! the others follow it.
//!
//! - A member went to `Fault`: every other member not in fault is forced
//!   to `Fault` (the whole group is in fault).
//! - A member went to `Backup` (or left `Master`): every other master is
//!   forced to `Backup`.
//! - A member went to `Master`: every other backup is forced to `Master`;
//!   but if some member is in fault, the group is in fault and the new
//!   master is forced back to `Fault`.
//! - A member went to `Initialize` (shut down): nothing. When the daemon
//!   stops, shut every member down rather than letting the group follow.
//!
//! Leaving fault: keep each member's own fault condition and send
//! [`Input::FaultCleared`] to every member only once [`may_leave_fault`]
//! says none is faulty.

use crate::machine::{Input, State};

/// A forced transition of a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Force {
    /// Backup -> Master.
    Master,
    /// Master -> Backup.
    Backup,
    /// Any state -> Fault.
    Fault,
}

impl Force {
    /// The machine input that applies this forced transition.
    pub fn input(self) -> Input {
        match self {
            Force::Master => Input::ForceMaster,
            Force::Backup => Input::ForceBackup,
            Force::Fault => Input::Fault,
        }
    }
}

/// Which members must be forced to which state after the member `changed`
/// reached the state it has in `members` (`members` lists every member of
/// the group with its current state, `changed` included). The IO shell
/// feeds [`Force::input`] to each listed member; their own transitions are
/// then fed back here, which converges because a forced member already in
/// the target state yields nothing.
pub fn follow<K: PartialEq + Clone>(members: &[(K, State)], changed: &K) -> Vec<(K, Force)> {
    let Some(new_state) = members.iter().find(|(k, _)| k == changed).map(|(_, s)| *s) else {
        return Vec::new();
    };
    let others = members.iter().filter(|(k, _)| k != changed);
    match new_state {
        State::Fault => others
            .filter(|(_, s)| *s != State::Fault)
            .map(|(k, _)| (k.clone(), Force::Fault))
            .collect(),
        State::Backup => others
            .filter(|(_, s)| *s == State::Master)
            .map(|(k, _)| (k.clone(), Force::Backup))
            .collect(),
        State::Master => {
            if members.iter().any(|(_, s)| *s == State::Fault) {
                vec![(changed.clone(), Force::Fault)]
            } else {
                others
                    .filter(|(_, s)| *s == State::Backup)
                    .map(|(k, _)| (k.clone(), Force::Master))
                    .collect()
            }
        }
        State::Initialize => Vec::new(),
    }
}

/// Whether the group may leave fault: no member has a fault condition of
/// its own (`faulty[i]` is member i's own condition, not the forced
/// state).
pub fn may_leave_fault(faulty: &[bool]) -> bool {
    !faulty.iter().any(|f| *f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    #[test]
    fn fault_spreads_to_all() {
        let m = [("a", Fault), ("b", Master), ("c", Backup), ("d", Fault)];
        assert_eq!(
            follow(&m, &"a"),
            vec![("b", Force::Fault), ("c", Force::Fault)]
        );
    }

    #[test]
    fn backup_pulls_masters_down() {
        let m = [("a", Backup), ("b", Master), ("c", Backup), ("d", Master)];
        assert_eq!(
            follow(&m, &"a"),
            vec![("b", Force::Backup), ("d", Force::Backup)]
        );
    }

    #[test]
    fn master_pulls_backups_up() {
        let m = [("a", Master), ("b", Backup), ("c", Master)];
        assert_eq!(follow(&m, &"a"), vec![("b", Force::Master)]);
    }

    #[test]
    fn master_in_faulty_group_is_sent_back_to_fault() {
        let m = [("a", Master), ("b", Fault)];
        assert_eq!(follow(&m, &"a"), vec![("a", Force::Fault)]);
    }

    #[test]
    fn converged_and_unknown_yield_nothing() {
        let m = [("a", Master), ("b", Master)];
        assert_eq!(follow(&m, &"a"), vec![]);
        assert_eq!(follow(&m, &"z"), vec![]);
        let m = [("a", Initialize), ("b", Master)];
        assert_eq!(follow(&m, &"a"), vec![]);
    }

    #[test]
    fn leaving_fault_needs_every_member_clear() {
        assert!(may_leave_fault(&[false, false]));
        assert!(!may_leave_fault(&[false, true]));
        assert!(may_leave_fault(&[]));
    }

    #[test]
    fn force_inputs() {
        assert_eq!(Force::Master.input(), Input::ForceMaster);
        assert_eq!(Force::Backup.input(), Input::ForceBackup);
        assert_eq!(Force::Fault.input(), Input::Fault);
    }
}
