//! `service`: ansible-core's service action and the Linux part of its
//! service.py. The backend comes from `use`, else the host's
//! `ansible_facts.service_mgr` (gathered natively when facts are not
//! there), as the action plugin picks it: `systemd` runs the systemd
//! module (`pattern`, `runlevel`, `sleep` and `arguments` dropped), any
//! manager without a module of its own runs service.py's LinuxService:
//! systemctl when systemd is booted, else the SysV init script through
//! `service` (or the script itself), enabled with update-rc.d, insserv or
//! chkconfig, `pattern` matched in `ps auxww`, `restarted` as stop, sleep,
//! start, and the status read from the exit code and output keywords as
//! service.py reads them. Commands that change a service run detached
//! (their own session, output through temporary files, only `LANG`,
//! `LC_ALL` and `LC_MESSAGES` set) as service.py's daemonize does, so a
//! daemon keeps none of the runner's pipes.
//!
//! Left out, with a failure naming what: upstart jobs (`/etc/init/*.conf`
//! with initctl), OpenRC hosts (rc-service, rc-update) and the `sysvinit`
//! module the action runs when `service_mgr` is `sysvinit` (use
//! `use: service`); the action's "Ignoring ..." warnings are not shown.

use std::time::Duration;

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::accounts::Ran;
use super::args::py_repr;
use super::bin::{get_bin_path, searched_path};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::target::{ExecRequest, FileKind};

pub struct Service;

/// How a run ends before its last line: `fail_json` or `exit_json`.
pub(super) enum Stop {
    Fail(Vars),
    Exit(Vars),
}

impl From<ModuleError> for Stop {
    fn from(e: ModuleError) -> Stop {
        Stop::Fail(result([("msg", json!(e.0))]))
    }
}

pub(super) type Step<T> = Result<T, Stop>;

pub(super) fn fail<T>(msg: impl Into<String>) -> Step<T> {
    Err(Stop::Fail(result([("msg", json!(msg.into()))])))
}

/// The task result of a run: a failure gets `changed: false` and
/// `failed: true`; warnings go under `warnings`.
pub(super) fn finish(step: Step<Vars>, warnings: Vec<String>) -> ModuleResult {
    let mut r = match step {
        Ok(r) | Err(Stop::Exit(r)) => r,
        Err(Stop::Fail(mut r)) => {
            r.insert("changed".into(), json!(false));
            r.insert("failed".into(), json!(true));
            r
        }
    };
    if !warnings.is_empty() {
        r.insert("warnings".into(), json!(warnings));
    }
    Ok(Outcome::new(r))
}

/// service.py's `opt_dirs` for `get_bin_path`.
const OPT_DIRS: [&str; 4] = ["/sbin", "/usr/sbin", "/bin", "/usr/bin"];

/// `get_bin_path` with service.py's `opt_dirs`.
pub(super) fn bin_path(ctx: &ModuleCtx, name: &str) -> Option<String> {
    get_bin_path(ctx.target, name, &OPT_DIRS)
}

pub(super) fn exists(ctx: &ModuleCtx, path: &str) -> bool {
    matches!(ctx.target.stat(path, true), Ok(Some(_)))
}

/// How [`run_line`] runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum How {
    /// `run_command` with the C locale added (service.py's execute_command).
    Plain,
    /// service.py's daemonize: its own session in `/`, only the locale in
    /// its environment, its output through files rather than our pipes.
    Detached,
    /// `run_command` with `XDG_RUNTIME_DIR` set when unset (systemd.py).
    Xdg,
}

const LOCALE: [(&str, &str); 3] = [("LANG", "C"), ("LC_ALL", "C"), ("LC_MESSAGES", "C")];

const DETACH: &str = r#"cd / || exit 1
o=$(mktemp) && e=$(mktemp) || exit 1
if command -v setsid >/dev/null 2>&1; then s="setsid -w"; else s=; fi
$s env -i LANG=C LC_ALL=C LC_MESSAGES=C "$@" >"$o" 2>"$e" </dev/null
rc=$?
cat "$o"; cat "$e" >&2
rm -f "$o" "$e"
exit $rc"#;

