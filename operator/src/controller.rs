//! Controller wiring: what is watched, how often, and what happens on error.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{ObjectRef, Store as Cache};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::context::Context;
use crate::crd::{Store, StorePhase, Tenant, TenantPhase};
use crate::error::Error;
use crate::http::Health;
use crate::metrics::Metrics;
use crate::store::build::tenant_name_of_namespace;
use crate::{store, tenant};

/// Children carry this label; watching only them keeps memory flat however
/// many other objects the cluster has.
const MANAGED: &str = "app.kubernetes.io/managed-by=shopfleet-operator";

/// How often the objects-by-phase gauges are recomputed from the caches.
const PHASE_REPORT_PERIOD: Duration = Duration::from_secs(10);

/// Runs the Tenant and Store controllers until SIGTERM or Ctrl-C.
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
    let concurrency = config.concurrency;
    let tenant_config = match &config.tenant_selector {
        Some(selector) => watcher::Config::default().any_semantic().labels(selector),
        None => watcher::Config::default().any_semantic(),
    };

    let (tenant_cache, tenant_trigger) = reconcile_trigger(tenants.clone(), tenant_config.clone());
    let stores = Api::<Store>::all(client.clone());
    let (store_cache, store_trigger) =
        reconcile_trigger(stores.clone(), watcher::Config::default().any_semantic());
    let ctx = Arc::new(Context::new(
        client.clone(),
        config,
        metrics.clone(),
        tenant_cache.clone(),
        store_cache.clone(),
    ));

    let owned = || watcher::Config::default().labels(MANAGED).any_semantic();
    let controller_config = || ControllerConfig::default().concurrency(concurrency);

    // A Tenant counts its Stores: wake it when one appears or starts going.
    let store_presence = watcher(stores.clone(), watcher::Config::default().any_semantic())
        .default_backoff()
        .touched_objects()
        .predicate_filter(
            |store: &Store| Some(u64::from(store.metadata.deletion_timestamp.is_some())),
            Default::default(),
        );
    let tenant_controller = Controller::for_stream(tenant_trigger, tenant_cache.clone())
        .watches(Api::<Namespace>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<Secret>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<Deployment>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<Service>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<ResourceQuota>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<LimitRange>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<NetworkPolicy>::all(client.clone()), owned(), owning_tenant)
        .watches(
            Api::<PodDisruptionBudget>::all(client.clone()),
            owned(),
            owning_tenant,
        )
        .watches_stream(store_presence, |store| {
            let namespace = store.namespace()?;
            Some(ObjectRef::new(tenant_name_of_namespace(&namespace)?))
        })
        .with_config(controller_config())
        .shutdown_on_signal()
        .run(tenant::reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});

    // A Store waits on its Tenant (database ready, plan): wake its Stores
    // when the Tenant changes.
    let stores_of_tenant = {
        let store_cache = store_cache.clone();
        move |tenant: Tenant| {
            let namespace = tenant::build::namespace_name(&tenant.name_any());
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
                    conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.reason == store::QUOTA_EXCEEDED)
                })
                .map(|store| ObjectRef::from_obj(store.as_ref()))
                .collect::<Vec<_>>()
        }
    };
    let store_controller = Controller::for_stream(store_trigger, store_cache.clone())
        .watches(Api::<Secret>::all(client.clone()), owned(), owning_store)
        .watches(tenants, tenant_config, stores_of_tenant)
        .watches(
            stores,
            watcher::Config::default().any_semantic(),
            waiting_siblings,
        )
        .with_config(controller_config())
        .shutdown_on_signal()
        .run(store::reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});

    let synced = {
        let (tenant_cache, store_cache) = (tenant_cache.clone(), store_cache.clone());
        async move {
            if tenant_cache.wait_until_ready().await.is_ok() && store_cache.wait_until_ready().await.is_ok() {
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

/// The cache of `api`'s objects and the stream of those worth reconciling:
/// on spec changes and deletion (generation), annotations (pause, key
/// rotation) and finalizers (the finalizer helper waits for its own write),
/// never on our own status writes.
fn reconcile_trigger<K>(
    api: Api<K>,
    config: watcher::Config,
) -> (Cache<K>, impl Stream<Item = Result<K, watcher::Error>>)
where
    K: Resource<DynamicType = ()> + Clone + std::fmt::Debug + DeserializeOwned + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let trigger = watcher(api, config)
        .default_backoff()
        // Field ownership is the apiserver's business: without it the cache
        // of a thousand Tenants is a fraction of the size.
        .modify(|object: &mut K| object.meta_mut().managed_fields = None)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            |object: &K| {
                let mut hasher = DefaultHasher::new();
                object.meta().generation.hash(&mut hasher);
                object.meta().annotations.hash(&mut hasher);
                object.meta().finalizers.hash(&mut hasher);
                Some(hasher.finish())
            },
            Default::default(),
        );
    (reader, trigger)
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
    Action::requeue(Error::backoff(attempt))
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

/// The Store that owns a child (in the child's namespace).
fn owning_store<Child: Resource>(child: Child) -> Option<ObjectRef<Store>> {
    Some(ObjectRef::new(&owner_name::<Store>(&child)?).within(child.meta().namespace.as_deref()?))
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
