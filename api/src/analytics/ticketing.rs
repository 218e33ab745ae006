//! Events (ticket products): per event, seats sold against its capacity,
//! how fast they sold, the average price paid, and once it has started,
//! how many came (docs/analytics.md, "Events").

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::export::{Cell, Table};
use super::period::Dates;
use super::ratio::{average, hundredths, percent};
use super::snapshot;
use crate::db::StoreTx;
use crate::error::ApiError;

/// One event, as the rollups and its tickets have it.
#[derive(Debug, sqlx::FromRow)]
struct EventRow {
    product_id: uuid::Uuid,
    title: String,
    starts_at: DateTime<Utc>,
    capacity: i64,
    started: bool,
    tickets_sold: i64,
    revenue_minor: i64,
    first_sale_on: Option<NaiveDate>,
    half_sold_on: Option<NaiveDate>,
    /// Days on sale: from the first sale to today or the event's day, whichever is first.
    days_on_sale: Option<i64>,
    checked_in: i64,
}

/// The figures of one event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventFigures {
    /// The ticket product.
    pub product_id: uuid::Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    /// Seats for sale.
    pub capacity: i64,
    /// Seats paid, less those refunded or cancelled.
    pub tickets_sold: i64,
    /// Sold ÷ capacity, percent to two decimals.
    pub sell_through_percent: Option<f64>,
    /// What the seats sold for after discounts, less refunds.
    pub revenue_minor: i64,
    /// Revenue ÷ tickets sold, rounded half up.
    pub average_ticket_price_minor: Option<i64>,
    /// The local day of the first seat sold.
    pub first_sale_on: Option<NaiveDate>,
    /// Tickets sold ÷ days on sale (from the first sale to today, or to the
    /// event's day once it has come), two decimals.
    pub sales_velocity_per_day: Option<f64>,
    /// Days from the first sale to the day half the seats were sold (as
    /// they stood that day); null until then.
    pub days_to_half_sold: Option<i64>,
    /// Once the event has started: tickets checked in, and their share of
    /// the tickets sold; the rest did not show. Null before it starts.
    pub checked_in: Option<i64>,
    pub check_in_percent: Option<f64>,
    pub no_show_percent: Option<f64>,
}

