//! `LocalTarget` (and, where noted, `ShellTarget` over a local `sh`) against
//! the real filesystem and processes.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use rustle_engine::{ExecRequest, FileKind, LocalTarget, Target};

fn p(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_string_lossy().into_owned()
}

fn mode(path: &str) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn exec_runs_argv_with_stdin_cwd_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let req = ExecRequest {
        argv: vec![
            "/bin/sh".into(),
            "-c".into(),
            "cat; pwd; echo \"$GREETING\" >&2; exit 7".into(),
        ],
        stdin: Some(b"in\n".to_vec()),
        env: vec![("GREETING".into(), "hi".into())],
        cwd: Some(dir.path().to_string_lossy().into_owned()),
    };
    let out = LocalTarget.exec(&req).unwrap();
    let cwd = fs::canonicalize(dir.path()).unwrap();
    assert_eq!(out.rc, 7);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("in\n{}\n", cwd.display())
    );
    assert_eq!(out.stderr, b"hi\n");
}

#[test]
fn exec_reports_signals_and_missing_programs() {
    let out = LocalTarget
        .exec(&ExecRequest::shell("kill -TERM $$"))
        .unwrap();
    assert_eq!(out.rc, -15);
    let err = LocalTarget
        .exec(&ExecRequest::new(["/no/such/program"]))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(LocalTarget.exec(&ExecRequest::default()).is_err());
}

#[test]
fn exec_does_not_deadlock_on_large_output_and_input() {
    let big = vec![b'x'; 1 << 20];
    let req = ExecRequest {
        stdin: Some(big.clone()),
        ..ExecRequest::new(["cat"])
    };
    let out = LocalTarget.exec(&req).unwrap();
    assert_eq!(out.stdout.len(), big.len());
}

/// Both targets: `LocalTarget` through std, `ShellTarget` through sh and
/// coreutils on this machine.
fn both(f: impl Fn(&str, &dyn Target)) {
    let shell = rustle_engine::ShellTarget::open(LocalSh).unwrap();
    f("local", &LocalTarget);
    f("shell", &shell);
}

#[test]
fn write_file_sets_mode_keeps_existing_mode_and_uses_umask_for_new_files() {
    both(|name, t| {
        let dir = tempfile::tempdir().unwrap();
        let explicit = p(&dir, "explicit");
        t.write_file(&explicit, b"a", Some(0o4750)).unwrap();
        assert_eq!(mode(&explicit), 0o4750, "{name}");
        assert_eq!(fs::read(&explicit).unwrap(), b"a");

        t.write_file(&explicit, b"b", None).unwrap();
        assert_eq!(mode(&explicit), 0o4750, "{name}");
        assert_eq!(fs::read(&explicit).unwrap(), b"b");

        // Modes a umask can give, and ones it cannot, on new and old files.
        for m in [0o600, 0o640, 0o644, 0o666, 0o400, 0o755, 0o1777] {
            let f = p(&dir, &format!("m{m:o}"));
            t.write_file(&f, b"new", Some(m)).unwrap();
            assert_eq!(mode(&f), m, "{name}: new file, {m:o}");
            t.write_file(&f, b"old", Some(0o600)).unwrap();
            t.write_file(&f, b"again", Some(m)).unwrap();
            assert_eq!(mode(&f), m, "{name}: replaced file, {m:o}");
            assert_eq!(fs::read(&f).unwrap(), b"again");
        }

        let reference = p(&dir, "reference");
        fs::File::create(&reference).unwrap();
        let fresh = p(&dir, "fresh");
        t.write_file(&fresh, b"c", None).unwrap();
        assert_eq!(
            mode(&fresh),
            mode(&reference),
            "{name}: new files get 0666 & !umask"
        );
    });
}

#[test]
fn failed_writes_leave_the_old_file_and_no_temporaries() {
    both(|name, t| {
        let dir = tempfile::tempdir().unwrap();
        let err = t.write_file(&p(&dir, "missing/x"), b"x", None).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{name}");
        let sub = p(&dir, "sub");
        fs::create_dir(&sub).unwrap();
        // Renaming a file over a directory fails after the temporary was written.
        assert!(t.write_file(&sub, b"x", None).is_err(), "{name}");
        assert!(fs::metadata(&sub).unwrap().is_dir());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["sub"], "{name}");
    });
}

