//! The Store controller. A reconcile is a pipeline:
//! dereference (its Tenant from the watch cache, its key Secret from the
//! apiserver) → admit
//! (pure, in `build`; the plan's store limit is decided in the database,
//! where concurrent reconciles cannot both take the last place) → apply (the
//! `stores` row, then the key Secret, then the key hashes) → status.
//!
//! Order matters for crash safety: the row comes first (its id goes into the
//! Secret), the Secret before the keys become active, and keys are activated
//! only once the Secret holding them exists, so a crash at any line leaves
//! state the next reconcile finishes.

pub mod build;
pub mod database;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};

use crate::children::{self, ChildRef};
use crate::context::{Context, sql_fingerprint};
use crate::crd::{
    Condition, ConditionStatus, Store, StorePhase, StoreStatus, Tenant, is_paused, set_condition,
};
use crate::error::{Error, Result, database, finalizer_outcome};
use crate::names::{self, DatabaseNames};
use build::{ApiKeys, Blocked, StoreReason};

pub const FINALIZER: &str = "shopfleet.io/store-cleanup";

/// How long a reconcile waits for the Tenants' cache to fill after the
/// operator starts.
const CACHE_SYNC_WAIT: Duration = Duration::from_secs(30);

pub async fn reconcile(store: Arc<Store>, ctx: Arc<Context>) -> Result<Action> {
    let measure = ctx.metrics.reconcile_started("store");
    let result = reconcile_store(store, &ctx).await;
    measure.finish(result.as_ref().err().map(Error::category));
    result
}

