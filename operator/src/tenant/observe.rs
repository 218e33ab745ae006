//! Reading what exists for a Tenant, from the watch caches: its Secrets, the
//! children it controls that may stop being desired, its Stores, and the
//! admin connection of its database server (see `postgres::Servers`).

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};

use super::desired::ExistingSecrets;
use crate::children::{self, ChildRef};
use crate::context::Context;
use crate::crd::Tenant;
use crate::error::Result;
use crate::names;
use crate::postgres::Admin;

pub struct Observed {
    pub secrets: ExistingSecrets,
    /// The server's admin connection, or why there is none.
    pub admin: Result<Admin>,
    /// The children of kinds that may stop being desired that this Tenant
    /// controls (`apply::prune` deletes those no longer desired).
    pub prunable: Vec<ChildRef>,
    pub store_count: usize,
}

/// What exists, as the caches see it: no request to the apiserver (the admin
/// Secret is read at most once a minute per server).
pub async fn observe(tenant: &Tenant, ctx: &Context) -> Observed {
    let name = tenant.name_any();
    let namespace = names::namespace_name(&name);
    let cached = |secret_name: String| {
        let reference = ObjectRef::new(&secret_name).within(&namespace);
        ctx.children
            .tenant_secrets
            .get(&reference)
            .map(|secret| (*secret).clone())
    };
    let secrets = ExistingSecrets {
        db: cached(names::db_secret_name(&name)),
        jwt: cached(names::jwt_secret_name(&name)),
        owner_invite: cached(names::owner_invite_secret_name(&name)),
    };
    let uid = tenant.uid().unwrap_or_default();
    let store_count = ctx
        .stores
        .state()
        .iter()
        .filter(|store| store.namespace().as_deref() == Some(namespace.as_str()))
        .count();
    Observed {
        secrets,
        admin: ctx.servers.admin(&tenant.spec.database.server).await,
        prunable: children::owned_by_tenant(&ctx.children.pod_disruption_budgets, &name, &uid),
        store_count,
    }
}

/// The Tenant's Secrets as the apiserver has them now. The caches may not
/// have seen the operator's latest writes yet; before generating a value (a
/// password, a token, a key) that would replace one a Secret already holds,
/// the pipeline reads them here, so it never replaces a value by mistake.
pub async fn secrets_from_apiserver(tenant: &Tenant, ctx: &Context) -> Result<ExistingSecrets> {
    let name = tenant.name_any();
    let api = Api::<Secret>::namespaced(ctx.client.clone(), &names::namespace_name(&name));
    Ok(ExistingSecrets {
        db: api.get_opt(&names::db_secret_name(&name)).await?,
        jwt: api.get_opt(&names::jwt_secret_name(&name)).await?,
        owner_invite: api.get_opt(&names::owner_invite_secret_name(&name)).await?,
    })
}
