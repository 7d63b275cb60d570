//! The `plan` section: what `rustle-plan` decided, per play and per host.

use serde::{Deserialize, Serialize};

use crate::parsed::Vars;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub check: bool,
    pub diff: bool,
    /// Hosts run at once (`-f`).
    pub forks: u32,
    /// `--tags` (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `--skip-tags`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_tags: Vec<String>,
    /// Extra vars given to `rustle-plan -e`, above those of `rustle-parse`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra_vars: Vars,
    /// `--limit`, as a host pattern (a `@FILE` read). Applied here to the
    /// plays whose hosts plan picks, and by exec to those the run picks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// One entry per play of `parsed.plays`, same order.
    pub plays: Vec<PlannedPlay>,
    /// Every host that some play targets, in inventory order.
    pub hosts: Vec<HostPlan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PlannedPlay {
    /// Index into `parsed.plays`.
    pub play: u32,
    /// Hosts the play runs on, in the play's `order`; when
    /// `hosts_at_run_time`, the hosts it may run on.
    pub hosts: Vec<String>,
    /// The run decides the play's hosts: its pattern is templated, or an
    /// earlier play changes the inventory (`add_host`, `group_by`). Exec
    /// then picks them when the play starts, from the pattern rendered with
    /// the extra and play vars, the inventory as the run left it, and the
    /// limit; `hosts` (and `batches`) hold every inventory host within the
    /// limit, so that each has the play in its slice.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hosts_at_run_time: bool,
    /// Sizes of the `serial` batches, in order (they add up to the number
    /// of hosts): batch 1 is the first `batches[0]` hosts, and so on.
    pub batches: Vec<u32>,
    /// `linear` or `free`.
    pub strategy: String,
    /// `max_fail_percentage`: a batch whose failed share exceeds it stops
    /// the play.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fail_percentage: Option<f64>,
    /// `any_errors_fatal`: one failed host stops the play for all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub any_errors_fatal: bool,
    /// Indices into the play's `tasks` that run (after tags).
    pub tasks: Vec<u32>,
    /// Tasks whose parallelism exec and the runner must limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<Hint>,
    /// Tasks where hosts must wait for each other (beyond the boundaries
    /// between batches, which always are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_points: Vec<SyncPoint>,
}

/// A limit on how a task runs across hosts, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Hint {
    /// The task's id.
    pub task: String,
    pub name: String,
    pub kind: HintKind,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HintKind {
    /// One such task at a time on a host (package managers hold a lock).
    HostExclusive,
    /// At most `per_second` starts per second across all hosts.
    RateLimited { per_second: f64 },
    /// One host at a time across the whole run.
    GlobalExclusive,
    /// At most `limit` hosts at a time (`throttle`).
    Throttled { limit: u32 },
}

/// A task at which every host must have arrived before any goes on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncPoint {
    /// The task's id.
    pub task: String,
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HostPlan {
    pub name: String,
    /// Groups the host belongs to, sorted (`group_names`).
    pub groups: Vec<String>,
    /// Inventory variables merged by Ansible's precedence, templates raw.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub vars: Vars,
    pub connection: Connection,
    pub mode: ExecMode,
    /// sha256 of this host's slice (see `HostSlice`), for caching.
    pub slice_sha256: String,
}

/// Variables holding the become password.
pub const BECOME_PASSWORD_VARS: &[&str] = &["ansible_become_password", "ansible_become_pass"];

impl HostPlan {
    /// The host's become password when its inventory gives it as plain
    /// text. Slices leave it out (so it is never embedded in a runner on
    /// the target) and exec sends it in the stretch instead. A templated
    /// value stays in the slice and is rendered at run time, and so does a
    /// vaulted one (decrypted by the engine with exec's vault secrets).
    pub fn become_password(&self) -> Option<crate::Secret> {
        plain_become_password(&self.vars)
    }
}

/// The become password `vars` give as plain text (see
/// [`HostPlan::become_password`]).
pub fn plain_become_password(vars: &Vars) -> Option<crate::Secret> {
    BECOME_PASSWORD_VARS
        .iter()
        .find_map(|k| vars.get(*k))
        .and_then(|v| match v {
            serde_json::Value::String(s) if !s.contains("{{") && !s.contains("{%") => {
                Some(crate::Secret(s.clone()))
            }
            _ => None,
        })
}

/// A host's inventory variables as its slice holds them: without a
/// plain-text become password, which exec sends in each stretch instead.
pub fn slice_vars(vars: &Vars) -> Vars {
    let mut vars = vars.clone();
    if plain_become_password(&vars).is_some() {
        for k in BECOME_PASSWORD_VARS {
            vars.remove(*k);
        }
    }
    vars
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Connection {
    /// Run on the controller itself (`ansible_connection=local`).
    Local,
    Ssh {
        /// `ansible_host`, else the inventory name.
        address: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        private_key_file: Option<String>,
        /// `ansible_ssh_common_args` and `ansible_ssh_extra_args`, split.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        extra_args: Vec<String>,
        /// Connect timeout in seconds (`ansible_ssh_timeout`,
        /// `ansible_timeout`), over exec's `--timeout`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExecMode {
    /// Through the deployed runner binary.
    Runner,
    /// Task by task from the controller.
    Ssh,
}
