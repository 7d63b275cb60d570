//! Choosing how to build a runner for a target triple, in this order:
//!
//! 1. the default `rustc` (`$RUSTC`, else `rustc` on the PATH) when it has
//!    the triple's standard library;
//! 2. a rustc configured for the triple: `RUSTLE_RUSTC_<TRIPLE>` with
//!    `RUSTLE_LINKER_<TRIPLE>` (TRIPLE upper-cased, `-` as `_`);
//! 3. a system rustc that has the triple's standard library (Debian's
//!    `rustc-web` with `libstd-rust-web-dev:<arch>` installs one as
//!    `/usr/bin/rustc`) and the triple's GNU linker on the PATH
//!    (`aarch64-linux-gnu-gcc` for `aarch64-unknown-linux-gnu`);
//! 4. `cargo zigbuild`, then `cross`, when installed.
//!
//! The default rustc's target list decides whether a triple exists at all;
//! its own host triple needs no question beyond `rustc -vV`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::DeployError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Default,
    Configured,
    System,
    Zigbuild,
    Cross,
}

/// A way to build for one triple.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub kind: Kind,
    pub rustc: PathBuf,
    pub linker: Option<PathBuf>,
    /// `rustc -vV` of `rustc`.
    pub version: String,
}

pub fn default_rustc() -> PathBuf {
    std::env::var_os("RUSTC").map_or_else(|| PathBuf::from("rustc"), PathBuf::from)
}

pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// `rustc -vV`, which names the toolchain and its host triple (asked once
/// per rustc and process).
pub fn version_of(rustc: &Path) -> Result<String, DeployError> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static SEEN: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);
    let known = |seen: &mut Option<HashMap<PathBuf, String>>| {
        seen.get_or_insert_default().get(rustc).cloned()
    };
    if let Some(v) = known(&mut SEEN.lock().expect("unpoisoned")) {
        return Ok(v);
    }
    let v = ask_version(rustc)?;
    SEEN.lock()
        .expect("unpoisoned")
        .get_or_insert_default()
        .insert(rustc.to_owned(), v.clone());
    Ok(v)
}

fn ask_version(rustc: &Path) -> Result<String, DeployError> {
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| DeployError::Toolchain(format!("running {} -vV: {e}", rustc.display())))?;
    if !out.status.success() {
        return Err(DeployError::Toolchain(format!(
            "{} -vV failed ({})",
            rustc.display(),
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The host triple named by `rustc -vV` output.
pub fn host_triple(version: &str) -> Result<String, DeployError> {
    version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| DeployError::Toolchain("rustc -vV names no host triple".into()))
}

fn release(version: &str) -> &str {
    version
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .unwrap_or("?")
}

impl Toolchain {
    /// One line for people: which rustc (and linker) builds.
    pub fn describe(&self) -> String {
        let how = match self.kind {
            Kind::Default => "default rustc",
            Kind::Configured => "configured rustc",
            Kind::System => "system rustc",
            Kind::Zigbuild => "cargo zigbuild, rustc",
            Kind::Cross => "cross, rustc",
        };
        let mut s = format!("{how} {} {}", self.rustc.display(), release(&self.version));
        if let Some(l) = &self.linker {
            s.push_str(&format!(", linker {}", l.display()));
        }
        s
    }

    /// What goes into the build cache key besides the sources.
    pub fn id(&self) -> String {
        format!(
            "{:?}\n{}\n{}",
            self.kind,
            self.version,
            self.linker
                .as_ref()
                .map(|l| l.display().to_string())
                .unwrap_or_default()
        )
    }

    /// The build command for `rustle-runner` in `workspace`.
    pub fn build_command(
        &self,
        workspace: &Path,
        triple: &str,
        profile: &str,
        target_dir: &Path,
    ) -> Command {
        let mut cmd = match self.kind {
            Kind::Cross => {
                let mut c = Command::new("cross");
                c.arg("build");
                c
            }
            Kind::Zigbuild => {
                let mut c = Command::new(cargo());
                c.arg("zigbuild");
                c
            }
            _ => {
                let mut c = Command::new(cargo());
                c.arg("build").env("RUSTC", &self.rustc);
                c
            }
        };
        cmd.current_dir(workspace)
            .args(["--profile", profile, "--locked", "-p", "rustle-runner"])
            .args(["--target", triple])
            .arg("--target-dir")
            .arg(target_dir);
        if let Some(l) = &self.linker {
            cmd.env(format!("CARGO_TARGET_{}_LINKER", env_name(triple)), l);
        }
        cmd
    }
}

/// `aarch64-unknown-linux-gnu` -> `AARCH64_UNKNOWN_LINUX_GNU`.
pub fn env_name(triple: &str) -> String {
    triple
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether `rustc` has the standard library for `triple`.
fn has_std(rustc: &Path, triple: &str) -> bool {
    let out = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", triple])
        .output();
    let Ok(out) = out else { return false };
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    out.status.success()
        && std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
        })
}

/// Whether the default rustc knows `triple` at all.
fn known_triple(rustc: &Path, triple: &str) -> Result<bool, DeployError> {
    let out = Command::new(rustc)
        .args(["--print", "target-list"])
        .output()
        .map_err(|e| DeployError::Toolchain(format!("running {}: {e}", rustc.display())))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == triple))
}

