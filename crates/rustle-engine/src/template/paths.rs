//! Ansible's path filters and file tests, as ansible-core 2.19 defines
//! them: the filters of `filter/core.py` that wrap Python's `os.path`
//! (`normpath`, `relpath`, `commonpath`, `realpath`, `expanduser`,
//! `expandvars`), `ntpath` (`win_basename`, `win_dirname`,
//! `win_splitdrive`) and `glob.glob` (`fileglob`), and the tests of
//! `test/files.py` (`exists`, `file`, `directory`, `link`, `link_exists`,
//! `mount`, `same_file` and their `is_*` names). Each function follows the
//! CPython 3.11 code it mirrors, odd inputs and errors included. The ones
//! that only work on strings run anywhere; the ones that read the file
//! system or the environment run only on the controller, where Ansible
//! runs them (`lookups::controller_only`). `basename`, `dirname`,
//! `splitext`, `path_join` and the `abs` test live in filters.rs and
//! more.rs.

use crate::util::pypath::join;
use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

use super::filters::{add_filter, add_test};
use super::lookups::controller_only;

pub fn register(env: &mut Environment<'static>) {
    add_filter(env, "normpath", |p: &Value| {
        Ok::<_, Error>(normpath(text(p)?))
    });
    add_filter(env, "relpath", relpath);
    add_filter(env, "commonpath", commonpath);
    add_filter(env, "win_basename", |p: &Value| {
        Ok::<_, Error>(win_split(text(p)?).1.to_owned())
    });
    add_filter(env, "win_dirname", |p: &Value| {
        Ok::<_, Error>(win_split(text(p)?).0)
    });
    add_filter(env, "win_splitdrive", |p: &Value| {
        let (drive, rest) = win_splitdrive(text(p)?);
        Ok::<_, Error>(vec![drive.to_owned(), rest.to_owned()])
    });
    add_filter(env, "realpath", |p: &Value, kwargs: Kwargs| {
        controller_only("the 'realpath' filter")?;
        let strict = kwargs.get::<Option<bool>>("strict")?.unwrap_or(false);
        kwargs.assert_all_used()?;
        realpath(text(p)?, strict)
    });
    add_filter(env, "expanduser", |p: &Value| {
        controller_only("the 'expanduser' filter")?;
        Ok::<_, Error>(expanduser(text(p)?))
    });
    add_filter(env, "expandvars", |p: &Value| {
        controller_only("the 'expandvars' filter")?;
        Ok::<_, Error>(expandvars(text(p)?))
    });
    add_filter(env, "fileglob", |p: &Value| {
        controller_only("the 'fileglob' filter")?;
        Ok::<_, Error>(fileglob(text(p)?))
    });

    add_fs_test(env, "exists", |p| Ok(fs::metadata(stat_arg(p)?).is_ok()));
    for name in ["file", "is_file"] {
        add_fs_test(env, name, |p| {
            Ok(fs::metadata(stat_arg(p)?).is_ok_and(|m| m.is_file()))
        });
    }
    for name in ["directory", "is_dir"] {
        add_fs_test(env, name, |p| {
            Ok(fs::metadata(stat_arg(p)?).is_ok_and(|m| m.is_dir()))
        });
    }
    for name in ["link", "is_link"] {
        add_fs_test(env, name, |p| {
            Ok(lstat(text(p)?).is_ok_and(|m| m.is_symlink()))
        });
    }
    add_fs_test(env, "link_exists", |p| Ok(lstat(text(p)?).is_ok()));
    for name in ["mount", "is_mount"] {
        add_fs_test(env, name, |p| ismount(text(p)?));
    }
    for name in ["same_file", "is_same_file"] {
        add_test(env, name, move |a: &Value, b: &Value| {
            controller_only(&format!("the '{name}' test"))?;
            samefile(a, b)
        });
    }
    // `abs` itself is registered in more.rs.
    add_test(env, "is_abs", |p: &Value| {
        Ok::<_, Error>(text(p)?.starts_with('/'))
    });
}

