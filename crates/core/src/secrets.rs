//! Secrets in the desired state, and what callers below admin see of them.
//!
//! The secrets of a declaration are:
//! - the VRRP PASS password (`auth.password`),
//! - the arguments of the commands director runs (a health check's `command`, a VRRP track's and a notify
//!   `script`): they often carry credentials (`check_mysql -u monitor -p s3cret`); the program stays visible,
//! - a notify webhook URL past its host (user information, path and query: a chat webhook's path is its key).
//!
//! Admins see everything. Viewers and operators see each secret replaced by [`WITHHELD`] (`"***"`), through
//! REST, gRPC, the UI and the audit log: every surface calls [`Withhold::visible`] (or [`withhold_audit`] on
//! an audit entry's JSON) with the caller's [`Visibility`]; nothing else decides what is shown.
//!
//! Writing back what one was shown keeps the stored secret: [`VrrpGroup::restore_withheld`] (and its twins
//! on virtual and real servers) takes the stored value wherever the incoming one equals the stored value as
//! it is shown withheld. A `"***"` left after that (nothing stored to keep) is refused by the service
//! ([`VrrpGroup::withheld_field`]): the placeholder is never stored as a password or an argument.

use crate::model::{Auth, HealthCheck, Notify, RealServer, Role, Track, VirtualServer, VrrpGroup};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// What a secret reads as for callers who may not see it.
pub const WITHHELD: &str = "***";

/// Whether a caller sees secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Everything as stored (admins).
    Full,
    /// Secrets replaced by [`WITHHELD`] (viewers and operators).
    Redacted,
}

impl Visibility {
    /// Admins see secrets; every other role sees them withheld.
    pub fn of(role: Role) -> Self {
        if role >= Role::Admin {
            Visibility::Full
        } else {
            Visibility::Redacted
        }
    }
}

/// A value that may carry secrets.
pub trait Withhold: Clone {
    /// Replaces every secret with [`WITHHELD`].
    fn withhold(&mut self);

    /// The value as a caller with `visibility` may see it (borrowed when nothing is withheld).
    fn visible(&self, visibility: Visibility) -> Cow<'_, Self> {
        match visibility {
            Visibility::Full => Cow::Borrowed(self),
            Visibility::Redacted => {
                let mut shown = self.clone();
                shown.withhold();
                Cow::Owned(shown)
            }
        }
    }

    /// A copy with every secret withheld.
    fn withheld(&self) -> Self {
        self.visible(Visibility::Redacted).into_owned()
    }
}

impl<T: Withhold> Withhold for Option<T> {
    fn withhold(&mut self) {
        if let Some(v) = self {
            v.withhold();
        }
    }
}

impl<T: Withhold> Withhold for Vec<T> {
    fn withhold(&mut self) {
        self.iter_mut().for_each(Withhold::withhold);
    }
}

/// A command as shown withheld: the program, then one [`WITHHELD`] per argument.
pub fn withheld_command(command: &[String]) -> Vec<String> {
    command
        .iter()
        .enumerate()
        .map(|(i, a)| if i == 0 { a.clone() } else { WITHHELD.into() })
        .collect()
}

/// A URL as shown withheld: `scheme://host[:port]/***` when it has user information, a path or a query; else
/// as it is. Something that is not `scheme://...` is withheld whole.
pub fn withheld_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return WITHHELD.into();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.len() == authority.len() && (tail.is_empty() || tail == "/") {
        return url.to_string();
    }
    format!("{scheme}://{host}/{WITHHELD}")
}

fn withhold_command(command: &mut Option<Vec<String>>) {
    if let Some(c) = command {
        *c = withheld_command(c);
    }
}

/// Takes `stored` when `incoming` is `stored` as it is shown withheld (and not already equal).
fn keep_stored<T: Clone + PartialEq>(incoming: &mut T, stored: &T, withhold: impl Fn(&mut T)) {
    if incoming == stored {
        return;
    }
    let mut shown = stored.clone();
    withhold(&mut shown);
    if *incoming == shown {
        *incoming = stored.clone();
    }
}

fn command_withheld(command: &Option<Vec<String>>) -> bool {
    command
        .as_ref()
        .is_some_and(|c| c.iter().skip(1).any(|a| a == WITHHELD))
}

fn url_withheld(url: &Option<String>) -> bool {
    url.as_ref()
        .is_some_and(|u| u == WITHHELD || u.ends_with(&format!("/{WITHHELD}")))
}

impl Withhold for Auth {
    fn withhold(&mut self) {
        if self.password.is_some() {
            self.password = Some(WITHHELD.into());
        }
    }
}

impl Withhold for HealthCheck {
    fn withhold(&mut self) {
        withhold_command(&mut self.command);
    }
}

