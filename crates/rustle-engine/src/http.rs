//! One HTTP request from the host, for `get_url` and `uri`: in process
//! with `ureq` when the engine runs on the host ([`crate::LocalTarget`],
//! plain `http://` only: the runner carries no TLS), otherwise with `curl`
//! run on the host through [`Target::exec`] (SSH mode, and `https://`).
//! Redirects are never followed here: the modules follow them with
//! Ansible's rules.

use std::io;
use std::time::Duration;

use crate::target::{ExecRequest, Target};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// Upper case (`GET`, `HEAD`, `POST`...).
    pub method: String,
    pub url: String,
    /// Sent as given, in order.
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Seconds for the whole exchange.
    pub timeout: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// The reason phrase (`Not Found`).
    pub reason: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The request with `ureq`, in this process.
pub fn in_process(req: &HttpRequest) -> io::Result<HttpResponse> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .allow_non_standard_methods(true)
        .user_agent(ureq::config::AutoHeaderValue::None)
        .accept(ureq::config::AutoHeaderValue::None)
        .timeout_global(Some(Duration::from_secs(req.timeout.max(1))))
        .build();
    let agent: ureq::Agent = config.into();
    let mut builder = ureq::http::Request::builder()
        .method(req.method.as_str())
        .uri(req.url.as_str());
    for (name, value) in &req.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = req.body.clone().unwrap_or_default();
    let request = builder
        .body(body)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let response = agent.run(request).map_err(ureq_error)?;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_ascii_lowercase(), value)
        })
        .collect();
    let body = if req.method == "HEAD" {
        Vec::new()
    } else {
        response
            .into_body()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(ureq_error)?
    };
    Ok(HttpResponse {
        status: status.as_u16(),
        reason: canonical_reason(status.as_u16()).to_owned(),
        headers,
        body,
    })
}

/// The standard reason phrase of a status (`Not Found`).
pub fn canonical_reason(status: u16) -> &'static str {
    ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or_default()
}

fn ureq_error(err: ureq::Error) -> io::Error {
    match err {
        ureq::Error::Io(e) => e,
        ureq::Error::Timeout(_) => io::Error::new(io::ErrorKind::TimedOut, "timed out"),
        ureq::Error::HostNotFound => io::Error::new(
            io::ErrorKind::NotFound,
            "[Errno -2] Name or service not known",
        ),
        other => io::Error::other(other.to_string()),
    }
}

/// The request with `curl` on the host: `-i` prints the status line and
/// headers before the body.
pub fn curl<T: Target + ?Sized>(target: &T, req: &HttpRequest) -> io::Result<HttpResponse> {
    let mut argv: Vec<String> = ["curl", "-sS", "-i", "--max-time"]
        .map(str::to_owned)
        .to_vec();
    argv.push(req.timeout.max(1).to_string());
    if req.method == "HEAD" {
        argv.push("--head".into());
    } else {
        argv.extend(["-X".to_owned(), req.method.clone()]);
    }
    // No `Expect: 100-continue` pause, and none of curl's own headers
    // unless the request sets them.
    argv.extend(["-H".into(), "Expect:".into()]);
    for default in ["User-Agent", "Accept"] {
        if !req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(default))
        {
            argv.extend(["-H".into(), format!("{default}:")]);
        }
    }
    for (name, value) in &req.headers {
        argv.push("-H".into());
        argv.push(match value.is_empty() {
            true => format!("{name};"),
            false => format!("{name}: {value}"),
        });
    }
    let mut exec = ExecRequest::new(Vec::<String>::new());
    if let Some(body) = &req.body {
        argv.extend(["--data-binary".into(), "@-".into()]);
        exec.stdin = Some(body.clone());
    }
    argv.extend(["--".into(), req.url.clone()]);
    exec.argv = argv;
    let out = match target.exec(&exec) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(io::Error::other(format!(
                "{} needs curl on the host: {e}",
                req.url.split(':').next().unwrap_or("http")
            )));
        }
        other => other?,
    };
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    match out.rc {
        0 => parse_curl_output(&out.stdout)
            .ok_or_else(|| io::Error::other("curl printed no HTTP response")),
        7 => Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "[Errno 111] Connection refused",
        )),
        28 => Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")),
        6 => Err(io::Error::new(
            io::ErrorKind::NotFound,
            "[Errno -2] Name or service not known",
        )),
        127 => Err(io::Error::other(format!(
            "needs curl on the host: {stderr}"
        ))),
        rc => Err(io::Error::other(format!("curl failed ({rc}): {stderr}"))),
    }
}

