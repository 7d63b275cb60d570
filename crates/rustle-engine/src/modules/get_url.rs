//! `get_url`: a port of get_url.py for `http://`, `https://` (the host's
//! curl) and `file://` URLs: downloads to `dest` (a directory takes the
//! name from `Content-Disposition` or the URL), skips the download when
//! `dest` exists and `checksum` matches, asks with `If-Modified-Since`
//! otherwise, verifies `checksum` (`algo:hex` or `algo:URL` of a checksum
//! file), replaces `dest` atomically only when the SHA-1 differs, then
//! sets mode/owner/group. Check mode makes a HEAD request, as Ansible does.
//! The download is held in memory (`src` names where Ansible's temporary
//! file would be). Left out: `backup`, ftp, proxies settings, netrc,
//! client certificates, `unredirected_headers`, gzip decoding.

use std::time::Instant;

use rustle_format::Vars;
use serde_json::{Value as Json, json};
use sha2::Digest;

use super::args::Args;
use super::fileattrs::{FileArgs, add_path_info, io_error, stat};
use super::urls::{self, Fetch, Fetched, fetch_url, mask_url};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;
use crate::util::mode::parse_mode;
use crate::util::sha1::{md5_hex, sha1_hex};

pub struct GetUrl;

impl Module for GetUrl {
    fn params(&self) -> &'static [&'static str] {
        &[
            "url",
            "dest",
            "backup",
            "checksum",
            "force",
            "force_basic_auth",
            "headers",
            "http_agent",
            "mode",
            "owner",
            "group",
            "password",
            "url_password",
            "timeout",
            "tmp_dest",
            "url_username",
            "username",
            "use_proxy",
            "use_netrc",
            "validate_certs",
            "decompress",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        if args.bool("backup", false)? {
            return Err(ModuleError::new("get_url: backup is not supported yet"));
        }
        let url = args.required(&["url"])?;
        let dest = args.path(&["dest"], ctx)?;
        let mut r = super::result([
            ("changed", json!(false)),
            ("checksum_dest", Json::Null),
            ("checksum_src", Json::Null),
            ("dest", json!(dest)),
            ("elapsed", json!(0)),
            ("url", json!(mask_url(&url))),
        ]);
        let force = args.bool("force", false)?;
        let base = Fetch::from_args(args, url.clone(), "GET", 10)?;
        let dest_is_dir = stat(ctx, &dest, true)?.is_some_and(|s| s.kind == FileKind::Dir);

        let mut wanted: Option<(String, String)> = None;
        let checksum = args.string(&["checksum"])?.unwrap_or_default();
        if !checksum.is_empty() {
            let Some((algorithm, value)) = checksum.split_once(':') else {
                return fail(
                    ctx,
                    r,
                    "The checksum parameter has to be in format <algorithm>:<checksum>",
                );
            };
            let mut value = value.to_owned();
            if is_url(&value) {
                let fetch = Fetch {
                    url: value.clone(),
                    ..base.clone()
                };
                let got = url_get(ctx, args, &fetch, &dest)?;
                let body = match got {
                    Got::Fetched(info) => info.body,
                    Got::Done(outcome) => return Ok(outcome),
                };
                let text = String::from_utf8_lossy(&body).into_owned();
                let lines: Vec<&str> = text.lines().collect();
                let filename = urls::url_filename(&url);
                match parse_digest_lines(&filename, &lines)
                    .into_iter()
                    .find(|(_, f)| *f == filename)
                {
                    Some((sum, _)) => value = sum,
                    None => {
                        return fail(
                            ctx,
                            Vars::new(),
                            &format!(
                                "Unable to find a checksum for file '{filename}' in '{}'",
                                mask_url(&value)
                            ),
                        );
                    }
                }
            }
            let value: String = value
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
                .to_lowercase();
            if value.is_empty() || !value.chars().all(|c| c.is_ascii_hexdigit()) {
                return fail(ctx, r, "The checksum format is invalid");
            }
            wanted = Some((algorithm.to_owned(), value));
        }

        let mut last_mod_time = None;
        let mut force_download = force;
        let existing = stat(ctx, &dest, true)?;
        if let (false, Some(st)) = (dest_is_dir, existing) {
            let mut mismatch = false;
            if let (false, Some((algorithm, sum))) = (force, &wanted) {
                let bytes = read(ctx, &dest)?;
                if *sum != digest(algorithm, &bytes, &dest)? {
                    mismatch = true;
                }
            }
            if !force && wanted.is_some() && !mismatch {
                let changed = FileArgs::read(args)?.apply(ctx, &dest, false, None)?;
                r.insert("changed".into(), json!(changed));
                let msg = match changed {
                    true => "file already exists but file attributes changed",
                    false => "file already exists",
                };
                return finish(ctx, r, msg, None);
            }
            last_mod_time = Some(st.mtime);
            if mismatch {
                force_download = true;
            }
        }

        let start = Instant::now();
        let fetch = Fetch {
            method: if ctx.check { "HEAD" } else { "GET" }.to_owned(),
            force: force_download,
            last_mod_time,
            ..base
        };
        let got = url_get(ctx, args, &fetch, &dest)?;
        r.insert("elapsed".into(), json!(urls::elapsed(start)));
        let mut info = match got {
            Got::Fetched(info) => info,
            Got::Done(outcome) => return Ok(outcome),
        };
        let body = std::mem::take(&mut info.body);
        let tmpsrc = tmp_name(ctx, args)?;
        r.insert("src".into(), json!(tmpsrc));

        let mut dest = dest;
        if dest_is_dir {
            let name = info
                .header("content-disposition")
                .and_then(urls::disposition_filename)
                .unwrap_or_else(|| urls::url_filename(&info.final_url));
            dest = format!("{}/{name}", dest.trim_end_matches('/'));
            r.insert("dest".into(), json!(dest));
        }
        let checksum_src = sha1_hex(&body);
        r.insert("checksum_src".into(), json!(checksum_src));
        if stat(ctx, &dest, true)?.is_some() {
            r.insert("checksum_dest".into(), json!(sha1_hex(&read(ctx, &dest)?)));
        } else {
            let parent = parent(&dest);
            if stat(ctx, parent, true)?.is_none() {
                return fail(ctx, r, &format!("Destination {parent} does not exist"));
            }
        }
        let differs = r.get("checksum_dest") != Some(&json!(checksum_src));
        if ctx.check {
            r.insert("changed".into(), json!(differs));
            return finish(ctx, r, &info.msg(), None);
        }
        if let Some((algorithm, sum)) = &wanted {
            let got = digest(algorithm, &body, &tmpsrc)?;
            if *sum != got {
                let msg = format!("The checksum for {tmpsrc} did not match {sum}; it was {got}.");
                return fail(ctx, r, &msg);
            }
        }
        if differs {
            let mode = match args.get("mode") {
                Some(spec) => {
                    let old = stat(ctx, &dest, true)?.map_or(0o644, |s| s.mode);
                    Some(parse_mode(spec, old, false).map_err(ModuleError)?)
                }
                None => None,
            };
            ctx.target
                .write_file(&dest, &body, mode)
                .map_err(|e| ModuleError::new(format!("failed to copy {tmpsrc} to {dest}: {e}")))?;
        }
        let changed = FileArgs::read(args)?.apply(ctx, &dest, differs, None)?;
        r.insert("changed".into(), json!(changed));
        r.insert("md5sum".into(), json!(md5_hex(&read(ctx, &dest)?)));
        let status = info.info.get("status").cloned().unwrap_or(Json::Null);
        finish(ctx, r, &info.msg(), Some(status))
    }
}

