//! `include_vars`: loads variables from YAML/JSON files on the controller
//! (embedded in the document by parse) into the host's variables, at
//! include_vars precedence (above task vars, below `set_fact`). One file
//! (`file`, or free form, looked up as `_find_needle` does: a role's
//! `vars/` first) or the files of a directory (`dir`, with
//! `files_matching`, `ignore_files`, `extensions`, `depth`,
//! `ignore_unknown_extensions`); `name` puts them under one variable,
//! `hash_behaviour: merge` merges them into the values already set.
//! Failures have ansible-core's shape: the reason under `message`, with
//! `msg` "Action failed: Unknown error.".

use regex::Regex;
use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::args::Args;
use super::{Effect, Module, ModuleCtx, ModuleResult, Outcome, result};

pub struct IncludeVars;

const DIR_ARGS: &[&str] = &[
    "dir",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
];
const FILE_ARGS: &[&str] = &["file", "_raw_params"];
const ALL_ARGS: &[&str] = &["name", "hash_behaviour"];

/// Why loading failed, as ansible-core's `message`; the files loaded
/// until then stay listed.
struct Failure(String);

/// What has been loaded so far.
#[derive(Default)]
struct Loaded {
    vars: Vars,
    files: Vec<String>,
    /// A file was vault-encrypted: the result is censored (`no_log`).
    encrypted: bool,
}

impl Module for IncludeVars {
    fn params(&self) -> &'static [&'static str] {
        &[]
    }

    fn free_args(&self) -> bool {
        true
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let (mut dirs, mut files) = (0, 0);
        for key in args.0.keys() {
            if DIR_ARGS.contains(&key.as_str()) {
                dirs += 1;
            } else if FILE_ARGS.contains(&key.as_str()) {
                files += 1;
            } else if !ALL_ARGS.contains(&key.as_str()) {
                return Ok(task_failed(&format!(
                    "{key} is not a valid option in include_vars"
                )));
            }
        }
        if dirs > 0 && files > 0 {
            return Ok(task_failed(
                "You are mixing file only and dir only arguments, these are incompatible",
            ));
        }
        let text = |key: &str| match args.get(key) {
            Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Json::String(_)) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let mut loaded = Loaded::default();
        let outcome = match text("dir") {
            Some(dir) => load_dir(ctx, args, &dir, &mut loaded),
            None => {
                let file = text("file")
                    .or_else(|| text("_raw_params").map(|f| f.trim_end_matches('\n').to_owned()))
                    .unwrap_or_default();
                load_one_file(ctx, &file, &mut loaded)
            }
        };
        let mut vars = std::mem::take(&mut loaded.vars);
        if let Some(name) = text("name") {
            vars = Vars::from_iter([(name, Json::Object(vars))]);
        }
        let mut res = result([("changed", json!(false))]);
        if let Err(Failure(message)) = outcome {
            res.insert("failed".into(), json!(true));
            res.insert("message".into(), json!(message));
            res.insert(
                "msg".into(),
                json!("Task failed: Action failed: Unknown error."),
            );
        } else if let Some(how) = text("hash_behaviour").filter(|h| h != "replace") {
            let mut merged = Json::Object(
                vars.keys()
                    .filter_map(|k| Some((k.clone(), ctx.templar.eval(k).ok()?)))
                    .filter(|(_, v)| !v.is_null())
                    .collect(),
            );
            crate::template::merge_json(&mut merged, Json::Object(vars), how == "merge", "replace");
            vars = match merged {
                Json::Object(m) => m,
                _ => Vars::new(),
            };
        }
        res.insert("ansible_included_var_files".into(), json!(loaded.files));
        res.insert("ansible_facts".into(), Json::Object(vars.clone()));
        if loaded.encrypted {
            res.insert("_ansible_no_log".into(), json!(true));
        }
        let effect = if res.contains_key("failed") {
            Effect::None
        } else {
            Effect::IncludeVars(vars)
        };
        Ok(Outcome {
            result: res,
            effect,
        })
    }
}

