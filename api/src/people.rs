//! Taking access away. A user changes their password or signs out
//! everywhere; an owner lists the tenant's people, changes an owner's or
//! staff member's role and stores, disables (or enables) anyone, and
//! withdraws an invitation. Each ends the affected user's sessions at once
//! (`auth::sessions`): tokens issued before stop working on the next
//! request, and refresh tokens are revoked.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::password::Password;
use crate::auth::sessions::end_sessions;
use crate::auth::{Principal, Role, accounts};
use crate::error::{ApiError, FieldError, Problem};
use crate::ids::{StoreId, UserId};
use crate::pagination::{self, Page};
use crate::state::State;
use crate::users::{Session, session};
use crate::validate::Checks;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(change_password, sign_out_everywhere, list, change, withdraw_invitation))]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/auth/password", web::post().to(change_password))
        .route("/v1/auth/logout-everywhere", web::post().to(sign_out_everywhere))
        .route("/v1/users", web::get().to(list))
        .route("/v1/users/{user_id}", web::patch().to(change))
        .route(
            "/v1/invitations/{invitation_id}",
            web::delete().to(withdraw_invitation),
        );
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// A user of the tenant, as an owner sees them.
#[derive(Serialize, sqlx::FromRow, ToSchema)]
struct Person {
    id: UserId,
    email: String,
    name: String,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_ids: Option<Vec<StoreId>>,
    disabled: bool,
}

#[derive(Deserialize, IntoParams)]
struct PeopleQuery {
    /// 1 to 100; 20 when absent.
    limit: Option<i64>,
    cursor: Option<String>,
}

/// What an owner changes about someone; absent fields stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PersonChange {
    /// `owner` or `staff` (for owners and staff only).
    role: Option<Role>,
    /// Staff only: the stores they may work in; `null` for every store.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<StoreId>>)]
    store_ids: Option<Option<Vec<StoreId>>>,
    disabled: Option<bool>,
}

/// A field that is present, `null` included: `Some(None)` for `null`, so
/// that an absent field (the `default`, `None`) differs from a `null` one.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// Changes the caller's password; every other session ends, and this
/// answer is the only one that lives on.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth",
    summary = "Change your password; every other session ends",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "A new session", body = Session),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords are being checked at once: retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_password(
    state: web::Data<State>,
    principal: Principal,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let me = principal.user()?.sub;
    let body = body.into_inner();
    let mut checks = Checks::default();
    let new_password = checks.parse("new_password", Password::parse(body.new_password));
    let new_password = checks.finish_with(new_password)?;
    let current = accounts::password_hash_of(&mut *state.db.tenant_wide_conn().await?, me).await?;
    if !state.passwords.verify(body.current_password, current).await? {
        return Err(ApiError::Validation(vec![FieldError::new(
            "current_password",
            "is not this account's password",
        )]));
    }
    let hash = state.passwords.hash(new_password).await?;
    let session = state
        .db
        .tenant_wide(async |tx| {
            accounts::set_password_hash(tx, me, &hash).await?;
            end_sessions(tx, me).await?;
            let user = accounts::user(tx, me)
                .await?
                .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".to_owned()))?;
            session(&state, tx, user, None).await
        })
        .await?;
    state.sessions.forget(me);
    Ok(HttpResponse::Ok().json(session))
}

/// Ends every session of the caller, on every device.
#[utoipa::path(post, path = "/v1/auth/logout-everywhere", tag = "auth",
    summary = "Sign out everywhere: every session of yours ends",
    responses(
        (status = 204, description = "Done"),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sign_out_everywhere(
    state: web::Data<State>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let me = principal.user()?.sub;
    state
        .db
        .tenant_wide(async |tx| end_sessions(tx, me).await)
        .await?;
    state.sessions.forget(me);
    Ok(HttpResponse::NoContent().finish())
}

/// The tenant's people, by id (owners only).
#[utoipa::path(get, path = "/v1/users", tag = "auth",
    summary = "List the tenant's users (owners only)",
    params(PeopleQuery),
    responses(
        (status = 200, description = "A page of users", body = Page<Person>),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    state: web::Data<State>,
    principal: Principal,
    query: web::Query<PeopleQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_owner()?;
    let (limit, after) = pagination::page::<UserId>(query.limit, query.cursor.as_deref())?;
    let rows = people_after(&mut *state.db.tenant_wide_conn().await?, after, limit + 1).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |person| person.id)))
}

