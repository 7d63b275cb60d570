//! `cron`: a port of ansible-core's cron.py. It manages named jobs (a
//! `#Ansible: <name>` marker line followed by the job line) and environment
//! variables (`NAME="value"` lines, on top or after/before another one) in
//! a user's crontab (read with `crontab -l`, installed with `crontab -`,
//! `-u user` when it is another user) or in a `cron_file` (an absolute path
//! or a name under /etc/cron.d; removed when its last job goes). It keeps
//! cron.py's quirks: the three header lines `crontab -l` may print are
//! dropped, a job line without a marker is adopted, every job with the
//! name is rewritten, a missing final newline counts as a change, `backup`
//! copies the crontab to a `crontab*` temporary file kept only when
//! something changed, and the `diff` is the crontab text before and after.
//! Warnings and failure messages are cron.py's.
//!
//! Left out: the Solaris, AIX and HP-UX ways of reading and writing other
//! users' crontabs and SELinux contexts of cron files. A user crontab is
//! installed from stdin (`crontab -`) rather than from a temporary file, so
//! a failed install names `-` where cron.py names its temporary file.

use regex::Regex;
use rustle_format::Vars;
use serde_json::json;

use super::args::expand_user;
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::{ExecRequest, FileKind};

pub struct Cron;

const MARKER: &str = "#Ansible: ";

impl Module for Cron {
    fn params(&self) -> &'static [&'static str] {
        &[
            "name",
            "user",
            "job",
            "value",
            "cron_file",
            "state",
            "backup",
            "minute",
            "hour",
            "day",
            "dom",
            "month",
            "weekday",
            "dow",
            "special_time",
            "disabled",
            "env",
            "insertafter",
            "insertbefore",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let p = Params::read(ctx, args)?;
        let mut run = Run {
            ctx,
            warnings: Vec::new(),
        };
        match run.main(&p) {
            Ok(outcome) => Ok(outcome),
            Err(Failure(mut r)) => {
                r.insert("changed".into(), json!(false));
                r.insert("failed".into(), json!(true));
                if !run.warnings.is_empty() {
                    r.insert("warnings".into(), json!(run.warnings));
                }
                Ok(Outcome::new(r))
            }
        }
    }
}

/// The module's arguments, with cron.py's defaults.
struct Params {
    name: String,
    user: Option<String>,
    job: Option<String>,
    cron_file: Option<String>,
    present: bool,
    state: String,
    backup: bool,
    when: [String; 5],
    special_time: Option<String>,
    disabled: bool,
    env: bool,
    insertafter: Option<String>,
    insertbefore: Option<String>,
}

impl Params {
    fn read(ctx: &ModuleCtx, args: &Args) -> Result<Params, ModuleError> {
        args.exclusive("insertafter", "insertbefore")?;
        let state = args
            .choice("state", &["present", "absent"])?
            .unwrap_or_else(|| "present".to_owned());
        let field = |keys: &[&str]| -> Result<String, ModuleError> {
            Ok(args.string(keys)?.unwrap_or_else(|| "*".to_owned()))
        };
        Ok(Params {
            name: args.required(&["name"])?,
            user: args.string(&["user"])?.filter(|u| !u.is_empty()),
            job: args.string(&["job", "value"])?,
            cron_file: args
                .string(&["cron_file"])?
                .filter(|f| !f.is_empty())
                .map(|f| expand_user(&f, || ctx.target.home())),
            present: state == "present",
            state,
            backup: args.bool("backup", false)?,
            when: [
                field(&["minute"])?,
                field(&["hour"])?,
                field(&["day", "dom"])?,
                field(&["month"])?,
                field(&["weekday", "dow"])?,
            ],
            special_time: args.choice(
                "special_time",
                &[
                    "reboot", "yearly", "annually", "monthly", "weekly", "daily", "hourly",
                ],
            )?,
            disabled: args.bool("disabled", false)?,
            env: args.bool("env", false)?,
            insertafter: args.string(&["insertafter"])?,
            insertbefore: args.string(&["insertbefore"])?,
        })
    }
}

/// A `fail_json`: the result's keys besides `failed` and `changed`.
struct Failure(Vars);

