//! Posted forms (pure): reading `application/x-www-form-urlencoded` fields, what a form shows again after an
//! error (the values typed, an error next to each field), and placing the service's errors, whose `field` is
//! a JSON path such as `real_servers[1].weight`, next to the input of that name. Inputs are named after the
//! JSON path they fill, so the mapping is the identity wherever the form has the field, but for rows of lists
//! (blank rows are skipped, so `members[1]` may be the third row: [`RowMap`]). [`read`] and [`refused`] are
//! what every object form does with a post: build its JSON, read it as the model does, and put either's
//! errors next to their inputs in the form as typed.

use director_service::ServiceError;
use serde_json::Value;
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

    /// How many rows of `list` the form had (`members[3].node` makes 4), at most `max`.
    pub fn rows(&self, list: &str, max: usize) -> usize {
        self.0
            .iter()
            .filter_map(|(k, _)| k.strip_prefix(list)?.strip_prefix('[')?.split_once(']'))
            .filter_map(|(i, _)| i.parse::<usize>().ok())
            .filter(|i| *i < max)
            .map(|i| i + 1)
            .max()
            .unwrap_or(0)
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

/// Which row of the form each element of a JSON list came from (blank rows are skipped), so that an error
/// about `members[1].priority` lands on the row it was typed in.
#[derive(Debug, Default, Clone)]
pub struct RowMap {
    lists: Vec<(String, Vec<usize>)>,
    /// Fields of a list's elements that one input of the row fills: (list, fields, input).
    shared: Vec<(String, Vec<String>, String)>,
}

impl RowMap {
    /// Says that the input `input` of each row of `list` fills whichever of `fields` the row makes (a track's
    /// target is its `virtual_server`, `interface` or `script`, as the row's kind says).
    pub fn shared_input(&mut self, list: &str, fields: &[&str], input: &str) {
        self.shared.push((
            list.to_string(),
            fields.iter().map(|f| f.to_string()).collect(),
            input.to_string(),
        ));
    }

    /// Records that the next element of `list` came from form row `row`.
    pub fn push(&mut self, list: &str, row: usize) {
        match self.lists.iter_mut().find(|(l, _)| l == list) {
            Some((_, rows)) => rows.push(row),
            None => self.lists.push((list.to_string(), vec![row])),
        }
    }

    /// The input an error about `field` (a JSON path) belongs to.
    pub fn form_field(&self, field: &str) -> String {
        for (list, rows) in &self.lists {
            let Some(rest) = field
                .strip_prefix(list.as_str())
                .and_then(|r| r.strip_prefix('['))
            else {
                continue;
            };
            if let Some((index, tail)) = rest.split_once(']') {
                if let Some(row) = index.parse::<usize>().ok().and_then(|i| rows.get(i)) {
                    let tail = self.input_of(list, tail);
                    return format!("{list}[{row}]{tail}");
                }
            }
        }
        field.to_string()
    }

    /// `.script[0]` of a track is the input `.target`.
    fn input_of(&self, list: &str, tail: &str) -> String {
        for (l, fields, input) in &self.shared {
            if l != list {
                continue;
            }
            for f in fields {
                if let Some(rest) = tail
                    .strip_prefix('.')
                    .and_then(|t| t.strip_prefix(f.as_str()))
                {
                    if rest.is_empty() || rest.starts_with(['.', '[']) {
                        return format!(".{input}");
                    }
                }
            }
        }
        tail.to_string()
    }
}

/// A form turned into the JSON of an object, and where its list elements came from.
#[derive(Debug)]
pub struct Parsed {
    pub json: Value,
    pub rows: RowMap,
}

/// The posted form as it is shown again: what was typed, without the CSRF token.
pub fn typed(fields: &Fields) -> FormState {
    let mut state = FormState::new(fields.clone());
    state.fields.remove(super::csrf::FIELD);
    state
}

/// Reads a posted form into the object the service takes: `built` is the form's JSON (or the errors of
/// its inputs), `decode` reads it as the model does (`director_service::parse::from_json`). Either's
/// errors land on the inputs of `inputs`, in the form as typed.
pub fn read<T>(
    fields: &Fields,
    inputs: &[String],
    built: Result<Parsed, Vec<FieldError>>,
    decode: impl FnOnce(Value) -> Result<T, ServiceError>,
) -> Result<(T, RowMap), FormState> {
    let mut state = typed(fields);
    match built {
        Err(errors) => {
            for e in errors {
                state.add(e, inputs);
            }
            Err(state)
        }
        Ok(parsed) => match decode(parsed.json) {
            Ok(object) => Ok((object, parsed.rows)),
            Err(e) => {
                if let Some(fe) = field_error(&e) {
                    state.add(
                        FieldError {
                            field: parsed.rows.form_field(&fe.field),
                            message: fe.message,
                        },
                        inputs,
                    );
                }
                Err(state)
            }
        },
    }
}

/// The form as typed with the service's refusal next to its input, or the error itself when it is not
/// about the input (not found, forbidden...).
pub fn refused(
    e: ServiceError,
    fields: &Fields,
    rows: &RowMap,
    inputs: &[String],
) -> Result<FormState, ServiceError> {
    match field_error(&e) {
        Some(fe) => {
            let mut state = typed(fields);
            state.add(
                FieldError {
                    field: rows.form_field(&fe.field),
                    message: fe.message,
                },
                inputs,
            );
            Ok(state)
        }
        None => Err(e),
    }
}

/// A command typed as words separated by spaces: the stored command when the text is the stored words
/// joined (so that stored quoting survives an edit), else the words typed; `None` when empty.
pub fn command(typed: &str, stored: Option<&Value>) -> Option<Value> {
    if typed.is_empty() {
        return None;
    }
    let stored_same = stored
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .is_some_and(|joined| joined == typed);
    if stored_same {
        return stored.cloned();
    }
    Some(Value::Array(
        typed
            .split_whitespace()
            .map(|a| Value::String(a.to_string()))
            .collect(),
    ))
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

/// A number as typed, for the service to read and refuse as REST does (naming the field): a whole number as
/// a number, anything else as text; `None` when empty.
pub fn as_typed(text: &str) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    Some(
        text.parse::<i64>()
            .map_or_else(|_| Value::String(text.to_string()), Value::from),
    )
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
        let f = Fields::parse(
            b"members%5B0%5D.node=a&members%5B3%5D.node=&track%5B99%5D.weight=1&members=x",
        );
        assert_eq!((f.rows("members", 10), f.rows("track", 10)), (4, 0));
        assert_eq!(f.rows("other", 10), 0);
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
    fn errors_about_list_elements_land_on_the_row_they_were_typed_in() {
        let mut rows = RowMap::default();
        rows.push("members", 0);
        rows.push("members", 3);
        rows.push("track", 2);
        rows.shared_input(
            "track",
            &["virtual_server", "interface", "script"],
            "target",
        );
        assert_eq!(
            rows.form_field("members[1].priority"),
            "members[3].priority"
        );
        assert_eq!(rows.form_field("members[0]"), "members[0]");
        assert_eq!(rows.form_field("members[5].node"), "members[5].node");
        assert_eq!(rows.form_field("track[0].script[1]"), "track[2].target");
        assert_eq!(rows.form_field("track[0].interface"), "track[2].target");
        assert_eq!(rows.form_field("track[0].weight"), "track[2].weight");
        assert_eq!(rows.form_field("interface"), "interface");
    }

    #[test]
    fn a_command_keeps_its_stored_words_unless_it_changes() {
        let stored = serde_json::json!(["/bin/sh", "-c", "pidof haproxy"]);
        assert_eq!(
            command("/bin/sh -c pidof haproxy", Some(&stored)),
            Some(stored.clone())
        );
        assert_eq!(
            command("/bin/check  -p 80", Some(&stored)),
            Some(serde_json::json!(["/bin/check", "-p", "80"]))
        );
        assert_eq!(command("", Some(&stored)), None);
    }

    #[test]
    fn numbers_go_to_the_service_as_typed() {
        assert_eq!(as_typed("7"), Some(serde_json::json!(7)));
        assert_eq!(as_typed("-1"), Some(serde_json::json!(-1)));
        assert_eq!(as_typed("x"), Some(serde_json::json!("x")));
        assert_eq!(as_typed(""), None);
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
