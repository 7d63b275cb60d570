//! The host's small facts as setup's collectors give them, read by one
//! script of shell builtins (a process only for `/proc/1/environ`, `stat`
//! and `capsh`): `machine_id`, `uptime_seconds`, `loadavg`, `cmdline` and
//! `proc_cmdline`, `dns`, `fips`, the DMI facts (`product_name`,
//! `system_vendor`, `bios_*`, `board_*`, `chassis_*`, `form_factor`),
//! `ssh_host_key_*`, `hostnqn`, `iscsi_iqn`, `selinux`, `apparmor`,
//! `is_chroot`, `system_capabilities` and the `virtualization_*` facts.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::sh;
use crate::target::Target;

const DMI: &[&str] = &[
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
    "chassis_type",
    "chassis_vendor",
    "chassis_version",
    "product_family",
    "product_name",
    "product_serial",
    "product_uuid",
    "product_version",
    "sys_vendor",
];

const SSH_KEY_TYPES: &[&str] = &["dsa", "rsa", "ecdsa", "ed25519"];

/// Paths whose existence the facts depend on.
const MARKERS: &[&str] = &[
    "/.dockerenv",
    "/.dockerinit",
    "/dev/kvm",
    "/sys/kernel/security/apparmor",
    "/proc/xen",
    "/proc/vz",
    "/proc/lve",
    "/sys/fs/selinux/enforce",
];

