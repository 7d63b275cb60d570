//! `tempfile`: a new, uniquely named file (mode 0600) or directory (0700)
//! on the host, made by `mktemp` as Python's `mkstemp`/`mkdtemp` would.

use serde_json::json;

use super::args::Args;
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::target::ExecRequest;

pub struct TempFile;

impl Module for TempFile {
    fn params(&self) -> &'static [&'static str] {
        &["state", "path", "prefix", "suffix"]
    }

    fn supports_check(&self) -> bool {
        false
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let state = args
            .choice("state", &["file", "directory"])?
            .unwrap_or_else(|| "file".to_owned());
        let prefix = args
            .string(&["prefix"])?
            .unwrap_or_else(|| "ansible.".to_owned());
        let suffix = args.string(&["suffix"])?.unwrap_or_default();
        for (key, value) in [("prefix", &prefix), ("suffix", &suffix)] {
            if value.contains('/') {
                return Err(ModuleError::new(format!(
                    "{key} must be a valid file name component, got '{value}'"
                )));
            }
        }
        let quote = crate::util::shell::quote;
        let dir = match args.string(&["path"])? {
            Some(p) => quote(&super::args::expand_user(&p, || ctx.target.home())),
            // Python's gettempdir(): TMPDIR, TEMP, TMP, then /tmp.
            None => "\"${TMPDIR:-${TEMP:-${TMP:-/tmp}}}\"".to_owned(),
        };
        let flag = if state == "directory" { "-d " } else { "" };
        let script = format!(
            "exec mktemp {flag}-p {dir} --suffix={} -- {}",
            quote(&suffix),
            quote(&format!("{prefix}XXXXXXXX"))
        );
        let out = ctx
            .target
            .exec(&ExecRequest::shell(&script))
            .map_err(|e| ModuleError::new(e.to_string()))?;
        if out.rc != 0 {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(ModuleError::new(err.trim().to_owned()));
        }
        let path = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
        let mut r = result([("changed", json!(true)), ("path", json!(path))]);
        super::fileattrs::add_path_info(ctx, &mut r)?;
        Ok(Outcome::new(r))
    }
}
