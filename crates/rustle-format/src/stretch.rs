//! Stretches: a run of one play's steps that hosts take without waiting
//! for each other. `rustle-exec` cuts each play at its sync points and
//! serial batches, hands every host a [`Stretch`] with the state it reached
//! so far, and gets back the new [`HostState`] in a final
//! [`crate::Event::StretchDone`].
//!
//! A play's steps are numbered: 0 gathers facts, `1..=n` are the slice
//! play's tasks (`SlicePlay::tasks[step - 1]`), and `n + 1` runs the
//! handlers still notified at the end of the play.

use serde::{Deserialize, Serialize};

use crate::event::HostStats;
use crate::parsed::Vars;

/// What a runner (or the engine in `rustle-exec`) is asked to run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Stretch {
    /// Index of the play in the playbook (`SlicePlay::play`).
    pub play: u32,
    /// First step to run.
    pub from: u32,
    /// Step to stop before (may exceed the last step: up to the end).
    pub to: u32,
    /// The host's state when the stretch starts.
    pub state: HostState,
    /// `ansible_play_batch` when `serial` splits the play's hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Vec<String>>,
    /// `ansible_play_hosts_all` when the run picked the play's hosts
    /// (`PlannedPlay::hosts_at_run_time`), above the slice's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub play_hosts: Option<Vec<String>>,
    /// `groups` and the host's `group_names` once the run has changed the
    /// inventory (`add_host`, `group_by`), above the slice's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_names: Option<Vec<String>>,
    /// The host's inventory variables once the run changed them (a group
    /// it joined has `group_vars/`, `add_host` set some), above the
    /// slice's; without a plain-text become password, as in slices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_vars: Option<Vars>,
    /// Other hosts' variables (`hostvars`), sent only to stretches that
    /// read them.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub hostvars: Vars,
    /// The become password given to `rustle-exec` (`--ask-become-pass`,
    /// `--become-password-file`), for tasks whose host has no
    /// `ansible_become_password`. It reaches a runner on its stdin only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub become_password: Option<Secret>,
    /// The vault secrets given to `rustle-exec` (`--vault-password-file`,
    /// `--vault-id`, `--ask-vault-pass`), to decrypt vaulted values. Like
    /// the become password, they reach a runner on its stdin only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vault_secrets: Vec<VaultSecret>,
    /// How many `-v` `rustle-exec` was given: a `debug` with a higher
    /// `verbosity` is skipped, as in ansible-playbook.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub verbosity: u8,
}

/// One vault password and its vault id label (`default` when none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct VaultSecret {
    pub label: String,
    pub password: Secret,
}

/// A password: serialized as itself, shown by `Debug` as asterisks.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

/// Everything about a host that outlives one stretch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HostState {
    /// Facts, under the names modules gave them (`ansible_distribution`,
    /// `getent_passwd`), as ansible-core's fact cache holds them.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub facts: Vars,
    /// `register` results and `set_fact` variables.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub vars: Vars,
    /// Variables `include_vars` set: below `vars`, above task vars.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub included_vars: Vars,
    /// A task failed (or `any_errors_fatal` stopped the host): it runs
    /// nothing more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
    /// `meta: end_play`/`end_host` ended this play for the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_play: Option<u32>,
    /// Handler names and `listen` topics notified and not yet run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notified: Vec<String>,
    /// Roles run in the current play: `[path, tasks file, params]`, so a
    /// role runs once unless its parameters differ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles_ran: Vec<(String, Option<String>, serde_json::Value)>,
    pub stats: HostStats,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}
