//! Controller wiring: what is watched, how often, and what happens on error.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{ObjectRef, Store as Cache};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};

use crate::children::{ChildKind, Children};
use crate::config::Config;
use crate::context::Context;
use crate::crd::{Store, StorePhase, Tenant, TenantPhase, is_true};
use crate::error::{Error, FailureReason};
use crate::http::Health;
use crate::metrics::Metrics;
use crate::names::{self, MANAGED_BY_SELECTOR, tenant_name_of_namespace};
use crate::store::build::StoreReason;
use crate::watches::{cached_changes, content, hash, keep_all, reconcile_trigger};
use crate::{identity, store, tenant};

/// How often the objects-by-phase gauges are recomputed from the caches.
const PHASE_REPORT_PERIOD: Duration = Duration::from_secs(10);

/// Tenant and Store reconciles wait this long after the last change that
/// asks for one: the burst of watch events a reconcile's own writes cause (a
/// new Tenant's nine children) then costs one more reconcile, not nine.
const DEBOUNCE: Duration = Duration::from_millis(500);

/// Runs the Tenant and Store controllers until SIGTERM or Ctrl-C.
///
/// Each cache a reconcile reads is filled by the watch whose events trigger
/// that reconcile (the cache is updated before the event is passed on), so a
/// reconcile woken by a change sees it.
pub async fn run(
    client: Client,
    config: Config,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
) -> anyhow::Result<()> {
    let tenants = Api::<Tenant>::all(client.clone());
    if let Err(error) = tenants.list_metadata(&Default::default()).await {
        anyhow::bail!("cannot list Tenants ({error}): are the CRDs installed (`kubectl apply -f crds/`)?");
    }
    let operator = identity::current_subject(&client).await?;
    tracing::info!(kind = %operator.kind, name = %operator.name, "binds the tenant role to itself in each tenant namespace");
    let concurrency = config.concurrency;
    let tenant_config = match &config.tenant_selector {
        Some(selector) => watcher::Config::default().any_semantic().labels(selector),
        None => watcher::Config::default().any_semantic(),
    };
    let every = || watcher::Config::default().any_semantic();

    let (tenant_cache, tenant_trigger) = reconcile_trigger(tenants.clone(), tenant_config.clone());
    let stores = Api::<Store>::all(client.clone());
    let (store_cache, store_trigger) = reconcile_trigger(stores.clone(), every());

    // The Tenants' children: a change other than to its status wakes the
    // Tenant, and so does the Deployment's count of available replicas.
    let (namespaces, namespace_changes) =
        children_of_kind::<Namespace>(&client, MANAGED_BY_SELECTOR, content);
    let (resource_quotas, quota_changes) =
        children_of_kind::<ResourceQuota>(&client, MANAGED_BY_SELECTOR, content);
    let (limit_ranges, limit_range_changes) =
        children_of_kind::<LimitRange>(&client, MANAGED_BY_SELECTOR, content);
    let (network_policies, network_policy_changes) =
        children_of_kind::<NetworkPolicy>(&client, MANAGED_BY_SELECTOR, content);
    let (services, service_changes) = children_of_kind::<Service>(&client, MANAGED_BY_SELECTOR, content);
    let (pod_disruption_budgets, pdb_changes) =
        children_of_kind::<PodDisruptionBudget>(&client, MANAGED_BY_SELECTOR, content);
    let (deployments, deployment_changes) =
        children_of_kind(&client, MANAGED_BY_SELECTOR, |deployment: &Deployment| {
            let available = deployment.status.as_ref().and_then(|s| s.available_replicas);
            hash((content(deployment), available))
        });
    let (role_bindings, role_binding_changes) =
        children_of_kind::<RoleBinding>(&client, MANAGED_BY_SELECTOR, content);
    // No Secrets: see `children`.
    let children = Children {
        namespaces,
        resource_quotas,
        limit_ranges,
        network_policies,
        role_bindings,
        deployments,
        services,
        pod_disruption_budgets,
    };

    // A Tenant counts its Stores: wake it when one appears, starts going or
    // is gone.
    let (counted_stores, store_presence) = cached_changes(
        stores.clone(),
        every(),
        |store: &Store| hash(store.metadata.deletion_timestamp.is_some()),
        keep_all,
    );
    // A Store waits on its Tenant (database ready, plan, deletion): wake its
    // Stores when one of those changes, not on every status write.
    let (awaited_tenants, tenant_changes) = cached_changes(
        tenants,
        tenant_config,
        |tenant: &Tenant| {
            let status = tenant.status.as_ref();
            hash((
                tenant.metadata.uid.as_deref(),
                tenant.spec.plan as u8,
                tenant.metadata.deletion_timestamp.is_some(),
                status.is_some_and(|s| s.database.is_some()),
                status.is_some_and(|s| is_true(&s.conditions, "DatabaseReady")),
            ))
        },
        keep_all,
    );

    let ctx = Arc::new(Context::new(
        client.clone(),
        config,
        operator,
        metrics.clone(),
        awaited_tenants,
        counted_stores,
        children,
    ));
    let controller_config = || {
        ControllerConfig::default()
            .concurrency(concurrency)
            .debounce(DEBOUNCE)
    };

    let tenant_controller = Controller::for_stream(tenant_trigger, tenant_cache.clone())
        .watches_stream(namespace_changes, owning_tenant)
        .watches_stream(quota_changes, owning_tenant)
        .watches_stream(limit_range_changes, owning_tenant)
        .watches_stream(network_policy_changes, owning_tenant)
        .watches_stream(role_binding_changes, owning_tenant)
        .watches_stream(deployment_changes, owning_tenant)
        .watches_stream(service_changes, owning_tenant)
        .watches_stream(pdb_changes, owning_tenant)
        .watches_stream(store_presence, |store| {
            let namespace = store.namespace()?;
            Some(ObjectRef::new(tenant_name_of_namespace(&namespace)?))
        })
        .with_config(controller_config())
        .shutdown_on_signal()
        .run(tenant::reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});

    let stores_of_tenant = {
        let store_cache = store_cache.clone();
        move |tenant: Tenant| {
            let namespace = names::namespace_name(&tenant.name_any());
            stores_in(&store_cache, &namespace)
                .map(|store| ObjectRef::from_obj(store.as_ref()))
                .collect::<Vec<_>>()
        }
    };
    // A Store over the plan's limit waits for a place: wake the waiting Stores
    // of a namespace when another of its Stores goes (or changes).
    let waiting_siblings = {
        let store_cache = store_cache.clone();
        move |changed: Store| {
            let namespace = changed.namespace().unwrap_or_default();
            stores_in(&store_cache, &namespace)
                .filter(|store| store.name_any() != changed.name_any())
                .filter(|store| {
                    let conditions = store
                        .status
                        .as_ref()
                        .map(|s| s.conditions.as_slice())
                        .unwrap_or_default();
                    let quota_exceeded = StoreReason::QuotaExceeded.as_str();
                    conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.reason == quota_exceeded)
                })
                .map(|store| ObjectRef::from_obj(store.as_ref()))
                .collect::<Vec<_>>()
        }
    };
    let store_controller = Controller::for_stream(store_trigger, store_cache.clone())
        .watches_stream(tenant_changes, stores_of_tenant)
        .watches(stores, every(), waiting_siblings)
        .with_config(controller_config())
        .shutdown_on_signal()
        .run(store::reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});

    let synced = {
        let (tenant_cache, store_cache, ctx) = (tenant_cache.clone(), store_cache.clone(), ctx.clone());
        async move {
            if tenant_cache.wait_until_ready().await.is_ok()
                && store_cache.wait_until_ready().await.is_ok()
                && ctx.children.wait_until_ready().await
            {
                health.set_synced(true);
            }
        }
    };
    let phases = report_phases(tenant_cache, store_cache, metrics);
    tokio::select! {
        _ = futures::future::join(tenant_controller, store_controller) => {}
        _ = futures::future::join(synced, phases) => {}
    }
    Ok(())
}

