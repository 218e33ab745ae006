//! The catalog's SQL. Every function runs inside a [`StoreTx`], so row-level
//! security already limits it to one store; the explicit `store_id`
//! conditions are there for the indexes, not for safety.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::model::{Kind, Product, ProductFields, Status, Variant, VariantFields};
use crate::db::StoreTx;
use crate::error::{ApiError, FieldError, unique_violation};
use crate::ids::{CategoryId, ProductId, VariantId};

/// What a product list asks for. `None` filters are not applied.
#[derive(Debug, Default)]
pub struct ProductFilter {
    pub status: Option<Status>,
    pub kind: Option<Kind>,
    pub category: Option<CategoryId>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// Full-text search (web search syntax: `"exact phrase" -not or`).
    pub search: Option<String>,
}

/// Where a page starts: after this product (and, when searching, this rank).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct ProductCursor {
    pub id: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<f32>,
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: ProductId,
    title: String,
    description: String,
    kind: Kind,
    status: Status,
    category_ids: Vec<CategoryId>,
    image_urls: Vec<String>,
    capacity: Option<i32>,
    event_starts_at: Option<DateTime<Utc>>,
    event_ends_at: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    rank: Option<f32>,
}

/// The columns of a [`ProductRow`] from `products p`, for `concat!`.
macro_rules! product_columns {
    () => {
        "p.id, p.title, p.description, p.kind, p.status, \
         array(SELECT pc.category_id FROM product_categories pc WHERE pc.product_id = p.id \
               ORDER BY pc.category_id) AS category_ids, \
         p.image_urls, p.capacity, p.event_starts_at, p.event_ends_at, p.version, p.created_at, p.updated_at"
    };
}

/// The filters shared by both list queries ($1 store … $7 cursor id).
macro_rules! product_filters {
    () => {
        "p.store_id = $1 \
         AND ($2::text IS NULL OR p.status = $2) \
         AND ($3::text IS NULL OR p.kind = $3) \
         AND ($4::uuid IS NULL OR EXISTS (SELECT FROM product_categories pc \
              WHERE pc.product_id = p.id AND pc.category_id = $4)) \
         AND (($5::bigint IS NULL AND $6::bigint IS NULL) OR EXISTS (SELECT FROM variants v \
              WHERE v.product_id = p.id AND v.price_minor >= coalesce($5, 0) \
              AND v.price_minor <= coalesce($6, 9223372036854775807)))"
    };
}

/// Newest products first. Parameters: $1 store, $2 status, $3 kind,
/// $4 category, $5 min price, $6 max price, $7 cursor id, $10 limit.
/// (The read queries are public so `bench/api-load` runs the same SQL in pgbench.)
pub const LIST_PRODUCTS: &str = concat!(
    "SELECT ",
    product_columns!(),
    ", NULL::real AS rank FROM products p WHERE ",
    product_filters!(),
    // $8 and $9 belong to the search; named only so both queries bind alike.
    " AND ($7::uuid IS NULL OR p.id < $7) AND ($8::real IS NULL OR TRUE) AND ($9::text IS NULL OR TRUE) \
     ORDER BY p.id DESC LIMIT $10"
);

/// Products matching $9 (web search syntax), most relevant first; after
/// (rank $8, id $7) when paging. Other parameters as [`LIST_PRODUCTS`].
/// The page is chosen first and its columns read after, so the costlier
/// columns are read for one page, not for every match.
pub const SEARCH_PRODUCTS: &str = concat!(
    "SELECT ",
    product_columns!(),
    ", m.rank FROM (SELECT p.id, ts_rank(p.search, q) AS rank \
     FROM products p, websearch_to_tsquery('english', $9) q WHERE ",
    product_filters!(),
    " AND p.search @@ q \
     AND ($7::uuid IS NULL OR (ts_rank(p.search, q), p.id) < ($8::real, $7)) \
     ORDER BY rank DESC, p.id DESC LIMIT $10) m JOIN products p ON p.id = m.id \
     ORDER BY m.rank DESC, p.id DESC"
);

/// One product by id ($1), only with status $2 when given.
pub const PRODUCT: &str = concat!(
    "SELECT ",
    product_columns!(),
    ", NULL::real AS rank FROM products p WHERE p.id = $1 AND ($2::text IS NULL OR p.status = $2)"
);

/// The variants of the products $1, priced in the store's currency $2.
pub const VARIANTS_OF: &str = "SELECT v.id, v.product_id, v.sku, v.title, v.price_minor, $2::text AS currency, \
     v.attributes, v.position, v.version FROM variants v WHERE v.product_id = ANY($1) ORDER BY v.position, v.id";

