//! The chart installed for real. `helm install` on a control plane of this
//! test's own (the chart owns cluster-scoped objects, CRDs, ClusterRoles and
//! admission policies, that the shared control plane's tests install their
//! own way), then the operator run from the Deployment helm made, with the
//! token of the chart's ServiceAccount and nothing else:
//! - it provisions a Tenant and a Store, scales the API up and down (a
//!   PodDisruptionBudget created, then deleted), binds itself again in a
//!   tenant namespace, makes deleted children again, records Events (a
//!   broken Tenant's repeated Warnings too), archives the Store and deletes
//!   the Tenant: a permission missing from the chart fails here;
//! - with those credentials nobody can read a Secret outside the tenant
//!   namespaces, nor write anything outside them;
//! - every rule of the chart was used by a request the operator counted
//!   (`shopfleet_operator_kube_requests_total`), or by the apiserver's check
//!   of one: a permission never used fails here too;
//! - `helm upgrade` to a chart whose Tenant CRD has a new optional field
//!   leaves the Tenant Ready, and the field is then accepted;
//! - `helm uninstall` keeps the CRDs.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, Secret, Service, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};
use shopfleet_e2e::control_plane::ControlPlane;
use shopfleet_operator::crd::{DeletionPolicy, Industry, Store, StoreSpec, Tenant, is_true};
use support::{Operator, WAIT, create_ready_tenant, delete_tenants, eventually, repo_root};

const CHART: &str = "charts/shopfleet";
const RELEASE: &str = "shopfleet";
/// The release's namespace: the operator's home.
const HOME: &str = "shopfleet";
const OPERATOR: &str = "shopfleet-operator";
const TENANT_ROLE: &str = "shopfleet-operator-tenant";
/// The optional field the "next" chart version adds to the Tenant CRD.
const NEW_FIELD: &str = "upgradeNote";

/// A control plane for this test alone, and an admin client for it.
struct OwnCluster {
    plane: ControlPlane,
    client: Client,
    _dir: tempfile::TempDir,
}

impl OwnCluster {
    async fn start() -> Self {
        let binaries = shopfleet_e2e::kube_binaries::ensure().unwrap_or_else(|e| panic!("{e:#}"));
        let dir = tempfile::Builder::new()
            .prefix("shopfleet-chart-")
            .tempdir()
            .unwrap();
        let plane = ControlPlane::start(&binaries, dir.path())
            .unwrap_or_else(|e| panic!("starting this test's control plane: {e:#}"));
        let client = client_of(&plane.kubeconfig).await;
        Self {
            plane,
            client,
            _dir: dir,
        }
    }

    /// helm, against this control plane, in the repository's root: its stdout.
    fn helm(&self, args: &[&str]) -> String {
        let helm = shopfleet_e2e::helm::ensure().unwrap_or_else(|error| panic!("{error:#}"));
        let output = Command::new(helm)
            .current_dir(repo_root())
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.plane.kubeconfig)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "helm {} failed ({}):\n{stdout}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }
}

async fn client_of(kubeconfig: &Path) -> Client {
    let parsed = Kubeconfig::read_from(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

/// What the chart needs before it is installed: its namespace and the
/// PostgreSQL admin Secret of its default server (the platform's server).
async fn prepare_home(client: &Client) {
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": HOME}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let admin: Secret = serde_json::from_value(json!({"metadata": {"name": "postgres-admin"},
        "stringData": {"DATABASE_URL": support::database_url()}}))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), HOME)
        .create(&PostParams::default(), &admin)
        .await
        .unwrap();
}

/// A kubeconfig that authenticates as the chart's ServiceAccount, and a
/// client that does.
async fn service_account_kubeconfig(cluster: &OwnCluster, dir: &Path) -> (PathBuf, Client) {
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let token = Api::<ServiceAccount>::namespaced(cluster.client.clone(), HOME)
        .create_token_request(OPERATOR, &PostParams::default(), &request)
        .await
        .unwrap_or_else(|e| panic!("the chart made no ServiceAccount {OPERATOR}: {e}"))
        .status
        .unwrap()
        .token;
    // The admin kubeconfig's cluster, with the ServiceAccount's token as the user.
    let admin = Kubeconfig::read_from(&cluster.plane.kubeconfig).unwrap();
    let server = admin.clusters[0].cluster.clone().unwrap();
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "operator",
        "clusters": [{"name": "local", "cluster": {
            "server": server.server, "certificate-authority-data": server.certificate_authority_data,
        }}],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "local", "user": "operator"}}],
    });
    let path = dir.join("operator.kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&kubeconfig).unwrap()).unwrap();
    let client = client_of(&path).await;
    (path, client)
}

