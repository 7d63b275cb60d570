//! Loops: `loop` (and `with_<lookup>`, which the parser writes as `loop`
//! plus `loop_with`) with `loop_control`, one `ItemResult` per item and
//! Ansible's aggregate result.

use rustle_format::{Event, Status, Task, TaskKey, Vars};
use serde_json::{Value as Json, json};

use super::item::{failed_result, failed_with_causes, status_of};
use super::task::{TaskCtx, shown_item};
use super::{HostRun, PlayState};
use crate::modules::{DISPLAY_KEY, Effect};
use crate::template::Templar;
use crate::template::lookups;

/// The raw `loop` of a task and the `with_<lookup>` it came from, if any.
pub(super) fn loop_items(task: &Task) -> Option<LoopSource<'_>> {
    let raw = task.keywords.get("loop")?;
    let with = task.keywords.get("loop_with").and_then(Json::as_str);
    Some(LoopSource { raw, with })
}

pub(super) struct LoopSource<'t> {
    pub raw: &'t Json,
    /// `items` for `with_items`, ...
    pub with: Option<&'t str>,
}

impl HostRun<'_> {
    /// Runs the task per loop item, emitting `ItemResult`s, and builds
    /// Ansible's aggregate result.
    pub(super) fn run_loop(
        &mut self,
        state: &PlayState,
        (key, name): (&TaskKey, &str),
        t: &TaskCtx,
        source: LoopSource,
    ) -> (Vars, Vec<Effect>) {
        let templar = self.templar(state, t.task, None);
        let items = match loop_list(&templar, &source, &t.task.action) {
            Ok(items) => items,
            Err(result) => return (result, Vec::new()),
        };
        if items.is_empty() {
            let mut r = Vars::new();
            r.insert("changed".into(), json!(false));
            r.insert("skipped".into(), json!(true));
            r.insert("skipped_reason".into(), json!("No items in the list"));
            r.insert("results".into(), json!([]));
            return (r, Vec::new());
        }
        let control = LoopControl::read(t.task.keywords.get("loop_control"));
        let mut results = Vec::with_capacity(items.len());
        let mut effects = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let vars = control.vars(&items, index);
            let label = if t.no_log {
                // ansible-core's `_get_item_label` under no_log.
                json!("(censored due to no_log)")
            } else {
                control.label(&self.templar(state, t.task, Some(vars.clone())), item)
            };
            let mut run = self.run_attempts(state, t, Some(vars.clone()), (key, name));
            let status = status_of(&run.result);
            // `failed` comes before the loop's variables, as ansible-core
            // adds them.
            if status != Status::Skipped {
                run.result.entry("failed").or_insert(json!(false));
            }
            run.result.extend(vars);
            // Lines for exec to print with the item, not registered.
            let display = run.result.remove(DISPLAY_KEY);
            let mut shown = shown_item(&run.result, t);
            if let Some(display) = display {
                shown[DISPLAY_KEY] = display;
            }
            (self.emit)(Event::ItemResult {
                host: self.slice.host.clone(),
                key: key.clone(),
                status,
                label,
                result: shown,
            });
            effects.push(run.effect);
            results.push(run.result);
        }
        (aggregate(results), effects)
    }
}

/// The items to loop over: the rendered list, shaped by the `with_` lookup.
fn loop_list(templar: &Templar, source: &LoopSource, action: &str) -> Result<Vec<Json>, Vars> {
    let rendered = templar.render(source.raw).map_err(|err| {
        failed_with_causes(
            format!("Task failed: {err}"),
            json!([{"msg": err.to_string(), "at": "loop"}]),
        )
    })?;
    match (source.with, rendered) {
        (None, Json::Array(items)) => Ok(items),
        // `with_<lookup>`: the lookup run on the terms, as a list.
        (Some(lookup), rendered) => {
            let terms = match rendered {
                Json::Array(items) => items,
                other => vec![other],
            };
            lookups::run(
                templar,
                lookup,
                terms,
                &serde_json::Map::new(),
                Some(action),
            )
            .map_err(|e| {
                failed_result(format!(
                    "Task failed: The lookup plugin '{lookup}' failed: {e}"
                ))
            })
        }
        (None, other) => Err(failed_result(format!(
            "Invalid data passed to 'loop', it requires a list, got this instead: {other}. \
             Hint: If you passed a list/dict of just one element, try adding wantlist=True \
             to your lookup invocation or use q/query instead of lookup."
        ))),
    }
}

/// `loop_control`: the loop variable, index variable and label.
struct LoopControl {
    loop_var: String,
    index_var: Option<String>,
    label: Option<Json>,
    /// `extended`: `ansible_loop` with the item's place in the loop.
    extended: bool,
}

impl LoopControl {
    fn read(raw: Option<&Json>) -> LoopControl {
        let get = |key: &str| raw.and_then(|r| r.get(key)).filter(|v| !v.is_null());
        LoopControl {
            loop_var: get("loop_var")
                .and_then(Json::as_str)
                .unwrap_or("item")
                .to_owned(),
            index_var: get("index_var").and_then(Json::as_str).map(str::to_owned),
            label: get("label").cloned(),
            extended: get("extended").is_some_and(|v| {
                v == &json!(true) || v.as_str().is_some_and(|s| matches!(s, "yes" | "true"))
            }),
        }
    }

    /// The variables one item's run sees.
    fn vars(&self, items: &[Json], index: usize) -> Vars {
        let item = &items[index];
        let mut vars = Vars::new();
        vars.insert(self.loop_var.clone(), item.clone());
        vars.insert("ansible_loop_var".into(), json!(self.loop_var));
        if let Some(index_var) = &self.index_var {
            vars.insert(index_var.clone(), json!(index));
            vars.insert("ansible_index_var".into(), json!(index_var));
        }
        if self.extended {
            let n = items.len();
            let mut l = json!({
                "allitems": items,
                "index": index + 1,
                "index0": index,
                "revindex": n - index,
                "revindex0": n - index - 1,
                "first": index == 0,
                "last": index + 1 == n,
                "length": n,
            });
            if index > 0 {
                l["previtem"] = items[index - 1].clone();
            }
            if index + 1 < n {
                l["nextitem"] = items[index + 1].clone();
            }
            vars.insert("ansible_loop".into(), l);
        }
        vars
    }

    /// The rendered label, else the item itself.
    fn label(&self, templar: &Templar, item: &Json) -> Json {
        match &self.label {
            Some(label) => templar.render(label).unwrap_or_else(|_| label.clone()),
            None => item.clone(),
        }
    }
}

/// Ansible's loop result: `results` plus flags and message from the items.
fn aggregate(results: Vec<Vars>) -> Vars {
    let any = |key: &str| results.iter().any(|r| r.get(key) == Some(&json!(true)));
    let changed = any("changed");
    let failed = any("failed");
    let all_skipped = results
        .iter()
        .all(|r| r.get("skipped") == Some(&json!(true)));
    let mut out = Vars::new();
    out.insert(
        "results".into(),
        Json::Array(results.iter().cloned().map(Json::Object).collect()),
    );
    out.insert("changed".into(), json!(changed));
    out.insert("skipped".into(), json!(all_skipped));
    let msg = if all_skipped {
        "All items skipped"
    } else if failed {
        out.insert("failed".into(), json!(true));
        "One or more items failed"
    } else {
        "All items completed"
    };
    out.insert("msg".into(), json!(msg));
    out
}
