//! Oracle comparisons: a playbook run through ansible-playbook and through
//! rustle, each into its own directory (`-e VAR=<dir>`): both succeed,
//! print the same output (banners, result lines and recap; Ansible's
//! warnings aside) and leave byte-identical files with the same modes and
//! owners.

use std::path::Path;

use crate::{TreeEntry, comparable, recap, run_ansible, run_rustle, tree};

/// Which tool an output came from, for per-tool normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Ansible,
    Rustle,
}

/// One run of `playbook` through both tools, ansible-playbook with
/// `-e out=<a_dir>` and rustle with `-e out=<r_dir>`, each with `args`:
/// both succeed and print the same output once each tool's directory is
/// `$OUT` and `normalise` has made the tools' own names common (the test
/// names the run `what`). Returns the recaps, ansible-playbook's first.
pub fn run_both(
    playbook: &str,
    (a_dir, r_dir): (&Path, &Path),
    args: &[&str],
    what: &str,
    normalise: &dyn Fn(Tool, &str) -> String,
) -> (Vec<String>, Vec<String>) {
    let a_var = format!("out={}", a_dir.display());
    let r_var = format!("out={}", r_dir.display());
    let ansible = run_ansible(&[&[playbook, "-e", &a_var], args].concat());
    let rustle = crate::run_rustle_planned(&[playbook, "-e", &r_var], args);
    let out = |tool, text: &[u8], dir: &Path| {
        normalise(
            tool,
            &comparable(text).replace(&dir.display().to_string(), "$OUT"),
        )
    };
    let a = out(Tool::Ansible, &ansible.stdout, a_dir);
    let r = out(Tool::Rustle, &rustle.stderr, r_dir);
    assert_eq!(
        ansible.status.code(),
        Some(0),
        "ansible-playbook ({what}):\n{a}"
    );
    assert_eq!(a, r, "{what}");
    assert_eq!(rustle.status.code(), Some(0), "rustle ({what}):\n{r}");
    (recap(&ansible.stdout), recap(&rustle.stderr))
}

/// Runs `playbook` with `-e VAR=<own dir>` through both tools and compares.
pub fn same_as_ansible(playbook: &str, var: &str) {
    same_as_ansible_with(playbook, var, &[]);
}

/// `same_as_ansible` with more arguments for both tools.
pub fn same_as_ansible_with(playbook: &str, var: &str, args: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    let a_var = format!("{var}={}", a_dir.display());
    let r_var = format!("{var}={}", r_dir.display());
    let ansible = run_ansible(&[&[playbook, "-e", &a_var], args].concat());
    let rustle = run_rustle(&[&[playbook, "-e", &r_var], args].concat());
    let a = comparable(&ansible.stdout);
    let r = comparable(&rustle.stderr);
    assert_eq!(
        ansible.status.code(),
        Some(0),
        "ansible-playbook failed:\n{a}"
    );
    assert_eq!(rustle.status.code(), Some(0), "rustle failed:\n{r}");
    assert!(!recap(&ansible.stdout).is_empty());
    let a = a.replace(&a_dir.display().to_string(), "$OUT");
    let r = r.replace(&r_dir.display().to_string(), "$OUT");
    assert_eq!(a, r);
    assert_eq!(tree(&a_dir), tree(&r_dir), "the files left behind differ");
}

/// Two runs, the first with `--diff`, then a `--check --diff` run on a
/// fresh directory: output, files and recaps as ansible-playbook's.
pub fn twice_and_checked_as_ansible(playbook: &str, idempotent: bool) {
    twice_and_checked_as_ansible_with(playbook, idempotent, &[], &|s| s.to_owned());
}

/// `twice_and_checked_as_ansible` with more arguments for both tools
/// (`-e url=...`) and `mask` applied to both outputs before comparing
/// (for values that differ by nature, such as temporary file names).
pub fn twice_and_checked_as_ansible_with(
    playbook: &str,
    idempotent: bool,
    args: &[&str],
    mask: &dyn Fn(&str) -> String,
) {
    twice_and_checked_as_ansible_with_files(playbook, idempotent, args, mask, &tree);
}

