//! Placing an order, in one transaction: read the offers, price the lines
//! from them, apply promotions (counting limited promotions' uses), reserve
//! stock, insert the order. Anything that fails rolls all of it back, so no stock stays
//! reserved and no promotion use is counted for an order that does not exist.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::model::{MAX_LINES, MAX_QUANTITY, NewOrderRequest, Order, OrderEvent, OrderLine};
use super::sql::{self, NewOrder, Offer};
use super::state::Status;
use crate::catalog::model::{Kind, Status as ProductStatus};
use crate::db::StoreTx;
use crate::error::{ApiError, FieldError};
use crate::ids::{OrderId, OrderLineId, UserId};
use crate::inventory::sql::{self as inventory, Pool, Reservation};
use crate::promotions::apply::{self as promotions, Applied};
use crate::promotions::engine;
use crate::promotions::model::is_code;
use crate::validate::Checks;
use shopfleet_contract::OrderLimits;

/// Checks the request's shape (everything that needs no database).
pub fn check(request: &NewOrderRequest) -> Result<(), ApiError> {
    let mut checks = Checks::default();
    checks.check(
        (1..=MAX_LINES).contains(&request.lines.len()),
        "lines",
        format!("an order has 1 to {MAX_LINES} lines"),
    );
    for (i, line) in request.lines.iter().enumerate() {
        checks.check(
            (1..=MAX_QUANTITY).contains(&line.quantity),
            format!("lines[{i}].quantity"),
            format!("must be between 1 and {MAX_QUANTITY}"),
        );
    }
    if let Some(code) = &request.promotion_code {
        checks.check(is_code(code.trim()), "promotion_code", "is not a promotion code");
    }
    if let Some(party) = request.party_size {
        checks.check((1..=100).contains(&party), "party_size", "must be from 1 to 100");
    }
    checks.finish()
}

/// Who places an order, and what it must respect besides its lines.
pub struct Placement<'a> {
    pub customer: Option<UserId>,
    pub actor: &'a str,
    /// The booking horizon, for everyone; the caps on what one customer
    /// holds unpaid, when `held_to_caps` (a customer placing their own
    /// order: staff and store keys are not).
    pub limits: &'a OrderLimits,
    pub held_to_caps: bool,
}

/// Places `request` as `placement` says. The caller claimed the
/// idempotency key in `tx` and commits it.
pub async fn place(
    tx: &mut StoreTx,
    request: &NewOrderRequest,
    placement: &Placement<'_>,
) -> Result<Order, ApiError> {
    let Placement { customer, actor, .. } = *placement;
    if request.party_size.is_some() && tx.store.industry != "hospitality" {
        return Err(ApiError::Validation(vec![FieldError::new(
            "party_size",
            "only a hospitality store's orders have a party size",
        )]));
    }
    let wanted: Vec<_> = request.lines.iter().map(|line| line.variant_id).collect();
    let offers = sql::offers_for_variants(tx, &wanted).await?;
    // One clock for the whole order: what is on sale, and which promotions run.
    let now = Utc::now();
    let Priced {
        mut lines,
        pools,
        basket,
    } = price(request, &offers, now, placement.limits.booking_horizon_days)?;
    if let Some(customer) = customer.filter(|_| placement.held_to_caps) {
        let units = lines.iter().map(|line| i64::from(line.quantity)).sum();
        within_caps(tx, customer, units, placement.limits).await?;
    }
    let code = request.promotion_code.as_deref().map(str::trim);
    let Applied {
        discounts,
        line_discounts,
    } = promotions::apply_to_basket(tx, &basket, customer, code, now).await?;
    for (line, discount) in lines.iter_mut().zip(line_discounts) {
        line.discount_minor = discount;
        line.total_minor = line.subtotal_minor - discount;
    }
    reserve(tx, &mut lines, pools).await?;
    let subtotal = lines.iter().map(|line| line.subtotal_minor).sum();
    let discount = lines.iter().map(|line| line.discount_minor).sum();
    let event = uuid::Uuid::now_v7();
    let mut order = sql::insert_order(
        tx,
        &NewOrder {
            id: OrderId::generate(),
            customer,
            subtotal,
            discount,
            promotion_code: code,
            placed_by: actor,
            session_id: request.session_id,
            party_size: request.party_size,
            lines: &lines,
            discounts: &discounts,
        },
        event,
    )
    .await?;
    order.events = vec![OrderEvent {
        id: event,
        kind: "created".to_owned(),
        from_status: None,
        to_status: Status::Pending,
        amount_minor: 0,
        lines: sqlx::types::Json(serde_json::json!([])),
        note: String::new(),
        actor: actor.to_owned(),
        created_at: order.created_at,
    }];
    order.lines = lines;
    order.discounts = discounts;
    Ok(order)
}

