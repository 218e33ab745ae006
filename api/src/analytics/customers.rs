//! Customers: new and returning per bucket, repeat purchases, cohorts by
//! the month of their first purchase, and RFM segments (docs/analytics.md,
//! "Customers"). Only orders with a customer count; a customer's purchase
//! is an order paid, dated by its payment.

use chrono::NaiveDate;
use serde::Serialize;

use super::export::{Cell, Table, compared_rows};
use super::period::{Dates, Interval, Period, with_previous};
use super::ratio::{average, hundredths, percent};
use super::rollup::Rollup;
use super::snapshot::{self, Snapshot};
use crate::db::StoreTx;
use crate::error::ApiError;

/// Each customer's orders and net sales per local hour, and the hour of
/// their first order (orders paid never go down: refunds count none).
pub const ROLLUP: Rollup = Rollup {
    tables: &["customer_hours", "customer_firsts"],
    fold: "\
    WITH hours AS ( \
        SELECT f.store_id, f.customer_id, local_hour_start(f.occurred_at, $4) AS hour_start, \
            sum(f.orders) AS orders, sum(f.gross_minor - f.discounts_minor - f.returns_minor) AS net_minor \
        FROM sales_facts f \
        WHERE f.store_id = $1 AND f.xid >= $2::xid8 AND f.xid < $3::xid8 AND f.customer_id IS NOT NULL \
        GROUP BY 1, 2, 3 \
    ), hourly AS ( \
        INSERT INTO customer_hours AS r (store_id, customer_id, hour_start, orders, net_minor) \
        SELECT * FROM hours ORDER BY 1, 2, 3 \
        ON CONFLICT (store_id, customer_id, hour_start) DO UPDATE SET \
            orders = r.orders + excluded.orders, net_minor = r.net_minor + excluded.net_minor \
    ) \
    INSERT INTO customer_firsts AS r (store_id, customer_id, first_hour) \
    SELECT store_id, customer_id, min(hour_start) FROM hours WHERE orders > 0 GROUP BY 1, 2 ORDER BY 1, 2 \
    ON CONFLICT (store_id, customer_id) DO UPDATE SET first_hour = least(r.first_hour, excluded.first_hour)",
};

/// The customers' activity from instant `$start` to `$stop`: the rollup
/// and the facts past the fold's mark (`Snapshot::folded_below`, the
/// parameter `$mark`), for `concat!` into the reports below ($1 the store,
/// $4 the zone). The bounds are local midnights, so an hour lies within
/// them exactly when its facts do.
macro_rules! activity {
    ($mark:literal, $start:literal, $stop:literal) => {
        concat!(
            "activity AS ( \
                SELECT c.customer_id, c.hour_start, c.orders, c.net_minor FROM customer_hours c \
                WHERE ",
            $mark,
            "::xid8 IS NOT NULL AND c.store_id = $1 AND c.hour_start >= ",
            $start,
            " AND c.hour_start < ",
            $stop,
            " UNION ALL \
                SELECT f.customer_id, local_hour_start(f.occurred_at, $4), f.orders, \
                    f.gross_minor - f.discounts_minor - f.returns_minor \
                FROM sales_facts f \
                WHERE f.store_id = $1 AND f.customer_id IS NOT NULL \
                    AND f.xid BETWEEN coalesce(",
            $mark,
            "::xid8, '1') AND newest_xid() AND f.occurred_at >= ",
            $start,
            " AND f.occurred_at < ",
            $stop,
            ")"
        )
    };
}

