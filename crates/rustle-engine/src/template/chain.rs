//! Ansible's chained undefined values. In ansible-core 2.19 an attribute
//! or item of an undefined value is undefined again, and so is a filter
//! applied to one; only using the value (printing, iterating, testing its
//! truth, comparing, arithmetic) fails, with the first undefined name.
//! So `missing.attr | default('x')`, `d.nokey.deeper is defined` and
//! `missing | lower | default('x')` work, while `{{ missing.attr }}` fails.
//!
//! minijinja's strict mode, which gives the failures, stops at the first
//! attribute of an undefined value and has no hook for it. So before a
//! template compiles, [`rewrite`] finds the operands of `default`/`d`/
//! `mandatory` and of the `defined`/`undefined` tests that are such chains
//! (a name or parenthesised group, then `.attr`/`[key]` accesses, then
//! filters) and turns them into calls of [`CHAIN`], which walks the
//! accesses and gives undefined at the first undefined step, with the
//! filters applied only when the chain is defined. Everything else keeps
//! strict mode's meaning.

use std::borrow::Cow;

use minijinja::machinery::{Span, Token, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Rest;
use minijinja::{Environment, Error, ErrorKind, Value};

/// The function the rewritten chains call.
const CHAIN: &str = "__rustle_chain";
/// A plain undefined value, for the else branch of a filtered chain.
const UNDEFINED: &str = "__rustle_undefined";

pub fn register(env: &mut Environment<'static>) {
    env.add_function(CHAIN, chain);
    env.add_function(UNDEFINED, || Value::UNDEFINED);
}

/// `__rustle_chain(root, kind, key, kind, key, ...)`: `root` followed
/// through attribute (`a`) and item (`i`) accesses, undefined from the
/// first step that is.
fn chain(root: Value, path: Rest<Value>) -> Result<Value, Error> {
    let mut value = root;
    for step in path.chunks(2) {
        if value.is_undefined() {
            return Ok(Value::UNDEFINED);
        }
        let [kind, key] = step else {
            return Err(Error::new(ErrorKind::InvalidOperation, "bad chain"));
        };
        value = match kind.as_str() {
            Some("a") => value.get_attr(key.as_str().unwrap_or_default())?,
            _ => value.get_item(key)?,
        };
    }
    Ok(value)
}

/// The first undefined name along the dotted path or rewritten chain that
/// `text` ends with (`x`, `d.missing.deeper`, `__rustle_chain((d), 'a',
/// 'missing')`), the name ansible-core's undefined values carry. None when
/// it is defined, or when `text` ends with some other expression.
pub fn first_undefined(text: &str, ctx: &Value) -> Option<String> {
    let call = format!("{CHAIN}((");
    let steps: Vec<&str> = match text
        .strip_suffix(')')
        .and_then(|t| Some(&t[t.rfind(&call)?..]))
    {
        Some(chain) => {
            // `root), 'a', 'key', ...`: the attribute steps up to the first item.
            let (root, rest) = chain[call.len()..].split_once(')')?;
            let parts: Vec<&str> = rest
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            let attrs = parts.chunks(2).map_while(|pair| match pair {
                ["'a'", key] => key.strip_prefix('\'')?.strip_suffix('\''),
                _ => None,
            });
            std::iter::once(root.trim()).chain(attrs).collect()
        }
        None => {
            let path_char = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
            text[text.trim_end_matches(path_char).len()..]
                .split('.')
                .collect()
        }
    };
    let ident = |s: &&str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if !steps.iter().all(ident) {
        return None;
    }
    let mut value = ctx.clone();
    for step in steps {
        value = value.get_attr(step).unwrap_or_default();
        if value.is_undefined() {
            return Some(step.to_owned());
        }
    }
    None
}

/// `source` with the chains under `default` and `defined` rewritten;
/// unchanged (borrowed) when it has none. `in_expr`: `source` is a bare
/// expression, not a template.
pub fn rewrite<'a>(source: &'a str, in_expr: bool, syntax: &SyntaxConfig) -> Cow<'a, str> {
    let triggers = ["default", "defined", "mandatory", "|d", "| d"];
    if !triggers.iter().any(|t| source.contains(t)) {
        return Cow::Borrowed(source);
    }
    let Ok(toks) = tokenize(source, in_expr, syntax.clone()).collect::<Result<Vec<_>, _>>() else {
        // Compiling reports the syntax error.
        return Cow::Borrowed(source);
    };
    let mut ops: Vec<Operand> = Vec::new();
    for i in 1..toks.len() {
        let end = match (&toks[i].0, toks.get(i + 1).map(|t| &t.0)) {
            (Token::Pipe, Some(Token::Ident("default" | "d" | "mandatory"))) => i - 1,
            (Token::Ident("is"), Some(Token::Ident(name))) => {
                let name = match (*name, toks.get(i + 2).map(|t| &t.0)) {
                    ("not", Some(Token::Ident(name))) => *name,
                    (name, _) => name,
                };
                if !matches!(name, "defined" | "undefined") {
                    continue;
                }
                i - 1
            }
            _ => continue,
        };
        if let Some(op) = operand(&toks, end) {
            ops.push(op);
        }
    }
    // Keep the outermost operands; those inside them are rewritten with
    // the parts they sit in.
    let outer: Vec<&Operand> = ops
        .iter()
        .filter(|o| {
            !ops.iter()
                .any(|p| p.range != o.range && p.range.0 <= o.range.0 && o.range.1 <= p.range.1)
        })
        .collect();
    if outer.is_empty() {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + 64);
    let mut at = 0;
    let mut sorted = outer;
    sorted.sort_by_key(|o| o.range.0);
    sorted.dedup_by_key(|o| o.range);
    for op in sorted {
        out.push_str(&source[at..op.range.0]);
        out.push_str(&op.render(source, syntax));
        at = op.range.1;
    }
    out.push_str(&source[at..]);
    Cow::Owned(out)
}

