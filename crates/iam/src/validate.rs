//! Parameter rules (RAM's name rules and lengths, protocol §7.3), checked
//! before anything touches the database. Each check names the parameter as
//! the client sent it, so `NewUserName` fails with
//! `InvalidParameter.NewUserName.InvalidChars`.
//!
//! Lengths count characters (Unicode scalar values), as Alibaba's limits
//! are stated in characters.

use crate::error::{IamError, Problem, Result};

fn length(param: &'static str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(IamError::invalid(param, Problem::Length { min, max }));
    }
    Ok(())
}

fn chars(param: &'static str, value: &str, allowed: impl Fn(char) -> bool) -> Result<()> {
    if value.chars().all(allowed) {
        Ok(())
    } else {
        Err(IamError::invalid(param, Problem::InvalidChars))
    }
}

/// UserName / NewUserName: 1–64, letters, digits, `.`, `_`, `-`.
pub fn user_name(param: &'static str, value: &str) -> Result<()> {
    length(param, value, 1, 64)?;
    chars(param, value, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
    })
}

/// GroupName / NewGroupName: 1–64, letters, digits, `.`, `_`, `-` (the
/// current SDK model; an older error page allowed only `-`).
pub fn group_name(param: &'static str, value: &str) -> Result<()> {
    length(param, value, 1, 64)?;
    chars(param, value, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
    })
}

/// RoleName: 1–64, letters, digits, `.`, `-`.
pub fn role_name(param: &'static str, value: &str) -> Result<()> {
    length(param, value, 1, 64)?;
    chars(param, value, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
    })
}

/// RoleSessionName (STS): 2–64, letters, digits, `.`, `@`, `_`, `-`.
pub fn session_name(param: &'static str, value: &str) -> Result<()> {
    length(param, value, 2, 64)?;
    chars(param, value, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '_' | '-')
    })
}

/// PolicyName: 1–128, letters, digits, `-`.
pub fn policy_name(param: &'static str, value: &str) -> Result<()> {
    length(param, value, 1, 128)?;
    chars(param, value, |c| c.is_ascii_alphanumeric() || c == '-')
}

/// DisplayName and Comments (and their `New*` forms): 1–128 characters.
/// Alibaba allows non-Latin text here (Chinese display names), so only the
/// length is checked, plus control characters, which no console shows.
pub fn short_text(param: &'static str, value: &str) -> Result<()> {
    length(param, value, 1, 128)?;
    chars(param, value, |c| !c.is_control())
}

/// Role and policy Description: 1–1024 characters.
pub fn description(param: &'static str, value: &str) -> Result<()> {
    length(param, value, 1, 1024)?;
    chars(param, value, |c| {
        !c.is_control() || matches!(c, '\n' | '\t')
    })
}

/// Email: `local@domain` with a dot in the domain, no spaces, at most 128
/// characters. Alibaba documents only "a correct email address".
pub fn email(param: &'static str, value: &str) -> Result<()> {
    let bad = || IamError::invalid(param, Problem::Format);
    if value.chars().count() > 128 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(())
        }
        _ => Err(bad()),
    }
}

/// MobilePhone: `<country code>-<number>`, digits only (`86-18600008888`),
/// as the RAM console and API examples write it.
pub fn mobile_phone(param: &'static str, value: &str) -> Result<()> {
    let ok = match value.split_once('-') {
        Some((cc, number)) => {
            (1..=4).contains(&cc.len())
                && cc.bytes().all(|b| b.is_ascii_digit())
                && (4..=20).contains(&number.len())
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(IamError::invalid(param, Problem::Format))
    }
}

/// AccountAlias: 3–32 characters of lower-case letters, digits and `-`,
/// neither starting nor ending with `-`, no `--` (the SetAccountAlias API
/// page; the ROS resource allows 1–50 and an old error page says 3–63).
///
/// The codes are the ones RAM's error page lists for this parameter:
/// `InvalidParameter.AccountAlias.Length`, and
/// `InvalidParameter.AccountAlias.Format` for everything else (characters
/// and hyphens alike). Unlike the name rules, Alibaba has no
/// `.InvalidChars` code for aliases, so none is made up here.
pub fn account_alias(value: &str) -> Result<()> {
    const PARAM: &str = "AccountAlias";
    length(PARAM, value, 3, 32)?;
    let chars_ok = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !chars_ok || value.starts_with('-') || value.ends_with('-') || value.contains("--") {
        return Err(IamError::invalid(PARAM, Problem::Format));
    }
    Ok(())
}

/// A policy document's size before it is parsed: 1–6144 characters.
pub fn document_length(param: &'static str, value: &str, max: usize) -> Result<()> {
    length(param, value, 1, max)
}

/// `v` followed by a positive number: `v1`, `v12`.
pub fn version_id(value: &str) -> Result<i64> {
    let bad = || IamError::invalid("VersionId", Problem::Format);
    let digits = value.strip_prefix('v').ok_or_else(bad)?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    digits.parse::<i64>().map_err(|_| bad())
}

/// A number parameter within a range (`MaxSessionDuration`, `MaxItems`).
pub fn range(param: &'static str, value: i64, min: i64, max: i64) -> Result<i64> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(IamError::invalid(param, Problem::Range { min, max }))
    }
}

