//! Analytics: the sales report checked against figures computed by hand
//! (below, in comments) from a small history of orders in a Berlin store
//! that crosses both changes of the clock, with refunds dated both ways.
//! Each answer is checked with every fact still unfolded, then folded into
//! the rollups, then with the rollups plus new facts past the fold's mark:
//! the three must agree.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use shopfleet_api::analytics::fold::{self, Folded, From};
use shopfleet_api::ids::StoreId;
use support::history::History;
use support::{As, access};

/// The figures of a bucket or period: orders, units sold, units returned,
/// gross, discounts, returns, net, average order value (None: null).
fn figures([o, us, ur, g, d, r, n]: [i64; 7], aov: Option<i64>) -> Value {
    json!({
        "orders": o, "units_sold": us, "units_returned": ur, "gross_sales_minor": g,
        "discounts_minor": d, "returns_minor": r, "net_sales_minor": n, "average_order_value_minor": aov,
    })
}

const ZERO: fn() -> Value = || figures([0, 0, 0, 0, 0, 0, 0], None);

/// The series as (start, figures) pairs.
fn series(period: &Value) -> Vec<(String, Value)> {
    period["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| {
            let mut figures = bucket.clone();
            let start = figures.as_object_mut().unwrap().remove("start").unwrap();
            (start.as_str().unwrap().to_owned(), figures)
        })
        .collect()
}

fn day(start: &str, figures: Value) -> (String, Value) {
    (start.to_owned(), figures)
}

