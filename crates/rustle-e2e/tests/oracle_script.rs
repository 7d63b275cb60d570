//! script against ansible-playbook: controller scripts run on the host
//! (arguments, cmd, chdir, environment, executable, creates/removes, a
//! failing script, argument failures); two runs, then --check --diff,
//! where scripts are skipped or predicted as Ansible does.

use rustle_e2e::oracle::twice_and_checked_as_ansible;

#[test]
fn script_module_matches_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/script.yml", false);
}
