//! The orders' SQL, inside a store's transaction (RLS limits it to the store).

use chrono::{DateTime, NaiveDate, Utc};

use super::model::{Order, OrderLine, OrderSummary};
use super::state::Status;
use crate::catalog::model::{Kind, Status as ProductStatus};
use crate::db::StoreTx;
use crate::error::{ApiError, FieldError};
use crate::ids::{CategoryId, OrderId, ProductId, UserId, VariantId};
use crate::promotions::model::AppliedDiscount;

/// The columns of an [`Order`], for `concat!`.
macro_rules! order_columns {
    () => {
        "id, number, store_id, customer_id, status, currency, subtotal_minor, discount_minor, total_minor, \
         paid_minor, refunded_minor, promotion_code, session_id, party_size, placed_by, version, created_at, updated_at"
    };
}

/// The columns of an [`OrderLine`], for `concat!`.
macro_rules! line_columns {
    () => {
        "id, product_id, variant_id, sku, title, night, quantity, unit_price_minor, subtotal_minor, \
         discount_minor, total_minor, refunded_quantity, refunded_minor, stock_id"
    };
}

/// A variant as an order prices it.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Offer {
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub sku: String,
    pub title: String,
    pub price_minor: i64,
    pub kind: Kind,
    pub status: ProductStatus,
    pub capacity: Option<i32>,
    pub event_starts_at: Option<DateTime<Utc>>,
    pub category_ids: Vec<CategoryId>,
}

/// The variants $1 with what pricing and reserving them needs. Public for the benchmark.
pub const OFFERS: &str = "SELECT v.id AS variant_id, v.product_id, v.sku, \
     CASE WHEN v.title = '' THEN p.title ELSE p.title || ' – ' || v.title END AS title, \
     v.price_minor, p.kind, p.status, p.capacity, p.event_starts_at, \
     ARRAY(SELECT pc.category_id FROM product_categories pc WHERE pc.product_id = p.id) AS category_ids \
     FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id = ANY($1)";

pub async fn offers_for_variants(tx: &mut StoreTx, variants: &[VariantId]) -> Result<Vec<Offer>, ApiError> {
    Ok(sqlx::query_as(OFFERS).bind(variants).fetch_all(tx.conn()).await?)
}

/// What a customer's unpaid orders in the transaction's store hold.
#[derive(sqlx::FromRow)]
pub struct Held {
    pub orders: i64,
    pub units: i64,
}

/// Locks `customer`'s orders for the transaction (an advisory lock: two
/// orders of one customer are placed one after the other), then counts what
/// their unpaid orders hold.
pub async fn lock_and_count_pending_of_customer(
    tx: &mut StoreTx,
    customer: UserId,
) -> Result<Held, ApiError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(customer)
        .execute(tx.conn())
        .await?;
    Ok(sqlx::query_as(
        "SELECT count(DISTINCT o.id) AS orders, coalesce(sum(l.quantity), 0)::bigint AS units \
         FROM orders o JOIN order_lines l ON l.store_id = o.store_id AND l.order_id = o.id \
         WHERE o.customer_id = $1 AND o.status = 'pending'",
    )
    .bind(customer)
    .fetch_one(tx.conn())
    .await?)
}

/// An order about to be written, priced and reserved.
pub struct NewOrder<'a> {
    pub id: OrderId,
    pub customer: Option<UserId>,
    pub subtotal: i64,
    pub discount: i64,
    pub promotion_code: Option<&'a str>,
    pub placed_by: &'a str,
    pub session_id: Option<uuid::Uuid>,
    pub party_size: Option<i16>,
    pub lines: &'a [OrderLine],
    pub discounts: &'a [AppliedDiscount],
}

