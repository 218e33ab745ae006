//! Storefront events through the API and into PostgreSQL: a batch keeps its
//! good events and names its bad ones, an event sent twice is stored once,
//! client clocks out of bounds are not believed, and a customer sends events
//! only as themselves. The checks of each field are unit-tested in
//! `events::model`.

mod support;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sqlx::Connection;
use support::{As, Shop, access, problem_fields};
use uuid::Uuid;

fn event(kind: &str, at: DateTime<Utc>, payload: Value) -> Value {
    json!({
        "id": Uuid::new_v4(), "kind": kind, "occurred_at": at.to_rfc3339(),
        "session_id": Uuid::new_v4(), "payload": payload,
    })
}

impl Shop {
    async fn send_events(&self, who: As<'_>, events: Vec<Value>) -> Value {
        self.app
            .post(&format!("{}/events", self.base), who, json!({"events": events}))
            .await
            .expect(200)
    }

    /// The store's stored events, oldest first: kind, client time, recorded
    /// time, clamped, customer.
    async fn stored_events(&self) -> Vec<(String, DateTime<Utc>, DateTime<Utc>, bool, Option<Uuid>)> {
        let mut conn = sqlx::PgConnection::connect(&self.app.tenant().url).await.unwrap();
        let store: Uuid = self.base.rsplit('/').next().unwrap().parse().unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("SELECT set_config('shopfleet.store_id', $1::text, true)")
            .bind(store)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query_as(
            "SELECT kind, client_occurred_at, occurred_at, clamped, customer_id FROM storefront_events \
             ORDER BY client_occurred_at, kind",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap()
    }
}

#[actix_web::test]
async fn a_batch_keeps_its_good_events_names_its_bad_ones_and_stores_each_id_once() {
    let shop = Shop::new().await;
    let now = Utc::now();
    let viewed = event(
        "product_viewed",
        now - Duration::minutes(3),
        json!({"product_id": Uuid::new_v4()}),
    );
    let events = vec![
        event(
            "session_started",
            now - Duration::minutes(4),
            json!({"referrer": "https://news.example"}),
        ),
        viewed.clone(),
        event(
            "added_to_cart",
            now,
            json!({"variant_id": Uuid::new_v4(), "quantity": 0}),
        ),
        json!("not an event"),
        event(
            "search_performed",
            now - Duration::minutes(2),
            json!({"query": "mug", "results": 3, "page": 2}),
        ),
        viewed.clone(),
        event(
            "checkout_started",
            now - Duration::minutes(1),
            json!({"value_minor": 4200, "items": 2}),
        ),
    ];
    let answer = shop.send_events(As::Key(&shop.publishable), events).await;
    assert_eq!(answer["accepted"], 3, "{answer:#}");
    assert_eq!(answer["duplicates"], 1, "the view sent twice in one batch");
    let rejected: Vec<(u64, Vec<&str>)> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let errors = r["errors"].as_array().unwrap();
            let fields = errors.iter().map(|e| e["field"].as_str().unwrap()).collect();
            (r["index"].as_u64().unwrap(), fields)
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (2, vec!["events[2].payload.quantity"]),
            (3, vec!["events[3]"]),
            (4, vec!["events[4].payload.page"]),
        ]
    );
    assert_eq!(answer["clamped"], json!([]));

    // Sent again (a retry after a lost answer): nothing new.
    let again = shop.send_events(As::Key(&shop.publishable), vec![viewed]).await;
    assert_eq!((&again["accepted"], &again["duplicates"]), (&json!(0), &json!(1)));
    let stored = shop.stored_events().await;
    let kinds: Vec<&str> = stored.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(kinds, ["session_started", "product_viewed", "checkout_started"]);
    assert!(
        stored.iter().all(|e| e.1 == e.2 && !e.3),
        "times believed as sent"
    );
}

