//! The document envelope: format name, version, stage, sections; reading
//! with validation and deterministic writing.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::parsed::Parsed;
use crate::plan::Plan;

/// The `format` field of every document.
pub const FORMAT_NAME: &str = "rustle";
/// Bumped on every incompatible change of the document or the slice.
pub const FORMAT_VERSION: u32 = 1;

/// How far down the pipe a document has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Parsed,
    Planned,
    Deployed,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Parsed => "parsed",
            Stage::Planned => "planned",
            Stage::Deployed => "deployed",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Always `"rustle"`.
    pub format: String,
    /// Always `FORMAT_VERSION` for documents this build reads.
    pub version: u32,
    pub stage: Stage,
    pub parsed: Parsed,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// Per host: where its runner is and what it holds.
    pub hosts: BTreeMap<String, DeployedHost>,
    /// Runner-mode hosts deploy could not reach, with why; exec reports
    /// them unreachable without trying them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unreachable: BTreeMap<String, String>,
    /// Runner-mode hosts whose runner could not be placed or verified,
    /// with why; exec reports them failed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DeployedHost {
    /// Target triple the runner was built for.
    pub target: String,
    /// Absolute path of the runner on the host.
    pub path: String,
    /// sha256 of the whole runner file (base binary, payload and trailer).
    pub sha256: String,
    /// sha256 of the host slice embedded in it.
    pub slice_sha256: String,
    /// Whether `--verify` checked the file on the host.
    pub verified: bool,
}

/// Why a document was refused. Every message says what was expected and
/// what was found.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("could not read the document: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed JSON at line {line}, column {column}: {msg}")]
    Json {
        line: usize,
        column: usize,
        msg: String,
    },
    #[error("expected a JSON object at $, found {found}")]
    NotAnObject { found: &'static str },
    #[error("$.format: expected \"{FORMAT_NAME}\", found {found}")]
    Format { found: String },
    #[error(
        "$.version: expected format version {expected}, found {found} (this is rustle format version {expected})"
    )]
    Version { expected: u32, found: String },
    #[error("$.stage: expected a document at stage {expected}, found {found}")]
    Stage { expected: String, found: String },
    #[error("{path}: {msg}")]
    Field { path: String, msg: String },
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "nothing (the field is missing)".to_owned(),
        Some(v) => v.to_string(),
    }
}

impl Document {
    /// A new document at stage `parsed`.
    pub fn new(parsed: Parsed) -> Document {
        Document {
            format: FORMAT_NAME.to_owned(),
            version: FORMAT_VERSION,
            stage: Stage::Parsed,
            parsed,
            plan: None,
            deployment: None,
        }
    }

    /// Reads a document and checks, in this order, that it is JSON, that
    /// its format and version are ours, that its stage is one of
    /// `accepted`, and then every field (errors carry the JSON path).
    pub fn read(mut r: impl Read, accepted: &[Stage]) -> Result<Document, FormatError> {
        let mut buf = Vec::new();
        r.read_to_end(&mut buf)?;
        Document::from_slice(&buf, accepted)
    }

