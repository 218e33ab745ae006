//! `/v1/stores`: read-only, and each caller sees only the stores it may use.

mod support;

use serde_json::Value;
use support::{As, TestApp, access};

fn names(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn callers_see_the_stores_they_may_use() {
    let app = TestApp::new().await;
    let (a, keys_a) = app.tenant().add_store("alpha", "EUR").await;
    let (b, _) = app.tenant().add_store("beta", "USD").await;
    let owner = app.owner().await;
    let limited = app.staff(access(&owner), "clerk@acme.test", Some(&[a])).await;
    let customer = app.customer("c@example.com").await;

    for who in [access(&owner), access(&customer)] {
        let page = app.get("/v1/stores", As::Bearer(who)).await.expect(200);
        assert_eq!(names(&page), ["alpha", "beta"]);
    }
    let page = app
        .get("/v1/stores", As::Bearer(access(&limited)))
        .await
        .expect(200);
    assert_eq!(names(&page), ["alpha"]);
    let page = app
        .get("/v1/stores", As::Key(&keys_a.publishable))
        .await
        .expect(200);
    assert_eq!(names(&page), ["alpha"]);

    let store = app
        .get(&format!("/v1/stores/{b}"), As::Bearer(access(&owner)))
        .await
        .expect(200);
    assert_eq!(store["currency"], "USD");
    assert_eq!(store["industry"], "retail");
    app.get(&format!("/v1/stores/{b}"), As::Bearer(access(&limited)))
        .await
        .expect_problem(403, "forbidden");
    app.get(&format!("/v1/stores/{b}"), As::Key(&keys_a.secret))
        .await
        .expect_problem(403, "forbidden");
    app.get(&format!("/v1/stores/{b}"), As::Nobody)
        .await
        .expect_problem(401, "unauthorized");
    let unknown = uuid::Uuid::new_v4();
    app.get(&format!("/v1/stores/{unknown}"), As::Bearer(access(&owner)))
        .await
        .expect_problem(404, "not-found");
    app.get("/v1/stores/not-a-uuid", As::Bearer(access(&owner)))
        .await
        .expect_problem(400, "malformed-request");
}

#[actix_web::test]
async fn archived_stores_and_their_keys_are_gone() {
    let app = TestApp::new().await;
    let (a, keys) = app.tenant().add_store("alpha", "EUR").await;
    let owner = app.owner().await;
    sqlx::query("UPDATE stores SET archived_at = now() WHERE id = $1")
        .bind(a)
        .execute(&mut app.tenant().owner().await)
        .await
        .unwrap();
    let page = app
        .get("/v1/stores", As::Bearer(access(&owner)))
        .await
        .expect(200);
    assert!(names(&page).is_empty());
    app.get(&format!("/v1/stores/{a}"), As::Bearer(access(&owner)))
        .await
        .expect_problem(404, "not-found");
    app.get("/v1/me", As::Key(&keys.secret))
        .await
        .expect_problem(401, "unauthorized");
}

#[actix_web::test]
async fn the_list_pages_by_cursor() {
    let app = TestApp::new().await;
    for name in ["a", "b", "c"] {
        app.tenant().add_store(name, "EUR").await;
    }
    let owner = app.owner().await;
    let who = As::Bearer(access(&owner));
    let first = app.get("/v1/stores?limit=2", who).await.expect(200);
    assert_eq!(names(&first), ["a", "b"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/v1/stores?limit=2&cursor={cursor}"), who)
        .await
        .expect(200);
    assert_eq!(names(&second), ["c"]);
    assert!(second.get("next_cursor").is_none());

    for bad in ["limit=0", "limit=101", "cursor=garbage"] {
        app.get(&format!("/v1/stores?{bad}"), who)
            .await
            .expect_problem(422, "validation");
    }
    app.get("/v1/stores?limit=x", who)
        .await
        .expect_problem(400, "malformed-request");
    app.get("/v1/stores?sort=name", who)
        .await
        .expect_problem(400, "malformed-request");
}
