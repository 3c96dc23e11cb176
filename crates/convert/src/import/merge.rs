//! One node's imported objects against the current desired state: create-or-update, checked as a whole.
//!
//! - A VRRP group is known by its VRID and addresses, not by its name: the file's group joins the existing
//!   group with the same VRID sharing an address (the file's node is added, or its member entry replaced),
//!   so the MASTER's and the BACKUP's files of one instance make one group of two members. Another cluster
//!   with a name already taken gets a free name (`vi_1-2`, with a warning); the same name and VRID with
//!   other addresses cannot be told apart and refuse the import, naming both declarations.
//! - A virtual server that exists with the same address, port and protocol (or fwmark) is updated under
//!   its existing name; otherwise the imported name is used. Its real servers become the file's.
//! - Every object is checked with the model's rules against the state as the earlier objects leave it,
//!   exactly as the service layer will; an error names the file and line. Nothing is written here.

use super::mapping::{describe, place_of, Imported, ImportedGroup};
use super::{ImportError, Place, Warning};
use director_core::audit::diff;
use director_core::model::{VirtualServer, VrrpGroup};
use director_core::state::{VirtualServerRecord, VrrpGroupRecord};
use director_core::{DesiredState, Identities};
use director_keepalived::Location;
use director_service::{Batch, Outcome};
use std::collections::{BTreeMap, HashMap};
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
    prepare_all(state, std::slice::from_ref(imported))
}

/// Merges the files of several nodes, one after the other, as one change. A conflict between two of
/// them names both files' lines.
pub fn prepare_all(state: &DesiredState, files: &[Imported]) -> Result<Prepared, ImportError> {
    let mut next = state.clone();
    let mut warnings = Vec::new();
    // Where each group touched by this import was first declared, and the order objects were touched in.
    let mut origins: HashMap<String, Place> = HashMap::new();
    let mut groups: Vec<String> = Vec::new();
    let mut virtual_servers: Vec<String> = Vec::new();
    for imported in files {
        // The name each group of this file ends up under: its virtual servers follow it.
        let mut renamed: HashMap<String, String> = HashMap::new();
        for g in &imported.vrrp_groups {
            let target = resolve_group(&next, g, &imported.node, &origins, &mut warnings)?;
            let mut group = g.group.clone();
            group.name = target.clone();
            renamed.insert(g.group.name.clone(), target.clone());
            if let Some(old) = next.vrrp_groups.get(&target).cloned() {
                group = merge_group(&old.spec, group, &imported.node, &g.span.at, &mut warnings);
            }
            next.check_vrrp_group(&group).map_err(|e| {
                ImportError::at(
                    place_of(&g.span, &e.field),
                    format!("VRRP group {}: {}", group.name, describe(&e)),
                )
            })?;
            group.normalize();
            origins
                .entry(target.clone())
                .or_insert_with(|| (&g.span.at).into());
            if !groups.contains(&target) {
                groups.push(target.clone());
            }
            next.vrrp_groups.insert(
                target,
                Arc::new(VrrpGroupRecord {
                    spec: group,
                    revision: 0,
                }),
            );
        }
        let mut identities = Identities::of(&next);
        for v in &imported.virtual_servers {
            let mut vs = v.virtual_server.clone();
            if let Some(g) = vs.vrrp_group.take() {
                vs.vrrp_group = Some(renamed.get(&g).cloned().unwrap_or(g));
            }
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
            if !virtual_servers.contains(&vs.name) {
                virtual_servers.push(vs.name.clone());
            }
            next.virtual_servers.insert(
                vs.name.clone(),
                Arc::new(VirtualServerRecord {
                    spec: vs,
                    revision: 0,
                    real_server_revisions: BTreeMap::new(),
                }),
            );
        }
    }
    let mut batch = Batch::default();
    let mut planned = Vec::new();
    for name in groups {
        let Some(group) = next.vrrp_groups.get(&name) else {
            continue;
        };
        let group = group.spec.clone();
        let (outcome, detail) = outcome(
            state.vrrp_groups.get(&name).map(|r| &r.spec),
            &group,
            describe_group(&group),
        );
        planned.push(Planned {
            kind: "vrrp_group",
            name,
            outcome,
            detail,
        });
        batch.vrrp_groups.push(group);
    }
    for name in virtual_servers {
        let Some(vs) = next.virtual_servers.get(&name) else {
            continue;
        };
        let vs = vs.spec.clone();
        let (outcome, detail) = outcome(
            state.virtual_servers.get(&name).map(|r| &r.spec),
            &vs,
            describe_virtual_server(&vs),
        );
        planned.push(Planned {
            kind: "virtual_server",
            name,
            outcome,
            detail,
        });
        batch.virtual_servers.push(vs);
    }
    Ok(Prepared {
        batch,
        planned,
        warnings,
    })
}

