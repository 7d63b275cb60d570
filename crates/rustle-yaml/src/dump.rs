//! YAML written as Ansible's `to_yaml`/`to_nice_yaml` write it: PyYAML's
//! safe dumper (keys sorted, scalars quoted only where a plain scalar would
//! read back as something else, lines folded at the width) so a file
//! templated by rustle has the bytes ansible-playbook would give it.
//!
//! The emitter follows PyYAML's own rules: the representer picks flow or
//! block style per collection, the scalar analysis decides which styles a
//! string allows, and the writer tracks the column and whether the last
//! thing written was whitespace or indentation.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// The options of `yaml.dump` that Ansible's filters pass on.
#[derive(Debug, Clone)]
pub struct DumpOptions {
    /// Spaces per level (PyYAML keeps 2 unless 1 < indent < 10).
    pub indent: usize,
    /// Where long scalars fold (PyYAML keeps 80 unless width > 2 * indent).
    pub width: usize,
    /// `None`: collections of scalars only in flow style (`[a, b]`), the
    /// rest in block style; `Some(true)`: all flow; `Some(false)`: all block.
    pub default_flow_style: Option<bool>,
    pub sort_keys: bool,
    /// Non-ASCII text as is (Ansible passes `allow_unicode=True`).
    pub allow_unicode: bool,
    /// `---` before the document.
    pub explicit_start: bool,
    /// `...` after the document.
    pub explicit_end: bool,
}

impl Default for DumpOptions {
    /// `to_yaml`'s defaults.
    fn default() -> Self {
        DumpOptions {
            indent: 2,
            width: 80,
            default_flow_style: None,
            sort_keys: true,
            allow_unicode: true,
            explicit_start: false,
            explicit_end: false,
        }
    }
}

/// `value` as one YAML document, as `yaml.dump(value, Dumper=SafeDumper, ...)`.
pub fn dump(value: &Value, opts: &DumpOptions) -> String {
    let node = represent(value, opts);
    let mut e = Emitter {
        out: String::new(),
        best_indent: if (2..10).contains(&opts.indent) {
            opts.indent
        } else {
            2
        },
        best_width: 80,
        allow_unicode: opts.allow_unicode,
        indent: None,
        indents: Vec::new(),
        flow_level: 0,
        column: 0,
        whitespace: true,
        indention: true,
    };
    if opts.width > e.best_indent * 2 {
        e.best_width = opts.width;
    }
    if opts.explicit_start {
        e.write_indent();
        e.write_indicator("---", true, false, false);
    }
    e.node(&node, Ctx::default());
    e.write_indent();
    if opts.explicit_end {
        e.write_indicator("...", true, false, false);
        e.write_indent();
    }
    e.out
}

/// A represented node: scalars carry their text and how they may be
/// written without a tag; collections whether they are in flow style.
enum Node {
    Scalar {
        text: String,
        /// Reads back as the same type when written plain.
        plain_implicit: bool,
        /// Reads back as the same type when written quoted (strings only).
        quoted_implicit: bool,
    },
    Seq(Vec<Node>, bool),
    Map(Vec<(Node, Node)>, bool),
}

impl Node {
    fn is_empty_collection(&self) -> bool {
        match self {
            Node::Seq(items, _) => items.is_empty(),
            Node::Map(pairs, _) => pairs.is_empty(),
            Node::Scalar { .. } => false,
        }
    }
}

