//! The promotions engine: pure and deterministic. Given a basket and the
//! store's candidate promotions, it decides which promotions apply and how
//! much each takes off each line.
//!
//! Money is in minor units (cents); every division rounds down, so the
//! engine never gives away a fraction of a cent that it did not account for.
//!
//! # Eligibility
//!
//! A promotion is eligible for a basket when all of these hold:
//!
//! - it has no code (it is automatic), or the basket's code, without
//!   surrounding whitespace, equals its code ignoring ASCII case;
//! - `starts_at <= now < ends_at` (either bound may be absent);
//! - `customer_ids` is empty or lists the basket's customer, and when
//!   `per_customer_limit` is set the basket has a customer to count uses for;
//! - `times_used < usage_limit` and `customer_uses < per_customer_limit`
//!   (each only when set);
//! - the basket's subtotal (every line, before any discount) is at least
//!   `min_subtotal`;
//! - applied alone to the full basket, it takes something off.
//!
//! # Scope
//!
//! A line is in scope when the promotion lists neither products nor
//! categories, or when the line's product or one of its categories is listed.
//! A free item is not limited to in-scope lines: for it the lists name a
//! qualifying purchase instead, met by an in-scope line of any variant other
//! than the free one.
//!
//! # Amounts
//!
//! Every rule works on each line's remaining amount: its subtotal less what
//! promotions applied before it in the same evaluation took. No rule takes a
//! line below zero.
//!
//! - Percentage: each in-scope line loses `basis_points / 10000` of its
//!   remaining amount, rounded down per line.
//! - Fixed amount: the amount, capped at the in-scope lines' remaining total,
//!   is split across them in proportion to their remaining amounts, rounded
//!   down; the units lost to rounding go one each to in-scope lines with room
//!   left, in basket order, so the parts add up to the amount exactly.
//! - Buy X get Y: for every `buy + get` in-scope units, the `get` cheapest
//!   units are free (between equal prices, the earlier line's units first).
//! - Free item: up to `quantity` units of the variant are free, taken from its
//!   lines in basket order.
//!
//! # Stacking
//!
//! The eligible promotions are ordered by priority, highest first, then by
//! id. The stackable ones apply one after another in that order, each to what
//! the ones before it left. Each exclusive (non-stackable) promotion is instead
//! priced alone on the full basket. The order gets whichever gives the largest
//! total discount: the stackable combination, or one exclusive promotion on its
//! own. On a tie the stackable combination wins, and between exclusive
//! promotions the earlier in that order. A promotion that would take nothing
//! in its position is left out. An order carries at most one promotion code.
//!
//! # Codes
//!
//! When the basket carries a code, some promotion with that code must be
//! eligible. If none has the code the evaluation fails with
//! [`CodeRefused::Unknown`]; otherwise with the reason the first of them (in
//! the order above) is refused, checked in this order: window, customer,
//! usage limit, per-customer limit, minimum subtotal, nothing to discount.
//! An eligible code that loses to an exclusive promotion is not an error: the
//! order simply gets the larger discount.

use std::cmp::Reverse;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::{CategoryId, ProductId, PromotionId, UserId, VariantId};

/// A percentage's denominator: 10000 basis points are 100 %.
const BASIS_POINTS_IN_WHOLE: i64 = 10_000;

/// One line of the basket, priced by the server.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub product: ProductId,
    pub variant: VariantId,
    pub categories: Vec<CategoryId>,
    /// At least 1.
    pub quantity: i64,
    /// At least 0, in minor units.
    pub unit_price: i64,
}

impl Line {
    /// The line's amount before any discount.
    pub fn subtotal(&self) -> i64 {
        self.quantity * self.unit_price
    }
}

/// What the engine prices: the order's lines and who orders when, with which code.
#[derive(Clone, Copy, Debug)]
pub struct Basket<'a> {
    pub lines: &'a [Line],
    /// None for an order without a signed-in customer.
    pub customer: Option<UserId>,
    /// The one promotion code the order carries, as typed.
    pub code: Option<&'a str>,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Basis points off each in-scope line's remaining amount (1..=10000; 1000 = 10 %).
    Percentage { basis_points: i64 },
    /// This much off the in-scope lines' remaining total.
    FixedAmount { amount: i64 },
    /// For every `buy + get` in-scope units, the `get` cheapest are free.
    BuyXGetY { buy: i64, get: i64 },
    /// Up to `quantity` units of `variant` in the basket are free.
    FreeItem { variant: VariantId, quantity: i64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Promotion {
    pub id: PromotionId,
    pub rule: Rule,
    /// Applies only with this code (matched case-insensitively); None: automatic.
    pub code: Option<String>,
    pub min_subtotal: Option<i64>,
    /// Scope: when either list is non-empty, only lines of these products or in these categories count.
    pub product_ids: Vec<ProductId>,
    pub category_ids: Vec<CategoryId>,
    /// When non-empty, only these customers.
    pub customer_ids: Vec<UserId>,
    /// Inclusive.
    pub starts_at: Option<DateTime<Utc>>,
    /// Exclusive.
    pub ends_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i64>,
    pub times_used: i64,
    pub per_customer_limit: Option<i64>,
    /// How often this basket's customer has used it.
    pub customer_uses: i64,
    pub stackable: bool,
    /// Higher applies first among stackable ones.
    pub priority: i32,
}

/// One promotion's part of the order's discount.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub promotion: PromotionId,
    /// More than 0: the sum of `per_line`.
    pub amount: i64,
    /// Same length and order as the basket's lines.
    pub per_line: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// In the order they were applied.
    pub applied: Vec<Applied>,
    /// Per basket line, the sum over `applied`.
    pub line_discounts: Vec<i64>,
    /// The sum of `line_discounts`.
    pub total: i64,
}

