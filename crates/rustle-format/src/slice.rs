//! One host's slice of a planned document: everything its runner needs.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::parsed::{FileRef, Task, Vars};
use crate::{Document, FORMAT_VERSION};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HostSlice {
    pub version: u32,
    pub host: String,
    pub check: bool,
    pub diff: bool,
    /// `--tags` (empty: all) and `--skip-tags`, applied to each task's
    /// inherited tags at run time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_tags: Vec<String>,
    pub playbook_dir: String,
    /// `group_names`.
    pub group_names: Vec<String>,
    /// `groups`: every group with its hosts (children included).
    pub groups: serde_json::Map<String, serde_json::Value>,
    /// Inventory vars of this host, merged.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub vars: Vars,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra_vars: Vars,
    pub plays: Vec<SlicePlay>,
    /// Files the tasks reference, stored in the payload as `files/<sha256>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SlicePlay {
    /// Index of the play in the playbook.
    pub play: u32,
    pub name: String,
    pub hosts: Vec<String>,
    pub gather_facts: bool,
    /// The play's own tags, which every task inherits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub vars: Vars,
    /// The play's keywords that its tasks inherit (`become`, `no_log`,
    /// `ignore_errors`, `environment`, ...: `keywords::INHERITED`).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub keywords: Vars,
    /// The play's templated `vars_files` entries (names from the playbook
    /// directory; a list takes its first file that exists), loaded when the
    /// play runs; parse loaded the others into `vars`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars_files: Vec<serde_json::Value>,
    /// The arguments of the play's implicit `gather_facts` task: its
    /// `gather_subset`, `gather_timeout` and `fact_path` (templates).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub gathering: Vars,
    /// `(index in the play, task)` for the tasks that run. Shared by the
    /// slices made from one [`SliceParts`].
    pub tasks: Arc<Vec<(u32, Task)>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handlers: Arc<Vec<Task>>,
}

/// What every host's slice of a document shares, computed once: the
/// `groups` map and each planned play's tasks and handlers, which slices
/// hold by reference so that many slices cost one copy of the plays.
#[derive(Debug, Clone)]
pub struct SliceParts {
    groups: serde_json::Map<String, serde_json::Value>,
    plays: std::collections::BTreeMap<u32, PlayParts>,
}

#[derive(Debug, Clone)]
struct PlayParts {
    tasks: Arc<Vec<(u32, Task)>>,
    handlers: Arc<Vec<Task>>,
    /// `src` files the play's tasks and handlers read.
    srcs: std::collections::BTreeSet<String>,
}

impl HostSlice {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a slice always serialises")
    }

    pub fn sha256(&self) -> String {
        crate::sha256_hex_json(self)
    }
}

impl Document {
    /// The parts every host's slice shares; make them once for many slices.
    pub fn slice_parts(&self) -> SliceParts {
        let mut plays = std::collections::BTreeMap::new();
        for pp in self.plan.iter().flat_map(|p| &p.plays) {
            let play = &self.parsed.plays[pp.play as usize];
            let tasks: Vec<(u32, Task)> = pp
                .tasks
                .iter()
                .map(|&i| (i, play.tasks[i as usize].clone()))
                .collect();
            let mut srcs = std::collections::BTreeSet::new();
            for t in tasks.iter().map(|(_, t)| t).chain(&play.handlers) {
                wanted_files(t, None, &mut srcs);
            }
            if let Some(entries) = play.keywords.get("vars_files") {
                srcs.extend(crate::vars_files_keys(entries));
            }
            plays.insert(
                pp.play,
                PlayParts {
                    tasks: Arc::new(tasks),
                    handlers: Arc::new(play.handlers.clone()),
                    srcs,
                },
            );
        }
        SliceParts {
            groups: self.groups_map(),
            plays,
        }
    }

    /// The `groups` magic variable: every group with its hosts.
    pub fn groups_map(&self) -> serde_json::Map<String, serde_json::Value> {
        self.parsed.inventory.groups_map()
    }

    /// The slice of a planned document for `host` (`None` when the document
    /// has no plan or the plan does not name the host), from the parts
    /// every host's slice shares (`slice_parts`, made once).
    pub fn host_slice_with(&self, host: &str, parts: &SliceParts) -> Option<HostSlice> {
        let plan = self.plan.as_ref()?;
        let hp = plan.hosts.iter().find(|h| h.name == host)?;
        self.host_slice_for(hp, parts, |pp| pp.hosts.iter().any(|h| h == host))
    }

