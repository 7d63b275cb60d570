//! Run semantics: events, variables, conditionals, loops, errors, handlers.

mod common;

use common::*;
use rustle_engine::{LocalTarget, NoFiles, run_host};
use rustle_format::{Event, HostStats, Status, TaskKey};
use serde_json::{Value as Json, json};

#[test]
fn events_come_in_order_and_end_with_host_done() {
    let s = one_play(vec![task("debug", json!({"msg": "hi"})).named("say hi")]);
    let r = run(&s);
    assert_eq!(r.events.len(), 3, "{:#?}", r.events);
    let key = TaskKey {
        play: 0,
        pos: vec![0, 0],
    };
    assert_eq!(
        r.events[0],
        Event::TaskStart {
            host: HOST.into(),
            key: key.clone(),
            name: "say hi".into(),
            action: "debug".into()
        }
    );
    assert_eq!(
        r.events[1],
        Event::TaskResult {
            host: HOST.into(),
            key,
            name: "say hi".into(),
            action: "debug".into(),
            status: Status::Ok,
            ignored: false,
            rescued: false,
            result: json!({"msg": "hi", "_ansible_verbose_always": true, "changed": false, "failed": false}),
        }
    );
    let expected = HostStats {
        ok: 1,
        ..HostStats::default()
    };
    assert_eq!(
        r.events[2],
        Event::HostDone {
            host: HOST.into(),
            stats: expected,
            error: None
        }
    );
    assert_eq!(r.stats, expected);
}

#[test]
fn events_are_emitted_as_they_happen() {
    let dir = tempfile::tempdir().unwrap();
    let marker = path_in(&dir, "second-ran");
    let s = one_play(vec![
        task("debug", json!({"msg": "first"})),
        task("file", json!({"path": marker, "state": "touch"})),
    ]);
    let mut seen_before_second = None;
    let mut results = 0;
    run_host(&s, &LocalTarget, &NoFiles, &mut |e| {
        if matches!(e, Event::TaskResult { .. }) {
            results += 1;
            if results == 1 {
                seen_before_second = Some(std::path::Path::new(&marker).exists());
            }
        }
    });
    assert_eq!(
        seen_before_second,
        Some(false),
        "the first result must arrive before the second task runs"
    );
    assert!(std::path::Path::new(&marker).exists());
}

#[test]
fn unnamed_tasks_are_shown_by_their_action() {
    let r = run(&one_play(vec![task(
        "ansible.builtin.debug",
        json!({"msg": "x"}),
    )]));
    assert_eq!(r.result(0).name, "ansible.builtin.debug");
    assert_eq!(r.result(0).status, Status::Ok);
}

#[test]
fn native_types_and_string_rendering() {
    let s = one_play(vec![
        task("debug", json!({"msg": "{{ 3 }}"})),
        task("debug", json!({"msg": "x{{ 3 }}"})),
        task(
            "debug",
            json!({"msg": ["{{ [1, 2] }}", "{{ {'a': true} }}", "{{ omit }}"]}),
        ),
    ]);
    let r = run(&s);
    assert_eq!(r.result(0).result["msg"], json!(3));
    assert_eq!(r.result(1).result["msg"], json!("x3"));
    assert_eq!(r.result(2).result["msg"], json!([[1, 2], {"a": true}]));
}

#[test]
fn variable_precedence_and_lazy_rendering() {
    let mut s = one_play(vec![
        task(
            "debug",
            json!({"msg": "{{ greeting }} {{ who }} {{ where }} {{ extra }}"}),
        )
        .vars(json!({"who": "task"})),
        task("debug", json!({"msg": "{{ who }}"})),
    ]);
    s.vars = map(
        json!({"who": "inventory", "where": "{{ place }}", "place": "inv-place", "extra": "inv"}),
    );
    s.plays[0].vars = map(json!({"greeting": "hello {{ who }}", "place": "play-place"}));
    s.extra_vars = map(json!({"extra": "cli"}));
    let r = run(&s);
    // `greeting` is rendered lazily where it is used, so it sees the task's `who`.
    assert_eq!(
        r.result(0).result["msg"],
        json!("hello task task play-place cli")
    );
    assert_eq!(r.result(1).result["msg"], json!("inventory"));
}

