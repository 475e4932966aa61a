//! The two protocols the credential helper speaks on stdin/stdout.
//!
//! * docker's credential helpers (`docker-credential-NAME get|store|erase|list`):
//!   `get` reads a server URL and answers `{"ServerURL","Username","Secret"}`;
//!   a failure is its message on stdout and exit 1, and an unknown host
//!   says exactly [`DOCKER_NOT_FOUND`].
//! * the kubelet's image credential providers
//!   (`credentialprovider.kubelet.k8s.io/v1`): a `CredentialProviderRequest`
//!   with the image in, a `CredentialProviderResponse` out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What docker expects for a host the helper has nothing for.
pub const DOCKER_NOT_FOUND: &str = "credentials not found in native keychain";

/// The kubelet's credential provider API version.
pub const KUBELET_API_VERSION: &str = "credentialprovider.kubelet.k8s.io/v1";

/// `get`'s answer and `store`'s input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerCredentials {
    #[serde(rename = "ServerURL")]
    pub server_url: String,
    #[serde(rename = "Username")]
    pub username: String,
    #[serde(rename = "Secret")]
    pub secret: String,
}

/// `CredentialProviderRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct KubeletRequest {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub image: String,
}

impl KubeletRequest {
    /// Parses and checks the request.
    pub fn parse(text: &str) -> Result<KubeletRequest, String> {
        let request: KubeletRequest = serde_json::from_str(text)
            .map_err(|e| format!("not a CredentialProviderRequest: {e}"))?;
        if request.api_version != KUBELET_API_VERSION {
            return Err(format!(
                "apiVersion {:?} is not supported (only {KUBELET_API_VERSION})",
                request.api_version
            ));
        }
        if request.kind != "CredentialProviderRequest" {
            return Err(format!(
                "kind {:?}: expected CredentialProviderRequest",
                request.kind
            ));
        }
        if request.image.is_empty() {
            return Err("the request names no image".into());
        }
        Ok(request)
    }
}

/// One `auth` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeletAuth {
    pub username: String,
    pub password: String,
}

/// `CredentialProviderResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeletResponse {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    #[serde(rename = "cacheKeyType")]
    pub cache_key_type: String,
    #[serde(rename = "cacheDuration", skip_serializing_if = "Option::is_none")]
    pub cache_duration: Option<String>,
    pub auth: BTreeMap<String, KubeletAuth>,
}

impl KubeletResponse {
    /// Credentials for `registry`, cached by the kubelet per registry for
    /// half their remaining lifetime (`None`: they do not expire, the
    /// kubelet's default applies).
    pub fn new(
        registry: &str,
        username: &str,
        password: &str,
        remaining_seconds: Option<i64>,
    ) -> KubeletResponse {
        let mut auth = BTreeMap::new();
        auth.insert(
            registry.to_owned(),
            KubeletAuth {
                username: username.to_owned(),
                password: password.to_owned(),
            },
        );
        KubeletResponse {
            api_version: KUBELET_API_VERSION.to_owned(),
            kind: "CredentialProviderResponse".to_owned(),
            cache_key_type: "Registry".to_owned(),
            cache_duration: remaining_seconds.map(|r| format!("{}s", (r / 2).max(0))),
            auth,
        }
    }
}

/// The host of an image reference (`HOST[:PORT]/ns/repo:tag`; a name
/// without a host is Docker Hub's).
pub fn image_host(image: &str) -> String {
    let image = image.split_once("://").map_or(image, |(_, rest)| rest);
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_ascii_lowercase()
        }
        _ => "docker.io".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn docker_shapes() {
        let c = DockerCredentials {
            server_url: "127.0.0.1:5000".into(),
            username: "cr_temp_user".into(),
            secret: "t".into(),
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(
            text,
            r#"{"ServerURL":"127.0.0.1:5000","Username":"cr_temp_user","Secret":"t"}"#
        );
        assert_eq!(serde_json::from_str::<DockerCredentials>(&text).unwrap(), c);
    }

    #[test]
    fn kubelet_request_and_response() {
        let r = KubeletRequest::parse(
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"reg.example:5000/ns/app:1"}"#,
        )
        .unwrap();
        assert_eq!(image_host(&r.image), "reg.example:5000");
        assert!(KubeletRequest::parse(r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","kind":"CredentialProviderRequest","image":"x"}"#).unwrap_err().contains("apiVersion"));
        assert!(KubeletRequest::parse("{").is_err());
        let response = KubeletResponse::new("reg.example:5000", "u", "p", Some(3601));
        let value = serde_json::to_value(&response).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
                "kind": "CredentialProviderResponse",
                "cacheKeyType": "Registry",
                "cacheDuration": "1800s",
                "auth": {"reg.example:5000": {"username": "u", "password": "p"}}
            })
        );
        let forever = serde_json::to_value(KubeletResponse::new("h", "u", "p", None)).unwrap();
        assert!(forever.get("cacheDuration").is_none());
    }

    #[test]
    fn image_hosts() {
        assert_eq!(image_host("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000");
        assert_eq!(image_host("library/busybox"), "docker.io");
        assert_eq!(image_host("localhost/a"), "localhost");
        assert_eq!(
            image_host("Cri-Y.Example.Internal/a/b@sha256:00"),
            "cri-y.example.internal"
        );
    }
}
