//! The operator needs no more than the RBAC the Helm chart gives it, and that
//! RBAC confines it to the tenant namespaces. Run with a ServiceAccount bound
//! to exactly the chart's rules and admission policy (charts/shopfleet/files/),
//! it provisions a Tenant and a Store, scales the API up and down (a
//! PodDisruptionBudget created, then deleted), records Events, and cleans up;
//! and with that ServiceAccount's own credentials, nobody can read a Secret
//! outside the tenant namespaces, nor write anything outside them.

mod support;

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::serde::Serialize;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};
use shopfleet_operator::crd::{Store, StoreSpec, Tenant, is_true};
use support::{
    WAIT, client, create_ready_tenant, delete_tenants, eventually, install_crds, namespace, repo_root,
    sharded_tenant,
};

/// A file of charts/shopfleet/files/, its placeholders filled in as the
/// chart's templates/rbac.yaml fills them.
fn chart_file<T: DeserializeOwned>(file: &str, names: &Names) -> T {
    let path = repo_root().join("charts/shopfleet/files").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("OPERATOR_CONFINEMENT", &names.confinement)
        .replace("OPERATOR_SERVICE_ACCOUNT", &names.user)
        .replace("OPERATOR_TENANT_ROLE", &names.tenant_role);
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names the chart gives the operator's objects, for a release in `home`.
struct Names {
    home: String,
    operator: String,
    tenant_role: String,
    confinement: String,
    user: String,
}

impl Names {
    fn new(home: &str) -> Self {
        let operator = format!("{home}-operator");
        Self {
            home: home.to_owned(),
            tenant_role: format!("{operator}-tenant"),
            confinement: format!("{operator}-confinement"),
            user: format!("system:serviceaccount:{home}:{operator}"),
            operator,
        }
    }
}

async fn apply<K>(api: &Api<K>, object: Value)
where
    K: kube::Resource + Clone + std::fmt::Debug + DeserializeOwned + Serialize,
{
    let name = object["metadata"]["name"].as_str().unwrap().to_owned();
    api.patch(
        &name,
        &PatchParams::apply("shopfleet-e2e").force(),
        &Patch::Apply(&object),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {name}: {e}"));
}

/// What the chart installs for the operator, in `home` as its release
/// namespace: its ServiceAccount, the three sets of rules, the admission
/// policy, and the PostgreSQL admin Secret (a copy of the platform's).
async fn install_operator_rbac(client: &Client, names: &Names) {
    let home = &names.home;
    let subjects = json!([{"kind": "ServiceAccount", "name": names.operator, "namespace": home}]);
    let rbac = "rbac.authorization.k8s.io";
    let service_account =
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": names.operator}});
    apply(
        &Api::<ServiceAccount>::namespaced(client.clone(), home),
        service_account,
    )
    .await;

    let cluster_roles = Api::<ClusterRole>::all(client.clone());
    let cluster_rules: Vec<PolicyRule> = chart_file("operator-cluster-rules.yaml", names);
    let cluster_role = json!({"apiVersion": format!("{rbac}/v1"), "kind": "ClusterRole",
        "metadata": {"name": names.operator}, "rules": cluster_rules});
    apply(&cluster_roles, cluster_role).await;
    let tenant_rules: Vec<PolicyRule> = chart_file("operator-tenant-rules.yaml", names);
    let tenant_role = json!({"apiVersion": format!("{rbac}/v1"), "kind": "ClusterRole",
        "metadata": {"name": names.tenant_role}, "rules": tenant_rules});
    apply(&cluster_roles, tenant_role).await;
    let binding = json!({"apiVersion": format!("{rbac}/v1"), "kind": "ClusterRoleBinding",
        "metadata": {"name": names.operator},
        "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": names.operator}, "subjects": subjects});
    apply(&Api::<ClusterRoleBinding>::all(client.clone()), binding).await;

    let mut home_rules: Vec<PolicyRule> = chart_file("operator-lease-rules.yaml", names);
    home_rules.push(
        serde_json::from_value(
            json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
            "resourceNames": ["postgres-admin"]}),
        )
        .unwrap(),
    );
    let home_name = format!("{}-home", names.operator);
    let role = json!({"apiVersion": format!("{rbac}/v1"), "kind": "Role",
        "metadata": {"name": home_name}, "rules": home_rules});
    apply(&Api::<Role>::namespaced(client.clone(), home), role).await;
    let role_binding = json!({"apiVersion": format!("{rbac}/v1"), "kind": "RoleBinding",
        "metadata": {"name": home_name},
        "roleRef": {"apiGroup": rbac, "kind": "Role", "name": home_name}, "subjects": subjects});
    apply(
        &Api::<RoleBinding>::namespaced(client.clone(), home),
        role_binding,
    )
    .await;

    let policy: Value = chart_file("operator-confinement-policy.yaml", names);
    apply(&Api::<ValidatingAdmissionPolicy>::all(client.clone()), policy).await;
    let policy_binding = json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": names.confinement},
        "spec": {"policyName": names.confinement, "validationActions": ["Deny"]}});
    apply(
        &Api::<ValidatingAdmissionPolicyBinding>::all(client.clone()),
        policy_binding,
    )
    .await;

    // `shopfleet-local exec` gave the platform's operator this Secret.
    let mut admin = Api::<Secret>::namespaced(client.clone(), "shopfleet-system")
        .get("postgres-admin")
        .await
        .unwrap();
    admin.metadata = kube::api::ObjectMeta {
        name: Some("postgres-admin".to_owned()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), home)
        .create(&PostParams::default(), &admin)
        .await
        .unwrap();
}

