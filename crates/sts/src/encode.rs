//! Text forms of derived bytes: base62, so AccessKeyIds, secrets and
//! session ids are plain letters and digits like Alibaba's, safe in every
//! config file, environment variable and URL without quoting.

/// Characters one 128-bit value takes in base62 (62^22 > 2^128).
pub(crate) const U128_DIGITS: usize = 22;

fn digit(value: u8) -> char {
    match value {
        0..=9 => char::from(b'0' + value),
        10..=35 => char::from(b'A' + (value - 10)),
        _ => char::from(b'a' + (value.min(61) - 36)),
    }
}

/// Appends `value` as exactly [`U128_DIGITS`] base62 digits, most
/// significant first (fixed width, so lengths never vary).
pub(crate) fn base62_u128(mut value: u128, out: &mut String) {
    let mut digits = ['0'; U128_DIGITS];
    for slot in digits.iter_mut().rev() {
        // `value % 62` is below 62, so the cast is exact.
        *slot = digit((value % 62) as u8);
        value /= 62;
    }
    out.extend(digits);
}

/// Base62 of 16 bytes read big-endian.
pub(crate) fn base62_16(bytes: [u8; 16]) -> String {
    let mut out = String::with_capacity(U128_DIGITS);
    base62_u128(u128::from_be_bytes(bytes), &mut out);
    out
}

/// Base62 of a 32-byte value: its two halves, one after the other.
pub(crate) fn base62_32(bytes: &[u8; 32]) -> String {
    let mut high = [0u8; 16];
    let mut low = [0u8; 16];
    for (i, b) in bytes.iter().enumerate() {
        if let Some(slot) = high.get_mut(i) {
            *slot = *b;
        } else if let Some(slot) = low.get_mut(i - 16) {
            *slot = *b;
        }
    }
    let mut out = String::with_capacity(2 * U128_DIGITS);
    base62_u128(u128::from_be_bytes(high), &mut out);
    base62_u128(u128::from_be_bytes(low), &mut out);
    out
}

/// The first 16 bytes of a 32-byte value.
pub(crate) fn first_16(bytes: &[u8; 32]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (slot, b) in out.iter_mut().zip(bytes.iter()) {
        *slot = *b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_and_alphabet() {
        assert_eq!(base62_16([0; 16]), "0".repeat(22));
        let max = base62_16([0xff; 16]);
        assert_eq!(max.len(), 22);
        assert_eq!(max, "7n42DGM5Tflk9n8mt7Fhc7");
        let mut one = String::new();
        base62_u128(61, &mut one);
        assert!(one.ends_with('z'));
        let mut ten = String::new();
        base62_u128(10, &mut ten);
        assert!(ten.ends_with('A'));
        let wide = base62_32(&[0xab; 32]);
        assert_eq!(wide.len(), 44);
        assert!(wide.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(wide[..22], wide[22..]);
    }

    #[test]
    fn distinct_values_give_distinct_text() {
        let a = base62_16(1u128.to_be_bytes());
        let b = base62_16(2u128.to_be_bytes());
        assert_ne!(a, b);
        assert_eq!(first_16(&[7; 32]), [7; 16]);
    }
}