/// The last non-1xx response of `curl -i` output: status line, headers, a
/// blank line, then the body.
pub fn parse_curl_output(mut out: &[u8]) -> Option<HttpResponse> {
    loop {
        let (head_len, sep) = find_blank_line(out)?;
        let head = String::from_utf8_lossy(&out[..head_len]).into_owned();
        let body = &out[head_len + sep..];
        let mut lines = head.lines();
        let status_line = lines.next()?;
        let mut parts = status_line.splitn(3, ' ');
        let _version = parts.next()?;
        let status: u16 = parts.next()?.parse().ok()?;
        let reason = match parts.next().unwrap_or_default().trim() {
            "" => canonical_reason(status).to_owned(),
            reason => reason.to_owned(),
        };
        if (100..200).contains(&status) {
            out = body;
            continue;
        }
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        return Some(HttpResponse {
            status,
            reason,
            headers,
            body: body.to_vec(),
        });
    }
}

/// Where the header block ends and how long its blank line is.
fn find_blank_line(b: &[u8]) -> Option<(usize, usize)> {
    let crlf = b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
    let lf = b.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_output_skips_interim_responses() {
        let out = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nX-A: b: c\r\n\r\nno\r\n\r\nbody";
        let r = parse_curl_output(out).unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.reason, "Not Found");
        assert_eq!(
            r.headers,
            vec![
                ("content-type".to_owned(), "text/plain".to_owned()),
                ("x-a".to_owned(), "b: c".to_owned())
            ]
        );
        assert_eq!(r.body, b"no\r\n\r\nbody");
    }

    #[test]
    fn curl_output_http2_without_reason() {
        let r = parse_curl_output(b"HTTP/2 200 \r\nserver: x\r\n\r\n").unwrap();
        assert_eq!((r.status, r.reason.as_str(), r.body.len()), (200, "OK", 0));
        assert!(parse_curl_output(b"garbage").is_none());
    }
}

#[cfg(test)]
mod transport_tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::target::LocalTarget;

    /// Serves one request, answering with what it received in the body.
    fn echo_once() -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0; 4096];
            // Headers, then the 5-byte body the tests send.
            while !String::from_utf8_lossy(&buf).contains("\r\n\r\nhello") {
                let n = stream.read(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let request = String::from_utf8_lossy(&buf).into_owned();
            let body = "got it";
            let reply = format!(
                "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).unwrap();
            request
        });
        (url, thread)
    }

    fn request(url: String) -> HttpRequest {
        HttpRequest {
            method: "PUT".into(),
            url,
            headers: vec![("User-agent".into(), "ansible-httpget".into())],
            body: Some(b"hello".to_vec()),
            timeout: 5,
        }
    }

    fn check(resp: HttpResponse, request: String) {
        assert_eq!((resp.status, resp.reason.as_str()), (201, "Created"));
        assert_eq!(resp.body, b"got it");
        let cookies: Vec<_> = resp
            .headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .collect();
        assert_eq!(cookies.len(), 2, "{:?}", resp.headers);
        assert!(request.starts_with("PUT /x HTTP/1.1\r\n"), "{request}");
        // ureq sends header names in lower case.
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.contains("user-agent: ansible-httpget\r\n"),
            "{request}"
        );
        assert!(request.ends_with("\r\n\r\nhello"), "{request}");
    }

    #[test]
    fn in_process_request() {
        let (url, server) = echo_once();
        let resp = in_process(&request(url)).unwrap();
        check(resp, server.join().unwrap());
    }

    /// The SSH-mode path, through `exec` (needs curl where tests run).
    #[test]
    fn curl_request() {
        let (url, server) = echo_once();
        let resp = curl(&LocalTarget, &request(url)).unwrap();
        check(resp, server.join().unwrap());
    }

    #[test]
    fn refused() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let req = HttpRequest {
            method: "GET".into(),
            url: format!("http://127.0.0.1:{port}/"),
            timeout: 5,
            ..HttpRequest::default()
        };
        let kind = |r: io::Result<HttpResponse>| r.unwrap_err().kind();
        assert_eq!(kind(in_process(&req)), io::ErrorKind::ConnectionRefused);
        assert_eq!(
            kind(curl(&LocalTarget, &req)),
            io::ErrorKind::ConnectionRefused
        );
    }
}
