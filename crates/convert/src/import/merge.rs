//! One node's imported objects against the current desired state: create-or-update, checked as a whole.
//!
//! - A VRRP group that exists (same name) keeps its other members: the file's node is added, or its member
//!   entry replaced. So the MASTER's and the BACKUP's files of one instance make one group of two members.
//! - A virtual server that exists with the same address, port and protocol (or fwmark) is updated under
//!   its existing name; otherwise the imported name is used. Its real servers become the file's.
//! - Every object is checked with the model's rules against the state as the earlier objects leave it,
//!   exactly as the service layer will; an error names the file and line. Nothing is written here.

use super::mapping::{describe, place_of, Imported};
use super::{ImportError, Warning};
use director_core::audit::diff;
use director_core::model::{VirtualServer, VrrpGroup};
use director_core::state::{VirtualServerRecord, VrrpGroupRecord};
use director_core::{DesiredState, Identities};
use director_keepalived::Location;
use director_service::{Batch, Outcome};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the import does to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// `vrrp_group` or `virtual_server`.
    pub kind: &'static str,
    pub name: String,
    pub outcome: Outcome,
    /// What changes: a summary of the object when created, of the changed fields when updated.
    pub detail: String,
}

/// The batch to apply and what it will do.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub batch: Batch,
    pub planned: Vec<Planned>,
    /// What of the file the existing objects keep as they are.
    pub warnings: Vec<Warning>,
}

/// Merges `imported` into `state` (pure; see the module documentation).
pub fn prepare(state: &DesiredState, imported: &Imported) -> Result<Prepared, ImportError> {
    let mut next = state.clone();
    let mut batch = Batch::default();
    let mut planned = Vec::new();
    let mut warnings = Vec::new();
    for g in &imported.vrrp_groups {
        let mut group = g.group.clone();
        let existing = next.vrrp_groups.get(&group.name).cloned();
        if let Some(old) = &existing {
            group = merge_group(&old.spec, group, &imported.node, &g.span.at, &mut warnings);
        }
        next.check_vrrp_group(&group).map_err(|e| {
            ImportError::at(
                place_of(&g.span, &e.field),
                format!("VRRP group {}: {}", group.name, describe(&e)),
            )
        })?;
        group.normalize();
        let (outcome, detail) = outcome(
            existing.as_ref().map(|r| &r.spec),
            &group,
            describe_group(&group),
        );
        planned.push(Planned {
            kind: "vrrp_group",
            name: group.name.clone(),
            outcome,
            detail,
        });
        next.vrrp_groups.insert(
            group.name.clone(),
            Arc::new(VrrpGroupRecord {
                spec: group.clone(),
                revision: 0,
            }),
        );
        batch.vrrp_groups.push(group);
    }
    let mut identities = Identities::of(&next);
    for v in &imported.virtual_servers {
        let mut vs = v.virtual_server.clone();
        vs.normalize();
        if let Some(name) = vs.key().and_then(|k| identities.holder(k)) {
            vs.name = name.to_string();
        }
        next.check_virtual_server_among(&vs, &mut identities)
            .map_err(|e| {
                ImportError::at(
                    place_of(&v.span, &e.field),
                    format!("virtual server {}: {}", vs.name, describe(&e)),
                )
            })?;
        let existing = next.virtual_servers.get(&vs.name).cloned();
        let (outcome, detail) = outcome(
            existing.as_ref().map(|r| &r.spec),
            &vs,
            describe_virtual_server(&vs),
        );
        planned.push(Planned {
            kind: "virtual_server",
            name: vs.name.clone(),
            outcome,
            detail,
        });
        next.virtual_servers.insert(
            vs.name.clone(),
            Arc::new(VirtualServerRecord {
                spec: vs.clone(),
                revision: 0,
                real_server_revisions: BTreeMap::new(),
            }),
        );
        batch.virtual_servers.push(vs);
    }
    Ok(Prepared {
        batch,
        planned,
        warnings,
    })
}

