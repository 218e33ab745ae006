//! The promotions' SQL, inside a store's transaction (RLS limits it to the store).

use super::model::{PromotionRequest, PromotionRow};
use crate::db::StoreTx;
use crate::error::{ApiError, FieldError, unique_violation};
use crate::ids::{PromotionId, UserId};

/// The columns of a [`PromotionRow`], for `concat!`.
macro_rules! promotion_columns {
    () => {
        "id, name, kind, basis_points, amount_minor, buy_quantity, get_quantity, free_variant_id, \
         free_quantity, code, min_subtotal_minor, product_ids, category_ids, customer_ids, starts_at, \
         ends_at, usage_limit, times_used, per_customer_limit, stackable, priority, active, version, \
         created_at, updated_at"
    };
}

/// The columns a promotion request sets, for `concat!`.
macro_rules! field_columns {
    () => {
        "name, kind, basis_points, amount_minor, buy_quantity, get_quantity, free_variant_id, free_quantity, \
         code, min_subtotal_minor, product_ids, category_ids, customer_ids, starts_at, ends_at, usage_limit, \
         per_customer_limit, stackable, priority, active"
    };
}

/// The promotions an order may use ($1 the store, $2 its customer, $3 its
/// code): the active automatic ones and the one with the code, each with
/// how often the customer used it. Public for the benchmark.
pub const CANDIDATES: &str = concat!(
    "SELECT ",
    promotion_columns!(),
    ", coalesce((SELECT uses FROM promotion_redemptions r WHERE r.promotion_id = p.id AND r.customer_id = $2), 0) \
     AS customer_uses FROM promotions p WHERE store_id = $1 AND active \
     AND (code IS NULL OR lower(code) = lower($3))"
);

#[derive(sqlx::FromRow)]
pub struct Candidate {
    #[sqlx(flatten)]
    pub row: PromotionRow,
    pub customer_uses: i32,
}

pub async fn candidates_for_order(
    tx: &mut StoreTx,
    customer: Option<UserId>,
    code: Option<&str>,
) -> Result<Vec<Candidate>, ApiError> {
    let store = tx.store.id;
    Ok(sqlx::query_as(CANDIDATES)
        .bind(store)
        .bind(customer)
        .bind(code.map(str::trim))
        .fetch_all(tx.conn())
        .await?)
}

