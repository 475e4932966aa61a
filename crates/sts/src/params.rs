//! AssumeRole's parameters, checked as Alibaba checks them (protocol
//! §6.1–6.2), with its error codes and messages (§6.4).
//!
//! Everything that can be judged from the request alone is judged here,
//! before the store is asked anything. The upper bound of
//! `DurationSeconds` depends on the role (its `MaxSessionDuration`) and on
//! whether the caller is itself a role session, so the decision checks it
//! (see [`mod@crate::assume_role`]).

use std::borrow::Cow;
use std::sync::Arc;

use policy::{Entity, Policy, PolicyError, PolicyKind};
use thiserror::Error;

use crate::claims::compact_json;
use crate::error::WireError;

/// Shortest session a caller may ask for.
pub const MIN_DURATION_SECONDS: i64 = 900;
/// What a session lasts when `DurationSeconds` is not given.
pub const DEFAULT_DURATION_SECONDS: i64 = 3600;
/// Longest session policy, in characters (Unicode scalar values).
pub const MAX_SESSION_POLICY_CHARS: usize = 2048;
/// `RoleSessionName` length bounds.
pub const SESSION_NAME_LEN: (usize, usize) = (2, 64);
/// `ExternalId` length bounds.
pub const EXTERNAL_ID_LEN: (usize, usize) = (2, 1224);
/// `SourceIdentity` length bounds.
pub const SOURCE_IDENTITY_LEN: (usize, usize) = (2, 64);
/// `RoleName` (inside `RoleArn`) length bounds, as RAM's CreateRole.
pub const ROLE_NAME_LEN: (usize, usize) = (1, 64);

/// The parameters as they arrived (query ∪ form body). An empty optional
/// parameter counts as absent; an empty required one as missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssumeRoleParams<'a> {
    pub role_arn: Option<&'a str>,
    pub role_session_name: Option<&'a str>,
    pub duration_seconds: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub source_identity: Option<&'a str>,
}

/// A checked session policy: the compacted text that goes into the token,
/// and the compiled document.
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    text: String,
    policy: Arc<Policy>,
}

impl SessionPolicy {
    /// Checks a session policy as AssumeRole does: at most 2048
    /// characters, then the full grammar of `PolicyKind::Session`.
    pub fn parse(text: &str) -> Result<SessionPolicy, ParamError> {
        let chars = text.chars().count();
        if chars > MAX_SESSION_POLICY_CHARS {
            return Err(ParamError::PolicySize { chars });
        }
        let policy = Policy::parse(text, PolicyKind::Session).map_err(ParamError::PolicyGrammar)?;
        Ok(SessionPolicy {
            text: compact_json(text),
            policy: Arc::new(policy),
        })
    }

    /// The text sealed into the token (whitespace outside strings removed).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }
}

/// AssumeRole's parameters, checked.
#[derive(Debug, Clone)]
pub struct AssumeRoleRequest {
    /// The account of `RoleArn`.
    pub role_account: String,
    /// The role name of `RoleArn`, as written (RAM compares role names
    /// without regard to case).
    pub role_name: String,
    pub session_name: String,
    /// `DurationSeconds` when given (already at least 900).
    pub duration_seconds: Option<i64>,
    pub policy: Option<SessionPolicy>,
    pub external_id: Option<String>,
    pub source_identity: Option<String>,
}

