//! Ansible's filters and tests on top of minijinja's builtins. New ones go
//! here and into [`register`].

use minijinja::functions::Function;
use minijinja::value::{FunctionArgs, FunctionResult, Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

use super::convert::{to_json, to_value};
use crate::util::{base64, pyjson};

/// Registers one of Ansible's filters under its short name and its
/// fully qualified one (`ansible.builtin.to_yaml`).
pub(super) fn add_filter<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: Function<Rv, Args> + Clone,
    Rv: FunctionResult,
    Args: for<'a> FunctionArgs<'a>,
{
    env.add_filter(name, f.clone());
    env.add_filter(format!("ansible.builtin.{name}"), f);
}

/// [`add_filter`] for tests (`x is ansible.builtin.version(...)`).
pub(super) fn add_test<F, Rv, Args>(env: &mut Environment<'static>, name: &'static str, f: F)
where
    F: Function<Rv, Args> + Clone,
    Rv: FunctionResult,
    Args: for<'a> FunctionArgs<'a>,
{
    env.add_test(name, f.clone());
    env.add_test(format!("ansible.builtin.{name}"), f);
}

pub fn register(env: &mut Environment<'static>) {
    super::more::register(env);
    add_filter(env, "bool", to_bool);
    add_filter(env, "to_json", to_json_filter);
    add_filter(env, "from_json", from_json);
    add_filter(env, "basename", basename);
    add_filter(env, "dirname", dirname);
    add_filter(env, "regex_replace", regex_replace);
    add_filter(env, "b64encode", b64encode);
    add_filter(env, "b64decode", b64decode);
    add_filter(env, "type_debug", |v: &Value| super::python_type(v));

    // Task results (plugins/test/core.py); each alias fails naming the
    // test it stands for.
    for name in ["changed", "change"] {
        add_test(env, name, changed);
    }
    for name in ["failed", "failure"] {
        add_test(env, name, |v: &Value| result_flag(v, "failed"));
    }
    for name in ["succeeded", "success", "successful"] {
        add_test(env, name, |v: &Value| result_flag(v, "failed").map(|f| !f));
    }
    for name in ["skipped", "skip"] {
        add_test(env, name, |v: &Value| result_flag(v, "skipped"));
    }
    add_test(env, "unreachable", |v: &Value| {
        result_flag(v, "unreachable")
    });
    add_test(env, "reachable", |v: &Value| {
        result_flag(v, "unreachable").map(|f| !f)
    });
    add_test(env, "timedout", timedout);
    add_test(env, "finished", |v: &Value| async_flag(v, "finished"));
    add_test(env, "started", |v: &Value| async_flag(v, "started"));
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The task result a test reads, which must be a dict.
fn task_result<'a>(value: &'a Value, test: &str) -> Result<&'a Value, Error> {
    if value.kind() == ValueKind::Map {
        Ok(value)
    } else {
        Err(invalid(format!("The '{test}' test expects a dictionary")))
    }
}

/// `result.get(key)`: None when the key is missing.
fn get(result: &Value, key: &str) -> Option<Value> {
    result
        .get_item(&Value::from(key))
        .ok()
        .filter(|v| !v.is_undefined())
}

/// `failed`, `skipped`, `unreachable`: the truth of the result's key.
fn result_flag(value: &Value, key: &str) -> Result<bool, Error> {
    let result = task_result(value, key)?;
    Ok(get(result, key).is_some_and(|v| v.is_true()))
}