/// Why the basket's code cannot be used (the API turns it into a 422 on `promotion_code`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeRefused {
    /// No candidate promotion has this code.
    Unknown,
    NotStarted,
    Ended,
    BelowMinimum {
        min_subtotal: i64,
    },
    /// `customer_ids` leaves the customer out, or there is no customer to
    /// count a per-customer limit against.
    NotThisCustomer,
    /// `usage_limit` reached.
    UsedUp,
    /// `per_customer_limit` reached.
    UsedUpByCustomer,
    /// No line in scope, the free item not in the basket, or too few units
    /// for buy-x-get-y.
    NothingToDiscount,
}

impl fmt::Display for CodeRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown => f.write_str("is not a known promotion code"),
            Self::NotStarted => f.write_str("is not valid yet"),
            Self::Ended => f.write_str("has expired"),
            Self::BelowMinimum { min_subtotal } => {
                write!(f, "needs a subtotal of at least {min_subtotal}")
            }
            Self::NotThisCustomer => f.write_str("is not available to this customer"),
            Self::UsedUp => f.write_str("has been used up"),
            Self::UsedUpByCustomer => f.write_str("has been used as often as allowed by this customer"),
            Self::NothingToDiscount => f.write_str("does not apply to anything in this order"),
        }
    }
}

impl std::error::Error for CodeRefused {}

/// The discount the promotions give the basket, or why its code cannot be used.
///
/// Deterministic: the same basket and promotions (in any input order) give the same outcome.
pub fn evaluate(basket: &Basket, promotions: &[Promotion]) -> Result<Outcome, CodeRefused> {
    let code = basket.code.map(str::trim);
    let subtotals: Vec<i64> = basket.lines.iter().map(Line::subtotal).collect();
    let assessed: Vec<(&Promotion, Option<CodeRefused>)> = in_application_order(promotions)
        .into_iter()
        .filter(|promotion| takes_code(promotion, code))
        .map(|promotion| (promotion, refusal(promotion, basket, &subtotals)))
        .collect();
    if code.is_some() {
        accept_code(&assessed)?;
    }
    let candidates: Vec<&Promotion> = assessed
        .iter()
        .filter(|(_, refused)| refused.is_none())
        .map(|(promotion, _)| *promotion)
        .collect();
    Ok(best_outcome(basket.lines, &candidates))
}

/// Priority descending, then id: the input order never matters.
fn in_application_order(promotions: &[Promotion]) -> Vec<&Promotion> {
    let mut ordered: Vec<&Promotion> = promotions.iter().collect();
    ordered.sort_by_key(|promotion| (Reverse(promotion.priority), promotion.id));
    ordered
}

/// Whether the promotion can apply given the basket's (trimmed) code.
fn takes_code(promotion: &Promotion, code: Option<&str>) -> bool {
    match (&promotion.code, code) {
        (None, _) => true,
        (Some(own), Some(typed)) => own.eq_ignore_ascii_case(typed),
        (Some(_), None) => false,
    }
}

/// Ok when some promotion with the basket's code is eligible. `assessed`
/// holds only promotions that take the code, so the coded ones are exactly
/// those with the basket's code.
fn accept_code(assessed: &[(&Promotion, Option<CodeRefused>)]) -> Result<(), CodeRefused> {
    let mut first_refusal = None;
    for (_, refused) in assessed.iter().filter(|(promotion, _)| promotion.code.is_some()) {
        match refused {
            None => return Ok(()),
            Some(reason) => {
                first_refusal.get_or_insert(reason);
            }
        }
    }
    Err(first_refusal.cloned().unwrap_or(CodeRefused::Unknown))
}

/// Why the promotion is not eligible for the basket, apart from its code;
/// None when it is. Checked in the order the API reports reasons.
fn refusal(promotion: &Promotion, basket: &Basket, subtotals: &[i64]) -> Option<CodeRefused> {
    if promotion
        .starts_at
        .is_some_and(|starts_at| basket.now < starts_at)
    {
        return Some(CodeRefused::NotStarted);
    }
    if promotion.ends_at.is_some_and(|ends_at| basket.now >= ends_at) {
        return Some(CodeRefused::Ended);
    }
    if !admits_customer(promotion, basket.customer) {
        return Some(CodeRefused::NotThisCustomer);
    }
    if promotion
        .usage_limit
        .is_some_and(|limit| promotion.times_used >= limit)
    {
        return Some(CodeRefused::UsedUp);
    }
    // A per-customer limit implies a customer here: admits_customer checked it.
    if promotion
        .per_customer_limit
        .is_some_and(|limit| promotion.customer_uses >= limit)
    {
        return Some(CodeRefused::UsedUpByCustomer);
    }
    let subtotal: i64 = subtotals.iter().sum();
    if let Some(min_subtotal) = promotion
        .min_subtotal
        .filter(|&min_subtotal| subtotal < min_subtotal)
    {
        return Some(CodeRefused::BelowMinimum { min_subtotal });
    }
    if discount(promotion, basket.lines, subtotals).iter().sum::<i64>() == 0 {
        return Some(CodeRefused::NothingToDiscount);
    }
    None
}

/// Whether the customer is one the promotion is for. Without a customer a
/// per-customer limit cannot be counted, so such a promotion is not for them.
fn admits_customer(promotion: &Promotion, customer: Option<UserId>) -> bool {
    let listed = promotion.customer_ids.is_empty()
        || customer.is_some_and(|customer| promotion.customer_ids.contains(&customer));
    listed && (promotion.per_customer_limit.is_none() || customer.is_some())
}

/// The stacking rule: the stackable combination, unless one exclusive
/// promotion alone discounts strictly more. `candidates` are in application order.
fn best_outcome(lines: &[Line], candidates: &[&Promotion]) -> Outcome {
    let (stackable, exclusive): (Vec<&Promotion>, Vec<&Promotion>) =
        candidates.iter().partition(|promotion| promotion.stackable);
    let mut best = apply_in_turn(lines, &stackable);
    for promotion in exclusive {
        let alone = apply_in_turn(lines, &[promotion]);
        if alone.total > best.total {
            best = alone;
        }
    }
    best
}

