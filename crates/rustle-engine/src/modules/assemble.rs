//! `assemble`: a file made of the fragments in a directory of the host,
//! in name order, as ansible-core's assemble.py makes it: a newline after
//! a fragment that lacks one, `delimiter` (escapes decoded, newline-ended)
//! between fragments, `regexp` and `ignore_hidden` to choose them. The file
//! is replaced only when its SHA-1 differs (after `validate`), then its
//! attributes are set.

use regex::Regex;
use rustle_format::Vars;
use serde_json::json;

use super::fileattrs::{
    add_path_info, backup_local, check_file_attrs, io_error, stat, temp_beside, validate,
};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;
use crate::util::escape::escape_decode;
use crate::util::sha1::{md5_hex, sha1_hex};

pub struct Assemble;

impl Module for Assemble {
    fn params(&self) -> &'static [&'static str] {
        &[
            "src",
            "dest",
            "delimiter",
            "backup",
            "remote_src",
            "regexp",
            "ignore_hidden",
            "validate",
            "decrypt",
            "mode",
            "owner",
            "group",
            "unsafe_writes",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let src = args.path(&["src"], ctx)?;
        let dest = args.path(&["dest"], ctx)?;
        if !args.bool("remote_src", true)? {
            return Err(ModuleError::new(
                "rustle runs assemble with fragments on the host only (remote_src: true); \
                 fragments on the controller (remote_src: false) are not supported yet",
            ));
        }
        match stat(ctx, &src, true)? {
            None => return Err(ModuleError::new(format!("Source ({src}) does not exist"))),
            Some(s) if s.kind != FileKind::Dir => {
                return Err(ModuleError::new(format!(
                    "Source ({src}) is not a directory"
                )));
            }
            Some(_) => {}
        }
        let regexp = match args.string(&["regexp"])? {
            Some(re) => Some(
                Regex::new(&re)
                    .map_err(|e| ModuleError::new(format!("Invalid Regexp ({e}) in \"{re}\"")))?,
            ),
            None => None,
        };
        let validate = args.string(&["validate"])?;
        if let Some(cmd) = validate.as_deref().filter(|c| !c.contains("%s")) {
            return Err(ModuleError::new(format!("validate must contain %s: {cmd}")));
        }
        let content = assemble(
            ctx,
            &src,
            args.string(&["delimiter"])?.as_deref(),
            regexp.as_ref(),
            args.bool("ignore_hidden", false)?,
        )?;
        let mut r = Vars::new();
        r.insert("src".into(), json!(src));
        r.insert("dest".into(), json!(dest));
        let checksum = sha1_hex(&content);
        r.insert("checksum".into(), json!(checksum));
        r.insert("md5sum".into(), json!(md5_hex(&content)));
        let old = match stat(ctx, &dest, true)? {
            Some(_) => Some(
                ctx.target
                    .read_file(&dest)
                    .map_err(|e| io_error("reading", &dest, e))?,
            ),
            None => None,
        };
        let mut changed = false;
        if old.as_deref().map(sha1_hex) != Some(checksum) {
            if let Some(cmd) = &validate {
                validated(ctx, cmd, &dest, &content)?;
            }
            // As assemble.py, the backup is made in check mode too.
            if args.bool("backup", false)? && old.is_some() {
                r.insert("backup_file".into(), json!(backup_local(ctx, &dest)?));
            }
            if !ctx.check {
                ctx.target
                    .write_file(&dest, &content, None)
                    .map_err(|e| io_error("writing", &dest, e))?;
            }
            changed = true;
        }
        let mut msg = String::new();
        check_file_attrs(ctx, &dest, args, &mut changed, &mut msg)?;
        r.insert("changed".into(), json!(changed));
        r.insert("msg".into(), json!("OK"));
        add_path_info(ctx, &mut r)?;
        Ok(Outcome::new(r))
    }
}

/// assemble.py's `assemble_from_fragments`.
fn assemble(
    ctx: &ModuleCtx,
    src: &str,
    delimiter: Option<&str>,
    regexp: Option<&Regex>,
    ignore_hidden: bool,
) -> Result<Vec<u8>, ModuleError> {
    let mut names = ctx
        .target
        .list_dir(src)
        .map_err(|e| io_error("listing", src, e))?;
    names.sort();
    let delimiter = delimiter.filter(|d| !d.is_empty()).map(escape_decode);
    let mut out = Vec::new();
    let (mut delimit, mut add_newline) = (false, false);
    for name in names {
        if regexp.is_some_and(|re| !re.is_match(&name)) {
            continue;
        }
        let path = format!("{}/{name}", src.trim_end_matches('/'));
        let is_file = stat(ctx, &path, true)?.is_some_and(|s| s.kind == FileKind::File);
        if !is_file || (ignore_hidden && name.starts_with('.')) {
            continue;
        }
        let fragment = ctx
            .target
            .read_file(&path)
            .map_err(|e| io_error("reading", &path, e))?;
        if add_newline {
            out.push(b'\n');
        }
        if delimit && let Some(delimiter) = &delimiter {
            out.extend_from_slice(delimiter);
            if delimiter.last() != Some(&b'\n') {
                out.push(b'\n');
            }
        }
        out.extend_from_slice(&fragment);
        delimit = true;
        add_newline = !fragment.ends_with(b"\n");
    }
    Ok(out)
}

/// `validate`'s command (fileattrs' `validate`) run on the assembled file,
/// written beside `dest`; a failure is assemble.py's `fail_json`, its
/// message alone.
fn validated(ctx: &ModuleCtx, cmd: &str, dest: &str, content: &[u8]) -> Result<(), ModuleError> {
    let tmp = temp_beside(dest);
    ctx.target
        .write_file(&tmp, content, None)
        .map_err(|e| io_error("writing", &tmp, e))?;
    let checked = validate(ctx, cmd, &tmp);
    let _ = ctx.target.remove(&tmp);
    match checked? {
        None => Ok(()),
        Some(failed) => Err(ModuleError::new(format!(
            "failed to validate: rc:{} error:{}",
            failed["exit_status"],
            failed["stderr"].as_str().unwrap_or_default()
        ))),
    }
}
