//! The Shopfleet operator: reconciles Tenants and Stores into namespaces,
//! PostgreSQL databases, Secrets and per-tenant API Deployments.

pub mod crd;
