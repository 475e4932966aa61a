//! Condition operators, their compiled values, and the condition keys
//! rampart knows.
//!
//! Alibaba documents five families (string, number, date, boolean, IP) and
//! nothing else: no `…IfExists`, no `ForAnyValue:`/`ForAllValues:`, no
//! `Null`, no `Arn*`. Those are rejected with an error that says so, rather
//! than silently evaluated with borrowed AWS meanings.
//!
//! Semantics (recorded in `crates/policy/README.md`):
//! - several values for one key: OR; for a negated operator the request
//!   value must match none of them;
//! - several keys, several operators: AND;
//! - a key the request does not carry: positive operators fail, negated
//!   ones hold.

use std::net::IpAddr;

use crate::pattern::{Case, Pattern};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
}

/// What kind of value an operator compares; also the type of a known key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Ip,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::String => "string",
            Family::Numeric => "numeric",
            Family::Date => "date",
            Family::Bool => "boolean",
            Family::Ip => "IP address",
        }
    }
}

pub const ALL_OPERATORS: [Operator; 21] = [
    Operator::StringEquals,
    Operator::StringNotEquals,
    Operator::StringEqualsIgnoreCase,
    Operator::StringNotEqualsIgnoreCase,
    Operator::StringLike,
    Operator::StringNotLike,
    Operator::NumericEquals,
    Operator::NumericNotEquals,
    Operator::NumericLessThan,
    Operator::NumericLessThanEquals,
    Operator::NumericGreaterThan,
    Operator::NumericGreaterThanEquals,
    Operator::DateEquals,
    Operator::DateNotEquals,
    Operator::DateLessThan,
    Operator::DateLessThanEquals,
    Operator::DateGreaterThan,
    Operator::DateGreaterThanEquals,
    Operator::Bool,
    Operator::IpAddress,
    Operator::NotIpAddress,
];

impl Operator {
    pub fn name(self) -> &'static str {
        match self {
            Operator::StringEquals => "StringEquals",
            Operator::StringNotEquals => "StringNotEquals",
            Operator::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            Operator::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            Operator::StringLike => "StringLike",
            Operator::StringNotLike => "StringNotLike",
            Operator::NumericEquals => "NumericEquals",
            Operator::NumericNotEquals => "NumericNotEquals",
            Operator::NumericLessThan => "NumericLessThan",
            Operator::NumericLessThanEquals => "NumericLessThanEquals",
            Operator::NumericGreaterThan => "NumericGreaterThan",
            Operator::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Operator::DateEquals => "DateEquals",
            Operator::DateNotEquals => "DateNotEquals",
            Operator::DateLessThan => "DateLessThan",
            Operator::DateLessThanEquals => "DateLessThanEquals",
            Operator::DateGreaterThan => "DateGreaterThan",
            Operator::DateGreaterThanEquals => "DateGreaterThanEquals",
            Operator::Bool => "Bool",
            Operator::IpAddress => "IpAddress",
            Operator::NotIpAddress => "NotIpAddress",
        }
    }

    /// Operator names are case-sensitive, as Alibaba documents.
    pub fn from_name(name: &str) -> Option<Operator> {
        ALL_OPERATORS.iter().copied().find(|op| op.name() == name)
    }

    pub fn family(self) -> Family {
        use Operator::*;
        match self {
            StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike => Family::String,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Family::Numeric,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Family::Date,
            Bool => Family::Bool,
            IpAddress | NotIpAddress => Family::Ip,
        }
    }

    /// Negated operators hold when the request value matches none of the
    /// listed values, and hold when the key is absent.
    pub fn is_negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
        )
    }
}

/// Explains why an operator name is not accepted, naming the AWS-only
/// forms people bring along.
pub fn unknown_operator_hint(name: &str) -> String {
    if name.ends_with("IfExists") {
        "Alibaba RAM has no ...IfExists operators".to_string()
    } else if name.starts_with("ForAnyValue:") || name.starts_with("ForAllValues:") {
        "Alibaba RAM has no ForAnyValue:/ForAllValues: set qualifiers".to_string()
    } else if name == "Null" || name.starts_with("Arn") || name == "BinaryEquals" {
        format!("Alibaba RAM has no {name} operator")
    } else if let Some(op) = crate::condition::ALL_OPERATORS
        .iter()
        .find(|op| op.name().eq_ignore_ascii_case(name))
    {
        format!(
            "operator names are case-sensitive; did you mean {}?",
            op.name()
        )
    } else {
        "expected one of String*, Numeric*, Date*, Bool, IpAddress, NotIpAddress".to_string()
    }
}

