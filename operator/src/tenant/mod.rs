//! The Tenant controller. A reconcile is a pipeline:
//! dereference (what exists) → build (pure, in `build`, `database`, `secrets`,
//! `jwt`) → apply (server-side, in order, each step idempotent) → status.
//!
//! Order matters for crash safety: the database Secret (holding the runtime
//! password) is written before the role gets that password, so a crash at any
//! line leaves state the next reconcile finishes.

pub mod build;
pub mod database;
pub mod invite;
pub mod jwt;
pub mod plan;
pub mod secrets;

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{DeleteParams, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, ResourceExt};
use sqlx::Connection;

use crate::context::Context;
use crate::crd::{
    Condition, ConditionStatus, DatabaseStatus, DeletionPolicy, Store, Tenant, TenantPhase, TenantStatus,
    is_true, set_condition,
};
use crate::error::{Error, Result, finalizer_outcome};
use database::DatabaseNames;
use jwt::{KeySet, RotationPolicy};
use plan::PlanDefaults;

pub const FINALIZER: &str = "shopfleet.io/tenant-cleanup";
pub const PAUSED_ANNOTATION: &str = "shopfleet.io/paused";

/// Whether a person asked the operator to leave `object` alone.
pub fn is_paused(object: &impl ResourceExt) -> bool {
    object.annotations().get(PAUSED_ANNOTATION).map(String::as_str) == Some("true")
}
pub const ROTATE_JWT_ANNOTATION: &str = "shopfleet.io/rotate-jwt";

/// Signing keys rotate monthly; access tokens live 15 minutes (the API's
/// setting), which is how long a retired key keeps verifying.
const JWT_POLICY: RotationPolicy = RotationPolicy {
    period: SignedDuration::from_hours(24 * 30),
    token_lifetime: SignedDuration::from_mins(15),
};

/// Even with nothing to do, look again this often (key rotation, drift the
/// watches cannot see, such as the database).
const RESYNC: Duration = Duration::from_secs(15 * 60);

/// The conditions a Tenant reports, in pipeline order; `Ready` sums them up.
const STAGES: [&str; 4] = ["NamespaceReady", "DatabaseReady", "CredentialsReady", "ApiReady"];

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
    let uid = tenant.uid().unwrap_or_default();
    let action = finalizer(&api, FINALIZER, tenant, |event| async {
        match event {
            Finalizer::Apply(tenant) => apply(&tenant, ctx).await,
            Finalizer::Cleanup(tenant) => cleanup(&tenant, ctx).await,
        }
    })
    .await;
    let action = finalizer_outcome(action)?;
    ctx.failures.clear(&uid);
    Ok(action)
}

/// Tracks the status as the pipeline goes, so a failure at any stage is
/// reported on that stage's condition.
struct Progress {
    status: TenantStatus,
    generation: Option<i64>,
    now: String,
    stage: usize,
}

impl Progress {
    fn done(&mut self, reason: &str, message: impl Into<String>) {
        self.set(STAGES[self.stage], ConditionStatus::True, reason, message);
        self.stage += 1;
    }

    fn set(&mut self, type_: &str, status: ConditionStatus, reason: &str, message: impl Into<String>) {
        let condition = Condition::new(type_, status, reason, message, self.generation, &self.now);
        set_condition(&mut self.status.conditions, condition);
    }
}

