//! `sysctl` (`ansible.posix.sysctl`): a port of the ansible.posix
//! collection's sysctl.py. It reads the running value with `sysctl -e -n`
//! and the settings file (`sysctl_file`, `/etc/sysctl.conf` by default),
//! rewrites the file with the key set (`state: present`) or removed
//! (`absent`), every other setting normalised to `key=value` as the Python
//! module writes them, sets the running value with `sysctl -w` when
//! `sysctl_set` asks (and it differs, whitespace-normalised) and reloads
//! the file with `sysctl -p` when something changed and `reload` is on.
//! The commands are the Python module's command lines, split as
//! `shlex.split` splits them, run with `LANG=C`. The result holds only
//! `changed`, as sysctl.py's. The file is replaced atomically (a temporary
//! file beside the real path, renamed), as `atomic_move` does.

use rustle_format::Vars;
use serde_json::json;

use super::args::expand_user;
use super::bin::{get_bin_path, searched_path};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::{ExecRequest, FileKind};

pub struct Sysctl;

/// sysctl's messages are parsed, so they must be in English.
const LANG_ENV: [(&str, &str); 3] = [("LANG", "C"), ("LC_ALL", "C"), ("LC_MESSAGES", "C")];

impl Module for Sysctl {
    fn params(&self) -> &'static [&'static str] {
        &[
            "name",
            "key",
            "value",
            "val",
            "state",
            "reload",
            "sysctl_set",
            "ignoreerrors",
            "sysctl_file",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let name = args.required(&["name", "key"])?;
        let value = args.string(&["value", "val"])?;
        let reload = args.bool("reload", true)?;
        let sysctl_set = args.bool("sysctl_set", false)?;
        let ignoreerrors = args.bool("ignoreerrors", false)?;
        let state = args
            .choice("state", &["present", "absent"])?
            .unwrap_or_else(|| "present".to_owned());
        let value_given = ["value", "val"].iter().any(|k| args.0.contains_key(*k));
        if state == "present" && !value_given {
            return Err(ModuleError::new(
                "state is present but all of the following are missing: value",
            ));
        }
        let sysctl_file = expand_user(
            &args
                .string(&["sysctl_file"])?
                .unwrap_or_else(|| "/etc/sysctl.conf".to_owned()),
            || ctx.target.home(),
        );
        if state == "present" && value.is_none() {
            return Err(ModuleError::new("value cannot be None"));
        }
        if name.is_empty() {
            return Err(ModuleError::new("name cannot be blank"));
        }
        if state == "present" && value.as_deref() == Some("") {
            return Err(ModuleError::new("value cannot be blank"));
        }
        let Some(cmd) = get_bin_path(ctx.target, "sysctl", &[]) else {
            return Err(ModuleError::new(format!(
                "Failed to find required executable \"sysctl\" in paths: {}",
                searched_path(&[])
            )));
        };
        let platform = ctx
            .target
            .exec(&ExecRequest::new(["uname", "-s"]))
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_lowercase())
            .unwrap_or_default();
        let mut s = State {
            ctx,
            cmd,
            platform,
            name: name.trim().to_owned(),
            value: parse_value(value.as_deref()),
            present: state == "present",
            ignoreerrors,
            sysctl_file,
            file_lines: Vec::new(),
            file_values: Vec::new(),
        };
        let changed = s.process(reload, sysctl_set)?;
        let mut r = Vars::new();
        r.insert("changed".into(), json!(changed));
        Ok(Outcome::new(r))
    }
}

/// `_parse_value`: booleans as `1`/`0`, other values stripped.
fn parse_value(value: Option<&str>) -> String {
    let Some(value) = value else {
        return String::new();
    };
    match value.to_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" => "1".to_owned(),
        "n" | "no" | "off" | "0" | "false" | "f" => "0".to_owned(),
        _ => value.trim().to_owned(),
    }
}

/// `_values_is_equal`: the same whitespace-separated words.
fn values_equal(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.split_whitespace().eq(b.split_whitespace()))
}

