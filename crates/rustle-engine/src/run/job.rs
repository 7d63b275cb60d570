//! A task with `async`: its module started as a job on the host
//! ([`crate::jobs`]), then waited for (`poll` > 0) or left running.

use std::time::{Duration, Instant};

use rustle_format::{Event, Vars};
use serde_json::json;

use super::HostRun;
use super::item::ItemRun;
use super::task::TaskCtx;
use crate::Target;
use crate::jobs::{self, JobSpec};
use crate::modules::{DISPLAY_KEY, Effect, action_failed, result, supports_async};

/// How long past its time limit a job has to say it was killed: its own
/// `Timeout exceeded` is the answer ansible-core's users see.
const GRACE: Duration = Duration::from_secs(2);

impl HostRun<'_> {
    /// Starts the module (`name`, its rendered `args`) as a job on `base`
    /// (as the become user with `become`: the job and its record are that
    /// user's, as in ansible-core);
    /// with `poll`, waits for it as ansible-core does (an `ASYNC POLL`
    /// line each `poll` seconds it runs), takes its result and removes its
    /// record; without, returns the job's id at once.
    pub(super) fn run_async(
        &mut self,
        t: &TaskCtx,
        base: &dyn Target,
        name: &str,
        args: Vars,
        env: Vec<(String, String)>,
        task_dir: &str,
    ) -> ItemRun {
        if !supports_async(name) {
            let refused = action_failed(&format!(
                "This action ({}) does not support async.",
                t.task.action
            ));
            return ItemRun {
                result: refused.result,
                effect: Effect::None,
            };
        }
        let mut spec = JobSpec {
            jid: jobs::new_jid(),
            results_file: String::new(),
            time_limit: t.async_val,
            module: name.to_owned(),
            args,
            check: t.check,
            diff: t.diff,
            env,
            task_dir: task_dir.to_owned(),
            verbosity: self.verbosity,
        };
        let run_as = match &t.run_as {
            Some(b) => match crate::become_user::target(base, b) {
                Ok(target) => Some(target),
                Err(e) => return ItemRun::failed(format!("Task failed: {e}")),
            },
            None => None,
        };
        let host: &dyn Target = match &run_as {
            Some(target) => target,
            None => base,
        };
        match host.start_job(&mut spec) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                return ItemRun::failed(format!("Task failed: {e}"));
            }
            // The job could not start on the host (its record's directory,
            // the become user): a module failure, as ansible-core's
            // async_wrapper reports it.
            Err(e) => {
                return ItemRun {
                    result: result([
                        ("changed", json!(true)),
                        ("failed", json!(true)),
                        ("msg", json!(e.to_string())),
                    ]),
                    effect: Effect::None,
                };
            }
        }
        let jid = spec.jid;
        if t.poll == 0 {
            return ItemRun {
                result: result([
                    ("ansible_job_id", json!(jid)),
                    ("changed", json!(true)),
                    ("failed", json!(false)),
                    ("finished", json!(false)),
                    ("results_file", json!(spec.results_file)),
                    ("started", json!(true)),
                ]),
                effect: Effect::None,
            };
        }
        let (mut result, finished) = self.wait_for_job(t, host, &jid);
        let ok = finished && result.get("failed") != Some(&json!(true));
        let shown = if ok { "OK" } else { "FAILED" };
        if finished {
            // A job killed at its time limit says nothing of changes.
            result.entry("changed").or_insert(json!(false));
            jobs::status(host, &jid, true);
        } else {
            result = failed_wait(t.async_val, result);
        }
        let line = format!("ASYNC {shown} on {}: jid={jid}", self.slice.host);
        result.insert(DISPLAY_KEY.into(), json!([line]));
        ItemRun {
            result,
            effect: Effect::None,
        }
    }

    /// Reads the job's record until it ends or its time is up (with
    /// [`GRACE`]), emitting a poll event each `poll` seconds; the last
    /// record and whether the job ended.
    fn wait_for_job(&mut self, t: &TaskCtx, host: &dyn Target, jid: &str) -> (Vars, bool) {
        let begin = Instant::now();
        let limit = Duration::from_secs(t.async_val);
        let mut polls = 0u32;
        loop {
            let status = jobs::status(host, jid, false);
            let failed = status.get("failed") == Some(&json!(true));
            if status.get("finished") == Some(&json!(true)) || failed {
                return (status, true);
            }
            let elapsed = begin.elapsed();
            if elapsed >= limit + GRACE {
                return (status, false);
            }
            let next = Duration::from_secs(t.poll) * (polls + 1);
            if elapsed >= next && next <= limit {
                polls += 1;
                (self.emit)(Event::AsyncPoll {
                    host: self.slice.host.clone(),
                    key: t.key.clone(),
                    jid: jid.to_owned(),
                    started: status.get("started") == Some(&json!(true)),
                    finished: false,
                });
                continue;
            }
            // Quick looks first: most jobs are short.
            let pause = if elapsed < Duration::from_secs(1) {
                20
            } else {
                200
            };
            std::thread::sleep(Duration::from_millis(pause));
        }
    }
}

/// ansible-core's result when the job's time ran out before it ended.
fn failed_wait(limit: u64, last: Vars) -> Vars {
    result([
        ("failed", json!(true)),
        (
            "msg",
            json!(format!(
                "async task did not complete within the requested time - {limit}s"
            )),
        ),
        ("async_result", serde_json::Value::Object(last)),
    ])
}
