//! `command` (argv, never through a shell) and `shell` (`/bin/sh -c`).

use std::io;
use std::time::SystemTime;

use serde_json::{Value as Json, json};

use super::args::{Args, expand_user};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::target::ExecRequest;
use crate::util::time::{format_delta, format_timestamp};

const PARAMS: &[&str] = &[
    "_raw_params",
    "argv",
    "chdir",
    "cmd",
    "creates",
    "executable",
    "removes",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

pub struct Command;
pub struct Shell;

impl Module for Command {
    fn params(&self) -> &'static [&'static str] {
        PARAMS
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let argv = command_argv(args)?;
        let home = || ctx.target.home();
        let argv: Vec<String> = argv.iter().map(|a| expand_user(a, home)).collect();
        let shown = Json::from(argv.clone());
        run(ctx, args, argv, shown)
    }
}

impl Module for Shell {
    fn params(&self) -> &'static [&'static str] {
        PARAMS
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let cmd = args
            .string(&["_raw_params", "cmd"])?
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| ModuleError::new("no command given"))?;
        let shell = args
            .string(&["executable"])?
            .unwrap_or_else(|| "/bin/sh".to_owned());
        let argv = vec![shell, "-c".to_owned(), cmd.clone()];
        run(ctx, args, argv, Json::String(cmd))
    }
}

/// The argv of a `command` task: `argv`, else `cmd` or free form split
/// with shell quoting rules.
fn command_argv(args: &Args) -> Result<Vec<String>, ModuleError> {
    if let Some(argv) = args.get("argv") {
        let Json::Array(items) = argv else {
            return Err(ModuleError::new("argument 'argv' is not a list"));
        };
        let argv: Vec<String> = items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        if args.get("cmd").is_some() || args.get("_raw_params").is_some() {
            return Err(ModuleError::new(
                "only command or argv can be given, not both",
            ));
        }
        return non_empty(argv);
    }
    let text = args.string(&["_raw_params", "cmd"])?.unwrap_or_default();
    let argv = shlex::split(&text)
        .ok_or_else(|| ModuleError::new(format!("Unable to split command line: {text}")))?;
    non_empty(argv)
}

fn non_empty(argv: Vec<String>) -> Result<Vec<String>, ModuleError> {
    if argv.iter().all(|a| a.trim().is_empty()) {
        Err(ModuleError::new("no command given"))
    } else {
        Ok(argv)
    }
}

fn run(ctx: &ModuleCtx, args: &Args, argv: Vec<String>, shown: Json) -> ModuleResult {
    let chdir = args
        .string(&["chdir"])?
        .map(|d| expand_user(&d, || ctx.target.home()));
    if let Some(skip) = creates_removes(ctx, args, chdir.as_deref(), &shown)? {
        return Ok(skip);
    }
    if ctx.check {
        // command.py in check mode: rc 0 and "would have run"; skipped,
        // unless `creates`/`removes` was given (then it says changed).
        let guarded = args.get("creates").is_some() || args.get("removes").is_some();
        let mut r = result([
            ("changed", json!(guarded)),
            ("stdout", json!("")),
            ("stderr", json!("")),
            ("rc", json!(0)),
            ("cmd", shown),
            ("start", Json::Null),
            ("end", Json::Null),
            ("delta", Json::Null),
            ("msg", json!("Command would have run if not in check mode")),
        ]);
        if !guarded {
            r.insert("skipped".into(), json!(true));
        }
        // The task executor adds the `_lines` after the module's keys.
        r.insert("stdout_lines".into(), json!([]));
        r.insert("stderr_lines".into(), json!([]));
        // ...and `failed`, which it sets on this result (not on a task's
        // skip by condition, nor on script's creates/removes skip).
        r.insert("failed".into(), json!(false));
        return Ok(Outcome::new(r));
    }
    let mut req = ExecRequest::new(argv);
    req.env = ctx.env.to_vec();
    req.cwd = chdir;
    req.stdin = stdin(args)?;
    let start = SystemTime::now();
    let out = match ctx.target.exec(&req) {
        Ok(out) => out,
        Err(err) => return Ok(exec_error(&req.argv, &err)),
    };
    let end = SystemTime::now();
    let strip = args.bool("strip_empty_ends", true)?;
    let stdout = text(&out.stdout, strip);
    let stderr = text(&out.stderr, strip);
    let mut r = result([
        ("changed", json!(true)),
        ("stdout", json!(stdout)),
        ("stderr", json!(stderr)),
        ("rc", json!(out.rc)),
        ("cmd", shown),
        ("start", json!(format_timestamp(start))),
        ("end", json!(format_timestamp(end))),
        (
            "delta",
            json!(format_delta(end.duration_since(start).unwrap_or_default())),
        ),
        (
            "msg",
            json!(if out.rc == 0 {
                ""
            } else {
                "non-zero return code"
            }),
        ),
        ("stdout_lines", lines(&stdout)),
        ("stderr_lines", lines(&stderr)),
    ]);
    if out.rc != 0 {
        r.insert("failed".into(), json!(true));
    }
    Ok(Outcome::new(r))
}

