//! Python's `%` operator, which Ansible templates use to format strings
//! (`'%05d' % n`, `'%s-%s' % (a, b)`, `'%(x)s' % d`). minijinja's `%` is
//! only the numbers' remainder and has no hook for other operands, so
//! before a template compiles, [`rewrite`] turns each `left % right` into
//! `__rustle_mod((left), (right))`, finding the operands by Jinja's
//! precedence (filters, attribute and item accesses, calls and `**` bind
//! tighter; `*`, `/`, `//` and `%` are one left-associative level; `+`, `-`,
//! `~`, comparisons and the rest are looser). [`modulo`] formats a string
//! as Python's `str % args` does, and takes Python's remainder of numbers.

use std::borrow::Cow;

use minijinja::machinery::{Span, Token, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind, Value};

/// The function the rewritten operators call.
const MOD: &str = "__rustle_mod";

pub fn register(env: &mut Environment<'static>) {
    env.add_function(MOD, modulo);
}

type Toks<'a> = [(Token<'a>, Span)];

/// `source` with every `%` operator made a call of [`modulo`].
pub fn rewrite<'a>(source: &'a str, in_expr: bool, syntax: &SyntaxConfig) -> Cow<'a, str> {
    // Only a `%` that is not part of `{%`/`%}` may be an operator.
    let bytes = source.as_bytes();
    let lone =
        |(i, _): (usize, &str)| (i == 0 || bytes[i - 1] != b'{') && bytes.get(i + 1) != Some(&b'}');
    if !source.match_indices('%').any(lone) {
        return Cow::Borrowed(source);
    }
    let modulo = |toks: &Toks, i: usize| matches!(toks[i].0, Token::Mod);
    rewrite_operator(source, in_expr, syntax, MOD, &modulo, false)
}

/// The function a rewritten binary `-` calls: Python's subtraction,
/// datetimes included (`template/time.rs`).
pub const SUB: &str = "__rustle_sub";

/// `source` with every binary `-` made a call of [`SUB`], when the source
/// makes datetimes (`to_datetime`, `now()`), the only values minijinja's own `-`
/// cannot subtract as Python does; other templates are left as they are.
pub fn rewrite_minus<'a>(source: &'a str, in_expr: bool, syntax: &SyntaxConfig) -> Cow<'a, str> {
    if !(source.contains("to_datetime") || source.contains("now(")) || !source.contains('-') {
        return Cow::Borrowed(source);
    }
    let binary = |toks: &Toks, i: usize| {
        matches!(toks[i].0, Token::Minus) && i > 0 && ends_value(&toks[i - 1].0)
    };
    rewrite_operator(source, in_expr, syntax, SUB, &binary, true)
}

/// Rewrites the operators `is_op` finds, leftmost first, into calls of
/// `function`. `additive`: the operator is at the level of `+` and `-`,
/// whose operands take in `*`, `/`, `//` and `%`; otherwise at theirs.
fn rewrite_operator<'a>(
    source: &'a str,
    in_expr: bool,
    syntax: &SyntaxConfig,
    function: &str,
    is_op: &dyn Fn(&Toks, usize) -> bool,
    additive: bool,
) -> Cow<'a, str> {
    let mut text = Cow::Borrowed(source);
    // One operator at a time, the leftmost first: its call is then the
    // left operand of the next one in `a % b % c`.
    for _ in 0..64 {
        let Ok(toks) = tokenize(&text, in_expr, syntax.clone()).collect::<Result<Vec<_>, _>>()
        else {
            // Compiling reports the syntax error.
            break;
        };
        let Some(m) = (0..toks.len()).find(|&i| is_op(&toks, i)) else {
            break;
        };
        let (Some(first), Some(last)) = (
            left_start(&toks, m, additive),
            right_end(&toks, m, additive),
        ) else {
            break;
        };
        let (a, b) = (start(&toks, first), end(&toks, m - 1));
        let (c, d) = (start(&toks, m + 1), end(&toks, last));
        let call = format!("{function}(({}), ({}))", &text[a..b], &text[c..d]);
        text = Cow::Owned(format!("{}{call}{}", &text[..a], &text[d..]));
    }
    text
}

