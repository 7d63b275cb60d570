//! `find`: a port of ansible-core's find.py. Walks each path as Python's
//! `os.walk` does (top-down, files then directories of each directory, in
//! the filesystem's order) and keeps what passes every filter: patterns
//! (globs or regexes) and excludes, file type, age, size, contents, mode,
//! depth and hidden names; reports each match with `statinfo`'s keys.

use std::cell::OnceCell;

use regex::Regex;
use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::args::Args;
use super::fileattrs::{Accounts, Db, os_walk};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::target::{FileKind, FileStat};
use crate::util::mode::parse_mode;
use crate::util::oserror::python_oserror;
use crate::util::sha1::{md5_hex, sha1_hex};

pub struct Find;

const S_IFDIR: u32 = 0o040000;
const S_IFCHR: u32 = 0o020000;
const S_IFBLK: u32 = 0o060000;
const S_IFREG: u32 = 0o100000;
const S_IFIFO: u32 = 0o010000;
const S_IFLNK: u32 = 0o120000;
const S_IFSOCK: u32 = 0o140000;

impl Module for Find {
    fn params(&self) -> &'static [&'static str] {
        &[
            "paths",
            "name",
            "path",
            "patterns",
            "pattern",
            "excludes",
            "exclude",
            "contains",
            "read_whole_file",
            "file_type",
            "age",
            "age_stamp",
            "size",
            "recurse",
            "hidden",
            "follow",
            "get_checksum",
            "checksum_algorithm",
            "checksum",
            "checksum_algo",
            "use_regex",
            "depth",
            "mode",
            "exact_mode",
            "encoding",
            "limit",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let paths = args
            .list(&["paths", "name", "path"])?
            .ok_or_else(|| ModuleError::new("missing required arguments: paths"))?;
        let use_regex = args.bool("use_regex", false)?;
        let patterns = match args.list(&["patterns", "pattern"])? {
            Some(p) if !p.is_empty() => p,
            _ => vec![if use_regex { ".*" } else { "*" }.to_owned()],
        };
        let excludes = args.list(&["excludes", "exclude"])?.unwrap_or_default();
        let names = NameFilter::new(&patterns, &excludes, use_regex)?;
        let file_type = args
            .choice("file_type", &["any", "directory", "file", "link"])?
            .unwrap_or_else(|| "file".to_owned());
        let age_stamp = args
            .choice("age_stamp", &["atime", "ctime", "mtime"])?
            .unwrap_or_else(|| "mtime".to_owned());
        let age = unit_arg(
            args,
            "age",
            &[
                ("s", 1),
                ("m", 60),
                ("h", 3600),
                ("d", 86400),
                ("w", 604_800),
            ],
        )?;
        let size = unit_arg(
            args,
            "size",
            &[
                ("b", 1),
                ("k", 1 << 10),
                ("m", 1 << 20),
                ("g", 1 << 30),
                ("t", 1 << 40),
            ],
        )?;
        let contains = match args.string(&["contains"])? {
            Some(c) => Some(compile(&c)?),
            None => None,
        };
        let algorithm = args
            .string(&["checksum_algorithm", "checksum", "checksum_algo"])?
            .unwrap_or_else(|| "sha1".to_owned());
        let limit = args.int("limit")?;
        if let Some(l) = limit.filter(|l| *l <= 0) {
            return Err(ModuleError::new(format!(
                "limit cannot be {l} (use None for unlimited)"
            )));
        }
        let search = Search {
            ctx,
            names,
            file_type,
            age: age.map(|a| (a, age_stamp)),
            size,
            contains,
            whole_file: args.bool("read_whole_file", false)?,
            mode: args.string(&["mode"])?,
            exact_mode: args.bool("exact_mode", true)?,
            checksum: args.bool("get_checksum", false)?.then_some(algorithm),
            hidden: args.bool("hidden", false)?,
            recurse: args.bool("recurse", false)?,
            follow: args.bool("follow", false)?,
            depth: args.int("depth")?.filter(|d| *d != 0),
            limit: limit.map(|l| l as usize),
            now: crate::util::time::now(),
            accounts: OnceCell::new(),
        };
        let mut found = Found::default();
        for path in &paths {
            let path = super::args::expand_user(path, || ctx.target.home());
            if let Err(why) = search.walk(&path, &mut found) {
                found.warnings.push(format!(
                    "Skipped '{path}' path due to this access issue: {why}\n"
                ));
                found.skipped.insert(path.clone(), json!(why));
            }
        }
        let msg = if !found.warnings.is_empty() {
            "Not all paths examined, check warnings for details"
        } else if search.limit == Some(found.files.len()) {
            "Limit of matches reached"
        } else {
            "All paths examined"
        };
        let matched = found.files.len();
        let mut r = result([
            ("files", Json::Array(found.files)),
            ("changed", json!(false)),
            ("msg", json!(msg)),
            ("matched", json!(matched)),
            ("examined", json!(found.looked)),
            ("skipped_paths", Json::Object(found.skipped)),
        ]);
        if !found.warnings.is_empty() {
            r.insert("warnings".into(), json!(found.warnings));
        }
        Ok(Outcome::new(r))
    }
}