async fn apply(tenant: &Tenant, ctx: &Context) -> Result<Action> {
    let mut progress = Progress {
        status: tenant.status.clone().unwrap_or_default(),
        generation: tenant.metadata.generation,
        now: Timestamp::now().to_string(),
        stage: 0,
    };
    let outcome = provision(tenant, ctx, &mut progress).await;
    let Progress {
        mut status,
        generation,
        now,
        stage,
    } = progress;
    let ready = match &outcome {
        Ok(()) => {
            let all = STAGES.iter().all(|s| is_true(&status.conditions, s));
            let (state, reason, message) = if tenant.spec.suspended {
                (
                    ConditionStatus::False,
                    "Suspended",
                    "the API is scaled to zero (spec.suspended)",
                )
            } else if all {
                (
                    ConditionStatus::True,
                    "Ready",
                    "the tenant is provisioned and its API is available",
                )
            } else {
                (
                    ConditionStatus::False,
                    "Provisioning",
                    "waiting for the API to become available",
                )
            };
            status.phase = Some(match (tenant.spec.suspended, all) {
                (true, _) => TenantPhase::Suspended,
                (false, true) => TenantPhase::Ready,
                (false, false) => TenantPhase::Provisioning,
            });
            Condition::new("Ready", state, reason, message, generation, &now)
        }
        Err(error) => {
            let failed = STAGES[stage.min(STAGES.len() - 1)];
            let message = error.to_string();
            set_condition(
                &mut status.conditions,
                Condition::new(
                    failed,
                    ConditionStatus::False,
                    error.reason(),
                    &message,
                    generation,
                    &now,
                ),
            );
            status.phase = Some(TenantPhase::Degraded);
            Condition::new(
                "Ready",
                ConditionStatus::False,
                error.reason(),
                message,
                generation,
                &now,
            )
        }
    };
    let became_ready = ready.status == ConditionStatus::True && !is_true(&status.conditions, "Ready");
    set_condition(&mut status.conditions, ready);
    status.observed_generation = generation;
    write_status(ctx, tenant, status).await?;
    match outcome {
        Ok(()) => {
            if became_ready {
                ctx.event(
                    tenant,
                    false,
                    "Ready",
                    "tenant provisioned; its API is available".into(),
                )
                .await;
            }
            Ok(Action::requeue(RESYNC))
        }
        Err(error) => {
            ctx.event(tenant, true, error.reason(), error.to_string()).await;
            Err(error)
        }
    }
}

/// The pipeline proper: each step writes its children and marks its stage.
async fn provision(tenant: &Tenant, ctx: &Context, progress: &mut Progress) -> Result<()> {
    let name = tenant.name_any();
    let uid = tenant.uid().ok_or(Error::MissingObjectKey(".metadata.uid"))?;
    let plan = PlanDefaults::of(tenant.spec.plan);
    let namespace = build::namespace_name(&name);
    let client = &ctx.client;

    // Namespace and the plan's guard rails.
    ctx.apply(&Api::<Namespace>::all(client.clone()), &build::namespace(tenant))
        .await?;
    ctx.apply(
        &Api::namespaced(client.clone(), &namespace),
        &build::resource_quota(tenant, &plan),
    )
    .await?;
    ctx.apply(
        &Api::<LimitRange>::namespaced(client.clone(), &namespace),
        &build::limit_range(tenant, &plan),
    )
    .await?;
    ctx.apply(
        &Api::<NetworkPolicy>::namespaced(client.clone(), &namespace),
        &build::network_policy(tenant),
    )
    .await?;
    progress.status.namespace = Some(namespace.clone());
    progress.done(
        "Created",
        format!(
            "namespace {namespace} with the {:?} plan's quota",
            tenant.spec.plan
        ),
    );

    // Database: password first (kept in the Secret), then roles, database, schema.
    let server = &tenant.spec.database.server;
    let names = DatabaseNames::for_tenant_uid(&uid);
    let secrets = Api::<Secret>::namespaced(client.clone(), &namespace);
    let db_secret_name = build::db_secret_name(&name);
    let password = secrets
        .get_opt(&db_secret_name)
        .await?
        .and_then(|secret| secrets::read(&secret, "password"))
        .filter(|p| database::is_valid_password(p))
        .unwrap_or_else(crate::random_password);
    let admin = ctx.servers.admin(server).await?;
    let credentials = secrets::DbCredentials::at(&names, &password, admin.host_port());
    ctx.apply(&secrets, &secrets::db_secret(tenant, &credentials))
        .await?;
    admin
        .apply_server_plan(&database::server_plan(&names, &password))
        .await?;
    let schema_version = admin.migrate(&names, &database::grants_plan(&names)).await?;
    progress.status.database = Some(DatabaseStatus {
        server: server.clone(),
        name: names.database.clone(),
        owner_role: names.owner_role.clone(),
        runtime_role: names.runtime_role.clone(),
        schema_version: Some(schema_version),
    });
    progress.done(
        "Migrated",
        format!(
            "database {} on {server} at schema version {schema_version}",
            names.database
        ),
    );

    // Signing keys: created once, rotated on schedule or on request.
    let jwt_name = build::jwt_secret_name(&name);
    let existing_keys = secrets
        .get_opt(&jwt_name)
        .await?
        .and_then(|secret| secrets::read(&secret, jwt::KEYS_FILE))
        .and_then(|json| serde_json::from_str::<KeySet>(&json).ok());
    let now = Timestamp::now();
    let request = tenant
        .annotations()
        .get(ROTATE_JWT_ANNOTATION)
        .map(String::as_str);
    let keys = existing_keys
        .unwrap_or_else(|| KeySet::new(now))
        .reconciled(now, JWT_POLICY, request);
    ctx.apply(&secrets, &secrets::jwt_secret(tenant, &keys)).await?;

    // The first owner's invitation: the Secret first, then the token's hash in
    // the database, so a crash between the two leaves a token the next
    // reconcile records rather than one nobody knows.
    let invite_name = build::owner_invite_secret_name(&name);
    let token = secrets
        .get_opt(&invite_name)
        .await?
        .and_then(|existing| secrets::owner_invite_token(tenant, &existing))
        .unwrap_or_else(invite::generate_token);
    ctx.apply(&secrets, &secrets::owner_invite_secret(tenant, &token))
        .await?;
    let mut owner = admin.connect_as_owner(&names).await?;
    invite::record_owner_invitation(&mut owner, &tenant.spec.owner.email, &token)
        .await
        .map_err(crate::error::database(server))?;
    owner.close().await.map_err(crate::error::database(server))?;
    progress.done(
        "Written",
        format!("Secrets {db_secret_name}, {jwt_name} and {invite_name}"),
    );

    // The API: Deployment, Service, and a PodDisruptionBudget when it has replicas to spare.
    let image = tenant.spec.api.image.as_deref().unwrap_or(&ctx.config.api_image);
    let deployments = Api::<Deployment>::namespaced(client.clone(), &namespace);
    let deployment = build::api_deployment(tenant, &plan, image, &secrets::db_secret_version(&password));
    let deployment = ctx.apply(&deployments, &deployment).await?;
    ctx.apply(
        &Api::<Service>::namespaced(client.clone(), &namespace),
        &build::api_service(tenant),
    )
    .await?;
    let replicas = build::api_replicas(tenant, &plan);
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), &namespace);
    match build::api_pod_disruption_budget(tenant, replicas) {
        Some(pdb) => {
            ctx.apply(&pdbs, &pdb).await?;
        }
        None => {
            if pdbs.get_opt(&build::api_name(&name)).await?.is_some() {
                pdbs.delete(&build::api_name(&name), &DeleteParams::default())
                    .await?;
            }
        }
    }
    progress.status.api_endpoint = Some(build::api_endpoint(&name));
    let available = deployment.status.and_then(|s| s.available_replicas).unwrap_or(0);
    if replicas > 0 && available >= replicas {
        progress.done(
            "Available",
            format!("{available}/{replicas} API replicas available"),
        );
    } else {
        let reason = if replicas == 0 {
            "ScaledToZero"
        } else {
            "Unavailable"
        };
        let message = format!("{available}/{replicas} API replicas available");
        progress.set("ApiReady", ConditionStatus::False, reason, message);
    }

    let stores = Api::<Store>::namespaced(client.clone(), &namespace);
    let count = stores.list_metadata(&ListParams::default()).await?.items.len();
    progress.status.store_count = Some(i32::try_from(count).unwrap_or(i32::MAX));
    Ok(())
}