/// Applies the promotions one after another, each to what the ones before it
/// left, leaving out any that would take nothing.
fn apply_in_turn(lines: &[Line], promotions: &[&Promotion]) -> Outcome {
    let mut remaining: Vec<i64> = lines.iter().map(Line::subtotal).collect();
    let mut applied = Vec::new();
    for promotion in promotions {
        let per_line = discount(promotion, lines, &remaining);
        let amount: i64 = per_line.iter().sum();
        if amount > 0 {
            for (left, taken) in remaining.iter_mut().zip(&per_line) {
                *left -= taken;
            }
            applied.push(Applied {
                promotion: promotion.id,
                amount,
                per_line,
            });
        }
    }
    let mut line_discounts = vec![0; lines.len()];
    for part in &applied {
        for (line_discount, taken) in line_discounts.iter_mut().zip(&part.per_line) {
            *line_discount += taken;
        }
    }
    let total = line_discounts.iter().sum();
    Outcome {
        applied,
        line_discounts,
        total,
    }
}

/// What the promotion takes off each line, given each line's remaining amount.
fn discount(promotion: &Promotion, lines: &[Line], remaining: &[i64]) -> Vec<i64> {
    let scoped: Vec<bool> = lines.iter().map(|line| in_scope(promotion, line)).collect();
    let uncapped = match promotion.rule {
        Rule::Percentage { basis_points } => percentage(remaining, &scoped, basis_points),
        Rule::FixedAmount { amount } => fixed_amount(remaining, &scoped, amount),
        Rule::BuyXGetY { buy, get } => buy_x_get_y(lines, &scoped, buy, get),
        Rule::FreeItem { variant, quantity } => {
            if has_qualifying_purchase(promotion, lines, &scoped, variant) {
                free_item(lines, variant, quantity)
            } else {
                vec![0; lines.len()]
            }
        }
    };
    // Free units are priced at the full unit price, so earlier promotions can
    // leave a line less than that; this cap also keeps a malformed rule (say a
    // negative amount) from taking a line below zero or adding to it.
    uncapped
        .into_iter()
        .zip(remaining)
        .map(|(taken, &left)| taken.min(left).max(0))
        .collect()
}

/// Whether the promotion lists products or categories at all.
fn is_scoped(promotion: &Promotion) -> bool {
    !promotion.product_ids.is_empty() || !promotion.category_ids.is_empty()
}

/// Whether the basket meets a free item's condition: with scope lists, an
/// in-scope line of another variant, so the free item cannot qualify itself.
fn has_qualifying_purchase(promotion: &Promotion, lines: &[Line], scoped: &[bool], free: VariantId) -> bool {
    !is_scoped(promotion)
        || lines
            .iter()
            .zip(scoped)
            .any(|(line, &scoped)| scoped && line.variant != free)
}

fn in_scope(promotion: &Promotion, line: &Line) -> bool {
    !is_scoped(promotion)
        || promotion.product_ids.contains(&line.product)
        || line
            .categories
            .iter()
            .any(|category| promotion.category_ids.contains(category))
}

fn percentage(remaining: &[i64], scoped: &[bool], basis_points: i64) -> Vec<i64> {
    // A malformed rule neither adds to a line nor takes more than all of it.
    let basis_points = basis_points.clamp(0, BASIS_POINTS_IN_WHOLE);
    remaining
        .iter()
        .zip(scoped)
        .map(|(&left, &scoped)| {
            if scoped {
                share(left, basis_points, BASIS_POINTS_IN_WHOLE)
            } else {
                0
            }
        })
        .collect()
}

fn fixed_amount(remaining: &[i64], scoped: &[bool], amount: i64) -> Vec<i64> {
    let pool: i64 = remaining
        .iter()
        .zip(scoped)
        .filter(|(_, scoped)| **scoped)
        .map(|(left, _)| left)
        .sum();
    let total = amount.min(pool);
    // Also spares the division below a zero pool.
    if total <= 0 {
        return vec![0; remaining.len()];
    }
    let mut parts: Vec<i64> = remaining
        .iter()
        .zip(scoped)
        .map(|(&left, &scoped)| if scoped { share(total, left, pool) } else { 0 })
        .collect();
    let mut leftover = total - parts.iter().sum::<i64>();
    // Each part lost less than one unit to rounding, so the leftover is less
    // than the number of parts rounded down, and each of those has room (its
    // exact share is at most its remaining amount): one pass in basket order
    // hands all of it out, so the pass never needs to go round again.
    for ((part, &left), &scoped) in parts.iter_mut().zip(remaining).zip(scoped) {
        if leftover == 0 {
            break;
        }
        if scoped && *part < left {
            *part += 1;
            leftover -= 1;
        }
    }
    parts
}

/// Prices free units at their unit price; `discount` caps each line at its remainder.
fn buy_x_get_y(lines: &[Line], scoped: &[bool], buy: i64, get: i64) -> Vec<i64> {
    let mut discounts = vec![0; lines.len()];
    // A malformed rule discounts nothing rather than dividing by zero.
    if buy < 0 || get < 1 {
        return discounts;
    }
    let mut cheapest_first: Vec<usize> = (0..lines.len()).filter(|&index| scoped[index]).collect();
    cheapest_first.sort_by_key(|&index| (lines[index].unit_price, index));
    let units: i64 = cheapest_first.iter().map(|&index| lines[index].quantity).sum();
    let mut free_units = units / (buy + get) * get;
    for index in cheapest_first {
        let taken = free_units.min(lines[index].quantity);
        discounts[index] = taken * lines[index].unit_price;
        free_units -= taken;
    }
    discounts
}

/// Prices free units at their unit price; `discount` caps each line at its remainder.
fn free_item(lines: &[Line], variant: VariantId, quantity: i64) -> Vec<i64> {
    let mut units_left = quantity.max(0);
    lines
        .iter()
        .map(|line| {
            if line.variant != variant {
                return 0;
            }
            let taken = units_left.min(line.quantity);
            units_left -= taken;
            taken * line.unit_price
        })
        .collect()
}