/// Every answer of the hand-computed history (see the test for the orders).
async fn check_the_spring_answers(history: &History) {
    // By transaction, per day:
    //   28th: A paid, 2 mugs                        gross 2000
    //   29th: B paid (tee −500), C paid (3 mugs)     gross 2500+3000, discounts 500, AOV 5000/2
    //   30th: F paid (tee + mug)                     gross 3500
    //   31st: D paid (mug); F cancelled, all back     gross 1000, returns 3500 (2 units), net −2500
    //   1st:  one of C's mugs refunded               returns 1000, net −1000, no orders
    let report = history.sales("from=2026-03-28&to=2026-04-02&interval=day").await;
    assert_eq!(report["currency"], "EUR");
    assert_eq!(report["time_zone"], "Europe/Berlin");
    assert_eq!(report["dated_by"], "transaction");
    assert_eq!(
        series(&report["current"]),
        [
            day(
                "2026-03-28T00:00:00+01:00",
                figures([1, 2, 0, 2000, 0, 0, 2000], Some(2000))
            ),
            // The 29th starts in winter time and ends in summer time.
            day(
                "2026-03-29T00:00:00+01:00",
                figures([2, 4, 0, 5500, 500, 0, 5000], Some(2500))
            ),
            day(
                "2026-03-30T00:00:00+02:00",
                figures([1, 2, 0, 3500, 0, 0, 3500], Some(3500))
            ),
            day(
                "2026-03-31T00:00:00+02:00",
                figures([1, 1, 2, 1000, 0, 3500, -2500], Some(1000))
            ),
            day(
                "2026-04-01T00:00:00+02:00",
                figures([0, 0, 1, 0, 0, 1000, -1000], None)
            ),
        ]
    );
    // Totals: 5 orders, AOV (12000 − 500) / 5 = 2300.
    assert_eq!(
        report["current"]["totals"],
        figures([5, 9, 3, 12000, 500, 4500, 7000], Some(2300))
    );

    // By order: each refund on its order's day.
    //   29th: B, C and C's refund                    returns 1000, net 4000
    //   30th: D (placed 23:59:59) and F, F's cancellation   gross 4500, returns 3500, AOV 4500/2
    let report = history
        .sales("from=2026-03-28&to=2026-04-02&interval=day&dated_by=order")
        .await;
    assert_eq!(report["dated_by"], "order");
    assert_eq!(
        series(&report["current"]),
        [
            day(
                "2026-03-28T00:00:00+01:00",
                figures([1, 2, 0, 2000, 0, 0, 2000], Some(2000))
            ),
            day(
                "2026-03-29T00:00:00+01:00",
                figures([2, 4, 1, 5500, 500, 1000, 4000], Some(2500))
            ),
            day(
                "2026-03-30T00:00:00+02:00",
                figures([2, 3, 2, 4500, 0, 3500, 1000], Some(2250))
            ),
            day("2026-03-31T00:00:00+02:00", ZERO()),
            day("2026-04-01T00:00:00+02:00", ZERO()),
        ]
    );
    // The same money, dated differently: the totals agree.
    assert_eq!(
        report["current"]["totals"],
        figures([5, 9, 3, 12000, 500, 4500, 7000], Some(2300))
    );

    // The 29th by hour has 23 hours: 02:00 never happened. B was paid at
    // 03:30 summer time, C at 22:30.
    let report = history.sales("from=2026-03-29&to=2026-03-30&interval=hour").await;
    let hours = series(&report["current"]);
    assert_eq!(hours.len(), 23);
    assert_eq!(hours[0].0, "2026-03-29T00:00:00+01:00");
    assert_eq!(hours[1].0, "2026-03-29T01:00:00+01:00");
    assert_eq!(hours[2].0, "2026-03-29T03:00:00+02:00");
    assert_eq!(hours[2].1, figures([1, 1, 0, 2500, 500, 0, 2000], Some(2000)));
    assert_eq!(hours[21].0, "2026-03-29T22:00:00+02:00");
    assert_eq!(hours[21].1, figures([1, 3, 0, 3000, 0, 0, 3000], Some(3000)));
    let busy: Vec<usize> = (0..23).filter(|&i| hours[i].1 != ZERO()).collect();
    assert_eq!(busy, [2, 21]);

    // Weeks start on Monday: the 23rd and the 30th of March.
    let report = history.sales("from=2026-03-23&to=2026-04-06&interval=week").await;
    assert_eq!(
        series(&report["current"]),
        [
            day(
                "2026-03-23T00:00:00+01:00",
                figures([3, 6, 0, 7500, 500, 0, 7000], Some(2333))
            ),
            day(
                "2026-03-30T00:00:00+02:00",
                figures([2, 3, 3, 4500, 0, 4500, 0], Some(2250))
            ),
        ]
    );

    // Months, with the period before (January and February: nothing).
    let report = history
        .sales("from=2026-03-01&to=2026-05-01&interval=month&compare=previous_period")
        .await;
    assert_eq!(
        series(&report["current"]),
        [
            day(
                "2026-03-01T00:00:00+01:00",
                figures([5, 9, 2, 12000, 500, 3500, 8000], Some(2300))
            ),
            day(
                "2026-04-01T00:00:00+02:00",
                figures([0, 0, 1, 0, 0, 1000, -1000], None)
            ),
        ]
    );
    // 61 days before the 1st of March: from the 30th of December.
    assert_eq!(report["previous"]["from"], "2025-12-30");
    assert_eq!(report["previous"]["to"], "2026-03-01");
    assert_eq!(report["previous"]["totals"], ZERO());
    assert_eq!(series(&report["previous"]).len(), 3);

    // Two days, compared with the two before: the 28th had A.
    let report = history
        .sales("from=2026-03-29&to=2026-03-31&compare=previous_period")
        .await;
    assert_eq!(
        report["previous"]["totals"],
        figures([1, 2, 0, 2000, 0, 0, 2000], Some(2000))
    );
    assert_eq!(
        series(&report["previous"])[0],
        day("2026-03-27T00:00:00+01:00", ZERO())
    );
}

