//! Proves the local platform is the real thing: the apiserver serves our CRDs
//! and enforces their rules, kwok runs the Pods of a Deployment, the
//! controller-manager collects garbage, and PostgreSQL takes the tenant schema.

mod support;

use std::str::FromStr;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;
use shopfleet_operator::crd::{Industry, Store, StoreSpec};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use support::{client, database_url, eventually, install_crds, namespace};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn crds_become_established_and_the_apiserver_enforces_their_rules() {
    let client = client().await;
    let mut names = install_crds(&client).await;
    names.sort();
    assert_eq!(names, ["stores.shopfleet.io", "tenants.shopfleet.io"]);

    let ns = namespace(&client, "crds").await;
    let stores = Api::<Store>::namespaced(client.clone(), &ns);
    let spec = StoreSpec {
        display_name: "Corner shop".to_owned(),
        industry: Industry::Retail,
        currency: "eur".to_owned(),
        timezone: "Europe/Paris".to_owned(),
    };
    let error = stores
        .create(&PostParams::default(), &Store::new("corner", spec.clone()))
        .await
        .expect_err("a lower-case currency must be rejected");
    assert!(
        error.to_string().contains("spec.currency"),
        "error names the field: {error}"
    );

    let created = stores
        .create(
            &PostParams::default(),
            &Store::new(
                "corner",
                StoreSpec {
                    currency: "EUR".to_owned(),
                    ..spec
                },
            ),
        )
        .await
        .expect("a valid Store is accepted");
    assert_eq!(created.spec.timezone, "Europe/Paris");
    let change = json!({"spec": {"currency": "USD"}});
    let error = stores
        .patch("corner", &PatchParams::default(), &Patch::Merge(&change))
        .await
        .expect_err("the currency is immutable");
    assert!(
        error.to_string().contains("spec.currency is immutable"),
        "{error}"
    );
}

#[tokio::test]
async fn a_deployment_gets_a_running_ready_pod_on_the_simulated_node() {
    let client = client().await;
    let ns = namespace(&client, "deploy").await;
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                // kwok never pulls images: the name only has to be valid.
                "spec": {"containers": [{"name": "web", "image": "example.invalid/web:1"}]}
            }
        }
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();

    let pods = Api::<Pod>::namespaced(client.clone(), &ns);
    let pod = eventually("the Deployment's Pod is Running and Ready", WAIT, || async {
        let list = pods.list(&ListParams::default().labels("app=web")).await.ok()?;
        list.items.into_iter().find(|pod| {
            let status = pod.status.as_ref();
            let running = status.and_then(|s| s.phase.as_deref()) == Some("Running");
            let ready = status
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            running && ready
        })
    })
    .await;
    assert_eq!(
        pod.spec.and_then(|s| s.node_name).as_deref(),
        Some(shopfleet_e2e::control_plane::NODE_NAME),
        "the scheduler placed the Pod on the kwok node"
    );

    let deployments = Api::<Deployment>::namespaced(client.clone(), &ns);
    eventually("the Deployment reports 1 available replica", WAIT, || async {
        let d = deployments.get("web").await.ok()?;
        (d.status?.available_replicas == Some(1)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn deleting_an_owner_garbage_collects_its_dependent() {
    let client = client().await;
    let ns = namespace(&client, "gc").await;
    let config_maps = Api::<ConfigMap>::namespaced(client.clone(), &ns);
    let named = |name: &str| ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    let owner = config_maps
        .create(&PostParams::default(), &named("owner"))
        .await
        .unwrap();
    let mut dependent = named("dependent");
    dependent.metadata.owner_references = Some(vec![owner.controller_owner_ref(&()).unwrap()]);
    let dependent = config_maps
        .create(&PostParams::default(), &dependent)
        .await
        .unwrap();

    config_maps
        .delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(
            config_maps.clone(),
            "dependent",
            conditions::is_deleted(&dependent.uid().unwrap()),
        ),
    )
    .await
    .expect("the garbage collector deletes the dependent of a deleted owner")
    .unwrap();
}

#[tokio::test]
async fn postgres_accepts_connections_and_the_tenant_schema() {
    let url = database_url();
    let mut admin = PgConnection::connect(&url)
        .await
        .expect("connecting to PostgreSQL");
    let version: i32 = sqlx::query_scalar("select current_setting('server_version_num')::int")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(version >= 150000, "PostgreSQL 15 or newer, got {version}");

    // A throwaway database takes every migration in migrations/.
    let db = format!("e2e_schema_{}", shopfleet_e2e::random_token(8).to_lowercase());
    // `db` is our own random identifier, not input.
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let options = PgConnectOptions::from_str(&url).unwrap().database(&db);
    let mut tenant_db = PgConnection::connect_with(&options).await.unwrap();
    let migrator = sqlx::migrate!("../migrations");
    migrator.run(&mut tenant_db).await.expect("the migrations apply");
    let stores: i64 = sqlx::query_scalar("select count(*) from stores")
        .fetch_one(&mut tenant_db)
        .await
        .expect("the stores table exists");
    assert_eq!(stores, 0);
    tenant_db.close().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("drop database {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
}
