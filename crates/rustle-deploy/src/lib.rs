//! `rustle-deploy` takes a planned document and gives each host in runner
//! mode a `rustle-runner` carrying its slice of the plan. It learns each
//! host's target triple (the `rustle_target` var, else a probe over SSH),
//! builds the runner once per triple with the toolchain that can (cached
//! by a hash of its sources and toolchain), appends the host's payload
//! (slice and files, sha256-sealed), places the result on the host
//! (atomically, over one SSH connection per host, `--parallel` at once),
//! optionally verifies it there, and adds the `deployment` section that
//! says where each runner is and which hosts could not get one. It also
//! re-verifies, rolls back and removes deployed runners.

mod build;
mod host;
mod place;
mod progress;
mod target;
mod toolchain;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustle_format::{
    Connection, DeployedHost, Deployment, Document, ExecMode, HostPlan, HostSlice, Stage, Value,
};

pub use build::{Built, source_dir};
pub use progress::Progress;

use host::{Host, HostError};
use place::{Base, Layout};

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Check the sha256 of each runner on its host.
    pub verify: bool,
    /// Where built runners are cached.
    pub cache_dir: PathBuf,
    /// A prebuilt runner to use instead of building one.
    pub runner: Option<PathBuf>,
    /// Hosts worked on at once.
    pub parallel: usize,
    /// SSH connect timeout.
    pub timeout: Duration,
    /// Write runners to `DIR/<host>/rustle-runner` instead of placing them.
    pub output_dir: Option<PathBuf>,
    /// Hosts whose triple has no toolchain run task by task over SSH
    /// instead of failing the deploy.
    pub fallback_ssh: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            verify: false,
            cache_dir: default_cache_dir(),
            runner: None,
            parallel: 8,
            timeout: Duration::from_secs(10),
            output_dir: None,
            fallback_ssh: false,
        }
    }
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
        "unknown target triple {triple}: rustc does not know it (`rustc --print target-list` lists those it does); fix the host's rustle_target"
    )]
    UnknownTarget { triple: String },
    #[error(
        "no toolchain builds a runner for {triple}: the default rustc has no standard library for it. \
         Add one with `rustup target add {triple}`; or install a rustc that has it and the target's linker \
         (on Debian, scripts/install-cross-deps installs rustc-web, libstd-rust-web-dev:arm64 and gcc-aarch64-linux-gnu), \
         or name them with RUSTLE_RUSTC_{env} and RUSTLE_LINKER_{env}; or install cargo-zigbuild or cross; \
         or give a prebuilt runner with --runner, or run such hosts over SSH with --fallback-ssh"
    )]
    NoToolchain { triple: String, env: String },
    #[error("building the payload for {host}: {source}")]
    Payload {
        host: String,
        #[source]
        source: rustle_payload::PayloadError,
    },
    #[error("{0}")]
    Document(String),
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
    Path::new(&local_home()).join(".cache/rustle")
}

fn local_home() -> String {
    std::env::var("HOME").unwrap_or_else(|_| "/tmp".into())
}

/// What deploy did, for the user and for tests.
#[derive(Debug, Default)]
pub struct Report {
    /// One per triple built or taken from the cache.
    pub builds: Vec<Built>,
    /// Bytes sent to hosts.
    pub sent: u64,
    /// Hosts marked for SSH mode because their triple has no toolchain.
    pub fallback: Vec<String>,
}

/// The exit code a document's deployment calls for, like ansible-playbook:
/// 4 when a host was unreachable, 2 when one failed, else 0.
pub fn exit_code(doc: &Document) -> u8 {
    match &doc.deployment {
        Some(d) if !d.unreachable.is_empty() => 4,
        Some(d) if !d.failed.is_empty() => 2,
        _ => 0,
    }
}

fn var<'a>(hp: &'a HostPlan, name: &str) -> Option<&'a str> {
    hp.vars.get(name).and_then(Value::as_str)
}

fn runtime() -> Result<tokio::runtime::Runtime, DeployError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| DeployError::Io {
            what: "starting the async runtime".into(),
            source,
        })
}

