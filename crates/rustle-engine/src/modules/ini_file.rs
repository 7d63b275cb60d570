//! `ini_file` (community.general): one option of one section of an INI
//! file set, added, or removed (or a whole section), behaving as
//! community.general's ini_file.py does line for line: the same matching
//! of options (commented ones too, unless `modify_inactive_option` is
//! off), the same places new lines go, the same messages, and its quirks
//! (a new file starts with an empty line; a missing final newline is
//! added and counts as a change).
//!
//! The file is edited as its lines (Python's universal newlines: `\r\n`
//! and `\r` read as `\n`, a UTF-8 BOM dropped) between two sentinel lines,
//! a section nobody names before the first line (the options outside any
//! section) and a lone `[` after the last.

use regex::Regex;
use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::fileattrs::{FileArgs, backup_local, failed_rc, io_error, stat};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;

pub struct IniFile;

/// The section before the first one (ini_file.py's own name for it).
const NO_SECTION: &str = "ad01e11446efb704fcdbdb21f2c43757423d91c5";

impl Module for IniFile {
    fn params(&self) -> &'static [&'static str] {
        &[
            "path",
            "dest",
            "section",
            "section_has_values",
            "option",
            "value",
            "values",
            "backup",
            "state",
            "exclusive",
            "no_extra_spaces",
            "ignore_spaces",
            "allow_no_value",
            "modify_inactive_option",
            "create",
            "follow",
            "mode",
            "owner",
            "group",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let path = args.path(&["path", "dest"], ctx)?;
        args.exclusive("value", "values")?;
        let state = args.choice("state", &["absent", "present"])?;
        let present = state.as_deref() != Some("absent");
        let allow_no_value = args.bool("allow_no_value", false)?;
        let value = args.string(&["value"])?;
        let values = args.list(&["values"])?;
        if present
            && !allow_no_value
            && value.is_none()
            && values.as_ref().is_none_or(Vec::is_empty)
        {
            return Err(ModuleError::new(
                "Parameter 'value(s)' must be defined if state=present and allow_no_value=False.",
            ));
        }
        let values = match value {
            Some(v) => vec![v],
            None => values.unwrap_or_default(),
        };
        let edit = Edit {
            section: args.string(&["section"])?,
            conditions: conditions(args.get("section_has_values"))?,
            option: args.string(&["option"])?,
            values,
            present,
            exclusive: args.bool("exclusive", true)?,
            assignment: if args.bool("no_extra_spaces", false)? {
                "="
            } else {
                " = "
            },
            ignore_spaces: args.bool("ignore_spaces", false)?,
            allow_no_value,
            inactive_too: args.bool("modify_inactive_option", true)?,
        };
        let mut target = path.clone();
        if args.bool("follow", false)?
            && stat(ctx, &path, false)?.is_some_and(|s| s.kind == FileKind::Link)
        {
            target = ctx
                .target
                .real_path(&path)
                .map_err(|e| io_error("reading", &path, e))?;
        }
        let lines = match stat(ctx, &target, true)? {
            Some(_) => read_lines(ctx, &target)?,
            None => {
                if !args.bool("create", true)? {
                    return Ok(failed_rc(
                        format!("Destination {target} does not exist!"),
                        257,
                    ));
                }
                let parent = std::path::Path::new(&target)
                    .parent()
                    .map(|p| p.display().to_string())
                    .filter(|p| !p.is_empty());
                if let Some(parent) = parent
                    && !ctx.check
                    && stat(ctx, &parent, true)?.is_none()
                {
                    ctx.target
                        .create_dir_all(&parent, None)
                        .map_err(|e| io_error("creating", &parent, e))?;
                }
                Vec::new()
            }
        };
        let before = lines.concat();
        let (lines, mut changed, msg) = edit.apply(lines)?;
        let after = lines.concat();
        let mut backup_file = None;
        if changed && !ctx.check {
            if args.bool("backup", false)? {
                // module_utils' backup_local: "" when there was no file.
                backup_file = Some(match stat(ctx, &target, true)? {
                    Some(_) => backup_local(ctx, &target)?,
                    None => String::new(),
                });
            }
            ctx.target
                .write_file(&target, after.as_bytes(), None)
                .map_err(|e| io_error("writing", &target, e))?;
        }
        if !ctx.check && stat(ctx, &path, true)?.is_some() {
            changed = FileArgs::read(args)?.apply(ctx, &path, changed, None)?;
        }
        let header = format!("{path} (content)");
        let mut r = Vars::new();
        r.insert("changed".into(), json!(changed));
        r.insert(
            "diff".into(),
            json!({
                "before": if ctx.diff { before } else { String::new() },
                "after": if ctx.diff { after } else { String::new() },
                "before_header": header,
                "after_header": header,
            }),
        );
        r.insert("msg".into(), json!(msg));
        r.insert("path".into(), json!(path));
        if let Some(b) = backup_file {
            r.insert("backup_file".into(), json!(b));
        }
        Ok(Outcome::new(r))
    }
}

