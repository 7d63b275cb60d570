//! Native fact gathering (no Python on the host): Ansible's `setup`
//! facts, named as `setup` names them without the `ansible_` prefix, from
//! a few scripts of shell builtins (`net.rs`: interfaces and addresses;
//! `system.rs`: the host's small facts and virtualization). Everything is
//! read through the [`Target`], so gathering works on any host.

mod devices;
mod net;
mod subset;
mod system;

pub use subset::Subset;

use std::collections::BTreeSet;

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use crate::target::{ExecRequest, Target};
use crate::util::shell::quote;
use crate::util::time::utc_date_time;

/// The name setup gives a fact it gathered (named here without the
/// prefix): `ansible_` and its name (`ansible_local` keeps its own).
pub fn fact_var(key: &str) -> String {
    if key.starts_with("ansible_") {
        key.to_owned()
    } else {
        format!("ansible_{key}")
    }
}

/// ansible-core's `namespace_facts`: the `ansible_facts` variable of facts
/// held under the names modules gave them (`ansible_distribution`,
/// `getent_passwd`), the `ansible_` prefix dropped (but from
/// `ansible_local`). The names themselves are variables too.
pub fn namespaced(facts: &Vars) -> Vars {
    facts
        .iter()
        .map(|(k, v)| {
            let name = match k.strip_prefix("ansible_") {
                Some(short) if k != "ansible_local" => short,
                _ => k,
            };
            (name.to_owned(), v.clone())
        })
        .collect()
}

/// Gathers facts, `ansible_local` from `fact_path`; anything that cannot
/// be read is left out.
pub fn gather(target: &dyn Target, fact_path: &str) -> Vars {
    let mut facts = Vars::new();
    platform(target, &mut facts);
    distribution(target, &mut facts);
    if let Some(text) = read_text(target, "/proc/cpuinfo") {
        facts.extend(cpu_facts(&text));
    }
    if let Some(text) = read_text(target, "/proc/meminfo") {
        facts.extend(memory_facts(&text));
    }
    user(target, &mut facts);
    if let Some(env) = environment(target) {
        facts.insert("env".into(), Json::Object(env));
    }
    if let Some(out) = sh(target, DATE_SCRIPT) {
        facts.insert("date_time".into(), date_time(&out));
    }
    facts.insert("pkg_mgr".into(), json!(pkg_mgr(target)));
    facts.insert("service_mgr".into(), json!(service_mgr(target)));
    python(target, &mut facts);
    let ips = read_text(target, "/proc/net/fib_trie").map_or_else(Vec::new, |t| ipv4_addresses(&t));
    facts.insert("all_ipv4_addresses".into(), json!(ips));
    network(target, &mut facts);
    net::gather(target, &mut facts);
    system::gather(target, &mut facts);
    devices::gather(target, &mut facts);
    facts.insert("lsb".into(), lsb(target));
    if let Some(text) = read_text(target, "/proc/mounts") {
        facts.insert("mounts".into(), mounts(target, &text));
    }
    derived(&mut facts);
    facts.insert("ansible_local".into(), local_facts(target, fact_path));
    facts.insert("_ansible_facts_gathered".into(), json!(true));
    facts
}

/// Facts setup derives from others: the running user's ids, the
/// userspace's width, the distribution's minor version and release file.
fn derived(facts: &mut Vars) {
    for (to, from) in [
        ("effective_user_id", "user_uid"),
        ("real_user_id", "user_uid"),
        ("effective_group_id", "user_gid"),
        ("real_group_id", "user_gid"),
    ] {
        if let Some(v) = facts.get(from).cloned() {
            facts.insert(to.into(), v);
        }
    }
    if let Some(machine) = facts
        .get("machine")
        .and_then(Json::as_str)
        .map(str::to_owned)
    {
        let bits = if machine.contains("64") || machine == "s390x" {
            "64"
        } else {
            "32"
        };
        facts.insert("userspace_bits".into(), json!(bits));
        facts.insert("userspace_architecture".into(), json!(machine));
    }
    if let Some(version) = facts.get("distribution_version").and_then(Json::as_str) {
        let minor = version.split('.').nth(1).map(str::to_owned);
        if let Some(minor) = minor {
            facts.insert("distribution_minor_version".into(), json!(minor));
        }
    }
    let file = match facts.get("os_family").and_then(Json::as_str) {
        Some("Debian") => Some(("/etc/os-release", "Debian")),
        Some("RedHat") => Some(("/etc/redhat-release", "RedHat")),
        Some("Suse") => Some(("/etc/os-release", "SUSE")),
        Some("Alpine") => Some(("/etc/alpine-release", "Alpine")),
        Some("Archlinux") => Some(("/etc/arch-release", "Archlinux")),
        _ => None,
    };
    if let Some((path, variety)) = file {
        facts.insert("distribution_file_path".into(), json!(path));
        facts.insert("distribution_file_variety".into(), json!(variety));
        facts.insert("distribution_file_parsed".into(), json!(true));
    }
}

