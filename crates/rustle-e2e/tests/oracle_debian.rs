//! debconf and dpkg_selections against ansible-playbook. Both change
//! machine-wide state, so each run is compared on what it printed (output,
//! `--diff` hunks, recap) and on the state it left:
//!
//! - debconf: each tool answers questions of its own made-up package
//!   (`rustle-oracle-debconf-a` for ansible-playbook's run with
//!   `out=.../a`, `-r` for rustle's), purged (`PURGE` through
//!   `debconf-communicate`) before the test and when it ends however it
//!   ends; after each run both packages' answers (`debconf-show`, seen
//!   marks included, and `debconf-get-selections`, types and passwords
//!   included) must match. Runs: `--diff` from nothing (the fixture sets
//!   each answer twice, the second time changing nothing), then
//!   `--check --diff` on what it left, which must change nothing.
//! - dpkg_selections: an installed package no other test installs or
//!   removes ([`PACKAGE`]) is held and set back to install; after each run
//!   its selection must be `install` again, and a guard puts back the
//!   selection it had when the test ends, however it ends. Runs: `--diff`
//!   (each selection set twice), then `--check --diff`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use rustle_e2e::{comparable, diff_lines, recap, run_ansible, run_rustle_planned};

/// Runs `argv` with `stdin`, without a terminal for debconf to ask on.
fn sh(argv: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {argv:?}: {e}"));
    let mut input = child.stdin.take().expect("piped stdin");
    input.write_all(stdin.as_bytes()).expect("writing stdin");
    drop(input);
    child.wait_with_output().expect("waiting for a command")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One run through both tools with `-e out=<dir>` and `extra`, `flags`
/// for both: both succeed and print the same output and diff hunks once
/// `normalise` has made each tool's own names common.
fn compare(
    book: &str,
    (a_dir, r_dir): (&Path, &Path),
    extra: &[&str],
    flags: &[&str],
    what: &str,
    normalise: &dyn Fn(&str, &Path) -> String,
) {
    let a_var = format!("out={}", a_dir.display());
    let r_var = format!("out={}", r_dir.display());
    let ansible = run_ansible(&[&[book, "-e", &a_var], extra, flags].concat());
    let rustle = run_rustle_planned(&[&[book, "-e", &r_var], extra].concat(), flags);
    let a = normalise(&comparable(&ansible.stdout), a_dir);
    let r = normalise(&comparable(&rustle.stderr), r_dir);
    assert_eq!(
        ansible.status.code(),
        Some(0),
        "ansible-playbook ({what}):\n{a}"
    );
    assert_eq!(a, r, "{what}");
    assert_eq!(rustle.status.code(), Some(0), "rustle ({what}):\n{r}");
    let a_diff = normalise(&diff_lines(&ansible.stdout).join("\n"), a_dir);
    let r_diff = normalise(&diff_lines(&rustle.stderr).join("\n"), r_dir);
    assert_eq!(a_diff, r_diff, "diff lines of {what}");
    assert_eq!(recap(&ansible.stdout), recap(&rustle.stderr), "{what}");
}

/// The made-up package whose questions the run with `out=dir` answers
/// (the playbook's `owner`).
fn owner(dir: &Path) -> String {
    let tool = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    format!("rustle-oracle-debconf-{tool}")
}

/// Removes every question of `owner` from the debconf database; whether
/// it could.
fn purge(owner: &str) -> bool {
    let out = sh(&["debconf-communicate", owner], "PURGE\n");
    if !out.status.success() {
        eprintln!("debconf-communicate {owner}: {out:?}");
    }
    out.status.success()
}

/// Purges the test's packages now and when dropped.
struct Purged(Vec<String>);

impl Purged {
    fn new(owners: Vec<String>) -> Purged {
        for owner in &owners {
            assert!(purge(owner), "purging {owner}");
        }
        Purged(owners)
    }
}

impl Drop for Purged {
    fn drop(&mut self) {
        // No panic here: the test may be failing already.
        for owner in &self.0 {
            purge(owner);
        }
    }
}

/// `owner`'s answers: `debconf-show` lines (the `*` of seen ones kept) and
/// `debconf-get-selections` lines (types, and passwords in clear), sorted,
/// the owner named `$OWNER`.
fn answers(owner: &str) -> Vec<String> {
    let show = sh(&["debconf-show", owner], "");
    assert!(show.status.success(), "debconf-show {owner}: {show:?}");
    let all = sh(&["debconf-get-selections"], "");
    assert!(all.status.success(), "debconf-get-selections: {all:?}");
    let all = text(&all);
    let own = all.lines().filter(|l| l.starts_with(&format!("{owner}\t")));
    let mut lines: Vec<String> = text(&show)
        .lines()
        .chain(own)
        .map(|l| l.replace(owner, "$OWNER"))
        .collect();
    lines.sort();
    lines
}

/// debconf-utils (`debconf-get-selections`, which the module needs for
/// passwords), which scripts/install-test-deps installs.
fn have_debconf_utils() {
    assert!(
        Path::new("/usr/bin/debconf-get-selections").exists(),
        "debconf-get-selections is missing: run scripts/install-test-deps"
    );
}

#[test]
fn debconf_matches_ansible() {
    have_debconf_utils();
    let book = "fixtures/playbooks/modules/debconf.yml";
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    let (a_owner, r_owner) = (owner(&a_dir), owner(&r_dir));
    let _purged = Purged::new(vec![a_owner.clone(), r_owner.clone()]);
    let normalise = |text: &str, dir: &Path| text.replace(&owner(dir), "$OWNER");
    let runs: [(&[&str], &str); 2] = [(&["--diff"], "run 0"), (&["--check", "--diff"], "check")];
    for (flags, what) in runs {
        let before = answers(&r_owner);
        compare(book, (&a_dir, &r_dir), &[], flags, what, &normalise);
        let after = answers(&r_owner);
        assert_eq!(answers(&a_owner), after, "answers after {what}");
        if what == "check" {
            assert_eq!(after, before, "check mode changed answers");
        } else {
            assert!(
                after.contains(&"$OWNER\t$OWNER/secret\tpassword\tother".to_owned()),
                "{after:?}"
            );
        }
    }
}

/// An installed package no other test installs or removes.
const PACKAGE: &str = "hostname";

/// `dpkg --get-selections PACKAGE`'s selection.
fn selection() -> String {
    let out = sh(&["dpkg", "--get-selections", PACKAGE], "");
    text(&out)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

/// Puts back the package's selection when dropped.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        let line = format!("{PACKAGE} {}\n", self.0);
        let out = sh(&["dpkg", "--set-selections"], &line);
        // No panic here: the test may be failing already.
        if !out.status.success() {
            eprintln!("restoring the selection of {PACKAGE}: {out:?}");
        }
    }
}

#[test]
fn dpkg_selections_match_ansible() {
    assert!(Path::new("/usr/bin/dpkg").exists(), "dpkg is missing");
    let original = selection();
    assert_eq!(original, "install", "{PACKAGE} must be installed");
    let _restore = Restore(original);
    let book = "fixtures/playbooks/modules/dpkg_selections.yml";
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    let pkg = format!("pkg={PACKAGE}");
    let runs: [(&[&str], &str); 2] = [(&["--diff"], "run 0"), (&["--check", "--diff"], "check")];
    for (flags, what) in runs {
        compare(
            book,
            (&a_dir, &r_dir),
            &["-e", &pkg],
            flags,
            what,
            &|text, _| text.to_owned(),
        );
        assert_eq!(selection(), "install", "{PACKAGE} after {what}");
    }
}
