//! The dashboard queries measured, in one table (`QUERIES`: one line each),
//! and for each kind of report its baseline: the same figures from one plain
//! `GROUP BY` over the raw tables (orders, order_lines, order_events,
//! order_discounts, storefront_events, products, variants, stock, tickets),
//! no rollups and no `sales_facts`, and how to compare them with the report.
//!
//! A new query of an existing report is one line of `QUERIES`. A new report
//! is a `Report` variant with its route, its baseline SQL, where its figures
//! are in the answer (`Report::layout`) and its figures (`Report::derive`).

use anyhow::{Context, Result};
use serde_json::{Value, json};
use shopfleet_api::analytics::ratio::{average, hundredths, percent};
use sqlx::types::chrono::NaiveDate;

use crate::civil;

/// A report of the analytics API, with what it is asked for.
#[derive(Clone, Copy, Debug)]
pub enum Report {
    /// `dated_by`: `transaction` or `order`.
    Sales {
        dated_by: &'static str,
    },
    /// `by`: product, variant or category; `rank`: net_sales or net_units.
    Top {
        by: &'static str,
        rank: &'static str,
        limit: i64,
    },
    Funnel,
    Hospitality,
    Promotions,
    /// The query's span is the window of sales (`days`).
    Inventory {
        low_stock_units: i64,
        limit: i64,
    },
    Events,
    Customers,
    Cohorts,
    Rfm,
}

/// How far back a period reaches from the data's last day ("today").
#[derive(Clone, Copy, Debug)]
pub enum Span {
    /// The last n days, today included.
    Days(i64),
    /// The last n calendar months, this (partial) month included.
    Months(i64),
    /// The last n days, today included, and the next m days (events ahead).
    DaysAndAhead(i64, i64),
}

/// One dashboard query.
pub struct Query {
    /// A short name (`--only` takes it).
    pub name: &'static str,
    pub report: Report,
    pub span: Span,
    /// hour, day, week or month (top lists have none).
    pub interval: &'static str,
    /// With `compare=previous_period`.
    pub compare: bool,
}

const fn q(name: &'static str, report: Report, span: Span, interval: &'static str, compare: bool) -> Query {
    Query {
        name,
        report,
        span,
        interval,
        compare,
    }
}

const SALES: Report = Report::Sales {
    dated_by: "transaction",
};
const SALES_BY_ORDER: Report = Report::Sales { dated_by: "order" };
/// The report's defaults, asked for explicitly.
const INVENTORY: Report = Report::Inventory {
    low_stock_units: 5,
    limit: 100,
};
const fn top(by: &'static str) -> Report {
    Report::Top {
        by,
        rank: "net_sales",
        limit: 10,
    }
}

/// Every query measured, in order. "Today" is the data's last day.
pub const QUERIES: &[Query] = &[
    q("sales-30d-day-compare", SALES, Span::Days(30), "day", true),
    q("sales-today-hour-compare", SALES, Span::Days(1), "hour", true),
    q("sales-12m-month", SALES, Span::Months(12), "month", false),
    q(
        "sales-30d-day-by-order",
        SALES_BY_ORDER,
        Span::Days(30),
        "day",
        false,
    ),
    q("top-products-30d", top("product"), Span::Days(30), "", false),
    q("top-categories-30d", top("category"), Span::Days(30), "", false),
    q("top-variants-365d", top("variant"), Span::Days(365), "", false),
    q("funnel-30d-day", Report::Funnel, Span::Days(30), "day", false),
    q(
        "hospitality-30n-day",
        Report::Hospitality,
        Span::Days(30),
        "day",
        false,
    ),
    q(
        "promotions-30d-compare",
        Report::Promotions,
        Span::Days(30),
        "",
        true,
    ),
    q("inventory-30d", INVENTORY, Span::Days(30), "", false),
    q("events-90d", Report::Events, Span::Days(90), "", false),
    q(
        "events-90d-next-60d",
        Report::Events,
        Span::DaysAndAhead(90, 60),
        "",
        false,
    ),
    q(
        "customers-30d-day-compare",
        Report::Customers,
        Span::Days(30),
        "day",
        true,
    ),
    q(
        "customers-30d-week",
        Report::Customers,
        Span::Days(30),
        "week",
        false,
    ),
    q("cohorts-12m", Report::Cohorts, Span::Months(12), "", false),
    q("rfm-365d", Report::Rfm, Span::Days(365), "", false),
];

/// A period as local dates: `from` included, `to` excluded (day numbers).
#[derive(Clone, Copy, Debug)]
pub struct Dates {
    pub from: i64,
    pub to: i64,
}

impl Dates {
    pub fn previous(self) -> Self {
        Self {
            from: self.from - (self.to - self.from),
            to: self.from,
        }
    }
}

fn naive(day: i64) -> NaiveDate {
    let (y, m, d) = civil::ymd(day);
    NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32).unwrap_or_default()
}

impl Query {
    /// The period, with `today` the data's last local day.
    pub fn dates(&self, today: i64) -> Dates {
        let from = match self.span {
            Span::Days(n) | Span::DaysAndAhead(n, _) => today - n + 1,
            Span::Months(n) => {
                let (y, m, _) = civil::ymd(today);
                let month = y * 12 + (m - 1) - (n - 1);
                civil::day_number(month.div_euclid(12), month.rem_euclid(12) + 1, 1)
            }
        };
        let ahead = match self.span {
            Span::DaysAndAhead(_, m) => m,
            Span::Days(_) | Span::Months(_) => 0,
        };
        Dates {
            from,
            to: today + 1 + ahead,
        }
    }

    /// The request's path and query string.
    pub fn path(&self, store: uuid::Uuid, today: i64) -> String {
        let dates = self.dates(today);
        let mut path = format!("/v1/stores/{store}/analytics/{}?", self.report.route());
        match self.report {
            // A window of the last days up to the API's own today.
            Report::Inventory {
                low_stock_units,
                limit,
            } => {
                path += &format!(
                    "days={}&low_stock_units={low_stock_units}&limit={limit}",
                    dates.to - dates.from
                )
            }
            _ => {
                path += &format!(
                    "from={}&to={}",
                    civil::date_text(dates.from),
                    civil::date_text(dates.to)
                )
            }
        }
        if !self.interval.is_empty() {
            path += &format!("&interval={}", self.interval);
        }
        if self.compare {
            path += "&compare=previous_period";
        }
        match self.report {
            Report::Sales { dated_by } => path += &format!("&dated_by={dated_by}"),
            Report::Top { by, rank, limit } => path += &format!("&by={by}&rank={rank}&limit={limit}"),
            _ => {}
        }
        path
    }

