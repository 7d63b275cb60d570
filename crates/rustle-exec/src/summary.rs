//! `--json-summary`: the whole run as one JSON document shaped like the
//! `ansible.posix.json` callback's: `plays[]` (one per play and serial
//! batch) with their `tasks[]` and each host's result (plus `action`, and
//! `failed`/`skipped` as that callback adds them), then `stats` for the
//! hosts that got a counted result. It holds every result until the end,
//! which is what the user asked for by choosing it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use rustle_format::{Document, Event, HostStats, PlannedPlay, Status, TaskKey};
use serde_json::{Map, Value as Json, json};

use crate::display::python_json;

#[derive(Default)]
pub struct Summary {
    plays: Vec<Json>,
    /// The key of the task the last entry of the current play is for.
    task: Option<TaskKey>,
}

/// `2024-01-02T03:04:05.123456Z`, as the callback writes times.
fn now() -> String {
    let t = rustle_engine::format_timestamp(SystemTime::now());
    format!("{}Z", t.replacen(' ', "T", 1))
}

impl Summary {
    /// A play starts (once per serial batch, as its banner).
    pub fn play(&mut self, doc: &Document, pp: &PlannedPlay) {
        let name = &doc.parsed.plays[pp.play as usize].name;
        self.plays.push(json!({
            "play": {"name": name, "id": format!("play-{}", pp.play), "duration": {"start": now()}},
            "tasks": [],
        }));
        self.task = None;
    }

    /// Records a task's result for a host.
    pub fn event(&mut self, doc: &Document, ev: &Event) {
        let Event::TaskResult {
            host,
            key,
            name,
            action,
            status,
            result,
            ..
        } = ev
        else {
            return;
        };
        // The callback sees no results of meta tasks that did their job.
        if crate::show::is_meta(action) && *status != Status::Failed {
            return;
        }
        let Some(play) = self.plays.last_mut() else {
            return;
        };
        let end = now();
        play["play"]["duration"]["end"] = json!(end);
        let tasks = play["tasks"].as_array_mut().expect("made as an array");
        if self.task.as_ref() != Some(key) || tasks.is_empty() {
            let id = doc
                .parsed
                .plays
                .get(key.play as usize)
                .and_then(|p| p.task_at(&key.pos))
                .map(|t| t.id.clone())
                .unwrap_or_default();
            tasks.push(json!({
                "task": {"name": name, "id": id, "duration": {"start": end}},
                "hosts": {},
            }));
            self.task = Some(key.clone());
        }
        let entry = tasks.last_mut().expect("pushed above");
        let mut r = match result {
            Json::Object(m) => m.clone(),
            other => Map::from_iter([("result".to_owned(), other.clone())]),
        };
        match status {
            Status::Failed => {
                r.insert("failed".into(), json!(true));
            }
            Status::Skipped => {
                r.insert("skipped".into(), json!(true));
            }
            _ => {}
        }
        r.insert("action".into(), json!(action));
        entry["hosts"][host] = Json::Object(r);
        entry["task"]["duration"]["end"] = json!(end);
    }

    /// The document, as the callback prints it (sorted keys, indent 4).
    pub fn render(self, stats: &BTreeMap<String, HostStats>) -> String {
        let doc = json!({
            "plays": self.plays,
            "stats": stats,
            "custom_stats": {},
            "global_custom_stats": {},
        });
        python_json(&doc, Some(4))
    }
}
