//! The RoleBinding that gives the operator the right to handle Secrets in a
//! tenant's namespace, and nowhere else: the operator's cluster-wide rules
//! hold none to Secrets. It binds the chart's narrow ClusterRole
//! (`--tenant-role`) to the operator's own subject, and is a child of the
//! Tenant like any other, so it goes with the namespace.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};

use super::build::namespaced_metadata;
use crate::children;
use crate::context::Context;
use crate::crd::Tenant;
use crate::error::{Error, Result};
use crate::names;

/// The name of the operator's RoleBinding in every tenant namespace.
pub const OPERATOR_ROLE_BINDING: &str = "shopfleet-operator";

/// Binds ClusterRole `role` to `operator` in `tenant`'s namespace.
pub fn operator_role_binding(tenant: &Tenant, role: &str, operator: &Subject) -> RoleBinding {
    RoleBinding {
        metadata: namespaced_metadata(tenant, OPERATOR_ROLE_BINDING),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: "ClusterRole".to_owned(),
            name: role.to_owned(),
        },
        subjects: Some(vec![operator.clone()]),
    }
}

/// Where to look for the Tenant's namespace.
#[derive(Clone, Copy, Debug)]
pub enum Look {
    /// The watch cache: no request.
    Cache,
    /// The apiserver, for a decision the cache may be behind on.
    Apiserver,
}

/// The Tenant's namespace, as a [`Look`] saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamespaceSeen {
    /// The Tenant's own, the operator's RoleBinding made sure of in it: its
    /// Secrets can be read.
    Ours,
    /// One of that name that the Tenant does not control: the namespace
    /// stage reports it.
    NotOurs,
    /// None of that name.
    Absent,
}

/// The Tenant's namespace as `look` sees it; when it is the Tenant's own,
/// the operator's RoleBinding is made sure of in it, so that its Secrets
/// can be read. The pipeline makes the binding right after the
/// namespace; this covers a namespace that has none yet (made by an operator
/// from before the binding, or a crash between the two writes), whose
/// Secrets the operator could otherwise never read.
pub async fn tenant_namespace(tenant: &Tenant, ctx: &Context, look: Look) -> Result<NamespaceSeen> {
    let uid = tenant.uid().ok_or(Error::MissingObjectKey(".metadata.uid"))?;
    let name = names::namespace_name(&tenant.name_any());
    let seen = |namespace: Option<&Namespace>| match namespace {
        None => NamespaceSeen::Absent,
        Some(namespace) if children::controlled_by(&namespace.metadata, &uid) => NamespaceSeen::Ours,
        Some(_) => NamespaceSeen::NotOurs,
    };
    let seen = match look {
        Look::Cache => seen(ctx.children.namespaces.get(&ObjectRef::new(&name)).as_deref()),
        Look::Apiserver => seen(
            Api::<Namespace>::all(ctx.client.clone())
                .get_opt(&name)
                .await?
                .as_ref(),
        ),
    };
    if seen == NamespaceSeen::Ours {
        let binding = operator_role_binding(tenant, &ctx.config.tenant_role, &ctx.operator);
        ctx.ensure(&binding).await?;
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::subject_of;
    use crate::tenant::build::tests::tenant;

    #[test]
    fn the_operator_is_bound_to_the_tenant_role_in_the_tenants_namespace_only() {
        let operator = subject_of("system:serviceaccount:shopfleet-system:shopfleet-operator");
        let binding = operator_role_binding(&tenant(), "shopfleet-operator-tenant", &operator);
        assert_eq!(binding.metadata.name.as_deref(), Some("shopfleet-operator"));
        assert_eq!(binding.metadata.namespace.as_deref(), Some("tenant-acme"));
        assert_eq!(binding.role_ref.kind, "ClusterRole");
        assert_eq!(binding.role_ref.name, "shopfleet-operator-tenant");
        assert_eq!(binding.subjects, Some(vec![operator]));
        let owner = &binding.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("Tenant", Some(true)));
    }
}
