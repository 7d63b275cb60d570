//! `known_hosts`: a port of ansible-core's known_hosts.py. It adds a host's
//! key to a known_hosts file (replacing the host's key of the same type),
//! removes one key or, without `key`, every key of the host
//! (`ssh-keygen -R`, which leaves `<path>.old`), and hashes the host name
//! with `hash_host` (HMAC-SHA1 under 20 random bytes read from the host's
//! /dev/urandom, as OpenSSH's `|1|salt|hash`). Like the Python module it
//! asks `ssh-keygen -F` whether the key names the host (the key is fed on
//! stdin where Python writes a temporary file) and where the host's
//! entries are, and returns the same keys: the module's parameters, the
//! file's attributes, and a `diff` of the file's text (always, as
//! known_hosts.py computes it); only `changed` and `diff` in check mode.

use regex::Regex;
use rustle_format::Vars;
use serde_json::{Value as Json, json};
use sha1::{Digest, Sha1};

use super::args::expand_user;
use super::cron::splitlines;
use super::fileattrs::add_path_info;
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::ExecRequest;

pub struct KnownHosts;

impl Module for KnownHosts {
    fn params(&self) -> &'static [&'static str] {
        &["name", "host", "key", "path", "hash_host", "state"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let name = args.required(&["name", "host"])?;
        let key_param = args.string(&["key"])?;
        let path = expand_user(
            &args
                .string(&["path"])?
                .unwrap_or_else(|| "~/.ssh/known_hosts".to_owned()),
            || ctx.target.home(),
        );
        let hash_host = args.bool("hash_host", false)?;
        let state = args
            .choice("state", &["absent", "present"])?
            .unwrap_or_else(|| "present".to_owned());
        let present = state == "present";
        let k = KeyGen { ctx };

        let host = name.to_lowercase();
        let mut key = key_param.clone().filter(|k| !k.is_empty());
        if key.is_none() && present {
            return Err(ModuleError::new("No key specified when adding a host"));
        }
        if let Some(k_) = &key
            && hash_host
        {
            key = Some(hash_host_key(&host, k_, &k.random()?));
        }
        // Trailing newline in files gets lost, so re-add if necessary.
        let key = key.map(|k| if k.ends_with('\n') { k } else { k + "\n" });

        if let Some(key) = &key {
            sanity_check(&k, &host, key)?;
        }
        let found = search_for_host_key(&k, &host, key.as_deref(), &path)?;
        let diff = compute_diff(ctx, &path, &found, present, key.as_deref())?;

        let mut r = Vars::new();
        r.insert("name".into(), json!(name));
        r.insert("key".into(), json!(key_param));
        r.insert("path".into(), json!(path));
        r.insert("hash_host".into(), json!(hash_host));
        r.insert("state".into(), json!(state));
        r.insert("changed".into(), json!(false));
        r.insert("diff".into(), diff.clone());

        // Removing a key that is not there changes nothing.
        if !present && found.line.is_none() && key.is_some() {
            add_path_info(ctx, &mut r)?;
            return Ok(Outcome::new(r));
        }
        if ctx.check {
            let changed = found.replace_or_add || present != found.found;
            let mut r = Vars::new();
            r.insert("changed".into(), json!(changed));
            r.insert("diff".into(), diff);
            return Ok(Outcome::new(r));
        }

        // Without a key, every entry of the host goes.
        if found.found && key.is_none() && !present {
            let out = k.run(&["-R", &host, "-f", &path], None)?;
            if out.rc != 0 {
                return Ok(failed_command(&["-R", &host, "-f", &path], &out));
            }
            r.insert("changed".into(), json!(true));
        }
        if found.replace_or_add || found.found != present {
            let text = match ctx.target.read_file(&path) {
                Ok(bytes) => universal_newlines(&String::from_utf8_lossy(&bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(_) => return Err(ModuleError::new(format!("Failed to read '{path}'."))),
            };
            let mut out = String::new();
            for (i, line) in text.split_inclusive('\n').enumerate() {
                if found.line == Some(i + 1) && (found.replace_or_add || !present) {
                    continue; // this line's key is replaced
                }
                out.push_str(line);
            }
            if present && let Some(key) = &key {
                out.push_str(key);
            }
            ctx.target
                .write_file(&path, out.as_bytes(), None)
                .map_err(|_| ModuleError::new(format!("Failed to write to file '{path}'.")))?;
            r.insert("changed".into(), json!(true));
        }
        add_path_info(ctx, &mut r)?;
        Ok(Outcome::new(r))
    }
}

/// `ssh-keygen` run on the target.
struct KeyGen<'a, 'c> {
    ctx: &'a ModuleCtx<'c>,
}

struct Output {
    rc: i32,
    stdout: String,
    stderr: String,
}

impl KeyGen<'_, '_> {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<Output, ModuleError> {
        let mut req = ExecRequest::new(std::iter::once("ssh-keygen").chain(args.iter().copied()));
        req.stdin = stdin.map(|s| s.as_bytes().to_vec());
        req.env = self.ctx.env.to_vec();
        let out = self.ctx.target.exec(&req).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ModuleError::new("Failed to find required executable \"ssh-keygen\"")
            } else {
                ModuleError::new(format!("ssh-keygen: {e}"))
            }
        })?;
        Ok(Output {
            rc: out.rc,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `os.urandom(20)`, read on the host.
    fn random(&self) -> Result<Vec<u8>, ModuleError> {
        let req = ExecRequest::new(["head", "-c", "20", "/dev/urandom"]);
        let out = self
            .ctx
            .target
            .exec(&req)
            .map_err(|e| ModuleError::new(format!("reading /dev/urandom: {e}")))?;
        if out.rc != 0 || out.stdout.len() != 20 {
            return Err(ModuleError::new("reading /dev/urandom failed"));
        }
        Ok(out.stdout)
    }
}

/// run_command's `check_rc` failure.
fn failed_command(args: &[&str], out: &Output) -> Outcome {
    let mut r = Vars::new();
    r.insert("changed".into(), json!(false));
    r.insert("failed".into(), json!(true));
    r.insert(
        "cmd".into(),
        json!(format!("ssh-keygen {}", args.join(" "))),
    );
    r.insert("rc".into(), json!(out.rc));
    r.insert("stdout".into(), json!(out.stdout));
    r.insert("stderr".into(), json!(out.stderr));
    let msg = if out.stderr.is_empty() {
        "non-zero return code".to_owned()
    } else {
        out.stderr.trim_end().to_owned()
    };
    r.insert("msg".into(), json!(msg));
    Outcome::new(r)
}

/// Fails unless `ssh-keygen -F host` finds the host in the key line.
fn sanity_check(k: &KeyGen, host: &str, key: &str) -> Result<(), ModuleError> {
    static LIST: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let list = LIST.get_or_init(|| Regex::new(r"\S+(\s+)?,(\s+)?").expect("a valid regex"));
    if list.is_match(host) {
        return Err(ModuleError::new(
            "Comma separated list of names is not supported. \
             Please pass a single name to lookup in the known_hosts file.",
        ));
    }
    let out = k.run(&["-F", host, "-f", "/dev/stdin"], Some(key))?;
    if out.stdout.is_empty() {
        return Err(ModuleError::new(
            "Host parameter does not match hashed host field in supplied key",
        ));
    }
    Ok(())
}

/// What `search_for_host_key` learns.
#[derive(Debug, Default, PartialEq)]
struct Found {
    /// The host has entries in the file.
    found: bool,
    /// The key must be added or must replace the host's key of its type.
    replace_or_add: bool,
    /// The line (from 1) of the host's key of the same type.
    line: Option<usize>,
}

fn search_for_host_key(
    k: &KeyGen,
    host: &str,
    key: Option<&str>,
    path: &str,
) -> Result<Found, ModuleError> {
    if super::fileattrs::stat(k.ctx, path, true)?.is_none() {
        return Ok(Found::default());
    }
    let out = k.run(&["-F", host, "-f", path], None)?;
    if out.stdout.is_empty() && out.stderr.is_empty() && (out.rc == 0 || out.rc == 1) {
        return Ok(Found::default());
    }
    if out.rc != 0 {
        return Err(ModuleError::new(format!(
            "ssh-keygen failed (rc={}, stdout='{}',stderr='{}')",
            out.rc, out.stdout, out.stderr
        )));
    }
    let Some(key) = key else {
        return Ok(Found {
            found: true,
            ..Found::default()
        });
    };
    decide(&out.stdout, key)
}

/// The `ssh-keygen -F` listing against the key: the same key, another key
/// of its type (to replace), or none.
fn decide(listing: &str, key: &str) -> Result<Found, ModuleError> {
    static LINE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let line_re = LINE.get_or_init(|| Regex::new(r"found: line (\d+)").expect("a valid regex"));
    let mut new_key = normalize(key);
    let mut found_line = None;
    for l in listing.split('\n') {
        if l.is_empty() {
            continue;
        }
        if l.starts_with('#') {
            found_line = line_re
                .captures(l)
                .and_then(|c| c[1].parse::<usize>().ok())
                .map(Some)
                .ok_or_else(|| {
                    ModuleError::new(format!(
                        "failed to parse output of ssh-keygen for line number: '{l}'"
                    ))
                })?;
            continue;
        }
        let found = normalize(l);
        let marker = found.options.as_deref().unwrap_or_default();
        if marker.starts_with("@cert-authority") || marker.starts_with("@revoke") {
            if new_key == found {
                return Ok(same(found_line));
            }
            continue;
        }
        // Do not change the host's hash when it is already hashed.
        if new_key.host.starts_with("|1|") && found.host.starts_with("|1|") {
            new_key.host = found.host.clone();
        }
        if new_key == found {
            return Ok(same(found_line));
        }
        if new_key.kind == found.kind {
            return Ok(Found {
                found: true,
                replace_or_add: true,
                line: found_line,
            });
        }
    }
    Ok(Found {
        found: true,
        replace_or_add: true,
        line: None,
    })
}

fn same(line: Option<usize>) -> Found {
    Found {
        found: true,
        replace_or_add: false,
        line,
    }
}

/// A known_hosts line's marker, host, key type and key.
#[derive(Debug, Clone, PartialEq)]
struct HostKey {
    options: Option<String>,
    host: String,
    kind: String,
    key: String,
}

fn normalize(line: &str) -> HostKey {
    let mut parts = line.split_whitespace().map(str::to_owned);
    let mut next = || parts.next().unwrap_or_default();
    let first = next();
    let (options, host) = if first.starts_with('@') {
        (Some(first), next())
    } else {
        (None, first)
    };
    HostKey {
        options,
        host,
        kind: next(),
        key: next(),
    }
}

/// The key line with its host field replaced by `|1|salt|hmac`.
fn hash_host_key(host: &str, key: &str, salt: &[u8]) -> String {
    let mut parts: Vec<String> = key.split_whitespace().map(str::to_owned).collect();
    let i = usize::from(parts.first().is_some_and(|p| p.starts_with('@')));
    let hashed = format!(
        "|1|{}|{}",
        crate::util::base64::encode(salt),
        crate::util::base64::encode(&hmac_sha1(salt, host.as_bytes()))
    );
    if let Some(p) = parts.get_mut(i) {
        *p = hashed;
    }
    parts.join(" ")
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut k = if key.len() > BLOCK {
        Sha1::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(BLOCK, 0);
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha1::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha1::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// Python's text-mode reading: `\r\n` and `\r` become `\n`.
fn universal_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// The file's text before, and after the change the module decided.
fn compute_diff(
    ctx: &ModuleCtx,
    path: &str,
    found: &Found,
    present: bool,
    key: Option<&str>,
) -> Result<Json, ModuleError> {
    let mut before_header = path.to_owned();
    let before = match ctx.target.read_file(path) {
        Ok(bytes) => universal_newlines(&String::from_utf8_lossy(&bytes)),
        Err(e) => {
            if e.kind() == std::io::ErrorKind::NotFound {
                before_header = "/dev/null".to_owned();
            }
            String::new()
        }
    };
    let mut lines = splitlines(&before, true);
    if let Some(n) = found.line
        && (found.replace_or_add || !present)
        && (1..=lines.len()).contains(&n)
    {
        lines.remove(n - 1);
    }
    if present
        && (found.replace_or_add || found.line.is_none())
        && let Some(key) = key
    {
        lines.push(key.to_owned());
    }
    Ok(json!({
        "before_header": before_header,
        "after_header": path,
        "before": before,
        "after": lines.concat(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIAdmhtmPTHGWK8EkXzPCzJq/aiQJrywi/fCnBQ1kbkRA";

    #[test]
    fn hmac_sha1_of_rfc_2202() {
        let mac = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn hashes_the_host_field() {
        let line = hash_host_key(
            "a.example",
            &format!("a.example ssh-ed25519 {KEY}"),
            &[0; 20],
        );
        let mut parts = line.split(' ');
        let host = parts.next().unwrap_or_default();
        assert!(
            host.starts_with("|1|AAAAAAAAAAAAAAAAAAAAAAAAAAA=|"),
            "{host}"
        );
        assert_eq!(parts.collect::<Vec<_>>(), ["ssh-ed25519", KEY]);
        let marked = hash_host_key("a", &format!("@revoked a ssh-ed25519 {KEY}"), &[1; 20]);
        assert!(marked.starts_with("@revoked |1|"));
    }

    #[test]
    fn decides_same_replace_or_add() {
        let listing = format!("# Host a found: line 3 \na ssh-ed25519 {KEY}\n");
        let same_key = format!("a ssh-ed25519 {KEY} comment\n");
        assert_eq!(decide(&listing, &same_key).ok(), Some(same(Some(3))));
        let other = decide(&listing, "a ssh-ed25519 BBBB\n").ok();
        assert_eq!(
            other.map(|f| (f.replace_or_add, f.line)),
            Some((true, Some(3)))
        );
        let other_type = decide(&listing, "a ecdsa-sha2-nistp256 CCCC\n").ok();
        assert_eq!(
            other_type.map(|f| (f.replace_or_add, f.line)),
            Some((true, None))
        );
    }
}
