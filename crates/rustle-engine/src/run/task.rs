//! One task from start to result: keywords, loop, events, register,
//! effects on the host's variables, notifications and stats.

use rustle_format::{Event, Status, Task, TaskKey, Vars};
use serde_json::{Value as Json, json};

use super::item::{ItemRun, failed_result, status_of};
use super::loops::loop_items;
use super::{Flow, HostRun, PlayState};
use crate::become_user::{Become, Method};
use crate::modules::{DISPLAY_KEY, Effect, MetaAction, Module, meta_skipped, resolve};
use crate::template::{Templar, TemplateError};
use rustle_format::Secret;

const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// A task with its module resolved and its keywords evaluated.
pub(super) struct TaskCtx<'t> {
    pub task: &'t Task,
    pub key: &'t TaskKey,
    /// The task's conditions (none for tasks that ignore `when`).
    pub when: &'t [Json],
    /// `ansible.builtin.X`, with the module; `None` for an unknown action.
    pub module: Option<(String, &'static dyn Module)>,
    pub check: bool,
    pub diff: bool,
    pub no_log: bool,
    pub ignore_errors: bool,
    /// Run as another user (`become`), when that changes the user.
    pub run_as: Option<Become>,
    /// `async`: seconds the task may run as a background job (0: not a job).
    pub async_val: u64,
    /// `poll`: seconds between looks at the job (0: do not wait for it).
    pub poll: u64,
}

/// What running a task produced, before it is reported.
struct Done {
    result: Vars,
    effects: Vec<Effect>,
    ignore_errors: bool,
    no_log: bool,
    diff: bool,
}