/// `ansible_local`: the `.fact` files of `dir` (setup's `fact_path`,
/// `/etc/ansible/facts.d` by default), each JSON or INI, or a program
/// whose output is JSON, by name.
fn local_facts(target: &dyn Target, dir: &str) -> Json {
    let mut names = target.list_dir(dir).unwrap_or_default();
    names.sort();
    let mut out = serde_json::Map::new();
    for name in names {
        let Some(key) = name.strip_suffix(".fact") else {
            continue;
        };
        let path = format!("{dir}/{name}");
        let executable = target
            .stat(&path, true)
            .ok()
            .flatten()
            .is_some_and(|s| s.mode & 0o111 != 0);
        let text = if executable {
            match target.exec(&ExecRequest::new([path.as_str()])) {
                Ok(o) if o.rc == 0 => String::from_utf8_lossy(&o.stdout).into_owned(),
                Ok(o) => {
                    let err = String::from_utf8_lossy(&o.stderr).trim().to_owned();
                    out.insert(
                        key.into(),
                        json!(format!(
                            "Failure executing fact script ({path}), rc: {}, err: {err}",
                            o.rc
                        )),
                    );
                    continue;
                }
                Err(e) => {
                    out.insert(
                        key.into(),
                        json!(format!("Failure executing fact script ({path}), err: {e}")),
                    );
                    continue;
                }
            }
        } else {
            read_text(target, &path).unwrap_or_default()
        };
        let value = serde_json::from_str::<Json>(&text)
            .ok()
            .or_else(|| ini_facts(&text))
            .unwrap_or_else(|| {
                json!(format!(
                    "error loading facts as JSON or ini - please check content: {path}"
                ))
            });
        out.insert(key.into(), value);
    }
    Json::Object(out)
}

/// An INI fact file: `{section: {key: value}}` (None when it has no
/// section).
fn ini_facts(text: &str) -> Option<Json> {
    let mut out = serde_json::Map::new();
    let mut section: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_owned());
            out.entry(name.to_owned()).or_insert_with(|| json!({}));
            continue;
        }
        let (k, v) = line.split_once('=').or_else(|| line.split_once(':'))?;
        let sec = out.get_mut(section.as_deref()?)?;
        sec[k.trim().to_lowercase()] = json!(v.trim());
    }
    (!out.is_empty()).then_some(Json::Object(out))
}

/// `interfaces` (the names under /sys/class/net, sorted: setup's order is
/// Python's set order) and `default_ipv4`, which setup reads from
/// `ip -4 route get 8.8.8.8` and the interface's address (`{}` without
/// `ip` or a default route).
fn network(target: &dyn Target, facts: &mut Vars) {
    let mut names = target.list_dir("/sys/class/net").unwrap_or_default();
    names.sort_unstable();
    facts.insert("interfaces".into(), json!(names));
    let default = sh(target, DEFAULT_IPV4)
        .and_then(|out| default_ipv4(&out))
        .unwrap_or_else(|| json!({}));
    facts.insert("default_ipv4".into(), default);
}

/// The route to the internet, then that interface's IPv4 address line,
/// type, MAC address and MTU, one section each: two `ip` calls, the rest
/// shell builtins (every process costs each host a millisecond).
const DEFAULT_IPV4: &str = "set -f; r=$(ip -4 route get 8.8.8.8) || exit 1; printf '%s\\n' \"${r%%\n*}\"; \
    dev=; p=; for w in $r; do if [ \"$p\" = dev ]; then dev=$w; break; fi; p=$w; done; \
    [ -n \"$dev\" ] || exit 1; a=$(ip -4 -o addr show dev \"$dev\"); printf '%s\\n' \"${a%%\n*}\"; \
    d=/sys/class/net/$dev; for f in type address mtu; do v=; read -r v < $d/$f; printf '%s\\n' \"$v\"; done; \
    [ -d $d/bridge ] && echo bridge; true";

