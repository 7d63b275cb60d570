//! Selection as Ansible does it, shared by the stages that need it (parse
//! and plan for `--list-*`, plan for the plan, the engine for tags): which
//! hosts a pattern names, which tasks tags and skip-tags let run, and the
//! listings ansible-playbook prints.

mod hosts;
mod listing;
mod tags;

pub use hosts::{PatternError, resolve};
pub use listing::{ListOptions, listing};
pub use tags::{TagFilter, task_tags};