    /// The baseline statement with its parameters bound: $1 the store, $2
    /// the zone, $3 `from`, $4 `to`, $5 the first day of the previous period
    /// (`from` without a comparison), then the report's own.
    pub fn baseline<'q>(
        &self,
        store: uuid::Uuid,
        zone: &'q str,
        today: i64,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        let dates = self.dates(today);
        let first = if self.compare {
            dates.previous().from
        } else {
            dates.from
        };
        let query = sqlx::query(self.report.baseline_sql())
            .bind(store)
            .bind(zone)
            .bind(naive(dates.from))
            .bind(naive(dates.to))
            .bind(naive(first));
        match self.report {
            Report::Sales { .. } | Report::Funnel | Report::Hospitality | Report::Customers => {
                query.bind(self.interval)
            }
            Report::Top { by, rank, limit } => query.bind(by).bind(rank).bind(limit),
            Report::Inventory {
                low_stock_units,
                limit,
            } => query
                .bind(dates.to - dates.from)
                .bind(low_stock_units)
                .bind(limit),
            Report::Promotions | Report::Events | Report::Cohorts | Report::Rfm => query,
        }
    }
}

/// The format of a bucket's start in the API's answers.
macro_rules! start_format {
    () => {
        r#"'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'"#
    };
}

/// The sales baselines' end: the `facts` summed per period (current or
/// previous) and bucket of unit $6 in zone $2, for `concat!`.
macro_rules! sales_per_key {
    () => {
        concat!(
            "SELECT f.at >= b.mid AS current, to_char(date_trunc($6, f.at, $2), ",
            start_format!(),
            ") AS key, \
                sum(orders)::bigint, sum(units)::bigint, sum(gross)::bigint, sum(discounts)::bigint, \
                sum(returns)::bigint, sum(returned)::bigint \
            FROM facts f, b GROUP BY 1, 2 ORDER BY 1 DESC, 2"
        )
    };
}

/// The period's bounds as instants: the previous period's start, the
/// current's, the end.
macro_rules! bounds {
    () => {
        "b AS (SELECT $5::date::timestamp AT TIME ZONE $2 AS lo, $3::date::timestamp AT TIME ZONE $2 AS mid, \
         $4::date::timestamp AT TIME ZONE $2 AS hi)"
    };
}

/// Sales dated by transaction: the paid events in the period (orders, and
/// gross and discounts from the order's row), their lines (units), and the
/// refunds and cancellations given in it (money from the event's amount,
/// units from its lines).
const SALES_BY_TRANSACTION: &str = concat!(
    "WITH ",
    bounds!(),
    ", paid AS ( \
        SELECT e.created_at AS at, o.id, o.subtotal_minor, o.discount_minor \
        FROM order_events e JOIN orders o ON o.id = e.order_id, b \
        WHERE e.store_id = $1 AND e.kind = 'paid' AND e.created_at >= b.lo AND e.created_at < b.hi \
    ), facts AS ( \
        SELECT p.at, 1 AS orders, 0 AS units, p.subtotal_minor AS gross, p.discount_minor AS discounts, \
            0 AS returns, 0 AS returned FROM paid p \
        UNION ALL \
        SELECT p.at, 0, l.quantity, 0, 0, 0, 0 FROM paid p JOIN order_lines l ON l.order_id = p.id \
        UNION ALL \
        SELECT e.created_at, 0, 0, 0, 0, e.amount_minor, \
            (SELECT coalesce(sum((r->>'quantity')::bigint), 0) FROM jsonb_array_elements(e.lines) r) \
        FROM order_events e, b \
        WHERE e.store_id = $1 AND e.kind IN ('refunded', 'cancelled') AND e.created_at >= b.lo AND e.created_at < b.hi \
    ) \
    ",
    sales_per_key!()
);

/// Sales dated by order: the orders placed in the period that were paid,
/// their lines, and all their refunds and cancellations, whenever given.
const SALES_BY_ORDER_PLACED: &str = concat!(
    "WITH ",
    bounds!(),
    ", placed AS ( \
        SELECT o.created_at AS at, o.id, o.subtotal_minor, o.discount_minor FROM orders o, b \
        WHERE o.store_id = $1 AND o.created_at >= b.lo AND o.created_at < b.hi \
    ), paid AS ( \
        SELECT p.* FROM placed p \
        WHERE EXISTS (SELECT FROM order_events e WHERE e.order_id = p.id AND e.kind = 'paid') \
    ), facts AS ( \
        SELECT p.at, 1 AS orders, 0 AS units, p.subtotal_minor AS gross, p.discount_minor AS discounts, \
            0 AS returns, 0 AS returned FROM paid p \
        UNION ALL \
        SELECT p.at, 0, l.quantity, 0, 0, 0, 0 FROM paid p JOIN order_lines l ON l.order_id = p.id \
        UNION ALL \
        SELECT p.at, 0, 0, 0, 0, e.amount_minor, \
            (SELECT coalesce(sum((r->>'quantity')::bigint), 0) FROM jsonb_array_elements(e.lines) r) \
        FROM placed p JOIN order_events e ON e.order_id = p.id AND e.kind IN ('refunded', 'cancelled') \
    ) \
    ",
    sales_per_key!()
);

