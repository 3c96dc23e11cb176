//! Turning caller JSON into model objects, with errors that name the field.

use super::error::{Result, ServiceError};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// Deserializes `value` into `T`, refusing unknown fields; an error names the JSON path of the offending
/// field, such as `real_servers[0].weight`.
pub fn from_json<T: DeserializeOwned + serde::Serialize>(value: Value) -> Result<T> {
    let mut unknown: Option<String> = None;
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(&value, &mut track);
    let parsed: std::result::Result<T, _> = serde_ignored::deserialize(de, |path| {
        unknown.get_or_insert_with(|| json_path(&path));
    });
    match parsed {
        Err(e) => {
            let field = track.path().to_string();
            let field = if field == "." { String::new() } else { field };
            let message = plain_message(&field, &e.to_string());
            Err(ServiceError::invalid(field, message))
        }
        Ok(_) if unknown.is_some() => {
            let field = unknown.unwrap_or_default();
            Err(ServiceError::invalid(
                field.clone(),
                format!(
                    "unknown field `{}`",
                    field.rsplit('.').next().unwrap_or(&field)
                ),
            ))
        }
        Ok(v) => {
            // serde reads a struct from an array of its fields too (`["web", "tcp", ...]`); the API takes
            // objects only, so an array where the model has an object is refused.
            if let Some(field) = array_for_object(&value, &to_json(&v)?, String::new()) {
                return Err(ServiceError::invalid(
                    field,
                    "expected a JSON object, found an array",
                ));
            }
            Ok(v)
        }
    }
}

/// serde's words for a number of the wrong kind (`invalid value: integer `-1`, expected u32`) as a person
/// reads them: `must be an integer from 0 to 65535, got -1`, with the model's own bound where it is tighter
/// than the type's (a weight). Other messages are kept.
fn plain_message(field: &str, message: &str) -> String {
    let Some((got, expected)) = message.rsplit_once(", expected ") else {
        return message.to_string();
    };
    let max = match expected {
        "u8" => u64::from(u8::MAX),
        "u16" => u64::from(u16::MAX),
        "u32" => u64::from(u32::MAX),
        "u64" => u64::MAX,
        _ => return message.to_string(),
    };
    let last = field.rsplit('.').next().unwrap_or(field);
    let max = if last == "weight" {
        u64::from(director_core::model::real_server::MAX_WEIGHT)
    } else {
        max
    };
    let got = got
        .strip_prefix("invalid value: ")
        .or_else(|| got.strip_prefix("invalid type: "))
        .unwrap_or(got);
    let got = match got.split_once(' ') {
        Some(("integer" | "floating", rest)) => rest
            .trim_start_matches("point ")
            .trim_matches('`')
            .to_string(),
        _ => got.to_string(),
    };
    format!("must be an integer from 0 to {max}, got {got}")
}

/// The path of the first place where `input` has an array and `parsed` (the input read and written back)
/// an object.
fn array_for_object(input: &Value, parsed: &Value, path: String) -> Option<String> {
    match (input, parsed) {
        (Value::Array(_), Value::Object(_)) => Some(path),
        (Value::Object(i), Value::Object(p)) => i.iter().find_map(|(key, value)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            p.get(key)
                .and_then(|parsed| array_for_object(value, parsed, child))
        }),
        (Value::Array(i), Value::Array(p)) => {
            i.iter()
                .zip(p)
                .enumerate()
                .find_map(|(n, (value, parsed))| {
                    array_for_object(value, parsed, format!("{path}[{n}]"))
                })
        }
        _ => None,
    }
}

