//! Orders: placed by signed-in customers (for themselves) or by a store's
//! staff, priced by the server, with stock reserved and promotions applied
//! in the same transaction; then paid, fulfilled, cancelled or refunded
//! along the state machine in [`state`], every change recorded as an event.
//!
//! Placing, cancelling and refunding need an `Idempotency-Key`. An order is
//! acknowledged (201) only after its transaction commits.

pub mod model;
pub mod place;
pub mod refund;
pub mod sql;
pub mod state;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use self::model::{NewOrderRequest, NoteRequest, Order, OrderSummary, RefundRequest};
use self::state::{Change, Status};
use crate::app::State;
use crate::auth::{Principal, Role, StoreAccess};
use crate::db::StoreTx;
use crate::error::{ApiError, FieldError, Problem};
use crate::idempotency::{self, Claim, IdempotencyKey};
use crate::ids::{OrderId, StoreId, UserId};
use crate::inventory::sql::{self as inventory, Movement};
use crate::pagination::{self, Page};
use crate::validate::{Checks, text};

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, pay, fulfil, cancel, refund))]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    const ORDERS: &str = "/v1/stores/{store_id}/orders";
    cfg.route(ORDERS, web::get().to(list))
        .route(ORDERS, web::post().to(create))
        .route(&format!("{ORDERS}/{{order_id}}"), web::get().to(get))
        .route(&format!("{ORDERS}/{{order_id}}/pay"), web::post().to(pay))
        .route(&format!("{ORDERS}/{{order_id}}/fulfil"), web::post().to(fulfil))
        .route(&format!("{ORDERS}/{{order_id}}/cancel"), web::post().to(cancel))
        .route(&format!("{ORDERS}/{{order_id}}/refunds"), web::post().to(refund));
}

/// Who is acting on a store's orders.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// A signed-in customer: their own orders only.
    Customer(UserId),
    /// Owners, the store's staff, its secret key: every order of the store.
    Staff,
}

impl Caller {
    fn of(principal: &Principal, store: StoreId) -> Result<Self, ApiError> {
        match principal.store_access(store)? {
            StoreAccess::Manager => Ok(Self::Staff),
            StoreAccess::Shopper => match principal {
                Principal::User(claims) if claims.role == Role::Customer => Ok(Self::Customer(claims.sub)),
                _ => Err(ApiError::Forbidden(
                    "orders are placed by signed-in customers or the store's staff".to_owned(),
                )),
            },
        }
    }

    /// Whose orders this caller sees: only theirs, or (None) all.
    fn only_orders_of(self) -> Option<UserId> {
        match self {
            Self::Customer(id) => Some(id),
            Self::Staff => None,
        }
    }

    fn require_staff(self) -> Result<(), ApiError> {
        match self {
            Self::Staff => Ok(()),
            Self::Customer(_) => Err(ApiError::Forbidden(
                "only the store's staff may do this".to_owned(),
            )),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OrderQuery {
    status: Option<Status>,
    /// Staff only: this customer's orders.
    customer_id: Option<UserId>,
    /// Placed at or after this time (RFC 3339).
    created_from: Option<DateTime<Utc>>,
    /// Placed before this time (RFC 3339).
    created_before: Option<DateTime<Utc>>,
    limit: Option<i64>,
    cursor: Option<String>,
}

const KEY_HEADER_DOC: &str =
    "Unique per operation; a retry with the same key and body replays the first answer";

/// Places an order: prices, promotions and stock reservation in one transaction.
#[utoipa::path(post, path = "/v1/stores/{store_id}/orders", tag = "orders",
    params(("store_id" = StoreId, Path), ("Idempotency-Key" = String, Header, description = KEY_HEADER_DOC)),
    request_body = NewOrderRequest,
    responses(
        (status = 201, description = "The order, pending payment, its stock reserved", body = Order),
        (status = "4XX", description = "A problem (RFC 9457): 409 naming `lines[i].quantity` when stock is short; 422 naming `promotion_code` when the code cannot be used", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<StoreId>,
    key: IdempotencyKey,
    body: web::Json<NewOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let store = path.into_inner();
    let caller = Caller::of(&principal, store)?;
    let request = body.into_inner();
    place::check(&request)?;
    let customer = match caller {
        Caller::Customer(me) if request.customer_id.is_some_and(|id| id != me) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "customer_id",
                "a customer places orders only for themselves",
            )]));
        }
        Caller::Customer(me) => Some(me),
        Caller::Staff => request.customer_id,
    };
    let actor = principal.actor();
    let mut tx = state.db.store(store).await?;
    if let Claim::Replay(response) =
        idempotency::claim(&mut tx, &actor, &key, "orders.create", &request).await?
    {
        tx.commit().await?;
        return Ok(response);
    }
    let order = place::place(&mut tx, &request, customer, &actor).await?;
    let response = idempotency::record(&mut tx, &actor, &key, StatusCode::CREATED, &order).await?;
    tx.commit().await?;
    state
        .metrics
        .order_event("created", &order.currency, order.total_minor);
    Ok(response)
}

