//! Hospitality: rooms (occupancy, ADR, RevPAR, length of stay, lead time)
//! per night of stay, and tables (covers, average check per cover) per day
//! of sale (docs/analytics.md, "Hospitality").

use chrono::NaiveDate;
use serde::Serialize;

use super::export::{Cell, Table, compared_rows};
use super::period::{Interval, Period, with_previous};
use super::ratio::{average, hundredths, percent};
use super::rollup::Rollup;
use super::sales::{self, DatedBy};
use super::snapshot::{self, Snapshot};
use crate::db::StoreTx;
use crate::error::ApiError;

/// What a bucket of nights holds, straight from the rollups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct RoomSums {
    pub room_nights_sold: i64,
    pub room_nights_available: i64,
    pub room_revenue_minor: i64,
    pub stays: i64,
    pub stay_nights: i64,
    pub lead_days: i64,
}

summable!(RoomSums {
    room_nights_sold,
    room_nights_available,
    room_revenue_minor,
    stays,
    stay_nights,
    lead_days
});

/// The hospitality figures of a bucket or a period.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HospitalityFigures {
    /// Rooms sold for the nights of the bucket, net of refunds.
    pub room_nights_sold: i64,
    /// Rooms there were: capacity per night × nights.
    pub room_nights_available: i64,
    /// Sold ÷ available, percent with two decimals.
    pub occupancy_percent: Option<f64>,
    /// What those nights sold for, after discounts and refunds.
    pub room_revenue_minor: i64,
    /// Average daily rate: revenue ÷ room nights sold, rounded half up.
    pub adr_minor: Option<i64>,
    /// Revenue per available room: revenue ÷ room nights available.
    pub revpar_minor: Option<i64>,
    /// Rooms arriving on the bucket's nights, as paid.
    pub arrivals: i64,
    /// Their room nights ÷ arrivals, two decimals.
    pub average_length_of_stay_nights: Option<f64>,
    /// Days from the order's day to arrival, averaged over arrivals, two decimals.
    pub average_lead_time_days: Option<f64>,
    /// Guests of table orders paid in the bucket (their party sizes).
    pub covers: i64,
    /// What those orders sold (after discounts) ÷ covers, rounded half up.
    pub average_check_per_cover_minor: Option<i64>,
}