/// `real_servers[0].wait` from serde_ignored's path.
fn json_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", json_path(parent)),
        Path::Map { parent, key } => {
            let p = json_path(parent);
            if p.is_empty() {
                key.to_string()
            } else {
                format!("{p}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => json_path(parent),
    }
}

/// `current` with a JSON merge patch (RFC 7396) applied, read back strictly; read-only fields in the patch
/// are ignored. The patch must be an object, and `null` (which removes a member) is refused on a field that
/// has a default: removing `weight` or `enabled` would silently reset it (un-draining a server), so the
/// caller must send the value instead.
pub fn apply_patch<T: serde::Serialize + DeserializeOwned>(
    current: &T,
    patch: &Value,
) -> Result<T> {
    if !patch.is_object() {
        return Err(ServiceError::invalid(
            "",
            format!(
                "a merge patch must be a JSON object, not {}",
                kind_of(patch)
            ),
        ));
    }
    let mut doc = to_json(current)?;
    let mut patch = patch.clone();
    strip_read_only(&mut patch);
    director_core::merge_patch::apply(&mut doc, &patch);
    let patched: T = from_json(doc)?;
    let written = to_json(&patched)?;
    if let Some(field) = null_on_default(&patch, &written, String::new()) {
        let name = field.rsplit('.').next().unwrap_or(&field).to_string();
        return Err(ServiceError::invalid(
            field,
            format!("`{name}` cannot be null: it has a default, so null would reset it; send the value you want"),
        ));
    }
    Ok(patched)
}

/// The path of the first `null` in `patch` whose field, once the patch is applied, still has a value: the
/// default that removing it put back.
fn null_on_default(patch: &Value, patched: &Value, path: String) -> Option<String> {
    let Value::Object(members) = patch else {
        return None;
    };
    members.iter().find_map(|(key, value)| {
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let now = patched.get(key);
        match value {
            Value::Null => now.filter(|v| !v.is_null()).map(|_| child),
            Value::Object(_) => now.and_then(|now| null_on_default(value, now, child)),
            _ => None,
        }
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Serializes a model object to JSON.
pub fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| ServiceError::Internal(format!("serializing: {e}")))
}

/// Parses a request body as JSON (400 when it is not JSON at all, or when an object repeats a key: which
/// of the two values was meant cannot be known). A number without a fraction (`420.0`) is read as an
/// integer.
pub fn json_body(bytes: &[u8]) -> Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Unique::deserialize(&mut de)
        .and_then(|Unique(v)| de.end().map(|()| v))
        .map_err(|e| ServiceError::bad_request("", format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// A JSON value read with a duplicate key in any object refused.
struct Unique(Value);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        // JSON has one kind of number: `420.0` and `4.2e2` are the integer 420 (as JSON Schema's
        // `integer` says), so a member that wants an integer takes them.
        if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
            return Ok(Value::from(v as i64));
        }
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Value, A::Error> {
        let mut members = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key `{key}` appears twice in one object"
                )));
            }
            let Unique(value) = map.next_value()?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

/// Removes the read-only fields a client may send back from a GET (`revision`, `health`, `status`).
pub fn strip_read_only(value: &mut Value) {
    if let Value::Object(map) = value {
        for key in ["revision", "health", "status"] {
            map.remove(key);
        }
        if let Some(Value::Array(items)) = map.get_mut("real_servers") {
            items.iter_mut().for_each(strip_read_only);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_core::model::VirtualServer;
    use serde_json::json;

    fn field_of(v: Value) -> String {
        from_json::<VirtualServer>(v)
            .unwrap_err()
            .field()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn numbers_of_the_wrong_kind_are_told_in_plain_words() {
        let message = |v: Value| match from_json::<VirtualServer>(v) {
            Err(ServiceError::Invalid { field, message }) => format!("{field}: {message}"),
            other => panic!("expected an invalid field, got {other:?}"),
        };
        let rs = |weight: Value| json!({"name":"web","real_servers":[{"address":"10.0.0.1","port":80,"weight":weight}]});
        assert_eq!(
            message(rs(json!(-1))),
            "real_servers[0].weight: must be an integer from 0 to 65535, got -1"
        );
        assert_eq!(
            message(rs(json!(1.5))),
            "real_servers[0].weight: must be an integer from 0 to 65535, got 1.5"
        );
        assert_eq!(
            message(rs(json!("five"))),
            "real_servers[0].weight: must be an integer from 0 to 65535, got string \"five\""
        );
        let weight = from_json::<director_core::model::RealServer>(
            json!({"address":"10.0.0.1","port":80,"weight":-1}),
        )
        .expect_err("weight -1");
        assert_eq!(
            weight.to_string(),
            "weight: must be an integer from 0 to 65535, got -1"
        );
        assert!(!weight.to_string().contains("u32"), "{weight}");
    }

    #[test]
    fn errors_name_the_path() {
        assert_eq!(
            field_of(
                json!({"name":"web","real_servers":[{"address":"10.0.0.1","port":80,"weight":-1}]})
            ),
            "real_servers[0].weight"
        );
        assert_eq!(
            field_of(json!({"name":"web","address":"10.0.0.300"})),
            "address"
        );
        assert_eq!(field_of(json!({"name":"web","colour":"red"})), "colour");
        assert_eq!(
            field_of(
                json!({"name":"web","real_servers":[{"address":"10.0.0.1","port":80},{"address":"10.0.0.2","port":80,"wait":1}]})
            ),
            "real_servers[1].wait"
        );
        assert_eq!(
            field_of(json!({"name":"web","persistence":{"timeout_s":5,"mask":"x"}})),
            "persistence.mask"
        );
        assert_eq!(
            field_of(json!({"name":"web","scheduler":"fastest"})),
            "scheduler"
        );
    }

    #[test]
    fn read_only_fields_are_dropped() {
        let mut v = json!({"name":"web","revision":3,"real_servers":[{"address":"10.0.0.1","port":80,"revision":2,"health":{}}]});
        strip_read_only(&mut v);
        assert_eq!(
            v,
            json!({"name":"web","real_servers":[{"address":"10.0.0.1","port":80}]})
        );
    }
}
