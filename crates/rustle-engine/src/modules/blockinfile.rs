//! `blockinfile`: keeps a block of lines between two marker lines in a
//! file (inserting, replacing or removing it), following ansible-core's
//! blockinfile.py: the same marker search, insertion point, blank-line
//! options, messages (`Block inserted`, `Block removed`, `File created`)
//! and `diff` list.
//!
//! The file is handled as bytes split like Python's `splitlines(True)`.
//! An `insertafter`/`insertbefore` pattern is matched per line without
//! its `\n` (so `$` is end of line), or against the whole file when it
//! starts with `(?m)`, as Python's `re.MULTILINE` flag selects there.

use regex::bytes::Regex;
use rustle_format::Vars;
use serde_json::json;

use super::fileattrs::{backup_local, check_file_attrs, failed_rc, io_error, stat};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;

pub struct BlockInFile;

impl Module for BlockInFile {
    fn params(&self) -> &'static [&'static str] {
        &[
            "path",
            "dest",
            "destfile",
            "name",
            "state",
            "marker",
            "block",
            "content",
            "insertafter",
            "insertbefore",
            "create",
            "backup",
            "marker_begin",
            "marker_end",
            "append_newline",
            "prepend_newline",
            "mode",
            "owner",
            "group",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let path = args.path(&["path", "dest", "destfile", "name"], ctx)?;
        let present = args.choice("state", &["absent", "present"])?.as_deref() != Some("absent");
        args.exclusive("insertbefore", "insertafter")?;
        let insertafter = args.string(&["insertafter"])?;
        let insertbefore = args.string(&["insertbefore"])?;

        let existing = stat(ctx, &path, true)?;
        if existing.as_ref().is_some_and(|s| s.kind == FileKind::Dir) {
            return Ok(failed_rc(format!("Path {path} is a directory !"), 256));
        }
        let original = match existing {
            Some(_) => Some(
                ctx.target
                    .read_file(&path)
                    .map_err(|e| io_error("reading", &path, e))?,
            ),
            None if !args.bool("create", false)? => {
                return Ok(failed_rc(format!("Path {path} does not exist !"), 257));
            }
            None => {
                let parent = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                if !parent.is_empty() && !ctx.check && stat(ctx, parent, true)?.is_none() {
                    ctx.target.create_dir_all(parent, None).map_err(|e| {
                        ModuleError::new(format!("Error creating {parent} Error: {e}"))
                    })?;
                }
                None
            }
        };
        if !present && original.is_none() {
            let mut r = Vars::new();
            r.insert("changed".into(), json!(false));
            r.insert("msg".into(), json!(format!("File {path} not present")));
            return Ok(Outcome::new(r));
        }
        let text = original.as_deref().unwrap_or_default();
        let mut lines = splitlines(text);

        // Where a new block goes: after/before a matching line, BOF or EOF.
        let pattern = match (&insertafter, &insertbefore) {
            (Some(after), _) if after != "EOF" => Some(after),
            (None, Some(before)) if before != "BOF" => Some(before),
            _ => None,
        };
        let insert_re = pattern
            .map(|p| {
                Regex::new(p)
                    .map_err(|e| ModuleError::new(format!("regexp '{p}' does not compile: {e}")))
            })
            .transpose()?;

        let marker = args
            .string(&["marker"])?
            .unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".to_owned());
        let marker_line = |key: &str, default: &str| -> Result<Vec<u8>, ModuleError> {
            let word = args.string(&[key])?.unwrap_or_else(|| default.to_owned());
            Ok(format!("{}\n", marker.replace("{mark}", &word)).into_bytes())
        };
        let begin = marker_line("marker_begin", "BEGIN")?;
        let end = marker_line("marker_end", "END")?;
        let mut block = args
            .string(&["block", "content"])?
            .unwrap_or_default()
            .into_bytes();
        let mut blocklines = Vec::new();
        if present && !block.is_empty() {
            if !block.ends_with(b"\n") {
                block.push(b'\n');
            }
            blocklines.push(begin.clone());
            blocklines.extend(splitlines(&block));
            blocklines.push(end.clone());
        }

        // The last line equal to each marker.
        let n0 = lines.iter().rposition(|l| *l == begin);
        let n1 = lines.iter().rposition(|l| *l == end);
        let mut at = match (n0, n1) {
            (Some(a), Some(b)) => {
                let (from, to) = (a.min(b), a.max(b));
                lines.drain(from..=to);
                from
            }
            _ => match &insert_re {
                Some(re) => {
                    let found = if pattern.is_some_and(|p| p.starts_with("(?m)")) {
                        re.find(text).map(|m| {
                            let upto = if insertafter.is_some() {
                                m.end()
                            } else {
                                m.start()
                            };
                            text[..upto].iter().filter(|&&b| b == b'\n').count()
                        })
                    } else {
                        lines.iter().rposition(|l| re.is_match(without_newline(l)))
                    };
                    match found {
                        None => lines.len(),
                        Some(i) if insertafter.is_some() => i + 1,
                        Some(i) => i,
                    }
                }
                None if insertbefore.is_some() => 0,
                None => lines.len(),
            },
        };
        if at > 0 && !lines[at - 1].ends_with(b"\n") {
            lines[at - 1].push(b'\n');
        }
        if present && args.bool("prepend_newline", false)? && at != 0 && lines[at - 1] != b"\n" {
            lines.insert(at, b"\n".to_vec());
            at += 1;
        }
        let block_len = blocklines.len();
        lines.splice(at..at, blocklines);
        let next = at + block_len;
        if present
            && args.bool("append_newline", false)?
            && next < lines.len()
            && lines[next] != b"\n"
        {
            lines.insert(next, b"\n".to_vec());
        }
        let result = lines.concat();

        let (mut changed, mut msg) = match &original {
            Some(o) if *o == result => (false, String::new()),
            None => (true, "File created".to_owned()),
            Some(_) if block_len == 0 => (true, "Block removed".to_owned()),
            Some(_) => (true, "Block inserted".to_owned()),
        };
        let mut backup_file = None;
        if changed && !ctx.check {
            if args.bool("backup", false)? && original.is_some() {
                backup_file = Some(backup_local(ctx, &path)?);
            }
            ctx.target
                .write_file(&path, &result, None)
                .map_err(|e| io_error("writing", &path, e))?;
        }
        let header = json!(format!("{path} (content)"));
        let shown = |bytes: &[u8]| match ctx.diff {
            true => String::from_utf8_lossy(bytes).into_owned(),
            false => String::new(),
        };
        let content_diff = json!({
            "before": shown(text),
            "after": shown(&result),
            "before_header": header,
            "after_header": header,
        });
        let mut r = Vars::new();
        if ctx.check && original.is_none() {
            r.insert("changed".into(), json!(changed));
            r.insert("msg".into(), json!(msg));
            r.insert("diff".into(), content_diff);
            return Ok(Outcome::new(r));
        }
        let attr_diff = check_file_attrs(ctx, &path, args, &mut changed, &mut msg)?;
        r.insert("changed".into(), json!(changed));
        r.insert("msg".into(), json!(msg));
        r.insert("diff".into(), json!([content_diff, attr_diff]));
        if let Some(backup) = backup_file {
            r.insert("backup_file".into(), json!(backup));
        }
        Ok(Outcome::new(r))
    }
}

fn without_newline(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// Python's `bytes.splitlines(True)`: lines end at `\n`, `\r\n` or `\r`
/// and keep their ending.
fn splitlines(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        let end = match data[i] {
            b'\r' if data.get(i + 1) == Some(&b'\n') => i + 2,
            b'\r' | b'\n' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        out.push(data[start..end].to_vec());
        start = end;
        i = end;
    }
    if start < data.len() {
        out.push(data[start..].to_vec());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::splitlines;

    #[test]
    fn splitlines_keeps_each_ending() {
        let lines = splitlines(b"a\nb\r\nc\rd");
        assert_eq!(lines, [&b"a\n"[..], b"b\r\n", b"c\r", b"d"]);
        assert!(splitlines(b"").is_empty());
    }
}
