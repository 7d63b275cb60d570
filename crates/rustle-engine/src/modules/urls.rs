//! What `get_url` and `uri` share, after module_utils' `urls.py`:
//! `fetch_url` (headers, basic auth, redirects by Ansible's
//! `follow_redirects` rules, the `info` dict of a response or an error)
//! over [`Target::http`](crate::Target::http), `file://` read through the
//! target, and `mask_url`. Left out: proxies settings, netrc, GSSAPI,
//! client certificates, cookies jars beyond the response's own cookies,
//! gzip decoding (no `Accept-Encoding` is sent, so servers send plain).

use std::time::Instant;

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::{Args, ModuleCtx, ModuleError};
use crate::http::{HttpRequest, HttpResponse};
use crate::util::base64;

/// `follow_redirects`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// urllib's own rules (get_url): GET/HEAD on any 30x, POST on 301-303.
    Urllib2,
    All,
    /// GET and HEAD only (uri's default).
    Safe,
    None,
}

impl Follow {
    pub fn parse(s: &str) -> Follow {
        match s {
            "all" | "yes" => Follow::All,
            "safe" => Follow::Safe,
            "urllib2" | "urllib" => Follow::Urllib2,
            _ => Follow::None,
        }
    }
}

/// One `fetch_url` call.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub url: String,
    pub method: String,
    /// The task's headers, in order.
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: u64,
    pub follow: Follow,
    pub force: bool,
    /// The destination's mtime: `If-Modified-Since` unless `force`.
    pub last_mod_time: Option<f64>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub force_basic_auth: bool,
    pub http_agent: Option<String>,
}

impl Fetch {
    /// The arguments both modules read the same way.
    pub fn from_args(
        args: &Args,
        url: String,
        method: &str,
        default_timeout: i64,
    ) -> Result<Fetch, ModuleError> {
        Ok(Fetch {
            url,
            method: method.to_owned(),
            headers: headers(args)?,
            body: None,
            timeout: args.int("timeout")?.unwrap_or(default_timeout).max(0) as u64,
            follow: Follow::Urllib2,
            force: args.bool("force", false)?,
            last_mod_time: None,
            username: args.string(&["url_username", "username", "user"])?,
            password: args.string(&["url_password", "password"])?,
            force_basic_auth: args.bool("force_basic_auth", false)?,
            http_agent: Some(
                args.string(&["http_agent"])?
                    .unwrap_or_else(|| "ansible-httpget".to_owned()),
            ),
        })
    }
}

/// `headers` (a dict) as name/value pairs.
fn headers(args: &Args) -> Result<Vec<(String, String)>, ModuleError> {
    match args.get("headers") {
        None => Ok(Vec::new()),
        Some(Json::Object(map)) => Ok(map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect()),
        Some(other) => Err(ModuleError::new(format!(
            "argument 'headers' is of type {} and we were unable to convert to dict",
            super::args::type_name(other)
        ))),
    }
}

/// What `fetch_url` returns: `info` (Ansible's dict, `body` left out),
/// the content, and whether a response came at all (`r` is not None).
#[derive(Debug, Default)]
pub struct Fetched {
    pub info: Vars,
    /// The body of a success, or of an HTTP error (`info['body']`).
    pub body: Vec<u8>,
    pub response: bool,
    /// The URL of the last response (`r.geturl()`).
    pub final_url: String,
    /// The response's headers, lower-cased, duplicates joined.
    pub headers: Vec<(String, String)>,
}

