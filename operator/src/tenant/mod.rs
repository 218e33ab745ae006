//! The Tenant controller. A reconcile is a pipeline:
//! observe (what exists, from the watch caches: `observe`) → desire (every
//! child and the SQL, a pure function: `desired`) → apply (stage by stage,
//! writing only what differs: `apply`, which documents the order crash
//! safety needs) → status (derived from the stages' typed outcomes: `status`).

pub mod access;
pub mod apply;
pub mod build;
pub mod database;
pub mod desired;
pub mod invite;
pub mod jwt;
pub mod observe;
pub mod scram;
pub mod secrets;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, ResourceExt};

use crate::context::Context;
use crate::crd::{
    Condition, ConditionStatus, DeletionPolicy, Tenant, TenantPhase, TenantStatus, is_paused, set_condition,
};
use crate::error::{Error, Result, finalizer_outcome};
use crate::names::DatabaseNames;
use crate::postgres::Dropped;
use access::{Look, NamespaceSeen};
use desired::Inputs;
use status::{Outcome, Stage, TenantReason};

pub use desired::ROTATE_JWT_ANNOTATION;

pub const FINALIZER: &str = "shopfleet.io/tenant-cleanup";

/// How long a reconcile waits for the children's caches to fill after the
/// operator starts; until then a child missing from them may only not be
/// listed yet.
const CACHE_SYNC_WAIT: Duration = Duration::from_secs(30);

pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action> {
    let measure = ctx.metrics.reconcile_started("tenant");
    let result = reconcile_tenant(tenant, &ctx).await;
    measure.finish(result.as_ref().err().map(Error::category));
    result
}

