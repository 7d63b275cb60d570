//! `copy` with a directory `src`. From the controller, as ansible-core's
//! copy action: each file of the tree is copied (or, when its checksum
//! matches, given its attributes by the file module) under `dest/`, each
//! subdirectory is made by the file module with `directory_mode`; `src:
//! dir` copies the directory itself, `src: dir/` its contents (rsync's
//! rule). With `remote_src`, as the copy module's `copy_directory`.

use std::collections::BTreeSet;

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::args::Args;
use super::copy::{Origin, Source, controller_path, diff, install, report};
use super::fileattrs::{FileArgs, add_path_info, io_error, os_walk, stat};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;
use crate::util::mode::parse_mode;
use crate::util::sha1::{md5_hex, sha1_hex};

/// The copy action for a controller directory `src` found under `key`
/// with the files `rel` (relative to it).
pub fn from_controller(
    ctx: &ModuleCtx,
    args: &Args,
    src: &str,
    key: &str,
    rel: &[String],
) -> ModuleResult {
    let trailing = src.ends_with('/');
    let base = key.rsplit('/').next().unwrap_or(key);
    // Where each file and subdirectory lands, relative to `dest/`.
    let land = |r: &str| {
        if trailing {
            r.to_owned()
        } else {
            format!("{base}/{r}")
        }
    };
    let mut dirs = BTreeSet::new();
    for r in rel {
        let mut at = 0;
        while let Some(i) = r[at..].find('/') {
            dirs.insert(land(&r[..at + i]));
            at += i + 1;
        }
    }
    let mut source_full = controller_path(ctx, key.to_owned());
    if trailing {
        source_full.push('/');
    }
    let mut dest = args.path(&["dest"], ctx)?;
    if !dest.ends_with('/') {
        dest.push('/');
    }
    let force = args.bool("force", true)?;
    let mut changed = false;
    let mut last: Option<Vars> = None;
    for r in rel {
        let file_key = format!("{key}/{r}");
        let bytes = ctx
            .files
            .read(&file_key)
            .map_err(|e| ModuleError::new(format!("could not find src={file_key}, {e}")))?;
        let bytes = super::copy::decrypted(args, bytes, &file_key)?;
        let source = Source {
            bytes,
            name: Some(land(r)),
            origin: Origin::Controller(controller_path(ctx, file_key)),
        };
        let Some(res) = copy_file(ctx, args, &dest, &source, force)? else {
            continue;
        };
        if res.get("failed") == Some(&json!(true)) {
            return Ok(Outcome::new(res));
        }
        changed |= res.get("changed") == Some(&json!(true));
        last = Some(res);
    }
    for d in &dirs {
        let res = file_module(ctx, args, &format!("{dest}{d}"), "directory")?;
        if res.get("failed") == Some(&json!(true)) {
            return Ok(Outcome::new(res));
        }
        changed |= res.get("changed") == Some(&json!(true));
        last = Some(res);
    }
    match last {
        Some(mut r) if rel.len() == 1 => {
            if let (Some(path), None) = (r.get("path").cloned(), r.get("dest")) {
                r.insert("dest".into(), path);
            }
            Ok(Outcome::new(r))
        }
        _ => Ok(Outcome::new(super::result([
            ("dest", json!(dest)),
            ("src", json!(source_full)),
            ("changed", json!(changed)),
        ]))),
    }
}

/// The file module with the task's file attributes on `path` (`mode`
/// being `directory_mode` for directories), as the copy action runs it.
fn file_module(ctx: &ModuleCtx, args: &Args, path: &str, state: &str) -> Result<Vars, ModuleError> {
    let mut a = Vars::new();
    a.insert("path".into(), json!(path));
    a.insert("state".into(), json!(state));
    let mode = if state == "directory" {
        args.get("directory_mode")
    } else {
        args.get("mode")
    };
    for (k, v) in [
        ("mode", mode),
        ("owner", args.get("owner")),
        ("group", args.get("group")),
    ] {
        if let Some(v) = v {
            a.insert(k.into(), v.clone());
        }
    }
    Ok(super::file::File.run(ctx, &Args(&a))?.result)
}

