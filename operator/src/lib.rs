//! The Shopfleet operator: reconciles Tenants and Stores into namespaces,
//! PostgreSQL databases, Secrets and per-tenant API Deployments.

pub mod children;
pub mod config;
pub mod context;
pub mod controller;
pub mod crd;
pub mod error;
pub mod identity;
pub mod known_secrets;
pub mod names;
pub mod plan;
pub mod postgres;
pub mod secret_data;
pub mod sql_plan;
pub mod store;
pub mod tenant;
pub mod watches;

use rand::distr::{Alphanumeric, SampleString};

/// A fresh password: 32 ASCII letters and digits (about 190 bits).
pub fn random_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}
pub mod http;
pub mod leader;
pub mod metrics;
