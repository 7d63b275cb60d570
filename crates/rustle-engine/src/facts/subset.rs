//! `gather_subset`: which of setup's fact collectors run, resolved as
//! ansible-core 2.19's `get_collector_names` does (the minimal set always
//! first, `all`, `min`, `!name`, a collector picked by one of its fact
//! ids, an explicit name beating an exclusion, then each collector's
//! requirements), and which facts those collectors return. The table of
//! facts per collector was read off ansible-core's setup on Linux, one
//! collector at a time.

use std::collections::BTreeSet;

use serde_json::Value as Json;

/// One of setup's fact collectors on Linux.
struct Collector {
    name: &'static str,
    /// Fact ids that also name it in `gather_subset`.
    ids: &'static [&'static str],
    /// Collectors it needs (their facts come with it).
    requires: &'static [&'static str],
    /// The facts it returns, named without `ansible_`.
    facts: &'static [&'static str],
}

const fn c(
    name: &'static str,
    ids: &'static [&'static str],
    requires: &'static [&'static str],
    facts: &'static [&'static str],
) -> Collector {
    Collector {
        name,
        ids,
        requires,
        facts,
    }
}

const COLLECTORS: &[Collector] = &[
    c("apparmor", &[], &[], &["apparmor"]),
    c(
        "caps",
        &["system_capabilities", "system_capabilities_enforced"],
        &[],
        &["system_capabilities", "system_capabilities_enforced"],
    ),
    c("chroot", &["is_chroot"], &[], &["is_chroot"]),
    c("cmdline", &[], &[], &["cmdline", "proc_cmdline"]),
    c("date_time", &[], &[], &["date_time"]),
    c(
        "distribution",
        &[
            "distribution_major_version",
            "distribution_release",
            "distribution_version",
            "os_family",
        ],
        &[],
        &[
            "distribution",
            "distribution_file_parsed",
            "distribution_file_path",
            "distribution_file_variety",
            "distribution_major_version",
            "distribution_minor_version",
            "distribution_release",
            "distribution_version",
            "os_family",
        ],
    ),
    c("dns", &[], &[], &["dns"]),
    c("env", &[], &[], &["env"]),
    c("facter", &["facter"], &[], &[]),
    c("fibre_channel_wwn", &[], &[], &["fibre_channel_wwn"]),
    c("fips", &[], &[], &["fips"]),
    c(
        "hardware",
        &[
            "devices",
            "mounts",
            "processor",
            "processor_cores",
            "processor_count",
        ],
        &["platform"],
        &[
            "bios_date",
            "bios_vendor",
            "bios_version",
            "board_asset_tag",
            "board_name",
            "board_serial",
            "board_vendor",
            "board_version",
            "chassis_asset_tag",
            "chassis_serial",
            "chassis_vendor",
            "chassis_version",
            "device_links",
            "devices",
            "flags",
            "form_factor",
            "lvm",
            "memfree_mb",
            "memory_mb",
            "memtotal_mb",
            "mounts",
            "processor",
            "processor_cores",
            "processor_count",
            "processor_nproc",
            "processor_threads_per_core",
            "processor_vcpus",
            "product_name",
            "product_serial",
            "product_uuid",
            "product_version",
            "swapfree_mb",
            "swaptotal_mb",
            "system_vendor",
            "uptime_seconds",
        ],
    ),
    c("iscsi", &[], &[], &["iscsi_iqn"]),
    c("loadavg", &[], &[], &["loadavg"]),
    c("local", &[], &[], &["ansible_local"]),
    c("lsb", &[], &[], &["lsb"]),
    // Also each interface's own fact, named after it (see `keeps`).
    c(
        "network",
        &[
            "all_ipv4_addresses",
            "all_ipv6_addresses",
            "default_ipv4",
            "default_ipv6",
            "interfaces",
        ],
        &["distribution", "platform"],
        &[
            "all_ipv4_addresses",
            "all_ipv6_addresses",
            "default_ipv4",
            "default_ipv6",
            "interfaces",
            "locally_reachable_ips",
        ],
    ),
    c("nvme", &[], &[], &["hostnqn"]),
    c("ohai", &[], &[], &[]),
    c("pkg_mgr", &[], &["distribution"], &["pkg_mgr"]),
    c(
        "platform",
        &[
            "architecture",
            "kernel",
            "kernel_version",
            "machine",
            "machine_id",
            "python_version",
            "system",
        ],
        &[],
        &[
            "architecture",
            "domain",
            "fqdn",
            "hostname",
            "kernel",
            "kernel_version",
            "machine",
            "machine_id",
            "nodename",
            "python_version",
            "system",
            "userspace_architecture",
            "userspace_bits",
        ],
    ),
    c("python", &[], &[], &["python"]),
    c("selinux", &[], &[], &["selinux", "selinux_python_present"]),
    c(
        "service_mgr",
        &[],
        &["distribution", "platform"],
        &["service_mgr"],
    ),
    c(
        "ssh_pub_keys",
        &[
            "ssh_host_key_dsa_public",
            "ssh_host_key_ecdsa_public",
            "ssh_host_key_ed25519_public",
            "ssh_host_key_rsa_public",
            "ssh_host_pub_keys",
        ],
        &[],
        &[
            "ssh_host_key_dsa_public",
            "ssh_host_key_dsa_public_keytype",
            "ssh_host_key_ecdsa_public",
            "ssh_host_key_ecdsa_public_keytype",
            "ssh_host_key_ed25519_public",
            "ssh_host_key_ed25519_public_keytype",
            "ssh_host_key_rsa_public",
            "ssh_host_key_rsa_public_keytype",
        ],
    ),
    c("systemd", &[], &[], &["systemd"]),
    c(
        "user",
        &[
            "effective_group_ids",
            "effective_user_id",
            "real_user_id",
            "user_dir",
            "user_gecos",
            "user_gid",
            "user_id",
            "user_shell",
            "user_uid",
        ],
        &[],
        &[
            "effective_group_id",
            "effective_user_id",
            "real_group_id",
            "real_user_id",
            "user_dir",
            "user_gecos",
            "user_gid",
            "user_id",
            "user_shell",
            "user_uid",
        ],
    ),
    c(
        "virtual",
        &[
            "virtualization_role",
            "virtualization_tech_guest",
            "virtualization_tech_host",
            "virtualization_type",
        ],
        &[],
        &[
            "virtualization_role",
            "virtualization_tech_guest",
            "virtualization_tech_host",
            "virtualization_type",
        ],
    ),
];