fn start(toks: &Toks, i: usize) -> usize {
    toks[i].1.start_offset as usize
}

fn end(toks: &Toks, i: usize) -> usize {
    toks[i].1.end_offset as usize
}

fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "and" | "or" | "not" | "in" | "is" | "if" | "else" | "recursive"
    )
}

/// A token that ends a value (so a following `(`/`[` calls or subscripts
/// it, and a following `-` is binary).
fn ends_value(tok: &Token) -> bool {
    match tok {
        Token::Ident(name) => !is_keyword(name),
        Token::BracketClose
        | Token::ParenClose
        | Token::BraceClose
        | Token::Str(_)
        | Token::String(_)
        | Token::Int(_)
        | Token::Int128(_)
        | Token::Float(_) => true,
        _ => false,
    }
}

fn is_open(tok: &Token) -> bool {
    matches!(
        tok,
        Token::ParenOpen | Token::BracketOpen | Token::BraceOpen
    )
}

fn is_close(tok: &Token) -> bool {
    matches!(
        tok,
        Token::ParenClose | Token::BracketClose | Token::BraceClose
    )
}

/// The bracket that opens the one closing at `close`.
fn opening(toks: &Toks, close: usize) -> Option<usize> {
    let mut depth = 0usize;
    for j in (0..=close).rev() {
        if is_close(&toks[j].0) {
            depth += 1;
        } else if is_open(&toks[j].0) {
            depth -= 1;
            if depth == 0 {
                return Some(j);
            }
        }
    }
    None
}

/// The bracket that closes the one opening at `open`.
fn closing(toks: &Toks, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, (tok, _)) in toks.iter().enumerate().skip(open) {
        if is_open(tok) {
            depth += 1;
        } else if is_close(tok) {
            depth -= 1;
            if depth == 0 {
                return Some(j);
            }
        }
    }
    None
}

/// Where the primary ending at token `j` starts, with its accesses,
/// calls and filters (read backwards).
fn postfix_start(toks: &Toks, mut j: usize) -> Option<usize> {
    loop {
        let tok = &toks[j].0;
        if is_close(tok) {
            let open = opening(toks, j)?;
            if open > 0 && ends_value(&toks[open - 1].0) {
                // A call or a subscript of what comes before.
                j = open - 1;
                continue;
            }
            j = open;
        } else if !ends_value(tok) {
            return None;
        }
        match j.checked_sub(1).map(|p| &toks[p].0) {
            Some(Token::Dot | Token::Pipe) if j >= 2 => j -= 2,
            _ => return Some(j),
        }
    }
}

/// The first token of the left operand of the operator at `m`.
fn left_start(toks: &Toks, m: usize, additive: bool) -> Option<usize> {
    let mut j = m.checked_sub(1)?;
    loop {
        let mut s = postfix_start(toks, j)?;
        // `**` binds tighter; a unary sign belongs to its operand.
        while s >= 2 && matches!(toks[s - 1].0, Token::Pow) {
            s = postfix_start(toks, s - 2)?;
        }
        while s >= 1
            && matches!(toks[s - 1].0, Token::Minus | Token::Plus)
            && (s == 1 || !ends_value(&toks[s - 2].0))
        {
            s -= 1;
        }
        // The same level, left-associative: `a * b % c` is `(a * b) % c`;
        // for `-`, `a + b * c - d` is `(a + b * c) - d`.
        match s.checked_sub(1).map(|p| &toks[p].0) {
            Some(Token::Mul | Token::Div | Token::FloorDiv | Token::Mod) if s >= 2 => j = s - 2,
            Some(Token::Plus | Token::Minus)
                if additive && s >= 2 && ends_value(&toks[s - 2].0) =>
            {
                j = s - 2;
            }
            _ => return Some(s),
        }
    }
}

