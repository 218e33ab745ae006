//! The property: whatever happens to a store's orders, in whatever order,
//! folded or not, every rollup-backed report equals a recomputation done
//! here, in Rust (jiff for the store's time zone), from the orders' own
//! answers. Random sequences of place, pay, fulfil, cancel, refund, expire,
//! storefront events and fold run across each change of the clock; orders
//! with and without a customer, a promotion, a storefront session and room
//! nights. Checked: sales (both datings, every interval), top products and
//! variants, customers, promotions, the funnel and rooms. A failure names its seed;
//! `ANALYTICS_SEED=<seed>` replays it.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use support::history::History;

/// What one event meant for one order line.
#[derive(Clone, Debug)]
struct Fact {
    at: Timestamp,
    ordered_at: Timestamp,
    /// The order's index in `Sequence::orders`.
    order: usize,
    product: String,
    variant: String,
    night: Option<Date>,
    sums: Sums,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Sums {
    orders: i64,
    units: i64,
    gross: i64,
    discounts: i64,
    returns: i64,
    returned: i64,
}

impl std::ops::AddAssign for Sums {
    fn add_assign(&mut self, other: Self) {
        self.orders += other.orders;
        self.units += other.units;
        self.gross += other.gross;
        self.discounts += other.discounts;
        self.returns += other.returns;
        self.returned += other.returned;
    }
}

impl Sums {
    /// As the sales report shows a bucket.
    fn figures(self) -> Value {
        let sold = self.gross - self.discounts;
        let average = (self.orders > 0).then(|| (2 * sold + self.orders) / (2 * self.orders));
        json!({
            "orders": self.orders, "units_sold": self.units, "units_returned": self.returned,
            "gross_sales_minor": self.gross, "discounts_minor": self.discounts,
            "returns_minor": self.returns, "net_sales_minor": sold - self.returns,
            "average_order_value_minor": average,
        })
    }
}

/// An order the sequence placed, as the API last answered it.
struct Tracked {
    order: Value,
    placed: Timestamp,
    customer: Option<String>,
    session: Option<String>,
    promoted: bool,
}

impl Tracked {
    fn status(&self) -> &str {
        self.order["status"].as_str().unwrap()
    }

    /// Units of line `i` not refunded yet.
    fn left(&self, i: usize) -> i64 {
        let line = &self.order["lines"][i];
        line["quantity"].as_i64().unwrap() - line["refunded_quantity"].as_i64().unwrap()
    }
}

struct Sequence {
    h: History,
    rng: StdRng,
    seed: u64,
    clock: Timestamp,
    zone: TimeZone,
    orders: Vec<Tracked>,
    facts: Vec<Fact>,
    products: BTreeMap<String, String>,
    customers: Vec<String>,
    room: String,
    /// The first of the four nights rooms are booked for.
    first_night: Date,
    /// Each storefront session: its first event or purchase, and the steps
    /// it reached (1 viewed, 2 carted, 4 checkout, 8 purchased).
    sessions: BTreeMap<String, (Timestamp, u8)>,
}

/// The storefront sessions a sequence uses.
const SESSIONS: [&str; 6] = [
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000b",
    "00000000-0000-4000-8000-00000000000c",
    "00000000-0000-4000-8000-00000000000d",
    "00000000-0000-4000-8000-00000000000e",
    "00000000-0000-4000-8000-00000000000f",
];

impl Sequence {
    async fn new(seed: u64, start: &str) -> Self {
        let h = History::new().await;
        // Enough stock for any sequence.
        h.shop.receive(&h.mug, 900).await;
        h.shop.receive(&h.tee, 900).await;
        let room = h
            .shop
            .variant(
                json!({"title": "Room", "kind": "room_night", "status": "active", "capacity": 200,
                "variants": [{"sku": "ROOM", "price_minor": 8000}]}),
            )
            .await;
        let mut customers = Vec::new();
        for n in 0..3 {
            let session = h.shop.app.customer(&format!("c{n}@example.test")).await;
            customers.push(session["user"]["id"].as_str().unwrap().to_owned());
        }
        let mut products = BTreeMap::new();
        for variant in [&h.mug, &h.tee, &room] {
            let product: String =
                sqlx::query_scalar("SELECT product_id::text FROM variants WHERE id = $1::uuid")
                    .bind(variant)
                    .fetch_one(&mut PgConn::of(&h).await)
                    .await
                    .unwrap();
            products.insert(variant.clone(), product);
        }
        Self {
            h,
            rng: StdRng::seed_from_u64(seed),
            seed,
            clock: start.parse().unwrap(),
            zone: TimeZone::get("Europe/Berlin").unwrap(),
            orders: Vec::new(),
            facts: Vec::new(),
            products,
            customers,
            room,
            // Rooms sell for nights to come only.
            first_night: jiff::Zoned::now().date().checked_add(10.days()).unwrap(),
            sessions: BTreeMap::new(),
        }
    }