fn represent(value: &Value, opts: &DumpOptions) -> Node {
    let scalar = |text: String| Node::Scalar {
        text,
        plain_implicit: true,
        quoted_implicit: false,
    };
    match value {
        Value::Null => scalar("null".to_owned()),
        Value::Bool(b) => scalar(b.to_string()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => scalar(float_text(f)),
            _ => scalar(n.to_string()),
        },
        Value::String(s) => Node::Scalar {
            plain_implicit: resolves_to_str(s),
            quoted_implicit: true,
            text: s.clone(),
        },
        Value::Array(items) => {
            let items: Vec<Node> = items.iter().map(|v| represent(v, opts)).collect();
            let flow = opts
                .default_flow_style
                .unwrap_or_else(|| items.iter().all(|n| matches!(n, Node::Scalar { .. })));
            Node::Seq(items, flow)
        }
        Value::Object(map) => {
            let mut pairs: Vec<(&String, &Value)> = map.iter().collect();
            if opts.sort_keys {
                pairs.sort_by(|a, b| a.0.cmp(b.0));
            }
            let pairs: Vec<(Node, Node)> = pairs
                .into_iter()
                .map(|(k, v)| {
                    (
                        represent(&Value::String(k.clone()), opts),
                        represent(v, opts),
                    )
                })
                .collect();
            let flow = opts
                .default_flow_style
                .unwrap_or_else(|| pairs.iter().all(|(_, v)| matches!(v, Node::Scalar { .. })));
            Node::Map(pairs, flow)
        }
    }
}

/// Python's `repr(float)` as PyYAML writes it: lower case, `.0` before a
/// bare exponent, `.inf`/`.nan`.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let repr = py_float_repr(f);
    if !repr.contains('.') && repr.contains('e') {
        repr.replacen('e', ".0e", 1)
    } else {
        repr
    }
}

/// Python's `repr` of a finite float: the shortest digits that read back,
/// positional for exponents -4..16, else `d.ddde+XX`.
fn py_float_repr(f: f64) -> String {
    // Rust's `{:e}` gives the same shortest digits: `1.2345e-7`.
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

/// Whether PyYAML's implicit resolvers would read `text`, written plain,
/// as a string (and not a bool, number, null, timestamp, merge or value).
fn resolves_to_str(text: &str) -> bool {
    static OTHER: LazyLock<Regex> = LazyLock::new(|| {
        let other = [
            // bool
            r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
            // float
            r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
            r"\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
            r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
            r"[-+]?\.(?:inf|Inf|INF)",
            r"\.(?:nan|NaN|NAN)",
            // int
            r"[-+]?0b[0-1_]+",
            r"[-+]?0[0-7_]+",
            r"[-+]?(?:0|[1-9][0-9_]*)",
            r"[-+]?0x[0-9a-fA-F_]+",
            r"[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
            // merge, null, value
            r"<<",
            r"~|null|Null|NULL|",
            r"=",
            // timestamp
            r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
            r"[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
        ];
        // Python's `$` also matches before a final newline.
        Regex::new(&format!(r"\A(?:{})\n?\z", other.join("|"))).expect("valid regex")
    });
    !OTHER.is_match(text)
}

/// Where a node stands, as PyYAML's `expect_node` flags.
#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    mapping: bool,
    simple_key: bool,
}

/// Which styles a scalar allows (PyYAML's `ScalarAnalysis`).
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
}

const BREAKS: &[char] = &['\n', '\u{85}', '\u{2028}', '\u{2029}'];

fn is_break(c: char) -> bool {
    BREAKS.contains(&c)
}