/// The last token of the right operand of the operator at `m`.
/// With `additive`, the operand takes in `*`, `/`, `//` and `%`:
/// `a - b * c` is `a - (b * c)`.
fn right_end(toks: &Toks, m: usize, additive: bool) -> Option<usize> {
    let mut j = m + 1;
    while matches!(toks.get(j)?.0, Token::Minus | Token::Plus) {
        j += 1;
    }
    let tok = &toks.get(j)?.0;
    if is_open(tok) {
        j = closing(toks, j)?;
    } else if !ends_value(tok) {
        return None;
    }
    loop {
        match toks.get(j + 1).map(|t| &t.0) {
            Some(Token::Dot | Token::Pipe) => {
                j += 2;
                toks.get(j)?;
            }
            Some(Token::BracketOpen | Token::ParenOpen) => j = closing(toks, j + 1)?,
            Some(Token::Pow) => j = right_end(toks, j + 1, false)?,
            Some(Token::Mul | Token::Div | Token::FloorDiv | Token::Mod) if additive => {
                j = right_end(toks, j + 1, false)?;
            }
            _ => return Some(j),
        }
    }
}

/// `left % right`: Python's string formatting when `left` is a string,
/// else Python's remainder of two numbers.
pub fn modulo(left: Value, right: Value) -> Result<Value, Error> {
    if left.is_undefined() || right.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if let Some(fmt) = left.as_str() {
        return format(fmt, &right).map(Value::from);
    }
    let unsupported = || {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "unsupported operand type(s) for %: '{}' and '{}'",
                super::python_type(&left),
                super::python_type(&right)
            ),
        )
    };
    if left.kind() != ValueKind::Number || right.kind() != ValueKind::Number {
        return Err(unsupported());
    }
    if let (Some(a), Some(b)) = (as_int(&left), as_int(&right)) {
        if b == 0 {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "integer modulo by zero",
            ));
        }
        let r = a % b;
        return Ok(Value::from(if r != 0 && (r < 0) != (b < 0) {
            r + b
        } else {
            r
        }));
    }
    let (a, b) = (
        as_float(&left).ok_or_else(unsupported)?,
        as_float(&right).ok_or_else(unsupported)?,
    );
    if b == 0.0 {
        return Err(Error::new(ErrorKind::InvalidOperation, "float modulo"));
    }
    Ok(Value::from(a - b * (a / b).floor()))
}

fn as_int(v: &Value) -> Option<i64> {
    if v.is_integer() {
        i64::try_from(v.clone()).ok()
    } else {
        None
    }
}

fn as_float(v: &Value) -> Option<f64> {
    f64::try_from(v.clone()).ok()
}

/// One conversion of a format string.
struct Spec {
    key: Option<String>,
    flags: String,
    width: Option<usize>,
    precision: Option<usize>,
    conversion: char,
}

/// Splits a format string into text and conversions.
fn parse(fmt: &str) -> Result<Vec<Result<String, Spec>>, Error> {
    let bad = |msg: &str| Error::new(ErrorKind::InvalidOperation, msg.to_owned());
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            text.push('%');
            continue;
        }
        let mut key = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let mut name = String::new();
            let mut depth = 1;
            for c in chars.by_ref() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                name.push(c);
            }
            if depth != 0 {
                return Err(bad("incomplete format key"));
            }
            key = Some(name);
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek().filter(|f| "#0- +".contains(**f)) {
            flags.push(f);
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            let mut digits = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            digits.parse::<usize>().ok()
        };
        let width = number(&mut chars);
        let precision = if chars.peek() == Some(&'.') {
            chars.next();
            Some(number(&mut chars).unwrap_or(0))
        } else {
            None
        };
        while chars.peek().is_some_and(|c| "hlL".contains(*c)) {
            chars.next();
        }
        let conversion = chars.next().ok_or_else(|| bad("incomplete format"))?;
        if !"diouxXeEfFgGcrsa".contains(conversion) {
            return Err(bad(&format!(
                "unsupported format character '{conversion}' (0x{:x})",
                conversion as u32
            )));
        }
        if !text.is_empty() {
            out.push(Ok(std::mem::take(&mut text)));
        }
        out.push(Err(Spec {
            key,
            flags,
            width,
            precision,
            conversion,
        }));
    }
    if !text.is_empty() {
        out.push(Ok(text));
    }
    Ok(out)
}

