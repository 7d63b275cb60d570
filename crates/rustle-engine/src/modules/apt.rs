//! `apt`: Debian packages, a port of ansible-core's apt.py. Package names
//! (lists, `name=version` with globs, `name>=version`, `name*`-style
//! wildcards matched against the names apt knows), states present, latest
//! and absent (with purge and autoremove), `.deb` files (`deb:`),
//! `update_cache` with `cache_valid_time` (the mtime of apt's
//! update-success stamp, else of `/var/lib/apt/lists`), `autoremove` and
//! `autoclean` alone, `clean`, `install_recommends`, `force`,
//! `allow_downgrade`, `allow_unauthenticated`, `allow_change_held_packages`,
//! `only_upgrade`, `fail_on_autoremove`, `dpkg_options`, `default_release`
//! and `lock_timeout`. It runs `apt-get`, `apt-mark` and `dpkg` with the
//! command lines and environment apt.py uses (so results, failure messages
//! and `--diff`'s `prepared` text match), `--simulate` in check mode.
//!
//! Where apt.py asks python-apt's cache, this asks the tools: installed
//! state from `dpkg-query -W` (installed means dpkg's `installed` status),
//! left-over files from `dpkg-query -L`, candidates from `apt-cache policy`
//! (`-t` for a default release; for `name=glob` the newest version in its
//! version table matching the glob, as apt.py's priority-1001 version pin
//! picks), wildcard names from `apt-cache pkgnames`, providers of virtual
//! packages from `apt-cache showpkg`, and version comparisons from
//! `dpkg --compare-versions`. For a `.deb`, python-apt's installability
//! check is reduced to: missing `Depends` (by name, version constraints
//! not checked; the first alternative is installed) and "A later version
//! is already installed" (unless `force` or `allow_downgrade`).
//!
//! Left out, failing with a clear message: state=build-dep and
//! state=fixed, `upgrade` other than `no` (and `name: '*'` with
//! state=latest), `policy_rc_d`, and `deb` URLs. aptitude is never used
//! (only `upgrade` would).

use std::cell::RefCell;

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::args::Args;
use super::bin::{Ran, get_bin_path, run_command};
use super::cron::splitlines;
use super::{Module, ModuleCtx, ModuleResult, Outcome};

pub struct Apt;

const PARAMS: &[&str] = &[
    "allow-change-held-packages",
    "allow-downgrade",
    "allow-downgrades",
    "allow-unauthenticated",
    "allow_change_held_packages",
    "allow_downgrade",
    "allow_downgrades",
    "allow_unauthenticated",
    "auto_install_module_deps",
    "autoclean",
    "autoremove",
    "cache_valid_time",
    "clean",
    "deb",
    "default-release",
    "default_release",
    "dpkg_options",
    "fail_on_autoremove",
    "force",
    "force_apt_get",
    "install-recommends",
    "install_recommends",
    "lock_timeout",
    "name",
    "only_upgrade",
    "package",
    "pkg",
    "policy_rc_d",
    "purge",
    "state",
    "update-cache",
    "update_cache",
    "update_cache_retries",
    "update_cache_retry_max_delay",
    "upgrade",
];

const DPKG_OPTIONS: &str = "force-confdef,force-confold";
const APT_LISTS_PATH: &str = "/var/lib/apt/lists";
const APT_UPDATE_SUCCESS_STAMP_PATH: &str = "/var/lib/apt/periodic/update-success-stamp";
const APT_MARK_INVALID_OP: &str = "Invalid operation";
const APT_MARK_INVALID_OP_DEB6: &str = "Usage: apt-mark [options] {markauto|unmarkauto} packages";

impl Module for Apt {
    fn params(&self) -> &'static [&'static str] {
        PARAMS
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let mut run = Run {
            ctx,
            env: Vec::new(),
            apt_get: String::new(),
            names: RefCell::new(None),
            warnings: Vec::new(),
        };
        let (mut result, failed) = match run.main(args) {
            Ok(()) => (Vars::new(), true),
            Err(Exit::Done(r)) => (r, false),
            Err(Exit::Fail(r)) => (r, true),
        };
        if failed {
            result.insert("failed".into(), json!(true));
            result.entry("changed".to_owned()).or_insert(json!(false));
            if !result.contains_key("msg") {
                result.insert(
                    "msg".into(),
                    json!(
                        "Unexpected code path taken, we really should have exited before, this is a bug"
                    ),
                );
            }
        }
        // What Ansible's action adds to any result with stdout/stderr.
        for key in ["stdout", "stderr"] {
            if let Some(Json::String(text)) = result.get(key) {
                let lines: Vec<Json> = splitlines(text, false)
                    .into_iter()
                    .map(Json::String)
                    .collect();
                result.insert(format!("{key}_lines"), Json::Array(lines));
            }
        }
        if !run.warnings.is_empty() {
            result.insert("warnings".into(), json!(run.warnings));
        }
        Ok(Outcome::new(result))
    }
}

/// How the module ends: apt.py's `exit_json` and `fail_json`.
enum Exit {
    Done(Vars),
    Fail(Vars),
}

type Step<T> = Result<T, Exit>;

