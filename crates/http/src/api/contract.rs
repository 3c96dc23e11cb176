//! The contract the OpenAPI document states, beyond what the derives say: every status code each route
//! answers, the role each route needs (`x-required-role`, from the router's own table, [`super::ROUTES`]),
//! the server's per-field limits as schema constraints, objects closed to unknown members, and the response
//! views written out as plain objects.
//!
//! The derives (utoipa) give the shapes; this module is a pure pass over the generated document as JSON, so
//! that a schema-driven fuzzer (schemathesis, in the test command) finds no request the schema allows and a
//! single field's check refuses, and no answer the schema does not describe. Rules that tie fields together
//! (a fwmark virtual server has no address; a real server's family follows its virtual server's; a PASS
//! group needs a password...) cannot be said in JSON Schema; the descriptions say them and the server
//! answers 422 naming the field.

use director_core::model::name::MAX_NAME_LEN;
use director_core::model::real_server::MAX_WEIGHT;
use director_core::model::virtual_server::{MAX_PERSISTENCE_S, MAX_REAL_SERVERS};
use director_service::auth::MIN_PASSWORD_LEN;
use director_service::store::Source;
use serde_json::{json, Map, Value};

/// Applies every part of the contract to `doc` (the generated document as JSON).
pub fn tighten(doc: &mut Value) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        flatten_views(schemas);
        constrain(schemas);
        add_patch_schemas(schemas);
        close_objects(schemas);
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                declare_role(path, method, op);
                document_errors(path, method, op);
                constrain_parameters(op);
                use_patch_schema(op);
            }
        }
    }
}

/// `[a-z0-9][a-z0-9._-]{0,62}`, as `validate_name` checks.
fn name_pattern() -> String {
    format!("^[a-z0-9][a-z0-9._-]{{0,{}}}$", MAX_NAME_LEN - 1)
}

/// An IPv4 octet without leading zeros (as Rust's parser wants).
const OCTET: &str = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

/// An IPv4 first octet that is neither 0 nor multicast (224..239).
const FIRST_OCTET: &str = "(25[0-5]|24[0-9]|22[0-3]|2[01][0-9]|1[0-9][0-9]|[1-9][0-9]|[1-9])";

/// An address a service or a server may have: IPv4 or IPv6, not unspecified, not multicast.
fn unicast_address() -> Value {
    json!({
        "anyOf": [
            {"type": "string", "pattern": format!("^{FIRST_OCTET}(\\.{OCTET}){{3}}$")},
            {"type": "string", "format": "ipv6"},
        ],
        "example": "192.168.10.120",
    })
}

/// Any IPv4 or IPv6 address.
fn any_address() -> Value {
    json!({"anyOf": [
        {"type": "string", "pattern": format!("^{OCTET}(\\.{OCTET}){{3}}$")},
        {"type": "string", "format": "ipv6"},
    ]})
}

/// A virtual address of a VRRP group: an IPv4 address (not 0, loopback or multicast) with an optional
/// /prefix, or an IPv6 address.
fn virtual_address() -> Value {
    let first = "(25[0-5]|24[0-9]|22[0-3]|2[01][0-9]|1[3-9][0-9]|12[89]|1[01][0-9]|12[0-6]|[1-9][0-9]|[1-9])";
    json!({"anyOf": [
        {"type": "string",
         "pattern": format!("^{first}(\\.{OCTET}){{3}}(/([1-9]|[12][0-9]|3[0-2]))?$")},
        {"type": "string", "format": "ipv6"},
    ]})
}

/// A multicast group: IPv4 224.0.0.0/4, or an IPv6 address of ff00::/8.
fn multicast_group() -> Value {
    json!({"anyOf": [
        {"type": "string", "pattern": format!("^2(2[4-9]|3[0-9])(\\.{OCTET}){{3}}$")},
        {"type": "string", "format": "ipv6", "pattern": "^[fF][fF][0-9a-fA-F]{0,2}:"},
    ]})
}

/// A port number, 0..65535, in decimal without leading zeros.
const PORT: &str =
    "(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)";

/// An IPv6 address in the usual forms (eight groups, or `::` for a run of zero groups).
const IPV6: &str = "(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|\
([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|\
([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|\
([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:(:[0-9a-fA-F]{1,4}){1,6}|\
:((:[0-9a-fA-F]{1,4}){1,7}|:))";

