//! Dates and times in templates: the `strftime` filter (Python's
//! `time.strftime`, with glibc's conversions in the C locale) and
//! `to_datetime` (`datetime.strptime`, as Python's `_strptime` parses).
//! `to_datetime` gives a `datetime` value with Python's attributes,
//! methods, comparisons and `str`; `__rustle_sub` is Python's `-` for
//! datetimes, giving a `timedelta` (`.days`, `.seconds`,
//! `.total_seconds()`). Local time comes from the time zone database as
//! glibc finds it (`TZ`, else `/etc/localtime`), read here with std.

use std::cmp::Ordering;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use minijinja::value::{DynObject, Kwargs, Object, ObjectRepr, ValueKind, from_args};
use minijinja::{Environment, Error, ErrorKind, State, Value};

use super::filters::add_filter;
use super::more::py_repr;
use crate::util::time::civil_from_days;

/// The function Python's binary `-` can be rewritten to, for datetimes.
const SUB: &str = "__rustle_sub";

const DAY: i64 = 86_400;
const MICROS: i64 = 1_000_000;

pub fn register(env: &mut Environment<'static>) {
    add_filter(env, "strftime", strftime);
    add_filter(env, "to_datetime", to_datetime);
    env.add_function(SUB, subtract);
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// `strftime(format, second=None, utc=False)`: `time.strftime(format,
/// (time.gmtime if utc else time.localtime)(second))`, now when `second`
/// is None.
fn strftime(
    format: &str,
    second: Option<Value>,
    utc: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let second = kwargs.get::<Option<Value>>("second")?.or(second);
    let utc = kwargs.get::<Option<Value>>("utc")?.or(utc);
    kwargs.assert_all_used()?;
    let secs = match second.filter(|s| !s.is_none()) {
        None => crate::util::time::now(),
        Some(s) => {
            py_float(&s).ok_or_else(|| invalid(format!("Invalid value for epoch value ({s})")))?
        }
    };
    // time_t, as Python rounds a float timestamp for gmtime/localtime.
    let secs = secs.floor();
    if !(-9.2e18..9.2e18).contains(&secs) {
        return Err(invalid("timestamp out of range for platform time_t"));
    }
    let secs = secs as i64;
    let zone = if utc.is_some_and(|u| u.is_true()) {
        LocalType {
            offset: 0,
            dst: false,
            name: "GMT".into(),
        }
    } else {
        local_zone().at(secs)
    };
    let tm = Tm::at(secs, &zone);
    if i32::try_from(tm.year - 1900).is_err() {
        return Err(invalid("[Errno 75] Value too large for defined data type"));
    }
    Ok(format_tm(format, &tm))
}

/// Python's `float()` of a number, a bool or a numeric string.
fn py_float(value: &Value) -> Option<f64> {
    match value.kind() {
        ValueKind::Bool => Some(f64::from(u8::from(value.is_true()))),
        ValueKind::Number => f64::try_from(value.clone()).ok(),
        ValueKind::String => value.as_str()?.trim().parse().ok(),
        _ => None,
    }
}

/// `to_datetime(format='%Y-%m-%d %H:%M:%S')`: `datetime.strptime`.
fn to_datetime(string: Value, format: Option<Value>) -> Result<Value, Error> {
    fn text(i: usize, arg: &Value) -> Result<&str, Error> {
        arg.as_str().ok_or_else(|| {
            invalid(format!(
                "strptime() argument {i} must be str, not {}",
                super::python_type(arg)
            ))
        })
    }
    let format = format.unwrap_or_else(|| Value::from("%Y-%m-%d %H:%M:%S"));
    let dt = strptime(text(0, &string)?, text(1, &format)?).map_err(invalid)?;
    Ok(Value::from_object(dt))
}

// ---- Calendar arithmetic -------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Python's `weekday()` of a day since the epoch: Monday is 0.
fn weekday(days: i64) -> i64 {
    (days + 3).rem_euclid(7)
}

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

// ---- strftime ------------------------------------------------------------

/// C's `struct tm`: a broken-down time, its offset east of UTC and zone name.
#[derive(Debug, Clone)]
struct Tm {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    /// Days since Sunday.
    wday: i64,
    /// Days since January 1st.
    yday: i64,
    gmtoff: i64,
    zone: String,
    /// Daylight saving time, when known (`tm_isdst` of 1, 0 or -1).
    isdst: Option<bool>,
}

impl Tm {
    /// The wall time in `local` time at `secs` since the epoch.
    fn at(secs: i64, local: &LocalType) -> Tm {
        let wall = secs + local.offset;
        let mut tm = Tm::wall(wall.div_euclid(DAY), wall.rem_euclid(DAY));
        tm.gmtoff = local.offset;
        tm.zone = local.name.clone();
        tm.isdst = Some(local.dst);
        tm
    }

    /// The wall time `secs` into day `days` since the epoch, with no zone.
    fn wall(days: i64, secs: i64) -> Tm {
        let (year, month, day) = civil_from_days(days);
        Tm {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            wday: (weekday(days) + 1) % 7,
            yday: days - days_from_civil(year, 1, 1),
            gmtoff: 0,
            zone: String::new(),
            isdst: None,
        }
    }

    /// `mktime`: the wall time read as local time, in seconds since the epoch.
    fn mktime(&self) -> i64 {
        let wall = days_from_civil(self.year, self.month, self.day) * DAY
            + self.hour * 3600
            + self.minute * 60
            + self.second;
        local_zone().to_utc(wall, self.isdst)
    }

    /// glibc's ISO 8601 week-based year and week number.
    fn iso_week(&self) -> (i64, i64) {
        // Days since the Monday of the year's first ISO week.
        fn iso_days(yday: i64, wday: i64) -> i64 {
            yday - (yday - wday + 4 + 378).rem_euclid(7) + 3
        }
        let mut year = self.year;
        let mut days = iso_days(self.yday, self.wday);
        if days < 0 {
            year -= 1;
            days = iso_days(self.yday + 365 + i64::from(is_leap(year)), self.wday);
        } else {
            let next = iso_days(self.yday - 365 - i64::from(is_leap(year)), self.wday);
            if next >= 0 {
                year += 1;
                days = next;
            }
        }
        (year, days / 7 + 1)
    }
}

/// What a conversion gives: a number with its digits and padding, or text.
enum Conv {
    Num(i64, usize, char),
    Text(String),
}

/// C's `strftime` as glibc does it in the C locale: `%` conversions with
/// optional flags (`-_0^#`), a width and an `E`/`O` modifier; an unknown
/// conversion is copied as written.
fn format_tm(format: &str, tm: &Tm) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let spec = &rest[i + 1..];
        let flags_len = spec.len() - spec.trim_start_matches(['-', '_', '0', '^', '#']).len();
        let flags = &spec[..flags_len];
        let after = &spec[flags_len..];
        let width_len = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let width: usize = after[..width_len].parse().unwrap_or(0);
        let conv = &after[width_len..];
        let conv = conv.strip_prefix(['E', 'O']).unwrap_or(conv);
        let Some(c) = conv.chars().next() else {
            out.push_str(&rest[i..]);
            return out;
        };
        let end = rest.len() - conv.len() + c.len_utf8();
        match convert(c, tm, flags) {
            Some(Conv::Num(n, digits, fill)) => {
                out.push_str(&pad_number(n, digits, fill, flags, width))
            }
            Some(Conv::Text(text)) => {
                let fill = if flags.contains('0') { '0' } else { ' ' };
                out.push_str(&pad(&text, width, fill));
            }
            None => out.push_str(&rest[i..end]),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn pad(text: &str, width: usize, fill: char) -> String {
    let len = text.chars().count();
    let mut out: String = std::iter::repeat_n(fill, width.saturating_sub(len)).collect();
    out.push_str(text);
    out
}

/// A number as glibc pads it: to its digits with its fill (`_` spaces,
/// `0` zeros), or none with `-`; an explicit width pads further.
fn pad_number(n: i64, digits: usize, fill: char, flags: &str, width: usize) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let body = n.unsigned_abs().to_string();
    let fill = match flags.chars().rev().find(|c| "-_0".contains(*c)) {
        Some('-') => return pad(&format!("{sign}{body}"), width, ' '),
        Some('_') => ' ',
        Some('0') => '0',
        _ => fill,
    };
    let width = digits.max(width);
    if fill == '0' {
        format!(
            "{sign}{}",
            pad(&body, width.saturating_sub(sign.len()), '0')
        )
    } else {
        pad(&format!("{sign}{body}"), width, ' ')
    }
}

/// One conversion of [`format_tm`]; None for an unknown one.
fn convert(c: char, tm: &Tm, flags: &str) -> Option<Conv> {
    use Conv::{Num, Text};
    let upper = flags.contains('^');
    // `#` swaps the case: names upper, `%p` and `%Z` lower.
    let swap = flags.contains('#');
    let name = |s: &str, len: usize| {
        let s: String = s.chars().take(len).collect();
        Text(if upper || swap { s.to_uppercase() } else { s })
    };
    let weekday = DAYS[((tm.wday + 6) % 7) as usize];
    let month = MONTHS[(tm.month - 1) as usize];
    let hour12 = (tm.hour + 11) % 12 + 1;
    let text = |s: String| Text(if upper { s.to_uppercase() } else { s });
    Some(match c {
        'a' => name(weekday, 3),
        'A' => name(weekday, usize::MAX),
        'b' | 'h' => name(month, 3),
        'B' => name(month, usize::MAX),
        'p' | 'P' => {
            let am = if tm.hour < 12 { "AM" } else { "PM" };
            Text(if (c == 'P' || swap) && !upper {
                am.to_lowercase()
            } else {
                am.to_owned()
            })
        }
        'Z' if swap => Text(tm.zone.to_lowercase()),
        'Z' => text(tm.zone.clone()),
        'z' => {
            let sign = if tm.gmtoff < 0 { '-' } else { '+' };
            let off = tm.gmtoff.abs() / 60;
            Text(format!("{sign}{:02}{:02}", off / 60, off % 60))
        }
        'c' => text(format_tm("%a %b %e %H:%M:%S %Y", tm)),
        'D' | 'x' => text(format_tm("%m/%d/%y", tm)),
        'F' => text(format_tm("%Y-%m-%d", tm)),
        'r' => text(format_tm("%I:%M:%S %p", tm)),
        'R' => text(format_tm("%H:%M", tm)),
        'T' | 'X' => text(format_tm("%H:%M:%S", tm)),
        'n' => Text("\n".into()),
        't' => Text("\t".into()),
        '%' => Text("%".into()),
        // glibc pads the years and centuries only to an explicit width.
        'C' => Num(tm.year.div_euclid(100), 1, '0'),
        'd' => Num(tm.day.into(), 2, '0'),
        'e' => Num(tm.day.into(), 2, ' '),
        'G' => Num(tm.iso_week().0, 1, '0'),
        'g' => Num(tm.iso_week().0.rem_euclid(100), 2, '0'),
        'H' => Num(tm.hour, 2, '0'),
        'I' => Num(hour12, 2, '0'),
        'j' => Num(tm.yday + 1, 3, '0'),
        'k' => Num(tm.hour, 2, ' '),
        'l' => Num(hour12, 2, ' '),
        'm' => Num(tm.month.into(), 2, '0'),
        'M' => Num(tm.minute, 2, '0'),
        's' => Num(tm.mktime(), 1, '0'),
        'S' => Num(tm.second, 2, '0'),
        'u' => Num((tm.wday + 6) % 7 + 1, 1, '0'),
        'U' => Num((tm.yday + 7 - tm.wday) / 7, 2, '0'),
        'V' => Num(tm.iso_week().1, 2, '0'),
        'w' => Num(tm.wday, 1, '0'),
        'W' => Num((tm.yday + 7 - (tm.wday + 6) % 7) / 7, 2, '0'),
        'y' => Num(tm.year.rem_euclid(100), 2, '0'),
        'Y' => Num(tm.year, 1, '0'),
        _ => return None,
    })
}

// ---- Local time ----------------------------------------------------------

/// A local time type: its offset east of UTC and its abbreviation.
#[derive(Debug, Clone, PartialEq)]
struct LocalType {
    offset: i64,
    dst: bool,
    name: String,
}

/// A time zone as glibc reads it: a TZif file's transitions, then its
/// POSIX `TZ` rule (or the rule alone, from `TZ`).
#[derive(Debug, Default)]
struct Zone {
    /// (seconds since the epoch, index into `types`), in time order.
    transitions: Vec<(i64, usize)>,
    types: Vec<LocalType>,
    rule: Option<Rule>,
}

fn local_zone() -> &'static Zone {
    static ZONE: OnceLock<Zone> = OnceLock::new();
    ZONE.get_or_init(|| load_zone(std::env::var("TZ").ok()).unwrap_or_else(Zone::utc))
}

