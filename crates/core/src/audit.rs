//! What an audit entry says about a change: the fields that changed, their values before and after, and a
//! one-line summary such as `weight 1 -> 5`.

use serde_json::{Map, Value};

/// The difference between two versions of an object, restricted to the top-level fields that changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub fields: Vec<String>,
    pub before: Value,
    pub after: Value,
    pub summary: String,
}

/// Compares two JSON objects field by field. `None` when nothing changed.
pub fn diff(before: &Value, after: &Value) -> Option<Change> {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let (mut fields, mut parts) = (Vec::new(), Vec::new());
    let (mut before_out, mut after_out) = (Map::new(), Map::new());
    for key in keys {
        let (old, new) = (
            b.get(key).unwrap_or(&Value::Null),
            a.get(key).unwrap_or(&Value::Null),
        );
        if old == new {
            continue;
        }
        fields.push(key.clone());
        before_out.insert(key.clone(), old.clone());
        after_out.insert(key.clone(), new.clone());
        parts.push(match (short(old), short(new)) {
            (Some(o), Some(n)) => format!("{key} {o} -> {n}"),
            _ => format!("{key} changed"),
        });
    }
    if fields.is_empty() {
        return None;
    }
    Some(Change {
        fields,
        before: Value::Object(before_out),
        after: Value::Object(after_out),
        summary: parts.join(", "),
    })
}

/// Scalars as they read in a sentence; composite values have no short form.
fn short(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if s.len() <= 64 => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn weight_change_reads_like_the_design() {
        let c = diff(
            &json!({"weight":1,"enabled":true}),
            &json!({"weight":5,"enabled":true}),
        )
        .unwrap();
        assert_eq!(c.fields, ["weight"]);
        assert_eq!(c.before, json!({"weight":1}));
        assert_eq!(c.after, json!({"weight":5}));
        assert_eq!(c.summary, "weight 1 -> 5");
    }

    #[test]
    fn several_fields_and_composites() {
        let c = diff(
            &json!({"weight":1,"enabled":true,"health_check":null}),
            &json!({"weight":0,"enabled":false,"health_check":{"type":"tcp"}}),
        )
        .unwrap();
        assert_eq!(c.fields, ["enabled", "health_check", "weight"]);
        assert_eq!(
            c.summary,
            "enabled true -> false, health_check changed, weight 1 -> 0"
        );
    }

    #[test]
    fn no_change_is_none() {
        assert!(diff(&json!({"a":1}), &json!({"a":1})).is_none());
    }
}
