//! The Shopfleet tenant API: one process serves one tenant's commerce and
//! analytics. `app` builds the routes, shared by `main.rs` and the tests.

pub mod app;
pub mod config;
pub mod db;
pub mod error;
