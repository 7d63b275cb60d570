//! rustle-deploy against real sshd hosts on loopback addresses and real
//! toolchains: dry runs, the runner base cached on the host, the build
//! cache, verification of runners in place, rollback, cleanup, unreachable
//! hosts, a transfer cut midway, unknown targets with and without
//! `--fallback-ssh`, a real aarch64 runner run under qemu, and the SSH
//! master deploy opens serving exec too (or replaced once it has gone).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rustle_e2e::{events, planned, recap_line, root, runner_cache, stage};
use rustle_testkit::SshHosts;
use serde_json::Value;

/// A playbook that leaves `{{ out }}/<host>/version.txt` saying `version`.
fn playbook(version: &str, extra: &str) -> String {
    format!(
        r#"
- name: Deploy test
  hosts: all
  gather_facts: false
  tasks:
    - name: Make the host's directory
      file:
        path: "{{{{ out }}}}/{{{{ inventory_hostname }}}}"
        state: directory
    - name: Say which version ran
      copy:
        content: "{version}\n"
        dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}/version.txt"
{extra}"#
    )
}

struct Setup {
    tmp: tempfile::TempDir,
    inventory: PathBuf,
}

impl Setup {
    /// An inventory of `hosts` (if any) plus `extra` lines, with the
    /// runners under `<tmp>/remote` and the playbook's files under `<tmp>/out`.
    fn new(hosts: Option<&SshHosts>, extra: &str) -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let inventory = tmp.path().join("hosts.ini");
        let ssh = hosts.map(SshHosts::inventory_ini).unwrap_or_default();
        std::fs::write(
            &inventory,
            format!(
                "{ssh}\n{extra}\n[all:vars]\nrustle_remote_dir={}\nout={}\n",
                tmp.path().join("remote").display(),
                tmp.path().join("out").display()
            ),
        )
        .unwrap();
        Setup { tmp, inventory }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// `rustle-parse | rustle-plan` of `book`.
    fn plan(&self, book: &str) -> Vec<u8> {
        let path = self.path("site.yml");
        std::fs::write(&path, book).unwrap();
        planned(&[
            path.to_str().unwrap(),
            "-i",
            self.inventory.to_str().unwrap(),
        ])
    }
}

fn envs() -> Vec<(&'static str, PathBuf)> {
    vec![("RUSTLE_CACHE_DIR", runner_cache())]
}

fn deploy(args: &[&str], stdin: &[u8]) -> Output {
    let envs = envs();
    let envs: Vec<(&str, &Path)> = envs.iter().map(|(k, v)| (*k, v.as_path())).collect();
    stage("rustle-deploy", args, &envs, stdin)
}

fn doc(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no document ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn sha256_file(p: &Path) -> String {
    let out = Command::new("sha256sum").arg(p).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Bytes a deploy says it sent to `host`.
fn sent(stderr: &[u8], host: &str) -> u64 {
    let text = text(stderr);
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("rustle-deploy: {host}: placed")))
        .unwrap_or_else(|| panic!("no placement of {host} in:\n{text}"));
    let n = line.split('(').nth(1).unwrap().split(' ').next().unwrap();
    n.parse().unwrap()
}

