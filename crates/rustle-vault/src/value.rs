//! Vaulted values in documents (see [`rustle_format::VAULT_KEY`]): the
//! tagged objects that hold vault text, what they decrypt to, and the
//! leaf-by-leaf encryption of a whole-file vault's values.

use rustle_format::{VAULT_JSON_KEY, VAULT_KEY, VaultSecret};
use serde_json::{Map, Value as Json};

use crate::VaultError;

/// The vault text of a vaulted value, and whether its plain text is JSON
/// (a non-string leaf of a whole-file vault) rather than a string.
pub fn vault_text(value: &Json) -> Option<(&str, bool)> {
    let map = value.as_object().filter(|m| m.len() == 1)?;
    let (key, text) = map.iter().next()?;
    let text = text.as_str()?;
    match key.as_str() {
        VAULT_KEY => Some((text, false)),
        VAULT_JSON_KEY => Some((text, true)),
        _ => None,
    }
}

/// True when `value` or anything inside it is vaulted.
pub fn contains_vaulted(value: &Json) -> bool {
    match value {
        _ if vault_text(value).is_some() => true,
        Json::Array(items) => items.iter().any(contains_vaulted),
        Json::Object(map) => map.values().any(contains_vaulted),
        _ => false,
    }
}

/// What a vaulted value decrypts to: a string, or the JSON value a
/// non-string leaf was; `None` when `value` is not vaulted.
pub fn decrypt_value(value: &Json, secrets: &[VaultSecret]) -> Option<Result<Json, VaultError>> {
    let (text, json) = vault_text(value)?;
    Some(crate::decrypt_str(text, secrets).and_then(|plain| {
        if json {
            serde_json::from_str(&plain)
                .map_err(|e| VaultError::Format(format!("vaulted value is not JSON: {e}")))
        } else {
            Ok(Json::String(plain))
        }
    }))
}

/// Replaces every vaulted value inside `value` with what it decrypts to.
pub fn decrypt_all(value: &Json, secrets: &[VaultSecret]) -> Result<Json, VaultError> {
    if let Some(plain) = decrypt_value(value, secrets) {
        return plain;
    }
    Ok(match value {
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|v| decrypt_all(v, secrets))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), decrypt_all(v, secrets)?)))
                .collect::<Result<Map<_, _>, VaultError>>()?,
        ),
        other => other.clone(),
    })
}

/// Encrypts every leaf of `value` (the values read from a whole-file
/// vault) with `secret`, keeping maps and lists and their keys: each leaf
/// as its JSON text under [`VAULT_JSON_KEY`]. Values already vaulted (an
/// inline `!vault` inside the file) are kept as they are.
pub fn encrypt_leaves(value: &Json, secret: &VaultSecret) -> std::io::Result<Json> {
    if vault_text(value).is_some() {
        return Ok(value.clone());
    }
    match value {
        Json::Array(items) => items
            .iter()
            .map(|v| encrypt_leaves(v, secret))
            .collect::<Result<_, _>>()
            .map(Json::Array),
        Json::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), encrypt_leaves(v, secret)?)))
            .collect::<std::io::Result<Map<_, _>>>()
            .map(Json::Object),
        leaf => {
            let text = crate::encrypt(leaf.to_string().as_bytes(), secret)?;
            Ok(Json::Object(Map::from_iter([(
                VAULT_JSON_KEY.to_owned(),
                Json::String(text),
            )])))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustle_format::Secret;
    use serde_json::json;

    #[test]
    fn leaves_round_trip_with_their_types() {
        let secret = VaultSecret {
            label: "default".into(),
            password: Secret("pw".into()),
        };
        let plain = json!({"s": "text", "n": 5432, "f": 1.5, "b": true, "z": null,
                           "l": ["a", 2, {"k": false}]});
        let enc = encrypt_leaves(&plain, &secret).unwrap();
        assert!(!enc.to_string().contains("text"));
        assert!(enc["n"].get(VAULT_JSON_KEY).is_some());
        assert!(enc["l"][0].get(VAULT_JSON_KEY).is_some());
        let inline = json!({ VAULT_KEY: "$ANSIBLE_VAULT;1.1;AES256\n6162\n" });
        assert_eq!(encrypt_leaves(&inline, &secret).unwrap(), inline);
        assert!(contains_vaulted(&enc));
        assert!(!contains_vaulted(&plain));
        assert_eq!(
            decrypt_all(&enc, std::slice::from_ref(&secret)).unwrap(),
            plain
        );
        let other = VaultSecret {
            label: "default".into(),
            password: Secret("no".into()),
        };
        assert_eq!(decrypt_all(&enc, &[other]), Err(VaultError::NoMatch));
    }
}
