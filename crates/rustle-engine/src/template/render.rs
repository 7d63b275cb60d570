//! Rendering raw plan values with Ansible 2.19's native types: a string
//! that is a single `{{ expr }}` keeps the expression's type, as does a
//! template whose only output is one printed value (`{% if x %}{{ y }}{%
//! endif %}`); any other template renders to a string (none when it
//! outputs nothing), and containers render item by item.

use minijinja::{Environment, Error, ErrorKind, Value};
use serde_json::Value as Json;

use super::chain;
use super::convert::to_value;
use super::omit;

/// True when a string holds template syntax.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// True when `json` needs rendering: a string inside holds template
/// syntax, or a value inside is vaulted (decrypted when rendered).
pub fn has_template(json: &Json) -> bool {
    match json {
        Json::String(s) => is_template(s),
        Json::Array(items) => items.iter().any(has_template),
        Json::Object(map) => {
            rustle_vault::value::vault_text(json).is_some() || map.values().any(has_template)
        }
        _ => false,
    }
}

/// Renders every string of `json`; entries that render to the omit
/// placeholder are dropped from lists and maps.
pub fn render_json(env: &Environment<'static>, ctx: &Value, json: &Json) -> Result<Value, Error> {
    if let Some(plain) = crate::vault::open(json) {
        let plain = plain.map_err(|e| Error::new(ErrorKind::InvalidOperation, e))?;
        // An inline `!vault` string is a literal; a value from an encrypted
        // variable file renders as written.
        return match rustle_vault::value::vault_text(json) {
            Some((_, true)) => render_json(env, ctx, &plain),
            _ => Ok(to_value(&plain)),
        };
    }
    match json {
        Json::String(s) => render_str(env, ctx, s),
        Json::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let value = render_json(env, ctx, item)?;
                if !is_omit(&value) {
                    out.push(value);
                }
            }
            Ok(Value::from(out))
        }
        Json::Object(map) => {
            let mut out = Vec::with_capacity(map.len());
            for (key, item) in map {
                let value = render_json(env, ctx, item)?;
                if !is_omit(&value) {
                    out.push((key.as_str(), value));
                }
            }
            Ok(Value::from_pairs(out))
        }
        other => Ok(to_value(other)),
    }
}

pub fn is_omit(value: &Value) -> bool {
    value.as_str() == Some(omit())
}

/// Renders one string: native value for a lone `{{ expr }}`, else text.
pub fn render_str(env: &Environment<'static>, ctx: &Value, s: &str) -> Result<Value, Error> {
    if !is_template(s) {
        return Ok(Value::from(s));
    }
    // Jinja drops one final newline before it parses; a lone expression
    // then keeps its type, and only a string gets the newline back.
    let body = s.strip_suffix('\n').unwrap_or(s);
    if let Some(("", expr, "")) = single_expression(body) {
        let value = eval_expr(env, ctx, expr)?;
        return Ok(match value.as_str() {
            Some(text) if body.len() < s.len() => {
                Value::from(keep_trailing_newlines(s, text.to_owned()))
            }
            _ => value,
        });
    }
    if let Some((lead, expr, trail)) = single_expression(s) {
        let value = eval_expr(env, ctx, expr)?;
        let text = env.render_str("{{ value }}", minijinja::context!(value))?;
        return Ok(Value::from(format!("{lead}{text}{trail}")));
    }
    let source = prepare(s, false, env.syntax());
    let (text, printed) = render_printed(env, ctx, &source)?;
    if let Some(value) = native_result(env, &text, printed)? {
        return Ok(value);
    }
    Ok(Value::from(keep_trailing_newlines(s, text)))
}

/// The function every `{{ expr }}` of a template with blocks prints
/// through ([`node`]), so that [`render_str`] learns what was printed.
pub const NODE: &str = "__rustle_node";

/// What the `{{ }}` of a template printed: how many values other than
/// none (Jinja leaves none out of its output nodes), and the first.
#[derive(Debug, Default)]
struct Printed {
    count: usize,
    first: Option<Value>,
}

