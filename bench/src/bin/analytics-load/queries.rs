//! The dashboard queries measured, in one table (`QUERIES`: one line each),
//! and for each kind of report its baseline: the same figures from one plain
//! `GROUP BY` over the raw tables (orders, order_lines, order_events,
//! storefront_events), no rollups, and how to compare them with the report.
//!
//! A new query of an existing report is one line of `QUERIES`. A new report
//! is a `Report` variant with its route, its baseline SQL and its figures
//! (`Report::figures`, `Report::derive`).

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
}

/// How far back a period reaches from the data's last day ("today").
#[derive(Clone, Copy, Debug)]
pub enum Span {
    /// The last n days, today included.
    Days(i64),
    /// The last n calendar months, this (partial) month included.
    Months(i64),
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
            Span::Days(n) => today - n + 1,
            Span::Months(n) => {
                let (y, m, _) = civil::ymd(today);
                let month = y * 12 + (m - 1) - (n - 1);
                civil::day_number(month.div_euclid(12), month.rem_euclid(12) + 1, 1)
            }
        };
        Dates { from, to: today + 1 }
    }

    /// The request's path and query string.
    pub fn path(&self, store: uuid::Uuid, today: i64) -> String {
        let dates = self.dates(today);
        let mut path = format!(
            "/v1/stores/{store}/analytics/{}?from={}&to={}",
            self.report.route(),
            civil::date_text(dates.from),
            civil::date_text(dates.to)
        );
        if !self.interval.is_empty() {
            path += &format!("&interval={}", self.interval);
        }
        if self.compare {
            path += "&compare=previous_period";
        }
        match self.report {
            Report::Sales { dated_by } => path += &format!("&dated_by={dated_by}"),
            Report::Top { by, rank, limit } => path += &format!("&by={by}&rank={rank}&limit={limit}"),
            Report::Funnel | Report::Hospitality => {}
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
            Report::Sales { .. } | Report::Funnel | Report::Hospitality => query.bind(self.interval),
            Report::Top { by, rank, limit } => query.bind(by).bind(rank).bind(limit),
        }
    }
}

