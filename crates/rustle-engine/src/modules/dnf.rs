//! `dnf` (and `yum`, which ansible-core 2.19 redirects to it): RPM
//! packages through the system's `dnf` (dnf 4) command-line tool, with the
//! decisions, results and messages of ansible-core's dnf module and the
//! backend selection of its dnf action plugin.
//!
//! The action: `use`/`use_backend` (not both); `auto` and `yum` take the
//! host's `pkg_mgr` fact; anything but yum, yum4, dnf, dnf4 and dnf5 then
//! fails with the action's message (so on a Debian host `dnf:` without
//! `use_backend` fails, as in Ansible). dnf5 fails: it is not here.
//!
//! The module queries, decides, then runs dnf once: installed packages
//! from `rpm -qa` (in `installroot`), what a spec matches from
//! `dnf repoquery` (and `--whatprovides`), then per spec what dnf.py
//! decides (installed, a newer version installed unless
//! `allow_downgrade`, missing: "No package X available."); the
//! transaction `dnf install|remove|upgrade|autoremove --assumeno` would
//! run is read from dnf's transaction table (what check mode reports),
//! and only when there is one, dnf runs it with `-y`; the results are
//! then what `rpm -qa` shows changed. dnf.py's configuration of dnf's Base
//! becomes options: `--config`, `--installroot`, `--releasever`,
//! `--nogpgcheck` / `gpgcheck`, `sslverify`, `--enablerepo` /
//! `--disablerepo`, `--exclude`, `--disableexcludes`, `strict` for
//! `skip_broken`, `best`, `--cacheonly`, `clean_requirements_on_remove`
//! (= `autoremove`), `install_weak_deps`, plugins, `--refresh` for
//! `update_cache`, `--security` / `--bugfix`, `--downloadonly` /
//! `--downloaddir`.
//!
//! Left out, failing with a clear message: `list`, groups and modules
//! (`@name`, `name/profile`), URLs in `name`, and the dnf5 backend.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::action::action_failed;
use super::args::Args;
use super::bin::{Ran, get_bin_path, run_command};
use super::{Module, ModuleCtx, ModuleResult, Outcome};

pub struct Dnf;

/// dnf.py's argument spec (yumdnf's plus `use_backend`), the action's
/// `use` aside.
const PARAMS: &[&str] = &[
    "allow_downgrade",
    "allowerasing",
    "autoremove",
    "best",
    "bugfix",
    "cacheonly",
    "conf_file",
    "disable_excludes",
    "disable_gpg_check",
    "disable_plugin",
    "disablerepo",
    "download_dir",
    "download_only",
    "enable_plugin",
    "enablerepo",
    "exclude",
    "expire-cache",
    "install_repoquery",
    "install_weak_deps",
    "installroot",
    "list",
    "lock_timeout",
    "name",
    "nobest",
    "pkg",
    "releasever",
    "security",
    "skip_broken",
    "sslverify",
    "state",
    "update_cache",
    "update_only",
    "use_backend",
    "validate_certs",
];

const ALIASES: &[&str] = &["expire-cache", "pkg"];

const VALID_BACKENDS: &[&str] = &["yum", "yum4", "dnf", "dnf4", "dnf5"];

const NO_BACKEND: [&str; 2] = [
    "Could not detect which major revision of dnf is in use, which is required to determine module backend.",
    "You should manually specify use_backend to tell the module whether to use the dnf4 or dnf5 backend})",
];

/// What dnf's `detect_releasever` looks for.
const DISTROVERPKG: &[&str] = &[
    "system-release(releasever)",
    "system-release",
    "distribution-release(releasever)",
    "distribution-release",
    "redhat-release",
    "suse-release",
];

impl Module for Dnf {
    fn params(&self) -> &'static [&'static str] {
        PARAMS
    }

    fn extra_params(&self) -> &'static [&'static str] {
        &["use"]
    }

    /// Unknown arguments are refused in `run`, as the module names them
    /// (`ansible.legacy.dnf`, aliases apart).
    fn free_args(&self) -> bool {
        true
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        if args.0.contains_key("use") && args.0.contains_key("use_backend") {
            return Ok(action_failed(
                "parameters are mutually exclusive: ('use', 'use_backend')",
            ));
        }
        let chosen = args
            .string(&["use"])?
            .or(args.string(&["use_backend"])?)
            .unwrap_or_else(|| "auto".into());
        let mut backend = chosen.clone();
        if (backend == "yum" || backend == "auto")
            && let Ok(Json::String(s)) = ctx.templar.eval("ansible_facts.pkg_mgr")
        {
            backend = s;
        }
        let mut facts = None;
        if !VALID_BACKENDS.contains(&backend.as_str()) {
            backend = crate::facts::pkg_mgr(ctx.target).to_owned();
            facts = Some(backend.clone());
        }
        if !VALID_BACKENDS.contains(&backend.as_str()) {
            let mut r = Vars::new();
            if let Some(pkg_mgr) = facts {
                r.insert("ansible_facts".into(), json!({ "pkg_mgr": pkg_mgr }));
            }
            r.insert("changed".into(), json!(false));
            r.insert("failed".into(), json!(true));
            r.insert("msg".into(), json!(NO_BACKEND));
            r.insert(
                "_rustle_error".into(),
                json!(format!(
                    "Task failed: Action failed: ('{}', '{}')",
                    NO_BACKEND[0], NO_BACKEND[1]
                )),
            );
            return Ok(Outcome::new(r));
        }
        if backend == "dnf5" {
            return Ok(Outcome::new(super::result([
                ("changed", json!(false)),
                ("failed", json!(true)),
                (
                    "msg",
                    json!(
                        "The dnf5 backend is not supported by rustle's dnf module (it runs dnf 4); set use_backend: dnf4"
                    ),
                ),
            ])));
        }
        let mut rest = args.0.clone();
        rest.remove("use");
        rest.remove("use_backend");
        run_module(ctx, &Args(&rest))
    }
}

