//! `archive`: a port of community.general's archive.py (which ansible-core
//! 2.19 routes `archive` to). The Python module's logic is kept: `path`'s
//! globs expanded (only `*`/`?` make a path a glob, as in the module),
//! `exclude_path` taken away, the archive root the sources' common
//! directory, a walk of each source directory (os.walk's order, the
//! directory itself left out as Python leaves it out), `exclusion_patterns`
//! matched against the member name (tar) or the source path (zip), a
//! single file compressed rather than archived unless `force_archive`,
//! `changed` decided by comparing the destination's members (tar: name and
//! header checksum; zip: name and CRC-32; a compressed file: the CRC-32 of
//! its content) before and after, `remove`, mode/owner/group, and the same
//! result keys (`archived`, `missing`, `expanded_paths`,
//! `expanded_exclude_paths`, `arcroot`, `dest_state` and the destination's
//! attributes) and messages. Where Python writes the archive with its
//! `tarfile`, `zipfile`, `gzip`, `bz2` and `lzma` libraries, this port runs
//! the host's GNU `tar` (gnu format, the member list fed on stdin, no
//! recursion), Info-ZIP `zip` (the list on stdin, wildcards off, links
//! followed like `zipfile`) and `gzip`/`bzip2`/`xz`, so nothing is copied
//! through the controller and the runner carries no compression code; the
//! members (names, types, modes, owners, contents) are Python's, the bytes
//! of the headers are not. The destination is truncated in place, as
//! Python opens it, so it keeps its mode and owner. Left out: SELinux
//! (`seuser`, `serole`, `setype`, `selevel`) and `attributes`, which fail
//! clearly; zip archives over 4 GiB depend on the host's `zip`.

use std::collections::BTreeSet;

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::fileattrs::{FileArgs, add_path_info, os_walk, stat};
use super::unarchive::{fnmatch, zip_entries};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::{ExecRequest, FileKind};
use crate::util::pypath::join;

pub struct Archive;

const FORMATS: &[&str] = &["bz2", "gz", "tar", "xz", "zip"];