#[test]
fn magic_variables() {
    let s = one_play(vec![task(
        "debug",
        json!({"msg": "{{ inventory_hostname }} {{ group_names }} {{ groups.web }} {{ playbook_dir }} {{ ansible_play_hosts }} {{ ansible_check_mode }} {{ hostvars[inventory_hostname].inventory_hostname_short }}"}),
    )]);
    let r = run(&s);
    assert_eq!(
        r.result(0).result["msg"],
        json!("testhost ['web'] ['testhost'] /srv/playbooks ['testhost'] False testhost")
    );
}

#[test]
fn undefined_variable_fails_naming_it() {
    let r = run(&one_play(vec![task(
        "debug",
        json!({"msg": "value: {{ not_there }}"}),
    )]));
    let res = r.result(0);
    assert_eq!(res.status, Status::Failed);
    assert_eq!(
        res.result["msg"],
        json!(
            "Task failed: Finalization of task args for 'ansible.builtin.debug' failed: Error while resolving value for 'msg': 'not_there' is undefined"
        )
    );
    assert_eq!(r.stats.failures, 1);
}

#[test]
fn recursive_variables_fail() {
    let mut s = one_play(vec![task("debug", json!({"msg": "{{ a }}"}))]);
    s.plays[0].vars = map(json!({"a": "{{ b }}", "b": "{{ a }}"}));
    let res = run(&s).result(0);
    assert_eq!(res.status, Status::Failed);
    assert!(
        res.result["msg"]
            .as_str()
            .unwrap()
            .contains("Recursive loop detected in template"),
        "{}",
        res.result
    );
}

#[test]
fn when_false_skips_with_ansible_result() {
    let s = one_play(vec![
        task("debug", json!({"msg": "no"})).when(json!("1 > 2")),
        task("debug", json!({"msg": "no"})).when(json!(false)),
        task("debug", json!({"msg": "yes"}))
            .when(json!("1 < 2"))
            .when(json!(true)),
    ]);
    let r = run(&s);
    assert_eq!(
        r.statuses(),
        vec![Status::Skipped, Status::Skipped, Status::Ok]
    );
    assert_eq!(
        r.result(0).result,
        json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False", "false_condition": "1 > 2"})
    );
    assert_eq!(r.result(1).result["false_condition"], json!(false));
    assert_eq!(
        r.stats,
        HostStats {
            ok: 1,
            skipped: 2,
            ..HostStats::default()
        }
    );
}

#[test]
fn non_boolean_conditional_fails() {
    let s = one_play(vec![
        task("debug", json!({"msg": "x"})).when(json!("'yes'")),
        task("debug", json!({"msg": "never"})),
    ]);
    let r = run(&s);
    assert_eq!(r.results().len(), 1);
    let msg = r.result(0).result["msg"].as_str().unwrap().to_owned();
    assert_eq!(
        msg,
        "Task failed: Conditional result (True) was derived from value of type 'str'. Conditionals must have a boolean result."
    );
}

#[test]
fn undefined_in_when_fails() {
    let r = run(&one_play(vec![
        task("debug", json!({})).when(json!("foo == 1")),
    ]));
    assert_eq!(
        r.result(0).result["msg"],
        json!("Task failed: Error while evaluating conditional: 'foo' is undefined")
    );
}

#[test]
fn register_then_when_on_it() {
    let s = one_play(vec![
        task("command", json!({"_raw_params": "echo hello"})).register("out"),
        task(
            "debug",
            json!({"msg": "{{ out.stdout }} {{ out.rc }} {{ out.stdout_lines }}"}),
        )
        .when(json!("out is changed")),
        task("debug", json!({"msg": "skip"})).when(json!("out.rc != 0")),
        task("debug", json!({"msg": "skipped was registered"}))
            .when(json!(false))
            .register("sk"),
        task(
            "assert",
            json!({"that": ["sk is skipped", "out is succeeded", "not (out is failed)"]}),
        ),
    ]);
    let r = run(&s);
    assert_eq!(
        r.statuses(),
        vec![
            Status::Changed,
            Status::Ok,
            Status::Skipped,
            Status::Skipped,
            Status::Ok
        ]
    );
    assert_eq!(r.result(1).result["msg"], json!("hello 0 ['hello']"));
}

