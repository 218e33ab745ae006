//! The floor: what the operator makes for a Tenant and its 2 Stores, made by
//! a plain script with the same builders and SQL but none of the operator's
//! machinery (no watches, no status, no finalizers, no re-reads). The
//! objects are labelled `managed-by: shopfleet-floor` and own nothing, so the
//! operator that runs afterwards never sees them.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shopfleet_operator::crd::{Store, Tenant};
use shopfleet_operator::identity;
use shopfleet_operator::names::namespace_name;
use shopfleet_operator::plan::PlanDefaults;
use shopfleet_operator::postgres::Admin;
use shopfleet_operator::store::build::{ApiKeys, api_key_secret};
use shopfleet_operator::store::database::{activate_keys, upsert_store};
use shopfleet_operator::tenant::database::{DatabaseNames, grants_plan, server_plan};
use shopfleet_operator::tenant::jwt::KeySet;
use shopfleet_operator::tenant::{access, build, invite, secrets};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const MANAGER: &str = "shopfleet-floor";

/// Makes `n` tenants' objects and databases, `parallel` at a time, and waits
/// until their API Deployments are available: the operator's finish line.
pub async fn run(client: &Client, database_url: &str, n: usize, parallel: usize) -> Result<Duration> {
    let options: PgConnectOptions = database_url.parse()?;
    let admin = Admin {
        server: "default".to_owned(),
        pool: PgPoolOptions::new()
            .max_connections(parallel as u32)
            .connect_with(options.clone())
            .await?,
        options,
        tls: Default::default(),
    };
    let started = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| provision(client, &admin, i))
        .buffer_unordered(parallel)
        .try_collect::<Vec<_>>()
        .await?;
    let deployments = Api::<Deployment>::all(client.clone());
    let selector = format!("app.kubernetes.io/managed-by={MANAGER}");
    loop {
        let list = deployments.list(&ListParams::default().labels(&selector)).await?;
        let available = list
            .items
            .iter()
            .filter(|d| d.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0) >= 1)
            .count();
        if available == n {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("floor: only {available}/{n} Deployments available after an hour");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn provision(client: &Client, admin: &Admin, i: usize) -> Result<()> {
    let mut tenant = Tenant::new(&format!("floor-{i}"), super::tenant_spec());
    let uid = uuid::Uuid::new_v4().to_string();
    tenant.metadata.uid = Some(uid.clone());
    let name = format!("floor-{i}");
    let namespace = namespace_name(&name);
    let plan = PlanDefaults::of(tenant.spec.plan);

    apply(&Api::<Namespace>::all(client.clone()), build::namespace(&tenant)).await?;
    let operator = identity::subject_of(MANAGER);
    apply::<RoleBinding>(
        &Api::namespaced(client.clone(), &namespace),
        access::operator_role_binding(&tenant, "shopfleet-operator-tenant", &operator),
    )
    .await?;
    apply::<ResourceQuota>(
        &Api::namespaced(client.clone(), &namespace),
        build::resource_quota(&tenant, &plan),
    )
    .await?;
    apply::<LimitRange>(
        &Api::namespaced(client.clone(), &namespace),
        build::limit_range(&tenant, &plan),
    )
    .await?;
    apply::<NetworkPolicy>(
        &Api::namespaced(client.clone(), &namespace),
        build::network_policy(
            &tenant,
            &build::NetworkPeers {
                api_clients: &["ingress-nginx".to_owned()],
                scrapers: &["monitoring".to_owned()],
                database: Some(&admin.host_port()),
            },
        ),
    )
    .await?;

    let names = DatabaseNames::for_tenant_uid(&uid);
    let password = shopfleet_operator::random_password();
    let endpoint = admin.endpoint();
    let credentials = secrets::DbCredentials::at(&names, &password, &endpoint);
    apply::<Secret>(
        &Api::namespaced(client.clone(), &namespace),
        secrets::db_secret(&tenant, &credentials),
    )
    .await?;
    admin.apply_server_plan(&server_plan(&names, &password)).await?;
    let mut owner = admin.connect_as_owner(&names).await?;
    admin.migrate(&mut owner, &grants_plan(&names)).await?;
    let keys = KeySet::new(jiff::Timestamp::now());
    apply::<Secret>(
        &Api::namespaced(client.clone(), &namespace),
        secrets::jwt_secret(&tenant, &keys),
    )
    .await?;
    let token = invite::generate_token();
    apply::<Secret>(
        &Api::namespaced(client.clone(), &namespace),
        secrets::owner_invite_secret(&tenant, &token),
    )
    .await?;
    invite::record_owner_invitation(&mut owner, &tenant.spec.owner.email, &token).await?;
    let image = "shopfleet/shopfleet-api:bench";
    let deployment = build::api_deployment(
        &tenant,
        &plan,
        &build::ApiPod {
            image,
            trusted_proxies: &[],
            database_ca: false,
        },
        &secrets::db_secret_version(&password),
    );
    apply::<Deployment>(&Api::namespaced(client.clone(), &namespace), deployment).await?;
    apply::<Service>(
        &Api::namespaced(client.clone(), &namespace),
        build::api_service(&tenant),
    )
    .await?;

    for (store_name, spec) in super::store_specs() {
        let mut store = Store::new(store_name, spec);
        store.metadata.namespace = Some(namespace.clone());
        store.metadata.uid = Some(uuid::Uuid::new_v4().to_string());
        let store_uid = store.metadata.uid.clone().unwrap_or_default();
        let Some(store_id) = upsert_store(&mut owner, &store, &store_uid, i64::from(plan.max_stores)).await?
        else {
            bail!("floor: the store limit refused {store_name}");
        };
        let keys = ApiKeys::generate();
        apply::<Secret>(
            &Api::namespaced(client.clone(), &namespace),
            api_key_secret(&store, &name, &store_id, &keys),
        )
        .await?;
        activate_keys(&mut owner, &store_id, &keys).await?;
    }
    Ok(())
}

/// Server-side applies `object` as the floor: owning nothing (its owner does
/// not exist) and labelled so that the operator's watches skip it.
async fn apply<K>(api: &Api<K>, mut object: K) -> Result<()>
where
    K: Resource + Clone + std::fmt::Debug + Serialize + DeserializeOwned,
{
    let meta = object.meta_mut();
    meta.owner_references = None;
    meta.labels
        .get_or_insert_default()
        .insert("app.kubernetes.io/managed-by".to_owned(), MANAGER.to_owned());
    let name = meta.name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&object),
    )
    .await?;
    Ok(())
}
