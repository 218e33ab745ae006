//! Admin connections to the configured PostgreSQL servers, and the executor of
//! SQL plans (`crate::sql_plan`).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::config::ServerRef;
use crate::error::{Error, Result, database};
use crate::names::DatabaseNames;
use crate::sql_plan::{MARKER_QUERY, RENDER_QUERY, Statement, Step};

/// The tenant schema, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// What [`Admin::drop_tenant`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    Dropped,
    /// No database or role of the tenant's names exists.
    NothingThere,
    /// Something of the tenant's names lacks its marker: left untouched.
    NotOurs,
}

/// One admin pool per configured server, opened on first use and reopened
/// after the server's credentials change.
///
/// The admin Secret is read again at most every [`ADMIN_SECRET_REREAD`], or
/// at once after the server refused the credentials ([`Servers::recheck`]):
/// reading it on every reconcile was a request per reconcile for nothing.
pub struct Servers {
    client: Client,
    configured: BTreeMap<String, ServerRef>,
    max_connections: u32,
    pools: Mutex<HashMap<String, KnownServer>>,
}

/// The admin Secret's key holding the CA of the server's certificate (PEM).
pub const CA_KEY: &str = "ca.crt";

/// How long the admin credentials read from a server's Secret are trusted.
const ADMIN_SECRET_REREAD: Duration = Duration::from_secs(60);

struct KnownServer {
    url: String,
    pool: PgPool,
    options: PgConnectOptions,
    tls: DatabaseTls,
    /// When the Secret was last read; `None` once the credentials are suspect.
    read_at: Option<Instant>,
}

/// How connections to a server are secured, from its admin Secret: the
/// `sslmode` of its `DATABASE_URL` (`verify-full` when the Secret has a CA
/// and the URL says nothing, else `prefer`, libpq's default) and the CA
/// (key `ca.crt`, PEM). The tenants' connections get the same.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseTls {
    pub mode: String,
    pub ca_pem: Option<String>,
}

impl DatabaseTls {
    fn of(url: &str, ca_pem: Option<String>) -> Self {
        let mode = url
            .split_once('?')
            .into_iter()
            .flat_map(|(_, query)| query.split('&'))
            .find_map(|pair| pair.strip_prefix("sslmode="))
            .map(str::to_owned)
            .unwrap_or_else(|| if ca_pem.is_some() { "verify-full" } else { "prefer" }.to_owned());
        Self { mode, ca_pem }
    }
}

/// Where a tenant's API reaches its database server, and how securely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: DatabaseTls,
}

/// An admin connection of one server.
pub struct Admin {
    pub server: String,
    pub pool: PgPool,
    pub options: PgConnectOptions,
    pub tls: DatabaseTls,
}

impl Servers {
    /// `max_connections` per server: as many as reconciles may run at once.
    pub fn new(client: Client, configured: BTreeMap<String, ServerRef>, max_connections: u32) -> Self {
        Self {
            client,
            configured,
            max_connections,
            pools: Mutex::new(HashMap::new()),
        }
    }

    pub async fn admin(&self, server: &str) -> Result<Admin> {
        let reference = self
            .configured
            .get(server)
            .ok_or_else(|| Error::UnknownServer(server.to_owned()))?;
        let admin = |known: &KnownServer| Admin {
            server: server.to_owned(),
            pool: known.pool.clone(),
            options: known.options.clone(),
            tls: known.tls.clone(),
        };
        if let Some(known) = self.pools().get(server)
            && known
                .read_at
                .is_some_and(|read| read.elapsed() < ADMIN_SECRET_REREAD)
        {
            return Ok(admin(known));
        }
        let (url, ca_pem) = self.admin_credentials(reference).await?;
        let tls = DatabaseTls::of(&url, ca_pem);
        let mut options = PgConnectOptions::from_str(&url).map_err(|e| Error::AdminCredentials {
            server: server.to_owned(),
            problem: format!("DATABASE_URL does not parse: {e}"),
        })?;
        if let Some(ca) = &tls.ca_pem {
            options = options.ssl_root_cert_from_pem(ca.as_bytes().to_vec());
        }
        options = options.ssl_mode(tls.mode.parse().map_err(|e| Error::AdminCredentials {
            server: server.to_owned(),
            problem: format!("sslmode {:?}: {e}", tls.mode),
        })?);
        let mut pools = self.pools();
        match pools.get_mut(server) {
            Some(known) if known.url == url && known.tls == tls => known.read_at = Some(Instant::now()),
            _ => {
                // Lazy: the pool connects on first use, so an unreachable server
                // is a reconcile error (a condition), not an operator crash.
                let pool = PgPoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_lazy_with(options.clone());
                let known = KnownServer {
                    url,
                    pool,
                    options,
                    tls,
                    read_at: Some(Instant::now()),
                };
                pools.insert(server.to_owned(), known);
            }
        }
        Ok(admin(&pools[server]))
    }

    /// The server refused its admin credentials: read its Secret again next
    /// time, in case someone fixed it.
    pub fn recheck(&self, server: &str) {
        if let Some(known) = self.pools().get_mut(server) {
            known.read_at = None;
        }
    }

