//! SHA-1 and MD5 hex digests: Ansible's file checksums (`checksum` in copy
//! results) and its `sha1`/`md5`/`hash` filters.

use sha1::Digest;

pub fn sha1_hex(data: &[u8]) -> String {
    hex(&sha1::Sha1::digest(data))
}

pub fn md5_hex(data: &[u8]) -> String {
    hex(&md5::Md5::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digests() {
        assert_eq!(
            super::sha1_hex(b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(super::md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
