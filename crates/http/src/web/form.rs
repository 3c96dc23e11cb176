//! Posted forms (pure): reading `application/x-www-form-urlencoded` fields, what a form shows again after an
//! error (the values typed, an error next to each field), and placing the service's errors, whose `field` is
//! a JSON path such as `real_servers[1].weight`, next to the input of that name. Inputs are named after the
//! JSON path they fill, so the mapping is the identity wherever the form has the field.

use director_service::ServiceError;
use std::collections::BTreeMap;

/// The fields of a form (or a query string), in order; a name may repeat (checkboxes).
#[derive(Debug, Default, Clone)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Fields(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The first value of `name`, as sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).map_or("", str::trim)
    }

    /// Every value of `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a checkbox named `name` was ticked.
    pub fn ticked(&self, name: &str) -> bool {
        self.all(name)
            .any(|v| !matches!(v.trim(), "" | "false" | "off" | "0"))
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| k != name);
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// One error of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The input it belongs to (empty: the form as a whole).
    pub field: String,
    pub message: String,
}

/// A form as it is shown: the values (typed, or the object's) and the errors.
#[derive(Debug, Default, Clone)]
pub struct FormState {
    pub fields: Fields,
    pub errors: Vec<FieldError>,
}

impl FormState {
    pub fn new(fields: Fields) -> Self {
        FormState {
            fields,
            errors: Vec::new(),
        }
    }

    /// The value to show in the input `name`.
    pub fn v(&self, name: &str) -> &str {
        self.fields.get(name).unwrap_or("")
    }

    pub fn checked(&self, name: &str) -> bool {
        self.fields.ticked(name)
    }

    /// Whether `value` is (one of) the value(s) of `name`: for options and checkbox groups.
    pub fn is(&self, name: &str, value: &str) -> bool {
        self.fields.all(name).any(|v| v == value)
    }

    /// The error of the input `name`.
    pub fn err(&self, name: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| e.message.as_str())
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The HTML id of the input `name`.
    pub fn id(&self, name: &str) -> String {
        input_id(name)
    }

    /// Adds `error`, moved to the closest input the form has (see [`place`]).
    pub fn add(&mut self, error: FieldError, inputs: &[String]) {
        let field = place(&error.field, inputs);
        self.errors.push(FieldError {
            field,
            message: error.message,
        });
    }
}

/// The URL of a filtered list: `path` with the filters of `names` that `f` has, and the page's `cursor`.
pub fn filter_link(path: &str, names: &[&str], f: &Fields, cursor: Option<&str>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for name in names {
        let v = f.text(name);
        if !v.is_empty() {
            s.append_pair(name, v);
        }
    }
    if let Some(c) = cursor {
        s.append_pair("cursor", c);
    }
    let qs = s.finish();
    if qs.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{qs}")
    }
}

/// `f-real_servers-0--address` for `real_servers[0].address`: ids that need no escaping anywhere.
pub fn input_id(name: &str) -> String {
    let mut id = String::with_capacity(name.len() + 2);
    id.push_str("f-");
    for c in name.chars() {
        id.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        });
    }
    id
}

