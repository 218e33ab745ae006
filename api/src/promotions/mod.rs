//! Promotions: discount rules a store's staff define, and the engine that
//! applies them to an order's basket when it is placed (see `engine` for the
//! rules and how promotions stack, `apply` for how an order uses them).
//! Only the staff see promotions: shoppers learn of one from the store, and
//! see it on their order.

pub mod apply;
pub mod engine;
pub mod model;
pub mod sql;

use actix_web::{HttpResponse, web};

use self::model::{Promotion, PromotionRequest};
use crate::access::{StoreCaller, need};
use crate::error::{ApiError, Problem};
use crate::ids::{PromotionId, StoreId};
use crate::pagination::{self, Page};
use crate::query::{PageQuery, VersionQuery};

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, get, replace, delete))]
pub struct Api;

/// The routes, inside the app's `/v1/stores/{store_id}` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    const PROMOTIONS: &str = "/promotions";
    const PROMOTION: &str = "/promotions/{promotion_id}";
    cfg.route(PROMOTIONS, web::get().to(list))
        .route(PROMOTIONS, web::post().to(create))
        .route(PROMOTION, web::get().to(get))
        .route(PROMOTION, web::put().to(replace))
        .route(PROMOTION, web::delete().to(delete));
}

/// The store's promotions, newest first (store staff).
#[utoipa::path(get, path = "/v1/stores/{store_id}/promotions", tag = "promotions",
    params(("store_id" = StoreId, Path), PageQuery),
    responses(
        (status = 200, description = "A page of promotions", body = Page<Promotion>),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    caller: StoreCaller<need::Staff>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after) = pagination::page(query.limit, query.cursor.as_deref())?;
    let rows = caller
        .transaction(async |tx| sql::list_promotions(tx, after, limit).await)
        .await?;
    let promotions = rows
        .into_iter()
        .map(model::PromotionRow::into_promotion)
        .collect();
    Ok(HttpResponse::Ok().json(Page::from_rows(promotions, limit, |p: &Promotion| p.id)))
}

/// Creates a promotion (store staff).
#[utoipa::path(post, path = "/v1/stores/{store_id}/promotions", tag = "promotions",
    params(("store_id" = StoreId, Path)),
    request_body = PromotionRequest,
    responses(
        (status = 201, description = "The promotion", body = Promotion),
        (status = "4XX", description = "A problem (RFC 9457): 409 when the code is taken", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create(
    caller: StoreCaller<need::Staff>,
    body: web::Json<PromotionRequest>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner().parse()?;
    let row = caller
        .transaction(async |tx| sql::insert_promotion(tx, &fields).await)
        .await?;
    Ok(HttpResponse::Created().json(row.into_promotion()))
}

/// One promotion (store staff).
#[utoipa::path(get, path = "/v1/stores/{store_id}/promotions/{promotion_id}", tag = "promotions",
    params(("store_id" = StoreId, Path), ("promotion_id" = PromotionId, Path)),
    responses(
        (status = 200, description = "The promotion", body = Promotion),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get(
    caller: StoreCaller<need::Staff>,
    path: web::Path<(StoreId, PromotionId)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let row = caller
        .transaction(async |tx| sql::promotion_by_id(tx, id).await)
        .await?;
    Ok(HttpResponse::Ok().json(row.into_promotion()))
}

/// Replaces a promotion's fields (store staff). Orders placed before keep
/// the discounts they got.
#[utoipa::path(put, path = "/v1/stores/{store_id}/promotions/{promotion_id}", tag = "promotions",
    params(("store_id" = StoreId, Path), ("promotion_id" = PromotionId, Path), VersionQuery),
    request_body = PromotionRequest,
    responses(
        (status = 200, description = "The promotion", body = Promotion),
        (status = "4XX", description = "A problem (RFC 9457): 409 when `version` is stale or the code is taken", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replace(
    caller: StoreCaller<need::Staff>,
    path: web::Path<(StoreId, PromotionId)>,
    query: web::Query<VersionQuery>,
    body: web::Json<PromotionRequest>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let fields = body.into_inner().parse()?;
    let row = caller
        .transaction(async |tx| sql::replace_promotion(tx, id, query.version, &fields).await)
        .await?;
    Ok(HttpResponse::Ok().json(row.into_promotion()))
}

/// Deletes a promotion (store staff). Orders keep the discounts it gave.
#[utoipa::path(delete, path = "/v1/stores/{store_id}/promotions/{promotion_id}", tag = "promotions",
    params(("store_id" = StoreId, Path), ("promotion_id" = PromotionId, Path), VersionQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = "4XX", description = "A problem (RFC 9457): 409 when `version` is stale", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete(
    caller: StoreCaller<need::Staff>,
    path: web::Path<(StoreId, PromotionId)>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    caller
        .transaction(async |tx| sql::delete_promotion(tx, id, query.version).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
