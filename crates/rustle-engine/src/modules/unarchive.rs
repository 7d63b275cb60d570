//! `unarchive`: a port of ansible-core's unarchive module and action
//! plugin. The archive comes from the controller (`src`, put in a
//! temporary directory on the host and removed afterwards) or is already
//! on the host (`remote_src`); the host's own `unzip`/`zipinfo` and GNU
//! `tar` unpack it, tried in Ansible's handler order (ZipArchive,
//! ZipZArchive, TgzArchive, TarArchive, TarBzipArchive, TarXzArchive,
//! TarZstdArchive). Whether anything must change is decided as Ansible
//! does: `tar --diff` for tar archives, the `zipinfo` listing compared
//! with the files on disk (type, time, size, CRC-32, mode, owner) for zip
//! archives, whose itemized changes are the `prepared` diff. `creates`,
//! `list_files`, `exclude`, `include`, `extra_opts`, `keep_newer` and
//! mode/owner/group (set on every extracted file) are supported; check
//! mode decides without extracting and skips tar archives, as Ansible.
//! Left out: URL sources (`src` with `://`), `validate_certs`,
//! `decrypt` (vault), SELinux attributes, and `io_buffer_size` (accepted,
//! it only sizes Python's read buffer). Zip member names that are not
//! flagged UTF-8 are decoded as UTF-8 rather than Python's cp437, and zip
//! times are read in the host's local time by its `date`.

use serde_json::{Value as Json, json};

use super::action::{action_failed, host_temp_dir, not_found};
use super::args::{Args, expand_user};
use super::fileattrs::{Accounts, Db, FileArgs, add_path_info, stat};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::target::{ExecRequest, FileKind};
use crate::util::escape::escape_decode;
use crate::util::mode::parse_mode;
use crate::util::pypath::join;
use crate::util::shell::quote;

pub struct Unarchive;

impl Module for Unarchive {
    fn params(&self) -> &'static [&'static str] {
        &[
            "src",
            "dest",
            "remote_src",
            "copy",
            "creates",
            "list_files",
            "keep_newer",
            "exclude",
            "include",
            "extra_opts",
            "validate_certs",
            "io_buffer_size",
            "decrypt",
            "mode",
            "owner",
            "group",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        // The action plugin's part, on the controller in Ansible.
        let mut remote_src = args.bool("remote_src", false)?;
        if args.0.contains_key("copy") {
            if args.0.contains_key("remote_src") {
                return Ok(action_failed(
                    "parameters are mutually exclusive: ('copy', 'remote_src')",
                ));
            }
            remote_src = !args.bool("copy", true)?;
        }
        let (Some(src), Some(dest)) = (args.string(&["src"])?, args.string(&["dest"])?) else {
            return Ok(action_failed("src (or content) and dest are required"));
        };
        if let Some(creates) = args.string(&["creates"])? {
            let creates = expand_user(&creates, || ctx.target.home());
            if !creates.is_empty() && stat(ctx, &creates, false)?.is_some() {
                return Ok(Outcome::new(result([
                    ("changed", json!(false)),
                    ("skipped", json!(true)),
                    ("msg", json!(format!("skipped, since {creates} exists"))),
                ])));
            }
        }
        let dest = expand_user(&dest, || ctx.target.home());
        let archive = if remote_src {
            None
        } else if src.contains("://") {
            return Ok(action_failed(&format!(
                "Unsupported option, an URI src ({src}) is only supported when remote_src is True"
            )));
        } else {
            match ctx.files.find(&src) {
                Ok((_, bytes)) => Some(bytes),
                Err(_) => return Ok(not_found(ctx, &src, "files")),
            }
        };
        if stat(ctx, &dest, true)?.is_none_or(|s| s.kind != FileKind::Dir) {
            return Ok(action_failed(&format!(
                "dest '{dest}' must be an existing dir"
            )));
        }
        let Some(bytes) = archive else {
            let src = expand_user(&src, || ctx.target.home());
            return unarchive(ctx, args, &src, &dest, None);
        };
        // Transferred to a temporary directory, removed whatever happens.
        let tmp = host_temp_dir(ctx)?;
        let tmp_src = format!("{tmp}/source");
        let outcome = match ctx.target.write_file(&tmp_src, &bytes, Some(0o600)) {
            Ok(()) => unarchive(ctx, args, &tmp_src, &dest, Some(&bytes)),
            Err(e) => Err(ModuleError::new(format!(
                "Failed to transfer {src} to {tmp_src}: {e}"
            ))),
        };
        let _ = ctx.target.remove(&tmp);
        outcome
    }
}

