//! The order of a run, as Ansible's linear strategy keeps it: plays one
//! after another, each play's `serial` batches one after another, and each
//! batch's steps cut into stretches at the play's sync points. (Under the
//! free strategy results are shown as hosts finish them, not task by task.) Every host
//! of a batch finishes a stretch before any host starts the next, so what
//! hosts share is settled between stretches, by Ansible's rules:
//!
//! - `run_once`: the first live host of the batch runs the task; the
//!   variables and facts it produced go to every live host of the batch
//!   (its notifications do not), and a failure there is fatal to the batch.
//! - an action that bypasses the host loop (`pause`): the first live host
//!   runs it for itself alone, and a failure there is fatal to the batch.
//! - `any_errors_fatal`: a host failing the task stops every host of the
//!   batch (they are not counted as failed) and they sit out later plays.
//! - `max_fail_percentage`: after each task, when the hosts failed so far
//!   exceed that share of the batch, the play and the run stop.
//! - a batch whose hosts all failed or became unreachable ends the run.
//! - `hostvars`: a stretch that reads other hosts' variables gets them.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use rustle_format::keywords::truthy;
use rustle_format::{
    Document, Event, HintKind, HostPlan, HostState, HostStats, PlannedPlay, Play, Secret, Status,
    Stretch, TaskKey, Vars,
};
use serde_json::{Value as Json, json};
use tokio::runtime::Runtime;

use crate::collate::Collator;
use crate::delegate::ExecDelegates;
use crate::inventory::RunInventory;
use crate::run::{self, Driver, Interrupt, Link, Slices};
use crate::show::Show;
use crate::summary::Summary;
use crate::{ExecError, ExecOptions};

/// Steps `from..to` of a play, run as one stretch.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    pub from: u32,
    pub to: u32,
    /// Only the first live host runs it; the others get its outcome.
    pub run_once: bool,
    /// Only the first live host runs it, for itself (an action that
    /// bypasses the host loop, `pause`).
    pub bypass: bool,
    /// A failure here stops every host of the batch.
    pub fatal: bool,
    /// Reads other hosts' variables.
    pub hostvars: bool,
    /// Has `delegate_to`, or writes on the controller (`fetch`): the
    /// engine runs it in exec, which reaches the delegated hosts and the
    /// controller.
    pub delegate: bool,
    /// At most this many hosts run it at once (`throttle`, one for a
    /// global-exclusive task).
    pub limit: Option<usize>,
    /// Hosts start it at most this many times a second.
    pub per_second: Option<f64>,
}

impl Cut {
    fn plain(from: u32, to: u32) -> Cut {
        Cut {
            from,
            to,
            run_once: false,
            bypass: false,
            fatal: false,
            hostvars: false,
            delegate: false,
            limit: None,
            per_second: None,
        }
    }
}

/// Cuts a play's steps (0: facts, `1..=n`: tasks, `n + 1`: handlers) into
/// stretches: each task with a sync point runs alone, and so does every
/// task when the play checks failures after each task.
pub fn cuts(play: &Play, pp: &PlannedPlay) -> Vec<Cut> {
    let every = pp.any_errors_fatal || pp.max_fail_percentage.is_some();
    let mut out = Vec::new();
    let mut from = 0;
    for (k, &i) in pp.tasks.iter().enumerate() {
        let step = k as u32 + 1;
        let task = &play.tasks[i as usize];
        let (mut syncs, mut hints) = (Vec::new(), Vec::new());
        task.visit(&mut |t| {
            syncs.extend(pp.sync_points.iter().filter(|s| s.task == t.id));
            hints.extend(pp.hints.iter().filter(|h| h.task == t.id));
        });
        let (mut limit, mut per_second) = (None::<usize>, None::<f64>);
        for h in &hints {
            match h.kind {
                HintKind::GlobalExclusive => limit = Some(1),
                HintKind::Throttled { limit: n } => {
                    limit = Some(limit.map_or(n as usize, |l| l.min(n as usize)));
                }
                HintKind::RateLimited { per_second: r } => {
                    per_second = Some(per_second.map_or(r, |p| p.min(r)));
                }
                // A host runs its tasks one at a time already.
                HintKind::HostExclusive => {}
            }
        }
        if syncs.is_empty() && !every && limit.is_none() && per_second.is_none() {
            continue;
        }
        if from < step {
            out.push(Cut::plain(from, step));
        }
        let reason = |r: &str| syncs.iter().any(|s| s.reason.starts_with(r));
        out.push(Cut {
            from: step,
            to: step + 1,
            run_once: task.block.is_none() && task.keywords.get("run_once").is_some_and(truthy),
            bypass: reason("bypasses the host loop"),
            fatal: reason("any_errors_fatal")
                || reason("run_once")
                || reason("bypasses the host loop"),
            hostvars: syncs.iter().any(|s| s.reason.contains("hostvars")),
            delegate: reason("delegate_to") || reason("controller:"),
            limit,
            per_second,
        });
        from = step + 1;
    }
    out.push(Cut::plain(from, pp.tasks.len() as u32 + 2));
    out
}

