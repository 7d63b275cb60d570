//! `authorized_key`: a port of ansible.posix's authorized_key.py (which
//! ansible-core 2.19 routes `authorized_key` to). It adds or removes
//! public keys (one or several lines of `key`, or a `http(s)://` URL
//! fetched from the host, or a `file://` path read on the host) in a
//! user's `~/.ssh/authorized_keys` or in `path`, keeps every other line,
//! replaces a key whose options or comment differ, and with `exclusive`
//! drops every line that is not one of `key`'s. The file is parsed and
//! written back as the Python module does it (words split at whitespace,
//! `key_options` parsed into an ordered multi-map compared as a dict,
//! identical lines counted once, new keys after the existing ones), with
//! `manage_dir`'s `.ssh` creation (0700) and the file's 0600 and owner.
//! The result is the module's parameters with `keyfile`, `changed` and,
//! under `--diff`, the file's before and after. Differences: SELinux
//! contexts are not set; `validate_certs: false` for an `https` key URL
//! fails clearly (the shared HTTP client always verifies); and a key line
//! with a type and no key fails with a message where Python's module
//! crashes with an IndexError.

use std::collections::BTreeMap;

use rustle_format::Vars;
use serde_json::json;

use super::accounts::getpwnam;
use super::args::{expand_user, py_repr};
use super::cron::splitlines;
use super::fileattrs::{add_path_info, stat};
use super::urls::{Fetch, Follow, fetch_url};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;
use crate::util::oserror::python_oserror;

pub struct AuthorizedKey;

const VALID_SSH2_KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

impl Module for AuthorizedKey {
    fn params(&self) -> &'static [&'static str] {
        &[
            "user",
            "key",
            "path",
            "manage_dir",
            "state",
            "key_options",
            "exclusive",
            "comment",
            "validate_certs",
            "follow",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let user = args.required(&["user"])?;
        let key_param = args.required(&["key"])?;
        let path = args
            .string(&["path"])?
            .map(|p| expand_user(&p, || ctx.target.home()));
        let manage_dir = args.bool("manage_dir", true)?;
        let state = args
            .choice("state", &["absent", "present"])?
            .unwrap_or_else(|| "present".to_owned());
        let key_options = args.string(&["key_options"])?;
        let exclusive = args.bool("exclusive", false)?;
        let comment = args.string(&["comment"])?;
        let validate_certs = args.bool("validate_certs", true)?;
        let follow = args.bool("follow", false)?;

        let mut r = Vars::new();
        r.insert("user".into(), json!(user));
        r.insert("key".into(), json!(key_param));
        r.insert("path".into(), json!(path));
        r.insert("manage_dir".into(), json!(manage_dir));
        r.insert("state".into(), json!(state));
        r.insert("key_options".into(), json!(key_options));
        r.insert("exclusive".into(), json!(exclusive));
        r.insert("comment".into(), json!(comment));
        r.insert("validate_certs".into(), json!(validate_certs));
        r.insert("follow".into(), json!(follow));

        let key = key_source(ctx, &key_param, validate_certs)?;
        let s = Settings {
            user: &user,
            path: path.as_deref(),
            manage_dir,
        };
        let present = state == "present";

        // Blank lines and comments are not keys.
        let new_keys: Vec<String> = splitlines(&key, false)
            .into_iter()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let before_file = keyfile(ctx, &s, false, false)?;
        r.insert("keyfile".into(), json!(before_file));
        let existing_content = match stat(ctx, &before_file, true)? {
            Some(st) if st.kind == FileKind::File => {
                let bytes = ctx.target.read_file(&before_file).map_err(|e| {
                    ModuleError::new(format!(
                        "Failed to read {before_file}: {}",
                        python_oserror(&e, &before_file)
                    ))
                })?;
                String::from_utf8_lossy(&bytes).into_owned()
            }
            _ => String::new(),
        };
        let mut existing = parse_keys(&existing_content)?;
        let mut do_write = false;
        let mut keys_to_exist = Vec::new();
        let max_rank = existing.len();

        for (rank, line) in new_keys.iter().enumerate() {
            let Some(mut new) = parse_key(line, rank)? else {
                return Err(ModuleError::new(format!("invalid key specified: {line}")));
            };
            if let Some(opts) = &key_options {
                new.options = Some(parse_options(opts));
            }
            if let Some(c) = &comment {
                new.comment = Some(c.clone());
            }
            let mut matched = false;
            let mut non_matching = None;
            if let Some(old) = existing.get(&new.id) {
                if !new.same_as(old) && present {
                    non_matching = Some(old.id.clone());
                } else {
                    matched = true;
                }
            }
            if present {
                keys_to_exist.push(new.id.clone());
                if let Some(id) = non_matching
                    && existing.remove(&id)
                {
                    do_write = true;
                }
                if !matched {
                    new.rank += max_rank;
                    existing.set(new);
                    do_write = true;
                }
            } else {
                if !matched {
                    continue;
                }
                existing.remove(&new.id);
                do_write = true;
            }
        }
        if present && exclusive {
            let to_remove: Vec<String> = existing
                .0
                .iter()
                .map(|k| k.id.clone())
                .filter(|id| !keys_to_exist.contains(id))
                .collect();
            for id in to_remove {
                existing.remove(&id);
                do_write = true;
            }
        }

        if do_write {
            let filename = keyfile(ctx, &s, true, follow)?;
            let new_content = existing.serialize();
            if ctx.diff {
                r.insert(
                    "diff".into(),
                    json!({
                        "before_header": before_file,
                        "after_header": filename,
                        "before": existing_content,
                        "after": new_content,
                    }),
                );
            }
            if !ctx.check {
                ctx.target
                    .write_file(&filename, new_content.as_bytes(), None)
                    .map_err(|e| {
                        ModuleError::new(format!(
                            "Failed to write to file {filename}: {}",
                            python_oserror(&e, &filename)
                        ))
                    })?;
            }
            r.insert("changed".into(), json!(true));
        } else {
            r.insert("changed".into(), json!(false));
        }
        add_path_info(ctx, &mut r)?;
        Ok(Outcome::new(r))
    }
}