/// The dnf module itself, as the package action runs it (no backend
/// selection; `use_backend` is checked and ignored).
pub(super) fn run_module(ctx: &ModuleCtx, args: &Args) -> ModuleResult {
    if let Some(msg) = unsupported_params(args) {
        return Ok(failed(vars(vec![("msg", json!(msg))])));
    }
    let mut run = Run {
        ctx,
        env: Vec::new(),
        dnf: String::new(),
        rpm: String::new(),
        opts: Vec::new(),
        refresh: std::cell::Cell::new(false),
        warnings: Vec::new(),
    };
    let result = match run.main(args) {
        Ok(r) => r,
        Err(Exit::Done(r)) => r,
        Err(Exit::Fail(r)) => {
            let mut r = failed(r).result;
            if !run.warnings.is_empty() {
                r.insert("warnings".into(), json!(run.warnings));
            }
            return Ok(Outcome::new(r));
        }
    };
    let mut result = result;
    result.entry("changed".to_owned()).or_insert(json!(false));
    if !run.warnings.is_empty() {
        result.insert("warnings".into(), json!(run.warnings));
    }
    Ok(Outcome::new(result))
}

fn failed(mut r: Vars) -> Outcome {
    r.insert("failed".into(), json!(true));
    r.entry("changed".to_owned()).or_insert(json!(false));
    Outcome::new(r)
}

/// AnsibleModule's message for arguments the spec does not have.
fn unsupported_params(args: &Args) -> Option<String> {
    let mut unknown: Vec<&str> = args
        .0
        .keys()
        .map(String::as_str)
        .filter(|k| !PARAMS.contains(k))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    unknown.sort_unstable();
    let names: Vec<&str> = PARAMS
        .iter()
        .copied()
        .filter(|p| !ALIASES.contains(p))
        .collect();
    Some(format!(
        "Unsupported parameters for (ansible.legacy.dnf) module: {}. Supported parameters include: {} ({}).",
        unknown.join(", "),
        names.join(", "),
        ALIASES.join(", ")
    ))
}

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

/// `fail_json(msg=..., results=[])`, as dnf.py's early failures.
fn fail_results(msg: impl Into<String>) -> Exit {
    Exit::Fail(vars(vec![
        ("msg", json!(msg.into())),
        ("results", json!([])),
    ]))
}

fn unsupported(what: &str) -> Exit {
    fail(format!(
        "{what} is not supported by rustle's dnf module (it runs the dnf command-line tool)"
    ))
}

struct Params {
    names: Vec<String>,
    state: String,
    allow_downgrade: bool,
    allowerasing: bool,
    autoremove: bool,
    best: Option<bool>,
    nobest: Option<bool>,
    bugfix: bool,
    security: bool,
    cacheonly: bool,
    conf_file: Option<String>,
    disable_excludes: Option<String>,
    disable_gpg_check: bool,
    disable_plugin: Vec<String>,
    enable_plugin: Vec<String>,
    disablerepo: Vec<String>,
    enablerepo: Vec<String>,
    download_only: bool,
    download_dir: Option<String>,
    exclude: Vec<String>,
    installroot: String,
    install_weak_deps: bool,
    releasever: Option<String>,
    skip_broken: bool,
    sslverify: bool,
    update_cache: bool,
    update_only: bool,
}

/// yumdnf's `listify_comma_sep_strings_in_list`: elements with commas are
/// split (stripped) and moved to the end; `[""]` is empty.
fn listify(items: Vec<String>) -> Vec<String> {
    let (with, mut without): (Vec<String>, Vec<String>) =
        items.into_iter().partition(|e| e.contains(','));
    for e in with {
        without.extend(e.split(',').map(|p| p.trim().to_owned()));
    }
    if without == [""] {
        return Vec::new();
    }
    without
}

