//! `uri`: a port of uri.py for `http://` and `https://` (the host's curl):
//! any method, a `raw`, `json` or `form-urlencoded` body, headers, basic
//! auth, `follow_redirects`, accepted `status_code`s, `return_content`,
//! the JSON of a JSON response, `dest` (written when its SHA-1 differs,
//! with mode/owner/group), `creates`/`removes`. The result carries the
//! response headers as Ansible names them (lower case, `-` as `_`). Like
//! ansible-core it is skipped in check mode. Left out: `src`,
//! `form-multipart`, `unix_socket`, `ca_path`, client certificates,
//! `unredirected_headers`, netrc, cookies beyond the response's own.

use std::time::Instant;

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::args::Args;
use super::fileattrs::{FileArgs, add_path_info, stat};
use super::urls::{self, Fetch, Follow, fetch_url, mask_url};
use super::{Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;
use crate::util::mode::parse_mode;
use crate::util::pyjson;
use crate::util::sha1::sha1_hex;

pub struct Uri;

impl Module for Uri {
    fn params(&self) -> &'static [&'static str] {
        &[
            "url",
            "body",
            "body_format",
            "creates",
            "decompress",
            "dest",
            "follow_redirects",
            "force",
            "force_basic_auth",
            "group",
            "headers",
            "http_agent",
            "method",
            "mode",
            "owner",
            "password",
            "removes",
            "return_content",
            "status_code",
            "timeout",
            "url_password",
            "url_username",
            "use_netrc",
            "use_proxy",
            "user",
            "validate_certs",
        ]
    }

    fn supports_check(&self) -> bool {
        false
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let url = args.required(&["url"])?;
        let masked = mask_url(&url);
        let method = args
            .string(&["method"])?
            .unwrap_or_else(|| "GET".into())
            .to_uppercase();
        let body_format = args
            .choice(
                "body_format",
                &["form-urlencoded", "json", "raw", "form-multipart"],
            )?
            .unwrap_or_else(|| "raw".into());
        let follow = args
            .choice(
                "follow_redirects",
                &["all", "no", "none", "safe", "urllib2", "yes"],
            )?
            .unwrap_or_else(|| "safe".into());
        let return_content = args.bool("return_content", false)?;
        let codes = status_codes(args)?;
        let dest = match args.get("dest") {
            Some(_) => Some(args.path(&["dest"], ctx)?),
            None => None,
        };
        if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(ModuleError::new(
                "Parameter 'method' needs to be a single word in uppercase, like GET or POST.",
            ));
        }
        let mut fetch = Fetch::from_args(args, url.clone(), &method, 30)?;
        fetch.follow = Follow::parse(&follow);
        let has_type = fetch
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        let body = args.get("body");
        fetch.body = match body_format.as_str() {
            "json" => {
                if !has_type {
                    fetch
                        .headers
                        .push(("Content-Type".into(), "application/json".into()));
                }
                body.map(|b| match b {
                    Json::String(s) => s.clone().into_bytes(),
                    other => pyjson::dumps(other).into_bytes(),
                })
            }
            "form-urlencoded" => {
                if !has_type {
                    fetch.headers.push((
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ));
                }
                match body {
                    Some(b) => Some(form_urlencoded(b)?.into_bytes()),
                    None => None,
                }
            }
            "form-multipart" => {
                return Err(ModuleError::new(
                    "uri: body_format form-multipart is not supported yet",
                ));
            }
            _ => body.map(|b| match b {
                Json::String(s) => s.clone().into_bytes(),
                other => pyjson::dumps(other).into_bytes(),
            }),
        };

        let exists = |p: &str| -> Result<bool, ModuleError> {
            let p = super::args::expand_user(p, || ctx.target.home());
            Ok(stat(ctx, &p, false)?.is_some())
        };
        if let Some(creates) = args.string(&["creates"])?
            && exists(&creates)?
        {
            let msg = format!("skipped, since '{creates}' exists");
            return Ok(skip(msg));
        }
        if let Some(removes) = args.string(&["removes"])?
            && !exists(&removes)?
        {
            let msg = format!("skipped, since '{removes}' does not exist");
            return Ok(skip(msg));
        }

        if let Some(dest) = &dest
            && let Some(st) = stat(ctx, dest, true)?
            && st.kind == FileKind::File
        {
            fetch.last_mod_time = Some(st.mtime);
        }
        let start = Instant::now();
        let mut info = fetch_url(ctx, &fetch)?;
        let elapsed = urls::elapsed(start);
        let status = info.status().unwrap_or(-1);
        let mut dest = dest;
        if let (true, Some(d)) = (info.response, &dest)
            && stat(ctx, d, true)?.is_some_and(|s| s.kind == FileKind::Dir)
        {
            let name = response_filename(&info).unwrap_or_else(|| "index.html".into());
            dest = Some(format!("{}/{name}", d.trim_end_matches('/')));
        }
        let (content_type, sub_type, charset) = parse_content_type(info.header("content-type"));
        let sub = sub_type
            .rsplit_once('+')
            .map_or(sub_type.as_str(), |(_, s)| s);
        let maybe_json = !content_type.is_empty()
            && matches!(sub.to_ascii_lowercase().as_str(), "json" | "javascript");
        let accepted = codes.contains(&status);
        let maybe_output = maybe_json || return_content || !accepted;
        let content = std::mem::take(&mut info.body);

        let mut resp = Vars::new();
        let final_url = info.info.get("url").cloned().unwrap_or_default();
        resp.insert("redirected".into(), json!(final_url != json!(masked)));
        resp.extend(info.info.clone());
        if !maybe_output && info.response && !(200..300).contains(&status) {
            // An accepted HTTP error keeps fetch_url's `body`.
            resp.insert(
                "body".into(),
                json!(String::from_utf8_lossy(&content).into_owned()),
            );
        }
        resp.insert("elapsed".into(), json!(elapsed));
        resp.insert("status".into(), json!(status));
        resp.insert("changed".into(), json!(false));

        if let (true, Some(dest)) = (info.response, &dest) {
            if accepted && status != 304 {
                let old = stat(ctx, dest, true)?;
                let same = match old {
                    Some(_) => ctx
                        .target
                        .read_file(dest)
                        .is_ok_and(|b| sha1_hex(&b) == sha1_hex(&content)),
                    None => false,
                };
                if !same {
                    let mode = match args.get("mode") {
                        Some(spec) => Some(
                            parse_mode(spec, old.map_or(0o644, |s| s.mode), false)
                                .map_err(ModuleError)?,
                        ),
                        None => None,
                    };
                    if let Err(e) = ctx.target.write_file(dest, &content, mode) {
                        let msg = format!("failed to copy to {dest}: {e}");
                        let msg = format!("{msg} {}", info.msg());
                        return Err(ModuleError::new(msg));
                    }
                }
                let changed = FileArgs::read(args)?.apply(ctx, dest, true, None)?;
                resp.insert("changed".into(), json!(changed));
            }
            resp.insert("path".into(), json!(dest));
        }

        let mut uresp = Vars::new();
        for (k, v) in resp {
            uresp.insert(k.replace('-', "_").to_lowercase(), v);
        }
        if let Some(Json::String(location)) = uresp.get("location") {
            let joined = urls::join_url(&masked, location);
            uresp.insert("location".into(), json!(joined));
        }
        let u_content = match maybe_output {
            true => Some(decode(&content, &charset)),
            false => None,
        };
        if let (true, Some(text)) = (maybe_json, &u_content)
            && let Ok(js) = serde_json::from_str::<Json>(text)
        {
            uresp.insert("json".into(), js);
        }
        if uresp.contains_key("path") {
            add_path_info(ctx, &mut uresp)?;
        }
        if !accepted {
            let codes: Vec<String> = codes.iter().map(i64::to_string).collect();
            let msg = match uresp.get("msg") {
                Some(Json::String(s)) => s.clone(),
                _ => String::new(),
            };
            let msg = format!(
                "Status code was {status} and not [{}]: {msg}",
                codes.join(", ")
            );
            uresp.insert("msg".into(), json!(msg));
            if return_content {
                uresp.insert("content".into(), json!(u_content));
            }
            uresp.insert("failed".into(), json!(true));
            return Ok(Outcome::new(uresp));
        }
        if return_content {
            uresp.insert("content".into(), json!(u_content));
        }
        Ok(Outcome::new(uresp))
    }
}

