//! `lineinfile`: makes sure one line is in a file (replacing the line a
//! `regexp` or `search_string` finds, else inserting it after/before a
//! matching line, at BOF or at EOF), or that no matching line is. It
//! follows ansible-core's lineinfile.py step by step: the same matching
//! order, the same messages, the same `diff` list (content, then file
//! attributes), and a mode set after the content.
//!
//! Regexps use the `regex` crate (no look-around or backreferences inside
//! the pattern) and are matched against each line without its newline, so
//! `$` means end of line as it does in Python's `re.search`.

use regex::Regex;
use rustle_format::Vars;
use serde_json::json;

use super::fileattrs::{backup_local, check_file_attrs, failed_rc as failed, io_error, stat};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;
use crate::util::pyre::expand;

pub struct LineInFile;

impl Module for LineInFile {
    fn params(&self) -> &'static [&'static str] {
        &[
            "path",
            "dest",
            "destfile",
            "name",
            "state",
            "regexp",
            "regex",
            "search_string",
            "line",
            "value",
            "insertafter",
            "insertbefore",
            "backrefs",
            "create",
            "backup",
            "firstmatch",
            "mode",
            "owner",
            "group",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let path = args.path(&["path", "dest", "destfile", "name"], ctx)?;
        let spec = Spec::new(args)?;
        if stat(ctx, &path, true)?.is_some_and(|s| s.kind == FileKind::Dir) {
            return Ok(failed(format!("Path {path} is a directory !"), 256));
        }
        match args.choice("state", &["absent", "present"])?.as_deref() {
            Some("absent") => absent(ctx, args, &path, &spec),
            _ => present(ctx, args, &path, &spec),
        }
    }
}

/// What to look for and what to put.
struct Spec {
    regexp: Option<Regex>,
    search: Option<String>,
    line: Option<String>,
    after: Option<String>,
    before: Option<String>,
    backrefs: bool,
    create: bool,
    firstmatch: bool,
}

impl Spec {
    fn new(args: &Args) -> Result<Spec, ModuleError> {
        args.exclusive("insertbefore", "insertafter")?;
        args.exclusive("regexp", "search_string")?;
        let backrefs = args.bool("backrefs", false)?;
        if backrefs && args.get("search_string").is_some() {
            return Err(ModuleError::new(
                "parameters are mutually exclusive: backrefs|search_string",
            ));
        }
        let regexp = match args.string(&["regexp", "regex"])? {
            Some(re) => Some(compile(&re)?),
            None => None,
        };
        Ok(Spec {
            regexp,
            search: args.string(&["search_string"])?,
            line: args.string(&["line", "value"])?,
            after: args.string(&["insertafter"])?,
            before: args.string(&["insertbefore"])?,
            backrefs,
            create: args.bool("create", false)?,
            firstmatch: args.bool("firstmatch", false)?,
        })
    }

    /// Whether `line` (without its newline) is one `regexp`/`search_string` finds.
    fn finds<'l>(&self, line: &'l str) -> Option<Option<regex::Captures<'l>>> {
        if let Some(re) = &self.regexp {
            return re.captures(line).map(Some);
        }
        match &self.search {
            Some(s) if line.contains(s.as_str()) => Some(None),
            _ => None,
        }
    }
}

fn compile(re: &str) -> Result<Regex, ModuleError> {
    Regex::new(re).map_err(|e| ModuleError::new(format!("regexp '{re}' does not compile: {e}")))
}

/// The file's lines, each with its line ending.
fn read_lines(ctx: &ModuleCtx, path: &str) -> Result<Vec<String>, ModuleError> {
    let bytes = ctx
        .target
        .read_file(path)
        .map_err(|e| io_error("reading", path, e))?;
    Ok(String::from_utf8_lossy(&bytes)
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect())
}

