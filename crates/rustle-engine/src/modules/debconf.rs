//! `debconf`: a port of ansible-core 2.19's debconf.py. It reads a
//! package's questions with `debconf-show <name>` (`* ` marks a seen one;
//! both are stripped), and when a `question` is given compares `value`
//! with the current answer the way debconf.py does: a `boolean` as
//! lower-case text, a `password` (which `debconf-show` omits) as
//! `debconf-get-selections` prints it, a `multiselect` given as a list
//! sorted against the comma-separated answer, anything else as is (so a
//! value that is not a string never matches). A difference is set with
//! `debconf-set-selections` (`-u` for `unseen`, which leaves the question
//! unseen), fed `<name> <question> <vtype> <value>`; check mode stops
//! before that.
//!
//! The result is debconf.py's: unchanged, `current` holds every answer of
//! the package; changed, `current` is `{question: value}` (the value as
//! compared: lower-cased for a boolean, a multiselect list sorted when an
//! answer existed, and joined with ", " once set, not in check mode),
//! `previous` the old answer (`""` and all the package's other answers
//! when the question was new), `msg` what `debconf-set-selections`
//! printed, and `diff` (empty without `--diff`) `previous` before and
//! after the change. Python's own failures are kept where a value of the
//! wrong type reaches them (`sequence item 3: expected str instance, int
//! found`, `Invalid value provided for 'multiselect': ...`).
//!
//! Left out: run_command's `~` and `$VAR` expansion of the package name.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::args::{py_repr, type_name};
use super::bin::{Ran, get_bin_path, searched_path};
use super::{Args, Module, ModuleCtx, ModuleError, ModuleResult, Outcome, result};

pub struct Debconf;

const VTYPES: &[&str] = &[
    "boolean",
    "error",
    "multiselect",
    "note",
    "password",
    "seen",
    "select",
    "string",
    "text",
    "title",
];

impl Module for Debconf {
    fn params(&self) -> &'static [&'static str] {
        &[
            "name",
            "pkg",
            "question",
            "selection",
            "setting",
            "vtype",
            "value",
            "answer",
            "unseen",
        ]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let p = Params::read(args)?;
        let prev = get_selections(ctx, &p.name)?;
        let Some(question) = p.question.clone() else {
            return Ok(Outcome::new(result([
                ("changed", json!(false)),
                ("msg", json!("")),
                ("current", Json::Object(prev)),
            ])));
        };
        let (Some(vtype), Some(mut value)) = (p.vtype.clone(), p.value.clone()) else {
            return Err(ModuleError::new(
                "when supplying a question you must supply a valid vtype and value",
            ));
        };
        // Booleans are compared the way debconf shows them (true/false).
        if vtype == "boolean" {
            value = Json::String(to_text(&value).to_lowercase());
        }
        let changed = match prev.get(&question).and_then(Json::as_str) {
            // A question debconf does not know cannot match.
            None => true,
            Some(existing) => match vtype.as_str() {
                "boolean" => value != Json::String(existing.to_lowercase()),
                "password" => match password_value(ctx, &p.name, &question, &vtype)? {
                    Some(existing) => value != Json::String(existing),
                    None => true,
                },
                "multiselect" if value.is_array() => {
                    let items = value.as_array().cloned().unwrap_or_default();
                    value = Json::Array(py_sorted(items).map_err(invalid_multiselect)?);
                    let mut existing: Vec<String> =
                        existing.split(',').map(|i| i.trim().to_owned()).collect();
                    existing.sort();
                    value != json!(existing)
                }
                _ => value != Json::String(existing.to_owned()),
            },
        };
        if !changed {
            return Ok(Outcome::new(result([
                ("changed", json!(false)),
                ("msg", json!("")),
                ("current", Json::Object(prev)),
            ])));
        }
        let mut msg = String::new();
        if !ctx.check {
            if vtype == "multiselect"
                && let Json::Array(items) = &value
            {
                value = Json::String(py_join(", ", items).map_err(invalid_multiselect)?);
            }
            let ran = set_selection(ctx, &p.name, &question, &vtype, &value, p.unseen)?;
            if ran.rc != 0 {
                return Err(ModuleError(ran.err));
            }
            msg = ran.out;
        }
        let mut current = Vars::new();
        current.insert(question.clone(), value.clone());
        let previous = match prev.get(&question) {
            Some(old) => {
                let mut only = Vars::new();
                only.insert(question.clone(), old.clone());
                only
            }
            // debconf.py keeps the package's other answers here.
            None => {
                let mut all = prev;
                all.insert(question.clone(), json!(""));
                all
            }
        };
        let diff = if ctx.diff {
            let mut after = previous.clone();
            after.insert(question, value);
            json!({"before": previous, "after": after})
        } else {
            json!({})
        };
        Ok(Outcome::new(result([
            ("changed", json!(true)),
            ("msg", json!(msg)),
            ("current", Json::Object(current)),
            ("previous", Json::Object(previous)),
            ("diff", diff),
        ])))
    }
}

