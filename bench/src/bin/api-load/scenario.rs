//! The scenarios under load: three catalog reads, one of them again signed
//! in, order creation, and storefront events. Each scenario is a set of requests; every call of
//! wrk and every transaction of pgbench picks one at random, so both sides
//! read (or order) the same things.

use shopfleet_api::auth::tokens::sha256;
use shopfleet_api::auth::{KeyKind, Principal};
use shopfleet_api::ids::{ProductId, StoreId};
use shopfleet_api::orders::model::{NewOrderLine, NewOrderRequest};
use shopfleet_api::promotions::engine;
use sqlx::types::chrono::Utc;

use crate::events::{self, EventTemplate};
use crate::store::{PAGE, PROMOTION_BASIS_POINTS, PROMOTION_CODE, Stocked, Store};

/// Every scenario's name, in the order they run (`--only` takes these).
pub const NAMES: [&str; 6] = ["list", "get", "get-signed-in", "search", "order", "events"];

pub struct Scenario {
    pub name: &'static str,
    /// The route, for the report.
    pub route: &'static str,
    pub requests: Vec<Request>,
    pub caller: Caller,
    /// Orders only: the body of the API's answer to the check's order. The
    /// ceiling stores it as each order's idempotent answer, as the API
    /// stores its own.
    pub answer: Option<String>,
}

/// Who sends a scenario's requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The store's publishable key, as a shop front reads the catalog.
    PublishableKey,
    /// The store's secret key, as a store's own systems place orders.
    SecretKey,
    /// A signed-in customer's access token: each request also checks that
    /// the session still stands (`auth::sessions`, one cached lookup per
    /// user per 2 s), which keys never do.
    SignedIn,
}

/// What a request presents as its caller: a header and its value.
pub struct Credentials<'a> {
    pub store: &'a Store,
    /// A signed-in customer's access token.
    pub access_token: &'a str,
}

impl Credentials<'_> {
    pub fn header(&self, caller: Caller) -> (&'static str, String) {
        match caller {
            Caller::PublishableKey => ("X-Api-Key", self.store.keys.publishable.clone()),
            Caller::SecretKey => ("X-Api-Key", self.store.keys.secret.clone()),
            Caller::SignedIn => ("Authorization", format!("Bearer {}", self.access_token)),
        }
    }
}

/// One request, and what the API's queries return for it.
pub enum Request {
    /// The first page of the newest products.
    List {
        page: Vec<ProductId>,
    },
    Get {
        product: ProductId,
    },
    /// The first page of the products that `word` finds.
    Search {
        word: &'static str,
        page: Vec<ProductId>,
    },
    /// One unit of each of a basket's variants, with the promotion code.
    Order(Order),
    /// A batch of storefront events, each with a new id (`events.rs`).
    Events {
        batch: Vec<EventTemplate>,
    },
}

/// An order of one basket, placed with the store's secret key, and what the
/// API makes of it.
pub struct Order {
    /// The lines as the request lists them, one unit each.
    pub lines: Vec<Stocked>,
    /// What the API's promotions engine takes off each line.
    pub line_discounts: Vec<i64>,
    /// The request's body, as a client sends it.
    pub body: String,
    /// What the API keeps of the request under its idempotency key: SHA-256
    /// of the operation and the parsed body.
    pub fingerprint: Vec<u8>,
}

/// Who places the orders: the store's secret key (publishable keys cannot).
pub fn order_caller(store: &Store) -> String {
    Principal::StoreKey {
        store_id: store.id,
        kind: KeyKind::Secret,
    }
    .actor()
}

/// The quantity of every line.
pub const QUANTITY: i32 = 1;

impl Order {
    fn new(lines: &[Stocked], store: &Store) -> Self {
        let body = serde_json::json!({
            "lines": lines
                .iter()
                .map(|line| serde_json::json!({"variant_id": line.offer.variant_id, "quantity": QUANTITY}))
                .collect::<Vec<_>>(),
            "promotion_code": PROMOTION_CODE,
        })
        .to_string();
        // The API's fingerprint: the operation, a zero byte, and the request
        // as it parsed it, serialised again (`idempotency::fingerprint`).
        let parsed = NewOrderRequest {
            lines: lines
                .iter()
                .map(|line| NewOrderLine {
                    variant_id: line.offer.variant_id,
                    quantity: QUANTITY,
                    night: None,
                })
                .collect(),
            promotion_code: Some(PROMOTION_CODE.to_owned()),
            customer_id: None,
            session_id: None,
            party_size: None,
        };
        let parsed = serde_json::to_string(&parsed).expect("an order request serialises");
        let fingerprint = sha256(&format!("orders.create\0{parsed}"));
        Self {
            line_discounts: discounts(lines, store),
            lines: lines.to_vec(),
            body,
            fingerprint,
        }
    }

