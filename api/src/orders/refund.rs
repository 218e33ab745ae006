//! What a refund gives back, as a pure function of the order's lines.
//!
//! A unit's money is its share of the line's total (discounts included):
//! refunding units j+1..=k of a line of n gives back
//! floor(total·k/n) − floor(total·j/n), so the refunds of a whole line add
//! up to exactly what it cost, however they are split.

use super::model::{OrderLine, RefundLine};
use crate::error::{ApiError, FieldError};

/// One line's part of a refund.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefundPart {
    /// Index into the order's lines.
    pub line: usize,
    pub quantity: i32,
    pub amount: i64,
}

/// The parts of refunding `request` from `lines`, and whether no unit is
/// left unrefunded after it. 422 for unknown or repeated lines and
/// quantities below 1; 409 naming `lines[i].quantity` for more units than
/// are left to refund.
pub fn plan(lines: &[OrderLine], request: &[RefundLine]) -> Result<(Vec<RefundPart>, bool), ApiError> {
    if request.is_empty() || request.len() > lines.len() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "lines",
            format!("name 1 to {} lines of this order", lines.len()),
        )]));
    }
    let mut invalid = Vec::new();
    let mut parts: Vec<RefundPart> = Vec::new();
    for (i, asked) in request.iter().enumerate() {
        let Some(index) = lines.iter().position(|line| line.id == asked.line_id) else {
            invalid.push(FieldError::new(
                format!("lines[{i}].line_id"),
                "is not a line of this order",
            ));
            continue;
        };
        if parts.iter().any(|part| part.line == index) {
            invalid.push(FieldError::new(format!("lines[{i}].line_id"), "is named twice"));
            continue;
        }
        if asked.quantity < 1 {
            invalid.push(FieldError::new(
                format!("lines[{i}].quantity"),
                "must be at least 1",
            ));
            continue;
        }
        let line = &lines[index];
        let left = line.quantity - line.refunded_quantity;
        if asked.quantity > left {
            return Err(ApiError::conflict(
                format!("lines[{i}].quantity"),
                format!(
                    "only {left} of this line's {} units are left to refund",
                    line.quantity
                ),
            ));
        }
        let share = |units: i32| line.total_minor * i64::from(units) / i64::from(line.quantity);
        parts.push(RefundPart {
            line: index,
            quantity: asked.quantity,
            amount: share(line.refunded_quantity + asked.quantity) - share(line.refunded_quantity),
        });
    }
    if !invalid.is_empty() {
        return Err(ApiError::Validation(invalid));
    }
    let covers_the_rest = lines.iter().enumerate().all(|(index, line)| {
        let refunding = parts.iter().find(|p| p.line == index).map_or(0, |p| p.quantity);
        line.refunded_quantity + refunding == line.quantity
    });
    Ok((parts, covers_the_rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrderLineId, ProductId, VariantId};

    fn line(quantity: i32, total: i64, refunded_quantity: i32) -> OrderLine {
        OrderLine {
            id: OrderLineId::generate(),
            product_id: ProductId::generate(),
            variant_id: VariantId::generate(),
            sku: "SKU".to_owned(),
            title: "Mug".to_owned(),
            night: None,
            quantity,
            unit_price_minor: 0,
            subtotal_minor: total,
            discount_minor: 0,
            total_minor: total,
            refunded_quantity,
            refunded_minor: 0,
            stock_id: None,
        }
    }

    fn ask(line: &OrderLine, quantity: i32) -> RefundLine {
        RefundLine {
            line_id: line.id,
            quantity,
        }
    }

    #[test]
    fn one_unit_at_a_time_adds_up_to_the_line_total() {
        // 3 units cost 1000 after discounts: 333, 333, 334.
        let mut mug = line(3, 1000, 0);
        let mut refunded = Vec::new();
        for _ in 0..3 {
            let (parts, _) = plan(std::slice::from_ref(&mug), &[ask(&mug, 1)]).unwrap();
            refunded.push(parts[0].amount);
            mug.refunded_quantity += 1;
        }
        assert_eq!(refunded, [333, 333, 334]);
        assert_eq!(refunded.iter().sum::<i64>(), 1000);
    }

    #[test]
    fn the_last_units_make_it_whole() {
        let lines = [line(2, 500, 1), line(1, 300, 0)];
        let (parts, whole) = plan(&lines, &[ask(&lines[0], 1)]).unwrap();
        assert_eq!(parts[0].amount, 250);
        assert!(!whole, "line 2 is not refunded");
        let (_, whole) = plan(&lines, &[ask(&lines[0], 1), ask(&lines[1], 1)]).unwrap();
        assert!(whole);
    }

    #[test]
    fn never_more_units_than_are_left() {
        let lines = [line(2, 500, 1)];
        let error = plan(&lines, &[ask(&lines[0], 2)]).unwrap_err();
        assert!(matches!(error, ApiError::Conflict { field: Some(ref f), .. } if f == "lines[0].quantity"));
    }

    #[test]
    fn unknown_repeated_and_empty_requests_name_their_fields() {
        let lines = [line(2, 500, 0), line(1, 100, 0), line(1, 100, 0), line(1, 100, 0)];
        let stranger = line(1, 1, 0);
        let error = plan(
            &lines,
            &[
                ask(&stranger, 1),
                ask(&lines[0], 1),
                ask(&lines[0], 1),
                RefundLine {
                    line_id: lines[1].id,
                    quantity: 0,
                },
            ],
        )
        .unwrap_err();
        let ApiError::Validation(fields) = error else {
            panic!("{error:?}")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            ["lines[0].line_id", "lines[2].line_id", "lines[3].quantity"]
        );
        let too_many = [ask(&lines[1], 1); 5];
        for request in [&[][..], &too_many[..]] {
            let Err(ApiError::Validation(fields)) = plan(&lines, request) else {
                panic!("{} lines are refused", request.len())
            };
            assert_eq!(fields[0].field, "lines");
        }
    }
}
