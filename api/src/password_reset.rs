//! Password resets: `POST /v1/auth/password-reset {email}` mails a
//! single-use token that lives 30 minutes; `POST
//! /v1/auth/password-reset/confirm {token, new_password}` spends it for a new
//! password and ends every session of the account.
//!
//! Mail goes through the transactional outbox (`outbox`, written in the
//! request's transaction): whatever delivers it plugs in there. Until a
//! deliverer is installed, the API logs that a message is waiting (never
//! what it says) and the message stays in the table.
//!
//! The request's answer is the same for every email, known or not, and so is
//! its work: one statement that finds nothing to write for an unknown one.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;

use crate::auth::email::Email;
use crate::auth::password::Password;
use crate::auth::sessions::end_sessions;
use crate::auth::tokens::{random_secret, sha256};
use crate::error::{ApiError, Problem};
use crate::ids::UserId;
use crate::limits::admission::Client;
use crate::state::State;
use crate::validate::Checks;

/// How long a reset token may be used.
const RESET_MINUTES: i32 = 30;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(request_reset, confirm_reset))]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/auth/password-reset", web::post().to(request_reset))
        .route("/v1/auth/password-reset/confirm", web::post().to(confirm_reset));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetConfirmation {
    token: String,
    new_password: String,
}

/// The answer to a reset request, the same whoever asked.
#[derive(Serialize, ToSchema)]
struct ResetRequested {
    next: &'static str,
}

/// Mails a reset token to the account of `email`, if there is one.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth",
    summary = "Ask for a password reset token by mail",
    request_body = ResetRequest,
    security(()),
    responses(
        (status = 202, description = "If the email has an account, a token is on its way", body = ResetRequested),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn request_reset(
    state: web::Data<State>,
    body: web::Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut checks = Checks::default();
    let email = checks.parse("email", Email::parse(&body.email));
    let email = checks.finish_with(email)?;
    let token = random_secret("sf_pr_");
    let queued = state
        .db
        .tenant_wide(async |tx| queue_reset(tx, &email, &token).await)
        .await?;
    if queued {
        // The outbox's deliverer is not part of the API yet: say a message waits.
        tracing::info!(kind = "password_reset", "a message is waiting in the outbox");
    }
    Ok(HttpResponse::Accepted().json(ResetRequested {
        next: "if this email has an account, a reset token is on its way; \
               spend it with POST /v1/auth/password-reset/confirm within 30 minutes",
    }))
}

/// Spends a reset token for a new password; every session of the account
/// ends. Sign in with the new password next.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth",
    summary = "Set a new password with a reset token",
    request_body = ResetConfirmation,
    security(()),
    responses(
        (status = 204, description = "The password is changed; every session has ended"),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords are being checked at once: retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ))]
async fn confirm_reset(
    state: web::Data<State>,
    Client(client): Client,
    body: web::Json<ResetConfirmation>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut checks = Checks::default();
    let password = checks.parse("new_password", Password::parse(body.new_password));
    let password = checks.finish_with(password)?;
    let unknown = || ApiError::Unauthorized("the reset token is unknown, used or expired".to_owned());
    state.limits.refuse_guessing(client)?;
    // A made-up token costs a lookup, not a password hash.
    if live_reset(&mut *state.db.tenant_wide_conn().await?, &body.token)
        .await?
        .is_none()
    {
        state.limits.count_unknown_credential(client);
        return Err(unknown());
    }
    let hash = state.passwords.hash(password).await?;
    let user = state
        .db
        .tenant_wide(async |tx| {
            let user = spend_reset(tx, &body.token).await?.ok_or_else(unknown)?;
            crate::auth::accounts::set_password_hash(tx, user, &hash).await?;
            end_sessions(tx, user).await?;
            Ok(user)
        })
        .await?;
    state.sessions.forget(user);
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces any earlier reset of the enabled account of `email` with one
/// for `token`, and puts the message in the outbox, in one statement that
/// writes nothing for an unknown email. Whether it wrote.
async fn queue_reset(conn: &mut PgConnection, email: &Email, token: &str) -> Result<bool, ApiError> {
    let queued: i64 = sqlx::query_scalar(
        "WITH account AS (SELECT id, email FROM users WHERE email = $1 AND disabled_at IS NULL), \
         earlier AS (UPDATE password_resets SET used_at = now() \
                     WHERE user_id IN (SELECT id FROM account) AND used_at IS NULL), \
         reset AS (INSERT INTO password_resets (user_id, token_sha256, expires_at) \
                   SELECT id, $2, now() + make_interval(mins => $4) FROM account RETURNING user_id), \
         message AS (INSERT INTO outbox (recipient, kind, body) \
                     SELECT email, 'password_reset', jsonb_build_object('token', $3::text, 'minutes', $4) \
                     FROM account) \
         SELECT count(*) FROM reset",
    )
    .bind(email.as_str())
    .bind(sha256(token))
    .bind(token)
    .bind(RESET_MINUTES)
    .fetch_one(conn)
    .await?;
    Ok(queued > 0)
}

/// The account of a reset token that may still be spent.
async fn live_reset(conn: &mut PgConnection, token: &str) -> Result<Option<UserId>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM password_resets \
         WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > now()",
    )
    .bind(sha256(token))
    .fetch_optional(conn)
    .await?)
}

/// Spends a reset token (once: two requests with it cannot both succeed);
/// its account, or `None`.
async fn spend_reset(conn: &mut PgConnection, token: &str) -> Result<Option<UserId>, ApiError> {
    Ok(sqlx::query_scalar(
        "UPDATE password_resets SET used_at = now() \
         WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id",
    )
    .bind(sha256(token))
    .fetch_optional(conn)
    .await?)
}