/// One page of products (`limit + 1` rows, for [`crate::pagination::Page`]):
/// newest first, or by relevance when searching.
pub async fn list_products(
    tx: &mut StoreTx,
    filter: &ProductFilter,
    after: Option<ProductCursor>,
    limit: i64,
) -> Result<Vec<(Product, Option<f32>)>, ApiError> {
    let store = tx.store.id;
    let query = sqlx::query_as::<_, ProductRow>(match filter.search {
        None => LIST_PRODUCTS,
        Some(_) => SEARCH_PRODUCTS,
    });
    let rows = query
        .bind(store)
        .bind(filter.status)
        .bind(filter.kind)
        .bind(filter.category)
        .bind(filter.min_price)
        .bind(filter.max_price)
        .bind(after.map(|c| c.id))
        .bind(after.and_then(|c| c.rank))
        .bind(filter.search.as_deref())
        .bind(limit + 1)
        .fetch_all(tx.conn())
        .await?;
    // The extra row only tells whether another page follows: its variants are not read.
    let products = with_variants(tx, rows, limit as usize).await?;
    Ok(products)
}

/// One product, if it exists in this store (and has `status`, when given).
pub async fn product_by_id(
    tx: &mut StoreTx,
    id: ProductId,
    status: Option<Status>,
) -> Result<Option<Product>, ApiError> {
    let row: Option<ProductRow> = sqlx::query_as(PRODUCT)
        .bind(id)
        .bind(status)
        .fetch_optional(tx.conn())
        .await?;
    Ok(with_variants(tx, row.into_iter().collect(), 1)
        .await?
        .pop()
        .map(|(product, _)| product))
}

/// Attaches their variants to the first `wanted` products (one query for the page).
async fn with_variants(
    tx: &mut StoreTx,
    rows: Vec<ProductRow>,
    wanted: usize,
) -> Result<Vec<(Product, Option<f32>)>, ApiError> {
    let ids: Vec<ProductId> = rows.iter().take(wanted).map(|row| row.id).collect();
    let currency = tx.store.currency.clone();
    let variants: Vec<Variant> = sqlx::query_as(VARIANTS_OF)
        .bind(&ids)
        .bind(currency)
        .fetch_all(tx.conn())
        .await?;
    let mut by_product: HashMap<ProductId, Vec<Variant>> = HashMap::new();
    for variant in variants {
        by_product.entry(variant.product_id).or_default().push(variant);
    }
    let store_id = tx.store.id;
    Ok(rows
        .into_iter()
        .map(|row| {
            let product = Product {
                id: row.id,
                store_id,
                title: row.title,
                description: row.description,
                kind: row.kind,
                status: row.status,
                category_ids: row.category_ids,
                image_urls: row.image_urls,
                capacity: row.capacity,
                event_starts_at: row.event_starts_at,
                event_ends_at: row.event_ends_at,
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
                variants: by_product.remove(&row.id).unwrap_or_default(),
            };
            (product, row.rank)
        })
        .collect())
}

