//! `rustle-exec` runs a planned (or deployed) document across its hosts:
//! through each host's deployed runner, locally or over one multiplexed SSH
//! connection per host, or with the engine in process for a local host. It
//! streams JSON event lines on stdout and Ansible's default output on
//! stderr, in Ansible's linear order, ends with `PLAY RECAP`, and exits
//! the way ansible-playbook does.

mod collate;
mod display;
mod run;
mod ssh_target;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use rustle_format::{Document, Event, HostStats, Status, TaskKey};

pub use collate::Collator;
pub use display::{Display, Palette, python_json};
pub use run::Driver;

#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// `-v` count.
    pub verbosity: u8,
    /// SSH connect timeout.
    pub timeout: Duration,
    pub palette: Palette,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("the document has no plan")]
    NoPlan,
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
}

/// Exit codes as ansible-playbook's.
pub fn exit_code(stats: &BTreeMap<String, HostStats>) -> i32 {
    if stats.values().any(|s| s.unreachable > 0) {
        4
    } else if stats.values().any(|s| s.failures > 0) {
        2
    } else {
        0
    }
}

/// Runs the plan; events go to `events` as JSON lines, the human output to
/// `human`. Returns the exit code.
pub fn execute(
    doc: &Document,
    opts: &ExecOptions,
    mut events: impl Write,
    human: impl Write,
) -> Result<i32, ExecError> {
    let plan = doc.plan.as_ref().ok_or(ExecError::NoPlan)?;
    let hosts: Vec<String> = plan.hosts.iter().map(|h| h.name.clone()).collect();
    let slices = std::sync::Arc::new(run::Slices::new(doc.clone()));
    let jobs: Vec<run::Job> = hosts
        .iter()
        .enumerate()
        .map(|(index, host)| run::Job {
            index,
            host: host.clone(),
            driver: Driver::for_host(doc, host),
            slices: slices.clone(),
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let forks = plan.forks as usize;
    let timeout = opts.timeout;
    let driver = runtime.spawn(run::run_all(jobs, forks, timeout, tx));

    let mut show = Show::new(doc, Display::new(human, opts.verbosity, opts.palette));
    let mut collator = Collator::new(hosts.len());
    let mut stats: BTreeMap<String, HostStats> = hosts
        .iter()
        .map(|h| (h.clone(), HostStats::default()))
        .collect();
    let mut out_ok = true;
    while let Some((i, ev)) = runtime.block_on(rx.recv()) {
        collator.push(i, ev);
        for ev in collator.ready() {
            if let Event::TaskResult { host, .. } = &ev
                && let Some(s) = stats.get_mut(host)
            {
                s.record(&ev);
            }
            show.event(&ev)?;
            if out_ok {
                out_ok = write_event(&mut events, &ev)?;
            }
        }
    }
    let _ = runtime.block_on(driver);
    show.finish(&stats)?;
    let code = exit_code(&stats);
    if out_ok {
        write_event(
            &mut events,
            &Event::Stats {
                hosts: stats,
                exit_code: code,
            },
        )?;
    }
    Ok(code)
}

/// Writes one line; a closed pipe stops the event stream, not the run.
fn write_event(w: &mut impl Write, ev: &Event) -> Result<bool, ExecError> {
    let r = writeln!(w, "{}", ev.to_line()).and_then(|()| w.flush());
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn is_meta(action: &str) -> bool {
    matches!(
        action,
        "meta" | "ansible.builtin.meta" | "ansible.legacy.meta"
    )
}

/// Turns the ordered event stream into banners and result lines.
struct Show<'d, W: Write> {
    doc: &'d Document,
    display: Display<W>,
    /// Plans' plays already announced.
    next_play: usize,
    key: Option<TaskKey>,
}

impl<'d, W: Write> Show<'d, W> {
    fn new(doc: &'d Document, display: Display<W>) -> Self {
        Show {
            doc,
            display,
            next_play: 0,
            key: None,
        }
    }

    /// Announces plays up to and including `play` (an index into parsed
    /// plays); plays without hosts say so, as Ansible does.
    fn plays_until(&mut self, play: Option<u32>) -> std::io::Result<()> {
        let planned = &self.doc.plan.as_ref().expect("checked").plays;
        while let Some(pp) = planned.get(self.next_play) {
            if play.is_some_and(|p| pp.play > p) {
                break;
            }
            self.next_play += 1;
            let name = &self.doc.parsed.plays[pp.play as usize].name;
            self.display.banner(&format!("PLAY [{name}]"))?;
            if pp.hosts.is_empty() {
                self.display.line("skipping: no hosts matched")?;
            }
            if play == Some(pp.play) {
                break;
            }
        }
        Ok(())
    }

    fn task_banner(&mut self, key: &TaskKey, name: &str) -> std::io::Result<()> {
        if self.key.as_ref() == Some(key) {
            return Ok(());
        }
        self.plays_until(Some(key.play))?;
        self.key = Some(key.clone());
        let title = if key.pos.first() == Some(&1) {
            format!("RUNNING HANDLER [{name}]")
        } else {
            format!("TASK [{name}]")
        };
        self.display.banner(&title)
    }

    fn event(&mut self, ev: &Event) -> std::io::Result<()> {
        match ev {
            // Ansible announces no banner for the meta tasks it adds itself.
            Event::TaskStart { action, key, .. } if is_meta(action) && self.implicit(key) => Ok(()),
            Event::TaskResult { action, status, .. }
                if is_meta(action) && *status == Status::Ok =>
            {
                Ok(())
            }
            Event::TaskStart { key, name, .. } => self.task_banner(key, name),
            Event::ItemResult {
                host,
                key,
                status,
                label,
                result,
            } => {
                self.task_banner(key, "")?;
                let action = self.action_of(key);
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
                let is_loop = result.get("results").is_some_and(|r| r.is_array());
                if *status == Status::Failed && !is_loop {
                    let msg = result
                        .get("msg")
                        .and_then(|m| m.as_str())
                        .unwrap_or_default();
                    let origin = self.origin(key);
                    let origin = origin.as_ref().map(|(p, l, c)| (p.as_path(), *l, *c));
                    self.display.error(action, msg, origin)?;
                }
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

    /// Whether the task of `key` is one Ansible adds itself.
    fn implicit(&self, key: &TaskKey) -> bool {
        self.doc
            .parsed
            .plays
            .get(key.play as usize)
            .and_then(|p| p.task_at(&key.pos))
            .is_some_and(|t| t.source == rustle_format::Task::IMPLICIT)
    }

    /// Where the task of `key` is written: absolute path, line, column.
    fn origin(&self, key: &TaskKey) -> Option<(std::path::PathBuf, usize, usize)> {
        let play = self.doc.parsed.plays.get(key.play as usize)?;
        let source = &play.task_at(&key.pos)?.source;
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

    fn finish(&mut self, stats: &BTreeMap<String, HostStats>) -> std::io::Result<()> {
        self.plays_until(None)?;
        self.display.recap(stats)?;
        self.display.flush()
    }
}
