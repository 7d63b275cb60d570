//! Inventories: INI and YAML sources into `rustle_format::Inventory`, with
//! the implicit `all` and `ungrouped` groups and Ansible's value typing.

use std::path::{Path, PathBuf};

use rustle_format::{Group, Host, Inventory, Map, Value, VaultSecret};

use crate::error::{Located, ParseError};
use crate::yaml::{self, Kind, Mark, Node};

/// Builds one inventory from every source, in order, then adds the
/// `group_vars/` and `host_vars/` found beside each source and beside the
/// playbook (the playbook's win).
pub fn load(
    sources: &[String],
    playbook_dir: &Path,
    secrets: &[VaultSecret],
) -> Result<Inventory, ParseError> {
    let mut b = Builder::default();
    let mut var_dirs = Vec::new();
    for s in sources {
        let path = Path::new(s);
        if path.is_dir() {
            for file in inventory_dir_files(path)? {
                load_file(&mut b, &file)?;
            }
            var_dirs.push(path.to_path_buf());
        } else {
            load_file(&mut b, path)?;
            var_dirs.push(path.parent().unwrap_or(Path::new(".")).to_path_buf());
        }
    }
    let mut inv = b.finish();
    var_dirs.push(playbook_dir.to_path_buf());
    var_dirs.dedup();
    for dir in var_dirs {
        add_vars_dirs(&mut inv, &dir, secrets)?;
    }
    inv.sources = sources.to_vec();
    Ok(inv)
}

fn load_file(b: &mut Builder, path: &Path) -> Result<(), ParseError> {
    let text = std::fs::read_to_string(path).map_err(|source| ParseError::Read {
        path: path.to_owned(),
        source,
    })?;
    crate::not_vaulted(path, &text)?;
    let yaml_like = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml" | "json")
    );
    if yaml_like {
        load_yaml(b, path, &text)
    } else {
        load_ini(b, path, &text)
    }
}

/// Extensions Ansible's inventory ignores in a directory.
const IGNORED_EXTENSIONS: &[&str] = &[
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// The inventory files of a directory, sorted, without `group_vars`,
/// `host_vars`, hidden files and ignored extensions.
fn inventory_dir_files(dir: &Path) -> Result<Vec<PathBuf>, ParseError> {
    let read = std::fs::read_dir(dir).map_err(|source| ParseError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut files: Vec<PathBuf> = read
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            !name.starts_with('.') && !IGNORED_EXTENSIONS.iter().any(|x| name.ends_with(x))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Variables from `DIR/group_vars/NAME` and `DIR/host_vars/NAME`: a file
/// with no extension or `.yml`/`.yaml`/`.json`, or a directory of such
/// files read in sorted order.
fn add_vars_dirs(
    inv: &mut Inventory,
    dir: &Path,
    secrets: &[VaultSecret],
) -> Result<(), ParseError> {
    for g in &mut inv.groups {
        let vars = vars_for(&dir.join("group_vars"), &g.name, secrets)?;
        g.group_vars.extend(vars);
    }
    for h in &mut inv.hosts {
        let vars = vars_for(&dir.join("host_vars"), &h.name, secrets)?;
        h.vars.extend(vars);
    }
    for name in var_names(&dir.join("group_vars")) {
        if inv.group(&name).is_none() {
            let vars = vars_for(&dir.join("group_vars"), &name, secrets)?;
            extend_named(&mut inv.run_time_group_vars, name, vars);
        }
    }
    for name in var_names(&dir.join("host_vars")) {
        if inv.host(&name).is_none() {
            let vars = vars_for(&dir.join("host_vars"), &name, secrets)?;
            extend_named(&mut inv.run_time_host_vars, name, vars);
        }
    }
    Ok(())
}

/// The names `group_vars/` (or `host_vars/`) has variables for: its
/// files without their extension, and its directories.
fn var_names(base: &Path) -> std::collections::BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Default::default();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                return None;
            }
            if e.path().is_dir() {
                return Some(name);
            }
            match name.rsplit_once('.') {
                Some((stem, "yml" | "yaml" | "json")) => Some(stem.to_owned()),
                Some(_) => None,
                None => Some(name),
            }
        })
        .collect()
}

fn extend_named(all: &mut Map<String, Value>, name: String, vars: Map<String, Value>) {
    if vars.is_empty() {
        return;
    }
    if let Value::Object(m) = all.entry(name).or_insert_with(|| Value::Object(Map::new())) {
        m.extend(vars);
    }
}

