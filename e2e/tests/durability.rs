//! A crash loses nothing acknowledged: buyers place orders as fast as they
//! can, the API is killed with SIGKILL mid-stream, and after a restart every
//! order that got its 201 is there, and the stock reserved is exactly what
//! the orders that exist hold (no reservation outlived an order that was
//! never committed). Real operator, PostgreSQL and API process.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::{ServedTenant, call, client, delete_tenants, expect};

const BUYERS: usize = 8;

#[tokio::test]
async fn a_kill_9_under_load_loses_no_acknowledged_order_and_leaks_no_stock() {
    let client = client().await;
    let mut served = ServedTenant::new(&client).await;
    // As fast as they can: past the plan's rates, which are not the point here.
    served.lift_rate_limits();
    let orders = format!("/v1/stores/{}/orders", served.store);
    let key = ("X-Api-Key", served.secret_key.clone());
    let port = served.api.port;

    // Three products with plenty of stock.
    let mut variants = Vec::new();
    for sku in ["MUG", "CUP", "PLATE"] {
        let product = json!({"title": sku, "kind": "standard", "status": "active",
            "variants": [{"sku": sku, "price_minor": 1000}]});
        let created = expect(
            call(
                port,
                "POST",
                &format!("/v1/stores/{}/products", served.store),
                Some((key.0, &key.1)),
                Some(product),
            ),
            201,
        );
        let variant = created["variants"][0]["id"].as_str().unwrap().to_owned();
        let received = json!({"variant_id": variant, "delta": 100_000, "reason": "received"});
        let adjust = shopfleet_e2e::http::request(
            port,
            "POST",
            &format!("/v1/stores/{}/inventory/adjustments", served.store),
            &[
                (key.0, key.1.as_str()),
                ("Idempotency-Key", &format!("receive-{sku}")),
            ],
            Some(&received),
        )
        .unwrap();
        assert_eq!(adjust.status, 201, "{}", adjust.body);
        variants.push(variant);
    }
    let body = json!({"lines": [
        {"variant_id": variants[0], "quantity": 1},
        {"variant_id": variants[1], "quantity": 2},
        {"variant_id": variants[2], "quantity": 3}
    ]});

    // Buyers place orders until the API dies; each keeps the ids it was given.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let buyers: Vec<_> = (0..BUYERS)
        .map(|buyer| {
            let (acknowledged, stop, body, orders) =
                (acknowledged.clone(), stop.clone(), body.clone(), orders.clone());
            let secret = key.1.clone();
            std::thread::spawn(move || {
                for attempt in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let idempotency = format!("buyer-{buyer}-{attempt}");
                    let headers = [
                        ("X-Api-Key", secret.as_str()),
                        ("Idempotency-Key", idempotency.as_str()),
                    ];
                    match shopfleet_e2e::http::request(port, "POST", &orders, &headers, Some(&body)) {
                        Ok(response) if response.status == 201 => {
                            let order = response.json().unwrap();
                            acknowledged
                                .lock()
                                .unwrap()
                                .push(order["id"].as_str().unwrap().to_owned());
                        }
                        Ok(response) => panic!("an order was refused: {} {}", response.status, response.body),
                        // The API is gone: what was not acknowledged may or may not exist.
                        Err(_) => return true,
                    }
                }
                false
            })
        })
        .collect();
    wait_for(
        || acknowledged.lock().unwrap().len() >= 50,
        "50 acknowledged orders",
    );
    served.api.process.kill();
    stop.store(true, Ordering::Relaxed);
    let mut interrupted = 0;
    for buyer in buyers {
        interrupted += usize::from(buyer.join().expect("a buyer panicked"));
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    eprintln!(
        "{} orders acknowledged before the kill; {interrupted} requests were in flight",
        acknowledged.len()
    );
    assert!(interrupted > 0, "the kill should cut requests off mid-way");

    served.api = ServedTenant::start_api(&served.launch);
    let port = served.api.port;
    let auth = Some((key.0, key.1.as_str()));

    let mut stored = Vec::new();
    let mut page = format!("{orders}?limit=100");
    loop {
        let listed = expect(call(port, "GET", &page, auth, None), 200);
        for order in listed["items"].as_array().unwrap() {
            stored.push(order["id"].as_str().unwrap().to_owned());
        }
        match listed["next_cursor"].as_str() {
            Some(cursor) => page = format!("{orders}?limit=100&cursor={cursor}"),
            None => break,
        }
    }
    let missing: Vec<&String> = acknowledged.iter().filter(|id| !stored.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged orders lost in the crash: {missing:?}"
    );
    eprintln!(
        "{} orders stored: {} committed without their answer reaching the buyer",
        stored.len(),
        stored.len() - acknowledged.len()
    );

    // Every order holds 1 + 2 + 3 units; nothing else holds any.
    let levels = expect(
        call(
            port,
            "GET",
            &format!("/v1/stores/{}/inventory", served.store),
            auth,
            None,
        ),
        200,
    );
    for (variant, per_order) in variants.iter().zip([1, 2, 3]) {
        let level: &Value = levels["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|level| level["variant_id"] == variant.as_str())
            .unwrap();
        assert_eq!(
            level["reserved"].as_u64().unwrap(),
            per_order * stored.len() as u64,
            "reserved units of {variant} match the {} stored orders",
            stored.len()
        );
    }

    let tenant = served.tenant.clone();
    drop(served);
    delete_tenants(&client, &[tenant]).await;
}

fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    for _ in 0..600 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}
