//! One playbook against three real sshd hosts, run three ways: by
//! ansible-playbook, by rustle through deployed runners, and by rustle in
//! SSH mode (no runner: the engine on the controller, task by task over
//! each host's connection). All three must print the same output (times
//! and host order aside), exit alike, leave identical files, and report
//! changed=0 on a second run.

use rustle_e2e::{comparable, recap, run_ansible, run_pipe, tree};
use rustle_testkit::SshHosts;

#[test]
fn runner_mode_ssh_mode_and_ansible_agree_on_three_hosts() {
    three_ways("fixtures/playbooks/ssh/site.yml", true, &|_| {});
}

/// group_by results from deployed runners, the groups they make seen by
/// runners in the next stretches, and a host `add_host` adds (an alias of
/// an SSH host, reached over SSH without a runner).
#[test]
fn groups_and_hosts_made_during_the_run_agree_over_ssh() {
    three_ways("fixtures/playbooks/ssh/dynamic.yml", false, &|out| {
        let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap_or_default();
        assert_eq!(read("alias/who"), "alias alias ['aliases']\n");
        let marks = ["host1", "host2", "host3"].map(|h| read(&format!("{h}/rest")));
        assert_eq!(
            marks.iter().filter(|m| !m.is_empty()).count(),
            2,
            "{marks:?}"
        );
    });
}

/// Jobs on two hosts through deployed runners print what ansible-playbook
/// prints (job ids aside) and leave the same files; SSH mode, which has
/// no process on the host to start a job from, refuses the task.
#[test]
fn async_jobs_run_through_runners_as_in_ansible() {
    let playbook = "fixtures/playbooks/ssh/async.yml";
    let hosts = SshHosts::start(2).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let inventory = rustle_e2e::ssh_inventory(tmp.path(), &hosts.inventory_ini(), false);
    let dirs = ["ansible", "runner", "ssh"].map(|d| tmp.path().join(d));
    let text = |out: &std::path::Path, b: &[u8]| {
        let t = comparable(b).replace(&out.display().to_string(), "$OUT");
        rustle_e2e::without_async_timing(&t)
    };
    let var = format!("out={}", dirs[0].display());
    let a = run_ansible(&[playbook, "-i", inventory.to_str().unwrap(), "-e", &var]);
    let a_text = text(&dirs[0], &a.stdout);
    assert_eq!(a.status.code(), Some(0), "{a_text}");
    let r = run_pipe(playbook, &inventory, &dirs[1], true, &[]);
    assert_eq!(a_text, text(&dirs[1], &r.stderr));
    assert_eq!(r.status.code(), Some(0));
    // The last job outlives the run and its SSH connections.
    for dir in &dirs[..2] {
        let outlived = [dir.join("host1/outlived"), dir.join("host2/outlived")];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !outlived.iter().all(|f| f.exists()) {
            assert!(
                std::time::Instant::now() < deadline,
                "no {}",
                outlived[0].display()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    assert_eq!(tree(&dirs[0]), tree(&dirs[1]));
    let s = run_pipe(playbook, &inventory, &dirs[2], false, &[]);
    let s_text = String::from_utf8_lossy(&s.stderr);
    assert_eq!(s.status.code(), Some(2), "{s_text}");
    assert!(
        s_text.contains("async tasks run only through a runner on the host"),
        "{s_text}"
    );
    assert!(!dirs[2].join("host1/later").exists());
}

/// Runs the playbook by ansible-playbook, rustle with runners and rustle
/// in SSH mode, twice when `idempotent` (the second run must change
/// nothing), and compares; `check` looks at each rustle run's files.
fn three_ways(playbook: &str, idempotent: bool, check: &dyn Fn(&std::path::Path)) {
    let hosts = SshHosts::start(3).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let inventory = rustle_e2e::ssh_inventory(tmp.path(), &hosts.inventory_ini(), true);
    let dirs = ["ansible", "runner", "ssh"].map(|d| tmp.path().join(d));
    let run = |i: usize| {
        let out = &dirs[i];
        let o = match i {
            0 => {
                let var = format!("out={}", out.display());
                let o = run_ansible(&[playbook, "-i", inventory.to_str().unwrap(), "-e", &var]);
                (o.status.code(), o.stdout)
            }
            _ => {
                let o = run_pipe(playbook, &inventory, out, i == 1, &[]);
                (o.status.code(), o.stderr)
            }
        };
        (
            o.0,
            comparable(&o.1).replace(&out.display().to_string(), "$OUT"),
        )
    };
    let passes: &[&str] = if idempotent {
        &["first", "second"]
    } else {
        &["first"]
    };
    for &pass in passes {
        let (a_code, a) = run(0);
        assert_eq!(
            a_code,
            Some(0),
            "ansible-playbook ({pass} run) failed:\n{a}"
        );
        for i in [1, 2] {
            let (code, r) = run(i);
            let mode = if i == 1 { "runner" } else { "SSH" };
            assert_eq!(
                code,
                Some(0),
                "rustle in {mode} mode ({pass} run) failed:\n{r}"
            );
            assert_eq!(a, r, "{mode} mode, {pass} run");
            assert_eq!(
                tree(&dirs[0]),
                tree(&dirs[i]),
                "{mode} mode left other files"
            );
            check(&dirs[i]);
        }
        if pass == "second" {
            for line in recap(a.as_bytes()) {
                assert!(line.contains(" changed=0 "), "not idempotent: {line}");
            }
        }
    }
}
