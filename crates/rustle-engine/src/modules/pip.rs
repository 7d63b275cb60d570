//! `pip`: a port of ansible-core 2.19's pip.py. Python distributions are
//! installed, upgraded, reinstalled or removed by the host's own `pip`
//! (a virtualenv's `bin/pip3` or `bin/pip`, `executable`, or the Python
//! interpreter's `-m pip`), run through the target with the same commands,
//! working directory, `PATH` prefix and umask as pip.py, so that the
//! results (`cmd`, `name`, `version`, `requirements`, `virtualenv`,
//! `state`, `stdout`, `stderr`), the changed flag and the failure messages
//! are Ansible's.
//!
//! Like pip.py, a real run does not look first: it runs `pip install` /
//! `pip uninstall -y` and reads the outcome from pip's own words
//! ("Successfully installed", "Successfully uninstalled"), or, for a
//! requirements file or a VCS URL, from `pip list --format=freeze` before
//! and after. A missing virtualenv (no `bin/activate`) is created first
//! with `virtualenv_command` (`--system-site-packages`, `--no-site-packages`
//! when the command offers it, `-p` for virtualenv but not for `-m venv` /
//! `pyvenv`). Check mode is where it queries: `pip list --format=freeze`
//! (`pip freeze` for an old pip), each name matched against it with its
//! version specifiers (PEP 440 and PEP 508 as `packaging` reads them,
//! names compared in PEP 503 canonical form); with `extra_args`, a
//! requirements file, `state=latest` or a missing virtualenv it predicts a
//! change without looking, as pip.py does.
//!
//! What Python does in process is done with the host's tools: the module's
//! `umask` and `run_command`'s `path_prefix` become
//! `/bin/sh -c 'umask ...; PATH=...; exec "$@"'`, `tempfile.gettempdir()`
//! (the default `chdir`) is found by a shell, the interpreter pip.py runs
//! under is `ansible_python_interpreter` (else the first of
//! ansible-core's interpreter fallbacks found), and `break_system_packages`
//! sets `PIP_BREAK_SYSTEM_PACKAGES=1` for the commands pip.py runs after it.
//!
//! Differences: paths and command words get `~` expanded but not `$VARS`
//! (Python's `expandvars`); environment markers after `;` in a name are
//! kept as written (packaging re-spaces and re-quotes them); extras are
//! sorted but not normalised as pkg_resources does.

use std::sync::OnceLock;

use regex::Regex;
use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::args::{Args, expand_user, py_repr};
use super::bin::{Ran, best_parsable_locale, get_bin_path, searched_path};
use super::cron::splitlines;
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::{ExecRequest, FileKind};
use crate::util::shell::quote;

pub struct Pip;

/// pip.py's argument spec, in its order (the order its type errors come in).
const PARAMS: &[&str] = &[
    "state",
    "name",
    "version",
    "requirements",
    "virtualenv",
    "virtualenv_site_packages",
    "virtualenv_command",
    "virtualenv_python",
    "extra_args",
    "editable",
    "chdir",
    "executable",
    "umask",
    "break_system_packages",
];

/// pip.py's `state_map`: the pip words for each state, in its order.
const STATES: &[(&str, &[&str])] = &[
    ("present", &["install"]),
    ("absent", &["uninstall", "-y"]),
    ("latest", &["install", "-U"]),
    ("forcereinstall", &["install", "-U", "--force-reinstall"]),
];

/// ansible-core's `INTERPRETER_PYTHON_FALLBACK`, what interpreter
/// discovery tries in turn.
const INTERPRETER_FALLBACK: &[&str] = &[
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
    "python3.9",
    "python3.8",
    "/usr/bin/python3",
    "python3",
];

/// pip.py's `_SPECIAL_PACKAGE_CHECKERS`: how the versions of pip and
/// setuptools are found when only `pip freeze` (which leaves them out)
/// is available, with importlib.metadata or pkg_resources.
fn special_checker(importlib: bool, package: &str) -> &'static str {
    match (importlib, package) {
        (true, "setuptools") => {
            "from importlib.metadata import version; print(version(\"setuptools\"))"
        }
        (true, _) => "from importlib.metadata import version; print(version(\"pip\"))",
        (false, "setuptools") => "import setuptools; print(setuptools.__version__)",
        (false, _) => {
            "import pkg_resources; print(pkg_resources.get_distribution(\"pip\").version)"
        }
    }
}

impl Module for Pip {
    fn params(&self) -> &'static [&'static str] {
        PARAMS
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let mut run = Run {
            ctx,
            umask: None,
            env: Vec::new(),
            warnings: Vec::new(),
        };
        let mut r = match run.main(args) {
            Ok(r) | Err(Exit::Done(r)) => r,
            Err(Exit::Fail(mut r)) => {
                r.insert("failed".into(), json!(true));
                r
            }
        };
        r.entry("changed").or_insert(json!(false));
        // The `_lines` the action plugin adds beside any `stdout`/`stderr`.
        for key in ["stdout", "stderr"] {
            if let Some(text) = r.get(key).and_then(Json::as_str) {
                let lines = json!(splitlines(text, false));
                r.entry(format!("{key}_lines")).or_insert(lines);
            }
        }
        if !run.warnings.is_empty() {
            r.insert("warnings".into(), json!(run.warnings));
        }
        Ok(Outcome::new(r))
    }
}

/// How the module ends before its last line: `exit_json` or `fail_json`.
enum Exit {
    Done(Vars),
    Fail(Vars),
}

type Step<T> = Result<T, Exit>;

fn fail(msg: impl Into<String>) -> Exit {
    fail_with(msg, [])
}

fn fail_with<const N: usize>(msg: impl Into<String>, extra: [(&str, Json); N]) -> Exit {
    let mut r = Vars::new();
    for (k, v) in extra {
        r.insert(k.into(), v);
    }
    r.insert("msg".into(), json!(msg.into()));
    Exit::Fail(r)
}

impl From<ModuleError> for Exit {
    fn from(e: ModuleError) -> Exit {
        fail(e.0)
    }
}

/// pip.py's `_fail`: what pip printed, as the failure message, with the
/// command that printed it.
fn pip_failed(cmd: &[String], out: &str, err: &str) -> Exit {
    let mut msg = String::new();
    if !out.is_empty() {
        msg.push_str(&format!("stdout: {out}"));
    }
    if !err.is_empty() {
        msg.push_str(&format!("\n:stderr: {err}"));
    }
    fail_with(msg, [("cmd", json!(cmd))])
}

