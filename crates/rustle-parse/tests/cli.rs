//! rustle-parse as a user runs it: files in, JSON or an error out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rustle-parse"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn same_input_gives_identical_bytes() {
    let a = parse(&["fixtures/demo/site.yml"]);
    let b = parse(&["fixtures/demo/site.yml"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn demo_document_is_golden() {
    let out = parse(&["fixtures/demo/site.yml", "--pretty"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // The absolute checkout path differs between machines.
    let dir = root().join("fixtures/demo").canonicalize().unwrap();
    let text = text.replace(&dir.display().to_string(), "$DEMO");
    expect_test::expect_file!["../../../fixtures/golden/demo.parsed.json"].assert_eq(&text);
}

/// Each bad input: the exit code ansible-playbook uses and our message.
#[test]
fn errors_name_file_line_and_column() {
    let cases = [
        "conflicting-actions",
        "bad-yaml",
        "no-hosts",
        "bad-play-key",
        "no-action",
        "not-a-list",
        "missing-file",
        "missing-role",
        "include-loop",
        "missing-import",
        "bad-block-key",
    ];
    let base = root().canonicalize().unwrap().display().to_string();
    let mut report = String::new();
    for name in cases {
        let path = format!("fixtures/errors/{name}.yml");
        let out = parse(&[&path]);
        assert!(
            out.stdout.is_empty(),
            "{name}: stdout must stay empty on error"
        );
        report += &format!(
            "== {name}: exit {}\n{}\n",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr)
                .trim_end()
                .replace(&base, "$ROOT")
        );
    }
    expect_test::expect_file!["golden/errors.txt"].assert_eq(&report);
}

#[test]
fn inventory_and_extra_vars_reach_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts.ini");
    std::fs::write(
        &inv,
        "[web]\nweb[1:2] ansible_host=127.0.0.2\n[web:vars]\nport=8080\n",
    )
    .unwrap();
    let out = parse(&[
        "fixtures/demo/site.yml",
        "-i",
        inv.to_str().unwrap(),
        "-e",
        "x=1 y='a b'",
        "-e",
        "{\"z\": [1, 2]}",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts: Vec<&str> = doc["parsed"]["inventory"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    // The play targets localhost, which the inventory lacks: implicit.
    assert_eq!(hosts, ["web1", "web2", "localhost"]);
    assert_eq!(
        doc["parsed"]["inventory"]["groups"][0]["vars"]["port"],
        8080
    );
    assert_eq!(
        doc["parsed"]["extra_vars"],
        serde_json::json!({"x": "1", "y": "a b", "z": [1, 2]})
    );
}

/// Golden documents for the fixture playbooks: a change to the document
/// shows as a diff (`UPDATE_EXPECT=1` rewrites them).
#[test]
fn fixture_documents_are_golden() {
    let cases: &[(&str, &[&str])] = &[
        ("blocks", &["fixtures/playbooks/blocks.yml"]),
        ("roles", &["fixtures/playbooks/roles/site.yml"]),
        ("forms", &["fixtures/playbooks/forms.yml"]),
        ("tags", &["fixtures/playbooks/tags.yml"]),
        (
            "hints",
            &[
                "fixtures/playbooks/hints.yml",
                "-i",
                "fixtures/playbooks/serial/hosts.ini",
            ],
        ),
        (
            "inventory",
            &[
                "fixtures/playbooks/inventory/site.yml",
                "-i",
                "fixtures/playbooks/inventory/hosts.ini",
            ],
        ),
    ];
    let base = root().canonicalize().unwrap().display().to_string();
    for (name, args) in cases {
        let out = parse(&[args, &["--pretty"][..]].concat());
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout)
            .unwrap()
            .replace(&base, "$ROOT");
        let golden = root().join(format!("fixtures/golden/{name}.parsed.json"));
        expect_test::expect_file![golden].assert_eq(&text);
    }
}

#[test]
fn roles_are_found_on_the_roles_path() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere/greeter/tasks");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("main.yml"), "- name: hi\n  debug: msg=hi\n").unwrap();
    let book = dir.path().join("site.yml");
    std::fs::write(&book, "- hosts: localhost\n  roles: [greeter]\n").unwrap();
    let book = book.to_str().unwrap();
    let missing = parse(&[book, "--list-tasks"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("the role 'greeter' was not found"));
    let roles = dir.path().join("elsewhere");
    let found = parse(&[book, "-r", roles.to_str().unwrap(), "--list-tasks"]);
    assert!(
        found.status.success(),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    assert!(String::from_utf8_lossy(&found.stdout).contains("      greeter : hi\tTAGS: []"));
}

/// A templated include names its candidates: the task files of the
/// directory its literal part names (not other YAML, not other files),
/// and for include_role every role on the roles path.
#[test]
fn templated_includes_load_their_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("os/debian.yml", "- debug: msg=deb\n");
    write("os/redhat.yaml", "- debug: msg=rh\n");
    write("os/vars.yml", "key: value\n");
    write("os/notes.txt", "- debug: msg=no\n");
    write("roles/one/tasks/main.yml", "- debug: msg=one\n");
    write("roles/two/tasks/main.yml", "- debug: msg=two\n");
    write("roles/empty/README", "not a role\n");
    write(
        "site.yml",
        "- hosts: localhost\n  tasks:\n    - include_tasks: \"os/{{ family }}.yml\"\n    \
         - include_role:\n        name: \"{{ r }}\"\n",
    );
    let out = parse(&[dir.path().join("site.yml").to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tasks = &doc["parsed"]["plays"][0]["tasks"];
    let names = |task: &serde_json::Value| -> Vec<String> {
        task["block"]["block"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["block"]["candidate"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&tasks[0]), ["os/debian.yml", "os/redhat.yaml"]);
    assert_eq!(names(&tasks[1]), ["one", "two"]);
}

/// Every way ansible-playbook takes a vault password opens the vault
/// fixture's encrypted files: `--vault-password-file` (a file, or a script
/// whose output is the password), `--vault-id label@file`, and
/// `ANSIBLE_VAULT_PASSWORD_FILE`; a missing password file is an error
/// naming it.
#[test]
fn vault_passwords_from_flags_scripts_and_the_environment() {
    const BOOK: &str = "fixtures/playbooks/vault/site.yml";
    const FILE: &str = "fixtures/playbooks/vault/vault-pass.txt";
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("pass.sh");
    let password = std::fs::read_to_string(root().join(FILE)).unwrap();
    rustle_testkit::write_executable(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' '{}'\n", password.trim()).as_bytes(),
    )
    .unwrap();
    let script = script.to_str().unwrap();
    let id = format!("prod@{FILE}");
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rustle-parse"));
        cmd.arg(BOOK).args(args).current_dir(root());
        cmd.env_remove("ANSIBLE_VAULT_PASSWORD_FILE");
        if let Some(file) = env {
            cmd.env("ANSIBLE_VAULT_PASSWORD_FILE", file);
        }
        cmd.output().unwrap()
    };
    for (args, env) in [
        (&["--vault-password-file", FILE][..], None),
        (&["--vault-password-file", script][..], None),
        (&["--vault-id", &id][..], None),
        (&[][..], Some(FILE)),
    ] {
        let out = run(args, env);
        assert!(
            out.status.success(),
            "{args:?} {env:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run(&["--vault-password-file", "no/such/file"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Could not read vault password file 'no/such/file'"),
        "{err}"
    );
}
