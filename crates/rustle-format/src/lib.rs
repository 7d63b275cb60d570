//! The Rustle wire format. This crate alone owns the JSON types that flow
//! between the stages (`rustle-parse | rustle-plan | rustle-deploy |
//! rustle-exec`), the format version, reading a document with validation
//! (version and stage first, then fields with their JSON path), writing it
//! deterministically, the per-host slice that a runner executes, and the
//! event lines that the runner and `rustle-exec` stream.

mod document;
mod event;
mod hash;
pub mod keywords;
mod parsed;
mod plan;
mod slice;
mod stretch;

pub use document::{
    DeployedHost, Deployment, Document, FORMAT_NAME, FORMAT_VERSION, FormatError, SECRET_VARS,
    Stage, redact,
};
pub use event::{EVENT_VERSION, Event, EventLine, HostStats, Status, TaskKey, is_loop_result};
pub use hash::{sha256_hex, sha256_hex_json};
pub use parsed::{
    Block, FileRef, Group, Host, Inventory, Parsed, Play, Role, TOP_VARS_FILES, Task,
    VARS_EXTENSIONS, VAULT_JSON_KEY, VAULT_KEY, Vars, is_vaulted, source_dir, src_candidates,
    src_dirs, src_subdir, vars_dir_candidates, vars_files_keys,
};
pub use plan::{
    Connection, ExecMode, Hint, HintKind, HostPlan, Plan, PlannedPlay, SyncPoint, slice_vars,
};
pub use slice::{HostSlice, SliceParts, SlicePlay};
pub use stretch::{HostState, Secret, Stretch, VaultSecret};

/// Re-exported so that every stage uses the same JSON value type.
pub use serde_json::{Map, Value};
