//! Running one stretch on many hosts: one job per host, at most `forks` at
//! once, each feeding its events into one channel. A job runs the stretch
//! through the host's deployed runner (locally or over the host's one SSH
//! master connection, opened at its first stretch and kept) or with the
//! engine in this process, and hands back the state the host reached.
//! Whatever happens, a job hands back a state, and a host that cannot be
//! reached or whose runner dies gets a result that says so.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustle_format::{
    Connection, Document, Event, HostPlan, HostSlice, HostState, Status, Stretch, TaskKey,
};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::delegate::ExecDelegates;
use crate::ssh_target::SshTarget;

pub type Tx = mpsc::Sender<(usize, Event)>;

/// How one host's tasks get run.
#[derive(Debug, Clone)]
pub enum Driver {
    /// The deployed runner on this machine.
    LocalRunner(PathBuf),
    /// The deployed runner on a remote host.
    SshRunner(rustle_ssh::Endpoint, String),
    /// No runner: the engine in this process against this machine.
    LocalEngine,
    /// No runner and a remote host: the engine in this process, task by
    /// task over the host's SSH connection.
    SshEngine(rustle_ssh::Endpoint),
    /// Deploy could not reach the host (the reason it gave).
    DeployUnreachable(String),
    /// Deploy could not place or verify the host's runner.
    DeployFailed(String),
}

impl Driver {
    /// For a host the run added: the engine here, over SSH unless local.
    pub fn for_added(hp: &HostPlan) -> Driver {
        match &hp.connection {
            Connection::Local => Driver::LocalEngine,
            conn @ Connection::Ssh { .. } => Driver::SshEngine(
                rustle_ssh::Endpoint::new(&hp.name, conn)
                    .expect("an SSH connection makes an endpoint"),
            ),
        }
    }

    pub fn for_host(doc: &Document, host: &str) -> Driver {
        let plan = doc.plan.as_ref().expect("exec reads planned documents");
        let Some(hp) = plan.hosts.iter().find(|h| h.name == host) else {
            return Driver::LocalEngine;
        };
        if let Some(d) = &doc.deployment {
            if let Some(why) = d.unreachable.get(host) {
                return Driver::DeployUnreachable(why.clone());
            }
            if let Some(why) = d.failed.get(host) {
                return Driver::DeployFailed(format!("rustle-deploy: {why}"));
            }
        }
        let deployed = doc.deployment.as_ref().and_then(|d| d.hosts.get(host));
        match (&hp.connection, deployed) {
            (Connection::Local, Some(d)) => Driver::LocalRunner(PathBuf::from(&d.path)),
            (Connection::Local, None) => Driver::LocalEngine,
            (conn @ Connection::Ssh { .. }, deployed) => {
                let ep = rustle_ssh::Endpoint::new(host, conn)
                    .expect("an SSH connection makes an endpoint");
                match deployed {
                    Some(d) => Driver::SshRunner(ep, d.path.clone()),
                    None => Driver::SshEngine(ep),
                }
            }
        }
    }
}

/// A host's way of running stretches, opened at its first stretch and
/// kept for the whole run (one SSH master connection per host).
pub enum Link {
    /// Not opened yet.
    Closed(Driver),
    LocalRunner(PathBuf),
    SshRunner(Arc<rustle_ssh::Conn>, String),
    LocalEngine,
    SshEngine(Arc<rustle_ssh::Conn>, Arc<SshTarget>),
    /// The host cannot run anything (why, and whether it was unreachable).
    Down(Status, String),
}