    /// Records that `session` did something at `at` (a step, or 0).
    fn touch(&mut self, session: &str, at: Timestamp, step: u8) {
        let entry = self.sessions.entry(session.to_owned()).or_insert((at, 0));
        entry.0 = entry.0.min(at);
        entry.1 |= step;
    }

    fn now(&self) -> String {
        self.clock.to_string()
    }

    /// The facts of the order's latest event's `lines` (a refund or a cancellation).
    fn returned(&mut self, i: usize) {
        let tracked = &self.orders[i];
        let event = tracked.order["events"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        for part in event["lines"].as_array().unwrap() {
            let line = tracked.order["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|line| line["id"] == part["line_id"])
                .unwrap();
            let variant = line["variant_id"].as_str().unwrap().to_owned();
            self.facts.push(Fact {
                at: self.clock,
                ordered_at: tracked.placed,
                order: i,
                product: self.products[&variant].clone(),
                night: night_of(line),
                variant,
                sums: Sums {
                    returns: part["amount_minor"].as_i64().unwrap(),
                    returned: part["quantity"].as_i64().unwrap(),
                    ..Sums::default()
                },
            });
        }
    }

    async fn place(&mut self) {
        let mut lines = Vec::new();
        for variant in [self.h.mug.clone(), self.h.tee.clone()] {
            if self.rng.random_bool(0.6) || lines.is_empty() {
                lines.push(json!({"variant_id": variant, "quantity": self.rng.random_range(1..=3)}));
            }
        }
        if self.rng.random_bool(0.3) {
            // One to three nights in a row, one or two rooms.
            let arrival = self.rng.random_range(0..4);
            let rooms = self.rng.random_range(1..=2);
            for k in arrival..(arrival + self.rng.random_range(1..=3)).min(4) {
                let night = self.first_night.checked_add(i64::from(k).days()).unwrap();
                lines.push(json!({"variant_id": self.room, "quantity": rooms, "night": night.to_string()}));
            }
        }
        let promoted = self.rng.random_bool(0.3);
        let customer = self.rng.random_bool(0.7).then(|| {
            let n = self.rng.random_range(0..self.customers.len());
            self.customers[n].clone()
        });
        let session = self
            .rng
            .random_bool(0.5)
            .then(|| SESSIONS[self.rng.random_range(0..SESSIONS.len())].to_owned());
        let body = json!({"lines": lines, "promotion_code": promoted.then_some("SAVE5"),
            "customer_id": customer, "session_id": session});
        let now = self.now();
        let order = self.h.place_order(body, &now).await;
        self.orders.push(Tracked {
            order,
            placed: self.clock,
            customer,
            session,
            promoted,
        });
    }

    /// A storefront event of a random session, sent now, dated by the clock.
    async fn storefront_event(&mut self) {
        let session = SESSIONS[self.rng.random_range(0..SESSIONS.len())];
        let (kind, step, payload) = match self.rng.random_range(0..4) {
            0 => ("session_started", 0, json!({})),
            1 => (
                "product_viewed",
                1,
                json!({"product_id": self.products[&self.h.mug]}),
            ),
            2 => (
                "added_to_cart",
                2,
                json!({"variant_id": self.h.mug, "quantity": 1}),
            ),
            _ => ("checkout_started", 4, json!({"value_minor": 1000, "items": 1})),
        };
        let id = uuid::Uuid::new_v4();
        let event = json!({"id": id, "kind": kind, "occurred_at": Timestamp::now().to_string(),
            "session_id": session, "payload": payload});
        let answer = self
            .h
            .shop
            .app
            .post(
                &format!("{}/events", self.h.shop.base),
                support::As::Key(&self.h.shop.publishable),
                json!({"events": [event]}),
            )
            .await
            .expect(200);
        assert_eq!(answer["accepted"], 1, "seed {}: {answer:#}", self.seed);
        sqlx::query("UPDATE storefront_events SET occurred_at = $2::timestamptz WHERE event_id = $1")
            .bind(id)
            .bind(self.now())
            .execute(&mut self.h.db)
            .await
            .unwrap();
        self.touch(session, self.clock, step);
    }

    /// A random order whose status is one of `statuses`.
    fn pick(&mut self, statuses: &[&str]) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.orders.len())
            .filter(|&i| statuses.contains(&self.orders[i].status()))
            .collect();
        (!candidates.is_empty()).then(|| candidates[self.rng.random_range(0..candidates.len())])
    }

