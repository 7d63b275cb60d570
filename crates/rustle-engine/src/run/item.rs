//! One execution of a task's module (once, or per loop item): `when`,
//! argument rendering, the module itself, `changed_when` / `failed_when`.

use rustle_format::{Event, Status, TaskKey, Vars};
use serde_json::{Value as Json, json};

use super::task::TaskCtx;
use super::{HostRun, PlayState};
use crate::FileSource;
use crate::modules::{Args, Effect, Module, ModuleCtx, check_params, result};
use crate::template::{Templar, omit};

pub(super) struct ItemRun {
    pub result: Vars,
    pub effect: Effect,
}

impl ItemRun {
    pub fn failed(msg: String) -> ItemRun {
        ItemRun {
            result: failed_result(msg),
            effect: Effect::None,
        }
    }

    /// A failure ansible-core reports as a chain of errors ("Task failed."
    /// caused by each of `causes` in turn), each at a part of the task:
    /// `{"msg", "at": "action" | "args" (with "key") | "loop" | "when"
    /// (with "cond")}`, which exec finds in the task's YAML.
    pub fn failed_with_causes(msg: String, causes: Json) -> ItemRun {
        ItemRun {
            result: failed_with_causes(msg, causes),
            effect: Effect::None,
        }
    }
}

/// The result of [`ItemRun::failed_with_causes`].
pub(super) fn failed_with_causes(msg: String, causes: Json) -> Vars {
    let mut r = failed_result(msg);
    r.insert(crate::modules::CAUSES_KEY.into(), causes);
    r
}

pub(super) fn failed_result(msg: String) -> Vars {
    let mut r = Vars::new();
    r.insert("msg".into(), json!(msg));
    r.insert("failed".into(), json!(true));
    r.insert("changed".into(), json!(false));
    r
}

/// A result's status: failed, skipped, changed or ok.
pub(super) fn status_of(result: &Vars) -> Status {
    let flag = |key: &str| result.get(key).is_some_and(|v| v.as_bool() == Some(true));
    if flag("failed") {
        Status::Failed
    } else if flag("skipped") {
        Status::Skipped
    } else if flag("changed") {
        Status::Changed
    } else {
        Status::Ok
    }
}

