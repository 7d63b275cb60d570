//! Quoting for POSIX shell scripts.

/// `s` as one shell word, quoted only when it needs to be (Python's
/// `shlex.quote`, which Ansible's `quote` filter is).
pub fn quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}
