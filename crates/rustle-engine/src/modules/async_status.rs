//! `async_status`: what an `async` job has come to (`mode: status`), or
//! its record removed (`mode: cleanup`); see [`crate::jobs`].

use super::{Args, Module, ModuleCtx, ModuleResult, Outcome};

pub struct AsyncStatus;

impl Module for AsyncStatus {
    fn params(&self) -> &'static [&'static str] {
        &["jid", "mode"]
    }

    /// Asked again and again under `until` while the job runs.
    fn polls(&self) -> bool {
        true
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let jid = args.required(&["jid"])?;
        let mode = args.choice("mode", &["status", "cleanup"])?;
        let cleanup = mode.as_deref() == Some("cleanup");
        Ok(Outcome::new(crate::jobs::status(ctx.target, &jid, cleanup)))
    }
}
