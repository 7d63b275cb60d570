//! One module run's memory of what it has read on its target. Modules
//! port Ansible's Python, which looks at the same path several times (an
//! `os.path.exists`, then an `lstat`, then the result's `stat`) and reads
//! `/etc/passwd` for every owner name. Locally that costs syscalls; in SSH
//! mode each look is a round trip and a process on the host. So a
//! [`ReadCache`] answers a repeated read from memory until the module
//! changes anything through it (then it forgets everything), and lives
//! only as long as one module run, so it never hides what other tasks,
//! hosts or processes did in between. Modules that poll (`wait_for`) run
//! without one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::time::Duration;

use crate::target::{Enough, ExecOutput, ExecRequest, FileStat, HttpRequest, HttpResponse, Target};

/// Files larger than this are read again rather than kept.
const KEEP_FILES_UP_TO: usize = 1 << 20;

pub struct ReadCache<'a> {
    inner: &'a dyn Target,
    seen: RefCell<Seen>,
}

/// Successful reads since the last change.
#[derive(Default)]
struct Seen {
    stats: HashMap<(String, bool), Option<FileStat>>,
    files: HashMap<String, Vec<u8>>,
    links: HashMap<String, String>,
    real_paths: HashMap<String, String>,
    dirs: HashMap<String, Vec<String>>,
}

impl<'a> ReadCache<'a> {
    pub fn new(inner: &'a dyn Target) -> ReadCache<'a> {
        ReadCache {
            inner,
            seen: RefCell::default(),
        }
    }

    /// `f`'s answer for `key` in the map `field` picks: remembered, or
    /// asked of the target and remembered when it succeeds (and `keep`s).
    fn read<K, V: Clone>(
        &self,
        field: impl Fn(&mut Seen) -> &mut HashMap<K, V>,
        key: K,
        ask: impl FnOnce() -> io::Result<V>,
        keep: impl FnOnce(&V) -> bool,
    ) -> io::Result<V>
    where
        K: std::hash::Hash + Eq,
    {
        if let Some(v) = field(&mut self.seen.borrow_mut()).get(&key) {
            return Ok(v.clone());
        }
        let v = ask()?;
        if keep(&v) {
            field(&mut self.seen.borrow_mut()).insert(key, v.clone());
        }
        Ok(v)
    }

    /// Runs a change: whatever it touched may now read differently.
    fn change<T>(&self, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        *self.seen.borrow_mut() = Seen::default();
        f()
    }
}

impl Target for ReadCache<'_> {
    fn exec(&self, req: &ExecRequest) -> io::Result<ExecOutput> {
        self.change(|| self.inner.exec(req))
    }

    fn read_file(&self, path: &str) -> io::Result<Vec<u8>> {
        self.read(
            |s| &mut s.files,
            path.to_owned(),
            || self.inner.read_file(path),
            |data| data.len() <= KEEP_FILES_UP_TO,
        )
    }

    fn stat(&self, path: &str, follow: bool) -> io::Result<Option<FileStat>> {
        self.read(
            |s| &mut s.stats,
            (path.to_owned(), follow),
            || self.inner.stat(path, follow),
            |_| true,
        )
    }

    fn write_file(&self, path: &str, content: &[u8], mode: Option<u32>) -> io::Result<()> {
        self.change(|| self.inner.write_file(path, content, mode))
    }

    fn create_dir_all(&self, path: &str, mode: Option<u32>) -> io::Result<()> {
        self.change(|| self.inner.create_dir_all(path, mode))
    }

    fn remove(&self, path: &str) -> io::Result<()> {
        self.change(|| self.inner.remove(path))
    }

    fn set_mode(&self, path: &str, mode: u32) -> io::Result<()> {
        self.change(|| self.inner.set_mode(path, mode))
    }

    fn home(&self) -> String {
        self.inner.home()
    }

    fn chown(&self, path: &str, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        self.change(|| self.inner.chown(path, uid, gid))
    }

    fn symlink(&self, src: &str, path: &str) -> io::Result<()> {
        self.change(|| self.inner.symlink(src, path))
    }

    fn hard_link(&self, src: &str, path: &str) -> io::Result<()> {
        self.change(|| self.inner.hard_link(src, path))
    }

    fn read_link(&self, path: &str) -> io::Result<String> {
        self.read(
            |s| &mut s.links,
            path.to_owned(),
            || self.inner.read_link(path),
            |_| true,
        )
    }

