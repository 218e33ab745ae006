//! The API's Prometheus metrics, served on `/metrics`.
//!
//! Every series is named `shopfleet_api_*` on a registry of its own. Labels
//! take bounded values only: the route *template* (`/v1/stores/{store_id}/products`,
//! never the ids in a path), the method and the status code.

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Requests take from a fraction of a millisecond (a cached read) to a
/// second or so (hashing a password under load).
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The route label of requests no route matched, so scanners cannot mint series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Why the server ends or refuses a live stream (`stream_clients_dropped_total`).
const STREAM_END_REASONS: [&str; 4] = ["refused", "slow", "silent", "failed"];

/// The committed changes of an order (`order_events_total`).
const ORDER_EVENTS: [&str; 5] = ["created", "paid", "fulfilled", "cancelled", "refunded"];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_in_use: IntGauge,
    pool_idle: IntGauge,
    order_events: IntCounterVec,
    order_money: IntCounterVec,
    expiry_failures: IntCounter,
    fold_failures: IntCounter,
    streams_open: IntGauge,
    streams_ended: IntCounterVec,
    stream_listener_reconnects: IntCounter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("shopfleet_api".into()), None).expect("a constant, valid prefix");
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "Requests answered, by method, route template and status.",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer a request, by route template.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("valid metric");
        let pool_in_use = IntGauge::new(
            "db_pool_connections_in_use",
            "Database connections serving a request.",
        )
        .expect("valid metric");
        let pool_idle = IntGauge::new(
            "db_pool_connections_idle",
            "Database connections open and waiting.",
        )
        .expect("valid metric");
        let order_events = IntCounterVec::new(
            Opts::new(
                "order_events_total",
                "Committed changes of orders: created, paid, fulfilled, cancelled, refunded.",
            ),
            &["event"],
        )
        .expect("valid metric");
        let order_money = IntCounterVec::new(
            Opts::new(
                "order_amount_minor_total",
                "Money in committed order changes, in the currency's minor unit: \
                 ordered (totals of created orders), paid and refunded.",
            ),
            &["event", "currency"],
        )
        .expect("valid metric");
        let expiry_failures = IntCounter::new(
            "order_expiry_failures_total",
            "Stores whose unpaid orders a sweep could not cancel (the others were swept; \
             the next sweep, a minute later, tries again).",
        )
        .expect("valid metric");
        let fold_failures = IntCounter::new(
            "analytics_fold_failures_total",
            "Stores whose analytics a fold could not bring up to date (their reports stay \
             exact, reading more raw rows; the next fold, seconds later, tries again).",
        )
        .expect("valid metric");
        let streams_open =
            IntGauge::new("stream_clients", "Live streams open on this replica.").expect("valid metric");
        let streams_ended = IntCounterVec::new(
            Opts::new(
                "stream_clients_dropped_total",
                "Live streams the server ended or refused, by reason: refused (past a limit), \
                 slow (read too slowly), silent (answered no ping), failed (a database error).",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let stream_listener_reconnects = IntCounter::new(
            "stream_listener_reconnects_total",
            "Times the live stream's LISTEN connection was lost and made again (each time, \
             the logs of the stores with clients are read again: nothing is missed).",
        )
        .expect("valid metric");
        // A counter's series that appears with its first increase hides that
        // increase from rate() and increase(), and so from alerts: every
        // label value known in advance starts at 0.
        for reason in STREAM_END_REASONS {
            streams_ended.with_label_values(&[reason]);
        }
        for event in ORDER_EVENTS {
            order_events.with_label_values(&[event]);
        }
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(expiry_failures.clone()),
            Box::new(fold_failures.clone()),
            Box::new(order_events.clone()),
            Box::new(order_money.clone()),
            Box::new(latency.clone()),
            Box::new(pool_in_use.clone()),
            Box::new(pool_idle.clone()),
            Box::new(streams_open.clone()),
            Box::new(streams_ended.clone()),
            Box::new(stream_listener_reconnects.clone()),
        ] {
            registry
                .register(collector)
                .expect("each metric is registered once");
        }
        Self {
            registry,
            requests,
            latency,
            pool_in_use,
            pool_idle,
            order_events,
            order_money,
            expiry_failures,
            fold_failures,
            streams_open,
            streams_ended,
            stream_listener_reconnects,
        }
    }

    /// Counts a live stream the server ended or refused, and why.
    pub fn stream_ended(&self, reason: &str) {
        self.streams_ended.with_label_values(&[reason]).inc();
    }

    pub fn stream_listener_reconnected(&self) {
        self.stream_listener_reconnects.inc();
    }

    /// Counts a store the unpaid-order sweep failed on.
    pub fn expiry_failed(&self) {
        self.expiry_failures.inc();
    }

    /// Counts a store the analytics fold failed on.
    pub fn analytics_fold_failed(&self) {
        self.fold_failures.inc();
    }

    /// Counts a committed order change (`event`), and the money it moved.
    pub fn order_event(&self, event: &str, currency: &str, amount_minor: i64) {
        self.order_events.with_label_values(&[event]).inc();
        if amount_minor > 0 {
            self.order_money
                .with_label_values(&[event, currency])
                .inc_by(amount_minor.unsigned_abs());
        }
    }

    /// Counts one answered request.
    pub fn observe(&self, method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
        let method = bounded_method(method);
        self.requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition, with the pool's current `(open, idle)`
    /// connections and the live streams open.
    pub fn render(&self, (open, idle): (u32, u32), streams: usize) -> String {
        self.streams_open.set(streams as i64);
        self.pool_in_use.set(i64::from(open.saturating_sub(idle)));
        self.pool_idle.set(i64::from(idle));
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .expect("text encoding of valid metrics cannot fail")
    }
}

/// Standard methods by name; anything else as one label value.
fn bounded_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_of_known_labels_start_at_zero() {
        let text = Metrics::new().render((0, 0), 0);
        for line in [
            r#"shopfleet_api_stream_clients_dropped_total{reason="slow"} 0"#,
            r#"shopfleet_api_order_events_total{event="paid"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn requests_are_counted_by_route_template() {
        let metrics = Metrics::new();
        let route = "/v1/stores/{store_id}/products";
        metrics.observe(&Method::GET, route, StatusCode::OK, Duration::from_millis(3));
        metrics.observe(&Method::GET, route, StatusCode::OK, Duration::from_millis(4));
        metrics.observe(
            &Method::from_bytes(b"BREW").unwrap(),
            UNMATCHED_ROUTE,
            StatusCode::NOT_FOUND,
            Duration::ZERO,
        );
        let text = metrics.render((5, 3), 0);
        assert!(
            text.contains(r#"shopfleet_api_http_requests_total{method="GET",route="/v1/stores/{store_id}/products",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"method="other",route="unmatched",status="404"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("shopfleet_api_http_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains("shopfleet_api_db_pool_connections_in_use 2"),
            "{text}"
        );
        assert!(
            text.contains("shopfleet_api_db_pool_connections_idle 3"),
            "{text}"
        );
    }
}