/// The script: each file as a `\x1e` line naming it, then its lines.
fn script() -> String {
    let mut files: Vec<String> = [
        "/var/lib/dbus/machine-id",
        "/etc/machine-id",
        "/proc/uptime",
        "/proc/loadavg",
        "/proc/cmdline",
        "/etc/resolv.conf",
        "/proc/sys/crypto/fips_enabled",
        "/etc/nvme/hostnqn",
        "/etc/iscsi/initiatorname.iscsi",
        "/sys/fs/selinux/enforce",
        "/sys/fs/selinux/policyvers",
        "/etc/selinux/config",
        "/proc/1/cgroup",
        "/run/systemd/container",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    files.extend(
        DMI.iter()
            .map(|f| format!("/sys/devices/virtual/dmi/id/{f}")),
    );
    files.extend(
        SSH_KEY_TYPES
            .iter()
            .map(|t| format!("/etc/ssh/ssh_host_{t}_key.pub")),
    );
    format!(
        "set -f; for f in {files}; do [ -r \"$f\" ] || continue; printf '\\036%s\\n' \"$f\"; \
         while IFS= read -r l || [ -n \"$l\" ]; do printf '%s\\n' \"$l\"; done < \"$f\" 2>/dev/null; done; \
         printf '\\036/proc/modules\\n'; while read -r m rest; do printf '%s\\n' \"$m\"; done < /proc/modules 2>/dev/null; \
         printf '\\036exists\\n'; for f in {markers}; do [ -e \"$f\" ] && printf '%s\\n' \"$f\"; done; \
         printf '\\036/proc/1/environ\\n'; tr '\\000' '\\n' < /proc/1/environ 2>/dev/null; \
         printf '\\036chroot\\n'; [ -n \"$debian_chroot\" ] && echo debian_chroot; stat -c '%d:%i' / /proc/1/root/. 2>/dev/null; \
         printf '\\036capsh\\n'; command -v capsh >/dev/null && capsh --print 2>/dev/null; \
         printf '\\036lvm\\n'; command -v vgs >/dev/null && [ \"$(id -u)\" = 0 ] && {{ o='--noheadings --nosuffix --units g --separator ,'; \
         echo @vgs; vgs $o 2>/dev/null; echo @lvs; lvs $o 2>/dev/null; echo @pvs; pvs $o 2>/dev/null; }}; true",
        files = files.join(" "),
        markers = MARKERS.join(" "),
    )
}

pub(super) fn gather(target: &dyn Target, facts: &mut Vars) {
    let Some(out) = sh(target, &script()) else {
        return;
    };
    facts.extend(from_output(&out));
}

/// The sections of the script's output, by name.
fn sections(out: &str) -> Vec<(&str, &str)> {
    out.split('\x1e')
        .filter(|s| !s.is_empty())
        .map(|s| s.split_once('\n').unwrap_or((s, "")))
        .collect()
}

/// setup's `FORM_FACTOR`, by SMBIOS chassis type.
const FORM_FACTOR: &[&str] = &[
    "Unknown",
    "Other",
    "Unknown",
    "Desktop",
    "Low Profile Desktop",
    "Pizza Box",
    "Mini Tower",
    "Tower",
    "Portable",
    "Laptop",
    "Notebook",
    "Hand Held",
    "Docking Station",
    "All In One",
    "Sub Notebook",
    "Space-saving",
    "Lunch Box",
    "Main Server Chassis",
    "Expansion Chassis",
    "Sub Chassis",
    "Bus Expansion Chassis",
    "Peripheral Chassis",
    "RAID Chassis",
    "Rack Mount Chassis",
    "Sealed-case PC",
    "Multi-system",
    "CompactPCI",
    "AdvancedTCA",
    "Blade",
    "Blade Enclosure",
    "Tablet",
    "Convertible",
    "Detachable",
    "IoT Gateway",
    "Embedded PC",
    "Mini PC",
    "Stick PC",
];

fn from_output(out: &str) -> Vars {
    let secs = sections(out);
    let file = |path: &str| secs.iter().find(|(p, _)| *p == path).map(|(_, b)| *b);
    let content = |path: &str| file(path).map(|b| b.trim().to_owned());
    let mut f = Vars::new();
    if let Some(id) = content("/var/lib/dbus/machine-id")
        .filter(|s| !s.is_empty())
        .or_else(|| content("/etc/machine-id"))
    {
        f.insert("machine_id".into(), json!(id));
    }
    if let Some(up) =
        content("/proc/uptime").and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok())
    {
        f.insert("uptime_seconds".into(), json!(up as i64));
    }
    if let Some(load) = content("/proc/loadavg") {
        let v: Vec<f64> = load
            .split_whitespace()
            .take(3)
            .filter_map(|x| x.parse().ok())
            .collect();
        if let [a, b, c] = v[..] {
            f.insert("loadavg".into(), json!({"1m": a, "5m": b, "15m": c}));
        }
    }
    if let Some(cmdline) = content("/proc/cmdline") {
        let (cmd, proc_cmd) = cmdline_facts(&cmdline);
        f.insert("cmdline".into(), cmd);
        f.insert("proc_cmdline".into(), proc_cmd);
    }
    f.insert(
        "dns".into(),
        dns(file("/etc/resolv.conf").unwrap_or_default()),
    );
    f.insert(
        "fips".into(),
        json!(content("/proc/sys/crypto/fips_enabled").as_deref() == Some("1")),
    );
    for key in DMI {
        let value = content(&format!("/sys/devices/virtual/dmi/id/{key}"))
            .unwrap_or_else(|| "NA".to_owned());
        match *key {
            "chassis_type" => {
                let form = match value.parse::<usize>() {
                    Ok(n) => FORM_FACTOR
                        .get(n)
                        .map_or_else(|| format!("unknown {n}"), |s| (*s).to_owned()),
                    Err(_) => "NA".to_owned(),
                };
                f.insert("form_factor".into(), json!(form));
            }
            "product_family" => {}
            "sys_vendor" => {
                f.insert("system_vendor".into(), json!(value));
            }
            _ => {
                f.insert((*key).into(), json!(value));
            }
        }
    }
    for t in SSH_KEY_TYPES {
        let Some(key) = content(&format!("/etc/ssh/ssh_host_{t}_key.pub")) else {
            continue;
        };
        let mut words = key.split_whitespace();
        if let (Some(kind), Some(body)) = (words.next(), words.next()) {
            f.insert(format!("ssh_host_key_{t}_public"), json!(body));
            f.insert(format!("ssh_host_key_{t}_public_keytype"), json!(kind));
        }
    }
    f.insert(
        "hostnqn".into(),
        json!(content("/etc/nvme/hostnqn").unwrap_or_default()),
    );
    let iqn = file("/etc/iscsi/initiatorname.iscsi")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.trim().strip_prefix("InitiatorName="))
        .unwrap_or_default();
    f.insert("iscsi_iqn".into(), json!(iqn.trim()));
    f.insert("fibre_channel_wwn".into(), json!([]));
    let exists: Vec<&str> = file("exists").unwrap_or_default().lines().collect();
    let has = |p: &str| exists.contains(&p);
    f.insert("selinux".into(), selinux(&content));
    f.insert("selinux_python_present".into(), json!(true));
    let apparmor = if has("/sys/kernel/security/apparmor") {
        "enabled"
    } else {
        "disabled"
    };
    f.insert("apparmor".into(), json!({"status": apparmor}));
    f.insert(
        "is_chroot".into(),
        json!(is_chroot(file("chroot").unwrap_or_default())),
    );
    let (caps, enforced) = capabilities(file("capsh"));
    f.insert("system_capabilities".into(), caps);
    f.insert("system_capabilities_enforced".into(), enforced);
    f.insert("lvm".into(), lvm(file("lvm").unwrap_or_default()));
    let modules: Vec<&str> = file("/proc/modules").unwrap_or_default().lines().collect();
    f.extend(virtualization(&Clues {
        cgroup: file("/proc/1/cgroup").unwrap_or_default(),
        environ: file("/proc/1/environ").unwrap_or_default(),
        systemd_container: content("/run/systemd/container").unwrap_or_default(),
        product_name: content("/sys/devices/virtual/dmi/id/product_name").unwrap_or_default(),
        sys_vendor: content("/sys/devices/virtual/dmi/id/sys_vendor").unwrap_or_default(),
        bios_vendor: content("/sys/devices/virtual/dmi/id/bios_vendor").unwrap_or_default(),
        modules: &modules,
        exists: &exists,
    }));
    f
}