impl HostRun<'_> {
    /// Runs the task (or one loop item) as `until`/`retries` ask: again,
    /// after `delay` seconds, while the condition (by default: not failed)
    /// is false, announcing each retry. Out of attempts, it fails.
    pub(super) fn run_attempts(
        &mut self,
        state: &PlayState,
        t: &TaskCtx,
        item_vars: Option<Vars>,
        (key, name): (&TaskKey, &str),
    ) -> ItemRun {
        let kw = &t.task.keywords;
        let retries = kw.get("retries").and_then(Json::as_u64).map(|r| r as u32);
        let total = 1 + retries.unwrap_or(if kw.contains_key("until") { 3 } else { 0 });
        if total == 1 {
            return self.run_item(state, t, item_vars, None);
        }
        let delay = match kw.get("delay").and_then(Json::as_f64) {
            Some(d) if d >= 0.0 => d,
            Some(_) => 1.0,
            None => 5.0,
        };
        let mut run = ItemRun::failed(String::new());
        for attempt in 1..=total {
            run = self.run_item(state, t, item_vars.clone(), Some(attempt));
            if status_of(&run.result) == Status::Skipped {
                return run;
            }
            let mut vars = item_vars.clone().unwrap_or_default();
            if let Some(register) = &t.task.register {
                vars.insert(register.clone(), Json::Object(run.result.clone()));
            }
            let templar = self.templar(state, t.task, Some(vars));
            let done = match kw.get("until") {
                Some(cond) => all_true(&templar, cond).unwrap_or(false),
                None => run.result.get("failed") != Some(&json!(true)),
            };
            if done {
                return run;
            }
            if attempt < total {
                run.result.insert("_ansible_retry".into(), json!(true));
                run.result.insert("retries".into(), json!(total));
                (self.emit)(Event::TaskRetry {
                    host: self.slice.host.clone(),
                    key: key.clone(),
                    name: name.to_owned(),
                    attempts: attempt,
                    retries: total,
                });
                std::thread::sleep(std::time::Duration::from_secs_f64(delay));
            }
        }
        run.result.insert("attempts".into(), json!(total - 1));
        run.result.insert("failed".into(), json!(true));
        run.effect = Effect::None;
        run
    }

    /// Runs the task once; `item_vars` holds the loop variables and
    /// `attempt` the attempt number under `until`/`retries`.
    pub(super) fn run_item(
        &mut self,
        state: &PlayState,
        t: &TaskCtx,
        item_vars: Option<Vars>,
        attempt: Option<u32>,
    ) -> ItemRun {
        // An unknown action fails whatever `when` says, as Ansible fails it at parse time.
        let Some((name, module)) = &t.module else {
            return ItemRun::failed(format!(
                "couldn't resolve module/action '{}'. This often indicates a misspelling, \
                 missing collection, or incorrect module path.",
                t.task.action
            ));
        };
        let templar = self.templar(state, t.task, item_vars.clone());
        for cond in t.when {
            match templar.condition(cond) {
                Ok(true) => {}
                Ok(false) => return skipped(cond),
                Err(err) => {
                    return ItemRun::failed_with_causes(
                        format!("Task failed: {err}"),
                        json!([{"msg": err.to_string(), "at": "when", "cond": cond}]),
                    );
                }
            }
        }
        let role = state.role.as_deref().map(|r| r.doc_path());
        let mut run = self.call_module(&templar, t, role, (name, *module));
        if let Some(attempt) = attempt {
            run.result.insert("attempts".into(), json!(attempt));
        }
        self.judge(state, t, item_vars, &mut run.result);
        if status_of(&run.result) == Status::Failed {
            run.effect = Effect::None;
        }
        run
    }

    /// Renders the arguments and runs the module.
    fn call_module(
        &mut self,
        templar: &Templar,
        t: &TaskCtx,
        role: Option<&str>,
        (name, module): (&str, &dyn Module),
    ) -> ItemRun {
        let args = match render_args(templar, t, module.raw_args()) {
            Ok(args) => args,
            Err(result) => {
                return ItemRun {
                    result,
                    effect: Effect::None,
                };
            }
        };
        if let Err(err) = check_params(module, name, &args) {
            return ItemRun::failed(err.0);
        }
        if t.check && !module.supports_check() {
            let msg = format!(
                "remote module ({}) does not support check mode",
                t.task.action
            );
            return ItemRun {
                result: result([
                    ("changed", json!(false)),
                    ("skipped", json!(true)),
                    ("msg", json!(msg)),
                ]),
                effect: Effect::None,
            };
        }
        let task_dir = rustle_format::source_dir(&t.task.source);
        let files = TaskFiles {
            inner: self.files,
            role,
            subdir: rustle_format::src_subdir(&t.task.action),
            task_dir,
        };
        let env = match environment(templar, t) {
            Ok(env) => env,
            Err(msg) => return ItemRun::failed(msg),
        };
        let delegate = match self.delegate(templar, t) {
            Ok(d) => d,
            Err(msg) => return ItemRun::failed(msg),
        };
        let base = delegate.as_ref().map_or(self.target, |d| d.target.as_ref());
        if t.async_val > 0 {
            return self.run_async(t, base, name, args, env, task_dir);
        }
        let run_as = match &t.run_as {
            Some(b) => match crate::become_user::target(base, b) {
                Ok(target) => Some(target),
                Err(e) => return ItemRun::failed(format!("Task failed: {e}")),
            },
            None => None,
        };
        // The controller, where exec runs the engine (as the implicit
        // localhost its delegates reach); a runner has none.
        let controller = self
            .delegates
            .and_then(|d| d.delegate("localhost").ok())
            .map(|d| d.target);
        let target = run_as.as_ref().map_or(base, |b| b as &dyn crate::Target);
        let cache = crate::read_cache::ReadCache::new(target);
        let ctx = ModuleCtx {
            target: if module.polls() { target } else { &cache },
            controller: controller.as_deref().map(|c| c as &dyn crate::Target),
            files: &files,
            task_dir,
            templar,
            check: t.check,
            diff: t.diff,
            env: &env,
            verbosity: self.verbosity,
        };
        let mut run = match module.run(&ctx, &Args(&args)) {
            Ok(outcome) => ItemRun {
                result: outcome.result,
                effect: outcome.effect,
            },
            Err(err) => ItemRun::failed(err.0),
        };
        run.result.entry("changed").or_insert(json!(false));
        if let Some(d) = delegate {
            run.result.insert(
                "_ansible_delegated_vars".into(),
                json!({"ansible_host": d.label, "ansible_delegated_host": d.name}),
            );
        }
        run
    }

    /// The host `delegate_to` names, when it is another host.
    fn delegate(&self, templar: &Templar, t: &TaskCtx) -> Result<Option<Delegated>, String> {
        let Some(raw) = t.task.keywords.get("delegate_to") else {
            return Ok(None);
        };
        let name = match templar.render(raw) {
            Ok(Json::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(err) => return Err(format!("Task failed: {err}")),
        };
        if name == self.slice.host {
            return Ok(None);
        }
        let Some(delegates) = self.delegates else {
            return Err(format!(
                "delegate_to: {name}: this runner reaches only its own host"
            ));
        };
        let d = delegates.delegate(&name)?;
        Ok(Some(Delegated {
            target: d.target,
            label: d.label,
            name,
        }))
    }

    /// `changed_when` then `failed_when`, with the result under the
    /// `register` name like Ansible; not on a result that says `skipped`
    /// (a command in check mode), as ansible-core's task executor.
    fn judge(&self, state: &PlayState, t: &TaskCtx, item_vars: Option<Vars>, result: &mut Vars) {
        let kw = &t.task.keywords;
        if kw.get("changed_when").is_none() && kw.get("failed_when").is_none()
            || result.contains_key("skipped")
        {
            return;
        }
        let mut vars = item_vars.unwrap_or_default();
        if let Some(register) = &t.task.register {
            vars.insert(register.clone(), Json::Object(result.clone()));
        }
        let templar = self.templar(state, t.task, Some(vars));
        if let Some(cond) = kw.get("changed_when") {
            match all_true(&templar, cond) {
                Ok(changed) => {
                    result.insert("changed".into(), json!(changed));
                }
                Err(msg) => {
                    result.insert("changed_when_result".into(), json!(msg));
                    result.insert("failed".into(), json!(true));
                    return;
                }
            }
        }
        if let Some(cond) = kw.get("failed_when") {
            let (failed, shown) = match all_true(&templar, cond) {
                Ok(failed) => (failed, json!(failed)),
                Err(msg) => (true, json!(msg)),
            };
            result.insert("failed_when_result".into(), shown);
            if failed {
                result.insert("failed".into(), json!(true));
            } else {
                result.remove("failed");
            }
        }
    }
}

