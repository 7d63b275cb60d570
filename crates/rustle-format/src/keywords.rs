//! Ansible's keywords (ansible-core 2.19): which a play, a task and a block
//! accept, and which a block or role passes on to the tasks inside it.
//! Parse validates with them; the engine inherits with them.

/// Attributes a play may have.
pub const PLAY: &[&str] = &[
    "any_errors_fatal",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "diff",
    "environment",
    "fact_path",
    "force_handlers",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "handlers",
    "hosts",
    "ignore_errors",
    "ignore_unreachable",
    "max_fail_percentage",
    "module_defaults",
    "name",
    "no_log",
    "order",
    "port",
    "post_tasks",
    "pre_tasks",
    "remote_user",
    "roles",
    "run_once",
    "serial",
    "strategy",
    "tags",
    "tasks",
    "throttle",
    "timeout",
    "vars",
    "vars_files",
    "vars_prompt",
];

/// Attributes a task may have besides its action.
pub const TASK: &[&str] = &[
    "action",
    "any_errors_fatal",
    "args",
    "async",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "changed_when",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "delay",
    "delegate_facts",
    "delegate_to",
    "diff",
    "environment",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "listen",
    "local_action",
    "loop",
    "loop_control",
    "module_defaults",
    "name",
    "no_log",
    "notify",
    "poll",
    "port",
    "register",
    "remote_user",
    "retries",
    "run_once",
    "tags",
    "throttle",
    "timeout",
    "until",
    "vars",
    "when",
];

/// Keywords a task takes from the blocks and role uses around it unless it
/// sets them (`when`, `vars` and `tags` combine instead).
pub const INHERITED: &[&str] = &[
    "any_errors_fatal",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "delegate_to",
    "diff",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "module_defaults",
    "no_log",
    "port",
    "remote_user",
    "run_once",
    "throttle",
    "timeout",
];

/// Whether a block may carry `key` (besides its sections, name, when, vars).
pub fn block_accepts(key: &str) -> bool {
    INHERITED.contains(&key) || matches!(key, "delegate_facts" | "notify" | "tags")
}

/// Whether a key of a role use is a keyword rather than a role parameter.
pub fn role_keyword(key: &str) -> bool {
    INHERITED.contains(&key) || key == "tags"
}

/// Whether a keyword's literal value is true as Ansible reads booleans
/// (`yes`/`true`/`on`/`1`, any case; non-zero numbers).
pub fn truthy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::String(s) => {
            matches!(s.to_ascii_lowercase().as_str(), "yes" | "true" | "on" | "1")
        }
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        _ => false,
    }
}

/// Lookups that run on the controller: they read its files or environment
/// or run its commands. A task using one runs where the controller is.
pub const CONTROLLER_LOOKUPS: &[&str] = &[
    "csvfile",
    "env",
    "file",
    "fileglob",
    "first_found",
    "ini",
    "lines",
    "password",
    "pipe",
    "template",
];

/// Filters that read the controller: its files, its user's home and
/// environment, its local time (`strftime`).
pub const CONTROLLER_FILTERS: &[&str] = &[
    "expanduser",
    "expandvars",
    "fileglob",
    "realpath",
    "strftime",
];

/// Tests that look at the controller's files.
pub const CONTROLLER_TESTS: &[&str] = &[
    "directory",
    "exists",
    "file",
    "is_dir",
    "is_file",
    "is_link",
    "is_mount",
    "is_same_file",
    "link",
    "link_exists",
    "mount",
    "same_file",
    "vaulted_file",
];

/// Whether template text reads the controller, as Ansible's templating
/// does on the controller: a controller lookup, a filter of
/// [`CONTROLLER_FILTERS`] or a test of [`CONTROLLER_TESTS`] (`x is exists`,
/// `select('file')`, `selectattr('path', 'exists')`), `now()`.
pub fn reads_controller(text: &str) -> bool {
    calls_controller_lookup(text) || applies_controller_filter_or_test(text) || calls_now(text)
}

/// `now()`, the controller's clock and time zone.
fn calls_now(text: &str) -> bool {
    text.match_indices("now(")
        .any(|(at, _)| word_start(text, at))
}

