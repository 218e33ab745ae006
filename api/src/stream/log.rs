//! The store's live log (`live_log`, written by the migration's triggers)
//! read as messages.

use chrono::{DateTime, Utc};

use super::message::{
    LiveMessage, LiveOrder, LiveOrderEvent, LiveStock, LiveStockEvent, LiveTicket, LiveTicketEvent,
};
use crate::db::{Db, StoreTx};
use crate::error::ApiError;

/// How long the log keeps an event: a client away longer reloads.
pub const KEPT_FOR_HOURS: i64 = 24;

/// Moves the events committed since the last batch from the inbox into the
/// log, numbered in one batch, and notifies each store concerned once; how
/// many. One replica at a time: another that is sequencing makes this one
/// move nothing (its events are in that batch, or the next). Batches commit
/// one after another, so their positions are visible in order.
pub async fn sequence(db: &Db) -> Result<i64, ApiError> {
    db.tenant_wide(async |conn| {
        let mine: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock(5172346917) \
             FROM set_config('shopfleet.sequencer', 'on', true)",
        )
        .fetch_one(&mut *conn)
        .await?;
        if !mine {
            return Ok(0);
        }
        let (logged, _notified): (i64, i64) = sqlx::query_as(
            "WITH moved AS (DELETE FROM live_inbox RETURNING *), \
             logged AS ( \
                INSERT INTO live_log (position, store_id, kind, order_event_id, stock_id, ticket_id, \
                    available, occurred_at) \
                SELECT nextval('live_positions'), m.store_id, m.kind, m.order_event_id, m.stock_id, \
                    m.ticket_id, m.available, m.occurred_at \
                FROM (SELECT * FROM moved ORDER BY id) m \
                RETURNING store_id), \
             notified AS ( \
                SELECT pg_notify('shopfleet_live', s.store_id::text) \
                FROM (SELECT DISTINCT store_id FROM logged) s) \
             SELECT (SELECT count(*) FROM logged), (SELECT count(*) FROM notified)",
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok(logged)
    })
    .await
}

/// The position of the store's last event; 0 when it has none.
pub async fn last_position(tx: &mut StoreTx) -> Result<i64, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM live_log WHERE store_id = $1")
            .bind(tx.store.id)
            .fetch_one(tx.conn())
            .await?,
    )
}

/// Whether the store's log still holds the event at `position`.
pub async fn holds(tx: &mut StoreTx, position: i64) -> Result<bool, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM live_log WHERE store_id = $1 AND position = $2)")
            .bind(tx.store.id)
            .bind(position)
            .fetch_one(tx.conn())
            .await?,
    )
}

#[derive(sqlx::FromRow)]
struct EventRow {
    position: i64,
    kind: String,
    occurred_at: DateTime<Utc>,
    order_id: Option<uuid::Uuid>,
    number: Option<i64>,
    to_status: Option<String>,
    currency: Option<String>,
    total_minor: Option<i64>,
    amount_minor: Option<i64>,
    actor: Option<String>,
    variant_id: Option<uuid::Uuid>,
    sku: Option<String>,
    variant_name: Option<String>,
    available: Option<i64>,
    ticket_id: Option<uuid::Uuid>,
    ticket_order_id: Option<uuid::Uuid>,
    product_id: Option<uuid::Uuid>,
}

impl EventRow {
    /// The message of this row; None when what it is about is gone (an
    /// order or ticket deleted with its store), or for a kind this build
    /// does not know.
    fn message(self) -> Option<LiveMessage> {
        let id = self.position.to_string();
        let at = self.occurred_at;
        let order = || {
            Some(LiveOrderEvent {
                id: id.clone(),
                at,
                order: LiveOrder {
                    id: self.order_id?,
                    number: self.number?,
                    status: self.to_status.clone()?,
                    currency: self.currency.clone()?,
                    total_minor: self.total_minor?,
                    amount_minor: self.amount_minor?,
                    actor: self.actor.clone()?,
                },
            })
        };
        Some(match self.kind.as_str() {
            "order.placed" => LiveMessage::OrderPlaced(order()?),
            "order.paid" => LiveMessage::OrderPaid(order()?),
            "order.fulfilled" => LiveMessage::OrderFulfilled(order()?),
            "order.cancelled" => LiveMessage::OrderCancelled(order()?),
            "order.refunded" => LiveMessage::OrderRefunded(order()?),
            "stock.low" => LiveMessage::StockLow(LiveStockEvent {
                id,
                at,
                stock: LiveStock {
                    variant_id: self.variant_id?,
                    sku: self.sku?,
                    name: self.variant_name,
                    available: self.available?,
                },
            }),
            "ticket.checked_in" => LiveMessage::TicketCheckedIn(LiveTicketEvent {
                id,
                at,
                ticket: LiveTicket {
                    id: self.ticket_id?,
                    order_id: self.ticket_order_id?,
                    product_id: self.product_id?,
                },
            }),
            _ => return None,
        })
    }
}

/// The store's events after `position`, oldest first, at most `limit`,
/// as messages with their positions (None: see `EventRow::message`). An
/// order's figures are the order's as of now, its status the event's.
pub async fn events_after(
    tx: &mut StoreTx,
    position: i64,
    limit: i64,
) -> Result<Vec<(i64, Option<LiveMessage>)>, ApiError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT l.position, l.kind, l.occurred_at, \
            o.id AS order_id, o.number, e.to_status, o.currency, o.total_minor, e.amount_minor, e.actor, \
            s.variant_id, v.sku, p.title || CASE WHEN v.title = '' THEN '' ELSE ' / ' || v.title END \
                AS variant_name, l.available, \
            t.id AS ticket_id, t.order_id AS ticket_order_id, t.product_id \
         FROM live_log l \
         LEFT JOIN order_events e ON e.id = l.order_event_id \
         LEFT JOIN orders o ON o.id = e.order_id \
         LEFT JOIN stock s ON s.id = l.stock_id \
         LEFT JOIN variants v ON v.id = s.variant_id \
         LEFT JOIN products p ON p.id = s.product_id \
         LEFT JOIN tickets t ON t.id = l.ticket_id \
         WHERE l.store_id = $1 AND l.position > $2 \
         ORDER BY l.position LIMIT $3",
    )
    .bind(tx.store.id)
    .bind(position)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.position, row.message()))
        .collect())
}

/// Deletes the store's events older than [`KEPT_FOR_HOURS`]; how many.
pub async fn forget_old_events(tx: &mut StoreTx) -> Result<u64, ApiError> {
    Ok(sqlx::query(
        "DELETE FROM live_log WHERE store_id = $1 \
         AND occurred_at < now() - make_interval(hours => $2::int)",
    )
    .bind(tx.store.id)
    .bind(KEPT_FOR_HOURS as i32)
    .execute(tx.conn())
    .await?
    .rows_affected())
}
