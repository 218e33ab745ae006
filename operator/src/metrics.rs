//! The operator's Prometheus metrics, served on /metrics by [`crate::http`].
//!
//! Every series is named `shopfleet_operator_*` and lives on a registry of
//! its own (not the process-global default), so tests and several `Metrics`
//! never see each other's values. Labels take only small fixed sets of values
//! (controller, kind, phase, result, error category), never an object's name
//! or namespace: those would create a series per Tenant and grow without bound.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Instant;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Reconcile durations range from a no-op (a millisecond) to migrating a
/// tenant's database (tens of seconds).
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

pub struct Metrics {
    registry: Registry,
    series: Series,
    kube_requests: IntCounterVec,
    leader: IntGauge,
    objects: IntGaugeVec,
    /// The phases each kind has reported, so a phase that empties out drops
    /// to 0 instead of keeping its last count.
    phases_seen: Mutex<BTreeMap<&'static str, BTreeSet<&'static str>>>,
}

/// What a [`ReconcileMeasure`] updates; the vectors are cheap shared handles.
#[derive(Clone)]
struct Series {
    reconciles: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("shopfleet_operator".into()), None).expect("a constant, valid prefix");
        let series = Series {
            reconciles: IntCounterVec::new(
                Opts::new(
                    "reconciles_total",
                    "Reconciles finished, by result (success or error).",
                ),
                &["controller", "result"],
            )
            .expect("valid metric"),
            errors: IntCounterVec::new(
                Opts::new("reconcile_errors_total", "Failed reconciles, by error category."),
                &["controller", "category"],
            )
            .expect("valid metric"),
            duration: HistogramVec::new(
                HistogramOpts::new("reconcile_duration_seconds", "How long reconciles take.")
                    .buckets(DURATION_BUCKETS.to_vec()),
                &["controller"],
            )
            .expect("valid metric"),
            in_flight: IntGaugeVec::new(
                Opts::new(
                    "reconciles_in_flight",
                    "Reconciles running now. kube-runtime does not expose its queue: this \
                     staying at the concurrency limit is the sign of a backlog.",
                ),
                &["controller"],
            )
            .expect("valid metric"),
        };
        let objects = IntGaugeVec::new(
            Opts::new("objects", "Objects this operator reconciles, by kind and phase."),
            &["kind", "phase"],
        )
        .expect("valid metric");
        let kube_requests = IntCounterVec::new(
            Opts::new(
                "kube_requests_total",
                "Requests this operator sent to the Kubernetes API, by RBAC verb (get, list, watch, \
                 create, update, patch, delete) and resource (subresources as `tenants/status`).",
            ),
            &["verb", "resource"],
        )
        .expect("valid metric");
        let leader = IntGauge::new("leader", "1 while this replica holds the leader Lease, else 0.")
            .expect("valid metric");

        for collector in [
            Box::new(series.reconciles.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(series.errors.clone()),
            Box::new(series.duration.clone()),
            Box::new(series.in_flight.clone()),
            Box::new(objects.clone()),
            Box::new(kube_requests.clone()),
            Box::new(leader.clone()),
        ] {
            registry.register(collector).expect("each name registered once");
        }
        Self {
            registry,
            series,
            kube_requests,
            leader,
            objects,
            phases_seen: Mutex::default(),
        }
    }

    /// Call when a reconcile starts; counts it in flight until the returned
    /// value is finished (or dropped, when the reconcile is cancelled).
    pub fn reconcile_started(&self, controller: &'static str) -> ReconcileMeasure {
        self.series.in_flight.with_label_values(&[controller]).inc();
        ReconcileMeasure {
            controller,
            started: Instant::now(),
            series: Some(self.series.clone()),
        }
    }

    /// Objects per phase, replaced wholesale each call (e.g. kind "tenant",
    /// `[("Ready", 3), ("Degraded", 1)]`); phases not listed are set to 0.
    pub fn set_phases(&self, kind: &'static str, counts: &[(&'static str, i64)]) {
        let mut seen = self
            .phases_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let phases = seen.entry(kind).or_default();
        for phase in phases.iter() {
            if !counts.iter().any(|(p, _)| p == phase) {
                self.objects.with_label_values(&[kind, phase]).set(0);
            }
        }
        for &(phase, count) in counts {
            self.objects.with_label_values(&[kind, phase]).set(count);
            phases.insert(phase);
        }
    }

    /// Counts one request to the Kubernetes API (see [`kube_verb`] and
    /// [`kube_resource`]).
    pub fn kube_request(&self, verb: &'static str, resource: &'static str) {
        self.kube_requests.with_label_values(&[verb, resource]).inc();
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Every series in Prometheus' text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            // Only invalid metric names or UTF-8 fail, and ours are constants.
            .unwrap_or_else(|error| format!("# cannot encode the metrics: {error}\n"))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The RBAC verb of a request to the Kubernetes API, from its method, path
/// and query: a small fixed set, so it can be a label, and the words of the
/// chart's rules, so the e2e can tell a rule nothing used.
pub fn kube_verb(method: &http::Method, path: &str, query: Option<&str>) -> &'static str {
    let watch = query.is_some_and(|q| q.split('&').any(|pair| pair == "watch=true" || pair == "watch=1"));
    match *method {
        http::Method::GET if watch => "watch",
        http::Method::GET if names_one_object(path) => "get",
        http::Method::GET => "list",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "other",
    }
}

