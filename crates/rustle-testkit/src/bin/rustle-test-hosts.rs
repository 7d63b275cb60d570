//! `rustle-test-hosts N INVENTORY [USER]`: starts N sshd test hosts on
//! loopback addresses (as the tests do), writes their Ansible inventory to
//! INVENTORY (logging in as USER, else as the current user), prints `ready`
//! and keeps them up until stdin closes. For benchmarks and manual
//! experiments; the machine's own sshd is untouched.

use std::io::{BufRead, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (n, inventory, user) = match &args[..] {
        [n, inventory] => (n, inventory, None),
        [n, inventory, user] => (n, inventory, Some(user)),
        _ => {
            eprintln!("usage: rustle-test-hosts N INVENTORY [USER]");
            return ExitCode::from(2);
        }
    };
    let Ok(n) = n.parse::<usize>() else {
        eprintln!("rustle-test-hosts: N must be a number, not {n:?}");
        return ExitCode::from(2);
    };
    let hosts = match rustle_testkit::SshHosts::start(n) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("rustle-test-hosts: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let inventory_text = match user {
        None => hosts.inventory_ini(),
        Some(user) => {
            if let Err(e) = hosts.open_to_all_users() {
                eprintln!("rustle-test-hosts: error: {e}");
                return ExitCode::FAILURE;
            }
            hosts.inventory_ini_as(user)
        }
    };
    if let Err(e) = std::fs::write(inventory, inventory_text) {
        eprintln!("rustle-test-hosts: error: writing {inventory}: {e}");
        return ExitCode::FAILURE;
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    // Up until whoever started us closes our stdin.
    for _ in std::io::stdin().lock().lines() {}
    drop(hosts);
    ExitCode::SUCCESS
}
