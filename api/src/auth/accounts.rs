//! The SQL of accounts: users, invitations, refresh tokens and store keys.
//! All of these tables are tenant-wide (no store is set when they are used).

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::email::Email;
use super::tokens::{REFRESH_FAMILY_DAYS, REFRESH_TOKEN_DAYS, random_secret, sha256};
use super::{KeyKind, Role, User};
use crate::cache::TtlCache;
use crate::db::Db;
use crate::error::{ApiError, unique_violation};
use crate::ids::{StoreId, UserId};

/// The columns of a [`User`], for `concat!` into static SQL.
macro_rules! user_columns {
    () => {
        "id, email, name, role, store_ids"
    };
}

/// The store and kind of the active key whose SHA-256 is $1, if its store is
/// active. Public so `bench/api-load` runs the same SQL.
pub const STORE_KEY: &str = "SELECT k.store_id, k.kind FROM store_api_keys k JOIN stores s ON s.id = k.store_id \
     WHERE k.key_sha256 = $1 AND k.revoked_at IS NULL AND s.archived_at IS NULL";

/// API keys found lately, by their SHA-256 (unknown keys are never cached).
pub type KeyCache = TtlCache<Vec<u8>, (StoreId, KeyKind)>;

/// The store and kind of an API key found lately, without a lookup.
pub fn cached_store_key(cache: &KeyCache, key: &str) -> Option<(StoreId, KeyKind)> {
    cache.get(&sha256(key))
}

/// The store and kind of an active API key of an active store, looked up.
pub async fn store_key(db: &Db, cache: &KeyCache, key: &str) -> Result<Option<(StoreId, KeyKind)>, ApiError> {
    let hash = sha256(key);
    let mut conn = db.tenant_wide_conn().await?;
    let found: Option<(StoreId, KeyKind)> = sqlx::query_as(STORE_KEY)
        .bind(&hash)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(found) = found {
        cache.insert(hash, found);
    }
    Ok(found)
}

/// A new customer account, unless the email has one: that account is left
/// as it is, and the caller cannot tell (the answer is the same). Either way
/// a row is written (for a taken email, the same values again), so that
/// both take the same time: skipping the write answered measurably sooner.
pub async fn register_customer(
    conn: &mut PgConnection,
    email: &Email,
    name: &str,
    password_hash: &str,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO users (id, email, name, role, password_hash) VALUES ($1, $2, $3, 'customer', $4) \
         ON CONFLICT (email) DO UPDATE SET updated_at = users.updated_at",
    )
    .bind(UserId::generate())
    .bind(email.as_str())
    .bind(name)
    .bind(password_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// The new account of a user; 409 naming `email` when it is taken.
pub async fn create_user(
    conn: &mut PgConnection,
    email: &Email,
    name: &str,
    role: Role,
    store_ids: Option<&[StoreId]>,
    password_hash: &str,
) -> Result<User, ApiError> {
    sqlx::query_as(concat!(
        "INSERT INTO users (id, email, name, role, store_ids, password_hash) VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING ",
        user_columns!()
    ))
    .bind(UserId::generate())
    .bind(email.as_str())
    .bind(name)
    .bind(role)
    .bind(store_ids)
    .bind(password_hash)
    .fetch_one(conn)
    .await
    .map_err(|error| match unique_violation(&error) {
        Some("users_email_key") => ApiError::conflict("email", "an account with this email exists"),
        _ => error.into(),
    })
}

/// The account an accepted invitation makes: a new one, or the existing
/// account of that email turned into the invited role with the new password
/// (whoever registered the email before cannot keep a way in).
pub async fn join_as_invited(
    conn: &mut PgConnection,
    email: &Email,
    name: &str,
    invitation: &Invitation,
    password_hash: &str,
) -> Result<User, ApiError> {
    let existing: Option<User> = sqlx::query_as(concat!(
        "UPDATE users SET role = $2, store_ids = $3, password_hash = $4, \
         name = CASE WHEN $5 = '' THEN name ELSE $5 END, updated_at = now() WHERE email = $1 RETURNING ",
        user_columns!()
    ))
    .bind(email.as_str())
    .bind(invitation.role)
    .bind(invitation.store_ids.as_deref())
    .bind(password_hash)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    match existing {
        Some(user) => {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user.id)
            .execute(conn)
            .await?;
            Ok(user)
        }
        None => {
            create_user(
                conn,
                email,
                name,
                invitation.role,
                invitation.store_ids.as_deref(),
                password_hash,
            )
            .await
        }
    }
}

/// The password hash of an enabled account (`None` otherwise).
pub async fn password_hash_of(conn: &mut PgConnection, id: UserId) -> Result<Option<String>, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 AND disabled_at IS NULL")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn set_password_hash(conn: &mut PgConnection, id: UserId, hash: &str) -> Result<(), ApiError> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// The enabled account with this email and its password hash: a disabled
/// one signs in no more than an unknown email does.
pub async fn user_for_login(
    conn: &mut PgConnection,
    email: &Email,
) -> Result<Option<(User, String)>, ApiError> {
    let row: Option<UserWithHash> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        ", password_hash FROM users WHERE email = $1 AND disabled_at IS NULL"
    ))
    .bind(email.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.user, row.password_hash)))
}

#[derive(sqlx::FromRow)]
struct UserWithHash {
    #[sqlx(flatten)]
    user: User,
    password_hash: String,
}

