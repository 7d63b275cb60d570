//! `rustle-test-hosts N INVENTORY`: starts N sshd test hosts on loopback
//! addresses (as the tests do), writes their Ansible inventory to
//! INVENTORY, prints `ready` and keeps them up until stdin closes. For
//! benchmarks and manual experiments; the machine's own sshd is untouched.

use std::io::{BufRead, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [n, inventory] = &args[..] else {
        eprintln!("usage: rustle-test-hosts N INVENTORY");
        return ExitCode::from(2);
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
    if let Err(e) = std::fs::write(inventory, hosts.inventory_ini()) {
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
