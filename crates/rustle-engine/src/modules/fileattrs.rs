//! What the file modules share: a path's state and reported attributes,
//! owner/group/mode changes, the host's account names and `os.walk`.

use std::cell::OnceCell;

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

/// Python's `str(OSError)` for an error on `path`:
/// `[Errno 39] Directory not empty: '/x'`.
pub fn py_os_error(err: &std::io::Error, path: &str) -> String {
    let text = err.to_string();
    match err.raw_os_error() {
        Some(code) => {
            let strerror = text
                .strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&text);
            format!("[Errno {code}] {strerror}: {}", super::args::py_repr(path))
        }
        None => text,
    }
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
    mode: Option<&'a serde_json::Value>,
    owner: Option<String>,
    group: Option<String>,
    /// Read on the first name to look up, then kept (`recurse` applies
    /// the same arguments to every file of a tree).
    accounts: OnceCell<Accounts>,
}

impl<'a> FileArgs<'a> {
    pub fn read(args: &'a Args) -> Result<FileArgs<'a>, ModuleError> {
        Ok(FileArgs {
            mode: args.get("mode"),
            owner: args.string(&["owner"])?,
            group: args.string(&["group"])?,
            accounts: OnceCell::new(),
        })
    }

    /// `owner` and `group` only (copy sets the mode with the content).
    pub fn owner_only(args: &'a Args) -> Result<FileArgs<'a>, ModuleError> {
        Ok(FileArgs {
            mode: None,
            ..FileArgs::read(args)?
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
        // (key, wanted, current, database, command as Ansible names it)
        let owners = [
            ("owner", &self.owner, now.uid, Db::Users, "chown", "user"),
            ("group", &self.group, now.gid, Db::Groups, "chgrp", "group"),
        ];
        for (key, wanted, current, db, cmd, what) in owners {
            let Some(name) = wanted else { continue };
            let id = match name.parse() {
                Ok(id) => id,
                Err(_) => {
                    let accounts = self.accounts.get_or_init(|| Accounts::read(ctx.target));
                    accounts.id(db, name).ok_or_else(|| {
                        ModuleError::new(format!("{cmd} failed: failed to look up {what} {name}"))
                    })?
                }
            };
            if id == current {
                continue;
            }
            note(key, json!(current), json!(id));
            if !ctx.check {
                let (uid, gid) = match db {
                    Db::Users => (Some(id), None),
                    Db::Groups => (None, Some(id)),
                };
                ctx.target
                    .chown(path, uid, gid)
                    .map_err(|e| ModuleError::new(format!("{cmd} failed: {e}")))?;
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

#[derive(Debug, Clone, Copy)]
pub enum Db {
    Users,
    Groups,
}

/// The names and ids of the host's `/etc/passwd` and `/etc/group`, read
/// once (as `accounts` parses them); an unreadable database counts as
/// empty, so ids show as numbers.
pub struct Accounts {
    users: Vec<(String, u32)>,
    groups: Vec<(String, u32)>,
}

impl Accounts {
    pub fn read(target: &dyn Target) -> Accounts {
        let users = super::accounts::users(target).unwrap_or_default();
        let groups = super::accounts::groups(target).unwrap_or_default();
        Accounts {
            users: users.into_iter().map(|e| (e.name, e.uid)).collect(),
            groups: groups.into_iter().map(|e| (e.name, e.gid)).collect(),
        }
    }

    fn entries(&self, db: Db) -> &[(String, u32)] {
        match db {
            Db::Users => &self.users,
            Db::Groups => &self.groups,
        }
    }

    /// The id for a name (`getpwnam`/`getgrnam`).
    pub fn id(&self, db: Db, name: &str) -> Option<u32> {
        self.entries(db)
            .iter()
            .find(|(n, _)| n == name)
            .map(|e| e.1)
    }

    /// The name for an id (`getpwuid`/`getgrgid`).
    pub fn name(&self, db: Db, id: u32) -> Option<&str> {
        let entry = self.entries(db).iter().find(|(_, i)| *i == id)?;
        Some(entry.0.as_str())
    }
}

/// `uid`, `gid`, `owner`, `group`, `mode`, `state` and `size`.
pub fn attrs(target: &dyn Target, stat: &FileStat) -> Vars {
    let (owner, group) = stat.names.clone().unwrap_or_else(|| {
        let accounts = Accounts::read(target);
        let name = |db, id: u32| {
            accounts
                .name(db, id)
                .map_or_else(|| id.to_string(), str::to_owned)
        };
        (name(Db::Users, stat.uid), name(Db::Groups, stat.gid))
    });
    let mut out = Vars::new();
    out.insert("uid".into(), json!(stat.uid));
    out.insert("gid".into(), json!(stat.gid));
    out.insert("owner".into(), json!(owner));
    out.insert("group".into(), json!(group));
    out.insert("mode".into(), json!(format_mode(stat.mode)));
    out.insert("state".into(), json!(state_name(Some(stat))));
    out.insert("size".into(), json!(stat.size));
    out
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

/// module_utils' `check_file_attrs` after a line edit: the file
/// attributes set, `changed` flipped and Ansible's words appended to `msg`
/// when they differed; returns the file-attributes half of the `diff` list.
pub fn check_file_attrs(
    ctx: &ModuleCtx,
    path: &str,
    args: &Args,
    changed: &mut bool,
    msg: &mut String,
) -> Result<serde_json::Value, ModuleError> {
    let mut diff = json!({});
    if FileArgs::read(args)?.apply(ctx, path, false, Some(&mut diff))? {
        if *changed {
            msg.push_str(" and ");
        }
        *changed = true;
        msg.push_str("ownership, perms or SE linux context changed");
    }
    let header = json!(format!("{path} (file attributes)"));
    diff["before_header"] = header.clone();
    diff["after_header"] = header;
    Ok(diff)
}

/// file.py's `get_state`.
pub fn get_state(ctx: &ModuleCtx, path: &str) -> Result<&'static str, ModuleError> {
    let lstat = stat(ctx, path, false)?;
    if lstat.as_ref().is_some_and(|s| s.kind != FileKind::Link) {
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

/// Python's `os.walk(top, followlinks=follow)`, top-down: `visit` gets each
/// directory with its subdirectory names and its other names, in listing
/// order; it may clear the subdirectories (`del dirs[:]`) and returns
/// whether to go on. Links to directories count as directories and are
/// entered only when following. Returns the directories it could not list.
pub fn os_walk(
    target: &dyn Target,
    top: &str,
    follow: bool,
    mut visit: impl FnMut(&str, &mut Vec<String>, &[String]) -> bool,
) -> Vec<(String, std::io::Error)> {
    let mut errors = Vec::new();
    let mut stack = vec![top.trim_end_matches('/').to_owned()];
    while let Some(root) = stack.pop() {
        let names = match target.list_dir(&root) {
            Ok(names) => names,
            Err(e) => {
                errors.push((root, e));
                continue;
            }
        };
        let (mut dirs, mut files) = (Vec::new(), Vec::new());
        for name in names {
            let is_dir = matches!(
                target.stat(&format!("{root}/{name}"), true),
                Ok(Some(s)) if s.kind == FileKind::Dir
            );
            if is_dir { &mut dirs } else { &mut files }.push(name);
        }
        if !visit(&root, &mut dirs, &files) {
            break;
        }
        let below = dirs.into_iter().rev().map(|d| format!("{root}/{d}"));
        stack.extend(below.filter(|d| {
            follow || !matches!(target.stat(d, false), Ok(Some(s)) if s.kind == FileKind::Link)
        }));
    }
    errors
}

/// AnsibleModule's `backup_local`: a preserved copy of `path` (content,
/// mode, times and owner) at `<path>.<pid>.<YYYY-MM-DD@HH:MM:SS~>`, the
/// pid and local time being the host's (a shell there tells them).
/// Returns the backup's name, or `""` when nothing is at `path`.
pub fn backup_local(ctx: &ModuleCtx, path: &str) -> Result<String, ModuleError> {
    let Some(old) = stat(ctx, path, true)? else {
        return Ok(String::new());
    };
    let req = crate::target::ExecRequest::shell("echo $$; date +%Y-%m-%d@%H:%M:%S~");
    let out = ctx
        .target
        .exec(&req)
        .map_err(|e| ModuleError::new(format!("Could not make backup of {path}: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let (Some(pid), Some(stamp)) = (lines.next(), lines.next()) else {
        return Err(ModuleError::new(format!(
            "Could not make backup of {path}: the host's date failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    };
    let dest = format!("{path}.{}.{}", pid.trim(), stamp.trim());
    let copy = || -> std::io::Result<()> {
        let bytes = ctx.target.read_file(path)?;
        ctx.target.write_file(&dest, &bytes, Some(old.mode))?;
        ctx.target.set_times(&dest, Some((old.atime, old.mtime)))?;
        if let Some(now) = ctx.target.stat(&dest, false)?
            && (now.uid != old.uid || now.gid != old.gid)
        {
            ctx.target.chown(&dest, Some(old.uid), Some(old.gid))?;
        }
        Ok(())
    };
    copy().map_err(|e| {
        ModuleError::new(format!(
            "Could not make backup of {path} to {dest}: {}",
            crate::util::oserror::python_oserror(&e, path)
        ))
    })?;
    Ok(dest)
}

/// A temporary file's path beside `dest`, with `dest`'s extension (a
/// validator may care), for the content to validate before it replaces
/// `dest`.
pub fn temp_beside(dest: &str) -> String {
    let (dir, name) = dest.rsplit_once('/').unwrap_or((".", dest));
    let ext = match name.rfind('.') {
        Some(i) if i > 0 => &name[i..],
        _ => "",
    };
    format!(
        "{dir}/.{name}.rustle-validate-{}{ext}",
        crate::util::time::now().to_bits() % 1_000_000_007
    )
}

/// The `validate` argument's command run on `tmp` (`%s` replaced), as
/// copy and template do before the file takes its place: `Ok(None)` when
/// it passed, else the failed result (`failed to validate`, with
/// `exit_status`, `stdout` and `stderr`).
pub fn validate(ctx: &ModuleCtx, validate: &str, tmp: &str) -> Result<Option<Vars>, ModuleError> {
    if !validate.contains("%s") {
        return Err(ModuleError::new(format!(
            "validate must contain %s: {validate}"
        )));
    }
    let cmd = validate.replacen("%s", tmp, 1);
    let argv = shlex::split(&cmd)
        .ok_or_else(|| ModuleError::new(format!("validate: cannot split {cmd}")))?;
    let out = ctx.target.exec(&crate::target::ExecRequest::new(argv));
    let (rc, stdout, stderr) = match out {
        Ok(o) => (
            o.rc,
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        // run_command's failure to start: rc 2 and the error as stderr.
        Err(e) => (2, String::new(), e.to_string()),
    };
    if rc == 0 {
        return Ok(None);
    }
    let mut r = Vars::new();
    r.insert("failed".into(), json!(true));
    r.insert("changed".into(), json!(false));
    r.insert("msg".into(), json!("failed to validate"));
    r.insert("exit_status".into(), json!(rc));
    // The task executor adds the `_lines` of every stdout and stderr.
    r.insert("stdout_lines".into(), super::command::lines(&stdout));
    r.insert("stderr_lines".into(), super::command::lines(&stderr));
    r.insert("stdout".into(), json!(stdout));
    r.insert("stderr".into(), json!(stderr));
    Ok(Some(r))
}
