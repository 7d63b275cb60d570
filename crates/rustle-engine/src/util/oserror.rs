//! Python's words for an `OSError`, which Ansible modules put in their
//! failure reports: `[Errno 2] No such file or directory: '/x'`.

use std::io::{Error, ErrorKind};

pub fn python_oserror(err: &Error, path: &str) -> String {
    let errno = err.raw_os_error().unwrap_or(match err.kind() {
        ErrorKind::NotFound => 2,
        ErrorKind::PermissionDenied => 13,
        ErrorKind::IsADirectory => 21,
        _ => 5,
    });
    let text = Error::from_raw_os_error(errno).to_string();
    let text = text
        .strip_suffix(&format!(" (os error {errno})"))
        .unwrap_or(&text);
    format!("[Errno {errno}] {text}: '{path}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_as_python() {
        let err = Error::from(ErrorKind::NotFound);
        assert_eq!(
            python_oserror(&err, "/x"),
            "[Errno 2] No such file or directory: '/x'"
        );
        let err = Error::from_raw_os_error(21);
        assert_eq!(
            python_oserror(&err, "/d"),
            "[Errno 21] Is a directory: '/d'"
        );
    }
}
