//! What every request can reach: the tenant database, the token issuer, the
//! metrics, the API-key cache, the bounded password hashing, the rate limits
//! and the live streams. Built once by `main.rs` (or a test) and
//! shared by every worker.

use crate::auth::accounts::KeyCache;
use crate::auth::password::PasswordHashing;
use crate::auth::sessions::SessionGate;
use crate::auth::tokens::Issuer;
use crate::db::{self, Db};
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::stream::hub::StreamLimits;
use crate::stream::live::Live;

pub struct State {
    pub db: Db,
    pub issuer: Issuer,
    pub metrics: Metrics,
    pub api_keys: KeyCache,
    pub passwords: PasswordHashing,
    pub limits: Limits,
    pub sessions: SessionGate,
    pub live: Live,
}

impl State {
    pub fn new(db: Db, issuer: Issuer, limits: Limits) -> Self {
        Self {
            db,
            issuer,
            metrics: Metrics::new(),
            api_keys: KeyCache::new(db::LOOKUP_TTL, 10_000),
            passwords: PasswordHashing::per_core(),
            limits,
            sessions: SessionGate::new(),
            live: Live::new(StreamLimits::default()),
        }
    }

    /// This state with at most these live streams open.
    pub fn streaming(self, limits: StreamLimits) -> Self {
        Self {
            live: Live::new(limits),
            ..self
        }
    }
}
