//! Rustle's own TCP connect for ssh (`ProxyCommand` with `ProxyUseFdpass`).
//!
//! OpenSSH turns Nagle's algorithm off only for interactive sessions, so a
//! batch login waits on delayed ACKs: about 40 ms inside every login on
//! Linux (measured with tcpdump). `rustle-connect` opens the TCP connection
//! as ssh would (same host, port, address family, timeout and attempts,
//! read from `ssh -G`), turns Nagle off and hands the socket to ssh, which
//! then does everything else itself: key exchange, host key checking,
//! authentication. Hosts whose ssh config routes them any other way (a
//! ProxyCommand or ProxyJump, a bind address, hostname canonicalization)
//! keep ssh's own connect.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The name of the connector binary, installed beside the stage binaries.
pub const CONNECTOR: &str = "rustle-connect";

/// How ssh would reach a host, as `ssh -G` resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub hostname: String,
    pub port: u16,
    /// `any`, `inet` or `inet6`.
    pub family: String,
    pub attempts: u32,
}

impl Route {
    /// The direct TCP route in `ssh -G` output, or `None` when ssh would
    /// connect some other way that rustle-connect does not reproduce.
    pub fn from_ssh_g(text: &str) -> Option<Route> {
        let mut hostname = None;
        let mut port = None;
        let mut family = "any".to_owned();
        let mut attempts = 1;
        for line in text.lines() {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            let value = value.trim();
            match key {
                "hostname" => hostname = Some(value.to_owned()),
                "port" => port = value.parse().ok(),
                "addressfamily" => family = value.to_owned(),
                "connectionattempts" => attempts = value.parse().ok()?,
                "proxycommand" | "proxyjump" if value != "none" => return None,
                "bindaddress" | "bindinterface" => return None,
                "canonicalizehostname" if value != "false" => return None,
                _ => {}
            }
        }
        Some(Route {
            hostname: hostname?,
            port: port?,
            family,
            attempts,
        })
    }
}

/// Connects as ssh would (every address of `hostname` in the family, in
/// order, `attempts` times) and returns the connected stream, or ssh's own
/// words for the failure (`ssh: connect to host h port p: Connection refused`).
pub fn connect(route: &Route, timeout: Option<Duration>) -> Result<TcpStream, String> {
    let (host, port) = (&route.hostname, route.port);
    let addrs: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| {
            let why = e.to_string();
            let why = why
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&why);
            format!("ssh: Could not resolve hostname {host}: {why}")
        })?
        .filter(|a| match route.family.as_str() {
            "inet" => a.is_ipv4(),
            "inet6" => a.is_ipv6(),
            _ => true,
        })
        .collect();
    let mut last = io::Error::from(io::ErrorKind::AddrNotAvailable);
    for _ in 0..route.attempts.max(1) {
        for addr in &addrs {
            let tried = match timeout {
                Some(t) => TcpStream::connect_timeout(addr, t),
                None => TcpStream::connect(addr),
            };
            match tried {
                Ok(s) => return Ok(s),
                Err(e) => last = e,
            }
        }
    }
    Err(format!(
        "ssh: connect to host {host} port {port}: {}",
        os_words(&last)
    ))
}

/// `strerror`'s words for `e`, as ssh prints them.
fn os_words(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::TimedOut {
        return "Connection timed out".to_owned();
    }
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Turns Nagle off on `stream` and passes it to ssh over `to` (the
/// ProxyUseFdpass protocol: one byte carrying the descriptor).
pub fn pass(stream: &TcpStream, to: impl AsFd) -> io::Result<()> {
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    use std::mem::MaybeUninit;
    stream.set_nodelay(true)?;
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds = [stream.as_fd()];
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other("no room for the descriptor"));
    }
    rustix::net::sendmsg(
        to,
        &[io::IoSlice::new(b"\0")],
        &mut control,
        SendFlags::empty(),
    )?;
    Ok(())
}

/// The `ProxyCommand` line that dials `route` with `connector` (ssh's own
/// `%h` and `%p`, any family, one attempt, when `None`), writing its
/// failure, if any, to `errors`. `%` in the words is escaped for ssh.
pub fn proxy_command(
    connector: &Path,
    route: Option<&Route>,
    timeout: Duration,
    errors: &Path,
) -> String {
    let word = |w: &str| crate::quote(w).replace('%', "%%");
    let target = match route {
        Some(r) => format!(
            "{} {} {} {}",
            word(&r.hostname),
            r.port,
            word(&r.family),
            r.attempts
        ),
        None => "%h %p any 1".to_owned(),
    };
    let (c, e) = (
        connector.display().to_string(),
        errors.display().to_string(),
    );
    format!(
        "{} {target} {} {}",
        word(&c),
        timeout.as_secs().max(1),
        word(&e)
    )
}

/// ssh config keywords that can route a host other than by a plain TCP
/// connect to `%h:%p` (or make `ssh -G` necessary to know).
const ROUTING: &[&str] = &[
    "proxycommand",
    "proxyjump",
    "bindaddress",
    "bindinterface",
    "canonicalizehostname",
    "addressfamily",
    "connectionattempts",
    "match",
];

/// Whether `keyword` (any case) is one of [`ROUTING`].
pub fn routes(keyword: &str) -> bool {
    ROUTING.iter().any(|k| k.eq_ignore_ascii_case(keyword))
}