/// Registers a test of one path that looks at the controller's files.
fn add_fs_test(
    env: &mut Environment<'static>,
    name: &'static str,
    test: fn(&Value) -> Result<bool, Error>,
) {
    add_test(env, name, move |p: &Value| {
        controller_only(&format!("the '{name}' test"))?;
        test(p)
    });
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// `os.fspath`: the string a path function takes, Python's TypeError for
/// anything else.
fn text(value: &Value) -> Result<&str, Error> {
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    value.as_str().ok_or_else(|| {
        invalid(format!(
            "expected str, bytes or os.PathLike object, not {}",
            super::python_type(value)
        ))
    })
}

/// What `os.stat` takes: a path, or an integer (a bool too) as an open file
/// descriptor of this process, which /proc/self/fd leads to.
fn stat_arg(value: &Value) -> Result<PathBuf, Error> {
    let fd = match value.kind() {
        ValueKind::Bool => value.as_i64(),
        ValueKind::Number if value.is_integer() => value.as_i64(),
        _ => None,
    };
    if let Some(fd) = fd {
        return Ok(PathBuf::from(format!("/proc/self/fd/{fd}")));
    }
    if value.is_undefined() || value.as_str().is_some() {
        return text(value).map(PathBuf::from);
    }
    Err(invalid(format!(
        "stat: path should be string, bytes, os.PathLike or integer, not {}",
        super::python_type(value)
    )))
}

/// `os.lstat`, which Python refuses for a path holding a NUL (ValueError);
/// callers that catch OSError only let that through.
fn lstat(path: &str) -> Result<Metadata, Error> {
    if path.contains('\0') {
        return Err(invalid("lstat: embedded null character in path"));
    }
    fs::symlink_metadata(path).map_err(|e| os_error(&e, path))
}

/// An `OSError` as Python words it: `[Errno 2] No such file...: '/x'`.
fn os_error(err: &io::Error, path: &str) -> Error {
    match err.raw_os_error() {
        Some(code) => {
            let text = err.to_string();
            let text = text.split(" (os error").next().unwrap_or_default();
            invalid(format!("[Errno {code}] {text}: '{path}'"))
        }
        None => invalid(format!("{err}: '{path}'")),
    }
}

/// `posixpath.normpath`: drops empty and `.` components and folds `..`
/// into its parent; `..` above the root goes, above a relative start
/// stays. Two leading slashes stay (POSIX leaves their meaning open),
/// three or more become one; the empty path is `.`.
fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let slashes = match path.bytes().take_while(|&b| b == b'/').count() {
        0 => 0,
        2 => 2,
        _ => 1,
    };
    let mut comps: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." if slashes == 0 && (comps.is_empty() || comps.last() == Some(&"..")) => {
                comps.push(comp);
            }
            ".." => {
                comps.pop();
            }
            _ => comps.push(comp),
        }
    }
    let out = format!("{}{}", "/".repeat(slashes), comps.join("/"));
    if out.is_empty() { ".".to_owned() } else { out }
}

/// `posixpath.split`: head and tail around the last `/`, the head's
/// trailing slashes trimmed unless it is only slashes.
fn split(path: &str) -> (&str, &str) {
    let i = path.rfind('/').map_or(0, |i| i + 1);
    let (head, tail) = path.split_at(i);
    let trimmed = head.trim_end_matches('/');
    (if trimmed.is_empty() { head } else { trimmed }, tail)
}

/// `posixpath.abspath`: relative paths join the working directory, then
/// [`normpath`].
fn abspath(path: &str) -> Result<String, Error> {
    if path.starts_with('/') {
        return Ok(normpath(path));
    }
    let cwd = std::env::current_dir().map_err(|e| os_error(&e, "."))?;
    Ok(normpath(&join(&cwd.to_string_lossy(), path)))
}