impl From<EventRow> for EventFigures {
    fn from(e: EventRow) -> Self {
        let came = e.started.then_some(e.checked_in);
        Self {
            product_id: e.product_id,
            title: e.title,
            starts_at: e.starts_at,
            capacity: e.capacity,
            tickets_sold: e.tickets_sold,
            sell_through_percent: percent(e.tickets_sold, e.capacity),
            revenue_minor: e.revenue_minor,
            average_ticket_price_minor: average(e.revenue_minor, e.tickets_sold),
            first_sale_on: e.first_sale_on,
            sales_velocity_per_day: e.days_on_sale.and_then(|days| hundredths(e.tickets_sold, days)),
            days_to_half_sold: e
                .first_sale_on
                .zip(e.half_sold_on)
                .map(|(first, half)| (half - first).num_days()),
            checked_in: came,
            check_in_percent: came.and_then(|came| percent(came, e.tickets_sold)),
            no_show_percent: came.and_then(|came| percent(e.tickets_sold - came, e.tickets_sold)),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventsReport {
    pub currency: String,
    pub time_zone: String,
    /// Events starting from this local date…
    pub from: NaiveDate,
    /// … to this one (excluded), by their start.
    pub to: NaiveDate,
    pub events: Vec<EventFigures>,
}

impl EventsReport {
    pub fn table(&self) -> Table {
        let rows = self
            .events
            .iter()
            .map(|e| {
                vec![
                    Cell::from(e.product_id.to_string()),
                    Cell::from(e.title.as_str()),
                    Cell::from(e.starts_at.to_rfc3339()),
                    e.capacity.into(),
                    e.tickets_sold.into(),
                    e.sell_through_percent.into(),
                    e.revenue_minor.into(),
                    e.average_ticket_price_minor.into(),
                    e.first_sale_on
                        .map_or(Cell::Empty, |day| Cell::from(day.to_string())),
                    e.sales_velocity_per_day.into(),
                    e.days_to_half_sold.into(),
                    e.checked_in.into(),
                    e.check_in_percent.into(),
                    e.no_show_percent.into(),
                ]
            })
            .collect();
        Table {
            header: &[
                "product_id",
                "title",
                "starts_at",
                "capacity",
                "tickets_sold",
                "sell_through_percent",
                "revenue_minor",
                "average_ticket_price_minor",
                "first_sale_on",
                "sales_velocity_per_day",
                "days_to_half_sold",
                "checked_in",
                "check_in_percent",
                "no_show_percent",
            ],
            rows,
        }
    }
}

pub async fn report(tx: &mut StoreTx, dates: Dates) -> Result<EventsReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let rows: Vec<EventRow> = sqlx::query_as(EVENTS)
        .bind(tx.store.id)
        .bind(dates.from)
        .bind(dates.to)
        .bind(&snapshot.time_zone)
        .bind(&snapshot.folded_below)
        .fetch_all(tx.conn())
        .await?;
    Ok(EventsReport {
        currency: tx.store.currency.clone(),
        time_zone: snapshot.time_zone,
        from: dates.from,
        to: dates.to,
        events: rows.into_iter().map(EventFigures::from).collect(),
    })
}

/// The ticket products of store $1 starting from local date $2 to $3 in
/// zone $4, with their sales per local day from the day rollup plus the
/// facts past the fold's mark $5 (`Snapshot::folded_below`), and their tickets checked in.
const EVENTS: &str = "\
    WITH events AS ( \
        SELECT id, title, capacity::bigint AS capacity, event_starts_at, \
            (event_starts_at AT TIME ZONE $4)::date AS starts_on \
        FROM products \
        WHERE store_id = $1 AND kind = 'ticket' \
            AND event_starts_at >= $2::date::timestamp AT TIME ZONE $4 \
            AND event_starts_at < $3::date::timestamp AT TIME ZONE $4 \
    ), daily AS ( \
        SELECT d.product_id, d.day, d.units, d.units - d.returned_units AS sold, \
            d.gross_minor - d.discounts_minor - d.returns_minor AS revenue \
        FROM sales_by_variant_day d \
        WHERE $5::xid8 IS NOT NULL AND d.store_id = $1 AND d.product_id IN (SELECT id FROM events) \
        UNION ALL \
        SELECT f.product_id, (f.occurred_at AT TIME ZONE $4)::date, f.units, f.units - f.returned_units, \
            f.gross_minor - f.discounts_minor - f.returns_minor \
        FROM sales_facts f \
        WHERE f.store_id = $1 AND f.xid BETWEEN coalesce($5::xid8, '1') AND newest_xid() AND f.product_id IN (SELECT id FROM events) \
    ), per_day AS ( \
        SELECT product_id, day, sum(units) AS units, sum(sold) AS sold, sum(revenue) AS revenue \
        FROM daily GROUP BY product_id, day \
    ), running AS ( \
        SELECT p.*, sum(p.sold) OVER (PARTITION BY p.product_id ORDER BY p.day) AS cumulative FROM per_day p \
    ), sales AS ( \
        SELECT r.product_id, sum(r.sold) AS sold, sum(r.revenue) AS revenue, \
            min(r.day) FILTER (WHERE r.units > 0) AS first_sale_on, \
            min(r.day) FILTER (WHERE 2 * r.cumulative >= e.capacity) AS half_sold_on \
        FROM running r JOIN events e ON e.id = r.product_id GROUP BY r.product_id \
    ), came AS ( \
        SELECT product_id, count(*) AS checked_in FROM tickets \
        WHERE store_id = $1 AND status = 'checked_in' AND product_id IN (SELECT id FROM events) \
        GROUP BY product_id \
    ) \
    SELECT e.id AS product_id, e.title, e.event_starts_at AS starts_at, e.capacity, \
        e.event_starts_at <= now() AS started, \
        coalesce(s.sold, 0)::bigint AS tickets_sold, coalesce(s.revenue, 0)::bigint AS revenue_minor, \
        s.first_sale_on, s.half_sold_on, \
        (least((now() AT TIME ZONE $4)::date, e.starts_on) - s.first_sale_on + 1)::bigint AS days_on_sale, \
        coalesce(c.checked_in, 0)::bigint AS checked_in \
    FROM events e LEFT JOIN sales s ON s.product_id = e.id LEFT JOIN came c ON c.product_id = e.id \
    ORDER BY e.event_starts_at, e.id";
