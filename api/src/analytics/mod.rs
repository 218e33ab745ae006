//! Analytics: reports over a store's sales, exact to the minor unit and cut
//! in the store's time zone (formulas in docs/analytics.md). They read
//! rollups kept by `fold` plus the raw facts past its mark, so an order
//! committed a moment ago is already counted. Staff only.

/// `Add` for a struct of sums: field by field.
macro_rules! summable {
    ($name:ident { $($field:ident),+ $(,)? }) => {
        impl std::ops::Add for $name {
            type Output = Self;
            fn add(self, other: Self) -> Self {
                Self { $($field: self.$field + other.$field),+ }
            }
        }
    };
}

pub mod customers;
pub mod export;
pub mod fold;
pub mod funnel;
pub mod hospitality;
pub mod inventory;
pub mod period;
pub mod products;
pub mod promotions;
pub mod ratio;
pub mod rollup;
pub mod sales;
pub mod snapshot;
pub mod ticketing;

use actix_web::{HttpRequest, HttpResponse, web};

use self::customers::{CohortsReport, CustomersReport, RfmReport};
use self::funnel::FunnelReport;
use self::hospitality::HospitalityReport;
use self::inventory::{InventoryReport, Window};
use self::period::{Dates, Period};
use self::products::{Dimension, Rank, TopReport};
use self::promotions::PromotionsReport;
use self::sales::{DatedBy, SalesReport};
use self::ticketing::EventsReport;
use crate::access::{StoreCaller, need};
use crate::error::{ApiError, Problem};
use crate::ids::StoreId;
use crate::validate::Checks;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    sales_report,
    top_report,
    funnel_report,
    hospitality_report,
    events_report,
    customers_report,
    cohorts_report,
    rfm_report,
    promotions_report,
    inventory_report
))]
pub struct Api;

/// The routes, inside the app's `/v1/stores/{store_id}` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/analytics/sales", web::get().to(sales_report))
        .route("/analytics/top", web::get().to(top_report))
        .route("/analytics/funnel", web::get().to(funnel_report))
        .route("/analytics/hospitality", web::get().to(hospitality_report))
        .route("/analytics/events", web::get().to(events_report))
        .route("/analytics/customers", web::get().to(customers_report))
        .route("/analytics/cohorts", web::get().to(cohorts_report))
        .route("/analytics/rfm", web::get().to(rfm_report))
        .route("/analytics/promotions", web::get().to(promotions_report))
        .route("/analytics/inventory", web::get().to(inventory_report));
}

/// The query of the sales report.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SalesQuery {
    /// The first local date, in the store's time zone (`2026-03-01`).
    pub from: Option<String>,
    /// The local date after the last (excluded).
    pub to: Option<String>,
    /// `hour`, `day` (the default), `week` (from Monday) or `month`.
    pub interval: Option<String>,
    /// `previous_period`: also the period of the same length just before.
    pub compare: Option<String>,
    /// `transaction` (the default: a refund counts on its own day) or
    /// `order` (on the day its order was placed).
    pub dated_by: Option<String>,
}

/// Sales over time: gross sales, discounts, returns, net sales, orders,
/// units and average order value per hour, day, week or month of the
/// store's time zone, zeros included (as CSV with `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/stores/{store_id}/analytics/sales", tag = "analytics",
    params(("store_id" = StoreId, Path), SalesQuery),
    responses(
        (status = 200, description = "The report", content(
            (SalesReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff", body = Problem, content_type = "application/problem+json"),
    ))]
async fn sales_report(
    caller: StoreCaller<need::Staff>,
    query: web::Query<SalesQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut checks = Checks::default();
    let period = Period::check(
        &mut checks,
        query.from.as_deref(),
        query.to.as_deref(),
        query.interval.as_deref(),
    );
    let compare = checks.parse("compare", period::compares(query.compare.as_deref()));
    let dated_by = checks.parse("dated_by", DatedBy::parse(query.dated_by.as_deref()));
    let (period, compare, dated_by) = checks.finish_with((period, compare, dated_by))?;
    let report = caller
        .snapshot(async |tx| sales::report(tx, period, dated_by, compare).await)
        .await?;
    Ok(export::respond(&request, &report, SalesReport::table))
}

/// The query of the top list.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TopQuery {
    /// The first local date, in the store's time zone (`2026-03-01`).
    pub from: Option<String>,
    /// The local date after the last (excluded).
    pub to: Option<String>,
    /// `previous_period`: also the top of the period of the same length just before.
    pub compare: Option<String>,
    /// `product` (the default), `variant` or `category`.
    pub by: Option<String>,
    /// `net_sales` (the default) or `net_units`.
    pub rank: Option<String>,
    /// How many, 1 to 100 (10 by default).
    pub limit: Option<i64>,
}

