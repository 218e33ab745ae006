//! Controller wiring: what is watched, how often, and what happens on error.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, predicates, reflector, watcher};
use kube::{Api, Client, Resource, ResourceExt};

use crate::config::Config;
use crate::context::Context;
use crate::crd::Tenant;
use crate::error::Error;
use crate::tenant;

/// Children carry this label; watching only them keeps memory flat however
/// many other objects the cluster has.
const MANAGED: &str = "app.kubernetes.io/managed-by=shopfleet-operator";

/// Runs the controllers until SIGTERM or Ctrl-C.
pub async fn run(client: Client, config: Config) -> anyhow::Result<()> {
    let tenants = Api::<Tenant>::all(client.clone());
    if let Err(error) = tenants.list_metadata(&Default::default()).await {
        anyhow::bail!("cannot list Tenants ({error}): are the CRDs installed (`kubectl apply -f crds/`)?");
    }
    let concurrency = config.concurrency;
    let ctx = Arc::new(Context::new(client.clone(), config));

    // Reconcile on spec changes and deletion (generation), annotations (pause,
    // key rotation) and finalizers (the finalizer helper waits for its own
    // write), not on our own status writes.
    let (reader, writer) = reflector::store();
    let trigger = watcher(tenants, watcher::Config::default().any_semantic())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            |tenant: &Tenant| {
                let mut key = predicates::generation(tenant)?;
                for (k, v) in tenant.annotations() {
                    key = key.wrapping_mul(31).wrapping_add(fingerprint(k) ^ fingerprint(v));
                }
                for finalizer in tenant.finalizers() {
                    key = key.wrapping_mul(31).wrapping_add(fingerprint(finalizer));
                }
                Some(key)
            },
            Default::default(),
        );
    let owned = || watcher::Config::default().labels(MANAGED).any_semantic();
    Controller::for_stream(trigger, reader)
        .watches(Api::<Namespace>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<Secret>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<Deployment>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<Service>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<ResourceQuota>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<LimitRange>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<NetworkPolicy>::all(client.clone()), owned(), owning_tenant)
        .watches(Api::<PodDisruptionBudget>::all(client.clone()), owned(), owning_tenant)
        .with_config(ControllerConfig::default().concurrency(concurrency))
        .shutdown_on_signal()
        .run(
            tenant::reconcile,
            |tenant: Arc<Tenant>, error: &Error, ctx: Arc<Context>| {
                let attempt = ctx.failures.record(&tenant.uid().unwrap_or_default());
                tracing::warn!(tenant = %tenant.name_any(), category = error.category(), %error, attempt, "reconcile failed");
                Action::requeue(Error::backoff(attempt))
            },
            ctx,
        )
        .for_each(|result| async move {
            if let Ok((object, _)) = result {
                tracing::debug!(tenant = %object.name, "reconciled");
            }
        })
        .await;
    Ok(())
}

/// The Tenant that owns a child. (`Controller::owns` would give a cluster-scoped
/// owner the child's namespace, so one Tenant could be reconciled twice at once.)
fn owning_tenant<K: Resource>(child: K) -> Option<ObjectRef<Tenant>> {
    child
        .meta()
        .owner_references
        .as_ref()?
        .iter()
        .find(|owner| owner.kind == "Tenant" && owner.api_version.starts_with("shopfleet.io/"))
        .map(|owner| ObjectRef::new(&owner.name))
}

fn fingerprint(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}
