use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgAction, Parser};
use rustle_exec::{ExecOptions, Palette, execute};
use rustle_format::{Document, Stage};

/// Run a planned or deployed Rustle document: JSON events on stdout, Ansible's output on stderr.
#[derive(Parser)]
#[command(name = "rustle-exec", version)]
struct Args {
    /// More output (-v to -vvvv).
    #[arg(short, action = ArgAction::Count)]
    verbose: u8,
    /// SSH connection timeout in seconds.
    #[arg(short = 'T', long, default_value_t = 10)]
    timeout: u64,
    /// Print one JSON document at the end (shaped like the ansible.posix.json
    /// callback's) instead of event lines.
    #[arg(long)]
    json_summary: bool,
}

fn run(args: Args) -> anyhow::Result<i32> {
    let doc = Document::read(std::io::stdin().lock(), &[Stage::Planned, Stage::Deployed])
        .context("reading stdin")?;
    let opts = ExecOptions {
        verbosity: args.verbose,
        timeout: Duration::from_secs(args.timeout),
        palette: Palette::detect(std::io::stderr().is_terminal()),
        json_summary: args.json_summary,
    };
    let code = execute(
        &doc,
        &opts,
        std::io::stdout().lock(),
        std::io::stderr().lock(),
    )?;
    Ok(code)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "rustle-exec: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
