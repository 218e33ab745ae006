//! The best sellers of a period: products, variants or categories ranked by
//! net sales or net units (docs/analytics.md, "Top products").

use chrono::NaiveDate;
use serde::Serialize;

use super::export::{Cell, Table, compared_rows};
use super::period::{Dates, with_previous};
use super::rollup::Rollup;
use super::snapshot::{self, Snapshot};
use crate::db::StoreTx;
use crate::error::ApiError;

/// What the list ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Product,
    Variant,
    /// A product in several categories counts in each; one in none, in none.
    Category,
}

impl Dimension {
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.unwrap_or("product") {
            "product" => Ok(Self::Product),
            "variant" => Ok(Self::Variant),
            "category" => Ok(Self::Category),
            other => Err(format!("{other:?} is not one of product, variant, category")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Variant => "variant",
            Self::Category => "category",
        }
    }
}

/// What the list is ranked by (highest first; ties by id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rank {
    NetSales,
    /// Units sold − units returned.
    NetUnits,
}

impl Rank {
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.unwrap_or("net_sales") {
            "net_sales" => Ok(Self::NetSales),
            "net_units" => Ok(Self::NetUnits),
            other => Err(format!("{other:?} is not one of net_sales, net_units")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::NetSales => "net_sales",
            Self::NetUnits => "net_units",
        }
    }
}

/// The longest list.
pub const MAX_LIMIT: i64 = 100;

pub fn limit(value: Option<i64>) -> Result<i64, String> {
    match value.unwrap_or(10) {
        limit @ 1..=MAX_LIMIT => Ok(limit),
        _ => Err(format!("must be from 1 to {MAX_LIMIT}")),
    }
}

/// One product, variant or category of the list.
#[derive(Debug, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct TopItem {
    /// The product's, variant's or category's id.
    pub id: uuid::Uuid,
    /// Its title (a variant's: the product's and its own) or name as the
    /// catalog has it now; null once deleted from the catalog.
    pub name: Option<String>,
    /// A variant's SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub units_sold: i64,
    pub units_returned: i64,
    pub net_units: i64,
    pub gross_sales_minor: i64,
    pub discounts_minor: i64,
    pub returns_minor: i64,
    pub net_sales_minor: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TopList {
    pub from: NaiveDate,
    /// Excluded.
    pub to: NaiveDate,
    pub items: Vec<TopItem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TopReport {
    pub currency: String,
    pub time_zone: String,
    pub by: Dimension,
    pub rank: Rank,
    pub current: TopList,
    /// The top of the period of the same length just before, with `compare=previous_period`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<TopList>,
}

impl TopReport {
    pub fn table(&self) -> Table {
        let rows = compared_rows(&self.current, self.previous.as_ref(), |list| {
            list.items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    vec![
                        Cell::from(i as i64 + 1),
                        Cell::from(item.id.to_string()),
                        item.name.clone().map_or(Cell::Empty, Cell::from),
                        item.sku.clone().map_or(Cell::Empty, Cell::from),
                        item.units_sold.into(),
                        item.units_returned.into(),
                        item.net_units.into(),
                        item.gross_sales_minor.into(),
                        item.discounts_minor.into(),
                        item.returns_minor.into(),
                        item.net_sales_minor.into(),
                    ]
                })
                .collect()
        });
        Table {
            header: &[
                "period",
                "rank",
                "id",
                "name",
                "sku",
                "units_sold",
                "units_returned",
                "net_units",
                "gross_sales_minor",
                "discounts_minor",
                "returns_minor",
                "net_sales_minor",
            ],
            rows,
        }
    }
}

/// The list asked for, of `dates` (and of the dates before, when `compare`).
pub async fn report(
    tx: &mut StoreTx,
    dates: Dates,
    by: Dimension,
    rank: Rank,
    limit: i64,
    compare: bool,
) -> Result<TopReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let (current, previous) = with_previous(tx, dates, compare, async |tx, dates| {
        top(tx, dates, by, rank, limit, &snapshot).await
    })
    .await?;
    Ok(TopReport {
        currency: tx.store.currency.clone(),
        time_zone: snapshot.time_zone,
        by,
        rank,
        current,
        previous,
    })
}

async fn top(
    tx: &mut StoreTx,
    dates: Dates,
    by: Dimension,
    rank: Rank,
    limit: i64,
    snapshot: &Snapshot,
) -> Result<TopList, ApiError> {
    let spans = dates.spans();
    let items = sqlx::query_as(TOP)
        .bind(tx.store.id)
        .bind(dates.from)
        .bind(dates.to)
        .bind(&snapshot.time_zone)
        .bind(spans.months.0)
        .bind(spans.months.1)
        .bind(by.name())
        .bind(rank.name())
        .bind(limit)
        .bind(&snapshot.folded_below)
        .bind(spans.weeks_before.0)
        .bind(spans.weeks_before.1)
        .bind(spans.weeks_after.0)
        .bind(spans.weeks_after.1)
        .fetch_all(tx.conn())
        .await?;
    Ok(TopList {
        from: dates.from,
        to: dates.to,
        items,
    })
}