/// The customers whose first order ever was paid from instant `$start` to
/// `$stop`, with its hour (`firsts`): from the rollup (`customer_firsts`)
/// or from the facts past the fold's mark `$mark` (`tail_firsts`),
/// whichever is earlier, each customer from exactly one of them; for
/// `concat!` ($1 the store, $4 the zone).
macro_rules! first_orders {
    ($mark:literal, $start:literal, $stop:literal) => {
        concat!(
            "tail_firsts AS ( \
                SELECT f.customer_id, min(local_hour_start(f.occurred_at, $4)) AS first_hour \
                FROM sales_facts f \
                WHERE f.store_id = $1 AND f.customer_id IS NOT NULL AND f.orders > 0 \
                    AND f.xid BETWEEN coalesce(",
            $mark,
            "::xid8, '1') AND newest_xid() \
                GROUP BY f.customer_id \
            ), firsts AS ( \
                SELECT f.customer_id, f.first_hour FROM customer_firsts f \
                WHERE ",
            $mark,
            "::xid8 IS NOT NULL AND f.store_id = $1 AND f.first_hour >= ",
            $start,
            " AND f.first_hour < ",
            $stop,
            " AND NOT EXISTS (SELECT 1 FROM tail_firsts t \
                        WHERE t.customer_id = f.customer_id AND t.first_hour < f.first_hour) \
                UNION ALL \
                SELECT t.customer_id, t.first_hour FROM tail_firsts t \
                WHERE t.first_hour >= ",
            $start,
            " AND t.first_hour < ",
            $stop,
            " AND NOT EXISTS (SELECT 1 FROM customer_firsts f WHERE ",
            $mark,
            "::xid8 IS NOT NULL \
                        AND f.store_id = $1 AND f.customer_id = t.customer_id AND f.first_hour <= t.first_hour) \
            )"
        )
    };
}

// ---- New and returning, per bucket ----

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct CustomerCounts {
    /// Customers with an order paid in the bucket.
    pub customers: i64,
    /// Those whose first order ever was paid in the bucket.
    pub new_customers: i64,
    /// The others: they had bought before.
    pub returning_customers: i64,
    /// Their orders paid in the bucket.
    pub orders: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerBucket {
    pub start: String,
    #[serde(flatten)]
    pub counts: CustomerCounts,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The whole period: each customer once, however many buckets they bought in.
    pub totals: CustomerCounts,
    /// Customers with 2 or more orders in the period ÷ customers, percent.
    pub repeat_purchase_percent: Option<f64>,
    pub series: Vec<CustomerBucket>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomersReport {
    pub time_zone: String,
    pub interval: Interval,
    pub current: CustomerPeriod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<CustomerPeriod>,
}

impl CustomersReport {
    pub fn table(&self) -> Table {
        let rows = compared_rows(&self.current, self.previous.as_ref(), |period| {
            period
                .series
                .iter()
                .map(|bucket| {
                    let c = bucket.counts;
                    vec![
                        Cell::from(bucket.start.as_str()),
                        c.customers.into(),
                        c.new_customers.into(),
                        c.returning_customers.into(),
                        c.orders.into(),
                    ]
                })
                .collect()
        });
        Table {
            header: &[
                "period",
                "start",
                "customers",
                "new_customers",
                "returning_customers",
                "orders",
            ],
            rows,
        }
    }
}

pub async fn customers_report(
    tx: &mut StoreTx,
    period: Period,
    compare: bool,
) -> Result<CustomersReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let (current, previous) = with_previous(tx, period, compare, async |tx, period| {
        customers_of(tx, period, &snapshot).await
    })
    .await?;
    Ok(CustomersReport {
        time_zone: snapshot.time_zone,
        interval: period.interval,
        current,
        previous,
    })
}

#[derive(sqlx::FromRow)]
struct BucketCounts {
    /// Null for the row of the whole period.
    start: Option<String>,
    #[sqlx(flatten)]
    counts: CustomerCounts,
    repeat_customers: i64,
}

async fn customers_of(
    tx: &mut StoreTx,
    period: Period,
    snapshot: &Snapshot,
) -> Result<CustomerPeriod, ApiError> {
    let rows: Vec<BucketCounts> = sqlx::query_as(CUSTOMERS_PER_BUCKET)
        .bind(tx.store.id)
        .bind(period.dates.from)
        .bind(period.dates.to)
        .bind(&snapshot.time_zone)
        .bind(period.interval.unit())
        .bind(&snapshot.folded_below)
        .fetch_all(tx.conn())
        .await?;
    let (whole, buckets): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| row.start.is_none());
    let whole = whole
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("no row for the whole period".to_owned()))?;
    Ok(CustomerPeriod {
        from: period.dates.from,
        to: period.dates.to,
        totals: whole.counts,
        repeat_purchase_percent: percent(whole.repeat_customers, whole.counts.customers),
        series: buckets
            .into_iter()
            .map(|row| CustomerBucket {
                start: row.start.unwrap_or_default(),
                counts: row.counts,
            })
            .collect(),
    })
}