fn vars(pairs: Vec<(&str, Json)>) -> Vars {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn fail(msg: impl Into<String>) -> Exit {
    Exit::Fail(vars(vec![("msg", json!(msg.into()))]))
}

struct Params {
    state: String,
    update_cache: Option<bool>,
    update_cache_retries: i64,
    update_cache_retry_max_delay: i64,
    cache_valid_time: i64,
    purge: bool,
    packages: Option<Vec<String>>,
    deb: Option<String>,
    default_release: Option<String>,
    install_recommends: Option<bool>,
    force: bool,
    upgrade: String,
    dpkg_options: String,
    autoremove: bool,
    autoclean: bool,
    fail_on_autoremove: bool,
    only_upgrade: bool,
    clean: bool,
    allow_unauthenticated: bool,
    allow_downgrade: bool,
    allow_change_held_packages: bool,
    lock_timeout: i64,
}

/// A boolean argument under any of its names.
fn flag(args: &Args, keys: &[&str], default: bool) -> Step<bool> {
    match keys.iter().find(|k| args.get(k).is_some()) {
        Some(key) => args.bool(key, default).map_err(|e| fail(e.0)),
        None => Ok(default),
    }
}

fn optional_flag(args: &Args, keys: &[&str]) -> Step<Option<bool>> {
    match keys.iter().find(|k| args.get(k).is_some()) {
        Some(key) => args.bool(key, false).map(Some).map_err(|e| fail(e.0)),
        None => Ok(None),
    }
}

impl Params {
    fn read(args: &Args) -> Step<Params> {
        let err = |e: super::ModuleError| fail(e.0);
        let given = |keys: &[&str]| keys.iter().any(|k| args.get(k).is_some());
        let exclusive: Vec<&str> = [
            ("deb", &["deb"][..]),
            ("package", &["package", "pkg", "name"][..]),
            ("upgrade", &["upgrade"][..]),
        ]
        .iter()
        .filter(|(_, keys)| given(keys))
        .map(|(name, _)| *name)
        .collect();
        if exclusive.len() > 1 {
            return Err(fail(
                "parameters are mutually exclusive: deb|package|upgrade",
            ));
        }
        let one_of: &[&[&str]] = &[
            &["autoremove"],
            &["deb"],
            &["package", "pkg", "name"],
            &["update_cache", "update-cache"],
            &["upgrade"],
        ];
        if !one_of.iter().any(|keys| given(keys)) {
            return Err(fail(
                "one of the following is required: autoremove, deb, package, update_cache, upgrade",
            ));
        }
        let int = |key: &str, default: i64| -> Step<i64> {
            Ok(args.int(key).map_err(err)?.unwrap_or(default))
        };
        Ok(Params {
            state: args
                .choice(
                    "state",
                    &["absent", "build-dep", "fixed", "latest", "present"],
                )
                .map_err(err)?
                .unwrap_or_else(|| "present".into()),
            update_cache: optional_flag(args, &["update_cache", "update-cache"])?,
            update_cache_retries: int("update_cache_retries", 5)?,
            update_cache_retry_max_delay: int("update_cache_retry_max_delay", 12)?,
            cache_valid_time: int("cache_valid_time", 0)?,
            purge: flag(args, &["purge"], false)?,
            packages: args.list(&["package", "pkg", "name"]).map_err(err)?,
            deb: args.string(&["deb"]).map_err(err)?,
            default_release: args
                .string(&["default_release", "default-release"])
                .map_err(err)?,
            install_recommends: optional_flag(args, &["install_recommends", "install-recommends"])?,
            force: flag(args, &["force"], false)?,
            upgrade: args
                .choice("upgrade", &["dist", "full", "no", "safe", "yes"])
                .map_err(err)?
                .unwrap_or_else(|| "no".into()),
            dpkg_options: args
                .string(&["dpkg_options"])
                .map_err(err)?
                .unwrap_or_else(|| DPKG_OPTIONS.into()),
            autoremove: flag(args, &["autoremove"], false)?,
            autoclean: flag(args, &["autoclean"], false)?,
            fail_on_autoremove: flag(args, &["fail_on_autoremove"], false)?,
            only_upgrade: flag(args, &["only_upgrade"], false)?,
            clean: flag(args, &["clean"], false)?,
            allow_unauthenticated: flag(
                args,
                &["allow_unauthenticated", "allow-unauthenticated"],
                false,
            )?,
            allow_downgrade: flag(
                args,
                &[
                    "allow_downgrade",
                    "allow-downgrade",
                    "allow_downgrades",
                    "allow-downgrades",
                ],
                false,
            )?,
            allow_change_held_packages: flag(args, &["allow_change_held_packages"], false)?,
            lock_timeout: int("lock_timeout", 60)?,
        })
    }
}

/// `package_split`: `name`, `name=version` or `name>=version`.
pub(crate) fn package_split(spec: &str) -> (&str, Option<&str>, Option<&str>) {
    let Some(eq) = spec.find('=') else {
        return (spec, None, None);
    };
    if eq > 0 && spec.as_bytes()[eq - 1] == b'>' {
        (&spec[..eq - 1], Some(">="), Some(&spec[eq + 1..]))
    } else {
        (&spec[..eq], Some("="), Some(&spec[eq + 1..]))
    }
}

/// `expand_dpkg_options`: `a,b` to `-o "Dpkg::Options::=--a" -o ...`.
pub(crate) fn expand_dpkg_options(compressed: &str) -> String {
    compressed
        .split(',')
        .map(|o| format!("-o \"Dpkg::Options::=--{o}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Python's `fnmatch.fnmatch` (case-sensitive on POSIX).
pub(crate) fn fnmatch(name: &str, pattern: &str) -> bool {
    glob::Pattern::new(pattern).map_or(name == pattern, |p| p.matches(name))
}

/// `parse_diff`: apt-get's output from after "Reading state information..."
/// through the "N upgraded" line.
pub(crate) fn parse_diff(output: &str) -> Json {
    let owned = splitlines(output, false);
    let lines: Vec<&str> = owned.iter().map(String::as_str).collect();
    let start = lines
        .iter()
        .position(|l| *l == "Resolving dependencies...")
        .or_else(|| {
            lines
                .iter()
                .position(|l| *l == "Reading state information...")
        })
        .map_or(0, |i| i + 1);
    let end = lines
        .iter()
        .position(|l| upgraded_line(l))
        .map_or(lines.len() + 1, |i| i + 1);
    let text = lines
        .get(start..end.min(lines.len()).max(start))
        .unwrap_or_default()
        .join("\n");
    json!({ "prepared": text })
}

/// `re.match('[0-9]+ (packages )?upgraded', line)`.
fn upgraded_line(line: &str) -> bool {
    let rest = line.trim_start_matches(|c: char| c.is_ascii_digit());
    if rest.len() == line.len() {
        return false;
    }
    let rest = rest.strip_prefix(' ').unwrap_or("\u{0}");
    rest.starts_with("upgraded") || rest.starts_with("packages upgraded")
}

/// What `apt-cache policy NAME` says about one package.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Policy {
    pub candidate: Option<String>,
    /// The version table, newest first.
    pub versions: Vec<String>,
}

pub(crate) fn parse_policy(output: &str) -> Policy {
    let mut policy = Policy::default();
    let mut in_table = false;
    for line in output.lines() {
        let trimmed = line.trim();
        if let Some(c) = trimmed.strip_prefix("Candidate:") {
            let c = c.trim();
            policy.candidate = (c != "(none)" && !c.is_empty()).then(|| c.to_owned());
        } else if trimmed == "Version table:" {
            in_table = true;
        } else if in_table {
            // Version lines are indented by 5 (" *** " for the installed
            // one), their sources by 8.
            let indent = line.len() - line.trim_start().len();
            let entry = trimmed.strip_prefix("*** ").unwrap_or(trimmed);
            if indent <= 5
                && let Some(v) = entry.split_whitespace().next()
            {
                policy.versions.push(v.to_owned());
            }
        }
    }
    policy
}

/// The names under "Reverse Provides:" in `apt-cache showpkg` output.
pub(crate) fn parse_providers(output: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let after = output.split("Reverse Provides:").nth(1).unwrap_or_default();
    for line in after.lines().skip(1) {
        if let Some(name) = line.split_whitespace().next()
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
        }
    }
    names
}

/// dpkg's view of an installed package: `${Status}\t${Version}`.
pub(crate) fn parse_dpkg_status(output: &str) -> Option<String> {
    let line = output.lines().next()?;
    let (status, version) = line.split_once('\t')?;
    (status.split_whitespace().nth(2) == Some("installed")).then(|| version.to_owned())
}

/// Missing dependencies of a `.deb`'s `Depends` field: for each group none
/// of whose alternatives is installed, its first alternative's name.
pub(crate) fn unmet_groups(depends: &str, installed: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut missing = Vec::new();
    for group in depends.split(',').filter(|g| !g.trim().is_empty()) {
        let names: Vec<&str> = group
            .split('|')
            .filter_map(|alt| alt.split(['(', ' ']).find(|s| !s.is_empty()))
            .collect();
        if !names.iter().any(|n| installed(n))
            && let Some(first) = names.first()
        {
            missing.push((*first).to_owned());
        }
    }
    missing
}

/// `package_status`'s answer.
struct Status {
    installed: bool,
    version_installed: bool,
    /// `Some("")`-free: `Installable::Virtual` is apt.py's `True`.
    installable: Installable,
    has_files: bool,
}

#[derive(Clone, PartialEq)]
enum Installable {
    No,
    Version(String),
    Virtual,
}

struct Run<'a> {
    ctx: &'a ModuleCtx<'a>,
    env: Vec<(String, String)>,
    apt_get: String,
    names: RefCell<Option<Vec<String>>>,
    warnings: Vec<String>,
}

impl Run<'_> {
    fn exec(&self, argv: Vec<String>) -> Step<Ran> {
        run_command(self.ctx, &self.env, argv).map_err(fail)
    }

    /// `run_command` with a string: split as a shell would, no shell.
    fn command(&self, cmd: &str) -> Step<Ran> {
        let argv = shlex::split(cmd).ok_or_else(|| fail(format!("cannot split {cmd}")))?;
        self.exec(argv)
    }

    fn bin_path(&self, name: &str) -> Option<String> {
        get_bin_path(self.ctx.target, name, &[])
    }

    fn main(&mut self, args: &Args) -> Step<()> {
        let p = Params::read(args)?;
        let unsupported = |what: &str| {
            fail(format!(
                "{what} is not supported by rustle's apt module (a port of ansible-core's apt)"
            ))
        };
        if matches!(p.state.as_str(), "build-dep" | "fixed") {
            return Err(unsupported(&format!("state={}", p.state)));
        }
        if p.upgrade != "no" {
            return Err(unsupported(&format!("upgrade={}", p.upgrade)));
        }
        if args.get("policy_rc_d").is_some() {
            return Err(unsupported("policy_rc_d"));
        }
        if p.deb.as_deref().is_some_and(|d| d.contains("://")) {
            return Err(unsupported("a deb URL"));
        }

        let locale = super::bin::best_parsable_locale(self.ctx);
        self.env = [
            ("DEBIAN_FRONTEND", "noninteractive"),
            ("DEBIAN_PRIORITY", "critical"),
            ("LANG", &locale),
            ("LC_ALL", &locale),
            ("LC_MESSAGES", &locale),
            ("LC_CTYPE", &locale),
            ("LANGUAGE", &locale),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        self.apt_get = self.bin_path("apt-get").unwrap_or_else(|| "apt-get".into());
        let dpkg_options = format!(
            "{} -o DPkg::Lock::Timeout={}",
            expand_dpkg_options(&p.dpkg_options),
            p.lock_timeout
        );

        if p.clean {
            let (out, err, diff) = self.aptclean()?;
            if p.packages.is_none() && p.deb.is_none() {
                return Err(Exit::Done(vars(vec![
                    ("changed", json!(true)),
                    ("msg", json!(out)),
                    ("stdout", json!(out)),
                    ("stderr", json!(err)),
                    ("diff", diff),
                ])));
            }
        }

        let (mtime, mut updated_cache_time) = self.cache_time();
        let mut updated_cache = false;
        if p.update_cache == Some(true) || p.cache_valid_time != 0 {
            let now = self.now()?;
            if mtime + (p.cache_valid_time as f64) < now {
                self.update_cache(&p)?;
                let (_, post) = self.cache_time();
                if self.ctx.check || updated_cache_time != post {
                    updated_cache = true;
                }
                updated_cache_time = post;
            }
            if p.packages.is_none() && p.deb.is_none() {
                return Err(Exit::Done(vars(vec![
                    ("changed", json!(updated_cache)),
                    ("cache_updated", json!(updated_cache)),
                    ("cache_update_time", json!(updated_cache_time)),
                ])));
            }
        }

        if let Some(deb) = &p.deb {
            if p.state != "present" {
                return Err(fail("deb only supports state=present"));
            }
            return self.install_deb(&p, deb);
        }

        let unfiltered = p.packages.clone().unwrap_or_default();
        let packages: Vec<String> = unfiltered
            .iter()
            .filter(|s| *s != "*")
            .map(|s| s.trim().to_owned())
            .collect();
        let all_installed = unfiltered.iter().any(|s| s == "*");
        if p.state == "latest" && all_installed {
            if !packages.is_empty() {
                return Err(fail(
                    "unable to install additional packages when upgrading all installed packages",
                ));
            }
            return Err(unsupported("name='*' with state=latest (an upgrade)"));
        }
        if let Some(bad) = packages.iter().find(|s| s.matches('=').count() > 1) {
            return Err(fail(format!("invalid package spec: {bad}")));
        }
        if packages.is_empty() {
            if p.autoclean {
                self.cleanup(&p, "autoclean", &dpkg_options)?;
            }
            if p.autoremove {
                self.cleanup(&p, "autoremove", &dpkg_options)?;
            }
        }

        if p.state == "absent" {
            return self.remove(&p, &packages, &dpkg_options);
        }
        let opts = InstallOpts {
            upgrade: p.state == "latest",
            default_release: p.default_release.clone(),
            install_recommends: p.install_recommends,
            force: p.force,
            dpkg_options: dpkg_options.clone(),
            autoremove: p.autoremove,
            fail_on_autoremove: p.fail_on_autoremove,
            only_upgrade: p.only_upgrade,
            allow_unauthenticated: p.allow_unauthenticated,
            allow_downgrade: p.allow_downgrade,
            allow_change_held_packages: p.allow_change_held_packages,
        };
        let (ok, mut r) = self.install(&packages, &opts)?;
        r.insert("cache_updated".into(), json!(updated_cache));
        r.insert("cache_update_time".into(), json!(updated_cache_time));
        Err(if ok { Exit::Done(r) } else { Exit::Fail(r) })
    }

    /// `get_updated_cache_time`: the mtime and it as whole seconds.
    fn cache_time(&self) -> (f64, i64) {
        let stat = |p: &str| self.ctx.target.stat(p, true).ok().flatten();
        let mtime = stat(APT_UPDATE_SUCCESS_STAMP_PATH)
            .or_else(|| stat(APT_LISTS_PATH))
            .map_or(0.0, |s| s.mtime);
        (mtime, mtime.floor() as i64)
    }

    /// The host's clock.
    fn now(&self) -> Step<f64> {
        let ran = self.exec(vec!["date".into(), "+%s.%N".into()])?;
        ran.out
            .trim()
            .parse()
            .map_err(|_| fail(format!("cannot read the host's clock: {}", ran.err.trim())))
    }

    /// `cache.update()` with apt.py's retries (`apt-get update -q`).
    fn update_cache(&mut self, p: &Params) -> Step<()> {
        let mut err = String::new();
        for retry in 0..p.update_cache_retries.max(0) {
            if self.ctx.check {
                return Ok(());
            }
            let ran = self.exec(vec![self.apt_get.clone(), "update".into(), "-q".into()])?;
            let failed = ran.rc != 0
                || ran
                    .err
                    .lines()
                    .any(|l| l.starts_with("E:") || l.starts_with("W: Failed to fetch"));
            if !failed {
                return Ok(());
            }
            err = ran.err.trim().to_owned();
            self.warnings.push(format!(
                "Failed to update cache after {} retries due to {err}, retrying",
                retry + 1
            ));
            let delay = 2i64
                .saturating_pow(retry as u32)
                .min(p.update_cache_retry_max_delay);
            std::thread::sleep(std::time::Duration::from_secs(delay.max(0) as u64));
            self.warnings.push(format!(
                "Sleeping for {delay} seconds, before attempting to refresh the cache again"
            ));
        }
        let why = if err.is_empty() {
            "unknown reason".to_owned()
        } else {
            err
        };
        Err(fail(format!(
            "Failed to update apt cache after {} retries: {why}",
            p.update_cache_retries
        )))
    }

    fn aptclean(&self) -> Step<(String, String, Json)> {
        let ran = self.exec(vec!["apt-get".into(), "clean".into()])?;
        let diff = if self.ctx.diff {
            parse_diff(&ran.out)
        } else {
            json!({})
        };
        let with = |msg: &str| {
            Exit::Fail(vars(vec![
                ("msg", json!(msg)),
                ("stdout", json!(ran.out)),
                ("rc", json!(ran.rc)),
            ]))
        };
        if ran.rc != 0 {
            return Err(with("apt-get clean failed"));
        }
        if !ran.err.is_empty() {
            return Err(with(&format!("apt-get clean failed: {}", ran.err)));
        }
        Ok((ran.out, ran.err, diff))
    }

    fn diff_of(&self, out: &str) -> Json {
        if self.ctx.diff {
            parse_diff(out)
        } else {
            json!({})
        }
    }

    fn cleanup(&self, p: &Params, operation: &str, dpkg_options: &str) -> Step<()> {
        let cmd = format!(
            "{} -y {} {} {} {} {}",
            self.apt_get,
            dpkg_options,
            if p.purge { "--purge" } else { "" },
            if p.force { "--force-yes" } else { "" },
            operation,
            if self.ctx.check { "--simulate" } else { "" }
        );
        let ran = self.command(&cmd)?;
        let diff = self.diff_of(&ran.out);
        if ran.rc != 0 {
            return Err(Exit::Fail(vars(vec![
                (
                    "msg",
                    json!(format!("'apt-get {operation}' failed: {}", ran.err)),
                ),
                ("stdout", json!(ran.out)),
                ("stderr", json!(ran.err)),
                ("rc", json!(ran.rc)),
            ])));
        }
        let marker = match operation {
            "autoremove" => "The following packages will be REMOVED",
            _ => "Del ",
        };
        Err(Exit::Done(vars(vec![
            ("changed", json!(ran.out.contains(marker))),
            ("stdout", json!(ran.out)),
            ("stderr", json!(ran.err)),
            ("diff", diff),
        ])))
    }

    /// The package names apt knows (for wildcards), once.
    fn all_names(&self) -> Step<Vec<String>> {
        if let Some(names) = self.names.borrow().as_ref() {
            return Ok(names.clone());
        }
        let ran = self.exec(vec!["apt-cache".into(), "pkgnames".into()])?;
        let names: Vec<String> = ran.out.lines().map(str::to_owned).collect();
        *self.names.borrow_mut() = Some(names.clone());
        Ok(names)
    }

    /// `expand_pkgspec_from_fnmatches`.
    fn expand(&self, specs: &[String]) -> Step<Vec<String>> {
        let mut out = Vec::new();
        for spec in specs {
            let (pattern, _, _) = package_split(spec);
            if !pattern.contains(['*', '?', '[', ']', '!']) {
                out.push(spec.clone());
                continue;
            }
            let multiarch = pattern.contains(':');
            let matches: Vec<String> = self
                .all_names()?
                .into_iter()
                .filter(|n| multiarch || !n.contains(':'))
                .filter(|n| fnmatch(n, pattern))
                .collect();
            if matches.is_empty() {
                return Err(fail(format!(
                    "No package(s) matching '{pattern}' available"
                )));
            }
            out.extend(matches);
        }
        Ok(out)
    }

    fn policy(&self, name: &str, release: Option<&str>) -> Step<Policy> {
        let mut argv = vec!["apt-cache".to_owned()];
        if let Some(r) = release {
            argv.extend(["-t".to_owned(), r.to_owned()]);
        }
        argv.extend(["policy".to_owned(), name.to_owned()]);
        Ok(parse_policy(&self.exec(argv)?.out))
    }

    /// The installed version, when dpkg says the package is installed.
    fn installed_version(&self, name: &str) -> Step<Option<String>> {
        let ran = self.exec(vec![
            "dpkg-query".into(),
            "-W".into(),
            "-f".into(),
            "${Status}\t${Version}\n".into(),
            name.into(),
        ])?;
        Ok(if ran.rc == 0 {
            parse_dpkg_status(&ran.out)
        } else {
            None
        })
    }

    fn has_files(&self, name: &str) -> Step<bool> {
        let ran = self.exec(vec!["dpkg-query".into(), "-L".into(), name.into()])?;
        Ok(ran.rc == 0 && ran.out.lines().any(|l| !l.trim().is_empty()))
    }

    /// `dpkg --compare-versions a op b`.
    fn compare(&self, a: &str, op: &str, b: &str) -> Step<bool> {
        let ran = self.exec(vec![
            "dpkg".into(),
            "--compare-versions".into(),
            a.into(),
            op.into(),
            b.into(),
        ])?;
        Ok(ran.rc == 0)
    }

    /// `package_status`.
    fn status(
        &self,
        name: &str,
        cmp: Option<&str>,
        version: Option<&str>,
        release: Option<&str>,
        install: bool,
    ) -> Step<Status> {
        let policy = self.policy(name, release)?;
        if policy.versions.is_empty() {
            let none = |installable| Status {
                installed: false,
                version_installed: false,
                installable,
                has_files: false,
            };
            if !install {
                return Ok(none(Installable::No));
            }
            let ran = self.exec(vec!["apt-cache".into(), "showpkg".into(), name.into()])?;
            let providers = parse_providers(&ran.out);
            if providers.is_empty() {
                return Err(fail(format!("No package matching '{name}' is available")));
            }
            if providers.len() == 1 {
                let s = self.status(&providers[0], cmp, version, release, true)?;
                if s.installed {
                    return Ok(s);
                }
            }
            return Ok(none(Installable::Virtual));
        }
        let has_files = self.has_files(name)?;
        let best = match (cmp, version) {
            (Some("="), Some(glob)) => policy.versions.iter().find(|v| fnmatch(v, glob)).cloned(),
            _ => policy.candidate.clone(),
        };
        let installed = self.installed_version(name)?;
        let mut installable = Installable::No;
        let mut version_installed = false;
        match &installed {
            Some(current) => {
                let differs = |b: &String| b != current;
                match (cmp, version) {
                    (Some("="), Some(glob)) => {
                        version_installed = fnmatch(current, glob);
                        if let Some(b) = best.as_ref().filter(|b| differs(b) && fnmatch(b, glob)) {
                            installable = Installable::Version(b.clone());
                        }
                    }
                    (Some(">="), Some(min)) => {
                        version_installed = self.compare(current, "ge", min)?;
                        if let Some(b) = best.as_ref().filter(|b| differs(b))
                            && self.compare(b, "ge", min)?
                        {
                            installable = Installable::Version(b.clone());
                        }
                    }
                    _ => {
                        version_installed = true;
                        if let Some(b) = best.as_ref().filter(|b| differs(b)) {
                            installable = Installable::Version(b.clone());
                        }
                    }
                }
            }
            None => {
                if let Some(b) = best {
                    installable = Installable::Version(b);
                }
            }
        }
        Ok(Status {
            installed: installed.is_some(),
            version_installed,
            installable,
            has_files,
        })
    }

    /// `install`: `(success, result)`.
    fn install(&self, specs: &[String], o: &InstallOpts) -> Step<(bool, Vars)> {
        let specs = self.expand(specs)?;
        let mut pkg_list = Vec::new();
        let mut names = Vec::new();
        for spec in &specs {
            let (name, cmp, version) = package_split(spec);
            names.push(name.to_owned());
            let s = self.status(name, cmp, version, o.default_release.as_deref(), true)?;
            if !s.installed && o.only_upgrade {
                continue;
            }
            if !s.version_installed && s.installable == Installable::No {
                return Ok((
                    false,
                    vars(vec![(
                        "msg",
                        json!(format!("no available installation candidate for {spec}")),
                    )]),
                ));
            }
            let wanted = (!s.installed && !o.only_upgrade) || o.upgrade || !s.version_installed;
            match &s.installable {
                Installable::No => {}
                Installable::Version(v) if wanted => pkg_list.push(format!("'{name}={v}'")),
                Installable::Virtual if wanted => match version {
                    Some(v) => pkg_list.push(format!("'{name}={v}'")),
                    None => pkg_list.push(format!("'{name}'")),
                },
                Installable::Version(_) | Installable::Virtual
                    if s.version_installed && cmp == Some("=") =>
                {
                    pkg_list.push(format!("'{name}={}'", version.unwrap_or_default()));
                }
                _ => {}
            }
        }
        let packages = pkg_list.join(" ");
        let mut data;
        let mut ok = true;
        if !packages.is_empty() {
            let flag = |on: bool, text: &'static str| if on { text } else { "" };
            let mut cmd = format!(
                "{} -y {} {} {} {} {} {} {} install {}",
                self.apt_get,
                o.dpkg_options,
                flag(o.only_upgrade, "--only-upgrade"),
                "",
                flag(o.force, "--force-yes"),
                flag(o.autoremove, "--auto-remove"),
                flag(o.fail_on_autoremove, "--no-remove"),
                flag(self.ctx.check, "--simulate"),
                packages
            );
            if let Some(r) = &o.default_release {
                cmd.push_str(&format!(" -t '{r}'"));
            }
            match o.install_recommends {
                Some(false) => cmd.push_str(" -o APT::Install-Recommends=no"),
                Some(true) => cmd.push_str(" -o APT::Install-Recommends=yes"),
                None => {}
            }
            if o.allow_unauthenticated {
                cmd.push_str(" --allow-unauthenticated");
            }
            if o.allow_downgrade {
                cmd.push_str(" --allow-downgrades");
            }
            if o.allow_change_held_packages {
                cmd.push_str(" --allow-change-held-packages");
            }
            let ran = self.command(&cmd)?;
            data = vars(vec![
                ("changed", json!(true)),
                ("stdout", json!(ran.out)),
                ("stderr", json!(ran.err)),
                ("diff", self.diff_of(&ran.out)),
            ]);
            if ran.rc != 0 {
                ok = false;
                data = vars(vec![
                    ("msg", json!(format!("'{cmd}' failed: {}", ran.err))),
                    ("stdout", json!(ran.out)),
                    ("stderr", json!(ran.err)),
                    ("rc", json!(ran.rc)),
                ]);
            }
        } else {
            data = vars(vec![("changed", json!(false))]);
        }
        if !self.ctx.check {
            self.mark_installed_manually(&names)?;
        }
        Ok((ok, data))
    }

    fn mark_installed_manually(&self, names: &[String]) -> Step<()> {
        if names.is_empty() {
            return Ok(());
        }
        let Some(apt_mark) = self.bin_path("apt-mark") else {
            return Ok(());
        };
        let mut cmd = format!("{apt_mark} manual {}", names.join(" "));
        let mut ran = self.command(&cmd)?;
        if ran.err.contains(APT_MARK_INVALID_OP) || ran.err.contains(APT_MARK_INVALID_OP_DEB6) {
            cmd = format!("{apt_mark} unmarkauto {}", names.join(" "));
            ran = self.command(&cmd)?;
        }
        if ran.rc != 0 {
            return Err(Exit::Fail(vars(vec![
                ("msg", json!(format!("'{cmd}' failed: {}", ran.err))),
                ("stdout", json!(ran.out)),
                ("stderr", json!(ran.err)),
                ("rc", json!(ran.rc)),
            ])));
        }
        Ok(())
    }

    /// `remove`: always exits.
    fn remove(&self, p: &Params, specs: &[String], dpkg_options: &str) -> Step<()> {
        let specs = self.expand(specs)?;
        let mut pkg_list = Vec::new();
        for spec in &specs {
            let (name, cmp, version) = package_split(spec);
            let s = self.status(name, cmp, version, None, false)?;
            if s.version_installed || (s.has_files && p.purge) {
                pkg_list.push(format!("'{spec}'"));
            }
        }
        let packages = pkg_list.join(" ");
        if packages.is_empty() {
            return Err(Exit::Done(vars(vec![("changed", json!(false))])));
        }
        let flag = |on: bool, text: &'static str| if on { text } else { "" };
        let cmd = format!(
            "{} -q -y {} {} {} {} {} {} remove {}",
            self.apt_get,
            dpkg_options,
            flag(p.purge, "--purge"),
            flag(p.force, "--force-yes"),
            flag(p.autoremove, "--auto-remove"),
            flag(self.ctx.check, "--simulate"),
            flag(p.allow_change_held_packages, "--allow-change-held-packages"),
            packages
        );
        let ran = self.command(&cmd)?;
        let diff = self.diff_of(&ran.out);
        if ran.rc != 0 {
            return Err(Exit::Fail(vars(vec![
                (
                    "msg",
                    json!(format!("'apt-get remove {packages}' failed: {}", ran.err)),
                ),
                ("stdout", json!(ran.out)),
                ("stderr", json!(ran.err)),
                ("rc", json!(ran.rc)),
            ])));
        }
        Err(Exit::Done(vars(vec![
            ("changed", json!(true)),
            ("stdout", json!(ran.out)),
            ("stderr", json!(ran.err)),
            ("diff", diff),
        ])))
    }

    /// `get_field_of_deb`.
    fn deb_field(&self, deb: &str, field: &str) -> Step<String> {
        let dpkg = self.bin_path("dpkg").unwrap_or_else(|| "dpkg".into());
        let cmd = format!("{dpkg} --field {deb} {field}");
        let ran = self.command(&cmd)?;
        if ran.rc != 0 {
            return Err(Exit::Fail(vars(vec![
                ("msg", json!(format!("{cmd} failed"))),
                ("stdout", json!(ran.out)),
                ("stderr", json!(ran.err)),
            ])));
        }
        Ok(ran.out.trim_matches('\n').to_owned())
    }

    /// `install_deb`: always exits.
    fn install_deb(&self, p: &Params, debs: &str) -> Step<()> {
        let multiarch = {
            let ran = self.exec(vec!["dpkg".into(), "--print-foreign-architectures".into()])?;
            !ran.out.trim().is_empty()
        };
        let mut changed = false;
        let mut deps = Vec::new();
        let mut to_install = Vec::new();
        for deb in debs.split(',') {
            if !matches!(self.ctx.target.stat(deb, true), Ok(Some(_))) {
                return Err(fail(format!(
                    "Unable to install package: could not open '{deb}'"
                )));
            }
            let name = self.deb_field(deb, "Package")?;
            let version = self.deb_field(deb, "Version")?;
            let key = if multiarch {
                format!("{name}:{}", self.deb_field(deb, "Architecture")?)
            } else {
                name.clone()
            };
            if let Some(current) = self.installed_version(&key)? {
                if self.compare(&version, "eq", &current)? {
                    continue;
                }
                if self.compare(&current, "gt", &version)? && !(p.force || p.allow_downgrade) {
                    return Err(fail("A later version is already installed"));
                }
            }
            let depends = self.deb_field(deb, "Depends")?;
            let mut installed = Vec::new();
            for group in depends.split([',', '|']) {
                if let Some(n) = group.split(['(', ' ']).find(|s| !s.is_empty())
                    && self.installed_version(n)?.is_some()
                {
                    installed.push(n.to_owned());
                }
            }
            deps.extend(unmet_groups(&depends, &|n| {
                installed.iter().any(|i| i == n)
            }));
            if p.install_recommends == Some(true) {
                let recommends = self.deb_field(deb, "Recommends")?;
                deps.extend(recommends.split_whitespace().map(|s| s.trim().to_owned()));
            }
            to_install.push(deb.to_owned());
        }
        let mut retvals = Vars::new();
        if !deps.is_empty() {
            let opts = InstallOpts {
                upgrade: false,
                default_release: None,
                install_recommends: p.install_recommends,
                force: false,
                dpkg_options: format!(
                    "{} -o DPkg::Lock::Timeout={}",
                    expand_dpkg_options(&p.dpkg_options),
                    p.lock_timeout
                ),
                autoremove: false,
                fail_on_autoremove: p.fail_on_autoremove,
                only_upgrade: false,
                allow_unauthenticated: p.allow_unauthenticated,
                allow_downgrade: p.allow_downgrade,
                allow_change_held_packages: p.allow_change_held_packages,
            };
            let (ok, r) = self.install(&deps, &opts)?;
            if !ok {
                return Err(Exit::Fail(r));
            }
            changed = r.get("changed") == Some(&json!(true));
            retvals = r;
        }
        let text = |key: &str| match retvals.get(key) {
            Some(Json::String(s)) => s.clone(),
            _ => String::new(),
        };
        if to_install.is_empty() {
            let diff = retvals.get("diff").cloned().unwrap_or(json!(""));
            return Err(Exit::Done(vars(vec![
                ("changed", json!(changed)),
                ("stdout", json!(text("stdout"))),
                ("stderr", json!(text("stderr"))),
                ("diff", diff),
            ])));
        }
        let mut options: Vec<String> = p
            .dpkg_options
            .split(',')
            .map(|o| format!("--{o}"))
            .collect();
        if self.ctx.check {
            options.push("--simulate".into());
        }
        if p.force {
            options.push("--force-all".into());
        }
        let cmd = format!("dpkg {} -i {}", options.join(" "), to_install.join(" "));
        let ran = self.command(&cmd)?;
        let stdout = text("stdout") + &ran.out;
        let stderr = text("stderr") + &ran.err;
        let diff = match retvals.get("diff") {
            Some(Json::Object(d)) => {
                let mut d = d.clone();
                if let Some(Json::String(prepared)) = d.get("prepared") {
                    let joined = format!("{prepared}\n\n{}", ran.out);
                    d.insert("prepared".into(), json!(joined));
                }
                Json::Object(d)
            }
            Some(other) => other.clone(),
            None => parse_diff(&ran.out),
        };
        if ran.rc == 0 {
            Err(Exit::Done(vars(vec![
                ("changed", json!(true)),
                ("stdout", json!(stdout)),
                ("stderr", json!(stderr)),
                ("diff", diff),
            ])))
        } else {
            Err(Exit::Fail(vars(vec![
                ("msg", json!(format!("{cmd} failed"))),
                ("stdout", json!(stdout)),
                ("stderr", json!(stderr)),
            ])))
        }
    }
}

struct InstallOpts {
    upgrade: bool,
    default_release: Option<String>,
    install_recommends: Option<bool>,
    force: bool,
    dpkg_options: String,
    autoremove: bool,
    fail_on_autoremove: bool,
    only_upgrade: bool,
    allow_unauthenticated: bool,
    allow_downgrade: bool,
    allow_change_held_packages: bool,
}

/// `package`: ansible-core's generic action, which runs the module of the
/// host's package manager (`use`, else `ansible_package_use`, else the
/// `pkg_mgr` fact, else the fact found on the host): apt, or dnf (run
/// as a module, without the dnf action's backend selection, as
/// ansible-core does). Another manager fails naming it.
pub struct Package;

impl Module for Package {
    fn params(&self) -> &'static [&'static str] {
        PARAMS
    }

    fn extra_params(&self) -> &'static [&'static str] {
        &["use"]
    }

    /// The arguments are the chosen module's, checked when it runs.
    fn free_args(&self) -> bool {
        true
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let mut manager = args.string(&["use"])?.unwrap_or_else(|| "auto".into());
        if manager == "auto" {
            let configured = ctx
                .templar
                .eval("ansible_package_use")
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .filter(|s| !s.is_empty());
            let fact = || {
                ctx.templar
                    .eval("ansible_facts")
                    .ok()
                    .and_then(|f| f.get("pkg_mgr").and_then(Json::as_str).map(str::to_owned))
                    .filter(|s| !s.is_empty())
            };
            manager = configured
                .or_else(fact)
                .unwrap_or_else(|| crate::facts::pkg_mgr(ctx.target).to_owned());
        }
        let short = manager
            .strip_prefix("ansible.builtin.")
            .or_else(|| manager.strip_prefix("ansible.legacy."))
            .unwrap_or(&manager);
        let mut rest = args.0.clone();
        rest.remove("use");
        if short == "apt" {
            super::check_params(&Apt, "ansible.legacy.apt", &rest)?;
            return Apt.run(ctx, &Args(&rest));
        }
        if short == "dnf" {
            return super::dnf::run_module(ctx, &Args(&rest));
        }
        // ansible-core finds no module named yum, yum4 or dnf4 (yum is
        // only a redirect of the dnf action): those fail as unknown.
        let known = [
            "dnf5",
            "apk",
            "zypper",
            "pacman",
            "portage",
            "pkgng",
            "openbsd_pkg",
        ];
        let msg = if known.contains(&short) {
            format!(
                "The \"{manager}\" package manager is not supported here: rustle's package action runs only apt and dnf."
            )
        } else {
            format!("Could not find a matching action for the \"{manager}\" package manager.")
        };
        Ok(super::action::action_failed(&msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_specs_like_apt_py() {
        assert_eq!(package_split("hello"), ("hello", None, None));
        assert_eq!(
            package_split("hello=2.10*"),
            ("hello", Some("="), Some("2.10*"))
        );
        assert_eq!(
            package_split("hello>=2.0"),
            ("hello", Some(">="), Some("2.0"))
        );
        assert_eq!(package_split("a>b"), ("a>b", None, None));
        assert_eq!(package_split("a=1=2"), ("a", Some("="), Some("1=2")));
    }

    #[test]
    fn expands_dpkg_options() {
        assert_eq!(
            expand_dpkg_options("force-confdef,force-confold"),
            "-o \"Dpkg::Options::=--force-confdef\" -o \"Dpkg::Options::=--force-confold\""
        );
    }

    #[test]
    fn fnmatch_globs() {
        assert!(fnmatch("hello", "hell[o]"));
        assert!(fnmatch("2.10-3", "2.10*"));
        assert!(!fnmatch("2.11-1", "2.10*"));
        assert!(fnmatch("sl", "s?"));
        assert!(!fnmatch("hello", "[!h]ello"));
    }

    #[test]
    fn parses_apt_cache_policy() {
        let out = "hello:\n  Installed: 2.10-3\n  Candidate: 2.10-3\n  Version table:\n \
                   *** 2.10-3 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n        \
                   100 /var/lib/dpkg/status\n     2.9-1 100\n        100 http://x y/main amd64 Packages\n";
        let p = parse_policy(out);
        assert_eq!(p.candidate.as_deref(), Some("2.10-3"));
        assert_eq!(p.versions, ["2.10-3", "2.9-1"]);
        let none =
            parse_policy("mta:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n");
        assert_eq!(none, Policy::default());
        assert_eq!(parse_policy(""), Policy::default());
    }

    #[test]
    fn parses_reverse_provides() {
        let out = "Package: mta\nReverse Provides: \nexim4 4.96 (= )\npostfix 3.7 (= )\nexim4 4.95 (= )\n";
        assert_eq!(parse_providers(out), ["exim4", "postfix"]);
        assert!(parse_providers("Reverse Provides: \n").is_empty());
    }

    #[test]
    fn parses_dpkg_query_status() {
        assert_eq!(
            parse_dpkg_status("install ok installed\t2.10-3\n").as_deref(),
            Some("2.10-3")
        );
        assert_eq!(parse_dpkg_status("deinstall ok config-files\t1.0\n"), None);
        assert_eq!(parse_dpkg_status(""), None);
    }

    #[test]
    fn diff_is_the_prepared_part() {
        let out = "Reading package lists...\nBuilding dependency tree...\nReading state information...\n\
                   The following NEW packages will be installed:\n  hello\n\
                   0 upgraded, 1 newly installed, 0 to remove and 99 not upgraded.\nInst hello\n";
        assert_eq!(
            parse_diff(out),
            json!({"prepared": "The following NEW packages will be installed:\n  hello\n0 upgraded, 1 newly installed, 0 to remove and 99 not upgraded."})
        );
        assert_eq!(parse_diff("a\nb"), json!({"prepared": "a\nb"}));
        assert_eq!(parse_diff(""), json!({"prepared": ""}));
    }

    #[test]
    fn unmet_dependency_groups() {
        let installed = |n: &str| n == "libc6" || n == "libtinfo6";
        assert_eq!(
            unmet_groups(
                "libc6 (>= 2.34), libncurses6 (>= 6) | libncursesw6, libtinfo6",
                &installed
            ),
            ["libncurses6"]
        );
        assert!(unmet_groups("", &installed).is_empty());
    }
}