/// What exec knows about a host between stretches.
struct HostRec {
    name: String,
    link: Option<Link>,
    state: HostState,
    /// Why the host could not be reached, once it could not.
    unreachable: Option<String>,
    /// Sent with each stretch: the inventory's plain-text password (kept
    /// out of slices), else the one given to exec.
    become_password: Option<Secret>,
}

impl HostRec {
    fn live(&self) -> bool {
        !self.state.stopped && self.unreachable.is_none()
    }

    /// In Ansible's failed hosts (unreachable ones are counted apart).
    fn failed(&self) -> bool {
        self.state.stopped && self.unreachable.is_none()
    }
}

/// One run of a planned document.
pub struct Conductor<'d, H: Write, E: Write> {
    doc: &'d Document,
    runtime: Runtime,
    slices: Arc<Slices>,
    hosts: Vec<HostRec>,
    show: Show<'d, H>,
    stats: BTreeMap<String, HostStats>,
    events: E,
    /// False once stdout is closed: the run goes on without events.
    events_open: bool,
    /// `--json-summary`: results kept for one document at the end.
    summary: Option<Summary>,
    forks: usize,
    timeout: Duration,
    interrupt: Interrupt,
    /// Sent with every stretch.
    vault_secrets: Vec<rustle_format::VaultSecret>,
    verbosity: u8,
    /// The inventory as `add_host`/`group_by` left it.
    inventory: RunInventory,
    /// Hosts `add_host` added, after the plan's in `hosts`.
    added: Vec<HostPlan>,
    /// Whether each item of a looped `add_host`/`group_by` changed the
    /// inventory, until its task's result.
    looped: HashMap<(String, TaskKey), Vec<bool>>,
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BatchEnd {
    Done,
    /// `max_fail_percentage` was exceeded: the run stops.
    Break,
    /// Ctrl-C.
    Interrupted,
}

/// What woke the stretch's event loop.
enum Next {
    Event(Option<(usize, Box<Event>)>),
    Interrupted,
    Late,
}

/// How long hosts may finish their running task after Ctrl-C before their
/// jobs are aborted.
const GRACE: Duration = Duration::from_secs(10);

