//! `wait_for`: waits, from the host, for a file to appear (optionally with
//! content matching `search_regex`) or disappear, or for a TCP port to
//! accept connections (optionally sending matching data) or to stop; with
//! neither, it sleeps `timeout` seconds. A port of wait_for.py: the same
//! argument checks, polling every `sleep` seconds, the same messages and
//! result keys. Not done yet: `state: drained` (it fails saying so).
//! Like ansible-core, it is skipped in check mode.

use std::time::{Duration, Instant};

use regex::bytes::{Regex, RegexBuilder};
use serde_json::{Map, Value as Json, json};

use super::args::Args;
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};
use crate::target::Enough;

pub struct WaitFor;

const CONNECTION_STATES: &[&str] = &[
    "ESTABLISHED",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "SYN_RECV",
    "SYN_SENT",
    "TIME_WAIT",
];

/// What to wait for.
enum Subject {
    Path(String),
    Port(u16),
    Nothing,
}

/// The parsed arguments.
struct Wait {
    host: String,
    subject: Subject,
    state: String,
    search: Option<(String, Regex)>,
    timeout: Duration,
    connect_timeout: Duration,
    delay: Duration,
    sleep: Duration,
    msg: Option<String>,
}

impl Module for WaitFor {
    fn params(&self) -> &'static [&'static str] {
        &[
            "host",
            "timeout",
            "connect_timeout",
            "delay",
            "port",
            "active_connection_states",
            "path",
            "search_regex",
            "state",
            "exclude_hosts",
            "sleep",
            "msg",
        ]
    }

    fn supports_check(&self) -> bool {
        false
    }

    fn polls(&self) -> bool {
        true
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let wait = match Wait::parse(ctx, args)? {
            Ok(wait) => wait,
            Err(fail) => return Ok(fail),
        };
        let start = Instant::now();
        std::thread::sleep(wait.delay);
        let waited = match (&wait.subject, wait.state.as_str()) {
            (Subject::Nothing, _) => {
                std::thread::sleep(wait.timeout);
                Ok(Found::default())
            }
            (_, "absent" | "stopped") => wait.until_gone(ctx, start),
            _ => wait.until_there(ctx, start),
        };
        let elapsed = start.elapsed().as_secs();
        let found = match waited {
            Ok(found) => found,
            Err(msg) => return Ok(failed(msg, Some(elapsed))),
        };
        let (path, port) = match &wait.subject {
            Subject::Path(p) => (json!(p), Json::Null),
            Subject::Port(p) => (Json::Null, json!(p)),
            Subject::Nothing => (Json::Null, Json::Null),
        };
        let mut r = result([
            ("changed", json!(false)),
            ("elapsed", json!(elapsed)),
            ("match_groupdict", Json::Object(found.groupdict)),
            ("match_groups", Json::Array(found.groups)),
            ("path", path),
            ("port", port),
            ("search_regex", json!(wait.search.as_ref().map(|s| &s.0))),
            ("state", json!(wait.state)),
        ]);
        // As every module's result with a `path`: the file's attributes.
        super::fileattrs::add_path_info(ctx, &mut r)?;
        Ok(Outcome::new(r))
    }
}

/// The groups of a `search_regex` match in a file.
#[derive(Default)]
struct Found {
    groups: Vec<Json>,
    groupdict: Map<String, Json>,
}

/// A `fail_json`, with `elapsed` when wait_for.py passes it.
fn failed(msg: String, elapsed: Option<u64>) -> Outcome {
    let mut r = result([("failed", json!(true)), ("msg", json!(msg))]);
    if let Some(elapsed) = elapsed {
        r.insert("elapsed".into(), json!(elapsed));
    }
    Outcome::new(r)
}

fn seconds(args: &Args, key: &str, default: i64) -> Result<Duration, ModuleError> {
    let n = args.int(key)?.unwrap_or(default);
    Ok(Duration::from_secs(n.max(0).unsigned_abs()))
}

impl Wait {
    /// The arguments, or the `fail_json` wait_for.py makes before it
    /// starts waiting.
    fn parse(ctx: &ModuleCtx, args: &Args) -> Result<Result<Wait, Outcome>, ModuleError> {
        let state = args
            .choice(
                "state",
                &["absent", "drained", "present", "started", "stopped"],
            )?
            .unwrap_or_else(|| "started".to_owned());
        let port = args.int("port")?;
        let path = match args.get("path") {
            Some(_) => Some(args.path(&["path"], ctx)?),
            None => None,
        };
        let search = match args.string(&["search_regex"])? {
            Some(re) => match RegexBuilder::new(&re).multi_line(true).build() {
                Ok(compiled) => Some((re, compiled)),
                Err(e) => {
                    let msg = format!("Invalid regular expression: {e}");
                    return Ok(Err(failed(msg, None)));
                }
            },
            None => None,
        };
        if port.is_some() && path.is_some() {
            return Ok(Err(failed(
                "port and path parameter can not both be passed to wait_for".to_owned(),
                Some(0),
            )));
        }
        if path.is_some() && matches!(state.as_str(), "stopped" | "drained") {
            return Ok(Err(failed(
                format!(
                    "state={state} should only be used for checking a port in the wait_for module"
                ),
                Some(0),
            )));
        }
        if args.get("exclude_hosts").is_some() && state != "drained" {
            return Ok(Err(failed(
                "exclude_hosts should only be with state=drained".to_owned(),
                Some(0),
            )));
        }
        for s in args
            .list(&["active_connection_states"])?
            .unwrap_or_default()
        {
            if !CONNECTION_STATES.contains(&s.as_str()) {
                return Ok(Err(failed(
                    format!("unknown active_connection_state ({s}) defined"),
                    Some(0),
                )));
            }
        }
        if state == "drained" {
            return Err(ModuleError::new(
                "wait_for: state=drained is not supported by rustle yet",
            ));
        }
        let subject =
            match (path, port) {
                (Some(path), _) => Subject::Path(path),
                (None, Some(port)) => Subject::Port(u16::try_from(port).map_err(|_| {
                    ModuleError::new(format!("port {port} is not a valid TCP port"))
                })?),
                (None, None) => Subject::Nothing,
            };
        Ok(Ok(Wait {
            host: args
                .string(&["host"])?
                .unwrap_or_else(|| "127.0.0.1".to_owned()),
            subject,
            state,
            search,
            timeout: seconds(args, "timeout", 300)?,
            connect_timeout: seconds(args, "connect_timeout", 5)?,
            delay: seconds(args, "delay", 0)?,
            sleep: seconds(args, "sleep", 1)?,
            msg: args.string(&["msg"])?,
        }))
    }