enum Got {
    Fetched(Fetched),
    /// The module ended there (a 304, or a failure).
    Done(Outcome),
}

/// get_url.py's `url_get`: the request, ended early on a 304 or a
/// failure; `tmp_dest` checked as Ansible checks it after the request.
fn url_get(ctx: &ModuleCtx, args: &Args, fetch: &Fetch, dest: &str) -> Result<Got, ModuleError> {
    let start = Instant::now();
    let info = fetch_url(ctx, fetch)?;
    let elapsed = json!(urls::elapsed(start));
    let url = json!(mask_url(&fetch.url));
    let status = info.status();
    if status == Some(304) {
        let r = super::result([
            ("url", url),
            ("dest", json!(dest)),
            ("changed", json!(false)),
            ("msg", json!(info.msg())),
            ("status_code", json!(304)),
            ("elapsed", elapsed),
        ]);
        let mut r = r;
        add_path_info(ctx, &mut r)?;
        return Ok(Got::Done(Outcome::new(r)));
    }
    if status == Some(-1) {
        let r = super::result([("url", url), ("dest", json!(dest)), ("elapsed", elapsed)]);
        return fail(ctx, r, &info.msg()).map(Got::Done);
    }
    if status != Some(200) && !fetch.url.starts_with("file:/") {
        let r = super::result([
            (
                "status_code",
                info.info.get("status").cloned().unwrap_or_default(),
            ),
            ("response", json!(info.msg())),
            ("url", url),
            ("dest", json!(dest)),
            ("elapsed", elapsed),
        ]);
        return fail(ctx, r, "Request failed").map(Got::Done);
    }
    if let Some(tmp) = args.string(&["tmp_dest"])? {
        match stat(ctx, &tmp, true)? {
            Some(s) if s.kind == FileKind::Dir => {}
            Some(_) => {
                let r = super::result([("elapsed", elapsed)]);
                let msg = format!("{tmp} is a file but should be a directory.");
                return fail(ctx, r, &msg).map(Got::Done);
            }
            None => {
                let r = super::result([("elapsed", elapsed)]);
                let msg = format!("{tmp} directory does not exist.");
                return fail(ctx, r, &msg).map(Got::Done);
            }
        }
    }
    Ok(Got::Fetched(info))
}