/// `twice_and_checked_as_ansible_with` comparing the files left behind as
/// `files` lists them (a [`tree`] with what differs by nature masked,
/// such as the timestamps in a git index).
pub fn twice_and_checked_as_ansible_with_files(
    playbook: &str,
    idempotent: bool,
    args: &[&str],
    mask: &dyn Fn(&str) -> String,
    files: &dyn Fn(&Path) -> Vec<TreeEntry>,
) {
    runs_with_files(playbook, 2, idempotent, args, mask, files);
    checked_as_ansible(playbook, args, mask);
}

/// [`twice_and_checked_as_ansible_with_files`] with one run before the
/// check, for a playbook that repeats its own tasks to show they change
/// nothing the second time (and whose runs are slow).
pub fn once_and_checked_as_ansible_with_files(
    playbook: &str,
    args: &[&str],
    mask: &dyn Fn(&str) -> String,
    files: &dyn Fn(&Path) -> Vec<TreeEntry>,
) {
    runs_with_files(playbook, 1, false, args, mask, files);
    checked_as_ansible(playbook, args, mask);
}

/// A `--check --diff` run of both tools on a fresh directory: the same
/// output, and no files written.
fn checked_as_ansible(playbook: &str, args: &[&str], mask: &dyn Fn(&str) -> String) {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    let a_var = format!("out={}", a_dir.display());
    let r_var = format!("out={}", r_dir.display());
    let check: &[&str] = &["--check", "--diff"];
    let ansible = run_ansible(&[&[playbook, "-e", &a_var], args, check].concat());
    let rustle = crate::run_rustle_planned(&[&[playbook, "-e", &r_var], args].concat(), check);
    let a = mask(&comparable(&ansible.stdout).replace(&a_dir.display().to_string(), "$OUT"));
    let r = mask(&comparable(&rustle.stderr).replace(&r_dir.display().to_string(), "$OUT"));
    assert_eq!(a, r, "--check --diff");
    assert!(!r_dir.exists(), "check mode wrote files");
}

/// Two runs of `playbook` through both tools, the first with `--diff`: the
/// same output and diff hunks each time, the same files after each, and
/// changed=0 on the second when `idempotent`.
pub fn same_as_ansible_twice(playbook: &str, idempotent: bool) {
    same_as_ansible_twice_with(playbook, idempotent, &[], &|s| s.to_owned());
}

/// `same_as_ansible_twice` with more arguments and a mask, as
/// [`twice_and_checked_as_ansible_with`].
pub fn same_as_ansible_twice_with(
    playbook: &str,
    idempotent: bool,
    args: &[&str],
    mask: &dyn Fn(&str) -> String,
) {
    runs_with_files(playbook, 2, idempotent, args, mask, &tree);
}

fn runs_with_files(
    playbook: &str,
    runs: usize,
    idempotent: bool,
    args: &[&str],
    mask: &dyn Fn(&str) -> String,
    files: &dyn Fn(&Path) -> Vec<TreeEntry>,
) {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    let a_var = format!("out={}", a_dir.display());
    let r_var = format!("out={}", r_dir.display());
    for run in 0..runs {
        // The first run shows its diffs.
        let diff: &[&str] = if run == 0 { &["--diff"] } else { &[] };
        let ansible = run_ansible(&[&[playbook, "-e", &a_var], args, diff].concat());
        let rustle = crate::run_rustle_planned(&[&[playbook, "-e", &r_var], args].concat(), diff);
        let a = mask(&comparable(&ansible.stdout).replace(&a_dir.display().to_string(), "$OUT"));
        let r = mask(&comparable(&rustle.stderr).replace(&r_dir.display().to_string(), "$OUT"));
        assert_eq!(ansible.status.code(), Some(0), "{a}");
        assert_eq!(a, r, "run {run}");
        let a_diff = crate::diff_lines(&ansible.stdout).join("\n");
        let r_diff = crate::diff_lines(&rustle.stderr).join("\n");
        let a_diff = a_diff.replace(&a_dir.display().to_string(), "$OUT");
        let r_diff = r_diff.replace(&r_dir.display().to_string(), "$OUT");
        assert_eq!(mask(&a_diff), mask(&r_diff), "diff lines of run {run}");
        assert_eq!(files(&a_dir), files(&r_dir), "files after run {run}");
        if run == 1 && idempotent {
            let recap = recap(&rustle.stderr);
            assert!(recap.iter().all(|l| l.contains("changed=0")), "{recap:?}");
        }
    }
}