fn bare(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn ends_line(line: &str) -> bool {
    line.ends_with('\n') || line.ends_with('\r')
}

fn present(ctx: &ModuleCtx, args: &Args, path: &str, spec: &Spec) -> ModuleResult {
    let Some(line) = &spec.line else {
        return Err(ModuleError::new("line is required with state=present"));
    };
    if spec.backrefs && spec.regexp.is_none() {
        return Err(ModuleError::new("regexp is required with backrefs=true"));
    }
    let exists = stat(ctx, path, true)?.is_some();
    let mut lines = if exists {
        read_lines(ctx, path)?
    } else if !spec.create {
        return Ok(failed(format!("Destination {path} does not exist !"), 257));
    } else {
        let parent = std::path::Path::new(path)
            .parent()
            .map(|p| p.display().to_string());
        if let Some(parent) = parent.filter(|p| !p.is_empty())
            && !ctx.check
            && stat(ctx, &parent, true)?.is_none()
        {
            ctx.target
                .create_dir_all(&parent, None)
                .map_err(|e| ModuleError::new(format!("Error creating {parent} ({e})")))?;
        }
        Vec::new()
    };
    let before_text = lines.concat();
    let (after, before) = match (&spec.after, &spec.before) {
        (None, None) => (Some("EOF".to_owned()), None),
        (a, b) => (a.clone(), b.clone()),
    };
    let insert_re = match (&after, &before) {
        (Some(a), _) if a != "BOF" && a != "EOF" => Some(compile(a)?),
        (None, Some(b)) if b != "BOF" => Some(compile(b)?),
        _ => None,
    };

    // 1 and 2: the line regexp or search_string finds (the last, or the first).
    let mut found: Option<usize> = None;
    let mut new_line = line.clone();
    for (i, l) in lines.iter().enumerate() {
        if let Some(caps) = spec.finds(bare(l)) {
            found = Some(i);
            if spec.backrefs
                && let Some(caps) = caps
            {
                new_line = expand(&caps, line);
            }
            if spec.firstmatch {
                break;
            }
        }
    }
    // 3: otherwise the exact line, or where insertafter/insertbefore match.
    let mut insert_at: Option<usize> = None;
    if found.is_none() {
        for (i, l) in lines.iter().enumerate() {
            if bare(l) == line {
                found = Some(i);
            } else if insert_re.as_ref().is_some_and(|re| re.is_match(bare(l))) {
                insert_at = Some(if after.is_some() { i + 1 } else { i });
                if spec.firstmatch {
                    break;
                }
            }
        }
    }
    let mut msg = "";
    let plain = format!("{line}\n");
    if let Some(i) = found {
        let replaced = if new_line.ends_with('\n') {
            new_line.clone()
        } else {
            format!("{new_line}\n")
        };
        // (Without regexp or search_string, `found` is an exact line: it is
        // rewritten only when its line ending differs.)
        if lines[i] != replaced {
            lines[i] = replaced;
            msg = "line replaced";
        }
    } else if spec.backrefs {
        // Without a match there is nothing to expand the backrefs from.
    } else if before.as_deref() == Some("BOF") || after.as_deref() == Some("BOF") {
        lines.insert(0, plain);
        msg = "line added";
    } else if after.as_deref() == Some("EOF") || insert_at.is_none() {
        if lines.last().is_some_and(|l| !ends_line(l)) {
            lines.push("\n".to_owned());
        }
        lines.push(plain);
        msg = "line added";
    } else if let Some(at) = insert_at {
        if after.is_some() {
            let neighbour = if at == lines.len() { at - 1 } else { at };
            if bare(&lines[neighbour]) != line {
                lines.insert(at, plain);
                msg = "line added";
            }
        } else {
            lines.insert(at, plain);
            msg = "line added";
        }
    }
    let changed = !msg.is_empty();
    finish(
        ctx,
        args,
        path,
        (before_text, lines),
        (changed, msg.to_owned()),
        exists,
        None,
    )
}

fn absent(ctx: &ModuleCtx, args: &Args, path: &str, spec: &Spec) -> ModuleResult {
    if spec.regexp.is_none() && spec.search.is_none() && spec.line.is_none() {
        return Err(ModuleError::new(
            "one of line, search_string, or regexp is required with state=absent",
        ));
    }
    if stat(ctx, path, true)?.is_none() {
        let mut r = Vars::new();
        r.insert("changed".into(), json!(false));
        r.insert("msg".into(), json!("file not present"));
        return Ok(Outcome::new(r));
    }
    let lines = read_lines(ctx, path)?;
    let before_text = lines.concat();
    let (gone, kept): (Vec<String>, Vec<String>) = lines.into_iter().partition(|l| {
        if spec.regexp.is_some() || spec.search.is_some() {
            spec.finds(bare(l)).is_some()
        } else {
            spec.line.as_deref() == Some(bare(l))
        }
    });
    let changed = !gone.is_empty();
    let msg = if changed {
        format!("{} line(s) removed", gone.len())
    } else {
        String::new()
    };
    finish(
        ctx,
        args,
        path,
        (before_text, kept),
        (changed, msg),
        true,
        Some(gone.len()),
    )
}

/// Writes the lines when they changed (not in check mode), then the mode,
/// and reports as lineinfile does.
fn finish(
    ctx: &ModuleCtx,
    args: &Args,
    path: &str,
    (before_text, lines): (String, Vec<String>),
    (mut changed, mut msg): (bool, String),
    existed: bool,
    found: Option<usize>,
) -> ModuleResult {
    let after_text = lines.concat();
    let content_diff = json!({
        "before": if ctx.diff { before_text } else { String::new() },
        "after": if ctx.diff { after_text.clone() } else { String::new() },
        "before_header": format!("{path} (content)"),
        "after_header": format!("{path} (content)"),
    });
    let mut backup = String::new();
    if changed && !ctx.check {
        if args.bool("backup", false)? && stat(ctx, path, true)?.is_some() {
            backup = backup_local(ctx, path)?;
        }
        ctx.target
            .write_file(path, after_text.as_bytes(), None)
            .map_err(|e| io_error("writing", path, e))?;
    }
    let mut r = Vars::new();
    if ctx.check && !existed {
        r.insert("changed".into(), json!(changed));
        r.insert("msg".into(), json!(msg));
        r.insert("backup".into(), json!(backup));
        r.insert("diff".into(), content_diff);
        return Ok(Outcome::new(r));
    }
    let attr_diff = check_file_attrs(ctx, path, args, &mut changed, &mut msg)?;
    r.insert("changed".into(), json!(changed));
    if let Some(found) = found {
        r.insert("found".into(), json!(found));
    }
    r.insert("msg".into(), json!(msg));
    r.insert("backup".into(), json!(backup));
    r.insert("diff".into(), json!([content_diff, attr_diff]));
    Ok(Outcome::new(r))
}
