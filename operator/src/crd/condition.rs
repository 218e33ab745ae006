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

impl ConditionStatus {
    pub fn from_bool(holds: bool) -> Self {
        if holds { Self::True } else { Self::False }
    }
}

impl Condition {
    /// A condition observed at `generation`, stamped with `now` (RFC 3339).
    pub fn new(
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: impl Into<String>,
        generation: Option<i64>,
        now: &str,
    ) -> Self {
        Self {
            type_: type_.to_owned(),
            status,
            reason: reason.to_owned(),
            message: message.into(),
            last_transition_time: now.to_owned(),
            observed_generation: generation,
        }
    }
}

/// Puts `new` into `conditions`, replacing the one of the same type. The
/// transition time only moves when the status changes, as Kubernetes expects.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time.clone_from(&old.last_transition_time);
            }
            *old = new;
        }
        None => conditions.push(new),
    }
}

/// Whether the condition of this type is present and True.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == ConditionStatus::True)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(status: ConditionStatus, reason: &str, now: &str) -> Condition {
        Condition::new("Ready", status, reason, "", Some(1), now)
    }

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let mut conditions = vec![ready(ConditionStatus::False, "Provisioning", "t1")];
        set_condition(
            &mut conditions,
            ready(ConditionStatus::False, "DatabaseUnavailable", "t2"),
        );
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].reason, "DatabaseUnavailable");
        assert_eq!(conditions[0].last_transition_time, "t1");

        set_condition(&mut conditions, ready(ConditionStatus::True, "Ready", "t3"));
        assert_eq!(conditions[0].last_transition_time, "t3");
        assert!(is_true(&conditions, "Ready"));
    }

    #[test]
    fn conditions_of_other_types_are_kept() {
        let mut conditions = vec![Condition::new(
            "DatabaseReady",
            ConditionStatus::True,
            "Ready",
            "",
            None,
            "t1",
        )];
        set_condition(
            &mut conditions,
            ready(ConditionStatus::False, "Provisioning", "t2"),
        );
        assert_eq!(conditions.len(), 2);
        assert!(is_true(&conditions, "DatabaseReady"));
        assert!(!is_true(&conditions, "Ready"));
    }
}
