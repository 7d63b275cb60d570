//! `rustle-plan` turns a parsed document into a plan: which hosts each
//! play runs on, each host's inventory variables merged by Ansible's
//! precedence (templates left raw), how to reach it, whether it runs
//! through a deployed runner or over SSH, and a content hash of each
//! host's slice. It never touches the network or a target.

mod explain;
mod hints;

use rustle_format::{
    Document, ExecMode, HostPlan, Inventory, Map, Plan, PlannedPlay, Stage, Value,
};
use rustle_select::inventory::{CONNECTION_VARS, Membership, connection, merged_vars};
use rustle_select::{TagFilter, task_tags};

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub limit: Option<String>,
    pub forks: u32,
    pub check: bool,
    pub diff: bool,
    /// Every host runs task by task over SSH, no runner.
    pub ssh_only: bool,
    /// `--tags` and `--skip-tags`, each possibly comma-separated.
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    /// `-e` values, above those given to rustle-parse.
    pub extra_vars: Map<String, Value>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            limit: None,
            forks: 5,
            check: false,
            diff: false,
            ssh_only: false,
            tags: Vec::new(),
            skip_tags: Vec::new(),
            extra_vars: Map::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("play {play} ({name:?}): {source}")]
    Pattern {
        play: usize,
        name: String,
        #[source]
        source: rustle_select::PatternError,
    },
    #[error("--limit: {0}")]
    Limit(#[source] rustle_select::PatternError),
    /// Plan reads connection variables without the vault password.
    #[error(
        "host {host}: {var} is vault-encrypted; rustle-plan connects from what the \
         inventory gives in plain text and never decrypts: give {var} unencrypted"
    )]
    VaultedConnection { host: String, var: String },
    #[error("play {play} ({name:?}): {msg}")]
    Keyword {
        play: usize,
        name: String,
        msg: String,
    },
}

pub use explain::explain;

/// A `--limit` value: `@FILE` names a file of host patterns, one a line.
pub fn limit_pattern(limit: &str) -> std::io::Result<String> {
    match limit.strip_prefix('@') {
        Some(file) => Ok(std::fs::read_to_string(file)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join(",")),
        None => Ok(limit.to_owned()),
    }
}

/// What planning noticed that a user should hear about (Ansible's warnings).
pub type Warnings = Vec<String>;