/// Refuses an order that would take `customer` past the Tenant's caps on
/// unpaid orders and the units they hold, so that nobody keeps a store's
/// stock reserved. The customer's orders are locked first, so that two
/// orders at once cannot both fit under the cap.
async fn within_caps(
    tx: &mut StoreTx,
    customer: UserId,
    units: i64,
    limits: &OrderLimits,
) -> Result<(), ApiError> {
    if limits.max_pending_orders == 0 && limits.max_pending_units == 0 {
        return Ok(());
    }
    let held = sql::lock_and_count_pending_of_customer(tx, customer).await?;
    let (max_orders, max_units) = (
        i64::from(limits.max_pending_orders),
        i64::from(limits.max_pending_units),
    );
    if max_orders > 0 && held.orders + 1 > max_orders {
        return Err(ApiError::Conflict {
            detail: format!(
                "{} unpaid orders in this store are the most one customer may have: pay or cancel one first",
                held.orders
            ),
            field: None,
        });
    }
    if max_units > 0 && held.units + units > max_units {
        return Err(ApiError::conflict(
            "lines",
            format!(
                "one customer's unpaid orders may hold {max_units} units in this store; {} are held already",
                held.units
            ),
        ));
    }
    Ok(())
}

/// An order's lines priced from the catalog, before promotions.
struct Priced {
    lines: Vec<OrderLine>,
    /// Each line's stock pool.
    pools: Vec<Pool>,
    /// The lines as the promotions engine sees them.
    basket: Vec<engine::Line>,
}

/// Prices the request's lines from `offers`; 422 naming the line for
/// unknown variants, products not for sale and nights that do not fit.
fn price(
    request: &NewOrderRequest,
    offers: &[Offer],
    now: DateTime<Utc>,
    horizon_days: u32,
) -> Result<Priced, ApiError> {
    let mut invalid = Vec::new();
    let mut priced = Priced {
        lines: Vec::new(),
        pools: Vec::new(),
        basket: Vec::new(),
    };
    for (i, wanted) in request.lines.iter().enumerate() {
        let Some(offer) = offers.iter().find(|offer| offer.variant_id == wanted.variant_id) else {
            invalid.push(FieldError::new(
                format!("lines[{i}].variant_id"),
                "is not a variant of this store",
            ));
            continue;
        };
        if let Some((field, detail)) = why_unsellable(offer, wanted.night, now, horizon_days) {
            invalid.push(FieldError::new(format!("lines[{i}].{field}"), detail));
            continue;
        }
        match Pool::of(
            offer.kind,
            offer.product_id,
            offer.variant_id,
            offer.capacity,
            wanted.night,
        ) {
            Ok(pool) => priced.pools.push(pool),
            Err(detail) => {
                invalid.push(FieldError::new(format!("lines[{i}].night"), detail));
                continue;
            }
        }
        let subtotal = offer.price_minor * i64::from(wanted.quantity);
        priced.basket.push(engine::Line {
            product: offer.product_id,
            variant: offer.variant_id,
            categories: offer.category_ids.clone(),
            quantity: wanted.quantity.into(),
            unit_price: offer.price_minor,
        });
        priced.lines.push(OrderLine {
            id: OrderLineId::generate(),
            product_id: offer.product_id,
            variant_id: offer.variant_id,
            sku: offer.sku.clone(),
            title: offer.title.clone(),
            night: wanted.night,
            quantity: wanted.quantity,
            unit_price_minor: offer.price_minor,
            subtotal_minor: subtotal,
            discount_minor: 0,
            total_minor: subtotal,
            refunded_quantity: 0,
            refunded_minor: 0,
            stock_id: None,
        });
    }
    if invalid.is_empty() {
        Ok(priced)
    } else {
        Err(ApiError::Validation(invalid))
    }
}

