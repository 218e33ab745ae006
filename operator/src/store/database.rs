//! A Store's rows in its tenant's database: the `stores` row and the hashes
//! of its API keys. Every statement is idempotent and writes nothing when the
//! database already matches, so steady state costs no writes.

use sqlx::{Connection, PgConnection};

use super::build::ApiKeys;
use crate::crd::Store;

/// Upserts the store's row (keyed by the Store's uid) and returns its id, or
/// `None` when the store is not in the database yet and `max_stores` active
/// stores already are (nothing is written then).
///
/// A row of the same name but another uid is a Store that was deleted
/// without its finalizer running (Kubernetes cannot have two at once): it is
/// archived and its keys revoked, so the name is free again.
pub async fn upsert_store(
    conn: &mut PgConnection,
    store: &Store,
    uid: &str,
    max_stores: i64,
) -> sqlx::Result<Option<String>> {
    let mut tx = conn.begin().await?;
    // One admission at a time per tenant database, so two reconciles cannot
    // both take the last place.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shopfleet.store_admission'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "WITH stale AS (
             UPDATE stores SET archived_at = now(), updated_at = now()
             WHERE name = $1 AND k8s_uid <> $2::uuid AND archived_at IS NULL
             RETURNING id)
         UPDATE store_api_keys SET revoked_at = now()
         WHERE store_id IN (SELECT id FROM stale) AND revoked_at IS NULL",
    )
    .bind(store.metadata.name.as_deref())
    .bind(uid)
    .execute(&mut *tx)
    .await?;
    let (present, active): (bool, i64) = sqlx::query_as(
        "SELECT EXISTS (SELECT FROM stores WHERE k8s_uid = $1::uuid),
                (SELECT count(*) FROM stores WHERE archived_at IS NULL)",
    )
    .bind(uid)
    .fetch_one(&mut *tx)
    .await?;
    if !present && active >= max_stores {
        tx.rollback().await?;
        return Ok(None);
    }
    let industry = serde_json::to_value(store.spec.industry).expect("an enum serialises");
    sqlx::query(
        "INSERT INTO stores (id, k8s_uid, name, display_name, industry, currency, timezone)
         VALUES (gen_random_uuid(), $2::uuid, $1, $3, $4, $5, $6)
         ON CONFLICT (k8s_uid) DO UPDATE
         SET display_name = excluded.display_name, industry = excluded.industry,
             timezone = excluded.timezone, updated_at = now()
         WHERE (stores.display_name, stores.industry, stores.timezone)
               IS DISTINCT FROM (excluded.display_name, excluded.industry, excluded.timezone)",
    )
    .bind(store.metadata.name.as_deref())
    .bind(uid)
    .bind(&store.spec.display_name)
    .bind(industry.as_str())
    .bind(&store.spec.currency)
    .bind(&store.spec.timezone)
    .execute(&mut *tx)
    .await?;
    let id: String = sqlx::query_scalar("SELECT id::text FROM stores WHERE k8s_uid = $1::uuid")
        .bind(uid)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Whether `keys` are this store's active keys, both of them: only then
/// may a Secret's keys be kept. Keys the database does not know are never
/// adopted, however well-formed: anyone who could write the Secret could
/// otherwise choose a store's keys. (A crash between writing new keys to the
/// Secret and activating them costs a second pair of new keys, nothing more:
/// nobody could have used the first.)
pub async fn keys_usable(conn: &mut PgConnection, store_id: &str, keys: &ApiKeys) -> sqlx::Result<bool> {
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM store_api_keys
         WHERE key_sha256 = ANY($2) AND store_id = $1::uuid AND revoked_at IS NULL",
    )
    .bind(store_id)
    .bind(keys.hashes().to_vec())
    .fetch_one(conn)
    .await?;
    Ok(active == 2)
}

/// Makes `keys` the store's only active keys: records them, revokes others.
pub async fn activate_keys(conn: &mut PgConnection, store_id: &str, keys: &ApiKeys) -> sqlx::Result<()> {
    let [secret, publishable] = keys.hashes();
    let mut tx = conn.begin().await?;
    sqlx::query(
        "INSERT INTO store_api_keys (store_id, kind, key_sha256)
         VALUES ($1::uuid, 'secret', $2), ($1::uuid, 'publishable', $3)
         ON CONFLICT (key_sha256) DO NOTHING",
    )
    .bind(store_id)
    .bind(&secret)
    .bind(&publishable)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE store_api_keys SET revoked_at = now()
         WHERE store_id = $1::uuid AND revoked_at IS NULL AND key_sha256 <> ALL($2)",
    )
    .bind(store_id)
    .bind(vec![secret, publishable])
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Archives the store (soft delete: its orders and reports stay) and revokes
/// its keys. Returns whether there was anything to archive.
pub async fn archive_store(conn: &mut PgConnection, uid: &str) -> sqlx::Result<bool> {
    let archived: Option<String> = sqlx::query_scalar(
        "WITH archived AS (
             UPDATE stores SET archived_at = now(), updated_at = now()
             WHERE k8s_uid = $1::uuid AND archived_at IS NULL
             RETURNING id),
         revoked AS (
             UPDATE store_api_keys SET revoked_at = now()
             WHERE store_id IN (SELECT id FROM stores WHERE k8s_uid = $1::uuid) AND revoked_at IS NULL)
         SELECT id::text FROM archived",
    )
    .bind(uid)
    .fetch_optional(conn)
    .await?;
    Ok(archived.is_some())
}