/// An error ansible-core raises before loading (bad arguments): the
/// task fails with the message itself.
fn task_failed(msg: &str) -> Outcome {
    Outcome::new(result([
        ("changed", json!(false)),
        ("failed", json!(true)),
        ("msg", json!(format!("Task failed: {msg}"))),
    ]))
}

/// The playbook directory, which relative document keys start from.
fn playbook_dir(ctx: &ModuleCtx) -> String {
    match ctx.templar.eval("playbook_dir") {
        Ok(Json::String(dir)) => dir,
        _ => ".".to_owned(),
    }
}

/// The controller path of a document key.
fn absolute(ctx: &ModuleCtx, key: &str) -> String {
    if key.starts_with('/') {
        key.to_owned()
    } else {
        format!("{}/{key}", playbook_dir(ctx))
    }
}

/// The document key of a controller path: relative to the playbook
/// directory when inside it (as parse keys what it embeds).
fn key_of(ctx: &ModuleCtx, path: &str) -> String {
    let dir = playbook_dir(ctx);
    path.strip_prefix(&format!("{dir}/"))
        .map_or_else(|| path.to_owned(), str::to_owned)
}

/// `file` (or the free-form file), found where `_find_needle('vars', ..)`
/// looks: a role's `vars/` and the role, then the playbook's.
fn load_one_file(ctx: &ModuleCtx, file: &str, loaded: &mut Loaded) -> Result<(), Failure> {
    let found = ctx.files.find(file).or_else(|err| {
        // An absolute path under the playbook (`with_first_found` gives
        // those) is embedded under its relative key.
        let key = key_of(ctx, file);
        if key != file {
            ctx.files.find(&key)
        } else {
            Err(err)
        }
    });
    let Ok((key, bytes)) = found else {
        return Err(Failure(super::action::not_found_message(ctx, file, "vars")));
    };
    let path = absolute(ctx, &key);
    let vars = load_file(&path, bytes, loaded)?;
    loaded.files.push(path);
    loaded.vars.extend(vars);
    Ok(())
}

/// A vars file's variables, for a play's templated `vars_files`.
pub(crate) fn vars_from_file(path: &str, bytes: Vec<u8>) -> Result<Vars, String> {
    load_file(path, bytes, &mut Loaded::default()).map_err(|f| f.0)
}

/// A vars file's mapping (empty for an empty file); a vault-encrypted
/// file is decrypted first.
fn load_file(path: &str, bytes: Vec<u8>, loaded: &mut Loaded) -> Result<Vars, Failure> {
    if rustle_vault::is_encrypted(&bytes) {
        loaded.encrypted = true;
    }
    let bytes = crate::vault::open_file(bytes, path).map_err(Failure)?;
    let text = String::from_utf8_lossy(&bytes);
    let node = rustle_yaml::load_one(&text)
        .map_err(|e| Failure(format!("YAML parsing failed: {}", e.msg)))?;
    match node.map(|n| n.to_json()) {
        None | Some(Json::Null) => Ok(Vars::new()),
        Some(Json::Object(vars)) => Ok(vars),
        Some(_) => Err(Failure(format!(
            "{path} must be stored as a dictionary/hash"
        ))),
    }
}

