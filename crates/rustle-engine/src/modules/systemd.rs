//! `systemd` / `systemd_service`: a port of ansible-core's
//! systemd_service.py. It runs `systemctl` (with `--user`/`--global`,
//! `--no-block`, `--force` as asked): daemon-reload and daemon-reexec
//! first, then reads the unit with `systemctl show` into `status` (falling
//! back to `is-enabled` and `list-unit-files` when show fails, and failing
//! with systemctl's own error when systemctl cannot run at all), masks or
//! unmasks, enables or disables (`is-enabled -l`, SysV start links for an
//! init script) and starts, stops, restarts or reloads from `ActiveState`.
//! Without a running systemd, `systemctl show` fails, so a known unit ends
//! in "Service is in unknown state" as in Ansible; chroots and
//! `SYSTEMD_OFFLINE=1` (from the task's environment) only warn.
//!
//! Left out: the workaround for "Failed to parse bus message" (systemd
//! bug 71528) reads the unit as Ansible does but is untested here; the
//! `debian_chroot` variable is only seen in the task's environment.

use rustle_format::Vars;
use serde_json::json;

use super::args::Args;
use super::bin::{get_bin_path, searched_path};
use super::service::{How, Step, Stop, exists, fail, finish, run_line, sysv_is_enabled};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, result};

pub struct Systemd;

struct Params {
    unit: Option<String>,
    state: Option<String>,
    enabled: Option<bool>,
    force: bool,
    masked: Option<bool>,
    daemon_reload: bool,
    daemon_reexec: bool,
    scope: String,
    no_block: bool,
}

fn opt_bool(args: &Args, keys: &[&str]) -> Result<Option<bool>, ModuleError> {
    match keys.iter().find(|k| args.get(k).is_some()) {
        Some(k) => Ok(Some(args.bool(k, false)?)),
        None => Ok(None),
    }
}

impl Params {
    fn read(args: &Args) -> Result<Params, ModuleError> {
        let unit = args.string(&["name", "service", "unit"])?;
        let state = args.string(&["state"])?;
        let enabled = opt_bool(args, &["enabled"])?;
        let force = opt_bool(args, &["force"])?.unwrap_or(false);
        let masked = opt_bool(args, &["masked"])?;
        let daemon_reload = opt_bool(args, &["daemon_reload", "daemon-reload"])?.unwrap_or(false);
        let daemon_reexec = opt_bool(args, &["daemon_reexec", "daemon-reexec"])?.unwrap_or(false);
        let scope = args.string(&["scope"])?;
        let no_block = opt_bool(args, &["no_block"])?.unwrap_or(false);
        args.choice("state", &["reloaded", "restarted", "started", "stopped"])?;
        args.choice("scope", &["system", "user", "global"])?;
        for (key, set) in [
            ("state", state.is_some()),
            ("enabled", enabled.is_some()),
            ("masked", masked.is_some()),
        ] {
            if set && unit.is_none() {
                return Err(ModuleError(format!(
                    "missing parameter(s) required by '{key}': name"
                )));
            }
        }
        Ok(Params {
            unit,
            state,
            enabled,
            force,
            masked,
            daemon_reload,
            daemon_reexec,
            scope: scope.unwrap_or_else(|| "system".into()),
            no_block,
        })
    }
}

impl Module for Systemd {
    fn params(&self) -> &'static [&'static str] {
        &[
            "name",
            "service",
            "unit",
            "state",
            "enabled",
            "force",
            "masked",
            "daemon_reload",
            "daemon-reload",
            "daemon_reexec",
            "daemon-reexec",
            "scope",
            "no_block",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let p = Params::read(args)?;
        let mut run = Run {
            ctx,
            warnings: Vec::new(),
        };
        let step = run.main(&p);
        finish(step, run.warnings)
    }
}

struct Run<'a, 'c> {
    ctx: &'a ModuleCtx<'c>,
    warnings: Vec<String>,
}

fn is_running_service(status: &Vars) -> bool {
    matches!(
        status.get("ActiveState").and_then(|v| v.as_str()),
        Some("active" | "activating")
    )
}

