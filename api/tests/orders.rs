//! Orders: priced by the server, stock reserved in the same transaction,
//! the state machine with its history, refunds that restock and never give
//! back more than was paid, idempotent retries, and concurrent buyers who
//! never get more than there is.

mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::{As, Reply, Shop, access, field_of_items, problem_fields, product};

impl Shop {
    /// A standard product at `price` with `units` in stock; its variant's id.
    async fn stocked(&self, sku: &str, price: i64, units: i32) -> String {
        let variant = self.variant(product(sku, sku, price)).await;
        self.receive(&variant, units).await;
        variant
    }

    /// A change of an order (`pay`, `fulfil`, `cancel`, `refunds`) as the owner.
    async fn change(&self, order: &Value, change: &str, body: Value) -> Reply {
        let path = format!("/orders/{}/{change}", order["id"].as_str().unwrap());
        let key = uuid::Uuid::new_v4().to_string();
        self.app.send(self.keyed(&path, self.staff(), &key, &body)).await
    }
}

fn one(variant: &str, quantity: i32) -> Value {
    json!({"lines": [{"variant_id": variant, "quantity": quantity}]})
}

#[actix_web::test]
async fn an_order_is_priced_by_the_server_and_reserves_its_stock() {
    let shop = Shop::new().await;
    let mug = shop.stocked("MUG", 900, 10).await;
    let cup = shop.stocked("CUP", 450, 5).await;
    let customer = shop.app.customer("c@example.com").await;
    let me = As::Bearer(access(&customer));

    let order = shop
        .order(
            me,
            json!({"lines": [{"variant_id": mug, "quantity": 3}, {"variant_id": cup, "quantity": 2}]}),
        )
        .await
        .expect(201);
    assert_eq!(order["status"], "pending");
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["subtotal_minor"], 3 * 900 + 2 * 450);
    assert_eq!(order["discount_minor"], 0);
    assert_eq!(order["total_minor"], 3600);
    assert_eq!(order["customer_id"], customer["user"]["id"]);
    assert_eq!(
        field_of_items(&json!({"items": order["lines"]}), "unit_price_minor"),
        [&json!(900), &json!(450)]
    );
    assert_eq!(order["events"][0]["kind"], "created");
    assert!(order["number"].as_i64().unwrap() > 1000);
    assert_eq!(shop.level(&mug).await["reserved"], 3);
    assert_eq!(shop.level(&mug).await["available"], 7);
    assert_eq!(shop.level(&cup).await["available"], 3);

    let fetched = shop
        .app
        .get(
            &format!("{}/orders/{}", shop.base, order["id"].as_str().unwrap()),
            me,
        )
        .await
        .expect(200);
    assert_eq!(fetched, order, "the answer is the order as stored");

    let metrics = shop.app.scrape().await;
    assert!(
        metrics.contains("shopfleet_api_order_events_total{event=\"created\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("shopfleet_api_order_amount_minor_total{currency=\"EUR\",event=\"created\"} 3600"),
        "{metrics}"
    );

    // The client sends no prices.
    let priced = json!({"lines": [{"variant_id": mug, "quantity": 1, "unit_price_minor": 1}]});
    shop.order(me, priced)
        .await
        .expect_problem(400, "malformed-request");
}

