//! Row-level security is the second wall between stores: even SQL that
//! forgets `WHERE store_id` sees one store, and a staff member of store A
//! reaches nothing of store B by any route.

mod support;

use actix_web::http::Method;
use serde_json::{Value, json};
use shopfleet_api::db::Db;
use sqlx::{Connection, PgConnection};
use support::{As, TestApp, access, problem_fields, product};

/// Two stores with a category and a product each, an owner and a staff member limited to A.
struct TwoStores {
    app: TestApp,
    a: String,
    b: String,
    b_product: Value,
    b_category: Value,
    clerk_a: Value,
    key_a: String,
    owner: Value,
}

impl TwoStores {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let (a, keys_a) = app.tenant().add_store("alpha", "EUR").await;
        let (b, _) = app.tenant().add_store("beta", "EUR").await;
        let owner = app.owner().await;
        let clerk_a = app.staff(access(&owner), "clerk@acme.test", Some(&[a])).await;
        let staff = As::Bearer(access(&owner));
        for (store, sku) in [(a, "A-1"), (b, "B-1")] {
            app.post(
                &format!("/v1/stores/{store}/products"),
                staff,
                product("Cup", sku, 100),
            )
            .await
            .expect(201);
            app.post(
                &format!("/v1/stores/{store}/categories"),
                staff,
                json!({"name": "Cups", "slug": "cups"}),
            )
            .await
            .expect(201);
        }
        let b_product = app
            .get(&format!("/v1/stores/{b}/products"), staff)
            .await
            .expect(200)["items"][0]
            .clone();
        let b_category = app
            .get(&format!("/v1/stores/{b}/categories"), staff)
            .await
            .expect(200)["items"][0]
            .clone();
        Self {
            app,
            a: a.to_string(),
            b: b.to_string(),
            b_product,
            b_category,
            clerk_a,
            key_a: keys_a.secret,
            owner,
        }
    }
}

#[actix_web::test]
async fn sql_without_a_store_condition_sees_only_the_transactions_store() {
    let stores = TwoStores::new().await;
    let mut conn = PgConnection::connect(&stores.app.tenant().url).await.unwrap();

    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    // No store set: nothing at all, and no error.
    for table in [
        "SELECT count(*) FROM products",
        "SELECT count(*) FROM variants",
        "SELECT count(*) FROM categories",
    ] {
        assert_eq!(count(table).fetch_one(&mut conn).await.unwrap(), 0, "{table}");
    }

    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('shopfleet.store_id', $1, true)")
        .bind(&stores.a)
        .execute(&mut *tx)
        .await
        .unwrap();
    let skus: Vec<String> = sqlx::query_scalar("SELECT sku FROM variants")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(skus, ["A-1"]);
    let updated = sqlx::query("UPDATE products SET title = 'hacked'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1, "only A's product");
    let smuggled = sqlx::query(
        "INSERT INTO categories (id, store_id, name, slug) VALUES (gen_random_uuid(), $1::uuid, 'x', 'x')",
    )
    .bind(&stores.b)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(smuggled.to_string().contains("row-level security"), "{smuggled}");
    tx.rollback().await.unwrap();

    // The setting ended with its transaction: the connection carries nothing on.
    assert_eq!(
        count("SELECT count(*) FROM products")
            .fetch_one(&mut conn)
            .await
            .unwrap(),
        0
    );
}

#[actix_web::test]
async fn a_pooled_connection_never_carries_a_store_to_the_next_request() {
    let stores = TwoStores::new().await;
    // One connection, so the next use is the same connection.
    let db = Db::connect_lazy(&stores.app.tenant().url, 1).unwrap();
    let mut tx = db
        .store(stores.a.parse().map(shopfleet_api::ids::StoreId).unwrap())
        .await
        .unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(seen, 1);
    tx.commit().await.unwrap();
    let mut conn = db.tenant_wide_conn().await.unwrap();
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(after, 0);
}

#[actix_web::test]
async fn the_api_connects_as_a_role_that_cannot_bypass_rls_or_own_tables() {
    let stores = TwoStores::new().await;
    let mut conn = PgConnection::connect(&stores.app.tenant().url).await.unwrap();
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(!superuser && !bypass);
    let owned: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(owned, 0);
    let unforced: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE a.attname = 'store_id' AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace \
         AND c.relname NOT IN ('store_api_keys') AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        unforced.is_empty(),
        "store-scoped tables without forced RLS: {unforced:?}"
    );
}

