//! Merges per-host event streams into the order Ansible's linear strategy
//! shows: every host's result for a task before the next task. Each host's
//! stream is already in order; an event is released once every host still
//! running has shown it is at or past that task. Memory is bounded by how
//! far hosts drift apart, never by the length of the run.

use std::collections::VecDeque;

use rustle_format::{Event, TaskKey};

#[derive(Debug)]
pub struct Collator {
    queues: Vec<VecDeque<Event>>,
    done: Vec<bool>,
}

/// The task an event belongs to; `None` for the end of a host's stream.
pub fn key_of(ev: &Event) -> Option<&TaskKey> {
    match ev {
        Event::TaskStart { key, .. }
        | Event::TaskRetry { key, .. }
        | Event::ItemResult { key, .. }
        | Event::TaskResult { key, .. } => Some(key),
        _ => None,
    }
}

impl Collator {
    pub fn new(hosts: usize) -> Collator {
        Collator {
            queues: vec![VecDeque::new(); hosts],
            done: vec![false; hosts],
        }
    }

    pub fn push(&mut self, host: usize, ev: Event) {
        self.queues[host].push_back(ev);
    }

    /// Events that can be shown now, in display order.
    pub fn ready(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            let waiting =
                (0..self.queues.len()).any(|h| !self.done[h] && self.queues[h].is_empty());
            if waiting {
                return out;
            }
            // The smallest task key at the front of a live stream.
            let min = (0..self.queues.len())
                .filter(|&h| !self.done[h])
                .filter_map(|h| self.queues[h].front().and_then(key_of))
                .min()
                .cloned();
            let mut progressed = false;
            for h in 0..self.queues.len() {
                if self.done[h] {
                    continue;
                }
                while let Some(front) = self.queues[h].front() {
                    match (key_of(front), &min) {
                        (Some(k), Some(m)) if k == m => {}
                        (None, None) => {
                            self.done[h] = true;
                        }
                        _ => break,
                    }
                    out.extend(self.queues[h].pop_front());
                    progressed = true;
                    if self.done[h] {
                        break;
                    }
                }
            }
            if !progressed {
                return out;
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
            c.push(0, e);
        }
        assert_eq!(show(&c.ready()), "");
        c.push(1, start("b", 0));
        c.push(1, result("b", 0));
        assert_eq!(
            show(&c.ready()),
            "start a t0, result a t0, start b t0, result b t0"
        );
        c.push(1, start("b", 1));
        assert_eq!(show(&c.ready()), "start a t1, result a t1, start b t1");
        c.push(1, result("b", 1));
        c.push(1, done("b"));
        assert_eq!(show(&c.ready()), "result b t1, done a, done b");
    }

    #[test]
    fn a_host_that_stops_early_does_not_block_others() {
        let mut c = Collator::new(2);
        c.push(0, done("a"));
        c.push(1, start("b", 0));
        assert_eq!(show(&c.ready()), "start b t0");
    }
}