/// The existing group with the imported node's member entry added or replaced. Re-importing the file of
/// the group's only node updates the group-wide settings; the file of another node adds its member entry
/// and leaves the group-wide settings as they are (a warning names each one that differs). The group's
/// default interface and priority stay those of the first import.
fn merge_group(
    old: &VrrpGroup,
    imported: VrrpGroup,
    node: &str,
    at: &Location,
    warnings: &mut Vec<Warning>,
) -> VrrpGroup {
    let only_this_node = old.members.iter().all(|m| m.node == node);
    let mut group = imported;
    if !only_this_node {
        let shared = |g: &VrrpGroup| {
            let mut g = g.clone();
            g.members.clear();
            g.interface = None;
            g.priority = 0;
            g.normalize();
            serde_json::to_value(g).unwrap_or_default()
        };
        if let Some(d) = diff(&shared(old), &shared(&group)) {
            for field in d.fields {
                warnings.push(Warning {
                    place: at.into(),
                    message: format!(
                        "VRRP group {}: {field} differs from the group as imported from {}; kept as it is",
                        old.name,
                        old.members
                            .iter()
                            .map(|m| m.node.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        let members = std::mem::take(&mut group.members);
        group = VrrpGroup {
            members,
            interface: group.interface,
            ..old.clone()
        };
    }
    let mut member = group.members.pop();
    let file_interface = group.interface.take();
    group.interface = old.interface.clone().or(file_interface.clone());
    group.priority = old.priority;
    if let Some(m) = &mut member {
        if file_interface != group.interface {
            m.interface = file_interface;
        }
    }
    group.members = old
        .members
        .iter()
        .filter(|m| m.node != node)
        .cloned()
        .collect();
    group.members.extend(member);
    group
        .members
        .sort_by(|a, b| b.priority.cmp(&a.priority).then(a.node.cmp(&b.node)));
    group
}

fn outcome<T: serde::Serialize>(old: Option<&T>, new: &T, created: String) -> (Outcome, String) {
    let Some(old) = old else {
        return (Outcome::Created, created);
    };
    let (Ok(before), Ok(after)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return (Outcome::Updated, String::new());
    };
    match diff(&before, &after) {
        None => (Outcome::Unchanged, String::new()),
        Some(d) => (Outcome::Updated, d.summary),
    }
}

fn describe_group(g: &VrrpGroup) -> String {
    let members: Vec<String> = g
        .members
        .iter()
        .map(|m| format!("{} priority {}", m.node, m.priority.unwrap_or(g.priority)))
        .collect();
    format!(
        "VRID {}, {}, members: {}",
        g.vrid,
        g.virtual_addresses.join(" "),
        members.join(", ")
    )
}

fn describe_virtual_server(vs: &VirtualServer) -> String {
    let key = vs.key().map(|k| k.to_string()).unwrap_or_default();
    let check = vs
        .health_check
        .as_ref()
        .map(|h| format!(", {} check", h.kind.as_str()))
        .unwrap_or_default();
    format!(
        "{key}, {} {}, {} real servers{check}{}",
        vs.scheduler,
        vs.forwarding.as_str(),
        vs.real_servers.len(),
        vs.vrrp_group
            .as_ref()
            .map(|g| format!(", VRRP group {g}"))
            .unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::mapping::{map, Options};
    use director_keepalived::parse_str;

    fn imported(name: &str, text: &str) -> Imported {
        let parsed = parse_str(name, text).expect("parses");
        map(
            parsed,
            &Options {
                node: None,
                default_node: "here".into(),
            },
        )
        .expect("maps")
    }

    fn apply(state: &mut DesiredState, p: &Prepared) {
        for g in &p.batch.vrrp_groups {
            state.vrrp_groups.insert(
                g.name.clone(),
                Arc::new(VrrpGroupRecord {
                    spec: g.clone(),
                    revision: 1,
                }),
            );
        }
        for vs in &p.batch.virtual_servers {
            state.virtual_servers.insert(
                vs.name.clone(),
                Arc::new(VirtualServerRecord {
                    spec: vs.clone(),
                    revision: 1,
                    real_server_revisions: BTreeMap::new(),
                }),
            );
        }
    }

    const PAIR: &str = "global_defs {\n router_id NODE\n}\nvrrp_instance VI_1 {\n state STATE\n interface eth0\n \
        virtual_router_id 51\n priority PRIO\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n\
        virtual_server 10.0.0.1 80 {\n lb_kind DR\n real_server 10.0.1.1 80 {\n  weight 2\n  TCP_CHECK {\n   connect_timeout 2\n  }\n }\n}\n";

    fn node_file(node: &str, state: &str, prio: &str) -> String {
        PAIR.replace("NODE", node)
            .replace("STATE", state)
            .replace("PRIO", prio)
    }

    #[test]
    fn master_and_backup_files_make_one_group_with_two_members() {
        let mut state = DesiredState::default();
        let a = prepare(
            &state,
            &imported("a.conf", &node_file("lvs-01", "MASTER", "150")),
        )
        .unwrap();
        assert_eq!(a.planned[0].outcome, Outcome::Created);
        apply(&mut state, &a);
        let b = prepare(
            &state,
            &imported("b.conf", &node_file("lvs-02", "BACKUP", "100")),
        )
        .unwrap();
        assert_eq!(b.planned[0].outcome, Outcome::Updated);
        assert_eq!(
            b.planned[1].outcome,
            Outcome::Unchanged,
            "{:?}",
            b.planned[1]
        );
        let g = &b.batch.vrrp_groups[0];
        let members: Vec<(&str, Option<u32>)> = g
            .members
            .iter()
            .map(|m| (m.node.as_str(), m.priority))
            .collect();
        assert_eq!(members, [("lvs-01", Some(150)), ("lvs-02", Some(100))]);
        assert_eq!(g.interface.as_deref(), Some("eth0"));
        let vs = &b.batch.virtual_servers[0];
        assert_eq!(vs.name, "tcp-10.0.0.1-80");
        assert_eq!(vs.vrrp_group.as_deref(), Some("vi_1"));
        let hc = vs.health_check.as_ref().unwrap();
        assert_eq!((hc.interval_ms, hc.timeout_ms, hc.fall), (60_000, 2000, 2));
    }

    #[test]
    fn an_existing_virtual_server_keeps_its_name() {
        let mut state = DesiredState::default();
        let mut first = prepare(
            &state,
            &imported("a.conf", &node_file("lvs-01", "MASTER", "150")),
        )
        .unwrap();
        first.batch.virtual_servers[0].name = "web".into();
        apply(&mut state, &first);
        let again = prepare(
            &state,
            &imported("a.conf", &node_file("lvs-01", "MASTER", "150")),
        )
        .unwrap();
        assert_eq!(again.batch.virtual_servers[0].name, "web");
    }

    #[test]
    fn refused_values_name_their_line() {
        let text = "virtual_server 10.0.0.1 80 {\n quorum 2\n hysteresis 3\n real_server 10.0.1.1 80 {\n }\n}\n";
        let e = prepare(&DesiredState::default(), &imported("q.conf", text)).unwrap_err();
        assert_eq!(e.place.line, 3, "{e}");
        assert!(e.message.contains("hysteresis"), "{e}");
        let text = "virtual_server 10.0.0.1 80 {\n lb_kind DR\n real_server 10.0.1.1 81 {\n  weight 1\n }\n}\n";
        let e = prepare(&DesiredState::default(), &imported("p.conf", text)).unwrap_err();
        assert_eq!(e.place.line, 3, "{e}");
    }

    #[test]
    fn what_is_not_imported_is_reported_with_its_line() {
        let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 9\n notify_master /bin/true\n \
            virtual_ipaddress {\n  10.0.0.9\n }\n}\n";
        let i = imported("w.conf", text);
        assert_eq!(i.node, "here");
        assert_eq!(i.warnings.len(), 1, "{:?}", i.warnings);
        assert_eq!(i.warnings[0].place.line, 4);
        assert!(i.warnings[0].message.contains("notify_master"));
    }
}
