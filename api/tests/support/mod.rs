//! A tenant database on the real PostgreSQL of the test platform, made the
//! way the operator makes one (its own SQL plans), so the API under test
//! connects as the runtime role: RLS binds it as in production.

#![allow(dead_code)] // each test binary uses its own subset

use shopfleet_operator::postgres::Admin;
use shopfleet_operator::tenant::database::{DatabaseNames, grants_plan, server_plan};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The platform's superuser URL. Panics, saying what is missing, when unset.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set, so there is no PostgreSQL to test against: use `make test`, or \
             `cargo run -p shopfleet-e2e --bin shopfleet-local -- exec -- cargo test -p shopfleet-api`"
        )
    })
}

pub async fn admin() -> Admin {
    let options: PgConnectOptions = admin_url().parse().unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone())
        .await
        .unwrap();
    Admin {
        server: "default".to_owned(),
        pool,
        options,
    }
}

/// A fresh tenant database (roles and database only, not migrated), and its
/// runtime role's URL.
pub async fn empty_tenant_database(admin: &Admin) -> (DatabaseNames, String) {
    let names = DatabaseNames::for_tenant_uid(&uuid::Uuid::new_v4().to_string());
    let password = shopfleet_operator::random_password();
    admin
        .apply_server_plan(&server_plan(&names, &password))
        .await
        .unwrap();
    let (host, port) = admin.host_port();
    let url = format!(
        "postgres://{}:{password}@{host}:{port}/{}",
        names.runtime_role, names.database
    );
    (names, url)
}

/// A migrated tenant database, as the operator leaves it: the runtime role's URL.
pub async fn tenant_database() -> String {
    let admin = admin().await;
    let (names, url) = empty_tenant_database(&admin).await;
    admin.migrate(&names, &grants_plan(&names)).await.unwrap();
    url
}