    fn pools(&self) -> std::sync::MutexGuard<'_, HashMap<String, KnownServer>> {
        self.pools.lock().expect("not poisoned")
    }

    /// The admin Secret's `DATABASE_URL`, and its CA (`ca.crt`) if it has one.
    async fn admin_credentials(&self, reference: &ServerRef) -> Result<(String, Option<String>)> {
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
        let mut data = secret.data.unwrap_or_default();
        let bytes = data
            .remove("DATABASE_URL")
            .ok_or_else(|| problem("its Secret has no DATABASE_URL key".to_owned()))?;
        let url = String::from_utf8(bytes.0).map_err(|_| problem("DATABASE_URL is not UTF-8".to_owned()))?;
        let ca = data
            .remove(CA_KEY)
            .map(|bytes| String::from_utf8(bytes.0))
            .transpose()
            .map_err(|_| problem(format!("{CA_KEY} is not PEM text")))?;
        Ok((url, ca))
    }
}

impl Admin {
    /// Runs a server-level plan (roles, database, connect rights).
    pub async fn apply_server_plan(&self, plan: &[Step]) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(database(&self.server))?;
        let statements: Vec<Statement> = plan.iter().map(Step::statement).collect();
        let rendered = render(&mut conn, &statements)
            .await
            .map_err(database(&self.server))?;
        for (step, sql) in plan.iter().zip(rendered) {
            if let Step::CreateDatabase { name, .. } = step {
                let exists: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
                        .bind(name)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(database(&self.server))?;
                if exists {
                    continue;
                }
            }
            execute(&mut conn, sql).await.map_err(database(&self.server))?;
        }
        Ok(())
    }

    /// A connection to the tenant's database acting as its owner role.
    pub async fn connect_as_owner(&self, names: &DatabaseNames) -> Result<PgConnection> {
        let options = self.options.clone().database(&names.database);
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(database(&self.server))?;
        // `SET ROLE`, with the name bound rather than written into the SQL.
        sqlx::query("SELECT set_config('role', $1, false)")
            .bind(&names.owner_role)
            .execute(&mut conn)
            .await
            .map_err(database(&self.server))?;
        Ok(conn)
    }

    /// Migrates the tenant's database on `owner` (see
    /// [`Admin::connect_as_owner`]), grants the runtime role its rights, and
    /// returns the schema version. The connection stays open for the
    /// caller's next statements: a new one costs PostgreSQL a backend.
    pub async fn migrate(&self, owner: &mut PgConnection, grants: &[Statement]) -> Result<i64> {
        // `run_direct` on the connection: `run` takes an `Acquire` whose higher-ranked
        // bounds keep rustc from proving the reconcile future `Send`.
        MIGRATOR.run_direct(None, &mut *owner, false).await?;
        for sql in render(owner, grants).await.map_err(database(&self.server))? {
            execute(owner, sql).await.map_err(database(&self.server))?;
        }
        let version: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut *owner)
                .await
                .map_err(database(&self.server))?;
        Ok(version.unwrap_or(0))
    }

    /// Drops the tenant's database and roles, after checking that everything
    /// that exists carries this tenant's marker; drops nothing when something
    /// of that name belongs to someone else.
    pub async fn drop_tenant(&self, names: &DatabaseNames, plan: &[Statement]) -> Result<Dropped> {
        let markers: Vec<Option<String>> = sqlx::query_scalar(MARKER_QUERY)
            .bind(&names.database)
            .bind(&names.owner_role)
            .bind(&names.runtime_role)
            .fetch_all(&self.pool)
            .await
            .map_err(database(&self.server))?;
        if markers.is_empty() {
            return Ok(Dropped::NothingThere);
        }
        if markers
            .iter()
            .any(|m| m.as_deref() != Some(names.marker.as_str()))
        {
            return Ok(Dropped::NotOurs);
        }
        let mut conn = self.pool.acquire().await.map_err(database(&self.server))?;
        for sql in render(&mut conn, plan).await.map_err(database(&self.server))? {
            execute(&mut conn, sql).await.map_err(database(&self.server))?;
        }
        Ok(Dropped::Dropped)
    }

    /// Host and port the tenant's API should connect to: the admin's.
    pub fn host_port(&self) -> (String, u16) {
        (self.options.get_host().to_owned(), self.options.get_port())
    }

    /// Where and how the tenant's API should connect: as the admin does.
    pub fn endpoint(&self) -> Endpoint {
        let (host, port) = self.host_port();
        Endpoint {
            host,
            port,
            tls: self.tls.clone(),
        }
    }
}

/// The SQL of `statements`, quoted by the server (see `sql_plan`), in order.
async fn render(conn: &mut PgConnection, statements: &[Statement]) -> sqlx::Result<Vec<String>> {
    let templates: Vec<&str> = statements.iter().map(|s| s.template).collect();
    let args: Vec<String> = statements.iter().map(Statement::args_json).collect();
    sqlx::query_scalar(RENDER_QUERY)
        .bind(templates)
        .bind(args)
        .fetch_all(conn)
        .await
}

/// Runs SQL the server rendered (`render`): nothing in it came from us unquoted.
async fn execute(conn: &mut PgConnection, sql: String) -> sqlx::Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_urls_sslmode_wins_and_a_ca_means_verify_full() {
        let ca = Some("-----BEGIN CERTIFICATE-----".to_owned());
        let tls = |url: &str, ca: Option<String>| DatabaseTls::of(url, ca).mode;
        assert_eq!(tls("postgres://a@db/postgres", None), "prefer");
        assert_eq!(tls("postgres://a@db/postgres", ca.clone()), "verify-full");
        assert_eq!(
            tls("postgres://a@db/postgres?sslmode=require", ca.clone()),
            "require"
        );
        assert_eq!(
            tls(
                "postgres://a@db/postgres?application_name=x&sslmode=disable",
                None
            ),
            "disable"
        );
    }
}
