//! `file`: a port of ansible-core's file.py. Each state looks at what is
//! at the path (`absent`, `file`, `hard`, `directory`, `link`), decides,
//! then changes it (never in check mode): `file` and `directory` (with
//! `recurse`), `touch`, `absent`, `link` and `hard` (with `src`, `force`),
//! plus owner, group, mode and access/modification times.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::args::Args;
use super::fileattrs::{FileArgs, add_path_info, get_state, io_error, os_walk, stat, state_name};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::{FileKind, FileStat};
use crate::util::oserror::python_oserror;

pub struct File;

impl Module for File {
    fn params(&self) -> &'static [&'static str] {
        &[
            "path",
            "dest",
            "name",
            "state",
            "mode",
            "owner",
            "group",
            "recurse",
            "follow",
            "force",
            "src",
            "modification_time",
            "modification_time_format",
            "access_time",
            "access_time_format",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let mut path = args.path(&["path", "dest", "name"], ctx)?;
        let states = ["absent", "directory", "file", "hard", "link", "touch"];
        let state = args.choice("state", &states)?;
        let recurse = args.bool("recurse", false)?;
        let src = args.string(&["src"])?;
        // additional_parameter_handling: a directory path gets src's name.
        if state
            .as_deref()
            .is_none_or(|s| s != "link" && s != "absent")
            && let Some(src) = &src
            && kind(ctx, &path, true)? == Some(FileKind::Dir)
        {
            let base = src.rsplit('/').next().unwrap_or(src);
            path = format!("{}/{base}", path.trim_end_matches('/'));
        }
        let state = match state {
            Some(state) => state,
            None => match state_name(stat(ctx, &path, false)?.as_ref()) {
                "absent" if recurse => "directory".to_owned(),
                "absent" => "file".to_owned(),
                prev => prev.to_owned(),
            },
        };
        let times = Times {
            mtime: time_arg(ctx, args, "modification_time", &state)?,
            atime: time_arg(ctx, args, "access_time", &state)?,
        };
        let op = FileOp {
            ctx,
            attrs: FileArgs::read(args)?,
            follow: args.bool("follow", true)?,
            force: args.bool("force", false)?,
            times,
        };
        let done = match state.as_str() {
            _ if recurse && state != "directory" => Err(fail(
                "recurse option requires state to be 'directory'",
                [("path", json!(path))],
            )),
            _ if src.is_some() && state != "link" && state != "hard" => Err(fail(
                "src option requires state to be 'link' or 'hard'",
                [("path", json!(path))],
            )),
            "absent" => op.absent(&path),
            "file" => op.file(path),
            "directory" => op.directory(path, recurse),
            "touch" => op.touch(&path),
            "link" => op.symlink(&path, src),
            _ => op.hardlink(&path, src),
        };
        let mut r = match done {
            Ok(mut r) => {
                if !ctx.diff {
                    r.remove("diff");
                }
                r
            }
            Err(Fail { msg, extra }) => {
                let mut r = extra;
                r.insert("failed".into(), json!(true));
                r.insert("changed".into(), json!(false));
                r.insert("msg".into(), json!(msg));
                r
            }
        };
        add_path_info(ctx, &mut r)?;
        Ok(Outcome::new(r))
    }
}

/// A failure with the keys file.py passes to `fail_json` (`path`, `src`
/// ...); the result also gets the path's attributes, as every module's.
struct Fail {
    msg: String,
    extra: Vars,
}

type Res<T> = Result<T, Fail>;

impl From<ModuleError> for Fail {
    fn from(err: ModuleError) -> Fail {
        Fail {
            msg: err.0,
            extra: Vars::new(),
        }
    }
}

fn fail<const N: usize>(msg: impl Into<String>, extra: [(&str, Json); N]) -> Fail {
    Fail {
        msg: msg.into(),
        extra: super::result(extra),
    }
}

/// A time argument: `None` for `preserve`, `Some(None)` for `now`.
type TimeArg = Option<Option<f64>>;

struct Times {
    mtime: TimeArg,
    atime: TimeArg,
}

