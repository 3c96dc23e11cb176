//! `apply -f FILE`: create or update the objects of a file.
//!
//! The whole file is read and checked first (syntax, fields, values, duplicates), each error pointing at its
//! line and column, so that a typo in the last object does not leave the first ones applied. Then VRRP groups
//! go first (virtual servers refer to them), virtual servers next, and last the groups that track virtual
//! servers the file creates. Each update carries the revision read just before, so a concurrent change is
//! reported (exit 4) instead of overwritten.

use crate::client::Client;
use crate::failure::{self, Failure};
use crate::file::{self, Document};
use crate::json;
use crate::proto as pb;
use director_core::model::{VirtualServer, VrrpGroup};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use tonic::Code;

/// A checked file, ready to send.
#[derive(Debug)]
pub struct Plan {
    pub source: String,
    document: Document,
    vrrp_groups: Vec<VrrpGroup>,
    virtual_servers: Vec<VirtualServer>,
}

/// What happened to one object (or, in a dry run, what would happen).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub kind: &'static str,
    pub name: String,
    /// created, updated or unchanged.
    pub result: &'static str,
    /// The revision the change produced; in a dry run, the object's revision now (0: it does not exist).
    pub revision: u64,
    /// The fields of the object itself that change (real servers are listed on their own).
    pub changes: Vec<FieldChange>,
    /// For a virtual server: every real server the file or the daemon has, and what happens to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub real_servers: Vec<MemberOutcome>,
}

/// One field: its value before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// One real server of a virtual server the file declares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberOutcome {
    pub endpoint: String,
    /// created, updated, unchanged, removed (absent from the file, with --prune) or kept (absent from the
    /// file, without --prune).
    pub result: &'static str,
    pub changes: Vec<FieldChange>,
}

/// How the file meets the daemon.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// Read only: say what would change.
    pub dry_run: bool,
    /// Remove the real servers of a declared virtual server that the file does not list.
    pub prune: bool,
}

const KINDS: [&str; 2] = ["vrrp_groups", "virtual_servers"];

/// A model object as the proto message `name` (through its JSON, the shape both share).
fn to_proto<T: Serialize, M: prost::Message + Default>(
    name: &str,
    object: &T,
) -> Result<M, json::JsonError> {
    let value = serde_json::to_value(object).map_err(|e| json::JsonError {
        path: String::new(),
        message: e.to_string(),
    })?;
    json::from_json(name, &value)
}

/// A proto message of the daemon as the model object, to compare with the file's. Empty lists are left out:
/// proto has no absent list, and the daemon stores an empty optional list as absent.
fn from_proto<T: DeserializeOwned, M: prost::Message>(name: &str, message: &M) -> Option<T> {
    let mut value = strip_read_only(json::to_json(name, message).ok()?);
    drop_empty_lists(&mut value);
    model(&value).ok()
}

fn drop_empty_lists(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !matches!(v, Value::Array(items) if items.is_empty()));
            map.values_mut().for_each(drop_empty_lists);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty_lists),
        _ => {}
    }
}

impl Plan {
    /// An error about `path` of the file, with its place.
    fn error(source: &str, document: &Document, path: &str, message: &str) -> Failure {
        let place = document
            .locate(path)
            .map(|p| format!("{source}:{}:{}: ", p.line, p.column))
            .unwrap_or_else(|| format!("{source}: "));
        let what = if path.is_empty() {
            String::new()
        } else {
            format!("{path}: ")
        };
        Failure::File(format!("{place}{what}{message}"))
    }

