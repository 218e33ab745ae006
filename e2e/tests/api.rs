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
        202,
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

    // Anyone with the publishable key lists and searches the catalog,
    // within the starter plan's rates (20 requests/s per client, 50 in all:
    // two seconds' worth of each).
    let listed = call(port, "GET", &products, Some(("X-Api-Key", publishable)), None);
    assert_eq!(
        listed.header("RateLimit-Policy"),
        Some("\"client\";q=40;w=2, \"tenant\";q=100;w=2")
    );
    let page = expect(listed, 200);
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

/// Password hashing is bounded: 200 concurrent registrations and 200
/// acceptances of made-up invitations keep the API under its Deployment's
/// memory limit, and the catalog keeps answering all along. Registrations
/// past the bound get 503 with `Retry-After`; made-up invitations are
/// refused before any hashing, so always with 401.
#[tokio::test]
async fn a_flood_of_password_work_neither_kills_nor_starves_the_api() {
    let client = client().await;
    let mut served = ServedTenant::new(&client).await;
    // The rate limits would turn most of this flood away before any
    // hashing (api/tests/limits.rs); lifted here, so the flood reaches the
    // password hashing, whose bound is what this test is about. The flood
    // comes from many addresses through a proxy, as through an ingress, so
    // the cap on made-up credentials per client does not answer either.
    served.launch.env.push((
        shopfleet_contract::TRUSTED_PROXIES.to_owned(),
        "127.0.0.1".to_owned(),
    ));
    served.lift_rate_limits();
    let limit = memory_limit_bytes(&client, &served.tenant).await;
    let port = served.api.port;
    let catalog = format!("/v1/stores/{}/products", served.store);
    let publishable = served.publishable_key.clone();

    let before = peak_rss_bytes(served.api.process.pid());
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let prober = {
        let flooding = flooding.clone();
        std::thread::spawn(move || {
            let mut answers = Vec::new();
            while flooding.load(std::sync::atomic::Ordering::Relaxed) {
                let reply = call(port, "GET", &catalog, Some(("X-Api-Key", &publishable)), None);
                answers.push(reply.status);
            }
            answers
        })
    };
    let register = |i: usize| {
        let body = json!({"email": format!("flood{i}@example.com"), "password": "flood passphrase"});
        let client = format!("198.18.{}.{}", i / 256, i % 256);
        std::thread::spawn(move || {
            let forwarded = Some(("X-Forwarded-For", client.as_str()));
            call(port, "POST", "/v1/auth/register", forwarded, Some(body))
        })
    };
    let accept = |i: usize| {
        let body = json!({"token": format!("made-up-{i}"), "password": "flood passphrase"});
        let client = format!("198.19.{}.{}", i / 256, i % 256);
        std::thread::spawn(move || {
            let forwarded = Some(("X-Forwarded-For", client.as_str()));
            call(port, "POST", "/v1/auth/accept-invitation", forwarded, Some(body))
        })
    };
    let registrations: Vec<_> = (0..200).map(register).collect();
    let acceptances: Vec<_> = (0..200).map(accept).collect();
    let registrations: Vec<_> = registrations.into_iter().map(|t| t.join().unwrap()).collect();
    let acceptances: Vec<_> = acceptances.into_iter().map(|t| t.join().unwrap()).collect();
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    let probes = prober.join().unwrap();

    let peak = peak_rss_bytes(served.api.process.pid());
    eprintln!(
        "API peak RSS {} MiB before the flood, {} MiB after (limit {} MiB); registrations: {} created, {} refused as busy; {} catalog reads",
        before >> 20,
        peak >> 20,
        limit >> 20,
        registrations.iter().filter(|r| r.status == 202).count(),
        registrations.iter().filter(|r| r.status == 503).count(),
        probes.len()
    );
    assert!(
        peak < limit,
        "peak RSS {peak} over the Deployment's limit {limit}"
    );
    for reply in &registrations {
        match reply.status {
            202 => {}
            503 => {
                assert_eq!(reply.header("Retry-After"), Some("1"), "{reply:?}");
                assert_eq!(
                    reply.json().unwrap()["type"],
                    "https://shopfleet.io/problems/overloaded"
                );
            }
            other => panic!("a registration answered {other}: {}", reply.body),
        }
    }
    assert!(
        registrations.iter().any(|r| r.status == 202),
        "no registration got through"
    );
    for reply in &acceptances {
        assert_eq!(reply.status, 401, "a made-up invitation: {}", reply.body);
    }

    assert!(
        !probes.is_empty() && probes.iter().all(|&status| status == 200),
        "{probes:?}"
    );
    delete_tenants(&client, std::slice::from_ref(&served.tenant)).await;
}

/// The memory limit of the API container of `tenant`'s Deployment.
async fn memory_limit_bytes(client: &kube::Client, tenant: &str) -> u64 {
    let deployments = kube::Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(
        client.clone(),
        &format!("tenant-{tenant}"),
    );
    let deployment = deployments.get(&format!("{tenant}-api")).await.unwrap();
    let container = &deployment.spec.template.spec.unwrap().containers[0];
    let limits = container
        .resources
        .as_ref()
        .and_then(|r| r.limits.as_ref())
        .unwrap();
    let quantity = &limits["memory"].0;
    let (number, unit) = quantity.split_at(
        quantity
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(quantity.len()),
    );
    let scale = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        other => panic!("unexpected memory unit {other} in {quantity}"),
    };
    number.parse::<u64>().unwrap() * scale
}

/// The highest resident set size process `pid` has had (VmHWM).
fn peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}
