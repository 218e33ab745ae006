//! A tenant database on the real PostgreSQL of the test platform, made the
//! way the operator makes one (its own SQL plans, stores, keys and owner
//! invitation), and the API over it, connected as the runtime role so RLS
//! binds it as in production.

#![allow(dead_code)] // each test binary uses its own subset

pub mod history;
pub mod replica;
pub mod schema;

use std::sync::Arc;

use actix_web::http::{Method, StatusCode};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::web;
use serde_json::Value;
use shopfleet_api::app::app;
use shopfleet_api::auth::keys::KeyRing;
use shopfleet_api::auth::tokens::Issuer;
use shopfleet_api::db::Db;
use shopfleet_api::ids::StoreId;
use shopfleet_api::limits::Limits;
use shopfleet_api::state::State;
use shopfleet_operator::postgres::Admin;
use shopfleet_operator::store::build::ApiKeys;
use shopfleet_operator::tenant::database::{DatabaseNames, grants_plan, server_plan};
use shopfleet_operator::tenant::jwt::KeySet;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The tenant name the test apps serve (the issuer and audience of their tokens).
pub const TENANT: &str = "acme";

/// The platform's superuser URL. Panics, saying what is missing, when unset.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set, so there is no PostgreSQL to test against: use `make test`, or \
             `cargo run -p shopfleet-e2e --bin shopfleet-local -- exec -- cargo test -p shopfleet-api`"
        )
    })
}

pub async fn admin() -> Admin {
    let options: PgConnectOptions = admin_url().parse().unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone())
        .await
        .unwrap();
    Admin {
        server: "default".to_owned(),
        pool,
        options,
        tls: Default::default(),
    }
}

/// A fresh tenant database (roles and database only, not migrated), and its
/// runtime role's URL.
pub async fn empty_tenant_database(admin: &Admin) -> (DatabaseNames, String) {
    let names = DatabaseNames::for_tenant_uid(&uuid::Uuid::new_v4().to_string());
    let password = shopfleet_operator::random_password();
    admin
        .apply_server_plan(&server_plan(&names, &password))
        .await
        .unwrap();
    let (host, port) = admin.host_port();
    let url = format!(
        "postgres://{}:{password}@{host}:{port}/{}",
        names.runtime_role, names.database
    );
    (names, url)
}

/// A migrated tenant database, as the operator leaves it.
pub struct Tenant {
    pub admin: Admin,
    pub names: DatabaseNames,
    /// The runtime role's URL.
    pub url: String,
}

impl Tenant {
    pub async fn new() -> Self {
        let admin = admin().await;
        let (names, url) = empty_tenant_database(&admin).await;
        let mut owner = admin.connect_as_owner(&names).await.unwrap();
        admin.migrate(&mut owner, &grants_plan(&names)).await.unwrap();
        Self { admin, names, url }
    }

    /// The owner role's connection, for what only the operator writes.
    pub async fn owner(&self) -> sqlx::PgConnection {
        self.admin.connect_as_owner(&self.names).await.unwrap()
    }

    /// A store, as the operator adds one for a Store resource, and its keys.
    pub async fn add_store(&self, name: &str, currency: &str) -> (StoreId, ApiKeys) {
        let mut owner = self.owner().await;
        let id = StoreId::generate();
        sqlx::query(
            "INSERT INTO stores (id, k8s_uid, name, display_name, industry, currency, timezone) \
             VALUES ($1, gen_random_uuid(), $2, $2, 'retail', $3, 'Europe/Berlin')",
        )
        .bind(id)
        .bind(name)
        .bind(currency)
        .execute(&mut owner)
        .await
        .unwrap();
        let keys = ApiKeys::generate();
        shopfleet_operator::store::database::activate_keys(&mut owner, &id.to_string(), &keys)
            .await
            .unwrap();
        (id, keys)
    }

    /// The operator's owner invitation for `email`: its token.
    pub async fn invite_owner(&self, email: &str) -> String {
        let token = shopfleet_operator::tenant::invite::generate_token();
        shopfleet_operator::tenant::invite::record_owner_invitation(&mut self.owner().await, email, &token)
            .await
            .unwrap();
        token
    }
}

/// The API of a fresh tenant, called in-process through the full actix app.
pub struct TestApp {
    tenant: Option<Tenant>,
    pub state: web::Data<State>,
    pub keys: Arc<KeyRing>,
    pub keys_path: std::path::PathBuf,
    _keys_dir: tempfile::TempDir,
}

