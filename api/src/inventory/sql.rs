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
/// Ordered by product, variant and night: the order pools are locked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pool {
    pub product: ProductId,
    pub variant: Option<VariantId>,
    pub night: Option<NaiveDate>,
    /// Capacity for tickets and room nights; nothing for goods until received.
    pub initial: i32,
}

impl Pool {
    /// The pool a sale of `variant` (a product of `kind`) draws from; why not
    /// when `night` does not fit the kind (the caller names the field).
    pub fn of(
        kind: Kind,
        product: ProductId,
        variant: VariantId,
        capacity: Option<i32>,
        night: Option<NaiveDate>,
    ) -> Result<Self, &'static str> {
        let capacity = capacity.unwrap_or(0);
        match (kind, night) {
            (Kind::Standard, None) => Ok(Self {
                product,
                variant: Some(variant),
                night: None,
                initial: 0,
            }),
            (Kind::Ticket, None) => Ok(Self {
                product,
                variant: None,
                night: None,
                initial: capacity,
            }),
            (Kind::RoomNight, Some(night)) => Ok(Self {
                product,
                variant: None,
                night: Some(night),
                initial: capacity,
            }),
            (Kind::RoomNight, None) => Err("is required: room-night stock is kept per night"),
            (_, Some(_)) => Err("only room nights have stock per night"),
        }
    }
}

/// The pool of `variant` (on `night`, for room nights); 404 for an unknown
/// variant, 422 when `night` does not fit the product's kind.
pub async fn pool_of_variant(
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
    Pool::of(kind, product, variant, capacity, night)
        .map_err(|detail| ApiError::Validation(vec![FieldError::new("night", detail)]))
}

/// The id of `pool`'s stock row, made on first use.
pub async fn ensure_stock_row(tx: &mut StoreTx, pool: &Pool) -> Result<uuid::Uuid, ApiError> {
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

/// Adds `delta` to on-hand stock, unless that would leave less than is
/// reserved, or more than a count holds (409 naming `delta`).
pub async fn adjust_on_hand(tx: &mut StoreTx, stock: uuid::Uuid, delta: i32) -> Result<StockLevel, ApiError> {
    let adjusted: Option<StockLevel> = sqlx::query_as(concat!(
        "UPDATE stock SET on_hand = on_hand + $2, updated_at = now() \
         WHERE id = $1 AND on_hand::bigint + $2 BETWEEN reserved AND 2147483647 RETURNING ",
        level_columns!()
    ))
    .bind(stock)
    .bind(delta)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(level) = adjusted {
        return Ok(level);
    }
    let level = level(tx, stock).await?;
    let after = i64::from(level.on_hand) + i64::from(delta);
    Err(ApiError::conflict(
        "delta",
        if after > i64::from(i32::MAX) {
            format!("would take on-hand stock past {}", i32::MAX)
        } else {
            format!(
                "would leave {after} on hand with {} reserved by open orders",
                level.reserved
            )
        },
    ))
}

/// What reserving stock for an order found.
pub enum Reservation {
    /// Held in this pool (a stock row's id).
    Held(uuid::Uuid),
    /// Not enough: this many were available.
    Short { available: i32 },
}

/// Holds `quantity` units of `pool` for an order, unless fewer are available.
/// The check and the change are one conditional UPDATE, so concurrent buyers
/// of the last units cannot both get them; the row stays locked until the
/// order commits. Lock pools in one global order (see `orders`) to avoid deadlocks.
pub async fn reserve_units(tx: &mut StoreTx, pool: &Pool, quantity: i32) -> Result<Reservation, ApiError> {
    // A standard variant's pool holds nothing until stock is received, so
    // only capacity pools are made on first sale.
    if pool.initial > 0 {
        ensure_stock_row(tx, pool).await?;
    }
    let store = tx.store.id;
    let held: Option<uuid::Uuid> = sqlx::query_scalar(RESERVE)
        .bind(store)
        .bind(pool.product)
        .bind(pool.variant)
        .bind(pool.night)
        .bind(quantity)
        .fetch_optional(tx.conn())
        .await?;
    if let Some(stock) = held {
        return Ok(Reservation::Held(stock));
    }
    let available: Option<i32> = sqlx::query_scalar(
        "SELECT on_hand - reserved FROM stock WHERE store_id = $1 AND product_id = $2 \
         AND variant_id IS NOT DISTINCT FROM $3 AND night IS NOT DISTINCT FROM $4",
    )
    .bind(store)
    .bind(pool.product)
    .bind(pool.variant)
    .bind(pool.night)
    .fetch_optional(tx.conn())
    .await?;
    Ok(Reservation::Short {
        available: available.unwrap_or(0),
    })
}

/// Reserves $5 units of the pool ($1 store, $2 product, $3 variant, $4 night)
/// if they are available, returning the stock row's id. Public for the benchmark.
pub const RESERVE: &str = "UPDATE stock SET reserved = reserved + $5, updated_at = now() \
     WHERE store_id = $1 AND product_id = $2 AND variant_id IS NOT DISTINCT FROM $3 \
     AND night IS NOT DISTINCT FROM $4 AND on_hand - reserved >= $5 RETURNING id";

/// How an order's units leave their reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// The order will not take them (cancelled, or refunded before shipping).
    Release,
    /// They left the store (fulfilled).
    Ship,
    /// They came back (refunded after shipping).
    Restock,
}

/// Locks stock rows `stocks` in the global pool order (product, variant,
/// night, as [`Pool`] orders them and as orders reserve them), and returns
/// them in that order. Whatever then changes them in any order cannot
/// deadlock with an order being placed.
pub async fn lock_in_pool_order(
    tx: &mut StoreTx,
    stocks: &[uuid::Uuid],
) -> Result<Vec<uuid::Uuid>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM stock WHERE id = ANY($1) \
         ORDER BY product_id, variant_id NULLS FIRST, night NULLS FIRST FOR UPDATE",
    )
    .bind(stocks)
    .fetch_all(tx.conn())
    .await?)
}

/// Moves `quantity` units of stock row `stock` as `movement` says.
pub async fn move_units(
    tx: &mut StoreTx,
    stock: uuid::Uuid,
    quantity: i32,
    movement: Movement,
) -> Result<(), ApiError> {
    let statement = match movement {
        Movement::Release => "UPDATE stock SET reserved = reserved - $2, updated_at = now() WHERE id = $1",
        Movement::Ship => {
            "UPDATE stock SET on_hand = on_hand - $2, reserved = reserved - $2, updated_at = now() WHERE id = $1"
        }
        Movement::Restock => "UPDATE stock SET on_hand = on_hand + $2, updated_at = now() WHERE id = $1",
    };
    sqlx::query(statement)
        .bind(stock)
        .bind(quantity)
        .execute(tx.conn())
        .await?;
    Ok(())
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
pub async fn list_stock_levels(
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
pub async fn list_stock_adjustments(
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