/// `default_ipv4` from [`DEFAULT_IPV4`]'s output.
fn default_ipv4(out: &str) -> Option<Json> {
    let mut lines = out.lines();
    let route: Vec<&str> = lines.next()?.split_whitespace().collect();
    let after = |word: &str| word_after(&route, word).map(str::to_owned);
    let interface = after("dev")?;
    let addr_line: Vec<&str> = lines.next()?.split_whitespace().collect();
    let kind = lines.next().unwrap_or_default().trim();
    let mac = lines.next().unwrap_or_default().trim();
    let mtu: u64 = lines.next().unwrap_or_default().trim().parse().ok()?;
    let bridge = lines.next().is_some_and(|l| l.trim() == "bridge");
    let (address, prefix) = word_after(&addr_line, "inet")?.split_once('/')?;
    let ip: std::net::Ipv4Addr = address.parse().ok()?;
    let (netmask, network) = prefix_netmask(ip, prefix.parse().ok()?);
    // The address's label follows its scope (`scope global eth0`).
    let alias = addr_line
        .iter()
        .position(|w| *w == "scope")
        .and_then(|i| addr_line.get(i + 2))
        .map_or(interface.as_str(), |l| l.trim_end_matches('\\'));
    let mut v = json!({
        "address": address,
        "alias": alias,
        "broadcast": word_after(&addr_line, "brd").unwrap_or_default(),
        "interface": interface,
        "macaddress": if mac.is_empty() { "unknown" } else { mac },
        "mtu": mtu,
        "netmask": netmask,
        "network": network,
        "prefix": prefix,
        "type": match kind {
            _ if bridge => "bridge",
            "1" => "ether",
            "772" => "loopback",
            _ => "unknown",
        },
    });
    if let Some(gateway) = after("via") {
        v["gateway"] = json!(gateway);
    }
    Some(v)
}

/// The netmask and network of an IPv4 address with this prefix length.
fn prefix_netmask(ip: std::net::Ipv4Addr, prefix_len: u32) -> (String, String) {
    let mask = u32::MAX.checked_shl(32 - prefix_len.min(32)).unwrap_or(0);
    let network = std::net::Ipv4Addr::from(u32::from(ip) & mask);
    (
        std::net::Ipv4Addr::from(mask).to_string(),
        network.to_string(),
    )
}

/// The word after `word` in `words`.
fn word_after<'a>(words: &[&'a str], word: &str) -> Option<&'a str> {
    let i = words.iter().position(|w| *w == word)?;
    words.get(i + 1).copied()
}

/// `lsb`: `lsb_release -a`, else `/etc/lsb-release`, as setup reads them.
fn lsb(target: &dyn Target) -> Json {
    /// The lines of `text` split at `sep` whose key `names` maps.
    fn fields(text: &str, sep: char, names: [(&str, &str); 4]) -> serde_json::Map<String, Json> {
        text.lines()
            .filter_map(|line| line.split_once(sep))
            .filter_map(|(key, value)| {
                let (_, name) = names.iter().find(|(k, _)| *k == key.trim())?;
                Some(((*name).to_owned(), json!(value.trim())))
            })
            .collect()
    }
    let mut lsb = if let Some(out) = sh(target, "lsb_release -a 2>/dev/null") {
        let names = [
            ("Distributor ID", "id"),
            ("Release", "release"),
            ("Description", "description"),
            ("Codename", "codename"),
        ];
        fields(&out, ':', names)
    } else if let Some(text) = read_text(target, "/etc/lsb-release") {
        let names = [
            ("DISTRIB_ID", "id"),
            ("DISTRIB_RELEASE", "release"),
            ("DISTRIB_DESCRIPTION", "description"),
            ("DISTRIB_CODENAME", "codename"),
        ];
        fields(&text, '=', names)
    } else {
        serde_json::Map::new()
    };
    if let Some(release) = lsb.get("release").and_then(Json::as_str) {
        let major = release.split('.').next().unwrap_or_default().to_owned();
        lsb.insert("major_release".into(), json!(major));
    }
    Json::Object(lsb)
}

