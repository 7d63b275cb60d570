//! `dpkg_selections`: a port of ansible-core 2.19's dpkg_selections.py.
//! It reads a package's selection with `dpkg --get-selections <name>` (the
//! second word of its first line; `not present` when dpkg prints nothing,
//! a failure when it finds no such package) and, when it differs from
//! `selection` (install, hold, deinstall or purge) and not in check mode,
//! sets it with `dpkg --set-selections` fed `<name> <selection>`. Both run
//! in the locale `get_best_parsable_locale` picks, as the module sets
//! `LANG`, `LC_ALL`, `LC_MESSAGES`, `LC_CTYPE` and `LANGUAGE`. The result
//! is `changed` with `before` (the old selection) and `after`; there is no
//! `diff`. A dpkg that fails is run_command's `check_rc` failure (`cmd`,
//! `rc`, `stdout`, `stderr`, `msg` the stripped stderr).
//!
//! Left out: run_command's `~` and `$VAR` expansion of the package name.

use serde_json::json;

use super::bin::{Ran, best_parsable_locale, get_bin_path, searched_path};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::util::shell::quote;

pub struct DpkgSelections;

const SELECTIONS: &[&str] = &["install", "hold", "deinstall", "purge"];

impl Module for DpkgSelections {
    fn params(&self) -> &'static [&'static str] {
        &["name", "selection"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        match main(ctx, args) {
            Ok(outcome) => Ok(outcome),
            Err(Stop::Failed(outcome)) => Ok(*outcome),
            Err(Stop::Error(err)) => Err(err),
        }
    }
}

/// How the module stops early: a failure with only a message, or a
/// result with more keys (a failed command).
enum Stop {
    Error(ModuleError),
    Failed(Box<Outcome>),
}

impl From<ModuleError> for Stop {
    fn from(err: ModuleError) -> Stop {
        Stop::Error(err)
    }
}

fn main(ctx: &ModuleCtx, args: &Args) -> Result<Outcome, Stop> {
    let missing: Vec<&str> = ["name", "selection"]
        .into_iter()
        .filter(|k| !args.0.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(ModuleError(format!(
            "missing required arguments: {}",
            missing.join(", ")
        ))
        .into());
    }
    let name = args.required(&["name"])?;
    let selection = args
        .choice("selection", SELECTIONS)?
        .ok_or_else(|| ModuleError::new("missing required arguments: selection"))?;
    let dpkg = get_bin_path(ctx.target, "dpkg", &[]).ok_or_else(|| {
        ModuleError(format!(
            "Failed to find required executable \"dpkg\" in paths: {}",
            searched_path(&[])
        ))
    })?;
    let locale = best_parsable_locale(ctx);
    let env: Vec<(String, String)> = ["LANG", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANGUAGE"]
        .into_iter()
        .map(|k| (k.to_owned(), locale.clone()))
        .collect();

    let argv = vec![dpkg.clone(), "--get-selections".to_owned(), name.clone()];
    let ran = run_checked(ctx, &env, argv, None)?;
    let current = if ran.err.contains("no packages found matching") {
        return Err(ModuleError(format!(
            "Failed to find package '{name}' to perform selection '{selection}'."
        ))
        .into());
    } else if ran.out.is_empty() {
        "not present".to_owned()
    } else {
        match ran.out.split_whitespace().nth(1) {
            Some(word) => word.to_owned(),
            None => {
                return Err(ModuleError::new(
                    "Task failed: Module failed: list index out of range",
                )
                .into());
            }
        }
    };
    let changed = current != selection;
    if changed && !ctx.check {
        let argv = vec![dpkg, "--set-selections".to_owned()];
        let data = format!("{name} {selection}");
        run_checked(ctx, &env, argv, Some(data))?;
    }
    Ok(Outcome::new(result([
        ("changed", json!(changed)),
        ("before", json!(current)),
        ("after", json!(selection)),
    ])))
}

/// `module.run_command(argv, data=..., check_rc=True)`: `data` gets a
/// final newline; a non-zero exit fails the module with the command.
fn run_checked(
    ctx: &ModuleCtx,
    env: &[(String, String)],
    argv: Vec<String>,
    data: Option<String>,
) -> Result<Ran, Stop> {
    let cmd: Vec<String> = argv.iter().map(|a| quote(a)).collect();
    let ran = super::bin::run_command_data(ctx, env, argv, data).map_err(ModuleError)?;
    if ran.rc == 0 {
        return Ok(ran);
    }
    let lines = |text: &str| json!(super::cron::splitlines(text, false));
    Err(Stop::Failed(Box::new(Outcome::new(result([
        ("changed", json!(false)),
        ("failed", json!(true)),
        ("msg", json!(ran.err.trim_end())),
        ("cmd", json!(cmd.join(" "))),
        ("rc", json!(ran.rc)),
        ("stdout", json!(ran.out)),
        ("stderr", json!(ran.err)),
        ("stdout_lines", lines(&ran.out)),
        ("stderr_lines", lines(&ran.err)),
    ])))))
}
