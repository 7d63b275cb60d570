//! The runner payload. `rustle-deploy` appends to a `rustle-runner` binary a
//! payload (a deterministic tar + gzip of `slice.json` and
//! `files/<sha256>`) and a fixed 52-byte trailer: magic `RUSTLEPL`, trailer
//! version (u32), payload length (u64), payload sha256 (32 bytes), all
//! little-endian. The runner reads its own executable from the end, checks
//! the trailer and the sha256, and refuses anything that does not match.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use rustle_format::{FORMAT_VERSION, FileRef, HostSlice, sha256_hex};
use sha2::{Digest, Sha256};

pub const MAGIC: &[u8; 8] = b"RUSTLEPL";
pub const TRAILER_VERSION: u32 = 1;
pub const TRAILER_LEN: usize = 8 + 4 + 8 + 32;

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("no payload embedded (no RUSTLEPL trailer at the end of the file)")]
    NoTrailer,
    #[error("payload trailer version: expected {expected}, found {found}")]
    TrailerVersion { expected: u32, found: u32 },
    #[error("payload length {length} is larger than the file ({file} bytes)")]
    Length { length: u64, file: u64 },
    #[error("payload sha256 mismatch: expected {expected}, found {found}")]
    Sha256 { expected: String, found: String },
    #[error("payload archive is unreadable: {0}")]
    Archive(#[source] io::Error),
    #[error("payload has no slice.json")]
    NoSlice,
    #[error("payload slice.json is invalid: {0}")]
    Slice(String),
    #[error("payload slice format version: expected {expected}, found {found}")]
    SliceVersion { expected: u32, found: u32 },
    #[error("file {path} does not match its digest: expected {expected}, found {found}")]
    FileDigest {
        path: String,
        expected: String,
        found: String,
    },
    #[error("payload file {0} is missing")]
    MissingFile(String),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// A verified payload.
#[derive(Debug)]
pub struct Payload {
    pub slice: HostSlice,
    /// File bytes by sha256.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Payload {
    /// The bytes of a task's `src:` as written in the task.
    pub fn file_by_src(&self, src: &str) -> Option<&[u8]> {
        let f = self.slice.files.iter().find(|f| f.src == src)?;
        self.files.get(&f.sha256).map(Vec::as_slice)
    }
}

/// A deterministic tar.gz of the slice and its files; `read` supplies each
/// file's bytes, which must match its recorded sha256.
pub fn build(
    slice: &HostSlice,
    read: impl Fn(&FileRef) -> io::Result<Vec<u8>>,
) -> Result<Vec<u8>, PayloadError> {
    let mut entries: Vec<(String, Vec<u8>)> = vec![("slice.json".to_owned(), slice.to_json())];
    for f in &slice.files {
        let bytes = read(f).map_err(|source| PayloadError::Io {
            path: f.path.clone(),
            source,
        })?;
        let found = sha256_hex(&bytes);
        if found != f.sha256 {
            return Err(PayloadError::FileDigest {
                path: f.path.clone(),
                expected: f.sha256.clone(),
                found,
            });
        }
        entries.push((format!("files/{}", f.sha256), bytes));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|a, b| a.0 == b.0);
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (name, bytes) in &entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        tar.append_data(&mut h, name, bytes.as_slice())
            .map_err(PayloadError::Archive)?;
    }
    let gz = tar.into_inner().map_err(PayloadError::Archive)?;
    gz.finish().map_err(PayloadError::Archive)
}

fn trailer(payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(TRAILER_LEN);
    t.extend_from_slice(MAGIC);
    t.extend_from_slice(&TRAILER_VERSION.to_le_bytes());
    t.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    t.extend_from_slice(&Sha256::digest(payload));
    t
}

/// `base ++ payload ++ trailer`.
pub fn embed(base: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(base.len() + payload.len() + TRAILER_LEN);
    out.extend_from_slice(base);
    out.extend_from_slice(&tail(payload));
    out
}

