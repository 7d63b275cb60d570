//! `pause`: a port of ansible-core's pause action plugin for a run that
//! cannot prompt. rustle-exec reads the plan on its stdin, so stdin is
//! never a terminal: as ansible-playbook does without one, a pause with
//! `seconds`/`minutes` sleeps (at least a second) and one without them
//! does not wait, with Ansible's warning. The lines Ansible's controller
//! prints while pausing travel in the result as `_rustle_display`, which
//! exec prints before the result line and the engine keeps out of
//! `register`. The action bypasses the host loop: the plan makes it a
//! sync point and exec runs it on the batch's first live host only.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value as Json, json};

use super::action::action_failed;
use super::args::{Args, py_repr, type_name};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::util::time::format_timestamp;

pub struct Pause;

/// The result key whose lines exec prints before the result line.
pub const DISPLAY_KEY: &str = "_rustle_display";

impl Module for Pause {
    fn params(&self) -> &'static [&'static str] {
        &["echo", "minutes", "prompt", "seconds"]
    }

    fn run(&self, _ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        // The action validates its arguments itself: its failures are
        // AnsibleActionFail's.
        Ok(pause(args).unwrap_or_else(|e| action_failed(&e.0)))
    }
}

fn pause(args: &Args) -> Result<Outcome, ModuleError> {
    let echo = args.bool("echo", true)?;
    let minutes = int_callable(args, "minutes")?;
    let seconds = int_callable(args, "seconds")?;
    if minutes.is_some() && seconds.is_some() {
        return Err(ModuleError::new(
            "parameters are mutually exclusive: minutes|seconds",
        ));
    }
    let prompt = args.string(&["prompt"])?.filter(|p| !p.is_empty());
    let echo_prompt = if echo { "" } else { " (output is hidden)" };
    let (wait, unit) = match (minutes, seconds) {
        (Some(m), _) => (Some(m * 60), "minutes"),
        (None, Some(s)) => (Some(s), "seconds"),
        (None, None) => (None, "minutes"),
    };

    let started = Instant::now();
    let start = format_timestamp(SystemTime::now());
    let mut display = Vec::new();
    match wait {
        Some(secs) => {
            let secs = secs.max(1);
            display.push(format!("Pausing for {secs} seconds{echo_prompt}"));
            if prompt.is_some() {
                display
                    .push("(ctrl+C then 'C' = continue early, ctrl+C then 'A' = abort)\r".into());
            }
            std::thread::sleep(Duration::from_secs(secs as u64));
        }
        None => display.push(
            "[WARNING]: Not waiting for response to prompt as stdin is not interactive".into(),
        ),
    }
    let elapsed = started.elapsed().as_secs_f64();
    let shown = if unit == "minutes" {
        elapsed / 60.0
    } else {
        elapsed
    };
    let shown = (shown * 100.0).round() / 100.0;
    let mut r = result([
        ("changed", json!(false)),
        ("rc", json!(0)),
        ("stderr", json!("")),
        // Python's repr of a float: `1.0`, `0.02`.
        ("stdout", json!(format!("Paused for {shown:?} {unit}"))),
        ("start", json!(start)),
        ("stop", json!(format_timestamp(SystemTime::now()))),
        ("delta", json!(elapsed as i64)),
        ("echo", json!(echo)),
        ("user_input", json!("")),
    ]);
    r.insert(DISPLAY_KEY.into(), json!(display));
    Ok(Outcome::new(r))
}

/// The action's `{'type': int}`: Python's `int()` of the value, which
/// truncates a float and parses an integer string.
fn int_callable(args: &Args, key: &str) -> Result<Option<i64>, ModuleError> {
    match args.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => Ok(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
        Some(Json::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| {
            ModuleError::new(format!(
                "argument '{key}' is of type str and we were unable to convert to int: invalid literal for int() with base 10: {}",
                py_repr(s)
            ))
        }),
        Some(other) => Err(ModuleError::new(format!(
            "argument '{key}' is of type {} and we were unable to convert to int",
            type_name(other)
        ))),
    }
}
