//! The operator's small HTTP server: `/metrics` for Prometheus, `/healthz`
//! and `/readyz` for the kubelet's probes.
//!
//! hyper is already in the build (kube's client uses it), so the server costs
//! no new dependency tree, and these three read-only endpoints need no framework.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// A client that has not sent its request headers by then is dropped, so
/// slow or stuck connections cannot pile up.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What the probes report, updated by the leader election and the controllers.
#[derive(Debug, Default)]
pub struct Health {
    synced: AtomicBool,
    leading: AtomicBool,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// The controllers' caches have listed everything once (set by the controller).
    pub fn set_synced(&self, synced: bool) {
        self.synced.store(synced, Ordering::Relaxed);
    }

    /// This replica holds the leader Lease (set by `main`).
    pub fn set_leading(&self, leading: bool) {
        self.leading.store(leading, Ordering::Relaxed);
    }

    /// Whether this replica is ready, and a one-line reason. A standby is
    /// ready: it is healthy and must not hold up a rolling update; a leader
    /// only once its caches are synced, since before that it acts on partial state.
    pub fn readiness(&self) -> (bool, &'static str) {
        match (
            self.leading.load(Ordering::Relaxed),
            self.synced.load(Ordering::Relaxed),
        ) {
            (false, _) => (true, "standby"),
            (true, true) => (true, "leading"),
            (true, false) => (false, "leading, caches not synced yet"),
        }
    }
}

/// Serves requests on `listener` until the process ends. Errors accepting a
/// connection (out of file descriptors, say) are logged and retried: the
/// probes failing would be worse than a missed scrape.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, health: Arc<Health>) -> anyhow::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(connection) => connection,
            Err(error) => {
                tracing::warn!(%error, "cannot accept an HTTP connection; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (metrics, health) = (metrics.clone(), health.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = respond(&request, &metrics, &health);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "HTTP connection ended with an error");
            }
        });
    }
}

fn respond(request: &Request<Incoming>, metrics: &Metrics, health: &Health) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    if !matches!(path, "/metrics" | "/healthz" | "/readyz") {
        return text(StatusCode::NOT_FOUND, "not found\n");
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match path {
        "/metrics" => {
            let mut response = text(StatusCode::OK, metrics.render());
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(prometheus::TEXT_FORMAT));
            response
        }
        "/healthz" => text(StatusCode::OK, "ok\n"),
        _ => match health.readiness() {
            (true, reason) => text(StatusCode::OK, format!("ok: {reason}\n")),
            (false, reason) => text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {reason}\n")),
        },
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A server on a free port of 127.0.0.1, and its state.
    async fn start() -> (std::net::SocketAddr, Arc<Metrics>, Arc<Health>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (metrics, health) = (Arc::new(Metrics::new()), Arc::new(Health::new()));
        tokio::spawn(serve(listener, metrics.clone(), health.clone()));
        (address, metrics, health)
    }

    /// One plain HTTP/1.1 request over a fresh connection: status, raw head, body.
    async fn request(address: std::net::SocketAddr, method: &str, path: &str) -> (u16, String, String) {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_lowercase(), body.to_owned())
    }

    #[tokio::test]
    async fn metrics_are_served_in_the_text_format() {
        let (address, metrics, _) = start().await;
        metrics.reconcile_started("tenant").finish(None);
        metrics.set_leader(true);
        let (status, head, body) = request(address, "GET", "/metrics").await;
        assert_eq!(status, 200);
        assert!(head.contains("content-type: text/plain; version=0.0.4"), "{head}");
        assert!(
            body.contains(r#"shopfleet_operator_reconciles_total{controller="tenant",result="success"} 1"#)
        );
        assert!(body.lines().any(|l| l == "shopfleet_operator_leader 1"), "{body}");
    }

    #[tokio::test]
    async fn healthz_answers_while_the_process_runs() {
        let (address, _, _) = start().await;
        assert_eq!(request(address, "GET", "/healthz").await.0, 200);
        assert_eq!(request(address, "GET", "/healthz").await.2, "ok\n");
    }

    #[tokio::test]
    async fn readyz_follows_leadership_and_cache_sync() {
        let (address, _, health) = start().await;
        let (status, _, body) = request(address, "GET", "/readyz").await;
        assert_eq!((status, body.as_str()), (200, "ok: standby\n"));

        health.set_leading(true);
        let (status, _, body) = request(address, "GET", "/readyz").await;
        assert_eq!(
            (status, body.as_str()),
            (503, "not ready: leading, caches not synced yet\n")
        );

        health.set_synced(true);
        let (status, _, body) = request(address, "GET", "/readyz").await;
        assert_eq!((status, body.as_str()), (200, "ok: leading\n"));
    }

    #[tokio::test]
    async fn other_paths_and_methods_are_refused() {
        let (address, _, _) = start().await;
        assert_eq!(request(address, "GET", "/").await.0, 404);
        assert_eq!(request(address, "GET", "/metrics/extra").await.0, 404);
        let (status, head, _) = request(address, "POST", "/readyz").await;
        assert_eq!(status, 405);
        assert!(head.contains("allow: get, head"), "{head}");
    }

    #[tokio::test]
    async fn a_query_string_does_not_change_the_route() {
        let (address, _, _) = start().await;
        assert_eq!(request(address, "GET", "/healthz?verbose=1").await.0, 200);
    }
}