impl Link {
    /// Opens the host's connection if it has none yet.
    async fn open(self, timeout: Duration) -> Link {
        let driver = match self {
            Link::Closed(driver) => driver,
            // Open since an earlier stretch: still there?
            Link::SshRunner(conn, path) => {
                return match conn.revive().await {
                    Ok(conn) => Link::SshRunner(conn, path),
                    Err(e) => Link::Down(Status::Unreachable, connect_failure(e)),
                };
            }
            Link::SshEngine(conn, target) => {
                if conn.session.check().await.is_ok() {
                    return Link::SshEngine(conn, target);
                }
                drop(target);
                return match conn.revive().await {
                    Ok(conn) => match crate::ssh_target::open(conn.clone()).await {
                        Ok(target) => Link::SshEngine(conn, Arc::new(target)),
                        Err(e) => Link::Down(Status::Unreachable, format!("{}: {e}", conn.host)),
                    },
                    Err(e) => Link::Down(Status::Unreachable, connect_failure(e)),
                };
            }
            other => return other,
        };
        match driver {
            Driver::LocalRunner(path) => Link::LocalRunner(path),
            Driver::LocalEngine => Link::LocalEngine,
            Driver::DeployUnreachable(why) => Link::Down(Status::Unreachable, why),
            Driver::DeployFailed(why) => Link::Down(Status::Failed, why),
            Driver::SshRunner(ep, path) => match rustle_ssh::connect(&ep, timeout).await {
                Ok(conn) => Link::SshRunner(Arc::new(conn), path),
                Err(e) => Link::Down(Status::Unreachable, connect_failure(e)),
            },
            Driver::SshEngine(ep) => match rustle_ssh::connect(&ep, timeout).await {
                Ok(conn) => {
                    let conn = Arc::new(conn);
                    match crate::ssh_target::open(conn.clone()).await {
                        Ok(target) => Link::SshEngine(conn, Arc::new(target)),
                        Err(e) => Link::Down(Status::Unreachable, format!("{}: {e}", ep.host)),
                    }
                }
                Err(e) => Link::Down(Status::Unreachable, connect_failure(e)),
            },
        }
    }

    /// Ends the host's master connection, if it has one.
    pub async fn close(self) {
        let conn = match self {
            Link::SshRunner(conn, _) => conn,
            Link::SshEngine(conn, target) => {
                drop(target);
                conn
            }
            _ => return,
        };
        if let Ok(conn) = Arc::try_unwrap(conn) {
            conn.close().await;
        }
    }
}

/// Ctrl-C on the controller: a flag for engines running in this process
/// and a channel for jobs that tell a runner to stop.
#[derive(Clone)]
pub struct Interrupt {
    pub flag: Arc<AtomicBool>,
    pub rx: watch::Receiver<bool>,
}

impl Interrupt {
    /// Listens for Ctrl-C (SIGINT) on the current runtime from now on.
    pub fn listen() -> Interrupt {
        let flag = Arc::new(AtomicBool::new(false));
        let (tx, rx) = watch::channel(false);
        let set = flag.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                set.store(true, Ordering::Relaxed);
                let _ = tx.send(true);
            }
        });
        Interrupt { flag, rx }
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

/// One host's part of a stretch.
pub struct Job {
    /// Index of the host among the stretch's hosts (for the collator).
    pub index: usize,
    pub host: String,
    pub link: Link,
    pub stretch: Stretch,
    /// Where a failure before any task is shown: the stretch's first step.
    pub first: (TaskKey, String),
    pub slices: Arc<Slices>,
    pub interrupt: Interrupt,
    /// Set for a stretch with `delegate_to`: it runs with the engine in
    /// this process, which reaches the delegated hosts through this.
    pub delegates: Option<Arc<ExecDelegates>>,
}

/// What a job hands back: the host's new state, its link, and, when the
/// host could not be reached, why.
pub struct Done {
    pub host: String,
    pub state: HostState,
    pub link: Link,
    pub unreachable: Option<String>,
}

/// Makes host slices from one shared copy of the document, for hosts the
/// engine runs in this process.
pub struct Slices {
    pub doc: Document,
    pub parts: rustle_format::SliceParts,
    /// Hosts the run added (`add_host`): they take part in the plays
    /// whose hosts the run picks.
    added: std::sync::RwLock<Vec<HostPlan>>,
}

impl Slices {
    pub fn new(doc: Document) -> Slices {
        let parts = doc.slice_parts();
        Slices {
            doc,
            parts,
            added: Default::default(),
        }
    }

    /// Makes slices for a host the run added (or added and then changed).
    pub fn set_added(&self, hp: HostPlan) {
        let mut added = self.added.write().expect("not poisoned");
        added.retain(|h| h.name != hp.name);
        added.push(hp);
    }

