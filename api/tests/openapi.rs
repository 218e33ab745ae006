//! The OpenAPI document: generated from the code, committed in
//! `api/openapi.json` and kept in step, served with a docs page, and every
//! operation it documents is one the app routes.

mod support;

use actix_web::http::Method;
use serde_json::Value;
use support::{As, TestApp};

fn committed() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap()
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = shopfleet_api::openapi::document_json();
    assert!(
        committed() == generated,
        "api/openapi.json is out of step with the code: run `make openapi` and commit the result"
    );
    let document: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
}

#[actix_web::test]
async fn it_is_served_with_a_docs_page() {
    let app = TestApp::new().await;
    let served = app.get("/openapi.json", As::Nobody).await.expect(200);
    assert_eq!(served, serde_json::from_str::<Value>(&committed()).unwrap());
    let page = app.get("/docs/", As::Nobody).await;
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
}

#[actix_web::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::new().await;
    let document: Value = serde_json::from_str(&committed()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 18, "{} paths", paths.len());
    let id = uuid::Uuid::new_v4().to_string();
    for (template, operations) in paths {
        let uri: String = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    id.as_str()
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in operations.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let reply = app.call(method.clone(), &uri, As::Nobody, Value::Null).await;
            let detail = reply.body["detail"].as_str().unwrap_or_default();
            assert!(
                reply.status != 405 && !detail.starts_with("no route"),
                "{method} {template} is documented but not routed: {} {detail}",
                reply.status
            );
        }
    }
}

#[actix_web::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let app = TestApp::new().await;
    let problem = app
        .get("/v2/nothing", As::Nobody)
        .await
        .expect_problem(404, "not-found");
    assert_eq!(problem["detail"], "no route for GET /v2/nothing");
    let problem = app
        .call(Method::PUT, "/v1/auth/login", As::Nobody, Value::Null)
        .await
        .expect_problem(404, "not-found");
    assert_eq!(problem["detail"], "no route for PUT /v1/auth/login");
}
