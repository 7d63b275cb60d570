//! dnf, yum and package (use=dnf) against ansible-playbook, on an sshd
//! test host on loopback (this machine, reached over SSH; one host keeps
//! the test's many dnf runs short, and other tests cover many hosts), without
//! touching this machine's rpm database: the test builds a
//! tiny noarch rpm (rustle-hello 1.0 and 1.1) with rpmbuild, makes a local
//! repository with createrepo_c and a dnf.conf whose `reposdir` holds the
//! repository's file, and every host of each tool installs into its own
//! `installroot` under the test's directory. Each tool's run is compared:
//! output (the registered results of every task: `msg`, `results`,
//! `failures`, `rc`, `changed`), recap, exit code and the packages in
//! each root (`rpm -q --root`):
//! `dnf.yml` with 1.0 in the repository (install, a missing package, no
//! backend on Debian, `use` with `use_backend`, yum, a local rpm, package
//! use=dnf and use=yum) twice, the second run changing nothing; then with
//! 1.1 added, `dnf_latest.yml` (latest upgrading 1.0 to 1.1, again,
//! an older version, absent through yum, absent again) in check mode,
//! which must change no package, then for real; then `dnf_more.yml`
//! (update_only, download_only, versions, a file path, a version range,
//! exclude, `*`, allow_downgrade, a glob, autoremove).
//!
//! Needs dnf (with python3-dnf for Ansible's module), rpm/rpmbuild and
//! createrepo_c: scripts/install-test-deps installs them; without them
//! the test fails saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

use rustle_e2e::{comparable, recap, run_ansible, run_rustle_planned};
use rustle_testkit::SshHosts;

/// The inventory names of the test hosts.
const HOSTS: [&str; 1] = ["host1"];

const SPEC: &str = "Name: rustle-hello
Version: %{ver}
Release: 1
Summary: A package for rustle's dnf tests
License: MIT
BuildArch: noarch
AutoReqProv: no

%description
A package for rustle's dnf tests.

%install
mkdir -p %{buildroot}/usr/share/rustle-hello
echo %{ver} > %{buildroot}/usr/share/rustle-hello/version

%files
/usr/share/rustle-hello/version
";

fn require_tools() {
    let missing: Vec<&str> = ["dnf", "rpm", "rpmbuild", "createrepo_c"]
        .into_iter()
        .filter(|t| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?}: run scripts/install-test-deps (Debian: dnf, python3-dnf, rpm, createrepo-c)"
    );
    let dnf_py = Command::new("/usr/bin/python3")
        .args(["-c", "import dnf"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        dnf_py,
        "/usr/bin/python3 cannot import dnf (Ansible's dnf module): run scripts/install-test-deps"
    );
}