/// The module's arguments, validated in AnsibleModule's order: mutually
/// exclusive ones, then types (in the spec's order), then `state`'s
/// choices, then `required_one_of`.
struct Params {
    state: String,
    name: Option<Vec<String>>,
    version: Option<String>,
    requirements: Option<String>,
    virtualenv: Option<String>,
    site_packages: bool,
    virtualenv_command: String,
    virtualenv_python: Option<String>,
    extra_args: Option<String>,
    editable: bool,
    chdir: Option<String>,
    executable: Option<String>,
    umask: Option<String>,
    break_system_packages: bool,
}

impl Params {
    fn read(ctx: &ModuleCtx, args: &Args) -> Step<Params> {
        let given = |k: &str| args.0.contains_key(k);
        let clashes: Vec<String> = [["name", "requirements"], ["executable", "virtualenv"]]
            .into_iter()
            .filter(|pair| pair.iter().all(|k| given(k)))
            .map(|pair| pair.join("|"))
            .collect();
        if !clashes.is_empty() {
            return Err(fail(format!(
                "parameters are mutually exclusive: {}",
                clashes.join(", ")
            )));
        }
        // `type='path'`: `~` expanded.
        let path = |k: &str| -> Result<Option<String>, ModuleError> {
            Ok(args
                .string(&[k])?
                .map(|p| expand_user(&p, || ctx.target.home())))
        };
        let state = args.string(&["state"])?;
        let p = Params {
            name: args.list(&["name"])?,
            version: args.string(&["version"])?,
            requirements: args.string(&["requirements"])?,
            virtualenv: path("virtualenv")?,
            site_packages: args.bool("virtualenv_site_packages", false)?,
            virtualenv_command: path("virtualenv_command")?.unwrap_or_else(|| "virtualenv".into()),
            virtualenv_python: args.string(&["virtualenv_python"])?,
            extra_args: args.string(&["extra_args"])?,
            editable: args.bool("editable", false)?,
            chdir: path("chdir")?,
            executable: path("executable")?,
            umask: args.string(&["umask"])?,
            break_system_packages: args.bool("break_system_packages", false)?,
            state: state.clone().unwrap_or_else(|| "present".into()),
        };
        let names: Vec<&str> = STATES.iter().map(|(s, _)| *s).collect();
        if let Some(state) = state.filter(|s| !names.contains(&s.as_str())) {
            return Err(fail(format!(
                "value of state must be one of: {}, got: {state}",
                names.join(", ")
            )));
        }
        if !given("name") && !given("requirements") {
            return Err(fail("one of the following is required: name, requirements"));
        }
        Ok(p)
    }
}

struct Run<'a, 'c> {
    ctx: &'a ModuleCtx<'c>,
    /// The module's `umask`, which every command it runs inherits.
    umask: Option<u32>,
    /// What pip.py puts in its own environment (`PIP_BREAK_SYSTEM_PACKAGES`)
    /// for the commands it runs after.
    env: Vec<(String, String)>,
    warnings: Vec<String>,
}

