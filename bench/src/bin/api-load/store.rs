//! The store under load: a tenant database made as the operator makes one
//! (its SQL plans, migrations and grants), one store with its API keys, and a
//! catalog seeded with set-based SQL, stock for some of its variants and one
//! promotion code. Then what the load needs from it: a sample of products,
//! the pages the API's own queries return, and the baskets to order.

use anyhow::{Context, Result, bail};
use shopfleet_api::catalog::model::Status;
use shopfleet_api::catalog::sql::{ProductFilter, list_products};
use shopfleet_api::db::Db;
use shopfleet_api::ids::{ProductId, PromotionId, StoreId, VariantId};
use shopfleet_api::orders::sql::{Offer, offers_for_variants};
use shopfleet_operator::store::build::ApiKeys;
use sqlx::{Connection, PgConnection};

use crate::tenant::{Tenant, add_store};

/// The words of titles and descriptions, and the search terms. Each product
/// draws 5 of them, so each word is in about 4 % of the products. They have
/// distinct English stems, so each one finds only its own products.
pub const WORDS: [&str; 120] = [
    "amber",
    "azure",
    "beige",
    "black",
    "bronze",
    "burgundy",
    "charcoal",
    "coral",
    "cream",
    "crimson",
    "emerald",
    "golden",
    "green",
    "indigo",
    "ivory",
    "lavender",
    "lemon",
    "lilac",
    "magenta",
    "maroon",
    "mint",
    "navy",
    "olive",
    "orange",
    "peach",
    "pink",
    "plum",
    "purple",
    "rust",
    "sage",
    "scarlet",
    "silver",
    "teal",
    "turquoise",
    "violet",
    "white",
    "acacia",
    "bamboo",
    "birch",
    "brass",
    "canvas",
    "cashmere",
    "cedar",
    "ceramic",
    "chrome",
    "copper",
    "cork",
    "cotton",
    "denim",
    "felt",
    "flannel",
    "glass",
    "granite",
    "hemp",
    "jute",
    "leather",
    "linen",
    "maple",
    "marble",
    "merino",
    "oak",
    "porcelain",
    "rattan",
    "satin",
    "silk",
    "slate",
    "steel",
    "suede",
    "teak",
    "tweed",
    "velvet",
    "walnut",
    "wicker",
    "wool",
    "apron",
    "backpack",
    "basket",
    "beanie",
    "blanket",
    "bottle",
    "bowl",
    "candle",
    "carafe",
    "chair",
    "clock",
    "coaster",
    "cushion",
    "desk",
    "duvet",
    "jacket",
    "journal",
    "jug",
    "kettle",
    "lamp",
    "mirror",
    "mug",
    "napkin",
    "notebook",
    "pillow",
    "planter",
    "plate",
    "poncho",
    "quilt",
    "rug",
    "scarf",
    "shelf",
    "skillet",
    "sneaker",
    "sofa",
    "spoon",
    "stool",
    "sweater",
    "teapot",
    "throw",
    "tote",
    "towel",
    "tray",
    "umbrella",
    "vase",
    "wallet",
];

/// The page size of the list and search scenarios (the API's default).
pub const PAGE: i64 = 20;

/// The store's currency: the API prices variants in it.
pub const CURRENCY: &str = "EUR";

/// The order scenario's baskets: each orders one unit of each of
/// `BASKET_LINES` variants, and no two baskets share a variant.
pub const BASKETS: usize = 100;
pub const BASKET_LINES: usize = 3;

/// What each stocked variant has on hand: orders never run short.
const ON_HAND: i32 = 1_000_000_000;

/// The store's one promotion: 10 % off with this code, no limits, stackable.
pub const PROMOTION_CODE: &str = "BENCH10";
pub const PROMOTION_NAME: &str = "Bench 10 %";
pub const PROMOTION_BASIS_POINTS: i32 = 1000;

pub use crate::tenant::RuntimeRole;

