//! `assert`: every `that` conditional must hold.

use serde_json::{Value as Json, json};

use super::args::Args;
use super::{Module, ModuleCtx, ModuleResult, Outcome, result};

pub struct Assert;

impl Module for Assert {
    fn params(&self) -> &'static [&'static str] {
        &["that", "fail_msg", "msg", "success_msg", "quiet"]
    }

    fn raw_args(&self) -> &'static [&'static str] {
        &["that"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        // `quiet` keeps the result off the output unless it fails.
        let shown = json!(!args.bool("quiet", false)?);
        let conditions = match args.get("that") {
            Some(Json::Array(items)) => items.clone(),
            Some(one) => vec![one.clone()],
            None => return Err(super::ModuleError::new("missing required arguments: that")),
        };
        for cond in &conditions {
            if !ctx.templar.condition(cond)? {
                let msg = args.get("fail_msg").or_else(|| args.get("msg"));
                return Ok(Outcome::new(result([
                    ("_ansible_verbose_always", shown),
                    ("evaluated_to", json!(false)),
                    ("assertion", cond.clone()),
                    (
                        "msg",
                        msg.cloned().unwrap_or_else(|| json!("Assertion failed")),
                    ),
                    ("failed", json!(true)),
                    ("changed", json!(false)),
                ])));
            }
        }
        let msg = args
            .get("success_msg")
            .cloned()
            .unwrap_or_else(|| json!("All assertions passed"));
        Ok(Outcome::new(result([
            ("_ansible_verbose_always", shown),
            ("changed", json!(false)),
            ("msg", msg),
        ])))
    }
}
