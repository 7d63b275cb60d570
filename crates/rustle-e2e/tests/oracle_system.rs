//! hostname, sysctl and mount against ansible-playbook, one playbook each
//! (three passes: --diff, again, then --check --diff from a fresh
//! directory). Nothing machine-wide changes: hostname sets only the name
//! the host has (other names in check mode), sysctl gives the kernel only
//! the values it has (read from /proc/sys first), and mount edits fstab
//! files under each tool's directory, mounting nothing (mounts of a
//! missing device fail, /proc is only looked at or handled in check mode).

use std::path::Path;

use regex::Regex;
use rustle_e2e::oracle::{Tool, run_both, twice_and_checked_as_ansible_with};
use rustle_e2e::{TreeEntry, tree};

fn read(path: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
        .trim()
        .to_owned()
}

/// rustle prints no deprecation warnings; ansible-core 2.19 prints one for
/// mount.py's `exit_json(warnings=...)`.
fn without_deprecations(text: &str) -> String {
    let re = Regex::new(r"(?m)^\[DEPRECATION WARNING\]: .*\n?").unwrap();
    re.replace_all(text, "").into_owned()
}

/// hostname keeps no state between runs (the name set is the host's own),
/// so one --diff run and one --check --diff run.
#[test]
fn hostname_matches_ansible() {
    let name = read("/etc/hostname");
    let uname = read("/proc/sys/kernel/hostname");
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    let same = |_: Tool, s: &str| s.to_owned();
    for flags in [&["--diff"][..], &["--check", "--diff"]] {
        let (a, r) = run_both(
            "fixtures/playbooks/modules/hostname.yml",
            (&a_dir, &r_dir),
            flags,
            &flags.join(" "),
            &same,
        );
        assert_eq!(a, r);
        assert_eq!(read("/etc/hostname"), name, "/etc/hostname changed");
        assert_eq!(read("/proc/sys/kernel/hostname"), uname, "the name changed");
    }
    assert!(!r_dir.exists(), "hostname wrote files");
}

#[test]
fn sysctl_matches_ansible() {
    // The playbook reads the kernel's values itself and sets only those.
    let kernel = || ["/proc/sys/vm/swappiness", "/proc/sys/net/ipv4/tcp_rmem"].map(read);
    let before = kernel();
    twice_and_checked_as_ansible_with("fixtures/playbooks/modules/sysctl.yml", false, &[], &|s| {
        s.to_owned()
    });
    assert_eq!(kernel(), before, "the kernel's settings changed");
}

/// mount.py's backups are named `<fstab>.<pid>.<local time>~`.
fn mask_backups(text: &str) -> String {
    let re = Regex::new(r"fstab\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~").unwrap();
    re.replace_all(text, "fstab.PID.TIME~").into_owned()
}

/// The files under `dir` with `dir` itself named `$OUT` in their bytes
/// (fstab entries name their mount points), backups' names masked.
fn tree_as_out(dir: &Path) -> Vec<TreeEntry> {
    let dir_text = dir.display().to_string();
    let mut entries: Vec<TreeEntry> = tree(dir)
        .into_iter()
        .map(|mut e| {
            let text = String::from_utf8_lossy(&e.bytes).replace(&dir_text, "$OUT");
            e.bytes = text.into_bytes();
            e.path = mask_backups(&e.path);
            e
        })
        .collect();
    entries.sort();
    entries
}

#[test]
fn mount_matches_ansible() {
    let book = "fixtures/playbooks/modules/mount.yml";
    let normalise = |_: Tool, s: &str| without_deprecations(&mask_backups(s));
    let runs: [(&[&str], &str); 2] = [(&["--diff"], "run 0"), (&[], "run 1")];
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    for (flags, what) in runs {
        let (a, r) = run_both(book, (&a_dir, &r_dir), flags, what, &normalise);
        assert_eq!(a, r);
        assert_eq!(
            tree_as_out(&a_dir),
            tree_as_out(&r_dir),
            "files after {what}"
        );
    }
    // The first run's backup holds fstab as it was before the change.
    let files = tree_as_out(&r_dir);
    let backups: Vec<&TreeEntry> = files
        .iter()
        .filter(|e| e.path == "fstab.PID.TIME~")
        .collect();
    assert_eq!(backups.len(), 2, "one backup per run");
    assert!(String::from_utf8_lossy(&backups[0].bytes).contains("noatime,ro"));

    // Check mode: fstab is created (empty) as mount.py creates it, and
    // nothing else is written.
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    run_both(
        book,
        (&a_dir, &r_dir),
        &["--check", "--diff"],
        "check",
        &normalise,
    );
    let files = tree_as_out(&r_dir);
    assert_eq!(tree_as_out(&a_dir), files, "files after check");
    let names: Vec<&str> = files.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        names,
        ["fstab"],
        "check mode wrote more than an empty fstab"
    );
    assert!(files[0].bytes.is_empty());
}
