//! The names and labels both controllers (and the API's clients) rely on:
//! the tenant's namespace, its children, its Secrets, its database and roles.
//!
//! These are a contract: the Secrets, the status, the API and the tests find
//! things by them. Change them only together.

use std::collections::BTreeMap;

/// The label every child of a tenant carries with the tenant's name.
pub const TENANT_LABEL: &str = "shopfleet.io/tenant";
/// The label a Store's children carry with the Store's name.
pub const STORE_LABEL: &str = "shopfleet.io/store";
/// Every object the operator writes carries this label: its watches select
/// on it, so the caches hold only what it manages however large the cluster.
pub const MANAGED_BY_SELECTOR: &str = "app.kubernetes.io/managed-by=shopfleet-operator";

/// The namespace of Tenant `tenant_name`.
pub fn namespace_name(tenant_name: &str) -> String {
    format!("tenant-{tenant_name}")
}

/// The Tenant whose namespace this is: `tenant-<name>` belongs to Tenant
/// `<name>`.
pub fn tenant_name_of_namespace(namespace: &str) -> Option<&str> {
    namespace.strip_prefix("tenant-").filter(|name| !name.is_empty())
}

/// The API's Deployment, Service, PodDisruptionBudget and NetworkPolicy.
pub fn api_name(tenant_name: &str) -> String {
    format!("{tenant_name}-api")
}

pub fn db_secret_name(tenant_name: &str) -> String {
    format!("{tenant_name}-db")
}

pub fn jwt_secret_name(tenant_name: &str) -> String {
    format!("{tenant_name}-jwt")
}

pub fn owner_invite_secret_name(tenant_name: &str) -> String {
    format!("{tenant_name}-owner-invite")
}

pub fn api_key_secret_name(store_name: &str) -> String {
    format!("{store_name}-api-key")
}

/// In-cluster URL of the tenant's API (its Service).
pub fn api_endpoint(tenant_name: &str) -> String {
    format!(
        "http://{}.{}.svc:80",
        api_name(tenant_name),
        namespace_name(tenant_name)
    )
}

/// The labels of every child of a tenant (a Store's children add
/// [`STORE_LABEL`]).
pub fn labels(tenant_name: &str) -> BTreeMap<String, String> {
    string_map([
        ("app.kubernetes.io/part-of", "shopfleet"),
        ("app.kubernetes.io/managed-by", "shopfleet-operator"),
        (TENANT_LABEL, tenant_name),
    ])
}

pub fn string_map<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Marks what this operator created in PostgreSQL, so deletion never drops
/// anything else.
const MARKER_PREFIX: &str = "shopfleet:tenant:";

/// The database and roles of one tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseNames {
    pub database: String,
    /// Owns the schema and runs migrations; cannot log in (the operator uses it
    /// through `SET ROLE`, so no owner password exists to leak).
    pub owner_role: String,
    /// What the API logs in as: owns nothing, NOBYPASSRLS.
    pub runtime_role: String,
    /// The Tenant's uid, written as a comment on the database and roles.
    pub marker: String,
}

impl DatabaseNames {
    /// Names from the uid (not the name): a Tenant deleted and created again
    /// with the same name gets a new, empty database. `sf_` and the uid's
    /// first 16 hex digits.
    pub fn for_tenant_uid(uid: &str) -> Self {
        let prefix: String = uid
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(16)
            .collect::<String>()
            .to_ascii_lowercase();
        Self {
            database: format!("sf_{prefix}"),
            owner_role: format!("sf_{prefix}_owner"),
            runtime_role: format!("sf_{prefix}_app"),
            marker: format!("{MARKER_PREFIX}{uid}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "3F2A9C1E-4B5D-4E6F-8A9B-0C1D2E3F4A5B";

    #[test]
    fn names_follow_the_contract() {
        assert_eq!(namespace_name("acme"), "tenant-acme");
        assert_eq!(api_name("acme"), "acme-api");
        assert_eq!(db_secret_name("acme"), "acme-db");
        assert_eq!(jwt_secret_name("acme"), "acme-jwt");
        assert_eq!(owner_invite_secret_name("acme"), "acme-owner-invite");
        assert_eq!(api_key_secret_name("paris"), "paris-api-key");
        assert_eq!(api_endpoint("acme"), "http://acme-api.tenant-acme.svc:80");
    }

    #[test]
    fn only_tenant_namespaces_have_a_tenant() {
        assert_eq!(tenant_name_of_namespace(&namespace_name("acme")), Some("acme"));
        assert_eq!(tenant_name_of_namespace("tenant-"), None);
        assert_eq!(tenant_name_of_namespace("default"), None);
    }

    #[test]
    fn tenant_labels() {
        assert_eq!(
            labels("acme"),
            string_map([
                ("app.kubernetes.io/part-of", "shopfleet"),
                ("app.kubernetes.io/managed-by", "shopfleet-operator"),
                ("shopfleet.io/tenant", "acme"),
            ])
        );
        let (key, value) = MANAGED_BY_SELECTOR.split_once('=').unwrap();
        assert_eq!(labels("acme").get(key).map(String::as_str), Some(value));
    }

    #[test]
    fn database_names_come_from_the_uid_and_are_safe_identifiers() {
        let names = DatabaseNames::for_tenant_uid(UID);
        assert_eq!(names.database, "sf_3f2a9c1e4b5d4e6f");
        assert_eq!(names.owner_role, "sf_3f2a9c1e4b5d4e6f_owner");
        assert_eq!(names.runtime_role, "sf_3f2a9c1e4b5d4e6f_app");
        assert_eq!(names.marker, format!("shopfleet:tenant:{UID}"));
        let other = DatabaseNames::for_tenant_uid("9f2a9c1e-4b5d-4e6f-8a9b-0c1d2e3f4a5b");
        assert_ne!(names.database, other.database);
        for ident in [&names.database, &names.owner_role, &names.runtime_role] {
            assert!(
                ident.len() <= 63
                    && ident
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            );
        }
    }
}
