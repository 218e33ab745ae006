//! The operator as a process under stress: two replicas share the work
//! through a Lease, a SIGKILL at any point leaves nothing a restart cannot
//! finish, and a PostgreSQL outage is reported honestly and recovered from.
//!
//! Each test runs operators of its own on a shard of Tenants (a label the
//! shared operator of other tests ignores), with a Lease of its own.

mod support;

use std::str::FromStr;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use shopfleet_e2e::postgres::Postgres;
use shopfleet_operator::crd::{Store, StoreSpec, Tenant, TenantPhase, TenantStatus, is_true};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use support::{
    Operator, SHARD_LABEL, WAIT, client, create_ready_tenant, database_url, delete_tenants, eventually,
    eventually_every, http_get, install_crds, metric, secret_value, sharded_tenant, start_operator,
};

/// A shard of its own: the operator arguments that give it its Tenants and Lease.
struct Shard {
    name: String,
    lease: String,
}

impl Shard {
    fn new(test: &str) -> Self {
        let name = format!("{test}-{}", shopfleet_e2e::random_token(6).to_lowercase());
        Self {
            lease: format!("e2e-{name}"),
            name,
        }
    }

    fn operator(&self, identity: &str, extra: &[&str]) -> Operator {
        let selector = format!("{SHARD_LABEL}={}", self.name);
        let mut args = vec![
            "--lease-name",
            &self.lease,
            "--identity",
            identity,
            "--tenant-selector",
            &selector,
        ];
        args.extend_from_slice(extra);
        start_operator(&format!("{}-{identity}", self.name), &args)
    }
}

async fn lease_holder(client: &Client, lease: &str) -> Option<String> {
    let leases = Api::<Lease>::namespaced(client.clone(), "shopfleet-system");
    leases.get_opt(lease).await.ok()??.spec?.holder_identity
}

async fn leader_gauge(operator: &Operator) -> Option<f64> {
    let (status, body) = http_get(operator.port, "/metrics")?;
    (status == 200).then(|| metric(&body, "shopfleet_operator_leader"))?
}

#[tokio::test]
async fn two_replicas_elect_one_leader_and_the_standby_takes_over_when_it_dies() {
    let client = client().await;
    install_crds(&client).await;
    let shard = Shard::new("leader");
    let mut replicas = [shard.operator("replica-a", &[]), shard.operator("replica-b", &[])];

    let holder = eventually("one replica holds the Lease", WAIT, || async {
        lease_holder(&client, &shard.lease).await
    })
    .await;
    let leader = if holder == "replica-a" { 0 } else { 1 };
    let standby = 1 - leader;
    eventually("the replicas' metrics agree on who leads", WAIT, || async {
        let gauges = (
            leader_gauge(&replicas[leader]).await?,
            leader_gauge(&replicas[standby]).await?,
        );
        (gauges == (1.0, 0.0)).then_some(())
    })
    .await;
    let (ready, _) = http_get(replicas[standby].port, "/readyz").unwrap();
    assert_eq!(ready, 200, "a healthy standby is ready: it can take over");

    let first = sharded_tenant(&shard.name);
    create_ready_tenant(&client, first.clone()).await;
    let (_, standby_metrics) = http_get(replicas[standby].port, "/metrics").unwrap();
    let standby_reconciles = metric(
        &standby_metrics,
        r#"shopfleet_operator_reconciles_total{controller="tenant",result="success"}"#,
    );
    assert_eq!(
        standby_reconciles.unwrap_or(0.0),
        0.0,
        "the standby reconciles nothing"
    );

    replicas[leader].process.kill();
    let standby_identity = if standby == 0 { "replica-a" } else { "replica-b" };
    eventually("the standby takes the Lease", Duration::from_secs(60), || async {
        (lease_holder(&client, &shard.lease).await? == standby_identity).then_some(())
    })
    .await;
    let second = sharded_tenant(&shard.name);
    create_ready_tenant(&client, second.clone()).await;
    delete_tenants(&client, &[first.name_any(), second.name_any()]).await;
}

