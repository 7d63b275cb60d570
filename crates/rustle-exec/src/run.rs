//! Running hosts: one job per host, at most `forks` at once, each feeding
//! its events into one channel. A job runs the host's deployed runner
//! (locally or over one SSH master connection) or, for a local host with no
//! runner, the engine in this process. Whatever happens to a host, its
//! stream ends with `HostDone`, and a host that cannot be reached or whose
//! runner dies gets a result that says so.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rustle_format::{Connection, Document, Event, HostSlice, HostStats, Status, TaskKey};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::{Semaphore, mpsc};

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

/// One host to run. Its slice is made when the job starts, so at most
/// `forks` slices are in memory at once.
pub struct Job {
    pub index: usize,
    pub host: String,
    pub driver: Driver,
    pub slices: Arc<Slices>,
}

/// Makes host slices from one shared copy of the document.
pub struct Slices {
    pub doc: Document,
    pub groups: rustle_format::Map<String, rustle_format::Value>,
}

impl Slices {
    pub fn new(doc: Document) -> Slices {
        let groups = doc.groups_map();
        Slices { doc, groups }
    }

    fn slice(&self, host: &str) -> Option<HostSlice> {
        self.doc.host_slice_with(host, &self.groups)
    }
}

/// Tracks a host's stream so that a broken one can be ended truthfully.
struct Tracker {
    index: usize,
    host: String,
    first: (TaskKey, String),
    open: Option<(TaskKey, String, String)>,
    done: bool,
    tx: Tx,
}

impl Tracker {
    fn new(job: &Job, slice: &HostSlice, tx: Tx) -> Tracker {
        Tracker {
            index: job.index,
            host: job.host.clone(),
            first: first_task(slice),
            open: None,
            done: false,
            tx,
        }
    }

    async fn send(&mut self, ev: Event) {
        match &ev {
            Event::TaskStart {
                key, name, action, ..
            } => {
                self.open = Some((key.clone(), name.clone(), action.clone()));
            }
            Event::TaskResult { .. } => self.open = None,
            Event::HostDone { .. } => self.done = true,
            _ => {}
        }
        // A closed channel means exec is shutting down; nothing to do.
        let _ = self.tx.send((self.index, ev)).await;
    }

