//! What can go wrong in a reconcile, with a bounded category for metrics and
//! the condition reason users see.

use std::time::Duration;

use kube::runtime::controller::Action;

use crate::children::ChildRef;

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

    /// `spec.api.image` is neither under the allowed registry prefix nor
    /// pinned by digest (`Config::allows_image`).
    #[error(
        "spec.api.image {image:?} is neither under {prefix:?} nor pinned by digest (@sha256:...): it is not run"
    )]
    ImageNotAllowed { image: String, prefix: String },

    /// An object of a child's name exists that the operator did not create
    /// for this owner; it is left alone, and nothing it holds is used.
    #[error("{0} exists but was not created by the operator for this object: delete or rename it")]
    Conflict(ChildRef),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A fixed, small set of labels for metrics: never an object name.
    pub fn category(&self) -> &'static str {
        match self.reason() {
            FailureReason::KubernetesError => "kubernetes",
            FailureReason::DatabaseUnavailable => "database",
            FailureReason::SqlError | FailureReason::ConstraintViolation => "sql",
            FailureReason::MigrationFailed => "migration",
            FailureReason::UnknownDatabaseServer
            | FailureReason::AdminCredentialsInvalid
            | FailureReason::InsufficientPrivilege => "configuration",
            FailureReason::InvalidObject => "invalid_object",
            FailureReason::FinalizerFailed => "finalizer",
            FailureReason::Conflict => "conflict",
        }
    }

    /// The PostgreSQL server the failure came from, if it came from one.
    pub fn server(&self) -> Option<&str> {
        match self {
            Self::Database { server, .. } | Self::AdminCredentials { server, .. } => Some(server),
            _ => None,
        }
    }

    /// The condition reason for this failure.
    pub fn reason(&self) -> FailureReason {
        match self {
            Self::Kube(_) => FailureReason::KubernetesError,
            Self::Database { source, .. } => classify(source),
            Self::Migrate(
                sqlx::migrate::MigrateError::Execute(source)
                | sqlx::migrate::MigrateError::ExecuteMigration(source, _),
            ) if classify(source) == FailureReason::DatabaseUnavailable => FailureReason::DatabaseUnavailable,
            Self::Migrate(_) => FailureReason::MigrationFailed,
            Self::UnknownServer(_) => FailureReason::UnknownDatabaseServer,
            Self::AdminCredentials { .. } => FailureReason::AdminCredentialsInvalid,
            Self::MissingObjectKey(_) | Self::ImageNotAllowed { .. } => FailureReason::InvalidObject,
            Self::Finalizer(_) => FailureReason::FinalizerFailed,
            Self::Conflict(_) => FailureReason::Conflict,
        }
    }

    /// How long to wait before trying again, given how many times in a row
    /// this object has failed. What may pass by itself (an outage, a conflict,
    /// credentials being fixed) backs off exponentially from 1 s; what only a
    /// person or a new operator can fix (a bug in our SQL, a constraint the
    /// data breaks, a server the operator does not know) waits the cap of
    /// 5 minutes straight away, so it does not hammer the server meanwhile.
    pub fn retry_after(&self, consecutive_failures: u32) -> Duration {
        if self.reason().is_transient() {
            Self::backoff(consecutive_failures)
        } else {
            MAX_BACKOFF
        }
    }

    /// Exponential from 1 s, capped at 5 minutes.
    pub fn backoff(consecutive_failures: u32) -> Duration {
        let seconds = 1u64 << consecutive_failures.min(9);
        Duration::from_secs(seconds).min(MAX_BACKOFF)
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Why a reconcile failed: the reason of the condition it sets to False,
/// rendered as the CamelCase word users alert on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureReason {
    KubernetesError,
    /// The server cannot be reached, is starting or shutting down, or is out
    /// of resources, or the transaction lost a race: retrying helps.
    DatabaseUnavailable,
    /// The server refused the admin's credentials, or its Secret is unusable.
    AdminCredentialsInvalid,
    /// The admin logged in but may not do what the operator needs.
    InsufficientPrivilege,
    /// The data breaks a constraint (SQLSTATE class 23).
    ConstraintViolation,
    /// The operator's own SQL is wrong for this server or schema: a bug.
    SqlError,
    MigrationFailed,
    UnknownDatabaseServer,
    InvalidObject,
    FinalizerFailed,
    /// A child's name is taken by an object the operator did not create.
    Conflict,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KubernetesError => "KubernetesError",
            Self::DatabaseUnavailable => "DatabaseUnavailable",
            Self::AdminCredentialsInvalid => "AdminCredentialsInvalid",
            Self::InsufficientPrivilege => "InsufficientPrivilege",
            Self::ConstraintViolation => "ConstraintViolation",
            Self::SqlError => "SqlError",
            Self::MigrationFailed => "MigrationFailed",
            Self::UnknownDatabaseServer => "UnknownDatabaseServer",
            Self::InvalidObject => "InvalidObject",
            Self::FinalizerFailed => "FinalizerFailed",
            Self::Conflict => "Conflict",
        }
    }

    /// Whether trying again soon may succeed without anyone changing anything.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::KubernetesError
                | Self::DatabaseUnavailable
                | Self::AdminCredentialsInvalid
                | Self::InsufficientPrivilege
                | Self::MigrationFailed
                | Self::FinalizerFailed
        )
    }
}

