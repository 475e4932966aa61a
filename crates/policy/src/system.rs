//! Alibaba's system policies, shipped as data files in
//! `crates/policy/system-policies/` and compiled into the binary.
//!
//! Documents follow what Alibaba publishes (see
//! `../shared/protocol/policy-language.md`); they are read-only: RAM refuses
//! to change them, and every one is checked by a test below.

use crate::document::{Policy, PolicyError, PolicyKind};

/// A system policy as shipped: name, description and document text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemPolicy {
    pub name: &'static str,
    pub description: &'static str,
    /// Every shipped system policy is at version `v1` of its document here.
    pub version: &'static str,
    pub document: &'static str,
}

impl SystemPolicy {
    pub fn compile(&self) -> Result<Policy, PolicyError> {
        Policy::parse(self.document, PolicyKind::Permission)
    }
}

macro_rules! system_policy {
    ($name:literal, $description:literal) => {
        SystemPolicy {
            name: $name,
            description: $description,
            version: "v1",
            document: include_str!(concat!("../system-policies/", $name, ".json")),
        }
    };
}

pub const SYSTEM_POLICIES: [SystemPolicy; 10] = [
    // The permissions of ECI's service-linked role AliyunServiceRoleForECI:
    // pull images from Container Registry in the same account.
    system_policy!(
        "AliyunServiceRolePolicyForECI",
        "Permissions of the service-linked role of Elastic Container Instance: pull from Container Registry"
    ),
    system_policy!(
        "AdministratorAccess",
        "Permissions to manage all resources of the account"
    ),
    system_policy!(
        "AliyunSTSAssumeRoleAccess",
        "Permission to call AssumeRole of the Security Token Service"
    ),
    system_policy!(
        "AliyunRAMFullAccess",
        "Permissions to manage Resource Access Management (RAM)"
    ),
    system_policy!(
        "AliyunRAMReadOnlyAccess",
        "Read-only access to Resource Access Management (RAM)"
    ),
    system_policy!(
        "AliyunContainerRegistryFullAccess",
        "Permissions to manage Container Registry"
    ),
    system_policy!(
        "AliyunContainerRegistryReadOnlyAccess",
        "Read-only access to Container Registry, including image pulls"
    ),
    system_policy!(
        "AliyunFCReadOnlyAccess",
        "Read-only access to Function Compute"
    ),
    system_policy!(
        "AliyunOSSFullAccess",
        "Permissions to manage Object Storage Service (OSS)"
    ),
    system_policy!(
        "AliyunOSSReadOnlyAccess",
        "Read-only access to Object Storage Service (OSS)"
    ),
];

/// Looks a system policy up by name. Policy names compare exactly, as RAM
/// compares them.
pub fn system_policy(name: &str) -> Option<&'static SystemPolicy> {
    SYSTEM_POLICIES.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{decide, Context, Outcome, PolicyId, PolicySet, Request};

    fn outcome(name: &str, action: &str) -> Outcome {
        let policy = system_policy(name).unwrap().compile().unwrap();
        let set = PolicySet::new([(PolicyId::new(name, "v1"), Arc::new(policy))]);
        let ctx = Context::new();
        let resources = ["acs:cr:cn-hangzhou:1111111111111111:repository/cri-x/team/app"];
        decide(
            &[&set],
            &Request {
                action,
                resources: &resources,
                context: &ctx,
            },
        )
        .outcome
    }

    #[test]
    fn every_system_policy_is_valid_and_warning_free() {
        for p in &SYSTEM_POLICIES {
            let compiled = p.compile().unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(compiled.warnings.is_empty(), "{}", p.name);
            assert!(!p.description.is_empty());
        }
        let names: std::collections::HashSet<_> = SYSTEM_POLICIES.iter().map(|p| p.name).collect();
        assert_eq!(names.len(), SYSTEM_POLICIES.len(), "names are unique");
    }

    #[test]
    fn each_grants_what_its_name_says() {
        use Outcome::{Allow, ImplicitDeny};
        let cases = [
            ("AdministratorAccess", "ram:CreateUser", Allow),
            ("AdministratorAccess", "cr:PushRepository", Allow),
            ("AliyunSTSAssumeRoleAccess", "sts:AssumeRole", Allow),
            (
                "AliyunSTSAssumeRoleAccess",
                "sts:GetCallerIdentity",
                ImplicitDeny,
            ),
            ("AliyunRAMFullAccess", "ram:DeleteRole", Allow),
            ("AliyunRAMFullAccess", "cr:PullRepository", ImplicitDeny),
            ("AliyunRAMReadOnlyAccess", "ram:GetRole", Allow),
            ("AliyunRAMReadOnlyAccess", "ram:ListUsers", Allow),
            ("AliyunRAMReadOnlyAccess", "ram:CreateUser", ImplicitDeny),
            (
                "AliyunContainerRegistryFullAccess",
                "cr:PushRepository",
                Allow,
            ),
            (
                "AliyunContainerRegistryFullAccess",
                "ram:GetRole",
                ImplicitDeny,
            ),
            (
                "AliyunContainerRegistryReadOnlyAccess",
                "cr:PullRepository",
                Allow,
            ),
            (
                "AliyunContainerRegistryReadOnlyAccess",
                "cr:GetAuthorizationToken",
                Allow,
            ),
            (
                "AliyunContainerRegistryReadOnlyAccess",
                "cr:ListRepositoryTag",
                Allow,
            ),
            (
                "AliyunContainerRegistryReadOnlyAccess",
                "cr:PushRepository",
                ImplicitDeny,
            ),
            (
                "AliyunContainerRegistryReadOnlyAccess",
                "cr:DeleteRepository",
                ImplicitDeny,
            ),
            ("AliyunFCReadOnlyAccess", "fc:ListServices", Allow),
            ("AliyunFCReadOnlyAccess", "fc:CreateService", ImplicitDeny),
            ("AliyunOSSFullAccess", "oss:PutObject", Allow),
            ("AliyunOSSReadOnlyAccess", "oss:GetObject", Allow),
            ("AliyunOSSReadOnlyAccess", "oss:PutObject", ImplicitDeny),
        ];
        for (name, action, expected) in cases {
            assert_eq!(outcome(name, action), expected, "{name} {action}");
        }
    }

    #[test]
    fn unknown_names_are_not_system_policies() {
        assert!(system_policy("administratoraccess").is_none());
        assert!(system_policy("NoSuchPolicy").is_none());
    }
}
