use std::io::{IsTerminal, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgAction, Parser};
use rustle_exec::{ExecOptions, Palette, execute};
use rustle_format::{Document, Secret, Stage};

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
    /// Ask for the become password (on the terminal).
    #[arg(short = 'K', long)]
    ask_become_pass: bool,
    /// Read the become password from a file (its output, if executable).
    #[arg(long, alias = "become-pass-file", value_name = "FILE")]
    become_password_file: Option<PathBuf>,
    #[command(flatten)]
    vault: rustle_vault::secrets::VaultArgs,
}

/// The become password from `-K` or `--become-password-file`, as
/// ansible-core reads it (surrounding whitespace stripped).
fn become_password(args: &Args) -> anyhow::Result<Option<Secret>> {
    let text = if let Some(path) = &args.become_password_file {
        let executable = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .permissions()
            .mode()
            & 0o111
            != 0;
        if executable {
            let out = std::process::Command::new(path)
                .stderr(std::process::Stdio::inherit())
                .output()
                .with_context(|| format!("running {}", path.display()))?;
            anyhow::ensure!(
                out.status.success(),
                "{} exited with {}",
                path.display(),
                out.status
            );
            String::from_utf8(out.stdout)?
        } else {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
    } else if args.ask_become_pass {
        rpassword::prompt_password("BECOME password: ").context("reading the become password")?
    } else {
        return Ok(None);
    };
    Ok(Some(Secret(text.trim().to_owned())))
}

fn run(args: Args) -> anyhow::Result<i32> {
    // Asked first, as ansible-playbook does, before the plan arrives.
    let become_password = become_password(&args)?;
    let vault_secrets = args.vault.secrets()?;
    let doc = Document::read(std::io::stdin().lock(), &[Stage::Planned, Stage::Deployed])
        .context("reading stdin")?;
    let opts = ExecOptions {
        verbosity: args.verbose,
        timeout: Duration::from_secs(args.timeout),
        palette: Palette::detect(std::io::stderr().is_terminal()),
        json_summary: args.json_summary,
        become_password,
        vault_secrets,
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
    if let Some(code) = rustle_engine::jobs::serve() {
        return ExitCode::from(code);
    }
    match run(Args::parse()) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "rustle-exec: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
