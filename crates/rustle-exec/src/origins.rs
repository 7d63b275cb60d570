//! Where in a task's YAML the causes of its failure lie, for ansible-core
//! 2.19's error report (each cause with its `Origin:` and source lines):
//! the engine names the part of the task (`action`, an argument, `loop`,
//! a `when` condition) and this finds it in the playbook file, read again
//! only when a task fails that way.

use std::path::Path;

use rustle_yaml::Node;
use serde_json::Value as Json;

/// The line and column of the cause `at` names (see the engine's
/// `ItemRun::failed_with_causes`) in the task written at `line:col` of
/// `file`, whose action is `action`; `None` when it cannot be found.
pub fn locate(
    file: &Path,
    (line, col): (usize, usize),
    action: &str,
    at: &Json,
) -> Option<(usize, usize)> {
    let text = std::fs::read_to_string(file).ok()?;
    let docs = rustle_yaml::load(&text).ok()?;
    let task = docs.iter().find_map(|d| mapping_at(d, line, col))?;
    let pairs = task.as_map()?;
    let value_of =
        |pred: &dyn Fn(&str) -> bool| pairs.iter().find(|(k, _)| k.as_str().is_some_and(pred));
    let action_pair =
        value_of(&|k| k == action).or_else(|| value_of(&|k| k == "action" || k == "local_action"));
    let at_mark = |n: &Node| Some((n.mark.line, n.mark.col));
    match at.get("at")?.as_str()? {
        "action" => at_mark(&action_pair?.0),
        "args" => {
            let key = at.get("key")?.as_str()?;
            let (_, value) = action_pair?;
            if let Some(v) = value.as_map().and_then(|m| find(m, key)) {
                return at_mark(v);
            }
            if let Some(v) =
                value_of(&|k| k == "args").and_then(|(_, a)| a.as_map().and_then(|m| find(m, key)))
            {
                return at_mark(v);
            }
            // Free-form arguments (`msg="..."`, a command line): the text.
            value.as_str().and_then(|_| at_mark(value))
        }
        "loop" => at_mark(&value_of(&|k| k == "loop" || k.starts_with("with_"))?.1),
        "when" => {
            let cond = at.get("cond")?;
            let (_, when) = value_of(&|k| k == "when")?;
            let same = |n: &Node| n.to_json() == *cond;
            match when.as_seq() {
                Some(items) => items.iter().find(|n| same(n)).and_then(at_mark),
                None if same(when) => at_mark(when),
                None => None,
            }
        }
        _ => None,
    }
}

/// The value of `key` in a mapping's pairs.
fn find<'n>(pairs: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
    pairs
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// The mapping that starts at `line:col` in `node`, searched depth first.
fn mapping_at(node: &Node, line: usize, col: usize) -> Option<&Node> {
    if node.as_map().is_some() && node.mark.line == line && node.mark.col == col {
        return Some(node);
    }
    if let Some(items) = node.as_seq() {
        return items.iter().find_map(|n| mapping_at(n, line, col));
    }
    node.as_map()?
        .iter()
        .find_map(|(_, v)| mapping_at(v, line, col))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_each_part_of_a_task() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("play.yml");
        std::fs::write(
            &file,
            "- hosts: all\n  tasks:\n    - debug: msg=\"{{ x }}\"\n    - name: n\n      copy:\n        content: \"{{ y }}\"\n        dest: /d\n      loop: \"{{ z }}\"\n      when:\n        - a\n        - b is c\n",
        )
        .unwrap();
        let at = |line, col, action, what| locate(&file, (line, col), action, &what);
        assert_eq!(at(3, 7, "debug", json!({"at": "action"})), Some((3, 7)));
        assert_eq!(
            at(3, 7, "debug", json!({"at": "args", "key": "msg"})),
            Some((3, 14))
        );
        assert_eq!(at(4, 7, "copy", json!({"at": "action"})), Some((5, 7)));
        assert_eq!(
            at(4, 7, "copy", json!({"at": "args", "key": "content"})),
            Some((6, 18))
        );
        assert_eq!(at(4, 7, "copy", json!({"at": "loop"})), Some((8, 13)));
        assert_eq!(
            at(4, 7, "copy", json!({"at": "when", "cond": "b is c"})),
            Some((11, 11))
        );
        assert_eq!(at(4, 7, "copy", json!({"at": "when", "cond": "d"})), None);
    }
}