/// The arguments, validated in the order of ansible-core's argument spec
/// checks: required, types, choices, then `required_together`.
struct Params {
    name: String,
    question: Option<String>,
    vtype: Option<String>,
    value: Option<Json>,
    unseen: bool,
}

impl Params {
    fn read(args: &Args) -> Result<Params, ModuleError> {
        let name = args.required(&["name", "pkg"])?;
        let question = args.string(&["question", "selection", "setting"])?;
        args.string(&["vtype"])?;
        let unseen = args.bool("unseen", false)?;
        let vtype = args.choice("vtype", VTYPES)?;
        let value = ["value", "answer"]
            .iter()
            .find_map(|k| args.get(k))
            .cloned();
        // `required_together` counts the arguments given, null or not.
        let given = |keys: &[&str]| keys.iter().any(|k| args.0.contains_key(*k));
        let counts = [
            given(&["question", "selection", "setting"]),
            given(&["vtype"]),
            given(&["value", "answer"]),
        ];
        if counts.contains(&true) && counts.contains(&false) {
            return Err(ModuleError::new(
                "parameters are required together: question, vtype, value",
            ));
        }
        Ok(Params {
            name,
            question,
            vtype,
            value,
            unseen,
        })
    }
}

/// `module.get_bin_path(name, required=True)`.
fn required_bin(ctx: &ModuleCtx, name: &str) -> Result<String, ModuleError> {
    get_bin_path(ctx.target, name, &[]).ok_or_else(|| {
        ModuleError(format!(
            "Failed to find required executable \"{name}\" in paths: {}",
            searched_path(&[])
        ))
    })
}

/// `module.run_command(argv, data=stdin)`: `data` gets a final newline.
fn run_command(
    ctx: &ModuleCtx,
    argv: Vec<String>,
    stdin: Option<String>,
) -> Result<Ran, ModuleError> {
    super::bin::run_command_data(ctx, &[], argv, stdin).map_err(ModuleError)
}

/// A Python exception raised in the module: ansible-core reports it as
/// the module's failure.
fn crashed(msg: &str) -> ModuleError {
    ModuleError(format!("Task failed: Module failed: {msg}"))
}

fn invalid_multiselect(err: String) -> ModuleError {
    ModuleError(format!("Invalid value provided for 'multiselect': {err}"))
}

/// `get_selections`: `debconf-show <pkg>` (run as one command line, so
/// split as shlex does), each `question: value` line with the seen mark
/// and whitespace stripped. A failure fails with its stderr.
fn get_selections(ctx: &ModuleCtx, pkg: &str) -> Result<Vars, ModuleError> {
    let show = required_bin(ctx, "debconf-show")?;
    let argv =
        shlex::split(&format!("{show} {pkg}")).ok_or_else(|| crashed("No closing quotation"))?;
    let ran = run_command(ctx, argv, None)?;
    if ran.rc != 0 {
        return Err(ModuleError(ran.err));
    }
    parse_selections(&ran.out)
}

