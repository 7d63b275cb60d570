//! `set_fact`: sets host variables at `set_fact` precedence.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::args::Args;
use super::{Effect, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};

pub struct SetFact;

impl Module for SetFact {
    fn params(&self) -> &'static [&'static str] {
        &[]
    }

    fn free_args(&self) -> bool {
        true
    }

    fn run(&self, _ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let facts: Vars = args
            .0
            .iter()
            .filter(|(k, _)| k.as_str() != "cacheable")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if facts.is_empty() {
            return Err(ModuleError::new(
                "No key/value pairs provided, at least one is required for this action to succeed",
            ));
        }
        if let Some(bad) = facts.keys().find(|k| !is_identifier(k)) {
            return Err(ModuleError::new(format!(
                "The variable name '{bad}' is not valid. Variables must start with a letter or \
                 underscore character, and contain only letters, numbers and underscores."
            )));
        }
        Ok(Outcome {
            result: result([
                ("ansible_facts", Json::Object(facts.clone())),
                ("changed", json!(false)),
            ]),
            effect: Effect::SetVars(facts),
        })
    }
}

pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
