//! The API as real processes (replicas) over a test tenant's database, and
//! a client of their live stream that checks every message it receives
//! against the OpenAPI document's `LiveMessage` schema.

use std::process::Command;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use shopfleet_e2e::process::{ManagedProcess, free_port, spawn_on_free_port};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{As, TENANT, TestApp, schema};

/// How long a test waits for a message it expects.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// One API process.
pub struct Replica {
    pub process: ManagedProcess,
    pub port: u16,
    pub metrics_port: u16,
    _dir: tempfile::TempDir,
}

impl Replica {
    /// Starts the API binary over `app`'s tenant database and keys, with
    /// `env` added to its environment; returns once it is ready.
    pub fn start(app: &TestApp, env: &[(&str, &str)]) -> Self {
        use shopfleet_contract as contract;
        let dir = tempfile::tempdir().unwrap();
        let metrics_port = free_port().unwrap();
        let log = dir.path().join("api.log");
        let command = |port: u16| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_shopfleet-api"));
            command
                .env_clear()
                .env(contract::DATABASE_URL, &app.tenant().url)
                .env(contract::TENANT, TENANT)
                .env(contract::JWT_KEYS, &app.keys_path)
                .env(contract::LISTEN, format!("127.0.0.1:{port}"))
                .env(contract::METRICS_LISTEN, format!("127.0.0.1:{metrics_port}"))
                .env(contract::PENDING_ORDER_MINUTES, "0")
                .env(contract::LOG, "warn")
                .envs(env.iter().copied());
            command
        };
        let ready = |port: u16| {
            shopfleet_e2e::operator::http_get(port, "/readyz").is_ok_and(|(status, _)| status == 200)
        };
        let (process, port) =
            spawn_on_free_port("shopfleet-api", &log, Duration::from_secs(30), command, ready)
                .unwrap_or_else(|error| panic!("the API did not start: {error:#}"));
        Self {
            process,
            port,
            metrics_port,
            _dir: dir,
        }
    }

    /// A request to this replica (blocking: one HTTP/1.0 exchange).
    pub fn call(&self, method: &str, path: &str, who: As<'_>, body: Option<&Value>) -> (u16, Value) {
        let authorization;
        let idempotency = uuid::Uuid::new_v4().to_string();
        let mut headers = vec![("Idempotency-Key", idempotency.as_str())];
        if body.is_none() && method != "GET" {
            headers.push(("Content-Length", "0"));
        }
        match who {
            As::Nobody => {}
            As::Bearer(token) => {
                authorization = format!("Bearer {token}");
                headers.push(("Authorization", authorization.as_str()));
            }
            As::Key(key) => headers.push(("X-Api-Key", key)),
        }
        let response = shopfleet_e2e::http::request(self.port, method, path, &headers, body).unwrap();
        let json = response.json().unwrap_or(Value::Null);
        (response.status, json)
    }

    /// The value of the metric series `series` (name and labels as
    /// exposed), if the replica exposes it.
    pub fn metric(&self, series: &str) -> Option<f64> {
        let (status, text) = shopfleet_e2e::operator::http_get(self.metrics_port, "/metrics").unwrap();
        assert_eq!(status, 200);
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// Sends the process a signal (`STOP`, `CONT`).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.process.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// The process's resident memory, in KiB.
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("/proc/<pid>/status has VmRSS")
    }

    /// Waits (up to [`PATIENCE`]) until `check` holds of this replica.
    pub async fn wait_until(&self, what: &str, check: impl Fn(&Self) -> bool) {
        self.wait_up_to(PATIENCE, what, check).await;
    }

    /// Waits up to `patience` until `check` holds of this replica.
    pub async fn wait_up_to(&self, patience: Duration, what: &str, check: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + patience;
        while !check(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited {patience:?} for {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// How a stream is opened.
pub enum Credentials<'a> {
    Bearer(&'a str),
    /// Subprotocols only (a browser's way): `shopfleet.live.v1` and this ticket's.
    Ticket(&'a str),
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A stream client.
pub struct Stream {
    pub socket: Socket,
    /// The OpenAPI document, whose `LiveMessage` every message must match.
    document: Value,
}

impl Stream {
    /// The handshake's request for `store_base` (`/v1/stores/<id>`) on `port`.
    pub fn request(
        port: u16,
        store_base: &str,
        credentials: Credentials<'_>,
        after: Option<&str>,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let query = after.map(|after| format!("?after={after}")).unwrap_or_default();
        let mut request = format!("ws://127.0.0.1:{port}{store_base}/stream{query}")
            .into_client_request()
            .unwrap();
        let headers = request.headers_mut();
        match credentials {
            Credentials::Bearer(token) => {
                headers.insert(
                    "Authorization",
                    HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
                );
                headers.insert(
                    "Sec-WebSocket-Protocol",
                    HeaderValue::from_static("shopfleet.live.v1"),
                );
            }
            Credentials::Ticket(ticket) => {
                headers.insert(
                    "Sec-WebSocket-Protocol",
                    HeaderValue::from_str(&format!("shopfleet.live.v1, shopfleet.ticket.{ticket}")).unwrap(),
                );
            }
        }
        request
    }

    /// Opens a stream; the handshake's error (with its HTTP response) when refused.
    pub async fn try_open(
        port: u16,
        store_base: &str,
        credentials: Credentials<'_>,
        after: Option<&str>,
    ) -> Result<Self, Box<WsError>> {
        let request = Self::request(port, store_base, credentials, after);
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(Box::new)?;
        assert_eq!(
            response
                .headers()
                .get("Sec-WebSocket-Protocol")
                .map(|v| v.to_str().unwrap()),
            Some("shopfleet.live.v1"),
            "the server chose the messages' version"
        );
        Ok(Self {
            socket,
            document: serde_json::from_str(&shopfleet_api::openapi::document_json()).unwrap(),
        })
    }

    /// Opens a stream and reads up to its `ready`; the events before it
    /// (what it missed) and `ready`'s `last_id`.
    pub async fn open(
        port: u16,
        store_base: &str,
        credentials: Credentials<'_>,
        after: Option<&str>,
    ) -> (Self, Vec<Value>, Value) {
        let mut stream = Self::try_open(port, store_base, credentials, after)
            .await
            .unwrap_or_else(|error| panic!("the stream did not open: {error}"));
        let mut before = Vec::new();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let message = stream.next_before(deadline).await;
            match message["type"].as_str() {
                Some("ready") => return (stream, before, message["last_id"].clone()),
                Some("tick") => {}
                _ => before.push(message),
            }
        }
    }

    /// The next message, checked against the schema (pings answered,
    /// ticks included); panics after [`PATIENCE`] or when the server closes.
    pub async fn next(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        self.next_before(deadline).await
    }

    async fn next_before(&mut self, deadline: tokio::time::Instant) -> Value {
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no message within {PATIENCE:?}"))
                .expect("the stream ended")
                .expect("the stream failed");
            match frame {
                Message::Text(text) => {
                    let message: Value = serde_json::from_str(&text).unwrap();
                    if let Err(error) = schema::check(&message, "LiveMessage", &self.document) {
                        panic!("{message} does not match LiveMessage: {error}");
                    }
                    return message;
                }
                Message::Close(frame) => panic!("the server closed the stream: {frame:?}"),
                _ => {}
            }
        }
    }

    /// The next `count` events (ticks skipped), within [`PATIENCE`] of the
    /// last one received (ticks keep coming: they do not count).
    pub async fn events(&mut self, count: usize) -> Vec<Value> {
        let mut events = Vec::with_capacity(count);
        let mut deadline = tokio::time::Instant::now() + PATIENCE;
        while events.len() < count {
            let message = self.next_before(deadline).await;
            if message["type"] != "tick" {
                events.push(message);
                deadline = tokio::time::Instant::now() + PATIENCE;
            }
        }
        events
    }

    /// Reads until the server closes the stream; its close frame.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("the server did not close the stream within {PATIENCE:?}"));
            match frame {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.send(Message::Close(None)).await;
    }
}
