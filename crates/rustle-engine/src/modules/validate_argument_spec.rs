//! `validate_argument_spec`: checks arguments against an argument spec on
//! the controller, as ansible-core 2.19's action plugin does. This file owns
//! the action (which values it validates, its result and its own failures)
//! and a port of `ArgumentSpecValidator.validate` with the checks it runs
//! (module_utils/common/arg_spec.py, parameters.py, validation.py): aliases,
//! the type conversions, list elements, choices, required options, defaults,
//! suboptions and the checks between options, with ansible-core's messages
//! word for word and in its order. An exception ansible-core does not catch
//! fails the task with its Python message, as the action does.

use std::sync::LazyLock;

use regex::Regex;
use rustle_format::Vars;
use serde_json::{Map, Value as Json, json};

use super::args::Args;
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::template::Templar;

pub struct ValidateArgumentSpec;

impl Module for ValidateArgumentSpec {
    fn params(&self) -> &'static [&'static str] {
        &[
            "argument_spec",
            "provided_arguments",
            "validate_args_context",
        ]
    }

    /// The action ignores arguments it does not know.
    fn free_args(&self) -> bool {
        true
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        action(ctx.templar, args.0)
    }
}

/// `ActionModule.run`: validates the task's variables named by the spec,
/// with `provided_arguments` over them.
fn action(templar: &Templar, args: &Vars) -> ModuleResult {
    let context = args
        .get("validate_args_context")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let Some(spec) = args.get("argument_spec") else {
        let given = Py::task(&Json::Object(args.clone()));
        return Err(task_failed(format!(
            "\"argument_spec\" arg is required in args: {}",
            given.repr()
        )));
    };
    let Json::Object(spec) = spec else {
        return Err(task_failed(format!(
            "Incorrect type for argument_spec, expected dict and got {}",
            Py::task(spec).type_repr()
        )));
    };
    let empty = Map::new();
    let provided = match args.get("provided_arguments") {
        None => &empty,
        Some(Json::Object(provided)) => provided,
        Some(other) => {
            return Err(task_failed(format!(
                "Incorrect type for provided_arguments, expected dict and got {}",
                Py::task(other).type_repr()
            )));
        }
    };
    let mut params = args_from_task_vars(templar, spec)?;
    for (name, value) in provided {
        params.insert(name, Py::task(value));
    }
    let found = validate(spec, params).map_err(|e| task_failed(e.message()))?;
    let mut out = if found.errors.is_empty() {
        result([
            ("changed", json!(false)),
            ("msg", json!("The arg spec validation passed")),
            ("validate_args_context", context),
        ])
    } else {
        result([
            ("failed", json!(true)),
            (
                "msg",
                json!(format!(
                    "Validation of arguments failed:\n{}",
                    found.errors.join("\n")
                )),
            ),
            ("argument_spec_data", Json::Object(spec.clone())),
            ("argument_errors", json!(found.errors)),
            ("validate_args_context", context),
        ])
    };
    if !found.warnings.is_empty() {
        out.insert("warnings".into(), json!(found.warnings));
    }
    Ok(Outcome::new(out))
}

/// An exception out of the action: ansible-core fails the task with it.
fn task_failed(msg: String) -> ModuleError {
    ModuleError(format!("Task failed: {msg}"))
}

/// `get_args_from_task_vars`: the value of each option of the spec that is
/// a variable of the task, rendered.
fn args_from_task_vars(templar: &Templar, spec: &Map<String, Json>) -> Result<Dict, ModuleError> {
    let mut args = Dict::default();
    for name in spec.keys() {
        // A JSON string is a Jinja string literal.
        let key = Json::String(name.clone()).to_string();
        if templar.condition(&json!(format!("{key} in vars")))? {
            let value = templar.eval(&format!("vars[{key}]"))?;
            args.insert(name, Py::task(&value));
        }
    }
    Ok(args)
}

// ---------------------------------------------------------------------------
// Python values

/// A value as the validator sees it, with Python's types. `tagged` marks a
/// value from the task: ansible-core 2.19 tags those with their origin, and
/// messages naming a value's class name the tagged class. What the
/// validator converts is untagged; None and booleans never are.
#[derive(Debug, Clone)]
struct Py {
    kind: Kind,
    tagged: bool,
}

#[derive(Debug, Clone)]
enum Kind {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    List(Vec<Py>),
    Dict(Dict),
}

/// A dict with string keys, in insertion order like Python's.
#[derive(Debug, Clone, Default)]
struct Dict(Vec<(String, Py)>);

impl Dict {
    fn get(&self, key: &str) -> Option<&Py> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// `d[key] = value`: a key already there keeps its place.
    fn insert(&mut self, key: &str, value: Py) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    fn keys(&self) -> Vec<String> {
        self.0.iter().map(|(k, _)| k.clone()).collect()
    }

    /// `d.get(key) is None`: absent or None.
    fn is_none(&self, key: &str) -> bool {
        self.get(key).is_none_or(Py::is_none)
    }
}

impl Py {
    fn plain(kind: Kind) -> Py {
        Py {
            kind,
            tagged: false,
        }
    }

    fn none() -> Py {
        Py::plain(Kind::None)
    }

    fn str(s: impl Into<String>) -> Py {
        Py::plain(Kind::Str(s.into()))
    }

    fn int(i: i128) -> Py {
        Py::plain(Kind::Int(i))
    }

    fn float(f: f64) -> Py {
        Py::plain(Kind::Float(f))
    }

    /// A value of the task: tagged, and everything inside it.
    fn task(json: &Json) -> Py {
        Py::from_json(json, true)
    }

