//! What deploy does to the files on a host, as shell scripts run by
//! [`Host`]: placing a runner, verifying one, rolling back to the previous
//! one and removing rustle's files.
//!
//! Placing never leaves a partial file under the final name: bytes go to a
//! temp name in the final directory, are checked (with `--verify`) before
//! anything else changes, get their mode, and are renamed into place; the
//! replaced runner stays as `rustle-runner.prev`. Over SSH the runner's
//! base binary is cached on the host under `bases/<sha256>`, so a
//! re-deploy sends only the host's payload and the host assembles the two.

use std::sync::Arc;

use rustle_format::sha256_hex;
use rustle_ssh::quote;
use sha2::{Digest, Sha256};

use crate::host::{Host, HostError};

/// A runner without payload, shared by every host of its triple.
#[derive(Debug)]
pub struct Base {
    pub bytes: Vec<u8>,
    pub sha256: String,
    /// The hash state after the base, so a runner's sha256 needs only its tail.
    hasher: Sha256,
}

impl Base {
    pub fn new(bytes: Vec<u8>) -> Base {
        let mut hasher = Sha256::new();
        hasher.update(&bytes);
        Base {
            sha256: sha256_hex(&bytes),
            bytes,
            hasher,
        }
    }

    /// sha256 of `base ++ tail`.
    pub fn sha256_with(&self, tail: &[u8]) -> String {
        let mut h = self.hasher.clone();
        h.update(tail);
        format!("{:x}", h.finalize())
    }
}

/// Where rustle keeps a host's files: `<root>/<host>/rustle-runner`, and
/// over SSH the shared `<root>/bases/`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: String,
    pub host: String,
}

impl Layout {
    pub fn dir(&self) -> String {
        format!("{}/{}", self.root, self.host)
    }

    pub fn runner(&self) -> String {
        format!("{}/rustle-runner", self.dir())
    }

    fn base(&self, sha256: &str) -> String {
        format!("{}/bases/{sha256}", self.root)
    }
}

/// A runner placed on its host.
#[derive(Debug)]
pub struct Placed {
    pub path: String,
    pub sha256: String,
    /// Bytes that crossed the connection.
    pub sent: u64,
}

/// `sha256sum` where coreutils has it, `shasum -a 256` elsewhere.
fn sha256_of(path: &str) -> String {
    let p = quote(path);
    format!("{{ sha256sum {p} 2>/dev/null || shasum -a 256 {p}; }} | cut -d' ' -f1")
}

/// A script that makes `$root/<host>` (and over SSH `$root/bases`) and
/// sweeps what cut transfers left behind there long ago; `$root` is set by
/// the caller (deploy runs it inside the host probe).
pub fn prepare_script(host: &str, remote: bool) -> String {
    let d = format!("\"$root\"/{}", quote(host));
    let mut s = format!(
        "mkdir -p {d} && find {d} -maxdepth 1 -name '.rustle-runner.*' -mmin +30 -exec rm -f {{}} + ;"
    );
    if remote {
        s.push_str(" mkdir -p \"$root/bases\";");
    }
    s
}

