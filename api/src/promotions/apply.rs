//! Applying a store's promotions to an order's basket, inside the order's
//! transaction: the pure engine decides, and the uses of limited promotions
//! are counted so that their limits hold under concurrent orders.

use chrono::{DateTime, Utc};

use super::engine::{self, CodeRefused};
use super::model::AppliedDiscount;
use super::sql::{self, Candidate};
use crate::db::StoreTx;
use crate::error::{ApiError, FieldError};
use crate::ids::{PromotionId, UserId};

/// How often promotions are evaluated again when a concurrent order took
/// the last use of one this order was getting.
const ATTEMPTS: usize = 3;

/// What the promotions took off an order.
pub struct Applied {
    /// Each promotion's part, to record on the order.
    pub discounts: Vec<AppliedDiscount>,
    /// The discount of each basket line, in basket order.
    pub line_discounts: Vec<i64>,
}

/// Evaluates the store's promotions on `basket` and counts a use of each
/// limited one applied. When a concurrent order took the last use of one,
/// the counts are rolled back to a savepoint and the promotions evaluated
/// again, now without it.
pub async fn apply_to_basket(
    tx: &mut StoreTx,
    basket: &[engine::Line],
    customer: Option<UserId>,
    code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Applied, ApiError> {
    for _ in 0..ATTEMPTS {
        let candidates = sql::candidates_for_order(tx, customer, code).await?;
        if candidates.is_empty() && code.is_none() {
            return Ok(Applied {
                discounts: Vec::new(),
                line_discounts: vec![0; basket.len()],
            });
        }
        let outcome = evaluate(basket, &candidates, customer, code, now)?;
        let limited = outcome
            .applied
            .iter()
            .filter_map(|applied| candidate(&candidates, applied.promotion))
            .any(|c| c.row.usage_limit.is_some() || c.row.per_customer_limit.is_some());
        if !limited {
            return Ok(Applied::of(&candidates, outcome));
        }
        savepoint(tx, "SAVEPOINT promotion_uses").await?;
        let mut all_counted = true;
        for applied in &outcome.applied {
            if let Some(c) = candidate(&candidates, applied.promotion) {
                all_counted &= sql::count_use(tx, &c.row, customer).await?;
            }
            if !all_counted {
                break;
            }
        }
        if all_counted {
            return Ok(Applied::of(&candidates, outcome));
        }
        savepoint(tx, "ROLLBACK TO SAVEPOINT promotion_uses").await?;
    }
    Err(ApiError::Unavailable(
        "promotions changed under this order too often; retry it".to_owned(),
    ))
}

/// The engine's outcome for `basket`; a refused code is a 422 on `promotion_code`.
fn evaluate(
    basket: &[engine::Line],
    candidates: &[Candidate],
    customer: Option<UserId>,
    code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<engine::Outcome, ApiError> {
    let promotions: Vec<_> = candidates
        .iter()
        .map(|c| c.row.for_engine(c.customer_uses.into()))
        .collect();
    engine::evaluate(
        &engine::Basket {
            lines: basket,
            customer,
            code,
            now,
        },
        &promotions,
    )
    .map_err(|refused: CodeRefused| {
        ApiError::Validation(vec![FieldError::new("promotion_code", refused.to_string())])
    })
}

fn candidate(candidates: &[Candidate], id: PromotionId) -> Option<&Candidate> {
    candidates.iter().find(|c| c.row.id == id)
}

impl Applied {
    /// The discounts to record on the order, in the order they were applied.
    fn of(candidates: &[Candidate], outcome: engine::Outcome) -> Self {
        let discounts = outcome
            .applied
            .iter()
            .filter_map(|applied| {
                candidate(candidates, applied.promotion).map(|c| AppliedDiscount {
                    promotion_id: c.row.id,
                    name: c.row.name.clone(),
                    kind: c.row.kind.clone(),
                    code: c.row.code.clone(),
                    amount_minor: applied.amount,
                })
            })
            .collect();
        Self {
            discounts,
            line_discounts: outcome.line_discounts,
        }
    }
}

async fn savepoint(tx: &mut StoreTx, statement: &'static str) -> Result<(), ApiError> {
    sqlx::query(statement).execute(tx.conn()).await?;
    Ok(())
}
