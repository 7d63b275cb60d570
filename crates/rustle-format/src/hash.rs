use sha2::{Digest, Sha256};

/// Lower-case hex sha256 of `bytes`; ids and content hashes in the document use it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `sha256_hex` of `value`'s compact JSON, hashed as it is written instead
/// of through a string first (parse hashes every task this way).
pub fn sha256_hex_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = Hashing(Sha256::new());
    serde_json::to_writer(&mut w, value).expect("document values always serialise");
    hex(&w.0.finalize())
}

fn hex(digest: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digest() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn json_digest_is_the_digest_of_the_compact_text() {
        let value = serde_json::json!(["a", {"b": [1, null, "\u{e9}\n"]}, true]);
        assert_eq!(
            super::sha256_hex_json(&value),
            super::sha256_hex(value.to_string().as_bytes())
        );
    }
}
