//! `user`: a local account present or absent, a port of user.py's
//! generic (Linux) class: `useradd`/`usermod`/`userdel` run with the
//! options user.py computes from the current state in `/etc/passwd`,
//! `/etc/group` and `/etc/shadow` (uid, primary group, groups with
//! append, comment, home with create_home/move_home/skeleton, shell,
//! system, password hash with update_password and password_lock,
//! expires, password ageing through `chage`, umask, uid_min/uid_max,
//! seuser), missing homes made from the skeleton as user.py does, and
//! the result keys user.py returns (the password as
//! `NOT_LOGGING_PASSWORD`). Left out: `local: true` (the libuser tools)
//! and `generate_ssh_key`, which fail with a message saying so; the
//! options only other platforms use (login_class, hidden, profile,
//! authorization, role) are accepted and ignored as user.py ignores
//! them on Linux; user.py's `-n` for RHEL 5 and SLES 11 is not kept.

use serde_json::json;

use super::accounts::{self, GrEntry, PwEntry, Ran};
use super::args::{Args, expand_user, type_name};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;
use rustle_format::Vars;
use serde_json::Value as Json;

pub struct User;

impl Module for User {
    fn params(&self) -> &'static [&'static str] {
        &[
            "append",
            "authorization",
            "comment",
            "create_home",
            "createhome",
            "expires",
            "force",
            "generate_ssh_key",
            "group",
            "groups",
            "hidden",
            "home",
            "local",
            "login_class",
            "move_home",
            "name",
            "non_unique",
            "password",
            "password_expire_account_disable",
            "password_expire_max",
            "password_expire_min",
            "password_expire_warn",
            "password_lock",
            "profile",
            "remove",
            "role",
            "seuser",
            "shell",
            "skeleton",
            "ssh_key_bits",
            "ssh_key_comment",
            "ssh_key_file",
            "ssh_key_passphrase",
            "ssh_key_type",
            "state",
            "system",
            "uid",
            "uid_max",
            "uid_min",
            "umask",
            "update_password",
            "user",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let p = Params::read(ctx, args)?;
        let mut run = Run {
            ctx,
            p,
            warnings: Vec::new(),
        };
        let mut r = run.main()?;
        if !run.warnings.is_empty() {
            r.insert("warnings".into(), json!(run.warnings));
        }
        Ok(Outcome::new(r))
    }
}

/// The module's arguments, as user.py's `User.__init__` keeps them.
#[derive(Debug, Default)]
struct Params {
    state: String,
    name: String,
    uid: Option<i64>,
    non_unique: bool,
    seuser: Option<String>,
    group: Option<String>,
    /// The `groups` list joined with commas (`None` when unset).
    groups: Option<String>,
    comment: Option<String>,
    home: Option<String>,
    shell: Option<String>,
    password: Option<String>,
    force: bool,
    remove: bool,
    create_home: bool,
    move_home: bool,
    skeleton: Option<String>,
    system: bool,
    append: bool,
    update_password: String,
    expires: Option<f64>,
    password_lock: Option<bool>,
    expire_min: Option<i64>,
    expire_max: Option<i64>,
    expire_warn: Option<i64>,
    inactive: Option<i64>,
    umask: Option<String>,
    uid_min: Option<i64>,
    uid_max: Option<i64>,
}

