//! Pushed manifests: which kind a body is, and what it names.
//!
//! Four kinds are accepted — OCI image manifest, OCI image index, Docker
//! schema 2 manifest, Docker manifest list. The kind comes from the
//! request's `Content-Type` and from the body's `mediaType` field; when
//! both are given they must agree, and when neither names a known kind the
//! manifest is refused (`MANIFEST_INVALID`). Docker schema 1 is not
//! accepted.
//!
//! From the body the registry keeps what it must check and index: the
//! blobs a manifest references (config and layers), the child manifests
//! of an index, the `subject` (referrers API), the artifact type (the
//! manifest's `artifactType`, else its config's media type) and the
//! annotations. Everything else is stored as the client sent it — the
//! bytes are the manifest, and their digest is its name.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::digest::{Digest, DigestError};

/// The largest manifest accepted (the spec asks registries to take at
/// least 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The manifest kinds the registry stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    OciManifest,
    OciIndex,
    DockerManifest,
    DockerList,
}

impl Kind {
    /// The media type naming this kind.
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::OciManifest => OCI_MANIFEST,
            Kind::OciIndex => OCI_INDEX,
            Kind::DockerManifest => DOCKER_MANIFEST,
            Kind::DockerList => DOCKER_LIST,
        }
    }

    /// The kind a media type names (parameters such as `; charset=` are
    /// ignored), if it is one of the four.
    pub fn from_media_type(media_type: &str) -> Option<Kind> {
        let essence = media_type.split(';').next().unwrap_or("").trim();
        [
            Kind::OciManifest,
            Kind::OciIndex,
            Kind::DockerManifest,
            Kind::DockerList,
        ]
        .into_iter()
        .find(|kind| kind.media_type().eq_ignore_ascii_case(essence))
    }

    /// Whether the manifest lists other manifests (index, list).
    pub fn is_index(self) -> bool {
        matches!(self, Kind::OciIndex | Kind::DockerList)
    }
}

/// Why a manifest body is refused (`MANIFEST_INVALID`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest is larger than {MAX_MANIFEST_BYTES} bytes")]
    TooLarge,
    #[error("the manifest is not valid JSON of a manifest: {0}")]
    Malformed(String),
    #[error("schemaVersion must be 2")]
    SchemaVersion,
    #[error("Content-Type {content_type:?} does not match the manifest's mediaType {body:?}")]
    MediaTypeMismatch { content_type: String, body: String },
    #[error(
        "unsupported manifest media type {0:?} (expected an OCI image manifest or index, \
         or a Docker schema 2 manifest or manifest list)"
    )]
    UnknownMediaType(String),
    #[error("the manifest names no media type (neither Content-Type nor mediaType)")]
    NoMediaType,
    #[error("{kind} needs a {field:?} field")]
    MissingField {
        kind: &'static str,
        field: &'static str,
    },
    #[error("descriptor {field}: {error}")]
    Descriptor {
        field: String,
        error: DescriptorError,
    },
}

/// What is wrong with one descriptor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error("size must not be negative")]
    NegativeSize,
}

/// What the registry keeps from a pushed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub kind: Kind,
    /// Blobs that must be in the repository: config and layers (layers
    /// marked non-distributable or foreign are not required, they live
    /// elsewhere).
    pub blobs: Vec<Digest>,
    /// Manifests an index lists; they must be in the repository.
    pub children: Vec<Digest>,
    /// The manifest this one refers to (referrers API).
    pub subject: Option<Digest>,
    /// `artifactType`, else (image manifests) the config's media type.
    pub artifact_type: Option<String>,
    /// The annotations, as a JSON object, when there are any.
    pub annotations: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    subject: Option<RawDescriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: String,
    size: i64,
}

impl RawDescriptor {
    fn digest(&self, field: impl FnOnce() -> String) -> Result<Digest, ManifestError> {
        let check = || -> Result<Digest, DescriptorError> {
            if self.size < 0 {
                return Err(DescriptorError::NegativeSize);
            }
            Ok(Digest::parse(&self.digest)?)
        };
        check().map_err(|error| ManifestError::Descriptor {
            field: field(),
            error,
        })
    }

    /// Layers whose bytes are served from elsewhere (`urls`), which a
    /// registry does not hold.
    fn is_external(&self) -> bool {
        self.media_type
            .as_deref()
            .is_some_and(|t| t.contains(".nondistributable.") || t.contains(".foreign."))
    }
}

/// Parses a pushed manifest. `content_type` is the request's header.
pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Manifest, ManifestError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge);
    }
    let raw: RawManifest =
        serde_json::from_slice(bytes).map_err(|e| ManifestError::Malformed(e.to_string()))?;
    if raw.schema_version != Some(2) {
        return Err(ManifestError::SchemaVersion);
    }
    let kind = decide_kind(content_type, raw.media_type.as_deref())?;
    let annotations = match &raw.annotations {
        Some(map) if !map.is_empty() => {
            Some(serde_json::to_string(map).map_err(|e| ManifestError::Malformed(e.to_string()))?)
        }
        _ => None,
    };
    let subject = raw
        .subject
        .as_ref()
        .map(|d| d.digest(|| "subject".to_owned()))
        .transpose()?;
    let mut blobs = Vec::new();
    let mut children = Vec::new();
    let artifact_type = if kind.is_index() {
        let manifests = raw.manifests.as_ref().ok_or(ManifestError::MissingField {
            kind: "an index",
            field: "manifests",
        })?;
        for (i, d) in manifests.iter().enumerate() {
            children.push(d.digest(|| format!("manifests[{i}]"))?);
        }
        raw.artifact_type.clone()
    } else {
        let config = raw.config.as_ref().ok_or(ManifestError::MissingField {
            kind: "an image manifest",
            field: "config",
        })?;
        blobs.push(config.digest(|| "config".to_owned())?);
        for (i, d) in raw.layers.iter().flatten().enumerate() {
            let digest = d.digest(|| format!("layers[{i}]"))?;
            if !d.is_external() {
                blobs.push(digest);
            }
        }
        raw.artifact_type
            .clone()
            .or_else(|| config.media_type.clone())
    };
    dedup(&mut blobs);
    dedup(&mut children);
    Ok(Manifest {
        kind,
        blobs,
        children,
        subject,
        artifact_type,
        annotations,
    })
}

