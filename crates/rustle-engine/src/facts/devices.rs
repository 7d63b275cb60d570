//! `devices` and `device_links` as setup's Linux hardware collector gives
//! them: each block device of `/sys/block` (vendor, model, removable,
//! rotational, discard, scheduler, sectors and size, holders, links and
//! partitions) and the `/dev/disk/by-*` links, from one script (shell
//! builtins, and `ls` for the links).

use serde_json::{Value as Json, json};

use super::sh;
use crate::target::Target;

const SCRIPT: &str = "for d in /sys/block/*; do [ -e \"$d\" ] || continue; b=${d##*/}; \
    printf '\\036dev %s\\n' \"$b\"; [ -L \"$d\" ] || echo nolinks=1; \
    for f in removable queue/rotational queue/discard_granularity queue/discard_max_hw_bytes queue/scheduler \
        queue/logical_block_size queue/hw_sector_size size device/vendor device/model device/sas_address \
        device/sas_device_handle device/serial; do \
        v=; [ -r \"$d/$f\" ] && read -r v < \"$d/$f\" 2>/dev/null; [ -r \"$d/$f\" ] && printf '%s=%s\\n' \"$f\" \"$v\"; done; \
    for h in \"$d\"/holders/dm-*; do [ -e \"$h\" ] || continue; n=; read -r n < \"$h/dm/name\" 2>/dev/null; printf 'holder=%s\\n' \"${n:-${h##*/}}\"; done; \
    for p in \"$d/$b\"*; do [ -e \"$p/partition\" ] || continue; printf 'part=%s\\n' \"${p##*/}\"; \
        for f in start size; do v=; read -r v < \"$p/$f\" 2>/dev/null && printf 'part.%s=%s\\n' $f \"$v\"; done; \
        for h in \"$p\"/holders/dm-*; do [ -e \"$h\" ] || continue; n=; read -r n < \"$h/dm/name\" 2>/dev/null; printf 'part.holder=%s\\n' \"${n:-${h##*/}}\"; done; \
    done; done; \
    for k in id uuid label; do printf '\\036links %s\\n' $k; [ -d /dev/disk/by-$k ] && ls -l /dev/disk/by-$k 2>/dev/null; done; \
    printf '\\036masters\\n'; for s in /sys/block/*/slaves/*; do [ -e \"$s\" ] || continue; o=${s#/sys/block/}; printf '%s %s\\n' \"${o%%/*}\" \"${s##*/}\"; done; true";

pub(super) fn gather(target: &dyn Target, facts: &mut rustle_format::Vars) {
    let Some(out) = sh(target, SCRIPT) else {
        return;
    };
    let (devices, links) = from_output(&out);
    facts.insert("devices".into(), devices);
    facts.insert("device_links".into(), links);
}

/// `key=value` lines of the script.
type Fields<'a> = Vec<(&'a str, &'a str)>;

/// One block device's lines from the script.
#[derive(Default)]
struct Dev<'a> {
    name: &'a str,
    fields: Fields<'a>,
    holders: Vec<&'a str>,
    /// (name, fields, holders)
    parts: Vec<(&'a str, Fields<'a>, Vec<&'a str>)>,
}

