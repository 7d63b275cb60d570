//! Jinja2's builtins as ansible-core 2.19 templates offer them, where
//! minijinja's differ or are missing: filters with Jinja's positional
//! arguments and Python's results (`int`, `float`, `sort`, `dictsort`,
//! `groupby`, `escape`, `tojson`, `urlencode`, `pprint` ...), the filters
//! minijinja lacks (`urlize`, `wordwrap`, `xmlattr`, `striptags`,
//! `forceescape`), tests with Python's answers, the `lipsum`, `cycler`,
//! `joiner` and `namespace(mapping)` globals, and ansible's `undef()`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as Atomic};

use minijinja::value::{Kwargs, Object, ObjectRepr, Rest, ValueKind, ValueOrKwargs, from_args};
use minijinja::{Environment, Error, ErrorKind, State, Value};
use serde_json::Value as Json;

use super::convert::to_json;
use super::more::{py_repr, py_str};
use super::pyrandom::PyRandom;
use super::python_type;
use crate::util::pyjson;

pub fn register(env: &mut Environment<'static>) {
    // ansible-core's environment sets `trim_blocks`: the newline after a
    // block tag is dropped in every template (files set their own).
    if let Ok(syntax) = env.syntax().to_builder().trim_blocks(true).build() {
        env.set_syntax(syntax);
    }
    env.add_function(super::render::NODE, super::render::node);

    env.add_filter("attr", attr);
    env.add_filter("center", center);
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("dictsort", dictsort);
    env.add_filter("escape", escape);
    env.add_filter("e", escape);
    env.add_filter("filesizeformat", filesizeformat);
    env.add_filter("float", float);
    env.add_filter("forceescape", forceescape);
    env.add_filter("format", format);
    env.add_filter("groupby", groupby);
    env.add_filter("indent", indent);
    env.add_filter("int", int);
    env.add_filter("list", list);
    env.add_filter("pprint", pprint);
    env.add_filter("replace", replace);
    env.add_filter("reverse", reverse);
    env.add_filter("sort", sort);
    env.add_filter("striptags", striptags);
    env.add_filter("tojson", tojson);
    env.add_filter("truncate", truncate);
    env.add_filter("urlencode", urlencode);
    env.add_filter("urlize", urlize);
    super::filters::add_filter(env, "wordcount", wordcount);
    env.add_filter("wordwrap", wordwrap);
    env.add_filter("xmlattr", xmlattr);

    env.add_test("callable", is_callable);
    env.add_test("divisibleby", divisibleby);
    env.add_test("even", |v: &Value| remainder_is(v, 2, 0));
    env.add_test("odd", |v: &Value| remainder_is(v, 2, 1));
    env.add_test("mapping", is_mapping);
    env.add_test("sequence", is_sequence);

    env.add_function("cycler", cycler);
    env.add_function("dict", dict);
    env.add_function("joiner", minijinja_contrib::globals::joiner);
    env.add_function("lipsum", lipsum);
    env.add_function("namespace", namespace);
    env.add_function("undef", undef);
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Filters fail on an undefined value, as ansible-core's do when the
/// value is used (`chain.rs` keeps `x | f | default(...)` working).
fn defined(value: &Value) -> Result<(), Error> {
    if value.is_undefined() {
        Err(Error::from(ErrorKind::UndefinedError))
    } else {
        Ok(())
    }
}

/// A call's arguments split into positional ones and keyword ones.
fn split_args(args: Rest<ValueOrKwargs>) -> Result<(Vec<Value>, Option<Kwargs>), Error> {
    let mut args: Vec<Value> = args.0.into_iter().map(ValueOrKwargs::into_value).collect();
    let kwargs = match args.last() {
        Some(last) if last.is_kwargs() => Some(Kwargs::try_from(args.pop().unwrap_or_default())?),
        _ => None,
    };
    Ok((args, kwargs))
}

/// Jinja's arguments given by position or by name, in the order of
/// `names`; a none argument counts as not given.
fn named_args<const N: usize>(
    args: Rest<ValueOrKwargs>,
    names: [&str; N],
) -> Result<[Option<Value>; N], Error> {
    let (positional, kwargs) = split_args(args)?;
    if positional.len() > N {
        return Err(Error::from(ErrorKind::TooManyArguments));
    }
    let mut out: [Option<Value>; N] = std::array::from_fn(|i| positional.get(i).cloned());
    if let Some(kwargs) = kwargs {
        for (slot, name) in out.iter_mut().zip(names) {
            if kwargs.has(name) {
                *slot = Some(kwargs.get(name)?);
            }
        }
        kwargs.assert_all_used()?;
    }
    Ok(out.map(|v| v.filter(|v| !v.is_none() && !v.is_undefined())))
}

/// minijinja's namespace object, which `{% set ns.x = ... %}` assigns to.
fn is_namespace(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|o| o.type_name().ends_with("::Namespace"))
}

/// An int value, small ones as i64 (as the rest of the engine makes them).
fn int_value(i: i128) -> Value {
    i64::try_from(i).map_or_else(|_| Value::from(i), Value::from)
}

// ---------------------------------------------------------------------
// Python's conversions and comparisons

/// Python's whitespace (`str.split()`, `str.strip()`).
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `s` without its `_` digit separators, when each sits between two
/// characters `digit` accepts (Python's numeric literals in `int()` and
/// `float()`).
fn without_separators(s: &str, digit: impl Fn(char) -> bool) -> Option<Cow<'_, str>> {
    if !s.contains('_') {
        return Some(Cow::Borrowed(s));
    }
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == '_'
            && !(i > 0 && i + 1 < chars.len() && digit(chars[i - 1]) && digit(chars[i + 1]))
        {
            return None;
        }
    }
    Some(Cow::Owned(s.replace('_', "")))
}

/// Python's `float(s)`: surrounding whitespace, `_` separators, `inf`
/// and `nan` (which Rust's parser accepts as Python's does).
fn parse_py_float(s: &str) -> Option<f64> {
    let s = s.trim_matches(py_space);
    without_separators(s, |c| c.is_ascii_digit())?.parse().ok()
}

/// Python's `int(s, base)`: whitespace, a sign, `0x`/`0o`/`0b` prefixes
/// for their base (any of them for base 0), `_` separators.
fn parse_py_int(s: &str, base: u32) -> Option<i128> {
    let s = s.trim_matches(py_space);
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let prefix = body.get(..2).map(str::to_ascii_lowercase);
    let prefixed = match (prefix.as_deref(), base) {
        (Some("0x"), 0 | 16) => Some(16),
        (Some("0o"), 0 | 8) => Some(8),
        (Some("0b"), 0 | 2) => Some(2),
        _ => None,
    };
    let (radix, digits) = match (prefixed, base) {
        (Some(radix), _) => (radix, body[2..].strip_prefix('_').unwrap_or(&body[2..])),
        (None, 0) => (10, body),
        (None, 2..=36) => (base, body),
        _ => return None,
    };
    let digits = without_separators(digits, |c| c.is_digit(radix))?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Base 0 takes no leading zeros on a decimal number ("010").
    if base == 0 && prefixed.is_none() && digits.starts_with('0') && digits.contains(|c| c != '0') {
        return None;
    }
    let n = i128::from_str_radix(&digits, radix).ok()?;
    Some(if negative { -n } else { n })
}

/// Python's `float(value)` of a number, a bool or a numeric string.
fn py_float(value: &Value) -> Option<f64> {
    match value.kind() {
        ValueKind::Bool => Some(f64::from(u8::from(value.is_true()))),
        ValueKind::Number => f64::try_from(value.clone()).ok(),
        ValueKind::String => parse_py_float(value.as_str()?),
        _ => None,
    }
}

