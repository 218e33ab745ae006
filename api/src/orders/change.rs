//! Changes of a placed order along the state machine: pay, fulfil, cancel,
//! refund. Each locks the order's row for its transaction, checks the change
//! is legal from the order's status (409 naming `status` if not), moves the
//! stock the change moves, and records the change as an event.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{Order, OrderLine, RefundLine};
use super::refund;
use super::sql::{self, Transition};
use super::state::{self, Change, Status};
use crate::auth::StoreRole;
use crate::db::StoreTx;
use crate::error::ApiError;
use crate::ids::OrderId;
use crate::inventory::sql::{self as inventory, Movement};
use crate::tickets;

/// A change someone asks for.
pub enum Request<'a> {
    Pay,
    Fulfil,
    Cancel,
    Refund(&'a [RefundLine]),
}

impl Request<'_> {
    /// Its name in idempotency fingerprints.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pay => "pay",
            Self::Fulfil => "fulfil",
            Self::Cancel => "cancel",
            Self::Refund(_) => "refund",
        }
    }
}

/// A change made: the order as it now is, the event, and the money it
/// moved. It serialises as the order alone, the answer to the request; the
/// event and the amount are for the metrics.
#[derive(Serialize)]
pub struct Done {
    #[serde(flatten)]
    pub order: Order,
    #[serde(skip)]
    pub event: &'static str,
    #[serde(skip)]
    pub amount: i64,
}

/// Makes `request` of order `id` for someone of `role`, by `actor`.
/// Customers may only cancel their own pending orders; everything else is
/// the staff's.
pub async fn apply(
    tx: &mut StoreTx,
    id: OrderId,
    role: StoreRole,
    request: Request<'_>,
    note: &str,
    actor: &str,
) -> Result<Done, ApiError> {
    if !matches!(request, Request::Cancel) {
        require_staff(role)?;
    }
    let order = sql::order_by_id(tx, id, role.customer(), true).await?;
    let unrefunded = || {
        order
            .lines
            .iter()
            .map(|line| (line, line.quantity - line.refunded_quantity))
    };
    let change = match request {
        Request::Pay => Transition {
            to: next(order.status, Change::Pay)?,
            kind: "paid",
            paid: order.total_minor,
            amount: order.total_minor,
            ..Transition::of(&order, note, actor)
        },
        Request::Fulfil => {
            let to = next(order.status, Change::Fulfil)?;
            settle(tx, unrefunded(), Movement::Ship).await?;
            Transition {
                to,
                kind: "fulfilled",
                ..Transition::of(&order, note, actor)
            }
        }
        Request::Cancel => {
            if order.status == Status::Paid {
                require_staff(role)?;
            }
            let to = next(order.status, Change::Cancel)?;
            settle(tx, unrefunded(), Movement::Release).await?;
            // A paid order gives back what is left of each line, recorded
            // per line as a refund is (analytics count it as returns).
            let returned = if order.status == Status::Paid {
                unrefunded()
                    .filter(|(_, quantity)| *quantity > 0)
                    .map(|(line, quantity)| {
                        returned_line(line, quantity, line.total_minor - line.refunded_minor)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Transition {
                to,
                kind: "cancelled",
                refunded: order.paid_minor,
                amount: order.paid_minor - order.refunded_minor,
                lines: serde_json::Value::Array(returned),
                ..Transition::of(&order, note, actor)
            }
        }
        Request::Refund(lines) => refund_units(tx, &order, lines, note, actor).await?,
    };
    sql::record_transition(tx, id, &change).await?;
    // Seats: a code each once paid, void once cancelled (refunds void theirs
    // in `refund_units`).
    match change.kind {
        "paid" => tickets::sql::issue_for_paid_order(tx, id).await?,
        "cancelled" => tickets::sql::void_order(tx, id).await?,
        _ => {}
    }
    Ok(Done {
        order: sql::order_by_id(tx, id, None, false).await?,
        event: change.kind,
        amount: change.amount,
    })
}

/// The change that refunds `lines`: their stock moves back and each line
/// records what of it was refunded.
async fn refund_units<'a>(
    tx: &mut StoreTx,
    order: &Order,
    lines: &[RefundLine],
    note: &'a str,
    actor: &'a str,
) -> Result<Transition<'a>, ApiError> {
    // An order with nothing to refund says so before its lines are looked at.
    next(
        order.status,
        Change::Refund {
            covers_the_rest: false,
        },
    )?;
    let (parts, covers_the_rest) = refund::plan(&order.lines, lines)?;
    let to = next(order.status, Change::Refund { covers_the_rest })?;
    // Units not yet shipped leave their reservation; shipped ones come back.
    let movement = if order.status == Status::Fulfilled {
        Movement::Restock
    } else {
        Movement::Release
    };
    let refunded = || parts.iter().map(|part| (&order.lines[part.line], part.quantity));
    settle(tx, refunded(), movement).await?;
    for part in &parts {
        let line = order.lines[part.line].id;
        sql::record_line_refund(tx, line, part.quantity, part.amount).await?;
        tickets::sql::void_seats_of_line(tx, line, part.quantity).await?;
    }
    let amount: i64 = parts.iter().map(|part| part.amount).sum();
    let lines = parts
        .iter()
        .map(|part| returned_line(&order.lines[part.line], part.quantity, part.amount))
        .collect();
    Ok(Transition {
        to,
        kind: "refunded",
        refunded: order.refunded_minor + amount,
        amount,
        lines: serde_json::Value::Array(lines),
        ..Transition::of(order, note, actor)
    })
}

/// What an event records of a line given back: which, how many units, how much money.
fn returned_line(line: &OrderLine, quantity: i32, amount: i64) -> serde_json::Value {
    serde_json::json!({"line_id": line.id, "quantity": quantity, "amount_minor": amount})
}

fn require_staff(role: StoreRole) -> Result<(), ApiError> {
    match role {
        StoreRole::Staff => Ok(()),
        StoreRole::Customer(_) | StoreRole::Visitor => Err(ApiError::Forbidden(
            "only the store's staff may do this".to_owned(),
        )),
    }
}

/// The status after `change`, or a 409 naming `status`.
fn next(from: Status, change: Change) -> Result<Status, ApiError> {
    state::next(from, change).map_err(|why| ApiError::conflict("status", why))
}

/// Moves the stock of `units` (line, how many) as `movement` says, one
/// update per pool, with the pools locked in the order orders reserve them
/// (so a change and an order being placed never wait on each other in a cycle).
async fn settle<'a>(
    tx: &mut StoreTx,
    units: impl Iterator<Item = (&'a OrderLine, i32)>,
    movement: Movement,
) -> Result<(), ApiError> {
    let mut per_pool: BTreeMap<uuid::Uuid, i32> = BTreeMap::new();
    for (line, quantity) in units {
        // A line whose product was deleted has no pool left to move.
        if let Some(stock) = line.stock_id
            && quantity > 0
        {
            *per_pool.entry(stock).or_default() += quantity;
        }
    }
    if per_pool.is_empty() {
        return Ok(());
    }
    let pools: Vec<uuid::Uuid> = per_pool.keys().copied().collect();
    for stock in inventory::lock_in_pool_order(tx, &pools).await? {
        inventory::move_units(tx, stock, per_pool[&stock], movement).await?;
    }
    Ok(())
}