/// `posixpath.relpath`: the way from `start` (the working directory when
/// missing or none) to `path`, both made absolute first. An empty (or
/// otherwise false) path is a ValueError.
fn relpath(path: &Value, start: Option<&Value>) -> Result<String, Error> {
    if !path.is_undefined() && !path.is_true() {
        return Err(invalid("no path specified"));
    }
    let path = abspath(text(path)?)?;
    let start = match start.filter(|s| !s.is_none()) {
        Some(start) => abspath(text(start)?)?,
        None => abspath(".")?,
    };
    let start: Vec<&str> = start.split('/').filter(|c| !c.is_empty()).collect();
    let path: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let common = start.iter().zip(&path).take_while(|(a, b)| a == b).count();
    let mut rel = vec![".."; start.len() - common];
    rel.extend(&path[common..]);
    Ok(if rel.is_empty() {
        ".".to_owned()
    } else {
        rel.join("/")
    })
}

/// Ansible's `commonpath` over `posixpath.commonpath`: the longest common
/// run of components (empty and `.` ones skipped, nothing normalised) of a
/// non-empty list of paths, all absolute or all relative.
fn commonpath(paths: &Value) -> Result<String, Error> {
    if !matches!(paths.kind(), ValueKind::Seq | ValueKind::Iterable) {
        if paths.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        return Err(invalid(format!(
            "|commonpath expects sequence, got {} instead.",
            super::python_type(paths)
        )));
    }
    let items: Vec<Value> = paths.try_iter()?.collect();
    if items.is_empty() {
        return Err(invalid("commonpath() arg is an empty sequence"));
    }
    let paths = items
        .iter()
        .map(text)
        .collect::<Result<Vec<&str>, Error>>()?;
    let absolute = paths[0].starts_with('/');
    if paths.iter().any(|p| p.starts_with('/') != absolute) {
        return Err(invalid("Can't mix absolute and relative paths"));
    }
    let split: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| {
            p.split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .collect()
        })
        .collect();
    // Python compares the first and last in sort order only.
    let (Some(first), Some(last)) = (split.iter().min(), split.iter().max()) else {
        unreachable!("the list is not empty");
    };
    let common = first.iter().zip(last).take_while(|(a, b)| a == b).count();
    let prefix = if absolute { "/" } else { "" };
    Ok(format!("{prefix}{}", first[..common].join("/")))
}

/// `posixpath.realpath`: the path with every symlink resolved, component
/// by component, then made absolute. Missing parts stay as written, and a
/// symlink loop is left unresolved, unless `strict`, where both fail.
fn realpath(path: &str, strict: bool) -> Result<String, Error> {
    let (resolved, _) = join_realpath(String::new(), path, strict, &mut HashMap::new())?;
    abspath(&resolved)
}

/// `posixpath._joinrealpath`: `rest` resolved onto the resolved `path`;
/// false when a symlink loop stopped it. `seen` maps the links met so far
/// to what they resolved to (`None` while resolving).
fn join_realpath(
    mut path: String,
    rest: &str,
    strict: bool,
    seen: &mut HashMap<String, Option<String>>,
) -> Result<(String, bool), Error> {
    let mut rest = rest;
    if let Some(relative) = rest.strip_prefix('/') {
        rest = relative;
        path = "/".to_owned();
    }
    while !rest.is_empty() {
        let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
        rest = tail;
        if name.is_empty() || name == "." {
            continue;
        }
        if name == ".." {
            path = if path.is_empty() {
                "..".to_owned()
            } else {
                match split(&path) {
                    (head, "..") => join(&join(head, ".."), ".."),
                    (head, _) => head.to_owned(),
                }
            };
            continue;
        }
        let newpath = join(&path, name);
        let is_link = match lstat(&newpath) {
            Ok(meta) => meta.is_symlink(),
            Err(e) if strict || newpath.contains('\0') => return Err(e),
            Err(_) => false,
        };
        if !is_link {
            path = newpath;
            continue;
        }
        match seen.get(&newpath) {
            Some(Some(resolved)) => {
                path = resolved.clone();
                continue;
            }
            // A loop: strict lets stat report it (ELOOP).
            Some(None) if strict => {
                fs::metadata(&newpath).map_err(|e| os_error(&e, &newpath))?;
            }
            Some(None) => return Ok((join(&newpath, rest), false)),
            None => {}
        }
        seen.insert(newpath.clone(), None);
        let target = fs::read_link(&newpath).map_err(|e| os_error(&e, &newpath))?;
        let (resolved, ok) = join_realpath(path, &target.to_string_lossy(), strict, seen)?;
        if !ok {
            return Ok((join(&resolved, rest), false));
        }
        seen.insert(newpath, Some(resolved.clone()));
        path = resolved;
    }
    Ok((path, true))
}