impl Params {
    fn read(args: &Args) -> Step<Params> {
        let err = |e: super::ModuleError| fail(e.0);
        let flag = |key: &str, default: bool| args.bool(key, default).map_err(err);
        let optional = |key: &str| -> Step<Option<bool>> {
            match args.get(key) {
                Some(_) => args.bool(key, false).map(Some).map_err(err),
                None => Ok(None),
            }
        };
        // AnsibleModule's list arguments: a string is split at commas.
        let list = |keys: &[&str]| -> Step<Vec<String>> {
            Ok(args.list(keys).map_err(err)?.unwrap_or_default())
        };
        let raw_names: Vec<String> = match args.get("name").or(args.get("pkg")) {
            Some(Json::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Some(_) => list(&["name", "pkg"])?,
            None => Vec::new(),
        };
        let given = |k: &str| args.get(k).is_some();
        if (given("name") || given("pkg")) && given("list") {
            return Err(fail("parameters are mutually exclusive: name|list"));
        }
        if given("best") && given("nobest") {
            return Err(fail("parameters are mutually exclusive: best|nobest"));
        }
        // required_one_of name, list, update_cache: name defaults to [],
        // so AnsibleModule never fails it.
        if let Some(b) = args.string(&["use_backend"]).map_err(err)? {
            let choices = ["auto", "dnf", "yum", "yum4", "dnf4", "dnf5"];
            if !choices.contains(&b.as_str()) {
                return Err(fail(format!(
                    "value of use_backend must be one of: {}, got: {b}",
                    choices.join(", ")
                )));
            }
        }
        let state = args
            .choice(
                "state",
                &["absent", "installed", "latest", "present", "removed"],
            )
            .map_err(err)?;
        let autoremove = flag("autoremove", false)?;
        let update_cache = match args.get("update_cache") {
            Some(_) => flag("update_cache", false)?,
            None => flag("expire-cache", false)?,
        };
        let names = listify(raw_names.iter().map(|n| n.trim().to_owned()).collect());
        for name in &names {
            if name.contains(' ') && !["@", ">", "<", "="].iter().any(|s| name.contains(s)) {
                return Err(fail(
                    "It appears that a space separated string of packages was passed in as an argument. To operate on several packages, pass a comma separated string of packages or a list of packages.",
                ));
            }
        }
        let state = match state {
            Some(s) => s,
            None if autoremove => "absent".into(),
            None => "present".into(),
        };
        if autoremove && state != "absent" {
            return Err(fail_results(
                "Autoremove should be used alone or with state=absent",
            ));
        }
        args.int("lock_timeout").map_err(err)?;
        flag("install_repoquery", true)?;
        flag("validate_certs", true)?;
        Ok(Params {
            names,
            state,
            allow_downgrade: flag("allow_downgrade", false)?,
            allowerasing: flag("allowerasing", false)?,
            autoremove,
            best: optional("best")?,
            nobest: optional("nobest")?,
            bugfix: flag("bugfix", false)?,
            security: flag("security", false)?,
            cacheonly: flag("cacheonly", false)?,
            conf_file: args.string(&["conf_file"]).map_err(err)?,
            disable_excludes: args.string(&["disable_excludes"]).map_err(err)?,
            disable_gpg_check: flag("disable_gpg_check", false)?,
            disable_plugin: list(&["disable_plugin"])?,
            enable_plugin: list(&["enable_plugin"])?,
            disablerepo: listify(list(&["disablerepo"])?),
            enablerepo: listify(list(&["enablerepo"])?),
            download_only: flag("download_only", false)?,
            download_dir: args.string(&["download_dir"]).map_err(err)?,
            exclude: listify(list(&["exclude"])?),
            installroot: args
                .string(&["installroot"])
                .map_err(err)?
                .unwrap_or_else(|| "/".into()),
            install_weak_deps: flag("install_weak_deps", true)?,
            releasever: args.string(&["releasever"]).map_err(err)?,
            skip_broken: flag("skip_broken", false)?,
            sslverify: flag("sslverify", true)?,
            update_cache,
            update_only: flag("update_only", false)?,
        })
    }
}

/// An installed or available package.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pkg {
    name: String,
    epoch: u64,
    version: String,
    release: String,
    arch: String,
    repo: String,
}

impl Pkg {
    /// `name|epoch|version|release|arch|repo`, as the queries print it.
    fn parse(line: &str) -> Option<Pkg> {
        let f: Vec<&str> = line.trim().split('|').collect();
        if f.len() < 5 {
            return None;
        }
        Some(Pkg {
            name: f[0].to_owned(),
            epoch: f[1].parse().unwrap_or(0),
            version: f[2].to_owned(),
            release: f[3].to_owned(),
            arch: f[4].to_owned(),
            repo: f.get(5).copied().unwrap_or("@System").to_owned(),
        })
    }

    fn evr(&self) -> String {
        match self.epoch {
            0 => format!("{}-{}", self.version, self.release),
            e => format!("{e}:{}-{}", self.version, self.release),
        }
    }

    /// hawkey's `str(package)`: name-[epoch:]version-release.arch.
    fn nevra(&self) -> String {
        format!("{}-{}.{}", self.name, self.evr(), self.arch)
    }

    fn same_nevra(&self, other: &Pkg) -> bool {
        self.name == other.name
            && self.epoch == other.epoch
            && self.version == other.version
            && self.release == other.release
            && self.arch == other.arch
    }

    fn evr_cmp(&self, other: &Pkg) -> std::cmp::Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| rpmvercmp(&self.release, &other.release))
    }
}

const RPM_QF: &str = "%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{ARCH}\\n";
const DNF_QF: &str = "%{name}|%{epoch}|%{version}|%{release}|%{arch}|%{repoid}";

/// rpm's `rpmvercmp`: alternating digit and letter segments, `~` sorts
/// before anything, `^` after the end.
pub(crate) fn rpmvercmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::{Equal, Greater, Less};
    if a == b {
        return Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Greater;
            }
            if cb != Some(b'~') {
                return Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Less;
            }
            if cb.is_none() {
                return Greater;
            }
            if ca != Some(b'^') {
                return Greater;
            }
            if cb != Some(b'^') {
                return Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        let numeric = ca.is_ascii_digit();
        let class = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (si, sj) = (i, j);
        while i < a.len() && class(a[i]) {
            i += 1;
        }
        while j < b.len() && class(b[j]) {
            j += 1;
        }
        if sj == j {
            return if numeric { Greater } else { Less };
        }
        let (mut x, mut y) = (&a[si..i], &b[sj..j]);
        if numeric {
            while x.first() == Some(&b'0') {
                x = &x[1..];
            }
            while y.first() == Some(&b'0') {
                y = &y[1..];
            }
            match x.len().cmp(&y.len()) {
                Equal => {}
                other => return other,
            }
        }
        match x.cmp(y) {
            Equal => {}
            other => return other,
        }
    }
    match (i < a.len(), j < b.len()) {
        (false, false) => Equal,
        (true, _) => Greater,
        _ => Less,
    }
}

