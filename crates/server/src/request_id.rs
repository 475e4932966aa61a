//! Request ids, in Alibaba's form: a UUID in upper-case hex with dashes
//! (`04F0F334-1335-436C-A1D7-6C044FE73368`).

use std::fmt;

/// One request's id: in the response body (`RequestId`), the
/// `x-acs-request-id` header, the log and the audit record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// A fresh random (version 4) id.
    pub fn new() -> Self {
        let mut bytes = [0_u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
        // Version 4, RFC 4122 variant.
        if let Some(b) = bytes.get_mut(6) {
            *b = (*b & 0x0f) | 0x40;
        }
        if let Some(b) = bytes.get_mut(8) {
            *b = (*b & 0x3f) | 0x80;
        }
        let mut text = String::with_capacity(36);
        for (i, byte) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                text.push('-');
            }
            text.push(auth::hex_digit_upper(byte >> 4));
            text.push(auth::hex_digit_upper(byte & 0x0f));
        }
        Self(text)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_alibaba_s() {
        let id = RequestId::new();
        let text = id.as_str();
        assert_eq!(text.len(), 36);
        let groups: Vec<usize> = text.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(text
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('A'..='F').contains(&c)));
        assert_ne!(RequestId::new(), id);
    }
}