/// The keys themselves: `key` as given, or what an `http...` URL serves
/// or a `file...` path holds.
fn key_source(ctx: &ModuleCtx, key: &str, validate_certs: bool) -> Result<String, ModuleError> {
    let mut key = key.to_owned();
    if key.starts_with("http") {
        if !validate_certs && key.starts_with("https") {
            return Err(ModuleError::new(
                "validate_certs=false is not supported by rustle's authorized_key module",
            ));
        }
        let error = || ModuleError::new(format!("Error getting key from: {key}"));
        let fetch = Fetch {
            url: key.clone(),
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            timeout: 10,
            follow: Follow::Urllib2,
            force: false,
            last_mod_time: None,
            username: None,
            password: None,
            force_basic_auth: false,
            http_agent: Some("ansible-httpget".into()),
        };
        let fetched = fetch_url(ctx, &fetch).map_err(|_| error())?;
        if fetched.status() != Some(200) {
            return Err(error());
        }
        key = String::from_utf8(fetched.body).map_err(|_| error())?;
    }
    if key.starts_with("file") {
        let key_path = url_path(&key);
        let found = stat(ctx, &key_path, true)?;
        match found {
            None => {
                return Err(ModuleError::new(format!(
                    "Path to a key file not found: {key_path}"
                )));
            }
            Some(st) if st.kind != FileKind::File => {
                return Err(ModuleError::new(format!(
                    "Path to a key is a directory and must be a file: {key_path}"
                )));
            }
            Some(_) => {}
        }
        let bytes = ctx.target.read_file(&key_path).map_err(|e| {
            ModuleError::new(format!(
                "Failed to read key file {key_path} : {}",
                python_oserror(&e, &key_path)
            ))
        })?;
        key = String::from_utf8_lossy(&bytes).into_owned();
    }
    Ok(key)
}