    fn from_json(json: &Json, tagged: bool) -> Py {
        let kind = match json {
            Json::Null => Kind::None,
            Json::Bool(b) => Kind::Bool(*b),
            Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Kind::Int(i.into()),
                (None, Some(u), _) => Kind::Int(u.into()),
                (None, None, f) => Kind::Float(f.unwrap_or(f64::NAN)),
            },
            Json::String(s) => Kind::Str(s.clone()),
            Json::Array(items) => {
                Kind::List(items.iter().map(|v| Py::from_json(v, tagged)).collect())
            }
            Json::Object(map) => Kind::Dict(Dict(
                map.iter()
                    .map(|(k, v)| (k.clone(), Py::from_json(v, tagged)))
                    .collect(),
            )),
        };
        let tagged = tagged && !matches!(kind, Kind::None | Kind::Bool(_));
        Py { kind, tagged }
    }

    fn is_none(&self) -> bool {
        matches!(self.kind, Kind::None)
    }

    fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Python's truth value.
    fn truthy(&self) -> bool {
        match &self.kind {
            Kind::None => false,
            Kind::Bool(b) => *b,
            Kind::Int(i) => *i != 0,
            Kind::Float(f) => *f != 0.0,
            Kind::Str(s) => !s.is_empty(),
            Kind::List(items) => !items.is_empty(),
            Kind::Dict(d) => !d.0.is_empty(),
        }
    }

    /// `native_type_name`: the base type's name.
    fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::None => "NoneType",
            Kind::Bool(_) => "bool",
            Kind::Int(_) => "int",
            Kind::Float(_) => "float",
            Kind::Str(_) => "str",
            Kind::List(_) => "list",
            Kind::Dict(_) => "dict",
        }
    }

    /// `type(value).__name__`: a tagged value's class is ansible-core's.
    fn class_name(&self) -> String {
        let name = self.type_name();
        if !self.tagged {
            return name.to_owned();
        }
        let mut chars = name.chars();
        let first = chars.next().map(|c| c.to_ascii_uppercase());
        format!(
            "_AnsibleTagged{}{}",
            first.unwrap_or_default(),
            chars.as_str()
        )
    }

    /// `str(type(value))`.
    fn type_repr(&self) -> String {
        if self.tagged {
            format!(
                "<class 'ansible.module_utils._internal._datatag.{}'>",
                self.class_name()
            )
        } else {
            format!("<class '{}'>", self.type_name())
        }
    }

    /// Python's `repr()`.
    fn repr(&self) -> String {
        match &self.kind {
            Kind::Str(s) => str_repr(s),
            _ => self.to_string(),
        }
    }

    /// `for item in value`: a string's characters, a dict's keys.
    fn iter(&self) -> Result<Vec<Py>, Raised> {
        match &self.kind {
            Kind::Str(s) => Ok(s.chars().map(Py::str).collect()),
            Kind::List(items) => Ok(items.clone()),
            Kind::Dict(d) => Ok(d
                .0
                .iter()
                .map(|(k, _)| Py {
                    kind: Kind::Str(k.clone()),
                    tagged: self.tagged,
                })
                .collect()),
            _ => Err(Raised::Type(format!(
                "'{}' object is not iterable",
                self.class_name()
            ))),
        }
    }

    /// `is_iterable` (module_utils/common/collections.py): strings are not.
    fn is_iterable(&self) -> bool {
        matches!(self.kind, Kind::List(_) | Kind::Dict(_))
    }

    /// `key in value`.
    fn contains(&self, key: &str) -> Result<bool, Raised> {
        match &self.kind {
            Kind::Dict(d) => Ok(d.contains(key)),
            Kind::Str(s) => Ok(s.contains(key)),
            Kind::List(items) => Ok(items.iter().any(|i| i.as_str() == Some(key))),
            _ => Err(Raised::Type(format!(
                "argument of type '{}' is not iterable",
                self.class_name()
            ))),
        }
    }

    /// Raises Python's TypeError for a value that cannot be a dict key or
    /// a set member.
    fn hashable(&self) -> Result<(), Raised> {
        match self.kind {
            Kind::List(_) | Kind::Dict(_) => Err(Raised::Type(format!(
                "unhashable type: '{}'",
                self.class_name()
            ))),
            _ => Ok(()),
        }
    }

    /// `key in dict` for a dict with string keys.
    fn in_dict(&self, dict: &Dict) -> Result<bool, Raised> {
        self.hashable()?;
        Ok(self.as_str().is_some_and(|k| dict.contains(k)))
    }

    /// A number's value, for Python's comparisons across bool, int and float.
    fn number(&self) -> Option<Number> {
        match self.kind {
            Kind::Bool(b) => Some(Number::Int(b.into())),
            Kind::Int(i) => Some(Number::Int(i)),
            Kind::Float(f) => Some(Number::Float(f)),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
enum Number {
    Int(i128),
    Float(f64),
}

/// Python's `==`.
impl PartialEq for Py {
    fn eq(&self, other: &Py) -> bool {
        match (&self.kind, &other.kind) {
            (Kind::None, Kind::None) => true,
            (Kind::Str(a), Kind::Str(b)) => a == b,
            (Kind::List(a), Kind::List(b)) => a == b,
            (Kind::Dict(a), Kind::Dict(b)) => {
                a.0.len() == b.0.len() && a.0.iter().all(|(k, v)| b.get(k) == Some(v))
            }
            _ => match (self.number(), other.number()) {
                (Some(Number::Int(a)), Some(Number::Int(b))) => a == b,
                (Some(Number::Float(a)), Some(Number::Float(b))) => a == b,
                (Some(Number::Int(i)), Some(Number::Float(f)))
                | (Some(Number::Float(f)), Some(Number::Int(i))) => {
                    f.is_finite() && f.fract() == 0.0 && f as i128 == i
                }
                _ => false,
            },
        }
    }
}

/// Python's `str()`.
impl std::fmt::Display for Py {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::None => f.write_str("None"),
            Kind::Bool(true) => f.write_str("True"),
            Kind::Bool(false) => f.write_str("False"),
            Kind::Int(i) => write!(f, "{i}"),
            Kind::Float(x) => f.write_str(&float_repr(*x)),
            Kind::Str(s) => f.write_str(s),
            Kind::List(items) => {
                let items: Vec<String> = items.iter().map(Py::repr).collect();
                write!(f, "[{}]", items.join(", "))
            }
            Kind::Dict(d) => {
                let items: Vec<String> =
                    d.0.iter()
                        .map(|(k, v)| format!("{}: {}", str_repr(k), v.repr()))
                        .collect();
                write!(f, "{{{}}}", items.join(", "))
            }
        }
    }
}

/// Python's `repr` of a string.
fn str_repr(s: &str) -> String {
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
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c < ' ' || ('\x7f'..='\u{a0}').contains(&c) || c == '\u{ad}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr` of a float: the shortest digits that read back,
/// positional for exponents -4..16, else `d.ddde+XX`.
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{exp_sign}{:02}", exp.unsigned_abs())
    }
}

/// `sep.join(seq)`.
fn join(sep: &str, seq: &Py) -> Result<String, Raised> {
    let items = seq
        .iter()
        .map_err(|_| Raised::Type("can only join an iterable".into()))?;
    let mut parts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) => parts.push(s.to_owned()),
            None => {
                return Err(Raised::Type(format!(
                    "sequence item {i}: expected str instance, {} found",
                    item.class_name()
                )));
            }
        }
    }
    Ok(parts.join(sep))
}

// ---------------------------------------------------------------------------
// Exceptions

/// A Python exception inside the validator. Where ansible-core catches a
/// TypeError (or a ValueError) the message becomes an error of the
/// validation; anything else escapes (`Other`) and fails the task.
#[derive(Debug)]
enum Raised {
    Type(String),
    Value(String),
    Other(String),
}

impl Raised {
    fn message(self) -> String {
        match self {
            Raised::Type(m) | Raised::Value(m) | Raised::Other(m) => m,
        }
    }
}

/// `try: ... except TypeError` (and ValueError when `value_too`): the
/// caught exception's message, or the exception going on.
fn catch<T>(r: Result<T, Raised>, value_too: bool) -> Result<Result<T, String>, Raised> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(Raised::Type(m)) => Ok(Err(m)),
        Err(Raised::Value(m)) if value_too => Ok(Err(m)),
        Err(e) => Err(e),
    }
}

/// A message with the suboptions it is about: `"... found in a -> b"`.
fn in_context(msg: String, context: &[String]) -> String {
    if context.is_empty() {
        msg
    } else {
        format!("{msg} found in {}", context.join(" -> "))
    }
}

// ---------------------------------------------------------------------------
// The spec

type Spec = Map<String, Json>;

/// An option's attributes: `.get` on anything but a dict raises.
fn attrs_of(value: &Json) -> Result<&Spec, Raised> {
    match value {
        Json::Object(attrs) => Ok(attrs),
        other => Err(Raised::Other(format!(
            "'{}' object has no attribute 'get'",
            Py::task(other).class_name()
        ))),
    }
}

/// A suboptions spec: `.items()` on anything but a dict raises.
fn spec_of(value: &Json) -> Result<&Spec, Raised> {
    match value {
        Json::Object(spec) => Ok(spec),
        other => Err(Raised::Other(format!(
            "'{}' object has no attribute 'items'",
            Py::task(other).class_name()
        ))),
    }
}

/// `attrs.get(key)`: None when absent or null.
fn attr<'a>(attrs: &'a Spec, key: &str) -> Option<&'a Json> {
    attrs.get(key).filter(|v| !v.is_null())
}

/// `if attrs.get(key):`.
fn attr_true(attrs: &Spec, key: &str) -> bool {
    attr(attrs, key).is_some_and(|v| Py::task(v).truthy())
}

/// `attrs.get(key) == word`.
fn attr_is(attrs: &Spec, key: &str, word: &str) -> bool {
    attr(attrs, key).and_then(Json::as_str) == Some(word)
}

