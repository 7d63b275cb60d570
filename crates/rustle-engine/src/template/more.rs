//! More of Ansible's filters and tests: collections (set operations,
//! `flatten`, `combine`, `dict2items`), strings and paths, regexes, hashes
//! and the comparison tests. They work on JSON values, as Ansible's do on
//! Python ones.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};
use serde_json::{Map, Value as Json};

use super::convert::{to_json, to_value};
use super::filters::{add_filter, add_test};
use crate::util::sha1::{md5_hex, sha1_hex};
use crate::util::shell::quote;

pub fn register(env: &mut Environment<'static>) {
    add_filter(env, "ternary", ternary);
    add_filter(env, "mandatory", mandatory);
    add_filter(env, "to_nice_json", to_nice_json);
    add_filter(env, "splitext", splitext);
    add_filter(env, "path_join", path_join);
    add_filter(env, "quote", quote);
    add_filter(env, "regex_search", regex_search);
    add_filter(env, "regex_findall", regex_findall);
    add_filter(env, "regex_escape", |s: &str| regex::escape(s));
    add_filter(env, "hash", hash);
    add_filter(env, "sha1", |s: &str| sha1_hex(s.as_bytes()));
    add_filter(env, "md5", |s: &str| md5_hex(s.as_bytes()));
    add_filter(env, "checksum", |s: &str| sha1_hex(s.as_bytes()));
    add_filter(env, "to_uuid", to_uuid);
    add_filter(env, "union", |a: Value, b: Value| {
        set_op(&a, &b, SetOp::Union)
    });
    add_filter(env, "intersect", |a: Value, b: Value| {
        set_op(&a, &b, SetOp::Intersect)
    });
    add_filter(env, "difference", |a: Value, b: Value| {
        set_op(&a, &b, SetOp::Difference)
    });
    add_filter(env, "symmetric_difference", |a: Value, b: Value| {
        set_op(&a, &b, SetOp::Symmetric)
    });
    add_filter(env, "flatten", flatten);
    add_filter(env, "extract", extract);
    add_filter(env, "dict2items", dict2items);
    add_filter(env, "items2dict", items2dict);
    add_filter(env, "combine", combine);
    add_filter(env, "subelements", subelements);
    add_filter(env, "product", product);
    add_filter(env, "permutations", |v: Value, r: Option<usize>| {
        let items = values(&v)?;
        let r = r.unwrap_or(items.len());
        Ok::<Value, Error>(tuples(&items, r, Pick::Permutations))
    });
    add_filter(env, "combinations", |v: Value, r: usize| {
        Ok::<Value, Error>(tuples(&values(&v)?, r, Pick::Combinations))
    });
    add_filter(env, "zip_longest", zip_longest);
    add_filter(env, "comment", comment);
    add_filter(env, "rekey_on_member", rekey_on_member);
    add_filter(env, "split", split);
    add_filter(env, "unique", unique);
    add_filter(env, "log", |x: f64, base: Option<f64>| match base {
        Some(base) => x.ln() / base.ln(),
        None => x.ln(),
    });
    add_filter(env, "pow", f64::powf);
    add_filter(env, "root", |x: f64, base: Option<f64>| match base {
        None | Some(2.0) => x.sqrt(),
        Some(base) => x.powf(1.0 / base),
    });

    add_test(env, "match", |s: &str, re: &str| {
        regex_test(s, re, Anchor::Start)
    });
    add_test(env, "search", |s: &str, re: &str| {
        regex_test(s, re, Anchor::None)
    });
    add_test(env, "regex", |s: &str, re: &str| {
        regex_test(s, re, Anchor::None)
    });
    add_test(env, "version", version_test);
    add_test(env, "version_compare", version_test);
    add_test(env, "subset", |a: Value, b: Value| contains_all(&b, &a));
    add_test(env, "superset", |a: Value, b: Value| contains_all(&a, &b));
    add_test(env, "issubset", |a: Value, b: Value| contains_all(&b, &a));
    add_test(env, "issuperset", |a: Value, b: Value| contains_all(&a, &b));
    add_test(env, "nan", is_nan);
    add_test(env, "isnan", is_nan);
    add_test(env, "contains", |a: Value, item: Value| {
        Ok::<bool, Error>(items(&a)?.contains(&to_json(&item)?))
    });
    add_test(env, "any", |v: Value| {
        Ok::<bool, Error>(v.try_iter()?.any(|x| x.is_true()))
    });
    add_test(env, "all", |v: Value| {
        Ok::<bool, Error>(v.try_iter()?.all(|x| x.is_true()))
    });
    add_test(env, "truthy", |v: Value| v.is_true());
    add_test(env, "falsy", |v: Value| !v.is_true());
    add_test(env, "abs", |p: &str| p.starts_with('/'));
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn ternary(value: Value, yes: Value, no: Value, none: Option<Value>) -> Value {
    match none {
        Some(n) if value.is_none() => n,
        _ if value.is_true() => yes,
        _ => no,
    }
}

/// ansible-core's wording; the template's renderer puts in the name
/// (`render::name_mandatory`), which only the source shows.
pub const MANDATORY_FAILED: &str = "The filter plugin 'ansible.builtin.mandatory' failed: ";
pub const MANDATORY_UNNAMED: &str = "Mandatory variable not defined.";

fn mandatory(value: Value, msg: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        let msg = msg.as_deref().unwrap_or(MANDATORY_UNNAMED);
        return Err(invalid(format!("{MANDATORY_FAILED}{msg}")));
    }
    Ok(value)
}