/// The lines of `debconf-show`, as debconf.py reads them into a dict.
fn parse_selections(out: &str) -> Result<Vars, ModuleError> {
    let mut selections = Vars::new();
    for line in super::cron::splitlines(out, false) {
        let Some((key, value)) = line.split_once(':') else {
            return Err(crashed("not enough values to unpack (expected 2, got 1)"));
        };
        let key = key.trim_matches('*').trim();
        selections.insert(key.to_owned(), json!(value.trim()));
    }
    Ok(selections)
}

/// `get_password_value`: the answer `debconf-get-selections` prints for
/// the question (tab-separated `pkg question vtype value` lines); `""` at
/// the first line of the package (by prefix, as debconf.py matches it)
/// with no value field, `None` when no line matches.
fn password_value(
    ctx: &ModuleCtx,
    pkg: &str,
    question: &str,
    vtype: &str,
) -> Result<Option<String>, ModuleError> {
    let getsel = required_bin(ctx, "debconf-get-selections")?;
    let ran = run_command(ctx, vec![getsel], None)?;
    if ran.rc != 0 {
        return Err(ModuleError(format!(
            "Failed to get the value '{question}' from '{pkg}': {}",
            ran.err
        )));
    }
    Ok(find_password(&ran.out, pkg, question, vtype))
}

fn find_password(out: &str, pkg: &str, question: &str, vtype: &str) -> Option<String> {
    for line in out.split('\n').filter(|l| l.starts_with(pkg)) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() <= 3 {
            return Some(String::new());
        }
        if fields[1] == question && fields[2] == vtype {
            return Some(fields[3].to_owned());
        }
    }
    None
}

/// `set_selection`: `debconf-set-selections [-u]` fed the answer line
/// (`' '.join(...)`, which raises on a value that is not a string).
fn set_selection(
    ctx: &ModuleCtx,
    pkg: &str,
    question: &str,
    vtype: &str,
    value: &Json,
    unseen: bool,
) -> Result<Ran, ModuleError> {
    let setsel = required_bin(ctx, "debconf-set-selections")?;
    let mut argv = vec![setsel];
    if unseen {
        argv.push("-u".to_owned());
    }
    let Json::String(value) = value else {
        return Err(crashed(&format!(
            "sequence item 3: expected str instance, {} found",
            type_name(value)
        )));
    };
    run_command(ctx, argv, Some(format!("{pkg} {question} {vtype} {value}")))
}

/// Python's `str()` of a value (`to_text`).
fn to_text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => py_str_repr(other),
    }
}

/// Python's `repr()` of a value as it came from YAML or JSON.
fn py_str_repr(value: &Json) -> String {
    match value {
        Json::Null => "None".to_owned(),
        Json::Bool(true) => "True".to_owned(),
        Json::Bool(false) => "False".to_owned(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => py_repr(s),
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(py_str_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Json::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr(k), py_str_repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// Python's `<` on two values, or its TypeError.
fn py_lt(a: &Json, b: &Json) -> Result<bool, String> {
    let number = |v: &Json| match v {
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        Json::Number(n) => n.as_f64(),
        _ => None,
    };
    match (a, b) {
        (Json::String(a), Json::String(b)) => Ok(a < b),
        (Json::Array(a), Json::Array(b)) => {
            // The first items that differ decide; else the shorter is less.
            for (x, y) in a.iter().zip(b) {
                if !py_eq(x, y) {
                    return py_lt(x, y);
                }
            }
            Ok(a.len() < b.len())
        }
        _ => match (number(a), number(b)) {
            (Some(a), Some(b)) => Ok(a < b),
            _ => Err(format!(
                "'<' not supported between instances of '{}' and '{}'",
                type_name(a),
                type_name(b)
            )),
        },
    }
}

/// Python's `==` on two values (`1 == 1.0 == True`).
fn py_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Bool(_) | Json::Number(_), Json::Bool(_) | Json::Number(_)) => {
            py_lt(a, b) == Ok(false) && py_lt(b, a) == Ok(false)
        }
        (Json::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| py_eq(x, y))
        }
        _ => a == b,
    }
}

