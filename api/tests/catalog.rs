//! The catalog: staff manage products, variants and categories with
//! optimistic concurrency; shoppers read, filter and search what is active.

mod support;

use actix_web::http::Method;
use serde_json::{Value, json};
use support::{As, Shop, access, field_of_items, problem_fields, product};

impl Shop {
    async fn list(&self, query: &str, who: As<'_>) -> Value {
        self.app
            .get(&format!("{}/products?{query}", self.base), who)
            .await
            .expect(200)
    }
}

fn titles(page: &Value) -> Vec<&str> {
    field_of_items(page, "title")
        .into_iter()
        .map(|t| t.as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn staff_create_a_product_that_shoppers_see_once_active() {
    let shop = Shop::new().await;
    let created = shop
        .create(json!({
            "title": "Espresso cup",
            "description": "Porcelain, 80 ml",
            "kind": "standard",
            "image_urls": ["https://cdn.example.com/cup.jpg"],
            "variants": [
                {"sku": "CUP-W", "title": "White", "price_minor": 1299, "attributes": {"colour": "white"}},
                {"sku": "CUP-B", "title": "Black", "price_minor": 1499}
            ]
        }))
        .await;
    assert_eq!(created["status"], "draft");
    assert_eq!(created["version"], 1);
    assert_eq!(created["variants"][0]["currency"], "EUR");
    assert_eq!(created["variants"][0]["attributes"]["colour"], "white");
    assert_eq!(created["variants"][1]["position"], 1);
    let url = format!("{}/products/{}", shop.base, created["id"].as_str().unwrap());

    let shopper = As::Key(&shop.publishable);
    shop.app.get(&url, shopper).await.expect_problem(404, "not-found");
    assert!(titles(&shop.list("", shopper).await).is_empty());
    assert_eq!(titles(&shop.list("", shop.staff()).await), ["Espresso cup"]);

    let active = shop
        .app
        .call(
            Method::PATCH,
            &url,
            shop.staff(),
            json!({"version": 1, "status": "active"}),
        )
        .await
        .expect(200);
    assert_eq!(active["version"], 2);
    assert_eq!(active["description"], "Porcelain, 80 ml");
    assert_eq!(shop.app.get(&url, shopper).await.expect(200)["status"], "active");
    let customer = shop.app.customer("c@example.com").await;
    assert_eq!(
        titles(&shop.list("", As::Bearer(access(&customer))).await),
        ["Espresso cup"]
    );

    // Someone else's change was made from version 1: refused, naming the field.
    let stale = shop
        .app
        .call(
            Method::PATCH,
            &url,
            shop.staff(),
            json!({"version": 1, "title": "Cup"}),
        )
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&stale), ["version"]);
}

#[actix_web::test]
async fn shoppers_and_strangers_cannot_change_the_catalog() {
    let shop = Shop::new().await;
    let customer = shop.app.customer("c@example.com").await;
    let url = format!("{}/products", shop.base);
    for who in [As::Key(&shop.publishable), As::Bearer(access(&customer))] {
        shop.app
            .post(&url, who, product("Mug", "MUG", 900))
            .await
            .expect_problem(403, "forbidden");
        let problem = shop
            .app
            .get(&format!("{url}?status=draft"), who)
            .await
            .expect_problem(422, "validation");
        assert_eq!(problem_fields(&problem), ["status"]);
    }
    shop.app
        .post(&url, As::Nobody, product("Mug", "MUG", 900))
        .await
        .expect_problem(401, "unauthorized");
    shop.app
        .get(&url, As::Nobody)
        .await
        .expect_problem(401, "unauthorized");
}

