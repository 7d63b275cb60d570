//! Python `re` conventions the modules that port Ansible's Python need.

/// Python's `match.expand(template)` (and `re.sub`'s replacement): `\1`
/// and `\g<name>` (or `\g<1>`) become the groups, `\n`, `\t`, `\r` and
/// `\\` their characters; anything else stays as written.
pub fn expand(caps: &regex::Captures, template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let digits: String = tail
            .chars()
            .take_while(char::is_ascii_digit)
            .take(2)
            .collect();
        if !digits.is_empty() {
            let n: usize = digits.parse().unwrap_or(0);
            out.push_str(caps.get(n).map_or("", |m| m.as_str()));
            rest = &tail[digits.len()..];
        } else if let Some(named) = tail.strip_prefix("g<")
            && let Some(end) = named.find('>')
        {
            let name = &named[..end];
            let group = match name.parse::<usize>() {
                Ok(n) => caps.get(n),
                Err(_) => caps.name(name),
            };
            out.push_str(group.map_or("", |m| m.as_str()));
            rest = &named[end + 1..];
        } else if let Some(c) = tail.chars().next().and_then(escape) {
            out.push(c);
            rest = &tail[1..];
        } else {
            out.push('\\');
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn escape(c: char) -> Option<char> {
    match c {
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        '\\' => Some('\\'),
        _ => None,
    }
}