fn run(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("running {argv:?}: {e}"));
    assert!(
        out.status.success(),
        "{argv:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The rpm of rustle-hello `version`, built under `dir`.
fn build_rpm(dir: &Path, version: &str) -> PathBuf {
    let spec = dir.join("rustle-hello.spec");
    std::fs::write(&spec, SPEC).unwrap();
    let top = dir.join("rpmbuild");
    let out = dir.join(format!("rpms-{version}"));
    run(&[
        "rpmbuild",
        "-bb",
        "--quiet",
        "--define",
        &format!("_topdir {}", top.display()),
        "--define",
        &format!("_rpmdir {}", out.display()),
        "--define",
        &format!("ver {version}"),
        path(&spec),
    ]);
    let rpm = out.join(format!("noarch/rustle-hello-{version}-1.noarch.rpm"));
    assert!(rpm.exists(), "rpmbuild made no {}", rpm.display());
    rpm
}

/// Adds `rpm` to the repository in `repo` and (re)makes its metadata.
fn add_to_repo(repo: &Path, rpm: &Path) {
    std::fs::create_dir_all(repo).unwrap();
    std::fs::copy(rpm, repo.join(rpm.file_name().unwrap())).unwrap();
    run(&["createrepo_c", "--quiet", "--update", path(repo)]);
}

/// `rpm -q rustle-hello` in each host's root under `roots`.
fn state(roots: &Path) -> Vec<String> {
    HOSTS
        .iter()
        .map(|h| {
            let root = roots.join(h);
            let out = Command::new("rpm")
                .args(["-q", "--root", path(&root), "rustle-hello"])
                .output()
                .expect("running rpm");
            format!("{h}: {}", String::from_utf8_lossy(&out.stdout).trim())
        })
        .collect()
}

struct Setup {
    dir: PathBuf,
    inventory: PathBuf,
    conf: PathBuf,
}

impl Setup {
    fn roots(&self, tool: &str) -> PathBuf {
        self.dir.join("roots").join(tool)
    }

    /// Runs `book` through both tools (each with its own roots) and
    /// compares; returns the recap and the (comparable) output.
    fn compare(
        &self,
        book: &str,
        flags: &[&str],
        extra: &[&str],
        what: &str,
    ) -> (Vec<String>, String) {
        let (a_roots, r_roots) = (self.roots("ansible"), self.roots("rustle"));
        let a_var = format!("roots={}", a_roots.display());
        let r_var = format!("roots={}", r_roots.display());
        let conf = format!("conf={}", self.conf.display());
        let common = [book, "-i", path(&self.inventory), "-e", &conf];
        let started = std::time::Instant::now();
        let ansible = run_ansible(&[&common[..], &["-e", &a_var], extra, flags].concat());
        let a_time = started.elapsed();
        let rustle = run_rustle_planned(&[&common[..], &["-e", &r_var], extra].concat(), flags);
        let r_time = started.elapsed() - a_time;
        println!("{what}: ansible-playbook {a_time:.1?}, rustle {r_time:.1?}");
        let a = comparable(&ansible.stdout).replace(path(&a_roots), "$ROOTS");
        let r = comparable(&rustle.stderr).replace(path(&r_roots), "$ROOTS");
        assert_eq!(
            ansible.status.code(),
            Some(0),
            "ansible-playbook ({what}):\n{a}"
        );
        assert_eq!(a, r, "{what}");
        assert_eq!(rustle.status.code(), Some(0), "rustle ({what}):\n{r}");
        let recap_a = recap(&ansible.stdout);
        assert!(!recap_a.is_empty(), "{what}: {a}");
        assert_eq!(recap_a, recap(&rustle.stderr), "{what}");
        assert_eq!(state(&a_roots), state(&r_roots), "packages after {what}");
        println!("{what}: {recap_a:?} {:?}", state(&r_roots));
        (recap_a, a)
    }
}

#[test]
fn dnf_matches_ansible() {
    require_tools();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let v10 = build_rpm(&dir, "1.0");
    let v11 = build_rpm(&dir, "1.1");
    let repo = dir.join("repo");
    add_to_repo(&repo, &v10);
    let reposdir = dir.join("repos.d");
    std::fs::create_dir_all(&reposdir).unwrap();
    std::fs::write(
        reposdir.join("rustle-test.repo"),
        format!(
            "[rustle-test]\nname=rustle test\nbaseurl=file://{}\ngpgcheck=0\n",
            repo.display()
        ),
    )
    .unwrap();
    // A path on the command line (--config) is the host's, and so is
    // reposdir when the installroot has no such directory.
    let conf = dir.join("dnf.conf");
    std::fs::write(&conf, format!("[main]\nreposdir={}\n", reposdir.display())).unwrap();
    let hosts = SshHosts::start(HOSTS.len()).unwrap();
    let inventory = hosts.write_inventory();
    let names: Vec<&str> = hosts.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, HOSTS);
    let setup = Setup {
        dir: dir.clone(),
        inventory,
        conf,
    };
    let rpm_dir = format!("rpm_dir={}", v10.parent().unwrap().display());
    let extra = ["-e", rpm_dir.as_str()];

    let book = "fixtures/playbooks/modules/dnf.yml";
    let installed_10: Vec<String> = HOSTS
        .iter()
        .map(|h| format!("{h}: rustle-hello-1.0-1.noarch"))
        .collect();
    let (_, out) = setup.compare(book, &[], &extra, "install");
    for expected in [
        "\"Installed: rustle-hello-1.0-1.noarch\"",
        "\"No package nonexistent available.\"",
        "Could not detect which major revision of dnf is in use",
        "parameters are mutually exclusive: ('use', 'use_backend')",
        "Could not find a matching action for the \\\"yum\\\" package manager.",
    ] {
        assert!(out.contains(expected), "{expected} in:\n{out}");
    }
    assert_eq!(state(&setup.roots("rustle")), installed_10);
    let (again, _) = setup.compare(book, &[], &extra, "install again");
    assert!(again.iter().all(|l| l.contains("changed=0")), "{again:?}");
    assert_eq!(state(&setup.roots("rustle")), installed_10);

    add_to_repo(&repo, &v11);
    let book = "fixtures/playbooks/modules/dnf_latest.yml";
    let (checked, out) = setup.compare(book, &["--check"], &[], "latest and absent, checked");
    // latest, latest again, absent and absent again would all change.
    assert!(
        checked.iter().all(|l| l.contains("changed=4")),
        "{checked:?}"
    );
    assert!(out.contains("Check mode: No changes made, but would have if not in check mode"));
    assert_eq!(
        state(&setup.roots("rustle")),
        installed_10,
        "check mode changed packages"
    );
    let (done, out) = setup.compare(book, &[], &[], "latest and absent");
    assert!(done.iter().all(|l| l.contains("changed=2")), "{done:?}");
    assert!(
        out.contains("\"Installed: rustle-hello-1.1-1.noarch\""),
        "{out}"
    );
    assert!(
        out.contains("\"Removed: rustle-hello-1.0-1.noarch\""),
        "{out}"
    );
    let none: Vec<String> = HOSTS
        .iter()
        .map(|h| format!("{h}: package rustle-hello is not installed"))
        .collect();
    assert_eq!(state(&setup.roots("rustle")), none);

    let book = "fixtures/playbooks/modules/dnf_more.yml";
    let (more, out) = setup.compare(book, &[], &[], "more options");
    assert!(more.iter().all(|l| l.contains("changed=6")), "{more:?}");
    for expected in [
        "Packages providing rustle-hello not installed due to update_only specified",
        "\"Downloaded: rustle-hello-1.1-1.noarch\"",
        "All matches were filtered out by exclude filtering for argument: rustle-hello",
        "Autoremove should be used alone or with state=absent",
    ] {
        assert!(out.contains(expected), "{expected} in:\n{out}");
    }
    assert_eq!(state(&setup.roots("rustle")), none);
}
