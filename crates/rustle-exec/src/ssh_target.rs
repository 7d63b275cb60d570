//! SSH mode: the engine's target for a host with no runner, so the same
//! engine that runs inside `rustle-runner` runs here on the controller,
//! task by task. It is the engine's [`ShellTarget`] over this [`SshShell`]:
//! every operation is one script run by the host's long-lived shell, on one
//! channel of the host's single master connection (or, where that shell
//! cannot start, one channel per script). The engine is synchronous, so
//! each call blocks its (blocking-pool) thread on the async connection.

use std::io;
use std::sync::{Arc, Mutex};

use rustle_engine::{ExecOutput, Shell, ShellTarget};
use rustle_ssh::{Conn, PersistentShell};
use tokio::runtime::Handle;

pub struct SshShell {
    conn: Arc<Conn>,
    rt: Handle,
    persistent: Mutex<Persistent>,
}

/// The host's long-lived shell ([`PersistentShell`]): started at the first
/// script, started again after it went away; where it cannot start, every
/// script gets a channel of its own.
enum Persistent {
    NotYet,
    Running(Box<PersistentShell>),
    Unavailable,
}

impl Shell for SshShell {
    fn sh(&self, script: &str, stdin: Option<&[u8]>) -> io::Result<ExecOutput> {
        let lost = |e: rustle_ssh::SshError| {
            io::Error::new(io::ErrorKind::ConnectionAborted, e.to_string())
        };
        let mut persistent = self.persistent.lock().expect("unpoisoned");
        if matches!(*persistent, Persistent::NotYet) {
            *persistent = match self.rt.block_on(PersistentShell::start(&self.conn)) {
                Ok(shell) => Persistent::Running(Box::new(shell)),
                Err(_) => Persistent::Unavailable,
            };
        }
        let out = match &mut *persistent {
            Persistent::Running(shell) if PersistentShell::carries(script) => {
                match self.rt.block_on(shell.run(script, stdin)) {
                    Ok(out) => out,
                    Err(e) => {
                        *persistent = Persistent::NotYet;
                        return Err(lost(e));
                    }
                }
            }
            _ => self
                .rt
                .block_on(self.conn.sh(script, stdin))
                .map_err(lost)?,
        };
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
        persistent: Mutex::new(Persistent::NotYet),
    };
    tokio::task::spawn_blocking(move || ShellTarget::open(shell))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}