/// dnf's `is_glob_pattern`.
fn is_glob(spec: &str) -> bool {
    spec.contains(['*', '[', '?'])
}

/// The packages of dnf's transaction table (`--assumeno` output):
/// (installed, removed) NEVRAs, or `None` when there is no transaction.
fn parse_transaction(out: &str, installed: &[Pkg]) -> Option<(Vec<String>, Vec<String>)> {
    if !out.contains("\nTransaction Summary") && !out.starts_with("Transaction Summary") {
        return None;
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Install,
        Replace,
        Reinstall,
        Remove,
        Other,
    }
    let table = out.split("\nTransaction Summary").next().unwrap_or("");
    let (mut ins, mut rem) = (Vec::new(), Vec::new());
    let mut kind = None;
    let mut pending: Vec<String> = Vec::new();
    for line in table.lines() {
        if line.starts_with('=') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            pending.clear();
            kind = line.strip_suffix(':').map(|h| {
                if h.starts_with("Installing") {
                    Kind::Install
                } else if h.starts_with("Upgrading") || h.starts_with("Downgrading") {
                    Kind::Replace
                } else if h.starts_with("Reinstalling") {
                    Kind::Reinstall
                } else if h.starts_with("Removing") {
                    Kind::Remove
                } else {
                    Kind::Other
                }
            });
            continue;
        }
        let Some(k) = kind else { continue };
        pending.extend(line.split_whitespace().map(str::to_owned));
        if pending.first().map(String::as_str) == Some("replacing") {
            if pending.len() < 3 {
                continue;
            }
            if let Some((name, arch)) = pending[1].rsplit_once('.') {
                rem.push(format!("{name}-{}.{arch}", pending[2]));
            }
            pending.clear();
            continue;
        }
        // name arch evr repo size...; a long name is wrapped alone.
        if pending.len() < 4 {
            continue;
        }
        let (name, arch, evr) = (&pending[0], &pending[1], &pending[2]);
        let nevra = format!("{name}-{evr}.{arch}");
        match k {
            Kind::Install => ins.push(nevra),
            Kind::Replace => {
                ins.push(nevra);
                for old in installed
                    .iter()
                    .filter(|p| &p.name == name && &p.arch == arch)
                {
                    rem.push(old.nevra());
                }
            }
            Kind::Reinstall => {
                ins.push(nevra.clone());
                rem.push(nevra);
            }
            Kind::Remove => rem.push(nevra),
            Kind::Other => {}
        }
        pending.clear();
    }
    ins.sort();
    ins.dedup();
    rem.sort();
    rem.dedup();
    Some((ins, rem))
}

struct Run<'a> {
    ctx: &'a ModuleCtx<'a>,
    env: Vec<(String, String)>,
    dnf: String,
    /// rpm's path (it comes with dnf).
    rpm: String,
    /// The options every dnf command gets (dnf.py's Base configuration).
    opts: Vec<String>,
    /// `--refresh` (update_cache) for the first dnf command only.
    refresh: std::cell::Cell<bool>,
    warnings: Vec<String>,
}

