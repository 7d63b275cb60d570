//! One playbook against three real sshd hosts, run three ways: by
//! ansible-playbook, by rustle through deployed runners, and by rustle in
//! SSH mode (no runner: the engine on the controller, task by task over
//! each host's connection). All three must print the same output (times
//! and host order aside), exit alike, leave identical files, and report
//! changed=0 on a second run.

use rustle_e2e::{comparable, recap, run_ansible, run_pipe, tree};
use rustle_testkit::SshHosts;

const PLAYBOOK: &str = "fixtures/playbooks/ssh/site.yml";

#[test]
fn runner_mode_ssh_mode_and_ansible_agree_on_three_hosts() {
    let hosts = SshHosts::start(3).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let inventory = tmp.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        format!(
            "{}\n[all:vars]\nrustle_remote_dir={}\nansible_python_interpreter=/usr/bin/python3\nansible_pipelining=true\n",
            hosts.inventory_ini(),
            tmp.path().join("remote").display()
        ),
    )
    .unwrap();
    let dirs = ["ansible", "runner", "ssh"].map(|d| tmp.path().join(d));
    let run = |i: usize| {
        let out = &dirs[i];
        let o = match i {
            0 => {
                let var = format!("out={}", out.display());
                let o = run_ansible(&[PLAYBOOK, "-i", inventory.to_str().unwrap(), "-e", &var]);
                (o.status.code(), o.stdout)
            }
            _ => {
                let o = run_pipe(PLAYBOOK, &inventory, out, i == 1, &[]);
                (o.status.code(), o.stderr)
            }
        };
        (
            o.0,
            comparable(&o.1).replace(&out.display().to_string(), "$OUT"),
        )
    };
    for pass in ["first", "second"] {
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
        }
        if pass == "second" {
            for line in recap(a.as_bytes()) {
                assert!(line.contains(" changed=0 "), "not idempotent: {line}");
            }
        }
    }
}