/// The module's part: `src` is on the host. `bytes` is the archive when
/// the controller sent it (read from the host otherwise, for zip CRCs).
fn unarchive(
    ctx: &ModuleCtx,
    args: &Args,
    src: &str,
    dest: &str,
    bytes: Option<&[u8]>,
) -> ModuleResult {
    args.exclusive("include", "exclude")?;
    let params = Params::read(args)?;
    let Some(src_stat) = stat(ctx, src, true)? else {
        if params.remote_src && src.contains("://") {
            return Err(ModuleError::new(
                "unarchive: downloading a URL src is not supported",
            ));
        }
        return Err(ModuleError::new(if params.remote_src {
            format!("Source '{src}' does not exist")
        } else {
            format!("Source '{src}' failed to transfer")
        }));
    };
    if src_stat.size == 0 {
        return Err(ModuleError::new(format!(
            "Invalid archive '{src}', the file is 0 bytes"
        )));
    }
    let b_dest = abspath(dest);
    if stat(ctx, &b_dest, true)?.is_none_or(|s| s.kind != FileKind::Dir) {
        return Err(ModuleError::new(format!(
            "Destination '{dest}' is not a directory"
        )));
    }
    let host = Host::new(ctx);
    let mut handler = match pick_handler(&host, &params, src, &b_dest)? {
        Picked::Handler(h) => h,
        Picked::Skipped(msg) => {
            return Ok(Outcome::new(result([
                ("changed", json!(false)),
                ("skipped", json!(true)),
                ("msg", json!(msg)),
            ])));
        }
        Picked::None(msg) => return Err(ModuleError::new(msg)),
    };
    let mut r = result([
        ("handler", json!(handler.kind.name())),
        ("dest", json!(dest)),
        ("src", json!(src)),
    ]);
    let check = handler.is_unarchived(&host, &params, bytes)?;
    let mut changed;
    if ctx.check {
        changed = !check.unarchived;
    } else if check.unarchived {
        changed = false;
    } else {
        let extract = handler.unarchive(&host, &params)?;
        let rc = extract.rc;
        r.insert("extract_results".into(), extract.to_json());
        if rc != 0 {
            let mut failed = result([
                ("failed", json!(true)),
                ("msg", json!(format!("failed to unpack {src} to {dest}"))),
            ]);
            failed.extend(r);
            failed.insert("changed".into(), json!(false));
            add_path_info(ctx, &mut failed)?;
            return Ok(Outcome::new(failed));
        }
        changed = true;
    }
    if let Some(diff) = check.diff.filter(|d| !d.is_empty()) {
        r.insert("diff".into(), json!({"prepared": diff}));
    }
    if !ctx.check {
        let attrs = FileArgs::read(args)?;
        let mut top_folders: Vec<String> = Vec::new();
        for filename in handler.files_in_archive(&host, &params)? {
            changed = attrs.apply(ctx, &join(&b_dest, &filename), changed, None)?;
            if let Some((top, _)) = filename.split_once('/')
                && !top_folders.iter().any(|t| t == top)
            {
                top_folders.push(top.to_owned());
            }
        }
        for top in top_folders {
            changed = attrs.apply(ctx, &format!("{dest}/{top}"), changed, None)?;
        }
    }
    r.insert("changed".into(), json!(changed));
    if params.list_files {
        let files = handler.files_in_archive(&host, &params)?;
        r.insert("files".into(), json!(files));
    }
    add_path_info(ctx, &mut r)?;
    Ok(Outcome::new(r))
}

/// The module's arguments the handlers use.
struct Params {
    remote_src: bool,
    list_files: bool,
    keep_newer: bool,
    exclude: Vec<String>,
    include: Vec<String>,
    extra_opts: Vec<String>,
    mode: Option<Json>,
    owner: Option<String>,
    group: Option<String>,
}

impl Params {
    fn read(args: &Args) -> Result<Params, ModuleError> {
        args.int("io_buffer_size")?;
        args.bool("validate_certs", true)?;
        Ok(Params {
            remote_src: args.bool("remote_src", false)?,
            list_files: args.bool("list_files", false)?,
            keep_newer: args.bool("keep_newer", false)?,
            exclude: args.list(&["exclude"])?.unwrap_or_default(),
            include: args.list(&["include"])?.unwrap_or_default(),
            extra_opts: args.list(&["extra_opts"])?.unwrap_or_default(),
            mode: args.get("mode").cloned(),
            owner: args.string(&["owner"])?,
            group: args.string(&["group"])?,
        })
    }
}

/// Python's `os.path.abspath` for an absolute path: `.`, `..` and
/// repeated slashes resolved (a relative one is taken from `/`).
fn abspath(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The host's commands as the module runs them.
struct Host<'a> {
    ctx: &'a ModuleCtx<'a>,
    bins: std::cell::OnceCell<Vec<(String, Option<String>)>>,
    /// `os.getuid()`, `os.getgid()`, `os.getgroups()`.
    ids: std::cell::OnceCell<(u32, u32, Vec<u32>)>,
    accounts: std::cell::OnceCell<Accounts>,
}

/// A command's exit code, standard output and error, as `run_command`
/// returns them, with the command it ran.
struct Run {
    cmd: Vec<String>,
    rc: i32,
    out: String,
    err: String,
}

impl Run {
    fn to_json(&self) -> Json {
        json!({"cmd": self.cmd, "err": self.err, "out": self.out, "rc": self.rc})
    }
}

/// get_best_parsable_locale's usual answer, for tar's messages.
const LOCALE: &str = "C.UTF-8";