impl AssumeRoleRequest {
    /// Checks every parameter, in the order they are listed in §6.1, and
    /// stops at the first that is wrong.
    pub fn parse(params: &AssumeRoleParams<'_>) -> Result<AssumeRoleRequest, ParamError> {
        let role_arn = required(params.role_arn, "RoleArn")?;
        let (role_account, role_name) = parse_role_arn(role_arn)?;
        let session_name = required(params.role_session_name, "RoleSessionName")?;
        if !session_name_ok(session_name) {
            return Err(ParamError::RoleSessionName);
        }
        let duration_seconds = optional(params.duration_seconds)
            .map(parse_duration)
            .transpose()?;
        let policy = optional(params.policy)
            .map(SessionPolicy::parse)
            .transpose()?;
        let external_id = optional(params.external_id)
            .map(|v| {
                if text_ok(v, EXTERNAL_ID_LEN, external_id_char) {
                    Ok(v.to_string())
                } else {
                    Err(ParamError::ExternalId)
                }
            })
            .transpose()?;
        let source_identity = optional(params.source_identity)
            .map(|v| {
                if text_ok(v, SOURCE_IDENTITY_LEN, source_identity_char) {
                    Ok(v.to_string())
                } else {
                    Err(ParamError::SourceIdentity)
                }
            })
            .transpose()?;
        Ok(AssumeRoleRequest {
            role_account: role_account.to_string(),
            role_name: role_name.to_string(),
            session_name: session_name.to_string(),
            duration_seconds,
            policy,
            external_id,
            source_identity,
        })
    }

    /// `acs:ram::ACCOUNT:role/ROLE` (role name lower-cased).
    pub fn role_arn(&self) -> String {
        Entity::role(&self.role_account, &self.role_name).to_string()
    }
}

fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, ParamError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ParamError::Missing(name)),
    }
}

fn optional(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// `acs:ram::ACCOUNT:role/NAME`: an empty region, a numeric account, a
/// role name RAM would accept. Returns (account, name).
pub fn parse_role_arn(text: &str) -> Result<(&str, &str), ParamError> {
    let shape = || ParamError::RoleArn;
    let rest = text.strip_prefix("acs:ram::").ok_or_else(shape)?;
    let (account, resource) = rest.split_once(':').ok_or_else(shape)?;
    let name = resource.strip_prefix("role/").ok_or_else(shape)?;
    let account_ok =
        !account.is_empty() && account.len() <= 32 && account.bytes().all(|b| b.is_ascii_digit());
    let name_ok = text_ok(name, ROLE_NAME_LEN, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
    });
    if account_ok && name_ok {
        Ok((account, name))
    } else {
        Err(shape())
    }
}

fn text_ok(value: &str, (min, max): (usize, usize), allowed: impl Fn(char) -> bool) -> bool {
    let len = value.chars().count();
    (min..=max).contains(&len) && value.chars().all(allowed)
}

/// 2–64 of `[A-Za-z0-9.@_-]`.
pub fn session_name_ok(name: &str) -> bool {
    text_ok(name, SESSION_NAME_LEN, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '_' | '-')
    })
}

/// `[\w+=,.@:/-]`, `\w` read as ASCII letters, digits and `_`.
fn external_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | ':' | '/' | '-')
}

/// `[\w+=,.@-]`: what the SDK models and AWS accept for a source identity.
fn source_identity_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
}

fn parse_duration(text: &str) -> Result<i64, ParamError> {
    let invalid = || ParamError::DurationSeconds {
        max: DEFAULT_DURATION_SECONDS,
        chained: false,
    };
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let seconds: i64 = text.parse().map_err(|_| invalid())?;
    if seconds < MIN_DURATION_SECONDS {
        return Err(invalid());
    }
    Ok(seconds)
}

