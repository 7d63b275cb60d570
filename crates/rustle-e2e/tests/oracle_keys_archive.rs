//! authorized_key (ansible.posix) and archive (community.general) against
//! ansible-playbook. authorized_key: keys files under each tool's own
//! directory (output, diffs, files and check mode compared by the oracle).

use rustle_e2e::oracle::twice_and_checked_as_ansible;

#[test]
fn authorized_key_matches_ansible() {
    twice_and_checked_as_ansible("fixtures/playbooks/modules/authorized_key.yml", false);
}
