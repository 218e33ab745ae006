//! The Secrets the operator read or wrote lately. No watch keeps Secrets (see
//! `children`), so without this every reconcile would read a Tenant's three
//! Secrets and a Store's key Secret, though the burst of reconciles that
//! follows a new Tenant's creation (its children appearing, its API becoming
//! available) finds them just as it wrote them.
//!
//! A copy counts for half the resync period (`Config::resync_seconds`): every
//! periodic reconcile comes later than that, so it reads the Secrets from the
//! apiserver and repairs what someone changed meanwhile. Before generating a
//! value that would replace one a Secret holds, the pipeline reads the
//! apiserver anyway.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::error::Result;

pub struct KnownSecrets {
    lifetime: Duration,
    copies: Mutex<Copies>,
}

#[derive(Default)]
struct Copies {
    /// By namespace and name: the Secret, and when it was read or written.
    secrets: HashMap<(String, String), (Secret, Instant)>,
    /// When copies too old to be used were last dropped.
    purged: Option<Instant>,
}

impl KnownSecrets {
    pub fn new(resync: Duration) -> Self {
        Self {
            lifetime: resync / 2,
            copies: Mutex::default(),
        }
    }

    /// Secret `name` in `api`'s namespace: the recent copy, or the
    /// apiserver's (`None`: there is none).
    pub async fn get(&self, api: &Api<Secret>, name: &str) -> Result<Option<Secret>> {
        let key = (api.namespace().unwrap_or_default().to_owned(), name.to_owned());
        if let Some(secret) = self.recent(&key, Instant::now()) {
            return Ok(Some(secret));
        }
        self.read(api, name).await
    }

    /// Secret `name` as the apiserver has it now.
    pub async fn read(&self, api: &Api<Secret>, name: &str) -> Result<Option<Secret>> {
        let secret = api.get_opt(name).await?;
        if let Some(secret) = &secret {
            self.remember(secret);
        }
        Ok(secret)
    }

    /// Keeps `secret` as just read or written.
    pub fn remember(&self, secret: &Secret) {
        self.remember_at(secret, Instant::now());
    }

    /// Drops the copy of Secret `name` in `namespace`: the next look reads it.
    pub fn forget(&self, namespace: &str, name: &str) {
        let key = (namespace.to_owned(), name.to_owned());
        self.copies.lock().expect("not poisoned").secrets.remove(&key);
    }

    fn remember_at(&self, secret: &Secret, now: Instant) {
        let mut secret = secret.clone();
        secret.metadata.managed_fields = None;
        let key = (
            secret.metadata.namespace.clone().unwrap_or_default(),
            secret.metadata.name.clone().unwrap_or_default(),
        );
        let mut copies = self.copies.lock().expect("not poisoned");
        // Copies too old to be used go, so those of deleted Tenants and
        // Stores do not stay: once a lifetime, not on every insert (a
        // thousand Tenants' Secrets are thousands of copies).
        if copies
            .purged
            .is_none_or(|at| now.duration_since(at) >= self.lifetime)
        {
            let lifetime = self.lifetime;
            copies
                .secrets
                .retain(|_, (_, at)| now.duration_since(*at) < lifetime);
            copies.purged = Some(now);
        }
        copies.secrets.insert(key, (secret, now));
    }

    fn recent(&self, key: &(String, String), now: Instant) -> Option<Secret> {
        let copies = self.copies.lock().expect("not poisoned");
        copies
            .secrets
            .get(key)
            .filter(|(_, at)| now.duration_since(*at) < self.lifetime)
            .map(|(secret, _)| secret.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str) -> Secret {
        let mut secret = Secret::default();
        secret.metadata.name = Some(name.to_owned());
        secret.metadata.namespace = Some("tenant-acme".to_owned());
        secret
    }

    fn key(name: &str) -> (String, String) {
        ("tenant-acme".to_owned(), name.to_owned())
    }

    #[test]
    fn a_copy_counts_for_half_the_resync_then_is_read_again() {
        let known = KnownSecrets::new(Duration::from_secs(300));
        let start = Instant::now();
        known.remember_at(&secret("acme-db"), start);
        let soon = start + Duration::from_secs(149);
        assert!(known.recent(&key("acme-db"), soon).is_some());
        assert!(known.recent(&key("acme-jwt"), soon).is_none());
        let later = start + Duration::from_secs(150);
        assert!(
            known.recent(&key("acme-db"), later).is_none(),
            "half the resync old"
        );
        known.remember_at(&secret("acme-jwt"), later);
        assert_eq!(
            known.copies.lock().unwrap().secrets.len(),
            1,
            "the old copy went when another came"
        );
    }
}
