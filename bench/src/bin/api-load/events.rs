//! The events scenario: batches of 500 storefront events, as a shop front
//! sends them, against PostgreSQL's COPY of the same rows (the ceiling).
//!
//! Every batch is the same mix of a visit's events (a session, views, a
//! search, carts, a checkout) over the store's products, each event with an
//! id of its own: an id sent before would be a duplicate, which costs the
//! API a lookup but stores nothing. The ceiling COPYs rows with the same
//! values, 500 to a transaction, from as many connections as wrk has, as the
//! server's superuser: PostgreSQL refuses COPY FROM into a table under
//! row-level security to any role it applies to (and it is forced here), so
//! the ceiling is spared the per-row policy check the API's INSERT pays.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use sqlx::types::chrono::{DateTime, Utc};
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::store::Store;
use crate::{Load, Measurement};

/// Events per request (the API's most).
pub const BATCH: usize = 500;

/// One event of the batch, without its id: every request gives each event
/// a new one.
#[derive(Clone, Debug)]
pub struct EventTemplate {
    kind: &'static str,
    session: Uuid,
    product: Option<Uuid>,
    variant: Option<Uuid>,
    quantity: Option<i32>,
    query: Option<&'static str>,
    results: Option<i32>,
    value_minor: Option<i64>,
    items: Option<i32>,
}

/// The batch: 50 visits of 10 events each (a session, 4 views, a search,
/// 2 adds and a removal to a cart, a checkout), over the store's sample.
pub fn batch(store: &Store) -> Vec<EventTemplate> {
    let products = &store.sample;
    let variants: Vec<Uuid> = store
        .baskets
        .iter()
        .flatten()
        .map(|s| s.offer.variant_id.0)
        .collect();
    let none = EventTemplate {
        kind: "",
        session: Uuid::nil(),
        product: None,
        variant: None,
        quantity: None,
        query: None,
        results: None,
        value_minor: None,
        items: None,
    };
    (0..BATCH / 10)
        .flat_map(|visit| {
            let session = Uuid::new_v4();
            let product = |i: usize| Some(products[(visit * 7 + i) % products.len()].0);
            let variant = |i: usize| Some(variants[(visit * 5 + i) % variants.len()]);
            let event = |kind| EventTemplate {
                kind,
                session,
                ..none.clone()
            };
            vec![
                event("session_started"),
                EventTemplate {
                    product: product(0),
                    ..event("product_viewed")
                },
                EventTemplate {
                    product: product(1),
                    ..event("product_viewed")
                },
                EventTemplate {
                    query: Some("mug"),
                    results: Some(12),
                    ..event("search_performed")
                },
                EventTemplate {
                    product: product(2),
                    ..event("product_viewed")
                },
                EventTemplate {
                    variant: variant(0),
                    quantity: Some(1),
                    ..event("added_to_cart")
                },
                EventTemplate {
                    product: product(3),
                    ..event("product_viewed")
                },
                EventTemplate {
                    variant: variant(1),
                    quantity: Some(2),
                    ..event("added_to_cart")
                },
                EventTemplate {
                    variant: variant(0),
                    quantity: Some(1),
                    ..event("removed_from_cart")
                },
                EventTemplate {
                    value_minor: Some(4200),
                    items: Some(2),
                    ..event("checkout_started")
                },
            ]
        })
        .collect()
}

impl EventTemplate {
    /// The event as JSON, its id left as `%s` (for Lua's `string.format`).
    pub fn json_format(&self, at: DateTime<Utc>) -> String {
        let mut payload = serde_json::Map::new();
        let mut put = |name: &str, value: Option<serde_json::Value>| {
            if let Some(value) = value {
                payload.insert(name.to_owned(), value);
            }
        };
        put("product_id", self.product.map(|id| id.to_string().into()));
        put("variant_id", self.variant.map(|id| id.to_string().into()));
        put("quantity", self.quantity.map(Into::into));
        put("query", self.query.map(Into::into));
        put("results", self.results.map(Into::into));
        put("value_minor", self.value_minor.map(Into::into));
        put("items", self.items.map(Into::into));
        let event = serde_json::json!({
            "id": "%s", "kind": self.kind, "occurred_at": at.to_rfc3339(),
            "session_id": self.session, "payload": payload,
        });
        event.to_string()
    }

    /// The row the API stores for this event with id `id`, in COPY's text format.
    fn copy_row(&self, store: Uuid, id: Uuid, at: &str) -> String {
        fn cell(value: Option<impl ToString>) -> String {
            value.map_or_else(|| r"\N".to_owned(), |v| v.to_string())
        }
        [
            store.to_string(),
            id.to_string(),
            self.kind.to_owned(),
            self.session.to_string(),
            cell(None::<Uuid>),
            at.to_owned(),
            at.to_owned(),
            "f".to_owned(),
            cell(self.product),
            cell(self.variant),
            cell(self.quantity),
            cell(self.query),
            cell(self.results),
            cell(None::<&str>),
            cell(self.value_minor),
            cell(self.items),
        ]
        .join("\t")
    }
}

/// The batch as the body wrk sends, with new ids: the JSON of one request.
pub fn body(batch: &[EventTemplate], at: DateTime<Utc>) -> String {
    let events: Vec<String> = batch
        .iter()
        .map(|event| event.json_format(at).replace("%s", &Uuid::new_v4().to_string()))
        .collect();
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

/// The ceiling: `load.connections` connections COPY batches of the same
/// rows into the store's table for `load.seconds`, one transaction each; a
/// measurement of batches. `admin_url` is the server's superuser.
pub async fn copy_ceiling(
    admin_url: &str,
    store: &Store,
    batch: &[EventTemplate],
    load: &Load,
) -> Result<Measurement> {
    let options = PgConnectOptions::from_str(admin_url)?.database(&store.runtime.database);
    let deadline = Instant::now() + Duration::from_secs(load.seconds);
    let started = Instant::now();
    let clients = (0..load.connections).map(|_| copy_until(&options, store, batch, deadline));
    let mut latencies: Vec<Duration> = futures::future::try_join_all(clients)
        .await?
        .into_iter()
        .flatten()
        .collect();
    let elapsed = started.elapsed();
    ensure!(!latencies.is_empty(), "COPY stored no batch");
    latencies.sort_unstable();
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p / 100.0).round() as usize];
    Ok(Measurement {
        count: latencies.len() as u64,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(50.0),
        p99: at(99.0),
    })
}

/// One connection's batches until `deadline`: how long each took.
async fn copy_until(
    options: &PgConnectOptions,
    store: &Store,
    batch: &[EventTemplate],
    deadline: Instant,
) -> Result<Vec<Duration>> {
    let mut conn = PgConnection::connect_with(options)
        .await
        .context("connecting to the tenant database as the superuser for COPY")?;
    let at = Utc::now().to_rfc3339();
    let store_id = store.id.0;
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let rows: String = batch
            .iter()
            .map(|event| event.copy_row(store_id, Uuid::new_v4(), &at) + "\n")
            .collect();
        let start = Instant::now();
        let mut tx = conn.begin().await?;
        let mut copy = tx
            .copy_in_raw(
                "COPY storefront_events (store_id, event_id, kind, session_id, customer_id, occurred_at, \
                 client_occurred_at, clamped, product_id, variant_id, quantity, search_query, result_count, \
                 referrer, value_minor, item_count) FROM STDIN",
            )
            .await?;
        copy.send(rows.as_bytes()).await?;
        copy.finish().await?;
        tx.commit().await?;
        latencies.push(start.elapsed());
    }
    Ok(latencies)
}
