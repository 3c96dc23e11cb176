//! Requests' objects into the JSON model, so that they are parsed and validated by the same code as REST
//! bodies (`service::parse::from_json`): the same defaults, the same checks, the same field paths in errors.
//!
//! Absent `optional` fields and `..._UNSPECIFIED` enum values are left out of the JSON, so the model's
//! defaults apply; read-only fields (`revision`, `health`) are ignored.

use super::proto as pb;
use director_service::ServiceError;
use serde_json::{Map, Value};

type Result<T> = std::result::Result<T, ServiceError>;

/// `SCHEDULER_WRR` -> `wrr`, `SCHEDULER_FLAG_SH_FALLBACK` -> `sh-fallback`.
pub fn json_enum_name(prefix: &str, proto_name: &str) -> Option<String> {
    proto_name
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .map(|rest| rest.to_ascii_lowercase().replace('_', "-"))
}

/// An enum value's JSON name: `None` for the unspecified zero, `Err` for a number the contract does not know.
fn enum_json<E: TryFrom<i32>>(
    value: i32,
    prefix: &str,
    name: fn(&E) -> &'static str,
) -> std::result::Result<Option<String>, ()> {
    if value == 0 {
        return Ok(None);
    }
    let e = E::try_from(value).map_err(|_| ())?;
    json_enum_name(prefix, name(&e)).map(Some).ok_or(())
}

