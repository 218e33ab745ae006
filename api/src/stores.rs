//! `/v1/stores`: the tenant's stores, read-only (the operator creates them
//! from Store resources). A caller sees the stores it has access to.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::access::{StoreCaller, need};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::ids::StoreId;
use crate::pagination::{self, Page};
use crate::query::PageQuery;
use crate::state::State;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, get))]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/stores", web::get().to(list));
}

/// The store's own route, inside the app's `/v1/stores/{store_id}` scope.
pub fn store_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(get));
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
struct Store {
    id: StoreId,
    name: String,
    display_name: String,
    industry: String,
    currency: String,
    timezone: String,
    created_at: DateTime<Utc>,
}

/// The columns of a [`Store`], for `concat!` into static SQL.
macro_rules! columns {
    () => {
        "id, name, display_name, industry, currency::text, timezone, created_at"
    };
}

/// Active stores by name; only its own for an API key, only theirs for limited staff.
#[utoipa::path(
    get,
    path = "/v1/stores",
    tag = "stores",
    summary = "The stores the caller may use",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of stores by name", body = Page<Store>),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn list(
    state: web::Data<State>,
    principal: Principal,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after): (i64, Option<String>) = pagination::page(query.limit, query.cursor.as_deref())?;
    // None: every store.
    let only: Option<Vec<StoreId>> = match &principal {
        Principal::User(claims) if claims.role == Role::Staff => claims.stores.clone(),
        Principal::User(_) => None,
        Principal::StoreKey { store_id, .. } => Some(vec![*store_id]),
    };
    let mut conn = state.db.tenant_wide_conn().await?;
    let rows: Vec<Store> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM stores WHERE archived_at IS NULL \
         AND ($1::uuid[] IS NULL OR id = ANY($1)) AND ($2::text IS NULL OR name > $2) \
         ORDER BY name LIMIT $3"
    ))
    .bind(only)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(&mut *conn)
    .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |store| store.name.clone())))
}

#[utoipa::path(
    get,
    path = "/v1/stores/{store_id}",
    tag = "stores",
    summary = "One store",
    params(("store_id" = StoreId, Path, description = "The store (`status.storeId` of its Store resource)")),
    responses(
        (status = 200, description = "The store", body = Store),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn get(caller: StoreCaller<need::Anyone>) -> Result<HttpResponse, ApiError> {
    // The store's transaction answers 404 for an unknown or archived store.
    let store: Store = caller
        .transaction(async |tx| {
            Ok(
                sqlx::query_as(concat!("SELECT ", columns!(), " FROM stores WHERE id = $1"))
                    .bind(caller.store)
                    .fetch_one(tx.conn())
                    .await?,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(store))
}