/// `mounts`: the entries of `/proc/mounts` setup keeps (a device path, a
/// network share, or a bind mount), with their sizes from `stat -f`.
fn mounts(target: &dyn Target, proc_mounts: &str) -> Json {
    let unescape = |s: &str| {
        s.replace("\\040", " ")
            .replace("\\011", "\t")
            .replace("\\012", "\n")
            .replace("\\134", "\\")
    };
    let mut kept = Vec::new();
    for line in proc_mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [device, mount, fstype, options, dump, passno, ..] = f[..] else {
            continue;
        };
        if !device.starts_with(['/', '\\']) && !device.contains(":/") && fstype != "none" {
            continue;
        }
        kept.push((
            unescape(device),
            unescape(mount),
            fstype,
            options,
            dump,
            passno,
        ));
    }
    let quoted: Vec<String> = kept.iter().map(|k| quote(&k.1)).collect();
    let sizes = sh(
        target,
        &format!("stat -f -c '%S %s %b %f %a %c %d' -- {}", quoted.join(" ")),
    )
    .unwrap_or_default();
    let mut sizes = sizes.lines();
    let mut out = Vec::new();
    for (device, mount, fstype, options, dump, passno) in kept {
        let n: Vec<u64> = sizes
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let mut m = json!({
            "mount": mount,
            "device": device,
            "fstype": fstype,
            "options": options,
            "dump": dump.parse::<u64>().unwrap_or(0),
            "passno": passno.parse::<u64>().unwrap_or(0),
            "uuid": "N/A",
        });
        if let [frsize, bsize, blocks, bfree, bavail, files, ffree] = n[..] {
            for (k, v) in [
                ("size_total", frsize * blocks),
                ("size_available", frsize * bavail),
                ("block_size", bsize),
                ("block_total", blocks),
                ("block_available", bavail),
                ("block_used", blocks.saturating_sub(bfree)),
                ("inode_total", files),
                ("inode_available", ffree),
                ("inode_used", files.saturating_sub(ffree)),
            ] {
                m[k] = json!(v);
            }
        }
        out.push(m);
    }
    Json::Array(out)
}

