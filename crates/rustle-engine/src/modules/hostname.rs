//! `hostname`: a port of ansible-core's hostname.py. The strategy is
//! picked as the Python module picks it: `use` when given (`debian` is the
//! systemd strategy there too), else systemd's `hostnamectl` when systemd
//! runs the Linux host (`systemctl` installed and one of sd_booted's
//! canaries present), else the class of the host's platform and
//! distribution (`/etc/hostname` for the Debian family, with no change to
//! the running name, as Ansible's FileStrategy). The result is Ansible's:
//! `name`, the `ansible_facts` the module returns (also set as facts, in
//! check mode too), `diff` when changed; `ansible_fqdn` is
//! `socket.getfqdn()` as Python computes it (the host name's address
//! looked up with `getent ahosts`, then that address's names with
//! `getent hosts`). Differences: files are replaced atomically where
//! Python rewrites them in place (mode and owner are kept), and the
//! macOS strategy fails once `scutil` is found, as rustle does not port it.

use rustle_format::Vars;
use serde_json::{Value as Json, json};

use super::accounts::exec_out;
use super::accounts::{Ran, run};
use super::bin::{get_bin_path, searched_path};
use super::fileattrs::py_os_error;
use super::{Args, Effect, Module, ModuleCtx, ModuleError, ModuleResult, Outcome};
use crate::target::FileKind;

pub struct Hostname;

/// `use` values and their strategies, in Ansible's order (`STRATS`).
const STRATS: [(&str, Strategy); 13] = [
    ("alpine", Strategy::Alpine),
    ("debian", Strategy::Systemd),
    ("freebsd", Strategy::FreeBsd),
    ("generic", Strategy::Base),
    ("macos", Strategy::Darwin),
    ("macosx", Strategy::Darwin),
    ("darwin", Strategy::Darwin),
    ("openbsd", Strategy::OpenBsd),
    ("openrc", Strategy::OpenRc),
    ("redhat", Strategy::RedHat),
    ("sles", Strategy::Sles),
    ("solaris", Strategy::Solaris),
    ("systemd", Strategy::Systemd),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Unimplemented,
    Base,
    /// `/etc/hostname`; the running name is not touched.
    File,
    Sles,
    RedHat,
    Alpine,
    Systemd,
    OpenRc,
    OpenBsd,
    Solaris,
    FreeBsd,
    Darwin,
}

impl Module for Hostname {
    fn params(&self) -> &'static [&'static str] {
        &["name", "use"]
    }

    fn run(&self, ctx: &ModuleCtx, args: &Args) -> ModuleResult {
        let name = args.required(&["name"])?;
        let uses: Vec<&str> = STRATS.iter().map(|(u, _)| *u).collect();
        let strategy = match args.choice("use", &uses)? {
            Some(u) => STRATS.iter().find(|(n, _)| *n == u).map(|(_, s)| *s),
            None => None,
        };
        let platform = Platform::read(ctx);
        let strategy = match strategy {
            Some(s) => s,
            None if platform.system == "Linux" && systemd_managed(ctx) => Strategy::Systemd,
            None => platform.strategy(),
        };
        let h = Host {
            ctx,
            strategy,
            name: &name,
            platform: &platform,
            cmd: strategy
                .command()
                .map_or(Ok(String::new()), |c| required_bin(ctx, c))?,
        };

        let current = h.get_current()?;
        let permanent = h.get_permanent()?;
        let changed = h.update()?;
        let before = if name != current { current } else { permanent };

        let fqdn = getfqdn(ctx);
        let domain = fqdn.split('.').skip(1).collect::<Vec<_>>().join(".");
        let short = name.split('.').next().unwrap_or_default().to_owned();
        let facts = [
            ("hostname", json!(short)),
            ("nodename", json!(name)),
            ("fqdn", json!(fqdn)),
            ("domain", json!(domain)),
        ];
        let mut r = Vars::new();
        r.insert("changed".into(), json!(changed));
        r.insert("name".into(), json!(name));
        r.insert(
            "ansible_facts".into(),
            Json::Object(
                facts
                    .iter()
                    .map(|(k, v)| (format!("ansible_{k}"), v.clone()))
                    .collect(),
            ),
        );
        if changed {
            r.insert(
                "diff".into(),
                json!({"after": format!("hostname = {name}\n"),
                       "before": format!("hostname = {before}\n")}),
            );
        }
        Ok(Outcome {
            result: r,
            effect: Effect::Facts(
                facts
                    .into_iter()
                    .map(|(k, v)| (format!("ansible_{k}"), v))
                    .collect(),
            ),
        })
    }
}