thread_local! {
    /// One [`Printed`] per template being rendered on this thread, the
    /// innermost (a variable's template rendered lazily inside another)
    /// last.
    static PRINTED: std::cell::RefCell<Vec<Printed>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`NODE`]: records a value the template prints, and gives it back.
pub fn node(value: Value) -> Value {
    if !value.is_none() && !value.is_undefined() {
        PRINTED.with(|printed| {
            if let Some(top) = printed.borrow_mut().last_mut() {
                top.count += 1;
                top.first.get_or_insert_with(|| value.clone());
            }
        });
    }
    value
}

/// `source` with each `{{ expr }}` made `{{ __rustle_node((expr)) }}`;
/// None when it has none (or does not tokenize: compiling says why).
fn print_through_node(source: &str, syntax: &minijinja::syntax::SyntaxConfig) -> Option<String> {
    use minijinja::machinery::{Token, tokenize};
    let toks = tokenize(source, false, syntax.clone())
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    let mut out = String::with_capacity(source.len() + 32);
    let mut at = 0;
    for (tok, span) in &toks {
        let (cut, insert) = match tok {
            Token::VariableStart => (span.end_offset as usize, " __rustle_node(("),
            Token::VariableEnd => (span.start_offset as usize, ")) "),
            _ => continue,
        };
        out.push_str(source.get(at..cut)?);
        out.push_str(insert);
        at = cut;
    }
    if at == 0 {
        return None;
    }
    out.push_str(&source[at..]);
    Some(out)
}

/// Renders a template and tells what its `{{ }}` printed (None when that
/// is not known). A failing template is rendered again as written, for
/// the error to name what is wrong in it.
fn render_printed(
    env: &Environment<'static>,
    ctx: &Value,
    source: &str,
) -> Result<(String, Option<Printed>), Error> {
    let render = || {
        env.render_str(source, ctx.clone())
            .map_err(|e| name_undefined(e, source, ctx))
    };
    let Some(wrapped) = print_through_node(source, env.syntax()) else {
        // Nothing printed through `{{ }}`.
        return Ok((render()?, Some(Printed::default())));
    };
    PRINTED.with(|p| p.borrow_mut().push(Printed::default()));
    let result = env.render_str(&wrapped, ctx.clone());
    let printed = PRINTED.with(|p| p.borrow_mut().pop());
    match result {
        Ok(text) => Ok((text, printed)),
        Err(_) => Ok((render()?, None)),
    }
}

/// ansible-core's native result of a template with blocks: one output
/// node keeps its type (`{% if x %}{{ [1] }}{% endif %}` is a list), no
/// output node at all is none; None here when the text is the result.
fn native_result(
    env: &Environment<'static>,
    text: &str,
    printed: Option<Printed>,
) -> Result<Option<Value>, Error> {
    let Some(printed) = printed else {
        return Ok(None);
    };
    match (printed.count, printed.first) {
        (0, _) if text.is_empty() => Ok(Some(Value::from(()))),
        // A string node is the text itself (newlines put back as for text).
        (1, Some(value)) if value.as_str().is_none() => {
            // The value is the only output when the text is just it.
            let shown =
                env.render_str("{{ value }}", minijinja::context!(value => value.clone()))?;
            Ok((shown == text).then_some(value))
        }
        _ => Ok(None),
    }
}

/// minijinja says "undefined value" where Ansible names what is missing.
/// When the failing expression in `source` is a name or a dotted path,
/// say it as ansible-core does: `'name' is undefined`, or `object of type
/// 'dict' has no attribute 'key'` for a missing attribute.
pub fn name_undefined(err: Error, source: &str, ctx: &Value) -> Error {
    if err.kind() != ErrorKind::UndefinedError {
        return name_mandatory(err, source, ctx);
    }
    // An attribute's range may start at its dot: take in the whole path.
    let path_char = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let Some(path) = err
        .range()
        .map(|r| {
            let head = source.get(..r.start).unwrap_or_default();
            let start = head.trim_end_matches(path_char).len();
            // A filter given an undefined value: the value is the path
            // before the pipe (`nope | dict2items` names `nope`).
            match source[..start].trim_end().strip_suffix('|') {
                Some(before) => {
                    let before = before.trim_end();
                    before.trim_end_matches(path_char).len()..before.len()
                }
                None => start..r.end,
            }
        })
        .and_then(|r| source.get(r))
        .map(str::trim)
    else {
        return err;
    };
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    let parts: Vec<&str> = path.split('.').collect();
    if !parts.iter().all(|p| ident(p)) {
        return err;
    }
    let steps: Vec<Value> = parts[1..].iter().map(|p| Value::from(*p)).collect();
    match missing_step(ctx, parts[0], &steps) {
        Some(msg) => Error::new(ErrorKind::UndefinedError, msg),
        None => err,
    }
}

