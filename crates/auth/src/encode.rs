//! The percent-encoding every Alibaba Cloud SDK applies before signing.
//!
//! The SDKs reach the same bytes by different roads (Python's `quote_plus`
//! followed by three replacements, JavaScript's `encodeURIComponent` plus
//! escaping `!'()*`, Tea's `quote(v, safe='~')`), and the result is always:
//! take the UTF-8 bytes, keep the RFC 3986 unreserved set
//! `A-Z a-z 0-9 - _ . ~` as it is, write every other byte as `%XX` with
//! upper-case hex. So a space is `%20` (never `+`), `*` is `%2A`, and `~`
//! stays `~`.

/// Whether `byte` passes through the encoding unchanged.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

/// The upper-case hex digit for a nibble (`0..=15`).
pub fn hex_digit_upper(nibble: u8) -> char {
    match nibble {
        0..=9 => char::from(b'0' + nibble),
        _ => char::from(b'A' + (nibble & 0x0f) - 10),
    }
}

/// Appends the Alibaba percent-encoding of `input` to `out`.
pub fn percent_encode_into(out: &mut String, input: &str) {
    // Runs of unreserved bytes are copied whole: every request's string to
    // sign goes through here, and most of it needs no escaping.
    let mut rest = input;
    while !rest.is_empty() {
        let run = rest
            .bytes()
            .position(|b| !is_unreserved(b))
            .unwrap_or(rest.len());
        // `run` ends at an escaped byte or the end; every byte before it is
        // ASCII, so both ends are character boundaries.
        let (plain, tail) = rest.split_at(run);
        out.push_str(plain);
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            let mut utf8 = [0u8; 4];
            for &byte in c.encode_utf8(&mut utf8).as_bytes() {
                out.push('%');
                out.push(hex_digit_upper(byte >> 4));
                out.push(hex_digit_upper(byte & 0x0f));
            }
        }
        rest = chars.as_str();
    }
}

/// The Alibaba percent-encoding of `input` (see the module docs).
///
/// ```
/// assert_eq!(auth::percent_encode("a b*c~/"), "a%20b%2Ac~%2F");
/// ```
pub fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    percent_encode_into(&mut out, input);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_pass_through() {
        let unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
        assert_eq!(percent_encode(unreserved), unreserved);
    }

    #[test]
    fn sdk_specific_cases() {
        assert_eq!(percent_encode(" "), "%20");
        assert_eq!(percent_encode("*"), "%2A");
        assert_eq!(percent_encode("~"), "~");
        assert_eq!(percent_encode("/"), "%2F");
        assert_eq!(percent_encode("+"), "%2B");
        assert_eq!(percent_encode("!'()"), "%21%27%28%29");
        assert_eq!(percent_encode("="), "%3D");
        assert_eq!(percent_encode("&"), "%26");
        assert_eq!(percent_encode("%"), "%25");
        assert_eq!(percent_encode(""), "");
    }

    #[test]
    fn utf8_is_encoded_byte_by_byte_in_upper_case_hex() {
        assert_eq!(percent_encode("测试"), "%E6%B5%8B%E8%AF%95");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode("😀"), "%F0%9F%98%80");
    }

    #[test]
    fn control_bytes_are_encoded() {
        assert_eq!(percent_encode("\n\t\u{0}"), "%0A%09%00");
        assert_eq!(percent_encode("\u{7f}"), "%7F");
    }

    #[test]
    fn double_encoding_as_in_the_v1_string_to_sign() {
        assert_eq!(percent_encode(&percent_encode("a b")), "a%2520b");
    }

    /// Byte by byte, the way the encoding is defined.
    fn reference(input: &str) -> String {
        let mut out = String::new();
        for &byte in input.as_bytes() {
            if is_unreserved(byte) {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn runs_encode_as_bytes_do(input in "\\PC*", ascii in "[ -~]*") {
            proptest::prop_assert_eq!(percent_encode(&input), reference(&input));
            proptest::prop_assert_eq!(percent_encode(&ascii), reference(&ascii));
        }
    }
}
