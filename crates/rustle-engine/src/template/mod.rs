//! Templating with Ansible 2.19 semantics on minijinja: strict undefined
//! variables (whose attributes chain to undefined, `chain.rs`), native
//! result types, lazy variables and boolean-only
//! conditionals.

mod chain;
mod convert;
mod crypt;
mod filters;
mod jinja;
pub mod lookups;
mod more;
mod paths;
mod percent;
mod pyrandom;
mod render;
mod scope;
mod time;
mod units;
mod urls;
mod yaml;

use std::sync::{Arc, OnceLock};

use minijinja::value::ValueKind;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use rustle_format::Vars;
use serde_json::Value as Json;

pub use convert::{to_json, to_value};
pub(crate) use more::merge as merge_json;
pub use render::{has_template, is_template};
use scope::Scope;

/// A templating failure, with Ansible's wording where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    /// The failure is a variable that is not defined.
    pub undefined: bool,
}

impl TemplateError {
    pub fn new(message: impl Into<String>) -> TemplateError {
        TemplateError {
            message: message.into(),
            undefined: false,
        }
    }

    /// The same error with its message prefixed.
    pub fn context(self, prefix: &str) -> TemplateError {
        TemplateError {
            message: format!("{prefix}{}", self.message),
            ..self
        }
    }
}

impl From<minijinja::Error> for TemplateError {
    fn from(err: minijinja::Error) -> TemplateError {
        let kind = err.kind();
        let text = match (kind, err.detail()) {
            (ErrorKind::UndefinedError | ErrorKind::InvalidOperation, Some(detail)) => {
                detail.to_owned()
            }
            (_, Some(detail)) => format!("{kind}: {detail}"),
            (_, None) => kind.to_string(),
        };
        TemplateError {
            message: text.replace('`', "'"),
            undefined: kind == ErrorKind::UndefinedError,
        }
    }
}

/// The placeholder `omit` renders to; args equal to it are dropped.
pub fn omit() -> &'static str {
    static OMIT: OnceLock<String> = OnceLock::new();
    OMIT.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!(
            "__omit_place_holder__{}",
            crate::util::sha1::sha1_hex(format!("{}-{nanos}", std::process::id()).as_bytes())
        )
    })
}

/// Whether a list or dict holds an undefined value, at any depth.
fn holds_undefined(value: &Value) -> bool {
    match value.kind() {
        ValueKind::Undefined => true,
        ValueKind::Seq => value
            .try_iter()
            .is_ok_and(|mut items| items.any(|v| holds_undefined(&v))),
        ValueKind::Map => value.try_iter().is_ok_and(|mut keys| {
            keys.any(|k| value.get_item(&k).is_ok_and(|v| holds_undefined(&v)))
        }),
        _ => false,
    }
}

/// The template environment every task of a run shares.
pub fn environment() -> Arc<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Python's Jinja renders `None` as an empty string.
    env.set_formatter(|out, state, value| {
        let value = if value.is_none() {
            &Value::from("")
        } else {
            value
        };
        // A list or dict holding an undefined value (`map('extract', ...)`
        // of a missing key) fails when printed, as in ansible-core, instead
        // of printing `undefined`.
        if holds_undefined(value) {
            return Err(minijinja::Error::from(ErrorKind::UndefinedError));
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_global("omit", omit());
    // Python's str, dict and list methods (`x.startswith('a')`,
    // `d.items()`), which Ansible templates call.
    // `items()` pairs come back as lists, as ansible-core 2.19 shows
    // them (`[['a', 1]]`, not Python's `[('a', 1)]`).
    env.set_unknown_method_callback(|state, value, method, args| {
        let out = minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)?;
        if method != "items" {
            return Ok(out);
        }
        let pairs = out
            .try_iter()?
            .map(|pair| Ok(Value::from(pair.try_iter()?.collect::<Vec<_>>())))
            .collect::<Result<Vec<_>, minijinja::Error>>()?;
        Ok(Value::from(pairs))
    });
    filters::register(&mut env);
    chain::register(&mut env);
    percent::register(&mut env);
    lookups::register(&mut env);
    yaml::register(&mut env);
    pyrandom::register(&mut env);
    jinja::register(&mut env);
    paths::register(&mut env);
    time::register(&mut env);
    units::register(&mut env);
    urls::register(&mut env);
    crypt::register(&mut env);
    Arc::new(env)
}

impl lookups::LookupCx for Templar {
    fn var(&self, name: &str) -> Option<Json> {
        self.scope.raw(name)?;
        self.eval(name).ok()
    }

    fn var_names(&self) -> Vec<String> {
        self.scope.names()
    }

    fn render(&self, text: &str, extra: &Vars) -> Result<String, String> {
        // The template lookup trims blocks by default (2.19).
        let opts = FileOptions {
            trim_blocks: true,
            lstrip_blocks: false,
        };
        self.render_file(text, opts, extra).map_err(|e| e.message)
    }
}

/// Renders a template file's text with `ctx`, Jinja's block whitespace
/// options, and trailing newlines kept.
pub(crate) fn render_text(
    env: &Environment<'_>,
    ctx: Value,
    source: &str,
    opts: FileOptions,
) -> Result<String, TemplateError> {
    let mut env = env.clone();
    let syntax = env
        .syntax()
        .to_builder()
        .trim_blocks(opts.trim_blocks)
        .lstrip_blocks(opts.lstrip_blocks)
        .build()?;
    env.set_syntax(syntax);
    let rewritten = render::prepare(source, false, env.syntax());
    let text = env
        .render_str(&rewritten, ctx.clone())
        .map_err(|e| render::name_undefined(e, &rewritten, &ctx))?;
    // As Ansible: Jinja drops the file's final newline, then as many are
    // put back as the file ends with and the output does not (so a final
    // `{{ x | to_yaml }}` gives one newline, not two, and an included
    // template's newline is not kept).
    Ok(render::keep_trailing_newlines(source, text))
}

/// Jinja's whitespace options for a template file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOptions {
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
}