/// The resources the operator works with; any other is counted as "other",
/// so the label stays a small fixed set.
const KUBE_RESOURCES: &[&str] = &[
    "tenants",
    "tenants/status",
    "stores",
    "stores/status",
    "namespaces",
    "secrets",
    "deployments",
    "services",
    "resourcequotas",
    "limitranges",
    "networkpolicies",
    "poddisruptionbudgets",
    "leases",
    "events",
    "rolebindings",
];

/// The segments of a Kubernetes API path after its group and version, the
/// namespace left out: `[resource]`, `[resource, name]` or
/// `[resource, name, subresource]`.
fn resource_segments(path: &str) -> Vec<&str> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..),
        Some(&"apis") => segments.get(3..),
        _ => None,
    }
    .unwrap_or_default();
    match rest {
        // `namespaces/x/secrets…`, but not the namespace `x` itself.
        ["namespaces", _, _, ..] => rest[2..].to_vec(),
        _ => rest.to_vec(),
    }
}

fn names_one_object(path: &str) -> bool {
    resource_segments(path).len() >= 2
}

/// The resource a Kubernetes API path is about, as RBAC names it:
/// `/api/v1/namespaces/x/secrets/y` and `/apis/apps/v1/deployments` give
/// "secrets" and "deployments"; `…/tenants/acme/status` gives "tenants/status".
pub fn kube_resource(path: &str) -> &'static str {
    let resource = match resource_segments(path)[..] {
        [resource, _, subresource, ..] => format!("{resource}/{subresource}"),
        [resource, ..] => resource.to_owned(),
        [] => String::new(),
    };
    KUBE_RESOURCES
        .iter()
        .find(|known| **known == resource)
        .copied()
        .unwrap_or("other")
}

/// One reconcile being measured; see [`Metrics::reconcile_started`].
#[must_use = "a measure counts its reconcile in flight until it is finished"]
pub struct ReconcileMeasure {
    controller: &'static str,
    started: Instant,
    /// Taken by `finish`; still there on drop means the reconcile never finished.
    series: Option<Series>,
}

impl ReconcileMeasure {
    /// `error_category` is None on success, else a small fixed label such as
    /// "database" or "kubernetes".
    pub fn finish(mut self, error_category: Option<&'static str>) {
        let Some(series) = self.series.take() else { return };
        let controller = self.controller;
        series.in_flight.with_label_values(&[controller]).dec();
        series
            .duration
            .with_label_values(&[controller])
            .observe(self.started.elapsed().as_secs_f64());
        let result = match error_category {
            None => "success",
            Some(category) => {
                series.errors.with_label_values(&[controller, category]).inc();
                "error"
            }
        };
        series.reconciles.with_label_values(&[controller, result]).inc();
    }
}

