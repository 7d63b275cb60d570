//! `copy`: puts bytes (`content`, or a controller file `src`) at `dest`,
//! only when the SHA-1 differs, and sets the mode.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::action::{action_failed, not_found_message};
use super::args::Args;
use super::args::expand_user;
use super::fileattrs::{FileArgs, attrs, backup_local, io_error, stat, temp_beside, validate};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::target::FileKind;
use crate::util::mode::{format_mode, parse_mode};
use crate::util::{pyjson, sha1::sha1_hex};

pub struct Copy;

impl Module for Copy {
    fn params(&self) -> &'static [&'static str] {
        &[
            "src",
            "content",
            "dest",
            "mode",
            "owner",
            "group",
            "force",
            "backup",
            "remote_src",
            "validate",
            "directory_mode",
            "decrypt",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        if let (None, Some(src)) = (args.get("content"), args.string(&["src"])?) {
            if args.bool("remote_src", false)? {
                let src = expand_user(&src, || ctx.target.home());
                if stat(ctx, &src, true)?.is_some_and(|s| s.kind == FileKind::Dir) {
                    return super::copy_dir::from_host(ctx, args, &src);
                }
            } else if ctx.files.find(&src).is_err() {
                if let Some((key, rel)) = ctx.files.find_dir(&src) {
                    return super::copy_dir::from_controller(ctx, args, &src, &key, &rel);
                }
                // copy's action reports the file it did not find as an
                // unexpected failure of its own.
                let msg = not_found_message(ctx, &src, "files");
                return Ok(action_failed(&format!(
                    "Unexpected AnsibleActionFail error: {msg}"
                )));
            }
        }
        let source = read_source(ctx, args)?;
        place(ctx, args, &source)
    }
}

/// The copy module's write of a changed file: the old one backed up
/// (`backup`), the new content checked (`validate`, on a temporary file
/// beside `dest` with `dest`'s extension and the mode), then put in place.
/// `Ok(Err(result))` is the failed validation's result; otherwise the
/// backup's name when one was made.
pub fn install(
    ctx: &ModuleCtx,
    args: &Args,
    dest: &str,
    bytes: &[u8],
    mode: Option<u32>,
    existed: bool,
) -> Result<Result<Option<String>, Vars>, ModuleError> {
    let backup = if existed && args.bool("backup", false)? {
        Some(backup_local(ctx, dest)?)
    } else {
        None
    };
    if let Some(cmd) = args.string(&["validate"])? {
        let tmp = temp_beside(dest);
        ctx.target
            .write_file(&tmp, bytes, mode)
            .map_err(|e| io_error("writing", &tmp, e))?;
        let checked = validate(ctx, &cmd, &tmp);
        let _ = ctx.target.remove(&tmp);
        if let Some(mut failed) = checked? {
            // The action adds the source's checksum to what the module said.
            failed.insert("checksum".into(), json!(sha1_hex(bytes)));
            if let Some(backup) = &backup {
                failed.insert("backup_file".into(), json!(backup));
            }
            return Ok(Err(failed));
        }
    }
    ctx.target
        .write_file(dest, bytes, mode)
        .map_err(|e| io_error("writing", dest, e))?;
    Ok(Ok(backup))
}