/// The files of `dir`, walked as ansible-core walks them: directories in
/// path order, each one's files in name order, down to `depth`.
fn load_dir(ctx: &ModuleCtx, args: &Args, dir: &str, loaded: &mut Loaded) -> Result<(), Failure> {
    let opt = |key: &str| args.get(key).cloned();
    let depth = match opt("depth") {
        Some(Json::Number(n)) => n.as_u64().unwrap_or(0) as usize,
        Some(Json::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    let regex = |pattern: &str| {
        Regex::new(pattern).map_err(|_| Failure(format!("Invalid regular expression: {pattern}")))
    };
    let matcher = match opt("files_matching") {
        Some(Json::String(p)) if !p.is_empty() => Some(regex(&p)?),
        _ => None,
    };
    let ignore: Vec<Regex> = match opt("ignore_files") {
        Some(Json::String(s)) => s.split_whitespace().map(String::from).collect(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect(),
        Some(Json::Object(_)) => {
            return Err(Failure(format!(
                "{} must be a list",
                json!(opt("ignore_files"))
            )));
        }
        _ => Vec::new(),
    }
    .iter()
    .map(|p| regex(&format!("(?:{p})$")))
    .collect::<Result<_, _>>()?;
    let extensions: Vec<String> = match opt("extensions") {
        // As ansible-core: a string is a list of its characters.
        Some(Json::String(s)) => s.chars().map(String::from).collect(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect(),
        None | Some(Json::Null) => rustle_format::VARS_EXTENSIONS
            .iter()
            .map(|e| (*e).to_owned())
            .collect(),
        Some(_) => {
            return Err(Failure(
                "Invalid type for \"extensions\" option, it must be a list".into(),
            ));
        }
    };
    let unknown_ok = opt("ignore_unknown_extensions").is_some_and(|v| truthy(&v));

    let source = source_dir(ctx, dir);
    let key = key_of(ctx, &source);
    let keys = ctx.files.list(&key);
    if keys.is_empty() {
        let msg = if ctx.files.exact(&key).is_ok() {
            format!("{source} is not a directory")
        } else {
            format!("{source} directory does not exist")
        };
        return Err(Failure(msg));
    }
    // (directory, file name), in the walk's order.
    let mut entries: Vec<(String, String)> = keys
        .iter()
        .filter_map(|k| {
            let rel = k.strip_prefix(&format!("{}/", key.trim_end_matches('/')))?;
            let (sub, name) = rel.rsplit_once('/').unwrap_or(("", rel));
            Some((sub.to_owned(), name.to_owned()))
        })
        .collect();
    entries.sort();
    let valid_ext = |name: &str| {
        let stem = name.trim_start_matches('.');
        stem.rsplit_once('.')
            .is_some_and(|(_, ext)| extensions.iter().any(|e| e == ext))
    };
    let mut current: Option<String> = None;
    let mut dir_vars = Vars::new();
    for (sub, name) in entries {
        let level = if sub.is_empty() {
            1
        } else {
            sub.split('/').count() + 1
        };
        if depth != 0 && level > depth {
            continue;
        }
        if current.as_deref() != Some(sub.as_str()) {
            loaded.vars.extend(std::mem::take(&mut dir_vars));
            current = Some(sub.clone());
        }
        if matcher.as_ref().is_some_and(|m| !m.is_match(&name))
            || ignore.iter().any(|r| r.is_match(&name))
            || (unknown_ok && !valid_ext(&name))
        {
            continue;
        }
        let file_key = if sub.is_empty() {
            format!("{}/{name}", key.trim_end_matches('/'))
        } else {
            format!("{}/{sub}/{name}", key.trim_end_matches('/'))
        };
        let path = absolute(ctx, &file_key);
        if !valid_ext(&name) {
            return Err(Failure(format!(
                "{path} does not have a valid extension: {}",
                extensions.join(", ")
            )));
        }
        let bytes = ctx
            .files
            .exact(&file_key)
            .map_err(|e| Failure(format!("{path}: {e}")))?;
        let vars = load_file(&path, bytes, loaded)?;
        loaded.files.push(path);
        dir_vars.extend(vars);
    }
    loaded.vars.extend(dir_vars);
    Ok(())
}

/// `dir` as ansible-core resolves it (`vars_dir_candidates`): in a role,
/// under its `vars/` (the role itself for a `vars/...` dir that exists);
/// elsewhere beside the task's file. An absolute controller path.
fn source_dir(ctx: &ModuleCtx, dir: &str) -> String {
    let role = match ctx.templar.eval("role_path") {
        Ok(Json::String(role)) => Some(key_of(ctx, &role)),
        _ => None,
    };
    let keys = rustle_format::vars_dir_candidates(dir, role.as_deref(), ctx.task_dir);
    let key = keys
        .iter()
        .find(|k| !ctx.files.list(k).is_empty())
        .unwrap_or(&keys[0]);
    absolute(ctx, key)
}

fn truthy(v: &Json) -> bool {
    rustle_format::keywords::truthy(v)
}