impl Strategy {
    /// The tool the strategy's constructor requires (`get_bin_path(..., True)`).
    fn command(self) -> Option<&'static str> {
        match self {
            Strategy::Systemd => Some("hostnamectl"),
            Strategy::OpenBsd | Strategy::Solaris | Strategy::FreeBsd => Some("hostname"),
            Strategy::Darwin => Some("scutil"),
            _ => None,
        }
    }

    /// The permanent name's file, for the strategies that keep one.
    fn file(self) -> &'static str {
        match self {
            Strategy::Sles => "/etc/HOSTNAME",
            Strategy::RedHat => "/etc/sysconfig/network",
            Strategy::OpenRc => "/etc/conf.d/hostname",
            Strategy::OpenBsd => "/etc/myname",
            Strategy::FreeBsd => "/etc/rc.conf.d/hostname",
            _ => "/etc/hostname",
        }
    }
}

fn required_bin(ctx: &ModuleCtx, name: &str) -> Result<String, ModuleError> {
    get_bin_path(ctx.target, name, &[]).ok_or_else(|| {
        ModuleError::new(format!(
            "Failed to find required executable \"{name}\" in paths: {}",
            searched_path(&[])
        ))
    })
}

/// `ServiceMgrFactCollector.is_systemd_managed`.
fn systemd_managed(ctx: &ModuleCtx) -> bool {
    get_bin_path(ctx.target, "systemctl", &[]).is_some()
        && [
            "/run/systemd/system/",
            "/dev/.run/systemd/",
            "/dev/.systemd/",
        ]
        .iter()
        .any(|p| matches!(ctx.target.stat(p, true), Ok(Some(_))))
}

/// `platform.system()` and `get_distribution()` (with the version SLES
/// needs) of the host.
struct Platform {
    system: String,
    distribution: Option<String>,
    version: String,
}

impl Platform {
    fn read(ctx: &ModuleCtx) -> Platform {
        let system = exec_out(ctx, &["uname", "-s"]).unwrap_or_default();
        let release = ctx
            .target
            .read_file("/etc/os-release")
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let field = |key: &str| {
            release.lines().find_map(|l| {
                let v = l.trim().strip_prefix(key)?.strip_prefix('=')?;
                Some(v.trim().trim_matches(['"', '\'']).to_owned())
            })
        };
        // distro.id(), normalised as the distro package does.
        let id = field("ID")
            .unwrap_or_default()
            .to_lowercase()
            .replace(' ', "_");
        let id = match id.as_str() {
            "ol" => "oracle".to_owned(),
            "opensuse-leap" => "opensuse".to_owned(),
            _ => id,
        };
        let mut chars = id.chars();
        let capitalized = chars.next().map_or(String::new(), |c| {
            c.to_uppercase()
                .chain(chars.flat_map(char::to_lowercase))
                .collect()
        });
        let distribution = if system == "Linux" {
            Some(match capitalized.as_str() {
                "Amzn" => "Amazon".to_owned(),
                "Rhel" => "Redhat".to_owned(),
                "" => "OtherLinux".to_owned(),
                _ => capitalized,
            })
        } else {
            (!capitalized.is_empty()).then_some(capitalized)
        };
        Platform {
            system,
            distribution,
            version: field("VERSION_ID").unwrap_or_default(),
        }
    }

    /// `get_platform_subclass(Hostname).strategy_class`.
    fn strategy(&self) -> Strategy {
        match self.system.as_str() {
            "Linux" => match self.distribution.as_deref().unwrap_or_default() {
                "Sles" => match self.version.parse::<f64>() {
                    Ok(v) if (10.0..=12.0).contains(&v) => Strategy::Sles,
                    _ => Strategy::Unimplemented,
                },
                "Redhat" | "Centos" | "Anolis" | "Cloudlinuxserver" | "Cloudlinux" | "Alinux"
                | "Scientific" | "Oracle" | "Virtuozzo" | "Amazon" | "Altlinux" | "Eurolinux" => {
                    Strategy::RedHat
                }
                "Debian" | "Kylin" | "Cumulus-linux" | "Kali" | "Parrot" | "Ubuntu"
                | "Linuxmint" | "Linaro" | "Devuan" | "Raspbian" | "Uos" | "Deepin" | "Neon"
                | "Void" | "Pop" => Strategy::File,
                "Gentoo" => Strategy::OpenRc,
                "Alpine" => Strategy::Alpine,
                _ => Strategy::Unimplemented,
            },
            "OpenBSD" => Strategy::OpenBsd,
            "SunOS" => Strategy::Solaris,
            "FreeBSD" | "NetBSD" => Strategy::FreeBsd,
            "Darwin" => Strategy::Darwin,
            _ => Strategy::Unimplemented,
        }
    }
}