impl Drop for ReconcileMeasure {
    /// A reconcile future dropped mid-way (shutdown, a panic) is no longer in
    /// flight. It neither succeeded nor failed, so it is not counted as either.
    fn drop(&mut self) {
        if let Some(series) = self.series.take() {
            series.in_flight.with_label_values(&[self.controller]).dec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn render_shows_successes_errors_and_durations() {
        let metrics = Metrics::new();
        metrics.reconcile_started("tenant").finish(None);
        metrics.reconcile_started("tenant").finish(Some("database"));
        metrics.reconcile_started("store").finish(None);
        let text = metrics.render();

        for line in [
            r#"shopfleet_operator_reconciles_total{controller="tenant",result="success"} 1"#,
            r#"shopfleet_operator_reconciles_total{controller="tenant",result="error"} 1"#,
            r#"shopfleet_operator_reconciles_total{controller="store",result="success"} 1"#,
            r#"shopfleet_operator_reconcile_errors_total{category="database",controller="tenant"} 1"#,
            r#"shopfleet_operator_reconcile_duration_seconds_count{controller="tenant"} 2"#,
            r#"shopfleet_operator_reconcile_duration_seconds_bucket{controller="tenant",le="30"} 2"#,
            r#"shopfleet_operator_reconciles_in_flight{controller="tenant"} 0"#,
            "shopfleet_operator_leader 0",
            "# TYPE shopfleet_operator_reconcile_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(
            lines_of(&text, "shopfleet_operator_reconcile_errors_total{").len() == 1,
            "{text}"
        );
    }

    #[test]
    fn in_flight_counts_running_reconciles_and_forgets_dropped_ones() {
        let metrics = Metrics::new();
        let first = metrics.reconcile_started("tenant");
        let second = metrics.reconcile_started("tenant");
        let in_flight =
            |n: i64| format!(r#"shopfleet_operator_reconciles_in_flight{{controller="tenant"}} {n}"#);
        assert!(metrics.render().contains(&in_flight(2)));

        first.finish(None);
        drop(second); // cancelled: never finished
        let text = metrics.render();
        assert!(text.contains(&in_flight(0)), "{text}");
        assert!(
            text.contains(r#"shopfleet_operator_reconciles_total{controller="tenant",result="success"} 1"#)
        );
        assert!(
            !text.contains(r#"result="error""#),
            "a cancelled reconcile is no error: {text}"
        );
    }

    #[test]
    fn kube_requests_are_counted_by_verb() {
        let get = http::Method::GET;
        assert_eq!(
            kube_verb(&get, "/api/v1/secrets", Some("labelSelector=a&watch=true")),
            "watch"
        );
        assert_eq!(
            kube_verb(&get, "/api/v1/namespaces/a/secrets", Some("limit=500")),
            "list"
        );
        assert_eq!(kube_verb(&get, "/api/v1/namespaces/a/secrets/b", None), "get");
        assert_eq!(kube_verb(&get, "/api/v1/namespaces/a", None), "get");
        assert_eq!(kube_verb(&get, "/api/v1/namespaces", None), "list");
        assert_eq!(
            kube_verb(
                &http::Method::PATCH,
                "/api/v1/namespaces/a",
                Some("fieldManager=x")
            ),
            "patch"
        );
        assert_eq!(
            kube_verb(&http::Method::POST, "/api/v1/namespaces", None),
            "create"
        );
        assert_eq!(
            kube_resource("/api/v1/namespaces/tenant-a/secrets/a-db"),
            "secrets"
        );
        assert_eq!(kube_resource("/api/v1/namespaces/tenant-a"), "namespaces");
        assert_eq!(kube_resource("/api/v1/namespaces"), "namespaces");
        assert_eq!(
            kube_resource("/apis/shopfleet.io/v1alpha1/tenants/acme/status"),
            "tenants/status"
        );
        assert_eq!(
            kube_resource("/apis/shopfleet.io/v1alpha1/namespaces/t/stores/s/status"),
            "stores/status"
        );
        assert_eq!(
            kube_resource("/apis/rbac.authorization.k8s.io/v1/namespaces/t/rolebindings/o"),
            "rolebindings"
        );
        assert_eq!(
            kube_resource("/apis/coordination.k8s.io/v1/namespaces/s/leases/op"),
            "leases"
        );
        assert_eq!(kube_resource("/apis/apps/v1/deployments"), "deployments");
        assert_eq!(kube_resource("/apis/example.com/v1/widgets"), "other");
        assert_eq!(kube_resource("/version"), "other");
        let metrics = Metrics::new();
        metrics.kube_request("patch", "secrets");
        metrics.kube_request("patch", "secrets");
        let text = metrics.render();
        assert!(
            text.contains(r#"shopfleet_operator_kube_requests_total{resource="secrets",verb="patch"} 2"#),
            "{text}"
        );
    }

    #[test]
    fn phases_are_replaced_wholesale() {
        let metrics = Metrics::new();
        metrics.set_phases("tenant", &[("Ready", 3), ("Degraded", 1)]);
        metrics.set_phases("store", &[("Ready", 5)]);
        metrics.set_phases("tenant", &[("Ready", 4)]);
        let text = metrics.render();
        for line in [
            r#"shopfleet_operator_objects{kind="tenant",phase="Ready"} 4"#,
            r#"shopfleet_operator_objects{kind="tenant",phase="Degraded"} 0"#,
            r#"shopfleet_operator_objects{kind="store",phase="Ready"} 5"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn leader_gauge_follows_leadership() {
        let metrics = Metrics::default();
        metrics.set_leader(true);
        assert!(
            metrics
                .render()
                .lines()
                .any(|l| l == "shopfleet_operator_leader 1")
        );
        metrics.set_leader(false);
        assert!(
            metrics
                .render()
                .lines()
                .any(|l| l == "shopfleet_operator_leader 0")
        );
    }
}
