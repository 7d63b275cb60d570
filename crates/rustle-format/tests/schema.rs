//! The JSON Schemas in `specs/` are generated from the types; this test
//! fails when they disagree. `UPDATE_SPECS=1 cargo test -p rustle-format`
//! rewrites them.

use std::path::PathBuf;

use rustle_format::{Document, EventLine, HostSlice};

fn check(name: &str, schema: schemars::Schema) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../specs")
        .join(name);
    let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
    if std::env::var_os("UPDATE_SPECS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "{} is out of date with the types in rustle-format; run `UPDATE_SPECS=1 cargo test -p rustle-format --test schema` and review the diff",
        path.display()
    );
}

#[test]
fn document_schema_matches_the_types() {
    check("document.schema.json", schemars::schema_for!(Document));
}

#[test]
fn slice_schema_matches_the_types() {
    check("slice.schema.json", schemars::schema_for!(HostSlice));
}

#[test]
fn event_schema_matches_the_types() {
    check("event.schema.json", schemars::schema_for!(EventLine));
}
