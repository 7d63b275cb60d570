//! Ansible's default stdout callback, written to stderr: PLAY/TASK
//! banners, one line per host result, `PLAY RECAP`. Layout, JSON style
//! (Python's `json.dumps` with sorted keys) and colours follow
//! ansible-core, so the two outputs can be diffed.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use rustle_format::{HostStats, Status, Value};

/// Where an error lies: a file, line and column (line 0: the whole file).
pub type Origin<'p> = (&'p Path, usize, usize);

/// ANSI colours as Ansible uses them; empty when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    on: bool,
}

impl Palette {
    /// Colour only on a terminal; `NO_COLOR` turns it off and
    /// `ANSIBLE_FORCE_COLOR` forces it on.
    pub fn detect(is_terminal: bool) -> Palette {
        let env_true = |k: &str| {
            std::env::var(k).is_ok_and(|v| {
                matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
            })
        };
        let on = if env_true("ANSIBLE_FORCE_COLOR") {
            true
        } else if std::env::var_os("NO_COLOR").is_some() || env_true("ANSIBLE_NOCOLOR") {
            false
        } else {
            is_terminal
        };
        Palette { on }
    }

    pub fn plain() -> Palette {
        Palette { on: false }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

const GREEN: &str = "0;32";
const YELLOW: &str = "0;33";
const CYAN: &str = "0;36";
const RED: &str = "0;31";
const BRIGHT_RED: &str = "1;31";
const BRIGHT_PURPLE: &str = "1;35";
/// Ansible's `COLOR_DEBUG`.
const DARK_GRAY: &str = "1;30";
/// Ansible's `COLOR_VERBOSE`.
const BLUE: &str = "0;34";

pub struct Display<W: Write> {
    out: W,
    pub verbosity: u8,
    palette: Palette,
    /// Error reports already printed: like ansible-core 2.19, an identical
    /// report (same message, same origin) is printed once per run.
    errors_seen: std::collections::HashSet<String>,
}

impl<W: Write> Display<W> {
    pub fn new(out: W, verbosity: u8, palette: Palette) -> Display<W> {
        Display {
            out,
            verbosity,
            palette,
            errors_seen: std::collections::HashSet::new(),
        }
    }

    /// `\nTITLE ****...` to column 80 (at least three stars).
    pub fn banner(&mut self, title: &str) -> io::Result<()> {
        let stars = 79usize.saturating_sub(title.chars().count()).max(3);
        writeln!(self.out, "\n{title} {}", "*".repeat(stars))
    }

    /// `[WARNING]: text`, in Ansible's warning colour.
    pub fn warning(&mut self, text: &str) -> io::Result<()> {
        let text = text.trim_end();
        let line = self
            .palette
            .paint(BRIGHT_PURPLE, &format!("[WARNING]: {text}"));
        writeln!(self.out, "{line}")
    }

    pub fn line(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "{text}")
    }

    /// A line Ansible shows from `-v` level `level` on (`display.v`,
    /// `display.vv` ...), in its verbose colour.
    pub fn verbose(&mut self, level: u8, text: &str) -> io::Result<()> {
        if self.verbosity < level {
            return Ok(());
        }
        let line = self.palette.paint(BLUE, text);
        writeln!(self.out, "{line}")
    }

    /// A changed result's `--diff` text, coloured as ansible-core colours
    /// it (`COLOR_DIFF_ADD`, `_REMOVE`, `_LINES`).
    pub fn diff(&mut self, diff: &Value) -> io::Result<()> {
        let text = crate::diff::render(diff);
        if text.is_empty() {
            return Ok(());
        }
        let p = self.palette;
        for line in text.split_inclusive('\n') {
            let body = line.strip_suffix('\n').unwrap_or(line);
            let colour = match body.as_bytes().first() {
                Some(b'+') => Some(GREEN),
                Some(b'-') => Some(RED),
                Some(b'@') if body.starts_with("@@") => Some(CYAN),
                _ => None,
            };
            let body = colour.map_or_else(|| body.to_owned(), |c| p.paint(c, body));
            let end = if line.ends_with('\n') { "\n" } else { "" };
            write!(self.out, "{body}{end}")?;
        }
        if !text.ends_with('\n') {
            writeln!(self.out)?;
        }
        Ok(())
    }

    /// `task path: FILE:LINE` under a task banner from `-vv` on.
    pub fn task_path(&mut self, path: &Path, line: usize) -> io::Result<()> {
        if self.verbosity < 2 {
            return Ok(());
        }
        let text = format!("task path: {}:{line}", path.display());
        let text = self.palette.paint(DARK_GRAY, &text);
        writeln!(self.out, "{text}")
    }

    /// `included: X for host` (and `=> (item=...)` for a loop item): what
    /// an `include_tasks`/`include_role` included, in the colour Ansible
    /// gives it.
    pub fn included(&mut self, host: &str, what: &str, label: Option<&Value>) -> io::Result<()> {
        let mut line = format!("included: {what} for {host}");
        if let Some(label) = label {
            let label = match label {
                Value::String(s) => s.clone(),
                other => python_repr(other),
            };
            line.push_str(&format!(" => (item={label})"));
        }
        let line = self.palette.paint(CYAN, &line);
        writeln!(self.out, "{line}")
    }

    /// One task result for one host.
    pub fn result(
        &mut self,
        host: &str,
        action: &str,
        status: Status,
        ignored: bool,
        result: &Value,
    ) -> io::Result<()> {
        let p = self.palette;
        // The result's warnings come first, as ansible-core shows them.
        for w in result
            .get("warnings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            self.warning(w)?;
        }
        let host = &host_label(host, status, result);
        let dump = Dump {
            indent: result.get("_ansible_verbose_always") == Some(&Value::Bool(true)),
            debug: is_debug(action),
        };
        // `_ansible_verbose_override` (fact gathering) is never dumped.
        let verbose = (self.verbosity > 0 || dump.indent)
            && result.get("_ansible_verbose_override") != Some(&Value::Bool(true));
        let line = match status {
            Status::Failed => p.paint(
                RED,
                &format!("fatal: [{host}]: FAILED! => {}", self.dump(result, dump)),
            ),
            Status::Unreachable => p.paint(
                BRIGHT_RED,
                &format!(
                    "fatal: [{host}]: UNREACHABLE! => {}",
                    self.dump(result, Dump::default())
                ),
            ),
            Status::Skipped => {
                let mut s = format!("skipping: [{host}]");
                if self.verbosity > 0 {
                    // Cleaned as debug's results are (`changed` and the
                    // skip keys dropped when there is no `msg`).
                    let how = Dump {
                        debug: dump.debug,
                        ..Dump::default()
                    };
                    s = format!("{s} => {}", self.dump(result, how));
                }
                p.paint(CYAN, &s)
            }
            Status::Ok | Status::Changed => {
                let (word, colour) = if status == Status::Changed {
                    ("changed", YELLOW)
                } else {
                    ("ok", GREEN)
                };
                let mut s = format!("{word}: [{host}]");
                if verbose {
                    s = format!("{s} => {}", self.dump(result, dump));
                }
                p.paint(colour, &s)
            }
        };
        writeln!(self.out, "{line}")?;
        if ignored {
            writeln!(self.out, "{}", p.paint(CYAN, "...ignoring"))?;
        }
        Ok(())
    }

    /// ansible-core 2.19's error report before a failed task's `fatal:`
    /// line: the message, the task's origin and the source lines around it.
    pub fn error(
        &mut self,
        action: &str,
        msg: &str,
        origin: Option<(&Path, usize, usize)>,
    ) -> io::Result<()> {
        let msg = task_failed(action, msg);
        let mut report = format!("[ERROR]: {msg}\n");
        push_origin(&mut report, origin);
        self.report(report)
    }

    /// [`Display::error`] for a task ansible-core makes from data of its
    /// own (the role argument check): `Origin: <unknown>`, then the task's
    /// data as Python prints it, shortened as `textwrap.shorten(width=120)`.
    pub fn error_without_origin(
        &mut self,
        action: &str,
        msg: &str,
        data: &Value,
    ) -> io::Result<()> {
        let msg = task_failed(action, msg);
        let data = shorten(&python_repr(data), 120);
        self.report(format!("[ERROR]: {msg}\nOrigin: <unknown>\n\n{data}\n"))
    }

    /// Prints an error report once: the first line in red.
    fn report(&mut self, report: String) -> io::Result<()> {
        if !self.errors_seen.insert(report.clone()) {
            return Ok(());
        }
        let (first, rest) = report.split_once('\n').unwrap_or((&report, ""));
        writeln!(self.out, "{}", self.palette.paint(RED, first))?;
        write!(self.out, "{rest}")?;
        writeln!(self.out)
    }

    /// ansible-core 2.19's report of a chain of errors, each caused by the
    /// next: the messages joined on the first line, then each with its
    /// origin and source lines, `<<< caused by >>>` between them. Two in a
    /// row at the same origin are one ("Task failed: Finalization ...").
    pub fn error_chain(&mut self, parts: &[(String, Option<Origin<'_>>)]) -> io::Result<()> {
        let join = |a: &str, b: &str| format!("{}: {b}", a.trim_end_matches('.'));
        let summary = parts
            .iter()
            .map(|(m, _)| m.clone())
            .reduce(|a, b| join(&a, &b))
            .unwrap_or_default();
        let mut merged: Vec<(String, Option<Origin<'_>>)> = Vec::new();
        for (msg, origin) in parts {
            match merged.last_mut() {
                Some((last, at)) if origin.is_some() && at == origin => *last = join(last, msg),
                _ => merged.push((msg.clone(), *origin)),
            }
        }
        let mut report = format!("[ERROR]: {summary}\n");
        for (i, (msg, origin)) in merged.iter().enumerate() {
            if i > 0 {
                report.push_str("\n<<< caused by >>>\n");
            }
            report.push_str(&format!("\n{msg}\n"));
            push_origin(&mut report, *origin);
        }
        if !self.errors_seen.insert(report.clone()) {
            return Ok(());
        }
        let (first, rest) = report.split_once('\n').unwrap_or((&report, ""));
        writeln!(self.out, "{}", self.palette.paint(RED, first))?;
        write!(self.out, "{rest}")?;
        writeln!(self.out)
    }

    /// An include that failed (its file or role is not there): the reason,
    /// then an empty line, as ansible-core's strategy prints it.
    pub fn include_error(&mut self, reason: &str) -> io::Result<()> {
        let (first, rest) = reason.split_once('\n').unwrap_or((reason, ""));
        let first = format!("[ERROR]: {first}");
        writeln!(self.out, "{}", self.palette.paint(RED, &first))?;
        if !rest.is_empty() {
            writeln!(self.out, "{rest}")?;
        }
        writeln!(self.out)
    }

    /// `until`/`retries`: the task runs again.
    pub fn retry(&mut self, host: &str, task: &str, left: u32) -> io::Result<()> {
        let line = format!("FAILED - RETRYING: [{host}]: {task} ({left} retries left).");
        writeln!(self.out, "{}", self.palette.paint(DARK_GRAY, &line))
    }

    /// An `async` job still running at a poll, as ansible-core's default
    /// callback prints it (Python's `True`/`False`).
    pub fn async_poll(
        &mut self,
        host: &str,
        jid: &str,
        started: bool,
        finished: bool,
    ) -> io::Result<()> {
        let py = |b: bool| if b { "True" } else { "False" };
        let line = format!(
            "ASYNC POLL on {host}: jid={jid} started={} finished={}",
            py(started),
            py(finished)
        );
        writeln!(self.out, "{}", self.palette.paint(DARK_GRAY, &line))
    }

    /// `[ERROR]: msg` on its own, for errors of the run rather than a task.
    pub fn run_error(&mut self, msg: &str) -> io::Result<()> {
        let line = format!("[ERROR]: {msg}");
        writeln!(self.out, "{}", self.palette.paint(RED, &line))
    }

    /// One loop item for one host.
    pub fn item(
        &mut self,
        host: &str,
        action: &str,
        status: Status,
        label: &Value,
        result: &Value,
    ) -> io::Result<()> {
        let p = self.palette;
        let host = &host_label(host, status, result);
        let label = match label {
            Value::String(s) => s.clone(),
            other => python_repr(other),
        };
        let line = match status {
            Status::Failed => {
                let how = Dump {
                    debug: is_debug(action),
                    ..Dump::default()
                };
                p.paint(
                    RED,
                    &format!(
                        "failed: [{host}] (item={label}) => {}",
                        self.dump(result, how)
                    ),
                )
            }
            Status::Skipped => {
                // Ansible's format string ends in a space, so the line
                // does, and a dump follows two spaces before `=>`.
                let mut s = format!("skipping: [{host}] => (item={label}) ");
                if self.verbosity > 0 {
                    let how = Dump {
                        debug: is_debug(action),
                        ..Dump::default()
                    };
                    s = format!("{s} => {}", self.dump(result, how));
                }
                p.paint(CYAN, &s)
            }
            Status::Changed | Status::Ok => {
                let (word, colour) = if status == Status::Changed {
                    ("changed", YELLOW)
                } else {
                    ("ok", GREEN)
                };
                let how = Dump {
                    indent: result.get("_ansible_verbose_always") == Some(&Value::Bool(true)),
                    debug: is_debug(action),
                };
                let mut s = format!("{word}: [{host}] => (item={label})");
                if self.verbosity > 0 || how.indent {
                    s = format!("{s} => {}", self.dump(result, how));
                }
                p.paint(colour, &s)
            }
            Status::Unreachable => p.paint(
                BRIGHT_RED,
                &format!(
                    "fatal: [{host}]: UNREACHABLE! => (item={label}) => {}",
                    self.dump(result, Dump::default())
                ),
            ),
        };
        writeln!(self.out, "{line}")
    }

    /// The result as Ansible dumps it: internal keys dropped (and the
    /// warnings, deprecations and exception the callback pops), `changed`
    /// dropped for debug, indented when the module asks to be always shown.
    fn dump(&self, result: &Value, how: Dump) -> String {
        let mut r = result.clone();
        if let Value::Object(m) = &mut r {
            m.retain(|k, _| {
                !k.starts_with("_ansible")
                    && !k.starts_with("_rustle")
                    && !matches!(
                        k.as_str(),
                        "invocation" | "exception" | "warnings" | "deprecations"
                    )
            });
            if self.verbosity < 3 {
                m.remove("diff");
            }
            if how.debug {
                // Ansible's `_clean_results` for debug: `msg` stands alone,
                // else the variable without the status keys.
                if m.contains_key("msg") {
                    m.retain(|k, _| {
                        matches!(
                            k.as_str(),
                            "msg" | "exception" | "warnings" | "deprecations"
                        )
                    });
                } else {
                    for k in [
                        "changed",
                        "failed",
                        "skipped",
                        "invocation",
                        "skip_reason",
                        "ansible_loop_var",
                        "ansible_index_var",
                        "ansible_loop",
                    ] {
                        m.remove(k);
                    }
                }
            }
            // ansible-core's CallbackTaskResult leaves these out: the
            // status is the line's own word.
            m.remove("failed");
            m.remove("skipped");
            // Internal keys go at every depth (`strip_internal_keys`).
            for v in m.values_mut() {
                strip_internal_keys(v);
            }
        }
        python_json(&r, (how.indent || self.verbosity > 2).then_some(4))
    }

    pub fn recap(&mut self, stats: &BTreeMap<String, HostStats>) -> io::Result<()> {
        let p = self.palette;
        self.banner("PLAY RECAP")?;
        for (host, s) in stats {
            let host_colour = if s.failures > 0 || s.unreachable > 0 {
                RED
            } else if s.changed > 0 {
                YELLOW
            } else {
                GREEN
            };
            let col = |lead: &str, n: u32, colour: &str| {
                let text = format!("{lead}={n:<4}");
                if n > 0 { p.paint(colour, &text) } else { text }
            };
            let host_text = if p.on {
                // Ansible pads the coloured name to 37 characters.
                format!("{:<37}", p.paint(host_colour, host))
            } else {
                format!("{host:<26}")
            };
            writeln!(
                self.out,
                "{host_text} : {} {} {} {} {} {} {}",
                col("ok", s.ok, GREEN),
                col("changed", s.changed, YELLOW),
                col("unreachable", s.unreachable, BRIGHT_RED),
                col("failed", s.failures, RED),
                col("skipped", s.skipped, CYAN),
                col("rescued", s.rescued, BRIGHT_PURPLE),
                col("ignored", s.ignored, BRIGHT_PURPLE),
            )?;
        }
        writeln!(self.out)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A failed task's message as ansible-core's report opens it.
fn task_failed(action: &str, msg: &str) -> String {
    if msg.starts_with("Task failed:") {
        msg.to_owned()
    } else if is_action_plugin(action) {
        format!("Task failed: Action failed: {msg}")
    } else {
        format!("Task failed: Module failed: {msg}")
    }
}

/// Python's `textwrap.shorten`: whitespace runs become one space, and a
/// text longer than `width` loses its last words for ` [...]`.
fn shorten(text: &str, width: usize) -> String {
    const PLACEHOLDER: &str = " [...]";
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() <= width {
        return joined;
    }
    let mut out = String::new();
    for word in words {
        let grown = if out.is_empty() {
            word.chars().count()
        } else {
            out.chars().count() + 1 + word.chars().count()
        };
        if grown + PLACEHOLDER.len() > width {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    format!("{out}{PLACEHOLDER}")
}

/// An error report's `Origin:` line and the source lines around it (just
/// the file for a whole-file origin, line 0).
fn push_origin(report: &mut String, origin: Option<Origin<'_>>) {
    match origin {
        None => {}
        Some((path, 0, _)) => report.push_str(&format!("Origin: {}\n", path.display())),
        Some((path, line, col)) => {
            report.push_str(&format!("Origin: {}:{line}:{col}\n", path.display()));
            let context = source_context(path, line, col);
            if !context.is_empty() {
                report.push('\n');
                for l in context {
                    report.push_str(&l);
                    report.push('\n');
                }
            }
        }
    }
}

/// The lines Ansible shows around an error: up to two lines before the
/// target line, each labelled with its number, and a caret at the column.
fn source_context(path: &Path, line: usize, col: usize) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let start = line.saturating_sub(3);
    let lines: Vec<&str> = text.lines().skip(start).take(line - start).collect();
    if line == 0 || lines.len() != line - start {
        return Vec::new();
    }
    const MAX_WIDTH: usize = 120;
    const MARKER: &str = "...";
    let width = line.to_string().len();
    let max_len = MAX_WIDTH - width - 1;
    let mut usable = max_len;
    let mut out: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut l = l.replace('\t', " ");
            if l.chars().count() > max_len {
                l = l.chars().take(max_len - MARKER.len()).collect::<String>() + MARKER;
                usable = max_len - MARKER.len();
            }
            let sep = if l.is_empty() { "" } else { " " };
            format!("{:>width$}{sep}{l}", start + i + 1)
        })
        .collect();
    if col >= 1 && col <= usable {
        let label = format!("column {col}");
        let marker = if col - 1 + 2 + label.len() > max_len {
            // No room after the caret: the label goes before it.
            format!(
                "{}{label} ^",
                " ".repeat((col - 1).saturating_sub(label.len() + 1))
            )
        } else {
            format!("{}^ {label}", " ".repeat(col - 1))
        };
        out.push(format!("{} {marker}", " ".repeat(width)));
    }
    out
}

fn is_debug(action: &str) -> bool {
    matches!(
        action,
        "debug" | "ansible.builtin.debug" | "ansible.legacy.debug"
    )
}

/// Actions that run on the controller in Ansible, whose own failures it
/// reports as "Action failed".
fn is_action_plugin(action: &str) -> bool {
    let short = action.rsplit('.').next().unwrap_or(action);
    matches!(
        short,
        "assert"
            | "fail"
            | "debug"
            | "set_fact"
            | "include_vars"
            | "pause"
            | "raw"
            | "script"
            | "fetch"
            | "validate_argument_spec"
    )
}

/// How a result is dumped.
#[derive(Debug, Clone, Copy, Default)]
struct Dump {
    /// `_ansible_verbose_always`: shown indented even without `-v`.
    indent: bool,
    /// Debug results are cleaned as Ansible's default callback does.
    debug: bool,
}

/// Python's `repr()` of a JSON value, as Ansible shows loop items.
pub fn python_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
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
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
            out.push(quote);
            out
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        python_repr(&Value::String(k.clone())),
                        python_repr(v)
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// `web1 -> db1` for a result of a task delegated to another host, with
/// the address in brackets when it differs (`web1 -> db1(10.0.0.5)`), as
/// ansible-core's `host_label`; skips show the host alone.
fn host_label(host: &str, status: Status, result: &Value) -> String {
    let Some(vars) = result.get("_ansible_delegated_vars") else {
        return host.to_owned();
    };
    let name = vars.get("ansible_delegated_host").and_then(Value::as_str);
    let Some(name) = name.filter(|_| status != Status::Skipped) else {
        return host.to_owned();
    };
    match vars.get("ansible_host").and_then(Value::as_str) {
        Some(address) if address != name => format!("{host} -> {name}({address})"),
        _ => format!("{host} -> {name}"),
    }
}

/// Python's `json.dumps(v, sort_keys=True, ensure_ascii=False, indent=i)`.
pub fn python_json(v: &Value, indent: Option<usize>) -> String {
    let mut out = String::new();
    write_py(&mut out, v, indent, 0);
    out
}

fn write_py(out: &mut String, v: &Value, indent: Option<usize>, level: usize) {
    let newline = |out: &mut String, level: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, level + 1);
                write_py(out, item, indent, level + 1);
            }
            newline(out, level);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, level + 1);
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                write_py(out, &map[k], indent, level + 1);
            }
            newline(out, level);
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Drops `_ansible_` keys from mappings at any depth, as ansible-core's
/// `strip_internal_keys` does before a result is shown.
fn strip_internal_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with("_ansible_"));
            m.values_mut().for_each(strip_internal_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_internal_keys),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines over 120 columns are cut with `...` as ansible-core's
    /// SourceContext does, and a caret past the cut is left out.
    #[test]
    fn long_source_lines_are_cut_like_ansible() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.yml");
        let long = format!("      msg: {}", "x".repeat(130));
        std::fs::write(&path, format!("a\n{long}\n  - b: 1\n")).unwrap();
        let context = source_context(&path, 3, 5);
        assert_eq!(context[1], format!("2 {}...", &long[..115]));
        assert_eq!(context[3], "      ^ column 5");
        assert_eq!(source_context(&path, 2, 117).len(), 2);
    }

    #[test]
    fn banners_results_and_recap_look_like_ansible() {
        let mut buf = Vec::new();
        let mut d = Display::new(&mut buf, 0, Palette::plain());
        d.banner("PLAY [demo]").unwrap();
        d.banner("TASK [debug]").unwrap();
        let debug =
            serde_json::json!({"changed": false, "msg": "hi", "_ansible_verbose_always": true});
        d.result("localhost", "debug", Status::Ok, false, &debug)
            .unwrap();
        let failed = serde_json::json!({"changed": true, "rc": 1, "cmd": ["false"], "msg": "non-zero return code", "_ansible_no_log": false});
        d.result("web1", "command", Status::Failed, true, &failed)
            .unwrap();
        d.result("web1", "file", Status::Changed, false, &failed)
            .unwrap();
        let mut stats = BTreeMap::new();
        stats.insert(
            "localhost".to_owned(),
            HostStats {
                ok: 2,
                changed: 1,
                ..HostStats::default()
            },
        );
        d.recap(&stats).unwrap();
        expect_test::expect![[r#"

            PLAY [demo] ********************************************************************

            TASK [debug] *******************************************************************
            ok: [localhost] => {
                "msg": "hi"
            }
            fatal: [web1]: FAILED! => {"changed": true, "cmd": ["false"], "msg": "non-zero return code", "rc": 1}
            ...ignoring
            changed: [web1]

            PLAY RECAP *********************************************************************
            localhost                  : ok=2    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   

        "#]]
        .assert_eq(&String::from_utf8(buf).unwrap());
    }
}
