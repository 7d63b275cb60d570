//! The template tables: every expression of fixtures/templating/NAME.yml
//! rendered by the engine must give what ansible-core gave for it
//! (fixtures/templating/NAME.json, written by scripts/gen-template-table
//! from a real ansible-core).

use std::path::Path;
use std::sync::Arc;

use rustle_engine::template::{Templar, environment};
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/templating")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// Ansible's floats that hold whole numbers compare equal to our ints.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn expressions_render_as_ansible_renders_them() {
    // ansible-core rendered the tables as the controller (path tests).
    rustle_engine::template::lookups::on_controller();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/templating");
    let mut tables: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    tables.sort();
    assert!(!tables.is_empty(), "no tables in {}", dir.display());
    let mut wrong = Vec::new();
    let mut cases = 0;
    for table in &tables {
        let name = table.file_stem().unwrap().to_str().unwrap();
        let spec: serde_yaml::Value =
            serde_yaml::from_str(&fixture(&format!("{name}.yml"))).unwrap();
        let vars: Value = serde_json::to_value(&spec["vars"]).unwrap();
        let Value::Object(vars) = vars else {
            panic!("{name}: vars must be a mapping")
        };
        let expected: Vec<Value> = serde_json::from_str(&fixture(&format!("{name}.json"))).unwrap();
        let templar = Templar::new(environment(), vec![Arc::new(vars)]);
        for case in &expected {
            cases += 1;
            let expr = case["expr"].as_str().unwrap();
            let got = templar.render(&Value::from(expr));
            match (case.get("value"), got) {
                (Some(want), Ok(got)) if same(want, &got) => {}
                (None, Err(_)) => {}
                (want, got) => wrong.push(format!(
                    "{name}: {expr}\n    ansible: {want:?}\n    rustle:  {got:?}"
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cases} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// `mandatory`'s failures as ansible-core 2.19 words them (each `expected`
/// is the end of the `msg` ansible-playbook gave for a `debug` of the
/// expression): the first undefined step is named, a message replaces it.
#[test]
fn mandatory_names_the_first_undefined_step() {
    let vars = serde_json::json!({"d": {"a": 1}});
    let Value::Object(vars) = vars else {
        unreachable!()
    };
    let templar = Templar::new(environment(), vec![Arc::new(vars)]);
    let failed = "The filter plugin 'ansible.builtin.mandatory' failed: ";
    for (expr, expected) in [
        ("{{ x | mandatory }}", "Mandatory variable 'x' not defined."),
        (
            "{{ d.missing | mandatory }}",
            "Mandatory variable 'missing' not defined.",
        ),
        (
            "{{ d.missing.deeper | mandatory }}",
            "Mandatory variable 'missing' not defined.",
        ),
        ("{{ x | mandatory('custom') }}", "custom"),
        (
            "a {{ d.missing | mandatory }} b",
            "Mandatory variable 'missing' not defined.",
        ),
    ] {
        let err = templar.render(&Value::from(expr)).unwrap_err().to_string();
        assert!(
            err.contains(&format!("{failed}{expected}")),
            "{expr}: {err}"
        );
    }
    assert_eq!(
        templar
            .render(&Value::from("{{ d.a | mandatory }}"))
            .unwrap(),
        Value::from(1)
    );
}
