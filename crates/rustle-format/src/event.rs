//! Event lines: what runners stream to `rustle-exec` and what `rustle-exec`
//! streams on stdout, one JSON object per line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `v` field of every event line.
pub const EVENT_VERSION: u32 = 1;

/// Orders results of one play the way Ansible's linear strategy shows
/// them: by play, then by position (section, task index, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaskKey {
    pub play: u32,
    pub pos: Vec<u32>,
}

impl TaskKey {
    /// The section of a pair `[ITEM, n]` that follows a looped include's
    /// position: the included tasks of its item `n` (then `[0, i]` as for
    /// any block). Every host's run of an item sorts before any host's run
    /// of the next, as Ansible shows them.
    pub const ITEM: u32 = 3;

    /// The section of a pair `[HANDLER, h]` that follows a
    /// `meta: flush_handlers` task's position: handler `h` of the play run
    /// by that flush, before the tasks after it. (Handlers run at the end
    /// of the play are `[1, h]`.)
    pub const HANDLER: u32 = 4;

    /// The key of handler `h` run by a flush at this key: `[1, h]` for the
    /// play's own flush (this key is `[1]`), else under this key.
    pub fn handler(&self, h: usize) -> TaskKey {
        let pos = if self.pos.first() == Some(&1) {
            vec![1, h as u32]
        } else {
            let mut pos = self.pos.clone();
            pos.extend([TaskKey::HANDLER, h as u32]);
            pos
        };
        TaskKey {
            play: self.play,
            pos,
        }
    }

    /// Whether this is a handler's key (or the key of a task a handler
    /// included).
    pub fn in_handler(&self) -> bool {
        self.pos.first() == Some(&1)
            || self
                .pos
                .get(2..)
                .is_some_and(|pairs| pairs.chunks(2).any(|p| p[0] == TaskKey::HANDLER))
    }

    /// The key of item `n` of the looped include at this key.
    pub fn item(&self, n: usize) -> TaskKey {
        let mut pos = self.pos.clone();
        pos.extend([TaskKey::ITEM, n as u32]);
        TaskKey {
            play: self.play,
            pos,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
}

/// Per-host counts, named as Ansible's json callback names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failures: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// Whether a task's result is a loop's (its `results` are the items'
/// results), not a module's own `results` (dnf's list of messages, maybe
/// empty).
pub fn is_loop_result(result: &serde_json::Map<String, Value>) -> bool {
    match result.get("results") {
        Some(Value::Array(items)) if items.is_empty() => {
            result.get("skipped") == Some(&Value::Bool(true))
        }
        Some(Value::Array(items)) => items.iter().all(Value::is_object),
        _ => false,
    }
}

impl HostStats {
    /// Counts a `TaskResult` the way Ansible's recap does; other events
    /// count nothing. `meta` tasks count only when they fail.
    pub fn record(&mut self, ev: &Event) {
        let Event::TaskResult {
            action,
            status,
            ignored,
            rescued,
            result,
            ..
        } = ev
        else {
            return;
        };
        if *rescued && *status == Status::Failed {
            self.rescued += 1;
            return;
        }
        let meta = matches!(
            action.as_str(),
            "meta" | "ansible.builtin.meta" | "ansible.legacy.meta"
        );
        if meta && *status != Status::Failed {
            return;
        }
        let changed = result.get("changed") == Some(&Value::Bool(true));
        self.count(*status, *ignored, changed);
        // A looped include counts each file it included, as Ansible does:
        // one is the result itself, unless that failed (a file it could
        // not include).
        if let Some(Value::Array(items)) = result.get("results") {
            let included = items
                .iter()
                .filter(|i| i.get("_rustle_included").is_some())
                .count();
            let counted = usize::from(*status != Status::Failed);
            for _ in counted..included {
                self.count(Status::Ok, false, false);
            }
        }
    }

    /// Counts one result: `ok` includes `changed`; an ignored failure
    /// counts as ok and ignored, and as changed when it changed something.
    pub fn count(&mut self, status: Status, ignored: bool, changed: bool) {
        match status {
            Status::Ok => self.ok += 1,
            Status::Changed => {
                self.ok += 1;
                self.changed += 1;
            }
            Status::Failed if ignored => {
                self.ok += 1;
                self.ignored += 1;
                self.changed += u32::from(changed);
            }
            Status::Failed => self.failures += 1,
            Status::Skipped => self.skipped += 1,
            Status::Unreachable => self.unreachable += 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    PlayStart {
        play: u32,
        name: String,
        hosts: Vec<String>,
    },
    TaskStart {
        host: String,
        key: TaskKey,
        name: String,
        action: String,
    },
    /// An attempt of a task with `until`/`retries` failed its condition and
    /// the task runs again (Ansible's `FAILED - RETRYING` line).
    TaskRetry {
        host: String,
        key: TaskKey,
        name: String,
        /// Attempts made so far.
        attempts: u32,
        /// Attempts allowed in all.
        retries: u32,
    },
    /// An `async` task's job was still running when its `poll` interval
    /// came round (Ansible's `ASYNC POLL` line).
    AsyncPoll {
        host: String,
        key: TaskKey,
        jid: String,
        started: bool,
        finished: bool,
    },
    /// A handler flush is about to run these handlers (their names, each
    /// once, in the order ansible-core's `-vv` names them). `key` is the
    /// flush's: its `meta` task, or `[1]` at the end of the play.
    HandlersNotified {
        host: String,
        key: TaskKey,
        handlers: Vec<String>,
    },
    /// One loop item finished.
    ItemResult {
        host: String,
        key: TaskKey,
        status: Status,
        label: Value,
        result: Value,
    },
    /// A task finished on a host; `result` has Ansible's keys.
    TaskResult {
        host: String,
        key: TaskKey,
        name: String,
        action: String,
        status: Status,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ignored: bool,
        /// A failure inside a block that has a `rescue` section: counted
        /// as rescued, not failed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rescued: bool,
        result: Value,
    },
    /// The host's run ended; `error` says why when it ended abnormally.
    HostDone {
        host: String,
        stats: HostStats,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A stretch ended for a host: the state it reached. Runners end a
    /// stretch's stream with it; `rustle-exec` keeps it to itself.
    StretchDone {
        host: String,
        state: crate::stretch::HostState,
    },
    /// The whole run ended (emitted by `rustle-exec` only).
    Stats {
        hosts: BTreeMap<String, HostStats>,
        exit_code: i32,
    },
}

/// One line of the stream: `{"v":1,"event":...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EventLine {
    pub v: u32,
    #[serde(flatten)]
    pub event: Event,
}

impl Event {
    /// The event as one JSON line (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(&EventLine {
            v: EVENT_VERSION,
            event: self.clone(),
        })
        .expect("events always serialise")
    }

    /// Parses one line, checking the event version.
    pub fn from_line(line: &str) -> Result<Event, String> {
        let line: EventLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if line.v != EVENT_VERSION {
            return Err(format!(
                "expected event version {EVENT_VERSION}, found {}",
                line.v
            ));
        }
        Ok(line.event)
    }
}