#[actix_web::test]
async fn invalid_products_are_refused_field_by_field() {
    let shop = Shop::new().await;
    let url = format!("{}/products", shop.base);
    let problem = shop
        .app
        .post(
            &url,
            shop.staff(),
            json!({"title": "", "kind": "ticket", "variants": [{"sku": "bad sku", "price_minor": -5}]}),
        )
        .await
        .expect_problem(422, "validation");
    assert_eq!(
        problem_fields(&problem),
        [
            "title",
            "capacity",
            "event_starts_at",
            "variants[0].sku",
            "variants[0].price_minor"
        ]
    );
    let ticket = json!({
        "title": "Jazz night", "kind": "ticket", "capacity": 120,
        "event_starts_at": "2027-03-01T20:00:00Z", "event_ends_at": "2027-03-01T23:00:00Z",
        "variants": [{"sku": "JAZZ-GA", "price_minor": 2500}]
    });
    let created = shop.create(ticket).await;
    assert_eq!(created["capacity"], 120);
    assert_eq!(created["event_starts_at"], "2027-03-01T20:00:00Z");

    let taken = shop
        .app
        .post(&url, shop.staff(), product("Other", "JAZZ-GA", 100))
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&taken), ["sku"]);
    let mut unknown_category = product("Mug", "MUG", 900);
    unknown_category["category_ids"] = json!([uuid::Uuid::new_v4()]);
    let problem = shop
        .app
        .post(&url, shop.staff(), unknown_category)
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&problem), ["category_ids"]);
    for (body, what) in [
        (
            json!({"title": "x", "kind": "gadget", "variants": []}),
            "unknown kind",
        ),
        (
            json!({"title": "x", "kind": "standard", "variants": [], "price": 5}),
            "unknown field",
        ),
        (
            json!({"title": "x", "kind": "standard", "variants": [{"sku": "A", "price_minor": "5"}]}),
            "price as string",
        ),
    ] {
        let problem = shop
            .app
            .post(&url, shop.staff(), body)
            .await
            .expect_problem(400, "malformed-request");
        assert!(
            problem["detail"].as_str().unwrap().contains("invalid JSON"),
            "{what}: {problem}"
        );
    }
}

#[actix_web::test]
async fn lists_filter_by_kind_category_and_price_and_page_without_repeats() {
    let shop = Shop::new().await;
    let cups = shop
        .app
        .post(
            &format!("{}/categories", shop.base),
            shop.staff(),
            json!({"name": "Cups", "slug": "cups"}),
        )
        .await
        .expect(201);
    for i in 0..25 {
        let mut body = product(&format!("Cup {i:02}"), &format!("CUP-{i:02}"), 100 * (i + 1));
        if i % 5 == 0 {
            body["category_ids"] = json!([cups["id"]]);
        }
        shop.create(body).await;
    }
    shop.create(json!({
        "title": "Double room", "kind": "room_night", "status": "active", "capacity": 12,
        "variants": [{"sku": "ROOM-2", "price_minor": 9900}]
    }))
    .await;

    let shopper = As::Key(&shop.publishable);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("kind=standard&limit=10&cursor={cursor}"),
            None => "kind=standard&limit=10".to_owned(),
        };
        let page = shop.list(&query, shopper).await;
        seen.extend(titles(&page).into_iter().map(str::to_owned));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).rev().map(|i| format!("Cup {i:02}")).collect();
    assert_eq!(seen, expected, "newest first, each once");

    assert_eq!(
        titles(&shop.list("kind=room_night", shopper).await),
        ["Double room"]
    );
    let in_category = shop
        .list(&format!("category={}", cups["id"].as_str().unwrap()), shopper)
        .await;
    assert_eq!(
        titles(&in_category),
        ["Cup 20", "Cup 15", "Cup 10", "Cup 05", "Cup 00"]
    );
    assert_eq!(
        titles(&shop.list("min_price=2300&max_price=2500", shopper).await),
        ["Cup 24", "Cup 23", "Cup 22"]
    );
    let problem = shop
        .app
        .get(
            &format!("{}/products?min_price=5&max_price=1", shop.base),
            shopper,
        )
        .await;
    assert_eq!(
        problem_fields(&problem.expect_problem(422, "validation")),
        ["max_price"]
    );
}

