//! Turns the ordered event stream into Ansible's default output: play and
//! task banners, result lines, errors and the recap.

use std::collections::BTreeMap;
use std::io::Write;

use rustle_format::{Document, Event, HostStats, PlannedPlay, Status, TaskKey};

use crate::display::Display;

pub(crate) fn is_meta(action: &str) -> bool {
    matches!(
        action,
        "meta" | "ansible.builtin.meta" | "ansible.legacy.meta"
    )
}

/// The strings of an array under `key` in a result.
/// Python's falsiness for a `diff` value.
fn is_empty(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(m) => m.is_empty(),
        serde_json::Value::String(s) => s.is_empty(),
        serde_json::Value::Bool(b) => !b,
        serde_json::Value::Number(_) => false,
    }
}

/// What an include's result says it included.
fn included(result: &serde_json::Value) -> Option<&str> {
    result.get("_rustle_included").and_then(|v| v.as_str())
}

fn strings<'r>(result: &'r serde_json::Value, key: &str) -> impl Iterator<Item = &'r str> {
    result
        .get(key)
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
}

/// Turns the ordered event stream into banners and result lines.
pub struct Show<'d, W: Write> {
    doc: &'d Document,
    display: Display<W>,
    key: Option<TaskKey>,
    /// Hosts that started the task under the current banner: one starting
    /// it again is a new run of it (an included task, per loop item).
    started: Vec<String>,
    /// What includes of the current task included, per host, shown
    /// together once the task's results are in (`for h1, h2`).
    includes: Vec<(String, Option<serde_json::Value>, String)>,
    /// Task starts that came while includes were being collected, shown
    /// after them.
    deferred: Vec<Event>,
}

impl<'d, W: Write> Show<'d, W> {
    pub fn new(doc: &'d Document, display: Display<W>) -> Self {
        Show {
            doc,
            display,
            key: None,
            started: Vec::new(),
            includes: Vec::new(),
            deferred: Vec::new(),
        }
    }

    /// What ansible-playbook says before the first play at `-v` (the config
    /// file) and `-vv` (the playbook banner and its play count).
    pub fn start(&mut self) -> std::io::Result<()> {
        let parsed = &self.doc.parsed;
        let config = match &parsed.config_file {
            Some(path) => format!("Using {path} as config file"),
            None => "No config file found; using defaults".to_owned(),
        };
        self.display.verbose(1, &config)?;
        if self.display.verbosity > 1 {
            let name = std::path::Path::new(&parsed.playbook)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.display.banner(&format!("PLAYBOOK: {name}"))?;
            let count = parsed.plays.len();
            self.display
                .verbose(2, &format!("{count} plays in {}", parsed.playbook))?;
        }
        Ok(())
    }

    /// A play's banner (once per serial batch); a play without hosts
    /// says so, as Ansible does.
    pub fn play(&mut self, pp: &PlannedPlay, no_hosts: bool) -> std::io::Result<()> {
        self.flush_includes()?;
        let name = &self.doc.parsed.plays[pp.play as usize].name;
        self.key = None;
        self.display.banner(&format!("PLAY [{name}]"))?;
        if no_hosts {
            self.display.line("skipping: no hosts matched")?;
        }
        Ok(())
    }

    /// A warning, as Ansible prints one.
    pub fn warning(&mut self, text: &str) -> std::io::Result<()> {
        self.flush_includes()?;
        self.display.warning(text)
    }

    /// Ctrl-C stopped the run.
    pub fn interrupted(&mut self) -> std::io::Result<()> {
        self.display.run_error("User interrupted execution")
    }

    /// Every host of the play has failed or was stopped.
    pub fn no_more_hosts(&mut self) -> std::io::Result<()> {
        self.display.banner("NO MORE HOSTS LEFT")
    }

    fn task_banner(&mut self, key: &TaskKey, name: &str) -> std::io::Result<()> {
        if self.key.as_ref() == Some(key) {
            return Ok(());
        }
        self.key = Some(key.clone());
        self.started.clear();
        let title = if key.in_handler() {
            format!("RUNNING HANDLER [{name}]")
        } else {
            format!("TASK [{name}]")
        };
        self.display.banner(&title)?;
        match self.origin(key) {
            Some((path, line, _)) => self.display.task_path(&path, line),
            None => Ok(()),
        }
    }