/// Python's `str.splitlines()`.
fn py_splitlines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let breaks = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !breaks {
            continue;
        }
        lines.push(&s[start..i]);
        start = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|(_, n)| *n == '\n') {
            chars.next();
            start += 1;
        }
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

/// Python's `<` ordering of two values: numbers (bools among them) with
/// numbers, strings with strings, lists item by item; other pairs fail
/// as Python's `TypeError` does.
fn py_cmp(a: &Value, b: &Value) -> Result<Ordering, Error> {
    use ValueKind::{Bool, Number, Seq, String};
    let int = |v: &Value| match v.kind() {
        Bool => Some(i128::from(v.is_true())),
        _ if v.is_integer() => i128::try_from(v.clone()).ok(),
        _ => None,
    };
    match (a.kind(), b.kind()) {
        (Number | Bool, Number | Bool) => Ok(match (int(a), int(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => py_float(a)
                .zip(py_float(b))
                .and_then(|(x, y)| x.partial_cmp(&y))
                .unwrap_or(Ordering::Equal),
        }),
        (String, String) => Ok(a.as_str().cmp(&b.as_str())),
        (Seq, Seq) => {
            let xs: Vec<Value> = a.try_iter()?.collect();
            let ys: Vec<Value> = b.try_iter()?.collect();
            py_cmp_items(&xs, &ys)
        }
        _ => Err(invalid(format!(
            "'<' not supported between instances of '{}' and '{}'",
            python_type(a),
            python_type(b)
        ))),
    }
}

/// Python's ordering of two lists: by the first items that differ
/// (equal ones, none among them, are passed over), else by length.
fn py_cmp_items(xs: &[Value], ys: &[Value]) -> Result<Ordering, Error> {
    for (x, y) in xs.iter().zip(ys) {
        if x == y {
            continue;
        }
        match py_cmp(x, y)? {
            Ordering::Equal => continue,
            order => return Ok(order),
        }
    }
    Ok(xs.len().cmp(&ys.len()))
}

/// Python's stable `sorted(items, key=..., reverse=...)` over
/// precomputed keys, with a comparison that may fail (a merge sort, so
/// that a failing or inconsistent comparison cannot upset it).
fn sorted_by_keys<T>(items: Vec<(Vec<Value>, T)>, reverse: bool) -> Result<Vec<T>, Error> {
    fn merge_sort<T>(
        mut items: Vec<(Vec<Value>, T)>,
        reverse: bool,
    ) -> Result<Vec<(Vec<Value>, T)>, Error> {
        if items.len() < 2 {
            return Ok(items);
        }
        let right = items.split_off(items.len() / 2);
        let left = merge_sort(items, reverse)?;
        let right = merge_sort(right, reverse)?;
        let mut out = Vec::with_capacity(left.len() + right.len());
        let (mut left, mut right) = (left.into_iter().peekable(), right.into_iter().peekable());
        while let (Some(l), Some(r)) = (left.peek(), right.peek()) {
            // The right item goes first only when it sorts strictly
            // before the left one: equal items keep their order.
            let order = py_cmp_items(&r.0, &l.0)?;
            let right_first = if reverse {
                order == Ordering::Greater
            } else {
                order == Ordering::Less
            };
            let next = if right_first {
                right.next()
            } else {
                left.next()
            };
            out.extend(next);
        }
        out.extend(left);
        out.extend(right);
        Ok(out)
    }
    Ok(merge_sort(items, reverse)?
        .into_iter()
        .map(|(_, item)| item)
        .collect())
}

/// Jinja's `ignore_case`: strings lowercased, other values as they are.
fn ignore_case(value: Value) -> Value {
    match value.as_str() {
        Some(s) => Value::from(s.to_lowercase()),
        None => value,
    }
}

/// Jinja's attribute getter: `a.b.0` followed item by item, parts made
/// of digits as indexes; undefined from the first missing step.
fn lookup_path(item: &Value, path: &Value) -> Value {
    let Some(path) = path.as_str() else {
        return item.get_item(path).unwrap_or_default();
    };
    let mut value = item.clone();
    for part in path.split('.') {
        let key = match part.parse::<i64>() {
            Ok(i) if part.bytes().all(|b| b.is_ascii_digit()) => Value::from(i),
            _ => Value::from(part),
        };
        value = value.get_item(&key).unwrap_or_default();
        if value.is_undefined() {
            break;
        }
    }
    value
}

// ---------------------------------------------------------------------
// Filters

/// Jinja's `attr(name)`: Python's `getattr`, so a dict's keys are not
/// its attributes (undefined), while a namespace's or an object's are.
fn attr(value: &Value, name: &str) -> Result<Value, Error> {
    defined(value)?;
    if value.kind() == ValueKind::Map && !is_namespace(value) {
        return Ok(Value::UNDEFINED);
    }
    value.get_attr(name)
}

/// Python's `str.center(width)`: the odd space goes left when the width
/// is odd, as CPython puts it.
fn center(s: &str, width: Option<usize>) -> String {
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if len >= width {
        return s.to_owned();
    }
    let marg = width - len;
    let left = marg / 2 + (marg & width & 1);
    format!("{}{s}{}", " ".repeat(left), " ".repeat(marg - left))
}

/// Jinja's `default(default_value='', boolean=False)`: the default for an
/// undefined value, and with `boolean` for any false one too.
fn default(value: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (args, kwargs) = split_args(args)?;
    if args.len() > 2 {
        return Err(Error::from(ErrorKind::TooManyArguments));
    }
    let mut args = args.into_iter();
    let mut default_value = args.next();
    let mut boolean = args.next();
    if let Some(kwargs) = kwargs {
        if kwargs.has("default_value") {
            default_value = Some(kwargs.get("default_value")?);
        }
        if kwargs.has("boolean") {
            boolean = Some(kwargs.get("boolean")?);
        }
        kwargs.assert_all_used()?;
    }
    let boolean = boolean.is_some_and(|b| b.is_true());
    if value.is_undefined() || (boolean && !value.is_true()) {
        Ok(default_value.unwrap_or_else(|| Value::from("")))
    } else {
        Ok(value.clone())
    }
}

/// Jinja's `dictsort(case_sensitive=False, by='key', reverse=False)`: the
/// `[key, value]` pairs of a mapping sorted by key or value.
fn dictsort(
    value: &Value,
    case_sensitive: Option<bool>,
    by: Option<String>,
    reverse: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    defined(value)?;
    let case_sensitive = kwargs
        .get::<Option<bool>>("case_sensitive")?
        .or(case_sensitive);
    let by = kwargs.get::<Option<String>>("by")?.or(by);
    let reverse = kwargs.get::<Option<bool>>("reverse")?.or(reverse);
    kwargs.assert_all_used()?;
    let pos = match by.as_deref().unwrap_or("key") {
        "key" => 0,
        "value" => 1,
        _ => return Err(invalid(r#"You can only sort by either "key" or "value""#)),
    };
    if value.kind() != ValueKind::Map || is_namespace(value) {
        return Err(invalid(format!(
            "'{}' object has no attribute 'items'",
            python_type(value)
        )));
    }
    let mut pairs = Vec::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        let sort_key = if pos == 0 { key.clone() } else { item.clone() };
        let sort_key = if case_sensitive.unwrap_or(false) {
            sort_key
        } else {
            ignore_case(sort_key)
        };
        pairs.push((vec![sort_key], Value::from(vec![key, item])));
    }
    Ok(Value::from(sorted_by_keys(
        pairs,
        reverse.unwrap_or(false),
    )?))
}

/// markupsafe's `escape` of a string: `&<>'"` as entities.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            c => out.push(c),
        }
    }
    out
}

