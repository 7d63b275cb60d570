//! `rustle-plan` turns a parsed document into a plan: which hosts each
//! play runs on, each host's inventory variables merged by Ansible's
//! precedence (templates left raw), how to reach it, whether it runs
//! through a deployed runner or over SSH, and a content hash of each
//! host's slice. It never touches the network or a target.

mod explain;
mod hints;

use std::collections::BTreeMap;

use rustle_format::{
    Connection, Document, ExecMode, HostPlan, Inventory, Map, Plan, PlannedPlay, Stage, Value,
};
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
    for (i, play) in doc.parsed.plays.iter().enumerate() {
        let mut hosts =
            rustle_select::resolve(inv, &play.hosts).map_err(|source| PlanError::Pattern {
                play: i,
                name: play.name.clone(),
                source,
            })?;
        if hosts.is_empty() {
            warnings.push(format!(
                "Could not match supplied host pattern, ignoring: {}",
                play.hosts
            ));
        }
        if let Some(l) = &limit {
            hosts.retain(|h| l.contains(h));
        }
        order_hosts(&mut hosts, play.keywords.get("order"), &play.name)?;
        let batches = batch_sizes(play.keywords.get("serial"), hosts.len()).map_err(|msg| {
            PlanError::Keyword {
                play: i,
                name: play.name.clone(),
                msg,
            }
        })?;
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

/// Puts the play's hosts in its `order`. `shuffle` is seeded from the
/// play's name so that the same input plans the same way.
fn order_hosts(hosts: &mut [String], order: Option<&Value>, play: &str) -> Result<(), PlanError> {
    match order.and_then(Value::as_str).unwrap_or("inventory") {
        "inventory" => {}
        "reverse_inventory" => hosts.reverse(),
        "sorted" => hosts.sort(),
        "reverse_sorted" => {
            hosts.sort();
            hosts.reverse();
        }
        "shuffle" => {
            let digest = rustle_format::sha256_hex(play.as_bytes());
            let mut state = u64::from_str_radix(&digest[..16], 16).unwrap_or(1) | 1;
            for i in (1..hosts.len()).rev() {
                // xorshift64*: small, deterministic, good enough to shuffle.
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
                hosts.swap(i, (r % (i as u64 + 1)) as usize);
            }
        }
        other => {
            return Err(PlanError::Keyword {
                play: 0,
                name: play.to_owned(),
                msg: format!(
                    "order must be one of inventory, reverse_inventory, sorted, reverse_sorted, shuffle; got {other:?}"
                ),
            });
        }
    }
    Ok(())
}

/// Batch sizes from `serial` (a number, a percentage, or a list of them,
/// the last repeating), as Ansible's `_get_serialized_batches`.
fn batch_sizes(serial: Option<&Value>, total: usize) -> Result<Vec<u32>, String> {
    let steps: Vec<&Value> = match serial {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    let size = |v: &Value| -> Result<i64, String> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| format!("serial must be an integer, got {n}")),
            Value::String(s) if s.trim().ends_with('%') => {
                let pct: f64 = s
                    .trim()
                    .trim_end_matches('%')
                    .parse()
                    .map_err(|_| format!("invalid serial {s:?}"))?;
                let n = (pct / 100.0 * total as f64) as i64;
                Ok(if n == 0 { 1 } else { n })
            }
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| format!("serial must be a number or a percentage, got {s:?}")),
            other => Err(format!(
                "serial must be a number or a percentage, got {other}"
            )),
        }
    };
    let mut out = Vec::new();
    let mut left = total;
    let mut step = 0;
    while left > 0 {
        let n = match steps.get(step) {
            Some(v) => size(v)?,
            None => -1,
        };
        let take = if n <= 0 { left } else { (n as usize).min(left) };
        out.push(take as u32);
        left -= take;
        step = (step + 1).min(steps.len().saturating_sub(1));
    }
    Ok(out)
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

/// The variables [`connection`] and the execution mode are read from.
const CONNECTION_VARS: &[&str] = &[
    "ansible_connection",
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_ssh_timeout",
    "ansible_timeout",
    "rustle_mode",
];

/// Group depths below `all` (the longest path, as Ansible computes them)
/// and each group's hosts, computed once for all hosts.
struct Membership {
    depth: BTreeMap<String, usize>,
    members: BTreeMap<String, std::collections::HashSet<String>>,
}

