//! One HTTP/1.1 keep-alive connection, driven with hyper's low-level
//! client: one request at a time, so N workers hold exactly N connections.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::HOST;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// A connection to the server. Dropping it closes the socket.
pub struct Connection {
    sender: SendRequest<Empty<Bytes>>,
    driver: JoinHandle<()>,
    host: String,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Connection {
    /// Connects to `addr` (`TCP_NODELAY`, as every HTTP client sets).
    pub async fn open(addr: SocketAddr) -> Result<Connection, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP/1.1 handshake: {e}"))?;
        let driver = tokio::spawn(async move {
            // Ends when the server closes or the sender is dropped; a
            // broken connection shows up as the next request's error.
            let _ = connection.await;
        });
        Ok(Connection {
            sender,
            driver,
            host: addr.to_string(),
        })
    }

    /// `GET path_and_query`, the whole body read.
    pub async fn get(&mut self, path_and_query: &str) -> Result<(StatusCode, Bytes), String> {
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection not ready: {e}"))?;
        let request = Request::get(path_and_query)
            .header(HOST, self.host.as_str())
            .body(Empty::new())
            .map_err(|e| format!("building the request: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("sending: {e}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the body: {e}"))?
            .to_bytes();
        Ok((status, body))
    }
}