    /// Reads and checks `text` (named `source` in messages).
    pub fn read(source: &str, text: &str) -> Result<Plan, Failure> {
        let document = file::parse(text).map_err(|e| {
            Failure::File(format!(
                "{source}:{}:{}: {}",
                e.at.line, e.at.column, e.message
            ))
        })?;
        let err = |path: &str, message: &str| Self::error(source, &document, path, message);
        let Value::Object(top) = &document.value else {
            return Err(err(
                "",
                "the file must be a mapping with `vrrp_groups` and/or `virtual_servers`",
            ));
        };
        for key in top.keys() {
            if !KINDS.contains(&key.as_str()) {
                return Err(err(
                    key,
                    &format!("unknown key `{key}`: expected vrrp_groups or virtual_servers"),
                ));
            }
        }
        let list = |kind: &str| -> Result<Vec<Value>, Failure> {
            match top.get(kind) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => Ok(items.clone()),
                Some(_) => Err(err(kind, "must be a list of objects")),
            }
        };
        let mut vrrp_groups = Vec::new();
        let mut names = BTreeSet::new();
        for (i, item) in list("vrrp_groups")?.into_iter().enumerate() {
            let path = format!("vrrp_groups[{i}]");
            let mut group: VrrpGroup =
                model(&strip_read_only(item)).map_err(|(p, m)| err(&join(&path, &p), &m))?;
            group
                .validate()
                .map_err(|e| err(&join(&path, &e.field), &e.message))?;
            if !names.insert(group.name.clone()) {
                return Err(err(
                    &format!("{path}.name"),
                    &format!("{:?} is declared twice", group.name),
                ));
            }
            group.normalize();
            to_proto::<_, pb::VrrpGroup>("VrrpGroup", &group)
                .map_err(|e| err(&join(&path, &e.path), &e.message))?;
            vrrp_groups.push(group);
        }
        let mut virtual_servers = Vec::new();
        let mut names = BTreeSet::new();
        for (i, item) in list("virtual_servers")?.into_iter().enumerate() {
            let path = format!("virtual_servers[{i}]");
            let mut vs: VirtualServer =
                model(&strip_read_only(item)).map_err(|(p, m)| err(&join(&path, &p), &m))?;
            vs.validate()
                .map_err(|e| err(&join(&path, &e.field), &e.message))?;
            if !names.insert(vs.name.clone()) {
                return Err(err(
                    &format!("{path}.name"),
                    &format!("{:?} is declared twice", vs.name),
                ));
            }
            vs.normalize();
            to_proto::<_, pb::VirtualServer>("VirtualServer", &vs)
                .map_err(|e| err(&join(&path, &e.path), &e.message))?;
            virtual_servers.push(vs);
        }
        Ok(Plan {
            source: source.to_string(),
            document,
            vrrp_groups,
            virtual_servers,
        })
    }

    /// A failure about the object at `path`: the field the daemon names is placed in the file, and the exit
    /// code stays the one of the status (not found, denied, conflict...).
    fn call_failed(&self, path: &str, status: tonic::Status) -> Failure {
        let field = failure::field(&status).unwrap_or_default();
        let place = self
            .document
            .locate(&join(path, &field))
            .map(|p| format!("{}:{}:{}: ", self.source, p.line, p.column))
            .unwrap_or_default();
        let call = Failure::Call(status);
        Failure::About {
            message: format!("{place}{path}: {call}"),
            exit: call.exit_code(),
        }
    }

    fn not_sendable(&self, path: &str, e: json::JsonError) -> Failure {
        Self::error(
            &self.source,
            &self.document,
            &join(path, &e.path),
            &e.message,
        )
    }

    /// Sends the file (or with `mode.dry_run` only compares it); returns what happened to each object, in
    /// the order applied.
    pub async fn apply(&self, client: &mut Client, mode: Mode) -> Result<Vec<Outcome>, Failure> {
        let mut outcomes = Vec::new();
        if mode.dry_run {
            for (i, group) in self.vrrp_groups.iter().enumerate() {
                let path = format!("vrrp_groups[{i}]");
                outcomes.push(self.put_group(client, &path, group, mode).await?);
            }
            for (i, vs) in self.virtual_servers.iter().enumerate() {
                let path = format!("virtual_servers[{i}]");
                outcomes.push(self.put_virtual_server(client, &path, vs, mode).await?);
            }
            return Ok(outcomes);
        }
        let declared: BTreeSet<&str> = self
            .virtual_servers
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        let mut existing = BTreeSet::new();
        for name in &declared {
            match client
                .get_virtual_server(pb::GetVirtualServerRequest {
                    name: name.to_string(),
                })
                .await
            {
                Ok(_) => {
                    existing.insert(name.to_string());
                }
                Err(s) if s.code() == Code::NotFound => {}
                Err(s) => return Err(s.into()),
            }
        }
        // Groups, without the tracks of virtual servers this file is about to create: those come back in a
        // second pass, once the virtual servers exist.
        let mut deferred = Vec::new();
        for (i, group) in self.vrrp_groups.iter().enumerate() {
            let path = format!("vrrp_groups[{i}]");
            let mut now = group.clone();
            now.track.retain(|t| {
                t.virtual_server
                    .as_deref()
                    .is_none_or(|vs| !declared.contains(vs) || existing.contains(vs))
            });
            let trimmed = now.track.len() != group.track.len();
            let outcome = self.put_group(client, &path, &now, mode).await?;
            if trimmed {
                deferred.push((path, group, outcome));
            } else {
                outcomes.push(outcome);
            }
        }
        for (i, vs) in self.virtual_servers.iter().enumerate() {
            let path = format!("virtual_servers[{i}]");
            outcomes.push(self.put_virtual_server(client, &path, vs, mode).await?);
        }
        for (path, group, first) in deferred {
            let second = self.put_group(client, &path, group, mode).await?;
            let result = match (first.result, second.result) {
                ("created", _) => "created",
                ("updated", _) | (_, "updated") => "updated",
                _ => "unchanged",
            };
            // A group created here has no "before": its tracks are part of what was created.
            let changes = if first.result == "created" {
                Vec::new()
            } else {
                // A field both passes changed reads from its first value to its last.
                let mut changes = first.changes;
                for c in &second.changes {
                    match changes.iter_mut().find(|f| f.field == c.field) {
                        Some(f) => f.after = c.after.clone(),
                        None => changes.push(c.clone()),
                    }
                }
                changes.retain(|f| f.before != f.after);
                changes
            };
            outcomes.push(Outcome {
                result,
                changes,
                ..second
            });
        }
        Ok(outcomes)
    }

    /// Creates the group, or updates it unless the daemon has it as declared (nothing is sent then, so that
    /// a file an operator applies may list groups only admins may change).
    async fn put_group(
        &self,
        client: &mut Client,
        path: &str,
        group: &VrrpGroup,
        mode: Mode,
    ) -> Result<Outcome, Failure> {
        let message: pb::VrrpGroup =
            to_proto("VrrpGroup", group).map_err(|e| self.not_sendable(path, e))?;
        let current = match client
            .get_vrrp_group(pb::GetVrrpGroupRequest {
                name: group.name.clone(),
            })
            .await
        {
            Ok(r) => Some(r.into_inner()),
            Err(s) if s.code() == Code::NotFound => None,
            Err(s) => return Err(self.call_failed(path, s)),
        };
        let (result, revision, changes) = match current {
            None if mode.dry_run => ("created", 0, Vec::new()),
            None => {
                let created = client
                    .create_vrrp_group(pb::CreateVrrpGroupRequest {
                        vrrp_group: Some(message),
                    })
                    .await
                    .map_err(|s| self.call_failed(path, s))?
                    .into_inner();
                ("created", created.revision, Vec::new())
            }
            Some(current) => {
                let mut theirs: Option<VrrpGroup> = from_proto("VrrpGroup", &current);
                if let Some(g) = theirs.as_mut() {
                    g.normalize();
                }
                let changes = theirs
                    .as_ref()
                    .map(|t| field_changes(t, group))
                    .unwrap_or_default();
                if theirs.as_ref() == Some(group) {
                    ("unchanged", current.revision, changes)
                } else if mode.dry_run {
                    ("updated", current.revision, changes)
                } else {
                    let updated = client
                        .update_vrrp_group(pb::UpdateVrrpGroupRequest {
                            vrrp_group: Some(message),
                            expected_revision: Some(current.revision),
                        })
                        .await
                        .map_err(|s| self.call_failed(path, s))?
                        .into_inner();
                    (
                        changed(current.revision, updated.revision),
                        updated.revision,
                        changes,
                    )
                }
            }
        };
        Ok(Outcome {
            kind: "vrrp_group",
            name: group.name.clone(),
            result,
            revision,
            changes,
            real_servers: Vec::new(),
        })
    }

    /// Creates the virtual server, or updates it unless the daemon has it as declared. Real servers the
    /// daemon has and the file does not list are kept unless `mode.prune`.
    async fn put_virtual_server(
        &self,
        client: &mut Client,
        path: &str,
        vs: &VirtualServer,
        mode: Mode,
    ) -> Result<Outcome, Failure> {
        let current = match client
            .get_virtual_server(pb::GetVirtualServerRequest {
                name: vs.name.clone(),
            })
            .await
        {
            Ok(r) => Some(r.into_inner()),
            Err(s) if s.code() == Code::NotFound => None,
            Err(s) => return Err(self.call_failed(path, s)),
        };
        let theirs = current.as_ref().map(|c| {
            let mut v: Option<VirtualServer> = from_proto("VirtualServer", c);
            if let Some(v) = v.as_mut() {
                v.normalize();
            }
            (c.revision, v)
        });
        let (result, revision, changes, real_servers) = match theirs {
            None => {
                let members = vs
                    .real_servers
                    .iter()
                    .map(|r| MemberOutcome {
                        endpoint: r.key().to_string(),
                        result: "created",
                        changes: Vec::new(),
                    })
                    .collect();
                let revision = if mode.dry_run {
                    0
                } else {
                    let message: pb::VirtualServer =
                        to_proto("VirtualServer", vs).map_err(|e| self.not_sendable(path, e))?;
                    client
                        .create_virtual_server(pb::CreateVirtualServerRequest {
                            virtual_server: Some(message),
                        })
                        .await
                        .map_err(|s| self.call_failed(path, s))?
                        .into_inner()
                        .revision
                };
                ("created", revision, Vec::new(), members)
            }
            Some((current_revision, theirs)) => {
                let Some(theirs) = theirs else {
                    return Err(Failure::Internal(format!(
                        "{path}: the daemon's virtual server {:?} could not be read",
                        vs.name
                    )));
                };
                let merged = merge(&theirs, vs, mode.prune);
                if merged.is_unchanged() {
                    (
                        "unchanged",
                        current_revision,
                        merged.changes,
                        merged.real_servers,
                    )
                } else if mode.dry_run {
                    (
                        "updated",
                        current_revision,
                        merged.changes,
                        merged.real_servers,
                    )
                } else {
                    let message: pb::VirtualServer = to_proto("VirtualServer", &merged.send)
                        .map_err(|e| self.not_sendable(path, e))?;
                    let updated = client
                        .update_virtual_server(pb::UpdateVirtualServerRequest {
                            virtual_server: Some(message),
                            expected_revision: Some(current_revision),
                        })
                        .await
                        .map_err(|s| self.call_failed(path, s))?
                        .into_inner();
                    (
                        changed(current_revision, updated.revision),
                        updated.revision,
                        merged.changes,
                        merged.real_servers,
                    )
                }
            }
        };
        Ok(Outcome {
            kind: "virtual_server",
            name: vs.name.clone(),
            result,
            revision,
            changes,
            real_servers,
        })
    }
}