async fn reconcile_tenant(tenant: Arc<Tenant>, ctx: &Arc<Context>) -> Result<Action> {
    let api = Api::<Tenant>::all(ctx.client.clone());
    if is_paused(tenant.as_ref()) {
        let mut status = tenant.status.clone().unwrap_or_default();
        status.phase = Some(TenantPhase::Paused);
        write_status(ctx, &tenant, status).await?;
        return Ok(Action::await_change());
    }
    if tokio::time::timeout(CACHE_SYNC_WAIT, ctx.children.wait_until_ready())
        .await
        .is_err()
    {
        tracing::warn!("the caches of the Tenants' children are not filled yet");
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let uid = tenant.uid().unwrap_or_default();
    let action = finalizer(&api, FINALIZER, tenant, |event| async {
        match event {
            Finalizer::Apply(tenant) => provision(&tenant, ctx).await,
            Finalizer::Cleanup(tenant) => cleanup(&tenant, ctx).await,
        }
    })
    .await;
    let action = finalizer_outcome(action)?;
    ctx.failures.clear(&uid);
    Ok(action)
}

/// The pipeline: observe → desire → apply → status.
async fn provision(tenant: &Tenant, ctx: &Context) -> Result<Action> {
    tenant.uid().ok_or(Error::MissingObjectKey(".metadata.uid"))?;
    let mut observed = match observe::observe(tenant, ctx).await {
        Ok(observed) => observed,
        Err(error) => return report_unobserved(tenant, ctx, error).await,
    };
    let inputs = Inputs {
        api_image: &ctx.config.api_image,
        trusted_proxies: &ctx.config.trusted_proxies.0,
        api_client_namespaces: &ctx.config.api_client_namespaces,
        metrics_namespaces: &ctx.config.metrics_namespaces,
        tenant_role: &ctx.config.tenant_role,
        operator: &ctx.operator,
        database: observed.admin.as_ref().ok().map(crate::postgres::Admin::endpoint),
        now: Timestamp::now(),
        fresh_password: crate::random_password(),
        fresh_invite_token: invite::generate_token(),
    };
    let mut desired = desired::desired(tenant, &observed.secrets, &inputs);
    if desired.changes_secret_values {
        // About to generate or rotate: decide on what the apiserver holds,
        // not on a namespace cache that may lag behind our own last write.
        match observe::secrets(tenant, ctx, Look::Apiserver).await {
            Ok((namespace, secrets)) => {
                observed.namespace_absent = namespace == NamespaceSeen::Absent;
                observed.secrets = secrets;
            }
            Err(error) => return report_unobserved(tenant, ctx, error).await,
        }
        desired = desired::desired(tenant, &observed.secrets, &inputs);
    }
    let applied = apply::apply(tenant, &desired, observed, ctx).await;
    let outcome = match applied.error {
        Some(error) => Err(error),
        None => Ok(()),
    };
    report(tenant, ctx, &applied.reports, applied.facts, outcome).await
}

/// What exists could not be read (the namespace's Secrets, or the
/// operator's access to them): the pipeline stops before its first stage.
async fn report_unobserved(tenant: &Tenant, ctx: &Context, error: Error) -> Result<Action> {
    let failed = Outcome::Failed(error.reason(), error.to_string());
    report(
        tenant,
        ctx,
        &[(Stage::Namespace, failed)],
        Default::default(),
        Err(error),
    )
    .await
}

/// Writes the status derived from the stages' outcomes, records the Events a
/// person should see, and says when to look again.
async fn report(
    tenant: &Tenant,
    ctx: &Context,
    reports: &[(Stage, Outcome)],
    facts: status::Facts,
    outcome: Result<()>,
) -> Result<Action> {
    let previous = tenant.status.as_ref();
    let status = status::derive(
        previous,
        reports,
        facts,
        tenant.spec.suspended,
        tenant.metadata.generation,
        &Timestamp::now().to_string(),
    );
    let became_ready = status::became_ready(previous, &status);
    write_status(ctx, tenant, status).await?;
    match outcome {
        Ok(()) => {
            if became_ready {
                let note = "tenant provisioned; its API is available".to_owned();
                ctx.event(tenant, false, TenantReason::Ready.as_str(), note).await;
            }
            Ok(Action::requeue(ctx.config.resync()))
        }
        Err(error) => {
            ctx.event(tenant, true, error.reason().as_str(), error.to_string())
                .await;
            Err(error)
        }
    }
}

/// Tenant deleted: drop or keep its database as the policy says. The namespace
/// and everything in it go with the Tenant through owner references.
///
/// The database's names come from the uid and its server from the spec (it
/// is immutable), not from the status: a crash between creating the database
/// and writing the status must not leave the database and a LOGIN role behind.
async fn cleanup(tenant: &Tenant, ctx: &Context) -> Result<Action> {
    let uid = tenant.uid().ok_or(Error::MissingObjectKey(".metadata.uid"))?;
    ctx.tenant_sql.forget(&uid);
    let names = DatabaseNames::for_tenant_uid(&uid);
    let server = &tenant.spec.database.server;
    match tenant.spec.database.deletion_policy {
        DeletionPolicy::Retain => {
            let note = format!(
                "database {} and roles kept on server {server} (deletionPolicy Retain)",
                names.database
            );
            ctx.event(tenant, false, "DatabaseRetained", note).await;
        }
        DeletionPolicy::Delete => {
            let admin = match ctx.servers.admin(server).await {
                Ok(admin) => admin,
                // A server the operator is not configured with: it made nothing there.
                Err(Error::UnknownServer(_)) => return Ok(Action::await_change()),
                Err(error) => return Err(error),
            };
            let dropped = admin.drop_tenant(&names, &database::drop_plan(&names)).await;
            match dropped {
                Ok(Dropped::Dropped) => {
                    let note = format!("database {} and its roles dropped on {server}", names.database);
                    ctx.event(tenant, false, "DatabaseDropped", note).await;
                }
                Ok(Dropped::NothingThere) => {}
                Ok(Dropped::NotOurs) => {
                    let note = format!(
                        "{} is not marked as this tenant's: left untouched",
                        names.database
                    );
                    ctx.event(tenant, true, "DatabaseNotOwned", note).await;
                }
                Err(error) => {
                    let mut status = tenant.status.clone().unwrap_or_default();
                    status.phase = Some(TenantPhase::Deleting);
                    let now = Timestamp::now().to_string();
                    let condition = Condition::new(
                        Stage::Database.condition_type(),
                        ConditionStatus::False,
                        TenantReason::DeletionBlocked.as_str(),
                        format!("cannot drop the database yet, will retry: {error}"),
                        tenant.metadata.generation,
                        &now,
                    );
                    set_condition(&mut status.conditions, condition);
                    write_status(ctx, tenant, status).await?;
                    return Err(error);
                }
            }
        }
    }
    Ok(Action::await_change())
}

/// Writes the status only when it differs, so steady state costs no writes.
async fn write_status(ctx: &Context, tenant: &Tenant, status: TenantStatus) -> Result<()> {
    if tenant.status.as_ref() == Some(&status) {
        return Ok(());
    }
    ctx.patch_status(&Api::all(ctx.client.clone()), tenant, &status)
        .await
}
