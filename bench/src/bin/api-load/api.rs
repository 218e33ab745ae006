//! The release API as a process over the seeded database, and a check of
//! what it answers before it is measured.

use std::io::{Read as _, Write};
use std::net::TcpStream;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use shopfleet_e2e::process::ManagedProcess;

use crate::scenario::{Credentials, Order, Request, Scenario, order_caller};
use crate::store::{PROMOTION_CODE, PROMOTION_NAME, Store};

pub struct Api {
    pub port: u16,
    process: ManagedProcess,
}

/// Starts the `shopfleet-api` built beside this binary, serving `store`'s
/// tenant database as its runtime role, and waits until it is ready.
pub fn start(dir: &Path, store: &Store) -> Result<Api> {
    let (port, process) = crate::tenant::start_api(dir, &store.runtime.url())?;
    Ok(Api { port, process })
}

impl Api {
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Fails if the API has exited.
    pub fn check_running(&mut self) -> Result<()> {
        self.process.check_running()
    }

    /// Asks every request of `scenario` once and checks the answer: reads
    /// answer 200 with the products the ceiling's queries read; the first
    /// order (only one: each is a new order) answers 201 with what the
    /// ceiling binds, and is returned.
    pub fn check(&self, scenario: &Scenario, credentials: &Credentials) -> Result<Option<Placed>> {
        let store = credentials.store;
        let (name, value) = credentials.header(scenario.caller);
        let caller = (name, value.as_str());
        for request in &scenario.requests {
            let path = request.path(store.id);
            let read = |body: String| -> Result<Value> {
                serde_json::from_str(&body).with_context(|| format!("GET {path}: {body}"))
            };
            match request {
                Request::List { page } | Request::Search { page, .. } => {
                    let body = read(self.get(&path, caller)?)?;
                    let ids: Vec<String> = page.iter().map(|id| id.to_string()).collect();
                    let items: Vec<&str> = body["items"]
                        .as_array()
                        .with_context(|| format!("GET {path}: no items in {body}"))?
                        .iter()
                        .filter_map(|item| item["id"].as_str())
                        .collect();
                    ensure!(
                        items == ids,
                        "GET {path} answered other products than its query returns: {items:?}, not {ids:?}"
                    );
                }
                Request::Get { product } => {
                    let body = read(self.get(&path, caller)?)?;
                    ensure!(
                        body["id"] == product.to_string(),
                        "GET {path} answered another product: {body}"
                    );
                    let variants = body["variants"].as_array().map_or(0, Vec::len);
                    ensure!(
                        variants == store.variants_per_product,
                        "GET {path} answered {variants} variants, not {}",
                        store.variants_per_product
                    );
                }
                Request::Order(order) => return self.check_order(&path, order, caller, store).map(Some),
                Request::Events { batch } => {
                    let json = ("Content-Type", "application/json");
                    let body = crate::events::body(batch, sqlx::types::chrono::Utc::now());
                    let (status, text) = self.send("POST", &path, &[caller, json], &body)?;
                    ensure!(status == 200, "POST {path} answered {status}: {text}");
                    let answer: Value = serde_json::from_str(&text)?;
                    ensure!(
                        answer["accepted"] == batch.len() && answer["rejected"] == serde_json::json!([]),
                        "POST {path} did not store every event of the batch: {text}"
                    );
                }
            }
        }
        Ok(None)
    }

