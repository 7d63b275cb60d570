use std::sync::Arc;

use serde_json::{Map, Value as Json, json};

use super::*;

fn templar(vars: Json) -> Templar {
    let Json::Object(map) = vars else {
        panic!("vars must be a map")
    };
    Templar::new(environment(), vec![Arc::new(map)])
}

fn layered(low: Json, high: Json) -> Templar {
    let (Json::Object(low), Json::Object(high)) = (low, high) else {
        panic!()
    };
    Templar::new(environment(), vec![Arc::new(low), Arc::new(high)])
}

#[test]
fn single_expressions_keep_their_type() {
    let t = templar(json!({"n": 3, "l": [1, 2], "d": {"k": "v"}}));
    assert_eq!(t.render(&json!("{{ 3 }}")).unwrap(), json!(3));
    assert_eq!(t.render(&json!("x{{ 3 }}")).unwrap(), json!("x3"));
    assert_eq!(t.render(&json!(" {{ 3 }} ")).unwrap(), json!(" 3 "));
    assert_eq!(t.render(&json!("{{ n > 2 }}")).unwrap(), json!(true));
    assert_eq!(t.render(&json!("{{ l }}")).unwrap(), json!([1, 2]));
    assert_eq!(t.render(&json!("{{ d }}")).unwrap(), json!({"k": "v"}));
    assert_eq!(t.render(&json!("{{ '3' | int + 2 }}")).unwrap(), json!(5));
    assert_eq!(
        t.render(&json!("{{ l }} {{ true }} {{ none }}")).unwrap(),
        json!("[1, 2] True ")
    );
}

#[test]
fn containers_render_recursively_and_drop_omit() {
    let t = templar(json!({"a": "A"}));
    let raw =
        json!({"x": ["{{ a }}", "{{ omit }}", 1], "y": "{{ omit }}", "z": {"w": "{{ a }}{{ a }}"}});
    assert_eq!(
        t.render(&raw).unwrap(),
        json!({"x": ["A", 1], "z": {"w": "AA"}})
    );
}

#[test]
fn undefined_variables_are_named() {
    let t = templar(json!({"d": {"a": 1}}));
    let err = t.render(&json!("{{ foo }}")).unwrap_err();
    assert_eq!(err.message, "'foo' is undefined");
    assert!(err.undefined);
    assert_eq!(
        t.render(&json!("x {{ foo }} y")).unwrap_err().message,
        "'foo' is undefined"
    );
    // A filter given an undefined value names the value, not the filter.
    assert_eq!(
        t.render(&json!("{{ nope | dict2items }}"))
            .unwrap_err()
            .message,
        "'nope' is undefined"
    );
    assert!(
        t.render(&json!("{{ d.missing }}"))
            .unwrap_err()
            .message
            .contains("missing")
    );
    let cond_err = |c: &str| t.condition(&json!(c)).unwrap_err().message;
    assert_eq!(
        cond_err("bar == 1"),
        "Error while evaluating conditional: 'bar' is undefined"
    );
    assert_eq!(
        cond_err("d.a == 1 and baz"),
        "Error while evaluating conditional: 'baz' is undefined"
    );
    assert_eq!(
        t.render(&json!("{{ foo | default('z') }}")).unwrap(),
        json!("z")
    );
    assert_eq!(
        t.render(&json!("{{ foo is defined }}")).unwrap(),
        json!(false)
    );
}

#[test]
fn variables_render_lazily_with_their_types() {
    let t = layered(
        json!({"base": 2, "twice": "{{ base * 2 }}", "msg": "b={{ base }}", "nested": {"k": ["{{ twice }}"]}}),
        json!({"base": 5}),
    );
    assert_eq!(t.render(&json!("{{ twice }}")).unwrap(), json!(10));
    assert_eq!(t.render(&json!("{{ msg }}")).unwrap(), json!("b=5"));
    assert_eq!(
        t.render(&json!("{{ nested.k[0] + 1 }}")).unwrap(),
        json!(11)
    );
    assert!(
        t.render(&json!("{{ hostvars['h'] }}"))
            .unwrap_err()
            .undefined
    );
}

#[test]
fn self_references_are_detected() {
    let t = templar(json!({"a": "{{ b }}", "b": "{{ a }}", "c": "{{ c }}"}));
    for expr in ["{{ a }}", "{{ c }}"] {
        let err = t.render(&json!(expr)).unwrap_err();
        assert!(
            err.message
                .starts_with("Recursive loop detected in template"),
            "{err}"
        );
    }
}

#[test]
fn hostvars_and_vars_expose_this_host() {
    let t = templar(json!({"inventory_hostname": "web1", "x": "{{ 40 + 2 }}"}));
    assert_eq!(
        t.render(&json!("{{ hostvars['web1'].x }}")).unwrap(),
        json!(42)
    );
    assert_eq!(
        t.render(&json!("{{ hostvars.web1['x'] }}")).unwrap(),
        json!(42)
    );
    assert_eq!(t.render(&json!("{{ vars['x'] }}")).unwrap(), json!(42));
}