impl<'d, H: Write, E: Write> Conductor<'d, H, E> {
    pub fn new(
        doc: &'d Document,
        opts: &ExecOptions,
        events: E,
        show: Show<'d, H>,
    ) -> Result<Self, ExecError> {
        let plan = doc.plan.as_ref().ok_or(ExecError::NoPlan)?;
        let hosts = plan
            .hosts
            .iter()
            .map(|h| HostRec {
                name: h.name.clone(),
                link: Some(Link::Closed(Driver::for_host(doc, &h.name))),
                state: HostState::default(),
                unreachable: None,
                become_password: h.become_password().or_else(|| opts.become_password.clone()),
            })
            .collect();
        let stats = plan
            .hosts
            .iter()
            .map(|h| (h.name.clone(), HostStats::default()))
            .collect();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let interrupt = {
            let _rt = runtime.enter();
            Interrupt::listen()
        };
        Ok(Conductor {
            doc,
            runtime,
            slices: Arc::new(Slices::new(doc.clone())),
            hosts,
            show,
            stats,
            events,
            events_open: true,
            summary: opts.json_summary.then(Summary::default),
            forks: plan.forks as usize,
            timeout: opts.timeout,
            interrupt,
            vault_secrets: opts.vault_secrets.clone(),
            verbosity: opts.verbosity,
            inventory: RunInventory::new(&doc.parsed.inventory),
            added: Vec::new(),
            looped: HashMap::new(),
        })
    }

