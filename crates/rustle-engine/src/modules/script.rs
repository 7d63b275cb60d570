//! `script`: a port of ansible-core's script action plugin. The script
//! comes from the controller (`files/` or the playbook's directory, as
//! `_find_needle`; in a runner it was embedded by parse), is written to a
//! temporary directory on the host under its own name, made executable,
//! and run as the command line written (its first word replaced by the
//! copy's path) through `/bin/sh -c`, or `executable`, with `chdir`;
//! `creates`/`removes` skip it as the action does. The result is the low
//! level one (rc, stdout, stderr and their lines), always changed.

use serde_json::json;

use super::action::{action_failed, host_temp_dir, not_found_raised};
use super::raw::low_level_execute;
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};

pub struct Script;

impl Module for Script {
    fn params(&self) -> &'static [&'static str] {
        &[
            "_raw_params",
            "chdir",
            "cmd",
            "creates",
            "executable",
            "removes",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let raw = args.string(&["_raw_params"])?;
        let cmd = args.string(&["cmd"])?;
        let line = match (raw, cmd) {
            (Some(_), Some(_)) => {
                return Ok(action_failed(
                    "parameters are mutually exclusive: _raw_params|cmd",
                ));
            }
            (None, None) => {
                return Ok(action_failed(
                    "one of the following is required: _raw_params, cmd",
                ));
            }
            (Some(line), None) | (None, Some(line)) => line,
        };
        let exists = |path: &str| matches!(ctx.target.stat(path, true), Ok(Some(_)));
        if let Some(creates) = args.string(&["creates"])?.filter(|c| !c.is_empty())
            && exists(&creates)
        {
            return Ok(skipped(&format!(
                "{creates} exists, matching creates option"
            )));
        }
        if let Some(removes) = args.string(&["removes"])?.filter(|r| !r.is_empty())
            && !exists(&removes)
        {
            return Ok(skipped(&format!(
                "{removes} does not exist, matching removes option"
            )));
        }
        let chdir = args.string(&["chdir"])?.filter(|c| !c.is_empty());
        if let Some(dir) = &chdir
            && !dir.starts_with('/')
        {
            return Ok(action_failed(&format!(
                "chdir {dir} must be an absolute path for a Unix-aware remote node"
            )));
        }
        let line = line.trim();
        let parts = shlex::split(line)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ModuleError::new(format!("Unable to split command line: {line}")))?;
        let source = &parts[0];
        let bytes = match ctx.files.find(source) {
            Ok((_, bytes)) => bytes,
            Err(_) => return Ok(not_found_raised(ctx, source, "files")),
        };
        if ctx.check {
            let decided = args.get("creates").is_some() || args.get("removes").is_some();
            return Ok(Outcome::new(if decided {
                result([("changed", json!(true))])
            } else {
                result([
                    ("skipped", json!(true)),
                    ("msg", json!("Check mode is not supported for this task.")),
                    ("changed", json!(false)),
                ])
            }));
        }
        let name = source.rsplit('/').next().unwrap_or(source);
        let tmp = host_temp_dir(ctx)?;
        let tmp_src = format!("{tmp}/{name}");
        let ran = ctx
            .target
            .write_file(&tmp_src, &bytes, Some(0o700))
            .map_err(|e| ModuleError::new(format!("Failed to transfer {source} to {tmp_src}: {e}")))
            .and_then(|()| {
                // As the action: every occurrence of the first word.
                let command = line.replace(source.as_str(), &tmp_src);
                let command = match args.string(&["executable"])? {
                    Some(exe) => format!("{exe} {command}"),
                    None => command,
                };
                low_level_execute(ctx, "/bin/sh", &command, chdir.as_deref())
            });
        let _ = ctx.target.remove(&tmp);
        Ok(Outcome::new(ran?))
    }
}

/// AnsibleActionSkip's result, its keys in its order.
fn skipped(msg: &str) -> Outcome {
    Outcome::new(result([
        ("skipped", json!(true)),
        ("msg", json!(msg)),
        ("changed", json!(false)),
    ]))
}