/// Renders values and evaluates conditions against layered variables.
#[derive(Debug, Clone)]
pub struct Templar {
    env: Arc<Environment<'static>>,
    scope: Arc<Scope>,
}

impl Templar {
    /// `layers` go from lowest to highest precedence.
    pub fn new(env: Arc<Environment<'static>>, layers: Vec<Arc<Vars>>) -> Templar {
        Templar::with_hostvars(env, layers, Arc::default())
    }

    /// `new`, with other hosts' variables (by inventory name) in `hostvars`.
    pub fn with_hostvars(
        env: Arc<Environment<'static>>,
        layers: Vec<Arc<Vars>>,
        others: Arc<Vars>,
    ) -> Templar {
        let scope = Arc::new(Scope::new(env.clone(), layers, others));
        Templar { env, scope }
    }

    /// `with_hostvars` where `hostvars` of this host shows only `own`
    /// layers (ansible-core's hostvars hold no play, role or task vars).
    pub fn with_host(
        env: Arc<Environment<'static>>,
        layers: Vec<Arc<Vars>>,
        own: Vec<Arc<Vars>>,
        others: Arc<Vars>,
    ) -> Templar {
        let scope = Arc::new(Scope::new(env.clone(), layers, others).with_own(own));
        Templar { env, scope }
    }

    fn ctx(&self) -> Value {
        Value::from_dyn_object(self.scope.clone())
    }

    /// Renders every string inside `raw`, keeping native types.
    pub fn render(&self, raw: &Json) -> Result<Json, TemplateError> {
        if !has_template(raw) {
            return Ok(raw.clone());
        }
        let value = render::render_json(&self.env, &self.ctx(), raw)?;
        Ok(to_json(&value)?)
    }

    /// Renders a whole template file (the `template` module) to text, with
    /// Jinja's block whitespace options, trailing newlines kept, and
    /// `extra` variables above the task's.
    pub fn render_file(
        &self,
        source: &str,
        opts: FileOptions,
        extra: &Vars,
    ) -> Result<String, TemplateError> {
        let extra = to_value(&Json::Object(extra.clone()));
        let ctx = minijinja::context! { ..extra, ..self.ctx() };
        render_text(&self.env, ctx, source, opts)
    }

    /// Renders a value that must be a string (a task name, a label ...).
    pub fn render_string(&self, raw: &str) -> Result<String, TemplateError> {
        match self.render(&Json::String(raw.to_owned()))? {
            Json::String(s) => Ok(s),
            // A template that prints nothing.
            Json::Null => Ok(String::new()),
            other => Ok(other.to_string()),
        }
    }

    /// Evaluates a bare expression (`debug var=`, loops given as names).
    pub fn eval(&self, expr: &str) -> Result<Json, TemplateError> {
        let value = render::eval_expr(&self.env, &self.ctx(), expr)?;
        Ok(to_json(&value)?)
    }

    /// Evaluates a conditional (`when`, `that`, `changed_when` ...): a
    /// bool, or an expression that must evaluate to a bool.
    pub fn condition(&self, cond: &Json) -> Result<bool, TemplateError> {
        let expr = match cond {
            Json::Bool(b) => return Ok(*b),
            Json::String(s) => s.trim(),
            other => return Err(not_boolean(&to_value(other))),
        };
        let expr = strip_braces(expr).unwrap_or(expr);
        let value = render::eval_expr(&self.env, &self.ctx(), expr)
            .map_err(|e| TemplateError::from(e).context("Error while evaluating conditional: "))?;
        if value.kind() == ValueKind::Bool {
            Ok(value.is_true())
        } else {
            Err(not_boolean(&value))
        }
    }
}

/// `{{ x }}` used as a conditional means `x`.
fn strip_braces(expr: &str) -> Option<&str> {
    let inner = expr.strip_prefix("{{")?.strip_suffix("}}")?;
    (!is_template(inner)).then(|| inner.trim())
}

fn not_boolean(value: &Value) -> TemplateError {
    let truthy = if value.is_true() { "True" } else { "False" };
    TemplateError::new(format!(
        "Conditional result ({truthy}) was derived from value of type '{}'. \
         Conditionals must have a boolean result.",
        python_type(value)
    ))
}

/// The Python type name Ansible reports for a value.
pub(crate) fn python_type(value: &Value) -> &'static str {
    match value.kind() {
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

#[cfg(test)]
mod tests;
