//! The error texts the SDKs parse.
//!
//! aliyun-python-sdk-core, on a 400 `SignatureDoesNotMatch`, takes
//! `Message.split(':')[1]` and compares it with its own string to sign (a
//! match means the secret is wrong, and it reports
//! `InvalidAccessKeySecret`); a `Message` without a `:` makes it crash with
//! `IndexError`. The Node credentials library slices off the same prefix.
//! So the text must be exactly the prefix below followed by the string to
//! sign. Neither string to sign (V1 is percent-encoded twice, V3 is an
//! algorithm name and a hex digest) contains a `:`, so the split yields it
//! whole.

/// The Alibaba error code for a signature that does not verify.
pub const SIGNATURE_DOES_NOT_MATCH: &str = "SignatureDoesNotMatch";

/// The Alibaba error code for a request whose signature is malformed or
/// incomplete.
pub const INCOMPLETE_SIGNATURE: &str = "IncompleteSignature";

/// What precedes the server's string to sign in a `SignatureDoesNotMatch`
/// message.
pub const SIGNATURE_MISMATCH_PREFIX: &str =
    "Specified signature is not matched with our calculation. server string to sign is:";

/// What precedes the server's string to sign in an `IncompleteSignature`
/// message.
pub const INCOMPLETE_SIGNATURE_PREFIX: &str =
    "The request signature does not conform to Aliyun standards. server string to sign is:";

/// The `Message` of a `SignatureDoesNotMatch` error (HTTP 400), in the
/// exact form the SDKs parse.
///
/// ```
/// let message = auth::signature_mismatch_message("GET&%2F&A%3Db");
/// assert_eq!(message.split(':').nth(1), Some("GET&%2F&A%3Db"));
/// ```
pub fn signature_mismatch_message(string_to_sign: &str) -> String {
    format!("{SIGNATURE_MISMATCH_PREFIX}{string_to_sign}")
}

/// The `Message` of an `IncompleteSignature` error (HTTP 400).
pub fn incomplete_signature_message(string_to_sign: &str) -> String {
    format!("{INCOMPLETE_SIGNATURE_PREFIX}{string_to_sign}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_text() {
        assert_eq!(
            signature_mismatch_message("GET&%2F&x"),
            "Specified signature is not matched with our calculation. server string to sign is:GET&%2F&x"
        );
        assert_eq!(
            incomplete_signature_message("s"),
            "The request signature does not conform to Aliyun standards. server string to sign is:s"
        );
    }

    #[test]
    fn python_core_split_recovers_the_string_to_sign() {
        let s2s =
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259";
        let message = signature_mismatch_message(s2s);
        let parts: Vec<&str> = message.split(':').collect();
        assert_eq!(parts.get(1), Some(&s2s));
        // And the Node credentials library's prefix slice.
        assert_eq!(message.strip_prefix(SIGNATURE_MISMATCH_PREFIX), Some(s2s));
    }
}