/// Writes the order, its lines, discounts and `created` event in one
/// statement (one round trip), and returns the order's row.
/// Public for the benchmark.
pub const INSERT_ORDER: &str = concat!(
    "WITH o AS (INSERT INTO orders (id, store_id, customer_id, status, currency, subtotal_minor, discount_minor, \
     total_minor, promotion_code, placed_by, session_id, party_size) \
     VALUES ($1, $2, $3, 'pending', $4, $5, $6, $5 - $6, $7, $8, $25, $26) RETURNING ",
    order_columns!(),
    "), lines AS (INSERT INTO order_lines (id, store_id, order_id, position, product_id, variant_id, sku, title, \
     night, stock_id, quantity, unit_price_minor, subtotal_minor, discount_minor, total_minor) \
     SELECT l.id, $2, $1, l.position, l.product_id, l.variant_id, l.sku, l.title, l.night, l.stock_id, l.quantity, \
     l.unit_price, l.unit_price * l.quantity, l.discount, l.unit_price * l.quantity - l.discount \
     FROM unnest($9::uuid[], $10::uuid[], $11::uuid[], $12::text[], $13::text[], $14::date[], $15::uuid[], \
     $16::int[], $17::bigint[], $18::bigint[]) WITH ORDINALITY \
     AS l(id, product_id, variant_id, sku, title, night, stock_id, quantity, unit_price, discount, position)), \
     discounts AS (INSERT INTO order_discounts (store_id, order_id, position, promotion_id, name, kind, code, amount_minor) \
     SELECT $2, $1, d.position, d.promotion_id, d.name, d.kind, d.code, d.amount \
     FROM unnest($19::uuid[], $20::text[], $21::text[], $22::text[], $23::bigint[]) WITH ORDINALITY \
     AS d(promotion_id, name, kind, code, amount, position)), \
     event AS (INSERT INTO order_events (id, store_id, order_id, kind, to_status, actor) \
     VALUES ($24, $2, $1, 'created', 'pending', $8)) \
     SELECT ",
    order_columns!(),
    " FROM o"
);

pub async fn insert_order(
    tx: &mut StoreTx,
    order: &NewOrder<'_>,
    event: uuid::Uuid,
) -> Result<Order, ApiError> {
    let store = tx.store.id;
    let currency = tx.store.currency.clone();
    let lines = order.lines;
    let discounts = order.discounts;
    let inserted: Order = sqlx::query_as(INSERT_ORDER)
        .bind(order.id)
        .bind(store)
        .bind(order.customer)
        .bind(currency)
        .bind(order.subtotal)
        .bind(order.discount)
        .bind(order.promotion_code)
        .bind(order.placed_by)
        .bind(lines.iter().map(|l| l.id.0).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.product_id.0).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.variant_id.0).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.sku.clone()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.title.clone()).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.night).collect::<Vec<Option<NaiveDate>>>())
        .bind(lines.iter().map(|l| l.stock_id).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.quantity).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.unit_price_minor).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.discount_minor).collect::<Vec<_>>())
        .bind(discounts.iter().map(|d| d.promotion_id.0).collect::<Vec<_>>())
        .bind(discounts.iter().map(|d| d.name.clone()).collect::<Vec<_>>())
        .bind(discounts.iter().map(|d| d.kind.clone()).collect::<Vec<_>>())
        .bind(discounts.iter().map(|d| d.code.clone()).collect::<Vec<_>>())
        .bind(discounts.iter().map(|d| d.amount_minor).collect::<Vec<_>>())
        .bind(event)
        .bind(order.session_id)
        .bind(order.party_size)
        .fetch_one(tx.conn())
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.constraint() == Some("orders_customer_id_fkey") => {
                ApiError::Validation(vec![FieldError::new(
                    "customer_id",
                    "is not a user of this tenant",
                )])
            }
            _ => error.into(),
        })?;
    Ok(inserted)
}

/// Order `id` with its lines, discounts and events; `lock` holds it for a
/// change until the transaction ends. 404 when the store has no such order,
/// or when `customer` is given and it is not theirs.
pub async fn order_by_id(
    tx: &mut StoreTx,
    id: OrderId,
    customer: Option<UserId>,
    lock: bool,
) -> Result<Order, ApiError> {
    let statement = if lock {
        concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE id = $1 AND ($2::uuid IS NULL OR customer_id = $2) FOR UPDATE"
        )
    } else {
        concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE id = $1 AND ($2::uuid IS NULL OR customer_id = $2)"
        )
    };
    let found: Option<Order> = sqlx::query_as(statement)
        .bind(id)
        .bind(customer)
        .fetch_optional(tx.conn())
        .await?;
    let mut order = found.ok_or_else(|| ApiError::NotFound(format!("order {id} does not exist")))?;
    order.lines = sqlx::query_as(concat!(
        "SELECT ",
        line_columns!(),
        " FROM order_lines WHERE order_id = $1 ORDER BY position"
    ))
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    order.discounts = sqlx::query_as(
        "SELECT promotion_id, name, kind, code, amount_minor FROM order_discounts WHERE order_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    order.events = sqlx::query_as(
        "SELECT id, kind, from_status, to_status, amount_minor, lines, note, actor, created_at \
         FROM order_events WHERE order_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    order.tickets = crate::tickets::sql::tickets_of_order(tx, id).await?;
    Ok(order)
}

