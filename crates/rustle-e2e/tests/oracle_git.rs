//! git against ansible-playbook: the test makes a small source repository
//! (fixed author, committer and dates, so its shas are the same on every
//! run) and both tools clone, update, switch and reset from it under their
//! own directories (fixtures/playbooks/modules/git.yml); output, diffs,
//! the files left behind (.git included) and check mode are compared.
//!
//! Two clones of one repository differ by nature in a few .git files,
//! which the comparison masks and nothing else: the index (it caches each
//! file's times, inode and device; it is compared as `git ls-files
//! --stage` lists it) and the reflogs under `logs/` (each line's time;
//! the rest of the line, which names the operation, is compared).

use std::path::Path;
use std::process::Command;

use rustle_e2e::oracle::twice_and_checked_as_ansible_with_files;
use rustle_e2e::{TreeEntry, tree};

/// Runs git in `dir` with a fixed identity and time; returns its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Rustle Test")
        .env("GIT_AUTHOR_EMAIL", "test@rustle.invalid")
        .env("GIT_COMMITTER_NAME", "Rustle Test")
        .env("GIT_COMMITTER_EMAIL", "test@rustle.invalid")
        .env("GIT_AUTHOR_DATE", "2024-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2024-01-02T03:04:05Z")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("running git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The source repository: main with two commits (lightweight tag v1 on
/// the first, annotated v2 on the second), feature one commit ahead.
/// Returns the first commit's sha.
fn make_source(src: &Path) -> String {
    std::fs::create_dir_all(src).unwrap();
    git(src, &["init", "-q", "-b", "main"]);
    std::fs::write(src.join("a.txt"), "one\n").unwrap();
    git(src, &["add", "a.txt"]);
    git(src, &["commit", "-q", "-m", "first"]);
    git(src, &["tag", "v1"]);
    std::fs::write(src.join("a.txt"), "one\ntwo\n").unwrap();
    std::fs::write(src.join("b.txt"), "bee\n").unwrap();
    git(src, &["add", "a.txt", "b.txt"]);
    git(src, &["commit", "-q", "-m", "second"]);
    git(src, &["tag", "-a", "v2", "-m", "version 2"]);
    git(src, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(src.join("f.txt"), "feature\n").unwrap();
    git(src, &["add", "f.txt"]);
    git(src, &["commit", "-q", "-m", "feature"]);
    git(src, &["checkout", "-q", "main"]);
    git(src, &["rev-parse", "v1"])
}

/// [`tree`] with the index as `git ls-files --stage` and the reflogs
/// without their times.
fn git_tree(dir: &Path) -> Vec<TreeEntry> {
    let time = regex::Regex::new(r"> \d+ [+-]\d{4}\t").unwrap();
    let mut entries = tree(dir);
    for e in &mut entries {
        let Some((repo, inside)) = e.path.split_once(".git/") else {
            continue;
        };
        let git_dir = dir.join(format!("{repo}.git"));
        if inside == "index" {
            e.bytes = git(&git_dir, &["--git-dir", ".", "ls-files", "--stage"]).into_bytes();
        } else if inside.starts_with("logs/") && !inside.ends_with('/') {
            let text = String::from_utf8_lossy(&e.bytes);
            e.bytes = time
                .replace_all(&text, "> TIME\t")
                .into_owned()
                .into_bytes();
        }
    }
    entries
}

#[test]
fn git_module_matches_ansible() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let sha1 = make_source(&src);
    assert_eq!(sha1, "d9db7f0936c795612512ce55a207f74c337d8b86");
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&src, &link).unwrap();
    let src_var = format!("src={}", src.display());
    let link_var = format!("link={}", link.display());
    let sha_var = format!("sha1={sha1}");
    twice_and_checked_as_ansible_with_files(
        "fixtures/playbooks/modules/git.yml",
        true,
        &["-e", &src_var, "-e", &link_var, "-e", &sha_var],
        &|s| s.to_owned(),
        &git_tree,
    );
}
