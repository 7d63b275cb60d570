//! Static imports, expanded at parse time as Ansible does: `import_tasks`
//! and `import_role` become blocks carrying the import's keywords, play
//! `roles:` become role blocks (dependencies first), and `import_playbook`
//! splices another playbook's plays in. Include loops are reported with
//! the chain of files that led to them.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use rustle_format::{Block, Map, Role, Task, Value};

use crate::error::ParseError;
use crate::playbook::{Source, task_id, task_list};
use crate::yaml::{self, Kind, Mark, Node};

/// What loading files needs across the whole playbook.
#[derive(Debug)]
pub struct Loader {
    pub playbook_dir: PathBuf,
    /// Extra role directories (`ANSIBLE_ROLES_PATH`).
    pub roles_path: Vec<PathBuf>,
    /// Files being loaded, outermost first, for include loop detection.
    stack: RefCell<Vec<PathBuf>>,
    /// Roles already added to the current play, with their params.
    roles_seen: RefCell<Vec<(String, Map<String, Value>)>>,
    /// Handlers of roles used in the current play, for its handler list.
    pub pending_handlers: RefCell<Vec<Task>>,
    /// Vault secrets, for vault-encrypted `vars_files`.
    pub vault_secrets: Vec<rustle_format::VaultSecret>,
}

impl Loader {
    pub fn new(playbook_dir: PathBuf) -> Loader {
        let roles_path = std::env::var("ANSIBLE_ROLES_PATH")
            .ok()
            .or_else(config_roles_path)
            .map(|p| {
                p.split(':')
                    .filter(|s| !s.is_empty())
                    .map(expand_home)
                    .collect()
            })
            .unwrap_or_default();
        Loader {
            playbook_dir,
            roles_path,
            stack: RefCell::new(Vec::new()),
            roles_seen: RefCell::new(Vec::new()),
            pending_handlers: RefCell::new(Vec::new()),
            vault_secrets: Vec::new(),
        }
    }

    /// How sources and role paths name a file: relative to the playbook
    /// directory when inside it.
    pub fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.playbook_dir)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    pub fn new_play(&self) {
        self.roles_seen.borrow_mut().clear();
        self.pending_handlers.borrow_mut().clear();
    }

    /// Loads a YAML file and hands its root to `f`, refusing a file that is
    /// already being loaded (an include loop).
    pub fn with_file<T>(
        &self,
        path: &Path,
        referrer: &Source<'_>,
        mark: Mark,
        f: impl FnOnce(&Source<'_>, Option<&Node>) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        let canonical = path.canonicalize().map_err(|e| {
            referrer.missing(
                mark,
                format!("Could not find or access '{}': {e}", path.display()),
            )
        })?;
        if self.stack.borrow().contains(&canonical) {
            let chain: Vec<String> = self
                .stack
                .borrow()
                .iter()
                .chain(std::iter::once(&canonical))
                .map(|p| self.display(p))
                .collect();
            return Err(referrer.err(
                mark,
                format!("Include loop detected: {}", chain.join(" -> ")),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|source| ParseError::Read {
            path: path.to_owned(),
            source,
        })?;
        crate::not_vaulted(path, &text)?;
        let src = Source {
            path,
            text: &text,
            display: self.display(&canonical),
            ctx: self,
        };
        let root = yaml::load_one(&text).map_err(|e| {
            src.err(
                e.mark,
                format!("Syntax Error while loading YAML: {}", e.msg),
            )
        })?;
        self.stack.borrow_mut().push(canonical);
        let out = f(&src, root.as_ref());
        self.stack.borrow_mut().pop();
        out
    }

    /// A role's directory: `roles/NAME` beside the playbook, then each
    /// `ANSIBLE_ROLES_PATH` entry, then beside the playbook; a name with a
    /// `/` is a path.
    pub fn find_role(&self, name: &str) -> Option<PathBuf> {
        if name.contains('/') {
            let p = self.playbook_dir.join(name);
            return p.is_dir().then_some(p);
        }
        std::iter::once(self.playbook_dir.join("roles"))
            .chain(self.roles_path.iter().cloned())
            .chain(std::iter::once(self.playbook_dir.clone()))
            .map(|d| d.join(name))
            .find(|d| {
                d.join("tasks").is_dir() || d.join("meta").is_dir() || d.join("handlers").is_dir()
            })
    }
}