/// A seeded store, and what the load reads of it.
pub struct Store {
    pub runtime: RuntimeRole,
    pub id: StoreId,
    pub keys: ApiKeys,
    pub variants_per_product: usize,
    /// Products to get, drawn at random from the catalog.
    pub sample: Vec<ProductId>,
    /// The first page of the list, newest first (`PAGE` ids: the API reads
    /// one row more, to know another page follows, but not its variants).
    pub list_page: Vec<ProductId>,
    /// Each word, and what the search query returns for it (as `list_page`).
    pub search_pages: Vec<(&'static str, Vec<ProductId>)>,
    /// The smallest and largest share of the products that a word finds.
    pub match_shares: (f64, f64),
    /// The baskets to order (`BASKETS` × `BASKET_LINES` variants).
    pub baskets: Vec<Vec<Stocked>>,
    /// The promotion `PROMOTION_CODE` names.
    pub promotion: PromotionId,
}

/// Drops what analytics add to the writes of orders and events: the id of
/// the writing transaction on each event and its index, and so the facts
/// view and the rollups' inputs. The API's fold then fails at its first
/// statement every few seconds (logged), at no measurable cost.
async fn take_analytics_out(owner: &mut PgConnection) -> Result<()> {
    sqlx::raw_sql(
        "ALTER TABLE order_events DROP COLUMN xid CASCADE; \
         ALTER TABLE storefront_events DROP COLUMN xid CASCADE",
    )
    .execute(owner)
    .await
    .context("dropping the analytics' transaction ids")?;
    Ok(())
}

/// What a run takes out of the database, to weigh what it costs.
pub struct Without {
    pub analytics: bool,
    pub live: bool,
}

/// Drops the live stream's triggers: no order's commit logs an event or
/// notifies (the stream's clients would see nothing).
async fn take_live_out(owner: &mut PgConnection) -> Result<()> {
    sqlx::raw_sql(
        "DROP TRIGGER order_events_live ON order_events; DROP TRIGGER stock_live ON stock; \
         DROP TRIGGER tickets_live ON tickets",
    )
    .execute(owner)
    .await
    .context("dropping the live stream's triggers")?;
    Ok(())
}

/// A variant with stock, as the API's order query prices it.
#[derive(Clone, Debug)]
pub struct Stocked {
    pub offer: Offer,
    /// Its pool's row in `stock`.
    pub stock: uuid::Uuid,
}

/// Makes the tenant database on the server at `admin_url`, with one store of
/// `products` × `variants` and a sample of `sample` products.
pub async fn seed(
    admin_url: &str,
    products: u32,
    variants: u32,
    sample: usize,
    without: Without,
) -> Result<Store> {
    let Tenant {
        admin,
        names,
        runtime,
    } = Tenant::create(admin_url).await?;
    let mut owner = admin.connect_as_owner(&names).await?;
    let (id, keys) = add_store(&mut owner, CURRENCY, "retail").await?;
    if without.analytics {
        take_analytics_out(&mut owner).await?;
    }
    if without.live {
        take_live_out(&mut owner).await?;
    }

    let Seeded {
        sample,
        match_shares,
        stocked,
        promotion,
    } = seed_catalog(&mut owner, id, products, variants, sample).await?;
    // Statistics for the planner, the visibility map for index-only scans,
    // and the search index's pending entries merged: as a catalog is once
    // autovacuum has been by.
    sqlx::raw_sql(
        "VACUUM (ANALYZE) stores, store_api_keys, products, variants, product_categories, stock, promotions",
    )
    .execute(&mut owner)
    .await
    .context("vacuuming the seeded catalog")?;
    owner.close().await?;

    let (list_page, search_pages) = pages(&runtime, id).await?;
    let baskets = baskets(&runtime, id, &stocked).await?;
    Ok(Store {
        runtime,
        id,
        keys,
        variants_per_product: variants as usize,
        sample,
        list_page,
        search_pages,
        match_shares,
        baskets,
        promotion,
    })
}

/// What seeding made beside the catalog.
struct Seeded {
    /// A random sample of products, for the get scenario.
    sample: Vec<ProductId>,
    /// The range of the words' match shares.
    match_shares: (f64, f64),
    /// The stocked variants, in random order, with their pools.
    stocked: Vec<(VariantId, uuid::Uuid)>,
    promotion: PromotionId,
}

/// Inserts the products and their variants, the stock of the first variant
/// of `BASKETS` × `BASKET_LINES` random products and the promotion, in one
/// transaction bound to the store (RLS is forced, so it binds the owner too).
async fn seed_catalog(
    owner: &mut PgConnection,
    store: StoreId,
    products: u32,
    variants: u32,
    sample: usize,
) -> Result<Seeded> {
    let stocked_count = BASKETS * BASKET_LINES;
    if (products as usize) < stocked_count {
        bail!("the order scenario stocks {stocked_count} products: seed at least as many");
    }
    let mut tx = owner.begin().await?;
    sqlx::query("SELECT set_config('shopfleet.store_id', $1, true)")
        .bind(store.to_string())
        .execute(&mut *tx)
        .await?;
    // A word at random: random() is volatile, so each use in each row draws anew.
    let word = "w[1 + floor(random() * cardinality(w))::int]";
    // Rows go in in id order, as the API's time-ordered ids (UUIDv7) would:
    // the newest products last, and each product's variants together.
    let products_sql = format!(
        "INSERT INTO products (id, store_id, title, description, kind, status) \
         SELECT id, $1, initcap({word} || ' ' || {word} || ' ' || {word}), \
                {word} || ' and ' || {word} || ', made to last and easy to care for. Ships from our own \
                warehouse within two working days.', 'standard', 'active' \
         FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $3)) AS new, \
              (SELECT $2::text[] AS w) AS words \
         ORDER BY id"
    );
    // Built from constants only.
    sqlx::query(sqlx::AssertSqlSafe(products_sql))
        .bind(store)
        .bind(&WORDS[..])
        .bind(i64::from(products))
        .execute(&mut *tx)
        .await
        .context("seeding the products")?;
    sqlx::query(
        "INSERT INTO variants (id, store_id, product_id, sku, title, price_minor, attributes, position) \
         SELECT gen_random_uuid(), p.store_id, p.id, 'SKU-' || replace(p.id::text, '-', '') || '-' || v.n, \
                'Option ' || v.n, 500 + floor(random() * 20000)::bigint, jsonb_build_object('option', v.n), \
                v.n - 1 \
         FROM products p, generate_series(1, $1) AS v(n) ORDER BY p.id, v.n",
    )
    .bind(i64::from(variants))
    .execute(&mut *tx)
    .await
    .context("seeding the variants")?;

    let sample: Vec<ProductId> = sqlx::query_scalar("SELECT id FROM products ORDER BY random() LIMIT $1")
        .bind(sample as i64)
        .fetch_all(&mut *tx)
        .await?;
    let shares: Vec<f64> = sqlx::query_scalar(
        "SELECT count(p.id)::float8 / $2 FROM unnest($1::text[]) AS w \
         LEFT JOIN products p ON p.search @@ websearch_to_tsquery('english', w) GROUP BY w",
    )
    .bind(&WORDS[..])
    .bind(f64::from(products))
    .fetch_all(&mut *tx)
    .await
    .context("counting the products each word finds")?;

    // One pool per standard variant, as receiving stock makes it; in random
    // order, which the baskets are cut from.
    let stocked: Vec<(VariantId, uuid::Uuid)> = sqlx::query_as(
        "INSERT INTO stock (id, store_id, product_id, variant_id, night, on_hand, reserved) \
         SELECT gen_random_uuid(), v.store_id, v.product_id, v.id, NULL, $2, 0 FROM variants v \
         WHERE v.position = 0 ORDER BY random() LIMIT $1 RETURNING variant_id, id",
    )
    .bind(stocked_count as i64)
    .bind(ON_HAND)
    .fetch_all(&mut *tx)
    .await
    .context("stocking the variants to order")?;
    let promotion = PromotionId::generate();
    sqlx::query(
        "INSERT INTO promotions (id, store_id, name, kind, basis_points, code, stackable, active) \
         VALUES ($1, $2, $3, 'percentage', $4, $5, true, true)",
    )
    .bind(promotion)
    .bind(store)
    .bind(PROMOTION_NAME)
    .bind(PROMOTION_BASIS_POINTS)
    .bind(PROMOTION_CODE)
    .execute(&mut *tx)
    .await
    .context("adding the promotion")?;
    tx.commit().await?;
    let min = shares.iter().copied().fold(f64::INFINITY, f64::min);
    let max = shares.iter().copied().fold(0.0, f64::max);
    Ok(Seeded {
        sample,
        match_shares: (min, max),
        stocked,
        promotion,
    })
}

/// The stocked variants cut into baskets of `BASKET_LINES`, each variant
/// priced by the API's own order query (`orders::sql::offers`), so the
/// ceiling binds what the API binds.
async fn baskets(
    runtime: &RuntimeRole,
    store: StoreId,
    stocked: &[(VariantId, uuid::Uuid)],
) -> Result<Vec<Vec<Stocked>>> {
    let db = Db::connect_lazy(&runtime.url(), 1)?;
    let mut tx = db.store(store).await?;
    let wanted: Vec<VariantId> = stocked.iter().map(|(variant, _)| *variant).collect();
    let found = offers_for_variants(&mut tx, &wanted).await?;
    tx.commit().await?;
    let stocked: Vec<Stocked> = stocked
        .iter()
        .map(|(variant, stock)| {
            let offer = found
                .iter()
                .find(|offer| offer.variant_id == *variant)
                .with_context(|| format!("the order query does not find stocked variant {variant}"))?;
            Ok(Stocked {
                offer: offer.clone(),
                stock: *stock,
            })
        })
        .collect::<Result<_>>()?;
    Ok(stocked.chunks(BASKET_LINES).map(<[Stocked]>::to_vec).collect())
}

/// What the API stored for its order under idempotency key `key` of
/// `caller`: the request's fingerprint, the answer's status, and the stock
/// pools of order `order`'s lines in their order. The check compares them
/// with what the ceiling binds.
pub async fn stored_order(
    store: &Store,
    caller: &str,
    key: &str,
    order: uuid::Uuid,
) -> Result<(Vec<u8>, i16, Vec<Option<uuid::Uuid>>)> {
    let db = Db::connect_lazy(&store.runtime.url(), 1)?;
    let mut tx = db.store(store.id).await?;
    let (fingerprint, status): (Vec<u8>, i16) = sqlx::query_as(
        "SELECT request_sha256, status FROM idempotency_keys WHERE principal = $1 AND key = $2",
    )
    .bind(caller)
    .bind(key)
    .fetch_one(tx.conn())
    .await
    .context("reading the check order's idempotency key")?;
    let pools: Vec<Option<uuid::Uuid>> =
        sqlx::query_scalar("SELECT stock_id FROM order_lines WHERE order_id = $1 ORDER BY position")
            .bind(order)
            .fetch_all(tx.conn())
            .await
            .context("reading the check order's lines")?;
    tx.commit().await?;
    Ok((fingerprint, status, pools))
}

/// The pages the list and the searches return, from the API's own query
/// code (as a publishable key sees them: active products only), so that the
/// ceiling asks for the variants of exactly the products the API does.
async fn pages(
    runtime: &RuntimeRole,
    store: StoreId,
) -> Result<(Vec<ProductId>, Vec<(&'static str, Vec<ProductId>)>)> {
    let db = Db::connect_lazy(&runtime.url(), 1)?;
    let page = async |search: Option<&str>| -> Result<Vec<ProductId>> {
        let filter = ProductFilter {
            status: Some(Status::Active),
            search: search.map(str::to_owned),
            ..ProductFilter::default()
        };
        let mut tx = db.store(store).await?;
        let rows = list_products(&mut tx, &filter, None, PAGE).await?;
        tx.commit().await?;
        let ids: Vec<ProductId> = rows.iter().map(|(product, _)| product.id).collect();
        if ids.len() as i64 != PAGE + 1 {
            bail!(
                "the {} found {} products, fewer than a page and the next: seed more products",
                search.map_or("list".to_owned(), |word| format!("search for {word:?}")),
                ids.len()
            );
        }
        Ok(ids[..PAGE as usize].to_vec())
    };
    let list_page = page(None).await?;
    let mut search_pages = Vec::with_capacity(WORDS.len());
    for word in WORDS {
        search_pages.push((word, page(Some(word)).await?));
    }
    Ok((list_page, search_pages))
}
