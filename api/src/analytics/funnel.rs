//! The funnel: storefront sessions, and how far each went: product viewed
//! → added to cart → checkout started → purchased (docs/analytics.md,
//! "Funnel").

use chrono::NaiveDate;
use serde::Serialize;

use super::export::{Cell, Table, compared_rows};
use super::period::{Interval, Period, with_previous};
use super::ratio::percent;
use super::rollup::Rollup;
use super::snapshot::{self, Snapshot};
use crate::db::StoreTx;
use crate::error::ApiError;

/// Sessions that reached each step, every step before it included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Steps {
    /// Sessions whose first event was in the bucket.
    pub sessions: i64,
    pub viewed_product: i64,
    pub added_to_cart: i64,
    pub started_checkout: i64,
    pub purchased: i64,
}

summable!(Steps {
    sessions,
    viewed_product,
    added_to_cart,
    started_checkout,
    purchased
});

/// The steps, and the conversion from each to the next, in percent.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FunnelFigures {
    #[serde(flatten)]
    pub steps: Steps,
    /// Viewed ÷ sessions, added ÷ viewed, checkout ÷ added, purchased ÷
    /// checkout: percent with two decimals, rounded half up; null for a
    /// step with nobody before it.
    pub step_conversion_percent: [Option<f64>; 4],
    /// Purchased ÷ sessions.
    pub conversion_percent: Option<f64>,
}

