//! The two places a runner can go, behind one interface: this machine
//! (for `ansible_connection=local` and `--compile-only`) and a host over
//! its SSH master connection. Placement, verification, rollback and
//! cleanup are the same shell scripts on both; only how bytes travel
//! differs (a local write, or SFTP).

use std::io::Write;

use rustle_ssh::Conn;

/// Where scripts run and files go.
pub enum Host {
    Local,
    Ssh(Conn),
}

/// What a script printed and how it ended.
pub struct Output {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Why an operation on a host failed: the connection went away
/// (unreachable) or the host refused (failed).
#[derive(Debug)]
pub enum HostError {
    Unreachable(String),
    Failed(String),
}

impl HostError {
    pub fn message(&self) -> &str {
        match self {
            HostError::Unreachable(m) | HostError::Failed(m) => m,
        }
    }
}

impl Host {
    /// Runs `script` with `sh -c`, `stdin` on its standard input.
    pub async fn sh_in(&self, script: &str, stdin: Option<&[u8]>) -> Result<Output, HostError> {
        match self {
            Host::Local => {
                use tokio::io::AsyncWriteExt;
                let running = |e: std::io::Error| HostError::Failed(format!("running sh: {e}"));
                let mut child = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(script)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(running)?;
                if let Some(mut w) = child.stdin.take() {
                    // A script that stops reading early is its own business.
                    let _ = w.write_all(stdin.unwrap_or_default()).await;
                }
                let out = child.wait_with_output().await.map_err(running)?;
                Ok(Output {
                    rc: out.status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                })
            }
            Host::Ssh(conn) => {
                let out = conn
                    .sh(script, stdin)
                    .await
                    .map_err(|e| HostError::Unreachable(e.to_string()))?;
                // 255 is ssh's own failure: the connection, not the script.
                if out.rc == 255 || out.rc == -1 {
                    return Err(HostError::Unreachable(format!(
                        "{}: the connection was lost: {}",
                        conn.host,
                        String::from_utf8_lossy(&out.stderr).trim()
                    )));
                }
                Ok(Output {
                    rc: out.rc,
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                })
            }
        }
    }

    /// Runs `script` and requires exit 0; `what` names it in the error.
    pub async fn sh_ok(&self, what: &str, script: &str) -> Result<String, HostError> {
        self.sh_ok_in(what, script, None).await
    }

    /// The same with `stdin` on the script's standard input.
    pub async fn sh_ok_in(
        &self,
        what: &str,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<String, HostError> {
        let out = self.sh_in(script, stdin).await?;
        if out.rc != 0 {
            return Err(HostError::Failed(format!(
                "{what} failed (exit {}): {}",
                out.rc,
                out.stderr.trim()
            )));
        }
        Ok(out.stdout)
    }

    /// Writes `parts` in order to `path` (whose directory exists).
    pub async fn write(
        &self,
        path: &str,
        parts: &[&[u8]],
        sent: &mut (dyn FnMut(u64) + Send),
    ) -> Result<(), HostError> {
        match self {
            Host::Local => {
                let mut write = || -> std::io::Result<()> {
                    let mut f = std::fs::File::create(path)?;
                    let mut done = 0;
                    for part in parts {
                        f.write_all(part)?;
                        done += part.len() as u64;
                        sent(done);
                    }
                    f.sync_all()
                };
                write().map_err(|e| HostError::Failed(format!("writing {path}: {e}")))
            }
            Host::Ssh(conn) => match conn.upload(path, parts, sent).await {
                Ok(()) => Ok(()),
                // A live master means the host refused; else it went away.
                Err(e) if conn.session.check().await.is_ok() => {
                    Err(HostError::Failed(format!("uploading {path}: {e}")))
                }
                Err(e) => Err(HostError::Unreachable(format!("uploading {path}: {e}"))),
            },
        }
    }

    /// The same host, reconnected if its master went away while deploy
    /// was busy elsewhere (building a runner can outlast its idle time).
    pub async fn revive(self) -> Result<Host, HostError> {
        match self {
            Host::Local => Ok(Host::Local),
            Host::Ssh(conn) => {
                let conn = std::sync::Arc::new(conn)
                    .revive()
                    .await
                    .map_err(|e| HostError::Unreachable(e.to_string()))?;
                std::sync::Arc::try_unwrap(conn)
                    .map(Host::Ssh)
                    .map_err(|_| HostError::Failed("the connection is shared".into()))
            }
        }
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Host::Ssh(_))
    }

    pub async fn close(self) {
        if let Host::Ssh(conn) = self {
            conn.close().await;
        }
    }
}