    /// Runs every play; returns the exit code.
    pub fn run(mut self) -> Result<i32, ExecError> {
        let doc = self.doc;
        let plan = doc.plan.as_ref().ok_or(ExecError::NoPlan)?;
        self.show.start()?;
        'plays: for pp in &plan.plays {
            let play = &doc.parsed.plays[pp.play as usize];
            let picked;
            let pp = if pp.hosts_at_run_time {
                picked = self.pick_hosts(pp)?;
                &picked
            } else {
                pp
            };
            if pp.hosts.is_empty() {
                self.play_start(pp, true)?;
                continue;
            }
            let cuts = cuts(play, pp);
            let serial = pp.batches.len() > 1;
            let mut start = 0;
            for &size in &pp.batches {
                let batch: Vec<usize> = pp.hosts[start..start + size as usize]
                    .iter()
                    .filter_map(|h| self.hosts.iter().position(|r| &r.name == h))
                    .collect();
                start += size as usize;
                self.play_start(pp, false)?;
                let out_before = batch.iter().filter(|&&i| !self.hosts[i].live()).count();
                let names = serial.then(|| pp.hosts[start - size as usize..start].to_vec());
                let end = self.run_batch(pp, &cuts, &batch, names)?;
                let out_after = batch.iter().filter(|&&i| !self.hosts[i].live()).count();
                if end != BatchEnd::Done || out_after - out_before == batch.len() {
                    break 'plays;
                }
            }
        }
        self.finish()
    }

    /// Runs a batch's stretches.
    fn run_batch(
        &mut self,
        pp: &PlannedPlay,
        cuts: &[Cut],
        batch: &[usize],
        names: Option<Vec<String>>,
    ) -> Result<BatchEnd, ExecError> {
        for cut in cuts {
            if self.interrupt.is_set() {
                return Ok(BatchEnd::Interrupted);
            }
            let live: Vec<usize> = batch
                .iter()
                .copied()
                .filter(|&i| self.hosts[i].live())
                .collect();
            let Some(&first) = live.first() else {
                return Ok(BatchEnd::Done);
            };
            let runners = if cut.run_once || cut.bypass {
                &live[..1]
            } else {
                &live[..]
            };
            let before = self.hosts[first].state.clone();
            self.run_cut(pp, cut, runners, names.clone())?;
            if cut.run_once && self.hosts[first].live() {
                let after = self.hosts[first].state.clone();
                for &i in &live[1..] {
                    share(&before, &after, &mut self.hosts[i].state);
                }
            }
            let failed = live.iter().any(|&i| !self.hosts[i].live());
            if cut.fatal && failed {
                for &i in &live {
                    self.hosts[i].state.stopped = true;
                }
            }
            if let Some(pct) = pp.max_fail_percentage {
                let failed = self.hosts.iter().filter(|h| h.failed()).count();
                if failed as f64 / batch.len() as f64 > pct / 100.0 {
                    for &i in &live {
                        self.hosts[i].state.stopped = true;
                    }
                    // Once from the percentage check, once because no host
                    // is left, as ansible-core prints it.
                    self.show.no_more_hosts()?;
                    self.show.no_more_hosts()?;
                    return Ok(BatchEnd::Break);
                }
            }
        }
        if self.interrupt.is_set() {
            return Ok(BatchEnd::Interrupted);
        }
        Ok(BatchEnd::Done)
    }

    /// Runs one stretch on `runners` (indices into `hosts`), showing and
    /// streaming their events in Ansible's order as they arrive.
    fn run_cut(
        &mut self,
        pp: &PlannedPlay,
        cut: &Cut,
        runners: &[usize],
        batch: Option<Vec<String>>,
    ) -> Result<(), ExecError> {
        let hostvars = if cut.hostvars {
            self.hostvars()
        } else {
            Vars::new()
        };
        let first = first_step(self.doc, pp, cut.from);
        let delegates = cut.delegate.then(|| {
            let rt = self.runtime.handle().clone();
            Arc::new(ExecDelegates::new(self.doc, rt, self.timeout))
        });
        let jobs = runners
            .iter()
            .enumerate()
            .map(|(index, &i)| {
                let rec = &mut self.hosts[i];
                run::Job {
                    index,
                    host: rec.name.clone(),
                    link: rec
                        .link
                        .take()
                        .expect("a host's link is back between stretches"),
                    stretch: Stretch {
                        play: pp.play,
                        from: cut.from,
                        to: cut.to,
                        state: std::mem::take(&mut rec.state),
                        batch: batch.clone(),
                        play_hosts: pp.hosts_at_run_time.then(|| pp.hosts.clone()),
                        groups: self
                            .inventory
                            .changed()
                            .then(|| self.inventory.groups().clone()),
                        group_names: self
                            .inventory
                            .changed()
                            .then(|| self.inventory.group_names(&rec.name)),
                        inventory_vars: self
                            .inventory
                            .vars_of(&rec.name)
                            .map(|v| rustle_format::slice_vars(&v)),
                        hostvars: hostvars.clone(),
                        become_password: rec.become_password.clone(),
                        vault_secrets: self.vault_secrets.clone(),
                        verbosity: self.verbosity,
                    },
                    first: first.clone(),
                    slices: self.slices.clone(),
                    interrupt: self.interrupt.clone(),
                    delegates: delegates.clone(),
                }
            })
            .collect();
        // Events in flight are bounded (here and per host in `run`): a host
        // ahead of the display waits, and the collator spills what it must
        // hold, so memory does not grow with hosts x tasks.
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let pace = run::Pace {
            forks: cut.limit.map_or(self.forks, |l| l.min(self.forks)),
            gap: cut.per_second.map(|r| Duration::from_secs_f64(1.0 / r)),
        };
        let handle = self
            .runtime
            .spawn(run::run_all(jobs, pace, self.timeout, tx));
        let mut collator = Collator::new(runners.len());
        let free = pp.strategy == "free";
        let mut deadline = None;
        loop {
            if deadline.is_none() && self.interrupt.is_set() {
                deadline = Some(tokio::time::Instant::now() + GRACE);
            }
            let mut irx = self.interrupt.rx.clone();
            let next = self.runtime.block_on(async {
                tokio::select! {
                    ev = rx.recv() => Next::Event(ev.map(|(i, ev)| (i, Box::new(ev)))),
                    _ = irx.changed(), if deadline.is_none() => Next::Interrupted,
                    () = sleep_until(deadline), if deadline.is_some() => Next::Late,
                }
            });
            match next {
                // The free strategy shows results as hosts finish them.
                Next::Event(Some((_, ev))) if free => self.event(&ev)?,
                Next::Event(Some((i, ev))) => {
                    collator.push(i, *ev).map_err(ExecError::Spill)?;
                    for ev in collator.ready().map_err(ExecError::Spill)? {
                        self.event(&ev)?;
                    }
                }
                Next::Event(None) => break,
                // Ctrl-C: hosts finish their running task, within GRACE.
                Next::Interrupted => {}
                Next::Late => {
                    // Jobs still running past the grace period are dropped
                    // (local runners killed); the run ends here.
                    handle.abort();
                    return Ok(());
                }
            }
        }
        let done = self
            .runtime
            .block_on(handle)
            .expect("the stretch's driver does not panic");
        for d in done {
            let rec = self
                .hosts
                .iter_mut()
                .find(|r| r.name == d.host)
                .expect("a job runs a known host");
            rec.state = d.state;
            rec.link = Some(d.link);
            if d.unreachable.is_some() {
                rec.unreachable = d.unreachable;
            }
        }
        Ok(())
    }

    /// The hosts and batches of a play whose hosts the run decides: its
    /// pattern rendered with the extra and play vars, matched against the
    /// inventory as the run left it, within the limit, in the play's order.
    fn pick_hosts(&mut self, pp: &PlannedPlay) -> Result<PlannedPlay, ExecError> {
        let doc = self.doc;
        let plan = doc.plan.as_ref().ok_or(ExecError::NoPlan)?;
        let play = &doc.parsed.plays[pp.play as usize];
        let fail = |msg: String| ExecError::PlayHosts {
            play: play.name.clone(),
            msg,
        };
        let mut extra = doc.parsed.extra_vars.clone();
        extra.extend(plan.extra_vars.clone());
        let mut magic = Vars::new();
        magic.insert(
            "groups".into(),
            Json::Object(self.inventory.groups().clone()),
        );
        magic.insert("playbook_dir".into(), json!(doc.parsed.playbook_dir));
        let templar = rustle_engine::template::Templar::new(
            rustle_engine::template::environment(),
            vec![
                Arc::new(play.vars.clone()),
                Arc::new(extra),
                Arc::new(magic),
            ],
        );
        let pattern = match templar.render(&json!(play.hosts)) {
            Ok(Json::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            Ok(Json::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(e) => return Err(fail(e.message)),
        };
        let inv = self.inventory.inventory();
        let mut hosts = rustle_select::resolve(inv, &pattern).map_err(|e| fail(e.to_string()))?;
        if hosts.is_empty() {
            self.show.warning(&format!(
                "Could not match supplied host pattern, ignoring: {pattern}"
            ))?;
        }
        if let Some(limit) = &plan.limit {
            let within = rustle_select::resolve(inv, limit).map_err(|e| fail(e.to_string()))?;
            hosts.retain(|h| within.contains(h));
        }
        hosts.retain(|h| self.hosts.iter().any(|r| &r.name == h));
        rustle_select::order_hosts(&mut hosts, play.keywords.get("order"), &play.name)
            .map_err(fail)?;
        let batches =
            rustle_select::batch_sizes(play.keywords.get("serial"), hosts.len()).map_err(fail)?;
        Ok(PlannedPlay {
            hosts,
            batches,
            ..pp.clone()
        })
    }

    /// Applies what an `add_host`/`group_by` result says to the run's
    /// inventory, and says `changed` where it changed it, as ansible-core's
    /// strategy does before the result is shown. Items are applied as
    /// they come; the task's result then gathers what they did.
    fn apply_inventory(&mut self, ev: &Event) -> Option<Event> {
        let (host, key, result) = match ev {
            Event::TaskResult {
                host, key, result, ..
            }
            | Event::ItemResult {
                host, key, result, ..
            } => (host, key, result),
            _ => return None,
        };
        let is_item = matches!(ev, Event::ItemResult { .. });
        let looped = result.get("results").and_then(Json::as_array);
        if !changes_inventory(result) && !looped.is_some_and(|r| r.iter().any(changes_inventory)) {
            return None;
        }
        let mut ev = ev.clone();
        let (status, result) = match &mut ev {
            Event::TaskResult { status, result, .. } | Event::ItemResult { status, result, .. } => {
                (status, result)
            }
            _ => unreachable!("matched above"),
        };
        let changed = if let Some(items) = result.get_mut("results").and_then(Json::as_array_mut) {
            let seen = self
                .looped
                .remove(&(host.clone(), key.clone()))
                .unwrap_or_default();
            let mut any = false;
            for (i, item) in items.iter_mut().enumerate() {
                let c = match seen.get(i) {
                    Some(&c) => c,
                    None => self.apply_one(host, item),
                };
                if let Some(o) = item.as_object_mut() {
                    o.insert("changed".into(), json!(c));
                }
                any |= c;
            }
            any
        } else {
            let c = self.apply_one(host, result);
            if is_item {
                self.looped
                    .entry((host.clone(), key.clone()))
                    .or_default()
                    .push(c);
            }
            c
        };
        if let Some(o) = result.as_object_mut() {
            o.insert("changed".into(), json!(changed));
        }
        if changed && *status == Status::Ok {
            *status = Status::Changed;
        }
        Some(ev)
    }

    /// One `add_host`/`group_by` result, applied; whether it changed the
    /// inventory.
    fn apply_one(&mut self, host: &str, result: &Json) -> bool {
        let texts = |v: Option<&Json>| -> Vec<String> {
            v.and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|g| g.as_str().map(str::to_owned))
                .collect()
        };
        if let Some(group) = result.get("add_group").and_then(Json::as_str) {
            let parents = texts(result.get("parent_groups"));
            return self.inventory.add_group(host, group, &parents);
        }
        let Some(add) = result.get("add_host") else {
            return false;
        };
        let Some(name) = add.get("host_name").and_then(Json::as_str) else {
            return false;
        };
        let groups = texts(add.get("groups"));
        let vars = add
            .get("host_vars")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        let added = self.inventory.add_host(name, &groups, &vars);
        if added.new {
            let hp = self.inventory.host_plan(name);
            self.hosts.push(HostRec {
                name: name.to_owned(),
                link: Some(run::Link::Closed(Driver::for_added(&hp))),
                state: HostState::default(),
                unreachable: None,
                become_password: hp.become_password(),
            });
            self.stats.insert(name.to_owned(), HostStats::default());
            self.slices.set_added(hp.clone());
            self.added.push(hp);
        } else if added.changed
            && let Some(i) = self.added.iter().position(|h| h.name == name)
        {
            // Added earlier in the run, now with other vars or groups.
            let hp = self.inventory.host_plan(name);
            self.slices.set_added(hp.clone());
            self.added[i] = hp;
        }
        added.changed
    }

    fn play_start(&mut self, pp: &PlannedPlay, no_hosts: bool) -> Result<(), ExecError> {
        if let Some(summary) = &mut self.summary {
            summary.play(self.doc, pp);
        }
        Ok(self.show.play(pp, no_hosts)?)
    }

    fn event(&mut self, ev: &Event) -> Result<(), ExecError> {
        if matches!(ev, Event::StretchDone { .. }) {
            return Ok(());
        }
        let applied = self.apply_inventory(ev);
        let ev = applied.as_ref().unwrap_or(ev);
        if let Event::TaskResult { host, .. } = ev
            && let Some(s) = self.stats.get_mut(host)
        {
            s.record(ev);
        }
        self.show.event(ev)?;
        match &mut self.summary {
            Some(summary) => {
                summary.event(self.doc, ev);
                Ok(())
            }
            None => self.write(ev),
        }
    }

    /// Writes one event line; a closed pipe stops the events, not the run.
    fn write(&mut self, ev: &Event) -> Result<(), ExecError> {
        self.write_line(&ev.to_line())
    }

    fn write_line(&mut self, line: &str) -> Result<(), ExecError> {
        if !self.events_open {
            return Ok(());
        }
        let r = writeln!(self.events, "{line}").and_then(|()| self.events.flush());
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.events_open = false;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every host's variables as `hostvars` shows them: inventory vars,
    /// facts (also under their `ansible_` names), registered and set facts.
    fn hostvars(&self) -> Vars {
        let plan = self.doc.plan.as_ref().expect("checked in new");
        let mut out = Vars::new();
        for (hp, rec) in plan.hosts.iter().chain(&self.added).zip(&self.hosts) {
            let mut v = self
                .inventory
                .vars_of(&hp.name)
                .unwrap_or_else(|| hp.vars.clone());
            v.insert("inventory_hostname".into(), json!(hp.name));
            let names = if self.inventory.changed() {
                self.inventory.group_names(&hp.name)
            } else {
                hp.groups.clone()
            };
            v.insert("group_names".into(), json!(names));
            v.extend(rec.state.facts.clone());
            v.insert(
                "ansible_facts".into(),
                Json::Object(rustle_engine::namespaced_facts(&rec.state.facts)),
            );
            v.extend(rec.state.included_vars.clone());
            v.extend(rec.state.vars.clone());
            out.insert(hp.name.clone(), Json::Object(v));
        }
        out
    }

    fn finish(mut self) -> Result<i32, ExecError> {
        // Like Ansible's recap, only hosts that got a counted result.
        self.stats.retain(|_, s| *s != HostStats::default());
        let interrupted = self.interrupt.is_set();
        if interrupted {
            self.show.interrupted()?;
        }
        self.show.finish(&self.stats)?;
        let code = if interrupted {
            99
        } else {
            let failed = |host: &str| self.hosts.iter().any(|r| r.name == host && r.failed());
            crate::exit_code(&self.stats, failed)
        };
        let hosts = std::mem::take(&mut self.hosts);
        let links = hosts.iter().filter_map(|r| r.link.as_ref()).count();
        let mut open = Vec::with_capacity(links);
        for rec in hosts {
            open.extend(rec.link);
            let Some(&stats) = self.stats.get(&rec.name) else {
                continue;
            };
            if self.summary.is_none() {
                self.write(&Event::HostDone {
                    host: rec.name,
                    stats,
                    error: rec.unreachable,
                })?;
            }
        }
        self.runtime
            .block_on(futures_join(open.into_iter().map(Link::close).collect()));
        let stats = std::mem::take(&mut self.stats);
        match self.summary.take() {
            Some(summary) => self.write_line(&summary.render(&stats))?,
            None => self.write(&Event::Stats {
                hosts: stats,
                exit_code: code,
            })?,
        }
        Ok(code)
    }
}

/// Whether a result asks to change the inventory.
fn changes_inventory(result: &Json) -> bool {
    result.get("add_group").is_some() || result.get("add_host").is_some()
}

/// Sleeps until `deadline`, or for ever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Awaits every future (closing links side by side).
async fn futures_join(futs: Vec<impl std::future::Future<Output = ()> + Send + 'static>) {
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    for h in handles {
        let _ = h.await;
    }
}

/// What a `run_once` task produced on the host that ran it (variables and
/// facts new or changed since `before`), given to `other`. Handlers it
/// notified run on that host only, as in ansible-core.
fn share(before: &HostState, after: &HostState, other: &mut HostState) {
    for (k, v) in &after.vars {
        if before.vars.get(k) != Some(v) {
            other.vars.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in &after.included_vars {
        if before.included_vars.get(k) != Some(v) {
            other.included_vars.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in &after.facts {
        if before.facts.get(k) != Some(v) {
            other.facts.insert(k.clone(), v.clone());
        }
    }
}

/// The task a stretch starting at `step` shows a failure at when a host
/// fails before running anything (unreachable, no runner): its first task,
/// or fact gathering.
fn first_step(doc: &Document, pp: &PlannedPlay, step: u32) -> (TaskKey, String) {
    let play = &doc.parsed.plays[pp.play as usize];
    let gathering = (
        TaskKey {
            play: pp.play,
            pos: vec![],
        },
        "Gathering Facts".to_owned(),
    );
    if step == 0 && play.gather_facts {
        return gathering;
    }
    let k = step.saturating_sub(1) as usize;
    match pp.tasks.get(k) {
        Some(&i) => {
            let t = &play.tasks[i as usize];
            (
                TaskKey {
                    play: pp.play,
                    pos: vec![0, i],
                },
                t.name.clone().unwrap_or_else(|| t.action.clone()),
            )
        }
        None => gathering,
    }
}