impl Module for Archive {
    fn params(&self) -> &'static [&'static str] {
        &[
            "path",
            "format",
            "dest",
            "exclude_path",
            "exclusion_patterns",
            "force_archive",
            "remove",
            "mode",
            "owner",
            "group",
            "seuser",
            "serole",
            "selevel",
            "setype",
            "attributes",
            "attr",
            "unsafe_writes",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let home = || ctx.target.home();
        let expand = |v: Vec<String>| -> Vec<String> {
            v.iter()
                .map(|p| super::args::expand_user(p, home))
                .collect()
        };
        let paths = expand(
            args.list(&["path"])?
                .ok_or_else(|| ModuleError::new("missing required arguments: path"))?,
        );
        let format = args
            .choice("format", FORMATS)?
            .unwrap_or_else(|| "gz".to_owned());
        let dest = args
            .string(&["dest"])?
            .map(|d| super::args::expand_user(&d, home));
        let exclude_path = expand(args.list(&["exclude_path"])?.unwrap_or_default());
        let exclusion_patterns = args.list(&["exclusion_patterns"])?.unwrap_or_default();
        let force_archive = args.bool("force_archive", false)?;
        let remove = args.bool("remove", false)?;
        for key in [
            "seuser",
            "serole",
            "selevel",
            "setype",
            "attributes",
            "attr",
        ] {
            if args.get(key).is_some() {
                return Err(ModuleError::new(format!(
                    "{key} is not supported by rustle's archive module"
                )));
            }
        }
        args.bool("unsafe_writes", false)?;
        let file_args = FileArgs::read(args)?;

        let mut a = Job {
            ctx,
            format: &format,
            exclusion_patterns,
            destination: dest,
            changed: false,
            dest_state: "absent",
            successes: Vec::new(),
            targets: Vec::new(),
            not_found: Vec::new(),
            root: String::new(),
            paths: Vec::new(),
        };
        let (expanded_paths, has_globs) = expand_paths(ctx, &paths)?;
        let (expanded_exclude_paths, _) = expand_paths(ctx, &exclude_path)?;
        let mut sources: Vec<String> = expanded_paths
            .iter()
            .filter(|p| !expanded_exclude_paths.contains(p))
            .cloned()
            .collect();
        sources.sort();
        sources.dedup();
        if sources.is_empty() {
            return failed(
                ctx,
                "Error, no source paths were found",
                [
                    ("path", json!(paths.join(", "))),
                    ("expanded_paths", json!(expanded_paths.join(", "))),
                    (
                        "expanded_exclude_paths",
                        json!(expanded_exclude_paths.join(", ")),
                    ),
                ],
            );
        }
        a.root = common_path(&sources);
        let must_archive =
            force_archive || has_globs || is_dir(ctx, &sources[0])? || sources.len() > 1;
        if a.destination.is_none() && !must_archive {
            a.destination = Some(format!("{}.{format}", sources[0]));
        }
        let Some(dest) = a.destination.clone() else {
            return failed(
                ctx,
                "Error, must specify \"dest\" when archiving multiple files or trees",
                [("dest", json!("None")), ("path", json!(paths.join(", ")))],
            );
        };
        a.paths = sources;
        if remove {
            for path in &a.paths {
                if is_dir(ctx, path)?
                    && dest.starts_with(&format!("{}/", path.trim_end_matches('/')))
                {
                    return failed(
                        ctx,
                        "Error, created archive can not be contained in source paths when remove=true",
                        [("path", json!(a.paths.join(", ")))],
                    );
                }
            }
        }
        let original_checksums = a.checksums(&dest)?;
        let original_size = a.size(&dest)?;

        for path in &a.paths {
            if stat(ctx, path, false)?.is_some() {
                a.targets.push(path.clone());
            } else {
                a.not_found.push(path.clone());
            }
        }

        if a.targets.is_empty() {
            if a.exists(&dest)? {
                a.dest_state = if is_archive(&dest) {
                    "archive"
                } else {
                    "compress"
                };
            }
        } else if must_archive {
            if ctx.check {
                a.changed = true;
            } else {
                if let Some(out) = a.add_targets(&dest)? {
                    return Ok(out);
                }
                a.dest_state = if a.not_found.is_empty() {
                    "archive"
                } else {
                    "incomplete"
                };
                a.changed |= a.differs(&dest, original_checksums, original_size)?;
                if remove && let Some(out) = a.remove_targets(&dest)? {
                    return Ok(out);
                }
            }
        } else if ctx.check {
            if !a.exists(&dest)? {
                a.changed = true;
            }
        } else {
            let path = a.paths[0].clone();
            if let Some(out) = a.add_single_target(&path, &dest)? {
                return Ok(out);
            }
            a.changed |= a.differs(&dest, original_checksums, original_size)?;
            if remove && let Err(e) = ctx.target.remove(&path) {
                return failed(
                    ctx,
                    &format!(
                        "Unable to remove source file: {}",
                        crate::util::oserror::python_oserror(&e, &path)
                    ),
                    [("path", json!(path))],
                );
            }
        }
        if a.exists(&dest)? {
            a.changed = file_args.apply(ctx, &dest, a.changed, None)?;
        }
        let mut r = Vars::new();
        r.insert("archived".into(), json!(a.successes));
        r.insert("dest".into(), json!(dest));
        r.insert("dest_state".into(), json!(a.dest_state));
        r.insert("changed".into(), json!(a.changed));
        r.insert("arcroot".into(), json!(a.root));
        r.insert("missing".into(), json!(a.not_found));
        r.insert("expanded_paths".into(), json!(expanded_paths));
        r.insert(
            "expanded_exclude_paths".into(),
            json!(expanded_exclude_paths),
        );
        add_path_info(ctx, &mut r)?;
        Ok(Outcome::new(r))
    }
}

/// `fail_json` with more keys than `msg` (and the path's attributes, as
/// AnsibleModule adds them to a failure too).
fn failed<const N: usize>(ctx: &ModuleCtx, msg: &str, keys: [(&str, Json); N]) -> ModuleResult {
    let mut r = Vars::new();
    for (k, v) in keys {
        r.insert(k.to_owned(), v);
    }
    r.insert("msg".into(), json!(msg));
    r.insert("failed".into(), json!(true));
    r.insert("changed".into(), json!(false));
    add_path_info(ctx, &mut r)?;
    Ok(Outcome::new(r))
}

fn is_dir(ctx: &ModuleCtx, path: &str) -> Result<bool, ModuleError> {
    Ok(stat(ctx, path, true)?.is_some_and(|s| s.kind == FileKind::Dir))
}

/// One member to add: its path on the host, its name in the archive and
/// whether it is a directory (links followed, as zipfile sees it).
struct Member {
    path: String,
    name: String,
    is_dir: bool,
}

