//! The whole path: the operator provisions a Tenant and a Store, and the API,
//! started from that tenant's Secrets as its Pod would be, serves the first
//! owner's invitation, a customer's registration and sign-in, product
//! creation and the public catalog. Real apiserver, PostgreSQL and processes.

mod support;

use serde_json::json;
use support::{ServedTenant, call, client, delete_tenants, expect};

#[tokio::test]
async fn the_api_serves_the_tenant_the_operator_provisioned() {
    let client = client().await;
    let served = ServedTenant::new(&client).await;
    let (store, port) = (&served.store, served.api.port);
    let (invite_email, invite_token) = (served.invite_email.as_str(), served.invite_token.as_str());
    let (publishable, secret_key) = (served.publishable_key.as_str(), served.secret_key.as_str());

    // The first owner accepts the operator's invitation.
    let owner = expect(
        call(
            port,
            "POST",
            "/v1/auth/accept-invitation",
            None,
            Some(json!({"token": invite_token, "password": "owner passphrase"})),
        ),
        201,
    );
    assert_eq!(owner["user"]["email"], invite_email);
    assert_eq!(owner["user"]["role"], "owner");
    let owner_auth = format!("Bearer {}", owner["access_token"].as_str().unwrap());

    // A customer registers, then signs in.
    let customer = json!({"email": "shopper@example.com", "password": "shopper passphrase"});
    expect(
        call(port, "POST", "/v1/auth/register", None, Some(customer.clone())),
        201,
    );
    let session = expect(call(port, "POST", "/v1/auth/login", None, Some(customer)), 200);
    let customer_auth = format!("Bearer {}", session["access_token"].as_str().unwrap());
    let me = expect(
        call(
            port,
            "GET",
            "/v1/me",
            Some(("Authorization", &customer_auth)),
            None,
        ),
        200,
    );
    assert_eq!(me["role"], "customer");

    // The owner and the store's secret key create products; the customer cannot.
    let products = format!("/v1/stores/{store}/products");
    let product = |title: &str, sku: &str| json!({"title": title, "kind": "standard", "status": "active", "variants": [{"sku": sku, "price_minor": 2500}]});
    expect(
        call(
            port,
            "POST",
            &products,
            Some(("Authorization", &owner_auth)),
            Some(product("Trail running shoe", "SHOE-1")),
        ),
        201,
    );
    expect(
        call(
            port,
            "POST",
            &products,
            Some(("X-Api-Key", secret_key)),
            Some(product("Rain jacket", "JACKET-1")),
        ),
        201,
    );
    let refused = call(
        port,
        "POST",
        &products,
        Some(("Authorization", &customer_auth)),
        Some(product("x", "X")),
    );
    assert_eq!(refused.status, 403, "{}", refused.body);

    // Anyone with the publishable key lists and searches the catalog.
    let page = expect(
        call(port, "GET", &products, Some(("X-Api-Key", publishable)), None),
        200,
    );
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Rain jacket", "Trail running shoe"]);
    let found = expect(
        call(
            port,
            "GET",
            &format!("{products}?q=shoes"),
            Some(("X-Api-Key", publishable)),
            None,
        ),
        200,
    );
    assert_eq!(found["items"][0]["title"], "Trail running shoe");
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["variants"][0]["currency"], "EUR");

    let tenant = served.tenant.clone();
    drop(served);
    delete_tenants(&client, &[tenant]).await;
}