/// The zone `TZ` names (a file under /usr/share/zoneinfo, a path or a
/// POSIX rule; empty is UTC), `/etc/localtime` when it is unset.
fn load_zone(tz: Option<String>) -> Option<Zone> {
    let Some(tz) = tz else {
        return parse_tzif(&std::fs::read("/etc/localtime").ok()?);
    };
    let tz = tz.strip_prefix(':').unwrap_or(&tz);
    if tz.is_empty() {
        return Some(Zone::utc());
    }
    let path = Path::new("/usr/share/zoneinfo").join(tz);
    if let Some(zone) = std::fs::read(path).ok().and_then(|data| parse_tzif(&data)) {
        return Some(zone);
    }
    parse_rule(tz).map(|rule| Zone {
        rule: Some(rule),
        ..Zone::default()
    })
}

impl Zone {
    fn utc() -> Zone {
        let std = LocalType {
            offset: 0,
            dst: false,
            name: "UTC".into(),
        };
        Zone {
            rule: Some(Rule { std, dst: None }),
            ..Zone::default()
        }
    }

    /// The local time type in effect at `t` seconds since the epoch.
    fn at(&self, t: i64) -> LocalType {
        let i = self.transitions.partition_point(|&(at, _)| at <= t);
        let rule = self.rule.as_ref();
        if i == self.transitions.len()
            && let Some(rule) = rule
        {
            return rule.at(t);
        }
        let index = i.checked_sub(1).map_or(0, |i| self.transitions[i].1);
        self.types.get(index).cloned().unwrap_or_else(|| LocalType {
            offset: 0,
            dst: false,
            name: "UTC".into(),
        })
    }