    fn slice(&self, host: &str) -> Option<HostSlice> {
        if let Some(slice) = self.doc.host_slice_with(host, &self.parts) {
            return Some(slice);
        }
        let added = self.added.read().expect("not poisoned");
        let hp = added.iter().find(|h| h.name == host)?;
        self.doc
            .host_slice_for(hp, &self.parts, |pp| pp.hosts_at_run_time)
    }
}

/// Tracks a host's stream so that a broken one can be ended truthfully.
struct Tracker {
    index: usize,
    host: String,
    first: (TaskKey, String),
    open: Option<(TaskKey, String, String)>,
    state: Option<HostState>,
    tx: Tx,
}

impl Tracker {
    async fn send(&mut self, ev: Event) {
        match ev {
            Event::StretchDone { ref state, .. } => self.state = Some(state.clone()),
            Event::TaskStart {
                ref key,
                ref name,
                ref action,
                ..
            } => {
                self.open = Some((key.clone(), name.clone(), action.clone()));
            }
            Event::TaskResult { .. } => self.open = None,
            _ => {}
        }
        // A closed channel means exec is shutting down; nothing to do.
        let _ = self.tx.send((self.index, ev)).await;
    }

    /// When the stream did not end by itself: a result of `status` at the
    /// task in progress (or the stretch's first), and the host stops.
    async fn fail(&mut self, status: Status, msg: String, base: &HostState) {
        if self.state.is_some() {
            return;
        }
        let (key, name, action) = self
            .open
            .clone()
            .unwrap_or_else(|| (self.first.0.clone(), self.first.1.clone(), String::new()));
        if self.open.is_none() {
            self.send(Event::TaskStart {
                host: self.host.clone(),
                key: key.clone(),
                name: name.clone(),
                action: action.clone(),
            })
            .await;
        }
        let mut result = serde_json::json!({"changed": false, "msg": msg});
        if status == Status::Unreachable {
            result["unreachable"] = true.into();
        }
        self.send(Event::TaskResult {
            host: self.host.clone(),
            key,
            name,
            action,
            status,
            ignored: false,
            rescued: false,
            result,
        })
        .await;
        let mut state = base.clone();
        state.stats.count(status, false, false);
        state.stopped = true;
        let host = self.host.clone();
        self.send(Event::StretchDone { host, state }).await;
    }
}

/// How fast a stretch's hosts may start: at most `forks` at once, and
/// with `gap`, one start per gap (a rate limit).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub forks: usize,
    pub gap: Option<Duration>,
}

