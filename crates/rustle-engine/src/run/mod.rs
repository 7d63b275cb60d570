//! Running one host's slice: plays in order, facts, tasks, handlers, and
//! the host's variables as they grow (facts, `register`, `set_fact`).

mod block;
mod item;
mod job;
mod loops;
mod task;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use minijinja::Environment;
use rustle_format::{
    Event, HostSlice, HostState, HostStats, SlicePlay, Stretch, Task, TaskKey, Vars,
};
use serde_json::{Value as Json, json};

use crate::template::{Templar, environment};
use crate::{FileSource, Target};

/// What happens after a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// `meta: end_play` / `end_host`: skip the rest of this play.
    EndPlay,
    /// A failure: this host runs nothing more.
    Stop,
}

pub struct HostRun<'a> {
    slice: &'a HostSlice,
    target: &'a dyn Target,
    files: &'a dyn FileSource,
    emit: &'a mut dyn FnMut(Event),
    env: Arc<Environment<'static>>,
    stats: HostStats,
    inventory: Arc<Vars>,
    extra: Arc<Vars>,
    /// Facts under the names modules gave them (`ansible_distribution`).
    facts: Vars,
    /// The facts under those names plus `ansible_facts`, as a variable layer.
    facts_layer: Arc<Vars>,
    /// Registered results and `set_fact` variables.
    host_vars: Arc<Vars>,
    /// Variables `include_vars` set (below `host_vars`).
    included_vars: Arc<Vars>,
    /// Other hosts' variables for `hostvars`, when the stretch has them.
    others: Arc<Vars>,
    /// The last failed task and its result, for a block's `rescue`.
    last_failure: Option<(Json, Json)>,
    /// Set from outside (Ctrl-C on the controller): start no more steps.
    stop: Option<&'a AtomicBool>,
    /// How `delegate_to` hosts are reached, where they can be.
    delegates: Option<&'a dyn crate::Delegates>,
    /// The user tasks run as (`id -un` on the target), once asked.
    user: std::sync::OnceLock<Option<String>>,
    /// The stretch's become password, for hosts without
    /// `ansible_become_password`.
    become_password: Option<rustle_format::Secret>,
    /// The `-v` count of the stretch (`debug`'s `verbosity`).
    verbosity: u8,
}

/// The per-play part of the variables and the pending notifications.
struct PlayState<'p> {
    play: &'p SlicePlay,
    vars: Arc<Vars>,
    magic: Arc<Vars>,
    /// Handler names and `listen` topics notified and not yet run.
    notified: Vec<String>,
    /// Inside the `block` section of a block that has a `rescue`.
    rescuable: bool,
    /// The role whose tasks are running, if any.
    role: Option<Arc<RoleScope>>,
    /// Defaults and vars of every role in the play, which Ansible shows to
    /// all of the play's tasks (roles' vars are not private by default).
    roles_defaults: Arc<Vars>,
    roles_vars: Arc<Vars>,
    /// Running handlers, which tags do not filter.
    in_handlers: bool,
    /// `--tags`/`--skip-tags`.
    tag_filter: Arc<rustle_select::TagFilter>,
    /// The play's tags, inherited by every task.
    play_tags: Vec<String>,
    /// Roles this host has run in this play: (path, tasks file, params).
    roles_ran: Vec<(String, Option<String>, Json)>,
}

/// What the run says about the play's hosts and the inventory, above
/// what the slice says (see `Stretch`).
struct RunInventory {
    batch: Option<Vec<String>>,
    play_hosts: Option<Vec<String>>,
    groups: Option<Vars>,
    group_names: Option<Vec<String>>,
}

/// A role's variable layers and magic variables.
pub(super) struct RoleScope {
    name: String,
    /// The role's directory as the document names it, for `src` lookups.
    doc_path: String,
    defaults: Arc<Vars>,
    vars: Arc<Vars>,
    params: Arc<Vars>,
    magic: Arc<Vars>,
}

/// The ansible-core release whose behaviour rustle follows (the oracle
/// its tests compare against), as playbooks see it in `ansible_version`.
pub const ANSIBLE_VERSION: (u32, u32, u32) = (2, 19, 14);

