//! Standard base64 (RFC 4648, with padding), as Python's `base64` module.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub fn encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

pub fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.trim()).ok()
}
