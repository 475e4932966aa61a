//! `rampart-example-fc`: a fake function platform that fronts two RPC
//! actions, `ListServices` (a read) and `CreateService` (a write), and lets
//! rampart decide every call.
//!
//! Callers sign their requests with rampart-issued credentials (an
//! AccessKey, or STS temporary credentials with their SecurityToken), V1
//! or V3, exactly as they would sign a call to Alibaba Cloud. For each
//! request the gateway:
//!
//! 1. reads the action (`Action` parameter for V1, `x-acs-action` for V3);
//! 2. forwards the request as it received it to rampart's
//!    `POST /rampart/authorize`, with the action it is about to perform
//!    (`fc:ListServices` / `fc:CreateService`) on
//!    `acs:fc:REGION:OWNER_ACCOUNT:services/*`, signing that call with its
//!    own service key (V3);
//! 3. answers a fake JSON payload when rampart allows, `403 NoPermission`
//!    when it does not, and relays rampart's error (status, `Code`,
//!    `Message`) when the caller's request itself was refused (a bad
//!    signature, an expired token, …).
//!
//! Configured by environment variables (see `README.md`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use auth::{v3, Secret, Timestamp};
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// The largest request body the gateway reads.
const BODY_LIMIT: usize = 1024 * 1024;

/// Where the authorization API lives on rampart.
const AUTHORIZE_PATH: &str = "/rampart/authorize";

/// What the gateway needs to talk to rampart.
struct Gateway {
    rampart_url: String,
    rampart_host: String,
    key_id: String,
    secret: Secret,
    account: String,
    region: String,
    http: reqwest::Client,
    counter: AtomicU64,
}

/// What rampart said.
enum Answer {
    /// Decided: allowed or not, by which statement, for whom.
    Decided {
        allowed: bool,
        statement: Option<String>,
        principal: String,
    },
    /// The caller's request was refused: relay this.
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// rampart refused the gateway itself, or could not be reached.
    Unavailable(String),
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str) -> Result<String, String> {
    env(name).ok_or_else(|| format!("{name} must be set (see examples/fc-gateway/README.md)"))
}

impl Gateway {
    fn from_env() -> Result<Gateway, String> {
        let rampart_url = env("RAMPART_URL").unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        let rampart_url = rampart_url.trim_end_matches('/').to_owned();
        let rampart_host = rampart_url
            .strip_prefix("http://")
            .ok_or_else(|| format!("RAMPART_URL={rampart_url} must start with http://"))?
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok(Gateway {
            rampart_url,
            rampart_host,
            key_id: required("RAMPART_SERVICE_KEY_ID")?,
            secret: Secret::new(required("RAMPART_SERVICE_KEY_SECRET")?),
            account: required("FC_ACCOUNT")?,
            region: env("FC_REGION").unwrap_or_else(|| "cn-hangzhou".to_owned()),
            http: reqwest::Client::new(),
            counter: AtomicU64::new(0),
        })
    }

