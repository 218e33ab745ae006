//! The chart's monitoring, checked with the real tools (Debian's Prometheus
//! and promtool): the PrometheusRule helm renders passes `promtool check
//! rules` and the unit tests of `e2e/monitoring/alerts.test.yaml`, which must
//! make every alert both fire and stay silent; every alert says how bad it is
//! and links to its section of `docs/runbooks.md`. Then, live: an operator
//! and a tenant API pass `promtool check metrics`, a Prometheus server
//! scrapes both with the rendered rules loaded, every Grafana panel's query
//! is accepted by it and names only metrics the scrapes have, and a broken
//! Tenant's alert goes from pending to firing.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use kube::api::{Api, PostParams};
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use shopfleet_e2e::prometheus::{Prometheus, promtool};
use shopfleet_operator::crd::Tenant;
use support::{
    ServedTenant, WAIT, client, create_ready_tenant, delete_tenants, eventually, eventually_every, http_get,
    install_crds, namespace, repo_root, sharded_tenant, start_shard_operator,
};

const CHART: &str = "charts/shopfleet";
const UNIT_TESTS: &str = "e2e/monitoring/alerts.test.yaml";
const DASHBOARD: &str = "charts/shopfleet/files/dashboard.json";
const RUNBOOKS: &str = "docs/runbooks.md";
/// The operator's job, as the ServiceMonitor of release `shopfleet` names it.
const OPERATOR_JOB: &str = "shopfleet-operator-metrics";
/// `helm template` of the PrometheusRule alone, for release `shopfleet`.
const RENDER: [&str; 4] = [
    "template",
    "shopfleet",
    CHART,
    "--show-only=templates/prometheus-rule.yaml",
];

/// The rule groups of the PrometheusRule helm renders with the default
/// values and `sets`, as a Prometheus rules file.
fn rendered_rules(sets: &[&str]) -> String {
    let helm = shopfleet_e2e::helm::ensure().unwrap_or_else(|error| panic!("{error:#}"));
    let mut command = Command::new(helm);
    command
        .current_dir(repo_root())
        .args(RENDER)
        .args(["--set", "monitoring.prometheusRule.enabled=true"]);
    for set in sets {
        command.args(["--set", set]);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "helm template of the PrometheusRule failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rule: Yaml = serde_yaml::from_slice(&output.stdout).unwrap();
    assert_eq!(rule["kind"], "PrometheusRule");
    serde_yaml::to_string(&rule["spec"]).unwrap()
}

/// Every rule of a rules file, each group's in order.
fn rules_of(rules: &str) -> Vec<Yaml> {
    let rules: Yaml = serde_yaml::from_str(rules).unwrap();
    rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|group| group["rules"].as_sequence().unwrap().clone())
        .collect()
}

fn alert_names(rules: &str) -> Vec<String> {
    rules_of(rules)
        .iter()
        .filter_map(|rule| rule["alert"].as_str().map(str::to_owned))
        .collect()
}

/// Every `shopfleet_*` metric name in `text`.
fn shopfleet_metrics(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("shopfleet_"))
        .map(str::to_owned)
        .collect()
}

/// True when the exposition has a sample of `name` (`name{...} v` or `name v`).
fn exposes(exposition: &str, name: &str) -> bool {
    exposition
        .lines()
        .filter_map(|line| line.strip_prefix(name))
        .any(|rest| rest.starts_with('{') || rest.starts_with(' '))
}

#[test]
fn the_rules_pass_promtool_and_their_unit_tests_make_every_alert_fire_and_stay_silent() {
    let rules = rendered_rules(&[]);
    let alerts = alert_names(&rules);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yaml"), &rules).unwrap();
    let checked = promtool(dir.path(), &["check", "rules", "rules.yaml"], "")
        .unwrap_or_else(|error| panic!("{error:#}"));
    assert!(
        checked.contains(&format!("SUCCESS: {} rules found", alerts.len())),
        "{checked}"
    );

    let unit_tests = std::fs::read_to_string(repo_root().join(UNIT_TESTS)).unwrap();
    std::fs::write(dir.path().join("alerts.test.yaml"), &unit_tests).unwrap();
    promtool(dir.path(), &["test", "rules", "alerts.test.yaml"], "")
        .unwrap_or_else(|error| panic!("the alerts' unit tests ({UNIT_TESTS}) failed: {error:#}"));

    // A case of an alert that does not exist passes vacuously; an alert
    // without a case of each kind is not tested.
    let unit_tests: Yaml = serde_yaml::from_str(&unit_tests).unwrap();
    let cases: Vec<(&str, bool)> = unit_tests["tests"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|test| test["alert_rule_test"].as_sequence().unwrap())
        .map(|case| {
            let fires = case["exp_alerts"].as_sequence().is_some_and(|a| !a.is_empty());
            (case["alertname"].as_str().unwrap(), fires)
        })
        .collect();
    for (name, _) in &cases {
        assert!(
            alerts.iter().any(|alert| alert == name),
            "{UNIT_TESTS} tests {name}, which is no alert of the chart"
        );
    }
    let mut untested = Vec::new();
    for alert in &alerts {
        for (fires, kind) in [(true, "fires"), (false, "stays silent")] {
            if !cases.contains(&(alert.as_str(), fires)) {
                untested.push(format!("{alert} has no case where it {kind}"));
            }
        }
    }
    assert!(untested.is_empty(), "{UNIT_TESTS}:\n{}", untested.join("\n"));
}

