//! Playbooks run through ansible-playbook and through rustle, each into
//! its own directory: both must succeed, print the same output (banners,
//! result lines and recap; Ansible's warnings aside) and leave byte-
//! identical files with the same modes.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rustle_e2e::{recap, run_ansible, run_rustle};

/// Every file under `dir` with its mode and bytes, sorted.
fn tree(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.push((rel + "/", mode, Vec::new()));
                stack.push(p);
            } else {
                out.push((rel, mode, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The output with Ansible's warnings dropped and times blanked.
fn comparable(b: &[u8]) -> String {
    let times = regex::Regex::new(r#""(delta|start|end)": "[^"]*""#).unwrap();
    let text = String::from_utf8_lossy(b)
        .lines()
        .filter(|l| !l.starts_with("[WARNING]"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = times.replace_all(&text, r#""$1": "-""#);
    // Hosts finish a task in any order; compare each section's lines as a set.
    text.split("\n\n")
        .map(|section| {
            let mut lines: Vec<&str> = section.lines().collect();
            lines.sort_unstable();
            lines.join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Runs `playbook` with `-e VAR=<own dir>` through both tools and compares.
fn same_as_ansible(playbook: &str, var: &str) {
    same_as_ansible_with(playbook, var, &[]);
}

fn same_as_ansible_with(playbook: &str, var: &str, args: &[&str]) {
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

#[test]
fn demo_matches_ansible() {
    same_as_ansible("fixtures/demo/site.yml", "demo_dir");
}

#[test]
fn blocks_match_ansible() {
    same_as_ansible("fixtures/playbooks/blocks.yml", "out");
}

#[test]
fn roles_and_imports_match_ansible() {
    same_as_ansible("fixtures/playbooks/roles/site.yml", "out");
}

#[test]
fn inventory_variables_match_ansible() {
    same_as_ansible_with(
        "fixtures/playbooks/inventory/site.yml",
        "out",
        &["-i", "fixtures/playbooks/inventory/hosts.ini"],
    );
}
