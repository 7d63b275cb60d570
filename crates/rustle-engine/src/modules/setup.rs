//! `setup` / `gather_facts`: gathers facts natively (see [`crate::facts`]),
//! keeps those of the collectors `gather_subset` selects and, with
//! `filter`, those whose `ansible_` names match one of its patterns.

use serde_json::{Value as Json, json};

use super::args::{Args, expand_user};
use super::unarchive::fnmatch;
use super::{Effect, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::facts::{Subset, fact_var, gather};

pub struct Setup {
    /// `gather_facts` (the action) marks the facts as gathered
    /// (`_ansible_facts_gathered`); `setup` run as a task does not.
    marks_gathered: bool,
}

pub static SETUP: Setup = Setup {
    marks_gathered: false,
};

pub static GATHER_FACTS: Setup = Setup {
    marks_gathered: true,
};

impl Module for Setup {
    fn params(&self) -> &'static [&'static str] {
        &["gather_subset", "gather_timeout", "filter", "fact_path"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let spec = args
            .list(&["gather_subset"])?
            .unwrap_or_else(|| vec!["all".to_owned()]);
        let subset = Subset::resolve(&spec).map_err(ModuleError)?;
        let filter = args.list(&["filter"])?.unwrap_or_default();
        let fact_path = args
            .string(&["fact_path"])?
            .unwrap_or_else(|| "/etc/ansible/facts.d".to_owned());
        let fact_path = expand_user(&fact_path, || ctx.target.home());
        let mut facts = gather(ctx.target, &fact_path);
        if !self.marks_gathered {
            facts.remove("_ansible_facts_gathered");
        }
        let interfaces = facts.get("interfaces").cloned().unwrap_or_default();
        facts.retain(|key, _| subset.keeps(key, &interfaces));
        facts.insert("gather_subset".into(), json!(spec));
        facts.insert("module_setup".into(), json!(true));
        // The result names facts as `setup` returns them, with the prefix;
        // the engine's own markers (`_ansible_...`) stay out of it.
        let name = |k: &str| match k {
            "gather_subset" | "module_setup" => k.to_owned(),
            _ if k.starts_with('_') => k.to_owned(),
            _ => fact_var(k),
        };
        facts.retain(|key, _| key.starts_with('_') || matches(&name(key), &filter));
        // Facts go by the names setup gives them.
        let facts: rustle_format::Vars = facts.into_iter().map(|(k, v)| (name(&k), v)).collect();
        let shown = facts
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(k, v)| (k.clone(), v.clone()))
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

/// ansible-core's fact filter: no patterns (or `*`) keeps everything; a
/// pattern matches the name, or, unless it names a namespace itself, the
/// name with `ansible_` put before the pattern.
fn matches(name: &str, filter: &[String]) -> bool {
    if filter.is_empty() || filter == ["*"] {
        return true;
    }
    filter.iter().any(|f| {
        f.is_empty()
            || fnmatch(name, f)
            || (!f.starts_with("ansible_")
                && !f.starts_with("facter")
                && !f.starts_with("ohai")
                && fnmatch(name, &format!("ansible_{f}")))
    })
}