/// `ArgumentSpecValidator.__init__`: lists the options with their aliases,
/// which fails on options that are not dicts and aliases that are not
/// strings.
fn check_spec_names(spec: &Spec) -> Result<(), Raised> {
    let mut names: Vec<&String> = spec.keys().collect();
    names.sort();
    for name in names {
        let attrs = attrs_of(&spec[name])?;
        if !attr_true(attrs, "aliases") {
            continue;
        }
        let aliases = Py::task(&attrs["aliases"])
            .iter()
            .map_err(|e| Raised::Other(e.message()))?;
        if let Some(bad) = aliases.iter().find(|a| a.as_str().is_none()) {
            return Err(Raised::Other(format!(
                "sequence item 0: expected str instance, {} found",
                bad.class_name()
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Validation

/// What validation found: `ValidationResult`'s errors and validated
/// parameters, and the warnings ansible-core shows.
#[derive(Debug, Default)]
struct Validation {
    errors: Vec<String>,
    params: Dict,
    warnings: Vec<String>,
    /// Unsupported parameters, each as its path through the suboptions.
    unsupported: Vec<Vec<String>>,
    /// For each unsupported parameter's path, the option names and the
    /// aliases supported there.
    supported: Vec<(Vec<String>, Vec<String>, Vec<String>)>,
}

/// `ArgumentSpecValidator(spec).validate(params)`.
fn validate(spec: &Spec, mut params: Dict) -> Result<Validation, Raised> {
    check_spec_names(spec)?;
    let mut found = Validation::default();
    let root = Py::plain(Kind::Dict(params.clone()));
    set_fallbacks(spec, &root)?;
    // Options set both ways are not shown at the top level.
    let mut both = Vec::new();
    let aliases = match catch(handle_aliases(spec, &mut params, Some(&mut both)), true)? {
        Ok(aliases) => aliases,
        Err(msg) => {
            found.errors.push(msg);
            Vec::new()
        }
    };
    let legal = legal_inputs(spec, &aliases);
    if let Err(msg) = catch(list_no_log_values(spec, &params), false)? {
        found.errors.push(msg);
    }
    if let Err(msg) = catch(list_deprecations(spec, &params), false)? {
        found.errors.push(msg);
    }
    let unsupported = unsupported_parameters(spec, &mut params, &legal, &[], &mut found);
    if let Err(msg) = catch(unsupported, true)? {
        found.errors.push(msg);
    }
    set_defaults(spec, &mut params, false)?;
    if let Err(msg) = catch(check_required_arguments(spec, &params, &[]), false)? {
        found.errors.push(msg);
    }
    validate_argument_types(spec, &mut params, &[], &mut found.errors)?;
    validate_argument_values(spec, &mut params, &[], &mut found.errors)?;
    set_defaults(spec, &mut params, true)?;
    validate_sub_spec(spec, &mut params, "", &mut Vec::new(), &mut found)?;
    if !found.unsupported.is_empty() {
        let mut paths = found.unsupported.clone();
        paths.sort_by_key(|path| path.join("."));
        let names: Vec<String> = paths.iter().map(|path| path.join(".")).collect();
        // ansible-core lists what is supported where the last parameter it
        // met in its set of unsupported ones was: with unsupported ones in
        // more than one place that changes with Python's hashing. Here it
        // is where the last one listed was.
        let last = paths.last();
        let (mut options, mut aliases) = found
            .supported
            .iter()
            .find(|(path, ..)| Some(path) == last)
            .map(|(_, o, a)| (o.clone(), a.clone()))
            .unwrap_or_default();
        options.sort();
        aliases.sort();
        let mut supported = options.join(", ");
        if !aliases.is_empty() {
            supported.push_str(&format!(" ({})", aliases.join(", ")));
        }
        found.errors.push(format!(
            "{}. Supported parameters include: {supported}.",
            names.join(", ")
        ));
    }
    found.params = params;
    Ok(found)
}

/// `set_fallbacks`: no spec written in YAML has a callable `fallback`, so
/// one that would be called fails as ansible-core does.
fn set_fallbacks(spec: &Spec, params: &Py) -> Result<(), Raised> {
    for (name, attrs) in spec {
        let attrs = attrs_of(attrs)?;
        let strategy = attrs.get("fallback").map(first_item).transpose()?;
        let absent = !params.contains(name)?;
        if let Some(strategy) = strategy.filter(|s| absent && !s.is_none()) {
            return Err(Raised::Other(format!(
                "'{}' object is not callable",
                strategy.class_name()
            )));
        }
    }
    Ok(())
}

/// `value[0]`, or what Python raises for it.
fn first_item(value: &Json) -> Result<Py, Raised> {
    let value = Py::task(value);
    match &value.kind {
        Kind::List(items) => items
            .first()
            .cloned()
            .ok_or_else(|| Raised::Other("list index out of range".into())),
        Kind::Str(s) => s
            .chars()
            .next()
            .map(Py::str)
            .ok_or_else(|| Raised::Other("string index out of range".into())),
        // KeyError(0)
        Kind::Dict(_) => Err(Raised::Other("0".into())),
        _ => Err(Raised::Other(format!(
            "'{}' object is not subscriptable",
            value.class_name()
        ))),
    }
}

/// `_handle_aliases`: gives each option set through an alias the alias's
/// value; returns the aliases (alias, option). `warnings`, when given (as
/// with the lists of warnings and deprecations), gets the options set both
/// ways, and the deprecated aliases are looked at.
fn handle_aliases(
    spec: &Spec,
    params: &mut Dict,
    mut warnings: Option<&mut Vec<(String, String)>>,
) -> Result<Vec<(String, String)>, Raised> {
    let mut aliases: Vec<(String, String)> = Vec::new();
    for (name, attrs) in spec {
        let attrs = attrs_of(attrs)?;
        if warnings.is_some() {
            deprecated_aliases(attrs)?;
        }
        if attr(attrs, "default").is_some() && attr_true(attrs, "required") {
            return Err(Raised::Value(format!(
                "internal error: required and default are mutually exclusive for {name}"
            )));
        }
        let Some(names) = attr(attrs, "aliases") else {
            continue;
        };
        let names = Py::task(names);
        if !names.is_iterable() {
            return Err(Raised::Type(
                "internal error: aliases must be a list or tuple".into(),
            ));
        }
        for alias in names.iter()? {
            alias.hashable()?;
            // Only a string can name a parameter.
            let Some(alias) = alias.as_str() else {
                continue;
            };
            aliases.retain(|(a, _)| a != alias);
            aliases.push((alias.to_owned(), name.clone()));
            if let Some(value) = params.get(alias).cloned() {
                if params.contains(name)
                    && let Some(warnings) = warnings.as_deref_mut()
                {
                    warnings.push((name.clone(), alias.to_owned()));
                }
                params.insert(name, value);
            }
        }
    }
    Ok(aliases)
}

/// The `deprecated_aliases` loop of `_handle_aliases`: each must be a dict.
fn deprecated_aliases(attrs: &Spec) -> Result<(), Raised> {
    let Some(deprecated) = attrs.get("deprecated_aliases") else {
        return Ok(());
    };
    for alias in Py::task(deprecated).iter()? {
        if !matches!(alias.kind, Kind::Dict(_)) {
            return Err(Raised::Other(format!(
                "'{}' object has no attribute 'get'",
                alias.class_name()
            )));
        }
    }
    Ok(())
}

/// `_get_legal_inputs`: the aliases, then the options.
fn legal_inputs(spec: &Spec, aliases: &[(String, String)]) -> Vec<String> {
    aliases
        .iter()
        .map(|(alias, _)| alias.clone())
        .chain(spec.keys().cloned())
        .collect()
}

/// `_list_no_log_values`: the values to hide are of no use here, but
/// looking for them in suboptions raises for values that are not dicts.
fn list_no_log_values(spec: &Spec, params: &Dict) -> Result<(), Raised> {
    for (name, attrs) in spec {
        let attrs = attrs_of(attrs)?;
        let Some(sub_spec) = attr(attrs, "options") else {
            continue;
        };
        let Some(value) = params.get(name).filter(|v| !v.is_none()) else {
            continue;
        };
        let wanted = attr(attrs, "type").map(Py::task).unwrap_or_else(Py::none);
        let is_dict = attr_is(attrs, "type", "dict");
        if !(is_dict || attr_is(attrs, "type", "list") && attr_is(attrs, "elements", "dict")) {
            continue;
        }
        let items = match &value.kind {
            Kind::List(items) => items.clone(),
            _ => vec![value.clone()],
        };
        for item in items {
            let item = match item.kind {
                Kind::Str(_) => check_type_dict(&item)?,
                _ => item,
            };
            let Kind::Dict(sub_params) = &item.kind else {
                return Err(Raised::Type(format!(
                    "Value '{item}' in the sub parameter field '{name}' must be a {wanted}, not '{}'",
                    item.class_name()
                )));
            };
            list_no_log_values(spec_of(sub_spec)?, sub_params)?;
        }
    }
    Ok(())
}

/// `_list_deprecations`: the action shows no deprecation, but walking the
/// suboptions of the parameters raises for a spec that is not a dict.
fn list_deprecations(spec: &Spec, params: &Dict) -> Result<(), Raised> {
    for (name, attrs) in spec {
        let Some(value) = params.get(name) else {
            continue;
        };
        let Some(sub_spec) = attr(attrs_of(attrs)?, "options") else {
            continue;
        };
        let items = match &value.kind {
            Kind::Dict(_) => vec![value.clone()],
            Kind::List(items) => items.clone(),
            _ => Vec::new(),
        };
        for item in items {
            if let Kind::Dict(sub_params) = &item.kind {
                list_deprecations(spec_of(sub_spec)?, sub_params)?;
            }
        }
    }
    Ok(())
}

/// `_get_unsupported_parameters` with `store_supported`: records the
/// parameters not in `legal` and, for each, what is supported there.
fn unsupported_parameters(
    spec: &Spec,
    params: &mut Dict,
    legal: &[String],
    context: &[String],
    found: &mut Validation,
) -> Result<(), Raised> {
    let mut unsupported = Vec::new();
    for key in params.keys() {
        if legal.contains(&key) {
            continue;
        }
        let mut path = context.to_vec();
        path.push(key);
        let aliases = handle_aliases(spec, params, None)?;
        let options = legal
            .iter()
            .filter(|name| !aliases.iter().any(|(alias, _)| alias == *name))
            .cloned()
            .collect();
        let aliases = aliases.into_iter().map(|(alias, _)| alias).collect();
        found.supported.retain(|(p, ..)| *p != path);
        found.supported.push((path.clone(), options, aliases));
        unsupported.push(path);
    }
    for path in unsupported {
        if !found.unsupported.contains(&path) {
            found.unsupported.push(path);
        }
    }
    Ok(())
}

/// `_set_defaults`: options not given get their default; with
/// `set_default` false only those whose default is not None.
fn set_defaults(spec: &Spec, params: &mut Dict, set_default: bool) -> Result<(), Raised> {
    for (name, attrs) in spec {
        let default = attr(attrs_of(attrs)?, "default");
        if !params.contains(name) && (default.is_some() || set_default) {
            params.insert(name, default.map_or_else(Py::none, Py::task));
        }
    }
    Ok(())
}

/// `_validate_argument_types`: converts each parameter to its option's
/// type, and a list's elements to theirs.
fn validate_argument_types(
    spec: &Spec,
    params: &mut Dict,
    context: &[String],
    errors: &mut Vec<String>,
) -> Result<(), Raised> {
    for (name, attrs) in spec {
        let attrs = attrs_of(attrs)?;
        let Some(value) = params.get(name).cloned() else {
            continue;
        };
        if value.is_none() && !attr_true(attrs, "required") && attr(attrs, "default").is_none() {
            continue;
        }
        let wanted = type_validator(attr(attrs, "type"))?;
        let converted = convert_argument(name, &value, &wanted, attrs, params, context, errors);
        if let Err(e) = catch(converted, true)? {
            errors.push(format!(
                "argument '{name}' is of type {}{} and we were unable to convert to {}: {e}",
                value.type_name(),
                found_in_quoted(context, "."),
                wanted.1,
            ));
        }
    }
    Ok(())
}

/// `" found in 'a -> b'"` (then `end`) in a message about suboptions.
fn found_in_quoted(context: &[String], end: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!(" found in '{}'{end}", context.join(" -> "))
    }
}

/// The `try` of `_validate_argument_types`: the conversion to the `wanted`
/// type (its checker and name), then the elements.
fn convert_argument(
    name: &str,
    value: &Py,
    (checker, wanted): &(Option<Checker>, String),
    attrs: &Spec,
    params: &mut Dict,
    context: &[String],
    errors: &mut Vec<String>,
) -> Result<(), Raised> {
    let converted = call(*checker, value)?;
    params.insert(name, converted.clone());
    let Some(elements) = attr(attrs, "elements").filter(|e| Py::task(e).truthy()) else {
        return Ok(());
    };
    if !matches!(converted.kind, Kind::List(_)) {
        errors.push(format!(
            "Invalid type {wanted} for option '{converted}'{}, elements value check is \
             supported only with 'list' type",
            found_in_quoted(context, ".")
        ));
    }
    let items = validate_elements(elements, name, &converted, context, errors)?;
    params.insert(name, Py::plain(Kind::List(items)));
    Ok(())
}

/// `_validate_elements`: converts each element, leaving out those that
/// fail.
fn validate_elements(
    wanted: &Json,
    name: &str,
    values: &Py,
    context: &[String],
    errors: &mut Vec<String>,
) -> Result<Vec<Py>, Raised> {
    let (checker, wanted) = type_validator(Some(wanted))?;
    let mut validated = Vec::new();
    for value in values.iter()? {
        match catch(call(checker, &value), true)? {
            Ok(v) => validated.push(v),
            Err(e) => errors.push(format!(
                "Elements value for option '{name}'{} is of type {} and we were unable to \
                 convert to {wanted}: {e}",
                found_in_quoted(context, ""),
                value.type_name()
            )),
        }
    }
    Ok(validated)
}

/// `_validate_argument_values`: each parameter must be one of its
/// option's `choices`.
fn validate_argument_values(
    spec: &Spec,
    params: &mut Dict,
    context: &[String],
    errors: &mut Vec<String>,
) -> Result<(), Raised> {
    for (name, attrs) in spec {
        let Some(choices) = attr(attrs_of(attrs)?, "choices") else {
            continue;
        };
        let Json::Array(choices) = choices else {
            let msg = format!(
                "internal error: choices for argument {name} are not iterable: {}",
                Py::task(choices)
            );
            errors.push(in_context(msg, context));
            continue;
        };
        let choices: Vec<Py> = choices.iter().map(Py::task).collect();
        let Some(value) = params.get(name) else {
            continue;
        };
        let listed = || {
            choices
                .iter()
                .map(Py::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Kind::List(items) = &value.kind {
            let unknown: Vec<String> = items
                .iter()
                .filter(|item| !choices.contains(item))
                .map(Py::to_string)
                .collect();
            if !unknown.is_empty() {
                let msg = format!(
                    "value of {name} must be one or more of: {}. Got no match for: {}",
                    listed(),
                    unknown.join(", ")
                );
                errors.push(in_context(msg, context));
            }
        } else if !choices.contains(value) {
            // PyYAML's booleans read back as the one choice they can be.
            let mut value = value.clone();
            for (word, truth) in [("False", false), ("True", true)] {
                if value.as_str() == Some(word) {
                    let overlap = boolean_overlap(&choices, truth)?;
                    if let [one] = overlap.as_slice() {
                        value = one.clone();
                        params.insert(name, value.clone());
                    }
                }
            }
            if !choices.contains(&value) {
                let msg = format!("value of {name} must be one of: {}, got: {value}", listed());
                errors.push(in_context(msg, context));
            }
        }
    }
    Ok(())
}

/// `BOOLEANS_TRUE.intersection(choices)` (or `BOOLEANS_FALSE`): the
/// distinct choices that are such a boolean.
fn boolean_overlap(choices: &[Py], truth: bool) -> Result<Vec<Py>, Raised> {
    let mut overlap: Vec<Py> = Vec::new();
    for choice in choices {
        // Unhashable choices fail the set operation, outside any `try`.
        choice.hashable().map_err(|e| Raised::Other(e.message()))?;
        if boolean_word(choice) == Some(truth) && !overlap.contains(choice) {
            overlap.push(choice.clone());
        }
    }
    Ok(overlap)
}

/// Whether a value is in `BOOLEANS_TRUE` (`Some(true)`) or
/// `BOOLEANS_FALSE` (`Some(false)`) of convert_bool.py.
fn boolean_word(value: &Py) -> Option<bool> {
    match &value.kind {
        Kind::Str(s) => match s.as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
            _ => None,
        },
        _ if *value == Py::int(1) => Some(true),
        _ if *value == Py::int(0) => Some(false),
        _ => None,
    }
}

/// `_validate_sub_spec`: validates the suboptions of each dict option (and
/// list of dicts), recursively.
fn validate_sub_spec(
    spec: &Spec,
    params: &mut Dict,
    prefix: &str,
    context: &mut Vec<String>,
    found: &mut Validation,
) -> Result<(), Raised> {
    for (name, attrs) in spec {
        let attrs = attrs_of(attrs)?;
        let is_list = attr_is(attrs, "type", "list");
        if !(attr_is(attrs, "type", "dict") || is_list && attr_is(attrs, "elements", "dict")) {
            continue;
        }
        let sub_spec = attr(attrs, "options");
        if attr_true(attrs, "apply_defaults") {
            if sub_spec.is_none() {
                continue;
            }
            if params.is_none(name) {
                params.insert(name, Py::plain(Kind::Dict(Dict::default())));
            }
        } else if sub_spec.is_none() || params.is_none(name) {
            continue;
        }
        let (Some(sub_spec), Some(mut value)) = (sub_spec, params.get(name).cloned()) else {
            continue;
        };
        context.push(name.clone());
        let sub = SubOption {
            name,
            attrs,
            spec: sub_spec,
            is_list,
        };
        if let Kind::List(items) = &mut value.kind {
            for (idx, item) in items.iter_mut().enumerate() {
                sub.validate(item, idx, prefix, context, found)?;
            }
        } else {
            sub.validate(&mut value, 0, prefix, context, found)?;
        }
        params.insert(name, value);
        context.pop();
    }
    Ok(())
}

/// A dict option (or list of dicts) with its suboptions.
struct SubOption<'a> {
    name: &'a str,
    attrs: &'a Spec,
    spec: &'a Json,
    is_list: bool,
}

impl SubOption<'_> {
    /// The loop body of `_validate_sub_spec`, for one dict.
    fn validate(
        &self,
        value: &mut Py,
        idx: usize,
        prefix: &str,
        context: &mut Vec<String>,
        found: &mut Validation,
    ) -> Result<(), Raised> {
        let spec = spec_of(self.spec)?;
        set_fallbacks(spec, value)?;
        let Kind::Dict(params) = &mut value.kind else {
            found.errors.push(format!(
                "value of '{}' must be of type dict or list of dicts",
                self.name
            ));
            return Ok(());
        };
        let index = if self.is_list {
            format!("[{idx}]")
        } else {
            String::new()
        };
        let prefix = format!("{prefix}{}{index}.", self.name);
        let mut both = Vec::new();
        let aliases = match catch(handle_aliases(spec, params, Some(&mut both)), true)? {
            Ok(aliases) => aliases,
            Err(msg) => {
                found.errors.push(msg);
                Vec::new()
            }
        };
        for (option, alias) in both {
            found.warnings.push(format!(
                "Both option {prefix}{option} and its alias {prefix}{alias} are set."
            ));
        }
        if let Err(msg) = catch(list_no_log_values(spec, params), false)? {
            found.errors.push(msg);
        }
        let legal = legal_inputs(spec, &aliases);
        unsupported_parameters(spec, params, &legal, context, found)?;
        let exclusive =
            check_mutually_exclusive(attr(self.attrs, "mutually_exclusive"), params, context);
        if let Err(msg) = catch(exclusive, false)? {
            found.errors.push(msg);
        }
        set_defaults(spec, params, false)?;
        if let Err(msg) = catch(check_required_arguments(spec, params, context), false)? {
            found.errors.push(msg);
        }
        validate_argument_types(spec, params, context, &mut found.errors)?;
        validate_argument_values(spec, params, context, &mut found.errors)?;
        for (key, check) in ADDITIONAL_CHECKS {
            if let Err(msg) = catch(check(attr(self.attrs, key), params, context), false)? {
                found.errors.push(msg);
            }
        }
        set_defaults(spec, params, true)?;
        validate_sub_spec(spec, params, &prefix, context, found)
    }
}

// ---------------------------------------------------------------------------
// The checks between options (validation.py)

type Check = fn(Option<&Json>, &Dict, &[String]) -> Result<(), Raised>;

/// `_ADDITIONAL_CHECKS`, by the attribute that gives each its terms.
const ADDITIONAL_CHECKS: [(&str, Check); 4] = [
    ("required_together", check_required_together),
    ("required_one_of", check_required_one_of),
    ("required_if", check_required_if),
    ("required_by", check_required_by),
];

/// `count_terms`: how many of the terms (one, or a list) are parameters.
fn count_terms(terms: &Py, params: &Dict) -> Result<usize, Raised> {
    let terms = if terms.is_iterable() {
        terms.iter()?
    } else {
        vec![terms.clone()]
    };
    let mut present: Vec<&str> = Vec::new();
    for term in &terms {
        term.hashable()?;
    }
    for term in &terms {
        if let Some(t) = term.as_str()
            && params.contains(t)
            && !present.contains(&t)
        {
            present.push(t);
        }
    }
    Ok(present.len())
}

/// `check_mutually_exclusive`.
fn check_mutually_exclusive(
    terms: Option<&Json>,
    params: &Dict,
    context: &[String],
) -> Result<(), Raised> {
    let Some(terms) = terms else {
        return Ok(());
    };
    let mut results = Vec::new();
    for check in Py::task(terms).iter()? {
        if count_terms(&check, params)? > 1 {
            results.push(check);
        }
    }
    if results.is_empty() {
        return Ok(());
    }
    let full: Vec<String> = results
        .iter()
        .map(|check| join("|", check))
        .collect::<Result<_, _>>()?;
    let msg = format!("parameters are mutually exclusive: {}", full.join(", "));
    Err(Raised::Type(in_context(msg, context)))
}

/// `check_required_one_of`.
fn check_required_one_of(
    terms: Option<&Json>,
    params: &Dict,
    context: &[String],
) -> Result<(), Raised> {
    let Some(terms) = terms else {
        return Ok(());
    };
    let mut results = Vec::new();
    for term in Py::task(terms).iter()? {
        if count_terms(&term, params)? == 0 {
            results.push(term);
        }
    }
    match results.first() {
        None => Ok(()),
        Some(term) => {
            let msg = format!("one of the following is required: {}", join(", ", term)?);
            Err(Raised::Type(in_context(msg, context)))
        }
    }
}

/// `check_required_together`.
fn check_required_together(
    terms: Option<&Json>,
    params: &Dict,
    context: &[String],
) -> Result<(), Raised> {
    let Some(terms) = terms else {
        return Ok(());
    };
    let mut results = Vec::new();
    for term in Py::task(terms).iter()? {
        let counts = term
            .iter()?
            .iter()
            .map(|field| count_terms(field, params))
            .collect::<Result<Vec<_>, _>>()?;
        if counts.iter().any(|&c| c > 0) && counts.contains(&0) {
            results.push(term);
        }
    }
    match results.first() {
        None => Ok(()),
        Some(term) => {
            let msg = format!("parameters are required together: {}", join(", ", term)?);
            Err(Raised::Type(in_context(msg, context)))
        }
    }
}

/// `check_required_by`.
fn check_required_by(
    requirements: Option<&Json>,
    params: &Dict,
    context: &[String],
) -> Result<(), Raised> {
    let Some(requirements) = requirements else {
        return Ok(());
    };
    let Json::Object(requirements) = requirements else {
        return Err(Raised::Other(format!(
            "'{}' object has no attribute 'items'",
            Py::task(requirements).class_name()
        )));
    };
    for (key, value) in requirements {
        if params.is_none(key) {
            continue;
        }
        let value = Py::task(value);
        let required = match value.kind {
            Kind::Str(_) => vec![value],
            _ => value.iter()?,
        };
        let mut missing = Vec::new();
        for name in required {
            if !name.in_dict(params)? || name.as_str().is_some_and(|n| params.is_none(n)) {
                missing.push(name);
            }
        }
        if !missing.is_empty() {
            let missing = join(", ", &Py::plain(Kind::List(missing)))?;
            let msg = format!("missing parameter(s) required by '{key}': {missing}");
            return Err(Raised::Type(in_context(msg, context)));
        }
    }
    Ok(())
}

/// `check_required_arguments`.
fn check_required_arguments(spec: &Spec, params: &Dict, context: &[String]) -> Result<(), Raised> {
    let mut missing = Vec::new();
    for (name, attrs) in spec {
        if attr_true(attrs_of(attrs)?, "required") && !params.contains(name) {
            missing.push(name.as_str());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable();
    let msg = format!("missing required arguments: {}", missing.join(", "));
    Err(Raised::Type(in_context(msg, context)))
}

/// `check_required_if`: each requirement is `[key, value, names]` or
/// `[key, value, names, is_one_of]`.
fn check_required_if(
    requirements: Option<&Json>,
    params: &Dict,
    context: &[String],
) -> Result<(), Raised> {
    let Some(requirements) = requirements else {
        return Ok(());
    };
    // (key, value, requires, missing)
    let mut results: Vec<(Py, Py, &str, Vec<Py>)> = Vec::new();
    for req in Py::task(requirements).iter()? {
        let items = req.iter().map_err(|_| {
            Raised::Type(format!(
                "object of type '{}' has no len()",
                req.class_name()
            ))
        })?;
        let (key, val, names, is_one_of) = match items.as_slice() {
            [k, v, n, one] => (k, v, n, one.truthy()),
            [k, v, n] => (k, v, n, false),
            short if short.len() < 3 => {
                return Err(Raised::Value(format!(
                    "not enough values to unpack (expected 3, got {})",
                    short.len()
                )));
            }
            _ => {
                return Err(Raised::Value(
                    "too many values to unpack (expected 3)".into(),
                ));
            }
        };
        let (max_missing, requires) = if is_one_of {
            let count = names.iter().map_err(|_| {
                Raised::Type(format!(
                    "object of type '{}' has no len()",
                    names.class_name()
                ))
            })?;
            (count.len(), "any")
        } else {
            (0, "all")
        };
        let mut missing = Vec::new();
        if key.in_dict(params)? && key.as_str().and_then(|k| params.get(k)) == Some(val) {
            for check in names.iter()? {
                if count_terms(&check, params)? == 0 {
                    missing.push(check);
                }
            }
        }
        if !missing.is_empty() && missing.len() >= max_missing {
            results.push((key.clone(), val.clone(), requires, missing));
        }
    }
    match results.into_iter().next() {
        None => Ok(()),
        Some((key, val, requires, missing)) => {
            let missing = join(", ", &Py::plain(Kind::List(missing)))?;
            let msg =
                format!("{key} is {val} but {requires} of the following are missing: {missing}");
            Err(Raised::Type(in_context(msg, context)))
        }
    }
}

// ---------------------------------------------------------------------------
// Type conversions (validation.py), by DEFAULT_TYPE_VALIDATORS' names

type Checker = fn(&Py) -> Result<Py, Raised>;

/// `DEFAULT_TYPE_VALIDATORS`.
const TYPE_VALIDATORS: [(&str, Checker); 12] = [
    ("str", check_type_str),
    ("list", check_type_list),
    ("dict", check_type_dict),
    ("bool", check_type_bool),
    ("int", check_type_int),
    ("float", check_type_float),
    ("path", check_type_path),
    ("raw", check_type_raw),
    ("jsonarg", check_type_jsonarg),
    ("json", check_type_jsonarg),
    ("bytes", check_type_bytes),
    ("bits", check_type_bits),
];

/// `_get_type_validator`: the checker for a `type` (none for a name it
/// does not know) and the name it goes by; no type means str.
fn type_validator(wanted: Option<&Json>) -> Result<(Option<Checker>, String), Raised> {
    match wanted {
        None => Ok((Some(check_type_str), "str".into())),
        Some(Json::String(name)) => {
            let checker = TYPE_VALIDATORS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| *c);
            Ok((checker, name.clone()))
        }
        Some(other) => {
            let other = Py::task(other);
            other.hashable()?;
            Ok((None, other.to_string()))
        }
    }
}

/// Calls a checker; a type ansible-core does not know has None for one.
fn call(checker: Option<Checker>, value: &Py) -> Result<Py, Raised> {
    match checker {
        Some(checker) => checker(value),
        None => Err(Raised::Type("'NoneType' object is not callable".into())),
    }
}

/// `check_type_str`: a string as is, None as '', anything else as `str()`
/// gives it.
fn check_type_str(value: &Py) -> Result<Py, Raised> {
    Ok(match value.kind {
        Kind::Str(_) => value.clone(),
        Kind::None => Py::str(""),
        _ => Py::str(value.to_string()),
    })
}

/// `check_type_list`: a list as is, a string split at commas, a number as
/// the list of its text.
fn check_type_list(value: &Py) -> Result<Py, Raised> {
    match &value.kind {
        Kind::List(_) => Ok(value.clone()),
        Kind::Str(s) => Ok(Py::plain(Kind::List(s.split(',').map(Py::str).collect()))),
        Kind::Bool(_) | Kind::Int(_) | Kind::Float(_) => {
            Ok(Py::plain(Kind::List(vec![Py::str(value.to_string())])))
        }
        _ => Err(Raised::Type(format!(
            "{} cannot be converted to a list",
            value.type_repr()
        ))),
    }
}

/// `check_type_dict`: a dict as is, or a string of JSON (or a Python
/// literal) or of `k1=v1, k2=v2`.
fn check_type_dict(value: &Py) -> Result<Py, Raised> {
    let text = match &value.kind {
        Kind::Dict(_) => return Ok(value.clone()),
        Kind::Str(s) => s,
        _ => {
            return Err(Raised::Type(format!(
                "{} cannot be converted to a dict",
                value.type_repr()
            )));
        }
    };
    if text.starts_with('{') {
        if let Ok(json) = serde_json::from_str::<Json>(text) {
            return Ok(Py::from_json(&json, false));
        }
        return match literal_eval(text) {
            Some(
                dict @ Py {
                    kind: Kind::Dict(_),
                    ..
                },
            ) => Ok(dict),
            _ => Err(Raised::Type(
                "unable to evaluate string as dictionary".into(),
            )),
        };
    }
    if !text.contains('=') {
        return Err(Raised::Type(
            "dictionary requested, could not parse JSON or key=value".into(),
        ));
    }
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.trim().chars() {
        if escaped {
            field.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == ',' || c == ' ') {
            if !field.is_empty() {
                fields.push(std::mem::take(&mut field));
            }
        } else {
            field.push(c);
        }
    }
    if !field.is_empty() {
        fields.push(field);
    }
    let mut dict = Dict::default();
    for field in fields {
        let Some((k, v)) = field.split_once('=') else {
            return Err(Raised::Type(
                "unable to evaluate string in the \"key=value\" format as dictionary".into(),
            ));
        };
        dict.insert(k, Py::str(v));
    }
    Ok(Py::plain(Kind::Dict(dict)))
}

/// `check_type_bool`: a bool as is, a string or number as convert_bool's
/// `boolean` reads it.
fn check_type_bool(value: &Py) -> Result<Py, Raised> {
    let word = match &value.kind {
        Kind::Bool(_) => return Ok(value.clone()),
        Kind::Str(s) => boolean_word(&Py::str(s.to_lowercase().trim())),
        Kind::Int(_) | Kind::Float(_) => boolean_word(value),
        _ => {
            return Err(Raised::Type(format!(
                "{} cannot be converted to a bool",
                value.type_repr()
            )));
        }
    };
    match word {
        Some(b) => Ok(Py::plain(Kind::Bool(b))),
        // convert_bool.py joins a frozenset, whose order changes with
        // Python's string hashing; this is the order under
        // PYTHONHASHSEED=0.
        None => Err(Raised::Type(format!(
            "The value '{value}' is not a valid boolean. Valid booleans include: \
             0, 'y', 'true', 1, 'f', 'n', 'off', 't', '0', 'no', 'false', '1', 'on', 'yes'"
        ))),
    }
}

/// `check_type_int`: an int as is (a bool too), else `Decimal(value)` when
/// it has no decimal part.
fn check_type_int(value: &Py) -> Result<Py, Raised> {
    let cannot = || {
        Raised::Type(format!(
            "\"{}\" cannot be converted to an int",
            value.repr()
        ))
    };
    match &value.kind {
        Kind::Int(_) | Kind::Bool(_) => Ok(value.clone()),
        Kind::Float(f) if f.is_infinite() => Err(infinity_to_int()),
        Kind::Float(f) if f.is_nan() || f.fract() != 0.0 => Err(cannot()),
        Kind::Float(f) => Ok(int_or_float(*f)),
        Kind::Str(s) => decimal_to_int(s)?.ok_or_else(cannot),
        _ => Err(cannot()),
    }
}

/// `int(Decimal('Infinity'))` raises OverflowError, which nothing catches.
fn infinity_to_int() -> Raised {
    Raised::Other("cannot convert Infinity to integer".into())
}

/// An integral float as an int; one too large for 128 bits stays a float.
fn int_or_float(f: f64) -> Py {
    if f.abs() < 1.7e38 {
        Py::int(f as i128)
    } else {
        Py::float(f)
    }
}

/// `int(Decimal(text))` where it equals the decimal: `None` for text that
/// is no decimal or has a decimal part.
fn decimal_to_int(text: &str) -> Result<Option<Py>, Raised> {
    static DECIMAL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([+-]?)(\d(?:_?\d)*)?(?:\.(\d(?:_?\d)*)?)?(?:[eE]([+-]?\d(?:_?\d)*))?$")
            .expect("valid regex")
    });
    static SPECIAL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)^[+-]?(inf|infinity|s?nan\d*)$").expect("valid regex"));
    let text = text.trim();
    if let Some(m) = SPECIAL.captures(text) {
        return if m[1].to_ascii_lowercase().starts_with("inf") {
            Err(infinity_to_int())
        } else {
            Ok(None)
        };
    }
    let Some(m) = DECIMAL.captures(text) else {
        return Ok(None);
    };
    let int_digits = m.get(2).map_or("", |d| d.as_str()).replace('_', "");
    let frac_digits = m.get(3).map_or("", |d| d.as_str()).replace('_', "");
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Ok(None);
    }
    let exp: i64 = match m.get(4) {
        Some(e) => match e.as_str().replace('_', "").parse() {
            Ok(e) => e,
            Err(_) => return Ok(None),
        },
        None => 0,
    };
    // The digits, and where the point falls in them.
    let digits = format!("{int_digits}{frac_digits}");
    let point = int_digits.len() as i64 + exp;
    let (whole, fraction) = if point <= 0 {
        ("", digits.as_str())
    } else if point as usize >= digits.len() {
        (digits.as_str(), "")
    } else {
        digits.split_at(point as usize)
    };
    if fraction.chars().any(|c| c != '0') {
        return Ok(None);
    }
    let zeros = (point - digits.len() as i64).max(0) as usize;
    let negative = &m[1] == "-";
    let mut n: Option<i128> = Some(0);
    for c in whole.chars().chain(std::iter::repeat_n('0', zeros)) {
        let d = i128::from(c.to_digit(10).unwrap_or(0));
        n = n
            .and_then(|n| n.checked_mul(10))
            .and_then(|n| n.checked_add(d));
    }
    Ok(Some(match n {
        Some(n) => Py::int(if negative { -n } else { n }),
        None => Py::float(text.replace('_', "").parse().unwrap_or(f64::INFINITY)),
    }))
}

/// `check_type_float`: a float as is, else `float(value)`.
fn check_type_float(value: &Py) -> Result<Py, Raised> {
    let converted = match &value.kind {
        Kind::Float(_) => return Ok(value.clone()),
        Kind::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Kind::Int(i) => Some(*i as f64),
        Kind::Str(s) => parse_float(s),
        _ => None,
    };
    converted.map(Py::float).ok_or_else(|| {
        Raised::Type(format!(
            "{} cannot be converted to a float",
            value.type_repr()
        ))
    })
}

/// Python's `float(text)`.
fn parse_float(text: &str) -> Option<f64> {
    static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)^[+-]?(?:(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:e[+-]?\d(?:_?\d)*)?|inf|infinity|nan)$",
        )
        .expect("valid regex")
    });
    let text = text.trim();
    if !FLOAT.is_match(text) {
        return None;
    }
    text.replace('_', "").parse().ok()
}