/// `15min`, `1hr`, `12hr`, `5400s`: how the DurationSeconds message names
/// a bound.
pub(crate) fn human_duration(seconds: i64) -> String {
    if seconds % 3600 == 0 {
        format!("{}hr", seconds / 3600)
    } else if seconds % 60 == 0 {
        format!("{}min", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

/// A parameter of AssumeRole is missing or wrong.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParamError {
    #[error("Parameter {0} is required.")]
    Missing(&'static str),
    #[error("The parameter RoleArn is wrongly formed.")]
    RoleArn,
    #[error("The parameter RoleSessionName is wrongly formed.")]
    RoleSessionName,
    /// Not an integer, below 900 s, or above `max` (the role's
    /// `MaxSessionDuration`, or 3600 s for a chained session).
    #[error("The Min/Max value of DurationSeconds is 15min/{}.", human_duration(*max))]
    DurationSeconds { max: i64, chained: bool },
    #[error(
        "The size of Policy must be at most {MAX_SESSION_POLICY_CHARS} characters; it has {chars}."
    )]
    PolicySize { chars: usize },
    #[error("The parameter Policy has not passed grammar check. {0}")]
    PolicyGrammar(PolicyError),
    #[error("The parameter ExternalId is wrongly formed.")]
    ExternalId,
    #[error("The parameter SourceIdentity is wrongly formed.")]
    SourceIdentity,
}

impl WireError for ParamError {
    fn code(&self) -> Cow<'static, str> {
        match self {
            ParamError::Missing(name) => Cow::Owned(format!("MissingParameter.{name}")),
            ParamError::RoleArn => Cow::Borrowed("InvalidParameter.RoleArn"),
            ParamError::RoleSessionName => Cow::Borrowed("InvalidParameter.RoleSessionName"),
            ParamError::DurationSeconds { .. } => Cow::Borrowed("InvalidParameter.DurationSeconds"),
            ParamError::PolicySize { .. } => Cow::Borrowed("InvalidParameter.PolicySize"),
            ParamError::PolicyGrammar(_) => Cow::Borrowed("InvalidParameter.PolicyGrammar"),
            ParamError::ExternalId => Cow::Borrowed("InvalidParameter.ExternalId"),
            ParamError::SourceIdentity => Cow::Borrowed("InvalidParameter.SourceIdentity"),
        }
    }

    fn http_status(&self) -> u16 {
        400
    }

    fn detail(&self) -> Option<String> {
        match self {
            ParamError::RoleArn => {
                Some("expected acs:ram::ACCOUNT:role/NAME, NAME 1-64 of A-Z a-z 0-9 . -".into())
            }
            ParamError::RoleSessionName => Some("2-64 of A-Z a-z 0-9 . @ _ -".into()),
            ParamError::ExternalId => Some("2-1224 of A-Z a-z 0-9 _ + = , . @ : / -".into()),
            ParamError::SourceIdentity => Some("2-64 of A-Z a-z 0-9 _ + = , . @ -".into()),
            ParamError::DurationSeconds { chained: true, .. } => {
                Some("a session opened by a role session lasts at most 3600 s".into())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> AssumeRoleParams<'static> {
        AssumeRoleParams {
            role_arn: Some("acs:ram::1111111111111111:role/Fc-Admin"),
            role_session_name: Some("alice"),
            ..AssumeRoleParams::default()
        }
    }

    fn code(params: AssumeRoleParams<'_>) -> String {
        match AssumeRoleRequest::parse(&params) {
            Ok(_) => "ok".into(),
            Err(e) => e.code().into_owned(),
        }
    }

    #[test]
    fn a_minimal_request() {
        let r = AssumeRoleRequest::parse(&base()).unwrap();
        assert_eq!(r.role_account, "1111111111111111");
        assert_eq!(r.role_name, "Fc-Admin");
        assert_eq!(r.role_arn(), "acs:ram::1111111111111111:role/fc-admin");
        assert_eq!(r.session_name, "alice");
        assert!(r.duration_seconds.is_none() && r.policy.is_none());
        assert!(r.external_id.is_none() && r.source_identity.is_none());
    }

    #[test]
    fn missing_parameters() {
        for (params, name) in [
            (
                AssumeRoleParams {
                    role_arn: None,
                    ..base()
                },
                "RoleArn",
            ),
            (
                AssumeRoleParams {
                    role_arn: Some(""),
                    ..base()
                },
                "RoleArn",
            ),
            (
                AssumeRoleParams {
                    role_session_name: None,
                    ..base()
                },
                "RoleSessionName",
            ),
        ] {
            let err = AssumeRoleRequest::parse(&params).unwrap_err();
            assert_eq!(err.code(), format!("MissingParameter.{name}"));
            assert_eq!(err.message(), format!("Parameter {name} is required."));
            assert_eq!(err.http_status(), 400);
        }
    }

    #[test]
    fn role_arn_shape() {
        for good in [
            "acs:ram::1111111111111111:role/a",
            "acs:ram::1:role/ECS.Admin-1",
            &format!("acs:ram::1:role/{}", "r".repeat(64)),
        ] {
            let params = AssumeRoleParams {
                role_arn: Some(good),
                ..base()
            };
            assert_eq!(code(params), "ok", "{good}");
        }
        for bad in [
            "acs:ram:cn-hangzhou:1:role/a",
            "acs:ram::*:role/a",
            "acs:ram::12a:role/a",
            "acs:ram:::role/a",
            "acs:ram::1:user/a",
            "acs:ram::1:role/",
            "acs:ram::1:role/a/b",
            "acs:ram::1:role/a_b",
            "acs:ecs::1:role/a",
            "arn:aws:iam::1:role/a",
            "role/a",
            &format!("acs:ram::1:role/{}", "r".repeat(65)),
        ] {
            let params = AssumeRoleParams {
                role_arn: Some(bad),
                ..base()
            };
            assert_eq!(code(params), "InvalidParameter.RoleArn", "{bad}");
        }
        let err = parse_role_arn("x").unwrap_err();
        assert_eq!(err.message(), "The parameter RoleArn is wrongly formed.");
    }

    #[test]
    fn session_name_rules() {
        for good in [
            "ab",
            "credentials-python-1700000000",
            "a.b@c_d-e",
            &"x".repeat(64),
        ] {
            assert!(session_name_ok(good), "{good}");
        }
        for bad in [
            "a",
            "",
            "abc*abc",
            "a b",
            "忍者神龟",
            "a/b",
            "a:b",
            &"x".repeat(65),
        ] {
            let params = AssumeRoleParams {
                role_session_name: Some(bad),
                ..base()
            };
            let expected = if bad.is_empty() {
                "MissingParameter.RoleSessionName"
            } else {
                "InvalidParameter.RoleSessionName"
            };
            assert_eq!(code(params), expected, "{bad}");
        }
        let err = AssumeRoleRequest::parse(&AssumeRoleParams {
            role_session_name: Some("a"),
            ..base()
        })
        .unwrap_err();
        assert_eq!(
            err.message(),
            "The parameter RoleSessionName is wrongly formed."
        );
    }

    #[test]
    fn duration_syntax_and_lower_bound() {
        for (text, expected) in [
            ("900", Ok(900)),
            ("3600", Ok(3600)),
            ("43200", Ok(43200)),
            ("99999", Ok(99999)),
            ("899", Err(())),
            ("0", Err(())),
            ("-900", Err(())),
            ("3600.0", Err(())),
            ("1e4", Err(())),
            (" 3600", Err(())),
            ("99999999999999999999999", Err(())),
        ] {
            let params = AssumeRoleParams {
                duration_seconds: Some(text),
                ..base()
            };
            match (AssumeRoleRequest::parse(&params), expected) {
                (Ok(r), Ok(seconds)) => assert_eq!(r.duration_seconds, Some(seconds)),
                (Err(e), Err(())) => {
                    assert_eq!(e.code(), "InvalidParameter.DurationSeconds", "{text}");
                    assert_eq!(
                        e.message(),
                        "The Min/Max value of DurationSeconds is 15min/1hr."
                    );
                }
                (got, want) => panic!("{text}: {got:?} vs {want:?}"),
            }
        }
        let params = AssumeRoleParams {
            duration_seconds: Some(""),
            ..base()
        };
        assert_eq!(
            AssumeRoleRequest::parse(&params).unwrap().duration_seconds,
            None
        );
        assert_eq!(human_duration(43200), "12hr");
        assert_eq!(human_duration(5400), "90min");
        assert_eq!(human_duration(3601), "3601s");
    }

    #[test]
    fn session_policy_size_and_grammar() {
        let ok = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"fc:List*","Resource":"*"}]}"#;
        let params = AssumeRoleParams {
            policy: Some(ok),
            ..base()
        };
        let r = AssumeRoleRequest::parse(&params).unwrap();
        assert_eq!(r.policy.unwrap().text(), ok);

        // Exactly 2048 characters (multi-byte ones count once) passes.
        let pad = |n: usize| {
            format!(
                r#"{{"Version":"1","Statement":[{{"Sid":"{}","Effect":"Allow","Action":"fc:List*","Resource":"*"}}]}}"#,
                "é".repeat(n)
            )
        };
        let base_len = pad(0).chars().count();
        let exact = pad(MAX_SESSION_POLICY_CHARS - base_len);
        assert_eq!(exact.chars().count(), 2048);
        assert!(exact.len() > 2048, "bytes exceed, characters do not");
        assert!(SessionPolicy::parse(&exact).is_ok());
        let over = pad(MAX_SESSION_POLICY_CHARS - base_len + 1);
        let err = SessionPolicy::parse(&over).unwrap_err();
        assert_eq!(err, ParamError::PolicySize { chars: 2049 });
        assert_eq!(err.code(), "InvalidParameter.PolicySize");
        assert_eq!(
            err.message(),
            "The size of Policy must be at most 2048 characters; it has 2049."
        );

        let bad = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"fc:List*"}]}"#;
        let err = SessionPolicy::parse(bad).unwrap_err();
        assert_eq!(err.code(), "InvalidParameter.PolicyGrammar");
        let message = err.message();
        assert!(
            message.starts_with("The parameter Policy has not passed grammar check. "),
            "{message}"
        );
        assert!(
            message.contains("Resource"),
            "the problem is named: {message}"
        );
        // A trust policy is not a session policy.
        let trust = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1:root"]}}]}"#;
        assert_eq!(
            SessionPolicy::parse(trust).unwrap_err().code(),
            "InvalidParameter.PolicyGrammar"
        );
        assert_eq!(
            SessionPolicy::parse("not json").unwrap_err().code(),
            "InvalidParameter.PolicyGrammar"
        );
    }

    #[test]
    fn session_policy_is_compacted_for_the_token() {
        let pretty = "{\n  \"Version\": \"1\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"fc:List*\", \"Resource\": \"*\"}\n  ]\n}";
        let p = SessionPolicy::parse(pretty).unwrap();
        assert_eq!(
            p.text(),
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"fc:List*","Resource":"*"}]}"#
        );
        let reparsed = Policy::parse(p.text(), PolicyKind::Session).unwrap();
        assert_eq!(reparsed.statements, p.policy().statements);
    }

    #[test]
    fn external_id_rules() {
        for good in ["ab", "abc-123_+=,.@:/x", &"e".repeat(1224)] {
            let params = AssumeRoleParams {
                external_id: Some(good),
                ..base()
            };
            let r = AssumeRoleRequest::parse(&params).unwrap();
            assert_eq!(r.external_id.as_deref(), Some(good));
        }
        for bad in ["a", "a b", "a#b", "ünï", &"e".repeat(1225)] {
            let params = AssumeRoleParams {
                external_id: Some(bad),
                ..base()
            };
            let err = AssumeRoleRequest::parse(&params).unwrap_err();
            assert_eq!(err.code(), "InvalidParameter.ExternalId", "{bad}");
            assert_eq!(err.message(), "The parameter ExternalId is wrongly formed.");
        }
    }

    #[test]
    fn source_identity_rules() {
        for good in ["al", "alice@example.com", "a+b=c,d.e_f-g", &"s".repeat(64)] {
            let params = AssumeRoleParams {
                source_identity: Some(good),
                ..base()
            };
            assert_eq!(
                AssumeRoleRequest::parse(&params)
                    .unwrap()
                    .source_identity
                    .as_deref(),
                Some(good)
            );
        }
        for bad in ["a", "a b", "a/b", "a:b", &"s".repeat(65)] {
            let params = AssumeRoleParams {
                source_identity: Some(bad),
                ..base()
            };
            assert_eq!(code(params), "InvalidParameter.SourceIdentity", "{bad}");
        }
    }

    #[test]
    fn the_first_wrong_parameter_is_reported() {
        let params = AssumeRoleParams {
            role_arn: Some("bad"),
            role_session_name: Some("x"),
            duration_seconds: Some("1"),
            ..base()
        };
        assert_eq!(code(params), "InvalidParameter.RoleArn");
        let params = AssumeRoleParams {
            role_session_name: Some("x"),
            duration_seconds: Some("1"),
            ..base()
        };
        assert_eq!(code(params), "InvalidParameter.RoleSessionName");
    }
}
