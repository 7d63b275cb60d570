//! Secrets in templates, as ansible-core 2.19 with passlib makes them: the
//! `password_hash` filter (crypt(3) strings: md5, sha256 and sha512 crypt
//! and bcrypt, with ansible's implicit rounds and passlib's checks on
//! salts and rounds), the `vault` and `unvault` filters, and the
//! `vaulted_file` test, which reads a controller file.

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};
use rustle_format::{Secret, VaultSecret};

use super::filters::{add_filter, add_test};

pub fn register(env: &mut Environment<'static>) {
    add_filter(env, "password_hash", password_hash);
    add_filter(env, "vault", vault);
    add_filter(env, "unvault", unvault);
    add_test(env, "vaulted_file", vaulted_file);
}

/// A filter's failure as ansible-core reports a plugin's exception.
fn failed(filter: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("The filter plugin 'ansible.builtin.{filter}' failed: {msg}"),
    )
}

/// A passlib algorithm ansible's `password_hash` accepts, with what
/// `ansible.utils.encrypt.BaseHash.algorithms` and passlib say of it.
#[derive(Clone, Copy, PartialEq)]
enum Algorithm {
    Md5,
    Sha256,
    Sha512,
    Bcrypt,
}

impl Algorithm {
    /// `get_encrypted_password`'s names: the short ones and passlib's.
    fn named(name: &str) -> Option<Algorithm> {
        Some(match name {
            "md5" | "md5_crypt" => Algorithm::Md5,
            "sha256" | "sha256_crypt" => Algorithm::Sha256,
            "sha512" | "sha512_crypt" => Algorithm::Sha512,
            "blowfish" | "bcrypt" => Algorithm::Bcrypt,
            _ => return None,
        })
    }

    fn passlib_name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5_crypt",
            Algorithm::Sha256 => "sha256_crypt",
            Algorithm::Sha512 => "sha512_crypt",
            Algorithm::Bcrypt => "bcrypt",
        }
    }

    /// Rounds ansible passes when the task gives none (2.19 pins
    /// passlib's defaults of its day); md5_crypt takes none.
    fn implicit_rounds(self) -> Option<u64> {
        match self {
            Algorithm::Md5 => None,
            Algorithm::Sha256 => Some(535_000),
            Algorithm::Sha512 => Some(656_000),
            Algorithm::Bcrypt => Some(12),
        }
    }

    /// passlib's `min_rounds`, `max_rounds`.
    fn rounds_range(self) -> (u64, u64) {
        match self {
            Algorithm::Bcrypt => (4, 31),
            _ => (1000, 999_999_999),
        }
    }

    /// passlib's `default_salt_size`, `max_salt_size`.
    fn salt_sizes(self) -> (usize, usize) {
        match self {
            Algorithm::Md5 => (8, 8),
            Algorithm::Sha256 | Algorithm::Sha512 => (16, 16),
            Algorithm::Bcrypt => (22, 22),
        }
    }
}

