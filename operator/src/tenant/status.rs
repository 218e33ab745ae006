//! A Tenant's status, derived (purely) from what each stage of the pipeline
//! reported: one condition per stage, and `Ready` summing them up.

use crate::crd::{
    Condition, ConditionStatus, DatabaseStatus, TenantPhase, TenantStatus, is_true, set_condition,
};
use crate::error::FailureReason;

/// The stages of a Tenant's pipeline, in the order they are applied, each
/// reported as a condition of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The namespace and the plan's guard rails.
    Namespace,
    /// The database Secret, the roles, the database and its schema.
    Database,
    /// The signing keys and the owner's invitation.
    Credentials,
    /// The API's Deployment, Service and disruption budget.
    Api,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Self::Namespace, Self::Database, Self::Credentials, Self::Api];

    /// The type of the condition that reports this stage.
    pub fn condition_type(self) -> &'static str {
        match self {
            Self::Namespace => "NamespaceReady",
            Self::Database => "DatabaseReady",
            Self::Credentials => "CredentialsReady",
            Self::Api => "ApiReady",
        }
    }
}

/// The reason of a Tenant's condition, rendered as the CamelCase word users
/// see and alert on (`docs/operator.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantReason {
    /// The namespace and its guard rails are written.
    Created,
    /// The database is at the latest schema version.
    Migrated,
    /// The Secrets the API needs are written.
    Written,
    /// Enough API replicas are available.
    Available,
    /// Not enough API replicas are available yet.
    Unavailable,
    /// The API has no replicas (suspended).
    ScaledToZero,
    Ready,
    Suspended,
    Provisioning,
    /// The database cannot be dropped yet (deletion waits).
    DeletionBlocked,
    Failed(FailureReason),
}

impl TenantReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Migrated => "Migrated",
            Self::Written => "Written",
            Self::Available => "Available",
            Self::Unavailable => "Unavailable",
            Self::ScaledToZero => "ScaledToZero",
            Self::Ready => "Ready",
            Self::Suspended => "Suspended",
            Self::Provisioning => "Provisioning",
            Self::DeletionBlocked => "DeletionBlocked",
            Self::Failed(failure) => failure.as_str(),
        }
    }
}

/// How a stage ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything of the stage holds.
    Done(TenantReason, String),
    /// Written, but waiting on something that takes time (the API's pods).
    Waiting(TenantReason, String),
    /// The stage failed; later stages did not run.
    Failed(FailureReason, String),
}

/// What the pipeline learnt besides the stages' outcomes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    pub namespace: Option<String>,
    pub database: Option<DatabaseStatus>,
    pub api_endpoint: Option<String>,
    pub store_count: i32,
}

/// The status after a reconcile: `previous` with a condition per stage that
/// reported, `Ready` and the phase derived from the reports, and the facts.
/// A stage that did not report (an earlier one failed) keeps its condition.
pub fn derive(
    previous: Option<&TenantStatus>,
    reports: &[(Stage, Outcome)],
    facts: Facts,
    suspended: bool,
    generation: Option<i64>,
    now: &str,
) -> TenantStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let condition = |stage: &str, state, reason: &str, message: &str| {
        Condition::new(stage, state, reason, message, generation, now)
    };
    for (stage, outcome) in reports {
        let (state, reason, message) = match outcome {
            Outcome::Done(reason, message) => (ConditionStatus::True, reason.as_str(), message),
            Outcome::Waiting(reason, message) => (ConditionStatus::False, reason.as_str(), message),
            Outcome::Failed(reason, message) => (ConditionStatus::False, reason.as_str(), message),
        };
        set_condition(
            &mut status.conditions,
            condition(stage.condition_type(), state, reason, message),
        );
    }
    let failure = reports.iter().find_map(|(_, outcome)| match outcome {
        Outcome::Failed(reason, message) => Some((*reason, message.clone())),
        _ => None,
    });
    let all_done = Stage::ALL.iter().all(|stage| {
        reports
            .iter()
            .any(|(reported, outcome)| reported == stage && matches!(outcome, Outcome::Done(..)))
    });
    let (phase, state, reason, message) = match failure {
        Some((reason, message)) => (
            TenantPhase::Degraded,
            ConditionStatus::False,
            TenantReason::Failed(reason),
            message,
        ),
        None if suspended => (
            TenantPhase::Suspended,
            ConditionStatus::False,
            TenantReason::Suspended,
            "the API is scaled to zero (spec.suspended)".to_owned(),
        ),
        None if all_done => (
            TenantPhase::Ready,
            ConditionStatus::True,
            TenantReason::Ready,
            "the tenant is provisioned and its API is available".to_owned(),
        ),
        None => (
            TenantPhase::Provisioning,
            ConditionStatus::False,
            TenantReason::Provisioning,
            "waiting for the API to become available".to_owned(),
        ),
    };
    set_condition(
        &mut status.conditions,
        condition("Ready", state, reason.as_str(), &message),
    );
    status.phase = Some(phase);
    status.observed_generation = generation;
    let Facts {
        namespace,
        database,
        api_endpoint,
        store_count,
    } = facts;
    status.namespace = namespace.or(status.namespace);
    status.database = database.or(status.database);
    status.api_endpoint = api_endpoint.or(status.api_endpoint);
    status.store_count = Some(store_count);
    status
}

