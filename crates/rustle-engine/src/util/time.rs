//! Timestamps in the forms command results use (`start`, `end`, `delta`).
//! Times are UTC: the engine has no time zone database.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2024-01-02 03:04:05.123456`.
pub fn format_timestamp(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (date, time) = utc_date_time(since.as_secs());
    format!("{date} {time}.{:06}", since.subsec_micros())
}

/// `("2024-01-02", "03:04:05")` in UTC for seconds since the epoch.
pub fn utc_date_time(secs: u64) -> (String, String) {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// `0:00:01.250000`, as Python prints a `timedelta`.
pub fn format_delta(d: Duration) -> String {
    let secs = d.as_secs();
    format!(
        "{}:{:02}:{:02}.{:06}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        d.subsec_micros()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Now, as Python's `time.time()`.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Python's `time.strptime` for the numeric directives (`%Y %y %m %d %H
/// %M %S` and `%%`), as `_strptime` does it: the
/// format made a regular expression (whitespace matching any run of it),
/// matched at the start. Returns (year, month, day, hour, minute, second)
/// or Python's `ValueError` message.
pub fn strptime(data: &str, format: &str) -> Result<[i64; 6], String> {
    let mut pattern = String::from("(?i)^");
    let mut chars = format.chars().peekable();
    let mut last_ws = false;
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            if !last_ws {
                pattern.push_str(r"\s+");
            }
            last_ws = true;
            continue;
        }
        last_ws = false;
        if c != '%' {
            pattern.push_str(&regex::escape(&c.to_string()));
            continue;
        }
        let d = chars
            .next()
            .ok_or_else(|| format!("stray % in format '{format}'"))?;
        let re = match d {
            'Y' => r"(?P<Y>\d\d\d\d)",
            'y' => r"(?P<y>\d\d)",
            'm' => r"(?P<m>1[0-2]|0[1-9]|[1-9])",
            'd' => r"(?P<d>3[01]|[12]\d|0[1-9]|[1-9]| [1-9])",
            'H' => r"(?P<H>2[0-3]|[0-1]\d|\d)",
            'M' => r"(?P<M>[0-5]\d|\d)",
            'S' => r"(?P<S>6[0-1]|[0-5]\d|\d)",
            '%' => "%",
            other => {
                return Err(format!(
                    "'{other}' is a bad directive in format '%{other}' (only %Y %y %m %d %H %M %S are supported yet)"
                ));
            }
        };
        pattern.push_str(re);
    }
    let re = regex::Regex::new(&pattern).map_err(|e| e.to_string())?;
    let Some(caps) = re.captures(data) else {
        return Err(format!(
            "time data {} does not match format {}",
            py_str_repr(data),
            py_str_repr(format)
        ));
    };
    let end = caps.get(0).map_or(0, |m| m.end());
    if end != data.len() {
        return Err(format!("unconverted data remains: {}", &data[end..]));
    }
    let num = |k: &str| {
        caps.name(k)
            .and_then(|m| m.as_str().trim().parse::<i64>().ok())
    };
    let year = match (num("Y"), num("y")) {
        (Some(y), _) => y,
        // POSIX: 69-99 are 1969-1999, 0-68 are 2000-2068.
        (None, Some(y)) if y <= 68 => 2000 + y,
        (None, Some(y)) => 1900 + y,
        (None, None) => 1900,
    };
    Ok([
        year,
        num("m").unwrap_or(1),
        num("d").unwrap_or(1),
        num("H").unwrap_or(0),
        num("M").unwrap_or(0),
        num("S").unwrap_or(0),
    ])
}

/// Python's `repr` of a plain string.
fn py_str_repr(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_python() {
        // python3 -c 'import datetime as d; print(d.datetime.utcfromtimestamp(1700000000.25))'
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        assert_eq!(format_timestamp(t), "2023-11-14 22:13:20.250000");
        assert_eq!(
            format_timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29 00:00:00.000000"
        );
        assert_eq!(
            format_delta(Duration::from_micros(3_723_000_042)),
            "1:02:03.000042"
        );
    }

    #[test]
    fn strptime_as_python() {
        assert_eq!(
            strptime("202001021530.45", "%Y%m%d%H%M.%S"),
            Ok([2020, 1, 2, 15, 30, 45])
        );
        assert_eq!(
            strptime("99-3-4  5:06", "%y-%m-%d %H:%M"),
            Ok([1999, 3, 4, 5, 6, 0])
        );
        assert_eq!(
            strptime("yesterday", "%Y%m%d%H%M.%S"),
            Err("time data 'yesterday' does not match format '%Y%m%d%H%M.%S'".to_owned())
        );
        assert_eq!(
            strptime("2020-01-02 UTC", "%Y-%m-%d"),
            Err("unconverted data remains:  UTC".to_owned())
        );
    }
}
