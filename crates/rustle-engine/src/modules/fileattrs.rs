//! The attributes `file` and `copy` report about a path.

use rustle_format::Vars;
use serde_json::json;

use super::{Args, ModuleCtx, ModuleError, Outcome};
use crate::target::{FileKind, FileStat, Target};
use crate::util::mode::{format_mode, parse_mode};

pub fn stat(ctx: &ModuleCtx, path: &str, follow: bool) -> Result<Option<FileStat>, ModuleError> {
    ctx.target
        .stat(path, follow)
        .map_err(|e| ModuleError::new(format!("cannot stat {path}: {e}")))
}

/// `Error while writing /x: ...`.
pub fn io_error(what: &str, path: &str, err: std::io::Error) -> ModuleError {
    ModuleError::new(format!("Error while {what} {path}: {err}"))
}

/// Ansible's name for what is at a path: `file`, `hard` (a file with
/// more than one link), `directory`, `link`, `absent`.
pub fn state_name(stat: Option<&FileStat>) -> &'static str {
    match stat {
        None => "absent",
        Some(s) => match s.kind {
            FileKind::Dir => "directory",
            FileKind::Link => "link",
            FileKind::File | FileKind::Other if s.nlink > 1 => "hard",
            FileKind::File | FileKind::Other => "file",
        },
    }
}

/// The attributes every file module takes: `mode`, `owner` and `group`.
pub struct FileArgs<'a> {
    pub mode: Option<&'a serde_json::Value>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl<'a> FileArgs<'a> {
    pub fn read(args: &'a Args) -> Result<FileArgs<'a>, ModuleError> {
        Ok(FileArgs {
            mode: args.get("mode"),
            owner: args.string(&["owner"])?,
            group: args.string(&["group"])?,
        })
    }

    /// module_utils' `set_fs_attributes_if_different`: owner, group, then
    /// mode of `path` itself, each changed only when it differs (never in
    /// check mode), recorded in `diff`'s before and after. Returns
    /// `changed` or-ed with whether anything differed.
    pub fn apply(
        &self,
        ctx: &ModuleCtx,
        path: &str,
        mut changed: bool,
        mut diff: Option<&mut serde_json::Value>,
    ) -> Result<bool, ModuleError> {
        if self.mode.is_none() && self.owner.is_none() && self.group.is_none() {
            return Ok(changed);
        }
        let Some(now) = stat(ctx, path, false)? else {
            // check_file_absent_if_check_mode
            if ctx.check {
                return Ok(true);
            }
            return Err(ModuleError::new(format!("file ({path}) is absent")));
        };
        let mut note = |key: &str, before: serde_json::Value, after: serde_json::Value| {
            if let Some(d) = diff.as_deref_mut() {
                d["before"][key] = before;
                d["after"][key] = after;
            }
        };
        let uid = match &self.owner {
            Some(owner) => Some(lookup_id(ctx, "/etc/passwd", owner).ok_or_else(|| {
                ModuleError::new(format!("chown failed: failed to look up user {owner}"))
            })?),
            None => None,
        };
        if let Some(uid) = uid.filter(|u| *u != now.uid) {
            note("owner", json!(now.uid), json!(uid));
            if !ctx.check {
                ctx.target
                    .chown(path, Some(uid), None)
                    .map_err(|e| ModuleError::new(format!("chown failed: {e}")))?;
            }
            changed = true;
        }
        let gid = match &self.group {
            Some(group) => Some(lookup_id(ctx, "/etc/group", group).ok_or_else(|| {
                ModuleError::new(format!("chgrp failed: failed to look up group {group}"))
            })?),
            None => None,
        };
        if let Some(gid) = gid.filter(|g| *g != now.gid) {
            note("group", json!(now.gid), json!(gid));
            if !ctx.check {
                ctx.target
                    .chown(path, None, Some(gid))
                    .map_err(|e| ModuleError::new(format!("chgrp failed: {e}")))?;
            }
            changed = true;
        }
        if let Some(spec) = self.mode {
            let mode =
                parse_mode(spec, now.mode, now.kind == FileKind::Dir).map_err(ModuleError)?;
            if mode != now.mode {
                note(
                    "mode",
                    json!(format_mode(now.mode)),
                    json!(format_mode(mode)),
                );
                // Linux has no lchmod: a link's own mode cannot change.
                if !ctx.check && now.kind != FileKind::Link {
                    ctx.target
                        .set_mode(path, mode)
                        .map_err(|e| io_error("setting the mode of", path, e))?;
                }
                changed = true;
            }
        }
        Ok(changed)
    }
}

