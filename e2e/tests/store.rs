//! The operator turns a Store into a row of its tenant's database and a Secret
//! with its API keys (only their hashes in the database), enforces the plan's
//! store limit, reports what it cannot do as conditions, and archives the
//! store when it is deleted. Real apiserver, real PostgreSQL.

mod support;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};
use sha2::{Digest, Sha256};
use shopfleet_operator::crd::{DeletionPolicy, Store, StorePhase, is_true};
use sqlx::{Connection, PgConnection};
use support::{
    WAIT, client, create_store, eventually, ready_condition, ready_tenant, secret_value, shared_operator,
    store_reaching,
};

/// A connection to the tenant's database as the API's runtime role.
async fn tenant_database(client: &Client, tenant: &str) -> PgConnection {
    let url = secret_value(
        client,
        &format!("tenant-{tenant}"),
        &format!("{tenant}-db"),
        "DATABASE_URL",
    )
    .await;
    PgConnection::connect(&url)
        .await
        .expect("the runtime role logs in")
}

fn sha256(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Whether the key with this hash is active, revoked, or unknown (None).
async fn key_active(db: &mut PgConnection, key: &str) -> Option<bool> {
    sqlx::query_scalar("select revoked_at is null from store_api_keys where key_sha256 = $1")
        .bind(sha256(key))
        .fetch_optional(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_store_gets_a_row_and_api_keys_of_which_only_hashes_are_stored() {
    shared_operator().await;
    let client = client().await;
    let (tenant, _) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let namespace = format!("tenant-{tenant}");
    create_store(&client, &namespace, "paris", "Europe/Paris").await;
    let status = store_reaching(&client, &namespace, "paris", "Ready").await;
    assert_eq!(status.phase, Some(StorePhase::Ready));
    let store_id = status.store_id.expect("status.storeId");
    assert_eq!(status.api_key_secret.as_deref(), Some("paris-api-key"));

    let key = |k: &'static str| secret_value(&client, &namespace, "paris-api-key", k);
    assert_eq!(key("storeId").await, store_id);
    let (secret_key, publishable_key) = (key("secretKey").await, key("publishableKey").await);
    assert!(secret_key.starts_with("sf_sk_") && publishable_key.starts_with("sf_pk_"));

    let mut db = tenant_database(&client, &tenant).await;
    let row: (String, String, String, String) = sqlx::query_as(
        "select name, currency::text, timezone, industry from stores where id = $1::uuid and archived_at is null",
    )
    .bind(&store_id)
    .fetch_one(&mut db)
    .await
    .expect("the store's row");
    assert_eq!(
        row,
        (
            "paris".into(),
            "EUR".into(),
            "Europe/Paris".into(),
            "retail".into()
        )
    );
    assert_eq!(key_active(&mut db, &secret_key).await, Some(true));
    assert_eq!(key_active(&mut db, &publishable_key).await, Some(true));
    let plain: bool =
        sqlx::query_scalar("select exists (select from store_api_keys where key_sha256 = $1::bytea)")
            .bind(secret_key.as_bytes())
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert!(!plain, "the key itself is never stored");

    // The API reads stores and keys; only the operator writes them.
    let write = sqlx::query("update stores set display_name = 'hijacked'")
        .execute(&mut db)
        .await;
    assert!(write.unwrap_err().to_string().contains("permission denied"));

    // A changed display name reaches the row.
    let stores = Api::<Store>::namespaced(client.clone(), &namespace);
    let patch = serde_json::json!({"spec": {"displayName": "Acme Paris Opéra"}});
    stores
        .patch("paris", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    eventually("the new display name is in the database", WAIT, || async {
        let name: String = sqlx::query_scalar("select display_name from stores where id = $1::uuid")
            .bind(&store_id)
            .fetch_one(&mut tenant_database(&client, &tenant).await)
            .await
            .ok()?;
        (name == "Acme Paris Opéra").then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_deleted_key_secret_gets_new_keys_and_the_old_ones_are_revoked() {
    shared_operator().await;
    let client = client().await;
    let (tenant, _) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let namespace = format!("tenant-{tenant}");
    create_store(&client, &namespace, "lyon", "Europe/Paris").await;
    store_reaching(&client, &namespace, "lyon", "Ready").await;
    let old_key = secret_value(&client, &namespace, "lyon-api-key", "secretKey").await;

    let secrets = Api::<Secret>::namespaced(client.clone(), &namespace);
    secrets
        .delete("lyon-api-key", &DeleteParams::default())
        .await
        .unwrap();
    new_key_replaces(&client, &tenant, "lyon", &[&old_key]).await;
}

/// Waits until store `store`'s key Secret holds a secret key other than
/// `replaced`, active in the database, with `replaced[0]` revoked; returns it.
async fn new_key_replaces(client: &Client, tenant: &str, store: &str, replaced: &[&str]) -> String {
    let secrets = Api::<Secret>::namespaced(client.clone(), &format!("tenant-{tenant}"));
    let name = format!("{store}-api-key");
    let new_key = eventually("a new key Secret is written", WAIT, || async {
        let secret = secrets.get_opt(&name).await.ok()??;
        let key = String::from_utf8(secret.data?.get("secretKey")?.0.clone()).ok()?;
        (!replaced.contains(&key.as_str())).then_some(key)
    })
    .await;
    eventually("the new key is active and the old one revoked", WAIT, || async {
        let mut db = tenant_database(client, tenant).await;
        let states = (
            key_active(&mut db, &new_key).await,
            key_active(&mut db, replaced[0]).await,
        );
        (states == (Some(true), Some(false))).then_some(())
    })
    .await;
    new_key
}

/// Well-formed keys planted in a store's key Secret are replaced by new
/// ones and never become active: only keys the database already holds as
/// the store's active keys are kept.
#[tokio::test]
async fn keys_planted_in_the_key_secret_are_replaced_and_never_activated() {
    shared_operator().await;
    let client = client().await;
    let (tenant, _) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let namespace = format!("tenant-{tenant}");
    create_store(&client, &namespace, "nice", "Europe/Paris").await;
    store_reaching(&client, &namespace, "nice", "Ready").await;
    let old_key = secret_value(&client, &namespace, "nice-api-key", "secretKey").await;

    let planted = shopfleet_operator::store::build::ApiKeys::generate();
    let secrets = Api::<Secret>::namespaced(client.clone(), &namespace);
    let patch = serde_json::json!({"stringData": {"secretKey": planted.secret, "publishableKey": planted.publishable}});
    secrets
        .patch("nice-api-key", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    new_key_replaces(&client, &tenant, "nice", &[&old_key, &planted.secret]).await;
    let mut db = tenant_database(&client, &tenant).await;
    assert_eq!(key_active(&mut db, &planted.secret).await, None, "never recorded");
    assert_eq!(
        key_active(&mut db, &planted.publishable).await,
        None,
        "never recorded"
    );
}

/// A key Secret that exists before its Store, made by someone else, is
/// refused: its keys are never recorded and the Secret is never written.
#[tokio::test]
async fn a_key_secret_made_before_its_store_is_refused_and_never_used() {
    shared_operator().await;
    let client = client().await;
    let (tenant, _) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let namespace = format!("tenant-{tenant}");
    let planted = shopfleet_operator::store::build::ApiKeys::generate();
    let secrets = Api::<Secret>::namespaced(client.clone(), &namespace);
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "early-api-key"},
        "stringData": {"secretKey": planted.secret, "publishableKey": planted.publishable},
    }))
    .unwrap();
    let secret = secrets.create(&Default::default(), &secret).await.unwrap();
    create_store(&client, &namespace, "early", "UTC").await;
    let status = store_reaching(&client, &namespace, "early", "Conflict").await;
    let message = &ready_condition(&status).unwrap().message;
    assert!(
        message.contains(&format!("Secret {namespace}/early-api-key exists")),
        "{message}"
    );
    let after = secrets.get("early-api-key").await.unwrap();
    assert_eq!(
        after.metadata.resource_version, secret.metadata.resource_version,
        "not written"
    );
    let mut db = tenant_database(&client, &tenant).await;
    assert_eq!(key_active(&mut db, &planted.secret).await, None, "never recorded");
}

#[tokio::test]
async fn the_plan_limits_stores_and_an_extra_store_gets_nothing() {
    shared_operator().await;
    let client = client().await;
    let (tenant, _) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let namespace = format!("tenant-{tenant}");
    // The starter plan allows 3 stores.
    for name in ["one", "two", "three"] {
        create_store(&client, &namespace, name, "UTC").await;
        store_reaching(&client, &namespace, name, "Ready").await;
    }
    create_store(&client, &namespace, "four", "UTC").await;
    let status = store_reaching(&client, &namespace, "four", "QuotaExceeded").await;
    assert_eq!(status.phase, Some(StorePhase::Failed));
    assert!(
        ready_condition(&status)
            .unwrap()
            .message
            .contains("allows 3 stores, and they are all in use")
    );
    assert_eq!(status.store_id, None);
    let secrets = Api::<Secret>::namespaced(client.clone(), &namespace);
    assert!(secrets.get_opt("four-api-key").await.unwrap().is_none());
    let mut db = tenant_database(&client, &tenant).await;
    let rows: i64 = sqlx::query_scalar("select count(*) from stores where name = 'four'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(rows, 0, "nothing is created for a store over the limit");

    // Deleting one makes room: the extra store is admitted, and the deleted
    // one is archived with its keys revoked.
    let one_key = secret_value(&client, &namespace, "one-api-key", "secretKey").await;
    let stores = Api::<Store>::namespaced(client.clone(), &namespace);
    stores.delete("one", &DeleteParams::default()).await.unwrap();
    store_reaching(&client, &namespace, "four", "Ready").await;
    eventually("Store one is gone", WAIT, || async {
        stores.get_opt("one").await.unwrap().is_none().then_some(())
    })
    .await;
    let archived: bool = sqlx::query_scalar("select archived_at is not null from stores where name = 'one'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(archived, "a deleted store is archived, not erased");
    assert_eq!(key_active(&mut db, &one_key).await, Some(false));
}

#[tokio::test]
async fn what_only_the_operator_can_judge_becomes_a_condition() {
    shared_operator().await;
    let client = client().await;
    let (tenant, _) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let namespace = format!("tenant-{tenant}");

    create_store(&client, &namespace, "mars", "Mars/Olympus_Mons").await;
    let status = store_reaching(&client, &namespace, "mars", "InvalidTimezone").await;
    assert!(
        ready_condition(&status)
            .unwrap()
            .message
            .contains("spec.timezone")
    );
    let stores = Api::<Store>::namespaced(client.clone(), &namespace);
    let fixed = serde_json::json!({"spec": {"timezone": "America/New_York"}});
    stores
        .patch("mars", &PatchParams::default(), &Patch::Merge(&fixed))
        .await
        .unwrap();
    let status = store_reaching(&client, &namespace, "mars", "Ready").await;
    assert!(is_true(&status.conditions, "Ready"));

    // A Store outside any tenant's namespace belongs to no one.
    let stray = support::namespace(&client, "stray").await;
    create_store(&client, &stray, "stray", "UTC").await;
    let status = store_reaching(&client, &stray, "stray", "TenantNotFound").await;
    assert!(
        ready_condition(&status)
            .unwrap()
            .message
            .contains("tenant-<tenant name>")
    );
}
