//! YAML loaded the way Ansible loads it (PyYAML's YAML 1.1 resolver):
//! `yes/no/on/off` are booleans, `0644` is octal, `1:20` is sexagesimal,
//! `1e3` stays a string, merge keys `<<` apply, anchors and aliases work,
//! `!unsafe` and `!vault` are kept as tagged values. Every node carries
//! its line and column so later errors can point at the source. It also
//! writes YAML as Ansible's `to_yaml`/`to_nice_yaml` do ([`dump`]).

mod dump;

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Ansible's JSON encoding of `!unsafe` text: never templated.
pub const UNSAFE_KEY: &str = "__ansible_unsafe";
/// `!vault` text: decrypted only at run time (see the format crate).
pub use rustle_format::VAULT_KEY;

pub use dump::{DumpOptions, dump};

/// A position in a YAML file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A tagged scalar kept as is (`!unsafe`, `!vault`): the JSON key and text.
    Tagged(&'static str, String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub mark: Mark,
}

#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub mark: Mark,
    pub msg: String,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        self.kind == Kind::Null
    }

    /// A short name of the node's type for error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) | Kind::Float(_) => "a number",
            Kind::Str(_) | Kind::Tagged(..) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// The key as a string, as Python would print a non-string key.
    pub fn key_string(&self) -> String {
        match &self.kind {
            Kind::Str(s) | Kind::Tagged(_, s) => s.clone(),
            Kind::Null => "None".to_owned(),
            Kind::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
            _ => self.to_json().to_string(),
        }
    }

    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Tagged(key, s) => {
                let mut m = Map::new();
                m.insert((*key).to_owned(), Value::String(s.clone()));
                Value::Object(m)
            }
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(pairs) => {
                let mut m = Map::new();
                for (k, v) in pairs {
                    m.insert(k.key_string(), v.to_json());
                }
                Value::Object(m)
            }
        }
    }
}

/// Loads every document of a YAML stream. An empty file gives no document.
pub fn load(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| YamlError {
        mark: mark(e.marker()),
        msg: e.info().to_owned(),
    })?;
    match builder.error {
        Some(e) => Err(e),
        None => Ok(builder.docs),
    }
}

/// Loads a stream that must hold at most one document (`None` when empty).
pub fn load_one(text: &str) -> Result<Option<Node>, YamlError> {
    let mut docs = load(text)?;
    if docs.len() > 1 {
        return Err(YamlError {
            mark: docs[1].mark,
            msg: "expected a single document in the stream, found another document".to_owned(),
        });
    }
    Ok(docs.pop())
}

fn mark(m: &Marker) -> Mark {
    Mark {
        line: m.line(),
        col: m.col() + 1,
    }
}

enum Open {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    error: Option<YamlError>,
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, m: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = mark(&m);
        match ev {
            Event::Scalar(text, style, anchor, tag) => match resolve(text, style, tag.as_ref()) {
                Ok(kind) => self.push(Node { kind, mark: at }, anchor),
                Err(msg) => self.error = Some(YamlError { mark: at, msg }),
            },
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push(node, 0),
                None => {
                    self.error = Some(YamlError {
                        mark: at,
                        msg: "found undefined alias".to_owned(),
                    })
                }
            },
            Event::SequenceStart(anchor, _) => self.stack.push(Open::Seq(
                Node {
                    kind: Kind::Seq(Vec::new()),
                    mark: at,
                },
                anchor,
            )),
            Event::MappingStart(anchor, _) => self.stack.push(Open::Map(
                Node {
                    kind: Kind::Map(Vec::new()),
                    mark: at,
                },
                anchor,
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Open::Seq(n, a)) | Some(Open::Map(n, a, _)) => (n, a),
                    None => return,
                };
                self.push(node, anchor);
            }
            _ => {}
        }
    }
}

impl Builder {
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Open::Seq(seq, _)) => {
                if let Kind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Open::Map(map, _, pending)) => match pending.take() {
                None => {
                    // A block mapping starts where its first key does.
                    if matches!(&map.kind, Kind::Map(p) if p.is_empty()) {
                        map.mark = node.mark;
                    }
                    *pending = Some(node);
                }
                Some(key) => {
                    if let Kind::Map(pairs) = &mut map.kind
                        && let Err(e) = insert(pairs, key, node)
                    {
                        self.error = Some(e);
                    }
                }
            },
        }
    }
}