/// One host, opened: where its files go and how to reach it.
struct Site {
    plan: HostPlan,
    host: Host,
    layout: Layout,
    /// The probe's triple, or why there is none (SSH hosts only).
    detected: Option<Result<String, String>>,
    /// The runner bases the probe found on the host.
    bases: BTreeSet<String>,
    /// Whether the probe made the host's directories ([`place::prepare_script`]).
    prepared: bool,
    /// The runner the probe placed too ([`Speculation`]).
    early: Option<(place::Placed, String)>,
}

/// What deploy can place in the same round trip as the probe: this
/// machine's runner when the build cache holds it (the usual case) and
/// the host's payload. The probe places it only where the host matches
/// the triple and already holds the base; elsewhere deploy goes on as
/// usual.
struct Speculation {
    triple: String,
    base: Arc<Base>,
    /// The probe answers the triple runs on ([`target::probe_pattern`]).
    pattern: String,
    slices: Arc<Slices>,
    verify: bool,
}

/// `None` until the toolchain has answered; then the speculation, if any.
type Speculating = tokio::sync::watch::Receiver<Option<Option<Arc<Speculation>>>>;

impl Speculation {
    /// The probe's tail for host `hp`: place the runner, given the payload
    /// on stdin; `None` if the host's payload cannot be built (placing
    /// reports that later) or the host needs another triple.
    async fn then_for(
        self: Arc<Self>,
        hp: &HostPlan,
    ) -> Option<(String, Vec<u8>, place::Placed, String)> {
        if var(hp, "rustle_target").is_some_and(|t| t != self.triple) || self.pattern.is_empty() {
            return None;
        }
        let spec = self.clone();
        let name = hp.name.clone();
        let (tail, slice_sha256) = tokio::task::spawn_blocking(move || {
            let slice = spec.slices.slice(&name)?;
            let payload = rustle_payload::build(&slice, |f| std::fs::read(&f.path)).ok()?;
            Some((rustle_payload::tail(&payload).to_vec(), slice.sha256()))
        })
        .await
        .ok()??;
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let expected = self.base.sha256_with(&tail);
        let assemble = place::assemble_script(
            &hp.name,
            &nonce,
            &self.base.sha256,
            &expected,
            place::Arrival::Stdin {
                size: (self.base.bytes.len() + tail.len()) as u64,
            },
            self.verify,
        );
        let then = format!(
            "case \"$os:$machine:$libc\" in\n{pattern})\n\
             if [ -f \"$root\"/bases/{sha} ]; then\n( cd \"$root\" || exit 1\n{assemble}) && echo '{placed}'\n\
             else cat > /dev/null; fi ;;\n*) cat > /dev/null ;;\nesac",
            pattern = self.pattern,
            sha = self.base.sha256,
            placed = target::PLACED,
        );
        let placed = place::Placed {
            path: String::new(),
            sha256: expected,
            sent: tail.len() as u64,
        };
        Some((then, tail, placed, slice_sha256))
    }
}

impl Site {
    async fn revive(self) -> Result<Site, HostError> {
        Ok(Site {
            host: self.host.revive().await?,
            ..self
        })
    }

    /// Whether the host holds `base`, when the probe prepared the host.
    fn prepared_base(&self, base: &Base) -> Option<bool> {
        self.prepared.then(|| self.bases.contains(&base.sha256))
    }
}

/// Where rustle's files go on a host: an absolute directory, or one under
/// the remote user's home (known only after the probe).
enum Root {
    At(String),
    Home(String),
}

impl Root {
    fn of(hp: &HostPlan, opts: &DeployOptions) -> Root {
        match (&opts.output_dir, var(hp, "rustle_remote_dir")) {
            (Some(out), _) => Root::At(out.display().to_string()),
            (None, Some(d)) if d.starts_with('/') => Root::At(d.trim_end_matches('/').to_owned()),
            (None, Some(d)) => Root::Home(d.trim_start_matches("~/").to_owned()),
            (None, None) => Root::Home(".cache/rustle".to_owned()),
        }
    }

    fn path(&self, home: &str) -> String {
        match self {
            Root::At(p) => p.clone(),
            Root::Home(rel) => format!("{home}/{rel}"),
        }
    }

