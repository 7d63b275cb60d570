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

/// Whether template text calls a controller lookup: `lookup('file', ...)`,
/// `query(...)`, `q(...)`, with or without `ansible.builtin.`.
pub fn calls_controller_lookup(text: &str) -> bool {
    let bytes = text.as_bytes();
    ["lookup(", "query(", "q("].iter().any(|call| {
        text.match_indices(call).any(|(at, _)| {
            let word_start = at == 0 || {
                let b = bytes[at - 1];
                !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            };
            let rest = text[at + call.len()..].trim_start();
            let rest = rest.trim_start_matches(['\'', '"', '\\']);
            let rest = rest
                .strip_prefix("ansible.builtin.")
                .or_else(|| rest.strip_prefix("ansible.legacy."))
                .unwrap_or(rest);
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            word_start && CONTROLLER_LOOKUPS.contains(&name.as_str())
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
}