impl Run<'_, '_> {
    /// pip.py's `main()`.
    fn main(&mut self, args: &Args) -> Step<Vars> {
        let p = Params::read(self.ctx, args)?;
        let mut env = p.virtualenv.clone();
        if let (Some(venv), Some(chdir)) = (&env, &p.chdir) {
            env = Some(crate::util::pypath::join(chdir, venv));
        }
        if let Some(text) = p.umask.as_deref().filter(|u| !u.is_empty()) {
            let umask = py_int_base8(text).ok_or_else(|| {
                fail_with(
                    "umask must be an octal integer",
                    [(
                        "details",
                        json!(format!(
                            "invalid literal for int() with base 8: {}",
                            py_repr(text)
                        )),
                    )],
                )
            })?;
            self.umask = Some(umask);
        }
        if p.state == "latest" && p.version.is_some() {
            return Err(fail("version is incompatible with state=latest"));
        }
        // "this is done to avoid permissions issues with privilege
        // escalation and virtualenvs"
        let chdir = match &p.chdir {
            Some(dir) => dir.clone(),
            None => self.gettempdir(),
        };
        let (mut out, mut err) = (String::new(), String::new());
        let mut venv_created = false;
        if let Some(env) = &env
            && !self.exists(&format!("{env}/bin/activate"))
        {
            venv_created = true;
            self.setup_virtualenv(&p, env, &chdir, &mut out, &mut err)?;
        }
        let pip = self.get_pip(env.as_deref(), p.executable.as_deref())?;
        let state_words = STATES
            .iter()
            .find(|(s, _)| *s == p.state)
            .map_or(&["install"][..], |(_, words)| words);
        let mut cmd: Vec<String> = pip.clone();
        cmd.extend(state_words.iter().map(|w| w.to_string()));
        // Things installed into a virtualenv find the virtualenv's other
        // programs first (pip.py's `path_prefix`).
        let path_prefix = env.as_ref().map(|e| format!("{e}/bin"));

        let names = p.name.clone().unwrap_or_default();
        let has_vcs = names.iter().any(|n| is_vcs_url(n));
        let mut packages: Vec<Package> = Vec::new();
        if !names.is_empty() {
            packages = recover_package_names(&names)
                .iter()
                .map(|n| Package::new(n, None))
                .collect();
            if let Some(version) = &p.version {
                if packages.len() > 1 {
                    return Err(fail(
                        "'version' argument is ambiguous when installing multiple package distributions. \
                         Please specify version restrictions next to each package in 'name' argument.",
                    ));
                }
                if packages[0].has_version_specifier() {
                    return Err(fail(
                        "The 'version' argument conflicts with any version specifier provided along with a package name. \
                         Please keep the version specifier, but remove the 'version' argument.",
                    ));
                }
                // The version joins the name as a specifier.
                packages[0] = Package::new(&packages[0].text, Some(version));
            }
        }

        let mut extra_args = p.extra_args.clone();
        if p.editable {
            let mut words: Vec<String> = match &extra_args {
                Some(e) if !e.is_empty() => e.split(' ').map(str::to_owned).collect(),
                _ => Vec::new(),
            };
            if !words.iter().any(|w| w == "-e") {
                words.push("-e".into());
                extra_args = Some(words.join(" "));
            }
        }
        let extra_args = extra_args.filter(|e| !e.is_empty());
        if let Some(extra) = &extra_args {
            let words = shlex::split(extra)
                .ok_or_else(|| fail(format!("Unable to split extra_args: {extra}")))?;
            cmd.extend(words);
        }
        if p.break_system_packages {
            // An environment variable rather than `--break-system-packages`,
            // which pip 23.0.0 and older refuse.
            self.env
                .push(("PIP_BREAK_SYSTEM_PACKAGES".into(), "1".into()));
        }

        if !names.is_empty() {
            cmd.extend(packages.iter().map(|p| p.text.clone()));
        } else if let Some(requirements) = &p.requirements {
            cmd.extend(["-r".to_owned(), requirements.clone()]);
        } else {
            self.warnings
                .push("No valid name or requirements file found.".into());
            return Err(Exit::Done(changed(false)));
        }

        if self.ctx.check {
            if extra_args.is_some()
                || p.requirements.is_some()
                || p.state == "latest"
                || names.is_empty()
            {
                return Err(Exit::Done(changed(true)));
            }
            let (pkg_cmd, out_pip, err_pip) = self.get_packages(&pip, &chdir)?;
            out.push_str(&out_pip);
            err.push_str(&err_pip);
            let mut installed: Vec<String> = out
                .split('\n')
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("You are using")
                        && !l.starts_with("You should consider")
                })
                .map(str::to_owned)
                .collect();
            if pkg_cmd.ends_with(" freeze") {
                // A pip older than 1.3 (no `pip list`): `pip freeze` leaves
                // out pip and setuptools, asked of the interpreter instead.
                for special in ["setuptools", "pip"] {
                    if !names.iter().any(|n| n == special) {
                        continue;
                    }
                    let py_bin = match (&env, &p.executable) {
                        (Some(env), _) => format!("{env}/bin/python"),
                        (None, Some(exe)) => exe.clone(),
                        (None, None) => self.interpreter(),
                    };
                    if let Some(dep) = self.package_info(special, &py_bin)? {
                        out.push_str(&format!("{dep}\n"));
                        installed.push(dep);
                    }
                }
            }
            let changed = packages.iter().any(|package| {
                let present = package.is_present(&installed);
                (p.state == "present" && !present) || (p.state == "absent" && present)
            });
            let mut r = Vars::new();
            r.insert("changed".into(), json!(changed));
            r.insert("cmd".into(), json!(pkg_cmd));
            r.insert("stdout".into(), json!(out));
            r.insert("stderr".into(), json!(err));
            return Ok(r);
        }

        let freeze_before = if p.requirements.is_some() || has_vcs {
            Some(self.get_packages(&pip, &chdir)?.1)
        } else {
            None
        };
        let ran = self.exec(&cmd, Some(&chdir), path_prefix.as_deref(), &[])?;
        out.push_str(&ran.out);
        err.push_str(&ran.err);
        let not_installed = ran.out.contains("not installed") || ran.err.contains("not installed");
        if ran.rc == 1 && p.state == "absent" && not_installed {
            // pip's rc for uninstalling what is not installed.
        } else if ran.rc != 0 {
            return Err(pip_failed(&cmd, &out, &err));
        }
        let changed = if p.state == "absent" {
            ran.out.contains("Successfully uninstalled")
        } else if let Some(before) = freeze_before {
            before != self.get_packages(&pip, &chdir)?.1
        } else {
            ran.out.contains("Successfully installed")
        };

        let mut r = Vars::new();
        r.insert("changed".into(), json!(changed || venv_created));
        r.insert("cmd".into(), json!(cmd));
        r.insert("name".into(), json!(p.name));
        r.insert("version".into(), json!(p.version));
        r.insert("state".into(), json!(p.state));
        r.insert("requirements".into(), json!(p.requirements));
        r.insert("virtualenv".into(), json!(env));
        r.insert("stdout".into(), json!(out));
        r.insert("stderr".into(), json!(err));
        Ok(r)
    }

    /// pip.py's `setup_virtualenv`: `virtualenv_command` (its program
    /// found on the host unless given as a path) makes `env`; in check
    /// mode the module ends here, changed.
    fn setup_virtualenv(
        &self,
        p: &Params,
        env: &str,
        chdir: &str,
        out: &mut String,
        err: &mut String,
    ) -> Step<()> {
        if self.ctx.check {
            return Err(Exit::Done(changed(true)));
        }
        let mut cmd = shlex::split(&p.virtualenv_command).unwrap_or_default();
        let Some(program) = cmd.first().cloned() else {
            return Err(fail(format!(
                "Unable to split virtualenv_command: {}",
                p.virtualenv_command
            )));
        };
        if !program.contains('/') {
            cmd[0] = get_bin_path(self.ctx.target, &program, &[]).ok_or_else(|| {
                fail(format!(
                    "Failed to find required executable \"{program}\" in paths: {}",
                    searched_path(&[])
                ))
            })?;
        }
        if p.site_packages {
            cmd.push("--system-site-packages".into());
        } else if self
            .cmd_options(&cmd[0])?
            .iter()
            .any(|o| o == "--no-site-packages")
        {
            cmd.push("--no-site-packages".into());
        }
        // `-p` is virtualenv's: venv and pyvenv use the Python they run in.
        if !is_venv_command(&p.virtualenv_command) {
            let python = match &p.virtualenv_python {
                Some(python) => python.clone(),
                None => self.interpreter(),
            };
            cmd.push(format!("-p{python}"));
        } else if p
            .virtualenv_python
            .as_deref()
            .is_some_and(|v| !v.is_empty())
        {
            return Err(fail(
                "virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command",
            ));
        }
        cmd.push(env.to_owned());
        let ran = self.exec(&cmd, Some(chdir), None, &[])?;
        out.push_str(&ran.out);
        err.push_str(&ran.err);
        if ran.rc != 0 {
            return Err(pip_failed(&cmd, out, err));
        }
        Ok(())
    }

    /// pip.py's `_get_cmd_options`: the `--options` a command's `--help`
    /// mentions.
    fn cmd_options(&self, program: &str) -> Step<Vec<String>> {
        let argv = [program.to_owned(), "--help".to_owned()];
        let ran = self.exec(&argv, None, None, &[])?;
        if ran.rc != 0 {
            return Err(fail(format!(
                "Could not get output from {program} --help: {}{}",
                ran.out, ran.err
            )));
        }
        Ok(ran
            .out
            .split_whitespace()
            .filter(|w| w.starts_with("--"))
            .map(str::to_owned)
            .collect())
    }

    /// pip.py's `_get_pip`: `executable` (a path as is, a name looked up),
    /// else the interpreter's own pip module when there is no virtualenv,
    /// else `pip3` on the host or `pip3`/`pip` in the virtualenv's `bin`.
    fn get_pip(&self, env: Option<&str>, executable: Option<&str>) -> Step<Vec<String>> {
        let mut candidates = vec!["pip3".to_owned()];
        if let Some(exe) = executable {
            if exe.starts_with('/') {
                return Ok(vec![exe.to_owned()]);
            }
            // As documented, executable does not work with virtualenvs.
            candidates = vec![exe.to_owned()];
        } else if env.is_none() {
            let python = self.interpreter();
            if self.have_pip_module(&python) {
                return Ok(vec![python, "-m".into(), "pip".into()]);
            }
        }
        match env {
            None => {
                for name in &candidates {
                    if let Some(pip) = get_bin_path(self.ctx.target, name, &[]) {
                        return Ok(vec![pip]);
                    }
                }
                Err(fail(format!(
                    "Unable to find any of {} to use.  pip needs to be installed.",
                    candidates.join(", ")
                )))
            }
            Some(env) => {
                let candidates = [candidates[0].clone(), "pip".to_owned()];
                for name in &candidates {
                    let path = format!("{env}/bin/{name}");
                    if matches!(self.ctx.target.stat(&path, true),
                        Ok(Some(st)) if st.mode & 0o111 != 0)
                    {
                        return Ok(vec![path]);
                    }
                }
                Err(fail(format!(
                    "Unable to find pip in the virtualenv, {env}, under any of these names: {}. \
                     Make sure pip is present in the virtualenv.",
                    candidates.join(", ")
                )))
            }
        }
    }

    /// pip.py's `_get_packages`: `pip list --format=freeze` in the best
    /// parsable locale, else (a pip too old for it) `pip freeze`; the
    /// command as one string, its stdout and stderr.
    fn get_packages(&self, pip: &[String], chdir: &str) -> Step<(String, String, String)> {
        let locale = best_parsable_locale(self.ctx);
        let lang: Vec<(String, String)> = ["LANG", "LC_ALL", "LC_MESSAGES"]
            .into_iter()
            .map(|k| (k.to_owned(), locale.clone()))
            .collect();
        let mut command: Vec<String> = pip.to_vec();
        command.extend(["list".to_owned(), "--format=freeze".to_owned()]);
        let mut ran = self.exec(&command, Some(chdir), None, &lang)?;
        if ran.rc != 0 {
            command = pip.to_vec();
            command.push("freeze".into());
            ran = self.exec(&command, Some(chdir), None, &[])?;
            if ran.rc != 0 {
                return Err(pip_failed(&command, &ran.out, &ran.err));
            }
        }
        Ok((command.join(" "), ran.out, ran.err))
    }

    /// pip.py's `_get_package_info`: `package==version` from the
    /// interpreter, for pip and setuptools, which `pip freeze` leaves out.
    fn package_info(&self, package: &str, python: &str) -> Step<Option<String>> {
        let probe = [
            python.to_owned(),
            "-c".into(),
            "import importlib.metadata".into(),
        ];
        let importlib = self.exec(&probe, None, None, &[])?.rc == 0;
        let argv = [
            python.to_owned(),
            "-c".into(),
            special_checker(importlib, package).into(),
        ];
        let ran = self.exec(&argv, None, None, &[])?;
        Ok((ran.rc == 0).then(|| format!("{package}=={}", ran.out.trim())))
    }

    /// The Python the module would run under (`sys.executable`): the
    /// host's `ansible_python_interpreter`, else what interpreter
    /// discovery would find.
    fn interpreter(&self) -> String {
        for var in [
            "ansible_python_interpreter",
            "ansible_facts.discovered_interpreter_python",
        ] {
            if let Ok(Json::String(python)) = self.ctx.templar.eval(var)
                && !python.is_empty()
                && !python.starts_with("auto")
            {
                return python;
            }
        }
        INTERPRETER_FALLBACK
            .iter()
            .find_map(|name| {
                if name.starts_with('/') {
                    self.exists(name).then(|| name.to_string())
                } else {
                    get_bin_path(self.ctx.target, name, &[])
                }
            })
            .unwrap_or_else(|| "/usr/bin/python3".to_owned())
    }

    /// pip.py's `_have_pip_module`: whether the interpreter finds `pip`.
    fn have_pip_module(&self, python: &str) -> bool {
        let argv = [
            python.to_owned(),
            "-c".into(),
            "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('pip') else 1)"
                .into(),
        ];
        matches!(self.exec(&argv, None, None, &[]), Ok(ran) if ran.rc == 0)
    }

    /// Python's `tempfile.gettempdir()` on the host: `TMPDIR`, `TEMP`,
    /// `TMP`, then the usual places, the first writable directory.
    fn gettempdir(&self) -> String {
        const SCRIPT: &str = "for d in \"${TMPDIR:-}\" \"${TEMP:-}\" \"${TMP:-}\" /tmp /var/tmp /usr/tmp; do \
             if [ -n \"$d\" ] && [ -d \"$d\" ] && [ -w \"$d\" ] && cd \"$d\" 2>/dev/null; then pwd; exit 0; fi; \
             done; pwd";
        let mut req = ExecRequest::shell(SCRIPT);
        req.env = self.ctx.env.to_vec();
        match self.ctx.target.exec(&req) {
            Ok(out) if out.rc == 0 => {
                let dir = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
                if dir.is_empty() {
                    "/tmp".to_owned()
                } else {
                    dir
                }
            }
            _ => "/tmp".to_owned(),
        }
    }

    fn exists(&self, path: &str) -> bool {
        matches!(self.ctx.target.stat(path, true), Ok(Some(_)))
    }

    /// `module.run_command(argv, cwd=..., path_prefix=..., environ_update=...)`
    /// under the module's umask: `~` in each word expanded, a `cwd` that
    /// is not a directory ignored, `path_prefix` put before `PATH`.
    fn exec(
        &self,
        argv: &[String],
        cwd: Option<&str>,
        path_prefix: Option<&str>,
        extra_env: &[(String, String)],
    ) -> Step<Ran> {
        let home = || self.ctx.target.home();
        let words: Vec<String> = argv.iter().map(|a| expand_user(a, home)).collect();
        let mut script = String::new();
        if let Some(umask) = self.umask {
            script.push_str(&format!("umask {umask:o} && "));
        }
        if let Some(prefix) = path_prefix {
            script.push_str(&format!(
                "PATH={}${{PATH:+:$PATH}} && export PATH && ",
                quote(prefix)
            ));
        }
        let mut req = if script.is_empty() {
            ExecRequest::new(words)
        } else {
            script.push_str("exec \"$@\"");
            let mut full = vec![
                "/bin/sh".to_owned(),
                "-c".to_owned(),
                script,
                "sh".to_owned(),
            ];
            full.extend(words);
            ExecRequest::new(full)
        };
        req.env = self.ctx.env.to_vec();
        req.env.extend(self.env.iter().cloned());
        req.env.extend(extra_env.iter().cloned());
        req.cwd = cwd
            .filter(|d| matches!(self.ctx.target.stat(d, true), Ok(Some(st)) if st.kind == FileKind::Dir))
            .map(str::to_owned);
        match self.ctx.target.exec(&req) {
            Ok(out) => Ok(Ran {
                rc: out.rc,
                out: String::from_utf8_lossy(&out.stdout).into_owned(),
                err: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
            Err(e) => {
                let shown = argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
                Err(fail_with(
                    "Error executing command.",
                    [
                        ("rc", json!(e.raw_os_error().unwrap_or(2))),
                        ("stdout", json!("")),
                        ("stderr", json!("")),
                        ("cmd", json!(shown)),
                        ("exception", json!(e.to_string())),
                    ],
                ))
            }
        }
    }
}

fn changed(changed: bool) -> Vars {
    let mut r = Vars::new();
    r.insert("changed".into(), json!(changed));
    r
}

/// Python's `int(text, 8)`: surrounding whitespace, `0o` and underscores
/// between digits allowed.
fn py_int_base8(text: &str) -> Option<u32> {
    let t = text.trim();
    let t = t
        .strip_prefix("0o")
        .or_else(|| t.strip_prefix("0O"))
        .unwrap_or(t);
    if t.is_empty() || t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    u32::from_str_radix(&t.replace('_', ""), 8).ok()
}

/// pip.py's `_is_vcs_url`: a name starting with `svn+`, `git+`, `hg+` or
/// `bzr+`.
fn is_vcs_url(name: &str) -> bool {
    ["svn+", "git+", "hg+", "bzr+"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// pip.py's `_is_venv_command`: `pyvenv`, or a command given `-m venv`
/// (as argparse reads `-m`: `-m venv`, `-mvenv`, `-m=venv`; the last wins).
fn is_venv_command(command: &str) -> bool {
    let argv = shlex::split(command).unwrap_or_default();
    if argv.first().is_some_and(|a| a == "pyvenv") {
        return true;
    }
    let mut module = None;
    let mut words = argv.iter().skip(1);
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        if word == "-m" {
            module = words.next().cloned();
        } else if let Some(rest) = word.strip_prefix("-m") {
            module = Some(rest.strip_prefix('=').unwrap_or(rest).to_owned());
        }
    }
    module.as_deref() == Some("venv")
}

/// pip.py's `op_dict` keys: what a version specifier starts with.
const SPEC_OPS: &[&str] = &[">=", "<=", ">", "<", "==", "!=", "~="];

/// pip.py's `_recover_package_name`: names as the user meant them from a
/// list that `type='list'` may have split at the commas between version
/// specifiers (`['django>1.11.1', '<1.11.3']` is one name), or that packs
/// several names in one item; commas inside `[extras]` kept.
fn recover_package_names(names: &[String]) -> Vec<String> {
    let parts: Vec<&str> = names.iter().flat_map(|n| n.split(',')).collect();
    let mut packages = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut in_brackets = false;
    for part in parts {
        let is_name = !SPEC_OPS.iter().any(|op| part.trim_start().starts_with(op));
        if is_name && !in_brackets {
            if !current.is_empty() {
                packages.push(current.join(","));
            }
            current.clear();
        }
        if part.contains('[') {
            in_brackets = true;
        }
        if in_brackets && part.contains(']') {
            in_brackets = false;
        }
        current.push(part);
    }
    packages.push(current.join(","));
    packages
}

/// PEP 503's canonical form of a name (pip.py's `Package.canonicalize_name`).
fn canonicalize_name(name: &str) -> String {
    static SEPARATORS: OnceLock<Regex> = OnceLock::new();
    SEPARATORS
        .get_or_init(|| Regex::new(r"[-_.]+").expect("a valid regex"))
        .replace_all(name, "-")
        .to_lowercase()
}

/// pip.py's `Package`: a name as given, parsed as a PEP 508 requirement
/// when it is one (not a URL or a path).
#[derive(Debug)]
struct Package {
    /// `str(package)`: the requirement as packaging writes it, else the
    /// name as given.
    text: String,
    /// The canonical name (the name as given when it is no requirement).
    name: String,
    requirement: Option<Requirement>,
}

impl Package {
    /// `Package(name_string, version_string)`: a version starting with a
    /// digit is joined with `==`, any other (`>=1.0`) with a space.
    fn new(name: &str, version: Option<&str>) -> Package {
        let mut text = name.to_owned();
        if let Some(version) = version.map(str::trim_start).filter(|v| !v.is_empty()) {
            let separator = if version.starts_with(|c: char| c.is_ascii_digit()) {
                "=="
            } else {
                " "
            };
            text = format!("{name}{separator}{version}");
        }
        match Requirement::parse(&text) {
            Some(req) => {
                let canonical = canonicalize_name(&req.name);
                // Old pkg_resources read setuptools as distribute.
                let name = if canonical == "distribute" && text.contains("setuptools") {
                    "setuptools".to_owned()
                } else {
                    canonical
                };
                Package {
                    text: req.to_string(),
                    name,
                    requirement: Some(req),
                }
            }
            None => Package {
                name: name.to_owned(),
                text: name.to_owned(),
                requirement: None,
            },
        }
    }

    fn has_version_specifier(&self) -> bool {
        self.requirement
            .as_ref()
            .is_some_and(|r| !r.specs.is_empty())
    }

    /// `specifier.contains(version, prereleases=True)`.
    fn is_satisfied_by(&self, version: &str) -> bool {
        let Some(req) = &self.requirement else {
            return false;
        };
        let Some(version) = Version::parse(version) else {
            return false;
        };
        req.specs.iter().all(|spec| spec.contains(&version))
    }

    /// pip.py's `_is_present`: a `name==version` line of `pip freeze`
    /// with this canonical name and a version the specifiers accept.
    fn is_present(&self, installed: &[String]) -> bool {
        installed.iter().any(|line| {
            let mut parts = line.split("==");
            match (parts.next(), parts.next(), parts.next()) {
                (Some(name), Some(version), None) => {
                    canonicalize_name(name) == self.name && self.is_satisfied_by(version)
                }
                _ => false,
            }
        })
    }
}

/// A PEP 508 requirement as packaging's parser reads it: a name,
/// `[extras]`, then `@ url` or version specifiers (maybe in
/// parentheses), then `; marker`.
#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    name: String,
    extras: Vec<String>,
    specs: Vec<Specifier>,
    url: Option<String>,
    marker: Option<String>,
}

impl Requirement {
    fn parse(text: &str) -> Option<Requirement> {
        static NAME: OnceLock<Regex> = OnceLock::new();
        let name_re = NAME.get_or_init(|| {
            Regex::new(r"^(?-u:\b)[a-zA-Z0-9][a-zA-Z0-9._-]*(?-u:\b)").expect("a valid regex")
        });
        let ws = |s: &str| s.trim_start_matches([' ', '\t']).to_owned();
        let rest = ws(text);
        let name = name_re.find(&rest)?.as_str().to_owned();
        let mut rest = ws(&rest[name.len()..]);
        let mut extras = Vec::new();
        if let Some(inside) = rest.strip_prefix('[') {
            let end = inside.find(']')?;
            for extra in inside[..end].split(',') {
                let extra = extra.trim_matches([' ', '\t']);
                if extra.is_empty() {
                    if inside[..end].trim().is_empty() {
                        break;
                    }
                    return None;
                }
                if name_re.find(extra)?.as_str() != extra {
                    return None;
                }
                extras.push(extra.to_owned());
            }
            rest = ws(&inside[end + 1..]);
        }
        let mut specs = Vec::new();
        let mut url = None;
        if let Some(after) = rest.strip_prefix('@') {
            let after = ws(after);
            let end = after.find([' ', '\t']).unwrap_or(after.len());
            if end == 0 {
                return None;
            }
            url = Some(after[..end].to_owned());
            rest = after[end..].to_owned();
            if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
                return None;
            }
            rest = ws(&rest);
        } else {
            let parenthesized = rest.starts_with('(');
            if parenthesized {
                rest = ws(&rest[1..]);
            }
            // Specifiers separated by commas: a comma wants one after it.
            let mut after_comma = false;
            while let Some((spec, len)) = Specifier::parse_prefix(&rest) {
                specs.push(spec);
                rest = ws(&rest[len..]);
                after_comma = false;
                match rest.strip_prefix(',') {
                    Some(after) => {
                        rest = ws(after);
                        after_comma = true;
                    }
                    None => break,
                }
            }
            if after_comma {
                return None;
            }
            if parenthesized {
                rest = ws(rest.strip_prefix(')')?);
            }
        }
        let marker = match rest.strip_prefix(';') {
            Some(m) if !m.trim().is_empty() => Some(m.trim().to_owned()),
            Some(_) => return None,
            None if rest.trim_end().is_empty() => None,
            None => return None,
        };
        Some(Requirement {
            name,
            extras,
            specs,
            url,
            marker,
        })
    }
}