/// markupsafe's `escape(value)`: `str(value)` escaped and marked safe;
/// a value already marked safe is left as it is.
fn escape(value: &Value) -> Result<Value, Error> {
    defined(value)?;
    if value.is_safe() {
        return Ok(value.clone());
    }
    Ok(Value::from_safe_string(html_escape(&py_str(value))))
}

/// Jinja's `forceescape`: escapes even a value marked safe.
fn forceescape(value: &Value) -> Result<Value, Error> {
    defined(value)?;
    Ok(Value::from_safe_string(html_escape(&py_str(value))))
}

/// Jinja's `filesizeformat(binary=False)` of `float(value)`.
fn filesizeformat(value: &Value, binary: Option<bool>, kwargs: Kwargs) -> Result<String, Error> {
    defined(value)?;
    let binary = kwargs.get::<Option<bool>>("binary")?.or(binary);
    kwargs.assert_all_used()?;
    let bytes = py_float(value).ok_or_else(|| {
        invalid(format!(
            "could not convert {} to float: {}",
            python_type(value),
            py_repr(value)
        ))
    })?;
    Ok(minijinja_contrib::filters::filesizeformat(bytes, binary))
}

/// Jinja's `float(default=0.0)`: Python's `float(value)`, or the default
/// for what it cannot convert.
fn float(value: &Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    defined(value)?;
    let default = kwargs.get::<Option<Value>>("default")?.or(default);
    kwargs.assert_all_used()?;
    Ok(py_float(value).map_or_else(|| default.unwrap_or(Value::from(0.0)), Value::from))
}

/// Jinja's `format(*args, **kwargs)`: Python's `value % args` (or `%
/// kwargs`); both at once fail.
fn format(value: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    defined(value)?;
    let (args, kwargs) = split_args(args)?;
    let operand = match kwargs {
        Some(_) if !args.is_empty() => {
            return Err(invalid(
                "can't handle positional and keyword arguments at the same time",
            ));
        }
        Some(kwargs) => Value::from(kwargs),
        // `value % ()`: only `%%` may be in it.
        None if args.is_empty() => {
            let text = py_str(value);
            if text.replace("%%", "").contains('%') {
                return Err(invalid("not enough arguments for format string"));
            }
            return Ok(Value::from(text.replace("%%", "%")));
        }
        None => Value::from(args),
    };
    super::percent::modulo(Value::from(py_str(value)), operand)
}

/// One group of `groupby`, Jinja's `(grouper, list)` named tuple.
#[derive(Debug)]
struct Group {
    grouper: Value,
    list: Value,
}

impl Object for Group {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match (key.as_usize(), key.as_str()) {
            (Some(0), _) | (_, Some("grouper")) => Some(self.grouper.clone()),
            (Some(1), _) | (_, Some("list")) => Some(self.list.clone()),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Seq(2)
    }
}

/// Jinja's `groupby(attribute, default=None, case_sensitive=False)`: the
/// items sorted and grouped by an attribute; without `case_sensitive`
/// strings group lowercased, and a group's grouper is its first item's.
fn groupby(value: &Value, attribute: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    defined(value)?;
    let attribute = match attribute {
        Some(attribute) => attribute,
        None => kwargs.get::<Value>("attribute")?,
    };
    let default = kwargs.get::<Option<Value>>("default")?;
    let case_sensitive = kwargs
        .get::<Option<bool>>("case_sensitive")?
        .unwrap_or(false);
    kwargs.assert_all_used()?;
    let key_of = |item: &Value| {
        let key = lookup_path(item, &attribute);
        match &default {
            Some(default) if key.is_undefined() => default.clone(),
            _ => key,
        }
    };
    let mut keyed = Vec::new();
    for item in value.try_iter()? {
        let key = key_of(&item);
        defined(&key)?;
        let key = if case_sensitive {
            key
        } else {
            ignore_case(key)
        };
        keyed.push((vec![key.clone()], (key, item)));
    }
    let mut groups: Vec<(Value, Vec<Value>)> = Vec::new();
    for (key, item) in sorted_by_keys(keyed, false)? {
        match groups.last_mut() {
            Some((last, items)) if *last == key => items.push(item),
            _ => groups.push((key, vec![item])),
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(key, items)| {
            let grouper = if case_sensitive {
                key
            } else {
                key_of(&items[0])
            };
            Value::from_object(Group {
                grouper,
                list: Value::from(items),
            })
        })
        .collect();
    Ok(Value::from(groups))
}

/// Jinja's `indent(width=4, first=False, blank=False)`: lines after the
/// first indented by `width` spaces (or by `width` when it is a string),
/// blank lines too with `blank`, the first too with `first`; a final
/// newline is kept.
fn indent(
    s: &str,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = kwargs.get::<Option<Value>>("width")?.or(width);
    let first = kwargs
        .get::<Option<bool>>("first")?
        .or(first)
        .unwrap_or(false);
    let blank = kwargs
        .get::<Option<bool>>("blank")?
        .or(blank)
        .unwrap_or(false);
    kwargs.assert_all_used()?;
    let indention = match &width {
        None => " ".repeat(4),
        Some(w) => match w.as_str() {
            Some(text) => text.to_owned(),
            None => " ".repeat(usize::try_from(w.clone()).unwrap_or(0)),
        },
    };
    // Jinja appends a newline before splitting, so a final one is kept.
    let text = format!("{s}\n");
    let lines = py_splitlines(&text);
    let mut out = if blank {
        lines.join(&format!("\n{indention}"))
    } else {
        let (head, rest) = lines.split_first().map_or(("", &[][..]), |(h, r)| (*h, r));
        let mut out = head.to_owned();
        if !rest.is_empty() {
            out.push('\n');
            let rest: Vec<String> = rest
                .iter()
                .map(|line| {
                    if line.is_empty() {
                        String::new()
                    } else {
                        format!("{indention}{line}")
                    }
                })
                .collect();
            out.push_str(&rest.join("\n"));
        }
        out
    };
    if first {
        out.insert_str(0, &indention);
    }
    Ok(out)
}

/// Jinja's `int(default=0, base=10)`: Python's `int(value)` (`int(value,
/// base)` for a string), else `int(float(value))`, else the default.
fn int(
    value: &Value,
    default: Option<Value>,
    base: Option<u32>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    defined(value)?;
    let default = kwargs.get::<Option<Value>>("default")?.or(default);
    let base = kwargs.get::<Option<u32>>("base")?.or(base).unwrap_or(10);
    kwargs.assert_all_used()?;
    let direct = match value.kind() {
        ValueKind::Bool => Some(i128::from(value.is_true())),
        ValueKind::Number if value.is_integer() => i128::try_from(value.clone()).ok(),
        ValueKind::String => value.as_str().and_then(|s| parse_py_int(s, base)),
        _ => None,
    };
    let truncated = || {
        py_float(value)
            .filter(|f| f.is_finite())
            .map(|f| f.trunc() as i128)
    };
    Ok(match direct.or_else(truncated) {
        Some(i) => int_value(i),
        None => default.unwrap_or(Value::from(0)),
    })
}

/// Jinja's `list`: Python's `list(value)`; none, bools and numbers are
/// not iterable.
fn list(state: &State, value: Value) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::None | ValueKind::Bool | ValueKind::Number => Err(invalid(format!(
            "'{}' object is not iterable",
            python_type(&value)
        ))),
        _ => minijinja::filters::list(state, value),
    }
}

