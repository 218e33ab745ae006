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

/// Each customer's orders and net sales per local hour (RFM's figures, and
/// the orders `COUNTS_ROLLUP` reads).
pub const ROLLUP: Rollup = Rollup {
    tables: &["customer_hours"],
    fold: "\
    INSERT INTO customer_hours AS r (store_id, customer_id, hour_start, orders, net_minor) \
    SELECT f.store_id, f.customer_id, local_hour_start(f.occurred_at, $4), \
        sum(f.orders), sum(f.gross_minor - f.discounts_minor - f.returns_minor) \
    FROM sales_facts f \
    WHERE f.store_id = $1 AND f.xid >= $2::xid8 AND f.xid < $3::xid8 AND f.customer_id IS NOT NULL \
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
    ON CONFLICT (store_id, customer_id, hour_start) DO UPDATE SET \
        orders = r.orders + excluded.orders, net_minor = r.net_minor + excluded.net_minor",
};

/// Customers counted per hour, day and cohort month (see the migration
/// `customer_activity`): what the new orders change in them. It reads the
/// customers' orders as `customer_hours` has them before this fold, so it
/// folds before `ROLLUP`. Each day's arrays are rewritten whole: the old
/// value at x (its last element past its end) plus the change, which is,
/// at x, the new orders less those with a gap of at most x days (`active`)
/// and those whose second gap is at most x less those whose first is
/// (`repeats`, as a second gap is never shorter than the first).
pub const COUNTS_ROLLUP: Rollup = Rollup {
    tables: &["customer_hour_counts", "customer_days", "customer_cohorts"],
    fold: "\
    WITH changes AS ( \
        SELECT * FROM customer_order_changes($1, $2::xid8, $3::xid8, $4, true) \
    ), hours AS ( \
        INSERT INTO customer_hour_counts AS r (store_id, hour_start, orders, customers, new_customers) \
        SELECT $1, hour_start, sum(weight), coalesce(sum(weight) FILTER (WHERE first_in_hour), 0), \
            coalesce(sum(weight) FILTER (WHERE first_ever), 0) \
        FROM changes GROUP BY hour_start ORDER BY hour_start \
        ON CONFLICT (store_id, hour_start) DO UPDATE SET orders = r.orders + excluded.orders, \
            customers = r.customers + excluded.customers, new_customers = r.new_customers + excluded.new_customers \
    ), cohorts AS ( \
        INSERT INTO customer_cohorts AS r (store_id, cohort, month, customers) \
        SELECT $1, cohort, date_trunc('month', day)::date, sum(weight) \
        FROM changes WHERE first_in_month GROUP BY 2, 3 ORDER BY 2, 3 \
        ON CONFLICT (store_id, cohort, month) DO UPDATE SET customers = r.customers + excluded.customers \
    ), days AS ( \
        SELECT c.day, sum(c.weight) AS orders, coalesce(sum(c.weight) FILTER (WHERE c.first_ever), 0) AS new_customers, \
            greatest(max(c.second_gap_days), max(c.gap_days), cardinality(r.active) - 1, 0) + 1 AS length, \
            r.active, r.repeats \
        FROM changes c LEFT JOIN customer_days r ON r.store_id = $1 AND r.day = c.day \
        GROUP BY c.day, r.active, r.repeats \
    ), first_gaps AS ( \
        SELECT day, gap_days AS gap, sum(weight) AS orders FROM changes WHERE gap_days IS NOT NULL GROUP BY 1, 2 \
    ), second_gaps AS ( \
        SELECT day, second_gap_days AS gap, sum(weight) AS orders FROM changes \
        WHERE second_gap_days IS NOT NULL GROUP BY 1, 2 \
    ), cells AS ( \
        SELECT d.day, x, \
            coalesce(d.active[least(x, cardinality(d.active) - 1) + 1], 0) + d.orders \
                - coalesce(sum(f.orders) OVER w, 0) AS active, \
            coalesce(d.repeats[least(x, cardinality(d.repeats) - 1) + 1], 0) \
                + coalesce(sum(f.orders) OVER w, 0) - coalesce(sum(s.orders) OVER w, 0) AS repeats \
        FROM days d CROSS JOIN generate_series(0, d.length - 1) x \
        LEFT JOIN first_gaps f ON f.day = d.day AND f.gap = x \
        LEFT JOIN second_gaps s ON s.day = d.day AND s.gap = x \
        WINDOW w AS (PARTITION BY d.day ORDER BY x) \
    ) \
    INSERT INTO customer_days AS r (store_id, day, orders, new_customers, active, repeats) \
    SELECT $1, d.day, d.orders, d.new_customers, \
        array_agg(c.active::int ORDER BY c.x), array_agg(c.repeats::int ORDER BY c.x) \
    FROM days d JOIN cells c ON c.day = d.day GROUP BY d.day, d.orders, d.new_customers ORDER BY d.day \
    ON CONFLICT (store_id, day) DO UPDATE SET orders = r.orders + excluded.orders, \
        new_customers = r.new_customers + excluded.new_customers, active = excluded.active, repeats = excluded.repeats",
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
/// those whose first order ever it was, their orders, and for the whole
/// period those with two orders or more. Hours come from
/// `customer_hour_counts`; longer buckets and the whole period from
/// `customer_days`, each a period of its own (a bucket the period cuts
/// starts at $2): a day d of a period from a counts `active[d − a]`
/// customers. The changes of the orders past the fold's mark $6
/// (`Snapshot::folded_below`) are added order by order, by the same rule.
const CUSTOMERS_PER_BUCKET: &str = "\
    WITH bounds AS ( \
        SELECT $2::date::timestamp AT TIME ZONE $4 AS start, $3::date::timestamp AT TIME ZONE $4 AS stop \
    ), changes AS ( \
        SELECT * FROM customer_order_changes($1, coalesce($6::xid8, '1'), newest_xid(), $4, $6::xid8 IS NOT NULL) \
    ), days AS ( \
        SELECT d.day, d.orders, d.new_customers, d.active, d.repeats FROM customer_days d \
        WHERE $6::xid8 IS NOT NULL AND d.store_id = $1 AND d.day >= $2 AND d.day < $3 \
    ), day_changes AS ( \
        SELECT c.* FROM changes c WHERE c.day >= $2 AND c.day < $3 \
    ), counted AS ( \
        SELECT h.hour_start AS bucket, h.orders, h.customers, h.new_customers \
        FROM customer_hour_counts h, bounds b \
        WHERE $5 = 'hour' AND $6::xid8 IS NOT NULL AND h.store_id = $1 \
            AND h.hour_start >= b.start AND h.hour_start < b.stop \
        UNION ALL \
        SELECT c.hour_start, c.weight, c.weight * c.first_in_hour::int, c.weight * c.first_ever::int \
        FROM day_changes c WHERE $5 = 'hour' \
        UNION ALL \
        SELECT k.bucket, d.orders, \
            d.active[least(d.day - greatest((k.bucket AT TIME ZONE $4)::date, $2), cardinality(d.active) - 1) + 1], \
            d.new_customers \
        FROM days d, bucket_start(d.day::timestamp AT TIME ZONE $4, $5, $4) k (bucket) \
        WHERE $5 <> 'hour' \
        UNION ALL \
        SELECT k.bucket, c.weight, \
            c.weight * (c.gap_days IS NULL OR c.gap_days > c.day - greatest((k.bucket AT TIME ZONE $4)::date, $2))::int, \
            c.weight * c.first_ever::int \
        FROM day_changes c, bucket_start(c.day::timestamp AT TIME ZONE $4, $5, $4) k (bucket) \
        WHERE $5 <> 'hour' \
    ), per_bucket AS ( \
        SELECT bucket, sum(orders) AS orders, sum(customers) AS customers, sum(new_customers) AS new_customers \
        FROM counted GROUP BY bucket \
    ), whole AS ( \
        SELECT d.orders, d.new_customers, \
            d.active[least(d.day - $2, cardinality(d.active) - 1) + 1] AS customers, \
            d.repeats[least(d.day - $2, cardinality(d.repeats) - 1) + 1] AS repeat_customers \
        FROM days d \
        UNION ALL \
        SELECT c.weight, c.weight * c.first_ever::int, \
            c.weight * (c.gap_days IS NULL OR c.gap_days > c.day - $2)::int, \
            c.weight * coalesce(c.gap_days <= c.day - $2 AND coalesce(c.second_gap_days > c.day - $2, true), false)::int \
        FROM day_changes c \
    ) \
    SELECT to_char(k.start, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') AS start, \
        coalesce(p.customers, 0)::bigint AS customers, coalesce(p.new_customers, 0)::bigint AS new_customers, \
        coalesce(p.customers - p.new_customers, 0)::bigint AS returning_customers, \
        coalesce(p.orders, 0)::bigint AS orders, 0::bigint AS repeat_customers \
    FROM report_buckets($2, $3, $5, $4) AS k (start) \
    LEFT JOIN per_bucket p ON p.bucket = k.start \
    UNION ALL \
    SELECT NULL, coalesce(sum(customers), 0)::bigint, coalesce(sum(new_customers), 0)::bigint, \
        coalesce(sum(customers) - sum(new_customers), 0)::bigint, coalesce(sum(orders), 0)::bigint, \
        coalesce(sum(repeat_customers), 0)::bigint \
    FROM whole \
    ORDER BY 1";

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
/// included), from `customer_cohorts` and the changes of the orders past
/// the fold's mark $5. A cohort is there when it has customers.
const COHORTS: &str = "\
    WITH range AS ( \
        SELECT date_trunc('month', $2::date)::date AS first, \
            (date_trunc('month', $3::date - 1) + interval '1 month')::date AS stop, \
            date_trunc('month', now() AT TIME ZONE $4)::date AS current \
    ), cells AS ( \
        SELECT c.cohort, c.month, c.customers FROM customer_cohorts c, range r \
        WHERE $5::xid8 IS NOT NULL AND c.store_id = $1 AND c.cohort >= r.first AND c.cohort < r.stop \
        UNION ALL \
        SELECT c.cohort, date_trunc('month', c.day)::date, c.weight \
        FROM customer_order_changes($1, coalesce($5::xid8, '1'), newest_xid(), $4, $5::xid8 IS NOT NULL) c, range r \
        WHERE c.first_in_month AND c.cohort >= r.first AND c.cohort < r.stop \
    ), counts AS ( \
        SELECT cohort, month, sum(customers) AS active FROM cells GROUP BY cohort, month \
    ), grid AS ( \
        SELECT n.cohort, m::date AS month \
        FROM counts n, range r, generate_series(n.cohort, r.current, interval '1 month') m \
        WHERE n.month = n.cohort AND n.active > 0 \
    ) \
    SELECT to_char(g.cohort, 'YYYY-MM') AS month, \
        ((extract(year FROM g.month) - extract(year FROM g.cohort)) * 12 \
            + extract(month FROM g.month) - extract(month FROM g.cohort))::int AS months_after, \
        coalesce(n.active, 0)::bigint AS active \
    FROM grid g LEFT JOIN counts n ON n.cohort = g.cohort AND n.month = g.month \
    ORDER BY g.cohort, g.month";

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

/// The customers of one pair of scores, and the sums of their figures.
#[derive(sqlx::FromRow)]
struct ScoreCell {
    recency_score: i32,
    frequency_score: i32,
    customers: i64,
    recency_days: i64,
    orders: i64,
    net_minor: i64,
}

pub async fn rfm_report(tx: &mut StoreTx, dates: Dates) -> Result<RfmReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let cells: Vec<ScoreCell> = sqlx::query_as(RFM)
        .bind(tx.store.id)
        .bind(dates.from)
        .bind(dates.to)
        .bind(&snapshot.time_zone)
        .bind(&snapshot.folded_below)
        .fetch_all(tx.conn())
        .await?;
    let everyone = cells.iter().map(|cell| cell.customers).sum();
    let segments = Segment::ALL
        .into_iter()
        .map(|segment| {
            let members: Vec<&ScoreCell> = cells
                .iter()
                .filter(|c| Segment::of(c.recency_score, c.frequency_score) == segment)
                .collect();
            let sum = |figure: fn(&ScoreCell) -> i64| members.iter().map(|c| figure(c)).sum::<i64>();
            let (n, net) = (sum(|c| c.customers), sum(|c| c.net_minor));
            SegmentFigures {
                segment,
                customers: n,
                share_percent: percent(n, everyone),
                average_recency_days: hundredths(sum(|c| c.recency_days), n),
                average_orders: hundredths(sum(|c| c.orders), n),
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
/// scores: 1 + ⌊5 × the share of the other customers strictly worse⌋ (at
/// most 5, as `percent_rank` computes it), so equal figures get equal
/// scores. $5 is the fold's mark. The shares come from the customers per
/// pair of figures (a few thousand pairs, where ranking every customer
/// sorted them all twice), and the answer is per pair of scores: how many
/// customers have it and the sums of their figures.
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
    ), pairs AS ( \
        SELECT recency_days, orders, count(*) AS customers, sum(net_minor) AS net_minor \
        FROM figures GROUP BY recency_days, orders \
    ), ranked AS ( \
        SELECT p.*, sum(customers) OVER () - 1 AS others, \
            sum(customers) OVER (ORDER BY recency_days DESC) - sum(customers) OVER (PARTITION BY recency_days) AS longer_ago, \
            sum(customers) OVER (ORDER BY orders) - sum(customers) OVER (PARTITION BY orders) AS fewer_orders \
        FROM pairs p \
    ), scored AS ( \
        SELECT customers, recency_days, orders, net_minor, \
            CASE WHEN others > 0 THEN least(5, 1 + floor(5 * (longer_ago::float8 / others::float8))) ELSE 1 END::int \
                AS recency_score, \
            CASE WHEN others > 0 THEN least(5, 1 + floor(5 * (fewer_orders::float8 / others::float8))) ELSE 1 END::int \
                AS frequency_score \
        FROM ranked \
    ) \
    SELECT recency_score, frequency_score, sum(customers)::bigint AS customers, \
        sum(customers * recency_days)::bigint AS recency_days, sum(customers * orders)::bigint AS orders, \
        sum(net_minor)::bigint AS net_minor \
    FROM scored GROUP BY recency_score, frequency_score"
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
