//! The actix application, built the same way for the binary and for tests.

use actix_web::{HttpResponse, web};

/// Registers every route of the API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz));
}

/// The process is up and serving; says nothing about the database.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

#[cfg(test)]
mod tests {
    use actix_web::test as actix_test;
    use actix_web::{App, http::StatusCode};

    use super::*;

    #[actix_web::test]
    async fn healthz_answers_ok() {
        let app = actix_test::init_service(App::new().configure(configure)).await;
        let response =
            actix_test::call_service(&app, actix_test::TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(actix_test::read_body(response).await, "ok");
    }

    #[actix_web::test]
    async fn unknown_paths_are_not_found() {
        let app = actix_test::init_service(App::new().configure(configure)).await;
        let response =
            actix_test::call_service(&app, actix_test::TestRequest::get().uri("/nope").to_request()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
