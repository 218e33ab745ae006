//! What every reconcile shares: the client, configuration, database servers,
//! the Event recorder, and helpers to apply children.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::Store as Cache;
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::crd::{Store, Tenant};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::postgres::Servers;

/// The one field manager every object the operator writes is applied under.
pub const FIELD_MANAGER: &str = "shopfleet-operator";

pub struct Context {
    pub client: Client,
    pub config: Config,
    pub servers: Servers,
    pub failures: Failures,
    pub metrics: Arc<Metrics>,
    /// The Tenants this operator reconciles (those matching its selector).
    pub tenants: Cache<Tenant>,
    /// Every Store in the cluster.
    pub stores: Cache<Store>,
    recorder: Recorder,
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
    pub fn new(
        client: Client,
        config: Config,
        metrics: Arc<Metrics>,
        tenants: Cache<Tenant>,
        stores: Cache<Store>,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_owned(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            servers: Servers::new(client.clone(), config.servers()),
            failures: Failures::default(),
            metrics,
            tenants,
            stores,
            recorder: Recorder::new(client.clone(), reporter),
            client,
            config,
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
        if let Err(error) = self.recorder.publish(&event, &reference).await {
            tracing::warn!(%error, reason, "could not record an Event");
        }
    }
}