    /// `mktime`: a local wall time (seconds since the epoch as if it were
    /// UTC) as seconds since the epoch. A wall time that happens twice is
    /// the one of daylight saving time `dst`, else the earlier; one that is
    /// skipped is read with the offset before the change; and as glibc
    /// does, a time of the other kind than `dst` is read with the offset
    /// of the nearest time of that kind.
    fn to_utc(&self, wall: i64, dst: Option<bool>) -> i64 {
        let before = self.at(wall - DAY);
        let after = self.at(wall + DAY);
        let fits = |t: &LocalType| self.at(wall - t.offset).offset == t.offset;
        let chosen = match (fits(&before), fits(&after)) {
            (true, true) if before.dst != after.dst && dst == Some(after.dst) => after,
            (true, true) if dst.is_none() && after.offset > before.offset => after,
            (false, true) => after,
            _ => before,
        };
        let t = wall - chosen.offset;
        match dst {
            Some(dst) if self.at(t).dst != dst => {
                self.offset_of(t, dst).map_or(t, |off| wall - off)
            }
            _ => t,
        }
    }

    /// The offset of the time of daylight saving time `dst` nearest `t`.
    fn offset_of(&self, t: i64, dst: bool) -> Option<i64> {
        let i = self.transitions.partition_point(|&(at, _)| at <= t);
        if i == self.transitions.len()
            && let Some(rule) = &self.rule
        {
            return match &rule.dst {
                Some((daylight, _, _)) if dst => Some(daylight.offset),
                _ if dst => None,
                _ => Some(rule.std.offset),
            };
        }
        let (past, future) = self.transitions.split_at(i);
        past.iter()
            .rev()
            .chain(future)
            .filter_map(|&(_, ty)| self.types.get(ty))
            .find(|ty| ty.dst == dst)
            .map(|ty| ty.offset)
    }

    /// The standard and daylight saving time names, as `time.tzname`.
    fn names(&self) -> Vec<String> {
        if let Some(rule) = self.rule.as_ref() {
            let mut names = vec![rule.std.name.clone()];
            names.extend(rule.dst.as_ref().map(|(dst, _, _)| dst.name.clone()));
            return names;
        }
        let last = |dst: bool| self.types.iter().rev().find(|t| t.dst == dst);
        [last(false), last(true)]
            .into_iter()
            .flatten()
            .map(|t| t.name.clone())
            .collect()
    }
}

/// A TZif file (RFC 8536): the 64-bit data of version 2 and later, the
/// 32-bit data of version 1, and the footer's rule.
fn parse_tzif(data: &[u8]) -> Option<Zone> {
    fn counts(data: &[u8]) -> Option<[usize; 6]> {
        if data.get(..4)? != b"TZif" {
            return None;
        }
        let mut counts = [0; 6];
        for (i, count) in counts.iter_mut().enumerate() {
            let bytes = data.get(20 + 4 * i..24 + 4 * i)?;
            *count = u32::from_be_bytes(bytes.try_into().ok()?) as usize;
        }
        Some(counts)
    }
    fn block_len([isut, isstd, leap, time, types, chars]: [usize; 6], size: usize) -> usize {
        time * (size + 1) + types * 6 + chars + leap * (size + 4) + isstd + isut
    }
    let version = *data.get(4)?;
    let (data, size) = if version >= b'2' {
        let v1 = 44 + block_len(counts(data)?, 4);
        (data.get(v1..)?, 8)
    } else {
        (data, 4)
    };
    let [_, _, _, timecnt, typecnt, charcnt] = counts(data)?;
    let body = data.get(44..44 + block_len(counts(data)?, size))?;
    let (times, body) = body.split_at(timecnt * size);
    let (indices, body) = body.split_at(timecnt);
    let (infos, body) = body.split_at(typecnt * 6);
    let chars = &body[..charcnt];
    let time = |b: &[u8]| match size {
        8 => i64::from_be_bytes(b.try_into().unwrap_or_default()),
        _ => i64::from(i32::from_be_bytes(b.try_into().unwrap_or_default())),
    };
    let transitions = times
        .chunks(size)
        .zip(indices)
        .map(|(t, &i)| (time(t), usize::from(i)))
        .collect();
    let types = infos
        .chunks(6)
        .map(|info| {
            let start = usize::from(info[5]).min(chars.len());
            let len = chars[start..].iter().position(|&b| b == 0).unwrap_or(0);
            LocalType {
                offset: i64::from(i32::from_be_bytes([info[0], info[1], info[2], info[3]])),
                dst: info[4] != 0,
                name: String::from_utf8_lossy(&chars[start..start + len]).into_owned(),
            }
        })
        .collect();
    let footer = data
        .get(44 + block_len(counts(data)?, size)..)
        .unwrap_or_default();
    let rule = std::str::from_utf8(footer)
        .ok()
        .and_then(|f| f.strip_prefix('\n')?.split('\n').next())
        .and_then(parse_rule);
    Some(Zone {
        transitions,
        types,
        rule,
    })
}

