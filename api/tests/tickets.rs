//! Tickets of events: paying an order issues one code per seat, shown on
//! the order to its customer; staff check each code in once; a refunded seat
//! or a cancelled order voids its codes.

mod support;

use serde_json::{Value, json};
use support::{As, Shop, access, problem_fields};

impl Shop {
    async fn gig(&self) -> (String, String) {
        let gig = self
            .create(
                json!({"title": "Gig", "kind": "ticket", "status": "active", "capacity": 10,
                "event_starts_at": "2027-05-01T19:00:00Z",
                "variants": [{"sku": "GA", "price_minor": 3000}]}),
            )
            .await;
        let mug = self
            .create(
                json!({"title": "Mug", "kind": "standard", "status": "active", "variants": [{"sku": "MUG", "price_minor": 900}]}),
            )
            .await;
        let variant = |product: &Value| product["variants"][0]["id"].as_str().unwrap().to_owned();
        self.receive(&variant(&mug), 5).await;
        (variant(&gig), variant(&mug))
    }

    async fn post_keyed(&self, path: &str, who: As<'_>, body: Value) -> support::Reply {
        let key = uuid::Uuid::new_v4().to_string();
        self.app.send(self.keyed(path, who, &key, &body)).await
    }

    async fn check_in(&self, code: &str) -> support::Reply {
        self.app
            .post(
                &format!("{}/tickets/check-in", self.base),
                self.staff(),
                json!({"code": code}),
            )
            .await
    }
}

fn codes(order: &Value) -> Vec<String> {
    order["tickets"]
        .as_array()
        .map(|tickets| {
            tickets
                .iter()
                .map(|t| t["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn statuses(order: &Value) -> Vec<&str> {
    order["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn paying_issues_a_code_per_seat_which_checks_in_once() {
    let shop = Shop::new().await;
    let (gig, mug) = shop.gig().await;
    let customer = shop.app.customer("fan@example.com").await;
    let fan = As::Bearer(access(&customer));
    let lines = json!({"lines": [{"variant_id": gig, "quantity": 3}, {"variant_id": mug, "quantity": 1}]});
    let order = shop.order(fan, lines).await.expect(201);
    assert!(codes(&order).is_empty(), "no codes before payment");
    let id = order["id"].as_str().unwrap();

    let paid = shop
        .post_keyed(&format!("/orders/{id}/pay"), shop.staff(), json!({}))
        .await
        .expect(200);
    let issued = codes(&paid);
    assert_eq!(issued.len(), 3, "one per seat, none for the mug: {paid:#}");
    assert_eq!(issued.iter().collect::<std::collections::HashSet<_>>().len(), 3);
    let gig_line = &paid["lines"][0]["id"];
    assert!(
        paid["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| &t["line_id"] == gig_line)
    );
    // The customer sees them on their order.
    let seen = shop
        .app
        .get(&format!("{}/orders/{id}", shop.base), fan)
        .await
        .expect(200);
    assert_eq!(codes(&seen), issued);

    // At the door: once, whatever the case and dashes the scanner sends.
    let typed = issued[0].replace('-', "").to_lowercase();
    let ticket = shop.check_in(&typed).await.expect(200);
    assert_eq!(
        (ticket["code"].as_str(), ticket["status"].as_str()),
        (Some(issued[0].as_str()), Some("checked_in"))
    );
    let at = ticket["checked_in_at"].as_str().unwrap().to_owned();
    let again = shop.check_in(&issued[0]).await.expect_problem(409, "conflict");
    assert_eq!(problem_fields(&again), ["code"]);
    let said = again["detail"].as_str().unwrap();
    let when: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
    assert!(said.contains(&when.to_rfc3339()), "says when: {said} ({at})");
    shop.check_in("00000-00000-00000-00000")
        .await
        .expect_problem(404, "not-found");
    let bad = shop
        .check_in("not a code")
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&bad), ["code"]);
    // Customers do not check tickets in.
    shop.app
        .post(
            &format!("{}/tickets/check-in", shop.base),
            fan,
            json!({"code": issued[1]}),
        )
        .await
        .expect_problem(403, "forbidden");
}

#[actix_web::test]
async fn a_refunded_seat_and_a_cancelled_order_void_their_codes() {
    let shop = Shop::new().await;
    let (gig, _) = shop.gig().await;
    let staff = shop.staff();
    let order = shop
        .order(staff, json!({"lines": [{"variant_id": gig, "quantity": 3}]}))
        .await
        .expect(201);
    let id = order["id"].as_str().unwrap();
    let paid = shop
        .post_keyed(&format!("/orders/{id}/pay"), staff, json!({}))
        .await
        .expect(200);
    let issued = codes(&paid);
    shop.check_in(&issued[0]).await.expect(200);

    // One seat refunded: an unused code goes, not the one already used.
    let line = &paid["lines"][0]["id"];
    let refunded = shop
        .post_keyed(
            &format!("/orders/{id}/refunds"),
            staff,
            json!({"lines": [{"line_id": line, "quantity": 1}]}),
        )
        .await
        .expect(200);
    assert_eq!(statuses(&refunded), ["checked_in", "valid", "void"]);
    let void = shop.check_in(&issued[2]).await.expect_problem(409, "conflict");
    assert!(void["detail"].as_str().unwrap().contains("void"), "{void:#}");

    // Cancelled: every code left is void.
    let cancelled = shop
        .post_keyed(&format!("/orders/{id}/cancel"), staff, json!({}))
        .await
        .expect(200);
    assert_eq!(statuses(&cancelled), ["void", "void", "void"]);
    shop.check_in(&issued[1]).await.expect_problem(409, "conflict");
}
