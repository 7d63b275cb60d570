use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rustle_parse::{ParseOptions, parse};
use rustle_select::{ListOptions, TagFilter, listing};

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
    /// Directories to search for roles (before ANSIBLE_ROLES_PATH and
    /// ansible.cfg's roles_path); may be repeated.
    #[arg(short = 'r', long = "roles-path")]
    roles_path: Vec<PathBuf>,
    /// Indent the JSON for people.
    #[arg(long)]
    pretty: bool,
    /// Only check the syntax and print the playbook's name.
    #[arg(long)]
    syntax_check: bool,
    /// List the hosts each play would run on, instead of writing JSON.
    #[arg(long)]
    list_hosts: bool,
    /// List the tasks each play would run, instead of writing JSON.
    #[arg(long)]
    list_tasks: bool,
    /// List the tags of each play, instead of writing JSON.
    #[arg(long)]
    list_tags: bool,
    /// Limit the listed hosts to this pattern (`--list-hosts`).
    #[arg(short, long)]
    limit: Option<String>,
    /// Only list tasks with these tags.
    #[arg(short, long)]
    tags: Vec<String>,
    /// List no task with these tags.
    #[arg(long)]
    skip_tags: Vec<String>,
    #[command(flatten)]
    vault: rustle_vault::secrets::VaultArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let vault_secrets = match args.vault.secrets() {
        Ok(secrets) => secrets,
        Err(e) => {
            eprintln!("rustle-parse: error: {e}");
            return ExitCode::from(1);
        }
    };
    let opts = ParseOptions {
        playbook: args.playbook,
        inventory: args.inventory,
        extra_vars: args.extra_vars,
        roles_path: args.roles_path,
        vault_secrets,
    };
    let doc = match parse(&opts) {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("rustle-parse: error: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let mut stdout = std::io::stdout().lock();
    if args.syntax_check || args.list_hosts || args.list_tasks || args.list_tags {
        let opts = ListOptions {
            hosts: args.list_hosts,
            tasks: args.list_tasks,
            tags: args.list_tags,
            limit: args.limit,
            filter: TagFilter::new(&args.tags, &args.skip_tags),
        };
        let text = match listing(&doc, &opts) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("rustle-parse: error: {e}");
                return ExitCode::from(1);
            }
        };
        return match stdout.write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                eprintln!("rustle-parse: error: writing stdout: {e}");
                ExitCode::from(1)
            }
            _ => ExitCode::SUCCESS,
        };
    }
    drop(stdout);
    match doc.write_stdout(args.pretty) {
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