/// `str(Requirement)` as packaging writes it: extras and specifiers
/// sorted, no spaces but around the URL and before the marker.
impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if !self.extras.is_empty() {
            let mut extras = self.extras.clone();
            extras.sort();
            write!(f, "[{}]", extras.join(","))?;
        }
        let mut specs: Vec<String> = self
            .specs
            .iter()
            .map(|s| format!("{}{}", s.op, s.version))
            .collect();
        specs.sort();
        f.write_str(&specs.join(","))?;
        if let Some(url) = &self.url {
            write!(f, "@ {url}")?;
            if self.marker.is_some() {
                f.write_str(" ")?;
            }
        }
        if let Some(marker) = &self.marker {
            write!(f, "; {marker}")?;
        }
        Ok(())
    }
}

/// One version specifier (`>=1.0`, `==1.*`, `~=2.2`), as packaging's
/// `Specifier`: the operator and the version as written.
#[derive(Debug, Clone, PartialEq)]
struct Specifier {
    op: String,
    version: String,
}

impl Specifier {
    /// The specifier at the start of `text` and its length, as packaging's
    /// tokenizer matches one: `===` takes anything, `==`/`!=` a version
    /// with a `.*` wildcard or a local part, `~=` one with two release
    /// numbers or more, the ordered operators a plain version.
    fn parse_prefix(text: &str) -> Option<(Specifier, usize)> {
        static SPEC: OnceLock<Regex> = OnceLock::new();
        let re = SPEC.get_or_init(|| {
            let pre = r"(?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?";
            let post = r"(?:(?:-[0-9]+)|(?:[-_.]?(?:post|rev|r)[-_.]?[0-9]*))?";
            let dev = r"(?:[-_.]?dev[-_.]?[0-9]*)?";
            let local = r"(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?";
            let release = r"v?(?:[0-9]+!)?[0-9]+";
            Regex::new(&format!(
                r"(?i)^(?:(?P<id>===)\s*(?P<idv>[^\s;)]*)|(?P<eq>==|!=)\s*(?P<eqv>{release}(?:\.[0-9]+)*(?:\.\*|{pre}{post}{dev}{local}))|(?P<ce>~=)\s*(?P<cev>{release}(?:\.[0-9]+)+{pre}{post}{dev})|(?P<ord><=|>=|<|>)\s*(?P<ordv>{release}(?:\.[0-9]+)*{pre}{post}{dev}))"
            ))
            .expect("a valid regex")
        });
        let caps = re.captures(text)?;
        let (op, version) = [("id", "idv"), ("eq", "eqv"), ("ce", "cev"), ("ord", "ordv")]
            .iter()
            .find_map(|(o, v)| Some((caps.name(o)?, caps.name(v)?)))?;
        let spec = Specifier {
            op: op.as_str().to_owned(),
            version: version.as_str().trim().to_owned(),
        };
        Some((spec, caps.get(0)?.end()))
    }

