use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use rustle_deploy::{DeployOptions, default_cache_dir, deploy};
use rustle_format::{Document, Stage};

/// Build, embed and place each host's runner; reads a planned document on
/// stdin and writes the deployed document on stdout.
#[derive(Parser)]
#[command(name = "rustle-deploy", version)]
struct Args {
    /// Check each runner's sha256 on its host after placing it.
    #[arg(long)]
    verify: bool,
    /// Build cache (default: $RUSTLE_CACHE_DIR, $XDG_CACHE_HOME/rustle or ~/.cache/rustle).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Use this prebuilt rustle-runner instead of building one.
    #[arg(long)]
    runner: Option<PathBuf>,
    /// Hosts deployed at once.
    #[arg(long, default_value_t = 8)]
    parallel: usize,
    /// SSH connect timeout in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Only build: write each host's runner to OUTPUT_DIR/<host>/rustle-runner.
    #[arg(long, requires = "output_dir")]
    compile_only: bool,
    /// Where --compile-only writes runners.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    /// Indent the JSON for people.
    #[arg(long)]
    pretty: bool,
}

fn run(args: Args) -> Result<(), (u8, anyhow::Error)> {
    let doc = Document::read(std::io::stdin().lock(), &[Stage::Planned])
        .context("reading stdin")
        .map_err(|e| (1, e))?;
    let opts = DeployOptions {
        verify: args.verify,
        cache_dir: args.cache_dir.unwrap_or_else(default_cache_dir),
        runner: args.runner,
        parallel: args.parallel,
        timeout: Duration::from_secs(args.timeout),
        output_dir: args.output_dir.filter(|_| args.compile_only),
    };
    let mut log = |line: &str| eprintln!("rustle-deploy: {line}");
    let (doc, _report) = deploy(doc, &opts, &mut log).map_err(|e| (e.exit_code(), e.into()))?;
    match doc.write(
        std::io::BufWriter::new(std::io::stdout().lock()),
        args.pretty,
    ) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing stdout").map_err(|e| (1, e)),
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, e)) => {
            let _ = writeln!(std::io::stderr(), "rustle-deploy: error: {e:#}");
            ExitCode::from(code)
        }
    }
}
