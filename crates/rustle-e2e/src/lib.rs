//! Test support for end-to-end tests of the pipe: builds the tools once,
//! finds them in the workspace's target directory, and runs them the way a
//! user's shell pipeline does (stdout of one stage into stdin of the next).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub mod oracle;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Build cache shared by every test, so the release runner builds once.
pub fn runner_cache() -> PathBuf {
    root().join("target/rustle-test-cache")
}

/// Path of a workspace binary, built (once per test process) with the
/// cargo that runs the tests.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(root())
            .args(["build", "--locked", "--bins"])
            .args(["-p", "rustle-parse", "-p", "rustle-plan"])
            .args(["-p", "rustle-deploy", "-p", "rustle-exec"])
            .status()
            .expect("running cargo build");
        assert!(status.success(), "cargo build of the tools failed");
        // target/debug/deps/<test> -> target/debug
        let exe = std::env::current_exe().expect("test executable path");
        exe.parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_path_buf()
    });
    dir.join(name)
}

/// `ansible-playbook` from the project's virtualenv, installed on first
/// use by `scripts/install-ansible` (tests that compare never skip).
pub fn ansible_playbook() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let out = Command::new(root().join("scripts/install-ansible"))
            .output()
            .expect("running scripts/install-ansible");
        assert!(
            out.status.success(),
            "scripts/install-ansible failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(
            text.lines()
                .last()
                .expect("install-ansible prints a path")
                .trim(),
        )
    })
    .clone()
}

/// Runs a playbook with ansible-playbook (its output on stdout).
pub fn run_ansible(args: &[&str]) -> Output {
    run_ansible_env(args, &[])
}

/// `run_ansible` with more environment (`ANSIBLE_PIPELINING` ...).
pub fn run_ansible_env(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(ansible_playbook())
        .args(args)
        .current_dir(root())
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env("ANSIBLE_LOCALHOST_WARNING", "0")
        .envs(envs.iter().copied())
        .output()
        .expect("running ansible-playbook")
}

/// Runs `rustle-parse ARGS | rustle-plan | rustle-exec` (no deploy: exec
/// runs the engine in process for local hosts).
pub fn run_rustle(parse_args: &[&str]) -> Output {
    run_rustle_planned(parse_args, &[])
}

/// `run_rustle` with arguments for `rustle-plan` (`--tags`, `--limit`...).
pub fn run_rustle_planned(parse_args: &[&str], plan_args: &[&str]) -> Output {
    run_rustle_with(parse_args, plan_args, &[])
}

/// `run_rustle_planned` with arguments for `rustle-exec` too.
pub fn run_rustle_with(parse_args: &[&str], plan_args: &[&str], exec_args: &[&str]) -> Output {
    stage(
        "rustle-exec",
        exec_args,
        &[],
        &planned_with(parse_args, plan_args),
    )
}

/// The document `rustle-parse ARGS | rustle-plan` prints; both must succeed.
pub fn planned(parse_args: &[&str]) -> Vec<u8> {
    planned_with(parse_args, &[])
}

/// `planned` with arguments for `rustle-plan`.
pub fn planned_with(parse_args: &[&str], plan_args: &[&str]) -> Vec<u8> {
    let parsed = stage_ok("rustle-parse", parse_args, &[], b"");
    stage_ok("rustle-plan", plan_args, &[], &parsed.stdout).stdout
}

/// The whole pipe over an inventory with `-e out=OUT`: parse, plan, then
/// deploy (runner mode) or not (SSH mode for SSH hosts), then exec with
/// `exec_args`; all with the shared runner cache.
pub fn run_pipe(
    playbook: &str,
    inventory: &Path,
    out: &Path,
    deploy: bool,
    exec_args: &[&str],
) -> Output {
    let book = root().join(playbook);
    let var = format!("out={}", out.display());
    let inv = inventory.to_str().expect("a UTF-8 path");
    let book = book.to_str().expect("a UTF-8 path");
    let parsed = stage_ok("rustle-parse", &[book, "-i", inv, "-e", &var], &[], b"");
    let planned = stage_ok("rustle-plan", &[], &[], &parsed.stdout);
    let cache = runner_cache();
    let envs: &[(&str, &Path)] = &[("RUSTLE_CACHE_DIR", &cache)];
    let doc = match deploy {
        true => stage_ok("rustle-deploy", &[], envs, &planned.stdout).stdout,
        false => planned.stdout,
    };
    stage("rustle-exec", exec_args, envs, &doc)
}