impl HospitalityFigures {
    fn of(rooms: RoomSums, covers: i64, covered_sales_minor: i64) -> Self {
        let r = rooms;
        Self {
            room_nights_sold: r.room_nights_sold,
            room_nights_available: r.room_nights_available,
            occupancy_percent: percent(r.room_nights_sold, r.room_nights_available),
            room_revenue_minor: r.room_revenue_minor,
            adr_minor: average(r.room_revenue_minor, r.room_nights_sold),
            revpar_minor: average(r.room_revenue_minor, r.room_nights_available),
            arrivals: r.stays,
            average_length_of_stay_nights: hundredths(r.stay_nights, r.stays),
            average_lead_time_days: hundredths(r.lead_days, r.stays),
            covers,
            average_check_per_cover_minor: average(covered_sales_minor, covers),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HospitalityBucket {
    /// The bucket's first night (`2026-03-29`).
    pub start: NaiveDate,
    #[serde(flatten)]
    pub figures: HospitalityFigures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HospitalityPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: HospitalityFigures,
    pub series: Vec<HospitalityBucket>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HospitalityReport {
    pub currency: String,
    pub time_zone: String,
    pub interval: Interval,
    pub current: HospitalityPeriod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<HospitalityPeriod>,
}

impl HospitalityReport {
    pub fn table(&self) -> Table {
        let rows = compared_rows(&self.current, self.previous.as_ref(), |period| {
            period
                .series
                .iter()
                .map(|bucket| {
                    let f = bucket.figures;
                    vec![
                        Cell::from(bucket.start.to_string()),
                        f.room_nights_sold.into(),
                        f.room_nights_available.into(),
                        f.occupancy_percent.into(),
                        f.room_revenue_minor.into(),
                        f.adr_minor.into(),
                        f.revpar_minor.into(),
                        f.arrivals.into(),
                        f.average_length_of_stay_nights.into(),
                        f.average_lead_time_days.into(),
                        f.covers.into(),
                        f.average_check_per_cover_minor.into(),
                    ]
                })
                .collect()
        });
        Table {
            header: &[
                "period",
                "start",
                "room_nights_sold",
                "room_nights_available",
                "occupancy_percent",
                "room_revenue_minor",
                "adr_minor",
                "revpar_minor",
                "arrivals",
                "average_length_of_stay_nights",
                "average_lead_time_days",
                "covers",
                "average_check_per_cover_minor",
            ],
            rows,
        }
    }
}

/// Nights are whole days: a report of hours has nothing to say about them.
pub fn check_interval(period: &Period) -> Result<(), String> {
    match period.interval {
        Interval::Hour => Err("nights are counted by day, week or month".to_owned()),
        _ => Ok(()),
    }
}

pub async fn report(tx: &mut StoreTx, period: Period, compare: bool) -> Result<HospitalityReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let (current, previous) = with_previous(tx, period, compare, async |tx, period| {
        hospitality_of(tx, period, &snapshot).await
    })
    .await?;
    Ok(HospitalityReport {
        currency: tx.store.currency.clone(),
        time_zone: snapshot.time_zone,
        interval: period.interval,
        current,
        previous,
    })
}

#[derive(sqlx::FromRow)]
struct BucketRooms {
    start: NaiveDate,
    #[sqlx(flatten)]
    rooms: RoomSums,
}

async fn hospitality_of(
    tx: &mut StoreTx,
    period: Period,
    snapshot: &Snapshot,
) -> Result<HospitalityPeriod, ApiError> {
    let rooms: Vec<BucketRooms> = sqlx::query_as(ROOMS_PER_BUCKET)
        .bind(tx.store.id)
        .bind(period.dates.from)
        .bind(period.dates.to)
        .bind(&snapshot.time_zone)
        .bind(period.interval.unit())
        .bind(&snapshot.folded_below)
        .fetch_all(tx.conn())
        .await?;
    // Covers are sales: the table orders paid in each bucket.
    let tables = sales::sums_per_bucket(tx, period, DatedBy::Transaction, snapshot).await?;
    if rooms.len() != tables.len() {
        return Err(ApiError::Internal(format!(
            "{} buckets of nights, {} of sales",
            rooms.len(),
            tables.len()
        )));
    }
    let mut series = Vec::with_capacity(rooms.len());
    let (mut room_totals, mut covers, mut covered) = (RoomSums::default(), 0, 0);
    for (bucket, sold) in rooms.into_iter().zip(tables) {
        room_totals = room_totals + bucket.rooms;
        covers += sold.sums.covers;
        covered += sold.sums.covered_sales_minor;
        series.push(HospitalityBucket {
            start: bucket.start,
            figures: HospitalityFigures::of(bucket.rooms, sold.sums.covers, sold.sums.covered_sales_minor),
        });
    }
    Ok(HospitalityPeriod {
        from: period.dates.from,
        to: period.dates.to,
        totals: HospitalityFigures::of(room_totals, covers, covered),
        series,
    })
}

/// Room nights sold and their revenue, per night and room product.
pub const NIGHTS_ROLLUP: Rollup = Rollup {
    tables: &["room_nights"],
    fold: "\
    INSERT INTO room_nights AS r (store_id, night, product_id, rooms, revenue_minor) \
    SELECT f.store_id, f.night, f.product_id, sum(f.units - f.returned_units), \
        sum(f.gross_minor - f.discounts_minor - f.returns_minor) \
    FROM sales_facts f \
    WHERE f.store_id = $1 AND f.xid >= $2::xid8 AND f.xid < $3::xid8 AND f.night IS NOT NULL \
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
    ON CONFLICT (store_id, night, product_id) DO UPDATE SET \
        rooms = r.rooms + excluded.rooms, revenue_minor = r.revenue_minor + excluded.revenue_minor",
};

/// Stays as paid, per night of arrival and room product.
pub const STAYS_ROLLUP: Rollup = Rollup {
    tables: &["room_stays"],
    fold: "\
    INSERT INTO room_stays AS r (store_id, arrival, product_id, stays, room_nights, lead_days) \
    SELECT $1, s.arrival, s.product_id, sum(s.rooms), sum(s.room_nights), sum(s.lead_days) \
    FROM room_stays_paid($1, $2::xid8, $3::xid8, $4) s \
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
    ON CONFLICT (store_id, arrival, product_id) DO UPDATE SET \
        stays = r.stays + excluded.stays, room_nights = r.room_nights + excluded.room_nights, \
        lead_days = r.lead_days + excluded.lead_days",
};

/// Store $1's rooms per bucket of unit $5 of the nights from $2 to $3 (in
/// zone $4): the rollups plus what was paid or refunded past the fold's
/// mark $6 (`Snapshot::folded_below`). Rooms available: the capacity of every active
/// room product, and of any other room product with a night sold then.
const ROOMS_PER_BUCKET: &str = "\
    WITH sold AS ( \
        SELECT r.night, r.product_id, r.rooms, r.revenue_minor FROM room_nights r \
        WHERE $6::xid8 IS NOT NULL AND r.store_id = $1 AND r.night >= $2 AND r.night < $3 \
        UNION ALL \
        SELECT f.night, f.product_id, f.units - f.returned_units, \
            f.gross_minor - f.discounts_minor - f.returns_minor \
        FROM sales_facts f \
        WHERE f.store_id = $1 AND f.xid BETWEEN coalesce($6::xid8, '1') AND newest_xid() AND f.night >= $2 AND f.night < $3 \
    ), stays AS ( \
        SELECT s.arrival, s.stays, s.room_nights, s.lead_days FROM room_stays s \
        WHERE $6::xid8 IS NOT NULL AND s.store_id = $1 AND s.arrival >= $2 AND s.arrival < $3 \
        UNION ALL \
        SELECT p.arrival, p.rooms, p.room_nights, p.lead_days \
        FROM room_stays_paid($1, coalesce($6::xid8, '1'), newest_xid(), $4) p \
        WHERE p.arrival >= $2 AND p.arrival < $3 \
    ), open_rooms AS ( \
        SELECT coalesce(sum(capacity), 0) AS capacity FROM products \
        WHERE store_id = $1 AND kind = 'room_night' AND status = 'active' \
    ), nights AS ( \
        SELECT n::date AS night FROM generate_series($2::date, $3::date - 1, interval '1 day') n \
    ), sold_nights AS ( \
        SELECT night, sum(rooms) AS rooms, sum(revenue_minor) AS revenue FROM sold GROUP BY night \
    ), closed_rooms_sold AS ( \
        SELECT s.night, sum(p.capacity) AS capacity \
        FROM (SELECT DISTINCT night, product_id FROM sold) s JOIN products p ON p.id = s.product_id \
        WHERE p.kind = 'room_night' AND p.status <> 'active' GROUP BY s.night \
    ), arrivals AS ( \
        SELECT arrival, sum(stays) AS stays, sum(room_nights) AS stay_nights, sum(lead_days) AS lead_days \
        FROM stays GROUP BY arrival \
    ), per_night AS ( \
        SELECT n.night, coalesce(s.rooms, 0) AS rooms, coalesce(s.revenue, 0) AS revenue, \
            o.capacity + coalesce(c.capacity, 0) AS available, coalesce(a.stays, 0) AS stays, \
            coalesce(a.stay_nights, 0) AS stay_nights, coalesce(a.lead_days, 0) AS lead_days \
        FROM nights n CROSS JOIN open_rooms o \
        LEFT JOIN sold_nights s ON s.night = n.night \
        LEFT JOIN closed_rooms_sold c ON c.night = n.night \
        LEFT JOIN arrivals a ON a.arrival = n.night \
    ) \
    SELECT date_trunc($5, night)::date AS start, sum(rooms)::bigint AS room_nights_sold, \
        sum(available)::bigint AS room_nights_available, sum(revenue)::bigint AS room_revenue_minor, \
        sum(stays)::bigint AS stays, sum(stay_nights)::bigint AS stay_nights, sum(lead_days)::bigint AS lead_days \
    FROM per_night GROUP BY 1 ORDER BY 1";
