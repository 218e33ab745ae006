//! Passwords: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane,
//! the argon2 crate's defaults), hashed off the async workers.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::error::ApiError;

/// NIST SP 800-63B: at least 8 characters, and allow long passphrases.
const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 128;

/// A password that meets the length rules; never printed.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    pub fn parse(value: String) -> Result<Self, String> {
        let chars = value.chars().count();
        if chars < MIN_CHARS {
            Err(format!("must be at least {MIN_CHARS} characters"))
        } else if chars > MAX_CHARS {
            Err(format!("must be at most {MAX_CHARS} characters"))
        } else {
            Ok(Self(value))
        }
    }

    /// The PHC string to store (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub async fn hash(self) -> Result<String, ApiError> {
        blocking(move || {
            Argon2::default()
                .hash_password(self.0.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|error| ApiError::Internal(format!("hashing a password: {error}")))
        })
        .await
    }
}

/// Whether `password` matches `hash`. With no hash (an unknown email) a dummy
/// hash is checked instead, so the answer takes as long either way and does
/// not tell an attacker which emails have accounts.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        // Verified whether or not the account exists, before `known` is
        // looked at: an unknown email takes as long as a wrong password.
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        Ok(known && matches)
    })
    .await
}

/// A real argon2id hash (of a random password nobody knows) with the same parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2hvcGZsZWV0ZHVtbXlzYWx0$0eIbmFPqqiuN0aXoTOvKl2JqCsS0qkH1Wf1H3d5yO0A";

/// Runs CPU-heavy work on the blocking pool, keeping the workers free.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    actix_web::web::block(work)
        .await
        .map_err(|error| ApiError::Internal(format!("blocking pool: {error}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("long enough".into()).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
        assert!(format!("{:?}", Password::parse("long enough".into()).unwrap()).contains('…'));
    }

    #[actix_web::test]
    async fn hashes_verify_and_use_argon2id_with_owasp_parameters() {
        let hash = Password::parse("correct horse".into())
            .unwrap()
            .hash()
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify("correct horse".into(), Some(hash.clone())).await.unwrap());
        assert!(!verify("wrong horse".into(), Some(hash)).await.unwrap());
    }

    #[actix_web::test]
    async fn an_unknown_account_never_verifies_but_still_does_the_work() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}
