//! Interface facts as setup's Linux network collector gives them: one
//! fact per interface (`eth0`: device, macaddress, mtu, active, type,
//! promisc, pciid, module, speed, ipv4, ipv4_secondaries, ipv6),
//! `all_ipv6_addresses`, `default_ipv6` and `locally_reachable_ips`, from
//! `/sys/class/net` and three `ip` calls in one script.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::{prefix_netmask, sh, word_after};
use crate::target::Target;

/// Each interface's `/sys/class/net` files (shell builtins only, but for
/// the two links), then every address, the route to the IPv6 internet and
/// the local routing tables. Sections start with a `\x1e` line.
const SCRIPT: &str = "for d in /sys/class/net/*; do [ -d \"$d\" ] || continue; \
    printf '\\036if %s\\n' \"${d##*/}\"; \
    for f in address mtu operstate type flags speed; do v=; read -r v < \"$d/$f\" 2>/dev/null && printf '%s=%s\\n' $f \"$v\"; done; \
    [ -d \"$d/bridge\" ] && echo bridge=1; \
    [ -e \"$d/device\" ] && { l=$(readlink \"$d/device\"); printf 'pciid=%s\\n' \"${l##*/}\"; }; \
    [ -e \"$d/device/driver/module\" ] && { l=$(readlink -f \"$d/device/driver/module\"); printf 'module=%s\\n' \"${l##*/}\"; }; \
    done; \
    printf '\\036addr\\n'; ip -o addr show 2>/dev/null; \
    printf '\\036route6\\n'; ip -6 route get 2404:6800:400a:800::1012 2>/dev/null; \
    printf '\\036local\\n'; ip -4 route show table local 2>/dev/null; ip -6 route show table local 2>/dev/null; true";

/// `/sys/class/net/*/type` values setup names.
fn interface_type(code: &str) -> &'static str {
    match code {
        "1" => "ether",
        "32" => "infiniband",
        "512" => "ppp",
        "772" => "loopback",
        "65534" => "tunnel",
        _ => "unknown",
    }
}

pub(super) fn gather(target: &dyn Target, facts: &mut Vars) {
    let Some(out) = sh(target, SCRIPT) else {
        return;
    };
    facts.extend(from_output(&out));
}

/// The facts from [`SCRIPT`]'s output.
fn from_output(out: &str) -> Vars {
    let mut interfaces: Vec<(String, serde_json::Map<String, Json>)> = Vec::new();
    let (mut addr, mut route6, mut local) = ("", "", "");
    for section in out.split('\x1e').filter(|s| !s.is_empty()) {
        let (head, body) = section.split_once('\n').unwrap_or((section, ""));
        match head.split_once(' ') {
            Some(("if", name)) => interfaces.push((name.to_owned(), sys_fields(name, body))),
            _ => match head {
                "addr" => addr = body,
                "route6" => route6 = body,
                "local" => local = body,
                _ => {}
            },
        }
    }
    let mut all_ipv6 = Vec::new();
    for line in addr.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(dev), Some(family)) = (words.get(1), words.get(2)) else {
            continue;
        };
        let Some((_, iface)) = interfaces.iter_mut().find(|(n, _)| n == dev) else {
            continue;
        };
        let Some((address, prefix)) = words.get(3).and_then(|a| a.split_once('/')) else {
            continue;
        };
        match *family {
            "inet" => {
                let Ok(ip) = address.parse::<std::net::Ipv4Addr>() else {
                    continue;
                };
                let (netmask, network) = prefix_netmask(ip, prefix.parse().unwrap_or(32));
                let v4 = json!({
                    "address": address,
                    "broadcast": word_after(&words, "brd").unwrap_or_default(),
                    "netmask": netmask,
                    "network": network,
                    "prefix": prefix,
                });
                if iface.contains_key("ipv4") {
                    let list = iface.entry("ipv4_secondaries").or_insert_with(|| json!([]));
                    if let Some(list) = list.as_array_mut() {
                        list.push(v4);
                    }
                } else {
                    iface.insert("ipv4".into(), v4);
                }
            }
            "inet6" => {
                let scope = word_after(&words, "scope").unwrap_or_default();
                let list = iface.entry("ipv6").or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut() {
                    list.push(json!({"address": address, "prefix": prefix, "scope": scope}));
                }
                if address != "::1" {
                    all_ipv6.push(json!(address));
                }
            }
            _ => {}
        }
    }
    let mut facts = Vars::new();
    facts.insert("all_ipv6_addresses".into(), Json::Array(all_ipv6));
    facts.insert("default_ipv6".into(), default_ipv6(route6, &interfaces));
    facts.insert("locally_reachable_ips".into(), locally_reachable(local));
    for (name, iface) in interfaces {
        facts.insert(name.replace('-', "_"), Json::Object(iface));
    }
    facts
}

