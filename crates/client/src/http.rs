//! The HTTP side: one registry, its token realm, bearer tokens per scope,
//! and the mapping of error answers to [`Error`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode, Url};

use crate::auth::Challenge;
use crate::{CredentialSource, Credentials, Error};

/// The most bytes of an error answer read for its message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A client of one registry.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    credentials: Option<Credentials>,
    /// The bearer challenge of `GET /v2/` (none: the registry wants no
    /// token, or only Basic).
    challenge: Mutex<Option<Challenge>>,
    /// Tokens by the scope they were asked for.
    tokens: Mutex<HashMap<String, String>>,
}

/// One request, kept so it can be sent again with a fresh token.
pub(crate) struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(reqwest::header::HeaderName, String)>,
    pub body: Option<Bytes>,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Request {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(
        mut self,
        name: reqwest::header::HeaderName,
        value: impl Into<String>,
    ) -> Request {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Bytes) -> Request {
        self.body = Some(body);
        self
    }
}

/// How a request authenticates.
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Basic(&'a Credentials),
}

impl Client {
    /// Connects to the registry at `host` (`HOST[:PORT]`, plain http):
    /// `GET /v2/` learns its challenge; with credentials, the realm is
    /// asked once so a wrong password fails here, before any transfer.
    pub async fn connect(host: &str, source: &dyn CredentialSource) -> Result<Client, Error> {
        let credentials = source
            .credentials(host)?
            .map(|(username, password)| Credentials { username, password });
        let base = Url::parse(&format!("http://{host}/"))
            .map_err(|e| Error::Protocol(format!("registry address http://{host}/: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|source| Error::Network {
                url: base.to_string(),
                source,
            })?;
        let client = Client {
            http,
            base,
            credentials,
            challenge: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
        };
        let url = client.url("/v2/")?;
        let response = client
            .raw(&Request::new(Method::GET, url), Auth::None)
            .await?;
        match response.status() {
            StatusCode::UNAUTHORIZED => {
                let challenge = challenge_of(response.headers());
                if let Some(challenge) = challenge.filter(Challenge::is_bearer) {
                    if client.credentials.is_some() {
                        // Checks the login; the token is not used (no scope).
                        client.fetch_token(&challenge, "").await?;
                    }
                    if let Ok(mut slot) = client.challenge.lock() {
                        *slot = Some(challenge);
                    }
                }
            }
            status if status.is_success() => {}
            _ => return Err(error_of(response).await),
        }
        Ok(client)
    }

    /// `path` (starting with `/`) on the registry.
    pub(crate) fn url(&self, path: &str) -> Result<Url, Error> {
        self.resolve(path)
    }

    /// A `Location` the registry sent, relative or absolute.
    pub(crate) fn resolve(&self, location: &str) -> Result<Url, Error> {
        self.base
            .join(location)
            .map_err(|e| Error::Protocol(format!("bad location {location:?}: {e}")))
    }

    /// Sends `request` with a token for `scope` (`repository:NAME:pull`…):
    /// a cached one, else one fetched when a challenge is known. A `401`
    /// gets one retry with a fresh token; a second `401` is
    /// [`Error::Unauthorized`]. Other statuses are the caller's to judge.
    pub(crate) async fn send(&self, scope: &str, request: Request) -> Result<Response, Error> {
        let known = self.challenge.lock().ok().and_then(|c| c.clone());
        let mut token = self.tokens.lock().ok().and_then(|t| t.get(scope).cloned());
        if token.is_none() {
            if let Some(challenge) = &known {
                token = Some(self.fetch_token(challenge, scope).await?);
            }
        }
        let first = match &token {
            Some(t) => self.raw(&request, Auth::Bearer(t)).await?,
            None => self.raw(&request, Auth::None).await?,
        };
        if first.status() != StatusCode::UNAUTHORIZED {
            return Ok(first);
        }
        let challenge = challenge_of(first.headers());
        let second = match challenge {
            Some(challenge) if challenge.is_bearer() => {
                let wanted = challenge.param("scope").unwrap_or(scope).to_owned();
                let fresh = self.fetch_token(&challenge, &wanted).await?;
                if let Ok(mut slot) = self.challenge.lock() {
                    *slot = Some(challenge);
                }
                self.raw(&request, Auth::Bearer(&fresh)).await?
            }
            Some(challenge) if challenge.scheme == "basic" => match &self.credentials {
                Some(credentials) => self.raw(&request, Auth::Basic(credentials)).await?,
                None => return Err(unauthorized(first).await),
            },
            _ => return Err(unauthorized(first).await),
        };
        if second.status() == StatusCode::UNAUTHORIZED {
            return Err(unauthorized(second).await);
        }
        Ok(second)
    }

    async fn raw(&self, request: &Request, auth: Auth<'_>) -> Result<Response, Error> {
        let mut builder = self
            .http
            .request(request.method.clone(), request.url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name.clone(), value.as_str());
        }
        builder = match auth {
            Auth::None => builder,
            Auth::Bearer(token) => builder.bearer_auth(token),
            Auth::Basic(c) => builder.basic_auth(&c.username, Some(&c.password)),
        };
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        builder.send().await.map_err(|source| Error::Network {
            url: request.url.to_string(),
            source,
        })
    }

