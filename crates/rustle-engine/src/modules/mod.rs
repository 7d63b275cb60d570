//! Modules: what a task's action does. Each module reads the current state
//! through the [`Target`], decides what must change, and changes it only
//! when needed (never in check mode). [`resolve`] is the single dispatch
//! point from an action name to its module.

mod accounts;
mod action;
pub(crate) use action::{CAUSES_KEY, action_failed};
mod add_host;
mod apt;
mod archive;
mod args;
mod assemble;
mod assert;
mod async_status;
mod authorized_key;
mod bin;
mod blockinfile;
mod command;
mod copy;
mod copy_dir;
mod cron;
mod debconf;
mod debug;
mod dnf;
mod dpkg_selections;
mod fail;
mod fetch;
mod file;
mod fileattrs;
mod find;
mod get_url;
mod getent;
mod git;
mod group;
mod group_by;
mod hostname;
mod include;
mod include_vars;
mod ini_file;
mod known_hosts;
mod lineinfile;
mod meta;
mod mount;
mod pause;
mod ping;
mod pip;
mod raw;
mod replace;
mod script;
mod service;
mod set_fact;
mod setup;
mod slurp;
mod stat;
mod sysctl;
mod systemd;
mod tempfile;
mod template;
mod unarchive;
mod uri;
mod urls;
mod user;
mod validate_argument_spec;
mod wait_for;

use rustle_format::Vars;
use serde_json::Value as Json;

use crate::template::{Templar, TemplateError};
use crate::{FileSource, Target};

pub use args::Args;
pub(crate) use args::py_repr;
pub use include::{CANDIDATES as INCLUDE_CANDIDATES, LABEL as INCLUDE_LABEL};
pub(crate) use include_vars::vars_from_file;
pub use meta::{MetaAction, meta_skipped};
pub use pause::DISPLAY_KEY;

/// What a module may use while it runs.
pub struct ModuleCtx<'a> {
    pub target: &'a dyn Target,
    /// The controller's filesystem, when the engine runs in exec (`fetch`
    /// writes there); `None` in a runner.
    pub controller: Option<&'a dyn Target>,
    pub files: &'a dyn FileSource,
    /// The directory of the file the task is written in, relative to the
    /// playbook directory (empty for the playbook's own).
    pub task_dir: &'a str,
    /// The task's variables, for modules that evaluate expressions.
    pub templar: &'a Templar,
    pub check: bool,
    pub diff: bool,
    /// The task's `environment`, for the processes modules start.
    pub env: &'a [(String, String)],
    /// How many `-v` the run was given (`debug`'s `verbosity`).
    pub verbosity: u8,
}

/// What a module did: its result (Ansible's keys) and how the run changes.
#[derive(Debug)]
pub struct Outcome {
    pub result: Vars,
    pub effect: Effect,
}

#[derive(Debug, Default)]
pub enum Effect {
    #[default]
    None,
    /// Facts (a result's `ansible_facts`), under the names the module gave
    /// them (`ansible_distribution`, `getent_passwd`).
    Facts(Vars),
    /// Host variables at `set_fact` precedence.
    SetVars(Vars),
    /// Host variables at `include_vars` precedence (below `set_fact`).
    IncludeVars(Vars),
    Meta(MetaAction),
}

impl Outcome {
    pub fn new(result: Vars) -> Outcome {
        Outcome {
            result,
            effect: Effect::None,
        }
    }
}

/// A module failure: the task fails with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ModuleError(pub String);

impl ModuleError {
    pub fn new(msg: impl Into<String>) -> ModuleError {
        ModuleError(msg.into())
    }
}

impl From<TemplateError> for ModuleError {
    fn from(err: TemplateError) -> ModuleError {
        ModuleError(format!("Task failed: {}", err.message))
    }
}

pub type ModuleResult = Result<Outcome, ModuleError>;

pub trait Module: Sync {
    /// Accepted arguments (aliases included); others fail the task.
    fn params(&self) -> &'static [&'static str];

    /// Accepted beyond [`Module::params`], for an action that takes its
    /// module's arguments and some of its own (`package`'s `use`).
    fn extra_params(&self) -> &'static [&'static str] {
        &[]
    }

    /// Arguments the module evaluates itself, passed unrendered.
    fn raw_args(&self) -> &'static [&'static str] {
        &[]
    }

    /// Accepts any arguments (`set_fact`).
    fn free_args(&self) -> bool {
        false
    }

    /// Whether it can run in check mode; ansible-core skips modules that
    /// cannot.
    fn supports_check(&self) -> bool {
        true
    }

    /// Whether it looks at the same things again and again waiting for
    /// them to change (`wait_for`): it then runs without a
    /// [`crate::read_cache::ReadCache`].
    fn polls(&self) -> bool {
        false
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult;
}