/// Python's `fmt % args`.
fn format(fmt: &str, args: &Value) -> Result<String, Error> {
    let type_error = |msg: &str| Error::new(ErrorKind::InvalidOperation, msg.to_owned());
    let parts = parse(fmt)?;
    let specs = parts.iter().filter(|p| p.is_err()).count();
    let keyed = parts
        .iter()
        .any(|p| matches!(p, Err(Spec { key: Some(_), .. })));
    // A tuple gives one value per conversion; minijinja has no tuples, so
    // a list whose length is the number of conversions counts as one.
    let positional: Vec<Value> = match args.kind() {
        ValueKind::Seq if !keyed && args.len() == Some(specs) && specs != 1 => {
            args.try_iter()?.collect()
        }
        ValueKind::Seq if !keyed && specs == 1 && args.len() == Some(1) => {
            args.try_iter()?.collect()
        }
        _ => vec![args.clone()],
    };
    let mut next = positional.into_iter();
    let mut out = String::new();
    let mut used = 0;
    for part in parts {
        let spec = match part {
            Ok(text) => {
                out.push_str(&text);
                continue;
            }
            Err(spec) => spec,
        };
        let value = match &spec.key {
            Some(key) => {
                if args.kind() != ValueKind::Map {
                    return Err(type_error("format requires a mapping"));
                }
                let v = args.get_item(&Value::from(key.as_str()))?;
                if v.is_undefined() {
                    return Err(Error::new(ErrorKind::UndefinedError, format!("'{key}'")));
                }
                v
            }
            None => {
                used += 1;
                next.next()
                    .ok_or_else(|| type_error("not enough arguments for format string"))?
            }
        };
        out.push_str(&convert(&spec, &value)?);
    }
    if !keyed && next.next().is_some() && used > 0 {
        return Err(type_error(
            "not all arguments converted during string formatting",
        ));
    }
    if !keyed && used == 0 && args.kind() != ValueKind::Map && !is_empty_seq(args) {
        return Err(type_error(
            "not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

fn is_empty_seq(v: &Value) -> bool {
    v.kind() == ValueKind::Seq && v.len() == Some(0)
}

/// Python's `str()` of a value.
fn py_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::None => "None".into(),
        ValueKind::Bool if v.is_true() => "True".into(),
        ValueKind::Bool => "False".into(),
        ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
        _ => v.to_string(),
    }
}

fn convert(spec: &Spec, v: &Value) -> Result<String, Error> {
    let type_error = |what: &str| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "%{} format: {what} is required, not {}",
                spec.conversion,
                super::python_type(v)
            ),
        )
    };
    let left = spec.flags.contains('-');
    let zero = spec.flags.contains('0') && !left;
    let sign = |negative: bool| {
        if negative {
            "-"
        } else if spec.flags.contains('+') {
            "+"
        } else if spec.flags.contains(' ') {
            " "
        } else {
            ""
        }
    };
    let (prefix, body, numeric) = match spec.conversion {
        's' | 'r' | 'a' => {
            let mut s = if spec.conversion == 's' {
                py_str(v)
            } else {
                match v.as_str() {
                    Some(s) => crate::modules::py_repr(s),
                    None => py_str(v),
                }
            };
            if let Some(p) = spec.precision {
                s = s.chars().take(p).collect();
            }
            (String::new(), s, false)
        }
        'c' => {
            let c = match (v.as_str(), as_int(v)) {
                (Some(s), _) if s.chars().count() == 1 => s.to_owned(),
                (_, Some(n)) => char::from_u32(n as u32)
                    .map(String::from)
                    .ok_or_else(|| type_error("%c arg not in range"))?,
                _ => return Err(type_error("int or char")),
            };
            (String::new(), c, false)
        }
        'd' | 'i' | 'u' | 'o' | 'x' | 'X' => {
            if v.kind() != ValueKind::Number && v.kind() != ValueKind::Bool {
                return Err(type_error("a real number"));
            }
            let n: i128 = match as_int(v) {
                Some(n) => n as i128,
                None if v.kind() == ValueKind::Bool => v.is_true() as i128,
                None => as_float(v)
                    .ok_or_else(|| type_error("a real number"))?
                    .trunc() as i128,
            };
            let abs = n.unsigned_abs();
            let mut digits = match spec.conversion {
                'o' => format!("{abs:o}"),
                'x' => format!("{abs:x}"),
                'X' => format!("{abs:X}"),
                _ => abs.to_string(),
            };
            if let Some(p) = spec.precision {
                while digits.len() < p {
                    digits.insert(0, '0');
                }
            }
            let alt = match spec.conversion {
                'o' if spec.flags.contains('#') => "0o",
                'x' if spec.flags.contains('#') => "0x",
                'X' if spec.flags.contains('#') => "0X",
                _ => "",
            };
            (format!("{}{alt}", sign(n < 0)), digits, true)
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            if v.kind() != ValueKind::Number && v.kind() != ValueKind::Bool {
                return Err(type_error("a real number"));
            }
            let x = as_float(v).unwrap_or(v.is_true() as u8 as f64);
            let p = spec.precision.unwrap_or(6);
            let body = float_body(x.abs(), p, spec.conversion, spec.flags.contains('#'));
            (
                sign(x.is_sign_negative() && x != 0.0).to_owned(),
                body,
                true,
            )
        }
        _ => unreachable!("parse checked the conversion"),
    };
    let len = prefix.chars().count() + body.chars().count();
    let pad = spec.width.unwrap_or(0).saturating_sub(len);
    Ok(if left {
        format!("{prefix}{body}{}", " ".repeat(pad))
    } else if zero && numeric {
        format!("{prefix}{}{body}", "0".repeat(pad))
    } else {
        format!("{}{prefix}{body}", " ".repeat(pad))
    })
}