/// Linux interface names: 1..15 printable bytes without '/', not `.` or `..`.
const INTERFACE: &str = "^(?!\\.\\.?$)[!-.0-~]{1,15}$";

fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

fn range(min: i64, max: i64) -> Value {
    json!({"minimum": min, "maximum": max})
}

/// A command line: a program and its arguments.
fn command() -> Value {
    json!({"type": "array", "minItems": 1, "prefixItems": [{"type": "string", "minLength": 1}],
           "items": {"type": "string"}})
}

/// The per-field limits of the model, as the validators in `director_core::model` check them.
fn constrain(schemas: &mut Map<String, Value>) {
    let name = json!({"type": "string", "pattern": name_pattern()});
    let day_ms = 86_400_000;
    let masks: Vec<Value> = (1..=32u32)
        .map(|bits| {
            let mask = u32::MAX << (32 - bits);
            Value::from(std::net::Ipv4Addr::from(mask).to_string())
        })
        .chain((1..=128).map(|p: u32| Value::from(p.to_string())))
        .chain([Value::Null])
        .collect();
    let set: &[(&str, &str, Value)] = &[
        ("VirtualServer", "name", name.clone()),
        ("VirtualServer", "address", nullable(unicast_address())),
        ("VirtualServer", "port", range(0, 65535)),
        ("VirtualServer", "fwmark", range(1, u32::MAX.into())),
        ("VirtualServer", "quorum", range(1, MAX_REAL_SERVERS as i64)),
        (
            "VirtualServer",
            "hysteresis",
            range(0, MAX_REAL_SERVERS as i64 - 1),
        ),
        ("VirtualServer", "vrrp_group", nullable(name.clone())),
        (
            "VirtualServer",
            "scheduler_flags",
            json!({"uniqueItems": true, "maxItems": 4}),
        ),
        (
            "VirtualServer",
            "real_servers",
            json!({"maxItems": MAX_REAL_SERVERS}),
        ),
        ("RealServer", "address", unicast_address()),
        ("RealServer", "port", range(0, 65535)),
        ("RealServer", "weight", range(0, MAX_WEIGHT.into())),
        ("RealServer", "lower_threshold", range(0, u32::MAX.into())),
        ("RealServer", "upper_threshold", range(0, u32::MAX.into())),
        ("SorryServer", "address", unicast_address()),
        ("SorryServer", "port", range(0, 65535)),
        (
            "Persistence",
            "timeout_s",
            range(1, MAX_PERSISTENCE_S.into()),
        ),
        (
            "Persistence",
            "netmask",
            json!({"type": ["string", "null"], "enum": masks}),
        ),
        ("HealthCheck", "interval_ms", range(100, day_ms)),
        ("HealthCheck", "timeout_ms", range(10, day_ms)),
        ("HealthCheck", "rise", range(1, 100)),
        ("HealthCheck", "fall", range(1, 100)),
        ("HealthCheck", "retry_delay_ms", range(0, day_ms)),
        ("HealthCheck", "warmup_ms", range(0, day_ms)),
        ("HealthCheck", "connect_port", range(1, 65535)),
        ("HealthCheck", "connect_address", nullable(any_address())),
        ("HealthCheck", "bind_address", nullable(any_address())),
        (
            "HealthCheck",
            "path",
            json!({"type": ["string", "null"], "pattern": "^/[^\\s\\x00-\\x1f\\x7f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"}),
        ),
        (
            "HealthCheck",
            "http_version",
            json!({"type": ["string", "null"], "enum": ["1.0", "1.1", null]}),
        ),
        (
            "HealthCheck",
            "status_codes",
            json!({"type": ["array", "null"], "minItems": 1,
            "items": {"type": "string", "pattern": "^[1-5][0-9][0-9](-[1-5][0-9][0-9])?$"}}),
        ),
        (
            "HealthCheck",
            "digest",
            json!({"type": ["string", "null"], "pattern": "^[0-9a-fA-F]{32}$"}),
        ),
        (
            "HealthCheck",
            "virtual_host",
            json!({"type": ["string", "null"], "pattern": "^[A-Za-z0-9.:-]{1,253}$"}),
        ),
        (
            "HealthCheck",
            "sni",
            json!({"type": ["string", "null"], "pattern": "^[A-Za-z0-9.:-]{1,253}$"}),
        ),
        ("HealthCheck", "command", nullable(command())),
        ("VrrpGroup", "name", name.clone()),
        ("VrrpGroup", "vrid", range(1, 255)),
        ("VrrpGroup", "version", json!({"enum": [2, 3]})),
        (
            "VrrpGroup",
            "advert_interval_ms",
            json!({"minimum": 10, "maximum": 255_000, "multipleOf": 10}),
        ),
        ("VrrpGroup", "preempt_delay_s", range(0, 1000)),
        ("VrrpGroup", "priority", range(1, 255)),
        (
            "VrrpGroup",
            "virtual_addresses",
            json!({"minItems": 1, "uniqueItems": true, "items": virtual_address()}),
        ),
        (
            "VrrpGroup",
            "interface",
            json!({"type": ["string", "null"], "pattern": INTERFACE}),
        ),
        ("VrrpGroup", "sync_group", nullable(name.clone())),
        (
            "Member",
            "node",
            json!({"type": "string", "pattern": "^[A-Za-z0-9._-]{1,63}$"}),
        ),
        (
            "Member",
            "interface",
            json!({"type": ["string", "null"], "pattern": INTERFACE}),
        ),
        ("Member", "priority", range(1, 255)),
        (
            "Member",
            "sync_interface",
            json!({"type": ["string", "null"], "pattern": INTERFACE}),
        ),
        (
            "ConnectionSync",
            "interface",
            json!({"type": "string", "pattern": INTERFACE}),
        ),
        ("ConnectionSync", "sync_id", range(0, 255)),
        (
            "ConnectionSync",
            "max_packet_len",
            range(
                i64::from(director_core::model::vrrp_group::SYNC_MAX_PACKET_LEN.0),
                i64::from(director_core::model::vrrp_group::SYNC_MAX_PACKET_LEN.1),
            ),
        ),
        ("ConnectionSync", "mcast_group", nullable(multicast_group())),
        ("ConnectionSync", "mcast_port", range(1, 65_535)),
        ("ConnectionSync", "mcast_ttl", range(1, 255)),
        ("Member", "unicast_peers", json!({"items": any_address()})),
        ("Member", "unicast_source", nullable(any_address())),
        ("Track", "virtual_server", nullable(name.clone())),
        (
            "Track",
            "interface",
            json!({"type": ["string", "null"], "pattern": INTERFACE}),
        ),
        ("Track", "script", nullable(command())),
        ("Track", "weight", range(-253, 253)),
        (
            "Notify",
            "webhook",
            json!({"type": ["string", "null"], "pattern": "^https?://[^/?#\\s]+[^\\s]*$"}),
        ),
        ("Notify", "script", nullable(command())),
        ("Garp", "repeat", range(1, 100)),
        ("Garp", "delay_s", range(0, 3600)),
        ("Garp", "refresh_s", range(0, 86_400)),
        (
            "Auth",
            "password",
            json!({"type": ["string", "null"], "minLength": 1, "maxLength": 8}),
        ),
        ("NewUser", "name", name.clone()),
        (
            "NewUser",
            "password",
            json!({"minLength": MIN_PASSWORD_LEN}),
        ),
        (
            "UserPatch",
            "password",
            json!({"minLength": MIN_PASSWORD_LEN}),
        ),
    ];
    for (schema, property, constraint) in set {
        let Some(target) = schemas
            .get_mut(*schema)
            .and_then(|s| s.get_mut("properties"))
            .and_then(|p| p.get_mut(*property))
            .and_then(Value::as_object_mut)
        else {
            // A renamed field would silently lose its constraint; the unit test below catches that.
            continue;
        };
        let Value::Object(constraint) = constraint else {
            continue;
        };
        if constraint.contains_key("anyOf") {
            // The constraint states the whole type: keep only the description.
            target.retain(|k, _| k == "description");
        }
        for (k, v) in constraint {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// The views (`allOf: [model, extra]`) written out as one object, so that each can be closed to unknown
/// members (`additionalProperties` does not see through `allOf`).
fn flatten_views(schemas: &mut Map<String, Value>) {
    let names: Vec<String> = schemas
        .iter()
        .filter(|(_, s)| s.get("allOf").is_some())
        .map(|(n, _)| n.clone())
        .collect();
    for name in names {
        let Some(parts) = schemas
            .get(&name)
            .and_then(|s| s.get("allOf"))
            .and_then(Value::as_array)
            .cloned()
        else {
            continue;
        };
        let mut properties = Map::new();
        let mut required: Vec<Value> = Vec::new();
        let mut description = schemas
            .get(&name)
            .and_then(|s| s.get("description"))
            .cloned();
        for part in parts {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(r) => schemas
                    .get(r.trim_start_matches("#/components/schemas/"))
                    .cloned()
                    .unwrap_or_default(),
                None => part,
            };
            if description.is_none() {
                description = part.get("description").cloned();
            }
            if let Some(p) = part.get("properties").and_then(Value::as_object) {
                properties.extend(p.clone());
            }
            for r in part
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !required.contains(r) {
                    required.push(r.clone());
                }
            }
        }
        let mut object = json!({"type": "object", "required": required, "properties": properties});
        if let Some(d) = description {
            object["description"] = d;
        }
        schemas.insert(name, object);
    }
}

/// Every object schema with named members refuses others (the server refuses unknown fields with 422).
fn close_objects(schemas: &mut Map<String, Value>) {
    for schema in schemas.values_mut() {
        if let Some(o) = schema.as_object_mut() {
            if o.contains_key("properties") && !o.contains_key("additionalProperties") {
                o.insert("additionalProperties".into(), Value::Bool(false));
            }
        }
    }
}

/// `XPatch` for the models a merge patch (RFC 7396) changes: the model's members, none required; `null`
/// only where the model has no default (the server refuses `null` on a defaulted field: it would reset it).
fn add_patch_schemas(schemas: &mut Map<String, Value>) {
    for model in ["VirtualServer", "RealServer", "VrrpGroup"] {
        let Some(mut patch) = schemas.get(model).cloned() else {
            continue;
        };
        if let Some(o) = patch.as_object_mut() {
            o.remove("required");
            o.insert(
                "description".into(),
                Value::from(format!(
                    "An RFC 7396 merge patch of a {model}: the members to change. `null` removes an optional \
                     member; it is refused on a member that has a default (send the value instead)."
                )),
            );
        }
        schemas.insert(format!("{model}Patch"), patch);
    }
}

/// The PATCH operations take the `XPatch` schema of their model.
fn use_patch_schema(op: &mut Value) {
    let model = match op.get("operationId").and_then(Value::as_str) {
        Some("patchVirtualServer") => "VirtualServer",
        Some("patchRealServer") => "RealServer",
        Some("patchVrrpGroup") => "VrrpGroup",
        _ => return,
    };
    if let Some(content) = op
        .pointer_mut("/requestBody/content")
        .and_then(Value::as_object_mut)
    {
        for media in content.values_mut() {
            media["schema"] = json!({"$ref": format!("#/components/schemas/{model}Patch")});
        }
        // Both media types are taken for a patch.
        let schema = json!({"schema": {"$ref": format!("#/components/schemas/{model}Patch")}});
        content.insert("application/merge-patch+json".into(), schema.clone());
        content.insert("application/json".into(), schema);
    }
}

/// Path, query and header parameters with the server's limits.
fn constrain_parameters(op: &mut Value) {
    let audit = op.get("operationId").and_then(Value::as_str) == Some("listAudit");
    let connections = op.get("operationId").and_then(Value::as_str) == Some("listConnections");
    let socket = format!("({OCTET}(\\.{OCTET}){{3}}|\\[{IPV6}\\]):{PORT}");
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for p in params {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("");
        let location = p.get("in").and_then(Value::as_str).unwrap_or("");
        let schema = match (location, name) {
            ("header", "If-Match") => json!({"type": "string",
                "pattern": "^(\\*|(W/)?\"(0|[1-9][0-9]{0,18})\"|(0|[1-9][0-9]{0,18}))$",
                "description": "The ETag of the revision the change was made against, such as \"3\" (a bare 3 is taken too); `*` matches any"}),
            ("path", "endpoint") => json!({"type": "string",
                "pattern": format!("^({OCTET}(\\.{OCTET}){{3}}|\\[{IPV6}\\]):{PORT}$")}),
            ("query", "cursor") if audit => {
                json!({"type": "string", "pattern": "^-?[0-9]{1,18}$"})
            }
            // The key of the last entry of a page: virtual, real, client, protocol, template or connection.
            ("query", "cursor") if connections => json!({"type": "string",
                "pattern": format!("^{socket},{socket},{socket},[A-Za-z0-9_]{{1,16}},[tc]$")}),
            // An address, or an address and port.
            ("query", "client" | "real_server") if connections => json!({"anyOf": [
                any_address(),
                {"type": "string", "pattern": format!("^{socket}$")},
            ]}),
            // One or several sources, comma-separated (`source=health,vrrp`), or `all`.
            ("query", "source") if audit => {
                p["style"] = json!("form");
                p["explode"] = json!(false);
                let words: Vec<&str> = Source::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .chain([Source::EVERY])
                    .collect();
                json!({"type": "array", "minItems": 1, "items": {"type": "string", "enum": words}})
            }
            ("query", "since" | "until") => json!({"type": "string", "format": "date-time"}),
            ("query", "limit") => {
                json!({"type": "integer", "minimum": 1, "maximum": director_service::MAX_PAGE})
            }
            ("query", "address" | "real_server") | ("path", "address") => any_address(),
            ("query", "port") => json!({"type": "integer", "minimum": 0, "maximum": 65535}),
            ("query", "fwmark") => json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}),
            _ => continue,
        };
        p["schema"] = schema;
    }
}

