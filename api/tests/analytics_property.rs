//! The property: whatever happens to a store's orders, in whatever order,
//! folded or not, every rollup-backed report equals a recomputation done
//! here, in Rust (jiff for the store's time zone), from the orders' own
//! answers. Random sequences of place, pay, fulfil, cancel, refund, expire
//! and fold run across each change of the clock. A failure names its seed;
//! `ANALYTICS_SEED=<seed>` replays it.

mod support;

use std::collections::BTreeMap;

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
    product: String,
    variant: String,
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
}

impl Sequence {
    async fn new(seed: u64, start: &str) -> Self {
        let h = History::new().await;
        // Enough stock for any sequence.
        h.shop.receive(&h.mug, 900).await;
        h.shop.receive(&h.tee, 900).await;
        let mut products = BTreeMap::new();
        for variant in [&h.mug, &h.tee] {
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
        }
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
                product: self.products[&variant].clone(),
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
                lines.push((variant, self.rng.random_range(1..=3)));
            }
        }
        let code = self.rng.random_bool(0.3).then_some("SAVE5");
        let lines: Vec<(&str, i32)> = lines.iter().map(|(v, q)| (v.as_str(), *q)).collect();
        let now = self.now();
        let order = self.h.place(&lines, code, &now).await;
        self.orders.push(Tracked {
            order,
            placed: self.clock,
        });
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
        let tracked = &self.orders[i];
        for (n, line) in tracked.order["lines"].as_array().unwrap().iter().enumerate() {
            let variant = line["variant_id"].as_str().unwrap().to_owned();
            self.facts.push(Fact {
                at: self.clock,
                ordered_at: tracked.placed,
                product: self.products[&variant].clone(),
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
            0..35 => self.place().await,
            35..60 => self.pay().await,
            60..65 => self.fulfil().await,
            65..73 => self.cancel().await,
            73..87 => self.refund().await,
            87..90 => self.expire().await,
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
        for by in ["product", "variant"] {
            self.check_top(first, last, by).await;
            // From the middle: part of a month, by day.
            let days = first.until(last).unwrap().get_days();
            let middle = first.checked_add((days / 2).days()).unwrap();
            self.check_top(middle, last, by).await;
        }
    }
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