/// A condition value compiled for its operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Like(Pattern),
    Number(f64),
    /// Milliseconds since the Unix epoch, UTC.
    Date(i64),
    Bool(bool),
    Cidr(Cidr),
}

/// One compiled condition: operator, key (lower-cased: keys compare without
/// regard to case) and the values, any of which may match.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    pub key: String,
    pub operands: Vec<Operand>,
}

/// Why a value cannot serve as an operand.
pub fn compile_operand(operator: Operator, text: &str) -> Result<Operand, String> {
    match operator {
        Operator::StringLike | Operator::StringNotLike => {
            Ok(Operand::Like(Pattern::new(text, Case::Sensitive)))
        }
        Operator::StringEqualsIgnoreCase | Operator::StringNotEqualsIgnoreCase => {
            Ok(Operand::Text(fold_case(text).collect()))
        }
        _ => match operator.family() {
            Family::String => Ok(Operand::Text(text.to_string())),
            Family::Numeric => parse_number(text)
                .map(Operand::Number)
                .ok_or_else(|| format!("\"{text}\" is not a number")),
            Family::Date => parse_date(text).map(Operand::Date).ok_or_else(|| {
                format!("\"{text}\" is not an ISO 8601 date-time such as 2026-11-22T10:00:00Z")
            }),
            Family::Bool => parse_bool(text)
                .map(Operand::Bool)
                .ok_or_else(|| format!("\"{text}\" is not \"true\" or \"false\"")),
            Family::Ip => Cidr::parse(text).map(Operand::Cidr).ok_or_else(|| {
                format!("\"{text}\" is not an IPv4/IPv6 address or CIDR range (e.g. 10.0.0.0/8)")
            }),
        },
    }
}

impl Condition {
    /// Whether the condition holds for the request values of its key
    /// (`None` when the request does not carry the key).
    pub fn holds(&self, values: Option<&[String]>) -> bool {
        let Some(values) = values.filter(|v| !v.is_empty()) else {
            return self.operator.is_negated();
        };
        let any = |value: &str| {
            self.operands
                .iter()
                .any(|op| positive_match(self.operator, op, value))
        };
        if self.operator.is_negated() {
            values.iter().all(|v| !any(v))
        } else {
            values.iter().any(|v| any(v))
        }
    }
}

/// Compares one request value with one operand, reading negated operators
/// as their positive twin (the caller negates).
fn positive_match(operator: Operator, operand: &Operand, value: &str) -> bool {
    use Operator::*;
    match (operator, operand) {
        (StringEquals | StringNotEquals, Operand::Text(t)) => t == value,
        (StringEqualsIgnoreCase | StringNotEqualsIgnoreCase, Operand::Text(t)) => {
            eq_ignore_case(t, value)
        }
        (StringLike | StringNotLike, Operand::Like(p)) => p.matches(value),
        (_, Operand::Number(n)) => parse_number(value).is_some_and(|v| match operator {
            NumericEquals | NumericNotEquals => v == *n,
            NumericLessThan => v < *n,
            NumericLessThanEquals => v <= *n,
            NumericGreaterThan => v > *n,
            NumericGreaterThanEquals => v >= *n,
            _ => false,
        }),
        (_, Operand::Date(d)) => parse_date(value).is_some_and(|v| match operator {
            DateEquals | DateNotEquals => v == *d,
            DateLessThan => v < *d,
            DateLessThanEquals => v <= *d,
            DateGreaterThan => v > *d,
            DateGreaterThanEquals => v >= *d,
            _ => false,
        }),
        (Bool, Operand::Bool(b)) => parse_bool(value) == Some(*b),
        (IpAddress | NotIpAddress, Operand::Cidr(c)) => {
            value.parse::<IpAddr>().is_ok_and(|ip| c.contains(ip))
        }
        _ => false,
    }
}

/// Case folding for the `…IgnoreCase` operators: each character lowered on
/// its own, with the final sigma `ς` read as `σ`, so that "ΑΣ", "ας" and
/// "ασ" are all equal. (`str::to_lowercase` picks `ς` or `σ` by position in
/// the word, which would make equality depend on context.)
fn fold_case(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
}