    async fn change(&mut self, i: usize, change: &str, body: Value) {
        let now = self.now();
        let order = self.orders[i].order.clone();
        self.orders[i].order = self.h.change(&order, change, body, &now).await;
    }

    async fn pay(&mut self) {
        let Some(i) = self.pick(&["pending"]) else { return };
        self.change(i, "pay", json!({})).await;
        if let Some(session) = self.orders[i].session.clone() {
            self.touch(&session, self.clock, 8);
        }
        let tracked = &self.orders[i];
        for (n, line) in tracked.order["lines"].as_array().unwrap().iter().enumerate() {
            let variant = line["variant_id"].as_str().unwrap().to_owned();
            self.facts.push(Fact {
                at: self.clock,
                ordered_at: tracked.placed,
                order: i,
                product: self.products[&variant].clone(),
                night: night_of(line),
                variant,
                sums: Sums {
                    orders: i64::from(n == 0),
                    units: line["quantity"].as_i64().unwrap(),
                    gross: line["subtotal_minor"].as_i64().unwrap(),
                    discounts: line["discount_minor"].as_i64().unwrap(),
                    ..Sums::default()
                },
            });
        }
    }

    async fn fulfil(&mut self) {
        let Some(i) = self.pick(&["paid"]) else { return };
        self.change(i, "fulfil", json!({})).await;
    }

    async fn cancel(&mut self) {
        let Some(i) = self.pick(&["pending", "paid"]) else {
            return;
        };
        self.change(i, "cancel", json!({})).await;
        self.returned(i);
    }

    async fn refund(&mut self) {
        let Some(i) = self.pick(&["paid", "fulfilled"]) else {
            return;
        };
        let lines: Vec<usize> = (0..self.orders[i].order["lines"].as_array().unwrap().len())
            .filter(|&n| self.orders[i].left(n) > 0)
            .collect();
        let n = lines[self.rng.random_range(0..lines.len())];
        let quantity = self.rng.random_range(1..=self.orders[i].left(n));
        let line = self.orders[i].order["lines"][n]["id"].clone();
        self.change(
            i,
            "refunds",
            json!({"lines": [{"line_id": line, "quantity": quantity}]}),
        )
        .await;
        self.returned(i);
    }

    /// The unpaid-order sweep: every pending order is older than its limit.
    async fn expire(&mut self) {
        let pending = self.orders.iter().filter(|t| t.status() == "pending").count();
        let swept =
            shopfleet_api::orders::expiry::sweep(&self.h.shop.app.state, std::time::Duration::from_secs(60))
                .await
                .unwrap();
        assert_eq!(swept.expired, pending, "seed {}", self.seed);
        sqlx::query("UPDATE order_events SET created_at = $1::timestamptz WHERE actor = 'system:expiry' AND created_at > $1::timestamptz")
            .bind(self.now())
            .execute(&mut self.h.db)
            .await
            .unwrap();
        for tracked in &mut self.orders {
            if tracked.status() == "pending" {
                tracked.order["status"] = json!("cancelled");
            }
        }
    }

    async fn step(&mut self) {
        // Often minutes apart (so folds meet rows of an hour folded before),
        // sometimes most of a day.
        let most = if self.rng.random_bool(0.4) { 600 } else { 20 * 3600 };
        self.clock = self
            .clock
            .checked_add(self.rng.random_range(0..most).seconds())
            .unwrap();
        match self.rng.random_range(0..100) {
            0..30 => self.place().await,
            30..50 => self.pay().await,
            50..54 => self.fulfil().await,
            54..60 => self.cancel().await,
            60..72 => self.refund().await,
            72..75 => self.expire().await,
            75..90 => self.storefront_event().await,
            _ => self.h.fold().await,
        }
    }