/// `keep_backward_compatibility_on_timestamps` and `get_timestamp_for_time`.
fn time_arg(ctx: &ModuleCtx, args: &Args, key: &str, state: &str) -> Result<TimeArg, ModuleError> {
    let value = args.string(&[key])?;
    let value = value
        .as_deref()
        .unwrap_or(if state == "touch" { "now" } else { "preserve" });
    match value {
        "preserve" => Ok(None),
        "now" => Ok(Some(None)),
        other => {
            let format = args.string(&[&format!("{key}_format")])?;
            let format = format.as_deref().unwrap_or("%Y%m%d%H%M.%S");
            let fail = |e: String| {
                ModuleError::new(format!(
                    "Error while obtaining timestamp for time {other} using format {format}: {e}"
                ))
            };
            let [y, mo, d, h, mi, sec] =
                crate::util::time::strptime(other, format).map_err(fail)?;
            Ok(Some(Some(
                mktime(ctx, [y, mo, d, h, mi, sec]).map_err(fail)?,
            )))
        }
    }
}

/// Python's `time.mktime`: a broken-down local time of the host (its time
/// zone, daylight saving guessed) as seconds since the epoch, by the
/// host's `date`.
fn mktime(ctx: &ModuleCtx, [y, mo, d, h, mi, s]: [i64; 6]) -> Result<f64, String> {
    let when = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
    let req = crate::target::ExecRequest::new(["date", "-d", &when, "+%s"]);
    let out = ctx.target.exec(&req).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim().parse::<i64>() {
        Ok(secs) if out.rc == 0 => Ok(secs as f64),
        _ => Err(format!(
            "date -d '{when}' failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

struct FileOp<'a, 'b> {
    ctx: &'a ModuleCtx<'b>,
    attrs: FileArgs<'a>,
    follow: bool,
    force: bool,
    times: Times,
}

fn kind(ctx: &ModuleCtx, path: &str, follow: bool) -> Result<Option<FileKind>, ModuleError> {
    Ok(stat(ctx, path, follow)?.map(|s| s.kind))
}

/// file.py's `initial_diff`, with the removed tree's contents.
fn initial_diff(ctx: &ModuleCtx, path: &str, state: &str, prev: &str) -> Json {
    let mut diff = json!({"before": {"path": path}, "after": {"path": path}});
    if prev != state {
        diff["before"]["state"] = json!(prev);
        diff["after"]["state"] = json!(state);
        if state == "absent" && prev == "directory" {
            let (dirs, files) = walk(ctx, path);
            diff["before"]["path_content"] = json!({"directories": dirs, "files": files});
        }
    }
    diff
}

/// Every directory and every other path under `root`, in `os.walk` order.
fn walk(ctx: &ModuleCtx, root: &str) -> (Vec<String>, Vec<String>) {
    let (mut all_dirs, mut all_files) = (Vec::new(), Vec::new());
    os_walk(ctx.target, root, false, |dir, dirs, files| {
        all_dirs.extend(dirs.iter().map(|d| format!("{dir}/{d}")));
        all_files.extend(files.iter().map(|f| format!("{dir}/{f}")));
        true
    });
    (all_dirs, all_files)
}

impl FileOp<'_, '_> {
    /// `load_file_common_arguments`: the path attributes apply to (a link's
    /// target when following).
    fn attr_path(&self, path: &str) -> Res<String> {
        if self.follow && kind(self.ctx, path, false)? == Some(FileKind::Link) {
            return self.real_path(path);
        }
        Ok(path.to_owned())
    }

    fn real_path(&self, path: &str) -> Res<String> {
        self.ctx
            .target
            .real_path(path)
            .map_err(|e| io_error("resolving", path, e).into())
    }

    /// `set_fs_attributes_if_different` on `path`; its failures name it.
    fn attr(&self, path: &str, changed: bool, diff: Option<&mut Json>) -> Res<bool> {
        self.attrs
            .apply(self.ctx, path, changed, diff)
            .map_err(|e| {
                // set_mode_if_different's words, with the cause apart.
                const BAD_MODE: &str = "mode must be in octal or symbolic form";
                match e
                    .0
                    .strip_prefix(BAD_MODE)
                    .and_then(|d| d.strip_prefix(": "))
                {
                    Some(details) => fail(
                        BAD_MODE,
                        [("path", json!(path)), ("details", json!(details))],
                    ),
                    None => fail(e.0, [("path", json!(path))]),
                }
            })
    }

    /// Attributes, then times; returns the new `changed`.
    fn settle(&self, path: &str, changed: bool, diff: &mut Json) -> Res<bool> {
        let changed = self.attr(path, changed, Some(diff))?;
        Ok(self.update_times(path, Some(diff))? || changed)
    }

    /// file.py's `update_timestamp_for_file`.
    fn update_times(&self, path: &str, diff: Option<&mut Json>) -> Res<bool> {
        let Times { mtime, atime } = self.times;
        if mtime.is_none() && atime.is_none() {
            return Ok(false);
        }
        let Some(prev) = stat(self.ctx, path, true)? else {
            return Ok(false);
        };
        let now = crate::util::time::now();
        let (new_m, new_a) = (
            mtime.map_or(prev.mtime, |t| t.unwrap_or(now)),
            atime.map_or(prev.atime, |t| t.unwrap_or(now)),
        );
        let both_now = mtime == Some(None) && atime == Some(None);
        if !both_now && new_m == prev.mtime && new_a == prev.atime {
            return Ok(false);
        }
        if !self.ctx.check {
            let times = (!both_now).then_some((new_a, new_m));
            self.ctx.target.set_times(path, times).map_err(|e| {
                ModuleError::new(format!(
                    "Error while updating modification or access time: {}",
                    python_oserror(&e, path)
                ))
            })?;
        }
        if let Some(diff) = diff {
            if new_m != prev.mtime {
                diff["before"]["mtime"] = json!(prev.mtime);
                diff["after"]["mtime"] = json!(new_m);
            }
            if new_a != prev.atime {
                diff["before"]["atime"] = json!(prev.atime);
                diff["after"]["atime"] = json!(new_a);
            }
        }
        Ok(true)
    }

    fn absent(&self, path: &str) -> Res<Vars> {
        let prev = get_state(self.ctx, path)?;
        let mut r = Vars::new();
        r.insert("path".into(), json!(path));
        if prev == "absent" {
            r.insert("changed".into(), json!(false));
        } else {
            let diff = initial_diff(self.ctx, path, "absent", prev);
            if !self.ctx.check {
                self.ctx.target.remove(path).map_err(|e| {
                    ModuleError::new(if prev == "directory" {
                        format!("rmtree failed: {}", python_oserror(&e, path))
                    } else {
                        "Unlinking failed.".to_owned()
                    })
                })?;
            }
            r.insert("changed".into(), json!(true));
            r.insert("diff".into(), diff);
        }
        r.insert("state".into(), json!("absent"));
        Ok(r)
    }

    fn touch(&self, path: &str) -> Res<Vars> {
        let prev = get_state(self.ctx, path)?;
        let mut r = Vars::new();
        r.insert("dest".into(), json!(path));
        let mut changed = false;
        if prev == "absent" {
            if self.ctx.check {
                r.insert("changed".into(), json!(true));
                return Ok(r);
            }
            self.ctx
                .target
                .write_file(path, b"", None)
                .map_err(|_| ModuleError::new("Error, could not touch target."))?;
            changed = true;
        }
        let mut diff = initial_diff(self.ctx, path, "touch", prev);
        let attr_path = self.attr_path(path)?;
        let result = self.settle(&attr_path, changed, &mut diff);
        if result.is_err() && prev == "absent" {
            let _ = self.ctx.target.remove(path);
        }
        r.insert("changed".into(), json!(result?));
        r.insert("diff".into(), diff);
        Ok(r)
    }

    fn file(&self, mut path: String) -> Res<Vars> {
        let mut prev = get_state(self.ctx, &path)?;
        if prev == "link" && self.follow {
            path = self.real_path(&path)?;
            prev = get_state(self.ctx, &path)?;
        }
        if prev != "file" && prev != "hard" {
            return Err(fail(
                format!("file ({path}) is {prev}, cannot continue"),
                [("path", json!(path)), ("state", json!(prev))],
            ));
        }
        let mut diff = initial_diff(self.ctx, &path, "file", prev);
        let changed = self.settle(&path, false, &mut diff)?;
        Ok(path_result(&path, changed, diff))
    }

    fn directory(&self, mut path: String, recurse: bool) -> Res<Vars> {
        let mut prev = get_state(self.ctx, &path)?;
        if prev == "link" && self.follow {
            path = self.real_path(&path)?;
            prev = get_state(self.ctx, &path)?;
        }
        let mut diff = initial_diff(self.ctx, &path, "directory", prev);
        if prev == "absent" {
            if self.ctx.check {
                return Ok(path_result(&path, true, diff));
            }
            // Each missing directory is made, then given the attributes.
            let mut prefixes = Vec::new();
            for part in path.trim_matches('/').split('/') {
                prefixes.push(match prefixes.last() {
                    None if !path.starts_with('/') => part.to_owned(),
                    None => format!("/{part}"),
                    Some(cur) => format!("{cur}/{part}"),
                });
            }
            // file.py looks at every prefix from the root; those below the
            // deepest one that exists are the same, found looking upward
            // (usually one look: the parent is there).
            let mut first = 0;
            for (i, cur) in prefixes.iter().enumerate().rev() {
                if stat(self.ctx, cur, true)?.is_some() {
                    first = i + 1;
                    break;
                }
            }
            let mut changed = false;
            for cur in &prefixes[first..] {
                if stat(self.ctx, cur, true)?.is_some() {
                    continue;
                }
                let made = self.ctx.target.create_dir_all(cur, None);
                made.map_err(|e| {
                    ModuleError::new(format!(
                        "There was an issue creating {cur} as requested: {}",
                        python_oserror(&e, cur)
                    ))
                })?;
                changed = self.attr(cur, true, Some(&mut diff))?;
                changed |= self.update_times(&path, Some(&mut diff))?;
            }
            return Ok(path_result(&path, changed, diff));
        }
        if prev != "directory" {
            return Err(fail(
                format!("{path} already exists as a {prev}"),
                [("path", json!(path))],
            ));
        }
        let mut changed = self.settle(&path, false, &mut diff)?;
        if recurse {
            changed |= self.recurse(&path)?;
        }
        Ok(path_result(&path, changed, diff))
    }

    /// file.py's `recursive_set_attributes`.
    fn recurse(&self, root: &str) -> Res<bool> {
        let mut changed = false;
        let (dirs, files) = walk(self.ctx, root);
        for entry in dirs.iter().chain(&files) {
            changed |= self.attr(entry, changed, None)?;
            changed |= self.update_times(entry, None)?;
            if self.follow && kind(self.ctx, entry, false)? == Some(FileKind::Link) {
                let real = self.real_path(entry)?;
                if let Some(target) = stat(self.ctx, &real, true)? {
                    if target.kind == FileKind::Dir {
                        changed |= self.recurse(&real)?;
                    }
                    changed |= self.attr(&real, changed, None)?;
                    changed |= self.update_times(&real, None)?;
                }
            }
        }
        Ok(changed)
    }

    /// file.py's `ensure_symlink`.
    fn symlink(&self, path: &str, mut src: Option<String>) -> Res<Vars> {
        let ctx = self.ctx;
        let prev = get_state(ctx, path)?;
        if src.is_none() && self.follow && stat(ctx, path, true)?.is_some() {
            src = Some(self.read_link(path)?);
        }
        let own = stat(ctx, path, false)?;
        let base = if own.is_some_and(|s| s.kind == FileKind::Dir) {
            path.to_owned()
        } else {
            parent(path)
        };
        if let Some(src) = &src {
            let absrc = join(&base, src);
            if !self.force && stat(ctx, &absrc, true)?.is_none() {
                return Err(fail(
                    format!(
                        "src file does not exist, use 'force=yes' if you really want to create the link: {absrc}"
                    ),
                    [("path", json!(path)), ("src", json!(src))],
                ));
            }
        }
        match prev {
            "directory" | "file" | "hard" if !self.force => {
                return Err(fail(
                    format!("refusing to convert from {prev} to symlink for {path}"),
                    [("path", json!(path))],
                ));
            }
            "directory" if !self.list(path)?.is_empty() => {
                return Err(fail(
                    format!("the directory {path} is not empty, refusing to convert it"),
                    [("path", json!(path))],
                ));
            }
            _ => {}
        }
        let mut diff = initial_diff(ctx, path, "link", prev);
        let changed = match (prev, &src) {
            ("link", Some(src)) => {
                let old = self.read_link(path)?;
                let differs = &old != src;
                if differs {
                    diff["before"]["src"] = json!(old);
                    diff["after"]["src"] = json!(src);
                }
                differs
            }
            ("link", None) => false,
            (_, None) => return Err(fail("src is required for creating new symlinks", [])),
            _ => true,
        };
        if changed && !ctx.check {
            if prev == "directory" {
                ctx.target
                    .remove(path)
                    .map_err(|e| replacing(prev, &e, path))?;
            }
            let src = src.as_deref().unwrap_or_default();
            ctx.target
                .symlink(src, path)
                .map_err(|e| replacing(prev, &e, path))?;
        }
        self.link_result(path, src, changed, diff)
    }

    /// file.py's `ensure_hardlink`.
    fn hardlink(&self, path: &str, src: Option<String>) -> Res<Vars> {
        let ctx = self.ctx;
        let prev = get_state(ctx, path)?;
        if prev != "hard" && src.is_none() {
            return Err(fail("src is required for creating new hardlinks", []));
        }
        let src_stat = match &src {
            Some(src) => match stat(ctx, src, true)? {
                Some(s) => Some(s),
                None => {
                    return Err(fail(
                        "src does not exist",
                        [("dest", json!(path)), ("src", json!(src))],
                    ));
                }
            },
            None => None,
        };
        let mut diff = initial_diff(ctx, path, "hard", prev);
        let same_inode = |src: &FileStat| -> Res<bool> {
            Ok(stat(ctx, path, true)?.is_some_and(|s| s.ino == src.ino))
        };
        let changed = match prev {
            "absent" => true,
            "link" => {
                let old = self.read_link(path)?;
                let src = src.as_deref().unwrap_or_default();
                let differs = old != src;
                if differs {
                    diff["before"]["src"] = json!(old);
                    diff["after"]["src"] = json!(src);
                }
                differs
            }
            "hard" => match &src_stat {
                Some(s) if !same_inode(s)? => {
                    if !self.force {
                        return Err(fail(
                            "Cannot link, different hard link exists at destination",
                            [("dest", json!(path)), ("src", json!(src))],
                        ));
                    }
                    true
                }
                _ => false,
            },
            "file" => {
                if !self.force {
                    return Err(fail(
                        format!("Cannot link, {prev} exists at destination"),
                        [("dest", json!(path)), ("src", json!(src))],
                    ));
                }
                true
            }
            _ => {
                // A directory.
                if let Some(s) = &src_stat
                    && same_inode(s)?
                {
                    let mut r = Vars::new();
                    r.insert("path".into(), json!(path));
                    r.insert("changed".into(), json!(false));
                    return Ok(r);
                }
                if !self.force {
                    return Err(fail(
                        "Cannot link: different hard link exists at destination",
                        [("dest", json!(path)), ("src", json!(src))],
                    ));
                }
                true
            }
        };
        if changed && !ctx.check {
            let mut src = src.clone().unwrap_or_default();
            if prev == "absent" && self.follow && kind(ctx, &src, false)? == Some(FileKind::Link) {
                src = self.read_link(&src)?;
            }
            if prev == "directory" {
                ctx.target
                    .remove(path)
                    .map_err(|e| replacing(prev, &e, path))?;
            }
            ctx.target
                .hard_link(&src, path)
                .map_err(|e| replacing(prev, &e, path))?;
        }
        self.link_result(path, src, changed, diff)
    }

    /// A link's result: the short form in check mode when nothing is
    /// there yet, else with the attributes applied.
    fn link_result(
        &self,
        path: &str,
        src: Option<String>,
        changed: bool,
        mut diff: Json,
    ) -> Res<Vars> {
        let mut r = Vars::new();
        r.insert("dest".into(), json!(path));
        r.insert("src".into(), json!(src));
        let exists = stat(self.ctx, path, true)?.is_some();
        let changed = if self.ctx.check && !exists {
            changed
        } else {
            let attr_path = self.attr_path(path)?;
            let dangling = self.follow
                && kind(self.ctx, path, false)? == Some(FileKind::Link)
                && stat(self.ctx, &attr_path, true)?.is_none();
            if dangling {
                r.insert(
                    "warnings".into(),
                    json!([
                        "Cannot set fs attributes on a non-existent symlink target. \
                         follow should be set to False to avoid this."
                    ]),
                );
                changed
            } else {
                self.settle(&attr_path, changed, &mut diff)?
            }
        };
        r.insert("changed".into(), json!(changed));
        r.insert("diff".into(), diff);
        Ok(r)
    }

    fn read_link(&self, path: &str) -> Res<String> {
        self.ctx
            .target
            .read_link(path)
            .map_err(|e| io_error("reading the link", path, e).into())
    }

    fn list(&self, path: &str) -> Res<Vec<String>> {
        self.ctx
            .target
            .list_dir(path)
            .map_err(|e| io_error("listing", path, e).into())
    }
}

/// `Error while linking` (nothing was there) or `Error while replacing`.
fn replacing(prev: &str, err: &std::io::Error, path: &str) -> ModuleError {
    let verb = if prev == "absent" {
        "linking"
    } else {
        "replacing"
    };
    ModuleError::new(format!("Error while {verb}: {}", python_oserror(err, path)))
}

fn path_result(path: &str, changed: bool, diff: Json) -> Vars {
    let mut r = Vars::new();
    r.insert("path".into(), json!(path));
    r.insert("changed".into(), json!(changed));
    r.insert("diff".into(), diff);
    r
}

fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
        None => String::new(),
    }
}

/// Python's `os.path.join(base, src)`.
fn join(base: &str, src: &str) -> String {
    if src.starts_with('/') || base.is_empty() {
        src.to_owned()
    } else {
        format!("{}/{src}", base.trim_end_matches('/'))
    }
}
