//! `rustle-deploy` takes a planned document and gives each host in runner
//! mode a `rustle-runner` carrying its slice of the plan: it builds the
//! runner once per target triple with cargo (cached by a hash of its
//! sources and toolchain), appends the host's payload (slice and files,
//! sha256-sealed), places the result on the host (atomically; over one SSH
//! connection for remote hosts), optionally verifies it there, and adds the
//! `deployment` section that says where each runner is.

mod build;
mod place;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustle_format::{
    Connection, DeployedHost, Deployment, Document, ExecMode, HostPlan, Stage, Value, sha256_hex,
};

pub use build::{Built, source_dir};

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Check the sha256 of each runner on its host after placing it.
    pub verify: bool,
    /// Where built runners are cached.
    pub cache_dir: PathBuf,
    /// A prebuilt runner to use instead of building one.
    pub runner: Option<PathBuf>,
    /// Hosts deployed at once.
    pub parallel: usize,
    /// SSH connect timeout.
    pub timeout: Duration,
    /// Write runners to `DIR/<host>/rustle-runner` instead of placing them.
    pub output_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Toolchain(String),
    #[error(
        "no toolchain for target {triple}: the default rustc has no standard library for it (add it with `rustup target add {triple}`, or give a prebuilt runner with --runner)"
    )]
    NoToolchain { triple: String },
    #[error("building the payload for {host}: {source}")]
    Payload {
        host: String,
        #[source]
        source: rustle_payload::PayloadError,
    },
    #[error("unreachable: {}", .0.join("; "))]
    Unreachable(Vec<String>),
    #[error("deploy failed: {}", .0.join("; "))]
    Hosts(Vec<String>),
}

impl DeployError {
    /// 4 when a host was unreachable (like ansible-playbook), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            DeployError::Unreachable(_) => 4,
            _ => 1,
        }
    }
}

/// The default build cache: `RUSTLE_CACHE_DIR`, else `$XDG_CACHE_HOME/rustle`,
/// else `~/.cache/rustle`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("RUSTLE_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Path::new(&d).join("rustle");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    Path::new(&home).join(".cache/rustle")
}

/// What deploy did, for the user.
#[derive(Debug, Default)]
pub struct Report {
    pub builds: Vec<Built>,
}

struct Target {
    plan: HostPlan,
    triple: Option<String>,
    conn: Option<rustle_ssh::Conn>,
    error: Option<(bool, String)>,
}

fn var<'a>(hp: &'a HostPlan, name: &str) -> Option<&'a str> {
    hp.vars.get(name).and_then(Value::as_str)
}

/// Deploys every runner-mode host of a planned document.
pub fn deploy(
    mut doc: Document,
    opts: &DeployOptions,
    log: &mut dyn FnMut(&str),
) -> Result<(Document, Report), DeployError> {
    let plan = doc.plan.as_ref().expect("a planned document has a plan");
    let hosts: Vec<HostPlan> = plan
        .hosts
        .iter()
        .filter(|h| h.mode == ExecMode::Runner)
        .cloned()
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| DeployError::Io {
            what: "starting the async runtime".into(),
            source,
        })?;
    let placing = opts.output_dir.is_none();
    let mut targets = runtime.block_on(connect_all(hosts, opts, placing));

    // One runner per triple.
    let version = build::rustc_version()?;
    let local_triple = build::host_triple(&version)?;
    let mut report = Report::default();
    let mut runners: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for t in targets.iter_mut().filter(|t| t.error.is_none()) {
        let triple = t.triple.get_or_insert_with(|| local_triple.clone()).clone();
        if runners.contains_key(&triple) {
            continue;
        }
        let built = match &opts.runner {
            Some(path) => Built {
                triple: triple.clone(),
                path: path.clone(),
                key: String::new(),
                cache_hit: true,
                seconds: 0.0,
            },
            None => build::runner_for(&triple, &opts.cache_dir, &version, log)?,
        };
        if built.key.is_empty() {
            log(&format!("runner {triple}: using {}", built.path.display()));
        } else if built.cache_hit {
            log(&format!(
                "runner {triple}: cache hit ({})",
                &built.key[..12]
            ));
        } else {
            log(&format!(
                "runner {triple}: built in {:.1}s ({})",
                built.seconds,
                &built.key[..12]
            ));
        }
        let bytes = std::fs::read(&built.path).map_err(|source| DeployError::Io {
            what: format!("reading the runner {}", built.path.display()),
            source,
        })?;
        runners.insert(triple, rustle_payload::strip(&bytes).to_vec());
        report.builds.push(built);
    }

    // Embed each host's slice and place the result.
    let mut jobs = Vec::new();
    for t in &targets {
        if t.error.is_some() {
            continue;
        }
        let name = &t.plan.name;
        let slice = doc
            .host_slice(name)
            .expect("every planned host has a slice");
        let payload =
            rustle_payload::build(&slice, |f| std::fs::read(&f.path)).map_err(|source| {
                DeployError::Payload {
                    host: name.clone(),
                    source,
                }
            })?;
        let triple = t.triple.clone().unwrap_or_default();
        let bytes = rustle_payload::embed(&runners[&triple], &payload);
        jobs.push((name.clone(), triple, slice.sha256(), bytes));
    }
    let placed = runtime.block_on(place_all(&mut targets, jobs, opts, log));
    for t in targets.iter_mut() {
        if let Some(conn) = t.conn.take() {
            runtime.block_on(conn.close());
        }
    }
    let mut unreachable = Vec::new();
    let mut failed = Vec::new();
    for t in &targets {
        match &t.error {
            Some((true, msg)) => unreachable.push(format!("{}: {msg}", t.plan.name)),
            Some((false, msg)) => failed.push(format!("{}: {msg}", t.plan.name)),
            None => {}
        }
    }
    if !unreachable.is_empty() {
        return Err(DeployError::Unreachable(unreachable));
    }
    if !failed.is_empty() {
        return Err(DeployError::Hosts(failed));
    }
    doc.deployment = Some(Deployment { hosts: placed });
    doc.stage = Stage::Deployed;
    Ok((doc, report))
}