/// A kubeconfig that authenticates as the operator's ServiceAccount, and a
/// client that does.
async fn service_account_kubeconfig(client: &Client, names: &Names) -> (std::path::PathBuf, Client) {
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let token = Api::<ServiceAccount>::namespaced(client.clone(), &names.home)
        .create_token_request(&names.operator, &PostParams::default(), &request)
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
    let path = std::env::temp_dir().join(format!("{}.kubeconfig", names.operator));
    std::fs::write(&path, serde_yaml::to_string(&kubeconfig).unwrap()).unwrap();
    let parsed = Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
        .await
        .unwrap();
    (path, Client::try_from(config).unwrap())
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
async fn the_operator_works_with_only_the_charts_rbac_and_writes_only_in_tenant_namespaces() {
    let client = client().await;
    install_crds(&client).await;
    let home = namespace(&client, "rbac").await;
    let names = Names::new(&home);
    install_operator_rbac(&client, &names).await;
    let (kubeconfig, operator_client) = service_account_kubeconfig(&client, &names).await;

    // The policy is in force once the apiserver refuses the ServiceAccount a
    // write its RBAC allows (a Service) outside the tenant namespaces.
    let home_services = Api::<Service>::namespaced(operator_client.clone(), &home);
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
                    Api::<Service>::namespaced(client.clone(), &home)
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

    let server = format!("default={home}/postgres-admin");
    let _operator = support::start_shard_operator(
        &home,
        &["--postgres-server", &server, "--tenant-role", &names.tenant_role],
        &[("KUBECONFIG", &kubeconfig)],
    );
    let tenant = sharded_tenant(&home);
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

    // Without its RoleBinding the operator cannot even read the Tenant's
    // Secrets (a namespace from before the binding existed): it binds itself
    // again first, and the Tenant stays Ready.
    let bindings = Api::<RoleBinding>::namespaced(client.clone(), &tenant_namespace);
    let binding = bindings.get("shopfleet-operator").await.unwrap();
    assert_eq!(binding.role_ref.name, names.tenant_role);
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
    tenants
        .patch(&name, &PatchParams::default(), &Patch::Merge(&replicas))
        .await
        .unwrap();
    // The budget comes after the Secrets in the pipeline.
    eventually(
        "the pipeline gets past the Secrets again (a PDB)",
        WAIT,
        || async { pdbs.get_opt(&pdb).await.ok()?.map(|_| ()) },
    )
    .await;

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

    confined(&client, &operator_client, &names, &tenant_namespace).await;
    delete_tenants(&client, &[name]).await;
    std::fs::remove_file(&kubeconfig).unwrap();
}

/// What the operator's credentials cannot do: read a Secret outside the
/// tenant namespaces, list Secrets, or write anything outside the
/// namespaces it made, even where its RBAC alone would let it.
async fn confined(admin: &Client, operator: &Client, names: &Names, tenant_namespace: &str) {
    let secret: Secret = serde_json::from_value(json!({"metadata": {"name": format!("{}-kept", names.home)},
        "stringData": {"token": "cluster-admin's"}}))
    .unwrap();
    let system_secrets = Api::<Secret>::namespaced(admin.clone(), "kube-system");
    system_secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let secret_name = secret.name_any();
    let (code, _) = refusal(
        "reading a kube-system Secret",
        Api::<Secret>::namespaced(operator.clone(), "kube-system")
            .get(&secret_name)
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
    let foreign = format!("tenant-{}-foreign", names.home);
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": foreign}})).unwrap();
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let (code, message) = refusal(
        "creating a Deployment in a namespace the operator did not make",
        Api::<Deployment>::namespaced(operator.clone(), &foreign)
            .create(&PostParams::default(), &deployment("miner"))
            .await,
    );
    assert_eq!(code, 403);
    assert!(message.contains("only in namespaces it made"), "{message}");

    // Binding its Secret rights to itself elsewhere, or another role in a
    // tenant namespace.
    let binding = |role: &str| -> RoleBinding {
        serde_json::from_value(json!({"metadata": {"name": format!("{}-grab", names.home)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": names.operator, "namespace": names.home}]}))
        .unwrap()
    };
    let (code, message) = refusal(
        "binding the tenant role in kube-system",
        Api::<RoleBinding>::namespaced(operator.clone(), "kube-system")
            .create(&PostParams::default(), &binding(&names.tenant_role))
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

    system_secrets
        .delete(&secret_name, &DeleteParams::default())
        .await
        .unwrap();
    Api::<Namespace>::all(admin.clone())
        .delete(&foreign, &DeleteParams::default())
        .await
        .unwrap();
}