#[test]
fn loop_with_items() {
    let s = one_play(vec![
        task("command", json!({"argv": ["echo", "{{ item }}"]}))
            .kw("loop", json!(["a", "b"]))
            .register("echoes"),
        task(
            "debug",
            json!({"msg": "{{ echoes.results | map(attribute='stdout') | join(',') }}"}),
        ),
        task("debug", json!({"msg": "{{ n }}"}))
            .kw("loop", json!("{{ [1, 2, 3] }}"))
            .kw(
                "loop_control",
                json!({"loop_var": "n", "label": "n={{ n }}"}),
            )
            .when(json!("n > 1")),
    ]);
    let r = run(&s);
    let items: Vec<(Status, serde_json::Value)> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ItemResult { status, label, .. } => Some((*status, label.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        items,
        vec![
            (Status::Changed, json!("a")),
            (Status::Changed, json!("b")),
            (Status::Skipped, json!("n=1")),
            (Status::Ok, json!("n=2")),
            (Status::Ok, json!("n=3")),
        ]
    );
    let first = r.result(0);
    assert_eq!(first.status, Status::Changed);
    assert_eq!(first.result["msg"], json!("All items completed"));
    assert_eq!(first.result["changed"], json!(true));
    let results = first.result["results"].as_array().unwrap();
    assert_eq!(results[1]["item"], json!("b"));
    assert_eq!(results[1]["ansible_loop_var"], json!("item"));
    assert_eq!(results[1]["stdout"], json!("b"));
    assert_eq!(results[1]["failed"], json!(false));
    assert_eq!(r.result(1).result["msg"], json!("a,b"));
    let third = r.result(2).result;
    assert_eq!(third["results"][0]["skipped"], json!(true));
    assert_eq!(third["results"][2]["n"], json!(3));
    assert_eq!(third["results"][2]["msg"], json!(3));
}

#[test]
fn loop_failures_and_empty_loops() {
    let s = one_play(vec![
        task("shell", json!({"_raw_params": "exit {{ item }}"}))
            .kw("loop", json!([0, 2]))
            .kw("ignore_errors", json!(true)),
        task("debug", json!({})).kw("loop", json!([])),
        task("debug", json!({})).kw("loop", json!("not a list")),
    ]);
    let r = run(&s);
    let failed = r.result(0);
    assert_eq!((failed.status, failed.ignored), (Status::Failed, true));
    // Like Ansible, an ignored failure that changed something counts as changed.
    assert_eq!(
        (
            r.stats.ok,
            r.stats.changed,
            r.stats.ignored,
            r.stats.skipped
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(failed.result["msg"], json!("One or more items failed"));
    assert_eq!(failed.result["results"][1]["rc"], json!(2));
    let empty = r.result(1);
    assert_eq!(empty.status, Status::Skipped);
    assert_eq!(
        empty.result["skipped_reason"],
        json!("No items in the list")
    );
    let bad = r.result(2);
    assert_eq!(bad.status, Status::Failed);
    assert!(
        bad.result["msg"]
            .as_str()
            .unwrap()
            .starts_with("Invalid data passed to 'loop'")
    );
}

#[test]
fn ignore_errors_counts_ok_and_ignored() {
    let s = one_play(vec![
        task("fail", json!({"msg": "boom"})).kw("ignore_errors", json!(true)),
        task("debug", json!({"msg": "still running"})),
    ]);
    let r = run(&s);
    let res = r.result(0);
    assert_eq!((res.status, res.ignored), (Status::Failed, true));
    assert_eq!(
        res.result,
        json!({"msg": "boom", "failed": true, "changed": false})
    );
    assert_eq!(r.result(1).status, Status::Ok);
    assert_eq!(
        r.stats,
        HostStats {
            ok: 2,
            ignored: 1,
            ..HostStats::default()
        }
    );
}

#[test]
fn a_failure_stops_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let never = path_in(&dir, "never");
    let s = slice(vec![
        play(
            0,
            vec![
                task("fail", json!({})),
                task("file", json!({"path": never, "state": "touch"})),
            ],
        ),
        play(
            1,
            vec![task("file", json!({"path": never, "state": "touch"}))],
        ),
    ]);
    let r = run(&s);
    assert_eq!(r.results().len(), 1);
    assert_eq!(
        r.result(0).result["msg"],
        json!("Failed as requested from task")
    );
    assert!(!std::path::Path::new(&never).exists());
    assert_eq!(
        r.stats,
        HostStats {
            failures: 1,
            ..HostStats::default()
        }
    );
    assert!(matches!(r.events.last(), Some(Event::HostDone { .. })));
}

#[test]
fn unknown_module_fails_with_ansible_message() {
    let r = run(&one_play(vec![task("no_such_module", json!({"x": 1}))]));
    let res = r.result(0);
    assert_eq!(res.status, Status::Failed);
    assert_eq!(
        res.result["msg"],
        json!(
            "couldn't resolve module/action 'no_such_module'. This often indicates a misspelling, missing collection, or incorrect module path."
        )
    );
}

#[test]
fn unsupported_parameters_fail() {
    let res = run(&one_play(vec![task(
        "debug",
        json!({"msg": "x", "bogus": 1}),
    )]))
    .result(0);
    assert_eq!(res.status, Status::Failed);
    assert_eq!(
        res.result["msg"],
        json!(
            "Unsupported parameters for (ansible.builtin.debug) module: bogus. Supported parameters include: msg, var, verbosity."
        )
    );
}

#[test]
fn changed_when_and_failed_when_see_the_result() {
    let s = one_play(vec![
        task("command", json!({"_raw_params": "false"}))
            .register("r")
            .kw("failed_when", json!("r.rc == 5"))
            .kw("changed_when", json!(["r.rc == 1"])),
        task("command", json!({"_raw_params": "true"})).kw("changed_when", json!(false)),
        task("debug", json!({"msg": "x"})).kw("failed_when", json!("true")),
    ]);
    let r = run(&s);
    let first = r.result(0);
    assert_eq!(first.status, Status::Changed);
    assert_eq!(first.result["failed_when_result"], json!(false));
    assert_eq!(first.result["rc"], json!(1));
    assert_eq!(first.result["failed"], json!(false));
    assert_eq!(r.result(1).status, Status::Ok);
    assert_eq!(r.result(2).status, Status::Failed);
    assert_eq!(r.result(2).result["failed_when_result"], json!(true));
}

#[test]
fn no_log_censors_results() {
    let s = one_play(vec![
        task("debug", json!({"msg": "secret"})).kw("no_log", json!(true)),
        task("debug", json!({"msg": "{{ item }}"}))
            .kw("loop", json!(["s1"]))
            .kw("no_log", json!("{{ true }}")),
        task("command", json!({"_raw_params": "echo secret"}))
            .kw("no_log", json!(true))
            .register("hidden"),
        task("debug", json!({"msg": "{{ hidden.stdout }}"})),
    ]);
    let r = run(&s);
    let censored = "the output has been hidden due to the fact that 'no_log: true' was specified for this result";
    assert_eq!(
        r.result(0).result,
        json!({"censored": censored, "changed": false})
    );
    assert_eq!(
        r.result(1).result,
        json!({"censored": censored, "changed": false, "results": [{"censored": censored, "changed": false}]})
    );
    for e in &r.events {
        if let Event::ItemResult { result, .. } = e {
            assert_eq!(result, &json!({"censored": censored, "changed": false}));
        }
    }
    assert_eq!(r.result(2).status, Status::Changed);
    // The registered value keeps the real output.
    assert_eq!(r.result(3).result["msg"], json!("secret"));
}

#[test]
fn handlers_run_once_at_end_of_play_only_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let log = path_in(&dir, "log");
    let append = |word: &str| {
        task(
            "shell",
            json!({"_raw_params": format!("echo {word} >> {log}")}),
        )
    };
    let mut p = play(
        0,
        vec![
            append("t1").kw("notify", json!("h1")),
            append("t2").kw("notify", json!(["h1", "topic"])),
            task("debug", json!({"msg": "unchanged"})).kw("notify", json!("h3")),
            append("t3"),
        ],
    );
    p.handlers = std::sync::Arc::new(vec![
        append("h1").named("h1"),
        append("h2").named("h2").kw("listen", json!("topic")),
        append("h3").named("h3"),
    ]);
    let r = run(&slice(vec![p]));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "t1\nt2\nt3\nh1\nh2\n"
    );
    let handler_keys: Vec<Vec<u32>> = r
        .results()
        .iter()
        .map(|x| x.pos.clone())
        .filter(|p| p[0] == 1)
        .collect();
    assert_eq!(handler_keys, vec![vec![1, 0], vec![1, 1]]);
    assert_eq!(r.stats.changed, 5);
}

