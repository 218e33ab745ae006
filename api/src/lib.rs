//! The Shopfleet tenant API: one process serves one tenant's commerce and
//! analytics. `app` builds the routes, shared by `main.rs` and the tests.

pub mod app;
pub mod auth;
pub mod cache;
pub mod catalog;
pub mod config;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod inventory;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod orders;
pub mod pagination;
pub mod promotions;
pub mod query;
pub mod stores;
pub mod validate;