/// The module's `Archive` object.
struct Job<'a> {
    ctx: &'a ModuleCtx<'a>,
    format: &'a str,
    exclusion_patterns: Vec<String>,
    destination: Option<String>,
    changed: bool,
    dest_state: &'static str,
    successes: Vec<String>,
    targets: Vec<String>,
    not_found: Vec<String>,
    root: String,
    paths: Vec<String>,
}

impl Job<'_> {
    fn exists(&self, dest: &str) -> Result<bool, ModuleError> {
        Ok(stat(self.ctx, dest, true)?.is_some())
    }

    fn size(&self, dest: &str) -> Result<u64, ModuleError> {
        Ok(stat(self.ctx, dest, true)?.map_or(0, |s| s.size))
    }

    fn archive_format(&self) -> String {
        match self.format {
            "zip" | "tar" => self.format.to_owned(),
            other => format!("tar.{other}"),
        }
    }

    /// `add_targets`: every target, directories walked.
    fn add_targets(&mut self, dest: &str) -> Result<Option<Outcome>, ModuleError> {
        let mut members = Vec::new();
        for target in &self.targets {
            if is_dir(self.ctx, target)? {
                let mut found = Vec::new();
                os_walk(self.ctx.target, target, false, |root, dirs, files| {
                    for d in dirs.iter() {
                        found.push((format!("{root}/{d}"), true));
                    }
                    for f in files {
                        found.push((format!("{root}/{f}"), false));
                    }
                    true
                });
                for (path, is_dir) in found {
                    members.push(self.member(path, is_dir));
                }
            } else {
                members.push(self.member(target.clone(), false));
            }
        }
        self.write(dest, members)
    }

    fn member(&self, path: String, is_dir: bool) -> Member {
        let name = path.strip_prefix(&self.root).unwrap_or(&path).to_owned();
        Member { path, name, is_dir }
    }

    /// `add_single_target`: one file archived (zip, tar) or compressed.
    fn add_single_target(
        &mut self,
        path: &str,
        dest: &str,
    ) -> Result<Option<Outcome>, ModuleError> {
        if matches!(self.format, "zip" | "tar") {
            let is_dir = is_dir(self.ctx, path)?;
            let member = self.member(path.to_owned(), is_dir);
            let out = self.write(dest, vec![member])?;
            self.dest_state = "archive";
            return Ok(out);
        }
        let tool = compressor(self.format);
        let req = ExecRequest::new([
            "/bin/sh",
            "-c",
            &format!("{tool} -c -- \"$1\" > \"$2\""),
            "sh",
            path,
            dest,
        ]);
        let ran = self.exec(&req)?;
        if ran.rc != 0 {
            return failed(
                self.ctx,
                &format!(
                    "Unable to write to compressed file: {}",
                    String::from_utf8_lossy(&ran.stderr).trim_end()
                ),
                [("path", json!(path)), ("dest", json!(dest))],
            )
            .map(Some);
        }
        self.successes.push(path.to_owned());
        self.dest_state = "compress";
        Ok(None)
    }

    fn exec(&self, req: &ExecRequest) -> Result<crate::target::ExecOutput, ModuleError> {
        let mut req = req.clone();
        req.env.extend(self.ctx.env.iter().cloned());
        self.ctx
            .target
            .exec(&req)
            .map_err(|e| ModuleError::new(format!("{}: {e}", req.argv[0])))
    }

    /// Writes the archive of `members` (those the exclusion patterns
    /// leave) over `dest`, recording what it holds in `successes`.
    fn write(&mut self, dest: &str, members: Vec<Member>) -> Result<Option<Outcome>, ModuleError> {
        let zip = self.format == "zip";
        let kept: Vec<Member> = members
            .into_iter()
            .filter(|m| {
                let subject = if zip {
                    m.path.clone()
                } else {
                    m.name.trim_start_matches('/').to_owned()
                };
                !self.exclusion_patterns.iter().any(|p| fnmatch(&subject, p))
            })
            .collect();
        if kept
            .iter()
            .any(|m| m.name.contains('\n') || m.name.contains('\0'))
        {
            return Err(ModuleError::new(
                "file names with newlines are not supported by rustle's archive module",
            ));
        }
        let cwd = if self.root.is_empty() {
            ".".to_owned()
        } else {
            self.root.clone()
        };
        let ran = if zip {
            let names: String = kept.iter().map(|m| format!("{}\n", m.name)).collect();
            if kept.is_empty() {
                // zip makes no empty archive; zipfile does: the end record alone.
                let mut empty = b"PK\x05\x06".to_vec();
                empty.extend([0u8; 18]);
                let req = ExecRequest::new(["/bin/sh", "-c", "cat > \"$1\"", "sh", dest]);
                let mut req = req;
                req.stdin = Some(empty);
                self.exec(&req)?
            } else {
                let mut req = ExecRequest::new([
                    "/bin/sh",
                    "-c",
                    "cd -- \"$1\" && exec zip -q -nw - -@ > \"$2\"",
                    "sh",
                    &cwd,
                    dest,
                ]);
                req.stdin = Some(names.into_bytes());
                self.exec(&req)?
            }
        } else {
            let mut argv: Vec<String> = ["tar", "--create", "--format=gnu", "--no-recursion"]
                .map(str::to_owned)
                .to_vec();
            match self.format {
                "gz" => argv.push("--gzip".into()),
                "bz2" => argv.push("--bzip2".into()),
                "xz" => argv.push("--xz".into()),
                _ => {}
            }
            argv.extend([
                "--file".to_owned(),
                dest.to_owned(),
                "--directory".to_owned(),
                cwd,
                "--null".to_owned(),
                "--verbatim-files-from".to_owned(),
                "--files-from".to_owned(),
                "-".to_owned(),
            ]);
            let mut req = ExecRequest::new(argv);
            let names: Vec<u8> = kept
                .iter()
                .flat_map(|m| m.name.bytes().chain([0]))
                .collect();
            req.stdin = Some(names);
            self.exec(&req)?
        };
        // GNU tar's 1: a file changed while it was read, which tarfile
        // does not notice either.
        if ran.rc != 0 && (zip || ran.rc != 1) {
            let msg = format!(
                "Error when writing {} archive at {dest}: {}",
                self.archive_format(),
                String::from_utf8_lossy(&ran.stderr).trim_end()
            );
            return failed(self.ctx, &msg, []).map(Some);
        }
        for m in kept {
            // zipfile names a directory `name/`, so `getinfo(name)` misses it.
            if !(zip && m.is_dir) {
                self.successes.push(m.path);
            }
        }
        Ok(None)
    }

    /// `remove_targets`: what was archived, then the source directories.
    fn remove_targets(&mut self, dest: &str) -> Result<Option<Outcome>, ModuleError> {
        let mut errors = Vec::new();
        for path in &self.successes {
            if stat(self.ctx, path, true)?.is_some() && self.ctx.target.remove(path).is_err() {
                errors.push(path.clone());
            }
        }
        for path in &self.paths {
            if is_dir(self.ctx, path)? && self.ctx.target.remove(path).is_err() {
                errors.push(path.clone());
            }
        }
        if errors.is_empty() {
            return Ok(None);
        }
        failed(
            self.ctx,
            "Error deleting some source files: ",
            [("dest", json!(dest)), ("files", json!(errors))],
        )
        .map(Some)
    }

    fn differs(
        &self,
        dest: &str,
        original: Option<BTreeSet<(String, u32)>>,
        original_size: u64,
    ) -> Result<bool, ModuleError> {
        Ok(match original {
            None => original_size != self.size(dest)?,
            Some(before) => Some(before) != self.checksums(dest)?,
        })
    }

    /// `destination_checksums`: `None` when there is no destination.
    fn checksums(&self, dest: &str) -> Result<Option<BTreeSet<(String, u32)>>, ModuleError> {
        if !self.exists(dest)? {
            return Ok(None);
        }
        let read = || {
            self.ctx
                .target
                .read_file(dest)
                .map_err(|e| ModuleError::new(crate::util::oserror::python_oserror(&e, dest)))
        };
        let sums = match self.format {
            "zip" => match zip_entries(&read()?) {
                Ok(entries) => entries.into_iter().map(|e| (e.name, e.crc)).collect(),
                Err(_) => BTreeSet::new(),
            },
            "tar" => match tar_checksums(&read()?) {
                Some(sums) => sums,
                None => return Err(ModuleError::new("tar is not a valid format")),
            },
            format => {
                let req = ExecRequest::new([compressor(format), "-dc", "--", dest]);
                let ran = self.exec(&req)?;
                if ran.rc != 0 {
                    BTreeSet::new()
                } else {
                    tar_checksums(&ran.stdout).unwrap_or_else(|| {
                        BTreeSet::from([(String::new(), crc32fast::hash(&ran.stdout))])
                    })
                }
            }
        };
        Ok(Some(sums))
    }
}