/// Adds the `plan` section to a parsed document.
pub fn plan(mut doc: Document, opts: &PlanOptions) -> Result<(Document, Warnings), PlanError> {
    let inv = &doc.parsed.inventory;
    let mut warnings = Vec::new();
    if inv.sources.is_empty() {
        warnings.push("No inventory was parsed, only implicit localhost is available".to_owned());
    } else if inv.hosts.iter().all(|h| h.implicit) {
        warnings.push(
            "provided hosts list is empty, only localhost is available. Note that the implicit localhost does not match 'all'"
                .to_owned(),
        );
    }
    let limit = match &opts.limit {
        Some(l) => Some(rustle_select::resolve(inv, l).map_err(PlanError::Limit)?),
        None => None,
    };
    let filter = TagFilter::new(&opts.tags, &opts.skip_tags);
    let mut plays = Vec::new();
    // Once a play changes the inventory, later plays' hosts are the run's
    // to pick.
    let mut inventory_changes = false;
    for (i, play) in doc.parsed.plays.iter().enumerate() {
        let templated = play.hosts.contains("{{") || play.hosts.contains("{%");
        let hosts_at_run_time = templated || inventory_changes;
        let mut hosts = if hosts_at_run_time {
            inv.hosts.iter().map(|h| h.name.clone()).collect()
        } else {
            rustle_select::resolve(inv, &play.hosts).map_err(|source| PlanError::Pattern {
                play: i,
                name: play.name.clone(),
                source,
            })?
        };
        if hosts.is_empty() && !hosts_at_run_time {
            warnings.push(format!(
                "Could not match supplied host pattern, ignoring: {}",
                play.hosts
            ));
        }
        inventory_changes |= play.tasks.iter().chain(&play.handlers).any(|t| {
            let mut found = false;
            t.visit(&mut |t| found |= t.changes_inventory());
            found
        });
        if let Some(l) = &limit {
            hosts.retain(|h| l.contains(h));
        }
        let keyword = |msg| PlanError::Keyword {
            play: i,
            name: play.name.clone(),
            msg,
        };
        rustle_select::order_hosts(&mut hosts, play.keywords.get("order"), &play.name)
            .map_err(keyword)?;
        let batches = rustle_select::batch_sizes(play.keywords.get("serial"), hosts.len())
            .map_err(keyword)?;
        let tasks = selected_tasks(play, &filter);
        let (hints, sync_points) = hints::hints_and_sync_points(play, &tasks);
        let number = |k: &str| match play.keywords.get(k) {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().trim_end_matches('%').parse().ok(),
            _ => None,
        };
        plays.push(PlannedPlay {
            play: i as u32,
            hosts,
            hosts_at_run_time,
            batches,
            max_fail_percentage: number("max_fail_percentage"),
            any_errors_fatal: matches!(
                play.keywords.get("any_errors_fatal"),
                Some(Value::Bool(true))
            ),
            strategy: play
                .keywords
                .get("strategy")
                .and_then(Value::as_str)
                .unwrap_or("linear")
                .to_owned(),
            tasks,
            hints,
            sync_points,
        });
    }
    if limit.as_ref().is_some_and(Vec::is_empty) {
        warnings.push("No hosts matched the subset, nothing to do".to_owned());
    }
    let membership = Membership::new(inv);
    let in_plays: std::collections::HashSet<&String> =
        plays.iter().flat_map(|p| &p.hosts).collect();
    let hosts = inv
        .hosts
        .iter()
        .filter(|h| in_plays.contains(&h.name))
        .map(|h| host_plan(inv, &membership, &h.name, opts))
        .collect::<Result<_, _>>()?;
    doc.plan = Some(Plan {
        check: opts.check,
        diff: opts.diff,
        forks: opts.forks,
        tags: filter
            .only
            .iter()
            .filter(|t| *t != "all")
            .cloned()
            .collect(),
        skip_tags: filter.skip.clone(),
        extra_vars: opts.extra_vars.clone(),
        limit: opts.limit.clone(),
        plays,
        hosts,
    });
    doc.stage = Stage::Planned;
    let parts = doc.slice_parts();
    let hashes: Vec<String> = doc
        .plan
        .iter()
        .flat_map(|p| &p.hosts)
        .map(|h| {
            doc.host_slice_with(&h.name, &parts)
                .map(|s| s.sha256())
                .unwrap_or_default()
        })
        .collect();
    if let Some(plan) = doc.plan.as_mut() {
        for (h, sha) in plan.hosts.iter_mut().zip(hashes) {
            h.slice_sha256 = sha;
        }
    }
    Ok((doc, warnings))
}

/// Indices of the play's top-level tasks with something that tags let run
/// (blocks are kept when any task inside them runs; the engine filters
/// inside them at run time).
fn selected_tasks(play: &rustle_format::Play, filter: &TagFilter) -> Vec<u32> {
    let play_tags = task_tags(play.keywords.get("tags"));
    (0..play.tasks.len() as u32)
        .filter(|&i| any_selected(&play.tasks[i as usize], &play_tags, filter))
        .collect()
}

fn any_selected(task: &rustle_format::Task, inherited: &[String], filter: &TagFilter) -> bool {
    let mut tags = inherited.to_vec();
    tags.extend(task_tags(task.keywords.get("tags")));
    match &task.block {
        Some(b) => b
            .block
            .iter()
            .chain(&b.rescue)
            .chain(&b.always)
            .any(|t| any_selected(t, &tags, filter)),
        None => filter.runs(&tags),
    }
}

fn host_plan(
    inv: &Inventory,
    membership: &Membership,
    name: &str,
    opts: &PlanOptions,
) -> Result<HostPlan, PlanError> {
    let groups = membership.groups_of(name);
    let vars = merged_vars(inv, name, &groups);
    let implicit = inv.host(name).is_some_and(|h| h.implicit);
    if let Some(var) = CONNECTION_VARS
        .iter()
        .find(|k| vars.get(**k).is_some_and(rustle_format::is_vaulted))
    {
        return Err(PlanError::VaultedConnection {
            host: name.to_owned(),
            var: (*var).to_owned(),
        });
    }
    let connection = connection(name, &vars, implicit);
    let ssh_mode = opts.ssh_only || vars.get("rustle_mode").and_then(Value::as_str) == Some("ssh");
    Ok(HostPlan {
        name: name.to_owned(),
        groups: groups.keys().cloned().collect(),
        vars,
        connection,
        mode: if ssh_mode {
            ExecMode::Ssh
        } else {
            ExecMode::Runner
        },
        slice_sha256: String::new(),
    })
}