#[actix_web::test]
async fn invalid_orders_name_their_fields_and_reserve_nothing() {
    let shop = Shop::new().await;
    let mug = shop.stocked("MUG", 900, 2).await;
    let mut draft = product("Draft", "DRAFT", 100);
    draft["status"] = json!("draft");
    let draft = shop.variant(draft).await;
    let room = shop
        .variant(
            json!({"title": "Room", "kind": "room_night", "status": "active", "capacity": 2,
            "variants": [{"sku": "RM", "price_minor": 10000}]}),
        )
        .await;
    let past_gig = shop
        .variant(
            json!({"title": "Last year's gig", "kind": "ticket", "status": "active", "capacity": 10,
            "event_starts_at": "2020-05-01T19:00:00Z", "variants": [{"sku": "OLD", "price_minor": 3000}]}),
        )
        .await;
    let staff = shop.staff();

    let problem = shop
        .order(
            staff,
            json!({"lines": [
                {"variant_id": mug, "quantity": 0},
                {"variant_id": mug, "quantity": 1001}
            ], "promotion_code": "no spaces"}),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(
        problem_fields(&problem),
        ["lines[0].quantity", "lines[1].quantity", "promotion_code"]
    );
    let problem = shop
        .order(staff, json!({"lines": []}))
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["lines"]);

    let problem = shop
        .order(
            staff,
            json!({"lines": [
                {"variant_id": mug, "quantity": 1},
                {"variant_id": uuid::Uuid::new_v4(), "quantity": 1},
                {"variant_id": draft, "quantity": 1},
                {"variant_id": room, "quantity": 1},
                {"variant_id": mug, "quantity": 1, "night": "2027-01-01"},
                {"variant_id": room, "quantity": 1, "night": "2020-01-01"},
                {"variant_id": past_gig, "quantity": 1}
            ]}),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(
        problem_fields(&problem),
        [
            "lines[1].variant_id",
            "lines[2].variant_id",
            "lines[3].night",
            "lines[4].night",
            "lines[5].night",
            "lines[6].variant_id"
        ]
    );

    // Two lines of one pool are counted together: 1 + 2 of 2 is short.
    let problem = shop
        .order(
            staff,
            json!({"lines": [{"variant_id": mug, "quantity": 1}, {"variant_id": mug, "quantity": 2}]}),
        )
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&problem), ["lines[0].quantity"]);
    assert!(
        problem["detail"].as_str().unwrap().contains("only 2 available"),
        "{problem}"
    );
    assert_eq!(
        shop.level(&mug).await["reserved"],
        0,
        "a refused order holds nothing"
    );

    shop.order(As::Key(&shop.publishable), one(&mug, 1))
        .await
        .expect_problem(403, "forbidden");
    shop.order(As::Nobody, one(&mug, 1))
        .await
        .expect_problem(401, "unauthorized");
    let customer = shop.app.customer("c@example.com").await;
    let mut for_someone_else = one(&mug, 1);
    for_someone_else["customer_id"] = json!(uuid::Uuid::new_v4());
    let problem = shop
        .order(As::Bearer(access(&customer)), for_someone_else.clone())
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["customer_id"]);
    let problem = shop
        .order(staff, for_someone_else)
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["customer_id"], "no such user");
    assert_eq!(shop.level(&mug).await["reserved"], 0);
}

#[actix_web::test]
async fn room_nights_and_tickets_are_booked_from_their_capacity() {
    let shop = Shop::new().await;
    let room = shop
        .variant(
            json!({"title": "Room", "kind": "room_night", "status": "active", "capacity": 2,
            "variants": [{"sku": "RM", "price_minor": 10000}]}),
        )
        .await;
    let ticket = shop
        .create(
            json!({"title": "Gig", "kind": "ticket", "status": "active", "capacity": 3,
            "event_starts_at": "2027-05-01T19:00:00Z",
            "variants": [{"sku": "GA", "price_minor": 3000}, {"sku": "VIP", "price_minor": 9000}]}),
        )
        .await;
    let staff = shop.staff();
    let two_nights = json!({"lines": [
        {"variant_id": room, "quantity": 2, "night": "2027-06-04"},
        {"variant_id": room, "quantity": 1, "night": "2027-06-05"}
    ]});
    let order = shop.order(staff, two_nights).await.expect(201);
    assert_eq!(order["total_minor"], 30000);
    let full = json!({"lines": [{"variant_id": room, "quantity": 1, "night": "2027-06-04"}]});
    let problem = shop.order(staff, full).await.expect_problem(409, "conflict");
    assert_eq!(problem_fields(&problem), ["lines[0].quantity"]);

    let (ga, vip) = (&ticket["variants"][0]["id"], &ticket["variants"][1]["id"]);
    shop.order(
        staff,
        json!({"lines": [{"variant_id": ga, "quantity": 2}, {"variant_id": vip, "quantity": 1}]}),
    )
    .await
    .expect(201);
    shop.order(staff, json!({"lines": [{"variant_id": vip, "quantity": 1}]}))
        .await
        .expect_problem(409, "conflict");
}

