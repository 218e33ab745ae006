//! The catalog of each store: categories, products and their variants.
//!
//! Shoppers (customers, publishable keys) read active products; a store's
//! managers (owners, its staff, its secret key) see every status and change
//! things, each change carrying the `version` it read (409 when stale).

pub mod model;
pub mod sql;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use self::model::{
    Category, Kind, NewCategoryRequest, NewProductRequest, NewVariantRequest, Product, ProductPatchRequest,
    Status, VariantPatchRequest,
};
use self::sql::{ProductCursor, ProductFilter};
use crate::app::State;
use crate::auth::{Principal, StoreAccess};
use crate::db::StoreTx;
use crate::error::{ApiError, Problem};
use crate::ids::{CategoryId, ProductId, StoreId, VariantId};
use crate::pagination::{self, Page};
use crate::query::{PageQuery, VersionQuery};
use crate::validate::{Checks, text};

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_categories,
    create_category,
    delete_category,
    list_products,
    get_product,
    create_product,
    update_product,
    delete_product,
    create_variant,
    update_variant,
    delete_variant
))]
pub struct Api;

/// The routes, inside the app's `/v1/stores/{store_id}` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for (path, route) in [
        ("/categories", web::get().to(list_categories)),
        ("/categories", web::post().to(create_category)),
        ("/categories/{category_id}", web::delete().to(delete_category)),
        ("/products", web::get().to(list_products)),
        ("/products", web::post().to(create_product)),
        ("/products/{product_id}", web::get().to(get_product)),
        ("/products/{product_id}", web::patch().to(update_product)),
        ("/products/{product_id}", web::delete().to(delete_product)),
        ("/products/{product_id}/variants", web::post().to(create_variant)),
        (
            "/products/{product_id}/variants/{variant_id}",
            web::patch().to(update_variant),
        ),
        (
            "/products/{product_id}/variants/{variant_id}",
            web::delete().to(delete_variant),
        ),
    ] {
        cfg.route(path, route);
    }
}

/// Opens `store`'s transaction for `principal`, who must have `needed` access.
async fn open(
    state: &State,
    principal: &Principal,
    store: StoreId,
    needed: StoreAccess,
) -> Result<(StoreTx, StoreAccess), ApiError> {
    let access = principal.store_access(store)?;
    if access < needed {
        return Err(ApiError::Forbidden(format!(
            "only the staff of store {store} may do this"
        )));
    }
    Ok((state.db.store(store).await?, access))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ProductQuery {
    status: Option<Status>,
    kind: Option<Kind>,
    category: Option<CategoryId>,
    min_price: Option<i64>,
    max_price: Option<i64>,
    q: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/stores/{store_id}/categories",
    tag = "catalog",
    summary = "The store's categories, by slug",
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)"), PageQuery),
    responses(
        (status = 200, description = "A page of categories", body = Page<Category>),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn list_categories(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<StoreId>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after): (i64, Option<String>) = pagination::page(query.limit, query.cursor.as_deref())?;
    let (mut tx, _) = open(&state, &principal, path.into_inner(), StoreAccess::Shopper).await?;
    let rows = sql::list_categories(&mut tx, after, limit).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |c| c.slug.clone())))
}

#[utoipa::path(
    post,
    path = "/v1/stores/{store_id}/categories",
    tag = "catalog",
    summary = "Create a category (store staff)",
    request_body = NewCategoryRequest,
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)")),
    responses(
        (status = 201, description = "The category", body = Category),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn create_category(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<StoreId>,
    body: web::Json<NewCategoryRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut checks = Checks::default();
    let name = checks.parse("name", text(&body.name, 1, 100));
    let slug = checks.parse("slug", model::slug(&body.slug));
    checks.finish()?;
    let (mut tx, _) = open(&state, &principal, path.into_inner(), StoreAccess::Manager).await?;
    let category = sql::insert_category(&mut tx, &name.unwrap(), &slug.unwrap()).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(category))
}

