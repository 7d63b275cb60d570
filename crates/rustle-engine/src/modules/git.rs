//! `git`: a port of ansible-core 2.19's git.py. It runs the host's `git`
//! (found as `get_bin_path('git')` does, or `executable`) through the
//! target with the same commands, in the same order and working
//! directories, under the same locale (`locale -a`'s best of C.utf8 ...)
//! and the same `GIT_SSH_COMMAND` (`BatchMode=yes`, `accept_hostkey`,
//! `accept_newhostkey`, `key_file`, `ssh_opts`), so clones, updates,
//! version switches (branch, tag, sha, `HEAD`), `force` resets, `depth`,
//! `bare`, `single_branch`, `refspec`, `reference`, `separate_git_dir`,
//! submodules, `verify_commit` and `archive` behave as Ansible's, with the
//! same result keys (`before`, `after`, `remote_url_changed`, `msg`,
//! `warnings`, `diff.prepared`) and failure messages. Check mode predicts
//! with `ls-remote` and clones nothing; like git.py, check mode with
//! `--diff` on an existing repository fetches (not merges) the predicted
//! commit so that `git diff` can show it.
//!
//! What Python does in process is done with the host's tools: `umask`
//! runs each git command under `/bin/sh -c 'umask ...; exec ...'`;
//! `archive` compares through a `mktemp -d` directory and replaces with
//! `mv`; `separate_git_dir` relocation moves the directory with `mv`.
//!
//! Differences: commands given to git.py as strings are split as
//! `shlex.split` would (no `~`/`$VAR` expansion of each word);
//! `GIT_SSH`, `GIT_SSH_COMMAND` and `GIT_SSH_OPTS` are read from the task's
//! `environment` only (not the host's login environment); git older than
//! 2.3 (which git.py drives through a temporary ssh wrapper script) is
//! refused; a relative `dest` is taken as given (git.py makes it absolute
//! against the module's working directory); with `umask`, a missing
//! `executable` fails as the shell reports it (rc 127), not as an OSError.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::accounts::Ran;
use super::args::expand_user;
use super::bin::{get_bin_path, searched_path};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::{ExecRequest, FileKind};
use crate::util::oserror::python_oserror;
use crate::util::shell::quote;

pub struct Git;

impl Module for Git {
    fn params(&self) -> &'static [&'static str] {
        &[
            "dest",
            "repo",
            "name",
            "version",
            "remote",
            "refspec",
            "reference",
            "force",
            "depth",
            "clone",
            "update",
            "verify_commit",
            "gpg_allowlist",
            "gpg_whitelist",
            "accept_hostkey",
            "accept_newhostkey",
            "key_file",
            "ssh_opts",
            "executable",
            "bare",
            "recursive",
            "single_branch",
            "track_submodules",
            "umask",
            "archive",
            "archive_prefix",
            "separate_git_dir",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let mut run = Run {
            ctx,
            git: String::new(),
            env: Vec::new(),
            umask: None,
            warnings: Vec::new(),
        };
        let outcome = Params::read(ctx, args).and_then(|p| run.main(&p));
        let mut r = match outcome {
            Ok(r) => r,
            Err(Fail(mut r)) => {
                r.entry("changed").or_insert(json!(false));
                r.insert("failed".into(), json!(true));
                r
            }
        };
        // The `_lines` the action plugin adds beside any `stdout`/`stderr`.
        for key in ["stdout", "stderr"] {
            if let Some(text) = r.get(key).and_then(Json::as_str) {
                let lines: Vec<&str> = text.lines().collect();
                let lines = json!(lines);
                r.entry(format!("{key}_lines")).or_insert(lines);
            }
        }
        if !run.warnings.is_empty() {
            r.insert("warnings".into(), json!(run.warnings));
        }
        Ok(Outcome::new(r))
    }
}

/// A failed run: the result `fail_json` returns.
struct Fail(Vars);

type Step<T> = Result<T, Fail>;

fn fail(msg: impl Into<String>) -> Fail {
    fail_with(msg, [])
}

fn fail_with<const N: usize>(msg: impl Into<String>, extra: [(&str, Json); N]) -> Fail {
    let mut r = Vars::new();
    r.insert("msg".into(), json!(msg.into()));
    for (k, v) in extra {
        r.insert(k.into(), v);
    }
    Fail(r)
}

impl From<ModuleError> for Fail {
    fn from(e: ModuleError) -> Fail {
        fail(e.0)
    }
}

/// The module's arguments, with git.py's defaults.
struct Params {
    dest: Option<String>,
    repo: String,
    version: String,
    remote: String,
    refspec: Option<String>,
    reference: Option<String>,
    force: bool,
    depth: Option<i64>,
    clone: bool,
    update: bool,
    verify_commit: bool,
    gpg_allowlist: Vec<String>,
    accept_hostkey: bool,
    accept_newhostkey: bool,
    key_file: Option<String>,
    ssh_opts: Option<String>,
    executable: Option<String>,
    bare: bool,
    recursive: bool,
    single_branch: bool,
    track_submodules: bool,
    umask: Option<Json>,
    archive: Option<String>,
    archive_prefix: Option<String>,
    separate_git_dir: Option<String>,
}

impl Params {
    fn read(ctx: &ModuleCtx, args: &Args) -> Step<Params> {
        let home = || ctx.target.home();
        let path = |key: &str| -> Step<Option<String>> {
            Ok(args.string(&[key])?.map(|p| expand_user(&p, home)))
        };
        args.exclusive("separate_git_dir", "bare")?;
        args.exclusive("accept_hostkey", "accept_newhostkey")?;
        if args.get("archive_prefix").is_some() && args.get("archive").is_none() {
            return Err(fail(
                "missing parameter(s) required by 'archive_prefix': archive",
            ));
        }
        Ok(Params {
            dest: path("dest")?,
            repo: args.required(&["repo", "name"])?,
            version: args.string(&["version"])?.unwrap_or_else(|| "HEAD".into()),
            remote: args.string(&["remote"])?.unwrap_or_else(|| "origin".into()),
            refspec: args.string(&["refspec"])?,
            reference: args.string(&["reference"])?,
            force: args.bool("force", false)?,
            depth: args.int("depth")?,
            clone: args.bool("clone", true)?,
            update: args.bool("update", true)?,
            verify_commit: args.bool("verify_commit", false)?,
            gpg_allowlist: args
                .list(&["gpg_allowlist", "gpg_whitelist"])?
                .unwrap_or_default(),
            accept_hostkey: args.bool("accept_hostkey", false)?,
            accept_newhostkey: args.bool("accept_newhostkey", false)?,
            key_file: path("key_file")?,
            ssh_opts: args.string(&["ssh_opts"])?,
            executable: path("executable")?,
            bare: args.bool("bare", false)?,
            recursive: args.bool("recursive", true)?,
            single_branch: args.bool("single_branch", false)?,
            track_submodules: args.bool("track_submodules", false)?,
            umask: args.get("umask").cloned(),
            archive: path("archive")?,
            archive_prefix: args.string(&["archive_prefix"])?,
            separate_git_dir: path("separate_git_dir")?,
        })
    }
}