impl Membership {
    fn new(inv: &Inventory) -> Membership {
        let mut depth: BTreeMap<String, usize> = BTreeMap::new();
        depth.insert("all".to_owned(), 0);
        // Relax depths; the group graph is small and acyclic.
        for _ in 0..inv.groups.len() {
            let mut changed = false;
            for g in &inv.groups {
                let Some(&d) = depth.get(&g.name) else {
                    continue;
                };
                for c in &g.children {
                    if depth.get(c).is_none_or(|&cd| cd < d + 1) {
                        depth.insert(c.clone(), d + 1);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        for g in &inv.groups {
            depth.entry(g.name.clone()).or_insert(1);
        }
        let members = inv
            .groups
            .iter()
            .map(|g| {
                (
                    g.name.clone(),
                    inv.group_members(&g.name).into_iter().collect(),
                )
            })
            .collect();
        Membership { depth, members }
    }

    /// Every group that holds the host, directly or through children,
    /// with its depth.
    fn groups_of(&self, host: &str) -> BTreeMap<String, usize> {
        self.depth
            .iter()
            .filter(|(g, _)| *g == "all" || self.members.get(*g).is_some_and(|m| m.contains(host)))
            .map(|(g, d)| (g.clone(), *d))
            .collect()
    }
}

/// Ansible's order: inventory-file group vars (from `all` down by depth,
/// then `ansible_group_priority`, then name), then `group_vars/all`, then
/// the other `group_vars/` in the same order, then host vars.
fn merged_vars(
    inv: &Inventory,
    host: &str,
    groups: &BTreeMap<String, usize>,
) -> Map<String, Value> {
    let mut order: Vec<(usize, i64, &str)> = groups
        .iter()
        .filter_map(|(g, &d)| {
            let grp = inv.group(g)?;
            let prio = grp
                .vars
                .get("ansible_group_priority")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            Some((d, prio, grp.name.as_str()))
        })
        .collect();
    order.sort();
    let mut vars = Map::new();
    let groups: Vec<&rustle_format::Group> =
        order.iter().filter_map(|(_, _, g)| inv.group(g)).collect();
    for g in &groups {
        vars.extend(g.vars.clone());
    }
    for g in &groups {
        vars.extend(g.group_vars.clone());
    }
    if let Some(h) = inv.host(host) {
        vars.extend(h.vars.clone());
    }
    vars
}

fn connection(name: &str, vars: &Map<String, Value>, implicit: bool) -> Connection {
    let text = |k: &str| match vars.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let kind = text("ansible_connection");
    if kind.as_deref() == Some("local") || (implicit && kind.is_none()) {
        return Connection::Local;
    }
    let mut extra_args = Vec::new();
    for k in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
        if let Some(a) = text(k) {
            extra_args.extend(shlex::split(&a).unwrap_or_default());
        }
    }
    Connection::Ssh {
        address: text("ansible_host").unwrap_or_else(|| name.to_owned()),
        port: text("ansible_port").and_then(|p| p.parse().ok()),
        user: text("ansible_user"),
        private_key_file: text("ansible_ssh_private_key_file")
            .or_else(|| text("ansible_private_key_file")),
        extra_args,
        timeout: text("ansible_ssh_timeout")
            .or_else(|| text("ansible_timeout"))
            .and_then(|t| t.parse().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_batches_as_ansible_splits_them() {
        let cases = [
            (serde_json::json!(null), 5, vec![5]),
            (serde_json::json!(1), 3, vec![1, 1, 1]),
            (serde_json::json!(3), 5, vec![3, 2]),
            (serde_json::json!("30%"), 10, vec![3, 3, 3, 1]),
            (serde_json::json!("30%"), 2, vec![1, 1]),
            (serde_json::json!([1, 5, "50%"]), 20, vec![1, 5, 10, 4]),
            (serde_json::json!(0), 4, vec![4]),
            (serde_json::json!(2), 0, vec![]),
        ];
        for (serial, total, expected) in cases {
            let got = batch_sizes(Some(&serial), total).unwrap();
            assert_eq!(got, expected, "serial {serial} over {total} hosts");
        }
    }

    #[test]
    fn orders() {
        let hosts = || vec!["b".to_owned(), "c".to_owned(), "a".to_owned()];
        let order = |o: &str| {
            let mut h = hosts();
            order_hosts(&mut h, Some(&Value::from(o)), "p").unwrap();
            h.join("")
        };
        assert_eq!(order("inventory"), "bca");
        assert_eq!(order("reverse_inventory"), "acb");
        assert_eq!(order("sorted"), "abc");
        assert_eq!(order("reverse_sorted"), "cba");
        let shuffled = order("shuffle");
        assert_eq!(shuffled, order("shuffle"), "shuffle is seeded");
        let mut letters: Vec<char> = shuffled.chars().collect();
        letters.sort();
        assert_eq!(letters, ['a', 'b', 'c']);
    }
}
