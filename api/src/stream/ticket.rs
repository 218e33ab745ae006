//! Stream tickets: one-use credentials for opening the live stream from a
//! browser, which cannot set an `Authorization` header on a WebSocket.
//! Issued for an access token, sent as a subprotocol, kept as a hash, and
//! deleted by the handshake that uses it (`access`, on `Principal`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::auth::tokens::Claims;
use crate::error::ApiError;

/// How long a ticket can be used.
pub const TICKET_SECONDS: i64 = 30;

/// The prefix of the subprotocol that carries a ticket.
pub const TICKET_PROTOCOL_PREFIX: &str = "shopfleet.ticket.";

/// Keeps a new ticket (its hash) for `claims`, usable until `expires_at`.
pub async fn insert_ticket(
    conn: &mut PgConnection,
    ticket_sha256: &[u8],
    claims: &Claims,
    expires_at: DateTime<Utc>,
) -> Result<(), ApiError> {
    sqlx::query("INSERT INTO stream_tickets (ticket_sha256, claims, expires_at) VALUES ($1, $2, $3)")
        .bind(ticket_sha256)
        .bind(sqlx::types::Json(claims))
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the ticket and returns the claims it was issued for, when it
/// exists and has not expired: a ticket opens one stream, once.
pub async fn take_ticket(conn: &mut PgConnection, ticket_sha256: &[u8]) -> Result<Option<Claims>, ApiError> {
    let claims: Option<sqlx::types::Json<Claims>> = sqlx::query_scalar(
        "DELETE FROM stream_tickets WHERE ticket_sha256 = $1 RETURNING \
         CASE WHEN expires_at > now() THEN claims END",
    )
    .bind(ticket_sha256)
    .fetch_optional(conn)
    .await?
    .flatten();
    Ok(claims.map(|claims| claims.0))
}

/// Deletes the tickets nobody used; how many.
pub async fn purge_expired_tickets(conn: &mut PgConnection) -> Result<u64, ApiError> {
    Ok(sqlx::query("DELETE FROM stream_tickets WHERE expires_at < now()")
        .execute(conn)
        .await?
        .rows_affected())
}
