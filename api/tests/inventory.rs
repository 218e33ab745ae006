//! Inventory: stock pools by product kind, adjustments that never go below
//! what is reserved, an audit log of who changed what, and Idempotency-Key.

mod support;

use actix_web::test::TestRequest;
use serde_json::{Value, json};
use support::{As, Shop, access, problem_fields, product};

impl Shop {
    fn adjustment(&self, key: &str, who: &str, body: &Value) -> TestRequest {
        self.keyed("/inventory/adjustments", As::Bearer(who), key, body)
    }

    async fn adjust(&self, key: &str, body: Value) -> support::Reply {
        self.app
            .send(self.adjustment(key, access(&self.owner), &body))
            .await
    }
}

#[actix_web::test]
async fn goods_are_counted_per_variant_and_never_below_zero() {
    let shop = Shop::new().await;
    let variant = shop.variant(product("Mug", "MUG-1", 900)).await;
    let made = shop
        .adjust(
            "k1",
            json!({"variant_id": variant, "delta": 10, "reason": "received", "note": "PO 17"}),
        )
        .await
        .expect(201);
    assert_eq!(made["stock"]["on_hand"], 10);
    assert_eq!(made["stock"]["available"], 10);
    assert_eq!(made["stock"]["variant_id"], variant.as_str());
    assert_eq!(made["adjustment"]["on_hand_after"], 10);
    assert_eq!(
        made["adjustment"]["actor"],
        format!("user:{}", shop.owner["user"]["id"].as_str().unwrap())
    );

    let taken = shop
        .adjust(
            "k2",
            json!({"variant_id": variant, "delta": -3, "reason": "damaged"}),
        )
        .await
        .expect(201);
    assert_eq!(taken["stock"]["on_hand"], 7);
    let refused = shop
        .adjust(
            "k3",
            json!({"variant_id": variant, "delta": -8, "reason": "lost"}),
        )
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&refused), ["delta"]);
    let too_many = shop
        .adjust(
            "k4",
            json!({"variant_id": variant, "delta": i32::MAX, "reason": "received"}),
        )
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&too_many), ["delta"]);
    assert!(
        too_many["detail"].as_str().unwrap().contains("past 2147483647"),
        "{too_many}"
    );

    let levels = shop
        .app
        .get(&format!("{}/inventory", shop.base), As::Key(&shop.secret))
        .await
        .expect(200);
    assert_eq!(levels["items"].as_array().unwrap().len(), 1);
    assert_eq!(levels["items"][0]["on_hand"], 7);
    let log = shop
        .app
        .get(
            &format!("{}/inventory/adjustments", shop.base),
            As::Key(&shop.secret),
        )
        .await
        .expect(200);
    let deltas: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["delta"])
        .collect();
    assert_eq!(
        deltas,
        [&json!(-3), &json!(10)],
        "newest first; the refused one left no trace"
    );
    assert_eq!(log["items"][1]["note"], "PO 17");
}

#[actix_web::test]
async fn tickets_share_seats_and_room_nights_count_per_night() {
    let shop = Shop::new().await;
    let ticket = json!({
        "title": "Concert", "kind": "ticket", "status": "active", "capacity": 100,
        "event_starts_at": "2027-05-01T19:00:00Z",
        "variants": [{"sku": "GA", "price_minor": 3000}, {"sku": "VIP", "price_minor": 9000}]
    });
    let created = shop
        .app
        .post(
            &format!("{}/products", shop.base),
            As::Bearer(access(&shop.owner)),
            ticket,
        )
        .await
        .expect(201);
    let (ga, vip) = (
        created["variants"][0]["id"].clone(),
        created["variants"][1]["id"].clone(),
    );
    let first = shop
        .adjust(
            "t1",
            json!({"variant_id": ga, "delta": -10, "reason": "correction"}),
        )
        .await
        .expect(201);
    assert_eq!(
        first["stock"]["on_hand"], 90,
        "the pool starts at the event's capacity"
    );
    let second = shop
        .adjust(
            "t2",
            json!({"variant_id": vip, "delta": 5, "reason": "correction"}),
        )
        .await
        .expect(201);
    assert_eq!(
        second["stock"]["on_hand"], 95,
        "both classes draw on the same seats"
    );
    assert_eq!(second["stock"]["id"], first["stock"]["id"]);
    let problem = shop
        .adjust(
            "t3",
            json!({"variant_id": ga, "night": "2027-05-01", "delta": 1, "reason": "correction"}),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["night"]);

    let room = shop
        .variant(json!({
            "title": "Double room", "kind": "room_night", "status": "active", "capacity": 12,
            "variants": [{"sku": "DBL", "price_minor": 12000}]
        }))
        .await;
    let friday = shop
        .adjust(
            "r1",
            json!({"variant_id": room, "night": "2027-06-04", "delta": -2, "reason": "correction"}),
        )
        .await
        .expect(201);
    assert_eq!(friday["stock"]["on_hand"], 10);
    assert_eq!(friday["stock"]["night"], "2027-06-04");
    let saturday = shop
        .adjust(
            "r2",
            json!({"variant_id": room, "night": "2027-06-05", "delta": 1, "reason": "correction"}),
        )
        .await
        .expect(201);
    assert_eq!(
        saturday["stock"]["on_hand"], 13,
        "each night starts at the product's capacity"
    );
    let problem = shop
        .adjust(
            "r3",
            json!({"variant_id": room, "delta": 1, "reason": "correction"}),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["night"]);
}

