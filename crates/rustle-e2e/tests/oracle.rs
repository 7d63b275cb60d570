//! Assertion playbooks run through ansible-playbook and through rustle:
//! both must pass and report the same recap counts.

use rustle_e2e::{recap, run_ansible, run_rustle};

fn same_as_ansible(playbook: &str) {
    let ansible = run_ansible(&[playbook]);
    let rustle = run_rustle(&[playbook]);
    let a = String::from_utf8_lossy(&ansible.stdout);
    let r = String::from_utf8_lossy(&rustle.stderr);
    assert_eq!(
        ansible.status.code(),
        Some(0),
        "ansible-playbook failed:\n{a}"
    );
    assert_eq!(rustle.status.code(), Some(0), "rustle failed:\n{r}");
    assert_eq!(
        recap(&ansible.stdout),
        recap(&rustle.stderr),
        "ansible:\n{a}\nrustle:\n{r}"
    );
}

#[test]
fn blocks_match_ansible() {
    same_as_ansible("fixtures/playbooks/blocks.yml");
}

#[test]
fn demo_matches_ansible_line_for_line() {
    let tmp = tempfile::tempdir().unwrap();
    let ansible_dir = format!("demo_dir={}", tmp.path().join("a").display());
    let rustle_dir = format!("demo_dir={}", tmp.path().join("r").display());
    let ansible = run_ansible(&["fixtures/demo/site.yml", "-e", &ansible_dir]);
    let rustle = run_rustle(&["fixtures/demo/site.yml", "-e", &rustle_dir]);
    assert_eq!(ansible.status.code(), Some(0));
    assert_eq!(rustle.status.code(), Some(0));
    // The whole output, banners and results, is the same text.
    let drop_warnings = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| !l.starts_with("[WARNING]"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        drop_warnings(&ansible.stdout),
        drop_warnings(&rustle.stderr)
    );
}