/// Starts the operator as the Deployment helm made would: its container's
/// arguments and environment (the Downward API's fields resolved as the
/// kubelet would), authenticating with `kubeconfig`.
async fn start_operator_of_deployment(client: &Client, kubeconfig: &Path) -> Operator {
    let deployment = Api::<Deployment>::namespaced(client.clone(), HOME)
        .get(OPERATOR)
        .await
        .unwrap_or_else(|e| panic!("the chart made no Deployment {OPERATOR}: {e}"));
    let pod = deployment.spec.template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some(OPERATOR));
    let container = &pod.containers[0];
    assert_eq!(
        container.args.as_deref(),
        Some(&["run".to_owned()][..]),
        "the operator's container runs `run` (the launcher adds it and a local --listen)"
    );
    let mut env: Vec<(String, PathBuf)> = container
        .env
        .iter()
        .flatten()
        .map(|var| {
            let value = match (
                &var.value,
                var.value_from.as_ref().and_then(|from| from.field_ref.as_ref()),
            ) {
                (Some(value), _) => value.clone(),
                (None, Some(field)) if field.field_path == "metadata.name" => format!("{OPERATOR}-e2e"),
                (None, Some(field)) if field.field_path == "metadata.namespace" => HOME.to_owned(),
                _ => panic!(
                    "the operator's env {} has a source this test cannot resolve",
                    var.name
                ),
            };
            (var.name.clone(), PathBuf::from(value))
        })
        .collect();
    env.push(("KUBECONFIG".to_owned(), kubeconfig.to_owned()));
    let env: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (k.as_str(), v.as_path())).collect();
    support::start_operator_with_env("chart", &[], &env)
}

/// The apiserver's refusal of `result`, which must be one: its code and message.
fn refusal<T: std::fmt::Debug>(what: &str, result: kube::Result<T>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.message),
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

fn deployment(name: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "shopfleet/anything"}]}},
        },
    }))
    .unwrap()
}