fn is_deactivating_service(status: &Vars) -> bool {
    status.get("ActiveState").and_then(|v| v.as_str()) == Some("deactivating")
}

fn request_was_ignored(out: &str) -> bool {
    !out.contains('=') && (out.contains("ignoring request") || out.contains("ignoring command"))
}

/// systemd_service.py's parse of `systemctl show`: `Key=value` lines,
/// values stripped; only `Exec*` values that open a `{` may span lines.
pub(super) fn parse_systemctl_show(out: &str) -> Vars {
    let mut parsed = Vars::new();
    let mut multival: Vec<&str> = Vec::new();
    let mut key: Option<&str> = None;
    for line in out.split('\n') {
        match key {
            None => {
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                if k.starts_with("Exec")
                    && v.trim_start().starts_with('{')
                    && !v.trim_end().ends_with('}')
                {
                    multival.push(v);
                    key = Some(k);
                    continue;
                }
                parsed.insert(k.to_owned(), json!(v.trim()));
            }
            Some(k) => {
                multival.push(line);
                if line.trim_end().ends_with('}') {
                    parsed.insert(k.to_owned(), json!(multival.join("\n").trim()));
                    multival.clear();
                    key = None;
                }
            }
        }
    }
    parsed
}

/// `' '.join(shlex.quote(a) ...)` of a command line, as `cmd` shows it.
fn clean_args(line: &str) -> String {
    shlex::split(line)
        .unwrap_or_default()
        .iter()
        .map(|a| crate::util::shell::quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Run<'_, '_> {
    fn exec(&self, line: &str) -> Step<super::accounts::Ran> {
        run_line(self.ctx, line, How::Xdg)
    }

    fn offline(&self) -> bool {
        self.is_chroot()
            || self
                .ctx
                .env
                .iter()
                .any(|(k, v)| k == "SYSTEMD_OFFLINE" && v == "1")
    }

    /// module_utils' `is_chroot`: `/` is not PID 1's root (or, when that
    /// cannot be read, not the file system's root inode).
    fn is_chroot(&self) -> bool {
        if self
            .ctx
            .env
            .iter()
            .any(|(k, v)| k == "debian_chroot" && !v.is_empty())
        {
            return true;
        }
        let target = self.ctx.target;
        let Ok(Some(root)) = target.stat("/", true) else {
            return false;
        };
        if let Ok(Some(proc_root)) = target.stat("/proc/1/root/.", true) {
            return root.ino != proc_root.ino || root.dev != proc_root.dev;
        }
        let mut fs_root_ino = 2;
        if let Some(stat) = get_bin_path(self.ctx.target, "stat", &[])
            && let Ok(ran) = run_line(self.ctx, &format!("{stat} -f --format=%T /"), How::Plain)
        {
            if ran.out.contains("btrfs") {
                fs_root_ino = 256;
            } else if ran.out.contains("xfs") {
                fs_root_ino = 128;
            }
        }
        root.ino != fs_root_ino
    }

    fn daemon(&mut self, systemctl: &str, what: &str) -> Step<()> {
        let ran = self.exec(&format!("{systemctl} {what}"))?;
        if ran.rc != 0 {
            if self.offline() {
                self.warnings.push(format!(
                    "{what} failed, but target is a chroot or systemd is offline. Continuing. Error was: {} / {}",
                    ran.rc, ran.err
                ));
            } else {
                return fail(format!("failure {} during {what}: {}", ran.rc, ran.err));
            }
        }
        Ok(())
    }

    fn main(&mut self, p: &Params) -> Step<Vars> {
        if let Some(unit) = &p.unit {
            for glob in ["*", "?", "["] {
                if unit.contains(glob) {
                    return fail(format!(
                        "This module does not currently support using glob patterns, found '{glob}' in service name: {unit}"
                    ));
                }
            }
        }
        let Some(mut systemctl) = get_bin_path(self.ctx.target, "systemctl", &[]) else {
            return fail(format!(
                "Failed to find required executable \"systemctl\" in paths: {}",
                searched_path(&[])
            ));
        };
        if p.scope != "system" {
            systemctl.push_str(&format!(" --{}", p.scope));
        }
        if p.no_block {
            systemctl.push_str(" --no-block");
        }
        if p.force {
            systemctl.push_str(" --force");
        }
        let check = self.ctx.check;
        let mut r = result([
            ("name", json!(p.unit)),
            ("changed", json!(false)),
            ("status", json!({})),
        ]);
        if p.daemon_reload && !check {
            self.daemon(&systemctl, "daemon-reload")?;
        }
        if p.daemon_reexec && !check {
            self.daemon(&systemctl, "daemon-reexec")?;
        }
        let Some(unit) = p.unit.as_deref() else {
            return Ok(r);
        };
        let is_initd = if unit.starts_with('/') {
            exists(self.ctx, unit)
        } else {
            exists(self.ctx, &format!("/etc/init.d/{unit}"))
        };
        let mut is_systemd = false;
        let mut status = Vars::new();
        // Not failing on rc: it differs between versions.
        let ran = self.exec(&format!("{systemctl} show '{unit}'"))?;
        if ran.rc == 0 && !(request_was_ignored(&ran.out) || request_was_ignored(&ran.err)) {
            if !ran.out.is_empty() {
                status = parse_systemctl_show(&ran.out);
                let load = status.get("LoadState").and_then(|v| v.as_str());
                is_systemd = load.is_some_and(|l| l != "not-found");
                let is_masked = load == Some("masked");
                if is_systemd
                    && !is_masked
                    && let Some(err) = status.get("LoadError")
                {
                    let err = err.as_str().unwrap_or_default();
                    return fail(format!("Error loading unit file '{unit}': {err}"));
                }
            }
        } else if !ran.err.is_empty()
            && ran.rc == 1
            && ran.err.contains("Failed to parse bus message")
        {
            status = parse_systemctl_show(&ran.out);
            let (base, sep) = match unit.split_once('@') {
                Some((base, _)) => (base, "@"),
                None => (unit, ""),
            };
            let search = format!("{base}{sep}");
            let files = self.exec(&format!("{systemctl} list-unit-files '{search}*'"))?;
            is_systemd = files.out.contains(&search);
            let active = self.exec(&format!("{systemctl} is-active '{unit}'"))?;
            status.insert(
                "ActiveState".into(),
                json!(active.out.trim_end_matches('\n')),
            );
        } else {
            const VALID: [&str; 11] = [
                "enabled",
                "enabled-runtime",
                "linked",
                "linked-runtime",
                "masked",
                "masked-runtime",
                "static",
                "indirect",
                "disabled",
                "generated",
                "transient",
            ];
            let ran = self.exec(&format!("{systemctl} is-enabled '{unit}'"))?;
            // list-unit-files only when is-enabled does not tell (chroots).
            if VALID.contains(&ran.out.trim())
                || self
                    .exec(&format!("{systemctl} list-unit-files '{unit}'"))?
                    .rc
                    == 0
            {
                is_systemd = true;
            } else {
                // Can systemctl run at all? (`check_rc=True`)
                let bare = self.exec(&systemctl)?;
                if bare.rc != 0 {
                    let mut f = result([
                        ("cmd", json!(clean_args(&systemctl))),
                        ("msg", json!(bare.err.trim_end())),
                        ("rc", json!(bare.rc)),
                    ]);
                    for (key, text) in [("stdout", &bare.out), ("stderr", &bare.err)] {
                        f.insert(key.into(), json!(text));
                        let lines: Vec<&str> = text.lines().collect();
                        f.insert(format!("{key}_lines"), json!(lines));
                    }
                    return Err(Stop::Fail(f));
                }
            }
        }
        r.insert("status".into(), json!(status));
        let found = is_systemd || is_initd;
        if is_initd && !is_systemd {
            self.warnings.push(format!(
                "The service ({unit}) is actually an init script but the system is managed by systemd"
            ));
        }
        let missing = || fail(format!("Could not find the requested service {unit}: host"));

        if let Some(want) = p.masked {
            let ran = self.exec(&format!("{systemctl} is-enabled '{unit}'"))?;
            let masked = ran.out.trim() == "masked";
            if masked != want {
                r.insert("changed".into(), json!(true));
                let action = if want { "mask" } else { "unmask" };
                if !check {
                    let ran = self.exec(&format!("{systemctl} {action} '{unit}'"))?;
                    if ran.rc != 0 {
                        if !found {
                            return missing();
                        }
                        return fail(format!(
                            "Failed to {action} the service ({unit}): {}",
                            ran.err.trim()
                        ));
                    }
                }
            }
        }

        if let Some(want) = p.enabled {
            let action = if want { "enable" } else { "disable" };
            if !found {
                return missing();
            }
            let ran = self.exec(&format!("{systemctl} is-enabled '{unit}' -l"))?;
            let enabled = match ran.rc {
                0 => !matches!(ran.out.trim_end(), "enabled-runtime" | "indirect" | "alias"),
                1 => {
                    p.scope == "system"
                        && is_initd
                        && !ran.out.trim().ends_with("disabled")
                        && sysv_is_enabled(self.ctx, unit, None)
                }
                _ => false,
            };
            r.insert("enabled".into(), json!(enabled));
            if enabled != want {
                r.insert("changed".into(), json!(true));
                if !check {
                    let ran = self.exec(&format!("{systemctl} {action} '{unit}'"))?;
                    if ran.rc != 0 {
                        return fail(format!(
                            "Unable to {action} service {unit}: {}{}",
                            ran.out, ran.err
                        ));
                    }
                }
                r.insert("enabled".into(), json!(!enabled));
            }
        }

        if let Some(state) = p.state.as_deref() {
            if !found {
                return missing();
            }
            r.insert("state".into(), json!(state));
            if status.contains_key("ActiveState") {
                let action = match state {
                    "started" => (!is_running_service(&status)).then_some("start"),
                    "stopped" => (is_running_service(&status) || is_deactivating_service(&status))
                        .then_some("stop"),
                    _ => {
                        r.insert("state".into(), json!("started"));
                        Some(if !is_running_service(&status) {
                            "start"
                        } else if state == "restarted" {
                            "restart"
                        } else {
                            "reload"
                        })
                    }
                };
                if let Some(action) = action {
                    r.insert("changed".into(), json!(true));
                    if !check {
                        let ran = self.exec(&format!("{systemctl} {action} '{unit}'"))?;
                        if ran.rc != 0 {
                            return fail(format!("Unable to {action} service {unit}: {}", ran.err));
                        }
                    }
                }
            } else if self.offline() {
                self.warnings.push(
                    "Target is a chroot or systemd is offline. This can lead to false positives or prevent the init system tools from working.".into(),
                );
            } else {
                return Err(Stop::Fail(result([
                    ("msg", json!("Service is in unknown state")),
                    ("status", json!(status)),
                ])));
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_output() {
        let out = "Id=cron.service\nDescription={ odd\nExecStart={ path=/usr/sbin/cron ;\n argv[]=/usr/sbin/cron -f }\nActiveState=active \nLoadState=loaded\n";
        let s = parse_systemctl_show(out);
        assert_eq!(s["Description"], "{ odd");
        assert_eq!(
            s["ExecStart"],
            "{ path=/usr/sbin/cron ;\n argv[]=/usr/sbin/cron -f }"
        );
        assert_eq!(s["ActiveState"], "active");
        assert_eq!(s["LoadState"], "loaded");
    }

    #[test]
    fn running_states() {
        let st = |a: &str| parse_systemctl_show(&format!("ActiveState={a}\n"));
        assert!(is_running_service(&st("activating")));
        assert!(!is_running_service(&st("failed")));
        assert!(is_deactivating_service(&st("deactivating")));
    }

    #[test]
    fn ignored_requests() {
        assert!(request_was_ignored("Running in chroot, ignoring request."));
        assert!(!request_was_ignored("Id=x\nignoring request"));
    }

    #[test]
    fn cmd_as_shown() {
        assert_eq!(
            clean_args("/usr/bin/systemctl --user"),
            "/usr/bin/systemctl --user"
        );
    }
}
