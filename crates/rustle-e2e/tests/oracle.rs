//! Playbooks run through ansible-playbook and through rustle, each into
//! its own directory: both must succeed, print the same output (banners,
//! result lines and recap; Ansible's warnings aside) and leave byte-
//! identical files with the same modes.

use rustle_e2e::oracle::{same_as_ansible, same_as_ansible_with, twice_and_checked_as_ansible};
use rustle_e2e::{comparable, run_ansible, run_rustle, tree};

#[test]
fn demo_matches_ansible() {
    same_as_ansible("fixtures/demo/site.yml", "demo_dir");
}

#[test]
fn blocks_match_ansible() {
    same_as_ansible("fixtures/playbooks/blocks.yml", "out");
}

#[test]
fn roles_and_imports_match_ansible() {
    same_as_ansible("fixtures/playbooks/roles/site.yml", "out");
}

/// Roles whose argument specs name the entry point get ansible-core's
/// validation task first: passing, failing (rescued), turned off.
#[test]
fn role_argument_specs_match_ansible() {
    same_as_ansible("fixtures/playbooks/argspec/site.yml", "out");
}

#[test]
fn argument_forms_match_ansible() {
    same_as_ansible("fixtures/playbooks/forms.yml", "out");
}

#[test]
fn inventory_variables_match_ansible() {
    same_as_ansible_with(
        "fixtures/playbooks/inventory/site.yml",
        "out",
        &["-i", "fixtures/playbooks/inventory/hosts.ini"],
    );
}

/// Ansible prints a play's hosts from a set, in no fixed order.
fn hosts_sorted(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<String> = Vec::new();
    let mut in_hosts = false;
    for line in text.lines() {
        let is_host = in_hosts
            && line.starts_with("      ")
            && !line.contains('\t')
            && !line.contains("TASK TAGS");
        if is_host {
            run.push(line.to_owned());
            continue;
        }
        run.sort();
        out.append(&mut run);
        in_hosts = line.trim_start().starts_with("hosts (");
        out.push(line.to_owned());
    }
    run.sort();
    out.append(&mut run);
    out.join("\n")
}