impl Fetched {
    /// `info['status']` (-1 when no response came; `None` for `file://`).
    pub fn status(&self) -> Option<i64> {
        self.info.get("status").and_then(Json::as_i64)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn msg(&self) -> String {
        match self.info.get("msg") {
            Some(Json::String(s)) => s.clone(),
            _ => String::new(),
        }
    }
}

/// module_utils' `fetch_url` for `http://` (through the target),
/// `https://` (the host's curl) and `file://` (read on the host).
pub fn fetch_url(ctx: &ModuleCtx, f: &Fetch) -> Result<Fetched, ModuleError> {
    let mut out = Fetched {
        info: super::result([("url", json!(mask_url(&f.url))), ("status", json!(-1))]),
        final_url: f.url.clone(),
        ..Fetched::default()
    };
    if let Some(path) = f.url.strip_prefix("file://") {
        return Ok(fetch_file(ctx, path, out));
    }
    let scheme = f.url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) {
        let what = scheme.unwrap_or_else(|| f.url.clone());
        out.info.insert(
            "msg".into(),
            json!(format!(
                "Request failed: <urlopen error unknown url type: {what}>"
            )),
        );
        return Ok(out);
    }
    let (mut url, creds) = split_credentials(&f.url);
    let (username, password) = match (&f.username, creds) {
        (Some(user), _) => (Some(user.clone()), f.password.clone().unwrap_or_default()),
        (None, Some((user, pass))) => (Some(user), pass),
        (None, None) => (None, String::new()),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(agent) = &f.http_agent {
        set_header(&mut headers, "User-agent", agent);
    }
    if f.force {
        set_header(&mut headers, "Cache-control", "no-cache");
    } else if let Some(mtime) = f.last_mod_time {
        set_header(&mut headers, "If-modified-since", &http_date(mtime as i64));
    }
    let basic = username.as_ref().map(|u| {
        format!(
            "Basic {}",
            base64::encode(format!("{u}:{password}").as_bytes())
        )
    });
    if let (true, Some(auth)) = (f.force_basic_auth, &basic) {
        set_header(&mut headers, "Authorization", auth);
    }
    for (name, value) in &f.headers {
        set_header(&mut headers, name, value);
    }
    let mut method = f.method.to_ascii_uppercase();
    let mut body = f.body.clone();
    if body.is_some() && !has_header(&headers, "content-type") {
        // urllib's default for a request with data.
        set_header(
            &mut headers,
            "Content-type",
            "application/x-www-form-urlencoded",
        );
    }
    let mut redirects = 0;
    let mut auth_tried = false;
    loop {
        let req = HttpRequest {
            method: method.clone(),
            url: url.clone(),
            headers: headers.clone(),
            body: body.clone(),
            timeout: f.timeout,
        };
        let resp = match ctx.target.http(&req) {
            Ok(resp) => resp,
            Err(e) => {
                out.info.insert("msg".into(), json!(connection_error(&e)));
                return Ok(out);
            }
        };
        // HTTPBasicAuthHandler: credentials once the server asks for them.
        if resp.status == 401
            && !auth_tried
            && !f.force_basic_auth
            && let Some(auth) = &basic
            && header_of(&resp, "www-authenticate")
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("basic"))
        {
            auth_tried = true;
            set_header(&mut headers, "Authorization", auth);
            continue;
        }
        let location = header_of(&resp, "location").or_else(|| header_of(&resp, "uri"));
        let code = resp.status;
        if let (true, Some(location)) = ([301, 302, 303, 307, 308].contains(&code), location)
            && follows(f.follow, code, &method)
        {
            redirects += 1;
            if redirects > 10 {
                let msg = format!(
                    "HTTP Error {code}: The HTTP server returned a redirect error that would lead to an infinite loop.\nThe last 30x error message was:\n{}",
                    resp.reason
                );
                return Ok(http_error(out, resp, msg));
            }
            url = join_url(&url, &location.replace(' ', "%20"));
            if !matches!(code, 307 | 308) || f.follow == Follow::Urllib2 {
                body = None;
                headers.retain(|(k, _)| {
                    let k = k.to_ascii_lowercase();
                    !matches!(
                        k.as_str(),
                        "content-length" | "content-type" | "transfer-encoding"
                    )
                });
                if f.follow == Follow::Urllib2
                    || (matches!(code, 302 | 303) && method != "HEAD")
                    || (code == 301 && method == "POST")
                {
                    method = "GET".to_owned();
                }
            }
            continue;
        }
        out.final_url = url.clone();
        if (200..300).contains(&code) {
            let headers = joined_headers(&resp);
            for (k, v) in &headers {
                out.info.insert(k.clone(), json!(v));
            }
            let cookies: Vec<(String, String)> = resp
                .headers
                .iter()
                .filter(|(k, _)| k == "set-cookie")
                .filter_map(|(_, v)| {
                    let pair = v.split(';').next()?;
                    let (name, value) = pair.split_once('=')?;
                    Some((name.trim().to_owned(), value.trim().to_owned()))
                })
                .collect();
            let string: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.info
                .insert("cookies_string".into(), json!(string.join("; ")));
            let dict: serde_json::Map<String, Json> =
                cookies.into_iter().map(|(k, v)| (k, json!(v))).collect();
            out.info.insert("cookies".into(), Json::Object(dict));
            let length = header_of(&resp, "content-length").unwrap_or("unknown");
            out.info
                .insert("msg".into(), json!(format!("OK ({length} bytes)")));
            out.info.insert("url".into(), json!(mask_url(&url)));
            out.info.insert("status".into(), json!(code));
            out.response = true;
            out.headers = headers;
            out.body = resp.body;
            return Ok(out);
        }
        let msg = format!("HTTP Error {code}: {}", resp.reason);
        return Ok(http_error(out, resp, msg));
    }
}

