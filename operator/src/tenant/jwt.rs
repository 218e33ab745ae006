//! The tenant's JWT signing key set (Secret `<tenant>-jwt`, key `keys.json`).
//!
//! The API signs with `current` and verifies with every key, so a rotation
//! adds a key and makes it current, and an old key is removed only once every
//! access token it signed has expired: nobody is logged out by a rotation.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::{SignedDuration, Timestamp};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The key of the Secret that holds the key set: the file the API reads.
pub const KEYS_FILE: &str = shopfleet_contract::JWT_KEYS_FILE;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KeySet {
    /// The kid new tokens are signed with.
    pub current: String,
    pub keys: Vec<SigningKey>,
    /// The value of the `shopfleet.io/rotate-jwt` annotation last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_request: Option<String>,
    /// The value of the `shopfleet.io/revoke-jwt` annotation last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_request: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    pub private_pem: String,
    pub public_pem: String,
    /// RFC 3339.
    pub created_at: String,
    /// When it stopped being current (RFC 3339); absent while current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<String>,
}

/// When to rotate and how long an access token lives.
#[derive(Clone, Copy, Debug)]
pub struct RotationPolicy {
    pub period: SignedDuration,
    pub token_lifetime: SignedDuration,
}

impl SigningKey {
    pub fn generate(now: Timestamp) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("the OS has randomness");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("ring parses its own PKCS#8");
        // SubjectPublicKeyInfo for Ed25519 is this fixed prefix and the 32-byte key.
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(pair.public_key().as_ref());
        let kid: String = Sha256::digest(pair.public_key().as_ref())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            kid,
            alg: "EdDSA".to_owned(),
            private_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
            public_pem: pem("PUBLIC KEY", &spki),
            created_at: now.to_string(),
            retired_at: None,
        }
    }
}

impl KeySet {
    pub fn new(now: Timestamp) -> Self {
        let key = SigningKey::generate(now);
        Self {
            current: key.kid.clone(),
            keys: vec![key],
            rotation_request: None,
            revocation_request: None,
        }
    }

    fn current_key(&self) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == self.current)
    }

    /// The key set as it should be at `now`: rotated when the current key is
    /// older than the period or a new rotation request came in, and without
    /// retired keys whose tokens have all expired. Unchanged if nothing is due,
    /// so a reconcile never rewrites the Secret needlessly.
    pub fn reconciled(mut self, now: Timestamp, policy: RotationPolicy, request: Option<&str>) -> Self {
        let created = self
            .current_key()
            .and_then(|k| k.created_at.parse::<Timestamp>().ok());
        let overdue = created.is_none_or(|created| now.duration_since(created) >= policy.period);
        let requested = request.is_some() && request != self.rotation_request.as_deref();
        if overdue || requested {
            for key in &mut self.keys {
                if key.retired_at.is_none() {
                    key.retired_at = Some(now.to_string());
                }
            }
            let key = SigningKey::generate(now);
            self.current = key.kid.clone();
            self.keys.push(key);
            self.rotation_request = request.map(str::to_owned);
        }
        self.keys.retain(
            |key| match key.retired_at.as_deref().map(str::parse::<Timestamp>) {
                Some(Ok(retired)) => now.duration_since(retired) < policy.token_lifetime,
                Some(Err(_)) => false,
                None => true,
            },
        );
        self
    }
}

impl KeySet {
    /// The emergency: on a new revocation request (a key leaked), every key
    /// goes at once and a new one signs from now on, so every token issued
    /// before stops verifying as soon as the API reads the new set; every
    /// user signs in again. Unchanged otherwise.
    pub fn revoked(self, now: Timestamp, request: Option<&str>) -> Self {
        if request.is_none() || request == self.revocation_request.as_deref() {
            return self;
        }
        Self {
            revocation_request: request.map(str::to_owned),
            rotation_request: self.rotation_request,
            ..Self::new(now)
        }
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = BASE64.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RotationPolicy = RotationPolicy {
        period: SignedDuration::from_hours(24 * 30),
        token_lifetime: SignedDuration::from_mins(15),
    };

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_new_key_set_has_one_current_ed25519_key() {
        let set = KeySet::new(at("2026-01-01T00:00:00Z"));
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.current, set.keys[0].kid);
        assert_eq!(set.keys[0].alg, "EdDSA");
        assert!(
            set.keys[0]
                .private_pem
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert!(set.keys[0].public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_ne!(KeySet::new(at("2026-01-01T00:00:00Z")).current, set.current);
    }

    #[test]
    fn nothing_changes_before_the_period_is_over() {
        let set = KeySet::new(at("2026-01-01T00:00:00Z"));
        let later = set.clone().reconciled(at("2026-01-20T00:00:00Z"), POLICY, None);
        assert_eq!(later, set);
    }

    #[test]
    fn rotation_keeps_the_old_key_until_its_tokens_expire() {
        let set = KeySet::new(at("2026-01-01T00:00:00Z"));
        let old = set.current.clone();
        let rotated = set.reconciled(at("2026-02-01T00:00:00Z"), POLICY, None);
        assert_eq!(rotated.keys.len(), 2);
        assert_ne!(rotated.current, old);
        let still = rotated
            .clone()
            .reconciled(at("2026-02-01T00:10:00Z"), POLICY, None);
        assert_eq!(still.keys.len(), 2, "tokens signed 10 minutes ago still verify");
        let pruned = still.reconciled(at("2026-02-01T00:15:00Z"), POLICY, None);
        assert_eq!(pruned.keys.len(), 1);
        assert_eq!(pruned.keys[0].kid, pruned.current);
    }

    #[test]
    fn each_new_annotation_value_rotates_once() {
        let set = KeySet::new(at("2026-01-01T00:00:00Z"));
        let first = set.reconciled(at("2026-01-02T00:00:00Z"), POLICY, Some("1"));
        assert_eq!(first.keys.len(), 2);
        let again = first
            .clone()
            .reconciled(at("2026-01-02T00:01:00Z"), POLICY, Some("1"));
        assert_eq!(again, first, "the same request is not acted on twice");
        let second = again.reconciled(at("2026-01-02T00:02:00Z"), POLICY, Some("2"));
        assert_eq!(second.keys.len(), 3);
    }

    #[test]
    fn a_revocation_drops_every_key_at_once_and_only_once() {
        let set =
            KeySet::new(at("2026-01-01T00:00:00Z")).reconciled(at("2026-01-02T00:00:00Z"), POLICY, Some("1"));
        assert_eq!(set.keys.len(), 2);
        let revoked = set.clone().revoked(at("2026-01-02T00:01:00Z"), Some("leak"));
        assert_eq!(revoked.keys.len(), 1, "no old key verifies any more");
        assert!(set.keys.iter().all(|old| old.kid != revoked.current));
        assert_eq!(
            revoked.rotation_request.as_deref(),
            Some("1"),
            "the rotation is not asked again"
        );
        let again = revoked.clone().revoked(at("2026-01-02T00:02:00Z"), Some("leak"));
        assert_eq!(again, revoked);
        assert_eq!(set.clone().revoked(at("2026-01-02T00:02:00Z"), None), set);
    }
}