#[test]
fn listings_match_ansible() {
    let inventory = ["-i", "fixtures/playbooks/inventory/hosts.ini"];
    let cases: &[&[&str]] = &[
        &[
            "fixtures/playbooks/roles/site.yml",
            "--list-tasks",
            "--list-hosts",
        ],
        &[
            "fixtures/playbooks/roles/site.yml",
            "--list-tasks",
            "--list-tags",
            "-t",
            "web",
        ],
        &[
            "fixtures/playbooks/roles/site.yml",
            "--list-tasks",
            "--skip-tags",
            "web",
        ],
        &[
            "fixtures/playbooks/blocks.yml",
            "--list-tasks",
            "--list-tags",
        ],
        &[
            "fixtures/playbooks/inventory/site.yml",
            "--list-hosts",
            "--list-tags",
        ],
        &[
            "fixtures/playbooks/inventory/site.yml",
            "--list-hosts",
            "-l",
            "web1:db1",
        ],
        &[
            "fixtures/playbooks/inventory/site.yml",
            "--list-hosts",
            "-l",
            "prod:!web2",
        ],
        &["fixtures/demo/site.yml", "--syntax-check"],
        &[
            "fixtures/playbooks/forms.yml",
            "--list-tasks",
            "--list-tags",
        ],
    ];
    for case in cases {
        let args = [&inventory[..], case].concat();
        let ansible = run_ansible(&args);
        let rustle = rustle_e2e::stage("rustle-parse", &args, &[], b"");
        assert_eq!(ansible.status.code(), Some(0), "{case:?}");
        assert_eq!(
            rustle.status.code(),
            Some(0),
            "{case:?}: {}",
            String::from_utf8_lossy(&rustle.stderr)
        );
        let a = hosts_sorted(&String::from_utf8_lossy(&ansible.stdout));
        let r = hosts_sorted(&String::from_utf8_lossy(&rustle.stdout));
        let a: String = a
            .lines()
            .filter(|l| !l.starts_with("[WARNING]"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(a, r, "{case:?}");
    }
}

#[test]
fn tag_selections_match_ansible() {
    let book = "fixtures/playbooks/tags.yml";
    let cases: &[&[&str]] = &[
        &[],
        &["-t", "a"],
        &["-t", "blk"],
        &["--skip-tags", "b"],
        &["-t", "tagged"],
        &["-t", "untagged"],
        &["-t", "debugonly"],
        &["--skip-tags", "always"],
        &["-t", "b,a"],
    ];
    for case in cases {
        let ansible = run_ansible(&[&[book], *case].concat());
        let rustle = rustle_e2e::run_rustle_planned(&[book], case);
        assert_eq!(ansible.status.code(), Some(0), "{case:?}");
        assert_eq!(rustle.status.code(), Some(0), "{case:?}");
        assert_eq!(
            comparable(&ansible.stdout),
            comparable(&rustle.stderr),
            "{case:?}"
        );
    }
}

/// `serial` batches: each batch prints its hosts once under Ansible; the
/// plan's batches must be the same lists.
#[test]
fn serial_batches_match_ansible() {
    let args = [
        "fixtures/playbooks/serial/site.yml",
        "-i",
        "fixtures/playbooks/serial/hosts.ini",
    ];
    let ansible = run_ansible(&args);
    assert_eq!(ansible.status.code(), Some(0));
    let msg = regex::Regex::new(r#""msg": "([^"]*)""#).unwrap();
    let expected: Vec<String> = msg
        .captures_iter(&String::from_utf8_lossy(&ansible.stdout))
        .map(|c| c[1].to_owned())
        .collect();

    let parsed = rustle_e2e::stage_ok("rustle-parse", &args, &[], b"");
    let planned = rustle_e2e::stage_ok("rustle-plan", &[], &[], &parsed.stdout);
    let doc: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    let mut got = Vec::new();
    for play in doc["plan"]["plays"].as_array().unwrap() {
        let hosts: Vec<&str> = play["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        let mut start = 0;
        for size in play["batches"].as_array().unwrap() {
            let end = start + size.as_u64().unwrap() as usize;
            got.push(hosts[start..end].join(","));
            start = end;
        }
    }
    assert_eq!(got, expected);
}

/// Host patterns, as `--limit` over a play on `all`: rustle-plan's
/// `--list-hosts` against ansible-playbook's.
#[test]
fn host_patterns_match_ansible() {
    let inventory = "fixtures/playbooks/serial/hosts.ini";
    let book = "fixtures/playbooks/all.yml";
    let patterns = [
        "all",
        "pool",
        "node1",
        "node1:node3",
        "node1,node3",
        "pool:!node2",
        "pool:&node2",
        "~node[12]$",
        "node*",
        "*5",
        "pool[0]",
        "pool[1:3]",
        "pool[-1]",
        "pool[5:]",
        "all:!pool[0:3]",
        "pool:!~node[3-5]",
    ];
    let parsed = rustle_e2e::stage_ok("rustle-parse", &[book, "-i", inventory], &[], b"");
    for pattern in patterns {
        let ansible = run_ansible(&[book, "-i", inventory, "--list-hosts", "-l", pattern]);
        let rustle = rustle_e2e::stage(
            "rustle-plan",
            &["--list-hosts", "-l", pattern],
            &[],
            &parsed.stdout,
        );
        assert_eq!(ansible.status.code(), rustle.status.code(), "{pattern}");
        let a = hosts_sorted(&String::from_utf8_lossy(&ansible.stdout));
        let r = hosts_sorted(&String::from_utf8_lossy(&rustle.stdout));
        let a: String = a
            .lines()
            .filter(|l| !l.starts_with("[WARNING]"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(a, r, "pattern {pattern}");
    }
}

/// rustle-plan's `--list-tasks` after `--tags`/`--skip-tags`.
#[test]
fn planned_task_lists_match_ansible() {
    let book = "fixtures/playbooks/roles/site.yml";
    let parsed = rustle_e2e::stage_ok("rustle-parse", &[book], &[], b"");
    let cases: &[&[&str]] = &[
        &[],
        &["-t", "web"],
        &["--skip-tags", "web"],
        &["-t", "untagged"],
    ];
    for case in cases {
        let ansible = run_ansible(&[&[book, "--list-tasks"], *case].concat());
        let rustle = rustle_e2e::stage(
            "rustle-plan",
            &[&["--list-tasks"], *case].concat(),
            &[],
            &parsed.stdout,
        );
        let a: String = String::from_utf8_lossy(&ansible.stdout)
            .lines()
            .filter(|l| !l.starts_with("[WARNING]"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            a.trim_end(),
            String::from_utf8_lossy(&rustle.stdout).trim_end(),
            "{case:?}"
        );
    }
}

/// A YAML inventory (ranges, nested children, vars) and the delegation and
/// dynamic-include forms, listed by both tools.
#[test]
fn yaml_inventory_and_more_forms_list_like_ansible() {
    let yaml = "fixtures/playbooks/inventory/hosts.yml";
    let cases: &[&[&str]] = &[
        &["fixtures/playbooks/all.yml", "-i", yaml, "--list-hosts"],
        &[
            "fixtures/playbooks/all.yml",
            "-i",
            yaml,
            "--list-hosts",
            "-l",
            "prod:!db",
        ],
        &[
            "fixtures/playbooks/local_action.yml",
            "-i",
            yaml,
            "--list-tasks",
            "--list-hosts",
            "-l",
            "staging",
        ],
    ];
    for case in cases {
        let ansible = run_ansible(case);
        let rustle = rustle_e2e::stage("rustle-parse", case, &[], b"");
        assert_eq!(ansible.status.code(), Some(0), "{case:?}");
        assert_eq!(
            rustle.status.code(),
            Some(0),
            "{case:?}: {}",
            String::from_utf8_lossy(&rustle.stderr)
        );
        let a = hosts_sorted(&String::from_utf8_lossy(&ansible.stdout));
        let a: String = a
            .lines()
            .filter(|l| !l.starts_with("[WARNING]"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            a,
            hosts_sorted(&String::from_utf8_lossy(&rustle.stdout)),
            "{case:?}"
        );
    }
}

/// Twelve levels of variable precedence, set_fact, role params, extra vars.
#[test]
fn variable_precedence_matches_ansible() {
    same_as_ansible_with(
        "fixtures/playbooks/precedence/site.yml",
        "out",
        &[
            "-i",
            "fixtures/playbooks/precedence/hosts.ini",
            "-e",
            "v12=extra",
        ],
    );
}

/// Magic variables, `omit`, and loop control (`extended`, `index_var`).
#[test]
fn magic_variables_match_ansible() {
    same_as_ansible_with(
        "fixtures/playbooks/magic.yml",
        "out",
        &["-i", "fixtures/playbooks/serial/hosts.ini"],
    );
}

#[test]
fn template_matches_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/template.yml", true);
}

#[test]
fn copy_directories_backup_and_validate_match_ansible() {
    // Not idempotent: a file of the tree is changed, then copied over;
    // backups are made and removed on every run.
    twice_and_checked_as_ansible("fixtures/playbooks/modules/copy.yml", false);
}

#[test]
fn lineinfile_matches_ansible() {
    // Not idempotent by design (lines are replaced, then removed, then
    // added again): both runs must still match Ansible's.
    twice_and_checked_as_ansible("fixtures/playbooks/modules/lineinfile.yml", false);
}

/// become through sudo (the test machine runs as root; scripts/test
/// installs sudo): same output and the same owners as ansible-playbook
/// (with pipelining, which Ansible needs to become an unprivileged user).
#[test]
fn become_matches_ansible() {
    let playbook = "fixtures/playbooks/become.yml";
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    let a_var = format!("out={}", a_dir.display());
    let r_var = format!("out={}", r_dir.display());
    let ansible =
        rustle_e2e::run_ansible_env(&[playbook, "-e", &a_var], &[("ANSIBLE_PIPELINING", "1")]);
    let rustle = run_rustle(&[playbook, "-e", &r_var]);
    let a = comparable(&ansible.stdout);
    let r = comparable(&rustle.stderr);
    assert_eq!(ansible.status.code(), Some(0), "{a}");
    assert_eq!(a, r);
    assert!(r.contains("nobody 644 OUT/b/file"), "{r}");
    assert_eq!(tree(&a_dir), tree(&r_dir));
}

#[test]
fn until_retries_and_environment_match_ansible() {
    same_as_ansible("fixtures/playbooks/until.yml", "out");
}

#[test]
fn stat_ping_and_raw_match_ansible() {
    same_as_ansible("fixtures/playbooks/modules/stat_ping_raw.yml", "out");
}

/// community.general.ini_file, twice (the playbook fights itself over
/// one option, so the second run changes it again) and in --check --diff.
#[test]
fn ini_file_matches_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/ini_file.yml", false);
}

#[test]
fn getent_matches_ansible() {
    same_as_ansible("fixtures/playbooks/modules/getent.yml", "out");
}

/// Undefined variables in arguments (free-form too), a template file, a
/// loop and a condition: ansible-core 2.19's error reports, each cause
/// (`<<< caused by >>>`) with its origin and source lines, and the counts.
#[test]
fn undefined_variables_fail_as_in_ansible() {
    same_as_ansible("fixtures/playbooks/undefined.yml", "out");
}

#[test]
fn everyday_failures_match_ansible() {
    same_as_ansible("fixtures/playbooks/failures.yml", "out");
}

#[test]
fn templated_vars_files_match_ansible() {
    let book = "fixtures/playbooks/vars_files/site.yml";
    same_as_ansible(book, "out");
    let given = ["-e", "flavor=hot", "-e", "level=high"];
    same_as_ansible_with(book, "out", &given);
}

#[test]
fn commands_in_check_mode_match_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/check_mode.yml", false);
}

#[test]
fn assemble_matches_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/assemble.yml", false);
}

#[test]
fn replace_matches_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/replace.yml", false);
}

#[test]
fn file_matches_ansible() {
    // Not idempotent: a tree is made and removed on every run.
    twice_and_checked_as_ansible("fixtures/playbooks/modules/file.yml", false);
}

#[test]
fn find_and_tempfile_match_ansible() {
    // Not idempotent: the temporary file and directory are new each run.
    twice_and_checked_as_ansible("fixtures/playbooks/modules/find.yml", false);
}

#[test]
fn wait_for_matches_ansible() {
    // Not idempotent: a listener is started and stopped on every run.
    twice_and_checked_as_ansible("fixtures/playbooks/modules/wait_for.yml", false);
}

#[test]
fn blockinfile_matches_ansible() {
    // The second run moves nothing: the blocks are found by their markers.
    twice_and_checked_as_ansible("fixtures/playbooks/modules/blockinfile.yml", true);
}

/// `-v` and `-vv` print what ansible-playbook prints from its config line
/// on (the `-vv` version header and plugin chatter before it aside).
#[test]
fn verbose_output_matches_ansible() {
    let playbook = "fixtures/playbooks/verbose.yml";
    let times = regex::Regex::new(r#""(delta|start|end)": "[^"]*""#).unwrap();
    let from_config = |out: &[u8]| {
        let text = String::from_utf8_lossy(out);
        let start = text
            .find("No config file found")
            .or_else(|| text.find("Using "))
            .expect("a config line");
        let kept: Vec<&str> = text[start..]
            .lines()
            .filter(|l| !l.starts_with("[WARNING]") && !l.starts_with("Skipping callback"))
            .collect();
        times
            .replace_all(&kept.join("\n"), r#""$1": "-""#)
            .into_owned()
    };
    for v in ["-v", "-vv"] {
        let ansible = run_ansible(&[playbook, v]);
        let rustle = rustle_e2e::run_rustle_with(&[playbook], &[], &[v]);
        let a = from_config(&ansible.stdout);
        assert!(
            a.contains("ok: [localhost] => {\"changed\": false, \"cmd\""),
            "{a}"
        );
        assert_eq!(a, from_config(&rustle.stderr), "{v}");
        assert_eq!(ansible.status.code(), rustle.status.code());
    }
}

/// Lookups and `with_<lookup>` loops as ansible-playbook runs them on the
/// controller: files, templates, the environment, commands, ini and csv
/// files, passwords, and the pure ones.
#[test]
fn lookups_match_ansible() {
    same_as_ansible("fixtures/playbooks/lookups/lookups.yml", "out");
}

/// include_vars as ansible-playbook: a file, a directory with its
/// filters, `name`, `hash_behaviour: merge`, templated names (a variable,
/// loop items, with_first_found), a role's vars/, precedence against play
/// and task vars, set_fact and extra vars, and the failures of a missing
/// file and of a file that is not a mapping.
#[test]
fn include_vars_match_ansible() {
    same_as_ansible("fixtures/playbooks/include_vars/main.yml", "out");
}

/// gather_facts reports what ansible's setup module reports on the same
/// machine for the facts the engine issue names (host names and fqdn as
/// Python's `socket.getfqdn()`, distribution, kernel, CPUs, memory,
/// addresses, interfaces, user, python, clock, package and service
/// managers, mounts, lsb).
#[test]
fn facts_match_setup() {
    same_as_ansible("fixtures/playbooks/facts/main.yml", "out");
}

/// `meta: clear_facts`, and setup run as a task afterwards (which, unlike
/// fact gathering, does not mark the facts gathered).
#[test]
fn clear_facts_matches_ansible() {
    same_as_ansible("fixtures/playbooks/clear_facts.yml", "out");
}

/// Which facts a play's `gather_subset` and `fact_path`, and setup's
/// `gather_subset` and `filter`, return; a subset it does not know.
#[test]
fn fact_subsets_and_filters_match_setup() {
    same_as_ansible("fixtures/playbooks/facts/subsets.yml", "out");
}

/// An include whose file is not there fails the host as ansible-core's
/// strategy does, whatever `ignore_errors` says: its reason alone (no
/// origin; no failed line inside a loop, where each file it did include
/// counts ok), and counted failed even where a rescue runs, though the
/// host goes on and the run exits 0 then.
#[test]
fn missing_includes_fail_as_in_ansible() {
    for book in ["missing_static", "missing_loop", "missing_rescued"] {
        let book = format!("fixtures/playbooks/includes/{book}.yml");
        let args = [book.as_str(), "-e", "out=/nonexistent"];
        let ansible = run_ansible(&args);
        let rustle = rustle_e2e::run_rustle(&args);
        // ansible-playbook's strategy writes the reason to its stderr, the
        // rest to its stdout; rustle writes both to its stderr.
        let a_err = String::from_utf8_lossy(&ansible.stderr);
        let reason = &a_err[a_err.find("[ERROR]: ").expect("the reason on stderr")..];
        assert!(reason.contains("Could not find or access"), "{reason}");
        let r_err = String::from_utf8_lossy(&rustle.stderr);
        assert!(r_err.contains(reason), "{book}: {r_err}");
        let r = comparable(r_err.replace(reason, "").as_bytes());
        assert_eq!(comparable(&ansible.stdout), r, "{book}");
        assert_eq!(ansible.status.code(), rustle.status.code(), "{book}");
    }
}

/// include_tasks and include_role at run time, as ansible-playbook: vars,
/// loops with their own loop variable, a false condition, nesting, blocks,
/// tasks_from, the same role twice, templated file and role names, and
/// `apply` (also with `--tags`, which selects the included tasks by the
/// tags `apply` gives them).
#[test]
fn looped_includes_on_several_hosts_match_ansible() {
    same_as_ansible_with(
        "fixtures/playbooks/includes/hosts_loop.yml",
        "out",
        &["-i", "fixtures/playbooks/serial/hosts.ini"],
    );
}

#[test]
fn handlers_flushed_on_several_hosts_match_ansible() {
    same_as_ansible_with(
        "fixtures/playbooks/handlers_hosts.yml",
        "out",
        &["-i", "fixtures/playbooks/serial/hosts.ini"],
    );
}

#[test]
fn includes_match_ansible() {
    let book = "fixtures/playbooks/includes/main.yml";
    same_as_ansible(book, "out");
    let tagged = ["-t", "applied"];
    let ansible = run_ansible(&[&[book, "-e", "out=/nonexistent"][..], &tagged].concat());
    let rustle = rustle_e2e::run_rustle_planned(&[book, "-e", "out=/nonexistent"], &tagged);
    assert_eq!(ansible.status.code(), Some(0));
    assert_eq!(rustle.status.code(), Some(0));
    let (a, r) = (comparable(&ansible.stdout), comparable(&rustle.stderr));
    assert!(a.contains("from apply for other"), "{a}");
    assert_eq!(a, r);
}

/// Jobs started with `async` (waited for with `poll`, or left running and
/// checked with `async_status`), a job killed at its time limit, failing
/// and refused ones: the same output as ansible-playbook once job ids and
/// the killed job's pid are made common, and the same files.
#[test]
fn async_jobs_match_ansible() {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, r_dir) = (tmp.path().join("a"), tmp.path().join("r"));
    let pid = regex::Regex::new(r#""child_pid": \d+"#).unwrap();
    let normalise = |_, text: &str| {
        let text = rustle_e2e::without_async_timing(text);
        pid.replace_all(&text, r#""child_pid": PID"#).into_owned()
    };
    let (a, r) = rustle_e2e::oracle::run_both(
        "fixtures/playbooks/async.yml",
        (&a_dir, &r_dir),
        &[],
        "async",
        &normalise,
    );
    assert_eq!(a, r);
    assert_eq!(tree(&a_dir), tree(&r_dir));
    assert_eq!(
        std::fs::read_to_string(r_dir.join("later")).unwrap(),
        "later\n"
    );
}
