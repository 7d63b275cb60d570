//! `get_bin_path` and `get_best_parsable_locale`: where a module finds the
//! tools it runs on the target, and the locale it runs them in.

use super::ModuleCtx;
use crate::Target;
use crate::target::{ExecRequest, FileKind};

/// The directories searched after a module's own: Debian's default `PATH`,
/// which also holds the sbin directories ansible-core appends to `PATH`.
const DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// ansible-core's `get_bin_path(name, opt_dirs)`: the first executable
/// file (not a directory) named `name` in `opt_dirs`, then in the system
/// directories.
pub fn get_bin_path(target: &dyn Target, name: &str, opt_dirs: &[&str]) -> Option<String> {
    opt_dirs
        .iter()
        .chain(DIRS.iter().filter(|d| !opt_dirs.contains(d)))
        .map(|d| format!("{d}/{name}"))
        .find(|p| {
            matches!(target.stat(p, true),
                Ok(Some(st)) if st.kind != FileKind::Dir && st.mode & 0o111 != 0)
        })
}

/// The directories [`get_bin_path`] searches, joined as a `PATH` (for
/// `Failed to find required executable` messages).
pub fn searched_path(opt_dirs: &[&str]) -> String {
    opt_dirs
        .iter()
        .chain(DIRS.iter().filter(|d| !opt_dirs.contains(d)))
        .copied()
        .collect::<Vec<_>>()
        .join(":")
}

/// ansible-core's `get_best_parsable_locale`: the first of the locales it
/// prefers that `locale -a` lists, else `C`.
pub fn best_parsable_locale(ctx: &ModuleCtx) -> String {
    let Some(locale) = get_bin_path(ctx.target, "locale", &[]) else {
        return "C".into();
    };
    let mut req = ExecRequest::new([locale, "-a".to_owned()]);
    req.env = ctx.env.to_vec();
    let out = match ctx.target.exec(&req) {
        Ok(out) if out.rc == 0 => out,
        _ => return "C".into(),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let available: Vec<&str> = text.trim().lines().collect();
    [
        "C.utf8",
        "C.UTF-8",
        "en_US.utf8",
        "en_US.UTF-8",
        "C",
        "POSIX",
    ]
    .into_iter()
    .find(|p| available.contains(p))
    .unwrap_or("C")
    .to_owned()
}

/// What a command printed, as text: `module.run_command`'s rc, out, err.
pub struct Ran {
    pub rc: i32,
    pub out: String,
    pub err: String,
}

/// `module.run_command` with a list: `argv` run without a shell, with the
/// task's environment and `extra`. The error is Python's for a command
/// that could not start.
pub fn run_command(
    ctx: &ModuleCtx,
    extra: &[(String, String)],
    argv: Vec<String>,
) -> Result<Ran, String> {
    run_command_data(ctx, extra, argv, None)
}

/// [`run_command`] with `data=` on its stdin, which gets a final newline
/// as Python's does.
pub fn run_command_data(
    ctx: &ModuleCtx,
    extra: &[(String, String)],
    argv: Vec<String>,
    data: Option<String>,
) -> Result<Ran, String> {
    let mut req = ExecRequest::new(argv);
    req.env = ctx.env.to_vec();
    req.env.extend(extra.iter().cloned());
    req.stdin = data.map(|d| format!("{d}\n").into_bytes());
    let out = ctx.target.exec(&req).map_err(|e| {
        format!(
            "[Errno 2] No such file or directory: b'{}': {e}",
            req.argv.first().map_or("", String::as_str)
        )
    })?;
    Ok(Ran {
        rc: out.rc,
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
