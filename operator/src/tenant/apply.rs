//! Writing a Tenant's desired state, stage by stage, each reporting a typed
//! outcome; a failed stage stops the pipeline there.
//!
//! Order matters for crash safety, so that a crash at any line leaves state
//! the next reconcile finishes:
//! - the database Secret, holding the runtime password, is written before
//!   the role gets that password (a crash in between leaves a password the
//!   next run sets again, never a role whose password nobody knows);
//! - the owner-invite Secret is written before the token's hash goes into the
//!   database (a crash in between leaves a token the next run records, never
//!   an invitation nobody can accept);
//! - children no longer desired are deleted only after everything desired is
//!   written.
//!
//! Each child is written only when its cached copy (for a Secret, the copy
//! `observe` read) does not already hold what is desired, and the SQL runs only when its inputs changed or it has not
//! run recently (`Context::tenant_sql`), so a reconcile with nothing to change
//! makes no writes and no SQL round trips.

use k8s_openapi::Resource as _;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use sqlx::{Connection, PgConnection};

use super::desired::{Desired, ExistingSecrets};
use super::observe::Observed;
use super::status::{Facts, Outcome, Stage, TenantReason};
use super::{database, invite};
use crate::children::{self, ChildKind, ChildRef};
use crate::context::Context;
use crate::crd::{DatabaseStatus, Tenant};
use crate::error::{Error, Result, database};
use crate::names;
use crate::postgres::Admin;

/// What the stages reported, what they learnt, and the error that stopped
/// them, if one did.
pub struct Applied {
    pub reports: Vec<(Stage, Outcome)>,
    pub facts: Facts,
    pub error: Option<Error>,
}

pub async fn apply(tenant: &Tenant, desired: &Desired, observed: Observed, ctx: &Context) -> Applied {
    let uid = tenant.uid().unwrap_or_default();
    // The SQL ran with these very inputs a moment ago: running it again
    // would change nothing.
    let sql_recent = ctx.tenant_sql.recent(&uid, desired.sql.inputs);
    let mut run = Run {
        tenant,
        desired,
        ctx,
        sql_recent,
        facts: Facts {
            store_count: i32::try_from(observed.store_count).unwrap_or(i32::MAX),
            ..Facts::default()
        },
        namespace_is_new: false,
        namespace_absent: observed.namespace_absent,
        secrets: observed.secrets,
        owner: None,
    };
    let mut reports = Vec::new();
    let (admin, mut admin_error) = match observed.admin {
        Ok(admin) => (Some(admin), None),
        Err(error) => (None, Some(error)),
    };
    let mut error = None;
    for stage in Stage::ALL {
        let outcome = match (stage, &admin) {
            (Stage::Namespace, _) => run.namespace().await,
            (Stage::Database, Some(admin)) => run.database(admin).await,
            // Without its server's admin connection, the database stage fails.
            (Stage::Database, None) => Err(admin_error.take().expect("no admin connection, so its error")),
            (Stage::Credentials, _) => run.credentials().await,
            (Stage::Api, _) => run.api(&observed.prunable).await,
        };
        match outcome {
            Ok(outcome) => reports.push((stage, outcome)),
            Err(failure) => {
                reports.push((stage, Outcome::Failed(failure.reason(), failure.to_string())));
                error = Some(failure);
                break;
            }
        }
    }
    if error.is_none()
        && sql_recent.is_none()
        && let Some(schema_version) = run.facts.database.as_ref().and_then(|d| d.schema_version)
    {
        ctx.tenant_sql.record(&uid, desired.sql.inputs, schema_version);
    }
    Applied {
        reports,
        facts: run.facts,
        error,
    }
}

struct Run<'a> {
    tenant: &'a Tenant,
    desired: &'a Desired,
    ctx: &'a Context,
    /// The schema version, when the SQL need not run (see [`apply`]).
    sql_recent: Option<i64>,
    facts: Facts,
    /// The namespace was created by this reconcile (see
    /// `Context::ensure_in_new_namespace`).
    namespace_is_new: bool,
    /// The apiserver said, during this reconcile, that the namespace does
    /// not exist: it is created without another look.
    namespace_absent: bool,
    /// The Secrets as `observe` read them.
    secrets: ExistingSecrets,
    /// The owner's connection the database stage migrated on, for the
    /// credentials stage's invitation.
    owner: Option<PgConnection>,
}

