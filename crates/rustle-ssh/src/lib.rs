//! SSH for the stages that reach hosts (deploy and exec): one multiplexed
//! OpenSSH master connection per host (the `openssh` crate, so the user's
//! ssh config, keys, agent and ProxyJump all work), opened from a plan's
//! `Connection::Ssh` settings including Ansible's `ansible_ssh_common_args`
//! and `ansible_ssh_extra_args`, with failures to connect classified as
//! unreachable. Commands run over the master's channels; files go up over
//! SFTP (`openssh-sftp-client`) on the same master.
//!
//! Masters outlive the stage that opened them, as Ansible's
//! `ControlPersist=60s` does: each inventory host's master listens under
//! `~/.cache/rustle/cp/<hash of host and endpoint>/` and exits after 60
//! idle seconds, so exec reuses the connection deploy opened and a second
//! run reuses the first one's. `RUSTLE_CONTROL_PERSIST=0` turns that off
//! (then closing a connection ends its master) and `RUSTLE_CONTROL_DIR`
//! moves the sockets.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use rustle_format::Connection;

pub use openssh;

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// Connection refused, timed out, authentication or host key failure.
    #[error("{host}: unreachable: {msg}")]
    Unreachable { host: String, msg: String },
    #[error("{host}: {msg}")]
    Command { host: String, msg: String },
    #[error("not an SSH connection")]
    NotSsh,
    #[error("writing the ssh options file: {0}")]
    Io(#[from] std::io::Error),
}

/// Where and how to reach one host.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: String,
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub private_key_file: Option<String>,
    pub extra_args: Vec<String>,
    /// The host's own connect timeout, over the caller's.
    pub timeout: Option<Duration>,
}

impl Endpoint {
    pub fn new(host: &str, conn: &Connection) -> Result<Endpoint, SshError> {
        match conn {
            Connection::Local => Err(SshError::NotSsh),
            Connection::Ssh {
                address,
                port,
                user,
                private_key_file,
                extra_args,
                timeout,
            } => Ok(Endpoint {
                host: host.to_owned(),
                address: address.clone(),
                port: *port,
                user: user.clone(),
                private_key_file: private_key_file.clone(),
                extra_args: extra_args.clone(),
                timeout: timeout.map(Duration::from_secs),
            }),
        }
    }
}

/// An open master connection. Closing it leaves a persistent master
/// running for the next stage; dropping it, or closing one that does not
/// persist, ends the master.
pub struct Conn {
    pub host: String,
    pub session: Arc<Session>,
    persist: bool,
    /// How it was opened, to open it again ([`Conn::revive`]).
    endpoint: Box<Endpoint>,
    timeout: Duration,
    // Keeps the options file alive as long as the master may read it.
    _options: Option<tempfile::NamedTempFile>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("host", &self.host).finish()
    }
}

/// `-o Key=Value` / `-oKey=Value` / `-o Key Value` pairs from ssh args.
fn ssh_options(args: &[String]) -> (Vec<(String, String)>, Vec<String>) {
    let mut opts = Vec::new();
    let mut jumps = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = match a.as_str() {
            "-o" | "-J" => it.next().cloned(),
            s if s.starts_with("-o") || s.starts_with("-J") => Some(s[2..].to_owned()),
            _ => None,
        };
        let Some(value) = value else { continue };
        if a.starts_with("-J") {
            jumps.push(value);
            continue;
        }
        let (k, v) = value
            .split_once('=')
            .or_else(|| value.split_once(' '))
            .unwrap_or((value.as_str(), ""));
        opts.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    (opts, jumps)
}

/// How long an idle master waits for the next stage, from
/// `RUSTLE_CONTROL_PERSIST` (seconds; 0 turns persistence off).
fn persist_for() -> Option<std::num::NonZeroUsize> {
    match std::env::var("RUSTLE_CONTROL_PERSIST") {
        Ok(v) => v.trim().parse().ok().and_then(std::num::NonZeroUsize::new),
        Err(_) => std::num::NonZeroUsize::new(60),
    }
}