impl From<Steps> for FunnelFigures {
    fn from(steps: Steps) -> Self {
        let s = steps;
        Self {
            steps,
            step_conversion_percent: [
                percent(s.viewed_product, s.sessions),
                percent(s.added_to_cart, s.viewed_product),
                percent(s.started_checkout, s.added_to_cart),
                percent(s.purchased, s.started_checkout),
            ],
            conversion_percent: percent(s.purchased, s.sessions),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FunnelBucket {
    pub start: String,
    #[serde(flatten)]
    pub figures: FunnelFigures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FunnelPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: FunnelFigures,
    pub series: Vec<FunnelBucket>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FunnelReport {
    pub time_zone: String,
    pub interval: Interval,
    pub current: FunnelPeriod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<FunnelPeriod>,
}

impl FunnelReport {
    pub fn table(&self) -> Table {
        let rows = compared_rows(&self.current, self.previous.as_ref(), |period| {
            period
                .series
                .iter()
                .map(|bucket| {
                    let s = bucket.figures.steps;
                    vec![
                        Cell::from(bucket.start.as_str()),
                        s.sessions.into(),
                        s.viewed_product.into(),
                        s.added_to_cart.into(),
                        s.started_checkout.into(),
                        s.purchased.into(),
                        Cell::from(bucket.figures.conversion_percent),
                    ]
                })
                .collect()
        });
        Table {
            header: &[
                "period",
                "start",
                "sessions",
                "viewed_product",
                "added_to_cart",
                "started_checkout",
                "purchased",
                "conversion_percent",
            ],
            rows,
        }
    }
}

pub async fn report(tx: &mut StoreTx, period: Period, compare: bool) -> Result<FunnelReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let (current, previous) = with_previous(tx, period, compare, async |tx, period| {
        funnel_of(tx, period, &snapshot).await
    })
    .await?;
    Ok(FunnelReport {
        time_zone: snapshot.time_zone,
        interval: period.interval,
        current,
        previous,
    })
}

#[derive(sqlx::FromRow)]
struct BucketSteps {
    start: String,
    #[sqlx(flatten)]
    steps: Steps,
}

async fn funnel_of(tx: &mut StoreTx, period: Period, snapshot: &Snapshot) -> Result<FunnelPeriod, ApiError> {
    let per_bucket = match period.interval {
        Interval::Hour => FUNNEL_PER_HOUR,
        _ => FUNNEL_PER_DAY,
    };
    let rows: Vec<BucketSteps> = sqlx::query_as(per_bucket)
        .bind(tx.store.id)
        .bind(period.dates.from)
        .bind(period.dates.to)
        .bind(&snapshot.time_zone)
        .bind(period.interval.unit())
        .bind(&snapshot.folded_below)
        .fetch_all(tx.conn())
        .await?;
    let totals = rows.iter().fold(Steps::default(), |sum, row| sum + row.steps);
    Ok(FunnelPeriod {
        from: period.dates.from,
        to: period.dates.to,
        totals: totals.into(),
        series: rows
            .into_iter()
            .map(|row| FunnelBucket {
                start: row.start,
                figures: row.steps.into(),
            })
            .collect(),
    })
}

/// Each session with the steps it reached, and the sessions per local hour
/// (and per local day) of their first event by depth. A session's depth can
/// grow, and its first event move earlier (a late event): the fold takes it
/// out of where it was counted and adds it where it now belongs.
pub const ROLLUP: Rollup = Rollup {
    tables: &["funnel_sessions", "funnel_by_hour", "funnel_by_day"],
    fold: "\
    WITH changes AS ( \
        SELECT * FROM funnel_changes($1, $2::xid8, $3::xid8, true) \
    ), saved AS ( \
        INSERT INTO funnel_sessions (store_id, session_id, first_seen, steps) \
        SELECT $1, session_id, after_seen, after_steps FROM changes \
        ON CONFLICT (store_id, session_id) DO UPDATE SET first_seen = excluded.first_seen, steps = excluded.steps \
    ), deltas AS ( \
        SELECT local_hour_start(after_seen, $4) AS hour_start, funnel_depth(after_steps) AS depth, 1 AS n \
        FROM changes \
        UNION ALL \
        SELECT local_hour_start(before_seen, $4), funnel_depth(before_steps), -1 \
        FROM changes WHERE before_seen IS NOT NULL \
    ), hourly AS ( \
        INSERT INTO funnel_by_hour AS r (store_id, hour_start, depth, sessions) \
        SELECT $1, hour_start, depth, sum(n) FROM deltas GROUP BY hour_start, depth HAVING sum(n) <> 0 \
            ORDER BY hour_start, depth \
        ON CONFLICT (store_id, hour_start, depth) DO UPDATE SET sessions = r.sessions + excluded.sessions \
    ) \
    INSERT INTO funnel_by_day AS r (store_id, day, depth, sessions) \
    SELECT $1, (hour_start AT TIME ZONE $4)::date, depth, sum(n) FROM deltas GROUP BY 2, 3 HAVING sum(n) <> 0 \
        ORDER BY 2, 3 \
    ON CONFLICT (store_id, day, depth) DO UPDATE SET sessions = r.sessions + excluded.sessions",
};

/// The steps reached by the sessions `h` of a bucket (by depth), for `concat!`.
macro_rules! steps {
    () => {
        "coalesce(sum(h.sessions), 0)::bigint AS sessions, \
        coalesce(sum(h.sessions) FILTER (WHERE h.depth >= 1), 0)::bigint AS viewed_product, \
        coalesce(sum(h.sessions) FILTER (WHERE h.depth >= 2), 0)::bigint AS added_to_cart, \
        coalesce(sum(h.sessions) FILTER (WHERE h.depth >= 3), 0)::bigint AS started_checkout, \
        coalesce(sum(h.sessions) FILTER (WHERE h.depth >= 4), 0)::bigint AS purchased"
    };
}

/// The steps of store $1's sessions per hour from local date $2 to $3 in
/// zone $4 ($5 = 'hour'): the hourly rollup, plus the changes the
/// transactions past the fold's mark $6 (`Snapshot::folded_below`) make to
/// the sessions it folded.
const FUNNEL_PER_HOUR: &str = concat!(
    "WITH bounds AS ( \
        SELECT $2::date::timestamp AT TIME ZONE $4 AS start, $3::date::timestamp AT TIME ZONE $4 AS stop \
    ), changes AS ( \
        SELECT * FROM funnel_changes($1, coalesce($6::xid8, '1'), newest_xid(), $6::xid8 IS NOT NULL) \
    ), hours AS ( \
        SELECT u.* FROM ( \
            SELECT r.hour_start, r.depth, r.sessions FROM funnel_by_hour r WHERE $6::xid8 IS NOT NULL AND r.store_id = $1 \
            UNION ALL \
            SELECT local_hour_start(after_seen, $4), funnel_depth(after_steps), 1 FROM changes \
            UNION ALL \
            SELECT local_hour_start(before_seen, $4), funnel_depth(before_steps), -1 \
            FROM changes WHERE before_seen IS NOT NULL \
        ) u, bounds b \
        WHERE u.hour_start >= b.start AND u.hour_start < b.stop \
    ) \
    SELECT to_char(k.start, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') AS start, ",
    steps!(),
    " FROM report_buckets($2, $3, $5, $4) AS k (start) \
    LEFT JOIN hours h ON bucket_start(h.hour_start, $5, $4) = k.start \
    GROUP BY k.start ORDER BY k.start"
);

/// [`FUNNEL_PER_HOUR`] for buckets of whole days (day, week, month $5): the
/// day rollup plus the changes past the mark, by local date.
const FUNNEL_PER_DAY: &str = concat!(
    "WITH changes AS ( \
        SELECT * FROM funnel_changes($1, coalesce($6::xid8, '1'), newest_xid(), $6::xid8 IS NOT NULL) \
    ), days AS ( \
        SELECT u.* FROM ( \
            SELECT r.day, r.depth, r.sessions FROM funnel_by_day r \
            WHERE $6::xid8 IS NOT NULL AND r.store_id = $1 AND r.day >= $2 AND r.day < $3 \
            UNION ALL \
            SELECT (after_seen AT TIME ZONE $4)::date, funnel_depth(after_steps), 1 FROM changes \
            UNION ALL \
            SELECT (before_seen AT TIME ZONE $4)::date, funnel_depth(before_steps), -1 \
            FROM changes WHERE before_seen IS NOT NULL \
        ) u \
        WHERE u.day >= $2 AND u.day < $3 \
    ) \
    SELECT to_char(k.first_day::timestamp AT TIME ZONE $4, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') AS start, ",
    steps!(),
    " FROM report_days($2, $3, $5) AS k (first_day) LEFT JOIN days h ON date_trunc($5, h.day)::date = k.first_day \
    GROUP BY k.first_day ORDER BY k.first_day"
);