/// Orders, newest first: a customer's own, or (staff) the store's, filtered.
#[utoipa::path(get, path = "/v1/stores/{store_id}/orders", tag = "orders",
    params(("store_id" = StoreId, Path), OrderQuery),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderSummary>),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<StoreId>,
    query: web::Query<OrderQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = path.into_inner();
    let caller = Caller::of(&principal, store)?;
    let query = query.into_inner();
    let mut checks = Checks::default();
    let limit = pagination::limit(&mut checks, query.limit);
    let after = pagination::cursor(&mut checks, query.cursor.as_deref());
    if let (Some(from), Some(before)) = (query.created_from, query.created_before) {
        checks.check(before > from, "created_before", "must be after created_from");
    }
    checks.check(
        query.customer_id.is_none() || caller == Caller::Staff,
        "customer_id",
        "customers see only their own orders",
    );
    checks.finish()?;
    let filter = sql::OrderFilter {
        customer: caller.only_orders_of().or(query.customer_id),
        status: query.status,
        created_from: query.created_from,
        created_before: query.created_before,
        after,
        limit,
    };
    let mut tx = state.db.store(store).await?;
    let rows = sql::list(&mut tx, &filter).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |order| order.id)))
}

/// One order with its lines, discounts and history (a customer: only their own).
#[utoipa::path(get, path = "/v1/stores/{store_id}/orders/{order_id}", tag = "orders",
    params(("store_id" = StoreId, Path), ("order_id" = OrderId, Path)),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = "4XX", description = "A problem (RFC 9457): 404 for another customer's order", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, OrderId)>,
) -> Result<HttpResponse, ApiError> {
    let (store, id) = path.into_inner();
    let caller = Caller::of(&principal, store)?;
    let mut tx = state.db.store(store).await?;
    let order = sql::order(&mut tx, id, caller.only_orders_of(), false).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(order))
}

/// Records the payment of a pending order (store staff).
#[utoipa::path(post, path = "/v1/stores/{store_id}/orders/{order_id}/pay", tag = "orders",
    params(("store_id" = StoreId, Path), ("order_id" = OrderId, Path)),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "The paid order", body = Order),
        (status = "4XX", description = "A problem (RFC 9457): 409 naming `status` when the order is not pending", body = Problem, content_type = "application/problem+json"),
    ))]
async fn pay(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, OrderId)>,
    body: Option<web::Json<NoteRequest>>,
) -> Result<HttpResponse, ApiError> {
    let (store, id) = path.into_inner();
    Caller::of(&principal, store)?.require_staff()?;
    let note = note(body.map(web::Json::into_inner).unwrap_or_default())?;
    let mut tx = state.db.store(store).await?;
    let order = sql::order(&mut tx, id, None, true).await?;
    let to = next(order.status, Change::Pay)?;
    let change = sql::Transition {
        from: order.status,
        to,
        kind: "paid",
        paid: order.total_minor,
        refunded: 0,
        amount: order.total_minor,
        lines: serde_json::json!([]),
        note: &note,
        actor: &principal.actor(),
    };
    finish(state, tx, id, change).await
}

