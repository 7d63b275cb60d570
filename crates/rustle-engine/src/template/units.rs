//! Byte sizes in templates: the `human_readable` and `human_to_bytes`
//! filters, which write and read sizes as ansible-core's
//! module_utils/common/text/formatters.py does (`bytes_to_human`,
//! `human_to_bytes`), with its error messages.

use std::sync::OnceLock;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

use super::filters::add_filter;
use super::more::py_str;

pub fn register(env: &mut Environment<'static>) {
    add_filter(env, "human_readable", human_readable);
    add_filter(env, "human_to_bytes", human_to_bytes);
}

/// `SIZE_RANGES`, largest first: each suffix and its power of 1024.
const SIZE_RANGES: [(char, i32); 9] = [
    ('Y', 8),
    ('Z', 7),
    ('E', 6),
    ('P', 5),
    ('T', 4),
    ('G', 3),
    ('M', 2),
    ('K', 1),
    ('B', 0),
];

/// `VALID_UNITS`: the byte and bit names and symbols of each suffix.
fn valid_units(suffix: char) -> Option<[(&'static str, &'static str); 2]> {
    Some(match suffix {
        'B' => [("byte", "B"), ("bit", "b")],
        'K' => [("kilobyte", "KB"), ("kilobit", "Kb")],
        'M' => [("megabyte", "MB"), ("megabit", "Mb")],
        'G' => [("gigabyte", "GB"), ("gigabit", "Gb")],
        'T' => [("terabyte", "TB"), ("terabit", "Tb")],
        'P' => [("petabyte", "PB"), ("petabit", "Pb")],
        'E' => [("exabyte", "EB"), ("exabit", "Eb")],
        'Z' => [("zetabyte", "ZB"), ("zetabit", "Zb")],
        'Y' => [("yottabyte", "YB"), ("yottabit", "Yb")],
        _ => return None,
    })
}

fn limit(power: i32) -> f64 {
    1024f64.powi(power)
}

/// How the filters fail: Python's TypeError ("failed on bad input") or
/// any other error ("can't interpret the input").
enum Failure {
    BadInput(String),
    Uninterpretable(String),
}

impl Failure {
    fn into_error(self, filter: &str) -> Error {
        let msg = match self {
            Failure::BadInput(e) => format!("{filter}() failed on bad input: {e}"),
            Failure::Uninterpretable(e) => format!("{filter}() can't interpret the input: {e}"),
        };
        Error::new(ErrorKind::InvalidOperation, msg)
    }
}

/// A number as Python does arithmetic on it; bools are 0 and 1.
fn number(value: &Value) -> Option<f64> {
    match value.kind() {
        ValueKind::Bool => Some(f64::from(u8::from(value.is_true()))),
        ValueKind::Number => f64::try_from(value.clone()).ok(),
        _ => None,
    }
}

/// `human_readable(isbits=False, unit=None)`: `bytes_to_human`, the size
/// in the largest unit it reaches (or `unit`) with two decimals.
fn human_readable(
    size: Value,
    isbits: Option<Value>,
    unit: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let isbits = kwargs.get::<Option<Value>>("isbits")?.or(isbits);
    let unit = kwargs
        .get::<Option<Value>>("unit")?
        .or(unit)
        .filter(|u| !u.is_none());
    kwargs.assert_all_used()?;
    bytes_to_human(&size, isbits.is_some_and(|b| b.is_true()), unit.as_ref())
        .map_err(|f| f.into_error("human_readable"))
}

fn bytes_to_human(size: &Value, isbits: bool, unit: Option<&Value>) -> Result<String, Failure> {
    let base = if isbits { "bits" } else { "Bytes" };
    let kind = super::python_type(size);
    let bad_compare = || {
        Failure::BadInput(format!(
            "'>=' not supported between instances of '{kind}' and 'int'"
        ))
    };
    let bad_divide = || {
        Failure::BadInput(format!(
            "unsupported operand type(s) for /: '{kind}' and 'int'"
        ))
    };
    let unit = match unit {
        None => None,
        Some(u) => Some(u.as_str().map(str::to_uppercase).ok_or_else(|| {
            Failure::Uninterpretable(format!(
                "'{}' object has no attribute 'upper'",
                super::python_type(u)
            ))
        })?),
    };
    let mut chosen = SIZE_RANGES[SIZE_RANGES.len() - 1];
    for (suffix, power) in SIZE_RANGES {
        let reached = match &unit {
            None => number(size).ok_or_else(bad_compare)? >= limit(power),
            Some(unit) => *unit == suffix.to_string(),
        };
        if reached {
            chosen = (suffix, power);
            break;
        }
    }
    let (suffix, power) = chosen;
    let suffix = if power == 0 {
        base.to_owned()
    } else {
        format!("{suffix}{}", &base[..1])
    };
    let size = number(size).ok_or_else(bad_divide)?;
    Ok(format!("{} {suffix}", py_fixed2(size / limit(power))))
}

