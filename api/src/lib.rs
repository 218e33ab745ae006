//! The Shopfleet tenant API: one process serves one tenant's commerce.
//! `app` assembles the routes, shared by `main.rs` and the tests; `access`
//! is the one way a route reaches a store's data.

pub mod access;
pub mod analytics;
pub mod app;
pub mod auth;
pub mod cache;
pub mod catalog;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod inventory;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod orders;
pub mod pagination;
pub mod password_reset;
pub mod people;
pub mod promotions;
pub mod query;
pub mod state;
pub mod stores;
pub mod stream;
pub mod system;
pub mod tickets;
pub mod users;
pub mod validate;
pub mod web_app;
