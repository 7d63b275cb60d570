//! `mount` (`ansible.posix.mount`): a port of the ansible.posix
//! collection's mount.py for Linux hosts. It edits the fstab file
//! (`fstab`, `/etc/fstab` by default; created, with its directory, when
//! missing, even in check mode as the Python module does) for `present`,
//! `absent` and `absent_from_fstab`, and runs `mount` / `umount` for
//! `mounted`, `unmounted`, `remounted`, `ephemeral` and `absent`, with the
//! Python module's command lines (`-T <fstab>` for another fstab) and its
//! mount-point tests (`ismount`: another device or the same inode as
//! `path/..`; bind mounts from `/proc/self/mountinfo`). The result is
//! mount.py's: `changed`, its `args` (`name`, `src`, `fstype`, `opts`,
//! `dump`, `passno`, `fstab`, `boot`, `backup_file`), the warnings it
//! passes to `exit_json` and the deprecation ansible-core 2.19 adds for
//! passing them. Differences: fstab is replaced atomically where Python
//! rewrites it in place (mode and owner are kept), and only the Linux
//! field layout is supported (Solaris' vfstab and the BSDs' mount flags
//! fail with a message).

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::accounts::exec_out;
use super::accounts::{Ran, run};
use super::args::expand_user;
use super::bin::{get_bin_path, searched_path};
use super::fileattrs::py_os_error;
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;

pub struct Mount;

const STATES: [&str; 7] = [
    "absent",
    "absent_from_fstab",
    "mounted",
    "present",
    "unmounted",
    "remounted",
    "ephemeral",
];

