//! Conversions between the JSON values of the plan and template values.

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Value};
use serde_json::Value as Json;

/// The template value of a plan value; a vaulted value is decrypted here
/// (an invalid value carrying the error when it cannot be).
pub fn to_value(json: &Json) -> Value {
    if let Some(plain) = crate::vault::open(json) {
        return match plain {
            Ok(plain) => to_value(&plain),
            Err(e) => Value::from(Error::new(ErrorKind::InvalidOperation, e)),
        };
    }
    match json {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::from(items.iter().map(to_value).collect::<Vec<_>>()),
        Json::Object(map) => Value::from_pairs(map.iter().map(|(k, v)| (k.as_str(), to_value(v)))),
    }
}

/// The JSON form of a template value; undefined values are errors.
pub fn to_json(value: &Value) -> Result<Json, Error> {
    Ok(match value.kind() {
        ValueKind::Undefined => return Err(Error::from(ErrorKind::UndefinedError)),
        ValueKind::None => Json::Null,
        ValueKind::Bool => Json::Bool(value.is_true()),
        ValueKind::Number => number(value),
        ValueKind::String => Json::String(value.as_str().unwrap_or_default().to_owned()),
        ValueKind::Bytes => {
            Json::String(String::from_utf8_lossy(value.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Seq | ValueKind::Iterable => Json::Array(
            value
                .try_iter()?
                .map(|item| to_json(&item))
                .collect::<Result<_, _>>()?,
        ),
        ValueKind::Map => {
            let mut map = serde_json::Map::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                let key = key.as_str().map_or_else(|| key.to_string(), str::to_owned);
                map.insert(key, to_json(&item)?);
            }
            Json::Object(map)
        }
        ValueKind::Invalid => {
            return Err(Error::new(ErrorKind::InvalidOperation, value.to_string()));
        }
        _ => Json::String(value.to_string()),
    })
}

fn number(value: &Value) -> Json {
    if value.is_integer() {
        if let Ok(i) = i64::try_from(value.clone()) {
            return Json::from(i);
        }
        if let Ok(u) = u64::try_from(value.clone()) {
            return Json::from(u);
        }
    }
    let f = f64::try_from(value.clone()).unwrap_or(f64::NAN);
    serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_keeping_types_and_key_order() {
        let j = json!({"z": 1, "a": [true, null, 2.5, "s", -3], "m": {"k": "v"}, "big": u64::MAX});
        assert_eq!(to_json(&to_value(&j)).unwrap(), j);
        assert_eq!(to_json(&to_value(&j)).unwrap().to_string(), j.to_string());
    }

    #[test]
    fn undefined_is_an_error() {
        assert!(to_json(&Value::UNDEFINED).is_err());
    }
}
