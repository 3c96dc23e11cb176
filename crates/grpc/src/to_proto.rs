//! Model objects (as the API views show them: with revision and health) into proto messages.
//!
//! Enumerations go by name: the model's JSON name `sh-fallback` becomes the proto value named
//! `SCHEDULER_FLAG_SH_FALLBACK`, so the two stay in step without a table to maintain.

use super::proto as pb;
use director_core::model::{HealthCheck, VrrpGroup};
use director_runtime::views::{RealServerView, VirtualServerView, VrrpGroupView};
use director_service::store::AuditEntry;
use director_service::HostChange;
use serde::Serialize;
use serde_json::Value;

/// The JSON name of a model value (its serde form), e.g. `wrr` for `Scheduler::Wrr`.
fn json_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// `wrr` -> the value of `SCHEDULER_WRR`; 0 (unspecified) when the proto has no such value, which the
/// contract test (`contract_covers_the_model`) rules out.
fn proto_enum<T: Serialize, E: Into<i32>>(
    prefix: &str,
    v: &T,
    from_str_name: fn(&str) -> Option<E>,
) -> i32 {
    let name = format!(
        "{prefix}_{}",
        json_name(v).replace('-', "_").to_ascii_uppercase()
    );
    from_str_name(&name).map_or(0, Into::into)
}

fn text<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(ToString::to_string)
}

pub fn virtual_server(view: &VirtualServerView) -> pb::VirtualServer {
    let vs = &view.spec;
    pb::VirtualServer {
        name: vs.name.clone(),
        protocol: vs.protocol.map_or(0, |p| {
            proto_enum("PROTOCOL", &p, pb::Protocol::from_str_name)
        }),
        address: text(&vs.address),
        port: vs.port,
        fwmark: vs.fwmark,
        family: proto_enum("FAMILY", &vs.effective_family(), pb::Family::from_str_name),
        scheduler: proto_enum("SCHEDULER", &vs.scheduler, pb::Scheduler::from_str_name),
        scheduler_flags: vs
            .scheduler_flags
            .iter()
            .map(|f| proto_enum("SCHEDULER_FLAG", f, pb::SchedulerFlag::from_str_name))
            .collect(),
        forwarding: proto_enum("FORWARDING", &vs.forwarding, pb::Forwarding::from_str_name),
        persistence: vs.persistence.as_ref().map(|p| pb::Persistence {
            timeout_s: p.timeout_s,
            netmask: p.netmask.clone(),
        }),
        one_packet: vs.one_packet,
        vrrp_group: vs.vrrp_group.clone(),
        health_check: vs.health_check.as_ref().map(health_check),
        sorry_server: vs.sorry_server.as_ref().map(|s| pb::SorryServer {
            address: s.address.to_string(),
            port: s.port,
            forwarding: s.forwarding.map_or(0, |f| {
                proto_enum("FORWARDING", &f, pb::Forwarding::from_str_name)
            }),
        }),
        quorum: Some(vs.quorum),
        hysteresis: vs.hysteresis,
        alpha: Some(vs.alpha),
        enabled: Some(vs.enabled),
        real_servers: view.real_servers.iter().map(real_server).collect(),
        revision: view.revision,
    }
}

pub fn real_server(view: &RealServerView) -> pb::RealServer {
    let rs = &view.spec;
    pb::RealServer {
        address: rs.address.to_string(),
        port: rs.port,
        weight: Some(rs.weight),
        forwarding: rs.forwarding.map_or(0, |f| {
            proto_enum("FORWARDING", &f, pb::Forwarding::from_str_name)
        }),
        upper_threshold: rs.upper_threshold,
        lower_threshold: rs.lower_threshold,
        enabled: Some(rs.enabled),
        inhibit_on_failure: rs.inhibit_on_failure,
        health_check: rs.health_check.as_ref().map(health_check),
        revision: view.revision,
        health: Some(pb::Health {
            status: view.health.status.clone(),
            since: view.health.since.clone(),
            last_check: view.health.last_check.clone(),
            last_error: view.health.last_error.clone(),
            consecutive_successes: view.health.consecutive_successes,
            consecutive_failures: view.health.consecutive_failures,
            last_latency_ms: view.health.last_latency_ms,
            dynamic_weight: view.health.dynamic_weight,
            checks: view.health.checks,
        }),
    }
}

