//! What action plugins share: their own failures, finding a controller
//! file as `_find_needle` reports it, and a temporary directory on the
//! host for what they transfer.

use serde_json::{Value as Json, json};

use super::{ModuleCtx, ModuleError, Outcome, result};
use crate::target::ExecRequest;

/// A result key listing the causes of a failure ansible-core reports as a
/// chain of errors ("Task failed." caused by each in turn): `{"msg",
/// "at"}`, `at` naming where the cause lies for exec to find: `action`,
/// `args` (with `key`), `loop`, `when` (with `cond`) in the task's YAML,
/// or `file` (with `path`) for a whole file; no `at`, no origin.
pub const CAUSES_KEY: &str = "_rustle_causes";

/// An action plugin's own failure (AnsibleActionFail): shown as
/// `Task failed: <msg>`, without the "Module failed" of module failures.
pub(crate) fn action_failed(msg: &str) -> Outcome {
    Outcome::new(result([
        ("changed", Json::Bool(false)),
        ("failed", Json::Bool(true)),
        ("msg", Json::String(msg.to_owned())),
        ("_ansible_action_fail", Json::Bool(true)),
    ]))
}

/// The action's `_find_needle` failure for a controller `src` outside a
/// role: where it looked, as ansible-core lists it.
pub(super) fn not_found(ctx: &ModuleCtx, src: &str, subdir: &str) -> Outcome {
    let msg = format!("Task failed: {}", not_found_message(ctx, src, subdir));
    Outcome::new(result([
        ("changed", json!(false)),
        ("failed", json!(true)),
        ("msg", json!(msg)),
    ]))
}

/// A controller file the action did not find, raised as ansible-core's
/// `AnsibleFileNotFound` (template, script): "Task failed." caused by
/// `_find_needle`'s message, which is also the result's.
pub(super) fn not_found_raised(ctx: &ModuleCtx, src: &str, subdir: &str) -> Outcome {
    let msg = not_found_message(ctx, src, subdir);
    Outcome::new(result([
        ("changed", json!(false)),
        ("failed", json!(true)),
        (CAUSES_KEY, json!([{ "msg": msg }])),
        ("msg", json!(msg)),
    ]))
}

/// `_find_needle`'s message for a controller file it did not find: the
/// places of its search path, each with `subdir/` and without: the role,
/// the task's own directory, then the playbook's (the last two the same
/// for a playbook's own tasks, listed twice as ansible-core does).
pub(super) fn not_found_message(ctx: &ModuleCtx, src: &str, subdir: &str) -> String {
    let places = if src.starts_with('/') {
        vec![src.to_owned()]
    } else {
        let dir = match ctx.templar.eval("playbook_dir") {
            Ok(Json::String(dir)) => dir,
            _ => ".".to_owned(),
        };
        let absolute = |p: &str| match p {
            "" => dir.clone(),
            p if p.starts_with('/') => p.to_owned(),
            p => format!("{dir}/{p}"),
        };
        let bases = ctx
            .files
            .role()
            .map(absolute)
            .into_iter()
            .chain([absolute(ctx.task_dir), dir.clone()]);
        bases
            .flat_map(|base| [format!("{base}/{subdir}/{src}"), format!("{base}/{src}")])
            .collect()
    };
    format!(
        "Could not find or access '{src}'\nSearched in:\n\t{} on the Ansible Controller.\n\
         If you are using a module and expect the file to exist on the remote, see the remote_src option",
        places.join("\n\t")
    )
}

pub(super) fn host_temp_dir(ctx: &ModuleCtx) -> Result<String, ModuleError> {
    let out = ctx
        .target
        .exec(&ExecRequest::new(["mktemp", "-d"]))
        .map_err(|e| ModuleError::new(format!("mktemp: {e}")))?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.rc != 0 || dir.is_empty() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(ModuleError::new(format!(
            "Failed to create a temporary directory on the host: {}",
            err.trim()
        )));
    }
    Ok(dir)
}
