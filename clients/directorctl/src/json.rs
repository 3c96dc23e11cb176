//! Proto messages to and from the JSON shape of the REST API, driven by the contract's descriptors.
//!
//! The contract names every field as the JSON model does, so the mapping is mechanical: an enum value
//! `SCHEDULER_FLAG_SH_FALLBACK` of enum `SchedulerFlag` is the JSON string `sh-fallback`, the zero
//! (`..._UNSPECIFIED`) and absent optional fields are left out, `google.protobuf.Value` is any JSON.

use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    ReflectMessage, Value as Reflect,
};
use serde_json::{Map, Number, Value};
use std::sync::OnceLock;

const DESCRIPTORS: &[u8] = director_proto::FILE_DESCRIPTOR_SET;

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // The descriptors are compiled by director-proto's build.rs from the same files as the types.
        DescriptorPool::decode(DESCRIPTORS).expect("the embedded descriptor set decodes")
    })
}

/// The descriptor of a `director.v1` message.
pub fn descriptor(name: &str) -> Result<MessageDescriptor, String> {
    pool()
        .get_message_by_name(&format!("director.v1.{name}"))
        .ok_or_else(|| format!("no message director.v1.{name} in the contract"))
}

/// The prefix of an enum's value names: `SchedulerFlag` -> `SCHEDULER_FLAG`.
fn enum_prefix(e: &EnumDescriptor) -> String {
    let mut out = String::new();
    for (i, c) in e.name().chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn enum_to_json(e: &EnumDescriptor, number: i32) -> Option<Value> {
    if number == 0 {
        return None;
    }
    let name = e
        .get_value(number)
        .map(|v| v.name().to_string())
        .unwrap_or_else(|| number.to_string());
    let prefix = format!("{}_", enum_prefix(e));
    Some(Value::String(match name.strip_prefix(&prefix) {
        Some(rest) => rest.to_ascii_lowercase().replace('_', "-"),
        None => name,
    }))
}

fn enum_from_json(e: &EnumDescriptor, text: &str) -> Option<i32> {
    let name = format!(
        "{}_{}",
        enum_prefix(e),
        text.replace('-', "_").to_ascii_uppercase()
    );
    e.get_value_by_name(&name)
        .map(|v| v.number())
        .filter(|n| *n != 0)
}

/// The message `name` as JSON: every set field, enum values by their JSON names.
pub fn to_json<M: Message>(name: &str, message: &M) -> Result<Value, String> {
    let dynamic = DynamicMessage::decode(descriptor(name)?, message.encode_to_vec().as_slice())
        .map_err(|e| format!("decoding {name}: {e}"))?;
    Ok(message_to_json(&dynamic))
}

fn message_to_json(m: &DynamicMessage) -> Value {
    let desc = m.descriptor();
    if desc.full_name() == "google.protobuf.Value" {
        return well_known_value(m);
    }
    let mut out = Map::new();
    for field in desc.fields() {
        if field.supports_presence() && !m.has_field(&field) {
            continue;
        }
        let value = m.get_field(&field);
        let json = if field.is_list() {
            value.as_list().map(|items| {
                Value::Array(
                    items
                        .iter()
                        .filter_map(|v| single_to_json(&field, v))
                        .collect(),
                )
            })
        } else {
            single_to_json(&field, &value)
        };
        if let Some(json) = json {
            out.insert(field.name().to_string(), json);
        }
    }
    Value::Object(out)
}

fn single_to_json(field: &FieldDescriptor, value: &Reflect) -> Option<Value> {
    match (field.kind(), value) {
        (Kind::Enum(e), Reflect::EnumNumber(n)) => enum_to_json(&e, *n),
        (_, Reflect::Message(m)) => Some(message_to_json(m)),
        (_, Reflect::Bool(b)) => Some(Value::Bool(*b)),
        (_, Reflect::I32(n)) => Some(Value::from(*n)),
        (_, Reflect::I64(n)) => Some(Value::from(*n)),
        (_, Reflect::U32(n)) => Some(Value::from(*n)),
        (_, Reflect::U64(n)) => Some(Value::from(*n)),
        (_, Reflect::F32(n)) => Number::from_f64(f64::from(*n)).map(Value::Number),
        (_, Reflect::F64(n)) => Number::from_f64(*n).map(Value::Number),
        (_, Reflect::String(s)) => Some(Value::String(s.clone())),
        _ => None,
    }
}

/// google.protobuf.Value as the JSON it stands for; whole numbers print as integers.
fn well_known_value(m: &DynamicMessage) -> Value {
    let desc = m.descriptor();
    for field in desc.fields() {
        if !m.has_field(&field) {
            continue;
        }
        let value = m.get_field(&field);
        return match (field.name(), value.as_ref()) {
            ("bool_value", Reflect::Bool(b)) => Value::Bool(*b),
            ("string_value", Reflect::String(s)) => Value::String(s.clone()),
            ("number_value", Reflect::F64(n)) => number(*n),
            ("struct_value", Reflect::Message(s)) => {
                let fields = s
                    .descriptor()
                    .get_field_by_name("fields")
                    .map(|f| s.get_field(&f).into_owned());
                let mut out = Map::new();
                if let Some(Reflect::Map(entries)) = fields {
                    for (k, v) in entries {
                        if let (Some(k), Reflect::Message(v)) = (k.as_str(), v) {
                            out.insert(k.to_string(), well_known_value(&v));
                        }
                    }
                }
                Value::Object(out)
            }
            ("list_value", Reflect::Message(l)) => {
                let values = l
                    .descriptor()
                    .get_field_by_name("values")
                    .map(|f| l.get_field(&f).into_owned());
                match values {
                    Some(Reflect::List(items)) => Value::Array(
                        items
                            .iter()
                            .filter_map(|v| v.as_message().map(well_known_value))
                            .collect(),
                    ),
                    _ => Value::Array(Vec::new()),
                }
            }
            _ => Value::Null,
        };
    }
    Value::Null
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// A JSON value that does not fit the contract, with the path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub path: String,
    pub message: String,
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// Builds the message `name` from JSON in the REST shape. Read-only and unknown fields are errors here:
/// callers strip the read-only ones first.
pub fn from_json<M: Message + Default>(name: &str, json: &Value) -> Result<M, JsonError> {
    let desc = descriptor(name).map_err(|message| JsonError {
        path: String::new(),
        message,
    })?;
    let dynamic = message_from_json(&desc, json, "")?;
    M::decode(dynamic.encode_to_vec().as_slice()).map_err(|e| JsonError {
        path: String::new(),
        message: e.to_string(),
    })
}

fn message_from_json(
    desc: &MessageDescriptor,
    json: &Value,
    path: &str,
) -> Result<DynamicMessage, JsonError> {
    let Value::Object(map) = json else {
        return Err(JsonError {
            path: path.to_string(),
            message: format!("must be an object, not {}", kind_of(json)),
        });
    };
    let mut m = DynamicMessage::new(desc.clone());
    for (key, value) in map {
        let here = join(path, key);
        let field = desc.get_field_by_name(key).ok_or_else(|| JsonError {
            path: here.clone(),
            message: format!("unknown field `{key}`"),
        })?;
        if value.is_null() {
            continue;
        }
        let reflected = if field.is_list() {
            let Value::Array(items) = value else {
                return Err(JsonError {
                    path: here,
                    message: format!("must be a list, not {}", kind_of(value)),
                });
            };
            Reflect::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| single_from_json(&field, v, &format!("{here}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        } else {
            single_from_json(&field, value, &here)?
        };
        m.set_field(&field, reflected);
    }
    Ok(m)
}

fn single_from_json(
    field: &FieldDescriptor,
    json: &Value,
    path: &str,
) -> Result<Reflect, JsonError> {
    let wrong = |wanted: &str| JsonError {
        path: path.to_string(),
        message: format!("must be {wanted}, not {}", kind_of(json)),
    };
    let out_of_range = |wanted: &str| JsonError {
        path: path.to_string(),
        message: format!("{json} is out of range for {wanted}"),
    };
    Ok(match field.kind() {
        Kind::Message(m) => Reflect::Message(message_from_json(&m, json, path)?),
        Kind::Enum(e) => {
            let text = json.as_str().ok_or_else(|| wrong("a string"))?;
            Reflect::EnumNumber(enum_from_json(&e, text).ok_or_else(|| JsonError {
                path: path.to_string(),
                message: format!("unknown value {text:?}"),
            })?)
        }
        Kind::Bool => Reflect::Bool(json.as_bool().ok_or_else(|| wrong("true or false"))?),
        Kind::String => {
            Reflect::String(json.as_str().ok_or_else(|| wrong("a string"))?.to_string())
        }
        Kind::Uint32 | Kind::Fixed32 => {
            let n = json.as_u64().ok_or_else(|| wrong("a whole number >= 0"))?;
            Reflect::U32(u32::try_from(n).map_err(|_| out_of_range("32 bits"))?)
        }
        Kind::Uint64 | Kind::Fixed64 => {
            Reflect::U64(json.as_u64().ok_or_else(|| wrong("a whole number >= 0"))?)
        }
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            let n = json.as_i64().ok_or_else(|| wrong("a whole number"))?;
            Reflect::I32(i32::try_from(n).map_err(|_| out_of_range("32 bits"))?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            Reflect::I64(json.as_i64().ok_or_else(|| wrong("a whole number"))?)
        }
        Kind::Double => Reflect::F64(json.as_f64().ok_or_else(|| wrong("a number"))?),
        Kind::Float => Reflect::F32(json.as_f64().ok_or_else(|| wrong("a number"))? as f32),
        Kind::Bytes => return Err(wrong("bytes")),
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto as pb;
    use serde_json::json;

    #[test]
    fn virtual_servers_round_trip_through_the_rest_shape() {
        let doc = json!({
            "name": "web", "protocol": "tcp", "address": "192.168.10.180", "port": 80,
            "scheduler": "sh", "scheduler_flags": ["sh-fallback", "flag-3"], "forwarding": "dr",
            "persistence": {"timeout_s": 50},
            "health_check": {"type": "http", "path": "/", "status_codes": ["200"]},
            "vrrp_group": "vi-1", "quorum": 2, "hysteresis": 1, "enabled": true,
            "real_servers": [{"address": "10.0.0.1", "port": 80, "weight": 0, "forwarding": "nat"}]
        });
        let vs: pb::VirtualServer = from_json("VirtualServer", &doc).expect("from json");
        assert_eq!(vs.scheduler, pb::Scheduler::Sh as i32);
        assert_eq!(
            vs.scheduler_flags,
            [
                pb::SchedulerFlag::ShFallback as i32,
                pb::SchedulerFlag::Flag3 as i32
            ]
        );
        assert_eq!(vs.real_servers[0].weight, Some(0), "an explicit 0 is kept");
        assert_eq!(vs.real_servers[0].enabled, None, "absent stays absent");
        let back = to_json("VirtualServer", &vs).expect("to json");
        assert_eq!(back["scheduler_flags"], json!(["sh-fallback", "flag-3"]));
        assert_eq!(back["real_servers"][0]["weight"], 0);
        assert_eq!(back["real_servers"][0]["forwarding"], "nat");
        assert_eq!(back["health_check"]["status_codes"], json!(["200"]));
        assert!(back.get("fwmark").is_none());
        assert!(
            back.get("family").is_none(),
            "unspecified enums are left out"
        );
    }

    #[test]
    fn misfits_name_their_path() {
        let bad = |doc: Value| from_json::<pb::VirtualServer>("VirtualServer", &doc).unwrap_err();
        let e = bad(
            json!({"name": "web", "real_servers": [{"address": "a", "port": 80}, {"wieght": 1}]}),
        );
        assert_eq!(e.path, "real_servers[1].wieght");
        assert_eq!(e.message, "unknown field `wieght`");
        assert_eq!(bad(json!({"scheduler": "fastest"})).path, "scheduler");
        assert_eq!(bad(json!({"port": -1})).path, "port");
        assert_eq!(bad(json!({"port": 5_000_000_000u64})).path, "port");
        assert_eq!(bad(json!({"real_servers": {}})).path, "real_servers");
    }

    #[test]
    fn audit_values_print_as_json() {
        let entry = pb::AuditEntry {
            after: Some(prost_types::Value {
                kind: Some(prost_types::value::Kind::StructValue(prost_types::Struct {
                    fields: [(
                        "weight".to_string(),
                        prost_types::Value {
                            kind: Some(prost_types::value::Kind::NumberValue(5.0)),
                        },
                    )]
                    .into_iter()
                    .collect(),
                })),
            }),
            revision: Some(4),
            ..Default::default()
        };
        let json = to_json("AuditEntry", &entry).expect("to json");
        assert_eq!(json["after"], json!({"weight": 5}));
        assert_eq!(json["revision"], 4);
        assert!(json.get("before").is_none());
    }
}
