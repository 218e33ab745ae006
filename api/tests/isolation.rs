//! Row-level security is the second wall between stores: even SQL that
//! forgets `WHERE store_id` sees one store, and whoever is not store B's
//! reaches nothing of store B by any route. The routes come from the OpenAPI
//! document, so a new route cannot go untested: it fails here until it has
//! a case.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{Value, json};
use shopfleet_api::db::Db;
use sqlx::{Connection, PgConnection};
use support::{As, TestApp, access, problem_fields, product};

/// Two stores with a category and a product each, an owner and a staff member limited to A.
struct TwoStores {
    app: TestApp,
    a: String,
    b: String,
    b_product: Value,
    b_category: Value,
    clerk_a: Value,
    key_a: String,
    publishable_a: String,
    owner: Value,
}

impl TwoStores {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let (a, keys_a) = app.tenant().add_store("alpha", "EUR").await;
        let (b, _) = app.tenant().add_store("beta", "EUR").await;
        let owner = app.owner().await;
        let clerk_a = app.staff(access(&owner), "clerk@acme.test", Some(&[a])).await;
        let staff = As::Bearer(access(&owner));
        for (store, sku) in [(a, "A-1"), (b, "B-1")] {
            app.post(
                &format!("/v1/stores/{store}/products"),
                staff,
                product("Cup", sku, 100),
            )
            .await
            .expect(201);
            app.post(
                &format!("/v1/stores/{store}/categories"),
                staff,
                json!({"name": "Cups", "slug": "cups"}),
            )
            .await
            .expect(201);
        }
        let b_product = app
            .get(&format!("/v1/stores/{b}/products"), staff)
            .await
            .expect(200)["items"][0]
            .clone();
        let b_category = app
            .get(&format!("/v1/stores/{b}/categories"), staff)
            .await
            .expect(200)["items"][0]
            .clone();
        Self {
            app,
            a: a.to_string(),
            b: b.to_string(),
            b_product,
            b_category,
            clerk_a,
            key_a: keys_a.secret,
            publishable_a: keys_a.publishable,
            owner,
        }
    }
}

#[actix_web::test]
async fn sql_without_a_store_condition_sees_only_the_transactions_store() {
    let stores = TwoStores::new().await;
    let mut conn = PgConnection::connect(&stores.app.tenant().url).await.unwrap();

    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    // No store set: nothing at all, and no error.
    for table in [
        "SELECT count(*) FROM products",
        "SELECT count(*) FROM variants",
        "SELECT count(*) FROM categories",
    ] {
        assert_eq!(count(table).fetch_one(&mut conn).await.unwrap(), 0, "{table}");
    }

    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('shopfleet.store_id', $1, true)")
        .bind(&stores.a)
        .execute(&mut *tx)
        .await
        .unwrap();
    let skus: Vec<String> = sqlx::query_scalar("SELECT sku FROM variants")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(skus, ["A-1"]);
    let updated = sqlx::query("UPDATE products SET title = 'hacked'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1, "only A's product");
    let smuggled = sqlx::query(
        "INSERT INTO categories (id, store_id, name, slug) VALUES (gen_random_uuid(), $1::uuid, 'x', 'x')",
    )
    .bind(&stores.b)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(smuggled.to_string().contains("row-level security"), "{smuggled}");
    tx.rollback().await.unwrap();

    // The setting ended with its transaction: the connection carries nothing on.
    assert_eq!(
        count("SELECT count(*) FROM products")
            .fetch_one(&mut conn)
            .await
            .unwrap(),
        0
    );
}

#[actix_web::test]
async fn a_pooled_connection_never_carries_a_store_to_the_next_request() {
    let stores = TwoStores::new().await;
    // One connection, so the next use is the same connection.
    let db = Db::connect_lazy(&stores.app.tenant().url, 1).unwrap();
    let mut tx = db
        .store(stores.a.parse().map(shopfleet_api::ids::StoreId).unwrap())
        .await
        .unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(seen, 1);
    tx.commit().await.unwrap();
    let mut conn = db.tenant_wide_conn().await.unwrap();
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(after, 0);
}

#[actix_web::test]
async fn the_api_connects_as_a_role_that_cannot_bypass_rls_or_own_tables() {
    let stores = TwoStores::new().await;
    let mut conn = PgConnection::connect(&stores.app.tenant().url).await.unwrap();
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(!superuser && !bypass);
    let owned: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(owned, 0);
    let unforced: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE a.attname = 'store_id' AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace \
         AND c.relname NOT IN ('store_api_keys') AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        unforced.is_empty(),
        "store-scoped tables without forced RLS: {unforced:?}"
    );
}

