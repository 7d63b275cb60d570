//! service and systemd run through ansible-playbook and through rustle.
//! Services are machine-global, so each tool gets its own throwaway SysV
//! init script, `/etc/init.d/rustle-test-svc-a` for ansible-playbook
//! (`out=<tmp>/a`) and `-r` for rustle (`<tmp>/r`), made from
//! `fixtures/playbooks/modules/files/rustle-test-svc`. Outputs, the
//! scripts' logs of what they were asked to do and the rc links left
//! behind are compared with the name normalised. The scripts, their
//! processes, pidfiles, logs and rc links are removed before and after,
//! even when the test fails. This machine runs no systemd, so the systemd
//! tasks show its failures.

use std::path::Path;
use std::process::Command;

use rustle_e2e::oracle::{Tool, run_both};
use rustle_e2e::root;

const BOOK: &str = "fixtures/playbooks/modules/service.yml";
const TOOLS: [&str; 2] = ["a", "r"];

fn service(tool: &str) -> String {
    format!("rustle-test-svc-{tool}")
}

/// Stops and removes the test's services when dropped.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        for tool in TOOLS {
            remove_service(&service(tool));
        }
    }
}

fn remove_service(name: &str) {
    let script = format!("/etc/init.d/{name}");
    if Path::new(&script).exists() {
        let _ = Command::new(&script).arg("stop").output();
    }
    for level in ["0", "1", "2", "3", "4", "5", "6", "S"] {
        let dir = format!("/etc/rc{level}.d");
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.len() == name.len() + 3 && file.ends_with(name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    for path in [
        script,
        format!("/run/{name}.pid"),
        format!("/run/{name}.log"),
    ] {
        let _ = std::fs::remove_file(path);
    }
}

fn install_service(tool: &str) {
    let name = service(tool);
    remove_service(&name);
    let text =
        std::fs::read_to_string(root().join("fixtures/playbooks/modules/files/rustle-test-svc"))
            .expect("the init script fixture");
    let script = format!("/etc/init.d/{name}");
    std::fs::write(&script, text.replace("rustle-test-svc-X", &name))
        .expect("writing the init script");
    let status = Command::new("chmod")
        .args(["755", &script])
        .status()
        .expect("chmod");
    assert!(status.success());
}

/// What the tool's init script was asked to do, and its rc links.
fn traces(tool: &str) -> (String, Vec<String>) {
    let name = service(tool);
    let log = std::fs::read_to_string(format!("/run/{name}.log")).unwrap_or_default();
    let mut links = Vec::new();
    for level in ["0", "1", "2", "3", "4", "5", "6", "S"] {
        for entry in std::fs::read_dir(format!("/etc/rc{level}.d"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.ends_with(&name) {
                links.push(format!("rc{level}.d/{}", file.replace(&name, "X")));
            }
        }
    }
    links.sort();
    (log, links)
}

/// Both tools with `args`: the same normalised output, scripts' logs and
/// rc links; returns the recaps.
fn both(tmp: &Path, args: &[&str], what: &str) -> (Vec<String>, Vec<String>) {
    for tool in TOOLS {
        install_service(tool);
    }
    let (a_dir, r_dir) = (tmp.join("a"), tmp.join("r"));
    let recaps = run_both(BOOK, (&a_dir, &r_dir), args, what, &|tool, text| {
        let own = service(if tool == Tool::Ansible { "a" } else { "r" });
        text.replace(&own, "rustle-test-svc-X")
    });
    assert_eq!(
        traces("a"),
        traces("r"),
        "{what}: what the init scripts did"
    );
    recaps
}

#[test]
fn service_and_systemd_as_ansible() {
    let _cleanup = Cleanup;
    let tmp = tempfile::tempdir().unwrap();

    let (a, r) = both(tmp.path(), &[], "a run");
    assert_eq!(a, r);
    let (log, links) = traces("r");
    assert!(log.contains("reload reload --fast two words"), "{log}");
    assert!(log.contains("stop stop now\nstart start now"), "{log}");
    assert!(links.iter().any(|l| l.starts_with("rc2.d/K")), "{links:?}");
    assert!(!links.iter().any(|l| l.contains("/S")), "{links:?}");

    let (a, r) = both(tmp.path(), &["--check"], "--check");
    assert_eq!(a, r);
    assert_eq!(traces("r").1, Vec::<String>::new(), "check mode enabled it");
}
