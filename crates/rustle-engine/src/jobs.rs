//! `async` tasks, as ansible-core's `async_wrapper` and `async_status` run
//! them: the module runs in a process of its own on the host, detached
//! from the run (its own process group, no terminal, stdio closed), which
//! writes its result to `~/.ansible_async/<jid>` when it ends; the task
//! then polls that file (`poll` > 0) or goes on with the job running
//! (`poll: 0`) for a later `async_status` to read.
//!
//! The job process is the binary that runs the engine (`rustle-runner`, or
//! `rustle-exec` for hosts it runs in-process on this machine) started
//! again with [`JOB_ARG`]: its `main` calls [`serve`] first. It reads a
//! [`JobSpec`] (the module and its rendered arguments) on stdin, runs the
//! module against this machine and kills its own process group after
//! `time_limit` seconds, leaving `Timeout exceeded` as the result. With
//! `become`, the whole job runs as the become user, as ansible-core's
//! does (its record goes to that user's home): the binary is started
//! through the become shell with [`START_ARG`], starts the job from there
//! and prints its id. Over SSH without a runner there is no process on
//! the host to start, so such tasks fail and say so.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustle_format::Vars;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::modules::{Args, ModuleCtx, resolve};
use crate::shell_target::Shell;
use crate::target::{LocalTarget, Target};
use crate::template::{Templar, environment};
use crate::util::oserror::python_oserror;
use crate::util::shell::quote;

/// The argument that makes the engine's binary a job process.
pub const JOB_ARG: &str = "--async-job";

/// The argument that makes the engine's binary start a job (its spec on
/// stdin) and print its id and results file: how a job starts as another
/// user.
pub const START_ARG: &str = "--async-job-start";

/// Where jobs leave their results, under the home directory (ansible-core's
/// default `async_dir`).
const ASYNC_DIR: &str = ".ansible_async";

/// The binary jobs start, once [`serve`] has seen it is one that can.
static EXE: OnceLock<PathBuf> = OnceLock::new();

/// What a job process runs: one module call, its arguments rendered.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobSpec {
    /// `j<digits>` until the job starts, then `j<digits>.<pid>`.
    pub jid: String,
    /// Where the result goes (set when the job starts).
    pub results_file: String,
    /// Seconds before the job is killed (`async`).
    pub time_limit: u64,
    /// The module, by the name the engine resolves.
    pub module: String,
    pub args: Vars,
    pub check: bool,
    pub diff: bool,
    pub env: Vec<(String, String)>,
    pub task_dir: String,
    pub verbosity: u8,
}

/// Call first in `main`: in a job process (started with [`JOB_ARG`]) runs
/// the job and returns its exit code; otherwise notes that this binary
/// can start jobs and returns `None`.
pub fn serve() -> Option<u8> {
    if let Ok(exe) = std::env::current_exe() {
        let _ = EXE.set(exe);
    }
    let arg = std::env::args_os().nth(1);
    if arg.as_deref() == Some(OsStr::new(JOB_ARG)) {
        return Some(run_job());
    }
    if arg.as_deref() == Some(OsStr::new(START_ARG)) {
        return Some(start_from_stdin());
    }
    None
}

/// The binary that starts jobs on this machine, once [`serve`] has run.
pub(crate) fn program() -> Option<&'static Path> {
    EXE.get().map(PathBuf::as_path)
}

/// Why a target cannot start a job.
pub(crate) fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "async tasks run only through a runner on the host (rustle-deploy), \
         not task by task over SSH",
    )
}

/// The job's id and record, as a [`START_ARG`] process prints them.
#[derive(Serialize, Deserialize)]
struct Started {
    jid: String,
    results_file: String,
}