#[test]
fn conditions_must_be_booleans() {
    let t = templar(json!({"n": 1, "s": "yes"}));
    assert!(t.condition(&json!(true)).unwrap());
    assert!(t.condition(&json!("n == 1")).unwrap());
    assert!(!t.condition(&json!("{{ n == 2 }}")).unwrap());
    let err = t.condition(&json!("s")).unwrap_err().message;
    assert!(
        err.contains("Conditional result (True)") && err.contains("'str'"),
        "{err}"
    );
    let err = t.condition(&json!("'x'")).unwrap_err().message;
    assert!(err.contains("must have a boolean result"), "{err}");
    assert!(
        t.condition(&json!(1))
            .unwrap_err()
            .message
            .contains("'int'")
    );
}

#[test]
fn ansible_filters() {
    let t = templar(json!({"d": {"a": [1, 2]}, "j": "{\"k\": [1, null]}"}));
    let r = |s: &str| t.render(&json!(s)).unwrap();
    assert_eq!(r("{{ d | to_json }}"), json!(r#"{"a": [1, 2]}"#));
    assert_eq!(r("{{ (j | from_json).k }}"), json!([1, null]));
    assert_eq!(r("{{ 'yes' | bool }}"), json!(true));
    assert_eq!(r("{{ 'x' | bool }}"), json!(false));
    assert_eq!(r("{{ 1 | bool }}"), json!(true));
    assert_eq!(r("{{ '7' | int }}"), json!(7));
    assert_eq!(r("{{ true | string }}"), json!("True"));
    assert_eq!(r("{{ '/a/b.txt' | basename }}"), json!("b.txt"));
    assert_eq!(r("{{ '/a/b.txt' | dirname }}"), json!("/a"));
    assert_eq!(
        r(r"{{ 'aXbX' | regex_replace('(X)', '[\\1]') }}"),
        json!("a[X]b[X]")
    );
    assert_eq!(
        r("{{ 'ab' | regex_replace('A', 'z', ignorecase=true) }}"),
        json!("zb")
    );
    assert_eq!(r("{{ 'hello' | b64encode }}"), json!("aGVsbG8="));
    assert_eq!(r("{{ 'aGVsbG8=' | b64decode }}"), json!("hello"));
    assert_eq!(r("{{ nope | d('dflt') }}"), json!("dflt"));
}

#[test]
fn result_tests() {
    let mut vars = Map::new();
    vars.insert("ok".into(), json!({"changed": false, "failed": false}));
    vars.insert("ch".into(), json!({"changed": true}));
    vars.insert("bad".into(), json!({"failed": true}));
    vars.insert("sk".into(), json!({"skipped": true, "changed": false}));
    let t = Templar::new(environment(), vec![Arc::new(vars)]);
    let c = |s: &str| t.condition(&json!(s)).unwrap();
    assert!(c("ch is changed") && !c("ok is changed"));
    assert!(c("bad is failed") && !c("ok is failed"));
    assert!(c("ok is succeeded") && c("ok is success") && !c("bad is succeeded"));
    assert!(c("sk is skipped") && !c("ok is skipped"));
    assert!(c("nope is undefined") && c("ok is defined"));
    assert!(t.condition(&json!("'s' is changed")).is_err());
}

#[test]
fn attributes_of_undefined_chain_but_using_them_fails_with_the_name() {
    let t = templar(json!({"d": {"a": 1}}));
    let msg = |s: &str| t.render(&json!(s)).unwrap_err().message;
    assert_eq!(msg("{{ missing.attr }}"), "'missing' is undefined");
    assert_eq!(msg("x {{ missing.attr }}"), "'missing' is undefined");
    assert_eq!(
        msg("{{ d.nokey.deeper }}"),
        "object of type 'dict' has no attribute 'nokey'"
    );
    assert_eq!(
        msg("{% for x in missing.attr %}{{ x }}{% endfor %}"),
        "'missing' is undefined"
    );
    let c = |s: &str| t.condition(&json!(s));
    assert_eq!(c("missing.attr is undefined"), Ok(true));
    assert_eq!(c("d.nokey.deeper is defined"), Ok(false));
    assert_eq!(
        c("missing.attr == 1").unwrap_err().message,
        "Error while evaluating conditional: 'missing' is undefined"
    );
    assert_eq!(
        t.render(&json!("{{ d.nokey.deeper | default('x') }}")),
        Ok(json!("x"))
    );
}

#[test]
fn hostvars_attributes_chain_to_undefined() {
    let Json::Object(others) = json!({"web1": {"port": 80}}) else {
        panic!()
    };
    let Json::Object(vars) = json!({"inventory_hostname": "me", "h": "web1"}) else {
        panic!()
    };
    let t = Templar::with_hostvars(environment(), vec![Arc::new(vars)], Arc::new(others));
    let r = |s: &str| t.render(&json!(s));
    assert_eq!(r("{{ hostvars[h].port }}"), Ok(json!(80)));
    assert_eq!(r("{{ hostvars[h].missing | default(1) }}"), Ok(json!(1)));
    assert_eq!(
        r("{{ hostvars['nohost'].port | default(2) }}"),
        Ok(json!(2))
    );
    assert_eq!(
        r("{{ hostvars[h].missing.deeper is defined }}"),
        Ok(json!(false))
    );
    assert!(r("{{ hostvars[h].missing }}").is_err());
}