/// The Ansible config file in effect, found the way ansible-core finds
/// it: `ANSIBLE_CONFIG` (a file, or a directory holding `ansible.cfg`),
/// `./ansible.cfg` (unless the working directory is world-writable),
/// `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`. Absolute.
pub fn config_file() -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let from_env = std::env::var_os("ANSIBLE_CONFIG")
        .map(PathBuf::from)
        .map(|p| if p.is_dir() { p.join("ansible.cfg") } else { p });
    let cwd = std::env::current_dir().ok();
    let world_writable = cwd
        .as_ref()
        .and_then(|d| d.metadata().ok())
        .is_some_and(|m| m.permissions().mode() & 0o002 != 0);
    let local = cwd
        .filter(|_| !world_writable)
        .map(|d| d.join("ansible.cfg"));
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ansible.cfg"));
    [
        from_env,
        local,
        home,
        Some(PathBuf::from("/etc/ansible/ansible.cfg")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_file())
    .map(|p| std::path::absolute(&p).unwrap_or(p))
}

/// `roles_path` from the config file in effect.
fn config_roles_path() -> Option<String> {
    let text = std::fs::read_to_string(config_file()?).ok()?;
    let mut in_defaults = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_defaults = line == "[defaults]";
        } else if in_defaults
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == "roles_path"
        {
            return Some(v.trim().to_owned());
        }
    }
    None
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// `dir/main.yml`, `main.yaml` or `main` (or `NAME.*` for `tasks_from`).
fn main_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    ["yml", "yaml", ""]
        .iter()
        .map(|ext| {
            if ext.is_empty() {
                dir.join(stem)
            } else {
                dir.join(format!("{stem}.{ext}"))
            }
        })
        .find(|p| p.is_file())
}

/// A block around imported tasks, with the import's own keywords.
pub fn import_block(
    name: Option<String>,
    keywords: Map<String, Value>,
    when: Vec<Value>,
    vars: Map<String, Value>,
    tasks: Vec<Task>,
    role: Option<Role>,
    source: String,
) -> Task {
    let block = Block {
        block: tasks,
        role,
        ..Block::default()
    };
    block_task(name, keywords, when, vars, block, source)
}

/// The task that carries a block (written or made by an import), with
/// its id.
pub fn block_task(
    name: Option<String>,
    keywords: Map<String, Value>,
    when: Vec<Value>,
    vars: Map<String, Value>,
    block: Block,
    source: String,
) -> Task {
    let mut task = Task {
        id: String::new(),
        name,
        action: Task::BLOCK.to_owned(),
        args: Map::new(),
        when,
        register: None,
        vars,
        keywords,
        source,
        block: Some(block),
    };
    task.id = task_id(&task);
    task
}

/// Where `import_tasks: FILE` is: beside the importing file, then in the
/// playbook directory.
pub fn tasks_file(src: &Source<'_>, file: &str) -> Option<std::path::PathBuf> {
    let here = src.path.parent().unwrap_or(Path::new("."));
    [here.join(file), src.ctx.playbook_dir.join(file)]
        .into_iter()
        .find(|p| p.is_file())
}

/// The tasks of `import_tasks: FILE`, found beside the importing file,
/// then in the playbook directory.
pub fn import_tasks(
    src: &Source<'_>,
    file: &str,
    mark: Mark,
    handler: bool,
) -> Result<Vec<Task>, ParseError> {
    let ctx = src.ctx;
    let here = src.path.parent().unwrap_or(Path::new("."));
    let path = [here.join(file), ctx.playbook_dir.join(file)]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| here.join(file));
    ctx.with_file(&path, src, mark, |inner, root| match root {
        None => Ok(Vec::new()),
        Some(root) => task_list(inner, root, handler),
    })
}