/// Python's `str.replace(old, new, count)`: `count` below zero replaces
/// all; an empty `old` inserts `new` before every character and at the end.
fn python_replace(s: &str, old: &str, new: &str, count: i64) -> String {
    let limit = usize::try_from(count).unwrap_or(usize::MAX);
    if !old.is_empty() {
        return s.replacen(old, new, limit);
    }
    let mut out = String::with_capacity(s.len());
    let mut done = 0;
    for c in s.chars() {
        if done < limit {
            out.push_str(new);
            done += 1;
        }
        out.push(c);
    }
    if done < limit {
        out.push_str(new);
    }
    out
}

/// Jinja's `pprint`: Python's `repr` (ansible-core's dicts and lists
/// print as `repr` shows them, on one line, keys in their order).
fn pprint(value: &Value) -> Result<String, Error> {
    defined(value)?;
    Ok(py_repr(value))
}

/// Jinja's `replace(old, new, count=None)`: Python's `str.replace` on
/// `str(value)`.
fn replace(
    value: &Value,
    old: &Value,
    new: &Value,
    count: Option<i64>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    defined(value)?;
    let count = kwargs.get::<Option<i64>>("count")?.or(count).unwrap_or(-1);
    kwargs.assert_all_used()?;
    Ok(python_replace(
        &py_str(value),
        &py_str(old),
        &py_str(new),
        count,
    ))
}

/// Jinja's `reverse`: a string backwards, a mapping's keys in reverse, a
/// sequence's items in reverse.
fn reverse(value: &Value) -> Result<Value, Error> {
    defined(value)?;
    if value.kind() == ValueKind::Map {
        let mut keys: Vec<Value> = value.try_iter()?.collect();
        keys.reverse();
        return Ok(Value::from(keys));
    }
    minijinja::filters::reverse(value)
}