/// `amount * numerator / denominator` rounded down, for `0 <= numerator <= denominator`
/// and a positive denominator; computed in i128 so the product cannot overflow.
fn share(amount: i64, numerator: i64, denominator: i64) -> i64 {
    let exact = i128::from(amount) * i128::from(numerator) / i128::from(denominator);
    // At most `amount` in magnitude, since numerator <= denominator, so it fits.
    exact as i64
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};
    use uuid::Uuid;

    use super::*;

    fn product(n: u128) -> ProductId {
        ProductId(Uuid::from_u128(n))
    }

    fn variant(n: u128) -> VariantId {
        VariantId(Uuid::from_u128(n))
    }

    fn category(n: u128) -> CategoryId {
        CategoryId(Uuid::from_u128(n))
    }

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    /// Promotion n sorts before promotion n + 1 at equal priority.
    fn promotion_id(n: u128) -> PromotionId {
        PromotionId(Uuid::from_u128(n))
    }

    /// Noon on the given day of March 2026.
    fn day(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0)
            .single()
            .expect("a valid date")
    }

    fn second_before(instant: DateTime<Utc>) -> DateTime<Utc> {
        instant - TimeDelta::seconds(1)
    }

    /// A line of product n, variant n, in no category.
    fn line(n: u128, quantity: i64, unit_price: i64) -> Line {
        line_in(n, &[], quantity, unit_price)
    }

    fn line_in(n: u128, categories: &[u128], quantity: i64, unit_price: i64) -> Line {
        Line {
            product: product(n),
            variant: variant(n),
            categories: categories.iter().copied().map(category).collect(),
            quantity,
            unit_price,
        }
    }

    /// An automatic, stackable, unlimited promotion of priority 0.
    fn promotion(n: u128, rule: Rule) -> Promotion {
        Promotion {
            id: promotion_id(n),
            rule,
            code: None,
            min_subtotal: None,
            product_ids: vec![],
            category_ids: vec![],
            customer_ids: vec![],
            starts_at: None,
            ends_at: None,
            usage_limit: None,
            times_used: 0,
            per_customer_limit: None,
            customer_uses: 0,
            stackable: true,
            priority: 0,
        }
    }

    fn percentage(n: u128, basis_points: i64) -> Promotion {
        promotion(n, Rule::Percentage { basis_points })
    }

    fn fixed(n: u128, amount: i64) -> Promotion {
        promotion(n, Rule::FixedAmount { amount })
    }

    fn buy_get(n: u128, buy: i64, get: i64) -> Promotion {
        promotion(n, Rule::BuyXGetY { buy, get })
    }

    fn free(n: u128, free_variant: u128, quantity: i64) -> Promotion {
        promotion(
            n,
            Rule::FreeItem {
                variant: variant(free_variant),
                quantity,
            },
        )
    }

    /// 10 % off, from day 10 (inclusive) to day 20 (exclusive).
    fn windowed(n: u128) -> Promotion {
        Promotion {
            starts_at: Some(day(10)),
            ends_at: Some(day(20)),
            ..percentage(n, 1000)
        }
    }

    fn coded(code: &str, promotion: Promotion) -> Promotion {
        Promotion {
            code: Some(code.to_owned()),
            ..promotion
        }
    }

    fn exclusive(promotion: Promotion) -> Promotion {
        Promotion {
            stackable: false,
            ..promotion
        }
    }

    /// The expected outcome: each applied promotion as (n, amount, per line), then the line discounts.
    fn gives(applied: &[(u128, i64, &[i64])], line_discounts: &[i64]) -> Result<Outcome, CodeRefused> {
        Ok(Outcome {
            applied: applied
                .iter()
                .map(|&(n, amount, per_line)| Applied {
                    promotion: promotion_id(n),
                    amount,
                    per_line: per_line.to_vec(),
                })
                .collect(),
            line_discounts: line_discounts.to_vec(),
            total: line_discounts.iter().sum(),
        })
    }

    struct Case {
        name: &'static str,
        lines: Vec<Line>,
        promotions: Vec<Promotion>,
        customer: Option<UserId>,
        code: Option<&'static str>,
        now: DateTime<Utc>,
        expected: Result<Outcome, CodeRefused>,
    }

    /// A case without lines, promotions, customer or code, on day 15, expecting nothing.
    fn case(name: &'static str) -> Case {
        Case {
            name,
            lines: vec![],
            promotions: vec![],
            customer: None,
            code: None,
            now: day(15),
            expected: gives(&[], &[]),
        }
    }

    impl Case {
        fn evaluate(&self, promotions: &[Promotion]) -> Result<Outcome, CodeRefused> {
            let basket = Basket {
                lines: &self.lines,
                customer: self.customer,
                code: self.code,
                now: self.now,
            };
            evaluate(&basket, promotions)
        }
    }

    fn cases() -> Vec<Case> {
        vec![
            // --- Each rule kind ---
            Case {
                // 10 % of 999 = 99.9 -> 99 on each line: 198, not 10 % of the 1998 total (199).
                lines: vec![line(1, 1, 999), line(2, 3, 333)],
                promotions: vec![percentage(1, 1000)],
                expected: gives(&[(1, 198, &[99, 99])], &[99, 99]),
                ..case("percentage rounds down on each line")
            },
            Case {
                // Subtotals 500, 300, 200 = 1000. 333*500/1000 = 166.5 -> 166, 333*300/1000 = 99.9
                // -> 99, 333*200/1000 = 66.6 -> 66: 331, leftover 2 to the first two lines.
                lines: vec![line(1, 1, 500), line(2, 2, 150), line(3, 1, 200)],
                promotions: vec![fixed(1, 333)],
                expected: gives(&[(1, 333, &[167, 100, 66])], &[167, 100, 66]),
                ..case("fixed amount is shared in proportion, leftover cents in basket order")
            },
            Case {
                // min(1000, 300 + 200) = 500: 500*300/500 = 300, 500*200/500 = 200.
                lines: vec![line(1, 1, 300), line(2, 1, 200)],
                promotions: vec![fixed(1, 1000)],
                expected: gives(&[(1, 500, &[300, 200])], &[300, 200]),
                ..case("fixed amount above the basket is capped at it")
            },
            Case {
                // Units 150 | 200 200 | 500 500 500: 6 / (2+1) * 1 = 2 free, the 150 and a 200.
                lines: vec![line(1, 3, 500), line(2, 1, 150), line(3, 2, 200)],
                promotions: vec![buy_get(1, 2, 1)],
                expected: gives(&[(1, 350, &[0, 150, 200])], &[0, 150, 200]),
                ..case("buy 2 get 1 frees the cheapest units across lines")
            },
            Case {
                // Units 100 (line 0) | 100 100 (line 1): 3 / 3 = 1 free; equal prices, line 0 first.
                lines: vec![line(1, 1, 100), line(2, 2, 100)],
                promotions: vec![buy_get(1, 2, 1)],
                expected: gives(&[(1, 100, &[100, 0])], &[100, 0]),
                ..case("buy x get y between equal prices frees the earlier line")
            },
            Case {
                // 2 units / (2+1) = 0 groups: nothing free, so the promotion is not eligible.
                lines: vec![line(1, 2, 500)],
                promotions: vec![buy_get(1, 2, 1)],
                expected: gives(&[], &[0]),
                ..case("buy 2 get 1 with two units discounts nothing")
            },
            Case {
                // In scope: category 7's units 400 400: 2 / (1+1) * 1 = 1 free = 400; the cheaper
                // out-of-scope units of line 1 do not count.
                lines: vec![line_in(1, &[7], 2, 400), line(2, 5, 100)],
                promotions: vec![Promotion {
                    category_ids: vec![category(7)],
                    ..buy_get(1, 1, 1)
                }],
                expected: gives(&[(1, 400, &[400, 0])], &[400, 0]),
                ..case("buy x get y counts only in-scope units")
            },
            Case {
                // One unit of variant 9 at 250.
                lines: vec![line(1, 1, 1000), line(9, 2, 250)],
                promotions: vec![free(1, 9, 1)],
                expected: gives(&[(1, 250, &[0, 250])], &[0, 250]),
                ..case("free item in the basket is free")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![free(1, 9, 1)],
                expected: gives(&[], &[0]),
                ..case("free item not in the basket discounts nothing")
            },
            Case {
                // 3 free units of variant 9: both of line 1 (2 * 250 = 500), then 1 of line 2 (240).
                lines: vec![line(1, 1, 1000), line(9, 2, 250), line(9, 2, 240)],
                promotions: vec![free(1, 9, 3)],
                expected: gives(&[(1, 740, &[0, 500, 240])], &[0, 500, 240]),
                ..case("free item quantity above a line's quantity goes on to later lines")
            },
            Case {
                // Product 1 qualifies; variant 9 is free: 250.
                lines: vec![line(1, 1, 1000), line(9, 1, 250)],
                promotions: vec![Promotion {
                    product_ids: vec![product(1)],
                    ..free(1, 9, 1)
                }],
                expected: gives(&[(1, 250, &[0, 250])], &[0, 250]),
                ..case("free item with its qualifying product")
            },
            Case {
                lines: vec![line(2, 1, 1000), line(9, 1, 250)],
                promotions: vec![Promotion {
                    product_ids: vec![product(1)],
                    ..free(1, 9, 1)
                }],
                expected: gives(&[], &[0, 0]),
                ..case("free item without its qualifying product")
            },
            Case {
                // Product 9 is listed, but its only line is the free variant itself.
                lines: vec![line(9, 2, 250)],
                promotions: vec![Promotion {
                    product_ids: vec![product(9)],
                    ..free(1, 9, 1)
                }],
                expected: gives(&[], &[0]),
                ..case("the free item does not qualify for itself")
            },
            // --- Scope ---
            Case {
                // Only line 1 (product 2, 300) is in scope: 100 of it.
                lines: vec![line(1, 1, 1000), line(2, 1, 300)],
                promotions: vec![Promotion {
                    product_ids: vec![product(2)],
                    ..fixed(1, 100)
                }],
                expected: gives(&[(1, 100, &[0, 100])], &[0, 100]),
                ..case("scope by product")
            },
            Case {
                // Line 0 is in category 7 (10 % of 1000), line 1 only in 8 (out), line 2 is
                // product 3 (10 % of 200).
                lines: vec![
                    line_in(1, &[7, 8], 1, 1000),
                    line_in(2, &[8], 1, 500),
                    line(3, 1, 200),
                ],
                promotions: vec![Promotion {
                    category_ids: vec![category(7)],
                    product_ids: vec![product(3)],
                    ..percentage(1, 1000)
                }],
                expected: gives(&[(1, 120, &[100, 0, 20])], &[100, 0, 20]),
                ..case("scope by category or product")
            },
            // --- Minimum subtotal ---
            Case {
                // 4999 < 5000.
                lines: vec![line(1, 1, 4999)],
                promotions: vec![Promotion {
                    min_subtotal: Some(5000),
                    ..percentage(1, 1000)
                }],
                expected: gives(&[], &[0]),
                ..case("subtotal just below the minimum")
            },
            Case {
                // 2 * 2500 = 5000 >= 5000; 10 % = 500.
                lines: vec![line(1, 2, 2500)],
                promotions: vec![Promotion {
                    min_subtotal: Some(5000),
                    ..percentage(1, 1000)
                }],
                expected: gives(&[(1, 500, &[500])], &[500]),
                ..case("subtotal exactly at the minimum")
            },
            Case {
                // Subtotal 4000 + 1000 = 5000 meets the minimum; only product 1 is discounted: 400.
                lines: vec![line(1, 1, 4000), line(2, 1, 1000)],
                promotions: vec![Promotion {
                    min_subtotal: Some(5000),
                    product_ids: vec![product(1)],
                    ..percentage(1, 1000)
                }],
                expected: gives(&[(1, 400, &[400, 0])], &[400, 0]),
                ..case("the minimum counts out-of-scope lines")
            },
            // --- Window [day 10, day 20) ---
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![windowed(1)],
                now: second_before(day(10)),
                expected: gives(&[], &[0]),
                ..case("a second before the start")
            },
            Case {
                // 10 % of 1000.
                lines: vec![line(1, 1, 1000)],
                promotions: vec![windowed(1)],
                now: day(10),
                expected: gives(&[(1, 100, &[100])], &[100]),
                ..case("at the start")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![windowed(1)],
                now: second_before(day(20)),
                expected: gives(&[(1, 100, &[100])], &[100]),
                ..case("a second before the end")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![windowed(1)],
                now: day(20),
                expected: gives(&[], &[0]),
                ..case("at the end, which is exclusive")
            },
            // --- Customers and limits ---
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![Promotion {
                    customer_ids: vec![user(1), user(2)],
                    ..percentage(1, 1000)
                }],
                customer: Some(user(2)),
                expected: gives(&[(1, 100, &[100])], &[100]),
                ..case("a listed customer")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![Promotion {
                    customer_ids: vec![user(1), user(2)],
                    ..percentage(1, 1000)
                }],
                customer: Some(user(3)),
                expected: gives(&[], &[0]),
                ..case("an unlisted customer")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![Promotion {
                    customer_ids: vec![user(1)],
                    ..percentage(1, 1000)
                }],
                expected: gives(&[], &[0]),
                ..case("a customer list and no customer")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![Promotion {
                    usage_limit: Some(100),
                    times_used: 100,
                    ..percentage(1, 1000)
                }],
                expected: gives(&[], &[0]),
                ..case("usage limit reached")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![Promotion {
                    usage_limit: Some(100),
                    times_used: 99,
                    ..percentage(1, 1000)
                }],
                expected: gives(&[(1, 100, &[100])], &[100]),
                ..case("one use left")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![Promotion {
                    per_customer_limit: Some(1),
                    customer_uses: 1,
                    ..percentage(1, 1000)
                }],
                customer: Some(user(1)),
                expected: gives(&[], &[0]),
                ..case("per-customer limit reached")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![Promotion {
                    per_customer_limit: Some(2),
                    customer_uses: 1,
                    ..percentage(1, 1000)
                }],
                customer: Some(user(1)),
                expected: gives(&[(1, 100, &[100])], &[100]),
                ..case("per-customer limit with a use left")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![Promotion {
                    per_customer_limit: Some(1),
                    ..percentage(1, 1000)
                }],
                expected: gives(&[], &[0]),
                ..case("per-customer limit and no customer")
            },
            // --- Codes ---
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded("SPRING10", percentage(1, 1000))],
                code: Some("  spring10 "),
                expected: gives(&[(1, 100, &[100])], &[100]),
                ..case("code matches ignoring case and surrounding spaces")
            },
            Case {
                // The automatic 10 % applies; the coded 20 % needs its code.
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded("SPRING20", percentage(1, 2000)), percentage(2, 1000)],
                expected: gives(&[(2, 100, &[100])], &[100]),
                ..case("a coded promotion needs its code")
            },
            Case {
                // Automatic 10 % first (priority 1): 100; coded fixed 100 on the 900 left.
                lines: vec![line(1, 1, 1000)],
                promotions: vec![
                    coded("TAKE100", fixed(1, 100)),
                    Promotion {
                        priority: 1,
                        ..percentage(2, 1000)
                    },
                ],
                code: Some("TAKE100"),
                expected: gives(&[(2, 100, &[100]), (1, 100, &[100])], &[200]),
                ..case("a code stacks with automatic promotions")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded("SPRING10", percentage(1, 1000)), percentage(2, 1000)],
                code: Some("WINTER10"),
                expected: Err(CodeRefused::Unknown),
                ..case("unknown code")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![percentage(1, 1000)],
                code: Some("SPRING10"),
                expected: Err(CodeRefused::Unknown),
                ..case("a code when every promotion is automatic")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded("SPRING10", windowed(1))],
                code: Some("SPRING10"),
                now: second_before(day(10)),
                expected: Err(CodeRefused::NotStarted),
                ..case("code refused: not started")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded("SPRING10", windowed(1))],
                code: Some("SPRING10"),
                now: day(20),
                expected: Err(CodeRefused::Ended),
                ..case("code refused: ended")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded(
                    "VIP",
                    Promotion {
                        customer_ids: vec![user(1)],
                        ..percentage(1, 1000)
                    },
                )],
                customer: Some(user(2)),
                code: Some("VIP"),
                expected: Err(CodeRefused::NotThisCustomer),
                ..case("code refused: another customer's")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded(
                    "ONCE",
                    Promotion {
                        per_customer_limit: Some(1),
                        ..percentage(1, 1000)
                    },
                )],
                code: Some("ONCE"),
                expected: Err(CodeRefused::NotThisCustomer),
                ..case("code refused: per-customer limit and no customer")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded(
                    "FIRST100",
                    Promotion {
                        usage_limit: Some(100),
                        times_used: 100,
                        ..percentage(1, 1000)
                    },
                )],
                code: Some("FIRST100"),
                expected: Err(CodeRefused::UsedUp),
                ..case("code refused: used up")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded(
                    "ONCE",
                    Promotion {
                        per_customer_limit: Some(1),
                        customer_uses: 1,
                        ..percentage(1, 1000)
                    },
                )],
                customer: Some(user(1)),
                code: Some("ONCE"),
                expected: Err(CodeRefused::UsedUpByCustomer),
                ..case("code refused: used up by this customer")
            },
            Case {
                lines: vec![line(1, 1, 4999)],
                promotions: vec![coded(
                    "BIG",
                    Promotion {
                        min_subtotal: Some(5000),
                        ..percentage(1, 1000)
                    },
                )],
                code: Some("BIG"),
                expected: Err(CodeRefused::BelowMinimum { min_subtotal: 5000 }),
                ..case("code refused: below the minimum")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded(
                    "SHOES",
                    Promotion {
                        category_ids: vec![category(7)],
                        ..percentage(1, 1000)
                    },
                )],
                code: Some("SHOES"),
                expected: Err(CodeRefused::NothingToDiscount),
                ..case("code refused: no line in scope")
            },
            Case {
                lines: vec![line(1, 1, 1000)],
                promotions: vec![coded("GIFT", free(1, 9, 1))],
                code: Some("GIFT"),
                expected: Err(CodeRefused::NothingToDiscount),
                ..case("code refused: free item not in the basket")
            },
            Case {
                lines: vec![line(1, 2, 500)],
                promotions: vec![coded("3FOR2", buy_get(1, 2, 1))],
                code: Some("3FOR2"),
                expected: Err(CodeRefused::NothingToDiscount),
                ..case("code refused: too few units for buy 2 get 1")
            },
            Case {
                lines: vec![],
                promotions: vec![coded("SPRING10", percentage(1, 1000))],
                code: Some("SPRING10"),
                expected: Err(CodeRefused::NothingToDiscount),
                ..case("code refused: empty basket")
            },
            Case {
                // Ended, used up and below the minimum: the window is checked first.
                lines: vec![line(1, 1, 100)],
                promotions: vec![coded(
                    "OLD",
                    Promotion {
                        usage_limit: Some(1),
                        times_used: 1,
                        min_subtotal: Some(5000),
                        ..windowed(1)
                    },
                )],
                code: Some("OLD"),
                now: day(25),
                expected: Err(CodeRefused::Ended),
                ..case("code refused: the window is reported before other reasons")
            },
            Case {
                // Used up and below the minimum: usage is checked before the minimum.
                lines: vec![line(1, 1, 100)],
                promotions: vec![coded(
                    "OLD",
                    Promotion {
                        usage_limit: Some(1),
                        times_used: 1,
                        min_subtotal: Some(5000),
                        ..percentage(1, 1000)
                    },
                )],
                code: Some("OLD"),
                expected: Err(CodeRefused::UsedUp),
                ..case("code refused: usage is reported before the minimum")
            },
            Case {
                // Promotion 2 (priority 5) comes before promotion 1 (priority 0).
                lines: vec![line(1, 1, 1000)],
                promotions: vec![
                    coded(
                        "TWO",
                        Promotion {
                            ends_at: Some(day(1)),
                            ..percentage(1, 1000)
                        },
                    ),
                    coded(
                        "TWO",
                        Promotion {
                            priority: 5,
                            min_subtotal: Some(5000),
                            ..percentage(2, 1000)
                        },
                    ),
                ],
                code: Some("TWO"),
                expected: Err(CodeRefused::BelowMinimum { min_subtotal: 5000 }),
                ..case("code refused: the first promotion with the code gives the reason")
            },
            Case {
                // Promotion 1 has ended; promotion 2 with the same code takes 20 % of 1000.
                lines: vec![line(1, 1, 1000)],
                promotions: vec![
                    coded(
                        "TWO",
                        Promotion {
                            ends_at: Some(day(1)),
                            ..percentage(1, 1000)
                        },
                    ),
                    coded("TWO", percentage(2, 2000)),
                ],
                code: Some("TWO"),
                expected: gives(&[(2, 200, &[200])], &[200]),
                ..case("one eligible promotion with the code is enough")
            },
            Case {
                // Coded 5 % of 2000 = 100 < exclusive automatic 500: the code is left out, no error.
                lines: vec![line(1, 1, 2000)],
                promotions: vec![coded("SMALL", percentage(1, 500)), exclusive(fixed(2, 500))],
                code: Some("SMALL"),
                expected: gives(&[(2, 500, &[500])], &[500]),
                ..case("an eligible code beaten by an exclusive is no error")
            },
            // --- Stacking ---
            Case {
                // 10 % first (priority 10): 100 + 50. Fixed 300 on 900 + 450 = 1350:
                // 300*900/1350 = 200, 300*450/1350 = 100. (Fixed first would give 420.)
                lines: vec![line(1, 1, 1000), line(2, 1, 500)],
                promotions: vec![
                    Promotion {
                        priority: 5,
                        ..fixed(1, 300)
                    },
                    Promotion {
                        priority: 10,
                        ..percentage(2, 1000)
                    },
                ],
                expected: gives(&[(2, 150, &[100, 50]), (1, 300, &[200, 100])], &[300, 150]),
                ..case("stackable promotions apply by priority, each on what is left")
            },
            Case {
                // Equal priority, id order: fixed 300 on 1000 + 500: 200, 100; then 10 % of the
                // 800 and 400 left: 80, 40.
                lines: vec![line(1, 1, 1000), line(2, 1, 500)],
                promotions: vec![percentage(2, 1000), fixed(1, 300)],
                expected: gives(&[(1, 300, &[200, 100]), (2, 120, &[80, 40])], &[280, 140]),
                ..case("equal priorities apply in id order")
            },
            Case {
                // Stackable: 10 % = 100 + 50; fixed 100 on 900 + 450: 66.7 -> 66, 33.3 -> 33,
                // leftover 1 -> 67, 33; together 250. Exclusive fixed 400 on the full 1500:
                // 266.7 -> 266, 133.3 -> 133, leftover 1 -> 267, 133 = 400 > 250.
                lines: vec![line(1, 1, 1000), line(2, 1, 500)],
                promotions: vec![percentage(1, 1000), fixed(2, 100), exclusive(fixed(3, 400))],
                expected: gives(&[(3, 400, &[267, 133])], &[267, 133]),
                ..case("an exclusive beats a smaller combination")
            },
            Case {
                // Stackable 250 as above > exclusive 200 (133.3 -> 133, 66.7 -> 66, leftover 1 -> 134, 66).
                lines: vec![line(1, 1, 1000), line(2, 1, 500)],
                promotions: vec![percentage(1, 1000), fixed(2, 100), exclusive(fixed(3, 200))],
                expected: gives(&[(1, 150, &[100, 50]), (2, 100, &[67, 33])], &[167, 83]),
                ..case("a combination beats a smaller exclusive")
            },
            Case {
                // Stackable 10 % of 1500 = 150 ties the exclusive fixed 150: the combination wins.
                lines: vec![line(1, 1, 1000), line(2, 1, 500)],
                promotions: vec![exclusive(fixed(1, 150)), percentage(2, 1000)],
                expected: gives(&[(2, 150, &[100, 50])], &[100, 50]),
                ..case("a tie goes to the combination")
            },
            Case {
                // Both exclusive, both 150; promotion 2 has the higher priority, so it is earlier.
                lines: vec![line(1, 1, 1000), line(2, 1, 500)],
                promotions: vec![
                    exclusive(fixed(1, 150)),
                    exclusive(Promotion {
                        priority: 5,
                        ..percentage(2, 1000)
                    }),
                ],
                expected: gives(&[(2, 150, &[100, 50])], &[100, 50]),
                ..case("a tie between exclusives goes to the earlier in order")
            },
            Case {
                // 60 % of 1000 = 600; 60 % of the 400 left = 240.
                lines: vec![line(1, 1, 1000)],
                promotions: vec![
                    Promotion {
                        priority: 1,
                        ..percentage(1, 6000)
                    },
                    percentage(2, 6000),
                ],
                expected: gives(&[(1, 600, &[600]), (2, 240, &[240])], &[840]),
                ..case("60 % then 60 % takes 60 % of what is left")
            },
            Case {
                // 700, then min(700, 300 left) = 300: the line ends at 0, not -400.
                lines: vec![line(1, 1, 1000)],
                promotions: vec![
                    Promotion {
                        priority: 1,
                        ..fixed(1, 700)
                    },
                    fixed(2, 700),
                ],
                expected: gives(&[(1, 700, &[700]), (2, 300, &[300])], &[1000]),
                ..case("a stacked fixed amount stops at the line's remainder")
            },
            Case {
                // 60 % of 300 = 180, 120 left. Buy 1 get 2: 3 units / 3 * 2 = 2 free = 200, capped at 120.
                lines: vec![line(1, 3, 100)],
                promotions: vec![
                    Promotion {
                        priority: 1,
                        ..percentage(1, 6000)
                    },
                    buy_get(2, 1, 2),
                ],
                expected: gives(&[(1, 180, &[180]), (2, 120, &[120])], &[300]),
                ..case("stacked free units stop at the line's remainder")
            },
            Case {
                // 60 % of 250 = 150, 100 left; the free unit (250) is capped at 100.
                lines: vec![line(9, 1, 250)],
                promotions: vec![
                    Promotion {
                        priority: 1,
                        ..percentage(1, 6000)
                    },
                    free(2, 9, 1),
                ],
                expected: gives(&[(1, 150, &[150]), (2, 100, &[100])], &[250]),
                ..case("a stacked free item stops at the line's remainder")
            },
            Case {
                // Fixed 1000 takes the whole 1000 line; 10 % of 0 is 0, so it is left out.
                lines: vec![line(1, 1, 1000)],
                promotions: vec![
                    Promotion {
                        priority: 1,
                        ..fixed(1, 1000)
                    },
                    percentage(2, 1000),
                ],
                expected: gives(&[(1, 1000, &[1000])], &[1000]),
                ..case("a promotion with nothing left to take is left out")
            },
            Case {
                promotions: vec![percentage(1, 1000)],
                ..case("an empty basket gets nothing")
            },
        ]
    }

    #[test]
    fn each_case_gives_its_hand_computed_outcome() {
        for case in cases() {
            assert_eq!(case.evaluate(&case.promotions), case.expected, "{}", case.name);
        }
    }

    #[test]
    fn the_input_order_of_promotions_does_not_matter() {
        for case in cases() {
            let mut reversed = case.promotions.clone();
            reversed.reverse();
            for promotions in [case.promotions.clone(), reversed] {
                let mut shuffled = promotions;
                for _ in 0..shuffled.len() {
                    shuffled.rotate_left(1);
                    assert_eq!(case.evaluate(&shuffled), case.expected, "{}", case.name);
                }
            }
        }
    }

    #[test]
    fn outcomes_add_up_and_never_take_a_line_below_zero() {
        for case in cases() {
            let Ok(outcome) = case.evaluate(&case.promotions) else {
                continue;
            };
            let name = case.name;
            assert_eq!(outcome.line_discounts.len(), case.lines.len(), "{name}");
            for (index, (line, &line_discount)) in case.lines.iter().zip(&outcome.line_discounts).enumerate()
            {
                assert!(
                    (0..=line.subtotal()).contains(&line_discount),
                    "{name}: line {index}"
                );
                let applied_to_line: i64 = outcome.applied.iter().map(|part| part.per_line[index]).sum();
                assert_eq!(applied_to_line, line_discount, "{name}: line {index}");
            }
            for part in &outcome.applied {
                assert_eq!(part.per_line.len(), case.lines.len(), "{name}");
                assert!(part.per_line.iter().all(|&taken| taken >= 0), "{name}");
                assert_eq!(part.per_line.iter().sum::<i64>(), part.amount, "{name}");
                assert!(part.amount > 0, "{name}");
            }
            assert_eq!(
                outcome.total,
                outcome.line_discounts.iter().sum::<i64>(),
                "{name}"
            );
            assert_eq!(
                outcome.total,
                outcome.applied.iter().map(|part| part.amount).sum::<i64>(),
                "{name}"
            );
        }
    }

    #[test]
    fn refusals_read_as_sentences_about_the_code() {
        assert_eq!(
            CodeRefused::BelowMinimum { min_subtotal: 5000 }.to_string(),
            "needs a subtotal of at least 5000"
        );
        assert_eq!(CodeRefused::Unknown.to_string(), "is not a known promotion code");
        assert_eq!(
            CodeRefused::UsedUpByCustomer.to_string(),
            "has been used as often as allowed by this customer"
        );
    }
}
