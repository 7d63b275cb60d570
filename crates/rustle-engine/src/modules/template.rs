//! `template`: renders a controller template (`src`, found under the
//! role's or playbook's `templates/`) with the task's variables at run
//! time, then places the text as `copy` does: written only when its SHA-1
//! differs, mode set, check and diff modes.

use rustle_format::Vars;
use serde_json::json;

use super::copy::{Origin, Source, place};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::template::FileOptions;

pub struct Template;

impl Module for Template {
    fn params(&self) -> &'static [&'static str] {
        &[
            "src",
            "dest",
            "mode",
            "owner",
            "group",
            "force",
            "backup",
            "trim_blocks",
            "lstrip_blocks",
            "newline_sequence",
            "output_encoding",
            "validate",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let src = args.required(&["src"])?;
        let dest = args.required(&["dest"])?;
        let Ok((key, bytes)) = ctx.files.find(&src) else {
            return Ok(super::action::not_found_raised(ctx, &src, "templates"));
        };
        let bytes = crate::vault::open_file(bytes, &src).map_err(ModuleError::new)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ModuleError::new(format!("{src} is not UTF-8 text")))?;
        let opts = FileOptions {
            trim_blocks: args.bool("trim_blocks", true)?,
            lstrip_blocks: args.bool("lstrip_blocks", false)?,
        };
        let mut extra = Vars::new();
        extra.insert("ansible_managed".into(), json!("Ansible managed"));
        extra.insert("template_destpath".into(), json!(dest));
        let mut rendered = match ctx.templar.render_file(&text, opts, &extra) {
            Ok(rendered) => rendered,
            // "Task failed." caused by the template's error, at the file.
            Err(e) => {
                let path = super::copy::controller_path(ctx, key);
                let mut r = result([
                    ("changed", json!(false)),
                    ("failed", json!(true)),
                    ("msg", json!(format!("Task failed: {}", e.message))),
                ]);
                r.insert(
                    super::CAUSES_KEY.into(),
                    json!([{"msg": e.message, "at": "file", "path": path}]),
                );
                return Ok(Outcome::new(r));
            }
        };
        let newline = args.string(&["newline_sequence"])?;
        match newline.as_deref() {
            None | Some("\n") => {}
            Some(seq @ ("\r\n" | "\r")) => rendered = rendered.replace('\n', seq),
            Some(other) => {
                return Err(ModuleError::new(format!(
                    "value of newline_sequence must be one of: \\n, \\r, \\r\\n, got: {other}"
                )));
            }
        }
        place(
            ctx,
            args,
            &Source {
                bytes: rendered.into_bytes(),
                origin: Origin::Rendered(src.rsplit('/').next().unwrap_or(&src).to_owned()),
                name: Some(src),
            },
        )
    }
}
