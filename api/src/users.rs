//! Users over HTTP: `/v1/auth/*` (register, sign in, refresh, sign out,
//! accept an invitation), `/v1/invitations` and `/v1/me`.
//!
//! Customers register themselves. Owners and staff join by invitation: the
//! tenant's first owner through the invitation the operator creates for
//! `Tenant.spec.owner.email` (its token is in Secret `<tenant>-owner-invite`),
//! everyone after through `POST /v1/invitations` by an owner.

use std::time::Instant;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::accounts::{self, Refresh};
use crate::auth::email::Email;
use crate::auth::password::Password;
use crate::auth::tokens::ACCESS_TOKEN_SECONDS;
use crate::auth::{KeyKind, Principal, Role, User};
use crate::error::{ApiError, FieldError, Problem};
use crate::ids::StoreId;
use crate::limits::admission::Client;
use crate::state::State;
use crate::validate::{Checks, text};

/// How long a staff invitation may wait to be accepted.
const INVITATION_DAYS: i64 = 7;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(register, login, refresh, logout, accept_invitation, invite, me))]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/auth/register", web::post().to(register))
        .route("/v1/auth/login", web::post().to(login))
        .route("/v1/auth/refresh", web::post().to(refresh))
        .route("/v1/auth/logout", web::post().to(logout))
        .route("/v1/auth/accept-invitation", web::post().to(accept_invitation))
        .route("/v1/invitations", web::post().to(invite))
        .route("/v1/me", web::get().to(me));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    email: String,
    password: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AcceptInvitationRequest {
    token: String,
    password: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InviteRequest {
    email: String,
    role: Role,
    store_ids: Option<Vec<StoreId>>,
}

/// A signed-in session: a short-lived access token and the refresh token
/// that gets the next one.
#[derive(Serialize, ToSchema)]
pub(crate) struct Session {
    token_type: &'static str,
    access_token: String,
    expires_in: i64,
    refresh_token: String,
    user: User,
}

/// The answer to a registration, the same whether the email was free.
#[derive(Serialize, ToSchema)]
struct Registration {
    email: String,
    next: String,
}

#[derive(Serialize, ToSchema)]
struct InvitationCreated {
    id: Uuid,
    email: String,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_ids: Option<Vec<StoreId>>,
    /// Give this to the invitee; it is not shown again.
    token: String,
    expires_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[serde(tag = "principal", rename_all = "snake_case")]
enum Me {
    User(User),
    StoreKey { store_id: StoreId, key_kind: KeyKind },
}

/// A new customer account; sign in with it next. The answer is the same
/// whether or not the email already has an account (which is then left as
/// it is, and its owner is sent nothing), so it tells nobody who has one.
#[utoipa::path(
    post,
    path = "/v1/auth/register",
    tag = "auth",
    summary = "Register a customer account; then sign in",
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "Registered, unless the email has an account already: sign in next", body = Registration),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords are being checked at once: retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
async fn register(
    state: web::Data<State>,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut checks = Checks::default();
    let email = checks.parse("email", Email::parse(&body.email));
    let name = checks.parse("name", text(&body.name, 0, 100));
    let password = checks.parse("password", Password::parse(body.password));
    let (email, name, password) = checks.finish_with((email, name, password))?;
    // Hashed either way, so a taken email takes as long as a new one.
    let hash = state.passwords.hash(password).await?;
    state
        .db
        .tenant_wide(async |tx| accounts::register_customer(tx, &email, &name, &hash).await)
        .await?;
    Ok(HttpResponse::Accepted().json(Registration {
        email: email.as_str().to_owned(),
        next: "sign in: POST /v1/auth/login with this email and password".to_owned(),
    }))
}

#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    summary = "Sign in with email and password",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A new session", body = Session),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords are being checked at once: retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
async fn login(
    state: web::Data<State>,
    Client(client): Client,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let invalid = || ApiError::Unauthorized("the email or password is wrong".to_owned());
    let email = Email::parse(&body.email).map_err(|_| invalid())?;
    let limits = &state.limits;
    limits.refuse_throttled_login(email.as_str(), client)?;
    // No connection is held while the password is checked (tens of milliseconds).
    let found = accounts::user_for_login(&mut *state.db.tenant_wide_conn().await?, &email).await?;
    let (user, hash) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
    if !state.passwords.verify(body.password, hash).await? {
        // An unknown email counts too: the answer must not tell them apart.
        limits.logins.failed(email.as_str(), client, Instant::now());
        return Err(invalid());
    }
    limits.logins.succeeded(email.as_str(), client);
    let user = user.ok_or_else(invalid)?;
    let session = state
        .db
        .tenant_wide(async |tx| session(&state, tx, user, None).await)
        .await?;
    Ok(HttpResponse::Ok().json(session))
}

/// Spends a refresh token for a new session in the same family. A token
/// spent before revokes the family: whoever holds it must sign in again.
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    summary = "Spend a refresh token for a new session; reusing one signs out its family",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "The next session", body = Session),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
async fn refresh(
    state: web::Data<State>,
    Client(client): Client,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    state.limits.refuse_guessing(client)?;
    // None: the token was spent before. Its family is now revoked, and the
    // revocation is committed even though the request fails.
    let next = state
        .db
        .tenant_wide(async |tx| {
            let (user, family) = match accounts::spend_refresh_token(tx, &body.refresh_token).await? {
                Refresh::Spent { user, family } => (user, family),
                Refresh::Reused => return Ok(None),
                Refresh::Invalid => {
                    state.limits.count_unknown_credential(client);
                    return Err(ApiError::Unauthorized(
                        "the refresh token is unknown, expired or revoked".to_owned(),
                    ));
                }
            };
            let user = accounts::user(tx, user)
                .await?
                .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".to_owned()))?;
            session(&state, tx, user, Some(family)).await.map(Some)
        })
        .await?;
    let Some(session) = next else {
        tracing::warn!("a spent refresh token was presented again; its family is revoked");
        return Err(ApiError::Unauthorized(
            "this refresh token was already used; every session it began is now signed out".to_owned(),
        ));
    };
    Ok(HttpResponse::Ok().json(session))
}