/// The best sellers of a period: products, variants or categories ranked by
/// net sales or net units, sales dated by transaction (as CSV with
/// `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/stores/{store_id}/analytics/top", tag = "analytics",
    params(("store_id" = StoreId, Path), TopQuery),
    responses(
        (status = 200, description = "The list", content(
            (TopReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff", body = Problem, content_type = "application/problem+json"),
    ))]
async fn top_report(
    caller: StoreCaller<need::Staff>,
    query: web::Query<TopQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut checks = Checks::default();
    let dates = Dates::check(&mut checks, query.from.as_deref(), query.to.as_deref());
    let compare = checks.parse("compare", period::compares(query.compare.as_deref()));
    let by = checks.parse("by", Dimension::parse(query.by.as_deref()));
    let rank = checks.parse("rank", Rank::parse(query.rank.as_deref()));
    let limit = checks.parse("limit", products::limit(query.limit));
    let (dates, compare, by, rank, limit) = checks.finish_with((dates, compare, by, rank, limit))?;
    let report = caller
        .snapshot(async |tx| products::report(tx, dates, by, rank, limit, compare).await)
        .await?;
    Ok(export::respond(&request, &report, TopReport::table))
}

/// The query of a report over a period cut into buckets.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// The first local date, in the store's time zone (`2026-03-01`).
    pub from: Option<String>,
    /// The local date after the last (excluded).
    pub to: Option<String>,
    /// `hour`, `day` (the default), `week` (from Monday) or `month`.
    pub interval: Option<String>,
    /// `previous_period`: also the period of the same length just before.
    pub compare: Option<String>,
}

impl PeriodQuery {
    /// The period and whether to compare, every bad parameter named.
    fn check(&self) -> Result<(Period, bool), ApiError> {
        let mut checks = Checks::default();
        let period = Period::check(
            &mut checks,
            self.from.as_deref(),
            self.to.as_deref(),
            self.interval.as_deref(),
        );
        let compare = checks.parse("compare", period::compares(self.compare.as_deref()));
        checks.finish_with((period, compare))
    }
}

