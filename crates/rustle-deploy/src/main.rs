use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use rustle_deploy::{DeployOptions, Progress, default_cache_dir};
use rustle_format::{Document, Stage};

/// Build, embed and place each host's runner; reads a planned document on
/// stdin and writes the deployed document on stdout. Given a deployed
/// document, --verify re-checks the runners, --rollback switches hosts
/// back to their previous runner and --cleanup removes rustle's files.
#[derive(Parser)]
#[command(name = "rustle-deploy", version)]
struct Args {
    /// Check each runner's sha256 on its host (before it replaces the old
    /// one); on a deployed document, re-check the runners in place.
    #[arg(long)]
    verify: bool,
    /// Build cache (default: $RUSTLE_CACHE_DIR, $XDG_CACHE_HOME/rustle or ~/.cache/rustle).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Use this prebuilt rustle-runner instead of building one.
    #[arg(long)]
    runner: Option<PathBuf>,
    /// Hosts worked on at once.
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
    /// Say what would be built and uploaded (on stdout), change nothing.
    #[arg(long, conflicts_with_all = ["rollback", "cleanup"])]
    dry_run: bool,
    /// Run hosts whose target has no toolchain task by task over SSH
    /// instead of failing.
    #[arg(long)]
    fallback_ssh: bool,
    /// Switch each host of a deployed document back to its previous runner.
    #[arg(long, conflicts_with = "cleanup")]
    rollback: bool,
    /// Remove rustle's files from the hosts; writes the planned document.
    #[arg(long)]
    cleanup: bool,
    /// Indent the JSON for people.
    #[arg(long)]
    pretty: bool,
}

fn run(args: Args) -> Result<u8, (u8, anyhow::Error)> {
    let stages: &[Stage] = if args.rollback {
        &[Stage::Deployed]
    } else if args.cleanup || args.verify {
        &[Stage::Planned, Stage::Deployed]
    } else {
        &[Stage::Planned]
    };
    let doc = Document::read(std::io::stdin().lock(), stages)
        .context("reading stdin")
        .map_err(|e| (1, e))?;
    let opts = DeployOptions {
        verify: args.verify,
        cache_dir: args.cache_dir.unwrap_or_else(default_cache_dir),
        runner: args.runner.or_else(installed_runner),
        parallel: args.parallel,
        timeout: Duration::from_secs(args.timeout),
        output_dir: args.output_dir.filter(|_| args.compile_only),
        fallback_ssh: args.fallback_ssh,
    };
    let progress = Progress::new(std::io::stderr().is_terminal());
    let fail = |e: rustle_deploy::DeployError| (1, anyhow::Error::new(e));
    let (doc, code) = if args.dry_run {
        let lines = rustle_deploy::dry_run(doc, &opts).map_err(fail)?;
        let mut out = std::io::stdout().lock();
        for l in lines {
            if let Err(e) = writeln!(out, "{l}") {
                return broken_pipe_ok(e);
            }
        }
        return Ok(0);
    } else if args.cleanup {
        rustle_deploy::cleanup(doc, &opts, &progress).map_err(fail)?
    } else if args.rollback {
        let doc = rustle_deploy::rollback(doc, &opts, &progress).map_err(fail)?;
        let code = rustle_deploy::exit_code(&doc);
        (doc, code)
    } else if doc.stage == Stage::Deployed {
        let doc = rustle_deploy::verify(doc, &opts, &progress).map_err(fail)?;
        let code = rustle_deploy::exit_code(&doc);
        (doc, code)
    } else {
        let (doc, _report) = rustle_deploy::deploy(doc, &opts, &progress).map_err(fail)?;
        let code = rustle_deploy::exit_code(&doc);
        (doc, code)
    };
    match doc.write_stdout(args.pretty) {
        Ok(()) => Ok(code),
        Err(e) => broken_pipe_ok(e).map(|_| code),
    }
}

/// An installed rustle-deploy with no source tree to build from uses the
/// `rustle-runner` installed beside it.
fn installed_runner() -> Option<PathBuf> {
    if rustle_deploy::source_dir().join("Cargo.toml").is_file() {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let sibling = exe.parent()?.join("rustle-runner");
    sibling.is_file().then_some(sibling)
}

/// A closed stdout pipe is the reader's choice, not an error.
fn broken_pipe_ok(e: std::io::Error) -> Result<u8, (u8, anyhow::Error)> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(0)
    } else {
        Err((1, anyhow::Error::new(e).context("writing stdout")))
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => ExitCode::from(code),
        Err((code, e)) => {
            let _ = writeln!(std::io::stderr(), "rustle-deploy: error: {e:#}");
            ExitCode::from(code)
        }
    }
}
