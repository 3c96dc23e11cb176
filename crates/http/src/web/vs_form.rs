//! The virtual-server form (pure): which inputs it has, how an object fills it, and how the posted fields
//! become the JSON of a virtual server that the service validates. Every input is named after the JSON path
//! it fills, so a validation error's `field` names the input it belongs to. Editing starts from the stored
//! object, so fields the form does not show (advanced health-check options, thresholds, the real servers)
//! are kept as they are.

use super::form::{command, FieldError, Fields, Numbers, Parsed, RowMap};
use director_core::model::{CheckKind, VirtualServer};
use serde_json::{json, Map, Value};

/// Blank real-server rows on the creation form (more are added on the virtual server's page).
pub const NEW_ROWS: usize = 4;

/// The health-check kinds the form offers.
pub const CHECK_KINDS: [CheckKind; 5] = [
    CheckKind::None,
    CheckKind::Tcp,
    CheckKind::Http,
    CheckKind::Https,
    CheckKind::Script,
];

const OWN_INPUTS: [&str; 25] = [
    "name",
    "protocol",
    "address",
    "port",
    "fwmark",
    "family",
    "scheduler",
    "scheduler_flags",
    "forwarding",
    "persistence.timeout_s",
    "persistence.netmask",
    "one_packet",
    "vrrp_group",
    "health_check.type",
    "health_check.interval_ms",
    "health_check.timeout_ms",
    "health_check.rise",
    "health_check.fall",
    "health_check.path",
    "health_check.command",
    "sorry_server.address",
    "sorry_server.port",
    "quorum",
    "hysteresis",
    "enabled",
];

/// Every input of the form with `rows` real-server rows.
pub fn inputs(rows: usize) -> Vec<String> {
    let mut v: Vec<String> = OWN_INPUTS.iter().map(|s| s.to_string()).collect();
    for i in 0..rows {
        for f in ["address", "port", "weight"] {
            v.push(format!("real_servers[{i}].{f}"));
        }
    }
    v
}

/// The fields of a blank creation form.
pub fn blank() -> Fields {
    Fields::from_pairs([
        ("protocol", "tcp"),
        ("scheduler", "wlc"),
        ("forwarding", "dr"),
        ("health_check.type", "none"),
        ("quorum", "1"),
        ("hysteresis", "0"),
        ("enabled", "on"),
    ])
}

/// The fields showing `vs`.
pub fn fields_of(vs: &VirtualServer) -> Fields {
    let mut f: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| f.push((k.to_string(), v));
    put("name", vs.name.clone());
    put(
        "protocol",
        vs.protocol
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
    );
    put(
        "address",
        vs.address.map(|a| a.to_string()).unwrap_or_default(),
    );
    put("port", vs.port.map(|p| p.to_string()).unwrap_or_default());
    put(
        "fwmark",
        vs.fwmark.map(|m| m.to_string()).unwrap_or_default(),
    );
    put(
        "family",
        vs.family
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
    );
    put("scheduler", vs.scheduler.as_str().to_string());
    for flag in &vs.scheduler_flags {
        put("scheduler_flags", flag.as_str().to_string());
    }
    put("forwarding", vs.forwarding.as_str().to_string());
    if let Some(p) = &vs.persistence {
        put("persistence.timeout_s", p.timeout_s.to_string());
        put("persistence.netmask", p.netmask.clone().unwrap_or_default());
    }
    if vs.one_packet {
        put("one_packet", "on".into());
    }
    put("vrrp_group", vs.vrrp_group.clone().unwrap_or_default());
    match &vs.health_check {
        Some(h) => {
            put("health_check.type", h.kind.as_str().to_string());
            put("health_check.interval_ms", h.interval_ms.to_string());
            put("health_check.timeout_ms", h.timeout_ms.to_string());
            put("health_check.rise", h.rise.to_string());
            put("health_check.fall", h.fall.to_string());
            put("health_check.path", h.path.clone().unwrap_or_default());
            put(
                "health_check.command",
                h.command.as_ref().map(|c| c.join(" ")).unwrap_or_default(),
            );
        }
        None => put("health_check.type", "none".into()),
    }
    if let Some(s) = &vs.sorry_server {
        put("sorry_server.address", s.address.to_string());
        put("sorry_server.port", s.port.to_string());
    }
    put("quorum", vs.quorum.to_string());
    put("hysteresis", vs.hysteresis.to_string());
    if vs.enabled {
        put("enabled", "on".into());
    }
    Fields::from_pairs(f)
}

