//! Customers, against figures worked out by hand: new and returning per
//! bucket in the store's time zone, repeat purchases, cohorts by the month
//! of the first order, and RFM segments.

mod support;

use serde_json::{Value, json};
use support::history::History;

impl Customers {
    async fn new(h: &History) -> Self {
        let mut ids = Vec::new();
        for name in ["ann", "ben", "cat", "dan"] {
            let session = h.shop.app.customer(&format!("{name}@example.test")).await;
            ids.push(session["user"]["id"].as_str().unwrap().to_owned());
        }
        Self { ids }
    }
}

/// Ann, Ben, Cat and Dan's user ids.
struct Customers {
    ids: Vec<String>,
}

/// A mug bought by `customer` (None: a counter sale without one), paid at `at`.
async fn mug_for(h: &mut History, customer: Option<&str>, at: &str) -> Value {
    let body = json!({"lines": [{"variant_id": h.mug, "quantity": 1}], "customer_id": customer});
    let order = h.place_order(body, at).await;
    h.change(&order, "pay", json!({}), at).await
}

async fn report(h: &History, name: &str, query: &str) -> Value {
    h.shop
        .app
        .get(
            &format!("{}/analytics/{name}?{query}", h.shop.base),
            h.shop.staff(),
        )
        .await
        .expect(200)
}

/// (customers, new, returning, orders) of each bucket.
fn counts(period: &Value) -> Vec<(String, [i64; 4])> {
    period["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let n = |field: &str| b[field].as_i64().unwrap();
            (
                b["start"].as_str().unwrap().to_owned(),
                [
                    n("customers"),
                    n("new_customers"),
                    n("returning_customers"),
                    n("orders"),
                ],
            )
        })
        .collect()
}

async fn history() -> History {
    let mut h = History::new().await;
    let c = Customers::new(&h).await;
    let (ann, ben, cat, dan) = (&c.ids[0], &c.ids[1], &c.ids[2], &c.ids[3]);
    mug_for(&mut h, Some(ann), "2026-01-10T12:00:00Z").await;
    let bens = mug_for(&mut h, Some(ben), "2026-01-20T12:00:00Z").await;
    let refund = json!({"lines": [{"line_id": bens["lines"][0]["id"], "quantity": 1}]});
    h.change(&bens, "refunds", refund, "2026-01-25T12:00:00Z").await;
    mug_for(&mut h, Some(ann), "2026-02-05T12:00:00Z").await;
    h.fold().await;
    mug_for(&mut h, Some(cat), "2026-02-10T12:00:00Z").await;
    mug_for(&mut h, None, "2026-02-11T12:00:00Z").await;
    mug_for(&mut h, Some(ann), "2026-02-20T12:00:00Z").await;
    // 00:30 on the 1st of March in Berlin, still February in UTC.
    mug_for(&mut h, Some(dan), "2026-02-28T23:30:00Z").await;
    mug_for(&mut h, Some(ann), "2026-03-15T12:00:00Z").await;
    h
}

#[actix_web::test]
async fn customers_are_new_in_the_bucket_of_their_first_order_and_returning_after() {
    let h = history().await;
    for _ in 0..2 {
        // February: Ann (twice) and Cat (new). March: Ann and Dan (new).
        // The counter sale has no customer.
        let months = report(&h, "customers", "from=2026-02-01&to=2026-04-01&interval=month").await;
        assert_eq!(
            counts(&months["current"]),
            [
                ("2026-02-01T00:00:00+01:00".to_owned(), [2, 1, 1, 3]),
                ("2026-03-01T00:00:00+01:00".to_owned(), [2, 1, 1, 2])
            ]
        );
        // The period counts each customer once: Ann, Cat, Dan; Ann alone twice or more.
        assert_eq!(
            months["current"]["totals"],
            json!({"customers": 3, "new_customers": 2, "returning_customers": 1, "orders": 5})
        );
        assert_eq!(months["current"]["repeat_purchase_percent"], 33.33);
        let days = report(&h, "customers", "from=2026-02-28&to=2026-03-02").await;
        assert_eq!(
            counts(&days["current"]),
            [
                ("2026-02-28T00:00:00+01:00".to_owned(), [0, 0, 0, 0]),
                ("2026-03-01T00:00:00+01:00".to_owned(), [1, 1, 0, 1])
            ]
        );
        h.fold().await;
    }
}

#[actix_web::test]
async fn a_first_week_cut_by_the_period_counts_only_firsts_inside_it() {
    let mut h = History::new().await;
    let c = Customers::new(&h).await;
    let ann = &c.ids[0];
    // Tuesday the 10th of February: Ann's first order; Thursday: her second.
    mug_for(&mut h, Some(ann), "2026-02-10T12:00:00Z").await;
    mug_for(&mut h, Some(ann), "2026-02-12T12:00:00Z").await;
    for _ in 0..2 {
        // The week of Monday the 9th, cut to the 11th–15th: Ann bought in it,
        // but her first order came before the period, so she returns.
        let week = report(&h, "customers", "from=2026-02-11&to=2026-02-16&interval=week").await;
        assert_eq!(
            counts(&week["current"]),
            [("2026-02-09T00:00:00+01:00".to_owned(), [1, 0, 1, 1])]
        );
        assert_eq!(
            week["current"]["totals"],
            json!({"customers": 1, "new_customers": 0, "returning_customers": 1, "orders": 1})
        );
        h.fold().await;
    }
}

