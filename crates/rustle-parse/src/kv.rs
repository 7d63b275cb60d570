//! Ansible's `k=v` argument strings: splitting that respects quotes and
//! Jinja blocks, and the free-form (`_raw_params`) split.

use serde_json::{Map, Value};

/// Splits on whitespace outside quotes and `{{ }}`/`{% %}`/`{# #}` blocks.
pub fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if let Some(q) = quote {
            cur.push(c);
            if c == '\\' {
                if let Some(n) = next {
                    cur.push(n);
                    i += 1;
                }
            } else if c == q {
                quote = None;
            }
        } else if c == '{' && matches!(next, Some('{' | '%' | '#')) {
            depth += 1;
            cur.push(c);
            cur.push(next.unwrap_or('{'));
            i += 1;
        } else if depth > 0 && matches!(c, '}' | '%' | '#') && next == Some('}') {
            depth -= 1;
            cur.push(c);
            cur.push('}');
            i += 1;
        } else if depth == 0 && c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            if (c == '"' || c == '\'') && depth == 0 {
                quote = Some(c);
            }
            cur.push(c);
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_owned()
    } else {
        v.to_owned()
    }
}

/// The key of a `k=v` token, when the token is one.
fn kv_key(token: &str) -> Option<(&str, &str)> {
    let (k, v) = token.split_once('=')?;
    let valid = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((k, v))
}

/// Keys that free-form modules take out of their text.
const RAW_KEYS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// Parses `text` into args. With `free_form`, only the known keys are
/// taken out and the rest is `_raw_params`; otherwise every `k=v` token is
/// an argument and the others form `_raw_params`.
pub fn parse_kv(text: &str, free_form: bool) -> Map<String, Value> {
    let mut args = Map::new();
    let mut raw = Vec::new();
    for token in split_args(text) {
        // Ansible decodes escapes (`\n`, `\t`, `\x41`...) in `k=v` tokens,
        // not in free-form words.
        let decoded = decode_escapes(&token);
        match kv_key(&decoded) {
            Some((k, v)) if !free_form || RAW_KEYS.contains(&k) => {
                args.insert(k.to_owned(), Value::String(unquote(v)));
            }
            _ => raw.push(token),
        }
    }
    if !raw.is_empty() {
        args.insert("_raw_params".to_owned(), Value::String(raw.join(" ")));
    }
    args
}

/// Python's `unicode-escape` decoding of the escapes Ansible's splitter
/// decodes: `\\ \' \" \a \b \f \n \r \t \v`, `\xHH`, `\uHHHH` and
/// `\UHHHHHHHH`. Anything else stays as written.
fn decode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let hex = |n: usize| -> Option<char> {
            let digits = tail.get(1..=n)?;
            if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            char::from_u32(u32::from_str_radix(digits, 16).ok()?)
        };
        let (decoded, used) = match tail.chars().next() {
            Some(c @ ('\\' | '\'' | '"')) => (Some(c), 1),
            Some('a') => (Some('\u{7}'), 1),
            Some('b') => (Some('\u{8}'), 1),
            Some('f') => (Some('\u{c}'), 1),
            Some('n') => (Some('\n'), 1),
            Some('r') => (Some('\r'), 1),
            Some('t') => (Some('\t'), 1),
            Some('v') => (Some('\u{b}'), 1),
            Some('x') => (hex(2), 3),
            Some('u') => (hex(4), 5),
            Some('U') => (hex(8), 9),
            _ => (None, 0),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[used..];
            }
            None => {
                out.push('\\');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_forms() {
        let cases = [
            ("src=a dest='/tmp/x y' mode=0644", false),
            ("echo {{ a }} b chdir=/tmp", true),
            ("echo 'a=b c' creates=/x", true),
            ("msg=\"{{ x | default('a b') }}\"", false),
            (r#"content="a\nb\tc\x41\u00e9" path=C:\q\zz"#, false),
            (r"echo a\nb chdir=/t\x41", true),
        ];
        let got: Vec<String> = cases
            .iter()
            .map(|(t, f)| Value::Object(parse_kv(t, *f)).to_string())
            .collect();
        expect_test::expect![[r#"
            {"src":"a","dest":"/tmp/x y","mode":"0644"}
            {"chdir":"/tmp","_raw_params":"echo {{ a }} b"}
            {"creates":"/x","_raw_params":"echo 'a=b c'"}
            {"msg":"{{ x | default('a b') }}"}
            {"content":"a\nb\tcAé","path":"C:\\q\\zz"}
            {"chdir":"/tA","_raw_params":"echo a\\nb"}"#]]
        .assert_eq(&got.join("\n"));
    }
}