fn vars_for(
    base: &Path,
    name: &str,
    secrets: &[VaultSecret],
) -> Result<Map<String, Value>, ParseError> {
    let mut out = Map::new();
    if !base.is_dir() {
        return Ok(out);
    }
    let mut files = Vec::new();
    for ext in ["", ".yml", ".yaml", ".json"] {
        let p = base.join(format!("{name}{ext}"));
        if p.is_file() {
            files.push(p);
        }
    }
    let sub = base.join(name);
    if sub.is_dir() {
        let mut inside = Vec::new();
        collect_var_files(&sub, &mut inside);
        inside.sort();
        files.extend(inside);
    }
    for f in files {
        out.extend(crate::vars_file(&f, secrets)?);
    }
    Ok(out)
}

fn collect_var_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect_var_files(&p, out);
        } else if ["", "yml", "yaml", "json"]
            .contains(&p.extension().and_then(|x| x.to_str()).unwrap_or(""))
        {
            out.push(p);
        }
    }
}

#[derive(Default)]
struct Builder {
    hosts: Vec<Host>,
    groups: Vec<Group>,
}

impl Builder {
    fn group(&mut self, name: &str) -> &mut Group {
        let i = match self.groups.iter().position(|g| g.name == name) {
            Some(i) => i,
            None => {
                self.groups.push(Group {
                    name: name.to_owned(),
                    hosts: Vec::new(),
                    children: Vec::new(),
                    vars: Map::new(),
                    group_vars: Map::new(),
                });
                self.groups.len() - 1
            }
        };
        &mut self.groups[i]
    }

    fn host(&mut self, name: &str, group: &str, vars: Map<String, Value>) {
        match self.hosts.iter_mut().find(|h| h.name == name) {
            Some(h) => h.vars.extend(vars),
            None => self.hosts.push(Host {
                name: name.to_owned(),
                vars,
                implicit: false,
            }),
        }
        let g = self.group(group);
        if !g.hosts.iter().any(|h| h == name) {
            g.hosts.push(name.to_owned());
        }
    }

    /// Adds `all` (parent of every top-level group) and `ungrouped` (hosts
    /// in no other group), as Ansible does.
    fn finish(mut self) -> Inventory {
        self.group("all");
        self.group("ungrouped");
        let in_group: Vec<String> = self
            .groups
            .iter()
            .filter(|g| g.name != "all" && g.name != "ungrouped")
            .flat_map(|g| g.hosts.iter().cloned())
            .collect();
        let all_hosts: Vec<String> = self.hosts.iter().map(|h| h.name.clone()).collect();
        let ungrouped = self.group("ungrouped");
        for h in &all_hosts {
            if !in_group.contains(h) && !ungrouped.hosts.contains(h) {
                ungrouped.hosts.push(h.clone());
            }
        }
        ungrouped.hosts.retain(|h| !in_group.contains(h));
        let children: Vec<String> = self
            .groups
            .iter()
            .filter(|g| g.name != "all")
            .filter(|g| !self.groups.iter().any(|p| p.children.contains(&g.name)))
            .map(|g| g.name.clone())
            .collect();
        let all = self.group("all");
        all.hosts.clear();
        for c in children {
            if !all.children.contains(&c) {
                all.children.push(c);
            }
        }
        Inventory {
            sources: Vec::new(),
            hosts: self.hosts,
            groups: self.groups,
            ..Default::default()
        }
    }
}

fn located(path: &Path, text: &str, line: usize, msg: String) -> ParseError {
    ParseError::Syntax(Located::new(path, text, Mark { line, col: 1 }, msg))
}

