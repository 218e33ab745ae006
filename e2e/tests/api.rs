//! The whole path: the operator provisions a Tenant and a Store, and the API,
//! started from that tenant's Secrets as its Pod would be, serves the first
//! owner's invitation, a customer's registration and sign-in, product
//! creation and the public catalog. Real apiserver, PostgreSQL and processes.

mod support;

use serde_json::{Value, json};
use shopfleet_e2e::http::{Response, request};
use shopfleet_e2e::tenant_api::{self, TenantSecrets};
use shopfleet_operator::crd::DeletionPolicy;
use support::{
    client, create_store, delete_tenants, operator_binary, ready_tenant, secret_value, shared_operator,
    store_reaching,
};

fn call(port: u16, method: &str, path: &str, auth: Option<(&str, &str)>, body: Option<Value>) -> Response {
    let headers: Vec<(&str, &str)> = auth.into_iter().collect();
    request(port, method, path, &headers, body.as_ref()).unwrap_or_else(|e| panic!("{method} {path}: {e:#}"))
}

#[track_caller]
fn expect(response: Response, status: u16) -> Value {
    assert_eq!(response.status, status, "{}", response.body);
    response.json().unwrap()
}

#[tokio::test]
async fn the_api_serves_the_tenant_the_operator_provisioned() {
    shared_operator().await;
    let client = client().await;
    let (tenant, _) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let namespace = format!("tenant-{tenant}");
    create_store(&client, &namespace, "main", "Europe/Paris").await;
    let store = store_reaching(&client, &namespace, "main", "Ready")
        .await
        .store_id
        .unwrap();
    let secret = |name: String, key: &'static str| {
        let client = client.clone();
        let namespace = namespace.clone();
        async move { secret_value(&client, &namespace, &name, key).await }
    };
    let secrets = TenantSecrets {
        database_url: secret(format!("{tenant}-db"), "DATABASE_URL").await,
        jwt_keys: secret(format!("{tenant}-jwt"), "keys.json").await,
    };
    let invite_email = secret(format!("{tenant}-owner-invite"), "email").await;
    let invite_token = secret(format!("{tenant}-owner-invite"), "token").await;
    let publishable = secret("main-api-key".to_owned(), "publishableKey").await;
    let secret_key = secret("main-api-key".to_owned(), "secretKey").await;

    let api_binary = operator_binary().with_file_name("shopfleet-api");
    let dir = api_binary.with_file_name(format!("e2e-api-{tenant}"));
    let api = tenant_api::start(&api_binary, &tenant, &secrets, &dir)
        .unwrap_or_else(|e| panic!("starting the API: {e:#}"));
    eprintln!("API log: {}", api.log.display());
    let port = api.port;

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
            Some(("X-Api-Key", &secret_key)),
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
        call(port, "GET", &products, Some(("X-Api-Key", &publishable)), None),
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
            Some(("X-Api-Key", &publishable)),
            None,
        ),
        200,
    );
    assert_eq!(found["items"][0]["title"], "Trail running shoe");
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["variants"][0]["currency"], "EUR");

    drop(api);
    delete_tenants(&client, &[tenant]).await;
}