/// The top list: each paid line and each line given back in the period,
/// summed per product, variant or category ($6), ranked by $7, first $8.
const TOP: &str = concat!(
    "WITH ",
    bounds!(),
    ", facts AS ( \
        SELECT e.created_at AS at, l.product_id, l.variant_id, l.quantity::bigint AS units, \
            l.subtotal_minor AS gross, l.discount_minor AS discounts, 0::bigint AS returns, 0::bigint AS returned \
        FROM order_events e JOIN order_lines l ON l.order_id = e.order_id, b \
        WHERE e.store_id = $1 AND e.kind = 'paid' AND e.created_at >= b.lo AND e.created_at < b.hi \
        UNION ALL \
        SELECT e.created_at, l.product_id, l.variant_id, 0, 0, 0, (r->>'amount_minor')::bigint, \
            (r->>'quantity')::bigint \
        FROM order_events e CROSS JOIN jsonb_array_elements(e.lines) r \
        JOIN order_lines l ON l.id = (r->>'line_id')::uuid, b \
        WHERE e.store_id = $1 AND e.kind IN ('refunded', 'cancelled') AND e.created_at >= b.lo AND e.created_at < b.hi \
    ), keyed AS ( \
        SELECT CASE $6 WHEN 'variant' THEN f.variant_id ELSE f.product_id END AS id, f.* FROM facts f \
        WHERE $6 <> 'category' \
        UNION ALL \
        SELECT pc.category_id, f.* FROM facts f JOIN product_categories pc ON pc.product_id = f.product_id \
        WHERE $6 = 'category' \
    ), summed AS ( \
        SELECT k.at >= b.mid AS current, k.id, sum(k.units) AS units, sum(k.returned) AS returned, \
            sum(k.gross) AS gross, sum(k.discounts) AS discounts, sum(k.returns) AS returns \
        FROM keyed k, b GROUP BY 1, 2 \
    ), ranked AS ( \
        SELECT s.*, row_number() OVER (PARTITION BY s.current ORDER BY CASE $7 WHEN 'net_units' \
            THEN s.units - s.returned ELSE s.gross - s.discounts - s.returns END DESC, s.id) AS rank \
        FROM summed s \
    ) \
    SELECT current, id::text AS key, units::bigint, returned::bigint, gross::bigint, discounts::bigint, \
        returns::bigint \
    FROM ranked WHERE rank <= $8 ORDER BY current DESC, rank"
);

/// The funnel: every session with an event or a payment in the period, all
/// its steps (storefront events, and the payment of an order placed in it),
/// its first moment, counted in the bucket of that moment.
const FUNNEL: &str = concat!(
    "WITH ",
    bounds!(),
    ", touched AS ( \
        SELECT s.session_id FROM storefront_events s, b \
        WHERE s.store_id = $1 AND s.occurred_at >= b.lo AND s.occurred_at < b.hi \
        UNION \
        SELECT o.session_id FROM order_events e JOIN orders o ON o.id = e.order_id, b \
        WHERE e.store_id = $1 AND e.kind = 'paid' AND o.session_id IS NOT NULL \
            AND e.created_at >= b.lo AND e.created_at < b.hi \
    ), steps AS ( \
        SELECT s.session_id, s.occurred_at AS at, CASE s.kind WHEN 'product_viewed' THEN 1 \
            WHEN 'added_to_cart' THEN 2 WHEN 'checkout_started' THEN 4 ELSE 0 END AS step \
        FROM storefront_events s WHERE s.store_id = $1 AND s.session_id IN (SELECT session_id FROM touched) \
        UNION ALL \
        SELECT o.session_id, e.created_at, 8 FROM order_events e JOIN orders o ON o.id = e.order_id \
        WHERE e.store_id = $1 AND e.kind = 'paid' AND o.session_id IN (SELECT session_id FROM touched) \
    ), sessions AS ( \
        SELECT session_id, min(at) AS first, bit_or(step) AS steps FROM steps GROUP BY session_id \
    ) \
    SELECT s.first >= b.mid AS current, to_char(date_trunc($6, s.first, $2), ",
    start_format!(),
    ") AS key, \
        count(*)::bigint, count(*) FILTER (WHERE s.steps & 1 = 1)::bigint, \
        count(*) FILTER (WHERE s.steps & 3 = 3)::bigint, count(*) FILTER (WHERE s.steps & 7 = 7)::bigint, \
        count(*) FILTER (WHERE s.steps & 15 = 15)::bigint \
    FROM sessions s, b WHERE s.first >= b.lo AND s.first < b.hi GROUP BY 1, 2 ORDER BY 1 DESC, 2"
);

/// Hospitality per night of the period: rooms and revenue of paid lines for
/// the night less what was given back of them, the capacity of the active
/// room products, the stays arriving that night (per paid order and room
/// product: the rooms of its first night, its nights, and the days from
/// the order's local day), and the party sizes and totals of the table
/// orders paid that (local) day.
const HOSPITALITY: &str = concat!(
    "WITH ",
    bounds!(),
    ", nights AS ( \
        SELECT n::date AS night FROM generate_series($5::date, $4::date - 1, interval '1 day') n \
    ), sold AS ( \
        SELECT l.night, sum(l.quantity) AS rooms, sum(l.total_minor) AS revenue \
        FROM order_events e JOIN order_lines l ON l.order_id = e.order_id \
        WHERE e.store_id = $1 AND e.kind = 'paid' AND l.night >= $5 AND l.night < $4 GROUP BY l.night \
    ), returned AS ( \
        SELECT l.night, sum((r->>'quantity')::bigint) AS rooms, sum((r->>'amount_minor')::bigint) AS revenue \
        FROM order_events e CROSS JOIN jsonb_array_elements(e.lines) r \
        JOIN order_lines l ON l.id = (r->>'line_id')::uuid \
        WHERE e.store_id = $1 AND e.kind IN ('refunded', 'cancelled') AND l.night >= $5 AND l.night < $4 \
        GROUP BY l.night \
    ), stay_lines AS ( \
        SELECT e.order_id, l.product_id, l.night, l.quantity, (o.created_at AT TIME ZONE $2)::date AS ordered_on, \
            min(l.night) OVER (PARTITION BY e.order_id, l.product_id) AS arrival \
        FROM order_events e JOIN orders o ON o.id = e.order_id JOIN order_lines l ON l.order_id = e.order_id \
        WHERE e.store_id = $1 AND e.kind = 'paid' AND l.night IS NOT NULL \
    ), stays AS ( \
        SELECT arrival, sum(rooms) AS stays, sum(nights) AS stay_nights, \
            sum(rooms * (arrival - ordered_on)) AS lead_days \
        FROM (SELECT arrival, sum(quantity) FILTER (WHERE night = arrival) AS rooms, sum(quantity) AS nights, \
                  min(ordered_on) AS ordered_on \
              FROM stay_lines GROUP BY order_id, product_id, arrival) s \
        WHERE arrival >= $5 AND arrival < $4 GROUP BY arrival \
    ), covers AS ( \
        SELECT (e.created_at AT TIME ZONE $2)::date AS day, sum(o.party_size) AS covers, \
            sum(o.total_minor) AS covered \
        FROM order_events e JOIN orders o ON o.id = e.order_id, b \
        WHERE e.store_id = $1 AND e.kind = 'paid' AND o.party_size IS NOT NULL \
            AND e.created_at >= b.lo AND e.created_at < b.hi \
        GROUP BY 1 \
    ), open_rooms AS ( \
        SELECT coalesce(sum(capacity), 0) AS capacity FROM products \
        WHERE store_id = $1 AND kind = 'room_night' AND status = 'active' \
    ) \
    SELECT n.night >= $3 AS current, date_trunc($6, n.night)::date::text AS key, \
        sum(coalesce(s.rooms, 0) - coalesce(r.rooms, 0))::bigint, sum(o.capacity)::bigint, \
        sum(coalesce(s.revenue, 0) - coalesce(r.revenue, 0))::bigint, coalesce(sum(a.stays), 0)::bigint, \
        coalesce(sum(a.stay_nights), 0)::bigint, coalesce(sum(a.lead_days), 0)::bigint, \
        coalesce(sum(c.covers), 0)::bigint, coalesce(sum(c.covered), 0)::bigint \
    FROM nights n CROSS JOIN open_rooms o LEFT JOIN sold s ON s.night = n.night \
    LEFT JOIN returned r ON r.night = n.night LEFT JOIN stays a ON a.arrival = n.night \
    LEFT JOIN covers c ON c.day = n.night \
    GROUP BY 1, 2 ORDER BY 1 DESC, 2"
);