/// Starts `spec` through `shell` (`become` on this machine): `exe` run
/// there with [`START_ARG`] starts the job as the shell's user.
pub(crate) fn start_through(shell: &dyn Shell, exe: &Path, spec: &mut JobSpec) -> io::Result<()> {
    let script = format!("exec {} {START_ARG}", quote(&exe.to_string_lossy()));
    let out = shell.sh(&script, Some(&serde_json::to_vec(spec)?))?;
    if out.rc != 0 {
        return Err(io::Error::other(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    let started: Started = serde_json::from_slice(&out.stdout)?;
    spec.jid = started.jid;
    spec.results_file = started.results_file;
    Ok(())
}

/// The [`START_ARG`] process: starts the job its stdin describes.
fn start_from_stdin() -> u8 {
    let started = read_spec().and_then(|mut spec| {
        start_here(&mut spec).map_err(|e| e.to_string())?;
        serde_json::to_string(&Started {
            jid: spec.jid,
            results_file: spec.results_file,
        })
        .map_err(|e| e.to_string())
    });
    match started {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// A job's spec, from stdin.
fn read_spec() -> Result<JobSpec, String> {
    let mut text = String::new();
    io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Starts `spec` as a job on this machine: completes its `jid` with the
/// job's pid, writes the `started` record the job will replace, and hands
/// the job its spec. Returns once the job runs on its own.
pub(crate) fn start_here(spec: &mut JobSpec) -> io::Result<()> {
    let exe = EXE.get().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "this program does not run async jobs",
        )
    })?;
    let dir = format!("{}/{ASYNC_DIR}", LocalTarget.home());
    make_dirs(Path::new(&dir)).map_err(|(e, made)| {
        let why = python_oserror(&e, &made.to_string_lossy());
        io::Error::new(
            e.kind(),
            format!("could not create directory: {dir} - {why}"),
        )
    })?;
    let mut child = Command::new(exe)
        .arg(JOB_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own group: the job and what it starts outlive the run's
        // session and are killed together at the time limit.
        .process_group(0)
        .spawn()?;
    spec.jid = format!("{}.{}", spec.jid, child.id());
    spec.results_file = format!("{dir}/{}", spec.jid);
    let started = json!({"started": true, "finished": false, "ansible_job_id": spec.jid});
    let handed = write_record(&spec.results_file, &started).and_then(|()| {
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(&serde_json::to_vec(spec)?)
    });
    // Reaped here; a job that outlives this process is reaped by init.
    std::thread::spawn(move || child.wait());
    handed
}

/// Python's `os.makedirs(dir, exist_ok=True)`; on failure, the error and
/// the directory that could not be made.
fn make_dirs(dir: &Path) -> Result<(), (io::Error, PathBuf)> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        make_dirs(parent)?;
    }
    match std::fs::create_dir(dir) {
        Err(e) if !(e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir()) => {
            Err((e, dir.to_path_buf()))
        }
        _ => Ok(()),
    }
}

/// Replaces the job's record atomically (a temp file renamed over it), so
/// a reader sees the old record or the new one, never a part.
fn write_record(path: &str, record: &Json) -> io::Result<()> {
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, serde_json::to_vec(record)?)?;
    std::fs::rename(&tmp, path)
}

/// The job process: reads its spec, runs the module, writes the result;
/// past the time limit, writes `Timeout exceeded` and kills its group.
fn run_job() -> u8 {
    let Ok(spec) = read_spec() else {
        return 3;
    };
    // Whoever writes the final record first (result or timeout) wins.
    let written = Arc::new(Mutex::new(false));
    {
        let written = written.clone();
        let path = spec.results_file.clone();
        let limit = spec.time_limit;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(limit));
            let mut w = written.lock().unwrap_or_else(|e| e.into_inner());
            if *w {
                return;
            }
            *w = true;
            let pid = std::process::id();
            let _ = write_record(
                &path,
                &json!({"msg": "Timeout exceeded", "failed": true, "child_pid": pid}),
            );
            // `kill` keeps the engine free of unsafe code.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            std::process::exit(1);
        });
    }
    let result = execute(&spec);
    let mut w = written.lock().unwrap_or_else(|e| e.into_inner());
    if !*w {
        *w = true;
        if write_record(&spec.results_file, &Json::Object(result)).is_err() {
            return 1;
        }
    }
    0
}

