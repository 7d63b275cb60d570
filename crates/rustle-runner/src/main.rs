//! `rustle-runner`: the binary `rustle-deploy` places on each host. It reads
//! the payload appended to its own executable, refuses it unless its sha256
//! matches, runs the slice with the engine against this machine and streams
//! one JSON event line per event on stdout as it happens. Synchronous and
//! small: no async runtime, no SSH.
//!
//! With `--stretch`, it reads a [`rustle_format::Stretch`] (one JSON line)
//! on stdin and runs only those steps of one play from the state it gives,
//! ending the stream with the state reached (`stretch_done`). That is how
//! `rustle-exec` runs a host between sync points. It then keeps reading
//! stdin: a `stop` line (Ctrl-C on the controller) or the end of stdin
//! (the controller is gone) means no further step starts.
//!
//! Exit codes: 0 when no task failed, 2 when one did, 3 when the payload is
//! missing or corrupt or the stretch unreadable (then nothing is written on
//! stdout).

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use rustle_engine::{FileSource, LocalTarget};
use rustle_format::{Event, Stretch};
use rustle_payload::Payload;

struct PayloadFiles<'a>(&'a Payload);

impl FileSource for PayloadFiles<'_> {
    fn read(&self, src: &str) -> io::Result<Vec<u8>> {
        self.0.file_by_src(src).map(<[u8]>::to_vec).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("Could not find or access '{src}'"),
            )
        })
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let keys = self.0.slice.files.iter().map(|f| f.src.as_str());
        rustle_engine::keys_under(dir, keys)
    }
}

fn main() -> ExitCode {
    if let Some(code) = rustle_engine::jobs::serve() {
        return ExitCode::from(code);
    }
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--version") {
        println!("rustle-runner {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let payload = match std::env::current_exe()
        .map_err(|e| e.to_string())
        .and_then(|exe| rustle_payload::read_embedded_file(&exe).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rustle-runner: error: {e}");
            return ExitCode::from(3);
        }
    };
    if arg.as_deref() == Some("--print-slice") {
        let text = serde_json::to_string_pretty(&payload.slice).unwrap_or_default();
        println!("{text}");
        return ExitCode::SUCCESS;
    }
    let mut out = io::stdout().lock();
    let mut open = true;
    let mut emit = |ev: Event| {
        // A closed pipe ends the output, not the run.
        if open
            && writeln!(out, "{}", ev.to_line())
                .and_then(|()| out.flush())
                .is_err()
        {
            open = false;
        }
    };
    let files = PayloadFiles(&payload);
    let failed = if arg.as_deref() == Some("--stretch") {
        let mut line = String::new();
        let read = io::stdin().lock().read_line(&mut line);
        let stretch: Stretch = match read
            .map_err(|e| e.to_string())
            .and_then(|_| serde_json::from_str(&line).map_err(|e| e.to_string()))
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("rustle-runner: error: reading the stretch on stdin: {e}");
                return ExitCode::from(3);
            }
        };
        static STOP: AtomicBool = AtomicBool::new(false);
        std::thread::spawn(|| {
            let mut line = String::new();
            let mut input = io::stdin().lock();
            while input.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "stop" {
                line.clear();
            }
            STOP.store(true, Ordering::Relaxed);
        });
        let cx = rustle_engine::Context {
            target: &LocalTarget,
            files: &files,
            stop: &STOP,
            delegates: None,
        };
        let state = rustle_engine::run_stretch(&payload.slice, stretch, &cx, &mut emit);
        state.stopped
    } else {
        let stats = rustle_engine::run_host(&payload.slice, &LocalTarget, &files, &mut emit);
        stats.failures > 0
    };
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