/// Puts `source` at `dest` (a directory `dest` gets the source's name)
/// when its SHA-1 differs or nothing is there, and sets `mode`; check mode
/// decides without writing, diff mode reports before and after. Shared by
/// `copy` and `template`.
pub fn place(ctx: &ModuleCtx, args: &Args, source: &Source) -> ModuleResult {
    let dest = args.path(&["dest"], ctx)?;
    let dest = final_dest(ctx, &dest, source.name.as_deref())?;
    let old = stat(ctx, &dest, true)?;
    if old.as_ref().is_some_and(|s| s.kind == FileKind::Dir) {
        return Err(ModuleError::new(format!("dest {dest} is a directory")));
    }
    let old_content = match old {
        Some(_) => Some(
            ctx.target
                .read_file(&dest)
                .map_err(|e| io_error("reading", &dest, e))?,
        ),
        None => None,
    };
    if old_content.is_some() && !args.bool("force", true)? {
        // ansible-core's copy action leaves an existing file alone, its
        // mode and owner too.
        let mut r = result([("changed", json!(false)), ("dest", json!(dest))]);
        if let Some(src) = args.string(&["src"])? {
            r.insert("src".into(), json!(src));
        }
        return Ok(Outcome::new(r));
    }
    let write = match &old_content {
        None => true,
        Some(old) => sha1_hex(old) != sha1_hex(&source.bytes),
    };
    let base_mode = old.as_ref().map_or(0o644, |s| s.mode);
    let mode = match args.get("mode") {
        Some(spec) => Some(parse_mode(spec, base_mode, false).map_err(ModuleError)?),
        None => None,
    };
    let chmod = !write && mode.is_some_and(|m| Some(m) != old.as_ref().map(|s| s.mode));
    let mut backup = None;
    if !ctx.check {
        if write {
            match install(ctx, args, &dest, &source.bytes, mode, old.is_some())? {
                Ok(made) => backup = made,
                Err(invalid) => return Ok(Outcome::new(invalid)),
            }
        } else if let (true, Some(mode)) = (chmod, mode) {
            ctx.target
                .set_mode(&dest, mode)
                .map_err(|e| io_error("setting the mode of", &dest, e))?;
        }
    }
    // Owner and group after the content and mode, as the copy module's
    // set_fs_attributes_if_different does.
    let changed = FileArgs::owner_only(args)?.apply(ctx, &dest, write || chmod, None)?;
    let mut r = report(ctx, &dest, &source.bytes, changed, mode)?;
    if let Some(backup) = backup {
        r.insert("backup_file".into(), json!(backup));
    }
    if ctx.diff
        && write
        && let Some(diff) = diff(&dest, old_content.as_deref(), source)
    {
        r.insert("diff".into(), diff);
    }
    Ok(Outcome::new(r))
}

/// The bytes to copy, the name a directory `dest` files them under, and
/// where they came from (for the diff's header).
pub struct Source {
    pub bytes: Vec<u8>,
    pub name: Option<String>,
    pub origin: Origin,
}

/// What ansible-core's action plugins name the new side of a diff.
pub enum Origin {
    /// `content`: the destination itself.
    Content,
    /// A controller file, by its full path.
    Controller(String),
    /// A rendered template, by its file name (ansible-core shows the
    /// temporary file it renders into).
    Rendered(String),
    /// `remote_src`: the module copies on the host and reports no diff.
    Remote,
}

fn read_source(ctx: &ModuleCtx, args: &Args) -> Result<Source, ModuleError> {
    match (args.get("content"), args.string(&["src"])?) {
        (Some(_), Some(_)) => Err(ModuleError::new("src and content are mutually exclusive")),
        (Some(content), None) => Ok(Source {
            bytes: content_bytes(content),
            name: None,
            origin: Origin::Content,
        }),
        (None, Some(src)) if args.bool("remote_src", false)? => {
            let bytes = ctx.target.read_file(&src);
            let bytes = bytes.map_err(|_| ModuleError::new(format!("Source {src} not found")))?;
            Ok(Source {
                bytes,
                name: Some(src),
                origin: Origin::Remote,
            })
        }
        (None, Some(src)) => {
            let (key, bytes) = ctx
                .files
                .find(&src)
                .map_err(|_| ModuleError::new(format!("Could not find or access '{src}'")))?;
            let bytes = decrypted(args, bytes, &src)?;
            Ok(Source {
                bytes,
                name: Some(src),
                origin: Origin::Controller(controller_path(ctx, key)),
            })
        }
        (None, None) => Err(ModuleError::new("src (or content) is required")),
    }
}

/// A controller source as copy writes it: decrypted when it is a vault
/// (unless `decrypt: false`).
pub fn decrypted(args: &Args, bytes: Vec<u8>, src: &str) -> Result<Vec<u8>, ModuleError> {
    if !args.bool("decrypt", true)? {
        return Ok(bytes);
    }
    crate::vault::open_file(bytes, src).map_err(ModuleError::new)
}

/// A file key's full path on the controller (keys are relative to the
/// playbook directory).
pub fn controller_path(ctx: &ModuleCtx, key: String) -> String {
    if key.starts_with('/') {
        return key;
    }
    match ctx.templar.eval("playbook_dir") {
        Ok(Json::String(dir)) => format!("{dir}/{key}"),
        _ => key,
    }
}

