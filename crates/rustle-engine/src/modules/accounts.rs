//! What the user and group modules share: the account databases read as
//! glibc's `files` backend reads them (`/etc/passwd`, `/etc/group`,
//! `/etc/shadow`, first entry of a name wins), and running the shadow
//! tools (`useradd`, `groupmod` ...) as `module.run_command` does.
//! Directory services (LDAP, SSSD) are not consulted: only local files.

use super::{ModuleCtx, ModuleError};
use crate::target::{ExecRequest, Target};

/// One `/etc/passwd` entry (`pwd.struct_passwd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PwEntry {
    pub name: String,
    pub passwd: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub dir: String,
    pub shell: String,
}

/// One `/etc/group` entry (`grp.struct_group`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The fields of an `/etc/shadow` entry the modules read; empty numbers
/// are -1, as `getspnam` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpEntry {
    pub pwd: String,
    pub min: i64,
    pub max: i64,
    pub warn: i64,
    pub expire: i64,
}

fn read_db(target: &dyn Target, path: &str) -> Result<String, ModuleError> {
    match target.read_file(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(ModuleError::new(format!("cannot read {path}: {e}"))),
    }
}

/// The entries of a `name:...` database with at least `min` fields
/// (glibc skips malformed lines and NIS `+`/`-` entries).
fn lines(text: &str, min: usize) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with(['+', '-', '#']))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(move |f| f.len() >= min)
}

pub fn parse_passwd(text: &str) -> Vec<PwEntry> {
    lines(text, 7)
        .filter_map(|f| {
            Some(PwEntry {
                name: f[0].to_owned(),
                passwd: f[1].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                gecos: f[4].to_owned(),
                dir: f[5].to_owned(),
                shell: f[6].to_owned(),
            })
        })
        .collect()
}

pub fn parse_group(text: &str) -> Vec<GrEntry> {
    lines(text, 4)
        .filter_map(|f| {
            Some(GrEntry {
                name: f[0].to_owned(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

pub fn parse_shadow(text: &str, name: &str) -> Option<SpEntry> {
    let num = |s: &str| s.parse().unwrap_or(-1);
    lines(text, 8).find(|f| f[0] == name).map(|f| SpEntry {
        pwd: f[1].to_owned(),
        min: num(f[3]),
        max: num(f[4]),
        warn: num(f[5]),
        expire: num(f[7]),
    })
}

pub fn users(target: &dyn Target) -> Result<Vec<PwEntry>, ModuleError> {
    Ok(parse_passwd(&read_db(target, "/etc/passwd")?))
}

pub fn groups(target: &dyn Target) -> Result<Vec<GrEntry>, ModuleError> {
    Ok(parse_group(&read_db(target, "/etc/group")?))
}

/// `pwd.getpwnam`.
pub fn getpwnam(target: &dyn Target, name: &str) -> Result<Option<PwEntry>, ModuleError> {
    Ok(users(target)?.into_iter().find(|u| u.name == name))
}

/// `grp.getgrnam`.
pub fn getgrnam(target: &dyn Target, name: &str) -> Result<Option<GrEntry>, ModuleError> {
    Ok(groups(target)?.into_iter().find(|g| g.name == name))
}

/// `getspnam`: `None` when there is no entry or the file is unreadable.
pub fn getspnam(target: &dyn Target, name: &str) -> Option<SpEntry> {
    let text = read_db(target, "/etc/shadow").ok()?;
    parse_shadow(&text, name)
}

/// `get_bin_path`, or the bare name for the target's `PATH` to find.
pub fn bin_path(target: &dyn Target, name: &str) -> String {
    super::bin::get_bin_path(target, name, &[]).unwrap_or_else(|| name.to_owned())
}

/// The trimmed stdout of a command that succeeded (no task environment).
pub fn exec_out(ctx: &ModuleCtx, argv: &[&str]) -> Option<String> {
    let out = ctx
        .target
        .exec(&ExecRequest::new(argv.iter().copied()))
        .ok()?;
    (out.rc == 0).then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// What `run_command` returns: exit code, stdout and stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ran {
    pub rc: i32,
    pub out: String,
    pub err: String,
}

/// `stdout`/`stderr` when not empty, with the `_lines` the action
/// plugin adds to any module's result.
pub fn add_output(r: &mut rustle_format::Vars, out: &str, err: &str) {
    for (key, text) in [("stdout", out), ("stderr", err)] {
        if !text.is_empty() {
            r.insert(key.into(), serde_json::json!(text));
            r.insert(
                format!("{key}_lines"),
                serde_json::json!(text.lines().collect::<Vec<_>>()),
            );
        }
    }
}

/// Runs `argv` (its first word found with [`bin_path`]) in the task's
/// environment.
pub fn run(ctx: &ModuleCtx, argv: Vec<String>) -> Result<Ran, ModuleError> {
    let mut argv = argv;
    if let Some(first) = argv.first_mut() {
        *first = bin_path(ctx.target, first);
    }
    let mut req = ExecRequest::new(argv);
    req.env = ctx.env.to_vec();
    let out = ctx
        .target
        .exec(&req)
        .map_err(|e| ModuleError::new(format!("[Errno 2] No such file or directory: {e}")))?;
    Ok(Ran {
        rc: out.rc,
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_entries() {
        let text = "root:x:0:0:root:/root:/bin/bash\nbad:line\n+nis::::::\n\
                    al:x:1001:1002:Al B,,,:/home/al:/bin/sh\nal:x:9:9::/:/x\n";
        let users = parse_passwd(text);
        assert_eq!(users.len(), 3);
        assert_eq!(users[1].name, "al");
        assert_eq!(users[1].gecos, "Al B,,,");
        assert_eq!((users[1].uid, users[1].gid), (1001, 1002));
    }

    #[test]
    fn group_members() {
        let groups = parse_group("adm:x:4:syslog,al\nempty:x:5:\n");
        assert_eq!(groups[0].members, ["syslog", "al"]);
        assert!(groups[1].members.is_empty());
    }

    #[test]
    fn shadow_fields() {
        let sp = parse_shadow("al:!$6$x:19000:0:99999:7:::\nbo:*:1:::::20000:\n", "bo");
        let sp = sp.expect("an entry");
        assert_eq!(
            (sp.pwd.as_str(), sp.min, sp.max, sp.expire),
            ("*", -1, -1, 20000)
        );
        let al = parse_shadow("al:!$6$x:19000:0:99999:7:::\n", "al").expect("an entry");
        assert_eq!((al.min, al.max, al.warn, al.expire), (0, 99999, 7, -1));
    }
}