    /// `Specifier.contains(version, prereleases=True)`.
    fn contains(&self, prospective: &Version) -> bool {
        let spec = self.version.as_str();
        match self.op.as_str() {
            "===" => prospective.to_string().to_lowercase() == spec.to_lowercase(),
            "==" => compare_equal(prospective, spec),
            "!=" => !compare_equal(prospective, spec),
            "~=" => {
                let mut prefix: Vec<String> = version_split(spec)
                    .into_iter()
                    .take_while(|s| {
                        !["dev", "a", "b", "rc", "post"]
                            .iter()
                            .any(|p| s.starts_with(p))
                    })
                    .collect();
                prefix.pop();
                let Some(v) = Version::parse(spec) else {
                    return false;
                };
                prospective.public() >= v
                    && compare_equal(prospective, &format!("{}.*", prefix.join(".")))
            }
            op => {
                let Some(v) = Version::parse(spec) else {
                    return false;
                };
                match op {
                    "<=" => prospective.public() <= v,
                    ">=" => prospective.public() >= v,
                    "<" => {
                        *prospective < v
                            && !(!v.is_prerelease()
                                && prospective.is_prerelease()
                                && prospective.base() == v.base())
                    }
                    ">" => {
                        *prospective > v
                            && !(!v.is_postrelease()
                                && prospective.post.is_some()
                                && prospective.base() == v.base())
                            && !(prospective.local.is_some() && prospective.base() == v.base())
                    }
                    _ => false,
                }
            }
        }
    }
}

