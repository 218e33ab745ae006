//! The watch streams behind the controllers: each fills a cache and says which
//! changes are worth a reconcile, so that the operator's own status writes,
//! and status churn of its children, do not wake anyone.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use futures::{Stream, StreamExt, future};
use kube::runtime::reflector::{ObjectRef, Store as Cache};
use kube::runtime::watcher::{self, Event, watcher};
use kube::runtime::{WatchStreamExt, reflector};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The cache of `api`'s objects and the stream of those worth reconciling:
/// on spec changes and deletion (generation), annotations (pause, key
/// rotation) and finalizers (the finalizer helper waits for its own write),
/// never on our own status writes.
pub fn reconcile_trigger<K>(
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

/// What every watched kind must be.
pub trait Watched:
    Resource<DynamicType = ()> + Clone + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

impl<K> Watched for K where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + 'static
{
}

/// Watches `api`, keeps a cache of it (without `managedFields`: field
/// ownership is the apiserver's business, and without it the caches are a
/// fraction of the size; and without what `trim` drops), and yields the
/// objects whose `significance` changed, and every deleted one.
pub fn cached_changes<K: Watched>(
    api: Api<K>,
    config: watcher::Config,
    significance: impl Fn(&K) -> u64 + Send + 'static,
    trim: fn(&mut K),
) -> (
    Cache<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
) {
    let (reader, writer) = reflector::store();
    let events = watcher(api, config)
        .default_backoff()
        .modify(move |object: &mut K| {
            object.meta_mut().managed_fields = None;
            trim(object);
        })
        .reflect(writer);
    (reader, significant_changes(events, significance))
}

/// The objects of `events` worth a reconcile: a new object or a changed
/// `significance`, and every deletion (a predicate on unchanged fields would
/// swallow those, and a deleted child must come back).
///
/// The first complete list yields nothing: the owners' own first list
/// reconciles every one of them anyway. A later list (after the watch was
/// cut) yields what changed meanwhile; what was deleted meanwhile waits for
/// the owner's periodic reconcile.
pub fn significant_changes<K, S>(
    events: S,
    significance: impl Fn(&K) -> u64 + Send + 'static,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Watched,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    let mut seen: HashMap<ObjectRef<K>, u64> = HashMap::new();
    let mut listed = false;
    events.filter_map(move |event| {
        let mut changed = |object: K, initial: bool| {
            let value = significance(&object);
            let before = seen.insert(ObjectRef::from_obj(&object), value);
            // The first list only fills `seen`.
            let first_list = initial && !listed;
            (!first_list && before != Some(value)).then_some(Ok(object))
        };
        let passed = match event {
            Err(error) => Some(Err(error)),
            Ok(Event::Apply(object)) => changed(object, false),
            Ok(Event::InitApply(object)) => changed(object, true),
            Ok(Event::Delete(object)) => {
                seen.remove(&ObjectRef::from_obj(&object));
                Some(Ok(object))
            }
            Ok(Event::Init) => None,
            Ok(Event::InitDone) => {
                listed = true;
                None
            }
        };
        future::ready(passed)
    })
}

/// A child as its owner wrote it: everything but its status and the
/// apiserver's bookkeeping (resource version, managed fields, timestamps).
pub fn content(object: &impl Serialize) -> u64 {
    let mut value = serde_json::to_value(object).expect("Kubernetes objects serialise");
    if let Some(fields) = value.as_object_mut() {
        fields.remove("status");
        if let Some(metadata) = fields.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            metadata.retain(|key, _| {
                matches!(
                    key.as_str(),
                    "labels" | "annotations" | "ownerReferences" | "deletionTimestamp" | "uid"
                )
            });
        }
    }
    hash(value.to_string())
}

/// For [`cached_changes`]: keep the whole object.
pub fn keep_all<K>(_: &mut K) {}

pub fn hash(value: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
    use k8s_openapi::api::core::v1::Secret;

    use super::*;
    use crate::secret_data;

    fn secret(name: &str, password: &str) -> Secret {
        let mut secret = Secret {
            data: Some(secret_data::entries([("password", password)])),
            ..Secret::default()
        };
        secret.metadata.name = Some(name.to_owned());
        secret.metadata.namespace = Some("tenant-acme".to_owned());
        secret
    }

    fn passed(events: Vec<Event<Secret>>) -> Vec<String> {
        let events = futures::stream::iter(events.into_iter().map(Ok));
        block_on(
            significant_changes(events, |s: &Secret| content(s))
                .map(|object| object.unwrap().metadata.name.unwrap())
                .collect(),
        )
    }

    #[test]
    fn changes_and_deletions_pass_and_repeats_do_not() {
        let mut bumped = secret("db", "a");
        bumped.metadata.resource_version = Some("42".to_owned());
        let events = vec![
            Event::Init,
            Event::InitApply(secret("db", "a")),
            Event::InitDone,
            // The apiserver's bookkeeping only: nothing to do.
            Event::Apply(bumped),
            Event::Apply(secret("db", "edited")),
            Event::Apply(secret("jwt", "new")),
            Event::Delete(secret("jwt", "new")),
        ];
        assert_eq!(passed(events), ["db", "jwt", "jwt"]);
    }

    #[test]
    fn a_relist_passes_only_what_changed_meanwhile() {
        let events = vec![
            Event::Init,
            Event::InitApply(secret("db", "a")),
            Event::InitApply(secret("jwt", "a")),
            Event::InitDone,
            Event::Init,
            Event::InitApply(secret("db", "a")),
            Event::InitApply(secret("jwt", "changed")),
            Event::InitApply(secret("invite", "new")),
            Event::InitDone,
        ];
        assert_eq!(passed(events), ["jwt", "invite"]);
    }

    #[test]
    fn status_is_not_content() {
        let mut deployment = Deployment::default();
        deployment.metadata.name = Some("acme-api".to_owned());
        let before = content(&deployment);
        deployment.status = Some(DeploymentStatus {
            replicas: Some(1),
            ..DeploymentStatus::default()
        });
        assert_eq!(content(&deployment), before);
        deployment
            .metadata
            .labels
            .get_or_insert_default()
            .insert("a".to_owned(), "b".to_owned());
        assert_ne!(content(&deployment), before);
    }
}
