//! The Helm chart as helm itself sees it: `helm lint --strict` passes with the
//! default values and with every optional one set
//! (`charts/shopfleet/ci/all-features-values.yaml`), and everything
//! `helm template` renders, CRDs included, is accepted by the platform's real
//! kube-apiserver: a server-side dry run, so every object goes through the
//! apiserver's schemas, CEL rules and admission, and nothing is persisted to
//! disturb the other tests that share the control plane (but for the
//! Prometheus Operator's CRDs, installed first for the monitoring objects).
//! Bad values are refused by the chart's `values.schema.json`, naming the
//! value.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use support::{client, namespace, repo_root};

const CHART: &str = "charts/shopfleet";
const ALL_FEATURES: &str = "charts/shopfleet/ci/all-features-values.yaml";

fn helm() -> Command {
    let helm = shopfleet_e2e::helm::ensure().unwrap_or_else(|error| panic!("{error:#}"));
    let mut command = Command::new(helm);
    command.current_dir(repo_root());
    command
}

fn kubectl() -> PathBuf {
    shopfleet_e2e::kube_binaries::ensure()
        .unwrap_or_else(|error| panic!("{error:#}"))
        .path("kubectl")
}

fn succeeded(what: &str, output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The values files of each case: none (the defaults), then every option.
fn cases() -> [(&'static str, Vec<&'static str>); 2] {
    [
        ("the default values", vec![]),
        ("every option set", vec!["--values", ALL_FEATURES]),
    ]
}

#[test]
fn helm_lint_strict_passes_with_the_defaults_and_with_every_option() {
    for (case, values) in cases() {
        let output = helm()
            .args(["lint", "--strict", CHART])
            .args(&values)
            .output()
            .unwrap();
        let report = succeeded(&format!("helm lint --strict with {case}"), output);
        assert!(report.contains("0 chart(s) failed"), "{case}: {report}");
    }
}

#[tokio::test]
async fn what_helm_renders_is_accepted_by_the_apiserver() {
    let client = client().await;
    let home = namespace(&client, "chart").await;
    // Every option set renders the Prometheus Operator's kinds, which the
    // apiserver checks only once it has their CRDs (the real ones, pinned in
    // `shopfleet_e2e::prometheus_operator`; inert without the operator).
    shopfleet_e2e::prometheus_operator::install(&kubectl()).unwrap_or_else(|error| panic!("{error:#}"));
    for (case, values) in cases() {
        let output = helm()
            .args([
                "template",
                "shopfleet",
                CHART,
                "--include-crds",
                "--namespace",
                &home,
            ])
            .args(&values)
            .output()
            .unwrap();
        let manifests = succeeded(&format!("helm template with {case}"), output);
        for kind in [
            "CustomResourceDefinition",
            "Deployment",
            "ServiceAccount",
            "ClusterRole",
            "ValidatingAdmissionPolicy",
        ] {
            assert!(
                manifests.contains(&format!("kind: {kind}\n")),
                "{case}: no {kind} rendered"
            );
        }
        if !values.is_empty() {
            for kind in ["ServiceMonitor", "PodMonitor", "PrometheusRule"] {
                assert!(
                    manifests.contains(&format!("kind: {kind}\n")),
                    "{case}: no {kind} rendered"
                );
            }
            assert!(
                manifests.contains("grafana_dashboard: \"1\""),
                "{case}: no Grafana dashboard rendered"
            );
        }
        let mut apply = Command::new(kubectl())
            .args([
                "apply",
                "--dry-run=server",
                "--server-side",
                "--field-manager=helm",
                "-f",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        apply
            .stdin
            .take()
            .unwrap()
            .write_all(manifests.as_bytes())
            .unwrap();
        let applied = succeeded(
            &format!("kubectl apply --dry-run=server of what helm rendered with {case}"),
            apply.wait_with_output().unwrap(),
        );
        let objects = manifests.matches("\nkind: ").count() + usize::from(manifests.starts_with("kind: "));
        assert_eq!(
            applied
                .lines()
                .filter(|line| line.ends_with("(server dry run)"))
                .count(),
            objects,
            "{case}: every rendered object was accepted:\n{applied}"
        );
    }
}

#[test]
fn bad_values_are_refused_naming_the_value() {
    for (set, named) in [
        (
            "operator.replicas=two",
            "at '/operator/replicas': got string, want integer",
        ),
        (
            "operator.concurrency=0",
            "at '/operator/concurrency': minimum: got 0, want 1",
        ),
        (
            "operator.image.pullPolicy=Sometimes",
            "at '/operator/image/pullPolicy'",
        ),
        (
            "operator.replicaz=2",
            "additional properties 'replicaz' not allowed",
        ),
        (
            "allowedImagePrefix=shopfleet",
            "at '/allowedImagePrefix': 'shopfleet' does not match pattern",
        ),
        ("postgresServers=null", "missing property 'postgresServers'"),
        (
            "monitoring.prometheusRule.alerts.notReadyFor=soon",
            "at '/monitoring/prometheusRule/alerts/notReadyFor': 'soon' does not match pattern",
        ),
        (
            "postgresServers[0].name=Main_DB,postgresServers[0].secret=pg",
            "at '/postgresServers/0/name'",
        ),
    ] {
        let output = helm()
            .args(["template", "shopfleet", CHART, "--set", set])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{set} was accepted");
        assert!(
            stderr.contains(named),
            "{set}: the refusal names the value ({named}):\n{stderr}"
        );
    }
}
