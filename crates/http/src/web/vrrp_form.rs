//! The VRRP-group form (pure): which inputs it has, how a group fills it, and how the posted fields become
//! the JSON of a group that the service validates, as REST's would be. Inputs are named after the JSON path
//! they fill (`members[1].priority`, `connection_sync.sync_id`), but for a track's `target`, which fills its
//! `virtual_server`, `interface` or `script` as the row's `kind` says. Numbers go to the service as typed,
//! so a bad one is refused with REST's words. Editing starts from the stored group, so what the form does
//! not show (notify, announcements) is kept; an empty password keeps the stored one.

use super::form::{as_typed, command, FieldError, Fields, Parsed, RowMap};
use director_core::model::{AuthType, VrrpGroup};
use serde_json::{Map, Value};

/// Blank member and track rows below the stored ones (more appear once these are saved).
pub const BLANK_ROWS: usize = 2;
/// The most rows a posted form is read with.
pub const MAX_ROWS: usize = 64;

/// What a track watches, as the row's `kind` says.
pub const TRACK_KINDS: [&str; 3] = ["virtual_server", "interface", "script"];

const OWN_INPUTS: [&str; 18] = [
    "name",
    "vrid",
    "version",
    "advert_interval_ms",
    "preempt",
    "preempt_delay_s",
    "auth.type",
    "auth.password",
    "virtual_addresses",
    "interface",
    "priority",
    "sync_group",
    "connection_sync.interface",
    "connection_sync.sync_id",
    "connection_sync.max_packet_len",
    "connection_sync.mcast_group",
    "connection_sync.mcast_port",
    "connection_sync.mcast_ttl",
];

/// The inputs of a member row.
pub const MEMBER_INPUTS: [&str; 6] = [
    "node",
    "interface",
    "priority",
    "unicast_peers",
    "unicast_source",
    "sync_interface",
];

/// The inputs of a track row.
pub const TRACK_INPUTS: [&str; 3] = ["kind", "target", "weight"];

/// The number inputs of the connection-sync settings.
const SYNC_NUMBERS: [&str; 4] = ["sync_id", "max_packet_len", "mcast_port", "mcast_ttl"];

/// Every input of the form with `members` member rows and `tracks` track rows.
pub fn inputs(members: usize, tracks: usize) -> Vec<String> {
    let mut v: Vec<String> = OWN_INPUTS.iter().map(|s| s.to_string()).collect();
    for i in 0..members {
        v.extend(MEMBER_INPUTS.iter().map(|f| format!("members[{i}].{f}")));
    }
    for i in 0..tracks {
        v.extend(TRACK_INPUTS.iter().map(|f| format!("track[{i}].{f}")));
    }
    v
}

/// The fields of a blank creation form.
pub fn blank() -> Fields {
    Fields::from_pairs([
        ("version", "2"),
        ("advert_interval_ms", "1000"),
        ("preempt", "on"),
        ("preempt_delay_s", "0"),
        ("auth.type", "none"),
        ("priority", "100"),
    ])
}

