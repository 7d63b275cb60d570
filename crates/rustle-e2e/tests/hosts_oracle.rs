//! How hosts interact, against ansible-playbook: four hosts on this machine
//! (local connection) run playbooks with serial batches, run_once,
//! hostvars, any_errors_fatal, max_fail_percentage and a play where every
//! host fails. Both tools must print the same output (times and the order
//! hosts finish a task aside), the same recap, exit alike and leave the
//! same files.

use rustle_e2e::{comparable, recap, run_ansible, run_rustle, tree};

const INVENTORY: &str = "fixtures/playbooks/hosts/hosts.ini";

/// Runs `playbook` through both tools and compares; returns the exit code.
fn same_as_ansible(playbook: &str) -> Option<i32> {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&r_dir).unwrap();
    let a_var = format!("out={}", a_dir.display());
    let r_var = format!("out={}", r_dir.display());
    let ansible = run_ansible(&[playbook, "-i", INVENTORY, "-e", &a_var]);
    let rustle = run_rustle(&[playbook, "-i", INVENTORY, "-e", &r_var]);
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