/// The funnel: sessions of the shop front by the bucket of their first
/// event, and how many of them viewed a product, added to the cart, started
/// a checkout and purchased, each step counting only sessions that took
/// every step before it (as CSV with `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/stores/{store_id}/analytics/funnel", tag = "analytics",
    params(("store_id" = StoreId, Path), PeriodQuery),
    responses(
        (status = 200, description = "The report", content(
            (FunnelReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff", body = Problem, content_type = "application/problem+json"),
    ))]
async fn funnel_report(
    caller: StoreCaller<need::Staff>,
    query: web::Query<PeriodQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (period, compare) = query.check()?;
    let report = caller
        .snapshot(async |tx| funnel::report(tx, period, compare).await)
        .await?;
    Ok(export::respond(&request, &report, FunnelReport::table))
}

/// Hospitality: rooms by night of stay (occupancy, ADR, RevPAR, arrivals,
/// length of stay, lead time) and tables by day of sale (covers, average
/// check per cover), by day, week or month (as CSV with `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/stores/{store_id}/analytics/hospitality", tag = "analytics",
    params(("store_id" = StoreId, Path), PeriodQuery),
    responses(
        (status = 200, description = "The report", content(
            (HospitalityReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff; 422 for an hourly interval", body = Problem, content_type = "application/problem+json"),
    ))]
async fn hospitality_report(
    caller: StoreCaller<need::Staff>,
    query: web::Query<PeriodQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (period, compare) = query.check()?;
    hospitality::check_interval(&period)
        .map_err(|detail| ApiError::Validation(vec![crate::error::FieldError::new("interval", detail)]))?;
    let report = caller
        .snapshot(async |tx| hospitality::report(tx, period, compare).await)
        .await?;
    Ok(export::respond(&request, &report, HospitalityReport::table))
}

/// The query of a report over things dated in a period (events by their start).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DatesQuery {
    /// The first local date, in the store's time zone (`2026-03-01`).
    pub from: Option<String>,
    /// The local date after the last (excluded).
    pub to: Option<String>,
}

/// Events: each ticket product starting in the period, with its sell-through,
/// revenue, average ticket price, sales velocity, days to half sold and,
/// once started, its check-in and no-show rates (as CSV with `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/stores/{store_id}/analytics/events", tag = "analytics",
    params(("store_id" = StoreId, Path), DatesQuery),
    responses(
        (status = 200, description = "The report", content(
            (EventsReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff", body = Problem, content_type = "application/problem+json"),
    ))]
async fn events_report(
    caller: StoreCaller<need::Staff>,
    query: web::Query<DatesQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let dates = query.check()?;
    let report = caller
        .snapshot(async |tx| ticketing::report(tx, dates).await)
        .await?;
    Ok(export::respond(&request, &report, EventsReport::table))
}

impl DatesQuery {
    fn check(&self) -> Result<Dates, ApiError> {
        let mut checks = Checks::default();
        let dates = Dates::check(&mut checks, self.from.as_deref(), self.to.as_deref());
        checks.finish_with(dates)
    }
}

/// New and returning customers per bucket, and the period's repeat purchase
/// rate (as CSV with `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/stores/{store_id}/analytics/customers", tag = "analytics",
    params(("store_id" = StoreId, Path), PeriodQuery),
    responses(
        (status = 200, description = "The report", content(
            (CustomersReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff", body = Problem, content_type = "application/problem+json"),
    ))]
async fn customers_report(
    caller: StoreCaller<need::Staff>,
    query: web::Query<PeriodQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (period, compare) = query.check()?;
    let report = caller
        .snapshot(async |tx| customers::customers_report(tx, period, compare).await)
        .await?;
    Ok(export::respond(&request, &report, CustomersReport::table))
}

/// Cohort retention: customers by the month of their first order, and how
/// many of them ordered in each month since (as CSV with `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/stores/{store_id}/analytics/cohorts", tag = "analytics",
    params(("store_id" = StoreId, Path), DatesQuery),
    responses(
        (status = 200, description = "The report", content(
            (CohortsReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cohorts_report(
    caller: StoreCaller<need::Staff>,
    query: web::Query<DatesQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let dates = query.check()?;
    let report = caller
        .snapshot(async |tx| customers::cohorts_report(tx, dates).await)
        .await?;
    Ok(export::respond(&request, &report, CohortsReport::table))
}

/// RFM segments of the customers who ordered in the period, by recency and
/// frequency scores (as CSV with `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/stores/{store_id}/analytics/rfm", tag = "analytics",
    params(("store_id" = StoreId, Path), DatesQuery),
    responses(
        (status = 200, description = "The report", content(
            (RfmReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rfm_report(
    caller: StoreCaller<need::Staff>,
    query: web::Query<DatesQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let dates = query.check()?;
    let report = caller
        .snapshot(async |tx| customers::rfm_report(tx, dates).await)
        .await?;
    Ok(export::respond(&request, &report, RfmReport::table))
}

/// The query of the promotions report.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CompareDatesQuery {
    /// The first local date, in the store's time zone (`2026-03-01`).
    pub from: Option<String>,
    /// The local date after the last (excluded).
    pub to: Option<String>,
    /// `previous_period`: also the period of the same length just before.
    pub compare: Option<String>,
}

/// Promotions: per promotion, the orders paid with it, the discount it gave
/// and the net sales of those orders, by net sales (as CSV with `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/stores/{store_id}/analytics/promotions", tag = "analytics",
    params(("store_id" = StoreId, Path), CompareDatesQuery),
    responses(
        (status = 200, description = "The report", content(
            (PromotionsReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff", body = Problem, content_type = "application/problem+json"),
    ))]
async fn promotions_report(
    caller: StoreCaller<need::Staff>,
    query: web::Query<CompareDatesQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut checks = Checks::default();
    let dates = Dates::check(&mut checks, query.from.as_deref(), query.to.as_deref());
    let compare = checks.parse("compare", period::compares(query.compare.as_deref()));
    let (dates, compare) = checks.finish_with((dates, compare))?;
    let report = caller
        .snapshot(async |tx| promotions::report(tx, dates, compare).await)
        .await?;
    Ok(export::respond(&request, &report, PromotionsReport::table))
}

/// The query of the inventory report.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InventoryQuery {
    /// Sales of the last this many local days, today included: 1 to 365 (30 by default).
    pub days: Option<i64>,
    /// Low on stock at this many units available or fewer (5 by default).
    pub low_stock_units: Option<i64>,
    /// `true`: only the variants low on stock.
    pub low_only: Option<bool>,
    /// How many variants, 1 to 1000 (100 by default).
    pub limit: Option<i64>,
}

/// Inventory: per standard variant in stock, units sold lately, sell-through,
/// days of cover and whether it is low, soonest out of stock first (as CSV
/// with `Accept: text/csv`).
#[utoipa::path(get, path = "/v1/stores/{store_id}/analytics/inventory", tag = "analytics",
    params(("store_id" = StoreId, Path), InventoryQuery),
    responses(
        (status = 200, description = "The report", content(
            (InventoryReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = "4XX", description = "A problem (RFC 9457): 403 for anyone but the store's staff", body = Problem, content_type = "application/problem+json"),
    ))]
async fn inventory_report(
    caller: StoreCaller<need::Staff>,
    query: web::Query<InventoryQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut checks = Checks::default();
    let days = checks.parse("days", Window::days(query.days));
    let low = checks.parse("low_stock_units", Window::low_stock_units(query.low_stock_units));
    let limit = checks.parse("limit", Window::limit(query.limit));
    let (days, low_stock_units, limit) = checks.finish_with((days, low, limit))?;
    let window = Window {
        days,
        low_stock_units,
        low_only: query.low_only.unwrap_or(false),
        limit,
    };
    let report = caller
        .snapshot(async |tx| inventory::report(tx, window).await)
        .await?;
    Ok(export::respond(&request, &report, InventoryReport::table))
}
