//! Ctrl-C (SIGINT to rustle-exec) while every host runs a task: the running
//! tasks finish and are shown, no further task starts, the recap is
//! printed after "User interrupted execution", and the exit code is 99 as
//! ansible-playbook's. Both with the engine in exec and with runners.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use rustle_e2e::{bin, root, runner_cache, stage_ok};

fn inventory(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("hosts.ini");
    let text = format!(
        "h1\nh2\nh3\n[all:vars]\nansible_connection=local\nrustle_remote_dir={}\n",
        dir.join("remote").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs exec on `doc`, sends SIGINT once a host has started the sleep,
/// and returns (exit code, stderr).
fn interrupted_exec(doc: &[u8]) -> (Option<i32>, String) {
    let mut child = Command::new(bin("rustle-exec"))
        .current_dir(root())
        .env("RUSTLE_CACHE_DIR", runner_cache())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(doc).unwrap();
    let mut err = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).unwrap();
        s
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("\"task_start\"") && line.contains("\"Sleep\"") {
            break;
        }
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    for line in lines {
        line.unwrap();
    }
    let code = child.wait().unwrap().code();
    (code, errors.join().unwrap())
}

fn check(deploy: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let inv = inventory(tmp.path());
    let var = format!("out={}", out.display());
    let parsed = stage_ok(
        "rustle-parse",
        &[
            "fixtures/playbooks/interrupt/site.yml",
            "-i",
            inv.to_str().unwrap(),
            "-e",
            &var,
        ],
        &[],
        b"",
    );
    let mut doc = stage_ok("rustle-plan", &[], &[], &parsed.stdout).stdout;
    if deploy {
        let cache = runner_cache();
        doc = stage_ok("rustle-deploy", &[], &[("RUSTLE_CACHE_DIR", &cache)], &doc).stdout;
    }
    let (code, stderr) = interrupted_exec(&doc);
    assert_eq!(code, Some(99), "{stderr}");
    let interrupted = stderr
        .find("[ERROR]: User interrupted execution")
        .unwrap_or_else(|| panic!("no interruption message:\n{stderr}"));
    let recap = stderr.find("PLAY RECAP").expect("a recap");
    assert!(interrupted < recap, "{stderr}");
    for host in ["h1", "h2", "h3"] {
        assert!(
            stderr.contains(&format!("changed: [{host}]")),
            "the running sleep is shown for {host}:\n{stderr}"
        );
        assert!(
            !out.join(format!("{host}.after")).exists(),
            "a task started after Ctrl-C on {host}"
        );
    }
    assert!(!stderr.contains("TASK [Never started]"), "{stderr}");
}

#[test]
fn ctrl_c_with_the_engine_in_exec() {
    check(false);
}

#[test]
fn ctrl_c_with_runners() {
    check(true);
}