/// The recap's counts per host, whitespace-normalised, from either tool.
pub fn recap(output: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(output);
    let after = text.split("PLAY RECAP").nth(1).unwrap_or_default();
    after
        .lines()
        .skip(1)
        .filter(|l| l.contains(" : ok="))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Runs one stage with `stdin`, returning its output.
pub fn stage(name: &str, args: &[&str], envs: &[(&str, &Path)], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(bin(name));
    cmd.args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // A stage that refuses its input may close stdin early.
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("waiting for the stage");
    let _ = writer.join();
    out
}

/// Runs a stage and requires success, showing its stderr otherwise.
pub fn stage_ok(name: &str, args: &[&str], envs: &[(&str, &Path)], stdin: &[u8]) -> Output {
    let out = stage(name, args, envs, stdin);
    assert!(
        out.status.success(),
        "{name} {args:?} failed with {:?}:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The JSON event lines a run printed, parsed.
pub fn events(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad event line {l:?}: {e}")))
        .collect()
}

/// The `PLAY RECAP` line for `host` from Ansible-style output.
pub fn recap_line(stderr: &[u8], host: &str) -> String {
    let text = String::from_utf8_lossy(stderr);
    let after = text.split("PLAY RECAP").nth(1).unwrap_or_default();
    after
        .lines()
        .find(|l| l.split_whitespace().next() == Some(host))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| panic!("no recap line for {host} in:\n{text}"))
}

/// One entry of [`tree`]: a path relative to the root (directories end
/// in `/`), its mode, owner, group and link count, and its bytes (a
/// symbolic link's are `-> target`, relative to the root when inside it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TreeEntry {
    pub path: String,
    pub mode: u32,
    pub owner: (u32, u32),
    pub links: u64,
    pub bytes: Vec<u8>,
}

/// Every file, directory and link under `dir`, sorted.
pub fn tree(dir: &Path) -> Vec<TreeEntry> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let mut entry = TreeEntry {
                path: rel,
                mode: meta.permissions().mode() & 0o7777,
                owner: (meta.uid(), meta.gid()),
                links: meta.nlink(),
                bytes: Vec::new(),
            };
            if meta.is_dir() {
                entry.path.push('/');
                entry.links = 0;
                stack.push(p);
            } else if meta.is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                let target = target.strip_prefix(dir).unwrap_or(&target);
                entry.mode = 0;
                entry.bytes = format!("-> {}", target.display()).into_bytes();
            } else {
                entry.bytes = std::fs::read(&p).unwrap();
            }
            out.push(entry);
        }
    }
    out.sort();
    out
}

/// The diff header of a rendered template names the temporary file
/// ansible-core rendered it into; rustle names the template. Both become
/// `after: NAME`.
fn without_render_dirs(text: &str) -> std::borrow::Cow<'_, str> {
    static DIRS: OnceLock<regex::Regex> = OnceLock::new();
    let dirs = DIRS.get_or_init(|| {
        regex::Regex::new(r"(?m)^\+\+\+ after: /\S*/ansible-local-[^/]+/tmp[^/]+/")
            .expect("a valid regex")
    });
    dirs.replace_all(text, "+++ after: ")
}

/// The `--diff` hunks of default-callback output, in order (sections are
/// sorted by [`comparable`]; a diff's lines must also keep their order).
pub fn diff_lines(b: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(b);
    let text = without_render_dirs(&text);
    text.lines()
        .filter(|l| l.starts_with(['+', '-', '@', '\\']))
        .map(str::to_owned)
        .collect()
}

/// `included: FILE for b, a` as `included: FILE for a, b` (a loop item's
/// ` => (item=...)` kept after them); other lines as they are.
fn sorted_include_hosts(line: &str) -> String {
    match line
        .strip_prefix("included: ")
        .and_then(|r| r.rsplit_once(" for "))
    {
        Some((file, rest)) => {
            let (hosts, item) = match rest.split_once(" => ") {
                Some((hosts, item)) => (hosts, format!(" => {item}")),
                None => (rest, String::new()),
            };
            let mut hosts: Vec<&str> = hosts.split(", ").collect();
            hosts.sort_unstable();
            format!("included: {file} for {}{item}", hosts.join(", "))
        }
        None => line.to_owned(),
    }
}

/// Whether a line starts output of its own (a result, a banner, an error),
/// rather than going on with a warning before it.
fn starts_output(line: &str) -> bool {
    const STARTS: &[&str] = &[
        "ok: ",
        "changed: ",
        "fatal: ",
        "failed: ",
        "skipping: ",
        "included: ",
        "[ERROR]",
        "TASK [",
        "PLAY",
        "RUNNING HANDLER",
        "FAILED - RETRYING",
        "NO MORE HOSTS",
    ];
    line.is_empty() || STARTS.iter().any(|s| line.starts_with(s))
}