fn read_text(target: &dyn Target, path: &str) -> Option<String> {
    let bytes = target.read_file(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Stdout of a `/bin/sh -c` script that succeeded.
fn sh(target: &dyn Target, script: &str) -> Option<String> {
    let out = target.exec(&ExecRequest::shell(script)).ok()?;
    (out.rc == 0).then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Python's `socket.getfqdn()`, which setup reports, for the host name
/// in `$n`: the name's address looked up again, and of that entry's names
/// the first with a dot, else its first name; the host name itself when
/// a lookup fails (`hostname -f` where there is no `getent`). Only the
/// two lookups run as processes.
const FQDN: &str = "set -f; command -v getent >/dev/null || exec hostname -f; \
    l=$(getent hosts \"$n\"); set -- ${l%%\n*}; f=; \
    if [ -n \"$1\" ]; then l=$(getent hosts \"$1\"); set -- ${l%%\n*}; \
        if [ $# -ge 2 ]; then shift; f=$1; for w in \"$@\"; do case $w in *.*) f=$w; break ;; esac; done; fi; fi; \
    printf '%s\\n' \"${f:-$n}\"";

/// `uname -s`, `-n`, `-r`, `-v` and `-m`, a line each, from two `uname`
/// calls (only the version has spaces).
const UNAME: &str = "set -f; set -- $(uname -snrm) && printf '%s\\n' \"$1\" \"$2\" \"$3\" && uname -v && printf '%s\\n' \"$4\"";

fn platform(target: &dyn Target, facts: &mut Vars) {
    let uname = sh(target, UNAME).unwrap_or_default();
    let mut lines = uname.lines();
    let mut next = || lines.next().unwrap_or_default().to_owned();
    let (system, nodename, kernel, kernel_version, machine) =
        (next(), next(), next(), next(), next());
    let nodename = read_text(target, "/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or(nodename);
    let fqdn = sh(target, &format!("n={}; {FQDN}", quote(&nodename)))
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| nodename.clone());
    let hostname = nodename.split('.').next().unwrap_or_default().to_owned();
    let domain = fqdn.split_once('.').map_or("", |(_, d)| d).to_owned();
    for (key, value) in [
        ("system", system),
        ("nodename", nodename),
        ("hostname", hostname),
        ("fqdn", fqdn),
        ("domain", domain),
        ("kernel", kernel),
        ("kernel_version", kernel_version),
        ("architecture", machine.clone()),
        ("machine", machine),
    ] {
        facts.insert(key.into(), json!(value));
    }
}

fn distribution(target: &dyn Target, facts: &mut Vars) {
    let Some(text) = read_text(target, "/etc/os-release") else {
        return;
    };
    let debian_version = read_text(target, "/etc/debian_version");
    facts.extend(distribution_facts(&text, debian_version.as_deref()));
}

/// Parses `KEY=value` lines of os-release, unquoting values.
fn os_release(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.trim().split_once('='))
        .filter(|(k, _)| !k.starts_with('#'))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

const DISTRIBUTIONS: &[(&str, &str, &str)] = &[
    // (os-release ID, Ansible distribution, os_family)
    ("debian", "Debian", "Debian"),
    ("ubuntu", "Ubuntu", "Debian"),
    ("linuxmint", "Linux Mint", "Debian"),
    ("kali", "Kali", "Debian"),
    ("raspbian", "Debian", "Debian"),
    ("pop", "Pop!_OS", "Debian"),
    ("devuan", "Devuan", "Debian"),
    ("rhel", "RedHat", "RedHat"),
    ("centos", "CentOS", "RedHat"),
    ("fedora", "Fedora", "RedHat"),
    ("rocky", "Rocky", "RedHat"),
    ("almalinux", "AlmaLinux", "RedHat"),
    ("ol", "OracleLinux", "RedHat"),
    ("amzn", "Amazon", "RedHat"),
    ("sles", "SLES", "Suse"),
    ("opensuse-leap", "openSUSE Leap", "Suse"),
    ("opensuse-tumbleweed", "openSUSE Tumbleweed", "Suse"),
    ("arch", "Archlinux", "Archlinux"),
    ("manjaro", "Manjaro", "Archlinux"),
    ("alpine", "Alpine", "Alpine"),
    ("gentoo", "Gentoo", "Gentoo"),
];

fn distribution_facts(os_release_text: &str, debian_version: Option<&str>) -> Vars {
    let fields = os_release(os_release_text);
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let id = get("ID").unwrap_or_default();
    let (name, family) = DISTRIBUTIONS
        .iter()
        .find(|(known, _, _)| *known == id)
        .map(|(_, name, family)| ((*name).to_owned(), (*family).to_owned()))
        .unwrap_or_else(|| {
            let name = get("NAME").unwrap_or(id).to_owned();
            (name.clone(), name)
        });
    // Debian keeps its point release in /etc/debian_version ("12.5").
    let debian_full = debian_version
        .map(str::trim)
        .filter(|v| id == "debian" && v.starts_with(|c: char| c.is_ascii_digit()));
    let version = debian_full
        .or_else(|| get("VERSION_ID"))
        .unwrap_or("NA")
        .to_owned();
    let major = version.split('.').next().unwrap_or_default().to_owned();
    let release = get("VERSION_CODENAME")
        .filter(|c| !c.is_empty())
        .unwrap_or("NA")
        .to_owned();
    let mut out = Vars::new();
    for (key, value) in [
        ("distribution", name),
        ("distribution_version", version),
        ("distribution_major_version", major),
        ("distribution_release", release),
        ("os_family", family),
    ] {
        out.insert(key.into(), json!(value));
    }
    out
}

fn cpu_facts(cpuinfo: &str) -> Vars {
    let mut processor = Vec::new();
    let mut vcpus = 0u64;
    let mut sockets = BTreeSet::new();
    let (mut cores, mut siblings) = (None, None);
    let mut flags = None;
    for line in cpuinfo.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "processor" => {
                vcpus += 1;
                processor.push(json!(value));
            }
            "vendor_id" | "model name" | "Processor" | "CPU implementer" => {
                processor.push(json!(value))
            }
            "physical id" => {
                sockets.insert(value.to_owned());
            }
            "flags" if flags.is_none() => {
                flags = Some(
                    value
                        .split_whitespace()
                        .map(|f| json!(f))
                        .collect::<Vec<_>>(),
                );
            }
            "cpu cores" => cores = cores.or(value.parse::<u64>().ok()),
            "siblings" => siblings = siblings.or(value.parse::<u64>().ok()),
            _ => {}
        }
    }
    let count = if sockets.is_empty() {
        vcpus
    } else {
        sockets.len() as u64
    };
    let cores = cores.unwrap_or(1).max(1);
    let threads = siblings.map_or(1, |s| (s / cores).max(1));
    let mut out = Vars::new();
    out.insert("processor".into(), Json::Array(processor));
    out.insert("processor_count".into(), json!(count));
    out.insert("processor_cores".into(), json!(cores));
    out.insert("processor_threads_per_core".into(), json!(threads));
    out.insert("processor_vcpus".into(), json!(vcpus));
    out.insert("processor_nproc".into(), json!(vcpus));
    if let Some(flags) = flags {
        out.insert("flags".into(), Json::Array(flags));
    }
    out
}

fn memory_facts(meminfo: &str) -> Vars {
    let mb = |key: &str| -> u64 {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    let (total, free) = (mb("MemTotal"), mb("MemFree"));
    let (swap_total, swap_free) = (mb("SwapTotal"), mb("SwapFree"));
    let nocache_free = free + mb("Buffers") + mb("Cached");
    let mut out = Vars::new();
    out.insert("memtotal_mb".into(), json!(total));
    out.insert("memfree_mb".into(), json!(free));
    out.insert("swaptotal_mb".into(), json!(swap_total));
    out.insert("swapfree_mb".into(), json!(swap_free));
    out.insert(
        "memory_mb".into(),
        json!({
            "real": {"total": total, "used": total.saturating_sub(free), "free": free},
            "nocache": {"free": nocache_free, "used": total.saturating_sub(nocache_free)},
            "swap": {"total": swap_total, "free": swap_free, "used": swap_total.saturating_sub(swap_free), "cached": mb("SwapCached")},
        }),
    );
    out
}

fn user(target: &dyn Target, facts: &mut Vars) {
    let Some(out) = sh(target, "id -un; id -u; id -g") else {
        return;
    };
    let mut lines = out.lines().map(str::trim);
    let name = lines.next().unwrap_or_default().to_owned();
    let uid = lines.next().and_then(|v| v.parse::<u64>().ok());
    let gid = lines.next().and_then(|v| v.parse::<u64>().ok());
    facts.insert("user_id".into(), json!(name));
    facts.insert("user_uid".into(), json!(uid));
    facts.insert("user_gid".into(), json!(gid));
    let passwd = read_text(target, "/etc/passwd").unwrap_or_default();
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f[0] == name);
    if let Some(fields) = entry.filter(|f| f.len() >= 7) {
        facts.insert("user_gecos".into(), json!(fields[4]));
        facts.insert("user_dir".into(), json!(fields[5]));
        facts.insert("user_shell".into(), json!(fields[6]));
    } else {
        facts.insert("user_dir".into(), json!(target.home()));
    }
}

fn environment(target: &dyn Target) -> Option<Vars> {
    let out = target
        .exec(&ExecRequest::new(["env", "-0"]))
        .ok()
        .filter(|o| o.rc == 0)?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.split('\0')
            .filter_map(|entry| entry.split_once('='))
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect(),
    )
}

