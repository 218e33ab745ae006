//! What every API benchmark starts from, shared by `api-load` and
//! `analytics-load` (each includes this file with `#[path]`): a tenant
//! database made as the operator makes one (its SQL plans, migrations and
//! grants) on a throwaway server, one store with its API keys, and the
//! release `shopfleet-api` serving it as the tenant's runtime role.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use shopfleet_api::ids::StoreId;
use shopfleet_e2e::operator::http_get;
use shopfleet_e2e::process::{ManagedProcess, free_port};
use shopfleet_operator::postgres::Admin;
use shopfleet_operator::store::build::ApiKeys;
use shopfleet_operator::store::database::activate_keys;
use shopfleet_operator::tenant::database::{DatabaseNames, grants_plan, server_plan};
use shopfleet_operator::tenant::jwt::KeySet;
use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// How to log in as the tenant's runtime role, the API's (and pgbench's) user.
pub struct RuntimeRole {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: String,
}

impl RuntimeRole {
    pub fn url(&self) -> String {
        let Self {
            host,
            port,
            database,
            user,
            password,
        } = self;
        format!("postgres://{user}:{password}@{host}:{port}/{database}")
    }
}

/// A tenant database, migrated and granted as the operator does it.
pub struct Tenant {
    /// The server's superuser, as the operator's admin connection.
    pub admin: Admin,
    pub names: DatabaseNames,
    pub runtime: RuntimeRole,
}

impl Tenant {
    /// Makes a tenant database on the server at `admin_url` (its superuser).
    pub async fn create(admin_url: &str) -> Result<Self> {
        let options: PgConnectOptions = admin_url.parse().context("the server's admin URL")?;
        let admin = Admin {
            server: "default".to_owned(),
            pool: PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .context("connecting to PostgreSQL as its superuser")?,
            options,
            tls: Default::default(),
        };
        let names = DatabaseNames::for_tenant_uid(&uuid::Uuid::new_v4().to_string());
        let password = shopfleet_operator::random_password();
        admin.apply_server_plan(&server_plan(&names, &password)).await?;
        let mut owner = admin.connect_as_owner(&names).await?;
        admin.migrate(&mut owner, &grants_plan(&names)).await?;
        let (host, port) = admin.host_port();
        let runtime = RuntimeRole {
            host,
            port,
            database: names.database.clone(),
            user: names.runtime_role.clone(),
            password,
        };
        Ok(Self {
            admin,
            names,
            runtime,
        })
    }
}

/// Adds the store `bench` (Europe/Berlin, priced in `currency`) of
/// `industry`, with its API keys, as `owner` (the tenant's owner role or
/// the superuser).
pub async fn add_store(
    owner: &mut PgConnection,
    currency: &str,
    industry: &str,
) -> Result<(StoreId, ApiKeys)> {
    let id = StoreId::generate();
    sqlx::query(
        "INSERT INTO stores (id, k8s_uid, name, display_name, industry, currency, timezone) \
         VALUES ($1, gen_random_uuid(), 'bench', 'Bench shop', $3, $2, 'Europe/Berlin')",
    )
    .bind(id)
    .bind(currency)
    .bind(industry)
    .execute(&mut *owner)
    .await
    .context("adding the store")?;
    let keys = ApiKeys::generate();
    activate_keys(owner, &id.to_string(), &keys)
        .await
        .context("recording the store's API keys")?;
    Ok((id, keys))
}

/// Requests per second far above what this machine can serve.
const UNREACHED_RATE: u32 = 10_000_000;

/// Starts the `shopfleet-api` built beside this binary, serving the tenant
/// database at `database_url` (as its runtime role), logging to `dir`, and
/// waits until it is ready: its port and process.
pub fn start_api(dir: &Path, database_url: &str) -> Result<(u16, ManagedProcess)> {
    let binary = std::env::current_exe()?.with_file_name("shopfleet-api");
    if !binary.is_file() {
        bail!(
            "{} is missing: `cargo build --release -p shopfleet-api` builds it (`make bench-api` does)",
            binary.display()
        );
    }
    let keys = dir.join("jwt-keys.json");
    std::fs::write(&keys, serde_json::to_vec(&KeySet::new(jiff::Timestamp::now()))?)?;
    let port = free_port()?;
    let mut command = Command::new(&binary);
    command
        .env("DATABASE_URL", database_url)
        .env("SHOPFLEET_TENANT", "bench")
        .env("SHOPFLEET_JWT_KEYS", &keys)
        .env("SHOPFLEET_LISTEN", format!("127.0.0.1:{port}"))
        .env(shopfleet_contract::METRICS_LISTEN, "127.0.0.1:0")
        // The rate limits are checked on every request, as in a Pod, at
        // rates no run reaches: what is measured is what checking costs.
        .env(shopfleet_contract::RATE_LIMIT, UNREACHED_RATE.to_string())
        .env(shopfleet_contract::CLIENT_RATE_LIMIT, UNREACHED_RATE.to_string())
        // The fan-out benchmark opens a thousand streams of one store.
        .env(shopfleet_contract::STREAMS_PER_STORE, "5000")
        .env(shopfleet_contract::STREAMS_PER_REPLICA, "5000")
        .env("RUST_LOG", "warn");
    let mut process = ManagedProcess::spawn("shopfleet-api", command, &dir.join("api.log"))?;
    process.wait_ready(Duration::from_secs(30), || {
        http_get(port, "/readyz").is_ok_and(|(status, _)| status == 200)
    })?;
    Ok((port, process))
}