impl Module for Mount {
    fn params(&self) -> &'static [&'static str] {
        &[
            "boot",
            "dump",
            "fstab",
            "fstype",
            "path",
            "name",
            "opts",
            "opts_no_log",
            "passno",
            "src",
            "backup",
            "state",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let path = args.string(&["path", "name"])?;
        let state = args.string(&["state"])?;
        let missing: Vec<&str> = [("path", path.is_none()), ("state", state.is_none())]
            .iter()
            .filter(|(_, m)| *m)
            .map(|(k, _)| *k)
            .collect();
        if !missing.is_empty() {
            return Err(ModuleError::new(format!(
                "missing required arguments: {}",
                missing.join(", ")
            )));
        }
        let name = expand_user(&path.unwrap_or_default(), || ctx.target.home());
        let p = Params {
            boot: args.bool("boot", true)?,
            backup: args.bool("backup", false)?,
            opts_no_log: args.bool("opts_no_log", false)?,
            state: args.choice("state", &STATES)?.unwrap_or_default(),
        };
        let src = args
            .string(&["src"])?
            .map(|s| expand_user(&s, || ctx.target.home()));
        let fstype = args.string(&["fstype"])?;
        for (state, reqs) in [
            ("mounted", ["src", "fstype"]),
            ("present", ["src", "fstype"]),
            ("ephemeral", ["src", "fstype"]),
        ] {
            let missing: Vec<&str> = reqs
                .iter()
                .copied()
                .filter(|k| !args.0.contains_key(*k))
                .collect();
            if p.state == state && !missing.is_empty() {
                return Err(ModuleError::new(format!(
                    "state is {state} but all of the following are missing: {}",
                    missing.join(", ")
                )));
            }
        }
        let system = exec_out(ctx, &["uname", "-s"]).unwrap_or_default();
        if system != "Linux" {
            return Err(ModuleError::new(format!(
                "{system} hosts are not supported by rustle's mount module (Linux only)"
            )));
        }
        let opts_param = args.string(&["opts"])?;
        let mut a = MountArgs {
            name,
            opts: opts_param.clone().unwrap_or_else(|| "defaults".to_owned()),
            dump: args.string(&["dump"])?.unwrap_or_else(|| "0".to_owned()),
            passno: args.string(&["passno"])?.unwrap_or_else(|| "0".to_owned()),
            fstab: args
                .string(&["fstab"])?
                .unwrap_or_else(|| "/etc/fstab".to_owned()),
            boot: "yes".to_owned(),
            src,
            fstype,
            backup_file: String::new(),
            warnings: Vec::new(),
        };
        let m = Mounter {
            ctx,
            p: &p,
            linux_mounts: get_linux_mounts(ctx),
        };
        if m.linux_mounts.is_none() {
            a.warnings.push(
                "Cannot open file /proc/self/mountinfo. Bind mounts might be misinterpreted."
                    .to_owned(),
            );
        }
        let opts: Vec<String> = a.opts.split(',').map(str::to_owned).collect();
        if p.boot && opts.iter().any(|o| o == "noauto") {
            a.warnings
                .push("Ignore the 'boot' due to 'opts' contains 'noauto'.".to_owned());
        } else if !p.boot {
            a.boot = "no".to_owned();
            a.opts = opts
                .into_iter()
                .chain(["noauto".to_owned()])
                .collect::<Vec<_>>()
                .join(",");
        }
        if p.state != "ephemeral" {
            m.ensure_fstab(&a.fstab)?;
        }

        let changed = m.apply(&mut a)?;

        let mut r = Vars::new();
        r.insert("changed".into(), json!(changed));
        r.insert("name".into(), json!(a.name));
        r.insert("opts".into(), json!(a.opts));
        r.insert("dump".into(), json!(a.dump));
        r.insert("passno".into(), json!(a.passno));
        r.insert("fstab".into(), json!(a.fstab));
        r.insert("boot".into(), json!(a.boot));
        r.insert("backup_file".into(), json!(a.backup_file));
        if let Some(src) = &a.src {
            r.insert("src".into(), json!(src));
        }
        if let Some(fstype) = &a.fstype {
            r.insert("fstype".into(), json!(fstype));
        }
        if !a.warnings.is_empty() {
            r.insert("warnings".into(), json!(a.warnings));
        }
        // ansible-core 2.19 deprecates the `warnings` mount.py passes to
        // exit_json.
        r.insert(
            "deprecations".into(),
            json!([{
                "collection_name": "ansible.builtin",
                "deprecator": {"resolved_name": "ansible.builtin", "type": null},
                "msg": "Passing `warnings` to `exit_json` or `fail_json` is deprecated.",
                "version": "2.23",
            }]),
        );
        if p.opts_no_log
            && let Some(opts) = opts_param.filter(|o| !o.is_empty())
        {
            for v in r.values_mut() {
                censor(v, &opts);
            }
        }
        Ok(Outcome::new(r))
    }
}

/// `remove_values` for one `no_log_values` entry: a string equal to it
/// replaced with Ansible's placeholder, its occurrences in others masked.
fn censor(v: &mut Json, secret: &str) {
    match v {
        Json::String(s) if s == secret => *s = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER".to_owned(),
        Json::String(s) if s.contains(secret) => *s = s.replace(secret, "********"),
        Json::Array(items) => items.iter_mut().for_each(|i| censor(i, secret)),
        Json::Object(m) => m.values_mut().for_each(|i| censor(i, secret)),
        _ => {}
    }
}

struct Params {
    boot: bool,
    backup: bool,
    opts_no_log: bool,
    state: String,
}

/// mount.py's `args`.
struct MountArgs {
    name: String,
    opts: String,
    dump: String,
    passno: String,
    fstab: String,
    boot: String,
    src: Option<String>,
    fstype: Option<String>,
    backup_file: String,
    warnings: Vec<String>,
}

/// One mount of `/proc/self/mountinfo`, as `get_linux_mounts` keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LinuxMount {
    src: String,
}

type LinuxMounts = Vec<(String, LinuxMount)>;

/// `_escape_fstab`: space, `&` and backslash as octal escapes.
fn escape(v: &str) -> String {
    v.replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('&', "\\046")
}