/// Inserts a pair; `<<` merges (keys already present win); a repeated key
/// replaces the earlier value, as PyYAML does.
fn insert(pairs: &mut Vec<(Node, Node)>, key: Node, value: Node) -> Result<(), YamlError> {
    if key.as_str() == Some("<<") {
        let sources: Vec<Node> = match value.kind {
            Kind::Map(_) => vec![value],
            Kind::Seq(items) => items,
            _ => {
                return Err(YamlError {
                    mark: value.mark,
                    msg: format!(
                        "expected a mapping or list of mappings for merging, found {}",
                        value.type_name()
                    ),
                });
            }
        };
        for src in sources {
            let Kind::Map(src_pairs) = src.kind else {
                return Err(YamlError {
                    mark: src.mark,
                    msg: format!("expected a mapping for merging, found {}", src.type_name()),
                });
            };
            for (k, v) in src_pairs {
                if !pairs.iter().any(|(pk, _)| pk.kind == k.kind) {
                    pairs.push((k, v));
                }
            }
        }
        return Ok(());
    }
    match pairs.iter_mut().find(|(k, _)| k.kind == key.kind) {
        Some(slot) => slot.1 = value,
        None => pairs.push((key, value)),
    }
    Ok(())
}

fn resolve(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Kind, String> {
    if let Some(tag) = tag {
        return match (tag.handle.as_str(), tag.suffix.as_str()) {
            ("!", "unsafe") => Ok(Kind::Tagged(UNSAFE_KEY, text)),
            ("!", "vault") | ("!", "vault-encrypted") => Ok(Kind::Tagged(VAULT_KEY, text)),
            ("tag:yaml.org,2002:", "str") => Ok(Kind::Str(text)),
            ("tag:yaml.org,2002:", "int") => parse_int(&text)
                .map(Kind::Int)
                .ok_or_else(|| format!("invalid !!int value {text:?}")),
            ("tag:yaml.org,2002:", "float") => parse_float(&text)
                .or_else(|| parse_int(&text).map(|i| i as f64))
                .map(Kind::Float)
                .ok_or_else(|| format!("invalid !!float value {text:?}")),
            ("tag:yaml.org,2002:", "bool") => parse_bool(&text)
                .map(Kind::Bool)
                .ok_or_else(|| format!("invalid !!bool value {text:?}")),
            ("tag:yaml.org,2002:", "null") => Ok(Kind::Null),
            (handle, suffix) => Err(format!(
                "could not determine a constructor for the tag '{handle}{suffix}'"
            )),
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Kind::Str(text));
    }
    Ok(resolve_plain(text))
}

/// PyYAML's implicit resolvers for plain scalars.
fn resolve_plain(text: String) -> Kind {
    if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
        return Kind::Null;
    }
    if let Some(b) = parse_bool(&text) {
        return Kind::Bool(b);
    }
    if let Some(i) = parse_int(&text) {
        return Kind::Int(i);
    }
    if let Some(f) = parse_float(&text) {
        return Kind::Float(f);
    }
    Kind::Str(text)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn split_sign(s: &str) -> (i64, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    }
}

fn digits_in(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().any(|c| c != '_') && s.chars().all(|c| c == '_' || c.is_digit(radix))
}

fn parse_int(s: &str) -> Option<i64> {
    let (sign, body) = split_sign(s);
    let clean = |t: &str| t.replace('_', "");
    let value = if let Some(b) = body.strip_prefix("0b") {
        digits_in(b, 2).then(|| i64::from_str_radix(&clean(b), 2).ok())??
    } else if let Some(h) = body.strip_prefix("0x") {
        digits_in(h, 16).then(|| i64::from_str_radix(&clean(h), 16).ok())??
    } else if body.len() > 1 && body.starts_with('0') {
        digits_in(&body[1..], 8).then(|| i64::from_str_radix(&clean(&body[1..]), 8).ok())??
    } else if body.contains(':') {
        sexagesimal(body)?
    } else if body == "0"
        || (body.starts_with(|c: char| ('1'..='9').contains(&c)) && digits_in(body, 10))
    {
        clean(body).parse().ok()?
    } else {
        return None;
    };
    Some(sign * value)
}