/// The module call of a job, against this machine.
fn execute(spec: &JobSpec) -> Vars {
    let failed = |msg: String| -> Vars {
        let mut r = Vars::new();
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!(msg));
        r
    };
    let Some((_, module)) = resolve(&spec.module) else {
        return failed(format!("couldn't resolve module/action '{}'", spec.module));
    };
    let target = &LocalTarget;
    let templar = Templar::new(environment(), Vec::new());
    let ctx = ModuleCtx {
        target,
        controller: None,
        files: &crate::NoFiles,
        task_dir: &spec.task_dir,
        templar: &templar,
        check: spec.check,
        diff: spec.diff,
        env: &spec.env,
        verbosity: spec.verbosity,
    };
    let mut result = match module.run(&ctx, &Args(&spec.args)) {
        Ok(outcome) => outcome.result,
        Err(err) => failed(err.0),
    };
    result.entry("changed").or_insert(json!(false));
    result
}

/// What ansible-core's `async_status` (action and module) returns for
/// `jid`, read through `target`; `cleanup` removes the job's record.
pub(crate) fn status(target: &dyn Target, jid: &str, cleanup: bool) -> Vars {
    let path = format!("{}/{ASYNC_DIR}/{jid}", target.home());
    let mut r = Vars::new();
    r.insert("started".into(), json!(false));
    r.insert("finished".into(), json!(false));
    r.insert("stdout".into(), json!(""));
    r.insert("stderr".into(), json!(""));
    r.insert("stdout_lines".into(), json!([]));
    r.insert("stderr_lines".into(), json!([]));
    r.insert("ansible_job_id".into(), json!(jid));
    if cleanup {
        r.insert("erased".into(), json!(path));
    } else {
        r.insert("results_file".into(), json!(path));
        r.insert("started".into(), json!(true));
    }
    let module = module_status(target, &path, jid, cleanup);
    r.extend(module);
    for key in ["started", "finished"] {
        let truthy = match &r[key] {
            Json::Bool(b) => *b,
            Json::Number(n) => n.as_f64() != Some(0.0),
            Json::String(s) => !s.is_empty(),
            Json::Null => false,
            Json::Array(a) => !a.is_empty(),
            Json::Object(o) => !o.is_empty(),
        };
        r.insert(key.into(), json!(truthy));
    }
    r
}

/// The `async_status` module's part.
fn module_status(target: &dyn Target, path: &str, jid: &str, cleanup: bool) -> Vars {
    let data = match target.stat(path, true) {
        Ok(Some(_)) => target.read_file(path),
        Ok(None) => Err(io::Error::from(io::ErrorKind::NotFound)),
        Err(e) => Err(e),
    };
    let data = match data {
        Ok(data) => data,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return obj(json!({"msg": "could not find job", "ansible_job_id": jid,
                "started": true, "finished": true, "failed": true}));
        }
        Err(e) => return obj(json!({"msg": e.to_string(), "failed": true})),
    };
    if cleanup {
        if let Err(e) = target.remove(path) {
            return obj(json!({"msg": e.to_string(), "failed": true}));
        }
        return obj(json!({"ansible_job_id": jid, "erased": path}));
    }
    match serde_json::from_slice::<Json>(&data) {
        Ok(Json::Object(mut d)) => {
            if !d.contains_key("started") {
                d.insert("finished".into(), json!(true));
                d.insert("ansible_job_id".into(), json!(jid));
            } else if !d.contains_key("finished") {
                d.insert("finished".into(), json!(false));
            }
            d
        }
        _ if data.is_empty() => obj(json!({"results_file": path, "ansible_job_id": jid,
            "started": true, "finished": false})),
        _ => obj(json!({
            "ansible_job_id": jid, "results_file": path, "started": true, "finished": true,
            "failed": true,
            "msg": format!("Could not parse job output: {}", String::from_utf8_lossy(&data)),
        })),
    }
}

fn obj(v: Json) -> Vars {
    match v {
        Json::Object(m) => m,
        _ => Vars::new(),
    }
}

/// A job id's first part, as ansible-core makes it: `j` and a random
/// number below 999999999999 (the pid follows when the job starts).
pub(crate) fn new_jid() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut mt = rand_mt::Mt64::new(nanos ^ u64::from(std::process::id()).rotate_left(32));
    format!("j{}", mt.next_u64() % 999_999_999_999)
}
