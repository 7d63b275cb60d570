use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rustle_parse::{ParseOptions, parse};

/// Read an Ansible playbook and inventory into a Rustle plan document (JSON on stdout).
#[derive(Parser)]
#[command(name = "rustle-parse", version)]
struct Args {
    /// The playbook to read.
    playbook: PathBuf,
    /// Inventory source (file); may be repeated.
    #[arg(short, long = "inventory")]
    inventory: Vec<String>,
    /// Extra variables: key=value, a JSON/YAML mapping, or @file.
    #[arg(short = 'e', long = "extra-vars")]
    extra_vars: Vec<String>,
    /// Indent the JSON for people.
    #[arg(long)]
    pretty: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = ParseOptions {
        playbook: args.playbook,
        inventory: args.inventory,
        extra_vars: args.extra_vars,
    };
    let doc = match parse(&opts) {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("rustle-parse: error: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let stdout = std::io::stdout().lock();
    match doc.write(std::io::BufWriter::new(stdout), args.pretty) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "rustle-parse: error: writing stdout: {e}"
            );
            ExitCode::from(1)
        }
    }
}