#[test]
fn handlers_do_not_run_after_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let marker = path_in(&dir, "handler-ran");
    let mut p = play(
        0,
        vec![
            task("command", json!({"_raw_params": "true"})).kw("notify", json!("h")),
            task("fail", json!({})),
        ],
    );
    p.handlers = std::sync::Arc::new(vec![
        task("file", json!({"path": marker, "state": "touch"})).named("h"),
    ]);
    let r = run(&slice(vec![p]));
    assert!(!std::path::Path::new(&marker).exists());
    assert_eq!(r.stats.failures, 1);
}

#[test]
fn meta_flush_handlers_and_end_play() {
    let dir = tempfile::tempdir().unwrap();
    let log = path_in(&dir, "log");
    let append = |word: &str| {
        task(
            "shell",
            json!({"_raw_params": format!("echo {word} >> {log}")}),
        )
    };
    let mut p0 = play(
        0,
        vec![
            append("t1").kw("notify", json!("h")),
            task("meta", json!({"_raw_params": "flush_handlers"})),
            append("t2"),
            task("meta", json!({"_raw_params": "end_play"})).when(json!(false)),
            task("meta", json!({"_raw_params": "end_play"})),
            append("never"),
        ],
    );
    p0.handlers = std::sync::Arc::new(vec![append("h").named("h")]);
    let p1 = play(1, vec![append("play2")]);
    let r = run(&slice(vec![p0, p1]));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "t1\nh\nt2\nplay2\n");
    // Meta results come with Ansible's messages and never count.
    let metas: Vec<(Vec<u32>, Status, serde_json::Value)> = r
        .results()
        .into_iter()
        .filter(|x| x.action == "meta")
        .map(|x| (x.pos, x.status, x.result))
        .collect();
    assert_eq!(
        metas,
        vec![
            (
                vec![0, 1],
                Status::Ok,
                json!({"msg": "triggered running handlers for testhost", "changed": false})
            ),
            (
                vec![0, 3],
                Status::Skipped,
                json!({"msg": "end_play", "skipped": true, "skip_reason": "end_play conditional evaluated to False, continuing play"})
            ),
            (
                vec![0, 4],
                Status::Ok,
                json!({"msg": "ending play", "changed": false})
            ),
        ]
    );
    let order: Vec<Vec<u32>> = r.results().into_iter().map(|x| x.pos).collect();
    // The flushed handler runs under the flush's key, before the next task.
    let handler = vec![0, 1, rustle_format::TaskKey::HANDLER, 0];
    assert_eq!(order[..4], [vec![0, 0], vec![0, 1], handler, vec![0, 2]]);
    assert_eq!(
        r.stats,
        HostStats {
            ok: 4,
            changed: 4,
            ..HostStats::default()
        }
    );
}

