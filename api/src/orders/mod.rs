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
use crate::access::{StoreCaller, need};
use crate::auth::StoreRole;
use crate::error::{ApiError, FieldError, Problem};
use crate::idempotency::{self, IdempotencyKey};
use crate::ids::{OrderId, StoreId, UserId};
use crate::pagination::{self, Page};
use crate::state::State;
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
    caller: StoreCaller<need::Buyer>,
    key: IdempotencyKey,
    body: web::Json<NewOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    place::check(&request)?;
    let (customer, held_to_caps) = match caller.role {
        StoreRole::Customer(me) if request.customer_id.is_some_and(|id| id != me) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "customer_id",
                "a customer places orders only for themselves",
            )]));
        }
        StoreRole::Customer(me) => {
            state.limits.take_order(me)?;
            (Some(me), true)
        }
        _ => (request.customer_id, false),
    };
    let actor = caller.actor();
    let placement = place::Placement {
        customer,
        actor: &actor,
        limits: &state.limits.orders,
        held_to_caps,
    };
    let ran = idempotency::run(
        &caller,
        Some(&key),
        "orders.create",
        &request,
        StatusCode::CREATED,
        async |tx| place::place(tx, &request, &placement).await,
    )
    .await?;
    if let Some(order) = &ran.made {
        state
            .metrics
            .order_event("created", &order.currency, order.total_minor);
    }
    Ok(ran.response)
}

/// Orders, newest first: a customer's own, or (staff) the store's, filtered.
#[utoipa::path(get, path = "/v1/stores/{store_id}/orders", tag = "orders",
    params(("store_id" = StoreId, Path), OrderQuery),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderSummary>),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    caller: StoreCaller<need::Buyer>,
    query: web::Query<OrderQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let mut checks = Checks::default();
    let limit = pagination::limit(&mut checks, query.limit);
    let after = pagination::cursor(&mut checks, query.cursor.as_deref());
    if let (Some(from), Some(before)) = (query.created_from, query.created_before) {
        checks.check(before > from, "created_before", "must be after created_from");
    }
    checks.check(
        query.customer_id.is_none() || caller.is_staff(),
        "customer_id",
        "customers see only their own orders",
    );
    checks.finish()?;
    let filter = sql::OrderFilter {
        customer: caller.role.customer().or(query.customer_id),
        status: query.status,
        created_from: query.created_from,
        created_before: query.created_before,
        after,
        limit,
    };
    let rows = caller
        .transaction(async |tx| sql::list_orders(tx, &filter).await)
        .await?;
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
    caller: StoreCaller<need::Buyer>,
    path: web::Path<(StoreId, OrderId)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let order = caller
        .transaction(async |tx| sql::order_by_id(tx, id, caller.role.customer(), false).await)
        .await?;
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
    caller: StoreCaller<need::Buyer>,
    path: web::Path<(StoreId, OrderId)>,
    body: web::Json<NoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    change(&state, &caller, path.1, None, Request::Pay, &body.note, &body).await
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
    caller: StoreCaller<need::Buyer>,
    path: web::Path<(StoreId, OrderId)>,
    body: web::Json<NoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    change(&state, &caller, path.1, None, Request::Fulfil, &body.note, &body).await
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
    caller: StoreCaller<need::Buyer>,
    path: web::Path<(StoreId, OrderId)>,
    key: IdempotencyKey,
    body: web::Json<NoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    change(
        &state,
        &caller,
        path.1,
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
    caller: StoreCaller<need::Buyer>,
    path: web::Path<(StoreId, OrderId)>,
    key: IdempotencyKey,
    body: web::Json<RefundRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let request = Request::Refund(&body.lines);
    change(&state, &caller, path.1, Some(&key), request, &body.note, &body).await
}

/// Makes a change of order `id` in one transaction and answers with the
/// order as it now is; under `key`, at most once.
async fn change(
    state: &State,
    caller: &StoreCaller<need::Buyer>,
    id: OrderId,
    key: Option<&IdempotencyKey>,
    request: Request<'_>,
    note: &str,
    body: &impl Serialize,
) -> Result<HttpResponse, ApiError> {
    let note = self::note(note)?;
    let actor = caller.actor();
    let operation = format!("orders.{}:{id}", request.name());
    let ran = idempotency::run(caller, key, &operation, body, StatusCode::OK, async |tx| {
        change::apply(tx, id, caller.role, request, &note, &actor).await
    })
    .await?;
    if let Some(done) = &ran.made {
        state
            .metrics
            .order_event(done.event, &done.order.currency, done.amount);
    }
    Ok(ran.response)
}

/// The note of a change, trimmed; 422 when longer than 500 characters.
fn note(note: &str) -> Result<String, ApiError> {
    let mut checks = Checks::default();
    let note = checks.parse("note", text(note, 0, 500));
    checks.finish_with(note)
}
