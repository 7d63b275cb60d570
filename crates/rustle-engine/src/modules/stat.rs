//! `stat`: what is at a path, under `stat`, with the keys playbooks test
//! most: `exists`, `path`, `mode`, `isdir`/`isreg`/`islnk`, `uid`/`gid`,
//! `pw_name`/`gr_name`, `size`, `mtime`, the permission bits (`rusr`,
//! `wgrp`, `xoth`, `isuid`, ...) and, for a regular file, its SHA-1
//! `checksum`. Ansible's inode, device, atime/ctime, mime and attribute
//! keys are not reported.

use rustle_format::Vars;
use serde_json::json;

use super::fileattrs::{attrs, stat};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::target::FileKind;
use crate::util::sha1::sha1_hex;

pub struct Stat;

impl Module for Stat {
    fn params(&self) -> &'static [&'static str] {
        &[
            "path",
            "dest",
            "name",
            "follow",
            "get_checksum",
            "checksum_algorithm",
            "checksum",
            "checksum_algo",
            "get_mime",
            "get_attributes",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let path = args.path(&["path", "dest", "name"], ctx)?;
        let algorithm = args
            .string(&["checksum_algorithm", "checksum", "checksum_algo"])?
            .unwrap_or_else(|| "sha1".to_owned());
        if algorithm != "sha1" {
            return Err(ModuleError::new(format!(
                "stat: checksum_algorithm {algorithm} is not supported yet (sha1 is)"
            )));
        }
        let Some(st) = stat(ctx, &path, args.bool("follow", false)?)? else {
            return Ok(Outcome::new(result([
                ("changed", json!(false)),
                ("stat", json!({"exists": false})),
            ])));
        };
        let mut s = Vars::new();
        s.insert("exists".into(), json!(true));
        s.insert("path".into(), json!(path));
        let a = attrs(ctx.target, &st);
        for (from, to) in [("mode", "mode"), ("owner", "pw_name"), ("group", "gr_name")] {
            s.insert(to.into(), a[from].clone());
        }
        s.insert("uid".into(), json!(st.uid));
        s.insert("gid".into(), json!(st.gid));
        s.insert("size".into(), json!(st.size));
        s.insert("mtime".into(), json!(st.mtime));
        s.insert("isdir".into(), json!(st.kind == FileKind::Dir));
        s.insert("isreg".into(), json!(st.kind == FileKind::File));
        s.insert("islnk".into(), json!(st.kind == FileKind::Link));
        let bits = [
            ("rusr", 0o400),
            ("wusr", 0o200),
            ("xusr", 0o100),
            ("rgrp", 0o040),
            ("wgrp", 0o020),
            ("xgrp", 0o010),
            ("roth", 0o004),
            ("woth", 0o002),
            ("xoth", 0o001),
            ("isuid", 0o4000),
            ("isgid", 0o2000),
        ];
        for (key, bit) in bits {
            s.insert(key.into(), json!(st.mode & bit != 0));
        }
        if st.kind == FileKind::File && args.bool("get_checksum", true)? {
            let bytes = ctx
                .target
                .read_file(&path)
                .map_err(|e| ModuleError::new(format!("cannot read {path}: {e}")))?;
            s.insert("checksum".into(), json!(sha1_hex(&bytes)));
        }
        Ok(Outcome::new(result([
            ("changed", json!(false)),
            ("stat", serde_json::Value::Object(s)),
        ])))
    }
}
