//! `rustle-connect HOST PORT FAMILY ATTEMPTS TIMEOUT ERRORS`: the
//! ProxyCommand rustle gives ssh (with `ProxyUseFdpass yes`). It connects
//! to HOST:PORT as ssh would, turns Nagle off and passes the socket to ssh
//! on its stdout; on failure it writes ssh's own words to ERRORS and stderr
//! and exits 255, as ssh does. See `rustle_ssh::dial`.

use std::time::Duration;

use rustle_ssh::dial::{self, Route};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [hostname, port, family, attempts, timeout, errors] = args.as_slice() else {
        eprintln!("usage: rustle-connect HOST PORT FAMILY ATTEMPTS TIMEOUT ERRORS");
        std::process::exit(2);
    };
    let route = Route {
        hostname: hostname.clone(),
        port: port.parse().unwrap_or(22),
        family: family.clone(),
        attempts: attempts.parse().unwrap_or(1),
    };
    let timeout = timeout.parse().ok().map(Duration::from_secs);
    let passed = dial::connect(&route, timeout).and_then(|s| {
        dial::pass(&s, std::io::stdout()).map_err(|e| format!("rustle-connect: {e}"))
    });
    if let Err(msg) = passed {
        let _ = std::fs::write(errors, format!("{msg}\n"));
        eprintln!("{msg}");
        std::process::exit(255);
    }
}