fn dedup(digests: &mut Vec<Digest>) {
    let mut seen = std::collections::HashSet::new();
    digests.retain(|d| seen.insert(d.clone()));
}

fn decide_kind(content_type: Option<&str>, body: Option<&str>) -> Result<Kind, ManifestError> {
    let header = content_type.and_then(Kind::from_media_type);
    match (header, body) {
        (Some(kind), None) => Ok(kind),
        (Some(kind), Some(body)) => match Kind::from_media_type(body) {
            Some(b) if b == kind => Ok(kind),
            _ => Err(ManifestError::MediaTypeMismatch {
                content_type: kind.media_type().to_owned(),
                body: body.to_owned(),
            }),
        },
        // A generic or missing Content-Type: the body decides.
        (None, Some(body)) => {
            Kind::from_media_type(body).ok_or_else(|| ManifestError::UnknownMediaType(body.into()))
        }
        (None, None) => match content_type {
            Some(ct) if !ct.trim().is_empty() => Err(ManifestError::UnknownMediaType(ct.into())),
            _ => Err(ManifestError::NoMediaType),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Algorithm;

    fn d(s: &str) -> String {
        Digest::of(Algorithm::Sha256, s.as_bytes()).to_string()
    }

    fn image(media_type: Option<&str>) -> String {
        let mt = media_type
            .map(|m| format!("\"mediaType\":\"{m}\","))
            .unwrap_or_default();
        format!(
            r#"{{"schemaVersion":2,{mt}"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},
            "layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":3}},
                      {{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar","digest":"{}","size":3,"urls":["http://x"]}}],
            "subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":9}},
            "annotations":{{"k":"v"}}}}"#,
            d("c"),
            d("l"),
            d("n"),
            d("s")
        )
    }

    #[test]
    fn image_manifest() {
        let m = parse(Some(OCI_MANIFEST), image(Some(OCI_MANIFEST)).as_bytes()).unwrap();
        assert_eq!(m.kind, Kind::OciManifest);
        assert_eq!(m.blobs.len(), 2);
        assert_eq!(m.subject.unwrap().to_string(), d("s"));
        assert_eq!(
            m.artifact_type.as_deref(),
            Some("application/vnd.oci.image.config.v1+json")
        );
        assert_eq!(m.annotations.as_deref(), Some(r#"{"k":"v"}"#));
        // Without mediaType in the body, the header decides; without the
        // header, the body does.
        assert!(parse(Some(OCI_MANIFEST), image(None).as_bytes()).is_ok());
        assert!(parse(
            Some("application/json"),
            image(Some(OCI_MANIFEST)).as_bytes()
        )
        .is_ok());
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse(Some(DOCKER_MANIFEST), image(Some(OCI_MANIFEST)).as_bytes()),
            Err(ManifestError::MediaTypeMismatch { .. })
        ));
        assert!(matches!(
            parse(None, image(None).as_bytes()),
            Err(ManifestError::NoMediaType)
        ));
        assert!(matches!(
            parse(Some("text/plain"), image(None).as_bytes()),
            Err(ManifestError::UnknownMediaType(_))
        ));
        assert!(matches!(
            parse(Some(OCI_MANIFEST), b"{"),
            Err(ManifestError::Malformed(_))
        ));
        assert!(matches!(
            parse(Some(OCI_MANIFEST), br#"{"schemaVersion":1}"#),
            Err(ManifestError::SchemaVersion)
        ));
        assert!(matches!(
            parse(Some(OCI_INDEX), br#"{"schemaVersion":2}"#),
            Err(ManifestError::MissingField { .. })
        ));
        let bad = r#"{"schemaVersion":2,"config":{"digest":"sha256:00","size":1}}"#;
        assert!(matches!(
            parse(Some(OCI_MANIFEST), bad.as_bytes()),
            Err(ManifestError::Descriptor { .. })
        ));
        assert!(matches!(
            parse(Some(OCI_MANIFEST), &vec![b' '; MAX_MANIFEST_BYTES + 1]),
            Err(ManifestError::TooLarge)
        ));
    }

    #[test]
    fn index() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","artifactType":"x/y",
            "manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1}}]}}"#,
            d("a")
        );
        let m = parse(None, body.as_bytes()).unwrap();
        assert_eq!(m.kind, Kind::OciIndex);
        assert_eq!(m.children.len(), 1);
        assert!(m.blobs.is_empty());
        assert_eq!(m.artifact_type.as_deref(), Some("x/y"));
    }
}