/// packaging's `_compare_equal`: a `.*` spec matches by prefix of the
/// release (padded with zeros), others by equality, local parts compared
/// only when the spec has one.
fn compare_equal(prospective: &Version, spec: &str) -> bool {
    if let Some(prefix) = spec.strip_suffix(".*") {
        let spec_text = Version::parse(prefix).map_or(prefix.to_owned(), |v| v.canonical());
        let split_spec = version_split(&spec_text);
        let split_prospective = version_split(&prospective.public().canonical());
        let (padded, _) = pad_version(&split_prospective, &split_spec);
        padded.len() >= split_spec.len() && padded[..split_spec.len()] == split_spec[..]
    } else {
        let Some(spec) = Version::parse(spec) else {
            return false;
        };
        if spec.local.is_some() {
            *prospective == spec
        } else {
            prospective.public() == spec
        }
    }
}

/// packaging's `_version_split`: dot-separated parts, `1rc2` as `1`, `rc2`.
fn version_split(version: &str) -> Vec<String> {
    static PREFIX: OnceLock<Regex> = OnceLock::new();
    let re = PREFIX
        .get_or_init(|| Regex::new(r"^([0-9]+)((?:a|b|c|rc)[0-9]+)$").expect("a valid regex"));
    let mut out = Vec::new();
    for item in version.split('.') {
        match re.captures(item) {
            Some(c) => out.extend([c[1].to_owned(), c[2].to_owned()]),
            None => out.push(item.to_owned()),
        }
    }
    out
}

