//! The staff web app as the API serves it at `/app/`: the page for every app
//! route, hashed assets cached for good and sent gzipped to browsers that
//! accept it, revalidation by ETag, a strict Content-Security-Policy, and a
//! 404 (not the page) for a file that does not exist. What the app does in a
//! browser is `browser.rs`.

mod support;

use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, read_body};
use support::{TestApp, header};

#[actix_web::test]
async fn the_app_is_served_with_its_routes_caching_and_policy() {
    let app = TestApp::over("postgres://nobody@127.0.0.1:1/none", None);

    let bare = app.send_raw(TestRequest::get().uri("/app")).await;
    assert_eq!(bare.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&bare, "location"), "/app/");

    let mut pages = Vec::new();
    for path in ["/app/", "/app/stores/0190c0de-0000-7000-8000-000000000000/orders"] {
        let page = app.send_raw(TestRequest::get().uri(path)).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&page, "content-type"), "text/html");
        assert_eq!(header(&page, "cache-control"), "no-cache");
        let policy = header(&page, "content-security-policy");
        for directive in [
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(policy.contains(directive), "{policy} has {directive}");
        }
        pages.push(String::from_utf8(read_body(page).await.to_vec()).unwrap());
    }
    assert_eq!(pages[0], pages[1], "every app route gets the one page");
    let script = pages[0]
        .split("<script type=\"module\" src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page names its entry script")
        .to_owned();
    assert!(script.starts_with("/app/assets/"), "{script}");

    let plain = app.send_raw(TestRequest::get().uri(&script)).await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(header(&plain, "content-type"), "text/javascript");
    assert_eq!(
        header(&plain, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_body = read_body(plain).await;

    let gzipped = app
        .send_raw(
            TestRequest::get()
                .uri(&script)
                .insert_header(("Accept-Encoding", "br, gzip")),
        )
        .await;
    assert_eq!(header(&gzipped, "content-encoding"), "gzip");
    assert_eq!(header(&gzipped, "vary"), "Accept-Encoding");
    let etag = header(&gzipped, "etag");
    let gzipped_body = read_body(gzipped).await;
    assert_eq!(&gzipped_body[..2], [0x1f, 0x8b], "a gzip stream");
    assert!(gzipped_body.len() < plain_body.len());

    let refused = app
        .send_raw(
            TestRequest::get()
                .uri(&script)
                .insert_header(("Accept-Encoding", "gzip;q=0")),
        )
        .await;
    assert!(
        refused.headers().get("content-encoding").is_none(),
        "gzip;q=0 is a refusal"
    );

    let revalidated = app
        .send_raw(
            TestRequest::get()
                .uri(&script)
                .insert_header(("Accept-Encoding", "gzip"))
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert!(read_body(revalidated).await.is_empty());

    for missing in ["/app/assets/main-GONE.js", "/app/favicon.ico"] {
        let response = app.send_raw(TestRequest::get().uri(missing)).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{missing}: a missing file is not the page"
        );
    }

    let head = app
        .send_raw(
            TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri("/app/"),
        )
        .await;
    assert_eq!(head.status(), StatusCode::OK);
}