    /// Shows what the includes of the task included: one line per file
    /// (and loop item) naming its hosts in inventory order, as Ansible.
    fn flush_includes(&mut self) -> std::io::Result<()> {
        if self.includes.is_empty() {
            return Ok(());
        }
        let includes = std::mem::take(&mut self.includes);
        let order = |host: &str| {
            self.doc
                .plan
                .as_ref()
                .and_then(|p| p.hosts.iter().position(|h| h.name == host))
                .unwrap_or(usize::MAX)
        };
        let mut groups: Vec<(&String, &Option<serde_json::Value>, Vec<&String>)> = Vec::new();
        for (what, label, host) in &includes {
            match groups
                .iter_mut()
                .find(|(w, l, _)| *w == what && *l == label)
            {
                Some((_, _, hosts)) => hosts.push(host),
                None => groups.push((what, label, vec![host])),
            }
        }
        for (what, label, mut hosts) in groups {
            hosts.sort_by_key(|h| order(h));
            let hosts: Vec<&str> = hosts.iter().map(|h| h.as_str()).collect();
            self.display
                .included(&hosts.join(", "), what, label.as_ref())?;
        }
        for ev in std::mem::take(&mut self.deferred) {
            self.event(&ev)?;
        }
        Ok(())
    }

    pub fn event(&mut self, ev: &Event) -> std::io::Result<()> {
        match ev {
            Event::ItemResult {
                host,
                key,
                result,
                label,
                ..
            } if included(result).is_some() => {
                self.task_banner(key, "")?;
                let what = included(result).unwrap_or_default().to_owned();
                self.includes
                    .push((what, Some(label.clone()), host.clone()));
                return Ok(());
            }
            Event::TaskResult {
                host,
                key,
                name,
                result,
                ..
            } if included(result).is_some() => {
                self.task_banner(key, name)?;
                let what = included(result).unwrap_or_default().to_owned();
                self.includes.push((what, None, host.clone()));
                return Ok(());
            }
            Event::TaskStart { .. } if !self.includes.is_empty() => {
                self.deferred.push(ev.clone());
                return Ok(());
            }
            // A looped include's own result: its items said it all.
            Event::TaskResult { result, .. }
                if result
                    .get("results")
                    .and_then(|r| r.as_array())
                    .is_some_and(|r| r.iter().any(|i| included(i).is_some())) =>
            {
                return Ok(());
            }
            // Other results of the include task (a host that skipped it)
            // show as they come; the included lines follow them all.
            Event::ItemResult { key, .. } | Event::TaskResult { key, .. }
                if self.key.as_ref() == Some(key) => {}
            _ => self.flush_includes()?,
        }
        match ev {
            // Ansible announces no banner for the meta tasks it adds itself.
            Event::TaskStart { action, key, .. } if is_meta(action) && self.implicit(key) => Ok(()),
            Event::TaskResult { action, status, .. }
                if is_meta(action) && *status == Status::Ok =>
            {
                Ok(())
            }
            Event::HandlersNotified { host, handlers, .. } => {
                for name in handlers {
                    self.display
                        .verbose(2, &format!("NOTIFIED HANDLER {name} for {host}"))?;
                }
                Ok(())
            }
            Event::TaskStart {
                key,
                name,
                host,
                action,
            } => {
                // ansible-core's linear strategy runs these metas once per
                // host, announcing the task each time.
                if self.started.contains(host) || (is_meta(action) && self.meta_per_host(key)) {
                    self.key = None;
                }
                self.task_banner(key, name)?;
                self.started.push(host.clone());
                Ok(())
            }
            Event::TaskRetry {
                host,
                key,
                name,
                attempts,
                retries,
            } => {
                self.task_banner(key, name)?;
                let left = retries.saturating_sub(*attempts);
                self.display.retry(host, name, left)
            }
            Event::AsyncPoll {
                host,
                key,
                jid,
                started,
                finished,
            } => {
                self.task_banner(key, "")?;
                self.display.async_poll(host, jid, *started, *finished)
            }
            Event::ItemResult {
                host,
                key,
                status,
                label,
                result,
            } => {
                self.task_banner(key, "")?;
                let action = self.action_of(key);
                for line in strings(result, "_rustle_display") {
                    self.display.line(line)?;
                }
                // ansible-core's strategy reports an item it could not
                // include with its error alone.
                if let Some(reason) = include_failure(*status, result) {
                    return self.display.include_error(reason);
                }
                if *status == Status::Failed {
                    self.error_report(key, &action, result)?;
                }
                self.diff(*status, result)?;
                self.display.item(host, &action, *status, label, result)
            }
            Event::TaskResult {
                host,
                key,
                name,
                action,
                status,
                ignored,
                result,
                ..
            } => {
                self.task_banner(key, name)?;
                // ansible-core notes each notification of a changed result
                // (of each run loop item) before the result line.
                let runs = match result.get("results").and_then(|r| r.as_array()) {
                    Some(items)
                        if result
                            .as_object()
                            .is_some_and(rustle_format::is_loop_result) =>
                    {
                        items
                            .iter()
                            .filter(|i| i.get("skipped") != Some(&serde_json::Value::Bool(true)))
                            .count()
                    }
                    _ => 1,
                };
                for _ in 0..runs {
                    for n in strings(result, "_ansible_notify") {
                        let line = format!("Notification for handler {n} has been saved.");
                        self.display.verbose(2, &line)?;
                    }
                }
                // What the controller prints while the action runs
                // (`pause`'s "Pausing for N seconds").
                for line in strings(result, "_rustle_display") {
                    self.display.line(line)?;
                }
                let is_loop = result
                    .as_object()
                    .is_some_and(rustle_format::is_loop_result);
                match include_failure(*status, result) {
                    Some(reason) if !is_loop => self.display.include_error(reason)?,
                    _ if *status == Status::Failed && !is_loop => {
                        self.error_report(key, action, result)?;
                    }
                    _ => {}
                }
                self.diff(*status, result)?;
                if !is_loop || *status == Status::Skipped {
                    self.display.result(host, action, *status, false, result)?;
                }
                if *ignored {
                    self.display.line("...ignoring")?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The `--diff` text of a changed result (or loop item) of a task run
    /// in diff mode, before its result line, as ansible-core's
    /// `v2_on_file_diff`. A loop's own result carries no `diff`.
    fn diff(&mut self, status: Status, result: &serde_json::Value) -> std::io::Result<()> {
        let shown = matches!(status, Status::Ok | Status::Changed)
            && result.get("_ansible_diff") == Some(&serde_json::Value::Bool(true))
            && result.get("changed") == Some(&serde_json::Value::Bool(true));
        match result.get("diff") {
            Some(diff) if shown && !is_empty(diff) => self.display.diff(diff),
            _ => Ok(()),
        }
    }

    /// ansible-core's `[ERROR]` report for a failed result (or loop item).
    /// An include that failed has its own (`include_failure`).
    fn error_report(
        &mut self,
        key: &TaskKey,
        action: &str,
        result: &serde_json::Value,
    ) -> std::io::Result<()> {
        // The error an action reports after replacing its module's message
        // (fetch over slurp): Ansible's report names the module's.
        if let Some(error) = result.get("_rustle_error").and_then(|e| e.as_str()) {
            let origin = self.origin(key);
            let origin = origin.as_ref().map(|(p, l, c)| (p.as_path(), *l, *c));
            return self.display.error(action, error, origin);
        }
        let msg = result
            .get("msg")
            .and_then(|m| m.as_str())
            .unwrap_or_default();
        if let Some(task) = self
            .task(key)
            .filter(|t| t.source == rustle_format::Task::UNKNOWN)
        {
            // The task's data as ansible-core made it.
            let data = serde_json::json!({
                "action": task.action,
                "args": task.args,
                "name": task.name,
                "tags": task.keywords.get("tags"),
            });
            return self.display.error_without_origin(action, msg, &data);
        }
        if let Some(causes) = result.get("_rustle_causes").and_then(|c| c.as_array())
            && let Some((path, line, col)) = self.origin(key)
        {
            // Each cause where the task's YAML has it; without all of
            // them, the report below.
            // A whole file (a template's error) is its path, no line; a
            // cause without a place has no origin.
            type Found = (String, Option<(std::path::PathBuf, usize, usize)>);
            let found: Option<Vec<Found>> = causes
                .iter()
                .map(|c| {
                    let msg = c.get("msg")?.as_str()?.to_owned();
                    let origin = match c.get("at").and_then(|a| a.as_str()) {
                        None => None,
                        Some("file") => Some((c.get("path")?.as_str()?.into(), 0, 0)),
                        Some(_) => {
                            let (l, at) = crate::origins::locate(&path, (line, col), action, c)?;
                            Some((path.clone(), l, at))
                        }
                    };
                    Some((msg, origin))
                })
                .collect();
            if let Some(found) = found {
                let mut parts =
                    vec![("Task failed.".to_owned(), Some((path.as_path(), line, col)))];
                parts.extend(
                    found.iter().map(|(m, o)| {
                        (m.clone(), o.as_ref().map(|(p, l, c)| (p.as_path(), *l, *c)))
                    }),
                );
                return self.display.error_chain(&parts);
            }
        }
        // A module's exception follows its message, as in ansible-core's
        // error summary (`concat_message`: the message's trailing dots and
        // spaces go; a message that already ends with its cause stays).
        let msg = match result.get("exception").and_then(|e| e.as_str()) {
            Some(cause) if msg.ends_with(cause) => msg.to_owned(),
            Some(cause) => format!("{}: {cause}", msg.trim_end_matches(['.', ' '])),
            None => msg.to_owned(),
        };
        // An action plugin's exception (AnsibleActionFail) is reported as
        // the task's own failure, neither "Action" nor "Module failed".
        let msg = if result.get("_ansible_action_fail") == Some(&serde_json::Value::Bool(true)) {
            format!("Task failed: {msg}")
        } else if msg.is_empty() {
            // No message: ansible-core's default for the action's failure
            // (a failed_when, an until that ran out).
            "Task failed: Action failed.".to_owned()
        } else if result.get("failed_when_result") == Some(&serde_json::Value::Bool(true)) {
            // failed_when decided it: the action failed, whatever the module.
            format!("Task failed: Action failed: {msg}")
        } else {
            msg
        };
        let origin = self.origin(key);
        let origin = origin.as_ref().map(|(p, l, c)| (p.as_path(), *l, *c));
        self.display.error(action, &msg, origin)
    }

    /// The action of the task of `key`, as written.
    fn action_of(&self, key: &TaskKey) -> String {
        self.doc
            .parsed
            .plays
            .get(key.play as usize)
            .and_then(|p| p.task_at(&key.pos))
            .map(|t| t.action.clone())
            .unwrap_or_default()
    }

    /// Whether the meta task of `key` is one the linear strategy runs for
    /// each host (the others run once).
    fn meta_per_host(&self, key: &TaskKey) -> bool {
        let meta = self
            .doc
            .parsed
            .plays
            .get(key.play as usize)
            .and_then(|p| p.task_at(&key.pos))
            .and_then(|t| t.args.get("_raw_params"))
            .and_then(|v| v.as_str())
            .map(str::trim);
        matches!(
            meta,
            Some(
                "noop"
                    | "reset_connection"
                    | "end_host"
                    | "role_complete"
                    | "flush_handlers"
                    | "end_role"
            )
        )
    }

    /// The parsed task of `key`.
    fn task(&self, key: &TaskKey) -> Option<&rustle_format::Task> {
        self.doc
            .parsed
            .plays
            .get(key.play as usize)
            .and_then(|p| p.task_at(&key.pos))
    }

    /// Whether the task of `key` is one Ansible adds itself.
    fn implicit(&self, key: &TaskKey) -> bool {
        self.task(key)
            .is_some_and(|t| t.source == rustle_format::Task::IMPLICIT)
    }

    /// Where the task of `key` is written: absolute path, line, column.
    fn origin(&self, key: &TaskKey) -> Option<(std::path::PathBuf, usize, usize)> {
        let play = self.doc.parsed.plays.get(key.play as usize)?;
        // Tasks Ansible adds itself (fact gathering) are the play's.
        let source = match play.task_at(&key.pos) {
            Some(task) if task.source != rustle_format::Task::IMPLICIT => &task.source,
            _ => &play.source,
        };
        let mut parts = source.rsplitn(3, ':');
        let col = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        let file = std::path::Path::new(parts.next()?);
        Some((
            std::path::Path::new(&self.doc.parsed.playbook_dir).join(file),
            line,
            col,
        ))
    }

    pub fn finish(&mut self, stats: &BTreeMap<String, HostStats>) -> std::io::Result<()> {
        self.flush_includes()?;
        self.display.recap(stats)?;
        self.display.flush()
    }
}

/// The `reason` of an include whose file or role was not there (its
/// result has a `reason` and no `msg`): ansible-core's strategy prints it
/// alone, without the task's origin.
fn include_failure(status: Status, result: &serde_json::Value) -> Option<&str> {
    if status != Status::Failed || result.get("msg").is_some() {
        return None;
    }
    result.get("reason").and_then(|r| r.as_str())
}
