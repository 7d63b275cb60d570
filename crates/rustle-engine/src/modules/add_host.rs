//! `add_host`: adds a host (and its groups and variables) to the run's
//! inventory, as ansible-core's action plugin: the result says `add_host`
//! (`host_name`, `groups`, `host_vars`) and `changed: false`; rustle-exec
//! applies it to the run's inventory and, like Ansible's strategy, says
//! `changed` when the inventory changed. The action bypasses the host
//! loop: the plan makes it a sync point and exec runs it on the batch's
//! first live host only.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::action::action_failed;
use super::args::Args;
use super::{Module, ModuleCtx, ModuleResult, Outcome, result};

pub struct AddHost;

/// Arguments that name the host and its groups; the others are its vars.
const SPECIAL: &[&str] = &["name", "hostname", "groupname", "groups"];

impl Module for AddHost {
    fn params(&self) -> &'static [&'static str] {
        &[]
    }

    fn free_args(&self) -> bool {
        true
    }

    fn run(&self, _ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let mut args: Vars = args.0.clone();
        // `add_host: name=x groups=y` arrives as key=value pairs already;
        // a mapping given as the free-form value is merged under them.
        if let Some(raw) = args.remove("_raw_params") {
            let Json::Object(raw) = raw else {
                return Ok(action_failed(&format!(
                    "Invalid raw parameters passed, requires a dictionary/mapping got a  {}",
                    super::args::type_name(&raw)
                )));
            };
            let given = std::mem::replace(&mut args, raw);
            args.extend(given);
        }
        let Some(given) = ["name", "hostname", "host"]
            .iter()
            .find_map(|k| args.get(*k))
            .filter(|v| !v.is_null())
        else {
            return Ok(action_failed("name, host or hostname needs to be provided"));
        };
        let given = match given {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        let (name, port) = split_port(&given);
        if let Some(port) = port {
            args.insert("ansible_ssh_port".into(), json!(port));
        }
        let groups = ["groupname", "groups", "group"]
            .iter()
            .find_map(|k| args.get(*k))
            .cloned();
        let listed: Vec<String> = match groups {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::String(s)) if s.is_empty() => Vec::new(),
            Some(Json::String(s)) => s.split(',').map(str::to_owned).collect(),
            Some(Json::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Some(other) => {
                return Ok(action_failed(&format!(
                    "Groups must be specified as a list. Origin: {other}"
                )));
            }
        };
        let mut new_groups: Vec<String> = Vec::new();
        for g in listed {
            if !new_groups.contains(&g) {
                new_groups.push(g.trim().to_owned());
            }
        }
        let host_vars: Vars = args
            .iter()
            .filter(|(k, _)| !SPECIAL.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Outcome::new(result([
            ("changed", json!(false)),
            (
                "add_host",
                json!({"host_name": name, "groups": new_groups, "host_vars": host_vars}),
            ),
        ])))
    }
}

/// `host:port` (or `[v6]:port`) into the name and the port, as
/// ansible-core's `parse_address`; a name it cannot split stays whole.
fn split_port(given: &str) -> (String, Option<u16>) {
    if let Some(rest) = given.strip_prefix('[')
        && let Some((host, tail)) = rest.split_once(']')
    {
        let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
        return (host.to_owned(), port);
    }
    match given.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && !host.is_empty() => match port.parse() {
            Ok(p) => (host.to_owned(), Some(p)),
            Err(_) => (given.to_owned(), None),
        },
        _ => (given.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::split_port;

    #[test]
    fn names_split_at_a_port_as_parse_address_does() {
        assert_eq!(split_port("web1"), ("web1".into(), None));
        assert_eq!(split_port("web1:2222"), ("web1".into(), Some(2222)));
        assert_eq!(split_port("10.0.0.1:22"), ("10.0.0.1".into(), Some(22)));
        assert_eq!(split_port("[::1]:2200"), ("::1".into(), Some(2200)));
        assert_eq!(split_port("::1"), ("::1".into(), None));
    }
}
