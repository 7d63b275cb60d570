//! Putting a runner on its host: write to a temp name in the final
//! directory, chmod, keep the previous runner as `.prev`, rename into place.
//! A cut transfer never leaves a partial file under the final name. With
//! verification, the sha256 of the file on the host must equal ours, or the
//! previous runner is put back.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rustle_format::sha256_hex;
use rustle_ssh::{Conn, quote};

/// Places `bytes` at `path` on this machine.
pub fn local(path: &Path, bytes: &[u8], verify: Option<&str>) -> Result<(), String> {
    let dir = path.parent().ok_or("the runner path has no directory")?;
    let e = |what: &str| {
        let what = what.to_owned();
        move |err: std::io::Error| format!("{what} {}: {err}", dir.display())
    };
    std::fs::create_dir_all(dir).map_err(e("creating"))?;
    let tmp = dir.join(format!(".rustle-runner.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(e("writing into"))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
        .map_err(e("setting the mode in"))?;
    let prev = path.with_extension("prev");
    if path.exists() {
        std::fs::rename(path, &prev).map_err(e("keeping the previous runner in"))?;
    }
    std::fs::rename(&tmp, path).map_err(e("renaming into"))?;
    if let Some(expected) = verify {
        let found = std::fs::read(path)
            .map(|b| sha256_hex(&b))
            .map_err(e("reading back from"))?;
        if found != expected {
            if prev.exists() {
                let _ = std::fs::rename(&prev, path);
            }
            return Err(format!(
                "sha256 mismatch: expected {expected}, found {found}"
            ));
        }
    }
    Ok(())
}

/// The remote user's home directory.
pub async fn remote_home(conn: &Conn) -> Result<String, String> {
    let out = conn
        .sh("printf %s \"$HOME\"", None)
        .await
        .map_err(|e| e.to_string())?;
    let home = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.rc != 0 || home.is_empty() {
        return Err(format!("could not read $HOME (exit {})", out.rc));
    }
    Ok(home)
}

/// `uname -m` on the host, mapped to a Linux GNU triple.
pub async fn remote_triple(conn: &Conn) -> Result<String, String> {
    let out = conn.sh("uname -m", None).await.map_err(|e| e.to_string())?;
    let arch = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.rc != 0 || arch.is_empty() {
        return Err(format!("uname -m failed (exit {})", out.rc));
    }
    let arch = match arch.as_str() {
        "arm64" => "aarch64".to_owned(),
        "i686" | "i386" => "i686".to_owned(),
        other => other.to_owned(),
    };
    Ok(format!("{arch}-unknown-linux-gnu"))
}

/// Places `bytes` at `path` on a remote host over `conn`.
pub async fn remote(
    conn: &Conn,
    path: &str,
    bytes: &[u8],
    verify: Option<&str>,
) -> Result<(), String> {
    let dir = Path::new(path)
        .parent()
        .map(|d| d.display().to_string())
        .ok_or("the runner path has no directory")?;
    let tmp = format!("{dir}/.rustle-runner.{}.tmp", std::process::id());
    let (d, t, p) = (quote(&dir), quote(&tmp), quote(path));
    let upload = format!("mkdir -p {d} && cat > {t} && chmod 0755 {t}");
    let out = conn
        .sh(&upload, Some(bytes))
        .await
        .map_err(|e| e.to_string())?;
    if out.rc != 0 {
        let _ = conn.sh(&format!("rm -f {t}"), None).await;
        return Err(format!(
            "upload failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let swap = format!("if [ -e {p} ]; then mv -f {p} {p}.prev; fi && mv -f {t} {p}");
    let out = conn.sh(&swap, None).await.map_err(|e| e.to_string())?;
    if out.rc != 0 {
        return Err(format!(
            "rename failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if let Some(expected) = verify {
        let out = conn
            .sh(&format!("sha256sum {p}"), None)
            .await
            .map_err(|e| e.to_string())?;
        let found = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        if found != expected {
            let _ = conn
                .sh(
                    &format!("if [ -e {p}.prev ]; then mv -f {p}.prev {p}; fi"),
                    None,
                )
                .await;
            return Err(format!(
                "sha256 mismatch: expected {expected}, found {found}"
            ));
        }
    }
    Ok(())
}
