//! The funnel, against counts made by hand: sessions by the day of their
//! first event, each step counting the sessions that took every step before
//! it, late events and purchases moving sessions after they were folded.

mod support;

use serde_json::{Value, json};
use support::As;
use support::history::History;

/// Storefront events: (session, kind, local Berlin time), sent with the
/// store's publishable key, then moved to their time.
async fn events(h: &mut History, events: &[(&str, &str, &str)]) {
    let mut batch = Vec::new();
    let mut times = Vec::new();
    for (session, kind, at) in events {
        let id = uuid::Uuid::new_v4();
        let payload = match *kind {
            "product_viewed" => json!({"product_id": uuid::Uuid::new_v4()}),
            "added_to_cart" => json!({"variant_id": h.mug, "quantity": 1}),
            "checkout_started" => json!({"value_minor": 1000, "items": 1}),
            _ => json!({}),
        };
        batch.push(
            json!({"id": id, "kind": kind, "occurred_at": jiff::Timestamp::now().to_string(),
            "session_id": session, "payload": payload}),
        );
        times.push((id, *at));
    }
    let answer = h
        .shop
        .app
        .post(
            &format!("{}/events", h.shop.base),
            As::Key(&h.shop.publishable),
            json!({"events": batch}),
        )
        .await
        .expect(200);
    assert_eq!(answer["accepted"], events.len(), "{answer:#}");
    for (id, at) in times {
        sqlx::query("UPDATE storefront_events SET occurred_at = $2::timestamptz WHERE event_id = $1")
            .bind(id)
            .bind(at)
            .execute(&mut h.db)
            .await
            .unwrap();
    }
}

/// An order of one mug placed and paid in `session` at `at`.
async fn purchase(h: &mut History, session: &str, at: &str) {
    let body = json!({"lines": [{"variant_id": h.mug, "quantity": 1}], "session_id": session});
    let order = h.place_order(body, at).await;
    assert_eq!(order["session_id"], session);
    h.change(&order, "pay", json!({}), at).await;
}

async fn funnel(h: &History, query: &str) -> Value {
    h.shop
        .app
        .get(
            &format!("{}/analytics/funnel?{query}", h.shop.base),
            h.shop.staff(),
        )
        .await
        .expect(200)
}

/// (start, sessions, viewed, added, checkout, purchased) per bucket.
fn steps(period: &Value) -> Vec<(String, [i64; 5])> {
    period["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let n = |field: &str| b[field].as_i64().unwrap();
            (
                b["start"].as_str().unwrap().to_owned(),
                [
                    n("sessions"),
                    n("viewed_product"),
                    n("added_to_cart"),
                    n("started_checkout"),
                    n("purchased"),
                ],
            )
        })
        .collect()
}

fn day(start: &str, counts: [i64; 5]) -> (String, [i64; 5]) {
    (start.to_owned(), counts)
}