const XDG: &str = r#": "${XDG_RUNTIME_DIR=/run/user/$(id -u)}"; export XDG_RUNTIME_DIR; exec "$@""#;

/// `run_command` of a command line, split as `shlex.split` splits it.
pub(super) fn run_line(ctx: &ModuleCtx, line: &str, how: How) -> Step<Ran> {
    let Some(argv) = shlex::split(line) else {
        return fail("No closing quotation");
    };
    let Some(first) = argv.first().cloned() else {
        return fail("[Errno 2] No such file or directory: ''");
    };
    let mut req = match how {
        How::Plain => ExecRequest::new(argv),
        How::Detached => ExecRequest::new(["/bin/sh", "-c", DETACH, "sh"].map(String::from)),
        How::Xdg => ExecRequest::new(["/bin/sh", "-c", XDG, "sh"].map(String::from)),
    };
    if how != How::Plain {
        req.argv.extend(shlex::split(line).unwrap_or_default());
    }
    if how != How::Detached {
        req.env = ctx.env.to_vec();
    }
    if how == How::Plain {
        req.env
            .extend(LOCALE.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    }
    let out = ctx.target.exec(&req).map_err(|e| {
        Stop::Fail(result([
            (
                "msg",
                json!(format!(
                    "[Errno 2] No such file or directory: b{}",
                    py_repr(&first)
                )),
            ),
            ("cmd", json!(line)),
            ("rc", json!(2)),
            ("stdout", json!("")),
            ("stderr", json!(e.to_string())),
        ]))
    })?;
    Ok(Ran {
        rc: out.rc,
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Whether `glob.glob(dir + '/rc?.d/' + kind + '??' + name)` finds a link;
/// `runlevel` fixes the `?` of `rc?.d`.
pub(super) fn rc_link(
    ctx: &ModuleCtx,
    dir: &str,
    runlevel: Option<&str>,
    kind: char,
    name: &str,
) -> bool {
    let dirs: Vec<String> = match runlevel {
        Some(rl) => vec![format!("rc{rl}.d")],
        None => ctx
            .target
            .list_dir(dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.len() == 5 && d.starts_with("rc") && d.ends_with(".d"))
            .collect(),
    };
    dirs.iter().any(|d| {
        ctx.target
            .list_dir(&format!("{dir}/{d}"))
            .unwrap_or_default()
            .iter()
            .any(|f| is_rc_link(f, kind, name))
    })
}

/// `fnmatch(file, kind + '??' + name)`.
fn is_rc_link(file: &str, kind: char, name: &str) -> bool {
    file.strip_prefix(kind)
        .and_then(|rest| rest.strip_suffix(name))
        .is_some_and(|nn| nn.chars().count() == 2)
}

/// module_utils' `sysv_is_enabled`: a start link in any (or `runlevel`'s)
/// rc directory.
pub(super) fn sysv_is_enabled(ctx: &ModuleCtx, name: &str, runlevel: Option<&str>) -> bool {
    let dir = if exists(ctx, "/etc/rc0.d/") {
        "/etc"
    } else {
        "/etc/init.d"
    };
    rc_link(ctx, dir, runlevel, 'S', name)
}

/// module_utils' `is_systemd_managed`: systemctl installed and systemd booted.
pub(super) fn systemd_booted(ctx: &ModuleCtx) -> bool {
    [
        "/run/systemd/system/",
        "/dev/.run/systemd/",
        "/dev/.systemd/",
    ]
    .iter()
    .any(|c| matches!(ctx.target.stat(c, true), Ok(Some(st)) if st.kind == FileKind::Dir))
        || ctx.target.read_file("/proc/1/comm").is_ok_and(|c| {
            String::from_utf8_lossy(&c)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                == "systemd"
        })
}

impl Module for Service {
    fn params(&self) -> &'static [&'static str] {
        &[
            "name",
            "state",
            "sleep",
            "pattern",
            "enabled",
            "runlevel",
            "arguments",
            "args",
            "use",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let backend = match args.string(&["use"])? {
            Some(u) if u.to_lowercase() != "auto" => u.to_lowercase(),
            _ => match ctx.templar.eval("ansible_facts.service_mgr") {
                Ok(Json::String(s)) => s,
                _ => crate::facts::service_mgr(ctx.target),
            },
        };
        match backend.as_str() {
            "systemd" | "systemd_service" => {
                let mut rest = args.0.clone();
                rest.remove("use");
                if backend == "systemd" {
                    for unused in ["pattern", "runlevel", "sleep", "arguments", "args"] {
                        rest.remove(unused);
                    }
                }
                let systemd = &super::systemd::Systemd;
                super::check_params(systemd, &format!("ansible.legacy.{backend}"), &rest)?;
                systemd.run(ctx, &Args(&rest))
            }
            "sysvinit" => Err(ModuleError::new(
                "rustle does not support the sysvinit module, which the service action runs on hosts whose service_mgr is sysvinit; set use: service",
            )),
            _ => {
                let p = Params::read(args)?;
                finish(Linux::new(ctx, &p).main(&p), Vec::new())
            }
        }
    }
}

struct Params {
    name: String,
    state: Option<String>,
    sleep: Option<i64>,
    pattern: Option<String>,
    enabled: Option<bool>,
    arguments: String,
}

impl Params {
    /// The arguments, checked in AnsibleModule's order.
    fn read(args: &Args) -> Result<Params, ModuleError> {
        let name = args.required(&["name"])?;
        let state = args.string(&["state"])?;
        let sleep = args.int("sleep")?;
        let pattern = args.string(&["pattern"])?;
        let enabled = match args.get("enabled") {
            Some(_) => Some(args.bool("enabled", false)?),
            None => None,
        };
        args.string(&["runlevel"])?;
        let arguments = args.string(&["arguments", "args"])?.unwrap_or_default();
        args.choice("state", &["started", "stopped", "reloaded", "restarted"])?;
        if state.is_none() && enabled.is_none() {
            return Err(ModuleError::new(
                "one of the following is required: state, enabled",
            ));
        }
        Ok(Params {
            name,
            state,
            sleep,
            pattern,
            enabled,
            arguments,
        })
    }
}

/// service.py's LinuxService.
struct Linux<'a, 'c> {
    ctx: &'a ModuleCtx<'c>,
    name: String,
    arguments: String,
    sleep: Option<i64>,
    changed: bool,
    running: Option<bool>,
    action: &'static str,
    svc_cmd: Option<String>,
    svc_initscript: Option<String>,
    svc_initctl: Option<String>,
    enable_cmd: Option<String>,
    /// systemctl runs the service (systemd is booted).
    systemd: bool,
    svc_change: bool,
}

impl<'a, 'c> Linux<'a, 'c> {
    fn new(ctx: &'a ModuleCtx<'c>, p: &Params) -> Linux<'a, 'c> {
        Linux {
            ctx,
            name: p.name.clone(),
            arguments: p.arguments.clone(),
            sleep: p.sleep,
            changed: false,
            running: None,
            action: "",
            svc_cmd: None,
            svc_initscript: None,
            svc_initctl: None,
            enable_cmd: None,
            systemd: false,
            svc_change: false,
        }
    }

    fn main(&mut self, p: &Params) -> Step<Vars> {
        let mut r = result([("name", json!(self.name))]);
        self.get_service_tools()?;
        if let Some(enable) = p.enabled {
            self.service_enable(enable)?;
            r.insert("enabled".into(), json!(enable));
        }
        let Some(state) = p.state.as_deref() else {
            r.insert("changed".into(), json!(self.changed));
            return Ok(r);
        };
        r.insert("state".into(), json!(state));
        match p.pattern.as_deref().filter(|p| !p.is_empty()) {
            Some(pattern) => self.check_ps(pattern)?,
            None => {
                self.get_service_status()?;
            }
        }
        self.check_service_changed(state)?;
        let ran = self.modify_service_state(state)?;
        if ran.rc != 0 && !ran.err.contains("Job is already running") {
            return fail(if ran.err.is_empty() { ran.out } else { ran.err });
        }
        r.insert("changed".into(), json!(self.changed || self.svc_change));
        if let Some(enable) = p.enabled {
            r.insert("enabled".into(), json!(enable));
        }
        let shown = match state {
            "reloaded" | "restarted" | "started" => "started",
            _ => "stopped",
        };
        r.insert("state".into(), json!(shown));
        Ok(r)
    }

    fn exec(&self, line: &str, how: How) -> Step<Ran> {
        run_line(self.ctx, line, how)
    }

    fn get_service_tools(&mut self) -> Step<()> {
        let ctx = self.ctx;
        let location = |b: &str| bin_path(ctx, b);
        let initscript = format!("/etc/init.d/{}", self.name);
        if matches!(ctx.target.stat(&initscript, true), Ok(Some(st)) if st.kind == FileKind::File) {
            self.svc_initscript = Some(initscript);
        }
        let systemctl = location("systemctl");
        if systemctl.is_some() && systemd_booted(ctx) {
            self.systemd = true;
            self.svc_cmd.clone_from(&systemctl);
            self.enable_cmd = systemctl;
        } else if location("initctl").is_some()
            && exists(ctx, &format!("/etc/init/{}.conf", self.name))
        {
            return fail(
                "rustle's service module does not support upstart jobs (/etc/init/*.conf run by initctl)",
            );
        } else if location("rc-service").is_some() {
            return fail("rustle's service module does not support OpenRC (rc-service, rc-update)");
        } else if self.svc_initscript.is_some() {
            self.enable_cmd = location("update-rc.d")
                .or_else(|| location("insserv"))
                .or_else(|| location("chkconfig"));
        }
        if self.enable_cmd.is_none() {
            return fail(format!(
                "Could not find the requested service {}: host",
                self.name
            ));
        }
        if self.svc_cmd.is_none() {
            self.svc_cmd = location("service");
        }
        if self.svc_cmd.is_none() && self.svc_initscript.is_none() {
            return fail(
                "cannot find 'service' binary or init script for service,  possible typo in service name?, aborting",
            );
        }
        self.svc_initctl = location("initctl");
        Ok(())
    }

    fn check_ps(&mut self, pattern: &str) -> Step<()> {
        let Some(ps) = bin_path(self.ctx, "ps") else {
            return fail(format!(
                "Failed to find required executable \"ps\" in paths: {}",
                searched_path(&OPT_DIRS)
            ));
        };
        let ran = self.exec(&format!("{ps} auxww"), How::Plain)?;
        if ran.rc == 0 {
            self.running = Some(ps_matches(&ran.out, pattern));
        }
        Ok(())
    }

    fn get_service_status(&mut self) -> Step<Option<bool>> {
        if self.systemd {
            return self.get_systemd_service_status();
        }
        self.action = "status";
        let ran = self.service_control()?;
        if let Some(initctl) = self.svc_initctl.clone().filter(|_| self.running.is_none()) {
            let line = format!("{initctl} status {} {}", self.name, self.arguments);
            let status = self.exec(&line, How::Plain)?;
            if status.out.contains("stop/waiting") {
                self.running = Some(false);
            } else if status.out.contains("start/running") {
                self.running = Some(true);
            }
        }
        if self.running.is_none() {
            self.running = sysv_running(&self.name, ran.rc, &ran.out);
        }
        Ok(self.running)
    }

    fn get_systemd_service_status(&mut self) -> Step<Option<bool>> {
        let cmd = self.enable_cmd.clone().unwrap_or_default();
        let ran = self.exec(&format!("{cmd} show '{}'", self.name), How::Plain)?;
        if ran.rc != 0 {
            return fail(format!(
                "failure {} running systemctl show for {}: {}",
                ran.rc,
                py_repr(&self.name),
                ran.err
            ));
        } else if ran.out.contains("LoadState=not-found") {
            return fail(format!(
                "systemd could not find the requested service \"{}\": {}",
                py_repr(&self.name),
                ran.err
            ));
        }
        let status = legacy_status_dict(&ran.out);
        self.running = match status.get("ActiveState").map(String::as_str) {
            Some("active") => Some(true),
            None => {
                return fail(format!(
                    "No ActiveState value in systemctl show output for {}",
                    py_repr(&self.name)
                ));
            }
            Some(_) => Some(false),
        };
        Ok(self.running)
    }

    fn get_systemd_service_enabled(&self) -> Step<bool> {
        let cmd = self.enable_cmd.clone().unwrap_or_default();
        let ran = self.exec(&format!("{cmd} is-enabled {}", self.name), How::Plain)?;
        let script = format!("/etc/init.d/{}", self.name);
        Ok(if ran.rc == 0 {
            true
        } else if ran.out.starts_with("disabled") {
            false
        } else if matches!(self.ctx.target.stat(&script, true), Ok(Some(st)) if st.mode & 0o111 != 0)
        {
            rc_link(self.ctx, "/etc", None, 'S', &self.name)
        } else {
            false
        })
    }

    fn service_enable(&mut self, enable: bool) -> Step<()> {
        let Some(cmd) = self.enable_cmd.clone() else {
            return fail(format!(
                "cannot detect command to enable service {}, typo or init system potentially unknown",
                self.name
            ));
        };
        let name = self.name.clone();
        let check = self.ctx.check;
        self.changed = true;
        let mut action = "";
        if cmd.ends_with("chkconfig") {
            action = if enable { "on" } else { "off" };
            let mut ran = self.exec(&format!("{cmd} --list {name}"), How::Plain)?;
            if ran.err.contains(&format!("chkconfig --add {name}")) {
                self.exec(&format!("{cmd} --add {name}"), How::Plain)?;
                ran = self.exec(&format!("{cmd} --list {name}"), How::Plain)?;
            }
            if !ran.out.contains(&name) {
                return fail(format!("service {name} does not support chkconfig"));
            }
            if ran.out.contains(&format!("3:{action}")) && ran.out.contains(&format!("5:{action}"))
            {
                self.changed = false;
                return Ok(());
            }
        }
        if cmd.ends_with("systemctl") {
            action = if enable { "enable" } else { "disable" };
            if enable == self.get_systemd_service_enabled()? {
                self.changed = false;
                return Ok(());
            }
        }
        if cmd.ends_with("update-rc.d") {
            let enabled = rc_link(self.ctx, "/etc", None, 'S', &name);
            if enable == enabled {
                self.changed = false;
                return Ok(());
            }
            self.changed = true;
            let action = if enable {
                if !rc_link(self.ctx, "/etc", None, 'K', &name) && !check {
                    let ran = self.exec(&format!("{cmd} {name} defaults"), How::Plain)?;
                    if ran.rc != 0 {
                        return fail(if ran.err.is_empty() { ran.out } else { ran.err });
                    }
                }
                "enable"
            } else {
                "disable"
            };
            if !check {
                let ran = self.exec(&format!("{cmd} {name} {action}"), How::Plain)?;
                if ran.rc != 0 {
                    return fail(if ran.err.is_empty() { ran.out } else { ran.err });
                }
            }
            return Ok(());
        }
        if cmd.ends_with("insserv") {
            let line = match enable {
                true => format!("{cmd} -n -v {name}"),
                false => format!("{cmd} -n -r -v {name}"),
            };
            let ran = self.exec(&line, How::Plain)?;
            let wanted = if enable {
                "enable service"
            } else {
                "remove service"
            };
            self.changed = ran.err.lines().any(|l| l.contains(wanted));
            if check {
                return Err(Stop::Exit(result([("changed", json!(self.changed))])));
            }
            if !self.changed {
                return Ok(());
            }
            let (line, what) = match enable {
                true => (format!("{cmd} {name}"), "install"),
                false => (format!("{cmd} -r {name}"), "remove"),
            };
            let ran = self.exec(&line, How::Plain)?;
            if ran.rc != 0 || !ran.err.is_empty() {
                return fail(format!(
                    "Failed to {what} service. rc: {}, out: {}, err: {}",
                    ran.rc, ran.out, ran.err
                ));
            }
            return Ok(());
        }
        self.changed = true;
        let line = if cmd.ends_with("systemctl") {
            format!("{cmd} {action} {name}")
        } else {
            format!("{cmd} {name} {action}")
        };
        if check {
            return Err(Stop::Exit(result([("changed", json!(true))])));
        }
        let ran = self.exec(&line, How::Plain)?;
        if ran.rc != 0 {
            return fail(if ran.err.is_empty() {
                format!("Failure for {action} {name}: rc={} {}", ran.rc, ran.out)
            } else {
                format!(
                    "Error when trying to {action} {name}: rc={} {}",
                    ran.rc, ran.err
                )
            });
        }
        Ok(())
    }

    fn check_service_changed(&mut self, state: &str) -> Step<()> {
        let Some(running) = self.running else {
            return fail("failed determining service state, possible typo of service name?");
        };
        self.svc_change = (!running && matches!(state, "reloaded" | "started"))
            || (running && matches!(state, "reloaded" | "stopped"))
            || state == "restarted";
        if self.ctx.check && self.svc_change {
            return Err(Stop::Exit(result([
                ("changed", json!(true)),
                ("msg", json!("service state changed")),
            ])));
        }
        Ok(())
    }

    fn modify_service_state(&mut self, state: &str) -> Step<Ran> {
        if !self.svc_change {
            return Ok(Ran::default());
        }
        let running = self.running.unwrap_or(false);
        self.action = match state {
            "started" => "start",
            "reloaded" if !running => "start",
            "stopped" => "stop",
            "reloaded" => "reload",
            _ => "restart",
        };
        self.service_control()
    }

    fn service_control(&self) -> Step<Ran> {
        let (svc_cmd, arguments) = match &self.svc_cmd {
            Some(cmd) if self.systemd => (cmd.clone(), format!("{} {}", self.name, self.arguments)),
            Some(cmd) => (format!("{cmd} {}", self.name), self.arguments.clone()),
            None => (
                self.svc_initscript.clone().unwrap_or_default(),
                self.arguments.clone(),
            ),
        };
        let line = |action: &str| match svc_cmd.as_str() {
            "" => format!("{action} {} {arguments}", self.name),
            cmd => format!("{cmd} {action} {arguments}"),
        };
        if self.action != "restart" {
            return self.exec(&line(self.action), How::Detached);
        }
        // Not every script restarts: stop, then start.
        let stop = self.exec(&line("stop"), How::Detached)?;
        if let Some(secs) = self.sleep.filter(|s| *s > 0) {
            std::thread::sleep(Duration::from_secs(secs.unsigned_abs()));
        }
        let start = self.exec(&line("start"), How::Detached)?;
        Ok(if stop.rc != 0 && start.rc == 0 {
            start
        } else {
            Ran {
                rc: stop.rc + start.rc,
                out: stop.out + &start.out,
                err: stop.err + &start.err,
            }
        })
    }
}

/// check_ps: a line of `ps auxww` holds the pattern (and is not ours).
fn ps_matches(ps_out: &str, pattern: &str) -> bool {
    ps_out
        .split('\n')
        .any(|l| l.contains(pattern) && !l.contains("pattern="))
}

/// Whether a SysV service runs, from its `status` exit code and output,
/// as LinuxService.get_service_status decides; `None` when unknown.
fn sysv_running(name: &str, rc: i32, out: &str) -> Option<bool> {
    // LSB: 1-4 mean not running; 69 is "service unavailable".
    if [1, 2, 3, 4, 69].contains(&rc) {
        return Some(false);
    }
    // Keywords only in one-line output: verbose errors mislead.
    if out.matches('\n').count() <= 1 {
        let clean = out.to_lowercase().replace(&name.to_lowercase(), "");
        if clean.contains("stop") {
            return Some(false);
        } else if clean.contains("run") {
            return Some(!clean.contains("not "));
        } else if clean.contains("start") && !clean.contains("not ") {
            return Some(true);
        } else if [
            "could not access pid file",
            "is dead and pid file exists",
            "dead but subsys locked",
            "dead but pid file exists",
        ]
        .iter()
        .any(|k| clean.contains(k))
        {
            return Some(false);
        }
    }
    if rc == 0 {
        return Some(true);
    }
    (name == "iptables" && out.contains("ACCEPT")).then_some(true)
}

/// LinuxService.get_systemd_status_dict's parse of `systemctl show`: a
/// value starting with `{` runs to a line ending with `}` (its buffer is
/// never cleared, as in service.py).
fn legacy_status_dict(out: &str) -> std::collections::BTreeMap<String, String> {
    let mut dict = std::collections::BTreeMap::new();
    let mut key: Option<String> = None;
    let mut value = String::new();
    let mut buffer: Vec<String> = Vec::new();
    for line in out.lines() {
        if let Some((k, v)) = line.split_once('=') {
            match &key {
                None => {
                    value = v.to_owned();
                    if v.trim_start().starts_with('{') && !v.trim_end().ends_with('}') {
                        key = Some(k.to_owned());
                        buffer.push(v.to_owned());
                    } else {
                        dict.insert(k.to_owned(), v.to_owned());
                    }
                }
                Some(open) => {
                    if line.trim_end().ends_with('}') {
                        dict.insert(open.clone(), buffer.join("\n"));
                        key = None;
                    } else {
                        buffer.push(value.clone());
                    }
                }
            }
        } else {
            buffer.push(value.clone());
        }
    }
    dict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsb_exit_codes_mean_stopped() {
        for rc in [1, 2, 3, 4, 69] {
            assert_eq!(sysv_running("x", rc, "x is running\n"), Some(false));
        }
    }

    #[test]
    fn status_keywords() {
        let run = |out| sysv_running("web-runner", 0, out);
        assert_eq!(run("web-runner is running\n"), Some(true));
        assert_eq!(run("web-runner is not running\n"), Some(false));
        assert_eq!(run("stopped\n"), Some(false));
        assert_eq!(run("started\n"), Some(true));
        // The name itself never counts ("runner").
        assert_eq!(sysv_running("web-runner", 5, "web-runner\n"), None);
        assert_eq!(
            sysv_running("svc", 5, "svc dead but pid file exists\n"),
            Some(false)
        );
        // Several lines: the exit code decides.
        assert_eq!(run("a\nstopped\nc\n"), Some(true));
        assert_eq!(sysv_running("x", 5, "a\nrunning\nc\n"), None);
        assert_eq!(sysv_running("iptables", 5, "a\nACCEPT\n\n"), Some(true));
    }

    #[test]
    fn ps_lines() {
        let ps = "root 1 sleep 1000\nroot 2 grep pattern=sleep\n";
        assert!(ps_matches(ps, "sleep 1000"));
        assert!(!ps_matches("root 2 grep pattern=sleep\n", "sleep"));
    }

    #[test]
    fn rc_link_names() {
        assert!(is_rc_link("S01ssh", 'S', "ssh"));
        assert!(!is_rc_link("K01ssh", 'S', "ssh"));
        assert!(!is_rc_link("S1ssh", 'S', "ssh"));
        assert!(!is_rc_link("S01sshd", 'S', "ssh"));
    }

    #[test]
    fn legacy_show_parse() {
        let out = "ActiveState=active\nExecStart={ path=/bin/x ;\n argv[]=/bin/x }\n\
                   ExecStop={ path=/bin/y }\nId=x.service\n";
        let d = legacy_status_dict(out);
        assert_eq!(d["ActiveState"], "active");
        assert_eq!(d["Id"], "x.service");
        assert_eq!(d["ExecStart"], "{ path=/bin/x ;");
        assert_eq!(d["ExecStop"], "{ path=/bin/y }");
        // A closing line without `=` leaves the value open, as in service.py.
        let d = legacy_status_dict("ExecStart={ a\n b }\nId=x\n");
        assert!(!d.contains_key("Id"));
    }
}