#[tokio::test]
async fn helm_installs_a_least_privilege_operator_that_works_and_upgrades_its_crds() {
    let cluster = OwnCluster::start().await;
    let client = cluster.client.clone();
    prepare_home(&client).await;
    let installed = cluster.helm(&[
        "install",
        RELEASE,
        CHART,
        "--namespace",
        HOME,
        "--wait",
        "--timeout",
        "2m",
    ]);
    // NOTES.txt: what to do next, the operator's rollout, a Tenant, its API.
    for step in [
        "kubectl -n shopfleet rollout status deployment/shopfleet-operator",
        "default: Secret postgres-admin",
        "kubectl wait tenant/acme --for=condition=Ready",
        "kubectl -n tenant-acme port-forward service/acme-api 8080:80",
        "/app/",
    ] {
        assert!(installed.contains(step), "NOTES.txt lacks {step:?}:\n{installed}");
    }
    let dir = tempfile::tempdir().unwrap();
    let (kubeconfig, operator_client) = service_account_kubeconfig(&cluster, dir.path()).await;

    // The confinement policy is in force once the apiserver refuses the
    // ServiceAccount a write its RBAC allows (a Service) outside the tenant
    // namespaces.
    let home_services = Api::<Service>::namespaced(operator_client.clone(), HOME);
    let probe: Service = serde_json::from_value(json!({"metadata": {"name": "probe"},
        "spec": {"ports": [{"port": 80}]}}))
    .unwrap();
    eventually(
        "the confinement policy refuses the operator's writes",
        WAIT,
        || async {
            match home_services.create(&PostParams::default(), &probe).await {
                Err(kube::Error::Api(status)) if status.message.contains("tenant namespaces") => Some(()),
                Ok(_) => {
                    Api::<Service>::namespaced(client.clone(), HOME)
                        .delete("probe", &DeleteParams::default())
                        .await
                        .unwrap();
                    None
                }
                Err(other) => panic!("creating the probe Service: {other}"),
            }
        },
    )
    .await;

    let operator = start_operator_of_deployment(&client, &kubeconfig).await;
    let name = format!("e2e-{}", shopfleet_e2e::random_token(6).to_lowercase());
    create_ready_tenant(
        &client,
        Tenant::new(&name, support::tenant_spec(DeletionPolicy::Delete)),
    )
    .await;
    let tenant_namespace = format!("tenant-{name}");
    provision_a_store_and_scale(&client, &name, &tenant_namespace).await;
    binds_itself_again(&client, &name, &tenant_namespace).await;
    repairs_deleted_children(&client, &name, &tenant_namespace).await;
    events_recorded(&client, &name).await;
    a_broken_tenant_gets_repeated_warnings(&client).await;
    confined(&client, &operator_client, &tenant_namespace).await;

    upgrade_adds_an_optional_field(&cluster, &name).await;

    let stores = Api::<Store>::namespaced(client.clone(), &tenant_namespace);
    stores.delete("inn", &DeleteParams::default()).await.unwrap();
    eventually("the Store is archived and gone", WAIT, || async {
        stores.get_opt("inn").await.ok()?.is_none().then_some(())
    })
    .await;
    delete_tenants(&client, std::slice::from_ref(&name)).await;
    every_rule_was_used(&client, &operator).await;

    cluster.helm(&["uninstall", RELEASE, "--namespace", HOME, "--wait"]);
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    for crd in ["tenants.shopfleet.io", "stores.shopfleet.io"] {
        assert!(
            crds.get_opt(crd).await.unwrap().is_some(),
            "helm uninstall keeps the CRD {crd} (crds.keep)"
        );
    }
    assert!(
        Api::<ClusterRole>::all(client.clone())
            .get_opt(OPERATOR)
            .await
            .unwrap()
            .is_none(),
        "helm uninstall removes the operator's ClusterRole"
    );
}

/// A Store reaches Ready; two API replicas get a PodDisruptionBudget, and
/// back to one, it is deleted.
async fn provision_a_store_and_scale(client: &Client, name: &str, tenant_namespace: &str) {
    let stores = Api::<Store>::namespaced(client.clone(), tenant_namespace);
    let spec = StoreSpec {
        display_name: "Least privilege".to_owned(),
        industry: Industry::Hospitality,
        currency: "CHF".to_owned(),
        timezone: "Europe/Zurich".to_owned(),
    };
    stores
        .create(&PostParams::default(), &Store::new("inn", spec))
        .await
        .unwrap();
    eventually("the Store is Ready", WAIT, || async {
        let status = stores.get("inn").await.ok()?.status?;
        is_true(&status.conditions, "Ready").then_some(())
    })
    .await;

    let tenants = Api::<Tenant>::all(client.clone());
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), tenant_namespace);
    let pdb = format!("{name}-api");
    for (replicas, present) in [(2, true), (1, false)] {
        let patch = json!({"spec": {"api": {"replicas": replicas}}});
        tenants
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        eventually(&format!("the PDB exists: {present}"), WAIT, || async {
            (pdbs.get_opt(&pdb).await.ok()?.is_some() == present).then_some(())
        })
        .await;
    }
}

/// Without its RoleBinding the operator cannot even read the Tenant's
/// Secrets (a namespace from before the binding existed): it binds itself
/// again first, and gets past the Secrets in its pipeline (to the budget).
async fn binds_itself_again(client: &Client, name: &str, tenant_namespace: &str) {
    let bindings = Api::<RoleBinding>::namespaced(client.clone(), tenant_namespace);
    let binding = bindings.get("shopfleet-operator").await.unwrap();
    assert_eq!(binding.role_ref.name, TENANT_ROLE);
    bindings
        .delete("shopfleet-operator", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the operator's RoleBinding is back", WAIT, || async {
        let again = bindings.get_opt("shopfleet-operator").await.ok()??;
        (again.metadata.uid != binding.metadata.uid).then_some(())
    })
    .await;
    let replicas = json!({"spec": {"api": {"replicas": 2}}});
    Api::<Tenant>::all(client.clone())
        .patch(name, &PatchParams::default(), &Patch::Merge(&replicas))
        .await
        .unwrap();
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), tenant_namespace);
    eventually(
        "the pipeline gets past the Secrets again (a PDB)",
        WAIT,
        || async { pdbs.get_opt(&format!("{name}-api")).await.ok()?.map(|_| ()) },
    )
    .await;
}