/// The name that starts `rest` after optional quotes (a template inside a
/// JSON string writes `\"`) and an `ansible.builtin.`/`ansible.legacy.`
/// prefix.
fn plugin_name(rest: &str) -> &str {
    let rest = rest.trim_start().trim_start_matches(['\'', '"', '\\']);
    let rest = rest
        .strip_prefix("ansible.builtin.")
        .or_else(|| rest.strip_prefix("ansible.legacy."))
        .unwrap_or(rest);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Whether the text at `at` starts a word (not the tail of a longer name).
fn word_start(text: &str, at: usize) -> bool {
    at == 0 || {
        let b = text.as_bytes()[at - 1];
        !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    }
}

fn applies_controller_filter_or_test(text: &str) -> bool {
    let filter = text
        .match_indices('|')
        .any(|(at, _)| CONTROLLER_FILTERS.contains(&plugin_name(&text[at + 1..])));
    let test = text.match_indices("is").any(|(at, _)| {
        let rest = &text[at + 2..];
        if !word_start(text, at) || !rest.starts_with(char::is_whitespace) {
            return false;
        }
        let rest = rest.trim_start();
        let rest = rest
            .strip_prefix("not")
            .filter(|r| r.starts_with(char::is_whitespace))
            .unwrap_or(rest);
        CONTROLLER_TESTS.contains(&plugin_name(rest))
    });
    let selected = ["select(", "reject(", "selectattr(", "rejectattr("]
        .iter()
        .any(|call| {
            text.match_indices(call).any(|(at, _)| {
                let mut args = &text[at + call.len()..];
                if call.ends_with("attr(") {
                    // The attribute, then the test.
                    match args.find(',') {
                        Some(comma) => args = &args[comma + 1..],
                        None => return false,
                    }
                }
                word_start(text, at) && CONTROLLER_TESTS.contains(&plugin_name(args))
            })
        });
    filter || test || selected
}

/// Whether template text calls a controller lookup: `lookup('file', ...)`,
/// `query(...)`, `q(...)`, with or without `ansible.builtin.`.
fn calls_controller_lookup(text: &str) -> bool {
    ["lookup(", "query(", "q("].iter().any(|call| {
        text.match_indices(call).any(|(at, _)| {
            word_start(text, at)
                && CONTROLLER_LOOKUPS.contains(&plugin_name(&text[at + call.len()..]))
        })
    })
}

#[cfg(test)]
mod lookup_tests {
    #[test]
    fn finds_controller_lookups() {
        for (text, want) in [
            ("{{ lookup('file', 'a') }}", true),
            ("{{ query(\"ansible.builtin.env\", 'HOME') }}", true),
            ("{{ q('fileglob', '*.conf') }}", true),
            ("{{ lookup('sequence', 'start=1 end=3') }}", false),
            ("{{ lookup( 'template' , 'x.j2') }}", true),
            ("{{ myq('file') }}", false),
            ("{{ x | default('file') }}", false),
        ] {
            assert_eq!(super::calls_controller_lookup(text), want, "{text}");
        }
    }

    #[test]
    fn finds_controller_filters_and_tests() {
        for (text, want) in [
            ("{{ '~/x' | expanduser }}", true),
            ("{{ p|ansible.builtin.realpath }}", true),
            ("{{ '%Y' | strftime(0) }}", true),
            ("{{ now(fmt='%Y') }}", true),
            ("{{ x.known(1) }}", false),
            ("{{ '/etc' is directory }}", true),
            ("{{ '/etc' is not ansible.builtin.exists }}", true),
            ("{\"when\":[\"p is file\"]}", true),
            ("{{ paths | select('exists') | list }}", true),
            ("{{ files | rejectattr('path', \"link\") }}", true),
            ("{{ x is defined }}", false),
            ("{{ x | basename }}", false),
            ("{{ this is filed }}", false),
            (
                "{{ files | selectattr('state', 'equalto', 'file') }}",
                false,
            ),
            ("{\"state\":\"file\",\"path\":\"/x\"}", false),
        ] {
            assert_eq!(super::reads_controller(text), want, "{text}");
        }
    }
}
