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
    // `shopfleet-api rebuild-analytics [STORE_ID...]` (docs/analytics.md).
    if std::env::args().nth(1).as_deref() == Some("rebuild-analytics") {
        return rebuild_analytics(std::env::args().skip(2).collect()).await;
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
    let state = web::Data::new(
        State::new(
            Db::connect_lazy_with(database, DB_CONNECTIONS),
            Issuer::new(keys, &settings.tenant),
            Limits::new(
                settings.rate_limits,
                settings.order_limits,
                TrustedProxies::new(settings.trusted_proxies.clone()),
            ),
        )
        .streaming(settings.stream_limits),
    );
    if let Some(ttl) = config.pending_order_ttl() {
        shopfleet_api::orders::expiry::spawn(state.clone(), ttl);
    }
    shopfleet_api::auth::purge::spawn(state.clone());
    shopfleet_api::analytics::fold::spawn(state.clone());
    shopfleet_api::stream::spawn(state.clone());
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

/// Rebuilds the analytics rollups of `stores` (every active store when
/// none is named) from the raw rows, each in one transaction: reports stay
/// exact throughout, and a rebuild cut short leaves the old rollups.
async fn rebuild_analytics(stores: Vec<String>) -> anyhow::Result<()> {
    use shopfleet_api::analytics::fold::{self, Folded, From};
    use shopfleet_api::ids::StoreId;

    let url = std::env::var(shopfleet_contract::DATABASE_URL)
        .context("DATABASE_URL is not set: the tenant database's connection URL")?;
    let db = Db::connect_lazy(&url, 1)?;
    let stores = if stores.is_empty() {
        db.active_stores().await?
    } else {
        stores
            .iter()
            .map(|id| {
                id.parse()
                    .map(StoreId)
                    .with_context(|| format!("{id:?} is not a store id"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    for store in stores {
        eprintln!("rebuilding the analytics of store {store} ...");
        // The API's own folds take a moment each: wait for a gap between them.
        let mut tries = 0;
        while fold::fold(&db, store, From::Start).await? == Folded::Busy {
            tries += 1;
            anyhow::ensure!(
                tries < 30,
                "store {store} stayed busy with the API's folds: run it again"
            );
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        eprintln!("rebuilt store {store}");
    }
    Ok(())
}
