//! Rate limits: per client and per tenant, sign-in throttling and the cap
//! on credentials that match nothing; each refusal a 429 problem+json with
//! `Retry-After` and the draft `RateLimit` fields. Real tenant database.

mod support;

use actix_web::test::TestRequest;
use serde_json::json;
use shopfleet_api::limits::Limits;
use shopfleet_api::limits::client::TrustedProxies;
use shopfleet_contract::{OrderLimits, RateLimits};
use support::{TestApp, header};

const PASSWORD: &str = "correct horse battery";

fn limits(tenant_per_second: u32, client_per_second: u32, proxies: &str) -> Limits {
    Limits::new(
        RateLimits {
            tenant_per_second,
            client_per_second,
        },
        OrderLimits::default(),
        TrustedProxies::new(shopfleet_contract::split(proxies).unwrap()),
    )
}

/// A GET of `/v1/me` (401 without credentials: it still counts) from `peer`.
fn from(peer: &str, path: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .peer_addr(format!("{peer}:40000").parse().unwrap())
}

/// Sends `request()` until a 429 comes back, at most `limit` times; the
/// number of requests admitted before it, and the refusal.
async fn until_refused(
    app: &TestApp,
    limit: usize,
    mut request: impl FnMut() -> TestRequest,
) -> (usize, actix_web::dev::ServiceResponse) {
    for admitted in 0..limit {
        let response = app.send_raw(request()).await;
        if response.status() == 429 {
            return (admitted, response);
        }
    }
    panic!("no 429 in {limit} requests");
}

#[actix_web::test]
async fn a_client_past_its_rate_gets_a_429_and_others_do_not() {
    // 5 requests a second, a burst of 10.
    let app = TestApp::limited(limits(0, 5, "")).await;
    let first = app.send_raw(from("192.0.2.1", "/v1/me")).await;
    assert_eq!(first.status(), 401);
    assert_eq!(header(&first, "ratelimit-policy"), "\"client\";q=10;w=2");
    assert_eq!(header(&first, "ratelimit"), "\"client\";r=9;t=1");

    let (admitted, refused) = until_refused(&app, 100, || from("192.0.2.1", "/v1/me")).await;
    assert!(admitted >= 9, "the burst is admitted: {admitted}");
    assert_eq!(header(&refused, "retry-after"), "1");
    assert!(header(&refused, "ratelimit").starts_with("\"client\";r=0;"));
    let problem: serde_json::Value = actix_web::test::read_body_json(refused).await;
    assert_eq!(problem["type"], "https://shopfleet.io/problems/rate-limited");
    assert_eq!(problem["status"], 429);

    assert_eq!(
        app.send_raw(from("192.0.2.2", "/v1/me")).await.status(),
        401,
        "another client"
    );
    assert_eq!(
        app.send_raw(from("192.0.2.1", "/healthz")).await.status(),
        200,
        "probes are never limited"
    );
}

#[actix_web::test]
async fn the_tenant_rate_caps_all_clients_together() {
    let app = TestApp::limited(limits(5, 0, "")).await;
    let mut client = 0u8;
    let (admitted, refused) = until_refused(&app, 100, || {
        client = client.wrapping_add(1);
        from(&format!("192.0.2.{client}"), "/v1/me")
    })
    .await;
    assert!(admitted >= 10, "the burst is admitted: {admitted}");
    assert!(header(&refused, "ratelimit").starts_with("\"tenant\";r=0;"));
}

#[actix_web::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let app = TestApp::limited(limits(0, 5, "10.0.0.0/8")).await;
    let through_ingress =
        |client: &str| from("10.1.2.3", "/v1/me").insert_header(("X-Forwarded-For", client.to_owned()));
    let (_, _) = until_refused(&app, 100, || through_ingress("203.0.113.1")).await;
    assert_eq!(app.send_raw(through_ingress("203.0.113.2")).await.status(), 401);
    // Someone not behind the proxy cannot pick an address to get a fresh budget.
    let (_, _) = until_refused(&app, 100, || {
        from("198.51.100.7", "/v1/me").insert_header(("X-Forwarded-For", "203.0.113.3"))
    })
    .await;
    assert_eq!(app.send_raw(through_ingress("203.0.113.3")).await.status(), 401);
}

#[actix_web::test]
async fn wrong_passwords_slow_down_that_account_from_that_client_only() {
    let app = TestApp::new().await;
    app.customer("ana@example.com").await;
    let login = |peer: &str, password: &str| {
        TestRequest::post()
            .uri("/v1/auth/login")
            .peer_addr(format!("{peer}:40000").parse().unwrap())
            .set_json(json!({"email": "ana@example.com", "password": password}))
    };
    for _ in 0..shopfleet_api::limits::login::FREE_FAILURES {
        let response = app.send_raw(login("203.0.113.9", "guess")).await;
        assert_eq!(response.status(), 401);
    }
    // Now even the right password waits, from the guesser's address.
    let throttled = app.send_raw(login("203.0.113.9", PASSWORD)).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(header(&throttled, "retry-after"), "1");
    // Ana, elsewhere, is not locked out.
    assert_eq!(app.send_raw(login("198.51.100.1", PASSWORD)).await.status(), 200);
}

#[actix_web::test]
async fn credentials_matching_nothing_are_refused_past_twenty_a_minute() {
    let app = TestApp::new().await;
    let (_, keys) = app.tenant().add_store("shop", "EUR").await;
    let guesser = "203.0.113.9";
    let real_key = |peer: &str| from(peer, "/v1/me").insert_header(("X-Api-Key", keys.secret.clone()));
    assert_eq!(app.send_raw(real_key(guesser)).await.status(), 200);
    let bogus_key = || from(guesser, "/v1/me").insert_header(("X-Api-Key", "sf_sk_bogus"));
    let bogus_refresh = || {
        TestRequest::post()
            .uri("/v1/auth/refresh")
            .peer_addr(format!("{guesser}:40000").parse().unwrap())
            .set_json(json!({"refresh_token": "sf_rt_bogus"}))
    };
    for attempt in 0..20 {
        let request = if attempt % 2 == 0 {
            bogus_key()
        } else {
            bogus_refresh()
        };
        assert_eq!(app.send_raw(request).await.status(), 401, "attempt {attempt}");
    }
    for request in [bogus_key(), bogus_refresh()] {
        let refused = app.send_raw(request).await;
        assert_eq!(refused.status(), 429);
        assert!(header(&refused, "ratelimit").starts_with("\"unknown-credentials\";r=0;"));
    }
    let accept = TestRequest::post()
        .uri("/v1/auth/accept-invitation")
        .peer_addr(format!("{guesser}:40000").parse().unwrap())
        .set_json(json!({"token": "sf_inv_bogus", "password": PASSWORD}));
    assert_eq!(app.send_raw(accept).await.status(), 429);
    // A key found lately is no guess, even from that client (its lookups
    // are what is refused); from anyone else, keys are looked up as ever.
    assert_eq!(app.send_raw(real_key(guesser)).await.status(), 200);
    let (_, other_keys) = app.tenant().add_store("other", "EUR").await;
    let other = from("198.51.100.1", "/v1/me").insert_header(("X-Api-Key", other_keys.secret.clone()));
    assert_eq!(app.send_raw(other).await.status(), 200);
}