#[actix_web::test]
async fn staff_of_store_a_reach_nothing_of_store_b_by_any_route() {
    let stores = TwoStores::new().await;
    let (a, b) = (&stores.a, &stores.b);
    let product_b = stores.b_product["id"].as_str().unwrap();
    let variant_b = stores.b_product["variants"][0]["id"].as_str().unwrap();
    let category_b = stores.b_category["id"].as_str().unwrap();
    let body = product("Sneaky", "SNEAK-1", 1);
    let patch = json!({"version": 1, "title": "hacked"});
    let routes: Vec<(Method, String, Value)> = vec![
        (Method::GET, format!("/v1/stores/{b}"), Value::Null),
        (Method::GET, format!("/v1/stores/{b}/categories"), Value::Null),
        (
            Method::POST,
            format!("/v1/stores/{b}/categories"),
            json!({"name": "x", "slug": "x"}),
        ),
        (
            Method::DELETE,
            format!("/v1/stores/{b}/categories/{category_b}"),
            Value::Null,
        ),
        (Method::GET, format!("/v1/stores/{b}/products"), Value::Null),
        (Method::GET, format!("/v1/stores/{b}/products?q=cup"), Value::Null),
        (Method::POST, format!("/v1/stores/{b}/products"), body.clone()),
        (
            Method::GET,
            format!("/v1/stores/{b}/products/{product_b}"),
            Value::Null,
        ),
        (
            Method::PATCH,
            format!("/v1/stores/{b}/products/{product_b}"),
            patch.clone(),
        ),
        (
            Method::DELETE,
            format!("/v1/stores/{b}/products/{product_b}?version=1"),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/v1/stores/{b}/products/{product_b}/variants"),
            json!({"sku": "X", "price_minor": 1}),
        ),
        (
            Method::PATCH,
            format!("/v1/stores/{b}/products/{product_b}/variants/{variant_b}"),
            patch.clone(),
        ),
        (
            Method::DELETE,
            format!("/v1/stores/{b}/products/{product_b}/variants/{variant_b}?version=1"),
            Value::Null,
        ),
        (Method::GET, format!("/v1/stores/{b}/inventory"), Value::Null),
        (
            Method::GET,
            format!("/v1/stores/{b}/inventory/adjustments"),
            Value::Null,
        ),
    ];
    for who in [As::Bearer(access(&stores.clerk_a)), As::Key(&stores.key_a)] {
        for (method, uri, body) in &routes {
            let reply = stores.app.call(method.clone(), uri, who, body.clone()).await;
            assert_eq!(reply.status, 403, "{method} {uri}: {:#}", reply.body);
        }
    }
    let adjust_b = actix_web::test::TestRequest::post()
        .uri(&format!("/v1/stores/{b}/inventory/adjustments"))
        .insert_header(("Authorization", format!("Bearer {}", access(&stores.clerk_a))))
        .insert_header(("Idempotency-Key", "sneaky"))
        .set_json(json!({"variant_id": variant_b, "delta": 100, "reason": "received"}));
    stores.app.send(adjust_b).await.expect_problem(403, "forbidden");

    // B's ids under A's path: RLS hides them, so they do not exist.
    let clerk = As::Bearer(access(&stores.clerk_a));
    let smuggled: Vec<(Method, String, Value, u16)> = vec![
        (
            Method::GET,
            format!("/v1/stores/{a}/products/{product_b}"),
            Value::Null,
            404,
        ),
        (
            Method::PATCH,
            format!("/v1/stores/{a}/products/{product_b}"),
            patch.clone(),
            404,
        ),
        (
            Method::DELETE,
            format!("/v1/stores/{a}/products/{product_b}?version=1"),
            Value::Null,
            404,
        ),
        (
            Method::POST,
            format!("/v1/stores/{a}/products/{product_b}/variants"),
            json!({"sku": "X", "price_minor": 1}),
            404,
        ),
        (
            Method::PATCH,
            format!("/v1/stores/{a}/products/{product_b}/variants/{variant_b}"),
            patch.clone(),
            404,
        ),
        (
            Method::DELETE,
            format!("/v1/stores/{a}/products/{product_b}/variants/{variant_b}?version=1"),
            Value::Null,
            404,
        ),
        (
            Method::DELETE,
            format!("/v1/stores/{a}/categories/{category_b}"),
            Value::Null,
            404,
        ),
        (
            Method::POST,
            format!("/v1/stores/{a}/products"),
            {
                let mut body = product("Sneaky", "SNEAK-2", 1);
                body["category_ids"] = json!([category_b]);
                body
            },
            422,
        ),
    ];
    for (method, uri, body, status) in smuggled {
        let reply = stores.app.call(method.clone(), &uri, clerk, body).await;
        assert_eq!(reply.status, status, "{method} {uri}: {:#}", reply.body);
    }

    // B is untouched, and its SKU is free for A (SKUs are unique per store).
    let db = Db::connect_lazy(&stores.app.tenant().url, 1).unwrap();
    let mut tx = db
        .store(b.parse().map(shopfleet_api::ids::StoreId).unwrap())
        .await
        .unwrap();
    let rows: Vec<(String, i32)> = sqlx::query_as("SELECT title, version FROM products")
        .fetch_all(tx.conn())
        .await
        .unwrap();
    assert_eq!(rows, [("Cup".to_owned(), 1)]);
    stores
        .app
        .post(
            &format!("/v1/stores/{a}/products"),
            clerk,
            product("Same SKU", "B-1", 1),
        )
        .await
        .expect(201);
}

