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

/// `value` with every vaulted value inside decrypted.
pub fn open_all(value: &Json) -> Result<Json, String> {
    if let Some(plain) = open(value) {
        return plain;
    }
    Ok(match value {
        Json::Array(items) => Json::Array(items.iter().map(open_all).collect::<Result<_, _>>()?),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), open_all(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}
