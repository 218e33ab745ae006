//! Events, against figures worked out by hand: seats sold against capacity,
//! revenue and average price, how fast they sold, and once the doors open,
//! who came.

mod support;

use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::{Value, json};
use support::history::History;

/// Noon of `day` in Berlin, as RFC 3339.
fn noon(day: Date) -> String {
    day.at(12, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
        .unwrap()
        .timestamp()
        .to_string()
}

async fn events(h: &History, from: Date, to: Date) -> Value {
    h.shop
        .app
        .get(
            &format!("{}/analytics/events?from={from}&to={to}", h.shop.base),
            h.shop.staff(),
        )
        .await
        .expect(200)
}

#[actix_web::test]
async fn an_event_shows_its_sell_through_velocity_and_once_started_who_came() {
    let mut h = History::of("events").await;
    let today = jiff::Zoned::now().in_tz("Europe/Berlin").unwrap().date();
    let starts = jiff::Timestamp::now().checked_add(480.hours()).unwrap();
    let gig = h
        .shop
        .create(
            json!({"title": "Gig", "kind": "ticket", "status": "active", "capacity": 10,
            "event_starts_at": starts.to_string(), "variants": [{"sku": "GA", "price_minor": 3000}]}),
        )
        .await;
    let later = json!({"title": "Later gig", "kind": "ticket", "status": "active", "capacity": 4,
        "event_starts_at": starts.checked_add(480.hours()).unwrap().to_string(),
        "variants": [{"sku": "LATE", "price_minor": 2000}]});
    h.shop.create(later).await;
    let seat = gig["variants"][0]["id"].as_str().unwrap().to_owned();
    let day = |k: i64| today.checked_sub(k.days()).unwrap();

    // 5 days ago: 3 seats. 4 days ago: 2 with 5.00 off. 2 days ago: 1 seat,
    // and one of the first 3 refunded.
    let first = h.sale(&[(&seat, 3)], None, &noon(day(5))).await;
    let second = h.sale(&[(&seat, 2)], Some("SAVE5"), &noon(day(4))).await;
    h.fold().await;
    h.sale(&[(&seat, 1)], None, &noon(day(2))).await;
    let refund = json!({"lines": [{"line_id": first["lines"][0]["id"], "quantity": 1}]});
    h.change(&first, "refunds", refund, &noon(day(2))).await;

    let (from, to) = (day(30), today.checked_add(60.days()).unwrap());
    let expected_gig = |came: Value, check_in: Value, no_show: Value| {
        json!({"product_id": gig["id"], "title": "Gig", "capacity": 10,
            // 3 + 2 + 1 − 1 seats; 9000 + (6000 − 500) + 3000 − 3000.
            "tickets_sold": 5, "sell_through_percent": 50.0, "revenue_minor": 14500,
            "average_ticket_price_minor": 2900, "first_sale_on": day(5).to_string(),
            // 5 seats over the 6 days from the first sale to today.
            "sales_velocity_per_day": 0.83,
            // 3 the first day, 5 the next: half of 10.
            "days_to_half_sold": 1,
            "checked_in": came, "check_in_percent": check_in, "no_show_percent": no_show})
    };
    for _ in 0..2 {
        let report = events(&h, from, to).await;
        let listed = report["events"].as_array().unwrap();
        assert_eq!(listed.len(), 2);
        let mut gig_figures = listed[0].clone();
        gig_figures.as_object_mut().unwrap().remove("starts_at");
        assert_eq!(gig_figures, expected_gig(Value::Null, Value::Null, Value::Null));
        // Nothing sold yet: no average, no velocity.
        assert_eq!(listed[1]["tickets_sold"], 0);
        assert_eq!(listed[1]["sell_through_percent"], 0.0);
        assert_eq!(listed[1]["average_ticket_price_minor"], Value::Null);
        assert_eq!(listed[1]["sales_velocity_per_day"], Value::Null);
        h.fold().await;
    }

    // Two of the second order's guests come; the show has just begun.
    for ticket in second["tickets"].as_array().unwrap() {
        h.shop
            .app
            .post(
                &format!("{}/tickets/check-in", h.shop.base),
                h.shop.staff(),
                json!({"code": ticket["code"]}),
            )
            .await
            .expect(200);
    }
    sqlx::query("UPDATE products SET event_starts_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(gig["id"].as_str().unwrap())
        .execute(&mut h.db)
        .await
        .unwrap();
    let report = events(&h, from, to).await;
    let mut gig_figures = report["events"][0].clone();
    gig_figures.as_object_mut().unwrap().remove("starts_at");
    // 2 of 5 came; the velocity now counts to the event's day, today.
    assert_eq!(gig_figures, expected_gig(json!(2), json!(40.0), json!(60.0)));
}