#[test]
fn stat_follows_links_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let t = LocalTarget;
    let file = p(&dir, "f");
    fs::write(&file, "12345").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    let link = p(&dir, "l");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let followed = t.stat(&link, true).unwrap().unwrap();
    assert_eq!(
        (followed.kind, followed.mode, followed.size),
        (FileKind::File, 0o640, 5)
    );
    assert_eq!(t.stat(&link, false).unwrap().unwrap().kind, FileKind::Link);
    assert_eq!(t.stat(&p(&dir, "none"), true).unwrap(), None);
    assert_eq!(t.stat(&format!("{file}/below"), true).unwrap(), None);
    assert_eq!(
        t.stat(&p(&dir, ""), true).unwrap().unwrap().kind,
        FileKind::Dir
    );
}

#[test]
fn create_dir_all_sets_mode_on_each_created_directory() {
    let dir = tempfile::tempdir().unwrap();
    let t = LocalTarget;
    let deep = p(&dir, "a/b/c");
    t.create_dir_all(&deep, Some(0o700)).unwrap();
    for d in ["a", "a/b", "a/b/c"] {
        assert_eq!(mode(&p(&dir, d)), 0o700, "{d}");
    }
    t.create_dir_all(&deep, Some(0o755)).unwrap();
    assert_eq!(mode(&deep), 0o700, "existing directories are left alone");
}

/// Hosts sharing a filesystem (the test hosts do) create the same
/// parents at once: whoever loses the race finds the directory there,
/// which is no failure.
#[test]
fn create_dir_all_tolerates_others_creating_the_same_parents() {
    fn race(name: &str, t: &(dyn Target + Sync)) {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let results: Vec<_> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..6)
                    .map(|i| {
                        let leaf = p(&dir, &format!("shared/parent/leaf{i}"));
                        s.spawn(move || t.create_dir_all(&leaf, Some(0o750)))
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            for (i, r) in results.into_iter().enumerate() {
                r.unwrap_or_else(|e| panic!("{name}, round {round}, leaf {i}: {e}"));
                assert!(
                    fs::metadata(p(&dir, &format!("shared/parent/leaf{i}")))
                        .unwrap()
                        .is_dir()
                );
            }
            assert_eq!(mode(&p(&dir, "shared/parent")), 0o750, "{name}");
        }
    }
    race("local", &LocalTarget);
    race("shell", &rustle_engine::ShellTarget::open(LocalSh).unwrap());
}

#[test]
fn remove_set_times_and_set_mode() {
    let dir = tempfile::tempdir().unwrap();
    let t = LocalTarget;
    let tree = p(&dir, "tree");
    fs::create_dir_all(format!("{tree}/x/y")).unwrap();
    fs::write(format!("{tree}/x/y/z"), "z").unwrap();
    t.remove(&tree).unwrap();
    assert!(!fs::exists(&tree).unwrap());
    t.remove(&tree).unwrap();

    let f = p(&dir, "touched");
    fs::write(&f, "keep").unwrap();
    let old = filetime(&f);
    std::thread::sleep(std::time::Duration::from_millis(20));
    t.set_times(&f, None).unwrap();
    assert!(filetime(&f) > old);
    assert_eq!(fs::read(&f).unwrap(), b"keep");

    t.set_mode(&f, 0o600).unwrap();
    assert_eq!(mode(&f), 0o600);
}

fn filetime(path: &str) -> std::time::SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

/// A shell on this machine, so `ShellTarget`'s scripts run for real.
struct LocalSh;

impl rustle_engine::Shell for LocalSh {
    fn sh(&self, script: &str, stdin: Option<&[u8]>) -> std::io::Result<rustle_engine::ExecOutput> {
        let mut req = rustle_engine::ExecRequest::shell(script);
        req.stdin = stdin.map(<[u8]>::to_vec);
        LocalTarget.exec(&req)
    }
}