/// Tenant deleted: drop or keep its database as the policy says. The namespace
/// and everything in it go with the Tenant through owner references.
async fn cleanup(tenant: &Tenant, ctx: &Context) -> Result<Action> {
    let Some(db) = tenant.status.as_ref().and_then(|s| s.database.as_ref()) else {
        return Ok(Action::await_change());
    };
    let uid = tenant.uid().ok_or(Error::MissingObjectKey(".metadata.uid"))?;
    let names = DatabaseNames::for_tenant_uid(&uid);
    match tenant.spec.database.deletion_policy {
        DeletionPolicy::Retain => {
            let note = format!(
                "database {} and roles kept on server {} (deletionPolicy Retain)",
                db.name, db.server
            );
            ctx.event(tenant, false, "DatabaseRetained", note).await;
        }
        DeletionPolicy::Delete => {
            let admin = ctx.servers.admin(&db.server).await?;
            let dropped = admin.drop_tenant(&names, &database::drop_plan(&names)).await;
            match dropped {
                Ok(true) => {
                    let note = format!("database {} and its roles dropped on {}", db.name, db.server);
                    ctx.event(tenant, false, "DatabaseDropped", note).await;
                }
                Ok(false) => {
                    let note = format!("{} is not marked as this tenant's: left untouched", db.name);
                    ctx.event(tenant, true, "DatabaseNotOwned", note).await;
                }
                Err(error) => {
                    let mut status = tenant.status.clone().unwrap_or_default();
                    status.phase = Some(TenantPhase::Deleting);
                    let now = Timestamp::now().to_string();
                    let condition = Condition::new(
                        "DatabaseReady",
                        ConditionStatus::False,
                        "DeletionBlocked",
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
