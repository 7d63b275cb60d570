//! Builtin modules against the local machine, in temporary directories.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use rustle_format::{HostSlice, Status};
use serde_json::json;

fn files_and_copies(dir: &tempfile::TempDir) -> HostSlice {
    let conf = path_in(dir, "etc/app");
    one_play(vec![
        task(
            "file",
            json!({"path": conf, "state": "directory", "mode": "0750"}),
        ),
        task(
            "copy",
            json!({"content": "key=value\n", "dest": format!("{conf}/app.conf"), "mode": "0640"}),
        ),
        task(
            "copy",
            json!({"src": "files/motd", "dest": format!("{conf}/"), "mode": 420}),
        ),
        task(
            "file",
            json!({"path": format!("{conf}/app.conf"), "mode": "u=rw,g=r,o="}),
        ),
        task(
            "file",
            json!({"path": format!("{conf}/gone"), "state": "absent"}),
        ),
    ])
}

fn motd() -> MemFiles {
    let mut files = MemFiles::default();
    files.0.insert("files/motd".into(), b"welcome\n".to_vec());
    files
}

#[test]
fn file_and_copy_create_files_then_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let conf = path_in(&dir, "etc/app");
    let s = files_and_copies(&dir);
    let first = run_with(&s, &motd());
    assert_eq!(
        first.statuses(),
        vec![
            Status::Changed,
            Status::Changed,
            Status::Changed,
            Status::Ok,
            Status::Ok
        ],
        "{:#?}",
        first.results()
    );
    assert_eq!(mode_of(&conf), 0o750);
    assert_eq!(
        fs::read_to_string(format!("{conf}/app.conf")).unwrap(),
        "key=value\n"
    );
    assert_eq!(mode_of(&format!("{conf}/app.conf")), 0o640);
    assert_eq!(
        fs::read_to_string(format!("{conf}/motd")).unwrap(),
        "welcome\n"
    );
    assert_eq!(mode_of(&format!("{conf}/motd")), 0o644);

    let copy = first.result(1).result;
    assert_eq!(copy["dest"], json!(format!("{conf}/app.conf")));
    assert_eq!(
        copy["checksum"],
        json!("d3eaf6cfb1e8de55432c15ddc3abcaba7944f0d2")
    );
    assert_eq!(copy["size"], json!(10));
    assert_eq!(copy["mode"], json!("0640"));
    assert_eq!(copy["state"], json!("file"));
    assert_eq!(first.result(0).result["state"], json!("directory"));
    assert_eq!(first.result(0).result["mode"], json!("0750"));

    let second = run_with(&s, &motd());
    assert_eq!(second.stats.changed, 0, "{:#?}", second.results());
    assert_eq!(second.stats.ok, 5);
}

#[test]
fn check_mode_changes_nothing_but_reports_changes() {
    let dir = tempfile::tempdir().unwrap();
    let conf = path_in(&dir, "etc/app");
    fs::create_dir_all(&conf).unwrap();
    fs::set_permissions(&conf, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let old = format!("{conf}/old");
    fs::write(&old, "keep").unwrap();
    let marker = path_in(&dir, "ran");
    let mut s = one_play(vec![
        task(
            "file",
            json!({"path": conf, "state": "directory", "mode": "0750"}),
        ),
        task(
            "copy",
            json!({"content": "key=value\n", "dest": format!("{conf}/app.conf")}),
        ),
        task(
            "copy",
            json!({"src": "files/motd", "dest": format!("{conf}/")}),
        ),
        task(
            "file",
            json!({"path": format!("{conf}/new"), "state": "touch"}),
        ),
        task("file", json!({"path": old, "state": "absent"})),
        task(
            "file",
            json!({"path": path_in(&dir, "newdir/sub"), "state": "directory"}),
        ),
        task("command", json!({"_raw_params": format!("touch {marker}")})),
    ]);
    s.check = true;
    let r = run_with(&s, &motd());
    assert_eq!(
        r.statuses(),
        vec![
            Status::Changed,
            Status::Changed,
            Status::Changed,
            Status::Changed,
            Status::Changed,
            Status::Changed,
            Status::Skipped
        ],
        "{:#?}",
        r.results()
    );
    assert_eq!(
        r.result(6).result["msg"],
        json!("Command would have run if not in check mode")
    );
    assert_eq!(mode_of(&conf), 0o755);
    let mut names: Vec<_> = fs::read_dir(&conf)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, vec!["old"]);
    assert!(!Path::new(&path_in(&dir, "newdir")).exists());
    assert!(!Path::new(&marker).exists());

    // check_mode: false on a task runs it for real even in a check run.
    std::sync::Arc::make_mut(&mut s.plays[0].tasks)[0]
        .1
        .keywords
        .insert("check_mode".into(), json!(false));
    run_with(&s, &motd());
    assert_eq!(mode_of(&conf), 0o750);
    assert!(!Path::new(&format!("{conf}/app.conf")).exists());
}

