//! Promotions: per promotion, the orders paid with it, the discount it
//! gave and the net sales of those orders (docs/analytics.md, "Promotions").

use chrono::NaiveDate;
use serde::Serialize;

use super::export::{Cell, Table, compared_rows};
use super::period::{Dates, with_previous};
use super::rollup::Rollup;
use super::snapshot::{self, Snapshot};
use crate::db::StoreTx;
use crate::error::ApiError;

#[derive(Debug, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct PromotionFigures {
    pub promotion_id: uuid::Uuid,
    /// Its name and code now; null once the promotion is deleted.
    pub name: Option<String>,
    pub code: Option<String>,
    /// Orders paid with it in the period.
    pub orders: i64,
    /// What it took off those orders.
    pub discount_minor: i64,
    /// Gross − discounts − returns of the orders that used it, in the period.
    pub net_sales_minor: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PromotionList {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Every promotion with an order or a refund in the period, by net sales.
    pub promotions: Vec<PromotionFigures>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PromotionsReport {
    pub currency: String,
    pub time_zone: String,
    pub current: PromotionList,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<PromotionList>,
}

impl PromotionsReport {
    pub fn table(&self) -> Table {
        let rows = compared_rows(&self.current, self.previous.as_ref(), |list| {
            list.promotions
                .iter()
                .map(|p| {
                    vec![
                        Cell::from(p.promotion_id.to_string()),
                        p.name.clone().map_or(Cell::Empty, Cell::from),
                        p.code.clone().map_or(Cell::Empty, Cell::from),
                        p.orders.into(),
                        p.discount_minor.into(),
                        p.net_sales_minor.into(),
                    ]
                })
                .collect()
        });
        Table {
            header: &[
                "period",
                "promotion_id",
                "name",
                "code",
                "orders",
                "discount_minor",
                "net_sales_minor",
            ],
            rows,
        }
    }
}

pub async fn report(tx: &mut StoreTx, dates: Dates, compare: bool) -> Result<PromotionsReport, ApiError> {
    let snapshot = snapshot::read(tx).await?;
    let (current, previous) = with_previous(tx, dates, compare, async |tx, dates| {
        promotions_of(tx, dates, &snapshot).await
    })
    .await?;
    Ok(PromotionsReport {
        currency: tx.store.currency.clone(),
        time_zone: snapshot.time_zone,
        current,
        previous,
    })
}

async fn promotions_of(
    tx: &mut StoreTx,
    dates: Dates,
    snapshot: &Snapshot,
) -> Result<PromotionList, ApiError> {
    let promotions = sqlx::query_as(PROMOTIONS)
        .bind(tx.store.id)
        .bind(dates.from)
        .bind(dates.to)
        .bind(&snapshot.time_zone)
        .bind(&snapshot.folded_below)
        .fetch_all(tx.conn())
        .await?;
    Ok(PromotionList {
        from: dates.from,
        to: dates.to,
        promotions,
    })
}

/// The facts of orders with a promotion, once per promotion of the order,
/// with what that promotion took off it (counted with the payment), for
/// `concat!` ($1 the store, $4 the zone).
macro_rules! promotion_facts {
    ($filter:literal) => {
        concat!(
            "SELECT f.store_id, (f.occurred_at AT TIME ZONE $4)::date AS day, d.promotion_id, f.orders, \
                CASE WHEN f.orders = 1 THEN d.amount ELSE 0 END AS discount, \
                f.gross_minor - f.discounts_minor - f.returns_minor AS net \
             FROM sales_facts f \
             CROSS JOIN LATERAL (SELECT od.promotion_id, sum(od.amount_minor) AS amount FROM order_discounts od \
                WHERE od.order_id = f.order_id GROUP BY od.promotion_id) d \
             WHERE f.store_id = $1 AND ",
            $filter
        )
    };
}

/// Per promotion and local day of the transaction.
pub const ROLLUP: Rollup = Rollup {
    tables: &["promotion_sales_by_day"],
    fold: concat!(
        "INSERT INTO promotion_sales_by_day AS r (store_id, day, promotion_id, orders, discount_minor, \
            net_sales_minor) \
         SELECT store_id, day, promotion_id, sum(orders), sum(discount), sum(net) FROM (",
        promotion_facts!("f.xid >= $2::xid8 AND f.xid < $3::xid8"),
        ") p GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
         ON CONFLICT (store_id, day, promotion_id) DO UPDATE SET orders = r.orders + excluded.orders, \
            discount_minor = r.discount_minor + excluded.discount_minor, \
            net_sales_minor = r.net_sales_minor + excluded.net_sales_minor"
    ),
};

/// Store $1's promotions from local date $2 to $3 in zone $4: the rollup
/// plus the facts past the fold's mark $5 (`Snapshot::folded_below`).
const PROMOTIONS: &str = concat!(
    "WITH rows AS ( \
        SELECT r.promotion_id, r.orders, r.discount_minor AS discount, r.net_sales_minor AS net \
        FROM promotion_sales_by_day r WHERE $5::xid8 IS NOT NULL AND r.store_id = $1 AND r.day >= $2 AND r.day < $3 \
        UNION ALL \
        SELECT p.promotion_id, p.orders, p.discount, p.net FROM (",
    promotion_facts!("f.xid BETWEEN coalesce($5::xid8, '1') AND newest_xid()"),
    ") p WHERE p.day >= $2 AND p.day < $3 \
    ), sums AS ( \
        SELECT promotion_id, sum(orders)::bigint AS orders, sum(discount)::bigint AS discount_minor, \
            sum(net)::bigint AS net_sales_minor \
        FROM rows GROUP BY promotion_id \
    ) \
    SELECT s.promotion_id, p.name, p.code, s.orders, s.discount_minor, s.net_sales_minor \
    FROM sums s LEFT JOIN promotions p ON p.id = s.promotion_id \
    ORDER BY s.net_sales_minor DESC, s.promotion_id"
);
