//! Access tokens (short-lived JWTs, EdDSA only, `kid` in the header, `iss`
//! and `aud` checked) and the opaque secrets behind refresh tokens,
//! invitations and API keys (random, and stored only as their SHA-256).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header, Validation};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys::KeyRing;
use super::{Role, User};
use crate::ids::{StoreId, UserId};

/// How long an access token lives. The operator keeps a retired signing key
/// for 15 minutes, so this must not be longer.
pub const ACCESS_TOKEN_SECONDS: i64 = 10 * 60;

/// How long a refresh token family may go unused before its token expires.
pub const REFRESH_TOKEN_DAYS: i64 = 30;

/// How long a refresh token family (one sign-in) lives, however often it is
/// renewed: a stolen session cannot be kept alive for ever.
pub const REFRESH_FAMILY_DAYS: i32 = 90;

/// What an access token says, and all that is trusted from it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: UserId,
    pub iat: i64,
    /// When it was issued, in microseconds since 1970: `iat` is whole
    /// seconds, too coarse to tell a token issued just before a session
    /// ended from one issued just after (`auth::sessions`).
    #[serde(default)]
    pub iat_us: i64,
    pub exp: i64,
    pub role: Role,
    /// The stores a limited staff member may work in (absent: every store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stores: Option<Vec<StoreId>>,
}

/// Signs and checks this tenant's access tokens.
pub struct Issuer {
    keys: Arc<KeyRing>,
    /// `shopfleet:<tenant>`: tokens of another tenant are refused even if a key matched.
    issuer: String,
    audience: String,
}

impl Issuer {
    pub fn new(keys: Arc<KeyRing>, tenant: &str) -> Self {
        Self {
            keys,
            issuer: format!("shopfleet:{tenant}"),
            audience: format!("shopfleet-api:{tenant}"),
        }
    }

    /// A signed access token for `user`, valid for [`ACCESS_TOKEN_SECONDS`].
    pub fn access_token(&self, user: &User) -> String {
        let issued = chrono::Utc::now();
        let now = issued.timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user.id,
            iat: now,
            iat_us: issued.timestamp_micros(),
            exp: now + ACCESS_TOKEN_SECONDS,
            role: user.role,
            stores: user.store_ids.clone(),
        };
        let keys = self.keys.current();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.current_kid.clone());
        jsonwebtoken::encode(&header, &claims, &keys.signing).expect("an Ed25519 key signs any claims")
    }

    /// The claims of a valid token: signed by a key of the set (found by its
    /// `kid`) with EdDSA, unexpired, from this tenant's issuer and audience.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        let kid = header.kid.ok_or("the token has no kid")?;
        let keys = self.keys.current();
        let key = keys
            .verifier(&kid)
            .ok_or("the token was signed with an unknown key")?;
        // The algorithm is pinned: a header saying `none` or HS256 fails here.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| format!("invalid token: {e}"))
    }
}

/// A new random secret with a recognisable prefix (e.g. `sf_rt_`), 256 bits.
pub fn random_secret(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database keeps of a secret.
pub fn sha256(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}
