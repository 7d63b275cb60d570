//! Ansible Vault end to end, on one sshd host: a playbook with an inline
//! `!vault` variable, an encrypted `vars_files` file (a string, an int, a
//! dict), an encrypted `group_vars` file, a vaulted module argument, an
//! encrypted `copy` source and `template`, and a `no_log` task, run by ansible-playbook with `--vault-password-file` and
//! by rustle through a deployed runner and in SSH mode with the same flag:
//! the same output, exit code and files. No decrypted secret reaches the
//! parse, plan or deploy documents, the runner placed on the host, or a
//! `no_log` event. A wrong or missing password fails clearly, as in
//! Ansible, before anything is written on the host.

use std::path::{Path, PathBuf};

use rustle_e2e::{comparable, root, run_ansible, runner_cache, stage, stage_ok, tree};
use rustle_testkit::SshHosts;

const PLAYBOOK: &str = "fixtures/playbooks/vault/site.yml";
const PASSWORD_FILE: &str = "fixtures/playbooks/vault/vault-pass.txt";
const WRONG_FILE: &str = "fixtures/playbooks/vault/wrong-pass.txt";
/// The decrypted values, none of which the playbook spells out.
const SECRETS: &[&str] = &[
    "tok-123",
    "s3cr3t-db!",
    "from-group-vars",
    "inline content",
    "a secret file",
    "encrypted template for",
];

