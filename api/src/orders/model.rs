//! Orders as clients see and send them. Amounts are integers in the minor
//! unit of the store's currency; the client never sends a price.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::state::Status;
use crate::ids::{OrderId, OrderLineId, ProductId, StoreId, UserId, VariantId};
use crate::promotions::model::AppliedDiscount;
use crate::tickets::Ticket;

pub const MAX_LINES: usize = 100;
pub const MAX_QUANTITY: i32 = 1000;

/// An order as it was placed, with everything that happened to it since.
#[derive(Serialize, Debug, sqlx::FromRow, ToSchema)]
pub struct Order {
    pub id: OrderId,
    /// Shown to people; unique in the tenant and rising.
    pub number: i64,
    pub store_id: StoreId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<UserId>,
    pub status: Status,
    pub currency: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub refunded_minor: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion_code: Option<String>,
    /// The shop front's session it was placed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<uuid::Uuid>,
    /// The guests a table order serves (hospitality).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party_size: Option<i16>,
    /// `user:<id>`, or `key:secret`.
    pub placed_by: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub lines: Vec<OrderLine>,
    #[sqlx(skip)]
    pub discounts: Vec<AppliedDiscount>,
    #[sqlx(skip)]
    pub events: Vec<OrderEvent>,
    /// A code per seat of its ticket lines, once paid.
    #[sqlx(skip)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<Ticket>,
}

/// An order in a list: without its lines and events.
#[derive(Serialize, Debug, sqlx::FromRow, ToSchema)]
pub struct OrderSummary {
    pub id: OrderId,
    pub number: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<UserId>,
    pub status: Status,
    pub currency: String,
    pub total_minor: i64,
    pub refunded_minor: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, Debug, Clone, sqlx::FromRow, ToSchema)]
pub struct OrderLine {
    pub id: OrderLineId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub sku: String,
    /// The product's title, and the variant's when it has one.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub night: Option<NaiveDate>,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub subtotal_minor: i64,
    /// This line's part of the order's discounts.
    pub discount_minor: i64,
    pub total_minor: i64,
    pub refunded_quantity: i32,
    pub refunded_minor: i64,
    /// The stock pool the line holds or took from.
    #[serde(skip)]
    pub stock_id: Option<uuid::Uuid>,
}

/// A change of an order's state: when, by whom, and for refunds how much of what.
#[derive(Serialize, Debug, sqlx::FromRow, ToSchema)]
pub struct OrderEvent {
    pub id: uuid::Uuid,
    /// `created`, `paid`, `fulfilled`, `cancelled` or `refunded`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_status: Option<Status>,
    pub to_status: Status,
    /// Money that moved: paid, or refunded.
    pub amount_minor: i64,
    /// What a refund, or the cancellation of a paid order, gave back:
    /// `[{"line_id", "quantity", "amount_minor"}]`.
    #[schema(value_type = Vec<Object>)]
    pub lines: sqlx::types::Json<serde_json::Value>,
    pub note: String,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// What to buy. Prices, discounts and totals are the server's.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrderRequest {
    /// 1 to 100 lines.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<NewOrderLine>,
    /// At most one promotion code per order (any case).
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    pub promotion_code: Option<String>,
    /// Staff only: the customer the order is for. A customer's own order is always theirs.
    pub customer_id: Option<UserId>,
    /// The shop front's session (as in its storefront events): the funnel's
    /// purchase step.
    pub session_id: Option<uuid::Uuid>,
    /// A hospitality store's table order: the guests it serves (covers).
    #[schema(minimum = 1, maximum = 100)]
    pub party_size: Option<i16>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrderLine {
    pub variant_id: VariantId,
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: i32,
    /// Required for room nights (the night booked), refused otherwise.
    pub night: Option<NaiveDate>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// Why, for the order's history.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
}

/// Units to refund. Their money comes back as the lines' paid share
/// (discounts included), and their stock returns to its pool.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// The lines and how many of their units; each line at most once.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<RefundLine>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct RefundLine {
    pub line_id: OrderLineId,
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: i32,
}
