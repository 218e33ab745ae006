//! `shopfleet-api`: serves one tenant. Configured by environment (see
//! `config.rs` and the `shopfleet-contract` crate); the operator runs it per tenant.

use std::sync::Arc;

use actix_web::{HttpServer, web};
use anyhow::Context;
use shopfleet_api::app::{app, metrics_app};
use shopfleet_api::auth::keys::KeyRing;
use shopfleet_api::auth::tokens::Issuer;
use shopfleet_api::config::Config;
use shopfleet_api::db::Db;
use shopfleet_api::limits::Limits;
use shopfleet_api::limits::client::TrustedProxies;
use shopfleet_api::state::State;
use sqlx::postgres::PgConnectOptions;

/// Connections to the tenant database per process.
const DB_CONNECTIONS: u32 = 16;

/// How long in-flight requests may take to finish after SIGTERM.
const SHUTDOWN_SECONDS: u64 = 25;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    // `shopfleet-api openapi` prints the OpenAPI document (`make openapi`).
    if std::env::args().nth(1).as_deref() == Some("openapi") {
        print!("{}", shopfleet_api::openapi::document_json());
        return Ok(());
    }
    shopfleet_api::auth::password::return_large_blocks_to_the_system();
    let config = Config::from_env()?;
    let settings = &config.settings;
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&settings.log))
        .init();
    let keys = Arc::new(KeyRing::load(&settings.jwt_keys)?);
    keys.clone().watch();
    let mut database: PgConnectOptions = config
        .database_url
        .parse()
        .context("DATABASE_URL does not parse")?;
    if let Some(ca) = &settings.database_ca {
        database = database.ssl_root_cert(ca);
    }
    let state = web::Data::new(State::new(
        Db::connect_lazy_with(database, DB_CONNECTIONS),
        Issuer::new(keys, &settings.tenant),
        Limits::new(
            settings.rate_limits,
            settings.order_limits,
            TrustedProxies::new(settings.trusted_proxies.clone()),
        ),
    ));
    if let Some(ttl) = config.pending_order_ttl() {
        shopfleet_api::orders::expiry::spawn(state.clone(), ttl);
    }
    shopfleet_api::auth::purge::spawn(state.clone());
    tracing::info!(
        listen = %settings.listen,
        metrics = %settings.metrics_listen,
        tenant = %settings.tenant,
        "serving"
    );
    // On SIGTERM actix stops accepting and lets in-flight requests finish,
    // within the Pod's 30 s grace period.
    let metrics_state = state.clone();
    let metrics = HttpServer::new(move || metrics_app(metrics_state.clone()))
        .workers(1)
        .shutdown_timeout(SHUTDOWN_SECONDS)
        .bind(&settings.metrics_listen)
        .with_context(|| format!("binding {}", settings.metrics_listen))?
        .run();
    let api = HttpServer::new(move || app(state.clone()))
        .shutdown_timeout(SHUTDOWN_SECONDS)
        .bind(&settings.listen)
        .with_context(|| format!("binding {}", settings.listen))?
        .run();
    futures::try_join!(api, metrics)?;
    Ok(())
}