    /// Places `order` and checks the answer: 201, 10 % off each line's price
    /// (rounded down), and the lines and discount the ceiling writes.
    fn check_order(&self, path: &str, order: &Order, caller: (&str, &str), store: &Store) -> Result<Placed> {
        let key = format!("api-load-check-{}", uuid::Uuid::new_v4());
        let headers = [
            caller,
            ("Idempotency-Key", &key),
            ("Content-Type", "application/json"),
        ];
        let (status, text) = self.send("POST", path, &headers, &order.body)?;
        ensure!(status == 201, "POST {path} answered {status}: {text}");
        let body: Value = serde_json::from_str(&text).with_context(|| format!("POST {path}: {text}"))?;
        let prices = order.lines.iter().map(|line| line.offer.price_minor);
        let expected_total: i64 = prices.map(|price| price - price / 10).sum();
        ensure!(
            body["total_minor"] == expected_total
                && body["subtotal_minor"] == order.subtotal()
                && body["discount_minor"] == order.discount(),
            "POST {path} answered a total of {}, not {expected_total} (3 prices less 10 %): {text}",
            body["total_minor"]
        );
        let caller = order_caller(store);
        ensure!(
            body["placed_by"] == caller.as_str() && body["promotion_code"] == PROMOTION_CODE,
            "POST {path} answered another caller or promotion code than the ceiling binds: {text}"
        );
        let lines = body["lines"].as_array().map(Vec::as_slice).unwrap_or_default();
        ensure!(
            lines.len() == order.lines.len(),
            "POST {path} answered {} lines, not {}: {text}",
            lines.len(),
            order.lines.len()
        );
        for ((line, wanted), discount) in lines.iter().zip(&order.lines).zip(&order.line_discounts) {
            let offer = &wanted.offer;
            ensure!(
                line["variant_id"] == offer.variant_id.to_string()
                    && line["product_id"] == offer.product_id.to_string()
                    && line["sku"] == offer.sku.as_str()
                    && line["title"] == offer.title.as_str()
                    && line["unit_price_minor"] == offer.price_minor
                    && line["discount_minor"] == *discount,
                "POST {path} answered a line other than the ceiling writes ({offer:?}, {discount} off): {line}"
            );
        }
        let expected_discounts = serde_json::json!([{
            "promotion_id": store.promotion,
            "name": PROMOTION_NAME,
            "kind": "percentage",
            "code": PROMOTION_CODE,
            "amount_minor": order.discount(),
        }]);
        ensure!(
            body["discounts"] == expected_discounts,
            "POST {path} answered other discounts than the ceiling writes ({expected_discounts}): {text}"
        );
        let id = body["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .with_context(|| format!("POST {path}: no order id in {text}"))?;
        Ok(Placed { key, id, body: text })
    }

    /// Registers a customer and signs them in: their access token (valid
    /// 15 minutes, longer than a scenario's run).
    pub fn sign_in_customer(&self) -> Result<String> {
        let (email, password) = ("bench@api-load.test", "correct horse battery staple");
        let account = serde_json::json!({"email": email, "name": "Bench", "password": password}).to_string();
        let json = [("Content-Type", "application/json")];
        let (status, text) = self.send("POST", "/v1/auth/register", &json, &account)?;
        ensure!(status == 202, "POST /v1/auth/register answered {status}: {text}");
        let credentials = serde_json::json!({"email": email, "password": password}).to_string();
        let (status, text) = self.send("POST", "/v1/auth/login", &json, &credentials)?;
        ensure!(status == 200, "POST /v1/auth/login answered {status}: {text}");
        let session: Value = serde_json::from_str(&text)?;
        session["access_token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("POST /v1/auth/login: no access_token in {text}"))
    }

    /// A GET as `caller` (a header): the body of its 200.
    fn get(&self, path: &str, caller: (&str, &str)) -> Result<String> {
        let (status, body) = self.send("GET", path, &[caller], "")?;
        ensure!(status == 200, "GET {path} answered {status}: {body}");
        Ok(body)
    }

    /// A request with `headers` and `body`: the status code and the body.
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        // HTTP/1.0: the API closes the connection after the body, so the body
        // is everything after the head.
        let mut head = format!("{method} {path} HTTP/1.0\r\nHost: localhost\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if method != "GET" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        write!(stream, "{head}\r\n{body}")?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("{method} {path}: no HTTP status line in {response:?}"))?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }
}

/// The check's order, as the API placed it.
pub struct Placed {
    /// Its idempotency key.
    pub key: String,
    pub id: uuid::Uuid,
    /// The API's answer.
    pub body: String,
}

impl Placed {
    /// Checks what the API stored of the order beside its answer against
    /// what the ceiling binds: the request's fingerprint and status under its
    /// key, and the stock pools of its lines.
    pub async fn check_stored(&self, scenario: &Scenario, store: &Store) -> Result<()> {
        let Some(Request::Order(order)) = scenario.requests.first() else {
            bail!("{} placed no order", scenario.name);
        };
        let (fingerprint, status, pools) =
            crate::store::stored_order(store, &order_caller(store), &self.key, self.id).await?;
        ensure!(
            fingerprint == order.fingerprint && status == 201,
            "the API stored another request fingerprint or status ({status}) under its order's key than the \
             ceiling binds"
        );
        let ours: Vec<_> = order.lines.iter().map(|line| Some(line.stock)).collect();
        ensure!(
            pools == ours,
            "the API's order holds other stock pools than the ceiling binds: {pools:?}, not {ours:?}"
        );
        Ok(())
    }
}
