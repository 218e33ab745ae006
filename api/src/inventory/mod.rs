//! Inventory: stock pools, their levels, and adjustments with an audit log.
//! Only a store's managers see or change it. Adjustments need an
//! `Idempotency-Key`, so a retried request never counts stock twice.

pub mod model;
pub mod sql;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use self::model::{Adjustment, AdjustmentMade, AdjustmentRequest, StockLevel};
use crate::access::{StoreCaller, need};
use crate::db::StoreTx;
use crate::error::{ApiError, Problem};
use crate::idempotency::{self, IdempotencyKey};
use crate::ids::{ProductId, StoreId};
use crate::pagination::{self, Page};
use crate::validate::{Checks, text};

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_levels, adjust, list_adjustments))]
pub struct Api;

/// The routes, inside the app's `/v1/stores/{store_id}` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/inventory", web::get().to(list_levels))
        .route("/inventory/adjustments", web::post().to(adjust))
        .route("/inventory/adjustments", web::get().to(list_adjustments));
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LevelQuery {
    /// Only this product's pools.
    product_id: Option<ProductId>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AdjustmentQuery {
    /// Only this pool's adjustments (a stock level's `id`).
    stock_id: Option<uuid::Uuid>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Stock levels, newest pools first.
#[utoipa::path(get, path = "/v1/stores/{store_id}/inventory", tag = "inventory",
    params(("store_id" = StoreId, Path), LevelQuery),
    responses(
        (status = 200, description = "A page of stock levels", body = Page<StockLevel>),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_levels(
    caller: StoreCaller<need::Staff>,
    query: web::Query<LevelQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after): (i64, Option<uuid::Uuid>) = pagination::page(query.limit, query.cursor.as_deref())?;
    let rows = caller
        .transaction(async |tx| sql::list_stock_levels(tx, query.product_id, after, limit).await)
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |level| level.id)))
}

/// Changes on-hand stock by `delta`, with a reason; recorded with who did it.
#[utoipa::path(post, path = "/v1/stores/{store_id}/inventory/adjustments", tag = "inventory",
    params(("store_id" = StoreId, Path), ("Idempotency-Key" = String, Header, description = "Unique per operation; a retry with the same key and body replays the first answer")),
    request_body = AdjustmentRequest,
    responses(
        (status = 201, description = "The adjustment and the pool's new level", body = AdjustmentMade),
        (status = "4XX", description = "A problem (RFC 9457): 409 when it would leave less on hand than reserved", body = Problem, content_type = "application/problem+json"),
    ))]
async fn adjust(
    caller: StoreCaller<need::Staff>,
    key: IdempotencyKey,
    body: web::Json<AdjustmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let mut checks = Checks::default();
    checks.check(request.delta != 0, "delta", "must not be 0");
    let note = checks.parse("note", text(&request.note, 0, 500));
    let note = checks.finish_with(note)?;
    let actor = caller.actor();
    let ran = idempotency::run(
        &caller,
        Some(&key),
        "inventory.adjust",
        &request,
        StatusCode::CREATED,
        async |tx| make_adjustment(tx, &request, &note, &actor).await,
    )
    .await?;
    Ok(ran.response)
}

/// Moves the pool's on-hand count by the request's delta and logs why and by whom.
async fn make_adjustment(
    tx: &mut StoreTx,
    request: &AdjustmentRequest,
    note: &str,
    actor: &str,
) -> Result<AdjustmentMade, ApiError> {
    let pool = sql::pool_of_variant(tx, request.variant_id, request.night).await?;
    let stock = sql::ensure_stock_row(tx, &pool).await?;
    let level = sql::adjust_on_hand(tx, stock, request.delta).await?;
    let adjustment = sql::record_adjustment(tx, &level, request.delta, request.reason, note, actor).await?;
    Ok(AdjustmentMade {
        adjustment,
        stock: level,
    })
}

/// The audit log of adjustments, newest first.
#[utoipa::path(get, path = "/v1/stores/{store_id}/inventory/adjustments", tag = "inventory",
    params(("store_id" = StoreId, Path), AdjustmentQuery),
    responses(
        (status = 200, description = "A page of adjustments", body = Page<Adjustment>),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_adjustments(
    caller: StoreCaller<need::Staff>,
    query: web::Query<AdjustmentQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after): (i64, Option<uuid::Uuid>) = pagination::page(query.limit, query.cursor.as_deref())?;
    let rows = caller
        .transaction(async |tx| sql::list_stock_adjustments(tx, query.stock_id, after, limit).await)
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |adjustment| adjustment.id)))
}
