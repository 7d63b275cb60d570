//! Tags: `--tags`/`--skip-tags` with Ansible's special tags `always`,
//! `never`, `tagged`, `untagged` and `all`, on tags inherited from plays,
//! roles, imports and blocks.

use rustle_format::Value;

/// What `--tags` and `--skip-tags` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Default for TagFilter {
    fn default() -> Self {
        TagFilter {
            only: vec!["all".to_owned()],
            skip: Vec::new(),
        }
    }
}

impl TagFilter {
    /// From command-line values, each possibly comma-separated.
    pub fn new(only: &[String], skip: &[String]) -> TagFilter {
        let split = |v: &[String]| -> Vec<String> {
            v.iter()
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let only = split(only);
        TagFilter {
            only: if only.is_empty() {
                vec!["all".to_owned()]
            } else {
                only
            },
            skip: split(skip),
        }
    }

    /// Whether a task with these (inherited) tags runs, as Ansible's
    /// `Taggable.evaluate_tags` decides.
    pub fn runs(&self, tags: &[String]) -> bool {
        let untagged = tags.is_empty();
        let has = |t: &str| tags.iter().any(|x| x == t);
        let only = |t: &str| self.only.iter().any(|x| x == t);
        let skip = |t: &str| self.skip.iter().any(|x| x == t);
        let selected = has("always")
            || (only("all") && !has("never"))
            || tags.iter().any(|t| only(t))
            || (untagged && only("untagged"))
            || (only("tagged") && !untagged && !has("never"));
        let skipped = if skip("all") {
            !has("always") || skip("always")
        } else {
            tags.iter().any(|t| skip(t))
                || (untagged && skip("untagged"))
                || (skip("tagged") && !untagged)
        };
        selected && !skipped
    }
}

/// A `tags:` keyword value as a list (a string may be comma-separated).
pub fn task_tags(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ansible_tag_rules() {
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str], bool);
        let cases: &[Case] = &[
            // (--tags, --skip-tags, task tags, runs)
            (&[], &[], &[], true),
            (&[], &[], &["never"], false),
            (&[], &[], &["never", "x"], false),
            (&["x"], &[], &["never", "x"], true),
            (&["x"], &[], &[], false),
            (&["x"], &[], &["always"], true),
            (&["tagged"], &[], &["a"], true),
            (&["tagged"], &[], &[], false),
            (&["untagged"], &[], &[], true),
            (&["untagged"], &[], &["a"], false),
            (&[], &["a"], &["a", "b"], false),
            (&[], &["all"], &["always"], true),
            (&[], &["all", "always"], &["always"], false),
            (&[], &["tagged"], &["a"], false),
            (&[], &["untagged"], &[], false),
            (&["a,b"], &[], &["b"], true),
        ];
        for (only, skip, task, expected) in cases {
            let f = TagFilter::new(&tags(only), &tags(skip));
            assert_eq!(
                f.runs(&tags(task)),
                *expected,
                "--tags {only:?} --skip-tags {skip:?} on {task:?}"
            );
        }
    }
}