/// Inserts a product with its categories and variants.
pub async fn insert_product(
    tx: &mut StoreTx,
    fields: &ProductFields,
    variants: &[VariantFields],
) -> Result<ProductId, ApiError> {
    let id = ProductId::generate();
    let store = tx.store.id;
    sqlx::query(
        "INSERT INTO products (id, store_id, title, description, kind, status, image_urls, capacity, \
         event_starts_at, event_ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(store)
    .bind(&fields.title)
    .bind(&fields.description)
    .bind(fields.kind)
    .bind(fields.status)
    .bind(&fields.image_urls)
    .bind(fields.capacity)
    .bind(fields.event_starts_at)
    .bind(fields.event_ends_at)
    .execute(tx.conn())
    .await?;
    set_categories(tx, id, &fields.category_ids).await?;
    insert_variants(tx, id, variants, 0).await?;
    Ok(id)
}

/// Inserts variants at positions from `first_position`, all in one statement.
pub async fn insert_variants(
    tx: &mut StoreTx,
    product: ProductId,
    variants: &[VariantFields],
    first_position: i32,
) -> Result<Vec<VariantId>, ApiError> {
    let ids: Vec<VariantId> = variants.iter().map(|_| VariantId::generate()).collect();
    let skus: Vec<&str> = variants.iter().map(|v| v.sku.as_str()).collect();
    let titles: Vec<&str> = variants.iter().map(|v| v.title.as_str()).collect();
    let prices: Vec<i64> = variants.iter().map(|v| v.price_minor).collect();
    let attributes: Vec<serde_json::Value> = variants
        .iter()
        .map(|v| serde_json::Value::Object(v.attributes.clone()))
        .collect();
    let store = tx.store.id;
    sqlx::query(
        "INSERT INTO variants (id, store_id, product_id, sku, title, price_minor, attributes, position) \
         SELECT v.id, $1, $2, v.sku, v.title, v.price_minor, v.attributes, $8 + v.ordinality - 1 \
         FROM unnest($3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::jsonb[]) \
              WITH ORDINALITY AS v(id, sku, title, price_minor, attributes, ordinality)",
    )
    .bind(store)
    .bind(product)
    .bind(&ids)
    .bind(&skus)
    .bind(&titles)
    .bind(&prices)
    .bind(&attributes)
    .bind(first_position)
    .execute(tx.conn())
    .await
    .map_err(sku_taken)?;
    Ok(ids)
}

/// Replaces a product's categories; a category not in this store is a 422.
async fn set_categories(
    tx: &mut StoreTx,
    product: ProductId,
    categories: &[CategoryId],
) -> Result<(), ApiError> {
    let store = tx.store.id;
    sqlx::query("DELETE FROM product_categories WHERE product_id = $1")
        .bind(product)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO product_categories (store_id, product_id, category_id) \
         SELECT DISTINCT $1, $2, c FROM unnest($3::uuid[]) AS c",
    )
    .bind(store)
    .bind(product)
    .bind(categories)
    .execute(tx.conn())
    .await
    .map_err(|error| match &error {
        // The composite key (store_id, category_id) finds no category of this store.
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            ApiError::Validation(vec![FieldError::new(
                "category_ids",
                "names a category that does not exist in this store",
            )])
        }
        _ => error.into(),
    })?;
    Ok(())
}

/// The product's fields and version, locked for a change; 404 when absent.
pub async fn lock_product(tx: &mut StoreTx, id: ProductId) -> Result<(ProductFields, i32), ApiError> {
    sqlx::query("SELECT FROM products WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(tx.conn())
        .await?;
    let product = product_by_id(tx, id, None)
        .await?
        .ok_or_else(|| product_not_found(id))?;
    let fields = ProductFields {
        title: product.title,
        description: product.description,
        kind: product.kind,
        status: product.status,
        category_ids: product.category_ids,
        image_urls: product.image_urls,
        capacity: product.capacity,
        event_starts_at: product.event_starts_at,
        event_ends_at: product.event_ends_at,
    };
    Ok((fields, product.version))
}

/// Writes a product's fields if it is still at `version`, and bumps it.
pub async fn update_product(
    tx: &mut StoreTx,
    id: ProductId,
    version: i32,
    fields: &ProductFields,
) -> Result<(), ApiError> {
    let updated = sqlx::query(
        "UPDATE products SET title = $3, description = $4, status = $5, image_urls = $6, capacity = $7, \
         event_starts_at = $8, event_ends_at = $9, version = version + 1, updated_at = now() \
         WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&fields.title)
    .bind(&fields.description)
    .bind(fields.status)
    .bind(&fields.image_urls)
    .bind(fields.capacity)
    .bind(fields.event_starts_at)
    .bind(fields.event_ends_at)
    .execute(tx.conn())
    .await?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::stale_version());
    }
    set_categories(tx, id, &fields.category_ids).await
}

/// Deletes a product (and its variants) if it is still at `version`.
pub async fn delete_product(tx: &mut StoreTx, id: ProductId, version: i32) -> Result<(), ApiError> {
    refuse_if_reserved(tx, Pools::OfProduct(id)).await?;
    let deleted = sqlx::query("DELETE FROM products WHERE id = $1 AND version = $2")
        .bind(id)
        .bind(version)
        .execute(tx.conn())
        .await?;
    if deleted.rows_affected() == 1 {
        return Ok(());
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT FROM products WHERE id = $1)")
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
    Err(if exists {
        ApiError::stale_version()
    } else {
        product_not_found(id)
    })
}

/// The next free position for a new variant of `product`; 404 when absent.
/// Where a new variant of `product` goes (the next position) and how many
/// it has now. Locking the product serialises concurrent additions to it,
/// so the count holds until the transaction ends.
pub async fn lock_for_new_variant(tx: &mut StoreTx, product: ProductId) -> Result<(i32, i64), ApiError> {
    let locked: Option<(i32, i64)> = sqlx::query_as(
        "SELECT coalesce((SELECT max(position) + 1 FROM variants WHERE product_id = p.id), 0), \
                (SELECT count(*) FROM variants WHERE product_id = p.id) \
         FROM products p WHERE p.id = $1 FOR UPDATE",
    )
    .bind(product)
    .fetch_optional(tx.conn())
    .await?;
    locked.ok_or_else(|| product_not_found(product))
}

