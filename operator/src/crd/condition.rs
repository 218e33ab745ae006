//! The standard Kubernetes condition shape shared by Tenant and Store status.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One aspect of an object's state, in the shape `kubectl wait --for=condition=`
/// and every Kubernetes tool understand.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// What this condition is about, e.g. `Ready` or `DatabaseReady`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether the condition holds.
    pub status: ConditionStatus,
    /// A CamelCase word for why it is so, stable enough to alert on.
    pub reason: String,
    /// What happened, for a human.
    #[serde(default)]
    pub message: String,
    /// When `status` last changed (RFC 3339).
    pub last_transition_time: String,
    /// The `.metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}