    /// Polls until the path is gone or the port refuses connections.
    fn until_gone(&self, ctx: &ModuleCtx, start: Instant) -> Result<Found, String> {
        let end = start + self.timeout;
        while Instant::now() < end {
            let gone = match &self.subject {
                Subject::Path(path) => !matches!(ctx.target.stat(path, true), Ok(Some(_))),
                Subject::Port(port) => ctx
                    .target
                    .tcp_probe(&self.host, *port, self.connect_timeout, None)
                    .is_err(),
                Subject::Nothing => true,
            };
            if gone {
                return Ok(Found::default());
            }
            std::thread::sleep(self.sleep);
        }
        Err(self.msg.clone().unwrap_or_else(|| match &self.subject {
            Subject::Port(port) => {
                format!("Timeout when waiting for {}:{port} to stop.", self.host)
            }
            Subject::Path(path) => format!("Timeout when waiting for {path} to be absent."),
            Subject::Nothing => String::new(),
        }))
    }

    /// Polls until the path exists (with matching content) or the port
    /// accepts a connection (and sends matching data).
    fn until_there(&self, ctx: &ModuleCtx, start: Instant) -> Result<Found, String> {
        let end = start + self.timeout;
        while Instant::now() < end {
            match &self.subject {
                Subject::Path(path) => match ctx.target.stat(path, true) {
                    Err(e) => {
                        let msg = crate::util::oserror::python_oserror(&e, path);
                        // "[Errno 13] Permission denied: 'p'" -> its strerror.
                        let strerror = msg
                            .split_once("] ")
                            .map_or(msg.as_str(), |(_, rest)| rest)
                            .rsplit_once(": ")
                            .map_or(msg.as_str(), |(s, _)| s);
                        return Err(self
                            .msg
                            .clone()
                            .unwrap_or_else(|| format!("Failed to stat {path}, {strerror}")));
                    }
                    Ok(None) => {}
                    Ok(Some(_)) => match &self.search {
                        None => return Ok(Found::default()),
                        Some((_, re)) => {
                            if let Ok(data) = ctx.target.read_file(path)
                                && let Some(found) = groups(re, &data)
                            {
                                return Ok(found);
                            }
                        }
                    },
                },
                Subject::Port(port) => {
                    let left = end.saturating_duration_since(Instant::now());
                    // Python rounds the time left up to whole seconds.
                    let left =
                        Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0));
                    let timeout = self.connect_timeout.min(left);
                    let matched = |data: &[u8]| {
                        self.search
                            .as_ref()
                            .is_some_and(|(_, re)| re.is_match(data))
                    };
                    let enough: Option<Enough> = self.search.as_ref().map(|_| &matched as Enough);
                    // Reading stops at a match, when the peer closes or at the end.
                    let read_for = if enough.is_some() { left } else { timeout };
                    if let Ok(data) = ctx.target.tcp_probe(&self.host, *port, read_for, enough)
                        && (self.search.is_none() || matched(&data))
                    {
                        return Ok(Found::default());
                    }
                }
                Subject::Nothing => return Ok(Found::default()),
            }
            std::thread::sleep(self.sleep);
        }
        Err(self.msg.clone().unwrap_or_else(|| {
            let (what, plain) = match &self.subject {
                Subject::Port(port) => (
                    format!("{}:{port}", self.host),
                    format!("{}:{port}", self.host),
                ),
                Subject::Path(path) => (path.clone(), format!("file {path}")),
                Subject::Nothing => (String::new(), String::new()),
            };
            match &self.search {
                Some((re, _)) => format!("Timeout when waiting for search string {re} in {what}"),
                None => format!("Timeout when waiting for {plain}"),
            }
        }))
    }
}

/// The groups of `re`'s first match in `data`, as wait_for.py reports them
/// for a file: `match_groups` and `match_groupdict` (named groups).
fn groups(re: &Regex, data: &[u8]) -> Option<Found> {
    let caps = re.captures(data)?;
    let text = |m: Option<regex::bytes::Match>| {
        m.map_or(Json::Null, |m| json!(String::from_utf8_lossy(m.as_bytes())))
    };
    Some(Found {
        groups: caps.iter().skip(1).map(text).collect(),
        groupdict: re
            .capture_names()
            .flatten()
            .map(|name| (name.to_owned(), text(caps.name(name))))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_python_groups_and_groupdict() {
        let re = RegexBuilder::new(r"^port=(?P<port>\d+)( tls)?$")
            .multi_line(true)
            .build()
            .unwrap();
        let found = groups(&re, b"x\nport=80\n").unwrap();
        assert_eq!(Json::Array(found.groups), json!(["80", null]));
        assert_eq!(Json::Object(found.groupdict), json!({"port": "80"}));
        assert!(groups(&re, b"port=x").is_none());
    }
}