/// Each payment of an order, whenever made: when, the order, its customer,
/// and what it sold after discounts (the order's own totals).
macro_rules! paid_orders {
    () => {
        "paid AS ( \
            SELECT e.created_at AS at, o.id AS order_id, o.customer_id, o.subtotal_minor - o.discount_minor AS net \
            FROM order_events e JOIN orders o ON o.id = e.order_id \
            WHERE e.store_id = $1 AND e.kind = 'paid' \
        )"
    };
}

/// The money of the orders as it moved, whenever: each payment (the order
/// counted once, what it sold after discounts) and each refund or
/// cancellation (what it gave back, from the event's amount).
macro_rules! order_money {
    () => {
        concat!(
            paid_orders!(),
            ", money AS ( \
                SELECT at, order_id, customer_id, 1 AS orders, net FROM paid \
                UNION ALL \
                SELECT e.created_at, e.order_id, o.customer_id, 0, -e.amount_minor \
                FROM order_events e JOIN orders o ON o.id = e.order_id \
                WHERE e.store_id = $1 AND e.kind IN ('refunded', 'cancelled') \
            )"
        )
    };
}

/// The lines as they moved, whenever: each line paid (its units, and what it
/// sold after discounts) and each line given back (less its units and money,
/// from the event's `lines`). `units` counts only what was paid.
macro_rules! line_moves {
    () => {
        "line_moves AS ( \
            SELECT e.created_at AS at, l.product_id, l.variant_id, l.quantity::bigint AS units, \
                l.quantity::bigint AS net_units, l.total_minor::bigint AS net \
            FROM order_events e JOIN order_lines l ON l.order_id = e.order_id \
            WHERE e.store_id = $1 AND e.kind = 'paid' \
            UNION ALL \
            SELECT e.created_at, l.product_id, l.variant_id, 0, -(r->>'quantity')::bigint, \
                -(r->>'amount_minor')::bigint \
            FROM order_events e CROSS JOIN jsonb_array_elements(e.lines) r \
            JOIN order_lines l ON l.id = (r->>'line_id')::uuid \
            WHERE e.store_id = $1 AND e.kind IN ('refunded', 'cancelled') \
        )"
    };
}

/// Promotions: per promotion of the orders (from their discounts), the
/// payments in the period (orders, and the promotion's discount of each),
/// and the money of those orders in it, refunds given in it included.
const PROMOTIONS: &str = concat!(
    "WITH ",
    bounds!(),
    ", ",
    order_money!(),
    ", promoted AS ( \
        SELECT order_id, promotion_id, sum(amount_minor) AS discount FROM order_discounts \
        WHERE store_id = $1 GROUP BY order_id, promotion_id \
    ) \
    SELECT m.at >= b.mid AS current, p.promotion_id::text AS key, sum(m.orders)::bigint, \
        sum(m.orders * p.discount)::bigint, sum(m.net)::bigint \
    FROM money m JOIN promoted p ON p.order_id = m.order_id, b \
    WHERE m.at >= b.lo AND m.at < b.hi GROUP BY 1, 2 ORDER BY 1 DESC, 5 DESC, 2"
);

/// Inventory: each standard variant's stock pool now, its units paid less
/// given back over the last $6 local days up to today (the server's, as the
/// API's), the window and the low-stock threshold $7; soonest out of stock
/// first (days of cover in hundredths, rounded half up), the first $8.
const STOCK_WITH_SALES: &str = concat!(
    "WITH window_days AS ( \
        SELECT ((now() AT TIME ZONE $2)::date - ($6::int - 1))::timestamp AT TIME ZONE $2 AS lo, \
            ((now() AT TIME ZONE $2)::date + 1)::timestamp AT TIME ZONE $2 AS hi \
    ), ",
    line_moves!(),
    ", per_variant AS ( \
        SELECT m.variant_id, sum(m.net_units) AS units FROM line_moves m, window_days w \
        WHERE m.at >= w.lo AND m.at < w.hi GROUP BY m.variant_id \
    ), stocked AS ( \
        SELECT v.id, v.sku, s.on_hand::bigint AS on_hand, s.reserved::bigint AS reserved, \
            (s.on_hand - s.reserved)::bigint AS available, coalesce(u.units, 0)::bigint AS sold \
        FROM stock s JOIN variants v ON v.id = s.variant_id JOIN products p ON p.id = s.product_id \
        LEFT JOIN per_variant u ON u.variant_id = v.id \
        WHERE s.store_id = $1 AND p.kind = 'standard' AND s.night IS NULL \
    ) \
    SELECT true AS current, id::text AS key, on_hand, reserved, sold, $6::bigint, $7::bigint FROM stocked \
    ORDER BY CASE WHEN sold > 0 THEN (200 * available * $6 + sold) / (2 * sold) END NULLS LAST, available, \
        sku COLLATE \"C\" \
    LIMIT $8"
);

