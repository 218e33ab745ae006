//! Storefront events: what shoppers do before they buy (sessions, product
//! views, searches, carts, checkouts), sent by the shop front in batches.
//! They feed the funnel of the analytics; revenue comes from orders alone.
//! See `model` for the checks, docs/api.md for the contract.

pub mod model;
pub mod sql;

use actix_web::{HttpResponse, web};
use chrono::Utc;

use self::model::{EventBatch, Ingested};
use crate::access::{StoreCaller, need};
use crate::error::{self, ApiError, Problem};
use crate::ids::StoreId;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(ingest))]
pub struct Api;

/// The largest batch body: 500 events with every field at its longest fit.
const BODY_LIMIT: usize = 1024 * 1024;

/// The routes, inside the app's `/v1/stores/{store_id}` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/events")
            .app_data(error::json_config(BODY_LIMIT))
            .route(web::post().to(ingest)),
    );
}

/// Records a batch of storefront events (the store's keys, its staff, any
/// customer of the tenant). Each event is checked on its own: the good ones
/// are kept, the bad ones named by index and field, an event id sent before
/// is kept once.
#[utoipa::path(post, path = "/v1/stores/{store_id}/events", tag = "events",
    params(("store_id" = StoreId, Path)),
    request_body = EventBatch,
    responses(
        (status = 200, description = "What became of each event", body = Ingested),
        (status = "4XX", description = "A problem (RFC 9457): 422 when the batch is empty or holds more than 500 events", body = Problem, content_type = "application/problem+json"),
    ))]
async fn ingest(
    caller: StoreCaller<need::Anyone>,
    body: web::Json<EventBatch>,
) -> Result<HttpResponse, ApiError> {
    let batch = body.into_inner();
    model::check_batch(&batch).map_err(|error| ApiError::Validation(vec![error]))?;
    let (good, rejected) = model::parse_batch(&batch.events, Utc::now(), caller.role.customer());
    let events: Vec<_> = good.iter().map(|(_, event)| event).collect();
    let stored = caller
        .transaction(async |tx| sql::insert_new_events(tx, &events).await)
        .await?;
    Ok(HttpResponse::Ok().json(model::report(&good, rejected, &stored)))
}
