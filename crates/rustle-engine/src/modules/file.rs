//! `file`: the state (`file`, `directory`, `touch`, `absent`) and mode of a path.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::args::Args;
use super::fileattrs::{attrs, io_error, stat, state_name};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::{FileKind, FileStat};
use crate::util::mode::{format_mode, parse_mode};

pub struct File;

impl Module for File {
    fn params(&self) -> &'static [&'static str] {
        &["path", "dest", "name", "state", "mode", "recurse", "follow"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let path = args.path(&["path", "dest", "name"], ctx)?;
        let follow = args.bool("follow", true)?;
        let prev = stat(ctx, &path, follow)?;
        let states = ["absent", "directory", "file", "hard", "link", "touch"];
        let state = match args.choice("state", &states)? {
            Some(state) => state,
            None => match prev {
                Some(_) => state_name(prev.as_ref()).to_owned(),
                None => "file".to_owned(),
            },
        };
        let op = FileOp {
            ctx,
            path,
            follow,
            prev,
            mode: args.get("mode"),
        };
        let result = match state.as_str() {
            "absent" => op.absent()?,
            "file" => op.file()?,
            "directory" => op.directory()?,
            "touch" => op.touch()?,
            _ => {
                return Err(ModuleError::new(format!(
                    "state={state} is not supported yet"
                )));
            }
        };
        Ok(Outcome::new(result))
    }
}

struct FileOp<'a, 'b> {
    ctx: &'a ModuleCtx<'b>,
    path: String,
    follow: bool,
    prev: Option<FileStat>,
    mode: Option<&'a Json>,
}

/// A mode change from `.0` to `.1`.
type ModeChange = Option<(u32, u32)>;

impl FileOp<'_, '_> {
    fn absent(&self) -> Result<Vars, ModuleError> {
        let changed = self.prev.is_some();
        if changed && !self.ctx.check {
            let target = self.ctx.target;
            target
                .remove(&self.path)
                .map_err(|e| io_error("removing", &self.path, e))?;
        }
        let mut r = Vars::new();
        r.insert("path".into(), json!(self.path));
        r.insert("changed".into(), json!(changed));
        r.insert("state".into(), json!("absent"));
        self.add_diff(&mut r, "absent", None);
        Ok(r)
    }

    fn file(&self) -> Result<Vars, ModuleError> {
        let prev = match self.prev {
            None => {
                return Err(ModuleError::new(format!(
                    "file ({}) is absent, cannot continue",
                    self.path
                )));
            }
            Some(prev) if prev.kind == FileKind::Dir => {
                return Err(ModuleError::new(format!(
                    "file ({}) is directory, cannot continue",
                    self.path
                )));
            }
            Some(prev) => prev,
        };
        let mode_change = self.apply_mode(&prev)?;
        self.report("path", mode_change.is_some(), "file", mode_change)
    }

    fn directory(&self) -> Result<Vars, ModuleError> {
        match self.prev {
            Some(prev) if prev.kind == FileKind::Dir => {
                let mode_change = self.apply_mode(&prev)?;
                self.report("path", mode_change.is_some(), "directory", mode_change)
            }
            Some(_) => Err(ModuleError::new(format!(
                "{} already exists as a {}",
                self.path,
                state_name(self.prev.as_ref())
            ))),
            None => {
                let mode = self.desired_mode(0o755, true)?;
                if !self.ctx.check {
                    let target = self.ctx.target;
                    target
                        .create_dir_all(&self.path, mode)
                        .map_err(|e| io_error("creating", &self.path, e))?;
                }
                self.report("path", true, "directory", None)
            }
        }
    }

    /// Creates the file or updates its times; always a change.
    fn touch(&self) -> Result<Vars, ModuleError> {
        if !self.ctx.check {
            let target = self.ctx.target;
            target
                .touch(&self.path)
                .map_err(|e| io_error("touching", &self.path, e))?;
        }
        let mode_change = match self.current()? {
            Some(now) => self.apply_mode(&now)?,
            None => None,
        };
        self.report("dest", true, "file", mode_change)
    }

    fn desired_mode(&self, current: u32, is_dir: bool) -> Result<Option<u32>, ModuleError> {
        self.mode
            .map(|spec| parse_mode(spec, current, is_dir).map_err(ModuleError))
            .transpose()
    }

    /// Sets the requested mode when it differs; returns the change.
    fn apply_mode(&self, stat: &FileStat) -> Result<ModeChange, ModuleError> {
        let Some(want) = self.desired_mode(stat.mode, stat.kind == FileKind::Dir)? else {
            return Ok(None);
        };
        if want == stat.mode {
            return Ok(None);
        }
        if !self.ctx.check {
            let target = self.ctx.target;
            target
                .set_mode(&self.path, want)
                .map_err(|e| io_error("setting the mode of", &self.path, e))?;
        }
        Ok(Some((stat.mode, want)))
    }

    fn current(&self) -> Result<Option<FileStat>, ModuleError> {
        stat(self.ctx, &self.path, self.follow)
    }

    /// `{key: path, changed, ...attributes}` as the path is now.
    fn report(
        &self,
        key: &str,
        changed: bool,
        state: &str,
        mode_change: ModeChange,
    ) -> Result<Vars, ModuleError> {
        let mut r = Vars::new();
        r.insert(key.into(), json!(self.path));
        r.insert("changed".into(), json!(changed));
        match self.current()? {
            Some(now) => r.extend(attrs(self.ctx.target, &now)),
            None => {
                r.insert("state".into(), json!(state));
            }
        }
        if let Some((_, want)) = mode_change {
            r.insert("mode".into(), json!(format_mode(want)));
        }
        self.add_diff(&mut r, state, mode_change);
        Ok(r)
    }

    /// Ansible's file diff: the path plus the attributes that change.
    fn add_diff(&self, r: &mut Vars, state: &str, mode_change: ModeChange) {
        if !self.ctx.diff {
            return;
        }
        let mut before = json!({"path": self.path});
        let mut after = json!({"path": self.path});
        let prev_state = state_name(self.prev.as_ref());
        if prev_state != state {
            before["state"] = json!(prev_state);
            after["state"] = json!(state);
        }
        if let Some((old, new)) = mode_change {
            before["mode"] = json!(format_mode(old));
            after["mode"] = json!(format_mode(new));
        }
        r.insert("diff".into(), json!({"before": before, "after": after}));
    }
}