fn health_check(hc: &HealthCheck) -> pb::HealthCheck {
    pb::HealthCheck {
        r#type: json_name(&hc.kind),
        interval_ms: Some(hc.interval_ms),
        timeout_ms: Some(hc.timeout_ms),
        rise: Some(hc.rise),
        fall: Some(hc.fall),
        retry_delay_ms: hc.retry_delay_ms,
        warmup_ms: hc.warmup_ms,
        connect_address: text(&hc.connect_address),
        connect_port: hc.connect_port,
        bind_address: text(&hc.bind_address),
        path: hc.path.clone(),
        http_version: hc.http_version.clone(),
        status_codes: hc.status_codes.clone().unwrap_or_default(),
        digest: hc.digest.clone(),
        body_regex: hc.body_regex.clone(),
        virtual_host: hc.virtual_host.clone(),
        sni: hc.sni.clone(),
        verify_tls: hc.verify_tls,
        command: hc.command.clone().unwrap_or_default(),
        dynamic_weight: hc.dynamic_weight,
    }
}

pub fn vrrp_group(view: &VrrpGroupView) -> pb::VrrpGroup {
    let g: &VrrpGroup = &view.spec;
    pb::VrrpGroup {
        name: g.name.clone(),
        vrid: g.vrid,
        version: Some(g.version),
        advert_interval_ms: Some(g.advert_interval_ms),
        preempt: Some(g.preempt),
        preempt_delay_s: g.preempt_delay_s,
        auth: g.auth.as_ref().map(|a| pb::VrrpAuth {
            r#type: proto_enum("VRRP_AUTH_TYPE", &a.kind, pb::VrrpAuthType::from_str_name),
            password: a.password.clone(),
        }),
        virtual_addresses: g.virtual_addresses.clone(),
        interface: g.interface.clone(),
        priority: Some(g.priority),
        members: g
            .members
            .iter()
            .map(|m| pb::VrrpMember {
                node: m.node.clone(),
                interface: m.interface.clone(),
                priority: m.priority,
                unicast_peers: m.unicast_peers.iter().map(ToString::to_string).collect(),
                unicast_source: text(&m.unicast_source),
                sync_interface: m.sync_interface.clone(),
            })
            .collect(),
        track: g
            .track
            .iter()
            .map(|t| pb::VrrpTrack {
                virtual_server: t.virtual_server.clone(),
                interface: t.interface.clone(),
                script: t.script.clone().unwrap_or_default(),
                weight: t.weight,
            })
            .collect(),
        notify: g.notify.as_ref().map(|n| pb::VrrpNotify {
            webhook: n.webhook.clone(),
            script: n.script.clone().unwrap_or_default(),
        }),
        sync_group: g.sync_group.clone(),
        garp: g.garp.map(|garp| pb::VrrpGarp {
            repeat: Some(garp.repeat),
            delay_s: Some(garp.delay_s),
            refresh_s: garp.refresh_s,
        }),
        connection_sync: g.connection_sync.as_ref().map(|c| pb::VrrpConnectionSync {
            interface: c.interface.clone(),
            sync_id: c.sync_id,
            max_packet_len: c.max_packet_len,
            mcast_group: text(&c.mcast_group),
            mcast_port: c.mcast_port,
            mcast_ttl: c.mcast_ttl,
        }),
        revision: view.revision,
        status: view
            .status
            .as_ref()
            .and_then(|status| match serde_json::to_value(status) {
                Ok(Value::Object(fields)) => Some(prost_types::Struct {
                    fields: fields.iter().map(|(k, v)| (k.clone(), value(v))).collect(),
                }),
                _ => None,
            }),
    }
}

/// What a host drain or undrain did.
pub fn host_change(c: &HostChange) -> pb::HostChange {
    pb::HostChange {
        address: c.address.clone(),
        revision: c.revision,
        changed: c.changed,
        real_servers: c
            .real_servers
            .iter()
            .map(|r| pb::HostRealServer {
                virtual_server: r.virtual_server.clone(),
                endpoint: r.endpoint.clone(),
                weight_before: r.weight_before,
                weight: r.weight,
                changed: r.changed,
            })
            .collect(),
        message: c.message.clone(),
    }
}

pub fn audit_entry(e: &AuditEntry) -> pb::AuditEntry {
    pb::AuditEntry {
        id: e.id,
        at: e.at.clone(),
        actor: e.actor.clone(),
        via: e.via.clone(),
        source: e.source.as_str().to_string(),
        node: e.node.clone(),
        action: e.action.clone(),
        kind: e.kind.clone(),
        object: e.object.clone(),
        before: e.before.as_ref().map(value),
        after: e.after.as_ref().map(value),
        summary: e.summary.clone(),
        revision: e.revision.and_then(|r| u64::try_from(r).ok()),
    }
}

/// Any JSON as a google.protobuf.Value.
pub fn value(v: &Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(value).collect(),
        }),
        Value::Object(m) => Kind::StructValue(prost_types::Struct {
            fields: m.iter().map(|(k, v)| (k.clone(), value(v))).collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}