/// Runs `jobs` at `pace` and returns what each handed back. Dropping
/// (aborting) the future aborts every job.
pub async fn run_all(jobs: Vec<Job>, pace: Pace, timeout: Duration, tx: Tx) -> Vec<Done> {
    let forks = Arc::new(Semaphore::new(pace.forks.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let start = tokio::time::Instant::now();
    for (k, job) in jobs.into_iter().enumerate() {
        let forks = forks.clone();
        let tx = tx.clone();
        let slot = pace.gap.map(|g| start + g * k as u32);
        set.spawn(async move {
            if let Some(slot) = slot {
                tokio::time::sleep_until(slot).await;
            }
            let _permit = forks.acquire_owned().await;
            run_job(job, timeout, tx).await
        });
    }
    drop(tx);
    let mut done = Vec::new();
    while let Some(d) = set.join_next().await {
        done.push(d.expect("a host's job does not panic"));
    }
    done
}

async fn run_job(job: Job, timeout: Duration, tx: Tx) -> Done {
    let Job {
        index,
        host,
        link,
        stretch,
        first,
        slices,
        interrupt,
        delegates,
    } = job;
    let base = stretch.state.clone();
    let mut t = Tracker {
        index,
        host: host.clone(),
        first,
        open: None,
        state: None,
        tx,
    };
    let link = link.open(timeout).await;
    let mut unreachable = None;
    match &link {
        Link::Closed(_) => unreachable!("opened above"),
        Link::Down(status, why) => {
            if *status == Status::Unreachable {
                unreachable = Some(why.clone());
            }
            t.fail(*status, why.clone(), &base).await;
        }
        _ if delegates.is_some() => match engine_target(&link).await {
            Ok(target) => run_engine(&slices, stretch, target, &mut t, &interrupt, delegates).await,
            Err(why) => {
                unreachable = Some(why.clone());
                t.fail(Status::Unreachable, why, &base).await;
            }
        },
        Link::LocalRunner(path) => {
            let child = tokio::process::Command::new(path)
                .arg("--stretch")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn();
            match child {
                Ok(mut child) => {
                    let input = child.stdin.take().expect("piped");
                    let out = child.stdout.take().expect("piped");
                    let err = child.stderr.take().expect("piped");
                    let stderr = pump(&stretch, input, out, err, &mut t, interrupt).await;
                    let status = child.wait().await;
                    end_of_runner(&mut t, status.ok().and_then(|s| s.code()), stderr, &base).await;
                }
                Err(e) => {
                    let msg = format!("could not start the runner {}: {e}", path.display());
                    t.fail(Status::Failed, msg, &base).await
                }
            }
        }
        Link::SshRunner(conn, path) => {
            let child = conn
                .session
                .command(path)
                .arg("--stretch")
                .stdin(rustle_ssh::openssh::Stdio::piped())
                .stdout(rustle_ssh::openssh::Stdio::piped())
                .stderr(rustle_ssh::openssh::Stdio::piped())
                .spawn()
                .await;
            match child {
                Ok(mut child) => {
                    let input = child.stdin().take().expect("piped");
                    let out = child.stdout().take().expect("piped");
                    let err = child.stderr().take().expect("piped");
                    let stderr = pump(&stretch, input, out, err, &mut t, interrupt).await;
                    let code = child.wait().await.ok().and_then(|s| s.code());
                    // ssh's own 255 (or no status) with the master gone: the
                    // connection went, not the runner. With the master alive,
                    // the runner died (a signal) and the host failed.
                    if t.state.is_none()
                        && matches!(code, Some(255) | None)
                        && !master_alive(&conn.session).await
                    {
                        let why = format!(
                            "{host}: the SSH connection closed while the runner ran: {}",
                            stderr.trim()
                        );
                        unreachable = Some(why.clone());
                        t.fail(Status::Unreachable, why, &base).await;
                    }
                    end_of_runner(&mut t, code, stderr, &base).await;
                }
                Err(e) => {
                    let why = format!("{host}: {e}");
                    unreachable = Some(why.clone());
                    t.fail(Status::Unreachable, why, &base).await
                }
            }
        }
        Link::LocalEngine => {
            let target = Arc::new(rustle_engine::LocalTarget);
            run_engine(&slices, stretch, target, &mut t, &interrupt, None).await
        }
        Link::SshEngine(_, target) => {
            run_engine(&slices, stretch, target.clone(), &mut t, &interrupt, None).await
        }
    }
    let why = "the host's event stream ended without its state".to_owned();
    t.fail(Status::Failed, why, &base).await;
    Done {
        host,
        state: t.state.take().expect("set by the stream or by fail"),
        link,
        unreachable,
    }
}

/// The host's own target for the engine in this process, whatever its
/// link (a host with a runner is reached over its connection).
async fn engine_target(
    link: &Link,
) -> Result<Arc<dyn rustle_engine::Target + Send + Sync>, String> {
    match link {
        Link::LocalRunner(_) | Link::LocalEngine => Ok(Arc::new(rustle_engine::LocalTarget)),
        Link::SshEngine(_, target) => Ok(target.clone()),
        Link::SshRunner(conn, _) => {
            let target = crate::ssh_target::open(conn.clone()).await;
            let target = target.map_err(|e| format!("{}: {e}", conn.host))?;
            Ok(Arc::new(target))
        }
        Link::Closed(_) | Link::Down(..) => Err("the host has no connection".to_owned()),
    }
}

/// Runs the engine for one host's stretch on a blocking thread against
/// `target`, forwarding its events as they come.
async fn run_engine(
    slices: &Arc<Slices>,
    stretch: Stretch,
    target: Arc<dyn rustle_engine::Target + Send + Sync>,
    t: &mut Tracker,
    interrupt: &Interrupt,
    delegates: Option<Arc<ExecDelegates>>,
) {
    let stop = interrupt.flag.clone();
    // Small: at 50 forks, 256 events per host held more memory than the
    // collator's whole in-memory window.
    let (etx, mut erx) = mpsc::channel::<Event>(32);
    let slices = slices.clone();
    let host = t.host.clone();
    let worker = tokio::task::spawn_blocking(move || {
        let Some(slice) = slices.slice(&host) else {
            let _ = etx.blocking_send(Event::StretchDone {
                host,
                state: stretch.state,
            });
            return;
        };
        let files = ControllerFiles(slice.files.clone());
        let mut emit = |ev| {
            let _ = etx.blocking_send(ev);
        };
        let cx = rustle_engine::Context {
            target: target.as_ref(),
            files: &files,
            stop: &stop,
            delegates: delegates
                .as_deref()
                .map(|d| d as &dyn rustle_engine::Delegates),
        };
        rustle_engine::run_stretch(&slice, stretch, &cx, &mut emit);
    });
    while let Some(ev) = erx.recv().await {
        t.send(ev).await;
    }
    if let Err(e) = worker.await {
        let base = HostState::default();
        t.fail(Status::Failed, format!("the engine stopped: {e}"), &base)
            .await;
    }
}

/// Sends the stretch to a runner's stdin (one line) and forwards its event
/// lines, telling it to stop on Ctrl-C; returns what it wrote on stderr
/// (and any stdout line that was not an event). Stdin stays open while the
/// runner runs: its end tells the runner the controller is gone.
async fn pump(
    stretch: &Stretch,
    mut input: impl AsyncWrite + Unpin,
    out: impl AsyncRead + Unpin,
    mut err: impl AsyncRead + Unpin + Send + 'static,
    t: &mut Tracker,
    mut interrupt: Interrupt,
) -> String {
    let mut request = serde_json::to_vec(stretch).expect("a stretch always serialises");
    request.push(b'\n');
    if interrupt.is_set() {
        request.extend_from_slice(b"stop\n");
    }
    // A runner that dies before reading shows up below as its exit.
    let _ = input.write_all(&request).await;
    let _ = input.flush().await;
    let stderr = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf).await;
        buf
    });
    let mut junk = String::new();
    let mut lines = BufReader::new(out).lines();
    let mut told = interrupt.is_set();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line,
            _ = interrupt.rx.changed(), if !told => {
                told = true;
                let _ = input.write_all(b"stop\n").await;
                let _ = input.flush().await;
                continue;
            }
        };
        let Ok(Some(line)) = line else { break };
        match Event::from_line(&line) {
            Ok(ev) => t.send(ev).await,
            Err(_) => {
                junk.push_str(&line);
                junk.push('\n');
            }
        }
    }
    drop(input);
    let err = stderr.await.unwrap_or_default();
    junk + &String::from_utf8_lossy(&err)
}