/// A POSIX `TZ` rule: standard time, and daylight saving time between two
/// changes a year.
#[derive(Debug)]
struct Rule {
    std: LocalType,
    dst: Option<(LocalType, Change, Change)>,
}

/// When a rule's time changes: a day of the year and the local time then.
#[derive(Debug)]
struct Change {
    date: RuleDate,
    time: i64,
}

#[derive(Debug)]
enum RuleDate {
    /// `Jn`: day 1 to 365, February 29th not counted.
    Julian(i64),
    /// `n`: day 0 to 365.
    Day(i64),
    /// `Mm.w.d`: weekday `d` (0 is Sunday) of week `w` (5 the last) of month `m`.
    Month(u32, i64, i64),
}

impl Rule {
    fn at(&self, t: i64) -> LocalType {
        let Some((dst, start, end)) = &self.dst else {
            return self.std.clone();
        };
        let year = civil_from_days((t + self.std.offset).div_euclid(DAY)).0;
        let start = start.local(year) - self.std.offset;
        let end = end.local(year) - dst.offset;
        let in_dst = if start < end {
            start <= t && t < end
        } else {
            !(end <= t && t < start)
        };
        let now = if in_dst { dst } else { &self.std };
        now.clone()
    }
}

impl Change {
    /// The change in `year`, as a wall time in seconds since the epoch.
    fn local(&self, year: i64) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        let day = match self.date {
            RuleDate::Julian(n) => jan1 + n - 1 + i64::from(is_leap(year) && n >= 60),
            RuleDate::Day(n) => jan1 + n,
            RuleDate::Month(m, w, d) => {
                let first = days_from_civil(year, m, 1);
                let first_wday = (weekday(first) + 1) % 7;
                let mut day = first + (d - first_wday).rem_euclid(7) + (w - 1) * 7;
                while day >= first + i64::from(days_in_month(year, m)) {
                    day -= 7;
                }
                day
            }
        };
        day * DAY + self.time
    }
}

/// Parses a POSIX `TZ` value (`CET-1CEST,M3.5.0,M10.5.0/3`); glibc's
/// default changes (`M3.2.0,M11.1.0`) when daylight time has none.
fn parse_rule(s: &str) -> Option<Rule> {
    fn name(s: &mut &str) -> Option<String> {
        let (name, rest) = match s.strip_prefix('<') {
            Some(quoted) => {
                let end = quoted.find('>')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => {
                let end = s
                    .find(|c: char| !c.is_ascii_alphabetic())
                    .unwrap_or(s.len());
                s.split_at(end)
            }
        };
        *s = rest;
        (name.len() >= 3).then(|| name.to_owned())
    }
    /// `[+-]hh[:mm[:ss]]` in seconds.
    fn offset(s: &mut &str) -> Option<i64> {
        let sign = if let Some(rest) = s.strip_prefix('-') {
            *s = rest;
            -1
        } else {
            *s = s.strip_prefix('+').unwrap_or(s);
            1
        };
        let mut total = 0;
        for (i, unit) in [3600, 60, 1].into_iter().enumerate() {
            if i > 0 {
                match s.strip_prefix(':') {
                    Some(rest) => *s = rest,
                    None => break,
                }
            }
            total += number(s)? * unit;
        }
        Some(sign * total)
    }
    fn number(s: &mut &str) -> Option<i64> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, rest) = s.split_at(end);
        *s = rest;
        digits.parse().ok()
    }
    fn change(s: &mut &str) -> Option<Change> {
        let date = if let Some(rest) = s.strip_prefix('J') {
            *s = rest;
            RuleDate::Julian(number(s)?)
        } else if let Some(rest) = s.strip_prefix('M') {
            *s = rest;
            let m = number(s)?;
            *s = s.strip_prefix('.')?;
            let w = number(s)?;
            *s = s.strip_prefix('.')?;
            RuleDate::Month(
                u32::try_from(m).ok().filter(|m| (1..=12).contains(m))?,
                w,
                number(s)?,
            )
        } else {
            RuleDate::Day(number(s)?)
        };
        let time = match s.strip_prefix('/') {
            Some(rest) => {
                *s = rest;
                offset(s)?
            }
            None => 7200,
        };
        Some(Change { date, time })
    }
    let mut s = s;
    let std = LocalType {
        name: name(&mut s)?,
        offset: -offset(&mut s)?,
        dst: false,
    };
    if s.is_empty() {
        return Some(Rule { std, dst: None });
    }
    let dst_name = name(&mut s)?;
    let dst_offset = if s.is_empty() || s.starts_with(',') {
        std.offset + 3600
    } else {
        -offset(&mut s)?
    };
    let dst = LocalType {
        offset: dst_offset,
        dst: true,
        name: dst_name,
    };
    let (start, end) = if s.is_empty() {
        (change(&mut "M3.2.0")?, change(&mut "M11.1.0")?)
    } else {
        s = s.strip_prefix(',')?;
        let start = change(&mut s)?;
        s = s.strip_prefix(',')?;
        (start, change(&mut s)?)
    };
    s.is_empty().then_some(Rule {
        std,
        dst: Some((dst, start, end)),
    })
}

// ---- strptime ------------------------------------------------------------