    /// Ends the stream with a result of `status` at the task in progress
    /// (or the host's first task) when it has not ended by itself.
    async fn fail(&mut self, status: Status, msg: String) {
        if self.done {
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
        let mut stats = HostStats::default();
        stats.count(status, false, false);
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
        self.send(Event::HostDone {
            host: self.host.clone(),
            stats,
            error: Some(msg),
        })
        .await;
    }
}

/// The key and name of the first thing a host does, where an unreachable
/// host's failure is shown (Ansible shows it at the first task).
fn first_task(slice: &HostSlice) -> (TaskKey, String) {
    let Some(play) = slice.plays.first() else {
        return (
            TaskKey {
                play: 0,
                pos: vec![],
            },
            "Gathering Facts".to_owned(),
        );
    };
    match play.tasks.first() {
        Some((i, t)) if !play.gather_facts => (
            TaskKey {
                play: play.play,
                pos: vec![0, *i],
            },
            t.name.clone().unwrap_or_else(|| t.action.clone()),
        ),
        _ => (
            TaskKey {
                play: play.play,
                pos: vec![],
            },
            "Gathering Facts".to_owned(),
        ),
    }
}

pub async fn run_all(jobs: Vec<Job>, forks: usize, timeout: Duration, tx: Tx) {
    let forks = Arc::new(Semaphore::new(forks.max(1)));
    let mut handles = Vec::new();
    for job in jobs {
        let forks = forks.clone();
        let tx = tx.clone();
        handles.push(tokio::spawn(async move {
            let _permit = forks.acquire_owned().await;
            run_job(job, timeout, tx).await;
        }));
    }
    for h in handles {
        let _ = h.await;
    }
}

async fn run_job(job: Job, timeout: Duration, tx: Tx) {
    let Some(slice) = job.slices.slice(&job.host) else {
        // Not in the plan: nothing to run, but its stream must still end.
        let done = Event::HostDone {
            host: job.host.clone(),
            stats: HostStats::default(),
            error: None,
        };
        let _ = tx.send((job.index, done)).await;
        return;
    };
    let mut t = Tracker::new(&job, &slice, tx);
    match &job.driver {
        Driver::LocalRunner(path) => {
            let child = tokio::process::Command::new(path)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn();
            match child {
                Ok(mut child) => {
                    let out = child.stdout.take().expect("piped");
                    let err = child.stderr.take().expect("piped");
                    let stderr = pump(out, err, &mut t).await;
                    let status = child.wait().await;
                    end_of_runner(&mut t, status.ok().and_then(|s| s.code()), stderr).await;
                }
                Err(e) => {
                    t.fail(
                        Status::Failed,
                        format!("could not start the runner {}: {e}", path.display()),
                    )
                    .await
                }
            }
        }
        Driver::SshRunner(ep, path) => match rustle_ssh::connect(ep, timeout).await {
            Err(e) => t.fail(Status::Unreachable, e.to_string()).await,
            Ok(conn) => {
                let child = conn
                    .session
                    .command(path)
                    .stdin(rustle_ssh::openssh::Stdio::null())
                    .stdout(rustle_ssh::openssh::Stdio::piped())
                    .stderr(rustle_ssh::openssh::Stdio::piped())
                    .spawn()
                    .await;
                match child {
                    Ok(mut child) => {
                        let out = child.stdout().take().expect("piped");
                        let err = child.stderr().take().expect("piped");
                        let stderr = pump(out, err, &mut t).await;
                        let code = child.wait().await.ok().and_then(|s| s.code());
                        end_of_runner(&mut t, code, stderr).await;
                    }
                    Err(e) => {
                        t.fail(Status::Unreachable, format!("{}: {e}", ep.host))
                            .await
                    }
                }
                conn.close().await;
            }
        },
        Driver::LocalEngine => {
            run_engine(slice, Box::new(rustle_engine::LocalTarget), &mut t).await
        }
        Driver::DeployUnreachable(why) => t.fail(Status::Unreachable, why.clone()).await,
        Driver::DeployFailed(why) => t.fail(Status::Failed, why.clone()).await,
        Driver::SshEngine(ep) => match rustle_ssh::connect(ep, timeout).await {
            Err(e) => t.fail(Status::Unreachable, e.to_string()).await,
            Ok(conn) => {
                let conn = Arc::new(conn);
                match crate::ssh_target::SshTarget::open(conn.clone()).await {
                    Ok(target) => run_engine(slice, Box::new(target), &mut t).await,
                    Err(e) => {
                        t.fail(Status::Unreachable, format!("{}: {e}", ep.host))
                            .await
                    }
                }
                if let Ok(conn) = Arc::try_unwrap(conn) {
                    conn.close().await;
                }
            }
        },
    }
    t.fail(
        Status::Failed,
        "the host's event stream ended without a summary".to_owned(),
    )
    .await;
}

/// Runs the engine for one host on a blocking thread against `target`,
/// forwarding its events as they come.
async fn run_engine(
    slice: HostSlice,
    target: Box<dyn rustle_engine::Target + Send>,
    t: &mut Tracker,
) {
    let (etx, mut erx) = mpsc::channel::<Event>(256);
    let worker = tokio::task::spawn_blocking(move || {
        let files = ControllerFiles(slice.files.clone());
        rustle_engine::run_host(&slice, target.as_ref(), &files, &mut |ev| {
            let _ = etx.blocking_send(ev);
        });
    });
    while let Some(ev) = erx.recv().await {
        t.send(ev).await;
    }
    if let Err(e) = worker.await {
        t.fail(Status::Failed, format!("the engine stopped: {e}"))
            .await;
    }
}

/// Forwards a runner's event lines; returns what it wrote on stderr (and
/// any stdout line that was not an event).
async fn pump(
    out: impl AsyncRead + Unpin,
    mut err: impl AsyncRead + Unpin + Send + 'static,
    t: &mut Tracker,
) -> String {
    let stderr = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf).await;
        buf
    });
    let mut junk = String::new();
    let mut lines = BufReader::new(out).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match Event::from_line(&line) {
            Ok(ev) => t.send(ev).await,
            Err(_) => {
                junk.push_str(&line);
                junk.push('\n');
            }
        }
    }
    let err = stderr.await.unwrap_or_default();
    junk + &String::from_utf8_lossy(&err)
}

async fn end_of_runner(t: &mut Tracker, code: Option<i32>, output: String) {
    if t.done {
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
}