/// Jinja's `sort(reverse=False, case_sensitive=False, attribute=None)`:
/// Python's stable `sorted`, strings lowercased unless case-sensitive,
/// `attribute` a comma-separated list of dotted paths; values Python
/// cannot order fail.
fn sort(
    value: &Value,
    reverse: Option<bool>,
    case_sensitive: Option<bool>,
    attribute: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    defined(value)?;
    let reverse = kwargs
        .get::<Option<bool>>("reverse")?
        .or(reverse)
        .unwrap_or(false);
    let case_sensitive = kwargs
        .get::<Option<bool>>("case_sensitive")?
        .or(case_sensitive)
        .unwrap_or(false);
    let attribute = kwargs.get::<Option<String>>("attribute")?.or(attribute);
    kwargs.assert_all_used()?;
    let paths: Vec<Value> = attribute
        .iter()
        .flat_map(|a| a.split(','))
        .map(Value::from)
        .collect();
    let mut keyed = Vec::new();
    for item in value.try_iter()? {
        let keys = if paths.is_empty() {
            vec![item.clone()]
        } else {
            paths.iter().map(|p| lookup_path(&item, p)).collect()
        };
        let keys = keys
            .into_iter()
            .map(|k| {
                defined(&k)?;
                Ok(if case_sensitive { k } else { ignore_case(k) })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        keyed.push((keys, item));
    }
    Ok(Value::from(sorted_by_keys(keyed, reverse)?))
}

/// The ISO-8859-1 entities `html.unescape` also takes without `;`.
const LEGACY_ENTITIES: &[&str] = &[
    "AElig", "AMP", "Aacute", "Acirc", "Agrave", "Aring", "Atilde", "Auml", "COPY", "Ccedil",
    "ETH", "Eacute", "Ecirc", "Egrave", "Euml", "GT", "Iacute", "Icirc", "Igrave", "Iuml", "LT",
    "Ntilde", "Oacute", "Ocirc", "Ograve", "Oslash", "Otilde", "Ouml", "QUOT", "REG", "THORN",
    "Uacute", "Ucirc", "Ugrave", "Uuml", "Yacute", "aacute", "acirc", "acute", "aelig", "agrave",
    "amp", "aring", "atilde", "auml", "brvbar", "ccedil", "cedil", "cent", "copy", "curren", "deg",
    "divide", "eacute", "ecirc", "egrave", "eth", "euml", "frac12", "frac14", "frac34", "gt",
    "iacute", "icirc", "iexcl", "igrave", "iquest", "iuml", "laquo", "lt", "macr", "micro",
    "middot", "nbsp", "not", "ntilde", "oacute", "ocirc", "ograve", "ordf", "ordm", "oslash",
    "otilde", "ouml", "para", "plusmn", "pound", "quot", "raquo", "reg", "sect", "shy", "sup1",
    "sup2", "sup3", "szlig", "thorn", "times", "uacute", "ucirc", "ugrave", "uml", "uuml",
    "yacute", "yen", "yuml",
];

/// The HTML5 entities that stand for whitespace (which minijinja-contrib's
/// entity lookup folds away).
const SPACE_ENTITIES: &[(&str, &str)] = &[
    ("MediumSpace", "\u{205f}"),
    ("NewLine", "\n"),
    ("NonBreakingSpace", "\u{a0}"),
    ("Tab", "\t"),
    ("ThickSpace", "\u{205f}\u{200a}"),
    ("ThinSpace", "\u{2009}"),
    ("VeryThinSpace", "\u{200a}"),
    ("emsp", "\u{2003}"),
    ("emsp13", "\u{2004}"),
    ("emsp14", "\u{2005}"),
    ("ensp", "\u{2002}"),
    ("hairsp", "\u{200a}"),
    ("nbsp", "\u{a0}"),
    ("numsp", "\u{2007}"),
    ("puncsp", "\u{2008}"),
    ("thinsp", "\u{2009}"),
];

/// The text of the named HTML5 entity `&name;`, from minijinja-contrib's
/// table of them.
fn named_entity(name: &str) -> Option<String> {
    if let Some((_, text)) = SPACE_ENTITIES.iter().find(|(n, _)| *n == name) {
        return Some((*text).to_owned());
    }
    let entity = format!("&{name};");
    let text = minijinja_contrib::filters::striptags(entity.clone());
    (text != entity && !text.is_empty()).then_some(text)
}

/// The character of a numeric reference `&#num;`, as `html.unescape`
/// replaces it (Windows-1252 for the C1 range, U+FFFD for what is no
/// character, nothing for control characters).
fn numeric_entity(num: u32) -> String {
    const CP1252: &str = "€\u{81}‚ƒ„…†‡ˆ‰Š‹Œ\u{8d}Ž\u{8f}\u{90}‘’“”•–—˜™š›œ\u{9d}žŸ";
    match num {
        0 => "\u{fffd}".into(),
        0x0d => "\r".into(),
        0x80..=0x9f => CP1252
            .chars()
            .nth((num - 0x80) as usize)
            .map(String::from)
            .unwrap_or_default(),
        0xd800..=0xdfff | 0x11_0000.. => "\u{fffd}".into(),
        0x1..=0x8 | 0xb | 0xe..=0x1f | 0x7f | 0xfdd0..=0xfdef => String::new(),
        n if n & 0xfffe == 0xfffe => String::new(),
        n => char::from_u32(n).map(String::from).unwrap_or_default(),
    }
}

/// Python's `html.unescape`: numeric and named character references.
fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (text, used) = if let Some(num) = after.strip_prefix('#') {
            let (hex, digits) = match num.strip_prefix(['x', 'X']) {
                Some(hex) => (true, hex),
                None => (false, num),
            };
            let len = digits
                .find(|c: char| {
                    !(if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    })
                })
                .unwrap_or(digits.len());
            let value = u32::from_str_radix(&digits[..len], if hex { 16 } else { 10 });
            match (len, value) {
                (0, _) => (None, 0),
                (_, value) => {
                    let semi = usize::from(digits[len..].starts_with(';'));
                    let text = numeric_entity(value.unwrap_or(u32::MAX));
                    (Some(text), 1 + usize::from(hex) + len + semi)
                }
            }
        } else {
            let len = after
                .char_indices()
                .take(32)
                .take_while(|(_, c)| {
                    !matches!(c, '\t' | '\n' | '\x0c' | ' ' | '<' | '&' | '#' | ';')
                })
                .last()
                .map_or(0, |(i, c)| i + c.len_utf8());
            let name = &after[..len];
            if after[len..].starts_with(';') {
                match named_entity(name) {
                    Some(text) => (Some(text), len + 1),
                    None => legacy_prefix(name),
                }
            } else {
                legacy_prefix(name)
            }
        };
        match text {
            Some(text) => {
                out.push_str(&text);
                rest = &after[used..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The longest ISO-8859-1 entity name `name` starts with, as
/// `html.unescape` takes `&copy2` for `©2`.
fn legacy_prefix(name: &str) -> (Option<String>, usize) {
    (2..=name.len())
        .rev()
        .filter_map(|len| name.get(..len))
        .find(|prefix| LEGACY_ENTITIES.contains(prefix))
        .and_then(|prefix| Some((named_entity(prefix)?, prefix.len())))
        .map_or((None, 0), |(text, len)| (Some(text), len))
}

/// Jinja's `striptags` (markupsafe's): comments and tags removed,
/// whitespace collapsed to single spaces, then entities unescaped.
fn striptags(value: &Value) -> Result<String, Error> {
    defined(value)?;
    let text = py_str(value);
    let mut kept = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(start) = text[pos..].find('<').map(|i| pos + i) {
        let end = if text[start..].starts_with("<!--") {
            text[start + 4..].find("-->").map(|i| start + 4 + i + 3)
        } else {
            text[start..].find('>').map(|i| start + i + 1)
        };
        let Some(end) = end else { break };
        kept.push_str(&text[pos..start]);
        pos = end;
    }
    kept.push_str(&text[pos..]);
    let collapsed: Vec<&str> = kept.split(py_space).filter(|w| !w.is_empty()).collect();
    Ok(html_unescape(&collapsed.join(" ")))
}

/// Python's `json.dumps` with `sort_keys` (Jinja's policy), `indent` as
/// given, and ASCII output.
fn dump_json(value: &Json, indent: Option<&str>, depth: usize, out: &mut String) {
    let newline = |out: &mut String, depth: usize| {
        if let Some(indent) = indent {
            out.push('\n');
            out.push_str(&indent.repeat(depth));
        }
    };
    let separator = if indent.is_some() { "," } else { ", " };
    match value {
        Json::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, depth + 1);
                dump_json(item, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        Json::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, depth + 1);
                out.push_str(&pyjson::dumps(&Json::String(key.clone())));
                out.push_str(": ");
                dump_json(&map[key], indent, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
        other => out.push_str(&pyjson::dumps(other)),
    }
}

/// Jinja's `tojson(indent=None)`: `json.dumps` with sorted keys, then
/// `<`, `>`, `&` and `'` escaped for HTML; marked safe.
fn tojson(value: &Value, indent: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    defined(value)?;
    let indent = kwargs.get::<Option<Value>>("indent")?.or(indent);
    kwargs.assert_all_used()?;
    let indent = indent.map(|i| match i.as_str() {
        Some(s) => s.to_owned(),
        None => " ".repeat(i64::try_from(i).unwrap_or(0).max(0) as usize),
    });
    let mut out = String::new();
    dump_json(&to_json(value)?, indent.as_deref(), 0, &mut out);
    let out = out
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027");
    Ok(Value::from_safe_string(out))
}

/// Jinja's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(
    s: &str,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<&str>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let length = kwargs
        .get::<Option<usize>>("length")?
        .or(length)
        .unwrap_or(255);
    let killwords = kwargs
        .get::<Option<bool>>("killwords")?
        .or(killwords)
        .unwrap_or(false);
    let end = kwargs.get::<Option<&str>>("end")?.or(end).unwrap_or("...");
    let leeway = kwargs.get::<Option<usize>>("leeway")?.unwrap_or(5);
    kwargs.assert_all_used()?;
    let end_len = end.chars().count();
    if length < end_len {
        return Err(invalid(format!(
            "expected length >= {end_len}, got {length}"
        )));
    }
    if s.chars().count() <= length + leeway {
        return Ok(s.to_owned());
    }
    let head: String = s.chars().take(length - end_len).collect();
    let head = if killwords {
        head.as_str()
    } else {
        head.rsplit_once(' ')
            .map_or(head.as_str(), |(kept, _)| kept)
    };
    Ok(format!("{head}{end}"))
}

/// Jinja's `url_quote`: `str(value)` as UTF-8, percent-encoded but for
/// letters, digits, `_.-~` and (outside a query string) `/`; in a query
/// string a space is `+`.
fn url_quote(value: &Value, for_query: bool) -> String {
    let mut out = String::new();
    for byte in py_str(value).bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(byte));
            }
            b'/' if !for_query => out.push('/'),
            b' ' if for_query => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Jinja's `urlencode`: a string (or other single value) quoted for a
/// URL path; a mapping, or a sequence of pairs, as a query string.
fn urlencode(value: &Value) -> Result<String, Error> {
    defined(value)?;
    let pairs: Vec<(Value, Value)> = match value.kind() {
        ValueKind::Map => value
            .try_iter()?
            .map(|k| {
                let v = value.get_item(&k)?;
                Ok((k, v))
            })
            .collect::<Result<_, Error>>()?,
        ValueKind::Seq | ValueKind::Iterable => value
            .try_iter()?
            .map(|pair| {
                let items: Vec<Value> = pair.try_iter()?.collect();
                match <[Value; 2]>::try_from(items) {
                    Ok([k, v]) => Ok((k, v)),
                    Err(_) => Err(invalid("too many values to unpack (expected 2)")),
                }
            })
            .collect::<Result<_, Error>>()?,
        _ => return Ok(url_quote(value, false)),
    };
    let pairs: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", url_quote(k, true), url_quote(v, true)))
        .collect();
    Ok(pairs.join("&"))
}

/// Jinja's `_http_re`: what `urlize` takes for a web address.
fn http_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"(?ix)^(
                (https?://|www\.)(([\w%-]+\.)+)?([a-z]{2,63}|xn--[\w%]{2,59})
              | ([\w%-]{2,63}\.)+(com|net|int|edu|gov|org|info|mil)
              | (https?://)((([\d]{1,3})(\.[\d]{1,3}){3})|(\[([\da-f]{0,4}:){2}([\da-f]{0,4}:?){1,6}\]))
            )(?::[\d]{1,5})?(?:[/?\#]\S*)?$",
        )
        .expect("valid regex")
    })
}

/// Jinja's `_email_re`.
fn email_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^\S+@\w[\w.-]*\.\w+$").expect("valid regex"))
}