impl Params {
    fn read(ctx: &ModuleCtx, args: &Args) -> Result<Params, ModuleError> {
        let path = |key: &str| -> Result<Option<String>, ModuleError> {
            Ok(args
                .string(&[key])?
                .map(|p| expand_user(&p, || ctx.target.home())))
        };
        let opt_bool = |key: &str| -> Result<Option<bool>, ModuleError> {
            match args.get(key) {
                None => Ok(None),
                Some(_) => args.bool(key, false).map(Some),
            }
        };
        let create_key = match args.get("create_home") {
            Some(_) => "create_home",
            None => "createhome",
        };
        let p = Params {
            state: args
                .choice("state", &["absent", "present"])?
                .unwrap_or_else(|| "present".to_owned()),
            name: args.required(&["name", "user"])?,
            uid: args.int("uid")?,
            non_unique: args.bool("non_unique", false)?,
            seuser: args.string(&["seuser"])?,
            group: args.string(&["group"])?,
            groups: args.list(&["groups"])?.map(|g| g.join(",")),
            comment: args.string(&["comment"])?,
            home: path("home")?,
            shell: path("shell")?,
            password: args.string(&["password"])?,
            force: args.bool("force", false)?,
            remove: args.bool("remove", false)?,
            create_home: args.bool(create_key, true)?,
            move_home: args.bool("move_home", false)?,
            skeleton: args.string(&["skeleton"])?,
            system: args.bool("system", false)?,
            append: args.bool("append", false)?,
            update_password: args
                .choice("update_password", &["always", "on_create"])?
                .unwrap_or_else(|| "always".to_owned()),
            expires: float(args, "expires")?,
            password_lock: opt_bool("password_lock")?,
            expire_min: args.int("password_expire_min")?,
            expire_max: args.int("password_expire_max")?,
            expire_warn: args.int("password_expire_warn")?,
            inactive: args.int("password_expire_account_disable")?,
            umask: args.string(&["umask"])?,
            uid_min: args.int("uid_min")?,
            uid_max: args.int("uid_max")?,
        };
        // Options of user.py this port leaves out fail rather than
        // being silently ignored.
        if opt_bool("local")? == Some(true) {
            return Err(ModuleError::new(
                "rustle does not support local: true for the user module (the luseradd/lusermod/luserdel tools)",
            ));
        }
        if opt_bool("generate_ssh_key")? == Some(true) {
            return Err(ModuleError::new(
                "rustle does not support generate_ssh_key for the user module",
            ));
        }
        // Checked for their types as user.py does, then unused.
        args.int("ssh_key_bits")?;
        args.string(&["ssh_key_type"])?;
        args.string(&["ssh_key_comment"])?;
        Ok(p)
    }
}

/// A `type='float'` argument.
fn float(args: &Args, key: &str) -> Result<Option<f64>, ModuleError> {
    let bad = |v: &Json| {
        ModuleError::new(format!(
            "argument '{key}' is of type {} and we were unable to convert to float",
            type_name(v)
        ))
    };
    match args.get(key) {
        None => Ok(None),
        Some(Json::Number(n)) => n.as_f64().map(Some).ok_or_else(|| bad(&Json::Null)),
        Some(v @ Json::String(s)) => s.trim().parse().map(Some).map_err(|_| bad(v)),
        Some(v) => Err(bad(v)),
    }
}

/// user.py's `check_password_encrypted`: whether `password` does not
/// look like a crypt(3) hash.
fn maybe_unhashed(password: &str) -> bool {
    if password.is_empty() || ["*", "!", "*************"].contains(&password) {
        return false;
    }
    if password.contains([':', '*', '!']) || !password.contains('$') {
        return true;
    }
    let fields: Vec<&str> = password.split('$').collect();
    if fields.len() < 3 {
        return true;
    }
    let last = fields[fields.len() - 1];
    let bad_chars = last
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || "./=".contains(c)));
    let want = match fields[1] {
        "1" => Some(22),
        "5" | "y" => Some(43),
        "6" => Some(86),
        _ => None,
    };
    bad_chars || want.is_some_and(|n| last.len() != n)
}

/// `time.strftime('%Y-%m-%d', time.gmtime(secs))` and the date's parts.
fn utc_date(days: i64) -> (i64, u32, u32) {
    crate::util::time::civil_from_days(days)
}

fn format_date((y, m, d): (i64, u32, u32)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

/// A day count since the epoch for `expires` seconds, `None` before 1970
/// (user.py's `self.expires < time.gmtime(0)`).
fn expires_days(expires: f64) -> Option<i64> {
    let secs = expires.floor() as i64;
    (secs >= 0).then(|| secs.div_euclid(86_400))
}

/// The login.defs mode user.py gives a home it makes: HOME_MODE, else
/// `0o777 & ~UMASK`, else 0o755.
fn home_mode(login_defs: &str) -> u32 {
    let mut mode = 0o755;
    let value = |line: &str, key: &str| -> Option<u32> {
        let rest = line.strip_prefix(key)?;
        let digits = rest.trim_start_matches([' ', '\t']);
        let ok = rest.len() > digits.len()
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit());
        ok.then(|| u32::from_str_radix(digits, 8).ok()).flatten()
    };
    for line in login_defs.lines() {
        if let Some(m) = value(line, "HOME_MODE") {
            return m;
        }
        if let Some(umask) = value(line, "UMASK") {
            mode = 0o777 & !umask;
        }
    }
    mode
}

