//! The pipe against real sshd hosts on loopback addresses: deploy places a
//! runner on each host over SSH, exec runs it there over one connection per
//! host, and a host whose sshd is down is reported unreachable.

use std::path::Path;

use rustle_e2e::{events, planned, recap_line, runner_cache, stage, stage_ok};
use rustle_testkit::SshHosts;

const PLAYBOOK: &str = r#"
- name: Runner over SSH
  hosts: test_hosts
  gather_facts: false
  tasks:
    - name: Make the host's directory
      file:
        path: "{{ out }}/{{ inventory_hostname }}"
        state: directory
    - name: Run a command through the runner
      command: echo "hello from {{ inventory_hostname }}"
      register: hello
    - name: Keep what it said
      copy:
        content: "{{ hello.stdout }}\n"
        dest: "{{ out }}/{{ inventory_hostname }}/hello.txt"
"#;

/// A playbook deployed to `hosts` (runners under `<tmp>/remote`, `out` in
/// the inventory as `<tmp>/out`).
struct Deployed {
    tmp: tempfile::TempDir,
    out: std::path::PathBuf,
    /// The runner cache.
    cache: std::path::PathBuf,
    deployed: std::process::Output,
}

fn deploy(hosts: &SshHosts, playbook: &str, deploy_args: &[&str]) -> Deployed {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let inventory = tmp.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        format!(
            "{}\n[test_hosts:vars]\nrustle_remote_dir={}\nout={}\n",
            hosts.inventory_ini(),
            tmp.path().join("remote").display(),
            out.display()
        ),
    )
    .unwrap();
    let book = tmp.path().join("site.yml");
    std::fs::write(&book, playbook).unwrap();
    let cache = runner_cache();
    let envs: &[(&str, &Path)] = &[("RUSTLE_CACHE_DIR", &cache)];
    let planned = planned(&[book.to_str().unwrap(), "-i", inventory.to_str().unwrap()]);
    let deployed = stage_ok("rustle-deploy", deploy_args, envs, &planned);
    Deployed {
        tmp,
        out,
        cache,
        deployed,
    }
}