/// The action's `_copy_file` for one file of the tree (its `name` the
/// path under `dest`), then the copy module on the host: `None` when
/// `force: false` leaves an existing file.
fn copy_file(
    ctx: &ModuleCtx,
    args: &Args,
    dest: &str,
    source: &Source,
    force: bool,
) -> Result<Option<Vars>, ModuleError> {
    let dest_file = format!("{dest}{}", source.name.as_deref().unwrap_or_default());
    let old = stat(ctx, &dest_file, false)?;
    if old.is_some() && !force {
        return Ok(None);
    }
    let old_content = match &old {
        Some(s) if s.kind == FileKind::File => Some(
            ctx.target
                .read_file(&dest_file)
                .map_err(|e| io_error("reading", &dest_file, e))?,
        ),
        _ => None,
    };
    let checksum = sha1_hex(&source.bytes);
    if old_content.as_deref().map(sha1_hex).as_ref() == Some(&checksum) {
        let mut r = file_module(ctx, args, &dest_file, "file")?;
        r.entry("checksum").or_insert(json!(checksum));
        // The action's result starts with an empty diff list.
        r.entry("diff").or_insert(json!([]));
        return Ok(Some(r));
    }
    let mut r = Vars::new();
    let diffs = match (ctx.diff, diff(&dest_file, old_content.as_deref(), source)) {
        (true, Some(Json::Array(d))) => d,
        _ => Vec::new(),
    };
    r.insert("diff".into(), Json::Array(diffs));
    if ctx.check {
        r.insert("changed".into(), json!(true));
        return Ok(Some(r));
    }
    // The copy module: missing directories first, with directory_mode.
    make_parents(ctx, args, &dest_file)?;
    let base_mode = old.as_ref().map_or(0o644, |s| s.mode);
    let mode = match args.get("mode") {
        Some(spec) => Some(parse_mode(spec, base_mode, false).map_err(ModuleError)?),
        None => None,
    };
    let backup = match install(ctx, args, &dest_file, &source.bytes, mode, old.is_some())? {
        Err(invalid) => return Ok(Some(invalid)),
        Ok(backup) => backup,
    };
    let changed = FileArgs::owner_only(args)?.apply(ctx, &dest_file, true, None)?;
    let mut module = report(ctx, &dest_file, &source.bytes, changed, mode)?;
    module.insert("md5sum".into(), json!(md5_hex(&source.bytes)));
    if let Some(backup) = backup {
        module.insert("backup_file".into(), json!(backup));
    }
    r.extend(module);
    Ok(Some(r))
}