/// Per bucket of unit $5 from local date $2 to $3 in zone $4, and once for
/// the whole period (start null): customers of store $1 who paid an order,
/// those whose first order ever it was, and their orders; for the whole
/// period also those with two orders or more: the hourly rollup and the
/// first orders (`customer_firsts`) of the period, plus the payments past
/// the fold's mark $6 (`Snapshot::folded_below`). A customer's first order
/// is the earlier of the rollup's and the tail's: `firsts` takes each from
/// exactly one of them.
const CUSTOMERS_PER_BUCKET: &str = concat!(
    "\
    WITH bounds AS ( \
        SELECT $2::date::timestamp AT TIME ZONE $4 AS start, $3::date::timestamp AT TIME ZONE $4 AS stop \
    ), tail AS ( \
        SELECT f.customer_id, local_hour_start(f.occurred_at, $4) AS hour_start, f.orders \
        FROM sales_facts f \
        WHERE f.store_id = $1 AND f.customer_id IS NOT NULL AND f.orders > 0 \
            AND f.xid BETWEEN coalesce($6::xid8, '1') AND newest_xid() \
    ), bought AS ( \
        SELECT u.customer_id, bucket_start(u.hour_start, $5, $4) AS bucket, u.orders \
        FROM ( \
            SELECT c.customer_id, c.hour_start, c.orders FROM customer_hours c, bounds b \
            WHERE $6::xid8 IS NOT NULL AND c.store_id = $1 AND c.orders > 0 \
                AND c.hour_start >= b.start AND c.hour_start < b.stop \
            UNION ALL \
            SELECT t.customer_id, t.hour_start, t.orders FROM tail t, bounds b \
            WHERE t.hour_start >= b.start AND t.hour_start < b.stop \
        ) u \
    ), ",
    first_orders!(
        "$6",
        "($2::date::timestamp AT TIME ZONE $4)",
        "($3::date::timestamp AT TIME ZONE $4)"
    ),
    ", new_firsts AS ( \
        SELECT bucket_start(first_hour, $5, $4) AS bucket FROM firsts \
    ), per_customer AS ( \
        SELECT customer_id, sum(orders) AS orders FROM bought GROUP BY customer_id \
    ), per_bucket AS ( \
        SELECT bucket, count(DISTINCT customer_id) AS customers, sum(orders) AS orders FROM bought GROUP BY bucket \
    ), new_per_bucket AS ( \
        SELECT bucket, count(*) AS customers FROM new_firsts GROUP BY bucket \
    ) \
    SELECT to_char(k.start, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') AS start, \
        coalesce(p.customers, 0) AS customers, coalesce(n.customers, 0) AS new_customers, \
        coalesce(p.customers, 0) - coalesce(n.customers, 0) AS returning_customers, \
        coalesce(p.orders, 0)::bigint AS orders, 0::bigint AS repeat_customers \
    FROM report_buckets($2, $3, $5, $4) AS k (start) \
    LEFT JOIN per_bucket p ON p.bucket = k.start \
    LEFT JOIN new_per_bucket n ON n.bucket = k.start \
    UNION ALL \
    SELECT NULL, \
        (SELECT count(*) FROM per_customer), \
        (SELECT count(*) FROM firsts), \
        (SELECT count(*) FROM per_customer) - (SELECT count(*) FROM firsts), \
        (SELECT coalesce(sum(orders), 0) FROM per_customer)::bigint, \
        (SELECT count(*) FROM per_customer WHERE orders >= 2) \
    ORDER BY 1"
);

// ---- Cohorts ----