/// The fields showing `g` (the password is never shown: left empty, it is kept).
pub fn fields_of(g: &VrrpGroup) -> Fields {
    let mut f: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| f.push((k.to_string(), v));
    let opt = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
    put("name", g.name.clone());
    put("vrid", g.vrid.to_string());
    put("version", g.version.to_string());
    put("advert_interval_ms", g.advert_interval_ms.to_string());
    if g.preempt {
        put("preempt", "on".into());
    }
    put("preempt_delay_s", g.preempt_delay_s.to_string());
    let pass = g.auth.as_ref().is_some_and(|a| a.kind == AuthType::Pass);
    put("auth.type", if pass { "pass" } else { "none" }.into());
    put("virtual_addresses", g.virtual_addresses.join(", "));
    put("interface", g.interface.clone().unwrap_or_default());
    put("priority", g.priority.to_string());
    put("sync_group", g.sync_group.clone().unwrap_or_default());
    if let Some(c) = &g.connection_sync {
        put("connection_sync.interface", c.interface.clone());
        put("connection_sync.sync_id", opt(c.sync_id));
        put("connection_sync.max_packet_len", opt(c.max_packet_len));
        put(
            "connection_sync.mcast_group",
            c.mcast_group.map(|a| a.to_string()).unwrap_or_default(),
        );
        put("connection_sync.mcast_port", opt(c.mcast_port));
        put("connection_sync.mcast_ttl", opt(c.mcast_ttl));
    }
    for (i, m) in g.members.iter().enumerate() {
        let key = |k: &str| format!("members[{i}].{k}");
        put(&key("node"), m.node.clone());
        put(&key("interface"), m.interface.clone().unwrap_or_default());
        put(&key("priority"), opt(m.priority));
        put(
            &key("unicast_peers"),
            m.unicast_peers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        );
        put(
            &key("unicast_source"),
            m.unicast_source.map(|a| a.to_string()).unwrap_or_default(),
        );
        put(
            &key("sync_interface"),
            m.sync_interface.clone().unwrap_or_default(),
        );
    }
    for (i, t) in g.track.iter().enumerate() {
        let key = |k: &str| format!("track[{i}].{k}");
        let (kind, target) = if let Some(v) = &t.virtual_server {
            ("virtual_server", v.clone())
        } else if let Some(n) = &t.interface {
            ("interface", n.clone())
        } else {
            (
                "script",
                t.script.as_ref().map(|s| s.join(" ")).unwrap_or_default(),
            )
        };
        put(&key("kind"), kind.into());
        put(&key("target"), target);
        put(&key("weight"), t.weight.to_string());
    }
    Fields::from_pairs(f)
}

/// A list typed with commas or spaces between its items.
fn list(text: &str) -> Value {
    Value::Array(
        text.split([',', ' ', '\n', '\t'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_string()))
            .collect(),
    )
}

/// Sets `key` to the text of `name`, or removes it when empty (its default, or none, applies).
fn text_or_absent(obj: &mut Map<String, Value>, key: &str, f: &Fields, name: &str) {
    match f.text(name) {
        "" => obj.remove(key),
        t => obj.insert(key.into(), Value::String(t.to_string())),
    };
}

/// Sets `key` to the number typed in `name` (as typed), or removes it when empty.
fn number_or_absent(obj: &mut Map<String, Value>, key: &str, f: &Fields, name: &str) {
    match as_typed(f.text(name)) {
        Some(v) => obj.insert(key.into(), v),
        None => obj.remove(key),
    };
}

fn required(field: String, what: &str) -> FieldError {
    FieldError {
        field,
        message: format!("required: {what}"),
    }
}

