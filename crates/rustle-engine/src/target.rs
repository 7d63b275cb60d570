//! The machine a host's tasks act on. Modules only touch the host through
//! [`Target`], so the same engine runs on the host itself ([`LocalTarget`])
//! or from the controller over a connection.

use std::fs::{self, File, FileTimes, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use crate::http::{HttpRequest, HttpResponse};

/// One process to run on the target. `argv[0]` is looked up in `PATH`;
/// nothing goes through a shell unless `argv` says so (see [`ExecRequest::shell`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    pub argv: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    /// Added to the target's environment.
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
}

impl ExecRequest {
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> ExecRequest {
        ExecRequest {
            argv: argv.into_iter().map(Into::into).collect(),
            ..ExecRequest::default()
        }
    }

    /// `/bin/sh -c cmd`.
    pub fn shell(cmd: &str) -> ExecRequest {
        ExecRequest::new(["/bin/sh", "-c", cmd])
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit code, or minus the signal number when a signal ended it.
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Link,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileStat {
    pub kind: FileKind,
    /// Permission bits, setuid/setgid/sticky included (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Seconds since the epoch, as Python's `st_mtime` (a float).
    pub mtime: f64,
    pub atime: f64,
    pub ctime: f64,
    pub nlink: u64,
    pub ino: u64,
    pub dev: u64,
    /// The file type bits of `st_mode` (`S_IFMT`).
    pub ifmt: u32,
    /// The owner's and group's names as the host resolves them, when the
    /// target learns them with the stat (a shell's `stat` does; `None`
    /// leaves modules to look the ids up).
    pub names: Option<(String, String)>,
}

/// For [`Target::tcp_probe`]: whether the data read so far is enough.
pub type Enough<'a> = &'a dyn Fn(&[u8]) -> bool;

/// What modules may do on a host. All paths are paths on the target.
pub trait Target {
    fn exec(&self, req: &ExecRequest) -> io::Result<ExecOutput>;
    fn read_file(&self, path: &str) -> io::Result<Vec<u8>>;
    /// `Ok(None)` when nothing is at `path`. `follow` stats a link's target.
    fn stat(&self, path: &str, follow: bool) -> io::Result<Option<FileStat>>;
    /// Atomic replace: a temporary file in the same directory is written,
    /// given its mode, then renamed over `path`. On error the old file is
    /// untouched. Without `mode` an existing file keeps its mode (and owner)
    /// and a new one gets `0o666 & !umask`.
    fn write_file(&self, path: &str, content: &[u8], mode: Option<u32>) -> io::Result<()>;
    /// Creates `path` and missing parents; `mode` is set on each directory created.
    fn create_dir_all(&self, path: &str, mode: Option<u32>) -> io::Result<()>;
    /// Removes a file, link or directory tree; `Ok` when nothing is there.
    fn remove(&self, path: &str) -> io::Result<()>;
    fn set_mode(&self, path: &str, mode: u32) -> io::Result<()>;
    /// The home directory of the user tasks run as.
    fn home(&self) -> String;
    /// Sets the owner and/or group of `path` itself (`lchown`).
    fn chown(&self, path: &str, uid: Option<u32>, gid: Option<u32>) -> io::Result<()>;
    /// Makes `path` a symbolic link to `src`, atomically replacing whatever
    /// file or link is there (a link made beside it, then renamed).
    fn symlink(&self, src: &str, path: &str) -> io::Result<()>;
    /// Makes `path` a hard link to `src`, atomically replacing a file there.
    fn hard_link(&self, src: &str, path: &str) -> io::Result<()>;
    fn read_link(&self, path: &str) -> io::Result<String>;
    /// Python's `os.path.realpath`: links resolved, missing parts kept.
    fn real_path(&self, path: &str) -> io::Result<String>;
    /// The names in a directory, in the order the filesystem lists them.
    fn list_dir(&self, path: &str) -> io::Result<Vec<String>>;
    /// Sets access and modification times (`None`: now).
    fn set_times(&self, path: &str, times: Option<(f64, f64)>) -> io::Result<()>;
    /// Opens a TCP connection from the host to `host:port`, then reads
    /// what the peer sends until `enough` says so, the peer closes or
    /// `timeout` (which bounds the connect too) has passed; with no
    /// `enough`, reads nothing. Errs when no connection could be made.
    fn tcp_probe(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
        enough: Option<Enough>,
    ) -> io::Result<Vec<u8>>;
    /// One HTTP request made from the host (redirects are not followed):
    /// by default with `curl` run on the host through [`Target::exec`].
    fn http(&self, req: &HttpRequest) -> io::Result<HttpResponse> {
        crate::http::curl(self, req)
    }

    /// Starts an `async` job on the host ([`crate::jobs`]), completing
    /// `spec`'s job id and results file. Only a process on the host can:
    /// other targets refuse.
    fn start_job(&self, spec: &mut crate::jobs::JobSpec) -> io::Result<()> {
        let _ = spec;
        Err(crate::jobs::unsupported())
    }

    /// The binary that can start jobs on the target, when it is this
    /// machine and this program can (see [`crate::jobs::serve`]).
    fn job_program(&self) -> Option<&'static Path> {
        None
    }
}

/// The machine this process runs on, through `std`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalTarget;

impl Target for LocalTarget {
    fn start_job(&self, spec: &mut crate::jobs::JobSpec) -> io::Result<()> {
        crate::jobs::start_here(spec)
    }

