//! cron and known_hosts against ansible-playbook: cron files and
//! known_hosts files under each tool's own directory (output, diffs, files
//! and check mode compared by the oracle), and user crontabs, which are
//! machine-global: each tool gets its own throwaway user and the crontabs
//! left behind (`crontab -l -u`) are compared after each run.

use std::process::Command;

use rustle_e2e::oracle::twice_and_checked_as_ansible;
use rustle_e2e::{comparable, diff_lines, recap, run_ansible, run_rustle_planned};

#[test]
fn cron_files_match_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/cron.yml", false);
}

#[test]
fn known_hosts_match_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/known_hosts.yml", false);
}

/// A user made for one test and removed (with its crontab) when dropped.
struct ThrowawayUser(String);

impl ThrowawayUser {
    fn new(name: &str) -> ThrowawayUser {
        // A user left by an interrupted run goes first.
        let _ = Command::new("crontab").args(["-r", "-u", name]).output();
        let _ = Command::new("userdel").arg(name).output();
        let made = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/usr/sbin/nologin", name])
            .status()
            .expect("running useradd");
        assert!(made.success(), "useradd {name}");
        ThrowawayUser(name.to_owned())
    }

    /// `crontab -l -u` (empty without a crontab).
    fn crontab(&self) -> String {
        let out = Command::new("crontab")
            .args(["-l", "-u", &self.0])
            .output()
            .expect("running crontab");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn clear(&self) {
        let _ = Command::new("crontab").args(["-r", "-u", &self.0]).output();
    }
}

impl Drop for ThrowawayUser {
    fn drop(&mut self) {
        self.clear();
        let _ = Command::new("userdel").arg(&self.0).output();
    }
}

#[test]
fn user_crontabs_match_ansible() {
    let book = "fixtures/playbooks/modules/cron_user.yml";
    let (a_user, r_user) = (
        ThrowawayUser::new("rustle-cron-a"),
        ThrowawayUser::new("rustle-cron-r"),
    );
    let a_var = format!("cron_user={}", a_user.0);
    let r_var = format!("cron_user={}", r_user.0);
    // Two runs (the first with --diff), then --check --diff on empty crontabs.
    let runs: [(&[&str], &str); 3] = [
        (&["--diff"], "run 0"),
        (&[], "run 1"),
        (&["--check", "--diff"], "check"),
    ];
    for (flags, what) in runs {
        if what == "check" {
            a_user.clear();
            r_user.clear();
        }
        let ansible = run_ansible(&[&[book, "-e", &a_var], flags].concat());
        let rustle = run_rustle_planned(&[book, "-e", &r_var], flags);
        let a = comparable(&ansible.stdout).replace(&a_user.0, "$USER");
        let r = comparable(&rustle.stderr).replace(&r_user.0, "$USER");
        assert_eq!(ansible.status.code(), Some(0), "{a}");
        assert_eq!(a, r, "{what}");
        let a_diff = diff_lines(&ansible.stdout).join("\n");
        let r_diff = diff_lines(&rustle.stderr).join("\n");
        assert_eq!(
            a_diff.replace(&a_user.0, "$USER"),
            r_diff.replace(&r_user.0, "$USER"),
            "diff lines of {what}"
        );
        assert_eq!(a_user.crontab(), r_user.crontab(), "crontabs after {what}");
        assert_eq!(recap(&ansible.stdout), recap(&rustle.stderr), "{what}");
        if what == "check" {
            assert_eq!(r_user.crontab(), "", "check mode installed a crontab");
        } else {
            assert!(r_user.crontab().contains("#Ansible: hourly report\n"));
        }
    }
}