fn strings<const N: usize>(items: [&str; N]) -> Vec<String> {
    items.into_iter().map(str::to_owned).collect()
}

struct Run<'c, 'a> {
    ctx: &'c ModuleCtx<'a>,
    p: Params,
    warnings: Vec<String>,
}

type Res<T> = Result<T, ModuleError>;

/// A failure with the keys user.py passes to `fail_json`.
enum Stop {
    Error(ModuleError),
    Fail(Vars),
}

impl From<ModuleError> for Stop {
    fn from(e: ModuleError) -> Stop {
        Stop::Error(e)
    }
}

impl Run<'_, '_> {
    fn main(&mut self) -> Res<Vars> {
        if self.p.groups.is_none() && self.p.append {
            self.warnings.push(
                "'append' is set, but no 'groups' are specified. Use 'groups' for appending new groups.\
                 This will change to an error in Ansible 2.14."
                    .to_owned(),
            );
        }
        if self.p.password.as_deref().is_some_and(maybe_unhashed) {
            self.warnings.push(
                "The input password appears not to have been hashed. The 'password' argument \
                 must be encrypted for this module to work properly."
                    .to_owned(),
            );
        }
        match self.apply() {
            Ok(r) => Ok(r),
            Err(Stop::Error(e)) => Err(ModuleError::new(self.mask(&e.0))),
            Err(Stop::Fail(r)) => Ok(r),
        }
    }

    fn apply(&mut self) -> Result<Vars, Stop> {
        let p = &self.p;
        let mut r = Vars::new();
        r.insert("name".into(), json!(p.name));
        r.insert("state".into(), json!(p.state));
        let checked = || {
            let mut r = Vars::new();
            r.insert("changed".into(), json!(true));
            Ok(r)
        };
        let mut ran: Option<Ran> = None;
        if p.state == "absent" {
            if self.pw()?.is_some() {
                if self.ctx.check {
                    return checked();
                }
                let done = self.remove()?;
                self.check_rc(&done)?;
                ran = Some(done);
                r.insert("force".into(), json!(self.p.force));
                r.insert("remove".into(), json!(self.p.remove));
            }
        } else {
            if self.pw()?.is_none() {
                if self.ctx.check {
                    return checked();
                }
                let needs_parents = match (&self.p.home, self.p.create_home) {
                    (Some(home), true) => !self.is_dir(parent(home))?,
                    _ => false,
                };
                let done = self.create()?;
                if needs_parents && let Some(info) = self.user_info()? {
                    let home = self.p.home.clone().unwrap_or_default();
                    self.chown_homedir(info.uid, info.gid, &home)?;
                }
                r.insert("system".into(), json!(self.p.system));
                r.insert("create_home".into(), json!(self.p.create_home));
                ran = Some(done);
            } else {
                ran = self.modify()?;
                r.insert("append".into(), json!(self.p.append));
                r.insert("move_home".into(), json!(self.p.move_home));
            }
            if let Some(done) = &ran {
                self.check_rc(done)?;
            }
            if self.p.password.is_some() {
                r.insert("password".into(), json!("NOT_LOGGING_PASSWORD"));
            }
        }
        let mut changed = ran.is_some();
        if let Some(done) = &ran {
            accounts::add_output(&mut r, &self.mask(&done.out), &self.mask(&done.err));
        }
        if self.p.state == "present"
            && let Some(info) = self.user_info()?
        {
            r.insert("uid".into(), json!(info.uid));
            r.insert("group".into(), json!(info.gid));
            r.insert("comment".into(), json!(info.gecos));
            r.insert("home".into(), json!(info.dir));
            r.insert("shell".into(), json!(info.shell));
            if let Some(groups) = &self.p.groups {
                r.insert("groups".into(), json!(groups));
            }
            // A missing home is made, as user.py does for any user.
            let home = self.p.home.clone().unwrap_or_else(|| info.dir.clone());
            if self.p.create_home && !self.exists(&home)? {
                if !self.ctx.check {
                    self.create_homedir(&home)?;
                    self.chown_homedir(info.uid, info.gid, &home)?;
                }
                changed = true;
            }
            if let Some(done) = self.set_password_expire()? {
                self.check_rc(&done)?;
                changed = true;
            }
        }
        r.insert("changed".into(), json!(changed));
        Ok(r)
    }

