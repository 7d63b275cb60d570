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
    sha256_of_word(&quote(path))
}

/// The same for a path already quoted as a shell word.
fn sha256_of_word(p: &str) -> String {
    format!("{{ sha256sum {p} 2>/dev/null || shasum -a 256 {p}; }} | cut -d' ' -f1")
}

/// A script that makes `$root/<host>` (and over SSH `$root/bases`) and
/// sweeps what cut transfers left behind there long ago; `$root` is set by
/// the caller (deploy runs it inside the host probe). `mkdir` and `find`
/// run only when there is something for them to do.
pub fn prepare_script(host: &str, remote: bool) -> String {
    let d = format!("\"$root\"/{}", quote(host));
    let (test, dirs) = if remote {
        (
            format!("[ -d {d} ] && [ -d \"$root/bases\" ]"),
            format!("{d} \"$root/bases\""),
        )
    } else {
        (format!("[ -d {d} ]"), d.clone())
    };
    format!(
        "{test} || mkdir -p {dirs}; set -- {d}/.rustle-runner.*; \
         if [ -e \"$1\" ]; then find {d} -maxdepth 1 -name '.rustle-runner.*' -mmin +30 -exec rm -f {{}} + ; fi;"
    )
}

/// How a runner's bytes reach the host, for [`assemble_script`].
pub enum Arrival<'a> {
    /// Whole (base and tail) in the temp file already: a local write.
    Whole,
    /// The tail uploaded to `tail_tmp` and the base cached under `bases/`,
    /// maybe just uploaded to `base_tmp` (paths relative to the root).
    Uploaded {
        tail_tmp: &'a str,
        base_tmp: Option<&'a str>,
    },
    /// The tail on the script's stdin, the base already cached; `size` is
    /// the whole runner's, so a stream cut short is never placed.
    Stdin { size: u64 },
}

