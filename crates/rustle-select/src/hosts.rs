//! Host patterns as Ansible reads them (`all`, `*`, globs, `~regex`,
//! groups, unions with `:`/`,`, intersections `:&`, exclusions `:!`,
//! subscripts `group[0]`, `group[1:3]`), over a document's inventory.

use rustle_format::Inventory;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PatternError {
    #[error("invalid regular expression in host pattern '{pattern}': {msg}")]
    Regex { pattern: String, msg: String },
    #[error("invalid subscript in host pattern '{0}'")]
    Subscript(String),
}

/// The hosts `pattern` selects, in inventory order per term, without
/// duplicates. Matches nothing rather than failing for unknown names, as
/// Ansible does (it warns).
pub fn resolve(inv: &Inventory, pattern: &str) -> Result<Vec<String>, PatternError> {
    let mut terms = split_terms(pattern);
    // Ansible applies plain terms first, then `&`, then `!`.
    terms.sort_by_key(|t| match t.as_bytes().first() {
        Some(b'&') => 1,
        Some(b'!') => 2,
        _ => 0,
    });
    if terms.first().is_none_or(|t| t.starts_with(['&', '!'])) {
        terms.insert(0, "all".to_owned());
    }
    let mut hosts: Vec<String> = Vec::new();
    for term in &terms {
        if let Some(t) = term.strip_prefix('&') {
            let keep = term_hosts(inv, t)?;
            hosts.retain(|h| keep.contains(h));
        } else if let Some(t) = term.strip_prefix('!') {
            let drop = term_hosts(inv, t)?;
            hosts.retain(|h| !drop.contains(h));
        } else {
            for h in term_hosts(inv, term)? {
                if !hosts.contains(&h) {
                    hosts.push(h);
                }
            }
        }
    }
    Ok(hosts)
}

/// Splits on `,` and on `:` outside `[...]` subscripts.
fn split_terms(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let sep_colon = !pattern.contains(',');
    for c in pattern.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        if depth == 0 && (c == ',' || (c == ':' && sep_colon)) {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

fn term_hosts(inv: &Inventory, term: &str) -> Result<Vec<String>, PatternError> {
    let (name, subscript) = match term.find('[') {
        Some(i) if term.ends_with(']') && !term.starts_with('~') => {
            (&term[..i], Some(&term[i + 1..term.len() - 1]))
        }
        _ => (term, None),
    };
    let hosts = match_name(inv, name)?;
    match subscript {
        None => Ok(hosts),
        Some(s) => {
            apply_subscript(&hosts, s).ok_or_else(|| PatternError::Subscript(term.to_owned()))
        }
    }
}

fn match_name(inv: &Inventory, name: &str) -> Result<Vec<String>, PatternError> {
    let explicit = || inv.hosts.iter().filter(|h| !h.implicit);
    if name == "all" || name == "*" {
        return Ok(explicit().map(|h| h.name.clone()).collect());
    }
    if inv.group(name).is_some() {
        return Ok(inv.group_members(name));
    }
    if let Some(h) = inv.host(name) {
        return Ok(vec![h.name.clone()]);
    }
    let matcher: Box<dyn Fn(&str) -> bool> = if let Some(re) = name.strip_prefix('~') {
        let re = regex::Regex::new(re).map_err(|e| PatternError::Regex {
            pattern: name.to_owned(),
            msg: e.to_string(),
        })?;
        Box::new(move |s: &str| re.is_match(s))
    } else if name.contains(['*', '?']) {
        Box::new(move |s: &str| glob(name, s))
    } else {
        return Ok(Vec::new());
    };
    let mut out: Vec<String> = Vec::new();
    for g in inv.groups.iter().filter(|g| matcher(&g.name)) {
        for h in inv.group_members(&g.name) {
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    for h in explicit().filter(|h| matcher(&h.name)) {
        if !out.contains(&h.name) {
            out.push(h.name.clone());
        }
    }
    Ok(out)
}

/// fnmatch with `*` and `?`.
fn glob(pat: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(pat.as_bytes(), s.as_bytes())
}

/// `[0]`, `[-1]`, `[1:3]` (inclusive end, as Ansible), `[:2]`, `[1:]`.
fn apply_subscript(hosts: &[String], s: &str) -> Option<Vec<String>> {
    let idx = |t: &str, default: i64| -> Option<i64> {
        if t.is_empty() {
            Some(default)
        } else {
            t.parse().ok()
        }
    };
    let n = hosts.len() as i64;
    let norm = |i: i64| if i < 0 { n + i } else { i };
    match s.split_once(':') {
        None => {
            let i = norm(idx(s, 0)?);
            Some(
                hosts
                    .get(usize::try_from(i).ok()?)
                    .cloned()
                    .into_iter()
                    .collect(),
            )
        }
        Some((a, b)) => {
            let a = norm(idx(a, 0)?).max(0);
            let b = norm(idx(b, -1)?).min(n - 1);
            Some(
                (a..=b)
                    .filter_map(|i| hosts.get(i as usize).cloned())
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustle_format::{Group, Host};

    fn inv() -> Inventory {
        let host = |n: &str| Host {
            name: n.to_owned(),
            vars: Default::default(),
            implicit: false,
        };
        let group = |n: &str, hosts: &[&str], children: &[&str]| Group {
            name: n.to_owned(),
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            children: children.iter().map(|s| s.to_string()).collect(),
            vars: Default::default(),
            group_vars: Default::default(),
        };
        Inventory {
            sources: vec![],
            hosts: ["web1", "web2", "db1", "lone"].map(host).to_vec(),
            groups: vec![
                group("web", &["web1", "web2"], &[]),
                group("db", &["db1"], &[]),
                group("prod", &[], &["web", "db"]),
                group("all", &[], &["ungrouped", "prod"]),
                group("ungrouped", &["lone"], &[]),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn patterns() {
        let inv = inv();
        let cases = [
            "all",
            "*",
            "web",
            "web:db",
            "prod:!db",
            "prod:&db",
            "web[0]",
            "prod[1:2]",
            "web[-1]",
            "~^w.*2$",
            "w*",
            "db,lone",
            "!web",
            "nosuch",
            "web1:web1",
        ];
        let got: Vec<String> = cases
            .iter()
            .map(|p| format!("{p} -> {}", resolve(&inv, p).unwrap().join(" ")))
            .collect();
        let expected = "all -> web1 web2 db1 lone
* -> web1 web2 db1 lone
web -> web1 web2
web:db -> web1 web2 db1
prod:!db -> web1 web2
prod:&db -> db1
web[0] -> web1
prod[1:2] -> web2 db1
web[-1] -> web2
~^w.*2$ -> web2
w* -> web1 web2
db,lone -> db1 lone
!web -> db1 lone
nosuch -> 
web1:web1 -> web1";
        assert_eq!(got.join("\n"), expected);
    }
}
