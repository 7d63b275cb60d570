//! Vaulted values at run time. The plan keeps vault-encrypted values
//! encrypted ([`rustle_format::VAULT_KEY`]); the engine decrypts one when a
//! template or a module reads it, with the vault secrets of this process:
//! those the latest [`rustle_format::Stretch`] brought (a runner gets them
//! on its stdin, the engine in `rustle-exec` from exec's flags). A value
//! decrypted once is kept in memory so that the key derivation runs once
//! per vault text.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock};

use rustle_format::VaultSecret;
use serde_json::Value as Json;

static SECRETS: RwLock<Vec<VaultSecret>> = RwLock::new(Vec::new());
static OPENED: Mutex<Option<HashMap<String, Json>>> = Mutex::new(None);

/// Sets the vault secrets this process decrypts with.
pub fn set_secrets(secrets: &[VaultSecret]) {
    let mut current = SECRETS.write().unwrap_or_else(PoisonError::into_inner);
    if current.as_slice() != secrets {
        *current = secrets.to_vec();
    }
}

/// What a vaulted value decrypts to, or `None` when `value` is not
/// vaulted. The error is Ansible's, naming the vault id.
pub fn open(value: &Json) -> Option<Result<Json, String>> {
    let (text, _) = rustle_vault::value::vault_text(value)?;
    let mut opened = OPENED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(plain) = opened.as_ref().and_then(|m| m.get(text)) {
        return Some(Ok(plain.clone()));
    }
    let secrets = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
    let result = rustle_vault::value::decrypt_value(value, &secrets)?;
    Some(match result {
        Ok(plain) => {
            opened
                .get_or_insert_with(HashMap::new)
                .insert(text.to_owned(), plain.clone());
            Ok(plain)
        }
        Err(e) => {
            let id = rustle_vault::envelope(text)
                .ok()
                .and_then(|e| e.label)
                .unwrap_or("default");
            Err(format!("{e} (vault id '{id}')"))
        }
    })
}

/// A controller file's bytes as a module uses them: a vault-encrypted file
/// (a `copy` or `template` source) decrypted, as Ansible's action plugins
/// do on the controller; any other file as it is. `name` is the file as
/// the task names it, for the error.
pub fn open_file(bytes: Vec<u8>, name: &str) -> Result<Vec<u8>, String> {
    if !rustle_vault::is_encrypted(&bytes) {
        return Ok(bytes);
    }
    let text = String::from_utf8_lossy(&bytes);
    let secrets = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
    rustle_vault::decrypt(&text, &secrets).map_err(|e| format!("{e} on {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustle_format::Secret;
    use serde_json::json;

    use crate::template::to_value;

    /// One test: the secrets and the cache are per process.
    #[test]
    fn decrypts_with_the_secrets_set() {
        let secret = VaultSecret {
            label: "default".into(),
            password: Secret("engine-test".into()),
        };
        let text = rustle_vault::encrypt(b"plain", &secret).unwrap();
        let value = json!({ rustle_format::VAULT_KEY: text });
        set_secrets(&[]);
        let err = open(&value).unwrap().unwrap_err();
        assert_eq!(
            err,
            "Attempting to decrypt but no vault secrets found (vault id 'default')"
        );
        assert!(to_value(&value).as_str().is_none());
        set_secrets(std::slice::from_ref(&secret));
        assert_eq!(to_value(&value).as_str(), Some("plain"));
        let int = rustle_vault::value::encrypt_leaves(&json!(7), &secret).unwrap();
        assert_eq!(to_value(&int).as_i64(), Some(7));
        let file = rustle_vault::encrypt(b"file text", &secret).unwrap();
        assert_eq!(open_file(file.into_bytes(), "f").unwrap(), b"file text");
        assert_eq!(open_file(b"as is".to_vec(), "f").unwrap(), b"as is");
        assert!(open(&json!({"other": text})).is_none());
    }
}