/// One `date` call for the local fields; UTC fields are derived from the epoch.
const DATE_SCRIPT: &str = "date '+%Y %m %A %w %W %d %H %M %S %s %Z %z %N'";

fn date_time(out: &str) -> Json {
    let f: Vec<&str> = out.split_whitespace().collect();
    if f.len() < 12 {
        return json!({});
    }
    let epoch: u64 = f[9].parse().unwrap_or(0);
    let micro = f
        .get(12)
        .filter(|n| n.len() >= 6 && n.bytes().all(|b| b.is_ascii_digit()))
        .map_or("000000", |n| &n[..6]);
    let (utc_date, utc_time) = utc_date_time(epoch);
    let (year, month, day, hour, minute, second) = (f[0], f[1], f[5], f[6], f[7], f[8]);
    json!({
        "year": year, "month": month, "weekday": f[2], "weekday_number": f[3],
        "weeknumber": f[4], "day": day, "hour": hour, "minute": minute, "second": second,
        "epoch": f[9], "epoch_int": f[9],
        "date": format!("{year}-{month}-{day}"),
        "time": format!("{hour}:{minute}:{second}"),
        "iso8601_micro": format!("{utc_date}T{utc_time}.{micro}Z"),
        "iso8601": format!("{utc_date}T{utc_time}Z"),
        "iso8601_basic": format!("{year}{month}{day}T{hour}{minute}{second}{micro}"),
        "iso8601_basic_short": format!("{year}{month}{day}T{hour}{minute}{second}"),
        "tz": f[10], "tz_dst": f[10], "tz_offset": f[11],
    })
}

fn exists(target: &dyn Target, path: &str) -> bool {
    matches!(target.stat(path, true), Ok(Some(_)))
}

pub(crate) fn pkg_mgr(target: &dyn Target) -> &'static str {
    const MANAGERS: &[(&str, &str)] = &[
        ("/usr/bin/apt-get", "apt"),
        ("/usr/bin/dnf5", "dnf5"),
        ("/usr/bin/dnf", "dnf"),
        ("/usr/bin/yum", "yum"),
        ("/sbin/apk", "apk"),
        ("/usr/bin/zypper", "zypper"),
        ("/usr/bin/pacman", "pacman"),
        ("/usr/bin/emerge", "portage"),
    ];
    MANAGERS
        .iter()
        .find(|(path, _)| exists(target, path))
        .map_or("unknown", |(_, name)| name)
}

/// Like Ansible: systemd when it runs, else the name of PID 1 unless that
/// is a generic init or a shell, else what the init scripts suggest.
pub(crate) fn service_mgr(target: &dyn Target) -> String {
    let comm = read_text(target, "/proc/1/comm")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if comm == "systemd" || exists(target, "/run/systemd/system") {
        return "systemd".into();
    }
    match comm.as_str() {
        "runit-init" => return "runit".into(),
        "openrc-init" => return "openrc".into(),
        "" | "init" => {}
        c if c.ends_with("sh") => {}
        c => return c.into(),
    }
    if exists(target, "/sbin/openrc") {
        "openrc".into()
    } else if exists(target, "/etc/init.d") {
        "sysvinit".into()
    } else {
        "service".into()
    }
}

