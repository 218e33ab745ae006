//! The operator turns a Tenant into a namespace, a database with two roles, the
//! Secrets its API needs and the API Deployment, repairs drift, and cleans up
//! according to the deletion policy. Real apiserver, real PostgreSQL.

mod support;

use std::str::FromStr;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use shopfleet_operator::crd::{DeletionPolicy, Tenant, is_true};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use support::{WAIT, client, database_url, eventually, ready_tenant, secret_value, shared_operator};

async fn database_exists(name: &str) -> bool {
    let mut admin = PgConnection::connect(&database_url()).await.unwrap();
    sqlx::query_scalar("select exists (select from pg_database where datname = $1)")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .unwrap()
}

/// SQLSTATE 42501, PostgreSQL's "permission denied".
const INSUFFICIENT_PRIVILEGE: &str = "42501";

/// The SQLSTATE of a database error; None for any other error (I/O, TLS, ...).
fn sqlstate(error: &sqlx::Error) -> Option<String> {
    error.as_database_error()?.code().map(|code| code.into_owned())
}

#[tokio::test]
async fn a_tenant_gets_a_migrated_database_that_its_runtime_role_cannot_escape() {
    shared_operator().await;
    let client = client().await;
    let (name, status) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let (_, other) = ready_tenant(&client, DeletionPolicy::Delete).await;

    let namespace = status.namespace.clone().unwrap();
    assert_eq!(namespace, format!("tenant-{name}"));
    for condition in ["NamespaceReady", "DatabaseReady", "CredentialsReady", "ApiReady"] {
        assert!(
            is_true(&status.conditions, condition),
            "{condition} in {:?}",
            status.conditions
        );
    }
    let db = status.database.unwrap();
    let latest = shopfleet_operator::postgres::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max();
    assert_eq!(db.schema_version, latest);

    // The API's credentials connect and see the migrated schema.
    let url = secret_value(&client, &namespace, &format!("{name}-db"), "DATABASE_URL").await;
    let mut app = PgConnection::connect(&url)
        .await
        .expect("the runtime role logs in");
    let stores: i64 = sqlx::query_scalar("select count(*) from stores")
        .fetch_one(&mut app)
        .await
        .unwrap();
    assert_eq!(stores, 0);
    let (user, bypass): (String, bool) =
        sqlx::query_as("select current_user::text, rolbypassrls from pg_roles where rolname = current_user")
            .fetch_one(&mut app)
            .await
            .unwrap();
    assert_eq!(user, db.runtime_role);
    assert!(!bypass, "the runtime role must not bypass row-level security");
    let ddl = sqlx::query("create table sneaky (id int)")
        .execute(&mut app)
        .await
        .expect_err("the runtime role cannot change the schema");
    assert_eq!(
        sqlstate(&ddl).as_deref(),
        Some(INSUFFICIENT_PRIVILEGE),
        "create table must be refused for lack of privilege, not fail otherwise: {ddl}"
    );

    // ...and cannot reach the other tenant's database, nor the server's
    // maintenance database.
    for database in [other.database.unwrap().name, "postgres".to_owned()] {
        let options = PgConnectOptions::from_str(&url).unwrap().database(&database);
        let error = PgConnection::connect_with(&options)
            .await
            .expect_err("only the tenant's own database is open to it");
        assert_eq!(
            sqlstate(&error).as_deref(),
            Some(INSUFFICIENT_PRIVILEGE),
            "connecting to {database} must be refused for lack of privilege, not fail otherwise: {error}"
        );
    }

    // The API Deployment runs as non-root with a read-only root filesystem.
    let deployment = Api::<Deployment>::namespaced(client.clone(), &namespace)
        .get(&format!("{name}-api"))
        .await
        .unwrap();
    let container = &deployment.spec.template.spec.unwrap().containers[0];
    let security = container.security_context.as_ref().unwrap();
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.read_only_root_filesystem, Some(true));
}

#[tokio::test]
async fn deleted_or_edited_children_are_repaired() {
    shared_operator().await;
    let client = client().await;
    let (name, status) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let namespace = status.namespace.unwrap();
    let deployments = Api::<Deployment>::namespaced(client.clone(), &namespace);
    let api_name = format!("{name}-api");
    let original = deployments.get(&api_name).await.unwrap();
    deployments
        .delete(&api_name, &DeleteParams::default())
        .await
        .unwrap();
    eventually("the deleted Deployment is recreated", WAIT, || async {
        let d = deployments.get(&api_name).await.ok()?;
        (d.metadata.uid != original.metadata.uid).then_some(())
    })
    .await;

    let secrets = Api::<Secret>::namespaced(client.clone(), &namespace);
    let db_secret = format!("{name}-db");
    let url = secret_value(&client, &namespace, &db_secret, "DATABASE_URL").await;
    let tampered = serde_json::json!({"data": {"DATABASE_URL": "cG9zdGdyZXM6Ly9ldmls"}});
    secrets
        .patch(
            &db_secret,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&tampered),
        )
        .await
        .unwrap();
    eventually("the edited Secret is restored", WAIT, || async {
        let restored = secret_value(&client, &namespace, &db_secret, "DATABASE_URL").await;
        (restored == url).then_some(())
    })
    .await;
}

