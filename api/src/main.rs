//! `shopfleet-api`: serves one tenant. Configured by environment (see
//! `config.rs`); the operator runs it per tenant.

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use shopfleet_api::app::{State, configure};
use shopfleet_api::config::Config;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let config = Config::from_env()?;
    let state = web::Data::new(State {
        pool: shopfleet_api::db::pool(&config.database_url)?,
    });
    tracing::info!(listen = %config.listen, tenant = %config.tenant, "serving");
    // actix stops gracefully on SIGTERM: in-flight requests finish first.
    HttpServer::new(move || App::new().configure(configure(state.clone())))
        .bind(&config.listen)
        .with_context(|| format!("binding {}", config.listen))?
        .run()
        .await?;
    Ok(())
}
