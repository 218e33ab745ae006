//! `Idempotency-Key`: money and stock mutations run at most once per key.
//!
//! The key is claimed inside the mutation's own transaction: a row
//! (store, caller, key) is inserted first, so a concurrent request with the
//! same key waits on it and, once the first commits, finds its stored
//! response and replays it (same status, same body). A different request
//! under a used key is a 422. A failed mutation rolls its claim back, so it
//! can be retried with the same key. Keys are kept 24 hours.

use std::future::{Ready, ready};

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::access::StoreCaller;
use crate::db::StoreTx;
use crate::error::{ApiError, FieldError};

pub const HEADER: &str = "Idempotency-Key";
/// Set on a replayed response.
pub const REPLAYED_HEADER: &str = "Idempotency-Replayed";

/// How many expired keys a claim clears on its way (keeps the table at about 24 hours of keys).
const CLEANUP_BATCH: i64 = 100;

/// The caller's key for this request: 1 to 255 visible ASCII characters.
pub struct IdempotencyKey(String);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let key = request
            .headers()
            .get(HEADER)
            .and_then(|value| value.to_str().ok());
        ready(match key {
            Some(key) if (1..=255).contains(&key.len()) && key.chars().all(|c| c.is_ascii_graphic()) => {
                Ok(Self(key.to_owned()))
            }
            Some(_) => Err(ApiError::Validation(vec![FieldError::new(
                HEADER,
                "must be 1 to 255 visible ASCII characters",
            )])),
            None => Err(ApiError::MalformedRequest(format!(
                "this request changes money or stock, so it needs an `{HEADER}` header \
                 (a unique value per operation, reused only to retry it)"
            ))),
        })
    }
}

/// Claims key $3 of caller $2 in store $1 for the request whose SHA-256 is
/// $4 (no row when it is taken), clearing up to $5 other keys older than 24
/// hours on the way, in one round trip. (The claimed key itself is never
/// cleared by its own claim: the two would race within the statement.)
/// Public for the benchmark.
pub const CLAIM: &str = "WITH expired AS (DELETE FROM idempotency_keys WHERE (store_id, principal, key) IN \
     (SELECT store_id, principal, key FROM idempotency_keys WHERE store_id = $1 \
     AND created_at < now() - interval '24 hours' AND (principal, key) <> ($2, $3) LIMIT $5)) \
     INSERT INTO idempotency_keys (store_id, principal, key, request_sha256, status, body) \
     VALUES ($1, $2, $3, $4, 0, 'null') ON CONFLICT DO NOTHING";

/// Stores status $4 and body $5 as the answer of key $3 of caller $2 in
/// store $1. Public for the benchmark.
pub const RECORD: &str =
    "UPDATE idempotency_keys SET status = $4, body = $5 WHERE store_id = $1 AND principal = $2 AND key = $3";

/// A mutation's answer, and what it made (None when the answer was replayed).
pub struct Ran<T> {
    pub response: HttpResponse,
    pub made: Option<T>,
}

/// Runs `work` in `caller`'s store transaction and answers `status` with
/// what it returns. Under `key` it runs at most once: the key is claimed
/// first in the same transaction, and a retry of the same request gets
/// the stored answer back instead of running again.
pub async fn run<N, T: Serialize>(
    caller: &StoreCaller<N>,
    key: Option<&IdempotencyKey>,
    operation: &str,
    request: &impl Serialize,
    status: StatusCode,
    work: impl AsyncFnOnce(&mut StoreTx) -> Result<T, ApiError>,
) -> Result<Ran<T>, ApiError> {
    let actor = caller.actor();
    caller
        .transaction(async |tx| {
            if let Some(key) = key
                && let Claim::Replay(response) = claim(tx, &actor, key, operation, request).await?
            {
                return Ok(Ran { response, made: None });
            }
            let made = work(tx).await?;
            let response = match key {
                Some(key) => record(tx, &actor, key, status, &made).await?,
                None => HttpResponse::build(status).json(&made),
            };
            Ok(Ran {
                response,
                made: Some(made),
            })
        })
        .await
}

/// What a claim found.
enum Claim {
    /// The key is new: run the mutation, then record its response.
    New,
    /// The key answered this same request before: send this again.
    Replay(HttpResponse),
}

/// Claims `key` for `caller`'s `request` (the operation and its body).
async fn claim(
    tx: &mut StoreTx,
    caller: &str,
    key: &IdempotencyKey,
    operation: &str,
    request: &impl Serialize,
) -> Result<Claim, ApiError> {
    let store = tx.store.id;
    let fingerprint = fingerprint(operation, request);
    // Status and body are filled in by `record`, in this same transaction:
    // no one ever sees them empty.
    let inserted = sqlx::query(CLAIM)
        .bind(store)
        .bind(caller)
        .bind(&key.0)
        .bind(&fingerprint)
        .bind(CLEANUP_BATCH)
        .execute(tx.conn())
        .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::New);
    }
    let (stored, status, body): (Vec<u8>, i16, serde_json::Value) = sqlx::query_as(
        "SELECT request_sha256, status, body FROM idempotency_keys \
         WHERE store_id = $1 AND principal = $2 AND key = $3",
    )
    .bind(store)
    .bind(caller)
    .bind(&key.0)
    .fetch_one(tx.conn())
    .await?;
    if stored != fingerprint {
        return Err(ApiError::Validation(vec![FieldError::new(
            HEADER,
            "was used for a different request; use a new key for a new operation",
        )]));
    }
    let status = StatusCode::from_u16(status as u16)
        .map_err(|_| ApiError::Internal(format!("stored status {status} for an idempotency key")))?;
    Ok(Claim::Replay(
        HttpResponse::build(status)
            .insert_header((REPLAYED_HEADER, "true"))
            .json(body),
    ))
}

/// Stores the response of a claimed key, and returns it.
async fn record(
    tx: &mut StoreTx,
    caller: &str,
    key: &IdempotencyKey,
    status: StatusCode,
    body: &impl Serialize,
) -> Result<HttpResponse, ApiError> {
    let body =
        serde_json::to_value(body).map_err(|e| ApiError::Internal(format!("serialising a response: {e}")))?;
    let store = tx.store.id;
    sqlx::query(RECORD)
        .bind(store)
        .bind(caller)
        .bind(&key.0)
        .bind(status.as_u16() as i16)
        .bind(&body)
        .execute(tx.conn())
        .await?;
    Ok(HttpResponse::build(status).json(body))
}

/// What makes two requests the same: the operation and the parsed body.
fn fingerprint(operation: &str, request: &impl Serialize) -> Vec<u8> {
    let body = serde_json::to_vec(request).expect("requests serialise");
    let mut hash = Sha256::new();
    hash.update(operation.as_bytes());
    hash.update([0]);
    hash.update(&body);
    hash.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_body_of_another_operation_is_another_request() {
        let body = serde_json::json!({"delta": 1});
        assert_eq!(fingerprint("adjust", &body), fingerprint("adjust", &body));
        assert_ne!(fingerprint("adjust", &body), fingerprint("order", &body));
        assert_ne!(
            fingerprint("adjust", &body),
            fingerprint("adjust", &serde_json::json!({"delta": 2}))
        );
    }
}