/// `check_type_path`: a string, with environment variables and `~`
/// expanded (on the controller, where the action runs).
fn check_type_path(value: &Py) -> Result<Py, Raised> {
    let text = check_type_str(value)?;
    let path = text.as_str().unwrap_or_default();
    let expanded = expand_user(&expand_vars(path));
    Ok(if expanded == path {
        text
    } else {
        Py::str(expanded)
    })
}

/// `os.path.expandvars`: `$name` and `${name}` of set variables.
fn expand_vars(path: &str) -> String {
    static VAR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\$([A-Za-z0-9_]+|\{[^}]*\})").expect("valid regex"));
    if !path.contains('$') {
        return path.to_owned();
    }
    VAR.replace_all(path, |c: &regex::Captures| {
        let name = c[1].strip_prefix('{').and_then(|n| n.strip_suffix('}'));
        std::env::var(name.unwrap_or(&c[1])).unwrap_or_else(|_| c[0].to_owned())
    })
    .into_owned()
}

/// `os.path.expanduser` of `~` and `~/...` (`$HOME`).
fn expand_user(path: &str) -> String {
    let Some(rest) = path.strip_prefix('~') else {
        return path.to_owned();
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return path.to_owned();
    }
    match std::env::var("HOME") {
        Ok(home) => {
            let joined = format!("{}{rest}", home.trim_end_matches('/'));
            if joined.is_empty() {
                "/".into()
            } else {
                joined
            }
        }
        Err(_) => path.to_owned(),
    }
}

