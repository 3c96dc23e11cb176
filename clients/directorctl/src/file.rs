//! Reading a YAML or JSON file (JSON is YAML) into JSON values while remembering where each field was, so
//! that any error that names a field (`virtual_servers[0].real_servers[1].weight`) can point at its line
//! and column.

use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::Yaml;

/// A place in the file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl From<Marker> for Position {
    fn from(m: Marker) -> Self {
        Position {
            line: m.line(),
            column: m.col() + 1,
        }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// What cannot be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: Position,
    pub message: String,
}

/// The document and where each of its values (by JSON path) starts.
#[derive(Debug, Default)]
pub struct Document {
    pub value: Value,
    places: HashMap<String, Position>,
}

impl Document {
    /// Where `path` is, or the closest enclosing value that has a place.
    pub fn locate(&self, path: &str) -> Option<Position> {
        let mut path = path.to_string();
        loop {
            if let Some(p) = self.places.get(&path) {
                return Some(*p);
            }
            let cut = path.rfind(['.', '['])?;
            path.truncate(cut);
        }
    }
}

/// Parses one YAML (or JSON) document.
pub fn parse(text: &str) -> Result<Document, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| SyntaxError {
        at: (*e.marker()).into(),
        message: e.info().to_string(),
    })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    match builder.documents {
        0 => Err(SyntaxError {
            at: Position { line: 1, column: 1 },
            message: "the file is empty".into(),
        }),
        1 => Ok(Document {
            value: builder.root.unwrap_or(Value::Null),
            places: builder.places,
        }),
        _ => Err(SyntaxError {
            at: builder
                .second_document
                .unwrap_or(Position { line: 1, column: 1 }),
            message:
                "one document per file: put every object under `vrrp_groups` and `virtual_servers`"
                    .into(),
        }),
    }
}

enum Frame {
    Sequence {
        path: String,
        items: Vec<Value>,
        anchor: usize,
    },
    Mapping {
        path: String,
        entries: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
        /// An item of a sequence: it is placed at its first key (the parser marks block mappings after it).
        placed_by_first_key: bool,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    places: HashMap<String, Position>,
    anchors: HashMap<usize, Value>,
    documents: usize,
    second_document: Option<Position>,
    error: Option<SyntaxError>,
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Builder {
    fn fail(&mut self, at: Marker, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                at: at.into(),
                message: message.into(),
            });
        }
    }

    /// The path of the next value, and records where it starts (sequence items; mapping values are placed
    /// at their key).
    fn next_path(&mut self, at: Marker) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Sequence { path, items, .. }) => {
                let p = format!("{path}[{}]", items.len());
                self.places.entry(p.clone()).or_insert(at.into());
                p
            }
            Some(Frame::Mapping { path, key, .. }) => child(path, key.as_deref().unwrap_or("")),
        }
    }

    /// Puts a finished value in its parent.
    fn put(&mut self, value: Value, anchor: usize, at: Marker) {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping { entries, key, .. }) => match key.take() {
                Some(k) => {
                    entries.insert(k, value);
                }
                None => self.fail(at, "a mapping key must be text"),
            },
        }
    }

    /// Takes a scalar as the key of the current mapping, if one is expected.
    fn take_key(&mut self, text: &str, at: Marker) -> bool {
        let Some(Frame::Mapping {
            path,
            entries,
            key,
            placed_by_first_key,
            ..
        }) = self.stack.last_mut()
        else {
            return false;
        };
        if key.is_some() {
            return false;
        }
        if entries.contains_key(text) {
            let message = format!("the key `{text}` appears twice");
            self.fail(at, message);
            return true;
        }
        if entries.is_empty() && *placed_by_first_key {
            self.places.insert(path.clone(), at.into());
        }
        let p = child(path, text);
        *key = Some(text.to_string());
        self.places.insert(p, at.into());
        true
    }
}

