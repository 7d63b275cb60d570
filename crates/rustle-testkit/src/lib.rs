//! Test support (a dev-dependency only): starts N real OpenSSH servers for
//! a test, host i on loopback address `127.0.0.{i+2}` on a free port, with a
//! generated host key per host, one generated client key, a `known_hosts`
//! file and an Ansible inventory pointing at them, all in one temp dir.
//! Hosts can be stopped (their sshd and its open sessions are terminated)
//! and restarted on the same port. Dropping `SshHosts` stops every server
//! and removes the temp dir. The machine's own sshd, `/etc/ssh` and port 22
//! are never touched.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";
/// How long one sshd gets to listen, and then to accept our key.
const STARTUP: Duration = Duration::from_secs(10);
/// Fresh ports tried when another process grabs ours before sshd binds it.
const BIND_ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    #[error(
        "{} is missing: run scripts/install-test-deps (it installs Debian's openssh-server without starting it)",
        path.display()
    )]
    NoSshd { path: PathBuf },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} failed: {output}")]
    Command { what: String, output: String },
    #[error("sshd for {host} {reason}; its log:\n{log}")]
    NotReady {
        host: String,
        reason: String,
        log: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestkitError {
    let what = what.into();
    move |source| TestkitError::Io { what, source }
}

/// One test host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshHost {
    /// Inventory name: `host1`, `host2`, ...
    pub name: String,
    /// Loopback address: `127.0.0.2`, `127.0.0.3`, ...
    pub address: String,
    pub port: u16,
    /// The ssh user: the user running the tests.
    pub user: String,
}

/// Running sshd instances, one per host, and the files they use.
#[derive(Debug)]
pub struct SshHosts {
    dir: tempfile::TempDir,
    key: PathBuf,
    known_hosts: PathBuf,
    hosts: Vec<SshHost>,
    servers: Vec<Option<Child>>,
}

impl SshHosts {
    /// Starts `n` sshd instances (`n` at most 253) and waits until each one
    /// accepts the generated client key.
    pub fn start(n: usize) -> Result<SshHosts, TestkitError> {
        assert!(n <= 253, "only 253 loopback addresses from 127.0.0.2");
        check_sshd(Path::new(SSHD))?;
        fs::create_dir_all("/run/sshd").map_err(io("creating /run/sshd"))?;
        let dir = tempfile::Builder::new()
            .prefix("rustle-sshd-")
            .tempdir()
            .map_err(io("creating a temp dir"))?;
        let user = current_user()?;
        let key = dir.path().join("id_ed25519");
        let client_public = keygen(&key)?;
        fs::write(dir.path().join("authorized_keys"), client_public)
            .map_err(io("writing authorized_keys"))?;
        let hosts = (0..n)
            .map(|i| SshHost {
                name: format!("host{}", i + 1),
                address: format!("127.0.0.{}", i + 2),
                port: 0,
                user: user.clone(),
            })
            .collect();
        let mut me = SshHosts {
            known_hosts: dir.path().join("known_hosts"),
            key,
            dir,
            hosts,
            servers: (0..n).map(|_| None).collect(),
        };
        let mut known = String::new();
        for i in 0..n {
            let host_public = keygen(&me.host_key(i))?;
            me.listen_on_free_port(i)?;
            let h = &me.hosts[i];
            // `ssh-ed25519 AAAA...`, without the comment.
            let key_text: Vec<&str> = host_public.split_whitespace().take(2).collect();
            known.push_str(&format!(
                "[{}]:{} {}\n",
                h.address,
                h.port,
                key_text.join(" ")
            ));
        }
        fs::write(&me.known_hosts, known).map_err(io("writing known_hosts"))?;
        for i in 0..n {
            me.wait_for_ssh(i)?;
        }
        Ok(me)
    }

    pub fn hosts(&self) -> &[SshHost] {
        &self.hosts
    }

    /// The temp dir holding keys, configs, logs (`host1.log`, ...) and the inventory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The client's private key, accepted by every host.
    pub fn key_path(&self) -> &Path {
        &self.key
    }

    /// A known_hosts file with every host's key under `[address]:port`.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// An Ansible INI inventory: every host in `[test_hosts]`.
    pub fn inventory_ini(&self) -> String {
        let mut out = String::from("[test_hosts]\n");
        for h in &self.hosts {
            out.push_str(&format!(
                "{} ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={} \
                 ansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'\n",
                h.name,
                h.address,
                h.port,
                h.user,
                self.key.display(),
                self.known_hosts.display(),
            ));
        }
        out
    }

