//! Promotions: managed by a store's staff, applied when an order is placed
//! (each discount recorded on the order), with codes, windows and usage
//! limits that hold under concurrent orders. The engine's arithmetic is
//! tested on a table of baskets in `promotions::engine`; these tests check
//! the same rules through the API and the database.

mod support;

use serde_json::{Value, json};
use support::{As, Shop, access, field_of_items, problem_fields, product};

impl Shop {
    async fn promotion(&self, body: Value) -> Value {
        self.app
            .post(&format!("{}/promotions", self.base), self.staff(), body)
            .await
            .expect(201)
    }
}

fn basket(variant: &str, quantity: i32, code: Option<&str>) -> Value {
    json!({"lines": [{"variant_id": variant, "quantity": quantity}], "promotion_code": code})
}

#[actix_web::test]
async fn staff_manage_promotions_and_bad_ones_name_their_fields() {
    let shop = Shop::new().await;
    let mug = shop.variant(product("Mug", "MUG", 1000)).await;
    let created = shop
        .promotion(json!({
            "name": "Summer", "rule": {"kind": "fixed_amount", "amount_minor": 500}, "code": "Summer-26",
            "min_subtotal_minor": 2000, "starts_at": "2026-06-01T00:00:00Z", "usage_limit": 100,
            "per_customer_limit": 1, "stackable": false, "priority": 5
        }))
        .await;
    assert_eq!(
        created["rule"],
        json!({"kind": "fixed_amount", "amount_minor": 500})
    );
    assert_eq!(created["times_used"], 0);
    assert_eq!(created["version"], 1);
    assert_eq!(created["active"], true);
    shop.promotion(json!({"name": "Gift", "rule": {"kind": "free_item", "variant_id": mug, "quantity": 1}}))
        .await;
    shop.promotion(
        json!({"name": "3 for 2", "rule": {"kind": "buy_x_get_y", "buy_quantity": 2, "get_quantity": 1}}),
    )
    .await;

    let taken =
        json!({"name": "Again", "rule": {"kind": "percentage", "basis_points": 100}, "code": "SUMMER-26"});
    let problem = shop
        .app
        .post(&format!("{}/promotions", shop.base), shop.staff(), taken)
        .await
        .expect_problem(409, "conflict");
    assert_eq!(
        problem_fields(&problem),
        ["code"],
        "codes are one whatever their case"
    );

    let bad = json!({
        "name": " ", "rule": {"kind": "percentage", "basis_points": 10001}, "code": "-x",
        "starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-05-01T00:00:00Z", "usage_limit": 0
    });
    let problem = shop
        .app
        .post(&format!("{}/promotions", shop.base), shop.staff(), bad)
        .await
        .expect_problem(422, "validation");
    assert_eq!(
        problem_fields(&problem),
        ["name", "rule.basis_points", "code", "ends_at", "usage_limit"]
    );
    let stranger = json!({"name": "Gift", "rule": {"kind": "free_item", "variant_id": uuid::Uuid::new_v4(), "quantity": 1}});
    let problem = shop
        .app
        .post(&format!("{}/promotions", shop.base), shop.staff(), stranger)
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["rule.variant_id"]);

    let list = shop
        .app
        .get(&format!("{}/promotions", shop.base), As::Key(&shop.secret))
        .await
        .expect(200);
    assert_eq!(
        field_of_items(&list, "name"),
        [&json!("3 for 2"), &json!("Gift"), &json!("Summer")]
    );

    let uri = format!("{}/promotions/{}", shop.base, created["id"].as_str().unwrap());
    let mut changed = created.clone();
    for read_only in ["id", "times_used", "version", "created_at", "updated_at"] {
        changed.as_object_mut().unwrap().remove(read_only);
    }
    changed["active"] = json!(false);
    let replaced = shop
        .app
        .call(
            actix_web::http::Method::PUT,
            &format!("{uri}?version=1"),
            shop.staff(),
            changed.clone(),
        )
        .await
        .expect(200);
    assert_eq!(
        (replaced["active"].clone(), replaced["version"].clone()),
        (json!(false), json!(2))
    );
    let problem = shop
        .app
        .call(
            actix_web::http::Method::PUT,
            &format!("{uri}?version=1"),
            shop.staff(),
            changed,
        )
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&problem), ["version"]);
    assert_eq!(shop.app.get(&uri, shop.staff()).await.expect(200), replaced);

    let customer = shop.app.customer("c@example.com").await;
    for who in [As::Bearer(access(&customer)), As::Key(&shop.publishable)] {
        shop.app.get(&uri, who).await.expect_problem(403, "forbidden");
    }
    shop.app
        .call(
            actix_web::http::Method::DELETE,
            &format!("{uri}?version=2"),
            shop.staff(),
            Value::Null,
        )
        .await
        .expect(204);
    shop.app
        .get(&uri, shop.staff())
        .await
        .expect_problem(404, "not-found");
}

