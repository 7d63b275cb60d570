//! Plays and tasks: YAML nodes into `rustle_format::Play` and `Task`,
//! with Ansible's rules for action detection and argument forms.

use std::path::Path;

use rustle_format::{
    Block, FileRef, Map, Play, TOP_VARS_FILES, Task, VARS_EXTENSIONS, Value, keywords, sha256_hex,
    sha256_hex_json, source_dir, src_dirs, src_subdir, vars_files_keys,
};

use crate::include::{
    Loader, RoleUse, block_task, import_block, import_tasks, role_blocks, role_candidates,
    role_use, task_candidates, tasks_file,
};

use crate::error::{Located, ParseError};
use crate::kv::parse_kv;
use crate::yaml::{self, Kind, Mark, Node};

/// Modules whose argument string is free-form text.
const FREE_FORM: &[&str] = &[
    "command",
    "shell",
    "raw",
    "script",
    "win_command",
    "win_shell",
];

/// The short name of an action: `ansible.builtin.copy` -> `copy`.
pub fn short_action(action: &str) -> &str {
    action
        .strip_prefix("ansible.builtin.")
        .or_else(|| action.strip_prefix("ansible.legacy."))
        .unwrap_or(action)
}

/// One YAML file being turned into plays, with what errors need.
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    /// How `Task.source` names this file.
    pub display: String,
    pub ctx: &'a Loader,
}

impl Source<'_> {
    pub fn err(&self, mark: Mark, msg: impl Into<String>) -> ParseError {
        ParseError::Syntax(Located::new(self.path, self.text, mark, msg))
    }

    /// Something this file names is not there.
    pub fn missing(&self, mark: Mark, msg: impl Into<String>) -> ParseError {
        ParseError::Missing(Located::new(self.path, self.text, mark, msg))
    }
}

pub fn plays(src: &Source<'_>, root: &Node) -> Result<Vec<Play>, ParseError> {
    let Some(items) = root.as_seq() else {
        return Err(src.err(
            root.mark,
            format!(
                "A playbook must be a list of plays, got {} instead",
                root.type_name()
            ),
        ));
    };
    let mut out = Vec::new();
    for item in items {
        let import = item.as_map().and_then(|pairs| {
            pairs.iter().find(|(k, _)| {
                matches!(
                    k.as_str(),
                    Some("import_playbook" | "ansible.builtin.import_playbook")
                )
            })
        });
        match import {
            Some((_, v)) => out.extend(import_playbook(src, item, v)?),
            None => out.push(play(src, item)?),
        }
    }
    Ok(out)
}