/// Children deleted by someone are made again: the operator, missing them
/// from its cache in a namespace that already existed, looks each up first.
async fn repairs_deleted_children(client: &Client, name: &str, tenant_namespace: &str) {
    recreated::<Service>(client, name, tenant_namespace).await;
    recreated::<NetworkPolicy>(client, name, tenant_namespace).await;
    recreated::<ResourceQuota>(client, name, tenant_namespace).await;
    recreated::<LimitRange>(client, name, tenant_namespace).await;
    recreated::<Deployment>(client, name, tenant_namespace).await;
}

async fn recreated<K>(client: &Client, tenant: &str, namespace: &str)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned,
{
    let kind = K::kind(&());
    let api = Api::<K>::namespaced(client.clone(), namespace);
    let selector = format!("shopfleet.io/tenant={tenant}");
    let children = api
        .list(&ListParams::default().labels(&selector))
        .await
        .unwrap()
        .items;
    assert!(!children.is_empty(), "the Tenant has a {kind}");
    for child in children {
        let (name, uid) = (child.name_any(), child.uid());
        api.delete(&name, &DeleteParams::default()).await.unwrap();
        eventually(
            &format!("the operator makes {kind} {name} again"),
            WAIT,
            || async {
                let again = api.get_opt(&name).await.ok()??;
                (again.uid() != uid).then_some(())
            },
        )
        .await;
    }
}

/// A Tenant on a PostgreSQL server the operator does not have fails each
/// reconcile: its Warning repeats, folded into one Event's series.
async fn a_broken_tenant_gets_repeated_warnings(client: &Client) {
    let name = format!("e2e-broken-{}", shopfleet_e2e::random_token(6).to_lowercase());
    let mut spec = support::tenant_spec(DeletionPolicy::Delete);
    spec.database.server = "nowhere".to_owned();
    let tenants = Api::<Tenant>::all(client.clone());
    tenants
        .create(&PostParams::default(), &Tenant::new(&name, spec))
        .await
        .unwrap();
    let events = Api::<Event>::namespaced(client.clone(), "default");
    let fields = format!("regarding.name={name}");
    eventually(
        "the broken Tenant's Warning repeats as a series",
        WAIT,
        || async {
            let list = events.list(&ListParams::default().fields(&fields)).await.ok()?;
            list.items
                .iter()
                .any(|e| e.type_.as_deref() == Some("Warning") && e.series.is_some())
                .then_some(())
        },
    )
    .await;
    delete_tenants(client, &[name]).await;
}

async fn events_recorded(client: &Client, name: &str) {
    let events = Api::<Event>::namespaced(client.clone(), "default");
    let recorded = events
        .list(&ListParams::default().fields(&format!("regarding.name={name}")))
        .await
        .unwrap();
    assert!(
        recorded
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("Ready")),
        "the operator records Events: {:?}",
        recorded.items.iter().map(|e| &e.reason).collect::<Vec<_>>()
    );
}

