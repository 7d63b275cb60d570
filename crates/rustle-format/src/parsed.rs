//! The `parsed` section: what `rustle-parse` read, with templated strings raw.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Variables as written (values may hold raw `{{ }}` templates).
pub type Vars = Map<String, Value>;

/// A value encrypted with Ansible Vault stays encrypted in every document,
/// and the engine decrypts it when a template or a module reads it. An
/// inline `!vault` string is the object
/// `{"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n..."}` holding the vault
/// text; its plain text is a literal string, never templated (as Ansible).
pub const VAULT_KEY: &str = "__ansible_vault";

/// A leaf value of a whole-file vault (a `vars_files`, `group_vars`,
/// `host_vars`, role vars or `-e @file` file that is vault-encrypted):
/// `rustle-parse` decrypts the file to read its YAML and encrypts each leaf
/// again (same secret, fresh salt) as `{"__ansible_vault_json": "<vault
/// text>"}`, whose plain text is the leaf's JSON text. So the leaf keeps
/// its type (`port: 5432` is the integer 5432 again) and, once decrypted,
/// is rendered like any other value written in a file (`"{{ x }}"`
/// templates work, as in Ansible). The keys of such a file stay visible in
/// the document; only the values are secret.
pub const VAULT_JSON_KEY: &str = "__ansible_vault_json";

