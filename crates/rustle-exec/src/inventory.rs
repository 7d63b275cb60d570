//! The inventory as the run changes it: `group_by` puts hosts in groups
//! and `add_host` adds hosts, as ansible-core's strategy applies their
//! results (`add_dynamic_group`, `add_dynamic_host`), saying whether
//! anything changed. Plays whose hosts the run decides
//! (`PlannedPlay::hosts_at_run_time`) pick them from it, and stretches get
//! its `groups`/`group_names` once it differs from the plan's.

use std::collections::{HashMap, HashSet};

use rustle_format::{ExecMode, Group, Host, HostPlan, Inventory, Map, Value, Vars};

pub struct RunInventory {
    inv: Inventory,
    /// Whether the run changed it (stretches then get `groups`).
    changed: bool,
    /// `groups` and each host's `group_names`, kept while it does not change.
    groups: Map<String, Value>,
    names: HashMap<String, Vec<String>>,
    /// How many hosts the run added (the first in `inv.hosts`).
    added: usize,
    /// Hosts whose groups or variables the run changed.
    touched: HashSet<String>,
}

/// What `add_host` did.
#[derive(Debug, PartialEq, Eq)]
pub struct Added {
    pub changed: bool,
    /// The host was not in the inventory.
    pub new: bool,
}

impl RunInventory {
    pub fn new(inv: &Inventory) -> RunInventory {
        let mut run = RunInventory {
            inv: inv.clone(),
            changed: false,
            groups: Map::new(),
            names: HashMap::new(),
            added: 0,
            touched: HashSet::new(),
        };
        run.refresh();
        run
    }

    pub fn changed(&self) -> bool {
        self.changed
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inv
    }

    /// The `groups` magic variable.
    pub fn groups(&self) -> &Map<String, Value> {
        &self.groups
    }

    /// The host's `group_names` (sorted, without `all` and `ungrouped`).
    pub fn group_names(&self, host: &str) -> Vec<String> {
        self.names.get(host).cloned().unwrap_or_default()
    }

    fn refresh(&mut self) {
        self.groups = self.inv.groups_map();
        self.names.clear();
        for (group, hosts) in &self.groups {
            if group == "all" || group == "ungrouped" {
                continue;
            }
            for h in hosts.as_array().into_iter().flatten() {
                if let Some(h) = h.as_str() {
                    self.names
                        .entry(h.to_owned())
                        .or_default()
                        .push(group.clone());
                }
            }
        }
        for names in self.names.values_mut() {
            names.sort();
        }
    }

    fn group_mut(&mut self, name: &str) -> (&mut Group, bool) {
        let created = self.inv.group(name).is_none();
        if created {
            let group_vars = match self.inv.run_time_group_vars.get(name) {
                Some(Value::Object(vars)) => vars.clone(),
                _ => Vars::new(),
            };
            self.inv.groups.push(Group {
                name: name.to_owned(),
                hosts: Vec::new(),
                children: Vec::new(),
                vars: Vars::new(),
                group_vars,
            });
        }
        let g = self
            .inv
            .groups
            .iter_mut()
            .find(|g| g.name == name)
            .expect("the group is there");
        (g, created)
    }

    /// Puts `host` in `group`, under `parents`, as `group_by` does; says
    /// whether that changed the inventory.
    pub fn add_group(&mut self, host: &str, group: &str, parents: &[String]) -> bool {
        let mut changed = false;
        self.group_mut(group);
        for parent in parents {
            let (p, created) = self.group_mut(parent);
            changed |= created;
            if !p.children.iter().any(|c| c == group) {
                p.children.push(group.to_owned());
                changed = true;
            }
        }
        changed |= self.join(host, group);
        self.touched.insert(host.to_owned());
        self.settle(changed)
    }

    /// Adds the host `add_host` names (or updates its variables and
    /// groups).
    pub fn add_host(&mut self, name: &str, groups: &[String], vars: &Vars) -> Added {
        let new = self.inv.host(name).is_none();
        if new {
            // Ansible puts them in `all` itself, whose own hosts come
            // before its groups': `all` lists them first, in the order added.
            self.inv.hosts.insert(
                self.added,
                Host {
                    name: name.to_owned(),
                    vars: Vars::new(),
                    implicit: false,
                },
            );
            self.added += 1;
        }
        let mut changed = new;
        let host = self
            .inv
            .hosts
            .iter_mut()
            .find(|h| h.name == name)
            .expect("the host is there");
        for (k, v) in vars {
            if host.vars.get(k) != Some(v) {
                host.vars.insert(k.clone(), v.clone());
                changed = true;
            }
        }
        if new && let Some(Value::Object(files)) = self.inv.run_time_host_vars.get(name) {
            // `host_vars/` rank above the variables add_host gives.
            host.vars.extend(files.clone());
        }
        for g in groups {
            let (_, created) = self.group_mut(g);
            changed |= created;
            changed |= self.join(name, g);
        }
        if new && groups.is_empty() {
            self.join(name, "ungrouped");
        }
        Added {
            changed: self.settle(changed),
            new,
        }
    }