#[actix_web::test]
async fn search_ranks_title_matches_first_and_pages() {
    let shop = Shop::new().await;
    let mut espresso_in_title = product("Espresso machine", "M-1", 49900);
    espresso_in_title["description"] = json!("Makes espresso");
    shop.create(espresso_in_title).await;
    let mut in_description = product("Coffee grinder", "G-1", 8900);
    in_description["description"] = json!("Grinds fine enough for espresso");
    shop.create(in_description).await;
    shop.create(product("Tea pot", "T-1", 3900)).await;
    shop.create(product("Espresso cups", "C-1", 1900)).await;

    let shopper = As::Key(&shop.publishable);
    let found = shop.list("q=espresso", shopper).await;
    let found = titles(&found);
    assert_eq!(found.len(), 3);
    assert_eq!(
        found[2], "Coffee grinder",
        "a description match ranks below title matches: {found:?}"
    );
    assert_eq!(
        titles(&shop.list("q=cups", shopper).await),
        ["Espresso cups"],
        "stemmed: cup/cups"
    );
    assert_eq!(
        titles(&shop.list("q=espresso%20-machine", shopper).await).len(),
        2
    );
    assert!(titles(&shop.list("q=samovar", shopper).await).is_empty());

    let first = shop.list("q=espresso&limit=2", shopper).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = shop
        .list(&format!("q=espresso&limit=2&cursor={cursor}"), shopper)
        .await;
    let mut all: Vec<&str> = titles(&first);
    all.extend(titles(&second));
    assert_eq!(all, found);
    let problem = shop
        .app
        .get(&format!("{}/products?cursor={cursor}", shop.base), shopper)
        .await;
    assert_eq!(
        problem_fields(&problem.expect_problem(422, "validation")),
        ["cursor"]
    );
}

#[actix_web::test]
async fn variants_are_added_changed_and_removed_with_versions() {
    let shop = Shop::new().await;
    let created = shop.create(product("Shirt", "SHIRT-S", 2500)).await;
    let url = format!("{}/products/{}", shop.base, created["id"].as_str().unwrap());
    let with_two = shop
        .app
        .post(
            &format!("{url}/variants"),
            shop.staff(),
            json!({"sku": "SHIRT-M", "price_minor": 2600}),
        )
        .await
        .expect(201);
    let medium = &with_two["variants"][1];
    assert_eq!(medium["position"], 1);
    let variant_url = format!("{url}/variants/{}", medium["id"].as_str().unwrap());
    let changed = shop
        .app
        .call(
            Method::PATCH,
            &variant_url,
            shop.staff(),
            json!({"version": 1, "price_minor": 2700}),
        )
        .await
        .expect(200);
    assert_eq!(changed["variants"][1]["price_minor"], 2700);
    assert_eq!(changed["variants"][1]["version"], 2);
    shop.app
        .call(
            Method::PATCH,
            &variant_url,
            shop.staff(),
            json!({"version": 1, "price_minor": 1}),
        )
        .await
        .expect_problem(409, "conflict");
    let taken = shop
        .app
        .call(
            Method::PATCH,
            &variant_url,
            shop.staff(),
            json!({"version": 2, "sku": "SHIRT-S"}),
        )
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&taken), ["sku"]);

    shop.app
        .call(
            Method::DELETE,
            &format!("{variant_url}?version=1"),
            shop.staff(),
            Value::Null,
        )
        .await
        .expect_problem(409, "conflict");
    assert_eq!(
        shop.app
            .call(
                Method::DELETE,
                &format!("{variant_url}?version=2"),
                shop.staff(),
                Value::Null
            )
            .await
            .status,
        204
    );
    let small_url = format!(
        "{url}/variants/{}",
        created["variants"][0]["id"].as_str().unwrap()
    );
    let last = shop
        .app
        .call(
            Method::DELETE,
            &format!("{small_url}?version=1"),
            shop.staff(),
            Value::Null,
        )
        .await;
    assert!(
        last.expect_problem(409, "conflict")["detail"]
            .as_str()
            .unwrap()
            .contains("at least one variant")
    );

    shop.app
        .call(
            Method::DELETE,
            &format!("{url}?version=7"),
            shop.staff(),
            Value::Null,
        )
        .await
        .expect_problem(409, "conflict");
    assert_eq!(
        shop.app
            .call(
                Method::DELETE,
                &format!("{url}?version=1"),
                shop.staff(),
                Value::Null
            )
            .await
            .status,
        204
    );
    shop.app
        .get(&url, shop.staff())
        .await
        .expect_problem(404, "not-found");
    shop.app
        .call(
            Method::DELETE,
            &format!("{url}?version=1"),
            shop.staff(),
            Value::Null,
        )
        .await
        .expect_problem(404, "not-found");
}

