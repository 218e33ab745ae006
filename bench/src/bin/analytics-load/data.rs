//! The data: one store's two years of trade, made in Rust from a fixed seed
//! and streamed into the tenant database with `COPY ... FROM STDIN` as the
//! server's superuser (who bypasses row-level security), a week at a time so
//! that memory stays small.
//!
//! The catalog (standard products with two variants each in categories,
//! room-night products, ticket products with events spread over the period),
//! its stock, promotions and customers go in first. Then, day by day,
//! orders at times of day and weekdays shaped like a shop's, with their
//! lines, discounts, events (created, then paid or cancelled unpaid; later
//! refunds and cancellations of paid orders), tickets, and the shop front's
//! sessions and events, each as the API would have written them.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use jiff::tz::TimeZone;
use shopfleet_api::ids::StoreId;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::civil::{self, Calendar, MICROS_PER_DAY};
use crate::random::Random;

/// What to make.
#[derive(Clone, Debug)]
pub struct Params {
    pub lines: u64,
    pub products: u32,
    pub categories: u32,
    pub rooms: u32,
    pub room_capacity: u32,
    pub events: u32,
    pub event_capacity: u32,
    pub customers: u32,
    pub sessions_per_order: f64,
    pub seed: u64,
}

/// Shares of the orders (the rest are standard orders).
const PAID: f64 = 0.85;
const REFUNDED_OF_PAID: f64 = 0.05;
const CANCELLED_OF_PAID: f64 = 0.02;
const WITH_PROMOTION: f64 = 0.20;
const WITH_CUSTOMER: f64 = 0.70;
const WITH_SESSION: f64 = 0.60;
/// Of orders with neither a customer nor a session (a point of sale): table
/// orders with a party size (the store is a hotel with a restaurant, a shop
/// and events).
const TABLES_OF_COUNTER_ORDERS: f64 = 0.5;

/// Order kinds, so that lines are about 95 % standard, 3 % room nights and
/// 2 % tickets: standard orders have 1–5 lines (3 on average), stays
/// 1–5 nights (2.4), ticket orders 1–2 events (1.5).
const ROOM_ORDERS: f64 = 0.0365;
const TICKET_ORDERS: f64 = 0.0389;
const STAY_NIGHTS: [f64; 5] = [30.0, 30.0, 20.0, 12.0, 8.0];

/// Orders per local hour of the day (relative).
const HOURS: [f64; 24] = [
    1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.0, 2.0, 3.5, 4.5, 5.0, 5.5, 6.0, 5.5, 5.0, 5.0, 5.2, 5.5, 6.0, 7.0, 7.5,
    6.5, 4.0, 2.0,
];
/// Orders per weekday, Monday first (relative).
const WEEKDAYS: [f64; 7] = [0.95, 0.90, 0.92, 0.97, 1.05, 1.15, 1.10];
/// Orders per month, January first (relative).
const MONTHS: [f64; 12] = [0.85, 0.85, 0.95, 1.0, 1.0, 0.95, 0.92, 0.92, 1.0, 1.05, 1.2, 1.45];

/// A dummy argon2 hash: nobody signs in as these customers.
const PASSWORD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hiZW5jaGJlbmNo$YmVuY2hiZW5jaGJlbmNoYmVuY2hiZW5jaGJlbmNoYmU";

const CATEGORY_NAMES: [&str; 20] = [
    "Kitchen",
    "Living",
    "Bedroom",
    "Bath",
    "Garden",
    "Outdoor",
    "Kids",
    "Pets",
    "Office",
    "Lighting",
    "Textiles",
    "Tableware",
    "Storage",
    "Decor",
    "Wellness",
    "Travel",
    "Books",
    "Gifts",
    "Pantry",
    "Crafts",
];
const ADJECTIVES: [&str; 16] = [
    "Amber", "Azure", "Birch", "Cedar", "Copper", "Coral", "Denim", "Ivory", "Linen", "Maple", "Olive",
    "Slate", "Teak", "Velvet", "Walnut", "Wool",
];
const NOUNS: [&str; 16] = [
    "Mug", "Lamp", "Throw", "Vase", "Tray", "Stool", "Towel", "Candle", "Basket", "Bowl", "Quilt", "Kettle",
    "Mirror", "Planter", "Journal", "Tote",
];

/// The store's promotions: (name, kind, basis points or amount, code).
const PROMOTIONS: [(&str, &str, i64, &str); 3] = [
    ("Spring 10 %", "percentage", 1000, "SPRING10"),
    ("Welcome 5 €", "fixed_amount", 500, "WELCOME5"),
    ("Members 15 %", "percentage", 1500, "VIP15"),
];
/// The fixed-amount promotion's minimum subtotal.
const FIXED_MIN_SUBTOTAL: i64 = 2000;
/// A standard variant's stock on hand now: 0 to this, most of them low.
const MOST_ON_HAND: f64 = 150.0;
/// Variants with a few units held by open orders.
const WITH_RESERVED: f64 = 0.1;
/// Mixed into the seed for the stock's own random stream.
const STOCK_SEED: u64 = 0x0057_00C4;

struct Variant {
    product: Uuid,
    id: Uuid,
    sku: String,
    /// As an order line records it: the product's title, and the variant's.
    title: String,
    price: i64,
}

struct TicketEvent {
    variant: Variant,
    starts: i64,
    on_sale_from: i64,
}

/// The catalog and customers, as made (ids and prices), for the orders.
struct Catalog {
    /// Standard products: two variants each, by product.
    standard: Vec<[Variant; 2]>,
    /// Cumulative popularity of the standard products.
    popularity: Vec<f64>,
    rooms: Vec<Variant>,
    events: Vec<TicketEvent>,
    promotions: Vec<Uuid>,
    customers: Vec<Uuid>,
}

/// Counts of what was made, for the report.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub orders: u64,
    pub paid: u64,
    pub unpaid_cancelled: u64,
    pub pending: u64,
    pub refunded: u64,
    pub cancelled_after_payment: u64,
    pub with_promotion: u64,
    pub with_customer: u64,
    pub with_session: u64,
    pub tables: u64,
    pub lines: u64,
    pub standard_lines: u64,
    pub room_lines: u64,
    pub ticket_lines: u64,
    pub order_events: u64,
    pub order_discounts: u64,
    pub tickets: u64,
    pub sessions: u64,
    pub storefront_events: u64,
    /// Room or ticket orders made standard because nothing was left to sell.
    pub sold_out: u64,
}

