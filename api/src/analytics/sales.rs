//! Sales over time: gross sales, discounts, returns, net sales, orders,
//! units and average order value per bucket (docs/analytics.md, "Sales").

use chrono::NaiveDate;
use serde::Serialize;

use super::export::{Cell, Table, compared_rows};
use super::period::{Dates, Interval, Period, with_previous};
use super::ratio::average;
use super::rollup::Rollup;
use super::snapshot::{self, Snapshot};
use crate::db::StoreTx;
use crate::error::ApiError;

/// Which day a refund counts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatedBy {
    /// The day money moved: a sale on the day it was paid, a refund on the
    /// day it was given. Past days never change.
    Transaction,
    /// The day the order was placed: its sale and all its refunds.
    Order,
}

impl DatedBy {
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.unwrap_or("transaction") {
            "transaction" => Ok(Self::Transaction),
            "order" => Ok(Self::Order),
            other => Err(format!("{other:?} is not one of transaction, order")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Transaction => "transaction",
            Self::Order => "order",
        }
    }
}

/// The sums a bucket holds, straight from the facts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Sums {
    pub orders: i64,
    pub units: i64,
    pub gross_minor: i64,
    pub discounts_minor: i64,
    pub returns_minor: i64,
    pub returned_units: i64,
    /// The guests of orders with a party size, and what those orders sold
    /// (gross − discounts): the hospitality report's covers.
    pub covers: i64,
    pub covered_sales_minor: i64,
}

summable!(Sums {
    orders,
    units,
    gross_minor,
    discounts_minor,
    returns_minor,
    returned_units,
    covers,
    covered_sales_minor
});

/// The sales figures of a bucket or a period, in the store's currency's
/// minor unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SalesFigures {
    /// Orders paid (dated by transaction), or placed and paid (by order).
    pub orders: i64,
    pub units_sold: i64,
    pub units_returned: i64,
    /// Units sold × their unit price.
    pub gross_sales_minor: i64,
    /// Discounts of the orders sold.
    pub discounts_minor: i64,
    /// Money refunded, including what cancelling a paid order gave back.
    pub returns_minor: i64,
    /// Gross sales − discounts − returns.
    pub net_sales_minor: i64,
    /// (Gross sales − discounts) ÷ orders, rounded half up; null without orders.
    pub average_order_value_minor: Option<i64>,
}

impl From<Sums> for SalesFigures {
    fn from(sums: Sums) -> Self {
        let sold = sums.gross_minor - sums.discounts_minor;
        Self {
            orders: sums.orders,
            units_sold: sums.units,
            units_returned: sums.returned_units,
            gross_sales_minor: sums.gross_minor,
            discounts_minor: sums.discounts_minor,
            returns_minor: sums.returns_minor,
            net_sales_minor: sold - sums.returns_minor,
            average_order_value_minor: average(sold, sums.orders),
        }
    }
}

/// One bucket of a series.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SalesBucket {
    /// When the bucket starts, with the store's UTC offset then
    /// (`2026-03-29T00:00:00+01:00`).
    pub start: String,
    #[serde(flatten)]
    pub figures: SalesFigures,
}

/// A period's totals and its series, every bucket present (zeros included).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SalesPeriod {
    pub from: NaiveDate,
    /// Excluded.
    pub to: NaiveDate,
    pub totals: SalesFigures,
    pub series: Vec<SalesBucket>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SalesReport {
    pub currency: String,
    /// The store's time zone, which cuts the days.
    pub time_zone: String,
    pub dated_by: DatedBy,
    pub interval: Interval,
    pub current: SalesPeriod,
    /// The period of the same length just before, with `compare=previous_period`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<SalesPeriod>,
}

impl SalesReport {
    /// The series as CSV rows: one per bucket, the previous period's after.
    pub fn table(&self) -> Table {
        let rows = compared_rows(&self.current, self.previous.as_ref(), |period| {
            period
                .series
                .iter()
                .map(|bucket| {
                    let f = bucket.figures;
                    vec![
                        Cell::from(bucket.start.as_str()),
                        f.orders.into(),
                        f.units_sold.into(),
                        f.units_returned.into(),
                        f.gross_sales_minor.into(),
                        f.discounts_minor.into(),
                        f.returns_minor.into(),
                        f.net_sales_minor.into(),
                        f.average_order_value_minor.into(),
                    ]
                })
                .collect()
        });
        Table {
            header: &[
                "period",
                "start",
                "orders",
                "units_sold",
                "units_returned",
                "gross_sales_minor",
                "discounts_minor",
                "returns_minor",
                "net_sales_minor",
                "average_order_value_minor",
            ],
            rows,
        }
    }
}

/// The sales report of `period` (and the one before, when `compare`).
pub async fn report(
    tx: &mut StoreTx,
    period: Period,
    dated_by: DatedBy,
    compare: bool,
) -> Result<SalesReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let (current, previous) = with_previous(tx, period, compare, async |tx, period| {
        sales_of(tx, period, dated_by, &snapshot).await
    })
    .await?;
    Ok(SalesReport {
        currency: tx.store.currency.clone(),
        time_zone: snapshot.time_zone,
        dated_by,
        interval: period.interval,
        current,
        previous,
    })
}