/// A response: status, content type and the JSON body (Null when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Reply {
    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected reply: {:#}", self.body);
        self.body
    }

    /// Asserts a problem+json reply of this status and type suffix; returns the problem.
    #[track_caller]
    pub fn expect_problem(self, status: u16, kind: &str) -> Value {
        assert_eq!(self.content_type, "application/problem+json", "{:#}", self.body);
        let body = self.expect(status);
        assert_eq!(
            body["type"],
            format!("https://shopfleet.io/problems/{kind}"),
            "{body:#}"
        );
        assert_eq!(body["status"], status);
        body
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub enum As<'a> {
    Nobody,
    Bearer(&'a str),
    Key(&'a str),
}

impl TestApp {
    /// The API of a fresh, migrated tenant database.
    pub async fn new() -> Self {
        let tenant = Tenant::new().await;
        let url = tenant.url.clone();
        Self::over(&url, Some(tenant))
    }

    /// The API of a fresh, migrated tenant database, with these limits.
    pub async fn limited(limits: Limits) -> Self {
        let tenant = Tenant::new().await;
        let url = tenant.url.clone();
        Self::with_limits(&url, Some(tenant), limits)
    }

    /// The API over the database at `url`.
    pub fn over(url: &str, tenant: Option<Tenant>) -> Self {
        Self::with_limits(url, tenant, Limits::unlimited())
    }

    fn with_limits(url: &str, tenant: Option<Tenant>, limits: Limits) -> Self {
        let keys_dir = tempfile::tempdir().unwrap();
        let keys_path = keys_dir.path().join("keys.json");
        std::fs::write(
            &keys_path,
            serde_json::to_vec(&KeySet::new(jiff::Timestamp::now())).unwrap(),
        )
        .unwrap();
        let keys = Arc::new(KeyRing::load(&keys_path).unwrap());
        let state = web::Data::new(State::new(
            Db::connect_lazy(url, 8).unwrap(),
            Issuer::new(keys.clone(), TENANT),
            limits,
        ));
        Self {
            tenant,
            state,
            keys,
            keys_path,
            _keys_dir: keys_dir,
        }
    }

    pub fn tenant(&self) -> &Tenant {
        self.tenant.as_ref().expect("this app was made with a tenant")
    }

    /// What Prometheus reads on the metrics port.
    pub async fn scrape(&self) -> String {
        let metrics = init_service(shopfleet_api::app::metrics_app(self.state.clone())).await;
        let response = call_service(&metrics, TestRequest::get().uri("/metrics").to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);
        String::from_utf8(read_body(response).await.to_vec()).unwrap()
    }

    /// The response itself, headers and all.
    pub async fn send_raw(&self, request: TestRequest) -> actix_web::dev::ServiceResponse {
        let app = init_service(app(self.state.clone())).await;
        call_service(&app, request.to_request())
            .await
            .map_into_boxed_body()
    }

    pub async fn send(&self, request: TestRequest) -> Reply {
        let response = self.send_raw(request).await;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = read_body(response).await;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            content_type,
            body,
        }
    }

    /// A request with `who`'s credentials and, unless Null, a JSON body.
    pub async fn call(&self, method: Method, uri: &str, who: As<'_>, body: Value) -> Reply {
        let mut request = TestRequest::default().method(method).uri(uri);
        request = match who {
            As::Nobody => request,
            As::Bearer(token) => request.insert_header(("Authorization", format!("Bearer {token}"))),
            As::Key(key) => request.insert_header(("X-Api-Key", key.to_owned())),
        };
        if !body.is_null() {
            request = request.set_json(body);
        }
        self.send(request).await
    }

    pub async fn get(&self, uri: &str, who: As<'_>) -> Reply {
        self.call(Method::GET, uri, who, Value::Null).await
    }

    pub async fn post(&self, uri: &str, who: As<'_>, body: Value) -> Reply {
        self.call(Method::POST, uri, who, body).await
    }

    /// A registered customer's session: registered, then signed in.
    pub async fn customer(&self, email: &str) -> Value {
        let password = "correct horse battery";
        self.post(
            "/v1/auth/register",
            As::Nobody,
            serde_json::json!({"email": email, "password": password, "name": "Customer"}),
        )
        .await
        .expect(202);
        self.customer_session(email, password).await
    }

    /// A new session of an existing account: signed in.
    pub async fn customer_session(&self, email: &str, password: &str) -> Value {
        self.post(
            "/v1/auth/login",
            As::Nobody,
            serde_json::json!({"email": email, "password": password}),
        )
        .await
        .expect(200)
    }

    /// The first owner's session, through the operator's invitation.
    pub async fn owner(&self) -> Value {
        let token = self.tenant().invite_owner("owner@acme.test").await;
        self.post(
            "/v1/auth/accept-invitation",
            As::Nobody,
            serde_json::json!({"token": token, "password": "owner password 1", "name": "Olga Owner"}),
        )
        .await
        .expect(201)
    }

    /// A staff member's session, invited by `owner_token`, limited to `stores` when given.
    pub async fn staff(&self, owner_token: &str, email: &str, stores: Option<&[StoreId]>) -> Value {
        let invitation = self
            .post(
                "/v1/invitations",
                As::Bearer(owner_token),
                serde_json::json!({"email": email, "role": "staff", "store_ids": stores}),
            )
            .await
            .expect(201);
        self.post(
            "/v1/auth/accept-invitation",
            As::Nobody,
            serde_json::json!({"token": invitation["token"], "password": "staff password 1"}),
        )
        .await
        .expect(201)
    }
}

/// The access token of a session.
pub fn access(session: &Value) -> &str {
    session["access_token"]
        .as_str()
        .expect("a session has an access token")
}

/// A standard product with one variant, active unless changed.
pub fn product(title: &str, sku: &str, price_minor: i64) -> Value {
    serde_json::json!({
        "title": title,
        "kind": "standard",
        "status": "active",
        "variants": [{"sku": sku, "price_minor": price_minor}],
    })
}

/// The value of header `name` of `response`; a test failure when it has none.
pub fn header(response: &actix_web::dev::ServiceResponse, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The values of `field` in a page's items.
pub fn field_of_items<'v>(page: &'v Value, field: &str) -> Vec<&'v Value> {
    page["items"]
        .as_array()
        .expect("a page has items")
        .iter()
        .map(|item| &item[field])
        .collect()
}

