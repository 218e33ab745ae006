//! Inventory: per standard variant in stock, what sold lately against what
//! is left: sell-through, days of cover, low stock (docs/analytics.md,
//! "Inventory").

use serde::Serialize;

use super::export::{Cell, Table};
use super::ratio::{hundredths, percent};
use super::snapshot;
use crate::db::StoreTx;
use crate::error::ApiError;

/// What the report looks at, from its query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Sales of the last `days` local days, today included.
    pub days: i64,
    /// A variant with this many units available or fewer is low on stock.
    pub low_stock_units: i64,
    /// Only the variants low on stock.
    pub low_only: bool,
    pub limit: i64,
}

impl Window {
    pub fn days(value: Option<i64>) -> Result<i64, String> {
        match value.unwrap_or(30) {
            days @ 1..=365 => Ok(days),
            _ => Err("must be from 1 to 365".to_owned()),
        }
    }

    pub fn low_stock_units(value: Option<i64>) -> Result<i64, String> {
        match value.unwrap_or(5) {
            units @ 0..=1_000_000 => Ok(units),
            _ => Err("must be from 0 to 1000000".to_owned()),
        }
    }

    pub fn limit(value: Option<i64>) -> Result<i64, String> {
        match value.unwrap_or(100) {
            limit @ 1..=1000 => Ok(limit),
            _ => Err("must be from 1 to 1000".to_owned()),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct StockRow {
    variant_id: uuid::Uuid,
    sku: String,
    name: String,
    on_hand: i64,
    reserved: i64,
    units_sold: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VariantStock {
    pub variant_id: uuid::Uuid,
    pub sku: String,
    /// `Product` or `Product / Variant`.
    pub name: String,
    pub on_hand: i64,
    /// Held by unpaid and unshipped orders.
    pub reserved: i64,
    /// On hand − reserved: what can still be sold.
    pub available: i64,
    /// Units sold in the window less units returned.
    pub units_sold: i64,
    /// Sold ÷ (sold + on hand now), percent to two decimals.
    pub sell_through_percent: Option<f64>,
    /// Units sold per day over the window, two decimals.
    pub units_per_day: Option<f64>,
    /// Available ÷ units per day, two decimals; null when nothing sold.
    pub days_of_cover: Option<f64>,
    /// Available ≤ `low_stock_units`.
    pub low_stock: bool,
}

impl VariantStock {
    fn of(row: StockRow, window: Window) -> Self {
        let available = row.on_hand - row.reserved;
        Self {
            variant_id: row.variant_id,
            sku: row.sku,
            name: row.name,
            on_hand: row.on_hand,
            reserved: row.reserved,
            available,
            units_sold: row.units_sold,
            sell_through_percent: percent(row.units_sold, row.units_sold + row.on_hand),
            units_per_day: hundredths(row.units_sold, window.days),
            days_of_cover: (row.units_sold > 0)
                .then(|| hundredths(available * window.days, row.units_sold))
                .flatten(),
            low_stock: available <= window.low_stock_units,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InventoryReport {
    pub time_zone: String,
    pub days: i64,
    pub low_stock_units: i64,
    /// By days of cover (soonest out first; nothing sold last), then available, then SKU.
    pub variants: Vec<VariantStock>,
}

impl InventoryReport {
    pub fn table(&self) -> Table {
        let rows = self
            .variants
            .iter()
            .map(|v| {
                vec![
                    Cell::from(v.variant_id.to_string()),
                    Cell::from(v.sku.as_str()),
                    Cell::from(v.name.as_str()),
                    v.on_hand.into(),
                    v.reserved.into(),
                    v.available.into(),
                    v.units_sold.into(),
                    v.sell_through_percent.into(),
                    v.units_per_day.into(),
                    v.days_of_cover.into(),
                    Cell::from(if v.low_stock { "true" } else { "false" }),
                ]
            })
            .collect();
        Table {
            header: &[
                "variant_id",
                "sku",
                "name",
                "on_hand",
                "reserved",
                "available",
                "units_sold",
                "sell_through_percent",
                "units_per_day",
                "days_of_cover",
                "low_stock",
            ],
            rows,
        }
    }
}

pub async fn report(tx: &mut StoreTx, window: Window) -> Result<InventoryReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let rows: Vec<StockRow> = sqlx::query_as(STOCK)
        .bind(tx.store.id)
        .bind(window.days)
        .bind(&snapshot.time_zone)
        .bind(window.low_only)
        .bind(window.low_stock_units)
        .bind(&snapshot.folded_below)
        .fetch_all(tx.conn())
        .await?;
    let mut variants: Vec<VariantStock> = rows
        .into_iter()
        .map(|row| VariantStock::of(row, window))
        .collect();
    // Soonest out of stock first; what never sold (no cover figure) last.
    variants.sort_by(|a, b| {
        let cover = |v: &VariantStock| v.days_of_cover.unwrap_or(f64::INFINITY);
        cover(a)
            .total_cmp(&cover(b))
            .then(a.available.cmp(&b.available))
            .then(a.sku.cmp(&b.sku))
    });
    variants.truncate(window.limit as usize);
    Ok(InventoryReport {
        time_zone: snapshot.time_zone,
        days: window.days,
        low_stock_units: window.low_stock_units,
        variants,
    })
}

/// Store $1's standard variants with a stock pool, their stock now and
/// their units sold less returned over the last $2 local days in zone $3
/// (today included): the whole weeks among them (Monday to Sunday) from the
/// week rollup, the other days from the day rollup, plus the facts past the
/// fold's mark $6 (`Snapshot::folded_below`). With $4, only those with $5 units available
/// or fewer.
const STOCK: &str = "\
    WITH window_bounds AS ( \
        SELECT (now() AT TIME ZONE $3)::date - ($2::int - 1) AS first, (now() AT TIME ZONE $3)::date + 1 AS stop \
    ), window_days AS ( \
        SELECT first, stop, date_trunc('week', first + 6)::date AS weeks_from, \
            date_trunc('week', stop)::date AS weeks_to \
        FROM window_bounds \
    ), sold AS ( \
        SELECT k.variant_id, k.units - k.returned_units AS units \
        FROM sales_by_variant_week k, window_days w \
        WHERE $6::xid8 IS NOT NULL AND k.store_id = $1 AND k.week >= w.weeks_from AND k.week < w.weeks_to \
        UNION ALL \
        SELECT d.variant_id, d.units - d.returned_units \
        FROM sales_by_variant_day d, window_days w \
        WHERE $6::xid8 IS NOT NULL AND d.store_id = $1 AND d.day >= w.first AND d.day < w.stop \
            AND NOT (d.day >= w.weeks_from AND d.day < w.weeks_to) \
        UNION ALL \
        SELECT f.variant_id, f.units - f.returned_units FROM sales_facts f, window_days w \
        WHERE f.store_id = $1 AND f.xid BETWEEN coalesce($6::xid8, '1') AND newest_xid() \
            AND (f.occurred_at AT TIME ZONE $3)::date >= w.first \
    ), per_variant AS ( \
        SELECT variant_id, sum(units) AS units FROM sold GROUP BY variant_id \
    ) \
    SELECT v.id AS variant_id, v.sku, \
        p.title || CASE WHEN v.title = '' THEN '' ELSE ' / ' || v.title END AS name, \
        s.on_hand::bigint, s.reserved::bigint, coalesce(u.units, 0)::bigint AS units_sold \
    FROM stock s \
    JOIN variants v ON v.id = s.variant_id \
    JOIN products p ON p.id = s.product_id \
    LEFT JOIN per_variant u ON u.variant_id = v.id \
    WHERE s.store_id = $1 AND p.kind = 'standard' AND s.night IS NULL \
        AND (NOT $4 OR s.on_hand - s.reserved <= $5)";
