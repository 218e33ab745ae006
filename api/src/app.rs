//! The actix application, built the same way for the binary and for tests.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, web};

use crate::auth::accounts::KeyCache;
use crate::auth::tokens::Issuer;
use crate::db::{self, Db};
use crate::error::{self, ApiError, Problem};
use crate::metrics::Metrics;
use crate::middleware;
use crate::{auth, catalog, inventory, orders, promotions, stores};

/// The largest request body any route accepts.
const BODY_LIMIT: usize = 256 * 1024;

/// What every request can reach.
pub struct State {
    pub db: Db,
    pub issuer: Issuer,
    pub metrics: Metrics,
    pub api_keys: KeyCache,
}

impl State {
    pub fn new(db: Db, issuer: Issuer) -> Self {
        Self {
            db,
            issuer,
            metrics: Metrics::new(),
            api_keys: KeyCache::new(crate::db::LOOKUP_TTL, 10_000),
        }
    }
}

/// The whole application: every route behind the request middleware.
pub fn app(
    state: web::Data<State>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(from_fn(middleware::observe))
        .configure(configure(state))
}

/// The OpenAPI description of the system routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz, metrics))]
pub struct Api;

/// Registers every route of the API, with `state` and the shared extractor
/// settings (body limit, problem+json for unreadable requests).
fn configure(state: web::Data<State>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(state)
            .app_data(error::json_config(BODY_LIMIT))
            .app_data(error::path_config())
            .app_data(error::query_config())
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
            .default_service(web::to(no_route))
            .service(
                utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                    .url("/openapi.json", crate::openapi::document()),
            )
            .configure(auth::routes::routes)
            .configure(stores::routes)
            // One scope for everything of a store: a request is matched on
            // the prefix once, then among the store's routes only.
            .service(
                web::scope("/v1/stores/{store_id}")
                    .configure(stores::store_routes)
                    .configure(catalog::routes)
                    .configure(inventory::routes)
                    .configure(orders::routes)
                    .configure(promotions::routes),
            );
    }
}

/// Any request no route matches, including a known path with another
/// method (actix hands those to the app's default service too).
async fn no_route(request: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        request.method(),
        request.path()
    )))
}

/// The process is up and serving; says nothing about the database.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, description = "Up", body = String, content_type = "text/plain")))]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Prometheus metrics: requests by method, route template and status,
/// latency by route, database pool connections.
#[utoipa::path(get, path = "/metrics", tag = "system", security(()),
    responses((status = 200, description = "Text exposition format", body = String, content_type = "text/plain")))]
async fn metrics(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(state.db.pool_connections()))
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

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::test as actix_test;

    use super::*;

    /// A state whose database and keys are never reached by these tests.
    fn state() -> web::Data<State> {
        let db = Db::connect_lazy("postgres://nobody@127.0.0.1:1/none", 1).unwrap();
        let keys = crate::auth::keys::tests::key_ring();
        web::Data::new(State::new(db, Issuer::new(keys, "test")))
    }

    #[actix_web::test]
    async fn healthz_answers_ok() {
        let app = actix_test::init_service(app(state())).await;
        let response =
            actix_test::call_service(&app, actix_test::TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(actix_test::read_body(response).await, "ok");
    }

    #[actix_web::test]
    async fn unknown_paths_are_not_found() {
        let app = actix_test::init_service(app(state())).await;
        let response =
            actix_test::call_service(&app, actix_test::TestRequest::get().uri("/nope").to_request()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
