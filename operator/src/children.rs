//! The Kubernetes objects the operator writes for its Tenants and Stores (its
//! children), as its watch caches see them, and the two things a reconcile
//! does with them: make one hold what is desired, writing only when it does
//! not already (`Context::ensure`, with [`holds_desired`]), and find those no
//! longer desired ([`undesired`]).
//!
//! The caches are filled by the same watches that trigger the reconciles (see
//! `controller.rs`), so a reconcile woken by a change of a child already sees
//! that change. They can still lag behind the operator's own writes; whatever
//! depends on reading one's writes (the Secrets holding generated passwords,
//! tokens and keys) confirms with the apiserver before generating anything.
//!
//! Secrets have no cache: watching them would take the right to read every
//! Secret in the cluster, which the operator does not hold (it may read them
//! only in the tenant namespaces, through the RoleBinding each Tenant gets).
//! They are read from the apiserver when needed, and drift in them is
//! repaired by the periodic reconcile.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::RoleBinding;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::reflector::Store as Cache;
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::names::TENANT_LABEL;

/// The caches of every kind of child, filled by the watches that trigger the
/// reconciles of their owners.
#[derive(Clone)]
pub struct Children {
    pub namespaces: Cache<Namespace>,
    pub resource_quotas: Cache<ResourceQuota>,
    pub limit_ranges: Cache<LimitRange>,
    pub network_policies: Cache<NetworkPolicy>,
    pub role_bindings: Cache<RoleBinding>,
    pub deployments: Cache<Deployment>,
    pub services: Cache<Service>,
    pub pod_disruption_budgets: Cache<PodDisruptionBudget>,
}

impl Children {
    /// Waits until every cache holds its first complete list: before that, a
    /// child missing from a cache may only not be listed yet.
    pub async fn wait_until_ready(&self) -> bool {
        self.namespaces.wait_until_ready().await.is_ok()
            && self.resource_quotas.wait_until_ready().await.is_ok()
            && self.limit_ranges.wait_until_ready().await.is_ok()
            && self.network_policies.wait_until_ready().await.is_ok()
            && self.role_bindings.wait_until_ready().await.is_ok()
            && self.deployments.wait_until_ready().await.is_ok()
            && self.services.wait_until_ready().await.is_ok()
            && self.pod_disruption_budgets.wait_until_ready().await.is_ok()
    }
}

/// A kind of child: where its cache is (if it has one) and how to reach it
/// on the apiserver.
pub trait ChildKind:
    k8s_openapi::Resource
    + Resource<DynamicType = ()>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    fn cache(children: &Children) -> Option<&Cache<Self>>;
    fn api(client: Client, namespace: Option<&str>) -> Api<Self>;

    /// Drops, on the way into the cache, what no reconcile reads: the
    /// status, but for what is read of it. The comparison with the desired
    /// object never looks at status (nothing desired sets one), and a
    /// thousand Tenants' quotas' usage and Deployments' conditions are
    /// megabytes.
    fn trim(&mut self) {}
}

impl ChildKind for Namespace {
    fn cache(children: &Children) -> Option<&Cache<Self>> {
        Some(&children.namespaces)
    }
    fn api(client: Client, _: Option<&str>) -> Api<Self> {
        Api::all(client)
    }
    fn trim(&mut self) {
        self.status = None;
    }
}

macro_rules! namespaced_child {
    ($kind:ty, $cache:ident $(, trim: |$object:ident| $trim:expr)?) => {
        impl ChildKind for $kind {
            fn cache(children: &Children) -> Option<&Cache<Self>> {
                Some(&children.$cache)
            }
            fn api(client: Client, namespace: Option<&str>) -> Api<Self> {
                Api::namespaced(
                    client,
                    namespace.expect("a namespaced child names its namespace"),
                )
            }
            $(fn trim(&mut self) {
                let $object = self;
                $trim;
            })?
        }
    };
}

namespaced_child!(ResourceQuota, resource_quotas, trim: |quota| quota.status = None);
namespaced_child!(RoleBinding, role_bindings);
namespaced_child!(LimitRange, limit_ranges);

