//! The API's configuration, from the environment the operator sets (see
//! docs/operator.md and the `<tenant>-db` Secret).

use std::path::PathBuf;

use anyhow::Context;

pub struct Config {
    /// The runtime role's connection (`DATABASE_URL`, from `<tenant>-db`).
    pub database_url: String,
    /// The tenant this process serves (`SHOPFLEET_TENANT`): the issuer and
    /// audience of its tokens, and a field of its logs.
    pub tenant: String,
    /// The JWT key set file (`SHOPFLEET_JWT_KEYS`, from `<tenant>-jwt`).
    pub jwt_keys: PathBuf,
    /// Where to listen (`SHOPFLEET_LISTEN`, default `0.0.0.0:8080`).
    pub listen: String,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            database_url: std::env::var("DATABASE_URL").context(
                "DATABASE_URL is not set: the tenant database's connection URL (its `<tenant>-db` Secret)",
            )?,
            tenant: std::env::var("SHOPFLEET_TENANT")
                .context("SHOPFLEET_TENANT is not set: the name of the Tenant this process serves")?,
            jwt_keys: std::env::var_os("SHOPFLEET_JWT_KEYS")
                .map_or_else(|| PathBuf::from("/etc/shopfleet/jwt/keys.json"), PathBuf::from),
            listen: std::env::var("SHOPFLEET_LISTEN").unwrap_or_else(|_| "0.0.0.0:8080".to_owned()),
        })
    }
}