/// The customers whose first order was paid in one month, and how many of
/// them paid an order in each month since.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Cohort {
    /// The cohort's month (`2026-03`).
    pub month: String,
    /// Customers whose first order was paid that month.
    pub customers: i64,
    /// For month 0 (their first), 1, 2 … up to the current month: how many
    /// of them paid an order that month.
    pub active: Vec<i64>,
    /// `active` ÷ customers, percent to two decimals.
    pub retention_percent: Vec<Option<f64>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CohortsReport {
    pub time_zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub cohorts: Vec<Cohort>,
}

impl CohortsReport {
    pub fn table(&self) -> Table {
        let rows = self
            .cohorts
            .iter()
            .flat_map(|cohort| {
                cohort.active.iter().enumerate().map(|(offset, active)| {
                    vec![
                        Cell::from(cohort.month.as_str()),
                        cohort.customers.into(),
                        (offset as i64).into(),
                        (*active).into(),
                        cohort.retention_percent[offset].into(),
                    ]
                })
            })
            .collect();
        Table {
            header: &[
                "cohort",
                "customers",
                "month_offset",
                "active",
                "retention_percent",
            ],
            rows,
        }
    }
}

#[derive(sqlx::FromRow)]
struct CohortCell {
    month: String,
    months_after: i32,
    active: i64,
}

/// Cohorts of the months from `dates.from`'s to `dates.to`'s (excluded, unless
/// it is not the 1st), each followed up to the current month.
pub async fn cohorts_report(tx: &mut StoreTx, dates: Dates) -> Result<CohortsReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let cells: Vec<CohortCell> = sqlx::query_as(COHORTS)
        .bind(tx.store.id)
        .bind(dates.from)
        .bind(dates.to)
        .bind(&snapshot.time_zone)
        .bind(&snapshot.folded_below)
        .fetch_all(tx.conn())
        .await?;
    let mut cohorts: Vec<Cohort> = Vec::new();
    for cell in cells {
        if cohorts.last().is_none_or(|cohort| cohort.month != cell.month) {
            cohorts.push(Cohort {
                month: cell.month.clone(),
                customers: 0,
                active: Vec::new(),
                retention_percent: Vec::new(),
            });
        }
        let cohort = cohorts.last_mut().expect("pushed above");
        if cell.months_after == 0 {
            cohort.customers = cell.active;
        }
        cohort.active.push(cell.active);
    }
    for cohort in &mut cohorts {
        cohort.retention_percent = cohort
            .active
            .iter()
            .map(|active| percent(*active, cohort.customers))
            .collect();
    }
    Ok(CohortsReport {
        time_zone: snapshot.time_zone,
        from: dates.from,
        to: dates.to,
        cohorts,
    })
}

/// For each month of first orders from $2's to $3's (excluded, unless $3 is
/// not the 1st) in zone $4 and each month since, up to the current one:
/// store $1's customers of that cohort who paid an order that month (0
/// included). The cohorts' first orders come from `customer_firsts`, their
/// months from their activity since; $5 is the fold's mark.
const COHORTS: &str = concat!(
    "WITH ",
    first_orders!(
        "$5",
        "date_trunc('month', $2::date::timestamp AT TIME ZONE $4, $4)",
        "((date_trunc('month', $3::date - 1) + interval '1 month')::timestamp AT TIME ZONE $4)"
    ),
    ", cohorts AS ( \
        SELECT customer_id, date_trunc('month', first_hour, $4) AS cohort FROM firsts \
    ), ",
    activity!(
        "$5",
        "date_trunc('month', $2::date::timestamp AT TIME ZONE $4, $4)",
        "'infinity'::timestamptz"
    ),
    ", months AS ( \
        SELECT DISTINCT a.customer_id, date_trunc('month', a.hour_start, $4) AS month \
        FROM activity a WHERE a.orders > 0 AND a.customer_id IN (SELECT customer_id FROM cohorts) \
    ), grid AS ( \
        SELECT DISTINCT c.cohort, m AS month \
        FROM cohorts c, generate_series(c.cohort, date_trunc('month', now(), $4), interval '1 month') m \
    ), counts AS ( \
        SELECT c.cohort, m.month, count(*) AS active \
        FROM cohorts c JOIN months m ON m.customer_id = c.customer_id GROUP BY c.cohort, m.month \
    ) \
    SELECT to_char(g.cohort, 'YYYY-MM') AS month, \
        ((extract(year FROM g.month AT TIME ZONE $4) - extract(year FROM g.cohort AT TIME ZONE $4)) * 12 \
            + extract(month FROM g.month AT TIME ZONE $4) - extract(month FROM g.cohort AT TIME ZONE $4))::int \
            AS months_after, \
        coalesce(n.active, 0) AS active \
    FROM grid g LEFT JOIN counts n ON n.cohort = g.cohort AND n.month = g.month \
    ORDER BY g.cohort, g.month"
);