/// A POST or other change with an `Idempotency-Key`, so keyed routes get as
/// far as their access check.
fn keyed(method: Method, uri: &str, who: As<'_>, body: &Value) -> actix_web::test::TestRequest {
    let request = actix_web::test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header(("Idempotency-Key", uuid::Uuid::new_v4().to_string()));
    let request = match who {
        As::Bearer(token) => request.insert_header(("Authorization", format!("Bearer {token}"))),
        As::Key(key) => request.insert_header(("X-Api-Key", key.to_owned())),
        As::Nobody => request,
    };
    if body.is_null() {
        request
    } else {
        request.set_json(body)
    }
}

#[actix_web::test]
async fn store_a_reaches_no_order_promotion_or_stock_of_store_b() {
    let stores = TwoStores::new().await;
    let (a, b) = (&stores.a, &stores.b);
    let owner = As::Bearer(access(&stores.owner));
    let variant_b = stores.b_product["variants"][0]["id"].as_str().unwrap();
    let receive = json!({"variant_id": variant_b, "delta": 5, "reason": "received"});
    let uri = format!("/v1/stores/{b}/inventory/adjustments");
    stores
        .app
        .send(keyed(Method::POST, &uri, owner, &receive))
        .await
        .expect(201);
    let order_body = json!({"lines": [{"variant_id": variant_b, "quantity": 1}]});
    let order_b = stores
        .app
        .send(keyed(
            Method::POST,
            &format!("/v1/stores/{b}/orders"),
            owner,
            &order_body,
        ))
        .await
        .expect(201);
    let line_b = order_b["lines"][0]["id"].clone();
    let order_b = order_b["id"].as_str().unwrap();
    let promotion = json!({"name": "B's", "rule": {"kind": "percentage", "basis_points": 100}});
    let promotion_b = stores
        .app
        .post(&format!("/v1/stores/{b}/promotions"), owner, promotion.clone())
        .await
        .expect(201);
    let promotion_b = promotion_b["id"].as_str().unwrap();
    let refund = json!({"lines": [{"line_id": line_b, "quantity": 1}]});
    let changes = |store: &str| -> Vec<(Method, String, Value)> {
        vec![
            (
                Method::GET,
                format!("/v1/stores/{store}/orders/{order_b}"),
                Value::Null,
            ),
            (
                Method::POST,
                format!("/v1/stores/{store}/orders/{order_b}/pay"),
                json!({}),
            ),
            (
                Method::POST,
                format!("/v1/stores/{store}/orders/{order_b}/fulfil"),
                json!({}),
            ),
            (
                Method::POST,
                format!("/v1/stores/{store}/orders/{order_b}/cancel"),
                json!({}),
            ),
            (
                Method::POST,
                format!("/v1/stores/{store}/orders/{order_b}/refunds"),
                refund.clone(),
            ),
            (
                Method::GET,
                format!("/v1/stores/{store}/promotions/{promotion_b}"),
                Value::Null,
            ),
            (
                Method::PUT,
                format!("/v1/stores/{store}/promotions/{promotion_b}?version=1"),
                promotion.clone(),
            ),
            (
                Method::DELETE,
                format!("/v1/stores/{store}/promotions/{promotion_b}?version=1"),
                Value::Null,
            ),
        ]
    };
    let mut b_routes = changes(b);
    b_routes.extend([
        (Method::GET, format!("/v1/stores/{b}/orders"), Value::Null),
        (Method::POST, format!("/v1/stores/{b}/orders"), order_body.clone()),
        (Method::GET, format!("/v1/stores/{b}/promotions"), Value::Null),
        (
            Method::POST,
            format!("/v1/stores/{b}/promotions"),
            promotion.clone(),
        ),
    ]);
    for who in [As::Bearer(access(&stores.clerk_a)), As::Key(&stores.key_a)] {
        for (method, uri, body) in &b_routes {
            let reply = stores.app.send(keyed(method.clone(), uri, who, body)).await;
            assert_eq!(reply.status, 403, "{method} {uri}: {:#}", reply.body);
        }
        // B's ids under A's path do not exist.
        for (method, uri, body) in changes(a) {
            let reply = stores.app.send(keyed(method.clone(), &uri, who, &body)).await;
            assert_eq!(reply.status, 404, "{method} {uri}: {:#}", reply.body);
        }
        // B's variant cannot be sold or given away in A.
        let reply = stores
            .app
            .send(keyed(
                Method::POST,
                &format!("/v1/stores/{a}/orders"),
                who,
                &order_body,
            ))
            .await
            .expect_problem(422, "validation");
        assert_eq!(problem_fields(&reply), ["lines[0].variant_id"]);
        let gift =
            json!({"name": "x", "rule": {"kind": "free_item", "variant_id": variant_b, "quantity": 1}});
        let reply = stores
            .app
            .post(&format!("/v1/stores/{a}/promotions"), who, gift)
            .await
            .expect_problem(422, "validation");
        assert_eq!(problem_fields(&reply), ["rule.variant_id"]);
    }
    // B's order and stock are as B's owner left them.
    let order = stores
        .app
        .get(&format!("/v1/stores/{b}/orders/{order_b}"), owner)
        .await
        .expect(200);
    assert_eq!(
        (order["status"].clone(), order["version"].clone()),
        (json!("pending"), json!(1))
    );
    let levels = stores
        .app
        .get(&format!("/v1/stores/{b}/inventory"), owner)
        .await
        .expect(200);
    assert_eq!(
        (
            levels["items"][0]["on_hand"].clone(),
            levels["items"][0]["reserved"].clone()
        ),
        (json!(5), json!(1))
    );
}