/// Events: each ticket product starting in the period, its seats paid less
/// given back and their money, per local day (for its first sale and the day
/// half its seats were sold, net so far), the days from its first sale to
/// today or its day, whether it has started, and its tickets checked in and
/// not voided. Dates as they are answered, in `figures`.
const EVENTS: &str = concat!(
    "WITH events AS ( \
        SELECT id, capacity::bigint AS capacity, event_starts_at AS starts_at, \
            (event_starts_at AT TIME ZONE $2)::date AS starts_on \
        FROM products WHERE store_id = $1 AND kind = 'ticket' \
            AND event_starts_at >= $3::date::timestamp AT TIME ZONE $2 \
            AND event_starts_at < $4::date::timestamp AT TIME ZONE $2 \
    ), ",
    line_moves!(),
    ", per_day AS ( \
        SELECT m.product_id, (m.at AT TIME ZONE $2)::date AS day, sum(m.units) AS units, \
            sum(m.net_units) AS sold, sum(m.net) AS revenue \
        FROM line_moves m WHERE m.product_id IN (SELECT id FROM events) GROUP BY 1, 2 \
    ), so_far AS ( \
        SELECT d.*, sum(d.sold) OVER (PARTITION BY d.product_id ORDER BY d.day) AS sold_so_far FROM per_day d \
    ), sales AS ( \
        SELECT d.product_id, sum(d.sold) AS sold, sum(d.revenue) AS revenue, \
            min(d.day) FILTER (WHERE d.units > 0) AS first_sale_on, \
            min(d.day) FILTER (WHERE 2 * d.sold_so_far >= e.capacity) AS half_sold_on \
        FROM so_far d JOIN events e ON e.id = d.product_id GROUP BY d.product_id \
    ), came AS ( \
        SELECT product_id, count(*) AS checked_in FROM tickets \
        WHERE store_id = $1 AND checked_in_at IS NOT NULL AND voided_at IS NULL \
            AND product_id IN (SELECT id FROM events) \
        GROUP BY product_id \
    ) \
    SELECT true AS current, e.id::text AS key, e.capacity, coalesce(s.sold, 0)::bigint, \
        coalesce(s.revenue, 0)::bigint, \
        coalesce(least((now() AT TIME ZONE $2)::date, e.starts_on) - s.first_sale_on + 1, 0)::bigint, \
        (e.starts_at <= now())::int::bigint, coalesce(c.checked_in, 0)::bigint, \
        jsonb_build_object('first_sale_on', s.first_sale_on, \
            'days_to_half_sold', s.half_sold_on - s.first_sale_on) AS figures \
    FROM events e LEFT JOIN sales s ON s.product_id = e.id LEFT JOIN came c ON c.product_id = e.id \
    ORDER BY e.starts_at, e.id"
);

/// New and returning customers: the payments of orders with a customer in
/// each period, per bucket ($6) and once for the whole period (key
/// `totals`), with each customer's first payment ever (new: in that bucket,
/// inside the period) and, for the period, those with two orders or more.
const CUSTOMERS: &str = concat!(
    "WITH ",
    bounds!(),
    ", ",
    paid_orders!(),
    ", firsts AS ( \
        SELECT customer_id, min(at) AS first FROM paid WHERE customer_id IS NOT NULL GROUP BY customer_id \
    ), bought AS ( \
        SELECT p.customer_id, f.first, p.at >= b.mid AS current, \
            CASE WHEN p.at >= b.mid THEN b.mid ELSE b.lo END AS since, date_trunc($6, p.at, $2) AS bucket \
        FROM paid p JOIN firsts f ON f.customer_id = p.customer_id, b \
        WHERE p.at >= b.lo AND p.at < b.hi \
    ), per_customer AS ( \
        SELECT current, customer_id, count(*) AS orders, bool_or(first >= since) AS new \
        FROM bought GROUP BY current, customer_id \
    ) \
    SELECT current, to_char(bucket, ",
    start_format!(),
    ") AS key, count(DISTINCT customer_id), \
        count(DISTINCT customer_id) FILTER (WHERE first >= since AND date_trunc($6, first, $2) = bucket), \
        count(*), 0::bigint \
    FROM bought GROUP BY current, bucket \
    UNION ALL \
    SELECT current, 'totals', count(*), count(*) FILTER (WHERE new), sum(orders)::bigint, \
        count(*) FILTER (WHERE orders >= 2) \
    FROM per_customer GROUP BY current \
    ORDER BY 1 DESC, 2"
);

/// Cohorts: customers by the local month of their first payment ever, for
/// the months from $3's to $4, and per month since up to the current one,
/// how many of them paid an order in it.
const COHORTS: &str = concat!(
    "WITH ",
    paid_orders!(),
    ", firsts AS ( \
        SELECT customer_id, date_trunc('month', min(at), $2) AS cohort FROM paid \
        WHERE customer_id IS NOT NULL GROUP BY customer_id \
    ), cohorts AS ( \
        SELECT cohort, count(*) AS customers FROM firsts \
        WHERE cohort >= date_trunc('month', $3::date::timestamp AT TIME ZONE $2, $2) \
            AND cohort < $4::date::timestamp AT TIME ZONE $2 \
        GROUP BY cohort \
    ), active AS ( \
        SELECT f.cohort, date_trunc('month', p.at, $2) AS month, count(DISTINCT p.customer_id) AS customers \
        FROM firsts f JOIN paid p ON p.customer_id = f.customer_id \
        WHERE f.cohort IN (SELECT cohort FROM cohorts) GROUP BY 1, 2 \
    ) \
    SELECT true AS current, to_char(c.cohort, 'YYYY-MM') AS key, c.customers, \
        array_agg(coalesce(a.customers, 0) ORDER BY m.month) AS active \
    FROM cohorts c CROSS JOIN generate_series(c.cohort, date_trunc('month', now(), $2), interval '1 month') \
        AS m (month) \
    LEFT JOIN active a ON a.cohort = c.cohort AND a.month = m.month \
    GROUP BY c.cohort, c.customers ORDER BY c.cohort"
);