impl Run<'_> {
    fn exec(&self, argv: Vec<String>) -> Step<Ran> {
        run_command(self.ctx, &self.env, argv).map_err(fail)
    }

    /// `dnf OPTIONS... ARGS...`.
    fn dnf(&self, args: &[&str]) -> Step<Ran> {
        let mut argv = vec![self.dnf.clone()];
        argv.extend(self.opts.iter().cloned());
        if self.refresh.replace(false) {
            argv.push("--refresh".into());
        }
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        self.exec(argv)
    }

    fn rpm(&self, p: &Params, args: &[&str]) -> Step<Ran> {
        let mut argv = vec![self.rpm.clone()];
        if p.installroot != "/" {
            argv.push("--root".into());
            argv.push(p.installroot.clone());
        }
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        self.exec(argv)
    }

    fn installed(&self, p: &Params) -> Step<Vec<Pkg>> {
        let ran = self.rpm(p, &["-qa", "--qf", RPM_QF])?;
        Ok(ran
            .out
            .lines()
            .filter_map(Pkg::parse)
            .filter(|p| p.name != "gpg-pubkey")
            .collect())
    }

    /// What `spec` matches in the repositories and the rpmdb, as
    /// `dnf repoquery` reports it (`--whatprovides` when `provides`).
    fn repoquery(&self, spec: &str, extra: &[&str]) -> Step<Vec<Pkg>> {
        let mut args = vec!["repoquery", "-q", "--qf", DNF_QF];
        args.extend_from_slice(extra);
        args.push(spec);
        let ran = self.dnf(&args)?;
        if ran.rc != 0 {
            return Err(Exit::Fail(vars(vec![
                ("msg", json!(clean_errors(&ran.err))),
                ("results", json!([])),
                ("rc", json!(1)),
            ])));
        }
        Ok(ran.out.lines().filter_map(Pkg::parse).collect())
    }

    fn main(&mut self, args: &Args) -> Step<Vars> {
        let p = Params::read(args)?;
        if args.get("list").is_some() {
            return Err(unsupported("list"));
        }
        for name in &p.names {
            if name.contains("://") {
                return Err(unsupported("A URL in name"));
            }
            if !name.ends_with(".rpm")
                && !name.starts_with('/')
                && (name.starts_with('@') || name.contains('/'))
            {
                return Err(unsupported("A group or module in name"));
            }
        }
        self.dnf = get_bin_path(self.ctx.target, "dnf", &[]).ok_or_else(|| {
            fail(format!(
                "Failed to find required executable \"dnf\" in paths: {}",
                super::bin::searched_path(&[])
            ))
        })?;
        self.rpm = get_bin_path(self.ctx.target, "rpm", &[]).unwrap_or_else(|| "rpm".into());
        let locale = super::bin::best_parsable_locale(self.ctx);
        self.env = ["LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE"]
            .iter()
            .map(|k| ((*k).to_owned(), locale.clone()))
            .collect();

        if p.update_cache && p.names.is_empty() {
            self.configure(&p)?;
            let ran = self.dnf(&["makecache"])?;
            if ran.rc != 0 {
                return Err(Exit::Fail(vars(vec![
                    ("msg", json!(clean_errors(&ran.err))),
                    ("results", json!([])),
                    ("rc", json!(1)),
                ])));
            }
            return Ok(vars(vec![
                ("msg", json!("Cache updated")),
                ("changed", json!(false)),
                ("results", json!([])),
                ("rc", json!(0)),
            ]));
        }
        if !p.download_only {
            let uid = self.exec(vec!["id".into(), "-u".into()])?;
            if uid.out.trim() != "0" {
                return Err(fail_results(
                    "This command has to be run under the root user.",
                ));
            }
        }
        self.configure(&p)?;
        self.ensure(&p)
    }

    /// dnf.py's `_configure_base`/`_base`, as dnf options.
    fn configure(&mut self, p: &Params) -> Step<()> {
        let mut o: Vec<String> = Vec::new();
        if let Some(conf) = &p.conf_file {
            if self.ctx.target.read_file(conf).is_err() {
                return Err(Exit::Fail(vars(vec![
                    ("msg", json!("cannot read configuration file")),
                    ("conf_file", json!(conf)),
                    ("results", json!([])),
                ])));
            }
            o.push(format!("--config={conf}"));
        }
        if p.installroot != "/" {
            o.push(format!("--installroot={}", p.installroot));
        }
        let gpg = if p.disable_gpg_check { "0" } else { "1" };
        o.push(format!("--setopt=gpgcheck={gpg}"));
        o.push(format!("--setopt=localpkg_gpgcheck={gpg}"));
        if p.disable_gpg_check {
            o.push("--nogpgcheck".into());
        }
        o.push(format!("--setopt=sslverify={}", u8::from(p.sslverify)));
        for e in &p.exclude {
            o.push(format!("--exclude={e}"));
        }
        if let Some(d) = &p.disable_excludes {
            o.push(format!("--disableexcludes={d}"));
        }
        match &p.releasever {
            Some(r) => o.push(format!("--releasever={r}")),
            None => {
                if !self.releasever_known(p)? {
                    self.warnings.push(
                        "Unable to detect release version (use \"releasever\" option to specify release version)"
                            .into(),
                    );
                }
            }
        }
        if p.skip_broken {
            o.push("--setopt=strict=0".into());
        }
        match (p.nobest, p.best) {
            (Some(nobest), _) => o.push(format!("--setopt=best={}", u8::from(!nobest))),
            (None, Some(best)) => o.push(format!("--setopt=best={}", u8::from(best))),
            _ => {}
        }
        if p.download_only {
            o.push("--downloadonly".into());
            if let Some(d) = &p.download_dir {
                o.push(format!("--downloaddir={d}"));
            }
        }
        if p.cacheonly {
            o.push("--cacheonly".into());
        }
        o.push(format!(
            "--setopt=clean_requirements_on_remove={}",
            u8::from(p.autoremove)
        ));
        o.push(format!(
            "--setopt=install_weak_deps={}",
            u8::from(p.install_weak_deps)
        ));
        for plugin in &p.disable_plugin {
            o.push(format!("--disableplugin={plugin}"));
        }
        for plugin in &p.enable_plugin {
            o.push(format!("--enableplugin={plugin}"));
        }
        for repo in p.disablerepo.iter().filter(|r| !r.is_empty()) {
            o.push(format!("--disablerepo={repo}"));
        }
        for repo in p.enablerepo.iter().filter(|r| !r.is_empty()) {
            o.push(format!("--enablerepo={repo}"));
        }
        if p.security {
            o.push("--security".into());
        }
        if p.bugfix {
            o.push("--bugfix".into());
        }
        self.opts = o;
        self.refresh.set(p.update_cache);
        Ok(())
    }

    /// Whether dnf.py's Base knows `$releasever`: from the host's rpmdb
    /// (`detect_releasever("/")`) or the installroot's vars directories.
    fn releasever_known(&self, p: &Params) -> Step<bool> {
        let root = p.installroot.trim_end_matches('/');
        for dir in ["/etc/dnf/vars", "/etc/yum/vars"] {
            let path = format!("{root}{dir}/releasever");
            if matches!(self.ctx.target.stat(&path, true), Ok(Some(_))) {
                return Ok(true);
            }
        }
        let mut argv = vec![self.rpm.clone(), "-q".into(), "--whatprovides".into()];
        argv.extend(DISTROVERPKG.iter().map(|s| (*s).to_owned()));
        let ran = self.exec(argv)?;
        Ok(ran
            .out
            .lines()
            .any(|l| !l.trim().is_empty() && !l.starts_with("no package provides")))
    }

    /// dnf.py's `ensure`.
    fn ensure(&self, p: &Params) -> Step<Vars> {
        let mut results: Vec<String> = Vec::new();
        let mut failures: Vec<String> = Vec::new();
        let before = self.installed(p)?;
        let mut state = p.state.as_str();
        if p.names.is_empty() && p.autoremove {
            state = "absent";
        }
        let command: &str;
        let mut items: Vec<String> = Vec::new();
        if p.names == ["*"] && state == "latest" {
            command = "upgrade";
        } else {
            let (pkg_specs, filenames) = self.parse_specs(p, &before)?;
            match state {
                "installed" | "present" | "latest" => {
                    command = "install";
                    items.extend(self.remote_rpms(p, &filenames, &before)?);
                    for f in &filenames {
                        results.push(format!("Installed {f}"));
                    }
                    let upgrade = state == "latest";
                    for spec in &pkg_specs {
                        match self.mark_install(p, spec, upgrade, &before)? {
                            Mark::Nothing => {}
                            Mark::Install(more) => items.extend(more),
                            Mark::NotInstalled => results.push(format!(
                                "Packages providing {spec} not installed due to update_only specified"
                            )),
                            Mark::Missing => {
                                failures.push(format!("No package {spec} available."))
                            }
                            Mark::Failed(failure) => failures.push(failure),
                        }
                    }
                }
                _ => {
                    if !filenames.is_empty() {
                        return Err(fail_results(
                            "Cannot remove paths -- please specify package name.",
                        ));
                    }
                    command = if p.autoremove && pkg_specs.is_empty() {
                        "autoremove"
                    } else {
                        "remove"
                    };
                    for spec in &pkg_specs {
                        if !self.repoquery(spec, &["--installed"])?.is_empty() {
                            items.push(spec.clone());
                        } else if self
                            .repoquery(spec, &["--installed", "--disableexcludes=all"])?
                            .is_empty()
                        {
                            results.push(format!("No match for argument: {spec}"));
                        } else {
                            results.push(format!(
                                "All matches were filtered out by exclude filtering for argument: {spec}"
                            ));
                        }
                    }
                }
            }
        }
        let fail_some = |failures: Vec<String>| {
            Exit::Fail(vars(vec![
                (
                    "msg",
                    json!("Failed to install some of the specified packages"),
                ),
                ("failures", json!(failures)),
                ("results", json!([])),
                ("rc", json!(1)),
            ]))
        };
        let nothing = |results: Vec<String>| {
            Exit::Done(vars(vec![
                ("msg", json!("Nothing to do")),
                ("changed", json!(false)),
                ("results", json!(results)),
                ("rc", json!(0)),
            ]))
        };
        let mut steps: Vec<Vec<String>> = Vec::new();
        match command {
            "upgrade" | "autoremove" => steps.push(vec![command.to_owned()]),
            _ if !items.is_empty() => {
                let mut step = vec![command.to_owned()];
                if p.allowerasing && command == "install" {
                    step.push("--allowerasing".into());
                }
                step.extend(items.iter().cloned());
                steps.push(step);
                // Removing with autoremove: then every unneeded leaf.
                if command == "remove" && p.autoremove {
                    steps.push(vec!["autoremove".into()]);
                }
            }
            _ => {}
        }
        if steps.is_empty() {
            if !failures.is_empty() {
                return Err(fail_some(failures));
            }
            return Err(nothing(results));
        }
        // What dnf would do: the transaction table of `--assumeno`.
        let (mut ins, mut rem) = (Vec::new(), Vec::new());
        for step in &steps {
            let mut argv: Vec<&str> = vec!["--assumeno"];
            argv.extend(step.iter().map(String::as_str));
            let ran = self.dnf(&argv)?;
            match parse_transaction(&ran.out, &before) {
                Some((i, r)) => {
                    ins.extend(i);
                    rem.extend(r);
                }
                None if ran.rc != 0 && !ran.out.contains("Nothing to do") => {
                    if !failures.is_empty() {
                        return Err(fail_some(failures));
                    }
                    let errors = clean_errors(&ran.err);
                    return Err(Exit::Fail(vars(vec![
                        ("msg", json!(format!("Depsolve Error occurred: {errors}"))),
                        ("failures", json!([])),
                        ("results", json!([])),
                        ("rc", json!(1)),
                    ])));
                }
                None => {}
            }
        }
        if ins.is_empty() && rem.is_empty() {
            if !failures.is_empty() {
                return Err(fail_some(failures));
            }
            return Err(nothing(results));
        }
        if !failures.is_empty() {
            return Err(fail_some(failures));
        }
        let action = if p.download_only {
            "Downloaded"
        } else {
            "Installed"
        };
        let mut predicted = results.clone();
        predicted.extend(ins.iter().map(|n| format!("{action}: {n}")));
        predicted.extend(rem.iter().map(|n| format!("Removed: {n}")));
        if self.ctx.check {
            return Ok(vars(vec![
                (
                    "msg",
                    json!("Check mode: No changes made, but would have if not in check mode"),
                ),
                ("changed", json!(true)),
                ("results", json!(predicted)),
                ("rc", json!(0)),
            ]));
        }
        for step in &steps {
            let mut argv: Vec<&str> = vec!["-y"];
            argv.extend(step.iter().map(String::as_str));
            let ran = self.dnf(&argv)?;
            if ran.rc != 0 {
                let mut output = clean_errors(&ran.err);
                if output.is_empty() {
                    output = ran.out.trim().to_owned();
                }
                return Err(fail_some(vec![output]));
            }
        }
        if p.download_only {
            results = predicted;
        } else {
            let after = self.installed(p)?;
            let gone = |a: &[Pkg], b: &[Pkg]| -> Vec<String> {
                let mut v: Vec<String> = a
                    .iter()
                    .filter(|x| !b.iter().any(|y| x.same_nevra(y)))
                    .map(Pkg::nevra)
                    .collect();
                v.sort();
                v.dedup();
                v
            };
            let (added, removed) = (gone(&after, &before), gone(&before, &after));
            if added.is_empty() && removed.is_empty() {
                results = predicted;
            } else {
                results.extend(added.iter().map(|n| format!("Installed: {n}")));
                results.extend(removed.iter().map(|n| format!("Removed: {n}")));
            }
        }
        Ok(vars(vec![
            ("msg", json!("")),
            ("changed", json!(true)),
            ("results", json!(results)),
            ("rc", json!(0)),
        ]))
    }

    /// dnf.py's `_parse_spec_group_file` (groups and URLs refused before):
    /// package specs and local rpm files.
    fn parse_specs(&self, p: &Params, installed: &[Pkg]) -> Step<(Vec<String>, Vec<String>)> {
        let (mut specs, mut files) = (Vec::new(), Vec::new());
        for name in &p.names {
            if name.ends_with(".rpm") {
                files.push(name.trim().to_owned());
            } else if name.starts_with('/') {
                // `dnf install /usr/bin/vi`: an installed owner by name.
                let ran = self.rpm(p, &["-q", "--qf", "%{NAME}\\n", "-f", name])?;
                let owner = ran
                    .out
                    .lines()
                    .next()
                    .map(str::trim)
                    .filter(|n| ran.rc == 0 && installed.iter().any(|p| p.name == *n));
                match owner {
                    Some(owner) => specs.push(owner.to_owned()),
                    None if !p.update_only => specs.push(name.trim().to_owned()),
                    None => {}
                }
            } else {
                specs.push(name.trim().to_owned());
            }
        }
        Ok((specs, files))
    }

    /// dnf.py's `_install_remote_rpms`: the files to install (those a
    /// newer installed version does not shadow, unless allow_downgrade).
    fn remote_rpms(&self, p: &Params, files: &[String], installed: &[Pkg]) -> Step<Vec<String>> {
        let mut out = Vec::new();
        for file in files {
            let ran = self.exec(vec![
                self.rpm.clone(),
                "-qp".into(),
                "--qf".into(),
                RPM_QF.into(),
                file.clone(),
            ])?;
            let pkg = match ran.out.lines().find_map(Pkg::parse) {
                Some(pkg) if ran.rc == 0 => pkg,
                _ => {
                    return Err(Exit::Fail(vars(vec![
                        (
                            "msg",
                            json!(format!(
                                "Error occurred attempting remote rpm operation: {}",
                                clean_errors(&ran.err)
                            )),
                        ),
                        ("results", json!([])),
                        ("rc", json!(1)),
                    ])));
                }
            };
            let same: Vec<&Pkg> = installed
                .iter()
                .filter(|i| i.name == pkg.name && i.arch == pkg.arch)
                .collect();
            if p.update_only && same.is_empty() {
                continue;
            }
            let newer = same
                .iter()
                .any(|i| i.evr_cmp(&pkg) == std::cmp::Ordering::Greater);
            if newer && !p.allow_downgrade {
                continue;
            }
            out.push(file.clone());
        }
        Ok(out)
    }

    /// dnf.py's `_mark_package_install` (and `_update_only`).
    fn mark_install(&self, p: &Params, spec: &str, upgrade: bool, installed: &[Pkg]) -> Step<Mark> {
        let mut matches = self.repoquery(spec, &[])?;
        let by_name = !matches.is_empty();
        if matches.is_empty() {
            matches = self.repoquery(spec, &["--whatprovides"])?;
        }
        let is_installed = |m: &Pkg| installed.iter().any(|i| i.same_nevra(m));
        let mut installed_matches: Vec<&Pkg> = installed
            .iter()
            .filter(|i| matches.iter().any(|m| m.same_nevra(i)))
            .collect();
        // Installed packages no repository has: repoquery names @System.
        installed_matches.extend(matches.iter().filter(|m| m.repo == "@System"));
        installed_matches.dedup_by(|a, b| a.same_nevra(b));
        if p.update_only {
            if installed_matches.is_empty() {
                return Ok(Mark::NotInstalled);
            }
            return Ok(self.upgrade_target(&matches, &installed_matches, is_installed));
        }
        if matches.is_empty() {
            // An installed package the excludes hide: installed for dnf.py
            // (nothing to do), but dnf refuses to upgrade it.
            let hidden = self.repoquery(spec, &["--installed", "--disableexcludes=all"])?;
            if !hidden.is_empty() {
                return Ok(if upgrade {
                    Mark::Failed(format!(
                        "{spec} All matches were filtered out by exclude filtering for argument: {spec}"
                    ))
                } else {
                    Mark::Nothing
                });
            }
            return Ok(if p.skip_broken {
                Mark::Nothing
            } else {
                Mark::Missing
            });
        }
        if is_glob(spec) {
            // Installed matches are upgraded, the others installed.
            let mut more = vec![spec.to_owned()];
            if upgrade
                && let Mark::Install(targets) =
                    self.upgrade_target(&matches, &installed_matches, is_installed)
            {
                more.extend(targets);
            }
            return Ok(Mark::Install(more));
        }
        // `_is_newer_version_installed`: a spec with a version whose
        // package has a newer installed version.
        let first = &matches[0];
        if by_name && first.name != spec {
            let newer = installed
                .iter()
                .filter(|i| i.name == first.name)
                .any(|i| i.evr_cmp(first) == std::cmp::Ordering::Greater);
            if newer {
                return Ok(if p.allow_downgrade {
                    Mark::Install(vec![spec.to_owned()])
                } else {
                    Mark::Nothing
                });
            }
        }
        if !installed_matches.is_empty() {
            if upgrade {
                return Ok(self.upgrade_target(&matches, &installed_matches, is_installed));
            }
            return Ok(Mark::Nothing);
        }
        Ok(Mark::Install(vec![spec.to_owned()]))
    }

    /// `base.upgrade(spec)`: for each installed match, the best available
    /// version matching the spec when newer, as exact NEVRAs to install.
    fn upgrade_target(
        &self,
        matches: &[Pkg],
        installed: &[&Pkg],
        is_installed: impl Fn(&Pkg) -> bool,
    ) -> Mark {
        let mut targets = Vec::new();
        for old in installed {
            let best = matches
                .iter()
                .filter(|m| m.name == old.name && !is_installed(m) && m.repo != "@System")
                .filter(|m| m.arch == old.arch || m.arch == "noarch" || old.arch == "noarch")
                .max_by(|a, b| a.evr_cmp(b));
            if let Some(best) = best
                && best.evr_cmp(old) == std::cmp::Ordering::Greater
            {
                targets.push(best.nevra());
            }
        }
        targets.sort();
        targets.dedup();
        if targets.is_empty() {
            Mark::Nothing
        } else {
            Mark::Install(targets)
        }
    }
}