fn is_blank_or_end(c: Option<char>) -> bool {
    matches!(
        c,
        None | Some('\0' | ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
    )
}

struct Emitter {
    out: String,
    best_indent: usize,
    best_width: usize,
    allow_unicode: bool,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    flow_level: usize,
    column: usize,
    whitespace: bool,
    indention: bool,
}

impl Emitter {
    fn node(&mut self, node: &Node, ctx: Ctx) {
        match node {
            Node::Scalar {
                text,
                plain_implicit,
                quoted_implicit,
            } => {
                self.increase_indent(true, false);
                self.scalar(text, *plain_implicit, *quoted_implicit, ctx);
                self.indent = self.indents.pop().flatten();
            }
            Node::Seq(items, flow) => {
                if self.flow_level > 0 || *flow || items.is_empty() {
                    self.flow_sequence(items);
                } else {
                    self.block_sequence(items, ctx);
                }
            }
            Node::Map(pairs, flow) => {
                if self.flow_level > 0 || *flow || pairs.is_empty() {
                    self.flow_mapping(pairs);
                } else {
                    self.block_mapping(pairs);
                }
            }
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None if flow => Some(self.best_indent),
            None => Some(0),
            Some(i) if !indentless => Some(i + self.best_indent),
            Some(i) => Some(i),
        };
    }

    fn flow_sequence(&mut self, items: &[Node]) {
        self.write_indicator("[", true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            self.node(item, Ctx::default());
        }
        self.indent = self.indents.pop().flatten();
        self.flow_level -= 1;
        self.write_indicator("]", false, false, false);
    }

    fn flow_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.write_indicator("{", true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            self.pair(key, value, true);
        }
        self.indent = self.indents.pop().flatten();
        self.flow_level -= 1;
        self.write_indicator("}", false, false, false);
    }

    fn block_sequence(&mut self, items: &[Node], ctx: Ctx) {
        let indentless = ctx.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Ctx::default());
        }
        self.indent = self.indents.pop().flatten();
    }

    fn block_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.increase_indent(false, false);
        for (key, value) in pairs {
            self.write_indent();
            self.pair(key, value, false);
        }
        self.indent = self.indents.pop().flatten();
    }

    /// One pair of a mapping: a simple key inline (`key: value`), any
    /// other as `? key` and then `: value`.
    fn pair(&mut self, key: &Node, value: &Node, flow: bool) {
        let in_map = Ctx {
            mapping: true,
            ..Ctx::default()
        };
        if self.is_simple_key(key) {
            let as_key = Ctx {
                simple_key: true,
                ..in_map
            };
            self.node(key, as_key);
            self.write_indicator(":", false, false, false);
        } else {
            self.write_indicator("?", true, false, !flow);
            self.node(key, in_map);
            if !flow || self.column > self.best_width {
                self.write_indent();
            }
            self.write_indicator(":", true, false, !flow);
        }
        self.node(value, in_map);
    }

    fn is_simple_key(&self, key: &Node) -> bool {
        match key {
            // libyaml, unlike PyYAML's own emitter, lets an empty
            // scalar be a simple key (`'': v`).
            Node::Scalar { text, .. } => text.chars().count() < 128 && !text.contains(BREAKS),
            other => other.is_empty_collection(),
        }
    }

    fn scalar(&mut self, text: &str, plain_implicit: bool, quoted_implicit: bool, ctx: Ctx) {
        let a = self.analyze(text);
        let plain_allowed = if self.flow_level > 0 {
            a.allow_flow_plain
        } else {
            a.allow_block_plain
        };
        let style =
            if plain_implicit && !(ctx.simple_key && (a.empty || a.multiline)) && plain_allowed {
                Style::Plain
            } else if a.allow_single_quoted && !(ctx.simple_key && a.multiline) {
                Style::Single
            } else {
                Style::Double
            };
        // A non-string that cannot be plain would need its tag; JSON's
        // scalars never get here (their text is always plain-safe).
        if style != Style::Plain && !quoted_implicit {
            let tag = if text == "null" { "!!null" } else { "!!str" };
            self.write_indicator(tag, true, false, false);
        }
        let split = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(text, split),
            Style::Single => self.write_single_quoted(text, split),
            Style::Double => self.write_double_quoted(text, split),
        }
    }

    fn analyze(&self, scalar: &str) -> Analysis {
        if scalar.is_empty() {
            return Analysis {
                empty: true,
                multiline: false,
                allow_flow_plain: false,
                allow_block_plain: true,
                allow_single_quoted: true,
            };
        }
        let chars: Vec<char> = scalar.chars().collect();
        let mut block_indicators = false;
        let mut flow_indicators = false;
        let mut line_breaks = false;
        let mut special_characters = false;
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        if scalar.starts_with("---") || scalar.starts_with("...") {
            block_indicators = true;
            flow_indicators = true;
        }
        let mut preceded_by_whitespace = true;
        let mut followed_by_whitespace = is_blank_or_end(chars.get(1).copied());
        let (mut previous_space, mut previous_break) = (false, false);
        let last = chars.len() - 1;
        for (index, &ch) in chars.iter().enumerate() {
            if index == 0 {
                if "#,[]{}&*!|>'\"%@`".contains(ch) {
                    flow_indicators = true;
                    block_indicators = true;
                }
                if ch == '?' || ch == ':' {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                if ch == '-' && followed_by_whitespace {
                    flow_indicators = true;
                    block_indicators = true;
                }
            } else {
                if ",?[]{}".contains(ch) {
                    flow_indicators = true;
                }
                if ch == ':' {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                if ch == '#' && preceded_by_whitespace {
                    flow_indicators = true;
                    block_indicators = true;
                }
            }
            if is_break(ch) {
                line_breaks = true;
            }
            if !is_printable(ch) || (!ch.is_ascii() && !self.allow_unicode) {
                special_characters = true;
            }
            if ch == ' ' {
                leading_space |= index == 0;
                trailing_space |= index == last;
                break_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if is_break(ch) {
                leading_break |= index == 0;
                trailing_break |= index == last;
                space_break |= previous_space;
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = is_blank_or_end(Some(ch));
            followed_by_whitespace = is_blank_or_end(chars.get(index + 2).copied());
        }
        let mut a = Analysis {
            empty: false,
            multiline: line_breaks,
            allow_flow_plain: true,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.allow_flow_plain = false;
            a.allow_block_plain = false;
        }
        if break_space || space_break || special_characters {
            a.allow_flow_plain = false;
            a.allow_block_plain = false;
            a.allow_single_quoted = false;
        }
        if line_breaks {
            a.allow_flow_plain = false;
            a.allow_block_plain = false;
        }
        if flow_indicators {
            a.allow_flow_plain = false;
        }
        if block_indicators {
            a.allow_block_plain = false;
        }
        a
    }

    fn write(&mut self, data: &str) {
        self.column += data.chars().count();
        self.out.push_str(data);
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if !self.whitespace && need_whitespace {
            self.write(" ");
        }
        self.write(indicator);
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break(None);
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = " ".repeat(indent - self.column);
            self.write(&pad);
        }
    }

    fn write_line_break(&mut self, data: Option<char>) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push(data.unwrap_or('\n'));
    }

    /// Line breaks inside a quoted scalar: one more for a leading `\n`
    /// (a single one would fold into a space), then the indentation.
    fn write_breaks(&mut self, breaks: &[char]) {
        if breaks.first() == Some(&'\n') {
            self.write_line_break(None);
        }
        for &br in breaks {
            self.write_line_break(Some(br));
        }
        self.write_indent();
    }

    fn write_plain(&mut self, text: &str, split: bool) {
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        // Plain scalars never hold line breaks (the analysis forbids it):
        // only single spaces past the width fold.
        let chars: Vec<char> = text.chars().collect();
        let (mut start, mut spaces) = (0, false);
        for end in 0..=chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.best_width && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write(&chars[start..end].iter().collect::<String>());
                    }
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ') {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
            spaces = ch == Some(' ');
        }
    }

    fn write_single_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let mut start = 0;
        for end in 0..=chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > self.best_width
                        && split
                        && start != 0
                        && end != chars.len()
                    {
                        self.write_indent();
                    } else {
                        self.write(&chars[start..end].iter().collect::<String>());
                    }
                    start = end;
                }
            } else if breaks {
                if ch.is_none_or(|c| !is_break(c)) {
                    self.write_breaks(&chars[start..end]);
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || c == '\'' || is_break(c)) && start < end {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
        }
        self.write_indicator("'", false, false, false);
    }

    /// libyaml's double-quoted writer: escapes for what is not printable,
    /// folding at a single space past the width (a `\\` keeps a second
    /// space that starts the next line).
    fn write_double_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            let escape = !is_printable(c)
                || (!self.allow_unicode && !c.is_ascii())
                || c == '\u{FEFF}'
                || is_break(c)
                || c == '"'
                || c == '\\';
            if escape {
                let data = match c {
                    '\0' => "\\0".to_owned(),
                    '\x07' => "\\a".to_owned(),
                    '\x08' => "\\b".to_owned(),
                    '\t' => "\\t".to_owned(),
                    '\n' => "\\n".to_owned(),
                    '\x0B' => "\\v".to_owned(),
                    '\x0C' => "\\f".to_owned(),
                    '\r' => "\\r".to_owned(),
                    '\x1B' => "\\e".to_owned(),
                    '"' => "\\\"".to_owned(),
                    '\\' => "\\\\".to_owned(),
                    '\u{85}' => "\\N".to_owned(),
                    '\u{A0}' => "\\_".to_owned(),
                    '\u{2028}' => "\\L".to_owned(),
                    '\u{2029}' => "\\P".to_owned(),
                    c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                    c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                    c => format!("\\U{:08X}", c as u32),
                };
                self.write(&data);
                spaces = false;
            } else if c == ' ' {
                if split
                    && !spaces
                    && self.column > self.best_width
                    && i != 0
                    && i + 1 != chars.len()
                {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.write("\\");
                    }
                } else {
                    self.write(" ");
                }
                spaces = true;
            } else {
                let mut buf = [0; 4];
                self.write(c.encode_utf8(&mut buf));
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
    }
}

