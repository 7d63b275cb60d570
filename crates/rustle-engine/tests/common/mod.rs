//! Building slices in code and running them against the local machine.

#![allow(dead_code)]

use std::collections::HashMap;

use rustle_engine::{FileSource, LocalTarget, run_host};
use rustle_format::{Event, FORMAT_VERSION, HostSlice, HostStats, SlicePlay, Status, Task, Vars};
use serde_json::{Value as Json, json};

pub const HOST: &str = "testhost";

pub fn map(value: Json) -> Vars {
    match value {
        Json::Object(map) => map,
        other => panic!("expected a JSON object, got {other}"),
    }
}

pub fn task(action: &str, args: Json) -> Task {
    Task {
        id: String::new(),
        name: None,
        action: action.into(),
        args: map(args),
        when: Vec::new(),
        register: None,
        vars: Vars::new(),
        keywords: Vars::new(),
        source: "test.yml:1".into(),
        block: None,
    }
}

/// Builder methods for tasks.
pub trait TaskExt {
    fn named(self, name: &str) -> Task;
    fn kw(self, key: &str, value: Json) -> Task;
    fn when(self, cond: Json) -> Task;
    fn register(self, name: &str) -> Task;
    fn vars(self, vars: Json) -> Task;
}

impl TaskExt for Task {
    fn named(mut self, name: &str) -> Task {
        self.name = Some(name.into());
        self
    }

    fn kw(mut self, key: &str, value: Json) -> Task {
        self.keywords.insert(key.into(), value);
        self
    }

    fn when(mut self, cond: Json) -> Task {
        self.when.push(cond);
        self
    }

    fn register(mut self, name: &str) -> Task {
        self.register = Some(name.into());
        self
    }

    fn vars(mut self, vars: Json) -> Task {
        self.vars = map(vars);
        self
    }
}

pub fn play(index: u32, tasks: Vec<Task>) -> SlicePlay {
    SlicePlay {
        play: index,
        name: format!("play {index}"),
        hosts: vec![HOST.into()],
        gather_facts: false,
        tags: None,
        vars: Vars::new(),
        keywords: Vars::new(),
        vars_files: Vec::new(),
        gathering: Vars::new(),
        tasks: std::sync::Arc::new(
            tasks
                .into_iter()
                .enumerate()
                .map(|(i, t)| (i as u32, t))
                .collect(),
        ),
        handlers: Default::default(),
    }
}

pub fn slice(plays: Vec<SlicePlay>) -> HostSlice {
    HostSlice {
        version: FORMAT_VERSION,
        host: HOST.into(),
        check: false,
        diff: false,
        tags: Vec::new(),
        skip_tags: Vec::new(),
        playbook_dir: "/srv/playbooks".into(),
        group_names: vec!["web".into()],
        groups: map(json!({"all": [HOST], "ungrouped": [], "web": [HOST]})),
        vars: Vars::new(),
        extra_vars: Vars::new(),
        plays,
        files: Vec::new(),
    }
}

pub fn one_play(tasks: Vec<Task>) -> HostSlice {
    slice(vec![play(0, tasks)])
}

/// Files keyed by the `src` written in the task.
#[derive(Default)]
pub struct MemFiles(pub HashMap<String, Vec<u8>>);

impl FileSource for MemFiles {
    fn read(&self, src: &str) -> std::io::Result<Vec<u8>> {
        self.0
            .get(src)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, src.to_owned()))
    }

    fn list(&self, dir: &str) -> Vec<String> {
        rustle_engine::keys_under(dir, self.0.keys().map(String::as_str))
    }
}

pub struct Run {
    pub events: Vec<Event>,
    pub stats: HostStats,
}

pub fn run(slice: &HostSlice) -> Run {
    run_with(slice, &MemFiles::default())
}

pub fn run_with(slice: &HostSlice, files: &dyn FileSource) -> Run {
    let mut events = Vec::new();
    let stats = run_host(slice, &LocalTarget, files, &mut |e| events.push(e));
    Run { events, stats }
}

/// One `TaskResult`, flattened for assertions.
#[derive(Debug, Clone)]
pub struct Res {
    pub name: String,
    pub action: String,
    pub pos: Vec<u32>,
    pub status: Status,
    pub ignored: bool,
    pub result: Json,
}

impl Run {
    pub fn results(&self) -> Vec<Res> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::TaskResult {
                    key,
                    name,
                    action,
                    status,
                    ignored,
                    result,
                    ..
                } => Some(Res {
                    name: name.clone(),
                    action: action.clone(),
                    pos: key.pos.clone(),
                    status: *status,
                    ignored: *ignored,
                    result: result.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    pub fn result(&self, index: usize) -> Res {
        self.results()
            .get(index)
            .cloned()
            .unwrap_or_else(|| panic!("no result {index} in {:#?}", self.events))
    }

    pub fn statuses(&self) -> Vec<Status> {
        self.results().iter().map(|r| r.status).collect()
    }
}

pub fn path_in(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_string_lossy().into_owned()
}

pub fn mode_of(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}