    pub fn from_slice(bytes: &[u8], accepted: &[Stage]) -> Result<Document, FormatError> {
        // The usual case goes straight into the types; a document with
        // anything wrong goes the slow way below (through a `Value`), which
        // says precisely what.
        if let Ok(doc) = serde_json::from_slice::<Document>(bytes)
            && doc.format == FORMAT_NAME
            && doc.version == FORMAT_VERSION
            && accepted.contains(&doc.stage)
            && doc.check_sections().is_ok()
        {
            return Ok(doc);
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| FormatError::Json {
            line: e.line(),
            column: e.column(),
            msg: strip_position(&e.to_string()),
        })?;
        let Value::Object(obj) = &value else {
            return Err(FormatError::NotAnObject {
                found: json_kind(&value),
            });
        };
        if obj.get("format").and_then(Value::as_str) != Some(FORMAT_NAME) {
            return Err(FormatError::Format {
                found: show(obj.get("format")),
            });
        }
        if obj.get("version").and_then(Value::as_u64) != Some(u64::from(FORMAT_VERSION)) {
            return Err(FormatError::Version {
                expected: FORMAT_VERSION,
                found: show(obj.get("version")),
            });
        }
        let stage = obj
            .get("stage")
            .and_then(|s| serde_json::from_value::<Stage>(s.clone()).ok());
        if !stage.is_some_and(|s| accepted.contains(&s)) {
            let expected: Vec<&str> = accepted.iter().map(|s| s.as_str()).collect();
            return Err(FormatError::Stage {
                expected: expected.join(" or "),
                found: show(obj.get("stage")),
            });
        }
        let doc: Document = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            FormatError::Field {
                path: if path == "." {
                    "$".to_owned()
                } else {
                    format!("$.{path}")
                },
                msg: e.into_inner().to_string(),
            }
        })?;
        doc.check_sections()?;
        Ok(doc)
    }

    /// The sections a stage promises are there.
    fn check_sections(&self) -> Result<(), FormatError> {
        let missing = |path: &str| FormatError::Field {
            path: path.to_owned(),
            msg: format!("missing, but the document is at stage {}", self.stage),
        };
        if self.stage >= Stage::Planned && self.plan.is_none() {
            return Err(missing("$.plan"));
        }
        if self.stage >= Stage::Deployed && self.deployment.is_none() {
            return Err(missing("$.deployment"));
        }
        if let Some(plan) = &self.plan {
            for (i, p) in plan.plays.iter().enumerate() {
                let Some(play) = self.parsed.plays.get(p.play as usize) else {
                    return Err(FormatError::Field {
                        path: format!("$.plan.plays[{i}].play"),
                        msg: format!(
                            "expected an index below {}, found {}",
                            self.parsed.plays.len(),
                            p.play
                        ),
                    });
                };
                if let Some(&t) = p.tasks.iter().find(|&&t| t as usize >= play.tasks.len()) {
                    return Err(FormatError::Field {
                        path: format!("$.plan.plays[{i}].tasks"),
                        msg: format!(
                            "expected task indices below {}, found {t}",
                            play.tasks.len()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Writes the document and a newline; compact unless `pretty`.
    /// Writes the document on stdout; on a terminal, with every secret
    /// variable's value (see [`SECRET_VARS`]) shown as `********`, since
    /// there it is read by people rather than the next stage.
    pub fn write_stdout(&self, pretty: bool) -> std::io::Result<()> {
        let stdout = std::io::stdout();
        if !std::io::IsTerminal::is_terminal(&stdout) {
            return self.write(std::io::BufWriter::new(stdout.lock()), pretty);
        }
        let mut value = serde_json::to_value(self)?;
        redact(&mut value);
        let mut w = stdout.lock();
        serde_json::to_writer_pretty(&mut w, &value)?;
        w.write_all(b"\n")?;
        w.flush()
    }

    pub fn write(&self, mut w: impl Write, pretty: bool) -> std::io::Result<()> {
        if pretty {
            serde_json::to_writer_pretty(&mut w, self)?;
        } else {
            serde_json::to_writer(&mut w, self)?;
        }
        w.write_all(b"\n")?;
        w.flush()
    }
}

/// serde_json appends " at line L column C"; we report those separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(stage: &str, version: &str) -> String {
        format!(
            r#"{{"format":"rustle","version":{version},"stage":"{stage}","parsed":{{"playbook":"p.yml","playbook_dir":"/x","plays":[],"inventory":{{"hosts":[],"groups":[]}}}}}}"#
        )
    }

    #[test]
    fn reads_a_minimal_document() {
        let doc = Document::from_slice(minimal("parsed", "1").as_bytes(), &[Stage::Parsed]);
        assert_eq!(doc.unwrap().stage, Stage::Parsed);
    }

    #[test]
    fn errors_name_expected_and_found() {
        let cases = [
            (minimal("parsed", "2"), &[Stage::Parsed][..]),
            (minimal("parsed", "\"1\""), &[Stage::Parsed][..]),
            (
                minimal("parsed", "1"),
                &[Stage::Planned, Stage::Deployed][..],
            ),
            (minimal("deployed", "1"), &[Stage::Deployed][..]),
            ("{\"format\":\"rustle\",".to_owned(), &[Stage::Parsed][..]),
            ("[1]".to_owned(), &[Stage::Parsed][..]),
            ("{\"format\":\"ansible\"}".to_owned(), &[Stage::Parsed][..]),
            (
                minimal("parsed", "1").replace("\"plays\":[]", "\"plays\":[],\"extra\":1"),
                &[Stage::Parsed][..],
            ),
            (
                minimal("parsed", "1").replace("\"hosts\":[]", "\"hosts\":[{\"name\":3}]"),
                &[Stage::Parsed][..],
            ),
            (
                minimal("parsed", "1").replace("\"stage\"", "\"colour\":1,\"stage\""),
                &[Stage::Parsed][..],
            ),
        ];
        let got: Vec<String> = cases
            .iter()
            .map(|(text, accepted)| {
                Document::from_slice(text.as_bytes(), accepted)
                    .unwrap_err()
                    .to_string()
            })
            .collect();
        expect_test::expect![[r#"
            $.version: expected format version 1, found 2 (this is rustle format version 1)
            $.version: expected format version 1, found "1" (this is rustle format version 1)
            $.stage: expected a document at stage planned or deployed, found "parsed"
            $.plan: missing, but the document is at stage deployed
            malformed JSON at line 1, column 19: EOF while parsing a value
            expected a JSON object at $, found an array
            $.format: expected "rustle", found "ansible"
            $.parsed.extra: unknown field `extra`, expected one of `playbook`, `playbook_dir`, `plays`, `inventory`, `extra_vars`, `files`, `config_file`
            $.parsed.inventory.hosts[0].name: invalid type: integer `3`, expected a string
            $.colour: unknown field `colour`, expected one of `format`, `version`, `stage`, `parsed`, `plan`, `deployment`
        "#]]
        .assert_eq(&(got.join("\n") + "\n"));
    }
}

/// Variables whose values are passwords: never shown to people.
pub const SECRET_VARS: &[&str] = &[
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
];

/// Replaces the value of every [`SECRET_VARS`] key, at any depth.
pub fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if SECRET_VARS.contains(&k.as_str()) {
                    *v = serde_json::Value::String("********".into());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod redact_tests {
    #[test]
    fn secrets_are_starred_at_any_depth() {
        let mut v = serde_json::json!({
            "hosts": [{"vars": {"ansible_become_password": "pw", "x": 1}}],
            "ansible_password": {"nested": "pw"}
        });
        super::redact(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "hosts": [{"vars": {"ansible_become_password": "********", "x": 1}}],
                "ansible_password": "********"
            })
        );
    }
}
