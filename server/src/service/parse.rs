//! Turning caller JSON into model objects, with errors that name the field.

use super::error::{Result, ServiceError};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Deserializes `value` into `T`, refusing unknown fields; an error names the JSON path of the offending
/// field, such as `real_servers[0].weight`.
pub fn from_json<T: DeserializeOwned>(value: Value) -> Result<T> {
    let mut unknown: Option<String> = None;
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(value, &mut track);
    let parsed: std::result::Result<T, _> = serde_ignored::deserialize(de, |path| {
        unknown.get_or_insert_with(|| json_path(&path));
    });
    match parsed {
        Err(e) => {
            let field = track.path().to_string();
            let field = if field == "." { String::new() } else { field };
            Err(ServiceError::invalid(field, e.to_string()))
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
        Ok(v) => Ok(v),
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
/// are ignored.
pub fn apply_patch<T: serde::Serialize + DeserializeOwned>(
    current: &T,
    patch: &Value,
) -> Result<T> {
    let mut doc = to_json(current)?;
    let mut patch = patch.clone();
    strip_read_only(&mut patch);
    director_core::merge_patch::apply(&mut doc, &patch);
    from_json(doc)
}

/// Serializes a model object to JSON.
pub fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| ServiceError::Internal(format!("serializing: {e}")))
}

/// Parses a request body as JSON (400 when it is not JSON at all).
pub fn json_body(bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| ServiceError::bad_request("", format!("malformed JSON: {e}")))
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
