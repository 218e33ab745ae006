//! `Tenant`: a business on Shopfleet (cluster-scoped).

use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

/// A business on Shopfleet. The operator gives it a namespace `tenant-<name>`,
/// a PostgreSQL database with its own roles, credentials, and its own API.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "shopfleet.io",
    version = "v1alpha1",
    kind = "Tenant",
    shortname = "tn",
    category = "shopfleet",
    label("app.kubernetes.io/part-of", "shopfleet"),
    status = "TenantStatus",
    derive = "PartialEq",
    doc = "A business on Shopfleet: the operator gives it a namespace tenant-<name>, a PostgreSQL database with its own roles, credentials and its own API.",
    printcolumn(name = "Plan", type_ = "string", json_path = ".spec.plan"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Stores", type_ = "integer", json_path = ".status.storeCount"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.metadata.name.size() <= 56 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')")
        .message("metadata.name must be a DNS label of at most 56 characters: the tenant's namespace is tenant-<name>")
        .reason(Reason::FieldValueInvalid),
)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    /// The plan sets the defaults for API replicas, quota, store limit and
    /// request rate.
    #[serde(default)]
    pub plan: Plan,

    /// The first owner of the tenant's API.
    pub owner: TenantOwner,

    /// Where and how the tenant's data lives.
    #[serde(default)]
    pub database: TenantDatabase,

    /// The tenant's API Deployment.
    #[serde(default)]
    pub api: TenantApi,

    /// Scales the API to zero while keeping all data; phase becomes Suspended.
    #[serde(default)]
    pub suspended: bool,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    #[default]
    Starter,
    Growth,
    Enterprise,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
pub struct TenantOwner {
    /// E-mail address of the first owner; the operator writes an invitation for it.
    #[schemars(length(max = 254))]
    #[x_kube(
        validation = Rule::new("self.matches('^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$')")
            .message("spec.owner.email must be an e-mail address such as owner@example.com")
            .reason(Reason::FieldValueInvalid)
    )]
    pub email: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantDatabase {
    /// Name of a PostgreSQL server the operator is configured with. Immutable:
    /// the data does not move with it.
    #[serde(default = "default_server")]
    #[schemars(length(min = 1, max = 63))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.database.server is immutable").reason(Reason::FieldValueForbidden))]
    pub server: String,

    /// What happens to the database when the Tenant is deleted.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

impl Default for TenantDatabase {
    fn default() -> Self {
        Self {
            server: default_server(),
            deletion_policy: DeletionPolicy::default(),
        }
    }
}

fn default_server() -> String {
    "default".to_owned()
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep the database and its roles; an Event says where they are.
    #[default]
    Retain,
    /// Drop the database and the roles the operator created.
    Delete,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantApi {
    /// API replicas (0-20); the plan's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 20))]
    pub replicas: Option<i32>,

    /// API container image; the operator's configured default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub image: Option<String>,

    /// CPU and memory of each API container; the plan's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// Minutes an order may stay unpaid before it is cancelled and its
    /// stock released: 0 (never) to 10080 (a week); 30 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10080))]
    pub pending_order_minutes: Option<u32>,

    /// What one customer may hold in unpaid orders, so that nobody keeps a
    /// store's stock reserved; each field's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_limits: Option<TenantOrderLimits>,
}

/// Per-customer caps on unpaid orders, and the booking horizon.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantOrderLimits {
    /// Unpaid orders a customer may have in one store: 1-100; 5 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub max_pending_orders: Option<u32>,

    /// Units a customer's unpaid orders may hold in one store: 1-10000; 100 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_pending_units: Option<u32>,

    /// How many days ahead a night may be booked: 1-1095; 365 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1095))]
    pub booking_horizon_days: Option<u32>,

    /// Orders a customer may place per minute: 1-600; 10 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 600))]
    pub orders_per_minute: Option<u32>,
}

impl TenantOrderLimits {
    /// The limits the API enforces: these, or each default.
    pub fn resolve(limits: Option<&Self>) -> shopfleet_contract::OrderLimits {
        let limits = limits.cloned().unwrap_or_default();
        shopfleet_contract::OrderLimits {
            max_pending_orders: limits.max_pending_orders.unwrap_or(5),
            max_pending_units: limits.max_pending_units.unwrap_or(100),
            booking_horizon_days: limits.booking_horizon_days.unwrap_or(365),
            orders_per_minute: limits.orders_per_minute.unwrap_or(10),
        }
    }
}

/// What the operator last observed and did.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<TenantPhase>,

    /// The `.metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// NamespaceReady, DatabaseReady, CredentialsReady, ApiReady and Ready.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,

    /// The tenant's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseStatus>,

    /// In-cluster URL of the tenant's API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_endpoint: Option<String>,

    /// Stores of this tenant that exist (Ready or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_count: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TenantPhase {
    Provisioning,
    Ready,
    Degraded,
    Suspended,
    Paused,
    Deleting,
}

/// The tenant's database, with names derived from the Tenant's uid so that a
/// recreated Tenant of the same name never inherits old data.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatus {
    pub server: String,
    pub name: String,
    pub owner_role: String,
    pub runtime_role: String,
    /// Version of the newest migration applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<i64>,
}

impl TenantPhase {
    /// The phase's name, as a metric label (a fixed set).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "Provisioning",
            Self::Ready => "Ready",
            Self::Degraded => "Degraded",
            Self::Suspended => "Suspended",
            Self::Paused => "Paused",
            Self::Deleting => "Deleting",
        }
    }
}