/// The `python3` on the PATH and its version, without starting the
/// interpreter (`--version` answers before it initialises: 1 ms, not 9).
const PYTHON_SCRIPT: &str =
    "p=$(command -v python3) && printf '%s\\n' \"$p\" && exec \"$p\" --version";

fn python(target: &dyn Target, facts: &mut Vars) {
    let Some(out) = sh(target, PYTHON_SCRIPT) else {
        return;
    };
    let mut lines = out.lines();
    let executable = lines.next().unwrap_or_default().trim();
    let Some((major, minor, micro, level, serial)) = lines
        .next()
        .and_then(|l| l.trim().strip_prefix("Python "))
        .and_then(version_info)
    else {
        return;
    };
    facts.insert(
        "python_version".into(),
        json!(format!("{major}.{minor}.{micro}")),
    );
    facts.insert(
        "python".into(),
        json!({
            "executable": executable,
            "type": "cpython",
            "version": {"major": major, "minor": minor, "micro": micro, "releaselevel": level, "serial": serial},
            "version_info": [major, minor, micro, level, serial],
        }),
    );
}

/// `sys.version_info` from the version `python --version` prints:
/// `3.11.2` is final, `3.13.0rc1` candidate 1, `3.14.0a2` alpha 2, `3.14.0b1` beta 1
/// (a development build's trailing `+` says nothing more).
fn version_info(v: &str) -> Option<(u64, u64, u64, &'static str, u64)> {
    let v = v.trim_end_matches('+');
    let mut parts = v.splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let rest = parts.next().unwrap_or("0");
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let micro = rest[..digits].parse().ok()?;
    let (level, serial) = match &rest[digits..] {
        "" => ("final", "0"),
        s if s.starts_with("rc") => ("candidate", &s[2..]),
        s if s.starts_with('a') => ("alpha", &s[1..]),
        s if s.starts_with('b') => ("beta", &s[1..]),
        _ => return None,
    };
    Some((major, minor, micro, level, serial.parse().ok()?))
}