/// Databases and roles on the shared server that carry a Tenant's marker.
async fn marked_objects(uid: &str) -> (i64, i64) {
    let mut admin = PgConnection::connect(&database_url()).await.unwrap();
    let marker = format!("shopfleet:tenant:{uid}");
    sqlx::query_as(
        "select (select count(*) from pg_database where shobj_description(oid, 'pg_database') = $1),
                (select count(*) from pg_roles where shobj_description(oid, 'pg_authid') = $1)",
    )
    .bind(&marker)
    .fetch_one(&mut admin)
    .await
    .unwrap()
}

fn store(name: &str) -> Store {
    Store::new(
        name,
        StoreSpec {
            display_name: format!("Shop {name}"),
            industry: shopfleet_operator::crd::Industry::Events,
            currency: "GBP".to_owned(),
            timezone: "Europe/London".to_owned(),
        },
    )
}

#[tokio::test]
async fn an_operator_killed_mid_reconcile_converges_with_no_duplicates_or_orphans() {
    let client = client().await;
    install_crds(&client).await;
    let shard = Shard::new("sigkill");
    let mut operator = shard.operator("only", &[]);
    let tenants = Api::<Tenant>::all(client.clone());
    let created: Vec<Tenant> = (0..3).map(|_| sharded_tenant(&shard.name)).collect();
    for tenant in &created {
        tenants.create(&PostParams::default(), tenant).await.unwrap();
    }
    let names: Vec<String> = created.iter().map(ResourceExt::name_any).collect();

    // Kill it while it provisions a Tenant: after the database Secret, before
    // the status. The pipeline writes `<tenant>-db` first and the status last;
    // in between it creates the roles and the database and runs every
    // migration, hundreds of milliseconds that a poll every 20 ms sees.
    let provisioning = eventually_every(
        "a Tenant has its database Secret but no status yet",
        WAIT,
        Duration::from_millis(20),
        || async {
            for name in &names {
                let secrets = Api::<Secret>::namespaced(client.clone(), &format!("tenant-{name}"));
                let has_secret = secrets.get_opt(&format!("{name}-db")).await.ok()?.is_some();
                // Read after the Secret: absent now means absent while the Secret existed.
                if has_secret && tenants.get(name).await.ok()?.status.is_none() {
                    return Some(name.clone());
                }
            }
            None
        },
    )
    .await;
    operator.process.kill();
    assert_eq!(
        tenants.get(&provisioning).await.unwrap().status,
        None,
        "Tenant {provisioning} has a status: the operator finished its reconcile before it was killed"
    );

    // Kill it while it provisions Stores: inside the transaction that admits a
    // Store into its tenant's database. Those take well under a second, too
    // short to catch between two polls, so the test holds them there: it locks
    // each tenant's `stores` table against writes (the operator is its only
    // writer) until the operator is seen waiting for the lock.
    operator = shard.operator("only", &[]);
    let mut store_locks = Vec::new();
    for name in &names {
        let status = tenant_ready(&tenants, name).await;
        let database = status.database.unwrap().name;
        let options = PgConnectOptions::from_str(&database_url())
            .unwrap()
            .database(&database);
        // One connection holds the lock, the other looks at who waits for it.
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap();
        let mut lock = pool.begin().await.unwrap();
        sqlx::query("LOCK TABLE stores IN SHARE MODE")
            .execute(&mut *lock)
            .await
            .unwrap();
        let stores = Api::<Store>::namespaced(client.clone(), &format!("tenant-{name}"));
        for shop in ["north", "south"] {
            stores.create(&PostParams::default(), &store(shop)).await.unwrap();
        }
        store_locks.push((name, pool, lock));
    }
    for (name, pool, _) in &store_locks {
        eventually(
            &format!("the operator waits to write a store row of {name}"),
            WAIT,
            || async {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_locks
                     WHERE relation = 'stores'::regclass AND NOT granted
                       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                )
                .fetch_one(pool)
                .await
                .unwrap();
                (waiting > 0).then_some(())
            },
        )
        .await;
    }
    operator.process.kill();
    // The killed operator's transactions now finish or roll back on their own;
    // the next operator must not be disturbed by them.
    for (_, _, lock) in store_locks {
        lock.rollback().await.unwrap();
    }
    operator = shard.operator("only", &[]);

    let mut uids = Vec::new();
    let mut runtime_roles = Vec::new();
    for name in &names {
        let status = tenant_ready(&tenants, name).await;
        let database = status.database.unwrap();
        assert_eq!(database.schema_version, latest_schema_version());
        runtime_roles.push(database.runtime_role);
        let namespace = format!("tenant-{name}");
        let stores = Api::<Store>::namespaced(client.clone(), &namespace);
        let mut ids = Vec::new();
        for shop in ["north", "south"] {
            let id = eventually(&format!("Store {shop} of {name} is Ready"), WAIT, || async {
                let status = stores.get(shop).await.ok()?.status?;
                is_true(&status.conditions, "Ready").then_some(status.store_id?)
            })
            .await;
            ids.push(id);
        }
        let uid = tenants.get(name).await.unwrap().uid().unwrap();
        assert_eq!(
            marked_objects(&uid).await,
            (1, 2),
            "one database and two roles for {name}"
        );
        uids.push(uid);

        let url = secret_value(&client, &namespace, &format!("{name}-db"), "DATABASE_URL").await;
        let mut db = PgConnection::connect(&url)
            .await
            .expect("the runtime password in the Secret works");
        let rows: Vec<String> = sqlx::query_scalar("select id::text from stores order by name")
            .fetch_all(&mut db)
            .await
            .unwrap();
        assert_eq!(rows, ids, "exactly one row per Store, the one in its status");
        let keys: i64 = sqlx::query_scalar("select count(*) from store_api_keys where revoked_at is null")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(keys, 4, "two active keys per store, no more");
    }

    // Deletion survives a crash too, and leaves no database or role behind.
    // Kill it between dropping a tenant's database and dropping its roles:
    // the test holds a lock on each runtime role (a comment on it, in a
    // transaction it rolls back) so the operator's DROP ROLE waits there.
    let admin = PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url())
        .await
        .unwrap();
    let mut role_locks = admin.begin().await.unwrap();
    for (role, uid) in runtime_roles.iter().zip(&uids) {
        // Role names are the operator's safe identifiers; the comment is the
        // marker the role already carries, and it is rolled back anyway.
        let comment = format!("COMMENT ON ROLE {role} IS 'shopfleet:tenant:{uid}'");
        sqlx::raw_sql(AssertSqlSafe(comment))
            .execute(&mut *role_locks)
            .await
            .unwrap();
    }
    for name in &names {
        tenants.delete(name, &Default::default()).await.unwrap();
    }
    for (role, uid) in runtime_roles.iter().zip(&uids) {
        eventually(
            &format!("the operator dropped the database of tenant {uid} and waits to drop {role}"),
            WAIT,
            || async {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_locks
                     WHERE classid = 'pg_authid'::regclass AND NOT granted
                       AND objid = (SELECT oid FROM pg_roles WHERE rolname = $1)",
                )
                .bind(role)
                .fetch_one(&admin)
                .await
                .unwrap();
                (waiting > 0 && marked_objects(uid).await == (0, 2)).then_some(())
            },
        )
        .await;
    }
    operator.process.kill();
    role_locks.rollback().await.unwrap();
    let _operator = shard.operator("only", &[]);
    delete_tenants(&client, &names).await;
    for uid in uids {
        assert_eq!(
            marked_objects(&uid).await,
            (0, 0),
            "nothing of tenant {uid} is left"
        );
    }
}