/// `payload ++ trailer`: what follows the base binary in a runner, so a
/// host that already has the base needs only this.
pub fn tail(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + TRAILER_LEN);
    out.extend_from_slice(payload);
    out.extend_from_slice(&trailer(payload));
    out
}

struct Trailer {
    version: u32,
    length: u64,
    sha256: [u8; 32],
}

fn parse_trailer(t: &[u8]) -> Option<Trailer> {
    if t.len() != TRAILER_LEN || &t[..8] != MAGIC {
        return None;
    }
    Some(Trailer {
        version: u32::from_le_bytes(t[8..12].try_into().ok()?),
        length: u64::from_le_bytes(t[12..20].try_into().ok()?),
        sha256: t[20..52].try_into().ok()?,
    })
}

/// The base binary of a runner that may already carry a payload.
pub fn strip(exe: &[u8]) -> &[u8] {
    if exe.len() < TRAILER_LEN {
        return exe;
    }
    match parse_trailer(&exe[exe.len() - TRAILER_LEN..]) {
        Some(t) if t.length <= (exe.len() - TRAILER_LEN) as u64 => {
            &exe[..exe.len() - TRAILER_LEN - t.length as usize]
        }
        _ => exe,
    }
}

/// Reads and verifies the payload embedded at the end of `exe`.
pub fn read_embedded(exe: &[u8]) -> Result<Payload, PayloadError> {
    if exe.len() < TRAILER_LEN {
        return Err(PayloadError::NoTrailer);
    }
    let t = parse_trailer(&exe[exe.len() - TRAILER_LEN..]).ok_or(PayloadError::NoTrailer)?;
    check_trailer(&t, exe.len() as u64)?;
    let end = exe.len() - TRAILER_LEN;
    verify(&t, &exe[end - t.length as usize..end])
}

/// Like `read_embedded` for a file, reading only its trailer and payload.
pub fn read_embedded_file(path: &Path) -> Result<Payload, PayloadError> {
    let err = |source| PayloadError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = File::open(path).map_err(err)?;
    let size = f.metadata().map_err(err)?.len();
    if size < TRAILER_LEN as u64 {
        return Err(PayloadError::NoTrailer);
    }
    let mut tb = [0u8; TRAILER_LEN];
    f.seek(SeekFrom::End(-(TRAILER_LEN as i64))).map_err(err)?;
    f.read_exact(&mut tb).map_err(err)?;
    let t = parse_trailer(&tb).ok_or(PayloadError::NoTrailer)?;
    check_trailer(&t, size)?;
    let mut payload = vec![0u8; t.length as usize];
    f.seek(SeekFrom::Start(size - TRAILER_LEN as u64 - t.length))
        .map_err(err)?;
    f.read_exact(&mut payload).map_err(err)?;
    verify(&t, &payload)
}