    /// The same, as a shell word for the host's `sh`.
    fn shell(&self) -> String {
        match self {
            Root::At(p) => rustle_ssh::quote(p),
            Root::Home(rel) => format!("\"$HOME\"/{}", rustle_ssh::quote(rel)),
        }
    }
}

/// Connects to `hp` (SSH hosts), probes it, and works out its layout; with
/// `prepare`, the probe also makes the directories placing needs, and
/// places the runner when `speculating` gives one that fits.
async fn open(
    hp: HostPlan,
    opts: &DeployOptions,
    prepare: bool,
    speculating: Option<Speculating>,
) -> Result<Site, HostError> {
    let root = Root::of(&hp, opts);
    let remote = matches!(hp.connection, Connection::Ssh { .. });
    let needs_probe = remote && (opts.output_dir.is_none() || var(&hp, "rustle_target").is_none());
    if !needs_probe {
        return Ok(Site {
            layout: Layout {
                root: root.path(&local_home()),
                host: hp.name.clone(),
            },
            plan: hp,
            host: Host::Local,
            detected: None,
            bases: BTreeSet::new(),
            prepared: false,
            early: None,
        });
    }
    let ep = rustle_ssh::Endpoint::new(&hp.name, &hp.connection)
        .map_err(|e| HostError::Failed(e.to_string()))?;
    let conn = rustle_ssh::connect(&ep, opts.timeout)
        .await
        .map_err(|e| HostError::Unreachable(e.to_string()))?;
    let host = Host::Ssh(conn);
    // --compile-only (an output dir) never touches the host's files.
    let prepare = prepare && opts.output_dir.is_none();
    let speculation = match speculating {
        Some(mut rx) if prepare => rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|ready| ready.clone().flatten()),
        _ => None,
    };
    let early = match speculation {
        Some(spec) => spec.then_for(&hp).await,
        None => None,
    };
    let script = target::probe_script(
        &root.shell(),
        &if prepare {
            place::prepare_script(&hp.name, true)
        } else {
            String::new()
        },
        early.as_ref().map_or("", |(then, ..)| then),
    );
    let stdin = early.as_ref().map(|(_, tail, ..)| tail.as_slice());
    let facts = match host.sh_ok_in("probing the host", &script, stdin).await {
        Ok(out) => target::parse_probe(&out).map_err(HostError::Failed),
        Err(e) => Err(e),
    };
    let facts = match facts {
        Ok(f) => f,
        Err(e) => {
            host.close().await;
            return Err(e);
        }
    };
    // --compile-only needed only the triple: no connection stays open.
    let host = if opts.output_dir.is_some() {
        host.close().await;
        Host::Local
    } else {
        host
    };
    let layout = Layout {
        root: root.path(&facts.home),
        host: hp.name.clone(),
    };
    let early = early
        .filter(|_| facts.placed)
        .map(|(_, _, placed, slice_sha256)| {
            let path = layout.runner();
            (place::Placed { path, ..placed }, slice_sha256)
        });
    Ok(Site {
        layout,
        plan: hp,
        host,
        detected: Some(facts.triple),
        bases: facts.bases,
        prepared: prepare,
        early,
    })
}

/// Runs `work` for each item, at most `parallel` at once, in item order.
async fn each<T, R, F, Fut>(items: Vec<T>, parallel: usize, work: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let limit = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut handles = Vec::new();
    for item in items {
        let limit = limit.clone();
        let work = work.clone();
        handles.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            work(item).await
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("a host task panicked"));
    }
    out
}

/// Opens every host in `hosts`, `parallel` at once; the ones that cannot be
/// opened come back as errors by name.
async fn open_all(
    hosts: Vec<HostPlan>,
    opts: &DeployOptions,
    prepare: bool,
    speculating: Option<Speculating>,
) -> (Vec<Site>, BTreeMap<String, HostError>) {
    let shared = Arc::new(opts.clone());
    let results = each(hosts, opts.parallel, move |hp: HostPlan| {
        let opts = shared.clone();
        let speculating = speculating.clone();
        async move {
            let name = hp.name.clone();
            (name, open(hp, &opts, prepare, speculating).await)
        }
    })
    .await;
    let mut sites = Vec::new();
    let mut errors = BTreeMap::new();
    for (name, r) in results {
        match r {
            Ok(site) => sites.push(site),
            Err(e) => {
                errors.insert(name, e);
            }
        }
    }
    (sites, errors)
}

