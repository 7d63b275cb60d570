//! Building `rustle-runner` for a target triple with cargo, once, cached by
//! a hash of everything that goes into it: the sources of the runner and
//! of every workspace crate it depends on, `Cargo.lock`, the root
//! manifest, the toolchain (`rustc -vV`), the triple and the profile.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rustle_format::sha256_hex;
use sha2::{Digest, Sha256};

use crate::DeployError;

const PROFILE: &str = "runner";

/// The runner binary for one triple and how it was obtained.
#[derive(Debug, Clone)]
pub struct Built {
    pub triple: String,
    pub path: PathBuf,
    /// The cache key (sha256 hex); empty for a `--runner` given by the user.
    pub key: String,
    pub cache_hit: bool,
    pub seconds: f64,
}

/// The workspace the runner is built from: `RUSTLE_SOURCE_DIR`, else the
/// one this tool was built from.
pub fn source_dir() -> PathBuf {
    std::env::var_os("RUSTLE_SOURCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

fn rustc() -> PathBuf {
    std::env::var_os("RUSTC").map_or_else(|| PathBuf::from("rustc"), PathBuf::from)
}

/// `rustc -vV`, which names the toolchain and the host triple.
pub fn rustc_version() -> Result<String, DeployError> {
    let out = Command::new(rustc())
        .arg("-vV")
        .output()
        .map_err(|e| DeployError::Toolchain(format!("running rustc -vV: {e}")))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The triple of this machine, from `rustc -vV`.
pub fn host_triple(version: &str) -> Result<String, DeployError> {
    version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| DeployError::Toolchain("rustc -vV names no host triple".into()))
}

/// Whether the default toolchain has the standard library for `triple`.
fn has_std(triple: &str) -> bool {
    let out = Command::new(rustc())
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

/// The files that make up the runner: every workspace crate the runner
/// depends on (by path), recursively.
fn runner_inputs(workspace: &Path) -> Result<Vec<PathBuf>, DeployError> {
    let meta = cargo_metadata::MetadataCommand::new()
        .cargo_path(cargo())
        .manifest_path(workspace.join("Cargo.toml"))
        .no_deps()
        .exec()
        .map_err(|e| DeployError::Toolchain(format!("cargo metadata: {e}")))?;
    let mut wanted = vec!["rustle-runner".to_owned()];
    let mut dirs = Vec::new();
    while let Some(name) = wanted.pop() {
        let Some(pkg) = meta.packages.iter().find(|p| p.name.as_str() == name) else {
            continue;
        };
        let dir = pkg
            .manifest_path
            .parent()
            .map(|p| p.as_std_path().to_path_buf());
        if let Some(dir) = dir
            && !dirs.contains(&dir)
        {
            dirs.push(dir);
            for d in &pkg.dependencies {
                if d.path.is_some() && d.kind == cargo_metadata::DependencyKind::Normal {
                    wanted.push(d.name.clone());
                }
            }
        }
    }
    if dirs.is_empty() {
        return Err(DeployError::Toolchain(format!(
            "no rustle-runner package in the workspace at {}",
            workspace.display()
        )));
    }
    let mut files = vec![workspace.join("Cargo.toml"), workspace.join("Cargo.lock")];
    for d in dirs {
        collect(&d, &mut files);
    }
    files.sort();
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn cache_key(workspace: &Path, version: &str, triple: &str) -> Result<String, DeployError> {
    let mut h = Sha256::new();
    for f in runner_inputs(workspace)? {
        let bytes = std::fs::read(&f).map_err(|e| DeployError::Io {
            what: format!("reading {}", f.display()),
            source: e,
        })?;
        let rel = f.strip_prefix(workspace).unwrap_or(&f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(sha256_hex(&bytes).as_bytes());
    }
    h.update(version.as_bytes());
    h.update(triple.as_bytes());
    h.update(PROFILE.as_bytes());
    Ok(format!("{:x}", h.finalize()))
}

/// The runner for `triple`, from the cache or built now.
pub fn runner_for(
    triple: &str,
    cache: &Path,
    version: &str,
    log: &mut dyn FnMut(&str),
) -> Result<Built, DeployError> {
    let workspace = source_dir();
    let key = cache_key(&workspace, version, triple)?;
    let cached = cache.join("runners").join(&key).join("rustle-runner");
    let started = Instant::now();
    if cached.is_file() {
        return Ok(Built {
            triple: triple.to_owned(),
            path: cached,
            key,
            cache_hit: true,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    if !has_std(triple) {
        return Err(DeployError::NoToolchain {
            triple: triple.to_owned(),
        });
    }
    log(&format!(
        "runner {triple}: building with cargo ({})",
        &key[..12]
    ));
    let build_dir = cache.join("build");
    let status = Command::new(cargo())
        .current_dir(&workspace)
        .args([
            "build",
            "--profile",
            PROFILE,
            "--locked",
            "-p",
            "rustle-runner",
            "--target",
            triple,
        ])
        .arg("--target-dir")
        .arg(&build_dir)
        .status()
        .map_err(|e| DeployError::Toolchain(format!("running cargo: {e}")))?;
    if !status.success() {
        return Err(DeployError::Toolchain(format!(
            "cargo build of rustle-runner for {triple} failed ({status})"
        )));
    }
    let built = build_dir.join(triple).join(PROFILE).join("rustle-runner");
    let dir = cached.parent().expect("cache path has a parent");
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| DeployError::Io { what, source }
    };
    std::fs::create_dir_all(dir).map_err(io("creating the runner cache"))?;
    let tmp = dir.join(format!(".rustle-runner.{}", std::process::id()));
    std::fs::copy(&built, &tmp).map_err(io("copying the built runner"))?;
    std::fs::rename(&tmp, &cached).map_err(io("moving the runner into the cache"))?;
    Ok(Built {
        triple: triple.to_owned(),
        path: cached,
        key,
        cache_hit: false,
        seconds: started.elapsed().as_secs_f64(),
    })
}