/// `cmdline` (each key's last value, `true` without one) and
/// `proc_cmdline` (a repeated key's values as a list).
fn cmdline_facts(line: &str) -> (Json, Json) {
    let (mut cmd, mut proc_cmd) = (serde_json::Map::new(), serde_json::Map::new());
    for piece in line.split_whitespace() {
        let (key, value) = match piece.split_once('=') {
            Some((k, v)) => (k, json!(v)),
            None => (piece, json!(true)),
        };
        cmd.insert(key.into(), value.clone());
        match proc_cmd.get_mut(key) {
            Some(Json::Array(values)) => values.push(value),
            Some(old) => *old = json!([old.clone(), value]),
            None => {
                proc_cmd.insert(key.into(), value);
            }
        }
    }
    (Json::Object(cmd), Json::Object(proc_cmd))
}

/// `dns` from resolv.conf, as setup reads it.
fn dns(text: &str) -> Json {
    let mut d = serde_json::Map::new();
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((first, rest)) = words.split_first() else {
            continue;
        };
        match *first {
            "nameserver" => {
                let list = d.entry("nameservers").or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut() {
                    list.extend(rest.iter().map(|w| json!(w)));
                }
            }
            "domain" if !rest.is_empty() => {
                d.insert("domain".into(), json!(rest[0]));
            }
            "search" | "sortlist" => {
                d.insert((*first).into(), json!(rest));
            }
            "options" => {
                let options: serde_json::Map<String, Json> = rest
                    .iter()
                    .map(|o| match o.split_once(':') {
                        Some((k, v)) if !v.is_empty() => (k.to_owned(), json!(v)),
                        _ => (o.split(':').next().unwrap_or(o).to_owned(), json!(true)),
                    })
                    .collect();
                d.insert("options".into(), Json::Object(options));
            }
            _ => {}
        }
    }
    Json::Object(d)
}

/// `selinux`: its status, mode and policy when selinuxfs is mounted.
fn selinux(content: &dyn Fn(&str) -> Option<String>) -> Json {
    let Some(enforce) = content("/sys/fs/selinux/enforce") else {
        return json!({"status": "disabled"});
    };
    let config = content("/etc/selinux/config").unwrap_or_default();
    let setting = |key: &str| {
        config
            .lines()
            .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned())
    };
    let mut s = json!({
        "status": "enabled",
        "mode": if enforce == "1" { "enforcing" } else { "permissive" },
        "config_mode": setting("SELINUX"),
        "type": setting("SELINUXTYPE"),
    });
    if let Some(v) = content("/sys/fs/selinux/policyvers").and_then(|v| v.parse::<i64>().ok()) {
        s["policyvers"] = json!(v);
    }
    s
}

/// Whether `/` is not PID 1's root; without access to PID 1's, whether
/// the root directory's inode is not the file system's root inode.
fn is_chroot(out: &str) -> bool {
    let lines: Vec<&str> = out.lines().collect();
    if lines.contains(&"debian_chroot") {
        return true;
    }
    match lines[..] {
        [mine, pid1] => mine != pid1,
        [mine] => mine.rsplit(':').next() != Some("2"),
        _ => false,
    }
}

/// `system_capabilities` and `system_capabilities_enforced` from `capsh
/// --print` (`N/A` without it).
fn capabilities(capsh: Option<&str>) -> (Json, Json) {
    let current = capsh.and_then(|out| out.lines().find(|l| l.starts_with("Current:")));
    let Some(line) = current else {
        return (json!("N/A"), json!("N/A"));
    };
    let value = line.split_once(':').map_or("", |(_, v)| v).trim();
    if value == "=ep" {
        return (json!([]), json!("False"));
    }
    let caps: Vec<Json> = line
        .split('=')
        .nth(1)
        .unwrap_or_default()
        .split(',')
        .map(|c| json!(c.trim()))
        .collect();
    (Json::Array(caps), json!("True"))
}