impl ChildKind for Secret {
    fn cache(_: &Children) -> Option<&Cache<Self>> {
        None
    }
    fn api(client: Client, namespace: Option<&str>) -> Api<Self> {
        Api::namespaced(client, namespace.expect("a Secret names its namespace"))
    }
}
namespaced_child!(NetworkPolicy, network_policies);
// The Tenant reports its API's available replicas.
namespaced_child!(Deployment, deployments, trim: |deployment| {
    deployment.status = deployment.status.take().map(|status| DeploymentStatus {
        available_replicas: status.available_replicas,
        ..DeploymentStatus::default()
    })
});
namespaced_child!(Service, services, trim: |service| service.status = None);
namespaced_child!(PodDisruptionBudget, pod_disruption_budgets, trim: |budget| budget.status = None);

/// Whether `existing` already holds everything `desired` sets: then there
/// is nothing to write.
pub fn holds_desired<K: ChildKind>(existing: &K, desired: &K) -> bool {
    holds(&to_value(existing), &to_value(desired))
}

fn to_value(object: &impl Serialize) -> Value {
    serde_json::to_value(object).expect("Kubernetes objects serialise")
}

/// Whether `observed` holds everything `desired` sets: each field of a
/// desired object is in the observed one with a value that holds it; lists
/// hold element by element and must be as long (a list is owned whole);
/// anything else must be equal.
pub fn holds(observed: &Value, desired: &Value) -> bool {
    match (observed, desired) {
        (Value::Object(observed), Value::Object(desired)) => desired
            .iter()
            .all(|(key, want)| observed.get(key).is_some_and(|have| holds(have, want))),
        (Value::Array(observed), Value::Array(desired)) => {
            observed.len() == desired.len()
                && observed.iter().zip(desired).all(|(have, want)| holds(have, want))
        }
        _ => observed == desired,
    }
}

/// A child by kind and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChildRef {
    pub kind: &'static str,
    pub namespace: Option<String>,
    pub name: String,
}

impl ChildRef {
    pub fn of<K: ChildKind>(object: &K) -> Self {
        Self {
            kind: K::KIND,
            namespace: object.meta().namespace.clone(),
            name: object.meta().name.clone().unwrap_or_default(),
        }
    }
}

/// The children that exist but are no longer desired: those to delete.
pub fn undesired(existing: &[ChildRef], desired: &[ChildRef]) -> Vec<ChildRef> {
    existing
        .iter()
        .filter(|child| !desired.contains(child))
        .cloned()
        .collect()
}

impl std::fmt::Display for ChildRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {namespace}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// The uid of the object that controls `meta`'s object (its owner reference
/// marked `controller`), if one does.
fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|owner| owner.controller == Some(true))
        .map(|owner| owner.uid.as_str())
}

/// Whether the object of uid `owner_uid` controls `meta`'s object.
pub fn controlled_by(meta: &ObjectMeta, owner_uid: &str) -> bool {
    controller_uid(meta) == Some(owner_uid)
}

/// Whether `existing`, which has the name of the child `desired` describes,
/// is that child: controlled by the same owner (the Tenant or Store of that
/// uid). Anything else was made by someone else, perhaps to be adopted (a
/// namespace created before its Tenant, Secrets planted with chosen signing
/// keys): the operator neither writes it nor uses what it holds.
pub fn is_ours<K: ChildKind>(existing: &K, desired: &K) -> bool {
    let owner = controller_uid(desired.meta()).expect("desired children name their controller");
    controlled_by(existing.meta(), owner)
}