#[actix_web::test]
async fn sales_are_exact_in_the_stores_time_zone_across_both_clock_changes() {
    let mut h = History::new().await;
    let (mug, tee) = (h.mug.clone(), h.tee.clone());
    // A: 2 mugs, 23:30 on the 28th (winter time, UTC+1).
    h.sale(&[(&mug, 2)], None, "2026-03-28T22:30:00Z").await;
    // B: a tee with 5.00 off, placed at 01:30 winter time, paid at 03:30
    // summer time on the 29th (clocks went from 02:00 to 03:00).
    let b = h.place(&[(&tee, 1)], Some("SAVE5"), "2026-03-29T00:30:00Z").await;
    h.change(&b, "pay", json!({}), "2026-03-29T01:30:00Z").await;
    // C: 3 mugs at 22:30 on the 29th.
    let c = h.sale(&[(&mug, 3)], None, "2026-03-29T20:30:00Z").await;
    // D: a mug placed at 23:59:59 on the 30th, paid 00:00:10 on the 31st.
    let d = h.place(&[(&mug, 1)], None, "2026-03-30T21:59:59Z").await;
    h.change(&d, "pay", json!({}), "2026-03-30T22:00:10Z").await;
    // Half the history is folded; the rest stays past the mark.
    h.fold().await;

    // E: never paid, cancelled: no sale at all.
    let e = h.place(&[(&tee, 1)], None, "2026-03-30T08:00:00Z").await;
    h.change(&e, "cancel", json!({}), "2026-03-30T09:00:00Z").await;
    // F: a tee and a mug paid at 10:00 on the 30th, cancelled the next day.
    let f = h
        .sale(&[(&tee, 1), (&mug, 1)], None, "2026-03-30T08:00:00Z")
        .await;
    h.change(&f, "cancel", json!({}), "2026-03-31T08:00:00Z").await;
    // One of C's mugs refunded at 10:00 on the 1st of April.
    let refund = json!({"lines": [{"line_id": c["lines"][0]["id"], "quantity": 1}]});
    h.change(&c, "refunds", refund, "2026-04-01T08:00:00Z").await;

    // Rollups plus facts past the mark; all folded; the same again.
    check_the_spring_answers(&h).await;
    h.fold().await;
    check_the_spring_answers(&h).await;
    h.fold().await;
    check_the_spring_answers(&h).await;

    // Autumn: clocks go back from 03:00 to 02:00 on the 25th of October,
    // so 02:30 happens twice, and the day has 25 hours.
    h.sale(&[(&mug, 1)], None, "2026-10-25T00:30:00Z").await;
    h.sale(&[(&tee, 1)], None, "2026-10-25T01:30:00Z").await;
    for _ in 0..2 {
        let report = h.sales("from=2026-10-25&to=2026-10-26&interval=hour").await;
        let hours = series(&report["current"]);
        assert_eq!(hours.len(), 25);
        assert_eq!(
            hours[2],
            day(
                "2026-10-25T02:00:00+02:00",
                figures([1, 1, 0, 1000, 0, 0, 1000], Some(1000))
            )
        );
        assert_eq!(
            hours[3],
            day(
                "2026-10-25T02:00:00+01:00",
                figures([1, 1, 0, 2500, 0, 0, 2500], Some(2500))
            )
        );
        assert_eq!(hours[4].0, "2026-10-25T03:00:00+01:00");
        h.fold().await;
    }
}

