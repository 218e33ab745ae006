//! Promotions as managers send and read them, and their checks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::engine;
use crate::ids::{CategoryId, ProductId, PromotionId, UserId, VariantId};
use crate::validate::{Checks, text};

/// What a promotion takes off.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// Basis points off each line in scope (1000 = 10 %), rounded down per line.
    Percentage {
        #[schema(minimum = 1, maximum = 10000)]
        basis_points: i32,
    },
    /// An amount off the lines in scope, shared among them by their amounts.
    FixedAmount {
        #[schema(minimum = 1, maximum = 100_000_000_000_i64)]
        amount_minor: i64,
    },
    /// For every `buy_quantity + get_quantity` units in scope, the `get_quantity` cheapest are free.
    BuyXGetY {
        #[schema(minimum = 1, maximum = 1000)]
        buy_quantity: i32,
        #[schema(minimum = 1, maximum = 1000)]
        get_quantity: i32,
    },
    /// Up to `quantity` units of this variant in the order are free (the
    /// customer adds them to the order).
    FreeItem {
        variant_id: VariantId,
        #[schema(minimum = 1, maximum = 1000)]
        quantity: i32,
    },
}

/// A promotion to create, or to replace one with (`PUT`).
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub rule: Rule,
    /// Applies only to orders carrying this code (any case); absent: to every order that qualifies.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    pub code: Option<String>,
    /// The order's subtotal (before discounts) must be at least this.
    #[schema(minimum = 0)]
    pub min_subtotal_minor: Option<i64>,
    /// The scope: when either list is given, only lines of these products or
    /// in these categories are discounted (for `free_item`: the order must
    /// have such a line besides the free one).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub product_ids: Vec<ProductId>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub category_ids: Vec<CategoryId>,
    /// When given, only these customers.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub customer_ids: Vec<UserId>,
    /// From this time (inclusive)…
    pub starts_at: Option<DateTime<Utc>>,
    /// …until this time (exclusive).
    pub ends_at: Option<DateTime<Utc>>,
    /// Orders that may use it in all.
    #[schema(minimum = 1)]
    pub usage_limit: Option<i32>,
    /// Orders each customer may use it in (orders without a customer cannot use it).
    #[schema(minimum = 1)]
    pub per_customer_limit: Option<i32>,
    /// Whether it combines with other stackable promotions (see the stacking rule).
    #[serde(default = "yes")]
    pub stackable: bool,
    /// Higher applies first.
    #[serde(default)]
    pub priority: i32,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Promotion {
    pub id: PromotionId,
    #[serde(flatten)]
    pub fields: PromotionRequest,
    /// Orders that used it, counted when it has a `usage_limit`.
    pub times_used: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A `promotions` row.
#[derive(sqlx::FromRow)]
pub struct PromotionRow {
    pub id: PromotionId,
    pub name: String,
    pub kind: String,
    pub basis_points: Option<i32>,
    pub amount_minor: Option<i64>,
    pub buy_quantity: Option<i32>,
    pub get_quantity: Option<i32>,
    pub free_variant_id: Option<VariantId>,
    pub free_quantity: Option<i32>,
    pub code: Option<String>,
    pub min_subtotal_minor: Option<i64>,
    pub product_ids: Vec<ProductId>,
    pub category_ids: Vec<CategoryId>,
    pub customer_ids: Vec<UserId>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i32>,
    pub times_used: i32,
    pub per_customer_limit: Option<i32>,
    pub stackable: bool,
    pub priority: i32,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Rule {
    /// The rule's columns: kind, basis_points, amount_minor, buy_quantity,
    /// get_quantity, free_variant_id, free_quantity.
    pub fn columns(&self) -> RuleColumns {
        let mut columns = RuleColumns::default();
        match *self {
            Self::Percentage { basis_points } => {
                columns.kind = "percentage";
                columns.basis_points = Some(basis_points);
            }
            Self::FixedAmount { amount_minor } => {
                columns.kind = "fixed_amount";
                columns.amount_minor = Some(amount_minor);
            }
            Self::BuyXGetY {
                buy_quantity,
                get_quantity,
            } => {
                columns.kind = "buy_x_get_y";
                columns.buy_quantity = Some(buy_quantity);
                columns.get_quantity = Some(get_quantity);
            }
            Self::FreeItem { variant_id, quantity } => {
                columns.kind = "free_item";
                columns.free_variant_id = Some(variant_id);
                columns.free_quantity = Some(quantity);
            }
        }
        columns
    }

    fn check(&self, checks: &mut Checks) {
        match *self {
            Self::Percentage { basis_points } => checks.check(
                (1..=10_000).contains(&basis_points),
                "rule.basis_points",
                "must be between 1 and 10000 (100 %)",
            ),
            Self::FixedAmount { amount_minor } => checks.check(
                (1..=100_000_000_000).contains(&amount_minor),
                "rule.amount_minor",
                "must be between 1 and 100000000000",
            ),
            Self::BuyXGetY {
                buy_quantity,
                get_quantity,
            } => {
                checks.check(
                    (1..=1000).contains(&buy_quantity),
                    "rule.buy_quantity",
                    "must be between 1 and 1000",
                );
                checks.check(
                    (1..=1000).contains(&get_quantity),
                    "rule.get_quantity",
                    "must be between 1 and 1000",
                );
            }
            Self::FreeItem { quantity, .. } => checks.check(
                (1..=1000).contains(&quantity),
                "rule.quantity",
                "must be between 1 and 1000",
            ),
        }
    }
}

#[derive(Default)]
pub struct RuleColumns {
    pub kind: &'static str,
    pub basis_points: Option<i32>,
    pub amount_minor: Option<i64>,
    pub buy_quantity: Option<i32>,
    pub get_quantity: Option<i32>,
    pub free_variant_id: Option<VariantId>,
    pub free_quantity: Option<i32>,
}

/// Whether `code` is a promotion code: a letter or digit, then up to 63 of
/// letters, digits, `_` and `-`.
pub fn is_code(code: &str) -> bool {
    let mut chars = code.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && code.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl PromotionRequest {
    /// The request with its text trimmed, or every invalid field.
    pub fn parse(mut self) -> Result<Self, crate::error::ApiError> {
        let mut checks = Checks::default();
        if let Some(name) = checks.parse("name", text(&self.name, 1, 200)) {
            self.name = name;
        }
        self.rule.check(&mut checks);
        if let Some(code) = &self.code {
            checks.check(
                is_code(code),
                "code",
                "must be 1 to 64 letters, digits, `_` or `-`, starting with a letter or digit",
            );
        }
        checks.check(
            self.min_subtotal_minor.is_none_or(|min| min >= 0),
            "min_subtotal_minor",
            "must be at least 0",
        );
        checks.check(self.product_ids.len() <= 100, "product_ids", "at most 100");
        checks.check(self.category_ids.len() <= 100, "category_ids", "at most 100");
        checks.check(self.customer_ids.len() <= 1000, "customer_ids", "at most 1000");
        if let (Some(starts), Some(ends)) = (self.starts_at, self.ends_at) {
            checks.check(ends > starts, "ends_at", "must be after starts_at");
        }
        checks.check(
            self.usage_limit.is_none_or(|n| n > 0),
            "usage_limit",
            "must be at least 1",
        );
        checks.check(
            self.per_customer_limit.is_none_or(|n| n > 0),
            "per_customer_limit",
            "must be at least 1",
        );
        checks.finish()?;
        Ok(self)
    }
}

impl PromotionRow {
    fn rule(&self) -> Rule {
        match self.kind.as_str() {
            "percentage" => Rule::Percentage {
                basis_points: self.basis_points.unwrap_or_default(),
            },
            "fixed_amount" => Rule::FixedAmount {
                amount_minor: self.amount_minor.unwrap_or_default(),
            },
            "buy_x_get_y" => Rule::BuyXGetY {
                buy_quantity: self.buy_quantity.unwrap_or_default(),
                get_quantity: self.get_quantity.unwrap_or_default(),
            },
            // The table's CHECK allows only these four kinds, each with its columns.
            _ => Rule::FreeItem {
                variant_id: self.free_variant_id.unwrap_or(VariantId(uuid::Uuid::nil())),
                quantity: self.free_quantity.unwrap_or_default(),
            },
        }
    }

    pub fn into_promotion(self) -> Promotion {
        Promotion {
            id: self.id,
            fields: PromotionRequest {
                rule: self.rule(),
                name: self.name,
                code: self.code,
                min_subtotal_minor: self.min_subtotal_minor,
                product_ids: self.product_ids,
                category_ids: self.category_ids,
                customer_ids: self.customer_ids,
                starts_at: self.starts_at,
                ends_at: self.ends_at,
                usage_limit: self.usage_limit,
                per_customer_limit: self.per_customer_limit,
                stackable: self.stackable,
                priority: self.priority,
                active: self.active,
            },
            times_used: self.times_used,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// What the engine needs of it; `customer_uses` by the order's customer.
    pub fn for_engine(&self, customer_uses: i64) -> engine::Promotion {
        engine::Promotion {
            id: self.id,
            rule: match self.rule() {
                Rule::Percentage { basis_points } => engine::Rule::Percentage {
                    basis_points: basis_points.into(),
                },
                Rule::FixedAmount { amount_minor } => engine::Rule::FixedAmount { amount: amount_minor },
                Rule::BuyXGetY {
                    buy_quantity,
                    get_quantity,
                } => engine::Rule::BuyXGetY {
                    buy: buy_quantity.into(),
                    get: get_quantity.into(),
                },
                Rule::FreeItem { variant_id, quantity } => engine::Rule::FreeItem {
                    variant: variant_id,
                    quantity: quantity.into(),
                },
            },
            code: self.code.clone(),
            min_subtotal: self.min_subtotal_minor,
            product_ids: self.product_ids.clone(),
            category_ids: self.category_ids.clone(),
            customer_ids: self.customer_ids.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            usage_limit: self.usage_limit.map(i64::from),
            times_used: self.times_used.into(),
            per_customer_limit: self.per_customer_limit.map(i64::from),
            customer_uses,
            stackable: self.stackable,
            priority: self.priority,
        }
    }
}

/// A promotion's part of an order's discount, as it was applied.
#[derive(Serialize, Debug, Clone, sqlx::FromRow, ToSchema)]
pub struct AppliedDiscount {
    /// The promotion it came from (which may since have been changed or deleted).
    pub promotion_id: PromotionId,
    pub name: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub amount_minor: i64,
}