/// How a role is used: `- role: x` with keywords and params, or
/// `import_role: {name: x, tasks_from: y}`.
pub struct RoleUse {
    pub name: String,
    pub tasks_from: String,
    pub keywords: Map<String, Value>,
    pub when: Vec<Value>,
    pub vars: Map<String, Value>,
    pub params: Map<String, Value>,
    pub mark: Mark,
    /// `import_role`/`include_role` in a task list: Ansible runs such a
    /// use again even when the role already ran (only the play's `roles:`
    /// are deduplicated).
    pub from_tasks: bool,
    /// `rolespec_validate` (true unless an import or include says no):
    /// check the role's arguments against its argument specs first.
    pub validate: bool,
}

/// One use of a role as a block: its dependencies' blocks, then the role's
/// own block; and its handlers (each in a role block) for the play.
pub fn role_blocks(src: &Source<'_>, use_: RoleUse) -> Result<(Task, Vec<Task>), ParseError> {
    let ctx = src.ctx;
    let dir = ctx.find_role(&use_.name).ok_or_else(|| {
        let searched: Vec<String> = std::iter::once(ctx.playbook_dir.join("roles"))
            .chain(ctx.roles_path.iter().cloned())
            .chain(std::iter::once(ctx.playbook_dir.clone()))
            .map(|p| p.display().to_string())
            .collect();
        src.missing(
            use_.mark,
            format!(
                "the role '{}' was not found in {}",
                use_.name,
                searched.join(":")
            ),
        )
    })?;
    let var_file = |sub: &str| -> Result<Map<String, Value>, ParseError> {
        let Some(path) = main_file(&dir.join(sub), "main") else {
            return Ok(Map::new());
        };
        if std::fs::read(&path).is_ok_and(|b| rustle_vault::is_encrypted(&b)) {
            return crate::vars_file(&path, &ctx.vault_secrets);
        }
        ctx.with_file(&path, src, use_.mark, |inner, root| {
            match root.map(|r| (r, r.to_json())) {
                None | Some((_, Value::Null)) => Ok(Map::new()),
                Some((_, Value::Object(m))) => Ok(m),
                Some((r, _)) => Err(inner.err(r.mark, format!("{sub}/main.yml must be a mapping"))),
            }
        })
    };
    let mut blocks = Vec::new();
    let mut handlers = Vec::new();
    // meta/main.yml: dependencies run first; allow_duplicates.
    let mut allow_duplicates = false;
    if let Some(meta) = main_file(&dir.join("meta"), "main") {
        let deps = ctx.with_file(&meta, src, use_.mark, |inner, root| {
            let mut deps = Vec::new();
            let Some(pairs) = root.and_then(Node::as_map) else {
                return Ok(deps);
            };
            for (k, v) in pairs {
                match k.as_str() {
                    Some("allow_duplicates") => allow_duplicates = v.kind == Kind::Bool(true),
                    Some("dependencies") => {
                        for d in v.as_seq().unwrap_or_default() {
                            deps.push(role_use(inner, d)?);
                        }
                    }
                    _ => {}
                }
            }
            Ok(deps)
        })?;
        for dep in deps {
            let (b, h) = role_blocks(src, dep)?;
            blocks.push(b);
            handlers.extend(h);
        }
    }
    let role = Role {
        name: use_.name.clone(),
        path: ctx.display(&dir),
        defaults: var_file("defaults")?,
        vars: var_file("vars")?,
        params: use_.params.clone(),
        tasks_from: (use_.tasks_from != "main").then(|| use_.tasks_from.clone()),
        allow_duplicates: allow_duplicates || use_.from_tasks,
    };
    // A role's handlers join the play once, however often it is used.
    let handlers_seen = ctx.roles_seen.borrow().iter().any(|(p, _)| *p == role.path);
    ctx.roles_seen
        .borrow_mut()
        .push((role.path.clone(), Map::new()));
    let tasks = match main_file(&dir.join("tasks"), &use_.tasks_from) {
        Some(path) => ctx.with_file(&path, src, use_.mark, |inner, root| match root {
            None => Ok(Vec::new()),
            Some(root) => task_list(inner, root, false),
        })?,
        None if use_.tasks_from != "main" => {
            return Err(src.err(
                use_.mark,
                format!(
                    "Could not find specified file in role: tasks/{}",
                    use_.tasks_from
                ),
            ));
        }
        None => Vec::new(),
    };
    let tasks = match use_
        .validate
        .then(|| validation_task(src, &dir, &use_))
        .transpose()?
    {
        Some(Some(check)) => std::iter::once(check).chain(tasks).collect(),
        _ => tasks,
    };
    let handlers_file = main_file(&dir.join("handlers"), "main").filter(|_| !handlers_seen);
    if let Some(path) = handlers_file {
        let role_handlers = ctx.with_file(&path, src, use_.mark, |inner, root| match root {
            None => Ok(Vec::new()),
            Some(root) => task_list(inner, root, true),
        })?;
        // Each handler in a role block of its own, which always runs.
        let handler_role = Role {
            allow_duplicates: true,
            ..role.clone()
        };
        for h in role_handlers {
            let source = h.source.clone();
            handlers.push(import_block(
                None,
                Map::new(),
                Vec::new(),
                Map::new(),
                vec![h],
                Some(handler_role.clone()),
                source,
            ));
        }
    }
    let source = format!("{}:{}:{}", src.display, use_.mark.line, use_.mark.col);
    let role_block = import_block(
        None,
        Map::new(),
        Vec::new(),
        Map::new(),
        tasks,
        Some(role),
        source.clone(),
    );
    // The use's keywords, conditions and vars apply to the role and to its
    // dependencies, which run first.
    blocks.push(role_block);
    let block = import_block(
        None,
        use_.keywords,
        use_.when,
        use_.vars,
        blocks,
        None,
        source,
    );
    Ok((block, handlers))
}