/// Jinja's `urlize(trim_url_limit=None, nofollow=False, target=None,
/// rel=None, extra_schemes=None)`: the text escaped, its web addresses and
/// email addresses made links (`rel="noopener"` by Jinja's policy).
fn urlize(value: &Value, args: Rest<ValueOrKwargs>) -> Result<String, Error> {
    defined(value)?;
    let [trim_url_limit, nofollow, target, rel, extra_schemes] = named_args(
        args,
        [
            "trim_url_limit",
            "nofollow",
            "target",
            "rel",
            "extra_schemes",
        ],
    )?;
    let trim_url_limit = trim_url_limit.map(usize::try_from).transpose()?;
    let nofollow = nofollow.is_some_and(|n| n.is_true());
    let target = target.map(|t| py_str(&t));
    let rel = rel.map(|r| py_str(&r));
    let extra_schemes: Vec<String> = match extra_schemes {
        Some(schemes) => schemes.try_iter()?.map(|s| py_str(&s)).collect(),
        None => Vec::new(),
    };
    let scheme_re = regex::Regex::new(r"^([\w.+-]{2,}:(/){0,2})$").expect("valid regex");
    if let Some(bad) = extra_schemes.iter().find(|s| !scheme_re.is_match(s)) {
        return Err(invalid(format!(
            "'{bad}' is not a valid URI scheme prefix."
        )));
    }
    let mut rel_parts: Vec<&str> = rel.as_deref().unwrap_or("").split_whitespace().collect();
    if nofollow {
        rel_parts.push("nofollow");
    }
    rel_parts.push("noopener");
    rel_parts.sort_unstable();
    rel_parts.dedup();
    let rel_attr = format!(" rel=\"{}\"", html_escape(&rel_parts.join(" ")));
    let target_attr = match target.as_deref() {
        Some(t) if !t.is_empty() => format!(" target=\"{}\"", html_escape(t)),
        _ => String::new(),
    };
    let trim = |url: &str| match trim_url_limit {
        Some(limit) if url.chars().count() > limit => {
            format!("{}...", url.chars().take(limit).collect::<String>())
        }
        _ => url.to_owned(),
    };
    let text = if value.is_safe() {
        py_str(value)
    } else {
        html_escape(&py_str(value))
    };
    let mut out = String::with_capacity(text.len());
    for word in split_keeping_whitespace(&text) {
        if word.starts_with(char::is_whitespace) {
            out.push_str(word);
            continue;
        }
        let (head, mut middle, mut tail) = split_punctuation(word);
        // Parentheses and brackets opened in the address take their
        // closing ones back from the trailing punctuation.
        for (open, close) in [("(", ")"), ("<", ">"), ("&lt;", "&gt;")] {
            let opened = middle.matches(open).count();
            if opened <= middle.matches(close).count() {
                continue;
            }
            for _ in 0..opened.min(tail.matches(close).count()) {
                let Some(at) = tail.find(close) else { break };
                let cut = at + close.len();
                middle.push_str(&tail[..cut]);
                tail = tail[cut..].to_owned();
            }
        }
        let linked = if http_re().is_match(&middle) {
            let href = if middle.starts_with("https://") || middle.starts_with("http://") {
                middle.clone()
            } else {
                format!("https://{middle}")
            };
            format!(
                "<a href=\"{href}\"{rel_attr}{target_attr}>{}</a>",
                trim(&middle)
            )
        } else if let Some(address) = middle
            .strip_prefix("mailto:")
            .filter(|a| email_re().is_match(a))
        {
            format!("<a href=\"{middle}\">{address}</a>")
        } else if middle.contains('@')
            && !middle.starts_with("www.")
            && !middle.starts_with('@')
            && !middle.contains(':')
            && email_re().is_match(&middle)
        {
            format!("<a href=\"mailto:{middle}\">{middle}</a>")
        } else {
            for scheme in &extra_schemes {
                if middle != *scheme && middle.starts_with(scheme.as_str()) {
                    middle = format!("<a href=\"{middle}\"{rel_attr}{target_attr}>{middle}</a>");
                }
            }
            middle
        };
        out.push_str(head);
        out.push_str(&linked);
        out.push_str(&tail);
    }
    Ok(out)
}

