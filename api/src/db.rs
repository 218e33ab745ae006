//! The tenant database. Handlers never get the pool: a store's routes work
//! in a [`StoreTx`], in which row-level security shows only that store's rows,
//! opened for them by `access::StoreCaller` after it admitted the caller; the
//! routes of users and of the store list work in a [`Db::tenant_wide`]
//! transaction, in which RLS shows no store rows at all.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::cache::TtlCache;
use crate::error::ApiError;
use crate::ids::StoreId;

/// The tenant schema. The operator applies it; the API embeds it only to
/// know which version it was built for.
pub static MIGRATIONS: Migrator = sqlx::migrate!("../migrations");

/// The newest migration this build knows.
pub fn expected_schema_version() -> i64 {
    MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// An active store's currency and industry ($1 the store). Public, with [`scope_statement`],
/// so `bench/api-load` runs the same SQL.
pub const ACTIVE_STORE: &str =
    "SELECT currency::text, industry FROM stores WHERE id = $1 AND archived_at IS NULL";

/// The statement that opens a store's transaction: `BEGIN` and the RLS
/// setting in one round trip. The id is a parsed UUID, so formatting it into
/// SQL cannot inject anything.
pub fn scope_statement(store: StoreId) -> String {
    scoped("BEGIN", store)
}

/// [`scope_statement`] for a transaction that reads one snapshot throughout.
fn repeatable_read_scope_statement(store: StoreId) -> String {
    scoped("BEGIN ISOLATION LEVEL REPEATABLE READ", store)
}

/// [`repeatable_read_scope_statement`] for a transaction that only reads.
fn read_only_snapshot_scope_statement(store: StoreId) -> String {
    scoped("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", store)
}

fn scoped(begin: &str, store: StoreId) -> String {
    format!("{begin}; SELECT set_config('shopfleet.store_id', '{store}', true)")
}

/// How long a store's row and an API key's lookup are trusted: an archived
/// store or a revoked key stops working on every replica within this.
pub const LOOKUP_TTL: Duration = Duration::from_secs(10);

pub struct Db {
    pool: PgPool,
    /// Active stores seen lately (unknown ids are never cached).
    stores: TtlCache<StoreId, Store>,
}

/// The store a [`StoreTx`] is scoped to.
#[derive(Clone, Debug)]
pub struct Store {
    pub id: StoreId,
    pub currency: String,
    /// `retail`, `hospitality` or `events`.
    pub industry: String,
}

/// A transaction that sees only one store's rows: `shopfleet.store_id` is
/// set with `set_config(..., true)` inside it, so the setting ends with the
/// transaction and a pooled connection never carries it to the next request.
pub struct StoreTx {
    tx: Transaction<'static, Postgres>,
    pub store: Store,
}

impl StoreTx {
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), ApiError> {
        Ok(self.tx.commit().await?)
    }
}

impl Db {
    /// A pool that connects on first use, so the process starts (and answers
    /// `/healthz`) while the database is still unreachable.
    pub fn connect_lazy(database_url: &str, max_connections: u32) -> anyhow::Result<Self> {
        Ok(Self::connect_lazy_with(database_url.parse()?, max_connections))
    }

    pub fn connect_lazy_with(options: PgConnectOptions, max_connections: u32) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(3))
            // No ping before each use (a round trip per request): a dead
            // connection fails its query, is dropped, and the caller retries.
            .test_before_acquire(false)
            .connect_lazy_with(options);
        Self {
            pool,
            stores: TtlCache::new(LOOKUP_TTL, 10_000),
        }
    }

    /// Opens a transaction scoped to `store`; 404 when there is no such
    /// (unarchived) store. Routes reach it only through
    /// `access::StoreCaller::transaction`, after the caller was admitted;
    /// background work (the unpaid-order sweep) calls it as the system.
    pub async fn store(&self, store: StoreId) -> Result<StoreTx, ApiError> {
        self.begin(store, scope_statement).await
    }

    /// [`Db::store`] in one snapshot (REPEATABLE READ), for background work
    /// whose statements must all see the same committed state (the
    /// analytics fold). Its writes fail with a serialization error when
    /// another transaction changed the same rows since the snapshot.
    pub async fn store_snapshot(&self, store: StoreId) -> Result<StoreTx, ApiError> {
        self.begin(store, repeatable_read_scope_statement).await
    }

    /// [`Db::store_snapshot`] that cannot write: the reports' transaction,
    /// reached through `access::StoreCaller::snapshot`.
    pub async fn store_reading(&self, store: StoreId) -> Result<StoreTx, ApiError> {
        self.begin(store, read_only_snapshot_scope_statement).await
    }

    async fn begin(&self, store: StoreId, statement: fn(StoreId) -> String) -> Result<StoreTx, ApiError> {
        let store = match self.stores.get(&store) {
            Some(known) => known,
            None => {
                let found: Option<(String, String)> = sqlx::query_as(ACTIVE_STORE)
                    .bind(store)
                    .fetch_optional(&self.pool)
                    .await?;
                let (currency, industry) =
                    found.ok_or_else(|| ApiError::NotFound(format!("store {store} does not exist")))?;
                let found = Store {
                    id: store,
                    currency,
                    industry,
                };
                self.stores.insert(store, found.clone());
                found
            }
        };
        let tx = self
            .pool
            .begin_with(sqlx::AssertSqlSafe(statement(store.id)))
            .await?;
        Ok(StoreTx { tx, store })
    }

    /// Runs `work` in one transaction over the tenant-wide tables (users,
    /// invitations, tokens, stores), committed when it succeeds. No store is
    /// set, so store-scoped tables show nothing here.
    pub async fn tenant_wide<T>(
        &self,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut tx = self.pool.begin().await?;
        let value = work(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }

    /// A connection for one statement on the tenant-wide tables, where a
    /// transaction would only add round trips (an API key lookup).
    pub async fn tenant_wide_conn(&self) -> Result<PoolConnection<Postgres>, ApiError> {
        Ok(self.pool.acquire().await?)
    }

    /// The ids of the tenant's active stores.
    pub async fn active_stores(&self) -> Result<Vec<StoreId>, ApiError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM stores WHERE archived_at IS NULL ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The pool, for connections that are not transactions (the live stream's `LISTEN`).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The pool's open and idle connections, for the metrics.
    pub fn pool_connections(&self) -> (u32, u32) {
        (self.pool.size(), self.pool.num_idle() as u32)
    }

    /// The version the database is migrated to (None when never migrated).
    pub async fn schema_version(&self) -> sqlx::Result<Option<i64>> {
        let migrated: bool = sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        if !migrated {
            return Ok(None);
        }
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
    }
}