#[actix_web::test]
async fn categories_are_listed_by_slug_and_deleting_one_keeps_its_products() {
    let shop = Shop::new().await;
    let url = format!("{}/categories", shop.base);
    for (name, slug) in [("Tea", "tea"), ("Coffee", "coffee"), ("Cups", "cups")] {
        shop.app
            .post(&url, shop.staff(), json!({"name": name, "slug": slug}))
            .await
            .expect(201);
    }
    let taken = shop
        .app
        .post(&url, shop.staff(), json!({"name": "Tea 2", "slug": "tea"}))
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&taken), ["slug"]);
    let invalid = shop
        .app
        .post(&url, shop.staff(), json!({"name": "", "slug": "Bad Slug"}))
        .await
        .expect_problem(422, "validation");
    assert_eq!(problem_fields(&invalid), ["name", "slug"]);

    let shopper = As::Key(&shop.publishable);
    let first = shop.app.get(&format!("{url}?limit=2"), shopper).await.expect(200);
    let slugs: Vec<&Value> = field_of_items(&first, "slug");
    assert_eq!(slugs, [&json!("coffee"), &json!("cups")]);
    let next = shop
        .app
        .get(
            &format!("{url}?limit=2&cursor={}", first["next_cursor"].as_str().unwrap()),
            shopper,
        )
        .await
        .expect(200);
    assert_eq!(field_of_items(&next, "slug"), [&json!("tea")]);

    let tea = &next["items"][0];
    let mut body = product("Green tea", "TEA-1", 500);
    body["category_ids"] = json!([tea["id"]]);
    let created = shop.create(body).await;
    assert_eq!(created["category_ids"], json!([tea["id"]]));
    let delete = format!("{url}/{}", tea["id"].as_str().unwrap());
    assert_eq!(
        shop.app
            .call(Method::DELETE, &delete, shop.staff(), Value::Null)
            .await
            .status,
        204
    );
    let product_url = format!("{}/products/{}", shop.base, created["id"].as_str().unwrap());
    assert_eq!(
        shop.app.get(&product_url, shopper).await.expect(200)["category_ids"],
        json!([])
    );
    shop.app
        .call(Method::DELETE, &delete, shop.staff(), Value::Null)
        .await
        .expect_problem(404, "not-found");
}

/// A product of `count` variants, SKUs prefixed with `sku`.
fn product_of_variants(title: &str, sku: &str, count: usize) -> Value {
    let variants: Vec<Value> = (0..count)
        .map(|i| json!({"sku": format!("{sku}-{i}"), "price_minor": 100}))
        .collect();
    json!({"title": title, "kind": "standard", "status": "active", "variants": variants})
}

#[actix_web::test]
async fn a_product_has_at_most_100_variants_however_they_come() {
    let shop = Shop::new().await;
    let full = shop.create(product_of_variants("Full", "FULL", 100)).await;
    let uri = format!("{}/products/{}/variants", shop.base, full["id"].as_str().unwrap());
    let more = json!({"sku": "FULL-100", "price_minor": 100});
    let problem = shop
        .app
        .post(&uri, shop.staff(), more)
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem_fields(&problem), ["variants"]);
}

#[actix_web::test]
async fn a_page_of_products_holds_at_most_1000_variants() {
    let shop = Shop::new().await;
    for i in 0..11 {
        shop.create(product_of_variants(&format!("Big {i}"), &format!("BIG{i}"), 100))
            .await;
    }
    let first = shop.list("limit=100", As::Key(&shop.publishable)).await;
    assert_eq!(titles(&first).len(), 10, "1,000 variants");
    let cursor = first["next_cursor"].as_str().expect("another page follows");
    let second = shop
        .list(&format!("limit=100&cursor={cursor}"), As::Key(&shop.publishable))
        .await;
    assert_eq!(titles(&second), ["Big 0"], "newest first: the oldest is last");
    assert!(second.get("next_cursor").is_none());
}
