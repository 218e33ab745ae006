//! The operator as a process under stress: two replicas share the work
//! through a Lease, a SIGKILL at any point leaves nothing a restart cannot
//! finish, and a PostgreSQL outage is reported honestly and recovered from.
//!
//! Each test runs operators of its own on a shard of Tenants (a label the
//! shared operator of other tests ignores), with a Lease of its own.

mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use shopfleet_e2e::postgres::Postgres;
use shopfleet_operator::crd::{Store, StoreSpec, Tenant, TenantPhase, is_true};
use sqlx::{Connection, PgConnection};
use support::{
    Operator, SHARD_LABEL, WAIT, client, create_ready_tenant, database_url, delete_tenants, eventually,
    http_get, install_crds, metric, secret_value, sharded_tenant, start_operator,
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

    // Kill it while it provisions: once the first namespace exists, the
    // databases are being created.
    let namespace_of = |name: String| {
        let tenants = tenants.clone();
        async move { tenants.get(&name).await.ok()?.status?.namespace }
    };
    eventually("the first tenant namespace exists", WAIT, || {
        namespace_of(names[0].clone())
    })
    .await;
    operator.process.kill();

    // Again while Stores are being provisioned.
    operator = shard.operator("only", &[]);
    for name in &names {
        let namespace = eventually(&format!("Tenant {name} has its namespace"), WAIT, || {
            namespace_of(name.clone())
        })
        .await;
        let stores = Api::<Store>::namespaced(client.clone(), &namespace);
        for shop in ["north", "south"] {
            stores.create(&PostParams::default(), &store(shop)).await.unwrap();
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    operator.process.kill();
    operator = shard.operator("only", &[]);

    let mut uids = Vec::new();
    for name in &names {
        let status = eventually(
            &format!("Tenant {name} is Ready after the crashes"),
            WAIT,
            || async {
                let status = tenants.get(name).await.ok()?.status?;
                is_true(&status.conditions, "Ready").then_some(status)
            },
        )
        .await;
        assert_eq!(
            status.database.as_ref().unwrap().schema_version,
            latest_schema_version()
        );
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
    for name in &names {
        tenants.delete(name, &Default::default()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    operator.process.kill();
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