#[test]
fn every_alert_says_how_bad_it_is_and_links_to_its_runbook() {
    let runbooks = std::fs::read_to_string(repo_root().join(RUNBOOKS)).unwrap();
    let sections: BTreeSet<String> = runbooks
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .map(|heading| {
            heading
                .trim()
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let rules = rendered_rules(&["monitoring.prometheusRule.runbookUrl=https://docs.example/runbooks"]);
    for rule in rules_of(&rules) {
        let alert = rule["alert"].as_str().unwrap();
        let severity = rule["labels"]["severity"].as_str();
        assert!(
            matches!(severity, Some("critical" | "warning")),
            "{alert}: severity {severity:?}"
        );
        for annotation in ["summary", "description"] {
            assert!(
                rule["annotations"][annotation]
                    .as_str()
                    .is_some_and(|text| !text.trim().is_empty()),
                "{alert} has no {annotation}"
            );
        }
        let url = rule["annotations"]["runbook_url"].as_str().unwrap_or_default();
        let anchor = url
            .strip_prefix("https://docs.example/runbooks#")
            .unwrap_or_else(|| {
                panic!("{alert}: runbook_url {url:?} is not the runbooks' address and an anchor")
            });
        assert_eq!(anchor, alert.to_lowercase(), "{alert}: its own section");
        assert!(sections.contains(anchor), "{RUNBOOKS} has no section {alert}");
    }
}

#[tokio::test]
async fn a_real_prometheus_scrapes_the_operator_and_an_api_and_a_broken_tenant_fires() {
    shopfleet_e2e::prometheus::ensure().unwrap_or_else(|error| panic!("{error:#}"));
    let client = client().await;
    install_crds(&client).await;
    let home = namespace(&client, "monitoring").await;
    let operator = start_shard_operator(&home, &[], &[]);
    let tenant = sharded_tenant(&home);
    let name = tenant.metadata.name.clone().unwrap();
    let tenant_namespace = create_ready_tenant(&client, tenant).await.namespace.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let launch = shopfleet_e2e::tenant_api::ApiLaunch::from_deployment(
        || Command::new("kubectl"),
        &tenant_namespace,
        &format!("{name}-api"),
        &dir.path().join("api"),
    )
    .unwrap_or_else(|error| panic!("reading how the operator runs the API: {error:#}"));
    let api = ServedTenant::start_api(&launch);

    // Both expose metrics promtool finds nothing wrong with.
    let scrape = |component: &str, port: u16| {
        let (status, exposition) =
            http_get(port, "/metrics").unwrap_or_else(|| panic!("the {component}'s /metrics answers"));
        assert_eq!(status, 200, "{component}: {exposition}");
        promtool(dir.path(), &["check", "metrics"], &exposition)
            .unwrap_or_else(|error| panic!("the {component}'s metrics: {error:#}"));
        exposition
    };
    scrape("operator", operator.port);
    scrape("API", api.metrics_port);

    // Prometheus scrapes both every second, with the rules rendered to fire
    // 5 s after a Tenant stops being Ready. The API's target gets the
    // namespace label the PodMonitor would give it.
    let prometheus_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&prometheus_dir).unwrap();
    let rules = rendered_rules(&["monitoring.prometheusRule.alerts.notReadyFor=5s"]);
    std::fs::write(prometheus_dir.join("rules.yaml"), &rules).unwrap();
    let config = format!(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
         rule_files: [rules.yaml]\n\
         scrape_configs:\n\
         \x20 - job_name: {OPERATOR_JOB}\n\
         \x20   static_configs: [{{targets: ['127.0.0.1:{}']}}]\n\
         \x20 - job_name: tenant-apis\n\
         \x20   static_configs: [{{targets: ['127.0.0.1:{}'], labels: {{namespace: {tenant_namespace}}}}}]\n",
        operator.port, api.metrics_port
    );
    let prometheus = Prometheus::start(&prometheus_dir, &config)
        .unwrap_or_else(|error| panic!("starting Prometheus: {error:#}"));
    for series in [
        "shopfleet_operator_reconciles_total",
        "shopfleet_api_http_request_duration_seconds_bucket",
    ] {
        eventually(&format!("Prometheus has {series}"), WAIT, || async {
            let data = prometheus
                .query(series)
                .unwrap_or_else(|error| panic!("{error:#}"));
            data["result"]
                .as_array()
                .is_some_and(|result| !result.is_empty())
                .then_some(())
        })
        .await;
    }

    // The Ready Tenant is reported, and no Tenant is said not to be.
    let ready_tenants =
        format!(r#"shopfleet_operator_objects{{job="{OPERATOR_JOB}",kind="tenant",phase="Ready"}} == 1"#);
    eventually(
        "Prometheus sees the Ready Tenant, and no Tenant alert",
        WAIT,
        || async {
            let ready = prometheus.query(&ready_tenants).unwrap()["result"]
                .as_array()
                .is_some_and(|result| result.len() == 1);
            let quiet = prometheus
                .alerts()
                .unwrap()
                .iter()
                .all(|alert| alert["labels"]["alertname"] != "ShopfleetTenantNotReady");
            (ready && quiet).then_some(())
        },
    )
    .await;

    // A Tenant on a PostgreSQL server the operator does not have is never Ready.
    let mut broken = sharded_tenant(&home);
    broken.spec.database.server = "nowhere".to_owned();
    let broken_name = broken.metadata.name.clone().unwrap();
    Api::<Tenant>::all(client.clone())
        .create(&PostParams::default(), &broken)
        .await
        .unwrap();
    let not_ready = |state: &'static str| {
        let prometheus = &prometheus;
        move || async move {
            prometheus.alerts().unwrap().into_iter().find(|alert| {
                alert["labels"]["alertname"] == "ShopfleetTenantNotReady" && alert["state"] == state
            })
        }
    };
    // Pending lasts the rule's 5 s: poll well within it.
    let pending = eventually_every(
        "the not-Ready alert is pending",
        WAIT,
        Duration::from_millis(100),
        not_ready("pending"),
    )
    .await;
    assert_eq!(pending["labels"]["phase"], "Degraded", "{pending}");
    let firing = eventually("the not-Ready alert fires", WAIT, not_ready("firing")).await;
    assert_eq!(firing["labels"]["phase"], "Degraded", "{firing}");
    assert_eq!(firing["labels"]["severity"], "warning", "{firing}");
    assert_eq!(
        firing["activeAt"], pending["activeAt"],
        "the same alert, pending then firing"
    );
    let alerts = prometheus.alerts().unwrap();
    let about_the_operator: Vec<&Json> = alerts
        .iter()
        .filter(|alert| {
            matches!(
                alert["labels"]["alertname"].as_str(),
                Some("ShopfleetOperatorDown" | "ShopfleetOperatorNoLeader")
            )
        })
        .collect();
    assert!(
        about_the_operator.is_empty(),
        "the operator is up and leads: {about_the_operator:?}"
    );

    // Now that the broken Tenant has failed reconciles too, every metric the
    // alerts and the dashboard name is in the scrapes.
    let expositions = format!(
        "{}{}",
        scrape("operator", operator.port),
        scrape("API", api.metrics_port)
    );
    for name in shopfleet_metrics(&rules) {
        assert!(
            exposes(&expositions, &name),
            "the alerts name {name}, which no scrape has"
        );
    }
    check_dashboard(&prometheus, &expositions);

    drop(api);
    drop(prometheus);
    delete_tenants(&client, &[name, broken_name]).await;
    drop(operator);
}

/// Every panel's queries are accepted by Prometheus (with the dashboard's
/// variables as Grafana would fill them in) and name only metrics in
/// `expositions`.
fn check_dashboard(prometheus: &Prometheus, expositions: &str) {
    let dashboard: Json =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join(DASHBOARD)).unwrap()).unwrap();
    // "All" of each variable, and Grafana's own rate interval.
    let mut variables: Vec<(String, String)> = vec![("$__rate_interval".to_owned(), "1m".to_owned())];
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(all) = variable["allValue"].as_str() {
            variables.push((format!("${}", variable["name"].as_str().unwrap()), all.to_owned()));
        }
    }
    let mut panels: Vec<&Json> = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        panels.push(panel);
        panels.extend(panel["panels"].as_array().into_iter().flatten());
    }
    let mut queries = 0;
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("untitled");
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("panel {title:?}: a target without expr"));
            let mut query = expr.to_owned();
            for (variable, value) in &variables {
                query = query.replace(variable, value);
            }
            assert!(
                !query.contains('$'),
                "panel {title:?}: a variable the dashboard does not define in {expr}"
            );
            if let Err(error) = prometheus.query(&query) {
                panic!("panel {title:?}: Prometheus refuses its query: {error:#}");
            }
            for name in shopfleet_metrics(expr) {
                assert!(
                    exposes(expositions, &name),
                    "panel {title:?} names {name}, which no scrape has"
                );
            }
            queries += 1;
        }
    }
    assert!(queries > 10, "the dashboard has only {queries} queries");
}
