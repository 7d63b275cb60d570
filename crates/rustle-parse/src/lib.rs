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
pub use rustle_yaml as yaml;

use std::path::{Path, PathBuf};

use rustle_format::{Document, Map, Parsed, Value, VaultSecret};

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
    /// Vault secrets, to read vault-encrypted variable files.
    pub vault_secrets: Vec<VaultSecret>,
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
    loader.vault_secrets = opts.vault_secrets.clone();
    loader
        .roles_path
        .splice(0..0, opts.roles_path.iter().cloned());
    let plays = playbook::load_playbook(&loader, &playbook_path, &opts.playbook, display)?;
    let mut inventory = inventory::load(&opts.inventory, &playbook_dir, &opts.vault_secrets)?;
    let wants_localhost = plays
        .iter()
        .any(|p| p.hosts.split([',', ':']).any(|h| h.trim() == "localhost"));
    if wants_localhost && inventory.host("localhost").is_none() {
        inventory.hosts.push(inventory::implicit_localhost());
    }
    let files = playbook::referenced_files(&plays, &playbook_dir)?;
    let mut extra_vars = Map::new();
    for e in &opts.extra_vars {
        extra_vars.extend(extra_var(e, &opts.vault_secrets)?);
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
fn extra_var(text: &str, secrets: &[VaultSecret]) -> Result<Map<String, Value>, ParseError> {
    if let Some(file) = text.strip_prefix('@') {
        let path = Path::new(file);
        return vars_file(path, secrets);
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
/// an empty file has none. A vault-encrypted file is decrypted with
/// `secrets` to be read, and its values are encrypted again, leaf by leaf,
/// with the secret that opened it (see [`rustle_format::VAULT_KEY`]), so
/// that no plain text reaches the document.
pub(crate) fn vars_file(
    path: &Path,
    secrets: &[VaultSecret],
) -> Result<Map<String, Value>, ParseError> {
    let text = std::fs::read_to_string(path).map_err(|source| ParseError::Read {
        path: path.to_owned(),
        source,
    })?;
    if !rustle_vault::is_encrypted(text.as_bytes()) {
        return yaml_mapping(path, &text);
    }
    let vault_err = |message: String| ParseError::Vault {
        path: path.to_owned(),
        message,
    };
    let (plain, secret) =
        rustle_vault::decrypt_with(&text, secrets).map_err(|e| vault_err(e.to_string()))?;
    let plain = String::from_utf8(plain)
        .map_err(|_| vault_err("the decrypted vault is not UTF-8 text".into()))?;
    let vars = yaml_mapping(path, &plain).map_err(|e| match e {
        // The offending line is secret: say where, not what.
        ParseError::Syntax(mut located) => {
            located.line_text = None;
            ParseError::Syntax(located)
        }
        other => other,
    })?;
    vars.into_iter()
        .map(|(k, v)| Ok((k, rustle_vault::value::encrypt_leaves(&v, secret)?)))
        .collect::<std::io::Result<_>>()
        .map_err(|e| vault_err(format!("encrypting the values again: {e}")))
}

/// Only variable files may be vault-encrypted here: a vaulted playbook,
/// task file or inventory is refused clearly rather than read as YAML.
pub(crate) fn not_vaulted(path: &Path, text: &str) -> Result<(), ParseError> {
    if rustle_vault::is_encrypted(text.as_bytes()) {
        return Err(ParseError::Vault {
            path: path.to_owned(),
            message: "rustle reads vault-encrypted variable files (vars_files, group_vars, \
                      host_vars, role vars, -e @file) but not encrypted playbooks, task files \
                      or inventories"
                .into(),
        });
    }
    Ok(())
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