/// Why `offer` cannot be sold (on `night`) at `now`: the field to name and
/// the detail. Products not active, events that have started, nights
/// before yesterday (a day's grace: the store's time zone may still be on
/// it) and nights past the booking horizon (0: none).
fn why_unsellable(
    offer: &Offer,
    night: Option<NaiveDate>,
    now: DateTime<Utc>,
    horizon_days: u32,
) -> Option<(&'static str, &'static str)> {
    let horizon = (horizon_days > 0).then(|| now.date_naive() + Days::new(u64::from(horizon_days)));
    if night.zip(horizon).is_some_and(|(night, horizon)| night > horizon) {
        return Some(("night", "is further ahead than this store takes bookings"));
    }
    if offer.status != ProductStatus::Active {
        return Some(("variant_id", "is not for sale"));
    }
    if offer.kind == Kind::Ticket && offer.event_starts_at.is_some_and(|starts| starts <= now) {
        return Some(("variant_id", "is a ticket for an event that has started"));
    }
    if night.is_some_and(|night| night < now.date_naive() - Days::new(1)) {
        return Some(("night", "is in the past"));
    }
    None
}

/// Reserves every pool's units, in one global order (by product, variant,
/// night) so two orders never wait on each other's pools in a cycle; 409
/// naming the first line of a pool that is short.
async fn reserve(tx: &mut StoreTx, lines: &mut [OrderLine], pools: Vec<Pool>) -> Result<(), ApiError> {
    // Each pool with its units and the lines drawing on it, in pool order.
    let mut wanted: BTreeMap<Pool, (i32, Vec<usize>)> = BTreeMap::new();
    for (i, pool) in pools.into_iter().enumerate() {
        let (quantity, holders) = wanted.entry(pool).or_default();
        *quantity += lines[i].quantity;
        holders.push(i);
    }
    for (pool, (quantity, holders)) in wanted {
        match inventory::reserve_units(tx, &pool, quantity).await? {
            Reservation::Held(stock) => {
                for i in holders {
                    lines[i].stock_id = Some(stock);
                }
            }
            Reservation::Short { available } => {
                return Err(ApiError::conflict(
                    format!("lines[{}].quantity", holders[0]),
                    format!("only {available} available, {quantity} asked"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::ids::{ProductId, VariantId};

    fn offer(kind: Kind, event_starts_at: Option<DateTime<Utc>>) -> Offer {
        Offer {
            variant_id: VariantId::generate(),
            product_id: ProductId::generate(),
            sku: "SKU".to_owned(),
            title: "Thing".to_owned(),
            price_minor: 100,
            kind,
            status: ProductStatus::Active,
            capacity: None,
            event_starts_at,
            category_ids: Vec::new(),
        }
    }

    #[test]
    fn drafts_started_events_and_past_nights_do_not_sell() {
        let now = Utc.with_ymd_and_hms(2027, 5, 10, 12, 0, 0).unwrap();
        let date = |day| NaiveDate::from_ymd_opt(2027, 5, day).unwrap();
        assert_eq!(why_unsellable(&offer(Kind::Standard, None), None, now, 0), None);
        let mut draft = offer(Kind::Standard, None);
        draft.status = ProductStatus::Draft;
        assert_eq!(
            why_unsellable(&draft, None, now, 0).map(|(field, _)| field),
            Some("variant_id")
        );

        let started = offer(Kind::Ticket, Some(now));
        assert_eq!(
            why_unsellable(&started, None, now, 0).map(|(field, _)| field),
            Some("variant_id")
        );
        let later = offer(Kind::Ticket, Some(now + chrono::Duration::minutes(1)));
        assert_eq!(why_unsellable(&later, None, now, 0), None);

        let room = offer(Kind::RoomNight, None);
        assert_eq!(why_unsellable(&room, Some(date(10)), now, 0), None, "tonight");
        assert_eq!(
            why_unsellable(&room, Some(date(9)), now, 0),
            None,
            "last night, in a time zone behind"
        );
        assert_eq!(
            why_unsellable(&room, Some(date(8)), now, 0).map(|(field, _)| field),
            Some("night")
        );
    }

    #[test]
    fn nights_past_the_booking_horizon_do_not_sell() {
        let now = Utc.with_ymd_and_hms(2027, 5, 10, 12, 0, 0).unwrap();
        let room = offer(Kind::RoomNight, None);
        let in_days = |days| Some(now.date_naive() + Days::new(days));
        assert_eq!(
            why_unsellable(&room, in_days(30), now, 30),
            None,
            "the horizon's last night"
        );
        assert_eq!(
            why_unsellable(&room, in_days(31), now, 30).map(|(field, _)| field),
            Some("night")
        );
        assert_eq!(why_unsellable(&room, in_days(3000), now, 0), None, "no horizon");
    }
}
