//! The Rustle task engine: runs one host's slice of a plan
//! ([`rustle_format::HostSlice`]) task by task against a [`Target`] and
//! streams [`rustle_format::Event`]s as results arrive. It owns Ansible's
//! run-time semantics for a host: templating and variable precedence,
//! `when`/loops/`register`/handlers, native fact gathering and the
//! builtin modules. It is synchronous and small so that it can run inside
//! the `rustle-runner` binary on the host as well as from the controller.

mod become_user;
mod facts;
pub mod http;
pub mod jobs;
mod modules;
mod read_cache;
mod run;
pub mod shell_target;
pub mod target;
pub mod template;
mod util;
pub mod vault;

use std::sync::atomic::AtomicBool;

use rustle_format::{Event, HostSlice, HostState, HostStats, Stretch};

pub use facts::namespaced as namespaced_facts;
pub use shell_target::{Shell, ShellTarget};
pub use target::{ExecOutput, ExecRequest, FileKind, FileStat, LocalTarget, Target};
pub use util::time::format_timestamp;

/// Where `copy src:` bytes come from, by the path as written in the task.
pub trait FileSource {
    fn read(&self, src: &str) -> std::io::Result<Vec<u8>>;

    /// The file for a task's `src` and the key it was found under
    /// (relative to the playbook directory unless absolute).
    fn find(&self, src: &str) -> std::io::Result<(String, Vec<u8>)> {
        Ok((src.to_owned(), self.read(src)?))
    }

    /// The keys of the files under the directory `dir` (a key without its
    /// trailing `/`), at any depth, in name order; empty when there is no
    /// such directory. Only files are known: empty directories and links
    /// are not kept.
    /// The file under exactly this key (no lookup in other places).
    fn exact(&self, key: &str) -> std::io::Result<Vec<u8>> {
        self.read(key)
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let _ = dir;
        Vec::new()
    }

    /// The path of the role whose task looks for files (relative to the
    /// playbook directory unless absolute), searched first.
    fn role(&self) -> Option<&str> {
        None
    }

    /// A task's directory `src`: the key it was found under and the paths
    /// of its files relative to it, in name order.
    fn find_dir(&self, src: &str) -> Option<(String, Vec<String>)> {
        let dir = src.trim_end_matches('/');
        let rel = relative(dir, self.list(dir));
        (!rel.is_empty()).then(|| (dir.to_owned(), rel))
    }
}

/// `keys` (all under `dir/`) relative to `dir`.
pub fn relative(dir: &str, keys: Vec<String>) -> Vec<String> {
    let prefix = format!("{dir}/");
    keys.into_iter()
        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

/// The keys under `dir/` among `keys`, sorted: for [`FileSource::list`].
pub fn keys_under<'a>(dir: &str, keys: impl Iterator<Item = &'a str>) -> Vec<String> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let mut out: Vec<String> = keys
        .filter(|k| k.starts_with(&prefix))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
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

/// A host a task is delegated to (`delegate_to`), as the engine reaches it.
pub struct Delegate {
    pub target: std::sync::Arc<dyn Target + Send + Sync>,
    /// The delegated host's `ansible_host` (else its name), which results
    /// show as `[web1 -> db1(<label>)]` when it differs from the name.
    pub label: String,
}

/// Where `delegate_to` hosts are reached from. The runner has none (it
/// reaches only its own host); exec gives one when it runs delegated tasks.
pub trait Delegates: Sync {
    fn delegate(&self, host: &str) -> Result<Delegate, String>;
}

/// What a stretch runs with besides the slice.
pub struct Context<'a> {
    pub target: &'a dyn Target,
    pub files: &'a dyn FileSource,
    /// Once set, no further step starts (the one running finishes).
    pub stop: &'a AtomicBool,
    pub delegates: Option<&'a dyn Delegates>,
}

/// Runs one stretch of `slice` (some steps of one play) from the state the
/// host reached, calling `emit` with each event, and ends with
/// `Event::StretchDone` carrying the state it reached, which it returns.
pub fn run_stretch(
    slice: &HostSlice,
    stretch: Stretch,
    cx: &Context,
    emit: &mut dyn FnMut(Event),
) -> HostState {
    let state = run::HostRun::new(slice, cx.target, cx.files, emit)
        .with_stop(cx.stop)
        .with_delegates(cx.delegates)
        .run_stretch(stretch);
    emit(Event::StretchDone {
        host: slice.host.clone(),
        state: state.clone(),
    });
    state
}