/// Signs out the session of a refresh token (its whole family). Access
/// tokens already issued expire on their own within minutes.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    summary = "Sign out the session of a refresh token",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Done"),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
async fn logout(state: web::Data<State>, body: web::Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    state
        .db
        .tenant_wide(async |tx| accounts::revoke_family_of(tx, &body.refresh_token).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Turns an invitation into an owner or staff account, signed in. An
/// account that already has the email (say, a customer) becomes that
/// account, with the new password; its other sessions end.
#[utoipa::path(
    post,
    path = "/v1/auth/accept-invitation",
    tag = "auth",
    summary = "Accept an owner or staff invitation with a password",
    request_body = AcceptInvitationRequest,
    responses(
        (status = 201, description = "The new account's session", body = Session),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords are being checked at once: retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
async fn accept_invitation(
    state: web::Data<State>,
    Client(client): Client,
    body: web::Json<AcceptInvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut checks = Checks::default();
    let name = checks.parse("name", text(&body.name, 0, 100));
    let password = checks.parse("password", Password::parse(body.password));
    let (name, password) = checks.finish_with((name, password))?;
    let unknown = || ApiError::Unauthorized("the invitation is unknown, used or expired".to_owned());
    // A bogus token costs a lookup, not a password hash; no connection is
    // held while the password is hashed. The transaction looks again.
    state.limits.refuse_guessing(client)?;
    let pending = accounts::pending_invitation(&mut *state.db.tenant_wide_conn().await?, &body.token).await?;
    if pending.is_none() {
        state.limits.count_unknown_credential(client);
        return Err(unknown());
    }
    let hash = state.passwords.hash(password).await?;
    let session = state
        .db
        .tenant_wide(async |tx| {
            let invitation = accounts::pending_invitation(tx, &body.token)
                .await?
                .ok_or_else(unknown)?;
            let email = Email::parse(&invitation.email).map_err(ApiError::Internal)?;
            let user = accounts::join_as_invited(tx, &email, &name, &invitation, &hash).await?;
            accounts::mark_accepted(tx, invitation.id, user.id).await?;
            session(&state, tx, user, None).await
        })
        .await?;
    Ok(HttpResponse::Created().json(session))
}

/// An owner invites an owner or a staff member (optionally limited to some stores).
#[utoipa::path(
    post,
    path = "/v1/invitations",
    tag = "auth",
    summary = "Invite an owner or staff member (owners only)",
    request_body = InviteRequest,
    responses(
        (status = 201, description = "The invitation and its token", body = InvitationCreated),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn invite(
    state: web::Data<State>,
    principal: Principal,
    body: web::Json<InviteRequest>,
) -> Result<HttpResponse, ApiError> {
    let owner = principal.require_owner()?.sub;
    let body = body.into_inner();
    let mut checks = Checks::default();
    let email = checks.parse("email", Email::parse(&body.email));
    checks.check(
        body.role != Role::Customer,
        "role",
        "must be owner or staff; customers register themselves",
    );
    checks.check(
        body.store_ids.is_none() || body.role == Role::Staff,
        "store_ids",
        "only staff can be limited to some stores",
    );
    checks.check(
        body.store_ids.as_ref().is_none_or(|ids| !ids.is_empty()),
        "store_ids",
        "must name at least one store (leave it out for every store)",
    );
    let email = checks.finish_with(email)?;
    let expires_at = Utc::now() + Duration::days(INVITATION_DAYS);
    let (id, token) = state
        .db
        .tenant_wide(async |tx| {
            if let Some(stores) = &body.store_ids {
                let unknown = accounts::unknown_stores(tx, stores).await?;
                if let Some(store) = unknown.first() {
                    return Err(ApiError::Validation(vec![FieldError::new(
                        "store_ids",
                        format!("store {store} does not exist"),
                    )]));
                }
            }
            accounts::create_invitation(
                tx,
                &email,
                body.role,
                body.store_ids.as_deref(),
                owner,
                expires_at,
            )
            .await
        })
        .await?;
    Ok(HttpResponse::Created().json(InvitationCreated {
        id,
        email: email.as_str().to_owned(),
        role: body.role,
        store_ids: body.store_ids,
        token,
        expires_at,
    }))
}

/// Who the caller is: the account (read fresh, not from the token) or the API key.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "auth",
    summary = "Who the caller is",
    responses(
        (status = 200, description = "The signed-in user or the API key", body = Me),
        (status = "4XX", description = "A problem (RFC 9457): invalid request, credentials or state", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn me(state: web::Data<State>, principal: Principal) -> Result<HttpResponse, ApiError> {
    let me = match principal {
        Principal::User(claims) => {
            let mut conn = state.db.tenant_wide_conn().await?;
            let user = accounts::user(&mut conn, claims.sub)
                .await?
                .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".to_owned()))?;
            Me::User(user)
        }
        Principal::StoreKey { store_id, kind } => Me::StoreKey {
            store_id,
            key_kind: kind,
        },
    };
    Ok(HttpResponse::Ok().json(me))
}

pub(crate) async fn session(
    state: &State,
    conn: &mut sqlx::PgConnection,
    user: User,
    family: Option<Uuid>,
) -> Result<Session, ApiError> {
    let refresh_token = accounts::issue_refresh_token(conn, user.id, family).await?;
    Ok(Session {
        token_type: "Bearer",
        access_token: state.issuer.access_token(&user),
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token,
        user,
    })
}