    fn local(&self, at: Timestamp) -> Zoned {
        at.to_zoned(self.zone.clone())
    }

    /// Where the report's bucket of `interval` holding `at` starts.
    fn bucket(&self, at: Timestamp, interval: &str) -> String {
        let local = self.local(at);
        let date = local.date();
        let start = match interval {
            "hour" => local
                .with()
                .minute(0)
                .second(0)
                .subsec_nanosecond(0)
                .build()
                .unwrap(),
            "day" => self.midnight(date),
            "week" => self.midnight(
                date.checked_sub(i64::from(date.weekday().to_monday_zero_offset()).days())
                    .unwrap(),
            ),
            "month" => self.midnight(date.first_of_month()),
            other => panic!("no interval {other}"),
        };
        start.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }

    fn midnight(&self, date: Date) -> Zoned {
        date.to_zoned(self.zone.clone()).unwrap()
    }

    fn in_dates(&self, at: Timestamp, from: Date, to: Date) -> bool {
        let date = self.local(at).date();
        from <= date && date < to
    }

    /// The sales report recomputed, bucket by bucket (only those with facts).
    fn expected_sales(&self, from: Date, to: Date, interval: &str, by_order: bool) -> BTreeMap<String, Sums> {
        let mut buckets: BTreeMap<String, Sums> = BTreeMap::new();
        for fact in &self.facts {
            let at = if by_order { fact.ordered_at } else { fact.at };
            if self.in_dates(at, from, to) {
                *buckets.entry(self.bucket(at, interval)).or_default() += fact.sums;
            }
        }
        buckets
    }

    async fn check_sales(&self, from: Date, to: Date, interval: &str, dated_by: &str) {
        let report = self
            .h
            .sales(&format!(
                "from={from}&to={to}&interval={interval}&dated_by={dated_by}"
            ))
            .await;
        let expected = self.expected_sales(from, to, interval, dated_by == "order");
        let context = format!("seed {}: {dated_by} {interval} from {from} to {to}", self.seed);
        let series = report["current"]["series"].as_array().unwrap();
        let mut total = Sums::default();
        for bucket in series {
            let start = bucket["start"].as_str().unwrap();
            let sums = expected.get(start).copied().unwrap_or_default();
            total += sums;
            let mut figures = bucket.clone();
            figures.as_object_mut().unwrap().remove("start");
            assert_eq!(figures, sums.figures(), "{context}: bucket {start}");
        }
        for start in expected.keys() {
            assert!(
                series.iter().any(|b| b["start"] == start.as_str()),
                "{context}: no bucket {start}"
            );
        }
        assert_eq!(report["current"]["totals"], total.figures(), "{context}: totals");
    }

    async fn check_top(&self, from: Date, to: Date, by: &str) {
        let mut items: BTreeMap<String, Sums> = BTreeMap::new();
        for fact in self.facts.iter().filter(|f| self.in_dates(f.at, from, to)) {
            let id = if by == "variant" {
                &fact.variant
            } else {
                &fact.product
            };
            *items.entry(id.clone()).or_default() += fact.sums;
        }
        let mut expected: Vec<(String, Sums)> = items.into_iter().collect();
        let net = |s: &Sums| s.gross - s.discounts - s.returns;
        expected.sort_by(|(a, x), (b, y)| net(y).cmp(&net(x)).then(a.cmp(b)));
        let expected: Vec<Value> = expected
            .iter()
            .map(|(id, s)| {
                json!([
                    id,
                    s.units,
                    s.returned,
                    s.units - s.returned,
                    s.gross,
                    s.discounts,
                    s.returns,
                    net(s)
                ])
            })
            .collect();
        let report = self
            .h
            .top(&format!("from={from}&to={to}&by={by}&limit=100"))
            .await;
        let got: Vec<Value> = report["current"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                json!([
                    i["id"],
                    i["units_sold"],
                    i["units_returned"],
                    i["net_units"],
                    i["gross_sales_minor"],
                    i["discounts_minor"],
                    i["returns_minor"],
                    i["net_sales_minor"]
                ])
            })
            .collect();
        assert_eq!(got, expected, "seed {}: top {by} from {from} to {to}", self.seed);
    }

    async fn report(&self, name: &str, query: &str) -> Value {
        self.h
            .shop
            .app
            .get(
                &format!("{}/analytics/{name}?{query}", self.h.shop.base),
                self.h.shop.staff(),
            )
            .await
            .expect(200)
    }