    /// Writes `inventory_ini()` to `inventory.ini` in the temp dir and returns its path.
    pub fn write_inventory(&self) -> PathBuf {
        let path = self.dir.path().join("inventory.ini");
        fs::write(&path, self.inventory_ini()).expect("writing the test inventory");
        path
    }

    /// An `ssh` command to host `i` (0-based), ready for `.arg("some command")`.
    pub fn ssh_command(&self, i: usize) -> Command {
        let h = &self.hosts[i];
        let mut cmd = Command::new("ssh");
        cmd.args(["-F", "/dev/null", "-i"])
            .arg(&self.key)
            .args(["-p", &h.port.to_string(), "-o"])
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
            .args(["-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5"])
            .arg(format!("{}@{}", h.user, h.address));
        cmd
    }

    /// Lets every local user log in with the client key (sshd reads
    /// `authorized_keys` as the user logging in), so a test can connect as
    /// an unprivileged user. Only the public key becomes readable.
    pub fn open_to_all_users(&self) -> Result<(), TestkitError> {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path, mode: u32| {
            fs::set_permissions(path, fs::Permissions::from_mode(mode))
                .map_err(io(format!("chmod {}", path.display())))
        };
        mode(self.dir.path(), 0o755)?;
        mode(&self.dir.path().join("authorized_keys"), 0o644)
    }

    /// An inventory like `inventory_ini()` logging in as `user`.
    pub fn inventory_ini_as(&self, user: &str) -> String {
        self.inventory_ini().replace(
            &format!(" ansible_user={} ", self.hosts[0].user),
            &format!(" ansible_user={user} "),
        )
    }

    /// Stops host `i`'s sshd and the sessions it serves: new connections are
    /// refused and open ones are closed. Does nothing if it is already stopped.
    pub fn stop(&mut self, i: usize) {
        if let Some(mut child) = self.servers[i].take() {
            terminate(&mut child);
        }
    }

    /// Starts host `i`'s sshd again on the same port and waits until it accepts our key.
    pub fn restart(&mut self, i: usize) -> Result<(), TestkitError> {
        self.stop(i);
        if !self.spawn_listening(i)? {
            return Err(self.not_ready(i, "exited at startup"));
        }
        self.wait_for_ssh(i)
    }