/// `LooseVersion` of a `git --version`, compared by its leading numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Version(Vec<u64>);

impl Version {
    fn parse(text: &str) -> Version {
        Version(
            text.split(['.', '-', ' '])
                .map_while(|p| p.parse().ok())
                .collect(),
        )
    }

    fn older_than(&self, other: &str) -> bool {
        *self < Version::parse(other)
    }
}

struct Run<'a, 'c> {
    ctx: &'a ModuleCtx<'c>,
    git: String,
    /// The environment every command gets (the task's, the locale, ssh).
    env: Vec<(String, String)>,
    umask: Option<u32>,
    warnings: Vec<String>,
}

/// How the module runs a command: as a list, or as a string that
/// `run_command` splits with `shlex.split`.
enum Cmd<'s> {
    Argv(Vec<String>),
    Line(&'s str),
}

impl Run<'_, '_> {
    fn warn(&mut self, msg: impl Into<String>) {
        self.warnings.push(msg.into());
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.ctx
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn is_dir(&self, path: &str) -> bool {
        matches!(self.ctx.target.stat(path, true), Ok(Some(st)) if st.kind == FileKind::Dir)
    }

    fn exists(&self, path: &str) -> bool {
        matches!(self.ctx.target.stat(path, true), Ok(Some(_)))
    }

    fn is_file(&self, path: &str) -> bool {
        matches!(self.ctx.target.stat(path, true), Ok(Some(st)) if st.kind == FileKind::File)
    }

    /// `module.run_command(cmd, cwd=cwd)`: a `cwd` that is not a directory
    /// is ignored, as run_command does.
    fn exec(&self, cmd: Cmd, cwd: Option<&str>) -> Step<(Ran, String)> {
        let argv = match cmd {
            Cmd::Argv(argv) => argv,
            Cmd::Line(line) => shlex::split(line)
                .ok_or_else(|| fail(format!("cannot split command line {line}")))?,
        };
        let shown = argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
        let mut req = match self.umask {
            Some(umask) => {
                let mut full = vec![
                    "/bin/sh".to_owned(),
                    "-c".to_owned(),
                    "umask \"$0\" && exec \"$@\"".to_owned(),
                    format!("{umask:o}"),
                ];
                full.extend(argv);
                ExecRequest::new(full)
            }
            None => ExecRequest::new(argv),
        };
        req.env = self.env.clone();
        req.cwd = cwd.filter(|d| self.is_dir(d)).map(str::to_owned);
        match self.ctx.target.exec(&req) {
            Ok(out) => Ok((
                Ran {
                    rc: out.rc,
                    out: String::from_utf8_lossy(&out.stdout).into_owned(),
                    err: String::from_utf8_lossy(&out.stderr).into_owned(),
                },
                shown,
            )),
            // run_command's OSError: the exception names the program
            // as bytes.
            Err(e) => {
                let program = req.argv.first().cloned().unwrap_or_default();
                let oserror = python_oserror(&e, "");
                let oserror = oserror.strip_suffix(": ''").unwrap_or(&oserror);
                Err(fail_with(
                    "Error executing command.",
                    [
                        ("rc", json!(e.raw_os_error().unwrap_or(2))),
                        ("stdout", json!("")),
                        ("stderr", json!("")),
                        ("cmd", json!(shown)),
                        ("exception", json!(format!("{oserror}: b'{program}'"))),
                    ],
                ))
            }
        }
    }

    fn run(&self, cmd: Cmd, cwd: Option<&str>) -> Step<Ran> {
        Ok(self.exec(cmd, cwd)?.0)
    }

    /// `run_command(..., check_rc=True)`.
    fn run_checked(&self, cmd: Cmd, cwd: Option<&str>) -> Step<Ran> {
        let (ran, shown) = self.exec(cmd, cwd)?;
        if ran.rc != 0 {
            let mut f = fail_with(
                ran.err.trim_end(),
                [("cmd", json!(shown)), ("rc", json!(ran.rc))],
            );
            f.0.insert("stdout".into(), json!(ran.out));
            f.0.insert("stderr".into(), json!(ran.err));
            return Err(f);
        }
        Ok(ran)
    }

    fn line(&self, rest: &str) -> String {
        format!("{} {rest}", self.git)
    }

    fn argv(&self, rest: &[&str]) -> Vec<String> {
        std::iter::once(self.git.as_str())
            .chain(rest.iter().copied())
            .map(str::to_owned)
            .collect()
    }

    fn main(&mut self, p: &Params) -> Step<Vars> {
        let ctx = self.ctx;
        let target = ctx.target;
        self.git = match &p.executable {
            Some(e) => e.clone(),
            None => get_bin_path(target, "git", &[]).ok_or_else(|| {
                fail(format!(
                    "Failed to find required executable \"git\" in paths: {}",
                    searched_path(&[])
                ))
            })?,
        };
        self.env = ctx.env.to_vec();
        let mut ssh_opts = p.ssh_opts.clone();
        let mut result = Vars::new();
        result.insert("changed".into(), json!(false));

        let no_and_new = |o: &str| {
            !o.contains("-o StrictHostKeyChecking=no")
                && !o.contains("-o StrictHostKeyChecking=accept-new")
        };
        if p.accept_hostkey {
            ssh_opts = Some(match ssh_opts {
                Some(o) if no_and_new(&o) => o + " -o StrictHostKeyChecking=no",
                Some(o) => o,
                None => "-o StrictHostKeyChecking=no".into(),
            });
        }
        if p.accept_newhostkey {
            if !self.ssh_supports_acceptnewhostkey()? {
                self.warn("Your ssh client does not support accept_newhostkey option, therefore it cannot be used.");
            } else {
                ssh_opts = Some(match ssh_opts {
                    Some(o) if no_and_new(&o) => o + " -o StrictHostKeyChecking=accept-new",
                    Some(o) => o,
                    None => "-o StrictHostKeyChecking=accept-new".into(),
                });
            }
        }

        if let Some(umask) = &p.umask {
            let Json::String(text) = umask else {
                return Err(fail("umask must be defined as a quoted octal integer"));
            };
            match py_int_base8(text) {
                Some(v) => self.umask = Some(v),
                None => {
                    return Err(fail_with(
                        "umask must be an octal integer",
                        [(
                            "details",
                            json!(format!(
                                "invalid literal for int() with base 8: {}",
                                super::args::py_repr(text)
                            )),
                        )],
                    ));
                }
            }
        }

        let home = || target.home();
        let mut repo = p.repo.clone();
        if expand_user(&repo, home).starts_with('/') {
            repo = format!("file://{}", expand_user(&repo, home));
        }

        let locale = super::bin::best_parsable_locale(self.ctx);
        for key in ["LANG", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANGUAGE"] {
            self.env.push((key.into(), locale.clone()));
        }

        let separate_git_dir = p
            .separate_git_dir
            .as_ref()
            .map(|d| target.real_path(d).unwrap_or_else(|_| d.clone()));

        let mut gitconfig = None;
        let mut dest = None;
        if p.dest.is_none() && p.clone {
            return Err(fail(
                "the destination directory must be specified unless clone=no",
            ));
        } else if let Some(d) = &p.dest {
            let d = normpath(d);
            let mut repo_path = match self.get_repo_path(&d, p.bare) {
                Ok(rp) => rp,
                Err(details) => return Err(bad_repo_path(details)),
            };
            if let Some(sep) = &separate_git_dir
                && self.exists(&repo_path)
                && *sep != repo_path
            {
                result.insert("changed".into(), json!(true));
                if !ctx.check {
                    self.relocate_repo(&mut result, sep, &repo_path, &d)?;
                    repo_path = sep.clone();
                }
            }
            gitconfig = Some(format!("{repo_path}/config"));
            dest = Some(d);
        }
        let dest = dest.as_deref();

        let git_version_used = self.git_version()?;
        self.set_git_ssh_env(p, ssh_opts, git_version_used.as_ref())?;

        let mut depth = p.depth;
        if depth.is_some()
            && let Some(v) = &git_version_used
            && v.older_than("1.9.1")
        {
            self.warn("git version is too old to fully support the depth argument. Falling back to full checkouts.");
            depth = None;
        }
        let depth = depth.filter(|d| *d != 0);

        result.insert("before".into(), Json::Null);
        let version = p.version.as_str();
        let remote = p.remote.as_str();

        let mut local_mods = false;
        let mut remote_url_changed = false;
        let no_config = gitconfig.as_deref().is_some_and(|c| !self.exists(c));
        if no_config || (dest.is_none() && !p.clone) {
            if ctx.check || !p.clone {
                let remote_head = self.get_remote_head(p, dest, version, &repo, p.bare)?;
                result.insert("changed".into(), json!(true));
                result.insert("after".into(), json!(remote_head));
                if ctx.diff {
                    let diff = self.get_diff(p, dest, &repo, depth, None, Some(&remote_head))?;
                    if let Some(diff) = diff {
                        result.insert("diff".into(), diff);
                    }
                }
                return Ok(result);
            }
            let dest = dest.unwrap_or_default();
            self.clone(
                p,
                &repo,
                dest,
                depth,
                git_version_used.as_ref(),
                separate_git_dir.as_deref(),
                &mut result,
            )?;
        } else if !p.update {
            let dest = dest.unwrap_or_default();
            let before = self.get_version(dest, "HEAD")?;
            result.insert("before".into(), json!(before));
            result.insert("after".into(), json!(before));
            if let Some(archive) = &p.archive {
                if ctx.check {
                    result.insert("changed".into(), json!(true));
                    return Ok(result);
                }
                self.create_archive(p, dest, archive, &repo, &mut result)?;
            }
            return Ok(result);
        } else {
            let dest = dest.unwrap_or_default();
            local_mods = self.has_local_mods(dest, p.bare)?;
            let before = self.get_version(dest, "HEAD")?;
            result.insert("before".into(), json!(before));
            if local_mods {
                if !p.force {
                    let mut f = fail(format!(
                        "Local modifications exist in the destination: {dest} (force=no)."
                    ));
                    for (k, v) in &result {
                        f.0.insert(k.clone(), v.clone());
                    }
                    return Err(f);
                }
                if !ctx.check {
                    self.run_checked(Cmd::Line(&self.line("reset --hard HEAD")), Some(dest))?;
                    result.insert("changed".into(), json!(true));
                    result.insert(
                        "msg".into(),
                        json!(format!(
                            "Local modifications exist in the destination: {dest}"
                        )),
                    );
                }
            }
            if ctx.check {
                let remote_url = self.get_remote_url(dest, remote)?;
                remote_url_changed = match &remote_url {
                    Some(url) if !url.is_empty() => {
                        *url != repo && self.unfrack(url) != self.unfrack(&repo)
                    }
                    _ => false,
                };
                // Python keeps the falsy value itself (None or "").
                let changed_value = match &remote_url {
                    None => Json::Null,
                    Some(u) if u.is_empty() => json!(""),
                    _ => json!(remote_url_changed),
                };
                result.insert("remote_url_changed".into(), changed_value);
                let remote_head = self.get_remote_head(p, Some(dest), version, remote, p.bare)?;
                result.insert(
                    "changed".into(),
                    json!(before != remote_head || remote_url_changed),
                );
                result.insert("after".into(), json!(remote_head));
                if ctx.diff {
                    let diff = self.get_diff(
                        p,
                        Some(dest),
                        &repo,
                        depth,
                        Some(&before),
                        Some(&remote_head),
                    )?;
                    if let Some(diff) = diff {
                        result.insert("diff".into(), diff);
                    }
                }
                return Ok(result);
            }
            remote_url_changed = self.set_remote_url(&repo, dest, remote)?;
            result.insert("remote_url_changed".into(), json!(remote_url_changed));
            self.fetch(
                p,
                &repo,
                dest,
                version,
                depth,
                &p.refspec,
                git_version_used.as_ref(),
                p.force,
            )?;
            let after = self.get_version(dest, "HEAD")?;
            result.insert("after".into(), json!(after));
        }
        let dest = dest.unwrap_or_default();

        if !p.bare {
            self.switch_version(p, dest, version, depth)?;
        }

        let mut submodules_updated = false;
        if p.recursive && !p.bare {
            submodules_updated = self.submodules_fetch(remote, p.track_submodules, dest)?;
            if submodules_updated {
                result.insert("submodules_changed".into(), json!(true));
                // check mode returned above (git.py's branch here is dead).
                self.submodule_update(dest, p.track_submodules, p.force)?;
            }
        }

        let after = self.get_version(dest, "HEAD")?;
        result.insert("after".into(), json!(after));
        let before = result
            .get("before")
            .and_then(Json::as_str)
            .map(str::to_owned);
        if before.as_deref() != Some(after.as_str())
            || local_mods
            || submodules_updated
            || remote_url_changed
        {
            result.insert("changed".into(), json!(true));
            if ctx.diff {
                let diff =
                    self.get_diff(p, Some(dest), &repo, depth, before.as_deref(), Some(&after))?;
                if let Some(diff) = diff {
                    result.insert("diff".into(), diff);
                }
            }
        }

        if let Some(archive) = &p.archive {
            if ctx.check {
                result.insert("changed".into(), json!(true));
                return Ok(result);
            }
            self.create_archive(p, dest, archive, &repo, &mut result)?;
        }
        Ok(result)
    }

    fn ssh_supports_acceptnewhostkey(&self) -> Step<bool> {
        let Some(ssh) = get_bin_path(self.ctx.target, "ssh", &[]) else {
            return Err(fail_with(
                "Remote host is missing ssh command, so you cannot use acceptnewhostkey option.",
                [(
                    "details",
                    json!(format!(
                        "Failed to find required executable \"ssh\" in paths: {}",
                        searched_path(&[])
                    )),
                )],
            ));
        };
        let argv = vec![
            ssh,
            "-o".into(),
            "StrictHostKeyChecking=accept-new".into(),
            "-V".into(),
        ];
        Ok(self.run(Cmd::Argv(argv), None)?.rc == 0)
    }

    /// `set_git_ssh_env`: `GIT_SSH_COMMAND` for every later command.
    fn set_git_ssh_env(
        &mut self,
        p: &Params,
        ssh_opts: Option<String>,
        git_version: Option<&Version>,
    ) -> Step<()> {
        let base_opts = self.env_var("GIT_SSH_OPTS").unwrap_or_default();
        let mut ssh_opts = match ssh_opts {
            None => base_opts,
            Some(o) => format!("{base_opts} {o}"),
        };
        let accept_key = "StrictHostKeyChecking=no";
        if p.accept_hostkey && !ssh_opts.contains(accept_key) {
            ssh_opts += &format!(" -o {accept_key}");
        }
        let force_batch = "BatchMode=yes";
        if !ssh_opts.contains(force_batch) {
            ssh_opts += &format!(" -o {force_batch}");
        }
        if let Some(key_file) = &p.key_file {
            let key_opt = format!("-i {key_file}");
            if !ssh_opts.contains(&key_opt) {
                ssh_opts += &format!("  {key_opt}");
            }
            let ikey = "IdentitiesOnly=yes";
            if !ssh_opts.contains(ikey) {
                ssh_opts += &format!(" -o {ikey}");
            }
        }
        if git_version.is_some_and(|v| v.older_than("2.3.0")) {
            return Err(fail(
                "git older than 2.3.0 (which needs an ssh wrapper script) is not supported by rustle's git module",
            ));
        }
        let mut full = self
            .env_var("GIT_SSH")
            .or_else(|| self.env_var("GIT_SSH_COMMAND"))
            .unwrap_or_else(|| "ssh".into());
        if !ssh_opts.is_empty() {
            full = format!("{full} {ssh_opts}");
        }
        self.env.push(("GIT_SSH_COMMAND".into(), full));
        Ok(())
    }

    /// `git_version`: `None` when `git --version` fails.
    fn git_version(&self) -> Step<Option<Version>> {
        let ran = self.run(Cmd::Line(&self.line("--version")), None)?;
        if ran.rc != 0 {
            return Ok(None);
        }
        let line = ran.out.trim_end_matches('\n');
        Ok(line
            .lines()
            .last()
            .and_then(|l| l.split_once("git version "))
            .map(|(_, v)| Version::parse(v)))
    }

    /// `get_version`: `git rev-parse REF` in `dest`.
    fn get_version(&self, dest: &str, reference: &str) -> Step<String> {
        let ran = self.run(
            Cmd::Line(&self.line(&format!("rev-parse {reference}"))),
            Some(dest),
        )?;
        Ok(ran.out.trim_end_matches('\n').to_owned())
    }

    /// `get_repo_path`: `dest/.git` (or `dest` when bare), following a
    /// `.git` file's `gitdir:`; `Err` carries `details`.
    fn get_repo_path(&self, dest: &str, bare: bool) -> Result<String, String> {
        let mut repo_path = if bare {
            dest.to_owned()
        } else {
            format!("{}/.git", dest.trim_end_matches('/'))
        };
        if self.is_file(&repo_path) {
            let data = self
                .ctx
                .target
                .read_file(&repo_path)
                .map_err(|e| format!("[Errno {}] {e}", e.raw_os_error().unwrap_or(0)))?;
            let data = String::from_utf8_lossy(&data);
            let data = data.trim_end();
            let Some((prefix, gitdir)) = data.split_once("gitdir: ") else {
                return Err("not enough values to unpack (expected 2, got 1)".into());
            };
            if !prefix.is_empty() {
                return Err(".git file has invalid git dir reference format".into());
            }
            repo_path = if gitdir.starts_with('/') {
                gitdir.to_owned()
            } else {
                format!("{}/{gitdir}", dest.trim_end_matches('/'))
            };
            if !self.is_dir(&repo_path) {
                return Err(format!("{repo_path} is not a directory"));
            }
        }
        Ok(repo_path)
    }

    fn relocate_repo(
        &self,
        result: &mut Vars,
        repo_dir: &str,
        old_repo_dir: &str,
        worktree_dir: &str,
    ) -> Step<()> {
        if self.exists(repo_dir) {
            return Err(fail(format!(
                "Separate-git-dir path {repo_dir} already exists."
            )));
        }
        let mv = |from: &str, to: &str| -> Step<bool> {
            let argv = ["mv", "--", from, to].map(str::to_owned).to_vec();
            Ok(self.run(Cmd::Argv(argv), None)?.rc == 0)
        };
        let dot_git = format!("{}/.git", worktree_dir.trim_end_matches('/'));
        let moved = mv(old_repo_dir, repo_dir)?
            && self
                .ctx
                .target
                .write_file(&dot_git, format!("gitdir: {repo_dir}").as_bytes(), None)
                .is_ok();
        if !moved {
            if self.exists(repo_dir) {
                mv(repo_dir, old_repo_dir)?;
            }
            return Err(fail("Unable to move git dir."));
        }
        result.insert("git_dir_before".into(), json!(old_repo_dir));
        result.insert("git_dir_now".into(), json!(repo_dir));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn clone(
        &mut self,
        p: &Params,
        repo: &str,
        dest: &str,
        depth: Option<i64>,
        git_version_used: Option<&Version>,
        separate_git_dir: Option<&str>,
        result: &mut Vars,
    ) -> Step<()> {
        let dest_dirname = dirname(dest);
        let mode = self.umask.map(|u| 0o777 & !u);
        let _ = self.ctx.target.create_dir_all(&dest_dirname, mode);
        let version = p.version.as_str();
        let mut cmd = self.argv(&["clone"]);
        if p.bare {
            cmd.push("--bare".into());
        } else {
            cmd.extend(["--origin".into(), p.remote.clone()]);
        }
        let is_branch_or_tag = self.is_remote_branch(Some(dest), repo, version)?
            || self.is_remote_tag(Some(dest), repo, version)?;
        if let Some(depth) = depth {
            if version == "HEAD" || p.refspec.is_some() {
                cmd.extend(["--depth".into(), depth.to_string()]);
            } else if is_branch_or_tag {
                cmd.extend(["--depth".into(), depth.to_string()]);
                cmd.extend(["--branch".into(), version.to_owned()]);
            } else {
                self.warn("Ignoring depth argument. Shallow clones are only available for HEAD, branches, tags or in combination with refspec.");
            }
        }
        if let Some(reference) = &p.reference {
            cmd.extend(["--reference".into(), reference.clone()]);
        }
        let git = self.git.clone();
        let missing_git = || fail(format!("Cannot find git executable at {git}"));
        if p.single_branch {
            let v = git_version_used.ok_or_else(missing_git)?;
            if v.older_than("1.7.10") {
                let shown = v.0.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
                self.warn(format!(
                    "git version '{shown}' is too old to use 'single-branch'. Ignoring."
                ));
            } else {
                cmd.push("--single-branch".into());
                if is_branch_or_tag {
                    cmd.extend(["--branch".into(), version.to_owned()]);
                }
            }
        }
        let mut needs_fallback = false;
        if let Some(sep) = separate_git_dir {
            let v = git_version_used.ok_or_else(missing_git)?;
            if v.older_than("1.7.5") {
                needs_fallback = true;
            } else {
                cmd.push(format!("--separate-git-dir={sep}"));
            }
        }
        cmd.extend([repo.to_owned(), dest.to_owned()]);
        self.run_checked(Cmd::Argv(cmd), Some(&dest_dirname))?;
        if needs_fallback && let Some(sep) = separate_git_dir {
            self.relocate_repo(result, sep, &format!("{dest}/.git"), dest)?;
        }
        if p.bare && p.remote != "origin" {
            let argv = self.argv(&["remote", "add", &p.remote, repo]);
            self.run_checked(Cmd::Argv(argv), Some(dest))?;
        }
        if let Some(refspec) = &p.refspec {
            let mut cmd = self.argv(&["fetch"]);
            if let Some(depth) = depth {
                cmd.extend(["--depth".into(), depth.to_string()]);
            }
            cmd.extend([p.remote.clone(), refspec.clone()]);
            self.run_checked(Cmd::Argv(cmd), Some(dest))?;
        }
        if p.verify_commit {
            self.verify_commit_sign(dest, version, &p.gpg_allowlist)?;
        }
        Ok(())
    }

    fn has_local_mods(&self, dest: &str, bare: bool) -> Step<bool> {
        if bare {
            return Ok(false);
        }
        let ran = self.run(Cmd::Line(&self.line("status --porcelain")), Some(dest))?;
        Ok(ran.out.lines().any(|l| !l.starts_with("??")))
    }

    #[allow(clippy::too_many_arguments)]
    fn get_diff(
        &self,
        p: &Params,
        dest: Option<&str>,
        repo: &str,
        depth: Option<i64>,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Step<Option<Json>> {
        let after_s = after.unwrap_or("None");
        let Some(before) = before else {
            return Ok(Some(
                json!({ "prepared": format!(">> Newly checked out {after_s}") }),
            ));
        };
        if Some(before) == after {
            return Ok(None);
        }
        // git.py asks `git --version` again here.
        let version = self.git_version()?;
        let dest_s = dest.unwrap_or_default();
        self.fetch(
            p,
            repo,
            dest_s,
            after_s,
            depth,
            &None,
            version.as_ref(),
            false,
        )?;
        let ran = self.run(
            Cmd::Line(&self.line(&format!("diff {before} {after_s}"))),
            dest,
        )?;
        let text = if ran.rc == 0 && !ran.out.is_empty() {
            ran.out
        } else if ran.rc == 0 {
            format!(">> No visual differences between {before} and {after_s}")
        } else if !ran.err.is_empty() {
            format!(
                ">> Failed to get proper diff between {before} and {after_s}:\n>> {}",
                ran.err
            )
        } else {
            format!(">> Failed to get proper diff between {before} and {after_s}")
        };
        Ok(Some(json!({ "prepared": text })))
    }

    fn get_remote_head(
        &self,
        p: &Params,
        dest: Option<&str>,
        version: &str,
        remote: &str,
        bare: bool,
    ) -> Step<String> {
        let home = || self.ctx.target.home();
        let cloning =
            remote == p.repo || remote == format!("file://{}", expand_user(&p.repo, home));
        let cwd = if cloning { None } else { dest };
        let mut tag = false;
        let cmd = if version == "HEAD" {
            if cloning {
                self.line(&format!("ls-remote {remote} -h HEAD"))
            } else {
                let head_branch =
                    self.get_head_branch(dest.unwrap_or_default(), &p.remote, bare)?;
                let head_branch = head_branch.as_deref().unwrap_or("None");
                self.line(&format!("ls-remote {remote} -h refs/heads/{head_branch}"))
            }
        } else if self.is_remote_branch(dest, remote, version)? {
            self.line(&format!("ls-remote {remote} -h refs/heads/{version}"))
        } else if self.is_remote_tag(dest, remote, version)? {
            tag = true;
            self.line(&format!("ls-remote {remote} -t refs/tags/{version}*"))
        } else {
            return Ok(version.to_owned());
        };
        let ran = self.run_checked(Cmd::Line(&cmd), cwd)?;
        if ran.out.is_empty() {
            let mut f = fail_with(
                format!("Could not determine remote revision for {version}"),
                [("rc", json!(ran.rc))],
            );
            f.0.insert("stdout".into(), json!(ran.out));
            f.0.insert("stderr".into(), json!(ran.err));
            return Err(f);
        }
        let mut out = ran.out.as_str();
        if tag {
            let deref = format!("{version}^{{}}");
            for line in ran.out.split('\n') {
                if line.ends_with(&deref) {
                    out = line;
                    break;
                } else if line.ends_with(version) {
                    out = line;
                }
            }
        }
        Ok(out.split_whitespace().next().unwrap_or_default().to_owned())
    }

    fn is_remote_tag(&self, dest: Option<&str>, remote: &str, version: &str) -> Step<bool> {
        let ran = self.run_checked(
            Cmd::Line(&self.line(&format!("ls-remote {remote} -t refs/tags/{version}"))),
            dest,
        )?;
        Ok(ran.out.contains(version))
    }

    fn is_remote_branch(&self, dest: Option<&str>, remote: &str, version: &str) -> Step<bool> {
        let ran = self.run_checked(
            Cmd::Line(&self.line(&format!("ls-remote {remote} -h refs/heads/{version}"))),
            dest,
        )?;
        Ok(ran.out.contains(version))
    }

    fn get_branches(&self, dest: &str) -> Step<Vec<String>> {
        let ran = self.run(Cmd::Line(&self.line("branch --no-color -a")), Some(dest))?;
        if ran.rc != 0 {
            let mut f = fail(format!(
                "Could not determine branch data - received {}",
                ran.out
            ));
            f.0.insert("stdout".into(), json!(ran.out));
            f.0.insert("stderr".into(), json!(ran.err));
            return Err(f);
        }
        Ok(ran
            .out
            .split('\n')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    fn get_annotated_tags(&self, dest: &str) -> Step<Vec<String>> {
        let argv = self.argv(&[
            "for-each-ref",
            "refs/tags/",
            "--format",
            "%(objecttype):%(refname:short)",
        ]);
        let ran = self.run(Cmd::Argv(argv), Some(dest))?;
        if ran.rc != 0 {
            let mut f = fail(format!(
                "Could not determine tag data - received {}",
                ran.out
            ));
            f.0.insert("stdout".into(), json!(ran.out));
            f.0.insert("stderr".into(), json!(ran.err));
            return Err(f);
        }
        Ok(ran
            .out
            .split('\n')
            .map(str::trim)
            .filter_map(|l| l.split_once(':'))
            .filter(|(t, _)| *t == "tag")
            .map(|(_, n)| n.to_owned())
            .collect())
    }

    fn is_local_branch(&self, dest: &str, branch: &str) -> Step<bool> {
        let branches = self.get_branches(dest)?;
        let current = format!("* {branch}");
        Ok(branches.iter().any(|b| b == branch || *b == current))
    }

    fn is_not_a_branch(&self, dest: &str) -> Step<bool> {
        Ok(self.get_branches(dest)?.iter().any(|b| {
            b.starts_with("* ")
                && (b.contains("no branch")
                    || b.contains("detached from")
                    || b.contains("detached at"))
        }))
    }

    /// `get_head_branch`: the branch `HEAD` names, or when detached the
    /// one `refs/remotes/<remote>/HEAD` names.
    fn get_head_branch(&self, dest: &str, remote: &str, bare: bool) -> Step<Option<String>> {
        let repo_path = self.get_repo_path(dest, bare).map_err(bad_repo_path)?;
        let mut headfile = format!("{repo_path}/HEAD");
        if self.is_not_a_branch(dest)? {
            headfile = format!("{repo_path}/refs/remotes/{remote}/HEAD");
        }
        self.head_splitter(&headfile, remote)
    }

    fn head_splitter(&self, headfile: &str, remote: &str) -> Step<Option<String>> {
        if !self.exists(headfile) {
            return Ok(None);
        }
        let data = self
            .ctx
            .target
            .read_file(headfile)
            .map_err(|_| fail(format!("Unable to read {headfile}")))?;
        let data = String::from_utf8_lossy(&data);
        let first = data.split_inclusive('\n').next().unwrap_or_default();
        if first.is_empty() {
            return Ok(None);
        }
        Ok(Some(split_head(first, remote)))
    }

    /// `get_remote_url`: `None` when `ls-remote --get-url` fails.
    fn get_remote_url(&self, dest: &str, remote: &str) -> Step<Option<String>> {
        let argv = self.argv(&["ls-remote", "--get-url", remote]);
        let ran = self.run(Cmd::Argv(argv), Some(dest))?;
        if ran.rc != 0 {
            return Ok(None);
        }
        Ok(Some(ran.out.trim_end_matches('\n').to_owned()))
    }

    /// `unfrackgitpath`: normpath(realpath(expanduser(path))).
    fn unfrack(&self, path: &str) -> String {
        let expanded = expand_user(path, || self.ctx.target.home());
        let abs = if expanded.starts_with('/') {
            expanded
        } else {
            format!("/{expanded}")
        };
        let norm = normpath(&abs);
        normpath(&self.ctx.target.real_path(&norm).unwrap_or(norm))
    }

    fn set_remote_url(&self, repo: &str, dest: &str, remote: &str) -> Step<bool> {
        let remote_url = self.get_remote_url(dest, remote)?;
        let same = match &remote_url {
            Some(url) => url == repo || self.unfrack(url) == self.unfrack(repo),
            None => false,
        };
        if same {
            return Ok(false);
        }
        let argv = self.argv(&["remote", "set-url", remote, repo]);
        let ran = self.run(Cmd::Argv(argv), Some(dest))?;
        if ran.rc != 0 {
            return Err(fail(format!(
                "Failed to set a new url {repo} for {remote}: {} {}",
                ran.out, ran.err
            )));
        }
        Ok(remote_url.is_some())
    }

    #[allow(clippy::too_many_arguments)]
    fn fetch(
        &self,
        p: &Params,
        repo: &str,
        dest: &str,
        version: &str,
        depth: Option<i64>,
        refspec: &Option<String>,
        git_version_used: Option<&Version>,
        force: bool,
    ) -> Step<()> {
        let remote = p.remote.as_str();
        self.set_remote_url(repo, dest, remote)?;
        let mut commands = Vec::new();
        let fetch_str = "download remote objects and refs";
        let mut fetch_cmd = self.argv(&["fetch"]);
        let mut refspecs: Vec<String> = Vec::new();
        if let Some(depth) = depth {
            let currenthead = self.get_head_branch(dest, remote, false)?;
            if let Some(r) = refspec {
                refspecs.push(r.clone());
            } else if version == "HEAD" {
                refspecs.push(currenthead.unwrap_or_else(|| "None".into()));
            } else if self.is_remote_branch(Some(dest), repo, version)? {
                if currenthead.as_deref() != Some(version) {
                    refspecs.push(format!("+refs/heads/{version}:refs/heads/{version}"));
                }
                refspecs.push(format!(
                    "+refs/heads/{version}:refs/remotes/{remote}/{version}"
                ));
            } else if self.is_remote_tag(Some(dest), repo, version)? {
                refspecs.push(format!("+refs/tags/{version}:refs/tags/{version}"));
            }
            if !refspecs.is_empty() {
                fetch_cmd.extend(["--depth".into(), depth.to_string()]);
            }
        }
        if depth.is_none() || refspecs.is_empty() {
            if p.bare {
                refspecs = vec![
                    "+refs/heads/*:refs/heads/*".into(),
                    "+refs/tags/*:refs/tags/*".into(),
                ];
            } else if git_version_used.is_some_and(|v| !v.older_than("1.9")) {
                fetch_cmd.push("--tags".into());
            } else {
                let mut first = fetch_cmd.clone();
                first.push(remote.to_owned());
                commands.push(first);
                refspecs = vec!["+refs/tags/*:refs/tags/*".into()];
            }
            if let Some(r) = refspec {
                refspecs.push(r.clone());
            }
        }
        if force {
            fetch_cmd.push("--force".into());
        }
        fetch_cmd.push(remote.to_owned());
        fetch_cmd.extend(refspecs);
        commands.push(fetch_cmd);
        for command in commands {
            let shown = json!(command);
            let ran = self.run(Cmd::Argv(command), Some(dest))?;
            if ran.rc != 0 {
                return Err(fail_with(
                    format!("Failed to {fetch_str}: {} {}", ran.out, ran.err),
                    [("cmd", shown)],
                ));
            }
        }
        Ok(())
    }

    fn get_submodule_versions(&self, dest: &str, version: &str) -> Step<Vars> {
        let argv = self.argv(&["submodule", "foreach", &self.git, "rev-parse", version]);
        let ran = self.run(Cmd::Argv(argv), Some(dest))?;
        if ran.rc != 0 {
            let mut f = fail_with(
                "Unable to determine hashes of submodules",
                [("rc", json!(ran.rc))],
            );
            f.0.insert("stdout".into(), json!(ran.out));
            f.0.insert("stderr".into(), json!(ran.err));
            return Err(f);
        }
        let mut submodules = Vars::new();
        let mut name: Option<String> = None;
        for line in ran.out.lines() {
            if let Some(rest) = line.strip_prefix("Entering '") {
                name = Some(rest[..rest.len().saturating_sub(1)].to_owned());
            } else if line.trim().len() == 40 {
                let Some(n) = name.take() else {
                    return Err(Fail(Vars::new()));
                };
                submodules.insert(n, json!(line.trim()));
            } else {
                return Err(fail(format!(
                    "Unable to parse submodule hash line: {}",
                    line.trim()
                )));
            }
        }
        if let Some(n) = name {
            return Err(fail(format!("Unable to find hash for submodule: {n}")));
        }
        Ok(submodules)
    }

    fn submodules_fetch(&self, remote: &str, track: bool, dest: &str) -> Step<bool> {
        let gitmodules = format!("{dest}/.gitmodules");
        let Ok(data) = self.ctx.target.read_file(&gitmodules) else {
            return Ok(false);
        };
        let mut changed = false;
        for line in String::from_utf8_lossy(&data).lines() {
            if !changed && line.trim().starts_with("path") {
                let path = line.split_once('=').map_or("", |(_, v)| v.trim());
                if !self.exists(&format!("{dest}/{path}/.git")) {
                    changed = true;
                }
            }
        }
        if !changed {
            let begin = self.get_submodule_versions(dest, "HEAD")?;
            let argv = self.argv(&["submodule", "foreach", &self.git, "fetch"]);
            self.run_checked(Cmd::Argv(argv), Some(dest))?;
            if track {
                let after = self.get_submodule_versions(dest, &format!("{remote}/master"))?;
                if begin != after {
                    changed = true;
                }
            } else {
                let argv = self.argv(&["submodule", "status"]);
                let ran = self.run_checked(Cmd::Argv(argv), Some(dest))?;
                changed = ran.out.lines().any(|l| !l.starts_with(' '));
            }
        }
        Ok(changed)
    }

    fn submodule_update(&self, dest: &str, track: bool, force: bool) -> Step<()> {
        // get_submodule_update_params: the usage line git prints.
        let ran = self.run(Cmd::Line(&self.line("submodule update --help")), Some(dest))?;
        let mut params = Vec::new();
        if let Some(line) = ran
            .err
            .split('\n')
            .rfind(|l| l.contains("git submodule [--quiet] update "))
        {
            let line = line.replace(['[', ']'], "").replace('|', " ");
            for part in shlex::split(&line).unwrap_or_default() {
                if part.starts_with("--") {
                    params.push(part.replace("--", ""));
                }
            }
        }
        if !self.exists(&format!("{dest}/.gitmodules")) {
            return Ok(());
        }
        self.run_checked(Cmd::Argv(self.argv(&["submodule", "sync"])), Some(dest))?;
        let mut cmd = self.argv(&["submodule", "update", "--init", "--recursive"]);
        if params.iter().any(|p| p == "remote") && track {
            cmd.push("--remote".into());
        }
        if force {
            cmd.push("--force".into());
        }
        let ran = self.run(Cmd::Argv(cmd), Some(dest))?;
        if ran.rc != 0 {
            return Err(fail(format!(
                "Failed to init/update submodules: {}{}",
                ran.out, ran.err
            )));
        }
        Ok(())
    }

    fn set_remote_branch(&self, dest: &str, remote: &str, version: &str, depth: i64) -> Step<()> {
        let cmd = self.line(&format!(
            "fetch --depth={depth} {remote} +refs/heads/{version}:refs/heads/{version} +refs/heads/{version}:refs/remotes/{remote}/{version}"
        ));
        let ran = self.run(Cmd::Line(&cmd), Some(dest))?;
        if ran.rc != 0 {
            return Err(failed_run(
                format!("Failed to fetch branch from remote: {version}"),
                &ran,
            ));
        }
        Ok(())
    }

    fn switch_version(
        &self,
        p: &Params,
        dest: &str,
        version: &str,
        depth: Option<i64>,
    ) -> Step<()> {
        let remote = p.remote.as_str();
        let mut branch = String::new();
        let cmd = if version == "HEAD" {
            branch = self
                .get_head_branch(dest, remote, false)?
                .unwrap_or_else(|| "None".into());
            let ran = self.run(
                Cmd::Line(&self.line(&format!("checkout --force {branch}"))),
                Some(dest),
            )?;
            if ran.rc != 0 {
                return Err(failed_run(
                    format!("Failed to checkout branch {branch}"),
                    &ran,
                ));
            }
            self.line(&format!("reset --hard {remote}/{branch} --"))
        } else if self.is_remote_branch(Some(dest), remote, version)? {
            if let Some(depth) = depth
                && !self.is_local_branch(dest, version)?
            {
                self.set_remote_branch(dest, remote, version, depth)?;
            }
            if !self.is_local_branch(dest, version)? {
                self.line(&format!("checkout --track -b {version} {remote}/{version}"))
            } else {
                let ran = self.run(
                    Cmd::Line(&self.line(&format!("checkout --force {version}"))),
                    Some(dest),
                )?;
                if ran.rc != 0 {
                    return Err(failed_run(
                        format!("Failed to checkout branch {version}"),
                        &ran,
                    ));
                }
                self.line(&format!("reset --hard {remote}/{version}"))
            }
        } else {
            self.line(&format!("checkout --force {version}"))
        };
        let (ran, _) = self.exec(Cmd::Line(&cmd), Some(dest))?;
        if ran.rc != 0 {
            let msg = if version != "HEAD" {
                format!("Failed to checkout {version}")
            } else {
                format!("Failed to checkout branch {branch}")
            };
            let mut f = failed_run(msg, &ran);
            f.0.insert("cmd".into(), json!(cmd));
            return Err(f);
        }
        if p.verify_commit {
            self.verify_commit_sign(dest, version, &p.gpg_allowlist)?;
        }
        Ok(())
    }

    fn verify_commit_sign(&self, dest: &str, version: &str, allowlist: &[String]) -> Step<()> {
        let sub = if self.get_annotated_tags(dest)?.iter().any(|t| t == version) {
            "verify-tag"
        } else {
            "verify-commit"
        };
        let mut cmd = self.line(&format!("{sub} {version}"));
        if !allowlist.is_empty() {
            cmd += " --raw";
        }
        let ran = self.run(Cmd::Line(&cmd), Some(dest))?;
        if ran.rc != 0 {
            return Err(failed_run(
                format!("Failed to verify GPG signature of commit/tag \"{version}\""),
                &ran,
            ));
        }
        if !allowlist.is_empty() {
            let fingerprint = gpg_fingerprint(&ran.err);
            if !fingerprint.as_ref().is_some_and(|f| allowlist.contains(f)) {
                return Err(failed_run(
                    format!(
                        "The gpg_allowlist does not include the public key \"{}\" for this commit",
                        fingerprint.as_deref().unwrap_or("None")
                    ),
                    &ran,
                ));
            }
        }
        Ok(())
    }

    fn git_archive(
        &self,
        dest: &str,
        archive: &str,
        fmt: &str,
        prefix: Option<&str>,
        version: &str,
    ) -> Step<()> {
        let mut cmd = self.argv(&["archive", "--format", fmt, "--output", archive]);
        if let Some(prefix) = prefix {
            cmd.extend(["--prefix".into(), prefix.to_owned()]);
        }
        cmd.push(version.to_owned());
        let ran = self.run(Cmd::Argv(cmd), Some(dest))?;
        if ran.rc != 0 {
            return Err(fail_with(
                "Failed to perform archive operation",
                [(
                    "details",
                    json!(format!(
                        "Git archive command failed to create archive {archive} using {dest} directory.Error: {}",
                        ran.err
                    )),
                )],
            ));
        }
        Ok(())
    }

    fn create_archive(
        &self,
        p: &Params,
        dest: &str,
        archive: &str,
        repo: &str,
        result: &mut Vars,
    ) -> Step<()> {
        let ext = splitext(archive);
        let fmt = match ext {
            ".zip" => "zip",
            ".gz" => "tar.gz",
            ".tar" => "tar",
            ".tgz" => "tgz",
            _ => {
                return Err(fail_with(
                    format!("Unable to get file extension from archive file name : {archive}"),
                    [(
                        "details",
                        json!(
                            "Please specify archive as filename with extension. File extension can be one of ['tar', 'tar.gz', 'zip', 'tgz']"
                        ),
                    )],
                ));
            }
        };
        let prefix = p.archive_prefix.as_deref();
        let version = p.version.as_str();
        if !self.exists(archive) {
            self.git_archive(dest, archive, fmt, prefix, version)?;
            result.insert("changed".into(), json!(true));
            return Ok(());
        }
        let repo_name = repo
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .replace(".git", "");
        let made = self.run(Cmd::Argv(vec!["mktemp".into(), "-d".into()]), None)?;
        let tempdir = made.out.trim().to_owned();
        if made.rc != 0 || tempdir.is_empty() {
            return Err(fail(format!(
                "cannot make a temporary directory: {}",
                made.err
            )));
        }
        let new_archive = format!("{tempdir}/{repo_name}.{fmt}");
        let outcome = self
            .git_archive(dest, &new_archive, fmt, prefix, version)
            .and_then(|()| {
                let same = match (
                    self.ctx.target.read_file(&new_archive),
                    self.ctx.target.read_file(archive),
                ) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => false,
                };
                if same {
                    result.insert("changed".into(), json!(false));
                    return Ok(());
                }
                let argv = ["mv", "-f", "--", &new_archive, archive].map(str::to_owned);
                let ran = self.run(Cmd::Argv(argv.to_vec()), None)?;
                if ran.rc != 0 {
                    return Err(fail_with(
                        format!("Failed to move {new_archive} to {archive}"),
                        [(
                            "details",
                            json!(format!(
                                "Error occurred while moving : {}",
                                ran.err.trim_end()
                            )),
                        )],
                    ));
                }
                result.insert("changed".into(), json!(true));
                Ok(())
            });
        let _ = self.ctx.target.remove(&tempdir);
        outcome
    }
}

/// `head_splitter`'s split of a HEAD file's first line: `ref:
/// refs/heads/main` (or `refs/remotes/<remote>/main`) names `main`.
fn split_head(line: &str, remote: &str) -> String {
    let raw = line.replacen(&format!("refs/remotes/{remote}"), "", 1);
    let newref = raw.split(' ').next_back().unwrap_or_default();
    let last = newref.splitn(3, '/').last().unwrap_or_default();
    last.trim_end_matches('\n').to_owned()
}

/// A failure with the command's `stdout`, `stderr` and `rc`.
fn failed_run(msg: String, ran: &Ran) -> Fail {
    let mut f = fail_with(msg, [("rc", json!(ran.rc))]);
    f.0.insert("stdout".into(), json!(ran.out));
    f.0.insert("stderr".into(), json!(ran.err));
    f
}

fn bad_repo_path(details: String) -> Fail {
    fail_with(
        format!(
            "Current repo does not have a valid reference to a separate Git dir or it refers to the invalid path: {details}"
        ),
        [("details", json!(details))],
    )
}

/// `get_gpg_fingerprint` of `verify-* --raw` output.
fn gpg_fingerprint(output: &str) -> Option<String> {
    for line in output.lines() {
        let data: Vec<&str> = line.split_whitespace().collect();
        if data.get(1) != Some(&"VALIDSIG") {
            continue;
        }
        let id = if data.len() == 11 { 11 } else { 2 };
        return data.get(id).map(|s| (*s).to_owned());
    }
    None
}

/// Python's `int(text, 8)`.
fn py_int_base8(text: &str) -> Option<u32> {
    let t = text.trim().replace('_', "");
    let t = t
        .strip_prefix("0o")
        .or_else(|| t.strip_prefix("0O"))
        .unwrap_or(&t);
    u32::from_str_radix(t, 8).ok()
}

/// `os.path.splitext(path)[1]`.
fn splitext(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.trim_start_matches('.');
    match stem.rfind('.') {
        Some(i) => &stem[i..],
        None => "",
    }
}

/// `os.path.dirname`.
fn dirname(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => path[..i].trim_end_matches('/').to_owned(),
        None => String::new(),
    }
}

/// `os.path.normpath`.
fn normpath(path: &str) -> String {
    let abs = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if abs => {}
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_numbers() {
        let v = Version::parse("2.47.3");
        assert!(!v.older_than("2.3.0"));
        assert!(!v.older_than("1.9.1"));
        assert!(Version::parse("1.8.3.1").older_than("1.9"));
        assert!(Version::parse("2.2.1 (Apple Git-7)").older_than("2.3.0"));
    }

    #[test]
    fn paths_as_python_sees_them() {
        assert_eq!(normpath("/a//b/./c/../d/"), "/a/b/d");
        assert_eq!(normpath("/../x"), "/x");
        assert_eq!(normpath("a/../.."), "..");
        assert_eq!(dirname("/tmp/x/y"), "/tmp/x");
        assert_eq!(dirname("/y"), "/");
        assert_eq!(splitext("/o/repo.tar.gz"), ".gz");
        assert_eq!(splitext("/o/.hidden"), "");
        assert_eq!(splitext("/o/a.zip"), ".zip");
    }

    #[test]
    fn head_files_name_branches() {
        assert_eq!(split_head("ref: refs/heads/main\n", "origin"), "main");
        assert_eq!(split_head("ref: refs/heads/a/b\n", "origin"), "a/b");
        assert_eq!(
            split_head("ref: refs/remotes/origin/dev\n", "origin"),
            "dev"
        );
        assert_eq!(split_head("ref: refs/remotes/up/dev", "up"), "dev");
    }

    #[test]
    fn umask_is_octal() {
        assert_eq!(py_int_base8("022"), Some(0o22));
        assert_eq!(py_int_base8("0o077"), Some(0o77));
        assert_eq!(py_int_base8("9"), None);
    }

    #[test]
    fn fingerprint_of_validsig() {
        let out = "[GNUPG:] NEWSIG\n[GNUPG:] VALIDSIG ABCD 2020-01-01 1 0 4 0 1 8 00 PRIMARY\n";
        // git.py takes field 11 only from 11-field lines (where it does not
        // exist); GnuPG's 12-field lines give the signing key's field 2.
        assert_eq!(gpg_fingerprint(out).as_deref(), Some("ABCD"));
        assert_eq!(
            gpg_fingerprint("[GNUPG:] VALIDSIG ABCD x"),
            Some("ABCD".into())
        );
        assert_eq!(gpg_fingerprint(""), None);
    }
}