/// The directory of `ep`'s persistent master: one per inventory host and
/// endpoint (so aliases of one address never share a master's session
/// limit), under a root only this user can write. `None` when there is
/// no safe, short enough place (a socket path must fit in 108 bytes).
fn control_dir(ep: &Endpoint) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let root = match std::env::var_os("RUSTLE_CONTROL_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => std::path::Path::new(&std::env::var_os("HOME")?).join(".cache/rustle/cp"),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&root)
        .ok()?;
    // Another user's or a writable directory could hold a planted socket.
    let meta = std::fs::metadata(&root).ok()?;
    if meta.uid() != current_uid() || meta.mode() & 0o022 != 0 {
        return None;
    }
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| sweep(&root));
    let key = rustle_format::sha256_hex(
        format!(
            "{}\0{}\0{:?}\0{:?}\0{:?}\0{:?}",
            ep.host, ep.address, ep.port, ep.user, ep.private_key_file, ep.extra_args
        )
        .as_bytes(),
    );
    let dir = root.join(&key[..16]);
    // <dir>/.ssh-connectionXXXXXX/master
    (dir.as_os_str().len() + 40 <= 108).then_some(dir)
}

/// Removes what masters that exited long ago left under `root`: their
/// directories (a log, no socket) and then empty host directories. Only
/// entries untouched for five minutes go, so a master another process is
/// starting right now keeps its directory.
fn sweep(root: &std::path::Path) {
    let old = |p: &std::path::Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(300)))
    };
    for host_dir in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let host_dir = host_dir.path();
        for entry in std::fs::read_dir(&host_dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if !p.join("master").exists() && old(&p) {
                let _ = std::fs::remove_dir_all(&p);
            }
        }
        if old(&host_dir) {
            // Fails, as it should, while anything is left inside.
            let _ = std::fs::remove_dir(&host_dir);
        }
    }
}

/// This process's uid (the owner of `/proc/self`).
fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

/// A live master already listening in `dir`; the directories of ones that
/// died go. A directory without a socket is left alone: its master may be
/// logging in right now (another link or a delegate of this host), and
/// [`sweep`] removes it once it is old.
async fn resume(dir: &std::path::Path) -> Option<Session> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let sock = entry.path().join("master");
        if !sock.exists() {
            continue;
        }
        let session = Session::resume_mux(sock.into_boxed_path(), None);
        if session.check().await.is_ok() {
            return Some(session);
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
    None
}

/// Opens the master connection to `ep`, or reuses the persistent one an
/// earlier stage left for it.
pub async fn connect(ep: &Endpoint, timeout: Duration) -> Result<Conn, SshError> {
    let persist = persist_for();
    let dir = persist.and_then(|_| control_dir(ep));
    if let Some(dir) = &dir
        && let Some(session) = resume(dir).await
    {
        return Ok(Conn {
            host: ep.host.clone(),
            session: Arc::new(session),
            persist: true,
            endpoint: Box::new(ep.clone()),
            timeout,
            _options: None,
        });
    }
    let mut b = SessionBuilder::default();
    match (&dir, persist) {
        (Some(dir), Some(idle)) => {
            std::fs::create_dir_all(dir)?;
            b.control_directory(dir)
                .control_persist(openssh::ControlPersist::IdleFor(idle));
        }
        _ => {
            b.control_directory(std::env::temp_dir());
        }
    }
    b.connect_timeout(ep.timeout.unwrap_or(timeout))
        .known_hosts_check(KnownHosts::Strict)
        .server_alive_interval(Duration::from_secs(15));
    if let Some(u) = &ep.user {
        b.user(u.clone());
    }
    if let Some(p) = ep.port {
        b.port(p);
    }
    if let Some(k) = &ep.private_key_file {
        b.keyfile(k);
    }
    let (opts, jumps) = ssh_options(&ep.extra_args);
    if !jumps.is_empty() {
        b.jump_hosts(jumps);
    }
    let mut rest = Vec::new();
    for (k, v) in opts {
        match k.to_ascii_lowercase().as_str() {
            "userknownhostsfile" => {
                b.user_known_hosts_file(v);
            }
            "stricthostkeychecking" => {
                b.known_hosts_check(match v.to_ascii_lowercase().as_str() {
                    "no" | "off" => KnownHosts::Accept,
                    "accept-new" => KnownHosts::Add,
                    _ => KnownHosts::Strict,
                });
            }
            _ => rest.push((k, v)),
        }
    }
    // Other options go into a config file of their own (see options_text).
    let options = if rest.is_empty() {
        None
    } else {
        let user_cfg =
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".ssh/config"));
        let includes: Vec<std::path::PathBuf> = user_cfg
            .into_iter()
            .chain([SYSTEM_CONFIG.into()])
            .filter(|p| p.is_file())
            .collect();
        let mut f = tempfile::NamedTempFile::new()?;
        f.write_all(options_text(&rest, &includes).as_bytes())?;
        f.flush()?;
        b.config_file(f.path());
        Some(f)
    };
    let session = b
        .connect_mux(&ep.address)
        .await
        .map_err(|e| SshError::Unreachable {
            host: ep.host.clone(),
            // ssh's own words (its stderr) when it ran and gave up.
            msg: match &e {
                openssh::Error::Connect(io) => io.to_string().trim().to_owned(),
                other => error_text(other),
            },
        })?;
    Ok(Conn {
        host: ep.host.clone(),
        session: Arc::new(session),
        persist: dir.is_some(),
        endpoint: Box::new(ep.clone()),
        timeout,
        _options: options,
    })
}