fn from_output(out: &str) -> (Json, Json) {
    let mut devs: Vec<Dev> = Vec::new();
    let mut links = serde_json::Map::new();
    let mut masters: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for section in out.split('\x1e').filter(|s| !s.is_empty()) {
        let (head, body) = section.split_once('\n').unwrap_or((section, ""));
        if let Some(name) = head.strip_prefix("dev ") {
            let mut dev = Dev {
                name,
                ..Dev::default()
            };
            for (k, v) in body.lines().filter_map(|l| l.split_once('=')) {
                match k {
                    "holder" => dev.holders.push(v),
                    "part" => dev.parts.push((v, Vec::new(), Vec::new())),
                    "part.holder" => {
                        if let Some(p) = dev.parts.last_mut() {
                            p.2.push(v);
                        }
                    }
                    _ => match k.strip_prefix("part.") {
                        Some(k) => {
                            if let Some(p) = dev.parts.last_mut() {
                                p.1.push((k, v));
                            }
                        }
                        None => dev.fields.push((k, v)),
                    },
                }
            }
            devs.push(dev);
        } else if let Some(kind) = head.strip_prefix("links ") {
            let mut by: std::collections::BTreeMap<String, Vec<String>> = Default::default();
            for line in body.lines() {
                let Some((left, target)) = line.split_once(" -> ") else {
                    continue;
                };
                let Some(name) = left.split_whitespace().last() else {
                    continue;
                };
                let target = target.rsplit('/').next().unwrap_or(target);
                by.entry(target.to_owned())
                    .or_default()
                    .push(name.to_owned());
            }
            for names in by.values_mut() {
                names.sort();
            }
            links.insert(format!("{kind}s"), json!(by));
        } else if head == "masters" {
            for (owner, slave) in body.lines().filter_map(|l| l.split_once(' ')) {
                let list = masters.entry(slave.to_owned()).or_default();
                if !list.iter().any(|o| o == owner) {
                    list.push(owner.to_owned());
                }
            }
        }
    }
    for list in masters.values_mut() {
        list.sort();
    }
    for kind in ["ids", "uuids", "labels"] {
        links.entry(kind).or_insert_with(|| json!({}));
    }
    links.insert("masters".into(), json!(masters));
    let link_of = |name: &str| -> Json {
        let mut m = serde_json::Map::new();
        for kind in ["ids", "uuids", "labels", "masters"] {
            let list = links
                .get(kind)
                .and_then(|l| l.get(name))
                .cloned()
                .unwrap_or_else(|| json!([]));
            m.insert(kind.into(), list);
        }
        Json::Object(m)
    };
    let mut devices = serde_json::Map::new();
    for dev in &devs {
        let field = |k: &str| dev.fields.iter().find(|(f, _)| *f == k).map(|(_, v)| *v);
        let text = |k: &str| field(k).map_or(Json::Null, |v| json!(v));
        let sectorsize = field("queue/logical_block_size")
            .filter(|v| !v.is_empty())
            .or_else(|| field("queue/hw_sector_size"))
            .map_or(json!(512), |v| json!(v));
        let size_bytes: u64 = sectorsize
            .as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| sectorsize.as_u64())
            .unwrap_or(512);
        let sectors = field("size")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
            * 512
            / size_bytes.max(1);
        let mut partitions = serde_json::Map::new();
        for (name, fields, holders) in &dev.parts {
            let get = |k: &str| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| *v);
            let psectors = get("size").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            // by-uuid maps a device to its UUIDs.
            let uuid = links
                .get("uuids")
                .and_then(|u| u.get(*name))
                .and_then(|l| l.get(0))
                .cloned()
                .unwrap_or(Json::Null);
            partitions.insert(
                (*name).to_owned(),
                json!({
                    "links": link_of(name),
                    "start": get("start").unwrap_or("0"),
                    "sectorsize": 512,
                    "sectors": psectors,
                    "size": bytes_to_human(psectors as f64 * 512.0),
                    "uuid": uuid,
                    "holders": holders,
                }),
            );
        }
        let scheduler = field("queue/scheduler")
            .and_then(|s| Some(s[s.find('[')? + 1..s.find(']')?].to_owned()))
            .unwrap_or_default();
        let discard = match field("queue/discard_max_hw_bytes") {
            Some("0") => json!("0"),
            _ => text("queue/discard_granularity"),
        };
        let mut d = json!({
            "virtual": 1,
            "links": link_of(dev.name),
            "vendor": text("device/vendor"),
            "model": text("device/model"),
            "sas_address": text("device/sas_address"),
            "sas_device_handle": text("device/sas_device_handle"),
            "removable": text("removable"),
            "support_discard": discard,
            "partitions": partitions,
            "rotational": text("queue/rotational"),
            "scheduler_mode": scheduler,
            "sectorsize": sectorsize,
            "sectors": sectors,
            "size": bytes_to_human(sectors as f64 * size_bytes as f64),
            "host": "",
            "holders": dev.holders,
        });
        if let Some(serial) = field("device/serial").filter(|s| !s.is_empty()) {
            d["serial"] = json!(serial);
        }
        devices.insert(dev.name.to_owned(), d);
    }
    (Json::Object(devices), Json::Object(links))
}

