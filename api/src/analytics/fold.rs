//! The fold: adds the facts of finished transactions to the rollups, per
//! store, and records how far it got. Every replica folds every few seconds;
//! a store another replica is folding is skipped. Queries are exact whether
//! or not the fold has run (they add the facts past its mark); folding only
//! keeps that tail short. The same fold from the start rebuilds a store's
//! rollups from its raw rows (`shopfleet-api rebuild-analytics`).
//!
//! Crash safety: the fold's writes and its mark commit in one transaction,
//! which reads one snapshot (REPEATABLE READ). The mark it records is that
//! snapshot's xmin: every transaction below it had finished when the
//! snapshot was taken, so the facts below the mark are exactly the ones the
//! fold saw, and none can appear there later.

use std::time::Duration;

use actix_web::web;

use super::rollup::Rollup;
use crate::db::{Db, StoreTx};
use crate::error::ApiError;
use crate::ids::StoreId;
use crate::state::State;

/// How often a replica folds.
const FOLD_EVERY: Duration = Duration::from_secs(5);

/// What a fold of one store did.
#[derive(Debug, PartialEq, Eq)]
pub enum Folded {
    /// The rollups hold every fact below the mark, cut in the store's zone.
    UpTo,
    /// Another replica was folding the store: left to it.
    Busy,
}

/// From where a fold starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// Where the last fold stopped (or from the start, when there was none
    /// or the store's time zone changed since).
    LastMark,
    /// From the start, whatever is there: a rebuild.
    Start,
}

/// Folds every active store every few seconds, for as long as the process runs.
pub fn spawn(state: web::Data<State>) {
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(FOLD_EVERY);
        loop {
            every.tick().await;
            if let Err(error) = fold_all(&state).await {
                tracing::warn!(%error, "listing the stores to fold failed; retrying");
            }
        }
    });
}

/// Folds every active store. A store that fails is logged, counted in
/// `shopfleet_api_analytics_fold_failures_total` and retried next time (its
/// reports stay exact, reading a longer tail meanwhile).
pub async fn fold_all(state: &State) -> Result<(), ApiError> {
    for store in state.db.active_stores().await? {
        if let Err(error) = fold(&state.db, store, From::LastMark).await {
            tracing::warn!(%store, %error, "folding a store's analytics failed; retrying");
            state.metrics.analytics_fold_failed();
        }
    }
    Ok(())
}

/// Folds the facts of `store` that finished since the last fold (or all of
/// them, from `From::Start`) into its rollups, in one transaction.
pub async fn fold(db: &Db, store: StoreId, from: From) -> Result<Folded, ApiError> {
    for _ in 0..2 {
        let mut tx = db.store_snapshot(store).await?;
        match fold_in(&mut tx, from).await {
            Ok(true) => {
                // REPEATABLE READ fails at the statement, never at commit.
                tx.commit().await?;
                return Ok(Folded::UpTo);
            }
            // A store's first fold: its mark's row is made (once, by
            // whichever replica comes first) before any fold begins, so
            // that folds always meet on that row and never fold side by side.
            Ok(false) => {
                drop(tx);
                let mut tx = db.store(store).await?;
                sqlx::query(
                    "INSERT INTO analytics_progress (store_id, folded_below, time_zone) \
                     SELECT id, '1', timezone FROM stores WHERE id = $1 ON CONFLICT (store_id) DO NOTHING",
                )
                .bind(store)
                .execute(tx.conn())
                .await?;
                tx.commit().await?;
            }
            Err(error) if another_fold_holds_it(&error) => return Ok(Folded::Busy),
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::Internal(format!(
        "store {store} has no analytics mark after making one"
    )))
}

/// The fold in `tx`; false, having done nothing, when the store has no mark yet.
async fn fold_in(tx: &mut StoreTx, from: From) -> Result<bool, sqlx::Error> {
    let store = tx.store.id;
    // The first statement takes the snapshot; NOWAIT: a replica folding
    // this store now makes this one give up rather than queue. A fold that
    // committed after this snapshot was taken makes the lock fail too (a
    // serialization error), so no two folds ever add the same facts.
    let Some((folded_below, folded_zone)): Option<(String, String)> = sqlx::query_as(
        "SELECT folded_below::text, time_zone FROM analytics_progress WHERE store_id = $1 FOR UPDATE NOWAIT",
    )
    .bind(store)
    .fetch_optional(tx.conn())
    .await?
    else {
        return Ok(false);
    };
    // No JIT: a fold's statements look costly on paper (their plans could
    // read much of a table) but read the few facts of 5 seconds, and would
    // compile each statement of each store at every fold.
    let (zone, horizon): (String, String) = sqlx::query_as(
        "SELECT timezone, pg_snapshot_xmin(pg_current_snapshot())::text FROM stores, \
         set_config('jit', 'off', true) WHERE id = $1",
    )
    .bind(store)
    .fetch_one(tx.conn())
    .await?;
    let below = match from {
        From::LastMark if folded_zone == zone => folded_below,
        _ => {
            for table in ROLLUPS.iter().flat_map(|rollup| rollup.tables) {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE store_id = $1"
                )))
                .bind(store)
                .execute(tx.conn())
                .await?;
            }
            "1".to_owned()
        }
    };
    for rollup in ROLLUPS {
        sqlx::query(rollup.fold)
            .bind(store)
            .bind(&below)
            .bind(&horizon)
            .bind(&zone)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query(
        "UPDATE analytics_progress SET folded_below = $2::xid8, time_zone = $3, folded_at = now() \
         WHERE store_id = $1",
    )
    .bind(store)
    .bind(&horizon)
    .bind(&zone)
    .execute(tx.conn())
    .await?;
    Ok(true)
}

/// Every rollup, in the order they are folded.
const ROLLUPS: [&Rollup; 10] = [
    &super::sales::ROLLUP,
    &super::products::DAY_ROLLUP,
    &super::products::WEEK_ROLLUP,
    &super::products::MONTH_ROLLUP,
    &super::funnel::ROLLUP,
    &super::hospitality::NIGHTS_ROLLUP,
    &super::hospitality::STAYS_ROLLUP,
    // Before `ROLLUP`: it reads the customers' orders as folded so far.
    &super::customers::COUNTS_ROLLUP,
    &super::customers::ROLLUP,
    &super::promotions::ROLLUP,
];

/// A serialization failure (another fold committed since this snapshot),
/// a lock held (another fold is running) or a deadlock with one: not an
/// error, just not this fold's turn.
fn another_fold_holds_it(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|error| error.code())
        .is_some_and(|code| ["40001", "55P03", "40P01"].contains(&code.as_ref()))
}
