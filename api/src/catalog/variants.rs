//! Variants of a product: added, changed and deleted by the store's staff,
//! each answer the product as it now is.

use actix_web::{HttpResponse, web};

use super::model::{MAX_VARIANTS, NewVariantRequest, Product, VariantPatchRequest};
use super::products::product_as_it_is;
use super::sql;
use crate::access::{StoreCaller, need};
use crate::error::{ApiError, Problem};
use crate::ids::{ProductId, StoreId, VariantId};
use crate::query::VersionQuery;
use crate::validate::Checks;

#[utoipa::path(
    post,
    path = "/v1/stores/{store_id}/products/{product_id}/variants",
    tag = "catalog",
    summary = "Add a variant (store staff)",
    request_body = NewVariantRequest,
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)"), ("product_id" = ProductId, Path)),
    responses(
        (status = 201, description = "The product with the new variant", body = Product),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn create_variant(
    caller: StoreCaller<need::Staff>,
    path: web::Path<(StoreId, ProductId)>,
    body: web::Json<NewVariantRequest>,
) -> Result<HttpResponse, ApiError> {
    let (_, product) = path.into_inner();
    let mut checks = Checks::default();
    let variant = body.into_inner().parse(&mut checks, "");
    checks.finish()?;
    let product = caller
        .transaction(async |tx| {
            let (position, count) = sql::lock_for_new_variant(tx, product).await?;
            if count >= MAX_VARIANTS as i64 {
                return Err(ApiError::conflict(
                    "variants",
                    format!("a product has at most {MAX_VARIANTS} variants; delete one first"),
                ));
            }
            sql::insert_variants(tx, product, &[variant], position).await?;
            product_as_it_is(tx, product).await
        })
        .await?;
    Ok(HttpResponse::Created().json(product))
}

#[utoipa::path(
    patch,
    path = "/v1/stores/{store_id}/products/{product_id}/variants/{variant_id}",
    tag = "catalog",
    summary = "Change a variant (store staff); 409 when `version` is stale",
    request_body = VariantPatchRequest,
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)"), ("product_id" = ProductId, Path), ("variant_id" = VariantId, Path)),
    responses(
        (status = 200, description = "The product with the changed variant", body = Product),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn update_variant(
    caller: StoreCaller<need::Staff>,
    path: web::Path<(StoreId, ProductId, VariantId)>,
    body: web::Json<VariantPatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let (_, product, id) = path.into_inner();
    let patch = body.into_inner();
    let product = caller
        .transaction(async |tx| {
            let current = sql::lock_variant(tx, product, id).await?;
            if current.version != patch.version {
                return Err(ApiError::stale_version());
            }
            let mut checks = Checks::default();
            checks.check(
                patch.position.is_none_or(|p| p >= 0),
                "position",
                "must be at least 0",
            );
            let position = patch.position.unwrap_or(current.position);
            let fields = current.fields.patched(patch, &mut checks);
            checks.finish()?;
            sql::update_variant(tx, id, current.version, &fields, position).await?;
            product_as_it_is(tx, product).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(product))
}

#[utoipa::path(
    delete,
    path = "/v1/stores/{store_id}/products/{product_id}/variants/{variant_id}",
    tag = "catalog",
    summary = "Delete a variant; a product keeps at least one",
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)"), ("product_id" = ProductId, Path), ("variant_id" = VariantId, Path), VersionQuery),
    responses(
        (status = 204, description = "Done"),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn delete_variant(
    caller: StoreCaller<need::Staff>,
    path: web::Path<(StoreId, ProductId, VariantId)>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (_, product, id) = path.into_inner();
    caller
        .transaction(async |tx| sql::delete_variant(tx, product, id, query.version).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