/// RFM: per customer with a payment in the period, the days from their last
/// payment's local day to the period's last day, their payments and their
/// money in it (refunds given in it included), scored 1 to 5 by
/// `percent_rank` (docs/analytics.md) and put in the first segment whose
/// rule matches; per segment, in the API's order: customers, everyone, and
/// their sums.
const RFM: &str = concat!(
    "WITH ",
    bounds!(),
    ", ",
    order_money!(),
    ", figures AS ( \
        SELECT m.customer_id, \
            ($4::date - 1) - (max(m.at) FILTER (WHERE m.orders > 0) AT TIME ZONE $2)::date AS recency_days, \
            sum(m.orders) AS orders, sum(m.net) AS net \
        FROM money m, b WHERE m.customer_id IS NOT NULL AND m.at >= b.mid AND m.at < b.hi \
        GROUP BY m.customer_id HAVING sum(m.orders) > 0 \
    ), scored AS ( \
        SELECT x.*, least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY x.recency_days DESC))) AS r, \
            least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY x.orders))) AS f \
        FROM figures x \
    ), segmented AS ( \
        SELECT CASE WHEN r >= 4 AND f >= 4 THEN 'champions' WHEN r >= 3 AND f >= 3 THEN 'loyal' \
            WHEN r >= 4 AND f = 1 THEN 'new' WHEN r >= 4 THEN 'promising' \
            WHEN r <= 2 AND f >= 3 THEN 'at_risk' WHEN r <= 2 THEN 'hibernating' \
            ELSE 'needs_attention' END AS segment, s.* \
        FROM scored s \
    ) \
    SELECT true AS current, k.segment AS key, count(g.customer_id), (SELECT count(*) FROM figures), \
        coalesce(sum(g.recency_days), 0)::bigint, coalesce(sum(g.orders), 0)::bigint, \
        coalesce(sum(g.net), 0)::bigint \
    FROM unnest(array['champions', 'loyal', 'new', 'promising', 'at_risk', 'hibernating', \
        'needs_attention']) WITH ORDINALITY AS k (segment, position) \
    LEFT JOIN segmented g ON g.segment = k.segment \
    GROUP BY k.segment, k.position ORDER BY k.position"
);

/// The key of a baseline's row for a whole period, when its totals are not
/// the sum of its buckets (a customer of two buckets is one customer).
const TOTALS: &str = "totals";

/// A row of a baseline: the period it belongs to, its bucket's start (or
/// the item's id), its sums in the order of `Report::derive` (an array
/// column adds its elements), and the figures it states as the API answers
/// them (a jsonb column `figures`: dates, figures that may be null).
pub struct BaselineRow {
    pub current: bool,
    pub key: String,
    pub sums: Vec<i64>,
    pub stated: serde_json::Map<String, Value>,
}

