//! Registry bearer tokens: minted here for Distribution (ES256 JWT whose
//! `x5c` header carries the self-signed certificate that Distribution's
//! `rootcertbundle` trusts), or fetched from a registry's token realm with
//! HTTP Basic credentials (Docker token authentication, as clients do).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _, Result};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{Method, StatusCode};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::json;

use crate::http::{call_once, Url};

/// What a minted token says.
pub struct Claims<'a> {
    pub issuer: &'a str,
    pub service: &'a str,
    pub subject: &'a str,
    /// `repository:NAME:pull,push` (as in a challenge's `scope`).
    pub scopes: &'a [String],
    pub ttl_seconds: u64,
}

/// An ES256 JWT for Distribution's `auth: token:`. `key_pem` is a PKCS#8
/// P-256 key, `cert_pem` its certificate (listed in `rootcertbundle`).
pub fn mint(key_pem: &str, cert_pem: &str, claims: &Claims<'_>) -> Result<String> {
    let key = SigningKey::from_pkcs8_pem(key_pem)
        .map_err(|e| anyhow!("the signing key is not a PKCS#8 P-256 PEM key: {e}"))?;
    let cert_der = pem_body(cert_pem, "CERTIFICATE")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("clock before 1970")?
        .as_secs();
    let mut access = Vec::new();
    for scope in claims.scopes {
        let mut parts = scope.splitn(3, ':');
        let (Some(kind), Some(name), Some(actions)) = (parts.next(), parts.next(), parts.next())
        else {
            bail!("scope {scope:?} is not TYPE:NAME:ACTIONS");
        };
        access.push(json!({
            "type": kind,
            "name": name,
            "actions": actions.split(',').collect::<Vec<_>>(),
        }));
    }
    let header = json!({
        "typ": "JWT",
        "alg": "ES256",
        "x5c": [STANDARD.encode(&cert_der)],
    });
    let body = json!({
        "iss": claims.issuer,
        "sub": claims.subject,
        // Distribution 2.8 wants a string here, not an array.
        "aud": claims.service,
        "iat": now.saturating_sub(5),
        "nbf": now.saturating_sub(5),
        "exp": now + claims.ttl_seconds,
        "jti": format!("bench-{now}-{}", std::process::id()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body)?)
    );
    // JWS ES256: the raw 64-byte r || s, not DER.
    let signature: Signature = key.sign(signing_input.as_bytes());
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

/// The DER bytes of the first `-----BEGIN LABEL-----` block.
fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| anyhow!("no {begin} block"))?
        + begin.len();
    let rest = pem.get(start..).unwrap_or_default();
    let stop = rest.find(&end).ok_or_else(|| anyhow!("no {end} line"))?;
    let b64: String = rest
        .get(..stop)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(b64)
        .map_err(|e| anyhow!("{label} block is not base64: {e}"))
}

/// The parameters of a `WWW-Authenticate: Bearer k="v",…` challenge.
fn challenge_params(value: &str) -> Result<Vec<(String, String)>> {
    let rest = value
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| value.trim().strip_prefix("bearer "))
        .ok_or_else(|| anyhow!("not a Bearer challenge: {value}"))?;
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => val.extend(chars.next()),
                    '"' => break,
                    _ => val.push(c),
                }
            }
        } else {
            val = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.push((key.trim().to_ascii_lowercase(), val));
    }
    Ok(params)
}

/// The `Authorization` value for `repo` on the registry at `base`: asks
/// `GET /v2/`, and on a Bearer challenge calls its realm with HTTP Basic
/// `user:password` for `repository:REPO:pull,push`. `None` when the
/// registry answers without authentication.
pub async fn from_realm(base: &Url, repo: &str, basic: &str) -> Result<Option<String>> {
    let ping = base.join("/v2/")?;
    let reply = call_once(Method::GET, &ping, &[], Bytes::new()).await?;
    if reply.status == StatusCode::OK {
        return Ok(None);
    }
    if reply.status != StatusCode::UNAUTHORIZED {
        return Err(reply.unexpected("GET /v2/"));
    }
    let challenge = reply
        .header(WWW_AUTHENTICATE.as_str())
        .ok_or_else(|| anyhow!("GET /v2/ answered 401 without WWW-Authenticate"))?;
    let params = challenge_params(challenge)?;
    let find = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let realm = find("realm").ok_or_else(|| anyhow!("challenge without realm: {challenge}"))?;
    let mut url = base.join(realm)?;
    if let Some(service) = find("service") {
        url = url.with_query("service", service);
    }
    url = url.with_query("scope", &format!("repository:{repo}:pull,push"));
    let credentials = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(basic)))
        .context("Basic credentials")?;
    let headers: [(HeaderName, HeaderValue); 1] = [(AUTHORIZATION, credentials)];
    let reply = call_once(Method::GET, &url, &headers, Bytes::new()).await?;
    if reply.status != StatusCode::OK {
        return Err(reply.unexpected(&format!("token realm {url}")));
    }
    let answer: serde_json::Value =
        serde_json::from_slice(&reply.body).context("the token answer is not JSON")?;
    let token = answer
        .get("token")
        .or_else(|| answer.get("access_token"))
        .and_then(|t| t.as_str())
        .ok_or_else(|| anyhow!("the token answer has neither token nor access_token"))?;
    Ok(Some(format!("Bearer {token}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_challenge() -> Result<()> {
        let params = challenge_params(
            r#"Bearer realm="http://127.0.0.1:5000/token",service="reg",scope="repository:a/b:pull,push",error="insufficient_scope""#,
        )?;
        assert_eq!(
            params,
            vec![
                ("realm".into(), "http://127.0.0.1:5000/token".into()),
                ("service".into(), "reg".into()),
                ("scope".into(), "repository:a/b:pull,push".into()),
                ("error".into(), "insufficient_scope".into()),
            ]
        );
        Ok(())
    }
}
