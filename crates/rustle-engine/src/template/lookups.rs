//! Lookups: `lookup()`, `query()`/`q()` and the `with_<lookup>` loops, as
//! ansible-core 2.19 runs them. Lookups run where Ansible runs them, on the
//! controller: the ones that read files, the environment or run commands
//! (`file`, `template`, `env`, `pipe`, ...) work only in a process that
//! said it is the controller ([`on_controller`]: rustle-exec), and fail
//! clearly in a runner. Files are found as `find_file_in_search_path`
//! finds them: the role's `files/` (or `templates/`) and directory, then
//! the playbook's.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, State, Value};
use serde_json::{Map, Value as Json, json};

use rustle_format::keywords::CONTROLLER_LOOKUPS;

use super::convert::{to_json, to_value};

static CONTROLLER: AtomicBool = AtomicBool::new(false);

/// Marks this process as the controller: lookups may read its files and
/// environment and run its commands.
pub fn on_controller() {
    CONTROLLER.store(true, Ordering::Relaxed);
}

/// Fails unless this process is the controller: for the filters and tests
/// that read its files or environment (`expanduser`, `is exists`...),
/// which Ansible runs there. `what` names them: "the 'exists' test".
pub(super) fn controller_only(what: &str) -> Result<(), Error> {
    if CONTROLLER.load(Ordering::Relaxed) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{what} runs on the controller, and this task runs in a runner on the host"),
        ))
    }
}

/// What a lookup sees of the task: its variables, and template rendering.
pub trait LookupCx {
    fn var(&self, name: &str) -> Option<Json>;
    fn var_names(&self) -> Vec<String>;
    /// Renders a template file's text with the task's variables and `extra`.
    fn render(&self, text: &str, extra: &Map<String, Json>) -> Result<String, String>;
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function(
        "lookup",
        |state: &State, name: String, terms: Rest<Value>, kw: Kwargs| {
            invoke(state, &name, terms, kw, false)
        },
    );
    env.add_function(
        "query",
        |state: &State, name: String, terms: Rest<Value>, kw: Kwargs| {
            invoke(state, &name, terms, kw, true)
        },
    );
    env.add_function(
        "q",
        |state: &State, name: String, terms: Rest<Value>, kw: Kwargs| {
            invoke(state, &name, terms, kw, true)
        },
    );
}

/// A template's view of the task for lookups.
struct StateCx<'a, 'b>(&'a State<'b, 'b>);

impl LookupCx for StateCx<'_, '_> {
    fn var(&self, name: &str) -> Option<Json> {
        self.0.lookup(name).and_then(|v| to_json(&v).ok())
    }

    fn var_names(&self) -> Vec<String> {
        self.0
            .known_variables()
            .into_iter()
            .map(|n| n.into_owned())
            .collect()
    }

    fn render(&self, text: &str, extra: &Map<String, Json>) -> Result<String, String> {
        let scope = self.0.lookup("vars").unwrap_or_default();
        let extra = to_value(&Json::Object(extra.clone()));
        let ctx = minijinja::context! { ..extra, ..scope };
        // The template lookup trims blocks by default (2.19).
        let opts = super::FileOptions {
            trim_blocks: true,
            lstrip_blocks: false,
        };
        super::render_text(self.0.env(), ctx, text, opts).map_err(|e| e.message)
    }
}

fn invoke(
    state: &State,
    name: &str,
    terms: Rest<Value>,
    kw: Kwargs,
    query: bool,
) -> Result<Value, Error> {
    let mut kwargs = Map::new();
    for key in kw.args() {
        let value: Value = kw.get(key)?;
        kwargs.insert(key.to_owned(), to_json(&value)?);
    }
    let wantlist = query
        || kwargs
            .remove("wantlist")
            .is_some_and(|v| v == Json::Bool(true));
    let errors = match kwargs.remove("errors") {
        Some(Json::String(e)) => e,
        _ => "strict".to_owned(),
    };
    let terms = terms.iter().map(to_json).collect::<Result<Vec<_>, _>>()?;
    if !known(name) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("The lookup plugin '{name}' was not found."),
        ));
    }
    let res = match run(&StateCx(state), name, terms, &kwargs, None) {
        Ok(res) => res,
        Err(_) if errors == "ignore" || errors == "warn" => {
            return Ok(if wantlist {
                Value::from(Vec::<Value>::new())
            } else {
                Value::from(())
            });
        }
        Err(msg) => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("The lookup plugin '{name}' failed: {msg}"),
            ));
        }
    };
    if wantlist || res.is_empty() {
        return Ok(to_value(&Json::Array(res)));
    }
    if res.len() == 1 {
        return Ok(to_value(&res[0]));
    }
    // Joined for backwards compatibility, when every value is a string.
    let strings: Option<Vec<&str>> = res.iter().map(Json::as_str).collect();
    Ok(match strings {
        Some(s) => Value::from(s.join(",")),
        None => to_value(&Json::Array(res)),
    })
}