#[test]
fn meta_noop_ignores_when_and_end_host_skips_handlers() {
    let dir = tempfile::tempdir().unwrap();
    let marker = path_in(&dir, "handler");
    let mut p0 = play(
        0,
        vec![
            task("meta", json!({"_raw_params": "noop"})).when(json!("undefined_thing")),
            task("command", json!({"_raw_params": "true"})).kw("notify", json!("h")),
            task("meta", json!({"_raw_params": "end_host"})),
        ],
    );
    p0.handlers = std::sync::Arc::new(vec![
        task("file", json!({"path": marker, "state": "touch"})).named("h"),
    ]);
    let p1 = play(1, vec![task("debug", json!({"msg": "next play"}))]);
    let r = run(&slice(vec![p0, p1]));
    assert_eq!(r.result(0).result, json!({"msg": "noop", "changed": false}));
    assert_eq!(r.result(2).result["msg"], json!("ending play for testhost"));
    assert_eq!(r.result(3).result["msg"], json!("next play"));
    assert!(!std::path::Path::new(&marker).exists());
    assert_eq!(
        r.stats,
        HostStats {
            ok: 2,
            changed: 1,
            ..HostStats::default()
        }
    );
}

#[test]
fn set_fact_sets_host_variables_across_plays() {
    let s = slice(vec![
        play(
            0,
            vec![task(
                "set_fact",
                json!({"answer": "{{ 40 + 2 }}", "name": "x"}),
            )],
        ),
        play(
            1,
            vec![task("debug", json!({"msg": "{{ answer + 1 }} {{ name }}"}))],
        ),
    ]);
    let r = run(&s);
    assert_eq!(
        r.result(0).result,
        json!({"ansible_facts": {"answer": 42, "name": "x"}, "changed": false, "failed": false})
    );
    assert_eq!(r.result(1).result["msg"], json!("43 x"));
}