/// `urlparse(url).path`.
fn url_path(url: &str) -> String {
    let scheme_end = url.find(':').filter(|&i| {
        i > 0
            && url[..i].starts_with(|c: char| c.is_ascii_alphabetic())
            && url[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    let mut rest = scheme_end.map_or(url, |i| &url[i + 1..]);
    if let Some(after) = rest.strip_prefix("//") {
        rest = after.find(['/', '?', '#']).map_or("", |i| &after[i..]);
    }
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    rest[..end].to_owned()
}

struct Settings<'a> {
    user: &'a str,
    path: Option<&'a str>,
    manage_dir: bool,
}

/// `os.path.dirname`.
fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => {
            let head = &path[..i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() { "/" } else { trimmed }
        }
        None => "",
    }
}

/// The module's `keyfile`: the file's name (a link resolved with
/// `follow`) and, when writing, the `.ssh` directory and file created
/// with their owner and modes.
fn keyfile(
    ctx: &ModuleCtx,
    s: &Settings,
    write: bool,
    follow: bool,
) -> Result<String, ModuleError> {
    let real = |p: &str| {
        ctx.target
            .real_path(p)
            .map_err(|e| ModuleError::new(format!("cannot resolve {p}: {e}")))
    };
    if ctx.check
        && let Some(path) = s.path
    {
        return if follow {
            real(path)
        } else {
            Ok(path.to_owned())
        };
    }
    let Some(entry) = getpwnam(ctx.target, s.user)? else {
        if ctx.check && s.path.is_none() {
            return Err(ModuleError::new(
                "Either user must exist or you must provide full path to key file in check mode",
            ));
        }
        let err = format!("getpwnam(): name not found: '{}'", s.user);
        return Err(ModuleError::new(format!(
            "Failed to lookup user {}: {}",
            s.user,
            py_repr(&err)
        )));
    };
    let (sshdir, mut keysfile) = match s.path {
        None => {
            let sshdir = format!("{}/.ssh", entry.dir.trim_end_matches('/'));
            let keysfile = format!("{sshdir}/authorized_keys");
            (sshdir, keysfile)
        }
        Some(path) => (dirname(path).to_owned(), path.to_owned()),
    };
    if follow {
        keysfile = real(&keysfile)?;
    }
    if !write || ctx.check {
        return Ok(keysfile);
    }
    let (uid, gid) = (entry.uid, entry.gid);
    let t = ctx.target;
    if s.manage_dir {
        if stat(ctx, &sshdir, true)?.is_none() {
            let parent = dirname(&sshdir);
            let parent_missing = !parent.is_empty() && stat(ctx, parent, true)?.is_none();
            let made = if parent_missing {
                Err(std::io::Error::from(std::io::ErrorKind::NotFound))
            } else {
                t.create_dir_all(&sshdir, Some(0o700))
            };
            made.map_err(|e| {
                ModuleError::new(format!(
                    "Failed to create directory {sshdir} : {}",
                    python_oserror(&e, &sshdir)
                ))
            })?;
        }
        let dir = real(&sshdir)?;
        t.chown(&dir, Some(uid), Some(gid))
            .and_then(|()| t.set_mode(&dir, 0o700))
            .map_err(|e| ModuleError::new(python_oserror(&e, &sshdir)))?;
    }
    if stat(ctx, &keysfile, true)?.is_none() {
        let basedir = dirname(&keysfile);
        if !basedir.is_empty() && stat(ctx, basedir, true)?.is_none() {
            t.create_dir_all(basedir, None)
                .map_err(|e| ModuleError::new(python_oserror(&e, basedir)))?;
        }
        t.write_file(&keysfile, b"", None)
            .map_err(|e| ModuleError::new(python_oserror(&e, &keysfile)))?;
    }
    // os.chown and os.chmod follow a link; failures are ignored.
    if let Ok(file) = t.real_path(&keysfile) {
        let _ = t
            .chown(&file, Some(uid), Some(gid))
            .and_then(|()| t.set_mode(&file, 0o600));
    }
    Ok(keysfile)
}

/// One line of a keys file (or of `key`), as the module's tuple.
#[derive(Debug, Clone)]
struct Key {
    /// The key itself, or a line that is not a key (with its newline).
    id: String,
    /// The key type, or `None` for a line kept as is ("skipped").
    key_type: Option<String>,
    options: Option<Options>,
    comment: Option<String>,
    rank: usize,
}

impl Key {
    /// The tuples' first four items are equal (options as dicts).
    fn same_as(&self, other: &Key) -> bool {
        self.id == other.id
            && self.key_type == other.key_type
            && self.options.as_ref().map(Options::as_dict)
                == other.options.as_ref().map(Options::as_dict)
            && self.comment == other.comment
    }
}

/// The module's `keydict`: options in order, a name possibly repeated.
#[derive(Debug, Clone, Default)]
struct Options(Vec<(String, Option<String>)>);

impl Options {
    fn as_dict(&self) -> BTreeMap<&str, Vec<Option<&str>>> {
        let mut out: BTreeMap<&str, Vec<Option<&str>>> = BTreeMap::new();
        for (k, v) in &self.0 {
            out.entry(k).or_default().push(v.as_deref());
        }
        out
    }
}

/// `parseoptions`: split at commas outside quotes.
fn parse_options(options: &str) -> Options {
    let mut out = Options::default();
    let b = options.as_bytes();
    // re.split(r'((?:[^,"\']|"[^"]*"|\'[^\']*\')+)', options)[1:-1]: the
    // matches and what lies between them.
    let mut parts: Vec<&str> = Vec::new();
    let (mut i, mut last_end) = (0, None::<usize>);
    while i < b.len() {
        let start = i;
        let mut j = i;
        loop {
            match b.get(j) {
                Some(b',') | None => break,
                Some(&q @ (b'"' | b'\'')) => match b[j + 1..].iter().position(|&c| c == q) {
                    Some(k) => j += k + 2,
                    None => break,
                },
                Some(_) => j += 1,
            }
        }
        if j == start {
            i += 1;
            continue;
        }
        if let Some(end) = last_end {
            parts.push(&options[end..start]);
        }
        parts.push(&options[start..j]);
        last_end = Some(j);
        i = j;
    }
    for part in parts {
        if let Some((k, v)) = part.split_once('=') {
            out.0.push((k.to_owned(), Some(v.to_owned())));
        } else if part != "," {
            out.0.push((part.to_owned(), None));
        }
    }
    out
}

/// `parsekey`: `None` for a line that names no known key type.
fn parse_key(raw: &str, rank: usize) -> Result<Option<Key>, ModuleError> {
    let raw = raw.replace("\\#", "#");
    let parts: Vec<&str> = raw
        .split([' ', '\t', '\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.first() == Some(&"#") {
        return Ok(Some(Key {
            id: raw.clone(),
            key_type: None,
            options: None,
            comment: None,
            rank,
        }));
    }
    let Some(type_index) = parts.iter().position(|p| VALID_SSH2_KEY_TYPES.contains(p)) else {
        return Ok(None);
    };
    let options = parse_options(&parts[..type_index].join(" "));
    let Some(key) = parts.get(type_index + 1) else {
        return Err(ModuleError::new(format!(
            "MODULE FAILURE: the line {} has a key type and no key (authorized_key.py fails \
             with an IndexError)",
            py_repr(raw.trim_end())
        )));
    };
    Ok(Some(Key {
        id: (*key).to_owned(),
        key_type: Some(parts[type_index].to_owned()),
        options: Some(options),
        comment: Some(parts[type_index + 2..].join(" ")),
        rank,
    }))
}

/// The keys of a file by identifier, in the order of a Python dict.
#[derive(Debug, Default)]
struct KeyMap(Vec<Key>);

impl KeyMap {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn get(&self, id: &str) -> Option<&Key> {
        self.0.iter().find(|k| k.id == id)
    }

    /// `d[id] = key`: replaced in place, or added at the end.
    fn set(&mut self, key: Key) {
        match self.0.iter_mut().find(|k| k.id == key.id) {
            Some(slot) => *slot = key,
            None => self.0.push(key),
        }
    }

    fn remove(&mut self, id: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|k| k.id != id);
        self.0.len() != before
    }

    /// `serialize`: the lines ordered by rank (stable).
    fn serialize(&self) -> String {
        let mut keys: Vec<&Key> = self.0.iter().collect();
        keys.sort_by_key(|k| k.rank);
        let mut out = String::new();
        for k in keys {
            let Some(key_type) = &k.key_type else {
                out.push_str(&k.id);
                continue;
            };
            if let Some(opts) = k.options.as_ref().filter(|o| !o.0.is_empty()) {
                let strings: Vec<String> = opts
                    .0
                    .iter()
                    .map(|(k, v)| match v {
                        None => k.clone(),
                        Some(v) => format!("{k}={v}"),
                    })
                    .collect();
                out.push_str(&strings.join(","));
                out.push(' ');
            }
            let comment = k.comment.as_deref().unwrap_or("None");
            out.push_str(&format!("{key_type} {} {comment}\n", k.id));
        }
        out
    }
}

/// `parsekeys`: every line, keys by their key and other lines by their text.
fn parse_keys(content: &str) -> Result<KeyMap, ModuleError> {
    let mut keys = KeyMap::default();
    for (rank, line) in splitlines(content, true).iter().enumerate() {
        let key = match parse_key(line, rank)? {
            Some(k) => k,
            None => Key {
                id: line.clone(),
                key_type: None,
                options: None,
                comment: None,
                rank,
            },
        };
        keys.set(key);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_outside_quotes() {
        let o = parse_options(r#"no-port-forwarding,from="10.0.1.1,10.0.1.2",command="a b""#);
        assert_eq!(
            o.0,
            [
                ("no-port-forwarding".to_owned(), None),
                ("from".to_owned(), Some(r#""10.0.1.1,10.0.1.2""#.to_owned())),
                ("command".to_owned(), Some(r#""a b""#.to_owned())),
            ]
        );
        assert!(parse_options("").0.is_empty());
        let twice = parse_options("a,,b");
        assert_eq!(twice.0.len(), 3, "{twice:?}");
    }

    #[test]
    fn options_compare_as_dicts() {
        let a = parse_options("a,b=1");
        let b = parse_options("b=1,a");
        assert_eq!(a.as_dict(), b.as_dict());
    }

    #[test]
    fn key_lines() {
        let k = parse_key("no-pty ssh-ed25519 AAAA  me@host x\n", 0)
            .unwrap()
            .unwrap();
        assert_eq!(k.id, "AAAA");
        assert_eq!(k.comment.as_deref(), Some("me@host x"));
        assert_eq!(k.options.unwrap().0.len(), 1);
        assert!(parse_key("garbage line\n", 0).unwrap().is_none());
        assert!(parse_key("# c\n", 0).unwrap().unwrap().key_type.is_none());
    }

    #[test]
    fn identical_lines_once() {
        let keys = parse_keys("\n\nssh-rsa AAA c\n# x\n\n").unwrap();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys.serialize(), "ssh-rsa AAA c\n# x\n\n");
    }

    #[test]
    fn url_paths() {
        assert_eq!(url_path("file:///tmp/k.pub"), "/tmp/k.pub");
        assert_eq!(url_path("file://host/tmp/k"), "/tmp/k");
        assert_eq!(url_path("file:/tmp/k"), "/tmp/k");
        assert_eq!(url_path("filekey"), "filekey");
    }
}