fn compressor(format: &str) -> &'static str {
    match format {
        "bz2" => "bzip2",
        "xz" => "xz",
        _ => "gzip",
    }
}

/// The `(name, header checksum)` of each member of a tar stream, as
/// Python's `tarfile` reads them; `None` when it is not a tar archive
/// (tarfile's `ReadError` at the first header).
fn tar_checksums(b: &[u8]) -> Option<BTreeSet<(String, u32)>> {
    let mut out = BTreeSet::new();
    let mut offset = 0usize;
    let mut long_name: Option<String> = None;
    loop {
        let first = offset == 0;
        let Some(block) = b.get(offset..offset + 512) else {
            return if first { None } else { Some(out) };
        };
        if block.iter().all(|&c| c == 0) {
            return Some(out);
        }
        let Some(chksum) = octal(&block[148..156]) else {
            return if first { None } else { Some(out) };
        };
        let unsigned: u64 = 256
            + block[..148].iter().map(|&c| u64::from(c)).sum::<u64>()
            + block[156..].iter().map(|&c| u64::from(c)).sum::<u64>();
        let signed: i64 = 256
            + block[..148]
                .iter()
                .map(|&c| i64::from(c as i8))
                .sum::<i64>()
            + block[156..]
                .iter()
                .map(|&c| i64::from(c as i8))
                .sum::<i64>();
        if chksum != unsigned && i64::try_from(chksum).ok() != Some(signed) {
            return if first { None } else { Some(out) };
        }
        let size = usize::try_from(octal(&block[124..136]).unwrap_or(0)).unwrap_or(usize::MAX);
        let kind = block[156];
        let data_start = offset + 512;
        let data_len = size.div_ceil(512).saturating_mul(512);
        let data = b.get(data_start..data_start.saturating_add(size));
        let nts = |s: &[u8]| {
            let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
            String::from_utf8_lossy(&s[..end]).into_owned()
        };
        match kind {
            b'L' => long_name = data.map(nts),
            b'K' | b'g' => {}
            b'x' => {
                if let Some(path) = data.and_then(pax_path) {
                    long_name = Some(path);
                }
            }
            _ => {
                let mut name = match long_name.take() {
                    Some(n) => n,
                    None => {
                        let name = nts(&block[..100]);
                        let prefix = nts(&block[345..500]);
                        if &block[257..263] == b"ustar\0" && !prefix.is_empty() {
                            format!("{prefix}/{name}")
                        } else {
                            name
                        }
                    }
                };
                let is_dir = kind == b'5' || (matches!(kind, 0 | b'0') && name.ends_with('/'));
                if is_dir {
                    name = name.trim_end_matches('/').to_owned();
                }
                out.insert((name, chksum as u32));
            }
        }
        // Only regular files (and unknown types) carry data in tarfile's eyes.
        let carries = matches!(kind, 0 | b'0' | b'7' | b'L' | b'K' | b'x' | b'g')
            || !b"123456".contains(&kind);
        offset = data_start + if carries { data_len } else { 0 };
    }
}

