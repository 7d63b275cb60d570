//! `debug`: prints a message (`msg`) or a variable's value (`var`).

use serde_json::{Value as Json, json};

use super::args::Args;
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::template::is_template;

pub struct Debug;

impl Module for Debug {
    fn params(&self) -> &'static [&'static str] {
        &["msg", "var", "verbosity"]
    }

    fn raw_args(&self) -> &'static [&'static str] {
        &["var"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let verbosity = args.int("verbosity")?.unwrap_or(0);
        if verbosity > i64::from(ctx.verbosity) {
            return Ok(Outcome::new(result([
                ("skipped_reason", json!("Verbosity threshold not met.")),
                ("skipped", json!(true)),
                ("failed", json!(false)),
                ("changed", json!(false)),
            ])));
        }
        // A `msg` that renders to null is shown as null, as Ansible's
        // action plugin does; only an absent one says hello.
        let msg = args.0.get("msg");
        let var = args.get("var");
        let mut r = match (msg, var) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::new("'msg' and 'var' are incompatible options"));
            }
            (_, Some(var)) => show_var(ctx, var),
            (msg, None) => result([("msg", msg.cloned().unwrap_or_else(|| json!("Hello world!")))]),
        };
        r.insert("_ansible_verbose_always".into(), json!(true));
        r.insert("changed".into(), json!(false));
        Ok(Outcome::new(r))
    }
}

/// `{var: value}`; a template error is shown as the value, like Ansible 2.19.
fn show_var(ctx: &ModuleCtx, var: &Json) -> rustle_format::Vars {
    let name = var.as_str().map_or_else(|| var.to_string(), str::to_owned);
    let value = if is_template(&name) {
        ctx.templar.render(var)
    } else {
        ctx.templar.eval(&name)
    };
    match value {
        Ok(value) => result([(name.as_str(), value)]),
        Err(err) => {
            let shown = format!("<< error 1 - {} >>", err.message);
            let warning = format!("Encountered 1 template error.\nerror 1 - {}", err.message);
            result([
                (name.as_str(), json!(shown)),
                ("warnings", json!([warning])),
            ])
        }
    }
}
