//! The Secrets a Tenant's API consumes: `<tenant>-db` (the runtime role's
//! credentials) and `<tenant>-jwt` (the signing key set). Pure builders.

use k8s_openapi::api::core::v1::Secret;
use sha2::{Digest, Sha256};

use super::build;
use super::jwt::{KEYS_FILE, KeySet};
use shopfleet_contract as contract;

use crate::crd::Tenant;
use crate::names::{self, DatabaseNames};
use crate::postgres::Endpoint;
use crate::secret_data::{self, read};

/// Where the tenant's API connects.
pub struct DbCredentials<'a> {
    pub names: &'a DatabaseNames,
    pub password: &'a str,
    pub endpoint: &'a Endpoint,
}

impl<'a> DbCredentials<'a> {
    /// The runtime role's credentials on the server at `endpoint`.
    pub fn at(names: &'a DatabaseNames, password: &'a str, endpoint: &'a Endpoint) -> Self {
        Self {
            names,
            password,
            endpoint,
        }
    }
}

/// `<tenant>-db`: the runtime role's connection, secured as the admin's is
/// (its `sslmode`, and the server's CA under `ca.crt` when there is one).
pub fn db_secret(tenant: &Tenant, credentials: &DbCredentials) -> Secret {
    let DbCredentials {
        names,
        password,
        endpoint: Endpoint { host, port, tls },
    } = credentials;
    let user = &names.runtime_role;
    let dbname = &names.database;
    let sslmode = &tls.mode;
    let url = format!("postgres://{user}:{password}@{host}:{port}/{dbname}?sslmode={sslmode}");
    let port = port.to_string();
    let mut entries = vec![
        ("DATABASE_URL", url.as_str()),
        ("host", host.as_str()),
        ("port", port.as_str()),
        ("dbname", dbname.as_str()),
        ("user", user.as_str()),
        ("password", *password),
        ("sslmode", sslmode.as_str()),
    ];
    if let Some(ca) = &tls.ca_pem {
        entries.push((contract::DATABASE_CA_FILE, ca.as_str()));
    }
    secret(tenant, names::db_secret_name(&tenant_name(tenant)), entries)
}

/// Changes whenever the credentials do; the API's pod template carries it so
/// that new credentials roll the pods.
pub fn db_secret_version(password: &str) -> String {
    Sha256::digest(password.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn jwt_secret(tenant: &Tenant, keys: &KeySet) -> Secret {
    let json = serde_json::to_string_pretty(keys).expect("a key set serialises");
    secret(
        tenant,
        names::jwt_secret_name(&tenant_name(tenant)),
        [(KEYS_FILE, json.as_str())],
    )
}

/// The first owner's invitation: who it is for and the token they accept it with.
pub fn owner_invite_secret(tenant: &Tenant, token: &str) -> Secret {
    secret(
        tenant,
        names::owner_invite_secret_name(&tenant_name(tenant)),
        [
            (OWNER_INVITE_EMAIL, tenant.spec.owner.email.as_str()),
            (OWNER_INVITE_TOKEN, token),
        ],
    )
}

pub const OWNER_INVITE_EMAIL: &str = "email";
pub const OWNER_INVITE_TOKEN: &str = "token";

/// The token of an existing invitation Secret, if it is still for the
/// spec's owner and a token we could have made.
pub fn owner_invite_token(tenant: &Tenant, existing: &Secret) -> Option<String> {
    let same_owner = read(existing, OWNER_INVITE_EMAIL).as_deref() == Some(tenant.spec.owner.email.as_str());
    read(existing, OWNER_INVITE_TOKEN).filter(|token| same_owner && super::invite::is_token(token))
}

fn tenant_name(tenant: &Tenant) -> String {
    tenant
        .metadata
        .name
        .clone()
        .expect("tenant from the apiserver has a name")
}

fn secret<'a>(
    tenant: &Tenant,
    name: String,
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Secret {
    let tenant_name = tenant_name(tenant);
    Secret {
        metadata: build::metadata(tenant, &name, Some(&names::namespace_name(&tenant_name))),
        type_: Some("Opaque".to_owned()),
        data: Some(secret_data::entries(entries)),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::build::tests::tenant;
    use crate::tenant::invite::generate_token;

    #[test]
    fn the_owner_invitation_names_the_owner_and_holds_the_token() {
        let tenant = tenant();
        let token = generate_token();
        let secret = owner_invite_secret(&tenant, &token);
        assert_eq!(secret.metadata.name.as_deref(), Some("acme-owner-invite"));
        assert_eq!(secret.metadata.namespace.as_deref(), Some("tenant-acme"));
        assert_eq!(read(&secret, "email").as_deref(), Some("owner@acme.example"));
        assert_eq!(owner_invite_token(&tenant, &secret), Some(token));
    }

    #[test]
    fn a_new_owner_or_an_edited_token_gets_a_new_invitation() {
        let tenant = tenant();
        let secret = owner_invite_secret(&tenant, &generate_token());
        let mut new_owner = tenant.clone();
        new_owner.spec.owner.email = "someone@else.example".to_owned();
        assert_eq!(owner_invite_token(&new_owner, &secret), None);
        let edited = owner_invite_secret(&tenant, "sf_inv_chosen-by-hand");
        assert_eq!(owner_invite_token(&tenant, &edited), None);
    }
}
