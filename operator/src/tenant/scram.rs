//! The runtime role's password goes to PostgreSQL as a SCRAM-SHA-256
//! verifier (RFC 5802, RFC 7677), never as plain text: `ALTER ROLE …
//! PASSWORD '<plain>'` would land in the server's statement log,
//! `pg_stat_activity` and `pg_stat_statements`. PostgreSQL stores a
//! verifier given in this form as it is.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::{digest, hmac, pbkdf2};

/// PostgreSQL's own choice (`scram_iterations`' default).
const ITERATIONS: u32 = 4096;

/// The verifier of `password` for `role`, in PostgreSQL's format:
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
///
/// The salt is derived from the role's name rather than drawn at random, so
/// that the plan stays a pure function of its inputs (the same password
/// gives the same statement). A salt exists to make one precomputation
/// useless against many passwords; each role has its own, and the passwords
/// are 32 random letters and digits, beyond any precomputation. It must not
/// be derived from the password: the salt is public.
pub fn verifier(role: &str, password: &str) -> String {
    let salt_source = digest::digest(&digest::SHA256, format!("shopfleet:scram-salt:{role}").as_bytes());
    let salt = &salt_source.as_ref()[..16];
    let mut salted = [0u8; 32];
    let iterations = std::num::NonZeroU32::new(ITERATIONS).expect("not zero");
    // Our passwords are ASCII letters and digits, which SASLprep leaves as they are.
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        password.as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key.as_ref()),
        STANDARD.encode(server_key.as_ref())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_is_what_rfc_5802_computes() {
        // Computed apart, with Python's hashlib.pbkdf2_hmac and hmac.
        assert_eq!(
            verifier("sf_3f2a9c1e4b5d4e6f_app", "abcdefghijklmnopqrstuvwxyz012345"),
            "SCRAM-SHA-256$4096:FCIVGXE6AnlsvjYOxFX42Q==$aZ+YrKIUcIvydKvHcryvqpo+RoxHD6YtKSfm81q3efQ=:\
             BcMl4/LEa71pzSh3Df072XcAEKySg/CJtdQyPJzHH5E="
        );
    }
}