/// The task ansible-core puts before a role's own tasks when the role's
/// argument specs (`meta/argument_specs.yml`, else the `argument_specs`
/// of `meta/main.yml`) have its entry point (`tasks_from`, `main` by
/// default): `validate_argument_spec` with the entry point's options and
/// the role's parameters, tagged `always`.
fn validation_task(
    src: &Source<'_>,
    dir: &Path,
    use_: &RoleUse,
) -> Result<Option<Task>, ParseError> {
    let meta = dir.join("meta");
    let file = ["yml", "yaml", "json"]
        .iter()
        .map(|ext| meta.join(format!("argument_specs.{ext}")))
        .find(|p| p.is_file())
        .or_else(|| main_file(&meta, "main"));
    let Some(path) = file else {
        return Ok(None);
    };
    let entry = use_.tasks_from.as_str();
    src.ctx.with_file(&path, src, use_.mark, |_, root| {
        let entry_of = |map: &[(Node, Node)]| -> Option<Map<String, Value>> {
            map.iter().find_map(|(k, v)| match v.to_json() {
                Value::Object(spec) if !spec.is_empty() && k.as_str() == Some(entry) => Some(spec),
                _ => None,
            })
        };
        let found = root
            .and_then(Node::as_map)
            .and_then(|top| {
                top.iter()
                    .find(|(k, _)| k.as_str() == Some("argument_specs"))
            })
            .and_then(|(_, specs)| specs.as_map())
            .and_then(entry_of);
        let Some(spec) = found else {
            return Ok(None);
        };
        let mut name = format!("Validating arguments against arg spec '{entry}'");
        if let Some(short) = spec.get("short_description") {
            let short = match short {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            name = format!("{name} - {short}");
        }
        let role_path = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let mut args = Map::new();
        args.insert(
            "argument_spec".into(),
            spec.get("options")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
        );
        args.insert(
            "provided_arguments".into(),
            Value::Object(use_.params.clone()),
        );
        args.insert(
            "validate_args_context".into(),
            serde_json::json!({
                "type": "role",
                "name": use_.name,
                "argument_spec_name": entry,
                "path": role_path.display().to_string(),
            }),
        );
        let mut keywords = Map::new();
        keywords.insert("tags".into(), serde_json::json!(["always"]));
        let mut task = Task {
            id: String::new(),
            name: Some(name),
            action: "ansible.builtin.validate_argument_spec".into(),
            args,
            when: Vec::new(),
            register: None,
            vars: Map::new(),
            keywords,
            // ansible-core's task has no place in a file either.
            source: Task::UNKNOWN.to_owned(),
            block: None,
        };
        task.id = task_id(&task);
        Ok(Some(task))
    })
}

/// One entry of a play's `roles:` or of `dependencies:`.
pub fn role_use(src: &Source<'_>, node: &Node) -> Result<RoleUse, ParseError> {
    let mut use_ = RoleUse {
        from_tasks: false,
        name: String::new(),
        tasks_from: "main".to_owned(),
        keywords: Map::new(),
        when: Vec::new(),
        vars: Map::new(),
        params: Map::new(),
        mark: node.mark,
        validate: true,
    };
    match &node.kind {
        Kind::Str(s) => use_.name = s.clone(),
        Kind::Map(pairs) => {
            for (k, v) in pairs {
                let key = k.key_string();
                match key.as_str() {
                    "role" | "name" => use_.name = v.key_string(),
                    "when" => {
                        use_.when = match v.to_json() {
                            Value::Array(items) => items,
                            other => vec![other],
                        }
                    }
                    "vars" => {
                        if let Value::Object(m) = v.to_json() {
                            use_.vars = m;
                        }
                    }
                    _ if rustle_format::keywords::role_keyword(&key) => {
                        use_.keywords.insert(key, v.to_json());
                    }
                    _ => {
                        use_.params.insert(key, v.to_json());
                    }
                }
            }
        }
        _ => {
            return Err(src.err(
                node.mark,
                format!(
                    "a role must be a name or a mapping, got {}",
                    node.type_name()
                ),
            ));
        }
    }
    if use_.name.is_empty() {
        return Err(src.err(node.mark, "role definitions must contain a role name"));
    }
    Ok(use_)
}

/// What an `include_tasks` with a templated name may include, for the
/// engine to choose from once it renders the name: every `*.yml`/`*.yaml`
/// file of the directory the name's literal start names, beside the
/// including file and in the playbook directory (where `import_tasks`
/// looks), each loaded once as a block keyed by the name that selects it
/// (`dir/file.yml`, as written). A file that does not load as a task list
/// (vars, a playbook, the including file itself) is no candidate.
pub fn task_candidates(src: &Source<'_>, written: &str, mark: Mark, handler: bool) -> Vec<Task> {
    let literal = &written[..written.find(['{']).unwrap_or(written.len())];
    let dir = &literal[..literal.rfind('/').map_or(0, |i| i + 1)];
    let here = src.path.parent().unwrap_or(Path::new("."));
    let mut names: Vec<String> = [here, src.ctx.playbook_dir.as_path()]
        .iter()
        .filter_map(|base| std::fs::read_dir(base.join(dir)).ok())
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".yml") || name.ends_with(".yaml"))
        .map(|name| format!("{dir}{name}"))
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|key| {
            let tasks = import_tasks(src, &key, mark, handler).ok()?;
            Some(candidate(tasks, key, src, mark))
        })
        .collect()
}

