//! `fetch`: a port of ansible-core's fetch action plugin. It reads a file
//! on the host and writes it on the controller, under
//! `dest/<inventory_hostname>/<src>` or, with `flat`, at `dest` itself
//! (a relative `dest` is under the playbook's directory), only when the
//! SHA-1 differs. The controller is `ctx.controller`: the plan makes each
//! fetch a task exec runs itself, so it is there even for hosts with a
//! runner. As without become in Ansible, the host's file is stat'ed
//! first; it is read whole (as Ansible's slurp or fetch_file).

use std::path::{Component, Path, PathBuf};

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::action::action_failed;
use super::args::expand_user;
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::target::FileKind;
use crate::util::oserror::python_oserror;
use crate::util::sha1::{md5_hex, sha1_hex};

pub struct Fetch;

impl Module for Fetch {
    fn params(&self) -> &'static [&'static str] {
        &[
            "dest",
            "fail_on_missing",
            "flat",
            "src",
            "validate_checksum",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        if ctx.check {
            return Ok(Outcome::new(result([
                ("skipped", json!(true)),
                (
                    "msg",
                    json!("check mode not (yet) supported for this module"),
                ),
                ("changed", json!(false)),
            ])));
        }
        let Some(controller) = ctx.controller else {
            return Err(ModuleError::new(
                "fetch writes on the controller: it runs from rustle-exec, not inside a runner",
            ));
        };
        let (src, dest) = (args.get("src"), args.get("dest"));
        let msg = if src.is_none() || dest.is_none() {
            Some("src and dest are required")
        } else if !dest.is_some_and(Json::is_string) {
            Some("Invalid type supplied for dest option, it must be a string")
        } else if !src.is_some_and(Json::is_string) {
            Some("Invalid type supplied for source option, it must be a string")
        } else {
            None
        };
        if let Some(msg) = msg {
            return Ok(action_failed(msg));
        }
        let source = expand_user(&args.required(&["src"])?, || ctx.target.home());
        let dest = args.required(&["dest"])?;
        let flat = args.bool("flat", false)?;
        let fail_on_missing = args.bool("fail_on_missing", true)?;
        let validate_checksum = args.bool("validate_checksum", true)?;

        let mut r = Vars::new();
        let missing = |r: &mut Vars, msg: &str| {
            if fail_on_missing {
                r.insert("failed".into(), json!(true));
                // Ansible's report names the failure of the slurp it ran.
                let e = std::io::Error::from(std::io::ErrorKind::NotFound);
                let error = format!(
                    "Task failed: Module failed: File not found: {source}: {}",
                    python_oserror(&e, &source)
                );
                r.insert("_rustle_error".into(), json!(error));
            } else {
                r.insert("file".into(), json!(source));
            }
            r.insert("changed".into(), json!(false));
            r.insert("msg".into(), json!(msg));
        };
        match ctx.target.stat(&source, true) {
            Err(e) => {
                r.insert("changed".into(), json!(false));
                r.insert("file".into(), json!(source));
                let e = format!("Failed to stat {source}: {e}");
                if fail_on_missing {
                    r.insert("failed".into(), json!(true));
                    r.insert("msg".into(), json!(e));
                } else {
                    r.insert("msg".into(), json!(format!("{e}, ignored")));
                }
                return Ok(Outcome::new(r));
            }
            Ok(Some(st)) if st.kind == FileKind::Dir => {
                let mut msg =
                    "remote file is a directory, fetch cannot work on directories".to_owned();
                if fail_on_missing {
                    r.insert("failed".into(), json!(true));
                    r.insert("changed".into(), json!(false));
                } else {
                    msg.push_str(", not transferring, ignored");
                }
                r.insert("msg".into(), json!(msg));
                return Ok(Outcome::new(r));
            }
            Ok(None) => {
                missing(
                    &mut r,
                    "the remote file does not exist, not transferring, ignored",
                );
                return Ok(Outcome::new(r));
            }
            Ok(Some(_)) => {}
        }
        let data = match ctx.target.read_file(&source) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                missing(
                    &mut r,
                    "the remote file does not exist, not transferring, ignored",
                );
                return Ok(Outcome::new(r));
            }
            Err(e) => return Err(ModuleError::new(format!("Unable to slurp file: {e}"))),
        };
        let remote_checksum = sha1_hex(&data);

        let playbook_dir = match ctx.templar.eval("playbook_dir") {
            Ok(Json::String(dir)) => dir,
            _ => ".".to_owned(),
        };
        let dwim = |p: &str| {
            if p.starts_with('/') {
                p.to_owned()
            } else {
                format!("{playbook_dir}/{p}")
            }
        };
        let dest = if flat {
            let is_dir = |p: &str| matches!(controller.stat(p, true), Ok(Some(st)) if st.kind == FileKind::Dir);
            let mut dest = dest.clone();
            if is_dir(&dest) && !dest.ends_with('/') {
                return Ok(action_failed(
                    "dest is an existing directory, use a trailing slash if you want to fetch src into that directory",
                ));
            }
            if dest.ends_with('/') {
                let base = source.rsplit('/').next().unwrap_or(&source);
                dest = format!("{dest}{base}");
                if is_dir(&dest) {
                    return Ok(action_failed(&format!(
                        "calculated dest '{dest}' is an existing directory, use another path that does not point to an existing directory"
                    )));
                }
            }
            dwim(&dest)
        } else {
            let host = match ctx.templar.eval("inventory_hostname") {
                Ok(Json::String(h)) => h,
                _ => String::new(),
            };
            format!("{}/{host}/{source}", dwim(&dest))
        };
        let dest = normpath(&dest);

        let local = controller.read_file(&dest).ok();
        let local_checksum = local.as_deref().map(sha1_hex);
        if local_checksum.as_deref() == Some(remote_checksum.as_str()) {
            let md5 = local.as_deref().map(md5_hex);
            r.extend(result([
                ("changed", json!(false)),
                ("md5sum", json!(md5)),
                ("file", json!(source)),
                ("dest", json!(dest)),
                ("checksum", json!(local_checksum)),
            ]));
            return Ok(Outcome::new(r));
        }
        if let Some(parent) = Path::new(&dest).parent() {
            controller
                .create_dir_all(&parent.display().to_string(), None)
                .map_err(|e| ModuleError::new(format!("Failed to fetch the file: {e}")))?;
        }
        controller
            .write_file(&dest, &data, None)
            .map_err(|e| ModuleError::new(format!("Failed to fetch the file: {e}")))?;
        let written = controller.read_file(&dest).unwrap_or_default();
        let (new_checksum, new_md5) = (sha1_hex(&written), md5_hex(&written));
        if validate_checksum && new_checksum != remote_checksum {
            r.extend(result([
                ("failed", json!(true)),
                ("md5sum", json!(new_md5)),
                ("msg", json!("checksum mismatch")),
                ("file", json!(source)),
                ("dest", json!(dest)),
                ("remote_md5sum", Json::Null),
                ("checksum", json!(new_checksum)),
                ("remote_checksum", json!(remote_checksum)),
            ]));
        } else {
            r.extend(result([
                ("changed", json!(true)),
                ("md5sum", json!(new_md5)),
                ("dest", json!(dest)),
                ("remote_md5sum", Json::Null),
                ("checksum", json!(new_checksum)),
                ("remote_checksum", json!(remote_checksum)),
            ]));
        }
        Ok(Outcome::new(r))
    }
}

/// Python's `os.path.normpath` for absolute and relative POSIX paths.
fn normpath(path: &str) -> String {
    let mut out = PathBuf::new();
    let mut depth = 0usize;
    for c in Path::new(path).components() {
        match c {
            Component::RootDir => out.push("/"),
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => {
                out.pop();
                depth -= 1;
            }
            Component::ParentDir if !path.starts_with('/') => out.push(".."),
            Component::ParentDir => {}
            Component::Normal(n) => {
                out.push(n);
                depth += 1;
            }
            Component::Prefix(_) => {}
        }
    }
    let s = out.display().to_string();
    if s.is_empty() { ".".to_owned() } else { s }
}

#[cfg(test)]
mod tests {
    #[test]
    fn normpath_is_pythons() {
        for (path, want) in [
            ("/a/h1//tmp/x/f", "/a/h1/tmp/x/f"),
            ("/a/./b/../c", "/a/c"),
            ("a/../../b", "../b"),
            ("/..", "/"),
            ("", "."),
        ] {
            assert_eq!(super::normpath(path), want, "{path}");
        }
    }
}
