//! Vault texts made by the real `ansible-vault` (ansible-core 2.19) open
//! with rustle-vault (that `ansible-vault` opens what rustle-vault writes
//! is checked in rustle-e2e's `vault.rs`, which installs Ansible). The files in `tests/data` were made once with:
//!
//! ```sh
//! V=target/ansible-venv/bin/ansible-vault
//! $V encrypt_string --vault-password-file vault-pass.txt 'hunter2'            # string-1.1.txt
//! $V encrypt_string --vault-id prod@other-pass.txt 'a secret with spaces ...' # string-1.2.txt
//! cp file-plain.yml file.yml && $V encrypt --vault-password-file vault-pass.txt file.yml
//! printf 0123456789abcdef > block16.txt && $V encrypt --vault-password-file vault-pass.txt block16.txt
//! ```
//! (the `!vault |` line and the indentation of `encrypt_string`'s output removed).

use std::path::PathBuf;

use rustle_format::VaultSecret;
use rustle_vault::{VaultError, decrypt, decrypt_str, read_password_file};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(data(name)).unwrap()
}

fn secret(label: &str, file: &str) -> VaultSecret {
    VaultSecret {
        label: label.into(),
        password: read_password_file(&data(file)).unwrap(),
    }
}

#[test]
fn opens_encrypt_string_1_1() {
    let s = secret("default", "vault-pass.txt");
    assert_eq!(s.password.0, "rustle vault test password");
    assert_eq!(
        decrypt_str(&text("string-1.1.txt"), &[s]).unwrap(),
        "hunter2"
    );
}

#[test]
fn opens_encrypt_string_1_2_with_a_label() {
    let right = secret("prod", "other-pass.txt");
    let wrong = secret("default", "vault-pass.txt");
    assert_eq!(
        decrypt_str(&text("string-1.2.txt"), &[wrong.clone(), right]).unwrap(),
        "a secret with spaces and ünïcode, longer than one AES block"
    );
    assert_eq!(
        decrypt(&text("string-1.2.txt"), &[wrong]),
        Err(VaultError::NoMatch)
    );
}

#[test]
fn opens_encrypted_files() {
    let s = secret("default", "vault-pass.txt");
    assert_eq!(
        decrypt_str(&text("file.yml"), std::slice::from_ref(&s)).unwrap(),
        text("file-plain.yml")
    );
    // A whole block of plain text gets a whole block of padding.
    assert_eq!(
        decrypt(&text("block16.txt"), &[s]).unwrap(),
        b"0123456789abcdef"
    );
}
