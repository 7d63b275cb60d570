//! Selection as Ansible does it, shared by the stages that need it (parse
//! and plan for `--list-*`, plan for the plan, the engine for tags): which
//! hosts a pattern names, in what order and batches a play takes them,
//! what the inventory says about a host (groups, merged variables, how it
//! is reached), which tasks tags and skip-tags let run, and the listings
//! ansible-playbook prints.

mod batches;
mod hosts;
pub mod inventory;
mod listing;
mod tags;

pub use batches::{batch_sizes, order_hosts};

pub use hosts::{PatternError, resolve};
pub use listing::{ListOptions, listing};
pub use tags::{TagFilter, task_tags};