/// Python's `sorted()`: a stable binary insertion sort (CPython's for short
/// lists), so a TypeError names the pair Python compares first.
fn py_sorted(items: Vec<Json>) -> Result<Vec<Json>, String> {
    let mut sorted: Vec<Json> = Vec::with_capacity(items.len());
    for item in items {
        let (mut lo, mut hi) = (0, sorted.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if py_lt(&item, &sorted[mid])? {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        sorted.insert(lo, item);
    }
    Ok(sorted)
}

/// Python's `sep.join(items)`, or its TypeError for an item that is not a
/// string.
fn py_join(sep: &str, items: &[Json]) -> Result<String, String> {
    let mut parts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Json::String(s) => parts.push(s.as_str()),
            other => {
                return Err(format!(
                    "sequence item {i}: expected str instance, {} found",
                    type_name(other)
                ));
            }
        }
    }
    Ok(parts.join(sep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_debconf_show_like_debconf_py() {
        let out = "* tzdata/Areas: Europe\n  tzdata/Zones/Etc: UTC\n  pkg/pw: (password omitted)\n  pkg/url: http://x:80/ \n";
        assert_eq!(
            Json::Object(parse_selections(out).unwrap()),
            json!({"tzdata/Areas": "Europe", "tzdata/Zones/Etc": "UTC",
                   "pkg/pw": "(password omitted)", "pkg/url": "http://x:80/"})
        );
        assert_eq!(parse_selections("").unwrap(), Vars::new());
        assert!(parse_selections("no colon\n").is_err());
    }

    #[test]
    fn finds_passwords_like_debconf_py() {
        let out = "# comment\nother\tother/q\tstring\tx\n\
                   pkg\tpkg/other\tpassword\tnope\npkg\tpkg/pw\tpassword\ts3cret\n\
                   pkg\tpkg/empty\tpassword\t\n";
        assert_eq!(
            find_password(out, "pkg", "pkg/pw", "password").as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            find_password(out, "pkg", "pkg/empty", "password").as_deref(),
            Some("")
        );
        assert_eq!(find_password(out, "pkg", "pkg/none", "password"), None);
        // A package line without a value field ends the search with "".
        assert_eq!(
            find_password("pkg\tpkg/x\n", "pkg", "pkg/pw", "password").as_deref(),
            Some("")
        );
    }

    #[test]
    fn sorts_and_joins_like_python() {
        assert_eq!(
            py_sorted(vec![json!("b"), json!("a"), json!("C")]).unwrap(),
            vec![json!("C"), json!("a"), json!("b")]
        );
        assert_eq!(
            py_sorted(vec![json!(2), json!(true), json!(1.5)]).unwrap(),
            vec![json!(true), json!(1.5), json!(2)]
        );
        assert_eq!(
            py_sorted(vec![json!("a"), json!(1)]).unwrap_err(),
            "'<' not supported between instances of 'int' and 'str'"
        );
        assert_eq!(
            py_join(", ", &[json!("a"), json!(2)]).unwrap_err(),
            "sequence item 1: expected str instance, int found"
        );
        assert_eq!(py_join(", ", &[json!("a"), json!("b")]).unwrap(), "a, b");
    }

    #[test]
    fn text_of_values_like_python() {
        assert_eq!(to_text(&json!(true)), "True");
        assert_eq!(to_text(&json!(1)), "1");
        assert_eq!(to_text(&json!(["a", 1, null])), "['a', 1, None]");
        assert_eq!(to_text(&json!("Yes")), "Yes");
    }
}