fn check_trailer(t: &Trailer, file_len: u64) -> Result<(), PayloadError> {
    if t.version != TRAILER_VERSION {
        return Err(PayloadError::TrailerVersion {
            expected: TRAILER_VERSION,
            found: t.version,
        });
    }
    if t.length > file_len - TRAILER_LEN as u64 {
        return Err(PayloadError::Length {
            length: t.length,
            file: file_len,
        });
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn verify(t: &Trailer, payload: &[u8]) -> Result<Payload, PayloadError> {
    let found = Sha256::digest(payload);
    if found.as_slice() != t.sha256 {
        return Err(PayloadError::Sha256 {
            expected: hex(&t.sha256),
            found: hex(&found),
        });
    }
    unpack(payload)
}

fn unpack(payload: &[u8]) -> Result<Payload, PayloadError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(payload));
    let mut slice_json = None;
    let mut files = BTreeMap::new();
    for entry in archive.entries().map_err(PayloadError::Archive)? {
        let mut entry = entry.map_err(PayloadError::Archive)?;
        let name = entry
            .path()
            .map_err(PayloadError::Archive)?
            .to_string_lossy()
            .into_owned();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(PayloadError::Archive)?;
        if name == "slice.json" {
            slice_json = Some(bytes);
        } else if let Some(digest) = name.strip_prefix("files/") {
            let found = sha256_hex(&bytes);
            if found != digest {
                return Err(PayloadError::FileDigest {
                    path: name.clone(),
                    expected: digest.to_owned(),
                    found,
                });
            }
            files.insert(digest.to_owned(), bytes);
        }
    }
    let slice_json = slice_json.ok_or(PayloadError::NoSlice)?;
    let value: serde_json::Value =
        serde_json::from_slice(&slice_json).map_err(|e| PayloadError::Slice(e.to_string()))?;
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    if version != FORMAT_VERSION {
        return Err(PayloadError::SliceVersion {
            expected: FORMAT_VERSION,
            found: version,
        });
    }
    let slice: HostSlice =
        serde_json::from_value(value).map_err(|e| PayloadError::Slice(e.to_string()))?;
    if let Some(f) = slice.files.iter().find(|f| !files.contains_key(&f.sha256)) {
        return Err(PayloadError::MissingFile(f.src.clone()));
    }
    Ok(Payload { slice, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice() -> HostSlice {
        let bytes = b"hello file\n";
        HostSlice {
            version: FORMAT_VERSION,
            host: "h1".into(),
            check: false,
            diff: false,
            tags: Vec::new(),
            skip_tags: Vec::new(),
            playbook_dir: "/pb".into(),
            group_names: vec![],
            groups: Default::default(),
            vars: Default::default(),
            extra_vars: Default::default(),
            plays: vec![],
            files: vec![FileRef {
                src: "motd".into(),
                path: "/pb/files/motd".into(),
                sha256: sha256_hex(bytes),
                size: bytes.len() as u64,
            }],
        }
    }

    fn files(_: &FileRef) -> io::Result<Vec<u8>> {
        Ok(b"hello file\n".to_vec())
    }

    #[test]
    fn round_trip_and_determinism() {
        let a = build(&slice(), files).unwrap();
        assert_eq!(
            a,
            build(&slice(), files).unwrap(),
            "payloads differ between builds"
        );
        let exe = embed(b"\x7fELF-base", &a);
        let p = read_embedded(&exe).unwrap();
        assert_eq!(p.slice, slice());
        assert_eq!(p.file_by_src("motd"), Some(&b"hello file\n"[..]));
        assert_eq!(strip(&exe), b"\x7fELF-base");
        // Re-embedding replaces the payload rather than stacking it.
        let again = embed(strip(&exe), &a);
        assert_eq!(again, exe);
    }

    #[test]
    fn any_flipped_payload_byte_is_refused() {
        let payload = build(&slice(), files).unwrap();
        let exe = embed(b"base", &payload);
        for i in [4, 4 + payload.len() / 2, 4 + payload.len() - 1] {
            let mut bad = exe.clone();
            bad[i] ^= 0x01;
            let err = read_embedded(&bad).unwrap_err().to_string();
            assert!(
                err.starts_with("payload sha256 mismatch: expected "),
                "{err}"
            );
        }
    }

    #[test]
    fn missing_truncated_and_mismatched_inputs() {
        assert!(matches!(
            read_embedded(b"plain binary"),
            Err(PayloadError::NoTrailer)
        ));
        let payload = build(&slice(), files).unwrap();
        let exe = embed(b"", &payload);
        // Cut the head off: the length no longer fits.
        let cut = &exe[10..];
        assert!(matches!(
            read_embedded(cut),
            Err(PayloadError::Length { .. })
        ));
        let err = build(&slice(), |_| Ok(b"other".to_vec())).unwrap_err();
        assert!(matches!(err, PayloadError::FileDigest { .. }), "{err}");
    }

    #[test]
    fn reads_from_a_file_by_seeking() {
        let dir = std::env::temp_dir().join(format!("rustle-payload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("runner");
        let payload = build(&slice(), files).unwrap();
        std::fs::write(&path, embed(&vec![0u8; 100_000], &payload)).unwrap();
        let p = read_embedded_file(&path).unwrap();
        assert_eq!(p.slice.host, "h1");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