impl HostRun<'_> {
    pub(super) fn run_task(&mut self, state: &mut PlayState, key: TaskKey, task: &Task) -> Flow {
        self.run_task_result(state, key, task).0
    }

    /// `run_task`, also returning the task's status and result.
    pub(super) fn run_task_result(
        &mut self,
        state: &mut PlayState,
        key: TaskKey,
        task: &Task,
    ) -> (Flow, Status, Vars) {
        let templar = self.templar(state, task, None);
        let module = resolve(&task.action);
        if module
            .as_ref()
            .is_some_and(|(name, _)| name == "ansible.builtin.meta")
        {
            return (
                self.run_meta(state, key, task, &templar),
                Status::Ok,
                Vars::new(),
            );
        }
        let name = display_name(state, task, &templar);
        self.emit_start(&key, &name, task);
        let mut done = self.execute(state, (&key, &name), task, module, &templar);
        // Lines for exec to print, not part of what is registered.
        let display = done.result.remove(DISPLAY_KEY);
        let status = status_of(&done.result);
        let ignored = status == Status::Failed && done.ignore_errors;
        self.finish_task(task, &done.result, done.effects);
        let notified = match status {
            Status::Changed => notify(state, task, &templar),
            _ => Vec::new(),
        };
        let mut shown = if done.no_log {
            censor(&done.result)
        } else {
            Json::Object(done.result.clone())
        };
        if done.diff {
            // Tells the display to print the result's `diff` (`--diff`).
            shown["_ansible_diff"] = json!(true);
        }
        if let Some(display) = display {
            shown[DISPLAY_KEY] = display;
        }
        if !notified.is_empty() {
            // As ansible-core's internal key: what `-vv` reports saved.
            shown["_ansible_notify"] = json!(notified);
        }
        // An include whose file or role is not there fails the host as
        // ansible-core's strategy does: failed even where a rescue runs.
        let include_failed = status == Status::Failed && task.is_include();
        let rescued = status == Status::Failed && !ignored && state.rescuable && !include_failed;
        if status == Status::Failed && !ignored {
            let result = shown.as_object().map_or(Json::Null, registered);
            self.last_failure = Some((failed_task(task, &templar), result));
        }
        self.emit_result(key, name, task, status, (ignored, rescued), shown);
        let flow = if status == Status::Failed && !ignored {
            Flow::Stop
        } else {
            Flow::Continue
        };
        (flow, status, done.result)
    }

    /// Runs the task, once or per loop item.
    fn execute(
        &mut self,
        state: &PlayState,
        (key, name): (&TaskKey, &str),
        task: &Task,
        module: Option<(String, &'static dyn Module)>,
        templar: &Templar,
    ) -> Done {
        let t = match self.task_ctx(task, key, module, templar) {
            Ok(t) => t,
            Err(err) => {
                let result = failed_result(format!("Task failed: {err}"));
                return Done {
                    result,
                    effects: Vec::new(),
                    ignore_errors: false,
                    no_log: false,
                    diff: false,
                };
            }
        };
        let (result, effects) = match loop_items(task) {
            Some(items) => self.run_loop(state, (key, name), &t, items),
            None => {
                let mut run = self.run_attempts(state, &t, None, (key, name));
                // ansible-core's TaskExecutor sets `failed` when a result
                // lacks it, as for each loop item.
                if status_of(&run.result) != Status::Skipped {
                    run.result.entry("failed").or_insert(json!(false));
                }
                (run.result, vec![run.effect])
            }
        };
        // An action that read secrets (include_vars of a vault-encrypted
        // file) hides its result, as ansible-core's `_ansible_no_log`.
        let no_log = t.no_log
            || hides(&result)
            || matches!(result.get("results"), Some(Json::Array(items))
                if items.iter().any(|i| i.as_object().is_some_and(hides)));
        Done {
            result,
            effects,
            ignore_errors: t.ignore_errors,
            no_log,
            diff: t.diff,
        }
    }

    fn emit_start(&mut self, key: &TaskKey, name: &str, task: &Task) {
        (self.emit)(Event::TaskStart {
            host: self.slice.host.clone(),
            key: key.clone(),
            name: name.to_owned(),
            action: task.action.clone(),
        });
    }

    fn emit_result(
        &mut self,
        key: TaskKey,
        name: String,
        task: &Task,
        status: Status,
        (ignored, rescued): (bool, bool),
        result: Json,
    ) {
        let ev = Event::TaskResult {
            host: self.slice.host.clone(),
            key,
            name,
            action: task.action.clone(),
            status,
            ignored,
            rescued,
            result,
        };
        // The recap counts results as exec counts the events.
        self.stats.record(&ev);
        (self.emit)(ev);
    }

    fn task_ctx<'t>(
        &self,
        task: &'t Task,
        key: &'t TaskKey,
        module: Option<(String, &'static dyn Module)>,
        templar: &Templar,
    ) -> Result<TaskCtx<'t>, TemplateError> {
        let run_as = self.run_as(task, templar)?;
        let check = keyword_bool(task, templar, "check_mode")?.unwrap_or(self.slice.check);
        Ok(TaskCtx {
            task,
            key,
            when: &task.when,
            module,
            check,
            diff: keyword_bool(task, templar, "diff")?.unwrap_or(self.slice.diff),
            no_log: keyword_bool(task, templar, "no_log")?.unwrap_or(false),
            ignore_errors: keyword_bool(task, templar, "ignore_errors")?.unwrap_or(false),
            run_as,
            async_val: keyword_int(task, templar, "async")?.unwrap_or(0),
            // ansible-core's DEFAULT_POLL_INTERVAL.
            poll: keyword_int(task, templar, "poll")?.unwrap_or(15),
        })
    }

    /// Applies module effects and `register`.
    fn finish_task(&mut self, task: &Task, result: &Vars, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Facts(facts) => self.add_facts(facts),
                Effect::SetVars(vars) => {
                    for (name, value) in vars {
                        self.set_host_var(&name, value);
                    }
                }
                Effect::IncludeVars(vars) => {
                    for (name, value) in vars {
                        self.include_var(name, value);
                    }
                }
                Effect::None | Effect::Meta(_) => {}
            }
        }
        if let Some(register) = &task.register {
            self.set_host_var(register, registered(result));
        }
    }

    /// `meta` tasks act on the run. Their results never count in the
    /// stats; Ansible shows them only when skipped by `when` (or failed).
    fn run_meta(
        &mut self,
        state: &mut PlayState,
        key: TaskKey,
        task: &Task,
        templar: &Templar,
    ) -> Flow {
        let name = display_name(state, task, templar);
        self.emit_start(&key, &name, task);
        let action = meta_action(task);
        let run = match self.task_ctx(task, &key, resolve(&task.action), templar) {
            // `noop` ignores `when`, like Ansible.
            Ok(t) if action == "noop" => {
                self.run_item(state, &TaskCtx { when: &[], ..t }, None, None)
            }
            Ok(t) => self.run_item(state, &t, None, None),
            Err(err) => ItemRun::failed(format!("Task failed: {err}")),
        };
        let mut result = run.result;
        let flow = match run.effect {
            Effect::Meta(MetaAction::Noop | MetaAction::FlushHandlers) => Flow::Continue,
            Effect::Meta(MetaAction::ClearFacts) => {
                self.clear_facts();
                Flow::Continue
            }
            Effect::Meta(MetaAction::EndPlay | MetaAction::EndHost) => Flow::EndPlay,
            _ if status_of(&result) == Status::Skipped => {
                result = meta_skipped(action, &self.slice.host);
                Flow::Continue
            }
            _ => Flow::Stop,
        };
        let status = status_of(&result);
        self.emit_result(
            key.clone(),
            name,
            task,
            status,
            (false, false),
            Json::Object(result),
        );
        match run.effect {
            Effect::Meta(MetaAction::FlushHandlers) => self.flush_handlers(state, &key),
            _ => flow,
        }
    }
}