    /// Customers per bucket: each one's orders (paid, with their time).
    async fn check_customers(&self, from: Date, to: Date, interval: &str) {
        let paid: Vec<(&String, Timestamp)> = self
            .facts
            .iter()
            .filter(|f| f.sums.orders == 1)
            .filter_map(|f| self.orders[f.order].customer.as_ref().map(|c| (c, f.at)))
            .collect();
        let first = |customer: &String| {
            paid.iter()
                .filter(|(c, _)| *c == customer)
                .map(|(_, at)| *at)
                .min()
        };
        // bucket → customer → orders
        let mut buckets: BTreeMap<String, BTreeMap<&String, i64>> = BTreeMap::new();
        let mut period: BTreeMap<&String, i64> = BTreeMap::new();
        for (customer, at) in paid.iter().filter(|(_, at)| self.in_dates(*at, from, to)) {
            *buckets
                .entry(self.bucket(*at, interval))
                .or_default()
                .entry(*customer)
                .or_default() += 1;
            *period.entry(*customer).or_default() += 1;
        }
        let counts = |orders: &BTreeMap<&String, i64>, new: &dyn Fn(&String) -> bool| {
            let new = orders.keys().filter(|c| new(c)).count() as i64;
            json!({"customers": orders.len(), "new_customers": new,
                "returning_customers": orders.len() as i64 - new, "orders": orders.values().sum::<i64>()})
        };
        let report = self
            .report("customers", &format!("from={from}&to={to}&interval={interval}"))
            .await;
        let context = format!("seed {}: customers by {interval} from {from} to {to}", self.seed);
        // New in a bucket: the first order ever was paid in it, and within
        // the period (a first bucket the period cuts holds only its days).
        let period_start = self.midnight(from).timestamp();
        for bucket in report["current"]["series"].as_array().unwrap() {
            let start = bucket["start"].as_str().unwrap();
            let empty = BTreeMap::new();
            let orders = buckets.get(start).unwrap_or(&empty);
            let expected = counts(orders, &|c| {
                first(c).is_some_and(|at| at >= period_start && self.bucket(at, interval) == start)
            });
            let mut got = bucket.clone();
            got.as_object_mut().unwrap().remove("start");
            assert_eq!(got, expected, "{context}: bucket {start}");
        }
        let expected = counts(&period, &|c| first(c).is_some_and(|at| at >= period_start));
        assert_eq!(report["current"]["totals"], expected, "{context}: totals");
        let repeat = period.values().filter(|orders| **orders >= 2).count() as i64;
        assert_eq!(
            report["current"]["repeat_purchase_percent"],
            hundredths(100 * repeat, period.len() as i64),
            "{context}: repeat purchases"
        );
    }