/// A declared virtual server met with the daemon's: what to send and what it changes.
#[derive(Debug)]
struct Merged {
    send: VirtualServer,
    changes: Vec<FieldChange>,
    real_servers: Vec<MemberOutcome>,
}

impl Merged {
    fn is_unchanged(&self) -> bool {
        self.changes.is_empty()
            && self
                .real_servers
                .iter()
                .all(|m| matches!(m.result, "unchanged" | "kept"))
    }
}

/// The file's virtual server over the daemon's: the file's fields and real servers, plus (without `prune`)
/// the daemon's real servers the file does not list, which are kept as they are.
fn merge(theirs: &VirtualServer, file: &VirtualServer, prune: bool) -> Merged {
    let mut send = file.clone();
    let mut real_servers = Vec::new();
    for rs in &file.real_servers {
        let (result, changes) = match theirs.real_server(&rs.key()) {
            None => ("created", Vec::new()),
            Some(before) => {
                let changes = field_changes(before, rs);
                (
                    if changes.is_empty() {
                        "unchanged"
                    } else {
                        "updated"
                    },
                    changes,
                )
            }
        };
        real_servers.push(MemberOutcome {
            endpoint: rs.key().to_string(),
            result,
            changes,
        });
    }
    for rs in &theirs.real_servers {
        if file.real_server(&rs.key()).is_some() {
            continue;
        }
        real_servers.push(MemberOutcome {
            endpoint: rs.key().to_string(),
            result: if prune { "removed" } else { "kept" },
            changes: Vec::new(),
        });
        if !prune {
            send.real_servers.push(rs.clone());
        }
    }
    let own = |v: &VirtualServer| {
        let mut value = serde_json::to_value(v).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.remove("real_servers");
        }
        value
    };
    Merged {
        changes: value_changes(&own(theirs), &own(&send)),
        send,
        real_servers,
    }
}

