//! Blocks: the tasks of `block`, then those of `rescue` when one of them
//! failed (the failure then counts as rescued, not failed, and
//! `ansible_failed_task`/`ansible_failed_result` say what failed), then
//! those of `always` in any case. A block's `when`, `vars` and inheritable
//! keywords apply to every task inside it, as in Ansible.

use rustle_format::{Block, Status, Task, TaskKey};
use serde_json::Value as Json;

use std::sync::Arc;

use super::{Flow, HostRun, PlayState, RoleScope};
use crate::modules::{INCLUDE_CANDIDATES, INCLUDE_LABEL};
use crate::template::is_template;

impl HostRun<'_> {
    /// Runs one entry of a task list: a block or a task.
    pub(super) fn run_entry(&mut self, state: &mut PlayState, key: TaskKey, task: &Task) -> Flow {
        match &task.block {
            Some(block) if task.action != Task::BLOCK => {
                if state.selected(task) {
                    self.run_include(state, &key, task, block)
                } else {
                    Flow::Continue
                }
            }
            Some(block) => self.run_block(state, &key, task, block),
            None if !state.selected(task) => Flow::Continue,
            // An include parse could not load: it fails when it runs.
            None if task.is_include() => self.run_include(state, &key, task, &Block::default()),
            None => self.run_task(state, key, task),
        }
    }

    fn run_block(
        &mut self,
        state: &mut PlayState,
        key: &TaskKey,
        parent: &Task,
        b: &Block,
    ) -> Flow {
        if let Some(role) = &b.role {
            // Like Ansible, a role runs once per host and play unless it
            // allows duplicates (same params and tasks file).
            let key = (
                role.path.clone(),
                role.tasks_from.clone(),
                Json::Object(role.params.clone()),
            );
            if !role.allow_duplicates {
                if state.roles_ran.contains(&key) {
                    return Flow::Continue;
                }
                state.roles_ran.push(key);
            }
        }
        let outer_role = state.role.clone();
        if let Some(role) = &b.role {
            state.role = Some(Arc::new(RoleScope::new(role, &self.slice.playbook_dir)));
        }
        let flow = self.run_sections(state, key, parent, b);
        state.role = outer_role;
        flow
    }

    /// `include_tasks`/`include_role`: the include runs as a task (its
    /// `when`, `loop`, `register`) reporting what it included, then the
    /// included tasks run once per item it included, with the include's
    /// vars (and loop variables) but not its other keywords.
    fn run_include(
        &mut self,
        state: &mut PlayState,
        key: &TaskKey,
        task: &Task,
        b: &Block,
    ) -> Flow {
        let is_role = task.action.rsplit('.').next() == Some("include_role");
        let written = task
            .args
            .get("_raw_params")
            .or_else(|| task.args.get("file"))
            .or_else(|| task.args.get("name").filter(|_| is_role))
            .and_then(Json::as_str)
            .unwrap_or_default();
        // A templated name: each block is a candidate, the one its
        // rendered name selects runs.
        let candidates: Option<Vec<(String, &Block)>> = is_template(written).then(|| {
            b.block
                .iter()
                .filter_map(|t| {
                    let cb = t.block.as_ref()?;
                    let name = cb.candidate.as_deref()?;
                    let label = if is_role {
                        name.to_owned()
                    } else {
                        self.include_label(task, cb, name)
                    };
                    Some((label, cb))
                })
                .collect()
        });
        let mut include = task.clone();
        include.block = None;
        // A file or role that is not there fails the host even under
        // `ignore_errors`, as in Ansible (its strategy raises it).
        include.keywords.remove("ignore_errors");
        let label = match &candidates {
            Some(_) if is_role => written.to_owned(),
            Some(_) => self.include_label(task, &Block::default(), written),
            None if is_role => written.to_owned(),
            None => self.include_label(task, b, written),
        };
        include
            .args
            .insert(INCLUDE_LABEL.into(), Json::String(label));
        if task.block.is_none() && candidates.is_none() {
            // Nothing was loaded for a static name: no candidate matches.
            include
                .args
                .insert(INCLUDE_CANDIDATES.into(), Json::Object(Default::default()));
        }
        if let Some(candidates) = &candidates {
            let names = b
                .block
                .iter()
                .filter_map(|t| t.block.as_ref()?.candidate.clone());
            let map = names
                .zip(
                    candidates
                        .iter()
                        .map(|(label, _)| Json::String(label.clone())),
                )
                .collect();
            include
                .args
                .insert(INCLUDE_CANDIDATES.into(), Json::Object(map));
        }
        let (flow, status, result) = self.run_task_result(state, key.clone(), &include);
        if flow != Flow::Continue || !matches!(status, Status::Ok | Status::Changed) {
            return flow;
        }
        let included = |r: Option<&Json>| r.and_then(Json::as_str).map(str::to_owned);
        // A looped include runs its tasks once per item, each under its
        // own key (`TaskKey::item`).
        let runs: Vec<(TaskKey, rustle_format::Vars, Option<String>)> = match result.get("results")
        {
            Some(Json::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(n, i)| {
                    let label = included(i.get("_rustle_included"))?;
                    Some((key.item(n), loop_vars(i), Some(label)))
                })
                .collect(),
            _ => vec![(
                key.clone(),
                rustle_format::Vars::new(),
                included(result.get("_rustle_included")),
            )],
        };
        for (key, vars, label) in runs {
            let chosen = match &candidates {
                None => b,
                Some(candidates) => {
                    match candidates.iter().find(|(l, _)| Some(l) == label.as_ref()) {
                        Some((_, cb)) => cb,
                        None => continue,
                    }
                }
            };
            let mut parent = applied(task);
            parent.vars.extend(vars);
            let flow = self.run_block(state, &key, &parent, chosen);
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// The path an `include_tasks` of `written` reports: the included
    /// file's, as its first task's source gives it, else `written` beside
    /// the including file; absolute.
    fn include_label(&self, task: &Task, b: &Block, written: &str) -> String {
        let file = |source: &str| {
            let mut parts = source.rsplitn(3, ':');
            let _ = (parts.next(), parts.next());
            parts.next().unwrap_or_default().to_owned()
        };
        let path = match b.block.first() {
            Some(child) => file(&child.source),
            None => {
                let here = file(&task.source);
                match here.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/{written}"),
                    None => written.to_owned(),
                }
            }
        };
        if path.starts_with('/') {
            path
        } else {
            format!("{}/{path}", self.slice.playbook_dir)
        }
    }

    fn run_sections(
        &mut self,
        state: &mut PlayState,
        key: &TaskKey,
        parent: &Task,
        b: &Block,
    ) -> Flow {
        let outer = state.rescuable;
        state.rescuable = outer || !b.rescue.is_empty();
        let mut flow = self.run_section(state, key, 0, parent, &b.block);
        state.rescuable = outer;
        if flow == Flow::Stop && !b.rescue.is_empty() {
            if let Some((task, result)) = self.last_failure.take() {
                self.set_host_var("ansible_failed_task", task);
                self.set_host_var("ansible_failed_result", result);
            }
            flow = self.run_section(state, key, 1, parent, &b.rescue);
        }
        if flow != Flow::EndPlay {
            let after = self.run_section(state, key, 2, parent, &b.always);
            if after != Flow::Continue {
                flow = after;
            }
        }
        flow
    }

    fn run_section(
        &mut self,
        state: &mut PlayState,
        key: &TaskKey,
        section: u32,
        parent: &Task,
        tasks: &[Task],
    ) -> Flow {
        for (i, child) in tasks.iter().enumerate() {
            let mut pos = key.pos.clone();
            pos.extend([section, i as u32]);
            let key = TaskKey {
                play: key.play,
                pos,
            };
            let flow = self.run_entry(state, key, &inherit(parent, child));
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }
}

/// What an include's tasks inherit from it: its vars, and the keywords
/// of its `apply` (conditions, vars and keywords such as `tags` or
/// `become`), not its own keywords or conditions, which are the
/// include's.
fn applied(include: &Task) -> Task {
    let mut parent = include.clone();
    parent.when = Vec::new();
    parent.keywords = rustle_format::Vars::new();
    let Some(Json::Object(apply)) = include.args.get("apply") else {
        return parent;
    };
    for (k, v) in apply {
        match k.as_str() {
            "when" => {
                parent.when = match v {
                    Json::Array(items) => items.clone(),
                    other => vec![other.clone()],
                }
            }
            "vars" => {
                if let Json::Object(vars) = v {
                    parent.vars.extend(vars.clone());
                }
            }
            _ => {
                parent.keywords.insert(k.clone(), v.clone());
            }
        }
    }
    parent
}

/// `task` as it runs in a play with inheritable `keywords` (the play's):
/// those it does not set itself; `None` when there is nothing to add.
pub(super) fn with_play_keywords(keywords: &rustle_format::Vars, task: &Task) -> Option<Task> {
    let missing = keywords
        .keys()
        .any(|k| !task.keywords.contains_key(k) || k == "environment");
    if !missing {
        return None;
    }
    let mut task = task.clone();
    for (k, v) in keywords {
        inherit_keyword(&mut task.keywords, k, v);
    }
    Some(task)
}

/// A parent's keyword on a child: kept unless the child sets it, except
/// `environment`, which Ansible extends (the parent's first, the child's
/// winning).
fn inherit_keyword(child: &mut rustle_format::Vars, key: &str, value: &Json) {
    match child.get_mut(key) {
        Some(own) if key == "environment" => {
            // Each entry a mapping or a template of one; never split.
            let entries = |v: &Json| match v {
                Json::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            let mut all = entries(value);
            all.extend(entries(own));
            *own = Json::Array(all);
        }
        Some(_) => {}
        None => {
            child.insert(key.to_owned(), value.clone());
        }
    }
}

/// `child` as it runs inside `parent`: the parent's conditions first, its
/// vars below the child's, its inheritable keywords unless the child sets
/// them, and the union of both tags.
fn inherit(parent: &Task, child: &Task) -> Task {
    let mut task = child.clone();
    task.when = parent.when.iter().chain(&child.when).cloned().collect();
    let mut vars = parent.vars.clone();
    vars.extend(child.vars.clone());
    task.vars = vars;
    for key in rustle_format::keywords::INHERITED {
        if let Some(value) = parent.keywords.get(*key) {
            inherit_keyword(&mut task.keywords, key, value);
        }
    }
    if let Some(tags) = parent.keywords.get("tags") {
        let mut all = as_list(tags);
        all.extend(child.keywords.get("tags").map(as_list).unwrap_or_default());
        all.dedup();
        task.keywords.insert("tags".into(), Json::Array(all));
    }
    task
}

/// The loop variables of one loop item's result (`item`, or the
/// `loop_var`, and the `index_var`), with `ansible_loop_var`,
/// `ansible_index_var` and `ansible_loop` that name and describe them.
fn loop_vars(item: &Json) -> rustle_format::Vars {
    let mut vars = rustle_format::Vars::new();
    for name_key in ["ansible_loop_var", "ansible_index_var"] {
        if let Some(name) = item.get(name_key).and_then(Json::as_str)
            && let Some(value) = item.get(name)
        {
            vars.insert(name_key.to_owned(), Json::from(name));
            vars.insert(name.to_owned(), value.clone());
        }
    }
    if let Some(l) = item.get("ansible_loop") {
        vars.insert("ansible_loop".to_owned(), l.clone());
    }
    vars
}

fn as_list(v: &Json) -> Vec<Json> {
    match v {
        Json::Array(items) => items.clone(),
        Json::String(s) => s.split(',').map(|t| Json::from(t.trim())).collect(),
        other => vec![other.clone()],
    }
}

impl PlayState<'_> {
    /// Whether `--tags`/`--skip-tags` let this task run (handlers always
    /// may: they run when notified).
    fn selected(&self, task: &Task) -> bool {
        if self.in_handlers {
            return true;
        }
        let mut tags = self.play_tags.clone();
        tags.extend(rustle_select::task_tags(task.keywords.get("tags")));
        self.tag_filter.runs(&tags)
    }
}