/// `check_type_raw`: the value as is.
fn check_type_raw(value: &Py) -> Result<Py, Raised> {
    Ok(value.clone())
}

/// `check_type_bytes`: `human_to_bytes` of the value (`2K` is 2048).
fn check_type_bytes(value: &Py) -> Result<Py, Raised> {
    human_to_bytes(&value.to_string(), false).ok_or_else(|| {
        Raised::Type(format!(
            "{} cannot be converted to a Byte value",
            value.type_repr()
        ))
    })
}

/// `check_type_bits`: `human_to_bytes` of the value in bits (`1Mb` is
/// 1048576).
fn check_type_bits(value: &Py) -> Result<Py, Raised> {
    human_to_bytes(&value.to_string(), true).ok_or_else(|| {
        Raised::Type(format!(
            "{} cannot be converted to a Bit value",
            value.type_repr()
        ))
    })
}

/// formatters.py's `human_to_bytes`: a number with an optional unit.
fn human_to_bytes(text: &str, isbits: bool) -> Option<Py> {
    static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").expect("valid regex")
    });
    const UNITS: [(char, u32, &str, &str); 9] = [
        ('Y', 80, "yotta", "Y"),
        ('Z', 70, "zeta", "Z"),
        ('E', 60, "exa", "E"),
        ('P', 50, "peta", "P"),
        ('T', 40, "tera", "T"),
        ('G', 30, "giga", "G"),
        ('M', 20, "mega", "M"),
        ('K', 10, "kilo", "K"),
        ('B', 0, "", ""),
    ];
    let m = NUMBER.captures(text)?;
    let num: f64 = m[1].parse().ok()?;
    let limit = match m.get(2).map(|u| u.as_str()) {
        None => 1.0,
        Some(unit) => {
            let key = unit.chars().next()?.to_ascii_uppercase();
            let (_, power, name, abbr) = UNITS.iter().find(|(k, ..)| *k == key)?;
            if unit.len() > 1 {
                // `VALID_UNITS`: `kilobyte`/`KB`, `kilobit`/`Kb` ...
                let (full, abbr) = if isbits {
                    (format!("{name}bit"), format!("{abbr}b"))
                } else {
                    (format!("{name}byte"), format!("{abbr}B"))
                };
                let (full, abbr) = match key {
                    'B' if isbits => ("bit".to_owned(), "b".to_owned()),
                    'B' => ("byte".to_owned(), "B".to_owned()),
                    _ => (full, abbr),
                };
                if unit.to_lowercase() != full && unit != abbr {
                    return None;
                }
            }
            2f64.powi(*power as i32)
        }
    };
    Some(int_or_float((num * limit).round_ties_even()))
}