/// The fold of sales per variant and local `$period` of the event into
/// `$table`, keyed by `$key` (the local date of the period's first day).
macro_rules! variant_rollup {
    ($table:literal, $key:literal, $period:literal) => {
        Rollup {
            tables: &[$table],
            fold: concat!(
                "INSERT INTO ",
                $table,
                " AS r (store_id, ",
                $key,
                ", variant_id, product_id, units, gross_minor, \
                    discounts_minor, returns_minor, returned_units) \
                SELECT f.store_id, date_trunc('",
                $period,
                "', f.occurred_at AT TIME ZONE $4)::date, f.variant_id, f.product_id, \
                    sum(f.units), sum(f.gross_minor), sum(f.discounts_minor), sum(f.returns_minor), \
                    sum(f.returned_units) \
                FROM sales_facts f \
                WHERE f.store_id = $1 AND f.xid >= $2::xid8 AND f.xid < $3::xid8 \
                GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3 \
                ON CONFLICT (store_id, ",
                $key,
                ", variant_id) DO UPDATE SET \
                    units = r.units + excluded.units, gross_minor = r.gross_minor + excluded.gross_minor, \
                    discounts_minor = r.discounts_minor + excluded.discounts_minor, \
                    returns_minor = r.returns_minor + excluded.returns_minor, \
                    returned_units = r.returned_units + excluded.returned_units"
            ),
        }
    };
}

/// Sales per variant and local day of the event.
pub const DAY_ROLLUP: Rollup = variant_rollup!("sales_by_variant_day", "day", "day");

/// Sales per variant and local ISO week (from Monday) of the event.
pub const WEEK_ROLLUP: Rollup = variant_rollup!("sales_by_variant_week", "week", "week");

/// Sales per variant and local month of the event.
pub const MONTH_ROLLUP: Rollup = variant_rollup!("sales_by_variant_month", "month", "month");

/// The top $9 by $7 (product, variant, category) ranked by $8 (net_sales,
/// net_units) of store $1 from local date $2 to $3 in zone $4: whole months
/// [$5, $6) from the month rollup, whole weeks [$11, $12) and [$13, $14)
/// around them from the week rollup, the other days from the day rollup, the
/// facts past the fold's mark $10 (`Snapshot::folded_below`) from `sales_facts`;
/// summed per variant once (tens of thousands of rows), then keyed by what
/// is ranked (a few thousand).
const TOP: &str = "\
    WITH sold AS ( \
        SELECT m.variant_id, m.product_id, m.units, m.gross_minor, m.discounts_minor, m.returns_minor, \
            m.returned_units \
        FROM sales_by_variant_month m \
        WHERE $10::xid8 IS NOT NULL AND m.store_id = $1 AND m.month >= $5 AND m.month < $6 \
        UNION ALL \
        SELECT w.variant_id, w.product_id, w.units, w.gross_minor, w.discounts_minor, w.returns_minor, \
            w.returned_units \
        FROM sales_by_variant_week w \
        WHERE $10::xid8 IS NOT NULL AND w.store_id = $1 \
            AND (w.week >= $11 AND w.week < $12 OR w.week >= $13 AND w.week < $14) \
        UNION ALL \
        SELECT d.variant_id, d.product_id, d.units, d.gross_minor, d.discounts_minor, d.returns_minor, \
            d.returned_units \
        FROM sales_by_variant_day d \
        WHERE $10::xid8 IS NOT NULL AND d.store_id = $1 AND d.day >= $2 AND d.day < $3 \
            AND NOT (d.day >= $5 AND d.day < $6) AND NOT (d.day >= $11 AND d.day < $12) \
            AND NOT (d.day >= $13 AND d.day < $14) \
        UNION ALL \
        SELECT f.variant_id, f.product_id, f.units, f.gross_minor, f.discounts_minor, f.returns_minor, \
            f.returned_units \
        FROM sales_facts f \
        WHERE f.store_id = $1 AND f.xid BETWEEN coalesce($10::xid8, '1') AND newest_xid() \
            AND f.occurred_at >= $2::date::timestamptz AND f.occurred_at < $3::date::timestamptz \
    ), per_variant AS ( \
        SELECT variant_id, product_id, sum(units) AS units, sum(gross_minor) AS gross_minor, \
            sum(discounts_minor) AS discounts_minor, sum(returns_minor) AS returns_minor, \
            sum(returned_units) AS returned_units \
        FROM sold GROUP BY variant_id, product_id \
    ), keyed AS ( \
        SELECT CASE $7 WHEN 'variant' THEN s.variant_id ELSE s.product_id END AS id, s.* \
        FROM per_variant s WHERE $7 <> 'category' \
        UNION ALL \
        SELECT pc.category_id, s.* FROM per_variant s JOIN product_categories pc ON pc.product_id = s.product_id \
        WHERE $7 = 'category' \
    ), ranked AS ( \
        SELECT id, sum(units)::bigint AS units_sold, sum(returned_units)::bigint AS units_returned, \
            sum(units - returned_units)::bigint AS net_units, sum(gross_minor)::bigint AS gross_sales_minor, \
            sum(discounts_minor)::bigint AS discounts_minor, sum(returns_minor)::bigint AS returns_minor, \
            sum(gross_minor - discounts_minor - returns_minor)::bigint AS net_sales_minor \
        FROM keyed GROUP BY id \
        ORDER BY CASE $8 WHEN 'net_units' THEN sum(units - returned_units) \
            ELSE sum(gross_minor - discounts_minor - returns_minor) END DESC, id \
        LIMIT $9 \
    ) \
    SELECT r.*, \
        CASE $7 \
            WHEN 'category' THEN (SELECT c.name FROM categories c WHERE c.id = r.id) \
            WHEN 'variant' THEN (SELECT p.title || CASE WHEN v.title = '' THEN '' ELSE ' / ' || v.title END \
                FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id = r.id) \
            ELSE (SELECT p.title FROM products p WHERE p.id = r.id) \
        END AS name, \
        CASE $7 WHEN 'variant' THEN (SELECT v.sku FROM variants v WHERE v.id = r.id) END AS sku \
    FROM ranked r ORDER BY CASE $8 WHEN 'net_units' THEN r.net_units ELSE r.net_sales_minor END DESC, r.id";
