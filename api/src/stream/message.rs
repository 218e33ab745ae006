//! What the live stream sends: JSON text messages, one per WebSocket frame,
//! each with a `type` (docs/api.md, "Live stream"). Their schemas are in the
//! OpenAPI document (`LiveMessage`), and the stream tests check every
//! message they receive against it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// The subprotocol of this version of the messages. A client names it
/// among its `Sec-WebSocket-Protocol`s; a later, incompatible version gets
/// another name, and both are served side by side.
pub const PROTOCOL: &str = "shopfleet.live.v1";

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "type")]
pub enum LiveMessage {
    /// Sent once the stream has sent what the client missed (`?after=`) and
    /// goes live: `last_id` is the id of the last event sent so far (null:
    /// none yet in this store's log).
    #[serde(rename = "ready")]
    Ready { last_id: Option<String> },
    /// The client's `after` is older than the log keeps, or more events
    /// followed it than one resume sends: what it shows may be missing
    /// events, so it should reload its data; the stream goes on live.
    #[serde(rename = "reload")]
    Reload { reason: String },
    /// Today's figures in the store's time zone, from the analytics (sales
    /// dated by the transaction, as the sales report's), every few seconds.
    #[serde(rename = "tick")]
    Tick(LiveToday),
    #[serde(rename = "order.placed")]
    OrderPlaced(LiveOrderEvent),
    #[serde(rename = "order.paid")]
    OrderPaid(LiveOrderEvent),
    #[serde(rename = "order.fulfilled")]
    OrderFulfilled(LiveOrderEvent),
    #[serde(rename = "order.cancelled")]
    OrderCancelled(LiveOrderEvent),
    /// A refund, whole or partial (`amount_minor`).
    #[serde(rename = "order.refunded")]
    OrderRefunded(LiveOrderEvent),
    #[serde(rename = "stock.low")]
    StockLow(LiveStockEvent),
    #[serde(rename = "ticket.checked_in")]
    TicketCheckedIn(LiveTicketEvent),
}

/// An order's change, from the store's log. `id`s increase in the order
/// the changes committed; resume with `?after=<id>`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveOrderEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    pub order: LiveOrder,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveStockEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    pub stock: LiveStock,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveTicketEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    pub ticket: LiveTicket,
}

/// The order an `order.*` event is about: its status after the event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveOrder {
    pub id: uuid::Uuid,
    pub number: i64,
    /// The status the event moved it to.
    pub status: String,
    pub currency: String,
    pub total_minor: i64,
    /// A refund's amount; 0 for the other events.
    pub amount_minor: i64,
    /// Who acted (`user:<id>`, `key:<id>` or `system`).
    pub actor: String,
}

/// A standard variant whose available units fell to the low-stock
/// threshold (5) or below.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveStock {
    pub variant_id: uuid::Uuid,
    pub sku: String,
    /// `Product` or `Product / Variant`; null once deleted from the catalog.
    pub name: Option<String>,
    /// On hand − reserved, after the change.
    pub available: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LiveTicket {
    pub id: uuid::Uuid,
    pub order_id: uuid::Uuid,
    pub product_id: uuid::Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LiveToday {
    pub date: NaiveDate,
    pub time_zone: String,
    pub currency: String,
    pub orders: i64,
    pub net_sales_minor: i64,
}

impl LiveMessage {
    pub fn text(&self) -> String {
        serde_json::to_string(self).expect("live messages always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_control_messages_carry_their_type() {
        let event = LiveMessage::StockLow(LiveStockEvent {
            id: "7".to_owned(),
            at: DateTime::from_timestamp(0, 0).unwrap(),
            stock: LiveStock {
                variant_id: uuid::Uuid::nil(),
                sku: "MUG".to_owned(),
                name: Some("Mug".to_owned()),
                available: 3,
            },
        });
        let json: serde_json::Value = serde_json::from_str(&event.text()).unwrap();
        assert_eq!(json["type"], "stock.low");
        assert_eq!(json["id"], "7");
        assert_eq!(json["stock"]["available"], 3);

        let ready: serde_json::Value =
            serde_json::from_str(&LiveMessage::Ready { last_id: None }.text()).unwrap();
        assert_eq!(ready, serde_json::json!({"type": "ready", "last_id": null}));
    }
}