/// A week of rows, as COPY text per table.
#[derive(Default)]
struct Chunk {
    orders: String,
    lines: String,
    discounts: String,
    events: String,
    tickets: String,
    storefront: String,
    /// The last local day it holds.
    through: i64,
    counts: Counts,
}

/// One COPY text row being written: values separated by tabs.
struct Row<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Row<'a> {
    fn new(out: &'a mut String) -> Self {
        Self { out, first: true }
    }
    fn sep(&mut self) {
        if !self.first {
            self.out.push('\t');
        }
        self.first = false;
    }
    /// Text without tabs, newlines or backslashes (all ours are).
    fn s(mut self, value: &str) -> Self {
        self.sep();
        self.out.push_str(value);
        self
    }
    fn u(mut self, value: Uuid) -> Self {
        self.sep();
        let _ = write!(self.out, "{}", value.hyphenated());
        self
    }
    fn ou(self, value: Option<Uuid>) -> Self {
        match value {
            Some(value) => self.u(value),
            None => self.null(),
        }
    }
    fn i(mut self, value: i64) -> Self {
        self.sep();
        let _ = write!(self.out, "{value}");
        self
    }
    fn oi(self, value: Option<i64>) -> Self {
        match value {
            Some(value) => self.i(value),
            None => self.null(),
        }
    }
    fn t(mut self, micros: i64) -> Self {
        self.sep();
        civil::write_timestamp(self.out, micros);
        self
    }
    fn ot(self, micros: Option<i64>) -> Self {
        match micros {
            Some(micros) => self.t(micros),
            None => self.null(),
        }
    }
    fn od(mut self, day: Option<i64>) -> Self {
        self.sep();
        match day {
            Some(day) => civil::write_date(self.out, day),
            None => self.out.push_str("\\N"),
        }
        self
    }
    fn null(mut self) -> Self {
        self.sep();
        self.out.push_str("\\N");
        self
    }
    fn end(self) {
        self.out.push('\n');
    }
}

/// A UUIDv7 of instant `micros`, as the API makes its ids.
fn v7(rng: &mut Random, micros: i64) -> Uuid {
    let random = rng.bytes10();
    uuid::Builder::from_unix_timestamp_millis((micros / 1000) as u64, &random).into_uuid()
}

/// An index drawn from cumulative weights.
fn pick(rng: &mut Random, cumulative: &[f64]) -> usize {
    let x = rng.f64() * cumulative[cumulative.len() - 1];
    cumulative.partition_point(|&c| c <= x).min(cumulative.len() - 1)
}

fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    weights
        .into_iter()
        .scan(0.0, |sum, w| {
            *sum += w;
            Some(*sum)
        })
        .collect()
}

/// A storefront event of a session: kind, product, variant, quantity,
/// value and items.
type Step = (
    &'static str,
    Option<Uuid>,
    Option<Uuid>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// An order event: when, kind, from and to status, amount, lines (JSON), actor.
type Event<'a> = (
    i64,
    &'static str,
    Option<&'static str>,
    &'static str,
    i64,
    String,
    &'a str,
);

/// One line of an order being made.
struct Line {
    id: Uuid,
    kind: LineKind,
    night: Option<i64>,
    quantity: i64,
    price: i64,
    discount: i64,
    refunded_quantity: i64,
    refunded: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LineKind {
    /// Product index, variant index.
    Standard(usize, usize),
    Room(usize),
    Ticket(usize),
}

impl Line {
    fn subtotal(&self) -> i64 {
        self.price * self.quantity
    }
    fn total(&self) -> i64 {
        self.subtotal() - self.discount
    }
}

/// Makes the rows.
pub struct Generator {
    params: Params,
    store: StoreId,
    calendar: Calendar,
    rng: Random,
    catalog: Catalog,
    /// Rooms sold per room and night (nights from the first day on).
    rooms_sold: Vec<u16>,
    room_nights: i64,
    seats_sold: Vec<u32>,
    order_number: i64,
    counts: Counts,
}

impl Generator {
    pub fn new(params: Params, store: StoreId, calendar: Calendar) -> Self {
        let mut rng = Random::seeded(params.seed);
        let created = calendar.start();
        let standard: Vec<[Variant; 2]> = (0..params.products)
            .map(|n| {
                let product = v7(&mut rng, created);
                let title = format!(
                    "{} {} {}",
                    ADJECTIVES[rng.index(ADJECTIVES.len())],
                    NOUNS[rng.index(NOUNS.len())],
                    n + 1
                );
                // Log-uniform from 5 € to 200 €, in whole 10 cents.
                let base = (500.0 * 40f64.powf(rng.f64()) / 10.0).round() as i64 * 10;
                [("Standard", base), ("Large", (base * 12 / 100) * 10)].map(|(option, price)| Variant {
                    product,
                    id: v7(&mut rng, created),
                    sku: format!("SKU-{:05}-{}", n + 1, &option[..1]),
                    title: format!("{title} – {option}"),
                    price,
                })
            })
            .collect();
        // A long tail: the product of rank r sells as 1 / (r + 5)^0.9.
        let mut ranks: Vec<usize> = (0..standard.len()).collect();
        for i in (1..ranks.len()).rev() {
            ranks.swap(i, rng.index(i + 1));
        }
        let popularity = cumulative(ranks.iter().map(|&rank| 1.0 / ((rank + 5) as f64).powf(0.9)));
        let rooms = (0..params.rooms)
            .map(|n| {
                let product = v7(&mut rng, created);
                Variant {
                    product,
                    id: v7(&mut rng, created),
                    sku: format!("ROOM-{:03}", 101 + n),
                    title: format!("Room {}", 101 + n),
                    price: rng.inclusive(80..=250) * 100,
                }
            })
            .collect();
        // Events spread over the period, from its second month to a month
        // past its end, each on sale for 120 days before it starts (at 19:30).
        let span = (calendar.days() + 30) as f64;
        let events = (0..params.events)
            .map(|n| {
                let product = v7(&mut rng, created);
                let day = calendar.first + 30 + ((n as f64 + 0.5) / f64::from(params.events) * span) as i64;
                let starts = calendar.local(day, 19) + 30 * 60_000_000;
                TicketEvent {
                    variant: Variant {
                        product,
                        id: v7(&mut rng, created),
                        sku: format!("EVENT-{:03}", n + 1),
                        title: format!("Concert {}", n + 1),
                        price: rng.inclusive(20..=90) * 100,
                    },
                    starts,
                    on_sale_from: starts - 120 * MICROS_PER_DAY,
                }
            })
            .collect();
        let promotions = PROMOTIONS.iter().map(|_| v7(&mut rng, created)).collect();
        let customers = (0..params.customers).map(|_| v7(&mut rng, created)).collect();
        // Nights booked up to 120 days ahead, for stays of up to 5 nights.
        let room_nights = calendar.days() + 130;
        Self {
            rooms_sold: vec![0; params.rooms as usize * room_nights as usize],
            room_nights,
            seats_sold: vec![0; params.events as usize],
            order_number: 1000,
            counts: Counts::default(),
            catalog: Catalog {
                standard,
                popularity,
                rooms,
                events,
                promotions,
                customers,
            },
            params,
            store,
            calendar,
            rng,
        }
    }

