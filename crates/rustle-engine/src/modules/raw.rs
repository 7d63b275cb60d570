//! `raw`: the command line as written, through the host's shell
//! (`/bin/sh -c`, or `executable`), with no module machinery: always
//! "changed", failed on a non-zero exit code.

use rustle_format::Vars;
use serde_json::json;

use super::command::lines;
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::target::ExecRequest;

pub struct Raw;

impl Module for Raw {
    fn params(&self) -> &'static [&'static str] {
        &["_raw_params", "executable"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let cmd = args.required(&["_raw_params"])?;
        let shell = args
            .string(&["executable"])?
            .unwrap_or_else(|| "/bin/sh".to_owned());
        if ctx.check {
            // The raw action skips itself in check mode, saying nothing more.
            return Ok(Outcome::new(result([
                ("changed", json!(false)),
                ("skipped", json!(true)),
            ])));
        }
        Ok(Outcome::new(low_level_execute(ctx, &shell, &cmd, None)?))
    }
}

/// ansible-core's `_low_level_execute_command`: `cmd` through `shell -c`
/// (after `cd chdir &&`), in the task's environment; the result has `rc`,
/// `stdout`, `stderr` and their `_lines`, is changed, and fails with
/// "non-zero return code" on a non-zero exit code.
pub(super) fn low_level_execute(
    ctx: &ModuleCtx,
    shell: &str,
    cmd: &str,
    chdir: Option<&str>,
) -> Result<Vars, ModuleError> {
    let cmd = match chdir {
        Some(dir) => format!("cd {} && {cmd}", shlex::try_quote(dir).unwrap_or_default()),
        None => cmd.to_owned(),
    };
    let mut req = ExecRequest::new([shell, "-c", cmd.as_str()]);
    req.env = ctx.env.to_vec();
    let out = ctx
        .target
        .exec(&req)
        .map_err(|e| ModuleError::new(format!("{shell}: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut r = result([
        ("changed", json!(true)),
        ("rc", json!(out.rc)),
        ("stdout", json!(stdout)),
        ("stdout_lines", lines(&stdout)),
        ("stderr", json!(stderr)),
        ("stderr_lines", lines(&stderr)),
    ]);
    if out.rc != 0 {
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!("non-zero return code"));
    }
    Ok(r)
}