/// Ansible's words for a host ssh could not reach, with ssh's own.
fn connect_failure(e: rustle_ssh::SshError) -> String {
    match e {
        rustle_ssh::SshError::Unreachable { msg, .. } => {
            format!("Task failed: Failed to connect to the host via ssh: {msg}")
        }
        other => other.to_string(),
    }
}

/// Whether the host's master connection still works, given a moment to
/// notice that its TCP connection closed.
async fn master_alive(session: &rustle_ssh::openssh::Session) -> bool {
    tokio::time::sleep(Duration::from_millis(300)).await;
    session.check().await.is_ok()
}

async fn end_of_runner(t: &mut Tracker, code: Option<i32>, output: String, base: &HostState) {
    if t.state.is_some() {
        return;
    }
    let status = match code {
        Some(c) => format!("exit code {c}"),
        None => "killed by a signal".to_owned(),
    };
    let output = output.trim();
    t.fail(
        Status::Failed,
        format!("the runner on this host stopped ({status}): {output}"),
        base,
    )
    .await;
}

/// `copy src:` files for the in-process engine, read from the controller.
struct ControllerFiles(Vec<rustle_format::FileRef>);

impl rustle_engine::FileSource for ControllerFiles {
    fn read(&self, src: &str) -> std::io::Result<Vec<u8>> {
        match self.0.iter().find(|f| f.src == src) {
            Some(f) => std::fs::read(&f.path),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("Could not find or access '{src}'"),
            )),
        }
    }

    fn list(&self, dir: &str) -> Vec<String> {
        rustle_engine::keys_under(dir, self.0.iter().map(|f| f.src.as_str()))
    }
}
