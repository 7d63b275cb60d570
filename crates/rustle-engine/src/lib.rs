//! The Rustle task engine: runs one host's slice of a plan
//! ([`rustle_format::HostSlice`]) task by task against a [`Target`] and
//! streams [`rustle_format::Event`]s as results arrive. It owns Ansible's
//! run-time semantics for a host: templating and variable precedence,
//! `when`/loops/`register`/handlers, native fact gathering and the
//! builtin modules. It is synchronous and small so that it can run inside
//! the `rustle-runner` binary on the host as well as from the controller.

mod facts;
mod modules;
mod run;
pub mod target;
pub mod template;
mod util;

use std::sync::atomic::AtomicBool;

use rustle_format::{Event, HostSlice, HostState, HostStats, Stretch};

pub use target::{ExecOutput, ExecRequest, FileKind, FileStat, LocalTarget, Target};
pub use util::time::format_timestamp;

/// Where `copy src:` bytes come from, by the path as written in the task.
pub trait FileSource {
    fn read(&self, src: &str) -> std::io::Result<Vec<u8>>;
}

/// A source without files: every read is `NotFound`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, src: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no file source for '{src}'"),
        ))
    }
}

/// Runs every play of `slice` for its host, calling `emit` with each event
/// as it happens, and ends with `Event::HostDone`. A failed task (not
/// ignored) stops the host. Returns the host's stats.
pub fn run_host(
    slice: &HostSlice,
    target: &dyn Target,
    files: &dyn FileSource,
    emit: &mut dyn FnMut(Event),
) -> HostStats {
    run::HostRun::new(slice, target, files, emit).run()
}

/// Runs one stretch of `slice` (some steps of one play) from the state the
/// host reached, calling `emit` with each event, and ends with
/// `Event::StretchDone` carrying the state it reached, which it returns.
/// Once `stop` is set, no further step starts (the one running finishes).
pub fn run_stretch(
    slice: &HostSlice,
    stretch: Stretch,
    target: &dyn Target,
    files: &dyn FileSource,
    emit: &mut dyn FnMut(Event),
    stop: &AtomicBool,
) -> HostState {
    let state = run::HostRun::new(slice, target, files, emit)
        .with_stop(stop)
        .run_stretch(stretch);
    emit(Event::StretchDone {
        host: slice.host.clone(),
        state: state.clone(),
    });
    state
}
