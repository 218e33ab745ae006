//! The tenant's JWT key set, the file the operator writes to Secret
//! `<tenant>-jwt` and mounts at `SHOPFLEET_JWT_KEYS`:
//! `{"current": kid, "keys": [{"kid", "alg": "EdDSA", "private_pem", "public_pem", ...}]}`.
//!
//! Tokens are signed with `current` and verified with every key in the set,
//! so a rotation logs nobody out. The file is re-read when it changes
//! (Kubernetes swaps a mounted Secret's files in place), without a restart.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Deserialize;

/// How often the file's modification time is checked.
const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct KeySetFile {
    current: String,
    keys: Vec<KeyFile>,
}

#[derive(Deserialize)]
struct KeyFile {
    kid: String,
    alg: String,
    private_pem: String,
    public_pem: String,
}

/// One parsed key set.
pub struct KeySet {
    pub current_kid: String,
    pub signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
}

impl KeySet {
    pub fn parse(json: &[u8]) -> anyhow::Result<Self> {
        let file: KeySetFile = serde_json::from_slice(json).context("the key set is not valid JSON")?;
        let mut verifying = HashMap::new();
        let mut signing = None;
        for key in &file.keys {
            if key.alg != "EdDSA" {
                bail!(
                    "key {} has algorithm {}; only EdDSA is accepted",
                    key.kid,
                    key.alg
                );
            }
            let public = DecodingKey::from_ed_pem(key.public_pem.as_bytes())
                .with_context(|| format!("key {}: public_pem", key.kid))?;
            verifying.insert(key.kid.clone(), public);
            if key.kid == file.current {
                signing = Some(
                    EncodingKey::from_ed_pem(key.private_pem.as_bytes())
                        .with_context(|| format!("key {}: private_pem", key.kid))?,
                );
            }
        }
        let signing =
            signing.with_context(|| format!("the current key {} is not in the set", file.current))?;
        Ok(Self {
            current_kid: file.current,
            signing,
            verifying,
        })
    }

    /// The key that verifies tokens with this `kid`, if it is in the set.
    pub fn verifier(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }
}

/// The key set of a file, reloaded when the file changes.
pub struct KeyRing {
    path: PathBuf,
    loaded: RwLock<(Option<SystemTime>, Arc<KeySet>)>,
}

impl KeyRing {
    /// Reads the key set; fails (naming the file) when it is missing or invalid.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let (modified, keys) = read(path)?;
        Ok(Self {
            path: path.to_owned(),
            loaded: RwLock::new((modified, Arc::new(keys))),
        })
    }

    pub fn current(&self) -> Arc<KeySet> {
        self.loaded.read().expect("key ring lock").1.clone()
    }

    /// Re-reads the file if it changed. A broken file is logged and ignored:
    /// the last good key set stays in use.
    pub fn reload_if_changed(&self) {
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        if modified == self.loaded.read().expect("key ring lock").0 {
            return;
        }
        match read(&self.path) {
            Ok((modified, keys)) => {
                tracing::info!(current = %keys.current_kid, keys = keys.verifying.len(), "reloaded the JWT key set");
                *self.loaded.write().expect("key ring lock") = (modified, Arc::new(keys));
            }
            Err(error) => tracing::error!(error = format!("{error:#}"), "keeping the previous JWT key set"),
        }
    }

    /// Checks the file for changes every few seconds, for the life of the process.
    pub fn watch(self: Arc<Self>) {
        actix_web::rt::spawn(async move {
            let mut interval = tokio::time::interval(RELOAD_INTERVAL);
            loop {
                interval.tick().await;
                self.reload_if_changed();
            }
        });
    }
}

fn read(path: &Path) -> anyhow::Result<(Option<SystemTime>, KeySet)> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let json = std::fs::read(path).with_context(|| {
        format!(
            "reading the JWT key set {} (SHOPFLEET_JWT_KEYS; the operator's `<tenant>-jwt` Secret)",
            path.display()
        )
    })?;
    let keys = KeySet::parse(&json).with_context(|| format!("parsing the JWT key set {}", path.display()))?;
    Ok((modified, keys))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A key set as the operator writes it.
    pub fn operator_key_set() -> shopfleet_operator::tenant::jwt::KeySet {
        shopfleet_operator::tenant::jwt::KeySet::new(jiff::Timestamp::now())
    }

    /// A key ring over a fresh key set, for tests that need one.
    pub fn key_ring() -> Arc<KeyRing> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, serde_json::to_vec(&operator_key_set()).unwrap()).unwrap();
        Arc::new(KeyRing::load(&path).unwrap())
    }

    #[test]
    fn the_operators_key_set_parses() {
        let set = operator_key_set();
        let keys = KeySet::parse(&serde_json::to_vec(&set).unwrap()).unwrap();
        assert_eq!(keys.current_kid, set.current);
        assert!(keys.verifier(&set.current).is_some());
        assert!(keys.verifier("other").is_none());
    }

    #[test]
    fn bad_key_sets_are_refused_with_a_reason() {
        let mut set = operator_key_set();
        set.current = "missing".to_owned();
        let error = KeySet::parse(&serde_json::to_vec(&set).unwrap()).err().unwrap();
        assert!(error.to_string().contains("current key missing"), "{error}");
        let mut set = operator_key_set();
        set.keys[0].alg = "HS256".to_owned();
        let error = KeySet::parse(&serde_json::to_vec(&set).unwrap()).err().unwrap();
        assert!(error.to_string().contains("only EdDSA"), "{error}");
        assert!(KeyRing::load(Path::new("/nonexistent/keys.json")).is_err());
    }

    #[test]
    fn a_changed_file_is_reloaded_and_a_broken_one_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let first = operator_key_set();
        std::fs::write(&path, serde_json::to_vec(&first).unwrap()).unwrap();
        let ring = KeyRing::load(&path).unwrap();
        assert_eq!(ring.current().current_kid, first.current);

        // Kubernetes replaces the file: a new key becomes current, the old one still verifies.
        let mut rotated = first.clone();
        let now = jiff::Timestamp::now();
        rotated = rotated.reconciled(
            now,
            shopfleet_operator::tenant::jwt::RotationPolicy {
                period: jiff::SignedDuration::from_hours(1),
                token_lifetime: jiff::SignedDuration::from_mins(15),
            },
            Some("now"),
        );
        std::fs::write(&path, serde_json::to_vec(&rotated).unwrap()).unwrap();
        bump_mtime(&path);
        ring.reload_if_changed();
        let current = ring.current();
        assert_eq!(current.current_kid, rotated.current);
        assert_ne!(rotated.current, first.current);
        assert!(current.verifier(&first.current).is_some());

        std::fs::write(&path, b"{not json").unwrap();
        bump_mtime(&path);
        ring.reload_if_changed();
        assert_eq!(ring.current().current_kid, rotated.current);
    }

    /// Makes the change visible even on a filesystem with coarse timestamps.
    fn bump_mtime(path: &Path) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        let later = SystemTime::now() + Duration::from_secs(2 + rand_offset());
        file.set_modified(later).unwrap();
    }

    fn rand_offset() -> u64 {
        static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}