/// packaging's `_pad_version`: both release parts padded with `0` to the
/// same length, the rest kept after them.
fn pad_version(left: &[String], right: &[String]) -> (Vec<String>, Vec<String>) {
    let digits = |v: &[String]| {
        v.iter()
            .take_while(|s| s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty())
            .count()
    };
    let (l, r) = (digits(left), digits(right));
    let pad = |v: &[String], n: usize, to: usize| {
        let mut out = v[..n].to_vec();
        out.extend(std::iter::repeat_n("0".to_owned(), to.saturating_sub(n)));
        out.extend(v[n..].iter().cloned());
        out
    };
    (pad(left, l, r), pad(right, r, l))
}

/// A PEP 440 version, normalised as packaging's `Version` (`1.0A1` is
/// `1.0a1`, `1.0-1` is `1.0.post1`), ordered as packaging orders them.
#[derive(Debug, Clone)]
struct Version {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(String, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Option<Vec<String>>,
}

/// A local version part: numbers above words, numbers by value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    Word(String),
    Number(u64),
}

/// The pre-release part of the sort key: a dev-only release before any
/// pre-release, a final release after them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PreKey {
    Before,
    Pre(String, u64),
    After,
}

type VersionKey = (
    u64,
    Vec<u64>,
    PreKey,
    Option<u64>,
    (bool, u64),
    Option<Vec<LocalPart>>,
);