/// A chain: its byte range, root, accesses and filters, each a byte
/// range of the source.
struct Operand {
    range: (usize, usize),
    root: (usize, usize),
    /// `(attribute, range)`: an attribute name, or an item key expression.
    steps: Vec<(bool, (usize, usize))>,
    /// `(name, arguments)`: the arguments' range inside the parentheses.
    filters: Vec<(String, Option<(usize, usize)>)>,
}

impl Operand {
    fn render(&self, source: &str, syntax: &SyntaxConfig) -> String {
        let sub = |(a, b): (usize, usize)| rewrite(&source[a..b], true, syntax).into_owned();
        let mut chain = format!("{CHAIN}(({})", sub(self.root));
        for (attr, range) in &self.steps {
            if *attr {
                chain.push_str(&format!(", 'a', '{}'", &source[range.0..range.1]));
            } else {
                chain.push_str(&format!(", 'i', ({})", sub(*range)));
            }
        }
        chain.push(')');
        if self.filters.is_empty() {
            return chain;
        }
        let mut filtered = chain.clone();
        for (name, args) in &self.filters {
            filtered.push_str(&format!(" | {name}"));
            if let Some(args) = args {
                filtered.push_str(&format!("({})", sub(*args)));
            }
        }
        format!("({filtered} if {chain} is defined else {UNDEFINED}())")
    }
}

fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "and" | "or" | "not" | "in" | "is" | "if" | "else" | "recursive"
    )
}

/// A token after which `[` subscripts rather than opens a list.
fn ends_value(tok: &Token) -> bool {
    match tok {
        Token::Ident(name) => !is_keyword(name),
        Token::BracketClose
        | Token::ParenClose
        | Token::BraceClose
        | Token::Str(_)
        | Token::String(_) => true,
        _ => false,
    }
}