/// `- import_playbook: other.yml` (with optional `vars` and `tags`).
fn import_playbook(src: &Source<'_>, item: &Node, file: &Node) -> Result<Vec<Play>, ParseError> {
    let name = scalar_text(file);
    let here = src.path.parent().unwrap_or(Path::new("."));
    let mut extra_vars = Map::new();
    let mut tags = None;
    for (k, v) in item.as_map().unwrap_or_default() {
        match k.key_string().as_str() {
            "vars" => extra_vars = vars(src, v)?,
            "tags" => tags = Some(v.to_json()),
            "name" | "import_playbook" | "ansible.builtin.import_playbook" => {}
            other => {
                return Err(src.err(
                    k.mark,
                    format!("'{other}' is not a valid attribute for a PlaybookInclude"),
                ));
            }
        }
    }
    let mut plays = src.ctx.with_file(
        &here.join(&name),
        src,
        file.mark,
        |inner, root| match root {
            None => Ok(Vec::new()),
            Some(root) => plays(inner, root),
        },
    )?;
    for p in &mut plays {
        for (k, v) in &extra_vars {
            p.vars.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if let Some(t) = &tags {
            p.keywords.entry("tags").or_insert_with(|| t.clone());
        }
    }
    Ok(plays)
}

fn play(src: &Source<'_>, node: &Node) -> Result<Play, ParseError> {
    let Some(pairs) = node.as_map() else {
        return Err(src.err(
            node.mark,
            format!("A play must be a mapping, got {} instead", node.type_name()),
        ));
    };
    if let Some((k, _)) = pairs
        .iter()
        .find(|(k, _)| k.as_str() == Some("import_playbook"))
    {
        return Err(src.err(
            k.mark,
            "import_playbook is not supported by this version of rustle-parse yet",
        ));
    }
    let mut play = Play {
        name: String::new(),
        hosts: String::new(),
        gather_facts: true,
        vars: Map::new(),
        tasks: Vec::new(),
        handlers: Vec::new(),
        keywords: Map::new(),
        source: format!("{}:{}:{}", src.display, node.mark.line, node.mark.col),
    };
    let mut hosts_seen = false;
    src.ctx.new_play();
    let (mut pre, mut roles, mut post) = (Vec::new(), Vec::new(), Vec::new());
    let mut files_vars = Map::new();
    let mut prompt_vars = Map::new();
    for (k, v) in pairs {
        let key = k.key_string();
        match key.as_str() {
            "name" => play.name = scalar_text(v),
            "hosts" => {
                hosts_seen = true;
                play.hosts = match &v.kind {
                    Kind::Seq(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
                    _ => scalar_text(v),
                };
            }
            "gather_facts" => play.gather_facts = boolean(src, v, "gather_facts")?,
            "vars" => play.vars = vars(src, v)?,
            "vars_files" => files_vars = vars_files(src, v, &mut play.keywords)?,
            "vars_prompt" => {
                // Without a terminal to ask on, Ansible takes each default.
                prompt_vars = prompt_defaults(v);
                play.keywords.insert(key, v.to_json());
            }
            "tasks" => play.tasks = task_list(src, v, false)?,
            "pre_tasks" => pre = task_list(src, v, false)?,
            "post_tasks" => post = task_list(src, v, false)?,
            "roles" => {
                for entry in v.as_seq().unwrap_or_default() {
                    let (block, handlers) = role_blocks(src, role_use(src, entry)?)?;
                    roles.push(block);
                    src.ctx.pending_handlers.borrow_mut().extend(handlers);
                }
            }
            "handlers" => play.handlers = task_list(src, v, true)?,
            _ if keywords::PLAY.contains(&key.as_str()) => {
                play.keywords.insert(key, v.to_json());
            }
            _ => {
                return Err(src.err(
                    k.mark,
                    format!("'{key}' is not a valid attribute for a Play"),
                ));
            }
        }
    }
    // vars_prompt, then vars_files, sit above play vars.
    play.vars.extend(prompt_vars);
    play.vars.extend(files_vars);
    // Ansible's order: pre_tasks, flush, roles, tasks, flush, post_tasks.
    let mut tasks = pre;
    if !tasks.is_empty() {
        tasks.push(flush_handlers());
    }
    tasks.extend(roles);
    tasks.append(&mut play.tasks);
    if !post.is_empty() {
        tasks.push(flush_handlers());
        tasks.extend(post);
    }
    play.tasks = tasks;
    let mut handlers: Vec<Task> = src.ctx.pending_handlers.borrow_mut().drain(..).collect();
    handlers.append(&mut play.handlers);
    play.handlers = handlers;
    if !hosts_seen || play.hosts.is_empty() {
        return Err(src.err(node.mark, "the field 'hosts' is required but was not set"));
    }
    if play.name.is_empty() {
        play.name = play.hosts.clone();
    }
    Ok(play)
}

/// The `default` of each `vars_prompt` entry that has one.
fn prompt_defaults(v: &Node) -> Map<String, Value> {
    let mut out = Map::new();
    for entry in v.as_seq().unwrap_or_default() {
        if let Value::Object(m) = entry.to_json()
            && let (Some(Value::String(name)), Some(default)) = (m.get("name"), m.get("default"))
        {
            out.insert(name.clone(), default.clone());
        }
    }
    out
}

/// `vars_files:` loaded now, relative to the playbook file. An entry that
/// is a list takes its first file that exists. Templated names depend on
/// run-time variables; they stay in the play's keywords.
fn vars_files(
    src: &Source<'_>,
    v: &Node,
    keywords: &mut Map<String, Value>,
) -> Result<Map<String, Value>, ParseError> {
    let here = src.path.parent().unwrap_or(Path::new("."));
    let mut out = Map::new();
    let mut templated = Vec::new();
    let entries: Vec<&Node> = match &v.kind {
        Kind::Seq(items) => items.iter().collect(),
        Kind::Null => Vec::new(),
        _ => vec![v],
    };
    for entry in entries {
        let choices: Vec<String> = match &entry.kind {
            Kind::Seq(items) => items.iter().map(scalar_text).collect(),
            _ => vec![scalar_text(entry)],
        };
        if choices.iter().any(|c| c.contains("{{")) {
            // Kept for run time, named from the playbook directory.
            let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
            let dir = canonical(here)
                .strip_prefix(canonical(&src.ctx.playbook_dir))
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let key = |c: &String| match dir.as_str() {
                _ if c.starts_with('/') => c.clone(),
                "" | "." => c.clone(),
                d => format!("{d}/{c}"),
            };
            let keys: Vec<Value> = choices.iter().map(|c| Value::from(key(c))).collect();
            templated.push(match &entry.kind {
                Kind::Seq(_) => Value::Array(keys),
                _ => keys.into_iter().next().unwrap_or_default(),
            });
            continue;
        }
        let found = choices.iter().map(|c| here.join(c)).find(|p| p.is_file());
        let Some(path) = found else {
            return Err(src.err(
                entry.mark,
                format!("vars file {} was not found", choices.join(", ")),
            ));
        };
        out.extend(crate::vars_file(&path, &src.ctx.vault_secrets)?);
    }
    if !templated.is_empty() {
        keywords.insert("vars_files".into(), Value::Array(templated));
    }
    Ok(out)
}

/// The implicit `meta: flush_handlers` between a play's sections.
fn flush_handlers() -> Task {
    let mut args = Map::new();
    args.insert("_raw_params".into(), Value::from("flush_handlers"));
    let mut task = Task {
        id: String::new(),
        name: None,
        action: "meta".into(),
        args,
        when: Vec::new(),
        register: None,
        vars: Map::new(),
        keywords: Map::new(),
        source: Task::IMPLICIT.to_owned(),
        block: None,
    };
    task.id = task_id(&task);
    task
}

/// The text of a scalar as Ansible would see it in a string context.
fn scalar_text(v: &Node) -> String {
    match &v.kind {
        Kind::Str(s) | Kind::Tagged(_, s) => s.clone(),
        Kind::Null => String::new(),
        _ => v.to_json().to_string(),
    }
}

fn boolean(src: &Source<'_>, v: &Node, what: &str) -> Result<bool, ParseError> {
    match &v.kind {
        Kind::Bool(b) => Ok(*b),
        Kind::Str(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" | "y" | "t" => Ok(true),
            "no" | "false" | "off" | "0" | "n" | "f" => Ok(false),
            _ => Err(src.err(v.mark, format!("'{what}' must be a boolean, got {s:?}"))),
        },
        Kind::Int(i) => Ok(*i != 0),
        _ => Err(src.err(
            v.mark,
            format!("'{what}' must be a boolean, got {}", v.type_name()),
        )),
    }
}

fn vars(src: &Source<'_>, v: &Node) -> Result<Map<String, Value>, ParseError> {
    match &v.kind {
        Kind::Null => Ok(Map::new()),
        Kind::Map(_) => match v.to_json() {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        },
        _ => Err(src.err(
            v.mark,
            format!(
                "Vars in a Play must be specified as a dictionary, got {}",
                v.type_name()
            ),
        )),
    }
}

pub fn task_list(src: &Source<'_>, v: &Node, handlers: bool) -> Result<Vec<Task>, ParseError> {
    match &v.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Seq(items) => items.iter().map(|t| task(src, t, handlers)).collect(),
        _ => Err(src.err(
            v.mark,
            format!("A list of tasks is required, got {} instead", v.type_name()),
        )),
    }
}

fn task(src: &Source<'_>, node: &Node, handler: bool) -> Result<Task, ParseError> {
    let Some(pairs) = node.as_map() else {
        return Err(src.err(
            node.mark,
            format!("A task must be a mapping, got {} instead", node.type_name()),
        ));
    };
    if pairs
        .iter()
        .any(|(k, _)| matches!(k.as_str(), Some("block" | "rescue" | "always")))
    {
        return block(src, node, pairs, handler);
    }
    let mut actions: Vec<(&Node, &Node)> = Vec::new();
    let mut name = None;
    let mut when = Vec::new();
    let mut register = None;
    let mut task_vars = Map::new();
    let mut extra_args: Option<&Node> = None;
    let mut keywords = Map::new();
    for (k, v) in pairs {
        let key = k.key_string();
        match key.as_str() {
            "name" => name = Some(scalar_text(v)),
            "when" => when = conditions(v),
            "register" => register = Some(scalar_text(v)),
            "vars" => task_vars = vars(src, v)?,
            "args" => extra_args = Some(v),
            "action" | "local_action" => actions.push((k, v)),
            "listen" if !handler => {
                return Err(src.err(k.mark, "'listen' is only valid for handlers"));
            }
            _ if keywords::TASK.contains(&key.as_str()) => {
                keywords.insert(key, v.to_json());
            }
            _ if key.starts_with("with_") => {
                keywords.insert("loop_with".to_owned(), Value::String(key[5..].to_owned()));
                keywords.insert("loop".to_owned(), v.to_json());
            }
            _ => actions.push((k, v)),
        }
    }
    let (action, mut args) = match actions.as_slice() {
        [] => {
            return Err(src.err(node.mark, "no module/action detected in task."));
        }
        [(k, v)] => action_and_args(src, k, v)?,
        [first, second, ..] => {
            return Err(src.err(
                second.0.mark,
                format!(
                    "conflicting action statements: {}, {}",
                    first.0.key_string(),
                    second.0.key_string()
                ),
            ));
        }
    };
    if let Some(a) = extra_args {
        match a.to_json() {
            Value::Object(m) => args.extend(m),
            Value::Null => {}
            _ => return Err(src.err(a.mark, "'args' must be a dictionary")),
        }
    }
    let source = format!("{}:{}:{}", src.display, node.mark.line, node.mark.col);
    match short_action(&action) {
        "import_tasks" => {
            if keywords.contains_key("loop") {
                return Err(src.err(node.mark, "You cannot use loops on 'import_tasks' statements. You should use 'include_tasks' instead."));
            }
            let file = include_file(&args).unwrap_or_default().to_owned();
            let tasks = import_tasks(src, &file, node.mark, handler)?;
            return Ok(import_block(
                name, keywords, when, task_vars, tasks, None, source,
            ));
        }
        // Loaded here, run as the engine decides: `when` and `loop` apply
        // to the include itself, its vars to the included tasks. What is
        // missing now is Ansible's run-time failure, not a parse error.
        "include_tasks"
            if !templated(&args, &["_raw_params", "file"])
                && include_file(&args).is_some_and(|f| tasks_file(src, f).is_some()) =>
        {
            let file = include_file(&args).unwrap_or_default().to_owned();
            let tasks = import_tasks(src, &file, node.mark, handler)?;
            let mut task = import_block(name, keywords, when, task_vars, tasks, None, source);
            task.action = action;
            task.args = args;
            task.id = task_id(&task);
            return Ok(task);
        }
        // A templated name: every file or role it may name is loaded, and
        // the engine picks one when it has rendered the name.
        "include_tasks" | "include_role" if templated(&args, &["_raw_params", "file", "name"]) => {
            let candidates = if short_action(&action) == "include_tasks" {
                let written = include_file(&args).unwrap_or_default();
                task_candidates(src, written, node.mark, handler)
            } else {
                let tasks_from = args.get("tasks_from").and_then(Value::as_str);
                role_candidates(src, tasks_from.unwrap_or("main"), node.mark)
            };
            let mut task = import_block(name, keywords, when, task_vars, candidates, None, source);
            task.action = action;
            task.args = args;
            task.id = task_id(&task);
            return Ok(task);
        }
        "include_role"
            if !templated(&args, &["name", "tasks_from"])
                && args
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| src.ctx.find_role(n).is_some()) =>
        {
            let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_owned);
            let use_ = RoleUse {
                name: text("name").unwrap_or_default(),
                tasks_from: text("tasks_from").unwrap_or_else(|| "main".to_owned()),
                keywords: Map::new(),
                when: Vec::new(),
                vars: Map::new(),
                params: Map::new(),
                mark: node.mark,
                from_tasks: true,
                validate: args.get("rolespec_validate") != Some(&Value::Bool(false)),
            };
            let (role_block, handlers) = role_blocks(src, use_)?;
            src.ctx.pending_handlers.borrow_mut().extend(handlers);
            let mut task = block_task(
                name,
                keywords,
                when,
                task_vars,
                Block {
                    block: vec![role_block],
                    ..Block::default()
                },
                source,
            );
            task.action = action;
            task.args = args;
            task.id = task_id(&task);
            return Ok(task);
        }
        "import_role" => {
            let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_owned);
            let use_ = RoleUse {
                name: text("name").unwrap_or_default(),
                tasks_from: text("tasks_from").unwrap_or_else(|| "main".to_owned()),
                keywords,
                when,
                vars: task_vars,
                params: Map::new(),
                mark: node.mark,
                from_tasks: true,
                validate: args.get("rolespec_validate") != Some(&Value::Bool(false)),
            };
            let (block, handlers) = role_blocks(src, use_)?;
            src.ctx.pending_handlers.borrow_mut().extend(handlers);
            return Ok(block);
        }
        _ => {}
    }
    if actions[0].0.as_str() == Some("local_action") {
        keywords.insert(
            "delegate_to".to_owned(),
            Value::String("localhost".to_owned()),
        );
    }
    let mut task = Task {
        id: String::new(),
        name,
        action,
        args,
        when,
        register,
        vars: task_vars,
        keywords,
        source,
        block: None,
    };
    task.id = task_id(&task);
    Ok(task)
}

