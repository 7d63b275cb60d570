//! A [`Target`] made of shell commands: every operation is one `/bin/sh`
//! script run through a [`Shell`] (a command on an SSH channel, or a
//! command run as another user through `sudo`), with file contents on the
//! script's stdin and stdout. It needs only POSIX sh and GNU coreutils on
//! the host.

use std::io;
use std::time::Duration;

use crate::target::{Enough, ExecOutput, ExecRequest, FileKind, FileStat, Target};
use crate::util::shell::quote;

/// Runs `/bin/sh -c script` with `stdin` somewhere.
pub trait Shell {
    fn sh(&self, script: &str, stdin: Option<&[u8]>) -> io::Result<ExecOutput>;

    /// The binary that starts `async` jobs where this shell runs, when it
    /// runs on this machine (`become` over the local target).
    fn job_program(&self) -> Option<&'static std::path::Path> {
        None
    }
}

/// Exit codes our scripts use to say what went wrong.
const MISSING: i32 = 44;
const DENIED: i32 = 45;

/// What `tcp_probe`'s script prints once it is connected.
const CONNECTED: &str = "rustle-connected";

/// The target a [`Shell`] reaches.
pub struct ShellTarget<S> {
    shell: S,
    home: String,
}

impl<S: Shell> ShellTarget<S> {
    /// Wraps `shell`; asks it once for the user's home directory.
    pub fn open(shell: S) -> io::Result<ShellTarget<S>> {
        let out = shell.sh("printf %s \"$HOME\"", None)?;
        if out.rc != 0 {
            return Err(io::Error::other(
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ));
        }
        Ok(ShellTarget {
            home: String::from_utf8_lossy(&out.stdout).into_owned(),
            shell,
        })
    }

    /// Runs `script`, mapping our exit codes and any other failure to errors.
    fn check(&self, script: &str, stdin: Option<&[u8]>) -> io::Result<Vec<u8>> {
        let out = self.shell.sh(script, stdin)?;
        let msg = || String::from_utf8_lossy(&out.stderr).trim().to_owned();
        match out.rc {
            0 => Ok(out.stdout),
            MISSING => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "No such file or directory",
            )),
            DENIED => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "Permission denied",
            )),
            _ if msg().contains("Permission denied") => {
                Err(io::Error::new(io::ErrorKind::PermissionDenied, msg()))
            }
            _ if msg().contains("No such file or directory") => {
                Err(io::Error::new(io::ErrorKind::NotFound, msg()))
            }
            _ => Err(io::Error::other(msg())),
        }
    }
}

/// `[ -e P ] || [ -L P ] || exit 44` for `path`.
fn must_exist(p: &str) -> String {
    format!("[ -e {p} ] || [ -L {p} ] || exit {MISSING}; ")
}