#[derive(Default)]
struct Found {
    files: Vec<Json>,
    looked: usize,
    skipped: Vars,
    warnings: Vec<String>,
}

struct Search<'a, 'b> {
    ctx: &'a ModuleCtx<'b>,
    names: NameFilter,
    file_type: String,
    age: Option<(i64, String)>,
    size: Option<i64>,
    contains: Option<Regex>,
    whole_file: bool,
    mode: Option<String>,
    exact_mode: bool,
    checksum: Option<String>,
    hidden: bool,
    recurse: bool,
    follow: bool,
    depth: Option<i64>,
    limit: Option<usize>,
    now: f64,
    /// Names for `pw_name`/`gr_name`, read once per task.
    accounts: OnceCell<Accounts>,
}

impl Search<'_, '_> {
    /// One of `paths`, walked like `os.walk(top, followlinks=follow)`.
    fn walk(&self, top: &str, found: &mut Found) -> Result<(), String> {
        let target = self.ctx.target;
        if !matches!(target.stat(top, true), Ok(Some(s)) if s.kind == FileKind::Dir) {
            return Err(format!("'{top}' is not a directory"));
        }
        let top_seps = format!("{}/", top.trim_end_matches('/'))
            .matches('/')
            .count() as i64;
        let mut failure = None;
        let errors = os_walk(target, top, self.follow, |root, dirs, files| {
            found.looked += files.len() + dirs.len();
            let mut prune = false;
            for name in files.iter().chain(dirs.iter()) {
                let full = format!("{root}/{name}");
                if let Some(max) = self.depth
                    && full.matches('/').count() as i64 - top_seps + 1 > max
                {
                    prune = true;
                    continue;
                }
                if name.starts_with('.') && !self.hidden {
                    continue;
                }
                let Ok(Some(st)) = target.stat(&full, false) else {
                    found.skipped.insert(full.clone(), json!("cannot stat"));
                    continue;
                };
                if self.keeps(name, &full, &st) {
                    let mut info = self.statinfo(&full, &st);
                    if st.ifmt == S_IFREG
                        && let Some(algorithm) = &self.checksum
                    {
                        match self.digest(&full, algorithm) {
                            Ok(sum) => info.insert("checksum".into(), json!(sum)),
                            Err(why) => {
                                failure = Some(why);
                                return false;
                            }
                        };
                    }
                    found.files.push(Json::Object(info));
                }
                if self.limit == Some(found.files.len()) {
                    return false;
                }
            }
            if prune {
                // `del dirs[:]`: nothing below this directory.
                dirs.clear();
            }
            self.recurse
        });
        for (dir, err) in errors {
            found
                .skipped
                .insert(dir.clone(), json!(python_oserror(&err, &dir)));
        }
        failure.map_or(Ok(()), Err)
    }

    /// The filters find.py applies for the wanted file type.
    fn keeps(&self, name: &str, full: &str, st: &FileStat) -> bool {
        let common = |s: &Self| s.names.matches(name) && s.age_ok(st) && s.mode_ok(st);
        match self.file_type.as_str() {
            "any" => common(self) && (st.ifmt != S_IFREG || self.size_ok(st)),
            "directory" => st.ifmt == S_IFDIR && common(self),
            "file" => {
                st.ifmt == S_IFREG
                    && self.names.matches(name)
                    && self.age_ok(st)
                    && self.size_ok(st)
                    && self.contains_ok(full)
                    && self.mode_ok(st)
            }
            _ => st.ifmt == S_IFLNK && common(self),
        }
    }

    fn statinfo(&self, path: &str, st: &FileStat) -> Vars {
        let accounts = self
            .accounts
            .get_or_init(|| Accounts::read(self.ctx.target));
        statinfo(path, st, accounts)
    }

    fn age_ok(&self, st: &FileStat) -> bool {
        let Some((age, stamp)) = &self.age else {
            return true;
        };
        let t = match stamp.as_str() {
            "atime" => st.atime,
            "ctime" => st.ctime,
            _ => st.mtime,
        };
        let elapsed = self.now - t;
        if *age >= 0 {
            elapsed >= age.abs() as f64
        } else {
            elapsed <= age.abs() as f64
        }
    }

    fn size_ok(&self, st: &FileStat) -> bool {
        match self.size {
            None => true,
            Some(size) if size >= 0 => st.size as i64 >= size,
            Some(size) => st.size as i64 <= size.abs(),
        }
    }

    fn contains_ok(&self, full: &str) -> bool {
        let Some(re) = &self.contains else {
            return true;
        };
        let Ok(bytes) = self.ctx.target.read_file(full) else {
            return false;
        };
        let text = String::from_utf8_lossy(&bytes);
        if self.whole_file {
            return re.is_match(&text);
        }
        // `re.match` on each line, line end included.
        text.split_inclusive('\n')
            .any(|line| re.find(line).is_some_and(|m| m.start() == 0))
    }

