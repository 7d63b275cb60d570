//! `group_by`: puts the host in a group named by `key` (under `parents`,
//! `all` by default), as ansible-core's action plugin: the result says
//! `add_group` and `parent_groups` (spaces made dashes) and `changed:
//! false`; rustle-exec applies it to the run's inventory between
//! stretches (the plan makes the task a sync point) and, like Ansible's
//! strategy, says `changed` when the host joined a group it was not in.

use serde_json::{Value as Json, json};

use super::args::Args;
use super::{Module, ModuleCtx, ModuleResult, Outcome, result};

pub struct GroupBy;

impl Module for GroupBy {
    fn params(&self) -> &'static [&'static str] {
        &["key", "parents"]
    }

    fn run(&self, _ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let Some(key) = args.get("key") else {
            return Ok(Outcome::new(result([
                ("failed", json!(true)),
                (
                    "msg",
                    json!("the 'key' param is required when using group_by"),
                ),
            ])));
        };
        let parents = match args.get("parents") {
            None => vec![json!("all")],
            Some(Json::Array(items)) => items.clone(),
            Some(one) => vec![one.clone()],
        };
        let dashed = |v: &Json| match v {
            Json::String(s) => json!(s.replace(' ', "-")),
            other => json!(other.to_string()),
        };
        Ok(Outcome::new(result([
            ("changed", json!(false)),
            ("add_group", dashed(key)),
            (
                "parent_groups",
                Json::Array(parents.iter().map(dashed).collect()),
            ),
        ])))
    }
}