/// The fields a problem names.
pub fn problem_fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["field"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

/// One store of a fresh tenant, its first owner signed in, and its keys.
pub struct Shop {
    /// Shared by the tenant's other stores (`another_store`).
    pub app: std::sync::Arc<TestApp>,
    /// `/v1/stores/<id>`
    pub base: String,
    pub owner: Value,
    pub secret: String,
    pub publishable: String,
}

impl Shop {
    pub async fn new() -> Self {
        Self::limited(Limits::unlimited()).await
    }

    /// A shop whose API enforces `limits`.
    pub async fn limited(limits: Limits) -> Self {
        let app = TestApp::limited(limits).await;
        let (store, keys) = app.tenant().add_store("main", "EUR").await;
        let owner = app.owner().await;
        Self {
            base: format!("/v1/stores/{store}"),
            app: std::sync::Arc::new(app),
            owner,
            secret: keys.secret,
            publishable: keys.publishable,
        }
    }

    /// Another store of the same tenant, with the same owner.
    pub async fn another_store(&self, name: &str) -> Self {
        let (store, keys) = self.app.tenant().add_store(name, "EUR").await;
        Self {
            base: format!("/v1/stores/{store}"),
            app: self.app.clone(),
            owner: self.owner.clone(),
            secret: keys.secret,
            publishable: keys.publishable,
        }
    }

    /// The owner, who manages the store.
    pub fn staff(&self) -> As<'_> {
        As::Bearer(access(&self.owner))
    }

    /// Creates a product as the owner; returns it.
    pub async fn create(&self, body: Value) -> Value {
        self.app
            .post(&format!("{}/products", self.base), self.staff(), body)
            .await
            .expect(201)
    }

    /// A product; returns its first variant's id.
    pub async fn variant(&self, body: Value) -> String {
        self.create(body).await["variants"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Receives `units` of a standard `variant` into stock.
    pub async fn receive(&self, variant: &str, units: i32) {
        self.app
            .send(
                TestRequest::post()
                    .uri(&format!("{}/inventory/adjustments", self.base))
                    .insert_header(("X-Api-Key", self.secret.clone()))
                    .insert_header(("Idempotency-Key", uuid::Uuid::new_v4().to_string()))
                    .set_json(
                        serde_json::json!({"variant_id": variant, "delta": units, "reason": "received"}),
                    ),
            )
            .await
            .expect(201);
    }

    /// A POST to `path` (under the store) with an `Idempotency-Key`, as `who`.
    pub fn keyed(&self, path: &str, who: As<'_>, key: &str, body: &Value) -> TestRequest {
        let request = TestRequest::post()
            .uri(&format!("{}{path}", self.base))
            .insert_header(("Idempotency-Key", key.to_owned()))
            .set_json(body);
        match who {
            As::Nobody => request,
            As::Bearer(token) => request.insert_header(("Authorization", format!("Bearer {token}"))),
            As::Key(key) => request.insert_header(("X-Api-Key", key.to_owned())),
        }
    }

    /// Places an order as `who`, under a fresh idempotency key.
    pub async fn order(&self, who: As<'_>, body: Value) -> Reply {
        let key = uuid::Uuid::new_v4().to_string();
        self.app.send(self.keyed("/orders", who, &key, &body)).await
    }

    /// The stock level of a standard `variant`'s pool.
    pub async fn level(&self, variant: &str) -> Value {
        let levels = self
            .app
            .get(&format!("{}/inventory", self.base), As::Key(&self.secret))
            .await
            .expect(200);
        levels["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|level| level["variant_id"] == variant)
            .cloned()
            .unwrap_or_else(|| panic!("no stock level for {variant}: {levels:#}"))
    }
}