// ---- RFM ----

/// The segments, by recency (R) and frequency (F) scores from 1 to 5,
/// the first that matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// R ≥ 4 and F ≥ 4.
    Champions,
    /// R ≥ 3 and F ≥ 3.
    Loyal,
    /// R ≥ 4 and F = 1.
    New,
    /// R ≥ 4 (the rest).
    Promising,
    /// R ≤ 2 and F ≥ 3.
    AtRisk,
    /// R ≤ 2 and F ≤ 2.
    Hibernating,
    /// R = 3 and F ≤ 2.
    NeedsAttention,
}

impl Segment {
    pub const ALL: [Self; 7] = [
        Self::Champions,
        Self::Loyal,
        Self::New,
        Self::Promising,
        Self::AtRisk,
        Self::Hibernating,
        Self::NeedsAttention,
    ];

    /// The segment of recency score `r` and frequency score `f`.
    pub fn of(r: i32, f: i32) -> Self {
        match (r, f) {
            (4.., 4..) => Self::Champions,
            (3.., 3..) => Self::Loyal,
            (4.., 1) => Self::New,
            (4.., _) => Self::Promising,
            (..=2, 3..) => Self::AtRisk,
            (..=2, _) => Self::Hibernating,
            _ => Self::NeedsAttention,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Champions => "champions",
            Self::Loyal => "loyal",
            Self::New => "new",
            Self::Promising => "promising",
            Self::AtRisk => "at_risk",
            Self::Hibernating => "hibernating",
            Self::NeedsAttention => "needs_attention",
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SegmentFigures {
    pub segment: Segment,
    pub customers: i64,
    /// Of the customers who bought in the period, percent.
    pub share_percent: Option<f64>,
    /// Days from their last order to the period's last day, averaged; two decimals.
    pub average_recency_days: Option<f64>,
    /// Orders in the period, averaged; two decimals.
    pub average_orders: Option<f64>,
    /// Net sales in the period, averaged, rounded half up.
    pub average_net_sales_minor: Option<i64>,
    pub net_sales_minor: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RfmReport {
    pub currency: String,
    pub time_zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub customers: i64,
    pub segments: Vec<SegmentFigures>,
}

impl RfmReport {
    pub fn table(&self) -> Table {
        let rows = self
            .segments
            .iter()
            .map(|s| {
                vec![
                    Cell::from(s.segment.name()),
                    s.customers.into(),
                    s.share_percent.into(),
                    s.average_recency_days.into(),
                    s.average_orders.into(),
                    s.average_net_sales_minor.into(),
                    s.net_sales_minor.into(),
                ]
            })
            .collect();
        Table {
            header: &[
                "segment",
                "customers",
                "share_percent",
                "average_recency_days",
                "average_orders",
                "average_net_sales_minor",
                "net_sales_minor",
            ],
            rows,
        }
    }
}

/// A customer's scores and figures.
#[derive(sqlx::FromRow)]
struct Scored {
    recency_score: i32,
    frequency_score: i32,
    recency_days: i64,
    orders: i64,
    net_minor: i64,
}

pub async fn rfm_report(tx: &mut StoreTx, dates: Dates) -> Result<RfmReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let scored: Vec<Scored> = sqlx::query_as(RFM)
        .bind(tx.store.id)
        .bind(dates.from)
        .bind(dates.to)
        .bind(&snapshot.time_zone)
        .bind(&snapshot.folded_below)
        .fetch_all(tx.conn())
        .await?;
    let everyone = scored.len() as i64;
    let segments = Segment::ALL
        .into_iter()
        .map(|segment| {
            let members: Vec<&Scored> = scored
                .iter()
                .filter(|s| Segment::of(s.recency_score, s.frequency_score) == segment)
                .collect();
            let n = members.len() as i64;
            let net: i64 = members.iter().map(|s| s.net_minor).sum();
            SegmentFigures {
                segment,
                customers: n,
                share_percent: percent(n, everyone),
                average_recency_days: hundredths(members.iter().map(|s| s.recency_days).sum(), n),
                average_orders: hundredths(members.iter().map(|s| s.orders).sum(), n),
                average_net_sales_minor: average_signed(net, n),
                net_sales_minor: net,
            }
        })
        .collect();
    Ok(RfmReport {
        currency: tx.store.currency.clone(),
        time_zone: snapshot.time_zone,
        from: dates.from,
        to: dates.to,
        customers: everyone,
        segments,
    })
}

/// An average that may be negative (net sales of refunds): half away from zero.
fn average_signed(total: i64, count: i64) -> Option<i64> {
    average(total.abs(), count).map(|magnitude| magnitude * total.signum())
}

/// Every customer of store $1 with an order paid from local date $2 to $3
/// in zone $4: days from their last order's day to the period's last day,
/// orders and net sales in the period, and their recency and frequency
/// scores: 1 + ⌊5 × the share of customers strictly worse⌋ (at most 5), so
/// equal figures get equal scores. $5 is the fold's mark.
const RFM: &str = concat!(
    "WITH ",
    activity!(
        "$5",
        "($2::date::timestamp AT TIME ZONE $4)",
        "($3::date::timestamp AT TIME ZONE $4)"
    ),
    ", bounds AS ( \
        SELECT $2::date::timestamp AT TIME ZONE $4 AS start, $3::date::timestamp AT TIME ZONE $4 AS stop \
    ), figures AS ( \
        SELECT a.customer_id, \
            ($3::date - 1) - (max(a.hour_start) FILTER (WHERE a.orders > 0) AT TIME ZONE $4)::date AS recency_days, \
            sum(a.orders) AS orders, sum(a.net_minor) AS net_minor \
        FROM activity a, bounds b \
        WHERE a.hour_start >= b.start AND a.hour_start < b.stop \
        GROUP BY a.customer_id HAVING sum(a.orders) > 0 \
    ) \
    SELECT least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY recency_days DESC)))::int AS recency_score, \
        least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY orders)))::int AS frequency_score, \
        recency_days::bigint, orders::bigint, net_minor::bigint \
    FROM figures"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_take_the_first_rule_that_matches() {
        assert_eq!(Segment::of(5, 5), Segment::Champions);
        assert_eq!(Segment::of(4, 4), Segment::Champions);
        assert_eq!(Segment::of(3, 5), Segment::Loyal);
        assert_eq!(Segment::of(5, 3), Segment::Loyal);
        assert_eq!(Segment::of(5, 1), Segment::New);
        assert_eq!(Segment::of(4, 2), Segment::Promising);
        assert_eq!(Segment::of(2, 3), Segment::AtRisk);
        assert_eq!(Segment::of(1, 5), Segment::AtRisk);
        assert_eq!(Segment::of(1, 1), Segment::Hibernating);
        assert_eq!(Segment::of(3, 2), Segment::NeedsAttention);
        assert_eq!(Segment::of(3, 1), Segment::NeedsAttention);
    }

    #[test]
    fn a_negative_average_rounds_away_from_zero_as_a_positive_one_does() {
        assert_eq!(average_signed(-1001, 2), Some(-501));
        assert_eq!(average_signed(1001, 2), Some(501));
        assert_eq!(average_signed(-5, 0), None);
    }
}