/// Waits until Tenant `name` is Ready; its status.
async fn tenant_ready(tenants: &Api<Tenant>, name: &str) -> TenantStatus {
    eventually(&format!("Tenant {name} is Ready"), WAIT, || async {
        let status = tenants.get(name).await.ok()?.status?;
        is_true(&status.conditions, "Ready").then_some(status)
    })
    .await
}

fn latest_schema_version() -> Option<i64> {
    shopfleet_operator::postgres::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
}

#[tokio::test]
async fn a_postgresql_outage_is_reported_and_recovered_from() {
    let client = client().await;
    install_crds(&client).await;
    let shard = Shard::new("outage");
    let dir = tempfile::tempdir().unwrap();
    // Blocking calls are fine here: the operator runs in its own process.
    let mut spare = Postgres::start(dir.path()).expect("a second PostgreSQL server");
    let secret_name = format!("e2e-{}", shard.name);
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": secret_name},
        "stringData": {"DATABASE_URL": spare.url},
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), "shopfleet-system")
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let server = format!("spare=shopfleet-system/{secret_name}");
    let _operator = shard.operator("only", &["--postgres-server", &server]);

    let mut tenant = sharded_tenant(&shard.name);
    tenant.spec.database.server = "spare".to_owned();
    let name = tenant.name_any();
    create_ready_tenant(&client, tenant).await;

    spare.stop();
    // Anything that makes the operator look again; here, an annotation.
    let tenants = Api::<Tenant>::all(client.clone());
    let poke = serde_json::json!({"metadata": {"annotations": {"e2e.shopfleet.io/poke": "1"}}});
    tenants
        .patch(&name, &PatchParams::default(), &Patch::Merge(&poke))
        .await
        .unwrap();
    let status = eventually("DatabaseReady turns False", WAIT, || async {
        let status = tenants.get(&name).await.ok()?.status?;
        let database = status.conditions.iter().find(|c| c.type_ == "DatabaseReady")?;
        (database.reason == "DatabaseUnavailable").then_some(status)
    })
    .await;
    assert_eq!(status.phase, Some(TenantPhase::Degraded));
    assert!(!is_true(&status.conditions, "Ready"));

    spare.restart().expect("PostgreSQL restarts");
    eventually("the Tenant is Ready again", Duration::from_secs(120), || async {
        let status = tenants.get(&name).await.ok()?.status?;
        is_true(&status.conditions, "Ready").then_some(())
    })
    .await;
    delete_tenants(&client, &[name]).await;
}