#[test]
fn copy_replaces_changed_content_atomically_and_keeps_mode() {
    let dir = tempfile::tempdir().unwrap();
    let dest = path_in(&dir, "f.txt");
    fs::write(&dest, "old").unwrap();
    fs::set_permissions(&dest, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let r = run(&one_play(vec![task(
        "copy",
        json!({"content": "new", "dest": dest}),
    )]));
    assert_eq!(r.result(0).status, Status::Changed);
    assert_eq!(fs::read_to_string(&dest).unwrap(), "new");
    assert_eq!(mode_of(&dest), 0o600);
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    // force: no leaves an existing file alone.
    let r = run(&one_play(vec![task(
        "copy",
        json!({"content": "newer", "dest": dest, "force": "no"}),
    )]));
    assert_eq!(r.result(0).status, Status::Ok);
    assert_eq!(fs::read_to_string(&dest).unwrap(), "new");
}

#[test]
fn copy_content_forms_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let json_dest = path_in(&dir, "data.json");
    let s = one_play(vec![
        task(
            "copy",
            json!({"content": {"a": [1, "é"]}, "dest": json_dest}),
        ),
        task(
            "copy",
            json!({"src": "missing.txt", "dest": path_in(&dir, "x")}),
        )
        .kw("ignore_errors", json!(true)),
        task(
            "copy",
            json!({"content": "x", "dest": path_in(&dir, "no/such/dir/x")}),
        )
        .kw("ignore_errors", json!(true)),
        task(
            "copy",
            json!({"content": "x", "dest": format!("{}/", dir.path().display())}),
        )
        .kw("ignore_errors", json!(true)),
    ]);
    let r = run(&s);
    assert_eq!(
        fs::read_to_string(&json_dest).unwrap(),
        r#"{"a": [1, "\u00e9"]}"#
    );
    let missing = r.result(1).result["msg"].as_str().unwrap().to_owned();
    assert!(
        missing.starts_with(
            "Unexpected AnsibleActionFail error: Could not find or access 'missing.txt'\nSearched in:\n\t"
        ),
        "{missing}"
    );
    let no_dir = format!(
        "Destination directory {} does not exist",
        path_in(&dir, "no/such/dir")
    );
    assert_eq!(r.result(2).result["msg"], json!(no_dir));
    assert_eq!(
        r.result(3).result["msg"],
        json!("can not use content with a dir as dest")
    );
}

#[test]
fn copy_reports_diff_in_diff_mode() {
    let dir = tempfile::tempdir().unwrap();
    let dest = path_in(&dir, "f");
    fs::write(&dest, "a\n").unwrap();
    let mut s = one_play(vec![task("copy", json!({"content": "b\n", "dest": dest}))]);
    s.diff = true;
    let res = run(&s).result(0).result;
    assert_eq!(
        res["diff"],
        json!([{"before": "a\n", "after": "b\n", "before_header": dest, "after_header": dest}])
    );
}