/// The system-wide ssh client config, which `-F` would otherwise skip.
const SYSTEM_CONFIG: &str = "/etc/ssh/ssh_config";

/// The config for ssh's `-F`, which replaces both the user's config and
/// the system's: the `-o` options of `ansible_ssh_common_args` and
/// `ansible_ssh_extra_args` first, so they win as they do on ssh's
/// command line (ssh keeps the first value it reads for an option), then
/// `includes` (the user's config, then the system's) for everything else.
fn options_text(options: &[(String, String)], includes: &[std::path::PathBuf]) -> String {
    let mut text = String::new();
    for (k, v) in options {
        text.push_str(&format!("{k} {v}\n"));
    }
    for path in includes {
        text.push_str(&format!("Include {}\n", path.display()));
    }
    text
}

/// The whole error chain on one line (ssh's own message is at the end).
fn error_text(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(t.trim());
        }
        cur = s.source();
    }
    out
}

/// The output of a remote shell command.
#[derive(Debug)]
pub struct Output {
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Conn {
    /// Runs `script` with the remote user's shell (`sh -c`), feeding
    /// `stdin`, and waits for it.
    pub async fn sh(&self, script: &str, stdin: Option<&[u8]>) -> Result<Output, SshError> {
        use tokio::io::AsyncWriteExt;
        let mut cmd = self.session.command("sh");
        cmd.arg("-c").raw_arg(quote(script));
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().await.map_err(|e| self.err(&e))?;
        if let (Some(data), Some(mut w)) = (stdin, child.stdin().take()) {
            w.write_all(data).await.map_err(|e| self.err(&e))?;
            w.shutdown().await.map_err(|e| self.err(&e))?;
            drop(w);
        }
        let out = child.wait_with_output().await.map_err(|e| self.err(&e))?;
        Ok(Output {
            rc: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn err(&self, e: &dyn std::error::Error) -> SshError {
        SshError::Command {
            host: self.host.clone(),
            msg: error_text(e),
        }
    }

    /// Writes `parts`, one after the other, to `path` on the host over
    /// SFTP (created or truncated, mode 0600), calling `sent` with the
    /// bytes written so far after each chunk.
    pub async fn upload(
        &self,
        path: &str,
        parts: &[&[u8]],
        sent: &mut (dyn FnMut(u64) + Send),
    ) -> Result<(), SshError> {
        use openssh_sftp_client::{Sftp, SftpOptions};
        const CHUNK: usize = 256 * 1024;
        let sftp = Sftp::from_clonable_session(self.session.clone(), SftpOptions::default())
            .await
            .map_err(|e| self.err(&e))?;
        let result = async {
            let mut file = sftp
                .options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)
                .await?;
            let mut done = 0u64;
            for part in parts {
                for chunk in part.chunks(CHUNK) {
                    file.write_all(chunk).await?;
                    done += chunk.len() as u64;
                    sent(done);
                }
            }
            file.close().await
        }
        .await;
        let closed = sftp.close().await;
        result.and(closed).map_err(|e| self.err(&e))
    }

    /// This connection, or a new one to the same host if its master has
    /// gone: a persistent master exits after its idle time, which a long
    /// pause between two uses (a runner build, other hosts' batches) can
    /// outlast.
    pub async fn revive(self: Arc<Self>) -> Result<Arc<Conn>, SshError> {
        if self.session.check().await.is_ok() {
            return Ok(self);
        }
        let fresh = connect(&self.endpoint, self.timeout).await?;
        Ok(Arc::new(fresh))
    }

    /// Done with the connection: a persistent master stays for the next
    /// stage (it exits once idle); any other is closed cleanly.
    pub async fn close(self) {
        if let Ok(session) = Arc::try_unwrap(self.session) {
            if self.persist {
                let _ = session.detach();
            } else {
                let _ = session.close().await;
            }
        }
    }
}

/// One long-lived `sh` on a host that runs scripts one after another. A
/// script then costs one fork on the host instead of a new channel, which
/// sshd starts through the user's login shell and its rc files (often
/// slower than the work itself). The shell reads each script as a quoted
/// word and runs it with `eval` in a subshell, so a script's syntax errors,
/// `exit`s and traps end only that subshell. Its stdin comes through a
/// base64 here-document piped into it, never a file (a become password
/// travels on it), or `/dev/null`. Its stdout and stderr go straight down
/// the channel's two streams, each ended by a newline and a marker line
/// that holds a random key of this shell's, the stdout one with the exit
/// code. Nothing is written to the host's disk.
pub struct PersistentShell {
    _child: openssh::Child<Arc<Session>>,
    stdin: openssh::ChildStdin,
    stdout: tokio::io::BufReader<openssh::ChildStdout>,
    stderr: tokio::io::BufReader<openssh::ChildStderr>,
    /// Ends each script's outputs; random, so no output holds it by chance.
    marker: String,
    host: String,
}

/// What the persistent shell prints once it is ready.
const READY: &str = "rustle-shell-ready";
/// Ends the stdin here-documents (base64 never holds it).
const EOF_LINE: &str = "__RUSTLE_SHELL_EOF_7f3a9c__";

impl PersistentShell {
    /// Starts the shell on `conn`'s host: one channel, one login shell.
    pub async fn start(conn: &Conn) -> Result<PersistentShell, SshError> {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let mut child = conn
            .session
            .clone()
            .arc_command("sh")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .await
            .map_err(|e| conn.err(&e))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) = (
            child.stdin().take(),
            child.stdout().take(),
            child.stderr().take(),
        ) else {
            return Err(conn.err(&std::io::Error::other("no pipes to the shell")));
        };
        let mut stdout = tokio::io::BufReader::new(stdout);
        let boot = format!("command -v base64 >/dev/null || exit 3; printf '%s\\n' {READY}\n");
        let io = |e: std::io::Error| conn.err(&e);
        stdin.write_all(boot.as_bytes()).await.map_err(io)?;
        stdin.flush().await.map_err(io)?;
        let mut line = String::new();
        stdout.read_line(&mut line).await.map_err(io)?;
        if line.trim_end() != READY {
            return Err(conn.err(&std::io::Error::other(format!(
                "the shell did not start (it said {line:?})"
            ))));
        }
        Ok(PersistentShell {
            _child: child,
            stdin,
            stdout,
            stderr: tokio::io::BufReader::new(stderr),
            marker: format!("rustle-{}", uuid::Uuid::new_v4().simple()),
            host: conn.host.clone(),
        })
    }

    /// Whether [`PersistentShell::run`] can carry `script` (a shell word
    /// cannot hold a NUL byte).
    pub fn carries(script: &str) -> bool {
        !script.contains('\0')
    }

    /// Runs `script` with `sh`, `stdin` on its standard input (empty when
    /// `None`), and waits for it. `script` must pass [`Self::carries`].
    pub async fn run(&mut self, script: &str, stdin: Option<&[u8]>) -> Result<Output, SshError> {
        use base64::Engine;
        use tokio::io::AsyncWriteExt;
        let data = stdin.filter(|d| !d.is_empty());
        let (input, from_null) = match data {
            Some(_) => (format!("base64 -d <<'{EOF_LINE}' | "), ""),
            None => (String::new(), " < /dev/null"),
        };
        let m = &self.marker;
        let mut command = format!(
            "{input}(eval {}){from_null}; printf '\\n%s %s\\n' {m} \"$?\"; printf '\\n%s\\n' {m} >&2\n",
            quote(script)
        );
        if let Some(data) = data {
            let text = base64::engine::general_purpose::STANDARD.encode(data);
            for line in text.as_bytes().chunks(76) {
                command.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
                command.push('\n');
            }
            command.push_str(EOF_LINE);
            command.push('\n');
        }
        let host = &self.host;
        let lost = |what: &str, e: std::io::Error| SshError::Command {
            host: host.clone(),
            msg: format!("the shell on the host went away ({what}: {e})"),
        };
        self.stdin
            .write_all(command.as_bytes())
            .await
            .map_err(|e| lost("writing", e))?;
        self.stdin.flush().await.map_err(|e| lost("writing", e))?;
        // Both streams at once: one left unread could fill the channel's
        // window and stall the other.
        let marker = m.as_bytes();
        let ((stdout, status), (stderr, _)) = tokio::try_join!(
            framed(&mut self.stdout, marker),
            framed(&mut self.stderr, marker)
        )
        .map_err(|e| lost("reading", e))?;
        let rc = status.trim().parse::<i32>().map_err(|_| {
            lost(
                "reading",
                std::io::Error::other(format!("unexpected exit status {status:?}")),
            )
        })?;
        Ok(Output { rc, stdout, stderr })
    }
}

/// Reads one script's output from `r`: everything up to a newline and a
/// line starting with `marker`, which is not part of it. Returns the
/// output and the rest of the marker line.
async fn framed<R>(r: &mut R, marker: &[u8]) -> std::io::Result<(Vec<u8>, String)>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    use tokio::io::AsyncBufReadExt;
    let mut buf = Vec::new();
    loop {
        let start = buf.len();
        if r.read_until(b'\n', &mut buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        // A line read to its end follows a newline, so the marker line
        // follows the newline printed before it.
        if start > 0 && buf[start..].starts_with(marker) {
            let rest = String::from_utf8_lossy(&buf[start + marker.len()..]).into_owned();
            buf.truncate(start - 1);
            return Ok((buf, rest));
        }
    }
}

/// Quotes `s` for a POSIX shell: single quotes, `'` as `'\''`.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansible_options_come_before_the_configs_they_override() {
        let opts = [
            ("User".to_owned(), "deploy".to_owned()),
            ("KexAlgorithms".to_owned(), "curve25519-sha256".to_owned()),
        ];
        let includes = [
            std::path::PathBuf::from("/home/u/.ssh/config"),
            std::path::PathBuf::from(SYSTEM_CONFIG),
        ];
        assert_eq!(
            options_text(&opts, &includes),
            "User deploy\nKexAlgorithms curve25519-sha256\n\
             Include /home/u/.ssh/config\nInclude /etc/ssh/ssh_config\n"
        );
    }

    #[test]
    fn options_from_ansible_args() {
        let args: Vec<String> = [
            "-o",
            "UserKnownHostsFile=/k",
            "-oStrictHostKeyChecking=yes",
            "-J",
            "bastion",
            "-o",
            "Compression yes",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (opts, jumps) = ssh_options(&args);
        assert_eq!(
            opts,
            [
                ("UserKnownHostsFile".to_owned(), "/k".to_owned()),
                ("StrictHostKeyChecking".to_owned(), "yes".to_owned()),
                ("Compression".to_owned(), "yes".to_owned())
            ]
        );
        assert_eq!(jumps, ["bastion"]);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("abc/d"), "abc/d");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
