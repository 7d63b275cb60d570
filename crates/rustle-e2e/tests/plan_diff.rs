//! Changing one task changes only that task in the document and the hashes
//! that depend on it; the rest of parse and plan output stays the same.

use serde_json::Value;

/// JSON paths where `a` and `b` differ.
fn diff(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                diff(va, vb, format!("{path}.{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(va, vb, format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(path),
        _ => {}
    }
}

fn planned(book: &std::path::Path, inventory: &std::path::Path) -> Value {
    let doc = rustle_e2e::planned(&[book.to_str().unwrap(), "-i", inventory.to_str().unwrap()]);
    serde_json::from_slice(&doc).unwrap()
}

#[test]
fn one_task_change_touches_only_that_task_and_its_hashes() {
    let tmp = tempfile::tempdir().unwrap();
    let inventory = tmp.path().join("hosts");
    std::fs::write(&inventory, "[web]\nweb1\nweb2\n").unwrap();
    let book = tmp.path().join("site.yml");
    let write = |msg: &str| {
        std::fs::write(
            &book,
            format!(
                "- hosts: web\n  tasks:\n    - name: one\n      debug: msg=one\n    - name: two\n      debug: msg={msg}\n    - name: three\n      debug: msg=three\n"
            ),
        )
        .unwrap();
    };
    write("two");
    let before = planned(&book, &inventory);
    write("changed");
    let after = planned(&book, &inventory);
    let mut paths = Vec::new();
    diff(&before, &after, "$".into(), &mut paths);
    assert_eq!(
        paths,
        [
            "$.parsed.plays[0].tasks[1].id",
            "$.parsed.plays[0].tasks[1].args.msg",
            "$.plan.hosts[0].slice_sha256",
            "$.plan.hosts[1].slice_sha256",
        ]
    );
    // And the same input gives the same bytes.
    write("changed");
    assert_eq!(after, planned(&book, &inventory));
}
