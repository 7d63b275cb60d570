//! `--list-hosts`, `--list-tasks`, `--list-tags` and `--syntax-check`,
//! printed the way ansible-playbook prints them.

use rustle_format::{Document, Play, Task};

use crate::{PatternError, TagFilter, task_tags};

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub hosts: bool,
    pub tasks: bool,
    pub tags: bool,
    pub limit: Option<String>,
    pub filter: TagFilter,
}

/// The listing for a parsed document (`--syntax-check` alone prints only
/// the playbook line).
pub fn listing(doc: &Document, opts: &ListOptions) -> Result<String, PatternError> {
    let inv = &doc.parsed.inventory;
    let limit = match &opts.limit {
        Some(l) => Some(crate::resolve(inv, l)?),
        None => None,
    };
    let mut out = format!("\nplaybook: {}\n", doc.parsed.playbook);
    if !(opts.hosts || opts.tasks || opts.tags) {
        return Ok(out);
    }
    for (i, play) in doc.parsed.plays.iter().enumerate() {
        let play_tags = task_tags(play.keywords.get("tags"));
        out += &format!(
            "\n  play #{} ({}): {}\tTAGS: [{}]",
            i + 1,
            play.hosts,
            play.name,
            play_tags.join(",")
        );
        if opts.hosts {
            let mut hosts = crate::resolve(inv, &play.hosts)?;
            if let Some(l) = &limit {
                hosts.retain(|h| l.contains(h));
            }
            out += &format!(
                "\n    pattern: ['{}']\n    hosts ({}):",
                play.hosts,
                hosts.len()
            );
            for h in hosts {
                out += &format!("\n      {h}");
            }
        }
        out.push('\n');
        if opts.tasks || opts.tags {
            out += &tasks_listing(play, &play_tags, opts);
        }
    }
    Ok(out)
}

fn tasks_listing(play: &Play, play_tags: &[String], opts: &ListOptions) -> String {
    let mut lines = String::new();
    if opts.tasks {
        lines.push_str("    tasks:\n");
    }
    let mut all_tags: Vec<String> = Vec::new();
    for task in &play.tasks {
        walk(task, play_tags, None, &mut |name, tags| {
            if !opts.filter.runs(tags) {
                return;
            }
            all_tags.extend(tags.iter().cloned());
            if opts.tasks {
                lines.push_str(&format!("      {name}\tTAGS: [{}]\n", tags.join(", ")));
            }
        });
    }
    if opts.tags {
        all_tags.sort();
        all_tags.dedup();
        lines.push_str(&format!("      TASK TAGS: [{}]\n", all_tags.join(", ")));
    }
    lines
}

/// Every task Ansible lists (the `block` section of blocks, not rescue
/// or always; no implicit meta tasks), with its name as shown and its
/// inherited tags, sorted.
fn walk(task: &Task, inherited: &[String], role: Option<&str>, f: &mut dyn FnMut(&str, &[String])) {
    let mut tags = inherited.to_vec();
    tags.extend(task_tags(task.keywords.get("tags")));
    tags.sort();
    tags.dedup();
    // An include is listed itself, not what it includes (known at run
    // time to Ansible).
    if let Some(b) = task.block.as_ref().filter(|_| task.action == Task::BLOCK) {
        let role = b.role.as_ref().map(|r| r.name.as_str()).or(role);
        for t in &b.block {
            walk(t, &tags, role, f);
        }
        return;
    }
    let short = task.action.rsplit('.').next().unwrap_or(&task.action);
    if short == "meta" && task.source == Task::IMPLICIT {
        return;
    }
    let name = task.name.clone().unwrap_or_else(|| task.action.clone());
    let name = match role {
        Some(r) => format!("{r} : {name}"),
        None => name,
    };
    f(&name, &tags);
}