/// The script, run in the layout's root, that turns what arrived into
/// `<host>/rustle-runner`: assembled under a temp name, made executable,
/// checked with `verify` before the old runner is touched (a bad base is
/// dropped so the next deploy sends it again), the old runner kept as
/// `rustle-runner.prev`, then renamed into place. What is left on failure
/// goes; on success nothing is.
pub fn assemble_script(
    host: &str,
    nonce: &str,
    base_sha256: &str,
    expected: &str,
    arrival: Arrival<'_>,
    verify: bool,
) -> String {
    let tmp = quote(&format!("{host}/.rustle-runner.{nonce}.tmp"));
    let path = quote(&format!("{host}/rustle-runner"));
    let base = quote(&format!("bases/{base_sha256}"));
    let mut cleanup = vec![tmp.clone()];
    let mut body = String::new();
    let mut done = String::from("trap - EXIT\n");
    match arrival {
        Arrival::Whole => {}
        Arrival::Uploaded { tail_tmp, base_tmp } => {
            let tail = quote(tail_tmp);
            if let Some(b) = base_tmp {
                body.push_str(&format!("mv -f {} {base}\n", quote(b)));
            }
            body.push_str(&format!("cat {base} {tail} > {tmp}\n"));
            done.push_str(&format!("rm -f {tail}\n"));
            cleanup.push(tail);
        }
        Arrival::Stdin { size } => {
            body.push_str(&format!(
                "cat {base} - > {tmp}\ngot=$(wc -c < {tmp})\n\
                 if [ \"${{got##* }}\" != {size} ]; then echo \"the runner arrived cut short: ${{got##* }} of {size} bytes\" >&2; exit 1; fi\n"
            ));
        }
    }
    body.push_str(&format!("chmod 0755 {tmp}\n"));
    if verify {
        let drop_base = if matches!(arrival, Arrival::Whole) {
            String::new()
        } else {
            format!("rm -f {base}; ")
        };
        body.push_str(&format!(
            "found=$({sum})\nif [ \"$found\" != {expected} ]; then {drop_base}echo \"sha256 mismatch: expected {expected}, found $found\" >&2; exit 7; fi\n",
            sum = sha256_of_word(&tmp),
        ));
    }
    body.push_str(&format!(
        "if [ -e {path} ]; then ln -f {path} {path}.prev; fi\nmv -f {tmp} {path}\n"
    ));
    format!(
        "set -e\ntrap 'rm -f {}' EXIT\n{body}{done}",
        cleanup.join(" ")
    )
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

    let under_root = |rel: &str| format!("{}/{rel}", layout.root);
    let tail_tmp = format!("{}/.rustle-runner.{nonce}.tail", layout.host);
    let base_tmp = format!("bases/.{}.{nonce}.tmp", base.sha256);
    let mut total = 0u64;
    let arrival = if remote {
        if !have_base {
            host.write(&under_root(&base_tmp), &[&base.bytes], sent)
                .await?;
            total += base.bytes.len() as u64;
        }
        let offset = total;
        host.write(&under_root(&tail_tmp), &[tail], &mut |n| sent(offset + n))
            .await?;
        total += tail.len() as u64;
        Arrival::Uploaded {
            tail_tmp: &tail_tmp,
            base_tmp: (!have_base).then_some(base_tmp.as_str()),
        }
    } else {
        let tmp = under_root(&format!("{}/.rustle-runner.{nonce}.tmp", layout.host));
        host.write(&tmp, &[&base.bytes, tail], sent).await?;
        total += (base.bytes.len() + tail.len()) as u64;
        Arrival::Whole
    };
    let script = assemble_script(
        &layout.host,
        &nonce,
        &base.sha256,
        &expected,
        arrival,
        verify,
    );
    host.sh_ok(
        "placing the runner",
        &format!("cd {} || exit 1\n{script}", quote(&layout.root)),
    )
    .await?;
    Ok(Placed {
        path: layout.runner(),
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

#[cfg(test)]
mod tests {
    //! The scripts, run by this machine's `sh` in a temp directory: what
    //! they leave on disk is what a host would hold.
    use super::*;
    use crate::target;
    use std::io::Write;
    use std::path::Path;
    use std::process::{Command, Stdio};

    fn sh(dir: &Path, script: &str, stdin: &[u8]) -> std::process::Output {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .env("HOME", dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A script may stop reading early; that is what some cases test.
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait_with_output().unwrap()
    }

    fn age(path: &Path, secs: u64) {
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_probe_answers_prepares_and_sweeps() {
        let home = tempfile::tempdir().unwrap();
        let root = home.path().join(".cache/rustle");
        let script = target::probe_script(
            "\"$HOME\"/.cache/rustle",
            &prepare_script("web 1", true),
            "",
        );
        // First run: nothing there yet; the directories get made.
        let out = sh(home.path(), &script, b"");
        assert!(out.status.success(), "{out:?}");
        let facts = target::parse_probe(&String::from_utf8_lossy(&out.stdout)).unwrap();
        assert_eq!(facts.home, home.path().to_string_lossy());
        let uname = |flag| {
            let o = Command::new("uname").arg(flag).output().unwrap();
            String::from_utf8_lossy(&o.stdout).trim().to_owned()
        };
        let musl = std::fs::read_dir("/lib").is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("ld-musl-"))
        });
        let libc = if musl { "musl" } else { "gnu" };
        assert_eq!(
            facts.triple,
            target::triple_for(&uname("-s"), &uname("-m"), libc)
        );
        assert!(facts.bases.is_empty());
        assert!(root.join("web 1").is_dir() && root.join("bases").is_dir());

        // Second run: a base is listed (not a temp upload), an old
        // leftover goes and a fresh one (a transfer under way) stays.
        let sha = "0f".repeat(32);
        std::fs::write(root.join("bases").join(&sha), b"base").unwrap();
        std::fs::write(root.join("bases").join(format!(".{sha}.x.tmp")), b"").unwrap();
        let old = root.join("web 1/.rustle-runner.old.tmp");
        let fresh = root.join("web 1/.rustle-runner.new.tmp");
        std::fs::write(&old, b"").unwrap();
        std::fs::write(&fresh, b"").unwrap();
        std::fs::write(root.join("web 1/rustle-runner"), b"kept").unwrap();
        age(&old, 3600);
        let out = sh(home.path(), &script, b"");
        assert!(out.status.success(), "{out:?}");
        let facts = target::parse_probe(&String::from_utf8_lossy(&out.stdout)).unwrap();
        assert_eq!(facts.bases.into_iter().collect::<Vec<_>>(), [sha]);
        assert_eq!(
            names(&root.join("web 1")),
            [".rustle-runner.new.tmp", "rustle-runner"]
        );
    }

    #[test]
    fn a_runner_from_stdin_is_placed_whole_or_not_at_all() {
        let root = tempfile::tempdir().unwrap();
        let base = b"\x7fELF base bytes".repeat(1000);
        let sha = sha256_hex(&base);
        std::fs::create_dir_all(root.path().join("bases")).unwrap();
        std::fs::create_dir_all(root.path().join("h")).unwrap();
        std::fs::write(root.path().join("bases").join(&sha), &base).unwrap();
        std::fs::write(root.path().join("h/rustle-runner"), b"old runner").unwrap();
        let tail = b"payload tail".repeat(500);
        let whole = [base.as_slice(), tail.as_slice()].concat();
        let script = |nonce: &str| {
            assemble_script(
                "h",
                nonce,
                &sha,
                &sha256_hex(&whole),
                Arrival::Stdin {
                    size: whole.len() as u64,
                },
                // Without --verify too: the size alone stops a short runner.
                false,
            )
        };

        // Cut short: the old runner stays, nothing is left behind.
        let out = sh(root.path(), &script("n1"), &tail[..tail.len() - 7]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "the runner arrived cut short: {} of {} bytes",
                whole.len() - 7,
                whole.len()
            )),
            "{err}"
        );
        assert_eq!(
            std::fs::read(root.path().join("h/rustle-runner")).unwrap(),
            b"old runner"
        );
        assert_eq!(names(&root.path().join("h")), ["rustle-runner"]);

        // Whole: placed executable, the old one kept as .prev, no temp left.
        let out = sh(root.path(), &script("n2"), &tail);
        assert!(out.status.success(), "{out:?}");
        let placed = root.path().join("h/rustle-runner");
        assert_eq!(std::fs::read(&placed).unwrap(), whole);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&placed).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(
            std::fs::read(root.path().join("h/rustle-runner.prev")).unwrap(),
            b"old runner"
        );
        assert_eq!(
            names(&root.path().join("h")),
            ["rustle-runner", "rustle-runner.prev"]
        );
    }
}
