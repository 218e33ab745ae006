//! A store's history of orders, written through the API and then moved in
//! time by the superuser, for the analytics tests: two products (a mug at
//! 10.00 and a tee at 25.00, 100 of each in stock) and a promotion `SAVE5`
//! (5.00 off an order), in a Berlin store of the industry asked for.

use serde_json::{Value, json};
use shopfleet_api::analytics::fold::{self, Folded, From};
use shopfleet_api::ids::StoreId;
use sqlx::{Connection, PgConnection};

use super::{Shop, product};

/// A shop whose history is written through the API, then moved in time.
pub struct History {
    pub shop: Shop,
    pub store: StoreId,
    /// The superuser, in the tenant database: only it moves history.
    pub db: PgConnection,
    pub mug: String,
    pub tee: String,
}

impl History {
    /// A retail store's.
    pub async fn new() -> Self {
        Self::of("retail").await
    }

    /// A store of `industry` (`retail`, `hospitality`, `events`).
    pub async fn of(industry: &str) -> Self {
        let shop = Shop::new().await;
        let tenant = shop.app.tenant();
        let options = tenant.admin.options.clone().database(&tenant.names.database);
        let mut db = PgConnection::connect_with(&options).await.unwrap();
        let store = StoreId(shop.base.trim_start_matches("/v1/stores/").parse().unwrap());
        // Before any request of the store, which would cache it.
        sqlx::query("UPDATE stores SET industry = $2 WHERE id = $1")
            .bind(store)
            .bind(industry)
            .execute(&mut db)
            .await
            .unwrap();
        let mug = shop.variant(product("Mug", "MUG", 1000)).await;
        let tee = shop.variant(product("Tee", "TEE", 2500)).await;
        shop.receive(&mug, 100).await;
        shop.receive(&tee, 100).await;
        shop.app
            .post(
                &format!("{}/promotions", shop.base),
                shop.staff(),
                json!({"name": "Five off", "rule": {"kind": "fixed_amount", "amount_minor": 500}, "code": "SAVE5"}),
            )
            .await
            .expect(201);
        Self {
            shop,
            store,
            db,
            mug,
            tee,
        }
    }

    /// An order of `lines` (variant, units) placed by the staff at `placed`.
    pub async fn place(&mut self, lines: &[(&str, i32)], code: Option<&str>, placed: &str) -> Value {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(variant, quantity)| json!({"variant_id": variant, "quantity": quantity}))
            .collect();
        self.place_order(json!({"lines": lines, "promotion_code": code}), placed)
            .await
    }

    /// The order `body` placed by the staff at `placed`.
    pub async fn place_order(&mut self, body: Value, placed: &str) -> Value {
        let order = self.shop.order(self.shop.staff(), body).await.expect(201);
        sqlx::query(
            "WITH o AS (UPDATE orders SET created_at = $2::timestamptz WHERE id = $1) \
             UPDATE order_events SET created_at = $2::timestamptz WHERE order_id = $1 AND kind = 'created'",
        )
        .bind(order_id(&order))
        .bind(placed)
        .execute(&mut self.db)
        .await
        .unwrap();
        order
    }

    /// A change (`pay`, `cancel`, `refunds`) of `order` by the staff, at `at`.
    pub async fn change(&mut self, order: &Value, change: &str, body: Value, at: &str) -> Value {
        let path = format!("/orders/{}/{change}", order["id"].as_str().unwrap());
        let key = uuid::Uuid::new_v4().to_string();
        let changed = self
            .shop
            .app
            .send(self.shop.keyed(&path, self.shop.staff(), &key, &body))
            .await
            .expect(200);
        sqlx::query(
            "UPDATE order_events SET created_at = $2::timestamptz \
             WHERE id = (SELECT id FROM order_events WHERE order_id = $1 ORDER BY id DESC LIMIT 1)",
        )
        .bind(order_id(order))
        .bind(at)
        .execute(&mut self.db)
        .await
        .unwrap();
        changed
    }

    /// A placed order, paid at the same moment.
    pub async fn sale(&mut self, lines: &[(&str, i32)], code: Option<&str>, at: &str) -> Value {
        let order = self.place(lines, code, at).await;
        self.change(&order, "pay", json!({}), at).await
    }

    pub async fn fold(&self) {
        let folded = fold::fold(&self.shop.app.state.db, self.store, From::LastMark)
            .await
            .unwrap();
        assert_eq!(folded, Folded::UpTo);
    }

    pub async fn sales(&self, query: &str) -> Value {
        self.shop
            .app
            .get(
                &format!("{}/analytics/sales?{query}", self.shop.base),
                self.shop.staff(),
            )
            .await
            .expect(200)
    }
}

fn order_id(order: &Value) -> uuid::Uuid {
    order["id"].as_str().unwrap().parse().unwrap()
}

impl History {
    /// A category; its id.
    pub async fn category(&self, name: &str) -> String {
        let slug = name.to_lowercase();
        self.shop
            .app
            .post(
                &format!("{}/categories", self.shop.base),
                self.shop.staff(),
                json!({"name": name, "slug": slug}),
            )
            .await
            .expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// An active product in `categories`, 100 of each variant in stock; its variants' ids.
    pub async fn stocked(&self, body: Value) -> Vec<String> {
        let product = self.shop.create(body).await;
        let mut variants = Vec::new();
        for variant in product["variants"].as_array().unwrap() {
            let id = variant["id"].as_str().unwrap().to_owned();
            self.shop.receive(&id, 100).await;
            variants.push(id);
        }
        variants
    }

    pub async fn top(&self, query: &str) -> Value {
        self.shop
            .app
            .get(
                &format!("{}/analytics/top?{query}", self.shop.base),
                self.shop.staff(),
            )
            .await
            .expect(200)
    }
}