    /// The slice for the host `hp` describes (which may be one the run
    /// added, absent from the plan), with the planned plays `in_play` picks.
    pub fn host_slice_for(
        &self,
        hp: &crate::HostPlan,
        parts: &SliceParts,
        in_play: impl Fn(&crate::PlannedPlay) -> bool,
    ) -> Option<HostSlice> {
        let plan = self.plan.as_ref()?;
        let host = hp.name.as_str();
        let groups = parts.groups.clone();
        let mut plays = Vec::new();
        let mut srcs = std::collections::BTreeSet::new();
        for pp in &plan.plays {
            if !in_play(pp) {
                continue;
            }
            let play = &self.parsed.plays[pp.play as usize];
            let shared = parts.plays.get(&pp.play)?;
            srcs.extend(shared.srcs.iter().cloned());
            plays.push(SlicePlay {
                play: pp.play,
                name: play.name.clone(),
                hosts: pp.hosts.clone(),
                gather_facts: play.gather_facts,
                tags: play.keywords.get("tags").cloned(),
                vars: play.vars.clone(),
                keywords: play
                    .keywords
                    .iter()
                    .filter(|(k, _)| crate::keywords::INHERITED.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                vars_files: match play.keywords.get("vars_files") {
                    Some(serde_json::Value::Array(entries)) => entries.clone(),
                    _ => Vec::new(),
                },
                gathering: ["gather_subset", "gather_timeout", "fact_path"]
                    .into_iter()
                    .filter_map(|k| {
                        let v = play.keywords.get(k).filter(|v| !v.is_null())?;
                        Some((k.to_owned(), v.clone()))
                    })
                    .collect(),
                tasks: shared.tasks.clone(),
                handlers: shared.handlers.clone(),
            });
        }
        let files = self
            .parsed
            .files
            .iter()
            .filter(|f| {
                srcs.contains(&f.src)
                    || srcs
                        .iter()
                        .any(|d| d.ends_with('/') && f.src.starts_with(d.as_str()))
                    || (srcs.contains(crate::TOP_VARS_FILES)
                        && !f.src.contains('/')
                        && f.src
                            .rsplit_once('.')
                            .is_some_and(|(_, ext)| crate::VARS_EXTENSIONS.contains(&ext)))
            })
            .cloned()
            .collect();
        Some(HostSlice {
            version: FORMAT_VERSION,
            host: host.to_owned(),
            check: plan.check,
            diff: plan.diff,
            tags: plan.tags.clone(),
            skip_tags: plan.skip_tags.clone(),
            playbook_dir: self.parsed.playbook_dir.clone(),
            group_names: hp
                .groups
                .iter()
                .filter(|g| *g != "all" && *g != "ungrouped")
                .cloned()
                .collect(),
            groups,
            vars: crate::plan::slice_vars(&hp.vars),
            extra_vars: {
                let mut extra = self.parsed.extra_vars.clone();
                extra.extend(plan.extra_vars.clone());
                extra
            },
            plays,
            files,
        })
    }
}

/// Every file key a task may ask for (see `src_candidates`), with the
/// role of the block around it.
fn wanted_files(task: &Task, role: Option<&str>, out: &mut std::collections::BTreeSet<String>) {
    if let Some(b) = &task.block {
        let role = b.role.as_ref().map(|r| r.path.as_str()).or(role);
        for t in b.block.iter().chain(&b.rescue).chain(&b.always) {
            wanted_files(t, role, out);
        }
        return;
    }
    if task.wants_top_vars_files() {
        out.insert(crate::TOP_VARS_FILES.to_owned());
    }
    if let Some(src) = task.controller_src() {
        let subdir = crate::src_subdir(&task.action);
        // A templated `src` wants every file under the directories it can
        // resolve into (kept as `dir/` prefixes).
        match crate::src_dirs(src, subdir, role, crate::source_dir(&task.source)) {
            Some(dirs) => out.extend(dirs),
            None => {
                let keys = task.src_keys(role);
                // copy's directory `src` (include_vars' `dir`): the
                // files under it.
                if subdir == "files" || subdir == "vars" {
                    out.extend(keys.iter().map(|k| format!("{}/", k.trim_end_matches('/'))));
                }
                out.extend(keys);
            }
        }
    }
}
