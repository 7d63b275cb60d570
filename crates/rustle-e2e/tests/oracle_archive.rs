//! unarchive against ansible-playbook: tar (plain, gzip, bzip2, xz) and
//! zip archives from the controller and from the host, with list_files,
//! exclude, include, extra_opts, keep_newer, owner/group/mode, creates and
//! failures; two runs (the second changes nothing), then --check --diff.

use rustle_e2e::oracle::twice_and_checked_as_ansible;

#[test]
fn unarchive_module_matches_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/unarchive.yml", true);
}