/// Python's `socket.getfqdn()`: `gethostbyaddr(gethostname())`, the first
/// of its names with a dot, else its name; the host name when the lookup
/// fails.
fn getfqdn(ctx: &ModuleCtx) -> String {
    let host = exec_out(ctx, &["uname", "-n"]).unwrap_or_default();
    let lookup = || {
        let addr = exec_out(ctx, &["getent", "ahosts", &host])?
            .split_whitespace()
            .next()?
            .to_owned();
        let names = exec_out(ctx, &["getent", "hosts", &addr])?;
        let names: Vec<&str> = names.lines().next()?.split_whitespace().skip(1).collect();
        let first = names.first()?;
        Some(
            names
                .iter()
                .find(|n| n.contains('.'))
                .unwrap_or(first)
                .to_string(),
        )
    };
    lookup().unwrap_or(host)
}

fn command_failed(ran: &Ran) -> ModuleError {
    ModuleError::new(format!(
        "Command failed rc={}, out={}, err={}",
        ran.rc, ran.out, ran.err
    ))
}

struct Host<'a, 'c> {
    ctx: &'a ModuleCtx<'c>,
    strategy: Strategy,
    name: &'a str,
    platform: &'a Platform,
    /// The strategy's tool, found as its constructor finds it.
    cmd: String,
}

impl Host<'_, '_> {
    fn unimplemented(&self) -> ModuleError {
        let platform = match &self.platform.distribution {
            Some(d) => format!("{} ({d})", self.platform.system),
            None => self.platform.system.clone(),
        };
        ModuleError::new(format!(
            "hostname module cannot be used on platform {platform}"
        ))
    }

    /// `run_command` of the strategy's tool; fails as the strategies do.
    fn command(&self, args: &[&str]) -> Result<String, ModuleError> {
        let argv = std::iter::once(self.cmd.as_str())
            .chain(args.iter().copied())
            .map(str::to_owned)
            .collect();
        let ran = run(self.ctx, argv)?;
        if ran.rc != 0 {
            return Err(command_failed(&ran));
        }
        Ok(ran.out.trim().to_owned())
    }