/// `x-required-role`: the weakest role that may call the route (`viewer`, `operator` or `admin`), as the
/// router's table says; absent on a public route.
fn declare_role(path: &str, method: &str, op: &mut Value) {
    let route = path.strip_prefix(super::API_BASE).and_then(|p| {
        super::ROUTES
            .iter()
            .find(|r| r.path == p && r.method == method)
    });
    if let (Some(role), Some(op)) = (route.and_then(|r| r.access.role()), op.as_object_mut()) {
        op.insert("x-required-role".into(), Value::from(role.as_str()));
    }
}

/// Adds the error answers a route can give that its annotation does not list, each with the error body.
fn document_errors(path: &str, method: &str, op: &mut Value) {
    let Some(op) = op.as_object_mut() else {
        return;
    };
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let params: Vec<(String, String)> = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p.get("in")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                p.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let has = |location: &str| params.iter().any(|(l, _)| l == location);
    let body = op.contains_key("requestBody");
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut codes: Vec<(&str, &str)> = Vec::new();
    if secured {
        codes.push((
            "401",
            "No valid bearer token (missing, malformed, expired or revoked)",
        ));
        codes.push(("403", "The caller's role does not allow this"));
    }
    if has("query")
        || body
        || path.contains("{endpoint}")
        || params.iter().any(|(_, n)| n == "If-Match")
    {
        codes.push(("400", "The request cannot be read: malformed JSON, a repeated key, a bad query parameter or header"));
    }
    if has("path") {
        codes.push(("404", "No such object"));
    }
    if body {
        codes.push(("413", "The body is larger than the limit"));
        codes.push(("415", "The body is not application/json"));
        codes.push((
            "422",
            "The body is JSON but not an acceptable object; `field` names the member",
        ));
    }
    if params.iter().any(|(_, n)| n == "If-Match") {
        codes.push(("412", "If-Match names another revision than the object's"));
    }
    let writes = matches!(method, "post" | "put" | "patch" | "delete");
    if writes && id != "logout" && id != "revokeToken" && id != "login" {
        codes.push(("409", "The change clashes with another object"));
    }
    codes.push((
        "500",
        "The server failed (its store did not answer); the failure is logged and nothing was changed",
    ));
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else {
        return;
    };
    for (code, description) in codes {
        let entry = responses.entry(code).or_insert_with(|| json!({}));
        if let Some(e) = entry.as_object_mut() {
            e.insert(
                "content".into(),
                json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}),
            );
            if e.get("description")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                e.insert("description".into(), Value::from(description));
            }
            if code == "401" {
                e.insert(
                    "headers".into(),
                    json!({"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}),
                );
            }
        }
    }
    for (code, entry) in responses.iter_mut() {
        if let Some(e) = entry.as_object_mut() {
            if e.get("description")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                let text = match code.as_str() {
                    "200" => "The object",
                    "201" => "Created",
                    "204" => "Done",
                    "429" => "Too many failed logins: wait for Retry-After seconds",
                    "503" => "Too many logins at once: wait for Retry-After seconds",
                    _ => "An error",
                };
                e.insert("description".into(), Value::from(text));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_json::to_value(super::super::docs::generated()).expect("serializes")
    }

    #[test]
    fn every_constraint_lands_on_a_member() {
        let mut d = doc();
        let before = d.clone();
        tighten(&mut d);
        // Each constrained member exists in the generated document (a rename would drop its constraint).
        let s = &before["components"]["schemas"];
        for (schema, property) in [
            ("VirtualServer", "address"),
            ("RealServer", "weight"),
            ("HealthCheck", "digest"),
            ("VrrpGroup", "virtual_addresses"),
            ("Auth", "password"),
            ("Persistence", "netmask"),
        ] {
            assert!(
                s[schema]["properties"].get(property).is_some(),
                "{schema}.{property}"
            );
        }
        assert_eq!(
            d["components"]["schemas"]["RealServer"]["properties"]["weight"]["maximum"],
            json!(65535)
        );
    }

    #[test]
    fn objects_are_closed_and_views_flat() {
        let mut d = doc();
        tighten(&mut d);
        let s = &d["components"]["schemas"];
        assert_eq!(s["VirtualServer"]["additionalProperties"], json!(false));
        assert_eq!(s["VirtualServerView"]["additionalProperties"], json!(false));
        assert!(s["VirtualServerView"]["properties"]["revision"].is_object());
        assert!(s["VirtualServerView"]["properties"]["name"].is_object());
        assert!(s["VirtualServerView"].get("allOf").is_none());
    }

    #[test]
    fn every_write_documents_its_errors() {
        let mut d = doc();
        tighten(&mut d);
        let put = &d["paths"]["/api/v1/virtual-servers/{name}"]["put"]["responses"];
        for code in [
            "400", "401", "403", "404", "409", "412", "413", "415", "422",
        ] {
            assert!(put.get(code).is_some(), "PUT virtual server lacks {code}");
        }
        let login = &d["paths"]["/api/v1/auth/login"]["post"]["responses"];
        for code in ["400", "413", "415", "422", "429", "503"] {
            assert!(login.get(code).is_some(), "login lacks {code}");
        }
    }

    /// The router's table and the document list the same routes; a route needs a token exactly when the
    /// table gives it a role, which the document then states.
    #[test]
    fn every_routed_route_is_documented_with_its_role_and_nothing_else_is() {
        let mut d = doc();
        tighten(&mut d);
        let mut documented = Vec::new();
        for (path, item) in d["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("operations") {
                documented.push(format!("{method} {path}"));
                let route = super::super::ROUTES
                    .iter()
                    .find(|r| {
                        format!("{}{}", super::super::API_BASE, r.path) == *path
                            && r.method == method
                    })
                    .unwrap_or_else(|| panic!("{method} {path} is documented but not routed"));
                let secured = op
                    .get("security")
                    .and_then(Value::as_array)
                    .is_some_and(|s| !s.is_empty());
                let role = route.access.role().map(|r| json!(r.as_str()));
                assert_eq!(
                    secured,
                    role.is_some(),
                    "{method} {path}: a token is needed exactly when a role is"
                );
                assert_eq!(op.get("x-required-role"), role.as_ref(), "{method} {path}");
            }
        }
        let mut routed: Vec<String> = super::super::ROUTES
            .iter()
            .map(|r| format!("{} {}{}", r.method, super::super::API_BASE, r.path))
            .collect();
        documented.sort();
        routed.sort();
        assert!(!routed.is_empty());
        assert_eq!(routed, documented, "every route is documented, once");
        assert!(d.to_string().contains("\"x-required-role\":\"operator\""));
    }

    #[test]
    fn netmasks_are_the_contiguous_ones() {
        let mut d = doc();
        tighten(&mut d);
        let masks = &d["components"]["schemas"]["Persistence"]["properties"]["netmask"]["enum"];
        assert!(masks
            .as_array()
            .is_some_and(|m| m.contains(&json!("255.255.255.0"))));
        assert!(masks
            .as_array()
            .is_some_and(|m| !m.contains(&json!("255.0.255.0"))));
    }
}
