//! Merges per-host event streams into the order Ansible's linear strategy
//! shows: every host's result for a task before the next task. Each host's
//! stream is already in order; an event is released once every host still
//! running has shown it is at or past that task.
//!
//! Hosts drift apart when forks are fewer than hosts: the first hosts run
//! the whole stretch before the last ones start, and their events wait.
//! Past [`IN_MEMORY`] waiting events, a host's further events go to its own
//! temp file and are read back in order, so memory stays bounded however
//! long the run and however many hosts.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};

use rustle_format::{Event, TaskKey};

/// Waiting events kept in memory, over all hosts.
const IN_MEMORY: usize = 1024;
/// Events read back from a host's file at a time.
const REFILL: usize = 64;

#[derive(Debug)]
pub struct Collator {
    queues: Vec<Queue>,
    done: Vec<bool>,
    /// Events in memory, over all queues.
    held: usize,
}

/// One host's waiting events: some in memory, the later ones maybe on disk.
#[derive(Debug, Default)]
struct Queue {
    mem: VecDeque<Event>,
    disk: Option<Spill>,
}

/// Events written to a temp file, after those in memory.
#[derive(Debug)]
struct Spill {
    writer: BufWriter<File>,
    /// The same file opened again, with its own offset.
    reader: BufReader<File>,
    unread: usize,
    _file: tempfile::NamedTempFile,
}

impl Spill {
    fn new() -> std::io::Result<Spill> {
        let file = tempfile::NamedTempFile::new()?;
        Ok(Spill {
            writer: BufWriter::new(file.reopen()?),
            reader: BufReader::new(file.reopen()?),
            unread: 0,
            _file: file,
        })
    }

    fn write(&mut self, ev: &Event) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.writer, ev)?;
        self.writer.write_all(b"\n")?;
        self.unread += 1;
        Ok(())
    }

    fn read(&mut self, n: usize, into: &mut VecDeque<Event>) -> std::io::Result<()> {
        self.writer.flush()?;
        let mut line = String::new();
        for _ in 0..n.min(self.unread) {
            line.clear();
            self.reader.read_line(&mut line)?;
            into.push_back(serde_json::from_str(&line)?);
            self.unread -= 1;
        }
        Ok(())
    }
}

impl Queue {
    /// The next event, read back from disk when memory has none.
    fn front(&mut self, held: &mut usize) -> std::io::Result<Option<&Event>> {
        if self.mem.is_empty()
            && let Some(disk) = &mut self.disk
        {
            disk.read(REFILL, &mut self.mem)?;
            *held += self.mem.len();
            if disk.unread == 0 {
                self.disk = None;
            }
        }
        Ok(self.mem.front())
    }

    fn pop_front(&mut self, held: &mut usize) -> Option<Event> {
        let ev = self.mem.pop_front();
        if ev.is_some() {
            *held -= 1;
        }
        ev
    }
}

/// The task an event belongs to; `None` for the end of a host's stream.
pub fn key_of(ev: &Event) -> Option<&TaskKey> {
    match ev {
        Event::TaskStart { key, .. }
        | Event::TaskRetry { key, .. }
        | Event::AsyncPoll { key, .. }
        | Event::HandlersNotified { key, .. }
        | Event::ItemResult { key, .. }
        | Event::TaskResult { key, .. } => Some(key),
        _ => None,
    }
}

impl Collator {
    pub fn new(hosts: usize) -> Collator {
        Collator {
            queues: (0..hosts).map(|_| Queue::default()).collect(),
            done: vec![false; hosts],
            held: 0,
        }
    }

    pub fn push(&mut self, host: usize, ev: Event) -> std::io::Result<()> {
        let q = &mut self.queues[host];
        if q.disk.is_none() && self.held < IN_MEMORY {
            q.mem.push_back(ev);
            self.held += 1;
            return Ok(());
        }
        let disk = match &mut q.disk {
            Some(disk) => disk,
            None => q.disk.insert(Spill::new()?),
        };
        disk.write(&ev)
    }

    /// Events waiting, in memory and on disk.
    #[cfg(test)]
    fn waiting(&self) -> (usize, usize) {
        let disk = self
            .queues
            .iter()
            .filter_map(|q| q.disk.as_ref())
            .map(|d| d.unread)
            .sum();
        (self.held, disk)
    }