#[actix_web::test]
async fn every_change_follows_the_state_machine_and_is_recorded() {
    let shop = Shop::new().await;
    let mug = shop.stocked("MUG", 1000, 10).await;
    let order = shop.order(shop.staff(), one(&mug, 3)).await.expect(201);

    let refund_one = json!({"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}]});
    for (change, body) in [("fulfil", json!({})), ("refunds", refund_one)] {
        let problem = shop
            .change(&order, change, body)
            .await
            .expect_problem(409, "conflict");
        assert_eq!(problem_fields(&problem), ["status"], "{change} a pending order");
    }
    let paid = shop
        .change(&order, "pay", json!({"note": "cash"}))
        .await
        .expect(200);
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["paid_minor"], 3000);
    shop.change(&order, "pay", json!({}))
        .await
        .expect_problem(409, "conflict");

    let fulfilled = shop.change(&order, "fulfil", json!({})).await.expect(200);
    assert_eq!(fulfilled["status"], "fulfilled");
    let level = shop.level(&mug).await;
    assert_eq!(
        (level["on_hand"].as_i64(), level["reserved"].as_i64()),
        (Some(7), Some(0)),
        "shipped units left"
    );
    for change in ["pay", "fulfil", "cancel"] {
        shop.change(&order, change, json!({}))
            .await
            .expect_problem(409, "conflict");
    }

    let line = &order["lines"][0]["id"];
    let refunded = shop
        .change(
            &order,
            "refunds",
            json!({"lines": [{"line_id": line, "quantity": 3}]}),
        )
        .await
        .expect(200);
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(refunded["refunded_minor"], 3000);
    assert_eq!(
        shop.level(&mug).await["on_hand"],
        10,
        "refunded goods are back in stock"
    );
    for change in ["pay", "fulfil", "cancel", "refunds"] {
        let body = if change == "refunds" {
            json!({"lines": [{"line_id": line, "quantity": 1}]})
        } else {
            json!({})
        };
        shop.change(&order, change, body)
            .await
            .expect_problem(409, "conflict");
    }

    let events: Vec<(&str, &str)> = refunded["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["to_status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events,
        [
            ("created", "pending"),
            ("paid", "paid"),
            ("fulfilled", "fulfilled"),
            ("refunded", "refunded")
        ]
    );
    let owner = format!("user:{}", shop.owner["user"]["id"].as_str().unwrap());
    assert!(
        refunded["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == owner.as_str())
    );
    assert_eq!(refunded["events"][1]["note"], "cash");
    assert_eq!(refunded["events"][3]["amount_minor"], 3000);

    // Cancelling releases what a pending or paid order holds, and refunds what was paid.
    let pending = shop.order(shop.staff(), one(&mug, 4)).await.expect(201);
    assert_eq!(shop.level(&mug).await["reserved"], 4);
    let cancelled = shop
        .change(&pending, "cancel", json!({"note": "changed mind"}))
        .await
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(shop.level(&mug).await["reserved"], 0);
    shop.change(&pending, "pay", json!({}))
        .await
        .expect_problem(409, "conflict");
    let paid = shop.order(shop.staff(), one(&mug, 2)).await.expect(201);
    shop.change(&paid, "pay", json!({})).await.expect(200);
    let cancelled = shop.change(&paid, "cancel", json!({})).await.expect(200);
    assert_eq!(cancelled["refunded_minor"], 2000);
    assert_eq!(shop.level(&mug).await["reserved"], 0);
}

#[actix_web::test]
async fn refunds_restock_and_never_give_back_more_than_was_paid() {
    let shop = Shop::new().await;
    let mug = shop.stocked("MUG", 1000, 10).await;
    // 3 × 1000 with 10 % off: 2700 paid.
    shop.app
        .post(
            &format!("{}/promotions", shop.base),
            shop.staff(),
            json!({"name": "Ten off", "rule": {"kind": "percentage", "basis_points": 1000}}),
        )
        .await
        .expect(201);
    let order = shop.order(shop.staff(), one(&mug, 3)).await.expect(201);
    assert_eq!(order["total_minor"], 2700);
    shop.change(&order, "pay", json!({})).await.expect(200);
    let line = &order["lines"][0]["id"];

    // Paid but not shipped: a refund releases the reservation.
    let first = shop
        .change(
            &order,
            "refunds",
            json!({"lines": [{"line_id": line, "quantity": 1}]}),
        )
        .await
        .expect(200);
    assert_eq!(first["status"], "paid", "a partial refund keeps the order paid");
    assert_eq!(first["refunded_minor"], 900);
    assert_eq!(first["lines"][0]["refunded_quantity"], 1);
    assert_eq!(shop.level(&mug).await["reserved"], 2);

    let shipped = shop.change(&order, "fulfil", json!({})).await.expect(200);
    assert_eq!(shipped["status"], "fulfilled");
    assert_eq!(
        shop.level(&mug).await["on_hand"],
        8,
        "only the 2 unrefunded units shipped"
    );

    let problem = shop
        .change(
            &order,
            "refunds",
            json!({"lines": [{"line_id": line, "quantity": 3}]}),
        )
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&problem), ["lines[0].quantity"]);
    let rest = shop
        .change(
            &order,
            "refunds",
            json!({"lines": [{"line_id": line, "quantity": 2}]}),
        )
        .await
        .expect(200);
    assert_eq!(rest["status"], "refunded");
    assert_eq!(rest["refunded_minor"], 2700, "exactly what was paid, never more");
    assert_eq!(shop.level(&mug).await["on_hand"], 10);

    let problem = shop
        .change(
            &order,
            "refunds",
            json!({"lines": [{"line_id": uuid::Uuid::new_v4(), "quantity": 1}]}),
        )
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&problem), ["status"]);
}