/// `lvm` from `vgs`, `lvs` and `pvs` (`N/A` without them, or not root).
fn lvm(out: &str) -> Json {
    if !out.contains("@vgs") {
        return json!("N/A");
    }
    let (mut vgs, mut lvs, mut pvs) = (
        serde_json::Map::new(),
        serde_json::Map::new(),
        serde_json::Map::new(),
    );
    let mut table = "";
    for line in out.lines() {
        if let Some(name) = line.strip_prefix('@') {
            table = name;
            continue;
        }
        let items: Vec<&str> = line.trim().split(',').collect();
        let at = |i: usize| json!(items.get(i).copied().unwrap_or_default());
        match (table, items.len()) {
            ("vgs", n) if n >= 4 => {
                let v = json!({"size_g": at(n - 2), "free_g": at(n - 1), "num_lvs": at(2), "num_pvs": at(1)});
                vgs.insert(items[0].into(), v);
            }
            ("lvs", n) if n >= 4 => {
                lvs.insert(items[0].into(), json!({"size_g": at(3), "vg": at(1)}));
            }
            ("pvs", n) if n >= 6 => {
                pvs.insert(
                    items[0].into(),
                    json!({"size_g": at(4), "free_g": at(5), "vg": at(1)}),
                );
            }
            _ => {}
        }
    }
    json!({"lvs": lvs, "vgs": vgs, "pvs": pvs})
}

/// What virtualization facts are read from.
struct Clues<'a> {
    cgroup: &'a str,
    environ: &'a str,
    systemd_container: String,
    product_name: String,
    sys_vendor: String,
    bios_vendor: String,
    modules: &'a [&'a str],
    exists: &'a [&'a str],
}

