//! The operator needs no more than the RBAC the Helm chart gives it: run with
//! a ServiceAccount bound to exactly the chart's rules (charts/shopfleet/files/),
//! it provisions a Tenant and a Store, scales the API up and down (a
//! PodDisruptionBudget created, then deleted), records Events, and cleans up.

mod support;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::config::Kubeconfig;
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use shopfleet_operator::crd::{Store, StoreSpec, Tenant, is_true};
use support::{
    WAIT, client, create_ready_tenant, delete_tenants, eventually, install_crds, namespace, repo_root,
    sharded_tenant,
};

fn chart_rules(file: &str) -> Vec<PolicyRule> {
    let path = repo_root().join("charts/shopfleet/files").join(file);
    serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{} holds a list of RBAC rules: {e}", path.display()))
}

/// A ServiceAccount in `namespace` bound to the chart's rules, and a
/// kubeconfig that authenticates as it.
async fn service_account_kubeconfig(client: &Client, namespace: &str, name: &str) -> std::path::PathBuf {
    let apply = PatchParams::apply("shopfleet-e2e").force();
    let subjects = json!([{"kind": "ServiceAccount", "name": name, "namespace": namespace}]);
    Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
        )
        .await
        .unwrap();
    let cluster_role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name}, "rules": chart_rules("operator-cluster-rules.yaml"),
    });
    Api::<ClusterRole>::all(client.clone())
        .patch(name, &apply, &Patch::Apply(&cluster_role))
        .await
        .unwrap();
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": subjects,
    });
    Api::<ClusterRoleBinding>::all(client.clone())
        .patch(name, &apply, &Patch::Apply(&binding))
        .await
        .unwrap();
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": name}, "rules": chart_rules("operator-lease-rules.yaml"),
    });
    Api::<Role>::namespaced(client.clone(), namespace)
        .patch(name, &apply, &Patch::Apply(&role))
        .await
        .unwrap();
    let role_binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": subjects,
    });
    Api::<RoleBinding>::namespaced(client.clone(), namespace)
        .patch(name, &apply, &Patch::Apply(&role_binding))
        .await
        .unwrap();

    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let token = Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;

    // The admin kubeconfig's cluster, with the ServiceAccount's token as the user.
    let admin = Kubeconfig::read_from(std::env::var("KUBECONFIG").unwrap()).unwrap();
    let cluster = admin.clusters[0].cluster.clone().unwrap();
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "operator",
        "clusters": [{"name": "local", "cluster": {
            "server": cluster.server, "certificate-authority-data": cluster.certificate_authority_data,
        }}],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "local", "user": "operator"}}],
    });
    let path = std::env::temp_dir().join(format!("{name}.kubeconfig"));
    std::fs::write(&path, serde_yaml::to_string(&kubeconfig).unwrap()).unwrap();
    path
}

#[tokio::test]
async fn the_operator_works_with_only_the_charts_rbac() {
    let client = client().await;
    install_crds(&client).await;
    let home = namespace(&client, "rbac").await;
    let shard = home.clone();
    let kubeconfig = service_account_kubeconfig(&client, &home, &home).await;
    let _operator = support::start_shard_operator(&home, &[], &[("KUBECONFIG", &kubeconfig)]);

    let tenant = sharded_tenant(&shard);
    let name = tenant.name_any();
    create_ready_tenant(&client, tenant).await;
    let tenant_namespace = format!("tenant-{name}");
    let stores = Api::<Store>::namespaced(client.clone(), &tenant_namespace);
    let spec = StoreSpec {
        display_name: "Least privilege".to_owned(),
        industry: shopfleet_operator::crd::Industry::Hospitality,
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

    // Two replicas get a PodDisruptionBudget; back to one, it is deleted.
    let tenants = Api::<Tenant>::all(client.clone());
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), &tenant_namespace);
    let pdb = format!("{name}-api");
    for (replicas, present) in [(2, true), (1, false)] {
        let patch = json!({"spec": {"api": {"replicas": replicas}}});
        tenants
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        eventually(&format!("the PDB exists: {present}"), WAIT, || async {
            (pdbs.get_opt(&pdb).await.ok()?.is_some() == present).then_some(())
        })
        .await;
    }

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
    delete_tenants(&client, &[name]).await;
    std::fs::remove_file(&kubeconfig).unwrap();
}