#[actix_web::test]
async fn two_hundred_buyers_of_the_last_ten_units_buy_ten() {
    let shop = Shop::new().await;
    let mug = shop.stocked("MUG", 900, 10).await;
    // A burst this size can keep every connection busy past the acquire
    // timeout on a loaded machine; the answer is then 503 `overloaded`, and a
    // buyer does what it says: retries with the same idempotency key.
    let buy = |key: String| {
        let body = one(&mug, 1);
        let shop = &shop;
        async move {
            for _ in 0..30 {
                let reply = shop
                    .app
                    .send(shop.keyed("/orders", As::Key(&shop.secret), &key, &body))
                    .await;
                if reply.status.as_u16() != 503 {
                    return reply;
                }
                assert!(
                    reply.body["type"].as_str().unwrap().ends_with("/overloaded"),
                    "{reply:?}"
                );
                actix_web::rt::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            panic!("still busy after 30 retries");
        }
    };
    let replies = futures::future::join_all((0..200).map(|_| buy(uuid::Uuid::new_v4().to_string()))).await;
    let mut sold = 0;
    for reply in replies {
        match reply.status.as_u16() {
            201 => sold += 1,
            409 => assert_eq!(problem_fields(&reply.body), ["lines[0].quantity"]),
            _ => panic!("unexpected reply: {reply:?}"),
        }
    }
    assert_eq!(sold, 10);
    let level = shop.level(&mug).await;
    assert_eq!(
        (level["reserved"].as_i64(), level["available"].as_i64()),
        (Some(10), Some(0))
    );
    let orders = shop
        .app
        .get(&format!("{}/orders?limit=100", shop.base), shop.staff())
        .await
        .expect(200);
    assert_eq!(orders["items"].as_array().unwrap().len(), 10);
}

#[actix_web::test]
async fn one_key_sent_twenty_times_at_once_places_one_order() {
    let shop = Shop::new().await;
    let mug = shop.stocked("MUG", 900, 100).await;
    let body = one(&mug, 1);
    let replies = futures::future::join_all((0..20).map(|_| {
        shop.app
            .send(shop.keyed("/orders", As::Key(&shop.secret), "checkout-1", &body))
    }))
    .await;
    let ids: BTreeSet<String> = replies
        .into_iter()
        .map(|reply| reply.expect(201)["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every answer is the one order");
    assert_eq!(shop.level(&mug).await["reserved"], 1);

    let other = one(&mug, 2);
    let problem = shop
        .app
        .send(shop.keyed("/orders", As::Key(&shop.secret), "checkout-1", &other))
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["Idempotency-Key"]);

    // Cancel and refund are keyed too: a retried cancel answers the same.
    let order_id = ids.first().unwrap();
    let cancel = |key: &str| {
        shop.keyed(
            &format!("/orders/{order_id}/cancel"),
            As::Key(&shop.secret),
            key,
            &json!({}),
        )
    };
    let first = shop.app.send(cancel("cancel-1")).await.expect(200);
    let again = shop.app.send_raw(cancel("cancel-1")).await;
    assert_eq!(again.headers().get("idempotency-replayed").unwrap(), "true");
    let again: Value = serde_json::from_slice(&actix_web::test::read_body(again).await).unwrap();
    assert_eq!(again, first);
    shop.app
        .send(cancel("cancel-2"))
        .await
        .expect_problem(409, "conflict");
}

#[actix_web::test]
async fn customers_see_only_their_own_orders_and_staff_filter_them() {
    let shop = Shop::new().await;
    let mug = shop.stocked("MUG", 900, 100).await;
    let ann = shop.app.customer("ann@example.com").await;
    let bob = shop.app.customer("bob@example.com").await;
    let (as_ann, as_bob) = (As::Bearer(access(&ann)), As::Bearer(access(&bob)));
    let anns = shop.order(as_ann, one(&mug, 1)).await.expect(201);
    let anns_id = anns["id"].as_str().unwrap();
    for _ in 0..3 {
        shop.order(as_bob, one(&mug, 1)).await.expect(201);
    }
    let mut for_ann = one(&mug, 2);
    for_ann["customer_id"] = ann["user"]["id"].clone();
    shop.order(shop.staff(), for_ann).await.expect(201);

    shop.app
        .get(&format!("{}/orders/{anns_id}", shop.base), as_bob)
        .await
        .expect_problem(404, "not-found");
    let cancel = shop.keyed(&format!("/orders/{anns_id}/cancel"), as_bob, "k", &json!({}));
    shop.app.send(cancel).await.expect_problem(404, "not-found");
    shop.app
        .post(&format!("{}/orders/{anns_id}/pay", shop.base), as_ann, json!({}))
        .await
        .expect_problem(403, "forbidden");
    let bobs = shop
        .app
        .get(&format!("{}/orders", shop.base), as_bob)
        .await
        .expect(200);
    assert_eq!(bobs["items"].as_array().unwrap().len(), 3);
    assert!(
        field_of_items(&bobs, "customer_id")
            .iter()
            .all(|c| **c == bob["user"]["id"])
    );
    let peek = format!(
        "{}/orders?customer_id={}",
        shop.base,
        ann["user"]["id"].as_str().unwrap()
    );
    let problem = shop
        .app
        .get(&peek, as_bob)
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["customer_id"]);

    // Staff: by customer, by status, by time, in pages.
    let anns_orders = shop.app.get(&peek, shop.staff()).await.expect(200);
    assert_eq!(anns_orders["items"].as_array().unwrap().len(), 2);
    shop.change(&anns, "pay", json!({})).await.expect(200);
    let paid = shop
        .app
        .get(&format!("{}/orders?status=paid", shop.base), shop.staff())
        .await
        .expect(200);
    assert_eq!(field_of_items(&paid, "id"), [&json!(anns_id)]);
    let future = shop
        .app
        .get(
            &format!("{}/orders?created_from=2100-01-01T00:00:00Z", shop.base),
            shop.staff(),
        )
        .await
        .expect(200);
    assert!(future["items"].as_array().unwrap().is_empty());
    let past = shop
        .app
        .get(
            &format!("{}/orders?created_before=2100-01-01T00:00:00Z", shop.base),
            shop.staff(),
        )
        .await
        .expect(200);
    assert_eq!(past["items"].as_array().unwrap().len(), 5);
    let mut seen = Vec::new();
    let mut uri = format!("{}/orders?limit=2", shop.base);
    loop {
        let page = shop.app.get(&uri, shop.staff()).await.expect(200);
        seen.extend(field_of_items(&page, "id").into_iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("{}/orders?limit=2&cursor={cursor}", shop.base),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(
        seen.iter().map(Value::to_string).collect::<BTreeSet<_>>().len(),
        5,
        "each order once"
    );
    let backwards = format!(
        "{}/orders?created_from=2100-01-01T00:00:00Z&created_before=2000-01-01T00:00:00Z",
        shop.base
    );
    let problem = shop
        .app
        .get(&backwards, shop.staff())
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["created_before"]);
}

#[actix_web::test]
async fn placing_and_cancelling_orders_at_once_never_deadlock() {
    let shop = Shop::new().await;
    // Pools whose stock rows sort the other way round from their products,
    // so locking by row id and by product would cross.
    let first = shop.variant(product("First", "FIRST", 100)).await;
    let second = shop.variant(product("Second", "SECOND", 100)).await;
    shop.receive(&second, 1000).await;
    shop.receive(&first, 1000).await;
    let both =
        json!({"lines": [{"variant_id": second, "quantity": 1}, {"variant_id": first, "quantity": 1}]});
    let mut placed = Vec::new();
    for _ in 0..30 {
        placed.push(shop.order(shop.staff(), both.clone()).await.expect(201));
    }
    let shop = &shop;
    let cancels = placed.iter().map(|order| async move {
        let reply = shop.change(order, "cancel", json!({})).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
    });
    let both = &both;
    let orders = (0..30).map(|_| async move {
        let reply = shop.order(shop.staff(), both.clone()).await;
        assert_eq!(reply.status, 201, "{:#}", reply.body);
    });
    futures::future::join(
        futures::future::join_all(cancels),
        futures::future::join_all(orders),
    )
    .await;
    assert_eq!(shop.level(&first).await["reserved"], 30);
    assert_eq!(shop.level(&second).await["reserved"], 30);
}

#[actix_web::test]
async fn unpaid_orders_expire_and_release_their_stock() {
    use shopfleet_api::orders::expiry;
    use std::time::Duration;

    let shop = Shop::new().await;
    let mug = shop.stocked("MUG", 900, 10).await;
    let unpaid = shop.order(shop.staff(), one(&mug, 3)).await.expect(201);
    let paid = shop.order(shop.staff(), one(&mug, 2)).await.expect(201);
    shop.change(&paid, "pay", json!({})).await.expect(200);

    let hour = Duration::from_secs(3600);
    assert_eq!(
        expiry::sweep(&shop.app.state, hour).await.unwrap().expired,
        0,
        "nothing is an hour old"
    );
    assert_eq!(shop.level(&mug).await["reserved"], 5);

    assert_eq!(
        expiry::sweep(&shop.app.state, Duration::ZERO)
            .await
            .unwrap()
            .expired,
        1,
        "only the unpaid one"
    );
    let uri = format!("{}/orders/{}", shop.base, unpaid["id"].as_str().unwrap());
    let expired = shop.app.get(&uri, shop.staff()).await.expect(200);
    assert_eq!(expired["status"], "cancelled");
    let event = &expired["events"][1];
    assert_eq!(
        (event["kind"].as_str(), event["actor"].as_str()),
        (Some("cancelled"), Some(expiry::ACTOR))
    );
    assert_eq!(
        shop.level(&mug).await["reserved"],
        2,
        "the paid order keeps its units"
    );
    assert_eq!(
        expiry::sweep(&shop.app.state, Duration::ZERO)
            .await
            .unwrap()
            .expired,
        0,
        "once only"
    );
}

#[actix_web::test]
async fn a_store_the_sweep_fails_on_does_not_stop_the_others() {
    use shopfleet_api::orders::expiry::{self, Swept};
    use std::time::Duration;

    let broken = Shop::new().await;
    let healthy = broken.another_store("healthy").await;
    let mut unpaid = Vec::new();
    for shop in [&broken, &healthy] {
        let mug = shop.stocked("MUG", 900, 10).await;
        unpaid.push(shop.order(shop.staff(), one(&mug, 1)).await.expect(201));
    }
    // Any change to the broken store's orders now fails in PostgreSQL.
    let broken_store = broken.base.trim_start_matches("/v1/stores/");
    let mut owner = broken.app.tenant().owner().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
           $$BEGIN RAISE EXCEPTION 'this store is broken'; END$$; \
         CREATE TRIGGER broken BEFORE UPDATE ON orders FOR EACH ROW \
           WHEN (OLD.store_id = '{broken_store}') EXECUTE FUNCTION refuse();"
    )))
    .execute(&mut owner)
    .await
    .unwrap();

    let swept = expiry::sweep(&broken.app.state, Duration::ZERO).await.unwrap();
    assert_eq!(
        swept,
        Swept {
            expired: 1,
            failed_stores: 1
        }
    );
    for (shop, order, status) in [
        (&broken, &unpaid[0], "pending"),
        (&healthy, &unpaid[1], "cancelled"),
    ] {
        let uri = format!("{}/orders/{}", shop.base, order["id"].as_str().unwrap());
        assert_eq!(
            shop.app.get(&uri, shop.staff()).await.expect(200)["status"],
            status
        );
    }
    let metrics = broken.app.scrape().await;
    assert!(
        metrics
            .lines()
            .any(|line| line == "shopfleet_api_order_expiry_failures_total 1"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn what_open_orders_hold_cannot_be_deleted_from_the_catalog() {
    let shop = Shop::new().await;
    let mut two = product("Mug", "MUG-S", 900);
    two["variants"] = json!([{"sku": "MUG-S", "price_minor": 900}, {"sku": "MUG-L", "price_minor": 1100}]);
    let mug = shop.create(two).await;
    let (product_id, small) = (
        mug["id"].as_str().unwrap(),
        mug["variants"][0]["id"].as_str().unwrap(),
    );
    shop.receive(small, 5).await;
    let order = shop.order(shop.staff(), one(small, 1)).await.expect(201);

    let shop = &shop;
    let delete = |uri: String| async move {
        shop.app
            .call(actix_web::http::Method::DELETE, &uri, shop.staff(), Value::Null)
            .await
    };
    let variant_uri = format!("{}/products/{product_id}/variants/{small}?version=1", shop.base);
    let product_uri = format!("{}/products/{product_id}?version=1", shop.base);
    for uri in [&variant_uri, &product_uri] {
        let problem = delete(uri.clone()).await.expect_problem(409, "conflict");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("1 units are reserved"),
            "{problem}"
        );
    }
    shop.change(&order, "cancel", json!({})).await.expect(200);
    delete(variant_uri).await.expect(204);
    delete(product_uri).await.expect(204);
}

/// One customer cannot keep a store's stock in unpaid orders: past the
/// Tenant's caps on unpaid orders and the units they hold, orders are
/// refused until one is paid or cancelled; staff are not held to them; no
/// night past the booking horizon is sold; and a customer placing orders
/// too fast is slowed down.
#[actix_web::test]
async fn a_customer_cannot_hoard_stock_in_unpaid_orders() {
    use shopfleet_api::limits::Limits;
    use shopfleet_api::limits::client::TrustedProxies;
    use shopfleet_contract::{OrderLimits, RateLimits};

    let limits = OrderLimits {
        max_pending_orders: 2,
        max_pending_units: 5,
        booking_horizon_days: 30,
        orders_per_minute: 5,
    };
    let shop = Shop::limited(Limits::new(
        RateLimits::default(),
        limits,
        TrustedProxies::default(),
    ))
    .await;
    let mug = shop.variant(product("Mug", "MUG", 1200)).await;
    shop.receive(&mug, 1000).await;
    let hoarder = shop.app.customer("hoarder@example.com").await;
    let hoarder = As::Bearer(access(&hoarder));
    let lines = |quantity: i32| json!({"lines": [{"variant_id": mug, "quantity": quantity}]});

    shop.order(hoarder, lines(3)).await.expect(201);
    let problem = shop
        .order(hoarder, lines(3))
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&problem), ["lines"], "3 + 3 units is over 5");
    let second = shop.order(hoarder, lines(2)).await.expect(201);
    let problem = shop
        .order(hoarder, lines(1))
        .await
        .expect_problem(409, "conflict");
    assert!(
        problem["detail"].as_str().unwrap().contains("2 unpaid orders"),
        "{problem}"
    );
    assert_eq!(shop.level(&mug).await["reserved"], 5, "nothing more is held");

    // Staff placing an order for the customer are not held to the caps.
    let customer_id = second["customer_id"].clone();
    let for_customer = json!({"lines": [{"variant_id": mug, "quantity": 1}], "customer_id": customer_id});
    let by_staff = shop.order(shop.staff(), for_customer).await.expect(201);

    // Cancelling makes room again.
    for order in [&second, &by_staff] {
        let cancel = format!("/orders/{}/cancel", order["id"].as_str().unwrap());
        shop.app
            .send(shop.keyed(&cancel, shop.staff(), &cancel, &json!({})))
            .await
            .expect(200);
    }
    // The fifth order this minute (refused ones count) is its last: then it waits.
    shop.order(hoarder, lines(1)).await.expect(201);
    let slowed = shop.order(hoarder, lines(1)).await;
    assert_eq!(slowed.status.as_u16(), 429, "{:#}", slowed.body);

    // Nights: up to 30 days ahead.
    let room = shop
        .variant(
            json!({"title": "Room", "kind": "room_night", "status": "active", "capacity": 2,
            "variants": [{"sku": "ROOM", "price_minor": 9000}]}),
        )
        .await;
    let far = (chrono::Utc::now().date_naive() + chrono::Days::new(31)).to_string();
    let problem = shop
        .order(
            shop.staff(),
            json!({"lines": [{"variant_id": room, "quantity": 1, "night": far}]}),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["lines[0].night"]);
}