pub async fn user(conn: &mut PgConnection, id: UserId) -> Result<Option<User>, ApiError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1 AND disabled_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// A new refresh token for `user`, starting a family or continuing `family`.
pub async fn issue_refresh_token(
    conn: &mut PgConnection,
    user: UserId,
    family: Option<Uuid>,
) -> Result<String, ApiError> {
    let token = random_secret("sf_rt_");
    // A token expires after REFRESH_TOKEN_DAYS unused, and never later than
    // REFRESH_FAMILY_DAYS after its family began.
    sqlx::query(
        "INSERT INTO refresh_tokens (family_id, user_id, token_sha256, family_started_at, expires_at) \
         SELECT $1, $2, $3, started, least($4, started + make_interval(days => $5)) \
         FROM (SELECT coalesce((SELECT max(family_started_at) FROM refresh_tokens WHERE family_id = $1), \
                               now()) AS started) AS family",
    )
    .bind(family.unwrap_or_else(Uuid::now_v7))
    .bind(user)
    .bind(sha256(&token))
    .bind(Utc::now() + Duration::days(REFRESH_TOKEN_DAYS))
    .bind(REFRESH_FAMILY_DAYS)
    .execute(conn)
    .await?;
    Ok(token)
}

/// Deletes the refresh tokens that have expired: presented again they are
/// refused whether they exist or not, so they only take room. Returns how many.
pub async fn purge_expired_refresh_tokens(conn: &mut PgConnection) -> Result<u64, ApiError> {
    let purged = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < now()")
        .execute(conn)
        .await?;
    Ok(purged.rows_affected())
}

/// What presenting a refresh token found.
pub enum Refresh {
    /// A live token, now spent: continue its family.
    Spent { user: UserId, family: Uuid },
    /// A token spent before: it was stolen or replayed, and its family is now revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

#[derive(sqlx::FromRow)]
struct RefreshTokenRow {
    user_id: UserId,
    family_id: Uuid,
    expires_at: DateTime<Utc>,
    spent_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

/// Spends a refresh token (locking it, so one token is spent once).
pub async fn spend_refresh_token(conn: &mut PgConnection, token: &str) -> Result<Refresh, ApiError> {
    let row: Option<RefreshTokenRow> = sqlx::query_as(
        "SELECT user_id, family_id, expires_at, spent_at, revoked_at FROM refresh_tokens \
         WHERE token_sha256 = $1 FOR UPDATE",
    )
    .bind(sha256(token))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(RefreshTokenRow {
        user_id: user,
        family_id: family,
        expires_at,
        spent_at,
        revoked_at,
    }) = row
    else {
        return Ok(Refresh::Invalid);
    };
    if revoked_at.is_some() || expires_at <= Utc::now() {
        return Ok(Refresh::Invalid);
    }
    if spent_at.is_some() {
        revoke_family(conn, family).await?;
        return Ok(Refresh::Reused);
    }
    sqlx::query("UPDATE refresh_tokens SET spent_at = now() WHERE token_sha256 = $1")
        .bind(sha256(token))
        .execute(conn)
        .await?;
    Ok(Refresh::Spent { user, family })
}

/// Revokes the family of a refresh token (logout). Unknown tokens do nothing.
pub async fn revoke_family_of(conn: &mut PgConnection, token: &str) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL \
         AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_sha256 = $1)",
    )
    .bind(sha256(token))
    .execute(conn)
    .await?;
    Ok(())
}

async fn revoke_family(conn: &mut PgConnection, family: Uuid) -> Result<(), ApiError> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL")
        .bind(family)
        .execute(conn)
        .await?;
    Ok(())
}

/// A pending invitation, as its token finds it.
#[derive(sqlx::FromRow)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub store_ids: Option<Vec<StoreId>>,
}

/// Invites `email` to become an owner or a staff member; returns the
/// invitation's id, its token (to hand to the invitee) and its expiry.
pub async fn create_invitation(
    conn: &mut PgConnection,
    email: &Email,
    role: Role,
    store_ids: Option<&[StoreId]>,
    invited_by: UserId,
    expires_at: DateTime<Utc>,
) -> Result<(Uuid, String), ApiError> {
    let token = random_secret("sf_inv_");
    let id = sqlx::query_scalar(
        "INSERT INTO invitations (email, role, store_ids, token_sha256, invited_by, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(email.as_str())
    .bind(role)
    .bind(store_ids)
    .bind(sha256(&token))
    .bind(invited_by)
    .bind(expires_at)
    .fetch_one(conn)
    .await?;
    Ok((id, token))
}

/// The pending, unexpired invitation with this token, locked until the
/// transaction ends so it is accepted once.
pub async fn pending_invitation(
    conn: &mut PgConnection,
    token: &str,
) -> Result<Option<Invitation>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT id, email, role, store_ids FROM invitations WHERE token_sha256 = $1 \
         AND accepted_at IS NULL AND (expires_at IS NULL OR expires_at > now()) FOR UPDATE",
    )
    .bind(sha256(token))
    .fetch_optional(conn)
    .await?)
}

pub async fn mark_accepted(conn: &mut PgConnection, invitation: Uuid, user: UserId) -> Result<(), ApiError> {
    sqlx::query("UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1")
        .bind(invitation)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

/// Those of `stores` that are not active stores of this tenant.
pub async fn unknown_stores(conn: &mut PgConnection, stores: &[StoreId]) -> Result<Vec<StoreId>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM unnest($1::uuid[]) AS wanted(id) \
         WHERE NOT EXISTS (SELECT FROM stores s WHERE s.id = wanted.id AND s.archived_at IS NULL)",
    )
    .bind(stores)
    .fetch_all(conn)
    .await?)
}