/// Today's sales in the store's time zone, dated by the transaction (as
/// the sales report's): the live stream's ticks. In a read-only snapshot.
pub async fn today(tx: &mut StoreTx) -> Result<(NaiveDate, String, SalesFigures), ApiError> {
    let snapshot = snapshot::read(tx).await?;
    // The snapshot set the transaction's zone to the store's.
    let today: NaiveDate = sqlx::query_scalar("SELECT current_date")
        .fetch_one(tx.conn())
        .await?;
    let period = Period {
        dates: Dates {
            from: today,
            to: today + chrono::Days::new(1),
        },
        interval: Interval::Day,
    };
    let rows = sums_per_bucket(tx, period, DatedBy::Transaction, &snapshot).await?;
    let totals = rows.iter().fold(Sums::default(), |sum, row| sum + row.sums);
    Ok((today, snapshot.time_zone, SalesFigures::from(totals)))
}

/// A bucket's start (with the store's offset) and its sums.
#[derive(sqlx::FromRow)]
pub struct BucketSums {
    pub start: String,
    #[sqlx(flatten)]
    pub sums: Sums,
}

/// The sums of each bucket of `period` (zeros included), dated by `dated_by`,
/// in the report's `snapshot`.
pub async fn sums_per_bucket(
    tx: &mut StoreTx,
    period: Period,
    dated_by: DatedBy,
    snapshot: &Snapshot,
) -> Result<Vec<BucketSums>, ApiError> {
    let per_bucket = match period.interval {
        Interval::Hour => SALES_PER_HOUR,
        _ => SALES_PER_DAY,
    };
    Ok(sqlx::query_as(per_bucket)
        .bind(tx.store.id)
        .bind(dated_by.name())
        .bind(period.dates.from)
        .bind(period.dates.to)
        .bind(&snapshot.time_zone)
        .bind(period.interval.unit())
        .bind(&snapshot.folded_below)
        .fetch_all(tx.conn())
        .await?)
}

async fn sales_of(
    tx: &mut StoreTx,
    period: Period,
    dated_by: DatedBy,
    snapshot: &Snapshot,
) -> Result<SalesPeriod, ApiError> {
    let rows = sums_per_bucket(tx, period, dated_by, snapshot).await?;
    let totals = rows.iter().fold(Sums::default(), |sum, row| sum + row.sums);
    Ok(SalesPeriod {
        from: period.dates.from,
        to: period.dates.to,
        totals: totals.into(),
        series: rows
            .into_iter()
            .map(|row| SalesBucket {
                start: row.start,
                figures: row.sums.into(),
            })
            .collect(),
    })
}

/// The columns of a sales rollup's sums, for `concat!`.
macro_rules! sums {
    () => {
        "orders, units, gross_minor, discounts_minor, returns_minor, returned_units, covers, covered_sales_minor"
    };
}

/// A sales rollup's upsert: the sums added to a row that exists.
macro_rules! add_sums {
    () => {
        "DO UPDATE SET orders = r.orders + excluded.orders, units = r.units + excluded.units, \
            gross_minor = r.gross_minor + excluded.gross_minor, \
            discounts_minor = r.discounts_minor + excluded.discounts_minor, \
            returns_minor = r.returns_minor + excluded.returns_minor, \
            returned_units = r.returned_units + excluded.returned_units, \
            covers = r.covers + excluded.covers, \
            covered_sales_minor = r.covered_sales_minor + excluded.covered_sales_minor"
    };
}

/// The sums of the rows `h` of a bucket, zeros when it has none, for `concat!`.
macro_rules! bucket_sums {
    () => {
        "coalesce(sum(h.orders), 0)::bigint AS orders, coalesce(sum(h.units), 0)::bigint AS units, \
        coalesce(sum(h.gross_minor), 0)::bigint AS gross_minor, \
        coalesce(sum(h.discounts_minor), 0)::bigint AS discounts_minor, \
        coalesce(sum(h.returns_minor), 0)::bigint AS returns_minor, \
        coalesce(sum(h.returned_units), 0)::bigint AS returned_units, \
        coalesce(sum(h.covers), 0)::bigint AS covers, \
        coalesce(sum(h.covered_sales_minor), 0)::bigint AS covered_sales_minor"
    };
}