    /// The catalog, promotions and customers as COPY text: (table with its
    /// columns, rows).
    fn catalog_rows(&mut self) -> Vec<(&'static str, String)> {
        let store = self.store.0;
        let created = self.calendar.start();
        let catalog = &self.catalog;
        let mut categories = String::new();
        let category_ids: Vec<Uuid> = (0..self.params.categories as usize)
            .map(|n| {
                let id = v7(&mut self.rng, created);
                let name = CATEGORY_NAMES
                    .get(n)
                    .map_or_else(|| format!("Category {}", n + 1), |name| (*name).to_owned());
                let slug = name.to_lowercase().replace(' ', "-");
                Row::new(&mut categories)
                    .u(id)
                    .u(store)
                    .s(&name)
                    .s(&slug)
                    .t(created)
                    .end();
                id
            })
            .collect();
        let mut products = String::new();
        let mut variants = String::new();
        let mut stock = String::new();
        // Its own stream, so that the orders stay those of earlier runs.
        let mut stock_rng = Random::seeded(self.params.seed ^ STOCK_SEED);
        let mut product_categories = String::new();
        for (n, [first, second]) in catalog.standard.iter().enumerate() {
            let title = first.title.split(" – ").next().unwrap_or_default();
            Row::new(&mut products)
                .u(first.product)
                .u(store)
                .s(title)
                .s("standard")
                .s("active")
                .null()
                .null()
                .null()
                .t(created)
                .t(created)
                .end();
            for (position, variant) in [first, second].into_iter().enumerate() {
                let option = variant.title.rsplit(" – ").next().unwrap_or_default();
                Row::new(&mut variants)
                    .u(variant.id)
                    .u(store)
                    .u(variant.product)
                    .s(&variant.sku)
                    .s(option)
                    .i(variant.price)
                    .i(position as i64)
                    .t(created)
                    .t(created)
                    .end();
                // Its pool, as receiving goods left it (sales do not draw on
                // it here: the report reads the stock as it is now).
                let on_hand = (stock_rng.f64().powi(2) * MOST_ON_HAND) as i64;
                let reserved = if stock_rng.bool(WITH_RESERVED) {
                    stock_rng.inclusive(1..=3).min(on_hand)
                } else {
                    0
                };
                Row::new(&mut stock)
                    .u(v7(&mut stock_rng, created))
                    .u(store)
                    .u(variant.product)
                    .u(variant.id)
                    .null()
                    .i(on_hand)
                    .i(reserved)
                    .t(created)
                    .end();
            }
            // Each product in one category, one in ten in a second one too.
            if !category_ids.is_empty() {
                let category = n % category_ids.len();
                Row::new(&mut product_categories)
                    .u(store)
                    .u(first.product)
                    .u(category_ids[category])
                    .end();
                if n % 10 == 3 && category_ids.len() > 1 {
                    let other = (category + 1 + n / 10 % (category_ids.len() - 1)) % category_ids.len();
                    Row::new(&mut product_categories)
                        .u(store)
                        .u(first.product)
                        .u(category_ids[other])
                        .end();
                }
            }
        }
        for room in &catalog.rooms {
            Row::new(&mut products)
                .u(room.product)
                .u(store)
                .s(&room.title)
                .s("room_night")
                .s("active")
                .i(i64::from(self.params.room_capacity))
                .null()
                .null()
                .t(created)
                .t(created)
                .end();
            Row::new(&mut variants)
                .u(room.id)
                .u(store)
                .u(room.product)
                .s(&room.sku)
                .s("")
                .i(room.price)
                .i(0)
                .t(created)
                .t(created)
                .end();
        }
        for event in &catalog.events {
            let v = &event.variant;
            Row::new(&mut products)
                .u(v.product)
                .u(store)
                .s(&v.title)
                .s("ticket")
                .s("active")
                .i(i64::from(self.params.event_capacity))
                .t(event.starts)
                .t(event.starts + 3 * 3_600_000_000)
                .t(created)
                .t(created)
                .end();
            Row::new(&mut variants)
                .u(v.id)
                .u(store)
                .u(v.product)
                .s(&v.sku)
                .s("")
                .i(v.price)
                .i(0)
                .t(created)
                .t(created)
                .end();
        }
        let mut promotions = String::new();
        for (id, (name, kind, value, code)) in catalog.promotions.iter().zip(PROMOTIONS) {
            let percentage = kind == "percentage";
            Row::new(&mut promotions)
                .u(*id)
                .u(store)
                .s(name)
                .s(kind)
                .oi(percentage.then_some(value))
                .oi((!percentage).then_some(value))
                .s(code)
                .oi((!percentage).then_some(FIXED_MIN_SUBTOTAL))
                .t(created)
                .t(created)
                .end();
        }
        let mut users = String::new();
        for (n, id) in catalog.customers.iter().enumerate() {
            Row::new(&mut users)
                .u(*id)
                .s(&format!("customer{n}@analytics-load.test"))
                .s(&format!("Customer {n}"))
                .s("customer")
                .s(PASSWORD_HASH)
                .t(created)
                .t(created)
                .end();
        }
        vec![
            (
                "users (id, email, name, role, password_hash, created_at, updated_at)",
                users,
            ),
            ("categories (id, store_id, name, slug, created_at)", categories),
            (
                "products (id, store_id, title, kind, status, capacity, event_starts_at, event_ends_at, \
                 created_at, updated_at)",
                products,
            ),
            (
                "variants (id, store_id, product_id, sku, title, price_minor, position, created_at, updated_at)",
                variants,
            ),
            (
                "product_categories (store_id, product_id, category_id)",
                product_categories,
            ),
            (
                "stock (id, store_id, product_id, variant_id, night, on_hand, reserved, updated_at)",
                stock,
            ),
            (
                "promotions (id, store_id, name, kind, basis_points, amount_minor, code, min_subtotal_minor, \
                 created_at, updated_at)",
                promotions,
            ),
        ]
    }

