//! `rustle-exec` runs a planned (or deployed) document across its hosts:
//! through each host's deployed runner, locally or over one multiplexed SSH
//! connection per host, or with the engine in process for a local host. It
//! streams JSON event lines on stdout and Ansible's default output on
//! stderr, in Ansible's linear order, ends with `PLAY RECAP`, and exits
//! the way ansible-playbook does.

mod collate;
mod conduct;
mod delegate;
mod diff;
mod display;
mod inventory;
mod origins;
mod run;
mod show;
mod ssh_target;
mod summary;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use rustle_format::{Document, HostStats};

pub use collate::Collator;
pub use display::{Display, Palette, python_json};
pub use run::Driver;

#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// `-v` count.
    pub verbosity: u8,
    /// SSH connect timeout.
    pub timeout: Duration,
    pub palette: Palette,
    /// Print one document like the `ansible.posix.json` callback's at the
    /// end instead of event lines.
    pub json_summary: bool,
    /// `--ask-become-pass` / `--become-password-file`: sent to each host's
    /// stretches, used where the host has no `ansible_become_password`.
    pub become_password: Option<rustle_format::Secret>,
    /// `--vault-password-file`, `--vault-id`, `--ask-vault-pass`: sent with
    /// every stretch (on a runner's stdin), to decrypt vaulted values.
    pub vault_secrets: Vec<rustle_format::VaultSecret>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("the document has no plan")]
    NoPlan,
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    #[error("keeping waiting events in a temp file: {0}")]
    Spill(std::io::Error),
    /// A play's `hosts` could not be rendered or matched at run time.
    #[error("play {play:?}: the field 'hosts' has an invalid value: {msg}")]
    PlayHosts { play: String, msg: String },
}

/// Exit codes as ansible-playbook's.
/// `stopped`: whether a host ended the run failed. A failure a host went
/// on from (an include that was not there, under a rescue) is counted in
/// the recap but, as in ansible-core, does not fail the run.
pub fn exit_code(stats: &BTreeMap<String, HostStats>, stopped: impl Fn(&str) -> bool) -> i32 {
    if stats.values().any(|s| s.unreachable > 0) {
        4
    } else if stats
        .iter()
        .any(|(host, s)| s.failures > 0 && stopped(host))
    {
        2
    } else {
        0
    }
}

/// Runs the plan; events go to `events` as JSON lines, the human output to
/// `human`. Returns the exit code.
pub fn execute(
    doc: &Document,
    opts: &ExecOptions,
    events: impl Write,
    human: impl Write,
) -> Result<i32, ExecError> {
    // Lookups run here, on the controller, as in Ansible.
    rustle_engine::template::lookups::on_controller();
    let show = show::Show::new(doc, Display::new(human, opts.verbosity, opts.palette));
    conduct::Conductor::new(doc, opts, events, show)?.run()
}