    /// Events that can be shown now, in display order.
    pub fn ready(&mut self) -> std::io::Result<Vec<Event>> {
        let mut out = Vec::new();
        loop {
            // The smallest task key at the front of a live stream; none
            // while a live stream has nothing to show yet.
            let mut min: Option<Option<TaskKey>> = None;
            for (q, done) in self.queues.iter_mut().zip(&self.done) {
                if *done {
                    continue;
                }
                let Some(front) = q.front(&mut self.held)? else {
                    return Ok(out);
                };
                let key = key_of(front).cloned();
                min = Some(match min {
                    Some(Some(m)) => Some(key.map_or(m.clone(), |k| k.min(m))),
                    _ => key,
                });
            }
            let min = min.flatten();
            let mut progressed = false;
            for h in 0..self.queues.len() {
                if self.done[h] {
                    continue;
                }
                while let Some(front) = self.queues[h].front(&mut self.held)? {
                    match (key_of(front), &min) {
                        (Some(k), Some(m)) if k == m => {}
                        (None, None) => {
                            self.done[h] = true;
                        }
                        _ => break,
                    }
                    out.extend(self.queues[h].pop_front(&mut self.held));
                    progressed = true;
                    if self.done[h] {
                        break;
                    }
                }
            }
            if !progressed {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustle_format::{HostStats, Status};

    fn start(host: &str, pos: u32) -> Event {
        Event::TaskStart {
            host: host.into(),
            key: TaskKey {
                play: 0,
                pos: vec![0, pos],
            },
            name: format!("t{pos}"),
            action: "debug".into(),
        }
    }
    fn result(host: &str, pos: u32) -> Event {
        Event::TaskResult {
            host: host.into(),
            key: TaskKey {
                play: 0,
                pos: vec![0, pos],
            },
            name: format!("t{pos}"),
            action: "debug".into(),
            status: Status::Ok,
            ignored: false,
            rescued: false,
            result: serde_json::json!({}),
        }
    }
    fn done(host: &str) -> Event {
        Event::HostDone {
            host: host.into(),
            stats: HostStats::default(),
            error: None,
        }
    }
    fn show(evs: &[Event]) -> String {
        evs.iter()
            .map(|e| match e {
                Event::TaskStart { host, name, .. } => format!("start {host} {name}"),
                Event::TaskResult { host, name, .. } => format!("result {host} {name}"),
                Event::HostDone { host, .. } => format!("done {host}"),
                _ => "other".into(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn a_fast_host_waits_for_a_slow_one() {
        let mut c = Collator::new(2);
        for e in [
            start("a", 0),
            result("a", 0),
            start("a", 1),
            result("a", 1),
            done("a"),
        ] {
            c.push(0, e).unwrap();
        }
        assert_eq!(show(&c.ready().unwrap()), "");
        c.push(1, start("b", 0)).unwrap();
        c.push(1, result("b", 0)).unwrap();
        assert_eq!(
            show(&c.ready().unwrap()),
            "start a t0, result a t0, start b t0, result b t0"
        );
        c.push(1, start("b", 1)).unwrap();
        assert_eq!(
            show(&c.ready().unwrap()),
            "start a t1, result a t1, start b t1"
        );
        c.push(1, result("b", 1)).unwrap();
        c.push(1, done("b")).unwrap();
        assert_eq!(show(&c.ready().unwrap()), "result b t1, done a, done b");
    }

    /// A host far ahead of the others spills to disk past IN_MEMORY
    /// events, and everything comes back in order.
    #[test]
    fn a_host_far_ahead_spills_and_comes_back_in_order() {
        let n = IN_MEMORY as u32 + 500;
        let mut c = Collator::new(2);
        for pos in 0..n {
            c.push(0, start("a", pos)).unwrap();
            c.push(0, result("a", pos)).unwrap();
        }
        c.push(0, done("a")).unwrap();
        let (mem, disk) = c.waiting();
        assert_eq!(mem, IN_MEMORY);
        assert_eq!(disk, 2 * n as usize + 1 - IN_MEMORY);
        let mut shown = Vec::new();
        for pos in 0..n {
            c.push(1, start("b", pos)).unwrap();
            c.push(1, result("b", pos)).unwrap();
            shown.extend(c.ready().unwrap());
        }
        c.push(1, done("b")).unwrap();
        shown.extend(c.ready().unwrap());
        assert_eq!(shown.len(), 4 * n as usize + 2);
        let expected: Vec<String> = (0..n)
            .flat_map(|p| {
                [
                    format!("start a t{p}"),
                    format!("result a t{p}"),
                    format!("start b t{p}"),
                    format!("result b t{p}"),
                ]
            })
            .chain(["done a".to_owned(), "done b".to_owned()])
            .collect();
        assert_eq!(show(&shown), expected.join(", "));
        assert_eq!(c.waiting(), (0, 0));
    }

    #[test]
    fn a_host_that_stops_early_does_not_block_others() {
        let mut c = Collator::new(2);
        c.push(0, done("a")).unwrap();
        c.push(1, start("b", 0)).unwrap();
        assert_eq!(show(&c.ready().unwrap()), "start b t0");
    }
}