/// What an `include_role` with a templated name may include: every role
/// in the roles paths `find_role` searches, each as a block keyed by its
/// name. A role that does not load (no `tasks_from` file, a broken file)
/// is no candidate.
pub fn role_candidates(src: &Source<'_>, tasks_from: &str, mark: Mark) -> Vec<Task> {
    let ctx = src.ctx;
    let mut names: Vec<String> = std::iter::once(ctx.playbook_dir.join("roles"))
        .chain(ctx.roles_path.iter().cloned())
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| ctx.find_role(name).is_some())
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let use_ = RoleUse {
                name: name.clone(),
                tasks_from: tasks_from.to_owned(),
                keywords: Map::new(),
                when: Vec::new(),
                vars: Map::new(),
                params: Map::new(),
                mark,
                from_tasks: true,
                validate: true,
            };
            let (role_block, handlers) = role_blocks(src, use_).ok()?;
            ctx.pending_handlers.borrow_mut().extend(handlers);
            Some(candidate(vec![role_block], name, src, mark))
        })
        .collect()
}

/// One candidate of a templated include: its tasks in a block keyed by
/// the name that selects it.
fn candidate(tasks: Vec<Task>, key: String, src: &Source<'_>, mark: Mark) -> Task {
    let block = Block {
        block: tasks,
        candidate: Some(key),
        ..Block::default()
    };
    let source = format!("{}:{}:{}", src.display, mark.line, mark.col);
    block_task(None, Map::new(), Vec::new(), Map::new(), block, source)
}
