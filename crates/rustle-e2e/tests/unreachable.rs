//! Hosts that cannot be reached, each for its own reason, beside one that
//! can: a user the server refuses (authentication failure), a host key
//! that does not match `known_hosts`, and a server that accepts TCP but
//! never speaks SSH (a timeout, from `ansible_ssh_timeout`). Like
//! ansible-playbook, rustle marks each UNREACHABLE with ssh's words,
//! finishes the good host and exits 4; both print the same `fatal:` lines
//! and recap.

use std::net::TcpListener;

use rustle_e2e::{recap, run_ansible, stage, stage_ok};
use rustle_testkit::SshHosts;

const PLAYBOOK: &str = r#"
- name: Some hosts cannot be reached
  hosts: all
  gather_facts: false
  tasks:
    - name: A file per host
      file:
        path: "{{ out }}/{{ inventory_hostname }}"
        state: touch
"#;

#[test]
fn auth_failure_host_key_mismatch_and_timeout_are_unreachable() {
    let hosts = SshHosts::start(3).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // A listener that completes TCP handshakes (the kernel's backlog) and
    // never sends an SSH banner.
    let silent = TcpListener::bind("127.0.0.5:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();

    // host3's known_hosts holds host1's key under host3's address.
    let known = std::fs::read_to_string(hosts.known_hosts()).unwrap();
    let (h1, h3) = (&hosts.hosts()[0], &hosts.hosts()[2]);
    let h1_line = known
        .lines()
        .find(|l| l.starts_with(&format!("[{}]:{} ", h1.address, h1.port)))
        .unwrap();
    let wrong = tmp.path().join("wrong_known_hosts");
    std::fs::write(
        &wrong,
        h1_line.replace(
            &format!("[{}]:{}", h1.address, h1.port),
            &format!("[{}]:{}", h3.address, h3.port),
        ) + "\n",
    )
    .unwrap();

    let mut inventory = String::new();
    for line in hosts.inventory_ini().lines() {
        let line = if line.starts_with("host2 ") {
            line.replace(
                &format!(" ansible_user={} ", h1.user),
                " ansible_user=rustle-no-such-user ",
            )
        } else if line.starts_with("host3 ") {
            line.replace(
                &hosts.known_hosts().display().to_string(),
                &wrong.display().to_string(),
            )
        } else {
            line.to_owned()
        };
        inventory.push_str(&line);
        inventory.push('\n');
    }
    inventory.push_str(&format!(
        "host4 ansible_host=127.0.0.5 ansible_port={silent_port} ansible_ssh_timeout=2 \
         ansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'\n",
        hosts.known_hosts().display()
    ));
    inventory.push_str("[all:vars]\nansible_python_interpreter=/usr/bin/python3\n");
    let inv = tmp.path().join("hosts.ini");
    std::fs::write(&inv, inventory).unwrap();
    let book = tmp.path().join("site.yml");
    std::fs::write(&book, PLAYBOOK).unwrap();
    let (inv, book) = (inv.to_str().unwrap(), book.to_str().unwrap());

    let a_out = format!("out={}", tmp.path().join("a").display());
    let r_out = format!("out={}", tmp.path().join("r").display());
    std::fs::create_dir_all(tmp.path().join("a")).unwrap();
    std::fs::create_dir_all(tmp.path().join("r")).unwrap();
    let ansible = run_ansible(&[book, "-i", inv, "-e", &a_out]);
    let parsed = stage_ok("rustle-parse", &[book, "-i", inv, "-e", &r_out], &[], b"");
    let planned = stage_ok("rustle-plan", &[], &[], &parsed.stdout);
    let rustle = stage("rustle-exec", &[], &[], &planned.stdout);
    drop(silent);

    let text = String::from_utf8_lossy(&rustle.stderr);
    assert_eq!(ansible.status.code(), Some(4));
    assert_eq!(rustle.status.code(), Some(4), "{text}");
    assert_eq!(recap(&ansible.stdout), recap(&rustle.stderr), "{text}");
    assert!(tmp.path().join("r/host1").exists());
    let fatal = |out: &[u8]| {
        let mut lines: Vec<String> = String::from_utf8_lossy(out)
            .lines()
            .filter(|l| l.starts_with("fatal: ["))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    let lines = fatal(&rustle.stderr);
    assert_eq!(fatal(&ansible.stdout), lines, "the UNREACHABLE lines");
    for (line, why) in lines.iter().zip([
        "Permission denied",
        "Host key verification failed",
        "timed out",
    ]) {
        assert!(line.contains(why), "{line}");
    }
}