/// `creates`/`removes` satisfied: `stdout` (and the `stdout_lines` the
/// action plugin adds).
fn skip(msg: String) -> Outcome {
    Outcome::new(super::result([
        ("stdout", json!(msg)),
        ("changed", json!(false)),
        ("stdout_lines", json!([msg])),
    ]))
}

/// `status_code` (`type='list', elements='int'`).
fn status_codes(args: &Args) -> Result<Vec<i64>, ModuleError> {
    let Some(list) = args.list(&["status_code"])? else {
        return Ok(vec![200]);
    };
    list.iter()
        .map(|s| {
            s.trim().parse::<i64>().map_err(|_| {
                ModuleError::new(format!(
                    "Elements value for option 'status_code' is of type str and we were unable to convert to int: invalid literal for int() with base 10: '{s}'"
                ))
            })
        })
        .collect()
}

/// module_utils' `parse_content_type` (with `email.message`'s defaults):
/// the type, its subtype and the charset.
fn parse_content_type(header: Option<&str>) -> (String, String, String) {
    let header = header.unwrap_or_default();
    let mut parts = header.split(';');
    let mut ctype = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if ctype.matches('/').count() != 1 {
        ctype = "text/plain".into();
    }
    let charset = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .unwrap_or_else(|| "utf-8".into());
    let sub = ctype
        .split_once('/')
        .map(|(_, s)| s.to_owned())
        .unwrap_or_default();
    (ctype, sub, charset)
}

