//! Request ids, request metrics by route template, and pool gauges.

mod support;

use actix_web::test::TestRequest;
use support::{As, TestApp, access};

#[actix_web::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::new().await;
    let first = app.send_raw(TestRequest::get().uri("/healthz")).await;
    let generated = first
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(uuid::Uuid::parse_str(&generated).unwrap().get_version_num(), 7);

    let kept = app
        .send_raw(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("X-Request-Id", "edge-7f3a.1")),
        )
        .await;
    assert_eq!(kept.headers().get("x-request-id").unwrap(), "edge-7f3a.1");

    let hostile = app
        .send_raw(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("X-Request-Id", "a\"} injected {\"")),
        )
        .await;
    let replaced = hostile.headers().get("x-request-id").unwrap().to_str().unwrap();
    assert!(uuid::Uuid::parse_str(replaced).is_ok(), "{replaced}");

    let problem = app.send_raw(TestRequest::get().uri("/v1/me")).await;
    assert_eq!(problem.status(), 401);
    assert!(problem.headers().contains_key("x-request-id"));
}

#[actix_web::test]
async fn metrics_count_requests_by_route_template_not_by_id() {
    let app = TestApp::new().await;
    let (a, _) = app.tenant().add_store("alpha", "EUR").await;
    let (b, _) = app.tenant().add_store("beta", "EUR").await;
    let owner = app.owner().await;
    for store in [a, b] {
        app.get(&format!("/v1/stores/{store}"), As::Bearer(access(&owner)))
            .await
            .expect(200);
    }
    app.get("/v1/stores/not-an-id", As::Bearer(access(&owner)))
        .await
        .expect(400);
    app.get("/wp-admin/setup.php", As::Nobody).await;

    let text = app.scrape().await;
    let series = |line: &str| {
        text.lines()
            .find(|l| l.starts_with(line))
            .map(|l| l.rsplit(' ').next().unwrap().to_owned())
    };
    assert_eq!(
        series(
            r#"shopfleet_api_http_requests_total{method="GET",route="/v1/stores/{store_id}",status="200"}"#
        )
        .as_deref(),
        Some("2"),
        "{text}"
    );
    assert_eq!(
        series(
            r#"shopfleet_api_http_requests_total{method="GET",route="/v1/stores/{store_id}",status="400"}"#
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        series(r#"shopfleet_api_http_requests_total{method="GET",route="unmatched",status="404"}"#)
            .as_deref(),
        Some("1")
    );
    assert!(!text.contains(&a.to_string()), "no ids in labels");
    assert!(text.contains(r#"shopfleet_api_http_request_duration_seconds_count{method="POST",route="/v1/auth/accept-invitation"} 1"#), "{text}");
    assert!(text.contains("shopfleet_api_db_pool_connections_idle"), "{text}");
    // Not on the API's port: its callers never see the figures.
    app.get("/metrics", As::Nobody)
        .await
        .expect_problem(404, "not-found");
}
