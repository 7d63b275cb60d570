//! rustle-plan as a user runs it: a parsed document on stdin, a planned
//! one (or an error naming what was wrong) on stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/golden")
        .join(name)
}

fn plan(stdin: &[u8], args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rustle-plan"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn parsed_demo() -> Vec<u8> {
    std::fs::read(fixture("demo.parsed.json")).unwrap()
}

#[test]
fn plans_the_demo_deterministically() {
    let a = plan(&parsed_demo(), &["--pretty"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let b = plan(&parsed_demo(), &["--pretty"]);
    assert_eq!(a.stdout, b.stdout);
    expect_test::expect_file!["../../../fixtures/golden/demo.planned.json"]
        .assert_eq(&String::from_utf8(a.stdout).unwrap());
    // Ansible's warning about the empty inventory.
    assert!(
        String::from_utf8_lossy(&a.stderr)
            .contains("No inventory was parsed, only implicit localhost is available")
    );
}

#[test]
fn limit_matching_nothing_is_a_warning_and_an_empty_plan() {
    let out = plan(&parsed_demo(), &["--limit", "nosuchhost"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["plan"]["plays"][0]["hosts"], serde_json::json!([]));
    assert_eq!(doc["plan"]["hosts"], serde_json::json!([]));
}

/// Every refused document: exit 1, nothing on stdout, and a message that
/// names what was expected and what was found.
#[test]
fn refuses_bad_documents() {
    let demo = String::from_utf8(parsed_demo()).unwrap();
    let planned = plan(demo.as_bytes(), &[]).stdout;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "not JSON",
            b"{\"format\": \"rustle\", \"version\": 1,".to_vec(),
        ),
        ("empty input", Vec::new()),
        (
            "wrong version",
            demo.replacen("\"version\": 1", "\"version\": 7", 1)
                .into_bytes(),
        ),
        ("already planned", planned),
        (
            "unknown top-level field",
            demo.replacen("{", "{\n  \"extra\": true,", 1).into_bytes(),
        ),
        (
            "bad field",
            demo.replacen("\"gather_facts\": false", "\"gather_facts\": \"no\"", 1)
                .into_bytes(),
        ),
    ];
    let mut report = String::new();
    for (what, input) in cases {
        let out = plan(&input, &[]);
        assert!(out.stdout.is_empty(), "{what}: stdout must stay empty");
        report += &format!(
            "{what}: exit {}: {}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    expect_test::expect![[r#"
        not JSON: exit 1: rustle-plan: error: reading stdin: malformed JSON at line 1, column 34: EOF while parsing a value
        empty input: exit 1: rustle-plan: error: reading stdin: malformed JSON at line 1, column 0: EOF while parsing a value
        wrong version: exit 1: rustle-plan: error: reading stdin: $.version: expected format version 1, found 7 (this is rustle format version 1)
        already planned: exit 1: rustle-plan: error: reading stdin: $.stage: expected a document at stage parsed, found "planned"
        unknown top-level field: exit 1: rustle-plan: error: reading stdin: $.extra: unknown field `extra`, expected one of `format`, `version`, `stage`, `parsed`, `plan`, `deployment`
        bad field: exit 1: rustle-plan: error: reading stdin: $.parsed.plays[0].gather_facts: invalid type: string "no", expected a boolean
    "#]]
    .assert_eq(&report);
}

#[test]
fn explain_shows_batches_hints_and_sync_points() {
    let parsed = std::fs::read(fixture("hints.parsed.json")).unwrap();
    let out = plan(&parsed, &["--explain", "-l", "node1,node2,node5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text
        .lines()
        .map(|l| match l.find(", slice ") {
            Some(i) => format!("{}, slice …", &l[..i]),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    expect_test::expect![[r#"
        Plan for fixtures/playbooks/hints.yml: 1 play(s), 3 host(s), forks 5

        Play 1: Hints (hosts: pool, strategy linear)
          batch 1: node1 node2 node5
          tasks (6):
            Install a package                                  apt
            Once for all                                       command
            Throttled block                                    block
            Rate limited                                       uri
            Looks at another host                              debug
            meta                                               meta
          hint: Install a package -> one at a time per host (apt holds the package manager's lock on the host)
          hint: Once for all -> one host at a time (run_once: one host runs it for all)
          hint: One host at a time -> one host at a time (throttle: 1)
          hint: Rate limited -> at most 5/s (rustle_rate_limit: 5/s)
          sync: Once for all (run_once: every host gets the one result)
          sync: Looks at another host (reads other hosts' variables (hostvars))
          sync: meta (meta: flush_handlers under the linear strategy)

        Hosts:
          node1                    local, runner, slice …
          node2                    local, runner, slice …
          node5                    local, runner, slice …"#]].assert_eq(&text);
}

#[test]
fn limit_from_a_file_and_extra_vars() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("limit.txt");
    std::fs::write(&hosts, "node3\n# a comment\n\nnode6\n").unwrap();
    let parsed = std::fs::read(fixture("hints.parsed.json")).unwrap();
    let limit = format!("@{}", hosts.display());
    let out = plan(
        &parsed,
        &["-l", &limit, "-e", "a=1 b='x y'", "-e", "{\"c\": [1]}"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["plan"]["plays"][0]["hosts"],
        serde_json::json!(["node3", "node6"])
    );
    assert_eq!(
        doc["plan"]["extra_vars"],
        serde_json::json!({"a": "1", "b": "x y", "c": [1]})
    );
}

/// Golden plans for the fixture playbooks (`UPDATE_EXPECT=1` rewrites).
#[test]
fn fixture_plans_are_golden() {
    for name in ["blocks", "roles", "forms", "tags", "inventory", "hints"] {
        let parsed = std::fs::read(fixture(&format!("{name}.parsed.json"))).unwrap();
        let out = plan(&parsed, &["--pretty"]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let golden = fixture(&format!("{name}.planned.json"));
        expect_test::expect_file![golden].assert_eq(&String::from_utf8(out.stdout).unwrap());
    }
}

/// Plan never has the vault password: a vault-encrypted connection
/// variable is refused, naming the host and the variable, not guessed.
#[test]
fn refuses_vaulted_connection_variables() {
    let mut doc: serde_json::Value = serde_json::from_slice(&parsed_demo()).unwrap();
    doc["parsed"]["inventory"]["hosts"][0]["vars"]["ansible_connection"] =
        serde_json::json!({"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n6162\n"});
    let out = plan(doc.to_string().as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("host localhost: ansible_connection is vault-encrypted"),
        "{err}"
    );
}
