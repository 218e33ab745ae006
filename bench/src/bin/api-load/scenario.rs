//! The three catalog reads under load. Each scenario is a set of requests;
//! every call of wrk and every transaction of pgbench picks one at random, so
//! both sides read the same things.

use shopfleet_api::ids::{ProductId, StoreId};

use crate::store::{PAGE, Store};

pub struct Scenario {
    pub name: &'static str,
    /// The route, for the report.
    pub route: &'static str,
    pub reads: Vec<Read>,
}

/// One request, and what the API's queries return for it.
pub enum Read {
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
}

impl Read {
    /// The request's path on the API.
    pub fn path(&self, store: StoreId) -> String {
        let products = format!("/v1/stores/{store}/products");
        match self {
            Self::List { .. } => format!("{products}?limit={PAGE}"),
            Self::Get { product } => format!("{products}/{product}"),
            Self::Search { word, .. } => format!("{products}?q={word}&limit={PAGE}"),
        }
    }
}

pub fn scenarios(store: &Store) -> Vec<Scenario> {
    vec![
        Scenario {
            name: "list",
            route: "GET /v1/stores/{store}/products?limit=20",
            reads: vec![Read::List {
                page: store.list_page.clone(),
            }],
        },
        Scenario {
            name: "get",
            route: "GET /v1/stores/{store}/products/{id}",
            reads: store
                .sample
                .iter()
                .map(|&product| Read::Get { product })
                .collect(),
        },
        Scenario {
            name: "search",
            route: "GET /v1/stores/{store}/products?q={word}&limit=20",
            reads: store
                .search_pages
                .iter()
                .map(|(word, page)| Read::Search {
                    word,
                    page: page.clone(),
                })
                .collect(),
        },
    ]
}
