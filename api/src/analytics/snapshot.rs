//! What every report reads first, in its snapshot: the store's time zone (a
//! day is the store's day) and how far the fold has gone in it.
//!
//! Reports run in one REPEATABLE READ transaction
//! (`StoreCaller::snapshot`), so the mark read here, the rollups and the
//! facts past the mark are one committed state: a fold committing meanwhile
//! can neither be counted twice nor missed. The mark then goes into each
//! report query as a bound parameter, which PostgreSQL uses as a condition
//! on the `(store_id, xid)` index of the facts; read by a sub-select in the
//! same statement, under row-level security, it did not, and scanned them.

use crate::db::StoreTx;
use crate::error::ApiError;

/// The store's zone and the fold's mark in it.
pub struct Snapshot {
    pub time_zone: String,
    /// The rollups hold every fact of a transaction below this id, cut in
    /// `time_zone`; `None` when they hold nothing usable (never folded, or
    /// cut in a zone the store has left), and reports read every fact.
    /// Bound as `$n::xid8`: facts past it are `xid BETWEEN coalesce($n::xid8,
    /// '1') AND newest_xid()`, rollups are read only `WHERE $n::xid8 IS NOT NULL`.
    pub folded_below: Option<String>,
}

/// Reads the store's zone and mark, and sets the transaction up for
/// reports: its time zone the store's, so dates become the store's local
/// midnights and `date_trunc` cuts its local days, weeks and months.
pub async fn read(tx: &mut StoreTx) -> Result<Snapshot, ApiError> {
    // One round trip: the settings are made from the store's row as it is
    // read. Reports are short queries whose plans look costly on paper
    // (they could read much of a table, and then would): JIT compilation
    // and parallel workers cost them more than they save (measured at 10 M
    // order lines: 940 ms with them, 24 ms without, under load on 2 cores).
    // The few that group every customer of a period (RFM) get the memory to
    // do it without spilling to disk (at 2 M order lines: 128,000
    // customers, a hash table of 43 MB, where the default 4 MB spilled it in
    // 21 batches).
    let (time_zone, folded_below, isolation): (String, Option<String>, String) = sqlx::query_as(
        "SELECT s.timezone, p.folded_below::text, current_setting('transaction_isolation') \
         FROM stores s LEFT JOIN analytics_progress p ON p.store_id = s.id AND p.time_zone = s.timezone, \
            set_config('timezone', s.timezone, true) AS zone, set_config('jit', 'off', true) AS jit, \
            set_config('max_parallel_workers_per_gather', '0', true) AS workers, \
            set_config('work_mem', '64MB', true) AS memory \
         WHERE s.id = $1",
    )
    .bind(tx.store.id)
    .fetch_one(tx.conn())
    .await
    .map_err(|error| match error {
        // A zone the database does not know, above all.
        sqlx::Error::Database(_) => ApiError::Internal(format!(
            "reading the store's time zone and analytics mark, and setting the transaction to them, failed: {error}"
        )),
        other => other.into(),
    })?;
    if isolation != "repeatable read" {
        return Err(ApiError::Internal(format!(
            "a report ran in a {isolation} transaction: the mark and the rollups would be two snapshots"
        )));
    }
    Ok(Snapshot {
        time_zone,
        folded_below,
    })
}