fn load_ini(b: &mut Builder, path: &Path, text: &str) -> Result<(), ParseError> {
    enum Section {
        Hosts(String),
        Children(String),
        Vars(String),
    }
    let mut section = Section::Hosts("ungrouped".to_owned());
    let mut pending_vars: Vec<(String, usize)> = Vec::new();
    let mut pending_children: Vec<(String, String, usize)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(head) = line.strip_prefix('[') {
            let Some(head) = head.strip_suffix(']') else {
                return Err(located(
                    path,
                    text,
                    lineno,
                    format!("Invalid section entry: '{line}'"),
                ));
            };
            section = match head.split_once(':') {
                None => {
                    b.group(head);
                    Section::Hosts(head.to_owned())
                }
                Some((g, "children")) => {
                    b.group(g);
                    Section::Children(g.to_owned())
                }
                Some((g, "vars")) => {
                    pending_vars.push((g.to_owned(), lineno));
                    Section::Vars(g.to_owned())
                }
                Some((_, kind)) => {
                    return Err(located(
                        path,
                        text,
                        lineno,
                        format!("Section [{head}] has unknown type: {kind}"),
                    ));
                }
            };
            continue;
        }
        match &section {
            Section::Hosts(group) => {
                let tokens = shlex::split(line).ok_or_else(|| {
                    located(
                        path,
                        text,
                        lineno,
                        format!("Unbalanced quotes in host line: '{line}'"),
                    )
                })?;
                let (pattern, rest) = tokens.split_first().expect("a non-empty line has a token");
                let mut vars = Map::new();
                for t in rest {
                    let Some((k, v)) = t.split_once('=') else {
                        return Err(located(
                            path,
                            text,
                            lineno,
                            format!("Expected key=value host variable assignment, got: {t}"),
                        ));
                    };
                    vars.insert(k.to_owned(), typed_value(v));
                }
                let (pattern, port) = split_port(pattern);
                if let Some(port) = port {
                    vars.insert("ansible_port".to_owned(), Value::from(port));
                }
                let names =
                    expand_ranges(pattern).map_err(|msg| located(path, text, lineno, msg))?;
                for name in names {
                    b.host(&name, group, vars.clone());
                }
            }
            Section::Children(group) => {
                let child = line.split_whitespace().next().unwrap_or(line).to_owned();
                pending_children.push((group.clone(), child, lineno));
            }
            Section::Vars(group) => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(located(
                        path,
                        text,
                        lineno,
                        format!("Expected key=value, got: {line}"),
                    ));
                };
                b.group(group)
                    .vars
                    .insert(k.trim().to_owned(), typed_value(v.trim()));
            }
        }
    }
    // Forward references are allowed; undefined names are errors at the end.
    for (parent, child, lineno) in pending_children {
        if !b.groups.iter().any(|g| g.name == child) {
            return Err(located(
                path,
                text,
                lineno,
                format!("{parent}:children references undefined group: {child}"),
            ));
        }
        let p = b.group(&parent);
        if !p.children.contains(&child) {
            p.children.push(child);
        }
    }
    if let Some((g, lineno)) = pending_vars
        .into_iter()
        .find(|(g, _)| !b.groups.iter().any(|x| &x.name == g) && g != "all")
    {
        return Err(located(
            path,
            text,
            lineno,
            format!("{g}:vars for undefined group"),
        ));
    }
    Ok(())
}

/// `host:2222` -> (`host`, 2222); IPv6 and range patterns are left alone.
fn split_port(pattern: &str) -> (&str, Option<u16>) {
    if pattern.matches(':').count() == 1
        && !pattern.contains('[')
        && let Some((h, p)) = pattern.split_once(':')
        && let Ok(port) = p.parse()
    {
        return (h, Some(port));
    }
    (pattern, None)
}

/// `web[01:10]`, `db-[a:f]`, `x[1:10:2]`, several ranges recursively.
pub fn expand_ranges(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_owned()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|c| open + c)
        .ok_or_else(|| format!("Unbalanced '[' in host pattern '{pattern}'"))?;
    let (head, body, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let parts: Vec<&str> = body.split(':').collect();
    let (start, end, step) = match parts.as_slice() {
        [s, e] => (*s, *e, 1usize),
        [s, e, st] => (
            *s,
            *e,
            st.parse()
                .map_err(|_| format!("invalid range step in '{pattern}'"))?,
        ),
        _ => return Ok(vec![pattern.to_owned()]),
    };
    let mut items = Vec::new();
    if let (Ok(a), Ok(z)) = (start.parse::<u64>(), end.parse::<u64>()) {
        let width = if start.starts_with('0') && start.len() > 1 {
            start.len()
        } else {
            0
        };
        if width > 0 && start.len() != end.len() {
            return Err(format!("host range must have equal widths: '{pattern}'"));
        }
        for n in (a..=z).step_by(step.max(1)) {
            items.push(format!("{n:0width$}"));
        }
    } else if start.len() == 1 && end.len() == 1 {
        let (a, z) = (start.as_bytes()[0], end.as_bytes()[0]);
        for c in (a..=z).step_by(step.max(1)) {
            items.push((c as char).to_string());
        }
    } else {
        return Err(format!("invalid host range in '{pattern}'"));
    }
    let mut out = Vec::new();
    for item in items {
        for rest in expand_ranges(tail)? {
            out.push(format!("{head}{item}{rest}"));
        }
    }
    Ok(out)
}

/// INI values go through Python's `literal_eval` in Ansible, falling back
/// to the raw text: `23` is an int, `True` a bool, `'x'` the string x,
/// while `yes` and `false` stay strings.
pub fn typed_value(v: &str) -> Value {
    let s = v.trim();
    if let Ok(i) = s.parse::<i64>() {
        return Value::from(i);
    }
    if s.contains('.')
        && let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    match s {
        "True" => return Value::Bool(true),
        "False" => return Value::Bool(false),
        "None" => return Value::Null,
        _ => {}
    }
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        return Value::String(s[1..s.len() - 1].to_owned());
    }
    if (s.starts_with('[') || s.starts_with('{'))
        && let Ok(v) = serde_json::from_str::<Value>(s)
    {
        return v;
    }
    Value::String(v.to_owned())
}

