//! `become`: running a task as another user. The task's target becomes a
//! [`ShellTarget`] whose every operation is a `/bin/sh` script run as that
//! user through `sudo` (or `su`) on the task's own target, so files a
//! module writes belong to that user, as with Ansible.
//!
//! Without a password sudo runs with Ansible's flags (`-H -S -n`: fail
//! rather than prompt). With one, the password is the first line of the
//! script's stdin, never an argument or a file: a `/bin/sh` reads it,
//! pipes it to `sudo -S -v` (which caches the credentials for that shell)
//! and runs the script with `sudo -n` from the same shell, so a wrong
//! password cannot be taken for the script's input or the reverse. `su`
//! reads passwords from a terminal only, so it takes none here.

use std::io;

use rustle_format::Secret;

use crate::shell_target::{Shell, ShellTarget};
use crate::target::{ExecOutput, ExecRequest, Target};

/// How and as whom a task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    pub method: Method,
    pub user: String,
    /// `become_flags`, split on whitespace.
    pub flags: Vec<String>,
    /// `ansible_become_password`, or the one given to exec.
    pub password: Option<Secret>,
}

/// What the password-validating shell prints when sudo refuses it.
const WRONG_PASSWORD: &str = "rustle: sudo refused the become password";

/// Reads the password line, validates it with `sudo -v`, then runs `$0`
/// (the sudo command line without its password) from the same shell,
/// which keeps sudo's per-parent credential cache.
fn with_password_script() -> String {
    format!(
        r#"IFS= read -r p
if ! printf '%s\n' "$p" | sudo -S -p '' -v 2>/dev/null; then
  echo '{WRONG_PASSWORD}' >&2
  exit 1
fi
p=
"$0" "$@""#
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Sudo,
    Su,
}

impl Method {
    pub fn parse(name: &str) -> Result<Method, String> {
        match name {
            "sudo" => Ok(Method::Sudo),
            "su" => Ok(Method::Su),
            other => Err(format!(
                "become_method '{other}' is not supported (sudo, su)"
            )),
        }
    }

    /// Ansible's default `become_flags` for the method.
    pub fn default_flags(self) -> &'static [&'static str] {
        match self {
            Method::Sudo => &["-H", "-S", "-n"],
            Method::Su => &[],
        }
    }
}

/// Runs scripts as `how.user` on `inner`.
pub struct BecomeShell<'a> {
    pub inner: &'a dyn Target,
    pub how: &'a Become,
}

impl Shell for BecomeShell<'_> {
    fn job_program(&self) -> Option<&'static std::path::Path> {
        self.inner.job_program()
    }

    fn sh(&self, script: &str, stdin: Option<&[u8]>) -> io::Result<ExecOutput> {
        let b = self.how;
        let mut argv: Vec<String> = Vec::new();
        let password = match b.method {
            Method::Sudo => b.password.as_ref(),
            Method::Su => {
                if b.password.is_some() {
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "su with a become password is not supported (it reads passwords from a terminal); use sudo",
                    ));
                }
                None
            }
        };
        match b.method {
            Method::Sudo => {
                argv.push("sudo".into());
                if password.is_some() {
                    // The credentials are cached by then: never prompt.
                    argv.extend(b.flags.iter().filter(|f| *f != "-S").cloned());
                    if !argv.iter().any(|f| f == "-n") {
                        argv.push("-n".into());
                    }
                } else {
                    argv.extend(b.flags.iter().cloned());
                }
                argv.extend(["-u".into(), b.user.clone(), "--".into()]);
                argv.extend(["/bin/sh".into(), "-c".into(), script.to_owned()]);
            }
            Method::Su => {
                argv.push("su".into());
                argv.extend(b.flags.iter().cloned());
                argv.extend([
                    "-s".into(),
                    "/bin/sh".into(),
                    "-c".into(),
                    script.to_owned(),
                ]);
                argv.push(b.user.clone());
            }
        }
        let req = match password {
            None => ExecRequest {
                stdin: stdin.map(<[u8]>::to_vec),
                ..ExecRequest::new(argv)
            },
            Some(Secret(pw)) => {
                let mut wrapped = vec!["/bin/sh".into(), "-c".into(), with_password_script()];
                wrapped.extend(argv);
                let mut input = format!("{pw}\n").into_bytes();
                input.extend_from_slice(stdin.unwrap_or_default());
                ExecRequest {
                    stdin: Some(input),
                    ..ExecRequest::new(wrapped)
                }
            }
        };
        let out = self.inner.exec(&req)?;
        // sudo's own refusal (a password needed or wrong, no such user) is
        // not the script's result; Ansible's words for it.
        let err = String::from_utf8_lossy(&out.stderr);
        if out.rc == 1 && (err.starts_with("sudo: ") || err.starts_with(WRONG_PASSWORD)) {
            let msg = if err.starts_with(WRONG_PASSWORD) {
                "Incorrect sudo password".to_owned()
            } else if err.contains("a password is required") {
                "Missing sudo password".to_owned()
            } else {
                format!("become to '{}' failed: {}", b.user, err.trim())
            };
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, msg));
        }
        Ok(out)
    }
}

/// The target `inner` as `how.user`.
pub fn target<'a>(
    inner: &'a dyn Target,
    how: &'a Become,
) -> io::Result<ShellTarget<BecomeShell<'a>>> {
    ShellTarget::open(BecomeShell { inner, how })
}
