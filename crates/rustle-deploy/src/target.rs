//! What deploy learns about a host in one round trip (its home directory,
//! OS, machine and libc, and which runner bases it already holds) and the
//! Rust target triple that follows.

use std::collections::BTreeSet;

/// The probe, run with the remote user's `sh`: one line each for `$HOME`,
/// `uname -s`, `uname -m` and the libc (`musl` when its loader exists),
/// which stay in `$os`, `$machine` and `$libc` for what follows. One
/// `uname`, and the loader found by a glob: every process spawned here
/// costs every host a millisecond or more.
const PROBE: &str = "u=$(uname -sm); os=${u%% *}; machine=${u##* }; \
     set -- /lib/ld-musl-*; if [ -e \"$1\" ]; then libc=musl; else libc=gnu; fi; \
     printf '%s\\n' \"$HOME\" \"$os\" \"$machine\" \"$libc\"";

/// The line between the probe's answers and the bases it lists.
const BASES: &str = "-- bases";

/// The line a probe's `then` prints once it has placed the runner.
pub const PLACED: &str = "-- placed";

/// The probe, then `prepare` (a script run with `$root` set to `root`, a
/// shell word), then the names in `$root/bases`: the same round trip
/// that learns the triple readies the host for placing. `then` runs last,
/// with the probe's variables set.
pub fn probe_script(root: &str, prepare: &str, then: &str) -> String {
    format!(
        "{PROBE}\nroot={root}\n{prepare}\necho '{BASES}'; \
         for f in \"$root\"/bases/*; do [ -e \"$f\" ] && printf '%s\\n' \"${{f##*/}}\"; done\n{then}\ntrue"
    )
}

/// A shell `case` pattern matching the probe's `$os:$machine:$libc` of
/// every host that `triple` runs on (empty when none would).
pub fn probe_pattern(triple: &str) -> String {
    let mut alts = Vec::new();
    for os in ["Linux", "Darwin", "FreeBSD"] {
        for machine in MACHINES {
            for libc in ["gnu", "musl"] {
                if triple_for(os, machine, libc).as_deref() == Ok(triple) {
                    alts.push(format!("{os}:{machine}:{libc}"));
                }
            }
        }
    }
    alts.join("|")
}

/// The `uname -m` answers [`triple_for`] knows.
const MACHINES: &[&str] = &[
    "x86_64",
    "amd64",
    "aarch64",
    "arm64",
    "i386",
    "i486",
    "i586",
    "i686",
    "riscv64",
    "ppc64le",
    "s390x",
    "loongarch64",
    "armv7l",
    "armv7",
    "armv6l",
];

/// A host as the probe saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub home: String,
    /// The triple the probe's answers map to, or why there is none.
    pub triple: Result<String, String>,
    /// The runner bases (sha256 names) the host holds.
    pub bases: BTreeSet<String>,
    /// Whether the probe's `then` placed the runner ([`PLACED`]).
    pub placed: bool,
}

/// Reads the probe's output.
pub fn parse_probe(out: &str) -> Result<Facts, String> {
    let (answers, bases) = out.split_once(BASES).unwrap_or((out, ""));
    let lines: Vec<&str> = answers.lines().map(str::trim).collect();
    let [home, os, machine, libc, ..] = lines[..] else {
        return Err(format!("the host probe printed {out:?}"));
    };
    if home.is_empty() {
        return Err("the host has no $HOME".into());
    }
    Ok(Facts {
        home: home.to_owned(),
        triple: triple_for(os, machine, libc),
        bases: bases
            .split_whitespace()
            .filter(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_owned)
            .collect(),
        placed: bases.lines().any(|l| l.trim() == PLACED),
    })
}

/// Maps `uname -s`, `uname -m` and the libc to a Rust target triple.
pub fn triple_for(os: &str, machine: &str, libc: &str) -> Result<String, String> {
    let arch = match machine {
        "x86_64" | "amd64" => "x86_64",
        "aarch64" | "arm64" => "aarch64",
        "i386" | "i486" | "i586" | "i686" => "i686",
        "riscv64" => "riscv64gc",
        "ppc64le" => "powerpc64le",
        "s390x" => "s390x",
        "loongarch64" => "loongarch64",
        "armv7l" | "armv7" => "armv7",
        "armv6l" => "arm",
        other => return Err(format!("no Rust target for machine {other:?} ({os})")),
    };
    match os {
        "Linux" => {
            let libc = if libc == "musl" { "musl" } else { "gnu" };
            let abi = if matches!(arch, "armv7" | "arm") {
                "eabihf"
            } else {
                ""
            };
            Ok(format!("{arch}-unknown-linux-{libc}{abi}"))
        }
        "Darwin" if matches!(arch, "x86_64" | "aarch64") => Ok(format!("{arch}-apple-darwin")),
        "FreeBSD" if matches!(arch, "x86_64" | "aarch64" | "i686") => {
            Ok(format!("{arch}-unknown-freebsd"))
        }
        other => Err(format!("no Rust target for {other} on {machine}")),
    }
}