impl<S: Shell> Target for ShellTarget<S> {
    fn job_program(&self) -> Option<&'static std::path::Path> {
        self.shell.job_program()
    }

    fn start_job(&self, spec: &mut crate::jobs::JobSpec) -> io::Result<()> {
        match self.shell.job_program() {
            Some(exe) => crate::jobs::start_through(&self.shell, exe, spec),
            None => Err(crate::jobs::unsupported()),
        }
    }

    fn exec(&self, req: &ExecRequest) -> io::Result<ExecOutput> {
        if req.argv.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty argv"));
        }
        let mut script = String::new();
        if let Some(cwd) = &req.cwd {
            script.push_str(&format!("cd {} || exit {MISSING}; ", quote(cwd)));
        }
        script.push_str("exec ");
        if !req.env.is_empty() {
            script.push_str("env ");
            for (k, v) in &req.env {
                script.push_str(&quote(&format!("{k}={v}")));
                script.push(' ');
            }
        }
        let argv: Vec<String> = req.argv.iter().map(|a| quote(a)).collect();
        script.push_str(&argv.join(" "));
        let out = self.shell.sh(&script, req.stdin.as_deref())?;
        if req.cwd.is_some() && out.rc == MISSING && out.stdout.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ));
        }
        // The shell's own `exec` could not start argv[0] (127): spawn's
        // NotFound, as locally. A program that itself exits 127 (a shell
        // running a missing command) is a result like any other.
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.rc == 127 && stderr.contains(&format!("exec: {}: not found", req.argv[0])) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ));
        }
        Ok(ExecOutput {
            rc: out.rc,
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn read_file(&self, path: &str) -> io::Result<Vec<u8>> {
        let p = quote(path);
        self.check(
            &format!("{}[ -r {p} ] || exit {DENIED}; cat {p}", must_exist(&p)),
            None,
        )
    }

    fn stat(&self, path: &str, follow: bool) -> io::Result<Option<FileStat>> {
        let p = quote(path);
        let exists = if follow {
            format!("[ -e {p} ] || exit {MISSING}; ")
        } else {
            must_exist(&p)
        };
        let flag = if follow { "-L " } else { "" };
        let out = match self.check(
            &format!(
                "{exists}stat {flag}-c '%F|%a|%u|%g|%s|%.9Y|%.9X|%.9Z|%h|%i|%d|%f|%U|%G' -- {p}"
            ),
            None,
        ) {
            Ok(out) => out,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let text = String::from_utf8_lossy(&out);
        let f: Vec<&str> = text.trim().split('|').collect();
        let bad = || io::Error::other(format!("unexpected stat output {text:?}"));
        let [
            kind,
            mode,
            uid,
            gid,
            size,
            mtime,
            atime,
            ctime,
            nlink,
            ino,
            dev,
            raw,
            owner,
            group,
        ] = f[..]
        else {
            return Err(bad());
        };
        Ok(Some(FileStat {
            kind: match kind {
                "regular file" | "regular empty file" => FileKind::File,
                "directory" => FileKind::Dir,
                "symbolic link" => FileKind::Link,
                _ => FileKind::Other,
            },
            mode: u32::from_str_radix(mode, 8).map_err(|_| bad())?,
            uid: uid.parse().map_err(|_| bad())?,
            gid: gid.parse().map_err(|_| bad())?,
            size: size.parse().map_err(|_| bad())?,
            mtime: float_time(mtime).ok_or_else(bad)?,
            atime: float_time(atime).ok_or_else(bad)?,
            ctime: float_time(ctime).ok_or_else(bad)?,
            nlink: nlink.parse().map_err(|_| bad())?,
            ino: ino.parse().map_err(|_| bad())?,
            dev: dev.parse().map_err(|_| bad())?,
            ifmt: u32::from_str_radix(raw, 16).map_err(|_| bad())? & 0o170000,
            // `stat` says `UNKNOWN` where the host has no name for an id.
            names: (owner != "UNKNOWN" && group != "UNKNOWN")
                .then(|| (owner.to_owned(), group.to_owned())),
        }))
    }

    fn write_file(&self, path: &str, content: &[u8], mode: Option<u32>) -> io::Result<()> {
        let p = quote(path);
        let tmp = crate::target::temp_path(std::path::Path::new(path))?;
        let dir = match tmp.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.display().to_string(),
            _ => ".".to_owned(),
        };
        // The temporary file is made (exclusively: `set -C`) with the mode
        // it ends with where a umask can say it, so no `chmod` runs;
        // otherwise private, then given its mode (after the owner, whose
        // change would clear setuid) before it takes the path's place.
        let (create_mask, set_mode) = match mode {
            Some(m) if m & !0o666 == 0 && m & 0o200 != 0 => {
                (format!("umask {:o}; ", !m & 0o777), String::new())
            }
            Some(m) => ("umask 077; ".to_owned(), format!(" && chmod {m:o} \"$t\"")),
            None => (
                format!("[ -e {p} ] && umask 077; "),
                format!(
                    " && {{ [ ! -e {p} ] || {{ {{ chown --reference={p} \"$t\" 2>/dev/null || true; }} && \
                     chmod --reference={p} \"$t\"; }}; }}"
                ),
            ),
        };
        let script = format!(
            "[ -d {d} ] || exit {MISSING}; t={t}; \
             {create_mask}set -C; : > \"$t\" || exit {DENIED}; set +C; trap 'rm -f \"$t\"' EXIT; \
             cat > \"$t\"{set_mode} && mv -fT \"$t\" {p} && trap - EXIT",
            d = quote(&dir),
            t = quote(&tmp.display().to_string()),
        );
        self.check(&script, Some(content)).map(drop)
    }

    fn create_dir_all(&self, path: &str, mode: Option<u32>) -> io::Result<()> {
        // Each missing directory, outermost first, made and given `mode`.
        let mut dirs = Vec::new();
        let mut cur = std::path::Path::new(path);
        loop {
            if cur.as_os_str().is_empty() || cur == std::path::Path::new("/") {
                break;
            }
            dirs.push(quote(&cur.display().to_string()));
            match cur.parent() {
                Some(p) => cur = p,
                None => break,
            }
        }
        dirs.reverse();
        // Another process (another host's task, on a shared filesystem)
        // may make a directory between the test and `mkdir`: that one is
        // there and is left alone, as `LocalTarget` and Ansible's file
        // module do; a `mkdir` that fails otherwise runs again to say why.
        let chmod = mode.map_or(":".to_owned(), |m| format!("chmod {m:o} \"$d\" || exit 1"));
        let script = format!(
            "for d in {}; do [ -d \"$d\" ] && continue; \
             if mkdir \"$d\" 2>/dev/null; then {chmod}; \
             elif [ ! -d \"$d\" ]; then mkdir \"$d\" || exit 1; {chmod}; fi; done",
            dirs.join(" ")
        );
        self.check(&script, None).map(drop)
    }

    fn remove(&self, path: &str) -> io::Result<()> {
        self.check(&format!("rm -rf -- {}", quote(path)), None)
            .map(drop)
    }

    fn set_mode(&self, path: &str, mode: u32) -> io::Result<()> {
        let p = quote(path);
        self.check(&format!("{}chmod {mode:o} -- {p}", must_exist(&p)), None)
            .map(drop)
    }

    fn home(&self) -> String {
        self.home.clone()
    }

    fn chown(&self, path: &str, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        let p = quote(path);
        let owner = match (uid, gid) {
            (Some(u), Some(g)) => format!("{u}:{g}"),
            (Some(u), None) => u.to_string(),
            (None, Some(g)) => format!(":{g}"),
            (None, None) => return Ok(()),
        };
        self.check(&format!("{}chown -h {owner} -- {p}", must_exist(&p)), None)
            .map(drop)
    }

    fn symlink(&self, src: &str, path: &str) -> io::Result<()> {
        self.link("-s", src, path)
    }

    fn hard_link(&self, src: &str, path: &str) -> io::Result<()> {
        self.link("", src, path)
    }

    fn read_link(&self, path: &str) -> io::Result<String> {
        let p = quote(path);
        let out = self.check(&format!("{}readlink -- {p}", must_exist(&p)), None)?;
        let text = String::from_utf8_lossy(&out);
        Ok(text.strip_suffix('\n').unwrap_or(&text).to_owned())
    }

    fn real_path(&self, path: &str) -> io::Result<String> {
        let out = self.check(&format!("realpath -m -- {}", quote(path)), None)?;
        let text = String::from_utf8_lossy(&out);
        Ok(text.strip_suffix('\n').unwrap_or(&text).to_owned())
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let p = quote(path);
        let out = self.check(
            &format!(
                "[ -d {p} ] || exit {MISSING}; find {p} -mindepth 1 -maxdepth 1 -printf '%f\\0'"
            ),
            None,
        )?;
        Ok(out
            .split(|b| *b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect())
    }

    fn set_times(&self, path: &str, times: Option<(f64, f64)>) -> io::Result<()> {
        let p = quote(path);
        let script = match times {
            None => format!("{}touch -c -- {p}", must_exist(&p)),
            Some((a, m)) => format!(
                "{}touch -c -a -d @{a} -- {p} && touch -c -m -d @{m} -- {p}",
                must_exist(&p)
            ),
        };
        self.check(&script, None).map(drop)
    }

    /// Through bash's `/dev/tcp` under coreutils' `timeout`: the data is
    /// what the peer sent until it closed or the time was up (`enough` is
    /// applied to all of it).
    fn tcp_probe(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
        enough: Option<Enough>,
    ) -> io::Result<Vec<u8>> {
        let read = if enough.is_some() { "; cat <&3" } else { "" };
        let script = format!(
            "command -v bash >/dev/null || {{ echo 'opening TCP connections needs bash on the host' >&2; exit 2; }}; \
             exec timeout {:.3} bash -c 'exec 3<>\"/dev/tcp/$0/$1\" || exit 1; echo {CONNECTED} >&2{read}' {} {port}",
            timeout.as_secs_f64().max(0.001),
            quote(host),
        );
        let out = self.shell.sh(&script, None)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.lines().any(|l| l == CONNECTED) {
            return Ok(out.stdout);
        }
        Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            stderr.trim().to_owned(),
        ))
    }
}

impl<S: Shell> ShellTarget<S> {
    /// `ln [-s] src tmp`, then the temporary link renamed over `path`.
    fn link(&self, flag: &str, src: &str, path: &str) -> io::Result<()> {
        let (s, p) = (quote(src), quote(path));
        let script = format!(
            "d=$(dirname {p}); [ -d \"$d\" ] || exit {MISSING}; \
             t=\"$d/.rustle.$$.link\"; ln {flag} -- {s} \"$t\" || exit 1; \
             mv -fT \"$t\" {p} || {{ rm -f \"$t\"; exit 1; }}"
        );
        self.check(&script, None).map(drop)
    }
}

/// A `stat %.9Y` time as Python's float.
fn float_time(text: &str) -> Option<f64> {
    let (secs, nanos) = text.split_once('.').unwrap_or((text, "0"));
    Some(secs.parse::<i64>().ok()? as f64 + nanos.parse::<u64>().ok()? as f64 * 1e-9)
}