/// An interface's fields from its `/sys/class/net` files.
fn sys_fields(name: &str, body: &str) -> serde_json::Map<String, Json> {
    let mut m = serde_json::Map::new();
    m.insert("device".into(), json!(name));
    let mut bridge = false;
    for (key, value) in body.lines().filter_map(|l| l.split_once('=')) {
        let value = value.trim();
        match key {
            "address" if !value.is_empty() && value != "00:00:00:00:00:00" => {
                m.insert("macaddress".into(), json!(value));
            }
            "mtu" => {
                if let Ok(n) = value.parse::<i64>() {
                    m.insert("mtu".into(), json!(n));
                }
            }
            "operstate" => {
                m.insert("active".into(), json!(value != "down"));
            }
            "type" => {
                m.insert("type".into(), json!(interface_type(value)));
            }
            "flags" => {
                let flags = i64::from_str_radix(value.trim_start_matches("0x"), 16).unwrap_or(0);
                m.insert("promisc".into(), json!(flags & 0x100 != 0));
            }
            "speed" => {
                if let Ok(n) = value.parse::<i64>() {
                    m.insert("speed".into(), json!(n));
                }
            }
            "pciid" | "module" => {
                m.insert(key.into(), json!(value));
            }
            "bridge" => bridge = true,
            _ => {}
        }
    }
    if bridge {
        m.insert("type".into(), json!("bridge"));
    }
    m
}

/// `default_ipv6`: the route's interface, gateway and source address with
/// that address's prefix and scope and the interface's MAC, MTU and type
/// (`{}` without an IPv6 default route).
fn default_ipv6(route: &str, interfaces: &[(String, serde_json::Map<String, Json>)]) -> Json {
    let words: Vec<&str> = route
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let Some(dev) = word_after(&words, "dev") else {
        return json!({});
    };
    let mut v = serde_json::Map::new();
    v.insert("interface".into(), json!(dev));
    if let Some(gateway) = word_after(&words, "via") {
        v.insert("gateway".into(), json!(gateway));
    }
    let iface = interfaces.iter().find(|(n, _)| n == dev).map(|(_, m)| m);
    if let Some(src) = word_after(&words, "src") {
        v.insert("address".into(), json!(src));
        let found = iface
            .and_then(|m| m.get("ipv6"))
            .and_then(Json::as_array)
            .and_then(|l| l.iter().find(|a| a["address"] == src));
        if let Some(a) = found {
            v.insert("prefix".into(), a["prefix"].clone());
            v.insert("scope".into(), a["scope"].clone());
        }
    }
    for key in ["macaddress", "mtu", "type"] {
        if let Some(value) = iface.and_then(|m| m.get(key)) {
            v.insert(key.into(), value.clone());
        }
    }
    Json::Object(v)
}

