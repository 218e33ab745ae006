//! The routes a platform needs of any process: liveness and readiness on
//! the API's port, Prometheus metrics on a port of their own.

use actix_web::{HttpResponse, web};

use crate::db;
use crate::error::{ApiError, Problem};
use crate::state::State;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz))]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

/// The metrics port's only route (see `app::metrics_app`).
pub fn metrics_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

/// The process is up and serving; says nothing about the database.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, description = "Up", body = String, content_type = "text/plain")))]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Prometheus metrics: requests by method, route template and status,
/// latency by route, database pool connections.
async fn metrics(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(
        state
            .metrics
            .render(state.db.pool_connections(), state.live.hub.clients()),
    )
}

/// Ready to serve: the database answers and is at the schema this build expects.
#[utoipa::path(get, path = "/readyz", tag = "system", security(()),
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain"),
        (status = 503, description = "Not ready", body = Problem, content_type = "application/problem+json"),
    ))]
async fn readyz(state: web::Data<State>) -> Result<HttpResponse, ApiError> {
    let expected = db::expected_schema_version();
    let version = state.db.schema_version().await.map_err(|error| {
        tracing::warn!(%error, "readiness: the database does not answer");
        ApiError::Unavailable("the database does not answer".to_owned())
    })?;
    match version {
        Some(version) if version == expected => Ok(HttpResponse::Ok().content_type("text/plain").body("ok")),
        other => Err(ApiError::Unavailable(format!(
            "the database is at schema version {}, this build expects {expected}",
            other.map_or("none".to_owned(), |v| v.to_string())
        ))),
    }
}