/// True when `value` is a vaulted value (either form above).
pub fn is_vaulted(value: &Value) -> bool {
    value.as_object().is_some_and(|m| {
        m.len() == 1 && (m.contains_key(VAULT_KEY) || m.contains_key(VAULT_JSON_KEY))
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Parsed {
    /// The playbook path as given on the command line.
    pub playbook: String,
    /// Absolute directory of the playbook (`playbook_dir`).
    pub playbook_dir: String,
    pub plays: Vec<Play>,
    pub inventory: Inventory,
    /// Extra vars (`-e`), highest precedence.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra_vars: Vars,
    /// Local files referenced by tasks (`copy src` ...), keyed by the path as
    /// written in the task; deploy embeds them by digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRef>,
    /// The Ansible config file parse found (absolute), which `-v` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// The path as written in the task (`src:`).
    pub src: String,
    /// Where it was found on the controller.
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Play {
    pub name: String,
    /// Host pattern, unresolved.
    pub hosts: String,
    pub gather_facts: bool,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub vars: Vars,
    pub tasks: Vec<Task>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handlers: Vec<Task>,
    /// Play keywords that no stage acts on yet, kept verbatim.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub keywords: Vars,
    /// Where the play is written, `file:line:column` like a task's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Content-derived id: sha256 of the task's normalised JSON (first 16 hex).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The action as written (`copy`, `ansible.builtin.copy`).
    pub action: String,
    /// Module arguments; free-form text is under `_raw_params`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub args: Vars,
    /// Conditions, and-ed; raw Jinja expressions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub vars: Vars,
    /// Task keywords that are carried but not typed here (loop, notify,
    /// ignore_errors, changed_when, tags, ...), verbatim.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub keywords: Vars,
    /// `file:line:column` where the task starts, the file relative to the
    /// playbook directory when inside it.
    pub source: String,
    /// For a block (`action` is `"block"`): its sections. The block's own
    /// `when`, `vars` and keywords are inherited by every task inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<Block>,
}

/// The sections of a block: `block`, then `rescue` if a task of `block`
/// failed, then `always` in any case.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Block {
    pub block: Vec<Task>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rescue: Vec<Task>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub always: Vec<Task>,
    /// Set when the block holds a role's tasks (or one of its handlers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Set when the block is one of the files (or roles) an include with a
    /// templated name may include: the name, as the include's rendered
    /// `file` (or role `name`) gives it, that selects this block. The
    /// include's block then holds one such block per candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
}

/// A role as it applies to the tasks of its block.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: String,
    /// The role's directory: relative to the playbook directory when it is
    /// inside it, else absolute (`role_path`).
    pub path: String,
    /// `defaults/main.yml`: the lowest precedence of all.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub defaults: Vars,
    /// `vars/main.yml`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub vars: Vars,
    /// Parameters given where the role is used (`- role: x` plus keys).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Vars,
    /// The tasks file used, when not `main` (`tasks_from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_from: Option<String>,
    /// `meta/main.yml`'s `allow_duplicates`: without it, a role already run
    /// on a host in this play (same params and tasks file) is skipped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_duplicates: bool,
}

/// Actions that read a file from the controller.
const SRC_ACTIONS: &[&str] = &["copy", "template", "script", "unarchive", "include_vars"];

impl Task {
    /// The controller file the task reads, as written: `src` of copy,
    /// template and unarchive (unless `remote_src`), the first word of a
    /// script's command line, include_vars' `dir`, `file` or free-form
    /// file. Parse embeds it; slices keep it.
    pub fn controller_src(&self) -> Option<&str> {
        let short = self.action.rsplit('.').next().unwrap_or(&self.action);
        if short == "include_vars" {
            let arg = |k: &str| self.args.get(k).and_then(serde_json::Value::as_str);
            return arg("dir")
                .or_else(|| arg("file"))
                .or_else(|| arg("_raw_params").map(|f| f.trim_end_matches('\n')));
        }
        if !SRC_ACTIONS.contains(&short)
            || self
                .args
                .get("remote_src")
                .is_some_and(crate::keywords::truthy)
        {
            return None;
        }
        match self.args.get("src") {
            Some(serde_json::Value::String(src)) => Some(src),
            _ if short == "script" => self
                .args
                .get("_raw_params")
                .or_else(|| self.args.get("cmd"))
                .and_then(serde_json::Value::as_str)
                .and_then(|line| line.split_whitespace().next()),
            _ => None,
        }
    }
}

/// The directory under a role or playbook where an action's `src` lives.
pub fn src_subdir(action: &str) -> &'static str {
    let short = action.rsplit('.').next().unwrap_or(action);
    match short {
        "template" => "templates",
        "include_vars" => "vars",
        _ => "files",
    }
}

/// Where Ansible looks for a task's `src` (relative to the playbook
/// directory unless absolute), in order, as `path_dwim_relative_stack`
/// walks the task's search path: the role's `files/` (or `templates/`,
/// `vars/`) and the role itself; then the same under the directory of the
/// task's own file (`task_dir`, relative to the playbook directory as task
/// sources are; empty for the playbook's own, which comes last anyway);
/// then the playbook's. Parse embeds the first that exists; the engine
/// asks for them in the same order.
pub fn src_candidates(
    src: &str,
    subdir: &str,
    role_path: Option<&str>,
    task_dir: &str,
) -> Vec<String> {
    if src.starts_with('/') {
        return vec![src.to_owned()];
    }
    let mut out = Vec::new();
    for base in role_path
        .into_iter()
        .chain(Some(task_dir).filter(|d| !d.is_empty()))
    {
        out.push(format!("{base}/{subdir}/{src}"));
        out.push(format!("{base}/{src}"));
    }
    out.push(format!("{subdir}/{src}"));
    out.push(src.to_owned());
    out
}

/// Where `include_vars` finds its `dir`: in a role under its `vars/`
/// (the role itself for a `vars/...` dir), else beside the task's file.
pub fn vars_dir_candidates(dir: &str, role_path: Option<&str>, task_dir: &str) -> Vec<String> {
    let dir = dir.trim_end_matches('/');
    if dir.starts_with('/') {
        return vec![dir.to_owned()];
    }
    match role_path {
        Some(role) if dir.split('/').next() == Some("vars") => {
            vec![format!("{role}/{dir}"), dir.to_owned()]
        }
        Some(role) => vec![format!("{role}/vars/{dir}")],
        None if task_dir.is_empty() => vec![dir.to_owned()],
        None => vec![format!("{task_dir}/{dir}")],
    }
}

/// The directory of the file a task is written in, from its `source`
/// (`file:line:column`): relative to the playbook directory when the file
/// is inside it, empty for the playbook's own directory.
pub fn source_dir(source: &str) -> &str {
    let mut parts = source.rsplitn(3, ':');
    let file = match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some(file)) => file,
        _ => return "",
    };
    file.rfind('/').map_or("", |i| &file[..i])
}