/// `locally_reachable_ips`: the `local` routes of both families.
fn locally_reachable(out: &str) -> Json {
    let (mut v4, mut v6): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for line in out.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&"local") {
            continue;
        }
        let Some(address) = words.get(1) else {
            continue;
        };
        let list = if address.contains(':') {
            &mut v6
        } else {
            &mut v4
        };
        if !list.iter().any(|a| a == address) {
            list.push((*address).to_owned());
        }
    }
    json!({"ipv4": v4, "ipv6": v6})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_addresses_and_routes_as_setup_reports_them() {
        let out = "\x1eif eth0\naddress=02:fc:00:00:00:01\nmtu=1400\noperstate=up\ntype=1\nflags=0x1003\nspeed=-1\npciid=virtio2\n\
            \x1eif lo\naddress=00:00:00:00:00:00\nmtu=65536\noperstate=unknown\ntype=772\nflags=0x9\n\
            \x1eif br-x\naddress=aa:bb:cc:dd:ee:ff\nmtu=1500\noperstate=down\ntype=1\nflags=0x1102\nbridge=1\n\
            \x1eaddr\n\
            1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n\
            1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n\
            4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n\
            4: eth0    inet 192.0.2.9/24 brd 192.0.2.255 scope global secondary eth0\\       valid_lft forever\n\
            4: eth0    inet6 fd00::2/64 scope global nodad \\       valid_lft forever preferred_lft forever\n\
            4: eth0    inet6 fe80::fc:ff:fe00:1/64 scope link \\       valid_lft forever preferred_lft forever\n\
            \x1eroute6\n2404:6800:400a:800::1012 from :: via fd00::1 dev eth0 src fd00::2 metric 1024 pref medium\n\
            \x1elocal\nlocal 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 \n\
            broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 \n\
            local 192.0.2.2 dev eth0 proto kernel scope host src 192.0.2.2 \nlocal ::1 dev lo table local proto kernel metric 0 pref medium\n";
        let facts = from_output(out);
        assert_eq!(
            facts["eth0"],
            json!({
                "device": "eth0", "macaddress": "02:fc:00:00:00:01", "mtu": 1400, "active": true,
                "type": "ether", "promisc": false, "speed": -1, "pciid": "virtio2",
                "ipv4": {"address": "192.0.2.2", "broadcast": "192.0.2.255", "netmask": "255.255.255.0", "network": "192.0.2.0", "prefix": "24"},
                "ipv4_secondaries": [{"address": "192.0.2.9", "broadcast": "192.0.2.255", "netmask": "255.255.255.0", "network": "192.0.2.0", "prefix": "24"}],
                "ipv6": [
                    {"address": "fd00::2", "prefix": "64", "scope": "global"},
                    {"address": "fe80::fc:ff:fe00:1", "prefix": "64", "scope": "link"}
                ]
            })
        );
        assert_eq!(
            facts["lo"],
            json!({
                "device": "lo", "mtu": 65536, "active": true, "type": "loopback", "promisc": false,
                "ipv4": {"address": "127.0.0.1", "broadcast": "", "netmask": "255.0.0.0", "network": "127.0.0.0", "prefix": "8"},
                "ipv6": [{"address": "::1", "prefix": "128", "scope": "host"}]
            })
        );
        assert_eq!(facts["br_x"]["type"], "bridge");
        assert_eq!(facts["br_x"]["promisc"], true);
        assert_eq!(facts["br_x"]["active"], false);
        assert_eq!(
            facts["all_ipv6_addresses"],
            json!(["fd00::2", "fe80::fc:ff:fe00:1"])
        );
        assert_eq!(
            facts["default_ipv6"],
            json!({"address": "fd00::2", "gateway": "fd00::1", "interface": "eth0", "macaddress": "02:fc:00:00:00:01", "mtu": 1400, "prefix": "64", "scope": "global", "type": "ether"})
        );
        assert_eq!(
            facts["locally_reachable_ips"],
            json!({"ipv4": ["127.0.0.0/8", "192.0.2.2"], "ipv6": ["::1"]})
        );
    }
}