    fn job_program(&self) -> Option<&'static Path> {
        crate::jobs::program()
    }

    fn exec(&self, req: &ExecRequest) -> io::Result<ExecOutput> {
        let (program, args) = req
            .argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty argv"))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(req.env.iter().map(|(k, v)| (k, v)))
            .stdin(if req.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(cwd) = &req.cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd.spawn()?;
        // Feed stdin from a thread so a child filling its stdout cannot deadlock us.
        let feeder = match (child.stdin.take(), req.stdin.clone()) {
            (Some(mut pipe), Some(data)) => Some(std::thread::spawn(move || pipe.write_all(&data))),
            _ => None,
        };
        let out = child.wait_with_output()?;
        if let Some(feeder) = feeder {
            // A child that exits without reading its stdin is not an error.
            let _ = feeder.join();
        }
        Ok(ExecOutput {
            rc: exit_code(out.status),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn read_file(&self, path: &str) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        File::open(path)?.read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn stat(&self, path: &str, follow: bool) -> io::Result<Option<FileStat>> {
        let meta = if follow {
            fs::metadata(path)
        } else {
            fs::symlink_metadata(path)
        };
        match meta {
            Ok(meta) => Ok(Some(file_stat(&meta))),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write_file(&self, path: &str, content: &[u8], mode: Option<u32>) -> io::Result<()> {
        let path = Path::new(path);
        let old = match fs::metadata(path) {
            Ok(meta) => Some(meta),
            Err(e) if is_missing(&e) => None,
            Err(e) => return Err(e),
        };
        let tmp = temp_path(path)?;
        let result =
            write_temp(&tmp, content, mode, old.as_ref()).and_then(|()| fs::rename(&tmp, path));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn create_dir_all(&self, path: &str, mode: Option<u32>) -> io::Result<()> {
        let mut missing = Vec::new();
        let mut cur = Some(Path::new(path));
        while let Some(p) = cur.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
            missing.push(p);
            cur = p.parent();
        }
        for dir in missing.into_iter().rev() {
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => continue,
                Err(e) => return Err(e),
            }
            if let Some(mode) = mode {
                fs::set_permissions(dir, Permissions::from_mode(mode))?;
            }
        }
        Ok(())
    }

    fn remove(&self, path: &str) -> io::Result<()> {
        let result = match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
            Ok(_) => fs::remove_file(path),
            Err(e) => Err(e),
        };
        match result {
            Err(e) if is_missing(&e) => Ok(()),
            other => other,
        }
    }

    fn set_mode(&self, path: &str, mode: u32) -> io::Result<()> {
        fs::set_permissions(path, Permissions::from_mode(mode))
    }

    fn home(&self) -> String {
        std::env::var("HOME").unwrap_or_else(|_| "/".to_owned())
    }

    fn chown(&self, path: &str, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        std::os::unix::fs::lchown(path, uid, gid)
    }

    fn symlink(&self, src: &str, path: &str) -> io::Result<()> {
        let tmp = temp_path(Path::new(path))?;
        std::os::unix::fs::symlink(src, &tmp)?;
        fs::rename(&tmp, path).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
    }

    fn hard_link(&self, src: &str, path: &str) -> io::Result<()> {
        let tmp = temp_path(Path::new(path))?;
        fs::hard_link(src, &tmp)?;
        fs::rename(&tmp, path).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
    }

    fn read_link(&self, path: &str) -> io::Result<String> {
        Ok(fs::read_link(path)?.to_string_lossy().into_owned())
    }

    fn real_path(&self, path: &str) -> io::Result<String> {
        let mut path = PathBuf::from(path);
        // A dangling link resolves to its target, as Python's does.
        for _ in 0..40 {
            match fs::canonicalize(&path) {
                Ok(real) => return Ok(real.to_string_lossy().into_owned()),
                Err(e) if is_missing(&e) => match fs::read_link(&path) {
                    Ok(next) => path = path.parent().unwrap_or(Path::new("/")).join(next),
                    Err(_) => break,
                },
                Err(e) => return Err(e),
            }
        }
        Ok(path.to_string_lossy().into_owned())
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        fs::read_dir(path)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect()
    }

    /// `http://` in process; anything else (`https://`: the runner has no
    /// TLS) through the host's `curl`.
    fn http(&self, req: &HttpRequest) -> io::Result<HttpResponse> {
        if req.url.starts_with("http://") {
            crate::http::in_process(req)
        } else {
            crate::http::curl(self, req)
        }
    }

    fn set_times(&self, path: &str, times: Option<(f64, f64)>) -> io::Result<()> {
        let at = |secs: f64| UNIX_EPOCH + std::time::Duration::from_secs_f64(secs.max(0.0));
        let (atime, mtime) = match times {
            Some((a, m)) => (at(a), at(m)),
            None => (SystemTime::now(), SystemTime::now()),
        };
        File::open(path)?.set_times(FileTimes::new().set_accessed(atime).set_modified(mtime))
    }

    fn tcp_probe(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
        enough: Option<Enough>,
    ) -> io::Result<Vec<u8>> {
        let end = Instant::now() + timeout;
        let mut last = io::Error::new(
            io::ErrorKind::NotFound,
            format!("no address for {host}:{port}"),
        );
        let mut stream = None;
        for addr in (host, port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout.max(Duration::from_millis(1))) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let mut stream = stream.ok_or(last)?;
        let mut data = Vec::new();
        if let Some(enough) = enough {
            let mut buf = [0; 1024];
            while !enough(&data) {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                stream.set_read_timeout(Some(left))?;
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        // The peer may have closed already.
        let _ = stream.shutdown(Shutdown::Both);
        Ok(data)
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| -s))
        .unwrap_or(-1)
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn file_stat(meta: &fs::Metadata) -> FileStat {
    let ft = meta.file_type();
    let kind = if ft.is_symlink() {
        FileKind::Link
    } else if ft.is_dir() {
        FileKind::Dir
    } else if ft.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    FileStat {
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        size: meta.size(),
        mtime: meta.mtime() as f64 + meta.mtime_nsec() as f64 * 1e-9,
        atime: meta.atime() as f64 + meta.atime_nsec() as f64 * 1e-9,
        ctime: meta.ctime() as f64 + meta.ctime_nsec() as f64 * 1e-9,
        nlink: meta.nlink(),
        ino: meta.ino(),
        dev: meta.dev(),
        ifmt: meta.mode() & 0o170000,
        names: None,
    }
}

/// `.<name>.rustle-<pid>-<n>-<nanos>.tmp` beside `path`.
pub(crate) fn temp_path(path: &Path) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp_name = format!(
        ".{}.rustle-{}-{n}-{nanos}.tmp",
        name.to_string_lossy(),
        std::process::id()
    );
    Ok(path.with_file_name(tmp_name))
}

fn write_temp(
    tmp: &Path,
    content: &[u8],
    mode: Option<u32>,
    old: Option<&fs::Metadata>,
) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(tmp)?;
    // No fsync before the rename, as Ansible's `atomic_move`: readers see
    // the old content or the new, never part of it. Hosts' runners
    // queued their fsyncs on one journal (W1's cold exec: 0.20 -> 0.13 s).
    file.write_all(content)?;
    if let Some(old) = old {
        // Keep the owner of the file we replace; only root may, so best effort.
        let _ = std::os::unix::fs::fchown(&file, Some(old.uid()), Some(old.gid()));
    }
    match (mode, old) {
        (Some(mode), _) => file.set_permissions(Permissions::from_mode(mode)),
        (None, Some(old)) => file.set_permissions(Permissions::from_mode(old.mode() & 0o7777)),
        (None, None) => Ok(()),
    }
}