impl Task {
    /// Every key the task's controller file may be found under, in the
    /// order Ansible looks (see [`src_candidates`], [`vars_dir_candidates`]).
    pub fn src_keys(&self, role_path: Option<&str>) -> Vec<String> {
        let Some(src) = self.controller_src() else {
            return Vec::new();
        };
        let short = self.action.rsplit('.').next().unwrap_or(&self.action);
        let task_dir = source_dir(&self.source);
        match short {
            "include_vars" if self.args.contains_key("dir") => {
                vars_dir_candidates(src, role_path, task_dir)
            }
            _ => src_candidates(src, src_subdir(&self.action), role_path, task_dir),
        }
    }
}

/// For a templated `src` (`conf/{{ item }}`), the directories it can
/// resolve into, each ending in `/`: the part before the first expression
/// in each of `src_candidates`' places, but never a role's, a task file's
/// or the playbook's own root (only their `files/` or `templates/`).
/// `None` for a plain `src`; empty for an absolute templated one (left to
/// run time).
pub fn src_dirs(
    src: &str,
    subdir: &str,
    role_path: Option<&str>,
    task_dir: &str,
) -> Option<Vec<String>> {
    let at = src.find("{{")?;
    if src.starts_with('/') {
        return Some(Vec::new());
    }
    let dir = src[..at].rfind('/').map_or("", |i| &src[..i]);
    let under = |base: &str| {
        if dir.is_empty() {
            format!("{base}/")
        } else {
            format!("{base}/{dir}/")
        }
    };
    let mut out = Vec::new();
    for base in role_path
        .into_iter()
        .chain(Some(task_dir).filter(|d| !d.is_empty()))
    {
        out.push(under(&format!("{base}/{subdir}")));
        if !dir.is_empty() {
            out.push(under(base));
        }
    }
    out.push(under(subdir));
    if !dir.is_empty() {
        out.push(format!("{dir}/"));
    }
    Some(out)
}

