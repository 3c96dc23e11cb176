//! The whole desired state, and the checks that need more than one object.

use crate::error::{ModelError, Result};
use crate::model::vrrp_group::Member;
use crate::model::{RealServerKey, ServiceKey, VirtualServer, VrrpGroup};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A virtual server with the revisions the store gave it and each of its real servers.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualServerRecord {
    pub spec: VirtualServer,
    /// The global revision of the last change to the virtual server or any of its real servers.
    pub revision: u64,
    /// The global revision of the last change to each real server.
    pub real_server_revisions: BTreeMap<RealServerKey, u64>,
}

impl VirtualServerRecord {
    pub fn real_server_revision(&self, key: &RealServerKey) -> u64 {
        self.real_server_revisions
            .get(key)
            .copied()
            .unwrap_or(self.revision)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VrrpGroupRecord {
    pub spec: VrrpGroup,
    pub revision: u64,
}

/// The virtual servers of a snapshot by name, in name order.
pub type VirtualServers = imbl::OrdMap<String, Arc<VirtualServerRecord>>;

/// One virtual server that differs between two states (see [`DesiredState::virtual_server_changes`]).
#[derive(Debug, Clone, Copy)]
pub struct VirtualServerChange<'a> {
    pub name: &'a str,
    pub before: Option<&'a VirtualServerRecord>,
    pub after: Option<&'a VirtualServerRecord>,
}

/// An immutable snapshot of everything declared. Cloning is cheap: objects are shared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredState {
    /// The global revision this snapshot is at.
    pub revision: u64,
    /// A persistent map: a writer's copy of the state shares all but the path to what it changes, so a
    /// write costs the same with ten virtual servers or ten thousand.
    pub virtual_servers: VirtualServers,
    pub vrrp_groups: BTreeMap<String, Arc<VrrpGroupRecord>>,
}

