//! The staff web app in a real browser: Debian's Chromium, driven by
//! playwright-core from the web app's own test suite (`web/tests/`), against
//! the API as a real process over a real tenant database with a day of
//! trade in it (and a second store, a hotel). What the suite checks is listed in `web/tests/README.md`;
//! this test gives it the platform and fails when it fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use support::replica::Replica;
use support::{As, Shop, product};

/// The owner's credentials, as `TestApp::owner` set them.
const OWNER_EMAIL: &str = "owner@acme.test";
const OWNER_PASSWORD: &str = "owner password 1";

/// Today's trade: three orders (two paid), a candle nearly sold out (low
/// stock), and a shop-front session that reached checkout (the funnel).
async fn a_day_of_trade(shop: &Shop) -> String {
    let mug = shop.variant(product("Mug", "MUG", 900)).await;
    shop.receive(&mug, 1_000).await;
    let candle = shop.variant(product("Candle", "CANDLE", 1500)).await;
    shop.receive(&candle, 4).await;
    for (variant, quantity, paid) in [(&mug, 2, true), (&candle, 1, true), (&mug, 1, false)] {
        let order = shop
            .order(
                As::Key(&shop.secret),
                json!({"lines": [{"variant_id": variant, "quantity": quantity}]}),
            )
            .await
            .expect(201);
        if paid {
            shop.app
                .post(
                    &format!("{}/orders/{}/pay", shop.base, order["id"].as_str().unwrap()),
                    shop.staff(),
                    json!({}),
                )
                .await
                .expect(200);
        }
    }
    let session = uuid::Uuid::new_v4();
    let now = jiff::Timestamp::now().to_string();
    let events: Vec<_> = [
        ("session_started", json!({})),
        ("product_viewed", json!({"product_id": uuid::Uuid::new_v4()})),
        ("added_to_cart", json!({"variant_id": mug, "quantity": 1})),
        ("checkout_started", json!({"value_minor": 900, "items": 1})),
    ]
    .into_iter()
    .map(|(kind, payload)| {
        json!({"id": uuid::Uuid::new_v4(), "kind": kind, "occurred_at": now, "session_id": session, "payload": payload})
    })
    .collect();
    shop.app
        .post(
            &format!("{}/events", shop.base),
            As::Key(&shop.publishable),
            json!({"events": events}),
        )
        .await
        .expect(200);
    mug
}

/// A second store of the tenant, a hotel: a room of 4 with one booked and
/// paid for tonight (occupancy, ADR and RevPAR), so the owner picks a store.
async fn a_hotel(shop: &Shop) -> Shop {
    let hotel = shop.another_store("hotel").await;
    // Before any request of the store, which would cache it.
    sqlx::query("UPDATE stores SET industry = 'hospitality' WHERE id = $1::uuid")
        .bind(hotel.base.rsplit('/').next().unwrap())
        .execute(&mut shop.app.tenant().owner().await)
        .await
        .unwrap();
    let room = hotel
        .create(
            json!({"title": "Room", "kind": "room_night", "status": "active", "capacity": 4,
            "variants": [{"sku": "DBL", "price_minor": 12000}]}),
        )
        .await;
    let tonight = jiff::Zoned::now()
        .in_tz("Europe/Berlin")
        .unwrap()
        .date()
        .to_string();
    let booking = hotel
        .order(
            As::Key(&hotel.secret),
            json!({"lines": [{"variant_id": room["variants"][0]["id"], "quantity": 1, "night": tonight}]}),
        )
        .await
        .expect(201);
    hotel
        .app
        .post(
            &format!("{}/orders/{}/pay", hotel.base, booking["id"].as_str().unwrap()),
            hotel.staff(),
            json!({}),
        )
        .await
        .expect(200);
    hotel
}

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")
}

#[actix_web::test]
async fn the_staff_app_works_in_a_real_browser() {
    let chromium = shopfleet_e2e::chromium::path().unwrap_or_else(|error| panic!("{error:#}"));
    let web = web_dir();
    assert!(
        web.join("node_modules/playwright-core").exists(),
        "the web app's packages are not installed: run `make web` (it needs Node.js 20+ with npm)"
    );
    let shop = Shop::new().await;
    let mug = a_day_of_trade(&shop).await;
    let hotel = a_hotel(&shop).await;
    let replica = Replica::start(&shop.app, &[]);
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artifacts).unwrap();

    let status = Command::new("node")
        .args(["--test", "--test-reporter=spec", "--test-concurrency=1", "tests/"])
        .current_dir(&web)
        .env("CHROME_PATH", &chromium)
        .env("SHOPFLEET_APP", format!("http://127.0.0.1:{}", replica.port))
        .env("SHOPFLEET_EMAIL", OWNER_EMAIL)
        .env("SHOPFLEET_PASSWORD", OWNER_PASSWORD)
        .env("SHOPFLEET_STORE", &shop.base)
        .env("SHOPFLEET_STORE_KEY", &shop.secret)
        .env("SHOPFLEET_VARIANT", &mug)
        .env("SHOPFLEET_HOTEL", &hotel.base)
        .env("SHOPFLEET_ARTIFACTS", &artifacts)
        .status()
        .unwrap_or_else(|error| {
            panic!("node could not be started ({error}): Node.js 20+ runs the browser tests")
        });
    assert!(
        status.success(),
        "the browser tests failed ({status}); see their output above"
    );
    eprintln!("screenshots: {}", artifacts.display());
}
