//! Python's `posixpath` functions that modules and filters share.

/// `os.path.join(a, b)`: `b` when it is absolute, else `b` after `a` and
/// a `/` unless `a` is empty or already ends with one.
pub fn join(a: &str, b: &str) -> String {
    if b.starts_with('/') || a.is_empty() {
        b.to_owned()
    } else if a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn joins_as_posixpath() {
        assert_eq!(super::join("a", "b"), "a/b");
        assert_eq!(super::join("a/", "b"), "a/b");
        assert_eq!(super::join("a//", "b"), "a//b");
        assert_eq!(super::join("", "b"), "b");
        assert_eq!(super::join("a", "/b"), "/b");
        assert_eq!(super::join("a", ""), "a/");
    }
}