/// `check_type_jsonarg`: a string stripped, a list or dict as JSON.
fn check_type_jsonarg(value: &Py) -> Result<Py, Raised> {
    match &value.kind {
        Kind::Str(s) => Ok(Py::str(s.trim())),
        Kind::List(_) | Kind::Dict(_) => Ok(Py::str(json_dumps(value))),
        _ => Err(Raised::Type(format!(
            "{} cannot be converted to a json string",
            value.type_repr()
        ))),
    }
}

/// Python's `json.dumps`: `, ` and `: ` between items, non-ASCII escaped.
fn json_dumps(value: &Py) -> String {
    match &value.kind {
        Kind::None => "null".into(),
        Kind::Bool(b) => b.to_string(),
        Kind::Int(i) => i.to_string(),
        Kind::Float(f) if f.is_nan() => "NaN".into(),
        Kind::Float(f) if f.is_infinite() => if *f > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        Kind::Float(f) => float_repr(*f),
        Kind::Str(s) => json_string(s),
        Kind::List(items) => {
            let items: Vec<String> = items.iter().map(json_dumps).collect();
            format!("[{}]", items.join(", "))
        }
        Kind::Dict(d) => {
            let items: Vec<String> =
                d.0.iter()
                    .map(|(k, v)| format!("{}: {}", json_string(k), json_dumps(v)))
                    .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii`).
fn json_string(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && c >= ' ' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Python's `ast.literal_eval` of strings, numbers, True, False, None,
/// lists, tuples and dicts (keys other than strings are written as text).
fn literal_eval(text: &str) -> Option<Py> {
    let mut parser = Literal {
        chars: text.chars().collect(),
        at: 0,
    };
    let value = parser.value()?;
    parser.space();
    (parser.at == parser.chars.len()).then_some(value)
}

struct Literal {
    chars: Vec<char>,
    at: usize,
}

impl Literal {
    fn space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.space();
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.at += 1;
        }
        found
    }

    fn value(&mut self) -> Option<Py> {
        match self.peek()? {
            '[' | '(' => {
                let close = if self.chars[self.at] == '[' { ']' } else { ')' };
                self.at += 1;
                let mut items = Vec::new();
                while !self.eat(close) {
                    items.push(self.value()?);
                    if !self.eat(',') && self.peek() != Some(close) {
                        return None;
                    }
                }
                Some(Py::plain(Kind::List(items)))
            }
            '{' => {
                self.at += 1;
                let mut dict = Dict::default();
                while !self.eat('}') {
                    let key = self.value()?;
                    if !self.eat(':') {
                        return None;
                    }
                    let value = self.value()?;
                    dict.insert(&key.to_string(), value);
                    if !self.eat(',') && self.peek() != Some('}') {
                        return None;
                    }
                }
                Some(Py::plain(Kind::Dict(dict)))
            }
            '\'' | '"' => {
                let mut s = String::new();
                while matches!(self.peek(), Some('\'' | '"')) {
                    s.push_str(&self.string()?);
                }
                Some(Py::str(s))
            }
            _ => {
                let start = self.at;
                while self
                    .chars
                    .get(self.at)
                    .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
                {
                    self.at += 1;
                }
                let word: String = self.chars[start..self.at].iter().collect();
                match word.as_str() {
                    "True" => Some(Py::plain(Kind::Bool(true))),
                    "False" => Some(Py::plain(Kind::Bool(false))),
                    "None" => Some(Py::none()),
                    w if w
                        .chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, '_' | '+' | '-')) =>
                    {
                        w.replace('_', "").parse().ok().map(Py::int)
                    }
                    w => parse_float(w).map(Py::float),
                }
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let quote = self.chars[self.at];
        self.at += 1;
        let mut s = String::new();
        loop {
            let c = *self.chars.get(self.at)?;
            self.at += 1;
            match c {
                c if c == quote => return Some(s),
                '\\' => {
                    let e = *self.chars.get(self.at)?;
                    self.at += 1;
                    match e {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        '0' => s.push('\0'),
                        '\n' => {}
                        'x' | 'u' | 'U' => {
                            let len = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String =
                                self.chars.get(self.at..self.at + len)?.iter().collect();
                            self.at += len;
                            s.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                        }
                        '\\' | '\'' | '"' => s.push(e),
                        other => {
                            s.push('\\');
                            s.push(other);
                        }
                    }
                }
                '\n' => return None,
                c => s.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::panic;
    use std::path::Path;
    use std::sync::Arc;

    use serde_json::{Value as Json, json};

    use super::*;
    use crate::template::environment;

    fn run_validate(spec: Json, params: Json) -> Result<Validation, Raised> {
        let Json::Object(spec) = spec else {
            panic!("a spec is a dict")
        };
        let Kind::Dict(params) = Py::task(&params).kind else {
            panic!("parameters are a dict")
        };
        validate(&spec, params)
    }

    /// What validating `params` against `spec` gives, as a record of
    /// expected.jsonl (see fixtures/argspec/oracle.py): the exception that
    /// escaped, or the errors, the validated parameters and any warnings.
    fn outcome(name: &str, spec: Json, params: Json) -> Json {
        let run = panic::catch_unwind(panic::AssertUnwindSafe(|| run_validate(spec, params)));
        match run {
            Ok(Ok(found)) => {
                let mut out = json!({
                    "name": name,
                    "errors": found.errors,
                    "params": to_json(&Py::plain(Kind::Dict(found.params))),
                });
                if !found.warnings.is_empty() {
                    out["warnings"] = json!(found.warnings);
                }
                out
            }
            Ok(Err(raised)) => json!({"name": name, "crash": raised.message()}),
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                json!({"name": name, "panic": msg})
            }
        }
    }

    /// A validated value as JSON; floats JSON cannot hold as Python's text.
    fn to_json(value: &Py) -> Json {
        match &value.kind {
            Kind::None => Json::Null,
            Kind::Bool(b) => json!(b),
            Kind::Int(i) => match (i64::try_from(*i), u64::try_from(*i)) {
                (Ok(i), _) => json!(i),
                (_, Ok(u)) => json!(u),
                _ => json!(*i as f64),
            },
            Kind::Float(f) => {
                serde_json::Number::from_f64(*f).map_or_else(|| json!(float_repr(*f)), Json::Number)
            }
            Kind::Str(s) => json!(s),
            Kind::List(items) => Json::Array(items.iter().map(to_json).collect()),
            Kind::Dict(d) => {
                Json::Object(d.0.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
            }
        }
    }

    fn templar(vars: Json) -> Templar {
        let Json::Object(vars) = vars else {
            panic!("vars are a dict")
        };
        Templar::new(environment(), vec![Arc::new(vars)])
    }

    fn run_action(vars: Json, args: Json) -> ModuleResult {
        let Json::Object(args) = args else {
            panic!("args are a dict")
        };
        action(&templar(vars), &args)
    }

    #[test]
    fn action_validates_task_vars_under_provided_arguments() {
        // As ansible-playbook printed for fixtures/argspec/pb.yml.
        let vars = json!({"port": "80", "name": "{{ 'web' }}", "other": 1});
        let args = json!({
            "argument_spec": {
                "port": {"type": "int", "choices": [1, 2]},
                "name": {"required": true},
                "state": {"choices": ["a", "b"]},
            },
            "provided_arguments": {"state": "c", "extra": 1},
        });
        let out = run_action(vars.clone(), args.clone()).unwrap().result;
        let errors = [
            "value of port must be one of: 1, 2, got: 80",
            "value of state must be one of: a, b, got: c",
            "extra. Supported parameters include: name, port, state.",
        ];
        assert_eq!(
            Json::Object(out),
            json!({
                "failed": true,
                "msg": format!("Validation of arguments failed:\n{}", errors.join("\n")),
                "argument_spec_data": args["argument_spec"],
                "argument_errors": errors,
                "validate_args_context": {},
            })
        );
        let args = json!({
            "argument_spec": {"port": {"type": "int"}, "name": {"choices": ["web"]}},
            "provided_arguments": {"port": "8080"},
            "validate_args_context": {"role": "x"},
        });
        let out = run_action(vars, args).unwrap().result;
        assert_eq!(
            Json::Object(out),
            json!({
                "changed": false,
                "msg": "The arg spec validation passed",
                "validate_args_context": {"role": "x"},
            })
        );
    }

    #[test]
    fn action_shows_suboption_warnings() {
        let args = json!({
            "argument_spec": {"o": {"type": "dict", "options": {"x": {"aliases": ["y"]}}}},
        });
        let out = run_action(json!({"o": {"x": 1, "y": 2}}), args)
            .unwrap()
            .result;
        assert_eq!(
            out["warnings"],
            json!(["Both option o.x and its alias o.y are set."])
        );
        assert_eq!(out["msg"], json!("The arg spec validation passed"));
    }

    #[test]
    fn action_failures() {
        // As ansible-playbook printed them.
        let fails = |args: Json| run_action(json!({}), args).unwrap_err().0;
        assert_eq!(
            fails(json!({"provided_arguments": {"a": 1}})),
            "Task failed: \"argument_spec\" arg is required in args: {'provided_arguments': {'a': 1}}"
        );
        assert_eq!(
            fails(json!({"argument_spec": [1]})),
            "Task failed: Incorrect type for argument_spec, expected dict and got \
             <class 'ansible.module_utils._internal._datatag._AnsibleTaggedList'>"
        );
        assert_eq!(
            fails(json!({"argument_spec": null})),
            "Task failed: Incorrect type for argument_spec, expected dict and got <class 'NoneType'>"
        );
        assert_eq!(
            fails(json!({"argument_spec": {}, "provided_arguments": "x"})),
            "Task failed: Incorrect type for provided_arguments, expected dict and got \
             <class 'ansible.module_utils._internal._datatag._AnsibleTaggedStr'>"
        );
        assert_eq!(
            fails(json!({"argument_spec": {"a": null}})),
            "Task failed: 'NoneType' object has no attribute 'get'"
        );
        assert_eq!(
            fails(
                json!({"argument_spec": {"n": {"type": "int"}}, "provided_arguments": {"n": "inf"}})
            ),
            "Task failed: cannot convert Infinity to integer"
        );
    }

    #[test]
    fn task_vars_need_defining() {
        let t = templar(json!({"a": "{{ b }}", "b": [1], "my-opt": 2}));
        let spec = json!({"a": {}, "my-opt": {}, "c": {}});
        let Json::Object(spec) = spec else {
            unreachable!()
        };
        let args = args_from_task_vars(&t, &spec).unwrap();
        assert_eq!(
            to_json(&Py::plain(Kind::Dict(args))),
            json!({"a": [1], "my-opt": 2})
        );
    }

    #[test]
    fn python_text() {
        assert_eq!(float_repr(1e-5), "1e-05");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(123.0), "123.0");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a\n'\"b"), "'a\\n\\'\"b'");
        let dict = check_type_dict(&Py::str("{'a': [1, 2.5, None], 'b': 'x'}")).unwrap();
        assert_eq!(dict.to_string(), "{'a': [1, 2.5, None], 'b': 'x'}");
    }

    /// The table of fixtures/argspec: each case of cases.json validated as
    /// the action does (the parameters tagged as a playbook's) must give what
    /// ansible-core's `ArgumentSpecValidator` gave for it in expected.jsonl.
    /// Every difference is listed, not just the first.
    #[test]
    fn argspec_fixtures() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/argspec");
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        let cases: Vec<Json> = serde_json::from_str(&read("cases.json")).expect("cases.json");
        let expected = read("expected.jsonl");
        let mut compared = 0;
        let mut seen = HashSet::new();
        let mut mismatches = Vec::new();
        for (n, line) in expected.lines().enumerate() {
            let want: Json = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("expected.jsonl line {}: {e}", n + 1));
            let name = want["name"].as_str().expect("a record has a name");
            seen.insert(name.to_owned());
            let Some(case) = cases.iter().find(|c| c["name"] == name) else {
                mismatches.push(format!("{name}: no such case in cases.json"));
                continue;
            };
            let params = case.get("params").cloned().unwrap_or_else(|| json!({}));
            let got = outcome(name, case["spec"].clone(), params);
            if got != want {
                mismatches.push(format!(
                    "{name}: spec {} params {}\n  expected: {want}\n  got:      {got}",
                    case["spec"], case["params"]
                ));
            }
            compared += 1;
        }
        for case in &cases {
            let name = case["name"].as_str().unwrap_or_default();
            if !seen.contains(name) {
                mismatches.push(format!("{name}: no record in expected.jsonl"));
            }
        }
        assert!(
            mismatches.is_empty(),
            "{} of {compared} cases differ from ansible-core:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
        assert_eq!(compared, expected.lines().count());
    }
}