    /// `get_file_content(path, default='', strip=True)` of a regular file.
    fn file_text(&self, path: &str) -> Option<String> {
        match self.ctx.target.stat(path, true) {
            Ok(Some(st)) if st.kind == FileKind::File => {}
            _ => return None,
        }
        let bytes = self.ctx.target.read_file(path).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn write(&self, path: &str, text: &str) -> Result<(), ModuleError> {
        self.ctx
            .target
            .write_file(path, text.as_bytes(), None)
            .map_err(|e| {
                ModuleError::new(format!(
                    "failed to update hostname: {}",
                    py_os_error(&e, path)
                ))
            })
    }

    fn get_current(&self) -> Result<String, ModuleError> {
        match self.strategy {
            Strategy::Unimplemented => Err(self.unimplemented()),
            Strategy::Systemd => self.command(&["--transient", "status"]),
            Strategy::OpenBsd | Strategy::FreeBsd => self.command(&[]),
            Strategy::Darwin => Err(ModuleError::new(
                "the macOS strategy (scutil) is not supported by rustle's hostname module",
            )),
            _ => self.get_permanent(),
        }
    }

    fn get_permanent(&self) -> Result<String, ModuleError> {
        let file = self.strategy.file();
        match self.strategy {
            Strategy::Unimplemented => Err(self.unimplemented()),
            // BaseStrategy's NotImplementedError, as Ansible reports it.
            Strategy::Base => Err(ModuleError::new("Task failed: Module failed.")),
            Strategy::Systemd => self.command(&["--static", "status"]),
            Strategy::Solaris => {
                let script = "/usr/sbin/svccfg -s svc:/system/identity:node listprop -o value config/nodename";
                let ran = run(self.ctx, vec!["/bin/sh".into(), "-c".into(), script.into()])?;
                if ran.rc != 0 {
                    return Err(command_failed(&ran));
                }
                Ok(ran.out.trim().to_owned())
            }
            Strategy::RedHat => {
                let text = self.file_text(file).unwrap_or_default();
                for line in text.trim().lines() {
                    let line = line.trim();
                    if line.starts_with("HOSTNAME") {
                        let parts: Vec<&str> = line.split('=').collect();
                        return match parts.as_slice() {
                            [_, v] => Ok(v.trim().to_owned()),
                            [_] => Err(ModuleError::new(
                                "failed to read hostname: not enough values to unpack (expected 2, got 1)",
                            )),
                            _ => Err(ModuleError::new(
                                "failed to read hostname: too many values to unpack (expected 2)",
                            )),
                        };
                    }
                }
                Err(ModuleError::new(format!(
                    "Unable to locate HOSTNAME entry in {file}"
                )))
            }
            Strategy::OpenRc | Strategy::FreeBsd => {
                let Some(text) = self.file_text(file) else {
                    return Ok(String::new());
                };
                // `line[10:].strip('"')`: the value without its first
                // character (an opening quote); without a `hostname=` line
                // the Python method returns None.
                Ok(text
                    .trim()
                    .lines()
                    .map(str::trim)
                    .find(|l| l.starts_with("hostname="))
                    .map_or_else(
                        || "None".to_owned(),
                        |l| {
                            l.chars()
                                .skip(10)
                                .collect::<String>()
                                .trim_matches('"')
                                .to_owned()
                        },
                    ))
            }
            _ => Ok(self
                .file_text(file)
                .map(|t| t.trim().to_owned())
                .unwrap_or_default()),
        }
    }

    fn set_current(&self) -> Result<(), ModuleError> {
        match self.strategy {
            Strategy::Systemd => {
                self.systemd_len()?;
                self.command(&["--transient", "set-hostname", self.name])?;
            }
            Strategy::OpenBsd | Strategy::FreeBsd => {
                self.command(&[self.name])?;
            }
            Strategy::Solaris => {
                self.command(&["-t", self.name])?;
            }
            Strategy::Alpine => {
                let hostname = required_bin(self.ctx, "hostname")?;
                let ran = run(
                    self.ctx,
                    vec![hostname, "-F".into(), "/etc/hostname".into()],
                )?;
                if ran.rc != 0 {
                    return Err(command_failed(&ran));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn systemd_len(&self) -> Result<(), ModuleError> {
        if self.name.chars().count() > 64 {
            return Err(ModuleError::new(
                "name cannot be longer than 64 characters on systemd servers, try a shorter name",
            ));
        }
        Ok(())
    }

    fn set_permanent(&self) -> Result<(), ModuleError> {
        let file = self.strategy.file();
        let name = self.name;
        match self.strategy {
            Strategy::Systemd => {
                self.systemd_len()?;
                self.command(&["--pretty", "--static", "set-hostname", name])?;
            }
            Strategy::Solaris => {
                self.command(&[name])?;
            }
            Strategy::RedHat => {
                let text = self.file_text(file).unwrap_or_default();
                let mut found = false;
                let mut out = String::new();
                for line in text.split_inclusive('\n') {
                    if line.trim().starts_with("HOSTNAME") {
                        out.push_str(&format!("HOSTNAME={name}\n"));
                        found = true;
                    } else {
                        out.push_str(line);
                    }
                }
                if !found {
                    out.push_str(&format!("HOSTNAME={name}\n"));
                }
                self.write(file, &out)?;
            }
            Strategy::OpenRc | Strategy::FreeBsd => {
                let text = self.file_text(file);
                let lines: Vec<String> = match &text {
                    None if self.strategy == Strategy::FreeBsd => {
                        vec![format!("hostname=\"{name}\"")]
                    }
                    None => Vec::new(),
                    Some(t) => {
                        let mut lines: Vec<String> =
                            t.trim().lines().map(|l| l.trim().to_owned()).collect();
                        if let Some(l) = lines.iter_mut().find(|l| l.starts_with("hostname=")) {
                            *l = format!("hostname=\"{name}\"");
                        }
                        lines
                    }
                };
                self.write(file, &(lines.join("\n") + "\n"))?;
            }
            _ => self.write(file, &format!("{name}\n"))?,
        }
        Ok(())
    }

    /// `update_current_and_permanent_hostname`: whether a name differed.
    fn update(&self) -> Result<bool, ModuleError> {
        let check = self.ctx.check;
        let current = |changed: &mut bool| -> Result<(), ModuleError> {
            if self.get_current()? != self.name {
                if !check {
                    self.set_current()?;
                }
                *changed = true;
            }
            Ok(())
        };
        let permanent = |changed: &mut bool| -> Result<(), ModuleError> {
            if self.get_permanent()? != self.name {
                if !check {
                    self.set_permanent()?;
                }
                *changed = true;
            }
            Ok(())
        };
        let mut changed = false;
        // systemd sets the static name first (NetworkManager complains
        // otherwise).
        if self.strategy == Strategy::Systemd {
            permanent(&mut changed)?;
            current(&mut changed)?;
        } else {
            current(&mut changed)?;
            permanent(&mut changed)?;
        }
        Ok(changed)
    }
}
