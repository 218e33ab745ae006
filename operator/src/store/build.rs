//! Pure parts of the Store controller: whether a Store may be provisioned,
//! its API keys, and the `<store>-api-key` Secret.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, ResourceExt};
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

use crate::crd::{Store, StorePhase, Tenant, is_true};
use crate::error::FailureReason;
use crate::names::{STORE_LABEL, api_key_secret_name, labels, namespace_name};
use crate::plan::PlanDefaults;
use crate::secret_data;

pub const SECRET_KEY: &str = "secretKey";
pub const PUBLISHABLE_KEY: &str = "publishableKey";
pub const STORE_ID_KEY: &str = "storeId";

const SECRET_KEY_PREFIX: &str = "sf_sk_";
const PUBLISHABLE_KEY_PREFIX: &str = "sf_pk_";

/// The reason of a Store's Ready condition, rendered as the CamelCase word
/// users see and alert on (`docs/operator.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreReason {
    Ready,
    /// Its Tenant's database is not ready yet.
    TenantNotReady,
    /// No Tenant owns its namespace.
    TenantNotFound,
    /// Its Tenant's plan has no place left.
    QuotaExceeded,
    InvalidTimezone,
    /// It cannot be archived yet (deletion waits).
    DeletionBlocked,
    Failed(FailureReason),
}

impl StoreReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "Ready",
            Self::TenantNotReady => "TenantNotReady",
            Self::TenantNotFound => "TenantNotFound",
            Self::QuotaExceeded => "QuotaExceeded",
            Self::InvalidTimezone => "InvalidTimezone",
            Self::DeletionBlocked => "DeletionBlocked",
            Self::Failed(failure) => failure.as_str(),
        }
    }

    /// The phase a Store with this reason is in: waiting on its Tenant is
    /// pending (it resumes by itself), anything else that stops it failed.
    pub fn phase(self) -> StorePhase {
        match self {
            Self::Ready => StorePhase::Ready,
            Self::TenantNotReady => StorePhase::Pending,
            Self::DeletionBlocked => StorePhase::Deleting,
            Self::TenantNotFound | Self::QuotaExceeded | Self::InvalidTimezone | Self::Failed(_) => {
                StorePhase::Failed
            }
        }
    }
}

/// Why a Store cannot be provisioned now. Each is reported on its Ready
/// condition and retried only when something changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    pub reason: StoreReason,
    pub message: String,
}

impl Blocked {
    pub fn new(reason: StoreReason, message: String) -> Self {
        Self { reason, message }
    }
}

/// Decides whether `store` may be provisioned now, given its Tenant. (The
/// plan's store limit is decided in the database, where concurrent
/// reconciles cannot both take the last place: see [`quota_exceeded`].)
pub fn admit(store: &Store, tenant: &Tenant) -> Result<(), Blocked> {
    if jiff::tz::db().get(&store.spec.timezone).is_err() {
        return Err(Blocked::new(
            StoreReason::InvalidTimezone,
            format!(
                "spec.timezone {:?} is not an IANA time zone name such as Europe/Paris or UTC",
                store.spec.timezone
            ),
        ));
    }
    let tenant_status = tenant.status.as_ref();
    let database_ready =
        tenant_status.is_some_and(|s| s.database.is_some() && is_true(&s.conditions, "DatabaseReady"));
    if tenant.meta().deletion_timestamp.is_some() || !database_ready {
        return Err(Blocked::new(
            StoreReason::TenantNotReady,
            format!(
                "waiting for Tenant {} to have its database ready",
                tenant.name_any()
            ),
        ));
    }
    Ok(())
}

/// How many stores the Tenant's plan allows.
pub fn max_stores(tenant: &Tenant) -> i64 {
    i64::from(PlanDefaults::of(tenant.spec.plan).max_stores)
}

/// The Tenant's stores are all taken: first come, first served, and a store
/// keeps its place once it is in the database.
pub fn quota_exceeded(tenant: &Tenant) -> Blocked {
    Blocked::new(
        StoreReason::QuotaExceeded,
        format!(
            "the {:?} plan of Tenant {} allows {} stores, and they are all in use: delete a Store or \
             change the plan",
            tenant.spec.plan,
            tenant.name_any(),
            max_stores(tenant)
        ),
    )
}

