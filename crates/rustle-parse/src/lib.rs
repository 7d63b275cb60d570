//! `rustle-parse` reads Ansible playbooks and inventories, unchanged, into
//! the `parsed` section of a Rustle document. It loads YAML the way
//! Ansible does (YAML 1.1), normalises every task argument form into
//! `action` + `args`, records the controller files that tasks reference
//! with their sha256, and leaves every `{{ }}` template raw: templates are
//! rendered only at run time. It never touches the network or a target.

mod error;
mod include;
mod inventory;
mod kv;
mod playbook;
pub mod yaml;

use std::path::{Path, PathBuf};

use rustle_format::{Document, Map, Parsed, Value};

pub use error::{Located, ParseError};
pub use kv::{parse_kv, split_args};
pub use playbook::short_action;

/// What to parse: the arguments of `rustle-parse`.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    pub playbook: PathBuf,
    /// `-i` sources, in order.
    pub inventory: Vec<String>,
    /// `-e` values: `k=v` text, JSON/YAML text, or `@file`.
    pub extra_vars: Vec<String>,
    /// `--roles-path` entries, searched before `ANSIBLE_ROLES_PATH`.
    pub roles_path: Vec<PathBuf>,
}

/// Parses a playbook and its inventory into a document at stage `parsed`.
pub fn parse(opts: &ParseOptions) -> Result<Document, ParseError> {
    let playbook_path = absolute(&opts.playbook);
    let playbook_dir = playbook_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let display = opts
        .playbook
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut loader = include::Loader::new(playbook_dir.clone());
    loader
        .roles_path
        .splice(0..0, opts.roles_path.iter().cloned());
    let plays = playbook::load_playbook(&loader, &playbook_path, &opts.playbook, display)?;
    let mut inventory = inventory::load(&opts.inventory, &playbook_dir)?;
    let wants_localhost = plays
        .iter()
        .any(|p| p.hosts.split([',', ':']).any(|h| h.trim() == "localhost"));
    if wants_localhost && inventory.host("localhost").is_none() {
        inventory.hosts.push(inventory::implicit_localhost());
    }
    let files = playbook::referenced_files(&plays, &playbook_dir)?;
    let mut extra_vars = Map::new();
    for e in &opts.extra_vars {
        extra_vars.extend(extra_var(e)?);
    }
    Ok(Document::new(Parsed {
        playbook: opts.playbook.display().to_string(),
        playbook_dir: playbook_dir.display().to_string(),
        plays,
        inventory,
        extra_vars,
        files,
        config_file: include::config_file().map(|p| p.display().to_string()),
    }))
}

/// The playbook's path as Python's `os.path.abspath` gives it (Ansible
/// names files that way): joined to the working directory, with `.` and
/// `..` removed lexically, symlinks kept.
fn absolute(p: &Path) -> PathBuf {
    use std::path::Component;
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// One `-e` value: `@file` (YAML/JSON), a YAML/JSON mapping, or `k=v` pairs.
fn extra_var(text: &str) -> Result<Map<String, Value>, ParseError> {
    if let Some(file) = text.strip_prefix('@') {
        let path = Path::new(file);
        return vars_file(path);
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return yaml_mapping(Path::new("<extra vars>"), text);
    }
    Ok(parse_kv(text, false)
        .into_iter()
        .filter(|(k, _)| k != "_raw_params")
        .collect())
}

/// A YAML/JSON file of variables (vars_files, group_vars, host_vars);
/// an empty file has none.
pub(crate) fn vars_file(path: &Path) -> Result<Map<String, Value>, ParseError> {
    let text = std::fs::read_to_string(path).map_err(|source| ParseError::Read {
        path: path.to_owned(),
        source,
    })?;
    yaml_mapping(path, &text)
}

fn yaml_mapping(path: &Path, text: &str) -> Result<Map<String, Value>, ParseError> {
    let err = |mark, msg: String| ParseError::Syntax(Located::new(path, text, mark, msg));
    match yaml::load_one(text).map_err(|e| err(e.mark, e.msg))? {
        None => Ok(Map::new()),
        Some(node) => match node.to_json() {
            Value::Object(m) => Ok(m),
            _ => Err(err(
                node.mark,
                format!("extra vars must be a mapping, got {}", node.type_name()),
            )),
        },
    }
}
