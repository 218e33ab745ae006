//! What every reconcile shares: the client, configuration, database servers,
//! the watch caches, the Event recorder, and helpers to apply children.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use k8s_openapi::api::rbac::v1::Subject;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store as Cache};
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::children::{self, ChildKind, ChildRef, Children};
use crate::config::Config;
use crate::crd::{Store, Tenant};
use crate::error::{Error, Result};
use crate::known_secrets::KnownSecrets;
use crate::metrics::Metrics;
use crate::postgres::Servers;

/// The one field manager every object the operator writes is applied under.
pub const FIELD_MANAGER: &str = "shopfleet-operator";

pub struct Context {
    pub client: Client,
    pub config: Config,
    /// Who the operator is to the apiserver (`identity`).
    pub operator: Subject,
    pub servers: Servers,
    pub failures: Failures,
    pub metrics: Arc<Metrics>,
    /// The Tenants this operator reconciles (those matching its selector), as
    /// the watch that wakes their Stores sees them.
    pub tenants: Cache<Tenant>,
    /// Every Store in the cluster, as the watch that wakes their Tenants sees
    /// them (a Tenant counts its Stores).
    pub stores: Cache<Store>,
    pub children: Children,
    /// The Secrets read or written lately (no cache holds Secrets).
    pub known_secrets: KnownSecrets,
    /// The Tenants' SQL run lately, and the schema version it left.
    pub tenant_sql: SqlDone<i64>,
    /// The Stores' SQL run lately.
    pub store_sql: SqlDone<()>,
    reporter: Reporter,
    recorder: Recorder,
}

/// Whose SQL has run, for which inputs, and what it left (for a Tenant, its
/// schema version): a reconcile whose inputs are those of a recent run skips
/// the SQL (it would change nothing), so a Tenant or Store that only needs
/// its status or a child written costs no round trips to PostgreSQL. The
/// record lives in memory: a restarted or new leader runs everything once.
/// (What the SQL left is kept here, not read back from the status: the
/// cached object a reconcile gets may not show the last status write yet.)
pub struct SqlDone<T>(Mutex<HashMap<String, (u64, Instant, T)>>);

impl<T> Default for SqlDone<T> {
    fn default() -> Self {
        Self(Mutex::default())
    }
}

/// How long a run counts as recent: the first periodic reconcile (see
/// `Config::resync_seconds`) after this long runs the SQL again and repairs
/// drift in the database, which no watch can see.
const SQL_RECHECK_AFTER: Duration = Duration::from_secs(12 * 60);

/// A fingerprint of the inputs of an object's SQL.
pub fn sql_fingerprint(inputs: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    inputs.hash(&mut hasher);
    hasher.finish()
}

impl<T: Clone> SqlDone<T> {
    /// What the SQL of object `uid` left, if it ran recently with these inputs.
    pub fn recent(&self, uid: &str, fingerprint: u64) -> Option<T> {
        let done = self.0.lock().expect("not poisoned");
        done.get(uid)
            .filter(|(ran, at, _)| *ran == fingerprint && at.elapsed() < SQL_RECHECK_AFTER)
            .map(|(_, _, left)| left.clone())
    }

    pub fn record(&self, uid: &str, fingerprint: u64, left: T) {
        let mut done = self.0.lock().expect("not poisoned");
        done.insert(uid.to_owned(), (fingerprint, Instant::now(), left));
    }

    pub fn forget(&self, uid: &str) {
        self.0.lock().expect("not poisoned").remove(uid);
    }
}

/// Consecutive reconcile failures per object (by uid), for exponential backoff.
#[derive(Default)]
pub struct Failures(Mutex<HashMap<String, u32>>);

impl Failures {
    /// Counts one more failure and returns how many came before it.
    pub fn record(&self, uid: &str) -> u32 {
        let mut map = self.0.lock().expect("not poisoned");
        let count = map.entry(uid.to_owned()).or_default();
        *count += 1;
        *count - 1
    }

    pub fn clear(&self, uid: &str) {
        self.0.lock().expect("not poisoned").remove(uid);
    }
}

impl Context {
    /// Makes the child hold `desired`: server-side applies it, unless the cached
    /// copy already holds every field `desired` sets (fields others added, and
    /// what the apiserver defaults, do not count). Returns the child as it is.
    /// A reconcile with nothing to change therefore writes nothing.
    ///
    /// An object of that name that `desired`'s owner does not control is
    /// never written: [`Error::Conflict`]. The watches see only objects
    /// labelled as the operator's, so one missing from the cache is looked
    /// up before it is created (once per child, when its owner is new).
    pub async fn ensure<K: ChildKind>(&self, desired: &K) -> Result<K> {
        self.ensure_child(desired, true).await
    }

    /// [`Context::ensure`] for a child of a namespace this reconcile has just
    /// created: nothing can be in it that the cache does not show (short of
    /// someone writing into it in the milliseconds since), so a child missing
    /// from the cache is not looked up. A new Tenant's eight children then
    /// cost no reads.
    pub async fn ensure_in_new_namespace<K: ChildKind>(&self, desired: &K) -> Result<K> {
        self.ensure_child(desired, false).await
    }