/// The files a play's templated `vars_files` entries (a name, or a list
/// of names the first existing of which counts; keys relative to the
/// playbook directory) may load: for a templated name the directory before
/// its first expression (a key prefix ending in `/`), or [`TOP_VARS_FILES`]
/// when that part has no directory; a plain name as it is. Parse embeds
/// them; slices keep them.
pub fn vars_files_keys(entries: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let names = entries
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| match e {
            serde_json::Value::Array(choices) => choices.iter().collect(),
            one => vec![one],
        });
    for name in names.filter_map(serde_json::Value::as_str) {
        let key = match name.find("{{") {
            None => name.to_owned(),
            Some(_) if name.starts_with('/') => continue,
            Some(at) => match name[..at].rfind('/') {
                Some(i) => format!("{}/", &name[..i]),
                None => TOP_VARS_FILES.to_owned(),
            },
        };
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

/// The extensions `include_vars` loads by default.
pub const VARS_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// The key pattern for the files directly under the playbook directory
/// with [`VARS_EXTENSIONS`], which a templated `include_vars` name without
/// a directory in its literal part (`"{{ os }}.yml"`, `"{{ item }}"`) may
/// name, as `_find_needle` looks beside the playbook last. Parse embeds
/// them (not the files below); slices keep them.
pub const TOP_VARS_FILES: &str = "*";

impl Task {
    /// Whether the task wants [`TOP_VARS_FILES`]: a templated
    /// `include_vars` file whose literal part names no directory.
    pub fn wants_top_vars_files(&self) -> bool {
        let short = self.action.rsplit('.').next().unwrap_or(&self.action);
        short == "include_vars"
            && !self.args.contains_key("dir")
            && self
                .controller_src()
                .and_then(|src| src.find("{{").map(|at| &src[..at]))
                .is_some_and(|literal| !literal.contains('/'))
    }

    /// `include_tasks` or `include_role` (dynamic includes, which run as
    /// tasks of their own).
    pub fn is_include(&self) -> bool {
        let short = self.action.rsplit('.').next().unwrap_or(&self.action);
        matches!(short, "include_tasks" | "include_role")
    }

    /// The action of every block.
    pub const BLOCK: &'static str = "block";
    /// The `source` of tasks Ansible adds itself (no file holds them).
    pub const IMPLICIT: &'static str = "(implicit)";
    /// The `source` of tasks Ansible makes from data of its own, whose
    /// errors it reports at `Origin: <unknown>` with the task's data (the
    /// role argument check).
    pub const UNKNOWN: &'static str = "(unknown)";

    /// Whether the task changes the inventory during the run (`add_host`,
    /// `group_by`), so that later plays' hosts depend on the run.
    pub fn changes_inventory(&self) -> bool {
        let short = self.action.rsplit('.').next().unwrap_or(&self.action);
        matches!(short, "add_host" | "group_by")
    }

    /// Calls `f` on this task and, for a block, on every task inside it.
    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a Task)) {
        f(self);
        if let Some(b) = &self.block {
            for t in b.block.iter().chain(&b.rescue).chain(&b.always) {
                t.visit(f);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Inventory sources as given (`-i`), empty for the implicit localhost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Hosts in inventory order.
    pub hosts: Vec<Host>,
    /// Groups in inventory order; `all` and `ungrouped` always present.
    pub groups: Vec<Group>,
    /// `group_vars/` of groups the inventory does not have, by name: the
    /// run may make them (`group_by`, `add_host`), and their hosts then
    /// get these variables, as Ansible's vars plugin gives them.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub run_time_group_vars: Vars,
    /// `host_vars/` of hosts the inventory does not have (`add_host`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub run_time_host_vars: Vars,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub name: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub vars: Vars,
    /// True for the implicit `localhost` that Ansible adds when a play
    /// targets it without an inventory entry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub implicit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    /// Variables set in the inventory source itself (`[g:vars]`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub vars: Vars,
    /// Variables from `group_vars/` beside the inventory and the playbook
    /// (the playbook's win); these rank above every inventory-file group var.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub group_vars: Vars,
}

impl Play {
    /// The task a result key's `pos` names (see `TaskKey`): `[0, i]` for
    /// task `i`, `[1, h]` for handler `h`, then `[section, j]` pairs into
    /// blocks (0 block, 1 rescue, 2 always).
    pub fn task_at(&self, pos: &[u32]) -> Option<&Task> {
        let (list, i, mut rest) = match pos {
            [0, i, rest @ ..] => (&self.tasks, *i, rest),
            [1, h, rest @ ..] => (&self.handlers, *h, rest),
            _ => return None,
        };
        let mut task = list.get(i as usize)?;
        while let [section, j, more @ ..] = rest {
            if *section == crate::TaskKey::ITEM {
                // An item of a looped include runs the same tasks.
                rest = more;
                continue;
            }
            if *section == crate::TaskKey::HANDLER {
                // A handler run by a flush mid-play.
                task = self.handlers.get(*j as usize)?;
                rest = more;
                continue;
            }
            let b = task.block.as_ref()?;
            let tasks = match section {
                0 => &b.block,
                1 => &b.rescue,
                2 => &b.always,
                _ => return None,
            };
            task = tasks.get(*j as usize)?;
            rest = more;
        }
        Some(task)
    }
}

impl Inventory {
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The `groups` magic variable: every group with its hosts.
    pub fn groups_map(&self) -> serde_json::Map<String, serde_json::Value> {
        self.groups
            .iter()
            .map(|g| {
                let members = self
                    .group_members(&g.name)
                    .into_iter()
                    .map(serde_json::Value::from);
                (g.name.clone(), serde_json::Value::Array(members.collect()))
            })
            .collect()
    }

    /// Hosts of a group and of its children, recursively, in inventory
    /// order and without duplicates. `all` is every explicit host.
    pub fn group_members(&self, group: &str) -> Vec<String> {
        let mut seen_groups = std::collections::BTreeSet::new();
        let mut wanted = std::collections::BTreeSet::new();
        let mut stack = vec![group.to_owned()];
        while let Some(g) = stack.pop() {
            if !seen_groups.insert(g.clone()) {
                continue;
            }
            if let Some(grp) = self.group(&g) {
                wanted.extend(grp.hosts.iter().cloned());
                stack.extend(grp.children.iter().cloned());
            }
        }
        self.hosts
            .iter()
            .filter(|h| !h.implicit && (group == "all" || wanted.contains(&h.name)))
            .map(|h| h.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_vars_names_its_controller_files() {
        let task = |args: serde_json::Value| Task {
            id: String::new(),
            name: None,
            action: "ansible.builtin.include_vars".into(),
            args: args.as_object().cloned().unwrap(),
            when: Vec::new(),
            register: None,
            vars: Vars::new(),
            keywords: Vars::new(),
            source: String::new(),
            block: None,
        };
        let free = task(serde_json::json!({"_raw_params": "vars/main.yml\n"}));
        assert_eq!(free.controller_src(), Some("vars/main.yml"));
        assert!(!free.wants_top_vars_files());
        let dir = task(serde_json::json!({"dir": "conf", "name": "c"}));
        assert_eq!(dir.controller_src(), Some("conf"));
        assert_eq!(src_subdir(&dir.action), "vars");
        let beside = task(serde_json::json!({"file": "{{ os }}.yml"}));
        assert!(beside.wants_top_vars_files());
        let under = task(serde_json::json!({"_raw_params": "os/{{ os }}.yml"}));
        assert!(!under.wants_top_vars_files());
        // In an included task file: beside it first, then the playbook's.
        let mut inner = task(serde_json::json!({"_raw_params": "x.yml"}));
        inner.source = "tasks/sub.yml:3:7".into();
        assert_eq!(source_dir(&inner.source), "tasks");
        assert_eq!(
            inner.src_keys(None),
            ["tasks/vars/x.yml", "tasks/x.yml", "vars/x.yml", "x.yml"]
        );
        // In a role: the role, then the task file's directory (Ansible's
        // search path is the role chain, then the task's own directory).
        inner.source = "roles/r/tasks/sub.yml:3:7".into();
        assert_eq!(
            inner.src_keys(Some("roles/r")),
            [
                "roles/r/vars/x.yml",
                "roles/r/x.yml",
                "roles/r/tasks/vars/x.yml",
                "roles/r/tasks/x.yml",
                "vars/x.yml",
                "x.yml"
            ]
        );
        let mut dir = dir;
        dir.source = "tasks/sub.yml:3:7".into();
        assert_eq!(dir.src_keys(None), ["tasks/conf"]);
        assert_eq!(dir.src_keys(Some("roles/r")), ["roles/r/vars/conf"]);
        assert_eq!(source_dir("main.yml:1:3"), "");
    }

    #[test]
    fn templated_sources_want_their_directories() {
        assert_eq!(src_dirs("motd", "files", None, ""), None);
        assert_eq!(
            src_dirs("{{ item }}", "files", Some("roles/web"), "").unwrap(),
            ["roles/web/files/", "files/"]
        );
        assert_eq!(
            src_dirs("{{ item }}", "files", None, "tasks/sub").unwrap(),
            ["tasks/sub/files/", "files/"]
        );
        assert_eq!(
            src_dirs("conf.d/{{ item }}.conf", "templates", Some("roles/web"), "").unwrap(),
            [
                "roles/web/templates/conf.d/",
                "roles/web/conf.d/",
                "templates/conf.d/",
                "conf.d/"
            ]
        );
        assert!(
            src_dirs("/etc/{{ x }}", "files", None, "")
                .unwrap()
                .is_empty()
        );
    }
}
