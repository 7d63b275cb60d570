//! A play's hosts in order and in batches: the play's `order` and its
//! `serial` batch sizes, as ansible-core computes them. Plan uses them for
//! the plays whose hosts it knows, and exec for the plays whose hosts the
//! run decides (a templated pattern, `add_host`, `group_by`).

use rustle_format::Value;

/// Puts the play's hosts in its `order`. `shuffle` is seeded from the
/// play's name so that the same input plans the same way.
pub fn order_hosts(hosts: &mut [String], order: Option<&Value>, play: &str) -> Result<(), String> {
    match order.and_then(Value::as_str).unwrap_or("inventory") {
        "inventory" => {}
        "reverse_inventory" => hosts.reverse(),
        "sorted" => hosts.sort(),
        "reverse_sorted" => {
            hosts.sort();
            hosts.reverse();
        }
        "shuffle" => {
            let digest = rustle_format::sha256_hex(play.as_bytes());
            let mut state = u64::from_str_radix(&digest[..16], 16).unwrap_or(1) | 1;
            for i in (1..hosts.len()).rev() {
                // xorshift64*: small, deterministic, good enough to shuffle.
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
                hosts.swap(i, (r % (i as u64 + 1)) as usize);
            }
        }
        other => {
            return Err(format!(
                "order must be one of inventory, reverse_inventory, sorted, reverse_sorted, shuffle; got {other:?}"
            ));
        }
    }
    Ok(())
}

/// Batch sizes from `serial` (a number, a percentage, or a list of them,
/// the last repeating), as Ansible's `_get_serialized_batches`.
pub fn batch_sizes(serial: Option<&Value>, total: usize) -> Result<Vec<u32>, String> {
    let steps: Vec<&Value> = match serial {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    let size = |v: &Value| -> Result<i64, String> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| format!("serial must be an integer, got {n}")),
            Value::String(s) if s.trim().ends_with('%') => {
                let pct: f64 = s
                    .trim()
                    .trim_end_matches('%')
                    .parse()
                    .map_err(|_| format!("invalid serial {s:?}"))?;
                let n = (pct / 100.0 * total as f64) as i64;
                Ok(if n == 0 { 1 } else { n })
            }
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| format!("serial must be a number or a percentage, got {s:?}")),
            other => Err(format!(
                "serial must be a number or a percentage, got {other}"
            )),
        }
    };
    let mut out = Vec::new();
    let mut left = total;
    let mut step = 0;
    while left > 0 {
        let n = match steps.get(step) {
            Some(v) => size(v)?,
            None => -1,
        };
        let take = if n <= 0 { left } else { (n as usize).min(left) };
        out.push(take as u32);
        left -= take;
        step = (step + 1).min(steps.len().saturating_sub(1));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_batches_as_ansible_splits_them() {
        let cases = [
            (serde_json::json!(null), 5, vec![5]),
            (serde_json::json!(1), 3, vec![1, 1, 1]),
            (serde_json::json!(3), 5, vec![3, 2]),
            (serde_json::json!("30%"), 10, vec![3, 3, 3, 1]),
            (serde_json::json!("30%"), 2, vec![1, 1]),
            (serde_json::json!([1, 5, "50%"]), 20, vec![1, 5, 10, 4]),
            (serde_json::json!(0), 4, vec![4]),
            (serde_json::json!(2), 0, vec![]),
        ];
        for (serial, total, expected) in cases {
            let got = batch_sizes(Some(&serial), total).unwrap();
            assert_eq!(got, expected, "serial {serial} over {total} hosts");
        }
    }

    #[test]
    fn orders() {
        let hosts = || vec!["b".to_owned(), "c".to_owned(), "a".to_owned()];
        let order = |o: &str| {
            let mut h = hosts();
            order_hosts(&mut h, Some(&Value::from(o)), "p").unwrap();
            h.join("")
        };
        assert_eq!(order("inventory"), "bca");
        assert_eq!(order("reverse_inventory"), "acb");
        assert_eq!(order("sorted"), "abc");
        assert_eq!(order("reverse_sorted"), "cba");
        let shuffled = order("shuffle");
        assert_eq!(shuffled, order("shuffle"), "shuffle is seeded");
        let mut letters: Vec<char> = shuffled.chars().collect();
        letters.sort();
        assert_eq!(letters, ['a', 'b', 'c']);
    }
}