#[actix_web::test]
async fn a_retried_adjustment_counts_once_and_replays_its_answer() {
    let shop = Shop::new().await;
    let variant = shop.variant(product("Mug", "MUG-1", 900)).await;
    let body = json!({"variant_id": variant, "delta": 5, "reason": "received"});
    let first = shop.adjust("same", body.clone()).await.expect(201);
    let replayed = shop
        .app
        .send_raw(shop.adjustment("same", access(&shop.owner), &body))
        .await;
    assert_eq!(replayed.status(), 201);
    assert_eq!(replayed.headers().get("idempotency-replayed").unwrap(), "true");
    let replayed: Value = serde_json::from_slice(&actix_web::test::read_body(replayed).await).unwrap();
    assert_eq!(replayed, first);

    let other_body = json!({"variant_id": variant, "delta": 6, "reason": "received"});
    let problem = shop
        .adjust("same", other_body)
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["Idempotency-Key"]);

    // Another caller's identical key is another operation.
    let staff = shop.app.staff(access(&shop.owner), "clerk@acme.test", None).await;
    let theirs = shop
        .app
        .send(shop.adjustment("same", access(&staff), &body))
        .await
        .expect(201);
    assert_eq!(theirs["stock"]["on_hand"], 10);

    let missing = TestRequest::post()
        .uri(&format!("{}/inventory/adjustments", shop.base))
        .insert_header(("Authorization", format!("Bearer {}", access(&shop.owner))))
        .set_json(&body);
    let problem = shop
        .app
        .send(missing)
        .await
        .expect_problem(400, "malformed-request");
    assert!(
        problem["detail"].as_str().unwrap().contains("Idempotency-Key"),
        "{problem}"
    );
}

#[actix_web::test]
async fn one_key_sent_twenty_times_at_once_adjusts_once() {
    let shop = Shop::new().await;
    let variant = shop.variant(product("Mug", "MUG-1", 900)).await;
    let body = json!({"variant_id": variant, "delta": 1, "reason": "received"});
    let replies = futures::future::join_all((0..20).map(|_| {
        shop.app
            .send(shop.adjustment("burst", access(&shop.owner), &body))
    }))
    .await;
    let ids: std::collections::BTreeSet<String> = replies
        .into_iter()
        .map(|reply| reply.expect(201)["adjustment"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every answer is the one adjustment");
    let levels = shop
        .app
        .get(&format!("{}/inventory", shop.base), As::Key(&shop.secret))
        .await
        .expect(200);
    assert_eq!(levels["items"][0]["on_hand"], 1);
}

#[actix_web::test]
async fn only_the_stores_managers_see_or_change_stock() {
    let shop = Shop::new().await;
    let variant = shop.variant(product("Mug", "MUG-1", 900)).await;
    let customer = shop.app.customer("c@example.com").await;
    let body = json!({"variant_id": variant, "delta": 1, "reason": "received"});
    shop.app
        .send(shop.adjustment("c", access(&customer), &body))
        .await
        .expect_problem(403, "forbidden");
    for who in [As::Key(&shop.publishable), As::Bearer(access(&customer))] {
        shop.app
            .get(&format!("{}/inventory", shop.base), who)
            .await
            .expect_problem(403, "forbidden");
    }
    let unknown = json!({"variant_id": uuid::Uuid::new_v4(), "delta": 1, "reason": "received"});
    shop.adjust("u", unknown).await.expect_problem(404, "not-found");
}