    fn mode_ok(&self, st: &FileStat) -> bool {
        let Some(spec) = &self.mode else {
            return true;
        };
        let want = match u32::from_str_radix(spec, 8) {
            Ok(m) => m,
            Err(_) => parse_mode(&json!(spec), 0, false).unwrap_or(0),
        } & 0o7777;
        if self.exact_mode {
            st.mode == want
        } else {
            st.mode & want != 0
        }
    }

    fn digest(&self, full: &str, algorithm: &str) -> Result<String, String> {
        let bytes = self.ctx.target.read_file(full).map_err(|e| e.to_string())?;
        match algorithm {
            "sha1" => Ok(sha1_hex(&bytes)),
            "md5" => Ok(md5_hex(&bytes)),
            other => Err(format!("checksum_algorithm {other} is not supported yet")),
        }
    }
}

/// find.py's `pfilter`: a name matching a pattern and no exclude.
struct NameFilter {
    patterns: Vec<Matcher>,
    excludes: Vec<Matcher>,
}

enum Matcher {
    Glob(glob::Pattern),
    /// `re.match`: anchored at the start only.
    Regex(Regex),
}

impl Matcher {
    fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Glob(g) => g.matches(name),
            Matcher::Regex(r) => r.find(name).is_some_and(|m| m.start() == 0),
        }
    }
}

impl NameFilter {
    fn new(patterns: &[String], excludes: &[String], regex: bool) -> Result<Self, ModuleError> {
        let one = |p: &String| -> Result<Matcher, ModuleError> {
            if regex {
                Ok(Matcher::Regex(compile(p)?))
            } else {
                glob::Pattern::new(p)
                    .map(Matcher::Glob)
                    .map_err(|e| ModuleError::new(format!("invalid pattern {p}: {e}")))
            }
        };
        Ok(NameFilter {
            patterns: patterns.iter().map(one).collect::<Result<_, _>>()?,
            excludes: excludes.iter().map(one).collect::<Result<_, _>>()?,
        })
    }

    fn matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(name))
            && !self.excludes.iter().any(|e| e.matches(name))
    }
}

fn compile(pattern: &str) -> Result<Regex, ModuleError> {
    Regex::new(pattern).map_err(|e| ModuleError::new(format!("invalid regex {pattern}: {e}")))
}

/// An `age` or `size` argument in its base unit, or find.py's failure.
fn unit_arg(args: &Args, key: &str, units: &[(&str, i64)]) -> Result<Option<i64>, ModuleError> {
    match args.string(&[key])? {
        None => Ok(None),
        Some(text) => with_unit(&text, units)
            .map(Some)
            .ok_or_else(|| ModuleError::new(format!("failed to process {key}"))),
    }
}

/// `-12d`, `3m`, `100` as a signed count of the unit's base.
fn with_unit(text: &str, units: &[(&str, i64)]) -> Option<i64> {
    let text = text.to_lowercase();
    let (num, mult) = match units.iter().find(|(u, _)| text.ends_with(u)) {
        Some((u, m)) => (&text[..text.len() - u.len()], *m),
        None => (text.as_str(), 1),
    };
    let digits = num.strip_prefix('-').unwrap_or(num);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(num.parse::<i64>().ok()? * mult)
}

/// find.py's `statinfo`.
fn statinfo(path: &str, st: &FileStat, accounts: &Accounts) -> Vars {
    let bit = |b: u32| json!(st.mode & b != 0);
    let name = |db, id| json!(accounts.name(db, id).unwrap_or_default());
    result([
        ("path", json!(path)),
        ("mode", json!(format!("{:04o}", st.mode))),
        ("isdir", json!(st.ifmt == S_IFDIR)),
        ("ischr", json!(st.ifmt == S_IFCHR)),
        ("isblk", json!(st.ifmt == S_IFBLK)),
        ("isreg", json!(st.ifmt == S_IFREG)),
        ("isfifo", json!(st.ifmt == S_IFIFO)),
        ("islnk", json!(st.ifmt == S_IFLNK)),
        ("issock", json!(st.ifmt == S_IFSOCK)),
        ("uid", json!(st.uid)),
        ("gid", json!(st.gid)),
        ("size", json!(st.size)),
        ("inode", json!(st.ino)),
        ("dev", json!(st.dev)),
        ("nlink", json!(st.nlink)),
        ("atime", json!(st.atime)),
        ("mtime", json!(st.mtime)),
        ("ctime", json!(st.ctime)),
        ("gr_name", name(Db::Groups, st.gid)),
        ("pw_name", name(Db::Users, st.uid)),
        ("wusr", bit(0o200)),
        ("rusr", bit(0o400)),
        ("xusr", bit(0o100)),
        ("wgrp", bit(0o020)),
        ("rgrp", bit(0o040)),
        ("xgrp", bit(0o010)),
        ("woth", bit(0o002)),
        ("roth", bit(0o004)),
        ("xoth", bit(0o001)),
        ("isuid", bit(0o4000)),
        ("isgid", bit(0o2000)),
    ])
}