/// Python's `datetime.strptime` as `_strptime` does it in the C locale:
/// the format made a regular expression (regex characters escaped,
/// whitespace matching any run of whitespace, case ignored), matched at
/// the start of `data`, which it must use up. Errors are Python's
/// `ValueError` messages.
fn strptime(data: &str, format: &str) -> Result<DateTime, String> {
    let pattern = strptime_pattern(format, format)?;
    let re = regex::Regex::new(&format!(r"(?i)\A(?:{pattern})")).map_err(|e| e.to_string())?;
    let caps = re.captures(data).ok_or_else(|| {
        format!(
            "time data {} does not match format {}",
            py_repr(&Value::from(data)),
            py_repr(&Value::from(format))
        )
    })?;
    let end = caps.get(0).map_or(0, |m| m.end());
    if end != data.len() {
        return Err(format!("unconverted data remains: {}", &data[end..]));
    }

    let (mut year, mut iso_year) = (None, None);
    let (mut month, mut day) = (1, 1);
    let (mut hour, mut minute, mut second, mut fraction) = (0, 0, 0, 0);
    let mut offset = None;
    let (mut iso_week, mut week_of_year, mut week_starts_monday) = (None, None, false);
    let (mut weekday_, mut julian) = (None, None);
    let index = |names: &[&str], found: &str| {
        names
            .iter()
            .position(|n| n[..found.len().min(n.len())].eq_ignore_ascii_case(found))
            .map_or(0, |i| i as i64)
    };
    for key in re.capture_names().flatten() {
        let Some(found) = caps.name(key).map(|m| m.as_str()) else {
            continue;
        };
        let num = || found.trim().parse::<i64>().unwrap_or(0);
        match key {
            "y" => year = Some(num() + if num() <= 68 { 2000 } else { 1900 }),
            "Y" => year = Some(num()),
            "G" => iso_year = Some(num()),
            "m" => month = num(),
            "B" | "b" => month = index(&MONTHS, found) + 1,
            "d" => day = num(),
            "H" => hour = num(),
            "I" => {
                hour = num();
                let pm = caps
                    .name("p")
                    .is_some_and(|p| p.as_str().eq_ignore_ascii_case("pm"));
                if pm && hour != 12 {
                    hour += 12;
                } else if !pm && hour == 12 {
                    hour = 0;
                }
            }
            "M" => minute = num(),
            "S" => second = num(),
            "f" => fraction = format!("{found:0<6}").parse().unwrap_or(0),
            "A" | "a" => weekday_ = Some(index(&DAYS, found)),
            "w" => weekday_ = Some((num() + 6) % 7),
            "u" => weekday_ = Some(num() - 1),
            "j" => julian = Some(num()),
            "U" | "W" => {
                week_of_year = Some(num());
                week_starts_monday = key == "W";
            }
            "V" => iso_week = Some(num()),
            "z" => offset = Some(parse_utc_offset(found)?),
            _ => {}
        }
    }
    if year.is_none() && iso_year.is_some() {
        if iso_week.is_none() || weekday_.is_none() {
            return Err(
                "ISO year directive '%G' must be used with the ISO week directive '%V' \
                        and a weekday directive ('%A', '%a', '%w', or '%u')."
                    .into(),
            );
        }
        if julian.is_some() {
            return Err(
                "Day of the year directive '%j' is not compatible with ISO year \
                        directive '%G'. Use '%Y' instead."
                    .into(),
            );
        }
    } else if week_of_year.is_none() && iso_week.is_some() {
        return Err(if weekday_.is_none() {
            "ISO week directive '%V' must be used with the ISO year directive '%G' and a \
             weekday directive ('%A', '%a', '%w', or '%u')."
        } else {
            "ISO week directive '%V' is incompatible with the year directive '%Y'. Use the \
             ISO year '%G' instead."
        }
        .into());
    }
    // February 29th of no year is checked in 1904, then given 1900.
    let leap_year_fix = year.is_none() && month == 2 && day == 29;
    let mut year = year.unwrap_or(if leap_year_fix { 1904 } else { 1900 });
    if julian.is_none()
        && let Some(wd) = weekday_
    {
        if let Some(week) = week_of_year {
            julian = Some(julian_from_week(year, week, wd, week_starts_monday)?);
        } else if let (Some(iso_year), Some(iso_week)) = (iso_year, iso_week) {
            let (y, j) = julian_from_iso_week(iso_year, iso_week, wd + 1)?;
            year = y;
            julian = Some(j);
        }
        if let Some(j) = julian.filter(|&j| j <= 0) {
            year -= 1;
            julian = Some(j + 365 + i64::from(is_leap(year)));
        }
    }
    let (month, day) = match julian {
        None => {
            check_date(year, month, day)?;
            (month as u32, day as u32)
        }
        Some(j) => {
            let (y, m, d) = civil_from_days(days_from_civil(check_year(year)?, 1, 1) + j - 1);
            year = y;
            (m, d)
        }
    };
    if leap_year_fix {
        year = 1900;
    }
    DateTime::new(
        [year, month.into(), day.into(), hour, minute, second],
        fraction,
        offset,
    )
}

/// The regular expression of a strptime format (`whole` for messages).
fn strptime_pattern(format: &str, whole: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            out.push_str(r"\s+");
            continue;
        }
        if c != '%' {
            out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
            continue;
        }
        let d = chars
            .next()
            .ok_or_else(|| format!("stray % in format '{whole}'"))?;
        let names = |group: char, names: &[&str], len: usize| {
            let mut names: Vec<String> = names
                .iter()
                .map(|n| n.chars().take(len).collect::<String>().to_lowercase())
                .collect();
            names.sort_by_key(|n| std::cmp::Reverse(n.len()));
            format!("(?P<{group}>{})", names.join("|"))
        };
        let re = match d {
            'd' => r"(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])".into(),
            'f' => r"(?P<f>[0-9]{1,6})".into(),
            'H' => r"(?P<H>2[0-3]|[0-1]\d|\d)".into(),
            'I' => r"(?P<I>1[0-2]|0[1-9]|[1-9])".into(),
            'G' => r"(?P<G>\d\d\d\d)".into(),
            'j' => {
                r"(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])".into()
            }
            'm' => r"(?P<m>1[0-2]|0[1-9]|[1-9])".into(),
            'M' => r"(?P<M>[0-5]\d|\d)".into(),
            'S' => r"(?P<S>6[0-1]|[0-5]\d|\d)".into(),
            'U' | 'W' => format!(r"(?P<{d}>5[0-3]|[0-4]\d|\d)"),
            'w' => r"(?P<w>[0-6])".into(),
            'u' => r"(?P<u>[1-7])".into(),
            'V' => r"(?P<V>5[0-3]|0[1-9]|[1-4]\d|\d)".into(),
            'y' => r"(?P<y>\d\d)".into(),
            'Y' => r"(?P<Y>\d\d\d\d)".into(),
            'z' => r"(?P<z>[+-]\d\d:?[0-5]\d(:?[0-5]\d(\.\d{1,6})?)?|(?-i:Z))".into(),
            'A' => names('A', &DAYS, usize::MAX),
            'a' => names('a', &DAYS, 3),
            'B' => names('B', &MONTHS, usize::MAX),
            'b' => names('b', &MONTHS, 3),
            'p' => "(?P<p>am|pm)".into(),
            'Z' => {
                let mut zones = vec!["utc".to_owned(), "gmt".to_owned()];
                zones.extend(local_zone().names().iter().map(|n| n.to_lowercase()));
                zones.dedup();
                let zones: Vec<&str> = zones.iter().map(String::as_str).collect();
                names('Z', &zones, usize::MAX)
            }
            'c' => strptime_pattern("%a %b %d %H:%M:%S %Y", whole)?,
            'x' => strptime_pattern("%m/%d/%y", whole)?,
            'X' => strptime_pattern("%H:%M:%S", whole)?,
            '%' => "%".into(),
            // Python escapes the format first: `%.` or `% ` is a bad `%`.
            other if other.is_whitespace() || regex::escape(&other.to_string()).len() > 1 => {
                return Err(format!("'%' is a bad directive in format '{whole}'"));
            }
            other => return Err(format!("'{other}' is a bad directive in format '{whole}'")),
        };
        out.push_str(&re);
    }
    Ok(out)
}