/// What the operator's credentials cannot do: read a Secret outside the
/// tenant namespaces, list Secrets, or write anything outside the
/// namespaces it made, even where its RBAC alone would let it.
async fn confined(admin: &Client, operator: &Client, tenant_namespace: &str) {
    let secret: Secret = serde_json::from_value(json!({"metadata": {"name": "kept"},
        "stringData": {"token": "cluster-admin's"}}))
    .unwrap();
    Api::<Secret>::namespaced(admin.clone(), "kube-system")
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let (code, _) = refusal(
        "reading a kube-system Secret",
        Api::<Secret>::namespaced(operator.clone(), "kube-system")
            .get("kept")
            .await,
    );
    assert_eq!(code, 403);
    let (code, _) = refusal(
        "listing Secrets cluster-wide",
        Api::<Secret>::all(operator.clone())
            .list(&ListParams::default())
            .await,
    );
    assert_eq!(code, 403);
    // The tenant's Secrets, it reads (it reconciled them).
    let tenant_secrets = Api::<Secret>::namespaced(operator.clone(), tenant_namespace);
    assert!(
        tenant_secrets
            .get(&format!("{}-jwt", tenant_namespace.trim_start_matches("tenant-")))
            .await
            .is_ok()
    );

    let (code, message) = refusal(
        "creating a Deployment in default",
        Api::<Deployment>::namespaced(operator.clone(), "default")
            .create(&PostParams::default(), &deployment("miner"))
            .await,
    );
    assert_eq!(code, 403);
    assert!(
        message.contains("writes only in tenant namespaces (tenant-*)"),
        "{message}"
    );

    // A namespace named like a tenant's that the operator did not make.
    let foreign = "tenant-foreign";
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": foreign}})).unwrap();
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let (code, message) = refusal(
        "creating a Deployment in a namespace the operator did not make",
        Api::<Deployment>::namespaced(operator.clone(), foreign)
            .create(&PostParams::default(), &deployment("miner"))
            .await,
    );
    assert_eq!(code, 403);
    assert!(message.contains("only in namespaces it made"), "{message}");

    // Binding its Secret rights to itself elsewhere, or another role in a
    // tenant namespace.
    let binding = |role: &str| -> RoleBinding {
        serde_json::from_value(json!({"metadata": {"name": "grab"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": HOME}]}))
        .unwrap()
    };
    let (code, message) = refusal(
        "binding the tenant role in kube-system",
        Api::<RoleBinding>::namespaced(operator.clone(), "kube-system")
            .create(&PostParams::default(), &binding(TENANT_ROLE))
            .await,
    );
    assert_eq!(code, 403);
    assert!(message.contains("tenant namespaces"), "{message}");
    let (code, message) = refusal(
        "binding another role in its tenant namespace",
        Api::<RoleBinding>::namespaced(operator.clone(), tenant_namespace)
            .create(&PostParams::default(), &binding("edit"))
            .await,
    );
    assert_eq!(code, 403, "{message}");
}

/// The chart as its next version might be: the same, with version
/// `0.0.0-next` and a new optional field in the Tenant CRD's spec.
fn next_chart(dir: &Path) -> PathBuf {
    let chart = dir.join("shopfleet");
    copy_dir(&repo_root().join(CHART), &chart);
    let chart_yaml = chart.join("Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).unwrap();
    let version = text
        .lines()
        .find(|line| line.starts_with("version:"))
        .expect("Chart.yaml has a version");
    std::fs::write(&chart_yaml, text.replace(version, "version: 0.0.0-next")).unwrap();
    let crd_path = chart.join("files/crds/tenants.shopfleet.io.yaml");
    let mut crd: Value = serde_yaml::from_str(&std::fs::read_to_string(&crd_path).unwrap()).unwrap();
    for version in crd["spec"]["versions"].as_array_mut().unwrap() {
        version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][NEW_FIELD] =
            json!({"type": "string", "description": "Added by the next chart version (e2e)."});
    }
    std::fs::write(&crd_path, serde_yaml::to_string(&crd).unwrap()).unwrap();
    chart
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Before the upgrade the apiserver refuses the new field (strict field
/// validation); `helm upgrade` upgrades the CRD, so after it the field is
/// accepted and kept, and the Tenant, reconciled again by the operator of
/// the previous version, stays Ready at its new generation.
async fn upgrade_adds_an_optional_field(cluster: &OwnCluster, name: &str) {
    let tenants = Api::<Tenant>::all(cluster.client.clone());
    let with_field = json!({"spec": {NEW_FIELD: "hello"}});
    let strict = PatchParams::default().validation_strict();
    let refused = tenants
        .patch(name, &strict, &Patch::Merge(&with_field))
        .await
        .expect_err("the previous chart's CRD has no such field");
    assert!(refused.to_string().contains(NEW_FIELD), "{refused}");

    let dir = tempfile::tempdir().unwrap();
    let next = next_chart(dir.path());
    cluster.helm(&[
        "upgrade",
        RELEASE,
        next.to_str().unwrap(),
        "--namespace",
        HOME,
        "--wait",
        "--timeout",
        "2m",
    ]);
    let crds = Api::<CustomResourceDefinition>::all(cluster.client.clone());
    eventually("the upgraded CRD is served", WAIT, || async {
        let crd = crds.get("tenants.shopfleet.io").await.ok()?;
        let established = crd
            .status?
            .conditions?
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        let has_field = serde_json::to_string(&crd.spec).ok()?.contains(NEW_FIELD);
        (established && has_field).then_some(())
    })
    .await;
    let patched = eventually("the apiserver accepts the new field", WAIT, || async {
        tenants
            .patch(name, &strict, &Patch::Merge(&with_field))
            .await
            .ok()
    })
    .await;
    let generation = patched.metadata.generation;
    let kept: Value = serde_json::to_value(
        Api::<kube::api::DynamicObject>::all_with(
            cluster.client.clone(),
            &kube::api::ApiResource::erase::<Tenant>(&()),
        )
        .get(name)
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        kept["spec"][NEW_FIELD], "hello",
        "the new field is kept, not pruned"
    );
    eventually("the Tenant is Ready at its new generation", WAIT, || async {
        let tenant = tenants.get(name).await.ok()?;
        let status = tenant.status?;
        (status.observed_generation == generation && is_true(&status.conditions, "Ready")).then_some(())
    })
    .await;
}

/// Every rule of the chart's ClusterRoles and Role grants something the
/// operator used. A rule is used by a request the operator counted with its
/// verb and resource, or by the check the apiserver makes of one:
/// - `create`: a server-side apply (a patch) creates what does not exist,
///   and is authorized as a create then;
/// - `bind` on the tenant ClusterRole: RBAC's escalation check when the
///   operator applies its RoleBinding;
/// - `update` on `<owner>/finalizers`: OwnerReferencesPermissionEnforcement
///   (on in this control plane) when the operator applies a child whose
///   owner reference blocks the owner's deletion.
async fn every_rule_was_used(client: &Client, operator: &Operator) {
    let (_, metrics) = support::http_get(operator.port, "/metrics").expect("the operator answers /metrics");
    let requests: BTreeSet<(String, String)> = shopfleet_e2e::operator::kube_requests(&metrics)
        .into_keys()
        .collect();
    assert!(
        !requests.is_empty(),
        "the operator counted no request:\n{metrics}"
    );
    let applied = |resource: &str| requests.contains(&("patch".to_owned(), resource.to_owned()));
    let any_child_applied = ["namespaces", "deployments", "services", "secrets"]
        .into_iter()
        .any(applied);

    let mut rules: Vec<(String, PolicyRule)> = Vec::new();
    for role in [OPERATOR, TENANT_ROLE] {
        let cluster_role = Api::<ClusterRole>::all(client.clone()).get(role).await.unwrap();
        rules.extend(
            cluster_role
                .rules
                .into_iter()
                .flatten()
                .map(|r| (role.to_owned(), r)),
        );
    }
    let home = Api::<Role>::namespaced(client.clone(), HOME)
        .get(&format!("{OPERATOR}-home"))
        .await
        .unwrap();
    rules.extend(
        home.rules
            .into_iter()
            .flatten()
            .map(|r| (format!("{OPERATOR}-home"), r)),
    );

    let mut unused = Vec::new();
    for (role, rule) in &rules {
        for resource in rule.resources.iter().flatten() {
            for verb in &rule.verbs {
                let used = requests.contains(&(verb.clone(), resource.clone()))
                    || match (verb.as_str(), resource.as_str()) {
                        ("create", resource) => applied(resource),
                        ("bind", "clusterroles") => applied("rolebindings"),
                        ("update", finalizers) if finalizers.ends_with("/finalizers") => any_child_applied,
                        _ => false,
                    };
                if !used {
                    unused.push(format!("{role}: {verb} {resource}"));
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "rules of the chart nothing used (remove them, or exercise them here):\n{}\n\
         requests counted: {requests:?}",
        unused.join("\n")
    );
}
