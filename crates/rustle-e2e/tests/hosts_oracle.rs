//! How hosts interact, against ansible-playbook: four hosts on this machine
//! (local connection) run playbooks with serial batches, run_once,
//! hostvars, any_errors_fatal, max_fail_percentage and a play where every
//! host fails. Both tools must print the same output (times and the order
//! hosts finish a task aside), the same recap, exit alike and leave the
//! same files.

use rustle_e2e::{comparable, recap, run_ansible, run_rustle_planned, stage_ok, tree};

const INVENTORY: &str = "fixtures/playbooks/hosts/hosts.ini";

/// One playbook run through both tools, each into its own directory.
struct Runs {
    ansible: std::process::Output,
    rustle: std::process::Output,
    a_dir: std::path::PathBuf,
    r_dir: std::path::PathBuf,
    /// Bind it (`_tmp`, not `..`): the directories live as long as it.
    _tmp: tempfile::TempDir,
}

fn run_both(playbook: &str) -> Runs {
    run_both_with(playbook, &[], &[])
}

/// `run_both` with more arguments for both (`-e`) and for ansible-playbook
/// and rustle-plan only (`--limit`).
fn run_both_with(playbook: &str, args: &[&str], plan_args: &[&str]) -> Runs {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&r_dir).unwrap();
    let var = |d: &std::path::Path| format!("out={}", d.display());
    let (a_var, r_var) = (var(&a_dir), var(&r_dir));
    let a_args = [&[playbook, "-i", INVENTORY, "-e", &a_var], args, plan_args].concat();
    let r_args = [&[playbook, "-i", INVENTORY, "-e", &r_var], args].concat();
    Runs {
        ansible: run_ansible(&a_args),
        rustle: run_rustle_planned(&r_args, plan_args),
        a_dir,
        r_dir,
        _tmp: tmp,
    }
}

/// Runs `playbook` through both tools and compares; returns the exit code.
fn same_as_ansible(playbook: &str) -> Option<i32> {
    same_as_ansible_with(playbook, &[], &[])
}

/// `same_as_ansible` with the arguments of `run_both_with`.
fn same_as_ansible_with(playbook: &str, args: &[&str], plan_args: &[&str]) -> Option<i32> {
    let Runs {
        ansible,
        rustle,
        a_dir,
        r_dir,
        _tmp,
        ..
    } = run_both_with(playbook, args, plan_args);
    let a = comparable(&ansible.stdout).replace(&a_dir.display().to_string(), "$OUT");
    let r = comparable(&rustle.stderr).replace(&r_dir.display().to_string(), "$OUT");
    assert!(!recap(&ansible.stdout).is_empty(), "{a}");
    assert_eq!(a, r);
    assert_eq!(recap(&ansible.stdout), recap(&rustle.stderr));
    assert_eq!(ansible.status.code(), rustle.status.code(), "{r}");
    assert_eq!(tree(&a_dir), tree(&r_dir), "the files left behind differ");
    rustle.status.code()
}

#[test]
fn serial_batches_run_once_and_hostvars_match_ansible() {
    assert_eq!(
        same_as_ansible("fixtures/playbooks/hosts/serial.yml"),
        Some(0)
    );
}

/// group_by, add_host and a templated pattern: the plays after them run on
/// the hosts and groups the run made, within the limit.
#[test]
fn hosts_and_groups_made_during_the_run_match_ansible() {
    let book = "fixtures/playbooks/hosts/dynamic.yml";
    assert_eq!(same_as_ansible(book), Some(0));
    let target = ["-e", "target=h1,extra_red"];
    assert_eq!(
        same_as_ansible_with(book, &target, &["--limit", "h1,h2,h3,extra_red"]),
        Some(0)
    );
}

#[test]
fn any_errors_fatal_matches_ansible() {
    assert_eq!(
        same_as_ansible("fixtures/playbooks/hosts/any_errors_fatal.yml"),
        Some(2)
    );
}

#[test]
fn max_fail_percentage_over_the_limit_stops_the_run_as_ansible() {
    assert_eq!(
        same_as_ansible("fixtures/playbooks/hosts/max_fail.yml"),
        Some(2)
    );
}

#[test]
fn max_fail_percentage_within_the_limit_goes_on_as_ansible() {
    assert_eq!(
        same_as_ansible("fixtures/playbooks/hosts/max_fail_ok.yml"),
        Some(2)
    );
}

#[test]
fn a_play_where_every_host_fails_ends_the_run_as_ansible() {
    assert_eq!(
        same_as_ansible("fixtures/playbooks/hosts/all_failed.yml"),
        Some(2)
    );
}