/// A non-negative float as `%e`, `%f` or `%g` writes it.
fn float_body(x: f64, p: usize, conversion: char, alt: bool) -> String {
    if x.is_infinite() {
        return if conversion.is_uppercase() {
            "INF"
        } else {
            "inf"
        }
        .into();
    }
    if x.is_nan() {
        return if conversion.is_uppercase() {
            "NAN"
        } else {
            "nan"
        }
        .into();
    }
    let exp = |x: f64, p: usize| {
        // Rust writes `1.5e2`; C writes `1.5e+02`.
        let s = format!("{x:.p$e}");
        let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", e.abs())
    };
    let body = match conversion.to_ascii_lowercase() {
        'e' => exp(x, p),
        'f' => format!("{x:.p$}"),
        _ => {
            let p = p.max(1);
            let e = if x == 0.0 {
                0
            } else {
                let s = format!("{x:.prec$e}", prec = p - 1);
                s.split_once('e')
                    .and_then(|(_, e)| e.parse::<i32>().ok())
                    .unwrap_or(0)
            };
            let mut s = if e < -4 || e >= p as i32 {
                exp(x, p - 1)
            } else {
                format!("{x:.prec$}", prec = (p as i32 - 1 - e).max(0) as usize)
            };
            if !alt {
                // Trailing zeros (and a bare point) go.
                let (num, tail) = match s.find('e') {
                    Some(i) => (s[..i].to_owned(), s[i..].to_owned()),
                    None => (s.clone(), String::new()),
                };
                let num = if num.contains('.') {
                    num.trim_end_matches('0').trim_end_matches('.').to_owned()
                } else {
                    num
                };
                s = format!("{num}{tail}");
            }
            s
        }
    };
    if conversion.is_uppercase() {
        body.to_uppercase()
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(s: &str) -> String {
        rewrite(s, false, &SyntaxConfig::default()).into_owned()
    }

    #[test]
    fn operands_follow_jinja_precedence() {
        let cases = [
            ("{{ '%s' % x }}", "{{ __rustle_mod(('%s'), (x)) }}"),
            (
                "{{ 'a' ~ '%s' % x.y | upper }}",
                "{{ 'a' ~ __rustle_mod(('%s'), (x.y | upper)) }}",
            ),
            (
                "{{ '%s-%s' % (a, b) }}",
                "{{ __rustle_mod(('%s-%s'), ((a, b))) }}",
            ),
            (
                "{{ n * 2 % 3 + 1 }}",
                "{{ __rustle_mod((n * 2), (3)) + 1 }}",
            ),
            ("{{ a - b % c }}", "{{ a - __rustle_mod((b), (c)) }}"),
            ("{{ -b % c }}", "{{ __rustle_mod((-b), (c)) }}"),
            (
                "{{ a % b % c }}",
                "{{ __rustle_mod((__rustle_mod((a), (b))), (c)) }}",
            ),
            (
                "{{ f(x)[0] % d['k'] ** 2 }}",
                "{{ __rustle_mod((f(x)[0]), (d['k'] ** 2)) }}",
            ),
            (
                "{% if x % 2 == 0 %}even{% endif %}",
                "{% if __rustle_mod((x), (2)) == 0 %}even{% endif %}",
            ),
            ("100% {{ x }}", "100% {{ x }}"),
        ];
        for (given, expected) in cases {
            assert_eq!(rw(given), expected, "{given}");
        }
    }

    #[test]
    fn minus_is_rewritten_only_beside_datetimes() {
        let rw = |s: &str| {
            let syntax = minijinja::syntax::SyntaxConfig::default();
            rewrite_minus(s, false, &syntax).into_owned()
        };
        for (given, expected) in [
            ("{{ a - b }}", "{{ a - b }}"),
            (
                "{{ (x | to_datetime - y | to_datetime).days }}",
                "{{ (__rustle_sub((x | to_datetime), (y | to_datetime))).days }}",
            ),
            (
                "{{ d.year - 1 - n * 2 }}{{ z | to_datetime }}",
                "{{ __rustle_sub((__rustle_sub((d.year), (1))), (n * 2)) }}{{ z | to_datetime }}",
            ),
            (
                "{{ -n + a - -b }}{{ z | to_datetime }}",
                "{{ __rustle_sub((-n + a), (-b)) }}{{ z | to_datetime }}",
            ),
            (
                "{%- if x | to_datetime -%}{{ a ~ b - c }}{%- endif -%}",
                "{%- if x | to_datetime -%}{{ a ~ __rustle_sub((b), (c)) }}{%- endif -%}",
            ),
        ] {
            assert_eq!(rw(given), expected, "{given}");
        }
    }

    #[test]
    fn formats_as_python() {
        let f = |fmt: &str, v: Value| format(fmt, &v).unwrap();
        assert_eq!(f("%05d", Value::from(42)), "00042");
        assert_eq!(f("%-5s|", Value::from("ab")), "ab   |");
        assert_eq!(
            f("%s-%s", Value::from(vec![Value::from("a"), Value::from(1)])),
            "a-1"
        );
        assert_eq!(f("%.2f", Value::from(12.3456)), "12.35");
        assert_eq!(f("%x %X %#o", Value::from(vec![255, 255, 8])), "ff FF 0o10");
        assert_eq!(f("%+d %d", Value::from(vec![5, -5])), "+5 -5");
        assert_eq!(f("%e", Value::from(12345.678)), "1.234568e+04");
        assert_eq!(
            f("%g %g %g", Value::from(vec![0.0001, 123456789.0, 2.5])),
            "0.0001 1.23457e+08 2.5"
        );
        assert_eq!(f("%s %r", Value::from(vec!["it", "it"])), "it 'it'");
        assert_eq!(f("100%% %s", Value::from(true)), "100% True");
        assert_eq!(f("%s", Value::from(vec![1, 2])), "[1, 2]");
        let d = super::super::convert::to_value(&serde_json::json!({"name": "web", "n": 3}));
        assert_eq!(f("%(name)s-%(n)03d", d), "web-003");
        assert!(format("%s %s", &Value::from(1)).is_err());
        assert!(format("%d", &Value::from("x")).is_err());
    }

    #[test]
    fn numbers_keep_pythons_remainder() {
        let m = |a: Value, b: Value| modulo(a, b).unwrap();
        assert_eq!(m(Value::from(7), Value::from(3)), Value::from(1));
        assert_eq!(m(Value::from(-7), Value::from(3)), Value::from(2));
        assert_eq!(m(Value::from(7), Value::from(-3)), Value::from(-2));
        assert_eq!(m(Value::from(7.5), Value::from(2)), Value::from(1.5));
        assert!(modulo(Value::from(1), Value::from(0)).is_err());
    }
}
