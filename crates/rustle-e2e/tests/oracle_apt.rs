//! apt and package against ansible-playbook on this machine's packages,
//! which are machine-global: before each tool's run the test puts `hello`
//! and `sl` in the same starting state (with dpkg and apt-get) and gives
//! `/var/lib/apt/lists` the same old mtime (so `update_cache` with
//! `cache_valid_time` refreshes each time and reports the same), then
//! compares output, diffs, recaps and `dpkg-query` state: a first run with
//! `--diff`, then for installs a `--check --diff` run from the starting
//! state that changes nothing, and for removals a second run that changes
//! nothing. Both packages are purged at the end.

use std::path::{Path, PathBuf};
use std::process::Command;

use rustle_e2e::{comparable, diff_lines, recap, run_ansible, run_rustle_planned};

const PACKAGES: [&str; 2] = ["hello", "sl"];

/// The packages are shared: one test at a time.
static MACHINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn have_apt() -> bool {
    if Path::new("/usr/bin/apt-get").exists() && Path::new("/usr/bin/dpkg-query").exists() {
        return true;
    }
    println!("SKIPPED: apt-get/dpkg-query are not on this machine (not Debian)");
    false
}

fn sh(argv: &[&str]) -> std::process::Output {
    Command::new(argv[0])
        .args(&argv[1..])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap_or_else(|e| panic!("running {argv:?}: {e}"))
}

/// `dpkg-query -W -f '${Status} ${Version}'` for each package.
fn state() -> Vec<String> {
    PACKAGES
        .iter()
        .map(|p| {
            let out = sh(&["dpkg-query", "-W", "-f", "${Status} ${Version}", p]);
            format!("{p}: {}", String::from_utf8_lossy(&out.stdout))
        })
        .collect()
}

fn purge() {
    sh(&["dpkg", "--purge", "hello", "sl"]);
}

fn install_both() {
    let out = sh(&["apt-get", "install", "-y", "-q", "hello", "sl"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same old mtime for apt's lists before each run.
fn age_lists() {
    let out = sh(&["touch", "-d", "@1700000000", "/var/lib/apt/lists"]);
    assert!(out.status.success());
}

/// Purges both packages when the test ends, however it ends.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        purge();
    }
}

/// A downloaded `.deb` of sl (for `deb:`), in a temporary directory.
fn sl_deb(dir: &Path) -> PathBuf {
    let out = Command::new("apt-get")
        .args(["download", "-q", "sl"])
        .current_dir(dir)
        .output()
        .expect("running apt-get download");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a downloaded .deb")
}

/// The passes `compare` makes: the first run (with `--diff`) always, then
/// a second run that must change nothing and/or a `--check --diff` run
/// from the starting state. (Each pass costs ansible-playbook's apt about
/// half a minute; the tests split the later passes between them.)
#[derive(Clone, Copy, PartialEq, Eq)]
enum Passes {
    AndAgain,
    AndChecked,
}

fn compare(book: &str, extra: &[&str], start: fn(), passes: Passes) {
    // Fresh lists first, so neither tool's update downloads new indexes.
    sh(&["apt-get", "update", "-q"]);
    let later: (&[&str], &str) = match passes {
        Passes::AndAgain => (&[], "run 1"),
        Passes::AndChecked => (&["--check", "--diff"], "check"),
    };
    let runs: [(&[&str], &str); 2] = [(&["--diff"], "run 0"), later];
    for (flags, what) in runs {
        let fresh = what != "run 1";
        if fresh {
            start();
        }
        let before = state();
        age_lists();
        let ansible = run_ansible(&[&[book], extra, flags].concat());
        let a_state = state();
        if fresh {
            start();
        }
        age_lists();
        let rustle = run_rustle_planned(&[&[book], extra].concat(), flags);
        let r_state = state();
        let a = comparable(&ansible.stdout);
        let r = comparable(&rustle.stderr);
        assert_eq!(ansible.status.code(), Some(0), "{a}");
        assert_eq!(a, r, "{what}");
        assert_eq!(
            diff_lines(&ansible.stdout),
            diff_lines(&rustle.stderr),
            "diff lines of {what}"
        );
        assert_eq!(recap(&ansible.stdout), recap(&rustle.stderr), "{what}");
        assert_eq!(a_state, r_state, "packages after {what}");
        match what {
            "run 1" => {
                let recap = recap(&rustle.stderr);
                assert!(recap.iter().all(|l| l.contains("changed=0")), "{recap:?}");
            }
            "check" => assert_eq!(r_state, before, "check mode changed packages"),
            _ => {}
        }
    }
}

#[test]
fn apt_installs_match_ansible() {
    if !have_apt() {
        return;
    }
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let _cleanup = Cleanup;
    let tmp = tempfile::tempdir().unwrap();
    let deb = sl_deb(tmp.path());
    let var = format!("deb={}", deb.display());
    compare(
        "fixtures/playbooks/modules/apt.yml",
        &["-e", &var],
        purge,
        Passes::AndChecked,
    );
}

#[test]
fn apt_removals_match_ansible() {
    if !have_apt() {
        return;
    }
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let _cleanup = Cleanup;
    compare(
        "fixtures/playbooks/modules/apt_remove.yml",
        &[],
        install_both,
        Passes::AndAgain,
    );
}