/// urllib's `HTTPError`: the headers, `msg`, `status`, and the body kept.
fn http_error(mut out: Fetched, resp: HttpResponse, msg: String) -> Fetched {
    let headers = joined_headers(&resp);
    for (k, v) in &headers {
        out.info.insert(k.clone(), json!(v));
    }
    out.info.insert("msg".into(), json!(msg));
    out.info.insert("status".into(), json!(resp.status));
    out.response = true;
    out.headers = headers;
    out.body = resp.body;
    out
}

/// Whether Ansible's redirect handler follows `code` for `method`.
fn follows(follow: Follow, code: u16, method: &str) -> bool {
    let get = matches!(method, "GET" | "HEAD");
    match follow {
        Follow::None => false,
        Follow::All => true,
        Follow::Safe => get,
        Follow::Urllib2 => get || (matches!(code, 301..=303) && method == "POST"),
    }
}

/// The error message of a request that got no response.
fn connection_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            "Request failed: <urlopen error [Errno 111] Connection refused>".to_owned()
        }
        std::io::ErrorKind::TimedOut => "Request failed: <urlopen error timed out>".to_owned(),
        _ => format!("Request failed: <urlopen error {e}>"),
    }
}

/// urllib's `FileHandler`: the file's type, length and date as headers,
/// no status.
fn fetch_file(ctx: &ModuleCtx, path: &str, mut out: Fetched) -> Fetched {
    let path = path.strip_prefix("localhost").unwrap_or(path);
    let path = percent_decode(path);
    let found = ctx
        .target
        .stat(&path, true)
        .ok()
        .flatten()
        .and_then(|st| Some((st, ctx.target.read_file(&path).ok()?)));
    let Some((st, bytes)) = found else {
        out.info.insert(
            "msg".into(),
            json!(format!(
                "Request failed: <urlopen error [Errno 2] No such file or directory: '{path}'>"
            )),
        );
        return out;
    };
    let headers = vec![
        ("content-type".to_owned(), guess_type(&path).to_owned()),
        ("content-length".to_owned(), bytes.len().to_string()),
        ("last-modified".to_owned(), http_date(st.mtime as i64)),
    ];
    for (k, v) in &headers {
        out.info.insert(k.clone(), json!(v));
    }
    out.info.insert("cookies_string".into(), json!(""));
    out.info.insert("cookies".into(), json!({}));
    out.info
        .insert("msg".into(), json!(format!("OK ({} bytes)", bytes.len())));
    out.info.insert("status".into(), Json::Null);
    out.response = true;
    out.headers = headers;
    out.body = bytes;
    out
}

/// A few of Python's `mimetypes` guesses; `text/plain` otherwise, as
/// urllib's file handler falls back to.
fn guess_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") => "text/html",
        Some("json") => "application/json",
        Some("gz") => "application/gzip",
        Some("tar") => "application/x-tar",
        Some("zip") => "application/zip",
        Some("xml") => "application/xml",
        Some("sh") => "application/x-sh",
        _ => "text/plain",
    }
}

fn has_header(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// urllib's `add_header`: one value per (case-insensitive) name, the name
/// capitalised as `str.capitalize` does.
fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    let mut chars = name.chars();
    let name = match chars.next() {
        Some(c) => c
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    };
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
    headers.push((name, value.to_owned()));
}

fn header_of<'a>(resp: &'a HttpResponse, name: &str) -> Option<&'a str> {
    resp.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Header names lower-cased, repeated headers joined with `, `.
fn joined_headers(resp: &HttpResponse) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in &resp.headers {
        let k = k.to_ascii_lowercase();
        match out.iter_mut().find(|(name, _)| *name == k) {
            Some((_, joined)) => {
                joined.push_str(", ");
                joined.push_str(v);
            }
            None => out.push((k, v.clone())),
        }
    }
    out
}

/// The URL without `user:pass@`, and the (unquoted) credentials.
fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let netloc = &rest[..end];
    let Some((creds, host)) = netloc.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let (user, pass) = creds.split_once(':').unwrap_or((creds, ""));
    let url = format!("{scheme}://{host}{}", &rest[end..]);
    (url, Some((percent_decode(user), percent_decode(pass))))
}

