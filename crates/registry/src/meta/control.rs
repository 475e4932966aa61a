//! The control plane's records and their errors: what ACR's OpenAPI
//! creates, reads and deletes (instances with their host names and
//! endpoint ACLs, namespaces, repositories, login passwords).

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::MetaError;

/// What a control-plane operation refers to, for "not found" and
/// "already exists".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thing {
    Instance,
    Domain,
    Namespace,
    Repository,
    Tag,
    AclEntry,
}

impl Thing {
    pub fn as_str(self) -> &'static str {
        match self {
            Thing::Instance => "instance",
            Thing::Domain => "domain",
            Thing::Namespace => "namespace",
            Thing::Repository => "repository",
            Thing::Tag => "tag",
            Thing::AclEntry => "ACL entry",
        }
    }
}

/// Why a control-plane operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("the {} {name:?} does not exist", .thing.as_str())]
    NotFound { thing: Thing, name: String },
    #[error("the {} {name:?} already exists", .thing.as_str())]
    AlreadyExists { thing: Thing, name: String },
    #[error("the {} {name:?} is not empty: {what}", .thing.as_str())]
    NotEmpty {
        thing: Thing,
        name: String,
        what: String,
    },
    #[error("{parameter}: {reason}")]
    Invalid {
        parameter: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Meta(#[from] MetaError),
}

impl From<sqlx::Error> for ControlError {
    fn from(e: sqlx::Error) -> Self {
        ControlError::Meta(MetaError::Database(e))
    }
}

impl ControlError {
    /// A racing insert lost to another (PostgreSQL reports it as a unique
    /// violation once the winner commits): the thing exists now.
    pub(crate) fn exists_if_unique_violation(self, thing: Thing, name: &str) -> ControlError {
        match &self {
            ControlError::Meta(super::MetaError::Database(sqlx::Error::Database(db)))
                if db.is_unique_violation() =>
            {
                ControlError::exists(thing, name)
            }
            _ => self,
        }
    }

    pub(crate) fn not_found(thing: Thing, name: impl Into<String>) -> Self {
        ControlError::NotFound {
            thing,
            name: name.into(),
        }
    }

    pub(crate) fn exists(thing: Thing, name: impl Into<String>) -> Self {
        ControlError::AlreadyExists {
            thing,
            name: name.into(),
        }
    }

    pub(crate) fn invalid(parameter: &'static str, reason: impl Into<String>) -> Self {
        ControlError::Invalid {
            parameter,
            reason: reason.into(),
        }
    }
}

/// A registry instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub instance_id: String,
    pub account_id: String,
    pub name: String,
    pub region: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Instance {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Instance, sqlx::Error> {
        Ok(Instance {
            instance_id: row.try_get("instance_id")?,
            account_id: row.try_get("account_id")?,
            name: row.try_get("name")?,
            region: row.try_get("region")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// `acs:cr:REGION:ACCOUNT:instance/INSTANCE`.
    pub fn arn(&self) -> String {
        format!(
            "acs:cr:{}:{}:instance/{}",
            self.region, self.account_id, self.instance_id
        )
    }

    /// `acs:cr:REGION:ACCOUNT:repository/INSTANCE/NAMESPACE/REPO` (or the
    /// namespace form with `repo` empty).
    pub fn repository_arn(&self, namespace: &str, repo: &str) -> String {
        if repo.is_empty() {
            format!(
                "acs:cr:{}:{}:repository/{}/{}",
                self.region, self.account_id, self.instance_id, namespace
            )
        } else {
            format!(
                "acs:cr:{}:{}:repository/{}/{}/{}",
                self.region, self.account_id, self.instance_id, namespace, repo
            )
        }
    }
}

impl Instance {
    /// What a decision about a repository (`repo` non-empty) or a
    /// namespace (`repo` empty) names: its ARN first, then the ARNs that
    /// enclose it (the namespace's, the instance's), so a policy may name
    /// any of them.
    pub fn repository_resources(&self, namespace: &str, repo: &str) -> Vec<String> {
        let mut resources = Vec::with_capacity(3);
        if !repo.is_empty() {
            resources.push(self.repository_arn(namespace, repo));
        }
        resources.push(self.repository_arn(namespace, ""));
        resources.push(self.arn());
        resources
    }
}

/// A host name an instance answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub domain: String,
    /// `default`, `vpc` or `custom`.
    pub kind: String,
}

/// A namespace of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub instance_id: String,
    pub name: String,
    pub namespace_id: String,
    pub auto_create_repo: bool,
    /// `PRIVATE` or `PUBLIC`: the type of repositories created by a push.
    pub default_repo_type: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Namespace {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Namespace, sqlx::Error> {
        Ok(Namespace {
            instance_id: row.try_get("instance_id")?,
            name: row.try_get("name")?,
            namespace_id: row.try_get("namespace_id")?,
            auto_create_repo: super::flag(row, "auto_create_repo")?,
            default_repo_type: row.try_get("default_repo_type")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// A repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub repo_id: String,
    pub instance_id: String,
    pub namespace: String,
    pub name: String,
    /// `PRIVATE` or `PUBLIC`.
    pub repo_type: String,
    pub summary: String,
    pub detail: String,
    pub tag_immutability: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Repository {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Repository, sqlx::Error> {
        Ok(Repository {
            repo_id: row.try_get("repo_id")?,
            instance_id: row.try_get("instance_id")?,
            namespace: row.try_get("namespace")?,
            name: row.try_get("name")?,
            repo_type: row.try_get("repo_type")?,
            summary: row.try_get("summary")?,
            detail: row.try_get("detail")?,
            tag_immutability: super::flag(row, "tag_immutability")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// Whether anyone may pull it without credentials.
    pub fn is_public(&self) -> bool {
        self.repo_type == REPO_PUBLIC
    }

    /// `NAMESPACE/NAME`, as OCI clients name it.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

pub const REPO_PRIVATE: &str = "PRIVATE";
pub const REPO_PUBLIC: &str = "PUBLIC";

/// Checks a `RepoType`/`DefaultRepoType` value.
pub fn repo_type(value: &str, parameter: &'static str) -> Result<&'static str, ControlError> {
    match value {
        v if v.eq_ignore_ascii_case(REPO_PRIVATE) => Ok(REPO_PRIVATE),
        v if v.eq_ignore_ascii_case(REPO_PUBLIC) => Ok(REPO_PUBLIC),
        _ => Err(ControlError::invalid(
            parameter,
            "must be PRIVATE or PUBLIC",
        )),
    }
}

/// Checks a namespace or repository name: one OCI path component,
/// 2 to 64 characters (ACR's limits), lower-case letters, digits and the
/// separators `.`, `_`, `-` between them.
pub fn component_name(value: &str, parameter: &'static str) -> Result<(), ControlError> {
    let bytes = value.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let ok = (2..=64).contains(&bytes.len())
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes
            .iter()
            .all(|b| alnum(b) || matches!(b, b'.' | b'_' | b'-'))
        && !value.contains("..")
        && !value.contains("._")
        && !value.contains("_.")
        && !value.contains("-.")
        && !value.contains(".-")
        && !value.contains("___");
    if ok {
        Ok(())
    } else {
        Err(ControlError::invalid(
            parameter,
            format!(
                "{value:?} must be 2-64 characters: lower-case letters and digits, separated by single '.', '_', '__' or '-' runs"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["ns", "my-app", "a_b", "a__b", "v1.2", "a--b"] {
            assert!(component_name(good, "N").is_ok(), "{good}");
        }
        for bad in ["a", "A", "-a", "a-", "a..b", "a/b", "", "ab cd", "a._b"] {
            assert!(component_name(bad, "N").is_err(), "{bad}");
        }
        assert!(component_name(&"a".repeat(65), "N").is_err());
    }

    #[test]
    fn repo_types() {
        assert_eq!(repo_type("public", "T").unwrap(), REPO_PUBLIC);
        assert!(repo_type("internal", "T").is_err());
    }
}