/// Whether two groups' addresses share one.
fn addresses_overlap(a: &VrrpGroup, b: &VrrpGroup) -> bool {
    a.virtual_addresses
        .iter()
        .any(|x| b.virtual_addresses.contains(x))
}

fn summary(g: &VrrpGroup) -> String {
    format!("VRID {}, {}", g.vrid, g.virtual_addresses.join(" "))
}

/// The name under which the file's group `g` goes into `next`. A VRRP cluster is known by its VRID and
/// addresses, not by its instance name (every keepalived example calls its instance VI_1):
///
/// - the group of the same name, VRID or an address whose only member is the file's node: that node's
///   file imported again;
/// - else the one group with the same VRID and family sharing an address: another node of that cluster
///   (under that group's name, with a warning when the instance's name differs);
/// - else a new group: under its own name when free; when another cluster (another VRID) has the name,
///   under the first free `NAME-2`, `NAME-3`, ... with a warning; when a group of that name has the same
///   VRID but none of the addresses, the two cannot be told apart and the import is refused naming both.
fn resolve_group(
    next: &DesiredState,
    g: &ImportedGroup,
    node: &str,
    origins: &HashMap<String, Place>,
    warnings: &mut Vec<Warning>,
) -> Result<String, ImportError> {
    let group = &g.group;
    let name = &group.name;
    if let Some(old) = next.vrrp_groups.get(name) {
        let same = old.spec.vrid == group.vrid || addresses_overlap(&old.spec, group);
        if same && old.spec.members.iter().all(|m| m.node == node) {
            return Ok(name.clone());
        }
    }
    let same_cluster: Vec<&str> = next
        .vrrp_groups
        .iter()
        .filter(|(_, r)| {
            r.spec.vrid == group.vrid
                && r.spec.family() == group.family()
                && addresses_overlap(&r.spec, group)
        })
        .map(|(n, _)| n.as_str())
        .collect();
    match same_cluster.as_slice() {
        [one] => {
            if *one != name.as_str() {
                warnings.push(Warning {
                    place: (&g.span.at).into(),
                    message: format!(
                        "VRRP group {name} ({}) is the cluster of VRRP group {one} (same VRID and addresses): imported as a member of {one}",
                        summary(group)
                    ),
                });
            }
            return Ok((*one).to_string());
        }
        [] => {}
        several => {
            return Err(ImportError::at(
                &g.span.at,
                format!(
                    "VRRP group {name} ({}) has the VRID and addresses of several VRRP groups: {}",
                    summary(group),
                    several.join(", ")
                ),
            ))
        }
    }
    let Some(taken) = next.vrrp_groups.get(name) else {
        return Ok(name.clone());
    };
    let where_first = origins
        .get(name)
        .map(|p| format!("declared at {p}"))
        .unwrap_or_else(|| "in the data directory".to_string());
    if taken.spec.vrid == group.vrid {
        return Err(ImportError::at(
            &g.span.at,
            format!(
                "VRRP group {name} ({}) conflicts with VRRP group {name} ({}) {where_first}: the same name and VRID but other addresses, so neither one cluster nor two; make the addresses or the VRIDs agree",
                summary(group),
                summary(&taken.spec)
            ),
        ));
    }
    let free = (2..)
        .map(|n| format!("{name}-{n}"))
        .find(|n| !next.vrrp_groups.contains_key(n))
        .unwrap_or_else(|| name.clone());
    warnings.push(Warning {
        place: (&g.span.at).into(),
        message: format!(
            "VRRP group {name} ({}) is another cluster than VRRP group {name} ({}) {where_first}: imported as VRRP group {free}",
            summary(group),
            summary(&taken.spec)
        ),
    });
    Ok(free)
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
        // The interfaces are per node (a member's own, its sync_interface): not group-wide settings.
        let shared = |g: &VrrpGroup| {
            let mut g = g.clone();
            g.members.clear();
            g.interface = None;
            g.priority = 0;
            if let Some(c) = &mut g.connection_sync {
                c.interface.clear();
            }
            g.normalize();
            serde_json::to_value(g).unwrap_or_default()
        };
        let file_sync = group.connection_sync.clone();
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
        let mut members = std::mem::take(&mut group.members);
        if let (Some(kept), Some(file), Some(m)) =
            (&old.connection_sync, file_sync, members.last_mut())
        {
            if file.interface != kept.interface {
                m.sync_interface = Some(file.interface);
            }
        }
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

    /// A cluster's file: node, VRID, VIP (the virtual server's address too).
    fn cluster(node: &str, vrid: u32, vip: &str) -> String {
        format!(
            "global_defs {{\n router_id {node}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n \
             virtual_router_id {vrid}\n virtual_ipaddress {{\n  {vip}\n }}\n}}\n\
             virtual_server {vip} 80 {{\n real_server 10.9.0.1 80 {{\n }}\n}}\n"
        )
    }

    /// The groups of a prepared import: (name, VRID, addresses, member nodes), and its virtual servers'
    /// groups.
    /// A group as (name, VRID, addresses, member nodes).
    type GroupRow = (String, u32, String, String);

    fn groups(p: &Prepared) -> (Vec<GroupRow>, Vec<(String, String)>) {
        let g = p
            .batch
            .vrrp_groups
            .iter()
            .map(|g| {
                let members: Vec<&str> = g.members.iter().map(|m| m.node.as_str()).collect();
                (
                    g.name.clone(),
                    g.vrid,
                    g.virtual_addresses.join(" "),
                    members.join(" "),
                )
            })
            .collect();
        let v = p
            .batch
            .virtual_servers
            .iter()
            .map(|v| (v.name.clone(), v.vrrp_group.clone().unwrap_or_default()))
            .collect();
        (g, v)
    }

    #[test]
    fn a_group_is_known_by_its_vrid_and_addresses() {
        struct Case {
            what: &'static str,
            first: Vec<(&'static str, u32, &'static str)>,
            then: (&'static str, u32, &'static str),
            groups: Vec<(&'static str, u32, &'static str, &'static str)>,
            virtual_servers: Vec<(&'static str, &'static str)>,
            warnings: &'static [&'static str],
        }
        let cases = vec![
            Case {
                what: "another cluster also called VI_1 (other VRID and VIP) is a group of its own, and its virtual server is tied to it",
                first: vec![("lvs-01", 51, "10.0.0.1")],
                then: ("lvs-11", 52, "10.1.0.1"),
                groups: vec![("vi_1-2", 52, "10.1.0.1/32", "lvs-11")],
                virtual_servers: vec![("tcp-10.1.0.1-80", "vi_1-2")],
                warnings: &["b.conf:4: VRRP group vi_1 (VRID 52, 10.1.0.1/32) is another cluster than VRRP group vi_1 (VRID 51, 10.0.0.1/32) in the data directory: imported as VRRP group vi_1-2"],
            },
            Case {
                what: "the second node of the cluster (same VRID and VIP) joins the group",
                first: vec![("lvs-01", 51, "10.0.0.1")],
                then: ("lvs-02", 51, "10.0.0.1"),
                groups: vec![("vi_1", 51, "10.0.0.1/32", "lvs-01 lvs-02")],
                virtual_servers: vec![("tcp-10.0.0.1-80", "vi_1")],
                warnings: &[],
            },
            Case {
                what: "a third cluster takes the next free name",
                first: vec![("lvs-01", 51, "10.0.0.1"), ("lvs-11", 52, "10.1.0.1")],
                then: ("lvs-21", 53, "10.2.0.1"),
                groups: vec![("vi_1-3", 53, "10.2.0.1/32", "lvs-21")],
                virtual_servers: vec![("tcp-10.2.0.1-80", "vi_1-3")],
                warnings: &["b.conf:4: VRRP group vi_1 (VRID 53, 10.2.0.1/32) is another cluster than VRRP group vi_1 (VRID 51, 10.0.0.1/32) in the data directory: imported as VRRP group vi_1-3"],
            },
            Case {
                what: "the second node of the renamed cluster joins it, whatever its instance is called",
                first: vec![("lvs-01", 51, "10.0.0.1"), ("lvs-11", 52, "10.1.0.1")],
                then: ("lvs-12", 52, "10.1.0.1"),
                groups: vec![("vi_1-2", 52, "10.1.0.1/32", "lvs-11 lvs-12")],
                virtual_servers: vec![("tcp-10.1.0.1-80", "vi_1-2")],
                warnings: &["b.conf:4: VRRP group vi_1 (VRID 52, 10.1.0.1/32) is the cluster of VRRP group vi_1-2 (same VRID and addresses): imported as a member of vi_1-2"],
            },
            Case {
                what: "a node's own file imported again with another VIP updates its group",
                first: vec![("lvs-01", 51, "10.0.0.1")],
                then: ("lvs-01", 51, "10.0.0.9"),
                groups: vec![("vi_1", 51, "10.0.0.9/32", "lvs-01")],
                virtual_servers: vec![("tcp-10.0.0.9-80", "vi_1")],
                warnings: &[],
            },
        ];
        for case in cases {
            let mut state = DesiredState::default();
            for (node, vrid, vip) in &case.first {
                let p = prepare(&state, &imported("a.conf", &cluster(node, *vrid, vip)))
                    .unwrap_or_else(|e| panic!("{}: {e}", case.what));
                apply(&mut state, &p);
            }
            let (node, vrid, vip) = case.then;
            let p = prepare(&state, &imported("b.conf", &cluster(node, vrid, vip)))
                .unwrap_or_else(|e| panic!("{}: {e}", case.what));
            let (g, v) = groups(&p);
            let expected_g: Vec<GroupRow> = case
                .groups
                .iter()
                .map(|(n, v, a, m)| (n.to_string(), *v, a.to_string(), m.to_string()))
                .collect();
            let expected_v: Vec<(String, String)> = case
                .virtual_servers
                .iter()
                .map(|(n, g)| (n.to_string(), g.to_string()))
                .collect();
            assert_eq!(g, expected_g, "{}", case.what);
            assert_eq!(v, expected_v, "{}", case.what);
            let warnings: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
            assert_eq!(warnings, case.warnings, "{}", case.what);
        }
    }

    #[test]
    fn the_same_name_and_vrid_with_other_addresses_is_refused_naming_both_lines() {
        let a = imported("a.conf", &cluster("lvs-01", 51, "10.0.0.1"));
        let b = imported("b.conf", &cluster("lvs-02", 51, "10.0.0.2"));
        let e = prepare_all(&DesiredState::default(), &[a, b]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.conf:4: VRRP group vi_1 (VRID 51, 10.0.0.2/32) conflicts with VRRP group vi_1 (VRID 51, 10.0.0.1/32) declared at a.conf:4: the same name and VRID but other addresses, so neither one cluster nor two; make the addresses or the VRIDs agree"
        );
    }

    #[test]
    fn several_files_are_one_change() {
        let files = [
            imported("a.conf", &cluster("lvs-01", 51, "10.0.0.1")),
            imported("b.conf", &cluster("lvs-02", 51, "10.0.0.1")),
            imported("c.conf", &cluster("lvs-11", 52, "10.1.0.1")),
        ];
        let p = prepare_all(&DesiredState::default(), &files).unwrap();
        let (g, v) = groups(&p);
        assert_eq!(
            g,
            [
                (
                    "vi_1".into(),
                    51,
                    "10.0.0.1/32".into(),
                    "lvs-01 lvs-02".into()
                ),
                ("vi_1-2".into(), 52, "10.1.0.1/32".into(), "lvs-11".into()),
            ]
        );
        assert_eq!(
            v,
            [
                ("tcp-10.0.0.1-80".into(), "vi_1".into()),
                ("tcp-10.1.0.1-80".into(), "vi_1-2".into()),
            ]
        );
        let outcomes: Vec<Outcome> = p.planned.iter().map(|p| p.outcome).collect();
        assert!(
            outcomes.iter().all(|o| *o == Outcome::Created),
            "{outcomes:?}"
        );
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
        assert_eq!(i.warnings.len(), 2, "{:?}", i.warnings);
        assert_eq!(i.warnings[0].place.line, 1);
        assert!(i.warnings[0]
            .message
            .contains("imported as VRRP group vi_1"));
        assert_eq!(i.warnings[1].place.line, 4);
        assert!(i.warnings[1].message.contains("notify_master"));
    }
}