/// One enum field, omitted when unspecified.
fn put_enum<E: TryFrom<i32>>(
    m: &mut Map<String, Value>,
    field: &str,
    path: &str,
    value: i32,
    prefix: &str,
    name: fn(&E) -> &'static str,
) -> Result<()> {
    match enum_json(value, prefix, name) {
        Ok(Some(json)) => {
            put(m, field, json);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(()) => Err(unknown_enum(path, field, value)),
    }
}

fn unknown_enum(path: &str, field: &str, value: i32) -> ServiceError {
    ServiceError::invalid(join(path, field), format!("unknown value {value}"))
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn put<T: Into<Value>>(m: &mut Map<String, Value>, field: &str, value: T) {
    m.insert(field.to_string(), value.into());
}

fn put_opt<T: Into<Value>>(m: &mut Map<String, Value>, field: &str, value: Option<T>) {
    if let Some(v) = value {
        put(m, field, v);
    }
}

fn put_list(m: &mut Map<String, Value>, field: &str, values: &[String]) {
    if !values.is_empty() {
        put(m, field, values.to_vec());
    }
}

pub fn virtual_server(vs: &pb::VirtualServer) -> Result<Value> {
    let mut m = Map::new();
    put(&mut m, "name", vs.name.clone());
    put_enum::<pb::Protocol>(&mut m, "protocol", "", vs.protocol, "PROTOCOL", |e| {
        e.as_str_name()
    })?;
    put_opt(&mut m, "address", vs.address.clone());
    put_opt(&mut m, "port", vs.port);
    put_opt(&mut m, "fwmark", vs.fwmark);
    put_enum::<pb::Family>(&mut m, "family", "", vs.family, "FAMILY", |e| {
        e.as_str_name()
    })?;
    put_enum::<pb::Scheduler>(&mut m, "scheduler", "", vs.scheduler, "SCHEDULER", |e| {
        e.as_str_name()
    })?;
    let mut flags = Vec::new();
    for (i, &flag) in vs.scheduler_flags.iter().enumerate() {
        let path = format!("scheduler_flags[{i}]");
        match enum_json::<pb::SchedulerFlag>(flag, "SCHEDULER_FLAG", |e| e.as_str_name()) {
            Ok(Some(json)) => flags.push(json),
            Ok(None) => return Err(ServiceError::invalid(path, "must not be unspecified")),
            Err(()) => return Err(ServiceError::invalid(path, format!("unknown value {flag}"))),
        }
    }
    if !flags.is_empty() {
        put(&mut m, "scheduler_flags", flags);
    }
    put_enum::<pb::Forwarding>(&mut m, "forwarding", "", vs.forwarding, "FORWARDING", |e| {
        e.as_str_name()
    })?;
    if let Some(p) = &vs.persistence {
        let mut pm = Map::new();
        put(&mut pm, "timeout_s", p.timeout_s);
        put_opt(&mut pm, "netmask", p.netmask.clone());
        put(&mut m, "persistence", pm);
    }
    put(&mut m, "one_packet", vs.one_packet);
    put_opt(&mut m, "vrrp_group", vs.vrrp_group.clone());
    if let Some(hc) = &vs.health_check {
        put(&mut m, "health_check", health_check(hc));
    }
    if let Some(s) = &vs.sorry_server {
        let mut sm = Map::new();
        put(&mut sm, "address", s.address.clone());
        put(&mut sm, "port", s.port);
        put_enum::<pb::Forwarding>(
            &mut sm,
            "forwarding",
            "sorry_server",
            s.forwarding,
            "FORWARDING",
            |e| e.as_str_name(),
        )?;
        put(&mut m, "sorry_server", sm);
    }
    put_opt(&mut m, "quorum", vs.quorum);
    put(&mut m, "hysteresis", vs.hysteresis);
    put_opt(&mut m, "alpha", vs.alpha);
    put_opt(&mut m, "enabled", vs.enabled);
    let real_servers = vs
        .real_servers
        .iter()
        .enumerate()
        .map(|(i, rs)| real_server_at(rs, &format!("real_servers[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    if !real_servers.is_empty() {
        put(&mut m, "real_servers", real_servers);
    }
    Ok(Value::Object(m))
}

pub fn real_server(rs: &pb::RealServer) -> Result<Value> {
    real_server_at(rs, "")
}

fn real_server_at(rs: &pb::RealServer, path: &str) -> Result<Value> {
    let mut m = Map::new();
    put(&mut m, "address", rs.address.clone());
    put(&mut m, "port", rs.port);
    put_opt(&mut m, "weight", rs.weight);
    put_enum::<pb::Forwarding>(
        &mut m,
        "forwarding",
        path,
        rs.forwarding,
        "FORWARDING",
        |e| e.as_str_name(),
    )?;
    put(&mut m, "upper_threshold", rs.upper_threshold);
    put(&mut m, "lower_threshold", rs.lower_threshold);
    put_opt(&mut m, "enabled", rs.enabled);
    put(&mut m, "inhibit_on_failure", rs.inhibit_on_failure);
    if let Some(hc) = &rs.health_check {
        put(&mut m, "health_check", health_check(hc));
    }
    Ok(Value::Object(m))
}

fn health_check(hc: &pb::HealthCheck) -> Value {
    let mut m = Map::new();
    put(&mut m, "type", hc.r#type.clone());
    put_opt(&mut m, "interval_ms", hc.interval_ms);
    put_opt(&mut m, "timeout_ms", hc.timeout_ms);
    put_opt(&mut m, "rise", hc.rise);
    put_opt(&mut m, "fall", hc.fall);
    put_opt(&mut m, "retry_delay_ms", hc.retry_delay_ms);
    put_opt(&mut m, "warmup_ms", hc.warmup_ms);
    put_opt(&mut m, "connect_address", hc.connect_address.clone());
    put_opt(&mut m, "connect_port", hc.connect_port);
    put_opt(&mut m, "bind_address", hc.bind_address.clone());
    put_opt(&mut m, "path", hc.path.clone());
    put_opt(&mut m, "http_version", hc.http_version.clone());
    put_list(&mut m, "status_codes", &hc.status_codes);
    put_opt(&mut m, "digest", hc.digest.clone());
    put_opt(&mut m, "body_regex", hc.body_regex.clone());
    put_opt(&mut m, "virtual_host", hc.virtual_host.clone());
    put_opt(&mut m, "sni", hc.sni.clone());
    put_opt(&mut m, "verify_tls", hc.verify_tls);
    put_list(&mut m, "command", &hc.command);
    put_opt(&mut m, "dynamic_weight", hc.dynamic_weight);
    Value::Object(m)
}

pub fn vrrp_group(g: &pb::VrrpGroup) -> Result<Value> {
    let mut m = Map::new();
    put(&mut m, "name", g.name.clone());
    put(&mut m, "vrid", g.vrid);
    put_opt(&mut m, "version", g.version);
    put_opt(&mut m, "advert_interval_ms", g.advert_interval_ms);
    put_opt(&mut m, "preempt", g.preempt);
    put(&mut m, "preempt_delay_s", g.preempt_delay_s);
    if let Some(a) = &g.auth {
        let mut am = Map::new();
        put_enum::<pb::VrrpAuthType>(&mut am, "type", "auth", a.r#type, "VRRP_AUTH_TYPE", |e| {
            e.as_str_name()
        })?;
        put_opt(&mut am, "password", a.password.clone());
        put(&mut m, "auth", am);
    }
    put(&mut m, "virtual_addresses", g.virtual_addresses.clone());
    put_opt(&mut m, "interface", g.interface.clone());
    put_opt(&mut m, "priority", g.priority);
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|mb| {
            let mut mm = Map::new();
            put(&mut mm, "node", mb.node.clone());
            put_opt(&mut mm, "interface", mb.interface.clone());
            put_opt(&mut mm, "priority", mb.priority);
            put(&mut mm, "unicast_peers", mb.unicast_peers.clone());
            put_opt(&mut mm, "unicast_source", mb.unicast_source.clone());
            put_opt(&mut mm, "sync_interface", mb.sync_interface.clone());
            Value::Object(mm)
        })
        .collect();
    put(&mut m, "members", members);
    let track: Vec<Value> = g
        .track
        .iter()
        .map(|t| {
            let mut tm = Map::new();
            put_opt(&mut tm, "virtual_server", t.virtual_server.clone());
            put_opt(&mut tm, "interface", t.interface.clone());
            put_list(&mut tm, "script", &t.script);
            put(&mut tm, "weight", t.weight);
            Value::Object(tm)
        })
        .collect();
    put(&mut m, "track", track);
    if let Some(n) = &g.notify {
        let mut nm = Map::new();
        put_opt(&mut nm, "webhook", n.webhook.clone());
        put_list(&mut nm, "script", &n.script);
        put(&mut m, "notify", nm);
    }
    put_opt(&mut m, "sync_group", g.sync_group.clone());
    if let Some(garp) = &g.garp {
        let mut gm = Map::new();
        put_opt(&mut gm, "repeat", garp.repeat);
        put_opt(&mut gm, "delay_s", garp.delay_s);
        put(&mut gm, "refresh_s", garp.refresh_s);
        put(&mut m, "garp", gm);
    }
    if let Some(c) = &g.connection_sync {
        let mut cm = Map::new();
        put(&mut cm, "interface", c.interface.clone());
        put_opt(&mut cm, "sync_id", c.sync_id);
        put_opt(&mut cm, "max_packet_len", c.max_packet_len);
        put_opt(&mut cm, "mcast_group", c.mcast_group.clone());
        put_opt(&mut cm, "mcast_port", c.mcast_port);
        put_opt(&mut cm, "mcast_ttl", c.mcast_ttl);
        put(&mut m, "connection_sync", cm);
    }
    Ok(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_map_to_json() {
        assert_eq!(
            json_enum_name("SCHEDULER", "SCHEDULER_WRR").as_deref(),
            Some("wrr")
        );
        assert_eq!(
            json_enum_name("SCHEDULER_FLAG", "SCHEDULER_FLAG_SH_FALLBACK").as_deref(),
            Some("sh-fallback")
        );
        assert_eq!(
            json_enum_name("SCHEDULER_FLAG", "SCHEDULER_FLAG_FLAG_1").as_deref(),
            Some("flag-1")
        );
        assert_eq!(json_enum_name("FAMILY", "PROTOCOL_TCP"), None);
    }

    #[test]
    fn unknown_enum_numbers_name_the_field() {
        let vs = pb::VirtualServer {
            name: "web".into(),
            real_servers: vec![
                pb::RealServer::default(),
                pb::RealServer {
                    forwarding: 42,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let e = virtual_server(&vs).unwrap_err();
        assert_eq!(e.field(), Some("real_servers[1].forwarding"));
        let vs = pb::VirtualServer {
            scheduler_flags: vec![1, 99],
            ..Default::default()
        };
        assert_eq!(
            virtual_server(&vs).unwrap_err().field(),
            Some("scheduler_flags[1]")
        );
    }

    #[test]
    fn absent_fields_are_left_out() {
        let v = virtual_server(&pb::VirtualServer {
            name: "web".into(),
            protocol: pb::Protocol::Tcp as i32,
            address: Some("10.0.0.1".into()),
            port: Some(80),
            real_servers: vec![pb::RealServer {
                address: "10.0.0.2".into(),
                port: 80,
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(v["protocol"], "tcp");
        assert!(v.get("scheduler").is_none());
        assert!(v.get("enabled").is_none());
        assert!(v["real_servers"][0].get("weight").is_none());
        assert!(v["real_servers"][0].get("forwarding").is_none());
    }
}