#[test]
fn file_states() {
    let dir = tempfile::tempdir().unwrap();
    let f = path_in(&dir, "f");
    let tree = path_in(&dir, "tree");
    fs::create_dir_all(format!("{tree}/a/b")).unwrap();
    fs::write(format!("{tree}/a/b/c"), "x").unwrap();
    let s = one_play(vec![
        task("file", json!({"path": f, "state": "touch", "mode": "0600"})),
        task("file", json!({"path": f, "state": "touch"})),
        task("file", json!({"path": f, "mode": "u+x"})),
        task("file", json!({"path": tree, "state": "absent"})),
        task("file", json!({"path": tree, "state": "absent"})),
        task("file", json!({"path": path_in(&dir, "missing")})).kw("ignore_errors", json!(true)),
        task("file", json!({"path": f, "state": "directory"})).kw("ignore_errors", json!(true)),
    ]);
    let r = run(&s);
    assert_eq!(
        r.statuses(),
        vec![
            Status::Changed,
            Status::Changed,
            Status::Changed,
            Status::Changed,
            Status::Ok,
            Status::Failed,
            Status::Failed
        ]
    );
    assert_eq!(mode_of(&f), 0o700);
    assert!(!Path::new(&tree).exists());
    let touched = r.result(0).result;
    assert_eq!(touched["dest"], json!(f));
    assert_eq!(touched["state"], json!("file"));
    assert_eq!(touched["mode"], json!("0600"));
    assert_eq!(touched["size"], json!(0));
    assert_eq!(
        r.result(4).result,
        json!({"path": tree, "changed": false, "state": "absent", "failed": false})
    );
    let missing = format!(
        "file ({}) is absent, cannot continue",
        path_in(&dir, "missing")
    );
    assert_eq!(r.result(5).result["msg"], json!(missing));
    assert_eq!(
        r.result(6).result["msg"],
        json!(format!("{f} already exists as a file"))
    );
}

#[test]
fn file_reports_diff_in_diff_mode() {
    let dir = tempfile::tempdir().unwrap();
    let d = path_in(&dir, "d");
    let mut s = one_play(vec![task("file", json!({"path": d, "state": "directory"}))]);
    s.diff = true;
    let res = run(&s).result(0).result;
    assert_eq!(
        res["diff"],
        json!({"before": {"path": d, "state": "absent"}, "after": {"path": d, "state": "directory"}})
    );
}

#[test]
fn command_results_have_ansible_keys() {
    let r = run(&one_play(vec![
        task("command", json!({"_raw_params": "printf 'a b\\nc\\n\\n'"})),
        task("command", json!({"cmd": "sh -c 'echo oops >&2; exit 3'"}))
            .kw("ignore_errors", json!(true)),
        task("command", json!({"_raw_params": "/no/such/binary"})).kw("ignore_errors", json!(true)),
    ]));
    let ok = r.result(0).result;
    assert_eq!(ok["cmd"], json!(["printf", "a b\\nc\\n\\n"]));
    assert_eq!(ok["stdout"], json!("a b\nc"));
    assert_eq!(ok["stdout_lines"], json!(["a b", "c"]));
    assert_eq!(ok["stderr"], json!(""));
    assert_eq!(ok["rc"], json!(0));
    assert_eq!(ok["msg"], json!(""));
    assert_eq!(ok["changed"], json!(true));
    for key in ["start", "end", "delta"] {
        assert!(ok[key].is_string(), "{key} in {ok}");
    }
    let bad = r.result(1);
    assert_eq!((bad.status, bad.ignored), (Status::Failed, true));
    assert_eq!(bad.result["rc"], json!(3));
    assert_eq!(bad.result["stderr_lines"], json!(["oops"]));
    assert_eq!(bad.result["msg"], json!("non-zero return code"));
    let missing = r.result(2).result;
    assert_eq!(missing["rc"], json!(2));
    assert_eq!(missing["msg"], json!("Error executing command."));
    assert_eq!(
        missing["exception"],
        json!("[Errno 2] No such file or directory: b'/no/such/binary'")
    );
}

