//! Stock levels and adjustments as clients see and send them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{ProductId, VariantId};

/// Why on-hand stock changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Reason {
    /// Goods came in.
    Received,
    /// A count found a different number.
    Correction,
    Damaged,
    Lost,
    /// Goods came back outside an order's refund.
    Returned,
}

/// One pool of stock: a standard variant, a ticket product's seats, or a
/// room-night product's rooms on one night.
#[derive(Serialize, Debug, sqlx::FromRow, ToSchema)]
pub struct StockLevel {
    pub id: uuid::Uuid,
    pub product_id: ProductId,
    /// For standard products: the variant this pool is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<VariantId>,
    /// For room nights: the night.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub night: Option<NaiveDate>,
    pub on_hand: i32,
    /// Held by open orders.
    pub reserved: i32,
    /// What can still be sold: on hand less reserved.
    pub available: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, Debug, sqlx::FromRow, ToSchema)]
pub struct Adjustment {
    pub id: uuid::Uuid,
    pub stock_id: uuid::Uuid,
    pub delta: i32,
    pub on_hand_after: i32,
    pub reason: Reason,
    pub note: String,
    /// `user:<id>`, or `key:secret` for the store's secret key.
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// A change to on-hand stock. The pool is the variant's for standard
/// products, the product's for tickets, and the product's on `night` for
/// room nights.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    pub variant_id: VariantId,
    /// Required for room nights, refused otherwise.
    pub night: Option<NaiveDate>,
    /// Units added (positive) or taken away (negative); never below what is reserved.
    pub delta: i32,
    pub reason: Reason,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct AdjustmentMade {
    pub adjustment: Adjustment,
    pub stock: StockLevel,
}