/// A store's pair of API keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeys {
    pub secret: String,
    pub publishable: String,
}

impl ApiKeys {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        Self {
            secret: format!("{SECRET_KEY_PREFIX}{}", Alphanumeric.sample_string(&mut rng, 32)),
            publishable: format!(
                "{PUBLISHABLE_KEY_PREFIX}{}",
                Alphanumeric.sample_string(&mut rng, 32)
            ),
        }
    }

    /// The keys in an existing Secret, if both are keys we could have made.
    pub fn from_secret(secret: &Secret) -> Option<Self> {
        let read = |key: &str| secret_data::read(secret, key);
        let keys = Self {
            secret: read(SECRET_KEY)?,
            publishable: read(PUBLISHABLE_KEY)?,
        };
        (is_key(&keys.secret, SECRET_KEY_PREFIX) && is_key(&keys.publishable, PUBLISHABLE_KEY_PREFIX))
            .then_some(keys)
    }

    /// What the database keeps: SHA-256 of each key, secret first.
    pub fn hashes(&self) -> [Vec<u8>; 2] {
        [sha256(&self.secret), sha256(&self.publishable)]
    }
}

fn is_key(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 32 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

pub fn sha256(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// `<store>-api-key`, owned by the Store so it goes with it.
pub fn api_key_secret(store: &Store, tenant_name: &str, store_id: &str, keys: &ApiKeys) -> Secret {
    let name = store.name_any();
    let mut labels = labels(tenant_name);
    labels.insert(STORE_LABEL.to_owned(), name.clone());
    let data = secret_data::entries([
        (STORE_ID_KEY, store_id),
        (SECRET_KEY, keys.secret.as_str()),
        (PUBLISHABLE_KEY, keys.publishable.as_str()),
    ]);
    Secret {
        metadata: ObjectMeta {
            name: Some(api_key_secret_name(&name)),
            namespace: Some(namespace_name(tenant_name)),
            labels: Some(labels),
            owner_references: Some(vec![
                store
                    .controller_owner_ref(&())
                    .expect("a store from the apiserver has a uid"),
            ]),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(data),
        ..Secret::default()
    }
}

/// Whether `existing` already holds everything `desired` sets (fields that
/// others added are theirs and do not count).
pub fn secret_holds(existing: &Secret, desired: &Secret) -> bool {
    let data = |secret: &Secret| secret.data.clone().unwrap_or_default();
    let (have, want) = (data(existing), data(desired));
    let labels = existing.metadata.labels.clone().unwrap_or_default();
    let owners = existing.metadata.owner_references.clone().unwrap_or_default();
    want.iter().all(|(k, v)| have.get(k) == Some(v))
        && desired
            .metadata
            .labels
            .iter()
            .flatten()
            .all(|(k, v)| labels.get(k) == Some(v))
        && desired
            .metadata
            .owner_references
            .iter()
            .flatten()
            .all(|o| owners.contains(o))
        && existing.type_ == desired.type_
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{
        Condition, ConditionStatus, DatabaseStatus, Industry, StoreSpec, TenantSpec, TenantStatus,
    };
    use k8s_openapi::ByteString;

    fn store(name: &str, timezone: &str) -> Store {
        let mut store = Store::new(
            name,
            StoreSpec {
                display_name: name.to_owned(),
                industry: Industry::Retail,
                currency: "EUR".to_owned(),
                timezone: timezone.to_owned(),
            },
        );
        store.metadata.namespace = Some("tenant-acme".to_owned());
        store.metadata.uid = Some(format!("uid-{name}"));
        store
    }

    fn tenant(database_ready: bool) -> Tenant {
        let spec: TenantSpec = serde_json::from_value(serde_json::json!({
            "plan": "starter", "owner": {"email": "owner@acme.test"}
        }))
        .unwrap();
        let mut tenant = Tenant::new("acme", spec);
        tenant.metadata.uid = Some("tenant-uid".to_owned());
        let status = if database_ready {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        tenant.status = Some(TenantStatus {
            database: Some(DatabaseStatus {
                server: "default".to_owned(),
                name: "sf_x".to_owned(),
                owner_role: "sf_x_owner".to_owned(),
                runtime_role: "sf_x_app".to_owned(),
                schema_version: Some(1),
            }),
            conditions: vec![Condition::new(
                "DatabaseReady",
                status,
                "R",
                "",
                None,
                "2026-01-01T00:00:00Z",
            )],
            ..TenantStatus::default()
        });
        tenant
    }

    #[test]
    fn the_quota_message_names_the_plan_and_its_limit() {
        let blocked = quota_exceeded(&tenant(true));
        assert_eq!(blocked.reason, StoreReason::QuotaExceeded);
        assert!(
            blocked
                .message
                .contains("Starter plan of Tenant acme allows 3 stores"),
            "{}",
            blocked.message
        );
    }

    #[test]
    fn an_unknown_time_zone_is_named() {
        let bad = store("s", "Mars/Olympus");
        let blocked = admit(&bad, &tenant(true)).unwrap_err();
        assert_eq!(blocked.reason, StoreReason::InvalidTimezone);
        assert!(blocked.message.contains("spec.timezone \"Mars/Olympus\""));
        let good = store("s", "Europe/Paris");
        assert_eq!(admit(&good, &tenant(true)), Ok(()));
    }

    #[test]
    fn a_tenant_without_its_database_blocks_its_stores() {
        let s = store("s", "UTC");
        assert_eq!(
            admit(&s, &tenant(false)).unwrap_err().reason,
            StoreReason::TenantNotReady
        );
    }

    #[test]
    fn keys_are_kept_only_when_we_could_have_made_them() {
        let keys = ApiKeys::generate();
        let s = store("shop", "UTC");
        let secret = api_key_secret(&s, "acme", "8c0e3f9e-0000-4000-8000-000000000000", &keys);
        assert_eq!(ApiKeys::from_secret(&secret), Some(keys.clone()));
        assert_eq!(secret.metadata.name.as_deref(), Some("shop-api-key"));
        assert_eq!(secret.metadata.namespace.as_deref(), Some("tenant-acme"));
        assert_eq!(
            secret.metadata.owner_references.as_ref().unwrap()[0].kind,
            "Store"
        );

        let mut tampered = api_key_secret(&s, "acme", "id", &keys);
        tampered
            .data
            .as_mut()
            .unwrap()
            .insert(SECRET_KEY.to_owned(), ByteString(b"hunter2".to_vec()));
        assert_eq!(ApiKeys::from_secret(&tampered), None);
        assert!(!secret_holds(&tampered, &secret));
    }

    #[test]
    fn a_secret_holds_what_we_want_whatever_others_added() {
        let s = store("shop", "UTC");
        let desired = api_key_secret(&s, "acme", "id", &ApiKeys::generate());
        let mut existing = desired.clone();
        assert!(secret_holds(&existing, &desired));
        existing
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("team".into(), "sre".into());
        existing
            .data
            .as_mut()
            .unwrap()
            .insert("note".into(), ByteString(b"x".to_vec()));
        assert!(secret_holds(&existing, &desired));
        existing.metadata.labels.as_mut().unwrap().remove(STORE_LABEL);
        assert!(!secret_holds(&existing, &desired));
        let mut orphaned = desired.clone();
        orphaned.metadata.owner_references = None;
        assert!(!secret_holds(&orphaned, &desired));
    }

    #[test]
    fn the_phase_follows_the_reason() {
        assert_eq!(StoreReason::Ready.phase(), StorePhase::Ready);
        assert_eq!(StoreReason::TenantNotReady.phase(), StorePhase::Pending);
        assert_eq!(StoreReason::QuotaExceeded.phase(), StorePhase::Failed);
        let outage = StoreReason::Failed(FailureReason::DatabaseUnavailable);
        assert_eq!(outage.phase(), StorePhase::Failed);
        assert_eq!(outage.as_str(), "DatabaseUnavailable");
        assert_eq!(StoreReason::TenantNotFound.as_str(), "TenantNotFound");
    }

    #[test]
    fn generated_keys_differ_and_hash_to_32_bytes() {
        let (a, b) = (ApiKeys::generate(), ApiKeys::generate());
        assert_ne!(a, b);
        assert!(a.secret.starts_with("sf_sk_") && a.publishable.starts_with("sf_pk_"));
        assert!(a.hashes().iter().all(|h| h.len() == 32));
        assert_ne!(a.hashes()[0], a.hashes()[1]);
    }
}