#[test]
fn command_never_uses_a_shell_but_shell_does() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&one_play(vec![
        task("command", json!({"_raw_params": "echo $HOME | cat"})),
        task(
            "shell",
            json!({"_raw_params": "echo one two | wc -w", "chdir": dir.path()}),
        ),
        task("shell", json!({"cmd": "pwd", "chdir": dir.path()})),
        task("command", json!({"argv": ["cat"], "stdin": "from stdin"})),
    ]));
    assert_eq!(r.result(0).result["stdout"], json!("$HOME | cat"));
    assert_eq!(r.result(1).result["stdout"].as_str().unwrap().trim(), "2");
    assert_eq!(r.result(1).result["cmd"], json!("echo one two | wc -w"));
    let pwd = fs::canonicalize(dir.path()).unwrap();
    assert_eq!(r.result(2).result["stdout"], json!(pwd.to_string_lossy()));
    assert_eq!(r.result(3).result["stdout"], json!("from stdin"));
}

#[test]
fn creates_and_removes_skip_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let exists = path_in(&dir, "exists");
    fs::write(&exists, "").unwrap();
    let marker = path_in(&dir, "marker");
    let r = run(&one_play(vec![
        task(
            "command",
            json!({"_raw_params": format!("touch {marker}"), "creates": exists}),
        ),
        task(
            "shell",
            json!({"_raw_params": format!("touch {marker}"), "removes": path_in(&dir, "nope")}),
        ),
        task(
            "command",
            json!({"_raw_params": format!("touch {marker}"), "creates": "nope", "chdir": dir.path()}),
        ),
    ]));
    let first = r.result(0);
    assert_eq!(first.status, Status::Ok);
    assert_eq!(
        first.result["stdout"],
        json!(format!("skipped, since {exists} exists"))
    );
    assert_eq!(
        first.result["msg"],
        json!(format!("Did not run command since '{exists}' exists"))
    );
    assert_eq!(first.result["rc"], json!(0));
    assert_eq!(r.result(1).status, Status::Ok);
    assert_eq!(r.result(2).status, Status::Changed);
    assert!(Path::new(&marker).exists());
}

/// copy with a directory `src` from the controller: `tree` lands as
/// `dest/tree/...`, `tree/` as `dest/...`; new directories get
/// `directory_mode`, files `mode`; the result is the action's summary.
#[test]
fn copy_of_a_controller_directory_follows_the_trailing_slash() {
    let dir = tempfile::tempdir().unwrap();
    let (itself, contents) = (path_in(&dir, "itself"), path_in(&dir, "contents"));
    let mut files = MemFiles::default();
    files.0.insert("files/tree/a".into(), b"a\n".to_vec());
    files.0.insert("files/tree/sub/b".into(), b"b\n".to_vec());
    files
        .0
        .insert("files/treeish".into(), b"not in it\n".to_vec());
    let s = one_play(vec![
        task(
            "copy",
            json!({"src": "tree", "dest": itself, "directory_mode": "0700", "mode": "0600"}),
        ),
        task("copy", json!({"src": "tree/", "dest": contents})),
    ]);
    let first = run_with(&s, &files);
    assert_eq!(
        first.statuses(),
        vec![Status::Changed, Status::Changed],
        "{:#?}",
        first.results()
    );
    assert_eq!(
        fs::read_to_string(format!("{itself}/tree/a")).unwrap(),
        "a\n"
    );
    assert_eq!(
        fs::read_to_string(format!("{itself}/tree/sub/b")).unwrap(),
        "b\n"
    );
    assert_eq!(mode_of(&format!("{itself}/tree/sub")), 0o700);
    assert_eq!(mode_of(&format!("{itself}/tree/sub/b")), 0o600);
    assert_eq!(
        fs::read_to_string(format!("{contents}/sub/b")).unwrap(),
        "b\n"
    );
    assert!(!std::path::Path::new(&format!("{contents}/treeish")).exists());
    let r = first.result(0).result;
    assert_eq!(r["dest"], json!(format!("{itself}/")));
    assert_eq!(r["changed"], json!(true));
    let second = run_with(&s, &files);
    assert_eq!(second.stats.changed, 0, "{:#?}", second.results());
}
