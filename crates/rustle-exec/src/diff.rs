//! `--diff` output: a module's `diff` (one or a list of them) as the
//! unified diff ansible-core's callback prints (`_get_diff`), line for line.

use difflib::sequencematcher::SequenceMatcher;
use serde_json::Value;

use crate::display::python_json;

/// ansible-core's `DIFF_CONTEXT` default.
const CONTEXT: usize = 3;

/// The text ansible-core prints for a result's `diff`; empty when there is
/// nothing to show.
pub fn render(diff: &Value) -> String {
    let list: Vec<&Value> = match diff {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = String::new();
    for d in list {
        let Value::Object(d) = d else { continue };
        for (key, words) in [
            ("dst_binary", "destination file appears to be binary"),
            ("src_binary", "source file appears to be binary"),
        ] {
            if d.contains_key(key) {
                out.push_str(&format!("diff skipped: {words}\n"));
            }
        }
        for (key, side) in [("dst_larger", "destination"), ("src_larger", "source")] {
            if let Some(size) = d.get(key) {
                out.push_str(&format!(
                    "diff skipped: {side} file size is greater than {size}\n"
                ));
            }
        }
        if let (Some(before), Some(after)) = (d.get("before"), d.get("after")) {
            let header = |side: &str| match d.get(&format!("{side}_header")) {
                Some(h) => format!("{side}: {}", text(h)),
                None => side.to_owned(),
            };
            let hunks = unified(
                &side_text(before),
                &side_text(after),
                &header("before"),
                &header("after"),
            );
            if !hunks.is_empty() {
                out.push_str(&hunks);
                out.push('\n');
            }
        }
        if let Some(prepared) = d.get("prepared") {
            out.push_str(&text(prepared));
        }
    }
    out
}

/// One side of a diff: text as is, a mapping as sorted, indented JSON.
fn side_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Object(_) => ascii_only(&python_json(v, Some(4))) + "\n",
        other => text(other),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Python's `json.dumps` default `ensure_ascii`: non-ASCII as `\uXXXX`.
fn ascii_only(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// Python's `str.splitlines(True)` for the line ends files use.
fn lines(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let end = match rest.find(['\n', '\r']) {
            Some(i) if rest[i..].starts_with("\r\n") => i + 2,
            Some(i) => i + 1,
            None => rest.len(),
        };
        out.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    out
}

/// `difflib.unified_diff` as ansible-core calls it: a missing final newline
/// is marked inside the last line, and there are no file dates.
fn unified(before: &str, after: &str, from: &str, to: &str) -> String {
    let mark = |mut lines: Vec<String>| {
        if let Some(last) = lines.last_mut()
            && !last.ends_with('\n')
        {
            last.push_str("\n\\ No newline at end of file\n");
        }
        lines
    };
    let (a, b) = (mark(lines(before)), mark(lines(after)));
    let mut matcher = SequenceMatcher::new(&a, &b);
    let mut out = String::new();
    for group in matcher.get_grouped_opcodes(CONTEXT) {
        if out.is_empty() {
            out.push_str(&format!("--- {from}\n+++ {to}\n"));
        }
        let (first, last) = (&group[0], &group[group.len() - 1]);
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(first.first_start, last.first_end),
            range(first.second_start, last.second_end)
        ));
        for op in &group {
            let (old, new) = (
                &a[op.first_start..op.first_end],
                &b[op.second_start..op.second_end],
            );
            if op.tag == "equal" {
                old.iter().for_each(|l| out.push_str(&format!(" {l}")));
                continue;
            }
            if op.tag == "replace" || op.tag == "delete" {
                old.iter().for_each(|l| out.push_str(&format!("-{l}")));
            }
            if op.tag == "replace" || op.tag == "insert" {
                new.iter().for_each(|l| out.push_str(&format!("+{l}")));
            }
        }
    }
    out
}

/// difflib's `_format_range_unified`.
fn range(start: usize, stop: usize) -> String {
    let length = stop - start;
    match length {
        1 => format!("{}", start + 1),
        0 => format!("{start},0"),
        _ => format!("{},{length}", start + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use serde_json::json;

    #[test]
    fn a_changed_line_in_context() {
        let diff = json!({
            "before": "a\nb\nc\nd\ne\nf\ng\nh\n",
            "after": "a\nb\nc\nd\nE\nf\ng\nh\n",
            "before_header": "/x",
            "after_header": "/x",
        });
        expect![[r#"
            --- before: /x
            +++ after: /x
            @@ -2,7 +2,7 @@
             b
             c
             d
            -e
            +E
             f
             g
             h

        "#]]
        .assert_eq(&render(&diff));
    }

    #[test]
    fn mappings_missing_newlines_and_no_change() {
        let diff = json!([
            {"before": {"path": "/p", "state": "absent"},
             "after": {"path": "/p", "state": "directory", "é": 1}},
            {"before": "", "after": "new"},
            {"before": "same\n", "after": "same\n"},
            {"before": "x\n", "after": "y\n", "dst_binary": 1},
        ]);
        expect![[r#"
            --- before
            +++ after
            @@ -1,4 +1,5 @@
             {
                 "path": "/p",
            -    "state": "absent"
            +    "state": "directory",
            +    "\u00e9": 1
             }

            --- before
            +++ after
            @@ -0,0 +1 @@
            +new
            \ No newline at end of file

            diff skipped: destination file appears to be binary
            --- before
            +++ after
            @@ -1 +1 @@
            -x
            +y

        "#]]
        .assert_eq(&render(&diff));
    }
}