    fn host_key(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("{}_key", self.hosts[i].name))
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("{}.log", self.hosts[i].name))
    }

    /// Picks a free port for host `i` and starts its sshd there, picking
    /// again if the port was taken before sshd could bind it.
    fn listen_on_free_port(&mut self, i: usize) -> Result<(), TestkitError> {
        for _ in 0..BIND_ATTEMPTS {
            self.hosts[i].port = free_port(&self.hosts[i].address)?;
            if self.spawn_listening(i)? {
                return Ok(());
            }
        }
        Err(self.not_ready(i, &format!("exited at startup {BIND_ATTEMPTS} times")))
    }

    /// Writes host `i`'s config, starts its sshd and waits until it reports
    /// listening (true) or exits (false).
    fn spawn_listening(&mut self, i: usize) -> Result<bool, TestkitError> {
        let h = &self.hosts[i];
        let d = self.dir.path();
        let log_path = self.log_path(i);
        let listening = format!("Server listening on {} port {}.", h.address, h.port);
        let config = d.join(format!("{}_sshd_config", h.name));
        let text = format!(
            "ListenAddress {addr}\nPort {port}\nHostKey {key}\nPidFile {pid}\nAuthorizedKeysFile {auth}\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nLogLevel VERBOSE\nSubsystem sftp internal-sftp\n\
             AcceptEnv none\nMaxSessions 64\nMaxStartups 64:30:128\n",
            addr = h.address,
            port = h.port,
            key = self.host_key(i).display(),
            pid = d.join(format!("{}.pid", h.name)).display(),
            auth = d.join("authorized_keys").display(),
        );
        fs::write(&config, text).map_err(io("writing an sshd config"))?;
        let log = fs::File::create(&log_path).map_err(io("creating an sshd log"))?;
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(io(format!("starting {SSHD}")))?;
        let child = self.servers[i].insert(child);

        let deadline = Instant::now() + STARTUP;
        loop {
            if child.try_wait().map_err(io("waiting for sshd"))?.is_some() {
                self.servers[i] = None;
                return Ok(false);
            }
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            if log.contains(&listening) {
                return Ok(true);
            }
            if Instant::now() > deadline {
                return Err(self.not_ready(i, "did not listen within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `ssh ... true` to host `i` succeeds.
    fn wait_for_ssh(&mut self, i: usize) -> Result<(), TestkitError> {
        let deadline = Instant::now() + STARTUP;
        loop {
            let out = self
                .ssh_command(i)
                .arg("true")
                .stdin(Stdio::null())
                .output()
                .map_err(io("running ssh"))?;
            if out.status.success() {
                return Ok(());
            }
            let exited = match self.servers[i].as_mut() {
                Some(child) => child.try_wait().map_err(io("waiting for sshd"))?.is_some(),
                None => true,
            };
            if exited || Instant::now() > deadline {
                let reason = format!(
                    "did not accept ssh within 10 s (sshd {}); ssh said: {}",
                    if exited { "exited" } else { "running" },
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                return Err(self.not_ready(i, &reason));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn not_ready(&self, i: usize, reason: &str) -> TestkitError {
        TestkitError::NotReady {
            host: self.hosts[i].name.clone(),
            reason: reason.to_owned(),
            log: fs::read_to_string(self.log_path(i)).unwrap_or_default(),
        }
    }
}

impl Drop for SshHosts {
    fn drop(&mut self) {
        for mut child in self.servers.iter_mut().filter_map(Option::take) {
            terminate(&mut child);
        }
    }
}

/// Sends SIGTERM to a listening sshd and to its session processes (which
/// sshd puts in their own sessions, so they are found by parent pid), then
/// waits for the listener; SIGKILL if it is still there after 5 s.
fn terminate(child: &mut Child) {
    let mut pids = vec![child.id()];
    pids.extend(descendants(child.id()));
    // `kill` keeps this crate free of unsafe code.
    let sent = Command::new("kill")
        .arg("-TERM")
        .args(pids.iter().map(u32::to_string))
        .stderr(Stdio::null())
        .status()
        .is_ok();
    let deadline = Instant::now() + Duration::from_secs(5);
    while sent && Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Every process below `root`, from the parent pids in `/proc/*/stat`.
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...", where comm may hold spaces and parens.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent_of.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(
            parent_of
                .iter()
                .filter(|&&(_, ppid)| ppid == parent)
                .map(|&(pid, _)| pid),
        );
        next += 1;
    }
    found.split_off(1)
}

fn check_sshd(path: &Path) -> Result<(), TestkitError> {
    if path.exists() {
        Ok(())
    } else {
        Err(TestkitError::NoSshd {
            path: path.to_owned(),
        })
    }
}

/// Generates an ed25519 key pair at `path` and returns the public key line.
fn keygen(path: &Path) -> Result<String, TestkitError> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "rustle-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(io("running ssh-keygen"))?;
    if !out.status.success() {
        return Err(TestkitError::Command {
            what: "ssh-keygen".into(),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    fs::read_to_string(path.with_extension("pub")).map_err(io("reading a public key"))
}

/// A port that was free on `address` a moment ago.
fn free_port(address: &str) -> Result<u16, TestkitError> {
    let listener = TcpListener::bind((address, 0)).map_err(io(format!("binding {address}:0")))?;
    let port = listener
        .local_addr()
        .map_err(io("reading a bound port"))?
        .port();
    Ok(port)
}

fn current_user() -> Result<String, TestkitError> {
    match std::env::var("USER") {
        Ok(user) if !user.is_empty() => Ok(user),
        _ => {
            let out = Command::new("id")
                .arg("-un")
                .output()
                .map_err(io("running id -un"))?;
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
    }
}

/// Writes `contents` to `path` as an executable (mode 0755) that this
/// process can run at once. A test binary runs tests on many threads; a
/// fork on one of them copies every descriptor this process holds, and
/// running a file that some process still has open for writing fails with
/// "Text file busy". So the executable is written by a child (`install`),
/// and this process only ever holds a descriptor to a scratch copy.
pub fn write_executable(path: &Path, contents: &[u8]) -> Result<(), TestkitError> {
    let scratch = path.with_extension("scratch");
    fs::write(&scratch, contents).map_err(io(format!("writing {}", scratch.display())))?;
    let out = Command::new("install")
        .args(["-m", "0755"])
        .arg(&scratch)
        .arg(path)
        .output()
        .map_err(io("running install"))?;
    fs::remove_file(&scratch).map_err(io(format!("removing {}", scratch.display())))?;
    if !out.status.success() {
        return Err(TestkitError::Command {
            what: format!("install -m 0755 {}", path.display()),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    /// Runs `cmd` on host `i`; its stdout if ssh and the command succeeded.
    fn run(hosts: &SshHosts, i: usize, cmd: &str) -> Option<String> {
        let out = hosts
            .ssh_command(i)
            .arg(cmd)
            .stdin(Stdio::null())
            .output()
            .expect("running ssh");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    #[test]
    fn hosts_answer_on_their_own_addresses_and_can_be_stopped_and_restarted() {
        let mut hosts = SshHosts::start(2).unwrap();
        for (i, h) in hosts.hosts().iter().enumerate() {
            assert_eq!(h.name, format!("host{}", i + 1));
            assert_eq!(h.address, format!("127.0.0.{}", i + 2));
            assert_eq!(run(&hosts, i, "true").as_deref(), Some(""));
            let conn = run(&hosts, i, "echo $SSH_CONNECTION").expect("ssh to a test host");
            // "client_ip client_port server_ip server_port"
            let fields: Vec<&str> = conn.split_whitespace().collect();
            assert_eq!(fields.len(), 4, "{conn:?}");
            assert_eq!(fields[2], h.address);
            assert_eq!(fields[3], h.port.to_string());
        }

        hosts.stop(0);
        assert_eq!(run(&hosts, 0, "true"), None, "a stopped host still answers");
        assert_eq!(run(&hosts, 1, "true").as_deref(), Some(""));
        hosts.stop(0); // already stopped: nothing happens

        let port = hosts.hosts()[0].port;
        hosts.restart(0).unwrap();
        assert_eq!(hosts.hosts()[0].port, port);
        assert_eq!(run(&hosts, 0, "echo back").as_deref(), Some("back\n"));
    }

    #[test]
    fn stopping_a_host_closes_its_open_sessions() {
        let mut hosts = SshHosts::start(1).unwrap();
        let mut session = hosts
            .ssh_command(0)
            .arg("echo up; sleep 60")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(session.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "up\n");

        let stopped = Instant::now();
        hosts.stop(0);
        let deadline = stopped + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = session.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                session.kill().unwrap();
                panic!("the ssh session outlived its stopped host");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(!status.success());
    }

    #[test]
    fn files_and_inventory_point_at_the_hosts() {
        let hosts = SshHosts::start(2).unwrap();
        let [h1, h2] = hosts.hosts() else {
            panic!("two hosts expected")
        };
        assert!(hosts.key_path().starts_with(hosts.dir()));
        assert!(hosts.key_path().is_absolute());

        let known = fs::read_to_string(hosts.known_hosts()).unwrap();
        let lines: Vec<&str> = known.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(&format!("[127.0.0.2]:{} ssh-ed25519 AAAA", h1.port)));
        assert!(lines[1].starts_with(&format!("[127.0.0.3]:{} ssh-ed25519 AAAA", h2.port)));

        let inventory = fs::read_to_string(hosts.write_inventory()).unwrap();
        assert_eq!(inventory, hosts.inventory_ini());
        let key = hosts.key_path().display();
        let known = hosts.known_hosts().display();
        let user = &h1.user;
        assert_eq!(
            inventory,
            format!(
                "[test_hosts]\n\
                 host1 ansible_host=127.0.0.2 ansible_port={p1} ansible_user={user} ansible_ssh_private_key_file={key} \
                 ansible_ssh_common_args='-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes'\n\
                 host2 ansible_host=127.0.0.3 ansible_port={p2} ansible_user={user} ansible_ssh_private_key_file={key} \
                 ansible_ssh_common_args='-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes'\n",
                p1 = h1.port,
                p2 = h2.port,
            )
        );
    }

    #[test]
    fn dropping_the_hosts_stops_sshd_and_removes_the_dir() {
        let hosts = SshHosts::start(1).unwrap();
        let dir = hosts.dir().to_owned();
        let pid = hosts.servers[0].as_ref().unwrap().id();
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        assert!(proc_dir.exists());
        drop(hosts);
        assert!(!dir.exists());
        assert!(!proc_dir.exists(), "sshd {pid} outlived SshHosts");
    }

    #[test]
    fn a_missing_sshd_names_the_install_script() {
        let err = check_sshd(Path::new("/nonexistent/sshd")).unwrap_err();
        assert!(
            err.to_string().contains("run scripts/install-test-deps"),
            "{err}"
        );
    }
}
