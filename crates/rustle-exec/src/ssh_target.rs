//! SSH mode: the engine's target for a host with no runner, so the same
//! engine that runs inside `rustle-runner` runs here on the controller,
//! task by task. It is the engine's [`ShellTarget`] over this [`SshShell`]:
//! every operation is one command on a new channel of the host's single
//! master connection. The engine is synchronous, so each call blocks its
//! (blocking-pool) thread on the async connection.

use std::io;
use std::sync::Arc;

use rustle_engine::{ExecOutput, Shell, ShellTarget};
use rustle_ssh::Conn;
use tokio::runtime::Handle;

pub struct SshShell {
    conn: Arc<Conn>,
    rt: Handle,
}

impl Shell for SshShell {
    fn sh(&self, script: &str, stdin: Option<&[u8]>) -> io::Result<ExecOutput> {
        let out = self
            .rt
            .block_on(self.conn.sh(script, stdin))
            .map_err(|e| io::Error::new(io::ErrorKind::ConnectionAborted, e.to_string()))?;
        Ok(ExecOutput {
            rc: out.rc,
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}

pub type SshTarget = ShellTarget<SshShell>;

/// The target over `conn` (one round trip, for the home directory).
pub async fn open(conn: Arc<Conn>) -> Result<SshTarget, String> {
    let shell = SshShell {
        conn,
        rt: Handle::current(),
    };
    tokio::task::spawn_blocking(move || ShellTarget::open(shell))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}