/// Whether the ssh config files (the user's, the system's, and what they
/// include) leave every host to a plain TCP connect to `%h:%p`: none of
/// them sets a [`ROUTING`] keyword. When this holds, rustle need not ask
/// `ssh -G` host by host.
pub fn plain_config(home: Option<&Path>) -> bool {
    let user = home.map(|h| (h.join(".ssh/config"), h.join(".ssh")));
    let system = (
        PathBuf::from("/etc/ssh/ssh_config"),
        PathBuf::from("/etc/ssh"),
    );
    user.into_iter()
        .chain([system])
        .all(|(file, base)| plain_file(&file, &base, home, 0))
}

fn plain_file(file: &Path, base: &Path, home: Option<&Path>, depth: u32) -> bool {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return e.kind() == io::ErrorKind::NotFound,
    };
    if depth > 16 {
        return false;
    }
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keyword, args) = line
            .split_once(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or((line, ""));
        if routes(keyword) {
            return false;
        }
        if keyword.eq_ignore_ascii_case("include") {
            for pattern in args.split_whitespace() {
                let pattern = match (pattern.strip_prefix("~/"), home) {
                    (Some(rest), Some(h)) => h.join(rest),
                    _ => base.join(pattern),
                };
                let Ok(paths) = glob::glob(&pattern.to_string_lossy()) else {
                    return false;
                };
                for p in paths {
                    match p {
                        Ok(p) if plain_file(&p, base, home, depth + 1) => {}
                        _ => return false,
                    }
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIRECT: &str = "host web1\nhostname 127.0.0.2\nport 2222\naddressfamily any\n\
        canonicalizehostname false\nconnectionattempts 1\nconnecttimeout none\n";

    #[test]
    fn direct_route_from_ssh_g() {
        let route = Route::from_ssh_g(DIRECT).unwrap();
        assert_eq!(
            route,
            Route {
                hostname: "127.0.0.2".into(),
                port: 2222,
                family: "any".into(),
                attempts: 1
            }
        );
        let inet =
            DIRECT.replace("addressfamily any", "addressfamily inet") + "proxycommand none\n";
        assert_eq!(Route::from_ssh_g(&inet).unwrap().family, "inet");
    }

    #[test]
    fn other_routes_keep_ssh_connect() {
        for extra in [
            "proxycommand nc %h %p",
            "proxyjump bastion",
            "bindaddress 10.0.0.1",
            "bindinterface eth1",
            "canonicalizehostname yes",
        ] {
            assert_eq!(
                Route::from_ssh_g(&format!("{DIRECT}{extra}\n")),
                None,
                "{extra}"
            );
        }
    }

    #[test]
    fn failures_in_ssh_words() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let route = Route {
            hostname: "127.0.0.1".into(),
            port,
            family: "any".into(),
            attempts: 2,
        };
        assert_eq!(
            connect(&route, Some(Duration::from_secs(2))).unwrap_err(),
            format!("ssh: connect to host 127.0.0.1 port {port}: Connection refused")
        );
        let v6 = Route {
            family: "inet6".into(),
            ..route
        };
        assert!(connect(&v6, None).is_err());
    }

    #[test]
    fn passes_a_nodelay_socket() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let route = Route {
            hostname: "127.0.0.1".into(),
            port: listener.local_addr().unwrap().port(),
            family: "inet".into(),
            attempts: 1,
        };
        let stream = connect(&route, None).unwrap();
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        pass(&stream, &ours).unwrap();
        drop(stream);
        // Receive it as ssh does and use it.
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
        let mut byte = [0u8; 1];
        rustix::net::recvmsg(
            &theirs,
            &mut [io::IoSliceMut::new(&mut byte)],
            &mut control,
            rustix::net::RecvFlags::empty(),
        )
        .unwrap();
        let fd = control
            .drain()
            .find_map(|m| match m {
                rustix::net::RecvAncillaryMessage::ScmRights(mut fds) => fds.next(),
                _ => None,
            })
            .expect("a descriptor");
        let mut got = TcpStream::from(fd);
        assert!(got.nodelay().unwrap());
        got.write_all(b"ping").unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }

    #[test]
    fn config_scan_follows_includes() {
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        std::fs::create_dir_all(ssh.join("conf.d")).unwrap();
        let config = ssh.join("config");
        let plain = |text: &str, included: &str| {
            std::fs::write(&config, text).unwrap();
            std::fs::write(ssh.join("conf.d/a.conf"), included).unwrap();
            plain_file(&config, &ssh, Some(home.path()), 0)
        };
        assert!(plain("", ""));
        assert!(plain(
            "Host web*\n  User deploy\n  Port 2222\n# ProxyJump x\n",
            ""
        ));
        assert!(!plain("Host web*\n  ProxyJump bastion\n", ""));
        assert!(!plain("host web\n  proxycommand=nc %h %p\n", ""));
        assert!(!plain("Match host web\n  User x\n", ""));
        assert!(plain("Include conf.d/*.conf\n", "User x\n"));
        assert!(!plain(
            "Include ~/.ssh/conf.d/*.conf\n",
            "AddressFamily inet\n"
        ));
        assert!(plain_file(&home.path().join("none"), &ssh, None, 0));
    }

    #[test]
    fn proxy_command_quotes_and_escapes() {
        let route = Route::from_ssh_g(DIRECT).unwrap();
        let (connector, errors) = (
            Path::new("/opt/my tools/rustle-connect"),
            Path::new("/tmp/100%/err"),
        );
        let line = proxy_command(connector, Some(&route), Duration::from_secs(10), errors);
        assert_eq!(
            line,
            "'/opt/my tools/rustle-connect' 127.0.0.2 2222 any 1 10 /tmp/100%%/err"
        );
        let line = proxy_command(connector, None, Duration::from_millis(10), errors);
        assert_eq!(
            line,
            "'/opt/my tools/rustle-connect' %h %p any 1 1 /tmp/100%%/err"
        );
    }
}
