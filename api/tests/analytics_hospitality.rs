//! Hospitality, against figures worked out by hand: rooms per night of stay
//! (occupancy from the rooms' capacity, ADR, RevPAR, arrivals, length of
//! stay, lead time) and tables per day of sale (covers, check per cover).

mod support;

use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::{Value, json};
use support::history::History;

async fn hospitality(h: &History, query: &str) -> Value {
    h.shop
        .app
        .get(
            &format!("{}/analytics/hospitality?{query}", h.shop.base),
            h.shop.staff(),
        )
        .await
        .expect(200)
}

/// `night` as the API reads a night, and an instant on its evening in Berlin.
fn evening(night: Date, days_before: i64) -> String {
    let day = night.checked_sub(days_before.days()).unwrap();
    format!("{day}T18:00:00+01:00")
}

#[actix_web::test]
async fn rooms_count_by_night_against_their_capacity_and_tables_by_their_covers() {
    let mut h = History::of("hospitality").await;
    let room = h
        .shop
        .create(
            json!({"title": "Room", "kind": "room_night", "status": "active", "capacity": 3,
            "variants": [{"sku": "STD", "title": "Standard", "price_minor": 10000},
                         {"sku": "FLEX", "title": "Flexible", "price_minor": 12000}]}),
        )
        .await;
    let (standard, flexible) = (
        room["variants"][0]["id"].as_str().unwrap().to_owned(),
        room["variants"][1]["id"].as_str().unwrap().to_owned(),
    );
    let dinner = h
        .shop
        .variant(json!({"title": "Dinner", "kind": "standard", "status": "active",
            "variants": [{"sku": "DINNER", "price_minor": 3000}]}))
        .await;
    h.shop.receive(&dinner, 10).await;
    // Nights a month ahead (rooms cannot be sold for past nights), in winter
    // or summer time alike: the evenings below only set the order's day.
    let n0 = jiff::Zoned::now().date().checked_add(30.days()).unwrap();
    let night = |k: i64| n0.checked_add(k.days()).unwrap().to_string();

    // B1: a standard room for nights 0 and 1, booked 10 days ahead.
    let b1 = h
        .place_order(
            json!({"lines": [{"variant_id": standard, "quantity": 1, "night": night(0)},
                             {"variant_id": standard, "quantity": 1, "night": night(1)}]}),
            &evening(n0, 10),
        )
        .await;
    h.change(&b1, "pay", json!({}), &evening(n0, 10)).await;
    // B2: two flexible rooms for night 0, booked 3 days ahead.
    let b2 = h
        .place_order(
            json!({"lines": [{"variant_id": flexible, "quantity": 2, "night": night(0)}]}),
            &evening(n0, 3),
        )
        .await;
    h.change(&b2, "pay", json!({}), &evening(n0, 3)).await;
    h.fold().await;
    // B3: a standard room for night 1, booked the day before, then refunded.
    let b3 = h
        .place_order(
            json!({"lines": [{"variant_id": standard, "quantity": 1, "night": night(1)}]}),
            &evening(n0, 0),
        )
        .await;
    let b3 = h.change(&b3, "pay", json!({}), &evening(n0, 0)).await;
    let refund = json!({"lines": [{"line_id": b3["lines"][0]["id"], "quantity": 1}]});
    h.change(&b3, "refunds", refund, &evening(n0, 0)).await;
    // B4: never paid.
    h.place_order(
        json!({"lines": [{"variant_id": standard, "quantity": 1, "night": night(2)}]}),
        &evening(n0, 1),
    )
    .await;
    // Two tables on the evening of night 0: 4 guests for 3 dinners, 2 for 1.
    for (guests, dinners) in [(4, 3), (2, 1)] {
        let table = h
            .place_order(
                json!({"lines": [{"variant_id": dinner, "quantity": dinners}], "party_size": guests}),
                &evening(n0, 0),
            )
            .await;
        assert_eq!(table["party_size"], guests);
        h.change(&table, "pay", json!({}), &evening(n0, 0)).await;
    }

    let query = format!("from={}&to={}", night(0), night(3));
    for _ in 0..2 {
        let report = hospitality(&h, &query).await;
        let series = report["current"]["series"].as_array().unwrap();
        // Night 0: B1's room and B2's two, all 3 rooms: 100 %; 10000 + 2 × 12000
        // = 34000, ADR and RevPAR 34000 / 3. Arrivals 1 + 2, their nights 2 + 2,
        // lead days 1 × 10 + 2 × 3 = 16. Tables: 6 covers, (9000 + 3000) / 6.
        assert_eq!(
            series[0],
            json!({"start": night(0), "room_nights_sold": 3, "room_nights_available": 3,
                "occupancy_percent": 100.0, "room_revenue_minor": 34000, "adr_minor": 11333,
                "revpar_minor": 11333, "arrivals": 3, "average_length_of_stay_nights": 1.33,
                "average_lead_time_days": 5.33, "covers": 6, "average_check_per_cover_minor": 2000})
        );
        // Night 1: B1's second night; B3's refunded. Arrival B3 (as paid), 1 night, 1 day ahead.
        assert_eq!(
            series[1],
            json!({"start": night(1), "room_nights_sold": 1, "room_nights_available": 3,
                "occupancy_percent": 33.33, "room_revenue_minor": 10000, "adr_minor": 10000,
                "revpar_minor": 3333, "arrivals": 1, "average_length_of_stay_nights": 1.0,
                "average_lead_time_days": 1.0, "covers": 0, "average_check_per_cover_minor": null})
        );
        // Night 2: B4 was never paid.
        assert_eq!(
            series[2],
            json!({"start": night(2), "room_nights_sold": 0, "room_nights_available": 3,
                "occupancy_percent": 0.0, "room_revenue_minor": 0, "adr_minor": null,
                "revpar_minor": 0, "arrivals": 0, "average_length_of_stay_nights": null,
                "average_lead_time_days": null, "covers": 0, "average_check_per_cover_minor": null})
        );
        // Three nights: 4 of 9 rooms, 44000: ADR 11000, RevPAR 4889; 4
        // arrivals of 5 nights, 17 lead days.
        assert_eq!(
            report["current"]["totals"],
            json!({"room_nights_sold": 4, "room_nights_available": 9, "occupancy_percent": 44.44,
                "room_revenue_minor": 44000, "adr_minor": 11000, "revpar_minor": 4889, "arrivals": 4,
                "average_length_of_stay_nights": 1.25, "average_lead_time_days": 4.25, "covers": 6,
                "average_check_per_cover_minor": 2000})
        );
        h.fold().await;
    }

    let hourly = h
        .shop
        .app
        .get(
            &format!("{}/analytics/hospitality?{query}&interval=hour", h.shop.base),
            h.shop.staff(),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(support::problem_fields(&hourly), ["interval"]);
    // A party size belongs to a hospitality store's orders.
    let shop = h.shop.another_store("corner-shop").await;
    let mug = shop.variant(support::product("Mug", "MUG", 1000)).await;
    shop.receive(&mug, 1).await;
    let refused = shop
        .order(
            shop.staff(),
            json!({"lines": [{"variant_id": mug, "quantity": 1}], "party_size": 2}),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(support::problem_fields(&refused), ["party_size"]);
}
