//! Whether a signed-in user's access token is still honoured: a user
//! disabled, or whose sessions ended (a password change, signing out
//! everywhere, an owner changing their role or stores) loses access at once,
//! not when the token expires. Each request with a user's token checks the
//! user's standing; it is cached for [`STANDING_TTL`], which bounds how long
//! another replica may still honour an ended session (this replica forgets
//! its copy when it ends one).

use std::time::Duration;

use sqlx::PgConnection;

use crate::auth::tokens::Claims;
use crate::cache::TtlCache;
use crate::db::Db;
use crate::error::ApiError;
use crate::ids::UserId;

/// How long a user's standing is trusted without asking the database.
pub const STANDING_TTL: Duration = Duration::from_secs(2);

/// What decides whether a user's tokens are honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Standing {
    /// Tokens issued before this (microseconds since 1970) are not.
    pub sessions_valid_after: i64,
    pub disabled: bool,
}

impl Standing {
    fn honours(&self, claims: &Claims) -> bool {
        !self.disabled && claims.iat_us >= self.sessions_valid_after
    }
}

pub struct SessionGate {
    standings: TtlCache<UserId, Option<Standing>>,
}

impl SessionGate {
    pub fn new() -> Self {
        Self {
            standings: TtlCache::new(STANDING_TTL, 100_000),
        }
    }

    /// 401 unless `claims`' session is still honoured.
    pub async fn check(&self, db: &Db, claims: &Claims) -> Result<(), ApiError> {
        let standing = match self.standings.get(&claims.sub) {
            Some(standing) => standing,
            None => {
                let standing = standing_of(&mut *db.tenant_wide_conn().await?, claims.sub).await?;
                self.standings.insert(claims.sub, standing);
                standing
            }
        };
        match standing {
            Some(standing) if standing.honours(claims) => Ok(()),
            Some(_) => Err(ApiError::Unauthorized(
                "this session has ended: sign in again".to_owned(),
            )),
            None => Err(ApiError::Unauthorized("the account no longer exists".to_owned())),
        }
    }

    /// This replica ended `user`'s sessions: stop trusting its copy now.
    pub fn forget(&self, user: UserId) {
        self.standings.remove(&user);
    }
}

impl Default for SessionGate {
    fn default() -> Self {
        Self::new()
    }
}

/// A user's standing; `None` if there is no such user.
async fn standing_of(conn: &mut PgConnection, user: UserId) -> Result<Option<Standing>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT (extract(epoch FROM sessions_valid_after) * 1000000)::bigint AS sessions_valid_after, \
         disabled_at IS NOT NULL AS disabled FROM users WHERE id = $1",
    )
    .bind(user)
    .fetch_optional(conn)
    .await?)
}

/// Ends every session of `user`: access tokens issued until now are no
/// longer honoured, refresh tokens are revoked. Call
/// [`SessionGate::forget`] after the transaction commits.
///
/// "Now" is this process's clock, the one it stamps tokens with (`iat_us`),
/// so the session it issues next is after it; the database's clock may
/// differ by more than the microseconds between the two.
pub async fn end_sessions(conn: &mut PgConnection, user: UserId) -> Result<(), ApiError> {
    sqlx::query("UPDATE users SET sessions_valid_after = $2, updated_at = now() WHERE id = $1")
        .bind(user)
        .bind(chrono::Utc::now())
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn claims(iat_us: i64) -> Claims {
        Claims {
            iss: "i".to_owned(),
            aud: "a".to_owned(),
            sub: UserId::generate(),
            iat: iat_us / 1_000_000,
            iat_us,
            exp: iat_us / 1_000_000 + 600,
            role: Role::Staff,
            stores: None,
        }
    }

    #[test]
    fn tokens_from_before_the_sessions_ended_or_of_a_disabled_user_are_not_honoured() {
        let standing = Standing {
            sessions_valid_after: 1_000,
            disabled: false,
        };
        assert!(!standing.honours(&claims(999)));
        assert!(
            standing.honours(&claims(1_000)),
            "issued as the sessions ended, so after"
        );
        assert!(standing.honours(&claims(1_001)));
        let disabled = Standing {
            disabled: true,
            ..standing
        };
        assert!(!disabled.honours(&claims(2_000)));
    }
}