/// A user or group id from a name (or a number) in a passwd-style file.
fn lookup_id(ctx: &ModuleCtx, db: &str, name: &str) -> Option<u32> {
    if let Ok(id) = name.parse() {
        return Some(id);
    }
    let text = ctx.target.read_file(db).ok()?;
    String::from_utf8_lossy(&text)
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields[0] == name)
        .and_then(|fields| fields.get(2)?.parse().ok())
}

/// `uid`, `gid`, `owner`, `group`, `mode`, `state` and `size`.
pub fn attrs(target: &dyn Target, stat: &FileStat) -> Vars {
    let mut out = Vars::new();
    out.insert("uid".into(), json!(stat.uid));
    out.insert("gid".into(), json!(stat.gid));
    out.insert(
        "owner".into(),
        json!(id_name(target, "/etc/passwd", stat.uid)),
    );
    out.insert(
        "group".into(),
        json!(id_name(target, "/etc/group", stat.gid)),
    );
    out.insert("mode".into(), json!(format_mode(stat.mode)));
    out.insert("state".into(), json!(state_name(Some(stat))));
    out.insert("size".into(), json!(stat.size));
    out
}

/// The name for a numeric id from a passwd-style file, else the number.
fn id_name(target: &dyn Target, db: &str, id: u32) -> String {
    id_lookup(target, db, id).unwrap_or_else(|| id.to_string())
}

/// The name for a numeric id from a passwd-style file.
pub fn id_lookup(target: &dyn Target, db: &str, id: u32) -> Option<String> {
    let text = target.read_file(db).ok()?;
    String::from_utf8_lossy(&text)
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.get(2).and_then(|f| f.parse::<u32>().ok()) == Some(id))
        .map(|fields| fields[0].to_owned())
}

/// A failure with Ansible's `rc` (lineinfile, replace, blockinfile).
pub fn failed_rc(msg: String, rc: i32) -> Outcome {
    let mut r = Vars::new();
    r.insert("changed".into(), json!(false));
    r.insert("failed".into(), json!(true));
    r.insert("msg".into(), json!(msg));
    r.insert("rc".into(), json!(rc));
    Outcome::new(r)
}

/// Sets `mode` on an edited file as module_utils' `check_file_attrs`
/// does after a line edit: flips `changed`, appends Ansible's words to
/// `msg`, and returns the file-attributes half of the `diff` list.
pub fn check_file_attrs(
    ctx: &ModuleCtx,
    path: &str,
    mode: Option<&serde_json::Value>,
    changed: &mut bool,
    msg: &mut String,
) -> Result<serde_json::Value, ModuleError> {
    let mut diff = serde_json::Map::new();
    if let Some(spec) = mode
        && let Some(now) = stat(ctx, path, true)?
    {
        let mode = parse_mode(spec, now.mode, false).map_err(ModuleError)?;
        if mode != now.mode {
            if !ctx.check {
                ctx.target
                    .set_mode(path, mode)
                    .map_err(|e| io_error("setting the mode of", path, e))?;
            }
            diff.insert("before".into(), json!({"mode": format_mode(now.mode)}));
            diff.insert("after".into(), json!({"mode": format_mode(mode)}));
            if *changed {
                msg.push_str(" and ");
            }
            *changed = true;
            msg.push_str("ownership, perms or SE linux context changed");
        }
    }
    let header = json!(format!("{path} (file attributes)"));
    diff.insert("before_header".into(), header.clone());
    diff.insert("after_header".into(), header);
    Ok(serde_json::Value::Object(diff))
}

/// file.py's `get_state`.
pub fn get_state(ctx: &ModuleCtx, path: &str) -> Result<&'static str, ModuleError> {
    let lstat = stat(ctx, path, false)?;
    if lstat.is_some_and(|s| s.kind != FileKind::Link) {
        // `hard` counts the links of what the path names.
        return Ok(state_name(
            stat(ctx, path, true)?.as_ref().or(lstat.as_ref()),
        ));
    }
    Ok(state_name(lstat.as_ref()))
}

/// AnsibleModule's `add_path_info`: the attributes of what `path` (or
/// `dest`) names, when it exists.
pub fn add_path_info(ctx: &ModuleCtx, r: &mut Vars) -> Result<(), ModuleError> {
    let Some(path) = r
        .get("path")
        .or_else(|| r.get("dest"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(());
    };
    if stat(ctx, &path, true)?.is_none() {
        return Ok(());
    }
    if let Some(own) = stat(ctx, &path, false)? {
        let mut info = attrs(ctx.target, &own);
        info.insert("state".into(), json!(get_state(ctx, &path)?));
        r.extend(info);
    }
    Ok(())
}