fn runner_hosts(doc: &Document) -> Vec<HostPlan> {
    doc.plan
        .as_ref()
        .map(|p| {
            p.hosts
                .iter()
                .filter(|h| h.mode == ExecMode::Runner)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The triple each site needs: `rustle_target`, else what the probe found,
/// else (local hosts) this machine's.
fn triple_of(site: &Site, local: &str) -> Result<String, String> {
    if let Some(t) = var(&site.plan, "rustle_target") {
        return Ok(t.to_owned());
    }
    match &site.detected {
        Some(Ok(t)) => Ok(t.clone()),
        Some(Err(why)) => Err(format!("{why}; set rustle_target for this host")),
        None => Ok(local.to_owned()),
    }
}

/// What the sites need built: one recipe per triple, or why it cannot be
/// (none with `--runner`).
fn recipes(
    triples: impl Iterator<Item = String>,
    opts: &DeployOptions,
) -> BTreeMap<String, Result<build::Recipe, DeployError>> {
    let mut recipes = BTreeMap::new();
    for t in triples {
        if opts.runner.is_none() && !recipes.contains_key(&t) {
            let r = build::recipe(&t, &opts.cache_dir);
            recipes.insert(t, r);
        }
    }
    recipes
}

/// Whether a recipe's error means no toolchain here can build the triple
/// (so `--fallback-ssh` applies), rather than a broken build setup.
fn unbuildable(e: &DeployError) -> bool {
    matches!(
        e,
        DeployError::NoToolchain { .. } | DeployError::UnknownTarget { .. }
    )
}

/// Deploys every runner-mode host of a planned document.
pub fn deploy(
    doc: Document,
    opts: &DeployOptions,
    progress: &Progress,
) -> Result<(Document, Report), DeployError> {
    let rt = runtime()?;
    let hosts = runner_hosts(&doc);
    let shared = Arc::new(Slices::new(doc));
    // The toolchain questions (rustc, cargo metadata, hashing the runner's
    // sources) take as long as connecting: ask them for this machine's
    // triple, the usual answer, while the hosts connect; with a cached
    // runner for it, the probes place it too.
    let (speculate, speculating) = tokio::sync::watch::channel(None);
    let early = {
        let opts = opts.clone();
        let slices = shared.clone();
        std::thread::spawn(move || -> Result<_, DeployError> {
            let answer = (|| {
                let recipe = opts
                    .runner
                    .is_none()
                    .then(|| build::local_recipe(&opts.cache_dir));
                // Asked already by the recipe: no second rustc.
                let local =
                    toolchain::host_triple(&toolchain::version_of(&toolchain::default_rustc())?)?;
                let recipes: BTreeMap<_, _> =
                    recipe.map(|r| (local.clone(), r)).into_iter().collect();
                let base = match recipes.get(&local) {
                    Some(Ok(r)) if r.cached => Some(Arc::new(Base::new(read_runner(&r.path)?))),
                    _ => None,
                };
                Ok((local, recipes, base))
            })();
            let spec = match &answer {
                Ok((local, _, Some(base))) => Some(Arc::new(Speculation {
                    pattern: target::probe_pattern(local),
                    triple: local.clone(),
                    base: base.clone(),
                    slices,
                    verify: opts.verify,
                })),
                _ => None,
            };
            speculate.send_replace(Some(spec));
            answer
        })
    };
    let (sites, open_errors) = rt.block_on(open_all(hosts, opts, true, Some(speculating)));
    let mut deployment = Deployment::default();
    record(&mut deployment, open_errors);

    // Triples, then one runner per triple.
    let (local, mut early_recipes, local_base) =
        early.join().expect("the toolchain thread panicked")?;
    let mut triples = BTreeMap::new();
    let mut fallback = Vec::new();
    for s in &sites {
        match triple_of(s, &local) {
            Ok(t) => {
                triples.insert(s.plan.name.clone(), t);
            }
            Err(why) if opts.fallback_ssh => {
                progress.line(&format!("{}: {why}; it will run over SSH", s.plan.name));
                fallback.push(s.plan.name.clone());
            }
            Err(why) => {
                deployment.failed.insert(s.plan.name.clone(), why);
            }
        }
    }
    let mut bases: BTreeMap<String, Arc<Base>> = BTreeMap::new();
    let mut report = Report::default();
    let needed: BTreeSet<String> = triples.values().cloned().collect();
    let mut needed_recipes = recipes(
        needed
            .iter()
            .filter(|t| !early_recipes.contains_key(*t))
            .cloned(),
        opts,
    );
    needed_recipes.extend(early_recipes.extract_if(.., |t, _| needed.contains(t)));
    for (triple, recipe) in needed_recipes {
        let recipe = match recipe {
            Ok(r) => r,
            Err(e) if opts.fallback_ssh && unbuildable(&e) => {
                progress.line(&format!("runner {triple}: {e}"));
                continue;
            }
            Err(e) => {
                close_all(&rt, sites);
                return Err(e);
            }
        };
        let spin = progress.spinner(format!("building the runner for {triple}"));
        let built = build::build(&recipe, &opts.cache_dir, &|l| progress.line(l));
        spin.finish();
        let built = match built {
            Ok(b) => b,
            Err(e) => {
                close_all(&rt, sites);
                return Err(e);
            }
        };
        if built.cache_hit {
            progress.line(&format!(
                "runner {triple}: cache hit ({})",
                &built.key[..12]
            ));
        } else {
            progress.line(&format!(
                "runner {triple}: built in {:.1}s ({})",
                built.seconds,
                &built.key[..12]
            ));
        }
        let base = match &local_base {
            Some(b) if triple == local => b.clone(),
            _ => Arc::new(Base::new(read_runner(&built.path)?)),
        };
        bases.insert(triple.clone(), base);
        report.builds.push(built);
    }
    if let Some(path) = &opts.runner {
        progress.line(&format!("runner: using {}", path.display()));
        let base = Arc::new(Base::new(read_runner(path)?));
        for (host, t) in &triples {
            if let Some(arch) = target::elf_arch(&base.bytes)
                && !target::arch_matches(arch, t)
            {
                close_all(&rt, sites);
                return Err(DeployError::Toolchain(format!(
                    "the runner {} is built for {arch}, but {host} needs {t}",
                    path.display()
                )));
            }
            bases.insert(t.clone(), base.clone());
        }
    }
    for (name, t) in &triples {
        if !bases.contains_key(t) {
            fallback.push(name.clone());
        }
    }

    // Embed each host's slice and place the result (unless the probe did).
    let mut jobs = Vec::new();
    let mut placed_early = Vec::new();
    for mut site in sites {
        let name = site.plan.name.clone();
        if let (Some((placed, slice_sha256)), Some(t)) = (site.early.take(), triples.get(&name)) {
            let entry = DeployedHost {
                target: t.clone(),
                path: placed.path,
                sha256: placed.sha256,
                slice_sha256,
                verified: opts.verify,
            };
            placed_early.push((name, Ok(Ok((entry, placed.sent)))));
            rt.block_on(site.host.close());
            continue;
        }
        match triples
            .get(&name)
            .and_then(|t| bases.get(t).map(|b| (t, b)))
        {
            Some((t, base)) if !fallback.contains(&name) => {
                jobs.push((site, t.clone(), base.clone()));
            }
            _ => rt.block_on(site.host.close()),
        }
    }
    let verify = opts.verify;
    let slices = shared.clone();
    let prog = progress.clone();
    let results = rt.block_on(each(jobs, opts.parallel, move |(site, triple, base)| {
        let slices = slices.clone();
        let progress = prog.clone();
        async move {
            let name = site.plan.name.clone();
            let site = match site.revive().await {
                Ok(site) => site,
                Err(e) => return (name, Ok(Err(e))),
            };
            let r = place_one(&site, &triple, base, &slices, verify, &progress).await;
            site.host.close().await;
            (name, r)
        }
    }));
    let mut doc = Arc::try_unwrap(shared)
        .unwrap_or_else(|_| unreachable!("every host task has ended"))
        .doc;
    for (name, r) in placed_early.into_iter().chain(results) {
        match r {
            Ok(Ok((entry, sent))) => {
                report.sent += sent;
                progress.line(&format!(
                    "{name}: placed {} ({sent} bytes sent{})",
                    entry.path,
                    if verify { ", verified" } else { "" }
                ));
                deployment.hosts.insert(name, entry);
            }
            Ok(Err(e)) => {
                record(&mut deployment, [(name, e)]);
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(plan) = doc.plan.as_mut() {
        for h in plan.hosts.iter_mut().filter(|h| fallback.contains(&h.name)) {
            h.mode = ExecMode::Ssh;
        }
    }
    report_problems(&deployment, progress);
    report.fallback = fallback;
    doc.deployment = Some(deployment);
    doc.stage = Stage::Deployed;
    Ok((doc, report))
}

fn read_runner(path: &Path) -> Result<Vec<u8>, DeployError> {
    let bytes = std::fs::read(path).map_err(|source| DeployError::Io {
        what: format!("reading the runner {}", path.display()),
        source,
    })?;
    Ok(rustle_payload::strip(&bytes).to_vec())
}

fn close_all(rt: &tokio::runtime::Runtime, sites: Vec<Site>) {
    for s in sites {
        rt.block_on(s.host.close());
    }
}

fn record(d: &mut Deployment, errors: impl IntoIterator<Item = (String, HostError)>) {
    for (name, e) in errors {
        match e {
            HostError::Unreachable(m) => d.unreachable.insert(name, m),
            HostError::Failed(m) => d.failed.insert(name, m),
        };
    }
}

fn report_problems(d: &Deployment, progress: &Progress) {
    for (name, why) in &d.unreachable {
        progress.line(&format!("{name}: UNREACHABLE: {why}"));
    }
    for (name, why) in &d.failed {
        progress.line(&format!("{name}: FAILED: {why}"));
    }
}

/// Host slices made from one shared document, one at a time per host task.
struct Slices {
    doc: Document,
    parts: rustle_format::SliceParts,
}

impl Slices {
    fn new(doc: Document) -> Slices {
        let parts = doc.slice_parts();
        Slices { doc, parts }
    }

    fn slice(&self, host: &str) -> Option<HostSlice> {
        self.doc.host_slice_with(host, &self.parts)
    }
}

/// Builds one host's payload and places its runner. The outer error stops
/// the whole deploy (a payload that cannot be built); the inner one is the
/// host's own.
async fn place_one(
    site: &Site,
    triple: &str,
    base: Arc<Base>,
    slices: &Arc<Slices>,
    verify: bool,
    progress: &Progress,
) -> Result<Result<(DeployedHost, u64), HostError>, DeployError> {
    let name = site.plan.name.clone();
    let slices = slices.clone();
    let who = name.clone();
    let made = tokio::task::spawn_blocking(move || {
        let slice = slices.slice(&who).expect("every planned host has a slice");
        rustle_payload::build(&slice, |f| std::fs::read(&f.path))
            .map(|payload| (rustle_payload::tail(&payload), slice.sha256()))
    })
    .await
    .expect("the payload task panicked");
    let (tail, slice_sha256) = made.map_err(|source| DeployError::Payload {
        host: name.clone(),
        source,
    })?;
    // At most the base and the tail cross (place() skips a base the host has).
    let bar = progress.bytes(name.clone(), (base.bytes.len() + tail.len()) as u64);
    let prepared = site.prepared_base(&base);
    let placed = place::place(
        &site.host,
        &site.layout,
        prepared,
        base,
        &tail,
        verify,
        &mut |n| bar.set(n),
    )
    .await;
    bar.finish();
    Ok(placed.map(|p| {
        (
            DeployedHost {
                target: triple.to_owned(),
                path: p.path,
                sha256: p.sha256,
                slice_sha256,
                verified: verify,
            },
            p.sent,
        )
    }))
}

/// Says what `deploy` would build and send, without building or sending
/// anything (it connects to probe hosts and look for cached bases).
pub fn dry_run(doc: Document, opts: &DeployOptions) -> Result<Vec<String>, DeployError> {
    let rt = runtime()?;
    let (sites, open_errors) = rt.block_on(open_all(runner_hosts(&doc), opts, false, None));
    let mut lines = Vec::new();
    let local = toolchain::host_triple(&toolchain::version_of(&toolchain::default_rustc())?)?;
    let mut triples = BTreeMap::new();
    for s in &sites {
        match triple_of(s, &local) {
            Ok(t) => {
                triples.insert(s.plan.name.clone(), t);
            }
            Err(why) => lines.push(format!("{}: cannot deploy: {why}", s.plan.name)),
        }
    }
    let mut bases = BTreeMap::new();
    if let Some(p) = &opts.runner {
        lines.push(format!("runner: would use {}", p.display()));
    }
    for (triple, recipe) in recipes(triples.values().cloned(), opts) {
        match recipe {
            Ok(r) if r.cached => {
                lines.push(format!(
                    "build {triple}: cached ({}, {})",
                    &r.key[..12],
                    r.path.display()
                ));
                bases.insert(triple.clone(), Arc::new(Base::new(read_runner(&r.path)?)));
            }
            Ok(r) => lines.push(format!(
                "build {triple}: would build with cargo ({}; {})",
                &r.key[..12],
                r.toolchain.describe()
            )),
            Err(e) if opts.fallback_ssh && unbuildable(&e) => lines.push(format!(
                "build {triple}: none, its hosts would run over SSH ({e})"
            )),
            Err(e) => lines.push(format!("build {triple}: cannot: {e}")),
        }
    }
    let slices = Slices::new(doc);
    for site in &sites {
        let name = &site.plan.name;
        let Some(triple) = triples.get(name) else {
            continue;
        };
        let slice = slices.slice(name).expect("every planned host has a slice");
        let payload =
            rustle_payload::build(&slice, |f| std::fs::read(&f.path)).map_err(|source| {
                DeployError::Payload {
                    host: name.clone(),
                    source,
                }
            })?;
        let tail = rustle_payload::tail(&payload).len();
        let base = match bases.get(triple) {
            Some(b) if site.bases.contains(&b.sha256) => {
                "the runner base is already there".to_owned()
            }
            Some(b) => format!("plus the {}-byte runner base", b.bytes.len()),
            None => "plus the runner base once built".to_owned(),
        };
        lines.push(format!(
            "{name}: would place {} ({triple}): {tail} bytes of payload, {base}",
            site.layout.runner()
        ));
    }
    for (name, e) in open_errors {
        lines.push(format!("{name}: cannot reach: {}", e.message()));
    }
    close_all(&rt, sites);
    Ok(lines)
}

/// The deployed hosts of a deployed document, as plans.
fn deployed_hosts(doc: &Document) -> Result<Vec<(HostPlan, DeployedHost)>, DeployError> {
    let plan = doc.plan.as_ref().expect("a deployed document has a plan");
    let d = doc
        .deployment
        .as_ref()
        .ok_or_else(|| DeployError::Document("the document has no deployment section".into()))?;
    Ok(plan
        .hosts
        .iter()
        .filter_map(|h| d.hosts.get(&h.name).map(|e| (h.clone(), e.clone())))
        .collect())
}

/// Per host, by name, what an operation on it gave.
type HostResults<T> = Vec<(String, Result<T, HostError>)>;

/// Opens each host (a fresh connection for SSH hosts), runs `op` on it
/// with its item, and closes it; `parallel` at once, in order.
fn on_hosts<X, T, F, Fut>(
    items: Vec<(HostPlan, X)>,
    opts: &DeployOptions,
    op: F,
) -> Result<HostResults<T>, DeployError>
where
    X: Send + 'static,
    T: Send + 'static,
    F: Fn(Arc<Site>, X) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<T, HostError>> + Send + 'static,
{
    let shared = Arc::new(DeployOptions {
        output_dir: None,
        ..opts.clone()
    });
    Ok(
        runtime()?.block_on(each(items, opts.parallel, move |(hp, item)| {
            let opts = shared.clone();
            let op = op.clone();
            async move {
                let name = hp.name.clone();
                let r = match open(hp, &opts, false, None).await {
                    Ok(site) => {
                        let site = Arc::new(site);
                        let r = op(site.clone(), item).await;
                        if let Ok(site) = Arc::try_unwrap(site) {
                            site.host.close().await;
                        }
                        r
                    }
                    Err(e) => Err(e),
                };
                (name, r)
            }
        })),
    )
}

/// Runs `op` on each deployed host of `doc` over a fresh connection,
/// `parallel` at once, and folds the results into the deployment section:
/// `Some(entry)` replaces the host's entry, errors move it to
/// unreachable/failed.
fn on_deployed<F, Fut>(
    mut doc: Document,
    opts: &DeployOptions,
    progress: &Progress,
    op: F,
) -> Result<Document, DeployError>
where
    F: Fn(Arc<Site>, DeployedHost) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<DeployedHost, HostError>> + Send + 'static,
{
    let results = on_hosts(deployed_hosts(&doc)?, opts, op)?;
    let d = doc.deployment.as_mut().expect("checked by deployed_hosts");
    for (name, r) in results {
        match r {
            Ok(entry) => {
                d.hosts.insert(name, entry);
            }
            Err(e) => {
                d.hosts.remove(&name);
                record(d, [(name, e)]);
            }
        }
    }
    report_problems(d, progress);
    Ok(doc)
}

/// Checks the runner on each host of a deployed document against the
/// sha256 the document records; a host whose runner differs or is gone
/// moves to `failed`.
pub fn verify(
    doc: Document,
    opts: &DeployOptions,
    progress: &Progress,
) -> Result<Document, DeployError> {
    let p = progress.clone();
    on_deployed(doc, opts, progress, move |site, mut entry| {
        let p = p.clone();
        async move {
            place::verify(&site.host, &entry.path, &entry.sha256).await?;
            p.line(&format!("{}: verified {}", site.plan.name, entry.path));
            entry.verified = true;
            Ok(entry)
        }
    })
}

/// Switches each host of a deployed document back to its previous runner
/// and records what that runner is and carries.
pub fn rollback(
    doc: Document,
    opts: &DeployOptions,
    progress: &Progress,
) -> Result<Document, DeployError> {
    let p = progress.clone();
    on_deployed(doc, opts, progress, move |site, mut entry| {
        let p = p.clone();
        async move {
            let (sha256, slice) = place::rollback(&site.host, &entry.path).await?;
            let slice: HostSlice = serde_json::from_str(&slice).map_err(|e| {
                HostError::Failed(format!("the previous runner printed no slice: {e}"))
            })?;
            p.line(&format!(
                "{}: rolled back {} to the previous runner",
                site.plan.name, entry.path
            ));
            entry.sha256 = sha256;
            entry.slice_sha256 = slice.sha256();
            entry.verified = false;
            Ok(entry)
        }
    })
}

/// Removes rustle's files from every runner-mode host of a planned or
/// deployed document; the document goes on as planned (no deployment),
/// with the exit code the hosts call for.
pub fn cleanup(
    mut doc: Document,
    opts: &DeployOptions,
    progress: &Progress,
) -> Result<(Document, u8), DeployError> {
    let mut hosts = runner_hosts(&doc);
    // Hosts deployed earlier keep their recorded directory.
    let recorded: BTreeMap<String, String> = doc
        .deployment
        .as_ref()
        .map(|d| {
            d.hosts
                .iter()
                .filter_map(|(h, e)| {
                    let dir = Path::new(&e.path).parent()?.parent()?;
                    Some((h.clone(), dir.display().to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    for h in &mut hosts {
        if let Some(root) = recorded.get(&h.name) {
            h.vars
                .insert("rustle_remote_dir".into(), Value::String(root.clone()));
        }
    }
    let items = hosts.into_iter().map(|h| (h, ())).collect();
    let results = on_hosts(items, opts, |site, ()| async move {
        place::cleanup(&site.host, &site.layout).await?;
        Ok(site.layout.dir())
    })?;
    let mut left = Deployment::default();
    for (name, r) in results {
        match r {
            Ok(dir) => progress.line(&format!("{name}: removed {dir}")),
            Err(e) => record(&mut left, [(name, e)]),
        }
    }
    report_problems(&left, progress);
    doc.deployment = Some(left);
    let code = exit_code(&doc);
    doc.stage = Stage::Planned;
    doc.deployment = None;
    Ok((doc, code))
}
