//! Selection as Ansible does it, shared by the stages that need it (parse
//! for `--list-*`, plan for the plan): which hosts a pattern names, and
//! which tasks tags and skip-tags let run.

mod hosts;
mod tags;

pub use hosts::{PatternError, resolve};
pub use tags::{TagFilter, task_tags};
