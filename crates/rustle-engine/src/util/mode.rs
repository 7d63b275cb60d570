//! File modes as Ansible accepts them: an integer (YAML `0644` arrives as
//! 420), an octal string (`"0644"`, `"755"`) or a symbolic one
//! (`u=rw,g=r,o=r`, `u+x`, `a-w`, `g=u`).

use serde_json::Value;

/// The mode `spec` asks for, given the current mode (`0` for a new file)
/// and whether the path is a directory (for `X`).
pub fn parse_mode(spec: &Value, current: u32, is_dir: bool) -> Result<u32, String> {
    match spec {
        Value::Number(n) => n
            .as_u64()
            .filter(|m| *m <= 0o7777)
            .map(|m| m as u32)
            .ok_or_else(|| format!("mode must be in octal or symbolic form, got {n}")),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) => {
            u32::from_str_radix(s, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| format!("mode must be in octal or symbolic form, got {s}"))
        }
        Value::String(s) => symbolic(s, current, is_dir).ok_or_else(|| {
            format!("mode must be in octal or symbolic form: bad symbolic permission for mode: {s}")
        }),
        other => Err(format!(
            "mode must be in octal or symbolic form, got {other}"
        )),
    }
}

/// `"0644"`, as Ansible reports modes.
pub fn format_mode(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

fn symbolic(spec: &str, mut mode: u32, is_dir: bool) -> Option<u32> {
    for clause in spec.split(',') {
        let op_at = clause.find(['=', '+', '-'])?;
        let (who, rest) = clause.split_at(op_at);
        let who_mask = who_mask(who)?;
        let mut ops = rest;
        // A clause may chain operators: `u+r-w`.
        while let Some(op) = ops.chars().next() {
            let perms_end = ops[1..].find(['=', '+', '-']).map_or(ops.len(), |i| i + 1);
            let bits = perm_bits(&ops[1..perms_end], mode, is_dir)? & who_mask;
            mode = match op {
                '=' => (mode & !who_mask) | bits,
                '+' => mode | bits,
                _ => mode & !bits,
            };
            ops = &ops[perms_end..];
        }
    }
    Some(mode)
}

/// The bits a `who` part covers; empty means all.
fn who_mask(who: &str) -> Option<u32> {
    if who.is_empty() {
        return Some(0o7777);
    }
    who.chars().try_fold(0, |mask, c| {
        Some(
            mask | match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return None,
            },
        )
    })
}

/// Permission letters as bits for all of u, g and o (masked by `who` later).
fn perm_bits(perms: &str, mode: u32, is_dir: bool) -> Option<u32> {
    // `g=u` style: copy another class's bits.
    if let Some(bits) = copy_class(perms, mode) {
        return Some(bits);
    }
    perms.chars().try_fold(0, |bits, c| {
        Some(
            bits | match c {
                'r' => 0o444,
                'w' => 0o222,
                'x' => 0o111,
                'X' if is_dir || mode & 0o111 != 0 => 0o111,
                'X' => 0,
                's' => 0o6000,
                't' => 0o1000,
                _ => return None,
            },
        )
    })
}

fn copy_class(perms: &str, mode: u32) -> Option<u32> {
    let rwx = match perms {
        "u" => (mode >> 6) & 7,
        "g" => (mode >> 3) & 7,
        "o" => mode & 7,
        _ => return None,
    };
    Some(rwx * 0o111)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(spec: Value, current: u32) -> u32 {
        parse_mode(&spec, current, false).unwrap()
    }

    #[test]
    fn numeric_and_octal_forms() {
        assert_eq!(p(json!(420), 0), 0o644);
        assert_eq!(p(json!("0644"), 0), 0o644);
        assert_eq!(p(json!("755"), 0), 0o755);
        assert_eq!(p(json!("1777"), 0), 0o1777);
        assert!(parse_mode(&json!("0999"), 0, false).is_err());
        assert!(parse_mode(&json!(true), 0, false).is_err());
        assert_eq!(format_mode(0o644), "0644");
        assert_eq!(format_mode(0o4755), "4755");
    }

    #[test]
    fn symbolic_forms() {
        assert_eq!(p(json!("u=rw,g=r,o=r"), 0o777), 0o644);
        assert_eq!(p(json!("u+x"), 0o644), 0o744);
        assert_eq!(p(json!("a-w"), 0o664), 0o444);
        assert_eq!(p(json!("go="), 0o755), 0o700);
        assert_eq!(p(json!("g=u"), 0o740), 0o770);
        assert_eq!(p(json!("u+s"), 0o755), 0o4755);
        assert_eq!(p(json!("u+r-w"), 0o200), 0o400);
        assert_eq!(parse_mode(&json!("a+X"), 0o644, true).unwrap(), 0o755);
        assert_eq!(p(json!("a+X"), 0o644), 0o644);
        assert!(parse_mode(&json!("q+x"), 0, false).is_err());
        assert!(parse_mode(&json!("u+z"), 0, false).is_err());
    }
}
