//! Typed access to a module's rendered arguments, with Ansible's coercions.

use rustle_format::Vars;
use serde_json::Value as Json;

use super::{ModuleCtx, ModuleError};

/// A module's arguments after rendering.
#[derive(Debug, Clone, Copy)]
pub struct Args<'a>(pub &'a Vars);

impl<'a> Args<'a> {
    pub fn get(&self, key: &str) -> Option<&'a Json> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// The first of `keys` (a name and its aliases) that is set, as a string.
    pub fn string(&self, keys: &[&str]) -> Result<Option<String>, ModuleError> {
        let Some((key, value)) = keys.iter().find_map(|k| self.get(k).map(|v| (k, v))) else {
            return Ok(None);
        };
        match value {
            Json::String(s) => Ok(Some(s.clone())),
            Json::Number(n) => Ok(Some(n.to_string())),
            Json::Bool(b) => Ok(Some(if *b { "True" } else { "False" }.to_owned())),
            other => Err(ModuleError(format!(
                "argument '{key}' is of type {} and we were unable to convert to str",
                type_name(other)
            ))),
        }
    }

    pub fn required(&self, keys: &[&str]) -> Result<String, ModuleError> {
        self.string(keys)?
            .ok_or_else(|| ModuleError(format!("missing required arguments: {}", keys[0])))
    }

    /// A required path on the target, `~` expanded with the user's home.
    pub fn path(&self, keys: &[&str], ctx: &ModuleCtx) -> Result<String, ModuleError> {
        Ok(expand_user(&self.required(keys)?, || ctx.target.home()))
    }

    /// `key`'s value when it is one of `allowed` (`None` when unset), with
    /// Ansible's message otherwise.
    pub fn choice(&self, key: &str, allowed: &[&str]) -> Result<Option<String>, ModuleError> {
        match self.string(&[key])? {
            Some(v) if !allowed.contains(&v.as_str()) => Err(ModuleError(format!(
                "value of {key} must be one of: {}, got: {v}",
                allowed.join(", ")
            ))),
            v => Ok(v),
        }
    }

    /// Fails when both `a` and `b` are set, as Ansible's mutually_exclusive.
    pub fn exclusive(&self, a: &str, b: &str) -> Result<(), ModuleError> {
        if self.get(a).is_some() && self.get(b).is_some() {
            return Err(ModuleError(format!(
                "parameters are mutually exclusive: {a}|{b}"
            )));
        }
        Ok(())
    }

    /// A `type='list'` argument: a list as is, a string split at commas,
    /// any other value alone.
    pub fn list(&self, keys: &[&str]) -> Result<Option<Vec<String>>, ModuleError> {
        let Some(value) = keys.iter().find_map(|k| self.get(k)) else {
            return Ok(None);
        };
        let items = match value {
            Json::Array(items) => items.clone(),
            Json::String(s) => s.split(',').map(|p| Json::String(p.to_owned())).collect(),
            other => vec![other.clone()],
        };
        let one = |v: &Json| match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok(Some(items.iter().map(one).collect()))
    }

    /// A `type='int'` argument.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ModuleError> {
        match self.get(key) {
            None => Ok(None),
            Some(Json::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Json::String(s)) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().ok()),
            Some(Json::String(s)) => Err(ModuleError(format!(
                "argument '{key}' is of type str and we were unable to convert to int: \"{}\" cannot be converted to an int",
                py_repr(s)
            ))),
            Some(other) => Err(ModuleError(format!(
                "argument '{key}' is of type {} and we were unable to convert to int",
                type_name(other)
            ))),
        }
    }

    /// Ansible's booleans: yes/no, true/false, on/off, 1/0 (any case).
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, ModuleError> {
        let Some(value) = self.get(key) else {
            return Ok(default);
        };
        let parsed = match value {
            Json::Bool(b) => Some(*b),
            Json::Number(n) => match n.as_f64() {
                Some(1.0) => Some(true),
                Some(0.0) => Some(false),
                _ => None,
            },
            Json::String(s) => match s.to_lowercase().as_str() {
                "yes" | "on" | "1" | "true" | "y" | "t" => Some(true),
                "no" | "off" | "0" | "false" | "n" | "f" | "" => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed.ok_or_else(|| {
            ModuleError(format!(
                "argument '{key}' is of type {} and we were unable to convert to bool",
                type_name(value)
            ))
        })
    }
}

/// The Python type name Ansible uses in argument errors.
pub fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// Python's `repr` of a string.
pub(crate) fn py_repr(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// `~` and `~/x` expanded with the target user's home.
pub fn expand_user(path: &str, home: impl FnOnce() -> String) -> String {
    match path.strip_prefix('~') {
        Some("") => home(),
        Some(rest) if rest.starts_with('/') => format!("{}{rest}", home().trim_end_matches('/')),
        _ => path.to_owned(),
    }
}