fn skipped(cond: &Json) -> ItemRun {
    let mut r = Vars::new();
    r.insert("changed".into(), json!(false));
    r.insert("skipped".into(), json!(true));
    r.insert("skip_reason".into(), json!("Conditional result was False"));
    r.insert("false_condition".into(), cond.clone());
    ItemRun {
        result: r,
        effect: Effect::None,
    }
}

/// The module's arguments rendered, with `omit` dropped; `raw` ones as written.
fn render_args(templar: &Templar, t: &TaskCtx, raw: &[&str]) -> Result<Vars, Vars> {
    let mut out = Vars::new();
    for (key, value) in &t.task.args {
        if raw.contains(&key.as_str()) {
            out.insert(key.clone(), value.clone());
            continue;
        }
        let value = templar.render(value).map_err(|err| {
            let module = t.module.as_ref().map_or("", |(name, _)| name.as_str());
            let finalization = format!("Finalization of task args for '{module}' failed");
            let resolving = format!("Error while resolving value for '{key}': {err}");
            failed_with_causes(
                format!("Task failed: {finalization}: {resolving}"),
                json!([
                    {"msg": format!("{finalization}."), "at": "action"},
                    {"msg": resolving, "at": "args", "key": key},
                ]),
            )
        })?;
        if value.as_str() != Some(omit()) {
            out.insert(key.clone(), value);
        }
    }
    Ok(out)
}

