//! The catalog of each store: categories, products and their variants.
//!
//! Shoppers (customers, publishable keys) read active products; a store's
//! staff (owners, its staff, its secret key) see every status and change
//! things, each change carrying the `version` it read (409 when stale).

mod categories;
pub mod model;
mod products;
pub mod sql;
mod variants;

use actix_web::web;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    categories::list_categories,
    categories::create_category,
    categories::delete_category,
    products::list_products,
    products::get_product,
    products::create_product,
    products::update_product,
    products::delete_product,
    variants::create_variant,
    variants::update_variant,
    variants::delete_variant
))]
pub struct Api;

/// The routes, inside the app's `/v1/stores/{store_id}` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    const PRODUCT: &str = "/products/{product_id}";
    const VARIANT: &str = "/products/{product_id}/variants/{variant_id}";
    cfg.route("/categories", web::get().to(categories::list_categories))
        .route("/categories", web::post().to(categories::create_category))
        .route(
            "/categories/{category_id}",
            web::delete().to(categories::delete_category),
        )
        .route("/products", web::get().to(products::list_products))
        .route("/products", web::post().to(products::create_product))
        .route(PRODUCT, web::get().to(products::get_product))
        .route(PRODUCT, web::patch().to(products::update_product))
        .route(PRODUCT, web::delete().to(products::delete_product))
        .route(
            "/products/{product_id}/variants",
            web::post().to(variants::create_variant),
        )
        .route(VARIANT, web::patch().to(variants::update_variant))
        .route(VARIANT, web::delete().to(variants::delete_variant));
}