/// libyaml's `IS_PRINTABLE`: what may stand unescaped (no tab, no `\\x85`,
/// nothing beyond the Basic Multilingual Plane).
fn is_printable(c: char) -> bool {
    c == '\n'
        || (' '..='~').contains(&c)
        || ('\u{A0}'..='\u{D7FF}').contains(&c)
        || (('\u{E000}'..='\u{FFFD}').contains(&c) && c != '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nice() -> DumpOptions {
        DumpOptions {
            indent: 4,
            default_flow_style: Some(false),
            ..DumpOptions::default()
        }
    }

    #[test]
    fn python_float_reprs() {
        for (f, want) in [
            (1.5, "1.5"),
            (3.0, "3.0"),
            (1e16, "1.0e+16"),
            (1.5e17, "1.5e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-05"),
            (-2.5e-7, "-2.5e-07"),
            (123456789.125, "123456789.125"),
        ] {
            assert_eq!(float_text(f), want, "{f}");
        }
    }

    #[test]
    fn strings_that_read_back_as_other_types_are_quoted() {
        let v = json!([
            "yes",
            "1.0",
            "012",
            "2024-01-02",
            "~",
            "",
            "plain",
            "a: b",
            "- x"
        ]);
        assert_eq!(
            dump(&v, &nice()),
            "- 'yes'\n- '1.0'\n- '012'\n- '2024-01-02'\n- '~'\n- ''\n- plain\n- 'a: b'\n- '- x'\n"
        );
    }

    #[test]
    fn nested_block_and_flow_styles() {
        let v = json!({"b": [1, 2], "a": {"x": "y", "z": [{"k": true}]}, "e": {}});
        assert_eq!(
            dump(&v, &DumpOptions::default()),
            "a:\n  x: y\n  z:\n  - {k: true}\nb: [1, 2]\ne: {}\n"
        );
        assert_eq!(
            dump(&v, &nice()),
            "a:\n    x: y\n    z:\n    -   k: true\nb:\n- 1\n- 2\ne: {}\n"
        );
    }

    #[test]
    fn scalar_documents() {
        // libyaml's emitter, which Ansible uses, ends a plain one without `...`.
        assert_eq!(dump(&json!("text"), &DumpOptions::default()), "text\n");
        assert_eq!(
            dump(&json!("a\nb"), &DumpOptions::default()),
            "'a\n\n  b'\n"
        );
    }
}