/// `content` as Ansible writes it: strings as is, lists and dicts as JSON.
fn content_bytes(content: &Json) -> Vec<u8> {
    match content {
        Json::String(s) => s.clone().into_bytes(),
        Json::Bool(b) => if *b { "True" } else { "False" }.into(),
        Json::Null => "None".into(),
        Json::Number(n) => n.to_string().into_bytes(),
        other => pyjson::dumps(other).into_bytes(),
    }
}

/// A directory `dest` (or one ending in `/`) receives the file under the
/// source's base name; otherwise the parent directory must exist.
fn final_dest(ctx: &ModuleCtx, dest: &str, src: Option<&str>) -> Result<String, ModuleError> {
    let is_dir =
        dest.ends_with('/') || stat(ctx, dest, true)?.is_some_and(|s| s.kind == FileKind::Dir);
    if is_dir {
        let Some(src) = src else {
            return Err(ModuleError::new("can not use content with a dir as dest"));
        };
        if !ctx.check && stat(ctx, dest, true)?.is_none() {
            let target = ctx.target;
            target
                .create_dir_all(dest, None)
                .map_err(|e| io_error("creating", dest, e))?;
        }
        let base = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
        return Ok(format!("{}/{base}", dest.trim_end_matches('/')));
    }
    let parent = match dest.rfind('/') {
        Some(0) => "/",
        Some(i) => &dest[..i],
        None => ".",
    };
    // In check mode a missing parent is one an earlier task would have made.
    if !ctx.check && stat(ctx, parent, true)?.is_none() {
        return Err(ModuleError::new(format!(
            "Destination directory {parent} does not exist"
        )));
    }
    Ok(dest.to_owned())
}

pub fn report(
    ctx: &ModuleCtx,
    dest: &str,
    bytes: &[u8],
    changed: bool,
    mode: Option<u32>,
) -> Result<Vars, ModuleError> {
    let mut r = Vars::new();
    r.insert("changed".into(), json!(changed));
    r.insert("dest".into(), json!(dest));
    r.insert("checksum".into(), json!(sha1_hex(bytes)));
    if let Some(now) = stat(ctx, dest, true)? {
        r.extend(attrs(ctx.target, &now));
    }
    // In check mode nothing was written: report what would be there.
    r.insert("size".into(), json!(bytes.len()));
    r.insert("state".into(), json!("file"));
    if let Some(mode) = mode {
        r.insert("mode".into(), json!(format_mode(mode)));
    }
    Ok(r)
}

/// The copy action's diff: the old content (headed by the destination
/// when there was one) against the new.
pub fn diff(dest: &str, old: Option<&[u8]>, source: &Source) -> Option<Json> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (after_header, source_file) = match &source.origin {
        Origin::Content => (dest, false),
        Origin::Controller(path) => (path.as_str(), true),
        Origin::Rendered(name) => (name.as_str(), true),
        Origin::Remote => return None,
    };
    // As the action plugins' _get_diff_data: the destination as the file
    // module's diff peek sees it, a source file checked for size and NULs
    // (`content` is not).
    let mut d = json!({});
    match old {
        None => d["before"] = json!(""),
        Some(old) if old.iter().take(8192).any(|&b| b == 0) => d["dst_binary"] = json!(1),
        Some(old) if old.len() > MAX_FILE_SIZE_FOR_DIFF => {
            d["dst_larger"] = json!(MAX_FILE_SIZE_FOR_DIFF);
        }
        Some(old) => {
            d["before_header"] = json!(dest);
            d["before"] = json!(text(old));
        }
    }
    let bytes = &source.bytes;
    if source_file && bytes.len() > MAX_FILE_SIZE_FOR_DIFF {
        d["src_larger"] = json!(MAX_FILE_SIZE_FOR_DIFF);
    } else if source_file && bytes.contains(&0) {
        d["src_binary"] = json!(1);
    } else {
        d["after_header"] = json!(after_header);
        d["after"] = json!(text(bytes));
    }
    Some(json!([d]))
}

/// ansible-core's default `MAX_FILE_SIZE_FOR_DIFF`.
const MAX_FILE_SIZE_FOR_DIFF: usize = 104_448;