/// The cache of the operator's children of kind `K` matching `selector`,
/// cluster-wide and trimmed (`ChildKind::trim`), and the changes of their
/// `significance`.
fn children_of_kind<K: ChildKind>(
    client: &Client,
    selector: &str,
    significance: impl Fn(&K) -> u64 + Send + 'static,
) -> (
    Cache<K>,
    impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static,
) {
    let config = watcher::Config::default().labels(selector).any_semantic();
    cached_changes(Api::all(client.clone()), config, significance, K::trim)
}

/// Requeues a failed object with exponential backoff, per object.
fn error_policy<K: Resource<DynamicType = ()>>(object: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    let attempt = ctx
        .failures
        .record(object.meta().uid.as_deref().unwrap_or_default());
    tracing::warn!(
        kind = %K::kind(&()),
        name = object.meta().name.as_deref().unwrap_or_default(),
        namespace = object.meta().namespace.as_deref().unwrap_or_default(),
        category = error.category(),
        %error,
        attempt,
        "reconcile failed"
    );
    if error.reason() == FailureReason::AdminCredentialsInvalid
        && let Some(server) = error.server()
    {
        ctx.servers.recheck(server);
    }
    Action::requeue(error.retry_after(attempt))
}

/// The cached Stores of one namespace.
fn stores_in(cache: &Cache<Store>, namespace: &str) -> impl Iterator<Item = Arc<Store>> {
    let namespace = namespace.to_owned();
    cache
        .state()
        .into_iter()
        .filter(move |store| store.namespace().as_deref() == Some(namespace.as_str()))
}

/// The Tenant that owns a child. (`Controller::owns` would give a
/// cluster-scoped owner the child's namespace, so one Tenant could be
/// reconciled twice at once.)
fn owning_tenant<Child: Resource>(child: Child) -> Option<ObjectRef<Tenant>> {
    Some(ObjectRef::new(&owner_name::<Tenant>(&child)?))
}

fn owner_name<Owner: Resource<DynamicType = ()>>(child: &impl Resource) -> Option<String> {
    let owners = child.meta().owner_references.as_ref()?;
    owners
        .iter()
        .find(|owner| owner.kind == Owner::kind(&()) && owner.api_version == Owner::api_version(&()))
        .map(|owner| owner.name.clone())
}

/// Keeps the objects-by-phase gauges in step with the caches.
async fn report_phases(tenants: Cache<Tenant>, stores: Cache<Store>, metrics: Arc<Metrics>) {
    let mut tick = tokio::time::interval(PHASE_REPORT_PERIOD);
    loop {
        tick.tick().await;
        let tenant_phases = tenants.state();
        let tenant_phases = tenant_phases.iter().map(|t| {
            t.status
                .as_ref()
                .and_then(|s| s.phase)
                .map_or("Unknown", TenantPhase::as_str)
        });
        metrics.set_phases("tenant", &count(tenant_phases));
        let store_phases = stores.state();
        let store_phases = store_phases.iter().map(|s| {
            s.status
                .as_ref()
                .and_then(|s| s.phase)
                .map_or("Unknown", StorePhase::as_str)
        });
        metrics.set_phases("store", &count(store_phases));
    }
}

fn count(phases: impl Iterator<Item = &'static str>) -> Vec<(&'static str, i64)> {
    let mut counts: Vec<(&'static str, i64)> = Vec::new();
    for phase in phases {
        match counts.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, n)) => *n += 1,
            None => counts.push((phase, 1)),
        }
    }
    counts
}
