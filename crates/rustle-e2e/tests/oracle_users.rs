//! user and group run through ansible-playbook and through rustle. The
//! accounts are machine-global, so each tool gets its own names and ids
//! (`rta_*` with ids from 47100 for `out=<tmp>/a`, `rtr_*` from 47600 for
//! `<tmp>/r`, see the playbook); outputs, account lines and homes are
//! compared with those normalised. The test removes its accounts before
//! and after, even when it fails.

use std::path::Path;
use std::process::Command;

use rustle_e2e::oracle::{Tool, run_both};
use rustle_e2e::tree;

const BOOK: &str = "fixtures/playbooks/modules/users.yml";

/// (name prefix, first id) of each tool's accounts.
const ANSIBLE: (&str, u32) = ("rta_", 47100);
const RUSTLE: (&str, u32) = ("rtr_", 47600);

/// Removes the test's users and groups when dropped.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        remove_accounts();
    }
}

fn names(db: &str, prefix: &str) -> Vec<String> {
    std::fs::read_to_string(db)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.split(':').next().map(str::to_owned))
        .collect()
}

fn remove_accounts() {
    for (prefix, _) in [ANSIBLE, RUSTLE] {
        for user in names("/etc/passwd", prefix) {
            let _ = Command::new("userdel").args(["-r", "-f", &user]).output();
        }
        for group in names("/etc/group", prefix) {
            let _ = Command::new("groupdel").arg(&group).output();
        }
    }
}

/// `text` with the tool's name prefix and ids made common.
fn normalise(text: &str, (prefix, base): (&str, u32)) -> String {
    let text = text.replace(prefix, "rtX_");
    let ids = regex::Regex::new(&format!(r"\b{}(\d\d)\b", base / 100)).expect("a valid regex");
    ids.replace_all(&text, "ID$1").into_owned()
}

/// The tool's lines of /etc/passwd, /etc/group and /etc/shadow, normalised
/// (the shadow's day of the last change blanked).
fn accounts(dir: &Path, tool: (&str, u32)) -> Vec<String> {
    let mut out = Vec::new();
    for db in ["/etc/passwd", "/etc/group", "/etc/shadow"] {
        let text = std::fs::read_to_string(db).unwrap_or_default();
        for line in text.lines().filter(|l| l.starts_with(tool.0)) {
            let mut fields: Vec<&str> = line.split(':').collect();
            if db == "/etc/shadow" && fields.len() > 2 {
                fields[2] = "-";
            }
            let line = fields.join(":").replace(&dir.display().to_string(), "$OUT");
            out.push(format!("{db}: {}", normalise(&line, tool)));
        }
    }
    out.sort();
    out
}

/// The files under `dir` with the tool's ids as offsets from its base.
fn homes(dir: &Path, (_, base): (&str, u32)) -> Vec<rustle_e2e::TreeEntry> {
    let local = |id: u32| {
        if (base..base + 100).contains(&id) {
            id - base + 1_000_000
        } else {
            id
        }
    };
    tree(dir)
        .into_iter()
        .map(|mut e| {
            e.owner = (local(e.owner.0), local(e.owner.1));
            e
        })
        .collect()
}

struct Runs {
    a_dir: std::path::PathBuf,
    r_dir: std::path::PathBuf,
}

impl Runs {
    /// Runs the playbook through both tools with `args` (`--check`,
    /// `--tags state`), checks both succeed with the same normalised
    /// output, and returns their recaps.
    fn both(&self, args: &[&str], what: &str) -> (Vec<String>, Vec<String>) {
        let dirs = (self.a_dir.as_path(), self.r_dir.as_path());
        run_both(BOOK, dirs, args, what, &|tool, text| match tool {
            Tool::Ansible => normalise(text, ANSIBLE),
            Tool::Rustle => normalise(text, RUSTLE),
        })
    }

    fn same_state(&self, what: &str) {
        assert_eq!(
            accounts(&self.a_dir, ANSIBLE),
            accounts(&self.r_dir, RUSTLE),
            "accounts after {what}"
        );
        assert_eq!(
            homes(&self.a_dir, ANSIBLE),
            homes(&self.r_dir, RUSTLE),
            "homes after {what}"
        );
    }
}

#[test]
fn users_and_groups_match_ansible() {
    let _cleanup = Cleanup;
    remove_accounts();
    let tmp = tempfile::tempdir().unwrap();
    let runs = Runs {
        a_dir: tmp.path().join("a"),
        r_dir: tmp.path().join("r"),
    };

    // Everything: creation, changes, failures, removal.
    runs.both(&[], "the full run");
    runs.same_state("the full run");
    assert!(!accounts(&runs.a_dir, ANSIBLE).is_empty());

    // The declared state converges, then changes nothing.
    runs.both(&["--tags", "state"], "converging");
    runs.same_state("converging");
    let (a, r) = runs.both(&["--tags", "state"], "converged");
    assert!(a.iter().all(|l| l.contains("changed=0")), "{a:?}");
    assert!(r.iter().all(|l| l.contains("changed=0")), "{r:?}");
    runs.same_state("converged");

    // --check over existing accounts predicts as Ansible and changes nothing.
    let before = (
        accounts(&runs.a_dir, ANSIBLE),
        accounts(&runs.r_dir, RUSTLE),
    );
    runs.both(&["--check"], "--check over existing accounts");
    let after = (
        accounts(&runs.a_dir, ANSIBLE),
        accounts(&runs.r_dir, RUSTLE),
    );
    assert_eq!(before, after, "check mode changed accounts");
    runs.same_state("--check");

    // --check from nothing: the same predictions, nothing created.
    remove_accounts();
    std::fs::remove_dir_all(&runs.a_dir).unwrap();
    std::fs::remove_dir_all(&runs.r_dir).unwrap();
    runs.both(&["--check"], "--check from nothing");
    assert!(
        accounts(&runs.r_dir, RUSTLE).is_empty(),
        "check mode made accounts"
    );
    assert!(!runs.r_dir.exists(), "check mode wrote files");
}