    /// Asks the realm of `challenge` for a token covering `scope` (none
    /// when empty), with the credentials or anonymously; caches it.
    async fn fetch_token(&self, challenge: &Challenge, scope: &str) -> Result<String, Error> {
        let realm = challenge
            .param("realm")
            .ok_or_else(|| Error::Protocol("the bearer challenge names no realm".into()))?;
        let mut url = Url::parse(realm)
            .map_err(|e| Error::Protocol(format!("the realm {realm:?} is not a URL: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = challenge.param("service") {
                query.append_pair("service", service);
            }
            // A scope of several actions is one parameter; several
            // resources would be several (the challenge names one).
            if !scope.is_empty() {
                query.append_pair("scope", scope);
            }
        }
        let request = Request::new(Method::GET, url).header(ACCEPT, "application/json");
        let auth = match &self.credentials {
            Some(c) => Auth::Basic(c),
            None => Auth::None,
        };
        let response = self.raw(&request, auth).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(unauthorized(response).await);
        }
        if !response.status().is_success() {
            return Err(error_of(response).await);
        }
        let body = read_limited(response, MAX_ERROR_BODY).await?;
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            Error::Protocol(format!("the realm answered JSON that does not parse: {e}"))
        })?;
        let token = value
            .get("token")
            .or_else(|| value.get("access_token"))
            .and_then(serde_json::Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Protocol("the realm answered no token".into()))?
            .to_owned();
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(scope.to_owned(), token.clone());
        }
        Ok(token)
    }
}

fn challenge_of(headers: &HeaderMap) -> Option<Challenge> {
    let all: Vec<Challenge> = headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .filter_map(Challenge::parse)
        .collect();
    let bearer = all.iter().find(|c| c.is_bearer()).cloned();
    bearer.or_else(|| all.into_iter().next())
}

/// The body of a response, at most `limit` bytes (more is a protocol
/// error).
pub(crate) async fn read_limited(mut response: Response, limit: usize) -> Result<Vec<u8>, Error> {
    let url = response.url().to_string();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|source| Error::Network {
        url: url.clone(),
        source,
    })? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(Error::Protocol(format!(
                "{url}: the answer is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The code and message of an OCI (or realm) error body.
async fn code_and_message(response: Response) -> (StatusCode, Option<String>, String) {
    let status = response.status();
    let url = response.url().path().to_owned();
    let body = read_limited(response, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let first = value
        .get("errors")
        .and_then(serde_json::Value::as_array)
        .and_then(|errors| errors.first());
    let code = first
        .and_then(|e| e.get("code"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let message = first
        .and_then(|e| e.get("message"))
        .and_then(serde_json::Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let reason = status.canonical_reason().unwrap_or("error");
            format!("{} {reason} for {url}", status.as_u16())
        });
    (status, code, message)
}

async fn unauthorized(response: Response) -> Error {
    let (_, _, message) = code_and_message(response).await;
    Error::Unauthorized { message }
}

/// The [`Error`] an unsuccessful answer means.
pub(crate) async fn error_of(response: Response) -> Error {
    let (status, code, message) = code_and_message(response).await;
    match status {
        StatusCode::UNAUTHORIZED => Error::Unauthorized { message },
        StatusCode::FORBIDDEN => Error::Denied { message },
        StatusCode::NOT_FOUND => Error::NotFound { message },
        _ => Error::Registry {
            status: status.as_u16(),
            code,
            message,
        },
    }
}

/// A header's value as text.
pub(crate) fn header_text(
    response: &Response,
    name: reqwest::header::HeaderName,
) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The media type of a response, without parameters.
pub(crate) fn content_type(response: &Response) -> Option<String> {
    header_text(response, CONTENT_TYPE).map(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}
