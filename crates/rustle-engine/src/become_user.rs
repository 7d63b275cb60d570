//! `become`: running a task as another user. The task's target becomes a
//! [`ShellTarget`] whose every operation is a `/bin/sh` script run as that
//! user through `sudo` (or `su`) on the task's own target, so files a
//! module writes belong to that user, as with Ansible.
//!
//! Only password-less become is supported (root, or `NOPASSWD` sudo rules):
//! sudo runs with `-n` and fails rather than prompt. A become password
//! fails the task, saying so.

use std::io;

use crate::shell_target::{Shell, ShellTarget};
use crate::target::{ExecOutput, ExecRequest, Target};

/// How and as whom a task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    pub method: Method,
    pub user: String,
    /// `become_flags`, split on whitespace.
    pub flags: Vec<String>,
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
    fn sh(&self, script: &str, stdin: Option<&[u8]>) -> io::Result<ExecOutput> {
        let b = self.how;
        let mut argv: Vec<String> = Vec::new();
        match b.method {
            Method::Sudo => {
                argv.push("sudo".into());
                argv.extend(b.flags.iter().cloned());
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
        let mut req = ExecRequest::new(argv);
        req.stdin = stdin.map(<[u8]>::to_vec);
        let out = self.inner.exec(&req)?;
        // sudo's own refusal (a password needed, no such user) is not the
        // script's result.
        let err = String::from_utf8_lossy(&out.stderr);
        if out.rc == 1 && err.starts_with("sudo: ") {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("become to '{}' failed: {}", b.user, err.trim()),
            ));
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
