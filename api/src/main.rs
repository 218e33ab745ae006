//! `shopfleet-api`: serves one tenant. Configured by environment (see
//! docs of `SHOPFLEET_LISTEN`); the operator runs it per tenant.

use actix_web::{App, HttpServer};
use anyhow::Context;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let listen = std::env::var("SHOPFLEET_LISTEN").unwrap_or_else(|_| "0.0.0.0:8080".to_owned());
    tracing::info!(%listen, "serving");
    HttpServer::new(|| App::new().configure(shopfleet_api::app::configure))
        .bind(&listen)
        .with_context(|| format!("binding {listen}"))?
        .run()
        .await?;
    Ok(())
}
