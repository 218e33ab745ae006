//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! types, served at `/openapi.json` and, for people, at `/docs` (Swagger UI).
//! `api/openapi.json` is a committed copy that a test keeps in step
//! (`make openapi` rewrites it).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{
    analytics, catalog, events, inventory, orders, password_reset, people, promotions, stores, stream,
    system, tickets, users,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Shopfleet tenant API",
        description = "Commerce for one tenant's stores. Errors are RFC 9457 problems \
                       (application/problem+json); lists page by opaque cursors; changes to \
                       shared objects carry the `version` they read. Sign in for a bearer \
                       access token, or send a store's API key in `X-Api-Key`.",
    ),
    modifiers(&Security),
    security(("bearer" = []), ("api_key" = [])),
    tags(
        (name = "auth", description = "Accounts, sessions and invitations"),
        (name = "stores", description = "The tenant's stores (created by the operator)"),
        (name = "catalog", description = "Categories, products and variants of a store"),
        (name = "inventory", description = "Stock levels and adjustments of a store (its staff only)"),
        (name = "orders", description = "Orders: placed by customers or staff, then paid, fulfilled, cancelled or refunded"),
        (name = "promotions", description = "Discount rules of a store (its staff only), applied when orders are placed"),
        (name = "events", description = "Storefront events (sessions, views, searches, carts, checkouts) for the analytics"),
        (name = "tickets", description = "Event tickets: a code per seat, issued when the order is paid, checked in once"),
        (name = "analytics", description = "Reports over a store's sales, exact and in its time zone (its staff only)"),
        (name = "stream", description = "The live stream of a store's events, a WebSocket (its staff only)"),
        (name = "system", description = "Probes and metrics"),
    )
)]
struct ApiDoc;

/// The two ways to authenticate.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from /v1/auth/login (10 minutes)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                crate::auth::API_KEY_HEADER,
                "A store's secret key (server to server) or publishable key (catalog reads)",
            ))),
        );
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for part in [
        system::Api::openapi(),
        users::Api::openapi(),
        people::Api::openapi(),
        password_reset::Api::openapi(),
        stores::Api::openapi(),
        catalog::Api::openapi(),
        inventory::Api::openapi(),
        orders::Api::openapi(),
        promotions::Api::openapi(),
        events::Api::openapi(),
        tickets::Api::openapi(),
        analytics::Api::openapi(),
        stream::Api::openapi(),
    ] {
        document.merge(part);
    }
    document
}

/// The document as committed in `api/openapi.json`.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().expect("the document serialises");
    json.push('\n');
    json
}