/// `ansible_failed_task`: the task as Ansible exposes it to `rescue`. Its
/// `name` is the task's own, rendered: empty when unnamed, and without the
/// `role : ` that the display adds.
fn failed_task(task: &Task, templar: &Templar) -> Json {
    json!({
        "name": task.name.as_ref().map_or_else(String::new, |name| rendered_name(name, templar)),
        "action": task.action,
        "args": task.args,
        "when": task.when,
    })
}

fn meta_action(task: &Task) -> &str {
    task.args
        .get("_raw_params")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .trim()
}

/// The task's name rendered (kept raw if it cannot be), else the action;
/// inside a role, `role : name` as Ansible shows it.
fn display_name(state: &PlayState, task: &Task, templar: &Templar) -> String {
    let name = match &task.name {
        Some(name) => rendered_name(name, templar),
        // ansible-core names an unnamed include_role after the role.
        None if task.action.rsplit('.').next() == Some("include_role") => {
            match task.args.get("name").and_then(Json::as_str) {
                Some(role) => format!("{} : {role}", task.action),
                None => task.action.clone(),
            }
        }
        None => task.action.clone(),
    };
    match state.role.as_deref() {
        Some(role) => format!("{} : {name}", role.name()),
        None => name,
    }
}

/// A task name rendered, kept raw if it cannot be.
fn rendered_name(name: &str, templar: &Templar) -> String {
    templar
        .render_string(name)
        .unwrap_or_else(|_| name.to_owned())
}

/// A boolean keyword, rendered: `None` when absent.
/// An integer keyword (`async`, `poll`), as Python's `int()` takes it.
fn keyword_int(task: &Task, templar: &Templar, key: &str) -> Result<Option<u64>, TemplateError> {
    let Some(raw) = task.keywords.get(key) else {
        return Ok(None);
    };
    let value = templar.render(raw)?;
    let n = match &value {
        Json::Null => return Ok(None),
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse::<i64>().ok().map(|n| n as f64),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match n {
        Some(n) => Ok(Some(n.max(0.0) as u64)),
        None => Err(TemplateError::new(format!(
            "'{key}' must be an integer, got {value}"
        ))),
    }
}

fn keyword_bool(task: &Task, templar: &Templar, key: &str) -> Result<Option<bool>, TemplateError> {
    let Some(raw) = task.keywords.get(key) else {
        return Ok(None);
    };
    match templar.render(raw)? {
        Json::Null => Ok(None),
        Json::Bool(b) => Ok(Some(b)),
        Json::Number(n) => Ok(Some(n.as_f64() != Some(0.0))),
        Json::String(s) => match s.to_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => Ok(Some(true)),
            "no" | "off" | "0" | "false" | "n" | "f" | "" => Ok(Some(false)),
            _ => Err(TemplateError::new(format!(
                "'{key}' must be a boolean, got '{s}'"
            ))),
        },
        other => Err(TemplateError::new(format!(
            "'{key}' must be a boolean, got {other}"
        ))),
    }
}