/// Sorts an sqlx error by what caused it: the transport, or the server's
/// SQLSTATE class (PostgreSQL's Appendix A).
pub fn classify(error: &sqlx::Error) -> FailureReason {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => FailureReason::DatabaseUnavailable,
        sqlx::Error::Database(error) => match error.code().as_deref() {
            Some(code) => sqlstate_reason(code),
            None => FailureReason::SqlError,
        },
        _ => FailureReason::SqlError,
    }
}

fn sqlstate_reason(code: &str) -> FailureReason {
    match code {
        // insufficient_privilege
        "42501" => FailureReason::InsufficientPrivilege,
        // invalid_catalog_name: the tenant's database is not there (yet, or
        // any more); the next reconcile creates it.
        "3D000" => FailureReason::DatabaseUnavailable,
        _ => match code.get(..2) {
            // connection exception, transaction rollback (serialization
            // failure, deadlock), insufficient resources, operator
            // intervention (shutdown, cannot connect now), system error
            Some("08" | "40" | "53" | "57" | "58") => FailureReason::DatabaseUnavailable,
            // invalid authorization specification, invalid password
            Some("28") => FailureReason::AdminCredentialsInvalid,
            Some("23") => FailureReason::ConstraintViolation,
            _ => FailureReason::SqlError,
        },
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
    use std::borrow::Cow;

    use super::*;

    /// A server error with a SQLSTATE, as PostgreSQL sends one.
    #[derive(Debug)]
    struct ServerError(&'static str);

    impl std::fmt::Display for ServerError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for ServerError {}

    impl sqlx::error::DatabaseError for ServerError {
        fn message(&self) -> &str {
            "server error"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn from_server(code: &'static str) -> Error {
        database("default")(sqlx::Error::Database(Box::new(ServerError(code))))
    }

    #[test]
    fn sqlx_errors_are_classified_by_cause() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let transport = [
            sqlx::Error::Io(refused),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
        ];
        for source in transport {
            let error = database("default")(source);
            assert_eq!(error.reason(), FailureReason::DatabaseUnavailable, "{error}");
        }
        for (code, reason) in [
            ("08006", FailureReason::DatabaseUnavailable),
            ("57P03", FailureReason::DatabaseUnavailable),
            ("40P01", FailureReason::DatabaseUnavailable),
            ("53300", FailureReason::DatabaseUnavailable),
            ("3D000", FailureReason::DatabaseUnavailable),
            ("28P01", FailureReason::AdminCredentialsInvalid),
            ("42501", FailureReason::InsufficientPrivilege),
            ("23505", FailureReason::ConstraintViolation),
            ("23503", FailureReason::ConstraintViolation),
            ("42601", FailureReason::SqlError),
            ("42P01", FailureReason::SqlError),
            ("22P02", FailureReason::SqlError),
        ] {
            assert_eq!(from_server(code).reason(), reason, "SQLSTATE {code}");
        }
        let decode = database("default")(sqlx::Error::ColumnNotFound("id".to_owned()));
        assert_eq!(decode.reason(), FailureReason::SqlError);
        assert_eq!(decode.category(), "sql");
    }

    #[test]
    fn a_migration_cut_off_by_an_outage_is_an_outage() {
        let outage = sqlx::migrate::MigrateError::ExecuteMigration(sqlx::Error::PoolTimedOut, 3);
        assert_eq!(
            Error::Migrate(outage).reason(),
            FailureReason::DatabaseUnavailable
        );
        let broken = sqlx::migrate::MigrateError::ExecuteMigration(
            sqlx::Error::Database(Box::new(ServerError("42P07"))),
            3,
        );
        assert_eq!(Error::Migrate(broken).reason(), FailureReason::MigrationFailed);
        assert_eq!(
            Error::Migrate(sqlx::migrate::MigrateError::VersionMissing(1)).reason(),
            FailureReason::MigrationFailed
        );
    }

    #[test]
    fn only_transient_failures_are_retried_quickly() {
        let outage = database("default")(sqlx::Error::PoolTimedOut);
        assert_eq!(outage.retry_after(0), Duration::from_secs(1));
        assert_eq!(outage.retry_after(2), Duration::from_secs(4));
        let bug = from_server("42601");
        assert_eq!(bug.retry_after(0), Duration::from_secs(300));
        assert_eq!(from_server("23505").retry_after(0), Duration::from_secs(300));
    }

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        assert_eq!(Error::backoff(0), Duration::from_secs(1));
        assert_eq!(Error::backoff(3), Duration::from_secs(8));
        assert_eq!(Error::backoff(8), Duration::from_secs(256));
        assert_eq!(Error::backoff(9), Duration::from_secs(300));
        assert_eq!(Error::backoff(40), Duration::from_secs(300));
    }
}