#[actix_web::test]
async fn a_new_time_zone_recuts_the_days_at_once_and_the_fold_rebuilds_in_it() {
    let mut h = History::new().await;
    let (mug, tee) = (h.mug.clone(), h.tee.clone());
    // 23:30 Berlin and 03:30 Berlin on the 29th (18:30 and 21:30 on the 28th in New York).
    h.sale(&[(&mug, 2)], None, "2026-03-28T22:30:00Z").await;
    h.sale(&[(&tee, 1)], None, "2026-03-29T01:30:00Z").await;
    h.fold().await;
    let days = |report: &Value| -> Vec<i64> {
        series(&report["current"])
            .iter()
            .map(|(_, f)| f["orders"].as_i64().unwrap())
            .collect()
    };
    let report = h.sales("from=2026-03-28&to=2026-03-30").await;
    assert_eq!(days(&report), [1, 1]);

    sqlx::query("UPDATE stores SET timezone = 'America/New_York' WHERE id = $1")
        .bind(h.store)
        .execute(&mut h.db)
        .await
        .unwrap();
    for _ in 0..2 {
        let report = h.sales("from=2026-03-28&to=2026-03-30").await;
        assert_eq!(report["time_zone"], "America/New_York");
        assert_eq!(days(&report), [2, 0]);
        assert_eq!(series(&report["current"])[0].0, "2026-03-28T00:00:00-04:00");
        h.fold().await;
    }
    let rebuilt: String = sqlx::query_scalar("SELECT time_zone FROM analytics_progress WHERE store_id = $1")
        .bind(h.store)
        .fetch_one(&mut h.db)
        .await
        .unwrap();
    assert_eq!(rebuilt, "America/New_York");
}

