//! `setup` / `gather_facts`: gathers facts natively (see [`crate::facts`]).

use serde_json::{Value as Json, json};

use super::args::Args;
use super::{Effect, Module, ModuleCtx, ModuleResult, Outcome, result};
use crate::facts::gather;

pub struct Setup;

impl Module for Setup {
    fn params(&self) -> &'static [&'static str] {
        &["gather_subset", "gather_timeout"]
    }

    fn run(&self, ctx: &ModuleCtx, _args: &Args) -> ModuleResult {
        let mut facts = gather(ctx.target);
        facts.insert("gather_subset".into(), json!(["all"]));
        facts.insert("module_setup".into(), json!(true));
        // The result names facts as `setup` returns them, with the prefix.
        let shown = facts
            .iter()
            .map(|(k, v)| match k.as_str() {
                "gather_subset" | "module_setup" => (k.clone(), v.clone()),
                _ => (crate::facts::fact_var(k), v.clone()),
            })
            .collect();
        Ok(Outcome {
            result: result([
                ("ansible_facts", Json::Object(shown)),
                ("changed", json!(false)),
                // As setup.py: verbose output does not dump the facts.
                ("_ansible_verbose_override", json!(true)),
            ]),
            effect: Effect::Facts(facts),
        })
    }
}