fn fail(msg: impl Into<String>) -> Failure {
    let mut r = Vars::new();
    r.insert("msg".into(), json!(msg.into()));
    Failure(r)
}

impl From<ModuleError> for Failure {
    fn from(err: ModuleError) -> Failure {
        fail(err.0)
    }
}

struct Run<'a, 'c> {
    ctx: &'a ModuleCtx<'c>,
    warnings: Vec<String>,
}

impl Run<'_, '_> {
    fn exec(&self, argv: &[&str], stdin: Option<&[u8]>) -> Result<(i32, String, String), Failure> {
        let mut req = ExecRequest::new(argv.iter().copied());
        req.stdin = stdin.map(<[u8]>::to_vec);
        req.env = self.ctx.env.to_vec();
        let out = self
            .ctx
            .target
            .exec(&req)
            .map_err(|e| fail(format!("{}: {e}", argv.join(" "))))?;
        Ok((
            out.rc,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// `get_bin_path('crontab', required=True)`, and the name of the user
    /// the module runs as (to know when `-u` is needed).
    fn probe(&self) -> Result<String, Failure> {
        let script = "for d in /sbin /usr/sbin /usr/local/sbin; do \
             case \":$PATH:\" in *\":$d:\"*) ;; *) [ -e \"$d\" ] && PATH=\"$PATH:$d\";; esac; \
             done; command -v crontab >/dev/null 2>&1 || { printf %s \"$PATH\"; exit 127; }; \
             id -un";
        let (rc, out, _) = self.exec(&["/bin/sh", "-c", script], None)?;
        if rc == 127 {
            return Err(fail(format!(
                "Failed to find required executable \"crontab\" in paths: {out}"
            )));
        }
        Ok(out.trim_end().to_owned())
    }

    fn main(&mut self, p: &Params) -> Result<Outcome, Failure> {
        let ctx = self.ctx;
        if let Some(cron_file) = &p.cron_file {
            if cron_file == "/etc/crontab" {
                return Err(fail(
                    "Will not manage /etc/crontab via cron_file, see documentation.",
                ));
            }
            let base = cron_file.rsplit('/').next().unwrap_or_default();
            let ok = !base.is_empty()
                && base
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                self.warnings.push(format!(
                    "Filename portion of cron_file (\"{base}\") should consist solely of \
                     upper- and lower-case letters, digits, underscores, and hyphens"
                ));
            }
        }
        let me = self.probe()?;
        let mut tab = CronTab {
            lines: Vec::new(),
            existing: String::new(),
            user: p.user.clone(),
            cron_file: p.cron_file.as_ref().map(|f| {
                if f.starts_with('/') {
                    f.clone()
                } else {
                    format!("/etc/cron.d/{f}")
                }
            }),
        };
        let other_user = p.user.as_deref().filter(|u| *u != me);
        self.read(&mut tab, other_user)?;

        let mut diff = Vars::new();
        if ctx.diff {
            diff.insert("before".into(), json!(tab.existing));
            diff.insert("before_header".into(), json!(tab.header()));
        }

        if p.special_time.is_some() && p.when.iter().any(|f| f != "*") {
            return Err(fail(
                "You cannot combine special_time with any of the time or day/date parameters.",
            ));
        }
        let some = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.is_empty());
        if p.present {
            if p.cron_file.is_some() && p.user.is_none() {
                return Err(fail(
                    "To use cron_file=... parameter you must specify user=... as well",
                ));
            }
            if p.job.is_none() {
                return Err(fail(
                    "You must specify 'job' to install a new cron job or variable",
                ));
            }
            if (some(&p.insertafter) || some(&p.insertbefore)) && !p.env {
                return Err(fail(
                    "Insertafter and insertbefore parameters are valid only with env=yes",
                ));
            }
        }

        let backup_file = if p.backup && !ctx.check {
            Some(self.backup(&tab)?)
        } else {
            None
        };

        let mut changed = false;
        if p.env {
            if p.name.contains(' ') {
                return Err(fail("Invalid name for environment variable"));
            }
            let job = p.job.as_deref().unwrap_or("None");
            let decl = format!("{}=\"{job}\"", p.name);
            let old = tab.find_env(&p.name);
            if p.present {
                match old {
                    None => {
                        let other = p
                            .insertafter
                            .as_ref()
                            .filter(|s| !s.is_empty())
                            .map(|s| (s, true))
                            .or_else(|| {
                                p.insertbefore
                                    .as_ref()
                                    .filter(|s| !s.is_empty())
                                    .map(|s| (s, false))
                            });
                        tab.add_env(decl, other)?;
                        changed = true;
                    }
                    Some((_, line)) if line != decl => {
                        tab.update_env(&p.name, Some(&decl));
                        changed = true;
                    }
                    Some(_) => {}
                }
            } else if old.is_some() {
                tab.update_env(&p.name, None);
                changed = true;
            }
        } else if p.present {
            let job = p.job.as_deref().unwrap_or_default();
            if job.trim_matches(['\r', '\n']).contains(['\r', '\n']) {
                self.warnings
                    .push("Job should not contain line breaks".to_owned());
            }
            let job = tab.cron_job(p, job);
            match tab.find_job(&p.name, Some(&job)) {
                None => {
                    tab.lines.push(format!("{MARKER}{}", p.name));
                    tab.lines.push(job);
                    changed = true;
                }
                Some(found) => {
                    if found.line != job || found.adopted {
                        tab.update_job(&p.name, Some(&job));
                        changed = true;
                    }
                }
            }
        } else if tab.find_job(&p.name, None).is_some() {
            tab.update_job(&p.name, None);
            changed = true;
            if let Some(path) = tab.cron_file.clone().filter(|_| tab.is_empty()) {
                if ctx.diff {
                    diff.insert("after".into(), json!(""));
                    diff.insert("after_header".into(), json!("/dev/null"));
                }
                let changed = if ctx.check {
                    self.stat_kind(&path, true)? == Some(FileKind::File)
                } else {
                    self.remove_file(&path)?
                };
                let mut r = Vars::new();
                r.insert("changed".into(), json!(changed));
                r.insert("cron_file".into(), json!(p.cron_file));
                r.insert("state".into(), json!(p.state));
                r.insert("diff".into(), json!(diff));
                return Ok(self.finish(r));
            }
        }

        // No change to the jobs or variables, but the crontab lacks its final newline.
        if !changed && !tab.existing.is_empty() && !tab.existing.ends_with(['\r', '\n']) {
            changed = true;
        }

        let mut r = Vars::new();
        r.insert("jobs".into(), json!(tab.job_names()));
        r.insert("envs".into(), json!(tab.env_names()));
        r.insert("changed".into(), json!(changed));
        if changed {
            if !ctx.check {
                self.write(&tab, other_user)?;
            }
            if ctx.diff {
                diff.insert("after".into(), json!(tab.render()));
                diff.insert("after_header".into(), json!(tab.header()));
                r.insert("diff".into(), json!(diff));
            }
        }
        if let Some(backup_file) = backup_file {
            if changed {
                r.insert("backup_file".into(), json!(backup_file));
            } else {
                ctx.target
                    .remove(&backup_file)
                    .map_err(|e| fail(format!("Error removing {backup_file}: {e}")))?;
            }
        }
        if let Some(cron_file) = &p.cron_file {
            r.insert("cron_file".into(), json!(cron_file));
        }
        Ok(self.finish(r))
    }

    fn finish(&mut self, mut r: Vars) -> Outcome {
        if !self.warnings.is_empty() {
            r.insert("warnings".into(), json!(std::mem::take(&mut self.warnings)));
        }
        Outcome::new(r)
    }

    fn stat_kind(&self, path: &str, follow: bool) -> Result<Option<FileKind>, Failure> {
        Ok(super::fileattrs::stat(self.ctx, path, follow)?.map(|s| s.kind))
    }

    /// `os.unlink`: whether a file (not a directory) was removed.
    fn remove_file(&self, path: &str) -> Result<bool, Failure> {
        match self.stat_kind(path, false)? {
            None | Some(FileKind::Dir) => Ok(false),
            Some(_) => Ok(self.ctx.target.remove(path).is_ok()),
        }
    }

    /// The crontab's text and lines: the cron file's, or `crontab -l`'s
    /// without the header some crontabs print.
    fn read(&self, tab: &mut CronTab, other_user: Option<&str>) -> Result<(), Failure> {
        if let Some(path) = &tab.cron_file {
            // A missing (or unreadable) file is an empty crontab.
            if let Ok(bytes) = self.ctx.target.read_file(path) {
                tab.existing = String::from_utf8_lossy(&bytes).into_owned();
                tab.lines = splitlines(&tab.existing, false);
            }
            return Ok(());
        }
        let argv: Vec<&str> = match other_user {
            Some(user) => vec!["crontab", "-u", user, "-l"],
            None => vec!["crontab", "-l"],
        };
        let (rc, out, _) = self.exec(&argv, None)?;
        // 1 can mean that there are no jobs.
        if rc != 0 && rc != 1 {
            return Err(fail("Unable to read crontab"));
        }
        tab.existing = out.clone();
        for (count, line) in splitlines(&out, false).into_iter().enumerate() {
            if count > 2 || !is_header(&line) {
                tab.lines.push(line);
            } else if let Some(at) = tab.existing.find(&line) {
                let mut end = at + line.len();
                if tab.existing[end..].starts_with(['\r', '\n']) {
                    end += 1;
                }
                tab.existing.replace_range(at..end, "");
            }
        }
        Ok(())
    }

    /// Installs the crontab: the cron file written (0644 when new), or
    /// `crontab -` fed the text.
    fn write(&self, tab: &CronTab, other_user: Option<&str>) -> Result<(), Failure> {
        let text = tab.render();
        if let Some(path) = &tab.cron_file {
            let mode = match self.stat_kind(path, true)? {
                Some(_) => None,
                None => Some(0o644),
            };
            return self
                .ctx
                .target
                .write_file(path, text.as_bytes(), mode)
                .map_err(|e| fail(format!("Error while writing {path}: {e}")));
        }
        let argv: Vec<&str> = match other_user {
            Some(user) => vec!["crontab", "-u", user, "-"],
            None => vec!["crontab", "-"],
        };
        let (rc, out, err) = self.exec(&argv, Some(text.as_bytes()))?;
        if rc != 0 {
            let Failure(mut r) = fail("Failed to install new cronfile: -");
            r.insert("stderr".into(), json!(err));
            r.insert("stdout".into(), json!(out));
            r.insert("rc".into(), json!(rc));
            return Err(Failure(r));
        }
        Ok(())
    }

    /// A `crontab*` file in the temporary directory with the crontab as it is.
    fn backup(&self, tab: &CronTab) -> Result<String, Failure> {
        let script = "exec mktemp -p \"${TMPDIR:-${TEMP:-${TMP:-/tmp}}}\" crontabXXXXXXXX";
        let (rc, out, err) = self.exec(&["/bin/sh", "-c", script], None)?;
        if rc != 0 {
            return Err(fail(err.trim().to_owned()));
        }
        let path = out.trim_end().to_owned();
        self.ctx
            .target
            .write_file(&path, tab.render().as_bytes(), None)
            .map_err(|e| fail(format!("Error while writing {path}: {e}")))?;
        Ok(path)
    }
}

/// One of the lines a `crontab -l` may start with.
fn is_header(line: &str) -> bool {
    static RES: std::sync::OnceLock<[Regex; 3]> = std::sync::OnceLock::new();
    let res = RES.get_or_init(|| {
        [
            r"^# DO NOT EDIT THIS FILE - edit the master and reinstall.",
            r"^# \(/tmp/.*installed on.*\)",
            r"^# \(.*version.*\)",
        ]
        .map(|re| Regex::new(re).expect("a valid regex"))
    });
    res.iter().any(|re| re.is_match(line))
}

/// A job `find_job` found.
#[derive(Debug, PartialEq)]
struct Found {
    line: String,
    /// The job line had no marker (or a `#Ansible: None` one) and got one.
    adopted: bool,
}

/// cron.py's `CronTab`: the crontab's lines and its text as read.
#[derive(Debug, Default)]
struct CronTab {
    lines: Vec<String>,
    existing: String,
    user: Option<String>,
    cron_file: Option<String>,
}

impl CronTab {
    fn header(&self) -> String {
        match (&self.cron_file, &self.user) {
            (Some(f), _) => f.clone(),
            (None, Some(u)) if !u.is_empty() => format!("crontab for user \"{u}\""),
            _ => "crontab".to_owned(),
        }
    }

    fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.trim().is_empty())
    }

    fn render(&self) -> String {
        let text = self.lines.join("\n");
        if text.is_empty() {
            text
        } else {
            format!("{}\n", text.trim_end_matches(['\r', '\n']))
        }
    }

    fn cron_job(&self, p: &Params, job: &str) -> String {
        let job = job.trim_matches(['\r', '\n']);
        let prefix = if p.disabled { "#" } else { "" };
        let user = match &self.cron_file {
            Some(_) => format!("{} ", p.user.as_deref().unwrap_or("None")),
            None => String::new(),
        };
        match &p.special_time {
            Some(special) => format!("{prefix}@{special} {user}{job}"),
            None => format!("{prefix}{} {user}{job}", p.when.join(" ")),
        }
    }

    /// The job under a `#Ansible: <name>` marker; failing that, a line that
    /// is exactly `job`, which gets the marker (inserted, or a
    /// `#Ansible: None` one renamed).
    fn find_job(&mut self, name: &str, job: Option<&str>) -> Option<Found> {
        let mut comment: Option<String> = None;
        for l in &self.lines {
            if let Some(c) = comment.take() {
                if c == name {
                    return Some(Found {
                        line: l.clone(),
                        adopted: false,
                    });
                }
            } else if l.starts_with(MARKER) {
                comment = Some(l.replace(MARKER, ""));
            }
        }
        let job = job?;
        let marker = format!("{MARKER}{name}");
        for i in 0..self.lines.len() {
            if self.lines[i] != job {
                continue;
            }
            // Python's lines[i - 1]: the last line when i is 0.
            let prev = if i == 0 { self.lines.len() - 1 } else { i - 1 };
            if !self.lines[prev].starts_with(MARKER) {
                self.lines.insert(i, marker);
            } else if !name.is_empty() && self.lines[prev] == format!("{MARKER}None") {
                self.lines[prev] = marker;
            } else {
                continue;
            }
            return Some(Found {
                line: job.to_owned(),
                adopted: true,
            });
        }
        None
    }

    /// Every job under the name's marker replaced by `job` (or removed with
    /// its marker when `None`).
    fn update_job(&mut self, name: &str, job: Option<&str>) {
        let marker = format!("{MARKER}{name}");
        let mut out = Vec::with_capacity(self.lines.len() + 2);
        let mut comment: Option<String> = None;
        for l in self.lines.drain(..) {
            if let Some(c) = comment.take() {
                if let Some(job) = job {
                    out.push(c);
                    out.push(job.to_owned());
                }
            } else if l == marker {
                comment = Some(l);
            } else {
                out.push(l);
            }
        }
        self.lines = out;
    }

    fn env_matcher(name: &str) -> impl Fn(&str) -> bool {
        // cron.py puts the name into a regex as it is.
        let re = Regex::new(&format!("^{name}=")).ok();
        let prefix = format!("{name}=");
        move |l: &str| match &re {
            Some(re) => re.is_match(l),
            None => l.starts_with(&prefix),
        }
    }

    fn find_env(&self, name: &str) -> Option<(usize, String)> {
        let m = Self::env_matcher(name);
        self.lines
            .iter()
            .enumerate()
            .find(|(_, l)| m(l))
            .map(|(i, l)| (i, l.clone()))
    }

    /// `decl` on top, or after/before (`true`/`false`) another variable.
    fn add_env(&mut self, decl: String, other: Option<(&String, bool)>) -> Result<(), Failure> {
        let Some((other, after)) = other else {
            self.lines.insert(0, decl);
            return Ok(());
        };
        match self.find_env(other) {
            Some((i, _)) => {
                self.lines.insert(if after { i + 1 } else { i }, decl);
                Ok(())
            }
            None => Err(fail(format!("Variable named '{other}' not found."))),
        }
    }

    /// Every declaration of the name replaced by `decl` (or removed).
    fn update_env(&mut self, name: &str, decl: Option<&str>) {
        let m = Self::env_matcher(name);
        let lines = std::mem::take(&mut self.lines);
        for l in lines {
            if !m(&l) {
                self.lines.push(l);
            } else if let Some(decl) = decl {
                self.lines.push(decl.to_owned());
            }
        }
    }

    fn job_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l.starts_with(MARKER))
            .map(|l| l.replace(MARKER, ""))
            .collect()
    }

    fn env_names(&self) -> Vec<String> {
        static ENV: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        let re = ENV.get_or_init(|| Regex::new(r"^\S+=").expect("a valid regex"));
        self.lines
            .iter()
            .filter(|l| re.is_match(l))
            .map(|l| l.split('=').next().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Python's `str.splitlines(keepends)`: lines end at `\n`, `\r\n`, `\r`,
/// `\v`, `\f`, `\x1c`-`\x1e`, `\x85`, `\u2028` and `\u2029`.
pub(super) fn splitlines(s: &str, keepends: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            continue;
        }
        let mut end = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|(_, n)| *n == '\n') {
            chars.next();
            end += 1;
        }
        out.push(s[start..if keepends { end } else { i }].to_owned());
        start = end;
    }
    if start < s.len() {
        out.push(s[start..].to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(text: &str) -> CronTab {
        CronTab {
            lines: splitlines(text, false),
            existing: text.to_owned(),
            ..CronTab::default()
        }
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(splitlines("a\nb\r\nc\rd", false), ["a", "b", "c", "d"]);
        assert_eq!(splitlines("a\nb\r\n", true), ["a\n", "b\r\n"]);
        assert_eq!(splitlines("a\x0bb", false), ["a", "b"]);
        assert!(splitlines("", false).is_empty());
    }

    #[test]
    fn finds_and_adopts_jobs() {
        let mut t = tab("#Ansible: a\n* * * * * a\n* * * * * b\n");
        let found = t.find_job("a", Some("1 * * * * a"));
        assert_eq!(
            found,
            Some(Found {
                line: "* * * * * a".into(),
                adopted: false
            })
        );
        // A bare job line gets a marker.
        let found = t.find_job("b", Some("* * * * * b"));
        assert_eq!(found.map(|f| f.adopted), Some(true));
        assert_eq!(
            t.lines,
            ["#Ansible: a", "* * * * * a", "#Ansible: b", "* * * * * b"]
        );
        assert_eq!(t.job_names(), ["a", "b"]);
    }

    #[test]
    fn updates_and_removes_every_job_of_a_name() {
        let mut t = tab("#Ansible: a\nx\nFOO=1\n#Ansible: a\ny\n#Ansible: b\nz\n");
        t.update_job("a", Some("new"));
        assert_eq!(
            t.render(),
            "#Ansible: a\nnew\nFOO=1\n#Ansible: a\nnew\n#Ansible: b\nz\n"
        );
        t.update_job("a", None);
        assert_eq!(t.render(), "FOO=1\n#Ansible: b\nz\n");
        assert_eq!(t.env_names(), ["FOO"]);
    }

    #[test]
    fn envs_go_on_top_or_next_to_another() {
        let mut t = tab("A=\"1\"\nB=\"2\"\n");
        t.add_env("C=\"3\"".into(), None).ok();
        let a = "A".to_owned();
        t.add_env("D=\"4\"".into(), Some((&a, true))).ok();
        let b = "B".to_owned();
        t.add_env("E=\"5\"".into(), Some((&b, false))).ok();
        assert_eq!(
            t.lines,
            ["C=\"3\"", "A=\"1\"", "D=\"4\"", "E=\"5\"", "B=\"2\""]
        );
        let missing = "Z".to_owned();
        assert!(t.add_env("F=1".into(), Some((&missing, true))).is_err());
        t.update_env("A", None);
        assert_eq!(t.find_env("A"), None);
    }

    #[test]
    fn headers_of_crontab_l() {
        assert!(is_header(
            "# DO NOT EDIT THIS FILE - edit the master and reinstall."
        ));
        assert!(is_header(
            "# (/tmp/crontab.x installed on Thu Jan  1 00:00:00 2025)"
        ));
        assert!(is_header("# (Cron version -- $Id: crontab.c,v 2.13 $)"));
        assert!(!is_header("#Ansible: x"));
    }
}