#[actix_web::test]
async fn the_funnel_counts_each_session_once_at_the_deepest_step_it_reached_in_order() {
    let mut h = History::new().await;
    let (s1, s2, s3, s4, s5, s6) = (
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
        "00000000-0000-4000-8000-000000000003",
        "00000000-0000-4000-8000-000000000004",
        "00000000-0000-4000-8000-000000000005",
        "00000000-0000-4000-8000-000000000006",
    );
    // The 29th of March (clocks go forward at 02:00) and the 30th, in Berlin.
    events(
        &mut h,
        &[
            (s1, "session_started", "2026-03-29T10:00:00+02:00"),
            (s1, "product_viewed", "2026-03-29T10:01:00+02:00"),
            (s1, "added_to_cart", "2026-03-29T10:02:00+02:00"),
            (s1, "checkout_started", "2026-03-29T10:03:00+02:00"),
            (s2, "session_started", "2026-03-29T11:00:00+02:00"),
            (s2, "product_viewed", "2026-03-29T11:01:00+02:00"),
            (s2, "added_to_cart", "2026-03-29T11:02:00+02:00"),
            (s3, "product_viewed", "2026-03-29T12:00:00+02:00"),
            (s4, "session_started", "2026-03-29T13:00:00+02:00"),
            // S5 skips the product page: the strict funnel counts it at no step.
            (s5, "added_to_cart", "2026-03-30T09:00:00+02:00"),
            (s5, "checkout_started", "2026-03-30T09:05:00+02:00"),
            (s6, "product_viewed", "2026-03-30T10:00:00+02:00"),
        ],
    )
    .await;
    purchase(&mut h, s1, "2026-03-29T10:30:00+02:00").await;
    h.fold().await;
    // 29th: S1 bought, S2 carted, S3 viewed, S4 only came.   30th: S5 none, S6 viewed.
    let report = funnel(&h, "from=2026-03-29&to=2026-03-31").await;
    assert_eq!(
        steps(&report["current"]),
        [
            day("2026-03-29T00:00:00+01:00", [4, 3, 2, 1, 1]),
            day("2026-03-30T00:00:00+02:00", [2, 1, 0, 0, 0]),
        ]
    );

    // After the fold: S3 goes on to the cart and the checkout; S2 buys
    // without a checkout event (still counted at the cart); a late event
    // shows S6 began on the evening of the 29th.
    events(
        &mut h,
        &[
            (s3, "added_to_cart", "2026-03-30T08:00:00+02:00"),
            (s3, "checkout_started", "2026-03-30T08:01:00+02:00"),
            (s6, "session_started", "2026-03-29T23:00:00+02:00"),
        ],
    )
    .await;
    purchase(&mut h, s2, "2026-03-30T12:00:00+02:00").await;
    for _ in 0..2 {
        // 29th: S1..S4 and S6 = 5; viewed S1 S2 S3 S6 = 4; carted S1 S2 S3 = 3;
        // checkout S1 S3 = 2; bought S1 = 1.   30th: S5 alone.
        let report = funnel(&h, "from=2026-03-29&to=2026-03-31").await;
        assert_eq!(
            steps(&report["current"]),
            [
                day("2026-03-29T00:00:00+01:00", [5, 4, 3, 2, 1]),
                day("2026-03-30T00:00:00+02:00", [1, 0, 0, 0, 0]),
            ]
        );
        let totals = &report["current"]["totals"];
        assert_eq!(totals["sessions"], 6);
        // 4/6, 3/4, 2/3, 1/2; overall 1/6.
        assert_eq!(
            totals["step_conversion_percent"],
            json!([66.67, 75.0, 66.67, 50.0])
        );
        assert_eq!(totals["conversion_percent"], 16.67);
        // By hour: S1 at 10:00, S2 at 11:00, S3 at 12:00, S4 at 13:00, S6 at 23:00.
        let hours = funnel(&h, "from=2026-03-29&to=2026-03-30&interval=hour").await;
        let busy: Vec<(String, [i64; 5])> = steps(&hours["current"])
            .into_iter()
            .filter(|(_, counts)| counts[0] > 0)
            .collect();
        assert_eq!(
            busy,
            [
                day("2026-03-29T10:00:00+02:00", [1, 1, 1, 1, 1]),
                day("2026-03-29T11:00:00+02:00", [1, 1, 1, 0, 0]),
                day("2026-03-29T12:00:00+02:00", [1, 1, 1, 1, 0]),
                day("2026-03-29T13:00:00+02:00", [1, 0, 0, 0, 0]),
                day("2026-03-29T23:00:00+02:00", [1, 1, 0, 0, 0]),
            ]
        );
        h.fold().await;
    }
    let csv = h
        .shop
        .app
        .send(
            actix_web::test::TestRequest::get()
                .uri(&format!(
                    "{}/analytics/funnel?from=2026-03-29&to=2026-03-30",
                    h.shop.base
                ))
                .insert_header((
                    "Authorization",
                    format!("Bearer {}", support::access(&h.shop.owner)),
                ))
                .insert_header(("Accept", "text/csv")),
        )
        .await;
    assert_eq!(
        csv.body,
        "period,start,sessions,viewed_product,added_to_cart,started_checkout,purchased,conversion_percent\r\n\
         current,2026-03-29T00:00:00+01:00,5,4,3,2,1,20\r\n"
    );
}