    pub fn subtotal(&self) -> i64 {
        self.lines
            .iter()
            .map(|line| line.offer.price_minor * i64::from(QUANTITY))
            .sum()
    }

    pub fn discount(&self) -> i64 {
        self.line_discounts.iter().sum()
    }
}

/// What the API's own engine takes off each line with the store's one
/// promotion (as `orders::place` evaluates it: no customer, the code).
fn discounts(lines: &[Stocked], store: &Store) -> Vec<i64> {
    let basket: Vec<engine::Line> = lines
        .iter()
        .map(|line| engine::Line {
            product: line.offer.product_id,
            variant: line.offer.variant_id,
            categories: line.offer.category_ids.clone(),
            quantity: QUANTITY.into(),
            unit_price: line.offer.price_minor,
        })
        .collect();
    let promotion = engine::Promotion {
        id: store.promotion,
        rule: engine::Rule::Percentage {
            basis_points: PROMOTION_BASIS_POINTS.into(),
        },
        code: Some(PROMOTION_CODE.to_owned()),
        min_subtotal: None,
        product_ids: Vec::new(),
        category_ids: Vec::new(),
        customer_ids: Vec::new(),
        starts_at: None,
        ends_at: None,
        usage_limit: None,
        times_used: 0,
        per_customer_limit: None,
        customer_uses: 0,
        stackable: true,
        priority: 0,
    };
    engine::evaluate(
        &engine::Basket {
            lines: &basket,
            customer: None,
            code: Some(PROMOTION_CODE),
            now: Utc::now(),
        },
        &[promotion],
    )
    .expect("the bench's promotion applies to every basket")
    .line_discounts
}

impl Request {
    /// The request's method and path on the API.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Order(_) | Self::Events { .. } => "POST",
            _ => "GET",
        }
    }

    pub fn path(&self, store: StoreId) -> String {
        let products = format!("/v1/stores/{store}/products");
        match self {
            Self::List { .. } => format!("{products}?limit={PAGE}"),
            Self::Get { product } => format!("{products}/{product}"),
            Self::Search { word, .. } => format!("{products}?q={word}&limit={PAGE}"),
            Self::Order(_) => format!("/v1/stores/{store}/orders"),
            Self::Events { .. } => format!("/v1/stores/{store}/events"),
        }
    }
}

pub fn scenarios(store: &Store) -> Vec<Scenario> {
    let gets = || {
        store
            .sample
            .iter()
            .map(|&product| Request::Get { product })
            .collect()
    };
    let scenarios = vec![
        Scenario {
            name: "list",
            route: "GET /v1/stores/{store}/products?limit=20",
            requests: vec![Request::List {
                page: store.list_page.clone(),
            }],
            caller: Caller::PublishableKey,
            answer: None,
        },
        Scenario {
            name: "get",
            route: "GET /v1/stores/{store}/products/{id}",
            requests: gets(),
            caller: Caller::PublishableKey,
            answer: None,
        },
        Scenario {
            name: "get-signed-in",
            route: "GET /v1/stores/{store}/products/{id} (a customer's token)",
            requests: gets(),
            caller: Caller::SignedIn,
            answer: None,
        },
        Scenario {
            name: "search",
            route: "GET /v1/stores/{store}/products?q={word}&limit=20",
            requests: store
                .search_pages
                .iter()
                .map(|(word, page)| Request::Search {
                    word,
                    page: page.clone(),
                })
                .collect(),
            caller: Caller::PublishableKey,
            answer: None,
        },
        Scenario {
            name: "order",
            route: "POST /v1/stores/{store}/orders",
            requests: store
                .baskets
                .iter()
                .map(|basket| Request::Order(Order::new(basket, store)))
                .collect(),
            caller: Caller::SecretKey,
            answer: None,
        },
        Scenario {
            name: "events",
            route: "POST /v1/stores/{store}/events (500 events a request)",
            requests: vec![Request::Events {
                batch: events::batch(store),
            }],
            caller: Caller::PublishableKey,
            answer: None,
        },
    ];
    debug_assert!(scenarios.iter().map(|s| s.name).eq(NAMES));
    scenarios
}