#[actix_web::test]
async fn a_rebuild_from_the_raw_rows_gives_the_same_answers() {
    let mut h = History::new().await;
    let mug = h.mug.clone();
    let order = h.sale(&[(&mug, 4)], None, "2026-05-04T10:00:00Z").await;
    let refund = json!({"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}]});
    h.change(&order, "refunds", refund, "2026-05-05T10:00:00Z").await;
    h.fold().await;
    let before = h.sales("from=2026-05-01&to=2026-05-08").await;
    // A rollup damaged by hand is put right by a rebuild. (Damaged by a row
    // of its own: whether the fold could fold the sale depends on what else
    // runs on the server, which holds its mark back.)
    sqlx::query(
        "INSERT INTO sales_by_day (store_id, dated_by, day, orders, units, gross_minor, \
         discounts_minor, returns_minor, returned_units, covers, covered_sales_minor) \
         VALUES ($1, 'transaction', '2026-05-04', 0, 0, 1, 0, 0, 0, 0, 0) \
         ON CONFLICT (store_id, dated_by, day) DO UPDATE SET gross_minor = sales_by_day.gross_minor + 1",
    )
    .bind(h.store)
    .execute(&mut h.db)
    .await
    .unwrap();
    assert_ne!(h.sales("from=2026-05-01&to=2026-05-08").await, before);
    let rebuilt = fold::fold(&h.shop.app.state.db, h.store, From::Start)
        .await
        .unwrap();
    assert_eq!(rebuilt, Folded::UpTo);
    let after = h.sales("from=2026-05-01&to=2026-05-08").await;
    assert_eq!(after, before);
    assert_eq!(
        after["current"]["totals"],
        figures([1, 4, 1, 4000, 0, 1000, 3000], Some(4000))
    );
}

#[actix_web::test]
async fn only_the_stores_staff_read_its_analytics_and_bad_queries_name_their_fields() {
    let h = History::new().await;
    let shop = &h.shop;
    let path = format!("{}/analytics/sales?from=2026-03-01&to=2026-03-02", shop.base);
    let other = shop.another_store("other").await;
    let other_store: StoreId = StoreId(other.base.trim_start_matches("/v1/stores/").parse().unwrap());
    let limited = shop
        .app
        .staff(access(&shop.owner), "elsewhere@acme.test", Some(&[other_store]))
        .await;
    let customer = shop.app.customer("carla@example.test").await;
    // A customer, the publishable key, staff of another store.
    for who in [
        As::Bearer(access(&customer)),
        As::Key(&shop.publishable),
        As::Bearer(access(&limited)),
    ] {
        shop.app.get(&path, who).await.expect_problem(403, "forbidden");
    }
    shop.app
        .get(&path, As::Nobody)
        .await
        .expect_problem(401, "unauthorized");
    shop.app.get(&path, As::Key(&shop.secret)).await.expect(200);
    shop.app
        .get(
            &path.replace(&shop.base, &other.base),
            As::Bearer(access(&limited)),
        )
        .await
        .expect(200);

    let bad = shop
        .app
        .get(
            &format!(
                "{}/analytics/sales?from=March&to=2026-03-02&interval=year&dated_by=refund",
                shop.base
            ),
            shop.staff(),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(support::problem_fields(&bad), ["from", "interval", "dated_by"]);
    shop.app
        .get(
            &format!(
                "{}/analytics/sales?from=2026-03-01&to=2026-03-02&limit=3",
                shop.base
            ),
            shop.staff(),
        )
        .await
        .expect_problem(400, "malformed-request");
}

#[actix_web::test]
async fn the_sales_series_comes_as_csv_when_asked() {
    let mut h = History::new().await;
    let mug = h.mug.clone();
    h.sale(&[(&mug, 2)], None, "2026-03-02T09:00:00Z").await;
    let response = h
        .shop
        .app
        .send_raw(
            actix_web::test::TestRequest::get()
                .uri(&format!(
                    "{}/analytics/sales?from=2026-03-01&to=2026-03-03&compare=previous_period",
                    h.shop.base
                ))
                .insert_header(("Authorization", format!("Bearer {}", access(&h.shop.owner))))
                .insert_header(("Accept", "text/csv")),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    let body = actix_web::body::to_bytes(response.into_body()).await.unwrap();
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        "period,start,orders,units_sold,units_returned,gross_sales_minor,discounts_minor,returns_minor,net_sales_minor,average_order_value_minor\r\n\
         current,2026-03-01T00:00:00+01:00,0,0,0,0,0,0,0,\r\n\
         current,2026-03-02T00:00:00+01:00,1,2,0,2000,0,0,2000,2000\r\n\
         previous,2026-02-27T00:00:00+01:00,0,0,0,0,0,0,0,\r\n\
         previous,2026-02-28T00:00:00+01:00,0,0,0,0,0,0,0,\r\n"
    );
}

/// (name, net units, net sales) of each item of a list.
fn ranking(list: &Value) -> Vec<(String, i64, i64)> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["name"].as_str().unwrap().to_owned(),
                item["net_units"].as_i64().unwrap(),
                item["net_sales_minor"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn ranked(items: &[(&str, i64, i64)]) -> Vec<(String, i64, i64)> {
    items
        .iter()
        .map(|(name, units, net)| ((*name).to_owned(), *units, *net))
        .collect()
}

async fn check_the_best_sellers(h: &History) {
    // 15 January to 3 March: half of January (by day), February (by
    // month), the 1st and 2nd of March (by day). The refund of the 5th
    // of March is outside.
    //   Bowl: 3 + 1 + 4 = 8 units, 8000     Shirt: 2 S + 1 L = 3 units, 7500
    let top = h.top("from=2026-01-15&to=2026-03-03").await;
    assert_eq!(top["by"], "product");
    assert_eq!(top["rank"], "net_sales");
    assert_eq!(
        ranking(&top["current"]),
        ranked(&[("Bowl", 8, 8000), ("Shirt", 3, 7500)])
    );
    let bowl = &top["current"]["items"][0];
    assert_eq!(
        (
            &bowl["units_sold"],
            &bowl["units_returned"],
            &bowl["gross_sales_minor"],
            &bowl["returns_minor"]
        ),
        (&json!(8), &json!(0), &json!(8000), &json!(0))
    );
    // 1 February to 10 March: the bowls of the 10th of February and of the
    // 1st of March (which began on the 28th of February in UTC); the
    // shirts less the small one refunded on the 5th of March.
    //   Bowl: 5 units, 5000     Shirt: 3 − 1 units, 7500 − 2500
    // A tie in net sales goes to the smaller id: the bowl was made first.
    let feb = "from=2026-02-01&to=2026-03-10";
    assert_eq!(
        ranking(&h.top(feb).await["current"]),
        ranked(&[("Bowl", 5, 5000), ("Shirt", 2, 5000)])
    );
    assert_eq!(
        ranking(&h.top(&format!("{feb}&rank=net_units&limit=1")).await["current"]),
        ranked(&[("Bowl", 5, 5000)])
    );
    let variants = h.top(&format!("{feb}&by=variant")).await;
    assert_eq!(
        ranking(&variants["current"]),
        ranked(&[("Bowl", 5, 5000), ("Shirt / S", 1, 2500), ("Shirt / L", 1, 2500)])
    );
    assert_eq!(variants["current"]["items"][1]["sku"], "SHIRT-S");
    assert_eq!(variants["current"]["items"][1]["units_returned"], 1);
    // Gifts holds both products.
    assert_eq!(
        ranking(&h.top(&format!("{feb}&by=category")).await["current"]),
        ranked(&[("Gifts", 7, 10000), ("Kitchen", 5, 5000), ("Clothing", 2, 5000)])
    );
    // The 37 days before the 1st of February hold the bowls of the 20th of January.
    let compared = h.top(&format!("{feb}&compare=previous_period")).await;
    assert_eq!(compared["previous"]["from"], "2025-12-26");
    assert_eq!(ranking(&compared["previous"]), ranked(&[("Bowl", 3, 3000)]));
}

#[actix_web::test]
async fn the_best_sellers_come_from_whole_months_and_days_in_the_stores_time_zone() {
    let mut h = History::new().await;
    let kitchen = h.category("Kitchen").await;
    let clothing = h.category("Clothing").await;
    let gifts = h.category("Gifts").await;
    let bowl = h
        .stocked(json!({"title": "Bowl", "kind": "standard", "status": "active",
            "category_ids": [kitchen, gifts], "variants": [{"sku": "BOWL", "price_minor": 1000}]}))
        .await
        .remove(0);
    let shirts = h
        .stocked(json!({"title": "Shirt", "kind": "standard", "status": "active",
            "category_ids": [clothing, gifts], "variants": [
                {"sku": "SHIRT-S", "title": "S", "price_minor": 2500},
                {"sku": "SHIRT-L", "title": "L", "price_minor": 2500}]}))
        .await;
    let (small, large) = (&shirts[0], &shirts[1]);
    h.sale(&[(&bowl, 3)], None, "2026-01-20T10:00:00Z").await;
    let february = h
        .sale(&[(small, 2), (&bowl, 1)], None, "2026-02-10T10:00:00Z")
        .await;
    h.fold().await;
    // 23:30 on the 28th of February, and 00:30 on the 1st of March, in Berlin.
    h.sale(&[(large, 1)], None, "2026-02-28T22:30:00Z").await;
    h.sale(&[(&bowl, 4)], None, "2026-02-28T23:30:00Z").await;
    let refund = json!({"lines": [{"line_id": february["lines"][0]["id"], "quantity": 1}]});
    h.change(&february, "refunds", refund, "2026-03-05T10:00:00Z")
        .await;
    check_the_best_sellers(&h).await;
    h.fold().await;
    check_the_best_sellers(&h).await;

    let bad = h
        .shop
        .app
        .get(
            &format!(
                "{}/analytics/top?from=2026-01-01&to=2026-02-01&by=brand&rank=profit&limit=0",
                h.shop.base
            ),
            h.shop.staff(),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(support::problem_fields(&bad), ["by", "rank", "limit"]);
}

#[actix_web::test]
async fn folds_racing_each_other_and_new_orders_count_every_sale_once() {
    let h = History::new().await;
    let (shop, mug, store) = (&h.shop, &h.mug, h.store);
    let db = &shop.app.state.db;
    let selling = AtomicBool::new(true);
    // Two replicas fold as fast as they can while 40 mugs are sold, one by one.
    let folder = async || {
        let mut folds = 0;
        while selling.load(Ordering::Relaxed) {
            if fold::fold(db, store, From::LastMark).await.unwrap() == Folded::UpTo {
                folds += 1;
            }
            tokio::task::yield_now().await;
        }
        folds
    };
    let sales = async {
        for _ in 0..40 {
            let order = shop
                .order(
                    shop.staff(),
                    json!({"lines": [{"variant_id": mug, "quantity": 1}]}),
                )
                .await
                .expect(201);
            let pay = format!("/orders/{}/pay", order["id"].as_str().unwrap());
            let key = uuid::Uuid::new_v4().to_string();
            shop.app
                .send(shop.keyed(&pay, shop.staff(), &key, &json!({})))
                .await
                .expect(200);
        }
        selling.store(false, Ordering::Relaxed);
    };
    let ((), first, second) = futures::join!(sales, folder(), folder());
    assert!(first + second > 1, "the folds did not run while the mugs sold");
    // Today and its neighbours in Berlin, whichever day it is there.
    let today = jiff::Zoned::now().in_tz("Europe/Berlin").unwrap().date();
    let query = format!(
        "from={}&to={}",
        today.yesterday().unwrap(),
        today.tomorrow().unwrap().tomorrow().unwrap()
    );
    let every_sale = figures([40, 40, 0, 40000, 0, 0, 40000], Some(1000));
    assert_eq!(h.sales(&query).await["current"]["totals"], every_sale);
    h.fold().await;
    assert_eq!(h.sales(&query).await["current"]["totals"], every_sale);
}

#[actix_web::test]
async fn each_promotion_shows_its_orders_discount_and_net_sales_refunds_included() {
    let mut h = History::new().await;
    let (mug, tee) = (h.mug.clone(), h.tee.clone());
    h.shop
        .app
        .post(
            &format!("{}/promotions", h.shop.base),
            h.shop.staff(),
            json!({"name": "Tenth", "rule": {"kind": "percentage", "basis_points": 1000}, "code": "TEN"}),
        )
        .await
        .expect(201);
    // SAVE5 twice: 2000 − 500 and 2500 − 500. TEN once: 5000 − 10 %.
    let mugs = h.sale(&[(&mug, 2)], Some("SAVE5"), "2026-03-02T10:00:00Z").await;
    h.sale(&[(&tee, 1)], Some("SAVE5"), "2026-03-03T10:00:00Z").await;
    h.fold().await;
    h.sale(&[(&tee, 2)], Some("TEN"), "2026-03-04T10:00:00Z").await;
    h.sale(&[(&mug, 1)], None, "2026-03-05T10:00:00Z").await;
    // One of the two mugs back: half of the line's 1500.
    let refund = json!({"lines": [{"line_id": mugs["lines"][0]["id"], "quantity": 1}]});
    h.change(&mugs, "refunds", refund, "2026-03-06T10:00:00Z").await;
    let promotions = async |query: &str| {
        let report = h
            .shop
            .app
            .get(
                &format!("{}/analytics/promotions?{query}", h.shop.base),
                h.shop.staff(),
            )
            .await
            .expect(200);
        let rows = |list: &Value| -> Vec<(String, i64, i64, i64)> {
            list["promotions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let n = |field: &str| p[field].as_i64().unwrap();
                    (
                        p["code"].as_str().unwrap().to_owned(),
                        n("orders"),
                        n("discount_minor"),
                        n("net_sales_minor"),
                    )
                })
                .collect()
        };
        (
            rows(&report["current"]),
            report["previous"].is_object().then(|| rows(&report["previous"])),
        )
    };
    let row = |code: &str, orders, discount, net| (code.to_owned(), orders, discount, net);
    for _ in 0..2 {
        // SAVE5: 1500 + 2000 − 750. TEN: 4500.
        let (week, _) = promotions("from=2026-03-01&to=2026-03-08").await;
        assert_eq!(week, [row("TEN", 1, 500, 4500), row("SAVE5", 2, 1000, 2750)]);
        // Only the refund: no order, no discount, less net sales.
        let (late, _) = promotions("from=2026-03-06&to=2026-03-08").await;
        assert_eq!(late, [row("SAVE5", 0, 0, -750)]);
        let (current, previous) = promotions("from=2026-03-04&to=2026-03-06&compare=previous_period").await;
        assert_eq!(current, [row("TEN", 1, 500, 4500)]);
        assert_eq!(previous, Some(vec![row("SAVE5", 2, 1000, 3500)]));
        h.fold().await;
    }
}

#[actix_web::test]
async fn inventory_shows_sell_through_and_days_of_cover_soonest_out_first() {
    let mut h = History::new().await;
    let (mug, tee) = (h.mug.clone(), h.tee.clone());
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let days_ago = |days: i64| {
        let day = jiff::Zoned::now().with_time_zone(berlin.clone()).date();
        day.checked_sub(jiff::ToSpan::days(days))
            .unwrap()
            .at(12, 0, 0, 0)
            .to_zoned(berlin.clone())
            .unwrap()
            .timestamp()
            .to_string()
    };
    // In the last 30 days: 4 mugs, then 2 with 1 back. Before: 10 tees,
    // shipped. Now: 3 tees held by an unpaid order.
    h.sale(&[(&mug, 4)], None, &days_ago(2)).await;
    let two = h.sale(&[(&mug, 2)], None, &days_ago(1)).await;
    h.fold().await;
    let refund = json!({"lines": [{"line_id": two["lines"][0]["id"], "quantity": 1}]});
    h.change(&two, "refunds", refund, &days_ago(1)).await;
    let tees = h.sale(&[(&tee, 10)], None, &days_ago(40)).await;
    h.change(&tees, "fulfil", json!({}), &days_ago(39)).await;
    h.place(&[(&tee, 3)], None, &days_ago(0)).await;
    let inventory = async |query: &str| {
        h.shop
            .app
            .get(
                &format!("{}/analytics/inventory?{query}", h.shop.base),
                h.shop.staff(),
            )
            .await
            .expect(200)["variants"]
            .clone()
    };
    for _ in 0..2 {
        // Mug: 100 on hand, 5 held by its paid orders: 95 available; 5 sold
        // in 30 days: 5 / 105 sold through, 5/30 a day, 95 × 30 / 5 days of cover.
        // Tee: 90 on hand, 3 held; none sold lately: no cover figure, last.
        assert_eq!(
            inventory("").await,
            json!([
                {"variant_id": mug, "sku": "MUG", "name": "Mug", "on_hand": 100, "reserved": 5, "available": 95,
                 "units_sold": 5, "sell_through_percent": 4.76, "units_per_day": 0.17, "days_of_cover": 570.0,
                 "low_stock": false},
                {"variant_id": tee, "sku": "TEE", "name": "Tee", "on_hand": 90, "reserved": 3, "available": 87,
                 "units_sold": 0, "sell_through_percent": 0.0, "units_per_day": 0.0, "days_of_cover": null,
                 "low_stock": false}
            ])
        );
        // 45 days hold the tees too: 10 of 100.
        let longer = inventory("days=45").await;
        assert_eq!(longer[0]["sku"], "TEE");
        assert_eq!(longer[0]["units_sold"], 10);
        assert_eq!(longer[0]["sell_through_percent"], 10.0);
        let low = inventory("low_stock_units=90&low_only=true").await;
        assert_eq!(low.as_array().unwrap().len(), 1);
        assert_eq!(
            (&low[0]["sku"], &low[0]["low_stock"]),
            (&json!("TEE"), &json!(true))
        );
        h.fold().await;
    }
    let bad = h
        .shop
        .app
        .get(
            &format!(
                "{}/analytics/inventory?days=0&low_stock_units=-1&limit=5000",
                h.shop.base
            ),
            h.shop.staff(),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(
        support::problem_fields(&bad),
        ["days", "low_stock_units", "limit"]
    );
}
