//! The Secrets a Tenant's API consumes: `<tenant>-db` (the runtime role's
//! credentials) and `<tenant>-jwt` (the signing key set). Pure builders.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use sha2::{Digest, Sha256};

use super::build;
use super::database::DatabaseNames;
use super::jwt::{KEYS_FILE, KeySet};
use crate::crd::Tenant;

/// Where the tenant's API connects.
pub struct DbCredentials<'a> {
    pub names: &'a DatabaseNames,
    pub password: &'a str,
    pub host: String,
    pub port: u16,
}

impl<'a> DbCredentials<'a> {
    /// The runtime role's credentials on the server at `(host, port)`.
    pub fn at(names: &'a DatabaseNames, password: &'a str, (host, port): (String, u16)) -> Self {
        Self {
            names,
            password,
            host,
            port,
        }
    }
}

pub fn db_secret(tenant: &Tenant, credentials: &DbCredentials) -> Secret {
    let DbCredentials {
        names,
        password,
        host,
        port,
    } = credentials;
    let user = &names.runtime_role;
    let dbname = &names.database;
    let url = format!("postgres://{user}:{password}@{host}:{port}/{dbname}");
    secret(
        tenant,
        build::db_secret_name(&tenant_name(tenant)),
        [
            ("DATABASE_URL", url.as_str()),
            ("host", host),
            ("port", &port.to_string()),
            ("dbname", dbname),
            ("user", user),
            ("password", password),
        ],
    )
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
        build::jwt_secret_name(&tenant_name(tenant)),
        [(KEYS_FILE, json.as_str())],
    )
}

/// A value of a Secret, if present and UTF-8.
pub fn read(secret: &Secret, key: &str) -> Option<String> {
    let bytes = secret.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone()).ok()
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
        metadata: build::metadata(tenant, &name, Some(&build::namespace_name(&tenant_name))),
        type_: Some("Opaque".to_owned()),
        data: Some(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Secret::default()
    }
}