    fn real_path(&self, path: &str) -> io::Result<String> {
        self.read(
            |s| &mut s.real_paths,
            path.to_owned(),
            || self.inner.real_path(path),
            |_| true,
        )
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        self.read(
            |s| &mut s.dirs,
            path.to_owned(),
            || self.inner.list_dir(path),
            |_| true,
        )
    }

    fn set_times(&self, path: &str, times: Option<(f64, f64)>) -> io::Result<()> {
        self.change(|| self.inner.set_times(path, times))
    }

    fn tcp_probe(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
        enough: Option<Enough>,
    ) -> io::Result<Vec<u8>> {
        self.inner.tcp_probe(host, port, timeout, enough)
    }

    /// A request may change the host (a service behind it writes files).
    fn http(&self, req: &HttpRequest) -> io::Result<HttpResponse> {
        self.change(|| self.inner.http(req))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::target::LocalTarget;

    /// Counts the reads that reach the target.
    struct Counting {
        reads: Cell<usize>,
    }

    impl Target for Counting {
        fn exec(&self, req: &ExecRequest) -> io::Result<ExecOutput> {
            LocalTarget.exec(req)
        }
        fn read_file(&self, path: &str) -> io::Result<Vec<u8>> {
            self.reads.set(self.reads.get() + 1);
            LocalTarget.read_file(path)
        }
        fn stat(&self, path: &str, follow: bool) -> io::Result<Option<FileStat>> {
            self.reads.set(self.reads.get() + 1);
            LocalTarget.stat(path, follow)
        }
        fn write_file(&self, path: &str, content: &[u8], mode: Option<u32>) -> io::Result<()> {
            LocalTarget.write_file(path, content, mode)
        }
        fn create_dir_all(&self, path: &str, mode: Option<u32>) -> io::Result<()> {
            LocalTarget.create_dir_all(path, mode)
        }
        fn remove(&self, path: &str) -> io::Result<()> {
            LocalTarget.remove(path)
        }
        fn set_mode(&self, path: &str, mode: u32) -> io::Result<()> {
            LocalTarget.set_mode(path, mode)
        }
        fn home(&self) -> String {
            LocalTarget.home()
        }
        fn chown(&self, path: &str, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
            LocalTarget.chown(path, uid, gid)
        }
        fn symlink(&self, src: &str, path: &str) -> io::Result<()> {
            LocalTarget.symlink(src, path)
        }
        fn hard_link(&self, src: &str, path: &str) -> io::Result<()> {
            LocalTarget.hard_link(src, path)
        }
        fn read_link(&self, path: &str) -> io::Result<String> {
            LocalTarget.read_link(path)
        }
        fn real_path(&self, path: &str) -> io::Result<String> {
            LocalTarget.real_path(path)
        }
        fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
            LocalTarget.list_dir(path)
        }
        fn set_times(&self, path: &str, times: Option<(f64, f64)>) -> io::Result<()> {
            LocalTarget.set_times(path, times)
        }
        fn tcp_probe(
            &self,
            host: &str,
            port: u16,
            timeout: Duration,
            enough: Option<Enough>,
        ) -> io::Result<Vec<u8>> {
            LocalTarget.tcp_probe(host, port, timeout, enough)
        }
    }

    #[test]
    fn repeated_reads_are_answered_until_something_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f").display().to_string();
        let inner = Counting {
            reads: Cell::new(0),
        };
        let cache = ReadCache::new(&inner);
        assert_eq!(cache.stat(&path, true).unwrap(), None);
        assert_eq!(cache.stat(&path, true).unwrap(), None);
        assert_eq!(inner.reads.get(), 1);
        // Following a link or not are two questions.
        cache.stat(&path, false).unwrap();
        assert_eq!(inner.reads.get(), 2);
        // A change through the cache is seen at once.
        cache.write_file(&path, b"one", None).unwrap();
        assert_eq!(cache.stat(&path, true).unwrap().unwrap().size, 3);
        assert_eq!(cache.read_file(&path).unwrap(), b"one");
        assert_eq!(cache.read_file(&path).unwrap(), b"one");
        assert_eq!(inner.reads.get(), 4);
        cache
            .exec(&ExecRequest::shell(&format!("echo more >> {path}")))
            .unwrap();
        assert_eq!(cache.read_file(&path).unwrap(), b"onemore\n");
        // Failed reads are asked again.
        let missing = dir.path().join("missing").display().to_string();
        assert!(cache.read_file(&missing).is_err());
        assert!(cache.read_file(&missing).is_err());
        assert_eq!(inner.reads.get(), 7);
    }
}