    /// `fail_json(name=..., msg=err, rc=rc)` on a failed command.
    fn check_rc(&self, done: &Ran) -> Result<(), Stop> {
        if done.rc == 0 {
            return Ok(());
        }
        let mut r = Vars::new();
        r.insert("failed".into(), json!(true));
        r.insert("changed".into(), json!(false));
        r.insert("name".into(), json!(self.p.name));
        r.insert("msg".into(), json!(self.mask(&done.err)));
        r.insert("rc".into(), json!(done.rc));
        if !self.warnings.is_empty() {
            r.insert("warnings".into(), json!(self.warnings));
        }
        Err(Stop::Fail(r))
    }

    /// The password (a no_log value) masked wherever it shows.
    fn mask(&self, text: &str) -> String {
        match self.p.password.as_deref() {
            Some(pw) if !pw.is_empty() => text.replace(pw, "********"),
            _ => text.to_owned(),
        }
    }

    fn exec(&self, cmd: Vec<String>) -> Res<Ran> {
        if self.ctx.check {
            return Ok(Ran::default());
        }
        accounts::run(self.ctx, cmd)
    }

    fn exists(&self, path: &str) -> Res<bool> {
        Ok(super::fileattrs::stat(self.ctx, path, true)?.is_some())
    }

    fn is_dir(&self, path: &str) -> Res<bool> {
        let st = super::fileattrs::stat(self.ctx, path, true)?;
        Ok(st.is_some_and(|s| s.kind == FileKind::Dir))
    }

    fn pw(&self) -> Res<Option<PwEntry>> {
        accounts::getpwnam(self.ctx.target, &self.p.name)
    }

    /// `user_info`: the passwd entry with the shadow password when the
    /// passwd field is `x` or empty.
    fn user_info(&self) -> Res<Option<PwEntry>> {
        let Some(mut info) = self.pw()? else {
            return Ok(None);
        };
        if info.passwd.len() <= 1 {
            info.passwd = self.shadow().map(|s| s.pwd).unwrap_or_default();
        }
        Ok(Some(info))
    }

    fn shadow(&self) -> Option<accounts::SpEntry> {
        accounts::getspnam(self.ctx.target, &self.p.name)
    }

    /// `group_info`: a group by gid when `group` is a number, else by name.
    fn group_info(&self, group: &str) -> Res<Option<GrEntry>> {
        let all = accounts::groups(self.ctx.target)?;
        if let Ok(gid) = group.trim().parse::<u32>()
            && let Some(g) = all.iter().find(|g| g.gid == gid)
        {
            return Ok(Some(g.clone()));
        }
        Ok(all.into_iter().find(|g| g.name == group))
    }

    fn need_group(&self, group: &str) -> Res<GrEntry> {
        self.group_info(group)?
            .ok_or_else(|| ModuleError::new(format!("Group {group} does not exist")))
    }

    /// `get_groups_set`: the `groups` given (each must exist), without
    /// the user's primary group when `remove_existing`, as group names
    /// when `names_only`.
    fn groups_set(&self, remove_existing: bool, names_only: bool) -> Res<Vec<String>> {
        let info = self.user_info()?;
        let mut wanted: Vec<String> = Vec::new();
        let given = self.p.groups.as_deref().unwrap_or_default();
        for g in given.split(',').filter(|g| !g.is_empty()).map(str::trim) {
            if !wanted.iter().any(|w| w == g) {
                wanted.push(g.to_owned());
            }
        }
        let mut out = Vec::new();
        for g in wanted {
            let gi = self.need_group(&g)?;
            let primary = info.as_ref().is_some_and(|i| i.gid == gi.gid);
            if remove_existing && primary {
                continue;
            }
            let item = if names_only { gi.name } else { g };
            if !out.contains(&item) {
                out.push(item);
            }
        }
        Ok(out)
    }