/// Sales per store and local hour, once dated by the event, once by the
/// order; and the same hours summed per local day (every local hour lies in
/// one local day), which reports of days, weeks and months read.
pub const ROLLUP: Rollup = Rollup {
    tables: &["sales_by_hour", "sales_by_day"],
    fold: concat!(
        "WITH hours AS ( \
            SELECT f.store_id, d.dated_by, \
                local_hour_start(CASE d.dated_by WHEN 'transaction' THEN f.occurred_at ELSE f.ordered_at END, $4) \
                    AS hour_start, \
                sum(f.orders) AS orders, sum(f.units) AS units, sum(f.gross_minor) AS gross_minor, \
                sum(f.discounts_minor) AS discounts_minor, sum(f.returns_minor) AS returns_minor, \
                sum(f.returned_units) AS returned_units, sum(f.covers) AS covers, \
                sum(f.covered_sales_minor) AS covered_sales_minor \
            FROM sales_facts f CROSS JOIN (VALUES ('transaction'), ('order')) AS d (dated_by) \
            WHERE f.store_id = $1 AND f.xid >= $2::xid8 AND f.xid < $3::xid8 \
            GROUP BY 1, 2, 3 \
        ), hourly AS ( \
            INSERT INTO sales_by_hour AS r (store_id, dated_by, hour_start, ",
        sums!(),
        ") SELECT * FROM hours ORDER BY 1, 2, 3 \
            ON CONFLICT (store_id, dated_by, hour_start) ",
        add_sums!(),
        ") INSERT INTO sales_by_day AS r (store_id, dated_by, day, ",
        sums!(),
        ") SELECT store_id, dated_by, (hour_start AT TIME ZONE $4)::date, sum(orders), sum(units), \
            sum(gross_minor), sum(discounts_minor), sum(returns_minor), sum(returned_units), sum(covers), \
            sum(covered_sales_minor) \
        FROM hours GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
        ON CONFLICT (store_id, dated_by, day) ",
        add_sums!()
    ),
};

/// The sums of store $1's sales dated by $2 per hour from
/// local date $3 to $4 in zone $5 (the transaction's zone): the hourly
/// rollup plus the facts past the fold's mark $7 (`Snapshot::folded_below`).
/// Buckets with no sales come out as zeros.
const SALES_PER_HOUR: &str = concat!(
    "WITH bounds AS ( \
        SELECT $3::date::timestamp AT TIME ZONE $5 AS start, $4::date::timestamp AT TIME ZONE $5 AS stop \
    ), hours AS ( \
        SELECT r.hour_start, r.orders, r.units, r.gross_minor, r.discounts_minor, r.returns_minor, \
            r.returned_units, r.covers, r.covered_sales_minor \
        FROM sales_by_hour r, bounds b \
        WHERE $7::xid8 IS NOT NULL AND r.store_id = $1 AND r.dated_by = $2 AND r.hour_start >= b.start AND r.hour_start < b.stop \
        UNION ALL \
        SELECT local_hour_start(t.dated, $5), t.orders, t.units, t.gross_minor, t.discounts_minor, \
            t.returns_minor, t.returned_units, t.covers, t.covered_sales_minor \
        FROM (SELECT CASE $2 WHEN 'transaction' THEN f.occurred_at ELSE f.ordered_at END AS dated, f.* \
              FROM sales_facts f \
              WHERE f.store_id = $1 AND f.xid BETWEEN coalesce($7::xid8, '1') AND newest_xid()) t, \
            bounds b \
        WHERE t.dated >= b.start AND t.dated < b.stop \
    ) \
    SELECT to_char(k.start, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') AS start, ",
    bucket_sums!(),
    " FROM report_buckets($3, $4, $6, $5) AS k (start) \
    LEFT JOIN hours h ON bucket_start(h.hour_start, $6, $5) = k.start \
    GROUP BY k.start ORDER BY k.start"
);

/// [`SALES_PER_HOUR`] for buckets of whole days (day, week, month $6): the
/// day rollup plus the facts past the mark, by local date.
const SALES_PER_DAY: &str = concat!(
    "WITH days AS ( \
        SELECT r.day, ",
    sums!(),
    " FROM sales_by_day r \
        WHERE $7::xid8 IS NOT NULL AND r.store_id = $1 AND r.dated_by = $2 AND r.day >= $3 AND r.day < $4 \
        UNION ALL \
        SELECT (t.dated AT TIME ZONE $5)::date, ",
    sums!(),
    " FROM (SELECT CASE $2 WHEN 'transaction' THEN f.occurred_at ELSE f.ordered_at END AS dated, f.* \
              FROM sales_facts f \
              WHERE f.store_id = $1 AND f.xid BETWEEN coalesce($7::xid8, '1') AND newest_xid()) t \
        WHERE t.dated >= $3::date::timestamp AT TIME ZONE $5 AND t.dated < $4::date::timestamp AT TIME ZONE $5 \
    ) \
    SELECT to_char(k.first_day::timestamp AT TIME ZONE $5, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') AS start, ",
    bucket_sums!(),
    " FROM report_days($3, $4, $6) AS k (first_day) LEFT JOIN days h ON date_trunc($6, h.day)::date = k.first_day \
    GROUP BY k.first_day ORDER BY k.first_day"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_sales_take_discounts_and_returns_off_gross() {
        let figures = SalesFigures::from(Sums {
            orders: 2,
            units: 5,
            gross_minor: 5000,
            discounts_minor: 500,
            returns_minor: 1000,
            returned_units: 1,
            ..Sums::default()
        });
        assert_eq!(figures.net_sales_minor, 3500);
        assert_eq!(figures.average_order_value_minor, Some(2250));
        assert_eq!((figures.units_sold, figures.units_returned), (5, 1));
    }
}
