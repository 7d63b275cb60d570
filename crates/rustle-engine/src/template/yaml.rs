//! Ansible's YAML filters: `to_yaml` and `to_nice_yaml` write with
//! rustle-yaml's dumper (PyYAML's output, byte for byte), `from_yaml` and
//! `from_yaml_all` read with its loader (YAML 1.1, as Ansible reads).

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, Value};
use rustle_yaml::DumpOptions;

use super::convert::{to_json, to_value};
use super::filters::add_filter;

pub fn register(env: &mut Environment<'static>) {
    add_filter(env, "to_yaml", to_yaml);
    add_filter(env, "to_nice_yaml", to_nice_yaml);
    add_filter(env, "from_yaml", from_yaml);
    add_filter(env, "from_yaml_all", from_yaml_all);
}

/// `yaml.dump(a, allow_unicode=True, default_flow_style=None, **kwargs)`.
fn to_yaml(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    dump(&value, DumpOptions::default(), &kwargs)
}

/// `to_yaml` with `indent=4` and block style throughout.
fn to_nice_yaml(value: Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let opts = DumpOptions {
        indent: indent.unwrap_or(4),
        default_flow_style: Some(false),
        ..DumpOptions::default()
    };
    dump(&value, opts, &kwargs)
}

/// The keyword arguments Ansible passes on to `yaml.dump`.
fn dump(value: &Value, mut opts: DumpOptions, kwargs: &Kwargs) -> Result<String, Error> {
    if let Some(indent) = kwargs.get::<Option<usize>>("indent")? {
        opts.indent = indent;
    }
    if let Some(width) = kwargs.get::<Option<usize>>("width")? {
        opts.width = width;
    }
    if kwargs.has("default_flow_style") {
        opts.default_flow_style = kwargs.get::<Option<bool>>("default_flow_style")?;
    }
    for (key, slot) in [
        ("sort_keys", &mut opts.sort_keys),
        ("allow_unicode", &mut opts.allow_unicode),
        ("explicit_start", &mut opts.explicit_start),
        ("explicit_end", &mut opts.explicit_end),
    ] {
        if let Some(flag) = kwargs.get::<Option<bool>>(key)? {
            *slot = flag;
        }
    }
    kwargs.assert_all_used()?;
    Ok(rustle_yaml::dump(&to_json(value)?, &opts))
}

/// One YAML document as data. `None` stays `None`, and anything but a
/// string passes through, as in Ansible.
fn from_yaml(text: Value) -> Result<Value, Error> {
    match text.as_str() {
        Some(text) => Ok(load(text)?.into_iter().next().unwrap_or(Value::from(()))),
        None => Ok(text),
    }
}

/// Every document of a YAML stream, as a list (`None` gives `[]`).
fn from_yaml_all(text: Value) -> Result<Value, Error> {
    match text.as_str() {
        Some(text) => Ok(Value::from(load(text)?)),
        None if text.is_none() => Ok(Value::from(Vec::<Value>::new())),
        None => Ok(text),
    }
}

fn load(text: &str) -> Result<Vec<Value>, Error> {
    let docs = rustle_yaml::load(text).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "from_yaml: {} (line {}, column {})",
                e.msg, e.mark.line, e.mark.col
            ),
        )
    })?;
    Ok(docs.iter().map(|doc| to_value(&doc.to_json())).collect())
}