/// Changes someone's role or stores, or disables or enables them (owners
/// only). Their sessions end at once: they sign in again with what they
/// may now do. The last enabled owner cannot stop being one.
#[utoipa::path(patch, path = "/v1/users/{user_id}", tag = "auth",
    summary = "Change a user's role or stores, or disable them (owners only)",
    params(("user_id" = UserId, Path)),
    request_body = PersonChange,
    responses(
        (status = 200, description = "The user as now", body = Person),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<UserId>,
    body: web::Json<PersonChange>,
) -> Result<HttpResponse, ApiError> {
    principal.require_owner()?;
    let target = path.into_inner();
    let change = body.into_inner();
    let mut checks = Checks::default();
    checks.check(
        change.role != Some(Role::Customer),
        "role",
        "must be owner or staff; customers register themselves",
    );
    checks.check(
        change
            .store_ids
            .as_ref()
            .is_none_or(|ids| ids.as_ref().is_none_or(|ids| !ids.is_empty())),
        "store_ids",
        "must name at least one store (null for every store)",
    );
    checks.finish()?;
    let person = state
        .db
        .tenant_wide(async |tx| {
            let before = person(tx, target)
                .await?
                .ok_or_else(|| ApiError::NotFound("no such user".to_owned()))?;
            let role = change.role.unwrap_or(before.role);
            let store_ids = match (&change.store_ids, role) {
                (Some(ids), _) => ids.clone(),
                // Staff keep their stores; owners have every store.
                (None, Role::Staff) => before.store_ids.clone(),
                (None, _) => None,
            };
            let disabled = change.disabled.unwrap_or(before.disabled);
            let mut checks = Checks::default();
            checks.check(
                change.role.is_none() || before.role != Role::Customer,
                "role",
                "a customer becomes staff or an owner by invitation",
            );
            checks.check(
                store_ids.is_none() || role == Role::Staff,
                "store_ids",
                "only staff can be limited to some stores",
            );
            checks.finish()?;
            let stops_owning =
                before.role == Role::Owner && !before.disabled && (role != Role::Owner || disabled);
            if stops_owning && other_enabled_owners(tx, target).await? == 0 {
                return Err(ApiError::conflict(
                    "role",
                    "this is the last enabled owner: make someone else an owner first",
                ));
            }
            let unknown = accounts::unknown_stores(tx, store_ids.as_deref().unwrap_or_default()).await?;
            if !unknown.is_empty() {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "store_ids",
                    format!("no such stores: {unknown:?}"),
                )]));
            }
            update_person(tx, target, role, store_ids.as_deref(), disabled).await?;
            end_sessions(tx, target).await?;
            person(tx, target)
                .await?
                .ok_or_else(|| ApiError::Internal("the user just changed is gone".to_owned()))
        })
        .await?;
    state.sessions.forget(target);
    Ok(HttpResponse::Ok().json(person))
}

/// Withdraws an invitation nobody has accepted yet (owners only). The
/// operator's invitation of the first owner is the Tenant's, not this route's.
#[utoipa::path(delete, path = "/v1/invitations/{invitation_id}", tag = "auth",
    summary = "Withdraw an invitation not accepted yet (owners only)",
    params(("invitation_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Withdrawn: its token no longer works"),
        (status = "4XX", description = "A problem (RFC 9457)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn withdraw_invitation(
    state: web::Data<State>,
    principal: Principal,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require_owner()?;
    let id = path.into_inner();
    let withdrawn = sqlx::query(
        "DELETE FROM invitations WHERE id = $1 AND accepted_at IS NULL AND expires_at IS NOT NULL",
    )
    .bind(id)
    .execute(&mut *state.db.tenant_wide_conn().await?)
    .await?;
    if withdrawn.rows_affected() == 0 {
        return Err(ApiError::NotFound(
            "no invitation of that id is waiting to be accepted".to_owned(),
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

macro_rules! person_columns {
    () => {
        "id, email, name, role, store_ids, disabled_at IS NOT NULL AS disabled"
    };
}

async fn people_after(
    conn: &mut PgConnection,
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<Person>, ApiError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        person_columns!(),
        " FROM users WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// A user, locked for the transaction.
async fn person(conn: &mut PgConnection, id: UserId) -> Result<Option<Person>, ApiError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        person_columns!(),
        " FROM users WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Enabled owners other than `id`, counted with their rows locked, so that
/// two owners demoting each other at once cannot leave none.
async fn other_enabled_owners(conn: &mut PgConnection, id: UserId) -> Result<i64, ApiError> {
    let owners: Vec<UserId> = sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'owner' AND disabled_at IS NULL AND id <> $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(owners.len() as i64)
}

async fn update_person(
    conn: &mut PgConnection,
    id: UserId,
    role: Role,
    store_ids: Option<&[StoreId]>,
    disabled: bool,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE users SET role = $2, store_ids = $3, updated_at = now(), \
         disabled_at = CASE WHEN $4 THEN coalesce(disabled_at, now()) END WHERE id = $1",
    )
    .bind(id)
    .bind(role)
    .bind(store_ids)
    .bind(disabled)
    .execute(conn)
    .await?;
    Ok(())
}
