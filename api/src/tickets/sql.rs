//! The SQL of tickets: issued with a payment, voided with a refund or a
//! cancellation, checked in once.

use rand::RngExt;

use super::Ticket;
use crate::db::StoreTx;
use crate::error::ApiError;
use crate::ids::{OrderId, OrderLineId};

/// The columns of a [`Ticket`], for `concat!` into static SQL.
macro_rules! ticket_columns {
    () => {
        "code, order_id, line_id, product_id, status, issued_at, checked_in_at, voided_at"
    };
}

/// A new code: 100 random bits in 20 characters of Crockford's base 32,
/// grouped by 5 for people to read out (`K3ZQ8-...`).
pub fn new_code() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..32)]))
        .collect();
    chars
        .chunks(5)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Issues a code for every seat of order `order`'s ticket lines: done once,
/// in the transaction that records its payment.
pub async fn issue_for_paid_order(tx: &mut StoreTx, order: OrderId) -> Result<(), ApiError> {
    // A pending order's products cannot be deleted (their stock is reserved),
    // so each line still finds its product's kind.
    let seats: Vec<(OrderLineId, uuid::Uuid, i32)> = sqlx::query_as(
        "SELECT l.id, l.product_id, l.quantity - l.refunded_quantity FROM order_lines l \
         JOIN products p ON p.id = l.product_id WHERE l.order_id = $1 AND p.kind = 'ticket' \
         ORDER BY l.position",
    )
    .bind(order)
    .fetch_all(tx.conn())
    .await?;
    let seats: Vec<(OrderLineId, uuid::Uuid)> = seats
        .into_iter()
        .flat_map(|(line, product, quantity)| (0..quantity).map(move |_| (line, product)))
        .collect();
    if seats.is_empty() {
        return Ok(());
    }
    let store = tx.store.id;
    sqlx::query(
        "INSERT INTO tickets (id, store_id, order_id, line_id, product_id, code) \
         SELECT t.id, $1, $2, t.line_id, t.product_id, t.code \
         FROM unnest($3::uuid[], $4::uuid[], $5::uuid[], $6::text[]) AS t(id, line_id, product_id, code)",
    )
    .bind(store)
    .bind(order)
    .bind(seats.iter().map(|_| uuid::Uuid::now_v7()).collect::<Vec<_>>())
    .bind(seats.iter().map(|(line, _)| line.0).collect::<Vec<_>>())
    .bind(seats.iter().map(|(_, product)| *product).collect::<Vec<_>>())
    .bind(seats.iter().map(|_| new_code()).collect::<Vec<_>>())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Voids `seats` of line `line`'s tickets: those not yet used first, the
/// newest first.
pub async fn void_seats_of_line(tx: &mut StoreTx, line: OrderLineId, seats: i32) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE tickets SET status = 'void', voided_at = now() WHERE id IN (\
         SELECT id FROM tickets WHERE line_id = $1 AND status <> 'void' \
         ORDER BY status = 'checked_in', issued_at DESC, id DESC LIMIT $2)",
    )
    .bind(line)
    .bind(i64::from(seats))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Voids every ticket of order `order` (cancelled).
pub async fn void_order(tx: &mut StoreTx, order: OrderId) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE tickets SET status = 'void', voided_at = now() WHERE order_id = $1 AND status <> 'void'",
    )
    .bind(order)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The tickets of order `order`, in the order they were issued.
pub async fn tickets_of_order(tx: &mut StoreTx, order: OrderId) -> Result<Vec<Ticket>, ApiError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE order_id = $1 ORDER BY issued_at, id"
    ))
    .bind(order)
    .fetch_all(tx.conn())
    .await?)
}

/// Checks in the ticket of `code` as `actor`, once: a used, void or unknown
/// code says why.
pub async fn check_in(tx: &mut StoreTx, code: &str, actor: &str) -> Result<Ticket, ApiError> {
    let checked_in: Option<Ticket> = sqlx::query_as(concat!(
        "UPDATE tickets SET status = 'checked_in', checked_in_at = now(), checked_in_by = $2 \
         WHERE code = $1 AND status = 'valid' RETURNING ",
        ticket_columns!()
    ))
    .bind(code)
    .bind(actor)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(ticket) = checked_in {
        return Ok(ticket);
    }
    let found: Option<Ticket> = sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE code = $1"
    ))
    .bind(code)
    .fetch_optional(tx.conn())
    .await?;
    let Some(ticket) = found else {
        return Err(ApiError::NotFound(
            "no ticket of this store has this code".to_owned(),
        ));
    };
    Err(match (ticket.voided_at, ticket.checked_in_at) {
        (Some(at), _) => ApiError::conflict(
            "code",
            format!(
                "this ticket is void since {}: its seat was refunded or its order cancelled",
                at.to_rfc3339()
            ),
        ),
        (None, Some(at)) => ApiError::conflict(
            "code",
            format!("this ticket was checked in at {}", at.to_rfc3339()),
        ),
        // Another scan held it and gave it up (its transaction failed).
        (None, None) => ApiError::conflict("code", "another scan of this ticket was under way: scan again"),
    })
}