fn scalar(text: &str, style: TScalarStyle, explicit_string: bool) -> Value {
    if style != TScalarStyle::Plain || explicit_string {
        return Value::String(text.to_string());
    }
    match Yaml::from_str(text) {
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(r), Value::Number),
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Null => Value::Null,
        _ => Value::String(text.to_string()),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, at: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents == 2 {
                    self.second_document = Some(at.into());
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.take_key(&text, at) {
                    if anchor != 0 {
                        self.fail(at, "anchors on keys are not supported");
                    }
                    return;
                }
                let _ = self.next_path(at);
                let explicit_string = tag.is_some_and(|t| t.suffix == "str");
                self.put(scalar(&text, style, explicit_string), anchor, at);
            }
            Event::SequenceStart(anchor, _) => {
                if matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. })) {
                    return self.fail(at, "a mapping key must be text");
                }
                let path = self.next_path(at);
                self.stack.push(Frame::Sequence {
                    path,
                    items: Vec::new(),
                    anchor,
                });
            }
            Event::MappingStart(anchor, _) => {
                if matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. })) {
                    return self.fail(at, "a mapping key must be text");
                }
                let in_sequence = matches!(self.stack.last(), Some(Frame::Sequence { .. }));
                let path = self.next_path(at);
                self.places.entry(path.clone()).or_insert(at.into());
                self.stack.push(Frame::Mapping {
                    path,
                    entries: Map::new(),
                    key: None,
                    anchor,
                    placed_by_first_key: in_sequence || self.stack.is_empty(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Sequence { items, anchor, .. }) => {
                    self.put(Value::Array(items), anchor, at)
                }
                Some(Frame::Mapping {
                    entries, anchor, ..
                }) => self.put(Value::Object(entries), anchor, at),
                None => self.fail(at, "unbalanced document"),
            },
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(value) => {
                    if matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. })) {
                        return self.fail(at, "aliases as keys are not supported");
                    }
                    let _ = self.next_path(at);
                    self.put(value, 0, at);
                }
                None => self.fail(at, "an alias to an unknown anchor"),
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_becomes_json_with_places() {
        let text = "\
virtual_servers:
  - name: web
    port: 80
    enabled: true
    address: \"10.0.0.1\"
    real_servers:
      - {address: 10.0.0.2, port: 80, weight: 0}
      - address: 10.0.0.3
        port: 80
";
        let doc = parse(text).expect("parses");
        assert_eq!(
            doc.value,
            json!({"virtual_servers": [{"name": "web", "port": 80, "enabled": true, "address": "10.0.0.1",
                "real_servers": [{"address": "10.0.0.2", "port": 80, "weight": 0},
                                 {"address": "10.0.0.3", "port": 80}]}]})
        );
        let at = |p: &str| doc.locate(p).map(|p| (p.line, p.column));
        assert_eq!(at("virtual_servers[0].port"), Some((3, 5)));
        assert_eq!(
            at("virtual_servers[0].real_servers[0].weight"),
            Some((7, 39))
        );
        assert_eq!(at("virtual_servers[0].real_servers[1].port"), Some((9, 9)));
        // A field that is not there is placed at its object.
        assert_eq!(
            at("virtual_servers[0].real_servers[1].weight"),
            Some((8, 9))
        );
        assert_eq!(at("virtual_servers[0]"), Some((2, 5)));
    }

    #[test]
    fn json_is_read_too() {
        let doc = parse("{\"virtual_servers\": [\n  {\"name\": \"web\", \"port\": 80}\n]}")
            .expect("parses");
        assert_eq!(doc.value["virtual_servers"][0]["port"], 80);
        assert_eq!(
            doc.locate("virtual_servers[0].port").map(|p| p.line),
            Some(2)
        );
    }

    #[test]
    fn anchors_are_copied() {
        let doc = parse("a: &x {port: 80}\nb: *x\n").expect("parses");
        assert_eq!(doc.value, json!({"a": {"port": 80}, "b": {"port": 80}}));
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let e = parse("virtual_servers:\n  - name: web\n   port: 80\n").unwrap_err();
        assert_eq!(e.at.line, 3, "{e:?}");
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(
            (e.at.line, e.message.as_str()),
            (2, "the key `a` appears twice")
        );
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.at.line, 2);
        assert!(parse("").is_err());
        let e = parse("{\"a\": [1, 2}\n").unwrap_err();
        assert_eq!(e.at.line, 1);
    }
}