/// Links, owners, listings, real paths and times: `LocalTarget` (through
/// std) and `ShellTarget` (through sh and coreutils) leave the same state
/// and read it back alike.
#[test]
fn links_owners_listing_and_times_agree_between_local_and_shell_targets() {
    let shell = rustle_engine::ShellTarget::open(LocalSh).unwrap();
    let targets: [(&str, &dyn Target); 2] = [("local", &LocalTarget), ("shell", &shell)];
    for (name, t) in targets {
        let dir = tempfile::tempdir().unwrap();
        let file = p(&dir, "file");
        fs::write(&file, "x").unwrap();
        let (link, hard, dangling) = (p(&dir, "link"), p(&dir, "hard"), p(&dir, "dangling"));
        t.symlink("file", &link).unwrap();
        assert_eq!(t.read_link(&link).unwrap(), "file", "{name}");
        // Replacing a link is atomic and leaves no temporary behind.
        t.symlink("other", &link).unwrap();
        assert_eq!(t.read_link(&link).unwrap(), "other", "{name}");
        t.symlink("nowhere", &dangling).unwrap();
        assert_eq!(
            t.real_path(&dangling).unwrap(),
            p(&dir, "nowhere"),
            "{name}"
        );
        t.hard_link(&file, &hard).unwrap();
        let (f, h) = (
            t.stat(&file, false).unwrap().unwrap(),
            t.stat(&hard, false).unwrap().unwrap(),
        );
        assert_eq!((f.ino, f.nlink), (h.ino, 2), "{name}");
        let mut names = t.list_dir(dir.path().to_str().unwrap()).unwrap();
        names.sort();
        assert_eq!(names, ["dangling", "file", "hard", "link"], "{name}");
        t.chown(&link, Some(65534), Some(65534)).unwrap();
        let l = t.stat(&link, false).unwrap().unwrap();
        assert_eq!((l.uid, l.gid), (65534, 65534), "{name}: lchown");
        // A shell's stat names the owner as the host resolves the ids
        // (no names for ids the host does not know); std leaves it to
        // the modules.
        let names = |uid, gid| {
            t.chown(&link, Some(uid), Some(gid)).unwrap();
            t.stat(&link, false).unwrap().unwrap().names
        };
        let nobody = Some(("nobody".to_owned(), "nogroup".to_owned()));
        let expected = if name == "shell" { nobody } else { None };
        assert_eq!(names(65534, 65534), expected, "{name}");
        assert_eq!(names(4242, 65534), None, "{name}");
        assert_eq!(
            t.stat(&file, false).unwrap().unwrap().uid,
            0,
            "{name}: target untouched"
        );
        t.set_times(&file, Some((1_000_000_000.5, 1_100_000_000.25)))
            .unwrap();
        let f = t.stat(&file, false).unwrap().unwrap();
        assert_eq!(
            (f.atime, f.mtime),
            (1_000_000_000.5, 1_100_000_000.25),
            "{name}"
        );
        assert!(t.list_dir(&p(&dir, "missing")).is_err(), "{name}");
    }
}

/// TCP probes from the host: a listener's banner is read until it is
/// enough (or the peer closes), a bare probe reads nothing, and a closed
/// port is an error; alike through std and through the shell.
#[test]
fn tcp_probes_agree_between_local_and_shell_targets() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let _ = conn.unwrap().write_all(b"SSH-2.0-test\r\nmore\r\n");
        }
    });
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let shell = rustle_engine::ShellTarget::open(LocalSh).unwrap();
    let targets: [(&str, &dyn Target); 2] = [("local", &LocalTarget), ("shell", &shell)];
    let timeout = std::time::Duration::from_secs(5);
    for (name, t) in targets {
        let banner = |data: &[u8]| data.starts_with(b"SSH-2.0");
        let data = t.tcp_probe("127.0.0.1", port, timeout, Some(&banner));
        assert!(data.unwrap().starts_with(b"SSH-2.0-test"), "{name}");
        let bare = t.tcp_probe("127.0.0.1", port, timeout, None);
        assert_eq!(bare.unwrap(), b"", "{name}");
        assert!(
            t.tcp_probe("127.0.0.1", closed, timeout, None).is_err(),
            "{name}"
        );
    }
}