#[actix_web::test]
async fn a_payment_dated_before_a_folded_first_order_becomes_the_first() {
    let mut h = History::new().await;
    let c = Customers::new(&h).await;
    let ann = &c.ids[0];
    mug_for(&mut h, Some(ann), "2026-02-10T12:00:00Z").await;
    h.fold().await;
    // Recorded after the fold, dated before: Ann's first order is now the 5th's.
    mug_for(&mut h, Some(ann), "2026-02-05T12:00:00Z").await;
    for _ in 0..2 {
        let weeks = report(&h, "customers", "from=2026-02-02&to=2026-02-16&interval=week").await;
        assert_eq!(
            counts(&weeks["current"]),
            [
                ("2026-02-02T00:00:00+01:00".to_owned(), [1, 1, 0, 1]),
                ("2026-02-09T00:00:00+01:00".to_owned(), [1, 0, 1, 1])
            ]
        );
        assert_eq!(
            weeks["current"]["totals"],
            json!({"customers": 1, "new_customers": 1, "returning_customers": 0, "orders": 2})
        );
        h.fold().await;
    }
}

#[actix_web::test]
async fn cohorts_follow_each_months_first_customers_to_this_month() {
    let h = history().await;
    let now = jiff::Zoned::now().in_tz("Europe/Berlin").unwrap();
    // January to this month, March to this month.
    let since =
        |month: i32| ((i32::from(now.year()) - 2026) * 12 + i32::from(now.month()) - month + 1) as usize;
    for _ in 0..2 {
        let cohorts = report(&h, "cohorts", "from=2026-01-01&to=2026-04-01").await;
        let cohorts = cohorts["cohorts"].as_array().unwrap();
        assert_eq!(cohorts.len(), 3);
        // January: Ann and Ben; Ann came back in February and March.
        let mut active = vec![0; since(1)];
        active[..3].copy_from_slice(&[2, 1, 1]);
        assert_eq!(cohorts[0]["month"], "2026-01");
        assert_eq!(cohorts[0]["customers"], 2);
        assert_eq!(cohorts[0]["active"], json!(active));
        assert_eq!(
            cohorts[0]["retention_percent"].as_array().unwrap()[..3],
            [json!(100.0), json!(50.0), json!(50.0)]
        );
        // February: Cat. March: Dan (00:30 on the 1st, Berlin time).
        assert_eq!(
            (&cohorts[1]["month"], &cohorts[1]["customers"]),
            (&json!("2026-02"), &json!(1))
        );
        assert_eq!(
            (&cohorts[2]["month"], &cohorts[2]["customers"]),
            (&json!("2026-03"), &json!(1))
        );
        assert_eq!(cohorts[2]["active"].as_array().unwrap().len(), since(3));
        // A period ending on the 5th takes its month's cohort whole: Cat,
        // whose first order came on the 10th.
        let to_the_5th = report(&h, "cohorts", "from=2026-01-15&to=2026-02-05").await;
        let to_the_5th = to_the_5th["cohorts"].as_array().unwrap();
        assert_eq!(to_the_5th.len(), 2);
        assert_eq!(
            (&to_the_5th[1]["month"], &to_the_5th[1]["customers"]),
            (&json!("2026-02"), &json!(1))
        );
        h.fold().await;
    }
}

#[actix_web::test]
async fn rfm_segments_come_from_recency_and_frequency_scores() {
    let h = history().await;
    // To the 31st of March. Recency in days: Ben 70, Cat 49, Dan 30, Ann 16:
    // R 1, 2, 4, 5. Orders: 1, 1, 1 and Ann 4: F 1, 1, 1, 5.
    // Ann: champions. Dan: new. Cat and Ben: hibernating.
    for _ in 0..2 {
        let rfm = report(&h, "rfm", "from=2026-01-01&to=2026-04-01").await;
        assert_eq!(rfm["customers"], 4);
        let segment = |name: &str| {
            rfm["segments"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["segment"] == name)
                .cloned()
                .unwrap()
        };
        assert_eq!(
            segment("champions"),
            json!({"segment": "champions", "customers": 1, "share_percent": 25.0, "average_recency_days": 16.0,
                "average_orders": 4.0, "average_net_sales_minor": 4000, "net_sales_minor": 4000})
        );
        assert_eq!(
            segment("new"),
            json!({"segment": "new", "customers": 1, "share_percent": 25.0, "average_recency_days": 30.0,
                "average_orders": 1.0, "average_net_sales_minor": 1000, "net_sales_minor": 1000})
        );
        // Ben's mug was refunded: his net sales are 0.
        assert_eq!(
            segment("hibernating"),
            json!({"segment": "hibernating", "customers": 2, "share_percent": 50.0, "average_recency_days": 59.5,
                "average_orders": 1.0, "average_net_sales_minor": 500, "net_sales_minor": 1000})
        );
        for empty in ["loyal", "promising", "at_risk", "needs_attention"] {
            assert_eq!(segment(empty)["customers"], 0, "{empty}");
        }
        h.fold().await;
    }
}