/// `json.dumps(v, indent=4, sort_keys=True)`.
/// `to_nice_json(indent=4, sort_keys=True)`, as Ansible's.
fn to_nice_json(value: Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let indent = match kwargs.get::<Option<usize>>("indent")? {
        Some(i) => i,
        None => indent.unwrap_or(4),
    };
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let json = to_json(&value)?;
    let json = if sort_keys { sorted(json) } else { json };
    let mut out = Vec::new();
    let spaces = " ".repeat(indent);
    let fmt = serde_json::ser::PrettyFormatter::with_indent(spaces.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(&json, &mut ser).map_err(|e| invalid(e.to_string()))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn sorted(json: Json) -> Json {
    match json {
        Json::Object(m) => {
            let mut pairs: Vec<(String, Json)> = m.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(pairs.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Python's `os.path.splitext`.
fn splitext(path: &str) -> Vec<String> {
    let base_start = path.rfind('/').map_or(0, |i| i + 1);
    let base = &path[base_start..];
    match base.rfind('.') {
        Some(i) if base[..i].chars().any(|c| c != '.') => {
            let cut = base_start + i;
            vec![path[..cut].to_owned(), path[cut..].to_owned()]
        }
        _ => vec![path.to_owned(), String::new()],
    }
}

/// Python's `os.path.join` over a list.
fn path_join(parts: Value) -> Result<String, Error> {
    let mut out = String::new();
    for part in parts.try_iter()? {
        let part = part.to_string();
        if part.starts_with('/') {
            out = part;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&part);
        } else {
            out.push('/');
            out.push_str(&part);
        }
    }
    Ok(out)
}

/// Python's `shlex.quote`.
fn compile(re: &str) -> Result<regex::Regex, Error> {
    regex::Regex::new(re).map_err(|e| invalid(format!("invalid regular expression '{re}': {e}")))
}

/// The first match (or `None`), like Ansible's `regex_search`.
fn regex_search(s: &str, re: &str) -> Result<Value, Error> {
    Ok(compile(re)?
        .find(s)
        .map_or(Value::from(()), |m| Value::from(m.as_str())))
}

fn regex_findall(s: &str, re: &str) -> Result<Vec<String>, Error> {
    let re = compile(re)?;
    Ok(re
        .captures_iter(s)
        .map(|c| {
            c.get(1)
                .or_else(|| c.get(0))
                .map_or(String::new(), |m| m.as_str().to_owned())
        })
        .collect())
}

enum Anchor {
    Start,
    None,
}

fn regex_test(s: &str, re: &str, anchor: Anchor) -> Result<bool, Error> {
    let re = match anchor {
        Anchor::Start => compile(&format!("^(?:{re})"))?,
        Anchor::None => compile(re)?,
    };
    Ok(re.is_match(s))
}

fn hash(s: &str, algorithm: Option<&str>) -> Result<String, Error> {
    match algorithm.unwrap_or("sha1") {
        "sha1" => Ok(sha1_hex(s.as_bytes())),
        "md5" => Ok(md5_hex(s.as_bytes())),
        "sha256" => Ok(rustle_format::sha256_hex(s.as_bytes())),
        other => Err(invalid(format!("hash: unsupported algorithm '{other}'"))),
    }
}

/// Ansible's `to_uuid`: a version 5 UUID in its own namespace.
fn to_uuid(name: &str) -> String {
    const NAMESPACE: [u8; 16] = [
        0x36, 0x1e, 0x6d, 0x51, 0xfa, 0xec, 0x44, 0x4a, 0x90, 0x79, 0x34, 0x13, 0x86, 0xda, 0x8e,
        0x2e,
    ];
    let mut data = NAMESPACE.to_vec();
    data.extend_from_slice(name.as_bytes());
    let hex = sha1_hex(&data);
    let mut b: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn items(v: &Value) -> Result<Vec<Json>, Error> {
    match to_json(v)? {
        Json::Array(items) => Ok(items),
        other => Err(invalid(format!("expected a list, got {other}"))),
    }
}

enum SetOp {
    Union,
    Intersect,
    Difference,
    Symmetric,
}

/// Ansible's set filters: unique results in first-seen order.
fn set_op(a: &Value, b: &Value, op: SetOp) -> Result<Value, Error> {
    let (a, b) = (items(a)?, items(b)?);
    let candidates: Vec<&Json> = match op {
        SetOp::Union => a.iter().chain(&b).collect(),
        SetOp::Intersect => a.iter().filter(|x| b.contains(x)).collect(),
        SetOp::Difference => a.iter().filter(|x| !b.contains(x)).collect(),
        SetOp::Symmetric => a
            .iter()
            .filter(|x| !b.contains(x))
            .chain(b.iter().filter(|x| !a.contains(x)))
            .collect(),
    };
    let mut out: Vec<Json> = Vec::new();
    for c in candidates {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    Ok(to_value(&Json::Array(out)))
}

fn contains_all(big: &Value, small: &Value) -> Result<bool, Error> {
    let big = items(big)?;
    Ok(items(small)?.iter().all(|x| big.contains(x)))
}

fn flatten(v: Value, levels: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels: Option<usize> = kwargs.get::<Option<usize>>("levels")?.or(levels);
    kwargs.assert_all_used()?;
    fn go(items: Vec<Json>, depth: Option<usize>, out: &mut Vec<Json>) {
        for item in items {
            match item {
                Json::Array(inner) if depth != Some(0) => go(inner, depth.map(|d| d - 1), out),
                Json::Null => {}
                other => out.push(other),
            }
        }
    }
    let mut out = Vec::new();
    go(items(&v)?, levels, &mut out);
    Ok(to_value(&Json::Array(out)))
}

fn dict2items(v: Value) -> Result<Value, Error> {
    let Json::Object(m) = to_json(&v)? else {
        return Err(invalid("dict2items requires a dictionary"));
    };
    let list: Vec<Json> = m
        .into_iter()
        .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
        .collect();
    Ok(to_value(&Json::Array(list)))
}

fn items2dict(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key: String = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value: String = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    let mut out = Map::new();
    for item in items(&v)? {
        let k = item
            .get(&key)
            .ok_or_else(|| invalid(format!("items2dict: an item has no '{key}'")))?;
        let k = k.as_str().map_or_else(|| k.to_string(), str::to_owned);
        out.insert(k, item.get(&value).cloned().unwrap_or(Json::Null));
    }
    Ok(to_value(&Json::Object(out)))
}

/// `combine(*dicts, recursive=False, list_merge='replace')`.
fn combine(
    base: Value,
    rest: minijinja::value::Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge: String = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    kwargs.assert_all_used()?;
    // `[d1, d2] | combine` merges the list's dicts: the terms are
    // flattened one level.
    let mut terms = Vec::new();
    for term in std::iter::once(&base).chain(rest.iter()) {
        match to_json(term)? {
            Json::Array(items) => terms.extend(items),
            other => terms.push(other),
        }
    }
    let mut terms = terms.into_iter();
    let mut out = terms.next().unwrap_or_else(|| Json::Object(Map::new()));
    for other in terms {
        merge(&mut out, other, recursive, &list_merge);
    }
    Ok(to_value(&out))
}

/// The `subelements` filter: `(element, value)` for each value of the list
/// at the dotted `key` of each element (the element whole, unlike the
/// lookup).
fn subelements(obj: Value, key: Value, skip_missing: Option<bool>) -> Result<Value, Error> {
    let elements: Vec<Json> = match to_json(&obj)? {
        Json::Array(items) => items,
        Json::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        _ => return Err(invalid("obj must be a list of dicts or a nested dict")),
    };
    let path: Vec<String> = match to_json(&key)? {
        Json::String(s) => s.split('.').map(str::to_owned).collect(),
        Json::Array(parts) => parts
            .iter()
            .map(|p| p.as_str().unwrap_or_default().to_owned())
            .collect(),
        _ => return Err(invalid("subelements must be a list or a string")),
    };
    let mut out = Vec::new();
    for element in &elements {
        let mut values = Some(element);
        for part in &path {
            values = match values.and_then(|v| v.as_object()) {
                Some(map) => match map.get(part) {
                    Some(v) => Some(v),
                    None if skip_missing == Some(true) => None,
                    None => {
                        return Err(invalid(format!(
                            "could not find '{part}' key in iterated item"
                        )));
                    }
                },
                None => {
                    return Err(invalid(format!(
                        "the key {part} should point to a dictionary"
                    )));
                }
            };
            if values.is_none() {
                break;
            }
        }
        match values {
            None => {}
            Some(Json::Array(list)) => {
                out.extend(
                    list.iter()
                        .map(|v| to_value(&Json::Array(vec![element.clone(), v.clone()]))),
                );
            }
            Some(other) => {
                return Err(invalid(format!(
                    "the key '{}' should point to a list, got {other}",
                    path.last().map_or("", String::as_str)
                )));
            }
        }
    }
    Ok(Value::from(out))
}

fn values(v: &Value) -> Result<Vec<Value>, Error> {
    Ok(v.try_iter()?.collect())
}

#[derive(Clone, Copy, PartialEq)]
enum Pick {
    Permutations,
    Combinations,
}

/// `itertools.permutations`/`combinations` of `r` items, in their order
/// (lexicographic in the items' positions).
fn tuples(items: &[Value], r: usize, pick: Pick) -> Value {
    fn go(items: &[Value], r: usize, pick: Pick, chosen: &mut Vec<usize>, out: &mut Vec<Value>) {
        if chosen.len() == r {
            out.push(Value::from(
                chosen.iter().map(|&i| items[i].clone()).collect::<Vec<_>>(),
            ));
            return;
        }
        let from = match (pick, chosen.last()) {
            (Pick::Combinations, Some(&last)) => last + 1,
            _ => 0,
        };
        for i in from..items.len() {
            if pick == Pick::Permutations && chosen.contains(&i) {
                continue;
            }
            chosen.push(i);
            go(items, r, pick, chosen, out);
            chosen.pop();
        }
    }
    let mut out = Vec::new();
    if r <= items.len() {
        go(items, r, pick, &mut Vec::new(), &mut out);
    }
    Value::from(out)
}

/// `itertools.product(a, *lists, repeat=n)`.
fn product(
    first: Value,
    rest: minijinja::value::Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let repeat = kwargs.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    let mut pools = vec![values(&first)?];
    for list in rest.iter() {
        pools.push(values(list)?);
    }
    let pools: Vec<Vec<Value>> = (0..repeat).flat_map(|_| pools.clone()).collect();
    let rows = crate::util::iter::product(&pools)
        .into_iter()
        .map(Value::from);
    Ok(Value::from(rows.collect::<Vec<_>>()))
}

/// `itertools.zip_longest(a, *lists, fillvalue=None)`.
fn zip_longest(
    first: Value,
    rest: minijinja::value::Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let fill = kwargs
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    kwargs.assert_all_used()?;
    let mut lists = vec![values(&first)?];
    for list in rest.iter() {
        lists.push(values(list)?);
    }
    let rows = crate::util::iter::zip_longest(&lists, &fill)
        .into_iter()
        .map(Value::from);
    Ok(Value::from(rows.collect::<Vec<_>>()))
}

/// Merges `from` into `into` as `combine` does (also `include_vars`'
/// `hash_behaviour`).
pub(crate) fn merge(into: &mut Json, from: Json, recursive: bool, list_merge: &str) {
    match (into, from) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) if recursive && existing.is_object() && v.is_object() => {
                        merge(existing, v, recursive, list_merge)
                    }
                    Some(Json::Array(existing)) if v.is_array() && list_merge != "replace" => {
                        let Json::Array(new) = v else { unreachable!() };
                        match list_merge {
                            "append" => existing.extend(new),
                            "prepend" => {
                                let mut n = new;
                                n.append(existing);
                                *existing = n;
                            }
                            "append_rp" | "prepend_rp" | "keep" => {
                                if list_merge == "append_rp" {
                                    existing.retain(|x| !new.contains(x));
                                    existing.extend(new);
                                } else if list_merge == "prepend_rp" {
                                    let mut n = new;
                                    existing.retain(|x| !n.contains(x));
                                    n.append(existing);
                                    *existing = n;
                                }
                            }
                            _ => *existing = new,
                        }
                    }
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// `version(other, operator='eq', strict=False)`: loose version comparison.
fn version_test(v: &str, other: &str, op: Option<&str>) -> Result<bool, Error> {
    let parts = |s: &str| -> Vec<Result<u64, String>> {
        s.split(['.', '-'])
            .map(|p| p.parse::<u64>().map_err(|_| p.to_owned()))
            .collect()
    };
    let (a, b) = (parts(v), parts(other));
    let ord = a.cmp(&b);
    use std::cmp::Ordering::*;
    Ok(match op.unwrap_or("eq") {
        "==" | "=" | "eq" => ord == Equal,
        "!=" | "<>" | "ne" => ord != Equal,
        "<" | "lt" => ord == Less,
        "<=" | "le" => ord != Greater,
        ">" | "gt" => ord == Greater,
        ">=" | "ge" => ord != Less,
        other => return Err(invalid(format!("Invalid operator type ({other})"))),
    })
}

/// `extract(item, container, morekeys)`: `container[item]`, then each of
/// `morekeys` (one key or a list) looked up in turn.
fn extract(item: Value, container: Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut value = container.get_item(&item)?;
    let keys: Vec<Value> = match morekeys {
        None => Vec::new(),
        Some(k) if k.kind() == minijinja::value::ValueKind::Seq => k.try_iter()?.collect(),
        Some(k) => vec![k],
    };
    for key in keys {
        value = value.get_item(&key)?;
    }
    Ok(value)
}

/// Python's `repr` of a value: strings quoted as Python quotes them,
/// `None`, `True`, lists and dicts.
pub(super) fn py_repr(value: &Value) -> String {
    match value.kind() {
        ValueKind::None | ValueKind::Undefined => "None".into(),
        ValueKind::Bool if value.is_true() => "True".into(),
        ValueKind::Bool => "False".into(),
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            let quote = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::from(quote);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == quote => out.extend(['\\', c]),
                    c => out.push(c),
                }
            }
            out.push(quote);
            out
        }
        ValueKind::Seq => {
            let items: Vec<String> = value
                .try_iter()
                .into_iter()
                .flatten()
                .map(|v| py_repr(&v))
                .collect();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let items: Vec<String> = value
                .try_iter()
                .into_iter()
                .flatten()
                .map(|k| {
                    let v = value.get_item(&k).unwrap_or_default();
                    format!("{}: {}", py_repr(&k), py_repr(&v))
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        _ => value.to_string(),
    }
}

/// Python's `str` of a value.
pub(super) fn py_str(value: &Value) -> String {
    match value.as_str() {
        Some(s) => s.to_owned(),
        None => py_repr(value),
    }
}

/// Python's `int()` of a number, a bool or an integer string.
fn py_int(value: &Value) -> Result<i64, Error> {
    let parsed = match value.kind() {
        ValueKind::Bool => Some(i64::from(value.is_true())),
        ValueKind::Number if value.is_integer() => i64::try_from(value.clone()).ok(),
        ValueKind::Number => f64::try_from(value.clone()).ok().map(|f| f.trunc() as i64),
        ValueKind::String => value.as_str().and_then(|s| s.trim().parse().ok()),
        _ => None,
    };
    parsed.ok_or_else(|| {
        invalid(match value.kind() {
            ValueKind::String => {
                format!("invalid literal for int() with base 10: {}", py_repr(value))
            }
            _ => format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                super::python_type(value)
            ),
        })
    })
}

/// An int (or bool) where Python takes an index (`range`, `maxsplit`).
fn as_index(value: &Value) -> Result<i64, Error> {
    match value.kind() {
        ValueKind::Bool => Ok(i64::from(value.is_true())),
        ValueKind::Number if value.is_integer() => Ok(i64::try_from(value.clone())?),
        _ => Err(invalid(format!(
            "'{}' object cannot be interpreted as an integer",
            super::python_type(value)
        ))),
    }
}

/// How many items `range(n)` gives.
fn range_len(value: &Value) -> Result<usize, Error> {
    Ok(usize::try_from(as_index(value)?).unwrap_or(0))
}

/// Python's `==` on plain values: `1 == 1.0 == True`, containers item by item.
fn py_eq(a: &Json, b: &Json) -> bool {
    let number = |v: &Json| match v {
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        Json::Number(n) => n.as_f64(),
        _ => None,
    };
    match (a, b) {
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| py_eq(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

/// The `comment` filter's styles: (beginning, decoration, end).
fn comment_style(style: &Value) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match style.as_str()? {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        _ => return None,
    })
}

/// `comment(style='plain', **kw)`: the text with each line decorated,
/// between prefix and postfix lines and the style's beginning and end; the
/// keywords (`decoration`, `beginning`, `prefix`, `prefix_count`,
/// `postfix`, `postfix_count`, `end`, `newline`) override the style's.
fn comment(text: Value, style: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let style = kwargs
        .get::<Option<Value>>("style")?
        .or(style)
        .unwrap_or_else(|| Value::from("plain"));
    let (beginning, decoration, end) = comment_style(&style)
        .ok_or_else(|| invalid(format!("Invalid style {}.", py_repr(&style))))?;
    let mut p: Vec<(String, Value)> = Vec::new();
    for key in kwargs.args() {
        p.push((key.to_owned(), kwargs.get::<Value>(key)?));
    }
    let param = |key: &str, default: Value| {
        p.iter()
            .find(|(k, _)| k == key)
            .map_or(default, |(_, v)| v.clone())
    };
    let string = |value: Value, what: &str| -> Result<String, Error> {
        value.as_str().map(str::to_owned).ok_or_else(|| {
            invalid(format!(
                "'{}' object has no attribute '{what}'",
                super::python_type(&value)
            ))
        })
    };
    let prepostfix = string(param("decoration", Value::from(decoration)), "rstrip")?;
    let prepostfix = Value::from(prepostfix.trim_end());
    let newline = string(param("newline", Value::from("\n")), "replace")?;
    let decoration = string(param("decoration", Value::from(decoration)), "rstrip")?;
    let beginning = param("beginning", Value::from(beginning));
    let prefix = param("prefix", prepostfix.clone());
    let postfix = param("postfix", prepostfix);
    let end = param("end", Value::from(end));
    let text = string(text, "replace")?;

    let mut out = String::new();
    if beginning.is_true() {
        out.push_str(&format!("{}{newline}", py_str(&beginning)));
    }
    if prefix.is_true() {
        let line = if prefix.as_str() == Some(newline.as_str()) {
            newline.clone()
        } else {
            format!("{}{newline}", py_str(&prefix))
        };
        let count = py_int(&param("prefix_count", Value::from(1)))?;
        out.push_str(&line.repeat(usize::try_from(count).unwrap_or(0)));
    }
    let decorated = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    );
    out.push_str(&decorated.replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    ));
    for _ in 0..range_len(&param("postfix_count", Value::from(1)))? {
        out.push_str(&newline);
        out.push_str(&string(postfix.clone(), "join")?);
    }
    if end.is_true() {
        out.push_str(&format!("{newline}{}", py_str(&end)));
    }
    Ok(out)
}

/// `rekey_on_member(key, duplicates='error')`: a dict of the dicts of a
/// list (or of a dict's values) keyed by their `key` member.
fn rekey_on_member(
    data: Value,
    key: Value,
    duplicates: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let duplicates = kwargs
        .get::<Option<Value>>("duplicates")?
        .or(duplicates)
        .unwrap_or_else(|| Value::from("error"));
    kwargs.assert_all_used()?;
    let overwrite = match duplicates.as_str() {
        Some("error") => false,
        Some("overwrite") => true,
        _ => {
            return Err(invalid(format!(
                "duplicates parameter to rekey_on_member has unknown value {}",
                py_repr(&duplicates)
            )));
        }
    };
    let items: Vec<Value> = match data.kind() {
        ValueKind::Map => data
            .try_iter()?
            .map(|k| data.get_item(&k))
            .collect::<Result<_, _>>()?,
        ValueKind::Seq | ValueKind::Iterable => data.try_iter()?.collect(),
        _ => return Err(invalid("Type is not a valid list, set, or dict")),
    };
    let mut out: Vec<(Value, Value)> = Vec::new();
    for item in items {
        if item.kind() != ValueKind::Map {
            return Err(invalid("List item is not a valid dict"));
        }
        let member = item.get_item(&key)?;
        if member.is_undefined() {
            return Err(invalid(format!("Key {} was not found.", py_repr(&key))));
        }
        if matches!(member.kind(), ValueKind::Seq | ValueKind::Map) {
            return Err(invalid(format!(
                "unhashable type: '{}'",
                super::python_type(&member)
            )));
        }
        match out.iter_mut().find(|(k, _)| *k == member) {
            Some(_) if !overwrite => {
                return Err(invalid(format!(
                    "Key {} is not unique, cannot convert to dict.",
                    py_repr(&member)
                )));
            }
            Some(slot) => slot.1 = item,
            None => out.push((member, item)),
        }
    }
    Ok(Value::from_pairs(out))
}

/// `math.isnan(x)`, False for what is not a number.
fn is_nan(value: Value) -> bool {
    value.kind() == ValueKind::Number && f64::try_from(value).is_ok_and(f64::is_nan)
}

/// Python's `str.isspace` for one character.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `str.split(sep=None, maxsplit=-1)`: on runs of whitespace (none at
/// either end) without `sep`, at most `maxsplit` times when it is not
/// negative.
fn split(
    value: Value,
    sep: Option<Value>,
    maxsplit: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let sep = kwargs.get::<Option<Value>>("sep")?.or(sep);
    let maxsplit = kwargs.get::<Option<Value>>("maxsplit")?.or(maxsplit);
    kwargs.assert_all_used()?;
    let Some(text) = value.as_str() else {
        return Err(invalid(format!(
            "descriptor 'split' for 'str' objects doesn't apply to a '{}' object",
            super::python_type(&value)
        )));
    };
    let limit = match maxsplit {
        None => None,
        Some(m) => usize::try_from(as_index(&m)?).ok(),
    };
    let parts: Vec<String> = match sep.filter(|s| !s.is_none()) {
        Some(sep) => {
            let sep = sep.as_str().ok_or_else(|| {
                invalid(format!(
                    "must be str or None, not {}",
                    super::python_type(&sep)
                ))
            })?;
            if sep.is_empty() {
                return Err(invalid("empty separator"));
            }
            match limit {
                Some(n) => text.splitn(n + 1, sep).map(str::to_owned).collect(),
                None => text.split(sep).map(str::to_owned).collect(),
            }
        }
        None => {
            let mut parts = Vec::new();
            let mut rest = text.trim_start_matches(py_space);
            while !rest.is_empty() {
                if limit == Some(parts.len()) {
                    parts.push(rest.to_owned());
                    break;
                }
                let end = rest.find(py_space).unwrap_or(rest.len());
                parts.push(rest[..end].to_owned());
                rest = rest[end..].trim_start_matches(py_space);
            }
            parts
        }
    };
    Ok(Value::from(parts))
}

/// `unique(case_sensitive=None, attribute=None)`: Jinja's `unique` (items
/// compared lowercased unless `case_sensitive`, or by their `attribute`),
/// falling back to Ansible's (items compared as they are) when an item
/// cannot be hashed, which fails when `case_sensitive=False` or
/// `attribute` was given.
fn unique(
    value: Value,
    case_sensitive: Option<Value>,
    attribute: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let case_sensitive = kwargs
        .get::<Option<Value>>("case_sensitive")?
        .or(case_sensitive);
    let attribute = kwargs
        .get::<Option<Value>>("attribute")?
        .or(attribute)
        .filter(|a| !a.is_none());
    kwargs.assert_all_used()?;
    let items: Vec<Value> = value.try_iter()?.collect();
    let fold = !case_sensitive.as_ref().is_some_and(Value::is_true);
    let jinja = || -> Result<Vec<Value>, String> {
        let mut seen: Vec<Json> = Vec::new();
        let mut out = Vec::new();
        for item in &items {
            let key = match &attribute {
                Some(attr) => attribute_of(item, attr)?,
                None => item.clone(),
            };
            let key = to_json(&key).map_err(|e| e.to_string())?;
            let key = match key {
                Json::Array(_) | Json::Object(_) => {
                    let kind = if key.is_array() { "list" } else { "dict" };
                    return Err(format!("unhashable type: '{kind}'"));
                }
                Json::String(s) if fold => Json::String(s.to_lowercase()),
                other => other,
            };
            if !seen.iter().any(|s| py_eq(s, &key)) {
                seen.push(key);
                out.push(item.clone());
            }
        }
        Ok(out)
    };
    let strict = case_sensitive.is_some_and(|c| c.kind() == ValueKind::Bool && !c.is_true());
    match jinja() {
        Ok(out) => Ok(Value::from(out)),
        Err(e) if strict || attribute.is_some() => Err(invalid(format!(
            "Jinja2's unique filter failed and we cannot fall back to Ansible's version as \
             it does not support the parameters supplied: {e}"
        ))),
        Err(_) => {
            let mut seen: Vec<Json> = Vec::new();
            let mut out = Vec::new();
            for item in items {
                let key = to_json(&item)?;
                if !seen.iter().any(|s| py_eq(s, &key)) {
                    seen.push(key);
                    out.push(item);
                }
            }
            Ok(Value::from(out))
        }
    }
}

/// Jinja's attribute getter: `a.b.0` looked up part by part, a part of
/// digits as a list index.
fn attribute_of(item: &Value, attribute: &Value) -> Result<Value, String> {
    let parts: Vec<Value> = match attribute.as_str() {
        Some(path) => path
            .split('.')
            .map(|p| {
                p.parse::<i64>()
                    .map_or_else(|_| Value::from(p), Value::from)
            })
            .collect(),
        None => vec![attribute.clone()],
    };
    let mut value = item.clone();
    for part in parts {
        let next = value.get_item(&part).unwrap_or_default();
        if next.is_undefined() {
            return Err(format!(
                "object of type '{}' has no attribute {}",
                super::python_type(&value),
                py_repr(&part)
            ));
        }
        value = next;
    }
    Ok(value)
}
