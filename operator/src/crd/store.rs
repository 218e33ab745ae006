//! `Store`: a shop of a tenant, living in the tenant's namespace.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

/// A shop of a business. Create it in the tenant's namespace (`tenant-<name>`);
/// the operator adds it to the tenant's database and writes its API key Secret.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "shopfleet.io",
    version = "v1alpha1",
    kind = "Store",
    namespaced,
    shortname = "sto",
    category = "shopfleet",
    label("app.kubernetes.io/part-of", "shopfleet"),
    status = "StoreStatus",
    derive = "PartialEq",
    doc = "A shop of a business, in the tenant's namespace: the operator adds it to the tenant's database and writes its API key Secret.",
    printcolumn(name = "Industry", type_ = "string", json_path = ".spec.industry"),
    printcolumn(name = "Currency", type_ = "string", json_path = ".spec.currency"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct StoreSpec {
    /// The shop's name as people see it (1-100 characters).
    #[schemars(length(min = 1, max = 100))]
    pub display_name: String,

    /// What the shop sells, which decides the kinds of products and metrics it has.
    pub industry: Industry,

    /// ISO 4217 code of the currency prices are kept in, e.g. EUR. Immutable.
    #[x_kube(
        validation = Rule::new("self.matches('^[A-Z]{3}$')")
            .message("spec.currency must be an ISO 4217 code of three capital letters, e.g. EUR")
            .reason(Reason::FieldValueInvalid),
        validation = Rule::new("self == oldSelf").message("spec.currency is immutable").reason(Reason::FieldValueForbidden)
    )]
    pub currency: String,

    /// IANA time zone of the shop, e.g. Europe/Paris; days in reports start at its midnight.
    #[serde(default = "default_timezone")]
    #[schemars(length(min = 1, max = 64))]
    pub timezone: String,
}

fn default_timezone() -> String {
    "UTC".to_owned()
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Industry {
    /// Physical or digital goods.
    Retail,
    /// Venues selling room nights and tables.
    Hospitality,
    /// Events selling tickets.
    Events,
}

/// What the operator last observed and did.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<StorePhase>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready, with reasons such as QuotaExceeded, InvalidTimezone or TenantNotReady.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,

    /// The store's stable id in the tenant's database and API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,

    /// Name of the Secret with the store's API keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum StorePhase {
    Pending,
    Ready,
    Failed,
    Paused,
    Deleting,
}

impl StorePhase {
    /// The phase's name, as a metric label (a fixed set).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Ready => "Ready",
            Self::Failed => "Failed",
            Self::Paused => "Paused",
            Self::Deleting => "Deleting",
        }
    }
}
