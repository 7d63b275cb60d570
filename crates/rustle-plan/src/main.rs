use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use rustle_format::{Document, Stage};
use rustle_plan::{PlanOptions, plan};

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
    /// Indent the JSON for people.
    #[arg(long)]
    pretty: bool,
}

fn run(args: Args) -> anyhow::Result<()> {
    let doc = Document::read(std::io::stdin().lock(), &[Stage::Parsed]).context("reading stdin")?;
    let opts = PlanOptions {
        limit: args.limit,
        forks: args.forks,
        check: args.check,
        diff: args.diff,
        ssh_only: args.ssh_only,
        tags: args.tags,
        skip_tags: args.skip_tags,
    };
    let (doc, warnings) = plan(doc, &opts)?;
    for w in warnings {
        eprintln!("[WARNING]: {w}");
    }
    match doc.write(
        std::io::BufWriter::new(std::io::stdout().lock()),
        args.pretty,
    ) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing stdout"),
    }
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
