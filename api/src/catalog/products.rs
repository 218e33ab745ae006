//! Products of a store's catalog: listed, filtered and searched by anyone in
//! the store (shoppers see active ones only), changed by its staff.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::model::{Kind, NewProductRequest, Product, ProductPatchRequest, Status};
use super::sql::{self, ProductCursor, ProductFilter};
use crate::access::{StoreCaller, need};
use crate::db::StoreTx;
use crate::error::{ApiError, Problem};
use crate::ids::{CategoryId, ProductId, StoreId};
use crate::pagination::{self, Page};
use crate::query::VersionQuery;
use crate::validate::Checks;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ProductQuery {
    status: Option<Status>,
    kind: Option<Kind>,
    category: Option<CategoryId>,
    min_price: Option<i64>,
    max_price: Option<i64>,
    q: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Newest first, or by relevance with `q`; shoppers see active products only.
#[utoipa::path(
    get,
    path = "/v1/stores/{store_id}/products",
    tag = "catalog",
    summary = "List, filter and search products (shoppers see active ones)",
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)"), ProductQuery),
    responses(
        (status = 200, description = "A page of products, newest first or by relevance with `q`", body = Page<Product>),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn list_products(
    caller: StoreCaller<need::Anyone>,
    query: web::Query<ProductQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let mut checks = Checks::default();
    let limit = pagination::limit(&mut checks, query.limit);
    let after: Option<ProductCursor> = pagination::cursor(&mut checks, query.cursor.as_deref());
    let search = query.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    checks.check(
        search.as_ref().is_none_or(|q| q.len() <= 200),
        "q",
        "must be at most 200 characters",
    );
    checks.check(
        after.is_none_or(|cursor| cursor.rank.is_some() == search.is_some()),
        "cursor",
        "belongs to another query (with or without `q`)",
    );
    for (field, price) in [("min_price", query.min_price), ("max_price", query.max_price)] {
        checks.check(price.is_none_or(|p| p >= 0), field, "must be at least 0");
    }
    if let (Some(min), Some(max)) = (query.min_price, query.max_price) {
        checks.check(min <= max, "max_price", "must not be below min_price");
    }
    let status = if caller.is_staff() {
        query.status
    } else {
        checks.check(
            query.status.is_none_or(|s| s == Status::Active),
            "status",
            "only the store's staff see products that are not active",
        );
        Some(Status::Active)
    };
    checks.finish()?;
    let filter = ProductFilter {
        status,
        kind: query.kind,
        category: query.category,
        min_price: query.min_price,
        max_price: query.max_price,
        search,
    };
    let rows = caller
        .transaction(async |tx| sql::list_products(tx, &filter, after, limit).await)
        .await?;
    let limit = limit.min(products_within(&rows, MAX_PAGE_VARIANTS));
    let page = Page::from_rows(rows, limit, |(product, rank)| ProductCursor {
        id: product.id,
        rank: *rank,
    });
    Ok(HttpResponse::Ok().json(Page {
        items: page.items.into_iter().map(|(product, _)| product).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A page of products holds at most this many variants, however many
/// products that is (at least one): 100 products of 100 variants each would
/// be 10,000 variants and megabytes of JSON in one answer.
const MAX_PAGE_VARIANTS: usize = 1_000;

/// How many of the first products fit in a page of `max_variants` variants
/// (at least one, so that every page moves on).
fn products_within<R>(rows: &[(Product, R)], max_variants: usize) -> i64 {
    let mut variants = 0;
    let fitting = rows
        .iter()
        .take_while(|(product, _)| {
            variants += product.variants.len();
            variants <= max_variants
        })
        .count();
    fitting.max(1) as i64
}

#[utoipa::path(
    get,
    path = "/v1/stores/{store_id}/products/{product_id}",
    tag = "catalog",
    summary = "One product with its variants",
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)"), ("product_id" = ProductId, Path)),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn get_product(
    caller: StoreCaller<need::Anyone>,
    path: web::Path<(StoreId, ProductId)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let only = (!caller.is_staff()).then_some(Status::Active);
    let product = caller
        .transaction(async |tx| sql::product_by_id(tx, id, only).await)
        .await?;
    product
        .map(|product| HttpResponse::Ok().json(product))
        .ok_or_else(|| sql::product_not_found(id))
}

#[utoipa::path(
    post,
    path = "/v1/stores/{store_id}/products",
    tag = "catalog",
    summary = "Create a product with its variants (store staff)",
    request_body = NewProductRequest,
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)")),
    responses(
        (status = 201, description = "The product, at version 1", body = Product),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn create_product(
    caller: StoreCaller<need::Staff>,
    body: web::Json<NewProductRequest>,
) -> Result<HttpResponse, ApiError> {
    let (fields, variants) = body.into_inner().parse()?;
    let product = caller
        .transaction(async |tx| {
            let id = sql::insert_product(tx, &fields, &variants).await?;
            product_as_it_is(tx, id).await
        })
        .await?;
    Ok(HttpResponse::Created().json(product))
}

#[utoipa::path(
    patch,
    path = "/v1/stores/{store_id}/products/{product_id}",
    tag = "catalog",
    summary = "Change a product (store staff); 409 when `version` is stale",
    request_body = ProductPatchRequest,
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)"), ("product_id" = ProductId, Path)),
    responses(
        (status = 200, description = "The product, at its next version", body = Product),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn update_product(
    caller: StoreCaller<need::Staff>,
    path: web::Path<(StoreId, ProductId)>,
    body: web::Json<ProductPatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let patch = body.into_inner();
    let product = caller
        .transaction(async |tx| {
            let (current, version) = sql::lock_product(tx, id).await?;
            if version != patch.version {
                return Err(ApiError::stale_version());
            }
            let mut checks = Checks::default();
            let fields = current.patched(patch, &mut checks);
            checks.finish()?;
            sql::update_product(tx, id, version, &fields).await?;
            product_as_it_is(tx, id).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(product))
}

#[utoipa::path(
    delete,
    path = "/v1/stores/{store_id}/products/{product_id}",
    tag = "catalog",
    summary = "Delete a product and its variants (store staff)",
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)"), ("product_id" = ProductId, Path), VersionQuery),
    responses(
        (status = 204, description = "Done"),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn delete_product(
    caller: StoreCaller<need::Staff>,
    path: web::Path<(StoreId, ProductId)>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    caller
        .transaction(async |tx| sql::delete_product(tx, id, query.version).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The product as it now is, for the answer to a change of it.
pub(super) async fn product_as_it_is(tx: &mut StoreTx, id: ProductId) -> Result<Product, ApiError> {
    sql::product_by_id(tx, id, None)
        .await?
        .ok_or_else(|| sql::product_not_found(id))
}