    /// Makes every day's rows, a week to a chunk, into `chunks`; the counts.
    fn run(mut self, chunks: std::sync::mpsc::SyncSender<Chunk>) -> Counts {
        let days: Vec<i64> = (self.calendar.first..=self.calendar.last).collect();
        let weights: Vec<f64> = days
            .iter()
            .enumerate()
            .map(|(i, &day)| {
                let trend = 0.75 + 0.5 * i as f64 / (days.len().max(2) - 1) as f64;
                let (_, month, _) = civil::ymd(day);
                let noise = 0.9 + 0.2 * self.rng.f64();
                trend * WEEKDAYS[civil::weekday(day)] * MONTHS[month as usize - 1] * noise
            })
            .collect();
        let total_weight: f64 = weights.iter().sum();
        let hours = cumulative(HOURS);
        let mut wanted = 0.0;
        let mut chunk = Chunk::default();
        for (i, &day) in days.iter().enumerate() {
            wanted += self.params.lines as f64 * weights[i] / total_weight;
            let per_order = if self.counts.orders > 100 {
                self.counts.lines as f64 / self.counts.orders as f64
            } else {
                2.9
            };
            let orders = ((wanted - self.counts.lines as f64) / per_order).round().max(0.0) as usize;
            let mut times = self.times(day, orders, &hours);
            for at in times.drain(..) {
                self.order(day, at, &mut chunk);
            }
            let browsing = (orders as f64 * (self.params.sessions_per_order - WITH_SESSION))
                .round()
                .max(0.0);
            for at in self.times(day, browsing as usize, &hours) {
                self.browse(at, &mut chunk);
            }
            chunk.through = day;
            if (i + 1) % 7 == 0 || day == self.calendar.last {
                chunk.counts = self.counts.clone();
                if chunks.send(std::mem::take(&mut chunk)).is_err() {
                    break;
                }
            }
        }
        self.counts
    }

    /// `n` instants of local day `day`, shaped by the hours, in order.
    fn times(&mut self, day: i64, n: usize, hours: &[f64]) -> Vec<i64> {
        let mut times: Vec<i64> = (0..n)
            .map(|_| {
                let hour = pick(&mut self.rng, hours);
                self.calendar.local(day, hour) + self.rng.range(0..3_600_000_000)
            })
            .collect();
        times.sort_unstable();
        times
    }

    fn customer(&mut self) -> Uuid {
        // Some customers come back far more often than others.
        let n = self.catalog.customers.len();
        let x = self.rng.f64();
        self.catalog.customers[((x.powf(1.6) * n as f64) as usize).min(n - 1)]
    }