/// `_stderr_failed`: the errors sysctl reports with exit status 0.
fn stderr_failed(err: &str) -> bool {
    err.lines().any(|l| {
        l.strip_prefix("sysctl: setting key \"")
            .is_some_and(|rest| {
                ["\": Invalid argument", "\": Read-only file system"]
                    .iter()
                    .any(|tail| {
                        rest.strip_suffix(tail)
                            .is_some_and(|key| !key.is_empty() && !key.contains('"'))
                    })
            })
    })
}

struct State<'a, 'c> {
    ctx: &'a ModuleCtx<'c>,
    cmd: String,
    platform: String,
    name: String,
    value: String,
    present: bool,
    ignoreerrors: bool,
    sysctl_file: String,
    /// The file's lines, stripped.
    file_lines: Vec<String>,
    /// Its settings, in order (`None`: the key is not in the file).
    file_values: Vec<(String, Option<String>)>,
}

struct Ran {
    rc: i32,
    out: String,
    err: String,
}

impl State<'_, '_> {
    /// `run_command` of a command line (split as `shlex.split`), with LANG=C.
    fn run(&self, line: &str) -> Result<Ran, ModuleError> {
        let argv = shlex::split(line).ok_or_else(|| ModuleError::new("No closing quotation"))?;
        let mut req = ExecRequest::new(argv);
        req.env = self.ctx.env.to_vec();
        req.env
            .extend(LANG_ENV.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.run_req(&req)
    }

    fn run_req(&self, req: &ExecRequest) -> Result<Ran, ModuleError> {
        let out =
            self.ctx.target.exec(req).map_err(|e| {
                ModuleError::new(format!("[Errno 2] No such file or directory: {e}"))
            })?;
        Ok(Ran {
            rc: out.rc,
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn file_value(&self, key: &str) -> Option<&str> {
        self.file_values
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    fn process(&mut self, reload: bool, sysctl_set: bool) -> Result<bool, ModuleError> {
        let proc_value = self.get_token_curr_value(&self.name)?;
        self.read_sysctl_file()?;
        let fixed = self.fix_lines();
        let file_value = self.file_value(&self.name).map(str::to_owned);

        let mut changed = false;
        let mut write_file = false;
        let mut set_proc = false;
        match (&file_value, self.present) {
            (None, true) => (changed, write_file) = (true, true),
            (None, false) => {}
            (Some(v), false) if !v.is_empty() => (changed, write_file) = (true, true),
            (Some(v), _) if *v != self.value => (changed, write_file) = (true, true),
            // With reload, the running value must be the wanted one too.
            _ if reload && !values_equal(proc_value.as_deref(), &self.value) => changed = true,
            _ => {}
        }
        if sysctl_set && self.present {
            if proc_value.is_none() {
                changed = true;
            } else if !values_equal(proc_value.as_deref(), &self.value) {
                changed = true;
                set_proc = true;
            }
        }
        if !self.ctx.check {
            if set_proc {
                self.set_token_value(&self.name, &self.value)?;
            }
            if write_file {
                self.write_sysctl(&fixed)?;
            }
            if changed && reload {
                self.reload_sysctl()?;
            }
        }
        Ok(changed)
    }

    fn get_token_curr_value(&self, token: &str) -> Result<Option<String>, ModuleError> {
        let line = if self.platform == "openbsd" {
            format!("{} -n {token}", self.cmd)
        } else {
            format!("{} -e -n {token}", self.cmd)
        };
        let ran = self.run(&line)?;
        Ok((ran.rc == 0).then_some(ran.out))
    }

    fn set_token_value(&self, token: &str, value: &str) -> Result<(), ModuleError> {
        let value = if value.split_whitespace().next().is_some() {
            format!("\"{value}\"")
        } else {
            value.to_owned()
        };
        let ignore = |flag: &str| if self.ignoreerrors { flag } else { "" }.to_owned();
        let line = match self.platform.as_str() {
            "openbsd" => format!("{} {token}={value}", self.cmd),
            "freebsd" => format!("{} {} {token}={value}", self.cmd, ignore("-i")),
            _ => format!("{} {} -w {token}={value}", self.cmd, ignore("-e")),
        };
        let ran = self.run(&line)?;
        if ran.rc != 0 || stderr_failed(&ran.err) {
            return Err(ModuleError::new(format!(
                "setting {token} failed: {}{}",
                ran.out, ran.err
            )));
        }
        Ok(())
    }

    fn reload_sysctl(&self) -> Result<(), ModuleError> {
        let ran = match self.platform.as_str() {
            "freebsd" => self.run("/etc/rc.d/sysctl reload")?,
            "openbsd" => {
                // Every setting of the file with its own sysctl call.
                for (k, v) in &self.file_values {
                    if *k != self.name {
                        self.set_token_value(k, v.as_deref().unwrap_or_default())?;
                    }
                }
                if self.present {
                    self.set_token_value(&self.name, &self.value)?;
                }
                return Ok(());
            }
            _ => {
                let mut argv = vec![self.cmd.clone(), "-p".into(), self.sysctl_file.clone()];
                if self.ignoreerrors {
                    argv.insert(1, "-e".into());
                }
                let mut req = ExecRequest::new(argv);
                req.env = self.ctx.env.to_vec();
                req.env
                    .extend(LANG_ENV.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                self.run_req(&req)?
            }
        };
        if ran.rc != 0 || stderr_failed(&ran.err) {
            return Err(ModuleError::new(format!(
                "Failed to reload sysctl: {}{}",
                ran.out, ran.err
            )));
        }
        Ok(())
    }

    fn read_sysctl_file(&mut self) -> Result<(), ModuleError> {
        let path = &self.sysctl_file;
        let is_file =
            matches!(self.ctx.target.stat(path, true), Ok(Some(st)) if st.kind == FileKind::File);
        let text = if is_file {
            let bytes = self
                .ctx
                .target
                .read_file(path)
                .map_err(|e| ModuleError::new(format!("Failed to open {path}: {e}")))?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            String::new()
        };
        for line in text.split_inclusive('\n') {
            let line = line.trim();
            self.file_lines.push(line.to_owned());
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim().to_owned(), v.trim().to_owned());
            match self.file_values.iter_mut().find(|(key, _)| *key == k) {
                Some(entry) => entry.1 = Some(v),
                None => self.file_values.push((k, Some(v))),
            }
        }
        Ok(())
    }

    /// `fix_lines`: the file's lines with the key set or removed; every
    /// setting once, as `key=value`.
    fn fix_lines(&self) -> Vec<String> {
        let mut checked: Vec<&str> = Vec::new();
        let mut fixed = Vec::new();
        for line in &self.file_lines {
            let t = line.trim();
            let Some((k, v)) = t.split_once('=').filter(|_| !t.starts_with(['#', ';'])) else {
                fixed.push(line.clone());
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            if checked.contains(&k) {
                continue;
            }
            checked.push(k);
            if k == self.name {
                if self.present {
                    fixed.push(format!("{k}={}", self.value));
                }
            } else {
                fixed.push(format!("{k}={v}"));
            }
        }
        if !checked.contains(&self.name.as_str()) && self.present {
            fixed.push(format!("{}={}", self.name, self.value));
        }
        fixed
    }

    fn write_sysctl(&self, lines: &[String]) -> Result<(), ModuleError> {
        let real = self
            .ctx
            .target
            .real_path(&self.sysctl_file)
            .unwrap_or_else(|_| self.sysctl_file.clone());
        let text: String = lines.iter().map(|l| format!("{}\n", l.trim())).collect();
        self.ctx
            .target
            .write_file(&real, text.as_bytes(), None)
            .map_err(|e| ModuleError::new(format!("Failed to write to file {real}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalised() {
        assert_eq!(parse_value(Some("Yes")), "1");
        assert_eq!(parse_value(Some("off")), "0");
        assert_eq!(
            parse_value(Some("  4096 87380\t6291456 ")),
            "4096 87380\t6291456"
        );
        assert_eq!(parse_value(None), "");
        assert!(values_equal(
            Some("4096\t87380  6291456\n"),
            "4096 87380 6291456"
        ));
        assert!(!values_equal(Some("1 2"), "1"));
        assert!(!values_equal(None, ""));
    }

    #[test]
    fn stderr_errors() {
        assert!(stderr_failed(
            "x\nsysctl: setting key \"net.x\": Invalid argument\n"
        ));
        assert!(!stderr_failed(
            "sysctl: setting key \"net.x\": Permission denied"
        ));
    }
}
