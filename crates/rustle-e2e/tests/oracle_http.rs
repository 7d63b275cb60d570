//! get_url and uri against ansible-playbook, both talking to a small HTTP
//! server this test runs on 127.0.0.1: static files (with
//! `If-Modified-Since`), a checksum file, `Content-Disposition`, a
//! redirect, a 404, a JSON echo, a 201, and basic auth. Its responses
//! carry no date or server headers, so both tools' results are the same.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use rustle_e2e::oracle::twice_and_checked_as_ansible_with;

const HELLO: &str = "hello world\n";
const OTHER: &str = "other file\n";
const LAST_MODIFIED: &str = "Mon, 01 Jan 2024 00:00:00 GMT";

/// The server; stopped when dropped.
struct Server {
    url: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
        let addr = listener.local_addr().expect("the bound address");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    // One connection at a time: the tools make one request per connection.
                    let _ = serve(stream);
                }
            }
        });
        Server {
            url: format!("http://{addr}"),
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut req = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    req.body = vec![0; len];
    reader.read_exact(&mut req.body)?;
    Ok(req)
}

/// `(status line, headers, body)` for a request.
fn route(req: &Request) -> (&'static str, Vec<(&'static str, String)>, Vec<u8>) {
    let text = |s: &str| s.as_bytes().to_vec();
    let plain = || vec![("Content-Type", "text/plain".to_owned())];
    let file = |content: &str| {
        if req.header("if-modified-since").is_some() {
            return ("304 Not Modified", vec![], vec![]);
        }
        let mut h = plain();
        h.push(("Last-Modified", LAST_MODIFIED.to_owned()));
        ("200 OK", h, text(content))
    };
    let sha1 = |s: &str| {
        use sha1::Digest;
        let d = sha1::Sha1::digest(s.as_bytes());
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    match req.path.as_str() {
        "/files/hello.txt" => file(HELLO),
        "/files/other.txt" => file(OTHER),
        "/files/SHA1SUMS" => {
            let sums = format!("{}  hello.txt\n{} *other.txt\n", sha1(HELLO), sha1(OTHER));
            ("200 OK", plain(), text(&sums))
        }
        "/disposition" => {
            let mut h = plain();
            h.push((
                "Content-Disposition",
                "attachment; filename=\"../named.txt\"".to_owned(),
            ));
            ("200 OK", h, text("named\n"))
        }
        "/redirect" => (
            "302 Found",
            vec![("Location", "/files/hello.txt".to_owned())],
            text(""),
        ),
        "/echo" => {
            let body = serde_json::json!({
                "method": req.method,
                "content_type": req.header("content-type"),
                "body": String::from_utf8_lossy(&req.body),
            });
            let h = vec![("Content-Type", "application/json".to_owned())];
            ("200 OK", h, body.to_string().into_bytes())
        }
        "/created" => {
            let body = serde_json::json!({
                "created": String::from_utf8_lossy(&req.body),
                "content_type": req.header("content-type"),
            });
            let h = vec![("Content-Type", "application/json; charset=utf-8".to_owned())];
            ("201 Created", h, body.to_string().into_bytes())
        }
        "/auth" => {
            // base64("user:pass")
            if req.header("authorization") == Some("Basic dXNlcjpwYXNz") {
                ("200 OK", plain(), text("secret\n"))
            } else {
                let h = vec![("WWW-Authenticate", "Basic realm=\"test\"".to_owned())];
                ("401 Unauthorized", h, text("who are you?\n"))
            }
        }
        _ => ("404 Not Found", plain(), text("not here\n")),
    }
}

fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let req = read_request(&stream)?;
    let (status, headers, body) = route(&req);
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !status.starts_with("304") {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    if req.method != "HEAD" {
        bytes.extend(body);
    }
    stream.write_all(&bytes)?;
    stream.flush()
}

/// What differs by nature: the name of get_url's temporary download.
fn mask(text: &str) -> String {
    let src = regex::Regex::new(r#""src": "[^"]*""#).unwrap();
    let sum = regex::Regex::new(r"The checksum for \S+ did not match").unwrap();
    let text = src.replace_all(text, r#""src": "-""#);
    sum.replace_all(&text, "The checksum for - did not match")
        .into_owned()
}

#[test]
fn get_url_matches_ansible() {
    let server = Server::start();
    let url = format!("url={}", server.url);
    twice_and_checked_as_ansible_with(
        "fixtures/playbooks/modules/get_url.yml",
        false,
        &["-e", &url],
        &mask,
    );
}

#[test]
fn uri_matches_ansible() {
    let server = Server::start();
    let url = format!("url={}", server.url);
    twice_and_checked_as_ansible_with(
        "fixtures/playbooks/modules/uri.yml",
        false,
        &["-e", &url],
        &mask,
    );
}