    /// Cohorts: each customer's months with an order paid, the first their
    /// cohort's, followed up to this month.
    async fn check_cohorts(&self, from: Date, to: Date) {
        let mut months: BTreeMap<&String, BTreeSet<Date>> = BTreeMap::new();
        for fact in self.facts.iter().filter(|f| f.sums.orders == 1) {
            if let Some(customer) = &self.orders[fact.order].customer {
                let month = self.local(fact.at).date().first_of_month();
                months.entry(customer).or_default().insert(month);
            }
        }
        let this_month = self.local(Timestamp::now()).date().first_of_month();
        let (first, stop) = (from.first_of_month(), to.yesterday().unwrap().first_of_month());
        let mut cohorts: BTreeMap<Date, Vec<&BTreeSet<Date>>> = BTreeMap::new();
        for customer_months in months.values() {
            let cohort = *customer_months.first().unwrap();
            if first <= cohort && cohort <= stop {
                cohorts.entry(cohort).or_default().push(customer_months);
            }
        }
        let expected: Vec<Value> = cohorts
            .iter()
            .map(|(cohort, members)| {
                let mut active = Vec::new();
                let mut month = *cohort;
                while month <= this_month {
                    active.push(members.iter().filter(|m| m.contains(&month)).count());
                    month = month.checked_add(1.month()).unwrap();
                }
                json!({"month": cohort.strftime("%Y-%m").to_string(), "customers": members.len(), "active": active})
            })
            .collect();
        let report = self.report("cohorts", &format!("from={from}&to={to}")).await;
        let got: Vec<Value> = report["cohorts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| json!({"month": c["month"], "customers": c["customers"], "active": c["active"]}))
            .collect();
        assert_eq!(got, expected, "seed {}: cohorts from {from} to {to}", self.seed);
    }

    /// The promotion's orders, discount and net sales of the orders it was on.
    async fn check_promotions(&self, from: Date, to: Date) {
        let mut sums = Sums::default();
        let mut seen = false;
        for fact in self.facts.iter().filter(|f| self.orders[f.order].promoted) {
            if self.in_dates(fact.at, from, to) {
                sums += fact.sums;
                seen = true;
            }
        }
        let report = self.report("promotions", &format!("from={from}&to={to}")).await;
        let got: Vec<Value> = report["current"]["promotions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| json!([p["code"], p["orders"], p["discount_minor"], p["net_sales_minor"]]))
            .collect();
        let expected: Vec<Value> = if seen {
            vec![json!([
                "SAVE5",
                sums.orders,
                sums.discounts,
                sums.gross - sums.discounts - sums.returns
            ])]
        } else {
            vec![]
        };
        assert_eq!(
            got, expected,
            "seed {}: promotions from {from} to {to}",
            self.seed
        );
    }

    /// Sessions by the day of their first event, at each step they reached in a row.
    async fn check_funnel(&self, from: Date, to: Date) {
        let mut buckets: BTreeMap<String, [i64; 5]> = BTreeMap::new();
        for (first, steps) in self.sessions.values() {
            if !self.in_dates(*first, from, to) {
                continue;
            }
            let depth = [1u8, 2, 4, 8].iter().take_while(|bit| steps & **bit != 0).count();
            let counts = buckets.entry(self.bucket(*first, "day")).or_default();
            for count in counts.iter_mut().take(depth + 1) {
                *count += 1;
            }
        }
        let report = self.report("funnel", &format!("from={from}&to={to}")).await;
        for bucket in report["current"]["series"].as_array().unwrap() {
            let start = bucket["start"].as_str().unwrap();
            let got = [
                "sessions",
                "viewed_product",
                "added_to_cart",
                "started_checkout",
                "purchased",
            ]
            .map(|field| bucket[field].as_i64().unwrap());
            assert_eq!(
                got,
                buckets.get(start).copied().unwrap_or_default(),
                "seed {}: funnel from {from} to {to}: bucket {start}",
                self.seed
            );
        }
    }

    /// Rooms per night: sold and revenue net of refunds; arrivals as paid.
    async fn check_rooms(&self) {
        let nights: Vec<Date> = (0..4)
            .map(|k| self.first_night.checked_add(k.days()).unwrap())
            .collect();
        let mut per_night: BTreeMap<Date, (i64, i64, i64, i64, i64)> = BTreeMap::new();
        for fact in &self.facts {
            if let Some(night) = fact.night {
                let entry = per_night.entry(night).or_default();
                entry.0 += fact.sums.units - fact.sums.returned;
                entry.1 += fact.sums.gross - fact.sums.discounts - fact.sums.returns;
            }
        }
        // Stays: each paid order's rooms of its first night, its room nights,
        // and the days from its local day to its arrival.
        for (i, tracked) in self.orders.iter().enumerate() {
            let paid = self.facts.iter().any(|f| f.order == i && f.sums.orders == 1);
            let rooms: Vec<(Date, i64)> = tracked.order["lines"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|line| night_of(line).map(|night| (night, line["quantity"].as_i64().unwrap())))
                .collect();
            let Some(arrival) = rooms.iter().map(|(night, _)| *night).min().filter(|_| paid) else {
                continue;
            };
            let first: i64 = rooms.iter().filter(|(n, _)| *n == arrival).map(|(_, q)| q).sum();
            let lead = self
                .local(tracked.placed)
                .date()
                .until(arrival)
                .unwrap()
                .get_days();
            let entry = per_night.entry(arrival).or_default();
            entry.2 += first;
            entry.3 += rooms.iter().map(|(_, q)| q).sum::<i64>();
            entry.4 += first * i64::from(lead);
        }
        let query = format!(
            "from={}&to={}",
            nights[0],
            nights[3].checked_add(1.day()).unwrap()
        );
        let report = self.report("hospitality", &query).await;
        for (bucket, night) in report["current"]["series"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&nights)
        {
            let (sold, revenue, arrivals, stay_nights, lead) =
                per_night.get(night).copied().unwrap_or_default();
            let got = json!([
                bucket["start"],
                bucket["room_nights_sold"],
                bucket["room_revenue_minor"],
                bucket["arrivals"],
                bucket["average_length_of_stay_nights"],
                bucket["average_lead_time_days"],
                bucket["room_nights_available"]
            ]);
            let expected = json!([
                night.to_string(),
                sold,
                revenue,
                arrivals,
                hundredths(stay_nights, arrivals),
                hundredths(lead, arrivals),
                200
            ]);
            assert_eq!(got, expected, "seed {}: rooms of night {night}", self.seed);
        }
    }

    /// Every report over the sequence so far, `clock_change` the day the clocks change.
    async fn check(&self, first: Date, clock_change: Date) {
        let last = self.local(self.clock).date().checked_add(1.day()).unwrap();
        for dated_by in ["transaction", "order"] {
            for interval in ["day", "week", "month"] {
                self.check_sales(first, last, interval, dated_by).await;
            }
            let (from, to) = (
                clock_change.yesterday().unwrap(),
                clock_change.tomorrow().unwrap().tomorrow().unwrap(),
            );
            self.check_sales(from, to, "hour", dated_by).await;
        }
        let days = first.until(last).unwrap().get_days();
        let middle = first.checked_add((days / 2).days()).unwrap();
        for interval in ["day", "week", "month"] {
            self.check_customers(first, last, interval).await;
            // From the middle: a first bucket the period cuts.
            self.check_customers(middle, last, interval).await;
        }
        // Hours, across the change of the clock.
        let (before, after) = (
            clock_change.yesterday().unwrap(),
            clock_change.tomorrow().unwrap(),
        );
        self.check_customers(before, after.tomorrow().unwrap(), "hour")
            .await;
        self.check_cohorts(first, last).await;
        self.check_promotions(first, last).await;
        self.check_funnel(first, last).await;
        self.check_rooms().await;
        for by in ["product", "variant"] {
            self.check_top(first, last, by).await;
            // From the middle: part of a month, by day.
            self.check_top(middle, last, by).await;
        }
    }
}

/// The night a line books, if it does.
fn night_of(line: &Value) -> Option<Date> {
    line["night"].as_str().map(|night| night.parse().unwrap())
}

/// `part ÷ whole` to two decimals, half up, as the reports round.
fn hundredths(part: i64, whole: i64) -> Value {
    if whole == 0 {
        return Value::Null;
    }
    json!(((200 * part + whole) / (2 * whole)) as f64 / 100.0)
}

/// The tenant database as the superuser, for reading ids.
struct PgConn;

impl PgConn {
    async fn of(h: &History) -> sqlx::PgConnection {
        use sqlx::Connection;
        let tenant = h.shop.app.tenant();
        let options = tenant.admin.options.clone().database(&tenant.names.database);
        sqlx::PgConnection::connect_with(&options).await.unwrap()
    }
}

async fn run(seed: u64, start: &str, clock_change: &str) {
    let mut sequence = Sequence::new(seed, start).await;
    let first: Date = start[..10].parse().unwrap();
    let clock_change: Date = clock_change.parse().unwrap();
    for round in 0..4 {
        for _ in 0..20 {
            sequence.step().await;
        }
        // Checked with whatever the fold has or has not folded; then folded.
        sequence.check(first, clock_change).await;
        if round % 2 == 1 {
            sequence.h.fold().await;
            sequence.check(first, clock_change).await;
        }
    }
    assert!(
        sequence.facts.len() >= 10,
        "seed {seed}: a sequence too quiet to prove anything ({} facts)",
        sequence.facts.len()
    );
}

fn seed() -> u64 {
    std::env::var("ANALYTICS_SEED")
        .ok()
        .map(|seed| seed.parse().expect("ANALYTICS_SEED is a number"))
        .unwrap_or_else(rand::random)
}

#[actix_web::test]
async fn reports_equal_a_recomputation_whatever_happens_when_clocks_go_forward() {
    run(seed(), "2025-03-27T06:00:00Z", "2025-03-30").await;
}

#[actix_web::test]
async fn reports_equal_a_recomputation_whatever_happens_when_clocks_go_back() {
    run(seed(), "2025-10-23T06:00:00Z", "2025-10-26").await;
}