/// Which orders a list shows.
pub struct OrderFilter {
    pub customer: Option<UserId>,
    pub status: Option<Status>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub after: Option<OrderId>,
    pub limit: i64,
}

/// A page of orders (`limit + 1` rows), newest first.
pub async fn list_orders(tx: &mut StoreTx, filter: &OrderFilter) -> Result<Vec<OrderSummary>, ApiError> {
    let store = tx.store.id;
    Ok(sqlx::query_as(
        "SELECT id, number, customer_id, status, currency, total_minor, refunded_minor, created_at FROM orders \
         WHERE store_id = $1 AND ($2::uuid IS NULL OR customer_id = $2) AND ($3::text IS NULL OR status = $3) \
         AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5) \
         AND ($6::uuid IS NULL OR id < $6) ORDER BY id DESC LIMIT $7",
    )
    .bind(store)
    .bind(filter.customer)
    .bind(filter.status)
    .bind(filter.created_from)
    .bind(filter.created_before)
    .bind(filter.after)
    .bind(filter.limit + 1)
    .fetch_all(tx.conn())
    .await?)
}

/// Up to `limit` pending orders placed more than `age` ago, locked for this
/// transaction; orders another transaction holds are skipped, so replicas
/// sweeping at once (or a staff member paying one) never wait on each other.
pub async fn due_for_expiry(
    tx: &mut StoreTx,
    age: std::time::Duration,
    limit: i64,
) -> Result<Vec<OrderId>, ApiError> {
    let store = tx.store.id;
    Ok(sqlx::query_scalar(
        "SELECT id FROM orders WHERE store_id = $1 AND status = 'pending' \
         AND created_at < now() - make_interval(secs => $2) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED",
    )
    .bind(store)
    .bind(age.as_secs_f64())
    .bind(limit)
    .fetch_all(tx.conn())
    .await?)
}

/// A change of state to record: the order's new money figures and the event.
pub struct Transition<'a> {
    pub from: Status,
    pub to: Status,
    pub kind: &'static str,
    pub paid: i64,
    pub refunded: i64,
    /// Money that moved with this change.
    pub amount: i64,
    pub lines: serde_json::Value,
    pub note: &'a str,
    pub actor: &'a str,
}

impl<'a> Transition<'a> {
    /// A change of `order` that moves nothing yet: fill in what does move.
    pub fn of(order: &Order, note: &'a str, actor: &'a str) -> Self {
        Self {
            from: order.status,
            to: order.status,
            kind: "",
            paid: order.paid_minor,
            refunded: order.refunded_minor,
            amount: 0,
            lines: serde_json::json!([]),
            note,
            actor,
        }
    }
}

/// Moves order `id` as `change` says, and records the event.
pub async fn record_transition(
    tx: &mut StoreTx,
    id: OrderId,
    change: &Transition<'_>,
) -> Result<(), ApiError> {
    let store = tx.store.id;
    sqlx::query(
        "WITH o AS (UPDATE orders SET status = $3, paid_minor = $4, refunded_minor = $5, version = version + 1, \
         updated_at = now() WHERE id = $1) \
         INSERT INTO order_events (id, store_id, order_id, kind, from_status, to_status, amount_minor, lines, note, actor) \
         VALUES ($6, $2, $1, $7, $8, $3, $9, $10, $11, $12)",
    )
    .bind(id)
    .bind(store)
    .bind(change.to)
    .bind(change.paid)
    .bind(change.refunded)
    .bind(uuid::Uuid::now_v7())
    .bind(change.kind)
    .bind(change.from)
    .bind(change.amount)
    .bind(&change.lines)
    .bind(change.note)
    .bind(change.actor)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Records that `quantity` more units (worth `amount`) of line `line` were refunded.
pub async fn record_line_refund(
    tx: &mut StoreTx,
    line: crate::ids::OrderLineId,
    quantity: i32,
    amount: i64,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE order_lines SET refunded_quantity = refunded_quantity + $2, refunded_minor = refunded_minor + $3 \
         WHERE id = $1",
    )
    .bind(line)
    .bind(quantity)
    .bind(amount)
    .execute(tx.conn())
    .await?;
    Ok(())
}
