//! What an inventory says about a host, as Ansible reads it: the groups
//! that hold it, its variables merged by Ansible's precedence (templates
//! left raw) and how it is reached. Plan computes this for the hosts it
//! plans, and exec for the hosts `add_host` adds during a run.

use std::collections::BTreeMap;

use rustle_format::{Connection, Inventory, Map, Value};

/// The variables [`connection`] and the execution mode are read from.
pub const CONNECTION_VARS: &[&str] = &[
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
pub struct Membership {
    depth: BTreeMap<String, usize>,
    members: BTreeMap<String, std::collections::HashSet<String>>,
}

impl Membership {
    pub fn new(inv: &Inventory) -> Membership {
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
    pub fn groups_of(&self, host: &str) -> BTreeMap<String, usize> {
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
pub fn merged_vars(
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

pub fn connection(name: &str, vars: &Map<String, Value>, implicit: bool) -> Connection {
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

/// A host's groups (`all` included, sorted) and merged variables, for one
/// host of an inventory (plan computes [`Membership`] once for many).
pub fn host_vars(inv: &Inventory, host: &str) -> (Vec<String>, Map<String, Value>) {
    let groups = Membership::new(inv).groups_of(host);
    let vars = merged_vars(inv, host, &groups);
    (groups.into_keys().collect(), vars)
}
