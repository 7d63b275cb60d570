//! Jinja2's builtins that minijinja leaves out or narrows, with Jinja's
//! arguments and results: the `center`, `truncate` and `filesizeformat`
//! filters, and `dict()` taking pairs as Python's does.

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, Value};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("center", center);
    env.add_filter("truncate", truncate);
    env.add_filter("filesizeformat", minijinja_contrib::filters::filesizeformat);
    env.add_function("dict", dict);
}

/// Python's `dict(pairs, **kwargs)` (`dict(keys | zip(values))`): a
/// mapping or a sequence of pairs, then the keyword arguments.
fn dict(pairs: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut out: Vec<(Value, Value)> = Vec::new();
    if let Some(pairs) = pairs.filter(|p| !p.is_none()) {
        if pairs.kind() == minijinja::value::ValueKind::Map {
            for key in pairs.try_iter()? {
                let value = pairs.get_item(&key)?;
                out.push((key, value));
            }
        } else {
            for pair in pairs.try_iter()? {
                let items: Vec<Value> = pair.try_iter()?.collect();
                let [key, value] = <[Value; 2]>::try_from(items).map_err(|items| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!(
                            "dictionary update sequence element has length {}; 2 is required",
                            items.len()
                        ),
                    )
                })?;
                out.push((key, value));
            }
        }
    }
    for key in kwargs.args() {
        out.push((Value::from(key), kwargs.get::<Value>(key)?));
    }
    Ok(Value::from_pairs(out))
}

/// Python's `str.center(width)`: the odd space goes left when the width
/// is odd, as CPython puts it.
fn center(s: &str, width: Option<usize>) -> String {
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if len >= width {
        return s.to_owned();
    }
    let marg = width - len;
    let left = marg / 2 + (marg & width & 1);
    format!("{}{s}{}", " ".repeat(left), " ".repeat(marg - left))
}

/// Jinja's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(
    s: &str,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<&str>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let length = kwargs
        .get::<Option<usize>>("length")?
        .or(length)
        .unwrap_or(255);
    let killwords = kwargs
        .get::<Option<bool>>("killwords")?
        .or(killwords)
        .unwrap_or(false);
    let end = kwargs.get::<Option<&str>>("end")?.or(end).unwrap_or("...");
    let leeway = kwargs.get::<Option<usize>>("leeway")?.unwrap_or(5);
    kwargs.assert_all_used()?;
    let end_len = end.chars().count();
    if length < end_len {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("expected length >= {end_len}, got {length}"),
        ));
    }
    if s.chars().count() <= length + leeway {
        return Ok(s.to_owned());
    }
    let head: String = s.chars().take(length - end_len).collect();
    let head = if killwords {
        head.as_str()
    } else {
        head.rsplit_once(' ')
            .map_or(head.as_str(), |(kept, _)| kept)
    };
    Ok(format!("{head}{end}"))
}