    async fn ensure_child<K: ChildKind>(&self, desired: &K, look_up_uncached: bool) -> Result<K> {
        let cached = K::cache(&self.children).and_then(|cache| cache.get(&ObjectRef::from_obj(desired)));
        let existing = match cached {
            Some(cached) => Some(cached),
            None if look_up_uncached => {
                let api = K::api(self.client.clone(), desired.meta().namespace.as_deref());
                api.get_opt(&ChildRef::of(desired).name).await?.map(Arc::new)
            }
            None => None,
        };
        self.ensure_over(desired, existing.as_deref()).await
    }

    /// Makes the child hold `desired`, given `existing`: the object of its
    /// name as the caller has just read it (`None`: there is none). The same
    /// rules as [`Context::ensure`]: never write what the owner does not
    /// control, and write nothing when `existing` already holds `desired`.
    pub async fn ensure_over<K: ChildKind>(&self, desired: &K, existing: Option<&K>) -> Result<K> {
        if let Some(existing) = existing {
            if !children::is_ours(existing, desired) {
                return Err(Error::Conflict(ChildRef::of(desired)));
            }
            if children::holds_desired(existing, desired) {
                return Ok(existing.clone());
            }
        }
        let api = K::api(self.client.clone(), desired.meta().namespace.as_deref());
        self.apply(&api, desired).await
    }

    /// Deletes a child that is no longer desired; one already gone is fine.
    pub async fn delete_child<K: ChildKind>(&self, child: &ChildRef) -> Result<()> {
        let api = K::api(self.client.clone(), child.namespace.as_deref());
        match api.delete(&child.name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    pub fn new(
        client: Client,
        config: Config,
        operator: Subject,
        metrics: Arc<Metrics>,
        tenants: Cache<Tenant>,
        stores: Cache<Store>,
        children: Children,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_owned(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            servers: Servers::new(client.clone(), config.servers(), u32::from(config.concurrency)),
            failures: Failures::default(),
            metrics,
            tenants,
            stores,
            children,
            known_secrets: KnownSecrets::new(config.resync()),
            tenant_sql: SqlDone::default(),
            store_sql: SqlDone::default(),
            recorder: Recorder::new(client.clone(), reporter.clone()),
            reporter,
            client,
            config,
            operator,
        }
    }

    /// Server-side applies `object` (which names itself) as the operator.
    ///
    /// Boxed on purpose: a generic `async fn` with a `DeserializeOwned` bound
    /// makes rustc unable to prove the reconcile future `Send`.
    pub fn apply<'a, K>(&'a self, api: &'a Api<K>, object: &'a K) -> BoxFuture<'a, Result<K>>
    where
        K: Resource + Clone + Debug + Serialize + DeserializeOwned + Send + Sync,
    {
        async move {
            let name = object.meta().name.as_deref().expect("built objects have names");
            let params = PatchParams::apply(FIELD_MANAGER).force();
            Ok(api.patch(name, &params, &Patch::Apply(object)).await?)
        }
        .boxed()
    }

    /// Writes `status` to `object`'s status subresource as the operator.
    /// Boxed for the same reason as [`Context::apply`].
    pub fn patch_status<'a, K, S>(
        &'a self,
        api: &'a Api<K>,
        object: &'a K,
        status: &'a S,
    ) -> BoxFuture<'a, Result<()>>
    where
        K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync,
        S: Serialize + Sync,
    {
        async move {
            let name = object
                .meta()
                .name
                .as_deref()
                .expect("objects from the apiserver have names");
            let patch = Patch::Apply(serde_json::json!({
                "apiVersion": K::api_version(&()),
                "kind": K::kind(&()),
                "status": status,
            }));
            let params = PatchParams::apply(FIELD_MANAGER).force();
            api.patch_status(name, &params, &patch).await?;
            Ok(())
        }
        .boxed()
    }

    /// Records a Kubernetes Event on `object`. Failing to record one is logged,
    /// never fatal: Events are for humans, not for correctness.
    ///
    /// Warnings repeat (a failing reconcile retries), so they go through the
    /// one recorder, whose cache folds repeats into a series. A Normal event
    /// marks a transition that happens once: through that cache it would
    /// only be held for six minutes (15 MB while a thousand new Tenants
    /// become Ready), so it gets a recorder of its own.
    pub async fn event<K: Resource<DynamicType = ()>>(
        &self,
        object: &K,
        warning: bool,
        reason: &str,
        note: String,
    ) {
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_owned(),
            note: Some(note),
            action: reason.to_owned(),
            secondary: None,
        };
        let reference = object.object_ref(&());
        let published = if warning {
            self.recorder.publish(&event, &reference).await
        } else {
            let once = Recorder::new(self.client.clone(), self.reporter.clone());
            once.publish(&event, &reference).await
        };
        if let Err(error) = published {
            tracing::warn!(%error, reason, "could not record an Event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_runs_again_when_its_inputs_change_or_it_is_forgotten() {
        let done = SqlDone::default();
        let inputs = sql_fingerprint(("generation", 1));
        assert_eq!(done.recent("uid", inputs), None);
        done.record("uid", inputs, 7);
        assert_eq!(done.recent("uid", inputs), Some(7));
        assert_eq!(done.recent("uid", sql_fingerprint(("generation", 2))), None);
        assert_eq!(done.recent("other", inputs), None);
        done.forget("uid");
        assert_eq!(done.recent("uid", inputs), None);
    }
}