/// `creates`/`removes`: the result when the command must not run.
fn creates_removes(
    ctx: &ModuleCtx,
    args: &Args,
    chdir: Option<&str>,
    shown: &Json,
) -> Result<Option<Outcome>, ModuleError> {
    let Some((quoted, plain)) = skip_reason(ctx, args, chdir)? else {
        return Ok(None);
    };
    let verb = if ctx.check { "Would" } else { "Did" };
    let stdout = format!("skipped, since {plain}");
    Ok(Some(Outcome::new(result([
        ("changed", json!(false)),
        ("stdout", json!(stdout)),
        ("stderr", json!("")),
        ("rc", json!(0)),
        ("cmd", shown.clone()),
        ("start", Json::Null),
        ("end", Json::Null),
        ("delta", Json::Null),
        (
            "msg",
            json!(format!("{verb} not run command since {quoted}")),
        ),
        ("stdout_lines", lines(&stdout)),
        ("stderr_lines", json!([])),
    ]))))
}

/// Why the command is skipped, quoted and plain, if it is.
fn skip_reason(
    ctx: &ModuleCtx,
    args: &Args,
    chdir: Option<&str>,
) -> Result<Option<(String, String)>, ModuleError> {
    if let Some(p) = args.string(&["creates"])?
        && path_exists(ctx, chdir, &p)?
    {
        return Ok(Some((format!("'{p}' exists"), format!("{p} exists"))));
    }
    if let Some(p) = args.string(&["removes"])?
        && !path_exists(ctx, chdir, &p)?
    {
        return Ok(Some((
            format!("'{p}' does not exist"),
            format!("{p} does not exist"),
        )));
    }
    Ok(None)
}

/// Relative paths are taken from `chdir`, like the command itself.
fn path_exists(ctx: &ModuleCtx, chdir: Option<&str>, path: &str) -> Result<bool, ModuleError> {
    let path = expand_user(path, || ctx.target.home());
    let path = match chdir {
        Some(dir) if !path.starts_with('/') => format!("{dir}/{path}"),
        _ => path,
    };
    let stat = ctx.target.stat(&path, true);
    stat.map(|s| s.is_some())
        .map_err(|e| ModuleError::new(format!("cannot stat {path}: {e}")))
}

fn stdin(args: &Args) -> Result<Option<Vec<u8>>, ModuleError> {
    let Some(data) = args.string(&["stdin"])? else {
        return Ok(None);
    };
    let mut bytes = data.into_bytes();
    if args.bool("stdin_add_newline", true)? {
        bytes.push(b'\n');
    }
    Ok(Some(bytes))
}

/// `run_command`'s failure to start the program, as ansible-core reports
/// it: "Error executing command." with the `OSError` (`[Errno 2] No such
/// file or directory: b'x'`) as its exception, and the command line as
/// `_clean_args` quotes it.
fn exec_error(argv: &[String], err: &io::Error) -> Outcome {
    let errno = err.raw_os_error().unwrap_or(2);
    let reason = match err.kind() {
        io::ErrorKind::NotFound => "No such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "Permission denied".to_owned(),
        _ => err.to_string(),
    };
    let program = argv.first().map(String::as_str).unwrap_or_default();
    let cmd: Vec<String> = argv.iter().map(|a| crate::util::shell::quote(a)).collect();
    Outcome::new(result([
        ("changed", json!(false)),
        ("cmd", json!(cmd.join(" "))),
        ("rc", json!(errno)),
        ("stdout", json!("")),
        ("stderr", json!("")),
        ("stdout_lines", json!([])),
        ("stderr_lines", json!([])),
        ("msg", json!("Error executing command.")),
        (
            "exception",
            json!(format!("[Errno {errno}] {reason}: b'{program}'")),
        ),
        ("failed", json!(true)),
    ]))
}

/// Output as text; trailing newlines dropped like Ansible's `strip_empty_ends`.
fn text(bytes: &[u8], strip: bool) -> String {
    let s = String::from_utf8_lossy(bytes);
    if strip {
        s.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        s.into_owned()
    }
}

/// Python's `str.splitlines()`.
pub fn lines(s: &str) -> Json {
    Json::from(
        s.lines()
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect::<Vec<_>>(),
    )
}