fn load_yaml(b: &mut Builder, path: &Path, text: &str) -> Result<(), ParseError> {
    let err = |mark: Mark, msg: String| ParseError::Syntax(Located::new(path, text, mark, msg));
    let Some(root) = yaml::load_one(text).map_err(|e| err(e.mark, e.msg))? else {
        return Ok(());
    };
    let Some(pairs) = root.as_map() else {
        return Err(err(
            root.mark,
            format!(
                "Invalid inventory: expected a mapping, got {}",
                root.type_name()
            ),
        ));
    };
    for (k, v) in pairs {
        yaml_group(b, &k.key_string(), v, &err)?;
    }
    Ok(())
}

fn yaml_group(
    b: &mut Builder,
    name: &str,
    node: &Node,
    err: &dyn Fn(Mark, String) -> ParseError,
) -> Result<(), ParseError> {
    b.group(name);
    let Some(pairs) = node.as_map() else {
        if node.is_null() {
            return Ok(());
        }
        return Err(err(
            node.mark,
            format!("Invalid group '{name}': expected a mapping"),
        ));
    };
    for (k, v) in pairs {
        match (k.key_string().as_str(), &v.kind) {
            (_, Kind::Null) => {}
            ("hosts", Kind::Map(hosts)) => {
                for (hk, hv) in hosts {
                    let vars = match hv.to_json() {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    };
                    let (pattern, port) = split_port(hk.as_str().unwrap_or_default());
                    let mut vars = vars;
                    if let Some(port) = port {
                        vars.insert("ansible_port".to_owned(), Value::from(port));
                    }
                    for h in expand_ranges(pattern).map_err(|m| err(hk.mark, m))? {
                        b.host(&h, name, vars.clone());
                    }
                }
            }
            ("vars", Kind::Map(_)) => {
                if let Value::Object(m) = v.to_json() {
                    b.group(name).vars.extend(m);
                }
            }
            ("children", Kind::Map(children)) => {
                for (ck, cv) in children {
                    let child = ck.key_string();
                    yaml_group(b, &child, cv, err)?;
                    let g = b.group(name);
                    if !g.children.contains(&child) {
                        g.children.push(child);
                    }
                }
            }
            (key, _) => {
                return Err(err(
                    k.mark,
                    format!(
                        "Invalid key '{key}' in group '{name}': expected hosts, vars or children"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Ansible's implicit localhost: used when a play names `localhost` and
/// the inventory has no such host.
pub fn implicit_localhost() -> Host {
    let mut vars = Map::new();
    vars.insert("ansible_connection".to_owned(), Value::from("local"));
    Host {
        name: "localhost".to_owned(),
        vars,
        implicit: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            expand_ranges("web[01:03]").unwrap(),
            ["web01", "web02", "web03"]
        );
        assert_eq!(expand_ranges("x[1:5:2]y").unwrap(), ["x1y", "x3y", "x5y"]);
        assert_eq!(
            expand_ranges("[a:c]-[1:2]").unwrap(),
            ["a-1", "a-2", "b-1", "b-2", "c-1", "c-2"]
        );
    }

    #[test]
    fn ini_value_typing() {
        let got: Vec<String> = [
            "23", "True", "false", "yes", "'042'", "1.5", "a b", "[1, 2]",
        ]
        .iter()
        .map(|v| typed_value(v).to_string())
        .collect();
        assert_eq!(
            got,
            [
                "23",
                "true",
                "\"false\"",
                "\"yes\"",
                "\"042\"",
                "1.5",
                "\"a b\"",
                "[1,2]"
            ]
        );
    }

    #[test]
    fn ini_groups_children_vars_and_ungrouped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts");
        std::fs::write(
            &p,
            "lone a=1\n[web]\nweb[1:2] ansible_port=22\n[db]\ndb1:2222\n[prod:children]\nweb\ndb\n[prod:vars]\nenv=prod\n",
        )
        .unwrap();
        let inv = load(&[p.display().to_string()], dir.path(), &[]).unwrap();
        let groups: Vec<String> = inv
            .groups
            .iter()
            .map(|g| format!("{} hosts={:?} children={:?}", g.name, g.hosts, g.children))
            .collect();
        expect_test::expect![[r#"
            ungrouped hosts=["lone"] children=[]
            web hosts=["web1", "web2"] children=[]
            db hosts=["db1"] children=[]
            prod hosts=[] children=["web", "db"]
            all hosts=[] children=["ungrouped", "prod"]"#]]
        .assert_eq(&groups.join("\n"));
        assert_eq!(inv.host("db1").unwrap().vars["ansible_port"], 2222);
    }

    #[test]
    fn undefined_child_group_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts");
        std::fs::write(&p, "[a:children]\nnope\n").unwrap();
        let err = load(&[p.display().to_string()], dir.path(), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("a:children references undefined group: nope"),
            "{err}"
        );
        assert!(err.contains("line 2, column 1"), "{err}");
    }
}
