//! Reports count in the store's time zone: a day is the store's day.

use crate::db::StoreTx;
use crate::error::ApiError;

/// Sets the transaction's time zone to the store's, so dates become its
/// local midnights and `date_trunc` cuts its local days, weeks and months;
/// returns the zone's name.
pub async fn use_store_zone(tx: &mut StoreTx) -> Result<String, ApiError> {
    let zone: String = sqlx::query_scalar("SELECT timezone FROM stores WHERE id = $1")
        .bind(tx.store.id)
        .fetch_one(tx.conn())
        .await?;
    sqlx::query("SELECT set_config('timezone', $1, true)")
        .bind(&zone)
        .execute(tx.conn())
        .await
        .map_err(|error| {
            ApiError::Internal(format!(
                "the database does not know the store's time zone {zone:?}: {error}"
            ))
        })?;
    Ok(zone)
}