/// `ansible_version`: `{string, full, major, minor, revision}`.
fn ansible_version() -> Json {
    let (major, minor, revision) = ANSIBLE_VERSION;
    let text = format!("{major}.{minor}.{revision}");
    json!({"string": text, "full": text, "major": major, "minor": minor, "revision": revision})
}

impl RoleScope {
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// The role's directory as `src` lookups name it.
    pub(super) fn doc_path(&self) -> &str {
        &self.doc_path
    }

    fn new(role: &rustle_format::Role, playbook_dir: &str) -> RoleScope {
        let path = if role.path.starts_with('/') {
            role.path.clone()
        } else {
            format!("{playbook_dir}/{}", role.path)
        };
        let mut magic = Vars::new();
        magic.insert("role_name".into(), json!(role.name));
        magic.insert("role_path".into(), json!(path));
        magic.insert("ansible_role_name".into(), json!(role.name));
        RoleScope {
            name: role.name.clone(),
            doc_path: role.path.clone(),
            defaults: Arc::new(role.defaults.clone()),
            vars: Arc::new(role.vars.clone()),
            params: Arc::new(role.params.clone()),
            magic: Arc::new(magic),
        }
    }
}

impl<'a> HostRun<'a> {
    pub fn new(
        slice: &'a HostSlice,
        target: &'a dyn Target,
        files: &'a dyn FileSource,
        emit: &'a mut dyn FnMut(Event),
    ) -> HostRun<'a> {
        HostRun {
            slice,
            target,
            files,
            emit,
            env: environment(),
            stats: HostStats::default(),
            inventory: Arc::new(slice.vars.clone()),
            extra: Arc::new(slice.extra_vars.clone()),
            facts: Vars::new(),
            facts_layer: Arc::new(Vars::new()),
            host_vars: Arc::new(Vars::new()),
            included_vars: Arc::new(Vars::new()),
            others: Arc::default(),
            last_failure: None,
            stop: None,
            delegates: None,
            user: std::sync::OnceLock::new(),
            become_password: None,
            verbosity: 0,
        }
    }

    /// The user tasks run as on the target.
    pub(super) fn user(&self) -> Option<String> {
        self.user
            .get_or_init(|| {
                let out = self
                    .target
                    .exec(&crate::ExecRequest::new(["id", "-un"]))
                    .ok()?;
                let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                (out.rc == 0 && !name.is_empty()).then_some(name)
            })
            .clone()
    }

    pub fn with_delegates(mut self, delegates: Option<&'a dyn crate::Delegates>) -> HostRun<'a> {
        self.delegates = delegates;
        self
    }

    /// Starts no more steps once `stop` is set; the stretch then ends with
    /// the state reached.
    pub fn with_stop(mut self, stop: &'a AtomicBool) -> HostRun<'a> {
        self.stop = Some(stop);
        self
    }

    /// Runs every play, then emits `HostDone`.
    pub fn run(mut self) -> HostStats {
        let mut state = HostState::default();
        for play in &self.slice.plays {
            let stretch = Stretch {
                play: play.play,
                from: 0,
                to: u32::MAX,
                state,
                ..Stretch::default()
            };
            state = self.run_stretch(stretch);
            if state.stopped {
                break;
            }
        }
        (self.emit)(Event::HostDone {
            host: self.slice.host.clone(),
            stats: self.stats,
            error: None,
        });
        self.stats
    }

    /// Runs the steps `from..to` of one play from the state the host
    /// reached, and returns the state it reaches. A host that is stopped,
    /// or not in the play, runs nothing.
    pub fn run_stretch(&mut self, stretch: Stretch) -> HostState {
        let Stretch {
            play,
            from,
            to,
            state,
            batch,
            play_hosts,
            groups,
            group_names,
            inventory_vars,
            hostvars,
            become_password,
            vault_secrets,
            verbosity,
        } = stretch;
        let seen = RunInventory {
            batch,
            play_hosts,
            groups,
            group_names,
        };
        self.become_password = become_password;
        self.verbosity = verbosity;
        if let Some(vars) = inventory_vars {
            self.inventory = Arc::new(vars);
        }
        crate::vault::set_secrets(&vault_secrets);
        self.stats = state.stats;
        self.facts = Vars::new();
        self.add_facts(state.facts);
        self.host_vars = Arc::new(state.vars);
        self.included_vars = Arc::new(state.included_vars);
        self.others = Arc::new(hostvars);
        let mut out = HostState {
            stopped: state.stopped,
            ended_play: state.ended_play,
            ..HostState::default()
        };
        let play = self.slice.plays.iter().find(|p| p.play == play);
        let ended = out.ended_play.is_some() && out.ended_play == play.map(|p| p.play);
        if let Some(play) = play.filter(|_| !out.stopped && !ended) {
            let mut ps = self.play_state(play, seen);
            self.load_vars_files(&mut ps);
            ps.notified = state.notified;
            ps.roles_ran = state.roles_ran;
            match self.run_steps(&mut ps, from, to) {
                Flow::Continue => {
                    out.notified = ps.notified;
                    out.roles_ran = ps.roles_ran;
                }
                Flow::EndPlay => out.ended_play = Some(play.play),
                Flow::Stop => out.stopped = true,
            }
        }
        out.facts = std::mem::take(&mut self.facts);
        out.vars = std::mem::take(Arc::make_mut(&mut self.host_vars));
        out.included_vars = std::mem::take(Arc::make_mut(&mut self.included_vars));
        out.stats = self.stats;
        out
    }

    fn play_state<'p>(&self, play: &'p SlicePlay, seen: RunInventory) -> PlayState<'p> {
        let (defaults, vars) = play_roles_vars(play);
        PlayState {
            play,
            vars: Arc::new(play.vars.clone()),
            magic: Arc::new(self.magic_vars(play, seen)),
            notified: Vec::new(),
            rescuable: false,
            role: None,
            roles_defaults: Arc::new(defaults),
            roles_vars: Arc::new(vars),
            roles_ran: Vec::new(),
            in_handlers: false,
            tag_filter: Arc::new(rustle_select::TagFilter::new(
                &self.slice.tags,
                &self.slice.skip_tags,
            )),
            play_tags: rustle_select::task_tags(play.tags.as_ref()),
        }
    }

    /// Steps `from..to` of the play: 0 gathers facts, `1..=n` are its
    /// tasks, `n + 1` flushes the handlers still notified.
    fn run_steps(&mut self, state: &mut PlayState, from: u32, to: u32) -> Flow {
        let play = state.play;
        let last = play.tasks.len() as u32 + 1;
        for step in from..to.min(last + 1) {
            if self.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                break;
            }
            let flow = if step == 0 {
                if !play.gather_facts || !state.tag_filter.runs(&["always".to_owned()]) {
                    continue;
                }
                let key = TaskKey {
                    play: play.play,
                    pos: vec![],
                };
                let gathering = gathering_task(&play.gathering);
                let task = block::with_play_keywords(&play.keywords, &gathering);
                let flow = self.run_task(state, key, task.as_ref().unwrap_or(&gathering));
                // vars_files named after facts load now.
                self.load_vars_files(state);
                flow
            } else if step == last {
                let key = TaskKey {
                    play: play.play,
                    pos: vec![1],
                };
                self.flush_handlers(state, &key)
            } else {
                let (index, task) = &play.tasks[step as usize - 1];
                let key = TaskKey {
                    play: play.play,
                    pos: vec![0, *index],
                };
                let inherited = block::with_play_keywords(&play.keywords, task);
                self.run_entry(state, key, inherited.as_ref().unwrap_or(task))
            };
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// The play's variables with its templated `vars_files` loaded above
    /// them, as far as their names render now: a name that needs a fact
    /// not gathered yet waits for the facts, as in Ansible; a list takes
    /// its first file that exists.
    fn load_vars_files(&self, state: &mut PlayState) {
        let play = state.play;
        if play.vars_files.is_empty() {
            return;
        }
        state.vars = Arc::new(play.vars.clone());
        let templar = self.templar(state, &gathering_task(&Vars::new()), None);
        let mut loaded = Vars::new();
        for entry in &play.vars_files {
            let choices: Vec<&Json> = match entry {
                Json::Array(choices) => choices.iter().collect(),
                one => vec![one],
            };
            for name in choices.into_iter().filter_map(Json::as_str) {
                let Ok(key) = templar.render_string(name) else {
                    continue;
                };
                let Ok(bytes) = self.files.exact(&key) else {
                    continue;
                };
                if let Ok(vars) = crate::modules::vars_from_file(&key, bytes) {
                    loaded.extend(vars);
                }
                break;
            }
        }
        if !loaded.is_empty() {
            let mut vars = play.vars.clone();
            vars.extend(loaded);
            state.vars = Arc::new(vars);
        }
    }

    /// Runs notified handlers in definition order, each once, until none
    /// is pending (handlers may notify handlers).
    fn flush_handlers(&mut self, state: &mut PlayState, key: &TaskKey) -> Flow {
        let play = state.play;
        let handlers = notified_handlers(state);
        if !handlers.is_empty() {
            (self.emit)(Event::HandlersNotified {
                host: self.slice.host.clone(),
                key: key.clone(),
                handlers,
            });
        }
        while let Some(index) = play
            .handlers
            .iter()
            .position(|h| is_notified(h, &state.notified))
        {
            let handler = &play.handlers[index];
            state.notified.retain(|n| !handler_answers(handler, n));
            let key = key.handler(index);
            state.in_handlers = true;
            let inherited = block::with_play_keywords(&play.keywords, handler);
            let flow = self.run_entry(state, key, inherited.as_ref().unwrap_or(handler));
            state.in_handlers = false;
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// Variables Ansible sets itself for every task of a play.
    fn magic_vars(&self, play: &SlicePlay, seen: RunInventory) -> Vars {
        let s = self.slice;
        let short = s.host.split('.').next().unwrap_or_default();
        let mut m = Vars::new();
        m.insert("inventory_hostname".into(), json!(s.host));
        m.insert("inventory_hostname_short".into(), json!(short));
        let groups = seen.groups.unwrap_or_else(|| s.groups.clone());
        m.insert("groups".into(), Json::Object(groups));
        let group_names = seen.group_names.as_ref().unwrap_or(&s.group_names);
        m.insert("group_names".into(), json!(group_names));
        m.insert("playbook_dir".into(), json!(s.playbook_dir));
        let hosts = seen.play_hosts.unwrap_or_else(|| play.hosts.clone());
        for key in ["ansible_play_hosts", "ansible_play_hosts_all"] {
            m.insert(key.into(), json!(hosts));
        }
        let batch = seen.batch.unwrap_or(hosts);
        for key in ["play_hosts", "ansible_play_batch"] {
            m.insert(key.into(), json!(batch));
        }
        m.insert("ansible_play_name".into(), json!(play.name));
        m.insert("ansible_check_mode".into(), json!(s.check));
        m.insert("ansible_diff_mode".into(), json!(s.diff));
        m.insert("ansible_version".into(), ansible_version());
        m
    }

    /// A templar over the variables of `task`, lowest precedence first;
    /// `extra` (loop item, the result being judged) sits above host vars.
    fn templar(&self, state: &PlayState, task: &Task, extra: Option<Vars>) -> Templar {
        let role = state.role.as_deref();
        let mut layers = Vec::with_capacity(14);
        layers.push(state.roles_defaults.clone());
        layers.extend(role.map(|r| r.defaults.clone()));
        layers.extend([
            self.inventory.clone(),
            self.facts_layer.clone(),
            state.vars.clone(),
            state.roles_vars.clone(),
        ]);
        layers.extend(role.map(|r| r.vars.clone()));
        layers.extend([
            Arc::new(task.vars.clone()),
            self.included_vars.clone(),
            self.host_vars.clone(),
        ]);
        layers.extend(role.map(|r| r.params.clone()));
        layers.extend(extra.map(Arc::new));
        layers.push(self.extra.clone());
        layers.push(state.magic.clone());
        layers.extend(role.map(|r| r.magic.clone()));
        let own = vec![
            self.inventory.clone(),
            self.facts_layer.clone(),
            self.included_vars.clone(),
            self.host_vars.clone(),
            self.extra.clone(),
            state.magic.clone(),
        ];
        Templar::with_host(self.env.clone(), layers, own, self.others.clone())
    }

    /// `meta: clear_facts`: the host's facts forgotten, `ansible_facts`
    /// empty.
    fn clear_facts(&mut self) {
        self.facts = Vars::new();
        self.add_facts(Vars::new());
    }

    fn add_facts(&mut self, facts: Vars) {
        self.facts.extend(facts);
        let mut layer = Vars::new();
        for (key, value) in &self.facts {
            layer.insert(key.clone(), value.clone());
        }
        let namespaced = crate::facts::namespaced(&self.facts);
        layer.insert("ansible_facts".into(), Json::Object(namespaced));
        self.facts_layer = Arc::new(layer);
    }

    fn include_var(&mut self, name: String, value: Json) {
        Arc::make_mut(&mut self.included_vars).insert(name, value);
    }

    fn set_host_var(&mut self, name: &str, value: Json) {
        Arc::make_mut(&mut self.host_vars).insert(name.to_owned(), value);
    }
}

/// Every role's defaults and vars in the play, merged in play order.
fn play_roles_vars(play: &SlicePlay) -> (Vars, Vars) {
    let (mut defaults, mut vars) = (Vars::new(), Vars::new());
    for (_, task) in play.tasks.iter() {
        task.visit(&mut |t| {
            if let Some(role) = t.block.as_ref().and_then(|b| b.role.as_ref()) {
                defaults.extend(role.defaults.clone());
                vars.extend(role.vars.clone());
            }
        });
    }
    (defaults, vars)
}

/// The play's implicit `gather_facts` task, with `args` (the play's
/// `gather_subset`, `gather_timeout` and `fact_path`). The play's
/// `gather_subset` is a list keyword: a string is one item, commas and
/// all (ansible-core never splits it, so `"!all,network"` names nothing
/// it knows and only excludes).
fn gathering_task(args: &Vars) -> Task {
    let mut args = args.clone();
    if let Some(Json::String(one)) = args.get("gather_subset") {
        let list = Json::Array(vec![Json::String(one.clone())]);
        args.insert("gather_subset".into(), list);
    }
    Task {
        id: String::new(),
        name: Some("Gathering Facts".into()),
        action: "gather_facts".into(),
        args,
        when: Vec::new(),
        register: None,
        vars: Vars::new(),
        keywords: Vars::new(),
        source: String::new(),
        block: None,
    }
}

/// The names of the handlers the pending notifications run, each once, in
/// the order ansible-core reports them: by notification, then definition.
fn notified_handlers(state: &PlayState) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for n in &state.notified {
        for h in state.play.handlers.iter() {
            // A role's handlers sit in a block naming the role.
            let (role, inner) = match &h.block {
                Some(b) => (b.role.as_ref().map(|r| r.name.as_str()), &b.block[..]),
                None => (None, std::slice::from_ref(h)),
            };
            for h in inner.iter().filter(|h| handler_answers(h, n)) {
                let Some(name) = h.name.as_ref() else {
                    continue;
                };
                let name = match role {
                    Some(r) => format!("{r} : {name}"),
                    None => name.clone(),
                };
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    names
}

fn is_notified(handler: &Task, notified: &[String]) -> bool {
    notified.iter().any(|n| handler_answers(handler, n))
}

/// A handler answers to its name and to its `listen` topics; a role's
/// handler (a role block around it) also to `role : name`.
fn handler_answers(handler: &Task, name: &str) -> bool {
    if let Some(b) = &handler.block {
        let role = b.role.as_ref().map(|r| r.name.as_str());
        return b.block.iter().any(|h| {
            handler_answers(h, name)
                || role.is_some_and(|r| {
                    h.name
                        .as_deref()
                        .is_some_and(|n| name == format!("{r} : {n}"))
                })
        });
    }
    if handler.name.as_deref() == Some(name) {
        return true;
    }
    match handler.keywords.get("listen") {
        Some(Json::String(topic)) => topic == name,
        Some(Json::Array(topics)) => topics.iter().any(|t| t.as_str() == Some(name)),
        _ => false,
    }
}