/// The architecture an ELF binary is built for (from `e_machine`), or
/// `None` when `bytes` is not a little-endian ELF file we know.
pub fn elf_arch(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" || bytes[5] != 1 {
        return None;
    }
    Some(match u16::from_le_bytes([bytes[18], bytes[19]]) {
        3 => "i686",
        40 => "arm",
        62 => "x86_64",
        183 => "aarch64",
        243 => "riscv64",
        21 => "powerpc64",
        258 => "loongarch64",
        _ => return None,
    })
}

/// Whether a binary for `arch` (from [`elf_arch`]) runs on `triple`.
pub fn arch_matches(arch: &str, triple: &str) -> bool {
    let t = triple.split('-').next().unwrap_or_default();
    match arch {
        "arm" => t.starts_with("arm") || t.starts_with("thumb"),
        "i686" => matches!(t, "i386" | "i586" | "i686"),
        "riscv64" => t.starts_with("riscv64"),
        "powerpc64" => t.starts_with("powerpc64"),
        other => t == other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples() {
        let cases = [
            ("Linux", "x86_64", "gnu", "x86_64-unknown-linux-gnu"),
            ("Linux", "aarch64", "gnu", "aarch64-unknown-linux-gnu"),
            ("Linux", "x86_64", "musl", "x86_64-unknown-linux-musl"),
            ("Linux", "armv7l", "gnu", "armv7-unknown-linux-gnueabihf"),
            ("Linux", "armv6l", "musl", "arm-unknown-linux-musleabihf"),
            ("Linux", "i686", "gnu", "i686-unknown-linux-gnu"),
            ("Linux", "riscv64", "gnu", "riscv64gc-unknown-linux-gnu"),
            ("Darwin", "arm64", "gnu", "aarch64-apple-darwin"),
            ("FreeBSD", "amd64", "gnu", "x86_64-unknown-freebsd"),
        ];
        for (os, m, libc, want) in cases {
            assert_eq!(
                triple_for(os, m, libc).as_deref(),
                Ok(want),
                "{os} {m} {libc}"
            );
        }
        assert!(triple_for("Linux", "pdp11", "gnu").is_err());
        assert!(triple_for("Plan9", "x86_64", "gnu").is_err());
    }

    #[test]
    fn elf_machines() {
        let mut elf = vec![0u8; 64];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[18] = 183;
        assert_eq!(elf_arch(&elf), Some("aarch64"));
        assert!(arch_matches("aarch64", "aarch64-unknown-linux-gnu"));
        assert!(!arch_matches("aarch64", "x86_64-unknown-linux-gnu"));
        assert!(arch_matches("arm", "armv7-unknown-linux-gnueabihf"));
        assert_eq!(elf_arch(b"#!/bin/sh\nexit 0\n"), None);
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(elf_arch(&me), Some(std::env::consts::ARCH));
    }

    #[test]
    fn probe_patterns_name_every_answer_of_a_triple() {
        assert_eq!(
            probe_pattern("x86_64-unknown-linux-gnu"),
            "Linux:x86_64:gnu|Linux:amd64:gnu"
        );
        assert_eq!(
            probe_pattern("aarch64-unknown-linux-musl"),
            "Linux:aarch64:musl|Linux:arm64:musl"
        );
        assert_eq!(probe_pattern("pdp11-unknown-none"), "");
        // Every machine triple_for maps is in the list.
        for m in MACHINES {
            assert!(triple_for("Linux", m, "gnu").is_ok(), "{m}");
        }
    }

    #[test]
    fn probe_output() {
        let f = parse_probe("/home/u\nLinux\naarch64\ngnu\n").unwrap();
        assert!(f.bases.is_empty());
        assert!(!f.placed);
        assert_eq!(f.home, "/home/u");
        assert_eq!(f.triple.as_deref(), Ok("aarch64-unknown-linux-gnu"));
        assert!(parse_probe("/home/u\nLinux\n").is_err());
        let sha = "ab".repeat(32);
        let out = format!("/r\nLinux\nx86_64\ngnu\n-- bases\n{sha}\n.x.tmp\n-- placed\n");
        let f = parse_probe(&out).unwrap();
        assert_eq!(f.bases.iter().collect::<Vec<_>>(), [&sha]);
        assert!(f.placed);
    }
}