/// Opens a connection to each SSH host that needs one (to detect its
/// triple or to place its runner), at most `parallel` at once.
async fn connect_all(hosts: Vec<HostPlan>, opts: &DeployOptions, placing: bool) -> Vec<Target> {
    let limit = Arc::new(tokio::sync::Semaphore::new(opts.parallel.max(1)));
    let mut handles = Vec::new();
    for hp in hosts {
        let limit = limit.clone();
        let timeout = opts.timeout;
        handles.push(tokio::spawn(async move {
            let mut t = Target {
                triple: var(&hp, "rustle_target").map(str::to_owned),
                plan: hp,
                conn: None,
                error: None,
            };
            let needs_conn = matches!(t.plan.connection, Connection::Ssh { .. })
                && (placing || t.triple.is_none());
            if !needs_conn {
                return t;
            }
            let _permit = limit.acquire_owned().await;
            let ep = match rustle_ssh::Endpoint::new(&t.plan.name, &t.plan.connection) {
                Ok(ep) => ep,
                Err(e) => {
                    t.error = Some((false, e.to_string()));
                    return t;
                }
            };
            match rustle_ssh::connect(&ep, timeout).await {
                Ok(conn) => {
                    if t.triple.is_none() {
                        match place::remote_triple(&conn).await {
                            Ok(triple) => t.triple = Some(triple),
                            Err(e) => t.error = Some((false, e)),
                        }
                    }
                    t.conn = Some(conn);
                }
                Err(e) => t.error = Some((true, e.to_string())),
            }
            t
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        if let Ok(t) = h.await {
            out.push(t);
        }
    }
    out
}

/// Places every runner; returns the deployment entries of those placed and
/// records failures on their targets.
async fn place_all(
    targets: &mut [Target],
    jobs: Vec<(String, String, String, Vec<u8>)>,
    opts: &DeployOptions,
    log: &mut dyn FnMut(&str),
) -> BTreeMap<String, DeployedHost> {
    let mut placed = BTreeMap::new();
    for (name, triple, slice_sha256, bytes) in jobs {
        let Some(t) = targets.iter_mut().find(|t| t.plan.name == name) else {
            continue;
        };
        let sha256 = sha256_hex(&bytes);
        let verify = opts.verify.then_some(sha256.as_str());
        let result = match (&opts.output_dir, &t.conn) {
            (Some(out), _) => {
                let path = out.join(&name).join("rustle-runner");
                place::local(&path, &bytes, verify).map(|()| path.display().to_string())
            }
            (None, Some(conn)) => {
                let dir = match var(&t.plan, "rustle_remote_dir") {
                    Some(d) if !d.starts_with('~') => Ok(d.to_owned()),
                    other => place::remote_home(conn).await.map(|home| {
                        let rest = other.map_or(".cache/rustle", |d| d.trim_start_matches("~/"));
                        format!("{home}/{rest}")
                    }),
                };
                match dir {
                    Ok(dir) => {
                        let path = format!("{dir}/{name}/rustle-runner");
                        place::remote(conn, &path, &bytes, verify)
                            .await
                            .map(|()| path)
                    }
                    Err(e) => Err(e),
                }
            }
            (None, None) => {
                let dir = var(&t.plan, "rustle_remote_dir")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
                        Path::new(&home).join(".cache/rustle")
                    });
                let path = dir.join(&name).join("rustle-runner");
                place::local(&path, &bytes, verify).map(|()| path.display().to_string())
            }
        };
        match result {
            Ok(path) => {
                log(&format!(
                    "{name}: placed {path} ({} bytes{})",
                    bytes.len(),
                    if opts.verify { ", verified" } else { "" }
                ));
                placed.insert(
                    name,
                    DeployedHost {
                        target: triple,
                        path,
                        sha256,
                        slice_sha256,
                        verified: opts.verify,
                    },
                );
            }
            Err(e) => t.error = Some((false, e)),
        }
    }
    placed
}
