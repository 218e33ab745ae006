//! SQL plans: what a controller wants done in PostgreSQL, built as plain
//! data (so the builders are pure and unit-tested) and run by
//! [`crate::postgres`]. Every step is idempotent, so a plan can run again
//! after a crash at any point and converges.

/// One step of a server-level plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A statement that is idempotent by itself.
    Sql(String),
    /// `CREATE DATABASE`, which cannot run inside a transaction or a DO block,
    /// so the executor checks `pg_database` first.
    CreateDatabase { name: String, owner: String },
}

/// Returns the markers of whichever of a tenant's database and roles exist
/// (bind the three names of [`crate::names::DatabaseNames`] as $1, $2, $3).
pub const MARKER_QUERY: &str = "\
    SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1 \
    UNION ALL \
    SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname IN ($2, $3)";