    fn remove(&self) -> Res<Ran> {
        let mut cmd = strings(["userdel"]);
        if self.p.force {
            cmd.push("-f".into());
        }
        if self.p.remove {
            cmd.push("-r".into());
        }
        cmd.push(self.p.name.clone());
        self.exec(cmd)
    }

    fn create(&self) -> Res<Ran> {
        let p = &self.p;
        let mut cmd = strings(["useradd"]);
        if let Some(uid) = p.uid {
            cmd.extend(["-u".into(), uid.to_string()]);
            if p.non_unique {
                cmd.push("-o".into());
            }
        }
        if let Some(seuser) = &p.seuser {
            cmd.extend(["-Z".into(), seuser.clone()]);
        }
        if let Some(group) = &p.group {
            self.need_group(group)?;
            cmd.extend(["-g".into(), group.clone()]);
        } else if self.group_info(&p.name)?.is_some() {
            // The user's own group exists: no user group (USERGROUPS_ENAB).
            cmd.push("-N".into());
        }
        if p.groups.as_deref().is_some_and(|g| !g.is_empty()) {
            cmd.extend(["-G".into(), self.groups_set(true, false)?.join(",")]);
        }
        if let Some(comment) = &p.comment {
            cmd.extend(["-c".into(), comment.clone()]);
        }
        if let Some(home) = &p.home {
            if p.create_home && !self.is_dir(parent(home))? {
                self.create_homedir(home)?;
            }
            cmd.extend(["-d".into(), home.clone()]);
        }
        if let Some(shell) = &p.shell {
            cmd.extend(["-s".into(), shell.clone()]);
        }
        if let Some(expires) = p.expires {
            let date = expires_days(expires).map(|d| format_date(utc_date(d)));
            cmd.extend(["-e".into(), date.unwrap_or_default()]);
        }
        if let Some(inactive) = p.inactive {
            cmd.extend(["-f".into(), inactive.to_string()]);
        }
        if let Some(password) = &p.password {
            let locked = p.password_lock == Some(true);
            cmd.extend([
                "-p".into(),
                if locked {
                    format!("!{password}")
                } else {
                    password.clone()
                },
            ]);
        }
        if p.create_home {
            cmd.push("-m".into());
            if let Some(skel) = &p.skeleton {
                cmd.extend(["-k".into(), skel.clone()]);
            }
            if let Some(umask) = &p.umask {
                cmd.extend(["-K".into(), format!("UMASK={umask}")]);
            }
        } else {
            cmd.push("-M".into());
        }
        if p.system {
            cmd.push("-r".into());
        }
        for (key, value) in [("UID_MIN", p.uid_min), ("UID_MAX", p.uid_max)] {
            if let Some(v) = value {
                cmd.extend(["-K".into(), format!("{key}={v}")]);
            }
        }
        cmd.push(p.name.clone());
        self.exec(cmd)
    }

    /// Whether this usermod takes `-a, --append` (asked even in check mode).
    fn usermod_appends(&self) -> Res<bool> {
        let help = accounts::run(self.ctx, strings(["usermod", "--help"]))?;
        Ok(format!("{}{}", help.out, help.err)
            .split('\n')
            .any(|l| l.trim().starts_with("-a, --append")))
    }