/// Scaled down to one replica, the API's PodDisruptionBudget is no longer
/// desired and goes; a budget carrying the tenant's labels that the Tenant
/// does not control (someone else's) stays.
#[tokio::test]
async fn a_child_no_longer_desired_is_deleted_and_only_if_the_tenant_controls_it() {
    shared_operator().await;
    let client = client().await;
    let (name, status) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let namespace = status.namespace.unwrap();
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), &namespace);
    let foreign: PodDisruptionBudget = serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": "kept",
            "labels": shopfleet_operator::names::labels(&name),
        },
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "other"}}},
    }))
    .unwrap();
    pdbs.create(&PostParams::default(), &foreign).await.unwrap();

    let tenants = Api::<Tenant>::all(client.clone());
    let api_pdb = format!("{name}-api");
    for (replicas, present) in [(2, true), (1, false)] {
        let patch = serde_json::json!({"spec": {"api": {"replicas": replicas}}});
        tenants
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        eventually(
            &format!("with {replicas} replicas, the API's PDB exists: {present}"),
            WAIT,
            || async { (pdbs.get_opt(&api_pdb).await.ok()?.is_some() == present).then_some(()) },
        )
        .await;
    }
    // The reconcile that deleted the API's budget saw this one too.
    assert!(
        pdbs.get_opt("kept").await.unwrap().is_some(),
        "a budget the Tenant does not control is left alone"
    );
}

#[tokio::test]
async fn deletion_drops_or_keeps_the_database_as_the_policy_says() {
    shared_operator().await;
    let client = client().await;
    let tenants = Api::<Tenant>::all(client.clone());
    let (dropped, dropped_status) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let (kept, kept_status) = ready_tenant(&client, DeletionPolicy::Retain).await;
    let dropped_db = dropped_status.database.unwrap().name;
    let kept_db = kept_status.database.unwrap().name;

    for name in [&dropped, &kept] {
        tenants.delete(name, &DeleteParams::foreground()).await.unwrap();
    }
    for name in [&dropped, &kept] {
        eventually(&format!("Tenant {name} is gone"), WAIT, || async {
            tenants.get_opt(name).await.unwrap().is_none().then_some(())
        })
        .await;
    }
    assert!(!database_exists(&dropped_db).await, "Delete drops the database");
    assert!(database_exists(&kept_db).await, "Retain keeps the database");

    // The namespace goes with the Tenant (owner references).
    let namespaces = Api::<Namespace>::all(client.clone());
    eventually(
        "the tenant's namespace is deleted or terminating",
        WAIT,
        || async {
            match namespaces.get_opt(&format!("tenant-{dropped}")).await.unwrap() {
                None => Some(()),
                Some(ns) => ns.metadata.deletion_timestamp.map(|_| ()),
            }
        },
    )
    .await;
}

/// The reason and message of `condition` on Tenant `name`, once its reason
/// is `reason`.
async fn condition_reaching(client: &kube::Client, name: &str, condition: &str, reason: &str) -> String {
    let tenants = Api::<Tenant>::all(client.clone());
    eventually(&format!("{condition} of {name} is {reason}"), WAIT, || async {
        let status = tenants.get(name).await.ok()?.status?;
        let found = status.conditions.into_iter().find(|c| c.type_ == condition)?;
        (found.reason == reason).then_some(found.message)
    })
    .await
}

