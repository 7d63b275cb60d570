//! URLs in templates: the `urldecode` filter (Python's
//! `urllib.parse.unquote_plus`), `urlsplit` (the parts of
//! `urllib.parse.urlsplit` as a dict, or one of them) and the `uri`,
//! `url` and `urn` tests (ansible-core's plugins/test/uri.py).

use std::net::{Ipv4Addr, Ipv6Addr};

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

use super::filters::{add_filter, add_test};
use super::more::py_repr;

pub fn register(env: &mut Environment<'static>) {
    add_filter(env, "urldecode", urldecode);
    add_filter(env, "urlsplit", urlsplit_filter);
    add_test(env, "uri", |v: Value, schemes: Option<Value>| {
        is_uri(&v, schemes.as_ref())
    });
    add_test(env, "url", |v: Value, schemes: Option<Value>| {
        is_url(&v, schemes.as_ref())
    });
    add_test(env, "urn", |v: Value| {
        is_uri(&v, Some(&Value::from(vec!["urn"])))
    });
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// `unquote_plus`: `+` is a space, `%XX` escapes are bytes read as UTF-8
/// (invalid sequences replaced); other text is kept as is.
fn urldecode(value: Value) -> Result<String, Error> {
    let text = value.as_str().ok_or_else(|| {
        invalid(format!(
            "'{}' object has no attribute 'replace'",
            super::python_type(&value)
        ))
    })?;
    let text = text.replace('+', " ");
    // Python unquotes each run of ASCII text on its own.
    let mut out = String::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let ascii = rest.find(|c: char| !c.is_ascii()).unwrap_or(rest.len());
        out.push_str(&String::from_utf8_lossy(&unquote_bytes(&rest[..ascii])));
        rest = &rest[ascii..];
        let other = rest.find(|c: char| c.is_ascii()).unwrap_or(rest.len());
        out.push_str(&rest[..other]);
        rest = &rest[other..];
    }
    Ok(out)
}

/// `unquote_to_bytes` of ASCII text: each `%` and two hex digits a byte.
fn unquote_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| bytes[i] == b'%' && h.iter().all(u8::is_ascii_hexdigit));
        match hex.and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// `urlsplit`'s five parts.
#[derive(Debug, Default)]
struct Split {
    scheme: String,
    netloc: String,
    path: String,
    query: String,
    fragment: String,
}

/// Python's `urllib.parse.urlsplit` (3.11): leading C0 controls and spaces
/// stripped, tabs and newlines removed, then scheme, `//netloc`,
/// `#fragment` and `?query`. Errors are Python's `ValueError` messages.
fn urlsplit(url: &str) -> Result<Split, String> {
    let url: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut split = Split::default();
    let mut rest = url.as_str();
    if let Some(i) = rest.find(':')
        && i > 0
        && rest.as_bytes()[0].is_ascii_alphabetic()
        && rest[..i]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        split.scheme = rest[..i].to_lowercase();
        rest = &rest[i + 1..];
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        split.netloc = after[..end].to_owned();
        rest = &after[end..];
        let netloc = &split.netloc;
        if netloc.contains('[') != netloc.contains(']') {
            return Err("Invalid IPv6 URL".into());
        }
        if let Some((_, bracketed)) = netloc.split_once('[') {
            check_bracketed_host(bracketed.split(']').next().unwrap_or_default())?;
        }
    }
    if let Some((before, fragment)) = rest.split_once('#') {
        split.fragment = fragment.to_owned();
        rest = before;
    }
    if let Some((before, query)) = rest.split_once('?') {
        split.query = query.to_owned();
        rest = before;
    }
    split.path = rest.to_owned();
    Ok(split)
}

/// `_check_bracketed_host`: an IPv6 address (with a zone) or `vX.future`.
fn check_bracketed_host(host: &str) -> Result<(), String> {
    if let Some(future) = host.strip_prefix('v') {
        let valid = future.split_once('.').is_some_and(|(hex, rest)| {
            !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) && !rest.is_empty()
        });
        return if valid {
            Ok(())
        } else {
            Err("IPvFuture address is invalid".into())
        };
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Err("An IPv4 address cannot be in brackets".into());
    }
    let (address, zone) = host.split_once('%').unwrap_or((host, "x"));
    if zone.is_empty() || address.parse::<Ipv6Addr>().is_err() {
        return Err(format!(
            "{} does not appear to be an IPv4 or IPv6 address",
            py_repr(&Value::from(host))
        ));
    }
    Ok(())
}

impl Split {
    /// `username` and `password`, from what precedes the last `@`.
    fn userinfo(&self) -> (Value, Value) {
        match self.netloc.rsplit_once('@') {
            None => (Value::from(()), Value::from(())),
            Some((userinfo, _)) => match userinfo.split_once(':') {
                Some((user, password)) => (Value::from(user), Value::from(password)),
                None => (Value::from(userinfo), Value::from(())),
            },
        }
    }

