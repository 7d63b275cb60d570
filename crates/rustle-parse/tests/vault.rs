//! Vault-encrypted variable files as rustle-parse reads them: role vars
//! and defaults and `-e @file` decrypted to be read, their values kept
//! encrypted in the document (types and templates intact once decrypted),
//! and what parse cannot or must not read refused with the file's name.

use rustle_format::{Secret, Value, VaultSecret};
use rustle_parse::{ParseOptions, parse};
use serde_json::json;

fn secret(password: &str) -> VaultSecret {
    VaultSecret {
        label: "default".into(),
        password: Secret(password.into()),
    }
}

/// The first object under `v` that has the key `key`.
fn find<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(key).or_else(|| m.values().find_map(|x| find(x, key))),
        Value::Array(items) => items.iter().find_map(|x| find(x, key)),
        _ => None,
    }
}

#[test]
fn encrypted_role_vars_and_extra_vars_stay_encrypted_in_the_document() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let s = secret("parse-test");
    let enc = |text: &str| rustle_vault::encrypt(text.as_bytes(), &s).unwrap();
    let files = [
        (
            "roles/r/tasks/main.yml",
            "- debug: var=role_secret\n".to_owned(),
        ),
        (
            "roles/r/vars/main.yml",
            enc("role_secret: role-plain-text\nrole_port: 8443\n"),
        ),
        ("roles/r/defaults/main.yml", enc("role_flag: true\n")),
        (
            "extra.yml",
            enc("extra_secret: \"extra-{{ role_port }}-plain\"\n"),
        ),
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: false\n  roles: [r]\n".to_owned(),
        ),
    ];
    for (path, text) in &files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let extra = format!("@{}", root.join("extra.yml").display());
    let opts = ParseOptions {
        playbook: root.join("site.yml"),
        extra_vars: vec![extra],
        vault_secrets: vec![secret("other"), s.clone()],
        ..ParseOptions::default()
    };
    let doc = parse(&opts).unwrap();
    let mut out = Vec::new();
    doc.write(&mut out, false).unwrap();
    let text = String::from_utf8(out).unwrap();
    // (Numbers are not looked for: the hex of vault text may hold them.)
    for plain in ["role-plain-text", "extra-{{", "-plain"] {
        assert!(!text.contains(plain), "{plain} in the document");
    }
    let json: Value = serde_json::from_str(&text).unwrap();
    let role = find(&json, "role").unwrap();
    let open = |v: &Value| rustle_vault::value::decrypt_all(v, std::slice::from_ref(&s)).unwrap();
    assert_eq!(
        open(&role["vars"]),
        json!({"role_secret": "role-plain-text", "role_port": 8443})
    );
    assert_eq!(open(&role["defaults"]), json!({"role_flag": true}));
    assert_eq!(
        open(&json["parsed"]["extra_vars"]),
        json!({"extra_secret": "extra-{{ role_port }}-plain"})
    );

    // The wrong password, and none: the first encrypted file is named.
    let cases = [
        (
            vec![secret("wrong")],
            "Decryption failed (no vault secrets were found",
        ),
        (vec![], "Attempting to decrypt but no vault secrets found"),
    ];
    for (secrets, message) in cases {
        let opts = ParseOptions {
            vault_secrets: secrets,
            ..opts.clone()
        };
        let err = parse(&opts).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let err = err.to_string();
        assert!(err.starts_with(message), "{err}");
        assert!(err.ends_with("roles/r/defaults/main.yml"), "{err}");
    }

    // An encrypted task file is refused, not read as YAML.
    std::fs::write(
        root.join("roles/r/tasks/main.yml"),
        enc("- debug: var=role_secret\n"),
    )
    .unwrap();
    let err = parse(&ParseOptions {
        extra_vars: vec![],
        ..opts
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("not encrypted playbooks, task files or inventories"),
        "{err}"
    );
    assert!(err.contains("roles/r/tasks/main.yml"), "{err}");
}