/// module_utils' `mask_url`: credentials in the URL become `****`.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some((creds, host)) = rest[..end].rsplit_once('@') else {
        return url.to_owned();
    };
    let mask = match creds.split_once(':') {
        Some((_, pass)) if !pass.is_empty() => "****:****",
        _ => "****",
    };
    format!("{scheme}://{mask}@{host}{}", &rest[end..])
}

/// Python's `urljoin` for a redirect's `Location`.
pub fn join_url(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(net) = location.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, path) = rest.split_at(end);
    if location.starts_with('/') {
        return format!("{scheme}://{host}{location}");
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if location.is_empty() {
        return base.to_owned();
    }
    if location.starts_with('?') {
        return format!("{scheme}://{host}{path}{location}");
    }
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    let mut segments: Vec<&str> = Vec::new();
    let joined = format!("{dir}{location}");
    let parts: Vec<&str> = joined.split('/').skip(1).collect();
    for (i, seg) in parts.iter().enumerate() {
        match *seg {
            "." => {
                if i == parts.len() - 1 {
                    segments.push("");
                }
            }
            ".." => {
                segments.pop();
                if i == parts.len() - 1 {
                    segments.push("");
                }
            }
            s => segments.push(s),
        }
    }
    format!("{scheme}://{host}/{}", segments.join("/"))
}

/// `%xx` escapes decoded (Python's `unquote`).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Wed, 01 Jan 2025 00:00:00 GMT` (RFC 2822/7231 dates).
pub fn http_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = secs.max(0) as u64;
    let (date, time) = crate::util::time::utc_date_time(secs);
    let mut parts = date.split('-');
    let (y, m, d) = (
        parts.next().unwrap_or_default(),
        parts
            .next()
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(1),
        parts.next().unwrap_or_default(),
    );
    let weekday = DAYS[((secs / 86_400) % 7) as usize];
    format!("{weekday}, {d} {} {y} {time} GMT", MONTHS[m - 1])
}

/// The whole seconds since `start`, as Ansible's `elapsed`.
pub fn elapsed(start: Instant) -> u64 {
    start.elapsed().as_secs()
}

/// The file name in a `Content-Disposition` header's `filename`
/// parameter, its base name only (`email.message`'s `get_param`).
pub fn disposition_filename(header: &str) -> Option<String> {
    for param in split_params(header).into_iter().skip(1) {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("filename") {
            continue;
        }
        let value = value.trim();
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(quoted) => quoted.replace("\\\"", "\"").replace("\\\\", "\\"),
            None => value.to_owned(),
        };
        let base = value.rsplit('/').next().unwrap_or_default().to_owned();
        return Some(base).filter(|b| !b.is_empty());
    }
    None
}

/// `;`-separated parts of a header, quotes respected.
fn split_params(header: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in header.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

/// get_url's `url_filename`: the URL path's base name, or `index.html`.
pub fn url_filename(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => "",
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => "index.html".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames() {
        assert_eq!(url_filename("http://h/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_filename("http://h/a/"), "index.html");
        assert_eq!(url_filename("http://h"), "index.html");
        assert_eq!(url_filename("file:///tmp/x.txt"), "x.txt");
        let cd = disposition_filename;
        assert_eq!(
            cd("attachment; filename=\"../../evil.txt\""),
            Some("evil.txt".into())
        );
        assert_eq!(
            cd("attachment; filename=plain.bin"),
            Some("plain.bin".into())
        );
        assert_eq!(cd("attachment; x=\"a;filename=no\""), None);
        assert_eq!(cd("inline"), None);
    }

    #[test]
    fn urls() {
        assert_eq!(mask_url("http://u:p@h/x"), "http://****:****@h/x");
        assert_eq!(mask_url("http://u@h/x"), "http://****@h/x");
        assert_eq!(mask_url("http://h/x@y"), "http://h/x@y");
        assert_eq!(
            split_credentials("http://a%40b:p@h:1/x"),
            ("http://h:1/x".into(), Some(("a@b".into(), "p".into())))
        );
        assert_eq!(join_url("http://h/a/b", "/c"), "http://h/c");
        assert_eq!(join_url("http://h/a/b", "c"), "http://h/a/c");
        assert_eq!(join_url("http://h/a/b", "../c"), "http://h/c");
        assert_eq!(join_url("http://h/a/b", "http://o/"), "http://o/");
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
    }

    #[test]
    fn dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT");
    }
}
