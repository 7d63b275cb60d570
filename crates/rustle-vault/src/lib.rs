//! Ansible Vault for Rustle: the one place that reads and writes vault
//! text, shared by `rustle-parse` (whole-file vaults), the engine (vaulted
//! values, in `rustle-exec` and in runners) and the tools that take vault
//! passwords.
//!
//! Vault text (format 1.1, and 1.2 which adds a vault id label):
//!
//! ```text
//! $ANSIBLE_VAULT;1.1;AES256            or  $ANSIBLE_VAULT;1.2;AES256;label
//! <hex, in lines of 80 characters>
//! ```
//!
//! The hex decodes to three hex lines joined by `\n`: the salt, the
//! HMAC-SHA256 of the ciphertext, and the ciphertext. PBKDF2-HMAC-SHA256
//! (10000 iterations) of the password and salt gives 80 bytes: the AES-256
//! key, the HMAC key and the CTR initial counter; the plain text is PKCS#7
//! padded to 16 bytes and encrypted with AES-256-CTR.
//!
//! [`secrets`] reads passwords as Ansible does (`--vault-password-file`,
//! executable password scripts, `--vault-id label@file`).

pub mod secrets;
pub mod value;

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use rustle_format::VaultSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub use secrets::{SecretsError, VaultIdArg, read_password_file};

/// How every vault text starts.
pub const HEADER: &str = "$ANSIBLE_VAULT";

const ITERATIONS: u32 = 10_000;
const SALT_LEN: usize = 32;
const BLOCK: usize = 16;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    /// No password was given at all.
    #[error("Attempting to decrypt but no vault secrets found")]
    NoSecrets,
    /// No password given opens the text (HMAC mismatch for each).
    #[error("Decryption failed (no vault secrets were found that could decrypt)")]
    NoMatch,
    #[error("Vault format error: {0}")]
    Format(String),
    #[error("Vault format unhexlify error: {0}")]
    Hex(String),
    #[error("Cipher {0:?} could not be found")]
    Cipher(String),
}

/// True when `text` is vault text (starts with the vault header).
pub fn is_encrypted(text: &[u8]) -> bool {
    text.starts_with(HEADER.as_bytes())
}

/// The parts of a vault text's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub version: &'a str,
    pub cipher: &'a str,
    /// The vault id of a 1.2 text.
    pub label: Option<&'a str>,
    /// The hex body with line breaks removed.
    pub body: String,
}

/// Splits vault text into its header fields and hex body.
pub fn envelope(text: &str) -> Result<Envelope<'_>, VaultError> {
    let text = text.trim_start();
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().trim();
    let fields: Vec<&str> = header.split(';').map(str::trim).collect();
    if fields.first() != Some(&HEADER) || fields.len() < 3 {
        return Err(VaultError::Format(
            "input is not vault encrypted data".into(),
        ));
    }
    Ok(Envelope {
        version: fields[1],
        cipher: fields[2],
        label: fields.get(3).copied().filter(|l| !l.is_empty()),
        body: lines.map(str::trim).collect(),
    })
}

/// Decrypts vault text with the first secret that opens it, trying those
/// whose label matches the text's vault id first, as Ansible does.
pub fn decrypt(text: &str, secrets: &[VaultSecret]) -> Result<Vec<u8>, VaultError> {
    decrypt_with(text, secrets).map(|(plain, _)| plain)
}

/// [`decrypt`], also giving the secret that opened the text.
pub fn decrypt_with<'s>(
    text: &str,
    secrets: &'s [VaultSecret],
) -> Result<(Vec<u8>, &'s VaultSecret), VaultError> {
    let env = envelope(text)?;
    if env.cipher != "AES256" {
        return Err(VaultError::Cipher(env.cipher.to_owned()));
    }
    if secrets.is_empty() {
        return Err(VaultError::NoSecrets);
    }
    let inner = unhex(env.body.as_bytes())?;
    let mut parts = inner.split(|b| *b == b'\n');
    let (Some(salt), Some(mac), Some(cipher), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VaultError::Format("vaulttext format error".into()));
    };
    let (salt, mac, cipher) = (unhex(salt)?, unhex(mac)?, unhex(cipher)?);
    let label = env.label.unwrap_or("default");
    let ordered = secrets
        .iter()
        .filter(|s| s.label == label)
        .chain(secrets.iter().filter(|s| s.label != label));
    for secret in ordered {
        if let Some(plain) = open(secret.password.0.as_bytes(), &salt, &mac, &cipher) {
            return Ok((plain, secret));
        }
    }
    Err(VaultError::NoMatch)
}

/// Decrypts vault text to a UTF-8 string.
pub fn decrypt_str(text: &str, secrets: &[VaultSecret]) -> Result<String, VaultError> {
    let plain = decrypt(text, secrets)?;
    String::from_utf8(plain)
        .map_err(|_| VaultError::Format("decrypted data is not UTF-8 text".into()))
}

/// Encrypts `plain` with `secret` and a fresh random salt, as
/// `ansible-vault encrypt` does: format 1.1 for the `default` label, 1.2
/// naming the label otherwise. The text ends with a newline.
pub fn encrypt(plain: &[u8], secret: &VaultSecret) -> std::io::Result<String> {
    let mut salt = [0u8; SALT_LEN];
    random_bytes(&mut salt)?;
    Ok(encrypt_with_salt(plain, secret, &salt))
}