#[test]
fn assert_and_fail_messages() {
    let s = one_play(vec![
        task(
            "assert",
            json!({"that": ["1 == 1", "2 == 3"], "fail_msg": "nope"}),
        )
        .kw("ignore_errors", json!(true)),
        task("assert", json!({"that": "1 == 1", "success_msg": "fine"})),
        task("assert", json!({"that": ["'x'"]})).kw("ignore_errors", json!(true)),
    ]);
    let r = run(&s);
    assert_eq!(
        r.result(0).result,
        json!({"_ansible_verbose_always": true, "evaluated_to": false, "assertion": "2 == 3", "msg": "nope", "failed": true, "changed": false})
    );
    assert_eq!(r.result(1).result["msg"], json!("fine"));
    assert_eq!(r.result(2).status, Status::Failed);
    assert!(
        r.result(2).result["msg"]
            .as_str()
            .unwrap()
            .contains("Conditionals must have a boolean result")
    );
}

#[test]
fn debug_var_shows_values_and_errors() {
    let s = one_play(vec![
        task("debug", json!({"var": "things | length"})).vars(json!({"things": [1, 2]})),
        task("debug", json!({"var": "nope"})),
    ]);
    let r = run(&s);
    assert_eq!(r.result(0).result["things | length"], json!(2));
    assert_eq!(r.result(1).status, Status::Ok);
    assert_eq!(
        r.result(1).result["nope"],
        json!("<< error 1 - 'nope' is undefined >>")
    );
}

#[test]
fn gathered_facts_are_variables() {
    let mut s = one_play(vec![task(
        "debug",
        json!({"msg": "{{ ansible_facts.system }} {{ ansible_system }} {{ ansible_facts['user_id'] == ansible_user_id }} {{ ansible_date_time.epoch | int > 0 }}"}),
    )]);
    s.plays[0].gather_facts = true;
    let r = run(&s);
    let gather = r.result(0);
    assert_eq!(
        (
            gather.name.as_str(),
            gather.action.as_str(),
            gather.pos.clone()
        ),
        ("Gathering Facts", "gather_facts", vec![])
    );
    assert_eq!(gather.status, Status::Ok);
    let facts = &gather.result["ansible_facts"];
    for key in [
        "ansible_hostname",
        "ansible_kernel",
        "ansible_machine",
        "ansible_processor_vcpus",
        "ansible_memtotal_mb",
        "ansible_user_uid",
        "ansible_env",
        "ansible_pkg_mgr",
        "ansible_service_mgr",
    ] {
        assert!(facts.get(key).is_some(), "missing {key} in {facts}");
    }
    assert_eq!(facts["module_setup"], json!(true));
    assert_eq!(r.result(1).result["msg"], json!("Linux Linux True True"));
}