/// The content as text in the response's charset (UTF-8 and Latin-1;
/// others read as UTF-8).
fn decode(content: &[u8], charset: &str) -> String {
    match charset.to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin-1" | "latin1" => content.iter().map(|&b| b as char).collect(),
        _ => String::from_utf8_lossy(content).into_owned(),
    }
}

/// module_utils' `get_response_filename`.
fn response_filename(info: &urls::Fetched) -> Option<String> {
    if let Some(name) = info
        .header("content-disposition")
        .and_then(urls::disposition_filename)
    {
        return Some(name);
    }
    let rest = info.final_url.split_once("://").map_or("", |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    Some(urls::percent_decode(name)).filter(|n| !n.is_empty())
}

/// uri.py's `form_urlencoded`: a dict or list of pairs as
/// `application/x-www-form-urlencoded` (`urlencode(doseq=True)`).
fn form_urlencoded(body: &Json) -> Result<String, ModuleError> {
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        Json::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        other => pyjson::dumps(other),
    };
    let pairs: Vec<(String, Json)> = match body {
        Json::String(s) => return Ok(s.clone()),
        Json::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Json::Array(items) => items
            .iter()
            .map(|item| match item {
                Json::Array(kv) if kv.len() == 2 => Ok((text(&kv[0]), kv[1].clone())),
                _ => Err(ModuleError::new(
                    "failed to parse body as form_urlencoded: too many values to unpack (expected 2)",
                )),
            })
            .collect::<Result<_, _>>()?,
        other => return Ok(text(other)),
    };
    let mut out = Vec::new();
    for (key, values) in pairs {
        let values = match values {
            Json::Array(items) => items,
            Json::Null => Vec::new(),
            other => vec![other],
        };
        for value in values.iter().filter(|v| !v.is_null()) {
            out.push(format!("{}={}", quote_plus(&key), quote_plus(&text(value))));
        }
    }
    Ok(out.join("&"))
}

/// Python's `quote_plus`.
fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let body = json!({"name": "a b", "tags": ["x", "y&z"], "none": null, "n": 1});
        assert_eq!(
            form_urlencoded(&body).unwrap(),
            "name=a+b&tags=x&tags=y%26z&n=1"
        );
        assert_eq!(form_urlencoded(&json!([["k", "v"]])).unwrap(), "k=v");
        assert_eq!(form_urlencoded(&json!("raw=1")).unwrap(), "raw=1");
    }

    #[test]
    fn content_types() {
        let t = |h| parse_content_type(h);
        assert_eq!(
            t(Some("application/problem+json; charset=ISO-8859-1")),
            (
                "application/problem+json".into(),
                "problem+json".into(),
                "ISO-8859-1".into()
            )
        );
        assert_eq!(
            t(None),
            ("text/plain".into(), "plain".into(), "utf-8".into())
        );
        assert_eq!(decode(&[0xe9], "latin-1"), "é");
    }
}