/// Default-callback output made comparable between ansible-playbook and
/// rustle: Ansible's start-up warnings and `[WARNING]` lines (with their
/// continuation lines) dropped,
/// times blanked, and each blank-line-separated section's lines sorted
/// (hosts finish a task in any order), and the hosts of an `included:
/// FILE for h1, h2` line sorted (Ansible lists them in the order their
/// results came in). The blank lines inside an
/// `[ERROR]` report (after `Origin:` and the column marker) are dropped
/// first, so a report stays in its task's section wherever it falls.
pub fn comparable(b: &[u8]) -> String {
    static TIMES: OnceLock<regex::Regex> = OnceLock::new();
    let times = TIMES.get_or_init(|| {
        regex::Regex::new(r#""(delta|start|end)": "[^"]*""#).expect("a valid regex")
    });
    let text = String::from_utf8_lossy(b);
    let start = text.find("\nPLAY [").unwrap_or(0);
    let mut lines: Vec<&str> = Vec::new();
    // A warning's later lines (`error 1 - ...` after "Encountered 1
    // template error.") go with it: ansible-playbook prints warnings on
    // stderr, which the comparison leaves out.
    let mut in_warning = false;
    for line in text[start..].lines() {
        let inside_error = lines
            .last()
            .is_some_and(|p| p.starts_with("Origin: ") || p.trim_start().starts_with("^ column"));
        in_warning = line.starts_with("[WARNING]") || (in_warning && !starts_output(line));
        if in_warning || (line.is_empty() && inside_error) {
            continue;
        }
        lines.push(line);
    }
    let sorted_includes: Vec<String> = lines.iter().map(|l| sorted_include_hosts(l)).collect();
    let text = sorted_includes.join("\n");
    let text = times.replace_all(&text, r#""$1": "-""#);
    let text = without_render_dirs(&text);
    text.split("\n\n")
        .map(|section| {
            let mut lines: Vec<&str> = section.lines().collect();
            lines.sort_unstable();
            lines.join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `dir/hosts.ini` for sshd test hosts (`hosts_ini`, their lines): runners
/// under `dir/remote`, the system Python for ansible-playbook, and
/// `pipelining` when asked; returns its path.
pub fn ssh_inventory(dir: &Path, hosts_ini: &str, pipelining: bool) -> PathBuf {
    let inventory = dir.join("hosts.ini");
    let mut text = format!(
        "{hosts_ini}\n[all:vars]\nrustle_remote_dir={}\nansible_python_interpreter=/usr/bin/python3\n",
        dir.join("remote").display()
    );
    if pipelining {
        text.push_str("ansible_pipelining=true\n");
    }
    std::fs::write(&inventory, text).expect("writing the inventory");
    inventory
}

/// Output of playbooks with `async` jobs made comparable: job ids (`j`,
/// digits, a dot, the pid) become `JID`, and the `FAILED - RETRYING` lines
/// of `async_status` waits go (how many looks a job took is timing, not
/// meaning: the job, its result and the counts are compared).
pub fn without_async_timing(text: &str) -> String {
    static JID: OnceLock<regex::Regex> = OnceLock::new();
    let jid = JID.get_or_init(|| regex::Regex::new(r"\bj\d+\.\d+\b").expect("a valid regex"));
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("FAILED - RETRYING: "))
        .collect();
    jid.replace_all(&kept.join("\n"), "JID").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_go_with_their_later_lines() {
        let rustle = "\nPLAY [p] ***\n\nTASK [t] ***\n[WARNING]: Encountered 1 template error.\nerror 1 - 'x' is undefined\nok: [h] => {\n    \"x\": 1\n}\n";
        let ansible = "\nPLAY [p] ***\n\nTASK [t] ***\nok: [h] => {\n    \"x\": 1\n}\n";
        assert_eq!(
            comparable(rustle.as_bytes()),
            comparable(ansible.as_bytes())
        );
    }

    #[test]
    fn include_hosts_are_compared_in_name_order() {
        assert_eq!(
            sorted_include_hosts("included: /p/extra.yml for host2, host1, host3"),
            "included: /p/extra.yml for host1, host2, host3"
        );
        assert_eq!(
            sorted_include_hosts("included: /p/x.yml for h4, h1, h3 => (item=1)"),
            "included: /p/x.yml for h1, h3, h4 => (item=1)"
        );
        assert_eq!(sorted_include_hosts("ok: [host2]"), "ok: [host2]");
        let ansible = b"\nPLAY [p] ***\n\nTASK [t] ***\nincluded: /f for b, a\n";
        let rustle = b"\nPLAY [p] ***\n\nTASK [t] ***\nincluded: /f for a, b\n";
        assert_eq!(comparable(ansible), comparable(rustle));
    }

    #[test]
    fn async_timing_is_left_out() {
        let a = "TASK [t] ***\nFAILED - RETRYING: [h]: t (5 retries left).\nASYNC OK on h: jid=j123456.789\nchanged: [h]";
        let b = "TASK [t] ***\nASYNC OK on h: jid=j42.7\nchanged: [h]";
        assert_eq!(without_async_timing(a), without_async_timing(b));
        assert!(without_async_timing(b).contains("jid=JID"));
    }
}
