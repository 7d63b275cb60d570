//! `group`: a local group present (with a `gid`, `system`, `non_unique`)
//! or absent (`force`), through `groupadd`/`groupmod`/`groupdel` as
//! group.py's Linux class runs them, the current state read from
//! `/etc/group`. `local: true` (the libuser `lgroup*` tools) is not
//! supported and fails; other platforms' tools are left out.

use serde_json::json;

use super::accounts::{self, GrEntry};
use super::args::Args;
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};

pub struct Group;

impl Module for Group {
    fn params(&self) -> &'static [&'static str] {
        &[
            "force",
            "gid",
            "gid_max",
            "gid_min",
            "local",
            "name",
            "non_unique",
            "state",
            "system",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let state = args
            .choice("state", &["absent", "present"])?
            .unwrap_or_else(|| "present".to_owned());
        let name = args.required(&["name"])?;
        let force = args.bool("force", false)?;
        let gid = args.int("gid")?;
        let system = args.bool("system", false)?;
        let local = args.bool("local", false)?;
        let non_unique = args.bool("non_unique", false)?;
        let gid_min = args.int("gid_min")?;
        let gid_max = args.int("gid_max")?;
        if non_unique && gid.is_none() {
            return Err(ModuleError::new(
                "non_unique is True but all of the following are missing: gid",
            ));
        }
        if force && local {
            return Err(ModuleError::new(
                "force is not a valid option for local, force=True and local=True are mutually exclusive",
            ));
        }
        if local {
            return Err(ModuleError::new(
                "rustle does not support local: true for the group module (the lgroupadd/lgroupmod/lgroupdel tools)",
            ));
        }
        let info = || accounts::getgrnam(ctx.target, &name);
        let mut r = result([("name", json!(name)), ("state", json!(state))]);
        let mut ran: Option<accounts::Ran> = None;
        let fail = |err: String| {
            let r = result([
                ("failed", json!(true)),
                ("changed", json!(false)),
                ("name", json!(name)),
                ("msg", json!(err)),
            ]);
            Ok(Outcome::new(r))
        };
        let checked = || Ok(Outcome::new(result([("changed", json!(true))])));
        if state == "absent" {
            if info()?.is_some() {
                if ctx.check {
                    return checked();
                }
                let mut cmd = vec!["groupdel".to_owned()];
                if force {
                    cmd.push("-f".to_owned());
                }
                cmd.push(name.clone());
                let done = accounts::run(ctx, cmd)?;
                if done.rc != 0 {
                    return fail(done.err);
                }
                ran = Some(done);
            }
        } else {
            match info()? {
                None => {
                    if ctx.check {
                        return checked();
                    }
                    let cmd = add_command(&name, gid, non_unique, system, gid_min, gid_max);
                    ran = Some(accounts::run(ctx, cmd)?);
                }
                Some(current) => {
                    if let Some(cmd) = mod_command(&current, gid, non_unique) {
                        ran = Some(if ctx.check {
                            accounts::Ran::default()
                        } else {
                            accounts::run(ctx, cmd)?
                        });
                    }
                }
            }
            if let Some(done) = ran.as_ref().filter(|d| d.rc != 0) {
                return fail(done.err.clone());
            }
        }
        r.insert("changed".into(), json!(ran.is_some()));
        if let Some(done) = &ran {
            accounts::add_output(&mut r, &done.out, &done.err);
        }
        if let Some(now) = info()? {
            r.insert("system".into(), json!(system));
            r.insert("gid".into(), json!(now.gid));
        }
        Ok(Outcome::new(r))
    }
}

/// `groupadd [-g GID [-o]] [-r] [-K GID_MIN=..] [-K GID_MAX=..] NAME`.
fn add_command(
    name: &str,
    gid: Option<i64>,
    non_unique: bool,
    system: bool,
    gid_min: Option<i64>,
    gid_max: Option<i64>,
) -> Vec<String> {
    let mut cmd = vec!["groupadd".to_owned()];
    if let Some(gid) = gid {
        cmd.extend(["-g".to_owned(), gid.to_string()]);
        if non_unique {
            cmd.push("-o".to_owned());
        }
    }
    if system {
        cmd.push("-r".to_owned());
    }
    for (key, value) in [("GID_MIN", gid_min), ("GID_MAX", gid_max)] {
        if let Some(v) = value {
            cmd.extend(["-K".to_owned(), format!("{key}={v}")]);
        }
    }
    cmd.push(name.to_owned());
    cmd
}

/// `groupmod -g GID [-o] NAME` when the gid differs, else nothing to do.
fn mod_command(current: &GrEntry, gid: Option<i64>, non_unique: bool) -> Option<Vec<String>> {
    let gid = gid.filter(|g| *g != i64::from(current.gid))?;
    let mut cmd = vec!["groupmod".to_owned(), "-g".to_owned(), gid.to_string()];
    if non_unique {
        cmd.push("-o".to_owned());
    }
    cmd.push(current.name.clone());
    Some(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(
            add_command("g", Some(5), true, true, None, Some(900)),
            ["groupadd", "-g", "5", "-o", "-r", "-K", "GID_MAX=900", "g"]
        );
        let current = GrEntry {
            name: "g".into(),
            gid: 5,
            members: vec![],
        };
        assert_eq!(mod_command(&current, Some(5), false), None);
        assert_eq!(mod_command(&current, None, false), None);
        assert_eq!(
            mod_command(&current, Some(6), true).expect("a change"),
            ["groupmod", "-g", "6", "-o", "g"]
        );
    }
}