fn sha256_file(p: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(p)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn deploy_and_run_on_ssh_hosts() {
    let mut hosts = SshHosts::start(2).unwrap();
    let Deployed {
        tmp,
        out,
        cache,
        deployed,
    } = deploy(&hosts, PLAYBOOK, &["--verify"]);
    let remote = tmp.path().join("remote");
    let envs: &[(&str, &Path)] = &[("RUSTLE_CACHE_DIR", &cache)];
    // The document says where each runner is, with its sha256.
    let doc: serde_json::Value = serde_json::from_slice(&deployed.stdout).unwrap();
    assert_eq!(doc["stage"], "deployed");
    for h in hosts.hosts() {
        let entry = &doc["deployment"]["hosts"][&h.name];
        let path = Path::new(entry["path"].as_str().unwrap());
        assert_eq!(path, remote.join(&h.name).join("rustle-runner"));
        assert_eq!(sha256_file(path), entry["sha256"].as_str().unwrap());
        assert_eq!(entry["verified"], true);
    }

    let run = stage("rustle-exec", &[], envs, &deployed.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    for h in hosts.hosts() {
        let said = std::fs::read_to_string(out.join(&h.name).join("hello.txt")).unwrap();
        assert_eq!(said, format!("hello from {}\n", h.name));
        assert_eq!(
            recap_line(&run.stderr, &h.name),
            format!(
                "{} : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
                h.name
            )
        );
    }
    // Linear order: both hosts' results under one banner per task.
    assert_eq!(
        stderr
            .matches("TASK [Run a command through the runner]")
            .count(),
        1,
        "{stderr}"
    );
    let evs = events(&run.stdout);
    assert_eq!(
        evs.iter().filter(|e| e["event"] == "task_result").count(),
        6
    );

    // One host down: it is unreachable, the other still runs, exit code 4.
    hosts.stop(1);
    let run = stage("rustle-exec", &["--timeout", "5"], envs, &deployed.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("fatal: [host2]: UNREACHABLE! =>"),
        "{stderr}"
    );
    assert_eq!(
        recap_line(&run.stderr, "host2"),
        "host2 : ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        recap_line(&run.stderr, "host1"),
        "host1 : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

const SLOW: &str = r#"
- name: Hosts that go away
  hosts: test_hosts
  gather_facts: false
  tasks:
    - name: First
      command: "true"
    - name: Sleep
      command: sleep 3
    - name: Last
      file:
        path: "{{ out }}/{{ inventory_hostname }}.last"
        state: touch
"#;

/// One host's sshd is down before the run and another's is killed while
/// its runner sleeps: the first is unreachable at its first task, the
/// second unreachable at the task it was running, the third finishes, and
/// the exit code is 4.
#[test]
fn hosts_down_before_and_during_the_run() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    let mut hosts = SshHosts::start(3).unwrap();
    let Deployed {
        tmp: _tmp,
        out,
        deployed,
        ..
    } = deploy(&hosts, SLOW, &[]);
    std::fs::create_dir_all(&out).unwrap();

    hosts.stop(0);
    let mut exec = Command::new(rustle_e2e::bin("rustle-exec"))
        .args(["--timeout", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    exec.stdin
        .take()
        .unwrap()
        .write_all(&deployed.stdout)
        .unwrap();
    let mut lines = BufReader::new(exec.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("\"task_start\"") && line.contains("\"host3\"") && line.contains("Sleep") {
            break;
        }
    }
    hosts.stop(2);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let run = exec.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{stderr}");
    assert_eq!(
        recap_line(&run.stderr, "host1"),
        "host1 : ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        recap_line(&run.stderr, "host2"),
        "host2 : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        recap_line(&run.stderr, "host3"),
        "host3 : ok=1 changed=1 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0",
        "{stderr}"
    );
    assert!(
        stderr.contains("fatal: [host3]: UNREACHABLE! =>"),
        "{stderr}"
    );
    assert!(out.join("host2.last").exists());
    assert!(!out.join("host3.last").exists());
    assert!(rest.iter().any(|l| l.contains("\"stats\"")));
}

const KILLED: &str = r#"
- name: A runner dies
  hosts: test_hosts
  gather_facts: false
  tasks:
    - name: Kill the runner on host2
      shell: kill -9 $PPID
      when: inventory_hostname == 'host2'
    - name: After
      command: "true"
"#;

/// A runner killed in the middle of its stretch fails its host at the task
/// it was running, with the runner's own words; the connection is fine, so
/// the host is not unreachable, and the other host finishes.
#[test]
fn a_runner_killed_midway_fails_its_host() {
    let hosts = SshHosts::start(2).unwrap();
    let d = deploy(&hosts, KILLED, &[]);
    let envs: &[(&str, &Path)] = &[("RUSTLE_CACHE_DIR", &d.cache)];
    let run = stage("rustle-exec", &[], envs, &d.deployed.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert_eq!(
        recap_line(&run.stderr, "host1"),
        "host1 : ok=1 changed=1 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    assert_eq!(
        recap_line(&run.stderr, "host2"),
        "host2 : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0",
        "{stderr}"
    );
    let fatal = stderr
        .lines()
        .find(|l| l.starts_with("fatal: [host2]: FAILED!"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(fatal.contains("the runner on this host stopped"), "{fatal}");
}

/// `-o` options in `ansible_ssh_common_args` win over the user's ssh
/// config, as they do on ssh's command line, where Ansible puts them:
/// here the user's config names a user the server refuses, and the
/// inventory's `-o User=` the right one.
#[test]
fn inventory_ssh_options_win_over_the_users_config() {
    let hosts = SshHosts::start(1).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(
        home.join(".ssh/config"),
        "Host *\n  User rustle-no-such-user\n",
    )
    .unwrap();
    let user = &hosts.hosts()[0].user;
    let line = hosts
        .inventory_ini()
        .replace(&format!(" ansible_user={user} "), " ")
        .replace(
            "ansible_ssh_common_args='",
            &format!("ansible_ssh_common_args='-o User={user} "),
        );
    assert!(!line.contains("ansible_user="), "{line}");
    let out = tmp.path().join("out");
    let inventory = tmp.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        format!("{line}\n[all:vars]\nout={}\n", out.display()),
    )
    .unwrap();
    let book = tmp.path().join("site.yml");
    std::fs::write(&book, PLAYBOOK).unwrap();
    let planned = planned(&[book.to_str().unwrap(), "-i", inventory.to_str().unwrap()]);
    let control = tmp.path().join("cp");
    let envs: &[(&str, &Path)] = &[("HOME", &home), ("RUSTLE_CONTROL_DIR", &control)];
    let exec = stage("rustle-exec", &[], envs, &planned);
    let stderr = String::from_utf8_lossy(&exec.stderr);
    assert_eq!(exec.status.code(), Some(0), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(out.join("host1/hello.txt")).unwrap(),
        "hello from host1\n"
    );
    assert!(
        recap_line(&exec.stderr, "host1").contains("ok=3 changed=3 unreachable=0 failed=0"),
        "{stderr}"
    );
}