/// What ansible-core says of the first undefined step of `root` followed
/// by `steps` (attributes or items): `'root' is undefined`, `object of
/// type 'dict' has no attribute 'key'`, and for `hostvars` its own words
/// (`hostvars['nohost']`, `object of type 'HostVarsVars' has no attribute
/// 'x'`). `None` when every step is there.
fn missing_step(ctx: &Value, root: &str, steps: &[Value]) -> Option<String> {
    let mut value = ctx.get_attr(root).unwrap_or_default();
    if value.is_undefined() {
        return Some(format!("'{root}' is undefined"));
    }
    for (i, step) in steps.iter().enumerate() {
        let next = match step.as_str() {
            Some(name) => value
                .get_attr(name)
                .ok()
                .filter(|v| !v.is_undefined())
                .or_else(|| value.get_item(step).ok()),
            None => value.get_item(step).ok(),
        }
        .unwrap_or_default();
        if !next.is_undefined() {
            value = next;
            continue;
        }
        let key = match step.as_str() {
            Some(name) => format!("'{name}'"),
            None => step.to_string(),
        };
        return Some(match (root, i) {
            ("hostvars", 0) => format!("hostvars[{key}]"),
            ("hostvars", 1) => format!("object of type 'HostVarsVars' has no attribute {key}"),
            _ => format!(
                "object of type '{}' has no attribute {key}",
                super::python_type(&value)
            ),
        });
    }
    None
}

/// The error for `expr` when it is a path with a missing step.
fn named_path(env: &Environment<'static>, ctx: &Value, expr: &str) -> Option<Error> {
    let (root, steps) = path_steps(env, ctx, expr)?;
    let msg = missing_step(ctx, &root, &steps)?;
    Some(Error::new(ErrorKind::UndefinedError, msg))
}

/// `expr` read as a variable followed by attributes and subscripts
/// (`hostvars[inventory_hostname].users`, `d['a'][0]`), each subscript
/// evaluated; `None` for any other expression.
fn path_steps(env: &Environment<'static>, ctx: &Value, expr: &str) -> Option<(String, Vec<Value>)> {
    let ident_end = |s: &str| {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let expr = expr.trim();
    let end = ident_end(expr);
    if end == 0 || expr.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let root = expr[..end].to_owned();
    let mut rest = &expr[end..];
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = ident_end(after);
            if end == 0 {
                return None;
            }
            steps.push(Value::from(&after[..end]));
            rest = &after[end..];
        } else if rest.starts_with('[') {
            // The matching bracket, quotes and nesting considered.
            let (mut depth, mut quote, mut close) = (0usize, None, None);
            for (i, c) in rest.char_indices() {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '\'' | '"') => quote = Some(c),
                    (None, '[') => depth += 1,
                    (None, ']') => {
                        depth -= 1;
                        if depth == 0 {
                            close = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let close = close?;
            let inner = &rest[1..close];
            let key = env.compile_expression(inner).ok()?.eval(ctx.clone()).ok()?;
            if key.is_undefined() {
                return None;
            }
            steps.push(key);
            rest = &rest[close + 1..];
        } else {
            return None;
        }
    }
    Some((root, steps))
}

/// `mandatory` without a message names the first undefined step of the
/// value it was given, as ansible-core does (`Mandatory variable 'x' not
/// defined.`): the first `path | mandatory` in `source` whose dotted path
/// (or rewritten chain, see [`chain::first_undefined`]) is undefined.
fn name_mandatory(err: Error, source: &str, ctx: &Value) -> Error {
    let unnamed = format!(
        "{}{}",
        super::more::MANDATORY_FAILED,
        super::more::MANDATORY_UNNAMED
    );
    if err.detail() != Some(unnamed.as_str()) {
        return err;
    }
    let name = source
        .match_indices("mandatory")
        .filter_map(|(at, _)| source[..at].trim_end().strip_suffix('|'))
        .find_map(|before| chain::first_undefined(before.trim_end(), ctx));
    match name {
        Some(name) => Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "{}Mandatory variable '{name}' not defined.",
                super::more::MANDATORY_FAILED
            ),
        ),
        None => err,
    }
}

