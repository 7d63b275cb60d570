//! The attributes `file` and `copy` report about a path.

use rustle_format::Vars;
use serde_json::json;

use super::Outcome;
use super::{ModuleCtx, ModuleError};
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

/// Ansible's name for what is at a path: `file`, `directory`, `link`, `absent`.
pub fn state_name(stat: Option<&FileStat>) -> &'static str {
    match stat.map(|s| s.kind) {
        None => "absent",
        Some(FileKind::Dir) => "directory",
        Some(FileKind::Link) => "link",
        Some(FileKind::File | FileKind::Other) => "file",
    }
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
    let text = target.read_file(db).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.get(2).and_then(|f| f.parse::<u32>().ok()) == Some(id))
        .map_or_else(|| id.to_string(), |fields| fields[0].to_owned())
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
