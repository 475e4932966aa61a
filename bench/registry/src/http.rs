//! Plain-HTTP/1.1 plumbing on hyper's low-level client: URL splitting, one
//! keep-alive connection per caller, whole or streamed bodies.

use std::net::SocketAddr;

use anyhow::{anyhow, bail, Context as _, Result};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// `http://host:port/path?query` split into what a request needs.
#[derive(Clone, Debug)]
pub struct Url {
    /// `host:port` as written (the `Host` header).
    pub authority: String,
    /// Starts with `/`.
    pub path_and_query: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url> {
        let rest = text.strip_prefix("http://").ok_or_else(|| {
            anyhow!("{text}: only http:// URLs are supported (loopback benchmark)")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            bail!("{text}: no host");
        }
        let authority = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(Url {
            authority,
            path_and_query: path.to_string(),
        })
    }

    /// `location` (absolute, or a path on this URL's server) resolved against `self`.
    pub fn join(&self, location: &str) -> Result<Url> {
        if location.starts_with("http://") {
            Url::parse(location)
        } else if location.starts_with('/') {
            Ok(Url {
                authority: self.authority.clone(),
                path_and_query: location.to_string(),
            })
        } else {
            bail!("unsupported Location {location:?}")
        }
    }

    /// The same URL with `key=value` appended to its query.
    pub fn with_query(&self, key: &str, value: &str) -> Url {
        let sep = if self.path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        Url {
            authority: self.authority.clone(),
            path_and_query: format!("{}{sep}{key}={}", self.path_and_query, encode(value)),
        }
    }

    pub async fn addr(&self) -> Result<SocketAddr> {
        tokio::net::lookup_host(self.authority.as_str())
            .await
            .with_context(|| format!("resolving {}", self.authority))?
            .next()
            .ok_or_else(|| anyhow!("{} resolves to nothing", self.authority))
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}{}", self.authority, self.path_and_query)
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// One HTTP/1.1 keep-alive connection; one request at a time.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
    authority: String,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// A response whose body was read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// An error naming the request and showing the start of the body.
    pub fn unexpected(&self, what: &str) -> anyhow::Error {
        let shown = self
            .body
            .get(..self.body.len().min(400))
            .unwrap_or_default();
        anyhow!(
            "{what}: HTTP {} {}",
            self.status,
            String::from_utf8_lossy(shown).trim()
        )
    }
}

impl Connection {
    pub async fn open(url: &Url) -> Result<Connection> {
        let addr = url.addr().await?;
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true).context("TCP_NODELAY")?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        let driver = tokio::spawn(async move {
            // Ends when either side closes; a broken connection shows up as
            // the next request's error.
            let _ = connection.await;
        });
        Ok(Connection {
            sender,
            driver,
            authority: url.authority.clone(),
        })
    }

    /// Sends one request and returns the response with its body unread.
    pub async fn send(
        &mut self,
        method: Method,
        path_and_query: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Response<Incoming>> {
        self.sender.ready().await.context("connection not ready")?;
        let mut builder = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, self.authority.as_str());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(body))
            .context("building the request")?;
        self.sender
            .send_request(request)
            .await
            .context("sending the request")
    }

    /// Sends one request and reads the whole body.
    pub async fn call(
        &mut self,
        method: Method,
        path_and_query: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Reply> {
        let response = self.send(method, path_and_query, headers, body).await?;
        let status = response.status();
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .context("reading the response body")?
            .to_bytes();
        Ok(Reply {
            status,
            headers: parts.headers,
            body,
        })
    }
}

/// One request on a fresh connection (set-up calls, where a handshake is noise).
pub async fn call_once(
    method: Method,
    url: &Url,
    headers: &[(HeaderName, HeaderValue)],
    body: Bytes,
) -> Result<Reply> {
    let mut connection = Connection::open(url).await?;
    connection
        .call(method, &url.path_and_query, headers, body)
        .await
        .with_context(|| format!("{url}"))
}

/// Reads a response body to its end, counting bytes, feeding each chunk to `sink`.
pub async fn drain(response: Response<Incoming>, mut sink: impl FnMut(&[u8])) -> Result<u64> {
    let mut body = response.into_body();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.context("reading the body")?;
        if let Some(data) = frame.data_ref() {
            sink(data);
            total += data.len() as u64;
        }
    }
    Ok(total)
}