/// Jinja drops a template's final newline; Ansible puts back as many as
/// the template ends with.
pub(super) fn keep_trailing_newlines(template: &str, mut text: String) -> String {
    let count = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let missing = count(template).saturating_sub(count(&text));
    text.push_str(&"\n".repeat(missing));
    text
}

/// A template's source as minijinja compiles it: Python's `%` operator
/// made a call (`percent`), and `-` where datetimes may meet it, then
/// Ansible's chained undefined values (`chain`).
pub fn prepare<'a>(
    source: &'a str,
    in_expr: bool,
    syntax: &minijinja::syntax::SyntaxConfig,
) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    let percent = super::percent::rewrite(source, in_expr, syntax);
    let minus = match super::percent::rewrite_minus(&percent, in_expr, syntax) {
        Cow::Borrowed(_) => percent,
        Cow::Owned(s) => Cow::Owned(s),
    };
    match minus {
        Cow::Borrowed(s) => chain::rewrite(s, in_expr, syntax),
        Cow::Owned(s) => Cow::Owned(chain::rewrite(&s, in_expr, syntax).into_owned()),
    }
}

/// Evaluates an expression; an undefined result is an error naming the
/// undefined variable.
pub fn eval_expr(env: &Environment<'static>, ctx: &Value, expr: &str) -> Result<Value, Error> {
    let source = prepare(expr, true, env.syntax());
    let value = env
        .compile_expression_owned(source.clone().into_owned())?
        .eval(ctx.clone())
        .map_err(|e| match e.kind() {
            // A path whose step is missing, named as ansible-core does.
            ErrorKind::UndefinedError => {
                named_path(env, ctx, expr).unwrap_or_else(|| name_undefined(e, &source, ctx))
            }
            _ => name_undefined(e, &source, ctx),
        })?;
    if value.is_undefined() {
        return Err(undefined_error(env, ctx, expr));
    }
    Ok(value)
}

/// Printing an undefined value makes minijinja name where it came from.
fn undefined_error(env: &Environment<'static>, ctx: &Value, expr: &str) -> Error {
    let named =
        path_steps(env, ctx, expr).and_then(|(root, steps)| missing_step(ctx, &root, &steps));
    if let Some(msg) = named {
        return Error::new(ErrorKind::UndefinedError, msg);
    }
    let template = format!("{{{{ {expr} }}}}");
    match env.render_str(&template, ctx.clone()) {
        Err(err) => name_undefined(err, &template, ctx),
        Ok(_) => Error::new(ErrorKind::UndefinedError, format!("`{expr}` is undefined")),
    }
}

/// Splits `  {{ expr }} ` into its surrounding whitespace and `expr` when
/// the string holds exactly one expression and nothing else.
fn single_expression(s: &str) -> Option<(&str, &str, &str)> {
    let body = s.trim();
    let inner = body.strip_prefix("{{")?.strip_suffix("}}")?;
    if is_template(inner) || inner.trim().is_empty() {
        return None;
    }
    let start = s.len() - s.trim_start().len();
    let end = s.trim_end().len();
    Some((&s[..start], inner.trim(), &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_single_expressions() {
        assert_eq!(single_expression("{{ x }}"), Some(("", "x", "")));
        assert_eq!(
            single_expression(" {{x|int}}\n"),
            Some((" ", "x|int", "\n"))
        );
        assert_eq!(single_expression("{{ a }}{{ b }}"), None);
        assert_eq!(single_expression("x{{ a }}"), None);
        assert_eq!(
            single_expression("{{ {'a': {'b': 1}} }}"),
            Some(("", "{'a': {'b': 1}}", ""))
        );
    }
}
