//! The whole pipe on the demo playbook, on this machine:
//! `rustle-parse | rustle-plan | rustle-deploy --verify | rustle-exec`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rustle_e2e::{events, recap_line, runner_cache, stage, stage_ok};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Runs the demo through all four stages with its files in `dir`.
fn run_demo(dir: &Path, home: &Path, inventory: &Path) -> std::process::Output {
    let demo_dir = format!("demo_dir={}", dir.display());
    let envs: &[(&str, &Path)] = &[("RUSTLE_CACHE_DIR", &runner_cache()), ("HOME", home)];
    let parsed = stage_ok(
        "rustle-parse",
        &[
            "fixtures/demo/site.yml",
            "-i",
            inventory.to_str().unwrap(),
            "-e",
            &demo_dir,
        ],
        envs,
        b"",
    );
    let planned = stage_ok("rustle-plan", &[], envs, &parsed.stdout);
    let deployed = stage_ok("rustle-deploy", &["--verify"], envs, &planned.stdout);
    stage("rustle-exec", &[], envs, &deployed.stdout)
}

#[test]
fn demo_pipeline_converges_and_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let inventory = tmp.path().join("hosts");
    std::fs::write(&inventory, "localhost ansible_connection=local\n").unwrap();

    let first = run_demo(&dir, &home, &inventory);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{stderr}");
    assert_eq!(
        recap_line(&first.stderr, "localhost"),
        "localhost : ok=7 changed=3 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    assert!(stderr.contains("\nPLAY [Rustle demo] ****"), "{stderr}");
    assert!(
        stderr.contains("\"msg\": \"The file says: Hello from Rustle\""),
        "{stderr}"
    );

    // The state on disk.
    assert_eq!(mode(&dir), 0o755);
    assert_eq!(
        std::fs::read_to_string(dir.join("greeting.txt")).unwrap(),
        "Hello from Rustle\n"
    );
    assert_eq!(mode(&dir.join("greeting.txt")), 0o640);
    let motd = std::fs::read(Path::new("../../fixtures/demo/files/motd.txt")).unwrap();
    assert_eq!(std::fs::read(dir.join("motd.txt")).unwrap(), motd);
    assert_eq!(mode(&dir.join("motd.txt")), 0o644);
    assert!(
        !dir.join("marker").exists(),
        "a task with `when: false` ran"
    );

    // The event stream: JSON lines, one result per task, stats last.
    let evs = events(&first.stdout);
    let results = evs.iter().filter(|e| e["event"] == "task_result").count();
    assert_eq!(results, 8);
    let last = evs.last().unwrap();
    assert_eq!(last["event"], "stats");
    assert_eq!(last["exit_code"], 0);
    assert_eq!(last["hosts"]["localhost"]["changed"], 3);

    // A second run changes nothing.
    let second = run_demo(&dir, &home, &inventory);
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        recap_line(&second.stderr, "localhost"),
        "localhost : ok=7 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
}

#[test]
fn a_failed_task_exits_2_and_stops_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("fail.yml");
    let marker = tmp.path().join("after");
    std::fs::write(
        &book,
        format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: /bin/false\n    - file: path={} state=touch\n",
            marker.display()
        ),
    )
    .unwrap();
    let parsed = stage_ok("rustle-parse", &[book.to_str().unwrap()], &[], b"");
    let planned = stage_ok("rustle-plan", &[], &[], &parsed.stdout);
    // No deployment: exec runs the engine in process for a local host.
    let out = stage("rustle-exec", &[], &[], &planned.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("fatal: [localhost]: FAILED! => {"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"msg\": \"non-zero return code\""),
        "{stderr}"
    );
    assert_eq!(
        recap_line(&out.stderr, "localhost"),
        "localhost : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
    assert!(!marker.exists(), "a task after a failure ran");
}

#[test]
fn every_stage_refuses_a_document_at_the_wrong_stage() {
    let parsed = stage_ok("rustle-parse", &["fixtures/demo/site.yml"], &[], b"");
    for tool in ["rustle-deploy", "rustle-exec"] {
        let out = stage(tool, &[], &[], &parsed.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{tool}: {stderr}");
        assert!(out.stdout.is_empty(), "{tool} wrote to stdout on error");
        assert!(
            stderr.contains("$.stage: expected a document at stage planned")
                && stderr.contains("found \"parsed\""),
            "{tool}: {stderr}"
        );
    }
    let out = stage("rustle-exec", &[], &[], b"not json");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("malformed JSON at line 1, column 2"));
}

#[test]
fn a_runner_refuses_a_payload_with_a_flipped_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let envs: &[(&str, &Path)] = &[("RUSTLE_CACHE_DIR", &runner_cache())];
    let parsed = stage_ok("rustle-parse", &["fixtures/demo/site.yml"], envs, b"");
    let planned = stage_ok("rustle-plan", &[], envs, &parsed.stdout);
    let out_dir = tmp.path().join("out");
    let deployed = stage_ok(
        "rustle-deploy",
        &["--compile-only", "--output-dir", out_dir.to_str().unwrap()],
        envs,
        &planned.stdout,
    );
    let doc: serde_json::Value = serde_json::from_slice(&deployed.stdout).unwrap();
    let runner = Path::new(
        doc["deployment"]["hosts"]["localhost"]["path"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(runner, out_dir.join("localhost/rustle-runner"));

    // Intact, it shows its slice.
    let ok = std::process::Command::new(runner)
        .arg("--print-slice")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let slice: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(slice["host"], "localhost");

    // One flipped bit inside the payload (just before the 52-byte trailer).
    let mut bytes = std::fs::read(runner).unwrap();
    let i = bytes.len() - 52 - 10;
    bytes[i] ^= 0x01;
    let bad = tmp.path().join("bad-runner");
    rustle_testkit::write_executable(&bad, &bytes).unwrap();
    let out = std::process::Command::new(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("rustle-runner: error: payload sha256 mismatch: expected "),
        "{stderr}"
    );
}

/// A document printed to a terminal (here a pty from `script`) shows
/// passwords as `********`; piped to the next stage it keeps them.
#[test]
fn passwords_are_starred_on_a_terminal_only() {
    let tmp = tempfile::tempdir().unwrap();
    let inventory = tmp.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        "h ansible_connection=local ansible_become_password=hunter2\n",
    )
    .unwrap();
    let book = rustle_e2e::root().join("fixtures/demo/site.yml");
    let parse = rustle_e2e::bin("rustle-parse");
    let cmd = format!(
        "{} {} -i {}",
        parse.display(),
        book.display(),
        inventory.display()
    );
    let tty = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{shown}");
    assert!(
        shown.contains(r#""ansible_become_password": "********""#),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"));
    let piped = rustle_e2e::stage_ok(
        "rustle-parse",
        &[book.to_str().unwrap(), "-i", inventory.to_str().unwrap()],
        &[],
        b"",
    );
    assert!(String::from_utf8_lossy(&piped.stdout).contains("hunter2"));
}