/// The cached children of kind `K` that carry Tenant `tenant_name`'s label
/// and whose controller is the Tenant of uid `owner_uid`: only those the
/// operator made for this very Tenant, never anything it did not create.
pub fn owned_by_tenant<K: ChildKind>(cache: &Cache<K>, tenant_name: &str, owner_uid: &str) -> Vec<ChildRef> {
    cache
        .state()
        .iter()
        .filter(|child| {
            let meta = child.meta();
            let labelled = meta
                .labels
                .as_ref()
                .and_then(|labels| labels.get(TENANT_LABEL))
                .is_some_and(|tenant| tenant == tenant_name);
            labelled && controlled_by(meta, owner_uid)
        })
        .map(|child| ChildRef::of(child.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn what_the_apiserver_adds_does_not_count_but_a_changed_value_does() {
        let desired = json!({
            "metadata": {"name": "acme-api", "labels": {"a": "1"}},
            "spec": {"replicas": 1, "ports": [{"name": "http", "port": 80}]}
        });
        let defaulted = json!({
            "metadata": {"name": "acme-api", "uid": "u", "labels": {"a": "1", "other": "x"}},
            "spec": {"replicas": 1, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
                     "revisionHistoryLimit": 10},
            "status": {"availableReplicas": 1}
        });
        assert!(holds(&defaulted, &desired));

        let mut edited = defaulted.clone();
        edited["spec"]["replicas"] = json!(3);
        assert!(!holds(&edited, &desired));
        let mut unlabelled = defaulted.clone();
        unlabelled["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("a");
        assert!(!holds(&unlabelled, &desired));
        let mut extra_port = defaulted;
        extra_port["spec"]["ports"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "debug", "port": 9000}));
        assert!(!holds(&extra_port, &desired), "a list is owned whole");
    }

    #[test]
    fn secret_data_must_match_exactly() {
        let desired = json!({"data": {"password": "YWJj"}, "type": "Opaque"});
        assert!(holds(
            &json!({"data": {"password": "YWJj"}, "type": "Opaque"}),
            &desired
        ));
        assert!(!holds(
            &json!({"data": {"password": "ZXZpbA=="}, "type": "Opaque"}),
            &desired
        ));
        assert!(!holds(&json!({"type": "Opaque"}), &desired));
    }

    fn child(kind: &'static str, name: &str) -> ChildRef {
        ChildRef {
            kind,
            namespace: Some("tenant-acme".to_owned()),
            name: name.to_owned(),
        }
    }

    #[test]
    fn only_children_no_longer_desired_are_deleted() {
        let existing = [
            child("PodDisruptionBudget", "acme-api"),
            child("Deployment", "acme-api"),
        ];
        let scaled_down = [child("Deployment", "acme-api")];
        assert_eq!(
            undesired(&existing, &scaled_down),
            [child("PodDisruptionBudget", "acme-api")]
        );
        let scaled_up = [
            child("Deployment", "acme-api"),
            child("PodDisruptionBudget", "acme-api"),
        ];
        assert!(undesired(&existing, &scaled_up).is_empty());
        // Same name, other kind or namespace: another object.
        let mut elsewhere = child("PodDisruptionBudget", "acme-api");
        elsewhere.namespace = Some("tenant-other".to_owned());
        assert_eq!(undesired(&[elsewhere.clone()], &existing), [elsewhere]);
    }

    fn owned_by(uid: Option<&str>, controller: bool) -> Secret {
        let mut secret = Secret::default();
        secret.metadata.name = Some("acme-jwt".to_owned());
        secret.metadata.owner_references = uid.map(|uid| {
            vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                uid: uid.to_owned(),
                controller: Some(controller),
                kind: "Tenant".to_owned(),
                ..Default::default()
            }]
        });
        secret
    }

    #[test]
    fn only_a_child_its_owner_controls_is_ours() {
        let desired = owned_by(Some("tenant-uid"), true);
        assert!(is_ours(&owned_by(Some("tenant-uid"), true), &desired));
        assert!(!is_ours(&owned_by(None, false), &desired), "made by someone else");
        assert!(
            !is_ours(&owned_by(Some("other-uid"), true), &desired),
            "another Tenant's"
        );
        assert!(
            !is_ours(&owned_by(Some("tenant-uid"), false), &desired),
            "owned but not controlled"
        );
    }

    #[test]
    fn a_child_ref_names_kind_namespace_and_name() {
        let mut pdb = PodDisruptionBudget::default();
        pdb.metadata.name = Some("acme-api".to_owned());
        pdb.metadata.namespace = Some("tenant-acme".to_owned());
        assert_eq!(ChildRef::of(&pdb), child("PodDisruptionBudget", "acme-api"));
    }
}