/// Case-insensitive equality that does not allocate. `folded` went through
/// [`fold_case`] when the policy was compiled.
fn eq_ignore_case(folded: &str, value: &str) -> bool {
    if value.is_ascii() && folded.is_ascii() {
        folded.eq_ignore_ascii_case(value)
    } else {
        fold_case(value).eq(folded.chars())
    }
}

pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let looks_numeric = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !looks_numeric {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

pub fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses ISO 8601 date-times: `YYYY-MM-DD`, optionally followed by
/// `THH:MM[:SS[.fraction]]` and `Z` or `±HH:MM`; a date-time without a zone
/// is read as UTC. Returns milliseconds since the Unix epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits.iter().try_fold(0i64, |acc, d| {
            acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
    };
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    let year = num(0..4)?;
    if !sep(4, b'-') || !sep(7, b'-') {
        return None;
    }
    let month = num(5..7)?;
    let day = num(8..10)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut millis = days_from_civil(year, month, day) * 86_400_000;
    if b.len() == 10 {
        return Some(millis);
    }
    if !(sep(10, b'T') || sep(10, b't')) || !sep(13, b':') {
        return None;
    }
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let mut i = 16;
    let mut second = 0;
    let mut fraction_ms = 0;
    if sep(i, b':') {
        second = num(17..19)?;
        i = 19;
        if sep(i, b'.') {
            let start = i + 1;
            let mut end = start;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            if end == start {
                return None;
            }
            // Milliseconds from the first three digits; finer digits are dropped.
            for k in 0..3 {
                let digit = match b.get(start + k) {
                    Some(d) if start + k < end => i64::from(d - b'0'),
                    _ => 0,
                };
                fraction_ms = fraction_ms * 10 + digit;
            }
            i = end;
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    millis += ((hour * 60 + minute) * 60 + second) * 1000 + fraction_ms;
    match b.get(i) {
        None => Some(millis),
        Some(b'Z' | b'z') if b.len() == i + 1 => Some(millis),
        Some(&sign @ (b'+' | b'-')) => {
            if b.len() != i + 6 || !sep(i + 3, b':') {
                return None;
            }
            let off_h = num(i + 1..i + 3)?;
            let off_m = num(i + 4..i + 6)?;
            if off_h > 23 || off_m > 59 {
                return None;
            }
            let offset = (off_h * 60 + off_m) * 60_000;
            // Local time minus its offset is UTC.
            Some(if sign == b'+' {
                millis - offset
            } else {
                millis + offset
            })
        }
        _ => None,
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// well-known civil-from-days inverse).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_date(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// An address range. A single address is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: u128,
    prefix: u8,
    v6: bool,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (a, Some(p.parse::<u8>().ok()?))
            }
            None => (text, None),
        };
        let ip: IpAddr = addr.parse().ok()?;
        let (bits, width, v6) = to_bits(ip);
        let prefix = prefix.unwrap_or(width);
        if prefix > width {
            return None;
        }
        Some(Cidr {
            network: bits & mask(prefix, width),
            prefix,
            v6,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (bits, width, v6) = to_bits(ip);
        v6 == self.v6 && bits & mask(self.prefix, width) == self.network
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4, so `::ffff:10.0.0.1` is in
/// `10.0.0.0/8`.
fn to_bits(ip: IpAddr) -> (u128, u8, bool) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32, false),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)), 32, false),
            None => (u128::from(v6), 128, true),
        },
    }
}

fn mask(prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let all = if width == 32 {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    let shift = u32::from(width - prefix);
    (all >> shift) << shift
}

/// Condition keys rampart fills in or knows the type of. Keys compare
/// without regard to case (`acs:PrincipalARN` = `acs:PrincipalArn`).
pub const KNOWN_GLOBAL_KEYS: [(&str, Family); 12] = [
    ("acs:CurrentTime", Family::Date),
    ("acs:SecureTransport", Family::Bool),
    ("acs:SourceIp", Family::Ip),
    ("acs:SourceVpc", Family::String),
    ("acs:SourceVpcId", Family::String),
    ("acs:MFAPresent", Family::Bool),
    ("acs:AccessId", Family::String),
    ("acs:PrincipalARN", Family::String),
    ("acs:PrincipalAccount", Family::String),
    ("acs:PrincipalRdId", Family::String),
    ("acs:PrincipalRdPath", Family::String),
    ("acs:Service", Family::String),
];

/// Tag keys carry the tag name after a slash.
pub const TAG_KEY_PREFIXES: [&str; 2] = ["acs:ResourceTag/", "acs:RequestTag/"];

/// The type a known key has, if rampart knows the key.
pub fn key_family(key: &str) -> Option<Family> {
    if key.eq_ignore_ascii_case("acs:UserAgent") {
        return Some(Family::String);
    }
    if TAG_KEY_PREFIXES.iter().any(|p| {
        key.len() > p.len()
            && key
                .get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p))
    }) {
        return Some(Family::String);
    }
    KNOWN_GLOBAL_KEYS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, family)| *family)
}