impl DesiredState {
    /// The virtual servers that differ between this state and `next`, by name, with the record before (absent
    /// for one added) and after (absent for one removed). It costs what changed, not the size of the states:
    /// the parts of the two maps that `next` shares with this state are skipped unseen. Derived indexes (the
    /// health checker's targets) follow the desired state with it.
    pub fn virtual_server_changes<'a>(
        &'a self,
        next: &'a DesiredState,
    ) -> impl Iterator<Item = VirtualServerChange<'a>> + 'a {
        self.virtual_servers
            .diff(&next.virtual_servers)
            .map(|item| match item {
                imbl::ordmap::DiffItem::Add(name, after) => VirtualServerChange {
                    name,
                    before: None,
                    after: Some(after),
                },
                imbl::ordmap::DiffItem::Update {
                    old: (name, before),
                    new: (_, after),
                } => VirtualServerChange {
                    name,
                    before: Some(before),
                    after: Some(after),
                },
                imbl::ordmap::DiffItem::Remove(name, before) => VirtualServerChange {
                    name,
                    before: Some(before),
                    after: None,
                },
            })
    }

    /// Every check a virtual server must pass before it is written: its own fields, then its place among the
    /// others (unique kernel identity, existing VRRP group).
    pub fn check_virtual_server(&self, vs: &VirtualServer) -> Result<()> {
        self.check_virtual_server_alone(vs)?;
        // The keys of a state are unique already: one that keeps its key needs no search.
        let kept = |key| {
            self.virtual_servers
                .get(&vs.name)
                .is_some_and(|r| r.spec.key() == Some(key))
        };
        if let Some(key) = vs.key().filter(|k| !kept(*k)) {
            for (name, other) in &self.virtual_servers {
                if other.spec.key() == Some(key) && *name != vs.name {
                    return Err(key_taken(vs, key, name));
                }
            }
        }
        Ok(())
    }

    /// [`Self::check_virtual_server`] for many virtual servers in a row (a batch, an import): the identity is
    /// checked against `identities`, which then holds `vs` in place of this state's version of it.
    pub fn check_virtual_server_among(
        &self,
        vs: &VirtualServer,
        identities: &mut Identities,
    ) -> Result<()> {
        self.check_virtual_server_alone(vs)?;
        identities.check(vs)?;
        identities.replace(self.virtual_servers.get(&vs.name).map(|r| &r.spec), vs);
        Ok(())
    }

    /// The checks of a virtual server but the uniqueness of its kernel identity.
    fn check_virtual_server_alone(&self, vs: &VirtualServer) -> Result<()> {
        vs.validate()?;
        if let Some(group) = &vs.vrrp_group {
            if !self.vrrp_groups.contains_key(group) {
                return Err(ModelError::invalid(
                    "vrrp_group",
                    format!("there is no VRRP group named {group:?}"),
                ));
            }
        }
        Ok(())
    }

    /// Every check a VRRP group must pass before it is written: its own fields, tracked objects exist, and
    /// its VRID is not used by another group of the same family on the same interface of the same node.
    pub fn check_vrrp_group(&self, group: &VrrpGroup) -> Result<()> {
        group.validate()?;
        for (i, t) in group.track.iter().enumerate() {
            if let Some(vs) = &t.virtual_server {
                if !self.virtual_servers.contains_key(vs) {
                    return Err(ModelError::invalid(
                        format!("track[{i}].virtual_server"),
                        format!("there is no virtual server named {vs:?}"),
                    ));
                }
            }
        }
        self.check_connection_sync(group)?;
        let family = group.family();
        for (name, other) in &self.vrrp_groups {
            let other = &other.spec;
            if *name == group.name || other.vrid != group.vrid || other.family() != family {
                continue;
            }
            for (node_a, if_a) in group.placements() {
                for (node_b, if_b) in other.placements() {
                    let same_node = node_a.is_none() || node_b.is_none() || node_a == node_b;
                    if same_node && if_a == if_b {
                        return Err(ModelError::conflict(
                            "vrid",
                            format!(
                                "VRID {} is already used by VRRP group {name:?} on interface {}{}",
                                group.vrid,
                                if_a.unwrap_or("(default)"),
                                node_a
                                    .or(node_b)
                                    .map(|n| format!(" of node {n}"))
                                    .unwrap_or_default()
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A node runs one sync daemon of each kind for all its groups: every group with `connection_sync` that
    /// shares a node with this one must give the node the same settings.
    fn check_connection_sync(&self, group: &VrrpGroup) -> Result<()> {
        if group.connection_sync.is_none() {
            return Ok(());
        }
        for (name, other) in &self.vrrp_groups {
            let other = &other.spec;
            if *name == group.name || other.connection_sync.is_none() {
                continue;
            }
            // The nodes both run; a group without members runs on every node (any name stands for it).
            let nodes: Vec<&str> = match (group.members.is_empty(), other.members.is_empty()) {
                (true, true) => vec![""],
                (true, false) => other.members.iter().map(|m| m.node.as_str()).collect(),
                (false, _) => group
                    .members
                    .iter()
                    .map(|m| m.node.as_str())
                    .filter(|n| other.member_for(n).is_some())
                    .collect(),
            };
            for node in nodes {
                let (mine, theirs) = (group.sync_settings_for(node), other.sync_settings_for(node));
                if let (Some(mine), Some(theirs)) = (mine, theirs) {
                    if mine != theirs {
                        let on = if node.is_empty() {
                            "every node".to_string()
                        } else {
                            format!("node {node}")
                        };
                        return Err(ModelError::conflict(
                            "connection_sync",
                            format!(
                                "{on} runs one sync daemon of each kind for all its groups, and VRRP group \
                                 {name:?} starts them there with {theirs}, this one with {mine}: give both \
                                 the same settings (sync_id defaults to each group's VRID)"
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A VRRP group cannot go while virtual servers are tied to it.
    pub fn check_vrrp_group_delete(&self, name: &str) -> Result<()> {
        if let Some((vs, _)) = self
            .virtual_servers
            .iter()
            .find(|(_, v)| v.spec.vrrp_group.as_deref() == Some(name))
        {
            return Err(ModelError::conflict(
                "name",
                format!(
                    "VRRP group {name:?} is used by virtual server {vs:?}; move or delete it first"
                ),
            ));
        }
        Ok(())
    }

    /// A virtual server cannot go while a VRRP group tracks it.
    pub fn check_virtual_server_delete(&self, name: &str) -> Result<()> {
        for (g, group) in &self.vrrp_groups {
            if group
                .spec
                .track
                .iter()
                .any(|t| t.virtual_server.as_deref() == Some(name))
            {
                return Err(ModelError::conflict(
                    "name",
                    format!("virtual server {name:?} is tracked by VRRP group {g:?}; remove the track first"),
                ));
            }
        }
        Ok(())
    }

    /// The groups this node takes part in, with its member entry.
    pub fn groups_of_node<'a>(
        &'a self,
        node: &'a str,
    ) -> impl Iterator<Item = (&'a VrrpGroup, Member)> + 'a {
        self.vrrp_groups
            .values()
            .filter_map(move |g| g.spec.member_for(node).map(|m| (&g.spec, m)))
    }

    pub fn real_server_count(&self) -> usize {
        self.virtual_servers
            .values()
            .map(|v| v.spec.real_servers.len())
            .sum()
    }
}

/// The virtual server holding each kernel identity, for checking many virtual servers in a row (an import of
/// thousands) without a search of the whole state for each.
#[derive(Debug, Default)]
pub struct Identities(HashMap<ServiceKey, String>);

impl Identities {
    pub fn of(state: &DesiredState) -> Self {
        Identities(
            state
                .virtual_servers
                .iter()
                .filter_map(|(name, r)| r.spec.key().map(|k| (k, name.clone())))
                .collect(),
        )
    }

    /// The virtual server that holds `key`.
    pub fn holder(&self, key: ServiceKey) -> Option<&str> {
        self.0.get(&key).map(String::as_str)
    }

    /// Refuses `vs` when another virtual server holds its identity.
    fn check(&self, vs: &VirtualServer) -> Result<()> {
        match vs.key().and_then(|k| self.0.get(&k).map(|name| (k, name))) {
            Some((key, name)) if *name != vs.name => Err(key_taken(vs, key, name)),
            _ => Ok(()),
        }
    }

    /// Records `vs` (checked) in place of what `old`, its previous version, held.
    fn replace(&mut self, old: Option<&VirtualServer>, vs: &VirtualServer) {
        if let Some(key) = old.and_then(VirtualServer::key) {
            if self.0.get(&key) == Some(&vs.name) {
                self.0.remove(&key);
            }
        }
        if let Some(key) = vs.key() {
            self.0.insert(key, vs.name.clone());
        }
    }
}

fn key_taken(vs: &VirtualServer, key: ServiceKey, holder: &str) -> ModelError {
    let field = if vs.fwmark.is_some() {
        "fwmark"
    } else {
        "address"
    };
    ModelError::conflict(
        field,
        format!("{key} is already used by virtual server {holder:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vs(v: serde_json::Value) -> VirtualServer {
        let mut vs: VirtualServer = serde_json::from_value(v).unwrap();
        vs.normalize();
        vs
    }

    fn with(state: &mut DesiredState, v: VirtualServer) {
        let rec = VirtualServerRecord {
            spec: v,
            revision: 1,
            real_server_revisions: BTreeMap::new(),
        };
        state
            .virtual_servers
            .insert(rec.spec.name.clone(), Arc::new(rec));
    }

    fn group(v: serde_json::Value) -> VrrpGroup {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn changes_between_states_name_what_was_added_changed_and_removed() {
        let web = |port: u32| {
            vs(
                json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": port,
                      "scheduler": "wrr", "real_servers": []}),
            )
        };
        let mut before = DesiredState::default();
        for i in 0..500 {
            with(
                &mut before,
                vs(json!({"name": format!("vs-{i:03}"), "protocol": "tcp",
                          "address": format!("10.1.{}.{}", i / 250, i % 250), "port": 80,
                          "scheduler": "wrr", "real_servers": []})),
            );
        }
        with(&mut before, web(80));
        let mut after = before.clone();
        assert_eq!(
            before.virtual_server_changes(&after).count(),
            0,
            "a copy changes nothing"
        );
        with(&mut after, web(8080));
        after.virtual_servers.remove("vs-007");
        with(
            &mut after,
            vs(
                json!({"name": "new", "protocol": "tcp", "address": "10.9.0.1", "port": 80,
                      "scheduler": "wrr", "real_servers": []}),
            ),
        );
        let changes: Vec<(&str, Option<u32>, Option<u32>)> = before
            .virtual_server_changes(&after)
            .map(|c| {
                let port = |r: Option<&VirtualServerRecord>| r.and_then(|r| r.spec.port);
                (c.name, port(c.before), port(c.after))
            })
            .collect();
        assert_eq!(
            changes,
            vec![
                ("new", None, Some(80)),
                ("vs-007", Some(80), None),
                ("web", Some(80), Some(8080)),
            ]
        );
    }

    #[test]
    fn own_fields_ignore_the_real_servers_only() {
        let base = vs(
            json!({"name":"web","protocol":"tcp","address":"10.0.0.1","port":80,
            "real_servers":[{"address":"10.0.1.1","port":80,"weight":1}]}),
        );
        let mut weight = base.clone();
        weight.real_servers[0].weight = 5;
        assert!(base.same_own_fields(&weight));
        let mut quorum = base.clone();
        quorum.quorum = 2;
        assert!(!base.same_own_fields(&quorum));
        let mut scheduler = base.clone();
        scheduler.scheduler = crate::model::Scheduler::Rr;
        assert!(!base.same_own_fields(&scheduler));
    }

    #[test]
    fn identities_refuse_a_taken_key_and_free_a_changed_one() {
        let mut s = DesiredState::default();
        let web = vs(json!({"name":"web","protocol":"tcp","address":"10.0.0.1","port":80}));
        with(&mut s, web.clone());
        let mut ids = Identities::of(&s);
        let taken = vs(json!({"name":"web2","protocol":"tcp","address":"10.0.0.1","port":80}));
        let e = ids.check(&taken).unwrap_err();
        assert_eq!(
            (e.kind, e.field.as_str()),
            (crate::ErrorKind::Conflict, "address")
        );
        assert!(
            ids.check(&web).is_ok(),
            "a virtual server does not conflict with itself"
        );
        assert_eq!(ids.holder(web.key().unwrap()), Some("web"));
        // web moves to port 81: its old identity is free, its new one taken.
        let moved = vs(json!({"name":"web","protocol":"tcp","address":"10.0.0.1","port":81}));
        ids.replace(Some(&web), &moved);
        assert!(ids.check(&taken).is_ok());
        let on_81 = vs(json!({"name":"web3","protocol":"tcp","address":"10.0.0.1","port":81}));
        assert!(ids.check(&on_81).is_err());
    }

    #[test]
    fn two_virtual_servers_cannot_share_an_address() {
        let mut s = DesiredState::default();
        with(
            &mut s,
            vs(json!({"name":"web","protocol":"tcp","address":"10.0.0.1","port":80})),
        );
        let e = s
            .check_virtual_server(&vs(
                json!({"name":"web2","protocol":"tcp","address":"10.0.0.1","port":80}),
            ))
            .unwrap_err();
        assert_eq!(
            (e.kind, e.field.as_str()),
            (crate::ErrorKind::Conflict, "address")
        );
        s.check_virtual_server(&vs(
            json!({"name":"web2","protocol":"udp","address":"10.0.0.1","port":80}),
        ))
        .unwrap();
        // Replacing itself is fine.
        s.check_virtual_server(&vs(
            json!({"name":"web","protocol":"tcp","address":"10.0.0.1","port":80}),
        ))
        .unwrap();
    }

    #[test]
    fn two_virtual_servers_cannot_share_a_fwmark() {
        let mut s = DesiredState::default();
        with(&mut s, vs(json!({"name":"m1","fwmark":7})));
        let e = s
            .check_virtual_server(&vs(json!({"name":"m2","fwmark":7})))
            .unwrap_err();
        assert_eq!(e.field, "fwmark");
        s.check_virtual_server(&vs(json!({"name":"m2","fwmark":7,"family":"inet6"})))
            .unwrap();
    }

    #[test]
    fn a_vrrp_group_reference_must_exist() {
        let s = DesiredState::default();
        let e = s
            .check_virtual_server(&vs(json!({"name":"web","protocol":"tcp","address":"10.0.0.1","port":80,"vrrp_group":"vi-1"})))
            .unwrap_err();
        assert_eq!(e.field, "vrrp_group");
    }

    #[test]
    fn a_vrid_is_unique_per_interface_and_node() {
        let mut s = DesiredState::default();
        let g1 = group(
            json!({"name":"a","vrid":51,"virtual_addresses":["10.0.0.1"],"interface":"eth0"}),
        );
        s.vrrp_groups.insert(
            "a".into(),
            Arc::new(VrrpGroupRecord {
                spec: g1,
                revision: 1,
            }),
        );
        let same = group(
            json!({"name":"b","vrid":51,"virtual_addresses":["10.0.0.2"],"interface":"eth0"}),
        );
        assert_eq!(s.check_vrrp_group(&same).unwrap_err().field, "vrid");
        let other_if = group(
            json!({"name":"b","vrid":51,"virtual_addresses":["10.0.0.2"],"interface":"eth1"}),
        );
        s.check_vrrp_group(&other_if).unwrap();
        let v6 = group(
            json!({"name":"b","vrid":51,"version":3,"virtual_addresses":["2001:db8::1"],"interface":"eth0"}),
        );
        s.check_vrrp_group(&v6).unwrap();
        let member = group(
            json!({"name":"b","vrid":51,"virtual_addresses":["10.0.0.2"],
            "members":[{"node":"n1","interface":"eth0"}]}),
        );
        assert_eq!(s.check_vrrp_group(&member).unwrap_err().field, "vrid");
    }

    #[test]
    fn groups_sharing_a_node_agree_on_connection_sync() {
        let mut s = DesiredState::default();
        let a = group(
            json!({"name":"a","vrid":51,"virtual_addresses":["10.0.0.1"],"interface":"eth0",
            "members":[{"node":"n1"},{"node":"n2"}],"connection_sync":{"interface":"eth1"}}),
        );
        s.vrrp_groups.insert(
            "a".into(),
            Arc::new(VrrpGroupRecord {
                spec: a,
                revision: 1,
            }),
        );
        // Another VRID on the same nodes: the default sync ids differ.
        let b = json!({"name":"b","vrid":52,"virtual_addresses":["10.0.0.2"],"interface":"eth0",
            "members":[{"node":"n2"},{"node":"n3"}],"connection_sync":{"interface":"eth1"}});
        let e = s.check_vrrp_group(&group(b.clone())).unwrap_err();
        assert_eq!(e.field, "connection_sync");
        assert!(
            e.message.contains("node n2") && e.message.contains("\"a\""),
            "{e}"
        );
        // The same sync id: one pair of daemons serves both groups.
        let mut same = b.clone();
        same["connection_sync"]["sync_id"] = json!(51);
        s.check_vrrp_group(&group(same.clone())).unwrap();
        // n2 on another interface in one group only: refused; on both, fine.
        same["members"][0]["sync_interface"] = json!("bond1");
        assert_eq!(
            s.check_vrrp_group(&group(same.clone())).unwrap_err().field,
            "connection_sync"
        );
        // No node in common, or no connection_sync: nothing to agree on.
        let mut apart = b.clone();
        apart["members"] = json!([{"node":"n3"}]);
        s.check_vrrp_group(&group(apart)).unwrap();
        let mut plain = b;
        plain.as_object_mut().unwrap().remove("connection_sync");
        s.check_vrrp_group(&group(plain)).unwrap();
        // A group without members runs on every node.
        let everywhere = json!({"name":"c","vrid":53,"virtual_addresses":["10.0.0.3"],"interface":"eth0",
            "connection_sync":{"interface":"eth1","sync_id":7}});
        assert_eq!(
            s.check_vrrp_group(&group(everywhere)).unwrap_err().field,
            "connection_sync"
        );
    }

    #[test]
    fn referenced_objects_cannot_be_deleted() {
        let mut s = DesiredState::default();
        let g = group(
            json!({"name":"vi-1","vrid":51,"virtual_addresses":["10.0.0.1"],"interface":"eth0",
            "track":[{"virtual_server":"web","weight":-20}]}),
        );
        s.vrrp_groups.insert(
            "vi-1".into(),
            Arc::new(VrrpGroupRecord {
                spec: g,
                revision: 1,
            }),
        );
        with(
            &mut s,
            vs(
                json!({"name":"web","protocol":"tcp","address":"10.0.0.1","port":80,"vrrp_group":"vi-1"}),
            ),
        );
        assert!(s.check_vrrp_group_delete("vi-1").is_err());
        assert!(s.check_virtual_server_delete("web").is_err());
        assert!(s.check_virtual_server_delete("other").is_ok());
    }
}