    /// `modify_user_usermod`: `None` when nothing differs.
    fn modify(&self) -> Res<Option<Ran>> {
        let p = &self.p;
        let Some(info) = self.user_info()? else {
            return Ok(None);
        };
        let has_append = self.usermod_appends()?;
        let mut cmd = strings(["usermod"]);
        if let Some(uid) = p.uid.filter(|u| *u != i64::from(info.uid)) {
            cmd.extend(["-u".into(), uid.to_string()]);
            if p.non_unique {
                cmd.push("-o".into());
            }
        }
        if let Some(group) = &p.group {
            let gi = self.need_group(group)?;
            if info.gid != gi.gid {
                cmd.extend(["-g".into(), gi.gid.to_string()]);
            }
        }
        if let Some(given) = &p.groups {
            let current: Vec<String> = accounts::groups(self.ctx.target)?
                .into_iter()
                .filter(|g| g.members.contains(&p.name))
                .map(|g| g.name)
                .collect();
            let mut need_mod = false;
            let mut wanted = Vec::new();
            let mut diff: Vec<String> = Vec::new();
            if given.is_empty() {
                need_mod = !current.is_empty() && !p.append;
            } else {
                wanted = self.groups_set(false, true)?;
                diff = current
                    .iter()
                    .filter(|g| !wanted.contains(g))
                    .chain(wanted.iter().filter(|g| !current.contains(g)))
                    .cloned()
                    .collect();
                if !diff.is_empty() {
                    if p.append {
                        if wanted.iter().any(|g| diff.contains(g)) {
                            if has_append {
                                cmd.push("-a".into());
                            }
                            need_mod = true;
                        }
                    } else {
                        need_mod = true;
                    }
                }
            }
            if need_mod {
                if p.append && !has_append {
                    cmd.extend(["-A".into(), diff.join(",")]);
                } else {
                    cmd.extend(["-G".into(), wanted.join(",")]);
                }
            }
        }
        if let Some(comment) = p.comment.as_ref().filter(|c| **c != info.gecos) {
            cmd.extend(["-c".into(), comment.clone()]);
        }
        if let Some(home) = p.home.as_ref().filter(|h| **h != info.dir) {
            cmd.extend(["-d".into(), home.clone()]);
            if p.move_home {
                cmd.push("-m".into());
            }
        }
        if let Some(shell) = p.shell.as_ref().filter(|s| **s != info.shell) {
            cmd.extend(["-s".into(), shell.clone()]);
        }
        if let Some(expires) = p.expires {
            // No shadow entry reads as 0, an empty field as -1.
            let current = self.shadow().map_or(0, |s| s.expire);
            match expires_days(expires) {
                None if current >= 0 => cmd.extend(["-e".into(), String::new()]),
                None => {}
                Some(days) => {
                    let wanted = utc_date(days);
                    if current < 0 || utc_date(current) != wanted {
                        cmd.extend(["-e".into(), format_date(wanted)]);
                    }
                }
            }
        }
        if let Some(inactive) = p.inactive {
            cmd.extend(["-f".into(), inactive.to_string()]);
        }
        let locked = info.passwd.starts_with('!');
        match p.password_lock {
            Some(true) if !locked => cmd.push("-L".into()),
            Some(false) if locked => cmd.push("-U".into()),
            _ => {}
        }
        if let Some(password) = &p.password
            && p.update_password == "always"
            && info.passwd.trim_start_matches('!') != password.trim_start_matches('!')
        {
            cmd.retain(|c| c != "-U" && c != "-L");
            cmd.push("-p".into());
            cmd.push(if p.password_lock == Some(true) {
                format!("!{password}")
            } else {
                password.clone()
            });
        }
        if cmd.len() == 1 {
            return Ok(None);
        }
        cmd.push(p.name.clone());
        self.exec(cmd).map(Some)
    }

    /// `chage -m/-M/-W` for the ageing values that differ.
    fn set_password_expire(&self) -> Res<Option<Ran>> {
        let p = &self.p;
        if p.expire_min.is_none() && p.expire_max.is_none() && p.expire_warn.is_none() {
            return Ok(None);
        }
        let Some(sp) = self.shadow() else {
            return Ok(None);
        };
        let mut cmd = strings(["chage"]);
        for (flag, wanted, current) in [
            ("-m", p.expire_min, sp.min),
            ("-M", p.expire_max, sp.max),
            ("-W", p.expire_warn, sp.warn),
        ] {
            if let Some(v) = wanted.filter(|v| *v != current) {
                cmd.extend([flag.to_owned(), v.to_string()]);
            }
        }
        if cmd.len() == 1 {
            return Ok(None);
        }
        cmd.push(p.name.clone());
        self.exec(cmd).map(Some)
    }

    /// `create_homedir`: a missing home made as a copy of the skeleton
    /// (or empty), given login.defs' home mode.
    fn create_homedir(&self, path: &str) -> Res<()> {
        if self.exists(path)? {
            return Ok(());
        }
        let skel = self.p.skeleton.as_deref().unwrap_or("/etc/skel");
        let fail = |e: std::io::Error| ModuleError::new(e.to_string());
        if skel != "/dev/null" && self.exists(skel)? {
            self.copytree(skel, path).map_err(fail)?;
        } else {
            self.ctx.target.create_dir_all(path, None).map_err(fail)?;
        }
        if let Ok(defs) = self.ctx.target.read_file("/etc/login.defs") {
            let mode = home_mode(&String::from_utf8_lossy(&defs));
            self.ctx.target.set_mode(path, mode).map_err(fail)?;
        }
        Ok(())
    }