/// `section_has_values`: options (with one of some values, or any value)
/// the section to pick must hold.
struct Condition {
    option: String,
    values: Vec<String>,
}

fn conditions(spec: Option<&Json>) -> Result<Option<Vec<Condition>>, ModuleError> {
    let Some(Json::Array(items)) = spec else {
        return Ok(None);
    };
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    items
        .iter()
        .map(|item| {
            let option = item
                .get("option")
                .filter(|o| !o.is_null())
                .map(text)
                .ok_or_else(|| {
                    ModuleError::new(
                        "missing required arguments: option found in section_has_values",
                    )
                })?;
            let values = match (item.get("value"), item.get("values")) {
                (Some(v), _) if !v.is_null() => vec![text(v)],
                (_, Some(Json::Array(vs))) => vs.iter().map(text).collect(),
                _ => Vec::new(),
            };
            Ok(Condition { option, values })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The file's lines, each with its `\n`, as Python's text mode reads them.
fn read_lines(ctx: &ModuleCtx, path: &str) -> Result<Vec<String>, ModuleError> {
    let bytes = ctx
        .target
        .read_file(path)
        .map_err(|e| io_error("reading", path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    Ok(text.split_inclusive('\n').map(str::to_owned).collect())
}

/// A line as matched: without its `\n`, so `$` is the end of the line as
/// Python's `$` is before a final newline.
fn bare(line: &str) -> &str {
    line.strip_suffix('\n').unwrap_or(line)
}

/// ini_file.py's option patterns: group 2 the comment mark (empty for
/// the active-only pattern), group 8 the value.
struct OptionPattern {
    any: Regex,
    active: Regex,
}

impl OptionPattern {
    fn new(option: &str) -> Result<OptionPattern, ModuleError> {
        let o = regex::escape(option);
        let compile = |re: String| {
            Regex::new(&re).map_err(|e| ModuleError::new(format!("option pattern: {e}")))
        };
        Ok(OptionPattern {
            any: compile(format!(
                r"^( |\t)*([#;]?)( |\t)*({o})( |\t)*(=|$)( |\t)*(.*)"
            ))?,
            active: compile(format!(r"^()()( |\t)*({o})( |\t)*(=|$)( |\t)*(.*)"))?,
        })
    }

    /// The value of `line` when it sets the option (commented too when
    /// `inactive_too`), and whether it is commented out.
    fn value<'l>(&self, line: &'l str, inactive_too: bool) -> Option<(&'l str, bool)> {
        let re = if inactive_too {
            &self.any
        } else {
            &self.active
        };
        let caps = re.captures(bare(line))?;
        let commented = caps.get(2).is_some_and(|m| !m.is_empty());
        Some((caps.get(8).map_or("", |m| m.as_str()), commented))
    }
}

/// What to do to the file.
struct Edit {
    section: Option<String>,
    conditions: Option<Vec<Condition>>,
    option: Option<String>,
    values: Vec<String>,
    present: bool,
    exclusive: bool,
    assignment: &'static str,
    ignore_spaces: bool,
    allow_no_value: bool,
    inactive_too: bool,
}

/// The lines of one section being edited, and which were set.
struct SectionLines<'e> {
    lines: Vec<String>,
    set: Vec<bool>,
    pattern: &'e OptionPattern,
    ignore_spaces: bool,
    changed: bool,
    msg: &'static str,
}

impl SectionLines<'_> {
    /// ini_file.py's `update_section_line`: puts `new` at `index` unless
    /// that changes nothing (with `ignore_spaces`, nothing but spaces
    /// around `=` of an active line); marks the line set either way.
    fn update(&mut self, index: usize, new: String) {
        let old = &self.lines[index];
        let differs = match self.pattern.value(old, true) {
            Some((old_value, false)) if self.ignore_spaces => {
                self.pattern.value(&new, true).map(|(v, _)| v) != Some(old_value)
            }
            _ => *old != new,
        };
        if differs {
            self.lines[index] = new;
            self.changed = true;
            self.msg = "option changed";
        }
        self.set[index] = true;
    }
}

impl Edit {
    fn line(&self, option: &str, value: &str) -> String {
        format!("{option}{}{value}\n", self.assignment)
    }

    /// The edited lines, whether they changed, and ini_file.py's message.
    fn apply(
        &self,
        mut lines: Vec<String>,
    ) -> Result<(Vec<String>, bool, &'static str), ModuleError> {
        let mut values: Vec<String> = Vec::new();
        for v in &self.values {
            if !values.contains(v) {
                values.push(v.clone());
            }
        }
        let mut changed = false;
        if lines.is_empty() {
            lines.push("\n".to_owned());
        }
        if let Some(last) = lines.last_mut()
            && !last.ends_with('\n')
        {
            last.push('\n');
            changed = true;
        }
        lines.insert(0, format!("[{NO_SECTION}]"));
        lines.push("[".to_owned());
        let section = match self.section.as_deref() {
            Some(s) if !s.is_empty() => s,
            _ => NO_SECTION,
        };
        let header = Regex::new(&format!(r"^\[\s*{}\s*]", regex::escape(section.trim())))
            .map_err(|e| ModuleError::new(format!("section pattern: {e}")))?;
        let pattern = match &self.option {
            Some(o) => Some(OptionPattern::new(o)?),
            None => None,
        };

        // The section: the first of that name whose lines meet the conditions.
        let (mut within, mut start, mut end) = (false, 0, 0);
        for (index, line) in lines.iter().enumerate() {
            if within && line.starts_with('[') {
                if self.meets_conditions(&lines[start..index])? {
                    end = index;
                    break;
                }
                (within, start, end) = (false, 0, 0);
            }
            if header.is_match(line) {
                within = true;
                start = index;
            }
        }
        let after_lines = lines.split_off(end);
        let section_lines = lines.split_off(start);
        let before_lines = lines;

        let mut msg = "OK";
        let mut section_lines = match &pattern {
            Some(pattern) => {
                let mut s = SectionLines {
                    set: vec![false; section_lines.len()],
                    lines: section_lines,
                    pattern,
                    ignore_spaces: self.ignore_spaces,
                    changed,
                    msg,
                };
                let option = self.option.as_deref().unwrap_or_default();
                let no_value_present = if self.present {
                    self.set_present(&mut s, option, &mut values)
                } else {
                    false
                };
                if self.present {
                    self.add_missing(&mut s, option, &values, no_value_present);
                } else {
                    self.remove(&mut s, &values);
                }
                (changed, msg) = (s.changed, s.msg);
                s.lines
            }
            None if !self.present && !section_lines.is_empty() => {
                changed = true;
                msg = "section removed";
                Vec::new()
            }
            None => section_lines,
        };

        let mut lines = before_lines;
        lines.append(&mut section_lines);
        lines.extend(after_lines);
        lines.remove(0);
        lines.pop();

        if !within && self.present {
            lines.push(format!("[{section}]\n"));
            msg = "section and option added";
            for c in self.conditions.iter().flatten() {
                if Some(&c.option) != self.option.as_ref() {
                    if !c.values.is_empty() {
                        lines.extend(c.values.iter().map(|v| self.line(&c.option, v)));
                    } else if self.allow_no_value {
                        lines.push(format!("{}\n", c.option));
                    }
                } else if !self.exclusive {
                    for v in &c.values {
                        if !values.contains(v) {
                            values.push(v.clone());
                        }
                    }
                }
            }
            match &self.option {
                Some(option) if !values.is_empty() => {
                    lines.extend(values.iter().map(|v| self.line(option, v)));
                }
                Some(option) if self.allow_no_value => lines.push(format!("{option}\n")),
                _ => msg = "only section added",
            }
            changed = true;
        }
        Ok((lines, changed, msg))
    }

    /// Whether a section's lines hold every `section_has_values` option
    /// (with one of its values, when it names some).
    fn meets_conditions(&self, lines: &[String]) -> Result<bool, ModuleError> {
        for c in self.conditions.iter().flatten() {
            let pattern = OptionPattern::new(&c.option)?;
            let found = lines.iter().any(|l| {
                pattern
                    .value(l, true)
                    .is_some_and(|(v, _)| c.values.is_empty() || c.values.iter().any(|x| x == v))
            });
            if !found {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// `state=present`: lines already giving one of `values` rewritten in
    /// the module's format (and those values done), then, with
    /// `exclusive`, the other lines of the option given the values left
    /// or removed. Returns whether a valueless option line is there.
    fn set_present(&self, s: &mut SectionLines, option: &str, values: &mut Vec<String>) -> bool {
        let mut no_value_present = false;
        for index in 0..s.lines.len() {
            let Some((found, _)) = s.pattern.value(&s.lines[index], self.inactive_too) else {
                continue;
            };
            let found = found.to_owned();
            if let Some(at) = values.iter().position(|v| *v == found) {
                let new = if found.is_empty() && self.allow_no_value {
                    no_value_present = true;
                    format!("{option}\n")
                } else {
                    self.line(option, &found)
                };
                s.update(index, new);
                values.remove(at);
            } else if values.is_empty() && self.allow_no_value {
                s.update(index, format!("{option}\n"));
                no_value_present = true;
                break;
            }
        }
        if self.exclusive && !self.allow_no_value {
            if !values.is_empty() {
                for index in 0..s.lines.len() {
                    if !s.set[index]
                        && s.pattern
                            .value(&s.lines[index], self.inactive_too)
                            .is_some()
                    {
                        let value = values.remove(0);
                        s.update(index, self.line(option, &value));
                        if values.is_empty() {
                            break;
                        }
                    }
                }
            }
            // The section's first line is its header: never an option.
            for index in (1..s.lines.len()).rev() {
                if !s.set[index]
                    && s.pattern
                        .value(&s.lines[index], self.inactive_too)
                        .is_some()
                {
                    s.lines.remove(index);
                    s.set.remove(index);
                    s.changed = true;
                    s.msg = "option changed";
                }
            }
        }
        no_value_present
    }

    /// `state=present`: the values left go after the section's last line
    /// that is neither blank nor a comment.
    fn add_missing(
        &self,
        s: &mut SectionLines,
        option: &str,
        values: &[String],
        no_value_present: bool,
    ) {
        let quiet = Regex::new(r"^[ \t]*([#;].*)?$").expect("a valid pattern");
        let Some(at) = (1..=s.lines.len())
            .rev()
            .find(|&i| !quiet.is_match(bare(&s.lines[i - 1])))
        else {
            return;
        };
        if !values.is_empty() {
            for v in values.iter().rev() {
                s.lines.insert(at, self.line(option, v));
            }
            s.msg = "option added";
            s.changed = true;
        } else if self.allow_no_value && !no_value_present {
            s.lines.insert(at, format!("{option}\n"));
            s.msg = "option added";
            s.changed = true;
        }
    }

    /// `state=absent` with an option: its active lines removed (only
    /// those with one of `values` when not `exclusive`).
    fn remove(&self, s: &mut SectionLines, values: &[String]) {
        if !self.exclusive && values.is_empty() {
            return;
        }
        let kept: Vec<String> = s
            .lines
            .iter()
            .filter(|l| match s.pattern.value(l, false) {
                Some((v, _)) => !self.exclusive && !values.iter().any(|x| x == v),
                None => true,
            })
            .cloned()
            .collect();
        if kept != s.lines {
            s.lines = kept;
            s.changed = true;
            s.msg = "option changed";
        }
    }
}