    /// `hostname` (lowercased but for an IPv6 zone) and `port`.
    fn hostinfo(&self) -> Result<(Value, Value), String> {
        let hostinfo = self
            .netloc
            .rsplit_once('@')
            .map_or(self.netloc.as_str(), |(_, h)| h);
        let (host, port) = match hostinfo.split_once('[') {
            Some((_, bracketed)) => {
                let (host, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
                (host, after.split_once(':').map_or("", |(_, p)| p))
            }
            None => hostinfo.split_once(':').unwrap_or((hostinfo, "")),
        };
        let host = match host.split_once('%') {
            _ if host.is_empty() => Value::from(()),
            Some((address, zone)) => Value::from(format!("{}%{zone}", address.to_lowercase())),
            None => Value::from(host.to_lowercase()),
        };
        let port = match port {
            "" => Value::from(()),
            digits if digits.bytes().all(|b| b.is_ascii_digit()) => match digits.parse::<u32>() {
                Ok(port) if port <= 65535 => Value::from(port),
                _ => return Err("Port out of range 0-65535".into()),
            },
            other => {
                return Err(format!(
                    "Port could not be cast to integer value as {}",
                    py_repr(&Value::from(other))
                ));
            }
        };
        Ok((host, port))
    }

    /// The dict `urlsplit` gives: every attribute of the result, by name.
    fn to_dict(&self) -> Result<Vec<(&'static str, Value)>, String> {
        let (username, password) = self.userinfo();
        let (hostname, port) = self.hostinfo()?;
        Ok(vec![
            ("fragment", Value::from(self.fragment.as_str())),
            ("hostname", hostname),
            ("netloc", Value::from(self.netloc.as_str())),
            ("password", password),
            ("path", Value::from(self.path.as_str())),
            ("port", port),
            ("query", Value::from(self.query.as_str())),
            ("scheme", Value::from(self.scheme.as_str())),
            ("username", username),
        ])
    }
}

/// The text Python's `urlsplit` takes from a value: a string, or `''` for
/// a false one; None for others (which fail).
fn url_text(value: &Value) -> Option<String> {
    match value.as_str() {
        Some(s) => Some(s.to_owned()),
        None if !value.is_true() => Some(String::new()),
        None => None,
    }
}

/// `urlsplit(query='')`: the URL's parts as a dict, or the one `query` names.
fn urlsplit_filter(value: Value, query: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let query = kwargs.get::<Option<Value>>("query")?.or(query);
    kwargs.assert_all_used()?;
    let text = url_text(&value).ok_or_else(|| {
        invalid(format!(
            "'{}' object has no attribute 'decode'",
            super::python_type(&value)
        ))
    })?;
    let parts = urlsplit(&text)
        .and_then(|split| split.to_dict())
        .map_err(invalid)?;
    match query.filter(|q| q.is_true()) {
        None => Ok(Value::from_pairs(parts)),
        Some(query) => parts
            .into_iter()
            .find(|(name, _)| query.as_str() == Some(name))
            .map(|(_, v)| v)
            .ok_or_else(|| {
                invalid(format!(
                    "urlsplit: unknown URL component: {}",
                    super::more::py_str(&query)
                ))
            }),
    }
}

/// The `uri` test: the value parses as a URI (any string does) and, when
/// `schemes` are given, its scheme is among them.
fn is_uri(value: &Value, schemes: Option<&Value>) -> bool {
    let Some(split) = url_text(value).and_then(|text| urlsplit(&text).ok()) else {
        return false;
    };
    match schemes.filter(|s| s.is_true()) {
        None => true,
        Some(schemes) => match schemes.kind() {
            ValueKind::String => schemes
                .as_str()
                .is_some_and(|s| s.contains(split.scheme.as_str())),
            ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => schemes
                .try_iter()
                .is_ok_and(|mut it| it.any(|s| s.as_str() == Some(split.scheme.as_str()))),
            _ => false,
        },
    }
}

/// The `url` test: a URI with a network location, or a `file:` one.
fn is_url(value: &Value, schemes: Option<&Value>) -> bool {
    is_uri(value, schemes)
        && url_text(value)
            .and_then(|text| urlsplit(&text).ok())
            .is_some_and(|split| !split.netloc.is_empty() || split.scheme == "file")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_as_python() {
        let s = urlsplit("HTTP://User:Pw@Example.COM:8080/a/b?x=1&y=2#frag").unwrap();
        assert_eq!(
            (s.scheme.as_str(), s.netloc.as_str(), s.path.as_str()),
            ("http", "User:Pw@Example.COM:8080", "/a/b")
        );
        assert_eq!((s.query.as_str(), s.fragment.as_str()), ("x=1&y=2", "frag"));
        let (host, port) = s.hostinfo().unwrap();
        assert_eq!(
            (host, port),
            (Value::from("example.com"), Value::from(8080))
        );
        let s = urlsplit("http://[FE80::1%Eth0]:1/").unwrap();
        assert_eq!(s.hostinfo().unwrap().0, Value::from("fe80::1%Eth0"));
        assert!(urlsplit("http://[::1").is_err());
        assert!(urlsplit("http://[1.2.3.4]/").is_err());
        assert!(urlsplit("http://h:x/").unwrap().hostinfo().is_err());
    }

    #[test]
    fn decodes_as_unquote_plus() {
        let decode = |s: &str| urldecode(Value::from(s)).unwrap();
        assert_eq!(decode("a+b%20c%2"), "a b c%2");
        assert_eq!(decode("%C3%A9%zz%ff"), "é%zz\u{fffd}");
    }
}
