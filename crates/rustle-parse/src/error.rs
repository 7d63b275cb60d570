//! Parse errors: each names the file, line and column and shows the
//! offending line, the way ansible-playbook does, and maps to its exit code.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::yaml::Mark;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// A file that could not be read (exit code 1, like ansible-playbook).
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad YAML or a bad playbook structure (exit code 4).
    #[error("{0}")]
    Syntax(Located),
    /// A role or imported file that is not there, at the place that names
    /// it (exit code 1, like ansible-playbook).
    #[error("{0}")]
    Missing(Located),
    /// A vault-encrypted file that no vault secret given opens (exit code
    /// 1, like ansible-playbook).
    #[error("{message} on {}", path.display())]
    Vault { path: PathBuf, message: String },
}

impl ParseError {
    /// The exit code ansible-playbook uses for the same problem.
    pub fn exit_code(&self) -> i32 {
        match self {
            ParseError::Read { .. } | ParseError::Missing(_) | ParseError::Vault { .. } => 1,
            ParseError::Syntax(_) => 4,
        }
    }
}

/// A message tied to a place in a file.
#[derive(Debug)]
pub struct Located {
    pub file: PathBuf,
    pub mark: Mark,
    pub msg: String,
    /// The offending line, when the file could be read.
    pub line_text: Option<String>,
}

impl Located {
    pub fn new(file: &Path, text: &str, mark: Mark, msg: impl Into<String>) -> Located {
        let line_text = text
            .lines()
            .nth(mark.line.saturating_sub(1))
            .map(str::to_owned);
        Located {
            file: file.to_owned(),
            mark,
            msg: msg.into(),
            line_text,
        }
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n\nThe error appears to be in '{}': line {}, column {}.",
            self.msg,
            self.file.display(),
            self.mark.line,
            self.mark.col
        )?;
        if let Some(line) = &self.line_text {
            let pad = " ".repeat(self.mark.col.saturating_sub(1));
            write!(
                f,
                "\n\nThe offending line appears to be:\n\n{line}\n{pad}^ here"
            )?;
        }
        Ok(())
    }
}