    /// `shutil.copytree(src, dst, symlinks=True)`: links copied as links,
    /// files with their modes and times, directories' modes and times
    /// set after their contents.
    fn copytree(&self, src: &str, dst: &str) -> std::io::Result<()> {
        let t = self.ctx.target;
        let missing = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let top = t.stat(src, true)?.ok_or_else(missing)?;
        t.create_dir_all(dst, None)?;
        for name in t.list_dir(src)? {
            let (s, d) = (format!("{src}/{name}"), format!("{dst}/{name}"));
            let Some(st) = t.stat(&s, false)? else {
                continue;
            };
            match st.kind {
                FileKind::Link => t.symlink(&t.read_link(&s)?, &d)?,
                FileKind::Dir => self.copytree(&s, &d)?,
                _ => {
                    t.write_file(&d, &t.read_file(&s)?, Some(st.mode))?;
                    t.set_times(&d, Some((st.atime, st.mtime)))?;
                }
            }
        }
        t.set_mode(dst, top.mode)?;
        t.set_times(dst, Some((top.atime, top.mtime)))
    }

    /// `chown_homedir`: the home and everything in it (links themselves
    /// left alone) given to the user.
    fn chown_homedir(&self, uid: u32, gid: u32, path: &str) -> Res<()> {
        let t = self.ctx.target;
        let fail = |e: std::io::Error| ModuleError::new(e.to_string());
        t.chown(path, Some(uid), Some(gid)).map_err(fail)?;
        let mut stack = vec![path.to_owned()];
        while let Some(dir) = stack.pop() {
            for name in t.list_dir(&dir).map_err(fail)? {
                let full = format!("{}/{name}", dir.trim_end_matches('/'));
                let Some(st) = t.stat(&full, false).map_err(fail)? else {
                    continue;
                };
                match st.kind {
                    FileKind::Dir => {
                        t.chown(&full, Some(uid), Some(gid)).map_err(fail)?;
                        stack.push(full);
                    }
                    FileKind::Link => {
                        // os.walk lists a link to a directory with the
                        // directories, and os.chown follows it.
                        if t.stat(&full, true).map_err(fail)?.map(|s| s.kind) == Some(FileKind::Dir)
                        {
                            let real = t.real_path(&full).map_err(fail)?;
                            t.chown(&real, Some(uid), Some(gid)).map_err(fail)?;
                        }
                    }
                    _ => t.chown(&full, Some(uid), Some(gid)).map_err(fail)?,
                }
            }
        }
        Ok(())
    }
}

/// `os.path.dirname`.
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => match path[..=i].trim_end_matches('/') {
            "" => "/",
            head => head,
        },
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_passwords() {
        let sha512 = format!("$6$salt${}", "a".repeat(86));
        assert!(!maybe_unhashed(&sha512));
        assert!(!maybe_unhashed("!"));
        assert!(maybe_unhashed("secret"));
        assert!(maybe_unhashed("$6$salt$short"));
        assert!(maybe_unhashed(&format!("$6$salt${}", "a:".repeat(43))));
        assert!(!maybe_unhashed(&format!("$2b$salt${}", "b".repeat(10))));
    }

    #[test]
    fn expiry_dates() {
        assert_eq!(expires_days(-1.0), None);
        assert_eq!(expires_days(0.5), Some(0));
        let days = expires_days(1_700_000_000.0).expect("after 1970");
        assert_eq!(format_date(utc_date(days)), "2023-11-14");
    }

    #[test]
    fn login_defs_mode() {
        assert_eq!(home_mode("UMASK\t\t022\n"), 0o755);
        assert_eq!(home_mode("UMASK 077\nHOME_MODE 0750\nUMASK 022\n"), 0o750);
        assert_eq!(home_mode("#UMASK 077\n"), 0o755);
    }

    #[test]
    fn dirnames() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("a"), "");
    }
}
