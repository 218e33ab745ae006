//! Orders nobody pays are cancelled after a while, so an abandoned checkout
//! does not hold stock for ever. Every replica sweeps each store once a
//! minute; the orders it cancels are locked with `SKIP LOCKED`, so replicas
//! sweeping at once never cancel one order twice or wait on each other.

use std::time::Duration;

use actix_web::web;

use super::change::{self, Request};
use super::sql;
use crate::auth::StoreRole;
use crate::error::ApiError;
use crate::ids::StoreId;
use crate::state::State;

/// Who cancels an expired order, in its history.
pub const ACTOR: &str = "system:expiry";

/// How often a replica looks for expired orders.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Orders cancelled per store and transaction.
const BATCH: i64 = 100;

/// Sweeps every minute, for as long as the process runs.
pub fn spawn(state: web::Data<State>, ttl: Duration) {
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            match sweep(&state, ttl).await {
                Ok(Swept { expired: 0, .. }) => {}
                Ok(Swept { expired, .. }) => tracing::info!(expired, "cancelled unpaid orders"),
                Err(error) => {
                    tracing::warn!(%error, "listing the stores to sweep failed; retrying in a minute")
                }
            }
        }
    });
}

/// What a sweep did.
#[derive(Debug, PartialEq, Eq)]
pub struct Swept {
    /// Orders cancelled.
    pub expired: usize,
    /// Stores it could not sweep (logged and counted; the others were swept).
    pub failed_stores: usize,
}

/// Cancels the pending orders of every active store placed more than `ttl`
/// ago, releasing their stock. A store that fails is logged, counted in
/// `shopfleet_api_order_expiry_failures_total` and skipped, so one broken
/// store does not hold every other store's stock.
pub async fn sweep(state: &State, ttl: Duration) -> Result<Swept, ApiError> {
    let mut swept = Swept {
        expired: 0,
        failed_stores: 0,
    };
    for store in state.db.active_stores().await? {
        match sweep_store(state, store, ttl).await {
            Ok(expired) => swept.expired += expired,
            Err(error) => {
                tracing::warn!(%store, %error, "sweeping a store's unpaid orders failed; retrying in a minute");
                state.metrics.expiry_failed();
                swept.failed_stores += 1;
            }
        }
    }
    Ok(swept)
}

/// Cancels one store's expired orders, a batch per transaction; returns how many.
async fn sweep_store(state: &State, store: StoreId, ttl: Duration) -> Result<usize, ApiError> {
    let note = format!("not paid within {} minutes", ttl.as_secs() / 60);
    let mut expired = 0;
    loop {
        // The sweep acts as the store's staff: it is no request, so it
        // opens the store's transaction itself rather than through a caller.
        let mut tx = state.db.store(store).await?;
        let due = sql::due_for_expiry(&mut tx, ttl, BATCH).await?;
        let mut done = Vec::with_capacity(due.len());
        for id in &due {
            done.push(change::apply(&mut tx, *id, StoreRole::Staff, Request::Cancel, &note, ACTOR).await?);
        }
        tx.commit().await?;
        for change in &done {
            state
                .metrics
                .order_event(change.event, &change.order.currency, change.amount);
        }
        expired += done.len();
        if (due.len() as i64) < BATCH {
            return Ok(expired);
        }
    }
}