/// `[1-9][0-9_]*(:[0-5]?[0-9])+`
fn sexagesimal(body: &str) -> Option<i64> {
    let mut parts = body.split(':');
    let head = parts.next()?;
    if !(head.starts_with(|c: char| ('1'..='9').contains(&c)) && digits_in(head, 10)) {
        return None;
    }
    let mut value: i64 = head.replace('_', "").parse().ok()?;
    for part in parts {
        let ok = (1..=2).contains(&part.len())
            && part.chars().all(|c| c.is_ascii_digit())
            && (part.len() == 1 || part.as_bytes()[0] <= b'5');
        if !ok {
            return None;
        }
        value = value * 60 + part.parse::<i64>().ok()?;
    }
    Some(value)
}

/// PyYAML floats need a dot (`1e3` is a string), or are `.inf`/`.nan`.
fn parse_float(s: &str) -> Option<f64> {
    let (sign, body) = split_sign(s);
    match body {
        ".inf" | ".Inf" | ".INF" => return Some(sign as f64 * f64::INFINITY),
        ".nan" | ".NaN" | ".NAN" if sign == 1 && !s.starts_with('+') => return Some(f64::NAN),
        _ => {}
    }
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = mantissa.split_once('.')?;
    let int_ok = int_part.is_empty() && !frac.is_empty() && digits_in(frac, 10)
        || (int_part.starts_with(|c: char| c.is_ascii_digit())
            && int_part.chars().all(|c| c == '_' || c.is_ascii_digit())
            && frac.chars().all(|c| c == '_' || c.is_ascii_digit()));
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            (e.starts_with('+') || e.starts_with('-'))
                && e.len() > 1
                && e[1..].chars().all(|c| c.is_ascii_digit())
        }
    };
    if !(int_ok && exp_ok) {
        return None;
    }
    let text = format!(
        "{}{}",
        if sign < 0 { "-" } else { "" },
        body.replace('_', "")
    );
    let text = if text.ends_with('.') {
        format!("{text}0")
    } else {
        text
    };
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Value {
        load_one(text).unwrap().unwrap().to_json()
    }

    #[test]
    fn yaml_1_1_scalars_as_ansible_loads_them() {
        let doc = one(
            "a: yes\nb: off\nc: 0644\nd: 1:20\ne: 1e3\nf: y\ng: '0644'\nh: 0x1F\ni: 1.5\nj: ~\nk: 2024-01-02\nl: -0o7\nm: 1_000\nn: .5\no: 1.0e+3\nOn: 1\n",
        );
        expect_test::expect![[r#"{"a":true,"b":false,"c":420,"d":80,"e":"1e3","f":"y","g":"0644","h":31,"i":1.5,"j":null,"k":"2024-01-02","l":"-0o7","m":1000,"n":0.5,"o":1000.0,"True":1}"#]]
        .assert_eq(&doc.to_string());
    }

    #[test]
    fn merge_keys_anchors_and_tags() {
        let doc = one(
            "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nlist: [*b]\nu: !unsafe '{{ no }}'\nv: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n",
        );
        expect_test::expect![[r#"{"base":{"x":1,"y":2},"use":{"x":1,"y":3},"list":[{"x":1,"y":2}],"u":{"__ansible_unsafe":"{{ no }}"},"v":{"__ansible_vault":"$ANSIBLE_VAULT;1.1;AES256\n6162\n"}}"#]]
        .assert_eq(&doc.to_string());
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = load("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert_eq!(err.mark.line, 3, "{err:?}");
        let err = load("a: *nope\n").unwrap_err();
        assert_eq!(
            (err.mark.line, err.msg.as_str()),
            (1, "while parsing node, found unknown anchor"),
            "{err:?}"
        );
    }

    #[test]
    fn nodes_know_where_they_start() {
        let node = load_one("- name: a\n  debug: {}\n- name: b\n")
            .unwrap()
            .unwrap();
        let marks: Vec<usize> = node.as_seq().unwrap().iter().map(|n| n.mark.line).collect();
        assert_eq!(marks, [1, 3]);
    }
}