/// An executable named `name` on the PATH (or `name` itself if it has a slash).
fn on_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The GNU cross linker Debian and most distributions name for `triple`.
fn gnu_linker(triple: &str) -> Option<String> {
    let mut parts = triple.splitn(3, '-');
    let (arch, _vendor, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let arch = match arch {
        "armv7" | "arm" => "arm",
        "riscv64gc" => "riscv64",
        a => a,
    };
    Some(format!("{arch}-{rest}-gcc"))
}

/// How to build for `triple`, or the error that says what would add a way.
pub fn for_triple(triple: &str) -> Result<Toolchain, DeployError> {
    let rustc = default_rustc();
    let version = version_of(&rustc)?;
    // A rustc always builds for its own host: its standard library comes
    // with it. Only other triples need the two questions below.
    if host_triple(&version).ok().as_deref() == Some(triple) {
        return Ok(Toolchain {
            kind: Kind::Default,
            rustc,
            linker: None,
            version,
        });
    }
    let (known, std) = std::thread::scope(|s| {
        let known = s.spawn(|| known_triple(&rustc, triple));
        let std = has_std(&rustc, triple);
        (known.join().expect("rustc --print target-list"), std)
    });
    if !known? {
        return Err(DeployError::UnknownTarget {
            triple: triple.to_owned(),
        });
    }
    if std {
        return Ok(Toolchain {
            kind: Kind::Default,
            rustc,
            linker: None,
            version,
        });
    }
    let env = env_name(triple);
    let linker_for = |system_rustc_version: &str| -> Option<Option<PathBuf>> {
        if let Some(l) = std::env::var_os(format!("RUSTLE_LINKER_{env}")) {
            return Some(Some(PathBuf::from(l)));
        }
        if host_triple(system_rustc_version).ok().as_deref() == Some(triple) {
            return Some(None);
        }
        gnu_linker(triple).and_then(|l| on_path(&l)).map(Some)
    };
    if let Some(configured) = std::env::var_os(format!("RUSTLE_RUSTC_{env}")) {
        let rustc = PathBuf::from(configured);
        let version = version_of(&rustc)?;
        if !has_std(&rustc, triple) {
            return Err(DeployError::Toolchain(format!(
                "RUSTLE_RUSTC_{env}={} has no standard library for {triple}",
                rustc.display()
            )));
        }
        let linker = linker_for(&version).flatten();
        return Ok(Toolchain {
            kind: Kind::Configured,
            rustc,
            linker,
            version,
        });
    }
    let default_real = on_path(&rustc.display().to_string()).and_then(|p| p.canonicalize().ok());
    for candidate in ["/usr/bin/rustc", "/usr/local/bin/rustc"] {
        let path = PathBuf::from(candidate);
        if !path.is_file() || path.canonicalize().ok() == default_real {
            continue;
        }
        if !has_std(&path, triple) {
            continue;
        }
        let Ok(version) = version_of(&path) else {
            continue;
        };
        if let Some(linker) = linker_for(&version) {
            return Ok(Toolchain {
                kind: Kind::System,
                rustc: path,
                linker,
                version,
            });
        }
    }
    for (tool, kind) in [("cargo-zigbuild", Kind::Zigbuild), ("cross", Kind::Cross)] {
        if on_path(tool).is_some() {
            return Ok(Toolchain {
                kind,
                rustc,
                linker: None,
                version,
            });
        }
    }
    Err(DeployError::NoToolchain {
        triple: triple.to_owned(),
        env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            env_name("aarch64-unknown-linux-gnu"),
            "AARCH64_UNKNOWN_LINUX_GNU"
        );
        assert_eq!(
            gnu_linker("aarch64-unknown-linux-gnu").as_deref(),
            Some("aarch64-linux-gnu-gcc")
        );
        assert_eq!(
            gnu_linker("armv7-unknown-linux-gnueabihf").as_deref(),
            Some("arm-linux-gnueabihf-gcc")
        );
    }

    #[test]
    fn the_host_triple_builds_with_the_default_rustc() {
        let version = version_of(&default_rustc()).unwrap();
        let host = host_triple(&version).unwrap();
        let t = for_triple(&host).unwrap();
        assert_eq!(t.kind, Kind::Default);
        assert!(t.linker.is_none());
    }

    #[test]
    fn an_unknown_triple_is_named() {
        let e = for_triple("pdp11-unknown-unix").unwrap_err();
        assert!(e.to_string().contains("pdp11-unknown-unix"), "{e}");
    }
}
