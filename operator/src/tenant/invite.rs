//! The tenant's first owner gets in by invitation: the operator records an
//! invitation for `spec.owner.email` (only the token's SHA-256) in the
//! tenant's `invitations` table and hands the token over in Secret
//! `<tenant>-owner-invite`; the owner accepts it with a password through the
//! API (`POST /v1/auth/accept-invitation`).

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

/// Prefix of invitation tokens (the API's own invitations use it too).
pub const TOKEN_PREFIX: &str = "sf_inv_";

pub fn generate_token() -> String {
    format!(
        "{TOKEN_PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 43)
    )
}

/// Records the owner invitation of `token` unless it is already recorded
/// (accepted or not), so it can run again after a crash at any point.
/// It never expires: the first owner must always be able to get in.
pub async fn record_owner_invitation(conn: &mut PgConnection, email: &str, token: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO invitations (email, role, token_sha256) VALUES (lower($1), 'owner', $2) \
         ON CONFLICT (token_sha256) DO NOTHING",
    )
    .bind(email)
    .bind(Sha256::digest(token.as_bytes()).to_vec())
    .execute(conn)
    .await?;
    Ok(())
}