pub fn baseline_rows(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<BaselineRow>> {
    use sqlx::{Column as _, Row as _};
    rows.iter()
        .map(|row| {
            let mut baseline = BaselineRow {
                current: row.try_get(0)?,
                key: row.try_get(1)?,
                sums: Vec::new(),
                stated: serde_json::Map::new(),
            };
            for (i, column) in row.columns().iter().enumerate().skip(2) {
                if column.name() == "figures" {
                    if let Value::Object(figures) = row.try_get::<Value, _>(i)? {
                        baseline.stated = figures;
                    }
                } else if let Ok(sum) = row.try_get::<i64, _>(i) {
                    baseline.sums.push(sum);
                } else {
                    baseline.sums.extend(row.try_get::<Vec<i64>, _>(i)?);
                }
            }
            Ok(baseline)
        })
        .collect()
}

/// Where a report's figures are in its answer.
#[derive(Clone, Copy)]
enum Layout {
    /// Per period, a `series` of buckets named by their `start`, and the
    /// period's `totals`.
    Series,
    /// A ranked list under `list`, each item named by its field `id`: per
    /// period (`current`, `previous`), or at the top of the answer.
    List {
        list: &'static str,
        id: &'static str,
        per_period: bool,
    },
}

/// An average that may be negative, half away from zero (as the RFM's).
fn average_signed(total: i64, count: i64) -> Option<i64> {
    average(total.abs(), count).map(|magnitude| magnitude * total.signum())
}

impl Report {
    pub fn route(self) -> &'static str {
        match self {
            Self::Sales { .. } => "sales",
            Self::Top { .. } => "top",
            Self::Funnel => "funnel",
            Self::Hospitality => "hospitality",
            Self::Promotions => "promotions",
            Self::Inventory { .. } => "inventory",
            Self::Events => "events",
            Self::Customers => "customers",
            Self::Cohorts => "cohorts",
            Self::Rfm => "rfm",
        }
    }

    fn baseline_sql(self) -> &'static str {
        match self {
            Self::Sales { dated_by: "order" } => SALES_BY_ORDER_PLACED,
            Self::Sales { .. } => SALES_BY_TRANSACTION,
            Self::Top { .. } => TOP,
            Self::Funnel => FUNNEL,
            Self::Hospitality => HOSPITALITY,
            Self::Promotions => PROMOTIONS,
            Self::Inventory { .. } => STOCK_WITH_SALES,
            Self::Events => EVENTS,
            Self::Customers => CUSTOMERS,
            Self::Cohorts => COHORTS,
            Self::Rfm => RFM,
        }
    }

    fn layout(self) -> Layout {
        let list = |list, id, per_period| Layout::List { list, id, per_period };
        match self {
            Self::Sales { .. } | Self::Funnel | Self::Hospitality | Self::Customers => Layout::Series,
            Self::Top { .. } => list("items", "id", true),
            Self::Promotions => list("promotions", "promotion_id", true),
            Self::Inventory { .. } => list("variants", "variant_id", false),
            Self::Events => list("events", "product_id", false),
            Self::Cohorts => list("cohorts", "month", false),
            Self::Rfm => list("segments", "segment", false),
        }
    }

    /// What to print of the current period: fields of its totals, or of its
    /// first item (the first field names it).
    fn headline(self) -> &'static [&'static str] {
        match self {
            Self::Sales { .. } => &["orders", "net_sales_minor"],
            Self::Funnel => &["sessions", "purchased"],
            Self::Hospitality => &["room_nights_sold", "covers"],
            Self::Customers => &["customers", "new_customers"],
            Self::Top { .. } | Self::Promotions => &["name", "net_sales_minor"],
            Self::Inventory { .. } => &["sku", "units_sold", "days_of_cover"],
            Self::Events => &["title", "tickets_sold", "revenue_minor"],
            Self::Cohorts => &["month", "customers"],
            Self::Rfm => &["segment", "customers"],
        }
    }

    /// The figures of a period (or of the whole answer) beside its series
    /// or list, from the baseline's rows of that period.
    fn period_figures(self, rows: &[&BaselineRow]) -> Vec<(&'static str, Value)> {
        match self {
            Self::Customers => rows
                .iter()
                .find(|row| row.key == TOTALS)
                .map(|totals| {
                    let (customers, repeat) = (totals.sums[0], totals.sums[3]);
                    vec![("repeat_purchase_percent", json!(percent(repeat, customers)))]
                })
                .unwrap_or_default(),
            Self::Rfm => rows
                .first()
                .map(|row| vec![("customers", json!(row.sums[1]))])
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
    /// The figures of a bucket (or item) as the API names them, from a
    /// baseline's sums: those the API answers, derived ones included.
    fn derive(self, s: &[i64]) -> Vec<(&'static str, Value)> {
        match self {
            Self::Sales { .. } => {
                let [orders, units, gross, discounts, returns, returned] = s[..] else {
                    return Vec::new();
                };
                vec![
                    ("orders", json!(orders)),
                    ("units_sold", json!(units)),
                    ("units_returned", json!(returned)),
                    ("gross_sales_minor", json!(gross)),
                    ("discounts_minor", json!(discounts)),
                    ("returns_minor", json!(returns)),
                    ("net_sales_minor", json!(gross - discounts - returns)),
                    (
                        "average_order_value_minor",
                        json!(average(gross - discounts, orders)),
                    ),
                ]
            }
            Self::Top { .. } => {
                let [units, returned, gross, discounts, returns] = s[..] else {
                    return Vec::new();
                };
                vec![
                    ("units_sold", json!(units)),
                    ("units_returned", json!(returned)),
                    ("net_units", json!(units - returned)),
                    ("gross_sales_minor", json!(gross)),
                    ("discounts_minor", json!(discounts)),
                    ("returns_minor", json!(returns)),
                    ("net_sales_minor", json!(gross - discounts - returns)),
                ]
            }
            Self::Funnel => {
                let [sessions, viewed, added, checkout, purchased] = s[..] else {
                    return Vec::new();
                };
                vec![
                    ("sessions", json!(sessions)),
                    ("viewed_product", json!(viewed)),
                    ("added_to_cart", json!(added)),
                    ("started_checkout", json!(checkout)),
                    ("purchased", json!(purchased)),
                    (
                        "step_conversion_percent",
                        json!([
                            percent(viewed, sessions),
                            percent(added, viewed),
                            percent(checkout, added),
                            percent(purchased, checkout)
                        ]),
                    ),
                    ("conversion_percent", json!(percent(purchased, sessions))),
                ]
            }
            Self::Hospitality => {
                let [
                    sold,
                    available,
                    revenue,
                    stays,
                    stay_nights,
                    lead_days,
                    covers,
                    covered,
                ] = s[..]
                else {
                    return Vec::new();
                };
                vec![
                    ("room_nights_sold", json!(sold)),
                    ("room_nights_available", json!(available)),
                    ("occupancy_percent", json!(percent(sold, available))),
                    ("room_revenue_minor", json!(revenue)),
                    ("adr_minor", json!(average(revenue, sold))),
                    ("revpar_minor", json!(average(revenue, available))),
                    ("arrivals", json!(stays)),
                    (
                        "average_length_of_stay_nights",
                        json!(hundredths(stay_nights, stays)),
                    ),
                    ("average_lead_time_days", json!(hundredths(lead_days, stays))),
                    ("covers", json!(covers)),
                    ("average_check_per_cover_minor", json!(average(covered, covers))),
                ]
            }
            Self::Promotions => {
                let [orders, discount, net] = s[..] else {
                    return Vec::new();
                };
                vec![
                    ("orders", json!(orders)),
                    ("discount_minor", json!(discount)),
                    ("net_sales_minor", json!(net)),
                ]
            }
            Self::Inventory { .. } => {
                let [on_hand, reserved, sold, days, low_stock_units] = s[..] else {
                    return Vec::new();
                };
                let available = on_hand - reserved;
                let cover = (sold > 0).then(|| hundredths(available * days, sold)).flatten();
                vec![
                    ("on_hand", json!(on_hand)),
                    ("reserved", json!(reserved)),
                    ("available", json!(available)),
                    ("units_sold", json!(sold)),
                    ("sell_through_percent", json!(percent(sold, sold + on_hand))),
                    ("units_per_day", json!(hundredths(sold, days))),
                    ("days_of_cover", json!(cover)),
                    ("low_stock", json!(available <= low_stock_units)),
                ]
            }
            Self::Events => {
                let [capacity, sold, revenue, days_on_sale, started, checked_in] = s[..] else {
                    return Vec::new();
                };
                let came = (started == 1).then_some(checked_in);
                vec![
                    ("capacity", json!(capacity)),
                    ("tickets_sold", json!(sold)),
                    ("sell_through_percent", json!(percent(sold, capacity))),
                    ("revenue_minor", json!(revenue)),
                    ("average_ticket_price_minor", json!(average(revenue, sold))),
                    ("sales_velocity_per_day", json!(hundredths(sold, days_on_sale))),
                    ("checked_in", json!(came)),
                    (
                        "check_in_percent",
                        json!(came.and_then(|came| percent(came, sold))),
                    ),
                    (
                        "no_show_percent",
                        json!(came.and_then(|came| percent(sold - came, sold))),
                    ),
                ]
            }
            Self::Customers => {
                let [customers, new, orders, _repeat] = s[..] else {
                    return Vec::new();
                };
                vec![
                    ("customers", json!(customers)),
                    ("new_customers", json!(new)),
                    ("returning_customers", json!(customers - new)),
                    ("orders", json!(orders)),
                ]
            }
            Self::Cohorts => {
                let [customers, ref active @ ..] = s[..] else {
                    return Vec::new();
                };
                let retention: Vec<_> = active.iter().map(|&n| percent(n, customers)).collect();
                vec![
                    ("customers", json!(customers)),
                    ("active", json!(active)),
                    ("retention_percent", json!(retention)),
                ]
            }
            Self::Rfm => {
                let [customers, everyone, recency_days, orders, net] = s[..] else {
                    return Vec::new();
                };
                vec![
                    ("customers", json!(customers)),
                    ("share_percent", json!(percent(customers, everyone))),
                    ("average_recency_days", json!(hundredths(recency_days, customers))),
                    ("average_orders", json!(hundredths(orders, customers))),
                    ("average_net_sales_minor", json!(average_signed(net, customers))),
                    ("net_sales_minor", json!(net)),
                ]
            }
        }
    }

    /// The sums of a bucket of a series.
    fn sums(self) -> usize {
        match self {
            Self::Sales { .. } => 6,
            Self::Top { .. } => 5,
            Self::Funnel => 5,
            Self::Hospitality => 8,
            Self::Customers => 4,
            Self::Promotions => 3,
            Self::Inventory { .. } | Self::Rfm => 5,
            Self::Events => 6,
            Self::Cohorts => 1,
        }
    }
}

/// What a check found: the figures compared, and every difference.
#[derive(Default)]
pub struct Checked {
    pub figures: usize,
    pub differences: Vec<String>,
    /// The current period's headline, for the record (e.g. its net sales).
    pub headline: String,
    /// The current period's buckets or items.
    pub rows: usize,
}

impl Checked {
    /// Compares each expected figure with the field of that name of `actual`.
    fn figures<'a>(
        &mut self,
        place: &str,
        expected: impl IntoIterator<Item = (&'a str, Value)>,
        actual: &Value,
    ) {
        for (field, want) in expected {
            self.figures += 1;
            let got = actual.get(field).cloned().unwrap_or(Value::Null);
            if !same(&got, &want) {
                self.differences
                    .push(format!("{place} {field}: API {got}, baseline {want}"));
            }
        }
    }

    /// A series: each bucket of the answer against the baseline's row of the
    /// same start (none: zeros), the totals (the baseline's `totals` row, or
    /// the sum of its buckets), and no bucket of the baseline missing.
    fn series(&mut self, report: Report, name: &str, period: &Value, rows: &[&BaselineRow]) -> Result<usize> {
        let series = period["series"]
            .as_array()
            .with_context(|| format!("no series in {name}"))?;
        let zeros = vec![0; report.sums()];
        let mut summed = zeros.clone();
        for bucket in series {
            let start = bucket["start"].as_str().unwrap_or_default();
            let sums = rows
                .iter()
                .find(|row| row.key == start)
                .map_or(&zeros, |row| &row.sums);
            for (total, value) in summed.iter_mut().zip(sums) {
                *total += value;
            }
            self.figures(&format!("{name} bucket {start}"), report.derive(sums), bucket);
        }
        let totals = rows
            .iter()
            .find(|row| row.key == TOTALS)
            .map_or(&summed, |row| &row.sums);
        self.figures(
            &format!("{name} totals"),
            report.derive(totals),
            &period["totals"],
        );
        for row in rows.iter().filter(|row| row.key != TOTALS) {
            if !series.iter().any(|bucket| bucket["start"] == row.key.as_str()) {
                self.differences.push(format!(
                    "{name}: the baseline has a bucket {} the API's series lacks ({:?})",
                    row.key, row.sums
                ));
            }
        }
        Ok(series.len())
    }

    /// A ranked list: as many items as the baseline's rows, in the same
    /// order, each with the same id and figures.
    fn list(
        &mut self,
        report: Report,
        (name, list, id): (&str, &str, &str),
        items: &[Value],
        rows: &[&BaselineRow],
    ) -> usize {
        if items.len() != rows.len() {
            self.figures(
                &format!("{name} {list}"),
                [("count", json!(rows.len()))],
                &json!({"count": items.len()}),
            );
        }
        for (rank, (item, row)) in items.iter().zip(rows).enumerate() {
            self.figures(&format!("{name} #{}", rank + 1), [(id, json!(row.key))], item);
            let place = format!("{name} #{} ({})", rank + 1, row.key);
            let stated = row
                .stated
                .iter()
                .map(|(field, value)| (field.as_str(), value.clone()));
            self.figures(&place, report.derive(&row.sums).into_iter().chain(stated), item);
        }
        items.len()
    }
}

/// Compares the API's answer with the baseline's rows: every bucket (or
/// item) and the totals, every figure the API answers, derived ones too.
pub fn compare(query: &Query, answer: &Value, rows: &[BaselineRow]) -> Result<Checked> {
    let report = query.report;
    let mut checked = Checked::default();
    let per_period = match report.layout() {
        Layout::Series => true,
        Layout::List { per_period, .. } => per_period,
    };
    let periods: &[(&str, bool)] = match (per_period, query.compare) {
        (false, _) => &[("answer", true)],
        (true, false) => &[("current", true)],
        (true, true) => &[("current", true), ("previous", false)],
    };
    for &(name, current) in periods {
        let period = if per_period {
            answer
                .get(name)
                .with_context(|| format!("{}: no `{name}` in the answer", query.name))?
        } else {
            answer
        };
        let rows: Vec<&BaselineRow> = rows.iter().filter(|row| row.current == current).collect();
        let (count, first) = match report.layout() {
            Layout::Series => {
                let count = checked
                    .series(report, name, period, &rows)
                    .with_context(|| query.name)?;
                (count, &period["totals"])
            }
            Layout::List { list, id, .. } => {
                let items = period[list]
                    .as_array()
                    .with_context(|| format!("{}: no {list} in {name}", query.name))?;
                let count = checked.list(report, (name, list, id), items, &rows);
                (count, items.first().unwrap_or(&Value::Null))
            }
        };
        checked.figures(name, report.period_figures(&rows), period);
        if current {
            checked.rows = count;
            checked.headline = headline(report, first);
        }
    }
    Ok(checked)
}

/// The report's headline fields of `object` (a list's first item: `#1`).
fn headline(report: Report, object: &Value) -> String {
    let fields = report
        .headline()
        .iter()
        .map(|field| match &object[field] {
            Value::String(text) => text.clone(),
            value => format!("{field} {value}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    match report.layout() {
        Layout::List { .. } => format!("#1 {fields}"),
        Layout::Series => fields,
    }
}

/// Numbers compare as numbers (an integer and the same float are equal).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