enum Mark {
    Nothing,
    /// Specs (or exact NEVRAs, for upgrades) for `dnf install`.
    Install(Vec<String>),
    NotInstalled,
    Missing,
    /// A failure as dnf.py words it.
    Failed(String),
}

/// dnf's error output without its notices (release version, metadata age).
fn clean_errors(err: &str) -> String {
    err.lines()
        .filter(|l| {
            !l.starts_with("Unable to detect release version")
                && !l.starts_with("Last metadata expiration check")
        })
        .map(|l| l.strip_prefix("Error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::{Equal, Greater, Less};

    #[test]
    fn dnf_compares_versions_like_rpm() {
        assert_eq!(rpmvercmp("1.0", "1.0"), Equal);
        assert_eq!(rpmvercmp("1.1", "1.0"), Greater);
        assert_eq!(rpmvercmp("1.10", "1.9"), Greater);
        assert_eq!(rpmvercmp("1.0~rc1", "1.0"), Less);
        assert_eq!(rpmvercmp("1.0^git1", "1.0"), Greater);
        assert_eq!(rpmvercmp("1.0a", "1.0"), Greater);
        assert_eq!(rpmvercmp("1.0", "1.0a"), Less);
        assert_eq!(rpmvercmp("1.a", "1.1"), Less);
        assert_eq!(rpmvercmp("001", "1"), Equal);
        assert_eq!(rpmvercmp("2.0.1", "2.0"), Greater);
    }

    #[test]
    fn dnf_reads_the_transaction_table() {
        let installed = vec![Pkg::parse("rustle-hello|0|1.0|1|noarch").unwrap()];
        let out = "Dependencies resolved.\n\
            ================================================================================\n \
            Package              Architecture   Version          Repository           Size\n\
            ================================================================================\n\
            Upgrading:\n \
            rustle-hello         noarch         1.1-1            rustle-test         6.0 k\n\
            Installing dependencies:\n \
            a-very-long-package-name-that-wraps-the-column\n \
                                 x86_64         2:3.0-1          rustle-test          10 k\n\
            \n\
            Transaction Summary\n\
            ================================================================================\n\
            Upgrade  1 Package\n";
        let (ins, rem) = parse_transaction(out, &installed).unwrap();
        assert_eq!(
            ins,
            [
                "a-very-long-package-name-that-wraps-the-column-2:3.0-1.x86_64",
                "rustle-hello-1.1-1.noarch"
            ]
        );
        assert_eq!(rem, ["rustle-hello-1.0-1.noarch"]);
        assert_eq!(
            parse_transaction("Nothing to do.\nComplete!\n", &installed),
            None
        );
    }

    #[test]
    fn dnf_listifies_comma_separated_names() {
        let l = |v: &[&str]| listify(v.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(l(&["a,b", "c"]), ["c", "a", "b"]);
        assert!(l(&[""]).is_empty());
        assert_eq!(l(&["a"]), ["a"]);
    }

    #[test]
    fn dnf_names_unknown_parameters_like_ansible() {
        let mut args = Vars::new();
        args.insert("name".into(), json!("x"));
        args.insert("foo".into(), json!(1));
        let msg = unsupported_params(&Args(&args)).unwrap();
        assert!(msg.starts_with("Unsupported parameters for (ansible.legacy.dnf) module: foo. Supported parameters include: allow_downgrade, allowerasing,"));
        assert!(msg.ends_with("use_backend, validate_certs (expire-cache, pkg)."));
    }
}
