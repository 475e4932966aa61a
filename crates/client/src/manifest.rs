//! Manifests, indexes and descriptors: only the fields a copy needs; the
//! bytes themselves are kept as received, since their digest is their name.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Digest, Error};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The `Accept` of a manifest request: every kind this client copies.
pub const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// The annotation of an OCI layout's `index.json` that names an image.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The largest manifest read (what the registry accepts, too).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// A content descriptor. Fields this client does not know are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Descriptor {
    /// The `org.opencontainers.image.ref.name` annotation.
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations.get(REF_NAME).map(String::as_str)
    }
}

/// An image's platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Platform {
    /// `OS/ARCH[/VARIANT]`, e.g. `linux/arm64/v8`.
    pub fn parse(text: &str) -> Result<Platform, Error> {
        let mut parts = text.split('/');
        let (Some(os), Some(architecture)) = (parts.next(), parts.next()) else {
            return Err(Error::Protocol(format!(
                "platform {text:?}: expected OS/ARCH[/VARIANT]"
            )));
        };
        let variant = parts.next().map(str::to_owned);
        if os.is_empty() || architecture.is_empty() || parts.next().is_some() {
            return Err(Error::Protocol(format!(
                "platform {text:?}: expected OS/ARCH[/VARIANT]"
            )));
        }
        Ok(Platform {
            architecture: architecture.to_owned(),
            os: os.to_owned(),
            variant,
            other: serde_json::Map::new(),
        })
    }

    /// `linux/amd64`.
    pub fn default_linux_amd64() -> Platform {
        Platform {
            architecture: "amd64".to_owned(),
            os: "linux".to_owned(),
            variant: None,
            other: serde_json::Map::new(),
        }
    }

    /// Whether an index entry of platform `self` serves `wanted`: the same
    /// OS and architecture, and the variant when `wanted` names one.
    pub fn serves(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && (wanted.variant.is_none() || self.variant == wanted.variant)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// An image index (or Docker manifest list), also the shape of a layout's
/// `index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Index {
    pub fn empty() -> Index {
        Index {
            schema_version: 2,
            media_type: Some(OCI_INDEX.to_owned()),
            manifests: Vec::new(),
            other: serde_json::Map::new(),
        }
    }

    /// The entry for `wanted`; among several, the first.
    pub fn select(&self, wanted: &Platform) -> Result<&Descriptor, Error> {
        self.manifests
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| p.serves(wanted)))
            .ok_or_else(|| Error::NoMatchingPlatform {
                wanted: wanted.to_string(),
                available: self
                    .manifests
                    .iter()
                    .map(|d| {
                        d.platform
                            .as_ref()
                            .map_or_else(|| "unspecified".to_owned(), Platform::to_string)
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// An image manifest: a config and layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ImageManifest {
    /// The blobs it names: config first, then layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        std::iter::once(&self.config).chain(self.layers.iter())
    }
}

/// A parsed manifest of either kind, with its media type.
#[derive(Debug, Clone)]
pub enum Parsed {
    Image(Box<ImageManifest>),
    Index(Index),
}

/// Parses manifest bytes. The media type is the one the registry or the
/// layout declared (`declared`), else the body's `mediaType`, else guessed
/// from the shape; returns it with the parsed manifest.
pub fn parse(declared: Option<&str>, bytes: &[u8]) -> Result<(String, Parsed), Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::Protocol(format!("the manifest is not JSON: {e}")))?;
    let inside = value
        .get("mediaType")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let known = |t: &str| [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].contains(&t);
    let media_type = match (declared.filter(|t| known(t)), inside) {
        (Some(declared), _) => declared.to_owned(),
        (None, Some(inside)) => inside,
        (None, None) if value.get("manifests").is_some() => OCI_INDEX.to_owned(),
        (None, None) if value.get("config").is_some() => OCI_MANIFEST.to_owned(),
        (None, None) => {
            return Err(Error::Protocol(
                "the manifest has no mediaType and is neither an image nor an index".into(),
            ))
        }
    };
    let bad =
        |e: serde_json::Error| Error::Protocol(format!("the {media_type} does not parse: {e}"));
    let parsed = match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            Parsed::Image(Box::new(serde_json::from_value(value).map_err(bad)?))
        }
        OCI_INDEX | DOCKER_LIST => Parsed::Index(serde_json::from_value(value).map_err(bad)?),
        other => {
            return Err(Error::Protocol(format!(
                "manifest media type {other} is not supported (OCI image manifest or index, Docker v2 manifest or list)"
            )))
        }
    };
    Ok((media_type, parsed))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn d(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    #[test]
    fn parses_an_image_manifest_and_keeps_unknown_fields() {
        let body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d(1), "size": 10},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d(2), "size": 20, "urls": ["x"]}],
            "annotations": {"a": "b"}
        });
        let (kind, parsed) = parse(None, body.to_string().as_bytes()).unwrap();
        assert_eq!(kind, OCI_MANIFEST);
        let Parsed::Image(m) = parsed else {
            unreachable!()
        };
        let blobs: Vec<_> = m.blobs().map(|b| b.size).collect();
        assert_eq!(blobs, vec![10, 20]);
        assert!(m.layers[0].other.contains_key("urls"));
        assert!(m.other.contains_key("annotations"));
    }

    #[test]
    fn selects_a_platform_from_an_index() {
        let body = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": d(1), "size": 1, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"mediaType": OCI_MANIFEST, "digest": d(2), "size": 2, "platform": {"os": "linux", "architecture": "amd64"}}
            ]
        });
        let (kind, parsed) = parse(Some(DOCKER_LIST), body.to_string().as_bytes()).unwrap();
        assert_eq!(kind, DOCKER_LIST);
        let Parsed::Index(index) = parsed else {
            unreachable!()
        };
        assert_eq!(
            index.select(&Platform::default_linux_amd64()).unwrap().size,
            2
        );
        assert_eq!(
            index
                .select(&Platform::parse("linux/arm64").unwrap())
                .unwrap()
                .size,
            1
        );
        assert_eq!(
            index
                .select(&Platform::parse("linux/arm64/v8").unwrap())
                .unwrap()
                .size,
            1
        );
        let err = index
            .select(&Platform::parse("linux/arm64/v7").unwrap())
            .unwrap_err();
        assert!(
            err.to_string().contains("linux/arm64/v8, linux/amd64"),
            "{err}"
        );
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux/amd64/v1/x").is_err());
    }

    #[test]
    fn rejects_unknown_kinds() {
        let schema1 = serde_json::json!({"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"});
        assert!(parse(None, schema1.to_string().as_bytes()).is_err());
        assert!(parse(None, b"not json").is_err());
        assert!(parse(None, b"{}").is_err());
    }
}