/// `%z`: `Z`, or `±HH[:]MM[[:]SS[.ffffff]]` in microseconds east of UTC.
fn parse_utc_offset(z: &str) -> Result<i64, String> {
    if z == "Z" {
        return Ok(0);
    }
    let mut digits = z[1..].to_owned();
    if z.as_bytes()[3] == b':' {
        digits.remove(2);
        if digits.len() > 4 {
            if digits.as_bytes()[4] != b':' {
                return Err(format!("Inconsistent use of : in {z}"));
            }
            digits.remove(4);
        }
    }
    // Python's int() of each field; a missing one is 0.
    let field = |r: std::ops::Range<usize>| match digits.get(r.start..r.end.min(digits.len())) {
        None | Some("") => Ok(0),
        Some(text) => text.parse::<i64>().map_err(|_| {
            format!(
                "invalid literal for int() with base 10: {}",
                py_repr(&Value::from(text))
            )
        }),
    };
    let secs = field(0..2)? * 3600 + field(2..4)? * 60 + field(4..6)?;
    let fraction = format!("{:0<6}", digits.get(7..).unwrap_or_default())
        .parse::<i64>()
        .unwrap_or(0);
    let micros = secs * MICROS + fraction;
    Ok(if z.starts_with('-') { -micros } else { micros })
}

/// `_calc_julian_from_U_or_W`: the day of the year of `weekday` (Monday 0)
/// in week `week` (weeks starting on Monday or Sunday).
fn julian_from_week(year: i64, week: i64, weekday_: i64, monday: bool) -> Result<i64, String> {
    let mut first = weekday(days_from_civil(check_year(year)?, 1, 1));
    let mut day = weekday_;
    if !monday {
        first = (first + 1) % 7;
        day = (day + 1) % 7;
    }
    Ok(if week == 0 {
        1 + day - first
    } else {
        1 + (7 - first) % 7 + 7 * (week - 1) + day
    })
}

/// `_calc_julian_from_V`: (year, day of the year) of an ISO week date.
fn julian_from_iso_week(iso_year: i64, week: i64, iso_weekday: i64) -> Result<(i64, i64), String> {
    let jan4 = days_from_civil(check_year(iso_year)?, 1, 4);
    let ordinal = week * 7 + iso_weekday - (weekday(jan4) + 1 + 3);
    if ordinal < 1 {
        let this = days_from_civil(iso_year, 1, 1);
        let prev = days_from_civil(check_year(iso_year - 1)?, 1, 1);
        return Ok((iso_year - 1, ordinal + this - prev));
    }
    Ok((iso_year, ordinal))
}

fn check_year(year: i64) -> Result<i64, String> {
    if (1..=9999).contains(&year) {
        Ok(year)
    } else {
        Err(format!("year {year} is out of range"))
    }
}

fn check_date(year: i64, month: i64, day: i64) -> Result<(), String> {
    check_year(year)?;
    if !(1..=12).contains(&month) {
        return Err("month must be in 1..12".into());
    }
    if day < 1 || day > i64::from(days_in_month(year, month as u32)) {
        return Err("day is out of range for month".into());
    }
    Ok(())
}

// ---- datetime and timedelta ---------------------------------------------

/// Python's `datetime`: naive, or aware with an offset east of UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateTime {
    /// Microseconds since the epoch of the wall time, as if it were UTC.
    wall: i64,
    /// Microseconds east of UTC, for an aware datetime.
    offset: Option<i64>,
}

impl DateTime {
    /// `datetime(year, month, day, hour, minute, second, microsecond,
    /// tzinfo)`, checked as Python checks it.
    fn new(fields: [i64; 6], micro: i64, offset: Option<i64>) -> Result<DateTime, String> {
        let [year, month, day, hour, minute, second] = fields;
        check_date(year, month, day)?;
        for (name, value, max) in [
            ("hour", hour, 23),
            ("minute", minute, 59),
            ("second", second, 59),
        ] {
            if !(0..=max).contains(&value) {
                return Err(format!("{name} must be in 0..{max}"));
            }
        }
        if offset.is_some_and(|o| o.abs() >= DAY * MICROS) {
            return Err(
                "offset must be a timedelta strictly between -timedelta(hours=24) and \
                        timedelta(hours=24)."
                    .into(),
            );
        }
        let secs = days_from_civil(year, month as u32, day as u32) * DAY
            + hour * 3600
            + minute * 60
            + second;
        Ok(DateTime {
            wall: secs * MICROS + micro,
            offset,
        })
    }

    fn days(&self) -> i64 {
        self.wall.div_euclid(DAY * MICROS)
    }

    fn tm(&self) -> Tm {
        Tm::wall(self.days(), self.wall.rem_euclid(DAY * MICROS) / MICROS)
    }

    fn micro(&self) -> i64 {
        self.wall.rem_euclid(MICROS)
    }

    /// Microseconds since the epoch: UTC for an aware datetime.
    fn instant(&self) -> i64 {
        self.wall - self.offset.unwrap_or(0)
    }

