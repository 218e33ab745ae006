//! Categories of a store's catalog: anyone in the store reads them, its
//! staff create and delete them.

use actix_web::{HttpResponse, web};

use super::model::{self, Category, NewCategoryRequest};
use crate::access::{StoreCaller, need};
use crate::db::StoreTx;
use crate::error::{ApiError, Problem, unique_violation};
use crate::ids::{CategoryId, StoreId};
use crate::pagination::{self, Page};
use crate::query::PageQuery;
use crate::validate::{Checks, text};

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
pub(super) async fn list_categories(
    caller: StoreCaller<need::Anyone>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after): (i64, Option<String>) = pagination::page(query.limit, query.cursor.as_deref())?;
    let rows = caller
        .transaction(async |tx| list_categories_by_slug(tx, after, limit).await)
        .await?;
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
pub(super) async fn create_category(
    caller: StoreCaller<need::Staff>,
    body: web::Json<NewCategoryRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut checks = Checks::default();
    let name = checks.parse("name", text(&body.name, 1, 100));
    let slug = checks.parse("slug", model::slug(&body.slug));
    let (name, slug) = checks.finish_with((name, slug))?;
    let category = caller
        .transaction(async |tx| insert_category(tx, &name, &slug).await)
        .await?;
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
pub(super) async fn delete_category(
    caller: StoreCaller<need::Staff>,
    path: web::Path<(StoreId, CategoryId)>,
) -> Result<HttpResponse, ApiError> {
    let (_, category) = path.into_inner();
    caller
        .transaction(async |tx| delete_category_row(tx, category).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A page of categories (`limit + 1` rows) by slug, after the slug `after`.
async fn list_categories_by_slug(
    tx: &mut StoreTx,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<Category>, ApiError> {
    let store = tx.store.id;
    Ok(sqlx::query_as(
        "SELECT id, name, slug, created_at FROM categories WHERE store_id = $1 \
         AND ($2::text IS NULL OR slug > $2) ORDER BY slug LIMIT $3",
    )
    .bind(store)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?)
}

async fn insert_category(tx: &mut StoreTx, name: &str, slug: &str) -> Result<Category, ApiError> {
    let store = tx.store.id;
    sqlx::query_as(
        "INSERT INTO categories (id, store_id, name, slug) VALUES ($1, $2, $3, $4) \
         RETURNING id, name, slug, created_at",
    )
    .bind(CategoryId::generate())
    .bind(store)
    .bind(name)
    .bind(slug)
    .fetch_one(tx.conn())
    .await
    .map_err(|error| match unique_violation(&error) {
        Some("categories_store_id_slug_key") => {
            ApiError::conflict("slug", "a category with this slug exists")
        }
        _ => error.into(),
    })
}

/// Deletes a category; its products stay, without it (404 when there is none).
async fn delete_category_row(tx: &mut StoreTx, id: CategoryId) -> Result<(), ApiError> {
    let deleted = sqlx::query("DELETE FROM categories WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(ApiError::NotFound(format!("category {id} does not exist")));
    }
    Ok(())
}