/// The `path` record of a pax extended header.
fn pax_path(data: &[u8]) -> Option<String> {
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest.iter().position(|&c| c == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
        let record = rest.get(sp + 1..len)?;
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(v) = record.strip_prefix(b"path=") {
            return Some(String::from_utf8_lossy(v).into_owned());
        }
        rest = rest.get(len..)?;
    }
    None
}

/// tarfile's `nti`: an octal field (or GNU base-256).
fn octal(field: &[u8]) -> Option<u64> {
    if matches!(field.first(), Some(0o200 | 0o377)) {
        let mut n: u64 = 0;
        for &c in &field[1..] {
            n = (n << 8) | u64::from(c);
        }
        return Some(n);
    }
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    let s = std::str::from_utf8(&field[..end]).ok()?.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// `expand_paths`: `*` or `?` make a path a glob, expanded on the host.
fn expand_paths(ctx: &ModuleCtx, paths: &[String]) -> Result<(Vec<String>, bool), ModuleError> {
    let mut out = Vec::new();
    let mut globby = false;
    for path in paths {
        if path.contains(['*', '?']) {
            out.extend(glob(ctx, path, false)?);
            globby = true;
        } else {
            out.push(path.clone());
        }
    }
    Ok((out, globby))
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Python's `os.path.split`.
fn split(path: &str) -> (String, String) {
    let i = path.rfind('/').map_or(0, |i| i + 1);
    let (head, tail) = path.split_at(i);
    let head = if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/')
    } else {
        head
    };
    (head.to_owned(), tail.to_owned())
}

/// `os.path.dirname`.
fn dirname(path: &str) -> String {
    split(path).0
}

/// Python's `glob.glob` (not recursive), listing through the target in
/// the filesystem's order; names starting with `.` only match patterns
/// that do.
fn glob(ctx: &ModuleCtx, pattern: &str, dironly: bool) -> Result<Vec<String>, ModuleError> {
    let (dir, base) = split(pattern);
    if !has_magic(pattern) {
        let found = if base.is_empty() {
            is_dir(ctx, &dir)?
        } else {
            stat(ctx, pattern, false)?.is_some()
        };
        return Ok(if found {
            vec![pattern.to_owned()]
        } else {
            Vec::new()
        });
    }
    let dirs = if dir.is_empty() {
        vec![String::new()]
    } else if dir != pattern && has_magic(&dir) {
        glob(ctx, &dir, true)?
    } else {
        vec![dir.clone()]
    };
    let mut out = Vec::new();
    for d in dirs {
        let names = if has_magic(&base) {
            let listed = ctx
                .target
                .list_dir(if d.is_empty() { "." } else { &d })
                .unwrap_or_default();
            let mut names = Vec::new();
            for name in listed {
                if name.starts_with('.') && !base.starts_with('.') {
                    continue;
                }
                if dironly && !is_dir(ctx, &join(&d, &name))? {
                    continue;
                }
                if fnmatch(&name, &base) {
                    names.push(name);
                }
            }
            names
        } else if base.is_empty() {
            if is_dir(ctx, &d)? {
                vec![base.clone()]
            } else {
                Vec::new()
            }
        } else if stat(ctx, &join(&d, &base), false)?.is_some() {
            vec![base.clone()]
        } else {
            Vec::new()
        };
        out.extend(names.into_iter().map(|n| join(&d, &n)));
    }
    Ok(out)
}

/// `common_path`: the directory all the paths' directories share, with a
/// trailing `/` (character-wise, as `os.path.commonprefix`).
fn common_path(paths: &[String]) -> String {
    let dirs: Vec<String> = paths.iter().map(|p| join(&dirname(p), "")).collect();
    let first = &dirs[0];
    let mut len = first.len();
    for d in &dirs[1..] {
        len = first
            .char_indices()
            .zip(d.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(len);
    }
    join(&dirname(&first[..len]), "")
}

/// `is_archive`: the name says it is an archive.
fn is_archive(path: &str) -> bool {
    let base = split(path).1.to_lowercase();
    [
        ".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".zip",
    ]
    .iter()
    .any(|ext| base.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_as_python() {
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(common_path(&v(&["/a/b/c", "/a/bd/e"])), "/a/");
        assert_eq!(common_path(&v(&["/a/b/c"])), "/a/b/");
        assert_eq!(common_path(&v(&["/a/b/c", "/a/b/d"])), "/a/b/");
        assert_eq!(common_path(&v(&["/x", "/y"])), "/");
        assert_eq!(common_path(&v(&["rel"])), "");
    }

    #[test]
    fn splits_as_python() {
        assert_eq!(split("/a/b"), ("/a".into(), "b".into()));
        assert_eq!(split("/a"), ("/".into(), "a".into()));
        assert_eq!(split("a"), ("".into(), "a".into()));
        assert_eq!(split("/a/b/"), ("/a/b".into(), "".into()));
    }

    #[test]
    fn archive_names() {
        assert!(is_archive("/x/a.TAR.GZ"));
        assert!(is_archive("a.zip"));
        assert!(!is_archive("a.gz"));
    }

    #[test]
    fn tar_headers() {
        let mut h = vec![0u8; 512];
        h[..5].copy_from_slice(b"a.txt");
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(b"00000000003");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&c| u32::from(c)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        let mut tar = h.clone();
        tar.extend(b"abc");
        tar.resize(1024 + 1024, 0);
        let sums = tar_checksums(&tar).unwrap();
        assert_eq!(
            sums.into_iter().collect::<Vec<_>>(),
            [("a.txt".into(), sum)]
        );
        assert!(tar_checksums(b"not a tar").is_none());
        assert!(tar_checksums(&[b'x'; 600]).is_none());
        assert_eq!(tar_checksums(&[0; 1024]).unwrap().len(), 0);
    }
}