/// Where Ansible's temporary download would be: `tmp_dest`, or the
/// remote temporary directory.
fn tmp_name(ctx: &ModuleCtx, args: &Args) -> Result<String, ModuleError> {
    let dir = match args.string(&["tmp_dest"])? {
        Some(dir) => dir,
        None => format!("{}/.ansible/tmp", ctx.target.home().trim_end_matches('/')),
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    Ok(format!(
        "{}/tmp{:x}{:x}",
        dir.trim_end_matches('/'),
        std::process::id(),
        nanos
    ))
}

/// `exit_json`: `msg` (and `status_code`) added, path info added.
fn finish(ctx: &ModuleCtx, mut r: Vars, msg: &str, status: Option<Json>) -> ModuleResult {
    r.insert("msg".into(), json!(msg));
    if let Some(status) = status {
        r.insert("status_code".into(), status);
    }
    add_path_info(ctx, &mut r)?;
    Ok(Outcome::new(r))
}

/// `fail_json(msg=..., **result)`, path info added as Ansible adds it.
fn fail(ctx: &ModuleCtx, mut r: Vars, msg: &str) -> ModuleResult {
    r.insert("failed".into(), json!(true));
    r.insert("msg".into(), json!(msg));
    add_path_info(ctx, &mut r)?;
    Ok(Outcome::new(r))
}

fn read(ctx: &ModuleCtx, path: &str) -> Result<Vec<u8>, ModuleError> {
    ctx.target
        .read_file(path)
        .map_err(|e| io_error("reading", path, e))
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

/// get_url.py's `is_url`.
fn is_url(checksum: &str) -> bool {
    checksum
        .split_once("://")
        .or_else(|| checksum.split_once(':'))
        .is_some_and(|(scheme, _)| {
            matches!(
                scheme.to_ascii_lowercase().as_str(),
                "http" | "https" | "ftp" | "file"
            )
        })
}

/// AnsibleModule's `digest_from_file` for the algorithms hashlib always has.
fn digest(algorithm: &str, bytes: &[u8], path: &str) -> Result<String, ModuleError> {
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    Ok(match algorithm {
        "md5" => md5_hex(bytes),
        "sha1" => sha1_hex(bytes),
        "sha224" => hex(&sha2::Sha224::digest(bytes)),
        "sha256" => hex(&sha2::Sha256::digest(bytes)),
        "sha384" => hex(&sha2::Sha384::digest(bytes)),
        "sha512" => hex(&sha2::Sha512::digest(bytes)),
        _ => {
            return Err(ModuleError::new(format!(
                "Could not hash file '{path}' with algorithm '{algorithm}'. Available algorithms: md5, sha1, sha224, sha256, sha384, sha512"
            )));
        }
    })
}

/// get_url.py's `parse_digest_lines`: `(digest, file name)` pairs from a
/// checksum file in GNU or BSD format, or a lone digest.
pub fn parse_digest_lines(filename: &str, lines: &[&str]) -> Vec<(String, String)> {
    if lines.len() == 1 && lines[0].split_whitespace().count() == 1 {
        return vec![(lines[0].to_owned(), filename.to_owned())];
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let digest_word = |s: &str| !s.is_empty() && s.chars().all(|c| word(c) || c == '.');
    let mut out = Vec::new();
    for line in lines {
        // BSD: `ALGO (path) = digest` (the spaces around `(` optional).
        if let Some(open) = line.find('(')
            && line[..open].trim_end().chars().all(word)
            && !line[..open].trim_end().is_empty()
            && let Some(close) = line.rfind(')')
            && close > open + 1
            && let Some(digest) = line[close + 1..]
                .strip_prefix(" = ")
                .or_else(|| line[close + 1..].strip_prefix("= "))
            && digest_word(digest)
            && line[..open].len() - line[..open].trim_end().len() <= 1
        {
            out.push((digest.to_owned(), line[open + 1..close].to_owned()));
            continue;
        }
        // GNU: `digest  [*]path`.
        let Some(end) = line.find(char::is_whitespace) else {
            continue;
        };
        let (digest, rest) = line.split_at(end);
        if !digest_word(digest) {
            continue;
        }
        let rest = rest.trim_start();
        let path = rest
            .strip_prefix('*')
            .or_else(|| rest.strip_prefix("./"))
            .or_else(|| rest.strip_prefix('.'))
            .unwrap_or(rest);
        if path.is_empty() {
            continue;
        }
        out.push((
            digest.to_owned(),
            path.trim_start_matches(['.', '/']).to_owned(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_lines() {
        assert_eq!(
            parse_digest_lines("f.txt", &["abc123"]),
            vec![("abc123".to_owned(), "f.txt".to_owned())]
        );
        let lines = [
            "111  other.txt",
            "222 *f.txt",
            "SHA256 (g.txt) = 333",
            "444  ./h.txt",
            "not a digest line!",
        ];
        assert_eq!(
            parse_digest_lines("f.txt", &lines),
            vec![
                ("111".into(), "other.txt".into()),
                ("222".into(), "f.txt".into()),
                ("333".into(), "g.txt".into()),
                ("444".into(), "h.txt".into()),
                ("not".into(), "a digest line!".into()),
            ]
        );
    }

    #[test]
    fn checksum_urls() {
        assert!(is_url("http://h/sums"));
        assert!(is_url("file:///tmp/sums"));
        assert!(!is_url("d98291ac"));
        assert_eq!(
            digest("sha256", b"", "x").unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(digest("crc", b"", "x").is_err());
    }
}
