//! The API's configuration, from the environment the operator sets (see
//! docs/operator.md and the `<tenant>-db` Secret).

use std::path::PathBuf;
use std::time::Duration;

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
    /// How long an order may stay unpaid before it is cancelled and its
    /// stock released (`SHOPFLEET_PENDING_ORDER_MINUTES`, default 30; 0: never).
    pub pending_order_ttl: Option<Duration>,
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
            pending_order_ttl: pending_order_ttl(std::env::var("SHOPFLEET_PENDING_ORDER_MINUTES").ok())?,
        })
    }
}

/// `SHOPFLEET_PENDING_ORDER_MINUTES`: unset is 30 minutes, 0 is never.
fn pending_order_ttl(minutes: Option<String>) -> anyhow::Result<Option<Duration>> {
    let minutes: u64 = match minutes {
        None => 30,
        Some(text) => text.trim().parse().with_context(|| {
            format!("SHOPFLEET_PENDING_ORDER_MINUTES is {text:?}: a whole number of minutes (0: never)")
        })?,
    };
    Ok((minutes > 0).then(|| Duration::from_secs(minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpaid_orders_expire_after_30_minutes_unless_told_otherwise() {
        assert_eq!(pending_order_ttl(None).unwrap(), Some(Duration::from_secs(1800)));
        assert_eq!(
            pending_order_ttl(Some("5".into())).unwrap(),
            Some(Duration::from_secs(300))
        );
        assert_eq!(pending_order_ttl(Some("0".into())).unwrap(), None);
        let error = pending_order_ttl(Some("half an hour".into())).unwrap_err();
        assert!(
            error.to_string().contains("SHOPFLEET_PENDING_ORDER_MINUTES"),
            "{error}"
        );
    }
}