#[test]
fn with_lookups_as_the_parser_writes_them() {
    let with = |lookup: &str, items: serde_json::Value| {
        task("debug", json!({"msg": "{{ item }}"}))
            .kw("loop", items)
            .kw("loop_with", json!(lookup))
    };
    let s = one_play(vec![
        with("items", json!([[1, 2], 3])),
        with("list", json!([[1, 2], 3])),
        with("dict", json!({"a": 1})),
        with("fileglob", json!(["*.txt"])).kw("ignore_errors", json!(true)),
    ]);
    let r = run(&s);
    let msgs = |i: usize| -> Vec<serde_json::Value> {
        let res = r.result(i).result;
        res["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["msg"].clone())
            .collect()
    };
    assert_eq!(msgs(0), vec![json!(1), json!(2), json!(3)]);
    assert_eq!(msgs(1), vec![json!([1, 2]), json!(3)]);
    assert_eq!(msgs(2), vec![json!({"key": "a", "value": 1})]);
    // A controller lookup fails in a process that is not the controller
    // (a runner); rustle-exec, the controller, runs such tasks itself.
    assert_eq!(
        r.result(3).result["msg"],
        json!(
            "Task failed: The lookup plugin 'fileglob' failed: the 'fileglob' lookup runs on \
             the controller, and this task runs in a runner on the host"
        )
    );
}

#[test]
fn async_refuses_actions_without_async_and_programs_that_cannot_start_jobs() {
    // This test binary never called `jobs::serve`, so it cannot start a job:
    // the task fails rather than running synchronously.
    let s = one_play(vec![
        task("command", json!({"_raw_params": "true"})).kw("async", json!(10)),
        task("debug", json!({})),
    ]);
    let r = run(&s);
    assert_eq!(r.results().len(), 1);
    assert_eq!(
        r.result(0).result["msg"],
        json!("Task failed: this program does not run async jobs")
    );
    let s = one_play(vec![
        task("copy", json!({"content": "x", "dest": "/nonexistent/x"})).kw("async", json!(10)),
    ]);
    let r = run(&s);
    assert_eq!(
        r.result(0).result["msg"],
        json!("This action (copy) does not support async.")
    );
}

#[test]
fn metas_not_supported_yet_fail_saying_so() {
    let s = one_play(vec![task(
        "meta",
        json!({"_raw_params": "reset_connection"}),
    )]);
    let r = run(&s);
    assert_eq!(
        r.result(0).result["msg"],
        json!("meta: reset_connection is not supported by rustle yet")
    );
    let s = one_play(vec![task("meta", json!({"_raw_params": "no_such_meta"}))]);
    let r = run(&s);
    assert_eq!(
        r.result(0).result["msg"],
        json!("invalid meta action requested: no_such_meta")
    );
}

#[test]
fn delegating_without_a_way_to_reach_other_hosts_fails_the_task() {
    let s = one_play(vec![
        task("command", json!({"_raw_params": "true"})).kw("delegate_to", json!("other")),
        task("command", json!({"_raw_params": "true"})).kw("delegate_to", json!(HOST)),
    ]);
    let r = run(&s);
    assert_eq!(
        r.result(0).result["msg"],
        json!("delegate_to: other: this runner reaches only its own host")
    );
    let s = one_play(vec![
        task("command", json!({"_raw_params": "true"})).kw("delegate_to", json!(HOST)),
    ]);
    let r = run(&s);
    assert_eq!(
        r.statuses(),
        vec![Status::Changed],
        "delegating to itself runs here"
    );
}

#[test]
fn play_keywords_reach_every_task() {
    let mut p = play(
        0,
        vec![
            task("debug", json!({"msg": "secret"})),
            task("debug", json!({"msg": "shown"})).kw("no_log", json!(false)),
        ],
    );
    p.keywords.insert("no_log".into(), json!(true));
    let r = run(&slice(vec![p]));
    let hidden = "the output has been hidden due to the fact that 'no_log: true' was specified for this result";
    assert_eq!(r.result(0).result["censored"], json!(hidden));
    assert_eq!(
        r.result(1).result["msg"],
        json!("shown"),
        "a task's own keyword wins"
    );
}

/// become through sudo: run as root (as the test machine does, with sudo
/// installed by scripts/test), a task becomes nobody; becoming the user
/// tasks already run as needs no sudo; a become password is refused.
#[test]
fn become_runs_tasks_as_another_user() {
    let me = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    assert_eq!(me, "root", "the become tests run as root");
    let mut p = play(
        0,
        vec![
            task("command", json!({"_raw_params": "id -un"})).kw("become_user", json!("nobody")),
            task("command", json!({"_raw_params": "id -un"})),
            // Root's sudo asks no password: the password line sent first
            // must not reach the task's stdin.
            task("command", json!({"_raw_params": "cat", "stdin": "in"}))
                .kw("become_user", json!("nobody"))
                .vars(json!({"ansible_become_password": "secret"})),
        ],
    );
    p.keywords.insert("become".into(), json!(true));
    let r = run(&slice(vec![p]));
    assert_eq!(r.result(0).result["stdout"], json!("nobody"));
    assert_eq!(r.result(1).result["stdout"], json!("root"));
    assert_eq!(r.result(2).result["stdout"], json!("in"));
}

/// One candidate of a templated include: a block of `tasks` selected by
/// `name`.
fn candidate(name: &str, tasks: Vec<rustle_format::Task>) -> rustle_format::Task {
    let mut t = task(rustle_format::Task::BLOCK, json!({}));
    t.block = Some(rustle_format::Block {
        block: tasks,
        candidate: Some(name.into()),
        ..Default::default()
    });
    t
}

fn templated_include(items: Json) -> rustle_format::Task {
    let mut inc = task(
        "include_tasks",
        json!({"_raw_params": "tasks/{{ which }}.yml"}),
    )
    .kw("loop", items)
    .kw("loop_control", json!({"loop_var": "which"}));
    let say = |file: &str, msg: &str| {
        let mut t = task("debug", json!({"msg": msg}));
        t.source = format!("{file}:1:3");
        t
    };
    inc.block = Some(rustle_format::Block {
        block: vec![
            candidate("tasks/a.yml", vec![say("tasks/a.yml", "in a {{ which }}")]),
            candidate("tasks/b.yml", vec![say("tasks/b.yml", "in b {{ which }}")]),
        ],
        ..Default::default()
    });
    inc
}

#[test]
fn a_templated_include_runs_the_candidate_its_rendered_name_selects() {
    let r = run(&one_play(vec![templated_include(json!(["b", "a"]))]));
    let res = r.results();
    let included: Vec<&Json> = res[0].result["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["_rustle_included"])
        .collect();
    assert_eq!(
        included,
        [
            &json!("/srv/playbooks/tasks/b.yml"),
            &json!("/srv/playbooks/tasks/a.yml")
        ]
    );
    let msgs: Vec<&Json> = res[1..].iter().map(|r| &r.result["msg"]).collect();
    assert_eq!(msgs, [&json!("in b b"), &json!("in a a")]);
}

#[test]
fn a_templated_include_without_a_candidate_fails_as_ansible() {
    let include = templated_include(json!(["a", "nope"])).kw("ignore_errors", json!(true));
    let after = task("debug", json!({"msg": "after"}));
    let r = run(&one_play(vec![include, after]));
    let res = r.results();
    assert_eq!(
        res.len(),
        1,
        "nothing is included, nothing runs after: {res:#?}"
    );
    assert_eq!(res[0].status, Status::Failed);
    assert!(!res[0].ignored);
    let path = "/srv/playbooks/tasks/nope.yml";
    // ansible-core's strategy fails it with a `reason`, and no `msg`.
    assert_eq!(
        res[0].result["results"][1]["include"],
        json!("tasks/nope.yml")
    );
    assert_eq!(
        res[0].result["results"][1]["reason"],
        json!(format!(
            "Could not find or access '{path}' on the Ansible Controller: Unable to retrieve \
             file contents.\nCould not find or access '{path}' on the Ansible Controller.\n\
             If you are using a module and expect the file to exist on the remote, see the \
             remote_src option: [Errno 2] No such file or directory: '{path}'"
        ))
    );
}

/// `include_vars` between stretches, as a runner runs it: the variables
/// (from embedded files, one of them vault-encrypted) come back in the
/// host state, and the next stretch ranks them above task vars and below
/// set_fact. The encrypted file's result is censored in its event.
#[test]
fn include_vars_carry_between_stretches() {
    use rustle_format::{Secret, Stretch, VaultSecret};
    let secret = VaultSecret {
        label: "default".into(),
        password: Secret("include-vars".into()),
    };
    let sealed = rustle_vault::encrypt(b"token: s3cret\n", &secret).unwrap();
    let mut files = MemFiles::default();
    files
        .0
        .insert("vars/plain.yml".into(), b"color: blue\nsize: 3\n".to_vec());
    files
        .0
        .insert("vars/sealed.yml".into(), sealed.into_bytes());
    let slice = one_play(vec![
        task("include_vars", json!({"_raw_params": "plain.yml"})),
        task("include_vars", json!({"file": "sealed.yml"})),
        task("set_fact", json!({"size": "fact"})),
        task(
            "assert",
            json!({"that": ["color == 'blue'", "size == 'fact'", "token == 's3cret'"]}),
        )
        .vars(json!({"color": "task"})),
    ]);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let cx = rustle_engine::Context {
        target: &LocalTarget,
        files: &files,
        stop: &stop,
        delegates: None,
    };
    let mut events = Vec::new();
    let first = Stretch {
        play: 0,
        from: 1,
        to: 3,
        vault_secrets: vec![secret.clone()],
        ..Stretch::default()
    };
    let state = rustle_engine::run_stretch(&slice, first, &cx, &mut |e| events.push(e));
    assert_eq!(state.included_vars["color"], json!("blue"));
    assert_eq!(state.included_vars["token"], json!("s3cret"));
    assert!(!state.vars.contains_key("color"), "{:?}", state.vars);
    let second = Stretch {
        play: 0,
        from: 3,
        to: 5,
        state,
        vault_secrets: vec![secret],
        ..Stretch::default()
    };
    rustle_engine::run_stretch(&slice, second, &cx, &mut |e| events.push(e));
    let run = Run {
        events,
        stats: HostStats::default(),
    };
    let results = run.results();
    assert_eq!(
        run.statuses(),
        [Status::Ok, Status::Ok, Status::Ok, Status::Ok],
        "{results:#?}"
    );
    assert_eq!(
        results[0].result["ansible_included_var_files"],
        json!(["/srv/playbooks/vars/plain.yml"])
    );
    assert_eq!(results[0].result["ansible_facts"]["size"], json!(3));
    assert!(results[1].result.get("censored").is_some(), "{results:#?}");
    assert!(!results[1].result.to_string().contains("s3cret"));
}
