//! `/readyz` tells the kubelet whether this API can serve: its database must
//! answer and be at the schema version the build expects. Real PostgreSQL.

mod support;

use actix_web::http::StatusCode;
use support::{As, TestApp};

/// `/readyz` of an app whose database is at `database_url`.
async fn readyz(database_url: &str) -> (StatusCode, String) {
    let reply = TestApp::over(database_url, None).get("/readyz", As::Nobody).await;
    let body = match reply.body {
        serde_json::Value::String(text) => text,
        json => json.to_string(),
    };
    (reply.status, body)
}

#[actix_web::test]
async fn ready_once_the_database_is_at_the_expected_schema() {
    let tenant = support::Tenant::new().await;
    assert_eq!(readyz(&tenant.url).await, (StatusCode::OK, "ok".to_owned()));
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
