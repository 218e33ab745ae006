//! Admin connections to the configured PostgreSQL servers, and the executor of
//! the SQL plans built in `tenant::database`.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::Mutex;

use crate::config::ServerRef;
use crate::error::{Error, Result, database};
use crate::tenant::database::{DatabaseNames, MARKER_QUERY, Step};

/// The tenant schema, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// One admin pool per configured server, opened on first use and reopened
/// after the server's credentials change.
pub struct Servers {
    client: Client,
    configured: BTreeMap<String, ServerRef>,
    pools: Mutex<HashMap<String, (String, PgPool)>>,
}

/// An admin connection of one server.
pub struct Admin {
    pub server: String,
    pub pool: PgPool,
    pub options: PgConnectOptions,
}

impl Servers {
    pub fn new(client: Client, configured: BTreeMap<String, ServerRef>) -> Self {
        Self {
            client,
            configured,
            pools: Mutex::new(HashMap::new()),
        }
    }

    pub async fn admin(&self, server: &str) -> Result<Admin> {
        let reference = self
            .configured
            .get(server)
            .ok_or_else(|| Error::UnknownServer(server.to_owned()))?;
        let url = self.admin_url(reference).await?;
        let options = PgConnectOptions::from_str(&url).map_err(|e| Error::AdminCredentials {
            server: server.to_owned(),
            problem: format!("DATABASE_URL does not parse: {e}"),
        })?;
        let mut pools = self.pools.lock().await;
        if let Some((known_url, pool)) = pools.get(server)
            && *known_url == url
        {
            return Ok(Admin {
                server: server.to_owned(),
                pool: pool.clone(),
                options,
            });
        }
        // Lazy: the pool connects on first use, so an unreachable server is a
        // reconcile error (a condition), not an operator crash.
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options.clone());
        pools.insert(server.to_owned(), (url, pool.clone()));
        Ok(Admin {
            server: server.to_owned(),
            pool,
            options,
        })
    }

    async fn admin_url(&self, reference: &ServerRef) -> Result<String> {
        let problem = |problem: String| Error::AdminCredentials {
            server: reference.name.clone(),
            problem,
        };
        let secrets = Api::<Secret>::namespaced(self.client.clone(), &reference.secret_namespace);
        let secret = secrets.get_opt(&reference.secret_name).await?.ok_or_else(|| {
            problem(format!(
                "Secret {}/{} does not exist",
                reference.secret_namespace, reference.secret_name
            ))
        })?;
        let bytes = secret
            .data
            .and_then(|mut data| data.remove("DATABASE_URL"))
            .ok_or_else(|| problem("its Secret has no DATABASE_URL key".to_owned()))?;
        String::from_utf8(bytes.0).map_err(|_| problem("DATABASE_URL is not UTF-8".to_owned()))
    }
}

impl Admin {
    /// Runs a server-level plan (roles, database, connect rights).
    pub async fn apply_server_plan(&self, plan: &[Step]) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(database(&self.server))?;
        for step in plan {
            match step {
                Step::Sql(sql) => {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
                        .execute(&mut *conn)
                        .await
                        .map_err(database(&self.server))?;
                }
                Step::CreateDatabase { name, owner } => {
                    let exists: bool =
                        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
                            .bind(name)
                            .fetch_one(&mut *conn)
                            .await
                            .map_err(database(&self.server))?;
                    if !exists {
                        let sql = format!("CREATE DATABASE {name} OWNER {owner}");
                        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                            .execute(&mut *conn)
                            .await
                            .map_err(database(&self.server))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A connection to the tenant's database acting as its owner role.
    pub async fn connect_as_owner(&self, names: &DatabaseNames) -> Result<PgConnection> {
        let options = self.options.clone().database(&names.database);
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(database(&self.server))?;
        let set_role = format!("SET ROLE {}", names.owner_role);
        sqlx::raw_sql(sqlx::AssertSqlSafe(set_role))
            .execute(&mut conn)
            .await
            .map_err(database(&self.server))?;
        Ok(conn)
    }

    /// Migrates the tenant's database as its owner, grants the runtime role
    /// its rights, and returns the schema version.
    pub async fn migrate(&self, names: &DatabaseNames, grants: &[String]) -> Result<i64> {
        let mut conn = self.connect_as_owner(names).await?;
        // `run_direct` on the connection: `run` takes an `Acquire` whose higher-ranked
        // bounds keep rustc from proving the reconcile future `Send`.
        MIGRATOR.run_direct(None, &mut conn, false).await?;
        for sql in grants {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
                .execute(&mut conn)
                .await
                .map_err(database(&self.server))?;
        }
        let version: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut conn)
                .await
                .map_err(database(&self.server))?;
        conn.close().await.map_err(database(&self.server))?;
        Ok(version.unwrap_or(0))
    }

    /// Drops the tenant's database and roles, after checking that everything
    /// that exists carries this tenant's marker. Returns false (and drops
    /// nothing) when something of that name belongs to someone else.
    pub async fn drop_tenant(&self, names: &DatabaseNames, plan: &[String]) -> Result<bool> {
        let markers: Vec<Option<String>> = sqlx::query_scalar(MARKER_QUERY)
            .bind(&names.database)
            .bind(&names.owner_role)
            .bind(&names.runtime_role)
            .fetch_all(&self.pool)
            .await
            .map_err(database(&self.server))?;
        if markers
            .iter()
            .any(|m| m.as_deref() != Some(names.marker.as_str()))
        {
            return Ok(false);
        }
        for sql in plan {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
                .execute(&self.pool)
                .await
                .map_err(database(&self.server))?;
        }
        Ok(true)
    }

    /// Host and port the tenant's API should connect to: the admin's.
    pub fn host_port(&self) -> (String, u16) {
        (self.options.get_host().to_owned(), self.options.get_port())
    }
}