impl<'a> Host<'a> {
    fn new(ctx: &'a ModuleCtx<'a>) -> Host<'a> {
        Host {
            ctx,
            bins: std::cell::OnceCell::new(),
            ids: std::cell::OnceCell::new(),
            accounts: std::cell::OnceCell::new(),
        }
    }

    fn run(&self, cmd: Vec<String>, cwd: Option<&str>, c_locale: bool) -> Result<Run, ModuleError> {
        let mut req = ExecRequest::new(cmd.clone());
        req.env = self.ctx.env.to_vec();
        if c_locale {
            for key in ["LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE"] {
                req.env.push((key.to_owned(), LOCALE.to_owned()));
            }
        }
        req.cwd = cwd.map(str::to_owned);
        let out = self
            .ctx
            .target
            .exec(&req)
            .map_err(|e| ModuleError::new(format!("{}: {e}", cmd[0])))?;
        Ok(Run {
            cmd,
            rc: out.rc,
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `get_bin_path`: the command's path in `PATH` and the sbin
    /// directories, looked up once for all the handlers' commands.
    fn bin(&self, name: &str) -> Result<Option<String>, ModuleError> {
        const NAMES: [&str; 4] = ["unzip", "zipinfo", "gtar", "tar"];
        if self.bins.get().is_none() {
            let script = format!(
                "PATH=\"$PATH:/sbin:/usr/sbin:/usr/local/sbin\"; for b in {}; do command -v \"$b\" || echo; done",
                NAMES.join(" ")
            );
            let out = self.run(vec!["/bin/sh".into(), "-c".into(), script], None, false)?;
            let mut lines = out.out.lines();
            let found = NAMES
                .iter()
                .map(|n| {
                    let path = lines.next().unwrap_or_default().trim();
                    let path = (path.starts_with('/')).then(|| path.to_owned());
                    ((*n).to_owned(), path)
                })
                .collect();
            let _ = self.bins.set(found);
        }
        Ok(self
            .bins
            .get()
            .and_then(|b| b.iter().find(|(n, _)| n == name))
            .and_then(|(_, p)| p.clone()))
    }

    fn ids(&self) -> Result<&(u32, u32, Vec<u32>), ModuleError> {
        if self.ids.get().is_none() {
            let script = "id -u; id -g; id -G".to_owned();
            let out = self.run(vec!["/bin/sh".into(), "-c".into(), script], None, false)?;
            let mut lines = out.out.lines();
            let mut num = || lines.next().and_then(|l| l.trim().parse().ok());
            let (uid, gid) = (num().unwrap_or(0), num().unwrap_or(0));
            let groups = out
                .out
                .lines()
                .nth(2)
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|g| g.parse().ok())
                .collect();
            let _ = self.ids.set((uid, gid, groups));
        }
        self.ids
            .get()
            .ok_or_else(|| ModuleError::new("cannot read the user's ids"))
    }

    fn accounts(&self) -> &Accounts {
        self.accounts
            .get_or_init(|| Accounts::read(self.ctx.target))
    }

    /// The process's umask (`os.umask`), for zip entries with FAT modes.
    fn umask(&self) -> Result<u32, ModuleError> {
        let out = self.run(
            vec!["/bin/sh".into(), "-c".into(), "umask".into()],
            None,
            false,
        )?;
        Ok(u32::from_str_radix(out.out.trim(), 8).unwrap_or(0o022))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Zip,
    ZipZ,
    Tgz,
    Tar,
    TarBzip,
    TarXz,
    TarZstd,
}

impl Kind {
    const ORDER: [Kind; 7] = [
        Kind::Zip,
        Kind::ZipZ,
        Kind::Tgz,
        Kind::Tar,
        Kind::TarBzip,
        Kind::TarXz,
        Kind::TarZstd,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Zip => "ZipArchive",
            Kind::ZipZ => "ZipZArchive",
            Kind::Tgz => "TgzArchive",
            Kind::Tar => "TarArchive",
            Kind::TarBzip => "TarBzipArchive",
            Kind::TarXz => "TarXzArchive",
            Kind::TarZstd => "TarZstdArchive",
        }
    }

    fn is_zip(self) -> bool {
        matches!(self, Kind::Zip | Kind::ZipZ)
    }

    /// The tar handlers' compression argument.
    fn zipflag(self) -> Option<&'static str> {
        match self {
            Kind::Tgz => Some("-z"),
            Kind::TarBzip => Some("-j"),
            Kind::TarXz => Some("-J"),
            Kind::TarZstd => Some("--use-compress-program=zstd"),
            _ => None,
        }
    }
}

struct Handler {
    kind: Kind,
    src: String,
    dest: String,
    /// `unzip` or `tar`.
    cmd_path: String,
    /// `zipinfo` (or `unzip` for ZipZArchive).
    zipinfo_path: String,
    excludes: Vec<String>,
    files: Option<Vec<String>>,
}

enum Picked {
    Handler(Handler),
    /// Check mode reached a tar handler: Ansible's module exits skipped.
    Skipped(String),
    /// No handler: the failure message.
    None(String),
}

