//! `/readyz` tells the kubelet whether this API can serve: its database must
//! answer and be at the schema version the build expects. Real PostgreSQL.

mod support;

use actix_web::http::StatusCode;
use actix_web::test as actix_test;
use actix_web::{App, web};
use shopfleet_api::app::{State, configure};
use shopfleet_api::db;

async fn readyz(database_url: &str) -> (StatusCode, String) {
    let state = web::Data::new(State {
        pool: db::pool(database_url).unwrap(),
    });
    let app = actix_test::init_service(App::new().configure(configure(state))).await;
    let response =
        actix_test::call_service(&app, actix_test::TestRequest::get().uri("/readyz").to_request()).await;
    let status = response.status();
    (
        status,
        String::from_utf8(actix_test::read_body(response).await.to_vec()).unwrap(),
    )
}

#[actix_web::test]
async fn ready_once_the_database_is_at_the_expected_schema() {
    let url = support::tenant_database().await;
    assert_eq!(readyz(&url).await, (StatusCode::OK, "ok".to_owned()));
}

#[actix_web::test]
async fn not_ready_before_the_operator_migrates() {
    let admin = support::admin().await;
    let (_, url) = support::empty_tenant_database(&admin).await;
    let (status, body) = readyz(&url).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains("\"type\":\"https://shopfleet.io/problems/unavailable\""),
        "{body}"
    );
    assert!(body.contains("schema version none"), "{body}");
}

#[actix_web::test]
async fn not_ready_while_the_database_is_unreachable() {
    let (status, body) = readyz("postgres://nobody:secret@127.0.0.1:1/none").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains("does not answer") && !body.contains("secret"),
        "{body}"
    );
}
