//! The tenant database: the connection pool, and the schema version this
//! build expects (`/readyz` fails until the operator has migrated to it).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

/// The tenant schema. The operator applies it; the API embeds it only to
/// know which version it was built for.
pub static MIGRATIONS: Migrator = sqlx::migrate!("../migrations");

/// The newest migration this build knows.
pub fn expected_schema_version() -> i64 {
    MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// A pool that connects on first use, so the process starts (and answers
/// `/healthz`) while the database is still unreachable.
pub fn pool(database_url: &str) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(database_url)?)
}

/// The version the database is migrated to (None when never migrated).
pub async fn schema_version(pool: &PgPool) -> sqlx::Result<Option<i64>> {
    let migrated: bool = sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !migrated {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
}