#[actix_web::test]
async fn client_times_out_of_bounds_are_kept_at_arrival_and_flagged() {
    let shop = Shop::new().await;
    let now = Utc::now();
    let ahead = now + Duration::hours(2);
    let behind = now - Duration::days(5);
    let events = vec![
        event("session_started", ahead, json!({})),
        event("session_started", now - Duration::hours(71), json!({})),
        event("session_started", behind, json!({})),
    ];
    let answer = shop.send_events(As::Key(&shop.publishable), events).await;
    assert_eq!(answer["accepted"], 3, "{answer:#}");
    assert_eq!(answer["clamped"], json!([0, 2]));
    let stored = shop.stored_events().await;
    let after = Utc::now();
    // By client time: the one 5 days behind, the one 71 hours behind, the one ahead.
    let client: Vec<_> = stored.iter().map(|e| e.1).collect();
    let recorded: Vec<_> = stored.iter().map(|e| e.2).collect();
    let clamped: Vec<_> = stored.iter().map(|e| e.3).collect();
    assert_eq!(clamped, [true, false, true]);
    assert_eq!(
        (client[0] - behind).num_milliseconds(),
        0,
        "the client's time is kept beside"
    );
    assert_eq!((client[2] - ahead).num_milliseconds(), 0);
    for arrived in [recorded[0], recorded[2]] {
        assert!(
            arrived >= now - Duration::seconds(1) && arrived <= after,
            "{arrived} is not when it arrived"
        );
    }
    assert_eq!(recorded[1], client[1], "within 72 hours: believed");
}

#[actix_web::test]
async fn a_customer_sends_events_as_themselves_and_staff_and_keys_as_they_say() {
    let shop = Shop::new().await;
    let customer = shop.app.customer("shopper@example.com").await;
    let me: Uuid = customer["user"]["id"].as_str().unwrap().parse().unwrap();
    let someone = Uuid::new_v4();
    let now = Utc::now();
    let mut as_someone = event("session_started", now - Duration::seconds(3), json!({}));
    as_someone["customer_id"] = json!(someone);
    let unnamed = event("session_started", now - Duration::seconds(2), json!({}));
    let answer = shop
        .send_events(As::Bearer(access(&customer)), vec![as_someone.clone(), unnamed])
        .await;
    assert_eq!(answer["accepted"], 1, "{answer:#}");
    assert_eq!(
        answer["rejected"][0]["errors"][0]["field"],
        "events[0].customer_id"
    );

    // The shop front (its key) and the staff name the shopper they know.
    as_someone["id"] = json!(Uuid::new_v4());
    let answer = shop
        .send_events(As::Key(&shop.publishable), vec![as_someone])
        .await;
    assert_eq!(answer["accepted"], 1, "{answer:#}");
    let mut by_staff = event("session_started", now - Duration::seconds(1), json!({}));
    by_staff["customer_id"] = json!(someone);
    assert_eq!(
        shop.send_events(shop.staff(), vec![by_staff]).await["accepted"],
        1
    );
    let customers: Vec<Option<Uuid>> = shop.stored_events().await.iter().map(|e| e.4).collect();
    assert_eq!(customers, [Some(someone), Some(me), Some(someone)]);
}

#[actix_web::test]
async fn a_batch_holds_one_to_500_events() {
    let shop = Shop::new().await;
    let now = Utc::now();
    let url = format!("{}/events", shop.base);
    for count in [0, 501] {
        let events: Vec<Value> = (0..count)
            .map(|_| event("session_started", now, json!({})))
            .collect();
        let problem = shop
            .app
            .post(&url, As::Key(&shop.publishable), json!({"events": events}))
            .await
            .expect_problem(422, "validation");
        assert_eq!(problem_fields(&problem), ["events"], "{count} events");
    }
    // The longest payloads fit: more than the other routes' 256 KiB.
    let referrer = "r".repeat(500);
    let full: Vec<Value> = (0..500)
        .map(|_| event("session_started", now, json!({"referrer": referrer})))
        .collect();
    assert!(json!({"events": full}).to_string().len() > 256 * 1024);
    assert_eq!(
        shop.send_events(As::Key(&shop.publishable), full).await["accepted"],
        500
    );
    assert_eq!(shop.stored_events().await.len(), 500);
}
