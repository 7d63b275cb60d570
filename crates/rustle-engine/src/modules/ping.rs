//! `ping`: proves the engine runs on the host; `data` comes back as `ping`
//! (`crash` fails the task, as Ansible's module raises).

use serde_json::json;

use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};

pub struct Ping;

impl Module for Ping {
    fn params(&self) -> &'static [&'static str] {
        &["data"]
    }

    fn run(&self, _ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let data = args.string(&["data"])?.unwrap_or_else(|| "pong".to_owned());
        if data == "crash" {
            return Err(ModuleError::new("boom"));
        }
        Ok(Outcome::new(result([
            ("changed", json!(false)),
            ("ping", json!(data)),
        ])))
    }
}
