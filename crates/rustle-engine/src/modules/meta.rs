//! `meta`: actions on the run itself rather than on the host.

use rustle_format::Vars;
use serde_json::json;

use super::args::Args;
use super::{Effect, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaAction {
    Noop,
    FlushHandlers,
    EndPlay,
    EndHost,
    /// The host's facts forgotten (`clear_facts`).
    ClearFacts,
}

pub struct Meta;

impl Module for Meta {
    fn params(&self) -> &'static [&'static str] {
        &["_raw_params"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let name = args.string(&["_raw_params"])?.unwrap_or_default();
        let (action, msg) = match name.trim() {
            "noop" => (MetaAction::Noop, "noop".to_owned()),
            "flush_handlers" => (
                MetaAction::FlushHandlers,
                format!("triggered running handlers for {}", host(ctx)),
            ),
            "end_play" => (MetaAction::EndPlay, "ending play".to_owned()),
            "clear_facts" => (MetaAction::ClearFacts, "facts cleared".to_owned()),
            known @ ("reset_connection" | "clear_host_errors" | "refresh_inventory"
            | "end_batch" | "end_role") => {
                return Err(ModuleError::new(format!(
                    "meta: {known} is not supported by rustle yet"
                )));
            }
            "end_host" => (
                MetaAction::EndHost,
                format!("ending play for {}", host(ctx)),
            ),
            other => {
                return Err(ModuleError::new(format!(
                    "invalid meta action requested: {other}"
                )));
            }
        };
        Ok(Outcome {
            result: result([("msg", json!(msg)), ("changed", json!(false))]),
            effect: Effect::Meta(action),
        })
    }
}

fn host(ctx: &ModuleCtx) -> String {
    let host = ctx.templar.eval("inventory_hostname").ok();
    host.as_ref()
        .and_then(|h| h.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Ansible's result for a meta task whose `when` is false.
pub fn meta_skipped(action: &str, host: &str) -> Vars {
    let reason = format!("{action} conditional evaluated to False");
    let (msg, reason) = match action {
        "flush_handlers" => (
            action.to_owned(),
            format!("{reason}, not running handlers for {host}"),
        ),
        "end_play" => (action.to_owned(), format!("{reason}, continuing play")),
        "end_host" => (
            format!("end_host conditional evaluated to false, continuing execution for {host}"),
            format!("{reason}, continuing execution for {host}"),
        ),
        _ => (action.to_owned(), reason),
    };
    result([
        ("msg", json!(msg)),
        ("skipped", json!(true)),
        ("skip_reason", json!(reason)),
    ])
}