    /// `utcoffset()` as `strftime`'s `%z` writes it: `+HHMM[SS[.ffffff]]`.
    fn offset_text(&self, sep: &str) -> String {
        let Some(off) = self.offset else {
            return String::new();
        };
        let sign = if off < 0 { '-' } else { '+' };
        let (secs, micro) = (off.abs() / MICROS, off.abs() % MICROS);
        let mut out = format!("{sign}{:02}{sep}{:02}", secs / 3600, secs / 60 % 60);
        if secs % 60 != 0 || micro != 0 {
            out.push_str(&format!("{sep}{:02}", secs % 60));
        }
        if micro != 0 {
            out.push_str(&format!(".{micro:06}"));
        }
        out
    }

    /// `datetime.strftime`: `%z`, `%Z` and `%f` from the datetime, the rest
    /// by `time.strftime` of its fields.
    fn strftime(&self, format: &str) -> String {
        let mut expanded = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                expanded.push(c);
                continue;
            }
            match chars.next() {
                Some('z') => expanded.push_str(&self.offset_text("")),
                Some('Z') => expanded.push_str(&self.tzname()),
                Some('f') => expanded.push_str(&format!("{:06}", self.micro())),
                Some(other) => {
                    expanded.push('%');
                    expanded.push(other);
                }
                None => expanded.push('%'),
            }
        }
        format_tm(&expanded, &self.tm())
    }

    /// `tzname()` of a fixed offset: `UTC`, `UTC+02:00`; empty when naive.
    fn tzname(&self) -> String {
        match self.offset {
            None => String::new(),
            Some(0) => "UTC".into(),
            Some(_) => format!("UTC{}", self.offset_text(":")),
        }
    }

    /// `isoformat(sep='T')`.
    fn isoformat(&self, sep: &str) -> String {
        let tm = self.tm();
        let mut out = format!(
            "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}",
            tm.year, tm.month, tm.day, tm.hour, tm.minute, tm.second
        );
        if self.micro() != 0 {
            out.push_str(&format!(".{:06}", self.micro()));
        }
        out.push_str(&self.offset_text(":"));
        out
    }

    /// `timestamp()`: a naive datetime is local time.
    fn timestamp(&self) -> f64 {
        let secs = match self.offset {
            Some(_) => self.instant().div_euclid(MICROS),
            None => local_zone().to_utc(self.wall.div_euclid(MICROS), None),
        };
        secs as f64 + self.micro() as f64 / 1e6
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.isoformat(" "))
    }
}