/// `re.split(r"(\s+)", text)`: runs of whitespace and of the rest.
fn split_keeping_whitespace(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut space = None;
    for (i, c) in text.char_indices() {
        let is_space = c.is_whitespace();
        if space.is_some_and(|s| s != is_space) {
            parts.push(&text[start..i]);
            start = i;
        }
        space = Some(is_space);
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts
}

/// `urlize`'s split of a word into leading `(`/`<`, the middle, and
/// trailing `)`, `>`, `.`, `,` and newlines.
fn split_punctuation(word: &str) -> (&str, String, String) {
    let mut middle = word;
    loop {
        let rest = middle
            .strip_prefix('(')
            .or_else(|| middle.strip_prefix('<'))
            .or_else(|| middle.strip_prefix("&lt;"));
        match rest {
            Some(rest) => middle = rest,
            None => break,
        }
    }
    let head = &word[..word.len() - middle.len()];
    let mut body = middle;
    loop {
        let rest = body
            .strip_suffix("&gt;")
            .or_else(|| body.strip_suffix([')', '>', '.', ',', '\n']));
        match rest {
            Some(rest) => body = rest,
            None => break,
        }
    }
    (head, body.to_owned(), middle[body.len()..].to_owned())
}

/// Jinja's `wordcount`: the number of `\w+` runs.
fn wordcount(value: &Value) -> Result<usize, Error> {
    defined(value)?;
    let text = py_str(value);
    let word = |c: char| c.is_alphanumeric() || c == '_';
    Ok(text.split(|c| !word(c)).filter(|w| !w.is_empty()).count())
}

/// Jinja's `wordwrap(width=79, break_long_words=True, wrapstring=None,
/// break_on_hyphens=True)`: each line of the text wrapped by Python's
/// `textwrap.wrap` (whitespace and tabs kept as they are), joined by
/// `wrapstring`.
fn wordwrap(value: &Value, args: Rest<ValueOrKwargs>) -> Result<String, Error> {
    defined(value)?;
    let [width, break_long_words, wrapstring, break_on_hyphens] = named_args(
        args,
        [
            "width",
            "break_long_words",
            "wrapstring",
            "break_on_hyphens",
        ],
    )?;
    let width = width.map_or(Ok(79), i64::try_from)?;
    let wrapper = TextWrapper {
        width: usize::try_from(width)
            .ok()
            .filter(|w| *w > 0)
            .ok_or_else(|| invalid(format!("invalid width {width} (must be > 0)")))?,
        break_long_words: break_long_words.is_none_or(|b| b.is_true()),
        break_on_hyphens: break_on_hyphens.is_none_or(|b| b.is_true()),
    };
    let wrapstring = wrapstring.map_or_else(|| "\n".to_owned(), |w| py_str(&w));
    let text = py_str(value);
    let paragraphs: Vec<String> = py_splitlines(&text)
        .into_iter()
        .map(|line| wrapper.wrap(line).join(&wrapstring))
        .collect();
    Ok(paragraphs.join(&wrapstring))
}

/// Python's `textwrap.TextWrapper` with Jinja's settings (no tab
/// expansion, whitespace not replaced, whitespace dropped at line ends).
struct TextWrapper {
    width: usize,
    break_long_words: bool,
    break_on_hyphens: bool,
}

/// `textwrap`'s whitespace.
fn wrap_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl TextWrapper {
    fn wrap(&self, text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let chunks = if self.break_on_hyphens {
            split_words_and_hyphens(&chars)
        } else {
            split_words(&chars)
        };
        self.wrap_chunks(chunks)
    }

    /// `TextWrapper._wrap_chunks`: chunks onto lines of at most `width`.
    fn wrap_chunks(&self, mut chunks: Vec<Vec<char>>) -> Vec<String> {
        let blank = |chunk: &[char]| chunk.iter().all(|c| py_space(*c));
        chunks.reverse();
        let mut lines = Vec::new();
        while !chunks.is_empty() {
            let mut line: Vec<Vec<char>> = Vec::new();
            let mut len = 0;
            if !lines.is_empty() && chunks.last().is_some_and(|c| blank(c)) {
                chunks.pop();
            }
            while let Some(chunk) = chunks.last() {
                if len + chunk.len() > self.width {
                    break;
                }
                len += chunk.len();
                line.extend(chunks.pop());
            }
            if chunks.last().is_some_and(|c| c.len() > self.width) {
                self.handle_long_word(&mut chunks, &mut line, len);
            }
            if line.last().is_some_and(|c| blank(c)) {
                line.pop();
            }
            if !line.is_empty() {
                lines.push(line.concat().into_iter().collect());
            }
        }
        lines
    }

    /// `TextWrapper._handle_long_word`: a word longer than a line is cut
    /// (after a hyphen when it can), or put on a line of its own.
    fn handle_long_word(&self, chunks: &mut Vec<Vec<char>>, line: &mut Vec<Vec<char>>, len: usize) {
        let space_left = self.width.saturating_sub(len).max(1);
        if self.break_long_words {
            let Some(chunk) = chunks.last_mut() else {
                return;
            };
            let mut end = space_left.min(chunk.len());
            if self.break_on_hyphens && chunk.len() > space_left {
                let hyphen = chunk[..space_left].iter().rposition(|c| *c == '-');
                if let Some(h) = hyphen.filter(|h| *h > 0 && chunk[..*h].iter().any(|c| *c != '-'))
                {
                    end = h + 1;
                }
            }
            let rest = chunk.split_off(end);
            line.push(std::mem::replace(chunk, rest));
        } else if line.is_empty() {
            line.extend(chunks.pop());
        }
    }
}

/// `textwrap`'s `wordsep_simple_re`: runs of whitespace and of the rest.
fn split_words(chars: &[char]) -> Vec<Vec<char>> {
    let mut chunks: Vec<Vec<char>> = Vec::new();
    for &c in chars {
        match chunks.last_mut() {
            Some(chunk) if wrap_space(chunk[0]) == wrap_space(c) => chunk.push(c),
            _ => chunks.push(vec![c]),
        }
    }
    chunks
}

/// `textwrap`'s `wordsep_re`: runs of whitespace, em-dashes (`--`)
/// between words, and words, which also end after a hyphen that has two
/// letters before it (or a letter-hyphen-letter) and a letter after.
fn split_words_and_hyphens(c: &[char]) -> Vec<Vec<char>> {
    let n = c.len();
    let at = |i: usize| c.get(i).copied();
    let letter = |i: usize| at(i).is_some_and(|ch| is_word_char(ch) && !ch.is_numeric());
    let punct = |i: usize| {
        at(i).is_some_and(|ch| {
            is_word_char(ch) || matches!(ch, '!' | '"' | '\'' | '&' | '.' | ',' | '?')
        })
    };
    // `-{2,}\w` starts at `i`.
    let dashes_then_word = |i: usize| {
        let mut j = i;
        while at(j) == Some('-') {
            j += 1;
        }
        j >= i + 2 && at(j).is_some_and(is_word_char)
    };
    let mut chunks = Vec::new();
    let mut i = 0;
    while i < n {
        let end = if wrap_space(c[i]) {
            (i..n).find(|&j| !wrap_space(c[j])).unwrap_or(n)
        } else if i > 0 && punct(i - 1) && dashes_then_word(i) {
            (i..n).find(|&j| c[j] != '-').unwrap_or(n)
        } else {
            let mut k = i + 1;
            loop {
                if at(k) == Some('-') {
                    let e = k + 1;
                    let before = (e >= 3 && letter(e - 3) && letter(e - 2))
                        || (e >= 4 && letter(e - 4) && at(e - 3) == Some('-') && letter(e - 2));
                    let after =
                        letter(e) && (letter(e + 1) || (at(e + 1) == Some('-') && letter(e + 2)));
                    if before && after {
                        break e;
                    }
                }
                if k == n || wrap_space(c[k]) {
                    break k;
                }
                if punct(k - 1) && dashes_then_word(k) {
                    break k;
                }
                k += 1;
            }
        };
        chunks.push(c[i..end].to_vec());
        i = end;
    }
    chunks
}

/// Jinja's `xmlattr(autospace=True)`: ` key="value"` for each item, both
/// escaped, none values left out; a key with whitespace, `/`, `>` or `=`
/// fails.
fn xmlattr(value: &Value, autospace: Option<bool>) -> Result<String, Error> {
    defined(value)?;
    let mut items = Vec::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        if item.is_none() {
            continue;
        }
        defined(&item)?;
        let key = py_str(&key);
        if key.contains([' ', '\t', '\n', '\r', '\x0b', '\x0c', '/', '>', '=']) {
            return Err(invalid(format!(
                "Invalid character in attribute name: {}",
                py_repr(&Value::from(key))
            )));
        }
        items.push(format!("{}=\"{}\"", html_escape(&key), escape(&item)?));
    }
    let out = items.join(" ");
    Ok(if autospace.unwrap_or(true) && !out.is_empty() {
        format!(" {out}")
    } else {
        out
    })
}

// ---------------------------------------------------------------------
// Tests

/// Python's `callable`: functions, macros and joiners.
fn is_callable(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        let name = o.type_name();
        ["::BoxedFunction", "::Macro", "::Joiner"]
            .iter()
            .any(|t| name.ends_with(t))
    })
}

/// Jinja's `divisibleby(num)`: `value % num == 0`, Python's remainder
/// (dividing by zero fails).
fn divisibleby(value: &Value, num: &Value) -> Result<bool, Error> {
    let rem = super::percent::modulo(value.clone(), num.clone())?;
    Ok(rem.kind() == ValueKind::Number && !rem.is_true())
}

/// `value % divisor == rem` (Jinja's `even` and `odd`): numbers only.
fn remainder_is(value: &Value, divisor: i64, rem: i64) -> Result<bool, Error> {
    let value = match value.kind() {
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::Number => value.clone(),
        _ => {
            return Err(invalid(format!(
                "unsupported operand type(s) for %: '{}' and 'int'",
                python_type(value)
            )));
        }
    };
    let got = super::percent::modulo(value, Value::from(divisor))?;
    Ok(py_float(&got) == Some(rem as f64))
}

/// Python's `isinstance(value, Mapping)`: dicts, not namespaces.
fn is_mapping(value: &Value) -> bool {
    value.kind() == ValueKind::Map && !is_namespace(value)
}

/// Jinja's `sequence`: what has a length and items, strings and dicts
/// included.
fn is_sequence(value: &Value) -> bool {
    match value.kind() {
        ValueKind::String | ValueKind::Bytes | ValueKind::Seq => true,
        ValueKind::Map => !is_namespace(value),
        _ => false,
    }
}

// ---------------------------------------------------------------------
// Globals

/// Jinja's `Cycler`: `next()` gives the current item and moves on,
/// `current` is the current one, `reset()` goes back to the first.
#[derive(Debug)]
struct Cycler {
    items: Vec<Value>,
    pos: AtomicUsize,
}

