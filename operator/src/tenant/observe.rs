//! Reading what exists for a Tenant: from the watch caches, the children it
//! controls that may stop being desired and its Stores; from the apiserver,
//! its Secrets (which no cache holds: see `children`); and the admin
//! connection of its database server (see `postgres::Servers`).

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};

use super::access::{self, Look, NamespaceSeen};
use super::desired::ExistingSecrets;
use crate::children::{self, ChildRef};
use crate::context::Context;
use crate::crd::Tenant;
use crate::error::Result;
use crate::names;
use crate::postgres::Admin;

pub struct Observed {
    /// The apiserver said, during this reconcile, that the Tenant's
    /// namespace does not exist (the cache alone cannot say so: it may lag).
    pub namespace_absent: bool,
    pub secrets: ExistingSecrets,
    /// The server's admin connection, or why there is none.
    pub admin: Result<Admin>,
    /// The children of kinds that may stop being desired that this Tenant
    /// controls (`apply::prune` deletes those no longer desired).
    pub prunable: Vec<ChildRef>,
    pub store_count: usize,
}

/// What exists: the caches, and the Secrets (none while the namespace is
/// not there; read from the apiserver unless read or written lately). The admin Secret is read at most once a minute
/// per server.
pub async fn observe(tenant: &Tenant, ctx: &Context) -> Result<Observed> {
    let name = tenant.name_any();
    let namespace = names::namespace_name(&name);
    let (_, secrets) = secrets(tenant, ctx, Look::Cache).await?;
    let uid = tenant.uid().unwrap_or_default();
    let store_count = ctx
        .stores
        .state()
        .iter()
        .filter(|store| store.namespace().as_deref() == Some(namespace.as_str()))
        .count();
    Ok(Observed {
        namespace_absent: false,
        secrets,
        admin: ctx.servers.admin(&tenant.spec.database.server).await,
        prunable: children::owned_by_tenant(&ctx.children.pod_disruption_budgets, &name, &uid),
        store_count,
    })
}

/// The Tenant's namespace as `look` sees it (see `access::tenant_namespace`),
/// and its Secrets if it is the Tenant's: as the operator read or wrote them
/// lately (`known_secrets`), or with `Look::Apiserver` as the apiserver has
/// them now.
pub async fn secrets(tenant: &Tenant, ctx: &Context, look: Look) -> Result<(NamespaceSeen, ExistingSecrets)> {
    let namespace = access::tenant_namespace(tenant, ctx, look).await?;
    if namespace != NamespaceSeen::Ours {
        return Ok((namespace, ExistingSecrets::default()));
    }
    let name = tenant.name_any();
    let api = Api::<Secret>::namespaced(ctx.client.clone(), &names::namespace_name(&name));
    let known = &ctx.known_secrets;
    let get = async |secret_name: String| match look {
        Look::Cache => known.get(&api, &secret_name).await,
        Look::Apiserver => known.read(&api, &secret_name).await,
    };
    let secrets = ExistingSecrets {
        db: get(names::db_secret_name(&name)).await?,
        jwt: get(names::jwt_secret_name(&name)).await?,
        owner_invite: get(names::owner_invite_secret_name(&name)).await?,
    };
    Ok((namespace, secrets))
}