    /// One order placed at `at` on local day `day`, with all that follows it.
    fn order(&mut self, day: i64, at: i64, chunk: &mut Chunk) {
        let end = self.calendar.end();
        let rng = &mut self.rng;
        let id = v7(rng, at);
        let paid = rng.bool(PAID);
        let customer = rng.bool(WITH_CUSTOMER).then_some(());
        let session = rng.bool(WITH_SESSION).then(|| v7(rng, at));
        let customer = customer.map(|()| self.customer());
        let rng = &mut self.rng;
        let table = customer.is_none() && session.is_none() && rng.bool(TABLES_OF_COUNTER_ORDERS);
        let kind = rng.f64();
        let mut lines = Vec::new();
        if !table && kind < ROOM_ORDERS {
            lines = self.stay(day, paid);
        } else if !table && kind < ROOM_ORDERS + TICKET_ORDERS {
            lines = self.seats(at, paid);
        }
        if lines.is_empty() {
            if !table && kind < ROOM_ORDERS + TICKET_ORDERS {
                self.counts.sold_out += 1;
            }
            lines = self.basket();
        }
        let rng = &mut self.rng;
        for line in &mut lines {
            line.id = v7(rng, at);
        }
        let party_size = table.then(|| rng.inclusive(1..=6));

        // A promotion on one order in five: its discount spread over the lines.
        let subtotal: i64 = lines.iter().map(Line::subtotal).sum();
        let mut promotion = None;
        if rng.bool(WITH_PROMOTION) {
            let mut which = rng.index(PROMOTIONS.len());
            if PROMOTIONS[which].1 == "fixed_amount" && subtotal < FIXED_MIN_SUBTOTAL {
                which = 0;
            }
            let (_, kind, value, _) = PROMOTIONS[which];
            if kind == "percentage" {
                for line in &mut lines {
                    line.discount = line.subtotal() * value / 10_000;
                }
            } else {
                for line in &mut lines {
                    line.discount = value * line.subtotal() / subtotal;
                }
                let spread: i64 = lines.iter().map(|l| l.discount).sum();
                if let Some(largest) = lines.iter_mut().max_by_key(|l| l.subtotal()) {
                    largest.discount += value - spread;
                }
            }
            if lines.iter().map(|l| l.discount).sum::<i64>() > 0 {
                promotion = Some(which);
            } else {
                lines.iter_mut().for_each(|l| l.discount = 0);
            }
        }
        let discount: i64 = lines.iter().map(|l| l.discount).sum();
        let total = subtotal - discount;

        // What happens to it: paid a few minutes later, or cancelled unpaid
        // by the expiry sweep half an hour later; some paid orders are
        // partly refunded days later, or cancelled.
        let placed_by = match customer {
            Some(customer) => format!("user:{customer}"),
            None => "key:secret".to_owned(),
        };
        let mut events: Vec<Event> = vec![(
            at,
            "created",
            None,
            "pending",
            0,
            "[]".to_owned(),
            placed_by.as_str(),
        )];
        let mut status = "pending";
        let (mut paid_minor, mut refunded_minor) = (0, 0);
        let mut paid_at = None;
        let mut voided: Vec<(usize, i64, i64)> = Vec::new();
        if paid {
            let when = (at + rng.range(10_000_000..900_000_000)).min(end - 1).max(at);
            paid_at = Some(when);
            events.push((
                when,
                "paid",
                Some("pending"),
                "paid",
                total,
                "[]".to_owned(),
                "key:secret",
            ));
            status = "paid";
            paid_minor = total;
            let fate = rng.f64();
            if fate < REFUNDED_OF_PAID {
                let refund_at = when + rng.range(MICROS_PER_DAY..30 * MICROS_PER_DAY);
                if refund_at < end {
                    let index = rng.index(lines.len());
                    let line = &mut lines[index];
                    let units = rng.inclusive(1..=line.quantity);
                    let amount = line.total() * units / line.quantity;
                    line.refunded_quantity = units;
                    line.refunded = amount;
                    let whole = lines.iter().all(|l| l.refunded_quantity == l.quantity);
                    let to = if whole { "refunded" } else { "paid" };
                    let json = format!(
                        "[{{\"line_id\": \"{}\", \"quantity\": {units}, \"amount_minor\": {amount}}}]",
                        lines[index].id
                    );
                    events.push((
                        refund_at,
                        "refunded",
                        Some("paid"),
                        to,
                        amount,
                        json,
                        "key:secret",
                    ));
                    status = to;
                    refunded_minor = amount;
                    voided.push((index, units, refund_at));
                    self.counts.refunded += 1;
                }
            } else if fate < REFUNDED_OF_PAID + CANCELLED_OF_PAID {
                let cancel_at = when + rng.range(3_600_000_000..3 * MICROS_PER_DAY);
                if cancel_at < end {
                    let json = lines
                        .iter()
                        .map(|l| {
                            format!(
                                "{{\"line_id\": \"{}\", \"quantity\": {}, \"amount_minor\": {}}}",
                                l.id,
                                l.quantity,
                                l.total()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    events.push((
                        cancel_at,
                        "cancelled",
                        Some("paid"),
                        "cancelled",
                        total,
                        format!("[{json}]"),
                        "key:secret",
                    ));
                    status = "cancelled";
                    refunded_minor = total;
                    for (index, line) in lines.iter().enumerate() {
                        voided.push((index, line.quantity, cancel_at));
                    }
                    self.counts.cancelled_after_payment += 1;
                }
            }
            self.counts.paid += 1;
        } else {
            let cancel_at = at + rng.range(1_800_000_000..1_860_000_000);
            if cancel_at < end {
                events.push((
                    cancel_at,
                    "cancelled",
                    Some("pending"),
                    "cancelled",
                    0,
                    "[]".to_owned(),
                    "system:expiry",
                ));
                status = "cancelled";
                self.counts.unpaid_cancelled += 1;
            } else {
                self.counts.pending += 1;
            }
        }

        let store = self.store.0;
        let updated = events.last().map_or(at, |e| e.0);
        self.order_number += 1;
        Row::new(&mut chunk.orders)
            .u(id)
            .u(store)
            .i(self.order_number)
            .ou(customer)
            .s(status)
            .s("EUR")
            .i(subtotal)
            .i(discount)
            .i(total)
            .i(paid_minor)
            .i(refunded_minor)
            .s(promotion.map_or("\\N", |p| PROMOTIONS[p].3))
            .s(&placed_by)
            .t(at)
            .t(updated)
            .ou(session)
            .oi(party_size)
            .end();
        for (position, line) in lines.iter().enumerate() {
            let variant = self.variant(line.kind);
            Row::new(&mut chunk.lines)
                .u(line.id)
                .u(store)
                .u(id)
                .i(position as i64 + 1)
                .u(variant.product)
                .u(variant.id)
                .s(&variant.sku)
                .s(&variant.title)
                .od(line.night)
                .i(line.quantity)
                .i(line.price)
                .i(line.subtotal())
                .i(line.discount)
                .i(line.total())
                .i(line.refunded_quantity)
                .i(line.refunded)
                .end();
            match line.kind {
                LineKind::Standard(..) => self.counts.standard_lines += 1,
                LineKind::Room(_) => self.counts.room_lines += 1,
                LineKind::Ticket(_) => self.counts.ticket_lines += 1,
            }
        }
        if let Some(p) = promotion {
            let (name, kind, _, code) = PROMOTIONS[p];
            Row::new(&mut chunk.discounts)
                .u(store)
                .u(id)
                .i(1)
                .u(self.catalog.promotions[p])
                .s(name)
                .s(kind)
                .s(code)
                .i(discount)
                .end();
            self.counts.with_promotion += 1;
            self.counts.order_discounts += 1;
        }
        for (when, kind, from, to, amount, json, actor) in &events {
            let event_id = v7(&mut self.rng, *when);
            Row::new(&mut chunk.events)
                .u(event_id)
                .u(store)
                .u(id)
                .s(kind)
                .s(from.unwrap_or("\\N"))
                .s(to)
                .i(*amount)
                .s(json)
                .s(actor)
                .t(*when)
                .end();
        }
        self.counts.order_events += events.len() as u64;

        // A code per seat of a paid ticket line: void once refunded or
        // cancelled, most checked in once the event has started.
        if let Some(issued) = paid_at {
            for (index, line) in lines.iter().enumerate() {
                let LineKind::Ticket(event) = line.kind else {
                    continue;
                };
                let starts = self.catalog.events[event].starts;
                let product = self.catalog.events[event].variant.product;
                let (void_units, voided_at) = voided
                    .iter()
                    .find(|(i, ..)| *i == index)
                    .map_or((0, None), |(_, units, at)| (*units, Some(*at)));
                for seat in 0..line.quantity {
                    let void = seat >= line.quantity - void_units;
                    let checked_in = !void && starts < end && self.rng.bool(0.9);
                    let code = self.ticket_code();
                    let ticket = v7(&mut self.rng, issued);
                    let checked_at = checked_in.then(|| starts - self.rng.range(0..3_600_000_000));
                    Row::new(&mut chunk.tickets)
                        .u(ticket)
                        .u(store)
                        .u(id)
                        .u(line.id)
                        .u(product)
                        .s(&code)
                        .s(if void {
                            "void"
                        } else if checked_in {
                            "checked_in"
                        } else {
                            "valid"
                        })
                        .t(issued)
                        .ot(checked_at)
                        .s(if checked_in { "key:secret" } else { "\\N" })
                        .ot(if void { voided_at } else { None })
                        .end();
                    self.counts.tickets += 1;
                }
            }
        }

        // The shop front's session the order came from: its start, the
        // product viewed, the cart, the checkout, just before the order.
        if let Some(session) = session {
            let first = &lines[0];
            let variant = self.variant(first.kind);
            let (product, variant, quantity) = (variant.product, variant.id, first.quantity);
            let rng = &mut self.rng;
            let started = (at - rng.range(180_000_000..2_400_000_000)).max(self.calendar.start());
            let mut steps: Vec<Step> = vec![("session_started", None, None, None, None, None)];
            if rng.bool(0.92) {
                steps.push(("product_viewed", Some(product), Some(variant), None, None, None));
                if rng.bool(0.3) {
                    steps.push(("product_viewed", Some(product), None, None, None, None));
                }
            }
            if rng.bool(0.88) {
                steps.push((
                    "added_to_cart",
                    Some(product),
                    Some(variant),
                    Some(quantity),
                    None,
                    None,
                ));
            }
            if rng.bool(0.80) {
                let items: i64 = lines.iter().map(|l| l.quantity).sum();
                steps.push(("checkout_started", None, None, None, Some(total), Some(items)));
            }
            let gap = (at - started) / steps.len() as i64;
            for (n, step) in steps.into_iter().enumerate() {
                let when = started + gap * n as i64 + self.rng.range(0..gap.max(1));
                self.storefront(session, customer, when.min(at - 1), step, chunk);
            }
            self.counts.sessions += 1;
            self.counts.with_session += 1;
        }
        self.counts.orders += 1;
        self.counts.lines += lines.len() as u64;
        self.counts.with_customer += u64::from(customer.is_some());
        self.counts.tables += u64::from(party_size.is_some());
    }

    /// A session of someone who bought nothing: most leave at once, some
    /// look at a product or two, a few get to the cart or the checkout.
    fn browse(&mut self, at: i64, chunk: &mut Chunk) {
        let rng = &mut self.rng;
        let session = v7(rng, at);
        let customer = rng.bool(0.2).then_some(());
        let customer = customer.map(|()| self.customer());
        let rng = &mut self.rng;
        let further = pick(rng, &cumulative([65.0, 20.0, 9.0, 4.0, 2.0]));
        let product = pick(rng, &self.catalog.popularity);
        let variant = &self.catalog.standard[product][0];
        let (product, variant, price) = (variant.product, variant.id, variant.price);
        let steps: Vec<Step> = [
            ("product_viewed", Some(product), Some(variant), None, None, None),
            ("added_to_cart", Some(product), Some(variant), Some(1), None, None),
            ("checkout_started", None, None, None, Some(price), Some(1)),
            ("product_viewed", Some(product), None, None, None, None),
        ]
        .into_iter()
        .take(further)
        .collect();
        self.storefront(
            session,
            customer,
            at,
            ("session_started", None, None, None, None, None),
            chunk,
        );
        let mut when = at;
        for step in steps {
            when += self.rng.range(5_000_000..180_000_000);
            self.storefront(session, customer, when.min(self.calendar.end() - 1), step, chunk);
        }
        self.counts.sessions += 1;
    }

    fn storefront(
        &mut self,
        session: Uuid,
        customer: Option<Uuid>,
        at: i64,
        (kind, product, variant, quantity, value, items): Step,
        chunk: &mut Chunk,
    ) {
        let id = v7(&mut self.rng, at);
        let received = at + self.rng.range(100_000..3_000_000);
        Row::new(&mut chunk.storefront)
            .u(self.store.0)
            .u(id)
            .s(kind)
            .u(session)
            .ou(customer)
            .t(at)
            .t(at)
            .s("f")
            .t(received)
            .ou(product)
            .ou(variant)
            .oi(quantity)
            .oi(value)
            .oi(items)
            .end();
        self.counts.storefront_events += 1;
    }

    fn variant(&self, kind: LineKind) -> &Variant {
        match kind {
            LineKind::Standard(product, variant) => &self.catalog.standard[product][variant],
            LineKind::Room(room) => &self.catalog.rooms[room],
            LineKind::Ticket(event) => &self.catalog.events[event].variant,
        }
    }

    /// 1–5 standard lines of distinct variants.
    fn basket(&mut self) -> Vec<Line> {
        let n = self.rng.index(5) + 1;
        let mut lines: Vec<Line> = Vec::with_capacity(n);
        while lines.len() < n {
            let product = pick(&mut self.rng, &self.catalog.popularity);
            let variant = usize::from(self.rng.bool(0.35));
            let kind = LineKind::Standard(product, variant);
            if lines.iter().any(|l| l.kind == kind) {
                continue;
            }
            let quantity = match self.rng.f64() {
                x if x < 0.7 => 1,
                x if x < 0.9 => 2,
                _ => self.rng.inclusive(3..=5),
            };
            lines.push(self.line(kind, None, quantity));
        }
        lines
    }

    fn line(&self, kind: LineKind, night: Option<i64>, quantity: i64) -> Line {
        Line {
            id: Uuid::nil(),
            kind,
            night,
            quantity,
            price: self.variant(kind).price,
            discount: 0,
            refunded_quantity: 0,
            refunded: 0,
        }
    }

    /// A stay of 1–5 nights in one room product, booked on local day `day`
    /// for a night 0–120 days ahead, if a room is free every night (none
    /// when five tries find none). Paid stays take the rooms.
    fn stay(&mut self, day: i64, paid: bool) -> Vec<Line> {
        if self.catalog.rooms.is_empty() {
            return Vec::new();
        }
        let nights = pick(&mut self.rng, &cumulative(STAY_NIGHTS)) as i64 + 1;
        let lead = ((-self.rng.f64().max(1e-9).ln() * 20.0) as i64).min(120);
        let arrival = day + lead;
        let rooms = if self.rng.bool(0.15) { 2 } else { 1 };
        let first = arrival - self.calendar.first;
        if first + nights > self.room_nights {
            return Vec::new();
        }
        let capacity = self.params.room_capacity as u16;
        for _ in 0..5 {
            let room = self.rng.index(self.catalog.rooms.len());
            let base = room * self.room_nights as usize;
            let free =
                (first..first + nights).all(|n| self.rooms_sold[base + n as usize] + rooms <= capacity);
            if free {
                if paid {
                    for n in first..first + nights {
                        self.rooms_sold[base + n as usize] += rooms;
                    }
                }
                return (0..nights)
                    .map(|n| self.line(LineKind::Room(room), Some(arrival + n), i64::from(rooms)))
                    .collect();
            }
        }
        Vec::new()
    }

    /// Seats for 1–2 events on sale at `at` (none when all are sold out).
    /// Paid orders take the seats.
    fn seats(&mut self, at: i64, paid: bool) -> Vec<Line> {
        let capacity = self.params.event_capacity;
        let on_sale: Vec<usize> = (0..self.catalog.events.len())
            .filter(|&e| {
                let event = &self.catalog.events[e];
                event.on_sale_from <= at && at < event.starts && self.seats_sold[e] < capacity
            })
            .collect();
        if on_sale.is_empty() {
            return Vec::new();
        }
        let wanted = if on_sale.len() > 1 && self.rng.bool(0.5) {
            2
        } else {
            1
        };
        let mut lines: Vec<Line> = Vec::new();
        while lines.len() < wanted {
            let event = on_sale[self.rng.index(on_sale.len())];
            if lines.iter().any(|l| l.kind == LineKind::Ticket(event)) {
                continue;
            }
            let seats = pick(&mut self.rng, &cumulative([30.0, 40.0, 15.0, 15.0])) as u32 + 1;
            let seats = seats.min(capacity - self.seats_sold[event]);
            if paid {
                self.seats_sold[event] += seats;
            }
            lines.push(self.line(LineKind::Ticket(event), None, i64::from(seats)));
        }
        lines
    }

    /// A ticket's code, as the API makes them: 4 groups of 5 of 32 characters.
    fn ticket_code(&mut self) -> String {
        const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut code = String::with_capacity(23);
        for i in 0..20 {
            if i > 0 && i % 5 == 0 {
                code.push('-');
            }
            code.push(char::from(ALPHABET[self.rng.index(32)]));
        }
        code
    }
}

/// What loading took and made.
pub struct Loaded {
    pub counts: Counts,
    pub catalog_seconds: f64,
    pub rows_seconds: f64,
    pub references_seconds: f64,
    pub vacuum_seconds: f64,
    pub database_bytes: i64,
    /// (table, rows, bytes with its indexes).
    pub tables: Vec<(String, i64, i64)>,
}

const ORDER_TABLES: [(&str, &str); 5] = [
    (
        "orders",
        "orders (id, store_id, number, customer_id, status, currency, subtotal_minor, discount_minor, \
         total_minor, paid_minor, refunded_minor, promotion_code, placed_by, created_at, updated_at, session_id, \
         party_size)",
    ),
    (
        "order_lines",
        "order_lines (id, store_id, order_id, position, product_id, variant_id, sku, title, night, quantity, \
         unit_price_minor, subtotal_minor, discount_minor, total_minor, refunded_quantity, refunded_minor)",
    ),
    (
        "order_discounts",
        "order_discounts (store_id, order_id, position, promotion_id, name, kind, code, amount_minor)",
    ),
    (
        "order_events",
        "order_events (id, store_id, order_id, kind, from_status, to_status, amount_minor, lines, actor, \
         created_at)",
    ),
    (
        "tickets",
        "tickets (id, store_id, order_id, line_id, product_id, code, status, issued_at, checked_in_at, \
         checked_in_by, voided_at)",
    ),
];

const STOREFRONT_TABLE: &str = "storefront_events (store_id, event_id, kind, session_id, customer_id, occurred_at, \
     client_occurred_at, clamped, received_at, product_id, variant_id, quantity, value_minor, item_count)";

async fn copy(conn: &mut PgConnection, table: &str, rows: &str) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table} FROM STDIN"))
        .await
        .with_context(|| format!("starting COPY {table}"))?;
    for piece in rows.as_bytes().chunks(1 << 20) {
        copy.send(piece).await?;
    }
    copy.finish().await.with_context(|| format!("COPY {table}"))?;
    Ok(())
}

/// COPYs `parts` (table with columns, rows) in one transaction.
async fn copy_all(conn: &mut PgConnection, parts: &[(&str, &String)]) -> Result<()> {
    let mut tx = conn.begin().await?;
    for (table, rows) in parts {
        copy(&mut tx, table, rows).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Makes and loads everything into the tenant database `database` of the
/// server at `admin_url`, as the superuser; then `VACUUM (ANALYZE)`.
pub async fn load(admin_url: &str, database: &str, generator: Generator) -> Result<Loaded> {
    let options: PgConnectOptions = admin_url.parse::<PgConnectOptions>()?.database(database);
    // Four connections, so that COPYs of different tables run side by
    // side: orders and their discounts; lines and tickets; order events;
    // storefront events. No foreign-key triggers on them (a lookup per row,
    // and the rows a reference needs may be in another connection's open
    // transaction): `check_references` checks every reference once the
    // rows are in, with one anti-join per foreign key.
    let mut conns = Vec::new();
    for _ in 0..4 {
        let mut conn = PgConnection::connect_with(&options).await?;
        sqlx::raw_sql("SET session_replication_role = replica")
            .execute(&mut conn)
            .await?;
        conns.push(conn);
    }
    let [
        mut orders_conn,
        mut lines_conn,
        mut events_conn,
        mut storefront_conn,
    ] = <[PgConnection; 4]>::try_from(conns).map_err(|_| anyhow::anyhow!("four connections"))?;
    let mut generator = generator;
    let started = Instant::now();
    let mut tx = orders_conn.begin().await?;
    for (table, rows) in generator.catalog_rows() {
        copy(&mut tx, table, &rows).await?;
    }
    tx.commit().await?;
    let catalog_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "==> Catalog: {} standard products × 2 variants in {} categories, {} rooms, {} events, {} customers \
         ({catalog_seconds:.1} s)",
        generator.params.products,
        generator.params.categories,
        generator.params.rooms,
        generator.params.events,
        generator.params.customers
    );

    let started = Instant::now();
    let calendar = generator.calendar.clone();
    let (sender, chunks) = std::sync::mpsc::sync_channel::<Chunk>(2);
    let making = std::thread::spawn(move || generator.run(sender));
    let mut last_report = Instant::now();
    // The generator makes the next week while this one loads.
    while let Ok(chunk) = tokio::task::block_in_place(|| chunks.recv()) {
        let [orders, lines, discounts, events, tickets] = ORDER_TABLES.map(|(_, table)| table);
        let orders_parts = [(orders, &chunk.orders), (discounts, &chunk.discounts)];
        let lines_parts = [(lines, &chunk.lines), (tickets, &chunk.tickets)];
        let events_parts = [(events, &chunk.events)];
        let storefront_parts = [(STOREFRONT_TABLE, &chunk.storefront)];
        tokio::try_join!(
            copy_all(&mut orders_conn, &orders_parts),
            copy_all(&mut lines_conn, &lines_parts),
            copy_all(&mut events_conn, &events_parts),
            copy_all(&mut storefront_conn, &storefront_parts),
        )?;
        if last_report.elapsed().as_secs() >= 15 || chunk.through == calendar.last {
            let c = &chunk.counts;
            let mut through = String::new();
            civil::write_date(&mut through, chunk.through);
            eprintln!(
                "    through {through}: {} orders, {} lines, {} order events, {} storefront events ({:.0} s)",
                c.orders,
                c.lines,
                c.order_events,
                c.storefront_events,
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    let counts = match making.join() {
        Ok(counts) => counts,
        Err(_) => bail!("the data generator panicked"),
    };
    sqlx::query("SELECT setval('order_numbers', $1)")
        .bind(1000 + counts.orders as i64)
        .execute(&mut orders_conn)
        .await?;
    let rows_seconds = started.elapsed().as_secs_f64();
    eprintln!("==> Rows loaded in {rows_seconds:.0} s; checking their references ...");
    let started = Instant::now();
    check_references(&mut orders_conn).await?;
    let references_seconds = started.elapsed().as_secs_f64();
    eprintln!("==> Every reference holds ({references_seconds:.0} s); VACUUM (ANALYZE) ...");
    let started = Instant::now();
    sqlx::raw_sql("VACUUM (ANALYZE)")
        .execute(&mut orders_conn)
        .await?;
    let vacuum_seconds = started.elapsed().as_secs_f64();
    let (database_bytes, tables) = sizes(&mut orders_conn).await?;
    Ok(Loaded {
        counts,
        catalog_seconds,
        rows_seconds,
        references_seconds,
        vacuum_seconds,
        database_bytes,
        tables,
    })
}

/// The foreign keys of the tables loaded without their triggers, as
/// (child, parent, join condition): each must find its row.
const REFERENCES: [(&str, &str, &str); 9] = [
    ("orders c", "users p", "p.id = c.customer_id"),
    (
        "order_lines c",
        "orders p",
        "p.store_id = c.store_id AND p.id = c.order_id",
    ),
    (
        "order_discounts c",
        "orders p",
        "p.store_id = c.store_id AND p.id = c.order_id",
    ),
    (
        "order_events c",
        "orders p",
        "p.store_id = c.store_id AND p.id = c.order_id",
    ),
    (
        "tickets c",
        "orders p",
        "p.store_id = c.store_id AND p.id = c.order_id",
    ),
    ("tickets c", "order_lines p", "p.id = c.line_id"),
    (
        "variants c",
        "products p",
        "p.store_id = c.store_id AND p.id = c.product_id",
    ),
    (
        "stock c",
        "variants p",
        "p.store_id = c.store_id AND p.id = c.variant_id",
    ),
    (
        "product_categories c",
        "categories p",
        "p.store_id = c.store_id AND p.id = c.category_id",
    ),
];

/// Fails when a row loaded refers to a row that is not there.
async fn check_references(conn: &mut PgConnection) -> Result<()> {
    for (child, parent, on) in REFERENCES {
        let nullable = if child.starts_with("orders") {
            "c.customer_id IS NOT NULL AND "
        } else {
            ""
        };
        let orphans: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {child} WHERE {nullable}NOT EXISTS (SELECT FROM {parent} WHERE {on})"
        )))
        .fetch_one(&mut *conn)
        .await?;
        if orphans > 0 {
            bail!("{orphans} rows of {child} refer to no row of {parent} ({on}): the generator is wrong");
        }
    }
    Ok(())
}

/// The database's size, and each table's rows (estimated after ANALYZE)
/// and bytes with its indexes, largest first.
pub async fn sizes(conn: &mut PgConnection) -> Result<(i64, Vec<(String, i64, i64)>)> {
    let database: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut *conn)
        .await?;
    let tables: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT c.relname::text, greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND pg_total_relation_size(c.oid) > 1000000 \
         ORDER BY 3 DESC",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok((database, tables))
}

/// The calendar of `days` local days in `zone` ending yesterday.
pub fn calendar(days: u32, zone: &str) -> Result<Calendar> {
    let tz = TimeZone::get(zone).with_context(|| format!("the time zone {zone}"))?;
    Calendar::ending_yesterday(days, tz)
}