/// The input of `inputs` an error about `field` belongs to: the field itself; else its closest enclosing
/// path that is an input (`health_check.command[0]` -> `health_check.command`); else the first input
/// inside it (`sorry_server` -> `sorry_server.address`); else none (empty: shown above the form).
pub fn place(field: &str, inputs: &[String]) -> String {
    if field.is_empty() {
        return String::new();
    }
    let mut path = field;
    loop {
        if inputs.iter().any(|i| i == path) {
            return path.to_string();
        }
        match path.rfind(['.', '[']) {
            Some(cut) if cut > 0 => path = &path[..cut],
            _ => break,
        }
    }
    inputs
        .iter()
        .find(|i| {
            i.strip_prefix(field)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
        .cloned()
        .unwrap_or_default()
}

/// The field and the message of a service error that is about the input (invalid, conflicting or unreadable
/// input), if it is one.
pub fn field_error(e: &ServiceError) -> Option<FieldError> {
    match e {
        ServiceError::Invalid { field, message }
        | ServiceError::BadRequest { field, message }
        | ServiceError::Conflict { field, message } => Some(FieldError {
            field: field.clone(),
            message: message.clone(),
        }),
        ServiceError::Stale { .. } => Some(FieldError {
            field: String::new(),
            message: e.to_string(),
        }),
        _ => None,
    }
}

/// Reads optional whole numbers, collecting an error per unreadable field.
#[derive(Debug, Default)]
pub struct Numbers {
    pub errors: Vec<FieldError>,
}

impl Numbers {
    /// `None` when the field is empty.
    pub fn opt(&mut self, fields: &Fields, name: &str) -> Option<u64> {
        let text = fields.text(name);
        if text.is_empty() {
            return None;
        }
        match text.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.errors.push(FieldError {
                    field: name.to_string(),
                    message: format!("{text:?} is not a whole number"),
                });
                None
            }
        }
    }
}

/// Ordered errors by field, for tests and summaries.
pub fn by_field(errors: &[FieldError]) -> BTreeMap<&str, &str> {
    errors
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fields_keep_order_and_repeats() {
        let f = Fields::parse(b"a=1&flag=x&flag=y&b=+two+&c=&t=on");
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.text("b"), "two");
        assert_eq!(f.all("flag").collect::<Vec<_>>(), ["x", "y"]);
        assert!(f.ticked("t") && !f.ticked("c"));
        assert!(!f.ticked("missing"));
        assert_eq!(f.text("missing"), "");
    }

    #[test]
    fn errors_land_on_the_closest_input() {
        let names = inputs(&[
            "name",
            "port",
            "health_check.command",
            "sorry_server.address",
            "sorry_server.port",
            "real_servers[1].address",
            "real_servers[1].weight",
        ]);
        assert_eq!(place("port", &names), "port");
        assert_eq!(
            place("health_check.command[0]", &names),
            "health_check.command"
        );
        assert_eq!(place("sorry_server", &names), "sorry_server.address");
        assert_eq!(place("real_servers[1]", &names), "real_servers[1].address");
        assert_eq!(
            place("real_servers[1].weight", &names),
            "real_servers[1].weight"
        );
        assert_eq!(place("real_servers[10].weight", &names), "");
        assert_eq!(place("scheduler_flags[0]", &names), "");
        assert_eq!(place("", &names), "");
    }

    #[test]
    fn ids_are_plain() {
        assert_eq!(
            input_id("real_servers[0].address"),
            "f-real_servers-0--address"
        );
        assert_eq!(input_id("name"), "f-name");
    }

    #[test]
    fn numbers_report_the_field() {
        let f = Fields::parse(b"port=80&weight=abc&empty=");
        let mut n = Numbers::default();
        assert_eq!(n.opt(&f, "port"), Some(80));
        assert_eq!(n.opt(&f, "weight"), None);
        assert_eq!(n.opt(&f, "empty"), None);
        assert_eq!(
            by_field(&n.errors),
            BTreeMap::from([("weight", "\"abc\" is not a whole number")])
        );
    }

    #[test]
    fn a_form_shows_what_was_typed() {
        let mut s = FormState::new(Fields::parse(
            b"port=70000&scheduler_flags=sh-port&enabled=on",
        ));
        s.add(
            FieldError {
                field: "port".into(),
                message: "must be between 0 and 65535".into(),
            },
            &inputs(&["port"]),
        );
        assert_eq!(s.v("port"), "70000");
        assert_eq!(s.err("port"), Some("must be between 0 and 65535"));
        assert!(s.is("scheduler_flags", "sh-port") && !s.is("scheduler_flags", "sh-fallback"));
        assert!(s.checked("enabled"));
        assert_eq!(s.id("port"), "f-port");
    }
}