/// A variant as it is before a change.
pub struct LockedVariant {
    pub fields: VariantFields,
    pub position: i32,
    pub version: i32,
}

#[derive(sqlx::FromRow)]
struct VariantRow {
    sku: String,
    title: String,
    price_minor: i64,
    attributes: sqlx::types::Json<serde_json::Map<String, serde_json::Value>>,
    position: i32,
    version: i32,
}

/// A variant of `product`, locked for a change; 404 when absent.
pub async fn lock_variant(
    tx: &mut StoreTx,
    product: ProductId,
    id: VariantId,
) -> Result<LockedVariant, ApiError> {
    let row: Option<VariantRow> = sqlx::query_as(
        "SELECT sku, title, price_minor, attributes, position, version FROM variants \
         WHERE id = $1 AND product_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(product)
    .fetch_optional(tx.conn())
    .await?;
    let row =
        row.ok_or_else(|| ApiError::NotFound(format!("variant {id} of product {product} does not exist")))?;
    Ok(LockedVariant {
        fields: VariantFields {
            sku: row.sku,
            title: row.title,
            price_minor: row.price_minor,
            attributes: row.attributes.0,
        },
        position: row.position,
        version: row.version,
    })
}

pub async fn update_variant(
    tx: &mut StoreTx,
    id: VariantId,
    version: i32,
    fields: &VariantFields,
    position: i32,
) -> Result<(), ApiError> {
    let updated = sqlx::query(
        "UPDATE variants SET sku = $3, title = $4, price_minor = $5, attributes = $6, position = $7, \
         version = version + 1, updated_at = now() WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(&fields.sku)
    .bind(&fields.title)
    .bind(fields.price_minor)
    .bind(sqlx::types::Json(&fields.attributes))
    .bind(position)
    .execute(tx.conn())
    .await
    .map_err(sku_taken)?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::stale_version());
    }
    Ok(())
}

/// Deletes a variant at `version`; a product keeps at least one.
pub async fn delete_variant(
    tx: &mut StoreTx,
    product: ProductId,
    id: VariantId,
    version: i32,
) -> Result<(), ApiError> {
    if lock_variant(tx, product, id).await?.version != version {
        return Err(ApiError::stale_version());
    }
    refuse_if_reserved(tx, Pools::OfVariant(product, id)).await?;
    let others: i64 = sqlx::query_scalar("SELECT count(*) FROM variants WHERE product_id = $1 AND id <> $2")
        .bind(product)
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
    if others == 0 {
        return Err(ApiError::Conflict {
            detail: "a product keeps at least one variant; delete the product instead".to_owned(),
            field: None,
        });
    }
    sqlx::query("DELETE FROM variants WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub fn product_not_found(id: ProductId) -> ApiError {
    ApiError::NotFound(format!("product {id} does not exist"))
}

fn sku_taken(error: sqlx::Error) -> ApiError {
    match unique_violation(&error) {
        Some("variants_store_id_sku_key") => {
            ApiError::conflict("sku", "a variant with this SKU exists in this store")
        }
        _ => error.into(),
    }
}

/// The stock pools a deletion would drop with it.
enum Pools {
    OfProduct(ProductId),
    /// A standard variant's own pool (tickets and rooms pool per product).
    OfVariant(ProductId, VariantId),
}

/// 409 when open orders hold units of `pools`: deleting them would drop
/// those reservations. The pools are locked first, so an order committing a
/// reservation at that moment is waited for and counted.
async fn refuse_if_reserved(tx: &mut StoreTx, pools: Pools) -> Result<(), ApiError> {
    let locked = match pools {
        Pools::OfProduct(product) => sqlx::query_scalar(
            "SELECT coalesce(sum(reserved), 0)::bigint FROM \
             (SELECT reserved FROM stock WHERE product_id = $1 FOR UPDATE) AS pools",
        )
        .bind(product),
        Pools::OfVariant(product, variant) => sqlx::query_scalar(
            "SELECT coalesce(sum(reserved), 0)::bigint FROM \
             (SELECT reserved FROM stock WHERE product_id = $1 AND variant_id = $2 FOR UPDATE) AS pools",
        )
        .bind(product)
        .bind(variant),
    };
    let reserved: i64 = locked.fetch_one(tx.conn()).await?;
    if reserved > 0 {
        return Err(ApiError::Conflict {
            detail: format!(
                "{reserved} units are reserved by open orders: archive it instead, or settle those orders first"
            ),
            field: None,
        });
    }
    Ok(())
}