#[actix_web::test]
async fn orders_get_the_promotions_they_qualify_for_and_record_each() {
    let shop = Shop::new().await;
    let mug = shop.variant(product("Mug", "MUG", 1000)).await;
    shop.receive(&mug, 100).await;
    let auto = shop
        .promotion(
            json!({"name": "Ten off", "rule": {"kind": "percentage", "basis_points": 1000}, "priority": 10}),
        )
        .await;
    let code = shop
        .promotion(
            json!({"name": "Fiver", "rule": {"kind": "fixed_amount", "amount_minor": 500}, "code": "FIVER",
            "min_subtotal_minor": 3000}),
        )
        .await;
    let staff = shop.staff();

    // 2 × 1000: 10 % off each line → 200.
    let order = shop.order(staff, basket(&mug, 2, None)).await.expect(201);
    assert_eq!(
        (order["discount_minor"].as_i64(), order["total_minor"].as_i64()),
        (Some(200), Some(1800))
    );
    assert_eq!(
        order["discounts"],
        json!([{"promotion_id": auto["id"], "name": "Ten off", "kind": "percentage", "amount_minor": 200}])
    );
    assert_eq!(order["lines"][0]["discount_minor"], 200);

    // 4 × 1000 with the code in another case: 10 % → 400, then 500 off the 3600 left.
    let order = shop
        .order(staff, basket(&mug, 4, Some("fiver")))
        .await
        .expect(201);
    assert_eq!(order["discount_minor"], 900);
    assert_eq!(order["total_minor"], 3100);
    assert_eq!(order["promotion_code"], "fiver");
    assert_eq!(
        field_of_items(&json!({"items": order["discounts"]}), "promotion_id"),
        [&auto["id"], &code["id"]]
    );

    // Below the code's minimum, and an unknown code: 422 on promotion_code, nothing placed.
    for code in ["FIVER", "NOPE"] {
        let problem = shop
            .order(staff, basket(&mug, 2, Some(code)))
            .await
            .expect_problem(422, "validation");
        assert_eq!(problem_fields(&problem), ["promotion_code"], "{problem}");
    }
    assert_eq!(shop.level(&mug).await["reserved"], 6);

    // An exclusive promotion beats the stacked ones when it gives more.
    shop.promotion(
        json!({"name": "Half", "rule": {"kind": "percentage", "basis_points": 5000}, "stackable": false,
        "code": "HALF"}),
    )
    .await;
    let order = shop.order(staff, basket(&mug, 4, Some("HALF"))).await.expect(201);
    assert_eq!(order["discount_minor"], 2000);
    assert_eq!(
        field_of_items(&json!({"items": order["discounts"]}), "name"),
        [&json!("Half")]
    );

    // Not started yet.
    shop.promotion(
        json!({"name": "Later", "rule": {"kind": "percentage", "basis_points": 100}, "code": "LATER",
        "starts_at": "2100-01-01T00:00:00Z"}),
    )
    .await;
    let problem = shop
        .order(staff, basket(&mug, 1, Some("LATER")))
        .await
        .expect_problem(422, "validation");
    assert!(
        problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("not valid yet"),
        "{problem}"
    );
}

#[actix_web::test]
async fn a_one_use_code_is_used_exactly_once_under_concurrent_orders() {
    let shop = Shop::new().await;
    let mug = shop.variant(product("Mug", "MUG", 1000)).await;
    shop.receive(&mug, 100).await;
    let once = shop
        .promotion(
            json!({"name": "Once", "rule": {"kind": "fixed_amount", "amount_minor": 300}, "code": "ONCE",
            "usage_limit": 1}),
        )
        .await;
    let replies = futures::future::join_all(
        (0..20).map(|_| shop.order(As::Key(&shop.secret), basket(&mug, 1, Some("ONCE")))),
    )
    .await;
    let mut discounted = 0;
    for reply in replies {
        match reply.status.as_u16() {
            201 => {
                assert_eq!(reply.body["discount_minor"], 300);
                discounted += 1;
            }
            422 => assert_eq!(problem_fields(&reply.body), ["promotion_code"]),
            _ => panic!("unexpected reply: {reply:?}"),
        }
    }
    assert_eq!(discounted, 1);
    let uri = format!("{}/promotions/{}", shop.base, once["id"].as_str().unwrap());
    assert_eq!(
        shop.app.get(&uri, shop.staff()).await.expect(200)["times_used"],
        1
    );
    assert_eq!(
        shop.level(&mug).await["reserved"],
        1,
        "refused orders hold no stock"
    );
}

#[actix_web::test]
async fn per_customer_limits_count_each_customer() {
    let shop = Shop::new().await;
    let mug = shop.variant(product("Mug", "MUG", 1000)).await;
    shop.receive(&mug, 100).await;
    shop.promotion(
        json!({"name": "Welcome", "rule": {"kind": "percentage", "basis_points": 2000}, "code": "WELCOME",
        "per_customer_limit": 1}),
    )
    .await;
    let ann = shop.app.customer("ann@example.com").await;
    let bob = shop.app.customer("bob@example.com").await;
    let first = shop
        .order(As::Bearer(access(&ann)), basket(&mug, 1, Some("WELCOME")))
        .await
        .expect(201);
    assert_eq!(first["discount_minor"], 200);
    let problem = shop
        .order(As::Bearer(access(&ann)), basket(&mug, 1, Some("WELCOME")))
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["promotion_code"]);
    shop.order(As::Bearer(access(&bob)), basket(&mug, 1, Some("WELCOME")))
        .await
        .expect(201);
    // An order without a customer cannot use a per-customer promotion.
    shop.order(shop.staff(), basket(&mug, 1, Some("WELCOME")))
        .await
        .expect_problem(422, "validation");
}