#[utoipa::path(
    delete,
    path = "/v1/stores/{store_id}/categories/{category_id}",
    tag = "catalog",
    summary = "Delete a category; its products stay",
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)"), ("category_id" = CategoryId, Path)),
    responses(
        (status = 204, description = "Done"),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn delete_category(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, CategoryId)>,
) -> Result<HttpResponse, ApiError> {
    let (store, category) = path.into_inner();
    let (mut tx, _) = open(&state, &principal, store, StoreAccess::Manager).await?;
    sql::delete_category(&mut tx, category).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
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
async fn list_products(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<StoreId>,
    query: web::Query<ProductQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let store = path.into_inner();
    let access = principal.store_access(store)?;
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
    let status = match access {
        StoreAccess::Manager => query.status,
        StoreAccess::Shopper => {
            checks.check(
                query.status.is_none_or(|s| s == Status::Active),
                "status",
                "only the store's staff see products that are not active",
            );
            Some(Status::Active)
        }
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
    let (mut tx, _) = open(&state, &principal, store, StoreAccess::Shopper).await?;
    let rows = sql::list_products(&mut tx, &filter, after, limit).await?;
    tx.commit().await?;
    let page = Page::from_rows(rows, limit, |(product, rank)| ProductCursor {
        id: product.id,
        rank: *rank,
    });
    Ok(HttpResponse::Ok().json(Page {
        items: page.items.into_iter().map(|(product, _)| product).collect(),
        next_cursor: page.next_cursor,
    }))
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
async fn get_product(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, ProductId)>,
) -> Result<HttpResponse, ApiError> {
    let (store, id) = path.into_inner();
    let (mut tx, access) = open(&state, &principal, store, StoreAccess::Shopper).await?;
    let only = (access == StoreAccess::Shopper).then_some(Status::Active);
    let product = sql::product(&mut tx, id, only).await?;
    tx.commit().await?;
    product
        .map(|product| HttpResponse::Ok().json(product))
        .ok_or_else(|| ApiError::NotFound(format!("product {id} does not exist")))
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
async fn create_product(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<StoreId>,
    body: web::Json<NewProductRequest>,
) -> Result<HttpResponse, ApiError> {
    let (fields, variants) = body.into_inner().parse()?;
    let (mut tx, _) = open(&state, &principal, path.into_inner(), StoreAccess::Manager).await?;
    let id = sql::insert_product(&mut tx, &fields, &variants).await?;
    respond_with_product(tx, id, HttpResponse::Created()).await
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
async fn update_product(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, ProductId)>,
    body: web::Json<ProductPatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let (store, id) = path.into_inner();
    let patch = body.into_inner();
    let (mut tx, _) = open(&state, &principal, store, StoreAccess::Manager).await?;
    let (current, version) = sql::lock_product(&mut tx, id).await?;
    if version != patch.version {
        return Err(ApiError::stale_version());
    }
    let mut checks = Checks::default();
    let fields = current.patched(patch, &mut checks);
    checks.finish()?;
    sql::update_product(&mut tx, id, version, &fields).await?;
    respond_with_product(tx, id, HttpResponse::Ok()).await
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
async fn delete_product(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, ProductId)>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (store, id) = path.into_inner();
    let (mut tx, _) = open(&state, &principal, store, StoreAccess::Manager).await?;
    sql::delete_product(&mut tx, id, query.version).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

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
async fn create_variant(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, ProductId)>,
    body: web::Json<NewVariantRequest>,
) -> Result<HttpResponse, ApiError> {
    let (store, product) = path.into_inner();
    let mut checks = Checks::default();
    let variant = body.into_inner().parse(&mut checks, "");
    checks.finish()?;
    let (mut tx, _) = open(&state, &principal, store, StoreAccess::Manager).await?;
    let position = sql::next_variant_position(&mut tx, product).await?;
    sql::insert_variants(&mut tx, product, &[variant], position).await?;
    respond_with_product(tx, product, HttpResponse::Created()).await
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
async fn update_variant(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, ProductId, VariantId)>,
    body: web::Json<VariantPatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let (store, product, id) = path.into_inner();
    let patch = body.into_inner();
    let (mut tx, _) = open(&state, &principal, store, StoreAccess::Manager).await?;
    let current = sql::lock_variant(&mut tx, product, id).await?;
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
    sql::update_variant(&mut tx, id, current.version, &fields, position).await?;
    respond_with_product(tx, product, HttpResponse::Ok()).await
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
async fn delete_variant(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<(StoreId, ProductId, VariantId)>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (store, product, id) = path.into_inner();
    let (mut tx, _) = open(&state, &principal, store, StoreAccess::Manager).await?;
    sql::delete_variant(&mut tx, product, id, query.version).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Commits and answers with the product as it now is.
async fn respond_with_product(
    mut tx: StoreTx,
    id: ProductId,
    mut response: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, ApiError> {
    let product = sql::product(&mut tx, id, None)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("product {id} does not exist")))?;
    tx.commit().await?;
    Ok(response.json(product))
}