/// Checks an optional field: absent is fine, present must pass `check`.
pub fn optional(value: Option<&str>, check: impl FnOnce(&str) -> Result<()>) -> Result<()> {
    value.map_or(Ok(()), check)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<()>) -> String {
        r.map_or_else(|e| e.code().into_owned(), |()| "ok".into())
    }

    #[test]
    fn user_names() {
        assert_eq!(code(user_name("UserName", "alice.b_c-9")), "ok");
        assert_eq!(
            code(user_name("UserName", "")),
            "InvalidParameter.UserName.Length"
        );
        assert_eq!(
            code(user_name("UserName", &"a".repeat(65))),
            "InvalidParameter.UserName.Length"
        );
        assert_eq!(code(user_name("UserName", &"a".repeat(64))), "ok");
        assert_eq!(
            code(user_name("NewUserName", "al ice")),
            "InvalidParameter.NewUserName.InvalidChars"
        );
        assert_eq!(
            code(user_name("UserName", "alice@x")),
            "InvalidParameter.UserName.InvalidChars"
        );
    }

    #[test]
    fn role_and_policy_names() {
        assert_eq!(code(role_name("RoleName", "ECS.Admin-1")), "ok");
        assert_eq!(
            code(role_name("RoleName", "ecs_admin")),
            "InvalidParameter.RoleName.InvalidChars"
        );
        assert_eq!(code(policy_name("PolicyName", &"P".repeat(128))), "ok");
        assert_eq!(
            code(policy_name("PolicyName", &"P".repeat(129))),
            "InvalidParameter.PolicyName.Length"
        );
        assert_eq!(
            code(policy_name("PolicyName", "oss.read")),
            "InvalidParameter.PolicyName.InvalidChars"
        );
        assert_eq!(code(group_name("GroupName", "dev.ops_1-x")), "ok");
    }

    #[test]
    fn aliases() {
        assert_eq!(code(account_alias("my-alias")), "ok");
        assert_eq!(
            code(account_alias("ab")),
            "InvalidParameter.AccountAlias.Length"
        );
        assert_eq!(
            code(account_alias(&"a".repeat(33))),
            "InvalidParameter.AccountAlias.Length"
        );
        for bad in ["-abc", "abc-", "a--b", "Abc", "a_b", "a.b"] {
            assert_eq!(
                code(account_alias(bad)),
                "InvalidParameter.AccountAlias.Format",
                "{bad}"
            );
        }
    }

    #[test]
    fn contact_fields() {
        assert_eq!(code(email("Email", "a@example.com")), "ok");
        for bad in ["a", "a@b", "@b.com", "a b@c.com", "a@b@c.com", "a@.com"] {
            assert_eq!(
                code(email("Email", bad)),
                "InvalidParameter.Email.Format",
                "{bad}"
            );
        }
        assert_eq!(code(mobile_phone("MobilePhone", "86-18600008888")), "ok");
        assert_eq!(
            code(mobile_phone("MobilePhone", "18600008888")),
            "InvalidParameter.MobilePhone.Format"
        );
        assert_eq!(code(short_text("Comments", "评论 ok")), "ok");
        assert_eq!(
            code(short_text("Comments", &"x".repeat(129))),
            "InvalidParameter.Comments.Length"
        );
    }

    #[test]
    fn versions_and_ranges() {
        assert_eq!(version_id("v1").ok(), Some(1));
        assert_eq!(version_id("v12").ok(), Some(12));
        for bad in ["1", "v", "v0", "v01", "V1", "v1a"] {
            assert!(version_id(bad).is_err(), "{bad}");
        }
        assert!(range("MaxSessionDuration", 3599, 3600, 43200).is_err());
        assert_eq!(
            range("MaxSessionDuration", 43200, 3600, 43200).ok(),
            Some(43200)
        );
    }
}
