//! The actix application, built the same way for the binary and for tests.
//! It only assembles: each domain module registers its own routes.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, web};

use crate::error::{self, ApiError};
use crate::state::State;
use crate::{
    analytics, catalog, events, inventory, limits, middleware, orders, password_reset, people, promotions,
    stores, stream, system, tickets, users, web_app,
};

/// The largest request body any route accepts.
const BODY_LIMIT: usize = 256 * 1024;

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
    // The last wrap runs first: a refused request is still logged and counted.
    App::new()
        .wrap(from_fn(limits::admission::admit))
        .wrap(from_fn(middleware::observe))
        .configure(configure(state))
}

/// The metrics port: `/metrics` alone, for the monitoring system. Kept off
/// the API's port, which callers (and an ingress) reach.
pub fn metrics_app(
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
        .app_data(state)
        .configure(system::metrics_routes)
        .default_service(web::to(no_route))
}

/// Registers every route of the API, with `state` and the shared extractor
/// settings (body limit, problem+json for unreadable requests).
fn configure(state: web::Data<State>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(state)
            .app_data(error::json_config(BODY_LIMIT))
            .app_data(error::path_config())
            .app_data(error::query_config())
            .configure(system::routes)
            .default_service(web::to(no_route))
            .service(
                utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                    .url("/openapi.json", crate::openapi::document()),
            )
            .configure(users::routes)
            .configure(people::routes)
            .configure(password_reset::routes)
            .configure(stores::routes)
            .configure(web_app::routes)
            // One scope for everything of a store: a request is matched on
            // the prefix once, then among the store's routes only.
            .service(
                web::scope("/v1/stores/{store_id}")
                    .configure(stores::store_routes)
                    .configure(catalog::routes)
                    .configure(inventory::routes)
                    .configure(orders::routes)
                    .configure(promotions::routes)
                    .configure(events::routes)
                    .configure(tickets::routes)
                    .configure(analytics::routes)
                    .configure(stream::routes),
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

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::test as actix_test;

    use super::*;
    use crate::auth::tokens::Issuer;
    use crate::db::Db;

    /// A state whose database and keys are never reached by these tests.
    fn state() -> web::Data<State> {
        let db = Db::connect_lazy("postgres://nobody@127.0.0.1:1/none", 1).unwrap();
        let keys = crate::auth::keys::tests::key_ring();
        web::Data::new(State::new(
            db,
            Issuer::new(keys, "test"),
            crate::limits::Limits::unlimited(),
        ))
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