#[test]
fn dry_run_deploy_verify_rollback_and_cleanup_over_ssh() {
    let hosts = SshHosts::start(2).unwrap();
    let s = Setup::new(Some(&hosts), "");
    let remote = s.path("remote");
    let v1 = s.plan(&playbook("v1", ""));

    // A dry run says what it would do and does nothing.
    let dry = deploy(&["--dry-run"], &v1);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    let said = text(&dry.stdout);
    for h in hosts.hosts() {
        let runner = remote.join(&h.name).join("rustle-runner");
        assert!(
            said.contains(&format!(
                "{}: would place {} (x86_64-unknown-linux-gnu)",
                h.name,
                runner.display()
            )),
            "{said}"
        );
    }
    assert!(said.contains("build x86_64-unknown-linux-gnu: "), "{said}");
    assert!(!remote.exists(), "a dry run created {}", remote.display());

    // The first deploy sends each host the runner base, or finds it there
    // (both hosts share this machine's filesystem).
    let first = deploy(&["--verify"], &v1);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let d1 = doc(&first);
    let most = hosts
        .hosts()
        .iter()
        .map(|h| sent(&first.stderr, &h.name))
        .max()
        .unwrap();
    assert!(most > 500_000, "the first deploy sent only {most} bytes");
    for h in hosts.hosts() {
        let entry = &d1["deployment"]["hosts"][&h.name];
        let path = remote.join(&h.name).join("rustle-runner");
        assert_eq!(entry["path"], path.display().to_string());
        assert_eq!(sha256_file(&path), entry["sha256"].as_str().unwrap());
        assert_eq!(entry["verified"], true);
    }

    // One task changed: the build cache hits (no cargo), the hosts keep
    // the base and get only their payload.
    let v2 = s.plan(&playbook("v2", ""));
    let second = deploy(&["--verify"], &v2);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    let log = text(&second.stderr);
    assert!(
        log.contains("runner x86_64-unknown-linux-gnu: cache hit"),
        "{log}"
    );
    assert!(!log.contains("building with cargo"), "{log}");
    for h in hosts.hosts() {
        let n = sent(&second.stderr, &h.name);
        assert!(
            n < 20_000,
            "{}: sent {n} bytes, expected only the payload",
            h.name
        );
    }
    let d2 = doc(&second);
    let run = stage("rustle-exec", &[], &[], &second.stdout);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    for h in hosts.hosts() {
        let said = std::fs::read_to_string(s.path("out").join(&h.name).join("version.txt"));
        assert_eq!(said.unwrap(), "v2\n");
    }

    // A runner changed on its host: re-verifying the deployed document
    // fails that host only.
    let bad = remote.join("host2").join("rustle-runner");
    let mut bytes = std::fs::read(&bad).unwrap();
    bytes.push(0);
    std::fs::write(&bad, bytes).unwrap();
    let checked = deploy(&["--verify"], &second.stdout);
    assert_eq!(checked.status.code(), Some(2), "{}", text(&checked.stderr));
    let log = text(&checked.stderr);
    assert!(log.contains("host2: FAILED: sha256 mismatch at"), "{log}");
    let d3 = doc(&checked);
    assert_eq!(d3["deployment"]["hosts"]["host1"]["verified"], true);
    assert!(d3["deployment"]["hosts"].get("host2").is_none());
    assert!(
        d3["deployment"]["failed"]["host2"]
            .as_str()
            .unwrap()
            .contains("sha256 mismatch")
    );
    // exec does not run a host whose runner failed verification.
    let run = stage("rustle-exec", &[], &[], &checked.stdout);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
    assert_eq!(
        recap_line(&run.stderr, "host2"),
        "host2 : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );

    // Rollback puts each host's previous (v1) runner back.
    let rolled = deploy(&["--rollback"], &second.stdout);
    assert_eq!(rolled.status.code(), Some(0), "{}", text(&rolled.stderr));
    let d4 = doc(&rolled);
    for h in hosts.hosts() {
        let path = remote.join(&h.name).join("rustle-runner");
        let v1_sha = d1["deployment"]["hosts"][&h.name]["sha256"]
            .as_str()
            .unwrap();
        assert_eq!(sha256_file(&path), v1_sha);
        assert_eq!(d4["deployment"]["hosts"][&h.name]["sha256"], v1_sha);
        assert_eq!(
            d4["deployment"]["hosts"][&h.name]["slice_sha256"],
            d1["deployment"]["hosts"][&h.name]["slice_sha256"]
        );
    }
    assert_ne!(
        d2["deployment"]["hosts"]["host1"]["sha256"],
        d4["deployment"]["hosts"]["host1"]["sha256"]
    );
    let run = stage("rustle-exec", &[], &[], &rolled.stdout);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    for h in hosts.hosts() {
        let said = std::fs::read_to_string(s.path("out").join(&h.name).join("version.txt"));
        assert_eq!(said.unwrap(), "v1\n");
    }

    // Cleanup removes every file rustle put there.
    let cleaned = deploy(&["--cleanup"], &rolled.stdout);
    assert_eq!(cleaned.status.code(), Some(0), "{}", text(&cleaned.stderr));
    assert_eq!(doc(&cleaned)["stage"], "planned");
    assert!(doc(&cleaned).get("deployment").is_none());
    assert!(
        !remote.exists(),
        "left behind: {:?}",
        std::fs::read_dir(&remote).map(|d| d.count())
    );
}

/// Connections sshd accepted for `host` so far (its log says so at VERBOSE).
fn logins(hosts: &SshHosts, host: &str) -> usize {
    std::fs::read_to_string(hosts.dir().join(format!("{host}.log")))
        .unwrap()
        .matches("Accepted publickey")
        .count()
}

#[test]
fn exec_reuses_the_master_deploy_opened_and_replaces_one_that_has_gone() {
    let hosts = SshHosts::start(1).unwrap();
    let s = Setup::new(Some(&hosts), "");
    let plan = s.plan(&playbook("v1", ""));
    let run = |control: &str, persist: &str, pause: Duration| {
        let persist = PathBuf::from(persist);
        let envs = [
            ("RUSTLE_CACHE_DIR", runner_cache()),
            ("RUSTLE_CONTROL_DIR", s.path(control)),
            ("RUSTLE_CONTROL_PERSIST", persist),
        ];
        let envs: Vec<(&str, &Path)> = envs.iter().map(|(k, v)| (*k, v.as_path())).collect();
        let deployed = stage("rustle-deploy", &[], &envs, &plan);
        assert_eq!(
            deployed.status.code(),
            Some(0),
            "{}",
            text(&deployed.stderr)
        );
        std::thread::sleep(pause);
        let ran = stage("rustle-exec", &[], &envs, &deployed.stdout);
        assert_eq!(ran.status.code(), Some(0), "{}", text(&ran.stderr));
        let said = std::fs::read_to_string(s.path("out/host1/version.txt")).unwrap();
        assert_eq!(said, "v1\n");
    };

    // deploy's master serves exec: one login for the whole pipe.
    let before = logins(&hosts, "host1");
    run("cp1", "60", Duration::ZERO);
    assert_eq!(logins(&hosts, "host1") - before, 1);

    // A master that idled out (after 1 s here) is replaced, not an error:
    // exec logs in again (deploy may have had to as well).
    let before = logins(&hosts, "host1");
    run("cp2", "1", Duration::from_millis(2500));
    assert!(logins(&hosts, "host1") - before >= 2);
}

#[test]
fn unreachable_hosts_and_a_cut_transfer_leave_no_partial_runner() {
    let mut hosts = SshHosts::start(2).unwrap();
    let s = Setup::new(Some(&hosts), "");
    let remote = s.path("remote");
    let v1 = s.plan(&playbook("v1", ""));

    // host2 down: it is recorded unreachable, host1 still deploys, exit 4.
    hosts.stop(1);
    let out = deploy(&["--timeout", "5"], &v1);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let d = doc(&out);
    assert!(d["deployment"]["hosts"]["host1"].is_object());
    assert!(d["deployment"]["unreachable"]["host2"].is_string(), "{d}");
    let run = stage("rustle-exec", &[], &[], &out.stdout);
    assert_eq!(run.status.code(), Some(4), "{}", text(&run.stderr));
    assert!(text(&run.stderr).contains("fatal: [host2]: UNREACHABLE! =>"));
    assert_eq!(
        recap_line(&run.stderr, "host1"),
        "host1 : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );

    // Back up: a good runner on both.
    hosts.restart(1).unwrap();
    let good = deploy(&[], &v1);
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stderr));
    let good_sha = doc(&good)["deployment"]["hosts"]["host2"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();

    // A large payload, and host2's sshd killed while its upload runs.
    let big = s.path("big.bin");
    let mut noise = Vec::with_capacity(32 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while noise.len() < 32 << 20 {
        // xorshift: incompressible, so the payload stays large.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&big, &noise).unwrap();
    let extra = format!(
        "    - name: Ship a large file\n      copy:\n        src: {}\n        dest: \"{{{{ out }}}}/{{{{ inventory_hostname }}}}/big.bin\"\n",
        big.display()
    );
    let v2 = s.plan(&playbook("v2", &extra));
    let envs = envs();
    let mut child = Command::new(rustle_e2e::bin("rustle-deploy"))
        .current_dir(root())
        .envs(envs.iter().map(|(k, v)| (*k, v.as_os_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, &v2).unwrap();
    drop(stdin);
    let host2_dir = remote.join("host2");
    let deadline = Instant::now() + Duration::from_secs(120);
    let uploading = loop {
        let arriving = std::fs::read_dir(&host2_dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".rustle-runner.")
            });
        if arriving || Instant::now() > deadline {
            break arriving;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(uploading, "host2's upload never started");
    hosts.stop(1);
    let out = child.wait_with_output().unwrap();
    let log = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{log}");
    let d = doc(&out);
    assert!(d["deployment"]["unreachable"]["host2"].is_string(), "{log}");
    // The final name still holds the previous, whole runner.
    assert_eq!(
        sha256_file(&host2_dir.join("rustle-runner")),
        good_sha,
        "host2's runner changed though its transfer was cut"
    );
    // host1 got the new one.
    let host1 = &d["deployment"]["hosts"]["host1"];
    assert_eq!(
        sha256_file(&remote.join("host1").join("rustle-runner")),
        host1["sha256"].as_str().unwrap()
    );
}

/// A local host's runner from `--compile-only`.
fn compile_only(s: &Setup, book: &str, args: &[&str]) -> (Output, PathBuf) {
    let planned = s.plan(book);
    let out_dir = s.path("runners");
    let mut all = vec!["--compile-only", "--output-dir", out_dir.to_str().unwrap()];
    all.extend_from_slice(args);
    (deploy(&all, &planned), out_dir)
}

#[test]
fn unknown_targets_are_named_and_fallback_runs_them_over_ssh() {
    let s = Setup::new(
        None,
        "local ansible_connection=local\nodd ansible_connection=local rustle_target=pdp11-unknown-unix\n",
    );
    let (out, _) = compile_only(&s, &playbook("v1", ""), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown target triple pdp11-unknown-unix")
            && err.contains("rustc --print target-list"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    // A triple rustc knows but cannot build for here.
    let s = Setup::new(
        None,
        "local ansible_connection=local\nsparc ansible_connection=local rustle_target=sparc64-unknown-linux-gnu\n",
    );
    let (out, _) = compile_only(&s, &playbook("v1", ""), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no toolchain builds a runner for sparc64-unknown-linux-gnu")
            && err.contains("rustup target add sparc64-unknown-linux-gnu")
            && err.contains("RUSTLE_RUSTC_SPARC64_UNKNOWN_LINUX_GNU"),
        "{err}"
    );

    // With --fallback-ssh that host is marked for SSH mode; the other deploys.
    let (out, dir) = compile_only(&s, &playbook("v1", ""), &["--fallback-ssh"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d = doc(&out);
    let modes: Vec<(String, String)> = d["plan"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_owned(),
                h["mode"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(modes.contains(&("sparc".into(), "ssh".into())), "{modes:?}");
    assert!(
        modes.contains(&("local".into(), "runner".into())),
        "{modes:?}"
    );
    assert!(d["deployment"]["hosts"].get("sparc").is_none());
    assert!(dir.join("local/rustle-runner").is_file());
    assert!(!dir.join("sparc").exists());
}

/// Events with what may differ between two hosts and two runs taken out.
fn normalised(stdout: &[u8], host: &str) -> Vec<Value> {
    fn scrub(v: &mut Value, host: &str) {
        match v {
            Value::Object(m) => {
                for k in ["start", "end", "delta"] {
                    m.remove(k);
                }
                m.values_mut().for_each(|v| scrub(v, host));
            }
            Value::Array(a) => a.iter_mut().for_each(|v| scrub(v, host)),
            Value::String(s) => *s = s.replace(host, "HOST"),
            _ => {}
        }
    }
    let mut evs = events(stdout);
    evs.iter_mut().for_each(|e| scrub(e, host));
    evs
}

#[test]
fn an_aarch64_runner_runs_under_qemu_like_the_x86_64_one() {
    let install = Command::new(root().join("scripts/install-cross-deps"))
        .output()
        .expect("running scripts/install-cross-deps");
    assert!(
        install.status.success(),
        "scripts/install-cross-deps failed:\n{}",
        text(&install.stderr)
    );
    let s = Setup::new(
        None,
        "amd ansible_connection=local\narm ansible_connection=local rustle_target=aarch64-unknown-linux-gnu\n",
    );
    let extra = "    - name: Run a command\n      command: echo \"{{ inventory_hostname }} says {{ 6 * 7 }}\"\n      register: said\n    - name: Show it\n      debug:\n        var: said.stdout\n";
    let (out, dir) = compile_only(&s, &playbook("v1", extra), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let d = doc(&out);
    assert_eq!(
        d["deployment"]["hosts"]["arm"]["target"],
        "aarch64-unknown-linux-gnu"
    );
    let arm = dir.join("arm/rustle-runner");
    let amd = dir.join("amd/rustle-runner");
    // ELF, 64-bit, little-endian, e_machine 183 (EM_AARCH64) vs 62 (x86-64).
    let machine = |p: &Path| {
        let b = std::fs::read(p).unwrap();
        assert_eq!(
            &b[..6],
            b"\x7fELF\x02\x01",
            "{} is not a 64-bit LE ELF",
            p.display()
        );
        u16::from_le_bytes([b[18], b[19]])
    };
    assert_eq!(machine(&arm), 183);
    assert_eq!(machine(&amd), 62);

    let x86 = Command::new(&amd).output().unwrap();
    assert_eq!(x86.status.code(), Some(0), "{}", text(&x86.stderr));
    let qemu = Command::new("qemu-aarch64-static")
        .args(["-L", "/usr/aarch64-linux-gnu"])
        .arg(&arm)
        .output()
        .unwrap();
    assert_eq!(qemu.status.code(), Some(0), "{}", text(&qemu.stderr));
    let a = normalised(&x86.stdout, "amd");
    let b = normalised(&qemu.stdout, "arm");
    assert!(a.len() >= 8, "{a:?}");
    assert_eq!(a, b);
    for h in ["amd", "arm"] {
        let said = std::fs::read_to_string(s.path("out").join(h).join("version.txt"));
        assert_eq!(said.unwrap(), "v1\n");
    }
    assert!(text(&qemu.stdout).contains("arm says 42"));

    // A prebuilt runner for the wrong architecture is refused.
    let copy = s.path("arm-runner");
    std::fs::copy(&arm, &copy).unwrap();
    let (out, _) = compile_only(
        &s,
        &playbook("v1", ""),
        &["--runner", copy.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("is built for aarch64, but amd needs x86_64-unknown-linux-gnu"),
        "{err}"
    );
}
