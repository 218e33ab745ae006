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

/// Random part of a token: 43 letters and digits, about 256 bits.
const TOKEN_RANDOM_CHARS: usize = 43;

pub fn generate_token() -> String {
    format!(
        "{TOKEN_PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::rng(), TOKEN_RANDOM_CHARS)
    )
}

/// Whether `token` is one [`generate_token`] could have made (a Secret edited
/// by hand gets a new one).
pub fn is_token(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|random| {
        random.len() == TOKEN_RANDOM_CHARS && random.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

/// Records the owner invitation of `token` for `email` unless it is already
/// recorded (accepted or not), so it can run again after a crash at any
/// point, and withdraws the operator's other pending invitations (the owner
/// email changed in the spec, or the token was replaced). It never expires:
/// the first owner must always be able to get in.
pub async fn record_owner_invitation(conn: &mut PgConnection, email: &str, token: &str) -> sqlx::Result<()> {
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    sqlx::query(
        "INSERT INTO invitations (email, role, token_sha256) VALUES (lower($1), 'owner', $2) \
         ON CONFLICT (token_sha256) DO NOTHING",
    )
    .bind(email)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    // The operator's invitations are the ones without an inviter.
    sqlx::query(
        "UPDATE invitations SET expires_at = now() WHERE invited_by IS NULL AND role = 'owner' \
         AND accepted_at IS NULL AND expires_at IS NULL AND token_sha256 <> $1",
    )
    .bind(&hash)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_recognised() {
        let token = generate_token();
        assert!(is_token(&token), "{token}");
        assert!(!is_token("sf_inv_short"));
        assert!(!is_token(&token.replace(TOKEN_PREFIX, "sf_xx_")));
        assert_ne!(generate_token(), token);
    }
}