/// Local IPv4 addresses from `/proc/net/fib_trie` (`/32 host LOCAL`
/// entries), loopback excluded, in order of appearance.
fn ipv4_addresses(fib_trie: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut last = "";
    for line in fib_trie.lines() {
        let line = line.trim_start_matches([' ', '|', '+', '-']).trim();
        if line.starts_with("/32 host LOCAL") {
            if !last.starts_with("127.") && !out.iter().any(|a| a == last) {
                out.push(last.to_owned());
            }
        } else if !line.starts_with('/') {
            last = line.split_whitespace().next().unwrap_or_default();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_facts_read_json_ini_and_programs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let put = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        put("app.fact", "{\"version\": 3, \"tags\": [\"a\"]}");
        put("site.fact", "[general]\nName = web\n[db]\nport=5432\n");
        put("broken.fact", "not json, no section");
        put("ignored.txt", "{}");
        put("prog.fact", "#!/bin/sh\necho '{\"from\": \"program\"}'\n");
        let prog = dir.path().join("prog.fact");
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        let target = crate::LocalTarget;
        let facts = local_facts(&target, dir.path().to_str().unwrap());
        let broken = format!(
            "error loading facts as JSON or ini - please check content: {}/broken.fact",
            dir.path().display()
        );
        assert_eq!(
            facts,
            json!({
                "app": {"version": 3, "tags": ["a"]},
                "broken": broken,
                "prog": {"from": "program"},
                "site": {"general": {"name": "web"}, "db": {"port": "5432"}},
            })
        );
    }

    #[test]
    fn default_ipv4_from_ip_and_sys() {
        let out = "8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0\n\
                   4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n\
                   1\n02:fc:00:00:00:01\n1400\n";
        assert_eq!(
            default_ipv4(out).unwrap(),
            json!({"address": "192.0.2.2", "alias": "eth0", "broadcast": "192.0.2.255",
                   "gateway": "192.0.2.1", "interface": "eth0", "macaddress": "02:fc:00:00:00:01",
                   "mtu": 1400, "netmask": "255.255.255.0", "network": "192.0.2.0",
                   "prefix": "24", "type": "ether"})
        );
        assert_eq!(default_ipv4(""), None);
    }

    /// The scripts, run by this machine's `sh`, answer as the plain
    /// commands do.
    #[test]
    fn scripts_answer_as_the_commands_they_replace() {
        let run = |script: &str| {
            let out = std::process::Command::new("sh")
                .args(["-c", script])
                .output()
                .unwrap();
            assert!(out.status.success(), "{script}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let uname: String = ["-s", "-n", "-r", "-v", "-m"]
            .iter()
            .map(|f| run(&format!("uname {f}")))
            .collect();
        assert_eq!(run(UNAME), uname);
        let python = run(PYTHON_SCRIPT);
        let (path, version) = python.split_once('\n').unwrap();
        assert_eq!(path, run("command -v python3").trim());
        let full = run("python3 -c 'import sys; print(*sys.version_info[:3], sep=\".\")'");
        let (major, minor, micro, ..) =
            version_info(version.trim().strip_prefix("Python ").unwrap()).unwrap();
        assert_eq!(format!("{major}.{minor}.{micro}"), full.trim());
        // A name no resolver knows is its own fqdn.
        let nowhere = "rustle-no-such-host-7f3a";
        assert_eq!(run(&format!("n={nowhere}; {FQDN}")).trim(), nowhere);
    }

    #[test]
    fn python_versions() {
        assert_eq!(version_info("3.11.2"), Some((3, 11, 2, "final", 0)));
        assert_eq!(version_info("3.13.0rc1"), Some((3, 13, 0, "candidate", 1)));
        assert_eq!(version_info("3.14.0a2"), Some((3, 14, 0, "alpha", 2)));
        assert_eq!(version_info("3.12.0b4+"), Some((3, 12, 0, "beta", 4)));
        assert_eq!(version_info("3.9"), Some((3, 9, 0, "final", 0)));
        assert_eq!(version_info("three"), None);
    }

    #[test]
    fn debian_release() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";
        let facts = distribution_facts(text, Some("12.11\n"));
        assert_eq!(facts["distribution"], "Debian");
        assert_eq!(facts["os_family"], "Debian");
        assert_eq!(facts["distribution_version"], "12.11");
        assert_eq!(facts["distribution_major_version"], "12");
        assert_eq!(facts["distribution_release"], "bookworm");
    }

    #[test]
    fn unknown_release_uses_its_name() {
        let facts = distribution_facts("NAME='Foo OS'\nID=foo\nVERSION_ID=3.1\n", None);
        assert_eq!(facts["distribution"], "Foo OS");
        assert_eq!(facts["distribution_major_version"], "3");
        assert_eq!(facts["distribution_release"], "NA");
    }

    #[test]
    fn cpu_counts() {
        let block = |n: u32| {
            format!(
                "processor\t: {n}\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncpu cores\t: 2\n\n"
            )
        };
        let facts = cpu_facts(&(block(0) + &block(1)));
        assert_eq!(facts["processor_vcpus"], 2);
        assert_eq!(facts["processor_count"], 1);
        assert_eq!(facts["processor_cores"], 2);
        assert_eq!(facts["processor_threads_per_core"], 1);
        assert_eq!(
            facts["processor"],
            json!([
                "0",
                "AuthenticAMD",
                "AMD EPYC",
                "1",
                "AuthenticAMD",
                "AMD EPYC"
            ])
        );
    }

    #[test]
    fn memory_in_megabytes() {
        let facts =
            memory_facts("MemTotal:       24684000 kB\nMemFree:        2048 kB\nSwapTotal: 0 kB\n");
        assert_eq!(facts["memtotal_mb"], 24105);
        assert_eq!(facts["memfree_mb"], 2);
        assert_eq!(facts["swaptotal_mb"], 0);
    }

    #[test]
    fn date_fields() {
        let d = date_time("2026 11 Sunday 0 46 22 11 08 03 1795345683 UTC +0000 639911123\n");
        assert_eq!(d["date"], "2026-11-22");
        assert_eq!(d["time"], "11:08:03");
        assert_eq!(d["iso8601"], "2026-11-22T11:08:03Z");
        assert_eq!(d["iso8601_micro"], "2026-11-22T11:08:03.639911Z");
        assert_eq!(d["iso8601_basic_short"], "20261122T110803");
        assert_eq!(d["weekday"], "Sunday");
        assert_eq!(d["tz_offset"], "+0000");
    }

    #[test]
    fn local_ipv4_addresses() {
        let trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 127.0.0.0/8 2 0 2\n        |-- 127.0.0.1\n           /32 host LOCAL\n     |-- 192.0.2.2\n        /32 host LOCAL\nLocal:\n     |-- 192.0.2.2\n        /32 host LOCAL\n";
        assert_eq!(ipv4_addresses(trie), vec!["192.0.2.2"]);
    }
}