impl Object for Cycler {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (key.as_str()? == "current").then(|| self.items[self.pos.load(Atomic::Relaxed)].clone())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "next" => {
                let () = from_args(args)?;
                let pos = self.pos.load(Atomic::Relaxed);
                self.pos
                    .store((pos + 1) % self.items.len(), Atomic::Relaxed);
                Ok(self.items[pos].clone())
            }
            "reset" => {
                let () = from_args(args)?;
                self.pos.store(0, Atomic::Relaxed);
                Ok(Value::from(()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// Jinja's `cycler(*items)`.
fn cycler(items: Rest<Value>) -> Result<Value, Error> {
    if items.is_empty() {
        return Err(invalid("at least one item has to be provided"));
    }
    Ok(Value::from_object(Cycler {
        items: items.0,
        pos: AtomicUsize::new(0),
    }))
}

/// Python's `dict(pairs, **kwargs)` (`dict(keys | zip(values))`): a
/// mapping or a sequence of pairs, then the keyword arguments.
fn dict(pairs: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut out: Vec<(Value, Value)> = Vec::new();
    if let Some(pairs) = pairs.filter(|p| !p.is_none()) {
        if pairs.kind() == ValueKind::Map {
            for key in pairs.try_iter()? {
                let value = pairs.get_item(&key)?;
                out.push((key, value));
            }
        } else {
            for pair in pairs.try_iter()? {
                let items: Vec<Value> = pair.try_iter()?.collect();
                let [key, value] = <[Value; 2]>::try_from(items).map_err(|items| {
                    invalid(format!(
                        "dictionary update sequence element has length {}; 2 is required",
                        items.len()
                    ))
                })?;
                out.push((key, value));
            }
        }
    }
    for key in kwargs.args() {
        out.push((Value::from(key), kwargs.get::<Value>(key)?));
    }
    Ok(Value::from_pairs(out))
}

/// Jinja's `LOREM_IPSUM_WORDS`.
#[rustfmt::skip]
const LOREM_IPSUM_WORDS: &[&str] = &[
    "a", "ac", "accumsan", "ad", "adipiscing", "aenean", "aliquam", "aliquet", "amet", "ante",
    "aptent", "arcu", "at", "auctor", "augue", "bibendum", "blandit", "class", "commodo",
    "condimentum", "congue", "consectetuer", "consequat", "conubia", "convallis", "cras",
    "cubilia", "cum", "curabitur", "curae", "cursus", "dapibus", "diam", "dictum", "dictumst",
    "dignissim", "dis", "dolor", "donec", "dui", "duis", "egestas", "eget", "eleifend",
    "elementum", "elit", "enim", "erat", "eros", "est", "et", "etiam", "eu", "euismod",
    "facilisi", "facilisis", "fames", "faucibus", "felis", "fermentum", "feugiat", "fringilla",
    "fusce", "gravida", "habitant", "habitasse", "hac", "hendrerit", "hymenaeos", "iaculis",
    "id", "imperdiet", "in", "inceptos", "integer", "interdum", "ipsum", "justo", "lacinia",
    "lacus", "laoreet", "lectus", "leo", "libero", "ligula", "litora", "lobortis", "lorem",
    "luctus", "maecenas", "magna", "magnis", "malesuada", "massa", "mattis", "mauris", "metus",
    "mi", "molestie", "mollis", "montes", "morbi", "mus", "nam", "nascetur", "natoque", "nec",
    "neque", "netus", "nibh", "nisi", "nisl", "non", "nonummy", "nostra", "nulla", "nullam",
    "nunc", "odio", "orci", "ornare", "parturient", "pede", "pellentesque", "penatibus", "per",
    "pharetra", "phasellus", "placerat", "platea", "porta", "porttitor", "posuere", "potenti",
    "praesent", "pretium", "primis", "proin", "pulvinar", "purus", "quam", "quis", "quisque",
    "rhoncus", "ridiculus", "risus", "rutrum", "sagittis", "sapien", "scelerisque", "sed",
    "sem", "semper", "senectus", "sit", "sociis", "sociosqu", "sodales", "sollicitudin",
    "suscipit", "suspendisse", "taciti", "tellus", "tempor", "tempus", "tincidunt", "torquent",
    "tortor", "tristique", "turpis", "ullamcorper", "ultrices", "ultricies", "urna", "ut",
    "varius", "vehicula", "vel", "velit", "venenatis", "vestibulum", "vitae", "vivamus",
    "viverra", "volutpat", "vulputate",
];

/// Jinja's `lipsum(n=5, html=True, min=20, max=100)`: `n` paragraphs of
/// `min` to `max - 1` random words, with commas and full stops as Jinja
/// scatters them; as `<p>` elements (marked safe) or blank-line separated.
fn lipsum(
    n: Option<usize>,
    html: Option<bool>,
    min: Option<i64>,
    max: Option<i64>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let n = kwargs.get::<Option<usize>>("n")?.or(n).unwrap_or(5);
    let html = kwargs.get::<Option<bool>>("html")?.or(html).unwrap_or(true);
    let min = kwargs.get::<Option<i64>>("min")?.or(min).unwrap_or(20);
    let max = kwargs.get::<Option<i64>>("max")?.or(max).unwrap_or(100);
    kwargs.assert_all_used()?;
    let mut rng = PyRandom::unseeded();
    let mut randrange = |start: i64, stop: i64| {
        rng.randrange(start, stop, 1)
            .ok_or_else(|| invalid(format!("empty range in randrange({start}, {stop})")))
    };
    let mut paragraphs = Vec::with_capacity(n);
    for _ in 0..n {
        let mut next_capitalized = true;
        let (mut last_comma, mut last_fullstop) = (0, 0);
        let mut last = "";
        let mut words: Vec<String> = Vec::new();
        for idx in 0..randrange(min, max)? {
            let choice = loop {
                let pick = randrange(0, LOREM_IPSUM_WORDS.len() as i64)?;
                let word = LOREM_IPSUM_WORDS[pick as usize];
                if word != last {
                    last = word;
                    break word;
                }
            };
            let mut word = choice.to_owned();
            if next_capitalized {
                word = capitalize(&word);
                next_capitalized = false;
            }
            if idx - randrange(3, 8)? > last_comma {
                last_comma = idx;
                last_fullstop += 2;
                word.push(',');
            }
            if idx - randrange(10, 20)? > last_fullstop {
                last_comma = idx;
                last_fullstop = idx;
                word.push('.');
                next_capitalized = true;
            }
            words.push(word);
        }
        let mut paragraph = words.join(" ");
        if paragraph.ends_with(',') {
            paragraph.pop();
            paragraph.push('.');
        } else if !paragraph.ends_with('.') {
            paragraph.push('.');
        }
        paragraphs.push(paragraph);
    }
    Ok(if html {
        let paragraphs: Vec<String> = paragraphs
            .iter()
            .map(|p| format!("<p>{}</p>", html_escape(p)))
            .collect();
        Value::from_safe_string(paragraphs.join("\n"))
    } else {
        Value::from(paragraphs.join("\n\n"))
    })
}

/// Python's `str.capitalize` of an ASCII word.
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect()
    })
}

/// Jinja's `namespace(mapping=None, **kwargs)`: attributes from a
/// mapping (or pairs), then from the keyword arguments.
fn namespace(pairs: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let attrs = dict(pairs, kwargs)?;
    minijinja::functions::namespace(Some(ValueOrKwargs::from(attrs)))
}

/// ansible-core's `undef(hint=None)`: an undefined value (ansible-core's
/// failure on using it shows the hint; here it fails as any undefined
/// value does).
fn undef(hint: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let hint = kwargs.get::<Option<Value>>("hint")?.or(hint);
    kwargs.assert_all_used()?;
    match hint {
        Some(hint) if hint.as_str().is_none() => Err(invalid(format!(
            "The 'hint' argument must be of type 'str' or 'NoneType', not '{}'.",
            python_type(&hint)
        ))),
        _ => Ok(Value::UNDEFINED),
    }
}