/// crypt's base-64 alphabet (passlib's `HASH64_CHARS`), the salt
/// characters of md5 and sha crypt.
const HASH64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// bcrypt's alphabet (passlib's `BCRYPT_CHARS`).
const BCRYPT64: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `password_hash(hashtype='sha512', salt=None, salt_size=None,
/// rounds=None, ident=None)`: ansible's `get_encrypted_password` through
/// passlib. Without a salt, a random one of the algorithm's size.
fn password_hash(secret: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<String, Error> {
    const NAMES: [&str; 5] = ["hashtype", "salt", "salt_size", "rounds", "ident"];
    if args.len() > NAMES.len() {
        return Err(failed(
            "password_hash",
            format!(
                "get_encrypted_password() takes from 1 to 6 positional arguments but {} were given",
                args.len() + 1
            ),
        ));
    }
    let mut given: [Option<Value>; 5] = Default::default();
    for (slot, (name, positional)) in given.iter_mut().zip(
        NAMES
            .iter()
            .zip(args.iter().map(Some).chain(std::iter::repeat(None))),
    ) {
        *slot = kwargs
            .get::<Option<Value>>(name)?
            .or(positional.cloned())
            .filter(|v| !v.is_none() && !v.is_undefined());
    }
    kwargs.assert_all_used()?;
    let [hashtype, salt, salt_size, rounds, ident] = given;
    let fail = |msg: &str| failed("password_hash", msg);

    let hashtype = hashtype.map_or_else(|| "sha512".to_owned(), |h| h.to_string());
    let algorithm = Algorithm::named(&hashtype).ok_or_else(|| {
        fail(&format!(
            "{hashtype} is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512"
        ))
    })?;
    let secret = match secret.as_str() {
        Some(s) => s.to_owned(),
        None if secret.kind() == ValueKind::Bytes => {
            String::from_utf8_lossy(secret.as_bytes().unwrap_or_default()).into_owned()
        }
        None => {
            return Err(fail(&format!(
                "secret must be unicode or bytes, not {}",
                super::python_type(secret)
            )));
        }
    };
    let could_not = |msg: String| fail(&format!("Could not hash the secret: {msg}"));
    let name = algorithm.passlib_name();
    let (default_size, max_size) = algorithm.salt_sizes();

    // `_clean_salt`: an empty salt is no salt.
    let salt = salt.map(|s| s.to_string()).filter(|s| !s.is_empty());
    let salt = match salt {
        Some(salt) => {
            if algorithm == Algorithm::Bcrypt {
                repair_bcrypt_salt(&salt, &could_not)?
            } else {
                if !salt.bytes().all(|b| HASH64.contains(&b)) {
                    return Err(could_not(format!("invalid characters in {name} salt")));
                }
                if salt.len() > max_size {
                    return Err(could_not(format!(
                        "salt too large ({name} requires <= {max_size} chars)"
                    )));
                }
                salt
            }
        }
        None => {
            let size = match salt_size {
                None => default_size,
                Some(size) => {
                    let size = i64::try_from(size.clone())
                        .ok()
                        .filter(|_| size.kind() == ValueKind::Number && size.is_integer())
                        .ok_or_else(|| fail("salt_size must be an integer"))?;
                    let size = usize::try_from(size).unwrap_or(0);
                    if size == 0 {
                        default_size
                    } else if algorithm == Algorithm::Bcrypt && size != 22 {
                        return Err(could_not(format!(
                            "bcrypt: salt_size ({size}) must be exactly 22"
                        )));
                    } else if size > max_size {
                        return Err(could_not(format!(
                            "{name}: salt_size ({size}) above max_salt_size ({max_size})"
                        )));
                    } else {
                        size
                    }
                }
            };
            let alphabet = if algorithm == Algorithm::Bcrypt {
                BCRYPT64
            } else {
                HASH64
            };
            let salt = random_salt(size, alphabet)
                .map_err(|e| could_not(format!("no random salt: {e}")))?;
            if algorithm == Algorithm::Bcrypt {
                repair_bcrypt_salt(&salt, &could_not)?
            } else {
                salt
            }
        }
    };

    // `_clean_rounds`: the task's, else ansible's implicit ones.
    let rounds = match rounds {
        Some(r) if r.is_true() => {
            let n = r
                .as_str()
                .map_or_else(|| i64::try_from(r.clone()).ok(), |s| s.trim().parse().ok())
                .ok_or_else(|| fail(&format!("rounds must be an integer, not {r}")))?;
            if algorithm == Algorithm::Md5 {
                return Err(fail(
                    "MinimalHandler.using() got an unexpected keyword argument 'rounds'",
                ));
            }
            let (min, max) = algorithm.rounds_range();
            if n < min as i64 {
                return Err(could_not(format!(
                    "{name}: min_desired_rounds ({n}) is too low, must be at least {min}"
                )));
            }
            if n > max as i64 {
                return Err(could_not(format!(
                    "{name}: min_desired_rounds ({n}) is too large, cannot be more than {max}"
                )));
            }
            Some(n as u64)
        }
        _ => algorithm.implicit_rounds(),
    };

    // md5 and sha256 crypt are old, but ansible still makes them.
    #[allow(deprecated)]
    let hashed = match algorithm {
        Algorithm::Md5 => pwhash::md5_crypt::hash_with(format!("$1${salt}").as_str(), &secret),
        Algorithm::Sha256 | Algorithm::Sha512 => {
            // passlib leaves out sha crypt's default of 5000 rounds.
            let setup = pwhash::HashSetup {
                salt: Some(&salt),
                rounds: rounds.filter(|r| *r != 5000).map(|r| r as u32),
            };
            if algorithm == Algorithm::Sha256 {
                pwhash::sha256_crypt::hash_with(setup, &secret)
            } else {
                pwhash::sha512_crypt::hash_with(setup, &secret)
            }
        }
        Algorithm::Bcrypt => {
            // `_clean_ident`: bcrypt alone takes one, `2b` unless given.
            let variant = match ident.map(|i| i.to_string()).as_deref() {
                None | Some("" | "2b") => pwhash::bcrypt::BcryptVariant::V2b,
                Some("2a") => pwhash::bcrypt::BcryptVariant::V2a,
                Some("2y") => pwhash::bcrypt::BcryptVariant::V2y,
                Some("2") => {
                    return Err(fail(
                        "rustle does not hash with bcrypt's original '2' ident",
                    ));
                }
                Some(other) => return Err(could_not(format!("invalid ident: '{other}'"))),
            };
            let setup = pwhash::bcrypt::BcryptSetup {
                salt: Some(&salt),
                cost: rounds.map(|r| r as u32),
                variant: Some(variant),
            };
            pwhash::bcrypt::hash_with(setup, &secret)
        }
    };
    hashed.map_err(|e| could_not(e.to_string()))
}

/// `size` characters of `alphabet` from the system's random source.
fn random_salt(size: usize, alphabet: &[u8]) -> std::io::Result<String> {
    let mut bytes = vec![0u8; size];
    rustle_vault::random_bytes(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect())
}

/// passlib's bcrypt salt check and `bcrypt64.repair_unused`: 22
/// characters of bcrypt's alphabet, the last one's four unused bits
/// cleared.
fn repair_bcrypt_salt(salt: &str, could_not: &dyn Fn(String) -> Error) -> Result<String, Error> {
    if salt.len() % 4 == 1 {
        return Err(could_not("source length must != 1 mod 4".into()));
    }
    let Some(last) = salt.bytes().last() else {
        return Err(could_not(
            "salt too small (bcrypt requires exactly 22 chars)".into(),
        ));
    };
    if !salt.bytes().all(|b| BCRYPT64.contains(&b)) {
        return Err(could_not("invalid characters in bcrypt salt".into()));
    }
    // The unused bits of the last character (bcrypt64 is big-endian).
    let unused = match salt.len() % 4 {
        2 => 0x0f,
        3 => 0x03,
        _ => 0,
    };
    let at = BCRYPT64.iter().position(|b| *b == last).unwrap_or(0);
    let mut repaired = salt[..salt.len() - 1].to_owned();
    repaired.push(char::from(BCRYPT64[at & !unused]));
    match repaired.len() {
        22 => Ok(repaired),
        n if n < 22 => Err(could_not(
            "salt too small (bcrypt requires exactly 22 chars)".into(),
        )),
        _ => Err(could_not(
            "salt too large (bcrypt requires exactly 22 chars)".into(),
        )),
    }
}

/// A vault secret from a filter's `secret` and `vault_id` arguments.
fn secret_of(
    filter: &str,
    secret: &Value,
    vault_id: Option<&str>,
    wording: &str,
) -> Result<VaultSecret, Error> {
    let Some(password) = secret.as_str() else {
        return Err(failed(
            filter,
            format!(
                "Secret passed is required to be {wording}string, instead we got <class '{}'>.",
                super::python_type(secret)
            ),
        ));
    };
    Ok(VaultSecret {
        label: vault_id.unwrap_or("filter_default").to_owned(),
        password: Secret(password.to_owned()),
    })
}

/// `vault(secret, salt=None, vault_id='filter_default')`: the vault text
/// of a string, 1.2 naming the vault id unless it is `default`.
fn vault(
    data: &Value,
    secret: &Value,
    salt: Option<Value>,
    vault_id: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let salt = kwargs.get::<Option<Value>>("salt")?.or(salt);
    let vault_id = kwargs.get::<Option<String>>("vault_id")?.or(vault_id);
    // `wrap_object` tags the result as a vaulted value; a string is
    // what rustle's variables hold either way.
    let _: Option<bool> = kwargs.get("wrap_object")?;
    kwargs.assert_all_used()?;
    let secret = secret_of("vault", secret, vault_id.as_deref(), "a ")?;
    let Some(data) = data.as_str() else {
        return Err(failed(
            "vault",
            format!(
                "Can only vault strings, instead we got <class '{}'>.",
                super::python_type(data)
            ),
        ));
    };
    match salt.filter(|s| !s.is_none()) {
        None => rustle_vault::encrypt(data.as_bytes(), &secret)
            .map_err(|e| failed("vault", format!("Unable to encrypt: {e}"))),
        Some(salt) if !salt.is_true() => Err(failed(
            "vault",
            "Unable to encrypt: Empty or invalid salt passed to encrypt()",
        )),
        Some(salt) => Ok(rustle_vault::encrypt_with_salt(
            data.as_bytes(),
            &secret,
            salt.to_string().as_bytes(),
        )),
    }
}

/// `unvault(secret, vault_id='filter_default')`: the plain text of vault
/// text; any other string as it is.
fn unvault(
    vault: &Value,
    secret: &Value,
    vault_id: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let vault_id = kwargs.get::<Option<String>>("vault_id")?.or(vault_id);
    kwargs.assert_all_used()?;
    let secret = secret_of("unvault", secret, vault_id.as_deref(), "as ")?;
    let Some(text) = vault.as_str() else {
        return Err(failed(
            "unvault",
            format!(
                "Vault should be in the form of a string, instead we got <class '{}'>.",
                super::python_type(vault)
            ),
        ));
    };
    if !rustle_vault::is_encrypted(text.trim_start().as_bytes()) {
        return Ok(text.to_owned());
    }
    rustle_vault::decrypt_str(text, &[secret])
        .map_err(|e| failed("unvault", format!("Unable to decrypt: {e}.")))
}

/// `vaulted_file`: whether a controller file starts with the vault header.
fn vaulted_file(path: &str) -> Result<bool, Error> {
    super::lookups::controller_only("the 'vaulted_file' test")?;
    use std::io::Read;
    let mut head = [0u8; 14];
    let read = std::fs::File::open(path).and_then(|mut f| {
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..])? {
                0 => break,
                got => n += got,
            }
        }
        Ok(n)
    });
    match read {
        Ok(n) => Ok(rustle_vault::is_encrypted(&head[..n])),
        Err(_) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("Cannot test if the file '{path}' is a vault."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::template::{Templar, environment};

    /// Failures worded as ansible-playbook 2.19 words them (the end of the
    /// `msg` of a `debug` of each expression).
    #[test]
    fn failures_read_as_ansible_words_them() {
        let templar = Templar::new(environment(), vec![Arc::new(serde_json::Map::new())]);
        let plugin = "The filter plugin 'ansible.builtin.password_hash' failed: ";
        for (expr, expected) in [
            (
                "{{ 'a' | password_hash('sha512', 'x' * 20) }}",
                "Could not hash the secret: salt too large (sha512_crypt requires <= 16 chars)",
            ),
            (
                "{{ 'a' | password_hash('foo') }}",
                "foo is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512",
            ),
            (
                "{{ 1 | password_hash('sha512') }}",
                "secret must be unicode or bytes, not int",
            ),
        ] {
            let err = templar
                .render(&serde_json::Value::from(expr))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("{plugin}{expected}")),
                "{expr}: {err}"
            );
        }
    }
}
