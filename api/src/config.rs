//! The API's configuration: the environment the operator sets on its
//! Deployment, as `shopfleet-contract` defines it for both sides.

use std::time::Duration;

use anyhow::Context;
use shopfleet_contract::{ApiSettings, DATABASE_URL};

pub struct Config {
    /// The runtime role's connection (from `<tenant>-db`).
    pub database_url: String,
    pub settings: ApiSettings,
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            database_url: std::env::var(DATABASE_URL).with_context(|| {
                format!("{DATABASE_URL} is not set: the tenant database's connection URL (its `<tenant>-db` Secret)")
            })?,
            settings: ApiSettings::from_env(|name| std::env::var(name).ok())?,
        })
    }

    /// How long an order may stay unpaid before it is cancelled and its
    /// stock released; None: never.
    pub fn pending_order_ttl(&self) -> Option<Duration> {
        let minutes = self.settings.pending_order_minutes;
        (minutes > 0).then(|| Duration::from_secs(u64::from(minutes) * 60))
    }
}