impl Object for DateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let tm = self.tm();
        Some(Value::from(match key.as_str()? {
            "year" => tm.year,
            "month" => tm.month.into(),
            "day" => tm.day.into(),
            "hour" => tm.hour,
            "minute" => tm.minute,
            "second" => tm.second,
            "microsecond" => self.micro(),
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (format,): (&str,) = from_args(args)?;
                Ok(Value::from(self.strftime(format)))
            }
            "isoformat" => {
                let (sep,): (Option<&str>,) = from_args(args)?;
                Ok(Value::from(self.isoformat(sep.unwrap_or("T"))))
            }
            "timestamp" => {
                from_args::<()>(args)?;
                Ok(Value::from(self.timestamp()))
            }
            "weekday" | "isoweekday" => {
                from_args::<()>(args)?;
                let day = weekday(self.days());
                Ok(Value::from(if method == "weekday" { day } else { day + 1 }))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<DateTime>()?;
        if self.offset.is_some() && other.offset.is_some() {
            Some(self.instant().cmp(&other.instant()))
        } else {
            Some(self.wall.cmp(&other.wall))
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }
}

/// Python's `timedelta`, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TimeDelta(i64);

impl TimeDelta {
    fn days(&self) -> i64 {
        self.0.div_euclid(DAY * MICROS)
    }

    fn seconds(&self) -> i64 {
        self.0.rem_euclid(DAY * MICROS) / MICROS
    }
}

impl fmt::Display for TimeDelta {
    /// `-1 day, 23:59:59.500000`, as Python's `str`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.days();
        if days != 0 {
            let plural = if days.abs() != 1 { "s" } else { "" };
            write!(f, "{days} day{plural}, ")?;
        }
        let secs = self.seconds();
        write!(f, "{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)?;
        match self.0.rem_euclid(MICROS) {
            0 => Ok(()),
            micro => write!(f, ".{micro:06}"),
        }
    }
}

impl Object for TimeDelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(Value::from(match key.as_str()? {
            "days" => self.days(),
            "seconds" => self.seconds(),
            "microseconds" => self.0.rem_euclid(MICROS),
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "total_seconds" => {
                from_args::<()>(args)?;
                Ok(Value::from(self.0 as f64 / 1e6))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.0 != 0
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(self.0.cmp(&other.downcast_ref::<TimeDelta>()?.0))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }
}

/// Python's `a - b` for a rewrite of the operator: datetimes give a
/// timedelta, a datetime less a timedelta a datetime, timedeltas a
/// timedelta; numbers subtract as minijinja's `-` does.
fn subtract(a: Value, b: Value) -> Result<Value, Error> {
    let dt = |v: &Value| v.downcast_object_ref::<DateTime>().copied();
    let td = |v: &Value| v.downcast_object_ref::<TimeDelta>().copied();
    if let (Some(x), Some(y)) = (dt(&a), dt(&b)) {
        return match (x.offset, y.offset) {
            (Some(_), Some(_)) => Ok(Value::from_object(TimeDelta(x.instant() - y.instant()))),
            (None, None) => Ok(Value::from_object(TimeDelta(x.wall - y.wall))),
            _ => Err(invalid(
                "can't subtract offset-naive and offset-aware datetimes",
            )),
        };
    }
    if let (Some(x), Some(y)) = (dt(&a), td(&b)) {
        let wall = x.wall - y.0;
        let year = civil_from_days(wall.div_euclid(DAY * MICROS)).0;
        check_year(year).map_err(|_| invalid("date value out of range"))?;
        return Ok(Value::from_object(DateTime { wall, ..x }));
    }
    if let (Some(x), Some(y)) = (td(&a), td(&b)) {
        return Ok(Value::from_object(TimeDelta(x.0 - y.0)));
    }
    if a.is_number() && b.is_number() {
        if a.is_integer() && b.is_integer() {
            let (x, y) = (i128::try_from(a.clone())?, i128::try_from(b.clone())?);
            if let Some(diff) = x.checked_sub(y) {
                return Ok(Value::from(diff));
            }
        }
        let (x, y) = (f64::try_from(a)?, f64::try_from(b)?);
        return Ok(Value::from(x - y));
    }
    Err(invalid(format!(
        "unsupported operand type(s) for -: '{}' and '{}'",
        type_name(&a),
        type_name(&b)
    )))
}

fn type_name(v: &Value) -> &'static str {
    if v.downcast_object_ref::<DateTime>().is_some() {
        "datetime.datetime"
    } else if v.downcast_object_ref::<TimeDelta>().is_some() {
        "datetime.timedelta"
    } else {
        super::python_type(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(expr: &str) -> String {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(expr, ()).unwrap()
    }

    #[test]
    fn strftime_follows_glibc() {
        // python3 -c 'import time; print(time.strftime(F, time.gmtime(1700000000)))'
        let gmt = LocalType {
            offset: 0,
            dst: false,
            name: "GMT".into(),
        };
        let tm = Tm::at(1_700_000_000, &gmt);
        assert_eq!(
            format_tm("%a %A %b %B %c|%D|%e|%j|%p|%I|%U|%W|%V|%G|%u|%w", &tm),
            "Tue Tuesday Nov November Tue Nov 14 22:13:20 2023|11/14/23|14|318|PM|10|46|46|46|2023|2|2"
        );
        assert_eq!(
            format_tm("%-d|%_m|%10a|%^b|%#p|%5%|%Q|%O|%", &Tm::at(3600 * 13, &gmt)),
            "1| 1|       Thu|JAN|pm|    %|%Q|%O|%"
        );
        // 2021-01-03 is in ISO week 53 of 2020.
        let tm = Tm::at(days_from_civil(2021, 1, 3) * DAY, &gmt);
        assert_eq!(format_tm("%G-%V %g", &tm), "2020-53 20");
    }

    #[test]
    fn posix_rules_give_local_time() {
        let rule = parse_rule("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        // 2024-03-31 01:00 UTC: summer time starts; 2024-10-27 01:00 UTC: ends.
        let start = days_from_civil(2024, 3, 31) * DAY + 3600;
        assert_eq!(rule.at(start - 1).name, "CET");
        assert_eq!(rule.at(start).offset, 7200);
        let end = days_from_civil(2024, 10, 27) * DAY + 3600;
        assert_eq!(rule.at(end - 1).name, "CEST");
        assert_eq!(rule.at(end).offset, 3600);
        let south = parse_rule("<+13>-13<+14>,M9.5.0/3,M4.1.0/4").unwrap();
        assert_eq!(
            south.at(days_from_civil(2024, 1, 1) * DAY).offset,
            14 * 3600
        );
        assert!(parse_rule("EST5").is_some_and(|r| r.at(0).offset == -5 * 3600));
        // A zone file, where the machine has the time zone database.
        if let Ok(data) = std::fs::read("/usr/share/zoneinfo/Europe/Paris") {
            let zone = parse_tzif(&data).unwrap();
            assert_eq!(zone.at(start).name, "CEST");
            assert_eq!(zone.at(-2_000_000_000).offset, 561);
            assert_eq!(zone.names(), ["CET", "CEST"]);
        }
    }

    #[test]
    fn mktime_reads_wall_times_as_glibc() {
        // TZ=Europe/Paris python3 -c 'import time; print(time.mktime((Y, M, D, h, m, s, 0, 0, isdst)))'
        let zone = Zone {
            rule: parse_rule("CET-1CEST,M3.5.0,M10.5.0/3"),
            ..Zone::default()
        };
        let twice = days_from_civil(2024, 10, 27) * DAY + 2 * 3600 + 1800;
        assert_eq!(zone.to_utc(twice, Some(true)), 1_729_989_000);
        assert_eq!(zone.to_utc(twice, Some(false)), 1_729_992_600);
        assert_eq!(zone.to_utc(twice, None), 1_729_989_000);
        let skipped = days_from_civil(2024, 3, 31) * DAY + 2 * 3600 + 1800;
        assert_eq!(zone.to_utc(skipped, None), 1_711_848_600);
        let summer = days_from_civil(2024, 7, 1) * DAY;
        assert_eq!(zone.to_utc(summer, Some(true)), summer - 7200);
        assert_eq!(zone.to_utc(summer, Some(false)), summer - 3600);
    }

    #[test]
    fn strptime_as_python() {
        let dt = strptime("2020-01-01T10:00:00.5+0230", "%Y-%m-%dT%H:%M:%S.%f%z").unwrap();
        assert_eq!(dt.to_string(), "2020-01-01 10:00:00.500000+02:30");
        let dt = strptime("Tue Nov 14 22:13:20 2023", "%c").unwrap();
        assert_eq!(dt.to_string(), "2023-11-14 22:13:20");
        let dt = strptime("12 am 2023 w01 1", "%I %p %Y w%W %w").unwrap();
        assert_eq!(dt.to_string(), "2023-01-02 00:00:00");
        let dt = strptime("2020-W53-7", "%G-W%V-%u").unwrap();
        assert_eq!(dt.to_string(), "2021-01-03 00:00:00");
        assert_eq!(
            strptime("02-29", "%m-%d").unwrap_err(),
            "day is out of range for month"
        );
        assert_eq!(
            strptime("2020", "%Y %").unwrap_err(),
            "stray % in format '%Y %'"
        );
        assert_eq!(
            strptime("x", "%Q").unwrap_err(),
            "'Q' is a bad directive in format '%Q'"
        );
    }

    #[test]
    fn datetimes_subtract_to_timedeltas() {
        let dates = "{% set a = '2020-01-03 10:00:00' | to_datetime %}\
                     {% set b = '2020-01-01 11:00:30.25' | to_datetime('%Y-%m-%d %H:%M:%S.%f') %}";
        assert_eq!(
            render(&format!(
                "{dates}{{% set d = __rustle_sub(a, b) %}}{{{{ d }}}}|{{{{ d.days }}}}|{{{{ d.seconds }}}}|{{{{ d.total_seconds() }}}}"
            )),
            "1 day, 22:59:29.750000|1|82769|169169.75"
        );
        assert_eq!(
            render(&format!(
                "{dates}{{{{ __rustle_sub(b, a) }}}}|{{{{ a > b }}}}"
            )),
            "-2 days, 1:00:30.250000|True"
        );
        assert_eq!(
            render("{{ __rustle_sub(5, 7) }}|{{ __rustle_sub(1.5, 1) }}"),
            "-2|0.5"
        );
    }
}