/// The path every store-scoped operation starts with.
const STORE_PATH: &str = "/v1/stores/{store_id}";

const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// A store-scoped operation of the committed OpenAPI document.
struct Operation {
    /// `GET`, `POST`, ...
    method: String,
    /// `/v1/stores/{store_id}/orders/{order_id}`
    template: String,
    /// The template below the store (`/orders/{order_id}`; empty for the store itself).
    below_store: String,
    /// `POST /v1/stores/{store_id}/orders (create)`, for messages.
    name: String,
    required_query: Vec<String>,
    required_headers: Vec<String>,
    takes_body: bool,
}

impl Operation {
    fn method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).unwrap()
    }

    fn is_keyed(&self) -> bool {
        self.required_headers
            .iter()
            .any(|header| header == IDEMPOTENCY_KEY)
    }

    /// The key of its case in [`StoreB::cases`].
    fn case_key(&self) -> (&str, &str) {
        (&self.method, &self.below_store)
    }

    /// Whether its path names an object of the store, not just the store.
    fn names_an_object(&self) -> bool {
        self.below_store.contains('{')
    }

    /// Its URI: every path parameter replaced by the id `ids` holds under its
    /// name, and the query it requires. Err says what is missing.
    fn uri(&self, ids: &BTreeMap<&str, String>) -> Result<String, String> {
        let mut segments = Vec::new();
        for segment in self.template.split('/') {
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(parameter) => segments.push(
                    ids.get(parameter)
                        .ok_or_else(|| {
                            format!("no id for path parameter {{{parameter}}}: add one to StoreB::ids")
                        })?
                        .as_str(),
                ),
                None => segments.push(segment),
            }
        }
        let mut query = Vec::new();
        for parameter in &self.required_query {
            match parameter.as_str() {
                // Every object of the fixture is at its first version.
                "version" => query.push("version=1"),
                other => return Err(format!("no value for required query parameter {other}")),
            }
        }
        let path = segments.join("/");
        Ok(if query.is_empty() {
            path
        } else {
            format!("{path}?{}", query.join("&"))
        })
    }
}

/// Every operation of `api/openapi.json` under `/v1/stores/{store_id}`.
fn store_scoped_operations() -> Vec<Operation> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    let mut operations = Vec::new();
    for (template, item) in document["paths"].as_object().expect("the document has paths") {
        let Some(below_store) = template.strip_prefix(STORE_PATH) else {
            continue;
        };
        if !(below_store.is_empty() || below_store.starts_with('/')) {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            const METHODS: [&str; 8] = [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ];
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
            let required = |place: &str| -> Vec<String> {
                parameters
                    .iter()
                    .filter(|p| p["in"] == place && p["required"] == true)
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            };
            let method = method.to_uppercase();
            operations.push(Operation {
                name: format!(
                    "{method} {template} ({})",
                    operation["operationId"].as_str().unwrap_or("no operationId")
                ),
                required_query: required("query"),
                required_headers: required("header"),
                takes_body: operation.get("requestBody").is_some(),
                below_store: below_store.to_owned(),
                template: template.clone(),
                method,
            });
        }
    }
    operations
}

