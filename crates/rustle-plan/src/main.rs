use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use rustle_format::{Document, Stage};
use rustle_plan::{PlanOptions, plan};
use rustle_select::{ListOptions, TagFilter, listing};

/// Read a parsed Rustle document on stdin and write the planned document on stdout.
#[derive(Parser)]
#[command(name = "rustle-plan", version)]
struct Args {
    /// Further limit the selected hosts to this pattern.
    #[arg(short, long)]
    limit: Option<String>,
    /// Hosts to run at once.
    #[arg(short, long, default_value_t = 5)]
    forks: u32,
    /// Predict changes without making them.
    #[arg(short = 'C', long)]
    check: bool,
    /// Show what changes in files.
    #[arg(short = 'D', long)]
    diff: bool,
    /// Run every host task by task over SSH instead of through a runner.
    #[arg(long)]
    ssh_only: bool,
    /// Only run tasks with these tags.
    #[arg(short, long)]
    tags: Vec<String>,
    /// Run no task with these tags.
    #[arg(long)]
    skip_tags: Vec<String>,
    /// Extra variables: key=value or a JSON mapping; may be repeated.
    #[arg(short = 'e', long = "extra-vars")]
    extra_vars: Vec<String>,
    /// List each play's hosts (after --limit) instead of writing JSON.
    #[arg(long)]
    list_hosts: bool,
    /// List each play's tasks (after --tags) instead of writing JSON.
    #[arg(long)]
    list_tasks: bool,
    /// Print the plan for people (plays, batches, hints, sync points,
    /// hosts) instead of writing JSON.
    #[arg(long)]
    explain: bool,
    /// Indent the JSON for people.
    #[arg(long)]
    pretty: bool,
}

fn run(args: Args) -> anyhow::Result<()> {
    let doc = Document::read(std::io::stdin().lock(), &[Stage::Parsed]).context("reading stdin")?;
    let limit = args
        .limit
        .as_deref()
        .map(rustle_plan::limit_pattern)
        .transpose()
        .context("reading the --limit file")?;
    let mut extra_vars = rustle_format::Map::new();
    for e in &args.extra_vars {
        extra_vars.extend(extra_var(e)?);
    }
    let opts = PlanOptions {
        extra_vars,
        limit: limit.clone(),
        forks: args.forks,
        check: args.check,
        diff: args.diff,
        ssh_only: args.ssh_only,
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
    };
    let (doc, warnings) = plan(doc, &opts)?;
    for w in warnings {
        eprintln!("[WARNING]: {w}");
    }
    let text = if args.list_hosts || args.list_tasks {
        let list = ListOptions {
            hosts: args.list_hosts,
            tasks: args.list_tasks,
            tags: false,
            limit,
            filter: TagFilter::new(&args.tags, &args.skip_tags),
        };
        Some(listing(&doc, &list)?)
    } else if args.explain {
        Some(rustle_plan::explain(&doc))
    } else {
        None
    };
    if let Some(text) = text {
        return match std::io::stdout().lock().write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(e).context("writing stdout")
            }
            _ => Ok(()),
        };
    }
    match doc.write_stdout(args.pretty) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing stdout"),
    }
}

/// One `-e` value: a JSON mapping or `k=v` pairs (values as text).
fn extra_var(text: &str) -> anyhow::Result<rustle_format::Map<String, rustle_format::Value>> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text)
            .with_context(|| format!("-e {text}: not a JSON mapping"));
    }
    let mut out = rustle_format::Map::new();
    for pair in shlex::split(text).unwrap_or_default() {
        let (k, v) = pair
            .split_once('=')
            .with_context(|| format!("-e {text}: expected key=value"))?;
        out.insert(k.to_owned(), rustle_format::Value::from(v));
    }
    Ok(out)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "rustle-plan: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