/// The file an `include_tasks` names.
fn include_file(args: &Map<String, Value>) -> Option<&str> {
    args.get("_raw_params")
        .or_else(|| args.get("file"))
        .and_then(Value::as_str)
}

/// Whether any of `keys` in `args` is a template (known only at run time).
fn templated(args: &Map<String, Value>, keys: &[&str]) -> bool {
    keys.iter()
        .filter_map(|k| args.get(*k).and_then(Value::as_str))
        .any(|v| v.contains("{{") || v.contains("{%"))
}

/// A block: its sections, and its own keywords for the tasks inside.
fn block(
    src: &Source<'_>,
    node: &Node,
    pairs: &[(Node, Node)],
    handler: bool,
) -> Result<Task, ParseError> {
    let mut sections = Block::default();
    let mut name = None;
    let mut when = Vec::new();
    let mut block_vars = Map::new();
    let mut keywords = Map::new();
    for (k, v) in pairs {
        let key = k.key_string();
        match key.as_str() {
            "block" => sections.block = task_list(src, v, handler)?,
            "rescue" => sections.rescue = task_list(src, v, handler)?,
            "always" => sections.always = task_list(src, v, handler)?,
            "name" => name = Some(scalar_text(v)),
            "when" => when = conditions(v),
            "vars" => block_vars = vars(src, v)?,
            _ if keywords::block_accepts(&key) => {
                keywords.insert(key, v.to_json());
            }
            _ => {
                return Err(src.err(
                    k.mark,
                    format!("'{key}' is not a valid attribute for a Block"),
                ));
            }
        }
    }
    Ok(block_task(
        name,
        keywords,
        when,
        block_vars,
        sections,
        format!("{}:{}:{}", src.display, node.mark.line, node.mark.col),
    ))
}

