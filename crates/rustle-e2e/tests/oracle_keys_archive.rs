//! authorized_key (ansible.posix) and archive (community.general) against
//! ansible-playbook. authorized_key: keys files under each tool's own
//! directory (output, diffs, files and check mode compared by the oracle).
//! archive: the tools write archives with different header bytes (times,
//! tar formats, compressors), so after each run the files are compared as
//! `tree` compares them except that an archive's bytes are replaced by
//! its members as Python's tarfile, zipfile, gzip, bz2 and lzma read them
//! (order, names, types, modes, owners, link targets and a hash of each
//! member's content); the outputs are compared with the archives' sizes
//! masked. Two runs (the second re-archives unchanged sources), then
//! --check --diff from fresh directories, which must write nothing.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use rustle_e2e::oracle::{run_both, twice_and_checked_as_ansible};
use rustle_e2e::{TreeEntry, tree};

#[test]
fn authorized_key_matches_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/authorized_key.yml", false);
}

/// Lists an archive's members with Python's own readers.
const LISTER: &str = r#"
import sys, tarfile, zipfile, gzip, bz2, lzma, hashlib
def h(b): return hashlib.sha1(b).hexdigest()
p = sys.argv[1]
out = []
if zipfile.is_zipfile(p):
    with zipfile.ZipFile(p) as z:
        for i in z.infolist():
            data = "" if i.is_dir() else h(z.read(i))
            out.append("zip %s mode=%o %s" % (i.filename, i.external_attr >> 16, data))
else:
    try:
        with tarfile.open(p) as t:
            for m in t.getmembers():
                data = h(t.extractfile(m).read()) if m.isreg() else ""
                out.append("tar %s type=%s mode=%o owner=%d:%d/%s:%s size=%d link=%s %s" % (
                    m.name, m.type.decode(), m.mode, m.uid, m.gid, m.uname, m.gname,
                    m.size, m.linkname, data))
    except tarfile.ReadError:
        for opener in (gzip.open, bz2.open, lzma.open):
            try:
                with opener(p) as f:
                    out.append("%s %s" % (opener.__module__, h(f.read())))
                break
            except Exception:
                pass
        else:
            out.append("not an archive")
print("\n".join(out))
"#;

fn members(path: &Path) -> Vec<u8> {
    let out = Command::new("python3")
        .args(["-c", LISTER])
        .arg(path)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `tree`, with each archive's bytes replaced by its members.
fn contents(dir: &Path) -> Vec<TreeEntry> {
    let archive = [".tgz", ".gz", ".bz2", ".xz", ".tar", ".zip"];
    tree(dir)
        .into_iter()
        .map(|mut e| {
            if archive.iter().any(|x| e.path.ends_with(x)) && !e.path.ends_with('/') {
                e.bytes = members(&dir.join(&e.path));
            }
            e
        })
        .collect()
}

/// The archives' sizes differ by nature.
fn mask(text: &str) -> String {
    static SIZE: OnceLock<regex::Regex> = OnceLock::new();
    let size = SIZE.get_or_init(|| regex::Regex::new(r#""size": \d+"#).unwrap());
    size.replace_all(text, r#""size": N"#).into_owned()
}

#[test]
fn archive_matches_ansible() {
    let book = "fixtures/playbooks/modules/archive.yml";
    let tmp = tempfile::tempdir().unwrap();
    let (a, r) = (tmp.path().join("a"), tmp.path().join("r"));
    let runs: [&[&str]; 2] = [&["--diff"], &[]];
    for (run, args) in runs.into_iter().enumerate() {
        run_both(book, (&a, &r), args, &format!("run {run}"), &|_, s| mask(s));
        let (a_files, r_files) = (contents(&a), contents(&r));
        assert!(a_files.iter().any(|e| e.path == "src.zip"));
        assert_eq!(a_files, r_files, "files after run {run}");
    }
    let (a, r) = (tmp.path().join("check_a"), tmp.path().join("check_r"));
    run_both(
        book,
        (&a, &r),
        &["--check", "--diff"],
        "--check --diff",
        &|_, s| mask(s),
    );
    assert!(!r.exists(), "check mode wrote files");
}