impl Withhold for Track {
    fn withhold(&mut self) {
        withhold_command(&mut self.script);
    }
}

impl Withhold for Notify {
    fn withhold(&mut self) {
        withhold_command(&mut self.script);
        if let Some(url) = &mut self.webhook {
            *url = withheld_url(url);
        }
    }
}

impl Withhold for RealServer {
    fn withhold(&mut self) {
        self.health_check.withhold();
    }
}

impl Withhold for VirtualServer {
    fn withhold(&mut self) {
        self.health_check.withhold();
        self.real_servers.withhold();
    }
}

impl Withhold for VrrpGroup {
    fn withhold(&mut self) {
        self.auth.withhold();
        self.track.withhold();
        self.notify.withhold();
    }
}

impl HealthCheck {
    fn restore_withheld(&mut self, stored: &HealthCheck) {
        keep_stored(&mut self.command, &stored.command, withhold_command);
    }
}

impl RealServer {
    /// Where this real server carries a secret of `stored` as it is shown withheld, takes the stored one.
    pub fn restore_withheld(&mut self, stored: &RealServer) {
        if let (Some(h), Some(s)) = (&mut self.health_check, &stored.health_check) {
            h.restore_withheld(s);
        }
    }

    /// The first field still holding [`WITHHELD`] where a secret goes.
    pub fn withheld_field(&self) -> Option<String> {
        self.health_check
            .as_ref()
            .filter(|h| command_withheld(&h.command))
            .map(|_| "health_check.command".to_string())
    }
}

impl VirtualServer {
    /// Where this virtual server (or one of its real servers, matched by address and port) carries a secret
    /// of `stored` as it is shown withheld, takes the stored one.
    pub fn restore_withheld(&mut self, stored: &VirtualServer) {
        if let (Some(h), Some(s)) = (&mut self.health_check, &stored.health_check) {
            h.restore_withheld(s);
        }
        for rs in &mut self.real_servers {
            if let Some(old) = stored.real_server(&rs.key()) {
                rs.restore_withheld(old);
            }
        }
    }

    /// The first field still holding [`WITHHELD`] where a secret goes.
    pub fn withheld_field(&self) -> Option<String> {
        if self
            .health_check
            .as_ref()
            .is_some_and(|h| command_withheld(&h.command))
        {
            return Some("health_check.command".into());
        }
        self.real_servers.iter().enumerate().find_map(|(i, rs)| {
            rs.withheld_field()
                .map(|f| format!("real_servers[{i}].{f}"))
        })
    }
}

impl VrrpGroup {
    /// Where this group carries a secret of `stored` as it is shown withheld, takes the stored one: the
    /// password, a track's script (matched with any of the stored tracks' scripts), the notify script and
    /// webhook.
    pub fn restore_withheld(&mut self, stored: &VrrpGroup) {
        keep_stored(&mut self.auth, &stored.auth, Withhold::withhold);
        for t in &mut self.track {
            if let Some(s) = stored
                .track
                .iter()
                .find(|s| s.script.is_some() && s.withheld().script == t.script)
            {
                t.script.clone_from(&s.script);
            }
        }
        if let (Some(n), Some(s)) = (&mut self.notify, &stored.notify) {
            keep_stored(&mut n.script, &s.script, withhold_command);
            keep_stored(&mut n.webhook, &s.webhook, |w| {
                if let Some(url) = w {
                    *url = withheld_url(url);
                }
            });
        }
    }

    /// The first field still holding [`WITHHELD`] where a secret goes.
    pub fn withheld_field(&self) -> Option<String> {
        if self
            .auth
            .as_ref()
            .is_some_and(|a| a.password.as_deref() == Some(WITHHELD))
        {
            return Some("auth.password".into());
        }
        if let Some(i) = self.track.iter().position(|t| command_withheld(&t.script)) {
            return Some(format!("track[{i}].script"));
        }
        let notify = self.notify.as_ref();
        if notify.is_some_and(|n| command_withheld(&n.script)) {
            return Some("notify.script".into());
        }
        if notify.is_some_and(|n| url_withheld(&n.webhook)) {
            return Some("notify.webhook".into());
        }
        None
    }
}

/// Withholds the secrets of an audit entry's `before` or `after` (the changed top-level fields of an object of
/// `kind`, or all of them), field by field with the types' own [`Withhold`]. A secret-bearing field that does
/// not read as its type is withheld whole.
pub fn withhold_audit(kind: &str, value: &mut Value) {
    let Value::Object(fields) = value else {
        return;
    };
    match kind {
        "vrrp_group" => {
            withhold_field::<Option<Auth>>(fields, "auth");
            withhold_field::<Vec<Track>>(fields, "track");
            withhold_field::<Option<Notify>>(fields, "notify");
        }
        "virtual_server" | "real_server" => {
            withhold_field::<Option<HealthCheck>>(fields, "health_check");
        }
        _ => {}
    }
}

