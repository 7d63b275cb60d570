//! The dump table: every value of fixtures/yaml-dump, dumped by
//! `rustle_yaml::dump`, must give the bytes ansible-core's own dumper gave
//! for it (fixtures/yaml-dump/expected.json, written by
//! scripts/gen-yaml-dump-table from a real ansible-core).

use std::path::Path;

use rustle_yaml::{DumpOptions, dump};
use serde_json::Value;

fn options(variant: &str) -> DumpOptions {
    let nice = DumpOptions {
        indent: 4,
        default_flow_style: Some(false),
        ..DumpOptions::default()
    };
    match variant {
        "to_yaml" => DumpOptions::default(),
        "to_nice_yaml" => nice,
        "to_nice_yaml indent=2 width=30" => DumpOptions {
            indent: 2,
            width: 30,
            ..nice
        },
        "to_yaml width=20 sort_keys=False" => DumpOptions {
            width: 20,
            sort_keys: false,
            ..DumpOptions::default()
        },
        other => panic!("unknown variant {other:?}"),
    }
}

#[test]
fn values_dump_as_ansible_dumps_them() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/yaml-dump/expected.json");
    let table: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(table.len() > 600, "the table is too small: {}", table.len());
    let mut wrong = Vec::new();
    for case in &table {
        let variant = case["dump"].as_str().unwrap();
        let want = case["text"].as_str().unwrap();
        let got = dump(&case["value"], &options(variant));
        if got != want {
            wrong.push(format!(
                "{variant} of {}\n  ansible: {want:?}\n  rustle:  {got:?}",
                case["value"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} dumps differ:\n{}",
        wrong.len(),
        table.len(),
        wrong[..wrong.len().min(8)].join("\n")
    );
}