/// setup's `minimal_gather_subset`: gathered whatever `gather_subset` says
/// unless `!min` excludes it.
const MINIMAL: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];

/// The collectors a `gather_subset` selects.
#[derive(Debug, PartialEq, Eq)]
pub struct Subset(BTreeSet<&'static str>);

impl Subset {
    /// Resolves `spec` as ansible-core does; an unknown name to add fails
    /// with its message (an unknown one to exclude is ignored).
    pub fn resolve(spec: &[String]) -> Result<Subset, String> {
        let valid: BTreeSet<&'static str> = COLLECTORS
            .iter()
            .flat_map(|c| std::iter::once(c.name).chain(c.ids.iter().copied()))
            .collect();
        let minimal: BTreeSet<&'static str> = MINIMAL.iter().copied().collect();
        let mut added: BTreeSet<&'static str> = BTreeSet::new();
        let mut excluded: BTreeSet<&'static str> = BTreeSet::new();
        let mut explicit: BTreeSet<&'static str> = BTreeSet::new();
        let with_min = std::iter::once("min").chain(spec.iter().map(String::as_str));
        for subset in with_min {
            match subset {
                "min" => added.extend(&minimal),
                "all" => added.extend(&valid),
                "!min" => excluded.extend(&minimal),
                "!all" => excluded.extend(valid.difference(&minimal)),
                _ => match subset.strip_prefix('!') {
                    Some(name) => {
                        if let Some(c) = COLLECTORS.iter().find(|c| c.name == name) {
                            excluded.extend(c.ids);
                        }
                        if let Some(v) = valid.get(name) {
                            excluded.insert(v);
                        }
                    }
                    None => {
                        let Some(v) = valid.get(subset) else {
                            let allowed: Vec<&str> = valid.iter().copied().collect();
                            return Err(format!(
                                "Bad subset '{subset}' given to Ansible. gather_subset options allowed: all, {}",
                                allowed.join(", ")
                            ));
                        };
                        explicit.insert(v);
                        added.insert(v);
                    }
                },
            }
        }
        if added.is_empty() {
            added.extend(&valid);
        }
        let dropped: BTreeSet<&'static str> = excluded.difference(&explicit).copied().collect();
        // Names (collector names or fact ids) to the collectors they pick.
        let mut chosen: BTreeSet<&'static str> = added
            .difference(&dropped)
            .flat_map(|name| {
                COLLECTORS
                    .iter()
                    .filter(move |c| c.name == *name || c.ids.contains(name))
                    .map(|c| c.name)
            })
            .collect();
        loop {
            let needed: Vec<&'static str> = COLLECTORS
                .iter()
                .filter(|c| chosen.contains(c.name))
                .flat_map(|c| c.requires.iter().copied())
                .filter(|r| !chosen.contains(r))
                .collect();
            if needed.is_empty() {
                break;
            }
            chosen.extend(needed);
        }
        Ok(Subset(chosen))
    }

    /// Whether the fact `key` (without `ansible_`) comes from a selected
    /// collector; `interfaces` (the `interfaces` fact) names network's
    /// per-interface facts.
    pub fn keeps(&self, key: &str, interfaces: &Json) -> bool {
        if let Some(c) = COLLECTORS.iter().find(|c| c.facts.contains(&key)) {
            return self.0.contains(c.name);
        }
        let interface = interfaces
            .as_array()
            .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(key)));
        if interface {
            return self.0.contains("network");
        }
        // Not a fact of setup's collectors (the engine's own markers).
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(spec: &[&str]) -> Vec<&'static str> {
        let spec: Vec<String> = spec.iter().map(|s| (*s).to_owned()).collect();
        Subset::resolve(&spec).unwrap().0.into_iter().collect()
    }

    #[test]
    fn resolves_as_ansible_core() {
        let every: BTreeSet<&str> = COLLECTORS.iter().map(|c| c.name).collect();
        assert_eq!(names(&["all"]), every.into_iter().collect::<Vec<_>>());
        assert_eq!(names(&["!all"]), MINIMAL.to_vec());
        assert!(names(&["!all", "!min"]).is_empty());
        assert_eq!(
            names(&["!all", "!min", "network"]),
            vec!["distribution", "network", "platform"]
        );
        // A fact id picks its collector; an explicit name beats `!`.
        assert_eq!(names(&["!all", "!min", "kernel"]), vec!["platform"]);
        assert_eq!(
            names(&["!all", "!min", "virtual", "!virtual"]),
            vec!["virtual"]
        );
        // `!hardware` drops its fact ids too.
        let no_hardware = names(&["all", "!hardware"]);
        assert!(!no_hardware.contains(&"hardware"));
        assert!(no_hardware.contains(&"network"));
        let err = Subset::resolve(&["bogus".to_owned()]).unwrap_err();
        assert!(
            err.starts_with("Bad subset 'bogus' given to Ansible. gather_subset options allowed: all, all_ipv4_addresses, all_ipv6_addresses, apparmor,"),
            "{err}"
        );
    }
}