/// The lookups rustle has.
const LOOKUPS: &[&str] = &[
    "csvfile",
    "dict",
    "env",
    "file",
    "fileglob",
    "first_found",
    "indexed_items",
    "ini",
    "inventory_hostnames",
    "items",
    "lines",
    "list",
    "nested",
    "password",
    "pipe",
    "sequence",
    "subelements",
    "template",
    "together",
    "vars",
    "varnames",
];

fn short(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}

fn known(name: &str) -> bool {
    LOOKUPS.contains(&short(name))
}

/// Runs lookup `name` on `terms` with its options; the list it returns.
/// `with_action` is the task's action when the lookup runs as its
/// `with_<lookup>` loop.
pub fn run(
    cx: &dyn LookupCx,
    name: &str,
    terms: Vec<Json>,
    kw: &Map<String, Json>,
    with_action: Option<&str>,
) -> Result<Vec<Json>, String> {
    let name = short(name);
    if CONTROLLER_LOOKUPS.contains(&name) && !CONTROLLER.load(Ordering::Relaxed) {
        return Err(format!(
            "the '{name}' lookup runs on the controller, and this task runs in a runner on the host"
        ));
    }
    let strings = || terms.iter().map(text).collect::<Vec<String>>();
    match name {
        "items" => Ok(terms
            .into_iter()
            .flat_map(|t| match t {
                Json::Array(inner) => inner,
                other => vec![other],
            })
            .collect()),
        "list" => Ok(match terms.as_slice() {
            [Json::Array(items)] => items.clone(),
            _ => terms,
        }),
        "dict" => terms
            .iter()
            .map(|t| match t {
                Json::Object(map) => Ok(map
                    .iter()
                    .map(|(k, v)| json!({"key": k, "value": v}))
                    .collect::<Vec<_>>()),
                _ => Err("with_dict expects a dict".to_owned()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.into_iter().flatten().collect()),
        "indexed_items" => Ok(flat(terms)
            .into_iter()
            .enumerate()
            .map(|(i, x)| json!([i, x]))
            .collect()),
        "together" => {
            let lists: Vec<Vec<Json>> = terms.into_iter().map(as_list).collect();
            Ok(crate::util::iter::zip_longest(&lists, &Json::Null)
                .into_iter()
                .map(Json::Array)
                .collect())
        }
        "nested" => {
            let lists: Vec<Vec<Json>> = terms.into_iter().map(as_list).collect();
            Ok(crate::util::iter::product(&lists)
                .into_iter()
                .map(Json::Array)
                .collect())
        }
        "subelements" => subelements(&terms, kw),
        "sequence" => {
            strings()
                .iter()
                .map(|t| sequence(t, kw))
                .try_fold(Vec::new(), |mut acc, r| {
                    acc.extend(r?);
                    Ok(acc)
                })
        }
        "vars" => strings()
            .into_iter()
            .map(|n| {
                cx.var(&n)
                    .or_else(|| kw.get("default").cloned())
                    .ok_or_else(|| format!("No variable named '{n}' was found"))
            })
            .collect(),
        "varnames" => {
            let mut names = cx.var_names();
            // `vars` is one of Ansible's available variables.
            if !names.iter().any(|n| n == "vars") {
                names.push("vars".to_owned());
            }
            names.sort();
            let mut out = Vec::new();
            for t in strings() {
                let re = regex::Regex::new(&t).map_err(|e| e.to_string())?;
                out.extend(
                    names
                        .iter()
                        .filter(|n| re.find(n).is_some_and(|m| m.start() == 0))
                        .map(|n| json!(n)),
                );
            }
            Ok(out)
        }
        "inventory_hostnames" => {
            let groups = cx.var("groups").unwrap_or_default();
            Ok(strings()
                .iter()
                .flat_map(|p| host_pattern(&groups, p))
                .map(Json::String)
                .collect())
        }
        "env" => Ok(strings()
            .into_iter()
            .map(|n| match std::env::var(&n) {
                Ok(v) => json!(v),
                Err(_) => kw.get("default").cloned().unwrap_or(json!("")),
            })
            .collect()),
        "file" => {
            let lstrip = kw.get("lstrip") == Some(&json!(true));
            let rstrip = kw.get("rstrip") != Some(&json!(false));
            strings()
                .iter()
                .map(|t| {
                    let path = find(cx, Some("files"), t).ok_or_else(|| not_found(t))?;
                    let mut s = read(&path)?;
                    if rstrip {
                        s.truncate(s.trim_end().len());
                    }
                    if lstrip {
                        s = s.trim_start().to_owned();
                    }
                    Ok(json!(s))
                })
                .collect()
        }
        "template" => {
            let extra = match kw.get("template_vars") {
                Some(Json::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            strings()
                .iter()
                .map(|t| {
                    let path = find(cx, Some("templates"), t).ok_or_else(|| {
                        format!("the template file {t} could not be found for the lookup")
                    })?;
                    Ok(json!(cx.render(&read(&path)?, &extra)?))
                })
                .collect()
        }
        "fileglob" => {
            let mut out = Vec::new();
            for t in strings() {
                let (dir, pattern) = match t.rsplit_once('/') {
                    Some((d, p)) => (Some(d), p),
                    None => (None, t.as_str()),
                };
                let dirs: Vec<String> = match dir {
                    Some(d) if d.starts_with('/') => vec![d.to_owned()],
                    _ => search_path(cx, Some("files"))
                        .into_iter()
                        .map(|base| match dir {
                            Some(d) => format!("{base}/{d}"),
                            None => base,
                        })
                        .collect(),
                };
                for d in dirs {
                    // Python's glob, as the filter's.
                    let files: Vec<Json> = super::paths::fileglob(&format!("{d}/{pattern}"))
                        .into_iter()
                        .map(Json::from)
                        .collect();
                    if !files.is_empty() {
                        out.extend(files);
                        break;
                    }
                }
            }
            Ok(out)
        }
        "first_found" => {
            // As `with_`, the subdirectory the task's action suggests; as a
            // lookup, none.
            let subdir = with_action.map(|action| {
                ["template", "var", "file"]
                    .into_iter()
                    .find(|s| action.contains(s))
                    .map_or("files", |s| match s {
                        "template" => "templates",
                        "var" => "vars",
                        _ => "files",
                    })
            });
            first_found(cx, &terms, kw, subdir)
        }
        "pipe" | "lines" => {
            let dir = cx
                .var("playbook_dir")
                .and_then(|d| d.as_str().map(str::to_owned));
            let mut out = Vec::new();
            for t in strings() {
                let mut cmd = std::process::Command::new("/bin/sh");
                cmd.args(["-c", &t]);
                if let Some(d) = &dir {
                    cmd.current_dir(d);
                }
                let ran = cmd.output().map_err(|e| format!("{t}: {e}"))?;
                if !ran.status.success() {
                    return Err(format!(
                        "lookup_plugin.{name}({t}) returned {}",
                        ran.status.code().unwrap_or(-1)
                    ));
                }
                let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
                if name == "pipe" {
                    out.push(json!(stdout.trim_end()));
                } else {
                    out.extend(stdout.lines().map(|l| json!(l)));
                }
            }
            Ok(out)
        }
        "ini" => strings().iter().map(|t| ini(cx, t, kw)).collect(),
        "csvfile" => strings().iter().map(|t| csvfile(cx, t, kw)).collect(),
        "password" => strings().iter().map(|t| password(cx, t)).collect(),
        _ => Err(format!("The lookup plugin '{name}' was not found.")),
    }
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn as_list(v: Json) -> Vec<Json> {
    match v {
        Json::Array(items) => items,
        other => vec![other],
    }
}

fn flat(terms: Vec<Json>) -> Vec<Json> {
    terms.into_iter().flat_map(as_list).collect()
}

/// `find_file_in_search_path`'s failure.
fn not_found(term: &str) -> String {
    format!("Unable to access the file '{term}': File not found. Use -vvvvv to see paths searched.")
}

/// A controller file's text; a vault-encrypted file is decrypted, as
/// Ansible's loader does for lookups.
fn read(path: &str) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("could not read {path}: {e}"))?;
    let bytes = crate::vault::open_file(bytes, path)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `ansible_search_path`: the role's directory (when in a role), then
/// the playbook's; each with `subdir` first.
fn search_path(cx: &dyn LookupCx, subdir: Option<&str>) -> Vec<String> {
    let mut bases = Vec::new();
    let dir = |n: &str| cx.var(n).and_then(|v| v.as_str().map(str::to_owned));
    let playbook = dir("playbook_dir").unwrap_or_else(|| ".".to_owned());
    if let Some(role) = dir("role_path") {
        let role = if role.starts_with('/') {
            role
        } else {
            format!("{playbook}/{role}")
        };
        bases.push(role);
    }
    bases.push(playbook);
    match subdir {
        Some(sub) => bases
            .into_iter()
            .flat_map(|b| [format!("{b}/{sub}"), b])
            .collect(),
        None => bases,
    }
}

/// `find_file_in_search_path`: the first existing `term` under the search
/// path (or `term` itself when absolute).
fn find(cx: &dyn LookupCx, subdir: Option<&str>, term: &str) -> Option<String> {
    if term.starts_with('/') {
        return Path::new(term).exists().then(|| term.to_owned());
    }
    search_path(cx, subdir)
        .into_iter()
        .map(|base| format!("{base}/{term}"))
        .find(|p| Path::new(p).exists())
}

fn first_found(
    cx: &dyn LookupCx,
    terms: &[Json],
    kw: &Map<String, Json>,
    subdir: Option<&str>,
) -> Result<Vec<Json>, String> {
    let list = |v: Option<&Json>| -> Vec<String> {
        match v {
            Some(Json::Array(items)) => items.iter().map(text).collect(),
            Some(Json::String(s)) => s
                .split([',', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut files = list(kw.get("files"));
    let mut paths = list(kw.get("paths"));
    let mut skip = kw.get("skip") == Some(&json!(true));
    for term in terms.iter().flat_map(|t| as_list(t.clone())) {
        match term {
            Json::Object(m) => {
                files.extend(list(m.get("files")));
                paths.extend(list(m.get("paths")));
                skip |= m.get("skip") == Some(&json!(true));
            }
            other => files.push(text(&other)),
        }
    }
    let candidates: Vec<String> = if paths.is_empty() {
        files
    } else {
        paths
            .iter()
            .flat_map(|p| files.iter().map(move |f| format!("{p}/{f}")))
            .collect()
    };
    for c in &candidates {
        if let Some(found) = find(cx, subdir, c) {
            return Ok(vec![json!(found)]);
        }
    }
    if skip {
        Ok(Vec::new())
    } else {
        Err("No file was found when using first_found.".to_owned())
    }
}

/// `sequence`: `start=1 end=5 stride=1 format=%d` or `1-5/1:%d`, `count=`.
fn sequence(term: &str, kw: &Map<String, Json>) -> Result<Vec<Json>, String> {
    let mut opts: Map<String, Json> = kw.clone();
    let mut shortcut = None;
    for word in term.split_whitespace() {
        match word.split_once('=') {
            Some((k, v)) => {
                opts.insert(k.to_owned(), json!(v));
            }
            None => shortcut = Some(word.to_owned()),
        }
    }
    let num = |k: &str| -> Result<Option<i64>, String> {
        match opts.get(k) {
            None => Ok(None),
            Some(v) => {
                let s = text(v);
                let s = s.trim();
                let parsed = if let Some(h) = s.strip_prefix("0x") {
                    i64::from_str_radix(h, 16)
                } else if let Some(o) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0")) {
                    if o.is_empty() {
                        Ok(0)
                    } else {
                        i64::from_str_radix(o, 8)
                    }
                } else {
                    s.parse()
                };
                parsed
                    .map(Some)
                    .map_err(|_| format!("can't parse {k}={s} as integer"))
            }
        }
    };
    let mut format = opts.get("format").map_or_else(|| "%d".to_owned(), text);
    let (mut start, mut end, mut stride) =
        (num("start")?.unwrap_or(1), num("end")?, num("stride")?);
    if let Some(s) = shortcut {
        let (range, fmt) = match s.split_once(':') {
            Some((r, f)) => (r.to_owned(), Some(f.to_owned())),
            None => (s.clone(), None),
        };
        let (range, st) = match range.split_once('/') {
            Some((r, st)) => (r.to_owned(), Some(st.parse().map_err(|_| "bad stride")?)),
            None => (range, None),
        };
        match range.split_once('-') {
            Some((a, b)) => {
                start = a
                    .parse()
                    .map_err(|_| format!("can't parse arg start={a}"))?;
                end = Some(b.parse().map_err(|_| format!("can't parse arg end={b}"))?);
            }
            None => end = Some(range.parse().map_err(|_| format!("can't parse {range}"))?),
        }
        stride = st.or(stride);
        if let Some(f) = fmt {
            format = f;
        }
    }
    let stride = stride.unwrap_or(1);
    let end = match (end, num("count")?) {
        (Some(_), Some(_)) => {
            return Err("can't specify both count and end in with_sequence".into());
        }
        (Some(e), None) => e,
        (None, Some(0)) => return Ok(Vec::new()),
        (None, Some(c)) => start + (c - 1) * stride,
        (None, None) => return Err("must specify count or end in with_sequence".into()),
    };
    if stride == 0 {
        return Ok(Vec::new());
    }
    if (stride > 0 && end < start) || (stride < 0 && end > start) {
        return Err("to count backwards make stride negative".into());
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(json!(printf(&format, i)?));
        i += stride;
    }
    Ok(out)
}

/// Python's `%` formatting of one integer: `%d`, `%02d`, `%x`, `%o`.
fn printf(format: &str, n: i64) -> Result<String, String> {
    let re = regex::Regex::new(r"%(0?)(\d*)([dixXo])").expect("a valid regex");
    let Some(m) = re.captures(format) else {
        return Err(format!("bad formatting string: {format}"));
    };
    let width: usize = m[2].parse().unwrap_or(0);
    let body = match &m[3] {
        "x" => format!("{n:x}"),
        "X" => format!("{n:X}"),
        "o" => format!("{n:o}"),
        _ => n.to_string(),
    };
    let padded = if m[1].is_empty() {
        format!("{body:>width$}")
    } else {
        format!("{body:0>width$}")
    };
    let whole = m.get(0).expect("group 0");
    Ok(format!(
        "{}{padded}{}",
        &format[..whole.start()],
        &format[whole.end()..]
    ))
}

fn subelements(terms: &[Json], kw: &Map<String, Json>) -> Result<Vec<Json>, String> {
    let (list, key, flags) = match terms {
        [list, Json::String(key)] => (list, key.as_str(), None),
        [list, Json::String(key), flags] => (list, key.as_str(), Some(flags)),
        _ => {
            return Err(
                "subelements lookup expects a list of two or three items, the list, the key and optionally flags"
                    .into(),
            );
        }
    };
    let skip_missing = flags
        .and_then(|f| f.get("skip_missing"))
        .or_else(|| kw.get("skip_missing"))
        == Some(&json!(true));
    let items = match list {
        Json::Array(items) => items.clone(),
        Json::Object(m) => m.values().cloned().collect(),
        _ => return Err("subelements lookup expects a dictionary or a list".into()),
    };
    let mut out = Vec::new();
    for item in items {
        let mut sub = Some(&item);
        for part in key.split('.') {
            sub = sub.and_then(|s| s.get(part));
        }
        match sub {
            Some(Json::Array(subs)) => {
                // The parent without the list it was paired from, as
                // Ansible yields it.
                let mut parent = item.clone();
                let mut at = Some(&mut parent);
                let parts: Vec<&str> = key.split('.').collect();
                for part in &parts[..parts.len() - 1] {
                    at = at.and_then(|p| p.get_mut(*part));
                }
                if let Some(Json::Object(m)) = at {
                    m.remove(parts[parts.len() - 1]);
                }
                out.extend(subs.iter().map(|s| json!([parent.clone(), s])));
            }
            Some(_) => {
                return Err(format!(
                    "the key {key} should point to a list, got '{}'",
                    text(sub.unwrap_or(&Json::Null))
                ));
            }
            None if skip_missing => {}
            None => {
                return Err(format!(
                    "could not find '{key}' key in iterated item '{}'",
                    text(&item)
                ));
            }
        }
    }
    Ok(out)
}

/// The hosts of `pattern` (`all`, groups, hosts, globs; `:` or `,` for
/// union, `&` intersection, `!` exclusion), from `groups`.
fn host_pattern(groups: &Json, pattern: &str) -> Vec<String> {
    let all: Vec<String> = groups
        .get("all")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let matching = |p: &str| -> Vec<String> {
        if p == "all" || p == "*" {
            return all.clone();
        }
        if let Some(hosts) = groups.get(p).and_then(Json::as_array) {
            return hosts
                .iter()
                .filter_map(|h| h.as_str().map(str::to_owned))
                .collect();
        }
        let glob = glob::Pattern::new(p).ok();
        all.iter()
            .filter(|h| *h == p || glob.as_ref().is_some_and(|g| g.matches(h)))
            .cloned()
            .collect()
    };
    let mut out: Vec<String> = Vec::new();
    for part in pattern.split([':', ',']).filter(|p| !p.is_empty()) {
        if let Some(p) = part.strip_prefix('&') {
            let keep = matching(p);
            out.retain(|h| keep.contains(h));
        } else if let Some(p) = part.strip_prefix('!') {
            let drop = matching(p);
            out.retain(|h| !drop.contains(h));
        } else {
            for h in matching(part) {
                if !out.contains(&h) {
                    out.push(h);
                }
            }
        }
    }
    out
}

/// Options given in the term (`key section=s file=f`) over keyword ones.
fn term_options(term: &str, kw: &Map<String, Json>) -> (String, Map<String, Json>) {
    let mut opts = kw.clone();
    let mut key = Vec::new();
    for word in shlex::split(term).unwrap_or_default() {
        match word.split_once('=') {
            Some((k, v)) if !key.is_empty() => {
                opts.insert(k.to_owned(), json!(v));
            }
            _ => key.push(word),
        }
    }
    (key.join(" "), opts)
}

fn ini(cx: &dyn LookupCx, term: &str, kw: &Map<String, Json>) -> Result<Json, String> {
    let (key, opts) = term_options(term, kw);
    let opt = |k: &str, d: &str| opts.get(k).map_or_else(|| d.to_owned(), text);
    let file = opt("file", "ansible.ini");
    let path = find(cx, Some("files"), &file).ok_or_else(|| not_found(&file))?;
    let content = read(&path)?;
    let properties = opt("type", "ini") == "properties";
    let section = opt("section", "global");
    let case = opts.get("case_sensitive") == Some(&json!(true));
    let norm = |k: &str| if case { k.to_owned() } else { k.to_lowercase() };
    let mut current = if properties {
        Some("java_properties".to_owned())
    } else {
        None
    };
    let want_section = if properties {
        "java_properties".to_owned()
    } else {
        section
    };
    let mut found = None;
    for line in content.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if !properties && l.starts_with('[') && l.ends_with(']') {
            current = Some(l[1..l.len() - 1].to_owned());
            continue;
        }
        if current.is_none() {
            return Err(format!(
                "File contains no section headers.\nfile: '<???>', line: 1\n'{}\\n'",
                line
            ));
        }
        if current.as_deref() != Some(want_section.as_str()) {
            continue;
        }
        let Some((k, v)) = l.split_once(['=', ':']) else {
            continue;
        };
        if norm(k.trim()) == norm(&key) {
            found = Some(v.trim().to_owned());
        }
    }
    Ok(match found {
        Some(v) => json!(v),
        None => opts.get("default").cloned().unwrap_or(json!("")),
    })
}

fn csvfile(cx: &dyn LookupCx, term: &str, kw: &Map<String, Json>) -> Result<Json, String> {
    let (key, opts) = term_options(term, kw);
    let opt = |k: &str, d: &str| opts.get(k).map_or_else(|| d.to_owned(), text);
    let file = opt("file", "ansible.csv");
    let path = find(cx, Some("files"), &file).ok_or_else(|| not_found(&file))?;
    let delimiter = match opt("delimiter", "TAB").as_str() {
        "TAB" | "\\t" => "\t".to_owned(),
        d => d.to_owned(),
    };
    let col: usize = opt("col", "1")
        .parse()
        .map_err(|_| "col must be an integer")?;
    for line in read(&path)?.lines() {
        let fields: Vec<&str> = line.split(delimiter.as_str()).collect();
        if fields.first() == Some(&key.as_str()) {
            return fields
                .get(col)
                .map(|f| json!(f))
                .ok_or_else(|| format!("no column {col} in {file}"));
        }
    }
    Ok(opts.get("default").cloned().unwrap_or(Json::Null))
}

/// `password`: the first line of the file, else a new random password
/// (`length`, `chars` of ascii_letters, digits and `.,:-_`) written to it.
fn password(cx: &dyn LookupCx, term: &str) -> Result<Json, String> {
    let (path, opts) = term_options(term, &Map::new());
    if path == "/dev/null" {
        return Ok(json!(random_password(&opts)?));
    }
    let path = if path.starts_with('/') {
        path
    } else {
        let dir = cx
            .var("playbook_dir")
            .and_then(|d| d.as_str().map(str::to_owned))
            .unwrap_or_else(|| ".".to_owned());
        format!("{dir}/{path}")
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let first = existing.lines().next().unwrap_or_default();
        let pw = first.split(" salt=").next().unwrap_or_default();
        return Ok(json!(pw));
    }
    let pw = random_password(&opts)?;
    if let Some(parent) = Path::new(&path).parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(&path, format!("{pw}\n")).map_err(|e| e.to_string())?;
    Ok(json!(pw))
}

fn random_password(opts: &Map<String, Json>) -> Result<String, String> {
    let length: usize = opts.get("length").map_or(Ok(20), |l| {
        text(l)
            .parse()
            .map_err(|_| "length must be an integer".to_owned())
    })?;
    let mut chars = String::new();
    let sets = opts
        .get("chars")
        .map_or_else(|| "ascii_letters,digits,.,:-_".to_owned(), text);
    for set in sets.split(',') {
        match set {
            "ascii_letters" => {
                chars.push_str("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
            }
            "ascii_lowercase" => chars.push_str("abcdefghijklmnopqrstuvwxyz"),
            "ascii_uppercase" => chars.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            "digits" => chars.push_str("0123456789"),
            "hexdigits" => chars.push_str("0123456789abcdefABCDEF"),
            "punctuation" => chars.push_str("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
            "" => chars.push(','),
            other => chars.push_str(other),
        }
    }
    let pool: Vec<char> = chars.chars().collect();
    let mut bytes = vec![0u8; length * 2];
    if rustle_vault::random_bytes(&mut bytes).is_err() || pool.is_empty() {
        return Err("cannot generate a password".into());
    }
    Ok(bytes
        .chunks(2)
        .map(|c| pool[(usize::from(c[0]) << 8 | usize::from(c[1])) % pool.len()])
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    #[test]
    fn sequences_as_ansible_writes_them() {
        let seq = |term: &str| super::sequence(term, &Map::new());
        assert_eq!(
            seq("start=1 end=5 stride=2").unwrap(),
            vec![json!("1"), json!("3"), json!("5")]
        );
        assert_eq!(
            seq("2-4").unwrap(),
            vec![json!("2"), json!("3"), json!("4")]
        );
        assert_eq!(
            seq("count=2 format=host%02d").unwrap(),
            vec![json!("host01"), json!("host02")]
        );
        assert_eq!(
            seq("start=0x0a end=0x0b format=%x").unwrap(),
            vec![json!("a"), json!("b")]
        );
        assert_eq!(seq("start=3 end=1 stride=-1").unwrap().len(), 3);
        assert!(
            seq("start=3 end=1").is_err(),
            "counting down needs a negative stride"
        );
        assert!(seq("end=2 count=2").is_err());
    }

    #[test]
    fn host_patterns_over_groups() {
        let groups = json!({
            "all": ["a1", "a2", "b1"],
            "web": ["a1", "a2"],
            "db": ["a2", "b1"],
        });
        let hosts = |p: &str| super::host_pattern(&groups, p);
        assert_eq!(hosts("all"), ["a1", "a2", "b1"]);
        assert_eq!(hosts("web:db"), ["a1", "a2", "b1"]);
        assert_eq!(hosts("web:&db"), ["a2"]);
        assert_eq!(hosts("all:!web"), ["b1"]);
        assert_eq!(hosts("a*"), ["a1", "a2"]);
    }
}