/// `virtualization_type`/`_role` (the first finding, in setup's order)
/// and every guest and host technology found.
fn virtualization(c: &Clues) -> Vars {
    let (mut guest, mut host): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let mut found: Option<(&str, &str)> = None;
    let mut add = |list: &mut Vec<&'static str>, tech: &'static str, role: &'static str| {
        if !list.contains(&tech) {
            list.push(tech);
        }
        found.get_or_insert((tech, role));
    };
    for line in c.cgroup.lines() {
        if line.contains("/docker/") || (line.contains("/docker-") && line.contains(".scope")) {
            add(&mut guest, "docker", "guest");
        }
        if line.contains("/lxc/") || line.contains("/machine.slice/machine-lxc") {
            add(&mut guest, "lxc", "guest");
        }
        if line.contains("/system.slice/containerd.service") {
            add(&mut guest, "containerd", "guest");
        }
    }
    for line in c.environ.lines() {
        if line.contains("container=lxc") {
            add(&mut guest, "lxc", "guest");
        }
        if line.contains("container=podman") {
            add(&mut guest, "podman", "guest");
        }
        if line.starts_with("container=") && line.len() > "container=".len() {
            add(&mut guest, "container", "guest");
        }
    }
    let has = |p: &str| c.exists.contains(&p);
    if has("/proc/vz") && !has("/proc/lve") {
        add(&mut guest, "openvz", "guest");
    }
    if !c.systemd_container.is_empty() {
        let tech: &'static str = match c.systemd_container.as_str() {
            "docker" => "docker",
            "lxc" => "lxc",
            "podman" => "podman",
            "systemd-nspawn" => "systemd-nspawn",
            _ => "container",
        };
        add(&mut guest, tech, "guest");
    }
    if has("/.dockerenv") || has("/.dockerinit") {
        add(&mut guest, "docker", "guest");
    }
    let containers = ["docker", "lxc", "podman", "openvz", "containerd"];
    if (guest.iter().any(|t| containers.contains(t)) || !c.systemd_container.is_empty())
        && !guest.contains(&"container")
    {
        guest.push("container");
    }
    if has("/proc/xen") {
        add(&mut guest, "xen", "guest");
    }
    match c.product_name.as_str() {
        "KVM" | "KVM Server" | "Bochs" | "AHV" => add(&mut guest, "kvm", "guest"),
        "VMware Virtual Platform" | "VMware7,1" => add(&mut guest, "VMware", "guest"),
        "VirtualBox" => add(&mut guest, "virtualbox", "guest"),
        "HVM domU" => add(&mut guest, "xen", "guest"),
        "Parallels Virtual Platform" => add(&mut guest, "parallels", "guest"),
        "OpenStack Compute" | "OpenStack Nova" => add(&mut guest, "openstack", "guest"),
        _ => {}
    }
    match c.sys_vendor.as_str() {
        "Microsoft Corporation" if c.product_name == "Virtual Machine" => {
            add(&mut guest, "VirtualPC", "guest")
        }
        "QEMU" => add(&mut guest, "kvm", "guest"),
        "oVirt" => add(&mut guest, "oVirt", "guest"),
        "Amazon EC2" => add(&mut guest, "kvm", "guest"),
        "Google" => add(&mut guest, "kvm", "guest"),
        _ => {}
    }
    if c.bios_vendor == "Amazon EC2" {
        add(&mut guest, "kvm", "guest");
    }
    if c.modules.contains(&"kvm") {
        add(&mut host, "kvm", "host");
    }
    if c.modules.contains(&"vboxdrv") {
        add(&mut host, "virtualbox", "host");
    }
    if has("/dev/kvm") {
        add(&mut host, "kvm", "host");
    }
    let (kind, role) = found.unwrap_or(("NA", "NA"));
    let mut v = Vars::new();
    v.insert("virtualization_type".into(), json!(kind));
    v.insert("virtualization_role".into(), json!(role));
    v.insert("virtualization_tech_guest".into(), json!(guest));
    v.insert("virtualization_tech_host".into(), json!(host));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_facts_as_setup_reads_them() {
        let out = "\x1e/etc/machine-id\n3d1219c7\n\x1e/proc/uptime\n16328.52 30000.1\n\
            \x1e/proc/loadavg\n3.27 3.60 2.63 2/300 12\n\
            \x1e/proc/cmdline\nquiet panic=1 console=ttyS0 console=tty0 --\n\
            \x1e/etc/resolv.conf\n# comment\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch a.example b.example\noptions ndots:2 rotate\n\
            \x1e/sys/devices/virtual/dmi/id/product_name\nKVM\n\x1e/sys/devices/virtual/dmi/id/chassis_type\n1\n\
            \x1e/etc/ssh/ssh_host_ed25519_key.pub\nssh-ed25519 AAAAC3 root@h\n\
            \x1e/proc/modules\nkvm_intel\nkvm\n\x1eexists\n/.dockerenv\n/dev/kvm\n\
            \x1e/proc/1/environ\nPATH=/bin\n\x1echroot\n8:2\n8:2\n\
            \x1ecapsh\nCurrent: =ep cap_sys_resource-ep\nBounding set =cap_chown\n";
        let f = from_output(out);
        assert_eq!(f["machine_id"], "3d1219c7");
        assert_eq!(f["uptime_seconds"], 16328);
        assert_eq!(f["loadavg"], json!({"1m": 3.27, "5m": 3.6, "15m": 2.63}));
        assert_eq!(
            f["cmdline"],
            json!({"quiet": true, "panic": "1", "console": "tty0", "--": true})
        );
        assert_eq!(f["proc_cmdline"]["console"], json!(["ttyS0", "tty0"]));
        assert_eq!(
            f["dns"],
            json!({
                "nameservers": ["10.0.0.1", "10.0.0.2"],
                "search": ["a.example", "b.example"],
                "options": {"ndots": "2", "rotate": true}
            })
        );
        assert_eq!(f["product_name"], "KVM");
        assert_eq!(f["bios_vendor"], "NA");
        assert_eq!(f["system_vendor"], "NA");
        assert_eq!(f["form_factor"], "Other");
        assert_eq!(f["ssh_host_key_ed25519_public"], "AAAAC3");
        assert_eq!(f["ssh_host_key_ed25519_public_keytype"], "ssh-ed25519");
        assert_eq!(f["fips"], false);
        assert_eq!(f["is_chroot"], false);
        assert_eq!(f["selinux"], json!({"status": "disabled"}));
        assert_eq!(f["apparmor"], json!({"status": "disabled"}));
        assert_eq!(f["system_capabilities"], json!(["ep cap_sys_resource-ep"]));
        assert_eq!(f["system_capabilities_enforced"], "True");
        assert_eq!(f["virtualization_type"], "docker");
        assert_eq!(f["virtualization_role"], "guest");
        assert_eq!(
            f["virtualization_tech_guest"],
            json!(["docker", "container", "kvm"])
        );
        assert_eq!(f["virtualization_tech_host"], json!(["kvm"]));
    }
}