/// Builds the JSON of a group from the posted form with `members` member rows and `tracks` track rows.
/// `base` is the stored group when editing (its name, its password when none is typed, and what the form
/// does not show are kept).
pub fn to_json(
    f: &Fields,
    base: Option<&Value>,
    members: usize,
    tracks: usize,
) -> Result<Parsed, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut rows = RowMap::default();
    rows.shared_input("track", &TRACK_KINDS, "target");
    let mut g: Map<String, Value> = base.and_then(Value::as_object).cloned().unwrap_or_default();
    if base.is_none() {
        g.insert("name".into(), Value::String(f.text("name").to_string()));
    }
    match as_typed(f.text("vrid")) {
        Some(v) => {
            g.insert("vrid".into(), v);
        }
        None => errors.push(required("vrid".into(), "the virtual router id, 1 to 255")),
    }
    for key in [
        "version",
        "advert_interval_ms",
        "preempt_delay_s",
        "priority",
    ] {
        number_or_absent(&mut g, key, f, key);
    }
    g.insert("preempt".into(), Value::Bool(f.ticked("preempt")));

    // Authentication: an empty password keeps the stored one.
    match f.text("auth.type") {
        "" | "none" => {
            if !f.text("auth.password").is_empty() {
                errors.push(FieldError {
                    field: "auth.password".into(),
                    message: "a password needs PASS authentication".into(),
                });
            }
            g.insert("auth".into(), Value::Null);
        }
        kind => {
            let mut auth = Map::new();
            auth.insert("type".into(), Value::String(kind.to_string()));
            let stored = g
                .get("auth")
                .filter(|a| a.get("type").and_then(Value::as_str) == Some(kind))
                .and_then(|a| a.get("password"))
                .cloned();
            match f.get("auth.password").unwrap_or("") {
                "" => {
                    if let Some(p) = stored {
                        auth.insert("password".into(), p);
                    }
                }
                typed => {
                    auth.insert("password".into(), Value::String(typed.to_string()));
                }
            }
            g.insert("auth".into(), Value::Object(auth));
        }
    }
    g.insert(
        "virtual_addresses".into(),
        list(f.text("virtual_addresses")),
    );
    text_or_absent(&mut g, "interface", f, "interface");
    text_or_absent(&mut g, "sync_group", f, "sync_group");

    // Connection sync: off while every input is empty.
    let sync_set = std::iter::once("interface")
        .chain(["mcast_group"])
        .chain(SYNC_NUMBERS)
        .any(|k| !f.text(&format!("connection_sync.{k}")).is_empty());
    if !sync_set {
        g.insert("connection_sync".into(), Value::Null);
    } else {
        let mut c = Map::new();
        match f.text("connection_sync.interface") {
            "" => errors.push(required(
                "connection_sync.interface".into(),
                "the interface of the sync daemons (or leave every connection sync input empty)",
            )),
            i => {
                c.insert("interface".into(), Value::String(i.to_string()));
            }
        }
        for k in SYNC_NUMBERS {
            number_or_absent(&mut c, k, f, &format!("connection_sync.{k}"));
        }
        text_or_absent(&mut c, "mcast_group", f, "connection_sync.mcast_group");
        g.insert("connection_sync".into(), Value::Object(c));
    }

    // Members: a blank row is none; a row keeps what the form does not show of the stored member of its node.
    let stored_members: Vec<Value> = g
        .get("members")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut list_members = Vec::new();
    for row in 0..members {
        let key = |k: &str| format!("members[{row}].{k}");
        let node = f.text(&key("node"));
        if node.is_empty() {
            if MEMBER_INPUTS.iter().any(|k| !f.text(&key(k)).is_empty()) {
                errors.push(required(key("node"), "the node name (--node-name)"));
            }
            continue;
        }
        let mut m = stored_members
            .iter()
            .find(|m| m.get("node").and_then(Value::as_str) == Some(node))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        m.insert("node".into(), Value::String(node.to_string()));
        text_or_absent(&mut m, "interface", f, &key("interface"));
        number_or_absent(&mut m, "priority", f, &key("priority"));
        m.insert("unicast_peers".into(), list(f.text(&key("unicast_peers"))));
        text_or_absent(&mut m, "unicast_source", f, &key("unicast_source"));
        text_or_absent(&mut m, "sync_interface", f, &key("sync_interface"));
        list_members.push(Value::Object(m));
        rows.push("members", row);
    }
    g.insert("members".into(), Value::Array(list_members));

    // Tracks: the row's kind says what its target is; a script typed as it is stored keeps its words.
    let stored_scripts: Vec<Value> = g
        .get("track")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("script").cloned())
        .collect();
    let mut list_tracks = Vec::new();
    for row in 0..tracks {
        let key = |k: &str| format!("track[{row}].{k}");
        let target = f.text(&key("target"));
        let weight = f.text(&key("weight"));
        if target.is_empty() {
            if !weight.is_empty() {
                errors.push(required(
                    key("target"),
                    "what the track watches: a virtual server, an interface or a command",
                ));
            }
            continue;
        }
        let mut t = Map::new();
        match f.text(&key("kind")) {
            "script" => {
                let stored = stored_scripts
                    .iter()
                    .find(|s| command(target, Some(s)).as_ref() == Some(*s));
                if let Some(words) = command(target, stored) {
                    t.insert("script".into(), words);
                }
            }
            kind @ ("virtual_server" | "interface") => {
                t.insert(kind.into(), Value::String(target.to_string()));
            }
            other => errors.push(FieldError {
                field: key("kind"),
                message: format!(
                    "{other:?} is not a kind of track: use {}",
                    TRACK_KINDS.join(", ")
                ),
            }),
        }
        match as_typed(weight) {
            Some(w) => {
                t.insert("weight".into(), w);
            }
            None => errors.push(required(
                key("weight"),
                "the priority change while it fails, e.g. -20",
            )),
        }
        list_tracks.push(Value::Object(t));
        rows.push("track", row);
    }
    g.insert("track".into(), Value::Array(list_tracks));

    if errors.is_empty() {
        Ok(Parsed {
            json: Value::Object(g),
            rows,
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_service::parse::from_json;
    use serde_json::json;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        Fields::from_pairs(pairs.iter().copied())
    }

    fn group(value: Value) -> VrrpGroup {
        from_json(value).expect("a group")
    }

    #[test]
    fn a_creation_form_becomes_a_group() {
        let mut pairs = vec![
            ("name", "vi-1"),
            ("vrid", "51"),
            ("virtual_addresses", "192.168.10.180, 192.168.10.181/24"),
            ("interface", "eth0"),
            ("auth.type", "pass"),
            ("auth.password", "secret"),
            ("members[0].node", "lvs-01"),
            ("members[0].priority", "150"),
            ("members[1].node", ""),
            ("members[2].node", "lvs-02"),
            ("members[2].interface", "ens33"),
            ("members[2].unicast_peers", "10.0.0.1 10.0.0.2"),
            ("track[0].kind", "interface"),
            ("track[0].target", "eth1"),
            ("track[0].weight", "-30"),
            ("track[1].kind", "script"),
            ("track[1].target", "/usr/bin/check -q"),
            ("track[1].weight", "-20"),
            ("connection_sync.interface", "eth1"),
            ("connection_sync.sync_id", "9"),
        ];
        let defaults = blank();
        pairs.extend(
            defaults
                .pairs()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let p = to_json(&form(&pairs), None, 3, 2).unwrap();
        let g = group(p.json);
        assert_eq!((g.name.as_str(), g.vrid, g.version), ("vi-1", 51, 2));
        assert_eq!(g.virtual_addresses, ["192.168.10.180", "192.168.10.181/24"]);
        assert_eq!(g.auth.and_then(|a| a.password).as_deref(), Some("secret"));
        assert_eq!(g.members.len(), 2);
        assert_eq!(
            (g.members[0].node.as_str(), g.members[0].priority),
            ("lvs-01", Some(150))
        );
        assert_eq!(g.members[1].interface.as_deref(), Some("ens33"));
        assert_eq!(g.members[1].unicast_peers.len(), 2);
        assert_eq!(g.track[0].interface.as_deref(), Some("eth1"));
        assert_eq!(
            g.track[1].script,
            Some(vec!["/usr/bin/check".into(), "-q".into()])
        );
        assert_eq!(g.track[1].weight, -20);
        let c = g.connection_sync.unwrap();
        assert_eq!((c.interface.as_str(), c.sync_id), ("eth1", Some(9)));
        // The second member came from the third row.
        assert_eq!(
            p.rows.form_field("members[1].interface"),
            "members[2].interface"
        );
        assert_eq!(p.rows.form_field("track[1].script[0]"), "track[1].target");
    }

    #[test]
    fn the_form_round_trips_a_group_and_keeps_what_it_does_not_show() {
        let stored = json!({
            "name": "vi-1", "vrid": 51, "version": 3, "advert_interval_ms": 500, "preempt": false,
            "preempt_delay_s": 5, "virtual_addresses": ["2001:db8::10/128"], "interface": "eth0",
            "priority": 90, "sync_group": "g1",
            "members": [{"node": "lvs-01", "interface": "eth2", "priority": 200, "unicast_peers": ["2001:db8::2"],
                         "unicast_source": "2001:db8::1", "sync_interface": "eth3"},
                        {"node": "lvs-02", "unicast_peers": []}],
            "track": [{"virtual_server": "web", "weight": -10},
                      {"script": ["/bin/sh", "-c", "pidof haproxy"], "weight": -50}],
            "notify": {"webhook": "https://hooks.example/vrrp"},
            "garp": {"repeat": 3, "delay_s": 1, "refresh_s": 0},
            "connection_sync": {"interface": "eth1", "sync_id": 7, "max_packet_len": 1500,
                                "mcast_group": "239.0.0.9", "mcast_port": 8849, "mcast_ttl": 2},
        });
        let g = group(stored.clone());
        let f = fields_of(&g);
        let p = to_json(&f, Some(&stored), g.members.len(), g.track.len()).unwrap();
        assert_eq!(group(p.json), g);
    }

    #[test]
    fn an_empty_password_keeps_the_stored_one_and_none_drops_it() {
        let stored = json!({"name": "vi-1", "vrid": 51, "virtual_addresses": ["10.0.0.9"], "interface": "eth0",
                            "auth": {"type": "pass", "password": "secret"}});
        let g = group(stored.clone());
        let mut f = fields_of(&g);
        assert_eq!(f.get("auth.password"), None, "never shown");
        let kept = group(to_json(&f, Some(&stored), 0, 0).unwrap().json);
        assert_eq!(kept.auth, g.auth);
        f.set("auth.password", "other");
        let changed = group(to_json(&f, Some(&stored), 0, 0).unwrap().json);
        assert_eq!(
            changed.auth.and_then(|a| a.password).as_deref(),
            Some("other")
        );
        f.set("auth.password", "");
        f.set("auth.type", "none");
        let none = group(to_json(&f, Some(&stored), 0, 0).unwrap().json);
        assert_eq!(none.auth, None);
    }

    #[test]
    fn half_filled_rows_and_settings_are_named_by_the_missing_input() {
        for (pairs, field) in [
            (vec![("members[1].priority", "90")], "members[1].node"),
            (vec![("track[0].weight", "-20")], "track[0].target"),
            (
                vec![("track[0].target", "eth1"), ("track[0].kind", "interface")],
                "track[0].weight",
            ),
            (
                vec![("connection_sync.sync_id", "3")],
                "connection_sync.interface",
            ),
            (vec![("vrid", "")], "vrid"),
            (vec![("auth.password", "x")], "auth.password"),
        ] {
            let mut all = vec![("name", "vi-1"), ("vrid", "51"), ("interface", "eth0")];
            all.retain(|(k, _)| !pairs.iter().any(|(p, _)| p == k));
            all.extend(pairs.iter().copied());
            let errors = to_json(&form(&all), None, 2, 2).unwrap_err();
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, [field], "{pairs:?}: {errors:?}");
        }
    }

    #[test]
    fn bad_numbers_reach_the_service_as_typed() {
        let f = form(&[
            ("name", "vi-1"),
            ("vrid", "fifty"),
            ("virtual_addresses", "10.0.0.9"),
            ("interface", "eth0"),
            ("members[0].node", "lvs-01"),
            ("members[0].priority", "300"),
        ]);
        let json = to_json(&f, None, 1, 0).unwrap().json;
        assert_eq!(json["vrid"], json!("fifty"));
        assert_eq!(json["members"][0]["priority"], json!(300));
    }

    #[test]
    fn every_shown_field_is_an_input() {
        let g = group(json!({
            "name": "vi-1", "vrid": 51, "virtual_addresses": ["10.0.0.9"], "interface": "eth0",
            "auth": {"type": "pass", "password": "secret"}, "sync_group": "s",
            "members": [{"node": "a", "unicast_source": "10.0.0.1", "sync_interface": "eth1"}],
            "track": [{"interface": "eth1", "weight": -1}],
            "connection_sync": {"interface": "eth1", "mcast_group": "239.0.0.1"},
        }));
        let inputs = inputs(1, 1);
        for (name, _) in fields_of(&g).pairs() {
            assert!(inputs.contains(name), "{name} is shown but is no input");
        }
        for (name, _) in blank().pairs() {
            assert!(inputs.contains(name), "{name}");
        }
    }
}