/// Whether `status` just became Ready, given the status before.
pub fn became_ready(previous: Option<&TenantStatus>, status: &TenantStatus) -> bool {
    is_true(&status.conditions, "Ready") && !previous.is_some_and(|p| is_true(&p.conditions, "Ready"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(stage: Stage) -> (Stage, Outcome) {
        (stage, Outcome::Done(TenantReason::Created, String::new()))
    }

    fn condition<'a>(status: &'a TenantStatus, type_: &str) -> &'a Condition {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("{type_} in {:?}", status.conditions))
    }

    #[test]
    fn ready_when_every_stage_is_done() {
        let reports = Stage::ALL.map(done);
        let status = derive(None, &reports, Facts::default(), false, Some(3), "t1");
        assert_eq!(status.phase, Some(TenantPhase::Ready));
        for stage in Stage::ALL {
            assert!(is_true(&status.conditions, stage.condition_type()));
        }
        let ready = condition(&status, "Ready");
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            (ConditionStatus::True, "Ready")
        );
        assert_eq!(ready.observed_generation, Some(3));
        assert_eq!(status.observed_generation, Some(3));
        assert!(became_ready(None, &status));
        assert!(!became_ready(Some(&status), &status));
    }

    #[test]
    fn an_api_still_coming_up_is_provisioning() {
        let mut reports = Stage::ALL.map(done).to_vec();
        reports[3] = (
            Stage::Api,
            Outcome::Waiting(TenantReason::Unavailable, "0/1 API replicas available".to_owned()),
        );
        let status = derive(None, &reports, Facts::default(), false, None, "t1");
        assert_eq!(status.phase, Some(TenantPhase::Provisioning));
        let api = condition(&status, "ApiReady");
        assert_eq!(
            (api.status, api.reason.as_str()),
            (ConditionStatus::False, "Unavailable")
        );
        assert_eq!(condition(&status, "Ready").reason, "Provisioning");

        let suspended = derive(None, &reports, Facts::default(), true, None, "t1");
        assert_eq!(suspended.phase, Some(TenantPhase::Suspended));
        assert_eq!(condition(&suspended, "Ready").reason, "Suspended");
    }

    #[test]
    fn a_failed_stage_is_reported_on_its_condition_and_later_ones_keep_theirs() {
        let before = derive(
            None,
            &Stage::ALL.map(done),
            Facts::default(),
            false,
            Some(1),
            "t1",
        );
        let reports = [
            done(Stage::Namespace),
            (
                Stage::Database,
                Outcome::Failed(FailureReason::DatabaseUnavailable, "refused".to_owned()),
            ),
        ];
        let facts = Facts {
            store_count: 2,
            ..Facts::default()
        };
        let status = derive(Some(&before), &reports, facts, false, Some(2), "t2");
        assert_eq!(status.phase, Some(TenantPhase::Degraded));
        let database = condition(&status, "DatabaseReady");
        assert_eq!(
            (
                database.status,
                database.reason.as_str(),
                database.message.as_str()
            ),
            (ConditionStatus::False, "DatabaseUnavailable", "refused")
        );
        assert_eq!(database.last_transition_time, "t2");
        let ready = condition(&status, "Ready");
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            (ConditionStatus::False, "DatabaseUnavailable")
        );
        // Not reached this time: as they were.
        assert_eq!(condition(&status, "ApiReady"), condition(&before, "ApiReady"));
        assert_eq!(status.store_count, Some(2));
    }

    #[test]
    fn facts_not_learnt_this_time_are_kept() {
        let facts = Facts {
            namespace: Some("tenant-acme".to_owned()),
            api_endpoint: Some("http://acme-api.tenant-acme.svc:80".to_owned()),
            ..Facts::default()
        };
        let before = derive(None, &Stage::ALL.map(done), facts, false, None, "t1");
        let after = derive(Some(&before), &[], Facts::default(), false, None, "t2");
        assert_eq!(after.namespace.as_deref(), Some("tenant-acme"));
        assert_eq!(after.api_endpoint, before.api_endpoint);
    }

    #[test]
    fn reasons_render_as_documented() {
        assert_eq!(TenantReason::ScaledToZero.as_str(), "ScaledToZero");
        assert_eq!(
            TenantReason::Failed(FailureReason::AdminCredentialsInvalid).as_str(),
            "AdminCredentialsInvalid"
        );
    }
}
