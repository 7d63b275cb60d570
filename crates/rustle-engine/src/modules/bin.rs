//! `get_bin_path`: where a module finds the tools it runs on the target.

use crate::Target;
use crate::target::FileKind;

/// The directories searched after a module's own: Debian's default `PATH`,
/// which also holds the sbin directories ansible-core appends to `PATH`.
const DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// ansible-core's `get_bin_path(name, opt_dirs)`: the first executable
/// file (not a directory) named `name` in `opt_dirs`, then in the system
/// directories.
pub fn get_bin_path(target: &dyn Target, name: &str, opt_dirs: &[&str]) -> Option<String> {
    opt_dirs
        .iter()
        .chain(DIRS.iter().filter(|d| !opt_dirs.contains(d)))
        .map(|d| format!("{d}/{name}"))
        .find(|p| {
            matches!(target.stat(p, true),
                Ok(Some(st)) if st.kind != FileKind::Dir && st.mode & 0o111 != 0)
        })
}

/// The directories [`get_bin_path`] searches, joined as a `PATH` (for
/// `Failed to find required executable` messages).
pub fn searched_path(opt_dirs: &[&str]) -> String {
    opt_dirs
        .iter()
        .chain(DIRS.iter().filter(|d| !opt_dirs.contains(d)))
        .copied()
        .collect::<Vec<_>>()
        .join(":")
}
