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
}
