//! `fail`: fails the task with a message.

use serde_json::json;

use super::args::Args;
use super::{Module, ModuleCtx, ModuleResult, Outcome, result};

pub struct Fail;

impl Module for Fail {
    fn params(&self) -> &'static [&'static str] {
        &["msg"]
    }

    fn run(&self, _ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let msg = args
            .get("msg")
            .cloned()
            .unwrap_or_else(|| json!("Failed as requested from task"));
        Ok(Outcome::new(result([
            ("msg", msg),
            ("failed", json!(true)),
            ("changed", json!(false)),
        ])))
    }
}