/// A crash after the database was created but before the status named it
/// leaves a Tenant whose status knows no database. Deleting it (policy
/// Delete) still drops the database and its LOGIN role, found by the uid.
#[tokio::test]
async fn deletion_drops_a_database_the_status_never_named() {
    let client = client().await;
    install_crds(&client).await;
    let shard = Shard::new("unnamed-db");
    let tenants = Api::<Tenant>::all(client.clone());
    // As the operator leaves a Tenant when it dies right after creating the
    // database: its finalizer on, the database and roles made, no status.
    // No operator runs for this shard yet.
    let mut tenant = sharded_tenant(&shard.name);
    tenant.metadata.finalizers = Some(vec![shopfleet_operator::tenant::FINALIZER.to_owned()]);
    let tenant = tenants.create(&PostParams::default(), &tenant).await.unwrap();
    let (name, uid) = (tenant.name_any(), tenant.uid().unwrap());
    let names = shopfleet_operator::names::DatabaseNames::for_tenant_uid(&uid);
    let options = PgConnectOptions::from_str(&database_url()).unwrap();
    let admin = shopfleet_operator::postgres::Admin {
        server: "default".to_owned(),
        pool: PgPoolOptions::new().connect_with(options.clone()).await.unwrap(),
        options,
        tls: Default::default(),
    };
    let plan =
        shopfleet_operator::tenant::database::server_plan(&names, &shopfleet_operator::random_password());
    admin.apply_server_plan(&plan).await.unwrap();
    assert_eq!(
        marked_objects(&uid).await,
        (1, 2),
        "the database and both roles exist"
    );

    tenants.delete(&name, &Default::default()).await.unwrap();
    let _operator = shard.operator("a", &[]);
    eventually(&format!("Tenant {name} is gone"), WAIT, || async {
        tenants.get_opt(&name).await.unwrap().is_none().then_some(())
    })
    .await;
    assert_eq!(
        marked_objects(&uid).await,
        (0, 0),
        "nothing of the tenant is left"
    );
}
