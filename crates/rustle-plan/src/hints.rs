//! Parallelism hints and sync points, found by walking a play's tasks with
//! the keywords they inherit from blocks and roles.

use rustle_format::{Hint, HintKind, Map, Play, SyncPoint, Task, Value};

/// Package managers hold a lock per host: one of them at a time there.
const HOST_EXCLUSIVE: &[&str] = &[
    "apt",
    "dnf",
    "yum",
    "package",
    "apt_repository",
    "yum_repository",
    "dpkg_selections",
];

/// Keywords that matter here and that blocks pass on to their tasks.
const INHERITED: &[&str] = &["run_once", "throttle", "delegate_to", "any_errors_fatal"];

pub fn hints_and_sync_points(play: &Play, selected: &[u32]) -> (Vec<Hint>, Vec<SyncPoint>) {
    let mut hints = Vec::new();
    let mut syncs = Vec::new();
    let mut inherited = Map::new();
    if let Some(v) = play.keywords.get("any_errors_fatal") {
        inherited.insert("any_errors_fatal".into(), v.clone());
    }
    let linear = play
        .keywords
        .get("strategy")
        .and_then(Value::as_str)
        .unwrap_or("linear")
        == "linear";
    // Play variables are rendered in the task that uses them.
    let play_lookups = rustle_format::keywords::reads_controller(
        &serde_json::to_string(&play.vars).unwrap_or_default(),
    );
    for &i in selected {
        walk(
            &play.tasks[i as usize],
            &inherited,
            Map::new(),
            &mut |task, kw, vars| {
                let (h, s) = classify(task, kw, vars, linear, play_lookups);
                hints.extend(h);
                syncs.extend(s);
            },
        );
    }
    (hints, syncs)
}

type Visit<'a> = dyn FnMut(&Task, &Map<String, Value>, &Map<String, Value>) + 'a;

fn walk(
    task: &Task,
    parent_kw: &Map<String, Value>,
    parent_vars: Map<String, Value>,
    f: &mut Visit<'_>,
) {
    let mut kw = parent_kw.clone();
    for k in INHERITED {
        if let Some(v) = task.keywords.get(*k) {
            kw.insert((*k).to_owned(), v.clone());
        }
    }
    let mut vars = parent_vars;
    vars.extend(task.vars.clone());
    match &task.block {
        Some(b) => {
            for t in b.block.iter().chain(&b.rescue).chain(&b.always) {
                walk(t, &kw, vars.clone(), f);
            }
        }
        None => f(task, &kw, &vars),
    }
}

/// Actions whose plugin sets `BYPASS_HOST_LOOP`: ansible-core's linear
/// strategy sends them to the first host only (and any failure is fatal).
const BYPASS_HOST_LOOP: &[&str] = &["pause", "add_host"];

fn truthy(v: Option<&Value>) -> bool {
    v.is_some_and(rustle_format::keywords::truthy)
}

fn classify(
    task: &Task,
    kw: &Map<String, Value>,
    vars: &Map<String, Value>,
    linear: bool,
    play_lookups: bool,
) -> (Vec<Hint>, Vec<SyncPoint>) {
    let name = task.name.clone().unwrap_or_else(|| task.action.clone());
    let short = task.action.rsplit('.').next().unwrap_or(&task.action);
    let hint = |kind, reason: String| Hint {
        task: task.id.clone(),
        name: name.clone(),
        kind,
        reason,
    };
    let sync = |reason: &str| SyncPoint {
        task: task.id.clone(),
        name: name.clone(),
        reason: reason.to_owned(),
    };
    let mut hints = Vec::new();
    let mut syncs = Vec::new();
    if HOST_EXCLUSIVE.contains(&short) {
        hints.push(hint(
            HintKind::HostExclusive,
            format!("{short} holds the package manager's lock on the host"),
        ));
    }
    if let Some(rate) = vars
        .get("rustle_rate_limit")
        .and_then(Value::as_str)
        .and_then(per_second)
    {
        hints.push(hint(
            HintKind::RateLimited { per_second: rate },
            format!("rustle_rate_limit: {rate}/s"),
        ));
    }
    let run_once = truthy(kw.get("run_once"));
    match kw.get("throttle").and_then(Value::as_u64) {
        Some(1) => hints.push(hint(HintKind::GlobalExclusive, "throttle: 1".into())),
        Some(n) if n > 1 => hints.push(hint(
            HintKind::Throttled { limit: n as u32 },
            format!("throttle: {n}"),
        )),
        _ if run_once => hints.push(hint(
            HintKind::GlobalExclusive,
            "run_once: one host runs it for all".into(),
        )),
        _ => {}
    }
    if run_once {
        syncs.push(sync("run_once: every host gets the one result"));
    }
    if short == "fetch" {
        syncs.push(sync("controller: fetch writes the host's file there"));
    }
    if BYPASS_HOST_LOOP.contains(&short) {
        syncs.push(sync("bypasses the host loop: the first host runs it"));
    }
    if short == "group_by" {
        syncs.push(sync("group_by: the next tasks see the groups it makes"));
    }
    if kw.contains_key("delegate_to") {
        syncs.push(sync("delegate_to: runs on another host"));
    }
    if truthy(kw.get("any_errors_fatal")) {
        syncs.push(sync("any_errors_fatal: one failure stops every host"));
    }
    let text = serde_json::to_string(&(&task.args, &task.when, &task.keywords)).unwrap_or_default();
    if text.contains("hostvars") {
        syncs.push(sync("reads other hosts' variables (hostvars)"));
    }
    let own_vars = serde_json::to_string(&(&task.vars, vars)).unwrap_or_default();
    let with_lookup = task
        .keywords
        .get("loop_with")
        .and_then(Value::as_str)
        .is_some_and(|l| rustle_format::keywords::CONTROLLER_LOOKUPS.contains(&l));
    if with_lookup
        || play_lookups
        || rustle_format::keywords::reads_controller(&text)
        || rustle_format::keywords::reads_controller(&own_vars)
    {
        syncs.push(sync(
            "controller: its lookups, filters or tests read the controller",
        ));
    }
    let flush = short == "meta"
        && task.source != Task::IMPLICIT
        && task.args.get("_raw_params").and_then(Value::as_str) == Some("flush_handlers");
    if flush && linear {
        syncs.push(sync("meta: flush_handlers under the linear strategy"));
    }
    (hints, syncs)
}

/// `"5/s"` or `"5"` → 5.0.
fn per_second(s: &str) -> Option<f64> {
    s.trim()
        .trim_end_matches("/s")
        .trim()
        .parse()
        .ok()
        .filter(|r: &f64| *r > 0.0)
}