/// The index of the bracket that opens the one closing at `close`.
fn opening(toks: &[(Token, Span)], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    for j in (0..=close).rev() {
        match toks[j].0 {
            Token::BracketClose | Token::ParenClose | Token::BraceClose => depth += 1,
            Token::BracketOpen | Token::ParenOpen | Token::BraceOpen => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

fn start(toks: &[(Token, Span)], i: usize) -> usize {
    toks[i].1.start_offset as usize
}

fn end(toks: &[(Token, Span)], i: usize) -> usize {
    toks[i].1.end_offset as usize
}

/// The chain that ends with token `last`, if it is one worth rewriting
/// (at least one access or filter).
fn operand(toks: &[(Token, Span)], last: usize) -> Option<Operand> {
    let mut j = last;
    let mut filters = Vec::new();
    // Filters, read backwards: `| name` or `| name(args)`. A `default`
    // among them makes what follows it defined: no chain to rewrite (the
    // `default` is one of its own).
    let settles = |name: &str| matches!(name, "default" | "d" | "mandatory");
    loop {
        match toks[j].0 {
            Token::Ident(name) if j >= 2 && matches!(toks[j - 1].0, Token::Pipe) => {
                if settles(name) {
                    return None;
                }
                filters.push((name.to_owned(), None));
                j -= 2;
            }
            Token::ParenClose => {
                let open = opening(toks, j)?;
                match (open >= 3).then(|| (&toks[open - 1].0, &toks[open - 2].0)) {
                    Some((Token::Ident(name), Token::Pipe)) => {
                        if settles(name) {
                            return None;
                        }
                        let args = (open + 1 < j).then(|| (end(toks, open), start(toks, j)));
                        filters.push(((*name).to_owned(), args));
                        j = open - 3;
                    }
                    _ => break,
                }
            }
            _ => break,
        }
    }
    filters.reverse();
    let mut steps = Vec::new();
    let root = loop {
        match toks[j].0 {
            Token::Ident(_) if j >= 1 && matches!(toks[j - 1].0, Token::Dot) => {
                steps.push((true, (start(toks, j), end(toks, j))));
                j = j.checked_sub(2)?;
            }
            Token::Int(_) if j >= 1 && matches!(toks[j - 1].0, Token::Dot) => {
                steps.push((false, (start(toks, j), end(toks, j))));
                j = j.checked_sub(2)?;
            }
            Token::BracketClose => {
                let open = opening(toks, j)?;
                if open > 0 && ends_value(&toks[open - 1].0) {
                    let inner = &toks[open + 1..j];
                    if inner.is_empty() || inner.iter().any(|t| matches!(t.0, Token::Colon)) {
                        return None;
                    }
                    steps.push((false, (end(toks, open), start(toks, j))));
                    j = open - 1;
                } else {
                    break (open, j);
                }
            }
            Token::Ident(name) if !is_keyword(name) => break (j, j),
            Token::ParenClose => {
                let open = opening(toks, j)?;
                if open > 0 && ends_value(&toks[open - 1].0) {
                    // A call: its result may have side effects; leave it.
                    return None;
                }
                break (open, j);
            }
            _ => return None,
        }
    };
    if steps.is_empty() && filters.is_empty() {
        return None;
    }
    steps.reverse();
    let root_range = if matches!(toks[root.0].0, Token::ParenOpen) {
        (end(toks, root.0), start(toks, root.1))
    } else {
        (start(toks, root.0), end(toks, root.1))
    };
    Some(Operand {
        range: (start(toks, root.0), end(toks, last)),
        root: root_range,
        steps,
        filters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(s: &str) -> String {
        rewrite(s, true, &SyntaxConfig::default()).into_owned()
    }

    #[test]
    fn rewrites_chains_under_default_and_defined() {
        assert_eq!(
            expr("missing.attr | default('x')"),
            "__rustle_chain((missing), 'a', 'attr') | default('x')"
        );
        assert_eq!(
            expr("d['k'].x is not defined"),
            "__rustle_chain((d), 'i', ('k'), 'a', 'x') is not defined"
        );
        assert_eq!(
            expr("m | lower | default(1)"),
            "(__rustle_chain((m)) | lower if __rustle_chain((m)) is defined \
             else __rustle_undefined()) | default(1)"
        );
    }

    #[test]
    fn a_default_inside_ends_the_chain() {
        assert_eq!(
            expr("m.a | default('a') | upper | default('b')"),
            "__rustle_chain((m), 'a', 'a') | default('a') | upper | default('b')"
        );
    }

    #[test]
    fn leaves_everything_else() {
        for s in [
            "missing | default('x')",
            "missing.attr",
            "x.get('a') | default(1)",
            "missing is defined",
            "x is string",
            "f(a).b | default(1)",
        ] {
            assert_eq!(expr(s), s);
        }
    }

    #[test]
    fn nested_chains_are_rewritten_inside_outer_ones() {
        assert_eq!(
            expr("(a.b | default({})).c | default(2)"),
            "__rustle_chain((__rustle_chain((a), 'a', 'b') | default({})), 'a', 'c') | default(2)"
        );
    }
}