/// `posixpath.expanduser`: a leading `~` becomes $HOME (or, without it,
/// the user's home in the password database), `~name` that user's home;
/// unknown users and paths without `~` stay as they are.
fn expanduser(path: &str) -> String {
    let Some(after) = path.strip_prefix('~') else {
        return path.to_owned();
    };
    let end = after.find('/').map_or(path.len(), |i| i + 1);
    let home = if end == 1 {
        match std::env::var_os("HOME") {
            Some(home) => Some(home.to_string_lossy().into_owned()),
            None => real_uid().and_then(|uid| passwd_home(|fields| fields[2] == uid)),
        }
    } else {
        let name = &path[1..end];
        passwd_home(|fields| fields[0] == name)
    };
    let Some(home) = home else {
        return path.to_owned();
    };
    let out = format!("{}{}", home.trim_end_matches('/'), &path[end..]);
    if out.is_empty() { "/".to_owned() } else { out }
}

/// `getuid()`, read from /proc/self/status (`Uid: real effective ...`).
fn real_uid() -> Option<String> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().next().map(str::to_owned)
}

/// The home directory of the first /etc/passwd entry `pick` chooses
/// (`pwd.getpwnam`/`getpwuid` through the files the system keeps them
/// in).
fn passwd_home(pick: impl Fn(&[&str]) -> bool) -> Option<String> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.len() >= 7 && pick(fields))
        .map(|fields| fields[5].to_owned())
}

