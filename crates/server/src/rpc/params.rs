//! The request's parameters: query string ∪ form body, decoded strictly.
//!
//! The SDKs put parameters in the query (Tea, aliyun-python-sdk-core, GET
//! pop-core), in an `application/x-www-form-urlencoded` body (POST
//! pop-core) or split between the two (the Node ram_role_arn provider), so
//! both are merged before signing and dispatch (protocol §1, §2.5).
//!
//! Decoding is form decoding (`+` is a space, `%XX` a byte) with no
//! guessing: a `%` not followed by two hex digits, bytes that are not
//! UTF-8, an empty name or a name given twice are refused, since a server
//! that silently repaired them would sign or act on something other than
//! what the client meant. Empty values are kept (`SignatureType=` is sent
//! and signed by aliyun-python-sdk-core).

use crate::error::ApiError;

/// Why a query or form body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("a '%' at byte {0} is not followed by two hex digits")]
    BadEscape(usize),
    #[error("a parameter decodes to bytes that are not UTF-8")]
    NotUtf8,
    #[error("a parameter has an empty name")]
    EmptyName,
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Form-decodes one name or value; `offset` is its position in the whole
/// text, for the error.
fn decode_component(raw: &[u8], offset: usize) -> Result<String, DecodeError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&byte) = raw.get(i) {
        match byte {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let high = raw.get(i + 1).copied().and_then(hex_value);
                let low = raw.get(i + 2).copied().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => out.push(high << 4 | low),
                    _ => return Err(DecodeError::BadEscape(offset + i)),
                }
                i += 3;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

/// Decodes `a=1&b=&c` into pairs (`c` alone is `c=`). Empty segments
/// (`a=1&&b=2`, a trailing `&`) are skipped.
pub fn decode_pairs(text: &[u8]) -> Result<Vec<(String, String)>, DecodeError> {
    let mut pairs = Vec::new();
    let mut offset = 0;
    for segment in text.split(|&b| b == b'&') {
        if !segment.is_empty() {
            let (name, value, value_offset) = match segment.iter().position(|&b| b == b'=') {
                Some(eq) => (
                    segment.get(..eq).unwrap_or_default(),
                    segment.get(eq + 1..).unwrap_or_default(),
                    offset + eq + 1,
                ),
                None => (segment, &[][..], offset + segment.len()),
            };
            if name.is_empty() {
                return Err(DecodeError::EmptyName);
            }
            pairs.push((
                decode_component(name, offset)?,
                decode_component(value, value_offset)?,
            ));
        }
        offset += segment.len() + 1;
    }
    Ok(pairs)
}

/// Every parameter of one request, each name once.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// How many of `pairs` came from the query string (they come first).
    from_query: usize,
}

impl Params {
    /// Merges the query string and, when there is one, the form body.
    pub fn from_parts(query: Option<&str>, form_body: Option<&[u8]>) -> Result<Self, ApiError> {
        let mut pairs = match query {
            Some(q) => decode_pairs(q.as_bytes()).map_err(ApiError::malformed_parameters)?,
            None => Vec::new(),
        };
        let from_query = pairs.len();
        if let Some(body) = form_body {
            pairs.extend(decode_pairs(body).map_err(ApiError::malformed_parameters)?);
        }
        let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w.first() == w.get(1)) {
            return Err(ApiError::duplicate_parameter(
                pair.first().copied().unwrap_or_default(),
            ));
        }
        Ok(Self { pairs, from_query })
    }

    /// Every parameter, query first, in arrival order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The query-string parameters alone (what V3 signs as its query).
    pub fn query_pairs(&self) -> &[(String, String)] {
        self.pairs.get(..self.from_query).unwrap_or_default()
    }

    /// A parameter's value as sent (empty values included).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be present and non-empty
    /// (`Missing<Name>` otherwise).
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.optional(name)
            .ok_or_else(|| ApiError::missing_parameter(name))
    }

    /// A parameter that may be absent; an empty value counts as absent
    /// (the SDKs leave unset fields out, so an empty one carries nothing).
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|v| !v.is_empty())
    }

    /// An optional whole number within `min..=max`.
    pub fn optional_u32(&self, name: &str, min: u32, max: u32) -> Result<Option<u32>, ApiError> {
        let Some(text) = self.optional(name) else {
            return Ok(None);
        };
        let in_range = |n: &u32| (min..=max).contains(n);
        text.parse::<u32>()
            .ok()
            .filter(in_range)
            .map(Some)
            .ok_or_else(|| {
                ApiError::invalid_parameter(
                    name,
                    format_args!("must be a whole number from {min} to {max}"),
                )
            })
    }

    /// An optional boolean, `true` or `false` (any case, as the SDKs send
    /// them lower-case and some tools capitalise).
    pub fn optional_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.optional(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid_parameter(name, "must be true or false")),
        }
    }

    /// An optional value from a fixed set (exact match), returned as the
    /// set's own spelling.
    pub fn optional_choice(
        &self,
        name: &str,
        choices: &[&'static str],
    ) -> Result<Option<&'static str>, ApiError> {
        let Some(value) = self.optional(name) else {
            return Ok(None);
        };
        choices
            .iter()
            .find(|c| **c == value)
            .copied()
            .map(Some)
            .ok_or_else(|| {
                ApiError::invalid_parameter(
                    name,
                    format_args!("must be one of {}", choices.join(", ")),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn decodes_form_style() {
        let pairs = decode_pairs(b"a=1&b=&c&d=x+y%2B%20z&&e=%E6%B5%8B").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "".into()),
                ("d".into(), "x y+ z".into()),
                ("e".into(), "测".into()),
            ]
        );
    }

    #[test]
    fn refuses_malformed() {
        assert_eq!(decode_pairs(b"a=%zz"), Err(DecodeError::BadEscape(2)));
        assert_eq!(decode_pairs(b"a=%4"), Err(DecodeError::BadEscape(2)));
        assert_eq!(decode_pairs(b"a=%FF"), Err(DecodeError::NotUtf8));
        assert_eq!(decode_pairs(b"=x"), Err(DecodeError::EmptyName));
    }

    #[test]
    fn merges_and_refuses_duplicates() {
        let p = Params::from_parts(
            Some("Action=GetUser&SignatureType="),
            Some(b"UserName=al%20ice"),
        )
        .unwrap();
        assert_eq!(p.raw("SignatureType"), Some(""));
        assert_eq!(p.optional("SignatureType"), None);
        assert_eq!(p.required("UserName").unwrap(), "al ice");
        assert_eq!(p.query_pairs().len(), 2);
        let err = Params::from_parts(Some("A=1"), Some(b"A=2")).unwrap_err();
        assert_eq!(err.code(), "InvalidParameter.A");
        assert_eq!(p.required("Nope").unwrap_err().code(), "MissingNope");
    }

    #[test]
    fn typed_getters() {
        let p = Params::from_parts(Some("M=5&B=TRUE&X=abc&C=Custom"), None).unwrap();
        assert_eq!(p.optional_u32("M", 1, 1000).unwrap(), Some(5));
        assert!(p.optional_u32("X", 1, 10).is_err());
        assert_eq!(p.optional_bool("B").unwrap(), Some(true));
        assert!(p.optional_bool("X").is_err());
        assert_eq!(
            p.optional_choice("C", &["System", "Custom"]).unwrap(),
            Some("Custom")
        );
        assert!(p.optional_choice("X", &["System", "Custom"]).is_err());
    }
}
