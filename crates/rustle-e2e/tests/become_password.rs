//! become with a password, over SSH as an unprivileged user
//! (`rustle-become`, whose sudo rule asks for its own password; made by
//! scripts/install-test-deps): ansible-playbook with
//! `--become-password-file`, rustle through deployed runners with
//! `ansible_become_password` in the inventory (which must not end up in
//! the runner placed on the host), and rustle in SSH mode with the
//! password file must print the same output and leave the same root-owned
//! files. A wrong password fails the task with Ansible's words. A
//! vault-encrypted `ansible_become_password` (inline `!vault` in
//! host_vars) stays encrypted in the runner and is decrypted with exec's
//! `--vault-password-file`, with the same result. `async` jobs with
//! become run as root, their records in root's home, as in Ansible.

use std::os::unix::fs::{PermissionsExt, chown};
use std::path::Path;

use rustle_e2e::{comparable, run_ansible, run_pipe};
use rustle_testkit::SshHosts;

const PLAYBOOK: &str = "fixtures/playbooks/become_password/site.yml";
const USER: &str = "rustle-become";
/// Its password, as scripts/install-test-deps sets it.
const PASSWORD: &str = "rustle-become-pw";

fn uid_of(user: &str) -> u32 {
    let out = std::process::Command::new("id")
        .args(["-u", user])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "no user {user}: run scripts/install-test-deps"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn rustle(
    inventory: &Path,
    out: &Path,
    deploy: bool,
    exec_args: &[&str],
) -> (Option<i32>, Vec<u8>) {
    let o = run_pipe(PLAYBOOK, inventory, out, deploy, exec_args);
    (o.status.code(), o.stderr)
}

#[test]
fn become_password_from_a_file_or_the_inventory_as_ansible() {
    let uid = uid_of(USER);
    let hosts = SshHosts::start(1).unwrap();
    hosts.open_to_all_users().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let remote = tmp.path().join("remote");
    std::fs::create_dir(&remote).unwrap();
    chown(&remote, Some(uid), Some(uid)).unwrap();
    let base = format!(
        "{}\n[all:vars]\nrustle_remote_dir={}\nansible_python_interpreter=/usr/bin/python3\nansible_pipelining=true\n",
        hosts.inventory_ini_as(USER),
        remote.display()
    );
    let inventory = tmp.path().join("hosts.ini");
    std::fs::write(&inventory, &base).unwrap();
    let with_password = tmp.path().join("with-password.ini");
    std::fs::write(
        &with_password,
        format!("{base}ansible_become_password={PASSWORD}\n"),
    )
    .unwrap();
    let password_file = tmp.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let file_arg = ["--become-password-file", password_file.to_str().unwrap()];

    let dirs = ["ansible", "runner", "ssh"].map(|d| tmp.path().join(d));
    let ansible = {
        let var = format!("out={}", dirs[0].display());
        let inv = inventory.to_str().unwrap();
        let o = run_ansible(&[&[PLAYBOOK, "-i", inv, "-e", &var][..], &file_arg].concat());
        (o.status.code(), o.stdout)
    };
    let runs = [
        ansible,
        rustle(&with_password, &dirs[1], true, &[]),
        rustle(&inventory, &dirs[2], false, &file_arg),
    ];
    // The inventory's password reached the runner on its stdin, never the
    // runner placed on the host: neither its bytes nor its embedded slice.
    let mut payloads = 0;
    for file in walk(&remote) {
        let bytes = std::fs::read(&file).unwrap();
        let holds = |b: &[u8]| b.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes());
        assert!(!holds(&bytes), "{} holds the password", file.display());
        if let Ok(payload) = rustle_payload::read_embedded_file(&file) {
            payloads += 1;
            let slice = payload.slice.to_json();
            assert!(
                !holds(&slice),
                "the slice in {} holds the password",
                file.display()
            );
        }
    }
    assert_eq!(payloads, 1, "one runner under {}", remote.display());
    let shown: Vec<String> = runs
        .iter()
        .zip(&dirs)
        .map(|((_, text), dir)| comparable(text).replace(&dir.display().to_string(), "$OUT"))
        .collect();
    assert_eq!(runs[0].0, Some(0), "ansible-playbook:\n{}", shown[0]);
    assert!(
        shown[0].contains("root / stdin reaches the task"),
        "{}",
        shown[0]
    );
    assert!(shown[0].contains("Incorrect sudo password"), "{}", shown[0]);
    for (i, mode) in [(1, "runner"), (2, "ssh")] {
        assert_eq!(shown[0], shown[i], "{mode} mode");
        assert_eq!(runs[i].0, runs[0].0, "{mode} mode exit code");
        let file = dirs[i].join("host1.txt");
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::uid(&meta),
            0,
            "{mode}: owner"
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"root's\n");
    }

    // async jobs as root: started through sudo with the password, they
    // and their records are root's, as ansible-core's are.
    let book = "fixtures/playbooks/become_password/async.yml";
    let text = |b: &[u8]| rustle_e2e::without_async_timing(&comparable(b));
    let inv = inventory.to_str().unwrap();
    let a = run_ansible(&[&[book, "-i", inv, "-e", "out=unused"][..], &file_arg].concat());
    let r = rustle_e2e::run_pipe(book, &with_password, &dirs[1], true, &[]);
    let a_text = text(&a.stdout);
    assert_eq!(a.status.code(), Some(0), "{a_text}");
    assert!(
        a_text.contains("root root /root/.ansible_async/JID"),
        "{a_text}"
    );
    assert_eq!(a_text, text(&r.stderr));
    assert_eq!(r.status.code(), Some(0));

    // A vaulted become password in host_vars beside the inventory.
    let vaulted_inv = tmp.path().join("vaulted-inventory");
    std::fs::create_dir_all(vaulted_inv.join("host_vars")).unwrap();
    let vaulted = vaulted_inv.join("hosts.ini");
    std::fs::write(&vaulted, &base).unwrap();
    let vault_file = rustle_e2e::root().join("fixtures/playbooks/vault/vault-pass.txt");
    let secret = rustle_format::VaultSecret {
        label: "default".into(),
        password: rustle_vault::read_password_file(&vault_file).unwrap(),
    };
    let text = rustle_vault::encrypt(PASSWORD.as_bytes(), &secret).unwrap();
    let indented: String = text.lines().map(|l| format!("  {l}\n")).collect();
    std::fs::write(
        vaulted_inv.join("host_vars/host1.yml"),
        format!("ansible_become_password: !vault |\n{indented}"),
    )
    .unwrap();
    let out = tmp.path().join("vaulted");
    let vault_arg = ["--vault-password-file", vault_file.to_str().unwrap()];
    let (code, text) = rustle(&vaulted, &out, true, &vault_arg);
    let shown_vaulted = comparable(&text).replace(&out.display().to_string(), "$OUT");
    assert_eq!(shown[0], shown_vaulted, "vaulted become password");
    assert_eq!(code, runs[0].0, "vaulted become password exit code");
    let meta = std::fs::metadata(out.join("host1.txt")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
    let runner = walk(&remote)
        .into_iter()
        .find_map(|f| rustle_payload::read_embedded_file(&f).ok())
        .expect("a runner on the host");
    let slice = runner.slice.to_json();
    assert!(
        !slice
            .windows(PASSWORD.len())
            .any(|w| w == PASSWORD.as_bytes()),
        "the slice holds the decrypted password"
    );

    // No password at all: "Missing sudo password" in both.
    let var = format!("out={}", dirs[0].display());
    let a = run_ansible(&[PLAYBOOK, "-i", inventory.to_str().unwrap(), "-e", &var]);
    let r = rustle(&inventory, &dirs[1], true, &[]);
    let a_text = comparable(&a.stdout).replace(&dirs[0].display().to_string(), "$OUT");
    let r_text = comparable(&r.1).replace(&dirs[1].display().to_string(), "$OUT");
    assert!(a_text.contains("Missing sudo password"), "{a_text}");
    assert_eq!(a_text, r_text);
    assert_eq!(a.status.code(), r.0);
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
