//! The live stream: a WebSocket per staff member watching a store, fed from
//! the tenant database's live log so that every replica sends every event,
//! in commit order, exactly once (docs/api.md, "Live stream").
//!
//! - `log`: the log (written by the migration's triggers, at commit) read as
//!   messages.
//! - `ticket`: one-use credentials for browsers.
//! - `live`: what `State` holds of it.
//! - `follower`: one `LISTEN` per process; reads the logs of the stores
//!   with clients here and publishes their events.
//! - `hub`: a bounded channel per store with clients, and the limits.
//! - `session`: one client: what it missed, then live, with heartbeats.

pub mod follower;
pub mod hub;
pub mod live;
pub mod log;
pub mod message;
pub mod session;
pub mod ticket;

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use self::message::PROTOCOL;
use self::ticket::{TICKET_PROTOCOL_PREFIX, TICKET_SECONDS};
use crate::access::{StoreCaller, need};
use crate::auth::Principal;
use crate::auth::tokens::{random_secret, sha256};
use crate::error::{ApiError, Problem};
use crate::ids::StoreId;
use crate::state::State;
use crate::validate::Checks;

/// The OpenAPI description of these routes, and the messages' schemas.
#[derive(utoipa::OpenApi)]
#[openapi(paths(issue_ticket, open_stream), components(schemas(message::LiveMessage)))]
pub struct Api;

/// The routes, inside the app's `/v1/stores/{store_id}` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stream/tickets", web::post().to(issue_ticket))
        .route("/stream", web::get().to(open_stream));
}

/// Starts the follower and the hourly clean-up of old events and unused
/// tickets, for as long as the process runs.
pub fn spawn(state: web::Data<State>) {
    let requests = state
        .live
        .take_requests()
        .expect("the live stream is started once");
    follower::spawn(state.clone(), requests);
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60 * 60));
        loop {
            every.tick().await;
            if let Err(error) = forget_old(&state).await {
                tracing::warn!(%error, "cleaning up the live log failed; retrying in an hour");
            }
        }
    });
}

async fn forget_old(state: &State) -> Result<(), ApiError> {
    // Nobody may have watched for an hour: number what waits, so that the
    // inbox never holds more than an hour of events.
    log::sequence(&state.db).await?;
    let mut conn = state.db.tenant_wide_conn().await?;
    ticket::purge_expired_tickets(&mut conn).await?;
    drop(conn);
    for store in state.db.active_stores().await? {
        let mut tx = state.db.store(store).await?;
        log::forget_old_events(&mut tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A ticket that opens one stream.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StreamTicket {
    /// Send it as a WebSocket subprotocol, `shopfleet.ticket.<ticket>`,
    /// beside `shopfleet.live.v1`; it works once.
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
    /// The subprotocols to open the stream with, in this order.
    pub protocols: Vec<String>,
}

/// A one-use ticket for opening this store's stream from a browser, which
/// cannot set an `Authorization` header on a WebSocket (and a token in a
/// URL ends up in logs). Valid for 30 seconds. Staff signed in as a user;
/// a secret key opens the stream with its header.
#[utoipa::path(post, path = "/v1/stores/{store_id}/stream/tickets", tag = "stream",
    params(("store_id" = StoreId, Path)),
    responses(
        (status = 201, description = "The ticket", body = StreamTicket),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff, 422 for a key", body = Problem, content_type = "application/problem+json"),
    ))]
async fn issue_ticket(
    caller: StoreCaller<need::Staff>,
    state: web::Data<State>,
) -> Result<HttpResponse, ApiError> {
    let Principal::User(claims) = &caller.principal else {
        return Err(ApiError::Validation(vec![crate::error::FieldError::new(
            "Authorization",
            "tickets are for signed-in staff; a key opens the stream with its header",
        )]));
    };
    let ticket = random_secret("");
    let expires_at = Utc::now() + chrono::Duration::seconds(TICKET_SECONDS);
    let mut conn = state.db.tenant_wide_conn().await?;
    ticket::insert_ticket(&mut conn, &sha256(&ticket), claims, expires_at).await?;
    Ok(HttpResponse::Created().json(StreamTicket {
        protocols: vec![PROTOCOL.to_owned(), format!("{TICKET_PROTOCOL_PREFIX}{ticket}")],
        ticket,
        expires_at,
    }))
}

/// The query of the stream.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// The id of the last event received: the stream first sends what
    /// followed it (or `reload` when that is too old), then goes live.
    pub after: Option<String>,
}

/// The store's live stream, a WebSocket (subprotocol `shopfleet.live.v1`):
/// events as they commit, `tick`s of today's figures every 5
/// seconds, `ready` and `reload` (`LiveMessage`). Staff only, with
/// `Authorization`, a secret key, or a ticket from `POST .../stream/tickets`
/// as the subprotocol `shopfleet.ticket.<ticket>`. Past the limits of open
/// streams (per store, per server) the socket is closed at once with code
/// 1013 and a reason saying which.
#[utoipa::path(get, path = "/v1/stores/{store_id}/stream", tag = "stream",
    params(("store_id" = StoreId, Path), StreamQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; messages are `LiveMessage`s"),
        (status = "4XX", description = "A problem (RFC 9457): 401 without credentials or with a used ticket, 403 for anyone but the store's staff", body = Problem, content_type = "application/problem+json"),
    ))]
async fn open_stream(
    caller: StoreCaller<need::Staff>,
    query: web::Query<StreamQuery>,
    state: web::Data<State>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut checks = Checks::default();
    let after = query.after.as_deref().map(|after| {
        checks.parse(
            "after",
            after
                .parse::<i64>()
                .ok()
                .filter(|position| *position >= 0)
                .ok_or_else(|| "must be the id of an event of this stream".to_owned()),
        )
    });
    let after = match after {
        Some(after) => Some(checks.finish_with(after)?),
        None => None,
    };
    let (response, session, incoming) = actix_ws::handle_with_protocols(&request, body, &[PROTOCOL])
        .map_err(|error| ApiError::MalformedRequest(format!("not a WebSocket request: {error}")))?;
    match state.live.hub.join(caller.store) {
        Ok(membership) => {
            actix_web::rt::spawn(session::run(state, membership, session, incoming, after));
        }
        Err(refusal) => {
            state.metrics.stream_ended("refused");
            actix_web::rt::spawn(async move {
                let _ = session
                    .close(Some(actix_ws::CloseReason {
                        code: actix_ws::CloseCode::Again,
                        description: Some(refusal.to_string()),
                    }))
                    .await;
            });
        }
    }
    Ok(response)
}