/// Ansible's `bytes_to_human`: two decimals and the largest binary unit
/// that fits (`256.00 GB`, `0.00 Bytes`).
fn bytes_to_human(size: f64) -> String {
    const UNITS: &[(&str, f64)] = &[
        ("YB", 1208925819614629174706176.0),
        ("ZB", 1180591620717411303424.0),
        ("EB", 1152921504606846976.0),
        ("PB", 1125899906842624.0),
        ("TB", 1099511627776.0),
        ("GB", 1073741824.0),
        ("MB", 1048576.0),
        ("KB", 1024.0),
    ];
    match UNITS.iter().find(|(_, limit)| size >= *limit) {
        Some((unit, limit)) => format!("{:.2} {unit}", size / limit),
        None => format!("{size:.2} Bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_devices_as_setup_reports_them() {
        let out = "\x1edev vda\nremovable=0\nqueue/rotational=1\nqueue/discard_granularity=4096\n\
            queue/discard_max_hw_bytes=2147483136\nqueue/scheduler=[mq-deadline] none\nqueue/logical_block_size=512\n\
            size=536870912\ndevice/vendor=0x1af4\npart=vda1\npart.start=2048\npart.size=1024000\npart.holder=vg-root\n\
            \x1edev loop0\nremovable=0\nqueue/rotational=0\nqueue/discard_granularity=4096\nqueue/discard_max_hw_bytes=0\n\
            queue/scheduler=none\nqueue/logical_block_size=512\nsize=0\n\
            \x1elinks id\nlrwxrwxrwx 1 root root 10 Dec  6 06:00 virtio-abc-part1 -> ../../vda1\n\
            \x1elinks uuid\nlrwxrwxrwx 1 root root 10 Dec  6 06:00 1234-ab -> ../../vda1\n\
            \x1elinks label\n\x1emasters\ndm-0 vda1\n";
        let (devices, links) = from_output(out);
        let vda = &devices["vda"];
        assert_eq!(vda["size"], "256.00 GB");
        assert_eq!(vda["sectors"], 536870912);
        assert_eq!(vda["sectorsize"], "512");
        assert_eq!(vda["scheduler_mode"], "mq-deadline");
        assert_eq!(vda["support_discard"], "4096");
        assert_eq!(vda["vendor"], "0x1af4");
        assert_eq!(vda["model"], Json::Null);
        let part = &vda["partitions"]["vda1"];
        assert_eq!(part["size"], "500.00 MB");
        assert_eq!(part["start"], "2048");
        assert_eq!(part["uuid"], "1234-ab");
        assert_eq!(part["holders"], json!(["vg-root"]));
        assert_eq!(part["links"]["ids"], json!(["virtio-abc-part1"]));
        assert_eq!(part["links"]["masters"], json!(["dm-0"]));
        let loop0 = &devices["loop0"];
        assert_eq!(loop0["size"], "0.00 Bytes");
        assert_eq!(loop0["support_discard"], "0");
        assert_eq!(loop0["scheduler_mode"], "");
        assert_eq!(
            links,
            json!({"ids": {"vda1": ["virtio-abc-part1"]}, "uuids": {"vda1": ["1234-ab"]}, "labels": {}, "masters": {"vda1": ["dm-0"]}})
        );
    }
}