    /// Adds `host` to `group`'s own hosts (and out of `ungrouped`),
    /// unless the group holds it already (its children's hosts included).
    fn join(&mut self, host: &str, group: &str) -> bool {
        if self.inv.group_members(group).iter().any(|h| h == host) {
            return false;
        }
        let (g, _) = self.group_mut(group);
        g.hosts.push(host.to_owned());
        if group != "ungrouped"
            && let Some(u) = self.inv.groups.iter_mut().find(|g| g.name == "ungrouped")
        {
            u.hosts.retain(|h| h != host);
        }
        true
    }

    fn settle(&mut self, changed: bool) -> bool {
        if changed {
            self.changed = true;
            self.refresh();
        }
        changed
    }

    /// The host's inventory variables merged again, when the run changed
    /// its groups or variables (`None`: the plan's still hold).
    pub fn vars_of(&self, host: &str) -> Option<Vars> {
        self.touched
            .contains(host)
            .then(|| rustle_select::inventory::host_vars(&self.inv, host).1)
    }

    /// What the plan would have said about a host the run added: its
    /// groups, merged variables and connection; it runs over SSH (no
    /// runner was deployed for it).
    pub fn host_plan(&self, name: &str) -> HostPlan {
        let (groups, vars) = rustle_select::inventory::host_vars(&self.inv, name);
        let connection = rustle_select::inventory::connection(name, &vars, false);
        HostPlan {
            name: name.to_owned(),
            groups,
            vars,
            connection,
            mode: ExecMode::Ssh,
            slice_sha256: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustle_format::Connection;

    fn inventory() -> Inventory {
        let group = |name: &str, hosts: &[&str], children: &[&str]| Group {
            name: name.into(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            children: children.iter().map(|h| h.to_string()).collect(),
            vars: Vars::new(),
            group_vars: Vars::new(),
        };
        let host = |name: &str| Host {
            name: name.into(),
            vars: Vars::new(),
            implicit: false,
        };
        Inventory {
            sources: vec!["hosts".into()],
            hosts: vec![host("h1"), host("h2"), host("h3")],
            groups: vec![
                group("all", &[], &["ungrouped", "web"]),
                group("ungrouped", &["h3"], &[]),
                group("web", &["h1", "h2"], &[]),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn group_by_changes_once_per_host_and_group() {
        let mut run = RunInventory::new(&inventory());
        assert!(!run.changed());
        let all = ["all".to_owned()];
        assert!(run.add_group("h1", "odd", &all));
        assert!(run.add_group("h3", "odd", &all));
        assert!(!run.add_group("h1", "odd", &all), "already in it");
        assert!(
            run.add_group("h1", "odd", &["sorted".to_owned()]),
            "new parent"
        );
        assert!(run.changed());
        assert_eq!(run.group_names("h1"), ["odd", "sorted", "web"]);
        assert_eq!(run.group_names("h3"), ["odd", "sorted"]);
        assert_eq!(run.groups()["ungrouped"], serde_json::json!([]));
        assert_eq!(
            rustle_select::resolve(run.inventory(), "sorted:!h3").unwrap(),
            ["h1"]
        );
    }

    #[test]
    fn add_host_adds_a_host_with_its_groups_and_vars() {
        let mut run = RunInventory::new(&inventory());
        let vars: Vars = serde_json::from_value(serde_json::json!({
            "ansible_connection": "local", "color": "red"
        }))
        .unwrap();
        let groups = ["added".to_owned(), "web".to_owned()];
        let added = run.add_host("x1", &groups, &vars);
        assert_eq!(
            added,
            Added {
                changed: true,
                new: true
            }
        );
        let again = run.add_host("x1", &groups, &vars);
        assert_eq!(
            again,
            Added {
                changed: false,
                new: false
            }
        );
        assert_eq!(run.group_names("x1"), ["added", "web"]);
        // Added hosts come first, as in Ansible's `all` (Ansible lists a
        // group's hosts in the order they joined it: h1, h2, x1).
        assert_eq!(
            rustle_select::resolve(run.inventory(), "web").unwrap(),
            ["x1", "h1", "h2"]
        );
        let hp = run.host_plan("x1");
        assert!(matches!(hp.connection, Connection::Local));
        assert_eq!(hp.vars["color"], "red");
        let alone = run.add_host("x2", &[], &Vars::new());
        assert!(alone.new);
        assert_eq!(run.groups()["ungrouped"], serde_json::json!(["x2", "h3"]));
        assert_eq!(
            run.groups()["all"],
            serde_json::json!(["x1", "x2", "h1", "h2", "h3"])
        );
    }
}