/// `get_linux_mounts`: mount point -> source, a bind mount's source
/// being the directory it shows (its root under its parent's mount point).
fn get_linux_mounts(ctx: &ModuleCtx) -> Option<LinuxMounts> {
    let bytes = ctx.target.read_file("/proc/self/mountinfo").ok()?;
    Some(parse_mountinfo(&String::from_utf8_lossy(&bytes)))
}

fn parse_mountinfo(text: &str) -> LinuxMounts {
    struct Rec {
        id: i64,
        parent: i64,
        root: String,
        dst: String,
        src: String,
    }
    let mut info: Vec<Rec> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 7 {
            continue;
        }
        let rec = Rec {
            id: f[0].parse().unwrap_or_default(),
            parent: f[1].parse().unwrap_or_default(),
            root: f[3].to_owned(),
            dst: f[4].to_owned(),
            src: f[f.len() - 2].to_owned(),
        };
        match info.iter_mut().find(|r| r.id == rec.id) {
            Some(old) => *old = rec,
            None => info.push(rec),
        }
    }
    let mut mounts: LinuxMounts = Vec::new();
    for i in 0..info.len() {
        let parent = info[i].parent;
        let src = match info.iter().position(|r| r.id == parent) {
            Some(pi) if parent != 1 => {
                let (m_root, m_dst) = (info[pi].root.clone(), info[pi].dst.clone());
                if m_root.len() > 1 && info[i].root.starts_with(&format!("{m_root}/")) {
                    info[i].root = info[i].root[m_root.len()..].to_owned();
                }
                if m_dst != "/" {
                    info[i].root = format!("{m_dst}{}", info[i].root);
                }
                info[i].root.clone()
            }
            _ => info[i].src.clone(),
        };
        let dst = info[i].dst.clone();
        match mounts.iter_mut().find(|(d, _)| *d == dst) {
            Some(entry) => entry.1 = LinuxMount { src },
            None => mounts.push((dst, LinuxMount { src })),
        }
    }
    mounts
}

struct Mounter<'a, 'c> {
    ctx: &'a ModuleCtx<'c>,
    p: &'a Params,
    linux_mounts: Option<LinuxMounts>,
}

impl Mounter<'_, '_> {
    fn exists(&self, path: &str) -> bool {
        matches!(self.ctx.target.stat(path, true), Ok(Some(_)))
    }

    fn bin(&self, name: &str) -> Result<String, ModuleError> {
        get_bin_path(self.ctx.target, name, &[]).ok_or_else(|| {
            ModuleError::new(format!(
                "Failed to find required executable \"{name}\" in paths: {}",
                searched_path(&[])
            ))
        })
    }