/// `changed`: the result's `changed`, or without one, whether any of its
/// `results` (a list whose first item is a dict) changed.
fn changed(value: &Value) -> Result<bool, Error> {
    let result = task_result(value, "changed")?;
    if let Some(changed) = get(result, "changed") {
        return Ok(changed.is_true());
    }
    let Some(results) = get(result, "results").filter(|r| r.kind() == ValueKind::Seq) else {
        return Ok(false);
    };
    let first = results.get_item(&Value::from(0))?;
    if first.is_undefined() {
        return Err(invalid("list index out of range"));
    }
    if first.kind() != ValueKind::Map {
        return Ok(false);
    }
    for res in results.try_iter()? {
        if res.kind() != ValueKind::Map {
            return Err(invalid(format!(
                "'{}' object has no attribute 'get'",
                super::python_type(&res)
            )));
        }
        if get(&res, "changed").is_some_and(|c| c.is_true()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `timedout`: the result's `timedout` dict has a true `period`.
fn timedout(value: &Value) -> Result<bool, Error> {
    let result = task_result(value, "timedout")?;
    let Some(timedout) = get(result, "timedout").filter(|t| t.is_true()) else {
        return Ok(false);
    };
    if timedout.kind() != ValueKind::Map {
        return Err(invalid(format!(
            "'{}' object has no attribute 'get'",
            super::python_type(&timedout)
        )));
    }
    Ok(get(&timedout, "period").is_some_and(|p| p.is_true()))
}

/// `finished`, `started`: an async result's key; true for a result
/// without it (ansible-core warns that the task was not async).
fn async_flag(value: &Value, key: &str) -> Result<bool, Error> {
    let result = task_result(value, key)?;
    Ok(get(result, key).is_none_or(|v| v.is_true()))
}

/// Ansible's `bool`: `yes`, `on`, `true`, `1`, `t`, `y` (any case) and 1 are true.
fn to_bool(value: &Value) -> bool {
    match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::String => matches!(
            value.as_str().unwrap_or_default().to_lowercase().as_str(),
            "yes" | "on" | "1" | "true" | "t" | "y"
        ),
        ValueKind::Number => f64::try_from(value.clone()).is_ok_and(|f| f == 1.0),
        _ => false,
    }
}

fn to_json_filter(value: &Value) -> Result<String, Error> {
    Ok(pyjson::dumps(&to_json(value)?))
}

fn from_json(text: &str) -> Result<Value, Error> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("from_json: {e}")))?;
    Ok(to_value(&json))
}

/// Python's `os.path.basename`: what follows the last `/`.
fn basename(path: &str) -> String {
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Python's `os.path.dirname`: up to the last `/`, trailing slashes trimmed
/// unless only slashes remain.
fn dirname(path: &str) -> String {
    match path.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &path[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_owned()
            } else {
                trimmed.to_owned()
            }
        }
    }
}

fn regex_replace(
    value: &str,
    pattern: &str,
    replacement: Option<&str>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let re = regex::RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| invalid(format!("regex_replace: invalid pattern: {e}")))?;
    let repl = python_replacement(replacement.unwrap_or(""));
    Ok(re.replacen(value, count, repl.as_str()).into_owned())
}

/// Python `re.sub` replacement syntax (`\1`, `\g<name>`, `\n`) to the
/// regex crate's (`${1}`, `${name}`, literal `$` doubled).
fn python_replacement(repl: &str) -> String {
    let mut out = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let mut group = d.to_string();
                    if let Some(e) = chars.peek().copied().filter(char::is_ascii_digit) {
                        group.push(e);
                        chars.next();
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('g') if chars.peek() == Some(&'<') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

fn b64encode(value: &str) -> String {
    base64::encode(value.as_bytes())
}

fn b64decode(value: &str) -> Result<String, Error> {
    let bytes = base64::decode(value).ok_or_else(|| invalid("b64decode: invalid base64 input"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_filters_follow_python() {
        assert_eq!(basename("/a/b.txt"), "b.txt");
        assert_eq!(basename("a/b/"), "");
        assert_eq!(dirname("/a/b"), "/a");
        assert_eq!(dirname("/a"), "/");
        assert_eq!(dirname("a"), "");
        assert_eq!(dirname("a//b"), "a");
    }

    #[test]
    fn python_replacements_translate() {
        assert_eq!(python_replacement(r"[\1]"), "[${1}]");
        assert_eq!(python_replacement(r"\g<x>-$"), "${x}-$$");
        assert_eq!(python_replacement(r"a\nb"), "a\nb");
    }
}
