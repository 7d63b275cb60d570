//! `replace`: every match of `regexp` (multi-line: `^`/`$` at each line) in
//! a file, or in the part of it between `after` and `before`, replaced by
//! `replace` (with `\1`/`\g<name>` backreferences), as ansible-core's
//! replace.py does: "N replacements made", rc 257 for a missing file.

use regex::Regex;
use rustle_format::Vars;
use serde_json::json;

use super::fileattrs::{backup_local, check_file_attrs, failed_rc, io_error, stat};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;
use crate::util::pyre::expand;

pub struct Replace;

impl Module for Replace {
    fn params(&self) -> &'static [&'static str] {
        &[
            "path", "dest", "destfile", "name", "regexp", "replace", "after", "before", "backup",
            "encoding", "mode", "owner", "group",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let path = args.path(&["path", "dest", "destfile", "name"], ctx)?;
        let regexp = args.required(&["regexp"])?;
        let replacement = args.string(&["replace"])?.unwrap_or_default();
        match stat(ctx, &path, true)? {
            Some(s) if s.kind == FileKind::Dir => {
                return Ok(failed_rc(format!("Path {path} is a directory !"), 256));
            }
            None => return Ok(failed_rc(format!("Path {path} does not exist !"), 257)),
            Some(_) => {}
        }
        let bytes = ctx
            .target
            .read_file(&path)
            .map_err(|e| io_error("reading", &path, e))?;
        let contents = String::from_utf8_lossy(&bytes).into_owned();
        let compile = |re: &str| {
            Regex::new(re).map_err(|e| {
                ModuleError::new(format!("Unable to process replace due to error: {e}"))
            })
        };
        let section_re = match (args.string(&["after"])?, args.string(&["before"])?) {
            (Some(a), Some(b)) => Some(format!("(?s){a}(?P<subsection>.*?){b}")),
            (Some(a), None) => Some(format!("(?s){a}(?P<subsection>.*)")),
            (None, Some(b)) => Some(format!("(?s)(?P<subsection>.*){b}")),
            (None, None) => None,
        };
        let mut r = Vars::new();
        r.insert("rc".into(), json!(0));
        let (start, end) = match &section_re {
            Some(pattern) => match compile(pattern)?.captures(&contents) {
                Some(caps) => {
                    let m = caps.name("subsection").expect("the pattern names it");
                    (m.start(), m.end())
                }
                None => {
                    let shown = pattern.trim_start_matches("(?s)");
                    r.insert(
                        "msg".into(),
                        json!(format!(
                            "Pattern for before/after params did not match the given file: {shown}"
                        )),
                    );
                    r.insert("changed".into(), json!(false));
                    return Ok(Outcome::new(r));
                }
            },
            None => (0, contents.len()),
        };
        let section = &contents[start..end];
        let re = compile(&format!("(?m){regexp}"))?;
        let mut count = 0;
        let replaced = re.replace_all(section, |caps: &regex::Captures| {
            count += 1;
            expand(caps, &replacement)
        });
        let mut changed = count > 0 && replaced != section;
        let mut msg = String::new();
        if changed {
            let after = format!("{}{replaced}{}", &contents[..start], &contents[end..]);
            msg = format!("{count} replacements made");
            if ctx.diff {
                r.insert(
                    "diff".into(),
                    json!({"before_header": path, "before": contents, "after_header": path, "after": after}),
                );
            }
            if !ctx.check {
                if args.bool("backup", false)? {
                    let backup = backup_local(ctx, &path)?;
                    r.insert("backup_file".into(), json!(backup));
                }
                ctx.target
                    .write_file(&path, after.as_bytes(), None)
                    .map_err(|e| io_error("writing", &path, e))?;
            }
        }
        check_file_attrs(ctx, &path, args, &mut changed, &mut msg)?;
        r.insert("msg".into(), json!(msg));
        r.insert("changed".into(), json!(changed));
        Ok(Outcome::new(r))
    }
}