impl Run<'_> {
    /// Makes a child in the tenant's namespace hold what is desired.
    async fn ensure<K: ChildKind>(&self, desired: &K) -> Result<K> {
        if self.namespace_is_new {
            self.ctx.ensure_in_new_namespace(desired).await
        } else {
            self.ctx.ensure(desired).await
        }
    }

    /// Makes a Secret hold what is desired, given what was read of it.
    async fn ensure_secret(&self, desired: &Secret, existing: Option<&Secret>) -> Result<Secret> {
        let secret = if self.namespace_is_new {
            self.ctx.ensure_in_new_namespace(desired).await?
        } else {
            self.ctx.ensure_over(desired, existing).await?
        };
        self.ctx.known_secrets.remember(&secret);
        Ok(secret)
    }

    /// The namespace, the operator's access to its Secrets (see `access`),
    /// and the plan's guard rails.
    async fn namespace(&mut self) -> Result<Outcome> {
        let Desired {
            namespace,
            role_binding,
            resource_quota,
            limit_range,
            network_policy,
            ..
        } = self.desired;
        let cached = self
            .ctx
            .children
            .namespaces
            .get(&ObjectRef::from_obj(namespace))
            .is_some();
        if self.namespace_absent {
            self.ctx.ensure_over(namespace, None).await?;
        } else {
            self.ctx.ensure(namespace).await?;
        }
        // Not in the cache, yet ours now: made by this very call.
        self.namespace_is_new = !cached;
        self.ensure(role_binding).await?;
        self.ensure(resource_quota).await?;
        self.ensure(limit_range).await?;
        self.ensure(network_policy).await?;
        let name = namespace.name_any();
        let message = format!(
            "namespace {name} with the {:?} plan's quota",
            self.tenant.spec.plan
        );
        self.facts.namespace = Some(name);
        Ok(Outcome::Done(TenantReason::Created, message))
    }

    /// The password's Secret first, then roles, database and schema.
    async fn database(&mut self, admin: &Admin) -> Result<Outcome> {
        let sql = &self.desired.sql;
        let db_secret = self
            .desired
            .db_secret
            .as_ref()
            .expect("the server's address is known once its admin connection is");
        self.ensure_secret(db_secret, self.secrets.db.as_ref()).await?;
        let schema_version = match self.sql_recent {
            Some(version) => version,
            None => {
                // Built only when it runs: it holds the password's SCRAM
                // verifier, thousands of rounds of hashing.
                let server_plan = database::server_plan(&sql.names, &self.desired.values.password);
                admin.apply_server_plan(&server_plan).await?;
                let mut owner = admin.connect_as_owner(&sql.names).await?;
                let version = admin.migrate(&mut owner, &sql.grants).await?;
                self.owner = Some(owner);
                version
            }
        };
        self.facts.database = Some(DatabaseStatus {
            server: sql.server.clone(),
            name: sql.names.database.clone(),
            owner_role: sql.names.owner_role.clone(),
            runtime_role: sql.names.runtime_role.clone(),
            schema_version: Some(schema_version),
        });
        let message = format!(
            "database {} on {} at schema version {schema_version}",
            sql.names.database, sql.server
        );
        Ok(Outcome::Done(TenantReason::Migrated, message))
    }

    /// The signing keys, then the owner's invitation: its Secret before the
    /// token's hash in the database.
    async fn credentials(&mut self) -> Result<Outcome> {
        let desired = self.desired;
        self.ensure_secret(&desired.jwt_secret, self.secrets.jwt.as_ref())
            .await?;
        self.ensure_secret(&desired.owner_invite_secret, self.secrets.owner_invite.as_ref())
            .await?;
        // The database stage's connection, when it ran the SQL.
        if let Some(mut owner) = self.owner.take() {
            let server = &desired.sql.server;
            invite::record_owner_invitation(
                &mut owner,
                &desired.sql.owner_email,
                &desired.values.invite_token,
            )
            .await
            .map_err(database(server))?;
            owner.close().await.map_err(database(server))?;
        }
        let name = self.tenant.name_any();
        let message = format!(
            "Secrets {}, {} and {}",
            names::db_secret_name(&name),
            names::jwt_secret_name(&name),
            names::owner_invite_secret_name(&name)
        );
        Ok(Outcome::Done(TenantReason::Written, message))
    }

    /// The API's Deployment, Service and disruption budget, if its image may
    /// run; then the children no longer desired go.
    async fn api(&mut self, prunable: &[ChildRef]) -> Result<Outcome> {
        let config = &self.ctx.config;
        if let Some(image) = &self.tenant.spec.api.image
            && !config.allows_image(image)
        {
            return Err(Error::ImageNotAllowed {
                image: image.clone(),
                prefix: config.allowed_image_prefix.clone(),
            });
        }
        let desired = self.desired;
        let deployment = self.ensure(&desired.deployment).await?;
        self.ensure(&desired.service).await?;
        if let Some(pdb) = &desired.pod_disruption_budget {
            self.ensure(pdb).await?;
        }
        prune(self.ctx, prunable, &desired.prunable()).await?;
        self.facts.api_endpoint = Some(names::api_endpoint(&self.tenant.name_any()));

        let replicas = desired.replicas;
        let available = deployment.status.and_then(|s| s.available_replicas).unwrap_or(0);
        let message = format!("{available}/{replicas} API replicas available");
        Ok(if replicas == 0 {
            Outcome::Waiting(TenantReason::ScaledToZero, message)
        } else if available >= replicas {
            Outcome::Done(TenantReason::Available, message)
        } else {
            Outcome::Waiting(TenantReason::Unavailable, message)
        })
    }
}

/// Deletes the children that exist but are no longer desired.
///
/// Only the kinds that may stop being desired are checked: today the
/// PodDisruptionBudget, which exists only with more than one API replica.
/// Every other child is desired on every reconcile under a fixed name, so it
/// cannot become an orphan while its Tenant exists, and goes with the Tenant
/// through its owner reference. Checking them would cost nothing (the caches
/// hold them) but would need a delete permission the operator has no use for.
/// A kind of child that becomes optional joins here, in `Desired::prunable`,
/// `observe` and the RBAC rules.
async fn prune(ctx: &Context, existing: &[ChildRef], desired: &[ChildRef]) -> Result<()> {
    for child in children::undesired(existing, desired) {
        match child.kind {
            PodDisruptionBudget::KIND => ctx.delete_child::<PodDisruptionBudget>(&child).await?,
            other => unreachable!("{other} is not a kind that may stop being desired"),
        }
    }
    Ok(())
}
