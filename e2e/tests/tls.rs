//! TLS to PostgreSQL: a server configured with a CA (key `ca.crt` of its
//! admin Secret) is reached with `sslmode=verify-full` by the operator and by
//! the tenant's API, which gets the CA in its `<tenant>-db` Secret. The
//! server here has a certificate from its own CA and refuses connections
//! without TLS, so an API that is ready is an API that verified it.

mod support;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use shopfleet_e2e::pki::Pki;
use shopfleet_e2e::postgres::Postgres;
use sqlx::{Connection, PgConnection};
use support::{
    ServedTenant, client, create_ready_tenant, delete_tenants, install_crds, namespace, secret_value,
    sharded_tenant,
};

#[tokio::test]
async fn a_tenant_on_a_server_with_a_ca_connects_with_verify_full() {
    let client = client().await;
    install_crds(&client).await;
    let home = namespace(&client, "tls").await;
    let pki = Pki::generate().unwrap();
    let certificate = pki.local_server("postgres").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let postgres = Postgres::start_with_tls(&dir.path().join("postgres"), &certificate).unwrap();

    let admin: Secret = serde_json::from_value(json!({
        "metadata": {"name": "postgres-admin"},
        "stringData": {"DATABASE_URL": postgres.url, "ca.crt": pki.ca.cert_pem},
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), &home)
        .create(&PostParams::default(), &admin)
        .await
        .unwrap();
    let server = format!("tls={home}/postgres-admin");
    let _operator = support::start_shard_operator(&home, &["--postgres-server", &server], &[]);

    let mut tenant = sharded_tenant(&home);
    tenant.spec.database.server = "tls".to_owned();
    let name = tenant.metadata.name.clone().unwrap();
    let status = create_ready_tenant(&client, tenant).await;
    let namespace = status.namespace.unwrap();
    let db_secret = format!("{name}-db");
    let url = secret_value(&client, &namespace, &db_secret, "DATABASE_URL").await;
    assert!(url.ends_with("?sslmode=verify-full"), "{url}");
    assert_eq!(
        secret_value(&client, &namespace, &db_secret, "ca.crt").await,
        pki.ca.cert_pem
    );

    // The API, run as the Deployment says (the CA mounted), connects.
    let launch = shopfleet_e2e::tenant_api::ApiLaunch::from_deployment(
        || std::process::Command::new("kubectl"),
        &namespace,
        &format!("{name}-api"),
        &dir.path().join("api"),
    )
    .unwrap();
    let api = ServedTenant::start_api(&launch);
    let (status, _) = support::http_get(api.port, "/readyz").expect("the API answers");
    assert_eq!(status, 200, "ready: it reached its database over verified TLS");

    // Every connection of the tenant's role is encrypted.
    let mut admin = PgConnection::connect_with(
        &postgres
            .url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .unwrap()
            .ssl_root_cert_from_pem(pki.ca.cert_pem.clone().into_bytes())
            .ssl_mode(sqlx::postgres::PgSslMode::VerifyFull),
    )
    .await
    .unwrap();
    let role = status_role(&client, &name).await;
    let unencrypted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.usename = $1 AND NOT s.ssl",
    )
    .bind(&role)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(unencrypted, 0);
    drop(api);
    delete_tenants(&client, &[name]).await;
}

/// The runtime role of Tenant `name`, from its status.
async fn status_role(client: &kube::Client, name: &str) -> String {
    let tenant = Api::<shopfleet_operator::crd::Tenant>::all(client.clone())
        .get(name)
        .await
        .unwrap();
    tenant.status.unwrap().database.unwrap().runtime_role
}