fn withhold_field<T>(fields: &mut Map<String, Value>, key: &str)
where
    T: Withhold + PartialEq + Serialize + DeserializeOwned,
{
    let Some(value) = fields.get_mut(key) else {
        return;
    };
    let Ok(typed) = serde_json::from_value::<T>(value.clone()) else {
        *value = Value::String(WITHHELD.into());
        return;
    };
    let shown = typed.withheld();
    if shown != typed {
        *value = serde_json::to_value(shown).unwrap_or_else(|_| Value::String(WITHHELD.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group() -> VrrpGroup {
        serde_json::from_value(json!({
            "name": "vi-1", "vrid": 51, "virtual_addresses": ["192.168.10.180/32"], "interface": "eth0",
            "auth": {"type": "pass", "password": "s3cret"},
            "track": [{"interface": "eth1", "weight": -30},
                      {"script": ["/usr/bin/check", "--token", "t0ken"], "weight": -20}],
            "notify": {"webhook": "https://hooks.example.com/services/T0/B0/key", "script": ["/bin/notify", "pw"]}
        }))
        .unwrap()
    }

    fn virtual_server() -> VirtualServer {
        serde_json::from_value(json!({
            "name": "db", "protocol": "tcp", "address": "10.0.0.1", "port": 3306,
            "health_check": {"type": "script", "command": ["/usr/lib/check_mysql", "-p", "dbpass"]},
            "real_servers": [
                {"address": "10.0.1.1", "port": 3306},
                {"address": "10.0.1.2", "port": 3306,
                 "health_check": {"type": "script", "command": ["/usr/lib/check_mysql", "-p", "other"]}}
            ]
        }))
        .unwrap()
    }

    fn text(v: &impl Serialize) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn admins_see_everything_others_see_no_secret() {
        assert_eq!(Visibility::of(Role::Admin), Visibility::Full);
        assert_eq!(Visibility::of(Role::Operator), Visibility::Redacted);
        assert_eq!(Visibility::of(Role::Viewer), Visibility::Redacted);

        let g = group();
        assert!(matches!(g.visible(Visibility::Full), Cow::Borrowed(b) if *b == g));
        let shown = g.visible(Visibility::Redacted);
        assert_eq!(
            shown.auth.as_ref().unwrap().password.as_deref(),
            Some("***")
        );
        assert_eq!(
            shown.track[0], g.track[0],
            "a track without a script is as it is"
        );
        assert_eq!(
            shown.track[1].script.as_deref().unwrap(),
            ["/usr/bin/check", "***", "***"]
        );
        let n = shown.notify.as_ref().unwrap();
        assert_eq!(n.webhook.as_deref(), Some("https://hooks.example.com/***"));
        assert_eq!(n.script.as_deref().unwrap(), ["/bin/notify", "***"]);
        for secret in ["s3cret", "t0ken", "key", "pw\""] {
            assert!(
                !text(&*shown).contains(secret),
                "{secret} in {}",
                text(&*shown)
            );
        }
        // Everything else is as declared.
        let mut back = shown.into_owned();
        back.restore_withheld(&g);
        assert_eq!(back, g);

        let vs = virtual_server();
        let shown = vs.withheld();
        assert_eq!(
            shown
                .health_check
                .as_ref()
                .unwrap()
                .command
                .as_deref()
                .unwrap(),
            ["/usr/lib/check_mysql", "***", "***"]
        );
        assert!(!text(&shown).contains("dbpass") && !text(&shown).contains("other"));
        assert_eq!(shown.real_servers[0], vs.real_servers[0]);
    }

    #[test]
    fn nothing_to_withhold_is_left_alone() {
        let mut g = group();
        g.auth = None;
        g.track.truncate(1);
        g.notify = None;
        assert_eq!(g.withheld(), g);
        let mut none = g.clone();
        none.auth = Some(Auth {
            kind: crate::model::AuthType::None,
            password: None,
        });
        assert_eq!(none.withheld(), none);
        assert_eq!(withheld_url("http://10.0.0.1:9000"), "http://10.0.0.1:9000");
        assert_eq!(
            withheld_url("http://10.0.0.1:9000/"),
            "http://10.0.0.1:9000/"
        );
        assert_eq!(
            withheld_url("https://user:pw@h.example.com:8443"),
            "https://h.example.com:8443/***"
        );
        assert_eq!(withheld_url("https://h?token=x"), "https://h/***");
        assert_eq!(withheld_url("not a url"), "***");
        assert_eq!(withheld_command(&["/bin/true".into()]), ["/bin/true"]);
    }

    #[test]
    fn writing_back_what_was_shown_keeps_the_secrets() {
        let stored = group();
        let mut g = stored.withheld();
        g.priority = 120;
        g.track.reverse();
        g.restore_withheld(&stored);
        assert_eq!(g.withheld_field(), None);
        assert_eq!(g.auth, stored.auth);
        assert_eq!(g.track[0].script, stored.track[1].script);
        assert_eq!(g.notify, stored.notify);
        assert_eq!(g.priority, 120);

        // A new secret replaces the old one.
        let mut g = stored.withheld();
        g.auth.as_mut().unwrap().password = Some("n3w".into());
        g.restore_withheld(&stored);
        assert_eq!(g.auth.unwrap().password.as_deref(), Some("n3w"));

        // A changed script is taken as sent: its withheld arguments have nothing to stand for.
        let mut g = stored.withheld();
        g.track[1].script = Some(vec!["/usr/bin/other".into(), "***".into(), "***".into()]);
        g.restore_withheld(&stored);
        assert_eq!(g.withheld_field().as_deref(), Some("track[1].script"));

        // "***" with nothing stored is refused, field by field.
        let mut bare = stored.clone();
        bare.auth = None;
        bare.track.clear();
        bare.notify = None;
        let mut g = stored.withheld();
        g.restore_withheld(&bare);
        assert_eq!(g.withheld_field().as_deref(), Some("auth.password"));
        g.auth = None;
        assert_eq!(g.withheld_field().as_deref(), Some("track[1].script"));
        g.track.clear();
        assert_eq!(g.withheld_field().as_deref(), Some("notify.script"));
        g.notify.as_mut().unwrap().script = None;
        assert_eq!(g.withheld_field().as_deref(), Some("notify.webhook"));
        g.notify = None;
        assert_eq!(g.withheld_field(), None);

        let stored = virtual_server();
        let mut vs = stored.withheld();
        vs.real_servers.reverse();
        vs.real_servers[0].weight = 7;
        vs.restore_withheld(&stored);
        assert_eq!(vs.withheld_field(), None);
        assert_eq!(vs.health_check, stored.health_check);
        assert_eq!(
            vs.real_servers[0].health_check,
            stored.real_servers[1].health_check
        );
        let mut vs = stored.withheld();
        vs.real_servers[1].address = "10.0.1.3".parse().unwrap();
        vs.restore_withheld(&stored);
        assert_eq!(
            vs.withheld_field().as_deref(),
            Some("real_servers[1].health_check.command")
        );
        let mut rs = stored.real_servers[1].withheld();
        rs.restore_withheld(&stored.real_servers[1]);
        assert_eq!(rs, stored.real_servers[1]);
        assert_eq!(rs.withheld_field(), None);
    }

    #[test]
    fn audit_json_is_withheld_as_the_objects_are() {
        // Whole objects (a create or a delete): the same as the typed value withheld.
        let g = group();
        let mut v = serde_json::to_value(&g).unwrap();
        withhold_audit("vrrp_group", &mut v);
        assert_eq!(v, serde_json::to_value(g.withheld()).unwrap());

        let vs = virtual_server();
        let mut own = serde_json::to_value(&vs).unwrap();
        own.as_object_mut().unwrap().remove("real_servers");
        withhold_audit("virtual_server", &mut own);
        let mut expected = serde_json::to_value(vs.withheld()).unwrap();
        expected.as_object_mut().unwrap().remove("real_servers");
        assert_eq!(own, expected);

        let rs = &vs.real_servers[1];
        let mut v = serde_json::to_value(rs).unwrap();
        withhold_audit("real_server", &mut v);
        assert_eq!(v, serde_json::to_value(rs.withheld()).unwrap());

        // The changed fields of an update.
        let mut changed = json!({"auth": {"type": "pass", "password": "s3cret"}, "priority": 100});
        withhold_audit("vrrp_group", &mut changed);
        assert_eq!(
            changed,
            json!({"auth": {"type": "pass", "password": "***"}, "priority": 100})
        );
        // Unchanged where nothing is secret (no defaults filled in), other kinds untouched.
        let mut plain = json!({"health_check": {"type": "tcp"}, "weight": 5});
        withhold_audit("real_server", &mut plain);
        assert_eq!(plain, json!({"health_check": {"type": "tcp"}, "weight": 5}));
        let mut user = json!({"name": "bob", "role": "viewer"});
        withhold_audit("user", &mut user);
        assert_eq!(user, json!({"name": "bob", "role": "viewer"}));
        // What does not read as its type is withheld whole.
        let mut odd = json!({"auth": {"kind": "pass", "pw": "s3cret"}});
        withhold_audit("vrrp_group", &mut odd);
        assert_eq!(odd, json!({"auth": "***"}));
    }
}
