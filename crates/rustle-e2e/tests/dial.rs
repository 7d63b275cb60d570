//! rustle-connect dials hosts for ssh (ProxyUseFdpass): a host that ssh
//! would reach directly goes through it, a host with a ProxyCommand of its
//! own keeps that, and a refused connection is reported in ssh's words.

use std::path::Path;

use rustle_e2e::{bin, stage, stage_ok};
use rustle_testkit::SshHosts;

const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - copy:
        content: "reached {{ inventory_hostname }}\n"
        dest: "{{ out }}/{{ inventory_hostname }}.txt"
"#;

#[test]
fn direct_hosts_are_dialed_proxied_hosts_keep_their_proxy() {
    let hosts = SshHosts::start(2).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // A connector that logs its arguments, then does its work.
    let log = tmp.path().join("dialed.log");
    let wrapper = tmp.path().join("connect");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$1 $2\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            bin("rustle-connect").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.4:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);

    let [h1, h2] = hosts.hosts() else {
        panic!("two hosts")
    };
    let common = format!(
        "ansible_user={} ansible_ssh_private_key_file={}",
        h1.user,
        hosts.key_path().display()
    );
    let kh = format!("-o UserKnownHostsFile={}", hosts.known_hosts().display());
    // host2 names its own proxy: the connector itself, run by ssh with
    // arguments the wrapper would not log.
    let own_proxy = format!(
        "-o ProxyUseFdpass=yes -o 'ProxyCommand={} %h %p any 1 10 /dev/null'",
        bin("rustle-connect").display()
    );
    let inventory = format!(
        "host1 ansible_host={} ansible_port={} {common} ansible_ssh_common_args='{kh}'\n\
         host2 ansible_host={} ansible_port={} {common} ansible_ssh_common_args=\"{kh} {own_proxy}\"\n\
         host3 ansible_host=127.0.0.4 ansible_port={closed_port} {common} ansible_ssh_common_args='{kh}'\n\
         [all:vars]\nout={}\n",
        h1.address,
        h1.port,
        h2.address,
        h2.port,
        out.display()
    );
    let inv = tmp.path().join("hosts.ini");
    std::fs::write(&inv, inventory).unwrap();
    let book = tmp.path().join("site.yml");
    std::fs::write(&book, PLAYBOOK).unwrap();

    let control = tmp.path().join("cp");
    let envs: &[(&str, &Path)] = &[
        ("RUSTLE_CONNECT", &wrapper),
        ("RUSTLE_CONTROL_DIR", &control),
    ];
    let parsed = stage_ok(
        "rustle-parse",
        &[book.to_str().unwrap(), "-i", inv.to_str().unwrap()],
        envs,
        b"",
    );
    let planned = stage_ok("rustle-plan", &[], envs, &parsed.stdout);
    let ran = stage("rustle-exec", &[], envs, &planned.stdout);
    let text = String::from_utf8_lossy(&ran.stderr);

    assert_eq!(ran.status.code(), Some(4), "{text}");
    for h in ["host1", "host2"] {
        assert_eq!(
            std::fs::read_to_string(out.join(format!("{h}.txt"))).unwrap(),
            format!("reached {h}\n")
        );
    }
    assert!(
        text.contains(&format!(
            "Failed to connect to the host via ssh: ssh: connect to host 127.0.0.4 port {closed_port}: Connection refused"
        )),
        "{text}"
    );
    let mut dialed: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    dialed.sort();
    assert_eq!(
        dialed,
        [
            format!("{} {}", h1.address, h1.port),
            format!("127.0.0.4 {closed_port}"),
        ]
    );
}