/// Python's `'%.2f' % x`.
fn py_fixed2(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:.2}")
    }
}

/// `human_to_bytes(default_unit=None, isbits=False)`: the number of bytes
/// (or bits) a size like `10M`, `1.5 GB` or `2 kilobytes` is.
fn human_to_bytes(
    size: Value,
    default_unit: Option<Value>,
    isbits: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default_unit = kwargs
        .get::<Option<Value>>("default_unit")?
        .or(default_unit)
        .filter(|u| !u.is_none());
    let isbits = kwargs.get::<Option<Value>>("isbits")?.or(isbits);
    kwargs.assert_all_used()?;
    parse_size(
        &size,
        default_unit.as_ref(),
        isbits.is_some_and(|b| b.is_true()),
    )
    .map_err(|f| f.into_error("human_to_bytes"))
}

fn parse_size(size: &Value, default_unit: Option<&Value>, isbits: bool) -> Result<Value, Failure> {
    static SIZE: OnceLock<regex::Regex> = OnceLock::new();
    let re = SIZE.get_or_init(|| {
        regex::Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").expect("valid regex")
    });
    let number = py_str(size);
    let uninterpretable = |msg: String| Failure::Uninterpretable(msg);
    let caps = re.captures(&number).ok_or_else(|| {
        uninterpretable(format!(
            "human_to_bytes() can't interpret following string: {number}"
        ))
    })?;
    let num: f64 = caps[1].parse().map_err(|_| {
        uninterpretable(format!(
            "human_to_bytes() can't interpret following number: {} (original input string: {number})",
            &caps[1]
        ))
    })?;
    let unit = match (caps.get(2), default_unit) {
        (Some(unit), _) => unit.as_str().to_owned(),
        (None, Some(unit)) => unit.as_str().map(str::to_owned).ok_or_else(|| {
            Failure::BadInput(format!(
                "'{}' object is not subscriptable",
                super::python_type(unit)
            ))
        })?,
        (None, None) => return Ok(int_value(num)),
    };
    let first = unit
        .chars()
        .next()
        .ok_or_else(|| uninterpretable("string index out of range".into()))?;
    let range_key = first.to_uppercase().collect::<String>();
    let Some(&(suffix, power)) = SIZE_RANGES.iter().find(|(s, _)| s.to_string() == range_key)
    else {
        return Err(uninterpretable(format!(
            "human_to_bytes() failed to convert {number} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
        )));
    };
    if unit.chars().count() > 1 {
        let (class, class_name) = if isbits { ('b', "bit") } else { ('B', "byte") };
        let expect = if suffix == 'B' {
            format!("expect {class} or {class_name}")
        } else {
            format!("expect {suffix}{class} or {suffix}")
        };
        let Some(names) = valid_units(suffix) else {
            return Err(uninterpretable(format!(
                "human_to_bytes() can't interpret a valid unit for {suffix}"
            )));
        };
        let (name, symbol) = names[usize::from(isbits)];
        if unit.to_lowercase() != name && unit != symbol {
            return Err(uninterpretable(format!(
                "human_to_bytes() failed to convert {number}. Value is not a valid string ({expect})"
            )));
        }
    }
    Ok(int_value(num * limit(power)))
}

/// Python's `int(round(x))`: halves to even.
fn int_value(x: f64) -> Value {
    let rounded = x.round_ties_even();
    if rounded.abs() < 1.7e38 {
        Value::from(rounded as i128)
    } else {
        Value::from(rounded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_write_as_ansible() {
        let human = |v: Value, unit: Option<&str>| {
            bytes_to_human(&v, false, unit.map(Value::from).as_ref()).ok()
        };
        assert_eq!(human(Value::from(1_232_345_345), None).unwrap(), "1.15 GB");
        assert_eq!(human(Value::from(0.125), None).unwrap(), "0.12 Bytes");
        assert_eq!(
            human(Value::from(2048), Some("kb")).unwrap(),
            "2048.00 Bytes"
        );
        let bytes = |s: &str, bits: bool| parse_size(&Value::from(s), None, bits).ok();
        assert_eq!(bytes("10M", false), Some(Value::from(10_485_760i128)));
        assert_eq!(bytes("2.5", false), Some(Value::from(2i128)));
        assert_eq!(bytes("1 kilobit", true), Some(Value::from(1024i128)));
        assert!(bytes("1MB", true).is_none());
    }
}