/// The top-level fields that differ between two objects, secrets withheld.
fn field_changes<T: Serialize>(before: &T, after: &T) -> Vec<FieldChange> {
    match (serde_json::to_value(before), serde_json::to_value(after)) {
        (Ok(b), Ok(a)) => value_changes(&b, &a),
        _ => Vec::new(),
    }
}

fn value_changes(before: &Value, after: &Value) -> Vec<FieldChange> {
    let Some(change) = director_core::audit::diff(before, after) else {
        return Vec::new();
    };
    change
        .fields
        .iter()
        .map(|field| {
            let shown = |v: &Value| match field.as_str() {
                // A VRRP group's password is not printed.
                "auth" => Value::String("(withheld)".into()),
                _ => v.get(field).cloned().unwrap_or(Value::Null),
            };
            FieldChange {
                field: field.clone(),
                before: shown(&change.before),
                after: shown(&change.after),
            }
        })
        .collect()
}

fn changed(before: u64, after: u64) -> &'static str {
    if before == after {
        "unchanged"
    } else {
        "updated"
    }
}

fn join(path: &str, field: &str) -> String {
    match (path.is_empty(), field.is_empty()) {
        (_, true) => path.to_string(),
        (true, false) => field.to_string(),
        (false, false) if field.starts_with('[') => format!("{path}{field}"),
        (false, false) => format!("{path}.{field}"),
    }
}