/// `posixpath.expandvars`: `$name` (ASCII letters, digits, `_`) and
/// `${anything}` become the environment variable's value; unset ones stay
/// as written, and substituted values are not expanded again.
fn expandvars(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let word = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let (name, len) = if word > 0 {
            (&after[..word], word)
        } else if let Some(end) = after.strip_prefix('{').and_then(|b| b.find('}')) {
            (&after[1..=end], end + 2)
        } else {
            out.push('$');
            rest = after;
            continue;
        };
        // No variable's name is empty or holds `=` or a NUL.
        let value = (!name.is_empty() && !name.contains(['=', '\0']))
            .then(|| std::env::var_os(name))
            .flatten();
        match value {
            Some(value) => out.push_str(&value.to_string_lossy()),
            None => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// Ansible's `fileglob`: the regular files (links followed) `glob.glob`
/// finds for the pattern.
pub(super) fn fileglob(pattern: &str) -> Vec<String> {
    glob(pattern, false)
        .into_iter()
        .filter(|p| fs::metadata(p).is_ok_and(|m| m.is_file()))
        .collect()
}

/// `glob.glob` (not recursive, so `**` is `*`): the paths the pattern
/// matches, in each directory's own order. Components with `*`, `?` or
/// `[` are matched against the directory's names ([`fnmatch`]), hidden
/// ones only by a pattern starting with `.`; the others must exist.
/// `dironly` keeps only directories, for the parent components.
fn glob(pattern: &str, dironly: bool) -> Vec<String> {
    let (dir, base) = split(pattern);
    if !has_magic(pattern) {
        let found = if base.is_empty() {
            is_dir(dir)
        } else {
            lstat(pattern).is_ok()
        };
        return if found {
            vec![pattern.to_owned()]
        } else {
            Vec::new()
        };
    }
    let dirs = if has_magic(dir) {
        glob(dir, true)
    } else {
        vec![dir.to_owned()]
    };
    let mut out = Vec::new();
    for dir in &dirs {
        let names = if has_magic(base) {
            let pieces = fnmatch_pieces(base);
            list_dir(dir, dironly)
                .into_iter()
                .filter(|n| (base.starts_with('.') || !n.starts_with('.')) && fnmatch(n, &pieces))
                .collect()
        } else if base.is_empty() && is_dir(dir)
            || !base.is_empty() && lstat(&join(dir, base)).is_ok()
        {
            vec![base.to_owned()]
        } else {
            Vec::new()
        };
        out.extend(names.iter().map(|name| join(dir, name)));
    }
    out
}

/// `glob.has_magic`.
fn has_magic(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

fn is_dir(path: &str) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_dir())
}

/// The names in a directory (`.` for the empty path), in the order it
/// gives them, only those that are directories (links followed) if
/// `dironly`; none if it cannot be read.
fn list_dir(dir: &str, dironly: bool) -> Vec<String> {
    let Ok(entries) = fs::read_dir(if dir.is_empty() { "." } else { dir }) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| !dironly || fs::metadata(e.path()).is_ok_and(|m| m.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// One piece of an fnmatch pattern.
#[derive(Debug, PartialEq)]
enum Piece {
    /// `*`: any run of characters.
    Star,
    /// `?`: any one character.
    Any,
    Char(char),
    /// `[...]`: one character in (or, negated, not in) the ranges.
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// `fnmatch.translate`'s reading of a pattern: runs of `*` are one, a `[`
/// without its `]` is a plain character, and there is no escaping.
fn fnmatch_pieces(pattern: &str) -> Vec<Piece> {
    let pat: Vec<char> = pattern.chars().collect();
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < pat.len() {
        let c = pat[i];
        i += 1;
        match c {
            '*' if pieces.last() == Some(&Piece::Star) => {}
            '*' => pieces.push(Piece::Star),
            '?' => pieces.push(Piece::Any),
            '[' => {
                // A `]` right after `[` or `[!` is part of the set.
                let mut j = i;
                if pat.get(j) == Some(&'!') {
                    j += 1;
                }
                if pat.get(j) == Some(&']') {
                    j += 1;
                }
                while j < pat.len() && pat[j] != ']' {
                    j += 1;
                }
                if j >= pat.len() {
                    pieces.push(Piece::Char('['));
                } else {
                    pieces.push(char_set(&pat[i..j]));
                    i = j + 1;
                }
            }
            c => pieces.push(Piece::Char(c)),
        }
    }
    pieces
}

/// A `[...]` set as `fnmatch.translate` builds it: the text is cut into
/// chunks at the hyphens that make ranges (not the first character, and
/// not right after a range), an empty range (`z-a`) goes with both its
/// ends, and a `!` that then leads the set negates it. Between two chunks
/// is the range from the end of one to the start of the next.
fn char_set(stuff: &[char]) -> Piece {
    let mut chunks: Vec<Vec<char>> = Vec::new();
    if stuff.contains(&'-') {
        let mut start = 0;
        let mut k = if stuff[0] == '!' { 2 } else { 1 };
        while let Some(hyphen) = (k..stuff.len()).find(|&h| stuff[h] == '-') {
            chunks.push(stuff[start..hyphen].to_vec());
            start = hyphen + 1;
            k = hyphen + 3;
        }
        match (&stuff[start..], chunks.last_mut()) {
            ([], Some(last)) => last.push('-'),
            (tail, _) => chunks.push(tail.to_vec()),
        }
        for k in (1..chunks.len()).rev() {
            if chunks[k - 1].last() > chunks[k].first() {
                let next = chunks.remove(k);
                chunks[k - 1].pop();
                chunks[k - 1].extend_from_slice(&next[1..]);
            }
        }
    } else {
        chunks.push(stuff.to_vec());
    }
    let negated = chunks[0].first() == Some(&'!');
    if negated {
        chunks[0].remove(0);
        // The `!` began a range: its hyphen is now a plain `-`.
        if chunks[0].is_empty() && chunks.len() > 1 {
            let next = chunks.remove(1);
            chunks[0] = std::iter::once('-').chain(next).collect();
        }
    }
    let mut ranges: Vec<(char, char)> = chunks.concat().into_iter().map(|c| (c, c)).collect();
    for pair in chunks.windows(2) {
        if let (Some(&lo), Some(&hi)) = (pair[0].last(), pair[1].first()) {
            ranges.push((lo, hi));
        }
    }
    Piece::Set { negated, ranges }
}

/// `fnmatch.fnmatch` on POSIX: the whole name matches the pieces, case
/// sensitive, `*` and `?` matching any character.
fn fnmatch(name: &str, pieces: &[Piece]) -> bool {
    let name: Vec<char> = name.chars().collect();
    let one = |piece: &Piece, c: char| match piece {
        Piece::Star => false,
        Piece::Any => true,
        Piece::Char(p) => *p == c,
        Piece::Set { negated, ranges } => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
    };
    // The last `*` seen and where it began: on a mismatch, it takes one
    // more character.
    let mut star: Option<(usize, usize)> = None;
    let (mut n, mut p) = (0, 0);
    while n < name.len() {
        if pieces.get(p) == Some(&Piece::Star) {
            star = Some((p, n));
            p += 1;
        } else if pieces.get(p).is_some_and(|piece| one(piece, name[n])) {
            p += 1;
            n += 1;
        } else if let Some((sp, sn)) = star {
            star = Some((sp, sn + 1));
            p = sp + 1;
            n = sn + 1;
        } else {
            return false;
        }
    }
    pieces[p..].iter().all(|piece| *piece == Piece::Star)
}

/// `posixpath.ismount`: an existing path, not a symlink, on another
/// device than its parent or the same inode as it (`/`).
fn ismount(path: &str) -> Result<bool, Error> {
    let Ok(own) = lstat(path) else {
        return Ok(false);
    };
    if own.is_symlink() {
        return Ok(false);
    }
    let parent = realpath(&join(path, ".."), false)?;
    let Ok(parent) = lstat(&parent) else {
        return Ok(false);
    };
    Ok(own.dev() != parent.dev() || own.ino() == parent.ino())
}

/// `os.path.samefile`: both stat to the same device and inode; a path
/// that cannot be stat'ed is an error.
fn samefile(a: &Value, b: &Value) -> Result<bool, Error> {
    let stat = |v: &Value| {
        let path = stat_arg(v)?;
        fs::metadata(&path).map_err(|e| os_error(&e, &path.to_string_lossy()))
    };
    let (a, b) = (stat(a)?, stat(b)?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

/// `ntpath.splitdrive` (3.11): a `C:` drive or a UNC share
/// (`\\server\share`, `\\?\UNC\server\share`, either slash) and the rest.
fn win_splitdrive(path: &str) -> (&str, &str) {
    let norm = path.replace('/', "\\");
    if norm.starts_with("\\\\") {
        let unc = norm.len() >= 8 && norm.as_bytes()[..8].eq_ignore_ascii_case(b"\\\\?\\UNC\\");
        let start = if unc { 8 } else { 2 };
        let Some(server) = norm[start..].find('\\').map(|i| i + start) else {
            return (path, "");
        };
        return match norm[server + 1..].find('\\') {
            Some(i) => path.split_at(server + 1 + i),
            None => (path, ""),
        };
    }
    let mut chars = path.char_indices().skip(1);
    match chars.next() {
        Some((i, ':')) => path.split_at(i + 1),
        _ => ("", path),
    }
}

/// `ntpath.split`: the drive and directory, and the name after the last
/// `\` or `/`; the directory's trailing slashes go unless it is only
/// slashes.
fn win_split(path: &str) -> (String, &str) {
    let (drive, rest) = win_splitdrive(path);
    let i = rest.rfind(['\\', '/']).map_or(0, |i| i + 1);
    let (head, tail) = rest.split_at(i);
    let trimmed = head.trim_end_matches(['\\', '/']);
    let head = if trimmed.is_empty() { head } else { trimmed };
    (format!("{drive}{head}"), tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing in the library's tests says it is the controller.
    #[test]
    fn a_runner_refuses_what_reads_the_controller() {
        let env = super::super::environment();
        let render = |expr: &str| env.render_str(expr, ());
        assert_eq!(render("{{ '/a/../b' | normpath }}").unwrap(), "/b");
        assert_eq!(render("{{ 'a' is is_abs }}").unwrap(), "False");
        for expr in [
            "{{ '/' is exists }}",
            "{{ '/' is is_mount }}",
            "{{ '/' is same_file('/') }}",
            "{{ '/' | realpath }}",
            "{{ '/*' | fileglob }}",
        ] {
            let err = render(expr).unwrap_err().to_string();
            assert!(err.contains("runs on the controller"), "{expr}: {err}");
        }
    }

    #[test]
    fn normpath_follows_python() {
        for (path, want) in [
            ("", "."),
            ("/", "/"),
            ("//", "//"),
            ("///", "/"),
            ("//a/../b", "//b"),
            ("a/../..", ".."),
            ("../a/..", ".."),
            ("/../a/./b/", "/a/b"),
            ("a//b/.", "a/b"),
        ] {
            assert_eq!(normpath(path), want, "{path}");
        }
    }

    #[test]
    fn fnmatch_sets_follow_python() {
        let m = |name: &str, pat: &str| fnmatch(name, &fnmatch_pieces(pat));
        assert!(m("abc", "a*c") && m("ac", "a**c") && !m("ab", "a*c"));
        assert!(m("[x", "[x") && m("b", "[a-c]") && !m("b", "[!a-c]"));
        assert!(m("]", "[]]") && m("-", "[a-]") && m("-", "[-a]"));
        // An empty range matches nothing; negated, anything.
        assert!(!m("a", "[z-a]") && m("a", "[!z-a]"));
        assert!(m("b", "[z-ab]") && !m("z", "[z-ab]"));
        // The empty range leaves `!` leading: negated, as in Python.
        assert!(m("a", "[z-a!]") && m("q", "[z-a!x]") && !m("x", "[z-a!x]"));
        assert!(!m("-", "[z-a!-~]") && m("b", "[z-a!-~]"));
    }

    #[test]
    fn glob_skips_hidden_names_and_keeps_directories_for_parents() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        fs::create_dir(format!("{root}/sub")).unwrap();
        fs::write(format!("{root}/sub/a.txt"), "").unwrap();
        fs::write(format!("{root}/.hidden"), "").unwrap();
        fs::write(format!("{root}/plain"), "").unwrap();
        assert_eq!(
            fileglob(&format!("{root}/*")),
            vec![format!("{root}/plain")]
        );
        assert_eq!(
            fileglob(&format!("{root}/.h*")),
            vec![format!("{root}/.hidden")]
        );
        assert_eq!(
            glob(&format!("{root}/s*/"), false),
            vec![format!("{root}/sub/")]
        );
        assert_eq!(
            fileglob(&format!("{root}/*/*.txt")),
            vec![format!("{root}/sub/a.txt")]
        );
        assert_eq!(
            fileglob(&format!("{root}/**/a.txt")),
            vec![format!("{root}/sub/a.txt")]
        );
        assert!(fileglob(&format!("{root}/pl[ai")).is_empty());
    }

    #[test]
    fn windows_paths_follow_ntpath() {
        assert_eq!(win_splitdrive("c:\\a"), ("c:", "\\a"));
        assert_eq!(win_splitdrive("//srv/share/x"), ("//srv/share", "/x"));
        assert_eq!(
            win_splitdrive("\\\\?\\unc\\srv\\share\\x"),
            ("\\\\?\\unc\\srv\\share", "\\x")
        );
        assert_eq!(win_splitdrive("\\\\srv"), ("\\\\srv", ""));
        assert_eq!(win_split("c:\\\\a\\\\b"), ("c:\\\\a".to_owned(), "b"));
        assert_eq!(win_split("c:\\"), ("c:\\".to_owned(), ""));
    }
}
