//! What can go wrong in a reconcile, with a bounded category for metrics and
//! the condition reason users see.

use std::time::Duration;

use kube::runtime::controller::Action;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),

    #[error("PostgreSQL server {server:?}: {source}")]
    Database {
        server: String,
        #[source]
        source: sqlx::Error,
    },

    #[error("migrating the tenant database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("PostgreSQL server {0:?} is not configured in the operator (see --postgres-server)")]
    UnknownServer(String),

    #[error("admin credentials of PostgreSQL server {server:?}: {problem}")]
    AdminCredentials { server: String, problem: String },

    #[error("the object has no {0} (was it read from the apiserver?)")]
    MissingObjectKey(&'static str),

    #[error("finalizer: {0}")]
    Finalizer(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A fixed, small set of labels for metrics: never an object name.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Kube(_) => "kubernetes",
            Self::Database { .. } => "database",
            Self::Migrate(_) => "migration",
            Self::UnknownServer(_) | Self::AdminCredentials { .. } => "configuration",
            Self::MissingObjectKey(_) => "invalid_object",
            Self::Finalizer(_) => "finalizer",
        }
    }

    /// The condition reason for this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Kube(_) => "KubernetesError",
            Self::Database { .. } => "DatabaseUnavailable",
            Self::Migrate(_) => "MigrationFailed",
            Self::UnknownServer(_) => "UnknownDatabaseServer",
            Self::AdminCredentials { .. } => "AdminCredentialsInvalid",
            Self::MissingObjectKey(_) => "InvalidObject",
            Self::Finalizer(_) => "FinalizerFailed",
        }
    }

    /// How long to wait before trying again, given how many times in a row
    /// this object has failed: exponential from 1 s, capped at 5 minutes.
    pub fn backoff(consecutive_failures: u32) -> Duration {
        let seconds = 1u64 << consecutive_failures.min(9);
        Duration::from_secs(seconds.min(300))
    }
}

/// Flattens the outcome of kube-runtime's finalizer helper. Adding or
/// removing the finalizer fails when our cached copy of the object is stale
/// (the JSON patch's `test` fails: 422, or a conflict: 409), typically just
/// after our own write: that is no failure, just look again shortly.
pub fn finalizer_outcome(
    result: std::result::Result<Action, kube::runtime::finalizer::Error<Error>>,
) -> Result<Action> {
    use kube::runtime::finalizer::Error as Finalizer;
    match result {
        Ok(action) => Ok(action),
        Err(Finalizer::ApplyFailed(error) | Finalizer::CleanupFailed(error)) => Err(error),
        Err(
            Finalizer::AddFinalizer(kube::Error::Api(status))
            | Finalizer::RemoveFinalizer(kube::Error::Api(status)),
        ) if status.code == 409 || status.code == 422 => Ok(Action::requeue(STALE_CACHE_RETRY)),
        Err(other) => Err(Error::Finalizer(other.to_string())),
    }
}

/// How soon to look again after a write refused because our copy was stale.
const STALE_CACHE_RETRY: Duration = Duration::from_millis(200);

/// Wraps an sqlx error with the server it came from.
pub fn database(server: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |source| Error::Database {
        server: server.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        assert_eq!(Error::backoff(0), Duration::from_secs(1));
        assert_eq!(Error::backoff(3), Duration::from_secs(8));
        assert_eq!(Error::backoff(8), Duration::from_secs(256));
        assert_eq!(Error::backoff(9), Duration::from_secs(300));
        assert_eq!(Error::backoff(40), Duration::from_secs(300));
    }
}
