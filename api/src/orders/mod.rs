//! Orders: placed by signed-in customers (for themselves) or by a store's
//! staff, priced by the server, with stock reserved and promotions applied
//! in the same transaction; then paid, fulfilled, cancelled or refunded
//! along the state machine in [`state`], every change recorded as an event.
//!
//! Placing, cancelling and refunding need an `Idempotency-Key`. An order is
//! acknowledged (201) only after its transaction commits.

pub mod change;
pub mod expiry;
pub mod model;
pub mod place;
pub mod refund;
pub mod sql;
pub mod state;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use self::change::Request;
use self::model::{NewOrderRequest, NoteRequest, Order, OrderSummary, RefundRequest};
use self::state::Status;
use crate::app::State;
use crate::auth::{Principal, Role, StoreAccess};
use crate::error::{ApiError, FieldError, Problem};
use crate::idempotency::{self, Claim, IdempotencyKey};
use crate::ids::{OrderId, StoreId, UserId};
use crate::pagination::{self, Page};
use crate::validate::{Checks, text};

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, pay, fulfil, cancel, refund))]
pub struct Api;

/// The routes, inside the app's `/v1/stores/{store_id}` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    const ORDERS: &str = "/orders";
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
pub enum Caller {
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
    body: web::Json<NoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    respond(
        state,
        &principal,
        path.into_inner(),
        None,
        Request::Pay,
        &body.note,
        &body,
    )
    .await
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
    body: web::Json<NoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    respond(
        state,
        &principal,
        path.into_inner(),
        None,
        Request::Fulfil,
        &body.note,
        &body,
    )
    .await
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
    body: web::Json<NoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    respond(
        state,
        &principal,
        path.into_inner(),
        Some(&key),
        Request::Cancel,
        &body.note,
        &body,
    )
    .await
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
    let body = body.into_inner();
    let request = Request::Refund(&body.lines);
    respond(
        state,
        &principal,
        path.into_inner(),
        Some(&key),
        request,
        &body.note,
        &body,
    )
    .await
}

/// Makes a change of an order in one transaction and answers with the order
/// as it now is; under `key`, the answer is stored for retries.
async fn respond(
    state: web::Data<State>,
    principal: &Principal,
    (store, id): (StoreId, OrderId),
    key: Option<&IdempotencyKey>,
    request: Request<'_>,
    note: &str,
    body: &impl Serialize,
) -> Result<HttpResponse, ApiError> {
    let caller = Caller::of(principal, store)?;
    let note = self::note(note)?;
    let actor = principal.actor();
    let mut tx = state.db.store(store).await?;
    if let Some(key) = key {
        let operation = format!("orders.{}:{id}", request.name());
        if let Claim::Replay(response) = idempotency::claim(&mut tx, &actor, key, &operation, body).await? {
            tx.commit().await?;
            return Ok(response);
        }
    }
    let done = change::apply(&mut tx, id, caller, request, &note, &actor).await?;
    let response = match key {
        Some(key) => idempotency::record(&mut tx, &actor, key, StatusCode::OK, &done.order).await?,
        None => HttpResponse::Ok().json(&done.order),
    };
    tx.commit().await?;
    state
        .metrics
        .order_event(done.event, &done.order.currency, done.amount);
    Ok(response)
}

/// The note of a change, trimmed; 422 when longer than 500 characters.
fn note(note: &str) -> Result<String, ApiError> {
    let mut checks = Checks::default();
    let note = checks.parse("note", text(note, 0, 500));
    checks.finish()?;
    Ok(note.unwrap_or_default())
}