/// One conditional or a list of them, and-ed.
fn all_true(templar: &Templar, cond: &Json) -> Result<bool, String> {
    let conds = match cond {
        Json::Array(items) => items.as_slice(),
        one => std::slice::from_ref(one),
    };
    for cond in conds {
        if !templar.condition(cond).map_err(|e| e.message)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A task's view of the controller files: `src` is looked up where Ansible
/// looks for it (`src_candidates`: the role's directories first).
struct TaskFiles<'a> {
    inner: &'a dyn FileSource,
    role: Option<&'a str>,
    subdir: &'static str,
    /// The directory of the task's file, which is searched after the role.
    task_dir: &'a str,
}

impl TaskFiles<'_> {
    fn candidates(&self, src: &str) -> Vec<String> {
        rustle_format::src_candidates(src, self.subdir, self.role, self.task_dir)
    }
}

impl FileSource for TaskFiles<'_> {
    fn read(&self, src: &str) -> std::io::Result<Vec<u8>> {
        self.find(src).map(|(_, bytes)| bytes)
    }

    fn find(&self, src: &str) -> std::io::Result<(String, Vec<u8>)> {
        for key in self.candidates(src) {
            match self.inner.read(&key) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                other => return other.map(|bytes| (key, bytes)),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("Could not find or access '{src}'"),
        ))
    }

    fn exact(&self, key: &str) -> std::io::Result<Vec<u8>> {
        self.inner.exact(key)
    }

    fn role(&self) -> Option<&str> {
        self.role
    }

    fn list(&self, dir: &str) -> Vec<String> {
        self.inner.list(dir)
    }

    fn find_dir(&self, src: &str) -> Option<(String, Vec<String>)> {
        let src = src.trim_end_matches('/');
        self.candidates(src)
            .into_iter()
            .find_map(|key| self.inner.find_dir(&key))
    }
}

/// The task's `environment` (a mapping, or a list of them merged in
/// order), rendered, as `NAME=value` pairs.
fn environment(templar: &Templar, t: &TaskCtx) -> Result<Vec<(String, String)>, String> {
    let Some(raw) = t.task.keywords.get("environment") else {
        return Ok(Vec::new());
    };
    let rendered = templar
        .render(raw)
        .map_err(|err| format!("Task failed: {err}"))?;
    let maps = match rendered {
        Json::Array(list) => list,
        Json::Null => Vec::new(),
        other => vec![other],
    };
    let mut env: Vec<(String, String)> = Vec::new();
    for map in maps {
        let Json::Object(map) = map else {
            return Err(format!(
                "environment must be a mapping or a list of mappings, got {map}"
            ));
        };
        for (k, v) in map {
            let v = match v {
                Json::String(s) => s,
                Json::Bool(b) => if b { "True" } else { "False" }.to_owned(),
                Json::Null => String::new(),
                other => other.to_string(),
            };
            env.retain(|(name, _)| *name != k);
            env.push((k, v));
        }
    }
    Ok(env)
}

/// A task's `delegate_to` host, reached.
struct Delegated {
    target: std::sync::Arc<dyn crate::Target + Send + Sync>,
    label: String,
    name: String,
}