fn text_or_null(f: &Fields, name: &str) -> Value {
    match f.text(name) {
        "" => Value::Null,
        t => Value::String(t.to_string()),
    }
}

/// A field with a default: left out when empty, so that the default applies.
fn text_or_default(vs: &mut Map<String, Value>, f: &Fields, name: &str) {
    match f.text(name) {
        "" => vs.remove(name),
        t => vs.insert(name.into(), Value::String(t.to_string())),
    };
}

fn number_or_null(n: &mut Numbers, f: &Fields, name: &str) -> Value {
    n.opt(f, name).map_or(Value::Null, Value::from)
}

/// Builds the JSON of a virtual server from the posted form. `base` is the stored object when editing (its
/// name and real servers are kept); `rows` is the number of real-server rows the form had.
pub fn to_json(f: &Fields, base: Option<&Value>, rows: usize) -> Result<Parsed, Vec<FieldError>> {
    let mut n = Numbers::default();
    let mut errors = Vec::new();
    let mut vs: Map<String, Value> = base.and_then(Value::as_object).cloned().unwrap_or_default();
    if base.is_none() {
        vs.insert("name".into(), Value::String(f.text("name").to_string()));
    }
    vs.insert("protocol".into(), text_or_null(f, "protocol"));
    vs.insert("address".into(), text_or_null(f, "address"));
    vs.insert("port".into(), number_or_null(&mut n, f, "port"));
    vs.insert("fwmark".into(), number_or_null(&mut n, f, "fwmark"));
    vs.insert("family".into(), text_or_null(f, "family"));
    text_or_default(&mut vs, f, "scheduler");
    vs.insert(
        "scheduler_flags".into(),
        Value::Array(
            f.all("scheduler_flags")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
    );
    text_or_default(&mut vs, f, "forwarding");

    let timeout = n.opt(f, "persistence.timeout_s");
    let netmask = f.text("persistence.netmask");
    match timeout {
        Some(t) => {
            let mut p = json!({ "timeout_s": t });
            if !netmask.is_empty() {
                p["netmask"] = Value::String(netmask.to_string());
            }
            vs.insert("persistence".into(), p);
        }
        None if !netmask.is_empty() && f.text("persistence.timeout_s").is_empty() => {
            errors.push(FieldError {
                field: "persistence.timeout_s".into(),
                message: "a persistence netmask needs a persistence timeout".into(),
            });
        }
        None => {
            vs.insert("persistence".into(), Value::Null);
        }
    }
    vs.insert("one_packet".into(), Value::Bool(f.ticked("one_packet")));
    vs.insert("vrrp_group".into(), text_or_null(f, "vrrp_group"));

    let kind = f.text("health_check.type");
    if kind.is_empty() || kind == "none" {
        vs.insert("health_check".into(), Value::Null);
    } else {
        // Same kind as stored: start from the stored check to keep the options the form does not show.
        let mut hc = vs
            .get("health_check")
            .filter(|h| h.get("type").and_then(Value::as_str) == Some(kind))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        hc.insert("type".into(), Value::String(kind.to_string()));
        for key in ["interval_ms", "timeout_ms", "rise", "fall"] {
            match n.opt(f, &format!("health_check.{key}")) {
                Some(v) => hc.insert(key.into(), Value::from(v)),
                None => hc.remove(key),
            };
        }
        match f.text("health_check.path") {
            "" => hc.remove("path"),
            p => hc.insert("path".into(), Value::String(p.to_string())),
        };
        match command(f.text("health_check.command"), hc.get("command")) {
            Some(c) => hc.insert("command".into(), c),
            None => hc.remove("command"),
        };
        vs.insert("health_check".into(), Value::Object(hc));
    }

    let sorry_address = f.text("sorry_server.address");
    let sorry_port = n.opt(f, "sorry_server.port");
    if sorry_address.is_empty() {
        if sorry_port.is_some() {
            errors.push(FieldError {
                field: "sorry_server.address".into(),
                message: "a sorry server needs an address".into(),
            });
        }
        vs.insert("sorry_server".into(), Value::Null);
    } else {
        let mut s = vs
            .get("sorry_server")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        s.insert("address".into(), Value::String(sorry_address.to_string()));
        match sorry_port {
            Some(p) => {
                s.insert("port".into(), Value::from(p));
            }
            None if f.text("sorry_server.port").is_empty() => errors.push(FieldError {
                field: "sorry_server.port".into(),
                message: "a sorry server needs a port".into(),
            }),
            None => {}
        }
        vs.insert("sorry_server".into(), Value::Object(s));
    }
    for key in ["quorum", "hysteresis"] {
        match n.opt(f, key) {
            Some(v) => vs.insert(key.into(), Value::from(v)),
            None => vs.remove(key),
        };
    }
    vs.insert("enabled".into(), Value::Bool(f.ticked("enabled")));

    let mut rows_map = RowMap::default();
    if base.is_none() {
        let mut list = Vec::new();
        let vs_port = vs.get("port").and_then(Value::as_u64);
        for row in 0..rows {
            let key = |k: &str| format!("real_servers[{row}].{k}");
            let address = f.text(&key("address"));
            let port = n.opt(f, &key("port"));
            let weight = n.opt(f, &key("weight"));
            if address.is_empty() {
                if !f.text(&key("port")).is_empty() || !f.text(&key("weight")).is_empty() {
                    errors.push(FieldError {
                        field: key("address"),
                        message: "required: the address of the real server".into(),
                    });
                }
                continue;
            }
            let mut rs = Map::new();
            rs.insert("address".into(), Value::String(address.to_string()));
            match port.or(vs_port) {
                Some(p) => rs.insert("port".into(), Value::from(p)),
                // An unreadable port (the row's or the service's) is reported as such, not as missing.
                None if f.text(&key("port")).is_empty() && f.text("port").is_empty() => {
                    errors.push(FieldError {
                        field: key("port"),
                        message: "required (the virtual server has no port to default to)".into(),
                    });
                    None
                }
                None => None,
            };
            if let Some(w) = weight {
                rs.insert("weight".into(), Value::from(w));
            }
            list.push(Value::Object(rs));
            rows_map.push("real_servers", row);
        }
        vs.insert("real_servers".into(), Value::Array(list));
    }
    errors.extend(n.errors);
    if errors.is_empty() {
        Ok(Parsed {
            json: Value::Object(vs),
            rows: rows_map,
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_service::parse::from_json;

    fn parse(body: &str) -> Result<Parsed, Vec<FieldError>> {
        to_json(&Fields::parse(body.as_bytes()), None, NEW_ROWS)
    }

    #[test]
    fn a_creation_form_becomes_a_virtual_server() {
        let p = parse(
            "name=web&protocol=tcp&address=192.168.10.180&port=80&scheduler=wrr&forwarding=dr\
             &persistence.timeout_s=&health_check.type=tcp&health_check.interval_ms=2000\
             &quorum=1&hysteresis=0&enabled=on\
             &real_servers%5B0%5D.address=10.0.0.1&real_servers%5B0%5D.port=&real_servers%5B0%5D.weight=\
             &real_servers%5B1%5D.address=&real_servers%5B2%5D.address=10.0.0.2&real_servers%5B2%5D.port=8080\
             &real_servers%5B2%5D.weight=5",
        )
        .unwrap();
        let vs: VirtualServer = from_json(p.json.clone()).unwrap();
        assert_eq!(vs.name, "web");
        assert_eq!(vs.port, Some(80));
        assert_eq!(vs.health_check.as_ref().map(|h| h.interval_ms), Some(2000));
        assert_eq!(vs.real_servers.len(), 2);
        assert_eq!(
            (vs.real_servers[0].port, vs.real_servers[0].weight),
            (80, 1),
            "port defaults to the service's"
        );
        assert_eq!(
            (vs.real_servers[1].port, vs.real_servers[1].weight),
            (8080, 5)
        );
        assert!(vs.enabled && vs.persistence.is_none());
        // The second real server came from the third row.
        assert_eq!(
            p.rows.form_field("real_servers[1].weight"),
            "real_servers[2].weight"
        );
        assert_eq!(p.rows.form_field("port"), "port");
    }

    #[test]
    fn unreadable_numbers_and_half_rows_are_reported_by_field() {
        let errors = parse(
            "name=web&protocol=tcp&address=10.0.0.9&port=eighty&real_servers%5B1%5D.weight=3\
             &persistence.netmask=255.255.255.0",
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"port"), "{errors:?}");
        assert!(fields.contains(&"real_servers[1].address"), "{errors:?}");
        assert!(fields.contains(&"persistence.timeout_s"), "{errors:?}");
    }

    #[test]
    fn editing_keeps_what_the_form_does_not_show() {
        let stored = json!({
            "name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
            "health_check": {"type": "http", "path": "/health", "status_codes": ["200"], "interval_ms": 5000},
            "real_servers": [{"address": "10.0.0.2", "port": 80, "weight": 3}],
        });
        let stored_vs: VirtualServer = from_json(stored.clone()).unwrap();
        let mut f = fields_of(&stored_vs);
        f.set("port", "8080");
        f.set("name", "renamed");
        let p = to_json(&f, Some(&stored), 0).unwrap();
        let vs: VirtualServer = from_json(p.json).unwrap();
        assert_eq!(vs.name, "web", "names are fixed");
        assert_eq!(vs.port, Some(8080));
        let hc = vs.health_check.unwrap();
        assert_eq!(hc.status_codes, Some(vec!["200".to_string()]));
        assert_eq!(hc.path.as_deref(), Some("/health"));
        assert_eq!(vs.real_servers.len(), 1);
        assert_eq!(vs.real_servers[0].weight, 3);

        // Another kind of check starts afresh.
        f.set("health_check.type", "tcp");
        f.set("health_check.path", "");
        let p = to_json(&f, Some(&stored), 0).unwrap();
        let vs: VirtualServer = from_json(p.json).unwrap();
        let hc = vs.health_check.unwrap();
        assert_eq!((hc.kind, hc.status_codes), (CheckKind::Tcp, None));
    }

    #[test]
    fn the_form_round_trips_an_object() {
        let stored = json!({
            "name": "dns", "fwmark": 7, "family": "inet6", "scheduler": "mh", "scheduler_flags": ["mh-port"],
            "forwarding": "tunnel", "persistence": {"timeout_s": 60, "netmask": "64"}, "one_packet": true,
            "sorry_server": {"address": "2001:db8::9", "port": 53}, "quorum": 2, "hysteresis": 1,
            "enabled": false,
        });
        let vs: VirtualServer = from_json(stored.clone()).unwrap();
        let p = to_json(&fields_of(&vs), Some(&stored), 0).unwrap();
        let again: VirtualServer = from_json(p.json).unwrap();
        assert_eq!(again, vs);
    }

    fn form(pairs: &[(&str, &str)]) -> Fields {
        Fields::from_pairs(pairs.iter().copied())
    }

    /// The JSON of a creation form holding `pairs` besides a name.
    fn created(pairs: &[(&str, &str)]) -> Value {
        let mut all = vec![("name", "web")];
        all.extend_from_slice(pairs);
        match to_json(&form(&all), None, NEW_ROWS) {
            Ok(p) => p.json,
            Err(e) => panic!("{pairs:?}: {e:?}"),
        }
    }

    #[test]
    fn every_input_fills_its_field() {
        for (input, value, pointer, expected) in [
            ("protocol", "udp", "/protocol", json!("udp")),
            ("address", " 192.0.2.1 ", "/address", json!("192.0.2.1")),
            ("port", "443", "/port", json!(443)),
            ("fwmark", "7", "/fwmark", json!(7)),
            ("family", "inet6", "/family", json!("inet6")),
            ("scheduler", "mh", "/scheduler", json!("mh")),
            (
                "scheduler_flags",
                "mh-port",
                "/scheduler_flags",
                json!(["mh-port"]),
            ),
            ("forwarding", "nat", "/forwarding", json!("nat")),
            (
                "persistence.timeout_s",
                "300",
                "/persistence",
                json!({"timeout_s": 300}),
            ),
            ("one_packet", "on", "/one_packet", json!(true)),
            ("vrrp_group", "vi-1", "/vrrp_group", json!("vi-1")),
            (
                "health_check.type",
                "http",
                "/health_check",
                json!({"type": "http"}),
            ),
            (
                "sorry_server.address",
                "192.0.2.9",
                "/sorry_server/address",
                json!("192.0.2.9"),
            ),
            ("quorum", "2", "/quorum", json!(2)),
            ("hysteresis", "1", "/hysteresis", json!(1)),
            ("enabled", "on", "/enabled", json!(true)),
            (
                "real_servers[0].address",
                "10.0.0.1",
                "/real_servers/0/address",
                json!("10.0.0.1"),
            ),
        ] {
            let mut pairs = vec![(input, value)];
            if input == "sorry_server.address" {
                pairs.push(("sorry_server.port", "80"));
            }
            if input.starts_with("real_servers") {
                pairs.push(("port", "80"));
            }
            assert_eq!(created(&pairs).pointer(pointer), Some(&expected), "{input}");
        }
        let json = created(&[
            ("scheduler_flags", "sh-port"),
            ("scheduler_flags", "sh-fallback"),
            ("persistence.timeout_s", "60"),
            ("persistence.netmask", "255.255.255.0"),
            ("health_check.type", "script"),
            ("health_check.interval_ms", "2000"),
            ("health_check.timeout_ms", "500"),
            ("health_check.rise", "3"),
            ("health_check.fall", "4"),
            ("health_check.path", "/health"),
            ("health_check.command", " /bin/check  -p 80 "),
            ("sorry_server.address", "192.0.2.9"),
            ("sorry_server.port", "8080"),
            ("port", "80"),
            ("real_servers[1].address", "10.0.0.2"),
            ("real_servers[1].port", "8080"),
            ("real_servers[1].weight", "5"),
        ]);
        assert_eq!(json["scheduler_flags"], json!(["sh-port", "sh-fallback"]));
        assert_eq!(
            json["persistence"],
            json!({"timeout_s": 60, "netmask": "255.255.255.0"})
        );
        assert_eq!(
            json["health_check"],
            json!({"type": "script", "interval_ms": 2000, "timeout_ms": 500, "rise": 3, "fall": 4,
                   "path": "/health", "command": ["/bin/check", "-p", "80"]})
        );
        assert_eq!(
            json["sorry_server"],
            json!({"address": "192.0.2.9", "port": 8080})
        );
        assert_eq!(
            json["real_servers"],
            json!([{"address": "10.0.0.2", "port": 8080, "weight": 5}])
        );
    }

    #[test]
    fn empty_optional_fields_are_left_out() {
        let blank_all: Vec<(String, &str)> = inputs(NEW_ROWS)
            .into_iter()
            .filter(|i| i != "name")
            .map(|i| (i, ""))
            .collect();
        let mut pairs: Vec<(&str, &str)> =
            blank_all.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        pairs.push(("health_check.type", "none"));
        let json = created(&pairs);
        for field in [
            "protocol",
            "address",
            "port",
            "fwmark",
            "family",
            "persistence",
            "vrrp_group",
            "health_check",
            "sorry_server",
        ] {
            assert_eq!(json[field], Value::Null, "{field}");
        }
        assert_eq!(json["scheduler_flags"], json!([]));
        assert_eq!(
            (&json["one_packet"], &json["enabled"]),
            (&json!(false), &json!(false)),
            "unticked"
        );
        assert_eq!(
            json["real_servers"],
            json!([]),
            "blank rows are no real servers"
        );
        let object = json.as_object().expect("an object");
        for field in ["scheduler", "forwarding", "quorum", "hysteresis"] {
            assert!(!object.contains_key(field), "{field}: {json}");
        }
        // What the service makes of it: the defaults.
        let vs: VirtualServer = from_json(json).unwrap();
        let defaults = VirtualServer::default();
        assert_eq!(
            (vs.scheduler, vs.forwarding, vs.quorum, vs.hysteresis),
            (defaults.scheduler, defaults.forwarding, 1, 0)
        );
    }

    #[test]
    fn bad_values_are_named_by_their_field() {
        for input in [
            "port",
            "fwmark",
            "persistence.timeout_s",
            "health_check.interval_ms",
            "health_check.timeout_ms",
            "health_check.rise",
            "health_check.fall",
            "sorry_server.port",
            "quorum",
            "hysteresis",
            "real_servers[2].port",
            "real_servers[2].weight",
        ] {
            for bad in ["eighty", "-1", "1.5", "99999999999999999999"] {
                let mut pairs = vec![
                    ("port", "80"),
                    ("health_check.type", "tcp"),
                    ("sorry_server.address", "192.0.2.9"),
                    ("sorry_server.port", "80"),
                    ("real_servers[2].address", "10.0.0.1"),
                ];
                pairs.retain(|(k, _)| *k != input);
                pairs.push((input, bad));
                pairs.push(("name", "web"));
                let errors = to_json(&form(&pairs), None, NEW_ROWS).unwrap_err();
                assert_eq!(
                    errors,
                    [FieldError {
                        field: input.to_string(),
                        message: format!("{bad:?} is not a whole number"),
                    }],
                    "{input}={bad}: one error, on that field"
                );
            }
        }
    }

    #[test]
    fn half_filled_groups_of_inputs_are_named_by_the_missing_field() {
        for (pairs, field, message) in [
            (
                vec![("persistence.netmask", "255.255.255.0")],
                "persistence.timeout_s",
                "a persistence netmask needs a persistence timeout",
            ),
            (
                vec![("sorry_server.port", "80")],
                "sorry_server.address",
                "a sorry server needs an address",
            ),
            (
                vec![("sorry_server.address", "192.0.2.9")],
                "sorry_server.port",
                "a sorry server needs a port",
            ),
            (
                vec![("real_servers[3].weight", "2")],
                "real_servers[3].address",
                "required: the address of the real server",
            ),
            (
                vec![("fwmark", "7"), ("real_servers[0].address", "10.0.0.1")],
                "real_servers[0].port",
                "required (the virtual server has no port to default to)",
            ),
        ] {
            let mut all = pairs.clone();
            all.push(("name", "web"));
            let errors = to_json(&form(&all), None, NEW_ROWS).unwrap_err();
            assert_eq!(
                errors,
                [FieldError {
                    field: field.into(),
                    message: message.into()
                }],
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn an_unreadable_service_port_is_not_also_a_missing_row_port() {
        let errors = parse("name=web&port=8o&real_servers%5B0%5D.address=10.0.0.1").unwrap_err();
        assert_eq!(
            errors,
            [FieldError {
                field: "port".into(),
                message: "\"8o\" is not a whole number".into()
            }]
        );
    }

    #[test]
    fn editing_a_command_keeps_its_quoting_unless_it_changes() {
        let stored = json!({
            "name": "dns", "protocol": "udp", "address": "10.0.0.1", "port": 53,
            "health_check": {"type": "script", "command": ["/bin/sh", "-c", "dig @10.0.0.2 example.com"]},
        });
        let vs: VirtualServer = from_json(stored.clone()).unwrap();
        let mut f = fields_of(&vs);
        assert_eq!(
            f.text("health_check.command"),
            "/bin/sh -c dig @10.0.0.2 example.com"
        );
        let json = to_json(&f, Some(&stored), 0).unwrap().json;
        assert_eq!(
            json["health_check"]["command"],
            json!(["/bin/sh", "-c", "dig @10.0.0.2 example.com"]),
            "unchanged: the stored words"
        );
        f.set("health_check.command", "/usr/bin/dig @10.0.0.3 example.com");
        let json = to_json(&f, Some(&stored), 0).unwrap().json;
        assert_eq!(
            json["health_check"]["command"],
            json!(["/usr/bin/dig", "@10.0.0.3", "example.com"])
        );
        f.set("health_check.interval_ms", "");
        f.set("health_check.command", "");
        let json = to_json(&f, Some(&stored), 0).unwrap().json;
        let hc = json["health_check"].as_object().unwrap();
        assert!(
            !hc.contains_key("interval_ms") && !hc.contains_key("command"),
            "{json}"
        );
    }

    #[test]
    fn editing_keeps_the_sorry_servers_forwarding() {
        let stored = json!({
            "name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
            "sorry_server": {"address": "10.0.0.9", "port": 80, "forwarding": "nat"},
        });
        let vs: VirtualServer = from_json(stored.clone()).unwrap();
        let mut f = fields_of(&vs);
        f.set("sorry_server.port", "8080");
        let json = to_json(&f, Some(&stored), 0).unwrap().json;
        assert_eq!(
            json["sorry_server"],
            json!({"address": "10.0.0.9", "port": 8080, "forwarding": "nat"})
        );
        f.set("sorry_server.address", "");
        f.set("sorry_server.port", "");
        let json = to_json(&f, Some(&stored), 0).unwrap().json;
        assert_eq!(
            json["sorry_server"],
            Value::Null,
            "cleared: no sorry server"
        );
    }

    #[test]
    fn the_form_shows_only_inputs_it_has() {
        let vs: VirtualServer = from_json(json!({
            "name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
            "scheduler_flags": ["sh-port"], "persistence": {"timeout_s": 60, "netmask": "255.255.255.0"},
            "one_packet": true, "vrrp_group": "vi-1",
            "health_check": {"type": "http", "path": "/", "command": null},
            "sorry_server": {"address": "10.0.0.9", "port": 80}, "quorum": 2, "hysteresis": 1,
        }))
        .unwrap();
        let inputs = inputs(0);
        for (name, _) in fields_of(&vs).pairs() {
            assert!(inputs.contains(name), "{name} is shown but is no input");
        }
        for (name, _) in blank().pairs() {
            assert!(inputs.contains(&name.to_string()), "{name}");
        }
        assert_eq!(inputs.len(), OWN_INPUTS.len());
        assert_eq!(
            super::inputs(2).len(),
            OWN_INPUTS.len() + 6,
            "address, port, weight per row"
        );
    }
}
