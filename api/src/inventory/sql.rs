//! The inventory's SQL, inside a store's transaction (RLS limits it to the store).

use chrono::NaiveDate;

use super::model::{Adjustment, Reason, StockLevel};
use crate::catalog::model::Kind;
use crate::db::StoreTx;
use crate::error::{ApiError, FieldError};
use crate::ids::{ProductId, VariantId};

/// The columns of a [`StockLevel`], for `concat!`.
macro_rules! level_columns {
    () => {
        "id, product_id, variant_id, night, on_hand, reserved, on_hand - reserved AS available, updated_at"
    };
}

/// The columns of an [`Adjustment`], for `concat!`.
macro_rules! adjustment_columns {
    () => {
        "id, stock_id, delta, on_hand_after, reason, note, actor, created_at"
    };
}

/// Which pool a sale of a variant draws from, and what a new one starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub product: ProductId,
    pub variant: Option<VariantId>,
    pub night: Option<NaiveDate>,
    /// Capacity for tickets and room nights; nothing for goods until received.
    pub initial: i32,
}

/// The pool of `variant` (on `night`, for room nights); 404 for an unknown
/// variant, 422 when `night` does not fit the product's kind.
pub async fn pool_of(
    tx: &mut StoreTx,
    variant: VariantId,
    night: Option<NaiveDate>,
) -> Result<Pool, ApiError> {
    let found: Option<(ProductId, Kind, Option<i32>)> = sqlx::query_as(
        "SELECT p.id, p.kind, p.capacity FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id = $1",
    )
    .bind(variant)
    .fetch_optional(tx.conn())
    .await?;
    let (product, kind, capacity) =
        found.ok_or_else(|| ApiError::NotFound(format!("variant {variant} does not exist")))?;
    let wrong_night = |detail: &str| ApiError::Validation(vec![FieldError::new("night", detail)]);
    let capacity = capacity.unwrap_or(0);
    match (kind, night) {
        (Kind::Standard, None) => Ok(Pool {
            product,
            variant: Some(variant),
            night: None,
            initial: 0,
        }),
        (Kind::Ticket, None) => Ok(Pool {
            product,
            variant: None,
            night: None,
            initial: capacity,
        }),
        (Kind::RoomNight, Some(night)) => Ok(Pool {
            product,
            variant: None,
            night: Some(night),
            initial: capacity,
        }),
        (Kind::RoomNight, None) => Err(wrong_night("is required: room-night stock is kept per night")),
        (_, Some(_)) => Err(wrong_night("only room nights have stock per night")),
    }
}

/// The id of `pool`'s stock row, made on first use.
pub async fn ensure_pool(tx: &mut StoreTx, pool: &Pool) -> Result<uuid::Uuid, ApiError> {
    let store = tx.store.id;
    let made: Option<uuid::Uuid> = sqlx::query_scalar(
        "INSERT INTO stock (id, store_id, product_id, variant_id, night, on_hand) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(store)
    .bind(pool.product)
    .bind(pool.variant)
    .bind(pool.night)
    .bind(pool.initial)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(id) = made {
        return Ok(id);
    }
    Ok(sqlx::query_scalar(
        "SELECT id FROM stock WHERE store_id = $1 AND product_id = $2 \
         AND variant_id IS NOT DISTINCT FROM $3 AND night IS NOT DISTINCT FROM $4",
    )
    .bind(store)
    .bind(pool.product)
    .bind(pool.variant)
    .bind(pool.night)
    .fetch_one(tx.conn())
    .await?)
}

/// Adds `delta` to on-hand stock, unless that would leave less than is reserved (409).
pub async fn adjust(tx: &mut StoreTx, stock: uuid::Uuid, delta: i32) -> Result<StockLevel, ApiError> {
    let adjusted: Option<StockLevel> = sqlx::query_as(concat!(
        "UPDATE stock SET on_hand = on_hand + $2, updated_at = now() \
         WHERE id = $1 AND on_hand + $2 >= reserved RETURNING ",
        level_columns!()
    ))
    .bind(stock)
    .bind(delta)
    .fetch_optional(tx.conn())
    .await?;
    match adjusted {
        Some(level) => Ok(level),
        None => {
            let level = level(tx, stock).await?;
            Err(ApiError::conflict(
                "delta",
                format!(
                    "would leave {} on hand with {} reserved by open orders",
                    level.on_hand + delta,
                    level.reserved
                ),
            ))
        }
    }
}

async fn level(tx: &mut StoreTx, stock: uuid::Uuid) -> Result<StockLevel, ApiError> {
    Ok(
        sqlx::query_as(concat!("SELECT ", level_columns!(), " FROM stock WHERE id = $1"))
            .bind(stock)
            .fetch_one(tx.conn())
            .await?,
    )
}

pub async fn record_adjustment(
    tx: &mut StoreTx,
    level: &StockLevel,
    delta: i32,
    reason: Reason,
    note: &str,
    actor: &str,
) -> Result<Adjustment, ApiError> {
    let store = tx.store.id;
    Ok(sqlx::query_as(concat!(
        "INSERT INTO stock_adjustments (id, store_id, stock_id, delta, on_hand_after, reason, note, actor) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
        adjustment_columns!()
    ))
    .bind(uuid::Uuid::now_v7())
    .bind(store)
    .bind(level.id)
    .bind(delta)
    .bind(level.on_hand)
    .bind(reason)
    .bind(note)
    .bind(actor)
    .fetch_one(tx.conn())
    .await?)
}

/// A page of stock levels (`limit + 1` rows), newest pools first, optionally of one product.
pub async fn list_levels(
    tx: &mut StoreTx,
    product: Option<ProductId>,
    after: Option<uuid::Uuid>,
    limit: i64,
) -> Result<Vec<StockLevel>, ApiError> {
    let store = tx.store.id;
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        level_columns!(),
        " FROM stock WHERE store_id = $1 AND ($2::uuid IS NULL OR product_id = $2) \
         AND ($3::uuid IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    ))
    .bind(store)
    .bind(product)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?)
}

/// A page of adjustments (`limit + 1` rows), newest first, optionally of one pool.
pub async fn list_adjustments(
    tx: &mut StoreTx,
    stock: Option<uuid::Uuid>,
    after: Option<uuid::Uuid>,
    limit: i64,
) -> Result<Vec<Adjustment>, ApiError> {
    let store = tx.store.id;
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        adjustment_columns!(),
        " FROM stock_adjustments WHERE store_id = $1 AND ($2::uuid IS NULL OR stock_id = $2) \
         AND ($3::uuid IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    ))
    .bind(store)
    .bind(stock)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?)
}