/// The documents one rustle run went through, and exec's output.
struct Run {
    docs: Vec<Vec<u8>>,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// rustle-parse (with `parse_vault`) | rustle-plan | [rustle-deploy] |
/// rustle-exec (with `exec_vault`).
fn rustle(
    inventory: &Path,
    out: &Path,
    deploy: bool,
    parse_vault: &[&str],
    exec_vault: &[&str],
) -> Run {
    let var = format!("out={}", out.display());
    let inv = inventory.to_str().unwrap();
    let parse_args = [&[PLAYBOOK, "-i", inv, "-e", &var][..], parse_vault].concat();
    let parsed = stage_ok("rustle-parse", &parse_args, &[], b"").stdout;
    let planned = stage_ok("rustle-plan", &[], &[], &parsed).stdout;
    let cache = runner_cache();
    let envs: &[(&str, &Path)] = &[("RUSTLE_CACHE_DIR", &cache)];
    let mut docs = vec![parsed, planned];
    if deploy {
        let deployed = stage_ok("rustle-deploy", &[], envs, &docs[1]).stdout;
        docs.push(deployed);
    }
    let o = stage("rustle-exec", exec_vault, envs, docs.last().unwrap());
    Run {
        docs,
        code: o.status.code(),
        stdout: o.stdout,
        stderr: o.stderr,
    }
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

fn assert_no_secret(bytes: &[u8], what: &str) {
    for secret in SECRETS {
        assert!(!holds(bytes, secret), "{what} holds the secret {secret:?}");
    }
}

#[test]
fn vaulted_playbook_as_ansible_in_runner_and_ssh_mode() {
    let hosts = SshHosts::start(1).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("remote");
    let inventory = rustle_e2e::ssh_inventory(tmp.path(), &hosts.inventory_ini(), true);
    let inv = inventory.to_str().unwrap();
    let password = root().join(PASSWORD_FILE);
    let vault: &[&str] = &["--vault-password-file", password.to_str().unwrap()];
    let dirs = ["ansible", "runner", "ssh"].map(|d| tmp.path().join(d));

    let a_var = format!("out={}", dirs[0].display());
    let ansible = run_ansible(&[&[PLAYBOOK, "-i", inv, "-e", &a_var][..], vault].concat());
    let a = comparable(&ansible.stdout).replace(&dirs[0].display().to_string(), "$OUT");
    assert_eq!(ansible.status.code(), Some(0), "ansible-playbook:\n{a}");
    assert!(a.contains("\"db_port\": 5432"), "{a}");

    for (i, deploy, mode) in [(1, true, "runner"), (2, false, "SSH")] {
        let run = rustle(&inventory, &dirs[i], deploy, vault, vault);
        let r = comparable(&run.stderr).replace(&dirs[i].display().to_string(), "$OUT");
        assert_eq!(run.code, Some(0), "rustle in {mode} mode:\n{r}");
        assert_eq!(a, r, "{mode} mode output");
        assert_eq!(tree(&dirs[0]), tree(&dirs[i]), "{mode} mode files");
        for (doc, stage) in run.docs.iter().zip(["parse", "plan", "deploy"]) {
            assert_no_secret(doc, &format!("the {stage} document ({mode} mode)"));
        }
        // The no_log task's event is censored.
        assert!(!holds(&run.stdout, "the password is"), "{mode} mode events");
        assert!(holds(&run.stdout, "censored"), "{mode} mode events");
    }
    // The files hold the secrets (so the checks above could fail).
    let conf = std::fs::read_to_string(dirs[1].join("host1.conf")).unwrap();
    assert!(
        conf.contains("password = s3cr3t-db!\nport = 5432\ntoken = tok-123\n"),
        "{conf}"
    );
    let copied = std::fs::read_to_string(dirs[1].join("host1.secret")).unwrap();
    assert_eq!(copied, "a secret file\n");

    // The runner placed on the host holds no secret, in its bytes or its
    // embedded slice.
    let mut payloads = 0;
    for file in walk(&remote) {
        let bytes = std::fs::read(&file).unwrap();
        assert_no_secret(&bytes, &file.display().to_string());
        if let Ok(payload) = rustle_payload::read_embedded_file(&file) {
            payloads += 1;
            assert_no_secret(&payload.slice.to_json(), "the embedded slice");
        }
    }
    assert_eq!(payloads, 1, "one runner under {}", remote.display());
}

#[test]
fn wrong_or_missing_vault_password_fails_clearly_and_writes_nothing() {
    let hosts = SshHosts::start(1).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let inventory = rustle_e2e::ssh_inventory(tmp.path(), &hosts.inventory_ini(), false);
    let inv = inventory.to_str().unwrap();
    let out = tmp.path().join("out");
    let var = format!("out={}", out.display());
    let wrong = root().join(WRONG_FILE);
    let wrong: &[&str] = &["--vault-password-file", wrong.to_str().unwrap()];
    let cases: [(&[&str], &str); 2] = [
        (
            wrong,
            "Decryption failed (no vault secrets were found that could decrypt)",
        ),
        (&[], "Attempting to decrypt but no vault secrets found"),
    ];
    for (vault, message) in cases {
        let a = run_ansible(&[&[PLAYBOOK, "-i", inv, "-e", &var][..], vault].concat());
        let a_text =
            String::from_utf8_lossy(&a.stdout).into_owned() + &String::from_utf8_lossy(&a.stderr);
        assert_eq!(a.status.code(), Some(1), "{a_text}");
        assert!(a_text.contains(message), "{a_text}");
        let r = stage(
            "rustle-parse",
            &[&[PLAYBOOK, "-i", inv, "-e", &var][..], vault].concat(),
            &[],
            b"",
        );
        let r_text = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{r_text}");
        assert!(r_text.contains(message), "{r_text}");
        assert!(
            r_text.contains("fixtures/playbooks/vault/secrets.yml"),
            "{r_text}"
        );
        assert!(r.stdout.is_empty(), "a failed parse writes no document");
        assert!(!out.exists(), "nothing is written on the host");
    }

    // Parsed with the password, run without it: the first task that reads
    // a vaulted value fails, naming the problem, and nothing is written.
    let password = root().join(PASSWORD_FILE);
    let vault = ["--vault-password-file", password.to_str().unwrap()];
    let run = rustle(&inventory, &out, false, &vault, &[]);
    let r = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.code, Some(2), "{r}");
    assert!(
        r.contains("Attempting to decrypt but no vault secrets found"),
        "{r}"
    );
    assert!(!out.exists(), "nothing is written on the host");
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// What rustle-vault writes, the real `ansible-vault view` opens with the
/// same password.
#[test]
fn ansible_vault_opens_what_rustle_writes() {
    let vault = rustle_e2e::ansible_playbook().with_file_name("ansible-vault");
    let dir = tempfile::tempdir().unwrap();
    let secret = rustle_format::VaultSecret {
        label: "default".into(),
        password: rustle_vault::read_password_file(&root().join(PASSWORD_FILE)).unwrap(),
    };
    let file = dir.path().join("enc.txt");
    std::fs::write(
        &file,
        rustle_vault::encrypt(b"from rustle\n", &secret).unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new(vault)
        .args(["view", "--vault-password-file"])
        .arg(root().join(PASSWORD_FILE))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"from rustle\n");
}