    /// A fresh nonce (random, with a counter so two never collide).
    fn nonce(&self) -> String {
        let mut bytes = [0_u8; 12];
        let _ = getrandom::fill(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("{hex}{:08x}", self.counter.fetch_add(1, Ordering::Relaxed))
    }

    /// Asks rampart about `document`, signing the call with the service key.
    async fn authorize(&self, document: &Value) -> Answer {
        let body = document.to_string();
        let date = Timestamp::now().to_iso8601();
        let nonce = self.nonce();
        let sha = v3::content_sha256_hex(body.as_bytes());
        let headers: Vec<(&str, &str)> = vec![
            ("host", &self.rampart_host),
            ("content-type", "application/json"),
            ("x-acs-action", "Authorize"),
            ("x-acs-version", "rampart-v1"),
            ("x-acs-date", &date),
            ("x-acs-signature-nonce", &nonce),
            ("x-acs-content-sha256", &sha),
        ];
        let request = v3::Request {
            method: "POST",
            path: AUTHORIZE_PATH,
            query: &[],
            headers: &headers,
            body: body.as_bytes(),
        };
        let signed = match v3::sign_request(&request, &self.key_id, &self.secret) {
            Ok(signed) => signed,
            Err(err) => return Answer::Unavailable(format!("cannot sign for rampart: {err}")),
        };
        let mut call = self
            .http
            .post(format!("{}{AUTHORIZE_PATH}", self.rampart_url))
            .header("authorization", signed.to_string());
        for (name, value) in &headers {
            if *name != "host" {
                call = call.header(*name, *value);
            }
        }
        let response = match call.body(body).send().await {
            Ok(response) => response,
            Err(err) => return Answer::Unavailable(format!("rampart is unreachable: {err}")),
        };
        let status = response.status().as_u16();
        let source = response
            .headers()
            .get("x-rampart-error-source")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.unwrap_or_default();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let text_of = |key: &str| answer.get(key).and_then(Value::as_str).map(str::to_owned);
        match (status, source.as_deref()) {
            (200, _) => Answer::Decided {
                allowed: answer.get("Allowed").and_then(Value::as_bool) == Some(true),
                statement: text_of("DecidingStatement"),
                principal: answer
                    .pointer("/Principal/Arn")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            },
            (_, Some("request")) => Answer::Refused {
                status,
                code: text_of("Code").unwrap_or_default(),
                message: text_of("Message").unwrap_or_default(),
            },
            _ => Answer::Unavailable(format!(
                "rampart refused the gateway's own call ({status} {})",
                text_of("Code").unwrap_or_default()
            )),
        }
    }
}

/// A request id for the gateway's own answers.
fn request_id(gateway: &Gateway) -> String {
    gateway.nonce().to_ascii_uppercase()
}

fn reply(status: StatusCode, id: &str, mut body: Map<String, Value>) -> Response {
    body.insert("RequestId".into(), Value::String(id.to_owned()));
    (
        status,
        [("content-type", "application/json;charset=utf-8")],
        Value::Object(body).to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, id: &str, code: &str, message: &str) -> Response {
    let mut body = Map::new();
    body.insert("Code".into(), Value::String(code.to_owned()));
    body.insert("Message".into(), Value::String(message.to_owned()));
    reply(status, id, body)
}

/// The request's parameters: query and form body.
fn parameters(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        pairs.extend(form_urlencoded::parse(body).into_owned());
    }
    pairs
}

async fn handle(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request<Body>,
) -> Response {
    let id = request_id(&gateway);
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &id,
            "EntityTooLarge",
            "The body is too large.",
        );
    };
    let params = parameters(parts.uri.query(), &parts.headers, &body);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let action = parts
        .headers
        .get("x-acs-action")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| param("Action"))
        .unwrap_or_default();
    if action != "ListServices" && action != "CreateService" {
        return error(
            StatusCode::NOT_FOUND,
            &id,
            "InvalidAction.NotFound",
            &format!("Specified api {action:?} is not found; this gateway serves ListServices and CreateService."),
        );
    }

    // The request as received: every text header (repeated ones as a list).
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let Ok(value) = value.to_str() else { continue };
        match headers.get_mut(name.as_str()) {
            Some(Value::Array(values)) => values.push(Value::String(value.to_owned())),
            Some(first) => *first = json!([first.clone(), value]),
            None => {
                headers.insert(name.as_str().to_owned(), Value::String(value.to_owned()));
            }
        }
    }
    let body_field = match std::str::from_utf8(&body) {
        Ok(text) => ("Body", Value::String(text.to_owned())),
        Err(_) => ("BodyBase64", Value::String(BASE64.encode(&body))),
    };
    let mut forwarded = Map::new();
    forwarded.insert("Method".into(), json!(parts.method.as_str()));
    forwarded.insert("Path".into(), json!(parts.uri.path()));
    forwarded.insert("Query".into(), json!(parts.uri.query().unwrap_or("")));
    forwarded.insert("Headers".into(), Value::Object(headers));
    forwarded.insert(body_field.0.into(), body_field.1);
    forwarded.insert("SourceIp".into(), json!(peer.ip().to_string()));
    let rampart_action = format!("fc:{action}");
    let resource = format!("acs:fc:{}:{}:services/*", gateway.region, gateway.account);
    let document = json!({
        "Action": rampart_action,
        "Resource": resource,
        "Request": Value::Object(forwarded),
    });

    match gateway.authorize(&document).await {
        Answer::Decided {
            allowed: true,
            principal,
            ..
        } => {
            let mut body = Map::new();
            if action == "ListServices" {
                body.insert(
                    "Services".into(),
                    json!([{"ServiceName": "demo", "Description": "a fake service of the example gateway"}]),
                );
            } else {
                let name = param("ServiceName").unwrap_or_else(|| "new-service".to_owned());
                body.insert("ServiceName".into(), json!(name));
                body.insert(
                    "ServiceId".into(),
                    json!(request_id(&gateway).to_ascii_lowercase()),
                );
            }
            body.insert("Caller".into(), json!(principal));
            reply(StatusCode::OK, &id, body)
        }
        Answer::Decided {
            allowed: false,
            statement,
            ..
        } => error(
            StatusCode::FORBIDDEN,
            &id,
            "NoPermission",
            &format!(
                "You are not authorized to do action {rampart_action} on resource {resource} ({}).",
                statement.map_or_else(
                    || "no policy allows it".to_owned(),
                    |s| format!("denied by {s}")
                )
            ),
        ),
        Answer::Refused {
            status,
            code,
            message,
        } => error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &id,
            &code,
            &message,
        ),
        Answer::Unavailable(why) => {
            eprintln!("fc-gateway: {why}");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                &id,
                "ServiceUnavailable",
                "The gateway could not ask rampart; see its log.",
            )
        }
    }
}

#[tokio::main]
async fn main() {
    let gateway = match Gateway::from_env() {
        Ok(gateway) => Arc::new(gateway),
        Err(why) => {
            eprintln!("fc-gateway: {why}");
            std::process::exit(2);
        }
    };
    let listen = env("FC_LISTEN").unwrap_or_else(|| "127.0.0.1:9000".to_owned());
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("fc-gateway: cannot listen on {listen}: {err}");
            std::process::exit(1);
        }
    };
    let address = listener
        .local_addr()
        .map_or_else(|_| listen.clone(), |a| a.to_string());
    println!(
        "fc-gateway listening on {address}, asking {} for account {} in {}",
        gateway.rampart_url, gateway.account, gateway.region
    );
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(gateway)
        .into_make_service_with_connect_info::<SocketAddr>();
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(err) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("fc-gateway: {err}");
        std::process::exit(1);
    }
}