impl Version {
    fn parse(text: &str) -> Option<Version> {
        static VERSION: OnceLock<Regex> = OnceLock::new();
        let re = VERSION.get_or_init(|| {
            Regex::new(
                r"(?ix)^\s*v?
                (?:(?P<epoch>[0-9]+)!)?
                (?P<release>[0-9]+(?:\.[0-9]+)*)
                (?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
                (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
                (?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
                (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
                \s*$",
            )
            .expect("a valid regex")
        });
        let c = re.captures(text)?;
        let num = |name: &str| -> Option<Option<u64>> {
            match c.name(name) {
                Some(m) => m.as_str().parse().ok().map(Some),
                None => Some(None),
            }
        };
        let release = c["release"]
            .split('.')
            .map(|n| n.parse().ok())
            .collect::<Option<Vec<u64>>>()?;
        let pre = match c.name("pre_l") {
            Some(l) => {
                let kind = match l.as_str().to_lowercase().as_str() {
                    "alpha" | "a" => "a",
                    "beta" | "b" => "b",
                    _ => "rc",
                };
                Some((kind.to_owned(), num("pre_n")?.unwrap_or(0)))
            }
            None => None,
        };
        let post = match (c.name("post_n1"), c.name("post_l")) {
            (Some(_), _) => num("post_n1")?,
            (None, Some(_)) => Some(num("post_n2")?.unwrap_or(0)),
            _ => None,
        };
        let dev = match c.name("dev_l") {
            Some(_) => Some(num("dev_n")?.unwrap_or(0)),
            None => None,
        };
        let local = c.name("local").map(|l| {
            l.as_str()
                .to_lowercase()
                .split(['-', '_', '.'])
                .map(str::to_owned)
                .collect()
        });
        Some(Version {
            epoch: num("epoch")?.unwrap_or(0),
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    fn key(&self) -> VersionKey {
        let mut release = self.release.clone();
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        if release == [0] {
            release.clear();
        }
        let pre = match (&self.pre, self.post, self.dev) {
            (None, None, Some(_)) => PreKey::Before,
            (None, _, _) => PreKey::After,
            (Some((l, n)), _, _) => PreKey::Pre(l.clone(), *n),
        };
        let dev = (self.dev.is_none(), self.dev.unwrap_or(0));
        let local = self.local.as_ref().map(|parts| {
            parts
                .iter()
                .map(|p| match p.parse() {
                    Ok(n) if p.chars().all(|c| c.is_ascii_digit()) => LocalPart::Number(n),
                    _ => LocalPart::Word(p.clone()),
                })
                .collect()
        });
        (self.epoch, release, pre, self.post, dev, local)
    }

    /// The version without its local part.
    fn public(&self) -> Version {
        Version {
            local: None,
            ..self.clone()
        }
    }

    /// The epoch and release only.
    fn base(&self) -> Version {
        Version {
            epoch: self.epoch,
            release: self.release.clone(),
            pre: None,
            post: None,
            dev: None,
            local: None,
        }
    }

    fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    fn is_postrelease(&self) -> bool {
        self.post.is_some()
    }

    /// packaging's `canonicalize_version(v, strip_trailing_zero=False)`,
    /// which is also `str(v)`.
    fn canonical(&self) -> String {
        let mut out = String::new();
        if self.epoch != 0 {
            out.push_str(&format!("{}!", self.epoch));
        }
        let release: Vec<String> = self.release.iter().map(u64::to_string).collect();
        out.push_str(&release.join("."));
        if let Some((l, n)) = &self.pre {
            out.push_str(&format!("{l}{n}"));
        }
        if let Some(n) = self.post {
            out.push_str(&format!(".post{n}"));
        }
        if let Some(n) = self.dev {
            out.push_str(&format!(".dev{n}"));
        }
        if let Some(local) = &self.local {
            out.push_str(&format!("+{}", local.join(".")));
        }
        out
    }
}

/// `str(Version)`: the normalised form.
impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.key() == other.key()
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<std::cmp::Ordering> {
        Some(self.key().cmp(&other.key()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|| panic!("{text} is a version"))
    }

    fn satisfied(spec: &str, version: &str) -> bool {
        Package::new(&format!("pkg{spec}"), None).is_satisfied_by(version)
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn versions_order_as_packaging() {
        let sorted = [
            "1.0.dev1",
            "1.0a1",
            "1.0a2.dev1",
            "1.0a2",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0+local",
            "1.0.post1.dev1",
            "1.0.post1",
            "1.1",
            "2.0",
            "1!0.5",
        ];
        for pair in sorted.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert!(v("1.0") == v("1"));
        assert!(v("1.0.0") == v("1.0"));
        assert_eq!(v("1.0-1").to_string(), "1.0.post1");
        assert_eq!(v("1.0ALPHA2").to_string(), "1.0a2");
        assert_eq!(v("v1.0c1").to_string(), "1.0rc1");
        assert_eq!(v("1.0.dev").to_string(), "1.0.dev0");
        assert!(Version::parse("1.0-beta-x").is_none());
        assert!(Version::parse("not a version").is_none());
    }

    #[test]
    fn specifiers_as_packaging() {
        assert!(satisfied(">=1.0,<3", "2.0"));
        assert!(!satisfied(">=1.0,<3", "3.0"));
        assert!(satisfied("==1.*", "1.5"));
        assert!(!satisfied("==1.*", "2.0"));
        assert!(satisfied("==1.0", "1"));
        assert!(satisfied("==1.0", "1.0+local"));
        assert!(!satisfied("==1.0+other", "1.0+local"));
        assert!(satisfied("!=1.0", "2.0"));
        assert!(!satisfied("!=1.0", "1.0.0"));
        assert!(satisfied("~=1.0", "1.5"));
        assert!(!satisfied("~=1.0", "2.0"));
        assert!(satisfied("~=2.2.1", "2.2.5"));
        assert!(!satisfied("~=2.2.1", "2.3"));
        assert!(!satisfied("<2.0", "2.0rc1"));
        assert!(satisfied("<2.0rc2", "2.0rc1"));
        assert!(!satisfied(">1.0", "1.0.post1"));
        assert!(!satisfied(">1.0", "1.0+local"));
        assert!(satisfied(">1.0", "1.1"));
        assert!(satisfied("===1.0", "1.0"));
        assert!(!satisfied("===1.0", "1.0.0"));
        // pip.py asks with prereleases=True.
        assert!(satisfied(">=1.0", "2.0b1"));
        // No specifier: any version.
        assert!(satisfied("", "0.1"));
    }

    #[test]
    fn requirements_written_as_packaging() {
        let text = |name: &str| Package::new(name, None).text;
        assert_eq!(text("rustle-demo >= 1.0 , < 3"), "rustle-demo<3,>=1.0");
        assert_eq!(text("Rustle_Demo==1.*"), "Rustle_Demo==1.*");
        assert_eq!(text("pkg[b, a]>1"), "pkg[a,b]>1");
        assert_eq!(text("pkg (>=1.0)"), "pkg>=1.0");
        assert_eq!(text("pkg @ file:///x.whl"), "pkg@ file:///x.whl");
        assert_eq!(
            text("pkg; python_version > \"3\""),
            "pkg; python_version > \"3\""
        );
        // Not requirements: kept as given.
        for raw in [
            "git+https://example.com/x.git",
            "./dist/x.whl",
            "pkg==",
            "pkg>=1.0,",
        ] {
            let p = Package::new(raw, None);
            assert_eq!((p.text.as_str(), p.requirement.is_none()), (raw, true));
        }
        let p = Package::new("rustle-demo", Some("1.0"));
        assert_eq!(p.text, "rustle-demo==1.0");
        let p = Package::new("rustle-demo", Some(" >=1.0"));
        assert_eq!(p.text, "rustle-demo>=1.0");
        assert_eq!(Package::new("Rustle_Extra", None).name, "rustle-extra");
        assert!(Package::new("a>1", None).has_version_specifier());
        assert!(!Package::new("a[x]", None).has_version_specifier());
    }

    #[test]
    fn present_in_freeze_output() {
        let installed = strings(&["pip==23.0.1", "Rustle_Demo==1.0", "x @ file:///x"]);
        assert!(Package::new("rustle-demo", None).is_present(&installed));
        assert!(Package::new("rustle.demo<2", None).is_present(&installed));
        assert!(!Package::new("rustle-demo>=2", None).is_present(&installed));
        assert!(!Package::new("x", None).is_present(&installed));
    }

    #[test]
    fn package_names_recovered() {
        assert_eq!(
            recover_package_names(&strings(&[
                "django>1.11.1",
                "<1.11.3",
                "ipaddress",
                "simpleproject>1.1.0",
                "<2.0.0"
            ])),
            strings(&[
                "django>1.11.1,<1.11.3",
                "ipaddress",
                "simpleproject>1.1.0,<2.0.0"
            ])
        );
        assert_eq!(
            recover_package_names(&strings(&["django>1.11.1,<1.11.3,ipaddress", "pkg[a,b]>1"])),
            strings(&["django>1.11.1,<1.11.3", "ipaddress", "pkg[a,b]>1"])
        );
    }

    #[test]
    fn venv_commands() {
        assert!(is_venv_command("python3 -m venv"));
        assert!(is_venv_command("/usr/bin/python3 -mvenv"));
        assert!(is_venv_command("pyvenv"));
        assert!(!is_venv_command("virtualenv"));
        assert!(!is_venv_command("python3 -m virtualenv"));
    }

    #[test]
    fn umask_is_octal() {
        assert_eq!(py_int_base8("0022"), Some(0o22));
        assert_eq!(py_int_base8(" 0o77 "), Some(0o77));
        assert_eq!(py_int_base8("0_22"), Some(0o22));
        assert_eq!(py_int_base8("089"), None);
        assert_eq!(py_int_base8(""), None);
    }

    #[test]
    fn vcs_and_paths() {
        assert!(is_vcs_url("git+https://example.com/x.git"));
        assert!(!is_vcs_url("https://example.com/x.tar.gz"));
        assert_eq!(crate::util::pypath::join("/srv", "venv"), "/srv/venv");
        assert_eq!(crate::util::pypath::join("/srv/", "/opt/venv"), "/opt/venv");
    }
}
