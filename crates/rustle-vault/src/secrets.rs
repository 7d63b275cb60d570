//! Vault passwords, read as ansible-playbook reads them: from
//! `--vault-id [label@]source`, `--vault-password-file FILE` (label
//! `default`), `ANSIBLE_VAULT_PASSWORD_FILE`, and `--ask-vault-pass`, in
//! that order. A password file that is executable is run and its standard
//! output is the password; `prompt` as a source asks on the terminal.
//!
//! With the `cli` feature, [`VaultArgs`] are the command-line flags that
//! `rustle-parse` and `rustle-exec` share.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rustle_format::{Secret, VaultSecret};

/// Environment variable naming a vault password file (as Ansible).
pub const PASSWORD_FILE_ENV: &str = "ANSIBLE_VAULT_PASSWORD_FILE";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("Could not read vault password file '{path}': {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("Problem running vault password script {path} ({source})")]
    Run {
        path: String,
        source: std::io::Error,
    },
    #[error("Vault password script {path} returned non-zero ({status})")]
    Script { path: String, status: String },
    #[error("Invalid vault password was provided from {0}")]
    Empty(String),
    #[error("reading the vault password: {0}")]
    Prompt(std::io::Error),
}

/// A `--vault-id` value: `label@source` or just `source` (label
/// `default`); the source is a file, a script or `prompt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultIdArg {
    pub label: String,
    pub source: String,
}

impl FromStr for VaultIdArg {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.split_once('@') {
            Some((label, source)) => VaultIdArg {
                label: label.to_owned(),
                source: source.to_owned(),
            },
            None => VaultIdArg {
                label: "default".to_owned(),
                source: s.to_owned(),
            },
        })
    }
}

/// Reads a password file: an executable file is run and its standard
/// output (less line ends) is the password, any other file's text less
/// surrounding whitespace is. An empty password is an error.
pub fn read_password_file(path: &Path) -> Result<Secret, SecretsError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| SecretsError::Read {
        path: shown.clone(),
        source,
    })?;
    let password = if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
        let out = std::process::Command::new(path)
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|source| SecretsError::Run {
                path: shown.clone(),
                source,
            })?;
        if !out.status.success() {
            return Err(SecretsError::Script {
                path: shown,
                status: out.status.to_string(),
            });
        }
        String::from_utf8_lossy(&out.stdout)
            .trim_matches(['\r', '\n'])
            .to_owned()
    } else {
        std::fs::read_to_string(path)
            .map_err(|source| SecretsError::Read {
                path: shown.clone(),
                source,
            })?
            .trim()
            .to_owned()
    };
    if password.is_empty() {
        return Err(SecretsError::Empty(format!("file ({shown})")));
    }
    Ok(Secret(password))
}

/// Every vault secret the flags and environment name, in Ansible's order.
/// `prompt` asks for one password given its prompt text.
pub fn collect(
    ids: &[VaultIdArg],
    files: &[PathBuf],
    ask: bool,
    prompt: &mut dyn FnMut(&str) -> std::io::Result<String>,
) -> Result<Vec<VaultSecret>, SecretsError> {
    let mut sources: Vec<VaultIdArg> = ids.to_vec();
    sources.extend(files.iter().map(|f| VaultIdArg {
        label: "default".into(),
        source: f.display().to_string(),
    }));
    if let Some(file) = std::env::var_os(PASSWORD_FILE_ENV).filter(|f| !f.is_empty()) {
        sources.push(VaultIdArg {
            label: "default".into(),
            source: PathBuf::from(file).display().to_string(),
        });
    }
    let mut secrets = Vec::new();
    for id in &sources {
        let password = if id.source == "prompt" {
            ask_one(prompt, &format!("Vault password ({}): ", id.label))?
        } else {
            read_password_file(Path::new(&id.source))?
        };
        secrets.push(VaultSecret {
            label: id.label.clone(),
            password,
        });
    }
    if ask {
        secrets.push(VaultSecret {
            label: "default".into(),
            password: ask_one(prompt, "Vault password: ")?,
        });
    }
    Ok(secrets)
}

fn ask_one(
    prompt: &mut dyn FnMut(&str) -> std::io::Result<String>,
    text: &str,
) -> Result<Secret, SecretsError> {
    let password = prompt(text).map_err(SecretsError::Prompt)?;
    let password = password.trim();
    if password.is_empty() {
        return Err(SecretsError::Empty("the prompt".into()));
    }
    Ok(Secret(password.to_owned()))
}

/// The vault flags of `rustle-parse` and `rustle-exec`, as
/// ansible-playbook spells them.
#[cfg(feature = "cli")]
#[derive(Debug, Clone, Default, clap::Args)]
pub struct VaultArgs {
    /// Ask for the vault password (on the terminal).
    #[arg(short = 'J', long, alias = "ask-vault-password")]
    pub ask_vault_pass: bool,
    /// A vault password file (its output, if executable); repeatable.
    #[arg(
        long = "vault-password-file",
        alias = "vault-pass-file",
        value_name = "FILE"
    )]
    pub vault_password_file: Vec<PathBuf>,
    /// A vault identity, `[label@]FILE` or `[label@]prompt`; repeatable.
    #[arg(long = "vault-id", value_name = "ID")]
    pub vault_id: Vec<VaultIdArg>,
}

#[cfg(feature = "cli")]
impl VaultArgs {
    /// The secrets these flags (and `ANSIBLE_VAULT_PASSWORD_FILE`) name,
    /// asking on the terminal where they say so.
    pub fn secrets(&self) -> Result<Vec<VaultSecret>, SecretsError> {
        collect(
            &self.vault_id,
            &self.vault_password_file,
            self.ask_vault_pass,
            &mut |text| rpassword::prompt_password(text),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_id_forms() {
        assert_eq!(
            "prod@/x/y".parse::<VaultIdArg>().unwrap(),
            VaultIdArg {
                label: "prod".into(),
                source: "/x/y".into()
            }
        );
        assert_eq!("f".parse::<VaultIdArg>().unwrap().label, "default");
    }

    #[test]
    fn files_scripts_and_prompts() {
        let dir = std::env::temp_dir().join(format!("rustle-vault-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("plain");
        std::fs::write(&plain, "  two words \n").unwrap();
        let script = dir.join("script");
        rustle_testkit::write_executable(&script, b"#!/bin/sh\necho ' from script '\n").unwrap();
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").unwrap();

        assert_eq!(read_password_file(&plain).unwrap().0, "two words");
        // A script's output keeps its spaces, less the line end (Ansible).
        assert_eq!(read_password_file(&script).unwrap().0, " from script ");
        let err = read_password_file(&empty).unwrap_err().to_string();
        assert!(
            err.contains("Invalid vault password was provided from file"),
            "{err}"
        );
        let err = read_password_file(&dir.join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Could not read vault password file"), "{err}");

        let ids = vec!["prod@prompt".parse().unwrap()];
        let mut asked = Vec::new();
        let got = collect(&ids, std::slice::from_ref(&plain), true, &mut |p| {
            asked.push(p.to_owned());
            Ok("typed\n".into())
        })
        .unwrap();
        let labels: Vec<(&str, &str)> = got
            .iter()
            .map(|s| (s.label.as_str(), s.password.0.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("prod", "typed"),
                ("default", "two words"),
                ("default", "typed")
            ]
        );
        assert_eq!(asked, ["Vault password (prod): ", "Vault password: "]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