/// Whether an operator family may test a key of the given type. String
/// operators may read any key as text (Alibaba's own OSS examples use
/// `StringLike` on `acs:SourceVpc`), except IPs and dates, whose text forms
/// vary too much to compare as strings.
pub fn family_fits(operator: Family, key: Family) -> bool {
    operator == key || (operator == Family::String && matches!(key, Family::String | Family::Bool))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: Operator, values: &[&str]) -> Condition {
        Condition {
            operator: op,
            key: "k".into(),
            operands: values
                .iter()
                .map(|v| compile_operand(op, v).unwrap())
                .collect(),
        }
    }

    fn holds(op: Operator, values: &[&str], request: &str) -> bool {
        cond(op, values).holds(Some(&[request.to_string()]))
    }

    #[test]
    fn string_operators() {
        use Operator::*;
        assert!(holds(StringEquals, &["a", "b"], "b"));
        assert!(!holds(StringEquals, &["a"], "A"));
        assert!(holds(StringNotEquals, &["a", "b"], "c"));
        assert!(!holds(StringNotEquals, &["a", "b"], "a"));
        assert!(holds(StringEqualsIgnoreCase, &["Dev"], "dEV"));
        assert!(holds(StringEqualsIgnoreCase, &["ÉTÉ"], "été"));
        assert!(holds(StringEqualsIgnoreCase, &["ΑΣ"], "ας"));
        assert!(holds(StringEqualsIgnoreCase, &["ασ"], "ΑΣ"));
        assert!(holds(StringEqualsIgnoreCase, &["éΣ"], "Éς"));
        assert!(!holds(StringNotEqualsIgnoreCase, &["Dev"], "DEV"));
        assert!(holds(StringLike, &["vpc-*"], "vpc-123"));
        assert!(holds(StringLike, &["a?c"], "abc"));
        assert!(!holds(StringLike, &["VPC-*"], "vpc-1"));
        assert!(holds(StringNotLike, &["vpc-*"], "eni-1"));
        assert!(
            !holds(StringEquals, &["a*"], "abc"),
            "Equals has no wildcards"
        );
    }

    #[test]
    fn numeric_operators() {
        use Operator::*;
        assert!(holds(NumericEquals, &["10"], "10.0"));
        assert!(holds(NumericNotEquals, &["10"], "11"));
        assert!(holds(NumericLessThan, &["10"], "9.5"));
        assert!(!holds(NumericLessThan, &["10"], "10"));
        assert!(holds(NumericLessThanEquals, &["10"], "10"));
        assert!(holds(NumericGreaterThan, &["-1"], "0"));
        assert!(holds(NumericGreaterThanEquals, &["3"], "3"));
        assert!(!holds(NumericEquals, &["3"], "three"));
        assert!(compile_operand(NumericEquals, "ten").is_err());
        assert!(compile_operand(NumericEquals, "inf").is_err());
    }

    #[test]
    fn date_operators_and_formats() {
        use Operator::*;
        assert!(holds(
            DateLessThan,
            &["2026-11-22T10:00:00Z"],
            "2026-11-22T09:59:59Z"
        ));
        assert!(!holds(
            DateLessThan,
            &["2026-11-22T10:00:00Z"],
            "2026-11-22T10:00:00Z"
        ));
        assert!(holds(
            DateLessThanEquals,
            &["2026-11-22T10:00:00Z"],
            "2026-11-22T10:00:00Z"
        ));
        assert!(holds(
            DateGreaterThan,
            &["2019-08-12T17:00:00+08:00"],
            "2019-08-12T09:00:01Z"
        ));
        assert!(holds(
            DateEquals,
            &["2019-08-12T17:00:00+08:00"],
            "2019-08-12T09:00:00Z"
        ));
        assert!(holds(
            DateNotEquals,
            &["2019-08-12"],
            "2019-08-12T00:00:01Z"
        ));
        assert!(holds(
            DateGreaterThanEquals,
            &["2019-08-12"],
            "2019-08-12T00:00:00.000Z"
        ));
        for bad in [
            "2026-13-01T00:00:00Z",
            "2026-02-30",
            "yesterday",
            "2026-11-22 10:00:00",
            "2026-11-22T25:00:00Z",
            "2026-11-22T10:00:00+0800",
        ] {
            assert!(compile_operand(DateEquals, bad).is_err(), "{bad}");
        }
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("2000-03-01T00:00:00.5Z"), Some(951_868_800_500));
        assert_eq!(format_date(951_868_800_500), "2000-03-01T00:00:00Z");
    }

    #[test]
    fn bool_and_ip_operators() {
        use Operator::*;
        assert!(holds(Bool, &["true"], "true"));
        assert!(holds(Bool, &["false"], "FALSE"));
        assert!(!holds(Bool, &["true"], "yes"));
        assert!(compile_operand(Bool, "yes").is_err());
        assert!(holds(IpAddress, &["10.0.0.0/8"], "10.1.2.3"));
        assert!(holds(IpAddress, &["192.168.1.7"], "192.168.1.7"));
        assert!(!holds(IpAddress, &["10.0.0.0/8"], "11.0.0.1"));
        assert!(holds(IpAddress, &["10.0.0.0/8"], "::ffff:10.0.0.1"));
        assert!(holds(IpAddress, &["2001:db8::/32"], "2001:db8::1"));
        assert!(!holds(IpAddress, &["2001:db8::/32"], "10.0.0.1"));
        assert!(holds(IpAddress, &["0.0.0.0/0"], "8.8.8.8"));
        assert!(holds(
            NotIpAddress,
            &["10.0.0.0/8", "172.16.0.0/12"],
            "8.8.8.8"
        ));
        assert!(!holds(
            NotIpAddress,
            &["10.0.0.0/8", "172.16.0.0/12"],
            "172.20.0.1"
        ));
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "2001:db8::/129",
            "10.0.0.1/",
            "host",
            "10.0.0.0/-1",
        ] {
            assert!(compile_operand(IpAddress, bad).is_err(), "{bad}");
        }
        assert!(!holds(IpAddress, &["10.0.0.0/8"], "not-an-ip"));
    }

    #[test]
    fn absent_keys_fail_positive_and_pass_negated() {
        for op in ALL_OPERATORS {
            let value = match op.family() {
                Family::Numeric => "1",
                Family::Date => "2026-01-01T00:00:00Z",
                Family::Bool => "true",
                Family::Ip => "10.0.0.0/8",
                Family::String => "x",
            };
            assert_eq!(
                cond(op, &[value]).holds(None),
                op.is_negated(),
                "{}",
                op.name()
            );
        }
    }

    #[test]
    fn multi_valued_request_keys() {
        let c = cond(Operator::StringEquals, &["a"]);
        assert!(c.holds(Some(&["b".into(), "a".into()])));
        let n = cond(Operator::StringNotEquals, &["a"]);
        assert!(!n.holds(Some(&["b".into(), "a".into()])));
    }

    #[test]
    fn unknown_operators_get_hints() {
        assert!(unknown_operator_hint("StringEqualsIfExists").contains("IfExists"));
        assert!(unknown_operator_hint("ForAnyValue:StringEquals").contains("ForAnyValue"));
        assert!(unknown_operator_hint("Null").contains("Null"));
        assert!(unknown_operator_hint("ArnLike").contains("ArnLike"));
        assert!(unknown_operator_hint("stringequals").contains("StringEquals"));
        assert_eq!(Operator::from_name("stringequals"), None);
    }

    #[test]
    fn key_types() {
        assert_eq!(key_family("acs:sourceip"), Some(Family::Ip));
        assert_eq!(key_family("acs:PrincipalArn"), Some(Family::String));
        assert_eq!(key_family("acs:ResourceTag/team"), Some(Family::String));
        assert_eq!(key_family("acs:ResourceTag/"), None);
        assert_eq!(key_family("oss:Prefix"), None);
        assert!(family_fits(Family::String, Family::Bool));
        assert!(!family_fits(Family::String, Family::Ip));
        assert!(!family_fits(Family::Numeric, Family::Date));
    }

    proptest::proptest! {
        #[test]
        fn dates_round_trip(secs in -62_135_596_800i64..253_402_300_799i64) {
            let text = format_date(secs * 1000);
            proptest::prop_assert_eq!(parse_date(&text), Some(secs * 1000));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = parse_date(&s);
            let _ = Cidr::parse(&s);
            let _ = parse_number(&s);
        }
    }
}