async fn reconcile_store(store: Arc<Store>, ctx: &Arc<Context>) -> Result<Action> {
    let namespace = store
        .namespace()
        .ok_or(Error::MissingObjectKey(".metadata.namespace"))?;
    let api = Api::<Store>::namespaced(ctx.client.clone(), &namespace);
    // Until the Tenants' cache is filled, a Tenant missing from it may only
    // not be listed yet (and would pass for another install's).
    if tokio::time::timeout(CACHE_SYNC_WAIT, ctx.tenants.wait_until_ready())
        .await
        .is_err()
    {
        tracing::warn!("the Tenants' cache is not filled yet");
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let tenant = match owner(&namespace, ctx).await? {
        Owner::Ours(tenant) => Some(tenant),
        Owner::Missing => None,
        // Another operator install (its --tenant-selector) reconciles it.
        Owner::NotOurs => return Ok(Action::await_change()),
    };
    if is_paused(store.as_ref()) {
        let mut status = store.status.clone().unwrap_or_default();
        status.phase = Some(StorePhase::Paused);
        write_status(ctx, &store, status).await?;
        return Ok(Action::await_change());
    }
    let uid = store.uid().unwrap_or_default();
    let action = finalizer(&api, FINALIZER, store, |event| async {
        match event {
            Finalizer::Apply(store) => apply(&store, tenant.as_deref(), ctx).await,
            Finalizer::Cleanup(store) => cleanup(&store, ctx).await,
        }
    })
    .await;
    let action = finalizer_outcome(action)?;
    ctx.failures.clear(&uid);
    Ok(action)
}

/// Who a Store in a namespace belongs to.
enum Owner {
    Ours(Arc<Tenant>),
    /// No Tenant owns the namespace.
    Missing,
    /// A Tenant this operator does not reconcile.
    NotOurs,
}

async fn owner(namespace: &str, ctx: &Context) -> Result<Owner> {
    let Some(name) = names::tenant_name_of_namespace(namespace) else {
        return Ok(Owner::Missing);
    };
    if let Some(tenant) = ctx.tenants.get(&ObjectRef::new(name)) {
        return Ok(Owner::Ours(tenant));
    }
    // The cache holds only the Tenants this operator reconciles; ask the
    // apiserver whether the Tenant exists at all.
    let exists = Api::<Tenant>::all(ctx.client.clone())
        .get_metadata_opt(name)
        .await?
        .is_some();
    Ok(if exists { Owner::NotOurs } else { Owner::Missing })
}

async fn apply(store: &Store, tenant: Option<&Tenant>, ctx: &Context) -> Result<Action> {
    let outcome = match tenant {
        None => Err(Provision::Blocked(Blocked::new(
            StoreReason::TenantNotFound,
            format!(
                "no Tenant owns namespace {}: a Store lives in its tenant's namespace tenant-<tenant name>",
                store.namespace().unwrap_or_default()
            ),
        ))),
        Some(tenant) => provision(store, tenant, ctx).await,
    };
    let mut status = store.status.clone().unwrap_or_default();
    let now = Timestamp::now().to_string();
    let generation = store.metadata.generation;
    let (reason, message) = match &outcome {
        Ok(provisioned) => {
            status.store_id = Some(provisioned.store_id.clone());
            status.api_key_secret = Some(provisioned.secret_name.clone());
            let message = format!(
                "in the tenant's database; API keys in Secret {}",
                provisioned.secret_name
            );
            (StoreReason::Ready, message)
        }
        Err(Provision::Blocked(blocked)) => (blocked.reason, blocked.message.clone()),
        Err(Provision::Failed(error)) => (StoreReason::Failed(error.reason()), error.to_string()),
    };
    let became_ready = reason == StoreReason::Ready && status.phase != Some(StorePhase::Ready);
    status.phase = Some(reason.phase());
    status.observed_generation = generation;
    let state = ConditionStatus::from_bool(reason == StoreReason::Ready);
    set_condition(
        &mut status.conditions,
        Condition::new("Ready", state, reason.as_str(), &message, generation, &now),
    );
    let changed = store.status.as_ref() != Some(&status);
    write_status(ctx, store, status).await?;
    match outcome {
        Ok(_) => {
            if became_ready {
                ctx.event(store, false, reason.as_str(), message).await;
            }
            Ok(Action::requeue(ctx.config.resync()))
        }
        Err(Provision::Blocked(_)) => {
            if changed {
                ctx.event(store, true, reason.as_str(), message).await;
            }
            // Tenant and sibling changes trigger a reconcile; this is a safety net.
            Ok(Action::requeue(ctx.config.resync()))
        }
        Err(Provision::Failed(error)) => {
            ctx.event(store, true, reason.as_str(), error.to_string()).await;
            Err(error)
        }
    }
}

struct Provisioned {
    store_id: String,
    secret_name: String,
}

enum Provision {
    /// Cannot proceed until a person or the Tenant changes something.
    Blocked(Blocked),
    /// Something failed that retrying may fix.
    Failed(Error),
}

impl From<Error> for Provision {
    fn from(error: Error) -> Self {
        Self::Failed(error)
    }
}

async fn provision(store: &Store, tenant: &Tenant, ctx: &Context) -> Result<Provisioned, Provision> {
    let namespace = store.namespace().unwrap_or_default();
    build::admit(store, tenant).map_err(Provision::Blocked)?;

    let store_uid = store.uid().ok_or(Error::MissingObjectKey(".metadata.uid"))?;
    let tenant_uid = tenant.uid().ok_or(Error::MissingObjectKey(".metadata.uid"))?;
    let tenant_name = tenant.name_any();
    let secret_name = names::api_key_secret_name(&store.name_any());
    // No cache holds Secrets (see `children`): as read or written lately, or
    // one read.
    let secrets = Api::<Secret>::namespaced(ctx.client.clone(), &namespace);
    let existing = ctx.known_secrets.get(&secrets, &secret_name).await?;

    // Nothing to do: the SQL ran recently for this very spec, row and keys,
    // and the Secret still holds them. No round trip to PostgreSQL.
    let recorded_id = store.status.as_ref().and_then(|s| s.store_id.clone());
    if let (Some(existing), Some(store_id)) = (&existing, &recorded_id)
        && let Some(keys) = ApiKeys::from_secret(existing)
        && ctx
            .store_sql
            .recent(&store_uid, sql_inputs(store, &tenant_uid, store_id, &keys))
            .is_some()
        && build::secret_holds(
            existing,
            &build::api_key_secret(store, &tenant_name, store_id, &keys),
        )
    {
        return Ok(Provisioned {
            store_id: store_id.clone(),
            secret_name,
        });
    }

    let server = &tenant.spec.database.server;
    let admin = ctx.servers.admin(server).await?;
    let mut conn = admin
        .connect_as_owner(&DatabaseNames::for_tenant_uid(&tenant_uid))
        .await?;
    let store_id = database::upsert_store(&mut conn, store, &store_uid, build::max_stores(tenant))
        .await
        .map_err(database(server))?
        .ok_or_else(|| Provision::Blocked(build::quota_exceeded(tenant)))?;

    // Keys: the Secret's own when they may still be used, else new ones
    // (first reconcile, a deleted Secret, or an edited one).
    // A Secret of that name the Store does not control was made by someone
    // else, perhaps with keys they chose: never write it or use it.
    if let Some(secret) = &existing
        && !children::controlled_by(&secret.metadata, &store_uid)
    {
        return Err(Error::Conflict(ChildRef::of(secret)).into());
    }
    let reusable = match existing.as_ref().and_then(ApiKeys::from_secret) {
        Some(keys)
            if database::keys_usable(&mut conn, &store_id, &keys)
                .await
                .map_err(database(server))? =>
        {
            Some(keys)
        }
        _ => None,
    };
    let keys = reusable.clone().unwrap_or_else(ApiKeys::generate);
    let mut desired = build::api_key_secret(store, &tenant_name, &store_id, &keys);
    match (&existing, reusable) {
        // Unchanged: no write. Besides saving a request, this keeps a
        // reconcile that read the Secret just before someone deleted it (to
        // rotate the keys) from bringing the old keys back.
        (Some(existing), Some(_)) if build::secret_holds(existing, &desired) => {}
        (Some(existing), Some(_)) => {
            // Repair only the version we read: a concurrent change (or a copy
            // of ours older than it) is a conflict, and the next try reads.
            desired.metadata.resource_version = existing.metadata.resource_version.clone();
            let written = ctx.apply(&secrets, &desired).await;
            if written.is_err() {
                ctx.known_secrets.forget(&namespace, &secret_name);
            }
            ctx.known_secrets.remember(&written?);
        }
        _ => {
            ctx.known_secrets.remember(&ctx.apply(&secrets, &desired).await?);
        }
    }
    database::activate_keys(&mut conn, &store_id, &keys)
        .await
        .map_err(database(server))?;
    ctx.store_sql
        .record(&store_uid, sql_inputs(store, &tenant_uid, &store_id, &keys), ());
    Ok(Provisioned {
        store_id,
        secret_name,
    })
}

/// The fingerprint of what a Store's SQL depends on: its spec and
/// annotations (a person touching the Store makes it run again), its
/// Tenant, its row and its keys.
fn sql_inputs(store: &Store, tenant_uid: &str, store_id: &str, keys: &ApiKeys) -> u64 {
    sql_fingerprint((
        store.metadata.generation,
        &store.metadata.annotations,
        tenant_uid,
        store_id,
        keys.hashes(),
    ))
}

/// Store deleted: archive its row and revoke its keys. When its Tenant is
/// gone or going, the Tenant's own cleanup decides the database's fate.
async fn cleanup(store: &Store, ctx: &Context) -> Result<Action> {
    ctx.store_sql.forget(&store.uid().unwrap_or_default());
    let namespace = store.namespace().unwrap_or_default();
    let Some(name) = names::tenant_name_of_namespace(&namespace) else {
        return Ok(Action::await_change());
    };
    let tenant = Api::<Tenant>::all(ctx.client.clone()).get_opt(name).await?;
    let Some(tenant) = tenant.filter(|t| t.metadata.deletion_timestamp.is_none()) else {
        return Ok(Action::await_change());
    };
    if tenant.status.as_ref().and_then(|s| s.database.as_ref()).is_none() {
        return Ok(Action::await_change());
    }
    let server = &tenant.spec.database.server;
    let archived = async {
        let admin = ctx.servers.admin(server).await?;
        let tenant_uid = tenant.uid().ok_or(Error::MissingObjectKey(".metadata.uid"))?;
        let mut conn = admin
            .connect_as_owner(&DatabaseNames::for_tenant_uid(&tenant_uid))
            .await?;
        database::archive_store(&mut conn, &store.uid().unwrap_or_default())
            .await
            .map_err(database(server))
    }
    .await;
    match archived {
        Ok(true) => {
            let note = "archived in the tenant's database; its API keys are revoked".to_owned();
            ctx.event(store, false, "Archived", note).await;
            Ok(Action::await_change())
        }
        Ok(false) => Ok(Action::await_change()),
        Err(error) => {
            let mut status = store.status.clone().unwrap_or_default();
            status.phase = Some(StorePhase::Deleting);
            let now = Timestamp::now().to_string();
            let message = format!("cannot archive the store yet, will retry: {error}");
            let condition = Condition::new(
                "Ready",
                ConditionStatus::False,
                StoreReason::DeletionBlocked.as_str(),
                message,
                store.metadata.generation,
                &now,
            );
            set_condition(&mut status.conditions, condition);
            write_status(ctx, store, status).await?;
            Err(error)
        }
    }
}

/// Writes the status only when it differs, so steady state costs no writes.
async fn write_status(ctx: &Context, store: &Store, status: StoreStatus) -> Result<()> {
    if store.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let api = Api::<Store>::namespaced(ctx.client.clone(), &store.namespace().unwrap_or_default());
    ctx.patch_status(&api, store, &status).await
}
