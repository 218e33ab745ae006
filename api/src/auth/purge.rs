//! Expired refresh tokens are deleted once an hour, so the table holds the
//! live sessions and not every session there ever was.

use std::time::Duration;

use actix_web::web;

use super::accounts;
use crate::state::State;

const PURGE_EVERY: Duration = Duration::from_secs(60 * 60);

/// Purges every hour, for as long as the process runs. Replicas purging at
/// once delete the same rows; that is harmless.
pub fn spawn(state: web::Data<State>) {
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            let purged = match state.db.tenant_wide_conn().await {
                Ok(mut conn) => accounts::purge_expired_refresh_tokens(&mut conn).await,
                Err(error) => Err(error),
            };
            match purged {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "deleted expired refresh tokens"),
                Err(error) => {
                    tracing::warn!(%error, "purging expired refresh tokens failed; retrying in an hour")
                }
            }
        }
    });
}