/// `when:` as a list of conditions.
fn conditions(v: &Node) -> Vec<Value> {
    match v.to_json() {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// `module: args`, `action: module args`, `local_action: ...`.
fn action_and_args(
    src: &Source<'_>,
    key: &Node,
    value: &Node,
) -> Result<(String, Map<String, Value>), ParseError> {
    let k = key.key_string();
    if k == "action" || k == "local_action" {
        return match &value.kind {
            Kind::Str(s) => {
                let s = s.trim();
                let (module, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
                let free = FREE_FORM.contains(&short_action(module));
                Ok((module.to_owned(), parse_kv(rest.trim(), free)))
            }
            Kind::Map(pairs) => {
                let mut module = None;
                let mut args = Map::new();
                for (mk, mv) in pairs {
                    if mk.as_str() == Some("module") {
                        module = Some(scalar_text(mv));
                    } else {
                        args.insert(mk.key_string(), mv.to_json());
                    }
                }
                let module = module.ok_or_else(|| {
                    src.err(value.mark, format!("no module/action detected in '{k}'"))
                })?;
                Ok((module, args))
            }
            _ => Err(src.err(value.mark, format!("'{k}' must be a string or a mapping"))),
        };
    }
    let free = FREE_FORM.contains(&short_action(&k));
    let args = match &value.kind {
        Kind::Null => Map::new(),
        Kind::Str(s) => parse_kv(s, free),
        Kind::Map(_) => match value.to_json() {
            Value::Object(mut m) => {
                // `command: {cmd: ...}` is the same as free-form text.
                if free && let Some(cmd) = m.remove("cmd") {
                    m.insert("_raw_params".to_owned(), cmd);
                }
                m
            }
            _ => Map::new(),
        },
        Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) | Kind::Tagged(..) => {
            let mut m = Map::new();
            m.insert("_raw_params".to_owned(), value.to_json());
            m
        }
        Kind::Seq(_) => {
            return Err(src.err(
                value.mark,
                format!("the arguments of '{k}' must be a string or a mapping, got a list"),
            ));
        }
    };
    Ok((k, args))
}

/// First 16 hex digits of the sha256 of the task's content (not its place).
pub fn task_id(task: &Task) -> String {
    let content = (
        &task.name,
        &task.action,
        &task.args,
        &task.when,
        &task.register,
        &task.vars,
        &task.keywords,
        &task.block,
    );
    sha256_hex_json(&content)[..16].to_owned()
}

/// Controller files named by `src:` of copy/template/script tasks, found
/// where Ansible looks for them (`src_candidates`: the role's `files/` or
/// `templates/`, the role, then the playbook's); for a templated source,
/// every file under the directories it can resolve into (`src_dirs`).
/// Missing sources are left for run time, where Ansible reports them.
pub fn referenced_files(plays: &[Play], playbook_dir: &Path) -> Result<Vec<FileRef>, ParseError> {
    let mut out: Vec<FileRef> = Vec::new();
    for p in plays {
        for t in p.tasks.iter().chain(&p.handlers) {
            task_files(t, None, playbook_dir, &mut out)?;
        }
        // Templated vars_files: the files they may name.
        for key in p
            .keywords
            .get("vars_files")
            .map(vars_files_keys)
            .unwrap_or_default()
        {
            if key == TOP_VARS_FILES {
                add_top_vars_files(playbook_dir, &mut out)?;
            } else if key.ends_with('/') {
                add_tree(&key, &playbook_dir.join(&key), &mut out)?;
            } else if playbook_dir.join(&key).is_file() {
                add_file(key.clone(), &playbook_dir.join(&key), &mut out)?;
            }
        }
    }
    Ok(out)
}

fn task_files(
    t: &Task,
    role: Option<&str>,
    playbook_dir: &Path,
    out: &mut Vec<FileRef>,
) -> Result<(), ParseError> {
    if let Some(b) = &t.block {
        let role = b.role.as_ref().map(|r| r.path.as_str()).or(role);
        for c in b.block.iter().chain(&b.rescue).chain(&b.always) {
            task_files(c, role, playbook_dir, out)?;
        }
        return Ok(());
    }
    if t.wants_top_vars_files() {
        add_top_vars_files(playbook_dir, out)?;
    }
    let Some(src) = t.controller_src() else {
        return Ok(());
    };
    let subdir = src_subdir(&t.action);
    if let Some(dirs) = src_dirs(src, subdir, role, source_dir(&t.source)) {
        // Templated: every file it could render to, found at run time.
        for dir in dirs {
            add_tree(&dir, &playbook_dir.join(&dir), out)?;
        }
        return Ok(());
    }
    let action = short_action(&t.action);
    for key in t.src_keys(role) {
        let path = playbook_dir.join(&key);
        if path.is_file() {
            add_file(key, &path, out)?;
            break;
        }
        // A directory (copy's `src: dir` or `dir/`): every file under it.
        if action == "copy" && path.is_dir() {
            add_tree(&format!("{}/", key.trim_end_matches('/')), &path, out)?;
            break;
        }
        // include_vars' `dir` is looked up in one place, which depends on
        // the role (the engine decides): every candidate is embedded.
        if action == "include_vars" && path.is_dir() {
            add_tree(&format!("{}/", key.trim_end_matches('/')), &path, out)?;
        }
    }
    Ok(())
}

fn add_file(key: String, path: &Path, out: &mut Vec<FileRef>) -> Result<(), ParseError> {
    if out.iter().any(|f| f.src == key) {
        return Ok(());
    }
    let bytes = std::fs::read(path).map_err(|source| ParseError::Read {
        path: path.to_owned(),
        source,
    })?;
    out.push(FileRef {
        src: key,
        path: path.display().to_string(),
        sha256: sha256_hex(&bytes),
        size: bytes.len() as u64,
    });
    Ok(())
}

/// The vars files directly in the playbook directory (`TOP_VARS_FILES`).
fn add_top_vars_files(playbook_dir: &Path, out: &mut Vec<FileRef>) -> Result<(), ParseError> {
    let Ok(entries) = std::fs::read_dir(playbook_dir) else {
        return Ok(());
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.rsplit_once('.')
                .is_some_and(|(_, ext)| VARS_EXTENSIONS.contains(&ext))
        })
        .collect();
    names.sort();
    for name in names {
        let path = playbook_dir.join(&name);
        if path.is_file() {
            add_file(name, &path, out)?;
        }
    }
    Ok(())
}

/// Every file under `dir` (the key prefix `prefix`, ending in `/`), in
/// name order; nothing when it is not a directory.
fn add_tree(prefix: &str, dir: &Path, out: &mut Vec<FileRef>) -> Result<(), ParseError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut names: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let key = format!("{prefix}{}", name.to_string_lossy());
        if path.is_dir() {
            add_tree(&format!("{key}/"), &path, out)?;
        } else if path.is_file() {
            add_file(key, &path, out)?;
        }
    }
    Ok(())
}

/// Loads one playbook file into plays; `shown` is the path as the user
/// gave it, used in messages.
pub fn load_playbook(
    ctx: &Loader,
    path: &Path,
    shown: &Path,
    display: String,
) -> Result<Vec<Play>, ParseError> {
    let text = std::fs::read_to_string(path).map_err(|source| ParseError::Read {
        path: shown.to_owned(),
        source,
    })?;
    crate::not_vaulted(shown, &text)?;
    let src = Source {
        path: shown,
        text: &text,
        display,
        ctx,
    };
    let root = yaml::load_one(&text).map_err(|e| {
        src.err(
            e.mark,
            format!("Syntax Error while loading YAML: {}", e.msg),
        )
    })?;
    match root {
        None => Err(src.err(Mark { line: 1, col: 1 }, "Empty playbook, nothing to do")),
        Some(root) => plays(&src, &root),
    }
}