/// Marks a paid order fulfilled (store staff): its reserved units leave the stock.
#[utoipa::path(post, path = "/v1/stores/{store_id}/orders/{order_id}/fulfil", tag = "orders",
    params(("store_id" = StoreId, Path), ("order_id" = OrderId, Path)),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "The fulfilled order", body = Order),
        (status = "4XX", description = "A problem (RFC 9457): 409 naming `status` when the order is not paid", body = Problem, content_type = "application/problem+json"),
    ))]
async fn fulfil(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, OrderId)>,
    body: Option<web::Json<NoteRequest>>,
) -> Result<HttpResponse, ApiError> {
    let (store, id) = path.into_inner();
    Caller::of(&principal, store)?.require_staff()?;
    let note = note(body.map(web::Json::into_inner).unwrap_or_default())?;
    let mut tx = state.db.store(store).await?;
    let order = sql::order(&mut tx, id, None, true).await?;
    let to = next(order.status, Change::Fulfil)?;
    let unrefunded = order
        .lines
        .iter()
        .map(|line| (line, line.quantity - line.refunded_quantity));
    settle(&mut tx, unrefunded, Movement::Ship).await?;
    let change = sql::Transition {
        from: order.status,
        to,
        kind: "fulfilled",
        paid: order.paid_minor,
        refunded: order.refunded_minor,
        amount: 0,
        lines: serde_json::json!([]),
        note: &note,
        actor: &principal.actor(),
    };
    finish(state, tx, id, change).await
}

/// Cancels a pending or paid order: its stock is released, and what was paid
/// is refunded. A customer may cancel their own pending order.
#[utoipa::path(post, path = "/v1/stores/{store_id}/orders/{order_id}/cancel", tag = "orders",
    params(("store_id" = StoreId, Path), ("order_id" = OrderId, Path), ("Idempotency-Key" = String, Header, description = KEY_HEADER_DOC)),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "The cancelled order", body = Order),
        (status = "4XX", description = "A problem (RFC 9457): 409 naming `status` when it is fulfilled or ended", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cancel(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, OrderId)>,
    key: IdempotencyKey,
    body: Option<web::Json<NoteRequest>>,
) -> Result<HttpResponse, ApiError> {
    let (store, id) = path.into_inner();
    let caller = Caller::of(&principal, store)?;
    let request = body.map(web::Json::into_inner).unwrap_or_default();
    let note = note(NoteRequest {
        note: request.note.clone(),
    })?;
    let actor = principal.actor();
    let mut tx = state.db.store(store).await?;
    let operation = format!("orders.cancel:{id}");
    if let Claim::Replay(response) = idempotency::claim(&mut tx, &actor, &key, &operation, &request).await? {
        tx.commit().await?;
        return Ok(response);
    }
    let order = sql::order(&mut tx, id, caller.only_orders_of(), true).await?;
    if order.status == Status::Paid {
        caller.require_staff()?;
    }
    let to = next(order.status, Change::Cancel)?;
    let unrefunded = order
        .lines
        .iter()
        .map(|line| (line, line.quantity - line.refunded_quantity));
    settle(&mut tx, unrefunded, Movement::Release).await?;
    let change = sql::Transition {
        from: order.status,
        to,
        kind: "cancelled",
        paid: order.paid_minor,
        refunded: order.paid_minor,
        amount: order.paid_minor - order.refunded_minor,
        lines: serde_json::json!([]),
        note: &note,
        actor: &actor,
    };
    finish_idempotent(state, tx, id, change, &actor, &key).await
}

/// Refunds units of a paid or fulfilled order (store staff): their share of
/// what was paid comes back, and their stock returns to its pool.
#[utoipa::path(post, path = "/v1/stores/{store_id}/orders/{order_id}/refunds", tag = "orders",
    params(("store_id" = StoreId, Path), ("order_id" = OrderId, Path), ("Idempotency-Key" = String, Header, description = KEY_HEADER_DOC)),
    request_body = RefundRequest,
    responses(
        (status = 200, description = "The order after the refund", body = Order),
        (status = "4XX", description = "A problem (RFC 9457): 409 naming `lines[i].quantity` for more units than are left to refund, or `status` when nothing was paid", body = Problem, content_type = "application/problem+json"),
    ))]
