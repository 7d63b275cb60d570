//! `slurp`: a file's content from the host, base64-encoded, with
//! slurp.py's messages for a missing, unreadable or directory source.

use std::io::{Error, ErrorKind};

use serde_json::json;

use super::fileattrs::stat;
use super::{Args, Module, ModuleCtx, ModuleResult, Outcome, result};
use crate::target::FileKind;
use crate::util::base64;
use crate::util::oserror::python_oserror;

pub struct Slurp;

impl Module for Slurp {
    fn params(&self) -> &'static [&'static str] {
        &["src", "path"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let src = args.path(&["src", "path"], ctx)?;
        let read = match stat(ctx, &src, true)? {
            Some(s) if s.kind == FileKind::Dir => Err(Error::from(ErrorKind::IsADirectory)),
            _ => ctx.target.read_file(&src),
        };
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(e) => {
                let msg = match e.kind() {
                    ErrorKind::NotFound => format!("File not found: {src}"),
                    ErrorKind::PermissionDenied => format!("File is not readable: {src}"),
                    ErrorKind::IsADirectory => {
                        format!("Source is a directory and must be a file: {src}")
                    }
                    // slurp.py forgot the `f` of this f-string; so do we.
                    _ => "Unable to slurp file: {source}".to_owned(),
                };
                return Ok(Outcome::new(result([
                    ("changed", json!(false)),
                    ("failed", json!(true)),
                    ("msg", json!(msg)),
                    ("exception", json!(python_oserror(&e, &src))),
                ])));
            }
        };
        Ok(Outcome::new(result([
            ("content", json!(base64::encode(&bytes))),
            ("source", json!(src)),
            ("encoding", json!("base64")),
            ("changed", json!(false)),
        ])))
    }
}