/// copy.py's `split_pre_existing_dir` and
/// `adjust_recursive_directory_permissions`: the missing parents of
/// `path` made, each given `directory_mode`, owner and group.
fn make_parents(ctx: &ModuleCtx, args: &Args, path: &str) -> Result<(), ModuleError> {
    let parent = match path.rfind('/') {
        Some(0) | None => return Ok(()),
        Some(i) => &path[..i],
    };
    let mut missing = Vec::new();
    let mut cur = parent;
    while stat(ctx, cur, true)?.is_none() {
        missing.push(cur);
        match cur.rfind('/') {
            Some(0) | None => break,
            Some(i) => cur = &cur[..i],
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    ctx.target
        .create_dir_all(parent, None)
        .map_err(|e| io_error("creating", parent, e))?;
    let mut a = Vars::new();
    for (k, key) in [
        ("mode", "directory_mode"),
        ("owner", "owner"),
        ("group", "group"),
    ] {
        if let Some(v) = args.get(key) {
            a.insert(k.into(), v.clone());
        }
    }
    let attrs = Args(&a);
    let attrs = FileArgs::read(&attrs)?;
    for dir in missing.into_iter().rev() {
        attrs.apply(ctx, dir, true, None)?;
    }
    Ok(())
}

/// The copy module with `remote_src` and a directory `src` on the host.
pub fn from_host(ctx: &ModuleCtx, args: &Args, src: &str) -> ModuleResult {
    let params_dest = args.path(&["dest"], ctx)?;
    let mut dest = params_dest.clone();
    let exit = |r: Vars| -> ModuleResult {
        let mut r = r;
        add_path_info(ctx, &mut r)?;
        Ok(Outcome::new(r))
    };
    let mut changed = false;
    if dest.ends_with('/') {
        let dirname = dest.trim_end_matches('/');
        if !dirname.is_empty() && stat(ctx, dirname, true)?.is_none() {
            if ctx.check {
                return exit(super::result([
                    (
                        "msg",
                        json!(format!("dest directory {dirname} would be created")),
                    ),
                    ("changed", json!(true)),
                    ("src", json!(src)),
                ]));
            }
            make_parents(ctx, args, &dest)?;
            changed = true;
        }
    }
    if is_dir(ctx, &dest)? {
        let base = src.rsplit('/').next().unwrap_or(src);
        dest = format!("{}/{base}", dest.trim_end_matches('/'));
        if base.is_empty() {
            dest = format!("{}/", params_dest.trim_end_matches('/'));
        }
    }
    if stat(ctx, &dest, true)?.is_some() {
        if !args.bool("force", true)? {
            return exit(super::result([
                ("msg", json!("file already exists")),
                ("src", json!(src)),
                ("dest", json!(dest)),
                ("changed", json!(false)),
            ]));
        }
    } else {
        let parent = match dest.trim_end_matches('/').rfind('/') {
            Some(0) => "/",
            Some(i) => &dest[..i],
            None => ".",
        };
        if stat(ctx, parent, true)?.is_none() {
            return Err(ModuleError::new(format!(
                "Destination directory {parent} does not exist"
            )));
        }
    }
    let both_dirs = stat(ctx, &params_dest, true)?.is_none_or(|s| s.kind == FileKind::Dir);
    if both_dirs {
        let (from, to) = if src.ends_with('/') {
            (src.trim_end_matches('/').to_owned(), params_dest.clone())
        } else {
            let base = src.rsplit('/').next().unwrap_or(src);
            (
                src.to_owned(),
                format!("{}/{base}", params_dest.trim_end_matches('/')),
            )
        };
        let tree = HostTree {
            ctx,
            owner: FileArgs::owner_only(args)?,
        };
        changed |= tree.copy_directory(&from, to.trim_end_matches('/'))?;
    }
    let mut r = super::result([
        ("dest", json!(dest)),
        ("src", json!(src)),
        ("md5sum", Json::Null),
        ("checksum", Json::Null),
        ("changed", json!(changed)),
    ]);
    let changed = FileArgs::read(args)?.apply(ctx, &dest, changed, None)?;
    r.insert("changed".into(), json!(changed));
    exit(r)
}

fn is_dir(ctx: &ModuleCtx, path: &str) -> Result<bool, ModuleError> {
    Ok(stat(ctx, path, true)?.is_some_and(|s| s.kind == FileKind::Dir))
}

/// copy.py's `copy_directory` and its helpers, through the target.
struct HostTree<'a, 'b> {
    ctx: &'a ModuleCtx<'b>,
    owner: FileArgs<'a>,
}

impl HostTree<'_, '_> {
    fn copy_directory(&self, src: &str, dest: &str) -> Result<bool, ModuleError> {
        if stat(self.ctx, dest, false)?.is_none() {
            if !self.ctx.check {
                self.copytree(src, dest)?;
                self.chown_recursive(dest)?;
            }
            return Ok(true);
        }
        let mut changed = self.diff_and_left(src, dest)?;
        changed |= self.common_dirs(src, dest)?;
        changed |= self.chown_recursive(dest)?;
        Ok(changed)
    }

    /// `copy_diff_files` and `copy_left_only` of one directory level.
    fn diff_and_left(&self, src: &str, dest: &str) -> Result<bool, ModuleError> {
        let ctx = self.ctx;
        let mut changed = false;
        for name in self.list(src)? {
            let (s, d) = (format!("{src}/{name}"), format!("{dest}/{name}"));
            let (Some(sst), dst) = (stat(ctx, &s, true)?, stat(ctx, &d, true)?) else {
                continue;
            };
            match dst {
                // diff_files: common files whose contents differ.
                Some(dst) if dst.kind == FileKind::File && sst.kind == FileKind::File => {
                    if self.read(&s)? != self.read(&d)? {
                        if !ctx.check {
                            self.copy_file(&s, &d, sst.mode, None)?;
                        }
                        changed = true;
                    }
                }
                Some(_) => {}
                // left_only
                None => {
                    if !ctx.check {
                        if sst.kind == FileKind::Dir {
                            self.copytree(&s, &d)?;
                            self.chown_recursive(&d)?;
                        } else {
                            self.copy_file(&s, &d, sst.mode, None)?;
                        }
                    }
                    changed = true;
                }
            }
        }
        Ok(changed)
    }

    /// `copy_common_dirs`: into each directory both sides have.
    fn common_dirs(&self, src: &str, dest: &str) -> Result<bool, ModuleError> {
        let mut changed = false;
        for name in self.list(src)? {
            let (s, d) = (format!("{src}/{name}"), format!("{dest}/{name}"));
            if is_dir(self.ctx, &s)? && is_dir(self.ctx, &d)? {
                changed |= self.diff_and_left(&s, &d)?;
                changed |= self.common_dirs(&s, &d)?;
            }
        }
        Ok(changed)
    }

    /// `shutil.copytree`: directories and files with their modes and
    /// (files) times.
    fn copytree(&self, src: &str, dest: &str) -> Result<(), ModuleError> {
        let t = self.ctx.target;
        let mode = stat(self.ctx, src, true)?.map(|s| s.mode);
        t.create_dir_all(dest, None)
            .map_err(|e| io_error("creating", dest, e))?;
        for name in self.list(src)? {
            let (s, d) = (format!("{src}/{name}"), format!("{dest}/{name}"));
            match stat(self.ctx, &s, true)? {
                Some(st) if st.kind == FileKind::Dir => self.copytree(&s, &d)?,
                Some(st) => self.copy_file(&s, &d, st.mode, Some((st.atime, st.mtime)))?,
                None => {}
            }
        }
        if let Some(mode) = mode {
            t.set_mode(dest, mode)
                .map_err(|e| io_error("setting the mode of", dest, e))?;
        }
        Ok(())
    }

    fn copy_file(
        &self,
        src: &str,
        dest: &str,
        mode: u32,
        times: Option<(f64, f64)>,
    ) -> Result<(), ModuleError> {
        let t = self.ctx.target;
        let bytes = self.read(src)?;
        t.write_file(dest, &bytes, Some(mode))
            .map_err(|e| io_error("writing", dest, e))?;
        if times.is_some() {
            t.set_times(dest, times)
                .map_err(|e| io_error("setting the times of", dest, e))?;
        }
        self.owner.apply(self.ctx, dest, false, None)?;
        Ok(())
    }

    /// `chown_recursive`: the owner and group of every path of the tree.
    fn chown_recursive(&self, root: &str) -> Result<bool, ModuleError> {
        let mut paths = vec![root.to_owned()];
        os_walk(self.ctx.target, root, false, |dir, dirs, files| {
            paths.extend(dirs.iter().chain(files).map(|n| format!("{dir}/{n}")));
            true
        });
        let mut changed = false;
        for p in paths {
            changed |= self.owner.apply(self.ctx, &p, false, None)?;
        }
        Ok(changed)
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, ModuleError> {
        let mut names = self
            .ctx
            .target
            .list_dir(dir)
            .map_err(|e| io_error("listing", dir, e))?;
        names.sort();
        Ok(names)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, ModuleError> {
        self.ctx
            .target
            .read_file(path)
            .map_err(|e| io_error("reading", path, e))
    }
}