/// Puts `base ++ tail` at the layout's runner path. `prepared` is whether
/// the host holds the base, when the probe already ran [`prepare_script`];
/// otherwise placing prepares first, one round trip more.
pub async fn place(
    host: &Host,
    layout: &Layout,
    prepared: Option<bool>,
    base: Arc<Base>,
    tail: &[u8],
    verify: bool,
    sent: &mut (dyn FnMut(u64) + Send),
) -> Result<Placed, HostError> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let dir = layout.dir();
    let path = layout.runner();
    let tmp = format!("{dir}/.rustle-runner.{nonce}.tmp");
    let expected = base.sha256_with(tail);
    let remote = host.is_remote();

    let base_path = layout.base(&base.sha256);
    let have_base = match prepared {
        Some(have) => have,
        None => {
            let mut prep = format!(
                "root={}\n{}\n",
                quote(&layout.root),
                prepare_script(&layout.host, remote)
            );
            if remote {
                prep.push_str(&format!(
                    "if [ -f {} ]; then echo have; fi",
                    quote(&base_path)
                ));
            }
            host.sh_ok("preparing the runner directory", &prep)
                .await?
                .trim()
                == "have"
        }
    };

    let mut script = String::from("set -e\n");
    let mut cleanup = vec![tmp.clone()];
    let mut total = 0u64;
    if remote {
        if !have_base {
            let base_tmp = format!("{}/bases/.{}.{nonce}.tmp", layout.root, base.sha256);
            host.write(&base_tmp, &[&base.bytes], sent).await?;
            total += base.bytes.len() as u64;
            script.push_str(&format!(
                "mv -f {} {}\n",
                quote(&base_tmp),
                quote(&base_path)
            ));
        }
        let tail_tmp = format!("{dir}/.rustle-runner.{nonce}.tail");
        let offset = total;
        host.write(&tail_tmp, &[tail], &mut |n| sent(offset + n))
            .await?;
        total += tail.len() as u64;
        script.push_str(&format!(
            "cat {} {} > {}\n",
            quote(&base_path),
            quote(&tail_tmp),
            quote(&tmp)
        ));
        cleanup.push(tail_tmp);
    } else {
        host.write(&tmp, &[&base.bytes, tail], sent).await?;
        total += (base.bytes.len() + tail.len()) as u64;
    }
    let quoted: Vec<String> = cleanup.iter().map(|p| quote(p)).collect();
    script.insert_str(0, &format!("trap 'rm -f {}' EXIT\n", quoted.join(" ")));
    script.push_str(&format!("chmod 0755 {}\n", quote(&tmp)));
    if verify {
        // Checked before the old runner is touched; a bad base is dropped
        // so the next deploy sends it again.
        let drop_base = if remote {
            format!("rm -f {}; ", quote(&base_path))
        } else {
            String::new()
        };
        script.push_str(&format!(
            "found=$({sum})\nif [ \"$found\" != {expected} ]; then {drop_base}echo \"sha256 mismatch: expected {expected}, found $found\" >&2; exit 7; fi\n",
            sum = sha256_of(&tmp),
        ));
    }
    script.push_str(&format!(
        "if [ -e {p} ]; then ln -f {p} {p}.prev; fi\nmv -f {t} {p}\n",
        p = quote(&path),
        t = quote(&tmp)
    ));
    host.sh_ok("placing the runner", &script).await?;
    Ok(Placed {
        path,
        sha256: expected,
        sent: total,
    })
}

/// Checks that the runner at `path` has `expected` as its sha256.
pub async fn verify(host: &Host, path: &str, expected: &str) -> Result<(), HostError> {
    let script = format!(
        "if [ ! -f {p} ]; then echo missing; exit 0; fi; {sum}",
        p = quote(path),
        sum = sha256_of(path)
    );
    let found = host.sh_ok("reading the runner's sha256", &script).await?;
    match found.trim() {
        "missing" => Err(HostError::Failed(format!("no runner at {path}"))),
        f if f == expected => Ok(()),
        f => Err(HostError::Failed(format!(
            "sha256 mismatch at {path}: expected {expected}, found {f}"
        ))),
    }
}

/// Swaps the runner at `path` with `path.prev` (the runner stays in place
/// throughout); returns the new runner's sha256 and what `--print-slice`
/// says it carries.
pub async fn rollback(host: &Host, path: &str) -> Result<(String, String), HostError> {
    let p = quote(path);
    let script = format!(
        "set -e\nif [ ! -f {p}.prev ]; then echo \"no previous runner at {path}.prev\" >&2; exit 3; fi\n\
         ln -f {p} {p}.rollback\nmv -f {p}.prev {p}\nmv -f {p}.rollback {p}.prev\n{sum}\n{p} --print-slice\n",
        sum = sha256_of(path)
    );
    let out = host.sh_ok("rolling back", &script).await?;
    let (sha, slice) = out.split_once('\n').unwrap_or((out.as_str(), ""));
    Ok((sha.trim().to_owned(), slice.to_owned()))
}

/// Removes the host's runner directory and, over SSH, the cached bases;
/// the root goes too when nothing else is in it.
pub async fn cleanup(host: &Host, layout: &Layout) -> Result<(), HostError> {
    let mut script = format!("rm -rf {}", quote(&layout.dir()));
    if host.is_remote() {
        script.push_str(&format!(" {}", quote(&format!("{}/bases", layout.root))));
    }
    script.push_str(&format!(
        "; rmdir {} 2>/dev/null; true",
        quote(&layout.root)
    ));
    host.sh_ok("removing rustle's files", &script).await?;
    Ok(())
}