    /// A missing fstab is created empty (its directory too).
    fn ensure_fstab(&self, fstab: &str) -> Result<(), ModuleError> {
        if self.exists(fstab) {
            return Ok(());
        }
        let dir = fstab.rsplit_once('/').map_or("", |(d, _)| d);
        if !dir.is_empty() && !self.exists(dir) {
            self.ctx
                .target
                .create_dir_all(dir, None)
                .map_err(|e| ModuleError::new(py_os_error(&e, dir)))?;
        }
        self.ctx
            .target
            .write_file(fstab, b"", None)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    ModuleError::new(format!("Failed to open {fstab} due to permission issue"))
                }
                _ => ModuleError::new(format!(
                    "Failed to open {fstab} due to {}",
                    py_os_error(&e, fstab)
                )),
            })
    }

    fn read_lines(&self, fstab: &str) -> Result<Vec<String>, ModuleError> {
        let bytes = self
            .ctx
            .target
            .read_file(fstab)
            .map_err(|e| ModuleError::new(py_os_error(&e, fstab)))?;
        Ok(String::from_utf8_lossy(&bytes)
            .split_inclusive('\n')
            .map(str::to_owned)
            .collect())
    }

    /// `write_fstab`: the backup's name ("" without `backup`).
    fn write_fstab(&self, lines: &[String], fstab: &str) -> Result<String, ModuleError> {
        let backup = if self.p.backup {
            self.backup_local(fstab)?
        } else {
            String::new()
        };
        self.ctx
            .target
            .write_file(fstab, lines.concat().as_bytes(), None)
            .map_err(|e| ModuleError::new(py_os_error(&e, fstab)))?;
        Ok(backup)
    }

    /// `backup_local`: a copy named `<file>.<pid>.<local time>~`, with the
    /// file's mode, times and owner.
    fn backup_local(&self, path: &str) -> Result<String, ModuleError> {
        let Some(st) = self.ctx.target.stat(path, true).ok().flatten() else {
            return Ok(String::new());
        };
        let stamp = exec_out(
            self.ctx,
            &["/bin/sh", "-c", "echo $$; date +%Y-%m-%d@%H:%M:%S~"],
        )
        .ok_or_else(|| ModuleError::new(format!("Could not make backup of '{path}'.")))?;
        let mut parts = stamp.lines();
        let (pid, time) = (parts.next().unwrap_or("0"), parts.next().unwrap_or(""));
        let dest = format!("{path}.{pid}.{time}");
        let fail = |_| {
            ModuleError::new(format!(
                "Could not make backup of {} to {}.",
                super::args::py_repr(path),
                super::args::py_repr(&dest)
            ))
        };
        let content = self.ctx.target.read_file(path).map_err(fail)?;
        self.ctx
            .target
            .write_file(&dest, &content, Some(st.mode))
            .map_err(fail)?;
        self.ctx
            .target
            .set_times(&dest, Some((st.atime, st.mtime)))
            .map_err(fail)?;
        let _ = self.ctx.target.chown(&dest, Some(st.uid), Some(st.gid));
        Ok(dest)
    }

    /// `_set_mount_save_old`: whether the entry changed, and fstab's lines
    /// as they were.
    fn set_mount(&self, a: &mut MountArgs) -> Result<(bool, Vec<String>), ModuleError> {
        let src = a.src.clone().unwrap_or_default();
        let (e_src, e_name, e_fstype) = (
            escape(&src),
            escape(&a.name),
            escape(a.fstype.as_deref().unwrap_or_default()),
        );
        let (e_opts, e_dump, e_passno) = (escape(&a.opts), escape(&a.dump), escape(&a.passno));
        let mut to_write = Vec::new();
        let mut old_lines = Vec::new();
        let mut exists = false;
        let mut changed = false;
        for line in self.read_lines(&a.fstab)? {
            let line = if line.ends_with('\n') {
                line
            } else {
                line + "\n"
            };
            old_lines.push(line.clone());
            if line.trim().is_empty() || line.trim().starts_with('#') {
                to_write.push(line);
                continue;
            }
            let fields: Vec<&str> = line
                .split('#')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            if !(4..=6).contains(&fields.len()) {
                to_write.push(line);
                continue;
            }
            // src, name, fstype, opts, then dump and passno (missing ones
            // are Python's int 0, never equal to a string).
            let mut ld: Vec<Option<String>> = vec![None; 6];
            for (i, f) in fields.iter().enumerate() {
                ld[i] = Some((*f).to_owned());
            }
            let ld_name = ld[1].clone().unwrap_or_default();
            let is_other_swap = a.src.is_some()
                && ld_name == "none"
                && ld[2].as_deref() == Some("swap")
                && ld[0].as_deref() != Some(src.as_str());
            if ld_name != e_name || is_other_swap {
                to_write.push(line);
                continue;
            }
            exists = true;
            let wanted = [&e_src, &e_name, &e_fstype, &e_opts, &e_dump, &e_passno];
            for i in [0, 2, 3, 4, 5] {
                if ld[i].as_deref() != Some(wanted[i].as_str()) {
                    ld[i] = Some(wanted[i].clone());
                    changed = true;
                }
            }
            if changed {
                let ld: Vec<String> = ld.into_iter().map(Option::unwrap_or_default).collect();
                to_write.push(ld.join(" ") + "\n");
            } else {
                to_write.push(line);
            }
        }
        if !exists {
            to_write.push(format!(
                "{e_src} {e_name} {e_fstype} {e_opts} {e_dump} {e_passno}\n"
            ));
            changed = true;
        }
        if changed && !self.ctx.check {
            a.backup_file = self.write_fstab(&to_write, &a.fstab)?;
        }
        Ok((changed, old_lines))
    }

    /// `unset_mount`: whether an entry was removed.
    fn unset_mount(&self, a: &MountArgs) -> Result<bool, ModuleError> {
        let e_name = escape(&a.name);
        let mut to_write = Vec::new();
        let mut changed = false;
        for line in self.read_lines(&a.fstab)? {
            if line.trim().is_empty() || line.trim().starts_with('#') {
                to_write.push(line);
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() != 6 {
                to_write.push(line);
                continue;
            }
            let is_other_swap = a
                .src
                .as_ref()
                .is_some_and(|src| f[1] == "none" && f[2] == "swap" && f[0] != src.as_str());
            if f[1] != e_name || is_other_swap {
                to_write.push(line);
                continue;
            }
            changed = true;
        }
        if changed && !self.ctx.check {
            self.write_fstab(&to_write, &a.fstab)?;
        }
        Ok(changed)
    }

    /// `ismount`: `path` is on another device than `path/..`, or is it.
    fn ismount(&self, path: &str) -> bool {
        let Ok(Some(s1)) = self.ctx.target.stat(path, false) else {
            return false;
        };
        if s1.kind == FileKind::Link {
            return false;
        }
        let Ok(parent) = self.ctx.target.real_path(&format!("{path}/..")) else {
            return false;
        };
        let Ok(Some(s2)) = self.ctx.target.stat(&parent, false) else {
            return false;
        };
        s1.dev != s2.dev || s1.ino == s2.ino
    }

    /// `is_bind_mounted`: something (`src`, when given) is mounted on `dest`.
    fn is_bind_mounted(&self, dest: &str, src: Option<&str>) -> Result<bool, ModuleError> {
        if let Some(mounts) = &self.linux_mounts {
            let found = mounts.iter().find(|(d, _)| d == dest);
            return Ok(match src {
                None => found.is_some(),
                Some(src) => found.is_some_and(|(_, m)| m.src == src),
            });
        }
        let ran = run(self.ctx, vec![self.bin("mount")?, "-l".into()])?;
        Ok(ran.out.trim().lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 2 && src.is_none_or(|s| f[0] == s) && f[2] == dest
        }))
    }

    fn mounted(&self, path: &str) -> Result<bool, ModuleError> {
        Ok(self.ismount(path) || self.is_bind_mounted(path, None)?)
    }

    /// `-T <fstab>` for a file other than /etc/fstab.
    fn fstab_args(&self, a: &MountArgs) -> Vec<String> {
        if self.p.state != "ephemeral" && !a.fstab.is_empty() && a.fstab != "/etc/fstab" {
            vec!["-T".into(), a.fstab.clone()]
        } else {
            Vec::new()
        }
    }

    fn ephemeral_args(&self, a: &MountArgs) -> Vec<String> {
        if self.p.state != "ephemeral" {
            return Vec::new();
        }
        let mut v = vec!["-t".into(), a.fstype.clone().unwrap_or_default()];
        if a.opts != "defaults" {
            v.extend(["-o".into(), a.opts.clone()]);
        }
        v.push(a.src.clone().unwrap_or_default());
        v
    }

    /// Runs a command; `(rc, out + err)`.
    fn run(&self, argv: Vec<String>) -> Result<(i32, String), ModuleError> {
        let Ran { rc, out, err } = run(self.ctx, argv)?;
        Ok((rc, if rc == 0 { String::new() } else { out + &err }))
    }

    fn mount(&self, a: &MountArgs) -> Result<(i32, String), ModuleError> {
        let mut cmd = vec![self.bin("mount")?];
        cmd.extend(self.fstab_args(a));
        cmd.extend(self.ephemeral_args(a));
        cmd.push(a.name.clone());
        self.run(cmd)
    }

    fn umount(&self, path: &str) -> Result<(i32, String), ModuleError> {
        self.run(vec![self.bin("umount")?, path.to_owned()])
    }

    /// `remount`: `mount -o remount`, else umount and mount.
    fn remount(&self, a: &MountArgs) -> Result<(i32, String), ModuleError> {
        let with_opts = self.p.state == "remounted" && a.opts != "defaults";
        let mut cmd = vec![self.bin("mount")?, "-o".into()];
        cmd.push(if with_opts {
            format!("remount,{}", a.opts)
        } else {
            "remount".into()
        });
        cmd.extend(self.fstab_args(a));
        cmd.extend(self.ephemeral_args(a));
        cmd.push(a.name.clone());
        let (rc, _) = self.run(cmd)?;
        if rc == 0 {
            return Ok((0, String::new()));
        }
        if with_opts {
            return Err(ModuleError::new(
                "Options were specified with remounted, but the remount command failed. \
                 Failing in order to prevent an unexpected mount result. Try replacing this \
                 command with a \"state: unmounted\" followed by a \"state: mounted\" using \
                 the full desired mount options instead.",
            ));
        }
        let (rc, msg) = self.umount(&a.name)?;
        if rc == 0 {
            return self.mount(a);
        }
        Ok((rc, msg))
    }

    /// `_is_same_mount_src`: `src` is what is mounted on `mountpoint`.
    fn same_mount_src(&self, src: &str, mountpoint: &str) -> Result<bool, ModuleError> {
        if !self.mounted(mountpoint)? {
            return Ok(false);
        }
        if self.linux_mounts.is_some() && self.is_bind_mounted(mountpoint, Some(src))? {
            return Ok(true);
        }
        let bin = self.bin("mount")?;
        let ran = run(self.ctx, vec![bin.clone(), "-v".into()])?;
        if ran.out.is_empty() {
            return Err(ModuleError::new(format!(
                "Unable to retrieve mount info with command '{bin} -v'"
            )));
        }
        Ok(ran.out.trim().lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 2 && f[0] == src && f[2] == mountpoint
        }))
    }

    /// Python's `os.rmdir`, with its message.
    fn rmdir(&self, path: &str) -> Result<(), String> {
        let errno = |code: i32| py_os_error(&std::io::Error::from_raw_os_error(code), path);
        match self.ctx.target.stat(path, false) {
            Ok(Some(st)) if st.kind == FileKind::Dir => {}
            Ok(Some(_)) => return Err(errno(20)),
            Ok(None) => return Err(errno(2)),
            Err(e) => return Err(py_os_error(&e, path)),
        }
        match self.ctx.target.list_dir(path) {
            Ok(names) if names.is_empty() => self
                .ctx
                .target
                .remove(path)
                .map_err(|e| py_os_error(&e, path)),
            Ok(_) => Err(errno(39)),
            Err(e) => Err(py_os_error(&e, path)),
        }
    }

    /// The state's work; whether something changed.
    fn apply(&self, a: &mut MountArgs) -> Result<bool, ModuleError> {
        let check = self.ctx.check;
        let name = a.name.clone();
        match self.p.state.as_str() {
            "absent_from_fstab" => self.unset_mount(a),
            "absent" => {
                let changed = self.unset_mount(a)?;
                if changed && !check {
                    if self.mounted(&name)? {
                        let (rc, msg) = self.umount(&name)?;
                        if rc != 0 {
                            return Err(ModuleError::new(format!(
                                "Error unmounting {name}: {msg}"
                            )));
                        }
                    }
                    if self.exists(&name) {
                        self.rmdir(&name)
                            .map_err(|e| ModuleError::new(format!("Error rmdir {name}: {e}")))?;
                    }
                }
                Ok(changed)
            }
            "unmounted" => {
                if !self.mounted(&name)? {
                    return Ok(false);
                }
                if !check {
                    let (rc, msg) = self.umount(&name)?;
                    if rc != 0 {
                        return Err(ModuleError::new(format!("Error unmounting {name}: {msg}")));
                    }
                }
                Ok(true)
            }
            "mounted" | "ephemeral" => self.mount_state(a),
            "present" => Ok(self.set_mount(a)?.0),
            "remounted" => {
                if !check {
                    let (rc, msg) = self.remount(a)?;
                    if rc != 0 {
                        return Err(ModuleError::new(format!("Error remounting {name}: {msg}")));
                    }
                }
                Ok(true)
            }
            _ => Err(ModuleError::new("Unexpected position reached")),
        }
    }

    /// `mounted` and `ephemeral`.
    fn mount_state(&self, a: &mut MountArgs) -> Result<bool, ModuleError> {
        let check = self.ctx.check;
        let ephemeral = self.p.state == "ephemeral";
        let name = a.name.clone();
        let mut dirs_created: Vec<String> = Vec::new();
        if !self.exists(&name) && !check {
            // mkdir -p, remembering what it made.
            let mut cur = String::new();
            for part in name.trim_matches('/').split('/') {
                cur = format!("{cur}/{part}");
                if !name.starts_with('/') {
                    cur = cur.trim_start_matches('/').to_owned();
                }
                if !self.exists(&cur) {
                    self.ctx.target.create_dir_all(&cur, None).map_err(|e| {
                        ModuleError::new(format!(
                            "Error making dir {name}: {}",
                            py_os_error(&e, &cur)
                        ))
                    })?;
                    dirs_created.push(cur.clone());
                }
            }
        }
        let (mut changed, backup_lines) = if ephemeral {
            (false, Vec::new())
        } else {
            self.set_mount(a)?
        };
        let mut res = (0, String::new());
        let src = a.src.clone().unwrap_or_default();
        if self.ismount(&name) || self.is_bind_mounted(&name, Some(&src))? {
            if changed && !check {
                res = self.remount(a)?;
                changed = true;
            }
            if ephemeral {
                if !self.same_mount_src(&src, &name)? {
                    return Err(ModuleError::new(
                        "Ephemeral mount point is already mounted with a different source \
                         than the specified one. Failing in order to prevent an unwanted \
                         unmount or override operation. Try replacing this command with a \
                         \"state: unmounted\" followed by a \"state: ephemeral\", or use a \
                         different destination path.",
                    ));
                }
                changed = true;
                if !check {
                    res = self.remount(a)?;
                }
            }
        } else {
            changed = true;
            if !check {
                res = self.mount(a)?;
            }
        }
        if res.0 != 0 {
            // The fstab entry goes back as it was, and the directories made.
            if !ephemeral {
                let _ = self.write_fstab(&backup_lines, &a.fstab);
            }
            for dir in dirs_created.iter().rev() {
                if self.rmdir(dir).is_err() {
                    break;
                }
            }
            return Err(ModuleError::new(format!(
                "Error mounting {name}: {}",
                res.1
            )));
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_mount_sources() {
        // The examples of mount.py's comments.
        let text = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n\
                    42 1 0:35 / /tmp rw - tmpfs tmpfs rw\n\
                    78 42 0:35 /aaa /tmp/bbb rw - tmpfs tmpfs rw\n\
                    140 136 253:2 /rootfs / rw - ext4 /dev/sdb2 rw\n";
        let mounts = parse_mountinfo(text);
        let src = |dst: &str| {
            mounts
                .iter()
                .find(|(d, _)| d == dst)
                .map(|(_, m)| m.src.clone())
        };
        assert_eq!(src("/tmp").as_deref(), Some("tmpfs"));
        assert_eq!(src("/tmp/bbb").as_deref(), Some("/tmp/aaa"));
        assert_eq!(src("/").as_deref(), Some("/dev/sdb2"));
    }

    #[test]
    fn fstab_escapes() {
        assert_eq!(escape("/mnt/my disk&x\\y"), "/mnt/my\\040disk\\046x\\134y");
    }
}