/// What a signed-in customer of the tenant gets from an operation on store B,
/// where B's order is another customer's.
#[derive(Clone, Copy)]
enum CustomerGets {
    /// For the store's staff only: 403.
    Forbidden,
    /// Another customer's order, or a product not on sale: 404, as if it did not exist.
    NotFound,
    /// What the store shows every customer: 200, with no trace of what is
    /// not on sale or not theirs.
    Shown,
    /// A 422 naming this field.
    Refused(&'static str),
    /// A batch of which every item is refused, naming this field: 200,
    /// nothing stored.
    ItemsRefused(&'static str),
}

/// How to call one operation on store B.
struct Case {
    /// Valid for B, so that only the caller can make the call fail (Null: none).
    body: Value,
    customer: CustomerGets,
}

/// Store B with an object of every kind a store-scoped path names, and two
/// customers: the one who placed B's order, and another.
struct StoreB {
    stores: TwoStores,
    /// The id for each path parameter.
    ids: BTreeMap<&'static str, String>,
    /// A variant on sale and in stock.
    on_sale: String,
    /// The line of B's order.
    order_line: Value,
    buyer: Value,
    intruder: Value,
}

impl StoreB {
    async fn new() -> Self {
        let stores = TwoStores::new().await;
        let app = &stores.app;
        let b = stores.b.clone();
        let owner = As::Bearer(access(&stores.owner));
        let on_sale = id_of(&stores.b_product["variants"][0]);
        let receive = json!({"variant_id": on_sale, "delta": 5, "reason": "received"});
        let uri = format!("/v1/stores/{b}/inventory/adjustments");
        app.send(request(Method::POST, &uri, owner, &receive, true))
            .await
            .expect(201);
        let mut draft = product("Draft", "B-2", 100);
        draft["status"] = json!("draft");
        let draft = app
            .post(&format!("/v1/stores/{b}/products"), owner, draft)
            .await
            .expect(201);
        let promotion = app
            .post(&format!("/v1/stores/{b}/promotions"), owner, promotion())
            .await
            .expect(201);
        let buyer = app.customer("buyer@example.com").await;
        let order_body = json!({"lines": [{"variant_id": on_sale, "quantity": 1}]});
        let uri = format!("/v1/stores/{b}/orders");
        let order = app
            .send(request(
                Method::POST,
                &uri,
                As::Bearer(access(&buyer)),
                &order_body,
                true,
            ))
            .await
            .expect(201);
        let intruder = app.customer("intruder@example.com").await;
        let ids = BTreeMap::from([
            ("store_id", b),
            ("category_id", id_of(&stores.b_category)),
            // A draft, which a customer may not even know exists.
            ("product_id", id_of(&draft)),
            ("variant_id", id_of(&draft["variants"][0])),
            ("order_id", id_of(&order)),
            ("promotion_id", id_of(&promotion)),
        ]);
        Self {
            ids,
            on_sale,
            order_line: order["lines"][0]["id"].clone(),
            buyer,
            intruder,
            stores,
        }
    }

    /// The case of every store-scoped operation, by method and path below
    /// the store. A new operation fails the tests until it has one here.
    fn cases(&self) -> BTreeMap<(&'static str, &'static str), Case> {
        use CustomerGets::*;
        let case = |body: Value, customer: CustomerGets| Case { body, customer };
        let none = || Value::Null;
        let patch = || json!({"version": 1, "title": "hacked"});
        BTreeMap::from([
            (("GET", ""), case(none(), Shown)),
            (("GET", "/analytics/sales"), case(none(), Forbidden)),
            (("GET", "/analytics/top"), case(none(), Forbidden)),
            (("GET", "/analytics/funnel"), case(none(), Forbidden)),
            (("GET", "/analytics/hospitality"), case(none(), Forbidden)),
            (("GET", "/analytics/events"), case(none(), Forbidden)),
            (("GET", "/analytics/customers"), case(none(), Forbidden)),
            (("GET", "/analytics/cohorts"), case(none(), Forbidden)),
            (("GET", "/analytics/rfm"), case(none(), Forbidden)),
            (("GET", "/analytics/promotions"), case(none(), Forbidden)),
            (("GET", "/analytics/inventory"), case(none(), Forbidden)),
            (("GET", "/categories"), case(none(), Shown)),
            (("GET", "/stream"), case(none(), Forbidden)),
            (("POST", "/stream/tickets"), case(none(), Forbidden)),
            (
                ("POST", "/categories"),
                case(json!({"name": "Sneaky", "slug": "sneaky"}), Forbidden),
            ),
            (("DELETE", "/categories/{category_id}"), case(none(), Forbidden)),
            (("GET", "/inventory"), case(none(), Forbidden)),
            (("GET", "/inventory/adjustments"), case(none(), Forbidden)),
            (
                ("POST", "/inventory/adjustments"),
                case(
                    json!({"variant_id": self.on_sale, "delta": 100, "reason": "received"}),
                    Forbidden,
                ),
            ),
            (("GET", "/orders"), case(none(), Shown)),
            (
                // For the buyer: a customer orders only for themselves.
                ("POST", "/orders"),
                case(
                    json!({
                        "lines": [{"variant_id": self.on_sale, "quantity": 1}],
                        "customer_id": self.buyer["user"]["id"],
                    }),
                    Refused("customer_id"),
                ),
            ),
            (("GET", "/orders/{order_id}"), case(none(), NotFound)),
            (("POST", "/orders/{order_id}/pay"), case(json!({}), Forbidden)),
            (("POST", "/orders/{order_id}/fulfil"), case(json!({}), Forbidden)),
            // A customer may cancel their own orders, so another's is not there.
            (("POST", "/orders/{order_id}/cancel"), case(json!({}), NotFound)),
            (
                ("POST", "/orders/{order_id}/refunds"),
                case(
                    json!({"lines": [{"line_id": self.order_line, "quantity": 1}]}),
                    Forbidden,
                ),
            ),
            (("GET", "/products"), case(none(), Shown)),
            (
                ("POST", "/products"),
                case(product("Sneaky", "SNEAK-1", 1), Forbidden),
            ),
            (("GET", "/products/{product_id}"), case(none(), NotFound)),
            (("PATCH", "/products/{product_id}"), case(patch(), Forbidden)),
            (("DELETE", "/products/{product_id}"), case(none(), Forbidden)),
            (
                ("POST", "/products/{product_id}/variants"),
                case(json!({"sku": "SNEAK-2", "price_minor": 1}), Forbidden),
            ),
            (
                ("PATCH", "/products/{product_id}/variants/{variant_id}"),
                case(patch(), Forbidden),
            ),
            (
                ("DELETE", "/products/{product_id}/variants/{variant_id}"),
                case(none(), Forbidden),
            ),
            (("GET", "/promotions"), case(none(), Forbidden)),
            (("POST", "/promotions"), case(promotion(), Forbidden)),
            (("GET", "/promotions/{promotion_id}"), case(none(), Forbidden)),
            (
                ("PUT", "/promotions/{promotion_id}"),
                case(promotion(), Forbidden),
            ),
            (("DELETE", "/promotions/{promotion_id}"), case(none(), Forbidden)),
            (
                ("POST", "/tickets/check-in"),
                case(json!({"code": "K3ZQ8-AB12C-DEF34-GH567"}), Forbidden),
            ),
            (
                // Any customer may tell store B what they do there, but only
                // as themselves.
                ("POST", "/events"),
                case(
                    json!({"events": [{
                        "id": uuid::Uuid::new_v4(), "kind": "session_started",
                        "occurred_at": chrono::Utc::now().to_rfc3339(),
                        "session_id": uuid::Uuid::new_v4(),
                        "customer_id": self.buyer["user"]["id"], "payload": {},
                    }]}),
                    ItemsRefused("events[0].customer_id"),
                ),
            ),
        ])
    }

    /// Store B's data: its `stores` row and its rows in every table with a
    /// `store_id`, as JSON text by table.
    async fn snapshot(&self) -> BTreeMap<String, String> {
        let mut conn = PgConnection::connect(&self.stores.app.tenant().url)
            .await
            .unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("SELECT set_config('shopfleet.store_id', $1, true)")
            .bind(&self.stores.b)
            .execute(&mut *tx)
            .await
            .unwrap();
        let tables: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.relname::text, quote_ident(c.relname) FROM pg_class c \
             JOIN pg_attribute a ON a.attrelid = c.oid \
             WHERE a.attname = 'store_id' AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        let mut rows = BTreeMap::new();
        let store_row = [("stores".to_owned(), "stores".to_owned())];
        for (table, quoted) in tables.into_iter().chain(store_row) {
            let column = if table == "stores" { "id" } else { "store_id" };
            let sql = format!(
                "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]')::text \
                 FROM {quoted} t WHERE {column} = $1::uuid"
            );
            let json: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(&self.stores.b)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            rows.insert(table, json);
        }
        for table in ["stores", "products", "variants", "stock", "promotions", "orders"] {
            assert_ne!(rows[table], "[]", "store B has {table} to lose");
        }
        rows
    }
}

fn id_of(object: &Value) -> String {
    object["id"].as_str().expect("an object has an id").to_owned()
}

fn promotion() -> Value {
    json!({"name": "Sneaky", "rule": {"kind": "percentage", "basis_points": 100}})
}

/// A request as `who`, with `body` unless Null, and a fresh `Idempotency-Key`
/// when `keyed`, so keyed routes get as far as their access check.
fn request(method: Method, uri: &str, who: As<'_>, body: &Value, keyed: bool) -> TestRequest {
    let mut request = TestRequest::default().method(method).uri(uri);
    if keyed {
        request = request.insert_header((IDEMPOTENCY_KEY, uuid::Uuid::new_v4().to_string()));
    }
    request = match who {
        As::Bearer(token) => request.insert_header(("Authorization", format!("Bearer {token}"))),
        As::Key(key) => request.insert_header(("X-Api-Key", key.to_owned())),
        As::Nobody => request,
    };
    if body.is_null() {
        request
    } else {
        request.set_json(body)
    }
}

#[track_caller]
fn assert_problem(reply: &support::Reply, status: u16, kind: &str, context: &str) {
    assert_eq!(
        (reply.status.as_u16(), reply.body["type"].as_str()),
        (
            status,
            Some(format!("https://shopfleet.io/problems/{kind}").as_str())
        ),
        "{context}: {:#}",
        reply.body
    );
}

#[actix_web::test]
async fn every_store_scoped_operation_refuses_whoever_is_not_store_bs() {
    let store_b = StoreB::new().await;
    let stores = &store_b.stores;
    let operations = store_scoped_operations();
    let cases = store_b.cases();

    // Every documented operation has a case this test can run, and every case
    // an operation: otherwise fail, naming them.
    let mut unexercisable = Vec::new();
    for operation in &operations {
        match cases.get(&operation.case_key()) {
            None => unexercisable.push(format!("{}: no case in StoreB::cases", operation.name)),
            Some(case) if case.body.is_null() == operation.takes_body => unexercisable.push(format!(
                "{}: its case's body does not match the document's requestBody",
                operation.name
            )),
            Some(_) => {}
        }
        if let Err(missing) = operation.uri(&store_b.ids) {
            unexercisable.push(format!("{}: {missing}", operation.name));
        }
        for header in &operation.required_headers {
            if header != IDEMPOTENCY_KEY {
                unexercisable.push(format!("{}: requires header {header}", operation.name));
            }
        }
    }
    let documented: BTreeSet<(&str, &str)> = operations.iter().map(Operation::case_key).collect();
    for (method, below_store) in cases.keys() {
        if !documented.contains(&(*method, *below_store)) {
            unexercisable.push(format!(
                "{method} {STORE_PATH}{below_store}: a case for an operation the document does not have"
            ));
        }
    }
    assert!(
        unexercisable.is_empty(),
        "store-scoped operations this test cannot exercise:\n{}",
        unexercisable.join("\n")
    );

    let before = store_b.snapshot().await;
    let outsiders = [
        ("no credentials", As::Nobody, 401, "unauthorized"),
        (
            "store A's staff",
            As::Bearer(access(&stores.clerk_a)),
            403,
            "forbidden",
        ),
        ("store A's secret key", As::Key(&stores.key_a), 403, "forbidden"),
        (
            "store A's publishable key",
            As::Key(&stores.publishable_a),
            403,
            "forbidden",
        ),
    ];
    let intruder = As::Bearer(access(&store_b.intruder));
    let not_theirs = [&store_b.ids["product_id"], &store_b.ids["order_id"]];
    let mut exercised = BTreeSet::new();
    for operation in &operations {
        let case = &cases[&operation.case_key()];
        let uri = operation.uri(&store_b.ids).unwrap();
        let call = |who| {
            stores.app.send(request(
                operation.method(),
                &uri,
                who,
                &case.body,
                operation.is_keyed(),
            ))
        };
        for (caller, who, status, kind) in outsiders {
            let reply = call(who).await;
            assert_problem(&reply, status, kind, &format!("{} as {caller}", operation.name));
        }
        let reply = call(intruder).await;
        let context = format!("{} as another customer", operation.name);
        match case.customer {
            CustomerGets::Forbidden => assert_problem(&reply, 403, "forbidden", &context),
            CustomerGets::NotFound => assert_problem(&reply, 404, "not-found", &context),
            CustomerGets::Refused(field) => {
                assert_problem(&reply, 422, "validation", &context);
                assert_eq!(problem_fields(&reply.body), [field], "{context}");
            }
            CustomerGets::ItemsRefused(field) => {
                assert_eq!(reply.status, 200, "{context}: {:#}", reply.body);
                let rejected = &reply.body["rejected"];
                assert_eq!(
                    rejected[0]["errors"][0]["field"], field,
                    "{context}: {:#}",
                    reply.body
                );
                assert_eq!(reply.body["accepted"], 0, "{context}");
            }
            CustomerGets::Shown => {
                assert_eq!(reply.status, 200, "{context}: {:#}", reply.body);
                let shown = reply.body.to_string();
                for id in not_theirs {
                    assert!(!shown.contains(id.as_str()), "{context} shows {id}: {shown}");
                }
            }
        }
        exercised.insert(operation.case_key());
    }
    // Not vacuous: every store-scoped operation of the document, 27 when this
    // was written, each called by all five callers.
    assert_eq!(exercised.len(), operations.len());
    assert!(
        exercised.len() >= 27,
        "only {} store-scoped operations in the document",
        exercised.len()
    );
    assert_eq!(store_b.snapshot().await, before, "store B's data changed");
}

#[actix_web::test]
async fn store_bs_ids_do_not_exist_under_store_as_path() {
    let store_b = StoreB::new().await;
    let stores = &store_b.stores;
    let cases = store_b.cases();
    let mut ids = store_b.ids.clone();
    ids.insert("store_id", stores.a.clone());
    let operations: Vec<Operation> = store_scoped_operations()
        .into_iter()
        .filter(Operation::names_an_object)
        .collect();
    assert!(
        operations.len() >= 15,
        "only {} operations name an object",
        operations.len()
    );
    let before = store_b.snapshot().await;
    let managers_of_a = [
        ("store A's staff", As::Bearer(access(&stores.clerk_a))),
        ("store A's secret key", As::Key(&stores.key_a)),
    ];
    for operation in &operations {
        let case = cases
            .get(&operation.case_key())
            .unwrap_or_else(|| panic!("{}: no case in StoreB::cases", operation.name));
        let uri = operation
            .uri(&ids)
            .unwrap_or_else(|missing| panic!("{}: {missing}", operation.name));
        for (caller, who) in managers_of_a {
            let keyed = operation.is_keyed();
            let reply = stores
                .app
                .send(request(operation.method(), &uri, who, &case.body, keyed))
                .await;
            let context = format!("{} under store A as {caller}", operation.name);
            assert_problem(&reply, 404, "not-found", &context);
        }
    }
    assert_eq!(store_b.snapshot().await, before, "store B's data changed");
}

#[actix_web::test]
async fn store_bs_objects_cannot_be_used_in_store_a() {
    let stores = TwoStores::new().await;
    let a = &stores.a;
    let clerk = As::Bearer(access(&stores.clerk_a));
    let category_b = id_of(&stores.b_category);
    let variant_b = id_of(&stores.b_product["variants"][0]);

    let mut sneaky = product("Sneaky", "SNEAK-2", 1);
    sneaky["category_ids"] = json!([category_b]);
    let reply = stores
        .app
        .post(&format!("/v1/stores/{a}/products"), clerk, sneaky)
        .await;
    assert_eq!(reply.status, 422, "{:#}", reply.body);

    for who in [clerk, As::Key(&stores.key_a)] {
        // B's variant cannot be sold or given away in A.
        let order = json!({"lines": [{"variant_id": variant_b, "quantity": 1}]});
        let uri = format!("/v1/stores/{a}/orders");
        let reply = stores
            .app
            .send(request(Method::POST, &uri, who, &order, true))
            .await
            .expect_problem(422, "validation");
        assert_eq!(problem_fields(&reply), ["lines[0].variant_id"]);
        let gift =
            json!({"name": "x", "rule": {"kind": "free_item", "variant_id": variant_b, "quantity": 1}});
        let reply = stores
            .app
            .post(&format!("/v1/stores/{a}/promotions"), who, gift)
            .await
            .expect_problem(422, "validation");
        assert_eq!(problem_fields(&reply), ["rule.variant_id"]);
    }

    // SKUs are unique per store: B's is free for A.
    stores
        .app
        .post(
            &format!("/v1/stores/{a}/products"),
            clerk,
            product("Same SKU", "B-1", 1),
        )
        .await
        .expect(201);
}