/// A namespace that exists before its Tenant was made by someone else: the
/// operator refuses it (a `Conflict` naming it), writes nothing into it,
/// and deleting the Tenant leaves it where it was.
#[tokio::test]
async fn a_namespace_made_before_its_tenant_is_refused_and_left_alone() {
    shared_operator().await;
    let client = client().await;
    let name = format!("e2e-{}", shopfleet_e2e::random_token(6).to_lowercase());
    let namespace_name = format!("tenant-{name}");
    let namespaces = Api::<Namespace>::all(client.clone());
    let squatted: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": namespace_name}})).unwrap();
    namespaces
        .create(&PostParams::default(), &squatted)
        .await
        .unwrap();
    let tenants = Api::<Tenant>::all(client.clone());
    let tenant = Tenant::new(&name, support::tenant_spec(DeletionPolicy::Delete));
    tenants.create(&PostParams::default(), &tenant).await.unwrap();

    let message = condition_reaching(&client, &name, "NamespaceReady", "Conflict").await;
    assert!(
        message.contains(&format!("Namespace {namespace_name} exists")),
        "{message}"
    );
    let ready = tenants.get(&name).await.unwrap().status.unwrap();
    assert!(!is_true(&ready.conditions, "Ready"));
    let namespace = namespaces.get(&namespace_name).await.unwrap();
    assert_eq!(namespace.metadata.owner_references, None, "not adopted");
    let quotas =
        Api::<k8s_openapi::api::core::v1::ResourceQuota>::namespaced(client.clone(), &namespace_name);
    assert!(quotas.list(&Default::default()).await.unwrap().items.is_empty());
    assert_eq!(
        ready.database, None,
        "no database for a Tenant without its namespace"
    );

    support::delete_tenants(&client, std::slice::from_ref(&name)).await;
    let namespace = namespaces.get(&namespace_name).await.unwrap();
    assert_eq!(
        namespace.metadata.deletion_timestamp, None,
        "not deleted with the Tenant"
    );
    namespaces
        .delete(&namespace_name, &DeleteParams::default())
        .await
        .unwrap();
}

/// A signing-key Secret someone else put in the Tenant's namespace is
/// refused: the operator neither writes it nor takes its keys.
#[tokio::test]
async fn a_planted_signing_key_secret_is_refused_and_never_used() {
    shared_operator().await;
    let client = client().await;
    let (name, status) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let namespace = status.namespace.unwrap();
    let tenants = Api::<Tenant>::all(client.clone());
    let pause = |paused: bool| {
        let value = paused.then_some("true");
        serde_json::json!({"metadata": {"annotations": {shopfleet_operator::crd::PAUSED_ANNOTATION: value}}})
    };
    tenants
        .patch(&name, &PatchParams::default(), &Patch::Merge(&pause(true)))
        .await
        .unwrap();
    eventually("the Tenant is paused", WAIT, || async {
        let phase = tenants.get(&name).await.ok()?.status?.phase?;
        (phase == shopfleet_operator::crd::TenantPhase::Paused).then_some(())
    })
    .await;

    let secrets = Api::<Secret>::namespaced(client.clone(), &namespace);
    let jwt = format!("{name}-jwt");
    secrets.delete(&jwt, &DeleteParams::default()).await.unwrap();
    eventually("the Secret is gone", WAIT, || async {
        secrets.get_opt(&jwt).await.unwrap().is_none().then_some(())
    })
    .await;
    let planted: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": jwt},
        "stringData": {"keys.json": r#"{"keys":[{"kid":"attacker","secret":"chosen"}]}"#},
    }))
    .unwrap();
    let planted = secrets.create(&PostParams::default(), &planted).await.unwrap();
    tenants
        .patch(&name, &PatchParams::default(), &Patch::Merge(&pause(false)))
        .await
        .unwrap();

    let message = condition_reaching(&client, &name, "CredentialsReady", "Conflict").await;
    assert!(
        message.contains(&format!("Secret {namespace}/{jwt} exists")),
        "{message}"
    );
    let after = secrets.get(&jwt).await.unwrap();
    assert_eq!(after.data, planted.data, "its keys are not replaced");
    assert_eq!(after.metadata.owner_references, None, "not adopted");
    assert_eq!(
        after.metadata.resource_version, planted.metadata.resource_version,
        "not written"
    );
    support::delete_tenants(&client, &[name]).await;
}

/// Where no admission policy stopped it, a Tenant naming an image from
/// outside the allowed registry gets everything but its API: the operator
/// never runs that image.
#[tokio::test]
async fn an_api_image_from_outside_the_allowed_registry_is_never_run() {
    shared_operator().await;
    let client = client().await;
    let name = format!("e2e-{}", shopfleet_e2e::random_token(6).to_lowercase());
    let mut spec = support::tenant_spec(DeletionPolicy::Delete);
    spec.api.image = Some("docker.io/miner:latest".to_owned());
    Api::<Tenant>::all(client.clone())
        .create(&PostParams::default(), &Tenant::new(&name, spec))
        .await
        .unwrap();
    let message = condition_reaching(&client, &name, "ApiReady", "InvalidObject").await;
    assert!(
        message.contains("spec.api.image \"docker.io/miner:latest\""),
        "{message}"
    );
    let deployments = Api::<Deployment>::namespaced(client.clone(), &format!("tenant-{name}"));
    assert!(
        deployments
            .get_opt(&format!("{name}-api"))
            .await
            .unwrap()
            .is_none()
    );
    support::delete_tenants(&client, &[name]).await;
}
