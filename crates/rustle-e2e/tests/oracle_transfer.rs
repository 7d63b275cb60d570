//! script and fetch against ansible-playbook, the actions that move files
//! between the controller and the host: controller scripts run on the
//! host (arguments, cmd, chdir, environment, executable, creates/removes,
//! failures), host files fetched to the controller (flat, per host,
//! unchanged when the checksum matches, failures); two runs, then
//! --check --diff, where both are skipped or predicted as Ansible does.

use rustle_e2e::oracle::twice_and_checked_as_ansible;

#[test]
fn script_module_matches_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/script.yml", false);
}

#[test]
fn fetch_module_matches_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/fetch.yml", false);
}