/// Counts one use of `promotion` by `customer`, if its limits allow one
/// more; false when a concurrent order took the last use. Only limited
/// promotions are counted, so unlimited ones lock nothing.
pub async fn count_use(
    tx: &mut StoreTx,
    promotion: &PromotionRow,
    customer: Option<UserId>,
) -> Result<bool, ApiError> {
    if promotion.usage_limit.is_some() {
        let counted = sqlx::query(
            "UPDATE promotions SET times_used = times_used + 1 WHERE id = $1 AND times_used < usage_limit",
        )
        .bind(promotion.id)
        .execute(tx.conn())
        .await?;
        if counted.rows_affected() == 0 {
            return Ok(false);
        }
    }
    if let (Some(limit), Some(customer)) = (promotion.per_customer_limit, customer) {
        let store = tx.store.id;
        let counted = sqlx::query(
            "INSERT INTO promotion_redemptions (store_id, promotion_id, customer_id, uses) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (promotion_id, customer_id) DO UPDATE SET uses = promotion_redemptions.uses + 1 \
             WHERE promotion_redemptions.uses < $4",
        )
        .bind(store)
        .bind(promotion.id)
        .bind(customer)
        .bind(limit)
        .execute(tx.conn())
        .await?;
        if counted.rows_affected() == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

pub async fn insert_promotion(tx: &mut StoreTx, fields: &PromotionRequest) -> Result<PromotionRow, ApiError> {
    let store = tx.store.id;
    let query = sqlx::query_as(concat!(
        "INSERT INTO promotions (id, store_id, ",
        field_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
         $21, $22) RETURNING ",
        promotion_columns!()
    ))
    .bind(PromotionId::generate())
    .bind(store);
    bind_fields(query, fields)
        .fetch_one(tx.conn())
        .await
        .map_err(write_error)
}

/// Replaces promotion `id`'s fields if it is still at `version`.
pub async fn replace_promotion(
    tx: &mut StoreTx,
    id: PromotionId,
    version: i32,
    fields: &PromotionRequest,
) -> Result<PromotionRow, ApiError> {
    let query = sqlx::query_as(concat!(
        "UPDATE promotions SET (",
        field_columns!(),
        ") = ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22), \
         version = version + 1, updated_at = now() WHERE id = $1 AND version = $2 RETURNING ",
        promotion_columns!()
    ))
    .bind(id)
    .bind(version);
    let replaced: Option<PromotionRow> = bind_fields(query, fields)
        .fetch_optional(tx.conn())
        .await
        .map_err(write_error)?;
    match replaced {
        Some(row) => Ok(row),
        None => {
            promotion_by_id(tx, id).await?;
            Err(ApiError::stale_version())
        }
    }
}

type PromotionQuery<'q> = sqlx::query::QueryAs<'q, sqlx::Postgres, PromotionRow, sqlx::postgres::PgArguments>;

/// Binds a promotion's fields as $3 to $22, in the order of `field_columns!`.
fn bind_fields<'q>(query: PromotionQuery<'q>, fields: &'q PromotionRequest) -> PromotionQuery<'q> {
    let rule = fields.rule.columns();
    query
        .bind(&fields.name)
        .bind(rule.kind)
        .bind(rule.basis_points)
        .bind(rule.amount_minor)
        .bind(rule.buy_quantity)
        .bind(rule.get_quantity)
        .bind(rule.free_variant_id)
        .bind(rule.free_quantity)
        .bind(&fields.code)
        .bind(fields.min_subtotal_minor)
        .bind(&fields.product_ids)
        .bind(&fields.category_ids)
        .bind(&fields.customer_ids)
        .bind(fields.starts_at)
        .bind(fields.ends_at)
        .bind(fields.usage_limit)
        .bind(fields.per_customer_limit)
        .bind(fields.stackable)
        .bind(fields.priority)
        .bind(fields.active)
}

/// Deletes promotion `id` if it is still at `version`. Orders keep the
/// discounts it gave, by name.
pub async fn delete_promotion(tx: &mut StoreTx, id: PromotionId, version: i32) -> Result<(), ApiError> {
    let deleted = sqlx::query("DELETE FROM promotions WHERE id = $1 AND version = $2")
        .bind(id)
        .bind(version)
        .execute(tx.conn())
        .await?;
    if deleted.rows_affected() == 0 {
        promotion_by_id(tx, id).await?;
        return Err(ApiError::stale_version());
    }
    Ok(())
}

/// Promotion `id`; 404 when the store has none.
pub async fn promotion_by_id(tx: &mut StoreTx, id: PromotionId) -> Result<PromotionRow, ApiError> {
    let found: Option<PromotionRow> = sqlx::query_as(concat!(
        "SELECT ",
        promotion_columns!(),
        " FROM promotions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    found.ok_or_else(|| ApiError::NotFound(format!("promotion {id} does not exist")))
}

/// A page of promotions (`limit + 1` rows), newest first.
pub async fn list_promotions(
    tx: &mut StoreTx,
    after: Option<PromotionId>,
    limit: i64,
) -> Result<Vec<PromotionRow>, ApiError> {
    let store = tx.store.id;
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        promotion_columns!(),
        " FROM promotions WHERE store_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
    ))
    .bind(store)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?)
}

fn write_error(error: sqlx::Error) -> ApiError {
    if unique_violation(&error) == Some("promotions_code") {
        return ApiError::conflict("code", "another promotion of this store has this code");
    }
    if let sqlx::Error::Database(db) = &error
        && db.is_foreign_key_violation()
    {
        return ApiError::Validation(vec![FieldError::new(
            "rule.variant_id",
            "is not a variant of this store",
        )]);
    }
    error.into()
}
