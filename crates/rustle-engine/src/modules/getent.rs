//! `getent`: a database of the host's name service switch (`passwd`,
//! `group`, `hosts`, `services`...) read with the host's `getent`, set as
//! the fact `getent_<database>`: each entry's first field mapping to the
//! rest (a list of them when the key comes back more than once).

use serde_json::{Value as Json, json};

use super::bin::{get_bin_path, run_command, searched_path};
use super::{Args, Effect, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use rustle_format::Vars;

pub struct Getent;

/// Databases whose fields are separated by colons.
const COLON: &[&str] = &["passwd", "shadow", "group", "gshadow"];

impl Module for Getent {
    fn params(&self) -> &'static [&'static str] {
        &["database", "key", "service", "split", "fail_key"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let database = args.required(&["database"])?;
        let key = args.string(&["key"])?;
        let service = args.string(&["service"])?;
        let split = args
            .string(&["split"])?
            .or_else(|| COLON.contains(&database.as_str()).then(|| ":".to_owned()));
        let fail_key = args.bool("fail_key", true)?;
        let Some(getent) = get_bin_path(ctx.target, "getent", &[]) else {
            return Err(ModuleError(format!(
                "Failed to find required executable \"getent\" in paths: {}",
                searched_path(&[])
            )));
        };
        let mut argv = vec![getent, database.clone()];
        argv.extend(key.clone());
        if let Some(service) = service {
            argv.extend(["-s".to_owned(), service]);
        }
        let ran = run_command(ctx, &[], argv).map_err(ModuleError)?;
        let tree = format!("getent_{database}");
        let failed = |msg: &str| {
            Ok(Outcome::new(result([
                ("changed", json!(false)),
                ("failed", json!(true)),
                ("msg", json!(msg)),
            ])))
        };
        let entries = match ran.rc {
            0 => entries(&ran.out, split.as_deref()),
            1 => return failed("Missing arguments, or database unknown."),
            2 => {
                let msg = "One or more supplied key could not be found in the database.";
                if fail_key {
                    return failed(msg);
                }
                let mut none = Vars::new();
                none.insert(key.unwrap_or_default(), Json::Null);
                return Ok(facts(&tree, none, Some(msg)));
            }
            3 => return failed("Enumeration not supported on this database."),
            _ => return failed("Unexpected failure!"),
        };
        Ok(facts(&tree, entries, None))
    }
}

/// The module's result and the fact it sets.
fn facts(tree: &str, entries: Vars, msg: Option<&str>) -> Outcome {
    let mut fact = Vars::new();
    fact.insert(tree.to_owned(), Json::Object(entries));
    let mut r = result([
        ("ansible_facts", Json::Object(fact.clone())),
        ("changed", json!(false)),
    ]);
    if let Some(msg) = msg {
        r.insert("msg".into(), json!(msg));
    }
    Outcome {
        result: r,
        effect: Effect::Facts(fact),
    }
}

/// getent's lines as getent.py files them: split with `split` (Python's
/// `str.split`: on runs of whitespace without one), the first field
/// naming the rest; a name seen again makes its value a list of them.
fn entries(out: &str, split: Option<&str>) -> Vars {
    let mut map = Vars::new();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for line in super::cron::splitlines(out, false) {
        let fields: Vec<&str> = match split {
            Some(sep) if !sep.is_empty() => line.split(sep).collect(),
            _ => line.split_whitespace().collect(),
        };
        let Some((first, rest)) = fields.split_first() else {
            continue;
        };
        let rest = json!(rest);
        match seen.iter_mut().find(|(k, _)| k == first) {
            Some((_, count)) => {
                let slot = map.entry(first.to_string()).or_insert(Json::Null);
                if *count == 1 {
                    *slot = json!([slot.take()]);
                }
                if let Json::Array(list) = slot {
                    list.push(rest);
                }
                *count += 1;
            }
            None => {
                map.insert((*first).to_owned(), rest);
                seen.push(((*first).to_owned(), 1));
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_entries_as_getent_py() {
        let out = "root:x:0:0:root:/root:/bin/bash\nbin:x:2:2::/bin:/usr/sbin/nologin\n";
        assert_eq!(
            Json::Object(entries(out, Some(":"))),
            json!({"root": ["x", "0", "0", "root", "/root", "/bin/bash"],
                   "bin": ["x", "2", "2", "", "/bin", "/usr/sbin/nologin"]})
        );
        let out = "::1             STREAM localhost\n::1             DGRAM  \n127.0.0.1 STREAM x\n";
        assert_eq!(
            Json::Object(entries(out, None)),
            json!({"::1": [["STREAM", "localhost"], ["DGRAM"]], "127.0.0.1": ["STREAM", "x"]})
        );
    }
}