/// The format of a bucket's start in the API's answers.
macro_rules! start_format {
    () => {
        r#"'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'"#
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
    SELECT f.at >= b.mid AS current, to_char(date_trunc($6, f.at, $2), ",
    start_format!(),
    ") AS key, \
        sum(orders)::bigint, sum(units)::bigint, sum(gross)::bigint, sum(discounts)::bigint, \
        sum(returns)::bigint, sum(returned)::bigint \
    FROM facts f, b GROUP BY 1, 2 ORDER BY 1 DESC, 2"
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
    SELECT f.at >= b.mid AS current, to_char(date_trunc($6, f.at, $2), ",
    start_format!(),
    ") AS key, \
        sum(orders)::bigint, sum(units)::bigint, sum(gross)::bigint, sum(discounts)::bigint, \
        sum(returns)::bigint, sum(returned)::bigint \
    FROM facts f, b GROUP BY 1, 2 ORDER BY 1 DESC, 2"
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

/// A row of a baseline: the period it belongs to, its bucket's start (or
/// the item's id), its sums in the order of `Report::sums`.
pub struct BaselineRow {
    pub current: bool,
    pub key: String,
    pub sums: Vec<i64>,
}

pub fn baseline_rows(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<BaselineRow>> {
    use sqlx::Row as _;
    rows.iter()
        .map(|row| {
            let sums = (2..row.len())
                .map(|i| row.try_get::<i64, _>(i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(BaselineRow {
                current: row.try_get(0)?,
                key: row.try_get(1)?,
                sums,
            })
        })
        .collect()
}

impl Report {
    pub fn route(self) -> &'static str {
        match self {
            Self::Sales { .. } => "sales",
            Self::Top { .. } => "top",
            Self::Funnel => "funnel",
            Self::Hospitality => "hospitality",
        }
    }

    fn baseline_sql(self) -> &'static str {
        match self {
            Self::Sales { dated_by: "order" } => SALES_BY_ORDER_PLACED,
            Self::Sales { .. } => SALES_BY_TRANSACTION,
            Self::Top { .. } => TOP,
            Self::Funnel => FUNNEL,
            Self::Hospitality => HOSPITALITY,
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
        }
    }

    fn sums(self) -> usize {
        match self {
            Self::Sales { .. } => 6,
            Self::Top { .. } => 5,
            Self::Funnel => 5,
            Self::Hospitality => 8,
        }
    }
}

/// What a check found: the figures compared, and every difference.
pub struct Checked {
    pub figures: usize,
    pub differences: Vec<String>,
    /// The current period's headline, for the record (e.g. its net sales).
    pub headline: String,
}

/// Compares the API's answer with the baseline's rows: every bucket (or
/// item) and the totals, every figure the API answers, derived ones too.
pub fn compare(query: &Query, answer: &Value, rows: &[BaselineRow]) -> Result<Checked> {
    let report = query.report;
    let mut checked = Checked {
        figures: 0,
        differences: Vec::new(),
        headline: String::new(),
    };
    let periods: &[(&str, bool)] = if query.compare {
        &[("current", true), ("previous", false)]
    } else {
        &[("current", true)]
    };
    for &(name, current) in periods {
        let period = answer
            .get(name)
            .with_context(|| format!("{}: no `{name}` in the answer", query.name))?;
        let rows: Vec<&BaselineRow> = rows.iter().filter(|row| row.current == current).collect();
        let mut compare_figures = |place: String, expected: Vec<(&'static str, Value)>, actual: &Value| {
            for (field, want) in expected {
                checked.figures += 1;
                let got = actual.get(field).cloned().unwrap_or(Value::Null);
                if !same(&got, &want) {
                    checked
                        .differences
                        .push(format!("{name} {place} {field}: API {got}, baseline {want}"));
                }
            }
        };
        if let Report::Top { .. } = report {
            let items = period["items"]
                .as_array()
                .with_context(|| format!("{}: no items in {name}", query.name))?;
            if items.len() != rows.len() {
                compare_figures(
                    "items".to_owned(),
                    vec![("count", json!(rows.len()))],
                    &json!({"count": items.len()}),
                );
            }
            for (rank, (item, row)) in items.iter().zip(&rows).enumerate() {
                compare_figures(format!("#{}", rank + 1), vec![("id", json!(row.key))], item);
                compare_figures(
                    format!("#{} ({})", rank + 1, row.key),
                    report.derive(&row.sums),
                    item,
                );
            }
            if current && let Some(first) = items.first() {
                checked.headline = format!(
                    "#1 {} net {}",
                    first["name"].as_str().unwrap_or("?"),
                    first["net_sales_minor"]
                );
            }
            continue;
        }
        let series = period["series"]
            .as_array()
            .with_context(|| format!("{}: no series in {name}", query.name))?;
        let zeros = vec![0; report.sums()];
        let mut totals = zeros.clone();
        for bucket in series {
            let start = bucket["start"].as_str().unwrap_or_default();
            let sums = rows
                .iter()
                .find(|row| row.key == start)
                .map_or(&zeros, |row| &row.sums);
            for (total, value) in totals.iter_mut().zip(sums) {
                *total += value;
            }
            compare_figures(format!("bucket {start}"), report.derive(sums), bucket);
        }
        compare_figures("totals".to_owned(), report.derive(&totals), &period["totals"]);
        for row in &rows {
            if !series.iter().any(|bucket| bucket["start"] == row.key.as_str()) {
                checked.differences.push(format!(
                    "{name}: the baseline has a bucket {} the API's series lacks ({:?})",
                    row.key, row.sums
                ));
            }
        }
        if current {
            let wanted: &[&str] = match report {
                Report::Sales { .. } => &["orders", "net_sales_minor"],
                Report::Funnel => &["sessions", "purchased"],
                Report::Hospitality => &["room_nights_sold", "covers"],
                Report::Top { .. } => &[],
            };
            checked.headline = report
                .derive(&totals)
                .into_iter()
                .filter(|(field, _)| wanted.contains(field))
                .map(|(field, value)| format!("{field} {value}"))
                .collect::<Vec<_>>()
                .join(", ");
        }
    }
    Ok(checked)
}

/// Numbers compare as numbers (an integer and the same float are equal).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