/// `--json-summary`: one document like the ansible.posix.json callback's,
/// with a play entry per serial batch, each host's result under its task,
/// and stats equal to ansible-playbook's recap.
#[test]
fn json_summary_has_a_play_per_batch_and_ansibles_counts() {
    let playbook = "fixtures/playbooks/hosts/serial.yml";
    let tmp = tempfile::tempdir().unwrap();
    let dir = |d: &str| {
        let dir = tmp.path().join(d);
        std::fs::create_dir_all(&dir).unwrap();
        format!("out={}", dir.display())
    };
    let ansible = run_ansible(&[playbook, "-i", INVENTORY, "-e", &dir("a")]);
    let planned = rustle_e2e::planned(&[playbook, "-i", INVENTORY, "-e", &dir("r")]);
    let out = stage_ok("rustle-exec", &["--json-summary"], &[], &planned);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let plays = doc["plays"].as_array().unwrap();
    let names: Vec<&str> = plays
        .iter()
        .map(|p| p["play"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "In batches of two",
            "In batches of two",
            "After the batches"
        ]
    );
    let once = &plays[1]["tasks"][1];
    assert_eq!(once["task"]["name"], "Once per batch");
    let hosts: Vec<&String> = once["hosts"].as_object().unwrap().keys().collect();
    assert_eq!(hosts, ["h3"], "run_once: one host's result");
    assert_eq!(once["hosts"]["h3"]["action"], "command");
    assert_eq!(once["hosts"]["h3"]["stdout"], "h3");
    let stats = doc["stats"].as_object().unwrap();
    let counts: Vec<String> = stats
        .iter()
        .map(|(h, s)| {
            format!(
                "{h} : ok={} changed={} unreachable={} failed={} skipped={} rescued={} ignored={}",
                s["ok"],
                s["changed"],
                s["unreachable"],
                s["failures"],
                s["skipped"],
                s["rescued"],
                s["ignored"]
            )
        })
        .collect();
    assert_eq!(counts, recap(&ansible.stdout));
    assert_eq!(doc["custom_stats"], serde_json::json!({}));
}

#[test]
fn delegate_to_matches_ansible() {
    assert_eq!(
        same_as_ansible("fixtures/playbooks/hosts/delegate.yml"),
        Some(2)
    );
}

/// strategy: free: hosts do not wait for a slow one (their later results
/// come first), and the counts and files are ansible-playbook's.
#[test]
fn free_strategy_does_not_wait_and_counts_as_ansible() {
    let Runs {
        ansible,
        rustle,
        a_dir,
        r_dir,
        _tmp,
        ..
    } = run_both("fixtures/playbooks/hosts/free.yml");
    assert_eq!(recap(&ansible.stdout), recap(&rustle.stderr));
    assert_eq!(rustle.status.code(), Some(0));
    assert_eq!(tree(&a_dir), tree(&r_dir));
    let results: Vec<(String, String)> = rustle_e2e::events(&rustle.stdout)
        .iter()
        .filter(|e| e["event"] == "task_result")
        .map(|e| {
            (
                e["host"].as_str().unwrap().to_owned(),
                e["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pos = |h: &str, t: &str| results.iter().position(|r| r.0 == h && r.1 == t).unwrap();
    assert!(
        pos("h2", "Third") < pos("h1", "Slow on h1"),
        "h2 waited for h1: {results:?}"
    );
}

/// `throttle: 1` runs the task on one host at a time (the hosts' start/end
/// times never overlap) and a rate limit spaces the starts; the counts are
/// ansible-playbook's.
#[test]
fn throttle_and_rate_limit_space_the_hosts() {
    let Runs {
        ansible,
        rustle,
        r_dir,
        _tmp,
        ..
    } = run_both("fixtures/playbooks/hosts/throttle.yml");
    assert_eq!(recap(&ansible.stdout), recap(&rustle.stderr));
    assert_eq!(rustle.status.code(), Some(0));
    let times = |ext: &str| -> Vec<Vec<u128>> {
        let mut v: Vec<Vec<u128>> = ["h1", "h2", "h3", "h4"]
            .iter()
            .map(|h| {
                std::fs::read_to_string(r_dir.join(format!("{h}.{ext}")))
                    .unwrap()
                    .lines()
                    .map(|l| l.parse().unwrap())
                    .collect()
            })
            .collect();
        v.sort();
        v
    };
    let runs = times("t");
    for pair in runs.windows(2) {
        assert!(pair[0][1] <= pair[1][0], "two hosts ran at once: {runs:?}");
    }
    let starts = times("r");
    for pair in starts.windows(2) {
        let gap_ms = (pair[1][0] - pair[0][0]) / 1_000_000;
        assert!(gap_ms >= 400, "starts {gap_ms} ms apart at 2/s: {starts:?}");
    }
}

/// `pause` bypasses the host loop as in ansible-core: the first host runs
/// it (its condition decides) and alone gets the result; the controller's
/// "Pausing for" lines; no waiting for a prompt without a terminal.
#[test]
fn pause_runs_once_on_the_first_host_as_ansible() {
    assert_eq!(
        same_as_ansible("fixtures/playbooks/hosts/pause.yml"),
        Some(0)
    );
}