/// Drops what the API shows but does not take (`revision`, `health`, `status`), so that `get -o json` output
/// can be applied as is.
fn strip_read_only(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        for key in ["revision", "health", "status"] {
            map.remove(key);
        }
        if let Some(Value::Array(items)) = map.get_mut("real_servers") {
            for item in items.iter_mut() {
                *item = strip_read_only(item.take());
            }
        }
    }
    value
}

/// Parses a model object as the server does: a field of the wrong type or an unknown field is an error that
/// names its path.
fn model<T: DeserializeOwned>(value: &Value) -> Result<T, (String, String)> {
    let mut unknown: Option<String> = None;
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(value.clone(), &mut track);
    let parsed: Result<T, _> = serde_ignored::deserialize(de, |path| {
        unknown.get_or_insert_with(|| ignored_path(&path));
    });
    match parsed {
        Err(e) => {
            let path = track.path().to_string();
            let path = if path == "." { String::new() } else { path };
            Err((path, e.to_string()))
        }
        Ok(_) if unknown.is_some() => {
            let path = unknown.unwrap_or_default();
            let name = path.rsplit('.').next().unwrap_or(&path).to_string();
            Err((path, format!("unknown field `{name}`")))
        }
        Ok(v) => Ok(v),
    }
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => join(&ignored_path(parent), key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        match Plan::read("f.yaml", text) {
            Err(Failure::File(m)) => m,
            other => panic!("expected a file error, got {other:?}"),
        }
    }

    const GOOD: &str = "\
vrrp_groups:
  - name: vi-1
    vrid: 51
    virtual_addresses: [192.168.10.180/32]
    interface: eth0
    track: [{interface: eth1, weight: -30}]
virtual_servers:
  - name: web
    protocol: tcp
    address: 192.168.10.180
    port: 80
    vrrp_group: vi-1
    revision: 7
    real_servers:
      - {address: 10.0.1.1, port: 80, weight: 2, health: {status: up}}
    health_check: {type: http, status_codes: ['200']}
";

    #[test]
    fn a_good_file_becomes_messages() {
        let plan = Plan::read("f.yaml", GOOD).expect("good file");
        assert_eq!(plan.vrrp_groups[0].vrid, 51);
        let vs: pb::VirtualServer =
            to_proto("VirtualServer", &plan.virtual_servers[0]).expect("as proto");
        assert_eq!(vs.vrrp_group.as_deref(), Some("vi-1"));
        assert_eq!(vs.protocol, pb::Protocol::Tcp as i32);
        assert_eq!(vs.real_servers[0].weight, Some(2));
        assert_eq!(vs.revision, 0, "read-only fields are dropped");
        // What the daemon answers compares equal to the declaration it came from.
        let back: VirtualServer = from_proto("VirtualServer", &vs).expect("as model");
        assert_eq!(back, plan.virtual_servers[0]);
        let group: pb::VrrpGroup = to_proto("VrrpGroup", &plan.vrrp_groups[0]).expect("as proto");
        let back: VrrpGroup = from_proto("VrrpGroup", &group).expect("as model");
        assert_eq!(back, plan.vrrp_groups[0]);
    }

    #[test]
    fn bad_files_are_refused_with_their_place() {
        let m = refused(&GOOD.replace("weight: 2", "weight: 70000"));
        assert!(
            m.starts_with("f.yaml:15:") && m.contains("virtual_servers[0].real_servers[0].weight"),
            "{m}"
        );
        let m = refused(&GOOD.replace("    port: 80\n", "    port: 80\n    colour: red\n"));
        assert!(
            m.starts_with("f.yaml:12:5: virtual_servers[0].colour: unknown field"),
            "{m}"
        );
        let m = refused(&GOOD.replace("protocol: tcp", "protocol: tcpp"));
        assert!(
            m.starts_with("f.yaml:9:5: virtual_servers[0].protocol"),
            "{m}"
        );
        let m = refused(&GOOD.replace("vrid: 51", "vrid: 300"));
        assert!(m.starts_with("f.yaml:3:5: vrrp_groups[0].vrid"), "{m}");
        let m = refused(&GOOD.replace("virtual_servers:", "virtual_server:"));
        assert!(
            m.starts_with("f.yaml:7:1: virtual_server: unknown key"),
            "{m}"
        );
        let m = refused("virtual_servers:\n  - name: web\n   port: 80\n");
        assert!(m.starts_with("f.yaml:3:"), "{m}");
        let twice = format!(
            "{GOOD}  - name: web\n    protocol: tcp\n    address: 192.168.10.181\n    port: 80\n"
        );
        let m = refused(&twice);
        assert!(m.starts_with("f.yaml:17:5: virtual_servers[1].name"), "{m}");
    }

    fn web(real_servers: &str) -> VirtualServer {
        let mut vs: VirtualServer = serde_json::from_value(serde_json::json!({
            "name": "web", "protocol": "tcp", "address": "192.168.10.180", "port": 80,
            "real_servers": serde_json::from_str::<Value>(real_servers).expect("json"),
        }))
        .expect("virtual server");
        vs.normalize();
        vs
    }

    #[test]
    fn real_servers_the_file_does_not_list_are_kept_unless_pruned() {
        let theirs = web(r#"[{"address": "10.0.0.1", "port": 80, "weight": 1},
                {"address": "10.0.0.2", "port": 80, "weight": 1}]"#);
        let file = web(r#"[{"address": "10.0.0.1", "port": 80, "weight": 5}]"#);
        let kept = merge(&theirs, &file, false);
        assert_eq!(
            kept.send.real_servers.len(),
            2,
            "the unlisted one is sent back"
        );
        assert!(kept.changes.is_empty());
        assert_eq!(
            kept.real_servers
                .iter()
                .map(|m| (m.endpoint.as_str(), m.result))
                .collect::<Vec<_>>(),
            [("10.0.0.1:80", "updated"), ("10.0.0.2:80", "kept")]
        );
        assert_eq!(
            kept.real_servers[0].changes,
            [FieldChange {
                field: "weight".into(),
                before: 1.into(),
                after: 5.into()
            }]
        );
        let pruned = merge(&theirs, &file, true);
        assert_eq!(pruned.send.real_servers.len(), 1);
        assert_eq!(pruned.real_servers[1].result, "removed");
        assert!(!pruned.is_unchanged());

        // The same servers in another order, and one kept: nothing to send.
        let same = merge(
            &theirs,
            &web(r#"[{"address": "10.0.0.2", "port": 80, "weight": 1}]"#),
            false,
        );
        assert!(same.is_unchanged(), "{same:?}");
    }

    #[test]
    fn a_password_is_not_printed() {
        let changes = value_changes(
            &serde_json::json!({"auth": {"type": "pass", "password": "old"}, "vrid": 1}),
            &serde_json::json!({"auth": {"type": "pass", "password": "new"}, "vrid": 2}),
        );
        assert_eq!(changes[0].field, "auth");
        assert_eq!(changes[0].after, Value::String("(withheld)".into()));
        assert_eq!(changes[1].after, Value::from(2));
    }
}
