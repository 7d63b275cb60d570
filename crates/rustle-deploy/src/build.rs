//! Building `rustle-runner` for a target triple with cargo, once, cached by
//! a hash of everything that goes into it: the sources of the runner and
//! of every workspace crate it depends on, `Cargo.lock`, the root
//! manifest, the toolchain (`rustc -vV`, how it builds, its linker), the
//! triple and the profile.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rustle_format::sha256_hex;
use sha2::{Digest, Sha256};

use crate::DeployError;
use crate::toolchain::{self, Toolchain};

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

/// The files that make up the runner: every workspace crate the runner
/// depends on (by path), recursively.
fn runner_inputs(workspace: &Path) -> Result<Vec<PathBuf>, DeployError> {
    let meta = cargo_metadata::MetadataCommand::new()
        .cargo_path(toolchain::cargo())
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

fn cache_key(
    workspace: &Path,
    inputs: Vec<PathBuf>,
    tc: &Toolchain,
    triple: &str,
) -> Result<String, DeployError> {
    let mut h = Sha256::new();
    for f in inputs {
        let bytes = std::fs::read(&f).map_err(|e| DeployError::Io {
            what: format!("reading {}", f.display()),
            source: e,
        })?;
        let rel = f.strip_prefix(workspace).unwrap_or(&f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(sha256_hex(&bytes).as_bytes());
    }
    h.update(tc.id().as_bytes());
    h.update(triple.as_bytes());
    h.update(PROFILE.as_bytes());
    Ok(format!("{:x}", h.finalize()))
}

/// Where the runner for a triple comes from, decided without building it.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub triple: String,
    pub toolchain: Toolchain,
    pub key: String,
    /// The cached binary (present when `cached`).
    pub path: PathBuf,
    pub cached: bool,
}

/// Chooses the toolchain for `triple` and looks the runner up in the cache.
pub fn recipe(triple: &str, cache: &Path) -> Result<Recipe, DeployError> {
    recipe_with(cache, || {
        toolchain::for_triple(triple).map(|t| (triple.to_owned(), t))
    })
}

/// The recipe for the default rustc's own host triple (the usual target),
/// with `rustc -vV` and cargo metadata asked side by side.
pub fn local_recipe(cache: &Path) -> Result<Recipe, DeployError> {
    recipe_with(cache, || {
        let version = toolchain::version_of(&toolchain::default_rustc())?;
        let triple = toolchain::host_triple(&version)?;
        toolchain::for_triple(&triple).map(|t| (triple, t))
    })
}

fn recipe_with(
    cache: &Path,
    choose: impl FnOnce() -> Result<(String, Toolchain), DeployError>,
) -> Result<Recipe, DeployError> {
    let workspace = source_dir();
    // cargo metadata and rustc answer side by side.
    let (chosen, inputs) = std::thread::scope(|s| {
        let inputs = s.spawn(|| runner_inputs(&workspace));
        let chosen = choose();
        (chosen, inputs.join().expect("reading the runner's inputs"))
    });
    let (triple, toolchain) = chosen?;
    let key = cache_key(&workspace, inputs?, &toolchain, &triple)?;
    let path = cache.join("runners").join(&key).join("rustle-runner");
    Ok(Recipe {
        triple,
        cached: path.is_file(),
        toolchain,
        key,
        path,
    })
}

/// The runner for `recipe`, from the cache or built now.
pub fn build(recipe: &Recipe, cache: &Path, log: &dyn Fn(&str)) -> Result<Built, DeployError> {
    let started = Instant::now();
    let Recipe {
        triple,
        toolchain,
        key,
        path: cached,
        ..
    } = recipe;
    if cached.is_file() {
        return Ok(Built {
            triple: triple.clone(),
            path: cached.clone(),
            key: key.clone(),
            cache_hit: true,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    log(&format!(
        "runner {triple}: building with cargo ({}; {})",
        &key[..12],
        toolchain.describe()
    ));
    // One target dir per toolchain, so alternating toolchains do not
    // invalidate each other's incremental state.
    let build_dir = cache
        .join("build")
        .join(&sha256_hex(toolchain.id().as_bytes())[..12]);
    let out = toolchain
        .build_command(&source_dir(), triple, PROFILE, &build_dir)
        .output()
        .map_err(|e| DeployError::Toolchain(format!("running cargo: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        return Err(DeployError::Toolchain(format!(
            "cargo build of rustle-runner for {triple} failed ({}):\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
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
    std::fs::rename(&tmp, cached).map_err(io("moving the runner into the cache"))?;
    Ok(Built {
        triple: triple.clone(),
        path: cached.clone(),
        key: key.clone(),
        cache_hit: false,
        seconds: started.elapsed().as_secs_f64(),
    })
}