impl HostRun<'_> {
    /// The task's `become` (inherited from blocks and the play), when it
    /// would run the task as a user other than the one tasks run as.
    fn run_as(&self, task: &Task, templar: &Templar) -> Result<Option<Become>, TemplateError> {
        if keyword_bool(task, templar, "become")? != Some(true) {
            return Ok(None);
        }
        let text = |key: &str| -> Result<Option<String>, TemplateError> {
            match task.keywords.get(key) {
                Some(Json::String(raw)) => templar.render_string(raw).map(Some),
                Some(Json::Null) | None => Ok(None),
                Some(other) => Ok(Some(other.to_string())),
            }
        };
        let user = text("become_user")?.unwrap_or_else(|| "root".to_owned());
        if self.user().as_deref() == Some(user.as_str()) {
            return Ok(None);
        }
        // The host's variable wins over the password given to exec, as
        // connection variables win over command-line options in Ansible.
        let mut password = self.become_password.clone();
        for var in ["ansible_become_password", "ansible_become_pass"] {
            if let Ok(v) = templar.eval(var)
                && !v.is_null()
            {
                let text = match v {
                    Json::String(raw) => templar.render_string(&raw)?,
                    other => other.to_string(),
                };
                password = Some(Secret(text));
                break;
            }
        }
        let method = text("become_method")?.unwrap_or_else(|| "sudo".to_owned());
        let method = Method::parse(&method).map_err(TemplateError::new)?;
        let flags = match text("become_flags")? {
            Some(f) => f.split_whitespace().map(str::to_owned).collect(),
            None => method
                .default_flags()
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
        };
        Ok(Some(Become {
            method,
            user,
            flags,
            password,
        }))
    }
}

/// Records the handlers a changed task notifies; returns the notified
/// names that some handler answers to.
fn notify(state: &mut PlayState, task: &Task, templar: &Templar) -> Vec<String> {
    let names: Vec<&str> = match task.keywords.get("notify") {
        Some(Json::String(one)) => vec![one.as_str()],
        Some(Json::Array(many)) => many.iter().filter_map(Json::as_str).collect(),
        _ => return Vec::new(),
    };
    let mut answered = Vec::new();
    for name in names {
        let name = templar
            .render_string(name)
            .unwrap_or_else(|_| name.to_owned());
        if state
            .play
            .handlers
            .iter()
            .any(|h| super::handler_answers(h, &name))
        {
            answered.push(name.clone());
        }
        if !state.notified.contains(&name) {
            state.notified.push(name);
        }
    }
    answered
}

/// A result its action marked secret (`_ansible_no_log`).
fn hides(result: &Vars) -> bool {
    result.get("_ansible_no_log") == Some(&json!(true))
}

/// What `no_log` leaves of a result: the changed flag (and per-item stubs).
fn censor(result: &Vars) -> Json {
    let mut out = json!({
        "censored": CENSORED,
        "changed": result.get("changed").cloned().unwrap_or(json!(false)),
    });
    if let Some(Json::Array(items)) = result.get("results") {
        let items: Vec<Json> = items
            .iter()
            .map(|item| match item {
                Json::Object(map) => censor(map),
                _ => json!({"censored": CENSORED}),
            })
            .collect();
        out["results"] = Json::Array(items);
    }
    out
}

/// A loop item's result as its event shows it: censored under `no_log`,
/// marked for the display's `--diff` output in diff mode.
pub(super) fn shown_item(result: &Vars, t: &TaskCtx) -> Json {
    let mut shown = if t.no_log || hides(result) {
        censor(result)
    } else {
        Json::Object(result.clone())
    };
    if t.diff {
        shown["_ansible_diff"] = json!(true);
    }
    shown
}

/// A result as `register` (and `ansible_failed_result`) keeps it:
/// without internal keys, and with ansible-core 2.19's placeholder
/// `exception` on a failed result (or loop item) that has none.
fn registered(result: &Vars) -> Json {
    fn clean(r: &Vars) -> Vars {
        let mut r: Vars = r
            .iter()
            .filter(|(k, _)| !k.starts_with("_ansible") && !k.starts_with("_rustle"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let failed = r.get("failed") == Some(&json!(true));
        if failed && !rustle_format::is_loop_result(&r) && !r.contains_key("exception") {
            r.insert("exception".into(), json!("(traceback unavailable)"));
        }
        r
    }
    let mut out = clean(result);
    if let Some(Json::Array(items)) = out.get_mut("results") {
        for item in items.iter_mut() {
            if let Json::Object(m) = item {
                *m = clean(m);
            }
        }
    }
    Json::Object(out)
}
