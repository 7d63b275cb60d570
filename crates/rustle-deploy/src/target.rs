//! What deploy learns about a host in one round trip (its home directory,
//! OS, machine and libc) and the Rust target triple that follows.

/// The probe, run with the remote user's `sh`: one line each for `$HOME`,
/// `uname -s`, `uname -m` and the libc (`musl` when its loader exists).
pub const PROBE: &str = "printf '%s\\n' \"$HOME\"; uname -s; uname -m; \
     if ls /lib/ld-musl-* >/dev/null 2>&1; then echo musl; else echo gnu; fi";

/// A host as the probe saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub home: String,
    /// The triple the probe's answers map to, or why there is none.
    pub triple: Result<String, String>,
}

/// Reads the probe's output.
pub fn parse_probe(out: &str) -> Result<Facts, String> {
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let [home, os, machine, libc, ..] = lines[..] else {
        return Err(format!("the host probe printed {out:?}"));
    };
    if home.is_empty() {
        return Err("the host has no $HOME".into());
    }
    Ok(Facts {
        home: home.to_owned(),
        triple: triple_for(os, machine, libc),
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
    fn probe_output() {
        let f = parse_probe("/home/u\nLinux\naarch64\ngnu\n").unwrap();
        assert_eq!(f.home, "/home/u");
        assert_eq!(f.triple.as_deref(), Ok("aarch64-unknown-linux-gnu"));
        assert!(parse_probe("/home/u\nLinux\n").is_err());
    }
}
