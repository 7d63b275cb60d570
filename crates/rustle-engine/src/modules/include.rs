//! `include_tasks` and `include_role` as tasks: parse loaded what they
//! include (the included tasks are the task's block); running one only
//! reports what it included (`_rustle_included`, which exec shows as
//! Ansible's `included: X for host`), after which the engine runs the
//! block. `when` and `loop` apply to the include itself, as in Ansible;
//! `apply` to the included tasks (the engine's `run_include`).
//! An include with a templated name has one block per file or role it
//! may include (`Block::candidate`); the engine passes them as
//! [`CANDIDATES`] and the rendered name picks one here, or fails as
//! Ansible does for a file or role that is not there (a static name parse
//! could not load comes with no candidates).

use serde_json::json;

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};

pub struct Include;

/// The argument the engine adds: what the include names in its report.
pub const LABEL: &str = "_rustle_label";
/// The argument the engine adds for a templated name: what each name that
/// has a candidate reports (`{name: label}`).
pub const CANDIDATES: &str = "_rustle_candidates";

impl Module for Include {
    fn params(&self) -> &'static [&'static str] {
        &[
            "_raw_params",
            "allow_duplicates",
            "apply",
            "defaults_from",
            "file",
            "handlers_from",
            "name",
            "public",
            "rolespec_validate",
            "tasks_from",
            "vars_from",
            CANDIDATES,
            LABEL,
        ]
    }

    fn run(&self, _ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let Some(label) = args.string(&[LABEL])? else {
            return Err(ModuleError::new("an include the engine did not prepare"));
        };
        let label = match args.get(CANDIDATES) {
            None => label,
            Some(candidates) => {
                let name = args
                    .string(&["_raw_params", "file", "name"])?
                    .unwrap_or_default();
                match candidates.get(&name).and_then(|l| l.as_str()) {
                    Some(found) => found.to_owned(),
                    // Ansible's strategy fails the include: a `reason`, no `msg`.
                    None if args.get("name").is_some() => {
                        return Ok(Outcome::new(result([
                            ("changed", json!(false)),
                            ("failed", json!(true)),
                            (
                                "reason",
                                json!(format!(
                                    "the role '{name}' was not found in the roles paths"
                                )),
                            ),
                        ])));
                    }
                    None => {
                        let missing =
                            format!("Could not find or access '{label}' on the Ansible Controller");
                        let reason = format!(
                            "{missing}: Unable to retrieve file contents.\n{missing}.\n\
                             If you are using a module and expect the file to exist on the \
                             remote, see the remote_src option: [Errno 2] No such file or \
                             directory: '{label}'"
                        );
                        return Ok(Outcome::new(result([
                            ("changed", json!(false)),
                            ("failed", json!(true)),
                            ("include", json!(name)),
                            ("reason", json!(reason)),
                        ])));
                    }
                }
            }
        };
        Ok(Outcome::new(result([
            ("_rustle_included", json!(label)),
            ("changed", json!(false)),
        ])))
    }
}