/// [`encrypt`] with a given salt (deterministic, for tests).
pub fn encrypt_with_salt(plain: &[u8], secret: &VaultSecret, salt: &[u8]) -> String {
    let (key, mac_key, iv) = keys(secret.password.0.as_bytes(), salt);
    let pad = BLOCK - plain.len() % BLOCK;
    let mut data = plain.to_vec();
    data.extend(std::iter::repeat_n(pad as u8, pad));
    Aes256Ctr::new(&key.into(), &iv.into()).apply_keystream(&mut data);
    let mut mac = HmacSha256::new_from_slice(&mac_key).expect("HMAC takes any key length");
    mac.update(&data);
    let tag = mac.finalize().into_bytes();
    let inner = format!("{}\n{}\n{}", hex(salt), hex(&tag), hex(&data));
    let body = hex(inner.as_bytes());
    let mut out = if secret.label == "default" || secret.label.is_empty() {
        format!("{HEADER};1.1;AES256")
    } else {
        format!("{HEADER};1.2;AES256;{}", secret.label)
    };
    for chunk in body.as_bytes().chunks(80) {
        out.push('\n');
        out.push_str(std::str::from_utf8(chunk).expect("hex is ASCII"));
    }
    out.push('\n');
    out
}

/// Checks the HMAC (in constant time) and decrypts; `None` when the
/// password does not open the text.
fn open(password: &[u8], salt: &[u8], mac: &[u8], cipher: &[u8]) -> Option<Vec<u8>> {
    let (key, mac_key, iv) = keys(password, salt);
    let mut check = HmacSha256::new_from_slice(&mac_key).expect("HMAC takes any key length");
    check.update(cipher);
    let expected = check.finalize().into_bytes();
    if !bool::from(expected.as_slice().ct_eq(mac)) {
        return None;
    }
    let mut data = cipher.to_vec();
    Aes256Ctr::new(&key.into(), &iv.into()).apply_keystream(&mut data);
    let pad = *data.last()? as usize;
    if pad == 0 || pad > BLOCK || pad > data.len() {
        return None;
    }
    data.truncate(data.len() - pad);
    Some(data)
}

fn keys(password: &[u8], salt: &[u8]) -> ([u8; 32], [u8; 32], [u8; 16]) {
    let mut derived = [0u8; 80];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ITERATIONS, &mut derived);
    let mut key = [0u8; 32];
    let mut mac_key = [0u8; 32];
    let mut iv = [0u8; 16];
    key.copy_from_slice(&derived[..32]);
    mac_key.copy_from_slice(&derived[32..64]);
    iv.copy_from_slice(&derived[64..]);
    (key, mac_key, iv)
}

/// Fills `buf` from the system's random source (`/dev/urandom`).
pub fn random_bytes(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &[u8]) -> Result<Vec<u8>, VaultError> {
    let text = text.trim_ascii();
    if !text.len().is_multiple_of(2) {
        return Err(VaultError::Hex("odd-length string".into()));
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(VaultError::Hex("non-hexadecimal digit found".into())),
    };
    text.chunks(2)
        .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustle_format::Secret;

    fn secret(label: &str, pw: &str) -> VaultSecret {
        VaultSecret {
            label: label.into(),
            password: Secret(pw.into()),
        }
    }

    #[test]
    fn round_trips_every_padding_length() {
        let s = secret("default", "pw");
        for n in 0..34 {
            let plain: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let text = encrypt(&plain, &s).unwrap();
            assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
            assert_eq!(decrypt(&text, std::slice::from_ref(&s)).unwrap(), plain);
        }
    }

    #[test]
    fn labels_make_format_1_2_and_are_tried_first() {
        let text = encrypt(b"x", &secret("prod", "b")).unwrap();
        assert!(text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"));
        let both = [secret("dev", "a"), secret("prod", "b")];
        assert_eq!(decrypt(&text, &both).unwrap(), b"x");
        // A secret under another label still opens it, as in Ansible.
        assert_eq!(decrypt(&text, &[secret("other", "b")]).unwrap(), b"x");
    }

    #[test]
    fn errors() {
        let text = encrypt(b"x", &secret("default", "a")).unwrap();
        assert_eq!(decrypt(&text, &[]), Err(VaultError::NoSecrets));
        assert_eq!(
            decrypt(&text, &[secret("default", "b")]),
            Err(VaultError::NoMatch)
        );
        assert!(matches!(
            decrypt("not vault", &[secret("default", "a")]),
            Err(VaultError::Format(_))
        ));
        assert!(matches!(
            decrypt("$ANSIBLE_VAULT;1.1;AES256\nzz\n", &[secret("default", "a")]),
            Err(VaultError::Hex(_))
        ));
        let other = text.replace("AES256", "AES");
        assert_eq!(
            decrypt(&other, &[secret("default", "a")]),
            Err(VaultError::Cipher("AES".into()))
        );
    }

    #[test]
    fn deterministic_with_a_salt() {
        let s = secret("default", "pw");
        let a = encrypt_with_salt(b"hello", &s, &[7; 32]);
        assert_eq!(a, encrypt_with_salt(b"hello", &s, &[7; 32]));
        assert_ne!(a, encrypt(b"hello", &s).unwrap());
        assert!(a.lines().skip(1).all(|l| l.len() <= 80));
    }
}