async fn refund(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, OrderId)>,
    key: IdempotencyKey,
    body: web::Json<RefundRequest>,
) -> Result<HttpResponse, ApiError> {
    let (store, id) = path.into_inner();
    Caller::of(&principal, store)?.require_staff()?;
    let request = body.into_inner();
    let note = note(NoteRequest {
        note: request.note.clone(),
    })?;
    let actor = principal.actor();
    let mut tx = state.db.store(store).await?;
    let operation = format!("orders.refund:{id}");
    if let Claim::Replay(response) = idempotency::claim(&mut tx, &actor, &key, &operation, &request).await? {
        tx.commit().await?;
        return Ok(response);
    }
    let order = sql::order(&mut tx, id, None, true).await?;
    // An order with nothing to refund says so before its lines are looked at.
    next(
        order.status,
        Change::Refund {
            covers_the_rest: false,
        },
    )?;
    let (parts, covers_the_rest) = refund::plan(&order.lines, &request.lines)?;
    let to = next(order.status, Change::Refund { covers_the_rest })?;
    // Units not yet shipped leave their reservation; shipped ones come back.
    let movement = if order.status == Status::Fulfilled {
        Movement::Restock
    } else {
        Movement::Release
    };
    settle(
        &mut tx,
        parts.iter().map(|part| (&order.lines[part.line], part.quantity)),
        movement,
    )
    .await?;
    for part in &parts {
        sql::refund_line(&mut tx, order.lines[part.line].id, part.quantity, part.amount).await?;
    }
    let amount: i64 = parts.iter().map(|part| part.amount).sum();
    let lines: Vec<_> = parts
        .iter()
        .map(|part| serde_json::json!({"line_id": order.lines[part.line].id, "quantity": part.quantity, "amount_minor": part.amount}))
        .collect();
    let change = sql::Transition {
        from: order.status,
        to,
        kind: "refunded",
        paid: order.paid_minor,
        refunded: order.refunded_minor + amount,
        amount,
        lines: serde_json::Value::Array(lines),
        note: &note,
        actor: &actor,
    };
    finish_idempotent(state, tx, id, change, &actor, &key).await
}

/// The status after `change`, or a 409 naming `status`.
fn next(from: Status, change: Change) -> Result<Status, ApiError> {
    state::next(from, change).map_err(|why| ApiError::conflict("status", why))
}

fn note(request: NoteRequest) -> Result<String, ApiError> {
    let mut checks = Checks::default();
    let note = checks.parse("note", text(&request.note, 0, 500));
    checks.finish()?;
    Ok(note.unwrap_or_default())
}

/// Moves the stock of `units` (line, how many) as `movement` says, one
/// update per pool in pool-id order (the same order everywhere, so two
/// changes never deadlock).
async fn settle<'a>(
    tx: &mut StoreTx,
    units: impl Iterator<Item = (&'a model::OrderLine, i32)>,
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
    for (stock, quantity) in per_pool {
        inventory::settle(tx, stock, quantity, movement).await?;
    }
    Ok(())
}

/// Records `change`, commits, and answers with the order as it now is.
async fn finish(
    state: web::Data<State>,
    mut tx: StoreTx,
    id: OrderId,
    change: sql::Transition<'_>,
) -> Result<HttpResponse, ApiError> {
    let order = record(&mut tx, id, &change).await?;
    tx.commit().await?;
    state
        .metrics
        .order_event(change.kind, &order.currency, change.amount);
    Ok(HttpResponse::Ok().json(order))
}

/// As [`finish`], storing the answer under the request's idempotency key.
async fn finish_idempotent(
    state: web::Data<State>,
    mut tx: StoreTx,
    id: OrderId,
    change: sql::Transition<'_>,
    actor: &str,
    key: &IdempotencyKey,
) -> Result<HttpResponse, ApiError> {
    let order = record(&mut tx, id, &change).await?;
    let response = idempotency::record(&mut tx, actor, key, StatusCode::OK, &order).await?;
    tx.commit().await?;
    state
        .metrics
        .order_event(change.kind, &order.currency, change.amount);
    Ok(response)
}

async fn record(tx: &mut StoreTx, id: OrderId, change: &sql::Transition<'_>) -> Result<Order, ApiError> {
    sql::transition(tx, id, change).await?;
    sql::order(tx, id, None, false).await
}
