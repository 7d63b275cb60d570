//! pip against ansible-playbook, offline: the test builds wheels of the
//! tiny packages in fixtures/pip/ (rustle-demo 1.0 and 2.0, rustle_extra
//! 0.1) with the host's `python3 -m pip wheel --no-index
//! --no-build-isolation`, and both tools run fixtures/playbooks/modules/pip.yml
//! with `-e wheels=<that directory>`: each makes its own virtualenvs under
//! its own `out` directory (`python3 -m venv`, the host's /usr/bin/python3)
//! and installs from the wheels only (`--no-index --find-links`). One run
//! (the playbook repeats its installs to show they change nothing), then
//! `--check --diff` from nothing: output and recaps compared; the files compared are
//! what the packages left in site-packages (their dist-info directories
//! and modules, `__pycache__` aside) and the venv's pyvenv.cfg, not the
//! whole venvs (their scripts name their absolute paths).

use std::path::Path;
use std::process::Command;

use regex::Regex;
use rustle_e2e::oracle::once_and_checked_as_ansible_with_files;
use rustle_e2e::{TreeEntry, root, tree};

const PYTHON: &str = "/usr/bin/python3";

/// Copies the source tree `from` to `to` (setuptools builds in the tree).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Builds the fixture packages' wheels into `dir/wheels` (two pip runs:
/// one run cannot hold two versions of one distribution); returns it.
fn build_wheels(dir: &Path) -> std::path::PathBuf {
    let ready = Command::new(PYTHON)
        .args(["-c", "import setuptools, wheel"])
        .status()
        .expect("running python3");
    assert!(
        ready.success(),
        "{PYTHON} needs setuptools and wheel to build the test's packages"
    );
    let wheels = dir.join("wheels");
    let sources = root().join("fixtures/pip");
    for group in [
        &["rustle-demo-1.0", "rustle-extra-0.1"][..],
        &["rustle-demo-2.0"],
    ] {
        let mut cmd = Command::new(PYTHON);
        cmd.args(["-m", "pip", "wheel", "-q", "--no-deps", "--no-index"])
            .args(["--no-build-isolation", "-w"])
            .arg(&wheels)
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env_remove("PIP_FIND_LINKS");
        for name in group {
            let src = dir.join("src").join(name);
            copy_tree(&sources.join(name), &src);
            cmd.arg(&src);
        }
        let out = cmd.output().expect("running pip wheel");
        assert!(
            out.status.success(),
            "pip wheel failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wheels
}

/// pip names paths under its working directory (the temporary directory
/// holding both tools' `out` directories) relatively: `./.tmpXXX/a/venv/`.
fn mask_relative_out(text: &str) -> String {
    let re = Regex::new(r"\./(?:[\w.-]+/)+[ar]/venv/").unwrap();
    re.replace_all(text, "$$OUT/venv/").into_owned()
}

/// What pip left: outside the venv everything, inside it the packages'
/// files in site-packages and pyvenv.cfg (which names `dir`: `$OUT`).
fn installed(dir: &Path) -> Vec<TreeEntry> {
    let dir_text = dir.display().to_string();
    tree(dir)
        .into_iter()
        .filter(|e| match e.path.strip_prefix("venv/") {
            None => true,
            Some(inside) => {
                inside == "pyvenv.cfg"
                    || (inside.contains("/site-packages/rustle") && !inside.contains("__pycache__"))
            }
        })
        .map(|mut e| {
            let text = String::from_utf8_lossy(&e.bytes).replace(&dir_text, "$OUT");
            e.bytes = text.into_bytes();
            e
        })
        .collect()
}

#[test]
fn pip_matches_ansible() {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = build_wheels(tmp.path());
    let var = format!("wheels={}", wheels.display());
    once_and_checked_as_ansible_with_files(
        "fixtures/playbooks/modules/pip.yml",
        &["-e", &var],
        &mask_relative_out,
        &|dir| {
            let files = installed(dir);
            if dir.exists() {
                // The packages really are there (the run's end).
                assert!(
                    files.iter().any(|e| e.path.contains("rustle_demo-")),
                    "no rustle-demo in {}",
                    dir.display()
                );
            }
            files
        },
    );
}
