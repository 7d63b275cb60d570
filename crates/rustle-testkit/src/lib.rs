//! Test support (a dev-dependency only): starts N real OpenSSH servers for
//! a test, host i on loopback address `127.0.0.{i+2}` on a free port, with a
//! generated host key per host, one generated client key, a `known_hosts`
//! file and an Ansible inventory pointing at them, all in one temp dir.
//! Dropping `SshHosts` stops every server. The machine's own sshd, its
//! config and port 22 are never touched.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    #[error(
        "{SSHD} is missing: run scripts/install-test-deps (it installs Debian's openssh-server without starting it)"
    )]
    NoSshd,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} failed: {output}")]
    Command { what: String, output: String },
    #[error("sshd for {host} did not come up within 10 s; its log:\n{log}")]
    NotReady { host: String, log: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestkitError {
    let what = what.into();
    move |source| TestkitError::Io { what, source }
}

/// One test host.
#[derive(Debug, Clone)]
pub struct SshHost {
    /// Inventory name: `host1`, `host2`, ...
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
}

#[derive(Debug)]
pub struct SshHosts {
    dir: tempfile::TempDir,
    hosts: Vec<SshHost>,
    servers: Vec<Option<Child>>,
}

impl SshHosts {
    /// Starts `n` sshd instances and waits until each accepts our key.
    pub fn start(n: usize) -> Result<SshHosts, TestkitError> {
        if !Path::new(SSHD).exists() {
            return Err(TestkitError::NoSshd);
        }
        std::fs::create_dir_all("/run/sshd").map_err(io("creating /run/sshd"))?;
        let dir = tempfile::Builder::new()
            .prefix("rustle-sshd-")
            .tempdir()
            .map_err(io("creating a temp dir"))?;
        let user = current_user()?;
        keygen(&dir.path().join("id_ed25519"))?;
        let public = std::fs::read_to_string(dir.path().join("id_ed25519.pub"))
            .map_err(io("reading the client key"))?;
        std::fs::write(dir.path().join("authorized_keys"), public)
            .map_err(io("writing authorized_keys"))?;
        let mut hosts = Vec::new();
        let mut known = String::new();
        for i in 0..n {
            let address = format!("127.0.0.{}", i + 2);
            let key = dir.path().join(format!("host{}_key", i + 1));
            keygen(&key)?;
            let host_pub = std::fs::read_to_string(key.with_extension("pub"))
                .map_err(io("reading a host key"))?;
            let port = free_port(&address)?;
            let key_text = host_pub
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            known.push_str(&format!("[{address}]:{port} {key_text}\n"));
            hosts.push(SshHost {
                name: format!("host{}", i + 1),
                address,
                port,
                user: user.clone(),
            });
        }
        std::fs::write(dir.path().join("known_hosts"), known).map_err(io("writing known_hosts"))?;
        let mut me = SshHosts {
            dir,
            servers: (0..hosts.len()).map(|_| None).collect(),
            hosts,
        };
        for i in 0..n {
            me.launch(i)?;
        }
        for i in 0..n {
            me.wait_ready(i)?;
        }
        Ok(me)
    }

    pub fn hosts(&self) -> &[SshHost] {
        &self.hosts
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("id_ed25519")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// An Ansible INI inventory: every host in `[test_hosts]`.
    pub fn inventory_ini(&self) -> String {
        let mut out = String::from("[test_hosts]\n");
        for h in &self.hosts {
            out.push_str(&format!(
                "{} ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={} ansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'\n",
                h.name,
                h.address,
                h.port,
                h.user,
                self.key_path().display(),
                self.known_hosts().display(),
            ));
        }
        out
    }

    /// Writes `inventory_ini()` into the temp dir and returns its path.
    pub fn write_inventory(&self) -> PathBuf {
        let path = self.dir.path().join("inventory.ini");
        std::fs::write(&path, self.inventory_ini()).expect("writing the test inventory");
        path
    }

    /// An `ssh` command to host `i`, ready for `.arg("some command")`.
    pub fn ssh_command(&self, i: usize) -> Command {
        let h = &self.hosts[i];
        let mut cmd = Command::new("ssh");
        cmd.arg("-i")
            .arg(self.key_path())
            .args(["-p", &h.port.to_string()])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.known_hosts().display()
            ))
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
            .args(["-o", "ConnectTimeout=5", "-F", "/dev/null"])
            .arg(format!("{}@{}", h.user, h.address));
        cmd
    }

    /// Stops host `i`'s sshd (connections to it then fail).
    pub fn stop(&mut self, i: usize) {
        if let Some(mut child) = self.servers[i].take() {
            terminate(&mut child);
        }
    }

    /// Starts host `i`'s sshd again on the same port.
    pub fn restart(&mut self, i: usize) -> Result<(), TestkitError> {
        self.stop(i);
        self.launch(i)?;
        self.wait_ready(i)
    }

    fn launch(&mut self, i: usize) -> Result<(), TestkitError> {
        let h = &self.hosts[i];
        let d = self.dir.path();
        let config = d.join(format!("{}_sshd_config", h.name));
        let text = format!(
            "ListenAddress {addr}\nPort {port}\nHostKey {key}\nPidFile {pid}\nAuthorizedKeysFile {auth}\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nLogLevel VERBOSE\nSubsystem sftp internal-sftp\n\
             MaxSessions 64\nMaxStartups 64:30:128\n",
            addr = h.address,
            port = h.port,
            key = d.join(format!("{}_key", h.name)).display(),
            pid = d.join(format!("{}.pid", h.name)).display(),
            auth = d.join("authorized_keys").display(),
        );
        std::fs::write(&config, text).map_err(io("writing an sshd config"))?;
        let log = std::fs::File::create(d.join(format!("{}.log", h.name)))
            .map_err(io("creating an sshd log"))?;
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(io(format!("starting {SSHD}")))?;
        self.servers[i] = Some(child);
        Ok(())
    }

    fn wait_ready(&mut self, i: usize) -> Result<(), TestkitError> {
        let h = self.hosts[i].clone();
        let addr = SocketAddrV4::new(h.address.parse().unwrap_or(Ipv4Addr::LOCALHOST), h.port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let up = TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_ok();
            if up {
                let ok = self
                    .ssh_command(i)
                    .arg("true")
                    .stdin(Stdio::null())
                    .output()
                    .is_ok_and(|o| o.status.success());
                if ok {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.path().join(format!("{}.log", h.name)))
            .unwrap_or_default();
        Err(TestkitError::NotReady { host: h.name, log })
    }
}

impl Drop for SshHosts {
    fn drop(&mut self) {
        for child in self.servers.iter_mut().filter_map(Option::take) {
            let mut child = child;
            terminate(&mut child);
        }
    }
}

fn terminate(child: &mut Child) {
    // sshd -D exits on SIGTERM; `kill` keeps us free of unsafe code.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn keygen(path: &Path) -> Result<(), TestkitError> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "rustle-test", "-f"])
        .arg(path)
        .output()
        .map_err(io("running ssh-keygen"))?;
    if !out.status.success() {
        return Err(TestkitError::Command {
            what: "ssh-keygen".into(),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

fn free_port(address: &str) -> Result<u16, TestkitError> {
    let l = TcpListener::bind((address, 0)).map_err(io(format!("binding {address}:0")))?;
    let port = l.local_addr().map_err(io("reading a bound port"))?.port();
    Ok(port)
}

fn current_user() -> Result<String, TestkitError> {
    if let Ok(u) = std::env::var("USER")
        && !u.is_empty()
    {
        return Ok(u);
    }
    let out = Command::new("id")
        .arg("-un")
        .output()
        .map_err(io("running id -un"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(hosts: &SshHosts, i: usize, cmd: &str) -> Option<String> {
        let out = hosts
            .ssh_command(i)
            .arg(cmd)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    #[test]
    fn hosts_answer_on_their_own_addresses_and_can_be_stopped() {
        let mut hosts = SshHosts::start(2).unwrap();
        for (i, h) in hosts.hosts().iter().enumerate() {
            let conn = run(&hosts, i, "echo $SSH_CONNECTION").expect("ssh to a test host");
            // "client_ip client_port server_ip server_port"
            let fields: Vec<&str> = conn.split_whitespace().collect();
            assert_eq!(fields[2], h.address);
            assert_eq!(fields[3], h.port.to_string());
        }
        hosts.stop(0);
        assert!(
            run(&hosts, 0, "true").is_none(),
            "a stopped host still answers"
        );
        assert!(run(&hosts, 1, "true").is_some());
        hosts.restart(0).unwrap();
        assert!(run(&hosts, 0, "true").is_some());
        assert!(
            hosts
                .inventory_ini()
                .contains("host2 ansible_host=127.0.0.3")
        );
    }
}