/// `pick_handler`: the first handler that can handle the archive, or
/// every handler's reason why not.
fn pick_handler(
    host: &Host,
    params: &Params,
    src: &str,
    dest: &str,
) -> Result<Picked, ModuleError> {
    let mut reasons: Vec<String> = Vec::new();
    for kind in Kind::ORDER {
        if !kind.is_zip() && host.ctx.check {
            return Ok(Picked::Skipped(
                "remote module (ansible.legacy.unarchive) does not support check mode when using gtar"
                    .to_owned(),
            ));
        }
        let excludes = if kind.is_zip() {
            params.exclude.clone()
        } else {
            let trim = |p: &String| p.trim_end_matches('/').to_owned();
            params.exclude.iter().map(trim).collect()
        };
        let mut handler = Handler {
            kind,
            src: src.to_owned(),
            dest: dest.to_owned(),
            cmd_path: String::new(),
            zipinfo_path: String::new(),
            excludes,
            files: None,
        };
        match handler.can_handle(host, params)? {
            None => return Ok(Picked::Handler(handler)),
            Some(reason) => {
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
        }
    }
    Ok(Picked::None(format!(
        "Failed to find handler for \"{src}\". Make sure the required command to extract the file is installed.\n{}",
        reasons.join("\n")
    )))
}

/// What `is_unarchived` found.
struct Check {
    unarchived: bool,
    /// The zip handlers' itemized changes.
    diff: Option<String>,
}

impl Handler {
    /// `can_handle_archive`: `None` when it can, else why not.
    fn can_handle(&mut self, host: &Host, params: &Params) -> Result<Option<String>, ModuleError> {
        if self.kind.is_zip() {
            let binaries: [&str; 2] = match self.kind {
                Kind::ZipZ => ["unzip", "unzip"],
                _ => ["unzip", "zipinfo"],
            };
            let mut missing = Vec::new();
            let mut found = Vec::new();
            for b in binaries {
                match host.bin(b)? {
                    Some(p) => found.push(p),
                    None => missing.push(b),
                }
            }
            if !missing.is_empty() {
                return Ok(Some(format!(
                    "Unable to find required '{}' binary in the path.",
                    missing.join("' or '")
                )));
            }
            self.cmd_path = found[0].clone();
            self.zipinfo_path = found[1].clone();
            let run = host.run(
                vec![self.cmd_path.clone(), "-l".into(), self.src.clone()],
                None,
                false,
            )?;
            if run.rc != 0 {
                return Ok(Some(format!(
                    "Command \"{}\" could not handle archive: {}",
                    self.cmd_path, run.err
                )));
            }
            if self.kind == Kind::ZipZ {
                let run = host.run(vec![self.zipinfo_path.clone(), "-Zl".into()], None, false)?;
                if !run.out.to_lowercase().contains("zipinfo") {
                    return Ok(Some(format!(
                        "Command \"unzip -Z\" could not handle archive: {}",
                        run.err
                    )));
                }
            }
            return Ok(None);
        }
        let Some(path) = host.bin("gtar")?.or(host.bin("tar")?) else {
            return Ok(Some(
                "Unable to find required 'gtar' or 'tar' binary in the path".to_owned(),
            ));
        };
        self.cmd_path = path;
        let version = host.run(vec![self.cmd_path.clone(), "--version".into()], None, false)?;
        let tar_type = if version.out.starts_with("bsdtar") {
            "bsd"
        } else if version.out.starts_with("tar") && version.out.contains("GNU") {
            "gnu"
        } else {
            "None"
        };
        if tar_type != "gnu" {
            return Ok(Some(format!(
                "Command \"{}\" detected as tar type {tar_type}. GNU tar required.",
                self.cmd_path
            )));
        }
        match self.files_in_archive(host, params) {
            Ok(files) if !files.is_empty() => Ok(None),
            Ok(_) => Ok(Some(format!(
                "Command \"{}\" found no files in archive. Empty archive files are not supported.",
                self.cmd_path
            ))),
            Err(e) => Ok(Some(format!(
                "Command \"{}\" could not handle archive: {}",
                self.cmd_path, e.0
            ))),
        }
    }

    /// The tar handlers' command: `action`, then the options every tar
    /// command shares.
    fn tar_cmd(&self, action: &str, params: &Params, owners: bool) -> Vec<String> {
        let mut cmd = vec![
            self.cmd_path.clone(),
            action.to_owned(),
            "-C".into(),
            self.dest.clone(),
        ];
        if let Some(flag) = self.kind.zipflag() {
            cmd.push(flag.to_owned());
        }
        if !params.extra_opts.is_empty() {
            cmd.push("--show-transformed-names".into());
            cmd.extend(params.extra_opts.iter().cloned());
        }
        if owners {
            if let Some(owner) = &params.owner {
                cmd.push(format!("--owner={}", quote(owner)));
            }
            if let Some(group) = &params.group {
                cmd.push(format!("--group={}", quote(group)));
            }
            if params.keep_newer {
                cmd.push("--keep-newer-files".into());
            }
        }
        cmd.extend(self.excludes.iter().map(|e| format!("--exclude={e}")));
        cmd.push("-f".into());
        cmd.push(self.src.clone());
        cmd.extend(params.include.iter().cloned());
        cmd
    }

    /// The names the archive holds (`exclude` and `include` applied).
    fn files_in_archive(
        &mut self,
        host: &Host,
        params: &Params,
    ) -> Result<Vec<String>, ModuleError> {
        if let Some(files) = self.files.as_ref().filter(|f| !f.is_empty()) {
            return Ok(files.clone());
        }
        let files = if self.kind.is_zip() {
            let bytes = host.ctx.target.read_file(&self.src).map_err(|e| {
                ModuleError::new(format!("Unable to list files in the archive: {e}"))
            })?;
            let entries = zip_entries(&bytes).map_err(ModuleError::new)?;
            let mut files = Vec::new();
            for entry in entries {
                let member = entry.name;
                if !params.include.is_empty() {
                    for include in &params.include {
                        if fnmatch(&member, include) {
                            files.push(member.clone());
                        }
                    }
                } else if !params.exclude.iter().any(|e| fnmatch(&member, e)) {
                    files.push(member);
                }
            }
            files
        } else {
            let cmd = self.tar_cmd("--list", params, false);
            let run = host.run(cmd, Some(&self.dest), true)?;
            if run.rc != 0 {
                return Err(ModuleError::new(format!(
                    "Unable to list files in the archive: {}",
                    run.err
                )));
            }
            run.out
                .lines()
                .map(|line| String::from_utf8_lossy(&escape_decode(line)).into_owned())
                .map(|f| f.strip_prefix('/').map(str::to_owned).unwrap_or(f))
                .filter(|f| !self.excludes.iter().any(|e| fnmatch(f, e)))
                .collect()
        };
        self.files = Some(files.clone());
        Ok(files)
    }

    fn is_unarchived(
        &mut self,
        host: &Host,
        params: &Params,
        bytes: Option<&[u8]>,
    ) -> Result<Check, ModuleError> {
        if self.kind.is_zip() {
            return self.zip_is_unarchived(host, params, bytes);
        }
        let cmd = self.tar_cmd("--diff", params, true);
        let run = host.run(cmd, Some(&self.dest), true)?;
        let root = host.ids()?.0 == 0;
        let mut differs = false;
        for line in run.out.lines().chain(run.err.lines()) {
            if line.ends_with(": : Warning: Cannot stat: No such file or directory") {
                continue;
            }
            let owner = root && params.owner.is_none() && line.ends_with(": Uid differs");
            let group = root && params.group.is_none() && line.ends_with(": Gid differs");
            let mode = params.mode.is_none() && line.ends_with(": Mode differs");
            let other = [
                ": Mod time differs",
                ": Warning: Cannot stat: No such file or directory",
                ": Symlink differs",
                ": Contents differ",
                ": Size differs",
            ]
            .iter()
            .any(|s| line.ends_with(s))
                || line.contains(": Invalid owner")
                || line.contains(": Invalid group");
            differs |= owner || group || mode || other;
        }
        Ok(Check {
            unarchived: !differs,
            diff: None,
        })
    }

    /// ZipArchive.is_unarchived: each `zipinfo` entry against what is on
    /// disk.
    fn zip_is_unarchived(
        &mut self,
        host: &Host,
        params: &Params,
        bytes: Option<&[u8]>,
    ) -> Result<Check, ModuleError> {
        let mut cmd = vec![self.zipinfo_path.clone()];
        if self.kind == Kind::ZipZ {
            cmd.push("-Zl".into());
        }
        cmd.extend(["-T".into(), "-s".into(), self.src.clone()]);
        if !self.excludes.is_empty() {
            cmd.push("-x".into());
            cmd.extend(self.excludes.iter().cloned());
        }
        cmd.extend(params.include.iter().cloned());
        let run = host.run(cmd, None, false)?;
        let mut unarchived = run.rc == 0;
        let entries: Vec<ZipLine> = run.out.lines().filter_map(ZipLine::parse).collect();

        let (run_uid, run_gid, groups) = host.ids()?.clone();
        let accounts = host.accounts();
        let user_name = |uid: u32| accounts.name(Db::Users, uid).map(str::to_owned);
        let group_name = |gid: u32| accounts.name(Db::Groups, gid).map(str::to_owned);
        let run_owner = user_name(run_uid).unwrap_or_else(|| run_uid.to_string());
        let run_group = group_name(run_gid).unwrap_or_else(|| run_gid.to_string());
        let (fut_owner, fut_uid) = match &params.owner {
            Some(owner) => {
                let uid = accounts
                    .id(Db::Users, owner)
                    .or_else(|| owner.parse().ok().filter(|u| user_name(*u).is_some()))
                    .unwrap_or(run_uid);
                (user_name(uid).unwrap_or_else(|| uid.to_string()), uid)
            }
            None => (run_owner.clone(), run_uid),
        };
        let (fut_group, fut_gid) = match &params.group {
            Some(group) => {
                let gid = accounts
                    .id(Db::Groups, group)
                    .or_else(|| group.parse().ok().filter(|g| group_name(*g).is_some()))
                    .unwrap_or(run_gid);
                (group_name(gid).unwrap_or_else(|| gid.to_string()), gid)
            }
            None => (run_group.clone(), run_gid),
        };

        // Each entry's time in seconds since the epoch, as time.mktime.
        let stamps: Vec<String> = entries.iter().map(|e| e.local_time()).collect();
        let mut epochs: Option<Vec<f64>> = None;
        let mut crcs: Option<Vec<ZipEntry>> = None;
        let mut umask: Option<u32> = None;
        let mut includes: Vec<String> = Vec::new();
        let mut diff = String::new();

        for (i, entry) in entries.iter().enumerate() {
            let path = entry.path.as_str();
            if self.excludes.iter().any(|e| e == path) {
                continue;
            }
            let ftype = if path.ends_with('/') {
                'd'
            } else if entry.ztype == 'l' {
                'L'
            } else {
                'f'
            };
            let mut permstr = entry.permstr.clone();
            let file_umask = match permstr.len() {
                6 => {
                    permstr = if path.ends_with('/') || permstr == "rwx---" {
                        "rwxrwxrwx"
                    } else {
                        "rw-rw-rw-"
                    }
                    .to_owned();
                    Some(())
                }
                7 => {
                    permstr = if permstr == "rwxa---" {
                        "rwxrwxrwx"
                    } else {
                        "rw-rw-rw-"
                    }
                    .to_owned();
                    Some(())
                }
                _ => None,
            };
            let file_umask = match file_umask {
                Some(()) => *match &mut umask {
                    Some(u) => u,
                    slot => slot.insert(host.umask()?),
                },
                None => 0,
            };
            if !valid_permstr(&permstr) {
                return Err(ModuleError::new(format!(
                    "ZIP info perm format incorrect, {permstr}"
                )));
            }
            let b_dest = join(&self.dest, path);
            let Some(st) = stat(host.ctx, &b_dest, false)? else {
                includes.push(path.to_owned());
                diff.push_str(&format!(">{ftype}++++++.?? {path}\n"));
                continue;
            };
            let mismatch = match ftype {
                'd' => st.kind != FileKind::Dir,
                'f' => st.kind != FileKind::File,
                _ => st.kind != FileKind::Link,
            };
            if mismatch {
                if ftype == 'f' {
                    unarchived = false;
                }
                includes.push(path.to_owned());
                diff.push_str(&format!("c{ftype}++++++.?? {path}\n"));
                continue;
            }
            let mut change = false;
            let mut itemized: Vec<char> = format!(".{ftype}.......??").chars().collect();
            let regular = st.kind == FileKind::File;
            if regular {
                let epochs = match &mut epochs {
                    Some(e) => e,
                    slot => slot.insert(local_epochs(host, &stamps)?),
                };
                let timestamp = epochs[i];
                if params.keep_newer {
                    if timestamp > st.mtime {
                        change = true;
                        includes.push(path.to_owned());
                        itemized[4] = 't';
                    } else if timestamp < st.mtime {
                        self.excludes.push(path.to_owned());
                        continue;
                    }
                } else if timestamp != st.mtime {
                    change = true;
                    includes.push(path.to_owned());
                    itemized[4] = 't';
                }
                if entry.size != st.size {
                    change = true;
                    itemized[3] = 's';
                }
                let crcs = match &mut crcs {
                    Some(c) => c,
                    slot => slot.insert(archive_entries(host, &self.src, bytes)?),
                };
                let want = crcs.iter().find(|e| e.name == path).map(|e| e.crc);
                let have = host
                    .ctx
                    .target
                    .read_file(&b_dest)
                    .map(|b| crc32fast::hash(&b))
                    .map_err(|e| ModuleError::new(format!("Unable to read {b_dest}: {e}")))?;
                if want != Some(have) {
                    change = true;
                    itemized[2] = 'c';
                }
            }
            if ftype != 'L' {
                let mode = match &params.mode {
                    Some(spec) => {
                        parse_mode(spec, st.mode, st.kind == FileKind::Dir).map_err(ModuleError)?
                    }
                    None if entry.ztype == '?' => permstr_to_octal(&permstr, 0),
                    None => permstr_to_octal(&permstr, file_umask),
                };
                if mode != st.mode & 0o7777 {
                    change = true;
                    itemized[5] = 'p';
                }
            }
            if run_uid != 0 && (fut_owner != run_owner || fut_uid != run_uid) {
                return Err(ModuleError::new(format!(
                    "Cannot change ownership of {path} to {fut_owner}, as user {run_owner}"
                )));
            }
            if owner_differs(user_name(st.uid), st.uid, &fut_owner, fut_uid) {
                change = true;
                itemized[6] = 'o';
            }
            if run_uid != 0
                && (fut_group != run_group || fut_gid != run_gid)
                && !groups.contains(&fut_gid)
            {
                return Err(ModuleError::new(format!(
                    "Cannot change group ownership of {path} to {fut_group}, as user {run_owner}"
                )));
            }
            if owner_differs(group_name(st.gid), st.gid, &fut_group, fut_gid) {
                change = true;
                itemized[6] = 'g';
            }
            if change {
                if !includes.iter().any(|p| p == path) {
                    includes.push(path.to_owned());
                }
                diff.push_str(&itemized.iter().collect::<String>());
                diff.push(' ');
                diff.push_str(path);
                diff.push('\n');
            }
        }
        if !includes.is_empty() {
            unarchived = false;
        }
        Ok(Check {
            unarchived,
            diff: Some(diff),
        })
    }

    fn unarchive(&self, host: &Host, params: &Params) -> Result<Run, ModuleError> {
        if !self.kind.is_zip() {
            let cmd = self.tar_cmd("--extract", params, true);
            return host.run(cmd, Some(&self.dest), true);
        }
        let mut cmd = vec![self.cmd_path.clone(), "-o".into()];
        cmd.extend(params.extra_opts.iter().cloned());
        cmd.push(self.src.clone());
        if !self.excludes.is_empty() {
            cmd.push("-x".into());
            cmd.extend(self.excludes.iter().cloned());
        }
        cmd.extend(params.include.iter().cloned());
        cmd.extend(["-d".into(), self.dest.clone()]);
        host.run(cmd, None, false)
    }
}

/// The zip owner check: by name when the id has one, else by id.
fn owner_differs(name: Option<String>, id: u32, fut_name: &str, fut_id: u32) -> bool {
    match name {
        Some(name) => name != fut_name,
        None => id != 0 && id != fut_id,
    }
}

/// The archive's central directory (the bytes the controller sent, or
/// the file read from the host).
fn archive_entries(
    host: &Host,
    src: &str,
    bytes: Option<&[u8]>,
) -> Result<Vec<ZipEntry>, ModuleError> {
    let read;
    let bytes = match bytes {
        Some(b) => b,
        None => {
            read = host.ctx.target.read_file(src).map_err(|e| {
                ModuleError::new(format!("Unable to list files in the archive: {e}"))
            })?;
            &read
        }
    };
    zip_entries(bytes)
        .map_err(|e| ModuleError::new(format!("Unable to list files in the archive: {e}")))
}

/// `time.mktime` of each `zipinfo -T` time (`YYYYmmdd.HHMMSS`, local
/// time), by the host's `date` so its time zone applies; UTC when `date`
/// cannot tell.
fn local_epochs(host: &Host, stamps: &[String]) -> Result<Vec<f64>, ModuleError> {
    let input: String = stamps.iter().map(|s| format!("{s}\n")).collect();
    let mut req = ExecRequest::new(["date", "-f", "-", "+%s"]);
    req.stdin = Some(input.into_bytes());
    let out = host
        .ctx
        .target
        .exec(&req)
        .map_err(|e| ModuleError::new(format!("date: {e}")))?;
    let parsed: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if out.rc == 0 && parsed.len() == stamps.len() {
        return Ok(parsed);
    }
    Ok(stamps.iter().map(|s| utc_epoch(s)).collect())
}

/// `YYYY-mm-dd HH:MM:SS` as seconds since the epoch in UTC.
fn utc_epoch(stamp: &str) -> f64 {
    let num = |r: std::ops::Range<usize>| {
        stamp
            .get(r)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let (hh, mm, ss) = (num(11..13), num(14..16), num(17..19));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    (days * 86400 + hh * 3600 + mm * 60 + ss) as f64
}

/// One entry line of `zipinfo -T -s`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ZipLine {
    ztype: char,
    permstr: String,
    size: u64,
    /// `YYYYmmdd.HHMMSS`.
    time: String,
    path: String,
}

impl ZipLine {
    /// The entry of a listing line; `None` for headers and footers.
    fn parse(line: &str) -> Option<ZipLine> {
        let pcs = split_fields(line, 8);
        if pcs.len() != 8 {
            return None;
        }
        if ![7, 8, 10].contains(&pcs[0].chars().count()) || pcs[6].chars().count() != 15 {
            return None;
        }
        let mut chars = pcs[0].chars();
        let ztype = chars.next()?;
        let permstr: String = chars.collect();
        if !"dl-?".contains(ztype) || !permstr.chars().all(|c| "rwxstah-".contains(c)) {
            return None;
        }
        Some(ZipLine {
            ztype,
            permstr,
            size: pcs[3].parse().ok()?,
            time: pcs[6].to_owned(),
            path: pcs[7].to_owned(),
        })
    }

    /// `_valid_time_stamp`'s time, as `YYYY-mm-dd HH:MM:SS` for `date`.
    fn local_time(&self) -> String {
        let t = &self.time;
        let digits =
            |r: std::ops::Range<usize>| t.get(r).filter(|s| s.bytes().all(|b| b.is_ascii_digit()));
        let parts = (
            digits(0..4),
            digits(4..6),
            digits(6..8),
            digits(9..11),
            digits(11..13),
            digits(13..15),
        );
        let epoch = "1980-01-01 00:00:00".to_owned();
        let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = parts else {
            return epoch;
        };
        if t.as_bytes().get(8) != Some(&b'.') {
            return epoch;
        }
        match y.parse::<u32>().unwrap_or(0) {
            ..1980 => epoch,
            2108.. => "2107-12-31 23:59:59".to_owned(),
            _ => format!("{y}-{mo}-{d} {h}:{mi}:{s}"),
        }
    }
}

/// Python's `str.split(None, n - 1)`.
fn split_fields(line: &str, n: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        if out.len() == n - 1 {
            out.push(rest.trim_end());
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    out
}

/// `ZIP_FILE_MODE_RE.match`: three `[r-][w-][SsTtx-]` triples.
fn valid_permstr(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() == 9
        && b.chunks(3).all(|t| {
            matches!(t[0], b'r' | b'-') && matches!(t[1], b'w' | b'-') && b"SsTtx-".contains(&t[2])
        })
}

/// `_permstr_to_octal`: `rw-r--r--` as 0o644, less the umask.
fn permstr_to_octal(permstr: &str, umask: u32) -> u32 {
    let mut mode = 0;
    for (i, c) in permstr.chars().rev().enumerate().take(9) {
        if "rwxst".contains(c) {
            mode |= 1 << i;
        }
    }
    mode & !umask
}

/// Python's `fnmatch.fnmatch` on POSIX: `*` and `?` match `/` too,
/// `[...]` and `[!...]` classes; a pattern that does not parse (an
/// unclosed `[`) matches only itself.
pub(super) fn fnmatch(name: &str, pattern: &str) -> bool {
    match glob::Pattern::new(pattern) {
        Ok(p) => p.matches(name),
        Err(_) => name == pattern,
    }
}

/// A zip member from the central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ZipEntry {
    pub name: String,
    pub crc: u32,
}

/// The members of a zip archive in central-directory order (Python's
/// `ZipFile.namelist()` and their CRC-32s); zip64 archives included.
pub(super) fn zip_entries(b: &[u8]) -> Result<Vec<ZipEntry>, String> {
    let bad = || "File is not a zip file".to_owned();
    let u16_at = |i: usize| b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |i: usize| {
        b.get(i..i + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let u64_at = |i: usize| {
        b.get(i..i + 8).map(|s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        })
    };
    if b.len() < 22 {
        return Err(bad());
    }
    let lowest = b.len().saturating_sub(22 + 65535);
    let eocd = (lowest..=b.len() - 22)
        .rev()
        .find(|&i| b[i..i + 4] == *b"PK\x05\x06")
        .ok_or_else(bad)?;
    let mut count = u64::from(u16_at(eocd + 10).ok_or_else(bad)?);
    let mut size = u64::from(u32_at(eocd + 12).ok_or_else(bad)?);
    let mut offset = u64::from(u32_at(eocd + 16).ok_or_else(bad)?);
    let mut end = eocd as u64;
    if eocd >= 20 && b[eocd - 20..eocd - 16] == *b"PK\x06\x07" {
        let rec = eocd - 20 - 56;
        if b.get(rec..rec + 4) == Some(b"PK\x06\x06") {
            count = u64_at(rec + 32).ok_or_else(bad)?;
            size = u64_at(rec + 40).ok_or_else(bad)?;
            offset = u64_at(rec + 48).ok_or_else(bad)?;
            end = rec as u64;
        }
    }
    // Bytes before the archive (a self-extracting stub) shift every offset.
    let concat = end.checked_sub(size + offset).ok_or_else(bad)?;
    let mut pos = usize::try_from(offset + concat).map_err(|_| bad())?;
    let mut entries = Vec::new();
    for _ in 0..count {
        if b.get(pos..pos + 4) != Some(b"PK\x01\x02") {
            return Err("Bad magic number for central directory".to_owned());
        }
        let flags = u16_at(pos + 8).ok_or_else(bad)?;
        let crc = u32_at(pos + 16).ok_or_else(bad)?;
        let name_len = usize::from(u16_at(pos + 28).ok_or_else(bad)?);
        let extra_len = usize::from(u16_at(pos + 30).ok_or_else(bad)?);
        let comment_len = usize::from(u16_at(pos + 32).ok_or_else(bad)?);
        let name = b.get(pos + 46..pos + 46 + name_len).ok_or_else(bad)?;
        let name = if flags & 0x800 != 0 {
            String::from_utf8_lossy(name).into_owned()
        } else {
            // Python decodes these as cp437; ASCII names are the same.
            String::from_utf8_lossy(name).into_owned()
        };
        entries.push(ZipEntry { name, crc });
        pos += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipinfo_lines() {
        let line = "-rw-r--r--  2.0 unx       15 b- defN 20240102.030406 site/my file.html";
        let e = ZipLine::parse(line).unwrap();
        assert_eq!(e.ztype, '-');
        assert_eq!(e.permstr, "rw-r--r--");
        assert_eq!(e.size, 15);
        assert_eq!(e.path, "site/my file.html");
        assert_eq!(e.local_time(), "2024-01-02 03:04:06");
        assert!(ZipLine::parse("Archive:  /tmp/x.zip").is_none());
        assert!(ZipLine::parse("Zip file size: 675 bytes, number of entries: 6").is_none());
        assert!(
            ZipLine::parse("6 files, 47 bytes uncompressed, 53 bytes compressed:  -12.8%")
                .is_none()
        );
        let old = ZipLine {
            time: "19700101.000000".into(),
            ..e
        };
        assert_eq!(old.local_time(), "1980-01-01 00:00:00");
    }

    #[test]
    fn permissions() {
        assert_eq!(permstr_to_octal("rw-r--r--", 0), 0o644);
        assert_eq!(permstr_to_octal("rwxrwxrwx", 0o022), 0o755);
        assert_eq!(permstr_to_octal("rwsr-x--T", 0), 0o750);
        assert!(valid_permstr("rwxr-S--t"));
        assert!(!valid_permstr("rwxr-"));
    }

    #[test]
    fn fnmatch_as_python() {
        assert!(fnmatch("site/skip.log", "site/skip.log"));
        assert!(fnmatch("site/a/b.log", "*.log"));
        assert!(fnmatch("site/x", "site/?"));
        assert!(fnmatch("a1", "a[0-9]"));
        assert!(!fnmatch("ab", "a[!b]"));
        assert!(fnmatch("a[", "a["));
        assert!(!fnmatch("site/skip.log", "skip.log"));
    }

    #[test]
    fn escapes_and_paths() {
        assert_eq!(escape_decode(r"caf\303\251"), "café".as_bytes());
        assert_eq!(escape_decode(r"a\\b"), br"a\b");
        assert_eq!(abspath("/a/./b/../c/"), "/a/c");
        assert_eq!(join("/d/", "x"), "/d/x");
        assert_eq!(split_fields("  a  b c  d ", 3), vec!["a", "b", "c  d"]);
    }

    #[test]
    fn zip_times_are_utc_epochs() {
        assert_eq!(utc_epoch("2024-01-02 03:04:06"), 1_704_164_646.0);
    }

    #[test]
    fn central_directory() {
        let zip = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/playbooks/modules/files/site.zip"
        ))
        .unwrap();
        let entries = zip_entries(&zip).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "site/",
                "site/index.html",
                "site/run.sh",
                "site/conf/",
                "site/conf/app.conf",
                "site/skip.log"
            ]
        );
        assert_eq!(entries[1].crc, 0x11c4_d557);
        assert!(zip_entries(b"this is not an archive\n").is_err());
    }
}