static MODULES: &[(&str, &dyn Module)] = &[
    ("add_host", &add_host::AddHost),
    ("apt", &apt::Apt),
    ("archive", &archive::Archive),
    ("assemble", &assemble::Assemble),
    ("assert", &assert::Assert),
    ("async_status", &async_status::AsyncStatus),
    ("authorized_key", &authorized_key::AuthorizedKey),
    ("blockinfile", &blockinfile::BlockInFile),
    ("command", &command::Command),
    ("copy", &copy::Copy),
    ("cron", &cron::Cron),
    ("debconf", &debconf::Debconf),
    ("debug", &debug::Debug),
    ("dnf", &dnf::Dnf),
    ("dpkg_selections", &dpkg_selections::DpkgSelections),
    ("fail", &fail::Fail),
    ("fetch", &fetch::Fetch),
    ("file", &file::File),
    ("find", &find::Find),
    ("gather_facts", &setup::GATHER_FACTS),
    ("get_url", &get_url::GetUrl),
    ("getent", &getent::Getent),
    ("git", &git::Git),
    ("group", &group::Group),
    ("group_by", &group_by::GroupBy),
    ("hostname", &hostname::Hostname),
    ("include_role", &include::Include),
    ("include_tasks", &include::Include),
    ("include_vars", &include_vars::IncludeVars),
    ("ini_file", &ini_file::IniFile),
    ("known_hosts", &known_hosts::KnownHosts),
    ("lineinfile", &lineinfile::LineInFile),
    ("meta", &meta::Meta),
    ("mount", &mount::Mount),
    ("package", &apt::Package),
    ("pause", &pause::Pause),
    ("pip", &pip::Pip),
    ("ping", &ping::Ping),
    ("raw", &raw::Raw),
    ("replace", &replace::Replace),
    ("script", &script::Script),
    ("service", &service::Service),
    ("set_fact", &set_fact::SetFact),
    ("setup", &setup::SETUP),
    ("shell", &command::Shell),
    ("slurp", &slurp::Slurp),
    ("stat", &stat::Stat),
    ("sysctl", &sysctl::Sysctl),
    ("systemd", &systemd::Systemd),
    ("systemd_service", &systemd::Systemd),
    ("tempfile", &tempfile::TempFile),
    ("template", &template::Template),
    ("unarchive", &unarchive::Unarchive),
    ("uri", &uri::Uri),
    ("user", &user::User),
    (
        "validate_argument_spec",
        &validate_argument_spec::ValidateArgumentSpec,
    ),
    ("wait_for", &wait_for::WaitFor),
    // ansible-core 2.19 redirects yum to dnf (its action plugin too).
    ("yum", &dnf::Dnf),
];

/// Actions ansible-core runs through an action plugin that does not take
/// `async` ("This action (copy) does not support async."), by short name.
static NO_ASYNC: &[&str] = &[
    "add_host",
    "assemble",
    "assert",
    "async_status",
    "copy",
    "debug",
    "fail",
    "fetch",
    "gather_facts",
    "group_by",
    "include_vars",
    "pause",
    "raw",
    "script",
    "set_fact",
    "template",
    "unarchive",
    "validate_argument_spec",
];

/// Whether an action (its canonical name) can run as an `async` job.
pub fn supports_async(canonical: &str) -> bool {
    let short = canonical.rsplit('.').next().unwrap_or(canonical);
    !NO_ASYNC.contains(&short)
}

/// Collection modules ansible-core's routing table (its
/// `ansible_builtin_runtime.yml`) sends short names to, by collection.
static COLLECTION_MODULES: &[(&str, &str)] = &[
    ("archive", "community.general"),
    ("ini_file", "community.general"),
    ("authorized_key", "ansible.posix"),
    ("mount", "ansible.posix"),
    ("sysctl", "ansible.posix"),
];

/// The module for an action, by short name or `ansible.builtin.` /
/// `ansible.legacy.` name (or its collection's name for a collection
/// module), with its canonical name; a collection module's is the action
/// as written, as ansible-core names a module it reached by a redirect.
pub fn resolve(action: &str) -> Option<(String, &'static dyn Module)> {
    let short = action
        .strip_prefix("ansible.builtin.")
        .or_else(|| action.strip_prefix("ansible.legacy."))
        .unwrap_or(action);
    let collection = |name: &str| {
        COLLECTION_MODULES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    };
    let short = match short.rsplit_once('.') {
        Some((prefix, name)) if collection(name) == Some(prefix) => name,
        _ => short,
    };
    MODULES
        .iter()
        .find(|(name, _)| *name == short)
        .map(|(name, module)| match collection(name) {
            Some(_) => (action.to_owned(), *module),
            None => (format!("ansible.builtin.{name}"), *module),
        })
}

/// Fails on arguments the module does not know, like Ansible.
pub fn check_params(module: &dyn Module, name: &str, args: &Vars) -> Result<(), ModuleError> {
    if module.free_args() {
        return Ok(());
    }
    let params = || module.params().iter().chain(module.extra_params());
    let mut unknown: Vec<&str> = args
        .keys()
        .map(String::as_str)
        .filter(|k| !params().any(|p| p == k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    let mut supported: Vec<&str> = params().copied().collect();
    supported.sort_unstable();
    Err(ModuleError(format!(
        "Unsupported parameters for ({name}) module: {}. Supported parameters include: {}.",
        unknown.join(", "),
        supported.join(", ")
    )))
}

/// A result map from `(key, value)` pairs, in order.
pub fn result<const N: usize>(pairs: [(&str, Json); N]) -> Vars {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::resolve;

    fn canonical(action: &str) -> Option<String> {
        resolve(action).map(|(name, _)| name)
    }

    #[test]
    fn collection_names() {
        assert_eq!(canonical("copy").as_deref(), Some("ansible.builtin.copy"));
        assert_eq!(
            canonical("ansible.legacy.hostname").as_deref(),
            Some("ansible.builtin.hostname")
        );
        // ansible-core 2.19 routes sysctl and mount to ansible.posix; a
        // module reached so is named as written ("Unsupported parameters
        // for (sysctl) module").
        for action in ["sysctl", "ansible.builtin.sysctl", "ansible.posix.sysctl"] {
            assert_eq!(canonical(action).as_deref(), Some(action));
        }
        assert_eq!(
            canonical("ansible.posix.mount").as_deref(),
            Some("ansible.posix.mount")
        );
        assert_eq!(canonical("ansible.posix.copy"), None);
        assert_eq!(canonical("community.general.sysctl"), None);
    }
}
