//! The SQL of storefront events.

use std::collections::HashSet;

use uuid::Uuid;

use super::model::Event;
use crate::db::StoreTx;
use crate::error::ApiError;

/// Stores the events whose id the store has not stored before, in one
/// statement; returns the ids stored now. An id repeated within `events`
/// is stored once (its first occurrence).
pub async fn insert_new_events(tx: &mut StoreTx, events: &[&Event]) -> Result<HashSet<Uuid>, ApiError> {
    let store = tx.store.id;
    let stored: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO storefront_events (store_id, event_id, kind, session_id, customer_id, occurred_at, \
         client_occurred_at, clamped, product_id, variant_id, quantity, search_query, result_count, referrer, \
         value_minor, item_count) \
         SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::timestamptz[], \
         $7::timestamptz[], $8::bool[], $9::uuid[], $10::uuid[], $11::int[], $12::text[], $13::int[], $14::text[], \
         $15::bigint[], $16::int[]) \
         ON CONFLICT (store_id, event_id) DO NOTHING RETURNING event_id",
    )
    .bind(store)
    .bind(column(events, |e| e.id))
    .bind(column(events, |e| e.kind.as_str()))
    .bind(column(events, |e| e.session_id))
    .bind(column(events, |e| e.customer_id))
    .bind(column(events, |e| e.occurred_at))
    .bind(column(events, |e| e.client_time))
    .bind(column(events, |e| e.clamped))
    .bind(column(events, |e| e.payload.product_id))
    .bind(column(events, |e| e.payload.variant_id))
    .bind(column(events, |e| e.payload.quantity))
    .bind(column(events, |e| e.payload.query.as_deref()))
    .bind(column(events, |e| e.payload.results))
    .bind(column(events, |e| e.payload.referrer.as_deref()))
    .bind(column(events, |e| e.payload.value_minor))
    .bind(column(events, |e| e.payload.items))
    .fetch_all(tx.conn())
    .await?;
    Ok(stored.into_iter().collect())
}

/// One column of `events`, as an array to bind.
fn column<'e, T>(events: &[&'e Event], field: impl Fn(&'e Event) -> T) -> Vec<T> {
    events.iter().map(|event| field(event)).collect()
}
